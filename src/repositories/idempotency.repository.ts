// SQL for Idempotency-Key claims and the answers they replay (migration 0013).
import { sql } from 'kysely'
import type { Executor } from '../db/executor.js'
import type { IdempotencyKeyRow } from '../db/schema.js'

export interface StoredAnswer { status: number, body: string | null, contentType: string | null, withheld: boolean }

/**
 * The key's row with its age by the database clock (one clock for every instance), unless it has expired (an expired
 * row is replaced by the next claim and purged later).
 */
export async function findKey (db: Executor, accountId: number, key: string): Promise<(IdempotencyKeyRow & { age_ms: number }) | undefined> {
  return await db.selectFrom('idempotency_keys').selectAll()
    .select(sql<number>`(extract(epoch from now() - created_at) * 1000)::float8`.as('age_ms'))
    .where('account_id', '=', accountId).where('key', '=', key).where('expires_at', '>', sql<Date>`now()`)
    .executeTakeFirst()
}

/**
 * Claims the key for this request; false when a live claim exists (committed, or in a transaction that commits first:
 * the insert waits for it). An expired row is taken over.
 */
export async function insertClaim (db: Executor, accountId: number, key: string, fingerprint: string, ttlHours: number): Promise<boolean> {
  const expires = sql<Date>`now() + ${ttlHours} * interval '1 hour'`
  const row = await db.insertInto('idempotency_keys')
    .values({ account_id: accountId, key, fingerprint, expires_at: expires })
    .onConflict((oc) => oc.columns(['account_id', 'key']).doUpdateSet({
      fingerprint, status: null, response_body: null, content_type: null, body_withheld: false, created_at: sql<Date>`now()`, expires_at: expires
    }).where('idempotency_keys.expires_at', '<=', sql<Date>`now()`))
    .returning('key')
    .executeTakeFirst()
  return row !== undefined
}

export async function storeAnswer (db: Executor, accountId: number, key: string, answer: StoredAnswer): Promise<void> {
  await db.updateTable('idempotency_keys')
    .set({ status: answer.status, response_body: answer.body, content_type: answer.contentType, body_withheld: answer.withheld })
    .where('account_id', '=', accountId).where('key', '=', key)
    .execute()
}

/** Deletes up to `limit` expired rows; returns how many. */
export async function purgeExpired (db: Executor, limit: number): Promise<number> {
  const result = await sql`
    delete from idempotency_keys where (account_id, key) in (
      select account_id, key from idempotency_keys where expires_at <= now() limit ${limit})`.execute(db)
  return Number(result.numAffectedRows ?? 0)
}
