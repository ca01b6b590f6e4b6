// Invariants under concurrent requests (Promise.all over app.inject), on PostgreSQL and on PGlite: one primary company,
// the per-record cap, the label cap and both write directions never give a 5xx nor break a count.
import t, { type Test } from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { build, type TestApp } from '../helpers/app.js'
import { createRecord, createRecords } from '../helpers/factories.js'

const CONTACTS = '0-1'
const COMPANIES = '0-2'

/** Every answer is a 2xx or a 4xx with the HubSpot error body; never a 5xx. Returns the statuses. */
function clean (t: Test, responses: LightMyRequestResponse[]): number[] {
  const statuses = responses.map((r) => r.statusCode)
  const bad = responses.filter((r) => r.statusCode >= 500 || r.statusCode < 200 || (r.statusCode >= 300 && r.statusCode < 400))
  t.same(bad.map((r) => `${r.statusCode} ${r.body.slice(0, 200)}`), [], 'no 5xx')
  for (const r of responses.filter((x) => x.statusCode >= 400 && x.statusCode < 500)) t.match(r.json(), { status: 'error', category: String, message: String })
  return statuses
}

async function rows (ta: TestApp, fromType: string, fromId: number, toType: string) {
  return await ta.app.db.selectFrom('associations').select(['to_id', 'type_id', 'is_primary'])
    .where('account_id', '=', ta.accountId).where('from_type', '=', fromType).where('from_id', '=', fromId).where('to_type', '=', toType)
    .orderBy('to_id').orderBy('type_id').execute()
}

async function countOf (ta: TestApp, type: string, id: number, toType: string): Promise<number | undefined> {
  const r = await ta.app.db.selectFrom('association_counts').select('count')
    .where('account_id', '=', ta.accountId).where('from_type', '=', type).where('from_id', '=', id).where('to_type', '=', toType)
    .executeTakeFirst()
  return r?.count
}

/** For each company, the contact -> company and company -> contact type ids, to check both directions agree. */
async function bothWays (ta: TestApp, contact: number, companies: number[]): Promise<{ forward: Map<number, number[]>, backward: Map<number, number[]> }> {
  const forward = new Map<number, number[]>()
  for (const r of await rows(ta, CONTACTS, contact, COMPANIES)) forward.set(r.to_id, [...(forward.get(r.to_id) ?? []), r.type_id])
  const backward = new Map<number, number[]>()
  const back = await ta.app.db.selectFrom('associations').select(['from_id', 'type_id']).where('account_id', '=', ta.accountId)
    .where('from_type', '=', COMPANIES).where('from_id', 'in', companies).where('to_type', '=', CONTACTS).where('to_id', '=', contact)
    .orderBy('from_id').orderBy('type_id').execute()
  for (const r of back) backward.set(r.from_id, [...(backward.get(r.from_id) ?? []), r.type_id])
  return { forward, backward }
}

const ta = await build(t)

t.test('50 concurrent set-primary calls for one contact: exactly one primary, every company associated', async (t) => {
  const contact = await createRecord(ta, 'contacts')
  const companies = await createRecords(ta, 'companies', 50)
  const responses = await Promise.all(companies.map(async (company) =>
    await ta.request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/primary/companies/${company}` })))
  const statuses = clean(t, responses)
  t.ok(statuses.every((s) => s === 200), `all 200: ${statuses.join(',')}`)

  const all = await rows(ta, CONTACTS, contact, COMPANIES)
  const primaries = all.filter((r) => r.is_primary)
  t.equal(primaries.length, 1, 'exactly one row with is_primary')
  t.equal(primaries[0]?.type_id, 1)
  t.equal(all.filter((r) => r.type_id === 1).length, 1, 'one primary type row')
  t.same(all.filter((r) => r.type_id === 279).map((r) => r.to_id), [...companies].sort((a, b) => a - b), '50 unlabeled contact -> company rows')
  const { forward, backward } = await bothWays(ta, contact, companies)
  t.equal([...backward.values()].filter((types) => types.includes(280)).length, 50, '50 unlabeled company -> contact rows')
  t.same([...backward.entries()].filter(([, types]) => types.includes(2)).map(([id]) => id), [primaries[0]?.to_id], 'the inverse primary row belongs to the same company')
  for (const [company, types] of forward) t.same(backward.get(company), types.map((x) => ({ 1: 2, 279: 280 })[x as 1 | 279]), `company ${company}: both directions agree`)
  t.equal(await countOf(ta, CONTACTS, contact, COMPANIES), 50, 'count row = 50')
  for (const company of companies.slice(0, 5)) t.equal(await countOf(ta, COMPANIES, company, CONTACTS), 1)
  const read = await ta.request({ method: 'GET', url: `/crm/v4/objects/contacts/${contact}/primary/companies` })
  t.equal(read.json().toObjectId, primaries[0]?.to_id)

  // Again, now that all are associated: moving the primary concurrently keeps exactly one.
  const again = await Promise.all([...companies].reverse().map(async (company) =>
    await ta.request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/primary/companies/${company}` })))
  t.ok(clean(t, again).every((s) => s === 200))
  const after = await rows(ta, CONTACTS, contact, COMPANIES)
  t.equal(after.filter((r) => r.is_primary).length, 1)
  t.equal(after.filter((r) => r.type_id === 279).length, 50)
  t.equal((await bothWays(ta, contact, companies)).backward.size, 50)
  t.equal([...(await bothWays(ta, contact, companies)).backward.values()].filter((types) => types.includes(2)).length, 1)
  t.equal(await countOf(ta, CONTACTS, contact, COMPANIES), 50)
})

