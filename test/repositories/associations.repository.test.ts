// The association SQL: edge and count functions, the query plans of the hot reads (PostgreSQL only), and how many
// statements a write and a page cost, measured with a Kysely `log` counter on services built by createServices.
import t from 'tap'
import { sql, type Kysely, type LogEvent } from 'kysely'
import { openDatabase, type DatabaseHandle } from '../../src/db/database.js'
import { migrateToLatest } from '../../src/db/migrator.js'
import type { Database } from '../../src/db/schema.js'
import { sqlState, UNIQUE_VIOLATION } from '../../src/db/pg-errors.js'
import { loadConfig } from '../../src/config.js'
import { createServices, type Services } from '../../src/plugins/services.js'
import * as repo from '../../src/repositories/associations.repository.js'
import { createTestDatabase } from '../helpers/db.js'
import { postgresReachable } from '../helpers/engine.js'
import { everyRow } from '../../src/repositories/events.repository.js'

const CONTACTS = '0-1'
const COMPANIES = '0-2'

interface Setup { handle: DatabaseHandle, db: Kysely<Database>, services: Services, accountId: number, log: LogEvent[] }

const onPostgres = await postgresReachable()

/** A migrated database of this file's own, with every statement logged into `log`, and the services on top. */
async function setup (tt: typeof t): Promise<Setup> {
  const log: LogEvent[] = []
  const options = { dataDir: 'memory://', poolMax: 5, timeoutMs: 5000, log: (event: LogEvent) => { log.push(event) } }
  let handle: DatabaseHandle
  if (onPostgres) {
    const test = await createTestDatabase(1)
    await test.handle.db.destroy()
    handle = await openDatabase({ ...options, databaseUrl: test.url, dataDir: '' })
    tt.teardown(async () => { await handle.db.destroy(); await test.drop() })
  } else {
    handle = await openDatabase(options)
    await migrateToLatest(handle.db)
    tt.teardown(async () => { await handle.db.destroy() })
  }
  const services = createServices(handle.db, loadConfig({}, { LOG_LEVEL: 'silent' }))
  const { accountId } = await services.accounts.bootstrap()
  return { handle, db: handle.db, services, accountId, log }
}

async function insertRecords (s: Setup, type: string, n: number): Promise<number[]> {
  const result = await sql<{ id: number }>`insert into records (account_id, object_type) select ${s.accountId}, ${type} from generate_series(1, ${n}) returning id`.execute(s.db)
  return result.rows.map((r) => Number(r.id)).sort((a, b) => a - b)
}

/** Associates `from` with every id of `toIds` (unlabeled, both directions, counts), in three statements. */
async function bulkAssociate (s: Setup, from: number, toIds: number[]): Promise<void> {
  const edges = toIds.flatMap((id) => [
    { from_type: CONTACTS, from_id: from, to_type: COMPANIES, to_id: id, type_id: 279 },
    { from_type: COMPANIES, from_id: id, to_type: CONTACTS, to_id: from, type_id: 280 }
  ])
  await repo.insertEdges(s.db, s.accountId, edges)
  await repo.incrementCounts(s.db, s.accountId, [
    { from_type: CONTACTS, from_id: from, to_type: COMPANIES, delta: toIds.length },
    ...toIds.map((id) => ({ from_type: COMPANIES, from_id: id, to_type: CONTACTS, delta: 1 }))
  ])
}

/** Runs `fn` and returns the SQL statements it sent (BEGIN and COMMIT included: Kysely logs them on the connection). */
async function statementsOf (s: Setup, fn: () => Promise<unknown>): Promise<string[]> {
  s.log.length = 0
  await fn()
  return s.log.map((e) => e.query.sql.replace(/\s+/g, ' ').trim())
}

const s = await setup(t)

