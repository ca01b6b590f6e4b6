// Rate-limit counters per API key: a 10 s rolling window (a log of call times, exact) and a per-UTC-day counter.
// In this process by default; in Redis (one Lua script per call, atomic, Redis' clock) when REDIS_URL is set, so every
// instance shares one budget. Calls that are refused are not counted.
import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'

export const BURST_WINDOW_MS = 10_000
const DAY_MS = 86_400_000

export interface Limits { burst: number, daily: number }

export interface Decision {
  /** null = allowed; otherwise the policy that refused the call. */
  refusedBy: 'TEN_SECONDLY_ROLLING' | 'DAILY' | null
  /** Calls in the current 10 s window (including this one when allowed). */
  burstUsed: number
  /** Calls today (including this one when allowed). */
  dailyUsed: number
  /** When refused: milliseconds until a call would be allowed again. */
  retryAfterMs: number
}

export interface RateLimitStore {
  hit: (key: string, limits: Limits) => Promise<Decision>
  close: () => Promise<void>
}

function dayOf (now: number): number { return Math.floor(now / DAY_MS) }
function msToDayEnd (now: number): number { return (dayOf(now) + 1) * DAY_MS - now }

/** Counters in this process only (one instance, tests). */
export function createMemoryStore (): RateLimitStore {
  const windows = new Map<string, number[]>()
  const days = new Map<string, { day: number, count: number }>()
  // Forget idle keys so the maps do not grow with every key ever seen.
  const sweep = setInterval(() => {
    const now = Date.now()
    for (const [key, hits] of windows) if (hits.length === 0 || (hits.at(-1) as number) <= now - BURST_WINDOW_MS) windows.delete(key)
    for (const [key, d] of days) if (d.day !== dayOf(now)) days.delete(key)
  }, 60_000)
  sweep.unref()
  return {
    async hit (key, limits) {
      const now = Date.now()
      let hits = windows.get(key)
      if (hits === undefined) windows.set(key, hits = [])
      let expired = 0
      while (expired < hits.length && (hits[expired] as number) <= now - BURST_WINDOW_MS) expired++
      if (expired > 0) hits.splice(0, expired)
      let today = days.get(key)
      if (today === undefined || today.day !== dayOf(now)) days.set(key, today = { day: dayOf(now), count: 0 })
      if (today.count >= limits.daily) {
        return { refusedBy: 'DAILY', burstUsed: hits.length, dailyUsed: today.count, retryAfterMs: msToDayEnd(now) }
      }
      if (hits.length >= limits.burst) {
        // The window drops below the limit once the (used - limit + 1)th oldest call leaves it.
        const freeing = hits[hits.length - limits.burst] as number
        return { refusedBy: 'TEN_SECONDLY_ROLLING', burstUsed: hits.length, dailyUsed: today.count, retryAfterMs: freeing + BURST_WINDOW_MS - now }
      }
      hits.push(now)
      today.count++
      return { refusedBy: null, burstUsed: hits.length, dailyUsed: today.count, retryAfterMs: 0 }
    },
    async close () { clearInterval(sweep) }
  }
}

// KEYS[1]: the key's window (sorted set of call times), KEYS[2]: its counter for today.
// ARGV: burst limit, daily limit, window ms, member id. Returns {refused (0 none, 1 burst, 2 daily), burstUsed, dailyUsed, retryAfterMs}.
const HIT_SCRIPT = `
local burst = tonumber(ARGV[1])
local daily = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local used = redis.call('ZCARD', KEYS[1])
local today = tonumber(redis.call('GET', KEYS[2]) or '0')
local dayMs = 86400000
if today >= daily then
  return {2, used, today, dayMs - (now % dayMs)}
end
if used >= burst then
  local freeing = redis.call('ZRANGE', KEYS[1], used - burst, used - burst, 'WITHSCORES')
  return {1, used, today, tonumber(freeing[2]) + window - now}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
today = redis.call('INCR', KEYS[2])
if today == 1 then redis.call('PEXPIRE', KEYS[2], dayMs + 3600000) end
return {0, used + 1, today, 0}
`

/** Counters in Redis, shared by every instance that uses the same URL and prefix. ioredis is loaded only here. */
export async function createRedisStore (url: string, prefix: string): Promise<RateLimitStore> {
  const { Redis: RedisClient } = await import('ioredis')
  const redis: Redis = new RedisClient(url, { lazyConnect: true, maxRetriesPerRequest: 2, commandTimeout: 2000 })
  await redis.connect()
  redis.defineCommand('rateLimitHit', { numberOfKeys: 2, lua: HIT_SCRIPT })
  const hit = (redis as unknown as { rateLimitHit: (...args: Array<string | number>) => Promise<[number, number, number, number]> }).rateLimitHit.bind(redis)
  return {
    async hit (key, limits) {
      // The day in the key is the caller's UTC day; the script's TTL removes it a little after the day ends.
      const [refused, burstUsed, dailyUsed, retryAfterMs] = await hit(
        `${prefix}w:${key}`, `${prefix}d:${key}:${dayOf(Date.now())}`, limits.burst, limits.daily, BURST_WINDOW_MS, randomUUID())
      return { refusedBy: refused === 1 ? 'TEN_SECONDLY_ROLLING' : refused === 2 ? 'DAILY' : null, burstUsed, dailyUsed, retryAfterMs }
    },
    async close () { await redis.quit() }
  }
}
