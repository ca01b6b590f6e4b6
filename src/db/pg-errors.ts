// SQLSTATE codes the repositories translate into domain errors.
export const UNIQUE_VIOLATION = '23505'
export const FOREIGN_KEY_VIOLATION = '23503'
export const SERIALIZATION_FAILURE = '40001'
export const DEADLOCK_DETECTED = '40P01'

export function sqlState (error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined
}

/**
 * Errors that mean the database could not be reached, as opposed to a bad query: class 08 (connection exception),
 * 57P01/57P02/57P03 (admin shutdown, crash shutdown, cannot connect now), socket errors, the pool's connect timeout,
 * and a client the pool handed out whose connection had died.
 */
export function isConnectionError (error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code === 'string' && (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03')) return true
  const message = error instanceof Error ? error.message : ''
  return ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE'].includes(String(code)) ||
    /timeout exceeded when trying to connect|Connection terminated|connect ECONNREFUSED|not queryable|terminating connection/i.test(message)
}

/**
 * Errors a client should retry later: connection errors, and deadlocks or serialization failures still failing after
 * the transaction's own retries (inTransaction). The error handler answers them 503 with Retry-After, never 500.
 */
export function isTransientDatabaseError (error: unknown): boolean {
  const state = sqlState(error)
  return isConnectionError(error) || state === SERIALIZATION_FAILURE || state === DEADLOCK_DETECTED
}
