// buildApp(config): the whole service as a Fastify instance. It never listens; server.ts does.
import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Config } from './config.js'
import type { DatabaseHandle } from './db/database.js'
import dbPlugin from './plugins/db.js'
import servicesPlugin from './plugins/services.js'
import errorHandlerPlugin, { frameworkErrors } from './plugins/error-handler.js'
import authPlugin from './plugins/auth.js'
import rateLimitPlugin from './plugins/rate-limit.js'
import loadSheddingPlugin from './plugins/load-shedding.js'
import readRoutingPlugin from './plugins/read-routing.js'
import idempotencyPlugin from './plugins/idempotency.js'
import openapiPlugin from './plugins/openapi.js'
import metricsPlugin from './plugins/metrics.js'
import { buildResponseSerializer } from './lib/response-serializers.js'
import { SHARED_SCHEMAS } from './schemas/common.schemas.js'
import { RECORD_SCHEMAS } from './schemas/records.schemas.js'
import { RECORD_BATCH_SCHEMAS } from './schemas/records-batch.schemas.js'
import { OBJECT_TYPE_SCHEMAS } from './schemas/object-types.schemas.js'
import { ADMIN_SCHEMAS } from './schemas/admin.schemas.js'
import { ASSOCIATION_SCHEMAS } from './schemas/associations.schemas.js'
import { LABEL_SCHEMAS } from './schemas/labels.schemas.js'
import { ASSOCIATION_BATCH_SCHEMAS } from './schemas/associations-batch.schemas.js'
import { IMPORT_SCHEMAS } from './schemas/imports.schemas.js'
import healthRoutes from './routes/health.routes.js'
import recordsRoutes from './routes/records.routes.js'
import searchRoutes from './routes/search.routes.js'
import { SEARCH_SCHEMAS } from './schemas/search.schemas.js'
import recordsBatchRoutes from './routes/records-batch.routes.js'
import objectTypesRoutes from './routes/object-types.routes.js'
import adminRoutes from './routes/admin.routes.js'
import associationsRoutes from './routes/associations.routes.js'
import labelsRoutes from './routes/labels.routes.js'
import associationsBatchRoutes from './routes/associations-batch.routes.js'
import usageReportsRoutes from './routes/usage-reports.routes.js'
import { USAGE_REPORT_SCHEMAS } from './schemas/usage-reports.schemas.js'
import importsRoutes from './routes/imports.routes.js'
import eventsRoutes from './routes/events.routes.js'
import webhooksRoutes from './routes/webhooks.routes.js'
import { EVENT_SCHEMAS } from './schemas/events.schemas.js'
import { WEBHOOK_SCHEMAS } from './schemas/webhooks.schemas.js'

export interface BuildOptions {
  /** Logger settings; by default JSON at LOG_LEVEL (see `logOptions`). `false` silences it (tests). */
  logger?: FastifyServerOptions['logger']
  /** Where JSON log lines go instead of stdout (tests read them). */
  logStream?: { write: (line: string) => void }
  /** Human-readable logs through pino-pretty (a person at a terminal). */
  prettyLogs?: boolean
  /** An already open database (tests share their per-file database this way). */
  database?: DatabaseHandle
}

const JSON_CONTENT_TYPE = 'application/json;charset=utf-8'

/** Structured pino logs: every line of a request carries its correlation id; keys and cookies never reach a log. */
function logOptions (level: string, options: BuildOptions): NonNullable<FastifyServerOptions['logger']> {
  const base = {
    level,
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'authorization'], censor: '[redacted]' }
  }
  if (options.logStream !== undefined) return { ...base, stream: options.logStream }
  if (options.prettyLogs === true) return { ...base, transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss', ignore: 'pid,hostname' } } }
  return base
}

/**
 * Node checks the headers and request timeouts on a timer (every 30 s by default), so a slowloris connection could
 * outlive its timeout by that much: check four times per shorter timeout, never less often than Node does.
 */
function httpServerOptions (config: Config): { requestTimeout: number, headersTimeout: number, connectionsCheckingInterval: number } {
  // Node refuses a headers timeout longer than the request timeout.
  const headersTimeout = Math.min(config.HTTP_HEADERS_TIMEOUT_MS, config.HTTP_REQUEST_TIMEOUT_MS)
  return {
    requestTimeout: config.HTTP_REQUEST_TIMEOUT_MS,
    headersTimeout,
    connectionsCheckingInterval: Math.min(30_000, Math.max(25, Math.floor(headersTimeout / 4)))
  }
}

