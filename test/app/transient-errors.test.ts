// Database errors a client should retry (connection lost, server shutting down, deadlock or serialization failure
// still failing after inTransaction's retries) are 503 SERVICE_UNAVAILABLE with Retry-After, never a 500.
import t from 'tap'
import { build } from '../helpers/app.js'
import { expectError } from '../helpers/assertions.js'

const ta = await build(t)
const failures: Record<string, () => Error> = {
  'serialization failure (40001)': () => Object.assign(new Error('could not serialize access due to concurrent update'), { code: '40001' }),
  'deadlock (40P01)': () => Object.assign(new Error('deadlock detected'), { code: '40P01' }),
  'admin shutdown (57P01)': () => Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
  'crash shutdown (57P02)': () => Object.assign(new Error('terminating connection due to crash of another server process'), { code: '57P02' }),
  'cannot connect now (57P03)': () => Object.assign(new Error('the database system is starting up'), { code: '57P03' }),
  'connection failure (08006)': () => Object.assign(new Error('connection failure'), { code: '08006' }),
  'connection refused': () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
  'connection terminated': () => new Error('Connection terminated unexpectedly'),
  'pool connect timeout': () => new Error('timeout exceeded when trying to connect'),
  'broken pooled client': () => new Error('Client has encountered a connection error and is not queryable')
}
let which = ''
ta.app.get('/test/transient', async () => { throw (failures[which] ?? (() => new Error('a bug')))() })

for (const name of Object.keys(failures)) {
  t.test(name, async (t) => {
    which = name
    const res = await ta.request({ method: 'GET', url: '/test/transient' })
    const body = expectError(t, res, 503, 'SERVICE_UNAVAILABLE')
    t.equal(res.headers['retry-after'], '5')
    t.equal(body.message, 'The service is temporarily unavailable; retry later', 'no internals in the message')
  })
}

t.test('any other error is still a 500', async (t) => {
  which = 'none'
  expectError(t, await ta.request({ method: 'GET', url: '/test/transient' }), 500, 'INTERNAL_ERROR')
})
