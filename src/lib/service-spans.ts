// Service-layer spans for OpenTelemetry. The tracer is installed by src/telemetry.ts (loaded with `node --import`) only
// when an OTLP endpoint is configured; otherwise nothing here touches OpenTelemetry (the import below is type-only)
// and the services are used as they are.
import type { Span, Tracer } from '@opentelemetry/api'

export interface Telemetry {
  tracer: Tracer
  /** SpanStatusCode.ERROR, passed in so this module never loads @opentelemetry/api itself. */
  errorStatusCode: number
  /** Flushes spans still buffered and stops the SDK. */
  shutdown: () => Promise<void>
}

// A global, not a module variable: under tsx the --import'ed telemetry module and the app may be loaded as two
// module instances of this file.
const TELEMETRY = Symbol.for('associations-api.telemetry')
type TelemetryHolder = typeof globalThis & { [TELEMETRY]?: Telemetry }

export function installTelemetry (telemetry: Telemetry): void {
  (globalThis as TelemetryHolder)[TELEMETRY] = telemetry
}

export function activeTelemetry (): Telemetry | undefined {
  return (globalThis as TelemetryHolder)[TELEMETRY]
}

/** Flushes and stops tracing, if it runs; the server calls it after the app has closed. */
export async function shutdownTelemetry (): Promise<void> {
  await activeTelemetry()?.shutdown()
}

/**
 * Each service's methods wrapped in a span named `<service>.<method>`, the active span while the method runs (so the
 * SQL spans of pg nest under it). Without telemetry the object itself is returned: no proxy, no cost.
 */
export function traceServices<T extends object> (services: T): T {
  const telemetry = activeTelemetry()
  if (telemetry === undefined) return services
  const traced: Record<string, unknown> = {}
  for (const [name, service] of Object.entries(services)) {
    traced[name] = typeof service === 'object' && service !== null ? traceService(telemetry, name, service) : service
  }
  return traced as T
}

function traceService (telemetry: Telemetry, serviceName: string, service: object): object {
  const wrappers = new Map<PropertyKey, unknown>()
  return new Proxy(service, {
    get (target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver)
      if (typeof value !== 'function' || typeof property !== 'string') return value
      let wrapper = wrappers.get(property)
      if (wrapper === undefined) {
        wrapper = wrapInSpan(telemetry, `${serviceName}.${property}`, value as (...args: unknown[]) => unknown, target)
        wrappers.set(property, wrapper)
      }
      return wrapper
    }
  })
}

function wrapInSpan (telemetry: Telemetry, spanName: string, method: (...args: unknown[]) => unknown, self: object) {
  return (...args: unknown[]): unknown => telemetry.tracer.startActiveSpan(spanName, { attributes: { 'code.function': spanName } }, (span) => {
    let result: unknown
    try {
      result = method.apply(self, args)
    } catch (err) {
      endWithError(telemetry, span, err)
      throw err
    }
    if (result instanceof Promise) {
      return result.then(
        (value: unknown) => { span.end(); return value },
        (err: unknown) => { endWithError(telemetry, span, err); throw err }
      )
    }
    span.end()
    return result
  })
}

function endWithError (telemetry: Telemetry, span: Span, err: unknown): void {
  if (err instanceof Error) span.recordException(err)
  span.setStatus({ code: telemetry.errorStatusCode, message: err instanceof Error ? err.message : String(err) })
  span.end()
}
