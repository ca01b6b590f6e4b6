// Benchmark: PUT default, PUT labelled and GET page of the service at 50 connections (autocannon), beside PostgreSQL's
// own rate for the same statements (pgbench), in the same run. Prints a table and writes bench/results/associations.{json,md}.
// Usage: npm run bench [-- --duration 10 --connections 50]   (needs PostgreSQL at BENCH_DATABASE_URL or TEST_DATABASE_URL)
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { writeFileSync, mkdirSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import pg from 'pg'

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    contacts: { type: 'string', default: '5000' },
    companies: { type: 'string', default: '5000' }
  }
})
const DURATION = Number(args.duration)
const CONNECTIONS = Number(args.connections)
const CONTACTS = Number(args.contacts)
const COMPANIES = Number(args.companies)
const HUB_SIZE = 1000
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const DB_NAME = 'assoc_bench'
const PORT = 3457
const KEY = 'bench_key_0123456789abcdefghij'

function urlFor (name: string): string {
  const u = new URL(ADMIN_URL)
  u.pathname = `/${name}`
  return u.toString()
}

async function sqlOn (url: string, text: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try { return await client.query(text, params) } finally { await client.end() }
}

async function startService (): Promise<ChildProcess> {
  // Detached: its own process group, so that stopping it also stops the node process under tsx.
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    detached: true,
    env: { ...process.env, DATABASE_URL: urlFor(DB_NAME), PORT: String(PORT), HOST: '127.0.0.1', BOOTSTRAP_API_KEY: KEY, LOG_LEVEL: 'warn', DB_POOL_MAX: '8' },
    stdio: ['ignore', 'ignore', 'inherit']
  })
  child.unref()
  for (let i = 0; i < 120; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${PORT}/health/ready`)).ok) return child
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
  process.kill(-(child.pid as number), 'SIGTERM')
  throw new Error('service did not start')
}

function rss (pid: number): number {
  try { return Number(execFileSync('ps', ['-o', 'rss=', '-p', String(pid)]).toString().trim()) * 1024 } catch { return 0 }
}

async function cannon (title: string, setup: Partial<autocannon.Options>): Promise<{ title: string, rps: number, p99: number, errors: number }> {
  const result = await autocannon({ connections: CONNECTIONS, duration: DURATION, headers: { authorization: `Bearer ${KEY}` }, ...setup, url: `http://127.0.0.1:${PORT}` })
  const errors = result.errors + result.non2xx
  return { title, rps: result.requests.average, p99: result.latency.p99, errors }
}

function pgbench (script: string, vars: Record<string, number>): number {
  const out = execFileSync('pgbench', ['-n', '-c', String(CONNECTIONS), '-j', '2', '-T', String(DURATION), '-f', script,
    ...Object.entries(vars).flatMap(([k, v]) => ['-D', `${k}=${v}`]), urlFor(DB_NAME)], { encoding: 'utf8' })
  const tps = /tps = ([\d.]+)/.exec(out)
  return tps === null ? 0 : Number(tps[1])
}

const random = (n: number): number => 1 + Math.floor(Math.random() * n)

function step (what: string): void { process.stderr.write(`# ${what}\n`) }

