// Record-level associations (B1-B4), the primary company, listing by label, archive cascade and tenancy, through
// app.inject; every write is checked in the associations and association_counts tables as well as on the wire.
import t from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { sql } from 'kysely'
import { build, createOtherAccount, type TestApp } from '../helpers/app.js'
import { createRecord, createRecords } from '../helpers/factories.js'
import { expectError } from '../helpers/assertions.js'

const CONTACTS = '0-1'
const COMPANIES = '0-2'
const DEALS = '0-3'
const TICKETS = '0-5'

/** Every association row touching one of `ids` (of any type), as `from:id>to:id#type` (with `*` when primary), sorted. */
async function rowsOf (ta: TestApp, ids: number[]): Promise<string[]> {
  const rows = await ta.app.db.selectFrom('associations').selectAll()
    .where('account_id', '=', ta.accountId)
    .where((eb) => eb.or([eb('from_id', 'in', ids), eb('to_id', 'in', ids)]))
    .execute()
  return rows.map((r) => `${r.from_type}:${r.from_id}>${r.to_type}:${r.to_id}#${r.type_id}${r.is_primary ? '*' : ''}`).sort()
}

function typeOfRow (r: string): number {
  return Number(/#(\d+)\*?$/.exec(r)?.[1])
}

function row (fromType: string, fromId: number, toType: string, toId: number, typeId: number, primary = false): string {
  return `${fromType}:${fromId}>${toType}:${toId}#${typeId}${primary ? '*' : ''}`
}

/** The association_counts value of a record toward a type; undefined when the row does not exist. */
async function countOf (ta: TestApp, type: string, id: number, toType: string): Promise<number | undefined> {
  const r = await ta.app.db.selectFrom('association_counts').select('count')
    .where('account_id', '=', ta.accountId).where('from_type', '=', type).where('from_id', '=', id).where('to_type', '=', toType)
    .executeTakeFirst()
  return r?.count
}

async function totals (ta: TestApp): Promise<{ edges: number, counts: string }> {
  const edges = await ta.app.db.selectFrom('associations').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
  const counts = await ta.app.db.selectFrom('association_counts').select(['from_type', 'from_id', 'to_type', 'count']).orderBy('from_type').orderBy('from_id').orderBy('to_type').execute()
  return { edges: Number(edges.n), counts: JSON.stringify(counts) }
}

const spec = (associationTypeId: number, associationCategory = 'HUBSPOT_DEFINED'): { associationCategory: string, associationTypeId: number } => ({ associationCategory, associationTypeId })

async function createLabel (ta: TestApp, from: string, to: string, body: Record<string, string>): Promise<Array<{ category: string, typeId: number, label: string }>> {
  const res = await ta.request({ method: 'POST', url: `/crm/v4/associations/${from}/${to}/labels`, payload: body })
  if (res.statusCode !== 200) throw new Error(`label creation failed: ${res.statusCode} ${res.body}`)
  return res.json().results
}

/** The from -> to type id of a label created from `from` to `to` (the lower id is the from -> to one). */
async function labelType (ta: TestApp, fromType: string, toType: string, label: string): Promise<number> {
  const r = await ta.app.db.selectFrom('association_types').select('type_id')
    .where('account_id', '=', ta.accountId).where('from_type', '=', fromType).where('to_type', '=', toType).where('label', '=', label)
    .executeTakeFirstOrThrow()
  return r.type_id
}

const ta = await build(t)
const { request } = ta

t.test('B2 default association: both directions, first company primary', async (t) => {
  const contact = await createRecord(ta, 'contacts', { email: 'luke@example.com' })
  const company = await createRecord(ta, 'companies', { domain: 'lukes.example' })
  const res = await request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/associations/default/companies/${company}` })
  t.equal(res.statusCode, 200, res.body)
  t.equal(res.headers['content-type'], 'application/json;charset=utf-8')
  t.match(res.json(), { status: 'COMPLETE', startedAt: String, completedAt: String })
  t.same(res.json().results, [
    { from: { id: String(contact) }, to: { id: String(company) }, associationSpec: { associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 279 } },
    { from: { id: String(company) }, to: { id: String(contact) }, associationSpec: { associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 280 } }
  ])
  t.same(await rowsOf(ta, [contact]), [
    row(CONTACTS, contact, COMPANIES, company, 1, true), row(CONTACTS, contact, COMPANIES, company, 279),
    row(COMPANIES, company, CONTACTS, contact, 2), row(COMPANIES, company, CONTACTS, contact, 280)
  ].sort(), 'unlabeled and primary rows, both directions; is_primary only on the contact -> company primary row')

  const list = await request({ method: 'GET', url: `/crm/v4/objects/contacts/${contact}/associations/companies` })
  t.equal(list.statusCode, 200, list.body)
  t.same(list.json(), {
    results: [{
      toObjectId: company, associationTypes: [
        { category: 'HUBSPOT_DEFINED', typeId: 1, label: 'Primary' },
        { category: 'HUBSPOT_DEFINED', typeId: 279, label: null }
      ]
    }]
  })
  const back = await request({ method: 'GET', url: `/crm/v4/objects/companies/${company}/associations/contacts` })
  t.same(back.json(), {
    results: [{
      toObjectId: contact, associationTypes: [
        { category: 'HUBSPOT_DEFINED', typeId: 2, label: 'Primary' },
        { category: 'HUBSPOT_DEFINED', typeId: 280, label: null }
      ]
    }]
  })

  const company2 = await createRecord(ta, 'companies', { domain: 'dragonfly.example' })
  const res2 = await request({ method: 'PUT', url: `/crm/v4/objects/contact/${contact}/associations/default/company/${company2}` })
  t.equal(res2.statusCode, 200)
  const primary = await request({ method: 'GET', url: `/crm/v4/objects/contacts/${contact}/primary/companies` })
  t.equal(primary.json().toObjectId, company, 'the first company stays primary')
  t.same(await rowsOf(ta, [company2]), [row(CONTACTS, contact, COMPANIES, company2, 279), row(COMPANIES, company2, CONTACTS, contact, 280)].sort())
  t.equal(await countOf(ta, CONTACTS, contact, COMPANIES), 2)
  t.equal(await countOf(ta, COMPANIES, company, CONTACTS), 1)
  t.equal(await countOf(ta, COMPANIES, company2, CONTACTS), 1)

  // Idempotent: the same default association again writes nothing new and counts nothing twice.
  const again = await request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/associations/default/companies/${company2}` })
  t.equal(again.statusCode, 200)
  t.equal(await countOf(ta, CONTACTS, contact, COMPANIES), 2)
  t.equal((await rowsOf(ta, [company2])).length, 2)

  // Every standard pair: the unlabeled type and its inverse, both reported.
  const deal = await createRecord(ta, 'deals')
  const ticket = await createRecord(ta, 'tickets')
  const contact2 = await createRecord(ta, 'contacts')
  for (const [from, fromId, to, toId, typeId, inverse] of [
    ['contacts', contact, 'deals', deal, 4, 3], ['contacts', contact, 'tickets', ticket, 15, 16], ['deals', deal, 'tickets', ticket, 27, 28],
    ['deals', deal, 'companies', company2, 341, 342], ['tickets', ticket, 'companies', company2, 339, 340], ['contacts', contact, 'contacts', contact2, 449, 449]
  ] as const) {
    const r = await request({ method: 'PUT', url: `/crm/v4/objects/${from}/${fromId}/associations/default/${to}/${toId}` })
    t.equal(r.statusCode, 200, `${from} -> ${to}`)
    t.same(r.json().results.map((x: { associationSpec: { associationTypeId: number } }) => x.associationSpec.associationTypeId), [typeId, inverse], `${from} -> ${to} reports ${typeId}/${inverse}`)
  }
  t.same((await rowsOf(ta, [contact2])), [row(CONTACTS, contact, CONTACTS, contact2, 449), row(CONTACTS, contact2, CONTACTS, contact, 449)].sort(), 'same-type: one symmetric type, both rows')
  t.equal(await countOf(ta, CONTACTS, contact2, CONTACTS), 1)
  t.equal(await countOf(ta, CONTACTS, contact, CONTACTS), 1)
})

