// Schema fuzzing (issue 7 §5): every route of the app's own OpenAPI document gets random and malformed path params,
// query strings, headers and bodies (wrong types, huge numbers, unicode, missing and extra fields, bad JSON, wrong
// content types, percent-encoding junk) with a valid API key. No answer may be a 5xx, and every 4xx carries the
// HubSpot error body (API.md §2.9). FUZZ_SCHEMA_RUNS (requests per route) and FUZZ_SEED override the defaults.
import t from 'tap'
import fc from 'fast-check'
import type { InjectOptions } from 'fastify'
import { build } from '../helpers/app.js'
import { createRecord } from '../helpers/factories.js'

type Schema = Record<string, any>
interface Operation { method: string, path: string, params: string[], query: Schema[], body?: Schema, contentType?: string }

const RUNS = Number(process.env.FUZZ_SCHEMA_RUNS ?? '') || 25
const SEED = Number(process.env.FUZZ_SEED ?? '') || 7_7001

/** Routes outside the API (probes, explorer, metrics) and admin deletes (they could revoke the key the fuzzer uses). */
const skip = (method: string, path: string): boolean =>
  /^\/(health|docs|openapi|metrics)/.test(path) || (method === 'DELETE' && path.startsWith('/admin/')) || (method === 'PATCH' && path.startsWith('/admin/'))

// ---- values

const hugeNumbers = fc.constantFrom(2 ** 31, 2 ** 53 + 1, 1e308, -1e308, -1, -0, 0.5, Number.MAX_SAFE_INTEGER, 1e20)
const junkStrings = fc.constantFrom(
  '', ' ', '0', '-1', '1e5', '99999999999999999999', '9'.repeat(40), 'null', 'true', '[]', '{}', '\u0000', '\uFFFF', '🦄',
  'Ünïcödé', 'a'.repeat(1000), '../../etc/passwd', "'; drop table records; --", '%', '%zz', '%E0%A4%A', '%00', '2-', '0-1', 'p1_x', 'contacts'
)
const anyString = fc.oneof(junkStrings, fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 20 }))
const anyScalar = fc.oneof(anyString, hugeNumbers, fc.integer(), fc.double(), fc.boolean(), fc.constant(null))
const anyJson: fc.Arbitrary<unknown> = fc.oneof({ depthSize: 'small' }, anyScalar, fc.array(anyScalar, { maxLength: 4 }), fc.dictionary(anyString, anyScalar, { maxKeys: 4 }))

/** Values shaped like `schema`, mostly right, often wrong: wrong types, missing required fields, extra fields. */
function fromSchema (doc: Schema, schema: Schema | undefined, depth = 0): fc.Arbitrary<unknown> {
  if (schema === undefined || depth > 4) return anyJson
  if (typeof schema.$ref === 'string') return fromSchema(doc, resolveRef(doc, schema.$ref), depth + 1)
  const variants = schema.anyOf ?? schema.oneOf ?? schema.allOf
  if (Array.isArray(variants) && variants.length > 0) return fc.oneof(...variants.map((s: Schema) => fromSchema(doc, s, depth + 1)))
  let right: fc.Arbitrary<unknown>
  if (Array.isArray(schema.enum)) right = fc.constantFrom(...schema.enum as unknown[])
  else if (schema.type === 'object' || schema.properties !== undefined) {
    const props: Record<string, Schema> = schema.properties ?? {}
    const shape: Record<string, fc.Arbitrary<unknown>> = {}
    for (const [k, s] of Object.entries(props)) shape[k] = fromSchema(doc, s, depth + 1)
    const required = ((schema.required ?? []) as string[]).filter((k) => k in shape)
    const record = fc.record(shape, { requiredKeys: required })
    right = fc.tuple(record, fc.option(fc.dictionary(anyString, anyScalar, { maxKeys: 2 }), { freq: 4 }), fc.option(fc.constantFrom(...Object.keys(props), 'x'), { freq: 4 }))
      .map(([r, extra, drop]) => {
        const out: Record<string, unknown> = { ...r as Record<string, unknown>, ...(extra ?? {}) }
        if (drop !== null) delete out[drop]
        return out
      })
  } else if (schema.type === 'array') {
    right = fc.array(fromSchema(doc, schema.items, depth + 1), { maxLength: Math.min(schema.maxItems ?? 4, 4) })
  } else if (schema.type === 'integer' || schema.type === 'number') {
    right = fc.oneof(fc.integer({ min: schema.minimum ?? -10, max: Math.min(schema.maximum ?? 5000, 5000) }), hugeNumbers)
  } else if (schema.type === 'boolean') right = fc.boolean()
  else if (schema.type === 'string') right = fc.oneof(anyString, fc.constantFrom('contacts', 'companies', '0-1', '0-2', '1001', '1002', 'HUBSPOT_DEFINED', 'USER_DEFINED'))
  else right = anyJson
  return fc.oneof({ weight: 5, arbitrary: right }, { weight: 1, arbitrary: anyJson })
}

