// Set-based SQL for one import chunk across every object type of its rows: each function is one statement whatever the
// number of rows (arrays through unnest). Ids come from records.repository#allocateRecordIds.
import { sql } from 'kysely'
import type { Executor } from '../db/executor.js'
import type { PropertyValues } from '../db/schema.js'

export interface TypedKey { objectType: string, property: string, value: string }
export interface TypedRef { objectType: string, id: number }
export interface TypedRecord extends TypedRef { properties: PropertyValues }

const byRef = (a: TypedRef, b: TypedRef): number => a.objectType < b.objectType ? -1 : a.objectType > b.objectType ? 1 : a.id - b.id

// Identifier lookups are index probes per key (a lateral `limit 1`), so that they stay index scans while a bulk import
// runs ahead of the table statistics.

/** An identifier found, with the live record holding it and that record's stored values of the asked properties. */
export interface TypedKeyOwner extends TypedKey {
  recordId: number
  /** The record's stored values of `propertyNames` (those it has). */
  stored: PropertyValues
}

/**
 * The identifiers of a chunk in one statement: which of `keys` (unique property values, normalised) belong to which
 * live record, and which of `ids` are live records. Found ids come back as keys of the property `idProperty`. Each
 * carries the record's stored values of `propertyNames`, so that the caller merges only records a row changes.
 */
export async function findIdentifiers (db: Executor, accountId: number, keys: TypedKey[], ids: TypedRef[], idProperty: string, propertyNames: string[]): Promise<TypedKeyOwner[]> {
  if (keys.length === 0 && ids.length === 0) return []
  // In index order: the probes walk the B-trees forward instead of jumping about.
  const sortedKeys = [...keys].sort((a, b) => a.objectType < b.objectType ? -1 : a.objectType > b.objectType ? 1 : a.property < b.property ? -1 : a.property > b.property ? 1 : a.value < b.value ? -1 : a.value > b.value ? 1 : 0)
  const sortedIds = [...ids].sort(byRef)
  // Inputs as one JSON parameter and answers by position: pg's text-array encoding and decoding cost more JavaScript
  // time than the probes take in the database.
  const storedValues = sql`coalesce((select json_object_agg(p.name, r.properties ->> p.name) from unnest(${propertyNames}::text[]) as p(name) where r.properties ? p.name), '{}'::json)`
  const result = await sql<{ key: number | null, id: number | null, recordId: number, stored: PropertyValues }>`
    select k.n::int as key, null::int as id, rk.record_id as "recordId", rk.stored
    from json_array_elements(${JSON.stringify(sortedKeys.map((k) => [k.objectType, k.property, k.value]))}::json) with ordinality as k(v, n)
    cross join lateral (
      select rk.record_id, ${storedValues} as stored
      from record_keys rk
      join records r on r.account_id = rk.account_id and r.object_type = rk.object_type and r.id = rk.record_id and r.archived_at is null
      where rk.account_id = ${accountId} and rk.object_type = k.v ->> 0 and rk.property = k.v ->> 1 and rk.value = k.v ->> 2
      limit 1) rk
    union all
    select null, k.n::int, r.id, ${storedValues}
    from json_array_elements(${JSON.stringify(sortedIds.map((r) => [r.objectType, r.id]))}::json) with ordinality as k(v, n)
    join records r on r.account_id = ${accountId} and r.object_type = k.v ->> 0 and r.id = (k.v ->> 1)::bigint and r.archived_at is null`.execute(db)
  const owners: TypedKeyOwner[] = []
  for (const row of result.rows) {
    if (row.key !== null) {
      const key = sortedKeys[row.key - 1] as TypedKey
      owners.push({ objectType: key.objectType, property: key.property, value: key.value, recordId: row.recordId, stored: row.stored })
    } else {
      const ref = sortedIds[(row.id as number) - 1] as TypedRef
      owners.push({ objectType: ref.objectType, property: idProperty, value: String(ref.id), recordId: row.recordId, stored: row.stored })
    }
  }
  return owners
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
export async function insertKeys (db: Executor, accountId: number, keys: Array<TypedKey & { recordId: number }>): Promise<TypedKey[]> {
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
