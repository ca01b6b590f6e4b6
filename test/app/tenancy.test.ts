// Tenancy (ARCHITECTURE invariant 8): another account's records and schemas are "not found", never visible, never changed.
import t, { type Test } from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { build, createOtherAccount } from '../helpers/app.js'
import { expectError } from '../helpers/assertions.js'

/** What B gets must not depend on whether A's object exists: same status, category and message as for a made-up one. */
function sameAnswer (t: Test, got: LightMyRequestResponse, control: LightMyRequestResponse, what: string, a: string, none: string): void {
  t.equal(got.statusCode, control.statusCode, `${what}: status as for a missing one`)
  const g = got.json() as Record<string, unknown>
  const c = control.json() as Record<string, unknown>
  t.equal(g.category, c.category, `${what}: category as for a missing one`)
  t.equal(String(g.message).replaceAll(a, '#'), String(c.message).replaceAll(none, '#'), `${what}: message as for a missing one`)
}

t.test('B cannot read, list, update or archive A\'s records', async (t) => {
  const { request, app, accountId } = await build(t)
  const b = await createOtherAccount(app, 'Tenant B')
  t.not(b.accountId, accountId)

  const contact = await request({ method: 'POST', url: '/crm/v3/objects/contacts', payload: { properties: { email: 'lorelai@example.com', firstname: 'Lorelai' } } })
  const company = await request({ method: 'POST', url: '/crm/v3/objects/companies', payload: { properties: { domain: 'dragonfly.com', name: 'Dragonfly Inn' } } })
  const deal = await request({ method: 'POST', url: '/crm/v3/objects/deals', payload: { properties: { dealname: 'Renovation' } } })
  const ticket = await request({ method: 'POST', url: '/crm/v3/objects/tickets', payload: { properties: { subject: 'Leak' } } })
  for (const r of [contact, company, deal, ticket]) t.equal(r.statusCode, 201)
  const aRecords = [['contacts', contact], ['companies', company], ['deals', deal], ['tickets', ticket]] as const
  const before = await app.db.selectFrom('records').selectAll().where('account_id', '=', accountId).orderBy('id').execute()
  const keysBefore = await app.db.selectFrom('record_keys').selectAll().where('account_id', '=', accountId).orderBy('value').execute()
  const missingId = String(before.reduce((m, r) => Math.max(m, r.id), 0) + 1000)

  for (const [type, res] of aRecords) {
    const id = res.json().id as string
    const read = await request({ method: 'GET', url: `/crm/v3/objects/${type}/${id}`, key: b.key })
    expectError(t, read, 404, 'OBJECT_NOT_FOUND')
    t.notOk(read.body.includes('Lorelai') || read.body.includes('Dragonfly'), 'no A data in the answer')
    sameAnswer(t, read, await request({ method: 'GET', url: `/crm/v3/objects/${type}/${missingId}`, key: b.key }), `GET ${type}`, id, missingId)

    const patch = await request({ method: 'PATCH', url: `/crm/v3/objects/${type}/${id}`, payload: { properties: { firstname: 'Hacked' } }, key: b.key })
    expectError(t, patch, 404, 'OBJECT_NOT_FOUND')
    sameAnswer(t, patch, await request({ method: 'PATCH', url: `/crm/v3/objects/${type}/${missingId}`, payload: { properties: { firstname: 'Hacked' } }, key: b.key }), `PATCH ${type}`, id, missingId)

    const del = await request({ method: 'DELETE', url: `/crm/v3/objects/${type}/${id}`, key: b.key })
    expectError(t, del, 404, 'OBJECT_NOT_FOUND')
    sameAnswer(t, del, await request({ method: 'DELETE', url: `/crm/v3/objects/${type}/${missingId}`, key: b.key }), `DELETE ${type}`, id, missingId)

    const list = await request({ method: 'GET', url: `/crm/v3/objects/${type}?limit=100`, key: b.key })
    t.equal(list.statusCode, 200)
    t.same(list.json().results, [], `B's ${type} list is empty`)
  }

  // Unique identifiers are per account: B's lookups by A's email or domain find nothing...
  expectError(t, await request({ method: 'GET', url: '/crm/v3/objects/contacts/lorelai@example.com?idProperty=email', key: b.key }), 404, 'OBJECT_NOT_FOUND')
  expectError(t, await request({ method: 'GET', url: '/crm/v3/objects/companies/dragonfly.com?idProperty=domain', key: b.key }), 404, 'OBJECT_NOT_FOUND')
  expectError(t, await request({ method: 'PATCH', url: '/crm/v3/objects/contacts/lorelai@example.com?idProperty=email', payload: { properties: { firstname: 'Hacked' } }, key: b.key }), 404, 'OBJECT_NOT_FOUND')
  // ...and A's values do not block B (no conflict that would reveal A's record id).
  const bContact = await request({ method: 'POST', url: '/crm/v3/objects/contacts', payload: { properties: { email: 'LORELAI@example.com', firstname: 'B' } }, key: b.key })
  t.equal(bContact.statusCode, 201, 'B may use the same email')
  const bCompany = await request({ method: 'POST', url: '/crm/v3/objects/companies', payload: { properties: { domain: 'www.dragonfly.com' } }, key: b.key })
  t.equal(bCompany.statusCode, 201, 'B may use the same domain')
  const bDup = await request({ method: 'POST', url: '/crm/v3/objects/contacts', payload: { properties: { email: 'lorelai@example.com' } }, key: b.key })
  t.match(expectError(t, bDup, 409, 'CONFLICT').message, new RegExp(`Existing ID: ${bContact.json().id as string}$`), 'B\'s conflict names B\'s record, not A\'s')

  // B's own record, read by B, is B's; A does not see it either.
  const bList = await request({ method: 'GET', url: '/crm/v3/objects/contacts', key: b.key })
  t.same(bList.json().results.map((r: { id: string }) => r.id), [bContact.json().id])
  expectError(t, await request({ method: 'GET', url: `/crm/v3/objects/contacts/${bContact.json().id as string}` }), 404, 'OBJECT_NOT_FOUND')
  const aList = await request({ method: 'GET', url: '/crm/v3/objects/contacts' })
  t.same(aList.json().results.map((r: { id: string }) => r.id), [contact.json().id], 'A still sees only its own contact')
  t.equal((await request({ method: 'GET', url: '/crm/v3/objects/contacts/lorelai@example.com?idProperty=email' })).json().id, contact.json().id, 'A\'s email still finds A\'s record')

  const after = await app.db.selectFrom('records').selectAll().where('account_id', '=', accountId).orderBy('id').execute()
  t.same(after, before, 'A\'s records are unchanged (properties, timestamps, not archived)')
  const keysAfter = await app.db.selectFrom('record_keys').selectAll().where('account_id', '=', accountId).orderBy('value').execute()
  t.same(keysAfter, keysBefore, 'A\'s unique identifiers are unchanged')
})

