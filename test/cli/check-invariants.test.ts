// check:invariants: a database written through the API holds every invariant; each kind of damage is reported by
// its check; the CLI exits 1 and names what is wrong.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import t from 'tap'
import { sql } from 'kysely'
import { build } from '../helpers/app.js'
import { createRecords } from '../helpers/factories.js'
import { checkInvariants } from '../../src/services/invariants.service.js'

const ta = await build(t)
const db = ta.app.db
const contacts = await createRecords(ta, 'contacts', 3)
const companies = await createRecords(ta, 'companies', 3)
const [c0, c1, c2] = contacts as [number, number, number]
const [k0, k1, k2] = companies as [number, number, number]

const failing = async (): Promise<Record<string, string[]>> => {
  const out: Record<string, string[]> = {}
  for (const check of await checkInvariants(db, { cap: 2 })) if (check.violations.length > 0) out[check.name] = check.violations.map((v) => v.detail)
  return out
}

t.test('data written through the API holds every invariant', async (t) => {
  const label = await ta.request({ method: 'POST', url: '/crm/v4/associations/contacts/companies/labels', payload: { label: 'Manager', name: 'manager' } })
  const manager = label.json().results[0].typeId as number
  const batch = await ta.request({
    method: 'POST',
    url: '/crm/v4/associations/contacts/companies/batch/create',
    payload: { inputs: [[c0, k0], [c0, k1], [c1, k1], [c2, k2]].map(([from, to]) => ({ from: { id: String(from) }, to: { id: String(to) }, types: [{ associationCategory: 'USER_DEFINED', associationTypeId: manager }] })) }
  })
  t.equal(batch.statusCode, 201, batch.body)
  t.equal((await ta.request({ method: 'DELETE', url: `/crm/v3/objects/companies/${k2}` })).statusCode, 204, 'an archive cascades')
  t.same(await failing(), {}, 'no violations')
})

t.test('each kind of damage is reported by its check', async (t) => {
  await sql`delete from associations where from_type = '0-2' and from_id = ${k1} and to_id = ${c1} and type_id = 280`.execute(db)
  await sql`update association_counts set count = count + 5 where from_type = '0-1' and from_id = ${c0}`.execute(db)
  await sql`update records set archived_at = now() where object_type = '0-2' and id = ${k0}`.execute(db)
  const found = await failing()
  t.match(found['every association row has its inverse row'], [new RegExp(`0-1 ${c1} -> 0-2 ${k1} type 279 has no inverse row \\(type 280\\)`)])
  t.same(found['counters equal the real counts'], [`0-1 ${c0} toward 0-2: counter 7, rows 2`, `0-2 ${k1} toward 0-1: counter 2, rows 1`].sort())
  t.match(found['no record over the cap of 2'], [`0-1 ${c0} holds 7 0-2 records; the cap is 2`])
  t.ok(found['associations only between live records']?.some((d) => d.includes(`0-2 record ${k0} is missing or archived`)), 'edges to an archived record')
  t.notOk(found['one primary per record and object type, on the primary type'], 'the primaries are intact')
  const orphanLabels = found['labelled and primary rows sit on the unlabeled row'] ?? []
  t.ok(orphanLabels.length === 2 && orphanLabels.every((d) => d.startsWith(`0-2 ${k1} -> 0-1 ${c1} has type `)), 'the pair that lost its unlabeled row keeps its label and primary rows: both reported')
})

t.test('the CLI exits 1 and prints the failing checks (PostgreSQL: the database must be reachable from another process)', {
  skip: ta.database.url === undefined ? 'PGlite here is in memory, out of reach of another process' : false
}, async (t) => {
  const run = promisify(execFile)
  const result = await run(process.execPath, ['--import', 'tsx', 'src/cli/check-invariants.ts'], {
    env: { ...process.env, DATABASE_URL: ta.database.url, LOG_LEVEL: 'silent' }
  }).then(() => ({ code: 0, stdout: '' }), (err: { code: number, stdout: string }) => ({ code: err.code, stdout: err.stdout }))
  t.equal(result.code, 1)
  t.match(result.stdout, /FAIL every association row has its inverse row \(1 violations\)/)
  t.match(result.stdout, /ok {3}one primary per record/)
  t.match(result.stdout, /invariants violated on PostgreSQL/)
})
