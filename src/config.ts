// Configuration: environment variables only, validated once at start (env-schema + TypeBox).
import envSchema from 'env-schema'
import { Type, type Static } from '@sinclair/typebox'

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

export const ConfigSchema = Type.Object({
  HOST: Type.String({ default: '0.0.0.0', description: 'Interface to listen on' }),
  PORT: Type.Integer({ default: 3000, minimum: 0, maximum: 65535 }),
  // One `enum` (not a union of literals), so a bad value gets one error listing the allowed values.
  LOG_LEVEL: Type.Unsafe<typeof LOG_LEVELS[number]>({ type: 'string', enum: [...LOG_LEVELS], default: 'info' }),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://', description: 'PostgreSQL URL; unset = embedded PGlite' })),
  DATA_DIR: Type.String({ default: './data', description: 'PGlite data folder; memory:// keeps it in memory' }),
  DB_POOL_MAX: Type.Integer({ default: 10, minimum: 1, maximum: 200 }),
  DB_TIMEOUT_MS: Type.Integer({ default: 5000, minimum: 100, description: 'Connection and statement timeout' }),
  READ_DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://', description: 'PostgreSQL URL of a streaming read replica for GET requests; needs DATABASE_URL' })),
  READ_REPLICA_CHECK_MS: Type.Integer({ default: 1000, minimum: 50, description: 'How often the read replica is checked (reachable, replay position, lag)' }),
  READ_REPLICA_MAX_LAG_MS: Type.Integer({ default: 5000, minimum: 0, description: 'Reads go to the primary while the replica lags more than this (ms)' }),
  BODY_LIMIT_BYTES: Type.Integer({ default: 10 * 1024 * 1024, minimum: 1024 }),
  // Slow clients (slowloris, trickled bodies) hold a socket each; these bound how long, so they cannot starve the rest.
  HTTP_HEADERS_TIMEOUT_MS: Type.Integer({ default: 30_000, minimum: 100, description: 'A request whose headers are not all in by then gets 408 and its connection closed' }),
  HTTP_REQUEST_TIMEOUT_MS: Type.Integer({ default: 120_000, minimum: 100, description: 'A request (headers and body) not fully received by then gets 408 and its connection closed' }),
  HTTP_CONNECTION_TIMEOUT_MS: Type.Integer({ default: 30_000, minimum: 100, description: 'A connection with no bytes either way for this long is closed' }),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: Type.Integer({ default: 72_000, minimum: 100, description: 'An idle keep-alive connection is closed after this long' }),
  DOCS_ENABLED: Type.Boolean({ default: true }),
  METRICS_ENABLED: Type.Boolean({ default: true, description: 'Serve Prometheus metrics at GET /metrics (no API key: keep the port private or set false)' }),
  BOOTSTRAP_API_KEY: Type.Optional(Type.String({ minLength: 20, maxLength: 200 })),
  CLOSE_GRACE_DELAY_MS: Type.Integer({ default: 10000, minimum: 0 }),
  PUBLIC_URL: Type.Optional(Type.String({ description: 'Base URL shown in the explorer and in paging links' })),
  MAX_ASSOCIATIONS_PER_TYPE: Type.Integer({ default: 10000, minimum: 1 }),
  MAX_LABELS_PER_PAIR: Type.Integer({ default: 10, minimum: 1 }),
  BATCH_READ_MAX: Type.Integer({ default: 1000, minimum: 1 }),
  BATCH_CREATE_MAX: Type.Integer({ default: 2000, minimum: 1 }),
  RECORD_BATCH_MAX: Type.Integer({ default: 100, minimum: 1 }),
  PAGE_LIMIT_MAX: Type.Integer({ default: 500, minimum: 1 }),
  IMPORT_DIR: Type.Optional(Type.String({ minLength: 1, description: 'Where uploaded import files are stored; default <DATA_DIR>/imports, or a folder under the OS temp dir when DATA_DIR is memory://' })),
  IMPORT_MAX_FILE_BYTES: Type.Integer({ default: 512 * 1024 * 1024, minimum: 1, description: 'Largest import file; a larger one is a 429' }),
  IMPORT_MAX_ROWS: Type.Integer({ default: 1_048_576, minimum: 1, description: 'Most data rows per import file; more fail the import' }),
  IMPORT_CONCURRENCY: Type.Integer({ default: 3, minimum: 1, maximum: 100, description: 'Imports processed at once by one process; the rest wait (DEFERRED)' }),
  IMPORT_CHUNK_ROWS: Type.Integer({ default: 2000, minimum: 1, maximum: 100_000, description: 'Rows applied per transaction' }),
  IMPORT_CHUNK_CHARS: Type.Integer({ default: 500_000, minimum: 1, description: 'A chunk ends early once its cells hold this many characters (wide rows), so memory per chunk stays bounded' }),
  IMPORT_LEASE_MS: Type.Integer({ default: 30_000, minimum: 500, description: 'How long a PROCESSING import stays claimed without a heartbeat before another process may resume it' }),
  IMPORT_POLL_MS: Type.Integer({ default: 2000, minimum: 50, description: 'How often an idle runner looks for imports to start or resume' }),
  EVENT_RETENTION_DAYS: Type.Number({ default: 30, exclusiveMinimum: 0, description: 'How long association change events are kept (days; fractions allowed)' }),
  EVENT_PURGE_INTERVAL_MS: Type.Integer({ default: 3_600_000, minimum: 10, description: 'How often old events and delivery logs are purged' }),
  IDEMPOTENCY_TTL_HOURS: Type.Number({ default: 24, exclusiveMinimum: 0, description: 'How long an Idempotency-Key is remembered (hours; fractions allowed)' }),
  IDEMPOTENCY_PURGE_INTERVAL_MS: Type.Integer({ default: 3_600_000, minimum: 10, description: 'How often expired idempotency keys are purged' }),
  WEBHOOK_BATCH_SIZE: Type.Integer({ default: 100, minimum: 1, maximum: 1000, description: 'Most events per webhook delivery' }),
  WEBHOOK_CONCURRENCY: Type.Integer({ default: 4, minimum: 1, maximum: 100, description: 'Subscriptions delivered to at once by one process' }),
  WEBHOOK_POLL_MS: Type.Integer({ default: 1000, minimum: 10, description: 'How often the webhook worker looks for new events and due retries' }),
  DELIVERY_TIMEOUT_MS: Type.Integer({ default: 10_000, minimum: 10, description: 'A webhook POST that has not answered by then counts as failed' }),
  WEBHOOK_RETRY_BASE_MS: Type.Integer({ default: 30_000, minimum: 1, description: 'First retry delay; doubles per attempt, with jitter' }),
  WEBHOOK_RETRY_MAX_MS: Type.Integer({ default: 3_600_000, minimum: 1, description: 'Longest delay between two attempts' }),
  WEBHOOK_RETRY_FOR_MS: Type.Integer({ default: 86_400_000, minimum: 1, description: 'How long a delivery is retried before it is given up (FAILED)' }),
  WEBHOOK_LEASE_MS: Type.Integer({ default: 60_000, minimum: 100, description: 'How long a worker holds a subscription without renewing; at least twice DELIVERY_TIMEOUT_MS is used' }),
  RATE_LIMIT_BURST_PER_10S: Type.Integer({ default: 150, minimum: 1, description: 'Calls per API key per 10 s rolling window (HubSpot TEN_SECONDLY_ROLLING); a key row may set its own' }),
  RATE_LIMIT_DAILY: Type.Integer({ default: 500_000, minimum: 1, description: 'Calls per API key per UTC day (HubSpot DAILY); a key row may set its own' }),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://', description: 'Redis for rate-limit counters shared by every instance; unset = counters in this process' })),
  RATE_LIMIT_REDIS_PREFIX: Type.String({ default: 'associations:ratelimit:', minLength: 1, description: 'Prefix of the rate-limit keys in Redis' }),
  LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: Type.Integer({ default: 0, minimum: 0, description: 'Answer 503 while the mean event-loop delay is above this (ms), e.g. 1000 on PostgreSQL; 0 = off (embedded PGlite runs queries on the event loop)' }),
  LOAD_SHED_MAX_HEAP_BYTES: Type.Optional(Type.Integer({ minimum: 0, description: 'Answer 503 while the V8 heap in use is above this; unset = 90% of the heap limit, 0 = off' })),
  LOAD_SHED_MAX_RSS_BYTES: Type.Integer({ default: 0, minimum: 0, description: 'Answer 503 while the resident set size is above this; 0 = off' }),
  LOAD_SHED_SAMPLE_INTERVAL_MS: Type.Integer({ default: 1000, minimum: 10, description: 'How often event-loop delay and memory are sampled' })
})

export type Config = Readonly<Static<typeof ConfigSchema>>

/** Reads and validates the environment; throws an error naming the bad variable. */
export function loadConfig (env: Record<string, string | undefined> = process.env, overrides: Partial<Config> = {}): Config {
  const data: Record<string, unknown> = {}
  for (const key of Object.keys(ConfigSchema.properties)) {
    const value = env[key]
    if (value !== undefined && value !== '') data[key] = value
  }
  const parsed = envSchema<Static<typeof ConfigSchema>>({
    schema: ConfigSchema,
    data: [data, overrides],
    env: false,
    dotenv: false
  })
  // A replica of the embedded engine cannot exist: say so rather than silently reading from PGlite.
  if (parsed.READ_DATABASE_URL !== undefined && parsed.DATABASE_URL === undefined) {
    throw new Error('READ_DATABASE_URL needs DATABASE_URL: read replicas are for PostgreSQL, the embedded PGlite engine has none')
  }
  return Object.freeze(parsed)
}
