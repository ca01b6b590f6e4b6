// R1 high-usage report: which records it lists (per-record cap and per-label limits at 80% or more), the HubSpot
// answer (also through the official client), reading it back as JSON pages and CSV, tenancy.
import t from 'tap'
import { Client } from '@hubspot/api-client'
import { build, createOtherAccount } from '../helpers/app.js'
import { createRecords } from '../helpers/factories.js'
import { expectError } from '../helpers/assertions.js'

const ta = await build(t, { MAX_ASSOCIATIONS_PER_TYPE: 5 })
const { request } = ta
const [nearCap, belowCap, labelled, halfLabelled] = await createRecords(ta, 'contacts', 4) as [number, number, number, number]
const companies = await createRecords(ta, 'companies', 4)

async function associate (contact: number, companyIds: number[], typeIds: number[] = []): Promise<void> {
  const res = await request({
    method: 'POST',
    url: '/crm/v4/associations/contacts/companies/batch/create',
    payload: { inputs: companyIds.map((c) => ({ from: { id: String(contact) }, to: { id: String(c) }, types: typeIds.map((id) => ({ associationCategory: 'USER_DEFINED', associationTypeId: id })) })) }
  })
  if (res.statusCode !== 201) throw new Error(`associate failed: ${res.statusCode} ${res.body}`)
}

const label = await request({ method: 'POST', url: '/crm/v4/associations/contacts/companies/labels', payload: { label: 'Manager', name: 'manager' } })
const managerTypeId = label.json().results[0].typeId as number
const limit = await request({ method: 'POST', url: '/crm/v4/associations/definitions/configurations/contacts/companies/batch/create', payload: { inputs: [{ category: 'USER_DEFINED', typeId: managerTypeId, maxToObjectIds: 2 }] } })
if (limit.statusCode !== 201) throw new Error(`limit failed: ${limit.statusCode} ${limit.body}`)
await associate(nearCap, companies) // 4 of 5: 80%
await associate(belowCap, companies.slice(0, 3)) // 60%
await associate(labelled, companies.slice(0, 2), [managerTypeId]) // 2 of 2 Manager labels: 100%
await associate(halfLabelled, companies.slice(0, 1), [managerTypeId]) // 1 of 2: 50%
// Companies: the first has 4 contacts (80%), the second 3, the others 1 or 2.

const expected = [
  { objectTypeId: '0-1', objectId: nearCap, toObjectTypeId: '0-2', limitKind: 'RECORD_CAP', count: 4, limit: 5, percentOfLimit: 80 },
  { objectTypeId: '0-1', objectId: labelled, toObjectTypeId: '0-2', limitKind: 'LABEL_LIMIT', associationTypeId: managerTypeId, label: 'Manager', count: 2, limit: 2, percentOfLimit: 100 },
  { objectTypeId: '0-2', objectId: companies[0], toObjectTypeId: '0-1', limitKind: 'RECORD_CAP', count: 4, limit: 5, percentOfLimit: 80 }
]

t.test('the report lists the records at 80% or more of a limit, and only those', async (t) => {
  const res = await request({ method: 'POST', url: '/crm/v4/associations/usage/high-usage-report/42' })
  t.equal(res.statusCode, 200, res.body)
  const body = res.json()
  t.match(body, { userId: 42, userEmail: '', enqueueTime: String, reportId: String, rowCount: 3 })
  t.ok(!Number.isNaN(Date.parse(body.enqueueTime)), 'enqueueTime is a date')

  const report = await request({ method: 'GET', url: `/crm/v4/associations/usage/high-usage-report/${body.reportId as string}` })
  t.equal(report.statusCode, 200, report.body)
  t.match(report.json(), { id: body.reportId, userId: 42, thresholdPercent: 80, total: 3 })
  t.same(report.json().results, expected)
  t.notOk(report.json().paging, 'one page')
})

