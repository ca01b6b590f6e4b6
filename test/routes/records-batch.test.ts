// CRM v3 record batches (create with inline associations, read, update, upsert, archive), inline associations on the
// single create, associations embedded in list pages, the schemas alias, and the statement counts that make batches
// set-based (a Kysely plugin counts every statement the services send; BEGIN/COMMIT are connection calls, not counted).
import t, { type Test } from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { build, type TestApp } from '../helpers/app.js'
import { createRecord, createRecords } from '../helpers/factories.js'
import { expectError } from '../helpers/assertions.js'
import { createServices } from '../../src/plugins/services.js'
import { loadConfig } from '../../src/config.js'
import { statementCounter } from '../helpers/statements.js'

const base = '/crm/v3/objects'
const PRIMARY = { associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 1 } as const
const UNLABELED = { associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 279 } as const

type Json = Record<string, any>

/** The batch envelope of §2.6 with `status` and the dates; returns the body. */
function expectEnvelope (t: Test, res: LightMyRequestResponse, status: number): Json {
  t.equal(res.statusCode, status, `status ${status}: ${res.body.slice(0, 400)}`)
  t.equal(res.headers['content-type'], 'application/json;charset=utf-8')
  const body = res.json() as Json
  t.match(body, { status: 'COMPLETE', results: Array, startedAt: String, completedAt: String })
  if (status === 207) t.equal(body.numErrors, body.errors.length, 'numErrors counts the errors')
  else t.equal(body.errors, undefined, 'no errors when every input succeeded')
  return body
}

async function post (ta: TestApp, url: string, payload: unknown): Promise<LightMyRequestResponse> {
  return await ta.request({ method: 'POST', url, payload: payload as Json })
}

async function edges (ta: TestApp): Promise<Array<[string, number, number, number, boolean]>> {
  const rows = await ta.app.db.selectFrom('associations').select(['from_type', 'from_id', 'to_id', 'type_id', 'is_primary'])
    .orderBy('from_type').orderBy('from_id').orderBy('to_id').orderBy('type_id').execute()
  return rows.map((r) => [r.from_type, r.from_id, r.to_id, r.type_id, r.is_primary])
}

async function count (ta: TestApp, type: string, id: number, toType: string): Promise<number | undefined> {
  const row = await ta.app.db.selectFrom('association_counts').select('count')
    .where('from_type', '=', type).where('from_id', '=', id).where('to_type', '=', toType).executeTakeFirst()
  return row?.count
}

t.test('batch create: 201, records and keys written, inline associations with the first company primary', async (t) => {
  const ta = await build(t)
  const [diner, inn] = await createRecords(ta, 'companies', 2) as [number, number]
  const res = await post(ta, `${base}/contacts/batch/create`, {
    inputs: [
      { properties: { email: 'Luke@Example.com', firstname: 'Luke' }, associations: [{ to: { id: String(diner) }, types: [UNLABELED] }, { to: { id: String(inn) }, types: [UNLABELED] }] },
      { properties: { email: 'lorelai@example.com', firstname: 'Lorelai' }, associations: [{ to: { id: String(inn) }, types: [UNLABELED, PRIMARY] }] },
      { properties: { firstname: 'Kirk' } }
    ]
  })
  const body = expectEnvelope(t, res, 201)
  t.equal(body.results.length, 3)
  t.same(body.results.map((r: Json) => r.properties.firstname), ['Luke', 'Lorelai', 'Kirk'], 'results in input order')
  const [luke, lorelai, kirk] = body.results.map((r: Json) => Number(r.id)) as [number, number, number]
  t.match(body.results[0], { id: String(luke), archived: false, properties: { email: 'Luke@Example.com', hs_object_id: String(luke) } })

  const records = await ta.app.db.selectFrom('records').select(['id', 'properties']).where('object_type', '=', '0-1').orderBy('id').execute()
  t.same(records.map((r) => r.id), [luke, lorelai, kirk].sort((a, b) => a - b))
  t.same(records.find((r) => r.id === kirk)?.properties, { firstname: 'Kirk' })
  const keys = await ta.app.db.selectFrom('record_keys').select(['value', 'record_id']).orderBy('value').execute()
  t.same(keys, [{ value: 'lorelai@example.com', record_id: lorelai }, { value: 'luke@example.com', record_id: luke }], 'normalised emails, one key per contact')

  t.same(await edges(ta), [
    ['0-1', luke, diner, 1, true], ['0-1', luke, diner, 279, false], ['0-1', luke, inn, 279, false],
    ['0-1', lorelai, inn, 1, true], ['0-1', lorelai, inn, 279, false],
    ['0-2', diner, luke, 2, false], ['0-2', diner, luke, 280, false],
    ['0-2', inn, luke, 280, false], ['0-2', inn, lorelai, 2, false], ['0-2', inn, lorelai, 280, false]
  ].sort((a, b) => String(a[0]).localeCompare(String(b[0])) || (a[1] as number) - (b[1] as number) || (a[2] as number) - (b[2] as number) || (a[3] as number) - (b[3] as number)),
  'both directions; the first company listed becomes primary; an explicit primary is kept')
  t.equal(await count(ta, '0-1', luke, '0-2'), 2)
  t.equal(await count(ta, '0-2', inn, '0-1'), 2)
  t.equal(await count(ta, '0-1', kirk, '0-2'), undefined, 'no associations, no count row')

  const read = await ta.request({ method: 'GET', url: `${base}/contacts/${luke}?associations=companies` })
  t.same(read.json().associations.companies.results, [
    { id: String(diner), type: 'contact_to_company' }, { id: String(diner), type: 'contact_to_company_unlabeled' }, { id: String(inn), type: 'contact_to_company_unlabeled' }
  ])
})

