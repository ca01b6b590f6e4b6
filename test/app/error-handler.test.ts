// The HubSpot error body (API.md §2.9) on every failure, and bad input that never becomes a 500.
import t, { type Test } from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { build } from '../helpers/app.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const ERROR_FIELDS = ['status', 'message', 'correlationId', 'category', 'subCategory', 'context']

/** Asserts the status and the full HubSpot error shape; returns the body. */
function expectError (t: Test, res: LightMyRequestResponse, status: number, category?: string): Record<string, unknown> {
  t.equal(res.statusCode, status, `status ${status}: ${res.body.slice(0, 200)}`)
  t.equal(res.headers['content-type'], 'application/json;charset=utf-8')
  const body = res.json() as Record<string, unknown>
  t.same(Object.keys(body).filter((k) => !ERROR_FIELDS.includes(k)), [], 'no fields beyond the HubSpot error body')
  t.equal(body.status, 'error')
  t.type(body.message, 'string')
  t.ok((body.message as string).length > 0, 'message is not empty')
  t.match(body.correlationId, UUID)
  t.equal(res.headers['x-hubspot-correlation-id'], body.correlationId, 'correlation id header equals the body field')
  t.type(body.category, 'string')
  if (category !== undefined) t.equal(body.category, category)
  if (body.context !== undefined) {
    for (const values of Object.values(body.context as Record<string, unknown>)) {
      t.ok(Array.isArray(values) && values.every((v) => typeof v === 'string'), 'context values are string lists')
    }
  }
  return body
}

t.test('validation errors have the HubSpot shape and name the field', async (t) => {
  const { request } = await build(t)

  const wrongValue = await request({ method: 'POST', url: '/crm/v3/objects/contacts', payload: { properties: { email: { at: 'x' } } } })
  const body = expectError(t, wrongValue, 400, 'VALIDATION_ERROR')
  t.match(body.message, /properties\/email/)
  t.ok(Object.keys(body.context as object).includes('body.properties.email'), 'context names body.properties.email')

  const missing = await request({ method: 'POST', url: '/crm/v3/objects/contacts', payload: {} })
  t.same(Object.keys(expectError(t, missing, 400, 'VALIDATION_ERROR').context as object), ['body.properties'])

  const badName = await request({ method: 'POST', url: '/crm/v3/objects/contacts', payload: { properties: { 'first-name': 'x' } } })
  t.same(Object.keys(expectError(t, badName, 400, 'VALIDATION_ERROR').context as object), ['body.properties.first-name'])

  const badQuery = await request({ method: 'GET', url: '/crm/v3/objects/contacts?limit=abc' })
  t.same(Object.keys(expectError(t, badQuery, 400, 'VALIDATION_ERROR').context as object), ['querystring.limit'])

  const badParam = await request({ method: 'GET', url: '/admin/v1/accounts/abc' })
  t.same(Object.keys(expectError(t, badParam, 400, 'VALIDATION_ERROR').context as object), ['params.accountId'])
})

t.test('unknown routes and malformed paths: 404 / 400 in the same shape', async (t) => {
  const { request } = await build(t)

  const unknown = await request({ method: 'GET', url: '/crm/v3/nothing-here?x=1' })
  t.match(expectError(t, unknown, 404, 'OBJECT_NOT_FOUND'), { subCategory: 'ROUTE_NOT_FOUND', message: 'Unable to find route: GET /crm/v3/nothing-here' })

  const noAuthUnknown = await request({ method: 'GET', url: '/nothing', key: null })
  expectError(t, noAuthUnknown, 404, 'OBJECT_NOT_FOUND')

  const wrongMethod = await request({ method: 'PUT', url: '/crm/v3/objects/contacts/1', payload: { properties: {} } })
  expectError(t, wrongMethod, 404, 'OBJECT_NOT_FOUND')

  const badEncoding = await request({ method: 'GET', url: '/crm/v3/objects/contacts/%E0%A4%A' })
  t.match(expectError(t, badEncoding, 400, 'VALIDATION_ERROR').message, /not a valid URL/)

  const tooLong = await request({ method: 'GET', url: `/crm/v3/objects/contacts/${'9'.repeat(2500)}` })
  expectError(t, tooLong, 414, 'VALIDATION_ERROR')
})