t.test('B1 label sets: the body replaces labels, keeps unlabeled and primary; numeric ids; 201', async (t) => {
  const [a] = await createLabel(ta, 'contacts', 'companies', { label: 'Decision maker', name: 'decision_maker' })
  const [b] = await createLabel(ta, 'contacts', 'companies', { label: 'Billing contact', name: 'billing_contact' })
  const aBack = await labelType(ta, COMPANIES, CONTACTS, 'Decision maker')
  const bBack = await labelType(ta, COMPANIES, CONTACTS, 'Billing contact')
  const contact = await createRecord(ta, 'contacts')
  const company = await createRecord(ta, 'companies')
  const url = `/crm/v4/objects/contacts/${contact}/associations/companies/${company}`

  const first = await request({ method: 'PUT', url, payload: [spec(a!.typeId, 'USER_DEFINED')] })
  t.equal(first.statusCode, 201, first.body)
  t.equal(first.headers['content-type'], 'application/json;charset=utf-8')
  t.strictSame(first.json(), { fromObjectTypeId: '0-1', fromObjectId: contact, toObjectTypeId: '0-2', toObjectId: company, labels: ['Primary', 'Decision maker'] })
  t.equal(typeof first.json().fromObjectId, 'number')
  t.equal(typeof first.json().toObjectId, 'number')
  t.same(await rowsOf(ta, [contact]), [
    row(CONTACTS, contact, COMPANIES, company, 1, true), row(CONTACTS, contact, COMPANIES, company, 279), row(CONTACTS, contact, COMPANIES, company, a!.typeId),
    row(COMPANIES, company, CONTACTS, contact, 2), row(COMPANIES, company, CONTACTS, contact, 280), row(COMPANIES, company, CONTACTS, contact, aBack)
  ].sort(), 'the label implies the unlabeled type; the first company is primary')

  const second = await request({ method: 'PUT', url, payload: [spec(b!.typeId, 'USER_DEFINED')] })
  t.equal(second.statusCode, 201, second.body)
  t.same(second.json().labels, ['Primary', 'Billing contact'], 'only B remains; the primary is never removed implicitly')
  t.same(await rowsOf(ta, [contact]), [
    row(CONTACTS, contact, COMPANIES, company, 1, true), row(CONTACTS, contact, COMPANIES, company, 279), row(CONTACTS, contact, COMPANIES, company, b!.typeId),
    row(COMPANIES, company, CONTACTS, contact, 2), row(COMPANIES, company, CONTACTS, contact, 280), row(COMPANIES, company, CONTACTS, contact, bBack)
  ].sort())

  const both = await request({ method: 'PUT', url, payload: [spec(a!.typeId, 'USER_DEFINED'), spec(b!.typeId, 'USER_DEFINED')] })
  t.same(both.json().labels, ['Primary', 'Decision maker', 'Billing contact'], 'old and new together append')
  const onlyUnlabeled = await request({ method: 'PUT', url, payload: [spec(279)] })
  t.equal(onlyUnlabeled.statusCode, 201)
  t.same(onlyUnlabeled.json().labels, ['Primary'], 'sending only the unlabeled type clears the labels, not the primary')
  t.same(await rowsOf(ta, [contact]), [
    row(CONTACTS, contact, COMPANIES, company, 1, true), row(CONTACTS, contact, COMPANIES, company, 279),
    row(COMPANIES, company, CONTACTS, contact, 2), row(COMPANIES, company, CONTACTS, contact, 280)
  ].sort())
  t.equal(await countOf(ta, CONTACTS, contact, COMPANIES), 1, 'a pair counts once, whatever its labels')
  t.equal(await countOf(ta, COMPANIES, company, CONTACTS), 1)

  // From the other side with the inverse type ids: the same pair.
  const fromCompany = await request({ method: 'PUT', url: `/crm/v4/objects/companies/${company}/associations/contacts/${contact}`, payload: [spec(bBack, 'USER_DEFINED')] })
  t.equal(fromCompany.statusCode, 201, fromCompany.body)
  t.same(fromCompany.json(), { fromObjectTypeId: '0-2', fromObjectId: company, toObjectTypeId: '0-1', toObjectId: contact, labels: ['Primary', 'Billing contact'] })
  const seenFromContact = await request({ method: 'GET', url: `/crm/v4/objects/contacts/${contact}/associations/companies` })
  t.same(seenFromContact.json().results[0].associationTypes, [
    { category: 'HUBSPOT_DEFINED', typeId: 1, label: 'Primary' },
    { category: 'USER_DEFINED', typeId: b!.typeId, label: 'Billing contact' },
    { category: 'HUBSPOT_DEFINED', typeId: 279, label: null }
  ], 'reads from either side agree')
  t.equal(await countOf(ta, CONTACTS, contact, COMPANIES), 1)

  // A pair without a primary (deal -> contact): replace works the same, nothing else appears.
  const [d1] = await createLabel(ta, 'deals', 'contacts', { label: 'Champion', name: 'champion' })
  const [d2] = await createLabel(ta, 'deals', 'contacts', { label: 'Blocker', name: 'blocker' })
  const deal = await createRecord(ta, 'deals')
  const dealUrl = `/crm/v4/objects/deals/${deal}/associations/contacts/${contact}`
  t.same((await request({ method: 'PUT', url: dealUrl, payload: [spec(d1!.typeId, 'USER_DEFINED')] })).json().labels, ['Champion'])
  t.same((await request({ method: 'PUT', url: dealUrl, payload: [spec(d2!.typeId, 'USER_DEFINED')] })).json().labels, ['Blocker'])
  t.same(await rowsOf(ta, [deal]), [
    row(DEALS, deal, CONTACTS, contact, 3), row(DEALS, deal, CONTACTS, contact, d2!.typeId),
    row(CONTACTS, contact, DEALS, deal, 4), row(CONTACTS, contact, DEALS, deal, await labelType(ta, CONTACTS, DEALS, 'Blocker'))
  ].sort())
})

