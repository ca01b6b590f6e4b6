// SQL for association edges (one row per direction and type) and per-record counts. Sets go through unnest(), so a
// batch of any size is one statement.
import { sql, type RawBuilder } from 'kysely'
import type { Executor } from '../db/executor.js'
import { eventsOf, type EventScope } from './events.repository.js'

export interface RecordRef { type: string, id: number }

export interface Edge {
  from_type: string
  from_id: number
  to_type: string
  to_id: number
  type_id: number
  is_primary?: boolean
}

export interface CountDelta { from_type: string, from_id: number, to_type: string, delta: number }

export const byText = (a: string, b: string): number => a < b ? -1 : a > b ? 1 : 0

/** Primary-key order of edges: (from_type, from_id, to_type, to_id, type_id). */
function compareEdges (a: Edge, b: Edge): number {
  return byText(a.from_type, b.from_type) || a.from_id - b.from_id || byText(a.to_type, b.to_type) || a.to_id - b.to_id || a.type_id - b.type_id
}

/** Sorted by `compare`, one element per key. */
export function sortUnique<T> (items: T[], compare: (a: T, b: T) => number): T[] {
  const sorted = [...items].sort(compare)
  return sorted.filter((item, i) => i === 0 || compare(sorted[i - 1] as T, item) !== 0)
}

/** A stable order for row locks: concurrent writers then wait for each other instead of deadlocking. */
export function sortEdges<E extends Edge> (edges: E[]): E[] {
  return sortUnique(edges, compareEdges)
}

export function edgeColumns (edges: Edge[]) {
  return {
    fromTypes: edges.map((e) => e.from_type),
    fromIds: edges.map((e) => e.from_id),
    toTypes: edges.map((e) => e.to_type),
    toIds: edges.map((e) => e.to_id),
    typeIds: edges.map((e) => e.type_id),
    primaries: edges.map((e) => e.is_primary === true)
  }
}

/** Live (not archived) records among `refs`, read without a lock: for writes that turn out to change nothing. */
export async function liveRecords (db: Executor, accountId: number, refs: RecordRef[]): Promise<RecordRef[]> {
  return await selectLiveRecords(db, accountId, refs, sql``)
}

/** Live (not archived) records among `refs`, locked in (type, id) order: SHARE for plain writes, (NO KEY) UPDATE where the primary or a limit is at stake. */
export type LockMode = 'share' | 'no key update' | 'update'

export async function lockRecords (db: Executor, accountId: number, refs: RecordRef[], mode: LockMode): Promise<RecordRef[]> {
  const lock = mode === 'share' ? sql`for share` : mode === 'no key update' ? sql`for no key update` : sql`for update`
  return await selectLiveRecords(db, accountId, refs, sql`${lock} of r`)
}

async function selectLiveRecords (db: Executor, accountId: number, refs: RecordRef[], lock: RawBuilder<unknown>): Promise<RecordRef[]> {
  if (refs.length === 0) return []
  // One `id = any(...)` per object type: an index scan on the primary key, whatever the number of ids.
  const byType = new Map<string, number[]>()
  for (const r of refs) {
    const ids = byType.get(r.type)
    if (ids === undefined) byType.set(r.type, [r.id])
    else ids.push(r.id)
  }
  const match = sql.join([...byType].map(([type, ids]) => sql`(r.object_type = ${type} and r.id = any(${ids}::bigint[]))`), sql` or `)
  const result = await sql<{ object_type: string, id: number }>`
    select r.object_type, r.id from records r
    where r.account_id = ${accountId} and (${match}) and r.archived_at is null
    order by r.object_type, r.id
    ${lock}`.execute(db)
  return result.rows.map((r) => ({ type: r.object_type, id: r.id }))
}

/**
 * Inserts edges that do not exist yet; returns the ones inserted. Only an existing edge (the primary key) is skipped:
 * a second primary for a record violates associations_one_primary_idx and raises 23505 instead of vanishing.
 */
