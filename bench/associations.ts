// Benchmark: PUT default, PUT labelled and GET page of the service at 50 connections (autocannon), beside PostgreSQL's
// own rate for the same statements (pgbench), in the same run. Usage: npm run bench [-- --duration 10 --connections 50]
import { parseArgs } from 'node:util'
import { api, cannon, freshDatabase, machine, operatorAccount, pgbench, rssBytes, seedRecords, sqlOn, startService, step, stopService, writeResults } from './lib.js'

const { values: args } = parseArgs({ options: { duration: { type: 'string', default: '10' }, connections: { type: 'string', default: '50' } } })
const DURATION = Number(args.duration)
const CONNECTIONS = Number(args.connections)
const CONTACTS = 5000
const COMPANIES = 5000
const HUB_SIZE = 1000
const random = (n: number): number => Math.floor(Math.random() * n)

step('creating the bench database')
const db = await freshDatabase()
const service = await startService()
try {
  step('loading records')
  const account = await operatorAccount(db)
  const contact0 = await seedRecords(db, account, '0-1', CONTACTS)
  const company0 = await seedRecords(db, account, '0-2', COMPANIES)
  const hub = contact0
  // The hub contact holds HUB_SIZE companies for the page reads.
  await sqlOn(db, `insert into associations (account_id, from_type, from_id, to_type, to_id, type_id)
    select $1::bigint, '0-1', $2::bigint, '0-2', $3::bigint + g, 279 from generate_series(0, $4::int - 1) g
    union all select $1::bigint, '0-2', $3::bigint + g, '0-1', $2::bigint, 280 from generate_series(0, $4::int - 1) g`, [account, hub, company0, HUB_SIZE])
  await sqlOn(db, 'analyze')
  const label = await api('POST', '/crm/v4/associations/contacts/companies/labels', { label: 'Manager', name: 'manager' }) as { results: Array<{ typeId: number }> }
  const labelId = label.results[0]?.typeId as number
  const pairPath = (): string => `/crm/v4/objects/contacts/${contact0 + 1 + random(CONTACTS - 1)}/associations`

  step('measuring')
  await cannon('warm-up', { duration: 3, requests: [{ method: 'GET', path: `/crm/v4/objects/contacts/${hub}/associations/companies?limit=100` }] }, CONNECTIONS, 3)
  const pgVars = { account, contacts: CONTACTS - 1, companies: COMPANIES, contact_base: contact0, company_base: company0 - 1 }
  const rows = []
  const putDefault = await cannon('PUT default', { requests: [{ method: 'PUT', setupRequest: (r) => ({ ...r, path: `${pairPath()}/default/companies/${company0 + random(COMPANIES)}` }) }] }, CONNECTIONS, DURATION)
  const pgPut = pgbench('bench/sql/put-default.sql', pgVars, CONNECTIONS, DURATION)
  rows.push({ ...putDefault, baseline: pgPut, baselineName: 'pgbench put-default.sql tps' })
  const putLabelled = await cannon('PUT labelled', {
    headers: { authorization: 'Bearer bench_key_0123456789abcdefghij', 'content-type': 'application/json' },
    requests: [{ method: 'PUT', body: JSON.stringify([{ associationCategory: 'USER_DEFINED', associationTypeId: labelId }]), setupRequest: (r) => ({ ...r, path: `${pairPath()}/companies/${company0 + random(COMPANIES)}` }) }]
  }, CONNECTIONS, DURATION)
  rows.push({ ...putLabelled, baseline: pgPut, baselineName: 'pgbench put-default.sql tps' })
  const getPage = await cannon('GET page of 100', { requests: [{ method: 'GET', path: `/crm/v4/objects/contacts/${hub}/associations/companies?limit=100` }] }, CONNECTIONS, DURATION)
  const pgGet = pgbench('bench/sql/get-page.sql', { account, hub }, CONNECTIONS, DURATION)
  rows.push({ ...getPage, baseline: pgGet, baselineName: 'pgbench get-page.sql tps' })
  const rss = rssBytes(service.pid as number)

  const table = [
    `Associations benchmark (${new Date().toISOString()}), ${machine()}; ${CONNECTIONS} connections, ${DURATION} s each, pool 8, PostgreSQL`,
    '',
    '| operation | service req/s | p50 ms | p99 ms | non-2xx | PostgreSQL alone (same statements) | ratio |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.title} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.errors} | ${r.baseline.toFixed(0)} ${r.baselineName} | ${(r.rps / r.baseline * 100).toFixed(0)}% |`),
    '',
    `Service RSS after the run: ${(rss / 2 ** 20).toFixed(0)} MB`
  ].join('\n')
  writeResults('associations', table, { machine: machine(), connections: CONNECTIONS, durationSeconds: DURATION, rows, serviceRssBytes: rss })
} finally {
  stopService(service)
}