t.test('20 concurrent first associations: exactly one company becomes primary', async (t) => {
  const contact = await createRecord(ta, 'contacts')
  const companies = await createRecords(ta, 'companies', 20)
  const responses = await Promise.all(companies.map(async (company, i) => await ta.request(i % 2 === 0
    ? { method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/associations/default/companies/${company}` }
    : { method: 'PUT', url: `/crm/v4/objects/companies/${company}/associations/default/contacts/${contact}` })))
  t.ok(clean(t, responses).every((s) => s === 200))
  const all = await rows(ta, CONTACTS, contact, COMPANIES)
  t.equal(all.filter((r) => r.is_primary).length, 1, 'one primary')
  t.equal(all.filter((r) => r.type_id === 279).length, 20)
  const { backward } = await bothWays(ta, contact, companies)
  t.equal([...backward.values()].filter((types) => types.includes(2)).length, 1)
  t.equal([...backward.values()].filter((types) => types.includes(280)).length, 20)
  t.equal(await countOf(ta, CONTACTS, contact, COMPANIES), 20)
})

t.test('concurrent writes on one pair from both sides, and deletes: counts stay exact', async (t) => {
  const contact = await createRecord(ta, 'contacts')
  const companies = await createRecords(ta, 'companies', 10)
  const writes = companies.flatMap((company) => [
    { method: 'PUT' as const, url: `/crm/v4/objects/contacts/${contact}/associations/default/companies/${company}` },
    { method: 'PUT' as const, url: `/crm/v4/objects/companies/${company}/associations/default/contacts/${contact}` },
    { method: 'PUT' as const, url: `/crm/v4/objects/companies/${company}/associations/contacts/${contact}`, payload: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 280 }] }
  ])
  t.ok(clean(t, await Promise.all(writes.map(async (w) => await ta.request(w)))).every((s) => s === 200 || s === 201))
  t.equal(await countOf(ta, CONTACTS, contact, COMPANIES), 10, 'each pair counted once')
  for (const company of companies) t.equal(await countOf(ta, COMPANIES, company, CONTACTS), 1)
  t.equal((await rows(ta, CONTACTS, contact, COMPANIES)).filter((r) => r.is_primary).length, 1)

  // Delete half while re-adding the other half: the deleted ones are gone, the count matches the rows.
  const ops = companies.map((company, i) => i % 2 === 0
    ? { method: 'DELETE' as const, url: `/crm/v4/objects/contacts/${contact}/associations/companies/${company}` }
    : { method: 'PUT' as const, url: `/crm/v4/objects/contacts/${contact}/associations/default/companies/${company}` })
  clean(t, await Promise.all([...ops, ...ops].map(async (o) => await ta.request(o))))
  const left = (await rows(ta, CONTACTS, contact, COMPANIES)).filter((r) => r.type_id === 279).map((r) => r.to_id)
  t.same(left, companies.filter((_, i) => i % 2 === 1))
  t.equal(await countOf(ta, CONTACTS, contact, COMPANIES), 5)
  for (const [i, company] of companies.entries()) t.equal(await countOf(ta, COMPANIES, company, CONTACTS), i % 2 === 1 ? 1 : 0)
})

t.test('15 concurrent label creations for one pair: exactly MAX_LABELS_PER_PAIR (10) created', async (t) => {
  const responses = await Promise.all(Array.from({ length: 15 }, async (_, i) => await ta.request({
    method: 'POST', url: `/crm/v4/associations/${i % 2 === 0 ? 'deals/tickets' : 'tickets/deals'}/labels`, payload: { label: `Race ${i}`, name: `race_${i}` }
  })))
  const statuses = clean(t, responses)
  t.equal(statuses.filter((s) => s === 200).length, 10)
  t.equal(statuses.filter((s) => s === 400).length, 5)
  for (const r of responses.filter((x) => x.statusCode === 400)) t.equal(r.json().category, 'LIMITS_ERROR')
  const defined = await ta.app.db.selectFrom('association_types').select('type_id').where('account_id', '=', ta.accountId)
    .where('category', '=', 'USER_DEFINED').where((eb) => eb.or([eb('from_type', '=', '0-3'), eb('from_type', '=', '0-5')]))
    .where((eb) => eb.or([eb('to_type', '=', '0-3'), eb('to_type', '=', '0-5')])).execute()
  t.equal(defined.length, 20, 'ten labels, one type id per direction')

  // One name raced twice: one 200, one 409.
  const dup = await Promise.all([0, 1].map(async () => await ta.request({ method: 'POST', url: '/crm/v4/associations/contacts/deals/labels', payload: { label: 'Twin', name: 'twin' } })))
  t.same(clean(t, dup).sort(), [200, 409])
})

t.test('100 concurrent default associations with a cap of 5: exactly 5 written, the rest LIMITS_ERROR', async (t) => {
  const capped = await build(t, { MAX_ASSOCIATIONS_PER_TYPE: 5 })
  const contact = await createRecord(capped, 'contacts')
  const companies = await createRecords(capped, 'companies', 100)
  const responses = await Promise.all(companies.map(async (company) =>
    await capped.request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/associations/default/companies/${company}` })))
  const statuses = clean(t, responses)
  t.equal(statuses.filter((s) => s === 200).length, 5, 'five succeed')
  t.equal(statuses.filter((s) => s === 400).length, 95, 'the rest are refused')
  for (const r of responses.filter((x) => x.statusCode === 400)) {
    t.match(r.json(), { category: 'LIMITS_ERROR', message: `contacts ${contact} would exceed the limit of 5 associations to companies` })
  }
  const all = await rows(capped, CONTACTS, contact, COMPANIES)
  const associated = all.filter((r) => r.type_id === 279).map((r) => r.to_id)
  t.equal(associated.length, 5, 'exactly 5 associated')
  t.same(associated, companies.filter((_, i) => statuses[i] === 200).sort((a, b) => a - b), 'the associated ones are those answered 200')
  t.equal(all.filter((r) => r.is_primary).length, 1, 'one of them is primary')
  t.equal(await countOf(capped, CONTACTS, contact, COMPANIES), 5, 'count row = 5')
  const back = await capped.app.db.selectFrom('associations').select('from_id').where('from_type', '=', COMPANIES).where('to_id', '=', contact).where('type_id', '=', 280).execute()
  t.equal(back.length, 5)
  const countRows = await capped.app.db.selectFrom('association_counts').select(['from_id', 'count']).where('from_type', '=', COMPANIES).where('to_type', '=', CONTACTS).execute()
  t.same(countRows.filter((r) => r.count > 0).map((r) => r.from_id).sort((a, b) => a - b), [...associated], 'only the 5 companies have a count')
})