function resolveRef (doc: Schema, ref: string): Schema | undefined {
  const parts = ref.replace(/^#\//, '').split('/')
  let node: any = doc
  for (const p of parts) node = node?.[p]
  return node as Schema | undefined
}

function operations (doc: Schema): Operation[] {
  const ops: Operation[] = []
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, Schema>>)) {
    for (const [method, op] of Object.entries(item)) {
      if (skip(method.toUpperCase(), path)) continue
      const params = (op.parameters ?? []) as Schema[]
      const content = op.requestBody?.content as Record<string, Schema> | undefined
      const contentType = content === undefined ? undefined : Object.keys(content)[0]
      ops.push({
        method: method.toUpperCase(),
        path,
        params: [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string),
        query: params.filter((p) => p.in === 'query'),
        ...(contentType !== undefined ? { contentType, body: content?.[contentType]?.schema } : {})
      })
    }
  }
  return ops
}

/** One request: path params (real values or junk, sometimes raw percent junk), query, headers, body. */
function requestArbitrary (doc: Schema, op: Operation, real: Record<string, string[]>): fc.Arbitrary<InjectOptions> {
  const param = (name: string): fc.Arbitrary<string> => fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...(real[name] ?? real.objectId) as [string, ...string[]]) },
    { weight: 2, arbitrary: anyString.map((s) => encodeURIComponent(s)) },
    { weight: 1, arbitrary: fc.constantFrom('%', '%zz', '%E0%A4%A', '%C0%AF', '..', '%2F', '%00', '99999999999999999999', '-5', '1.5') }
  )
  const queryValue = (s: Schema): fc.Arbitrary<string> => fc.oneof(fromSchema(doc, s.schema).map((v) => typeof v === 'string' ? v : JSON.stringify(v)), anyString)
  const query = fc.tuple(
    fc.tuple(...op.query.map((q) => fc.option(queryValue(q), { freq: 2 }))),
    fc.option(fc.tuple(anyString, anyString), { freq: 4 }),
    fc.option(fc.constantFrom('%', '%zz', 'a=%E0', '&&=&', 'limit=1&limit=2', 'after=%FF'), { freq: 6 })
  ).map(([values, extra, raw]) => {
    const parts = op.query.flatMap((q, i) => values[i] === null ? [] : [`${encodeURIComponent(q.name)}=${encodeURIComponent(values[i] as string)}`])
    if (extra !== null) parts.push(`${encodeURIComponent(extra[0])}=${encodeURIComponent(extra[1])}`)
    if (raw !== null) parts.push(raw)
    return parts.length > 0 ? `?${parts.join('&')}` : ''
  })
  const body = fc.oneof(
    { weight: 6, arbitrary: fromSchema(doc, op.body).map((v) => ({ payload: JSON.stringify(v), type: 'application/json' })) },
    { weight: 1, arbitrary: anyJson.map((v) => ({ payload: JSON.stringify(v), type: 'application/json' })) },
    {
      weight: 1, arbitrary: fc.constantFrom('{', '{"inputs": [', '[1,2', 'nul', '\u0000', '{"a":1}{"b":2}', '"\\ud800"', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}',
        '['.repeat(5000) + ']'.repeat(5000), '{"inputs":' + '['.repeat(3000) + ']'.repeat(3000) + '}', '{"inputs":[{"id":1e400}],"limit":1e400}', '"' + 'x'.repeat(200_000) + '"',
        JSON.stringify({ inputs: Array.from({ length: 2500 }, (_, i) => ({ id: String(i), from: { id: String(i) }, to: { id: '1' }, types: [] })) })).map((p) => ({ payload: p, type: 'application/json' }))
    },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data', 'multipart/form-data; boundary=x', 'application/xml', 'application/json; charset=latin1', 'application/jsonx', ''), anyString).map(([type, p]) => ({ payload: p, type })) },
    { weight: 1, arbitrary: fc.constant({ payload: undefined, type: undefined }) }
  )
  const headers = fc.record({
    accept: fc.constantFrom('application/json', '*/*', 'text/html', '🦄'),
    'idempotency-key': fc.oneof(anyString.map((s) => encodeURIComponent(s)), fc.uuid()),
    'x-forwarded-for': fc.constantFrom('1.2.3.4', 'junk', '::1')
  }, { requiredKeys: [] })
  return fc.record({ params: fc.tuple(...op.params.map(param)), query, body, headers }).map(({ params, query, body, headers }) => {
    let url = op.path
    op.params.forEach((name, i) => { url = url.replace(`{${name}}`, params[i] as string) })
    const h: Record<string, string> = { ...headers }
    if (body.type !== undefined && body.type !== '') h['content-type'] = body.type
    return { method: op.method as InjectOptions['method'], url: url + query, headers: h, ...(body.payload !== undefined ? { payload: body.payload } : {}) }
  })
}

