// The whole service over real HTTP on 127.0.0.1 (random port), on a database URL of the test's choosing, opened and
// migrated by the app itself as in production; warn-level log lines are kept for the test. Closed on teardown.
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import { loadConfig, type Config } from '../../src/config.js'
import { TEST_ADMIN_KEY, type Teardown } from './app.js'

export interface ServedApp {
  app: FastifyInstance
  baseUrl: string
  /** Parsed JSON log lines at warn and above. */
  logs: Array<Record<string, unknown>>
  /** fetch() on the service with the admin key; `timeoutMs` aborts a hung call (the caller sees the abort). */
  call: (method: string, path: string, body?: unknown, timeoutMs?: number) => Promise<Response>
}

export async function serveApp (t: Teardown, overrides: Partial<Config>): Promise<ServedApp> {
  const config = loadConfig({}, {
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    RATE_LIMIT_BURST_PER_10S: 1_000_000_000,
    RATE_LIMIT_DAILY: 1_000_000_000,
    ...overrides
  })
  const logs: Array<Record<string, unknown>> = []
  const app = await buildApp(config, { logStream: { write: (line) => { logs.push(JSON.parse(line)) } } })
  t.teardown(async () => { await app.close() })
  await app.services.accounts.bootstrap(TEST_ADMIN_KEY)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  const baseUrl = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
  const call = async (method: string, path: string, body?: unknown, timeoutMs = 30_000): Promise<Response> => {
    return await fetch(baseUrl + path, {
      method,
      headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(timeoutMs)
    })
  }
  return { app, baseUrl, logs, call }
}
