// `npm run demo`: loads the help article's example into a running service over its own API (idempotent).
// Luke Danes is Manager at Luke's Diner and Contractor at Dragonfly Inn; a deal has a decision maker and a billing contact.
const baseUrl = (process.env.API_URL ?? 'http://localhost:3000').replace(/\/$/, '')
const apiKey = process.env.API_KEY ?? process.env.BOOTSTRAP_API_KEY

interface Label { category: string, typeId: number, label: string | null }

async function call<T> (method: string, path: string, body?: unknown, okStatuses: number[] = [200, 201, 204]): Promise<{ status: number, body: T }> {
  const res = await fetch(baseUrl + path, {
    method,
    headers: { authorization: `Bearer ${apiKey ?? ''}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  const text = await res.text()
  const parsed = text === '' ? undefined : JSON.parse(text)
  if (!okStatuses.includes(res.status)) throw new Error(`${method} ${path} -> ${res.status}: ${text}`)
  return { status: res.status, body: parsed as T }
}

async function ensureLabel (from: string, to: string, label: string, name: string): Promise<number> {
  const { body } = await call<{ results: Label[] }>('GET', `/crm/v4/associations/${from}/${to}/labels`)
  const found = body.results.find((l) => l.label === label && l.category === 'USER_DEFINED')
  if (found !== undefined) return found.typeId
  const created = await call<{ results: Label[] }>('POST', `/crm/v4/associations/${from}/${to}/labels`, { label, name })
  const forward = created.body.results.find((l) => l.label === label)
  return forward?.typeId ?? (created.body.results[0] as Label).typeId
}

async function ensureRecord (type: string, idProperty: string, properties: Record<string, string>): Promise<string> {
  const value = properties[idProperty] as string
  const found = await call<{ id: string }>('GET', `/crm/v3/objects/${type}/${encodeURIComponent(value)}?idProperty=${idProperty}`, undefined, [200, 404])
  if (found.status === 200) return found.body.id
  return (await call<{ id: string }>('POST', `/crm/v3/objects/${type}`, { properties })).body.id
}

async function ensureDeal (contactId: string): Promise<string> {
  const existing = await call<{ results: Array<{ toObjectId: number }> }>('GET', `/crm/v4/objects/contacts/${contactId}/associations/deals`)
  const first = existing.body.results[0]
  if (first !== undefined) return String(first.toObjectId)
  return (await call<{ id: string }>('POST', '/crm/v3/objects/deals', { properties: { dealname: 'Diner renovation', amount: '12000' } })).body.id
}

const spec = (typeId: number): { associationCategory: string, associationTypeId: number } => ({ associationCategory: 'USER_DEFINED', associationTypeId: typeId })

async function main (): Promise<void> {
  if (apiKey === undefined) {
    process.stderr.write('Set API_KEY (an admin key of the running service) and, if not http://localhost:3000, API_URL.\n')
    process.exit(2)
  }
  const manager = await ensureLabel('contacts', 'companies', 'Manager', 'manager')
  const contractor = await ensureLabel('contacts', 'companies', 'Contractor', 'contractor')
  const decisionMaker = await ensureLabel('deals', 'contacts', 'Decision maker', 'decision_maker')
  const billing = await ensureLabel('deals', 'contacts', 'Billing contact', 'billing_contact')

  const luke = await ensureRecord('contacts', 'email', { email: 'luke@lukesdiner.example', firstname: 'Luke', lastname: 'Danes' })
  const lorelai = await ensureRecord('contacts', 'email', { email: 'lorelai@dragonflyinn.example', firstname: 'Lorelai', lastname: 'Gilmore' })
  const diner = await ensureRecord('companies', 'domain', { domain: 'lukesdiner.example', name: "Luke's Diner", city: 'Stars Hollow' })
  const inn = await ensureRecord('companies', 'domain', { domain: 'dragonflyinn.example', name: 'Dragonfly Inn', city: 'Stars Hollow' })
  const deal = await ensureDeal(luke)

  // Labels are added, never replaced (the import rule), so running the demo twice changes nothing.
  await call('POST', `/crm/v4/objects/contacts/${luke}/associations/companies/${diner}/labels`, [spec(manager)])
  await call('POST', `/crm/v4/objects/contacts/${luke}/associations/companies/${inn}/labels`, [spec(contractor)])
  await call('PUT', `/crm/v4/objects/contacts/${lorelai}/associations/default/companies/${inn}`)
  await call('PUT', `/crm/v4/objects/deals/${deal}/associations/default/companies/${diner}`)
  await call('POST', `/crm/v4/objects/deals/${deal}/associations/contacts/${luke}/labels`, [spec(decisionMaker)])
  await call('POST', `/crm/v4/objects/deals/${deal}/associations/contacts/${lorelai}/labels`, [spec(billing)])

  const primary = await call<{ toObjectId: number }>('GET', `/crm/v4/objects/contacts/${luke}/primary/companies`)
  process.stdout.write([
    'Demo data loaded:',
    `  Luke Danes (contact ${luke}): Manager at Luke's Diner (company ${diner}, primary: ${primary.body.toObjectId}), Contractor at Dragonfly Inn (company ${inn})`,
    `  Lorelai Gilmore (contact ${lorelai}): associated with Dragonfly Inn (primary)`,
    `  Deal "Diner renovation" (deal ${deal}): company Luke's Diner (primary), decision maker Luke, billing contact Lorelai`,
    'Try:',
    `  curl -H "Authorization: Bearer $API_KEY" ${baseUrl}/crm/v4/objects/contacts/${luke}/associations/companies`,
    `  curl -H "Authorization: Bearer $API_KEY" "${baseUrl}/crm/v4/objects/deals/${deal}/associations/contacts?label=billing%20contact"`,
    `  Explorer: ${baseUrl}/docs`,
    ''
  ].join('\n'))
}

main().catch((err: unknown) => {
  process.stderr.write(`Demo failed: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
