// SQL for records and their unique-identifier keys.
import { sql } from 'kysely'
import type { Executor } from '../db/executor.js'
import type { PropertyValues, RecordRow } from '../db/schema.js'
import { eventsOf, type EventOrigin } from './events.repository.js'

export interface RecordKey { property: string, value: string }

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

// Set-based forms for batches: each function is one statement whatever the number of records.

export interface RecordKeyOwner extends RecordKey { record_id: number }
export interface NewRecord { id: number, properties: PropertyValues }
export interface PropertyChange { id: number, set: PropertyValues, remove: string[] }

/** Draws `n` record ids from the records sequence up front, so that a batch knows its ids before it inserts. */
export async function allocateRecordIds (db: Executor, n: number): Promise<number[]> {
  if (n === 0) return []
  const result = await sql<{ id: number }>`select nextval('record_id_seq')::bigint as id from generate_series(1, ${n}::int)`.execute(db)
  return result.rows.map((r) => r.id)
}

/** One multi-row insert; the ids come from `allocateRecordIds`. */
export async function insertRecords (db: Executor, accountId: number, objectType: string, rows: NewRecord[]): Promise<RecordRow[]> {
  if (rows.length === 0) return []
  return await db.insertInto('records')
    .values(rows.map((r) => ({ account_id: accountId, object_type: objectType, id: r.id, properties: JSON.stringify(r.properties) })))
    .returningAll()
    .execute()
}

/** Records among `ids`: the live ones, or with `archived` the archived ones only (as HubSpot's `archived=true`). */
export async function findRecords (db: Executor, accountId: number, objectType: string, ids: number[], archived = false): Promise<RecordRow[]> {
  if (ids.length === 0) return []
  return await db.selectFrom('records').selectAll()
    .where('account_id', '=', accountId).where('object_type', '=', objectType)
    .where('id', '=', sql<number>`any(${ids}::bigint[])`)
    .where('archived_at', archived ? 'is not' : 'is', null)
    .orderBy('id')
    .execute()
}

/** Live records among `ids`, locked FOR UPDATE in id order (concurrent batches wait for each other, never deadlock). */
export async function lockLiveRecords (db: Executor, accountId: number, objectType: string, ids: number[]): Promise<RecordRow[]> {
  if (ids.length === 0) return []
  return await db.selectFrom('records').selectAll()
    .where('account_id', '=', accountId).where('object_type', '=', objectType)
    .where('id', '=', sql<number>`any(${ids}::bigint[])`)
    .where('archived_at', 'is', null)
    .orderBy('id')
    .forUpdate()
    .execute()
}

/** The records holding any of these (property, value) identifiers. */
export async function findKeyOwnersIn (db: Executor, accountId: number, objectType: string, keys: RecordKey[]): Promise<RecordKeyOwner[]> {
  if (keys.length === 0) return []
  const result = await sql<RecordKeyOwner>`
    select rk.property, rk.value, rk.record_id from record_keys rk
    join unnest(${keys.map((k) => k.property)}::text[], ${keys.map((k) => k.value)}::text[]) as k(property, value)
      on rk.property = k.property and rk.value = k.value
    where rk.account_id = ${accountId} and rk.object_type = ${objectType}`.execute(db)
  return result.rows
}

/**
 * Inserts identifiers in (property, value) order and returns the ones inserted: one taken meanwhile by a concurrent
 * writer is skipped (not an aborted transaction), so the caller can fail just the input that wanted it.
 */
export async function insertRecordKeysMany (db: Executor, accountId: number, objectType: string, keys: RecordKeyOwner[]): Promise<RecordKeyOwner[]> {
  if (keys.length === 0) return []
  const sorted = [...keys].sort((a, b) => a.property < b.property ? -1 : a.property > b.property ? 1 : a.value < b.value ? -1 : a.value > b.value ? 1 : 0)
  return await db.insertInto('record_keys')
    .values(sorted.map((k) => ({ account_id: accountId, object_type: objectType, record_id: k.record_id, property: k.property, value: k.value })))
    .onConflict((oc) => oc.doNothing())
    .returning(['property', 'value', 'record_id'])
    .execute()
}

/** Removes the identifiers of these (record, property) pairs. */
export async function deleteRecordKeysMany (db: Executor, accountId: number, objectType: string, keys: Array<{ record_id: number, property: string }>): Promise<void> {
  if (keys.length === 0) return
  await sql`
    delete from record_keys rk
    using unnest(${keys.map((k) => k.record_id)}::bigint[], ${keys.map((k) => k.property)}::text[]) as k(record_id, property)
    where rk.account_id = ${accountId} and rk.object_type = ${objectType} and rk.record_id = k.record_id and rk.property = k.property`.execute(db)
}

