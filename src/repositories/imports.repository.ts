// SQL for imports: the import rows (state, plan, progress, lease), their stored files and their errors.
import { sql, type Updateable } from 'kysely'
import type { Executor } from '../db/executor.js'
import type { ImportErrorRow, ImportFileRow, ImportJobRow, ImportState, ImportsTable, NewImportErrorRow } from '../db/schema.js'

export interface NewImport {
  accountId: number
  name: string
  state: ImportState
  request: unknown
  plan: unknown
  mappedObjectTypeIds: string[]
}

export async function insertImport (db: Executor, row: NewImport): Promise<ImportJobRow> {
  return await db.insertInto('imports').values({
    account_id: row.accountId,
    name: row.name,
    state: row.state,
    request: JSON.stringify(row.request),
    plan: JSON.stringify(row.plan),
    mapped_object_type_ids: row.mappedObjectTypeIds
  }).returningAll().executeTakeFirstOrThrow()
}

export interface NewImportFile { fileIndex: number, fileName: string, path: string, bytes: number }

export async function insertImportFiles (db: Executor, accountId: number, importId: number, files: NewImportFile[]): Promise<ImportFileRow[]> {
  if (files.length === 0) return []
  return await db.insertInto('import_files').values(files.map((f) => ({
    account_id: accountId, import_id: importId, file_index: f.fileIndex, file_name: f.fileName, path: f.path, bytes: f.bytes
  }))).returningAll().execute()
}

/** Imports waiting to start or running, in every account (the runners' load). */
export async function countActiveImports (db: Executor): Promise<number> {
  const row = await db.selectFrom('imports').select((eb) => eb.fn.countAll<number>().as('n'))
    .where('state', 'in', ['STARTED', 'PROCESSING']).executeTakeFirstOrThrow()
  return Number(row.n)
}

export async function findImport (db: Executor, accountId: number, id: number): Promise<ImportJobRow | undefined> {
  return await db.selectFrom('imports').selectAll().where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst()
}

/** Locks one import row until the transaction ends (chunk commits, cancel and finish take it first). */
export async function lockImport (db: Executor, accountId: number, id: number): Promise<ImportJobRow | undefined> {
  return await db.selectFrom('imports').selectAll().where('account_id', '=', accountId).where('id', '=', id)
    .forUpdate().executeTakeFirst()
}

/** A page of an account's imports, newest first: ids below `afterId`, or (for `before`) the ones just above `beforeId`. */
export async function listImports (db: Executor, accountId: number, page: { afterId?: number, beforeId?: number, limit: number }): Promise<ImportJobRow[]> {
  let q = db.selectFrom('imports').selectAll().where('account_id', '=', accountId)
  if (page.beforeId !== undefined) {
    const rows = await q.where('id', '>', page.beforeId).orderBy('id', 'asc').limit(page.limit).execute()
    return rows.reverse()
  }
  if (page.afterId !== undefined) q = q.where('id', '<', page.afterId)
  return await q.orderBy('id', 'desc').limit(page.limit).execute()
}

export async function hasImportsAbove (db: Executor, accountId: number, id: number): Promise<boolean> {
  const row = await db.selectFrom('imports').select('id').where('account_id', '=', accountId).where('id', '>', id).limit(1).executeTakeFirst()
  return row !== undefined
}

export async function listImportFiles (db: Executor, accountId: number, importIds: number[]): Promise<ImportFileRow[]> {
  if (importIds.length === 0) return []
  return await db.selectFrom('import_files').selectAll().where('account_id', '=', accountId).where('import_id', 'in', importIds)
    .orderBy('import_id').orderBy('file_index').execute()
}

export async function setFileRowCount (db: Executor, accountId: number, importId: number, fileIndex: number, rowCount: number): Promise<void> {
  await db.updateTable('import_files').set({ row_count: rowCount })
    .where('account_id', '=', accountId).where('import_id', '=', importId).where('file_index', '=', fileIndex).execute()
}

