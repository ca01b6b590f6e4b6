import t from 'tap'
import { build } from '../helpers/app.js'
import { createRecord } from '../helpers/factories.js'

t.test('GET a record with ?associations= embeds its associations, the primary twice', async (t) => {
  const ta = await build(t)
  const contact = await createRecord(ta, 'contacts', { email: 'luke@example.com' })
  const diner = await createRecord(ta, 'companies', { domain: 'lukes-diner.example' })
  const inn = await createRecord(ta, 'companies', { domain: 'dragonfly.example' })
  const deal = await createRecord(ta, 'deals', { dealname: 'Renovation' })
  for (const url of [
    `/crm/v4/objects/contacts/${contact}/associations/default/companies/${diner}`,
    `/crm/v4/objects/contacts/${contact}/associations/default/companies/${inn}`,
    `/crm/v4/objects/contacts/${contact}/associations/default/deals/${deal}`
  ]) t.equal((await ta.request({ method: 'PUT', url })).statusCode, 200)

  // The Node client repeats the key; HubSpot also accepts a comma-separated list.
  for (const query of ['associations=companies&associations=deals', 'associations=companies,deals']) {
    const res = await ta.request({ method: 'GET', url: `/crm/v3/objects/contacts/${contact}?${query}` })
    t.equal(res.statusCode, 200, res.body)
    t.same(res.json().associations, {
      companies: {
        results: [
          { id: String(diner), type: 'contact_to_company' },
          { id: String(diner), type: 'contact_to_company_unlabeled' },
          { id: String(inn), type: 'contact_to_company_unlabeled' }
        ]
      },
      deals: { results: [{ id: String(deal), type: 'contact_to_deal' }] }
    }, query)
  }

  const unknown = await ta.request({ method: 'GET', url: `/crm/v3/objects/contacts/${contact}?associations=nonsense` })
  t.equal(unknown.statusCode, 200, 'unknown association types are ignored, as HubSpot does')
  t.equal(unknown.json().associations, undefined)

  const none = await ta.request({ method: 'GET', url: `/crm/v3/objects/contacts/${contact}` })
  t.equal(none.json().associations, undefined, 'nothing embedded unless asked')
})
