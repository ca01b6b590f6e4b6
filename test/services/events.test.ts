// The change feed under concurrency (the visibility guard) and its retention purge.
import t from 'tap'
import { sql } from 'kysely'
import { build, type TestApp } from '../helpers/app.js'
import { createRecord, createRecords } from '../helpers/factories.js'
import { NO_ACTOR } from '../../src/services/events.service.js'

async function feed (ta: TestApp, after?: string): Promise<{ ids: number[], cursor: string }> {
  const page = await ta.app.services.events.feed(ta.accountId, after, 1000)
  return { ids: page.results.map((e) => Number(e.id)), cursor: page.paging.next.after }
}

async function eventIds (ta: TestApp): Promise<number[]> {
  const rows = await ta.app.db.selectFrom('events').select('id').where('account_id', '=', ta.accountId).orderBy('id').execute()
  return rows.map((r) => r.id)
}

t.test('a reader never moves past an event of a transaction still open, even when a later one has committed (PostgreSQL)', async (t) => {
  const ta = await build(t)
  if (ta.app.dbEngine === 'pglite') {
    t.pass('PGlite runs one session: no transaction can be open while the feed is read, so this race cannot happen there')
    return
  }
  const [contact, contactB] = await createRecords(ta, 'contacts', 2) as [number, number]
  const [companyA, companyB] = await createRecords(ta, 'companies', 2) as [number, number]
  const start = (await feed(ta)).cursor
  const pair = await ta.app.services.associationTypes.resolvePair(ta.accountId, 'contacts', 'companies')

  // Transaction A writes its events first (the lower ids), and stays open.
  let release = (): void => {}
  const held = new Promise<void>((resolve) => { release = resolve })
  let wrote = (): void => {}
  const aWrote = new Promise<void>((resolve) => { wrote = resolve })
  const a = ta.app.db.transaction().execute(async (trx) => {
    await ta.app.services.associationsBatch.writeInTransaction(trx, ta.accountId, pair, [{ from: { id: String(contact) }, to: { id: String(companyA) } }], 'add', NO_ACTOR)
    wrote()
    await held
  })
  await aWrote
  // Transaction B writes later (higher ids; other records, so it does not wait for A's locks) and commits.
  const b = await ta.request({ method: 'PUT', url: `/crm/v4/objects/companies/${companyB}/associations/default/contacts/${contactB}` })
  t.equal(b.statusCode, 200)
  const committed = await eventIds(ta)
  t.ok(committed.length >= 1, `B's events are committed: ${committed.join(',')}`)

  const during = await feed(ta, start)
  t.same(during.ids, [], 'B\'s committed events wait for A (a reader ordering by id alone would have served them and skipped A\'s)')
  t.equal(during.cursor, start, 'the cursor stays')

  release()
  await a
  const deadline = Date.now() + 30_000
  let after = await feed(ta, during.cursor)
  while (after.ids.length < 4 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    after = await feed(ta, during.cursor)
  }
  const all = await eventIds(ta)
  t.equal(all.length, 4, 'A: created + primary; B: created + primary (seen from the company)')
  t.same([...after.ids].sort((x, y) => x - y), all, 'once A commits, the next read returns every event, A\'s included')
  t.same(after.ids.slice(0, 2).sort((x, y) => x - y), all.slice(0, 2), 'A\'s events first: A began writing first')
  t.same((await feed(ta, after.cursor)).ids, [], 'and nothing twice')
})

t.test('events older than EVENT_RETENTION_DAYS are purged by the periodic job', async (t) => {
  const ta = await build(t, { EVENT_PURGE_INTERVAL_MS: 50, EVENT_RETENTION_DAYS: 30 })
  const contact = await createRecord(ta, 'contacts')
  const companies = await createRecords(ta, 'companies', 3)
  for (const c of companies) await ta.request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/associations/default/companies/${c}` })
  const ids = await eventIds(ta)
  t.equal(ids.length, 4)
  const old = ids.slice(0, 2)
  await sql`update events set occurred_at = now() - interval '31 days' where id = any(${old}::bigint[])`.execute(ta.app.db)
  await sql`update events set occurred_at = now() - interval '29 days' where id = ${ids[2] as number}`.execute(ta.app.db)
  const deadline = Date.now() + 10_000
  let left = await eventIds(ta)
  while (left.length > 2 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25))
    left = await eventIds(ta)
  }
  t.same(left, ids.slice(2), 'the two events older than 30 days are gone; the 29-day-old one and the new one stay')
})
