// POST /crm/v3/objects/{objectType}/search: HubSpot's filters, sorts and paging, our association filters (ALL, ANY,
// PRIMARY, NONE, labels, includeEmpty), limits, validation, scope and tenancy. One app for the file (the data set of
// the help article, Stars Hollow); the searches only read.
import t from 'tap'
import { build, createOtherAccount, type TestApp } from '../helpers/app.js'
import { expectError } from '../helpers/assertions.js'
import { createRecord } from '../helpers/factories.js'

const ctx = await build(t)
const { request } = ctx

async function associate (fromType: string, from: number, toType: string, to: number, typeIds: number[] = []): Promise<void> {
  const res = typeIds.length === 0
    ? await request({ method: 'PUT', url: `/crm/v4/objects/${fromType}/${from}/associations/default/${toType}/${to}` })
    : await request({ method: 'POST', url: `/crm/v4/objects/${fromType}/${from}/associations/${toType}/${to}/labels`, payload: typeIds.map((id) => ({ associationCategory: id < 1000 ? 'HUBSPOT_DEFINED' : 'USER_DEFINED', associationTypeId: id })) })
  if (res.statusCode >= 300) throw new Error(`associate failed: ${res.statusCode} ${res.body}`)
}

// The label Manager (contact -> company), created through the labels API.
const labelRes = await request({ method: 'POST', url: '/crm/v4/associations/contacts/companies/labels', payload: { label: 'Manager', name: 'manager' } })
if (labelRes.statusCode !== 200) throw new Error(labelRes.body)
const MANAGER = (labelRes.json().results as Array<{ typeId: number, label: string }>).find((r) => r.label === 'Manager')?.typeId as number

const co = {
  diner: await createRecord(ctx, 'companies', { name: "Luke's Diner", industry: 'Hospitality', city: 'Stars Hollow', numberofemployees: '9' }),
  inn: await createRecord(ctx, 'companies', { name: 'Dragonfly Inn', industry: 'Hospitality', city: 'Stars Hollow', numberofemployees: '10' }),
  chilton: await createRecord(ctx, 'companies', { name: 'Chilton', industry: 'Education', city: 'Hartford', numberofemployees: '100' }),
  gilmore: await createRecord(ctx, 'companies', { name: 'Gilmore Insurance', industry: 'Insurance', city: 'Hartford', numberofemployees: 'many' }),
  doose: await createRecord(ctx, 'companies', { name: "Doose's Market", city: 'Stars Hollow' })
}
const ct = {
  luke: await createRecord(ctx, 'contacts', { email: 'luke@lukes-diner.com', firstname: 'Luke', lastname: 'Danes' }),
  lorelai: await createRecord(ctx, 'contacts', { email: 'lorelai@dragonfly.com', firstname: 'Lorelai', lastname: 'Gilmore' }),
  richard: await createRecord(ctx, 'contacts', { email: 'richard@gilmore.com', firstname: 'Richard', lastname: 'Gilmore' }),
  rory: await createRecord(ctx, 'contacts', { email: 'rory@chilton.edu', firstname: 'Rory', lastname: 'Gilmore' }),
  kirk: await createRecord(ctx, 'contacts', { email: 'kirk@gleason.com', firstname: 'Kirk' }),
  taylor: await createRecord(ctx, 'contacts', { email: 'taylor@doose.com', firstname: 'Taylor', lastname: 'Doose' })
}
// The first company associated becomes the primary one.
await associate('contacts', ct.luke, 'companies', co.diner, [MANAGER])
await associate('contacts', ct.luke, 'companies', co.inn)
await associate('contacts', ct.lorelai, 'companies', co.inn, [MANAGER])
await associate('contacts', ct.lorelai, 'companies', co.chilton)
await associate('contacts', ct.richard, 'companies', co.gilmore, [MANAGER])
await associate('contacts', ct.richard, 'companies', co.inn)
await associate('contacts', ct.rory, 'companies', co.chilton)
await associate('contacts', ct.taylor, 'companies', co.doose, [MANAGER])
const deal1 = await createRecord(ctx, 'deals', { dealname: 'Diner renovation', amount: '1500' })
const deal2 = await createRecord(ctx, 'deals', { dealname: 'Inn wedding', amount: '25000.50' })
await associate('deals', deal1, 'companies', co.diner)
await associate('deals', deal2, 'companies', co.inn)

