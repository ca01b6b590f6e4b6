import t from 'tap'
import { build } from '../helpers/app.js'
import { createRecord } from '../helpers/factories.js'

t.test('B2 default association: both directions, first company primary', async (t) => {
  const ta = await build(t)
  const contact = await createRecord(ta, 'contacts', { email: 'luke@example.com' })
  const company = await createRecord(ta, 'companies', { domain: 'lukes.example' })
  const res = await ta.request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/associations/default/companies/${company}` })
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json(), { status: 'COMPLETE', results: [
    { from: { id: String(contact) }, to: { id: String(company) }, associationSpec: { associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 279 } },
    { from: { id: String(company) }, to: { id: String(contact) }, associationSpec: { associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 280 } }
  ] })
  const list = await ta.request({ method: 'GET', url: `/crm/v4/objects/contacts/${contact}/associations/companies` })
  t.equal(list.statusCode, 200, list.body)
  t.same(list.json(), { results: [{ toObjectId: company, associationTypes: [
    { category: 'HUBSPOT_DEFINED', typeId: 1, label: 'Primary' },
    { category: 'HUBSPOT_DEFINED', typeId: 279, label: null }
  ] }] })
  const back = await ta.request({ method: 'GET', url: `/crm/v4/objects/companies/${company}/associations/contacts` })
  t.same(back.json(), { results: [{ toObjectId: contact, associationTypes: [
    { category: 'HUBSPOT_DEFINED', typeId: 2, label: 'Primary' },
    { category: 'HUBSPOT_DEFINED', typeId: 280, label: null }
  ] }] })
  const company2 = await createRecord(ta, 'companies', { domain: 'dragonfly.example' })
  const res2 = await ta.request({ method: 'PUT', url: `/crm/v4/objects/contact/${contact}/associations/default/company/${company2}` })
  t.equal(res2.statusCode, 200)
  const primary = await ta.request({ method: 'GET', url: `/crm/v4/objects/contacts/${contact}/primary/companies` })
  t.equal(primary.json().toObjectId, company, 'the first company stays primary')
  const counts = await ta.app.db.selectFrom('association_counts').selectAll().orderBy('from_type').orderBy('from_id').execute()
  t.same(counts.map((c) => [c.from_type, c.from_id, c.to_type, c.count]), [
    ['0-1', contact, '0-2', 2], ['0-2', company, '0-1', 1], ['0-2', company2, '0-1', 1]
  ])
})

t.test('labels: create, B1 replace semantics, delete', async (t) => {
  const ta = await build(t)
  const created = await ta.request({ method: 'POST', url: '/crm/v4/associations/contacts/companies/labels', payload: { label: 'Manager', name: 'manager' } })
  t.equal(created.statusCode, 200, created.body)
  const [forward, backward] = created.json().results
  t.match(forward, { category: 'USER_DEFINED', label: 'Manager' })
  t.match(backward, { category: 'USER_DEFINED', label: 'Manager' })
  const contact = await createRecord(ta, 'contacts')
  const company = await createRecord(ta, 'companies')
  const put = await ta.request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/associations/companies/${company}`, payload: [{ associationCategory: 'USER_DEFINED', associationTypeId: forward.typeId }] })
  t.equal(put.statusCode, 201, put.body)
  t.same(put.json(), { fromObjectTypeId: '0-1', fromObjectId: contact, toObjectTypeId: '0-2', toObjectId: company, labels: ['Primary', 'Manager'] })
  const del = await ta.request({ method: 'DELETE', url: `/crm/v4/associations/contacts/companies/labels/${forward.typeId}` })
  t.equal(del.statusCode, 400)
  t.match(del.json().message, /used by 1 associations/)
  const forced = await ta.request({ method: 'DELETE', url: `/crm/v4/associations/contacts/companies/labels/${forward.typeId}?force=true` })
  t.equal(forced.statusCode, 204)
  const archive = await ta.request({ method: 'DELETE', url: `/crm/v4/objects/contacts/${contact}/associations/companies/${company}` })
  t.equal(archive.statusCode, 204)
  const rows = await ta.app.db.selectFrom('associations').selectAll().execute()
  t.equal(rows.length, 0)
})
