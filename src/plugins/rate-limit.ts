// Per-API-key rate limits as HubSpot applies them (API.md §2.9, §5.5): a 10 s rolling window and a daily budget.
// Registered inside the API scope after auth, so it runs once per authenticated call; a batch call counts as one.
// Why not @fastify/rate-limit: one registration is one window with x-ratelimit-* headers, while HubSpot has two
// windows with their own headers and a 429 body carrying `policyName`; a small Lua script does both atomically.
import fp from 'fastify-plugin'
import type { FastifyReply } from 'fastify'
import type { Config } from '../config.js'
import { errorBody } from './error-handler.js'
import { BURST_WINDOW_MS, createMemoryStore, createRedisStore, type Decision, type RateLimitStore } from '../lib/rate-limit-store.js'

const MESSAGES = {
  TEN_SECONDLY_ROLLING: 'You have reached your ten_secondly_rolling limit.',
  DAILY: 'You have reached your daily limit.'
} as const

function setHeaders (reply: FastifyReply, limits: { burst: number, daily: number }, decision: Decision): void {
  reply.header('x-hubspot-ratelimit-interval-milliseconds', BURST_WINDOW_MS)
  reply.header('x-hubspot-ratelimit-max', limits.burst)
  reply.header('x-hubspot-ratelimit-remaining', Math.max(0, limits.burst - decision.burstUsed))
  reply.header('x-hubspot-ratelimit-daily', limits.daily)
  reply.header('x-hubspot-ratelimit-daily-remaining', Math.max(0, limits.daily - decision.dailyUsed))
}

export default fp<{ config: Config }>(async (app, { config }) => {
  const store: RateLimitStore = config.REDIS_URL !== undefined
    ? await createRedisStore(config.REDIS_URL, config.RATE_LIMIT_REDIS_PREFIX)
    : createMemoryStore()
  app.addHook('onClose', async () => { await store.close() })

  app.addHook('onRequest', async (request, reply) => {
    const principal = request.principal
    const limits = {
      burst: principal.rateLimits?.burstPer10s ?? config.RATE_LIMIT_BURST_PER_10S,
      daily: principal.rateLimits?.daily ?? config.RATE_LIMIT_DAILY
    }
    let decision: Decision
    try {
      decision = await store.hit(String(principal.keyId), limits)
    } catch (err) {
      // A Redis outage must not take the API down with it: serve unthrottled and say so in the log.
      request.log.warn({ err }, 'rate-limit store unavailable; call not counted')
      return
    }
    setHeaders(reply, limits, decision)
    if (decision.refusedBy === null) return
    const seconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000))
    request.log.info({ policyName: decision.refusedBy, retryAfter: seconds, keyId: principal.keyId }, 'rate limit reached')
    app.appMetrics.rateLimitRejections.inc({ policy: decision.refusedBy })
    return await reply.status(429).header('retry-after', seconds).send({
      ...errorBody(request, MESSAGES[decision.refusedBy], 'RATE_LIMITS'),
      policyName: decision.refusedBy
    })
  })
}, { name: 'rate-limit', dependencies: ['auth'] })