t.test('batch create: 207, each failed input reports why and writes nothing; the others commit', async (t) => {
  const ta = await build(t, { MAX_ASSOCIATIONS_PER_TYPE: 2 })
  const [full, free] = await createRecords(ta, 'companies', 2) as [number, number]
  const existing = await createRecord(ta, 'contacts', { email: 'taken@example.com' })
  const fillers = await createRecords(ta, 'contacts', 1)
  // `full` already has two contacts: the cap of 2 refuses a third, on the company's side, at write time.
  for (const c of [existing, ...fillers]) {
    t.equal((await ta.request({ method: 'PUT', url: `/crm/v4/objects/contacts/${c}/associations/default/companies/${full}` })).statusCode, 200)
  }
  const before = await edges(ta)
  const res = await post(ta, `${base}/contacts/batch/create`, {
    inputs: [
      { properties: { email: 'ok-1@example.com' }, associations: [{ to: { id: String(free) }, types: [UNLABELED] }] },
      { properties: { email: 'TAKEN@example.com' } },
      { properties: { email: 'ok-1@example.com' }, objectWriteTraceId: 'dup-in-batch' },
      { properties: { hs_object_id: '5' } },
      { properties: { email: 'bad-type@example.com' }, associations: [{ to: { id: String(free) }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 999999 }] }] },
      { properties: { email: 'wrong-way@example.com' }, associations: [{ to: { id: String(free) }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 280 }] }] },
      { properties: { email: 'no-target@example.com' }, associations: [{ to: { id: '99999999' }, types: [UNLABELED] }] },
      { properties: { email: 'over-cap@example.com' }, associations: [{ to: { id: String(free) }, types: [UNLABELED] }, { to: { id: String(full) }, types: [UNLABELED] }] },
      { properties: { email: 'ok-2@example.com', firstname: 'Two' } }
    ]
  })
  const body = expectEnvelope(t, res, 207)
  t.same(body.results.map((r: Json) => r.properties.email), ['ok-1@example.com', 'ok-2@example.com'])
  t.equal(body.numErrors, 7)
  const byIndex = new Map<string, Json>(body.errors.map((e: Json) => [e.context.inputIndex?.[0], e]))
  t.same([...byIndex.keys()], ['1', '2', '3', '4', '5', '6', '7'], 'one error per failed input, in input order, naming it')
  t.match(byIndex.get('1'), { status: 'error', category: 'CONFLICT', subCategory: 'crm.objects.DUPLICATE_UNIQUE_VALUE', message: `Contact already exists. Existing ID: ${existing}`, context: { existingId: [String(existing)] } })
  t.match(byIndex.get('2'), { category: 'CONFLICT', subCategory: 'crm.objects.DUPLICATE_UNIQUE_VALUE', context: { objectWriteTraceId: ['dup-in-batch'], existingId: [body.results[0].id] } })
  t.match(byIndex.get('3'), { category: 'VALIDATION_ERROR', message: "Property 'hs_object_id' is read-only" })
  t.match(byIndex.get('4'), { category: 'VALIDATION_ERROR', subCategory: 'crm.associations.INVALID_ASSOCIATION_TYPE', message: 'One or more associations are invalid', context: { associationSpec: ['HUBSPOT_DEFINED=999999'] } })
  t.match(byIndex.get('5'), { category: 'VALIDATION_ERROR', subCategory: 'crm.associations.INVALID_ASSOCIATION_TYPE', context: { INVALID_ASSOCIATION_TYPE_ID: [/0-2 -> 0-1 direction/] } })
  t.match(byIndex.get('6'), { category: 'OBJECT_NOT_FOUND', message: 'No company with ID 99999999 exists', context: { toObjectId: ['99999999'] } })
  t.match(byIndex.get('7'), { category: 'LIMITS_ERROR', subCategory: 'crm.associations.TOO_MANY_ASSOCIATIONS', context: { objectId: [String(full)], limit: ['2'] } })
  t.equal(byIndex.get('7')?.context.fromObjectId, undefined, 'the id the failed record would have had is not shown')

  const emails = (await ta.app.db.selectFrom('record_keys').select('value').orderBy('value').execute()).map((r) => r.value)
  t.same(emails, ['ok-1@example.com', 'ok-2@example.com', 'taken@example.com'], 'failed inputs left no identifiers')
  const contacts = await ta.app.db.selectFrom('records').select('id').where('object_type', '=', '0-1').execute()
  t.equal(contacts.length, 2 + 2, 'two new contacts only')
  const ok1 = Number(body.results[0].id)
  t.same((await edges(ta)).filter((e) => !before.some((b) => b.join() === e.join())), [
    ['0-1', ok1, free, 1, true], ['0-1', ok1, free, 279, false], ['0-2', free, ok1, 2, false], ['0-2', free, ok1, 280, false]
  ], 'only the successful input\'s associations were written (the over-cap input\'s association to `free` was undone)')
  t.equal(await count(ta, '0-2', free, '0-1'), 1)
  t.equal(await count(ta, '0-2', full, '0-1'), 2)
})

