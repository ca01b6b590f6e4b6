// Every domain error, with its HTTP status and HubSpot error category (API.md §2.9).
import createError from '@fastify/error'

export type ErrorCategory =
  | 'VALIDATION_ERROR'
  | 'OBJECT_NOT_FOUND'
  | 'CONFLICT'
  | 'LIMITS_ERROR'
  | 'MISSING_SCOPES'
  | 'INVALID_AUTHENTICATION'
  | 'RATE_LIMITS'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL_ERROR'

export type ErrorContext = Record<string, string[]>

/** Extra HubSpot fields a domain error may carry; set by `withDetails`. */
export interface ErrorDetails {
  context?: ErrorContext
  subCategory?: string
}

export const InvalidInputError = createError('ASSOC_INVALID_INPUT', '%s', 400)
export const UnknownObjectTypeError = createError('ASSOC_UNKNOWN_OBJECT_TYPE', 'Unable to infer object type from: %s', 400)
export const ObjectNotFoundError = createError('ASSOC_OBJECT_NOT_FOUND', '%s', 404)
export const ConflictError = createError('ASSOC_CONFLICT', '%s', 409)
export const LimitExceededError = createError('ASSOC_LIMIT_EXCEEDED', '%s', 400)
export const UnauthenticatedError = createError('ASSOC_UNAUTHENTICATED', '%s', 401)
export const MissingScopesError = createError('ASSOC_MISSING_SCOPES', 'This API key does not have the required scope: %s', 403)
export const IdempotencyKeyInvalidError = createError('ASSOC_IDEMPOTENCY_KEY_INVALID', '%s', 400)
export const IdempotencyKeyReusedError = createError('ASSOC_IDEMPOTENCY_KEY_REUSED', '%s', 422)
/** A retry that cannot be answered now or ever (in progress, answer lost or withheld); subCategory says which. */
export const IdempotencyConflictError = createError('ASSOC_IDEMPOTENCY_CONFLICT', '%s', 409)

const categories = {
  ASSOC_INVALID_INPUT: 'VALIDATION_ERROR',
  ASSOC_UNKNOWN_OBJECT_TYPE: 'VALIDATION_ERROR',
  ASSOC_OBJECT_NOT_FOUND: 'OBJECT_NOT_FOUND',
  ASSOC_CONFLICT: 'CONFLICT',
  ASSOC_LIMIT_EXCEEDED: 'LIMITS_ERROR',
  ASSOC_UNAUTHENTICATED: 'INVALID_AUTHENTICATION',
  ASSOC_MISSING_SCOPES: 'MISSING_SCOPES',
  ASSOC_IDEMPOTENCY_KEY_INVALID: 'VALIDATION_ERROR',
  ASSOC_IDEMPOTENCY_KEY_REUSED: 'VALIDATION_ERROR',
  ASSOC_IDEMPOTENCY_CONFLICT: 'CONFLICT'
} as const satisfies Record<string, ErrorCategory>

export type DomainErrorCode = keyof typeof categories

export function isDomainErrorCode (code: unknown): code is DomainErrorCode {
  return typeof code === 'string' && Object.hasOwn(categories, code)
}

export function categoryOf (code: DomainErrorCode): ErrorCategory {
  return categories[code]
}

/** Attaches HubSpot `context` / `subCategory` to an error and returns it, for `throw withDetails(new X(...), {...})`. */
export function withDetails<E extends Error> (error: E, details: ErrorDetails): E & ErrorDetails {
  return Object.assign(error, details)
}