interface Answer { total: number, results: Array<{ id: string, properties: Record<string, string | null> }>, paging?: { next: { after: string } } }

async function search (type: string, body: unknown, key?: string): Promise<Answer> {
  const res = await request({ method: 'POST', url: `/crm/v3/objects/${type}/search`, payload: body as Record<string, unknown>, key })
  if (res.statusCode !== 200) throw new Error(`search ${res.statusCode}: ${res.body}`)
  return res.json() as Answer
}

/** The ids of the answer, sorted (order-free comparisons). */
const ids = (a: Answer): number[] => a.results.map((r) => Number(r.id)).sort((x, y) => x - y)
const sorted = (...xs: number[]): number[] => [...xs].sort((x, y) => x - y)
const eq = (propertyName: string, value: string) => ({ propertyName, operator: 'EQ', value })
const companies = (quantifier: string, filters: unknown[], extra: Record<string, unknown> = {}) => ({ toObjectType: 'companies', quantifier, filters, ...extra })

t.test('contacts whose primary company has industry = Hospitality (PRIMARY)', async (t) => {
  const answer = await search('contacts', { filterGroups: [{ associations: [companies('PRIMARY', [eq('industry', 'Hospitality')])] }] })
  t.same(ids(answer), sorted(ct.luke, ct.lorelai), 'Richard is at the Dragonfly Inn too, but it is not his primary company')
  t.equal(answer.total, 2)
  t.same(Object.keys(answer).sort(), ['results', 'total'], 'no paging when everything fits')
  t.match(answer.results[0], { id: String(ct.luke), properties: { email: 'luke@lukes-diner.com', hs_object_id: String(ct.luke) }, archived: false, createdAt: String, updatedAt: String })
})

t.test('contacts with at least one company labelled Manager whose city = Stars Hollow (ANY with a label)', async (t) => {
  const answer = await search('contacts', {
    filterGroups: [{ associations: [companies('ANY', [eq('city', 'Stars Hollow')], { associationTypeId: MANAGER })] }]
  })
  t.same(ids(answer), sorted(ct.luke, ct.lorelai, ct.taylor), 'Richard is Manager in Hartford; Luke is at the Inn but not as Manager')
  const anyLabel = await search('contacts', { filterGroups: [{ associations: [companies('ANY', [], { associationTypeId: MANAGER })] }] })
  t.same(ids(anyLabel), sorted(ct.luke, ct.lorelai, ct.richard, ct.taylor), 'no filters: any Manager company')
  const primaryManager = await search('contacts', { associations: [companies('PRIMARY', [eq('city', 'Hartford')], { associationTypeId: MANAGER })] })
  t.same(ids(primaryManager), [ct.richard], 'PRIMARY with a label: the primary company carries the label too')
})

t.test('companies with no associated deals (NONE, no filters)', async (t) => {
  const answer = await search('companies', { filterGroups: [{ associations: [{ toObjectType: 'deals', quantifier: 'NONE' }] }] })
  t.same(ids(answer), sorted(co.chilton, co.gilmore, co.doose))
  const withDeals = await search('companies', { associations: [{ toObjectType: 'deals', quantifier: 'ANY' }] })
  t.same(ids(withDeals), sorted(co.diner, co.inn))
  const bigDeals = await search('companies', { associations: [{ toObjectType: '0-3', quantifier: 'ANY', filters: [{ propertyName: 'amount', operator: 'GT', value: '2000' }] }] })
  t.same(ids(bigDeals), [co.inn], 'deal amounts compare as numbers')
})

