import t from 'tap'
import { build } from '../helpers/app.js'
import { createRecords } from '../helpers/factories.js'

const base = '/crm/v4/associations/contacts/companies/batch'

t.test('T2 batch default: both directions per input, first company primary, 200 with errors inside', async (t) => {
  const ta = await build(t)
  const contacts = await createRecords(ta, 'contacts', 3)
  const companies = await createRecords(ta, 'companies', 3)
  const inputs = [
    { from: { id: String(contacts[0]) }, to: { id: String(companies[0]) } },
    { from: { id: String(contacts[0]) }, to: { id: String(companies[1]) } },
    { from: { id: String(contacts[0]) }, to: { id: String(companies[1]) } },
    { from: { id: String(contacts[1]) }, to: { id: '999999' } }
  ]
  const res = await ta.request({ method: 'POST', url: `${base}/associate/default`, payload: { inputs } })
  t.equal(res.statusCode, 200, res.body)
  const body = res.json()
  t.equal(body.results.length, 4, 'two inputs (one duplicate handled once), two directions each')
  t.equal(body.numErrors, 1)
  t.match(body.errors[0], { status: 'error', category: 'OBJECT_NOT_FOUND', context: { fromObjectId: [String(contacts[1])], toObjectId: ['999999'] } })
  const rows = await ta.app.db.selectFrom('associations').select(['from_id', 'to_id', 'type_id', 'is_primary']).orderBy('from_id').orderBy('to_id').orderBy('type_id').execute()
  t.same(rows.filter((r) => r.is_primary).map((r) => [r.from_id, r.to_id, r.type_id]), [[contacts[0], companies[0], 1]], 'the first company is primary')
  t.equal(rows.length, 6, '279+280 for two pairs, plus 1 and 2')
  const counts = await ta.app.db.selectFrom('association_counts').selectAll().where('from_id', '=', contacts[0] as number).executeTakeFirstOrThrow()
  t.equal(counts.count, 2)
})

t.test('T1 batch create: 201, 207 on partial failure (nothing written for the failed input), label sets', async (t) => {
  const ta = await build(t, { MAX_ASSOCIATIONS_PER_TYPE: 2 })
  const label = (await ta.request({ method: 'POST', url: '/crm/v4/associations/contacts/companies/labels', payload: { label: 'Manager', name: 'manager' } })).json().results[0].typeId
  const contacts = await createRecords(ta, 'contacts', 2)
  const companies = await createRecords(ta, 'companies', 3)
  const spec = [{ associationCategory: 'USER_DEFINED', associationTypeId: label }]
  const ok = await ta.request({ method: 'POST', url: `${base}/create`, payload: { inputs: [{ from: { id: String(contacts[0]) }, to: { id: String(companies[0]) }, types: spec }] } })
  t.equal(ok.statusCode, 201, ok.body)
  t.same(ok.json().results, [{ fromObjectTypeId: '0-1', fromObjectId: contacts[0], toObjectTypeId: '0-2', toObjectId: companies[0], labels: ['Primary', 'Manager'] }])
  const partial = await ta.request({
    method: 'POST',
    url: `${base}/create`,
    payload: {
      inputs: [
        { from: { id: String(contacts[0]) }, to: { id: String(companies[1]) }, types: spec },
        { from: { id: String(contacts[0]) }, to: { id: String(companies[2]) }, types: spec },
        { from: { id: String(contacts[1]) }, to: { id: String(companies[0]) }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 280 }] }
      ]
    }
  })
  t.equal(partial.statusCode, 207, partial.body)
  const body = partial.json()
  t.equal(body.results.length, 1)
  t.equal(body.numErrors, 2)
  t.same(body.errors.map((e: { category: string }) => e.category).sort(), ['LIMITS_ERROR', 'VALIDATION_ERROR'])
  t.match(body.errors.find((e: { category: string }) => e.category === 'LIMITS_ERROR'), { context: { fromObjectId: [String(contacts[0])], toObjectId: [String(companies[2])], limit: ['2'] } })
  t.match(body.errors.find((e: { category: string }) => e.category === 'VALIDATION_ERROR'), { message: 'One or more associations are invalid', context: { fromObjectId: [String(contacts[1])] } })
  const pairs = await ta.app.db.selectFrom('associations').select(['from_id', 'to_id']).where('from_type', '=', '0-1').distinct().execute()
  t.equal(pairs.length, 2, 'the over-cap and the invalid inputs wrote nothing')
  const tooMany = await ta.request({ method: 'POST', url: `${base}/create`, payload: { inputs: Array.from({ length: 2001 }, () => ({ from: { id: '1' }, to: { id: '2' }, types: [] })) } })
  t.equal(tooMany.statusCode, 400)
  t.match(tooMany.json().message, /2000/)
})

