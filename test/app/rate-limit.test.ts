// Per-key rate limits (issue 7 §1): HubSpot's headers, 429 bodies with policyName and Retry-After, per-key limits from
// the key row, a batch call counted once, counters shared through the local Redis by two instances on one database,
// and the official Node client retrying a TEN_SECONDLY_ROLLING 429 until it succeeds.
import { randomUUID } from 'node:crypto'
import t from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { Client } from '@hubspot/api-client'
import { Redis } from 'ioredis'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { openDatabase, type DatabaseHandle } from '../../src/db/database.js'
import { build, createOtherAccount, TEST_ADMIN_KEY, type Teardown } from '../helpers/app.js'

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const LIST = { method: 'GET' as const, url: '/crm/v3/objects/contacts?limit=1' }

function rateHeaders (res: LightMyRequestResponse): Record<string, string | undefined> {
  const h = (name: string): string | undefined => {
    const v = res.headers[`x-hubspot-ratelimit-${name}`]
    return v === undefined ? undefined : String(v)
  }
  return { max: h('max'), remaining: h('remaining'), interval: h('interval-milliseconds'), daily: h('daily'), dailyRemaining: h('daily-remaining') }
}

/** A prefix of this test's own, and every key under it removed afterwards. */
async function redisPrefix (t: Teardown): Promise<string> {
  const prefix = `test:ratelimit:${randomUUID()}:`
  t.teardown(async () => {
    const redis = new Redis(REDIS_URL)
    const keys = await redis.keys(`${prefix}*`)
    if (keys.length > 0) await redis.del(...keys)
    await redis.quit()
  })
  return prefix
}

// One app for the in-memory tests, each on a key of its own (the budget is per key), so they may run side by side.
const ta = await build(t, { RATE_LIMIT_BURST_PER_10S: 10, RATE_LIMIT_DAILY: 1000 })
t.jobs = 2
// Statuses answered per Authorization header (hooks must be added before the app's first request).
const statusesByAuth = new Map<string, number[]>()
ta.app.addHook('onResponse', async (request, reply) => {
  const auth = request.headers.authorization ?? ''
  statusesByAuth.set(auth, [...(statusesByAuth.get(auth) ?? []), reply.statusCode])
})

/** A key of a new account, with its own limits set on the key row when given. */
async function keyWith (limits: { burst?: number, daily?: number } = {}): Promise<{ key: string, accountId: number }> {
  const other = await createOtherAccount(ta.app, `rate limits ${randomUUID()}`)
  if (limits.burst !== undefined || limits.daily !== undefined) {
    await ta.app.db.updateTable('api_keys').set({ rate_limit_burst_per_10s: limits.burst ?? null, rate_limit_daily: limits.daily ?? null })
      .where('account_id', '=', other.accountId).execute()
  }
  return other
}

t.test('the official client with numberOfApiCallRetries waits out a TEN_SECONDLY_ROLLING 429 and succeeds', async (t) => {
  const { key } = await keyWith({ burst: 2 })
  await ta.app.listen({ port: 0, host: '127.0.0.1' })
  const address = ta.app.server.address()
  if (address === null || typeof address === 'string') throw new Error('the app is not listening on a TCP port')
  const client = new Client({ accessToken: key, basePath: `http://127.0.0.1:${address.port}`, numberOfApiCallRetries: 2 })

  await client.crm.contacts.basicApi.getPage(1)
  await client.crm.contacts.basicApi.getPage(1)
  const started = Date.now()
  const page = await client.crm.contacts.basicApi.getPage(1)
  t.match(page, { results: Array })
  t.same(statusesByAuth.get(`Bearer ${key}`), [200, 200, 429, 200], 'the third call was refused once, then retried and served')
  t.ok(Date.now() - started >= 9_000, 'the client waited out the window before retrying')
})

