// The webhook worker: in-process, started with the app and stopped on close, like the import runner (same lease
// pattern). It reads the events table itself (the outbox) from each subscription's cursor; no queue library, so it
// runs on PGlite as well as on PostgreSQL, and several processes share the work through leases.
//
// For one subscription at a time (its lease, FOR UPDATE SKIP LOCKED, renewed by a heartbeat):
//   1. short transaction: lock the subscription; if it has a PENDING delivery, take it; otherwise read up to
//      WEBHOOK_BATCH_SIZE finished events past its cursor, store them as a new PENDING delivery (the exact body) and
//      move the cursor past them, in the same transaction;
//   2. no transaction: POST the body, signed, with a DELIVERY_TIMEOUT_MS timeout;
//   3. short transaction: record the attempt. 2xx: SUCCEEDED, go on with the next batch. Otherwise the delivery stays
//      PENDING with its next attempt after an exponential backoff (WEBHOOK_RETRY_BASE_MS doubling, with jitter, at most
//      WEBHOOK_RETRY_MAX_MS) and the subscription waits until then: its next batch is never sent before this one
//      succeeds. A delivery still failing WEBHOOK_RETRY_FOR_MS (24 h) after it was made is FAILED and the next batch goes.
// At least once: a worker that stops or dies between sending and recording leaves the delivery PENDING, and the next
// worker sends the same body (same event ids) again. On close, a POST in flight is aborted and the lease given back.
import { createHmac, randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import type { Kysely } from 'kysely'
import type { Config } from '../config.js'
import type { Database, WebhookDeliveryRow, WebhookSubscriptionRow } from '../db/schema.js'
import { inTransaction } from '../db/transaction.js'
import * as repo from '../repositories/webhooks.repository.js'
import { readFeed } from '../repositories/events.repository.js'
import { toEvent } from './events.service.js'
import type { RunnerLog } from './import-runner.js'
import type { WebhookBody } from '../schemas/webhooks.schemas.js'

export type DispatcherConfig = Pick<Config, 'WEBHOOK_BATCH_SIZE' | 'WEBHOOK_CONCURRENCY' | 'WEBHOOK_POLL_MS' | 'DELIVERY_TIMEOUT_MS' |
'WEBHOOK_RETRY_BASE_MS' | 'WEBHOOK_RETRY_MAX_MS' | 'WEBHOOK_RETRY_FOR_MS' | 'WEBHOOK_LEASE_MS'>

export interface DispatcherOptions {
  log: RunnerLog
  /** PGlite: expire every lease at start (no other process can hold one). */
  singleProcess?: boolean
}

/** Batches of events scanned past non-matching kinds before the worker lets others use the connection. */
const MAX_EMPTY_SCANS = 10
const MAX_ERROR = 500

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`: what X-Signature carries. */
export function signature (secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex')
  return `t=${unixSeconds},v1=${mac}`
}

/** Delay before attempt `attempts + 1`: base * 2^(attempts - 1), capped, with "equal jitter" (half fixed, half random). */
export function backoffMs (attempts: number, baseMs: number, maxMs: number, random = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.min(attempts - 1, 40))
  return Math.round(exp / 2 + random() * exp / 2)
}

interface Control { stop: boolean, lost: boolean, abort: AbortController }

type SendResult = { ok: true, statusCode: number } | { ok: false, statusCode: number | null, error: string }

export function createWebhookDispatcher (db: Kysely<Database>, config: DispatcherConfig, options: DispatcherOptions) {
  const { log } = options
  const owner = `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`
  // A lease outlives the longest POST by a margin, so a live worker never loses it mid-request.
  const leaseMs = Math.max(config.WEBHOOK_LEASE_MS, config.DELIVERY_TIMEOUT_MS * 2)
  const running = new Map<string, { control: Control, done: Promise<void> }>()
  let stopped = true
  let claiming: Promise<void> | null = null
  let timers: NodeJS.Timeout[] = []

  const keyOf = (s: { account_id: number, id: number }): string => `${s.account_id}/${s.id}`

  /** Step 1: the pending delivery, or a new one from the feed; undefined when there is nothing to send (or the lease is lost). */
  async function nextDelivery (sub: WebhookSubscriptionRow, control: Control): Promise<WebhookDeliveryRow | undefined> {
    for (let scans = 0; scans < MAX_EMPTY_SCANS; scans++) {
      const outcome = await inTransaction(db, async (trx) => {
        const held = await repo.lockHeldSubscription(trx, sub.account_id, sub.id, owner)
        if (held === undefined) return 'lost' as const
        const pending = await repo.findPendingDelivery(trx, sub.account_id, sub.id)
        if (pending !== undefined) return pending
        const { rows, scanned } = await readFeed(trx, sub.account_id, held.cursor, config.WEBHOOK_BATCH_SIZE, held.eventKinds)
        if (scanned === undefined) return 'idle' as const
        await repo.moveCursor(trx, sub.account_id, sub.id, scanned)
        if (rows.length === 0) return 'skipped' as const
        const body: WebhookBody = { subscriptionId: String(sub.id), events: rows.map(toEvent) }
        return await repo.insertDelivery(trx, sub.account_id, sub.id, rows.map((r) => r.id), JSON.stringify(body))
      })
      if (outcome === 'lost') { control.lost = true; return undefined }
      if (outcome === 'idle') return undefined
      if (outcome !== 'skipped') return outcome
      if (control.stop) return undefined
    }
    return undefined
  }

  /** Step 2: one POST, never inside a transaction. */
  async function send (sub: WebhookSubscriptionRow, delivery: WebhookDeliveryRow, control: Control): Promise<SendResult> {
    const now = Math.floor(Date.now() / 1000)
    try {
      const res = await fetch(sub.target_url, {
        method: 'POST',
        redirect: 'manual',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'associations-api-webhooks/1',
          'x-signature': signature(sub.secret, delivery.body, now),
          'x-webhook-subscription-id': String(sub.id),
          'x-webhook-delivery-id': String(delivery.id),
          'x-webhook-attempt': String(delivery.attempts + 1)
        },
        body: delivery.body,
        signal: AbortSignal.any([AbortSignal.timeout(config.DELIVERY_TIMEOUT_MS), control.abort.signal])
      })
      await res.body?.cancel().catch(() => {})
      if (res.status >= 200 && res.status < 300) return { ok: true, statusCode: res.status }
      return { ok: false, statusCode: res.status, error: `HTTP ${res.status}` }
    } catch (err) {
      const e = err as Error & { cause?: { code?: string, message?: string } }
      const reason = e.name === 'TimeoutError' ? `timeout after ${config.DELIVERY_TIMEOUT_MS} ms` : `${e.cause?.code ?? e.name}: ${e.cause?.message ?? e.message}`
      return { ok: false, statusCode: null, error: reason.slice(0, MAX_ERROR) }
    }
  }

  /** Delivers for one subscription until it is idle, must wait for a retry, or the worker stops. */
  async function serve (sub: WebhookSubscriptionRow, control: Control): Promise<void> {
    let retryAt: Date | undefined
    while (!control.stop && !control.lost) {
      const delivery = await nextDelivery(sub, control)
      if (delivery === undefined) break
      if (delivery.next_attempt_at.getTime() > Date.now()) { retryAt = delivery.next_attempt_at; break }
      const result = await send(sub, delivery, control)
      // Stopped mid-POST: not an attempt of record. The delivery stays PENDING and is sent again (same events).
      if (control.stop || control.lost) break
      const outcome = result.ok
        ? { status: 'SUCCEEDED' as const, statusCode: result.statusCode, error: null, nextAttemptAt: new Date() }
        : failure(delivery, result)
      const recorded = await inTransaction(db, async (trx) => {
        if (await repo.lockHeldSubscription(trx, sub.account_id, sub.id, owner) === undefined) return false
        await repo.recordAttempt(trx, sub.account_id, sub.id, delivery.id, outcome)
        return true
      })
      if (!recorded) { control.lost = true; break }
      if (!result.ok) log.warn({ subscriptionId: sub.id, deliveryId: delivery.id, attempt: delivery.attempts + 1, error: result.error, status: outcome.status }, 'webhook delivery failed')
      if (outcome.status === 'PENDING') { retryAt = outcome.nextAttemptAt; break }
    }
    if (!control.lost) await repo.releaseSubscription(db, sub.account_id, sub.id, owner, retryAt)
  }

  function failure (delivery: WebhookDeliveryRow, result: Extract<SendResult, { ok: false }>): repo.AttemptOutcome {
    const attempts = delivery.attempts + 1
    const giveUp = Date.now() - delivery.created_at.getTime() >= config.WEBHOOK_RETRY_FOR_MS
    const nextAttemptAt = new Date(Date.now() + (giveUp ? 0 : backoffMs(attempts, config.WEBHOOK_RETRY_BASE_MS, config.WEBHOOK_RETRY_MAX_MS)))
    return { status: giveUp ? 'FAILED' : 'PENDING', statusCode: result.statusCode, error: result.error, nextAttemptAt }
  }

  // PGlite: leases left by a previous run are dead; expired on the first claim that reaches the database (not in
  // start, so that a database that is down at start does not stop the app from becoming ready).
  let leasesChecked = options.singleProcess !== true

  async function claimAll (): Promise<void> {
    if (!leasesChecked) {
      await repo.expireAllLeases(db)
      leasesChecked = true
    }
    for (;;) {
      if (stopped || running.size >= config.WEBHOOK_CONCURRENCY) return
      const sub = await repo.claimSubscription(db, owner, leaseMs)
      if (sub === undefined) return
      if (stopped) { await repo.releaseSubscription(db, sub.account_id, sub.id, owner); return }
      const control: Control = { stop: false, lost: false, abort: new AbortController() }
      const done = serve(sub, control)
        .catch((err: unknown) => { log.error({ err, subscriptionId: sub.id }, 'webhook worker error') })
        .finally(() => { running.delete(keyOf(sub)) })
      running.set(keyOf(sub), { control, done })
    }
  }

  function wake (): void {
    if (stopped || claiming !== null) return
    claiming = claimAll()
      .catch((err: unknown) => { log.warn({ err }, 'webhook worker could not claim work') })
      .finally(() => { claiming = null })
  }

  async function heartbeat (): Promise<void> {
    if (running.size === 0) return
    const held = new Set((await repo.renewLeases(db, owner, leaseMs)).map(keyOf))
    for (const [key, job] of running) {
      if (!held.has(key)) { job.control.lost = true; job.control.stop = true; job.control.abort.abort() }
    }
  }

  return {
    async start (): Promise<void> {
      if (!stopped) return
      stopped = false
      timers = [
        setInterval(wake, config.WEBHOOK_POLL_MS).unref(),
        setInterval(() => { heartbeat().catch((err: unknown) => { log.warn({ err }, 'webhook lease renewal failed') }) }, Math.max(Math.floor(leaseMs / 3), 50)).unref()
      ]
      wake()
    },

    /** Stops claiming, aborts POSTs in flight, and gives the leases back (their deliveries stay PENDING). */
    async stop (): Promise<void> {
      stopped = true
      for (const t of timers) clearInterval(t)
      for (const job of running.values()) { job.control.stop = true; job.control.abort.abort() }
      await claiming
      await Promise.all([...running.values()].map(async (j) => await j.done))
    },

    /** Looks for work now. */
    wake,
    active: () => running.size
  }
}

export type WebhookDispatcher = ReturnType<typeof createWebhookDispatcher>
