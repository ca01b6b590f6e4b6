// One error handler and one not-found handler: every failure becomes the HubSpot error body (API.md §2.9).
import fp from 'fastify-plugin'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { categoryOf, isDomainErrorCode, type ErrorCategory, type ErrorContext, type ErrorDetails } from '../errors.js'
import { isTransientDatabaseError, sqlState } from '../db/pg-errors.js'
import type { ErrorBody } from '../schemas/common.schemas.js'

export function errorBody (request: FastifyRequest, message: string, category: string, details: ErrorDetails = {}): ErrorBody {
  return {
    status: 'error',
    message,
    correlationId: request.id,
    category,
    ...(details.subCategory !== undefined ? { subCategory: details.subCategory } : {}),
    ...(details.context !== undefined ? { context: details.context } : {})
  }
}

function validationContext (error: FastifyError): ErrorContext | undefined {
  if (error.validation === undefined) return undefined
  const context: ErrorContext = {}
  for (const v of error.validation) {
    const where = `${error.validationContext ?? 'input'}${v.instancePath.replaceAll('/', '.')}`
    const missing = (v.params as { missingProperty?: string }).missingProperty
    const additional = (v.params as { additionalProperty?: string }).additionalProperty
    const field = missing !== undefined ? `${where}.${missing}` : additional !== undefined ? `${where}.${additional}` : where
    ;(context[field] ??= []).push(v.message ?? 'is invalid')
  }
  return context
}

/** SQLSTATE class 22 (data exception: NUL characters, invalid encodings, out-of-range numbers) is caused by the values sent. */
function isDataException (error: unknown): boolean {
  return sqlState(error)?.startsWith('22') === true
}

const DATA_EXCEPTION_MESSAGE = 'Invalid input: a value cannot be stored (for example, it contains a NUL character or is out of range)'

function statusAndCategory (error: FastifyError): { status: number, category: ErrorCategory } {
  if (isDomainErrorCode(error.code)) return { status: error.statusCode ?? 500, category: categoryOf(error.code) }
  if (isTransientDatabaseError(error)) return { status: 503, category: 'SERVICE_UNAVAILABLE' }
  // Last line of defence: bad input that reached the database is still a 400, with our words, never the SQL message.
  if (isDataException(error)) return { status: 400, category: 'VALIDATION_ERROR' }
  const status = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500
  if (status === 429) return { status, category: 'RATE_LIMITS' }
  if (status === 503) return { status, category: 'SERVICE_UNAVAILABLE' }
  return { status, category: status < 500 ? 'VALIDATION_ERROR' : 'INTERNAL_ERROR' }
}

const JSON_CONTENT_TYPE = 'application/json;charset=utf-8'

/**
 * Errors Fastify raises before routing (a malformed percent-encoding, a path parameter past maxParamLength): pass as
 * the `frameworkErrors` server option, so they too get the HubSpot body and the correlation id.
 */
export function frameworkErrors (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const status = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400
  const path = (request.raw.url ?? '').split('?')[0] ?? ''
  const message = error.code === 'FST_ERR_MAX_PARAM_LENGTH'
    ? `A path segment is too long: ${path.slice(0, 200)}`
    : `The path is not a valid URL (bad percent-encoding): ${path.slice(0, 200)}`
  reply.status(status)
    .header('x-hubspot-correlation-id', request.id)
    .header('content-type', JSON_CONTENT_TYPE)
    .send(JSON.stringify(errorBody(request, message, 'VALIDATION_ERROR')))
}

export default fp(async (app) => {
  // Bodies are JSON only: without Fastify's default text/plain parser, such a body is a 415 like any other non-JSON type.
  app.removeContentTypeParser('text/plain')

  app.setErrorHandler(async (error: FastifyError & ErrorDetails, request: FastifyRequest, reply: FastifyReply) => {
    const { status, category } = statusAndCategory(error)
    if (status >= 500) {
      request.log.error({ err: error, method: request.method, url: request.url, params: request.params }, 'request failed')
    } else if (isDataException(error)) {
      request.log.warn({ err: error, method: request.method, url: request.url }, 'database refused an input value')
    } else {
      request.log.info({ code: error.code, message: error.message, status }, 'request rejected')
    }
    if (status === 503) reply.header('retry-after', '5')
    // 5xx bodies never carry internals (stack, SQL): only a generic message and the correlation id.
    const message = status >= 500
      ? (status === 503 ? 'The service is temporarily unavailable; retry later' : 'Internal error; quote the correlationId when reporting it')
      : error.validation !== undefined
        ? `Invalid input: ${error.message}`
        : isDataException(error) ? DATA_EXCEPTION_MESSAGE : error.message
    const context = error.context ?? validationContext(error)
    return await reply.status(status).send(errorBody(request, message, category, { subCategory: error.subCategory, context }))
  })

  app.setNotFoundHandler(async (request, reply) => {
    const path = request.url.split('?')[0] ?? ''
    return await reply.status(404).send(errorBody(request, `Unable to find route: ${request.method} ${path.slice(0, 200)}`, 'OBJECT_NOT_FOUND', {
      subCategory: 'ROUTE_NOT_FOUND'
    }))
  })
}, { name: 'error-handler' })
