// SQL for the change feed (the events table, an outbox of association changes).
//
// Appending: association writes add a data-modifying CTE built by `appendEventsCte` to the very statement that
// inserts or deletes edges, so the events are written in the same transaction, set-based, with no extra statement.
// An edge row becomes an event when it is on the `from` side of the write (`pairSide`): one event per association and
// type, never one per stored row (each association is two rows). Between records of one object type both rows have
// the same types, so the row from the lower id to the higher one is the event's side.
//
// Reading: see `readFeed` and migrations/0007_events.sql for the order and the visibility guard.
import { sql, type RawBuilder, type Selectable } from 'kysely'
import type { Executor } from '../db/executor.js'
import type { EventsTable } from '../db/schema.js'

export type EventKind = 'created' | 'label_added' | 'label_removed' | 'primary_set' | 'primary_unset' | 'deleted'
export const EVENT_KINDS: readonly EventKind[] = ['created', 'label_added', 'label_removed', 'primary_set', 'primary_unset', 'deleted']

/** Why a change happened without being asked for pair by pair. */
export type EventCause = 'record_archived' | 'label_deleted'

/** Who made a change: the request's correlation id and API key; both null for imports and the command line. */
export interface EventOrigin {
  correlationId: string | null
  apiKeyId: number | null
  cause?: EventCause
}

/** Which rows of a write are events (`pairSide`, or a filter of the caller's), and who made the change. */
export interface EventScope extends EventOrigin {
  side: RawBuilder<unknown>
}

/** Rows (aliased `e`) on the `from` side of a from -> to write. */
export function pairSide (fromType: string, toType: string): RawBuilder<unknown> {
  return fromType === toType
    ? sql`e.from_type = ${fromType} and e.to_type = ${toType} and e.from_id < e.to_id`
    : sql`e.from_type = ${fromType} and e.to_type = ${toType}`
}

/** Every row of the write (the archive cascade: the archived record's own rows). */
export function everyRow (): RawBuilder<unknown> {
  return sql`true`
}

/**
 * A CTE (`, name as (...)`) that appends one event per row of `source` (a CTE returning from_type, from_id, to_type,
 * to_id, type_id) within `scope.side`. The kind follows the type's role: the unlabeled type is the association itself
 * (created / deleted), the primary types set or unset the primary, any other type is a label. Within a pair, `created`
 * comes first and `deleted` last.
 */
export function appendEventsCte (name: string, source: string, change: 'added' | 'removed', accountId: number, scope: EventScope): RawBuilder<unknown> {
  const kind = change === 'added'
    ? sql`case t.role when 'unlabeled' then 'created' when 'label' then 'label_added' else 'primary_set' end`
    : sql`case t.role when 'unlabeled' then 'deleted' when 'label' then 'label_removed' else 'primary_unset' end`
  const unlabeledRank = change === 'added' ? sql`0` : sql`1`
  return sql`, ${sql.id(name)} as (
    insert into events (account_id, kind, from_type, from_id, to_type, to_id, type_id, category, label, cause, correlation_id, api_key_id)
    select ${accountId}, ${kind}, e.from_type, e.from_id, e.to_type, e.to_id, e.type_id, t.category, t.label,
      ${scope.cause ?? null}::text, ${scope.correlationId}::text, ${scope.apiKeyId}::bigint
    from ${sql.id(source)} e
    join association_types t on t.account_id = ${accountId} and t.from_type = e.from_type and t.to_type = e.to_type and t.type_id = e.type_id
    where ${scope.side}
    order by e.from_type, e.from_id, e.to_type, e.to_id, case when t.role = 'unlabeled' then ${unlabeledRank} else 1 - ${unlabeledRank} end, e.type_id
    returning 1)`
}

/** `appendEventsCte` over the CTE `source` when `events` is given (named `<source>_events`); nothing otherwise. */
export function eventsOf (source: string, change: 'added' | 'removed', accountId: number, events: EventScope | undefined): RawBuilder<unknown> {
  return events === undefined ? sql`` : appendEventsCte(`${source}_events`, source, change, accountId, events)
}

/** A stored event (xid8 as text). */
export type EventRow = Omit<Selectable<EventsTable>, 'account_id' | 'kind' | 'cause'> & { kind: EventKind, cause: EventCause | null }

/** A feed position: the last event served, (xid, id). (0, 0) is the start. */
export interface FeedPosition { xid: string, id: number }

/**
 * Up to `limit` events of the account after `after`, in (xid, id) order, from finished transactions only: an event
 * whose transaction is still open (or began after the oldest open one) waits, so the cursor never passes an event
 * that a transaction begun earlier has yet to commit. `kinds` filters; the scan still moves past other kinds, and
 * `scanned` is the last position looked at (a cursor may move there even when nothing matched).
 */
export async function readFeed (db: Executor, accountId: number, after: FeedPosition, limit: number, kinds?: readonly string[]): Promise<{ rows: EventRow[], scanned: FeedPosition | undefined }> {
  const result = await sql<EventRow & { matches: boolean }>`
    select id, xid::text as xid, kind, from_type, from_id, to_type, to_id, type_id, category, label, cause, occurred_at,
      correlation_id, api_key_id, ${kinds === undefined ? sql`true` : sql`kind = any(${[...kinds]}::text[])`} as matches
    from events
    where account_id = ${accountId} and (xid, id) > (${after.xid}::xid8, ${after.id}::bigint)
      and xid < pg_snapshot_xmin(pg_current_snapshot())
    order by xid, id
    limit ${limit}`.execute(db)
  const last = result.rows.at(-1)
  return {
    rows: result.rows.filter((r) => r.matches).map(({ matches: _matches, ...row }) => row),
    scanned: last === undefined ? undefined : { xid: last.xid, id: last.id }
  }
}

/** Deletes up to `limit` events older than `days` days; returns how many. */
export async function purgeEvents (db: Executor, days: number, limit: number): Promise<number> {
  const result = await sql`
    delete from events where (account_id, id) in (
      select account_id, id from events where occurred_at < now() - ${days} * interval '1 day' limit ${limit})`.execute(db)
  return Number(result.numAffectedRows ?? 0)
}