t.test('B1 validation: invalid, wrong-direction, duplicate, self, empty: 4xx and nothing written', async (t) => {
  const contact = await createRecord(ta, 'contacts')
  const company = await createRecord(ta, 'companies')
  const contact2 = await createRecord(ta, 'contacts')
  const url = `/crm/v4/objects/contacts/${contact}/associations/companies/${company}`
  const before = await totals(ta)

  const wrongDirection = expectError(t, await request({ method: 'PUT', url, payload: [spec(280)] }), 400, 'VALIDATION_ERROR')
  t.equal(wrongDirection.message, 'One or more associations are invalid')
  t.same(wrongDirection.context.associationSpec, ['HUBSPOT_DEFINED=280'])
  t.match(wrongDirection.context.INVALID_ASSOCIATION_TYPE_ID, [/HUBSPOT_DEFINED=280 is the companies -> contacts direction; use 279/])

  const primaryWrongWay = expectError(t, await request({ method: 'PUT', url, payload: [spec(2)] }), 400, 'VALIDATION_ERROR')
  t.equal(primaryWrongWay.message, 'One or more associations are invalid')

  const otherPair = expectError(t, await request({ method: 'PUT', url, payload: [spec(341)] }), 400, 'VALIDATION_ERROR')
  t.equal(otherPair.message, 'One or more associations are invalid', 'a deal -> company type on contact -> company')
  t.match(otherPair.context.INVALID_ASSOCIATION_TYPE_ID, ['HUBSPOT_DEFINED=341 is not a valid association definition id from contacts to companies'])

  const unknown = expectError(t, await request({ method: 'PUT', url, payload: [spec(999999, 'USER_DEFINED')] }), 400, 'VALIDATION_ERROR')
  t.equal(unknown.message, 'One or more associations are invalid')
  t.same(unknown.context.associationSpec, ['USER_DEFINED=999999'])

  const wrongCategory = expectError(t, await request({ method: 'PUT', url, payload: [spec(279, 'USER_DEFINED')] }), 400, 'VALIDATION_ERROR')
  t.equal(wrongCategory.message, 'One or more associations are invalid')
  t.match(wrongCategory.context.INVALID_ASSOCIATION_TYPE_ID, ['USER_DEFINED=279 has category HUBSPOT_DEFINED'])

  const mixed = expectError(t, await request({ method: 'PUT', url, payload: [spec(279), spec(3)] }), 400, 'VALIDATION_ERROR')
  t.equal(mixed.message, 'One or more associations are invalid', 'one bad spec fails the whole set')

  const duplicate = expectError(t, await request({ method: 'PUT', url, payload: [spec(279), spec(279)] }), 400, 'VALIDATION_ERROR')
  t.match(duplicate.message, /listed twice/)

  expectError(t, await request({ method: 'PUT', url, payload: [] }), 400, 'VALIDATION_ERROR')
  expectError(t, await request({ method: 'PUT', url, payload: { associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 279 } }), 400, 'VALIDATION_ERROR')
  expectError(t, await request({ method: 'PUT', url, payload: [{ associationTypeId: 279 }] }), 400, 'VALIDATION_ERROR')
  expectError(t, await request({ method: 'PUT', url, payload: ['contact_to_company'] }), 400, 'VALIDATION_ERROR')
  expectError(t, await request({ method: 'PUT', url, payload: [spec(279, 'SOMEONE_DEFINED')] }), 400, 'VALIDATION_ERROR')
  expectError(t, await request({ method: 'PUT', url }), 400, 'VALIDATION_ERROR')

  const self = expectError(t, await request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/associations/contacts/${contact}`, payload: [spec(449)] }), 400, 'VALIDATION_ERROR')
  t.match(self.message, /cannot be associated with itself/)
  expectError(t, await request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/associations/default/contacts/${contact}` }), 400, 'VALIDATION_ERROR')
  expectError(t, await request({ method: 'POST', url: `/crm/v4/objects/contacts/${contact}/associations/contacts/${contact}/labels`, payload: [spec(449)] }), 400, 'VALIDATION_ERROR')

  const missing = expectError(t, await request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/associations/companies/987654321`, payload: [spec(279)] }), 404, 'OBJECT_NOT_FOUND')
  t.equal(missing.message, 'No company with ID 987654321 exists')
  t.same(missing.context, { objectType: [COMPANIES], objectId: ['987654321'] })
  const missingFrom = expectError(t, await request({ method: 'PUT', url: `/crm/v4/objects/contacts/987654322/associations/default/companies/${company}` }), 404, 'OBJECT_NOT_FOUND')
  t.equal(missingFrom.message, 'No contact with ID 987654322 exists')
  const bothMissing = expectError(t, await request({ method: 'PUT', url: '/crm/v4/objects/contacts/987654323/associations/default/companies/987654324' }), 404, 'OBJECT_NOT_FOUND')
  t.match(bothMissing.message, /987654323.*987654324/)
  const wrongType = expectError(t, await request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/associations/default/companies/${contact2}` }), 404, 'OBJECT_NOT_FOUND')
  t.equal(wrongType.message, `No company with ID ${contact2} exists`, 'a contact id is not a company id')

  // Another account's record is not found, never associated.
  const other = await createOtherAccount(ta.app)
  const foreign = await createRecord(ta, 'companies', {}, other.key)
  const foreignRes = expectError(t, await request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/associations/default/companies/${foreign}` }), 404, 'OBJECT_NOT_FOUND')
  t.equal(foreignRes.message, `No company with ID ${foreign} exists`)

  // Archived records cannot be associated.
  const archived = await createRecord(ta, 'companies')
  t.equal((await request({ method: 'DELETE', url: `/crm/v3/objects/companies/${archived}` })).statusCode, 204)
  const archivedRes = expectError(t, await request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/associations/companies/${archived}`, payload: [spec(279)] }), 404, 'OBJECT_NOT_FOUND')
  t.equal(archivedRes.message, `No company with ID ${archived} exists`)

  expectError(t, await request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/associations/widgets/${company}`, payload: [spec(279)] }), 400, 'VALIDATION_ERROR')
  expectError(t, await request({ method: 'PUT', url: `/crm/v4/objects/contacts/abc/associations/companies/${company}`, payload: [spec(279)] }), 400, 'VALIDATION_ERROR')

  t.same(await totals(ta), before, 'no association row and no count changed')
})

t.test('B3 DELETE removes every type, both directions, and decrements both counts', async (t) => {
  const [label] = await createLabel(ta, 'tickets', 'companies', { label: 'Vendor', name: 'vendor', inverseLabel: 'Customer ticket' })
  const ticket = await createRecord(ta, 'tickets')
  const company = await createRecord(ta, 'companies')
  const company2 = await createRecord(ta, 'companies')
  t.equal((await request({ method: 'PUT', url: `/crm/v4/objects/tickets/${ticket}/associations/companies/${company}`, payload: [spec(label!.typeId, 'USER_DEFINED')] })).statusCode, 201)
  t.equal((await request({ method: 'PUT', url: `/crm/v4/objects/tickets/${ticket}/associations/default/companies/${company2}` })).statusCode, 200)
  t.equal((await rowsOf(ta, [company])).length, 6, 'unlabeled, primary (26/25) and the label, both ways')
  t.ok((await rowsOf(ta, [company])).includes(row(TICKETS, ticket, COMPANIES, company, 26, true)), 'first company of a ticket is primary (26)')
  t.equal(await countOf(ta, TICKETS, ticket, COMPANIES), 2)

  const del = await request({ method: 'DELETE', url: `/crm/v4/objects/tickets/${ticket}/associations/companies/${company}` })
  t.equal(del.statusCode, 204)
  t.equal(del.body, '')
  t.same(await rowsOf(ta, [company]), [], 'every row of the pair is gone')
  t.same(await rowsOf(ta, [company2]), [row(TICKETS, ticket, COMPANIES, company2, 339), row(COMPANIES, company2, TICKETS, ticket, 340)].sort(), 'other pairs stay, not promoted to primary')
  t.equal(await countOf(ta, TICKETS, ticket, COMPANIES), 1)
  t.equal(await countOf(ta, COMPANIES, company, TICKETS), 0)

  const list = await request({ method: 'GET', url: `/crm/v4/objects/companies/${company}/associations/tickets` })
  t.same(list.json(), { results: [] }, 'an empty list is 200, not an error')

  // Deleting a pair that is not associated is a no-op 204 and changes no count; from the other side too.
  const before = await totals(ta)
  t.equal((await request({ method: 'DELETE', url: `/crm/v4/objects/companies/${company}/associations/tickets/${ticket}` })).statusCode, 204)
  t.same(await totals(ta), before)
  t.equal((await request({ method: 'DELETE', url: `/crm/v4/objects/companies/${company2}/associations/tickets/${ticket}` })).statusCode, 204)
  t.same(await rowsOf(ta, [ticket]), [])
  t.equal(await countOf(ta, TICKETS, ticket, COMPANIES), 0)
  t.equal(await countOf(ta, COMPANIES, company2, TICKETS), 0)
  expectError(t, await request({ method: 'DELETE', url: `/crm/v4/objects/tickets/${ticket}/associations/companies/987654321` }), 404, 'OBJECT_NOT_FOUND')
})

t.test('B4 paging: keyset cursor walks every record once; limits; forged cursors', async (t) => {
  const contact = await createRecord(ta, 'contacts')
  const companies = await createRecords(ta, 'companies', 7)
  for (const company of companies) {
    t.equal((await request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/associations/default/companies/${company}` })).statusCode, 200)
  }
  const seen: number[] = []
  let after: string | undefined
  const pages: number[] = []
  for (let i = 0; i < 10; i++) {
    const res = await request({ method: 'GET', url: `/crm/v4/objects/contacts/${contact}/associations/companies?limit=3${after !== undefined ? `&after=${encodeURIComponent(after)}` : ''}` })
    t.equal(res.statusCode, 200, res.body)
    const body = res.json()
    pages.push(body.results.length)
    seen.push(...body.results.map((r: { toObjectId: number }) => r.toObjectId))
    for (const r of body.results) t.ok(r.associationTypes.some((x: { typeId: number, label: unknown }) => x.typeId === 279 && x.label === null), 'every item carries the unlabeled type')
    if (body.paging === undefined) {
      t.notOk('paging' in body, 'paging absent on the last page')
      break
    }
    t.type(body.paging.next.after, 'string')
    after = body.paging.next.after
  }
  t.same(pages, [3, 3, 1])
  t.same(seen, [...companies].sort((a, b) => a - b), 'each company exactly once, in id order')

  const all = await request({ method: 'GET', url: `/crm/v4/objects/contacts/${contact}/associations/companies` })
  t.equal(all.json().results.length, 7)
  t.notOk('paging' in all.json())
  const exact = await request({ method: 'GET', url: `/crm/v4/objects/contacts/${contact}/associations/companies?limit=7` })
  t.equal(exact.json().results.length, 7)
  t.notOk('paging' in exact.json(), 'no next page when the page is exactly full')

  for (const limit of ['0', '501', '-1', 'abc', '2.5']) {
    expectError(t, await request({ method: 'GET', url: `/crm/v4/objects/contacts/${contact}/associations/companies?limit=${limit}` }), 400, 'VALIDATION_ERROR')
  }
  const forged = [
    'abc', 'not-a-cursor!', Buffer.from('{"v":1,"to":-5}').toString('base64url'), Buffer.from('{"v":2,"to":5}').toString('base64url'),
    Buffer.from('{"v":1,"to":"5"}').toString('base64url'), Buffer.from('{"v":1}').toString('base64url'), Buffer.from('[1]').toString('base64url'),
    Buffer.from('{"v":1,"to":1e300}').toString('base64url')
  ]
  for (const cursor of forged) {
    const res = expectError(t, await request({ method: 'GET', url: `/crm/v4/objects/contacts/${contact}/associations/companies?after=${encodeURIComponent(cursor)}` }), 400, 'VALIDATION_ERROR')
    t.match(res.message, /Invalid paging cursor/)
  }

  const unknownRecord = expectError(t, await request({ method: 'GET', url: '/crm/v4/objects/contacts/987654321/associations/companies' }), 404, 'OBJECT_NOT_FOUND')
  t.equal(unknownRecord.message, 'No contact with ID 987654321 exists')
})

