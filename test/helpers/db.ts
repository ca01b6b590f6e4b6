// A database of the test file's own: a clone of the migrated template on PostgreSQL, a fresh in-memory PGlite otherwise.
import { randomBytes } from 'node:crypto'
import { Kysely } from 'kysely'
import { PGlite } from '@electric-sql/pglite'
import { PGliteDialect } from 'kysely-pglite-dialect'
import { openDatabase, type DatabaseHandle } from '../../src/db/database.js'
import { migrateToLatest } from '../../src/db/migrator.js'
import type { Database } from '../../src/db/schema.js'
import { databaseUrl, postgresReachable, templateName, withAdminClient } from './engine.js'

export interface TestDatabase {
  handle: DatabaseHandle
  url?: string
  /** Drops the database (PostgreSQL); call after the app is closed. */
  drop: () => Promise<void>
}

// PGlite: one migrated cluster per test process, kept as a data folder image. A database started from the image skips
// initdb and the migrations, which were most of each test's start on PGlite (about 4 s of 4.5 on a loaded machine).
let pgliteImage: Promise<Blob> | undefined

async function migratedPgliteImage (): Promise<Blob> {
  pgliteImage ??= (async () => {
    const pglite = await PGlite.create()
    const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) })
    await migrateToLatest(db)
    await pglite.exec('checkpoint')
    const image = await pglite.dumpDataDir('none')
    await db.destroy()
    return image
  })()
  return await pgliteImage
}

export async function createTestDatabase (poolMax = 10): Promise<TestDatabase> {
  if (!await postgresReachable()) {
    const handle = await openDatabase({ dataDir: 'memory://', poolMax, timeoutMs: 5000, pgliteImage: await migratedPgliteImage() })
    return { handle, drop: async () => {} }
  }
  const name = `assoc_t_${process.pid}_${randomBytes(4).toString('hex')}`
  await withAdminClient(async (client) => {
    // Parallel clones of one template can collide ("being accessed by other users"); retry briefly.
    for (let attempt = 0; ; attempt++) {
      try {
        await client.query(`create database "${name}" template "${templateName()}"`)
        return
      } catch (err) {
        if (attempt >= 20) throw err
        await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200))
      }
    }
  })
  const url = databaseUrl(name)
  const handle = await openDatabase({ databaseUrl: url, dataDir: '', poolMax, timeoutMs: 5000 })
  return {
    handle,
    url,
    drop: async () => { await withAdminClient(async (c) => { await c.query(`drop database if exists "${name}" with (force)`) }) }
  }
}
