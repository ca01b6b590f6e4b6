// Runs a unit of work in one transaction, retrying it when PostgreSQL reports a deadlock or serialization failure.
import type { Kysely, Transaction } from 'kysely'
import type { Database } from './schema.js'
import { DEADLOCK_DETECTED, SERIALIZATION_FAILURE, sqlState } from './pg-errors.js'

const RETRIES = 4

/** Called on every retry of a transaction on one database (metrics); one listener per Kysely instance, no global state. */
export type RetryListener = (reason: 'deadlock' | 'serialization_failure') => void
const retryListeners = new WeakMap<Kysely<any>, RetryListener>()

/** Registers `listener` for retries of transactions run by `inTransaction` on `db`. */
export function onTransactionRetry (db: Kysely<any>, listener: RetryListener): void {
  retryListeners.set(db, listener)
}

export async function inTransaction<T> (db: Kysely<Database>, work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().execute(work)
    } catch (err) {
      const state = sqlState(err)
      if (attempt >= RETRIES || (state !== DEADLOCK_DETECTED && state !== SERIALIZATION_FAILURE)) throw err
      retryListeners.get(db)?.(state === DEADLOCK_DETECTED ? 'deadlock' : 'serialization_failure')
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt))
    }
  }
}