t.test('B4 default and maximum page size are 500', async (t) => {
  const contact = await createRecord(ta, 'contacts')
  // 501 edges written directly (the listing reads edges only): 501 companies through the API would be slow.
  const ids = Array.from({ length: 501 }, (_, i) => 5_000_000 + i)
  await sql`insert into associations (account_id, from_type, from_id, to_type, to_id, type_id)
    select ${ta.accountId}, '0-1', ${contact}, '0-2', id, 279 from unnest(${ids}::bigint[]) as k(id)`.execute(ta.app.db)
  const first = await request({ method: 'GET', url: `/crm/v4/objects/contacts/${contact}/associations/companies` })
  t.equal(first.statusCode, 200)
  t.equal(first.json().results.length, 500, 'default limit 500')
  t.equal(first.json().results[499].toObjectId, 5_000_499)
  const rest = await request({ method: 'GET', url: `/crm/v4/objects/contacts/${contact}/associations/companies?after=${first.json().paging.next.after}` })
  t.same(rest.json().results.map((r: { toObjectId: number }) => r.toObjectId), [5_000_500])
  t.notOk('paging' in rest.json())
  const max = await request({ method: 'GET', url: `/crm/v4/objects/contacts/${contact}/associations/companies?limit=500` })
  t.equal(max.json().results.length, 500)
  await ta.app.db.deleteFrom('associations').where('from_id', '=', contact).execute()
})