t.test('insertEdges skips existing edges only; the one-primary index is never swallowed', async (t) => {
  const [contact] = await insertRecords(s, CONTACTS, 1) as [number]
  const [a, b] = await insertRecords(s, COMPANIES, 2) as [number, number]
  const edge = (to: number, type: number, primary = false): repo.Edge => ({ from_type: CONTACTS, from_id: contact, to_type: COMPANIES, to_id: to, type_id: type, is_primary: primary })
  t.same(await repo.insertEdges(s.db, s.accountId, [edge(a, 279), edge(a, 1, true)]), [
    { from_type: CONTACTS, from_id: contact, to_type: COMPANIES, to_id: a, type_id: 1, is_primary: true },
    { from_type: CONTACTS, from_id: contact, to_type: COMPANIES, to_id: a, type_id: 279, is_primary: false }
  ], 'returns the inserted edges, ids as numbers')
  t.same(await repo.insertEdges(s.db, s.accountId, [edge(a, 279), edge(a, 279)]), [], 'existing and duplicate edges are skipped')
  const err = await repo.insertEdges(s.db, s.accountId, [edge(b, 1, true)]).then(() => undefined, (e: unknown) => e)
  t.equal(sqlState(err), UNIQUE_VIOLATION, 'a second primary for the record raises 23505')
  t.equal(await repo.findPrimaryId(s.db, s.accountId, { type: CONTACTS, id: contact }, COMPANIES), a)
  t.ok(await repo.hasEdge(s.db, s.accountId, { type: CONTACTS, id: contact }, { type: COMPANIES, id: a }, 279))
  t.notOk(await repo.hasEdge(s.db, s.accountId, { type: CONTACTS, id: contact }, { type: COMPANIES, id: b }, 279))
  t.same(await repo.findPairTypeIds(s.db, s.accountId, { type: CONTACTS, id: contact }, { type: COMPANIES, id: a }), [1, 279])
  t.same((await repo.deleteEdges(s.db, s.accountId, [edge(a, 1), edge(b, 279)])).map((e) => e.type_id), [1], 'returns only the edges that existed')
  t.equal(await repo.findPrimaryId(s.db, s.accountId, { type: CONTACTS, id: contact }, COMPANIES), undefined)
  t.same((await repo.insertEdges(s.db, s.accountId, [edge(b, 1, true)])).length, 1, 'with the old primary gone, a new one fits')
})

t.test('counts: increments return the new values, decrements never go below zero', async (t) => {
  const [contact] = await insertRecords(s, CONTACTS, 1) as [number]
  const delta = (d: number): repo.CountDelta => ({ from_type: CONTACTS, from_id: contact, to_type: COMPANIES, delta: d })
  t.same(await repo.incrementCounts(s.db, s.accountId, [delta(1)]), [{ from_type: CONTACTS, from_id: contact, to_type: COMPANIES, count: 1 }])
  t.same((await repo.incrementCounts(s.db, s.accountId, [delta(2), delta(3)])).map((c) => c.count), [6], 'deltas of one row are merged')
  await repo.decrementCounts(s.db, s.accountId, [delta(4)])
  await repo.decrementCounts(s.db, s.accountId, [delta(10)])
  const row = await s.db.selectFrom('association_counts').select('count').where('from_id', '=', contact).executeTakeFirstOrThrow()
  t.equal(row.count, 0)
})

