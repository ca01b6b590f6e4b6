// Webhook subscriptions per account (POST/GET/DELETE /webhooks/v3/subscriptions) and their delivery log. Deliveries
// themselves are made by the dispatcher (webhook-dispatcher.ts).
import { randomBytes } from 'node:crypto'
import type { Kysely } from 'kysely'
import { inTransaction } from '../db/transaction.js'
import type { Database, WebhookDeliveryRow, WebhookSubscriptionRow } from '../db/schema.js'
import * as repo from '../repositories/webhooks.repository.js'
import { EVENT_KINDS } from '../repositories/events.repository.js'
import { decodeCursor, encodeCursor } from '../lib/paging.js'
import { InvalidInputError, ObjectNotFoundError, withDetails } from '../errors.js'
import type { DeliveryPage, NewSubscriptionInput, Subscription, SubscriptionWithSecret, WebhookDelivery } from '../schemas/webhooks.schemas.js'

export const MAX_SUBSCRIPTIONS_PER_ACCOUNT = 100

function toSubscription (row: WebhookSubscriptionRow): Subscription {
  return { id: String(row.id), targetUrl: row.target_url, eventKinds: row.event_kinds as Subscription['eventKinds'], createdAt: row.created_at.toISOString() }
}

function toDelivery (row: WebhookDeliveryRow): WebhookDelivery {
  return {
    id: String(row.id),
    status: row.status,
    eventIds: row.event_ids.map(String),
    attempts: row.attempts,
    lastStatusCode: row.last_status_code,
    lastError: row.last_error,
    nextAttemptAt: row.status === 'PENDING' ? row.next_attempt_at.toISOString() : null,
    createdAt: row.created_at.toISOString(),
    lastAttemptAt: row.last_attempt_at?.toISOString() ?? null,
    deliveredAt: row.delivered_at?.toISOString() ?? null
  }
}

/** An absolute http(s) URL without credentials; anything else is a 400 naming it. */
function checkTargetUrl (raw: string): string {
  let url: URL | undefined
  try { url = new URL(raw) } catch { url = undefined }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '' || url.username !== '' || url.password !== '') {
    throw withDetails(new InvalidInputError(`targetUrl must be an absolute http or https URL without credentials: ${raw.slice(0, 200)}`), {
      context: { targetUrl: [raw.slice(0, 200)] }
    })
  }
  return url.toString()
}

export function createWebhooksService (db: Kysely<Database>) {
  async function find (accountId: number, id: number): Promise<WebhookSubscriptionRow> {
    const row = await repo.findSubscription(db, accountId, id)
    if (row === undefined) throw withDetails(new ObjectNotFoundError(`No webhook subscription with ID ${id} exists`), { context: { id: [String(id)] } })
    return row
  }

  return {
    /** Creates a subscription; the answer carries the signing secret, the only time it is shown. */
    async create (accountId: number, input: NewSubscriptionInput): Promise<SubscriptionWithSecret> {
      const targetUrl = checkTargetUrl(input.targetUrl)
      const eventKinds = [...new Set(input.eventKinds ?? EVENT_KINDS)]
      if ((await repo.listSubscriptions(db, accountId)).length >= MAX_SUBSCRIPTIONS_PER_ACCOUNT) {
        throw withDetails(new InvalidInputError(`An account has at most ${MAX_SUBSCRIPTIONS_PER_ACCOUNT} webhook subscriptions`), { context: { limit: [String(MAX_SUBSCRIPTIONS_PER_ACCOUNT)] } })
      }
      const secret = `whsec_${randomBytes(24).toString('base64url')}`
      const row = await inTransaction(db, async (trx) => await repo.insertSubscription(trx, { accountId, targetUrl, eventKinds, secret }))
      return { ...toSubscription(row), secret }
    },

    async list (accountId: number): Promise<{ results: Subscription[] }> {
      return { results: (await repo.listSubscriptions(db, accountId)).map(toSubscription) }
    },

    async get (accountId: number, id: number): Promise<Subscription> {
      return toSubscription(await find(accountId, id))
    },

    /** Deletes the subscription and its delivery log; a delivery in flight may still arrive once. */
    async remove (accountId: number, id: number): Promise<void> {
      if (!await inTransaction(db, async (trx) => await repo.deleteSubscription(trx, accountId, id))) {
        throw withDetails(new ObjectNotFoundError(`No webhook subscription with ID ${id} exists`), { context: { id: [String(id)] } })
      }
    },

    /** The delivery log, newest first, keyset-paged. */
    async deliveries (accountId: number, id: number, after: string | undefined, limit: number): Promise<DeliveryPage> {
      await find(accountId, id)
      const before = after === undefined ? undefined : decodeCursor(after, ['d']).d
      const rows = await repo.listDeliveries(db, accountId, id, before, limit + 1)
      const page = rows.slice(0, limit)
      const last = page.at(-1)
      return {
        results: page.map(toDelivery),
        ...(rows.length > limit && last !== undefined ? { paging: { next: { after: encodeCursor({ d: last.id }) } } } : {})
      }
    }
  }
}

export type WebhooksService = ReturnType<typeof createWebhooksService>
