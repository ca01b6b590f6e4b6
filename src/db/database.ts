// Opens the database: PostgreSQL through a pg Pool when DATABASE_URL is set, embedded PGlite otherwise.
import { mkdirSync } from 'node:fs'
import pg from 'pg'
import { Kysely, PostgresDialect, type KyselyConfig } from 'kysely'
import { PGlite, types as pgliteTypes } from '@electric-sql/pglite'
import { PGliteDialect } from 'kysely-pglite-dialect'
import type { Database } from './schema.js'

export type Engine = 'postgres' | 'pglite'

export interface DatabaseHandle {
  db: Kysely<Database>
  engine: Engine
  /** Pool statistics (PostgreSQL only), for readiness and metrics. */
  pool?: pg.Pool
  /** Registers where lost connections are reported (the db plugin logs them); without one they are only dropped. */
  onConnectionError: (listener: (err: Error) => void) => void
}

export interface DatabaseOptions {
  databaseUrl?: string
  dataDir: string
  poolMax: number
  timeoutMs: number
  /** PGlite: start from this data folder image (PGlite's dumpDataDir) instead of an empty cluster. */
  pgliteImage?: Blob
  log?: KyselyConfig['log']
}

// int8 (ids, counts) as JS numbers: ids stay far below 2^53, and HubSpot sends them as numbers in v4 bodies.
const INT8_OID = 20
const parseInt8 = (value: string): number => Number(value)

export async function openDatabase (options: DatabaseOptions): Promise<DatabaseHandle> {
  if (options.databaseUrl !== undefined) {
    const pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: options.poolMax,
      connectionTimeoutMillis: options.timeoutMs,
      statement_timeout: Math.max(options.timeoutMs * 6, 30000),
      types: { getTypeParser: (oid, format) => oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format) }
    })
    const listeners: Array<(err: Error) => void> = []
    const report = (err: Error): void => { for (const listener of listeners) listener(err) }
    // A client that loses its connection emits 'error': idle ones through the pool, checked-out ones (between two
    // statements of a transaction, the server stopped) on the client itself, where no listener would crash the
    // process. The query in flight fails on its own and the pool drops the broken client on release.
    pool.on('error', report)
    pool.on('connect', (client) => { client.on('error', report) })
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log: options.log })
    return { db, engine: 'postgres', pool, onConnectionError: (listener) => { listeners.push(listener) } }
  }
  const inMemory = options.dataDir.startsWith('memory://')
  if (!inMemory) mkdirSync(options.dataDir, { recursive: true })
  // The one-argument form: with a first argument of undefined, PGlite (0.4) ignores loadDataDir.
  const pglite = await PGlite.create({
    ...(inMemory ? {} : { dataDir: options.dataDir }),
    parsers: { [pgliteTypes.INT8]: parseInt8 },
    ...(options.pgliteImage !== undefined ? { loadDataDir: options.pgliteImage } : {})
  })
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite), log: options.log })
  // Kysely destroys (and the dialect closes PGlite) only a driver that has been used: use it once, so that a handle
  // closed unused does not leave PGlite's timers keeping the process alive.
  await db.connection().execute(async () => {})
  // In process: there is no connection to lose.
  return { db, engine: 'pglite', onConnectionError: () => {} }
}
