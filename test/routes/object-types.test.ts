// Object type spellings in paths, and custom object schemas (/crm/v3/schemas) with unique properties.
import t from 'tap'
import { build, type TestApp } from '../helpers/app.js'
import { expectError } from '../helpers/assertions.js'

const CARS = {
  name: 'cars',
  labels: { singular: 'Car', plural: 'Cars' },
  primaryDisplayProperty: 'model',
  properties: [
    { name: 'vin', label: 'VIN', hasUniqueValue: true },
    { name: 'model', label: 'Model' }
  ]
}

async function createCars (request: TestApp['request']): Promise<Record<string, any>> {
  const res = await request({ method: 'POST', url: '/crm/v3/schemas', payload: CARS })
  if (res.statusCode !== 201) throw new Error(`schema creation failed: ${res.statusCode} ${res.body}`)
  return res.json()
}

t.test('standard types answer to plural, singular, any case and type id', async (t) => {
  const { request, app } = await build(t)
  const spellings: Record<string, string[]> = {
    '0-1': ['contacts', 'CONTACTS', 'Contacts', 'contact', 'CONTACT', 'Contact', '0-1'],
    '0-2': ['companies', 'Companies', 'COMPANY', 'company', '0-2'],
    '0-3': ['deals', 'DEALS', 'Deal', 'deal', '0-3'],
    '0-5': ['tickets', 'Tickets', 'TICKET', 'ticket', '0-5']
  }
  for (const [typeId, names] of Object.entries(spellings)) {
    const ids: string[] = []
    for (const name of names) {
      const created = await request({ method: 'POST', url: `/crm/v3/objects/${name}`, payload: { properties: { note: name } } })
      t.equal(created.statusCode, 201, `POST /crm/v3/objects/${name}`)
      ids.push(created.json().id)
    }
    const rows = await app.db.selectFrom('records').select(['id', 'object_type']).where('id', 'in', ids.map(Number)).execute()
    t.same(new Set(rows.map((r) => r.object_type)), new Set([typeId]), `every spelling of ${typeId} wrote ${typeId}`)
    for (const name of names) {
      const read = await request({ method: 'GET', url: `/crm/v3/objects/${name}/${ids[0]}` })
      t.equal(read.statusCode, 200, `GET /crm/v3/objects/${name}/{id}`)
      const list = await request({ method: 'GET', url: `/crm/v3/objects/${name}?limit=100` })
      t.same(list.json().results.map((r: { id: string }) => r.id).sort(), [...ids].sort(), `GET /crm/v3/objects/${name} lists ${typeId}`)
    }
  }
  // A contact id is not a company id.
  const contact = (await app.db.selectFrom('records').select('id').where('object_type', '=', '0-1').executeTakeFirstOrThrow()).id
  expectError(t, await request({ method: 'GET', url: `/crm/v3/objects/companies/${contact}` }), 404, 'OBJECT_NOT_FOUND')

  for (const unknown of ['contactz', '0-4', '0-9', '2-1', 'p1_contacts_x', 'cars']) {
    const res = await request({ method: 'GET', url: `/crm/v3/objects/${unknown}` })
    t.equal(expectError(t, res, 400, 'VALIDATION_ERROR').message, `Unable to infer object type from: ${unknown}`)
  }
})