t.test('primary company: first through B1, B2 and the labels extension; set, replace, read, unset', async (t) => {
  const [label] = await createLabel(ta, 'deals', 'companies', { label: 'Reseller', name: 'reseller' })
  const labelBack = await labelType(ta, COMPANIES, DEALS, 'Reseller')
  for (const [type, typeId, primary, inverse, unlabeled] of [['contacts', CONTACTS, 1, 2, 279], ['deals', DEALS, 5, 6, 341], ['tickets', TICKETS, 26, 25, 339]] as const) {
    const viaB1 = await createRecord(ta, type)
    const viaB2 = await createRecord(ta, type)
    const viaExt = await createRecord(ta, type)
    const viaCompanySide = await createRecord(ta, type)
    const company = await createRecord(ta, 'companies')
    t.equal((await request({ method: 'PUT', url: `/crm/v4/objects/${type}/${viaB1}/associations/companies/${company}`, payload: [spec(unlabeled)] })).statusCode, 201)
    t.equal((await request({ method: 'PUT', url: `/crm/v4/objects/${type}/${viaB2}/associations/default/companies/${company}` })).statusCode, 200)
    const ext = await request({ method: 'POST', url: `/crm/v4/objects/${type}/${viaExt}/associations/companies/${company}/labels`, payload: [spec(unlabeled)] })
    t.equal(ext.statusCode, 200, ext.body)
    t.same(ext.json().labels, ['Primary'])
    t.equal((await request({ method: 'PUT', url: `/crm/v4/objects/companies/${company}/associations/default/${type}/${viaCompanySide}` })).statusCode, 200)
    for (const owner of [viaB1, viaB2, viaExt, viaCompanySide]) {
      t.same((await rowsOf(ta, [owner])).filter((r) => ([primary, inverse] as number[]).includes(typeOfRow(r))), [
        row(typeId, owner, COMPANIES, company, primary, true), row(COMPANIES, company, typeId, owner, inverse)
      ].sort(), `${type} ${owner}: the first company is primary (${primary}/${inverse})`)
    }
  }

  const deal = await createRecord(ta, 'deals')
  const [c1, c2, c3, outsider] = await createRecords(ta, 'companies', 4) as [number, number, number, number]
  const none = expectError(t, await request({ method: 'GET', url: `/crm/v4/objects/deals/${deal}/primary/companies` }), 404, 'OBJECT_NOT_FOUND')
  t.match(none.message, /has no primary company/)
  expectError(t, await request({ method: 'GET', url: '/crm/v4/objects/deals/987654321/primary/companies' }), 404, 'OBJECT_NOT_FOUND')
  expectError(t, await request({ method: 'GET', url: `/crm/v4/objects/companies/${c1}/primary/contacts` }), 400, 'VALIDATION_ERROR')
  expectError(t, await request({ method: 'GET', url: `/crm/v4/objects/deals/${deal}/primary/contacts` }), 400, 'VALIDATION_ERROR')

  // Labelled first association: primary too, and the label is kept.
  const b1 = await request({ method: 'PUT', url: `/crm/v4/objects/deals/${deal}/associations/companies/${c1}`, payload: [spec(label!.typeId, 'USER_DEFINED')] })
  t.same(b1.json().labels, ['Primary', 'Reseller'])
  t.equal((await request({ method: 'PUT', url: `/crm/v4/objects/deals/${deal}/associations/default/companies/${c2}` })).statusCode, 200)
  const read = await request({ method: 'GET', url: `/crm/v4/objects/deals/${deal}/primary/companies` })
  t.equal(read.statusCode, 200)
  t.same(read.json(), {
    toObjectId: c1, associationTypes: [
      { category: 'HUBSPOT_DEFINED', typeId: 5, label: 'Primary' },
      { category: 'USER_DEFINED', typeId: label!.typeId, label: 'Reseller' },
      { category: 'HUBSPOT_DEFINED', typeId: 341, label: null }
    ]
  })

  // PUT primary: replaces; the old one stays associated (and keeps its label).
  const set = await request({ method: 'PUT', url: `/crm/v4/objects/deals/${deal}/primary/companies/${c2}` })
  t.equal(set.statusCode, 200, set.body)
  t.same(set.json(), { toObjectId: c2, associationTypes: [{ category: 'HUBSPOT_DEFINED', typeId: 5, label: 'Primary' }, { category: 'HUBSPOT_DEFINED', typeId: 341, label: null }] })
  t.same(await rowsOf(ta, [deal]), [
    row(DEALS, deal, COMPANIES, c1, 341), row(DEALS, deal, COMPANIES, c1, label!.typeId), row(DEALS, deal, COMPANIES, c2, 341), row(DEALS, deal, COMPANIES, c2, 5, true),
    row(COMPANIES, c1, DEALS, deal, 342), row(COMPANIES, c1, DEALS, deal, labelBack), row(COMPANIES, c2, DEALS, deal, 342), row(COMPANIES, c2, DEALS, deal, 6)
  ].sort())

  // B1 with the primary type on an unassociated company: associates it and moves the primary.
  const b1Primary = await request({ method: 'PUT', url: `/crm/v4/objects/deals/${deal}/associations/companies/${c3}`, payload: [spec(5)] })
  t.equal(b1Primary.statusCode, 201)
  t.same(b1Primary.json().labels, ['Primary'])
  const primaries = await ta.app.db.selectFrom('associations').select(['to_id', 'type_id']).where('from_id', '=', deal).where('is_primary', '=', true).execute()
  t.same(primaries, [{ to_id: c3, type_id: 5 }], 'one primary row')
  t.equal(await countOf(ta, DEALS, deal, COMPANIES), 3)
  t.same((await request({ method: 'GET', url: `/crm/v4/objects/deals/${deal}/associations/companies?primaryOnly=true` })).json().results.map((r: { toObjectId: number }) => r.toObjectId), [c3])

  // Unset with a company that is not associated: 400 and nothing changes.
  const before = await rowsOf(ta, [deal])
  const bad = expectError(t, await request({ method: 'DELETE', url: `/crm/v4/objects/deals/${deal}/primary/companies?newPrimaryId=${outsider}` }), 400, 'VALIDATION_ERROR')
  t.match(bad.message, new RegExp(`Company ${outsider} is not associated`))
  t.same(await rowsOf(ta, [deal]), before)

  // Unset with newPrimaryId: promotes an associated company.
  t.equal((await request({ method: 'DELETE', url: `/crm/v4/objects/deals/${deal}/primary/companies?newPrimaryId=${c1}` })).statusCode, 204)
  t.equal((await request({ method: 'GET', url: `/crm/v4/objects/deals/${deal}/primary/companies` })).json().toObjectId, c1)
  t.ok((await rowsOf(ta, [c3])).includes(row(DEALS, deal, COMPANIES, c3, 341)), 'the old primary stays associated')

  // Unset without newPrimaryId: no company is primary, all still associated.
  const unset = await request({ method: 'DELETE', url: `/crm/v4/objects/deals/${deal}/primary/companies` })
  t.equal(unset.statusCode, 204)
  expectError(t, await request({ method: 'GET', url: `/crm/v4/objects/deals/${deal}/primary/companies` }), 404, 'OBJECT_NOT_FOUND')
  const after = await rowsOf(ta, [deal])
  t.equal(after.filter((r) => r.endsWith('*')).length, 0)
  t.equal(after.filter((r) => [5, 6].includes(typeOfRow(r))).length, 0, 'no primary row in either direction')
  t.equal(after.filter((r) => typeOfRow(r) === 341).length, 3)
  t.equal(await countOf(ta, DEALS, deal, COMPANIES), 3)
  t.equal((await request({ method: 'DELETE', url: `/crm/v4/objects/deals/${deal}/primary/companies` })).statusCode, 204, 'unsetting twice is harmless')
  // A new association to a record with companies does not become primary: only the first company does.
  const c4 = await createRecord(ta, 'companies')
  t.equal((await request({ method: 'PUT', url: `/crm/v4/objects/deals/${deal}/associations/default/companies/${c4}` })).statusCode, 200)
  t.equal((await rowsOf(ta, [deal])).filter((r) => r.endsWith('*')).length, 0)
  expectError(t, await request({ method: 'PUT', url: `/crm/v4/objects/deals/987654321/primary/companies/${c1}` }), 404, 'OBJECT_NOT_FOUND')
  expectError(t, await request({ method: 'DELETE', url: '/crm/v4/objects/deals/987654321/primary/companies' }), 404, 'OBJECT_NOT_FOUND')
})

