// Set-based SQL for one import chunk across every object type of its rows: each function is one statement whatever the
// number of rows (arrays through unnest). Ids come from records.repository#allocateRecordIds.
import { sql } from 'kysely'
import type { Executor } from '../db/executor.js'
import type { PropertyValues } from '../db/schema.js'

export interface TypedKey { objectType: string, property: string, value: string }
export interface TypedRef { objectType: string, id: number }
export interface TypedKeyOwner extends TypedKey { recordId: number }
export interface TypedRecord extends TypedRef { properties: PropertyValues }

/**
 * The identifiers of a chunk in one statement: which of `keys` (unique property values, normalised) belong to which
 * record, and which of `ids` are live records. Found ids come back as keys of the property `idProperty`.
 */
export async function findIdentifiers (db: Executor, accountId: number, keys: TypedKey[], ids: TypedRef[], idProperty: string): Promise<TypedKeyOwner[]> {
  if (keys.length === 0 && ids.length === 0) return []
  const result = await sql<TypedKeyOwner>`
    select rk.object_type as "objectType", rk.property, rk.value, rk.record_id as "recordId"
    from unnest(${keys.map((k) => k.objectType)}::text[], ${keys.map((k) => k.property)}::text[], ${keys.map((k) => k.value)}::text[]) as k(object_type, property, value)
    join record_keys rk on rk.account_id = ${accountId} and rk.object_type = k.object_type and rk.property = k.property and rk.value = k.value
    union all
    select r.object_type, ${idProperty}::text, r.id::text, r.id
    from unnest(${ids.map((r) => r.objectType)}::text[], ${ids.map((r) => r.id)}::bigint[]) as k(object_type, id)
    join records r on r.account_id = ${accountId} and r.object_type = k.object_type and r.id = k.id and r.archived_at is null`.execute(db)
  return result.rows
}

const byRef = (a: TypedRef, b: TypedRef): number => a.objectType < b.objectType ? -1 : a.objectType > b.objectType ? 1 : a.id - b.id

/** New records of any types, ids drawn beforehand. */
export async function insertRecords (db: Executor, accountId: number, records: TypedRecord[]): Promise<void> {
  if (records.length === 0) return
  await sql`
    insert into records (account_id, object_type, id, properties)
    select ${accountId}, k.object_type, k.id, k.properties
    from unnest(${records.map((r) => r.objectType)}::text[], ${records.map((r) => r.id)}::bigint[], ${records.map((r) => JSON.stringify(r.properties))}::jsonb[]) as k(object_type, id, properties)`.execute(db)
}

/** Merges each record's properties into the stored ones (live records only); returns the records updated. */
export async function mergeProperties (db: Executor, accountId: number, records: TypedRecord[]): Promise<TypedRef[]> {
  if (records.length === 0) return []
  const sorted = [...records].sort(byRef) // rows locked in one order: concurrent writers wait, never deadlock
  const result = await sql<TypedRef>`
    update records r set properties = r.properties || k.properties, updated_at = now()
    from unnest(${sorted.map((r) => r.objectType)}::text[], ${sorted.map((r) => r.id)}::bigint[], ${sorted.map((r) => JSON.stringify(r.properties))}::jsonb[]) as k(object_type, id, properties)
    where r.account_id = ${accountId} and r.object_type = k.object_type and r.id = k.id and r.archived_at is null
    returning r.object_type as "objectType", r.id`.execute(db)
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