t.test('custom schemas: create, list and read by every name', async (t) => {
  const { request, accountId, app } = await build(t)
  const schema = await createCars(request)
  t.match(schema, {
    id: /^\d+$/,
    objectTypeId: /^2-\d+$/,
    name: 'cars',
    fullyQualifiedName: `p${accountId}_cars`,
    labels: { singular: 'Car', plural: 'Cars' },
    primaryDisplayProperty: 'model',
    archived: false,
    createdAt: String,
    updatedAt: String
  })
  t.equal(schema.objectTypeId, `2-${schema.id as string}`)
  t.match(schema.properties, [{ name: 'vin', label: 'VIN', hasUniqueValue: true }, { name: 'model', label: 'Model', hasUniqueValue: false }])

  const row = await app.db.selectFrom('object_types').selectAll().where('account_id', '=', accountId).where('type_id', '=', schema.objectTypeId).executeTakeFirstOrThrow()
  t.equal(row.is_custom, true)
  t.same(row.unique_properties, ['vin'])
  t.equal(row.name, 'cars')

  const list = await request({ method: 'GET', url: '/crm/v3/schemas' })
  t.equal(list.statusCode, 200)
  t.same(list.json().results, [schema], 'the list holds the one custom schema and no standard type')
  t.same((await request({ method: 'GET', url: '/crm/v3/schemas?archived=true' })).json().results, [], 'no archived schemas')

  for (const name of [schema.objectTypeId, 'cars', 'CARS', 'Cars', `p${accountId}_cars`, `P${accountId}_CARS`]) {
    const read = await request({ method: 'GET', url: `/crm/v3/schemas/${name}` })
    t.equal(read.statusCode, 200, `GET /crm/v3/schemas/${name}`)
    t.same(read.json(), schema)
  }
  for (const name of ['contacts', '0-1', 'trucks', '2-999999', `p${accountId + 1}_cars`]) {
    expectError(t, await request({ method: 'GET', url: `/crm/v3/schemas/${name}` }), 404, 'OBJECT_NOT_FOUND')
  }

  const dup = await request({ method: 'POST', url: '/crm/v3/schemas', payload: { ...CARS, name: 'Cars' } })
  expectError(t, dup, 409, 'CONFLICT')
  for (const reserved of ['contacts', 'Company', 'deal', 'tickets']) {
    expectError(t, await request({ method: 'POST', url: '/crm/v3/schemas', payload: { ...CARS, name: reserved } }), 400, 'VALIDATION_ERROR')
  }
  const badProperty = await request({ method: 'POST', url: '/crm/v3/schemas', payload: { ...CARS, name: 'boats', properties: [{ name: 'Bad Name', label: 'x' }] } })
  t.ok(Object.keys(expectError(t, badProperty, 400, 'VALIDATION_ERROR').context as object).some((k) => k.startsWith('body.properties')))
  const twice = await request({ method: 'POST', url: '/crm/v3/schemas', payload: { ...CARS, name: 'boats', properties: [{ name: 'a', label: 'A' }, { name: 'a', label: 'A' }], primaryDisplayProperty: 'a' } })
  expectError(t, twice, 400, 'VALIDATION_ERROR')
  const noDisplay = await request({ method: 'POST', url: '/crm/v3/schemas', payload: { ...CARS, name: 'boats', primaryDisplayProperty: 'nope' } })
  expectError(t, noDisplay, 400, 'VALIDATION_ERROR')
  t.equal((await app.db.selectFrom('object_types').select('type_id').where('is_custom', '=', true).execute()).length, 1, 'refused schemas wrote nothing')
})

t.test('concurrent creates of one schema name: one 201, the rest 409', async (t) => {
  const { request, app } = await build(t)
  const answers = await Promise.all(Array.from({ length: 6 }, async () => await request({ method: 'POST', url: '/crm/v3/schemas', payload: CARS })))
  t.same(answers.map((a) => a.statusCode).sort(), [201, 409, 409, 409, 409, 409], answers.map((a) => a.body.slice(0, 120)).join('\n'))
  for (const a of answers.filter((a) => a.statusCode === 409)) t.equal(a.json().category, 'CONFLICT')
  t.equal((await app.db.selectFrom('object_types').select('type_id').where('is_custom', '=', true).execute()).length, 1)
})

