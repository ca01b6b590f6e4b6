// OpenTelemetry tracing, loaded before the app: `node --import ./dist/telemetry.js dist/server.js` (npm start does it).
// With no OTLP endpoint in the environment it loads nothing at all and returns; with one it exports traces over
// OTLP/HTTP: a span per request and its handler (@fastify/otel), per service call (src/lib/service-spans.ts) and per
// SQL statement on PostgreSQL (instrumentation-pg). The SDK reads the standard OTEL_* variables (service name,
// resource attributes, sampler, batch delay, headers); README, Observability.
import { installTelemetry } from './lib/service-spans.js'

const endpoint = process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? process.env.OTEL_EXPORTER_OTLP_ENDPOINT
if (endpoint !== undefined && endpoint !== '' && process.env.OTEL_SDK_DISABLED !== 'true') await startTracing()

async function startTracing (): Promise<void> {
  // pg is imported from ES modules: its instrumentation needs the ESM loader hook, registered before the app loads.
  const { register } = await import('node:module')
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url)
  const [{ NodeSDK }, { OTLPTraceExporter }, { FastifyOtelInstrumentation }, { PgInstrumentation }, api] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@fastify/otel'),
    import('@opentelemetry/instrumentation-pg'),
    import('@opentelemetry/api')
  ])
  const sdk = new NodeSDK({
    serviceName: process.env.OTEL_SERVICE_NAME ?? 'associations-api',
    traceExporter: new OTLPTraceExporter(),
    // Traces only: metrics are served by GET /metrics, logs by pino.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      // registerOnInitialization: every Fastify instance created after this gets the plugin (the app is not touched).
      new FastifyOtelInstrumentation({ registerOnInitialization: true, ignorePaths: (route) => route.url.startsWith('/health/') || route.url === '/metrics' }),
      // Statement text without parameter values: values can be customer data.
      new PgInstrumentation({ enhancedDatabaseReporting: false })
    ]
  })
  sdk.start()
  installTelemetry({
    tracer: api.trace.getTracer('associations-api'),
    errorStatusCode: api.SpanStatusCode.ERROR,
    shutdown: async () => { await sdk.shutdown() }
  })
}