export async function insertEdges (db: Executor, accountId: number, edges: Edge[], events?: EventScope): Promise<Edge[]> {
  if (edges.length === 0) return []
  const c = edgeColumns(sortEdges(edges))
  const result = await sql<Edge>`
    with inserted as (
      insert into associations (account_id, from_type, from_id, to_type, to_id, type_id, is_primary)
      select ${accountId}, * from unnest(${c.fromTypes}::text[], ${c.fromIds}::bigint[], ${c.toTypes}::text[], ${c.toIds}::bigint[], ${c.typeIds}::int[], ${c.primaries}::boolean[])
      on conflict (account_id, from_type, from_id, to_type, to_id, type_id) do nothing
      returning from_type, from_id, to_type, to_id, type_id, is_primary)
    ${eventsOf('inserted', 'added', accountId, events)}
    select * from inserted`.execute(db)
  return result.rows
}

/** Deletes exactly these edges; returns the ones that existed. */
export async function deleteEdges (db: Executor, accountId: number, edges: Edge[], events?: EventScope): Promise<Edge[]> {
  if (edges.length === 0) return []
  const c = edgeColumns(sortEdges(edges))
  const result = await sql<Edge>`
    with deleted as (
      delete from associations a
      using unnest(${c.fromTypes}::text[], ${c.fromIds}::bigint[], ${c.toTypes}::text[], ${c.toIds}::bigint[], ${c.typeIds}::int[]) as k(from_type, from_id, to_type, to_id, type_id)
      where a.account_id = ${accountId} and a.from_type = k.from_type and a.from_id = k.from_id
        and a.to_type = k.to_type and a.to_id = k.to_id and a.type_id = k.type_id
      returning a.from_type, a.from_id, a.to_type, a.to_id, a.type_id, a.is_primary)
    ${eventsOf('deleted', 'removed', accountId, events)}
    select * from deleted`.execute(db)
  return result.rows
}

/** Every edge between two records, both directions. */
export async function deletePairEdges (db: Executor, accountId: number, a: RecordRef, b: RecordRef, events?: EventScope): Promise<Edge[]> {
  const result = await sql<Edge>`
    with deleted as (
      delete from associations
      where account_id = ${accountId}
        and ((from_type = ${a.type} and from_id = ${a.id} and to_type = ${b.type} and to_id = ${b.id})
          or (from_type = ${b.type} and from_id = ${b.id} and to_type = ${a.type} and to_id = ${a.id}))
      returning from_type, from_id, to_type, to_id, type_id, is_primary)
    ${eventsOf('deleted', 'removed', accountId, events)}
    select * from deleted`.execute(db)
  return result.rows
}

/** Type ids on the from -> to rows of one pair. */
export async function findPairTypeIds (db: Executor, accountId: number, from: RecordRef, to: RecordRef): Promise<number[]> {
  const rows = await db.selectFrom('associations').select('type_id')
    .where('account_id', '=', accountId).where('from_type', '=', from.type).where('from_id', '=', from.id)
    .where('to_type', '=', to.type).where('to_id', '=', to.id)
    .orderBy('type_id').execute()
  return rows.map((r) => r.type_id)
}

function mergeDeltas (deltas: CountDelta[]): CountDelta[] {
  const merged = new Map<string, CountDelta>()
  for (const d of deltas) {
    const key = `${d.from_type}|${String(d.from_id).padStart(17, '0')}|${d.to_type}`
    merged.set(key, { ...d, delta: (merged.get(key)?.delta ?? 0) + d.delta })
  }
  // Sorted, so that concurrent writers lock count rows in one order.
  return [...merged.entries()].sort(([a], [b]) => a < b ? -1 : 1).map(([, d]) => d).filter((d) => d.delta !== 0)
}

/** Adds positive deltas to the per-record counts and returns the new values; the caller checks them against the cap. */
export async function incrementCounts (db: Executor, accountId: number, deltas: CountDelta[]): Promise<Array<{ from_type: string, from_id: number, to_type: string, count: number }>> {
  const rows = mergeDeltas(deltas)
  if (rows.length === 0) return []
  const result = await sql<{ from_type: string, from_id: number, to_type: string, count: number }>`
    insert into association_counts as c (account_id, from_type, from_id, to_type, count)
    select ${accountId}, * from unnest(${rows.map((d) => d.from_type)}::text[], ${rows.map((d) => d.from_id)}::bigint[], ${rows.map((d) => d.to_type)}::text[], ${rows.map((d) => d.delta)}::int[])
    on conflict (account_id, from_type, from_id, to_type) do update set count = c.count + excluded.count
    returning c.from_type, c.from_id, c.to_type, c.count`.execute(db)
  return result.rows
}

