// Limits: the per-record cap (MAX_ASSOCIATIONS_PER_TYPE, here 5) on both sides of a pair, and configured limits
// (maxToObjectIds, C1-C5) on unlabeled and labelled types, checked on new associations only.
import t from 'tap'
import { build, type TestApp } from '../helpers/app.js'
import { createRecord, createRecords } from '../helpers/factories.js'
import { expectError } from '../helpers/assertions.js'

const CONTACTS = '0-1'
const COMPANIES = '0-2'
const DEALS = '0-3'

async function countOf (ta: TestApp, type: string, id: number, toType: string): Promise<number | undefined> {
  const r = await ta.app.db.selectFrom('association_counts').select('count')
    .where('account_id', '=', ta.accountId).where('from_type', '=', type).where('from_id', '=', id).where('to_type', '=', toType)
    .executeTakeFirst()
  return r?.count
}

async function edgesOf (ta: TestApp, id: number): Promise<Array<{ from_id: number, to_id: number, type_id: number }>> {
  return await ta.app.db.selectFrom('associations').select(['from_id', 'to_id', 'type_id']).where('account_id', '=', ta.accountId)
    .where((eb) => eb.or([eb('from_id', '=', id), eb('to_id', '=', id)])).orderBy('from_id').orderBy('to_id').orderBy('type_id').execute()
}

async function configured (ta: TestApp): Promise<Array<{ from_type: string, to_type: string, type_id: number, max_to_object_ids: number | null }>> {
  return await ta.app.db.selectFrom('association_types').select(['from_type', 'to_type', 'type_id', 'max_to_object_ids'])
    .where('account_id', '=', ta.accountId).where('max_to_object_ids', 'is not', null).orderBy('type_id').execute()
}

const spec = (associationTypeId: number, associationCategory = 'HUBSPOT_DEFINED'): { associationCategory: string, associationTypeId: number } => ({ associationCategory, associationTypeId })

const ta = await build(t, { MAX_ASSOCIATIONS_PER_TYPE: 5 })
const { request } = ta

t.test('per-record cap: the 6th company of a contact is refused, naming record, type and limit; nothing written', async (t) => {
  const contact = await createRecord(ta, 'contacts')
  const companies = await createRecords(ta, 'companies', 7)
  for (const company of companies.slice(0, 5)) {
    t.equal((await request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/associations/default/companies/${company}` })).statusCode, 200)
  }
  t.equal(await countOf(ta, CONTACTS, contact, COMPANIES), 5)
  const sixth = companies[5] as number
  const attempts = [
    { method: 'PUT' as const, url: `/crm/v4/objects/contacts/${contact}/associations/default/companies/${sixth}` },
    { method: 'PUT' as const, url: `/crm/v4/objects/contacts/${contact}/associations/companies/${sixth}`, payload: [spec(279)] },
    { method: 'POST' as const, url: `/crm/v4/objects/contacts/${contact}/associations/companies/${sixth}/labels`, payload: [spec(279)] },
    { method: 'PUT' as const, url: `/crm/v4/objects/contacts/${contact}/primary/companies/${sixth}` },
    { method: 'PUT' as const, url: `/crm/v4/objects/companies/${sixth}/associations/default/contacts/${contact}` }
  ]
  for (const attempt of attempts) {
    const body = expectError(t, await request(attempt), 400, 'LIMITS_ERROR')
    t.equal(body.message, `contacts ${contact} would exceed the limit of 5 associations to companies`, `${attempt.method} ${attempt.url}`)
    t.same(body.context, { objectType: [CONTACTS], objectId: [String(contact)], toObjectType: [COMPANIES], limit: ['5'] })
  }
  t.same(await edgesOf(ta, sixth), [], 'no row for the 6th company')
  t.equal(await countOf(ta, CONTACTS, contact, COMPANIES), 5)
  t.equal(await countOf(ta, COMPANIES, sixth, CONTACTS), undefined, 'no count row for the 6th company')
  const primary = await request({ method: 'GET', url: `/crm/v4/objects/contacts/${contact}/primary/companies` })
  t.equal(primary.json().toObjectId, companies[0], 'the refused set-primary did not demote the primary')

  // At the cap, existing pairs can still change labels; removing one frees a slot.
  t.equal((await request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/associations/companies/${companies[4]}`, payload: [spec(1)] })).statusCode, 201, 'an existing pair is not a new association')
  t.equal(await countOf(ta, CONTACTS, contact, COMPANIES), 5)
  t.equal((await request({ method: 'DELETE', url: `/crm/v4/objects/contacts/${contact}/associations/companies/${companies[0]}` })).statusCode, 204)
  t.equal((await request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/associations/default/companies/${sixth}` })).statusCode, 200)
  t.equal(await countOf(ta, CONTACTS, contact, COMPANIES), 5)
  expectError(t, await request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/associations/default/companies/${companies[6]}` }), 400, 'LIMITS_ERROR')
})

