// Association types and label definitions (L1-L4): the HUBSPOT_DEFINED seed, single, paired and symmetric labels,
// name rules, the per-pair label cap, renames, deletion (in use, force), the /crm/associations/v4 alias and tenancy.
import t from 'tap'
import { build, createOtherAccount, type TestApp } from '../helpers/app.js'
import { createRecord, createRecords } from '../helpers/factories.js'
import { expectError } from '../helpers/assertions.js'

const CONTACTS = '0-1'
const COMPANIES = '0-2'
const DEALS = '0-3'
const TICKETS = '0-5'

interface TypeRow { from_type: string, to_type: string, type_id: number, inverse_type_id: number, category: string, role: string, label: string | null }

async function typesOf (ta: TestApp, accountId = ta.accountId): Promise<TypeRow[]> {
  return await ta.app.db.selectFrom('association_types').select(['from_type', 'to_type', 'type_id', 'inverse_type_id', 'category', 'role', 'label'])
    .where('account_id', '=', accountId).orderBy('type_id').execute()
}

async function userTypes (ta: TestApp, accountId = ta.accountId): Promise<TypeRow[]> {
  return (await typesOf(ta, accountId)).filter((r) => r.category === 'USER_DEFINED')
}

async function edgeTypes (ta: TestApp, ids: number[]): Promise<number[]> {
  const rows = await ta.app.db.selectFrom('associations').select('type_id').where('account_id', '=', ta.accountId)
    .where('from_id', 'in', ids).orderBy('type_id').execute()
  return rows.map((r) => r.type_id)
}

const hs = (from: string, to: string, typeId: number, inverse: number, role: string, label: string | null): TypeRow =>
  ({ from_type: from, to_type: to, type_id: typeId, inverse_type_id: inverse, category: 'HUBSPOT_DEFINED', role, label })

// API.md §3.2, written out independently of src/lib/hubspot-association-types.ts.
const SEED: TypeRow[] = [
  hs(CONTACTS, COMPANIES, 279, 280, 'unlabeled', null), hs(COMPANIES, CONTACTS, 280, 279, 'unlabeled', null),
  hs(CONTACTS, COMPANIES, 1, 2, 'primary', 'Primary'), hs(COMPANIES, CONTACTS, 2, 1, 'primary_inverse', 'Primary'),
  hs(DEALS, COMPANIES, 341, 342, 'unlabeled', null), hs(COMPANIES, DEALS, 342, 341, 'unlabeled', null),
  hs(DEALS, COMPANIES, 5, 6, 'primary', 'Primary'), hs(COMPANIES, DEALS, 6, 5, 'primary_inverse', 'Primary'),
  hs(TICKETS, COMPANIES, 339, 340, 'unlabeled', null), hs(COMPANIES, TICKETS, 340, 339, 'unlabeled', null),
  hs(TICKETS, COMPANIES, 26, 25, 'primary', 'Primary'), hs(COMPANIES, TICKETS, 25, 26, 'primary_inverse', 'Primary'),
  hs(CONTACTS, DEALS, 4, 3, 'unlabeled', null), hs(DEALS, CONTACTS, 3, 4, 'unlabeled', null),
  hs(CONTACTS, TICKETS, 15, 16, 'unlabeled', null), hs(TICKETS, CONTACTS, 16, 15, 'unlabeled', null),
  hs(DEALS, TICKETS, 27, 28, 'unlabeled', null), hs(TICKETS, DEALS, 28, 27, 'unlabeled', null),
  hs(CONTACTS, CONTACTS, 449, 449, 'unlabeled', null), hs(COMPANIES, COMPANIES, 450, 450, 'unlabeled', null),
  hs(DEALS, DEALS, 451, 451, 'unlabeled', null), hs(TICKETS, TICKETS, 452, 452, 'unlabeled', null),
  hs(COMPANIES, COMPANIES, 13, 14, 'label', 'Child Company'), hs(COMPANIES, COMPANIES, 14, 13, 'label', 'Parent Company')
].sort((a, b) => a.type_id - b.type_id)

const ta = await build(t)
const { request } = ta