t.test('records of a custom type, its unique property and schema deletion', async (t) => {
  const { request, accountId, app } = await build(t)
  const schema = await createCars(request)
  const typeId = schema.objectTypeId as string

  const first = await request({ method: 'POST', url: `/crm/v3/objects/${typeId}`, payload: { properties: { vin: 'VIN-001', model: 'Jeep' } } })
  t.equal(first.statusCode, 201)
  const firstId = first.json().id as string
  t.match(firstId, /^\d+$/)
  const second = await request({ method: 'POST', url: '/crm/v3/objects/cars', payload: { properties: { vin: 'VIN-002', model: 'Truck' } } })
  t.equal(second.statusCode, 201)
  const third = await request({ method: 'POST', url: `/crm/v3/objects/p${accountId}_cars`, payload: { properties: { model: 'No VIN' } } })
  t.equal(third.statusCode, 201, 'a unique property may be absent')

  const rows = await app.db.selectFrom('records').select(['id', 'object_type']).where('account_id', '=', accountId).execute()
  t.same(rows.map((r) => r.object_type), [typeId, typeId, typeId], 'records are stored under the custom type id')

  const dup = await request({ method: 'POST', url: '/crm/v3/objects/CARS', payload: { properties: { vin: ' VIN-001 ', model: 'Copy' } } })
  const dupBody = expectError(t, dup, 409, 'CONFLICT')
  t.match(dupBody.message, new RegExp(`Existing ID: ${firstId}$`))
  t.same((dupBody.context as Record<string, string[]>).existingId, [firstId])
  t.equal((await app.db.selectFrom('records').select('id').where('object_type', '=', typeId).execute()).length, 3, 'the duplicate was not written')

  for (const name of [typeId, 'cars', `p${accountId}_cars`]) {
    const byVin = await request({ method: 'GET', url: `/crm/v3/objects/${name}/VIN-001?idProperty=vin` })
    t.equal(byVin.statusCode, 200, `read ${name} by vin`)
    t.equal(byVin.json().id, firstId)
    t.equal(byVin.json().properties.model, 'Jeep')
  }
  const byId = await request({ method: 'GET', url: `/crm/v3/objects/cars/${firstId}?properties=vin` })
  t.same(Object.keys(byId.json().properties).sort(), ['createdate', 'hs_object_id', 'lastmodifieddate', 'vin'])
  expectError(t, await request({ method: 'GET', url: '/crm/v3/objects/cars/Jeep?idProperty=model' }), 400, 'VALIDATION_ERROR')
  expectError(t, await request({ method: 'GET', url: '/crm/v3/objects/cars/VIN-404?idProperty=vin' }), 404, 'OBJECT_NOT_FOUND')

  const taken = await request({ method: 'PATCH', url: `/crm/v3/objects/cars/${second.json().id as string}`, payload: { properties: { vin: 'VIN-001' } } })
  expectError(t, taken, 409, 'CONFLICT')
  const patched = await request({ method: 'PATCH', url: '/crm/v3/objects/cars/VIN-002?idProperty=vin', payload: { properties: { model: 'Pickup' } } })
  t.equal(patched.statusCode, 200)
  t.equal(patched.json().properties.model, 'Pickup')

  // Deleting the schema is refused while records live.
  const refused = await request({ method: 'DELETE', url: `/crm/v3/schemas/${typeId}` })
  t.match(expectError(t, refused, 400, 'VALIDATION_ERROR').message, /still has 3 records/)
  t.ok(await app.db.selectFrom('object_types').select('type_id').where('type_id', '=', typeId).executeTakeFirst(), 'the schema is still there')

  for (const id of rows.map((r) => r.id)) {
    t.equal((await request({ method: 'DELETE', url: `/crm/v3/objects/cars/${id}` })).statusCode, 204)
  }
  const deleted = await request({ method: 'DELETE', url: '/crm/v3/schemas/cars' })
  t.equal(deleted.statusCode, 204)
  t.equal(deleted.body, '')

  t.equal(await app.db.selectFrom('object_types').select('type_id').where('type_id', '=', typeId).executeTakeFirst(), undefined, 'the type row is gone')
  t.equal((await app.db.selectFrom('records').select('id').where('object_type', '=', typeId).execute()).length, 0, 'its archived records are purged')
  t.equal((await app.db.selectFrom('record_keys').select('value').where('object_type', '=', typeId).execute()).length, 0, 'and their keys')

  for (const name of [typeId, 'cars', `p${accountId}_cars`]) {
    const res = await request({ method: 'POST', url: `/crm/v3/objects/${name}`, payload: { properties: { vin: 'VIN-003' } } })
    t.equal(expectError(t, res, 400, 'VALIDATION_ERROR').message, `Unable to infer object type from: ${name}`)
  }
  expectError(t, await request({ method: 'GET', url: `/crm/v3/schemas/${typeId}` }), 404, 'OBJECT_NOT_FOUND')
  expectError(t, await request({ method: 'DELETE', url: `/crm/v3/schemas/${typeId}` }), 404, 'OBJECT_NOT_FOUND')
  t.same((await request({ method: 'GET', url: '/crm/v3/schemas' })).json().results, [])

  // The name is free again, under a new type id.
  const again = await createCars(request)
  t.not(again.objectTypeId, typeId)
  t.equal((await request({ method: 'POST', url: '/crm/v3/objects/cars', payload: { properties: { vin: 'VIN-001' } } })).statusCode, 201, 'old unique values do not linger')
})