t.test('B cannot see or delete A\'s custom schemas, nor use them for records', async (t) => {
  const { request, app, accountId } = await build(t)
  const b = await createOtherAccount(app, 'Tenant B')
  const created = await request({
    method: 'POST',
    url: '/crm/v3/schemas',
    payload: { name: 'pets', labels: { singular: 'Pet', plural: 'Pets' }, properties: [{ name: 'chip', label: 'Chip', hasUniqueValue: true }] }
  })
  t.equal(created.statusCode, 201)
  const schema = created.json()
  const typeId = schema.objectTypeId as string
  const fq = `p${accountId}_pets`
  const pet = await request({ method: 'POST', url: `/crm/v3/objects/${typeId}`, payload: { properties: { chip: 'CHIP-1', name: 'Paul Anka' } } })
  t.equal(pet.statusCode, 201)
  const petId = pet.json().id as string
  const typesBefore = await app.db.selectFrom('object_types').selectAll().where('account_id', '=', accountId).orderBy('type_id').execute()
  const recordsBefore = await app.db.selectFrom('records').selectAll().where('account_id', '=', accountId).execute()

  const bSchemas = await request({ method: 'GET', url: '/crm/v3/schemas', key: b.key })
  t.equal(bSchemas.statusCode, 200)
  t.same(bSchemas.json().results, [], 'B lists no schemas')

  for (const name of [typeId, 'pets', fq]) {
    const read = await request({ method: 'GET', url: `/crm/v3/schemas/${name}`, key: b.key })
    expectError(t, read, 404, 'OBJECT_NOT_FOUND')
    t.notOk(read.body.includes('Pet'), 'no label of A in the answer')
    sameAnswer(t, read, await request({ method: 'GET', url: '/crm/v3/schemas/2-987654', key: b.key }), `GET schema ${name}`, name, '2-987654')
    const del = await request({ method: 'DELETE', url: `/crm/v3/schemas/${name}`, key: b.key })
    expectError(t, del, 404, 'OBJECT_NOT_FOUND')

    // Records of A's type: the type is unknown to B, exactly like a type that does not exist.
    const list = await request({ method: 'GET', url: `/crm/v3/objects/${name}`, key: b.key })
    sameAnswer(t, list, await request({ method: 'GET', url: '/crm/v3/objects/2-987654', key: b.key }), `list records of ${name}`, name, '2-987654')
    t.equal(list.statusCode, 400)
    const read1 = await request({ method: 'GET', url: `/crm/v3/objects/${name}/${petId}`, key: b.key })
    t.equal(read1.statusCode, 400)
    t.notOk(read1.body.includes('Paul Anka'))
    t.equal((await request({ method: 'GET', url: `/crm/v3/objects/${name}/CHIP-1?idProperty=chip`, key: b.key })).statusCode, 400)
    t.equal((await request({ method: 'PATCH', url: `/crm/v3/objects/${name}/${petId}`, payload: { properties: { name: 'x' } }, key: b.key })).statusCode, 400)
    t.equal((await request({ method: 'DELETE', url: `/crm/v3/objects/${name}/${petId}`, key: b.key })).statusCode, 400)
    t.equal((await request({ method: 'POST', url: `/crm/v3/objects/${name}`, payload: { properties: { chip: 'CHIP-2' } }, key: b.key })).statusCode, 400)
  }
  // A's pet id through a standard type of B: not found.
  expectError(t, await request({ method: 'GET', url: `/crm/v3/objects/contacts/${petId}`, key: b.key }), 404, 'OBJECT_NOT_FOUND')

  // B may create its own "pets": another type id, and A's unique values do not collide with B's.
  const bPets = await request({
    method: 'POST',
    url: '/crm/v3/schemas',
    payload: { name: 'pets', labels: { singular: 'B pet', plural: 'B pets' }, properties: [{ name: 'chip', label: 'Chip', hasUniqueValue: true }] },
    key: b.key
  })
  t.equal(bPets.statusCode, 201)
  t.not(bPets.json().objectTypeId, typeId)
  t.equal(bPets.json().fullyQualifiedName, `p${b.accountId}_pets`)
  t.equal((await request({ method: 'POST', url: '/crm/v3/objects/pets', payload: { properties: { chip: 'CHIP-1' } }, key: b.key })).statusCode, 201)
  // A's fully qualified name used by B still does not reach A's type.
  expectError(t, await request({ method: 'GET', url: `/crm/v3/schemas/${fq}`, key: b.key }), 404, 'OBJECT_NOT_FOUND')
  t.equal((await request({ method: 'GET', url: `/crm/v3/objects/${fq}`, key: b.key })).statusCode, 400)
  const aView = await request({ method: 'GET', url: '/crm/v3/schemas' })
  t.same(aView.json().results, [schema], 'A still sees exactly its own schema')
  const aPets = await request({ method: 'GET', url: '/crm/v3/objects/pets?limit=100' })
  t.same(aPets.json().results.map((r: { id: string }) => r.id), [petId], 'A\'s pets list holds only A\'s pet')

  const typesAfter = await app.db.selectFrom('object_types').selectAll().where('account_id', '=', accountId).orderBy('type_id').execute()
  t.same(typesAfter, typesBefore, 'A\'s object types are unchanged')
  const recordsAfter = await app.db.selectFrom('records').selectAll().where('account_id', '=', accountId).execute()
  t.same(recordsAfter, recordsBefore, 'A\'s records are unchanged')
})