t.test('single create with inline associations: same transaction; an invalid association creates nothing', async (t) => {
  const ta = await build(t)
  const company = await createRecord(ta, 'companies', { domain: 'dragonfly.example' })
  const deal = await createRecord(ta, 'deals', { dealname: 'Renovation' })
  const created = await post(ta, `${base}/contacts`, {
    properties: { email: 'sookie@example.com' },
    associations: [
      { to: { id: String(company) }, types: [UNLABELED] },
      { to: { id: String(deal) }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 4 }] }
    ]
  })
  t.equal(created.statusCode, 201, created.body)
  const id = Number(created.json().id)
  t.same(Object.keys(created.json()).sort(), ['archived', 'createdAt', 'id', 'properties', 'updatedAt'])
  t.same(await edges(ta), [
    ['0-1', id, company, 1, true], ['0-1', id, company, 279, false], ['0-1', id, deal, 4, false],
    ['0-2', company, id, 2, false], ['0-2', company, id, 280, false], ['0-3', deal, id, 3, false]
  ], 'the type ids chose the target types (279 -> companies, 4 -> deals); first company primary')

  const snapshot = { records: (await ta.app.db.selectFrom('records').select('id').execute()).length, edges: await edges(ta) }
  const refused = [
    { associations: [{ to: { id: String(company) }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 424242 }] }], status: 400, category: 'VALIDATION_ERROR' },
    { associations: [{ to: { id: String(company) }, types: [{ associationCategory: 'USER_DEFINED', associationTypeId: 279 }] }], status: 400, category: 'VALIDATION_ERROR' },
    { associations: [{ to: { id: String(company) }, types: [UNLABELED, { associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 4 }] }], status: 400, category: 'VALIDATION_ERROR' },
    { associations: [{ to: { id: String(company) }, types: [UNLABELED] }, { to: { id: '88888888' }, types: [UNLABELED] }], status: 404, category: 'OBJECT_NOT_FOUND' },
    { associations: [{ to: { id: String(deal) }, types: [UNLABELED] }], status: 404, category: 'OBJECT_NOT_FOUND' }
  ]
  for (const [i, r] of refused.entries()) {
    const res = await post(ta, `${base}/contacts`, { properties: { email: `refused-${i}@example.com` }, associations: r.associations })
    const err = expectError(t, res, r.status, r.category)
    if (r.status === 400) t.match(err, { message: 'One or more associations are invalid', subCategory: 'crm.associations.INVALID_ASSOCIATION_TYPE' })
  }
  t.equal((await ta.app.db.selectFrom('records').select('id').execute()).length, snapshot.records, 'no record was created')
  t.same(await edges(ta), snapshot.edges, 'no association was written')
  t.equal((await ta.app.db.selectFrom('record_keys').select('value').where('value', 'like', 'refused-%').execute()).length, 0, 'no identifier was taken')

  const malformed = await post(ta, `${base}/contacts`, { properties: {}, associations: [{ to: { id: 'abc' }, types: [UNLABELED] }] })
  expectError(t, malformed, 400, 'VALIDATION_ERROR')
  const noTypes = await post(ta, `${base}/contacts`, { properties: {}, associations: [{ to: { id: String(company) }, types: [] }] })
  expectError(t, noTypes, 400, 'VALIDATION_ERROR')
})