t.test('removing the primary company\'s association: newPrimaryId promotes, without it no primary', async (t) => {
  const contact = await createRecord(ta, 'contacts')
  const [c1, c2, c3] = await createRecords(ta, 'companies', 3) as [number, number, number]
  for (const c of [c1, c2, c3]) t.equal((await request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/associations/default/companies/${c}` })).statusCode, 200)

  // newPrimaryId that is not associated, or when removing a company that is not the primary: 400, nothing removed.
  const before = await rowsOf(ta, [contact])
  expectError(t, await request({ method: 'DELETE', url: `/crm/v4/objects/contacts/${contact}/associations/companies/${c1}?newPrimaryId=987654321` }), 400, 'VALIDATION_ERROR')
  expectError(t, await request({ method: 'DELETE', url: `/crm/v4/objects/contacts/${contact}/associations/companies/${c1}?newPrimaryId=${c1}` }), 400, 'VALIDATION_ERROR')
  expectError(t, await request({ method: 'DELETE', url: `/crm/v4/objects/contacts/${contact}/associations/companies/${c2}?newPrimaryId=${c3}` }), 400, 'VALIDATION_ERROR')
  t.same(await rowsOf(ta, [contact]), before)
  t.equal(await countOf(ta, CONTACTS, contact, COMPANIES), 3)

  t.equal((await request({ method: 'DELETE', url: `/crm/v4/objects/contacts/${contact}/associations/companies/${c1}?newPrimaryId=${c2}` })).statusCode, 204)
  t.same(await rowsOf(ta, [c1]), [])
  t.same((await request({ method: 'GET', url: `/crm/v4/objects/contacts/${contact}/primary/companies` })).json().toObjectId, c2)
  t.same((await rowsOf(ta, [contact])).filter((r) => r.endsWith('*')), [row(CONTACTS, contact, COMPANIES, c2, 1, true)])
  t.equal(await countOf(ta, CONTACTS, contact, COMPANIES), 2)

  const fromCompany = expectError(t, await request({ method: 'DELETE', url: `/crm/v4/objects/companies/${c2}/associations/contacts/${contact}?newPrimaryId=${c3}` }), 400, 'VALIDATION_ERROR')
  t.match(fromCompany.message, /newPrimaryId applies only when a contact, deal or ticket removes/)
  t.equal((await request({ method: 'DELETE', url: `/crm/v4/objects/contacts/${contact}/associations/companies/${c2}` })).statusCode, 204)
  expectError(t, await request({ method: 'GET', url: `/crm/v4/objects/contacts/${contact}/primary/companies` }), 404, 'OBJECT_NOT_FOUND')
  t.same(await rowsOf(ta, [contact]), [row(CONTACTS, contact, COMPANIES, c3, 279), row(COMPANIES, c3, CONTACTS, contact, 280)].sort(), 'no silent promotion of c3')
  t.equal(await countOf(ta, CONTACTS, contact, COMPANIES), 1)
})

t.test('the primary from the company side (typeId 2), and removing the primary type as a label', async (t) => {
  const contact = await createRecord(ta, 'contacts')
  const [c1, c2] = await createRecords(ta, 'companies', 2) as [number, number]
  for (const c of [c1, c2]) t.equal((await request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/associations/default/companies/${c}` })).statusCode, 200)
  const viaCompany = await request({ method: 'PUT', url: `/crm/v4/objects/companies/${c2}/associations/contacts/${contact}`, payload: [spec(2)] })
  t.equal(viaCompany.statusCode, 201, viaCompany.body)
  t.same(viaCompany.json().labels, ['Primary'])
  t.same((await rowsOf(ta, [contact])).filter((r) => [1, 2].includes(typeOfRow(r))), [row(CONTACTS, contact, COMPANIES, c2, 1, true), row(COMPANIES, c2, CONTACTS, contact, 2)].sort(), 'the primary moved to c2, the flag on the contact\'s row')
  t.ok((await rowsOf(ta, [c1])).includes(row(CONTACTS, contact, COMPANIES, c1, 279)), 'c1 stays associated')
  const wrongWay = expectError(t, await request({ method: 'PUT', url: `/crm/v4/objects/companies/${c2}/associations/contacts/${contact}`, payload: [spec(1)] }), 400, 'VALIDATION_ERROR')
  t.equal(wrongWay.message, 'One or more associations are invalid')

  const unset = await request({ method: 'DELETE', url: `/crm/v4/objects/contacts/${contact}/associations/companies/${c2}/labels/1` })
  t.equal(unset.statusCode, 200, unset.body)
  t.same(unset.json().labels, [])
  t.same(await rowsOf(ta, [c2]), [row(CONTACTS, contact, COMPANIES, c2, 279), row(COMPANIES, c2, CONTACTS, contact, 280)].sort(), 'the pair stays, without the primary')
  t.same((await rowsOf(ta, [contact])).filter((r) => r.endsWith('*')), [], 'no primary left, none promoted')
  t.equal(await countOf(ta, CONTACTS, contact, COMPANIES), 2)
  const setBack = await request({ method: 'POST', url: `/crm/v4/objects/companies/${c1}/associations/contacts/${contact}/labels`, payload: [spec(2)] })
  t.equal(setBack.statusCode, 200)
  t.equal((await request({ method: 'GET', url: `/crm/v4/objects/contacts/${contact}/primary/companies` })).json().toObjectId, c1)
})

t.test('labels extension: POST adds (union), DELETE removes one label and answers what is left', async (t) => {
  const [a] = await createLabel(ta, 'contacts', 'deals', { label: 'Influencer', name: 'influencer' })
  const [b] = await createLabel(ta, 'contacts', 'deals', { label: 'Budget holder', name: 'budget_holder' })
  const contact = await createRecord(ta, 'contacts')
  const deal = await createRecord(ta, 'deals')
  const base = `/crm/v4/objects/contacts/${contact}/associations/deals/${deal}`
  const add1 = await request({ method: 'POST', url: `${base}/labels`, payload: [spec(a!.typeId, 'USER_DEFINED')] })
  t.equal(add1.statusCode, 200, add1.body)
  t.same(add1.json(), { fromObjectTypeId: CONTACTS, fromObjectId: contact, toObjectTypeId: DEALS, toObjectId: deal, labels: ['Influencer'] })
  const add2 = await request({ method: 'POST', url: `${base}/labels`, payload: [spec(b!.typeId, 'USER_DEFINED')] })
  t.same(add2.json().labels, ['Influencer', 'Budget holder'], 'adding never removes')
  t.equal((await rowsOf(ta, [deal])).length, 6)
  t.equal(await countOf(ta, CONTACTS, contact, DEALS), 1)

  const removed = await request({ method: 'DELETE', url: `${base}/labels/${a!.typeId}` })
  t.equal(removed.statusCode, 200, removed.body)
  t.same(removed.json().labels, ['Budget holder'])
  t.same(await rowsOf(ta, [deal]), [
    row(CONTACTS, contact, DEALS, deal, 4), row(CONTACTS, contact, DEALS, deal, b!.typeId),
    row(DEALS, deal, CONTACTS, contact, 3), row(DEALS, deal, CONTACTS, contact, await labelType(ta, DEALS, CONTACTS, 'Budget holder'))
  ].sort(), 'the pair stays associated')
  const lastLabel = await request({ method: 'DELETE', url: `${base}/labels/${b!.typeId}` })
  t.same(lastLabel.json().labels, [])
  t.same(await rowsOf(ta, [deal]), [row(CONTACTS, contact, DEALS, deal, 4), row(DEALS, deal, CONTACTS, contact, 3)].sort())
  expectError(t, await request({ method: 'DELETE', url: `${base}/labels/999999` }), 400, 'VALIDATION_ERROR')
  const unassociated = await createRecord(ta, 'deals')
  expectError(t, await request({ method: 'DELETE', url: `/crm/v4/objects/contacts/${contact}/associations/deals/${unassociated}/labels/${b!.typeId}` }), 404, 'OBJECT_NOT_FOUND')
  // The unlabeled type id removes the association.
  const all = await request({ method: 'DELETE', url: `${base}/labels/4` })
  t.equal(all.statusCode, 200)
  t.same(all.json().labels, [])
  t.same(await rowsOf(ta, [deal]), [])
  t.equal(await countOf(ta, CONTACTS, contact, DEALS), 0)
})