t.test('headers on every authenticated answer; the 11th call in 10 s is a 429 TEN_SECONDLY_ROLLING with Retry-After', async (t) => {
  const first = await ta.request(LIST)
  t.equal(first.statusCode, 200)
  t.same(rateHeaders(first), { max: '10', remaining: '9', interval: '10000', daily: '1000', dailyRemaining: '999' })

  // Error answers of an authenticated call carry them too (and count).
  const notFound = await ta.request({ method: 'GET', url: '/crm/v3/objects/contacts/999999' })
  t.equal(notFound.statusCode, 404)
  t.same(rateHeaders(notFound), { max: '10', remaining: '8', interval: '10000', daily: '1000', dailyRemaining: '998' })

  // No key, no headers (and no count).
  const anonymous = await ta.request({ ...LIST, key: null })
  t.equal(anonymous.statusCode, 401)
  t.equal(anonymous.headers['x-hubspot-ratelimit-max'], undefined)

  for (let i = 3; i <= 10; i++) {
    const res = await ta.request(LIST)
    t.equal(res.statusCode, 200, `call ${i} passes`)
    t.equal(rateHeaders(res).remaining, String(10 - i))
  }
  const refused = await ta.request(LIST)
  t.equal(refused.statusCode, 429)
  const body = refused.json()
  t.same(body, {
    status: 'error',
    message: 'You have reached your ten_secondly_rolling limit.',
    correlationId: refused.headers['x-hubspot-correlation-id'],
    category: 'RATE_LIMITS',
    policyName: 'TEN_SECONDLY_ROLLING'
  })
  t.match(refused.headers['content-type'], /^application\/json/)
  const retryAfter = Number(refused.headers['retry-after'])
  t.ok(retryAfter >= 1 && retryAfter <= 10, `Retry-After ${retryAfter} is within the 10 s window`)
  t.same(rateHeaders(refused), { max: '10', remaining: '0', interval: '10000', daily: '1000', dailyRemaining: '990' }, 'a refused call is not counted')
  const metrics = await ta.request({ method: 'GET', url: '/metrics', key: null })
  t.match(metrics.body, /rate_limit_rejections_total\{policy="TEN_SECONDLY_ROLLING"\} [1-9]/, 'the rejection is counted in /metrics')

  // The budget is per key: another account's key is untouched.
  const other = await createOtherAccount(ta.app)
  const otherRes = await ta.request({ ...LIST, key: other.key })
  t.equal(otherRes.statusCode, 200)
  t.equal(rateHeaders(otherRes).remaining, '9')
})

t.test('a batch call counts as one call, whatever its number of inputs', async (t) => {
  const { key } = await keyWith({ burst: 5 })
  const res = await ta.request({
    key,
    method: 'POST',
    url: '/crm/v4/associations/contacts/companies/batch/read',
    payload: { inputs: Array.from({ length: 50 }, (_, i) => ({ id: String(1000 + i) })) }
  })
  t.ok(res.statusCode < 300, `batch read answered ${res.statusCode}`)
  t.equal(rateHeaders(res).remaining, '4')
  t.equal(rateHeaders(await ta.request({ ...LIST, key })).remaining, '3')
})

t.test('the daily limit: 429 DAILY with Retry-After up to the next UTC midnight', async (t) => {
  const { key } = await keyWith({ burst: 100, daily: 3 })
  for (let i = 1; i <= 3; i++) t.equal((await ta.request({ ...LIST, key })).statusCode, 200)
  const refused = await ta.request({ ...LIST, key })
  t.equal(refused.statusCode, 429)
  t.match(refused.json(), { category: 'RATE_LIMITS', policyName: 'DAILY', message: 'You have reached your daily limit.' })
  const now = Date.now()
  const toMidnight = Math.ceil((Math.floor(now / 86_400_000) + 1) * 86_400_000 / 1000 - now / 1000)
  t.ok(Math.abs(Number(refused.headers['retry-after']) - toMidnight) <= 2, `Retry-After ${String(refused.headers['retry-after'])} ≈ ${toMidnight} s to midnight UTC`)
  t.same(rateHeaders(refused), { max: '100', remaining: '97', interval: '10000', daily: '3', dailyRemaining: '0' })
})

