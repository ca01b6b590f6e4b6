// Bearer API keys: 401 without a valid key, 403 without the scope, hashed storage, immediate revocation, open probes.
import t from 'tap'
import { createHash } from 'node:crypto'
import { build, TEST_ADMIN_KEY, type TestApp } from '../helpers/app.js'
import { expectError } from '../helpers/assertions.js'

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const

/** Every operation of the OpenAPI document that declares a security requirement (all but the probes). */
async function securedOperations (app: TestApp['app']): Promise<Array<{ method: string, url: string }>> {
  await app.ready()
  const doc = app.swagger() as { paths: Record<string, Record<string, { security?: unknown[] }>> }
  const ops: Array<{ method: string, url: string }> = []
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method]
      if (op === undefined || (Array.isArray(op.security) && op.security.length === 0)) continue
      ops.push({ method: method.toUpperCase(), url: path.replace(/\{[^}]+\}/g, '1') })
    }
  }
  return ops
}

async function createKey (request: TestApp['request'], accountId: number, scopes: string[], key?: string): Promise<{ id: string, key: string }> {
  const res = await request({ method: 'POST', url: `/admin/v1/accounts/${accountId}/keys`, payload: { name: `key ${scopes.join(' ')}`, scopes }, key })
  if (res.statusCode !== 201) throw new Error(`key creation failed: ${res.statusCode} ${res.body}`)
  return res.json()
}

t.test('every API route refuses a missing, malformed or invalid key with 401', async (t) => {
  const { app, request } = await build(t)
  const ops = await securedOperations(app)
  for (const expected of ['POST /crm/v3/objects/1', 'GET /crm/v3/objects/1/1', 'PATCH /crm/v3/objects/1/1', 'DELETE /crm/v3/objects/1/1',
    'GET /crm/v3/objects/1', 'POST /crm/v3/schemas', 'GET /crm/v3/schemas', 'GET /crm/v3/schemas/1', 'DELETE /crm/v3/schemas/1',
    'POST /admin/v1/accounts', 'GET /admin/v1/accounts', 'GET /admin/v1/accounts/1', 'GET /admin/v1/accounts/1/keys',
    'POST /admin/v1/accounts/1/keys', 'DELETE /admin/v1/accounts/1/keys/1']) {
    t.ok(ops.some((o) => `${o.method} ${o.url}` === expected), `${expected} is a secured route`)
  }

  const bad: Array<[string, Record<string, string>]> = [
    ['no header', {}],
    ['empty header', { authorization: '' }],
    ['scheme only', { authorization: 'Bearer' }],
    ['Basic scheme', { authorization: `Basic ${Buffer.from(`x:${TEST_ADMIN_KEY}`).toString('base64')}` }],
    ['key without scheme', { authorization: TEST_ADMIN_KEY }],
    ['two tokens', { authorization: `Bearer ${TEST_ADMIN_KEY} extra` }],
    ['unknown key', { authorization: 'Bearer aak_this_key_does_not_exist_000000' }],
    ['admin key with a typo', { authorization: `Bearer ${TEST_ADMIN_KEY.slice(0, -1)}X` }],
    ['key as a hash', { authorization: `Bearer ${createHash('sha256').update(TEST_ADMIN_KEY).digest('hex')}` }]
  ]
  for (const op of ops) {
    for (const [name, headers] of bad) {
      const res = await request({ method: op.method as 'GET', url: op.url, headers, payload: op.method === 'GET' || op.method === 'DELETE' ? undefined : {}, key: null })
      if (res.statusCode !== 401) t.fail(`${op.method} ${op.url} with ${name}: ${res.statusCode}`)
      else t.equal(res.json().category, 'INVALID_AUTHENTICATION', `${op.method} ${op.url} with ${name}`)
    }
  }
  const missing = expectError(t, await request({ method: 'GET', url: '/crm/v3/objects/contacts', key: null }), 401, 'INVALID_AUTHENTICATION')
  t.match(missing.message, /Bearer/)
  const invalid = expectError(t, await request({ method: 'GET', url: '/crm/v3/objects/contacts', key: 'aak_nope_nope_nope_nope_nope' }), 401, 'INVALID_AUTHENTICATION')
  t.match(invalid.message, /invalid or revoked/)
  t.equal(await app.db.selectFrom('records').select('id').executeTakeFirst(), undefined, 'nothing was written')

  const lower = await request({ method: 'GET', url: '/crm/v3/objects/contacts', headers: { authorization: `bearer ${TEST_ADMIN_KEY}` }, key: null })
  t.equal(lower.statusCode, 200, 'the scheme is case-insensitive')
})

