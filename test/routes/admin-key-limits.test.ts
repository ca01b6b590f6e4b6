// PATCH /admin/v1/accounts/{accountId}/keys/{keyId}: a key's own rate limits, set and cleared by an admin, in force
// from the key's next request; validation, tenancy (another account's key is not found) and the admin scope.
import t from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { build, createOtherAccount } from '../helpers/app.js'
import { expectError } from '../helpers/assertions.js'

const LIST = { method: 'GET' as const, url: '/crm/v3/objects/contacts?limit=1' }
const SERVICE_BURST = 1000

// The service-wide burst is high enough for the test's own admin calls, so only a per-key limit can refuse.
const ta = await build(t, { RATE_LIMIT_BURST_PER_10S: SERVICE_BURST, RATE_LIMIT_DAILY: 1_000_000 })
const { request, accountId } = ta

async function newKey (name: string, scopes = ['crm.objects.read']): Promise<{ id: string, key: string }> {
  const res = await request({ method: 'POST', url: `/admin/v1/accounts/${accountId}/keys`, payload: { name, scopes } })
  t.equal(res.statusCode, 201, res.body)
  return res.json()
}

function patch (keyId: string | number, payload: unknown, options: { account?: number, key?: string } = {}): Promise<LightMyRequestResponse> {
  return request({ method: 'PATCH', url: `/admin/v1/accounts/${options.account ?? accountId}/keys/${keyId}`, payload: payload as object, key: options.key })
}

t.test('a lowered burst refuses that key with TEN_SECONDLY_ROLLING from its next call; another key is unaffected', async (t) => {
  const a = await newKey('limited')
  const b = await newKey('unlimited')
  t.equal((await request({ ...LIST, key: a.key })).statusCode, 200, 'one call before the change')

  const res = await patch(a.id, { rateLimitBurstPer10s: 3 })
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json(), { id: a.id, accountId: String(accountId), name: 'limited', rateLimitBurstPer10s: 3, rateLimitDaily: null })
  t.notOk('key' in res.json(), 'no secret in the answer')
  const row = await ta.app.db.selectFrom('api_keys').select(['rate_limit_burst_per_10s', 'rate_limit_daily']).where('id', '=', Number(a.id)).executeTakeFirstOrThrow()
  t.same(row, { rate_limit_burst_per_10s: 3, rate_limit_daily: null }, 'stored on the key row')

  // The call before the change counts in the same window: two more pass, the next is refused.
  const statuses: number[] = []
  let refused: LightMyRequestResponse | undefined
  for (let i = 0; i < 3; i++) {
    const r = await request({ ...LIST, key: a.key })
    statuses.push(r.statusCode)
    if (r.statusCode === 429) refused = r
    else t.equal(r.headers['x-hubspot-ratelimit-max'], '3', 'the key\'s own limit is in the headers')
  }
  t.same(statuses, [200, 200, 429])
  t.ok(refused !== undefined)
  if (refused !== undefined) {
    t.match(expectError(t, refused, 429, 'RATE_LIMITS'), { policyName: 'TEN_SECONDLY_ROLLING', message: 'You have reached your ten_secondly_rolling limit.' })
  }

  for (let i = 0; i < 10; i++) {
    const r = await request({ ...LIST, key: b.key })
    t.equal(r.statusCode, 200, `key B call ${i + 1}`)
    t.equal(r.headers['x-hubspot-ratelimit-max'], String(SERVICE_BURST))
  }

  // Back to the service default (null): the very next call of A passes again.
  const cleared = await patch(a.id, { rateLimitBurstPer10s: null })
  t.equal(cleared.statusCode, 200)
  t.match(cleared.json(), { rateLimitBurstPer10s: null, rateLimitDaily: null })
  const after = await request({ ...LIST, key: a.key })
  t.equal(after.statusCode, 200)
  t.equal(after.headers['x-hubspot-ratelimit-max'], String(SERVICE_BURST))

  const listed = (await request({ method: 'GET', url: `/admin/v1/accounts/${accountId}/keys` })).json().results as Array<Record<string, unknown>>
  t.match(listed.find((k) => k.id === a.id), { rateLimitBurstPer10s: null, rateLimitDaily: null }, 'the listing shows the limits')
})