t.test('HUBSPOT_DEFINED types are seeded per account, both directions, with inverses; L1 lists them', async (t) => {
  t.same(await typesOf(ta), SEED)
  const other = await createOtherAccount(ta.app, 'Seeded too')
  t.same(await typesOf(ta, other.accountId), SEED, 'every new account gets the same seed')

  const expected: Record<string, Array<[number, string | null]>> = {
    'contacts/companies': [[1, 'Primary'], [279, null]],
    'companies/contacts': [[2, 'Primary'], [280, null]],
    'deals/companies': [[5, 'Primary'], [341, null]],
    'companies/deals': [[6, 'Primary'], [342, null]],
    'tickets/companies': [[26, 'Primary'], [339, null]],
    'companies/tickets': [[25, 'Primary'], [340, null]],
    'contacts/deals': [[4, null]],
    'deals/contacts': [[3, null]],
    'contacts/tickets': [[15, null]],
    'tickets/contacts': [[16, null]],
    'deals/tickets': [[27, null]],
    'tickets/deals': [[28, null]],
    'contacts/contacts': [[449, null]],
    'companies/companies': [[13, 'Child Company'], [14, 'Parent Company'], [450, null]],
    'deals/deals': [[451, null]],
    'tickets/tickets': [[452, null]],
    '0-1/0-2': [[1, 'Primary'], [279, null]],
    'CONTACT/company': [[1, 'Primary'], [279, null]]
  }
  for (const [path, types] of Object.entries(expected)) {
    const res = await request({ method: 'GET', url: `/crm/v4/associations/${path}/labels` })
    t.equal(res.statusCode, 200, path)
    t.equal(res.headers['content-type'], 'application/json;charset=utf-8')
    t.strictSame(res.json(), { results: types.map(([typeId, label]) => ({ category: 'HUBSPOT_DEFINED', typeId, label })) }, `L1 ${path}`)
  }
  const alias = await request({ method: 'GET', url: '/crm/associations/v4/contacts/companies/labels' })
  t.equal(alias.statusCode, 200)
  t.strictSame(alias.json(), { results: [{ category: 'HUBSPOT_DEFINED', typeId: 1, label: 'Primary' }, { category: 'HUBSPOT_DEFINED', typeId: 279, label: null }] }, 'the /crm/associations/v4 alias answers')
  expectError(t, await request({ method: 'GET', url: '/crm/v4/associations/contacts/widgets/labels' }), 400, 'VALIDATION_ERROR')
  expectError(t, await request({ method: 'GET', url: '/crm/v4/associations/contacts/companies/labels', key: null }), 401, 'INVALID_AUTHENTICATION')
})