export async function buildApp (config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? logOptions(config.LOG_LEVEL, options),
    genReqId: () => randomUUID(),
    // The correlation id is always ours (a UUID); a client header must not replace it.
    requestIdHeader: false,
    bodyLimit: config.BODY_LIMIT_BYTES,
    connectionTimeout: config.HTTP_CONNECTION_TIMEOUT_MS,
    requestTimeout: config.HTTP_REQUEST_TIMEOUT_MS,
    keepAliveTimeout: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    http: httpServerOptions(config),
    return503OnClosing: true,
    // A first start on PGlite (create the data folder, run every migration) can take longer than the 10 s default.
    pluginTimeout: 120_000,
    // Path parameters may hold an email or a URL (idProperty); longer ones, and bad encodings, get the HubSpot error body.
    routerOptions: { maxParamLength: 2000 },
    frameworkErrors,
    // Each response serializer gets only the shared schemas it refers to (lib/response-serializers.ts).
    schemaController: { compilersFactory: { buildSerializer: buildResponseSerializer } },
    ajv: {
      customOptions: {
        removeAdditional: false,
        coerceTypes: 'array',
        useDefaults: true,
        allErrors: false
      }
    }
  }).withTypeProvider<TypeBoxTypeProvider>()

  for (const schema of [...SHARED_SCHEMAS, ...RECORD_SCHEMAS, ...RECORD_BATCH_SCHEMAS, ...OBJECT_TYPE_SCHEMAS, ...ADMIN_SCHEMAS, ...ASSOCIATION_SCHEMAS, ...LABEL_SCHEMAS, ...ASSOCIATION_BATCH_SCHEMAS, ...IMPORT_SCHEMAS, ...USAGE_REPORT_SCHEMAS]) app.addSchema(schema)

  for (const schema of SEARCH_SCHEMAS) app.addSchema(schema)
  for (const schema of [...EVENT_SCHEMAS, ...WEBHOOK_SCHEMAS]) app.addSchema(schema)

  // Every answer with a body says JSON exactly as HubSpot does; the Node client parses bodies only with a JSON type.
  app.addHook('onRequest', async (request, reply) => { reply.header('x-hubspot-correlation-id', request.id) })
  // While closing, answers to in-flight requests end their keep-alive connection, so shutdown does not wait for
  // clients' idle sockets (keepAliveTimeout) after the last answer.
  let closing = false
  app.addHook('preClose', async () => { closing = true })
  app.addHook('onSend', async (_request, reply, payload) => {
    const type = reply.getHeader('content-type')
    if (typeof type === 'string' && type.startsWith('application/json')) reply.header('content-type', JSON_CONTENT_TYPE)
    if (closing) reply.header('connection', 'close')
    return payload
  })

  // An empty body sent with a JSON content type (curl -H on a PUT default) means "no body", not a parse error.
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8')
    if (text.trim() === '') { done(null, undefined); return }
    parseJson(request, text, done)
  })

  await app.register(errorHandlerPlugin)
  await app.register(dbPlugin, { config, handle: options.database })
  // Before the services (import rows counter) and every route (request histograms).
  await app.register(metricsPlugin, { config })
  await app.register(servicesPlugin, { config })
  await app.register(openapiPlugin, { config })

  await app.register(healthRoutes)
  // The API proper: every route below needs a bearer key.
  await app.register(async (api) => {
    // Shed load before any work (even the key lookup); then authenticate; then count the call against the key.
    await api.register(loadSheddingPlugin, { config })
    await api.register(authPlugin)
    await api.register(readRoutingPlugin)
    await api.register(rateLimitPlugin, { config })
    // Writes with an Idempotency-Key: a retry gets the first answer (after the key's account is known and the call counted).
    await api.register(idempotencyPlugin, { config })
    await api.register(recordsRoutes)
    await api.register(searchRoutes)
    await api.register(recordsBatchRoutes, { config })
    await api.register(objectTypesRoutes, { prefix: '/crm/v3/schemas' })
    await api.register(adminRoutes)
    await api.register(associationsRoutes)
    await api.register(labelsRoutes, { prefix: '/crm/v4/associations' })
    await api.register(associationsBatchRoutes, { prefix: '/crm/v4/associations', config })
    await api.register(usageReportsRoutes, { prefix: '/crm/v4/associations' })
    await api.register(importsRoutes, { config, base: '/crm/v3/imports' })
    await api.register(eventsRoutes)
    await api.register(webhooksRoutes)
    // The alias HubSpot's spec uses for labels and configurations since late 2025 (API.md §0); hidden from OpenAPI.
    await api.register(labelsRoutes, { prefix: '/crm/associations/v4', hide: true })
    // The schemas path the official Node client 13.5 calls; hidden from OpenAPI.
    await api.register(objectTypesRoutes, { prefix: '/crm-object-schemas/v3/schemas', hide: true })
    // HubSpot's date-versioned Imports paths (IMPORTS.md §1); hidden from OpenAPI.
    for (const version of ['2026-03', '2026-09']) await api.register(importsRoutes, { config, base: `/crm/imports/${version}`, hide: true })
  })
  return app
}