t.test('bad input never yields a 500 and writes nothing', async (t) => {
  const { request, app } = await build(t)
  const created = await request({ method: 'POST', url: '/crm/v3/objects/contacts', payload: { properties: { email: 'kept@example.com' } } })
  t.equal(created.statusCode, 201)
  const id = created.json().id as string
  const json = { 'content-type': 'application/json' }

  const cases: Array<{ name: string, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown, headers?: Record<string, string>, status: number, message?: RegExp }> = [
    { name: 'malformed JSON', method: 'POST', url: '/crm/v3/objects/contacts', payload: '{"properties":', headers: json, status: 400 },
    { name: 'JSON with __proto__', method: 'POST', url: '/crm/v3/objects/contacts', payload: '{"properties":{"__proto__":{"a":"b"}}}', headers: json, status: 400 },
    { name: 'properties as a string', method: 'POST', url: '/crm/v3/objects/contacts', payload: { properties: 'email=a@b.com' }, status: 400 },
    { name: 'properties as an array', method: 'POST', url: '/crm/v3/objects/contacts', payload: { properties: [{ email: 'a@b.com' }] }, status: 400 },
    { name: 'a value as an object', method: 'POST', url: '/crm/v3/objects/contacts', payload: { properties: { firstname: { a: 1 } } }, status: 400 },
    { name: 'a value as a one-item array', method: 'POST', url: '/crm/v3/objects/contacts', payload: { properties: { email: ['x@example.com'] } }, status: 400, message: /properties\/email/ },
    { name: 'a value as a one-number array', method: 'POST', url: '/crm/v3/objects/contacts', payload: { properties: { age: [5] } }, status: 400 },
    { name: 'a value as an empty array', method: 'POST', url: '/crm/v3/objects/contacts', payload: { properties: { firstname: [] } }, status: 400 },
    { name: 'a PATCH value as an array', method: 'PATCH', url: `/crm/v3/objects/contacts/${id}`, payload: { properties: { email: ['x@example.com'] } }, status: 400 },
    { name: 'a NUL character in a value', method: 'POST', url: '/crm/v3/objects/contacts', payload: { properties: { firstname: 'a\u0000b' } }, status: 400, message: /firstname/ },
    { name: 'a NUL character in an email', method: 'PATCH', url: `/crm/v3/objects/contacts/${id}`, payload: { properties: { email: 'x\u0000@example.com' } }, status: 400 },
    { name: 'a NUL character in an idProperty value', method: 'GET', url: '/crm/v3/objects/contacts/a%00b@example.com?idProperty=email', status: 404 },
    { name: 'a NUL character in an account name', method: 'POST', url: '/admin/v1/accounts', payload: { name: 'a\u0000b' }, status: 400 },
    { name: 'a value over 64 KiB', method: 'POST', url: '/crm/v3/objects/contacts', payload: { properties: { notes: 'x'.repeat(70000) } }, status: 400 },
    { name: 'text/plain body', method: 'POST', url: '/crm/v3/objects/contacts', payload: '{"properties":{}}', headers: { 'content-type': 'text/plain' }, status: 415 },
    { name: 'form body', method: 'POST', url: '/crm/v3/objects/contacts', payload: 'properties=1', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415 },
    { name: 'XML body', method: 'PATCH', url: `/crm/v3/objects/contacts/${id}`, payload: '<properties/>', headers: { 'content-type': 'application/xml' }, status: 415 },
    { name: 'empty JSON body', method: 'POST', url: '/crm/v3/objects/contacts', payload: '', headers: json, status: 400 },
    { name: 'no body at all', method: 'POST', url: '/crm/v3/objects/contacts', status: 400 },
    { name: 'JSON null body', method: 'POST', url: '/crm/v3/objects/contacts', payload: 'null', headers: json, status: 400 },
    { name: 'unknown object type', method: 'POST', url: '/crm/v3/objects/x', payload: { properties: {} }, status: 400, message: /^Unable to infer object type from: x$/ },
    { name: 'unknown object type on read', method: 'GET', url: '/crm/v3/objects/widgets/1', status: 400, message: /^Unable to infer object type from: widgets$/ },
    { name: 'non-numeric id', method: 'GET', url: '/crm/v3/objects/contacts/abc', status: 400 },
    { name: 'id past 2^53', method: 'GET', url: '/crm/v3/objects/contacts/99999999999999999999', status: 400 },
    { name: 'negative id', method: 'PATCH', url: '/crm/v3/objects/contacts/-1', payload: { properties: { firstname: 'x' } }, status: 400 },
    { name: 'zero id', method: 'DELETE', url: '/crm/v3/objects/contacts/0', status: 400 },
    { name: 'fractional id', method: 'GET', url: '/crm/v3/objects/contacts/1.5', status: 400 },
    { name: 'exponent id', method: 'GET', url: '/crm/v3/objects/contacts/1e3', status: 400 },
    { name: 'account id past 2^53', method: 'GET', url: '/admin/v1/accounts/99999999999999999999', status: 400 },
    { name: 'unknown query parameter on read', method: 'GET', url: `/crm/v3/objects/contacts/${id}?foo=1`, status: 400 },
    { name: 'unknown query parameter on list', method: 'GET', url: '/crm/v3/objects/contacts?foo=1', status: 400 },
    { name: 'unknown query parameter on create', method: 'POST', url: '/crm/v3/objects/contacts?foo=1', payload: { properties: {} }, status: 400 },
    { name: 'unknown query parameter on archive', method: 'DELETE', url: `/crm/v3/objects/contacts/${id}?foo=1`, status: 400 },
    { name: 'unknown query parameter on schemas', method: 'GET', url: '/crm/v3/schemas?foo=1', status: 400 },
    { name: 'unknown query parameter on admin', method: 'GET', url: '/admin/v1/accounts?foo=1', status: 400 },
    { name: 'limit not a number', method: 'GET', url: '/crm/v3/objects/contacts?limit=ten', status: 400 },
    { name: 'archived not a boolean', method: 'GET', url: `/crm/v3/objects/contacts/${id}?archived=maybe`, status: 400 },
    { name: 'forged cursor', method: 'GET', url: '/crm/v3/objects/contacts?after=not-a-cursor', status: 400 }
  ]
  for (const c of cases) {
    await t.test(c.name, async (t) => {
      const res = await request({ method: c.method, url: c.url, payload: c.payload as string, headers: c.headers })
      const body = expectError(t, res, c.status)
      if (c.message !== undefined) t.match(body.message, c.message)
    })
  }

  const rows = await app.db.selectFrom('records').select(['id', 'properties', 'archived_at']).execute()
  t.equal(rows.length, 1, 'no bad request created a record')
  t.same(rows[0]?.properties, { email: 'kept@example.com' }, 'no bad request changed the record')
  t.equal(rows[0]?.archived_at, null, 'no bad request archived the record')
  const keys = await app.db.selectFrom('record_keys').select('value').execute()
  t.same(keys.map((k) => k.value), ['kept@example.com'])
  const accounts = await app.db.selectFrom('accounts').select('id').execute()
  t.equal(accounts.length, 1, 'no bad request created an account')
})