t.test('probes and docs need no key', async (t) => {
  const { request } = await build(t)
  const live = await request({ method: 'GET', url: '/health/live', key: null })
  t.equal(live.statusCode, 200)
  t.same(live.json(), { status: 'ok' })
  const ready = await request({ method: 'GET', url: '/health/ready', key: null })
  t.equal(ready.statusCode, 200)
  t.equal(ready.json().status, 'ok')
  const doc = await request({ method: 'GET', url: '/openapi.json', key: null })
  t.equal(doc.statusCode, 200)
  t.equal(doc.json().openapi, '3.0.3')
  t.ok(doc.json().paths['/crm/v3/objects/{objectType}'], 'the document lists the API')
  const docs = await request({ method: 'GET', url: '/docs', key: null })
  t.ok(docs.statusCode === 200 || (docs.statusCode >= 300 && docs.statusCode < 400), `/docs answers without a key (${docs.statusCode})`)
  // A wrong key on an open route is ignored, not refused.
  const liveWrongKey = await request({ method: 'GET', url: '/health/live', key: 'aak_wrong_wrong_wrong_wrong' })
  t.equal(liveWrongKey.statusCode, 200)
})

t.test('a key without the route scope gets 403 MISSING_SCOPES', async (t) => {
  const { request, accountId, app } = await build(t)
  const reader = await createKey(request, accountId, ['crm.objects.read'])
  t.match(reader, { id: String, key: /^aak_/, scopes: ['crm.objects.read'] })

  const created = await request({ method: 'POST', url: '/crm/v3/objects/contacts', payload: { properties: { email: 'r@example.com' } } })
  t.equal(created.statusCode, 201)
  const id = created.json().id as string

  t.equal((await request({ method: 'GET', url: `/crm/v3/objects/contacts/${id}`, key: reader.key })).statusCode, 200, 'read scope reads')
  t.equal((await request({ method: 'GET', url: '/crm/v3/objects/contacts', key: reader.key })).statusCode, 200, 'read scope lists')

  const refused: Array<{ method: 'POST' | 'PATCH' | 'DELETE' | 'GET', url: string, payload?: Record<string, unknown>, scope: string }> = [
    { method: 'POST', url: '/crm/v3/objects/contacts', payload: { properties: { email: 'w@example.com' } }, scope: 'crm.objects.write' },
    { method: 'PATCH', url: `/crm/v3/objects/contacts/${id}`, payload: { properties: { firstname: 'X' } }, scope: 'crm.objects.write' },
    { method: 'DELETE', url: `/crm/v3/objects/contacts/${id}`, scope: 'crm.objects.write' },
    { method: 'GET', url: '/crm/v3/schemas', scope: 'crm.schemas.read' },
    { method: 'POST', url: '/crm/v3/schemas', payload: { name: 'cars', labels: { singular: 'Car', plural: 'Cars' } }, scope: 'crm.schemas.write' },
    { method: 'GET', url: '/admin/v1/accounts', scope: 'admin' },
    { method: 'POST', url: `/admin/v1/accounts/${accountId}/keys`, payload: { name: 'escalate', scopes: ['admin'] }, scope: 'admin' }
  ]
  for (const r of refused) {
    const body = expectError(t, await request({ method: r.method, url: r.url, payload: r.payload, key: reader.key }), 403, 'MISSING_SCOPES')
    t.same(body.context, { requiredScopes: [r.scope] }, `${r.method} ${r.url} names ${r.scope}`)
  }

  const row = await app.db.selectFrom('records').select(['properties', 'archived_at']).where('id', '=', Number(id)).executeTakeFirstOrThrow()
  t.same(row.properties, { email: 'r@example.com' }, 'the refused PATCH changed nothing')
  t.equal(row.archived_at, null, 'the refused DELETE archived nothing')
  t.equal((await app.db.selectFrom('records').select('id').execute()).length, 1, 'the refused POST created nothing')
  t.equal((await app.db.selectFrom('object_types').select('type_id').where('is_custom', '=', true).execute()).length, 0, 'no schema created')
  t.equal((await app.db.selectFrom('api_keys').select('id').execute()).length, 2, 'no key created by the read-only key')

  const schemaReader = await createKey(request, accountId, ['crm.schemas.read'])
  t.equal((await request({ method: 'GET', url: '/crm/v3/schemas', key: schemaReader.key })).statusCode, 200)
  expectError(t, await request({ method: 'GET', url: '/crm/v3/objects/contacts', key: schemaReader.key }), 403, 'MISSING_SCOPES')
})