t.test('ALL is the default; records without associated records match only with includeEmpty', async (t) => {
  const all = await search('contacts', { filterGroups: [{ associations: [{ toObjectType: 'companies', filters: [eq('industry', 'Hospitality')] }] }] })
  t.same(ids(all), [ct.luke], 'Luke\'s companies are all in Hospitality; Lorelai also has Chilton; Kirk has none')
  const empty = await search('contacts', { filterGroups: [{ associations: [companies('ALL', [eq('industry', 'Hospitality')], { includeEmpty: true })] }] })
  t.same(ids(empty), sorted(ct.luke, ct.kirk), 'with includeEmpty, Kirk (no company) matches vacuously')
  const allAny = await search('contacts', { associations: [companies('ALL', [])] })
  t.same(ids(allAny), sorted(ct.luke, ct.lorelai, ct.richard, ct.rory, ct.taylor), 'ALL without filters: has at least one company')
  const allMissing = await search('contacts', { associations: [companies('ALL', [{ propertyName: 'industry', operator: 'HAS_PROPERTY' }])] })
  t.same(ids(allMissing), sorted(ct.luke, ct.lorelai, ct.richard, ct.rory), 'Taylor\'s only company has no industry')
})

t.test('NONE: no associated record matches', async (t) => {
  const none = await search('contacts', { filterGroups: [{ associations: [companies('NONE', [eq('industry', 'Hospitality')])] }] })
  t.same(ids(none), sorted(ct.rory, ct.kirk, ct.taylor), 'a company without industry is not in Hospitality; Kirk has no company')
  const noManager = await search('contacts', { filterGroups: [{ associations: [companies('NONE', [], { associationTypeId: MANAGER })] }] })
  t.same(ids(noManager), sorted(ct.rory, ct.kirk))
})

t.test('groups are ORed, filters and association filters of a group ANDed, top-level associations ANDed with the groups', async (t) => {
  const either = await search('contacts', {
    filterGroups: [
      { associations: [companies('PRIMARY', [eq('industry', 'Hospitality')])] },
      { associations: [companies('NONE', [])] }
    ]
  })
  t.same(ids(either), sorted(ct.luke, ct.lorelai, ct.kirk))
  const both = await search('contacts', {
    filterGroups: [{ filters: [eq('lastname', 'Gilmore')], associations: [companies('ANY', [eq('city', 'Hartford')])] }]
  })
  t.same(ids(both), sorted(ct.lorelai, ct.richard, ct.rory))
  const narrowed = await search('contacts', {
    filterGroups: [{ filters: [eq('lastname', 'gilmore')] }, { filters: [eq('firstname', 'Luke')] }],
    associations: [companies('ANY', [eq('industry', 'Hospitality')])]
  })
  t.same(ids(narrowed), sorted(ct.lorelai, ct.richard, ct.luke), 'Rory has no Hospitality company')
})

t.test('operators: NEQ, NOT_IN and NOT_HAS_PROPERTY match records without the property; the others do not', async (t) => {
  const run = async (filter: Record<string, unknown>): Promise<number[]> => ids(await search('companies', { filterGroups: [{ filters: [{ propertyName: 'industry', ...filter }] }] }))
  t.same(await run({ operator: 'EQ', value: 'hospitality' }), sorted(co.diner, co.inn), 'EQ ignores case')
  t.same(await run({ operator: 'NEQ', value: 'Hospitality' }), sorted(co.chilton, co.gilmore, co.doose), 'NEQ: Doose has no industry and matches')
  t.same(await run({ operator: 'IN', values: ['education', 'Insurance'] }), sorted(co.chilton, co.gilmore))
  t.same(await run({ operator: 'NOT_IN', values: ['Hospitality', 'Education'] }), sorted(co.gilmore, co.doose))
  t.same(await run({ operator: 'HAS_PROPERTY' }), sorted(co.diner, co.inn, co.chilton, co.gilmore))
  t.same(await run({ operator: 'NOT_HAS_PROPERTY' }), [co.doose])
  t.same(await run({ operator: 'LT', value: 'F' }), [co.chilton], 'text compares as text, case-insensitively; a missing value is not less than anything')
  t.same(await run({ operator: 'CONTAINS_TOKEN', value: 'hosp*' }), sorted(co.diner, co.inn))
  t.same(await run({ operator: 'NOT_CONTAINS_TOKEN', value: 'hosp*' }), sorted(co.chilton, co.gilmore, co.doose))
  const token = await search('companies', { filterGroups: [{ filters: [{ propertyName: 'name', operator: 'CONTAINS_TOKEN', value: 'inn' }] }] })
  t.same(ids(token), [co.inn], 'a whole word of the value')
  const email = await search('contacts', { filterGroups: [{ filters: [{ propertyName: 'email', operator: 'CONTAINS_TOKEN', value: '*@lukes-diner.com' }] }] })
  t.same(ids(email), [ct.luke], 'HubSpot\'s example: a wildcard and a domain')
})

