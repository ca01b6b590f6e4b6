// Load shedding (issue 7 §1): past a memory threshold, API calls get a 503 with Retry-After and the HubSpot error body
// at once (not even the key is looked up); the health probes and the docs still answer.
import t from 'tap'
import { build } from '../helpers/app.js'
import { UUID } from '../helpers/assertions.js'

t.test('a heap threshold of 1 byte: every API call is shed with 503, health and docs still answer', async (t) => {
  const ta = await build(t, { LOAD_SHED_MAX_HEAP_BYTES: 1, LOAD_SHED_SAMPLE_INTERVAL_MS: 10 })
  await ta.app.ready()
  // The first sample is taken one interval after start.
  const deadline = Date.now() + 5000
  let res = await ta.request({ method: 'GET', url: '/crm/v3/objects/contacts?limit=1' })
  while (res.statusCode !== 503 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    res = await ta.request({ method: 'GET', url: '/crm/v3/objects/contacts?limit=1' })
  }
  t.equal(res.statusCode, 503)
  t.equal(res.headers['retry-after'], '5')
  t.match(res.headers['content-type'], /^application\/json/)
  t.match(res.json(), { status: 'error', category: 'SERVICE_UNAVAILABLE', correlationId: UUID, message: String })
  t.equal(res.json().correlationId, res.headers['x-hubspot-correlation-id'])
  t.equal(res.headers['x-hubspot-ratelimit-max'], undefined, 'shed before authentication: the call is not counted')

  // Shed whatever the key (even none) and whatever the route, writes included.
  const write = await ta.request({ method: 'POST', url: '/crm/v3/objects/contacts', payload: { properties: {} } })
  t.equal(write.statusCode, 503)
  t.equal((await ta.request({ method: 'GET', url: '/crm/v3/objects/contacts', key: null })).statusCode, 503)
  t.equal(await ta.app.db.selectFrom('records').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow().then((r) => Number(r.n)), 0, 'the shed write did nothing')

  t.equal((await ta.request({ method: 'GET', url: '/health/live', key: null })).statusCode, 200)
  const ready = await ta.request({ method: 'GET', url: '/health/ready', key: null })
  t.equal(ready.statusCode, 200)
  t.match(ready.json(), { status: 'ok' })
  t.equal((await ta.request({ method: 'GET', url: '/docs/json', key: null })).statusCode, 200)
})

t.test('the default heap threshold (90% of the V8 limit): the same call is served', async (t) => {
  const ta = await build(t, { LOAD_SHED_SAMPLE_INTERVAL_MS: 10 })
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal((await ta.request({ method: 'GET', url: '/crm/v3/objects/contacts?limit=1' })).statusCode, 200)
})
