// Opaque keyset cursors for `after`: base64url of a versioned JSON key. A cursor that does not decode is a 400.
import { InvalidInputError, withDetails } from '../errors.js'

export function encodeCursor (key: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify({ v: 1, ...key }), 'utf8').toString('base64url')
}

/** Decodes a cursor made by `encodeCursor` and checks that each named field is a safe non-negative integer. */
export function decodeCursor<K extends string> (after: string, fields: readonly K[]): Record<K, number> {
  const invalid = (): Error => withDetails(new InvalidInputError(`Invalid paging cursor 'after': ${after.slice(0, 100)}`), {
    context: { after: [after.slice(0, 100)] }
  })
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.from(after, 'base64url').toString('utf8'))
  } catch {
    throw invalid()
  }
  if (typeof parsed !== 'object' || parsed === null || (parsed as { v?: unknown }).v !== 1) throw invalid()
  const out = {} as Record<K, number>
  for (const field of fields) {
    const value = (parsed as Record<string, unknown>)[field]
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw invalid()
    out[field] = value
  }
  return out
}
