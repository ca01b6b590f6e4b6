// A label deleted while requests are adding it leaves no edge that points to a deleted type (no orphan rows).
import t from 'tap'
import { sql } from 'kysely'
import { build } from '../helpers/app.js'
import { createRecords } from '../helpers/factories.js'

t.test('label deletion racing single and batch writes of that label', async (t) => {
  const ta = await build(t)
  const contacts = await createRecords(ta, 'contacts', 1)
  const companies = await createRecords(ta, 'companies', 40)
  const contact = contacts[0] as number
  let refused = 0
  for (let round = 0; round < 10; round++) {
    const created = await ta.request({ method: 'POST', url: '/crm/v4/associations/contacts/companies/labels', payload: { label: `Role ${round}`, name: `role_${round}` } })
    t.equal(created.statusCode, 200, created.body)
    const typeId = created.json().results.find((r: { label: string }) => r.label === `Role ${round}`).typeId as number
    const spec = [{ associationCategory: 'USER_DEFINED', associationTypeId: typeId }]
    const [a, b] = [companies[round * 4] as number, companies[round * 4 + 1] as number]
    const results = await Promise.all([
      ta.request({ method: 'PUT', url: `/crm/v4/objects/contacts/${contact}/associations/companies/${a}`, payload: spec }),
      ta.request({ method: 'POST', url: '/crm/v4/associations/contacts/companies/batch/create', payload: { inputs: [{ from: { id: String(contact) }, to: { id: String(b) }, types: spec }] } }),
      ta.request({ method: 'DELETE', url: `/crm/v4/associations/contacts/companies/labels/${typeId}?force=true` })
    ])
    for (const r of results) t.ok(r.statusCode < 500, `no 5xx: ${r.statusCode} ${r.body.slice(0, 200)}`)
    if (results[0].statusCode === 400) refused++
  }
  const orphans = await sql<{ n: number }>`
    select count(*)::int as n from associations a
    where not exists (select 1 from association_types t where t.account_id = a.account_id and t.type_id = a.type_id)`.execute(ta.app.db)
  t.equal(orphans.rows[0]?.n, 0, 'every edge points to an existing type')
  t.comment(`${refused} of 10 single writes came after the deletion and were refused`)
})
