// Admin endpoints: accounts (operator only) and API keys, never showing secrets or other tenants.
import t from 'tap'
import { build, createOtherAccount, TEST_ADMIN_KEY } from '../helpers/app.js'
import { expectError } from '../helpers/assertions.js'

t.test('the operator creates accounts; the new admin key works once shown', async (t) => {
  const { request, app } = await build(t)
  const res = await request({ method: 'POST', url: '/admin/v1/accounts', payload: { name: 'Stars Hollow' } })
  t.equal(res.statusCode, 201)
  const body = res.json()
  t.match(body, {
    account: { id: /^\d+$/, name: 'Stars Hollow', isOperator: false, createdAt: String },
    key: { id: /^\d+$/, name: 'admin', key: /^aak_/, prefix: String, revokedAt: null }
  })
  t.equal(body.key.accountId, body.account.id)
  t.ok(body.key.scopes.includes('admin') && body.key.scopes.includes('crm.objects.write'), 'the first key has every scope')

  const row = await app.db.selectFrom('accounts').selectAll().where('id', '=', Number(body.account.id)).executeTakeFirstOrThrow()
  t.equal(row.name, 'Stars Hollow')
  t.equal(row.is_operator, false)
  const types = await app.db.selectFrom('object_types').select('type_id').where('account_id', '=', Number(body.account.id)).orderBy('type_id').execute()
  t.same(types.map((r) => r.type_id), ['0-1', '0-2', '0-3', '0-5'], 'the account has the standard object types')

  const own = await request({ method: 'GET', url: `/admin/v1/accounts/${body.account.id}`, key: body.key.key })
  t.equal(own.statusCode, 200)
  t.same(own.json(), body.account)

  const invalid = await request({ method: 'POST', url: '/admin/v1/accounts', payload: { name: '' } })
  t.match(expectError(t, invalid, 400, 'VALIDATION_ERROR').context, { 'body.name': Array })
  const noName = await request({ method: 'POST', url: '/admin/v1/accounts', payload: {} })
  t.match(expectError(t, noName, 400, 'VALIDATION_ERROR').context, { 'body.name': Array })
  t.equal((await app.db.selectFrom('accounts').select('id').execute()).length, 2, 'invalid requests created nothing')
})

t.test('a non-operator account cannot create accounts and sees only itself', async (t) => {
  const { request, app, accountId } = await build(t)
  const b = await createOtherAccount(app, 'Account B')
  const c = await createOtherAccount(app, 'Account C')

  const refused = expectError(t, await request({ method: 'POST', url: '/admin/v1/accounts', payload: { name: 'Sneaky' }, key: b.key }), 403, 'MISSING_SCOPES')
  t.same(refused.context, { requiredScopes: ['admin'] })
  t.equal((await app.db.selectFrom('accounts').select('id').where('name', '=', 'Sneaky').execute()).length, 0, 'no account was created')

  const operatorList = await request({ method: 'GET', url: '/admin/v1/accounts' })
  t.equal(operatorList.statusCode, 200)
  t.same(operatorList.json().results.map((a: { id: string }) => a.id), [String(accountId), String(b.accountId), String(c.accountId)], 'the operator sees every account')
  t.match(operatorList.json().results[0], { id: String(accountId), isOperator: true })

  const bList = await request({ method: 'GET', url: '/admin/v1/accounts', key: b.key })
  t.equal(bList.statusCode, 200)
  t.same(bList.json().results.map((a: { id: string }) => a.id), [String(b.accountId)], 'B sees only itself')
  t.match(bList.json().results[0], { name: 'Account B', isOperator: false })

  const paged = await request({ method: 'GET', url: `/admin/v1/accounts?after=${accountId}&limit=1` })
  t.same(paged.json().results.map((a: { id: string }) => a.id), [String(b.accountId)], 'after/limit page the operator list')

  expectError(t, await request({ method: 'GET', url: `/admin/v1/accounts/${accountId}`, key: b.key }), 404, 'OBJECT_NOT_FOUND')
  expectError(t, await request({ method: 'GET', url: `/admin/v1/accounts/${c.accountId}`, key: b.key }), 404, 'OBJECT_NOT_FOUND')
  t.equal((await request({ method: 'GET', url: `/admin/v1/accounts/${b.accountId}` })).statusCode, 200, 'the operator reads B')
  expectError(t, await request({ method: 'GET', url: '/admin/v1/accounts/999999' }), 404, 'OBJECT_NOT_FOUND')
})

