// Idempotency-Key on writes (issue 7 §2, README "Safe retries"): replay of the first answer, 422 for another request
// under the key, 400 for a bad key, no key left by a rolled-back write, 409 while in flight or when the answer was lost,
// secrets never stored (status only), expiry and purge, keys per account, multipart imports. Both engines.
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { sql } from 'kysely'
import { build, createOtherAccount } from '../helpers/app.js'
import { expectError } from '../helpers/assertions.js'
import { contactCompanyRequest, multipart, tempImportDir } from '../helpers/import-pipeline.js'

const ta = await build(t, { IMPORT_DIR: tempImportDir(t), IDEMPOTENCY_PURGE_INTERVAL_MS: 100 })
const { app, request, accountId } = ta

const keyed = (key: string, headers: Record<string, string> = {}): Record<string, string> => ({ 'idempotency-key': key, ...headers })
const rowsOf = async (key: string) => await app.db.selectFrom('idempotency_keys').selectAll().where('key', '=', key).execute()
const contactCount = async (email: string): Promise<number> => (await app.db.selectFrom('records').select('id')
  .where('account_id', '=', accountId).where(sql<boolean>`properties->>'email' = ${email}`).execute()).length

t.test('a retry with the same key and body gets the first answer; the work is done once', async (t) => {
  const key = randomUUID()
  const email = `${key}@replay.example`
  const first = await request({ method: 'POST', url: '/crm/v3/objects/contacts', headers: keyed(key), payload: { properties: { email } } })
  t.equal(first.statusCode, 201)
  t.notOk(first.headers['idempotency-replayed'], 'the first answer is not a replay')
  const again = await request({ method: 'POST', url: '/crm/v3/objects/contacts', headers: keyed(key), payload: { properties: { email } } })
  t.equal(again.statusCode, 201)
  t.equal(again.headers['idempotency-replayed'], 'true')
  t.equal(again.headers['content-type'], first.headers['content-type'])
  t.equal(again.body, first.body, 'same body, same record id')
  t.equal(await contactCount(email), 1, 'one contact')

  // A 204 (DELETE) replays as a 204.
  const id = first.json().id as string
  const delKey = randomUUID()
  const del = await request({ method: 'DELETE', url: `/crm/v3/objects/contacts/${id}`, headers: keyed(delKey) })
  t.equal(del.statusCode, 204)
  const delAgain = await request({ method: 'DELETE', url: `/crm/v3/objects/contacts/${id}`, headers: keyed(delKey) })
  t.equal(delAgain.statusCode, 204)
  t.equal(delAgain.headers['idempotency-replayed'], 'true')
  t.equal(delAgain.body, '')
})

t.test('the same key with another body, URL or method is a 422; the first answer stays', async (t) => {
  const key = randomUUID()
  const first = await request({ method: 'POST', url: '/crm/v3/objects/contacts', headers: keyed(key), payload: { properties: { email: `${key}@a.example` } } })
  t.equal(first.statusCode, 201)
  const body = expectError(t, await request({ method: 'POST', url: '/crm/v3/objects/contacts', headers: keyed(key), payload: { properties: { email: `${key}@b.example` } } }), 422, 'VALIDATION_ERROR')
  t.equal(body.subCategory, 'IDEMPOTENCY_KEY_REUSED')
  expectError(t, await request({ method: 'POST', url: '/crm/v3/objects/companies', headers: keyed(key), payload: { properties: { email: `${key}@a.example` } } }), 422, 'VALIDATION_ERROR')
  expectError(t, await request({ method: 'DELETE', url: `/crm/v3/objects/contacts/${first.json().id as string}`, headers: keyed(key) }), 422, 'VALIDATION_ERROR')
  t.equal(await contactCount(`${key}@b.example`), 0, 'the other request did nothing')
  const again = await request({ method: 'POST', url: '/crm/v3/objects/contacts', headers: keyed(key), payload: { properties: { email: `${key}@a.example` } } })
  t.equal(again.headers['idempotency-replayed'], 'true')
})

