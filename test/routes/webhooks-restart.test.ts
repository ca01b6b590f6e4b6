// No delivery is lost when the service restarts mid-delivery: the app closes while the receiver holds the POST
// unanswered, a new app starts on the same database, and the delivery completes. At least once: the redelivery carries
// the same events (ids and bytes).
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { openDatabase, type DatabaseHandle } from '../../src/db/database.js'
import { createTestDatabase } from '../helpers/db.js'
import { TEST_ADMIN_KEY } from '../helpers/app.js'
import { startReceiver } from '../helpers/webhook-receiver.js'

t.test('a delivery in flight when the service stops is completed by the next start', async (t) => {
  // The same database twice: PostgreSQL (the file's database, reopened), or PGlite in a folder (memory would not survive).
  const test = await createTestDatabase()
  let reopen: () => Promise<DatabaseHandle>
  if (test.url !== undefined) {
    const url = test.url
    reopen = async () => await openDatabase({ databaseUrl: url, dataDir: '', poolMax: 4, timeoutMs: 5000 })
    await test.handle.db.destroy()
  } else {
    await test.handle.db.destroy()
    const dir = mkdtempSync(join(tmpdir(), 'assoc-webhooks-'))
    t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
    reopen = async () => await openDatabase({ dataDir: dir, poolMax: 1, timeoutMs: 5000 })
  }
  t.teardown(test.drop)
  const config = loadConfig({}, { LOG_LEVEL: 'silent', WEBHOOK_POLL_MS: 20, WEBHOOK_RETRY_BASE_MS: 50, DELIVERY_TIMEOUT_MS: 10_000, WEBHOOK_LEASE_MS: 30_000 })
  const start = async (): Promise<FastifyInstance> => await buildApp(config, { database: await reopen(), logger: false })

  // The first POST is never answered (the service is closed meanwhile); later ones are acknowledged.
  let first = true
  const receiver = await startReceiver(t, async () => {
    if (first) { first = false; await new Promise(() => {}) }
    return 200
  })
  let app = await start()
  let closed = false
  t.teardown(async () => { if (!closed) await app.close() })
  await app.ready()
  await app.services.accounts.bootstrap(TEST_ADMIN_KEY)
  const call = async (method: 'POST' | 'PUT', url: string, payload?: object) => await app.inject({ method, url, payload, headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } })
  const sub = (await call('POST', '/webhooks/v3/subscriptions', { targetUrl: receiver.url })).json() as { id: string, secret: string }
  receiver.secret = sub.secret
  const contact = (await call('POST', '/crm/v3/objects/contacts', { properties: {} })).json().id as string
  const company = (await call('POST', '/crm/v3/objects/companies', { properties: {} })).json().id as string
  t.equal((await call('PUT', `/crm/v4/objects/contacts/${contact}/associations/default/companies/${company}`)).statusCode, 200)

  await receiver.until((rs) => rs.length === 1)
  const started = Date.now()
  await app.close()
  closed = true
  t.ok(Date.now() - started < 5000, 'closing does not wait for the unanswered POST')

  app = await start()
  closed = false
  await app.ready()
  await receiver.until((rs) => rs.length >= 2)
  const [lost, again] = receiver.received
  t.ok(lost?.verified === true && again?.verified === true, 'both requests are signed')
  t.equal(again?.body, lost?.body, 'the redelivery carries the same body')
  t.same(again?.events.map((e) => e.id), lost?.events.map((e) => e.id), 'the same event ids')
  t.same(again?.events.map((e) => e.kind), ['created', 'primary_set'])
  t.equal(again?.headers['x-webhook-delivery-id'], lost?.headers['x-webhook-delivery-id'], 'the same delivery')

  const deadline = Date.now() + 10_000
  let log: Array<{ status: string, attempts: number }> = []
  while (Date.now() < deadline) {
    log = (await app.inject({ method: 'GET', url: `/webhooks/v3/subscriptions/${sub.id}/deliveries`, headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } })).json().results
    if (log[0]?.status === 'SUCCEEDED') break
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  t.match(log, [{ status: 'SUCCEEDED', attempts: 1 }], 'one delivery, acknowledged; the interrupted POST is not counted as an attempt')
})
