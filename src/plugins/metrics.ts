// Prometheus metrics: GET /metrics (no API key; METRICS_ENABLED=false removes it). Each app owns its registry, so a
// process that builds several apps (tests) never collides with itself ("already registered") and the global prom-client
// registry stays untouched.
//   - http_request_duration_seconds{method,route,status_code}: request rate and latency by route (fastify-metrics);
//   - db_pool_*: PostgreSQL pool connections and waiting clients (PGlite has one connection and no pool: db_info only);
//   - db_transaction_retries_total{reason}: inTransaction retries after a deadlock or serialization failure;
//   - import_rows_applied_total, imports_backlog{state}: import throughput and the queue, the latter read at scrape time;
//   - events_newest_timestamp_seconds, webhook_lag_seconds, webhook_deliveries_pending: the feed and the webhook outbox;
//   - rate_limit_rejections_total{policy}: incremented by the rate limiter through app.appMetrics.
import fp from 'fastify-plugin'
import fastifyMetrics from 'fastify-metrics'
import { Counter, Gauge, Registry } from 'prom-client'
import { sql } from 'kysely'
import type { Config } from '../config.js'
import { onTransactionRetry } from '../db/transaction.js'

export interface AppMetrics {
  registry: Registry
  /** Requests refused by a rate limit; `policy` is HubSpot's policyName (TEN_SECONDLY_ROLLING, DAILY). */
  rateLimitRejections: Counter<'policy'>
  transactionRetries: Counter<'reason'>
  importRowsApplied: Counter
}

declare module 'fastify' {
  interface FastifyInstance { appMetrics: AppMetrics }
}

const BACKLOG_STATES = ['STARTED', 'DEFERRED', 'PROCESSING'] as const

interface ScrapeRow {
  backlog: Record<string, number> | string | null
  newest_event_at: number | string | null
  webhook_lag: number | string | null
  pending_deliveries: number | string
}

const num = (v: number | string | null): number | null => v === null ? null : Number(v)

export default fp<{ config: Config }>(async (app, opts) => {
  const registry = new Registry()
  const appMetrics: AppMetrics = {
    registry,
    rateLimitRejections: new Counter({ name: 'rate_limit_rejections_total', help: 'Requests answered 429 by a rate limit, by policy', labelNames: ['policy'], registers: [registry] }),
    transactionRetries: new Counter({ name: 'db_transaction_retries_total', help: 'Transactions run again after a deadlock or serialization failure', labelNames: ['reason'], registers: [registry] }),
    importRowsApplied: new Counter({ name: 'import_rows_applied_total', help: 'Import rows committed by this process (rate() gives rows/s)', registers: [registry] })
  }
  app.decorate('appMetrics', appMetrics)
  onTransactionRetry(app.db, (reason) => { appMetrics.transactionRetries.inc({ reason }) })
  if (!opts.config.METRICS_ENABLED) return

  const engine = app.dbEngine
  const pool = app.dbHandle.pool
  const dbInfo = new Gauge({ name: 'db_info', help: 'The database engine (value 1)', labelNames: ['engine'], registers: [registry] })
  dbInfo.set({ engine }, 1)
  if (pool !== undefined) {
    new Gauge({ name: 'db_pool_max', help: 'Most connections the pool opens (DB_POOL_MAX)', registers: [registry] }).set(opts.config.DB_POOL_MAX)
    registry.registerMetric(new Gauge({
      name: 'db_pool_connections',
      help: 'Pool connections by state (idle, in_use)',
      labelNames: ['state'],
      registers: [],
      collect () {
        this.set({ state: 'idle' }, pool.idleCount)
        this.set({ state: 'in_use' }, pool.totalCount - pool.idleCount)
      }
    }))
    registry.registerMetric(new Gauge({
      name: 'db_pool_waiting_clients',
      help: 'Queries waiting for a pool connection',
      registers: [],
      collect () { this.set(pool.waitingCount) }
    }))
  }

  // One query per scrape for everything read from the database; a failure leaves these series out (the scrape works).
  const backlog = new Gauge({ name: 'imports_backlog', help: 'Imports waiting or running, by state', labelNames: ['state'], registers: [registry] })
  const newestEvent = new Gauge({ name: 'events_newest_timestamp_seconds', help: 'When the newest association change event was written (Unix seconds; 0 = none yet); feed age is time() minus this', registers: [registry] })
  const webhookLag = new Gauge({ name: 'webhook_lag_seconds', help: 'Age of the oldest event not yet delivered to a subscription that wants it (0 when all are delivered)', registers: [registry] })
  const pending = new Gauge({ name: 'webhook_deliveries_pending', help: 'Webhook deliveries waiting to be sent or retried', registers: [registry] })
  async function scrapeDatabase (): Promise<void> {
    backlog.reset()
    newestEvent.reset()
    webhookLag.reset()
    pending.reset()
    let row: ScrapeRow | undefined
    try {
      row = (await sql<ScrapeRow>`
        select
          (select json_object_agg(state, n) from (
             select state, count(*)::int as n from imports where state in ('STARTED', 'DEFERRED', 'PROCESSING') group by state) b) as backlog,
          (select extract(epoch from max(occurred_at))::float8 from events) as newest_event_at,
          (select extract(epoch from now() - min(oldest))::float8 from (
             select (select e.occurred_at from events e
                     where e.account_id = s.account_id and (e.xid, e.id) > (s.cursor_xid, s.cursor_id) and e.kind = any (s.event_kinds)
                     order by e.xid, e.id limit 1) as oldest
             from webhook_subscriptions s
             union all
             select coalesce(e.occurred_at, d.created_at) from webhook_deliveries d
             left join events e on e.account_id = d.account_id and e.id = d.event_ids[1]
             where d.status = 'PENDING') w) as webhook_lag,
          (select count(*)::int from webhook_deliveries where status = 'PENDING') as pending_deliveries
      `.execute(app.db)).rows[0]
    } catch (err) {
      app.log.warn({ err }, 'metrics: database scrape failed')
      return
    }
    if (row === undefined) return
    const counts = typeof row.backlog === 'string' ? JSON.parse(row.backlog) as Record<string, number> : row.backlog ?? {}
    for (const state of BACKLOG_STATES) backlog.set({ state }, counts[state] ?? 0)
    newestEvent.set(num(row.newest_event_at) ?? 0)
    webhookLag.set(Math.max(num(row.webhook_lag) ?? 0, 0))
    pending.set(Number(row.pending_deliveries))
  }

  await app.register(fastifyMetrics.default, {
    name: 'metrics',
    endpoint: null,
    defaultMetrics: { enabled: true, register: registry },
    routeMetrics: {
      enabled: { histogram: true, summary: false },
      routeBlacklist: ['/metrics'],
      overrides: {
        histogram: { registers: [registry], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] },
        summary: { registers: [registry] }
      }
    }
  })

  app.get('/metrics', { schema: { hide: true }, logLevel: 'warn' }, async (_request, reply) => {
    await scrapeDatabase()
    return await reply.type(registry.contentType).send(await registry.metrics())
  })
}, { name: 'app-metrics', dependencies: ['db'] })