t.test('a key that is empty, too long or not printable ASCII is a 400 in the HubSpot body; nothing is done', async (t) => {
  for (const bad of ['', 'x'.repeat(256), 'clé', 'tab\there']) {
    const email = `${randomUUID()}@bad-key.example`
    const res = await request({ method: 'POST', url: '/crm/v3/objects/contacts', headers: keyed(bad), payload: { properties: { email } } })
    t.match(expectError(t, res, 400, 'VALIDATION_ERROR').message, /Idempotency-Key/, JSON.stringify(bad))
    t.equal(await contactCount(email), 0)
  }
  const longest = await request({ method: 'POST', url: '/crm/v3/objects/contacts', headers: keyed(`${randomUUID()} ~!`.padEnd(255, '.')), payload: { properties: { email: `${randomUUID()}@ok.example` } } })
  t.equal(longest.statusCode, 201, '255 printable characters, spaces included, are a key')
})

t.test('a write that rolls back leaves no key: the retry does the work again', async (t) => {
  const missing = 987_654_321
  const key = randomUUID()
  // The record is looked for inside the write transaction: not found rolls it back, and the claim with it.
  expectError(t, await request({ method: 'DELETE', url: `/crm/v3/objects/contacts/${missing}`, headers: keyed(key) }), 404, 'OBJECT_NOT_FOUND')
  t.same(await rowsOf(key), [], 'no key stored')
  const retry = await request({ method: 'DELETE', url: `/crm/v3/objects/contacts/${missing}`, headers: keyed(key) })
  expectError(t, retry, 404, 'OBJECT_NOT_FOUND')
  t.notOk(retry.headers['idempotency-replayed'], 'the retry did the work (looked again), no replay')

  // An answer given after a committed transaction is the first answer, errors included (a duplicate is refused in a
  // transaction that commits with nothing written): it is replayed.
  const email = `${randomUUID()}@dup.example`
  t.equal((await request({ method: 'POST', url: '/crm/v3/objects/contacts', payload: { properties: { email } } })).statusCode, 201)
  const dupKey = randomUUID()
  const dup = await request({ method: 'POST', url: '/crm/v3/objects/contacts', headers: keyed(dupKey), payload: { properties: { email } } })
  if (dup.statusCode === 409 && (await rowsOf(dupKey)).length > 0) {
    const again = await request({ method: 'POST', url: '/crm/v3/objects/contacts', headers: keyed(dupKey), payload: { properties: { email } } })
    t.equal(again.headers['idempotency-replayed'], 'true')
    t.equal(again.body, dup.body)
  }

  // A POST that only reads stores nothing: no write transaction was committed.
  const readKey = randomUUID()
  const read = await request({ method: 'POST', url: '/crm/v3/objects/contacts/batch/read', headers: keyed(readKey), payload: { inputs: [{ id: '1' }], properties: ['email'] } })
  t.ok(read.statusCode < 300, read.body)
  t.same(await rowsOf(readKey), [], 'a read stores no key')
})

t.test('a claim without an answer: 409 in progress with Retry-After, then answer lost after 2 minutes; never redone', async (t) => {
  const key = randomUUID()
  const email = `${key}@inflight.example`
  const payload = { properties: { email } }
  const first = await request({ method: 'POST', url: '/crm/v3/objects/contacts', headers: keyed(key), payload })
  t.equal(first.statusCode, 201)
  // As if the first request were still running: its claim committed, no answer yet.
  await app.db.updateTable('idempotency_keys').set({ status: null, response_body: null, content_type: null }).where('key', '=', key).execute()
  const busy = await request({ method: 'POST', url: '/crm/v3/objects/contacts', headers: keyed(key), payload })
  t.equal(expectError(t, busy, 409, 'CONFLICT').subCategory, 'IDEMPOTENCY_KEY_IN_PROGRESS')
  t.equal(busy.headers['retry-after'], '1')
  // As if the process had died between commit and storing the answer, three minutes ago.
  await app.db.updateTable('idempotency_keys').set({ created_at: sql<Date>`now() - interval '3 minutes'` }).where('key', '=', key).execute()
  const lost = await request({ method: 'POST', url: '/crm/v3/objects/contacts', headers: keyed(key), payload })
  t.match(expectError(t, lost, 409, 'CONFLICT'), { subCategory: 'IDEMPOTENCY_ANSWER_LOST', message: /will not be carried out again/ })
  t.equal(await contactCount(email), 1, 'the work was not redone')
})