t.test('every route answers random and malformed requests with a 2xx/4xx, and every 4xx in the HubSpot error shape', async (t) => {
  const ta = await build(t)
  await ta.app.ready()
  const doc = ta.app.swagger() as Schema
  const contacts = [await createRecord(ta, 'contacts', { email: 'fuzz@example.com' }), await createRecord(ta, 'contacts')]
  const companies = [await createRecord(ta, 'companies', { domain: 'fuzz.example.com' })]
  const ids = [...contacts, ...companies].map(String)
  const real: Record<string, string[]> = {
    objectType: ['contacts', 'companies', '0-1', '0-2', 'deals', 'CONTACT', '2-999'],
    toObjectType: ['companies', 'contacts', '0-2', 'tickets'],
    fromObjectType: ['contacts', 'companies', '0-1'],
    objectId: [...ids, 'fuzz@example.com'],
    toObjectId: ids,
    associationTypeId: ['1', '279', '280', '2', '13'],
    accountId: ['1', '2', '999'],
    keyId: ['1', '999'],
    userId: ['1', '42'],
    reportId: ['1', '999'],
    importId: ['1', '999'],
    subscriptionId: ['1', '999']
  }
  const ops = operations(doc)
  t.ok(ops.length > 40, `${ops.length} operations in the OpenAPI document`)
  const started = Date.now()
  let requests = 0
  const failures: string[] = []
  for (const [i, op] of ops.entries()) {
    const property = fc.asyncProperty(requestArbitrary(doc, op, real), async (req) => {
      requests++
      const res = await ta.request(req)
      if (res.statusCode >= 500) throw new Error(`${res.statusCode}: ${res.body.slice(0, 500)}`)
      if (res.statusCode >= 400) {
        let body: Record<string, unknown> = {}
        try { body = res.json() } catch { throw new Error(`${res.statusCode} without a JSON body: ${res.body.slice(0, 200)}`) }
        const shaped = body.status === 'error' && typeof body.message === 'string' && typeof body.correlationId === 'string' && typeof body.category === 'string'
        if (!shaped) throw new Error(`${res.statusCode} without the HubSpot error shape: ${res.body.slice(0, 300)}`)
        if (!String(res.headers['content-type']).startsWith('application/json')) throw new Error(`${res.statusCode} with content-type ${String(res.headers['content-type'])}`)
      }
    })
    const details = await fc.check(property, { seed: SEED + i, numRuns: RUNS })
    if (details.failed) failures.push(`${op.method} ${op.path} (FUZZ_SEED=${SEED} route #${i}, seed ${SEED + i}):\n${fc.defaultReportMessage(details) ?? ''}\n${String(details.errorInstance)}`)
  }
  t.comment(`${requests} requests over ${ops.length} operations in ${Date.now() - started} ms on ${ta.database.handle.engine}`)
  for (const f of failures) t.comment(f)
  t.same(failures.map((f) => f.split('\n')[0]), [], 'no 5xx, every 4xx in the HubSpot error shape')
})