t.test('concurrent first uses of a custom object pair, from both directions: one unlabeled type per direction', async (t) => {
  for (let round = 0; round < 3; round++) {
    const schema = await ta.request({ method: 'POST', url: '/crm/v3/schemas', payload: { name: `boats_${round}`, labels: { singular: 'Boat', plural: 'Boats' }, properties: [] } })
    t.equal(schema.statusCode, 201, schema.body)
    const boatType: string = schema.json().objectTypeId
    const boats = await createRecords(ta, boatType, 10)
    const contacts = await createRecords(ta, 'contacts', 10)
    const responses = await Promise.all(boats.flatMap((boat, i) => [
      ta.request({ method: 'PUT', url: `/crm/v4/objects/${boatType}/${boat}/associations/default/contacts/${contacts[i]}` }),
      ta.request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contacts[(i + 1) % 10]}/associations/default/${boatType}/${boat}` }),
      ta.request({ method: 'GET', url: `/crm/v4/associations/contacts/${boatType}/labels` }),
      ta.request({ method: 'GET', url: `/crm/v4/associations/${boatType}/contacts/labels` })
    ]))
    t.ok(clean(t, responses).every((s) => s === 200), `round ${round}: all 200`)
    const types = await ta.app.db.selectFrom('association_types').select(['from_type', 'to_type', 'type_id', 'inverse_type_id', 'role'])
      .where('account_id', '=', ta.accountId).where((eb) => eb.or([eb('from_type', '=', boatType), eb('to_type', '=', boatType)])).orderBy('type_id').execute()
    t.equal(types.length, 2, 'one unlabeled type per direction')
    const forward = types.find((r) => r.from_type === boatType)
    const backward = types.find((r) => r.to_type === boatType)
    t.equal(forward?.inverse_type_id, backward?.type_id, 'each the other\'s inverse')
    t.equal(backward?.inverse_type_id, forward?.type_id)
    const edges = await ta.app.db.selectFrom('associations').select(['from_type', 'type_id']).where('account_id', '=', ta.accountId)
      .where((eb) => eb.or([eb('from_type', '=', boatType), eb('to_type', '=', boatType)])).execute()
    t.equal(edges.length, 40, 'twenty pairs, two rows each')
    t.ok(edges.every((e) => e.type_id === (e.from_type === boatType ? forward?.type_id : backward?.type_id)), 'every row uses the pair\'s types')
  }
})