/** Subtracts from the per-record counts (rows exist: they were counted when the edges were written). */
export async function decrementCounts (db: Executor, accountId: number, deltas: CountDelta[]): Promise<void> {
  const rows = mergeDeltas(deltas)
  if (rows.length === 0) return
  await sql`
    update association_counts c set count = greatest(c.count - k.delta, 0)
    from (select * from unnest(${rows.map((d) => d.from_type)}::text[], ${rows.map((d) => d.from_id)}::bigint[], ${rows.map((d) => d.to_type)}::text[], ${rows.map((d) => d.delta)}::int[]) as k(from_type, from_id, to_type, delta) order by 1, 2, 3) k
    where c.account_id = ${accountId} and c.from_type = k.from_type and c.from_id = k.from_id and c.to_type = k.to_type`.execute(db)
}

/** The record's primary `toType` record, if any. */
export async function findPrimaryId (db: Executor, accountId: number, from: RecordRef, toType: string): Promise<number | undefined> {
  const row = await db.selectFrom('associations').select('to_id')
    .where('account_id', '=', accountId).where('from_type', '=', from.type).where('from_id', '=', from.id)
    .where('to_type', '=', toType).where('is_primary', '=', true)
    .executeTakeFirst()
  return row?.to_id
}

/** Does the pair have this type on its from -> to row? */
export async function hasEdge (db: Executor, accountId: number, from: RecordRef, to: RecordRef, typeId: number): Promise<boolean> {
  const row = await db.selectFrom('associations').select('type_id')
    .where('account_id', '=', accountId).where('from_type', '=', from.type).where('from_id', '=', from.id)
    .where('to_type', '=', to.type).where('to_id', '=', to.id).where('type_id', '=', typeId)
    .executeTakeFirst()
  return row !== undefined
}

/** How many `toType` records carry `typeId` from this record, counting at most `upTo` (an index range scan). */
export async function countLabelledFrom (db: Executor, accountId: number, from: RecordRef, toType: string, typeId: number, upTo: number): Promise<number> {
  const result = await sql<{ n: number }>`
    select count(*)::int as n from (
      select 1 from associations
      where account_id = ${accountId} and from_type = ${from.type} and to_type = ${toType} and type_id = ${typeId} and from_id = ${from.id}
      limit ${upTo}) s`.execute(db)
  return Number(result.rows[0]?.n ?? 0)
}

/**
 * Associations carrying a type id between two object types (label usage). A symmetric type of a same-type pair has
 * two rows per association (A -> B and B -> A, one type id), so only the row with from_id < to_id is counted.
 */
export async function countEdgesOfTypes (db: Executor, accountId: number, fromType: string, toType: string, typeId: number, symmetric = false): Promise<number> {
  let q = db.selectFrom('associations').select((eb) => eb.fn.countAll<number>().as('n'))
    .where('account_id', '=', accountId).where('from_type', '=', fromType).where('to_type', '=', toType).where('type_id', '=', typeId)
  if (symmetric) q = q.whereRef('from_id', '<', 'to_id')
  const row = await q.executeTakeFirstOrThrow()
  return Number(row.n)
}

export async function deleteEdgesOfTypes (db: Executor, accountId: number, a: string, b: string, typeIds: number[], events?: EventScope): Promise<void> {
  if (typeIds.length === 0) return
  await sql`
    with deleted as (
      delete from associations
      where account_id = ${accountId}
        and ((from_type = ${a} and to_type = ${b}) or (from_type = ${b} and to_type = ${a}))
        and type_id = any(${typeIds}::int[])
      returning from_type, from_id, to_type, to_id, type_id)
    ${eventsOf('deleted', 'removed', accountId, events)}
    select count(*) from deleted`.execute(db)
}

export interface PageRow { to_id: number, type_id: number }

/**
 * One page of a record's associated records toward `toType`: the distinct to_ids carrying `anchorTypeId` (the unlabeled
 * type lists every pair; a label or primary type filters), after `afterId`, then every type of those pairs. One query,
 * a range scan on the primary key.
 */
