// Runs a unit of work in one transaction, retrying it when PostgreSQL reports a deadlock or serialization failure.
import { AsyncLocalStorage } from 'node:async_hooks'
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

/**
 * Work a request needs done inside its first write transaction (the Idempotency-Key claim): `begin` runs first in
 * every transaction until one commits, then `committed` is called. Reached through AsyncLocalStorage, so services
 * stay unaware of it, and a rolled-back write leaves no trace of it.
 */
export interface TransactionHook {
  begin: (trx: Transaction<Database>) => Promise<void>
  committed: () => void
}
const transactionHooks = new AsyncLocalStorage<TransactionHook>()

/** Runs `fn` (and everything it calls, synchronously or not) with `hook` applied to its transactions. */
export function withTransactionHook<T> (hook: TransactionHook, fn: () => T): T {
  return transactionHooks.run(hook, fn)
}

export async function inTransaction<T> (db: Kysely<Database>, work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      const hook = transactionHooks.getStore()
      if (hook === undefined) return await db.transaction().execute(work)
      const result = await db.transaction().execute(async (trx) => {
        await hook.begin(trx)
        return await work(trx)
      })
      hook.committed()
      return result
    } catch (err) {
      const state = sqlState(err)
      if (attempt >= RETRIES || (state !== DEADLOCK_DETECTED && state !== SERIALIZATION_FAILURE)) throw err
      retryListeners.get(db)?.(state === DEADLOCK_DETECTED ? 'deadlock' : 'serialization_failure')
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt))
    }
  }
}
