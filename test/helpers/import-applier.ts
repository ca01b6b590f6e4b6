// The import applier on the test app's database, without the pipeline: fixture CSV -> rows -> applyChunk, one
// transaction per chunk (as the pipeline commits them), plus reads of what landed.
import { readFileSync } from 'node:fs'
import { parse } from 'csv-parse/sync'
import { sql, type Kysely } from 'kysely'
import type { Database } from '../../src/db/schema.js'
import { loadConfig, type Config } from '../../src/config.js'
import { createServices, type Services } from '../../src/plugins/services.js'
import { createImportApplier } from '../../src/services/import-applier.service.js'
import type { ImportApplier, ImportCounters, ImportRow, ImportRowError } from '../../src/services/import-types.js'
import { migrateToLatest } from '../../src/db/migrator.js'
import { createTestDatabase } from './db.js'
import type { Teardown } from './app.js'

export const fixture = (name: string): string => readFileSync(new URL(`../fixtures/imports/${name}`, import.meta.url), 'utf8')

/** Data rows of a CSV text, with HubSpot line numbers (1-based, the header counted). Ragged rows are kept as they are. */
export function csvRows (text: string, hasHeader = true): ImportRow[] {
  const records = parse(text, { relax_column_count: true, bom: true, skip_empty_lines: false }) as string[][]
  return records.slice(hasHeader ? 1 : 0).map((values, i) => ({ lineNumber: i + (hasHeader ? 2 : 1), values }))
}

/** One `files[]` entry of an importRequest. */
export function fileSpec (fileName: string, columnMappings: unknown[], hasHeader = true): Record<string, unknown> {
  return { fileName, fileFormat: 'CSV', fileImportPage: { hasHeader, columnMappings } }
}

export interface ImportResult { counters: ImportCounters, errors: ImportRowError[], fileOrder: string[] }

export interface ApplierHarness {
  db: Kysely<Database>
  services: Services
  applier: ImportApplier
  /**
   * Applies every file of the request, `chunkSize` rows per transaction. With `lookAhead`, each chunk's look-ahead is
   * read before the chunk ahead of it is applied (the most a runner's look-ahead can miss), and corrected by its writes.
   */
  run: (accountId: number, request: unknown, files: Record<string, string>, chunkSize?: number, options?: { lookAhead?: boolean }) => Promise<ImportResult>
}

/** The file's own migrated database (no app: the applier needs only the services). */
export async function applierDatabase (t: Teardown): Promise<Kysely<Database>> {
  const test = await createTestDatabase(2)
  if (test.handle.engine === 'pglite') await migrateToLatest(test.handle.db)
  t.teardown(async () => { await test.handle.db.destroy(); await test.drop() })
  return test.handle.db
}

export function applierOn (db: Kysely<Database>, overrides: Partial<Config> = {}): ApplierHarness {
  const services = createServices(db, loadConfig({}, { LOG_LEVEL: 'silent', ...overrides }))
  const applier = createImportApplier(db, services)
  return {
    db,
    services,
    applier,
    async run (accountId, request, files, chunkSize = 2000, options = {}) {
      const plan = await applier.plan(accountId, request, Object.keys(files))
      const counters: ImportCounters = {}
      const errors: ImportRowError[] = []
      for (const [fileIndex, file] of plan.files.entries()) {
        const rows = csvRows(files[file.fileName] as string, file.hasHeader)
        const chunks: ImportRow[][] = []
        for (let i = 0; i < rows.length; i += chunkSize) chunks.push(rows.slice(i, i + chunkSize))
        const lookAhead = async (chunk: ImportRow[] | undefined): Promise<unknown> => options.lookAhead === true && chunk !== undefined ? await applier.lookAhead(db, accountId, plan, fileIndex, chunk) : undefined
        let read = await lookAhead(chunks[0])
        let written: unknown
        for (const [i, chunk] of chunks.entries()) {
          const nextRead = await lookAhead(chunks[i + 1])
          const ahead = read === undefined ? undefined : { read, writtenSince: written === undefined ? [] : [written] }
          const outcome = await db.transaction().execute(async (trx) => await applier.applyChunk(trx, accountId, plan, fileIndex, chunk, ahead))
          for (const [k, v] of Object.entries(outcome.counters)) counters[k] = (counters[k] ?? 0) + v
          errors.push(...outcome.errors)
          written = outcome.written
          read = nextRead
        }
      }
      return { counters, errors, fileOrder: plan.files.map((f) => f.fileName) }
    }
  }
}

/** A fresh account (with the HUBSPOT_DEFINED types), so tests sharing one database never see each other's records. */
export async function newAccount (h: ApplierHarness, name = 'import test'): Promise<number> {
  const { account } = await h.services.accounts.createAccount(name)
  return Number(account.id)
}

export interface StoredRecord { id: number, properties: Record<string, string> }

export async function recordsOf (h: ApplierHarness, accountId: number, type: string): Promise<StoredRecord[]> {
  return await h.db.selectFrom('records').select(['id', 'properties']).where('account_id', '=', accountId).where('object_type', '=', type)
    .where('archived_at', 'is', null).orderBy('id').execute()
}

export async function findBy (h: ApplierHarness, accountId: number, type: string, property: string, value: string): Promise<StoredRecord> {
  const found = (await recordsOf(h, accountId, type)).filter((r) => r.properties[property] === value)
  if (found.length !== 1) throw new Error(`${found.length} ${type} records with ${property} = ${value}`)
  return found[0] as StoredRecord
}

/** The from -> to rows of one record: to id, type id, primary flag, sorted. */
export async function edgesOf (h: ApplierHarness, accountId: number, type: string, id: number): Promise<Array<{ to_id: number, type_id: number, is_primary: boolean }>> {
  return await h.db.selectFrom('associations').select(['to_id', 'type_id', 'is_primary'])
    .where('account_id', '=', accountId).where('from_type', '=', type).where('from_id', '=', id)
    .orderBy('to_id').orderBy('type_id').execute()
}

export async function countRows (h: ApplierHarness, table: 'records' | 'associations' | 'record_keys', accountId: number): Promise<number> {
  const result = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)} where account_id = ${accountId}`.execute(h.db)
  return result.rows[0]?.n ?? 0
}

/** A user-defined label between contacts and companies; returns its contact -> company type id. */
export async function createLabel (h: ApplierHarness, accountId: number, label: string, from = 'contacts', to = 'companies'): Promise<number> {
  const created = await h.services.associationTypes.createLabel(accountId, from, to, { label, name: label.toLowerCase().replace(/[^a-z0-9]+/g, '_') })
  const fromId = (await h.services.objectTypes.resolve(accountId, from)).typeId
  const row = await h.db.selectFrom('association_types').select('type_id').where('account_id', '=', accountId).where('from_type', '=', fromId)
    .where('type_id', 'in', created.results.map((r) => r.typeId)).executeTakeFirstOrThrow()
  return row.type_id
}