t.test('listing by label: associationTypeId, label (any case), primaryOnly; all pairs with a label', async (t) => {
  const [vip] = await createLabel(ta, 'companies', 'contacts', { label: 'VIP', name: 'vip' })
  const vipBack = await labelType(ta, CONTACTS, COMPANIES, 'VIP')
  const contact = await createRecord(ta, 'contacts')
  const companies = await createRecords(ta, 'companies', 5)
  for (const [i, company] of companies.entries()) {
    const types = i % 2 === 0 ? [spec(279), spec(vipBack, 'USER_DEFINED')] : [spec(279)]
    t.equal((await request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/associations/companies/${company}`, payload: types })).statusCode, 201)
  }
  const labelled = [companies[0], companies[2], companies[4]]
  const base = `/crm/v4/objects/contacts/${contact}/associations/companies`
  const ids = (res: LightMyRequestResponse): number[] => res.json().results.map((r: { toObjectId: number }) => r.toObjectId)
  t.same(ids(await request({ method: 'GET', url: `${base}?associationTypeId=${vipBack}` })), labelled)
  t.same(ids(await request({ method: 'GET', url: `${base}?label=vip` })), labelled, 'label is case-insensitive')
  t.same(ids(await request({ method: 'GET', url: `${base}?label=VIP&limit=2` })), labelled.slice(0, 2))
  const page = await request({ method: 'GET', url: `${base}?label=Vip&limit=2` })
  t.same(ids(await request({ method: 'GET', url: `${base}?label=Vip&limit=2&after=${page.json().paging.next.after}` })), labelled.slice(2))
  t.same(ids(await request({ method: 'GET', url: `${base}?primaryOnly=true` })), [companies[0]])
  const first = (await request({ method: 'GET', url: `${base}?label=vip&limit=1` })).json().results[0]
  t.same(first.associationTypes.map((x: { typeId: number }) => x.typeId), [1, vipBack, 279], 'a filtered item still lists every type of the pair')
  expectError(t, await request({ method: 'GET', url: `${base}?label=nobody` }), 400, 'VALIDATION_ERROR')
  expectError(t, await request({ method: 'GET', url: `${base}?associationTypeId=999999` }), 400, 'VALIDATION_ERROR')
  expectError(t, await request({ method: 'GET', url: `/crm/v4/objects/companies/${companies[0]}/associations/contacts?primaryOnly=true` }), 400, 'VALIDATION_ERROR')
  t.same(ids(await request({ method: 'GET', url: `/crm/v4/objects/companies/${companies[0]}/associations/contacts?label=VIP` })), [contact])

  // Every pair in the account with the label, keyset-paged by (fromObjectId, toObjectId).
  const contact2 = await createRecord(ta, 'contacts')
  t.equal((await request({ method: 'PUT', url: `/crm/v4/objects/companies/${companies[1]}/associations/contacts/${contact2}`, payload: [spec(vip!.typeId, 'USER_DEFINED')] })).statusCode, 201)
  const expected = [...labelled.map((c) => ({ fromObjectId: c, toObjectId: contact })), { fromObjectId: companies[1], toObjectId: contact2 }]
    .sort((a, b) => (a.fromObjectId! - b.fromObjectId!) || (a.toObjectId - b.toObjectId))
  const walked: unknown[] = []
  let after: string | undefined
  const sizes: number[] = []
  for (let i = 0; i < 5; i++) {
    const res = await request({ method: 'GET', url: `/crm/v4/associations/companies/contacts/labels/${vip!.typeId}/pairs?limit=3${after !== undefined ? `&after=${after}` : ''}` })
    t.equal(res.statusCode, 200, res.body)
    walked.push(...res.json().results)
    sizes.push(res.json().results.length)
    if (res.json().paging === undefined) break
    after = res.json().paging.next.after
  }
  t.same(sizes, [3, 1])
  t.same(walked, expected)
  const inverse = await request({ method: 'GET', url: `/crm/v4/associations/contacts/companies/labels/${vipBack}/pairs` })
  t.equal(inverse.json().results.length, 4, 'the inverse label lists the same pairs from the other side')
  t.same((await request({ method: 'GET', url: '/crm/associations/v4/companies/contacts/labels/280/pairs?limit=500' })).json().results.filter((p: { toObjectId: number }) => p.toObjectId === contact2),
    [{ fromObjectId: companies[1], toObjectId: contact2 }], 'the unlabeled type lists every pair; the alias answers too')
  expectError(t, await request({ method: 'GET', url: `/crm/v4/associations/companies/contacts/labels/${vip!.typeId}/pairs?after=junk` }), 400, 'VALIDATION_ERROR')
  expectError(t, await request({ method: 'GET', url: '/crm/v4/associations/companies/contacts/labels/999999/pairs' }), 400, 'VALIDATION_ERROR')
})

t.test('custom object types: an unlabeled type per pair on first use, stable ids, both directions', async (t) => {
  const schema = await request({ method: 'POST', url: '/crm/v3/schemas', payload: { name: 'cars', labels: { singular: 'Car', plural: 'Cars' }, properties: [{ name: 'vin', label: 'VIN', hasUniqueValue: true }] } })
  t.equal(schema.statusCode, 201, schema.body)
  const carType: string = schema.json().objectTypeId
  const [car1, car2] = await createRecords(ta, carType, 2) as [number, number]
  const contact = await createRecord(ta, 'contacts')
  const before = await ta.app.db.selectFrom('association_types').selectAll().where('account_id', '=', ta.accountId)
    .where((eb) => eb.or([eb('from_type', '=', carType), eb('to_type', '=', carType)])).execute()
  t.same(before, [], 'no types before the first use')

  const first = await request({ method: 'PUT', url: `/crm/v4/objects/cars/${car1}/associations/default/contacts/${contact}` })
  t.equal(first.statusCode, 200, first.body)
  const [forward, backward] = first.json().results.map((r: { associationSpec: { associationTypeId: number } }) => r.associationSpec.associationTypeId) as [number, number]
  t.not(forward, backward)
  const types = await ta.app.db.selectFrom('association_types').select(['from_type', 'to_type', 'type_id', 'inverse_type_id', 'category', 'role', 'label'])
    .where('account_id', '=', ta.accountId).where((eb) => eb.or([eb('from_type', '=', carType), eb('to_type', '=', carType)])).orderBy('type_id').execute()
  t.same(types, [
    { from_type: carType, to_type: CONTACTS, type_id: forward, inverse_type_id: backward, category: 'HUBSPOT_DEFINED', role: 'unlabeled', label: null },
    { from_type: CONTACTS, to_type: carType, type_id: backward, inverse_type_id: forward, category: 'HUBSPOT_DEFINED', role: 'unlabeled', label: null }
  ].sort((a, b) => a.type_id - b.type_id))

  const second = await request({ method: 'PUT', url: `/crm/v4/objects/${carType}/${car2}/associations/default/0-1/${contact}` })
  t.same(second.json().results.map((r: { associationSpec: { associationTypeId: number } }) => r.associationSpec.associationTypeId), [forward, backward], 'the id is stable across calls')
  const fromContact = await request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/associations/default/cars/${car1}` })
  t.same(fromContact.json().results.map((r: { associationSpec: { associationTypeId: number } }) => r.associationSpec.associationTypeId), [backward, forward])
  const l1 = await request({ method: 'GET', url: `/crm/v4/associations/contacts/${carType}/labels` })
  t.same(l1.json(), { results: [{ category: 'HUBSPOT_DEFINED', typeId: backward, label: null }] })
  t.same(await rowsOf(ta, [car1, car2]), [
    row(carType, car1, CONTACTS, contact, forward), row(carType, car2, CONTACTS, contact, forward),
    row(CONTACTS, contact, carType, car1, backward), row(CONTACTS, contact, carType, car2, backward)
  ].sort(), 'no primary for custom objects')
  t.equal(await countOf(ta, CONTACTS, contact, carType), 2)
  const list = await request({ method: 'GET', url: `/crm/v4/objects/contacts/${contact}/associations/cars` })
  t.same(list.json().results, [car1, car2].map((id) => ({ toObjectId: id, associationTypes: [{ category: 'HUBSPOT_DEFINED', typeId: backward, label: null }] })))
  // A same-type custom pair: one symmetric type.
  const self = await request({ method: 'PUT', url: `/crm/v4/objects/cars/${car1}/associations/default/cars/${car2}` })
  const [s1, s2] = self.json().results.map((r: { associationSpec: { associationTypeId: number } }) => r.associationSpec.associationTypeId)
  t.equal(s1, s2)
  t.not(s1, forward)
  t.not(s1, backward)
  const labelled = await request({ method: 'PUT', url: `/crm/v4/objects/cars/${car2}/associations/contacts/${contact}`, payload: [spec(forward)] })
  t.equal(labelled.statusCode, 201)
  t.same(labelled.json().labels, [])
})

t.test('archiving a record removes its associations on both sides and the primary', async (t) => {
  const contact = await createRecord(ta, 'contacts')
  const deal = await createRecord(ta, 'deals')
  const [c1, c2] = await createRecords(ta, 'companies', 2) as [number, number]
  const other = await createRecord(ta, 'contacts')
  for (const url of [
    `/crm/v4/objects/contacts/${contact}/associations/default/companies/${c1}`,
    `/crm/v4/objects/contacts/${contact}/associations/default/companies/${c2}`,
    `/crm/v4/objects/deals/${deal}/associations/default/companies/${c1}`,
    `/crm/v4/objects/contacts/${other}/associations/default/companies/${c2}`
  ]) t.equal((await request({ method: 'PUT', url })).statusCode, 200)
  t.equal(await countOf(ta, CONTACTS, contact, COMPANIES), 2)
  t.equal(await countOf(ta, COMPANIES, c1, CONTACTS), 1)

  const archived = await request({ method: 'DELETE', url: `/crm/v3/objects/companies/${c1}` })
  t.equal(archived.statusCode, 204)
  t.same(await rowsOf(ta, [c1]), [], 'no row from or to the archived company')
  t.equal(await countOf(ta, CONTACTS, contact, COMPANIES), 1, 'the contact\'s count is decremented')
  t.equal(await countOf(ta, DEALS, deal, COMPANIES), 0)
  t.equal(await countOf(ta, COMPANIES, c1, CONTACTS), undefined, 'the archived record\'s own counts are gone')
  expectError(t, await request({ method: 'GET', url: `/crm/v4/objects/contacts/${contact}/primary/companies` }), 404, 'OBJECT_NOT_FOUND')
  t.same(await rowsOf(ta, [contact]), [row(CONTACTS, contact, COMPANIES, c2, 279), row(COMPANIES, c2, CONTACTS, contact, 280)].sort(), 'c2 stays, not promoted')
  t.ok((await rowsOf(ta, [other])).includes(row(CONTACTS, other, COMPANIES, c2, 1, true)), 'unrelated primaries are untouched')
  t.same((await request({ method: 'GET', url: `/crm/v4/objects/contacts/${contact}/associations/companies` })).json().results.map((r: { toObjectId: number }) => r.toObjectId), [c2])
  expectError(t, await request({ method: 'GET', url: `/crm/v4/objects/companies/${c1}/associations/contacts` }), 404, 'OBJECT_NOT_FOUND')

  // Archiving the contact: its side and the companies' side go.
  t.equal((await request({ method: 'DELETE', url: `/crm/v3/objects/contacts/${contact}` })).statusCode, 204)
  t.same(await rowsOf(ta, [contact]), [])
  t.equal(await countOf(ta, COMPANIES, c2, CONTACTS), 1, 'only `other` is left on c2')
})

t.test('tenancy: another account cannot read, write or delete the first account\'s associations', async (t) => {
  const other = await createOtherAccount(ta.app, 'Tenant B')
  const contact = await createRecord(ta, 'contacts')
  const company = await createRecord(ta, 'companies')
  t.equal((await request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/associations/default/companies/${company}` })).statusCode, 200)
  const mine = await rowsOf(ta, [contact])
  const before = await totals(ta)
  const as = other.key
  const list = expectError(t, await request({ method: 'GET', url: `/crm/v4/objects/contacts/${contact}/associations/companies`, key: as }), 404, 'OBJECT_NOT_FOUND')
  t.equal(list.message, `No contact with ID ${contact} exists`)
  expectError(t, await request({ method: 'GET', url: `/crm/v4/objects/companies/${company}/associations/contacts`, key: as }), 404, 'OBJECT_NOT_FOUND')
  expectError(t, await request({ method: 'GET', url: `/crm/v4/objects/contacts/${contact}/primary/companies`, key: as }), 404, 'OBJECT_NOT_FOUND')
  expectError(t, await request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/associations/default/companies/${company}`, key: as }), 404, 'OBJECT_NOT_FOUND')
  expectError(t, await request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/associations/companies/${company}`, payload: [spec(279)], key: as }), 404, 'OBJECT_NOT_FOUND')
  expectError(t, await request({ method: 'POST', url: `/crm/v4/objects/contacts/${contact}/associations/companies/${company}/labels`, payload: [spec(279)], key: as }), 404, 'OBJECT_NOT_FOUND')
  expectError(t, await request({ method: 'DELETE', url: `/crm/v4/objects/contacts/${contact}/associations/companies/${company}`, key: as }), 404, 'OBJECT_NOT_FOUND')
  expectError(t, await request({ method: 'DELETE', url: `/crm/v4/objects/contacts/${contact}/associations/companies/${company}/labels/1`, key: as }), 404, 'OBJECT_NOT_FOUND')
  expectError(t, await request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/primary/companies/${company}`, key: as }), 404, 'OBJECT_NOT_FOUND')
  expectError(t, await request({ method: 'DELETE', url: `/crm/v4/objects/contacts/${contact}/primary/companies`, key: as }), 404, 'OBJECT_NOT_FOUND')
  // One record of each account: still not found.
  const theirs = await createRecord(ta, 'companies', {}, as)
  expectError(t, await request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/associations/default/companies/${theirs}`, key: as }), 404, 'OBJECT_NOT_FOUND')
  const pairs = await request({ method: 'GET', url: '/crm/v4/associations/contacts/companies/labels/279/pairs?limit=500', key: as })
  t.equal(pairs.statusCode, 200)
  t.same(pairs.json().results, [], 'the other account sees none of these pairs')
  t.same(await rowsOf(ta, [contact]), mine)
  t.same(await totals(ta), before, 'nothing written in any account')
})

t.test('the one-primary index is the last line of defence: a violation is a clean 409, never a dropped row', async (t) => {
  const contact = await createRecord(ta, 'contacts')
  const [a, b, c] = await createRecords(ta, 'companies', 3) as [number, number, number]
  for (const company of [a, b]) t.equal((await request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/associations/default/companies/${company}` })).statusCode, 200)
  // Corrupt the data behind the service's back: the primary flag sits on b's unlabeled row, not on a primary-type row.
  await ta.app.db.updateTable('associations').set({ is_primary: false }).where('from_id', '=', contact).where('type_id', '=', 1).execute()
  await ta.app.db.updateTable('associations').set({ is_primary: true }).where('from_id', '=', contact).where('to_id', '=', b).where('type_id', '=', 279).execute()
  const before = await rowsOf(ta, [contact])
  const res = expectError(t, await request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/primary/companies/${c}` }), 409, 'CONFLICT')
  t.match(res.message, /primary company/)
  t.same(await rowsOf(ta, [contact]), before, 'nothing written: no inverse row without its primary row')
  t.equal(await countOf(ta, CONTACTS, contact, COMPANIES), 2)
})