t.test('input cap: RECORD_BATCH_MAX inputs per batch, more is a 400 naming the maximum', async (t) => {
  const ta = await build(t, { RECORD_BATCH_MAX: 5 })
  const five = Array.from({ length: 5 }, (_, i) => ({ properties: { firstname: `P${i}` } }))
  expectEnvelope(t, await post(ta, `${base}/contacts/batch/create`, { inputs: five }), 201)
  const six = [...five, { properties: { firstname: 'P5' } }]
  for (const action of ['create', 'read', 'update', 'upsert', 'archive']) {
    const inputs = action === 'create' ? six : six.map((_, i) => ({ id: String(i + 1), idProperty: 'email', properties: {} }))
    const res = await post(ta, `${base}/contacts/batch/${action}`, { inputs })
    const err = expectError(t, res, 400, 'VALIDATION_ERROR')
    t.match(err.message, /more than 5 items/, `${action}: the message names the maximum`)
  }
  t.equal((await ta.app.db.selectFrom('records').select('id').execute()).length, 5, 'the refused batch wrote nothing')
  const openapi = (await ta.request({ method: 'GET', url: '/openapi.json' })).json()
  t.equal(openapi.components.schemas.BatchInputSimplePublicObjectInputForCreate.properties.inputs.maxItems, 5, 'the OpenAPI document states the cap in force')
  expectError(t, await post(ta, `${base}/contacts/batch/create`, { inputs: [] }), 400, 'VALIDATION_ERROR')
  expectError(t, await post(ta, `${base}/contacts/batch/create`, { inputs: [{ properties: { tags: ['a'] } }] }), 400, 'VALIDATION_ERROR')
  expectError(t, await post(ta, `${base}/unicorns/batch/create`, { inputs: five }), 400, 'VALIDATION_ERROR')
})

t.test('batch read: by id and by unique property, 207 for missing ids, each record once, archived=true', async (t) => {
  const ta = await build(t)
  const a = await createRecord(ta, 'contacts', { email: 'a@example.com', firstname: 'A', city: 'Hartford' })
  const b = await createRecord(ta, 'contacts', { email: 'b@example.com', firstname: 'B' })
  const gone = await createRecord(ta, 'contacts', { email: 'gone@example.com' })
  t.equal((await ta.request({ method: 'DELETE', url: `${base}/contacts/${gone}` })).statusCode, 204)

  const all = expectEnvelope(t, await post(ta, `${base}/contacts/batch/read`, { inputs: [{ id: String(b) }, { id: String(a) }, { id: String(b) }], properties: ['firstname', 'phone'] }), 200)
  t.same(all.results.map((r: Json) => r.id), [String(b), String(a)], 'input order, a record named twice once')
  t.same(Object.keys(all.results[0].properties).sort(), ['createdate', 'firstname', 'hs_object_id', 'lastmodifieddate', 'phone'])
  t.equal(all.results[0].properties.phone, null)

  const partial = expectEnvelope(t, await post(ta, `${base}/contacts/batch/read`, { inputs: [{ id: String(a) }, { id: String(gone) }, { id: '77777777' }, { id: 'x' }] }), 207)
  t.same(partial.results.map((r: Json) => r.id), [String(a)], 'results hold the found records')
  t.same(partial.results[0].properties.city, 'Hartford', 'every property without `properties`')
  t.match(partial.errors, [
    { status: 'error', category: 'OBJECT_NOT_FOUND', subCategory: 'crm.objects.OBJECT_NOT_FOUND', context: { id: [String(gone)] } },
    { category: 'OBJECT_NOT_FOUND', context: { id: ['77777777'] } },
    { category: 'VALIDATION_ERROR', context: { id: ['x'] } }
  ])

  const byEmail = expectEnvelope(t, await post(ta, `${base}/contacts/batch/read`, { idProperty: 'email', inputs: [{ id: 'B@EXAMPLE.com' }, { id: 'nobody@example.com' }, { id: 'gone@example.com' }] }), 207)
  t.same(byEmail.results.map((r: Json) => r.id), [String(b)])
  t.same(byEmail.errors.map((e: Json) => e.context.id[0]), ['nobody@example.com', 'gone@example.com'])

  const archived = expectEnvelope(t, await post(ta, `${base}/contacts/batch/read?archived=true`, { inputs: [{ id: String(gone) }, { id: String(a) }] }), 207)
  t.same(archived.results.map((r: Json) => [r.id, r.archived]), [[String(gone), true]], 'archived=true reads archived records only')
  t.type(archived.results[0].archivedAt, 'string')

  expectError(t, await post(ta, `${base}/contacts/batch/read`, { idProperty: 'firstname', inputs: [{ id: 'A' }] }), 400, 'VALIDATION_ERROR')
  expectError(t, await post(ta, `${base}/contacts/batch/read?limit=3`, { inputs: [{ id: String(a) }] }), 400, 'VALIDATION_ERROR')
})

