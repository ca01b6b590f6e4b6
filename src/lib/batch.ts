// Runs per-input work for batch endpoints and shapes HubSpot's batch envelope: failed inputs become StandardError
// entries (never a thrown error), and the status is 201/200 when all succeed, 207 when some fail.
import { categoryOf, isDomainErrorCode, type ErrorDetails } from '../errors.js'

export interface StandardError {
  status: 'error'
  category: string
  subCategory?: string
  message: string
  context: Record<string, string[]>
  links: Record<string, string>
  errors: Array<{ message: string }>
}

export interface BatchOutcome<R> {
  status: 'COMPLETE'
  results: R[]
  numErrors?: number
  errors?: StandardError[]
  startedAt: string
  completedAt: string
}

/** Turns a domain error into a batch entry; anything else is rethrown (a real failure, not an input's fault). */
export function toStandardError (err: unknown, inputContext: Record<string, string[]> = {}): StandardError {
  const e = err as Error & ErrorDetails & { code?: string }
  if (!isDomainErrorCode(e.code)) throw err
  return {
    status: 'error',
    category: categoryOf(e.code),
    ...(e.subCategory !== undefined ? { subCategory: e.subCategory } : {}),
    message: e.message,
    context: { ...inputContext, ...(e.context ?? {}) },
    links: {},
    errors: []
  }
}

export async function runBatch<I, R> (inputs: I[], work: (input: I) => Promise<R>, contextOf: (input: I) => Record<string, string[]> = () => ({})): Promise<BatchOutcome<R>> {
  const startedAt = new Date().toISOString()
  const results: R[] = []
  const errors: StandardError[] = []
  for (const input of inputs) {
    try {
      results.push(await work(input))
    } catch (err) {
      errors.push(toStandardError(err, contextOf(input)))
    }
  }
  return {
    status: 'COMPLETE',
    results,
    ...(errors.length > 0 ? { numErrors: errors.length, errors } : {}),
    startedAt,
    completedAt: new Date().toISOString()
  }
}

/** HubSpot's batch status: the success code when every input succeeded, 207 (multi-status) when some failed. */
export function batchStatus (outcome: { numErrors?: number }, allSucceeded: 200 | 201): 200 | 201 | 207 {
  return outcome.numErrors === undefined ? allSucceeded : 207
}