t.test('numbers compare as numbers when both sides are numeric, otherwise as text', async (t) => {
  const run = async (operator: string, value: string, extra: Record<string, unknown> = {}): Promise<number[]> =>
    ids(await search('companies', { filterGroups: [{ filters: [{ propertyName: 'numberofemployees', operator, value, ...extra }] }] }))
  t.same(await run('GT', '9'), sorted(co.inn, co.chilton), '10 and 100 are more than 9 (as text "10" < "9"); "many" is not a number')
  t.same(await run('LTE', '10'), sorted(co.diner, co.inn))
  t.same(await run('EQ', '10.0'), [co.inn], '10.0 = 10')
  t.same(await run('BETWEEN', '9.5', { highValue: '1e2' }), sorted(co.inn, co.chilton))
  t.same(await run('NEQ', '10'), sorted(co.diner, co.chilton, co.gilmore, co.doose))
  t.same(await run('EQ', 'MANY'), [co.gilmore], 'a text value compares as text')
  const ids10 = await search('companies', { filterGroups: [{ filters: [{ propertyName: 'hs_object_id', operator: 'IN', values: [String(co.inn), String(co.doose)] }] }] })
  t.same(ids(ids10), sorted(co.inn, co.doose), 'hs_object_id filters on the record id')
  const future = await search('companies', { filterGroups: [{ filters: [{ propertyName: 'createdate', operator: 'GTE', value: '2999-01-01T00:00:00Z' }] }] })
  t.equal(future.total, 0)
  const past = await search('companies', { filterGroups: [{ filters: [{ propertyName: 'createdate', operator: 'GT', value: String(Date.now() - 3_600_000) }] }] })
  t.equal(past.total, 5, 'dates filter as ISO 8601 or epoch milliseconds')
})

t.test('sorts and keyset paging: every record once, in order, whatever the page size', async (t) => {
  async function walk (body: Record<string, unknown>, limit: number): Promise<{ ids: number[], totals: number[] }> {
    const seen: number[] = []
    const totals: number[] = []
    let after: string | undefined
    for (let i = 0; i < 20; i++) {
      const page = await search('companies', { ...body, limit, ...(after !== undefined ? { after } : {}) })
      seen.push(...page.results.map((r) => Number(r.id)))
      totals.push(page.total)
      after = page.paging?.next.after
      if (after === undefined) break
    }
    return { ids: seen, totals }
  }
  const all = [co.diner, co.inn, co.chilton, co.gilmore, co.doose]
  t.same((await walk({}, 2)).ids, sorted(...all), 'default: by id')
  t.same((await walk({ sorts: [{ propertyName: 'hs_object_id', direction: 'DESCENDING' }] }, 2)).ids, sorted(...all).reverse())
  const byEmployees = await walk({ sorts: [{ propertyName: 'numberofemployees', direction: 'DESCENDING' }] }, 1)
  t.same(byEmployees.ids, [co.chilton, co.inn, co.diner, co.gilmore, co.doose], 'numbers (descending), then text, then missing')
  t.same(byEmployees.totals, [5, 5, 5, 5, 5], 'total counts every match on every page')
  t.same((await walk({ sorts: ['name'] }, 2)).ids, [co.chilton, co.doose, co.inn, co.gilmore, co.diner], 'text, case-insensitive')
  const filtered = await walk({ sorts: [{ propertyName: 'city', direction: 'ASCENDING' }], filterGroups: [{ filters: [{ propertyName: 'city', operator: 'HAS_PROPERTY' }] }] }, 3)
  t.same(filtered.ids.slice(0, 2), sorted(co.chilton, co.gilmore), 'ties keep id order')
  t.same(filtered.ids.slice(2), sorted(co.diner, co.inn, co.doose))

  const first = await search('companies', { sorts: ['name'], limit: 1 })
  const res = await request({ method: 'POST', url: '/crm/v3/objects/companies/search', payload: { sorts: ['city'], limit: 1, after: first.paging?.next.after } })
  t.match(expectError(t, res, 400, 'VALIDATION_ERROR').message, /cursor/, 'a cursor of another sort is refused')
  expectError(t, await request({ method: 'POST', url: '/crm/v3/objects/companies/search', payload: { after: 'garbage' } }), 400, 'VALIDATION_ERROR')
})