t.test('batch update: 200, merged duplicates, by email, 207 for missing records and taken identifiers', async (t) => {
  const ta = await build(t)
  const a = await createRecord(ta, 'contacts', { email: 'a@example.com', firstname: 'A', city: 'Hartford' })
  const b = await createRecord(ta, 'contacts', { email: 'b@example.com', firstname: 'B' })
  const c = await createRecord(ta, 'contacts', { email: 'c@example.com' })

  const ok = expectEnvelope(t, await post(ta, `${base}/contacts/batch/update`, {
    inputs: [
      { id: String(a), properties: { firstname: 'Ann', city: null } },
      { id: 'B@example.com', idProperty: 'email', properties: { lastname: 'Kim', email: 'bee@example.com' } },
      { id: String(a), properties: { lastname: 'Lee', firstname: 'Anna' } }
    ]
  }), 200)
  t.same(ok.results.map((r: Json) => r.id), [String(a), String(b)], 'one result per record')
  const rows = new Map((await ta.app.db.selectFrom('records').select(['id', 'properties']).execute()).map((r) => [r.id, r.properties]))
  t.same(rows.get(a), { email: 'a@example.com', firstname: 'Anna', lastname: 'Lee' }, 'inputs naming one record applied in order; null cleared city')
  t.same(rows.get(b), { email: 'bee@example.com', firstname: 'B', lastname: 'Kim' })
  const keys = await ta.app.db.selectFrom('record_keys').select(['value', 'record_id']).orderBy('value').execute()
  t.same(keys, [{ value: 'a@example.com', record_id: a }, { value: 'bee@example.com', record_id: b }, { value: 'c@example.com', record_id: c }], 'b\'s old email key was replaced')

  const partial = expectEnvelope(t, await post(ta, `${base}/contacts/batch/update`, {
    inputs: [
      { id: String(c), properties: { email: 'A@example.com', firstname: 'lost' } },
      { id: '66666666', properties: { firstname: 'nobody' } },
      { id: 'b@example.com', idProperty: 'email', properties: { firstname: 'x' } },
      { id: String(b), properties: { email: 'free@example.com' } },
      { id: String(a), properties: { email: 'FREE@example.com', firstname: 'lost' } },
      { id: String(a), idProperty: 'city', properties: { firstname: 'x' } },
      { id: String(a), properties: { createdate: '2020-01-01' } }
    ]
  }), 207)
  t.same(partial.results.map((r: Json) => [r.id, r.properties.email]), [[String(b), 'free@example.com']])
  t.match(partial.errors, [
    { category: 'CONFLICT', message: `Contact already exists. Existing ID: ${a}`, context: { id: [String(c)] } },
    { category: 'OBJECT_NOT_FOUND', context: { id: ['66666666'] } },
    { category: 'OBJECT_NOT_FOUND', message: 'No contact with email b@example.com exists', context: { id: ['b@example.com'] } },
    { category: 'CONFLICT', message: `Contact already exists. Existing ID: ${b}`, context: { id: [String(a)] } },
    { category: 'VALIDATION_ERROR', context: { idProperty: ['city'] } },
    { category: 'VALIDATION_ERROR', context: { propertyName: ['createdate'] } }
  ])
  t.equal(partial.numErrors, 6, 'two inputs wanting one email: the earlier one gets it')
  const after = new Map((await ta.app.db.selectFrom('records').select(['id', 'properties']).execute()).map((r) => [r.id, r.properties]))
  t.same(after.get(c), { email: 'c@example.com' }, 'the failed input changed nothing')
  t.same(after.get(a), rows.get(a))
  t.same((await ta.app.db.selectFrom('record_keys').select('value').orderBy('value').execute()).map((r) => r.value), ['a@example.com', 'c@example.com', 'free@example.com'])
})

