// Safe retries over real HTTP (issue 7 §2): a client whose connections are dropped at random after sending and before
// reading (seeded; the seed is printed, IDEMPOTENCY_DROPS_SEED replays it) retries every write with its
// Idempotency-Key until it reads an answer, and ends with exactly the data of one run without drops: records, labels,
// associations (primary included), counters and change events compared in full. Both engines.
import { request as httpRequest } from 'node:http'
import t from 'tap'
import type { Kysely } from 'kysely'
import type { Database } from '../../src/db/schema.js'
import { build, createOtherAccount, TEST_ADMIN_KEY } from '../helpers/app.js'
import { seededRandom } from '../helpers/seeded-random.js'

interface Answer { status: number, body: string, replayed: boolean }
type Drop = 'none' | 'after-send' | 'on-response'
type Call = (method: string, path: string, body?: unknown) => Promise<any>

const ta = await build(t)
await ta.app.listen({ port: 0, host: '127.0.0.1' })
const address = ta.app.server.address()
const port = typeof address === 'object' && address !== null ? address.port : 0

const seed = Number(process.env.IDEMPOTENCY_DROPS_SEED ?? Date.now() % 1_000_000_007)
t.comment(`drop seed ${seed} (IDEMPOTENCY_DROPS_SEED=${seed} replays it)`)

/** One attempt on a new connection; null when the connection was dropped before the answer was read. */
async function attempt (key: string, idempotencyKey: string, method: string, path: string, body: unknown, drop: Drop): Promise<Answer | null> {
  return await new Promise((resolve) => {
    const data = body === undefined ? undefined : JSON.stringify(body)
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      method,
      path,
      agent: false,
      headers: {
        authorization: `Bearer ${key}`,
        'idempotency-key': idempotencyKey,
        ...(data !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {})
      }
    })
    req.on('error', () => { resolve(null) })
    req.on('response', (res) => {
      if (drop === 'on-response') { req.destroy(); resolve(null); return }
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { text += chunk })
      res.on('error', () => { resolve(null) })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: text, replayed: res.headers['idempotency-replayed'] === 'true' }) })
    })
    // Sent in full, then gone: the server may not have started, be working, or have answered.
    if (drop === 'after-send') req.on('finish', () => { setImmediate(() => { req.destroy(); resolve(null) }) })
    req.end(data)
  })
}

/** A client for one account: every write carries its own key and is retried until an answer is read. */
function client (key: string, run: string, dropRate: number, random: () => number) {
  const stats = { writes: 0, drops: 0, inProgress: 0, replays: 0 }
  const call: Call = async (method, path, body) => {
    const idempotencyKey = `${run}-${++stats.writes}`
    for (let n = 1; n <= 200; n++) {
      const drop: Drop = random() < dropRate ? (random() < 0.5 ? 'after-send' : 'on-response') : 'none'
      const answer = await attempt(key, idempotencyKey, method, path, body, drop)
      if (answer === null) { stats.drops++; continue }
      if (answer.status === 409 && (JSON.parse(answer.body) as { subCategory?: string }).subCategory === 'IDEMPOTENCY_KEY_IN_PROGRESS') {
        // The dropped attempt is still being served: wait a little (not Retry-After's second, to keep the test short).
        stats.inProgress++
        await new Promise((resolve) => setTimeout(resolve, 20))
        continue
      }
      if (answer.replayed) stats.replays++
      if (answer.status >= 300) throw new Error(`${method} ${path}: ${answer.status} ${answer.body}`)
      return answer.body === '' ? undefined : JSON.parse(answer.body)
    }
    throw new Error(`${method} ${path}: no answer after 200 attempts`)
  }
  return { call, stats }
}

