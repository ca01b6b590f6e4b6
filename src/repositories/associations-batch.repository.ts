// Set-based SQL for batch association endpoints: every function is one statement, whatever the number of inputs.
import { sql } from 'kysely'
import type { Executor } from '../db/executor.js'
import type { Edge } from './associations.repository.js'

export interface IdPair { fromId: number, toId: number }
export interface CountKey { from_type: string, from_id: number, to_type: string }
export interface CountRow extends CountKey { count: number }

/** `(from_type, to_type, from_id = any(...))` per object-type pair: index scans on the primary key. */
function countMatch (alias: string, keys: CountKey[]) {
  const groups = new Map<string, { from: string, to: string, ids: number[] }>()
  for (const k of keys) {
    const g = groups.get(`${k.from_type}|${k.to_type}`) ?? { from: k.from_type, to: k.to_type, ids: [] }
    g.ids.push(k.from_id)
    groups.set(`${k.from_type}|${k.to_type}`, g)
  }
  const a = sql.ref(alias)
  return sql.join([...groups.values()].map((g) => sql`(${a}.from_type = ${g.from} and ${a}.to_type = ${g.to} and ${a}.from_id = any(${g.ids}::bigint[]))`), sql` or `)
}

function sortedKeys (keys: CountKey[]): CountKey[] {
  const map = new Map(keys.map((k) => [`${k.from_type}|${String(k.from_id).padStart(17, '0')}|${k.to_type}`, k]))
  return [...map.entries()].sort(([a], [b]) => a < b ? -1 : 1).map(([, k]) => k)
}

/** Type ids on the from -> to rows of many pairs of one object pair. */
export async function typeIdsForPairs (db: Executor, accountId: number, fromType: string, toType: string, pairs: IdPair[]): Promise<Array<{ from_id: number, to_id: number, type_id: number }>> {
  if (pairs.length === 0) return []
  const result = await sql<{ from_id: number, to_id: number, type_id: number }>`
    select a.from_id, a.to_id, a.type_id from associations a
    join unnest(${pairs.map((p) => p.fromId)}::bigint[], ${pairs.map((p) => p.toId)}::bigint[]) as k(from_id, to_id)
      on a.from_id = k.from_id and a.to_id = k.to_id
    where a.account_id = ${accountId} and a.from_type = ${fromType} and a.to_type = ${toType}`.execute(db)
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

/** Locks the count rows in key order and returns them: concurrent batches touching one record wait, never deadlock. */
export async function lockCounts (db: Executor, accountId: number, keys: CountKey[]): Promise<CountRow[]> {
  const rows = sortedKeys(keys)
  if (rows.length === 0) return []
  const result = await sql<CountRow>`
    select c.from_type, c.from_id, c.to_type, c.count from association_counts c
    where c.account_id = ${accountId} and (${countMatch('c', rows)})
    order by c.from_type, c.from_id, c.to_type
    for update of c`.execute(db)
  return result.rows
}

/** Writes absolute counts (rows locked by `lockCounts`). */
export async function setCounts (db: Executor, accountId: number, counts: CountRow[]): Promise<void> {
  if (counts.length === 0) return
  await sql`
    update association_counts c set count = k.count
    from unnest(${counts.map((k) => k.from_type)}::text[], ${counts.map((k) => k.from_id)}::bigint[], ${counts.map((k) => k.to_type)}::text[], ${counts.map((k) => k.count)}::int[]) as k(from_type, from_id, to_type, count)
    where c.account_id = ${accountId} and (${countMatch('c', counts)})
      and c.from_type = k.from_type and c.from_id = k.from_id and c.to_type = k.to_type`.execute(db)
}

/** Current primary `toType` record of each owner. */
export async function primariesOf (db: Executor, accountId: number, ownerType: string, ownerIds: number[], toType: string): Promise<Array<{ from_id: number, to_id: number }>> {
  if (ownerIds.length === 0) return []
  const result = await sql<{ from_id: number, to_id: number }>`
    select from_id, to_id from associations
    where account_id = ${accountId} and from_type = ${ownerType} and to_type = ${toType} and is_primary
      and from_id = any(${ownerIds}::bigint[])`.execute(db)
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
export async function deletePairs (db: Executor, accountId: number, fromType: string, toType: string, pairs: IdPair[]): Promise<Edge[]> {
  if (pairs.length === 0) return []
  const from = pairs.map((p) => p.fromId)
  const to = pairs.map((p) => p.toId)
  const result = await sql<Edge>`
    delete from associations a
    using unnest(${[...from, ...to]}::bigint[], ${[...to, ...from]}::bigint[], ${[...pairs.map(() => fromType), ...pairs.map(() => toType)]}::text[], ${[...pairs.map(() => toType), ...pairs.map(() => fromType)]}::text[]) as k(from_id, to_id, from_type, to_type)
    where a.account_id = ${accountId} and a.from_type = k.from_type and a.from_id = k.from_id and a.to_type = k.to_type and a.to_id = k.to_id
    returning a.from_type, a.from_id, a.to_type, a.to_id, a.type_id, a.is_primary`.execute(db)
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