t.test('batch upsert: creates or updates by a unique property, new: true|false, custom unique properties', async (t) => {
  const ta = await build(t)
  const existing = await createRecord(ta, 'contacts', { email: 'luke@example.com', firstname: 'Luke' })
  const res = await post(ta, `${base}/contacts/batch/upsert`, {
    inputs: [
      { id: 'LUKE@example.com', idProperty: 'email', properties: { lastname: 'Danes' } },
      { id: 'new@example.com', idProperty: 'email', properties: { firstname: 'New' } },
      { id: 'new@example.com', idProperty: 'email', properties: { lastname: 'Comer' } },
      { id: 'x', idProperty: 'firstname', properties: {} },
      { id: 'y@example.com', idProperty: 'email', properties: { email: 'z@example.com' } }
    ]
  })
  const body = expectEnvelope(t, res, 207)
  t.same(body.results.map((r: Json) => [r.properties.email, r.new]), [['luke@example.com', false], ['new@example.com', true]], 'one result per identifier')
  t.equal(body.results[0].id, String(existing))
  t.match(body.errors, [
    { category: 'VALIDATION_ERROR', context: { id: ['x'], idProperty: ['firstname'] } },
    { category: 'VALIDATION_ERROR', context: { id: ['y@example.com'], propertyName: ['email'] } }
  ])
  const created = Number(body.results[1].id)
  const rows = new Map((await ta.app.db.selectFrom('records').select(['id', 'properties']).execute()).map((r) => [r.id, r.properties]))
  t.equal(rows.size, 2, 'one contact created')
  t.same(rows.get(existing), { email: 'luke@example.com', firstname: 'Luke', lastname: 'Danes' })
  t.same(rows.get(created), { email: 'new@example.com', firstname: 'New', lastname: 'Comer' }, 'inputs with one identifier merged, idProperty set from id')
  t.same(await ta.app.db.selectFrom('record_keys').select(['value', 'record_id']).orderBy('value').execute(), [{ value: 'luke@example.com', record_id: existing }, { value: 'new@example.com', record_id: created }])

  const again = expectEnvelope(t, await post(ta, `${base}/contacts/batch/upsert`, { inputs: [{ id: 'new@example.com', idProperty: 'email', properties: { city: 'Stars Hollow' } }] }), 200)
  t.same(again.results.map((r: Json) => [r.id, r.new, r.properties.city]), [[String(created), false, 'Stars Hollow']])

  const schema = await post(ta, '/crm/v3/schemas', { name: 'cars', labels: { singular: 'Car', plural: 'Cars' }, properties: [{ name: 'vin', label: 'VIN', hasUniqueValue: true }, { name: 'model', label: 'Model' }] })
  t.equal(schema.statusCode, 201)
  const cars = expectEnvelope(t, await post(ta, `${base}/cars/batch/upsert`, { inputs: [{ id: 'VIN-1', idProperty: 'vin', properties: { model: 'Jeep' } }] }), 200)
  t.same(cars.results.map((r: Json) => [r.new, r.properties.vin, r.properties.model]), [[true, 'VIN-1', 'Jeep']])
  const carsAgain = expectEnvelope(t, await post(ta, `${base}/2-${schema.json().id as string}/batch/upsert`, { inputs: [{ id: 'VIN-1', idProperty: 'vin', properties: { model: 'Truck' } }] }), 200)
  t.same(carsAgain.results.map((r: Json) => [r.id, r.new, r.properties.model]), [[cars.results[0].id, false, 'Truck']])
  expectError(t, await post(ta, `${base}/contacts/batch/upsert`, { inputs: [{ id: 'a@example.com', properties: {} }] }), 400, 'VALIDATION_ERROR')
})

t.test('batch archive: 204, identifiers freed, associations removed on both sides, counts follow', async (t) => {
  const ta = await build(t)
  const [c1, c2, c3] = await Promise.all(['1', '2', '3'].map(async (n) => await createRecord(ta, 'contacts', { email: `c${n}@example.com` }))) as [number, number, number]
  const company = await createRecord(ta, 'companies')
  for (const c of [c1, c2, c3]) t.equal((await ta.request({ method: 'PUT', url: `/crm/v4/objects/contacts/${c}/associations/default/companies/${company}` })).statusCode, 200)
  t.equal((await ta.request({ method: 'PUT', url: `/crm/v4/objects/contacts/${c1}/associations/default/contacts/${c2}` })).statusCode, 200)
  t.equal(await count(ta, '0-2', company, '0-1'), 3)

  const res = await post(ta, `${base}/contacts/batch/archive`, { inputs: [{ id: String(c1) }, { id: String(c2) }, { id: String(c1) }, { id: '55555555' }] })
  t.equal(res.statusCode, 204, res.body)
  t.equal(res.body, '')
  const rows = await ta.app.db.selectFrom('records').select(['id', 'archived_at']).where('object_type', '=', '0-1').orderBy('id').execute()
  t.same(rows.map((r) => [r.id, r.archived_at !== null]), [[c1, true], [c2, true], [c3, false]].sort((a, b) => (a[0] as number) - (b[0] as number)))
  t.same((await ta.app.db.selectFrom('record_keys').select('value').execute()).map((r) => r.value), ['c3@example.com'], 'archived emails are free')
  t.same(await edges(ta), [['0-1', c3, company, 1, true], ['0-1', c3, company, 279, false], ['0-2', company, c3, 2, false], ['0-2', company, c3, 280, false]], 'every edge of c1 and c2 is gone, both directions')
  t.equal(await count(ta, '0-2', company, '0-1'), 1, 'the company lost two contacts')
  t.equal(await count(ta, '0-1', c1, '0-2'), undefined, 'the archived records\' counts are gone')
  t.equal(await count(ta, '0-1', c3, '0-2'), 1)

  t.equal((await post(ta, `${base}/contacts/batch/archive`, { inputs: [{ id: String(c1) }] })).statusCode, 204, 'archiving again is a no-op')
  expectError(t, await post(ta, `${base}/contacts/batch/archive`, { inputs: [{ id: String(c3) }, { id: 'abc' }] }), 400, 'VALIDATION_ERROR')
  t.equal((await ta.app.db.selectFrom('records').select('archived_at').where('id', '=', c3).executeTakeFirstOrThrow()).archived_at, null, 'a malformed id archives nothing')
  t.equal((await post(ta, `${base}/contacts`, { properties: { email: 'c1@example.com' } })).statusCode, 201, 'a freed email can be taken again')
})

