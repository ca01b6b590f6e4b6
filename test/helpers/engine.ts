// Which engine the tests use: PostgreSQL when reachable (TEST_DATABASE_URL), PGlite otherwise or when TEST_ENGINE=pglite.
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import pg from 'pg'
import { MIGRATIONS_DIR } from '../../src/db/migrator.js'

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

/** The migrated template database's name: it changes whenever a migration changes. */
export function templateName (): string {
  const hash = createHash('sha256')
  for (const f of readdirSync(MIGRATIONS_DIR).sort()) hash.update(f).update(readFileSync(MIGRATIONS_DIR + f))
  return `assoc_tpl_${hash.digest('hex').slice(0, 12)}`
}

export function databaseUrl (name: string): string {
  const url = new URL(TEST_DATABASE_URL)
  url.pathname = `/${name}`
  return url.toString()
}

export async function postgresReachable (): Promise<boolean> {
  if (process.env.TEST_ENGINE === 'pglite') return false
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 2000 })
  try {
    await client.connect()
    await client.query('select 1')
    return true
  } catch {
    if (process.env.TEST_ENGINE === 'postgres') throw new Error(`TEST_ENGINE=postgres but ${TEST_DATABASE_URL} is not reachable`)
    return false
  } finally {
    await client.end().catch(() => {})
  }
}

/** Runs `fn` with a client on the admin database (the one TEST_DATABASE_URL names). */
export async function withAdminClient<T> (fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}
