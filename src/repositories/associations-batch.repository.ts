// Set-based SQL for batch association endpoints: every function is one statement, whatever the number of inputs.
import { sql } from 'kysely'
import type { Executor } from '../db/executor.js'
import { byText, edgeColumns, sortEdges, sortUnique, type Edge } from './associations.repository.js'
import { eventsOf, type EventScope } from './events.repository.js'

export interface IdPair { fromId: number, toId: number }
export interface CountKey { from_type: string, from_id: number, to_type: string }
export interface CountRow extends CountKey { count: number }

function sortedKeys (keys: CountKey[]): CountKey[] {
  return sortUnique(keys, (a, b) => byText(a.from_type, b.from_type) || a.from_id - b.from_id || byText(a.to_type, b.to_type))
}

/**
 * Type ids on the from -> to rows of many pairs of one object pair: one primary-key probe per pair (a lateral subquery
 * kept apart by `offset 0`, so that stale statistics cannot turn it into a hash join over the whole table).
 */
export async function typeIdsForPairs (db: Executor, accountId: number, fromType: string, toType: string, pairs: IdPair[]): Promise<Array<{ from_id: number, to_id: number, type_id: number }>> {
  if (pairs.length === 0) return []
  const result = await sql<{ from_id: number, to_id: number, type_id: number }>`
    select k.from_id, k.to_id, a.type_id
    from unnest(${pairs.map((p) => p.fromId)}::bigint[], ${pairs.map((p) => p.toId)}::bigint[]) as k(from_id, to_id)
    cross join lateral (
      select type_id from associations
      where account_id = ${accountId} and from_type = ${fromType} and from_id = k.from_id and to_type = ${toType} and to_id = k.to_id
      offset 0) a`.execute(db)
  return result.rows
}

/** Makes sure a count row exists for each key (0 when new), so that all of them can then be locked. */
export async function ensureCountRows (db: Executor, accountId: number, keys: CountKey[]): Promise<void> {
  const rows = sortedKeys(keys)
  if (rows.length === 0) return
  await sql`
    insert into association_counts (account_id, from_type, from_id, to_type, count)
    select ${accountId}, k.from_type, k.from_id, k.to_type, 0
    from unnest(${rows.map((k) => k.from_type)}::text[], ${rows.map((k) => k.from_id)}::bigint[], ${rows.map((k) => k.to_type)}::text[]) as k(from_type, from_id, to_type)
    on conflict do nothing`.execute(db)
}

/**
 * The count rows of `keys`, in key order. With `lock`, they are locked FOR UPDATE (they must exist: `ensureCountRows`),
 * so concurrent batches touching one record wait, never deadlock; without, a plain read that may be stale by commit.
 */
export async function readCounts (db: Executor, accountId: number, keys: CountKey[], lock: boolean): Promise<CountRow[]> {
  const rows = sortedKeys(keys)
  if (rows.length === 0) return []
  // One primary-key probe per key, in key order (a lateral subquery with a limit, which the planner cannot turn into a hash join over the whole table).
  const result = await sql<CountRow>`
    select k.from_type, k.from_id, k.to_type, c.count
    from unnest(${rows.map((k) => k.from_type)}::text[], ${rows.map((k) => k.from_id)}::bigint[], ${rows.map((k) => k.to_type)}::text[]) with ordinality as k(from_type, from_id, to_type, n)
    cross join lateral (
      select count from association_counts
      where account_id = ${accountId} and from_type = k.from_type and from_id = k.from_id and to_type = k.to_type
      limit 1 ${lock ? sql`for update` : sql``}) c
    order by k.n`.execute(db)
  return result.rows
}

/** The pair's anchor type (unlabeled, from -> to) and each side's cap. `symmetric`: a same-type pair whose anchor is its own inverse. */
export interface CountedPair { fromType: string, toType: string, anchorTypeId: number, symmetric: boolean, fromLimit: number, toLimit: number }

/**
 * Inserts edges that do not exist yet and, in the same statement, adds one to the counts of both records of every
 * pair whose anchor (unlabeled, from -> to) edge was new: counts follow the rows actually written, even when a
 * concurrent writer inserted the same pair first. Count rows are upserted in key order. Returns the count rows now
 * above their limit (none when the caller's plan held); the caller rolls back then.
 */