t.test('concurrent batch creates with overlapping emails: each email created once, no 5xx', async (t) => {
  const ta = await build(t)
  const inputs = (offset: number): Json[] => Array.from({ length: 10 }, (_, i) => ({ properties: { email: `race-${(i + offset) % 12}@example.com` } }))
  const answers = await Promise.all([0, 3, 6, 9].map(async (offset) => await post(ta, `${base}/contacts/batch/create`, { inputs: inputs(offset) })))
  t.same(answers.filter((a) => a.statusCode !== 201 && a.statusCode !== 207).map((a) => a.body), [], 'only 201 or 207')
  const created = answers.flatMap((a) => a.json().results.map((r: Json) => r.properties.email))
  const conflicts = answers.flatMap((a) => a.json().errors ?? [])
  t.same([...new Set(conflicts.map((e: Json) => e.category))], ['CONFLICT'], 'the losers are conflicts')
  t.equal(created.length + conflicts.length, 40, 'every input answered')
  t.equal(new Set(created).size, created.length, 'no email created twice')
  t.equal(created.length, 12, 'the twelve distinct emails exist')
  t.equal((await ta.app.db.selectFrom('records').select('id').execute()).length, 12)
  t.equal((await ta.app.db.selectFrom('record_keys').select('value').execute()).length, 12)
})

t.test('set-based: a batch costs as many statements with 100 inputs as with 10', async (t) => {
  const ta = await build(t)
  const companies = await createRecords(ta, 'companies', 2)
  const plugin = statementCounter()
  const services = createServices(ta.app.db.withPlugin(plugin), loadConfig({}, { LOG_LEVEL: 'silent' }))
  const measure = async (label: string, fn: () => Promise<unknown>): Promise<number> => {
    plugin.count = 0
    await fn()
    return plugin.count
  }
  const createInputs = (n: number, tag: string): Array<{ properties: Record<string, string>, associations: Array<{ to: { id: string }, types: Array<typeof UNLABELED> }> }> => Array.from({ length: n }, (_, i) => ({
    properties: { email: `${tag}-${i}@example.com`, firstname: `${tag}${i}` },
    associations: [{ to: { id: String(companies[i % 2]) }, types: [UNLABELED] }]
  }))
  const statements: Record<string, [number, number]> = {}
  for (const [n, tag] of [[10, 'small'], [100, 'large']] as const) {
    const i = n === 10 ? 0 : 1
    let ids: Array<{ id: string }> = []
    const created = await measure('create', async () => {
      const outcome = await services.recordsBatch.create(ta.accountId, 'contacts', createInputs(n, tag))
      t.equal(outcome.results.length, n, `${n} contacts created`)
      t.equal(outcome.numErrors, undefined)
      ids = outcome.results.map((r) => ({ id: r.id }))
    })
    const emails = Array.from({ length: n }, (_, k) => ({ id: `${tag}-${k}@example.com` }))
    const read = await measure('read', async () => {
      t.equal((await services.recordsBatch.read(ta.accountId, 'contacts', { inputs: emails, idProperty: 'email' })).results.length, n)
    })
    const updated = await measure('update', async () => {
      const outcome = await services.recordsBatch.update(ta.accountId, 'contacts', emails.map((e, k) => ({ id: e.id, idProperty: 'email', properties: { email: `${tag}-${k}@new.example.com`, city: 'X' } })))
      t.equal(outcome.results.length, n)
    })
    const upserted = await measure('upsert', async () => {
      const outcome = await services.recordsBatch.upsert(ta.accountId, 'contacts', Array.from({ length: n }, (_, k) => ({ id: `${tag}-${k}@${k % 2 === 0 ? 'new.example.com' : 'other.example.com'}`, idProperty: 'email', properties: { lastname: 'U' } })))
      t.same([...new Set(outcome.results.map((r) => r.new))].sort(), [false, true], 'upsert both updated and created')
    })
    const archived = await measure('archive', async () => { await services.recordsBatch.archive(ta.accountId, 'contacts', ids) })
    for (const [name, value] of Object.entries({ created, read, updated, upserted, archived })) (statements[name] ??= [0, 0])[i] = value
  }
  for (const [name, [small, large]] of Object.entries(statements)) t.equal(large, small, `${name}: 100 inputs take as many statements as 10 (${small})`)
  t.ok((statements.created?.[0] ?? 99) <= 16, `batch create with inline associations: ${statements.created?.[0]} statements`)
  t.comment(`statements per batch (10 | 100 inputs): ${Object.entries(statements).map(([k, v]) => `${k} ${v.join(' | ')}`).join(', ')}`)
  t.equal(await count(ta, '0-2', companies[0] as number, '0-1'), 0, 'archiving the contacts cleared the company counts')
})