t.test('properties, query and an empty search', async (t) => {
  const some = await search('contacts', { filterGroups: [{ filters: [eq('firstname', 'Luke')] }], properties: ['firstname', 'phone'] })
  t.same(Object.keys(some.results[0]?.properties ?? {}).sort(), ['createdate', 'firstname', 'hs_object_id', 'lastmodifieddate', 'phone'])
  t.equal(some.results[0]?.properties.phone, null, 'a requested property without a value is null')
  const query = await search('companies', { query: 'dragon' })
  t.same(ids(query), [co.inn])
  const percent = await search('companies', { query: '%' })
  t.equal(percent.total, 0, 'query text is literal (no LIKE wildcards)')
  t.same(ids(await search('deals', {})), sorted(deal1, deal2), 'an empty search: every record')
  expectError(t, await request({ method: 'POST', url: '/crm/v3/objects/deals/search' }), 400, 'VALIDATION_ERROR')
})

t.test('limits: 5 groups, 6 filters per group, 18 in all, one sort, limit 200', async (t) => {
  const filter = { propertyName: 'name', operator: 'HAS_PROPERTY' }
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['6 groups', { filterGroups: Array.from({ length: 6 }, () => ({ filters: [filter] })) }, /at most 5/],
    ['7 filters in a group', { filterGroups: [{ filters: Array.from({ length: 7 }, () => filter) }] }, /at most 6/],
    ['association filters count in their group', { filterGroups: [{ filters: Array.from({ length: 5 }, () => filter), associations: [companies('ANY', []), companies('ANY', [])] }] }, /at most 6/],
    ['7 filters in an association filter', { associations: [companies('ANY', Array.from({ length: 7 }, () => filter))] }, /at most 6/],
    ['19 in all', { filterGroups: Array.from({ length: 4 }, () => ({ filters: Array.from({ length: 5 }, () => filter) })) }, /at most 18/],
    ['2 sorts', { sorts: ['name', 'city'] }, /at most 1/],
    ['limit 201', { limit: 201 }, /200/]
  ]
  for (const [name, body, message] of cases) {
    const res = await request({ method: 'POST', url: '/crm/v3/objects/contacts/search', payload: body })
    t.match(expectError(t, res, 400, 'VALIDATION_ERROR').message, message, name)
  }
  const atLimit = await search('companies', { filterGroups: Array.from({ length: 3 }, () => ({ filters: Array.from({ length: 6 }, () => filter) })) })
  t.equal(atLimit.total, 5, '3 groups of 6 filters (18) are fine')
})

