// Runs the forward-only SQL migrations in migrations/ with Kysely's Migrator (one transaction each, advisory lock on PostgreSQL).
import { readdir, readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { Migrator, sql, type Kysely, type Migration, type MigrationProvider, type MigrationResultSet } from 'kysely'
import { splitSqlStatements } from '../lib/sql-script.js'

// src/db and dist/db are both two levels below the project root.
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url))

class SqlFileMigrationProvider implements MigrationProvider {
  private readonly folder: string
  constructor (folder: string) { this.folder = folder }

  async getMigrations (): Promise<Record<string, Migration>> {
    const files = (await readdir(this.folder)).filter((f) => f.endsWith('.sql')).sort()
    const migrations: Record<string, Migration> = {}
    for (const file of files) {
      const statements = splitSqlStatements(await readFile(new URL(file, `file://${this.folder}`), 'utf8'))
      migrations[file.replace(/\.sql$/, '')] = {
        async up (db: Kysely<any>) {
          for (const statement of statements) await sql.raw(statement).execute(db)
        }
      }
    }
    return migrations
  }
}

export async function migrateToLatest (db: Kysely<any>, folder = MIGRATIONS_DIR): Promise<MigrationResultSet> {
  const migrator = new Migrator({ db, provider: new SqlFileMigrationProvider(folder) })
  const result = await migrator.migrateToLatest()
  if (result.error !== undefined) {
    const failed = result.results?.find((r) => r.status === 'Error')
    const reason = result.error instanceof Error ? result.error.message : String(result.error)
    throw new Error(`Migration ${failed?.migrationName ?? '(unknown)'} failed: ${reason}`, { cause: result.error })
  }
  return result
}