t.test('pageEdges, pairsWithType and countEdgesOfTypes: keyset order, anchors, symmetric usage', async (t) => {
  const [contact, contact2] = await insertRecords(s, CONTACTS, 2) as [number, number]
  const companies = await insertRecords(s, COMPANIES, 6)
  await bulkAssociate(s, contact, companies)
  await bulkAssociate(s, contact2, companies.slice(0, 2))
  const label = (await s.services.associationTypes.createLabel(s.accountId, 'contacts', 'companies', { label: 'Owner', name: 'owner' })).results[0] as { typeId: number }
  await repo.insertEdges(s.db, s.accountId, [companies[1], companies[4]].map((id) => ({ from_type: CONTACTS, from_id: contact, to_type: COMPANIES, to_id: id as number, type_id: label.typeId })))
  await repo.insertEdges(s.db, s.accountId, [{ from_type: CONTACTS, from_id: contact2, to_type: COMPANIES, to_id: companies[0] as number, type_id: label.typeId }])
  const from = { type: CONTACTS, id: contact }

  const page1 = await repo.pageEdges(s.db, s.accountId, from, COMPANIES, 279, 0, 3)
  t.same(page1, [
    { to_id: companies[0], type_id: 279 },
    { to_id: companies[1], type_id: 279 }, { to_id: companies[1], type_id: label.typeId },
    { to_id: companies[2], type_id: 279 }
  ], 'three records, every type of each')
  t.same((await repo.pageEdges(s.db, s.accountId, from, COMPANIES, 279, companies[2] as number, 10)).map((r) => r.to_id), companies.slice(3).flatMap((id) => id === companies[4] ? [id, id] : [id]))
  t.same(await repo.pageEdges(s.db, s.accountId, from, COMPANIES, label.typeId, 0, 10), [
    { to_id: companies[1], type_id: 279 }, { to_id: companies[1], type_id: label.typeId },
    { to_id: companies[4], type_id: 279 }, { to_id: companies[4], type_id: label.typeId }
  ], 'a label anchor filters the records, not their types')

  const pairs = await repo.pairsWithType(s.db, s.accountId, CONTACTS, COMPANIES, label.typeId, { fromId: 0, toId: 0 }, 10)
  t.same(pairs, [{ from_id: contact, to_id: companies[1] }, { from_id: contact, to_id: companies[4] }, { from_id: contact2, to_id: companies[0] }])
  t.same(await repo.pairsWithType(s.db, s.accountId, CONTACTS, COMPANIES, label.typeId, { fromId: contact, toId: companies[1] as number }, 10), pairs.slice(1), 'strictly after the (from, to) key')
  t.same(await repo.pairsWithType(s.db, s.accountId, CONTACTS, COMPANIES, label.typeId, { fromId: contact, toId: companies[4] as number }, 1), [pairs[2]])
  t.equal(await repo.countEdgesOfTypes(s.db, s.accountId, CONTACTS, COMPANIES, label.typeId), 3)
  t.equal(await repo.countLabelledFrom(s.db, s.accountId, from, COMPANIES, label.typeId, 10), 2)
  t.equal(await repo.countLabelledFrom(s.db, s.accountId, from, COMPANIES, 279, 4), 4, 'counts at most upTo')

  // A symmetric same-type type: two rows per association, one association.
  await repo.insertEdges(s.db, s.accountId, [
    { from_type: CONTACTS, from_id: contact, to_type: CONTACTS, to_id: contact2, type_id: 449 },
    { from_type: CONTACTS, from_id: contact2, to_type: CONTACTS, to_id: contact, type_id: 449 }
  ])
  t.equal(await repo.countEdgesOfTypes(s.db, s.accountId, CONTACTS, CONTACTS, 449), 2)
  t.equal(await repo.countEdgesOfTypes(s.db, s.accountId, CONTACTS, CONTACTS, 449, true), 1)

  // Archive cascade: both sides and the other side's counts, in one statement.
  const origin = { correlationId: null, apiKeyId: null, cause: 'record_archived' as const, side: everyRow() }
  const statements = await statementsOf(s, async () => { await repo.deleteRecordEdges(s.db, s.accountId, { type: COMPANIES, id: companies[0] as number }, origin) })
  t.equal(statements.length, 1, 'edges, counts and change events in one statement')
  const archivedEvents = await s.db.selectFrom('events').select(['kind', 'from_id', 'cause']).where('from_id', '=', companies[0] as number).execute()
  t.ok(archivedEvents.length > 0 && archivedEvents.every((e) => e.cause === 'record_archived'), `${archivedEvents.length} events from the archived record's side`)
  const left = await s.db.selectFrom('associations').select('from_id').where((eb) => eb.or([eb('from_id', '=', companies[0] as number), eb('to_id', '=', companies[0] as number)])).execute()
  t.same(left, [])
  const counts = await s.db.selectFrom('association_counts').select(['from_id', 'count']).where('from_id', 'in', [contact, contact2, companies[0] as number]).where('to_type', 'in', [COMPANIES, CONTACTS]).orderBy('from_id').execute()
  t.same(counts, [{ from_id: contact, count: 5 }, { from_id: contact2, count: 1 }], 'the contacts lose one, the company\'s own count row is gone')
})

t.test('statement counts of a write and a page do not grow with the number of associations', async (t) => {
  const [small, big, fresh] = await insertRecords(s, CONTACTS, 3) as [number, number, number]
  const companies = await insertRecords(s, COMPANIES, 304)
  const [first, second, third, fourth] = companies.splice(0, 4) as [number, number, number, number]
  await s.services.associations.associateDefault(s.accountId, 'contacts', small, 'companies', first)
  await bulkAssociate(s, big, companies)
  t.equal((await s.services.associations.listPage(s.accountId, 'contacts', big, 'companies')).results.length, 300)

  const firstCompany = await statementsOf(s, async () => await s.services.associations.associateDefault(s.accountId, 'contacts', fresh, 'companies', third))
  const with1 = await statementsOf(s, async () => await s.services.associations.associateDefault(s.accountId, 'contacts', small, 'companies', second))
  const with300 = await statementsOf(s, async () => await s.services.associations.associateDefault(s.accountId, 'contacts', big, 'companies', fourth))
  t.comment(`PUT default (B2): ${with1.length} statements; first company (adds the primary): ${firstCompany.length}`)
  t.comment(with1.join('\n'))
  t.equal(with1[0]?.startsWith('select'), true, 'the pair types are read before the transaction')
  t.match(with1.slice(1).map((q) => q.split(' ')[0]?.toLowerCase()), ['begin', 'select', 'select', 'with', 'insert', 'commit'], 'begin, lock, existing types, edges with their change events (one statement), counts, commit')
  t.equal(with1.length, 7)
  t.ok(with1.length <= 8, 'at most 8 statements including BEGIN and COMMIT')
  t.equal(firstCompany.length, with1.length + 1, 'the first company adds one insert: its primary rows')
  t.equal(with300.length, with1.length, 'the same with 300 existing associations')

  const page1 = await statementsOf(s, async () => await s.services.associations.listPage(s.accountId, 'contacts', small, 'companies'))
  const page300 = await statementsOf(s, async () => await s.services.associations.listPage(s.accountId, 'contacts', big, 'companies'))
  const paged = await statementsOf(s, async () => await s.services.associations.listPage(s.accountId, 'contacts', big, 'companies', { limit: 3 }))
  t.comment(`GET page (B4): ${page1.length} statements (1 association), ${page300.length} (301 associations), ${paged.length} (limit 3)`)
  t.equal(page1.length, 2, 'pair types, then one page query')
  t.equal(page300.length, page1.length)
  t.equal(paged.length, page1.length)
  t.ok(page1.length <= 3)
  const empty = await statementsOf(s, async () => await s.services.associations.listPage(s.accountId, 'contacts', fresh, 'deals'))
  t.equal(empty.length, 3, 'an empty page also checks that the record exists')

  const labelled = await statementsOf(s, async () => await s.services.associations.associate(s.accountId, 'contacts', big, 'companies', fourth, [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 1 }]))
  const primary = await statementsOf(s, async () => await s.services.associations.setPrimary(s.accountId, 'contacts', big, 'companies', companies[0] as number))
  const removed = await statementsOf(s, async () => { await s.services.associations.removePair(s.accountId, 'contacts', big, 'companies', companies[1] as number) })
  t.comment(`B1 with the primary type: ${labelled.length}; set primary: ${primary.length}; DELETE (B3): ${removed.length}`)
  t.ok(labelled.length <= 10)
  t.ok(primary.length <= 10)
  t.ok(removed.length <= 7)
})