t.test('keys are stored only as a hash', async (t) => {
  const { request, accountId, app } = await build(t)
  const created = await createKey(request, accountId, ['crm.objects.read', 'crm.objects.write'])
  t.match(created.key, /^aak_[A-Za-z0-9_-]{20,}$/)

  const rows = await app.db.selectFrom('api_keys').selectAll().execute()
  t.equal(rows.length, 2)
  for (const row of rows) {
    for (const [column, value] of Object.entries(row)) {
      const text = Array.isArray(value) ? value.join(',') : value instanceof Date ? value.toISOString() : String(value)
      t.not(text, created.key, `api_keys.${column} is not the key`)
      t.notOk(text.includes(created.key), `api_keys.${column} does not contain the key`)
      t.notOk(text.includes(TEST_ADMIN_KEY), `api_keys.${column} does not contain the admin key`)
    }
  }
  const row = rows.find((r) => String(r.id) === created.id)
  t.ok(row, 'the new key has a row')
  t.equal(row?.secret_hash, createHash('sha256').update(created.key).digest('hex'), 'secret_hash is the SHA-256 of the key')
  t.not(row?.secret_hash, created.key)
  t.ok(created.key.startsWith(row?.prefix ?? '\u0000') && (row?.prefix.length ?? 0) < created.key.length / 2, 'only a short prefix is kept')

  // The key text appears nowhere else in the database either.
  const accounts = await app.db.selectFrom('accounts').selectAll().execute()
  t.notOk(JSON.stringify(accounts).includes(created.key))

  t.equal((await request({ method: 'GET', url: '/crm/v3/objects/contacts', key: created.key })).statusCode, 200, 'the new key works')
})

t.test('a revoked key is refused from the very next request', async (t) => {
  const { request, accountId, app } = await build(t)
  const key = await createKey(request, accountId, ['crm.objects.read'])
  const other = await createKey(request, accountId, ['crm.objects.read'])
  t.equal((await request({ method: 'GET', url: '/crm/v3/objects/contacts', key: key.key })).statusCode, 200)

  const revoked = await request({ method: 'DELETE', url: `/admin/v1/accounts/${accountId}/keys/${key.id}` })
  t.equal(revoked.statusCode, 200)
  t.match(revoked.json(), { id: key.id, revokedAt: String })
  t.notOk('key' in revoked.json(), 'the answer has no secret')

  const refused = expectError(t, await request({ method: 'GET', url: '/crm/v3/objects/contacts', key: key.key }), 401, 'INVALID_AUTHENTICATION')
  t.match(refused.message, /invalid or revoked/)
  const row = await app.db.selectFrom('api_keys').select(['revoked_at']).where('id', '=', Number(key.id)).executeTakeFirstOrThrow()
  t.type(row.revoked_at, Date, 'revoked_at is set')
  t.equal((await request({ method: 'GET', url: '/crm/v3/objects/contacts', key: other.key })).statusCode, 200, 'other keys still work')

  // Revoking twice keeps the first revocation time.
  const again = await request({ method: 'DELETE', url: `/admin/v1/accounts/${accountId}/keys/${key.id}` })
  t.equal(again.statusCode, 200)
  t.equal(again.json().revokedAt, revoked.json().revokedAt)

  // An admin key can revoke itself; the next request with it is refused.
  const admin2 = await createKey(request, accountId, ['admin'])
  t.equal((await request({ method: 'DELETE', url: `/admin/v1/accounts/${accountId}/keys/${admin2.id}`, key: admin2.key })).statusCode, 200)
  expectError(t, await request({ method: 'GET', url: '/admin/v1/accounts', key: admin2.key }), 401, 'INVALID_AUTHENTICATION')
})
