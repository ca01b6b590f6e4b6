// Set-based SQL for one import chunk across every object type of its rows: each function is one statement whatever the
// number of rows (arrays through unnest). Ids come from records.repository#allocateRecordIds.
import { sql } from 'kysely'
import type { Executor } from '../db/executor.js'
import type { PropertyValues } from '../db/schema.js'

export interface TypedKey { objectType: string, property: string, value: string }
export interface TypedRef { objectType: string, id: number }
export interface TypedKeyOwner extends TypedKey { recordId: number }
export interface TypedRecord extends TypedRef { properties: PropertyValues }

const byRef = (a: TypedRef, b: TypedRef): number => a.objectType < b.objectType ? -1 : a.objectType > b.objectType ? 1 : a.id - b.id

// Identifier lookups are index probes per key (a lateral `limit 1`), so that they stay index scans while a bulk import
// runs ahead of the table statistics.

/**
 * The identifiers of a chunk in one statement: which of `keys` (unique property values, normalised) belong to which
 * record, and which of `ids` are live records. Found ids come back as keys of the property `idProperty`.
 */
export async function findIdentifiers (db: Executor, accountId: number, keys: TypedKey[], ids: TypedRef[], idProperty: string): Promise<TypedKeyOwner[]> {
  if (keys.length === 0 && ids.length === 0) return []
  // In index order: the probes walk the B-trees forward instead of jumping about.
  const sortedKeys = [...keys].sort((a, b) => a.objectType < b.objectType ? -1 : a.objectType > b.objectType ? 1 : a.property < b.property ? -1 : a.property > b.property ? 1 : a.value < b.value ? -1 : a.value > b.value ? 1 : 0)
  const sortedIds = [...ids].sort(byRef)
  const result = await sql<TypedKeyOwner>`
    select k.object_type as "objectType", k.property, k.value, rk.record_id as "recordId"
    from unnest(${sortedKeys.map((k) => k.objectType)}::text[], ${sortedKeys.map((k) => k.property)}::text[], ${sortedKeys.map((k) => k.value)}::text[]) as k(object_type, property, value)
    cross join lateral (
      select record_id from record_keys rk
      where rk.account_id = ${accountId} and rk.object_type = k.object_type and rk.property = k.property and rk.value = k.value
      limit 1) rk
    union all
    select k.object_type, ${idProperty}::text, k.id::text, k.id
    from unnest(${sortedIds.map((r) => r.objectType)}::text[], ${sortedIds.map((r) => r.id)}::bigint[]) as k(object_type, id)
    where exists (select 1 from records r where r.account_id = ${accountId} and r.object_type = k.object_type and r.id = k.id and r.archived_at is null)`.execute(db)
  return result.rows
}

/** New records of any types, ids drawn beforehand. */
export async function insertRecords (db: Executor, accountId: number, records: TypedRecord[]): Promise<void> {
  if (records.length === 0) return
  await sql`
    insert into records (account_id, object_type, id, properties)
    select ${accountId}, k.object_type, k.id, k.properties
    from unnest(${records.map((r) => r.objectType)}::text[], ${records.map((r) => r.id)}::bigint[], ${records.map((r) => JSON.stringify(r.properties))}::jsonb[]) as k(object_type, id, properties)`.execute(db)
}

/**
 * Merges each record's properties into the stored ones, leaving records that already hold every value untouched (no
 * new row version, updated_at kept); returns the live records among them, changed or not.
 */
export async function mergeProperties (db: Executor, accountId: number, records: TypedRecord[]): Promise<TypedRef[]> {
  if (records.length === 0) return []
  const sorted = [...records].sort(byRef) // rows locked in one order: concurrent writers wait, never deadlock
  const result = await sql<TypedRef>`
    with live as (
      select k.object_type, k.id, k.properties, r.same
      from unnest(${sorted.map((r) => r.objectType)}::text[], ${sorted.map((r) => r.id)}::bigint[], ${sorted.map((r) => JSON.stringify(r.properties))}::jsonb[]) as k(object_type, id, properties)
      cross join lateral (
        select r.properties @> k.properties as same from records r
        where r.account_id = ${accountId} and r.object_type = k.object_type and r.id = k.id and r.archived_at is null
        limit 1) r),
    changed as (
      update records r set properties = r.properties || l.properties, updated_at = now()
      from live l
      where not l.same and r.account_id = ${accountId} and r.object_type = l.object_type and r.id = l.id
      returning 1)
    select object_type as "objectType", id from live`.execute(db)
  return result.rows
}

/** Removes the identifiers these records hold for these properties (they are about to get new values). */
export async function deleteKeys (db: Executor, accountId: number, keys: Array<TypedRef & { property: string }>): Promise<void> {
  if (keys.length === 0) return
  await sql`
    delete from record_keys rk
    using unnest(${keys.map((k) => k.objectType)}::text[], ${keys.map((k) => k.id)}::bigint[], ${keys.map((k) => k.property)}::text[]) as k(object_type, record_id, property)
    where rk.account_id = ${accountId} and rk.object_type = k.object_type and rk.record_id = k.record_id and rk.property = k.property`.execute(db)
}

/**
 * Inserts identifiers in key order and returns the ones inserted: one taken meanwhile by a concurrent writer is
 * skipped, not an aborted transaction, so the caller can fail just the rows that wanted it.
 */
export async function insertKeys (db: Executor, accountId: number, keys: TypedKeyOwner[]): Promise<TypedKey[]> {
  if (keys.length === 0) return []
  const result = await sql<TypedKey>`
    insert into record_keys (account_id, object_type, property, value, record_id)
    select ${accountId}, k.object_type, k.property, k.value, k.record_id
    from unnest(${keys.map((k) => k.objectType)}::text[], ${keys.map((k) => k.property)}::text[], ${keys.map((k) => k.value)}::text[], ${keys.map((k) => k.recordId)}::bigint[]) as k(object_type, property, value, record_id)
    order by 2, 3, 4
    on conflict do nothing
    returning object_type as "objectType", property, value`.execute(db)
  return result.rows
}
