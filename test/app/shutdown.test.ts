// Graceful shutdown: close() lets in-flight requests finish, then stops accepting and closes the database.
import t from 'tap'
import { build } from '../helpers/app.js'

t.test('closing waits for an in-flight request, then refuses new ones and closes the pool', async (t) => {
  const ta = await build(t)
  let release: () => void = () => {}
  const started = new Promise<void>((resolve) => {
    // A route that holds its request open until released, added before the app is ready (tests only).
    ta.app.get('/test/slow', async () => {
      resolve()
      await new Promise<void>((resolve) => { release = resolve })
      return { done: true }
    })
  })
  await ta.app.listen({ port: 0, host: '127.0.0.1' })
  const address = ta.app.server.address()
  const base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`

  const inFlight = fetch(`${base}/test/slow`).then(async (res) => ({ status: res.status, body: await res.json() }))
  await started
  const closing = ta.app.close()
  setTimeout(() => { release() }, 200)
  const answer = await inFlight
  t.same(answer, { status: 200, body: { done: true } }, 'the in-flight request completes')
  const before = Date.now()
  await closing
  t.ok(Date.now() - before < 5000, 'close does not wait for the client\'s keep-alive socket to time out')
  await t.rejects(fetch(`${base}/health/live`), 'no new connections after close')
  await t.rejects(ta.app.db.selectFrom('accounts').select('id').execute(), 'the database pool is closed')
})