t.test('JSON pages walk the whole report in order', async (t) => {
  const { reportId } = (await request({ method: 'POST', url: '/crm/v4/associations/usage/high-usage-report/7' })).json()
  const seen: unknown[] = []
  let after: string | undefined
  let pages = 0
  do {
    const res = await request({ method: 'GET', url: `/crm/v4/associations/usage/high-usage-report/${reportId as string}`, query: { limit: '2', ...(after !== undefined ? { after } : {}) } })
    t.equal(res.statusCode, 200)
    seen.push(...res.json().results)
    after = res.json().paging?.next.after
    pages++
  } while (after !== undefined)
  t.equal(pages, 2)
  t.same(seen, expected)
})

t.test('CSV: the same entries as a file, by format=csv or Accept', async (t) => {
  const { reportId } = (await request({ method: 'POST', url: '/crm/v4/associations/usage/high-usage-report/7' })).json()
  for (const opts of [{ query: { format: 'csv' } }, { headers: { accept: 'text/csv' } }]) {
    const res = await request({ method: 'GET', url: `/crm/v4/associations/usage/high-usage-report/${reportId as string}`, ...opts })
    t.equal(res.statusCode, 200)
    t.match(res.headers['content-type'], /^text\/csv/)
    t.match(res.headers['content-disposition'], /attachment; filename="high-usage-report-\d+\.csv"/)
    const lines = res.body.trim().split('\n')
    t.equal(lines[0], 'objectTypeId,objectId,toObjectTypeId,limitKind,associationTypeId,label,count,limit,percentOfLimit')
    t.same(lines.slice(1), [
      `0-1,${nearCap},0-2,RECORD_CAP,,,4,5,80`,
      `0-1,${labelled},0-2,LABEL_LIMIT,${managerTypeId},Manager,2,2,100`,
      `0-2,${companies[0] as number},0-1,RECORD_CAP,,,4,5,80`
    ])
  }
})

t.test('each report reflects the data when it was requested', async (t) => {
  const before = (await request({ method: 'POST', url: '/crm/v4/associations/usage/high-usage-report/1' })).json()
  await associate(belowCap, companies.slice(3, 4)) // now 4 of 5
  const after = (await request({ method: 'POST', url: '/crm/v4/associations/usage/high-usage-report/1' })).json()
  t.equal(before.rowCount, 3)
  t.equal(after.rowCount, 4, 'the contact now at 4 of 5 is listed in the new report')
})

t.test('tenancy, unknown reports and bad ids', async (t) => {
  const { reportId } = (await request({ method: 'POST', url: '/crm/v4/associations/usage/high-usage-report/7' })).json()
  const other = await createOtherAccount(ta.app)
  expectError(t, await request({ method: 'GET', url: `/crm/v4/associations/usage/high-usage-report/${reportId as string}`, key: other.key }), 404, 'OBJECT_NOT_FOUND')
  const own = await request({ method: 'POST', url: '/crm/v4/associations/usage/high-usage-report/7', key: other.key })
  t.equal(own.json().rowCount, 0, "another account's report holds none of these records")
  expectError(t, await request({ method: 'GET', url: '/crm/v4/associations/usage/high-usage-report/999999' }), 404, 'OBJECT_NOT_FOUND')
  expectError(t, await request({ method: 'POST', url: '/crm/v4/associations/usage/high-usage-report/2147483648' }), 400, 'VALIDATION_ERROR')
  expectError(t, await request({ method: 'GET', url: `/crm/v4/associations/usage/high-usage-report/${reportId as string}`, query: { format: 'xml' } }), 400, 'VALIDATION_ERROR')
})

t.test('the official client: reportApi.request', async (t) => {
  await ta.app.listen({ port: 0, host: '127.0.0.1' })
  const address = ta.app.server.address()
  if (address === null || typeof address === 'string') throw new Error('not listening')
  const client = new Client({ accessToken: ta.adminKey, basePath: `http://127.0.0.1:${address.port}` })
  const answer = await client.crm.associations.v4.reportApi.request(123)
  t.equal(answer.userId, 123)
  t.equal(answer.userEmail, '')
  t.ok(answer.enqueueTime instanceof Date && !Number.isNaN(answer.enqueueTime.getTime()), 'enqueueTime parses as a date')
})