t.test('T3 batch read: per-input paging, NO_ASSOCIATIONS_FOUND makes 207; T4 and T5 archive', async (t) => {
  const ta = await build(t)
  const contacts = await createRecords(ta, 'contacts', 2)
  const companies = await createRecords(ta, 'companies', 3)
  await ta.request({ method: 'POST', url: `${base}/associate/default`, payload: { inputs: companies.map((c) => ({ from: { id: String(contacts[0]) }, to: { id: String(c) } })) } })
  const read = await ta.request({ method: 'POST', url: `${base}/read`, payload: { inputs: [{ id: String(contacts[0]) }, { id: String(contacts[1]) }] } })
  t.equal(read.statusCode, 207, read.body)
  const body = read.json()
  t.equal(body.results.length, 1)
  t.equal(body.results[0].from.id, String(contacts[0]))
  t.same(body.results[0].to.map((x: { toObjectId: number }) => x.toObjectId), companies)
  t.match(body.errors[0], { subCategory: 'crm.associations.NO_ASSOCIATIONS_FOUND', context: { fromObjectId: [String(contacts[1])] } })

  const labelsArchive = await ta.request({ method: 'POST', url: `${base}/labels/archive`, payload: { inputs: [{ from: { id: String(contacts[0]) }, to: { id: String(companies[0]) }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 1 }] }] } })
  t.equal(labelsArchive.statusCode, 204)
  t.equal((await ta.app.db.selectFrom('associations').selectAll().where('is_primary', '=', true).execute()).length, 0, 'removing the primary type unsets the primary')
  const archive = await ta.request({ method: 'POST', url: `${base}/archive`, payload: { inputs: [{ from: { id: String(contacts[0]) }, to: [{ id: String(companies[0]) }, { id: String(companies[1]) }] }] } })
  t.equal(archive.statusCode, 204)
  const left = await ta.app.db.selectFrom('associations').select(['from_id', 'to_id', 'type_id']).execute()
  t.same(left.map((r) => r.type_id).sort(), [279, 280])
  const counts = await ta.app.db.selectFrom('association_counts').select(['from_id', 'count']).orderBy('from_id').execute()
  t.same(counts.find((c) => c.from_id === contacts[0])?.count, 1)
})

