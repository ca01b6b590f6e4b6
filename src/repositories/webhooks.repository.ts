// SQL for webhook subscriptions (with their feed cursor and worker lease) and their deliveries.
import { sql } from 'kysely'
import type { Executor } from '../db/executor.js'
import type { WebhookDeliveryRow, WebhookSubscriptionRow } from '../db/schema.js'
import type { FeedPosition } from './events.repository.js'

export interface NewSubscription { accountId: number, targetUrl: string, eventKinds: string[], secret: string }

const leaseEnd = (leaseMs: number) => sql<Date>`now() + ${leaseMs} * interval '1 millisecond'`

/** A new subscription reads the feed from its creating transaction on: later transactions' events. */
export async function insertSubscription (db: Executor, s: NewSubscription): Promise<WebhookSubscriptionRow> {
  return await db.insertInto('webhook_subscriptions').values({
    account_id: s.accountId, target_url: s.targetUrl, event_kinds: s.eventKinds, secret: s.secret, cursor_xid: sql<string>`pg_current_xact_id()`
  }).returningAll().executeTakeFirstOrThrow()
}

export async function listSubscriptions (db: Executor, accountId: number): Promise<WebhookSubscriptionRow[]> {
  return await db.selectFrom('webhook_subscriptions').selectAll().where('account_id', '=', accountId).orderBy('id').execute()
}

export async function findSubscription (db: Executor, accountId: number, id: number): Promise<WebhookSubscriptionRow | undefined> {
  return await db.selectFrom('webhook_subscriptions').selectAll().where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst()
}

/** Deletes a subscription and its delivery log; false when it did not exist. */
export async function deleteSubscription (db: Executor, accountId: number, id: number): Promise<boolean> {
  const result = await db.deleteFrom('webhook_subscriptions').where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst()
  return Number(result.numDeletedRows) > 0
}

/**
 * Claims the subscription that has waited longest among those that are due, not held by a live lease, and have work:
 * a pending delivery, or a finished transaction's event past their cursor. Rows another worker is claiming are skipped.
 */
export async function claimSubscription (db: Executor, owner: string, leaseMs: number): Promise<WebhookSubscriptionRow | undefined> {
  const result = await sql<WebhookSubscriptionRow>`
    update webhook_subscriptions set lease_owner = ${owner}, lease_expires_at = ${leaseEnd(leaseMs)}
    where (account_id, id) = (
      select s.account_id, s.id from webhook_subscriptions s
      where s.next_attempt_at <= now() and (s.lease_expires_at is null or s.lease_expires_at < now())
        and (exists (select 1 from webhook_deliveries d where d.account_id = s.account_id and d.subscription_id = s.id and d.status = 'PENDING')
          or exists (select 1 from events e where e.account_id = s.account_id and (e.xid, e.id) > (s.cursor_xid, s.cursor_id)
            and e.xid < pg_snapshot_xmin(pg_current_snapshot())))
      order by s.next_attempt_at, s.account_id, s.id
      limit 1
      for update skip locked)
    returning account_id, id, target_url, event_kinds, secret, cursor_xid::text as cursor_xid, cursor_id, next_attempt_at, lease_owner, lease_expires_at, created_at`.execute(db)
  return result.rows[0]
}

/** Locks the subscription if `owner` still holds it (the cursor and the pending delivery change under this lock). */
export async function lockHeldSubscription (db: Executor, accountId: number, id: number, owner: string): Promise<{ cursor: FeedPosition, eventKinds: string[] } | undefined> {
  const result = await sql<{ cursor_xid: string, cursor_id: number, event_kinds: string[] }>`
    select cursor_xid::text as cursor_xid, cursor_id, event_kinds from webhook_subscriptions
    where account_id = ${accountId} and id = ${id} and lease_owner = ${owner}
    for update`.execute(db)
  const row = result.rows[0]
  return row === undefined ? undefined : { cursor: { xid: row.cursor_xid, id: row.cursor_id }, eventKinds: row.event_kinds }
}

export async function moveCursor (db: Executor, accountId: number, id: number, to: FeedPosition): Promise<void> {
  await sql`update webhook_subscriptions set cursor_xid = ${to.xid}::xid8, cursor_id = ${to.id} where account_id = ${accountId} and id = ${id}`.execute(db)
}

