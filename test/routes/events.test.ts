// The change feed through the API: every kind of association change appends events in its own transaction, with the
// request's correlation id and API key; GET /crm/v4/associations/events walks them once, in order, per account.
import t from 'tap'
import { build, createOtherAccount, type TestApp } from '../helpers/app.js'
import { createRecord, createRecords } from '../helpers/factories.js'
import { expectError } from '../helpers/assertions.js'

interface Event {
  id: string, kind: string, fromObjectTypeId: string, fromObjectId: number, toObjectTypeId: string, toObjectId: number,
  associationTypeId: number, label: string | null, cause: string | null, correlationId: string | null, apiKeyId: string | null
}

/** Reads the whole feed from `after` (the start when absent), `limit` a page; returns the events and the last cursor. */
async function walk (ta: TestApp, after?: string, limit = 1000, key?: string): Promise<{ events: Event[], cursor: string }> {
  const events: Event[] = []
  let cursor = after
  for (;;) {
    const res = await ta.request({ method: 'GET', url: '/crm/v4/associations/events', query: { limit: String(limit), ...(cursor !== undefined ? { after: cursor } : {}) }, key })
    if (res.statusCode !== 200) throw new Error(`feed: ${res.statusCode} ${res.body}`)
    const page = res.json() as { results: Event[], paging: { next: { after: string } } }
    events.push(...page.results)
    const same = page.paging.next.after === cursor
    cursor = page.paging.next.after
    if (page.results.length === 0 || same) return { events, cursor }
  }
}

/**
 * Walks from `after` until at least `n` events are there. The feed serves an event once every transaction that
 * began before it has ended, in the whole PostgreSQL cluster (other test files run beside this one), so it may lag.
 */
async function waitFor (ta: TestApp, after: string | undefined, n: number): Promise<{ events: Event[], cursor: string }> {
  const deadline = Date.now() + 30_000
  let page = await walk(ta, after)
  const events = [...page.events]
  while (events.length < n && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    page = await walk(ta, page.cursor)
    events.push(...page.events)
  }
  return { events, cursor: page.cursor }
}

/** `kind from>to #type [label] (cause)` lines, for exact comparisons. */
const brief = (e: Event): string => `${e.kind} ${e.fromObjectTypeId}:${e.fromObjectId}>${e.toObjectTypeId}:${e.toObjectId} #${e.associationTypeId}${e.label !== null ? ` [${e.label}]` : ''}${e.cause !== null ? ` (${e.cause})` : ''}`

async function keyIdOf (ta: TestApp): Promise<string> {
  const res = await ta.request({ method: 'GET', url: `/admin/v1/accounts/${ta.accountId}/keys` })
  return String((res.json().results as Array<{ id: string }>)[0]?.id)
}