t.test('two requests with one key at once: one does the work, the other gets 409 or the replay', async (t) => {
  for (let round = 0; round < 5; round++) {
    const key = randomUUID()
    const email = `${key}@race.example`
    const answers = await Promise.all([0, 1].map(async () => await request({ method: 'POST', url: '/crm/v3/objects/contacts', headers: keyed(key), payload: { properties: { email } } })))
    t.equal(answers.filter((a) => a.statusCode === 201 && a.headers['idempotency-replayed'] === undefined).length, 1, 'one did the work')
    for (const a of answers) {
      if (a.statusCode === 409) t.equal(a.json().subCategory, 'IDEMPOTENCY_KEY_IN_PROGRESS')
      else t.equal(a.statusCode, 201)
    }
    t.equal(await contactCount(email), 1, 'one contact')
  }
})

t.test('answers holding a secret are not stored: a retry gets 409 ANSWER_WITHHELD, no row holds the secret', async (t) => {
  const key = randomUUID()
  const payload = { targetUrl: 'https://hooks.example/withheld', }
  const first = await request({ method: 'POST', url: '/webhooks/v3/subscriptions', headers: keyed(key), payload })
  t.equal(first.statusCode, 201, first.body)
  const secret = first.json().secret as string
  t.ok(secret.length > 10)
  const retry = await request({ method: 'POST', url: '/webhooks/v3/subscriptions', headers: keyed(key), payload })
  t.match(expectError(t, retry, 409, 'CONFLICT'), { subCategory: 'IDEMPOTENCY_ANSWER_WITHHELD', message: /status 201.*never stored/ })
  t.notOk(retry.body.includes(secret))
  const [row] = await rowsOf(key)
  t.match(row, { status: 201, body_withheld: true, response_body: null })
  const all = await app.db.selectFrom('idempotency_keys').selectAll().execute()
  t.notOk(JSON.stringify(all).includes(secret), 'the secret is in no idempotency row')
  const subs = (await request({ method: 'GET', url: '/webhooks/v3/subscriptions' })).json().results as Array<{ targetUrl: string }>
  t.equal(subs.filter((s) => s.targetUrl === payload.targetUrl).length, 1, 'one subscription')

  // An error answer of such a route holds no secret: it is replayed in full.
  const badKey = randomUUID()
  const bad = await request({ method: 'POST', url: '/webhooks/v3/subscriptions', headers: keyed(badKey), payload: { targetUrl: 'ftp://nope' } })
  t.equal(bad.statusCode, 400)
  t.same(await rowsOf(badKey), [], 'refused before any write: nothing stored')
})

t.test('a new account or API key: the secret is never stored, a retry gets 409 ANSWER_WITHHELD', async (t) => {
  const name = `withheld ${randomUUID()}`
  const accountKey = randomUUID()
  const created = await request({ method: 'POST', url: '/admin/v1/accounts', headers: keyed(accountKey), payload: { name } })
  t.equal(created.statusCode, 201, created.body)
  const accountSecret = created.json().key.key as string
  const retry = await request({ method: 'POST', url: '/admin/v1/accounts', headers: keyed(accountKey), payload: { name } })
  t.match(expectError(t, retry, 409, 'CONFLICT'), { subCategory: 'IDEMPOTENCY_ANSWER_WITHHELD', message: /status 201.*never stored.*List the keys, accounts/ })
  const accounts = await app.db.selectFrom('accounts').select('id').where('name', '=', name).execute()
  t.equal(accounts.length, 1, 'one account')

  const keyKey = randomUUID()
  const url = `/admin/v1/accounts/${accounts[0]!.id}/keys`
  const newKey = await request({ method: 'POST', url, headers: keyed(keyKey), payload: { name: 'ci', scopes: ['crm.objects.read'] } })
  t.equal(newKey.statusCode, 201, newKey.body)
  const keySecret = newKey.json().key as string
  expectError(t, await request({ method: 'POST', url, headers: keyed(keyKey), payload: { name: 'ci', scopes: ['crm.objects.read'] } }), 409, 'CONFLICT')
  const keys = (await request({ method: 'GET', url })).json().results as Array<{ name: string }>
  t.equal(keys.filter((k) => k.name === 'ci').length, 1, 'one key')

  const rows = await app.db.selectFrom('idempotency_keys').selectAll().execute()
  t.match(rows.filter((r) => r.key === accountKey || r.key === keyKey), [{ status: 201, body_withheld: true, response_body: null }, { status: 201, body_withheld: true, response_body: null }])
  const stored = JSON.stringify(rows)
  t.notOk(stored.includes(accountSecret) || stored.includes(keySecret), 'no idempotency row holds a secret')
})