/** The same writes, whatever the client: labels, records, single and batch associations, updates, removals. */
async function scenario (call: Call): Promise<void> {
  const label = await call('POST', '/crm/v4/associations/contacts/companies/labels', { label: 'Decision maker', name: 'decision_maker' }) as { results: Array<{ typeId: number }> }
  const labelId = label.results[0]!.typeId
  const contacts: string[] = []
  const companies: string[] = []
  for (let i = 0; i < 10; i++) contacts.push((await call('POST', '/crm/v3/objects/contacts', { properties: { email: `c${i}@drops.example`, firstname: `C${i}` } })).id as string)
  for (let i = 0; i < 5; i++) companies.push((await call('POST', '/crm/v3/objects/companies', { properties: { domain: `d${i}.example`, name: `D${i}` } })).id as string)
  const company = (i: number): string => companies[i % companies.length]!
  for (let i = 0; i < 10; i++) await call('PUT', `/crm/v4/objects/contacts/${contacts[i]!}/associations/default/companies/${company(i)}`)
  for (let i = 0; i < 10; i += 3) {
    await call('PUT', `/crm/v4/objects/contacts/${contacts[i]!}/associations/companies/${company(i + 1)}`, [{ associationCategory: 'USER_DEFINED', associationTypeId: labelId }])
  }
  await call('POST', '/crm/v4/associations/contacts/companies/batch/create', {
    inputs: [0, 1, 2, 3].map((i) => ({ from: { id: contacts[i] }, to: { id: company(i + 2) }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 279 }] }))
  })
  await call('DELETE', `/crm/v4/objects/contacts/${contacts[1]!}/associations/companies/${company(1)}`)
  await call('PATCH', `/crm/v3/objects/contacts/${contacts[2]!}`, { properties: { firstname: 'Changed' } })
  await call('POST', '/crm/v4/associations/contacts/companies/batch/archive', { inputs: [{ from: { id: contacts[3] }, to: [{ id: company(5) }] }] })
  await call('DELETE', `/crm/v3/objects/contacts/${contacts[9]!}`)
}

/** The account's data with record ids replaced by their email or domain and type ids by their definition. */
async function stateOf (db: Kysely<Database>, accountId: number) {
  const records = await db.selectFrom('records').select(['id', 'object_type', 'properties', 'archived_at']).where('account_id', '=', accountId).execute()
  const ident = new Map(records.map((r) => [`${r.object_type}/${r.id}`, `${r.object_type}:${String(r.properties.email ?? r.properties.domain)}`]))
  const who = (type: string, id: number): string => ident.get(`${type}/${id}`) ?? `unknown ${type}/${id}`
  const typeRows = await db.selectFrom('association_types').select(['from_type', 'to_type', 'type_id', 'category', 'role', 'name', 'label']).where('account_id', '=', accountId).execute()
  const types = new Map(typeRows.map((r) => [`${r.from_type}/${r.to_type}/${r.type_id}`, `${r.category}/${r.role}/${r.name ?? ''}/${r.label ?? ''}`]))
  const what = (from: string, to: string, typeId: number): string => types.get(`${from}/${to}/${typeId}`) ?? `unknown type ${typeId}`
  const associations = await db.selectFrom('associations').selectAll().where('account_id', '=', accountId).execute()
  const counts = await db.selectFrom('association_counts').selectAll().where('account_id', '=', accountId).execute()
  const events = await db.selectFrom('events').select(['kind', 'from_type', 'from_id', 'to_type', 'to_id', 'type_id']).where('account_id', '=', accountId).execute()
  return {
    records: records.map((r) => `${who(r.object_type, r.id)} ${String(r.properties.firstname ?? r.properties.name)} archived=${r.archived_at !== null}`).sort(),
    labels: typeRows.filter((r) => r.category === 'USER_DEFINED').map((r) => what(r.from_type, r.to_type, r.type_id)).sort(),
    associations: associations.map((a) => `${who(a.from_type, a.from_id)} -> ${who(a.to_type, a.to_id)} ${what(a.from_type, a.to_type, a.type_id)} primary=${a.is_primary}`).sort(),
    counts: counts.filter((c) => c.count > 0).map((c) => `${who(c.from_type, c.from_id)} -> ${c.to_type}: ${c.count}`).sort(),
    events: events.map((e) => `${e.kind} ${who(e.from_type, e.from_id)} -> ${who(e.to_type, e.to_id)} ${what(e.from_type, e.to_type, e.type_id)}`).sort()
  }
}

t.test('dropped connections and retries with Idempotency-Key end with the data of one run', async (t) => {
  const reference = client(TEST_ADMIN_KEY, 'reference', 0, seededRandom(seed))
  await scenario(reference.call)
  const expected = await stateOf(ta.app.db, ta.accountId)
  t.equal(expected.records.length, 15)
  t.ok(expected.associations.length > 30, `${expected.associations.length} association rows in the reference run`)

  const random = seededRandom(seed)
  for (const run of ['drops-1', 'drops-2']) {
    const other = await createOtherAccount(ta.app, run)
    const dropping = client(other.key, run, 0.4, random)
    await scenario(dropping.call)
    t.comment(`${run}: ${dropping.stats.writes} writes, ${dropping.stats.drops} dropped connections, ${dropping.stats.inProgress} answered in progress, ${dropping.stats.replays} replays`)
    t.ok(dropping.stats.drops > 0, 'connections were dropped')
    t.strictSame(await stateOf(ta.app.db, other.accountId), expected, `${run}: the same data as one run without drops`)
  }
})
