// Webhook subscriptions and deliveries, against a real HTTP receiver on 127.0.0.1 that verifies every signature.
import t from 'tap'
import { build, createOtherAccount, type TestApp } from '../helpers/app.js'
import { createRecord, createRecords } from '../helpers/factories.js'
import { expectError } from '../helpers/assertions.js'
import { startReceiver, type Received } from '../helpers/webhook-receiver.js'
import { backoffMs } from '../../src/services/webhook-dispatcher.js'

const FAST = { WEBHOOK_POLL_MS: 20, WEBHOOK_RETRY_BASE_MS: 150, WEBHOOK_RETRY_MAX_MS: 400, DELIVERY_TIMEOUT_MS: 2000 }

async function subscribe (ta: TestApp, targetUrl: string, eventKinds?: string[]): Promise<{ id: string, secret: string }> {
  const res = await ta.request({ method: 'POST', url: '/webhooks/v3/subscriptions', payload: { targetUrl, ...(eventKinds !== undefined ? { eventKinds } : {}) } })
  if (res.statusCode !== 201) throw new Error(`subscribe: ${res.statusCode} ${res.body}`)
  return res.json()
}

/** Every event id of the account's feed, in feed order (waits until at least `n` are visible). */
async function feedIds (ta: TestApp, n: number): Promise<string[]> {
  const deadline = Date.now() + 20_000
  for (;;) {
    const page = await ta.app.services.events.feed(ta.accountId, undefined, 1000)
    if (page.results.length >= n || Date.now() > deadline) return page.results.map((e) => e.id)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

/** The delivery log once `done` holds for it (the outcome of an answered POST is recorded just after the answer). */
async function logOnce (ta: TestApp, id: string, done: (log: Array<Record<string, unknown>>) => boolean): Promise<Array<Record<string, unknown>>> {
  const deadline = Date.now() + 20_000
  for (;;) {
    const log = (await ta.request({ method: 'GET', url: `/webhooks/v3/subscriptions/${id}/deliveries` })).json().results as Array<Record<string, unknown>>
    if (done(log) || Date.now() > deadline) return log
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

/** The event ids a receiver got, each delivery once (a retry repeats its delivery), in arrival order. */
function deliveredIds (received: Received[]): string[] {
  const seen = new Set<string>()
  const ids: string[] = []
  for (const r of received) {
    const delivery = String(r.headers['x-webhook-delivery-id'])
    if (seen.has(delivery)) continue
    seen.add(delivery)
    ids.push(...r.events.map((e) => e.id))
  }
  return ids
}

t.test('subscriptions: create shows the secret once, list and get never; validation, scope and tenancy', async (t) => {
  const ta = await build(t)
  const created = await ta.request({ method: 'POST', url: '/webhooks/v3/subscriptions', payload: { targetUrl: 'https://hooks.example.com/crm', eventKinds: ['created', 'deleted'] } })
  t.equal(created.statusCode, 201)
  t.match(created.json(), { id: /^\d+$/, targetUrl: 'https://hooks.example.com/crm', eventKinds: ['created', 'deleted'], secret: /^whsec_[A-Za-z0-9_-]{32}$/ })
  const id = created.json().id as string
  const listed = await ta.request({ method: 'GET', url: '/webhooks/v3/subscriptions' })
  t.equal(listed.statusCode, 200)
  t.same(listed.json().results.map((s: { id: string }) => s.id), [id])
  t.notMatch(listed.body, /whsec_/, 'the list never carries a secret')
  const one = await ta.request({ method: 'GET', url: `/webhooks/v3/subscriptions/${id}` })
  t.equal(one.statusCode, 200)
  t.notOk('secret' in one.json(), 'nor does a read')
  const all = await ta.request({ method: 'POST', url: '/webhooks/v3/subscriptions', payload: { targetUrl: 'http://127.0.0.1:9/x' } })
  t.same(all.json().eventKinds, ['created', 'label_added', 'label_removed', 'primary_set', 'primary_unset', 'deleted'], 'every kind by default')

  for (const targetUrl of ['ftp://example.com/x', 'not a url', '/relative', 'https://user:pw@example.com/x', 'javascript:alert(1)']) {
    expectError(t, await ta.request({ method: 'POST', url: '/webhooks/v3/subscriptions', payload: { targetUrl } }), 400, 'VALIDATION_ERROR')
  }
  expectError(t, await ta.request({ method: 'POST', url: '/webhooks/v3/subscriptions', payload: { targetUrl: 'https://x.example', eventKinds: ['updated'] } }), 400, 'VALIDATION_ERROR')
  expectError(t, await ta.request({ method: 'POST', url: '/webhooks/v3/subscriptions', payload: { targetUrl: 'https://x.example', eventKinds: [] } }), 400, 'VALIDATION_ERROR')
  expectError(t, await ta.request({ method: 'POST', url: '/webhooks/v3/subscriptions', payload: { targetUrl: 'https://x.example', extra: 1 } }), 400, 'VALIDATION_ERROR')

  const writer = await ta.request({ method: 'POST', url: `/admin/v1/accounts/${ta.accountId}/keys`, payload: { name: 'w', scopes: ['crm.objects.read', 'crm.objects.write'] } })
  expectError(t, await ta.request({ method: 'GET', url: '/webhooks/v3/subscriptions', key: writer.json().key }), 403, 'MISSING_SCOPES')

  const other = await createOtherAccount(ta.app)
  expectError(t, await ta.request({ method: 'GET', url: `/webhooks/v3/subscriptions/${id}`, key: other.key }), 404, 'OBJECT_NOT_FOUND')
  expectError(t, await ta.request({ method: 'DELETE', url: `/webhooks/v3/subscriptions/${id}`, key: other.key }), 404, 'OBJECT_NOT_FOUND')
  t.same((await ta.request({ method: 'GET', url: '/webhooks/v3/subscriptions', key: other.key })).json().results, [])

  t.equal((await ta.request({ method: 'DELETE', url: `/webhooks/v3/subscriptions/${id}` })).statusCode, 204)
  expectError(t, await ta.request({ method: 'GET', url: `/webhooks/v3/subscriptions/${id}/deliveries` }), 404, 'OBJECT_NOT_FOUND')
})

t.test('deliveries: signed batches in feed order; a 500 is retried with backoff (same body) until the receiver recovers', async (t) => {
  const ta = await build(t, { ...FAST, WEBHOOK_BATCH_SIZE: 3 })
  // The first two requests fail with 500; then the receiver recovers.
  const receiver = await startReceiver(t, (_r, i) => i < 2 ? 500 : 200)
  const sub = await subscribe(ta, receiver.url)
  receiver.secret = sub.secret
  const contact = await createRecord(ta, 'contacts')
  const companies = await createRecords(ta, 'companies', 4)
  for (const c of companies) await ta.request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/associations/default/companies/${c}` })
  await ta.request({ method: 'DELETE', url: `/crm/v4/objects/contacts/${contact}/associations/companies/${companies[3]}` })
  const expected = await feedIds(ta, 6)
  t.equal(expected.length, 6, '4 created, the first primary, 1 deleted')

  await receiver.until((rs) => deliveredIds(rs).length >= 6)
  const rs = receiver.received
  t.ok(rs.every((r) => r.verified), 'every request carries a valid X-Signature')
  t.same(deliveredIds(rs), expected, 'every event, each delivery once, in feed order')
  t.ok(rs.every((r) => r.events.length <= 3), 'batches of at most WEBHOOK_BATCH_SIZE')
  const [a, b, c] = rs as [Received, Received, Received]
  t.equal(a.body, b.body, 'a retry sends the same body')
  t.equal(b.body, c.body)
  t.same([a, b, c].map((r) => r.headers['x-webhook-attempt']), ['1', '2', '3'])
  t.ok(b.at - a.at >= 70 && c.at - b.at >= 70, `retries wait (backoff): ${b.at - a.at} ms, ${c.at - b.at} ms`)
  t.equal(rs[3]?.headers['x-webhook-attempt'], '1', 'the next batch goes only after the first succeeded')
  t.ok(rs[3]!.at >= c.at)
  t.equal(a.headers['content-type'], 'application/json')
  t.equal(JSON.parse(a.body).subscriptionId, sub.id)

  const deliveries = await logOnce(ta, sub.id, (log) => log.flatMap((d) => d.eventIds as string[]).length === 6 && log.every((d) => d.status === 'SUCCEEDED'))
  t.ok(deliveries.length >= 2, `${deliveries.length} batches of at most 3 events`)
  t.same([...deliveries].reverse().flatMap((d) => d.eventIds as string[]), expected, 'the log, oldest first, holds every event once, in order')
  t.match(deliveries.at(-1), { status: 'SUCCEEDED', attempts: 3, lastStatusCode: 200, lastError: 'HTTP 500', nextAttemptAt: null, deliveredAt: String, eventIds: a.events.map((e) => e.id) })
  t.ok(deliveries.slice(0, -1).every((d) => d.attempts === 1 && d.lastError === null), 'the later batches went through at once')
  const page = await ta.request({ method: 'GET', url: `/webhooks/v3/subscriptions/${sub.id}/deliveries?limit=1` })
  const next = await ta.request({ method: 'GET', url: `/webhooks/v3/subscriptions/${sub.id}/deliveries?limit=1&after=${page.json().paging.next.after as string}` })
  t.same(next.json().results.map((d: { id: string }) => d.id), [deliveries[1]?.id], 'the log pages')
})

t.test('deliveries: a subscription gets only its kinds; a timeout counts as a failure; a delivery failing past WEBHOOK_RETRY_FOR_MS is FAILED and the next one goes', async (t) => {
  const ta = await build(t, { ...FAST, DELIVERY_TIMEOUT_MS: 300, WEBHOOK_RETRY_FOR_MS: 1500 })
  // Deleted events: the first request is answered too late (timeout), then 200.
  const slow = await startReceiver(t, async (_r, i) => { if (i === 0) await new Promise((resolve) => setTimeout(resolve, 1000)); return 200 })
  const deletedOnly = await subscribe(ta, slow.url, ['deleted'])
  slow.secret = deletedOnly.secret
  // Every kind, to a receiver that always fails: its first delivery is given up after 1.5 s, then the next one is tried.
  const failing = await startReceiver(t, () => 503)
  const doomed = await subscribe(ta, failing.url)
  failing.secret = doomed.secret

  const contact = await createRecord(ta, 'contacts')
  const [company] = await createRecords(ta, 'companies', 1) as [number]
  await ta.request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/associations/default/companies/${company}` })
  await slow.until(() => failing.received.length >= 1)
  await ta.request({ method: 'DELETE', url: `/crm/v4/objects/contacts/${contact}/associations/companies/${company}` })

  await slow.until((rs) => rs.length >= 2)
  t.ok(slow.received.every((r) => r.verified))
  t.same(slow.received.flatMap((r) => r.events.map((e) => e.kind)), ['deleted', 'deleted'], 'only deleted events, the timed-out one sent again')
  t.equal(slow.received[0]?.body, slow.received[1]?.body)
  const slowLog = await logOnce(ta, deletedOnly.id, (log) => log[0]?.status === 'SUCCEEDED')
  t.match(slowLog, [{ status: 'SUCCEEDED', attempts: 2, lastError: 'timeout after 300 ms' }])

  await failing.until((rs) => rs.some((r) => r.events.some((e) => e.kind === 'deleted')), 20_000)
  const doomedLog = await logOnce(ta, doomed.id, (log) => log.length >= 2)
  const first = doomedLog.at(-1) as Record<string, unknown>
  t.match(first, { status: 'FAILED', lastStatusCode: 503, lastError: 'HTTP 503', nextAttemptAt: null })
  t.ok((first.attempts as number) >= 3, `retried ${String(first.attempts)} times before giving up`)
  t.match(doomedLog[0], { status: 'PENDING', nextAttemptAt: String }, 'the next batch is being tried')
})

t.test('backoff doubles from the base, is capped, and is jittered between half and all of it', async (t) => {
  t.equal(backoffMs(1, 1000, 60_000, () => 1), 1000)
  t.equal(backoffMs(1, 1000, 60_000, () => 0), 500)
  t.equal(backoffMs(4, 1000, 60_000, () => 1), 8000)
  t.equal(backoffMs(30, 1000, 60_000, () => 1), 60_000)
  t.equal(backoffMs(30, 1000, 60_000, () => 0), 30_000)
  // With the defaults (30 s base, 1 h cap), the attempts before giving up at 24 h span at least 24 h.
  let total = 0
  let attempts = 0
  while (total < 24 * 3600_000) total += backoffMs(++attempts, 30_000, 3_600_000, () => 0)
  t.ok(attempts < 60, `${attempts} attempts over 24 h even with the shortest jitter`)
})