t.test('the daily limit, and a field left out keeps its value', async (t) => {
  const c = await newKey('daily')
  t.match((await patch(c.id, { rateLimitBurstPer10s: 50 })).json(), { rateLimitBurstPer10s: 50, rateLimitDaily: null })
  t.match((await patch(c.id, { rateLimitDaily: 2 })).json(), { rateLimitBurstPer10s: 50, rateLimitDaily: 2 }, 'the burst was kept')
  t.equal((await request({ ...LIST, key: c.key })).statusCode, 200)
  t.equal((await request({ ...LIST, key: c.key })).statusCode, 200)
  const refused = await request({ ...LIST, key: c.key })
  t.match(expectError(t, refused, 429, 'RATE_LIMITS'), { policyName: 'DAILY' })
  t.equal(refused.headers['x-hubspot-ratelimit-daily'], '2')
})

t.test('validation: 400 VALIDATION_ERROR in the HubSpot body, nothing written', async (t) => {
  const d = await newKey('validation')
  for (const payload of [{}, { rateLimitBurstPer10s: 0 }, { rateLimitBurstPer10s: -5 }, { rateLimitBurstPer10s: 1.5 },
    { rateLimitDaily: 'ten' }, { rateLimitDaily: 2_147_483_648 }, { rateLimitBurstPer10s: 5, scopes: ['admin'] }, { name: 'renamed' }]) {
    expectError(t, await patch(d.id, payload), 400, 'VALIDATION_ERROR')
  }
  expectError(t, await patch('abc', { rateLimitDaily: 5 }), 400, 'VALIDATION_ERROR')
  expectError(t, await patch(0, { rateLimitDaily: 5 }), 400, 'VALIDATION_ERROR')
  const row = await ta.app.db.selectFrom('api_keys').select(['rate_limit_burst_per_10s', 'rate_limit_daily', 'name', 'scopes']).where('id', '=', Number(d.id)).executeTakeFirstOrThrow()
  t.same(row, { rate_limit_burst_per_10s: null, rate_limit_daily: null, name: 'validation', scopes: ['crm.objects.read'] })
})

t.test('404 for an unknown key, a key under the wrong account, another tenant\'s key; 403 without admin', async (t) => {
  const own = await newKey('own')
  const other = await createOtherAccount(ta.app, 'Other tenant')
  const otherKeyId = (await ta.app.db.selectFrom('api_keys').select('id').where('account_id', '=', other.accountId).executeTakeFirstOrThrow()).id

  expectError(t, await patch(999_999, { rateLimitDaily: 5 }), 404, 'OBJECT_NOT_FOUND')
  expectError(t, await patch(otherKeyId, { rateLimitDaily: 5 }), 404, 'OBJECT_NOT_FOUND')
  expectError(t, await patch(own.id, { rateLimitDaily: 5 }, { account: 999_999 }), 404, 'OBJECT_NOT_FOUND')
  // A non-operator admin reaches its own account's keys only.
  expectError(t, await patch(own.id, { rateLimitDaily: 5 }, { key: other.key }), 404, 'OBJECT_NOT_FOUND')
  expectError(t, await patch(own.id, { rateLimitDaily: 5 }, { key: other.key, account: other.accountId }), 404, 'OBJECT_NOT_FOUND')
  const self = await patch(otherKeyId, { rateLimitDaily: 5 }, { key: other.key, account: other.accountId })
  t.equal(self.statusCode, 200)
  t.match(self.json(), { id: String(otherKeyId), rateLimitDaily: 5 })
  // The operator reaches another account's key under that account.
  t.match((await patch(otherKeyId, { rateLimitDaily: null }, { account: other.accountId })).json(), { rateLimitDaily: null })

  expectError(t, await patch(own.id, { rateLimitDaily: 5 }, { key: own.key }), 403, 'MISSING_SCOPES')
  const row = await ta.app.db.selectFrom('api_keys').select('rate_limit_daily').where('id', '=', Number(own.id)).executeTakeFirstOrThrow()
  t.equal(row.rate_limit_daily, null, 'no refused call changed the key')
})
