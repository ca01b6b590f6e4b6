// Logs: structured JSON, the request's correlation id and account id on its lines, no API key or secret anywhere.
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { createTestDatabase } from '../helpers/db.js'
import { TEST_ADMIN_KEY } from '../helpers/app.js'

t.test('request log lines carry the correlation id and never the API key', async (t) => {
  const database = await createTestDatabase()
  const lines: string[] = []
  const app = await buildApp(loadConfig({}, { LOG_LEVEL: 'info' }), { database: database.handle, logStream: { write: (line) => { lines.push(line) } } })
  t.teardown(async () => { await app.close(); await database.drop() })
  const boot = await app.services.accounts.bootstrap(TEST_ADMIN_KEY)

  const ok = await app.inject({ method: 'GET', url: '/crm/v3/objects/contacts', headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } })
  t.equal(ok.statusCode, 200)
  const wrongKey = 'aak_not_a_real_key_but_secret_0123456789'
  const refused = await app.inject({ method: 'GET', url: '/crm/v3/objects/contacts', headers: { authorization: `Bearer ${wrongKey}`, cookie: 'session=s3cret' } })
  t.equal(refused.statusCode, 401)
  const missing = await app.inject({ method: 'GET', url: '/crm/v3/objects/contacts/999999999', headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } })
  t.equal(missing.statusCode, 404)
  const hook = await app.inject({ method: 'POST', url: '/webhooks/v3/subscriptions', payload: { targetUrl: 'http://127.0.0.1:9/hook' }, headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } })
  t.equal(hook.statusCode, 201)
  const webhookSecret = (hook.json() as { secret: string }).secret
  t.ok(webhookSecret.length >= 16, 'the subscription returns its signing secret once')

  const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>)
  for (const res of [ok, refused]) {
    const id = res.headers['x-hubspot-correlation-id']
    const mine = entries.filter((e) => e.reqId === id)
    t.ok(mine.length >= 2, `the request's lines (incoming, completed) carry its correlation id ${String(id)}`)
    t.ok(mine.some((e) => e.msg === 'request completed'))
  }
  // Once the key is checked, every line of the request names the caller's account; only "incoming request" comes before.
  const okLines = entries.filter((e) => e.reqId === ok.headers['x-hubspot-correlation-id'])
  const afterAuth = okLines.filter((e) => e.msg !== 'incoming request')
  t.ok(afterAuth.some((e) => e.msg === 'request completed'), 'the completed line is among them')
  for (const e of afterAuth) t.equal(e.accountId, boot.accountId, `"${String(e.msg)}" carries the account id`)
  const rejectedLines = entries.filter((e) => e.reqId === missing.headers['x-hubspot-correlation-id'] && e.msg !== 'incoming request')
  t.ok(rejectedLines.length >= 2, 'a rejected call logs its rejection and completion')
  for (const e of rejectedLines) t.equal(e.accountId, boot.accountId, `"${String(e.msg)}" of a rejected call carries the account id`)
  t.notOk(entries.some((e) => e.reqId === refused.headers['x-hubspot-correlation-id'] && 'accountId' in e), 'a refused key names no account')
  const all = lines.join('\n')
  t.notMatch(all, TEST_ADMIN_KEY, 'the admin key is in no log line')
  t.notMatch(all, wrongKey, 'a refused key is in no log line')
  t.notMatch(all, 's3cret', 'cookies are in no log line')
  t.notOk(all.includes(webhookSecret), 'a webhook signing secret is in no log line')
})