t.test('batches keep per-label limits and explicit primaries, as single writes do', async (t) => {
  const ta = await build(t)
  const billing = (await ta.request({ method: 'POST', url: '/crm/v4/associations/deals/contacts/labels', payload: { label: 'Billing contact', name: 'billing_contact' } })).json().results
    .find((r: { label: string }) => r.label === 'Billing contact').typeId
  const limit = await ta.request({ method: 'POST', url: '/crm/v4/associations/definitions/configurations/deals/contacts/batch/create', payload: { inputs: [{ category: 'USER_DEFINED', typeId: billing, maxToObjectIds: 1 }] } })
  t.equal(limit.statusCode, 201, limit.body)
  const [deal] = await createRecords(ta, 'deals', 1)
  const contacts = await createRecords(ta, 'contacts', 2)
  const spec = [{ associationCategory: 'USER_DEFINED', associationTypeId: billing }]
  const res = await ta.request({ method: 'POST', url: '/crm/v4/associations/deals/contacts/batch/create', payload: { inputs: contacts.map((c) => ({ from: { id: String(deal) }, to: { id: String(c) }, types: spec })) } })
  t.equal(res.statusCode, 207, res.body)
  t.equal(res.json().results.length, 1)
  t.match(res.json().errors[0], { category: 'LIMITS_ERROR', context: { toObjectId: [String(contacts[1])] } })
  const labelled = await ta.app.db.selectFrom('associations').select('to_id').where('type_id', '=', billing).execute()
  t.same(labelled.map((r) => r.to_id), [contacts[0]], 'one billing contact per deal')
  const pairs = await ta.app.db.selectFrom('associations').select('to_id').where('from_type', '=', '0-3').where('type_id', '=', 3).execute()
  t.equal(pairs.length, 1, 'the refused input is not associated at all')

  // Explicit primary in a batch: the last input naming a primary wins, the old primary stays associated.
  const companies = await createRecords(ta, 'companies', 3)
  const [contact] = contacts
  const primary = [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 1 }]
  const first = await ta.request({ method: 'POST', url: `${base}/create`, payload: { inputs: companies.slice(0, 2).map((c) => ({ from: { id: String(contact) }, to: { id: String(c) }, types: [] })) } })
  t.equal(first.statusCode, 201, first.body)
  const second = await ta.request({ method: 'POST', url: `${base}/create`, payload: { inputs: [{ from: { id: String(contact) }, to: { id: String(companies[2]) }, types: primary }] } })
  t.equal(second.statusCode, 201, second.body)
  const primaries = await ta.app.db.selectFrom('associations').select('to_id').where('from_id', '=', contact as number).where('is_primary', '=', true).execute()
  t.same(primaries.map((r) => r.to_id), [companies[2]], 'exactly one primary: the one asked for')
  const associated = await ta.app.db.selectFrom('associations').select('to_id').where('from_id', '=', contact as number).where('type_id', '=', 279).orderBy('to_id').execute()
  t.same(associated.map((r) => r.to_id), companies, 'the old primary stays associated')
})

t.test('T1: a later input making the old primary primary again wins over an earlier input of the same batch', async (t) => {
  // Found by the model-based fuzzer: A primary, then one batch [B primary, A primary] answered "A is Primary" but left
  // B primary (A's demotion was written while A's pair still counted as primary, so A was never made primary again).
  const ta = await build(t)
  const [contact] = await createRecords(ta, 'contacts', 1)
  const [a, b] = await createRecords(ta, 'companies', 2)
  const primary = [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 1 }]
  const input = (company: number | undefined, types: unknown[]): unknown => ({ from: { id: String(contact) }, to: { id: String(company) }, types })
  t.equal((await ta.request({ method: 'POST', url: `${base}/create`, payload: { inputs: [input(a, []), input(b, [])] } })).statusCode, 201)
  const res = await ta.request({ method: 'POST', url: `${base}/create`, payload: { inputs: [input(b, primary), input(a, primary)] } })
  t.equal(res.statusCode, 201, res.body)
  t.same(res.json().results.map((r: { toObjectId: number, labels: string[] }) => [r.toObjectId, r.labels]), [[b, ['Primary']], [a, ['Primary']]])
  const primaries = await ta.app.db.selectFrom('associations').select(['from_id', 'to_id', 'type_id']).where('to_type', '=', '0-2').where('type_id', '=', 1).execute()
  t.same(primaries.map((r) => [r.from_id, r.to_id]), [[contact, a]], 'A is the one primary')

  // And back again in one batch: [B primary, A primary, ...] where B's primary row is the batch's own insert.
  const again = await ta.request({ method: 'POST', url: `${base}/create`, payload: { inputs: [input(b, primary), input(a, primary)] } })
  t.equal(again.statusCode, 201, again.body)
  const after = await ta.app.db.selectFrom('associations').select('to_id').where('from_id', '=', contact as number).where('is_primary', '=', true).execute()
  t.same(after.map((r) => r.to_id), [a])
})