t.test('each single write appends its events, from the from side, with the correlation id and key of its request', async (t) => {
  const ta = await build(t)
  const keyId = await keyIdOf(ta)
  const contact = await createRecord(ta, 'contacts')
  const [c1, c2] = await createRecords(ta, 'companies', 2) as [number, number]
  const label = (await ta.request({ method: 'POST', url: '/crm/v4/associations/contacts/companies/labels', payload: { label: 'Manager', name: 'manager' } })).json().results[0].typeId as number
  const start = (await walk(ta)).cursor

  const steps: Array<[string, () => Promise<{ statusCode: number, headers: Record<string, unknown> }>, string[]]> = [
    ['first company (created, primary set)', async () => await ta.request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/associations/default/companies/${c1}` }),
      [`created 0-1:${contact}>0-2:${c1} #279`, `primary_set 0-1:${contact}>0-2:${c1} #1 [Primary]`]],
    ['label set (B1)', async () => await ta.request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/associations/companies/${c2}`, payload: [{ associationCategory: 'USER_DEFINED', associationTypeId: label }] }),
      [`created 0-1:${contact}>0-2:${c2} #279`, `label_added 0-1:${contact}>0-2:${c2} #${label} [Manager]`]],
    ['label set replaced by the unlabeled type only', async () => await ta.request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/associations/companies/${c2}`, payload: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 279 }] }),
      [`label_removed 0-1:${contact}>0-2:${c2} #${label} [Manager]`]],
    ['set primary (the old one is unset)', async () => await ta.request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/primary/companies/${c2}` }),
      [`primary_unset 0-1:${contact}>0-2:${c1} #1 [Primary]`, `primary_set 0-1:${contact}>0-2:${c2} #1 [Primary]`]],
    ['add a label (extension)', async () => await ta.request({ method: 'POST', url: `/crm/v4/objects/contacts/${contact}/associations/companies/${c1}/labels`, payload: [{ associationCategory: 'USER_DEFINED', associationTypeId: label }] }),
      [`label_added 0-1:${contact}>0-2:${c1} #${label} [Manager]`]],
    ['remove one label (extension)', async () => await ta.request({ method: 'DELETE', url: `/crm/v4/objects/contacts/${contact}/associations/companies/${c1}/labels/${label}` }),
      [`label_removed 0-1:${contact}>0-2:${c1} #${label} [Manager]`]],
    ['unset the primary', async () => await ta.request({ method: 'DELETE', url: `/crm/v4/objects/contacts/${contact}/primary/companies` }),
      [`primary_unset 0-1:${contact}>0-2:${c2} #1 [Primary]`]],
    ['delete the pair, written from the company side', async () => await ta.request({ method: 'DELETE', url: `/crm/v4/objects/companies/${c1}/associations/contacts/${contact}` }),
      [`deleted 0-2:${c1}>0-1:${contact} #280`]],
    ['a write that changes nothing, then the same pair deleted', async () => {
      await ta.request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/associations/default/companies/${c2}` })
      return await ta.request({ method: 'DELETE', url: `/crm/v4/objects/contacts/${contact}/associations/companies/${c2}` })
    }, [`deleted 0-1:${contact}>0-2:${c2} #279`]]
  ]
  let cursor = start
  for (const [name, run, expected] of steps) {
    const res = await run()
    t.ok(res.statusCode < 300, `${name}: ${res.statusCode}`)
    const page = await waitFor(ta, cursor, expected.length)
    cursor = page.cursor
    t.same(page.events.map(brief), expected, name)
    t.ok(page.events.every((e) => e.correlationId === res.headers['x-hubspot-correlation-id'] && e.apiKeyId === keyId), `${name}: the request's correlation id and key`)
  }
})

t.test('cascades: an archived record and a label deleted with force, each with its cause; batches give one event per pair', async (t) => {
  const ta = await build(t)
  const contacts = await createRecords(ta, 'contacts', 3)
  const [company] = await createRecords(ta, 'companies', 1) as [number]
  const label = (await ta.request({ method: 'POST', url: '/crm/v4/associations/contacts/companies/labels', payload: { label: 'Owner', name: 'owner' } })).json().results[0].typeId as number
  const start = (await walk(ta)).cursor
  const batch = await ta.request({
    method: 'POST', url: '/crm/v4/associations/companies/contacts/batch/create',
    payload: { inputs: contacts.map((c) => ({ from: { id: String(company) }, to: { id: String(c) }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 280 }] })) }
  })
  t.equal(batch.statusCode, 201, batch.body.slice(0, 300))
  const created = await waitFor(ta, start, 6)
  // Seen from the write's from side (the company): created and the company side of each contact's first primary.
  t.same(created.events.map(brief).sort(), contacts.flatMap((c) => [`created 0-2:${company}>0-1:${c} #280`, `primary_set 0-2:${company}>0-1:${c} #2 [Primary]`]).sort(), 'two rows per type stored, one event each')

  await ta.request({ method: 'POST', url: `/crm/v4/objects/contacts/${contacts[0]}/associations/companies/${company}/labels`, payload: [{ associationCategory: 'USER_DEFINED', associationTypeId: label }] })
  const labelled = await waitFor(ta, created.cursor, 1)
  const forced = await ta.request({ method: 'DELETE', url: `/crm/v4/associations/contacts/companies/labels/${label}?force=true` })
  t.equal(forced.statusCode, 204)
  const labelGone = await waitFor(ta, labelled.cursor, 1)
  t.same(labelGone.events.map(brief), [`label_removed 0-1:${contacts[0]}>0-2:${company} #${label} [Owner] (label_deleted)`])

  t.equal((await ta.request({ method: 'DELETE', url: `/crm/v3/objects/companies/${company}` })).statusCode, 204)
  const archived = await waitFor(ta, labelGone.cursor, 6)
  t.same(archived.events.map(brief).sort(), contacts.flatMap((c) => [`deleted 0-2:${company}>0-1:${c} #280 (record_archived)`, `primary_unset 0-2:${company}>0-1:${c} #2 [Primary] (record_archived)`]).sort())

  // Batch archive of records associated with each other: one event per association, not one per archived side.
  const other = await createRecord(ta, 'contacts')
  await ta.request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contacts[1]}/associations/default/contacts/${other}` })
  const before = (await waitFor(ta, archived.cursor, 1)).cursor
  const res = await ta.request({ method: 'POST', url: '/crm/v3/objects/contacts/batch/archive', payload: { inputs: [{ id: String(contacts[1]) }, { id: String(other) }] } })
  t.equal(res.statusCode, 204)
  const both = await waitFor(ta, before, 1)
  t.equal(both.events.length, 1, both.events.map(brief).join('\n'))
  t.match(both.events[0], { kind: 'deleted', cause: 'record_archived', fromObjectId: Math.min(contacts[1] as number, other), toObjectId: Math.max(contacts[1] as number, other) })
})

t.test('cursor walk: small pages give every event once, in order; other accounts see none; bad input is a 4xx', async (t) => {
  const ta = await build(t)
  const contact = await createRecord(ta, 'contacts')
  const companies = await createRecords(ta, 'companies', 7)
  for (const c of companies) await ta.request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/associations/default/companies/${c}` })
  const all = await waitFor(ta, undefined, 8)
  t.equal(all.events.length, 8, '7 created + the first primary')
  const paged = await walk(ta, undefined, 3)
  t.same(paged.events.map((e) => e.id), all.events.map((e) => e.id), 'pages of 3 give the same events in the same order')
  t.equal(new Set(all.events.map((e) => e.id)).size, all.events.length, 'no duplicates')
  t.same((await walk(ta, all.cursor)).events, [], 'nothing after the last cursor')

  const other = await createOtherAccount(ta.app)
  t.same((await walk(ta, undefined, 100, other.key)).events, [], 'another account\'s feed is empty')

  const readOnly = await ta.request({ method: 'POST', url: `/admin/v1/accounts/${ta.accountId}/keys`, payload: { name: 'r', scopes: ['crm.objects.write'] } })
  expectError(t, await ta.request({ method: 'GET', url: '/crm/v4/associations/events', key: readOnly.json().key }), 403, 'MISSING_SCOPES')
  expectError(t, await ta.request({ method: 'GET', url: '/crm/v4/associations/events?after=garbage' }), 400, 'VALIDATION_ERROR')
  expectError(t, await ta.request({ method: 'GET', url: '/crm/v4/associations/events?limit=1001' }), 400, 'VALIDATION_ERROR')
  expectError(t, await ta.request({ method: 'GET', url: '/crm/v4/associations/events?since=1' }), 400, 'VALIDATION_ERROR')
})