t.test('a key row may set its own limits (NULL = the service-wide values)', async (t) => {
  const other = await createOtherAccount(ta.app, 'per-key limits')
  const plain = await keyWith()
  await ta.app.db.updateTable('api_keys').set({ rate_limit_burst_per_10s: 2, rate_limit_daily: 700 })
    .where('account_id', '=', other.accountId).execute()
  const row = await ta.app.db.selectFrom('api_keys').select(['rate_limit_burst_per_10s', 'rate_limit_daily'])
    .where('account_id', '=', other.accountId).executeTakeFirstOrThrow()
  t.same(row, { rate_limit_burst_per_10s: 2, rate_limit_daily: 700 })

  t.same(rateHeaders(await ta.request({ ...LIST, key: other.key })), { max: '2', remaining: '1', interval: '10000', daily: '700', dailyRemaining: '699' })
  t.equal((await ta.request({ ...LIST, key: other.key })).statusCode, 200)
  const refused = await ta.request({ ...LIST, key: other.key })
  t.equal(refused.statusCode, 429)
  t.equal(refused.json().policyName, 'TEN_SECONDLY_ROLLING')
  t.same(rateHeaders(await ta.request({ ...LIST, key: plain.key })), { max: '10', remaining: '9', interval: '10000', daily: '1000', dailyRemaining: '999' }, 'a key without its own limits has the service-wide ones')

  // The column refuses a limit of zero or less.
  await t.rejects(ta.app.db.updateTable('api_keys').set({ rate_limit_daily: 0 }).where('account_id', '=', other.accountId).execute())
})

t.test('with REDIS_URL, two instances on one database share one budget per key', async (t) => {
  const prefix = await redisPrefix(t)
  const overrides = { REDIS_URL, RATE_LIMIT_REDIS_PREFIX: prefix, RATE_LIMIT_BURST_PER_10S: 1000, RATE_LIMIT_DAILY: 4 }
  const a = await build(t, overrides)
  // The second instance: its own pool on the same PostgreSQL database; on PGlite (one in-memory database per process)
  // the same handle, which this instance must not close.
  let handle: DatabaseHandle
  if (a.database.url !== undefined) {
    handle = await openDatabase({ databaseUrl: a.database.url, dataDir: '', poolMax: 2, timeoutMs: 5000 })
  } else {
    const db = a.database.handle.db
    handle = {
      ...a.database.handle,
      db: new Proxy(db, {
        get: (target, prop) => {
          if (prop === 'destroy') return async () => {}
          const value: unknown = Reflect.get(target, prop, target)
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
        }
      })
    }
  }
  const b: FastifyInstance = await buildApp(loadConfig({}, { LOG_LEVEL: 'silent', ...overrides }), { database: handle, logger: false })
  t.teardown(async () => { await b.close() })
  const callB = async (): Promise<LightMyRequestResponse> => await b.inject({ ...LIST, headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } })

  const seen: Array<[string, number, string | undefined, string | undefined]> = []
  const started = Date.now()
  let secondAnsweredAt = 0
  for (const [name, call] of [['a', async () => await a.request(LIST)], ['b', callB], ['a', async () => await a.request(LIST)], ['b', callB], ['a', async () => await a.request(LIST)], ['b', callB]] as const) {
    const res = await call()
    seen.push([name, res.statusCode, rateHeaders(res).remaining, rateHeaders(res).dailyRemaining])
    if (seen.length === 2) secondAnsweredAt = Date.now()
  }
  // [instance, status, remaining in the 10 s window, remaining today]: one budget, whichever instance answers. (The
  // daily budget carries the 429s, so a slow machine taking over 10 s for these calls cannot change the outcome.)
  t.same(seen.map(([name, status, , daily]) => [name, status, daily]),
    [['a', 200, '3'], ['b', 200, '2'], ['a', 200, '1'], ['b', 200, '0'], ['a', 429, '0'], ['b', 429, '0']])
  // The window is 10 s of Redis' clock: on a machine so loaded that the first two calls (the second one is instance b's
  // first, with its cold start) took longer, the first call has left the window and the comparison says nothing.
  if (secondAnsweredAt - started < 9_000) t.same(seen.slice(0, 2).map(([, , burst]) => burst), ['999', '998'], 'the 10 s window is shared too')
  else t.comment(`the first two calls took ${secondAnsweredAt - started} ms, near the 10 s window: its sharing is not judged`)
  const refused = await callB()
  t.equal(refused.json().policyName, 'DAILY')

  const keys = await (async () => {
    const redis = new Redis(REDIS_URL)
    try { return (await redis.keys(`${prefix}*`)).sort() } finally { await redis.quit() }
  })()
  t.equal(keys.length, 2, 'one window and one daily counter in Redis')
  t.match(keys[0], new RegExp(`^${prefix}d:\\d+:\\d+$`))
  t.match(keys[1], new RegExp(`^${prefix}w:\\d+$`))
})