t.test('per-record cap on the other side: a company with 6 contacts', async (t) => {
  const company = await createRecord(ta, 'companies')
  const contacts = await createRecords(ta, 'contacts', 6)
  for (const contact of contacts.slice(0, 5)) {
    t.equal((await request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/associations/default/companies/${company}` })).statusCode, 200)
  }
  const last = contacts[5] as number
  const body = expectError(t, await request({ method: 'PUT', url: `/crm/v4/objects/contacts/${last}/associations/default/companies/${company}` }), 400, 'LIMITS_ERROR')
  t.equal(body.message, `companies ${company} would exceed the limit of 5 associations to contacts`, 'names the company, which is over its cap')
  t.same(body.context, { objectType: [COMPANIES], objectId: [String(company)], toObjectType: [CONTACTS], limit: ['5'] })
  t.same(await edgesOf(ta, last), [])
  t.equal(await countOf(ta, CONTACTS, last, COMPANIES), undefined)
  t.equal(await countOf(ta, COMPANIES, company, CONTACTS), 5)
  // The cap is per other object type: the company can still take deals.
  const deals = await createRecords(ta, 'deals', 5)
  for (const deal of deals) t.equal((await request({ method: 'PUT', url: `/crm/v4/objects/companies/${company}/associations/default/deals/${deal}` })).statusCode, 200)
  t.equal(await countOf(ta, COMPANIES, company, DEALS), 5)
})

t.test('C1-C5: create (201/207), list, update, purge', async (t) => {
  const [label] = (await request({ method: 'POST', url: '/crm/v4/associations/deals/contacts/labels', payload: { label: 'Billing contact', name: 'billing_contact' } })).json().results
  const base = '/crm/v4/associations/definitions/configurations'
  t.same((await request({ method: 'GET', url: `${base}/all` })).json(), { results: [] }, 'nothing configured yet')

  const created = await request({
    method: 'POST', url: `${base}/deals/contacts/batch/create`, payload: {
      inputs: [
        { category: 'HUBSPOT_DEFINED', typeId: 3, maxToObjectIds: 4 },
        { category: 'USER_DEFINED', typeId: label.typeId, maxToObjectIds: 1 }
      ]
    }
  })
  t.equal(created.statusCode, 201, created.body)
  t.match(created.json(), { status: 'COMPLETE', startedAt: String, completedAt: String })
  t.notOk('errors' in created.json())
  t.same(created.json().results, [
    { category: 'HUBSPOT_DEFINED', typeId: 3, label: null, userEnforcedMaxToObjectIds: 4 },
    { category: 'USER_DEFINED', typeId: label.typeId, label: 'Billing contact', userEnforcedMaxToObjectIds: 1 }
  ])
  t.same(await configured(ta), [
    { from_type: DEALS, to_type: CONTACTS, type_id: 3, max_to_object_ids: 4 },
    { from_type: DEALS, to_type: CONTACTS, type_id: label.typeId, max_to_object_ids: 1 }
  ].sort((a, b) => a.type_id - b.type_id))

  const partial = await request({
    method: 'POST', url: `${base}/contacts/companies/batch/create`, payload: {
      inputs: [
        { category: 'HUBSPOT_DEFINED', typeId: 1, maxToObjectIds: 6 },
        { category: 'HUBSPOT_DEFINED', typeId: 279, maxToObjectIds: 3 },
        { category: 'HUBSPOT_DEFINED', typeId: 3, maxToObjectIds: 1 },
        { category: 'USER_DEFINED', typeId: 279, maxToObjectIds: 1 },
        { category: 'HUBSPOT_DEFINED', typeId: 280, maxToObjectIds: 1 }
      ]
    }
  })
  t.equal(partial.statusCode, 207, partial.body)
  t.same(partial.json().results, [{ category: 'HUBSPOT_DEFINED', typeId: 279, label: null, userEnforcedMaxToObjectIds: 3 }])
  t.equal(partial.json().numErrors, 4)
  t.match(partial.json().errors, [
    { status: 'error', category: 'LIMITS_ERROR', message: /between 1 and 5/, context: { typeId: ['1'], maxToObjectIds: ['6'] } },
    { status: 'error', category: 'VALIDATION_ERROR', subCategory: 'crm.associations.INVALID_ASSOCIATION_TYPE', message: /not a valid association type between contacts and companies/, context: { typeId: ['3'] } },
    { status: 'error', category: 'VALIDATION_ERROR', context: { typeId: ['279'], category: ['USER_DEFINED'] } },
    { status: 'error', category: 'VALIDATION_ERROR', context: { typeId: ['280'] } }
  ])
  t.same((await configured(ta)).filter((r) => r.from_type === CONTACTS), [{ from_type: CONTACTS, to_type: COMPANIES, type_id: 279, max_to_object_ids: 3 }], 'only the valid input was written')

  const again = await request({ method: 'POST', url: `${base}/contacts/companies/batch/create`, payload: { inputs: [{ category: 'HUBSPOT_DEFINED', typeId: 279, maxToObjectIds: 2 }] } })
  t.equal(again.statusCode, 207)
  t.match(again.json().errors[0].message, /already configured/)
  const labelOverType = await request({ method: 'POST', url: `${base}/contacts/companies/batch/create`, payload: { inputs: [{ category: 'HUBSPOT_DEFINED', typeId: 1, maxToObjectIds: 4 }] } })
  t.equal(labelOverType.statusCode, 207, 'a label limit above the object limit (3) is refused')
  t.match(labelOverType.json().errors[0].message, /between 1 and 3/)
  t.same((await configured(ta)).filter((r) => r.type_id === 1), [])

  const all = await request({ method: 'GET', url: `${base}/all` })
  t.equal(all.statusCode, 200)
  t.same(all.json().results, [
    { category: 'HUBSPOT_DEFINED', typeId: 279, label: null, userEnforcedMaxToObjectIds: 3 },
    { category: 'HUBSPOT_DEFINED', typeId: 3, label: null, userEnforcedMaxToObjectIds: 4 },
    { category: 'USER_DEFINED', typeId: label.typeId, label: 'Billing contact', userEnforcedMaxToObjectIds: 1 }
  ])
  const pair = await request({ method: 'GET', url: `${base}/deals/contacts` })
  t.same(pair.json().results.map((r: { typeId: number }) => r.typeId), [3, label.typeId])
  t.same((await request({ method: 'GET', url: `${base}/contacts/deals` })).json(), { results: [] }, 'limits are per direction')
  t.same((await request({ method: 'GET', url: '/crm/associations/v4/definitions/configurations/contacts/companies' })).json().results.map((r: { typeId: number }) => r.typeId), [279], 'the alias answers')

  const updated = await request({ method: 'POST', url: `${base}/deals/contacts/batch/update`, payload: { inputs: [{ category: 'HUBSPOT_DEFINED', typeId: 3, maxToObjectIds: 2 }] } })
  t.equal(updated.statusCode, 200, updated.body)
  t.same(updated.json().results, [{ category: 'HUBSPOT_DEFINED', typeId: 3, userEnforcedMaxToObjectIds: 2 }])
  const updateBad = await request({ method: 'POST', url: `${base}/deals/contacts/batch/update`, payload: { inputs: [{ category: 'HUBSPOT_DEFINED', typeId: 3, maxToObjectIds: 500 }, { category: 'USER_DEFINED', typeId: label.typeId, maxToObjectIds: 2 }] } })
  t.equal(updateBad.statusCode, 207)
  t.equal(updateBad.json().numErrors, 1)
  t.match(updateBad.json().errors[0], { category: 'LIMITS_ERROR', message: /between 1 and 5/ })
  t.same((await configured(ta)).filter((r) => r.from_type === DEALS).map((r) => [r.type_id, r.max_to_object_ids]), [[3, 2], [label.typeId, 2]])

  t.equal((await request({ method: 'POST', url: `${base}/deals/contacts/batch/purge`, payload: { inputs: [{ category: 'HUBSPOT_DEFINED', typeId: 3 }] } })).statusCode, 204)
  t.same((await configured(ta)).filter((r) => r.from_type === DEALS).map((r) => r.type_id), [label.typeId])
  expectError(t, await request({ method: 'POST', url: `${base}/deals/contacts/batch/purge`, payload: { inputs: [{ category: 'HUBSPOT_DEFINED', typeId: 279 }] } }), 400, 'VALIDATION_ERROR')
  expectError(t, await request({ method: 'POST', url: `${base}/deals/contacts/batch/create`, payload: { inputs: [] } }), 400, 'VALIDATION_ERROR')
  expectError(t, await request({ method: 'POST', url: `${base}/deals/contacts/batch/create`, payload: { inputs: [{ category: 'HUBSPOT_DEFINED', typeId: 3, maxToObjectIds: 0 }] } }), 400, 'VALIDATION_ERROR')
  t.equal((await request({ method: 'POST', url: `${base}/contacts/companies/batch/purge`, payload: { inputs: [{ category: 'HUBSPOT_DEFINED', typeId: 279 }] } })).statusCode, 204)
  t.equal((await request({ method: 'POST', url: `${base}/deals/contacts/batch/purge`, payload: { inputs: [{ category: 'USER_DEFINED', typeId: label.typeId }] } })).statusCode, 204)
  t.same(await configured(ta), [])
  t.same((await request({ method: 'GET', url: `${base}/all` })).json(), { results: [] })
})

t.test('a label limit (max 1 "Approver" per deal) blocks the second; lowering a limit is not retroactive', async (t) => {
  const [approver] = (await request({ method: 'POST', url: '/crm/v4/associations/deals/contacts/labels', payload: { label: 'Approver', name: 'approver' } })).json().results
  const base = '/crm/v4/associations/definitions/configurations/deals/contacts'
  t.equal((await request({ method: 'POST', url: `${base}/batch/create`, payload: { inputs: [{ category: 'USER_DEFINED', typeId: approver.typeId, maxToObjectIds: 1 }] } })).statusCode, 201)
  const deal = await createRecord(ta, 'deals')
  const [c1, c2, c3] = await createRecords(ta, 'contacts', 3) as [number, number, number]
  const labelled = [spec(approver.typeId, 'USER_DEFINED')]
  t.equal((await request({ method: 'PUT', url: `/crm/v4/objects/deals/${deal}/associations/contacts/${c1}`, payload: labelled })).statusCode, 201)
  const second = expectError(t, await request({ method: 'PUT', url: `/crm/v4/objects/deals/${deal}/associations/contacts/${c2}`, payload: labelled }), 400, 'LIMITS_ERROR')
  t.equal(second.message, `deals ${deal} would exceed the limit of 1 associations labelled 'Approver' to contacts`)
  t.same(second.context, { objectType: [DEALS], objectId: [String(deal)], toObjectType: [CONTACTS], limit: ['1'] })
  t.same(await edgesOf(ta, c2), [], 'the refused pair was not associated either')
  t.equal(await countOf(ta, DEALS, deal, CONTACTS), 1)

  // Unlabeled is fine; adding the label to that pair is not.
  t.equal((await request({ method: 'PUT', url: `/crm/v4/objects/deals/${deal}/associations/default/contacts/${c2}` })).statusCode, 200)
  expectError(t, await request({ method: 'POST', url: `/crm/v4/objects/deals/${deal}/associations/contacts/${c2}/labels`, payload: labelled }), 400, 'LIMITS_ERROR')
  t.same((await edgesOf(ta, c2)).map((e) => e.type_id).sort((a, b) => a - b), [3, 4])
  // The limit is per deal: another deal can have its own approver, even the same contact.
  const deal2 = await createRecord(ta, 'deals')
  t.equal((await request({ method: 'PUT', url: `/crm/v4/objects/deals/${deal2}/associations/contacts/${c1}`, payload: labelled })).statusCode, 201)

  // Raise to 2, label c2; lower to 1: both stay, a third is refused.
  t.equal((await request({ method: 'POST', url: `${base}/batch/update`, payload: { inputs: [{ category: 'USER_DEFINED', typeId: approver.typeId, maxToObjectIds: 2 }] } })).statusCode, 200)
  t.equal((await request({ method: 'POST', url: `/crm/v4/objects/deals/${deal}/associations/contacts/${c2}/labels`, payload: labelled })).statusCode, 200)
  t.equal((await request({ method: 'POST', url: `${base}/batch/update`, payload: { inputs: [{ category: 'USER_DEFINED', typeId: approver.typeId, maxToObjectIds: 1 }] } })).statusCode, 200)
  const approvers = await request({ method: 'GET', url: `/crm/v4/objects/deals/${deal}/associations/contacts?associationTypeId=${approver.typeId}` })
  t.same(approvers.json().results.map((r: { toObjectId: number }) => r.toObjectId), [c1, c2], 'existing associations above the new limit stay')
  t.equal((await request({ method: 'PUT', url: `/crm/v4/objects/deals/${deal}/associations/contacts/${c1}`, payload: labelled })).statusCode, 201, 're-sending an existing label is not a new association')
  expectError(t, await request({ method: 'PUT', url: `/crm/v4/objects/deals/${deal}/associations/contacts/${c3}`, payload: labelled }), 400, 'LIMITS_ERROR')
  t.same(await edgesOf(ta, c3), [])
  // Purged: the type falls back to the per-record cap.
  t.equal((await request({ method: 'POST', url: `${base}/batch/purge`, payload: { inputs: [{ category: 'USER_DEFINED', typeId: approver.typeId }] } })).statusCode, 204)
  t.equal((await request({ method: 'PUT', url: `/crm/v4/objects/deals/${deal}/associations/contacts/${c3}`, payload: labelled })).statusCode, 201)
})

t.test('a limit on the unlabeled type caps one direction only', async (t) => {
  const base = '/crm/v4/associations/definitions/configurations/contacts/deals'
  t.equal((await request({ method: 'POST', url: `${base}/batch/create`, payload: { inputs: [{ category: 'HUBSPOT_DEFINED', typeId: 4, maxToObjectIds: 2 }] } })).statusCode, 201)
  const contact = await createRecord(ta, 'contacts')
  const deals = await createRecords(ta, 'deals', 3)
  for (const deal of deals.slice(0, 2)) t.equal((await request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/associations/default/deals/${deal}` })).statusCode, 200)
  const over = expectError(t, await request({ method: 'PUT', url: `/crm/v4/objects/deals/${deals[2]}/associations/default/contacts/${contact}` }), 400, 'LIMITS_ERROR')
  t.equal(over.message, `contacts ${contact} would exceed the limit of 2 associations to deals`)
  t.equal(await countOf(ta, CONTACTS, contact, DEALS), 2)
  const deal = deals[0] as number
  const contacts = await createRecords(ta, 'contacts', 3)
  for (const c of contacts) t.equal((await request({ method: 'PUT', url: `/crm/v4/objects/deals/${deal}/associations/default/contacts/${c}` })).statusCode, 200, 'deal -> contact is not limited')
  t.equal(await countOf(ta, DEALS, deal, CONTACTS), 4)
  t.equal((await request({ method: 'POST', url: `${base}/batch/purge`, payload: { inputs: [{ category: 'HUBSPOT_DEFINED', typeId: 4 }] } })).statusCode, 204)
})
