// Idempotency-Key on writes (README "Safe retries"): a retry with the same key and request gets the first answer
// without the work being done again. Registered in the API scope after auth and rate limits (keys are per account).
// The claim is made inside the request's first write transaction (db/transaction.ts hook), so a rolled-back write
// leaves no key; the answer is stored just before it is sent.
import { createHash } from 'node:crypto'
import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Config } from '../config.js'
import { withTransactionHook } from '../db/transaction.js'
import { IdempotencyKeyInvalidError, withDetails } from '../errors.js'
import { createIdempotencyService, IN_PROGRESS, type StoredAnswer } from '../services/idempotency.service.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** 'status-only': the answer holds a secret (a new API key); a retry learns the status, never the body. */
    idempotency?: 'full' | 'status-only'
  }
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
const KEY_PATTERN = /^[\x20-\x7e]{1,255}$/

interface KeyState { accountId: number, key: string, fingerprint: string, claimed: boolean, open: boolean }

function keyOf (request: FastifyRequest): string | undefined {
  const value = request.headers['idempotency-key']
  if (value === undefined) return undefined
  if (typeof value !== 'string' || !KEY_PATTERN.test(value)) {
    throw withDetails(new IdempotencyKeyInvalidError('Idempotency-Key must be 1 to 255 printable ASCII characters'), { context: { idempotencyKey: ['is invalid'] } })
  }
  return value
}

/**
 * sha256 of method, URL and body. A multipart upload (imports) counts by method and URL only: its files are streamed
 * to storage, never buffered, and its boundary changes from one attempt to the next.
 */
function fingerprintOf (request: FastifyRequest): string {
  const multipart = /^multipart\//i.test(request.headers['content-type'] ?? '')
  const body = multipart || request.body === undefined ? '' : JSON.stringify(request.body)
  return createHash('sha256').update(`${request.method} ${request.url}\n${body}`).digest('hex')
}

function answerOf (request: FastifyRequest, reply: FastifyReply, payload: unknown): StoredAnswer {
  const status = reply.statusCode
  const type = reply.getHeader('content-type')
  const contentType = typeof type === 'string' ? type : null
  const text = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : payload == null ? '' : null
  // An error answer holds no secret; a success of a status-only route (or a streamed body) keeps its status only.
  if (text === null || (request.routeOptions.config.idempotency === 'status-only' && status < 400)) return { status, body: null, contentType: null, withheld: true }
  return { status, body: text, contentType, withheld: false }
}

/** The header, documented once as a component and referenced by every write operation of the OpenAPI document. */
export function documentIdempotencyKey<T extends object> (document: T): T {
  const doc = document as { paths?: Record<string, Record<string, { parameters?: unknown[] }>>, components?: Record<string, unknown> }
  const parameters = (doc.components?.parameters ?? {}) as Record<string, unknown>
  doc.components = {
    ...doc.components,
    parameters: {
      ...parameters,
      IdempotencyKey: {
        name: 'Idempotency-Key',
        in: 'header',
        required: false,
        schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x20-\\x7e]+$' },
        description: 'Safe retries (README "Safe retries"): a retry with the same key, method, URL and body within IDEMPOTENCY_TTL_HOURS (24 h) ' +
          'gets the first answer again, with `Idempotency-Replayed: true`, and the work is not done again. Keys are per account, 1-255 printable ' +
          'ASCII characters (else 400). The same key with another request: 422. While the first request is in flight: 409 ' +
          '`IDEMPOTENCY_KEY_IN_PROGRESS` with Retry-After; if its answer was lost (2 minutes without one): 409 `IDEMPOTENCY_ANSWER_LOST`, never redone. ' +
          'Answers holding a new secret (accounts, API keys, webhook subscriptions) are not stored: a retry gets 409 `IDEMPOTENCY_ANSWER_WITHHELD`. ' +
          'A request that writes nothing (or whose write rolls back) stores nothing. A multipart import upload counts by method and URL only.'
      }
    }
  }
  for (const operations of Object.values(doc.paths ?? {})) {
    for (const [method, operation] of Object.entries(operations)) {
      if (WRITE_METHODS.has(method.toUpperCase())) operation.parameters = [...(operation.parameters ?? []), { $ref: '#/components/parameters/IdempotencyKey' }]
    }
  }
  return document
}

function retryLater (reply: FastifyReply, err: unknown): unknown {
  if ((err as { subCategory?: unknown }).subCategory === IN_PROGRESS) reply.header('retry-after', '1')
  return err
}

export default fp<{ config: Config }>(async (app, { config }) => {
  const idempotency = createIdempotencyService(app.db, config)
  const states = new WeakMap<FastifyRequest, KeyState>()
  app.addHook('onReady', async () => { idempotency.startPurge(app.log.child({ component: 'idempotency-purge' })) })
  app.addHook('preClose', async () => { await idempotency.stopPurge() })

  // Callback style: the handler must run inside withTransactionHook (AsyncLocalStorage), which `done` continues into.
  app.addHook('preHandler', (request, reply, done) => {
    if (!WRITE_METHODS.has(request.method)) { done(); return }
    let key: string | undefined
    try { key = keyOf(request) } catch (err) { done(err as Error); return }
    if (key === undefined) { done(); return }
    const state: KeyState = { accountId: request.principal.accountId, key, fingerprint: fingerprintOf(request), claimed: false, open: true }
    idempotency.check(state.accountId, key, state.fingerprint).then((replay) => {
      if (replay !== null) {
        reply.status(replay.status).header('idempotency-replayed', 'true')
        if (replay.contentType !== null) reply.header('content-type', replay.contentType)
        reply.send(replay.body)
        return
      }
      states.set(request, state)
      withTransactionHook({
        begin: async (trx) => {
          // Once claimed (or once the answer is on its way), later transactions, background ones included, skip it.
          if (state.claimed || !state.open) return
          await idempotency.claim(trx, state.accountId, state.key, state.fingerprint).catch((err: unknown) => { throw retryLater(reply, err) })
        },
        committed: () => { if (state.open) state.claimed = true }
      }, done)
    }, (err: unknown) => { done(retryLater(reply, err) as Error) })
  })

  app.addHook('onSend', async (request, reply, payload) => {
    const state = states.get(request)
    if (state === undefined || !state.open) return payload
    state.open = false
    // No write transaction committed: nothing was done, so nothing is stored and a retry does the work.
    if (!state.claimed) return payload
    try {
      await idempotency.store(state.accountId, state.key, answerOf(request, reply, payload))
    } catch (err) {
      request.log.warn({ err }, 'idempotency answer not stored; a retry with this key will get 409 IDEMPOTENCY_ANSWER_LOST')
    }
    return payload
  })
}, { name: 'idempotency', dependencies: ['auth', 'db'] })
