// GET /metrics (issue 7 §3): Prometheus text without an API key; request rate and latency by route and status, the
// database pool, transaction retries, import rows and backlog, feed and webhook lag, rate-limit rejections.
import t, { type Test } from 'tap'
import { sql } from 'kysely'
import { build, type TestApp } from '../helpers/app.js'
import { contactCompanyRequest, startImport, tempImportDir, waitForImport } from '../helpers/import-pipeline.js'
import { createRecord } from '../helpers/factories.js'
import { inTransaction } from '../../src/db/transaction.js'

type Series = Map<string, number>

/** Scrapes /metrics with no key; returns every sample as `name{labels}` -> value. */
async function scrape (t: Test, ta: TestApp): Promise<{ series: Series, text: string }> {
  const res = await ta.request({ method: 'GET', url: '/metrics', key: null })
  t.equal(res.statusCode, 200, 'GET /metrics answers without an API key')
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  const series: Series = new Map()
  for (const line of res.body.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const cut = line.lastIndexOf(' ')
    series.set(line.slice(0, cut), Number(line.slice(cut + 1)))
  }
  return { series, text: res.body }
}

/** The value of the one sample whose name is `name` and whose labels include every `labels` pair; undefined if none. */
function value (series: Series, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const [key, v] of series) {
    const brace = key.indexOf('{')
    const n = brace < 0 ? key : key.slice(0, brace)
    if (n !== name) continue
    if (Object.entries(labels).every(([l, lv]) => key.includes(`${l}="${lv}"`))) return v
  }
  return undefined
}

const CONTACTS_ROUTE = '/crm/v3/objects/:objectType'