t.test('keys are per account: another account\'s same key and body does its own work', async (t) => {
  const other = await createOtherAccount(app, `idempotency ${randomUUID()}`)
  const key = randomUUID()
  const payload = { properties: { email: `${key}@tenant.example` } }
  const mine = await request({ method: 'POST', url: '/crm/v3/objects/contacts', headers: keyed(key), payload })
  const theirs = await request({ method: 'POST', url: '/crm/v3/objects/contacts', headers: keyed(key), payload, key: other.key })
  t.equal(mine.statusCode, 201)
  t.equal(theirs.statusCode, 201)
  t.notOk(theirs.headers['idempotency-replayed'], 'not a replay of another account\'s answer')
  t.not(theirs.json().id, mine.json().id)
  t.same((await rowsOf(key)).map((r) => r.account_id).sort(), [accountId, other.accountId].sort())
})

t.test('an expired key is forgotten (the retry does the work again) and purged', async (t) => {
  const key = randomUUID()
  const email = `${key}@expiry.example`
  const payload = { properties: { email } }
  t.equal((await request({ method: 'POST', url: '/crm/v3/objects/contacts', headers: keyed(key), payload })).statusCode, 201)
  const [row] = await rowsOf(key)
  const hours = (row!.expires_at.getTime() - row!.created_at.getTime()) / 3_600_000
  t.ok(Math.abs(hours - 24) < 0.01, 'kept 24 hours by default')
  await app.db.updateTable('idempotency_keys').set({ expires_at: sql<Date>`now() - interval '1 second'` }).where('key', '=', key).execute()
  const after = await request({ method: 'POST', url: '/crm/v3/objects/contacts', headers: keyed(key), payload })
  expectError(t, after, 409, 'CONFLICT') // the email exists now: the work was done again, not replayed
  t.notOk(after.headers['idempotency-replayed'])

  const stale = randomUUID()
  t.equal((await request({ method: 'POST', url: '/crm/v3/objects/contacts', headers: keyed(stale), payload: { properties: { email: `${stale}@expiry.example` } } })).statusCode, 201)
  await app.db.updateTable('idempotency_keys').set({ expires_at: sql<Date>`now() - interval '1 second'` }).where('key', '=', stale).execute()
  const until = Date.now() + 20_000
  while ((await rowsOf(stale)).length > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 100))
  t.same(await rowsOf(stale), [], 'the periodic purge removed the expired key')
})

t.test('multipart import: the key covers method and URL; a retry gets the first import without a second one', async (t) => {
  const key = randomUUID()
  const upload = () => multipart([
    { name: 'importRequest', data: JSON.stringify(contactCompanyRequest('idem.csv', { name: key })) },
    { name: 'files', filename: 'idem.csv', contentType: 'text/csv', data: `Email,Company domain\n${key}@import.example,idem.example\n` }
  ])
  const first = await request({ method: 'POST', url: '/crm/v3/imports', ...withKey(upload(), key) })
  t.equal(first.statusCode, 200, first.body)
  const again = await request({ method: 'POST', url: '/crm/v3/imports', ...withKey(upload(), key) })
  t.equal(again.statusCode, 200)
  t.equal(again.headers['idempotency-replayed'], 'true')
  t.equal(again.json().id, first.json().id, 'the same import')
  const imports = await app.db.selectFrom('imports').select('id').where('account_id', '=', accountId).where('name', '=', key).execute()
  t.equal(imports.length, 1, 'one import')
})

function withKey (form: { payload: Buffer, headers: Record<string, string> }, key: string): { payload: Buffer, headers: Record<string, string> } {
  return { payload: form.payload, headers: { ...form.headers, 'idempotency-key': key } }
}
