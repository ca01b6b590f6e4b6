// A PostgreSQL cluster of the test's own (initdb + pg_ctl in a temp dir, on a free port), so a test can stop and start
// it, or stream a replica from it, without touching the shared server. Removed on teardown, even when the test fails.
import { execFile, execFileSync } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { Teardown } from './app.js'

const run = promisify(execFile)
const PG_ROOT = '/usr/lib/postgresql'

/** The newest installed server's bin folder (Debian layout), or undefined when there is none. */
export function postgresBinDir (): string | undefined {
  if (!existsSync(PG_ROOT)) return undefined
  const versions = readdirSync(PG_ROOT).filter((v) => existsSync(join(PG_ROOT, v, 'bin', 'initdb')))
  const newest = versions.sort((a, b) => Number(a) - Number(b)).at(-1)
  return newest === undefined ? undefined : join(PG_ROOT, newest, 'bin')
}

/** Why a private cluster cannot be made here (for t.skip), or undefined when it can. */
export function privatePostgresUnavailable (): string | undefined {
  if (process.env.TEST_ENGINE === 'pglite') return 'TEST_ENGINE=pglite: this test needs real PostgreSQL server binaries'
  if (postgresBinDir() === undefined) return `no PostgreSQL server binaries under ${PG_ROOT}`
  return undefined
}

export interface PrivatePostgres {
  port: number
  dir: string
  /** postgres:// URL of `database` on this cluster (user postgres, trust). */
  url: (database?: string) => string
  start: () => Promise<void>
  /** `pg_ctl stop`: immediate (a crash, no checkpoint) by default. */
  stop: (mode?: 'immediate' | 'fast') => Promise<void>
}

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => { resolve(typeof address === 'object' && address !== null ? address.port : 0) })
    })
  })
}

// initdb and postgres refuse to run as root: then everything runs as the postgres user, which owns the temp dir.
const asRoot = process.getuid?.() === 0

function command (bin: string, args: string[]): [string, string[]] {
  return asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args]
}

async function pgTool (name: string, args: string[]): Promise<void> {
  const [file, argv] = command(join(postgresBinDir() as string, name), args)
  try {
    await run(file, argv, { timeout: 60_000 })
  } catch (err) {
    const e = err as { stderr?: string, message: string }
    throw new Error(`${name} ${args.join(' ')} failed: ${e.stderr ?? e.message}`)
  }
}

function stopNow (dataDir: string): void {
  if (!existsSync(join(dataDir, 'postmaster.pid'))) return
  const [file, argv] = command(join(postgresBinDir() as string, 'pg_ctl'), ['stop', '-D', dataDir, '-m', 'immediate', '-w'])
  try { execFileSync(file, argv, { stdio: 'ignore', timeout: 30_000 }) } catch {}
}

/**
 * A new cluster: initdb (trust auth, fsync off: a killed server's committed WAL is still in the OS cache) and start.
 * With `replicaOf`, a streaming standby instead: pg_basebackup -R from that cluster, then start.
 */
export async function startPrivatePostgres (t: Teardown, options: { replicaOf?: PrivatePostgres, settings?: string[] } = {}): Promise<PrivatePostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'assoc-pg-'))
  const dataDir = join(dir, 'data')
  const port = await freePort()
  if (asRoot) {
    const [uid, gid] = ['-u', '-g'].map((flag) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim()))
    chownSync(dir, uid as number, gid as number)
  }
  const cleanup = (): void => {
    stopNow(dataDir)
    rmSync(dir, { recursive: true, force: true })
  }
  // Registered first: a failing initdb or start still leaves nothing behind; 'exit' covers a test process that dies.
  t.teardown(() => {
    process.off('exit', cleanup)
    cleanup()
  })
  process.once('exit', cleanup)

  if (options.replicaOf === undefined) {
    await pgTool('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'])
  } else {
    await pgTool('pg_basebackup', ['-h', '127.0.0.1', '-p', String(options.replicaOf.port), '-U', 'postgres', '-D', dataDir, '-R', '-X', 'stream', '--no-sync'])
  }
  const settings = [
    `port=${port}`, 'listen_addresses=127.0.0.1', `unix_socket_directories=${dir}`,
    'fsync=off', 'full_page_writes=off', 'autovacuum=off', 'max_connections=50', 'shared_buffers=32MB',
    ...(options.settings ?? [])
  ]
  const postgresOptions = settings.map((s) => `-c ${s}`).join(' ')
  const cluster: PrivatePostgres = {
    port,
    dir,
    url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
    start: async () => { await pgTool('pg_ctl', ['start', '-D', dataDir, '-w', '-t', '60', '-l', join(dir, 'server.log'), '-o', postgresOptions]) },
    stop: async (mode = 'immediate') => { await pgTool('pg_ctl', ['stop', '-D', dataDir, '-w', '-m', mode]) }
  }
  await cluster.start()
  return cluster
}
