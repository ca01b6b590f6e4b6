// READ_DATABASE_URL (issue 7 §7) against a real streaming replica: a private primary cluster and a pg_basebackup -R
// standby of it. GET requests read from the replica; the account that just wrote reads its write; a replica behind by
// more than READ_REPLICA_MAX_LAG_MS, or stopped, is left for the primary with no error.
import t from 'tap'
import pg from 'pg'
import { privatePostgresUnavailable, startPrivatePostgres } from '../helpers/private-postgres.js'
import { serveApp } from '../helpers/served-app.js'
import { createOtherAccount } from '../helpers/app.js'

const CHECK_MS = 200
const MAX_LAG_MS = 4000

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

async function replicaTests (): Promise<void> {
  const primary = await startPrivatePostgres(t)
  const replica = await startPrivatePostgres(t, { replicaOf: primary })
  const served = await serveApp(t, {
    DATABASE_URL: primary.url(),
    READ_DATABASE_URL: replica.url(),
    READ_REPLICA_CHECK_MS: CHECK_MS,
    READ_REPLICA_MAX_LAG_MS: MAX_LAG_MS
  })
  const router = served.app.readReplica
  if (router === undefined) throw new Error('READ_DATABASE_URL set but no replica router')
  const sqlOn = async (url: string, text: string, values: unknown[] = []): Promise<pg.QueryResult> => {
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try { return await client.query(text, values) } finally { await client.end() }
  }
  const other = await createOtherAccount(served.app)
  const as = async (key: string | undefined, method: string, path: string, body?: unknown): Promise<{ status: number, json: any }> => {
    const res = await fetch(served.baseUrl + path, {
      method,
      headers: { authorization: `Bearer ${key ?? 'aak_test_admin_key_0123456789abcdef'}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined
    })
    return { status: res.status, json: await res.json().catch(() => undefined) }
  }
  const firstname = async (key: string | undefined, id: number): Promise<string | undefined> => {
    const res = await as(key, 'GET', `/crm/v3/objects/contacts/${id}?properties=firstname`)
    if (res.status !== 200) throw new Error(`GET contact ${id}: ${res.status} ${JSON.stringify(res.json)}`)
    return res.json.properties.firstname
  }
  const waitFor = async (what: string, ok: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> => {
    const until = Date.now() + ms
    while (!await ok()) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(router.status())}`)
      await sleep(50)
    }
  }

  // Account A (the operator) and account B each own a contact, replicated before the tests begin.
  const created = await as(undefined, 'POST', '/crm/v3/objects/contacts', { properties: { email: 'a@replica.test', firstname: 'Original' } })
  const createdB = await as(other.key, 'POST', '/crm/v3/objects/contacts', { properties: { email: 'b@replica.test', firstname: 'Original' } })
  const contactA = Number(created.json.id)
  const contactB = Number(createdB.json.id)
  await waitFor('the replica to replay the setup writes', () => router.status().usable && router.status().pinnedAccounts === 0)
  let changedAt = 0

  t.test('GET requests read from the replica', async (t) => {
    t.equal(createdB.status, 201)
    // A change made on the primary behind the service's back, with replay paused: only the replica still has the old value.
    await sqlOn(replica.url(), 'select pg_wal_replay_pause()')
    changedAt = Date.now()
    await sqlOn(primary.url(), 'update records set properties = properties || \'{"firstname":"Changed"}\' where object_type = \'0-1\' and id = $1', [contactB])
    t.equal(await firstname(other.key, contactB), 'Original', 'the GET was answered from the replica (it has not replayed the change)')
    const onReplica = await sqlOn(replica.url(), "select count(*)::int as n from pg_stat_activity where backend_type = 'client backend' and datname = 'postgres'")
    t.ok(onReplica.rows[0].n >= 1, `the service holds connections on the replica (${onReplica.rows[0].n})`)
  })

  t.test('the account that wrote reads its write at once (replay still paused)', async (t) => {
    const res = await as(undefined, 'POST', '/crm/v3/objects/contacts', { properties: { email: 'fresh@replica.test', firstname: 'Fresh' } })
    t.equal(res.status, 201)
    const id = Number(res.json.id)
    const onReplica = await sqlOn(replica.url(), "select count(*)::int as n from records where object_type = '0-1' and id = $1", [id])
    t.equal(onReplica.rows[0].n, 0, 'the replica does not have it yet')
    t.equal(await firstname(undefined, id), 'Fresh', 'an immediate GET by the same account sees it (read from the primary)')
    t.equal(router.status().pinnedAccounts, 1, 'the writing account is pinned to the primary')
    t.equal(await firstname(undefined, contactA), 'Original')
  })

  t.test(`a replica behind by more than READ_REPLICA_MAX_LAG_MS (${MAX_LAG_MS} ms) is left for the primary`, async (t) => {
    // Replay is still paused: B's reads come from the replica (old value) until the lag passes the bound.
    const started = changedAt
    let lastStale = 0
    let fresh: number | undefined
    while (Date.now() - started < MAX_LAG_MS * 5) {
      // Times are taken when each GET is sent: on a loaded machine its answer may come much later than its routing.
      const sentAt = Date.now() - started
      const value = await firstname(other.key, contactB)
      if (value === 'Changed') {
        fresh = sentAt
        break
      }
      lastStale = sentAt
      await sleep(100)
    }
    t.comment(`stale reads sent until ${lastStale} ms after the change on the primary; primary from a GET sent at ${fresh ?? 'never'} ms (bound ${MAX_LAG_MS} ms + check ${CHECK_MS} ms)`)
    t.ok(fresh !== undefined, 'reads moved to the primary with no error')
    t.ok(lastStale <= MAX_LAG_MS + CHECK_MS + 1000, 'no stale read past the lag bound (plus one check interval and a margin)')
    t.notOk(router.status().usable, `the replica is reported lagging (${router.status().lagMs} ms)`)

    await sqlOn(replica.url(), 'select pg_wal_replay_resume()')
    await waitFor('the replica to catch up', () => router.status().usable && router.status().pinnedAccounts === 0)
    t.pass(`replica usable again after resume (lag ${router.status().lagMs} ms)`)
  })

  t.test('a stopped replica: reads fall back to the primary with no error', async (t) => {
    await replica.stop('fast')
    const statuses: number[] = []
    for (let i = 0; i < 10; i++) {
      statuses.push((await as(other.key, 'GET', `/crm/v3/objects/contacts/${contactB}`)).status)
      statuses.push((await as(undefined, 'GET', '/crm/v3/objects/contacts?limit=5')).status)
    }
    t.same([...new Set(statuses)], [200], 'every GET answered 200')
    t.equal(await firstname(other.key, contactB), 'Changed')
    t.notOk(router.status().usable, 'the replica is reported unusable')
    const ready = await fetch(`${served.baseUrl}/health/ready`)
    t.equal(ready.status, 200, 'readiness follows the primary only')
  })
}

const unavailable = privatePostgresUnavailable()
if (unavailable !== undefined) {
  t.plan(0, `skipped: ${unavailable}`)
} else {
  await replicaTests()
}