export type ImportPatch = Omit<Updateable<ImportsTable>, 'account_id' | 'id' | 'updated_at'>

const leaseEnd = (leaseMs: number) => sql<Date>`now() + ${leaseMs} * interval '1 millisecond'`

/** Updates an import; with `renewLeaseMs`, its lease is extended by that much from the database's now(). */
export async function updateImport (db: Executor, accountId: number, id: number, patch: ImportPatch, renewLeaseMs?: number): Promise<void> {
  await db.updateTable('imports')
    .set({ ...patch, ...(renewLeaseMs !== undefined ? { lease_expires_at: leaseEnd(renewLeaseMs) } : {}), updated_at: sql`now()` })
    .where('account_id', '=', accountId).where('id', '=', id).execute()
}

/**
 * Claims the oldest import that is waiting (STARTED, DEFERRED) or whose runner's lease has expired (a dead process),
 * skipping rows another runner is claiming right now; it becomes PROCESSING under `owner`'s lease.
 */
export async function claimNextImport (db: Executor, owner: string, leaseMs: number, only?: { accountId: number, id: number }): Promise<ImportJobRow | undefined> {
  const onlyOne = only === undefined ? sql`` : sql`AND account_id = ${only.accountId} AND id = ${only.id}`
  const result = await sql<ImportJobRow>`
    UPDATE imports SET state = 'PROCESSING', lease_owner = ${owner}, lease_expires_at = ${leaseEnd(leaseMs)},
      started_at = coalesce(started_at, now()), updated_at = now()
    WHERE (account_id, id) = (
      SELECT account_id, id FROM imports
      WHERE (state IN ('STARTED', 'DEFERRED') OR (state = 'PROCESSING' AND (lease_expires_at IS NULL OR lease_expires_at < now())))
      ${onlyOne}
      ORDER BY created_at, id
      LIMIT 1
      FOR UPDATE SKIP LOCKED)
    RETURNING *`.execute(db)
  return result.rows[0]
}

/** Extends `owner`'s leases; returns the imports it still holds (a canceled or taken-over import is not among them). */
export async function renewLeases (db: Executor, owner: string, leaseMs: number): Promise<Array<{ account_id: number, id: number }>> {
  return await db.updateTable('imports').set({ lease_expires_at: leaseEnd(leaseMs) })
    .where('lease_owner', '=', owner).where('state', '=', 'PROCESSING')
    .returning(['account_id', 'id']).execute()
}

/** Gives up a lease at once (a runner stopping cleanly): the import stays PROCESSING and any runner may resume it. */
export async function releaseLease (db: Executor, accountId: number, id: number, owner: string): Promise<void> {
  await db.updateTable('imports').set({ lease_owner: null, lease_expires_at: null })
    .where('account_id', '=', accountId).where('id', '=', id).where('lease_owner', '=', owner).execute()
}

/** Expires every lease (PGlite: one process per database, so a PROCESSING import found at start has no live runner). */
export async function expireAllLeases (db: Executor): Promise<number> {
  const result = await db.updateTable('imports').set({ lease_owner: null, lease_expires_at: null })
    .where('state', '=', 'PROCESSING').where('lease_owner', 'is not', null).executeTakeFirst()
  return Number(result.numUpdatedRows)
}

// 11 parameters a row: 1,000 rows stay far below PostgreSQL's 65,535 parameters per statement.
const ERROR_ROWS_PER_INSERT = 1000

export async function insertImportErrors (db: Executor, rows: NewImportErrorRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += ERROR_ROWS_PER_INSERT) {
    await db.insertInto('import_errors').values(rows.slice(i, i + ERROR_ROWS_PER_INSERT)).execute()
  }
}

export async function listImportErrors (db: Executor, accountId: number, importId: number, afterId: number, limit: number): Promise<ImportErrorRow[]> {
  return await db.selectFrom('import_errors').selectAll()
    .where('account_id', '=', accountId).where('import_id', '=', importId).where('id', '>', afterId)
    .orderBy('id').limit(limit).execute()
}
