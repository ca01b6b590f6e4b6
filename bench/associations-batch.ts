// Benchmark: batch create (2,000 pairs per request) and batch read (1,000 records x 10 associations) with 1M
// association rows loaded, beside PostgreSQL's own 100-pair multi-row INSERT rate (pgbench) in the same run.
// Usage: npm run bench:batch [-- --duration 10]
import { parseArgs } from 'node:util'
import { cannon, type CannonResult, freshDatabase, machine, operatorAccount, pgbench, rssBytes, seedRecords, sqlOn, startService, step, stopService, writeResults } from './lib.js'

const { values: args } = parseArgs({ options: { duration: { type: 'string', default: '10' } } })
const DURATION = Number(args.duration)
const LOADED_CONTACTS = 50_000
const PER_CONTACT = 10
const FRESH_CONTACTS = 200_000
const COMPANIES = 50_000
const random = (n: number): number => Math.floor(Math.random() * n)

step('creating the bench database')
const db = await freshDatabase()
const service = await startService({ BODY_LIMIT_BYTES: String(16 * 1024 * 1024) })
try {
  const account = await operatorAccount(db)
  step('loading 1M association rows')
  const loaded0 = await seedRecords(db, account, '0-1', LOADED_CONTACTS)
  const company0 = await seedRecords(db, account, '0-2', COMPANIES)
  const fresh0 = await seedRecords(db, account, '0-1', FRESH_CONTACTS)
  const started = Date.now()
  await sqlOn(db, `insert into associations (account_id, from_type, from_id, to_type, to_id, type_id)
    select $1::bigint, '0-1', $2::bigint + c, '0-2', $3::bigint + ((c * 7 + k * 4999) % $5::int), 279 from generate_series(0, $4::int - 1) c, generate_series(0, $6::int - 1) k
    union all
    select $1::bigint, '0-2', $3::bigint + ((c * 7 + k * 4999) % $5::int), '0-1', $2::bigint + c, 280 from generate_series(0, $4::int - 1) c, generate_series(0, $6::int - 1) k
    on conflict do nothing`, [account, loaded0, company0, LOADED_CONTACTS, COMPANIES, PER_CONTACT])
  await sqlOn(db, `insert into association_counts (account_id, from_type, from_id, to_type, count)
    select account_id, from_type, from_id, to_type, count(*) from associations where type_id in (279, 280) group by 1, 2, 3, 4`)
  const loadSeconds = (Date.now() - started) / 1000
  const rowsLoaded = Number((await sqlOn(db, 'select count(*) as n from associations')).rows[0].n)
  await sqlOn(db, 'vacuum analyze')

  step('measuring')
  const headers = { authorization: 'Bearer bench_key_0123456789abcdefghij', 'content-type': 'application/json' }
  const rowsNow = async (): Promise<number> => Number((await sqlOn(db, 'select count(*) as n from associations')).rows[0].n)
  /** Batch create with bodies from `body`; association rows written per second are counted in the database. */
  const createRun = async (title: string, body: () => string): Promise<CannonResult & { pairsPerSecond: number, rowsPerSecond: number, rowsPerPair: number }> => {
    const before = await rowsNow()
    const result = await cannon(title, { headers, requests: [{ method: 'POST', path: '/crm/v4/associations/contacts/companies/batch/associate/default', setupRequest: (r) => ({ ...r, body: body() }) }] }, 2, DURATION)
    const rows = (await rowsNow()) - before
    const pairs = result.rps * DURATION * 2000
    return { ...result, pairsPerSecond: result.rps * 2000, rowsPerSecond: rows / DURATION, rowsPerPair: pairs > 0 ? rows / pairs : 0 }
  }
  let nextFresh = 0
  const k0 = random(COMPANIES)
  // Fresh contacts: every pair is a contact's first company, so it also writes the primary rows (4 rows per pair).
  const first = await createRun('first company', () => {
    const base = fresh0 + (nextFresh++ % (FRESH_CONTACTS / 2000)) * 2000
    return JSON.stringify({ inputs: Array.from({ length: 2000 }, (_, i) => ({ from: { id: String(base + i) }, to: { id: String(company0 + ((k0 + i) % COMPANIES)) } })) })
  })
  // Contacts that already have companies: plain pairs (2 rows per pair), as the baseline writes.
  const more = await createRun('another company', () => {
    const base = loaded0 + random(LOADED_CONTACTS - 2000)
    const k = random(COMPANIES)
    return JSON.stringify({ inputs: Array.from({ length: 2000 }, (_, i) => ({ from: { id: String(base + i) }, to: { id: String(company0 + ((k + i * 13) % COMPANIES)) } })) })
  })
  const readBody = (): string => {
    const start = loaded0 + random(LOADED_CONTACTS - 1000)
    return JSON.stringify({ inputs: Array.from({ length: 1000 }, (_, i) => ({ id: String(start + i) })) })
  }
  const read = await cannon('batch/read, 1,000 records x 10', { headers, requests: [{ method: 'POST', path: '/crm/v4/associations/contacts/companies/batch/read', setupRequest: (r) => ({ ...r, body: readBody() }) }] }, 1, DURATION)
  const pgbenchVars = { account, contacts: FRESH_CONTACTS, companies: COMPANIES, contact_base: fresh0, company_base: company0 }
  const insertTps = pgbench('bench/sql/insert-100-pairs.sql', pgbenchVars, 2, DURATION)
  const countedTps = pgbench('bench/sql/insert-100-pairs-counted.sql', pgbenchVars, 2, DURATION)
  const rss = rssBytes(service.pid as number)

  const baselineRows = insertTps * 200
  const countedRows = countedTps * 200
  const ratio = (a: number, b: number): string => `${(a / b * 100).toFixed(0)}%`
  const createRow = (what: string, r: Awaited<ReturnType<typeof createRun>>): string =>
    `| batch create (associate/default), ${what}, 2,000 pairs per request, 2 connections | ${r.pairsPerSecond.toFixed(0)} pairs/s = ${r.rowsPerSecond.toFixed(0)} association rows/s (${r.rowsPerPair.toFixed(1)} rows per pair; ${r.rps.toFixed(2)} req/s, p50 ${r.p50} ms, non-2xx ${r.errors}) | ${ratio(r.rowsPerSecond, baselineRows)} in rows/s, ${ratio(r.pairsPerSecond, baselineRows / 2)} in pairs/s | ${ratio(r.rowsPerSecond, countedRows)} in rows/s, ${ratio(r.pairsPerSecond, countedRows / 2)} in pairs/s |`
  const table = [
    `Batch benchmark (${new Date().toISOString()}), ${machine()}; PostgreSQL with ${rowsLoaded.toLocaleString('en')} association rows (loaded in ${loadSeconds.toFixed(1)} s by INSERT ... SELECT), ${DURATION} s per figure`,
    '',
    `Baselines (pgbench, 2 clients, 100 pairs = 200 association rows per transaction, in the same run): (A) multi-row INSERT of the rows only: ${insertTps.toFixed(0)} tps = ${baselineRows.toFixed(0)} rows/s; (B) the same INSERT plus the per-record counter upserts in one statement (the rows this data model writes for a pair): ${countedTps.toFixed(0)} tps = ${countedRows.toFixed(0)} rows/s.`,
    '',
    '| operation | figure | vs (A) rows only | vs (B) rows + counters |',
    '|---|---|---|---|',
    createRow("each contact's first company (unlabeled + primary rows, both directions)", first),
    createRow('contacts that already have companies (unlabeled rows, both directions)', more),
    `| batch read, 1,000 records x 10 associations, 1 connection | median ${read.p50} ms, p99 ${read.p99} ms (${read.rps.toFixed(1)} req/s, non-2xx ${read.errors}) | target < 100 ms median | |`,
    '',
    'Association rows written are counted in the database before and after each run; count rows (one per record and object type) come on top.',
    `Service RSS after the run: ${(rss / 2 ** 20).toFixed(0)} MB`
  ].join('\n')
  writeResults('associations-batch', table, { machine: machine(), rowsLoaded, loadSeconds, createFirstCompany: first, createMoreCompanies: more, read, pgbenchInsertTps: insertTps, pgbenchCountedTps: countedTps, baselineRowsPerSecond: baselineRows, countedBaselineRowsPerSecond: countedRows, serviceRssBytes: rss })
} finally {
  stopService(service)
}
