// SQL for records and their unique-identifier keys.
import { sql } from 'kysely'
import type { Executor } from '../db/executor.js'
import type { PropertyValues, RecordRow } from '../db/schema.js'

export interface RecordKey { property: string, value: string }

export async function insertRecord (db: Executor, accountId: number, objectType: string, properties: PropertyValues): Promise<RecordRow> {
  return await db.insertInto('records')
    .values({ account_id: accountId, object_type: objectType, properties: JSON.stringify(properties) })
    .returningAll()
    .executeTakeFirstOrThrow()
}

export async function findRecord (db: Executor, accountId: number, objectType: string, id: number): Promise<RecordRow | undefined> {
  return await db.selectFrom('records').selectAll()
    .where('account_id', '=', accountId).where('object_type', '=', objectType).where('id', '=', id)
    .where('archived_at', 'is', null)
    .executeTakeFirst()
}

export async function findRecordIdByKey (db: Executor, accountId: number, objectType: string, key: RecordKey): Promise<number | undefined> {
  const row = await db.selectFrom('record_keys').select('record_id')
    .where('account_id', '=', accountId).where('object_type', '=', objectType)
    .where('property', '=', key.property).where('value', '=', key.value)
    .executeTakeFirst()
  return row?.record_id
}

/** The records, among `keys`, already holding one of these identifiers. */
export async function findKeyOwners (db: Executor, accountId: number, objectType: string, keys: RecordKey[]): Promise<Array<RecordKey & { record_id: number }>> {
  if (keys.length === 0) return []
  return await db.selectFrom('record_keys').select(['property', 'value', 'record_id'])
    .where('account_id', '=', accountId).where('object_type', '=', objectType)
    .where((eb) => eb.or(keys.map((k) => eb.and([eb('property', '=', k.property), eb('value', '=', k.value)]))))
    .execute()
}

export async function insertRecordKeys (db: Executor, accountId: number, objectType: string, recordId: number, keys: RecordKey[]): Promise<void> {
  if (keys.length === 0) return
  await db.insertInto('record_keys')
    .values(keys.map((k) => ({ account_id: accountId, object_type: objectType, record_id: recordId, property: k.property, value: k.value })))
    .execute()
}

export async function deleteRecordKeys (db: Executor, accountId: number, objectType: string, recordId: number, properties?: string[]): Promise<void> {
  if (properties?.length === 0) return
  let q = db.deleteFrom('record_keys')
    .where('account_id', '=', accountId).where('object_type', '=', objectType).where('record_id', '=', recordId)
  if (properties !== undefined) q = q.where('property', 'in', properties)
  await q.execute()
}

export async function listRecords (db: Executor, accountId: number, objectType: string, afterId: number, limit: number): Promise<RecordRow[]> {
  return await db.selectFrom('records').selectAll()
    .where('account_id', '=', accountId).where('object_type', '=', objectType)
    .where('archived_at', 'is', null).where('id', '>', afterId)
    .orderBy('id').limit(limit).execute()
}

/** Merges `set` into the properties and drops `remove`, in one statement. */
export async function updateRecordProperties (
  db: Executor, accountId: number, objectType: string, id: number, set: PropertyValues, remove: string[]
): Promise<RecordRow | undefined> {
  return await db.updateTable('records')
    .set({
      properties: sql`(properties || ${JSON.stringify(set)}::jsonb) - ${sql.val(remove)}::text[]`,
      updated_at: sql`now()`
    })
    .where('account_id', '=', accountId).where('object_type', '=', objectType).where('id', '=', id)
    .where('archived_at', 'is', null)
    .returningAll()
    .executeTakeFirst()
}

export async function archiveRecord (db: Executor, accountId: number, objectType: string, id: number): Promise<boolean> {
  const result = await db.updateTable('records')
    .set({ archived_at: sql`now()`, updated_at: sql`now()` })
    .where('account_id', '=', accountId).where('object_type', '=', objectType).where('id', '=', id)
    .where('archived_at', 'is', null)
    .executeTakeFirst()
  return result.numUpdatedRows > 0n
}

export async function countLiveRecords (db: Executor, accountId: number, objectType: string): Promise<number> {
  const row = await db.selectFrom('records').select((eb) => eb.fn.countAll<number>().as('n'))
    .where('account_id', '=', accountId).where('object_type', '=', objectType).where('archived_at', 'is', null)
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

/** Removes archived records (and their keys) of one type, so the type itself can be deleted. */
export async function purgeArchivedRecords (db: Executor, accountId: number, objectType: string): Promise<void> {
  await db.deleteFrom('record_keys').where('account_id', '=', accountId).where('object_type', '=', objectType).execute()
  await db.deleteFrom('records').where('account_id', '=', accountId).where('object_type', '=', objectType)
    .where('archived_at', 'is not', null).execute()
}