t.test('list page with ?associations=companies: companies embedded, a constant number of queries', async (t) => {
  const ta = await build(t)
  const companies = await createRecords(ta, 'companies', 60)
  const inputs = Array.from({ length: 30 }, (_, i) => ({
    properties: { firstname: `C${i}` },
    associations: [{ to: { id: String(companies[2 * i]) }, types: [UNLABELED] }, { to: { id: String(companies[2 * i + 1]) }, types: [UNLABELED] }]
  }))
  const created = expectEnvelope(t, await post(ta, `${base}/contacts/batch/create`, { inputs }), 201)
  const contacts = created.results.map((r: Json) => r.id) as string[]

  const page = await ta.request({ method: 'GET', url: `${base}/contacts?limit=30&associations=companies` })
  t.equal(page.statusCode, 200, page.body.slice(0, 300))
  const results = page.json().results as Json[]
  t.same(results.map((r) => r.id), [...contacts].sort((a, b) => Number(a) - Number(b)))
  for (const [i, r] of results.entries()) {
    const [first, second] = [String(companies[2 * i]), String(companies[2 * i + 1])]
    t.same(r.associations, {
      companies: {
        results: [{ id: first, type: 'contact_to_company' }, { id: first, type: 'contact_to_company_unlabeled' }, { id: second, type: 'contact_to_company_unlabeled' }]
      }
    }, `contact ${i}: both companies, the primary twice`)
  }
  t.equal(page.json().paging, undefined)
  t.equal((await ta.request({ method: 'GET', url: `${base}/contacts?limit=3` })).json().results[0].associations, undefined, 'nothing embedded unless asked')

  const plugin = statementCounter()
  const services = createServices(ta.app.db.withPlugin(plugin), loadConfig({}, { LOG_LEVEL: 'silent' }))
  const queries = async (limit: number): Promise<number> => {
    plugin.count = 0
    const list = await services.records.list(ta.accountId, 'contacts', limit)
    const embedded = await services.recordAssociations.embed(ta.accountId, 'contacts', list.results, ['companies'])
    t.equal(embedded.filter((r) => r.associations?.companies?.results.length === 3).length, limit)
    return plugin.count
  }
  const small = await queries(3)
  const large = await queries(30)
  t.equal(large, small, `a page of 30 takes as many queries as a page of 3 (${small})`)
  t.ok(small <= 3, `${small} queries: the page, the pair's types, the edges`)
})

t.test('schemas alias /crm-object-schemas/v3/schemas (Node client 13.5), hidden from OpenAPI', async (t) => {
  const ta = await build(t)
  const cars = { name: 'cars', labels: { singular: 'Car', plural: 'Cars' }, properties: [{ name: 'vin', label: 'VIN', hasUniqueValue: true }] }
  const created = await post(ta, '/crm-object-schemas/v3/schemas', cars)
  t.equal(created.statusCode, 201, created.body)
  t.equal(created.json().objectTypeId, `2-${created.json().id as string}`)
  const listed = await ta.request({ method: 'GET', url: '/crm/v3/schemas' })
  t.same(listed.json().results.map((s: Json) => s.name), ['cars'], 'one store behind both paths')
  const read = await ta.request({ method: 'GET', url: '/crm-object-schemas/v3/schemas/cars' })
  t.equal(read.statusCode, 200)
  t.equal(read.json().objectTypeId, created.json().objectTypeId)
  t.same((await ta.request({ method: 'GET', url: '/crm-object-schemas/v3/schemas' })).json().results.map((s: Json) => s.name), ['cars'])
  expectError(t, await ta.request({ method: 'GET', url: '/crm-object-schemas/v3/schemas/boats' }), 404, 'OBJECT_NOT_FOUND')
  expectError(t, await ta.request({ method: 'GET', url: '/crm-object-schemas/v3/schemas', key: null }), 401, 'INVALID_AUTHENTICATION')
  t.equal((await ta.request({ method: 'DELETE', url: '/crm-object-schemas/v3/schemas/cars' })).statusCode, 204)
  t.same((await ta.request({ method: 'GET', url: '/crm/v3/schemas' })).json().results, [])
  const paths = Object.keys((await ta.request({ method: 'GET', url: '/openapi.json' })).json().paths as Json)
  t.ok(paths.includes('/crm/v3/schemas') && paths.includes('/crm/v3/schemas/{objectType}'), 'the canonical paths are documented')
  t.same(paths.filter((p) => p.startsWith('/crm-object-schemas')), [], 'the alias is not')
  t.ok(paths.includes('/crm/v3/objects/{objectType}/batch/upsert'), 'the record batches are documented')
})
