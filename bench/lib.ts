// Shared bench plumbing: a fresh PostgreSQL database, the service as a child process, autocannon and pgbench runs,
// and the results table. Figures are printed and written under bench/results/; they are not timed tests.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { mkdirSync, openSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import autocannon from 'autocannon'
import pg from 'pg'

export const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
export const DB_NAME = 'assoc_bench'
export const PORT = Number(process.env.BENCH_PORT ?? 3457)
export const KEY = 'bench_key_0123456789abcdefghij'

export function urlFor (name: string): string {
  const u = new URL(ADMIN_URL)
  u.pathname = `/${name}`
  return u.toString()
}

export async function sqlOn (url: string, text: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try { return await client.query(text, params) } finally { await client.end() }
}

export function step (what: string): void { process.stderr.write(`# ${what}\n`) }

export async function freshDatabase (name = DB_NAME): Promise<string> {
  await sqlOn(ADMIN_URL, `drop database if exists ${name} with (force)`)
  await sqlOn(ADMIN_URL, `create database ${name}`)
  return urlFor(name)
}

/** `logFile`: where the service's log (stdout) goes; discarded by default. */
export async function startService (extraEnv: Record<string, string> = {}, name = DB_NAME, logFile?: string): Promise<ChildProcess> {
  return await startNodeProcess('src/server.ts', {
    DATABASE_URL: urlFor(name), PORT: String(PORT), HOST: '127.0.0.1', BOOTSTRAP_API_KEY: KEY, LOG_LEVEL: 'warn', DB_POOL_MAX: '8', ...extraEnv
  }, `http://127.0.0.1:${PORT}/health/ready`, logFile)
}

/** Starts `script` under tsx as a child process and waits until `readyUrl` answers 2xx. */
export async function startNodeProcess (script: string, env: Record<string, string>, readyUrl: string, logFile?: string): Promise<ChildProcess> {
  // Detached: its own process group, so that stopping it also stops the node process under tsx.
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    detached: true,
    env: { ...process.env, ...env },
    stdio: ['ignore', logFile === undefined ? 'ignore' : openSync(logFile, 'a'), 'inherit']
  })
  child.unref()
  for (let i = 0; i < 120; i++) {
    try {
      if ((await fetch(readyUrl)).ok) return child
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
  stopService(child)
  throw new Error(`${script} did not start`)
}

export function stopService (child: ChildProcess): void {
  try { process.kill(-(child.pid as number), 'SIGTERM') } catch {}
}

export function rssBytes (pid: number): number {
  try { return Number(execFileSync('ps', ['-o', 'rss=', '-p', String(pid)]).toString().trim()) * 1024 } catch { return 0 }
}

export interface CannonResult { title: string, rps: number, p50: number, p99: number, errors: number }

export async function cannon (title: string, setup: Partial<autocannon.Options>, connections: number, duration: number): Promise<CannonResult> {
  // `setup.url` points the run at another server (the suite's baselines); the service by default.
  const result = await autocannon({ connections, duration, headers: { authorization: `Bearer ${KEY}` }, ...setup, url: setup.url ?? `http://127.0.0.1:${PORT}` })
  // Responses over the run's real length: the per-second average misreads runs of a few seconds.
  return { title, rps: result.requests.total / Math.max(result.duration, 1e-3), p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.non2xx }
}

export function pgbench (script: string, vars: Record<string, number>, clients: number, seconds: number): number {
  const out = execFileSync('pgbench', ['-n', '-c', String(clients), '-j', '2', '-T', String(seconds), '-f', script,
    ...Object.entries(vars).flatMap(([k, v]) => ['-D', `${k}=${v}`]), urlFor(DB_NAME)], { encoding: 'utf8' })
  const tps = /tps = ([\d.]+)/.exec(out)
  return tps === null ? 0 : Number(tps[1])
}

export async function api (method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`http://127.0.0.1:${PORT}${path}`, {
    method, headers: { authorization: `Bearer ${KEY}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, body: body === undefined ? undefined : JSON.stringify(body)
  })
  if (!res.ok) throw new Error(`${method} ${path} -> ${res.status} ${await res.text()}`)
  return res.status === 204 ? undefined : await res.json()
}

/** Inserts `n` records of a type straight into the table and returns the first id (ids are consecutive). */
export async function seedRecords (db: string, account: number, type: string, n: number): Promise<number> {
  const base = Number((await sqlOn(db, "select nextval('record_id_seq') as n")).rows[0].n)
  await sqlOn(db, 'insert into records (account_id, object_type, id) select $1::bigint, $2::text, $3::bigint + g from generate_series(1, $4::int) g', [account, type, base, n])
  await sqlOn(db, "select setval('record_id_seq', $1::bigint)", [base + n + 1])
  return base + 1
}

export async function operatorAccount (db: string): Promise<number> {
  return Number((await sqlOn(db, 'select id from accounts where is_operator order by id limit 1')).rows[0].id)
}

export function machine (): string {
  return `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`
}

export function writeResults (name: string, table: string, data: unknown): void {
  process.stdout.write(table + '\n')
  mkdirSync('bench/results', { recursive: true })
  writeFileSync(`bench/results/${name}.md`, table + '\n')
  writeFileSync(`bench/results/${name}.json`, JSON.stringify(data, null, 2) + '\n')
}