t.test('query plans of the page and the pairs queries use indexes (PostgreSQL)', { skip: onPostgres ? false : 'EXPLAIN plans are checked on PostgreSQL only' }, async (t) => {
  const contacts = await insertRecords(s, CONTACTS, 40)
  const companies = await insertRecords(s, COMPANIES, 60)
  for (const contact of contacts) await bulkAssociate(s, contact, companies)
  const label = (await s.services.associationTypes.createLabel(s.accountId, 'contacts', 'companies', { label: 'Planner', name: 'planner' })).results[0] as { typeId: number }
  await repo.insertEdges(s.db, s.accountId, contacts.flatMap((contact) => companies.filter((_, i) => i % 3 === 0).map((id) => ({ from_type: CONTACTS, from_id: contact, to_type: COMPANIES, to_id: id, type_id: label.typeId }))))
  await sql`analyze associations`.execute(s.db)
  const total = await s.db.selectFrom('associations').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
  t.ok(Number(total.n) > 5000, `${total.n} rows`)
  const settings = await sql<{ enable_seqscan: string }>`show enable_seqscan`.execute(s.db)
  t.equal(settings.rows[0]?.enable_seqscan, 'on', 'sequential scans are allowed: the planner chooses')

  async function plan (run: () => Promise<unknown>): Promise<string> {
    s.log.length = 0
    await run()
    const query = s.log.at(-1)?.query
    if (query === undefined) throw new Error('no query logged')
    const result = await s.handle.pool!.query(`explain ${query.sql}`, [...query.parameters])
    return (result.rows as Array<{ 'QUERY PLAN': string }>).map((r) => r['QUERY PLAN']).join('\n')
  }
  const cases: Array<[string, () => Promise<unknown>]> = [
    ['page (unlabeled anchor)', async () => await repo.pageEdges(s.db, s.accountId, { type: CONTACTS, id: contacts[7] as number }, COMPANIES, 279, 0, 501)],
    ['page after a cursor', async () => await repo.pageEdges(s.db, s.accountId, { type: CONTACTS, id: contacts[7] as number }, COMPANIES, 279, companies[30] as number, 4)],
    ['page (label anchor)', async () => await repo.pageEdges(s.db, s.accountId, { type: CONTACTS, id: contacts[7] as number }, COMPANIES, label.typeId, 0, 501)],
    ['pairs with a label', async () => await repo.pairsWithType(s.db, s.accountId, CONTACTS, COMPANIES, label.typeId, { fromId: 0, toId: 0 }, 101)],
    ['pairs after a cursor', async () => await repo.pairsWithType(s.db, s.accountId, CONTACTS, COMPANIES, label.typeId, { fromId: contacts[20] as number, toId: companies[3] as number }, 101)],
    ['pairs with the unlabeled type', async () => await repo.pairsWithType(s.db, s.accountId, COMPANIES, CONTACTS, 280, { fromId: 0, toId: 0 }, 101)],
    ['labelled count from a record', async () => await repo.countLabelledFrom(s.db, s.accountId, { type: CONTACTS, id: contacts[3] as number }, COMPANIES, label.typeId, 2)]
  ]
  for (const [name, run] of cases) {
    const text = await plan(run)
    t.match(text, /Index/, `${name}: an index scan\n${text}`)
    t.notMatch(text, /Seq Scan on associations/, `${name}: no sequential scan of associations`)
  }
})