/** Extends `owner`'s leases; returns the subscriptions it still holds. */
export async function renewLeases (db: Executor, owner: string, leaseMs: number): Promise<Array<{ account_id: number, id: number }>> {
  return await db.updateTable('webhook_subscriptions').set({ lease_expires_at: leaseEnd(leaseMs) })
    .where('lease_owner', '=', owner).returning(['account_id', 'id']).execute()
}

/** Gives a subscription back; a worker looks at it again from `nextAttemptAt` (now when absent). */
export async function releaseSubscription (db: Executor, accountId: number, id: number, owner: string, nextAttemptAt?: Date): Promise<void> {
  await db.updateTable('webhook_subscriptions')
    .set({ lease_owner: null, lease_expires_at: null, next_attempt_at: nextAttemptAt ?? sql<Date>`now()` })
    .where('account_id', '=', accountId).where('id', '=', id).where('lease_owner', '=', owner).execute()
}

/** PGlite: one process per database, so a lease found at start belongs to a process that is gone. */
export async function expireAllLeases (db: Executor): Promise<number> {
  const result = await db.updateTable('webhook_subscriptions').set({ lease_owner: null, lease_expires_at: null })
    .where('lease_owner', 'is not', null).executeTakeFirst()
  return Number(result.numUpdatedRows)
}

export async function findPendingDelivery (db: Executor, accountId: number, subscriptionId: number): Promise<WebhookDeliveryRow | undefined> {
  return await db.selectFrom('webhook_deliveries').selectAll()
    .where('account_id', '=', accountId).where('subscription_id', '=', subscriptionId).where('status', '=', 'PENDING')
    .executeTakeFirst()
}

export async function insertDelivery (db: Executor, accountId: number, subscriptionId: number, eventIds: number[], body: string): Promise<WebhookDeliveryRow> {
  return await db.insertInto('webhook_deliveries').values({
    account_id: accountId, subscription_id: subscriptionId, status: 'PENDING', event_ids: eventIds, body
  }).returningAll().executeTakeFirstOrThrow()
}

export interface AttemptOutcome {
  status: 'PENDING' | 'SUCCEEDED' | 'FAILED'
  statusCode: number | null
  error: string | null
  nextAttemptAt: Date
}

/** Records one attempt of a pending delivery (a success keeps the last error for the log). */
export async function recordAttempt (db: Executor, accountId: number, subscriptionId: number, id: number, outcome: AttemptOutcome): Promise<void> {
  await db.updateTable('webhook_deliveries')
    .set((eb) => ({
      status: outcome.status,
      attempts: eb('attempts', '+', 1),
      last_status_code: outcome.statusCode,
      // the last error stays visible after a later success
      last_error: outcome.error === null ? eb.ref('last_error') : outcome.error,
      last_attempt_at: sql<Date>`now()`,
      next_attempt_at: outcome.nextAttemptAt,
      delivered_at: outcome.status === 'SUCCEEDED' ? sql<Date>`now()` : null
    }))
    .where('account_id', '=', accountId).where('subscription_id', '=', subscriptionId).where('id', '=', id).where('status', '=', 'PENDING')
    .execute()
}

/** A page of a subscription's delivery log, newest first (ids below `beforeId`). */
export async function listDeliveries (db: Executor, accountId: number, subscriptionId: number, beforeId: number | undefined, limit: number): Promise<WebhookDeliveryRow[]> {
  let q = db.selectFrom('webhook_deliveries').selectAll().where('account_id', '=', accountId).where('subscription_id', '=', subscriptionId)
  if (beforeId !== undefined) q = q.where('id', '<', beforeId)
  return await q.orderBy('id', 'desc').limit(limit).execute()
}

/** Deletes up to `limit` finished deliveries older than `days` days; returns how many. */
export async function purgeDeliveries (db: Executor, days: number, limit: number): Promise<number> {
  const result = await sql`
    delete from webhook_deliveries where (account_id, subscription_id, id) in (
      select account_id, subscription_id, id from webhook_deliveries
      where status <> 'PENDING' and created_at < now() - ${days} * interval '1 day' limit ${limit})`.execute(db)
  return Number(result.numAffectedRows ?? 0)
}