t.test('bad requests are HubSpot-shaped 400s naming the problem', async (t) => {
  const cases: Array<[string, string, Record<string, unknown>, RegExp]> = [
    ['unknown operator', 'contacts', { filterGroups: [{ filters: [{ propertyName: 'email', operator: 'LIKE', value: 'x' }] }] }, /operator|allowed/],
    ['EQ without value', 'contacts', { filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ' }] }] }, /needs `value`/],
    ['IN without values', 'contacts', { filterGroups: [{ filters: [{ propertyName: 'email', operator: 'IN' }] }] }, /needs `values`/],
    ['BETWEEN without highValue', 'contacts', { filterGroups: [{ filters: [{ propertyName: 'email', operator: 'BETWEEN', value: 'a' }] }] }, /highValue/],
    ['a date that is not one', 'contacts', { filterGroups: [{ filters: [{ propertyName: 'createdate', operator: 'GT', value: 'yesterday' }] }] }, /not a date/],
    ['bad property name', 'contacts', { filterGroups: [{ filters: [{ propertyName: 'a-b', operator: 'HAS_PROPERTY' }] }] }, /pattern/],
    ['unknown field', 'contacts', { filtergroups: [] }, /additional/],
    ['empty group', 'contacts', { filterGroups: [{ filters: [] }] }, /empty/],
    ['unknown quantifier', 'contacts', { associations: [companies('SOME', [])] }, /allowed|quantifier/],
    ['PRIMARY from companies', 'companies', { associations: [{ toObjectType: 'contacts', quantifier: 'PRIMARY' }] }, /PRIMARY applies/],
    ['PRIMARY toward deals', 'contacts', { associations: [{ toObjectType: 'deals', quantifier: 'PRIMARY' }] }, /PRIMARY applies/],
    ['includeEmpty with ANY', 'contacts', { associations: [companies('ANY', [], { includeEmpty: true })] }, /includeEmpty/],
    ['label of another direction', 'companies', { associations: [{ toObjectType: 'contacts', quantifier: 'ANY', associationTypeId: MANAGER }] }, /not a valid association type/],
    ['unknown label', 'contacts', { associations: [companies('ANY', [], { associationTypeId: 987654 })] }, /987654/],
    ['unknown associated object type', 'contacts', { associations: [{ toObjectType: 'widgets' }] }, /widgets/]
  ]
  for (const [name, type, body, message] of cases) {
    const res = await request({ method: 'POST', url: `/crm/v3/objects/${type}/search`, payload: body })
    t.match(expectError(t, res, 400, 'VALIDATION_ERROR').message, message, name)
  }
  const label = expectError(t, await request({ method: 'POST', url: '/crm/v3/objects/contacts/search', payload: { associations: [companies('ANY', [], { associationTypeId: 987654 })] } }), 400, 'VALIDATION_ERROR')
  t.equal(label.subCategory, 'crm.associations.INVALID_ASSOCIATION_TYPE')
  // An unknown object type in the path answers as the other record routes do.
  const listed = await request({ method: 'GET', url: '/crm/v3/objects/widgets' })
  const searched = await request({ method: 'POST', url: '/crm/v3/objects/widgets/search', payload: {} })
  t.equal(searched.statusCode, listed.statusCode)
  t.equal(expectError(t, searched, listed.statusCode, listed.json().category).message, 'Unable to infer object type from: widgets')
})

t.test('scope crm.objects.read', async (t) => {
  const create = async (scopes: string[]): Promise<string> => {
    const res = await request({ method: 'POST', url: `/admin/v1/accounts/${ctx.accountId}/keys`, payload: { name: scopes.join(' '), scopes } })
    return res.json().key as string
  }
  const reader = await create(['crm.objects.read'])
  const writer = await create(['crm.objects.write'])
  t.equal((await search('companies', {}, reader)).total, 5)
  expectError(t, await request({ method: 'POST', url: '/crm/v3/objects/companies/search', payload: {}, key: writer }), 403, 'MISSING_SCOPES')
  expectError(t, await request({ method: 'POST', url: '/crm/v3/objects/companies/search', payload: {}, key: null }), 401, 'INVALID_AUTHENTICATION')
})

t.test('tenancy: another account\'s records never match nor appear', async (t) => {
  const other = await createOtherAccount(ctx.app)
  const otherCtx: TestApp = { ...ctx, accountId: other.accountId }
  const company = await createRecord(otherCtx, 'companies', { name: 'Dragonfly Inn', industry: 'Hospitality', city: 'Stars Hollow' }, other.key)
  const contact = await createRecord(otherCtx, 'contacts', { email: 'luke@lukes-diner.com', firstname: 'Luke' }, other.key)
  const res = await request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/associations/default/companies/${company}`, key: other.key })
  t.equal(res.statusCode, 200)

  const mine = await search('contacts', { filterGroups: [{ filters: [eq('firstname', 'Luke')], associations: [companies('PRIMARY', [eq('industry', 'Hospitality')])] }] })
  t.same(ids(mine), [ct.luke], 'only my Luke')
  const theirs = await search('contacts', { filterGroups: [{ associations: [companies('PRIMARY', [eq('industry', 'Hospitality')])] }] }, other.key)
  t.same(ids(theirs), [contact], 'only their Luke')
  t.equal((await search('companies', {}, other.key)).total, 1)
  const label = await request({ method: 'POST', url: '/crm/v3/objects/contacts/search', payload: { associations: [companies('ANY', [], { associationTypeId: MANAGER })] }, key: other.key })
  expectError(t, label, 400, 'VALIDATION_ERROR')
})
