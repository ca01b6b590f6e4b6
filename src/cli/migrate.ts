// `npm run db:migrate`: applies the SQL migrations in migrations/ to the configured database (DATABASE_URL or PGlite).
import { loadConfig } from '../config.js'
import { openDatabase } from '../db/database.js'
import { migrateToLatest } from '../db/migrator.js'

async function main (): Promise<number> {
  let config
  try {
    config = loadConfig()
  } catch (err) {
    process.stderr.write(`Invalid configuration: ${(err as Error).message}\n`)
    return 1
  }
  const where = config.DATABASE_URL !== undefined ? 'PostgreSQL' : `PGlite (${config.DATA_DIR})`
  let handle
  try {
    handle = await openDatabase({
      databaseUrl: config.DATABASE_URL,
      dataDir: config.DATA_DIR,
      poolMax: 1,
      timeoutMs: config.DB_TIMEOUT_MS
    })
  } catch (err) {
    process.stderr.write(`Could not open the database on ${where}: ${(err as Error).message}\n`)
    return 1
  }
  try {
    const result = await migrateToLatest(handle.db)
    const applied = (result.results ?? []).filter((r) => r.status === 'Success')
    if (applied.length === 0) {
      process.stdout.write(`Database on ${where} is up to date; no migration to apply.\n`)
    } else {
      for (const r of applied) process.stdout.write(`applied ${r.migrationName}\n`)
      process.stdout.write(`Applied ${applied.length} migration(s) on ${where}.\n`)
    }
    return 0
  } catch (err) {
    // migrateToLatest names the failing migration and its reason; an unreachable server surfaces here too.
    const message = err instanceof Error ? err.message : String(err)
    process.stderr.write(`Migration failed on ${where}: ${message === '' ? String(err) : message}\n`)
    return 1
  } finally {
    await handle.db.destroy().catch(() => {})
  }
}

process.exitCode = await main()
