// Logs: structured JSON, the request's correlation id on its lines, no API key anywhere.
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
  await app.services.accounts.bootstrap(TEST_ADMIN_KEY)

  const ok = await app.inject({ method: 'GET', url: '/crm/v3/objects/contacts', headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } })
  t.equal(ok.statusCode, 200)
  const wrongKey = 'aak_not_a_real_key_but_secret_0123456789'
  const refused = await app.inject({ method: 'GET', url: '/crm/v3/objects/contacts', headers: { authorization: `Bearer ${wrongKey}`, cookie: 'session=s3cret' } })
  t.equal(refused.statusCode, 401)

  const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>)
  for (const res of [ok, refused]) {
    const id = res.headers['x-hubspot-correlation-id']
    const mine = entries.filter((e) => e.reqId === id)
    t.ok(mine.length >= 2, `the request's lines (incoming, completed) carry its correlation id ${String(id)}`)
    t.ok(mine.some((e) => e.msg === 'request completed'))
  }
  const all = lines.join('\n')
  t.notMatch(all, TEST_ADMIN_KEY, 'the admin key is in no log line')
  t.notMatch(all, wrongKey, 'a refused key is in no log line')
  t.notMatch(all, 's3cret', 'cookies are in no log line')
})