t.test('metrics series exist and move with the work done', async (t) => {
  const ta = await build(t, { IMPORT_DIR: tempImportDir(t), WEBHOOK_POLL_MS: 50, WEBHOOK_RETRY_BASE_MS: 60_000 })
  const { app } = ta

  const first = await scrape(t, ta)
  t.equal(value(first.series, 'db_info', { engine: app.dbEngine }), 1, `db_info names the engine (${app.dbEngine})`)
  if (app.dbEngine === 'postgres') {
    t.equal(value(first.series, 'db_pool_max'), 10, 'pool size')
    t.ok((value(first.series, 'db_pool_connections', { state: 'idle' }) ?? -1) >= 0, 'idle pool connections')
    t.ok((value(first.series, 'db_pool_connections', { state: 'in_use' }) ?? -1) >= 0, 'in-use pool connections')
    t.equal(value(first.series, 'db_pool_waiting_clients'), 0, 'no query waits for a connection on an idle pool')
  } else {
    t.notMatch(first.text, /db_pool_/, 'PGlite has no pool: no pool series')
  }
  t.ok(value(first.series, 'process_cpu_user_seconds_total') !== undefined, 'default process metrics')
  for (const state of ['STARTED', 'DEFERRED', 'PROCESSING']) t.equal(value(first.series, 'imports_backlog', { state }), 0, `no import ${state}`)
  t.equal(value(first.series, 'import_rows_applied_total'), 0)
  t.equal(value(first.series, 'db_transaction_retries_total'), undefined, 'no retry yet (no labelled sample)')
  t.equal(value(first.series, 'events_newest_timestamp_seconds'), 0, 'no event yet')
  t.equal(value(first.series, 'webhook_lag_seconds'), 0, 'nothing to deliver: no webhook lag')
  t.match(first.text, /# TYPE rate_limit_rejections_total counter/, 'the rate-limit rejection counter is exposed')

  // Requests: two creates (201), a read (200), a missing record (404), on registered routes.
  const contact = await createRecord(ta, 'contacts', { email: 'metrics@example.com' })
  await createRecord(ta, 'contacts', { email: 'metrics2@example.com' })
  t.equal((await ta.request({ method: 'GET', url: `/crm/v3/objects/contacts/${contact}` })).statusCode, 200)
  t.equal((await ta.request({ method: 'GET', url: '/crm/v3/objects/contacts/999999999' })).statusCode, 404)
  const second = await scrape(t, ta)
  t.equal(value(second.series, 'http_request_duration_seconds_count', { method: 'POST', route: CONTACTS_ROUTE, status_code: '201' }), 2, 'two creates counted under their route and status')
  t.equal(value(second.series, 'http_request_duration_seconds_count', { method: 'GET', route: `${CONTACTS_ROUTE}/:objectId`, status_code: '200' }), 1, 'a read')
  t.equal(value(second.series, 'http_request_duration_seconds_count', { method: 'GET', route: `${CONTACTS_ROUTE}/:objectId`, status_code: '404' }), 1, 'a 404 under the same route, its own status')
  t.ok((value(second.series, 'http_request_duration_seconds_sum', { method: 'POST', route: CONTACTS_ROUTE, status_code: '201' }) ?? 0) > 0, 'latency summed')
  t.equal(value(second.series, 'http_request_duration_seconds_bucket', { method: 'POST', route: CONTACTS_ROUTE, status_code: '201', le: '+Inf' }), 2, 'latency histogram')
  t.notMatch(second.text, /route="\/metrics"/, 'scrapes are not counted as requests')

  // A transaction that fails once with a serialization failure (raised by the database) is retried and counted.
  let attempts = 0
  await inTransaction(app.db, async (trx) => {
    if (++attempts === 1) await sql`do $$ begin raise exception 'metrics test' using errcode = 'serialization_failure'; end $$`.execute(trx)
  })
  t.equal(attempts, 2)
  t.equal(value((await scrape(t, ta)).series, 'db_transaction_retries_total', { reason: 'serialization_failure' }), 1, 'the retry is counted by reason')

  // Imports: one waits (STARTED) while the runner is stopped, then runs; its rows are counted.
  await app.services.importRunner.stop()
  const csv = 'Email,Company domain\n' + Array.from({ length: 7 }, (_, i) => `m${i}@example.com,m${i}.example.com`).join('\n') + '\n'
  const started = await startImport(ta, contactCompanyRequest('m.csv'), [{ name: 'm.csv', data: csv }])
  t.equal(started.statusCode, 200, started.body)
  t.equal(value((await scrape(t, ta)).series, 'imports_backlog', { state: 'STARTED' }), 1, 'the waiting import is in the backlog')
  await app.services.importRunner.start()
  t.equal((await waitForImport(ta, started.json().id as string)).state, 'DONE')
  const afterImport = await scrape(t, ta)
  t.equal(value(afterImport.series, 'imports_backlog', { state: 'STARTED' }), 0, 'the backlog is empty again')
  t.equal(value(afterImport.series, 'import_rows_applied_total'), 7, 'every applied row is counted')

  // The feed and webhooks: a subscription whose receiver is down leaves its event undelivered, and the lag grows.
  const sub = await ta.request({ method: 'POST', url: '/webhooks/v3/subscriptions', payload: { targetUrl: 'http://127.0.0.1:9/down' } })
  t.equal(sub.statusCode, 201, sub.body)
  const company = await createRecord(ta, 'companies', { domain: 'lag.example.com' })
  t.equal((await ta.request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/associations/default/companies/${company}` })).statusCode, 200)
  await new Promise((resolve) => setTimeout(resolve, 300))
  const lagged = await scrape(t, ta)
  const newest = value(lagged.series, 'events_newest_timestamp_seconds') ?? 0
  t.ok(Math.abs(Date.now() / 1000 - newest) < 60, `the feed's newest event is the association just written (${newest})`)
  const lag = value(lagged.series, 'webhook_lag_seconds') ?? 0
  t.ok(lag >= 0.2, `the undelivered event's age is the webhook lag (${lag} s)`)
  const pendingNow = value(lagged.series, 'webhook_deliveries_pending') ?? -1
  t.ok(pendingNow === 0 || pendingNow === 1, 'the failed delivery waits for its retry (or is not cut yet)')

  // Rate-limit rejections: the counter the rate limiter increments, by policy.
  app.appMetrics.rateLimitRejections.inc({ policy: 'TEN_SECONDLY_ROLLING' })
  t.equal(value((await scrape(t, ta)).series, 'rate_limit_rejections_total', { policy: 'TEN_SECONDLY_ROLLING' }), 1)
})

t.test('METRICS_ENABLED=false: no /metrics route, counters still there for the code that increments them', async (t) => {
  const ta = await build(t, { METRICS_ENABLED: false })
  t.equal((await ta.request({ method: 'GET', url: '/metrics', key: null })).statusCode, 404)
  t.equal((await ta.request({ method: 'GET', url: '/metrics' })).statusCode, 404)
  ta.app.appMetrics.rateLimitRejections.inc({ policy: 'DAILY' })
  t.match(await ta.app.appMetrics.registry.getSingleMetricAsString('rate_limit_rejections_total'), /policy="DAILY"} 1/, 'the rate limiter can count with metrics off')
})