/** Every identifier of these records (they are being archived). */
export async function deleteKeysOfRecords (db: Executor, accountId: number, objectType: string, ids: number[]): Promise<void> {
  if (ids.length === 0) return
  await db.deleteFrom('record_keys')
    .where('account_id', '=', accountId).where('object_type', '=', objectType)
    .where('record_id', '=', sql<number>`any(${ids}::bigint[])`)
    .execute()
}

/** Merges each record's `set` and drops its `remove`, for many records in one statement (one JSON parameter). */
export async function updateRecordsProperties (db: Executor, accountId: number, objectType: string, changes: PropertyChange[]): Promise<RecordRow[]> {
  if (changes.length === 0) return []
  const payload = JSON.stringify(changes.map((c) => ({ id: c.id, set: c.set, remove: c.remove })))
  const result = await sql<RecordRow>`
    update records r
    set properties = (r.properties || k.set) - array(select jsonb_array_elements_text(k.remove)), updated_at = now()
    from jsonb_to_recordset(${payload}::jsonb) as k(id bigint, set jsonb, remove jsonb)
    where r.account_id = ${accountId} and r.object_type = ${objectType} and r.id = k.id and r.archived_at is null
    returning r.*`.execute(db)
  return result.rows
}

export async function archiveRecords (db: Executor, accountId: number, objectType: string, ids: number[]): Promise<void> {
  if (ids.length === 0) return
  await db.updateTable('records')
    .set({ archived_at: sql`now()`, updated_at: sql`now()` })
    .where('account_id', '=', accountId).where('object_type', '=', objectType)
    .where('id', '=', sql<number>`any(${ids}::bigint[])`)
    .where('archived_at', 'is', null)
    .execute()
}

/**
 * The association cascade of a batch archive, in one statement: the multi-record form of
 * associations.repository#deleteRecordEdges. Removes every edge of the archived records in both directions, lowers the
 * counts of the records on the other side by the number of archived records they lose, and drops the archived records'
 * own counts. Records archived together are left out of the inverse delete and the count update (their rows go with `own`).
 */
export async function deleteAssociationsOfRecords (db: Executor, accountId: number, objectType: string, ids: number[], events?: EventOrigin): Promise<void> {
  if (ids.length === 0) return
  // Events from the archived record's side; an association between two records archived together counts once.
  const side = sql`not (e.to_type = ${objectType} and e.to_id = any(${ids}::bigint[]) and e.from_id > e.to_id)`
  await sql`
    with own as (
      delete from associations
      where account_id = ${accountId} and from_type = ${objectType} and from_id = any(${ids}::bigint[])
      returning from_type, from_id, to_type, to_id, type_id)
    ${eventsOf('own', 'removed', accountId, events === undefined ? undefined : { ...events, side })},
    pairs as (
      select distinct from_id, to_type, to_id from own
      where not (to_type = ${objectType} and to_id = any(${ids}::bigint[]))),
    inverse as (
      delete from associations a using pairs p
      where a.account_id = ${accountId} and a.from_type = p.to_type and a.from_id = p.to_id
        and a.to_type = ${objectType} and a.to_id = p.from_id
      returning 1),
    deltas as (
      select to_type, to_id, count(*)::int as n from pairs group by to_type, to_id),
    other_counts as (
      update association_counts c set count = greatest(c.count - d.n, 0)
      from deltas d
      where c.account_id = ${accountId} and c.from_type = d.to_type and c.from_id = d.to_id and c.to_type = ${objectType}
      returning 1),
    own_counts as (
      delete from association_counts
      where account_id = ${accountId} and from_type = ${objectType} and from_id = any(${ids}::bigint[])
      returning 1)
    select (select count(*) from inverse) as i, (select count(*) from other_counts) as oc, (select count(*) from own_counts) as owc`.execute(db)
}

/** Association types by id, whatever their direction (a type id is unique within an account). */
export async function findAssociationTypesByIds (db: Executor, accountId: number, typeIds: number[]): Promise<Array<{ type_id: number, from_type: string, to_type: string }>> {
  if (typeIds.length === 0) return []
  return await db.selectFrom('association_types').select(['type_id', 'from_type', 'to_type'])
    .where('account_id', '=', accountId).where('type_id', '=', sql<number>`any(${typeIds}::int[])`)
    .execute()
}

/** Savepoints let a batch undo one round of writes and redo it without the inputs that failed. */
export async function savepoint (db: Executor, name: string): Promise<void> {
  await sql`savepoint ${sql.id(name)}`.execute(db)
}

export async function rollbackToSavepoint (db: Executor, name: string): Promise<void> {
  await sql`rollback to savepoint ${sql.id(name)}`.execute(db)
}