t.test('standard types cannot be deleted through /crm/v3/schemas', async (t) => {
  const { request, app, accountId } = await build(t)
  for (const name of ['contacts', '0-1', 'company']) {
    expectError(t, await request({ method: 'DELETE', url: `/crm/v3/schemas/${name}` }), 404, 'OBJECT_NOT_FOUND')
  }
  const types = await app.db.selectFrom('object_types').select('type_id').where('account_id', '=', accountId).orderBy('type_id').execute()
  t.same(types.map((r) => r.type_id), ['0-1', '0-2', '0-3', '0-5'])
})

t.test('deleting a schema while records are created never answers 500', async (t) => {
  const { request, app } = await build(t)
  for (let round = 0; round < 15; round++) {
    const schema = await createCars(request)
    const typeId = schema.objectTypeId as string
    const [del, ...creates] = await Promise.all([
      request({ method: 'DELETE', url: `/crm/v3/schemas/${typeId}` }),
      ...Array.from({ length: 4 }, async (_, i) => await request({ method: 'POST', url: `/crm/v3/objects/${typeId}`, payload: { properties: { vin: `R${round}-${i}` } } }))
    ])
    t.ok(del !== undefined && [204, 400].includes(del.statusCode), `round ${round}: delete ${del?.statusCode ?? ''} ${del?.body.slice(0, 100) ?? ''}`)
    for (const c of creates) t.ok([201, 400].includes(c.statusCode), `round ${round}: create ${c.statusCode} ${c.body.slice(0, 100)}`)
    const typeRow = await app.db.selectFrom('object_types').select('type_id').where('type_id', '=', typeId).executeTakeFirst()
    const live = await app.db.selectFrom('records').select('id').where('object_type', '=', typeId).where('archived_at', 'is', null).execute()
    t.equal(live.length, creates.filter((c) => c.statusCode === 201).length, `round ${round}: every 201 is a stored record`)
    if (del?.statusCode === 204) {
      t.equal(typeRow, undefined, `round ${round}: a deleted type is gone`)
      t.equal(live.length, 0, `round ${round}: and has no records`)
    } else {
      t.ok(typeRow, `round ${round}: a refused delete keeps the type`)
      for (const r of live) await request({ method: 'DELETE', url: `/crm/v3/objects/${typeId}/${r.id}` })
      t.equal((await request({ method: 'DELETE', url: `/crm/v3/schemas/${typeId}` })).statusCode, 204)
    }
  }
})