export async function pageEdges (db: Executor, accountId: number, from: RecordRef, toType: string, anchorTypeId: number, afterId: number, limit: number): Promise<PageRow[]> {
  const result = await sql<PageRow>`
    with page as (
      select to_id from associations
      where account_id = ${accountId} and from_type = ${from.type} and from_id = ${from.id}
        and to_type = ${toType} and to_id > ${afterId} and type_id = ${anchorTypeId}
      order by to_id
      limit ${limit})
    select a.to_id, a.type_id from associations a
    where a.account_id = ${accountId} and a.from_type = ${from.type} and a.from_id = ${from.id} and a.to_type = ${toType}
      and a.to_id in (select to_id from page)
    order by a.to_id, a.type_id`.execute(db)
  return result.rows
}

export async function recordExists (db: Executor, accountId: number, ref: RecordRef): Promise<boolean> {
  const row = await db.selectFrom('records').select('id')
    .where('account_id', '=', accountId).where('object_type', '=', ref.type).where('id', '=', ref.id).where('archived_at', 'is', null)
    .executeTakeFirst()
  return row !== undefined
}

/** Every pair carrying a type id, keyset-paged on (from_id, to_id): a range scan on associations_type_idx. */
export async function pairsWithType (db: Executor, accountId: number, fromType: string, toType: string, typeId: number, after: { fromId: number, toId: number }, limit: number): Promise<Array<{ from_id: number, to_id: number }>> {
  const result = await sql<{ from_id: number, to_id: number }>`
    select from_id, to_id from associations
    where account_id = ${accountId} and from_type = ${fromType} and to_type = ${toType} and type_id = ${typeId}
      and (from_id, to_id) > (${after.fromId}, ${after.toId})
    order by from_id, to_id
    limit ${limit}`.execute(db)
  return result.rows
}

/** Up to `cap` edge rows per record toward `toType`, for many records at once (embedding in record reads). */
export async function edgesForRecords (db: Executor, accountId: number, fromType: string, ids: number[], toType: string, cap: number): Promise<Array<{ from_id: number, to_id: number, type_id: number }>> {
  if (ids.length === 0) return []
  const result = await sql<{ from_id: number, to_id: number, type_id: number }>`
    select r.id as from_id, a.to_id, a.type_id
    from unnest(${ids}::bigint[]) as r(id)
    cross join lateral (
      select to_id, type_id from associations
      where account_id = ${accountId} and from_type = ${fromType} and from_id = r.id and to_type = ${toType}
      order by to_id, type_id
      limit ${cap}) a
    order by r.id, a.to_id, a.type_id`.execute(db)
  return result.rows
}

/**
 * Removes every edge of an archived record, both directions, and fixes the counts of the records on the other side,
 * in one statement. A primary row on the other side goes with its edge (no silent promotion).
 */
export async function deleteRecordEdges (db: Executor, accountId: number, record: RecordRef, events?: EventScope): Promise<number> {
  const result = await sql<{ n: number }>`
    with own as (
      delete from associations
      where account_id = ${accountId} and from_type = ${record.type} and from_id = ${record.id}
      returning from_type, from_id, to_type, to_id, type_id)
    ${eventsOf('own', 'removed', accountId, events)},
    others as (
      select distinct to_type, to_id from own),
    inverse as (
      delete from associations a using others o
      where a.account_id = ${accountId} and a.from_type = o.to_type and a.from_id = o.to_id
        and a.to_type = ${record.type} and a.to_id = ${record.id}
      returning a.from_type),
    other_counts as (
      update association_counts c set count = greatest(c.count - 1, 0)
      from others o
      where c.account_id = ${accountId} and c.from_type = o.to_type and c.from_id = o.to_id and c.to_type = ${record.type}
      returning 1),
    own_counts as (
      delete from association_counts
      where account_id = ${accountId} and from_type = ${record.type} and from_id = ${record.id}
      returning 1)
    select (select count(*) from others)::int as n, (select count(*) from inverse) as i, (select count(*) from other_counts) as oc, (select count(*) from own_counts) as owc`.execute(db)
  return Number(result.rows[0]?.n ?? 0)
}
