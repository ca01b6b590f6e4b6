// Database outage (issue 7 §4): the service's own PostgreSQL cluster is stopped (immediate: a crash) during a write
// load over HTTP and started again. While it is down every call is answered 503 with the HubSpot body and
// Retry-After, quickly, readiness is 503 and liveness 200; after it returns the same process serves again within 5 s.
// Every write answered 2xx is in the database, no write answered 5xx is half-applied, and the invariants hold.
import t from 'tap'
import pg from 'pg'
import { Kysely, PostgresDialect } from 'kysely'
import { privatePostgresUnavailable, startPrivatePostgres } from '../helpers/private-postgres.js'
import { serveApp } from '../helpers/served-app.js'
import { checkInvariants } from '../../src/services/invariants.service.js'
import type { Database } from '../../src/db/schema.js'

const DB_TIMEOUT_MS = 2000
const WORKERS = 6
const UNLABELED = { associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 279 } as const

interface Answer { op: 'create' | 'pair', n: number, contact?: number, company: number, status: number, sentAt: number, ms: number }

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

async function outage (): Promise<void> {
  const cluster = await startPrivatePostgres(t)
  const served = await serveApp(t, { DATABASE_URL: cluster.url(), DB_TIMEOUT_MS, DB_POOL_MAX: 8 })
  const { call } = served

  // Records made before the outage: companies to associate with, contacts whose pairs the load writes once each.
  const makeBatch = async (type: string, properties: (i: number) => Record<string, string>, count: number): Promise<number[]> => {
    const res = await call('POST', `/crm/v3/objects/${type}/batch/create`, { inputs: Array.from({ length: count }, (_, i) => ({ properties: properties(i) })) })
    if (res.status !== 201) throw new Error(`batch create ${type}: ${res.status} ${await res.text()}`)
    return ((await res.json()) as { results: Array<{ id: string }> }).results.map((r) => Number(r.id))
  }
  const companies = await makeBatch('companies', (i) => ({ name: `Company ${i}`, domain: `company-${i}.outage.test` }), 5)
  const contacts = [
    ...await makeBatch('contacts', (i) => ({ email: `pre-${i}@outage.test` }), 100),
    ...await makeBatch('contacts', (i) => ({ email: `pre-${100 + i}@outage.test` }), 100)
  ]

  // The load: each worker alternates a contact created with an inline association (record, keys, both rows, counters,
  // primary and event in one transaction) and a default association between an existing contact and a company.
  const answers: Answer[] = []
  const hung: string[] = []
  const badBodies: string[] = []
  const state = { running: true }
  let next = 0
  let nextPair = 0
  const worker = async (): Promise<void> => {
    while (state.running) {
      const n = next++
      const company = companies[n % companies.length] as number
      const op: Answer['op'] = n % 2 === 0 || nextPair >= contacts.length ? 'create' : 'pair'
      const contact = op === 'pair' ? contacts[nextPair++] : undefined
      const sentAt = performance.now()
      try {
        const res = op === 'create'
          ? await call('POST', '/crm/v3/objects/contacts', { properties: { email: `w-${n}@outage.test` }, associations: [{ to: { id: String(company) }, types: [UNLABELED] }] }, DB_TIMEOUT_MS * 5)
          : await call('PUT', `/crm/v4/objects/contacts/${contact}/associations/default/companies/${company}`, undefined, DB_TIMEOUT_MS * 5)
        const body = await res.text()
        answers.push({ op, n, contact, company, status: res.status, sentAt, ms: performance.now() - sentAt })
        if (res.status >= 500) {
          const parsed = JSON.parse(body) as Record<string, unknown>
          if (res.status !== 503 || parsed.status !== 'error' || parsed.category !== 'SERVICE_UNAVAILABLE' ||
            typeof parsed.correlationId !== 'string' || res.headers.get('retry-after') === null) badBodies.push(`${res.status} ${res.headers.get('retry-after')} ${body}`)
        }
      } catch (err) {
        hung.push(`${op} ${n}: ${(err as Error).message}`)
      }
      // While the database is down the answers come at once; a short pause keeps the count of calls sane.
      await sleep(answers.at(-1)?.status === 503 ? 20 : 0)
    }
  }
  const load = Array.from({ length: WORKERS }, async () => { await worker() })

  await sleep(1500)
  const stopBegan = performance.now()
  await cluster.stop('immediate')
  const downAt = performance.now()

  // While down: probes, checked twice, a second apart.
  const probes: Array<{ ready: number, live: number }> = []
  for (let i = 0; i < 3; i++) {
    await sleep(1000)
    const [ready, live] = await Promise.all([
      fetch(`${served.baseUrl}/health/ready`, { signal: AbortSignal.timeout(DB_TIMEOUT_MS * 5) }),
      fetch(`${served.baseUrl}/health/live`, { signal: AbortSignal.timeout(DB_TIMEOUT_MS * 5) })
    ])
    probes.push({ ready: ready.status, live: live.status })
  }
  const startBegan = performance.now()
  await cluster.start()
  const upAt = performance.now()

  // Back: the first 2xx to a call sent after pg_ctl start returned.
  let firstOkAfter: number | undefined
  while (performance.now() - upAt < 20_000) {
    const ok = answers.find((a) => a.sentAt >= upAt && a.status < 300)
    if (ok !== undefined) {
      firstOkAfter = ok.sentAt + ok.ms - upAt
      break
    }
    await sleep(50)
  }
  await sleep(1000)
  state.running = false
  await Promise.all(load)
  const readyAfter = await fetch(`${served.baseUrl}/health/ready`)

  const whileDown = answers.filter((a) => a.sentAt >= downAt && a.sentAt + a.ms <= startBegan)
  const slowestDown = Math.max(0, ...whileDown.map((a) => a.ms))
  const ok = answers.filter((a) => a.status < 300)
  const failed = answers.filter((a) => a.status >= 300)
  const statuses = [...new Set(answers.map((a) => a.status))].sort()
  const lostLogs = served.logs.filter((l) => l.msg === 'database connection lost').length
  t.comment(`writes: ${answers.length} (${ok.length} 2xx, ${failed.filter((a) => a.status === 503).length} 503, others ${failed.filter((a) => a.status !== 503).length}); ` +
    `statuses ${statuses.join(',')}; stop took ${Math.round(downAt - stopBegan)} ms; down for ${Math.round(startBegan - downAt)} ms with ${whileDown.length} answers, ` +
    `slowest ${Math.round(slowestDown)} ms; first 2xx ${firstOkAfter === undefined ? 'never' : `${Math.round(firstOkAfter)} ms`} after pg_ctl start returned ` +
    `(start took ${Math.round(upAt - startBegan)} ms); ${lostLogs} 'database connection lost' log lines`)

  t.test('while down: 503 with the HubSpot body and Retry-After, promptly; readiness 503, liveness 200', async (t) => {
    t.same(hung, [], 'no call hung (each is aborted after 5 x DB_TIMEOUT_MS)')
    t.same(badBodies, [], 'every 5xx is a 503 with status, category SERVICE_UNAVAILABLE, correlationId and Retry-After')
    t.same(statuses.filter((s) => s !== 503 && (s < 200 || s >= 300)), [], 'only 2xx and 503 answers')
    t.ok(whileDown.length > 0 && whileDown.every((a) => a.status === 503), `every call answered while down is a 503 (${whileDown.length})`)
    t.ok(slowestDown < DB_TIMEOUT_MS * 2, `slowest answer while down ${Math.round(slowestDown)} ms, under 2 x DB_TIMEOUT_MS (${DB_TIMEOUT_MS} ms)`)
    t.ok(probes.every((p) => p.ready === 503 && p.live === 200), `probes while down: ${JSON.stringify(probes)}`)
  })

  t.test('after the return: serving again within 5 s, with no restart', async (t) => {
    t.ok(firstOkAfter !== undefined && firstOkAfter < 5000, `first 2xx ${Math.round(firstOkAfter ?? -1)} ms after pg_ctl start returned`)
    t.equal(readyAfter.status, 200, 'ready again')
    t.ok(ok.some((a) => a.sentAt < stopBegan) && ok.some((a) => a.sentAt >= upAt), '2xx writes before the outage and after it')
  })

  t.test('every 2xx write is in the database, no 5xx write is half-applied, invariants hold', async (t) => {
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: cluster.url(), max: 2 }) }) })
    t.teardown(async () => { await db.destroy() })
    const rows = await db.selectFrom('associations').select(['from_type', 'from_id', 'to_id', 'type_id']).where('type_id', 'in', [279, 280]).execute()
    const has = new Set(rows.map((r) => `${r.from_type}:${r.from_id}:${r.to_id}`))
    const records = await db.selectFrom('records').select(['id', 'properties']).where('object_type', '=', '0-1').execute()
    const byEmail = new Map(records.map((r) => [String((r.properties as Record<string, unknown>).email), Number(r.id)]))
    const missing: string[] = []
    const half: string[] = []
    for (const a of answers) {
      const contact = a.op === 'pair' ? a.contact : byEmail.get(`w-${a.n}@outage.test`)
      const forward = contact !== undefined && has.has(`0-1:${contact}:${a.company}`)
      const inverse = contact !== undefined && has.has(`0-2:${a.company}:${contact}`)
      if (a.status < 300 && !(forward && inverse && contact !== undefined)) missing.push(`${a.op} ${a.n}`)
      if (forward !== inverse || (a.op === 'create' && contact !== undefined && !forward)) half.push(`${a.op} ${a.n} (${a.status})`)
    }
    t.same(missing, [], `all ${ok.length} writes answered 2xx are there, both directions`)
    t.same(half, [], `none of the ${failed.length} writes answered 503 is half-applied (a contact without its association, one direction only)`)
    const violations = (await checkInvariants(db, { cap: 10000 })).filter((c) => c.violations.length > 0)
    t.same(violations, [], 'the invariants checker reports zero violations (inverse rows, primary, counters, ...)')
  })
}

const unavailable = privatePostgresUnavailable()
if (unavailable !== undefined) {
  t.plan(0, `skipped: ${unavailable}`)
} else {
  await outage()
}