t.test('an oversized body is a 413 in the HubSpot shape', async (t) => {
  const { request, app } = await build(t, { BODY_LIMIT_BYTES: 2048 })
  const res = await request({ method: 'POST', url: '/crm/v3/objects/contacts', payload: { properties: { notes: 'x'.repeat(4000) } } })
  expectError(t, res, 413)
  const small = await request({ method: 'POST', url: '/crm/v3/objects/contacts', payload: { properties: { notes: 'x'.repeat(100) } } })
  t.equal(small.statusCode, 201, 'a body under the limit still passes')
  t.equal((await app.db.selectFrom('records').select('id').execute()).length, 1, 'only the small body was stored')
})

t.test('a client cannot choose the correlation id', async (t) => {
  const { request } = await build(t)
  const forged = '11111111-1111-4111-8111-111111111111'
  const res = await request({ method: 'GET', url: '/crm/v3/objects/contacts/1', headers: { 'x-hubspot-correlation-id': forged, 'request-id': forged } })
  const body = expectError(t, res, 404, 'OBJECT_NOT_FOUND')
  t.not(body.correlationId, forged)
  const again = await request({ method: 'GET', url: '/crm/v3/objects/contacts/1' })
  t.not(again.json().correlationId, body.correlationId, 'each request has its own id')
})

t.test('5xx bodies carry no stack trace and no SQL', async (t) => {
  const { request, app } = await build(t)
  await app.db.destroy()
  for (const [method, url, payload] of [
    ['GET', '/crm/v3/objects/contacts', undefined],
    ['POST', '/crm/v3/objects/contacts', { properties: { email: 'down@example.com' } }],
    ['GET', '/crm/v3/schemas', undefined]
  ] as const) {
    const res = await request({ method, url, payload })
    t.ok(res.statusCode === 500 || res.statusCode === 503, `${method} ${url}: 500 or 503, got ${res.statusCode}`)
    const body = expectError(t, res, res.statusCode, res.statusCode === 503 ? 'SERVICE_UNAVAILABLE' : 'INTERNAL_ERROR')
    t.equal(body.context, undefined, 'no context on a 5xx')
    t.notMatch(res.body, /\n\s*at |at .+\.(ts|js):\d+/, 'no stack frames')
    t.notMatch(res.body, /\b(select|insert|update|delete)\b.*\b(from|into|set)\b/i, 'no SQL')
    t.notMatch(res.body, /api_keys|secret_hash|pool|PGlite|kysely/i, 'no internals')
  }
  const ready = await request({ method: 'GET', url: '/health/ready', key: null })
  t.equal(ready.statusCode, 503, 'readiness reports the database as down')
})
