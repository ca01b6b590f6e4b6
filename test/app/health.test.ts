import t from 'tap'
import { build } from '../helpers/app.js'

t.test('liveness and readiness answer without an API key', async (t) => {
  const { request, app } = await build(t)
  const live = await request({ method: 'GET', url: '/health/live', key: null })
  t.equal(live.statusCode, 200)
  t.same(live.json(), { status: 'ok' })

  const ready = await request({ method: 'GET', url: '/health/ready', key: null })
  t.equal(ready.statusCode, 200)
  t.same(ready.json(), { status: 'ok', engine: app.dbEngine })
  t.ok(['postgres', 'pglite'].includes(app.dbEngine))
})

t.test('readiness is 503 when the database is gone; the process keeps serving', async (t) => {
  const { request, app } = await build(t)
  await app.db.destroy()

  const ready = await request({ method: 'GET', url: '/health/ready', key: null })
  t.equal(ready.statusCode, 503)
  t.same(ready.json(), { status: 'unavailable', engine: app.dbEngine })

  const again = await request({ method: 'GET', url: '/health/ready', key: null })
  t.equal(again.statusCode, 503, 'still 503, no crash')
  const live = await request({ method: 'GET', url: '/health/live', key: null })
  t.equal(live.statusCode, 200, 'liveness does not depend on the database')
})
