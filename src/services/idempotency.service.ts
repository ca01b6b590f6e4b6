// Idempotency-Key (README "Safe retries"): what a retried write gets, the claim made inside the request's first write
// transaction, the answer stored before it is sent, and the periodic purge of expired keys.
import type { Kysely, Transaction } from 'kysely'
import type { Config } from '../config.js'
import type { Database } from '../db/schema.js'
import * as repo from '../repositories/idempotency.repository.js'
import type { StoredAnswer } from '../repositories/idempotency.repository.js'
import { IdempotencyConflictError, IdempotencyKeyReusedError, withDetails } from '../errors.js'
import type { PurgeLog } from './events.service.js'
import { periodicTask, type PeriodicTask } from '../lib/periodic-task.js'

export type { StoredAnswer }
export interface Replay { status: number, body: string, contentType: string | null }

/** A claim without an answer this old is a process that died between commit and store, not a request in flight. */
export const ANSWER_LOST_AFTER_MS = 120_000
const PURGE_CHUNK = 1000

export const IN_PROGRESS = 'IDEMPOTENCY_KEY_IN_PROGRESS'

function conflict (subCategory: string, message: string, key: string): Error {
  return withDetails(new IdempotencyConflictError(message), { subCategory, context: { idempotencyKey: [key] } })
}

function inProgress (key: string): Error {
  return conflict(IN_PROGRESS, 'A request with this Idempotency-Key is in progress; retry after it has finished', key)
}

export function createIdempotencyService (db: Kysely<Database>, config: Pick<Config, 'IDEMPOTENCY_TTL_HOURS' | 'IDEMPOTENCY_PURGE_INTERVAL_MS'>) {
  let purgeTask: PeriodicTask | undefined

  async function purgeExpired (): Promise<number> {
    let total = 0
    // Chunks, so the single PGlite connection is never held for long.
    for (let n = PURGE_CHUNK; n === PURGE_CHUNK; total += n) n = await repo.purgeExpired(db, PURGE_CHUNK)
    return total
  }

  return {
    /**
     * What a request carrying `key` gets before any work: null (go ahead), or the first answer to replay. Another
     * request under the key is a 422; a claim without an answer is a 409 (in progress, or answer lost).
     */
    async check (accountId: number, key: string, fingerprint: string): Promise<Replay | null> {
      const row = await repo.findKey(db, accountId, key)
      if (row === undefined) return null
      if (row.fingerprint !== fingerprint) {
        throw withDetails(new IdempotencyKeyReusedError('This Idempotency-Key was already used with another request (method, URL or body); use a new key for a new request'), {
          subCategory: 'IDEMPOTENCY_KEY_REUSED', context: { idempotencyKey: [key] }
        })
      }
      if (row.status === null) {
        if (row.age_ms < ANSWER_LOST_AFTER_MS) throw inProgress(key)
        throw conflict('IDEMPOTENCY_ANSWER_LOST', 'The request with this Idempotency-Key was carried out, but its answer was lost before it could be stored; ' +
          'it will not be carried out again. Read the data to see its effect', key)
      }
      if (row.body_withheld) {
        throw conflict('IDEMPOTENCY_ANSWER_WITHHELD', `The request with this Idempotency-Key was already answered with status ${row.status}; that answer held a secret (an API ` +
          'key or a webhook signing secret), which is never stored, so it cannot be sent again. List the keys, accounts or subscriptions to find what was created', key)
      }
      return { status: row.status, body: row.response_body ?? '', contentType: row.content_type }
    },

    /** Claims the key inside the request's first write transaction; a claim held by a concurrent request is a 409. */
    async claim (trx: Transaction<Database>, accountId: number, key: string, fingerprint: string): Promise<void> {
      if (!await repo.insertClaim(trx, accountId, key, fingerprint, config.IDEMPOTENCY_TTL_HOURS)) throw inProgress(key)
    },

    async store (accountId: number, key: string, answer: StoredAnswer): Promise<void> {
      await repo.storeAnswer(db, accountId, key, answer)
    },

    purgeExpired,

    /** Starts the periodic purge (on app ready); a failed run is logged and retried at the next tick. */
    startPurge (log: PurgeLog): void {
      purgeTask ??= periodicTask(async () => {
        await purgeExpired()
          .then((n) => { if (n > 0) log.info({ keys: n }, 'purged expired idempotency keys') })
          .catch((err: unknown) => { log.warn({ err }, 'idempotency key purge failed') })
      }, config.IDEMPOTENCY_PURGE_INTERVAL_MS)
      purgeTask.start()
    },

    async stopPurge (): Promise<void> {
      await purgeTask?.stop()
    }
  }
}

export type IdempotencyService = ReturnType<typeof createIdempotencyService>