t.test('keys: create, list without secrets, unknown scopes refused', async (t) => {
  const { request, app, accountId } = await build(t)
  const created = await request({ method: 'POST', url: `/admin/v1/accounts/${accountId}/keys`, payload: { name: 'importer', scopes: ['crm.objects.read', 'crm.import'] } })
  t.equal(created.statusCode, 201)
  const key = created.json()
  t.match(key, { id: /^\d+$/, accountId: String(accountId), name: 'importer', scopes: ['crm.objects.read', 'crm.import'], key: /^aak_/, lastUsedAt: null, revokedAt: null })
  t.ok(key.key.startsWith(key.prefix), 'the prefix is the start of the key')

  const list = await request({ method: 'GET', url: `/admin/v1/accounts/${accountId}/keys` })
  t.equal(list.statusCode, 200)
  const results = list.json().results as Array<Record<string, unknown>>
  t.equal(results.length, 2)
  t.same(results.map((k) => k.name), ['admin', 'importer'], 'both keys are listed, oldest first')
  for (const k of results) {
    t.notOk('key' in k, 'no key field')
    t.notOk('secret_hash' in k || 'secretHash' in k, 'no hash field')
  }
  t.notOk(list.body.includes(key.key), 'the new key text is not in the list')
  t.notOk(list.body.includes(TEST_ADMIN_KEY), 'the admin key text is not in the list')
  const hashes = await app.db.selectFrom('api_keys').select('secret_hash').execute()
  for (const h of hashes) t.notOk(list.body.includes(h.secret_hash), 'no hash in the list')

  for (const scopes of [['crm.objects.read', 'crm.everything'], [], ['ADMIN'], ['admin', 'admin']]) {
    const bad = await request({ method: 'POST', url: `/admin/v1/accounts/${accountId}/keys`, payload: { name: 'bad', scopes } })
    const body = expectError(t, bad, 400, 'VALIDATION_ERROR')
    t.ok(Object.keys(body.context as object).some((k) => k.startsWith('body.scopes')), `scopes ${JSON.stringify(scopes)} named in context`)
  }
  const unknown = await request({ method: 'POST', url: `/admin/v1/accounts/${accountId}/keys`, payload: { name: 'bad', scopes: ['crm.everything'] } })
  t.match(unknown.json().message, /allowed values/)
  t.equal((await app.db.selectFrom('api_keys').select('id').execute()).length, 2, 'no key was created by a bad request')

  // A key is used: lastUsedAt is recorded.
  t.equal((await request({ method: 'GET', url: '/crm/v3/objects/contacts', key: key.key })).statusCode, 200)
  let lastUsed: Date | null = null
  for (let i = 0; i < 50 && lastUsed === null; i++) {
    lastUsed = (await app.db.selectFrom('api_keys').select('last_used_at').where('id', '=', Number(key.id)).executeTakeFirstOrThrow()).last_used_at
    if (lastUsed === null) await new Promise((resolve) => setTimeout(resolve, 20))
  }
  t.type(lastUsed, Date, 'last_used_at is recorded')
})

t.test('another account\'s keys are not found', async (t) => {
  const { request, app, accountId } = await build(t)
  const b = await createOtherAccount(app, 'Account B')
  const aKeys = await app.db.selectFrom('api_keys').select(['id', 'revoked_at']).where('account_id', '=', accountId).execute()
  const aKeyId = aKeys[0]?.id as number

  expectError(t, await request({ method: 'GET', url: `/admin/v1/accounts/${accountId}/keys`, key: b.key }), 404, 'OBJECT_NOT_FOUND')
  expectError(t, await request({ method: 'POST', url: `/admin/v1/accounts/${accountId}/keys`, payload: { name: 'x', scopes: ['admin'] }, key: b.key }), 404, 'OBJECT_NOT_FOUND')
  expectError(t, await request({ method: 'DELETE', url: `/admin/v1/accounts/${accountId}/keys/${aKeyId}`, key: b.key }), 404, 'OBJECT_NOT_FOUND')
  // B's own account path with A's key id: still not found, and A's key is untouched.
  expectError(t, await request({ method: 'DELETE', url: `/admin/v1/accounts/${b.accountId}/keys/${aKeyId}`, key: b.key }), 404, 'OBJECT_NOT_FOUND')
  // The operator cannot revoke B's key through A's account path either.
  const bKeyId = (await app.db.selectFrom('api_keys').select('id').where('account_id', '=', b.accountId).executeTakeFirstOrThrow()).id
  expectError(t, await request({ method: 'DELETE', url: `/admin/v1/accounts/${accountId}/keys/${bKeyId}` }), 404, 'OBJECT_NOT_FOUND')

  const after = await app.db.selectFrom('api_keys').select(['id', 'revoked_at', 'account_id']).execute()
  t.equal(after.length, 2, 'no key was created')
  t.ok(after.every((k) => k.revoked_at === null), 'no key was revoked')
  t.equal((await request({ method: 'GET', url: '/crm/v3/objects/contacts' })).statusCode, 200, 'A\'s key still works')
  t.equal((await request({ method: 'GET', url: '/crm/v3/objects/contacts', key: b.key })).statusCode, 200, 'B\'s key still works')

  const bList = await request({ method: 'GET', url: `/admin/v1/accounts/${b.accountId}/keys`, key: b.key })
  t.equal(bList.statusCode, 200)
  t.same(bList.json().results.map((k: { accountId: string }) => k.accountId), [String(b.accountId)], 'B lists only its own keys')
  const opList = await request({ method: 'GET', url: `/admin/v1/accounts/${b.accountId}/keys` })
  t.equal(opList.statusCode, 200, 'the operator may list B\'s keys')
  t.notOk(opList.body.includes(b.key), 'without the secret')
  expectError(t, await request({ method: 'DELETE', url: `/admin/v1/accounts/${accountId}/keys/999999` }), 404, 'OBJECT_NOT_FOUND')
})