async function main (): Promise<void> {
  step('creating the bench database')
  await sqlOn(ADMIN_URL, `drop database if exists ${DB_NAME} with (force)`)
  await sqlOn(ADMIN_URL, `create database ${DB_NAME}`)
  const service = await startService()
  try {
    step('loading records')
    const db = urlFor(DB_NAME)
    const account = Number((await sqlOn(db, 'select id from accounts where is_operator order by id limit 1')).rows[0].id)
    // Records straight into the table: the benchmark measures associations, not record creation.
    const base = Number((await sqlOn(db, "select nextval('record_id_seq') as n")).rows[0].n)
    await sqlOn(db, `insert into records (account_id, object_type, id) select $1, '0-1', $2 + g from generate_series(1, $3) g`, [account, base, CONTACTS])
    await sqlOn(db, `insert into records (account_id, object_type, id) select $1, '0-2', $2 + g from generate_series(1, $3) g`, [account, base + CONTACTS, COMPANIES])
    await sqlOn(db, `select setval('record_id_seq', $1)`, [base + CONTACTS + COMPANIES + 1])
    const contactBase = base
    const companyBase = base + CONTACTS
    const hub = contactBase + 1
    // The hub contact holds HUB_SIZE companies for the page reads.
    await sqlOn(db, `insert into associations (account_id, from_type, from_id, to_type, to_id, type_id)
      select $1::bigint, '0-1', $2::bigint, '0-2', $3::bigint + g, 279 from generate_series(1, $4::int) g
      union all select $1::bigint, '0-2', $3::bigint + g, '0-1', $2::bigint, 280 from generate_series(1, $4::int) g`, [account, hub, companyBase, HUB_SIZE])
    await sqlOn(db, 'analyze')
    const label = await (await fetch(`http://127.0.0.1:${PORT}/crm/v4/associations/contacts/companies/labels`, {
      method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ label: 'Manager', name: 'manager' })
    })).json() as { results: Array<{ typeId: number }> }
    const labelId = label.results[0]?.typeId as number
    const pairPath = (): string => `/crm/v4/objects/contacts/${contactBase + 1 + random(CONTACTS - 1)}/associations`

    step('measuring')
    // Warm-up, then each operation beside its pgbench baseline.
    await cannon('warm-up', { duration: 3, requests: [{ method: 'GET', path: `/crm/v4/objects/contacts/${hub}/associations/companies?limit=100` }] })
    const rows = []
    const putDefault = await cannon('PUT default', { requests: [{ method: 'PUT', setupRequest: (r) => ({ ...r, path: `${pairPath()}/default/companies/${companyBase + random(COMPANIES)}` }) }] })
    const pgPut = pgbench('bench/sql/put-default.sql', { account, contacts: CONTACTS, companies: COMPANIES, contact_base: contactBase, company_base: companyBase })
    rows.push({ ...putDefault, baseline: pgPut, baselineName: 'pgbench put-default.sql (tps)' })
    const putLabelled = await cannon('PUT labelled', { headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, requests: [{ method: 'PUT', body: JSON.stringify([{ associationCategory: 'USER_DEFINED', associationTypeId: labelId }]), setupRequest: (r) => ({ ...r, path: `${pairPath()}/companies/${companyBase + random(COMPANIES)}` }) }] })
    rows.push({ ...putLabelled, baseline: pgPut, baselineName: 'pgbench put-default.sql (tps)' })
    const getPage = await cannon('GET page of 100', { requests: [{ method: 'GET', path: `/crm/v4/objects/contacts/${hub}/associations/companies?limit=100` }] })
    const pgGet = pgbench('bench/sql/get-page.sql', { account, hub })
    rows.push({ ...getPage, baseline: pgGet, baselineName: 'pgbench get-page.sql (tps)' })
    const peakRss = rss(service.pid as number)

    const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`
    const table = [
      `Associations benchmark (${new Date().toISOString()}), ${machine}; ${CONNECTIONS} connections, ${DURATION} s each, pool 8, PostgreSQL`,
      '',
      '| operation | service req/s | p99 ms | non-2xx | PostgreSQL alone (same statements) | ratio |',
      '|---|---|---|---|---|---|',
      ...rows.map((r) => `| ${r.title} | ${r.rps.toFixed(0)} | ${r.p99} | ${r.errors} | ${r.baseline.toFixed(0)} ${r.baselineName} | ${(r.rps / r.baseline * 100).toFixed(0)}% |`),
      '',
      `Service RSS after the run: ${(peakRss / 2 ** 20).toFixed(0)} MB`
    ].join('\n')
    process.stdout.write(table + '\n')
    mkdirSync('bench/results', { recursive: true })
    writeFileSync('bench/results/associations.md', table + '\n')
    writeFileSync('bench/results/associations.json', JSON.stringify({ machine, connections: CONNECTIONS, durationSeconds: DURATION, rows, serviceRssBytes: peakRss }, null, 2) + '\n')
  } finally {
    process.kill(-(service.pid as number), 'SIGTERM')
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  process.exit(1)
})