export async function insertEdgesCounted (db: Executor, accountId: number, edges: Edge[], counted: CountedPair, events?: EventScope): Promise<CountRow[]> {
  if (edges.length === 0) return []
  const c = edgeColumns(sortEdges(edges))
  const result = await sql<CountRow>`
    with inserted as (
      insert into associations (account_id, from_type, from_id, to_type, to_id, type_id, is_primary)
      select ${accountId}, * from unnest(${c.fromTypes}::text[], ${c.fromIds}::bigint[], ${c.toTypes}::text[], ${c.toIds}::bigint[], ${c.typeIds}::int[], ${c.primaries}::boolean[])
      on conflict (account_id, from_type, from_id, to_type, to_id, type_id) do nothing
      returning from_type, from_id, to_type, to_id, type_id)
    ${eventsOf('inserted', 'added', accountId, events)},
    new_pairs as (
      select from_id, to_id from inserted
      where from_type = ${counted.fromType} and to_type = ${counted.toType} and type_id = ${counted.anchorTypeId}
        -- a same-type pair's symmetric anchor has both rows under one type id: count the pair once
        ${counted.symmetric ? sql`and from_id < to_id` : sql``}),
    deltas as (
      select ${counted.fromType}::text as from_type, from_id, ${counted.toType}::text as to_type, count(*)::int as delta, ${counted.fromLimit}::int as max from new_pairs group by from_id
      union all
      select ${counted.toType}::text, to_id, ${counted.fromType}::text, count(*)::int, ${counted.toLimit}::int from new_pairs group by to_id),
    counted as (
      insert into association_counts as n (account_id, from_type, from_id, to_type, count)
      select ${accountId}, from_type, from_id, to_type, delta from deltas order by from_type, from_id, to_type
      on conflict (account_id, from_type, from_id, to_type) do update set count = n.count + excluded.count
      returning n.from_type, n.from_id, n.to_type, n.count)
    select k.from_type, k.from_id, k.to_type, k.count from counted k
    join deltas d on d.from_type = k.from_type and d.from_id = k.from_id and d.to_type = k.to_type
    where k.count > d.max`.execute(db)
  return result.rows
}

/**
 * Current primary `toType` record of each owner. One index probe per owner (lateral): with `from_id = any(...)` the
 * planner may scan every primary of the account instead.
 */
export async function primariesOf (db: Executor, accountId: number, ownerType: string, ownerIds: number[], toType: string): Promise<Array<{ from_id: number, to_id: number }>> {
  if (ownerIds.length === 0) return []
  const result = await sql<{ from_id: number, to_id: number }>`
    select k.id as from_id, p.to_id from unnest(${ownerIds}::bigint[]) as k(id)
    cross join lateral (
      select to_id from associations
      where account_id = ${accountId} and from_type = ${ownerType} and from_id = k.id and to_type = ${toType} and is_primary
      limit 1) p`.execute(db)
  return result.rows
}

/** How many `toType` records carry each of `typeIds`, per record (for per-label limits). */
export async function labelledCounts (db: Executor, accountId: number, fromType: string, ids: number[], toType: string, typeIds: number[]): Promise<Array<{ from_id: number, type_id: number, n: number }>> {
  if (ids.length === 0 || typeIds.length === 0) return []
  const result = await sql<{ from_id: number, type_id: number, n: number }>`
    select from_id, type_id, count(*)::int as n from associations
    where account_id = ${accountId} and from_type = ${fromType} and to_type = ${toType}
      and type_id = any(${typeIds}::int[]) and from_id = any(${ids}::bigint[])
    group by from_id, type_id`.execute(db)
  return result.rows
}

/** Deletes every edge of many pairs, both directions; returns what existed. */
export async function deletePairs (db: Executor, accountId: number, fromType: string, toType: string, pairs: IdPair[], events?: EventScope): Promise<Edge[]> {
  if (pairs.length === 0) return []
  const from = pairs.map((p) => p.fromId)
  const to = pairs.map((p) => p.toId)
  const result = await sql<Edge>`
    with deleted as (
      delete from associations a
      using unnest(${[...from, ...to]}::bigint[], ${[...to, ...from]}::bigint[], ${[...pairs.map(() => fromType), ...pairs.map(() => toType)]}::text[], ${[...pairs.map(() => toType), ...pairs.map(() => fromType)]}::text[]) as k(from_id, to_id, from_type, to_type)
      where a.account_id = ${accountId} and a.from_type = k.from_type and a.from_id = k.from_id and a.to_type = k.to_type and a.to_id = k.to_id
      returning a.from_type, a.from_id, a.to_type, a.to_id, a.type_id, a.is_primary)
    ${eventsOf('deleted', 'removed', accountId, events)}
    select * from deleted`.execute(db)
  return result.rows
}

export interface BatchPageInput { id: number, after: number }

/** Per-record pages for batch read: up to `limit` pairs after each input's cursor, with every type of those pairs. */
export async function pagesForRecords (db: Executor, accountId: number, fromType: string, toType: string, anchorTypeId: number, inputs: BatchPageInput[], limit: number): Promise<Array<{ from_id: number, to_id: number, type_id: number }>> {
  if (inputs.length === 0) return []
  const result = await sql<{ from_id: number, to_id: number, type_id: number }>`
    select i.id as from_id, a.to_id, a.type_id
    from unnest(${inputs.map((i) => i.id)}::bigint[], ${inputs.map((i) => i.after)}::bigint[]) as i(id, after)
    cross join lateral (
      select to_id from associations
      where account_id = ${accountId} and from_type = ${fromType} and from_id = i.id and to_type = ${toType}
        and type_id = ${anchorTypeId} and to_id > i.after
      order by to_id
      limit ${limit}) p
    join associations a on a.account_id = ${accountId} and a.from_type = ${fromType} and a.from_id = i.id
      and a.to_type = ${toType} and a.to_id = p.to_id
    order by i.id, a.to_id, a.type_id`.execute(db)
  return result.rows
}