t.test('L2 single, paired and same-type labels', async (t) => {
  const single = await request({ method: 'POST', url: '/crm/v4/associations/contacts/companies/labels', payload: { label: 'Partner', name: 'partner' } })
  t.equal(single.statusCode, 200, single.body)
  t.equal(single.headers['content-type'], 'application/json;charset=utf-8')
  const [fwd, back] = single.json().results as Array<{ category: string, typeId: number, label: string }>
  t.equal(single.json().results.length, 2, 'one type id per direction')
  t.same([fwd!.category, fwd!.label, back!.category, back!.label], ['USER_DEFINED', 'Partner', 'USER_DEFINED', 'Partner'], 'same text both ways')
  t.not(fwd!.typeId, back!.typeId)
  t.ok(fwd!.typeId > 1000 && back!.typeId > 1000, 'user ids do not collide with HubSpot ids')
  const rows = (await userTypes(ta)).filter((r) => r.label === 'Partner')
  t.same(rows, [
    { from_type: CONTACTS, to_type: COMPANIES, type_id: fwd!.typeId, inverse_type_id: back!.typeId, category: 'USER_DEFINED', role: 'label', label: 'Partner' },
    { from_type: COMPANIES, to_type: CONTACTS, type_id: back!.typeId, inverse_type_id: fwd!.typeId, category: 'USER_DEFINED', role: 'label', label: 'Partner' }
  ])
  const l1 = await request({ method: 'GET', url: '/crm/v4/associations/contacts/companies/labels' })
  t.same(l1.json().results, [
    { category: 'HUBSPOT_DEFINED', typeId: 1, label: 'Primary' },
    { category: 'HUBSPOT_DEFINED', typeId: 279, label: null },
    { category: 'USER_DEFINED', typeId: fwd!.typeId, label: 'Partner' }
  ])
  const l1Back = await request({ method: 'GET', url: '/crm/v4/associations/companies/contacts/labels' })
  t.same(l1Back.json().results.at(-1), { category: 'USER_DEFINED', typeId: back!.typeId, label: 'Partner' }, 'a label on contacts -> companies also exists on companies -> contacts')

  const paired = await request({ method: 'POST', url: '/crm/v4/associations/contacts/companies/labels', payload: { label: 'Manager', inverseLabel: 'Employee', name: 'manager_employee' } })
  t.equal(paired.statusCode, 200, paired.body)
  const [manager, employee] = paired.json().results
  t.same([manager.label, employee.label], ['Manager', 'Employee'])
  t.same((await userTypes(ta)).filter((r) => r.label === 'Manager' || r.label === 'Employee').map((r) => [r.from_type, r.to_type, r.type_id, r.inverse_type_id, r.label]), [
    [CONTACTS, COMPANIES, manager.typeId, employee.typeId, 'Manager'],
    [COMPANIES, CONTACTS, employee.typeId, manager.typeId, 'Employee']
  ], 'each direction has its own name; each is the other\'s inverse')

  // Using the paired label: contact -> company Manager reads as Employee from the company.
  const contact = await createRecord(ta, 'contacts')
  const company = await createRecord(ta, 'companies')
  const put = await request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/associations/companies/${company}`, payload: [{ associationCategory: 'USER_DEFINED', associationTypeId: manager.typeId }] })
  t.same(put.json().labels, ['Primary', 'Manager'])
  const fromCompany = await request({ method: 'GET', url: `/crm/v4/objects/companies/${company}/associations/contacts` })
  t.same(fromCompany.json().results[0].associationTypes, [
    { category: 'HUBSPOT_DEFINED', typeId: 2, label: 'Primary' },
    { category: 'USER_DEFINED', typeId: employee.typeId, label: 'Employee' },
    { category: 'HUBSPOT_DEFINED', typeId: 280, label: null }
  ])

  // Same object type: a single label is one symmetric id; a paired one has two.
  const symmetric = await request({ method: 'POST', url: '/crm/v4/associations/contacts/contacts/labels', payload: { label: 'Sibling', name: 'sibling' } })
  t.equal(symmetric.statusCode, 200)
  t.equal(symmetric.json().results.length, 1)
  const sibling = symmetric.json().results[0]
  t.same((await userTypes(ta)).filter((r) => r.label === 'Sibling'), [{ from_type: CONTACTS, to_type: CONTACTS, type_id: sibling.typeId, inverse_type_id: sibling.typeId, category: 'USER_DEFINED', role: 'label', label: 'Sibling' }])
  const mentor = await request({ method: 'POST', url: '/crm/v4/associations/contacts/contacts/labels', payload: { label: 'Mentor', inverseLabel: 'Mentee', name: 'mentor' } })
  t.same(mentor.json().results.map((r: { label: string }) => r.label), ['Mentor', 'Mentee'])
  const [c1, c2] = await createRecords(ta, 'contacts', 2) as [number, number]
  const sib = await request({ method: 'PUT', url: `/crm/v4/objects/contacts/${c1}/associations/contacts/${c2}`, payload: [{ associationCategory: 'USER_DEFINED', associationTypeId: sibling.typeId }] })
  t.same(sib.json().labels, ['Sibling'])
  t.same(await edgeTypes(ta, [c1]), [449, sibling.typeId])
  t.same(await edgeTypes(ta, [c2]), [449, sibling.typeId], 'the symmetric label reads the same from both sides')
})

t.test('L2 input rules: name without hyphen or leading digit, required fields, unique names', async (t) => {
  const before = await userTypes(ta)
  for (const name of ['bad-name', '1st_label', ' spaced', 'a b', 'é']) {
    const res = expectError(t, await request({ method: 'POST', url: '/crm/v4/associations/deals/tickets/labels', payload: { label: 'X', name } }), 400, 'VALIDATION_ERROR')
    t.match(res.message, /Invalid label name/, name)
  }
  for (const payload of [{ label: 'X' }, { name: 'x' }, { label: '', name: 'x' }, { label: 'X', name: '' }, {}]) {
    expectError(t, await request({ method: 'POST', url: '/crm/v4/associations/deals/tickets/labels', payload }), 400, 'VALIDATION_ERROR')
  }
  expectError(t, await request({ method: 'POST', url: '/crm/v4/associations/deals/nothing/labels', payload: { label: 'X', name: 'x' } }), 400, 'VALIDATION_ERROR')
  t.same(await userTypes(ta), before, 'nothing written')
  t.equal((await request({ method: 'POST', url: '/crm/v4/associations/deals/tickets/labels', payload: { label: 'Escalation', name: 'escalation' } })).statusCode, 200)
  const dup = expectError(t, await request({ method: 'POST', url: '/crm/v4/associations/tickets/deals/labels', payload: { label: 'Other text', name: 'escalation' } }), 409, 'CONFLICT')
  t.match(dup.message, /already exists/)
  t.equal((await userTypes(ta)).length, before.length + 2)
})

t.test('L2 cap: the 11th label of a pair is refused with the limit; a paired label counts once', async (t) => {
  // contacts <-> tickets, from either side, share one cap.
  for (let i = 1; i <= 10; i++) {
    const [from, to] = i % 2 === 0 ? ['contacts', 'tickets'] : ['tickets', 'contacts']
    const payload = i === 3 ? { label: `Label ${i}`, inverseLabel: `Inverse ${i}`, name: `label_${i}` } : { label: `Label ${i}`, name: `label_${i}` }
    const res = await request({ method: 'POST', url: `/crm/v4/associations/${from}/${to}/labels`, payload })
    t.equal(res.statusCode, 200, `label ${i}: ${res.body}`)
  }
  const before = await userTypes(ta)
  const eleventh = expectError(t, await request({ method: 'POST', url: '/crm/v4/associations/contacts/tickets/labels', payload: { label: 'Label 11', name: 'label_11' } }), 400, 'LIMITS_ERROR')
  t.match(eleventh.message, /limit of 10 association labels/)
  t.same(eleventh.context.limit, ['10'])
  expectError(t, await request({ method: 'POST', url: '/crm/associations/v4/tickets/contacts/labels', payload: { label: 'Label 11', inverseLabel: 'Inverse 11', name: 'label_11' } }), 400, 'LIMITS_ERROR')
  t.same(await userTypes(ta), before, 'nothing written')
  t.equal(before.filter((r) => [r.from_type, r.to_type].sort().join() === [CONTACTS, TICKETS].join()).length, 20, 'ten labels, two type ids each')
  const l1 = await request({ method: 'GET', url: '/crm/v4/associations/contacts/tickets/labels' })
  t.equal(l1.json().results.length, 11, 'the unlabeled type and ten labels')
  // Another pair is not affected; deleting one label frees a slot.
  t.equal((await request({ method: 'POST', url: '/crm/v4/associations/deals/contacts/labels', payload: { label: 'Elsewhere', name: 'elsewhere' } })).statusCode, 200)
  const victim = l1.json().results.find((r: { label: string }) => r.label === 'Label 2')
  t.equal((await request({ method: 'DELETE', url: `/crm/v4/associations/contacts/tickets/labels/${victim.typeId}` })).statusCode, 204)
  t.equal((await request({ method: 'POST', url: '/crm/v4/associations/contacts/tickets/labels', payload: { label: 'Label 11', name: 'label_11' } })).statusCode, 200)
})

t.test('L2 cap is configurable: MAX_LABELS_PER_PAIR=2', async (t) => {
  const small = await build(t, { MAX_LABELS_PER_PAIR: 2 })
  for (const name of ['one', 'two']) {
    t.equal((await small.request({ method: 'POST', url: '/crm/v4/associations/contacts/companies/labels', payload: { label: name, name } })).statusCode, 200)
  }
  const third = expectError(t, await small.request({ method: 'POST', url: '/crm/v4/associations/companies/contacts/labels', payload: { label: 'three', name: 'three' } }), 400, 'LIMITS_ERROR')
  t.match(third.message, /limit of 2 association labels/)
  t.equal((await userTypes(small)).length, 4)
  t.equal((await small.request({ method: 'POST', url: '/crm/v4/associations/deals/companies/labels', payload: { label: 'three', name: 'three' } })).statusCode, 200, 'per pair')
})

t.test('L3 renames keep type ids; HUBSPOT_DEFINED types cannot be renamed', async (t) => {
  const [fwd, back] = (await request({ method: 'POST', url: '/crm/v4/associations/deals/companies/labels', payload: { label: 'Suplier', name: 'supplier' } })).json().results
  const deal = await createRecord(ta, 'deals')
  const company = await createRecord(ta, 'companies')
  t.equal((await request({ method: 'PUT', url: `/crm/v4/objects/deals/${deal}/associations/companies/${company}`, payload: [{ associationCategory: 'USER_DEFINED', associationTypeId: fwd.typeId }] })).statusCode, 201)

  const renamed = await request({ method: 'PUT', url: '/crm/v4/associations/deals/companies/labels', payload: { associationTypeId: fwd.typeId, label: 'Supplier' } })
  t.equal(renamed.statusCode, 204, renamed.body)
  t.equal(renamed.body, '')
  t.same((await userTypes(ta)).filter((r) => r.type_id === fwd.typeId || r.type_id === back.typeId).map((r) => [r.type_id, r.inverse_type_id, r.label]),
    [[fwd.typeId, back.typeId, 'Supplier'], [back.typeId, fwd.typeId, 'Supplier']], 'a single label keeps one text in both directions, same ids')
  t.same((await request({ method: 'GET', url: `/crm/v4/objects/deals/${deal}/associations/companies` })).json().results[0].associationTypes[1], { category: 'USER_DEFINED', typeId: fwd.typeId, label: 'Supplier' })
  t.same(await edgeTypes(ta, [deal]), [5, 341, fwd.typeId].sort((a, b) => a - b), 'the association keeps its type id')

  const [lead, member] = (await request({ method: 'POST', url: '/crm/v4/associations/deals/companies/labels', payload: { label: 'Lead', inverseLabel: 'Member', name: 'lead_member' } })).json().results
  t.equal((await request({ method: 'PUT', url: '/crm/associations/v4/deals/companies/labels', payload: { associationTypeId: lead.typeId, label: 'Leader', inverseLabel: 'Team member' } })).statusCode, 204)
  t.equal((await request({ method: 'PUT', url: '/crm/v4/associations/companies/deals/labels', payload: { associationTypeId: member.typeId, label: 'Member company' } })).statusCode, 204)
  t.same((await userTypes(ta)).filter((r) => r.type_id === lead.typeId || r.type_id === member.typeId).map((r) => [r.type_id, r.label]),
    [[lead.typeId, 'Leader'], [member.typeId, 'Member company']], 'a paired label renames each side on its own')

  const [sym] = (await request({ method: 'POST', url: '/crm/v4/associations/deals/deals/labels', payload: { label: 'Related', name: 'related' } })).json().results
  expectError(t, await request({ method: 'PUT', url: '/crm/v4/associations/deals/deals/labels', payload: { associationTypeId: sym.typeId, label: 'A', inverseLabel: 'B' } }), 400, 'VALIDATION_ERROR')
  t.equal((await request({ method: 'PUT', url: '/crm/v4/associations/deals/deals/labels', payload: { associationTypeId: sym.typeId, label: 'Related deal' } })).statusCode, 204)
  t.same((await userTypes(ta)).filter((r) => r.type_id === sym.typeId).map((r) => r.label), ['Related deal'])

  const seedBefore = (await typesOf(ta)).filter((r) => r.category === 'HUBSPOT_DEFINED')
  for (const [path, typeId] of [['contacts/companies', 279], ['contacts/companies', 1], ['companies/companies', 13]] as const) {
    const res = expectError(t, await request({ method: 'PUT', url: `/crm/v4/associations/${path}/labels`, payload: { associationTypeId: typeId, label: 'Hacked' } }), 400, 'VALIDATION_ERROR')
    t.match(res.message, /HUBSPOT_DEFINED and cannot be changed/)
  }
  expectError(t, await request({ method: 'PUT', url: '/crm/v4/associations/deals/companies/labels', payload: { associationTypeId: back.typeId, label: 'Wrong way' } }), 400, 'VALIDATION_ERROR')
  expectError(t, await request({ method: 'PUT', url: '/crm/v4/associations/deals/companies/labels', payload: { associationTypeId: 999999, label: 'Nobody' } }), 400, 'VALIDATION_ERROR')
  expectError(t, await request({ method: 'PUT', url: '/crm/v4/associations/deals/companies/labels', payload: { associationTypeId: fwd.typeId } }), 400, 'VALIDATION_ERROR')
  t.same((await typesOf(ta)).filter((r) => r.category === 'HUBSPOT_DEFINED'), seedBefore, 'HUBSPOT_DEFINED types unchanged')
})

t.test('L4 deletes both directions; refused while in use (with the count) unless force=true', async (t) => {
  const [fwd, back] = (await request({ method: 'POST', url: '/crm/v4/associations/tickets/companies/labels', payload: { label: 'Affected', name: 'affected' } })).json().results
  const ticket = await createRecord(ta, 'tickets')
  const [co1, co2] = await createRecords(ta, 'companies', 2) as [number, number]
  for (const company of [co1, co2]) {
    t.equal((await request({ method: 'PUT', url: `/crm/v4/objects/tickets/${ticket}/associations/companies/${company}`, payload: [{ associationCategory: 'USER_DEFINED', associationTypeId: fwd.typeId }] })).statusCode, 201)
  }
  const inUse = expectError(t, await request({ method: 'DELETE', url: `/crm/v4/associations/tickets/companies/labels/${fwd.typeId}` }), 400, 'VALIDATION_ERROR')
  t.match(inUse.message, /is used by 2 associations/)
  t.same(inUse.context.associations, ['2'])
  const inUseBack = expectError(t, await request({ method: 'DELETE', url: `/crm/v4/associations/companies/tickets/labels/${back.typeId}` }), 400, 'VALIDATION_ERROR')
  t.match(inUseBack.message, /is used by 2 associations/, 'the same count from the other side')
  t.equal((await userTypes(ta)).filter((r) => r.label === 'Affected').length, 2, 'still defined')
  t.same(await edgeTypes(ta, [ticket]), [26, 339, 339, fwd.typeId, fwd.typeId].sort((a, b) => a - b), 'still on both associations')

  const forced = await request({ method: 'DELETE', url: `/crm/v4/associations/tickets/companies/labels/${fwd.typeId}?force=true` })
  t.equal(forced.statusCode, 204, forced.body)
  t.equal((await userTypes(ta)).filter((r) => r.label === 'Affected').length, 0, 'both directions deleted')
  t.same(await edgeTypes(ta, [ticket]), [26, 339, 339], 'the pairs stay associated, without the label')
  t.same(await edgeTypes(ta, [co1, co2]), [25, 340, 340])
  const count = await ta.app.db.selectFrom('association_counts').select('count').where('from_id', '=', ticket).where('to_type', '=', COMPANIES).executeTakeFirstOrThrow()
  t.equal(count.count, 2, 'counts unchanged')
  const gone = await request({ method: 'PUT', url: `/crm/v4/objects/tickets/${ticket}/associations/companies/${co1}`, payload: [{ associationCategory: 'USER_DEFINED', associationTypeId: fwd.typeId }] })
  t.equal(expectError(t, gone, 400, 'VALIDATION_ERROR').message, 'One or more associations are invalid', 'a deleted label is no longer a valid type')

  // Unused: plain delete, through the alias, from the to -> from side.
  const [u1, u2] = (await request({ method: 'POST', url: '/crm/v4/associations/tickets/companies/labels', payload: { label: 'Unused', inverseLabel: 'Unused back', name: 'unused' } })).json().results
  t.equal((await request({ method: 'DELETE', url: `/crm/associations/v4/companies/tickets/labels/${u2.typeId}` })).statusCode, 204)
  t.same((await userTypes(ta)).filter((r) => r.type_id === u1.typeId || r.type_id === u2.typeId), [])
  expectError(t, await request({ method: 'DELETE', url: `/crm/v4/associations/companies/tickets/labels/${u2.typeId}` }), 400, 'VALIDATION_ERROR')

  // A symmetric same-type label used by one association is used by one association (two rows).
  const [sym] = (await request({ method: 'POST', url: '/crm/v4/associations/tickets/tickets/labels', payload: { label: 'Duplicate of', name: 'duplicate_of' } })).json().results
  const [t1, t2] = await createRecords(ta, 'tickets', 2) as [number, number]
  t.equal((await request({ method: 'PUT', url: `/crm/v4/objects/tickets/${t1}/associations/tickets/${t2}`, payload: [{ associationCategory: 'USER_DEFINED', associationTypeId: sym.typeId }] })).statusCode, 201)
  const symInUse = expectError(t, await request({ method: 'DELETE', url: `/crm/v4/associations/tickets/tickets/labels/${sym.typeId}` }), 400, 'VALIDATION_ERROR')
  t.match(symInUse.message, /is used by 1 associations/)
  t.equal((await request({ method: 'DELETE', url: `/crm/v4/associations/tickets/tickets/labels/${sym.typeId}?force=true` })).statusCode, 204)
  t.same(await edgeTypes(ta, [t1, t2]), [452, 452])

  const seedBefore = await typesOf(ta)
  for (const [path, typeId] of [['contacts/companies', 279], ['contacts/companies', 1], ['companies/contacts', 2], ['companies/companies', 14], ['contacts/contacts', 449]] as const) {
    const res = expectError(t, await request({ method: 'DELETE', url: `/crm/v4/associations/${path}/labels/${typeId}?force=true` }), 400, 'VALIDATION_ERROR')
    t.match(res.message, /HUBSPOT_DEFINED and cannot be changed or deleted/)
  }
  expectError(t, await request({ method: 'DELETE', url: '/crm/v4/associations/contacts/companies/labels/999999' }), 400, 'VALIDATION_ERROR')
  expectError(t, await request({ method: 'DELETE', url: '/crm/v4/associations/contacts/companies/labels/abc' }), 400, 'VALIDATION_ERROR')
  t.same(await typesOf(ta), seedBefore)
})

t.test('tenancy: labels are per account', async (t) => {
  const [mine] = (await request({ method: 'POST', url: '/crm/v4/associations/companies/deals/labels', payload: { label: 'Mine only', name: 'mine_only' } })).json().results
  const other = await createOtherAccount(ta.app, 'Label tenant')
  const theirs = await request({ method: 'POST', url: '/crm/v4/associations/companies/deals/labels', payload: { label: 'Theirs', name: 'mine_only' }, key: other.key })
  t.equal(theirs.statusCode, 200, 'the same name in another account is fine')
  const theirL1 = await request({ method: 'GET', url: '/crm/v4/associations/companies/deals/labels', key: other.key })
  t.same(theirL1.json().results.filter((r: { category: string }) => r.category === 'USER_DEFINED').map((r: { label: string }) => r.label), ['Theirs'])
  t.same(theirL1.json().results.filter((r: { category: string }) => r.category === 'HUBSPOT_DEFINED').map((r: { typeId: number }) => r.typeId), [6, 342])
  const myL1 = await request({ method: 'GET', url: '/crm/v4/associations/companies/deals/labels' })
  t.notOk(myL1.json().results.some((r: { label: string }) => r.label === 'Theirs'))
  expectError(t, await request({ method: 'PUT', url: '/crm/v4/associations/companies/deals/labels', payload: { associationTypeId: mine.typeId, label: 'Stolen' }, key: other.key }), 400, 'VALIDATION_ERROR')
  expectError(t, await request({ method: 'DELETE', url: `/crm/v4/associations/companies/deals/labels/${mine.typeId}?force=true`, key: other.key }), 400, 'VALIDATION_ERROR')
  t.same((await userTypes(ta)).filter((r) => r.type_id === mine.typeId).map((r) => r.label), ['Mine only'])
  t.same((await userTypes(ta, other.accountId)).map((r) => r.label), ['Theirs', 'Theirs'])
})
