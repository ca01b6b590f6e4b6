// Runs a unit of work in one transaction, retrying it when PostgreSQL reports a deadlock or serialization failure.
import type { Kysely, Transaction } from 'kysely'
import type { Database } from './schema.js'
import { DEADLOCK_DETECTED, SERIALIZATION_FAILURE, sqlState } from './pg-errors.js'

const RETRIES = 4

export async function inTransaction<T> (db: Kysely<Database>, work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().execute(work)
    } catch (err) {
      const state = sqlState(err)
      if (attempt >= RETRIES || (state !== DEADLOCK_DETECTED && state !== SERIALIZATION_FAILURE)) throw err
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt))
    }
  }
}
