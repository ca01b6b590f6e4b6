// OpenTelemetry (issue 7, §3): the real server started the way `npm start` and the image start it (`--import` of
// src/telemetry.ts), exporting over OTLP/HTTP to a receiver in this test. With an endpoint: request, handler, service
// and (on PostgreSQL) SQL spans of one trace, nested in that order, no parameter values in them, flushed on SIGTERM.
// Without one: not one OpenTelemetry module is loaded.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { Teardown } from '../helpers/app.js'
import { createTestDatabase } from '../helpers/db.js'
import { postgresReachable } from '../helpers/engine.js'

const KEY = 'aak_telemetry_test_key_0123456789abcdef'
const root = new URL('../../', import.meta.url).pathname

interface ExportedSpan { scope: string, name: string, traceId: string, spanId: string, parentSpanId: string, attributes: Record<string, unknown> }

interface OtlpSpan { name: string, traceId: string, spanId: string, parentSpanId?: string, attributes?: Array<{ key: string, value: Record<string, unknown> }> }
interface OtlpBody { resourceSpans: Array<{ scopeSpans: Array<{ scope: { name: string }, spans: OtlpSpan[] }> }> }

/** An OTLP/HTTP (JSON) trace receiver on 127.0.0.1; records every span it is sent. */
async function startCollector (t: Teardown): Promise<{ endpoint: string, spans: ExportedSpan[], paths: string[] }> {
  const spans: ExportedSpan[] = []
  const paths: string[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => { body += chunk })
    req.on('end', () => {
      paths.push(req.url ?? '')
      if (req.url === '/v1/traces') {
        for (const resource of (JSON.parse(body) as OtlpBody).resourceSpans) {
          for (const scope of resource.scopeSpans) {
            for (const span of scope.spans) {
              const attributes = Object.fromEntries((span.attributes ?? []).map((a) => [a.key, Object.values(a.value)[0]]))
              spans.push({ scope: scope.scope.name, name: span.name, traceId: span.traceId, spanId: span.spanId, parentSpanId: span.parentSpanId ?? '', attributes })
            }
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { await new Promise((resolve) => server.close(resolve)) })
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, paths }
}

interface Server { child: ChildProcess, base: string, exited: Promise<number | null> }

/** The server as `npm start` runs it (plus `preload` first), on the test's own database. */
async function startServer (t: Teardown, env: Record<string, string>, preload: string[] = []): Promise<Server> {
  const database = await createTestDatabase(2)
  const folder = mkdtempSync(join(tmpdir(), 'telemetry-'))
  // The child opens the database itself: PostgreSQL by URL, PGlite in a data folder of its own.
  const engineEnv = database.url !== undefined ? { DATABASE_URL: database.url } : { DATA_DIR: join(folder, 'data') }
  if (database.url === undefined) await database.handle.db.destroy()
  const child = spawn(process.execPath, ['--import', 'tsx', ...preload.flatMap((p) => ['--import', p]), '--import', './src/telemetry.ts', 'src/server.ts'], {
    cwd: root,
    env: { ...process.env, ...engineEnv, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', BOOTSTRAP_API_KEY: KEY, DOCS_ENABLED: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  t.teardown(async () => {
    if (child.exitCode === null) child.kill('SIGKILL')
    await exited
    if (database.url !== undefined) await database.handle.db.destroy()
    await database.drop()
    rmSync(folder, { recursive: true, force: true })
  })
  let output = ''
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`server did not start:\n${output}`)) }, 90_000)
    child.stdout?.on('data', (data: Buffer) => {
      output += data.toString()
      const port = /Explorer: http:\/\/localhost:(\d+)/.exec(output)?.[1]
      if (port !== undefined) { clearTimeout(timer); resolve(`http://127.0.0.1:${port}`) }
    })
    child.stderr?.on('data', (data: Buffer) => { output += data.toString() })
    exited.then((code) => { clearTimeout(timer); reject(new Error(`server exited (${String(code)}):\n${output}`)) }, reject)
  })
  return { child, base, exited }
}

