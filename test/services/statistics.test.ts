// The statistics keeper: with autovacuum off, a bulk load leaves the planner believing the tables empty, and the
// identifier probe of an import then scans every key of an object type; after a check, it probes the primary key.
import t from 'tap'
import { sql } from 'kysely'
import { build } from '../helpers/app.js'
import { statementCounter } from '../helpers/statements.js'
import { createStatisticsKeeper } from '../../src/services/statistics.service.js'

const ta = await build(t)
const db = ta.app.db
const autovacuum = (await sql<{ on: string }>`select current_setting('autovacuum') as on`.execute(db)).rows[0]?.on

t.test('after a bulk load, a check analyzes the loaded tables and the identifier probe uses the primary key', {
  skip: ta.app.dbEngine !== 'postgres'
    ? 'PGlite runs in single-user mode without the statistics the check reads'
    : autovacuum !== 'off' ? 'autovacuum is on here: the keeper has nothing to do' : false
}, async (t) => {
  await sql`insert into records (account_id, object_type, id) select ${ta.accountId}, '0-1', 100000 + g from generate_series(1, 20000) g`.execute(db)
  await sql`insert into record_keys (account_id, object_type, property, value, record_id) select ${ta.accountId}, '0-1', 'email', 'c' || g || '@example.com', 100000 + g from generate_series(1, 20000) g`.execute(db)
  const probe = async (): Promise<string> => {
    const rows = await sql<{ 'QUERY PLAN': string }>`
      explain select record_id from unnest(array['0-1']::text[], array['email']::text[], array['c5@example.com']::text[]) as k(object_type, property, value)
      cross join lateral (select record_id from record_keys rk where rk.account_id = ${ta.accountId} and rk.object_type = k.object_type and rk.property = k.property and rk.value = k.value limit 1) rk`.execute(db)
    return rows.rows.map((r) => r['QUERY PLAN']).join('\n')
  }
  const lastAnalyze = async (): Promise<Date | null> => (await sql<{ at: Date | null }>`select last_analyze as at from pg_stat_user_tables where relname = 'record_keys'`.execute(db)).rows[0]?.at ?? null
  t.equal(await lastAnalyze(), null, 'never analyzed before the check')
  // The statistics of the inserts reach pg_stat_user_tables within about a second.
  for (let i = 0; i < 40 && await lastAnalyze() === null; i++) {
    await ta.app.services.statistics.check()
    if (await lastAnalyze() === null) await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.not(await lastAnalyze(), null, 'record_keys analyzed by the check')
  t.match(await probe(), /record_keys_pkey/, 'the probe now uses the primary key')

  const analyzedAt = await lastAnalyze()
  await ta.app.services.statistics.check()
  t.same(await lastAnalyze(), analyzedAt, 'a table with no changes since is not analyzed again')
})

t.test('after import chunks, the statistics are read at most once a second', async (t) => {
  const counter = statementCounter()
  const keeper = createStatisticsKeeper(db.withPlugin(counter), { info () {}, warn () {} })
  await keeper.checkAfterWrite(60_000)
  const first = counter.count
  t.ok(first >= 1, `the first chunk's check reads the statistics (${first} statements)`)
  for (let i = 0; i < 10; i++) await keeper.checkAfterWrite(60_000)
  t.equal(counter.count, first, 'ten more chunks within the interval read nothing')
  await keeper.checkAfterWrite(0)
  t.ok(counter.count > first, 'once the interval has passed, the next chunk checks again')
})