async function call (server: Server, method: string, path: string, body?: unknown): Promise<{ status: number, json: any }> {
  const res = await fetch(server.base + path, {
    method,
    headers: { authorization: `Bearer ${KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  return { status: res.status, json: await res.json() }
}

async function stop (server: Server): Promise<number | null> {
  server.child.kill('SIGTERM')
  return await server.exited
}

t.test('with an OTLP endpoint: request, handler, service and SQL spans of one trace, flushed on SIGTERM', async (t) => {
  const collector = await startCollector(t)
  // A long batch delay: the spans of the last request can only arrive through the flush on shutdown.
  const server = await startServer(t, { OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint, OTEL_BSP_SCHEDULE_DELAY: '600000', OTEL_SERVICE_NAME: 'assoc-under-test' })
  const email = 'secret-value-7731@example.com'
  const created = await call(server, 'POST', '/crm/v3/objects/contacts', { properties: { email } })
  t.equal(created.status, 201)
  const contact = await call(server, 'GET', `/crm/v3/objects/contacts/${String(created.json.id)}`)
  t.equal(contact.status, 200)
  t.equal(await stop(server), 0, 'clean exit on SIGTERM')

  const { spans } = collector
  const request = spans.find((s) => s.name === 'request' && s.attributes['http.request.method'] === 'POST' && s.attributes['url.path'] === '/crm/v3/objects/contacts')
  t.ok(request, 'a request span for the POST')
  if (request === undefined) return
  t.equal(request.attributes['http.route'], '/crm/v3/objects/:objectType')
  t.equal(request.attributes['http.response.status_code'], 201)
  const trace = spans.filter((s) => s.traceId === request.traceId)
  const byId = new Map(trace.map((s) => [s.spanId, s]))
  const handler = trace.find((s) => s.attributes['fastify.type'] === 'request-handler')
  t.equal(handler?.parentSpanId, request.spanId, 'the handler span is the request span\'s child')
  const service = trace.find((s) => s.scope === 'associations-api' && s.name.startsWith('records'))
  t.ok(service, `a service span in the trace (spans: ${trace.map((s) => s.name).join(', ')})`)
  t.equal(service?.parentSpanId, handler?.spanId, 'the service span is the handler span\'s child')
  if (await postgresReachable()) {
    const queries = trace.filter((s) => s.scope === '@opentelemetry/instrumentation-pg' && s.name.startsWith('pg.query'))
    t.ok(queries.length > 0, 'SQL spans in the trace')
    t.ok(queries.some((q) => q.parentSpanId === service?.spanId || byId.get(q.parentSpanId)?.parentSpanId === service?.spanId), 'SQL spans under the service span')
    t.ok(queries.every((q) => typeof q.attributes['db.query.text'] === 'string'), 'each SQL span carries its statement')
  }
  t.notOk(JSON.stringify(spans).includes(email), 'no parameter value (the e-mail) in any span')
  t.notOk(JSON.stringify(spans).includes(KEY), 'no API key in any span')
  t.ok(spans.some((s) => s.name === 'request' && s.attributes['http.request.method'] === 'GET'), 'the last request\'s spans arrived (flushed on shutdown)')
  t.notOk(spans.some((s) => String(s.attributes['url.path']).startsWith('/health/')), 'health checks are not traced')
  t.same(new Set(collector.paths), new Set(['/v1/traces']), 'traces only: no metrics or logs exported')
})

// What is loaded does not depend on the engine: one run, on PostgreSQL when it is there (a PGlite child starts slowly).
t.test('without an endpoint: no OpenTelemetry module is loaded', { skip: !await postgresReachable() && 'engine-independent: runs on PostgreSQL' }, async (t) => {
  const folder = mkdtempSync(join(tmpdir(), 'telemetry-probe-'))
  t.teardown(() => { rmSync(folder, { recursive: true, force: true }) })
  const file = join(folder, 'modules.txt')
  const env: Record<string, string> = { LOADED_MODULES_FILE: file, OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '' }
  const server = await startServer(t, env, ['./test/helpers/loaded-modules-probe.ts'])
  t.equal((await call(server, 'GET', '/crm/v3/objects/contacts')).status, 200)
  t.equal(await stop(server), 0)
  const modules = readFileSync(file, 'utf8').split('\n')
  t.ok(modules.some((url) => url.includes('/node_modules/fastify/')), 'the probe saw the app\'s modules load')
  t.ok(modules.some((url) => url.endsWith('/src/telemetry.ts')), 'the probe saw telemetry.ts load')
  t.same(modules.filter((url) => /\/node_modules\/(@opentelemetry|@fastify\/otel|import-in-the-middle)\//.test(url)), [], 'no OpenTelemetry module')
})
