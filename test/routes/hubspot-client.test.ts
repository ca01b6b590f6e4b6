// The official Node client (@hubspot/api-client 13.5.0) against the listening app: every v4 method it checks the exact
// status of (API.md §5.3-5.4) must resolve, parse our bodies, and write what the database then shows.
import t from 'tap'
import { Client } from '@hubspot/api-client'
import {
  createConfiguration, DefinitionConfigurationsApi, ServerConfiguration,
  PublicAssociationDefinitionConfigurationCreateRequestCategoryEnum as CreateCategory,
  PublicAssociationDefinitionConfigurationUpdateRequestCategoryEnum as UpdateCategory
} from '@hubspot/api-client/lib/codegen/crm/associations/v4/schema/index.js'
import { AssociationSpecAssociationCategoryEnum as Category } from '@hubspot/api-client/lib/codegen/crm/associations/v4/models/AssociationSpec.js'
import { build } from '../helpers/app.js'

const ta = await build(t)
await ta.app.listen({ port: 0, host: '127.0.0.1' })
const address = ta.app.server.address()
if (address === null || typeof address === 'string') throw new Error('the app is not listening on a TCP port')
const basePath = `http://127.0.0.1:${address.port}`
const client = new Client({ accessToken: ta.adminKey, basePath })
const v4 = client.crm.associations.v4

/** The ApiException a rejected call throws (code and raw body), or a failure when the call resolves. */
async function rejection (promise: Promise<unknown>): Promise<{ code: number, body: Record<string, any> }> {
  try {
    await promise
  } catch (err) {
    const e = err as { code?: number, body?: unknown }
    return { code: e.code ?? -1, body: (typeof e.body === 'string' ? JSON.parse(e.body) : e.body) as Record<string, any> }
  }
  throw new Error('expected the call to be rejected')
}

async function typeIdsBetween (from: number, to: number): Promise<number[]> {
  const rows = await ta.app.db.selectFrom('associations').select('type_id').where('account_id', '=', ta.accountId)
    .where('from_id', '=', from).where('to_id', '=', to).orderBy('type_id').execute()
  return rows.map((r) => r.type_id)
}

t.test('basicApi and definitionsApi: create, createDefault, getPage, archive; labels getAll/create/update/remove', async (t) => {
  const contact = await client.crm.contacts.basicApi.create({ properties: { email: 'lorelai@example.com' }, associations: [] })
  t.match(contact, { id: String, properties: { email: 'lorelai@example.com' } })
  const companies = await Promise.all(['dragonfly.example', 'independence.example', 'lukes.example'].map(async (domain) =>
    await client.crm.companies.basicApi.create({ properties: { domain }, associations: [] })))
  // Created concurrently, so ids come in any order; pages list by id.
  const [inn, hotel, diner] = companies.map((c) => c.id).sort((a, b) => Number(a) - Number(b)) as [string, string, string]

  const seeded = await v4.schema.definitionsApi.getAll('contacts', 'companies')
  t.same(seeded.results, [{ category: 'HUBSPOT_DEFINED', typeId: 1, label: 'Primary' }, { category: 'HUBSPOT_DEFINED', typeId: 279, label: null }])

  const created = await v4.schema.definitionsApi.create('contacts', 'companies', { label: 'Owner', inverseLabel: 'Owned by', name: 'owner' })
  t.equal(created.results.length, 2)
  const owner = created.results.find((r) => r.label === 'Owner')
  const ownedBy = created.results.find((r) => r.label === 'Owned by')
  t.ok(owner !== undefined && ownedBy !== undefined, 'paired label: one type id per direction')
  t.equal(owner?.category, 'USER_DEFINED')
  const single = await v4.schema.definitionsApi.create('contacts', 'companies', { label: 'Former employee', name: 'former_employee' })
  t.same(single.results.map((r) => r.label), ['Former employee', 'Former employee'])
  const formerId = single.results[0]!.typeId
  const formerBack = single.results[1]!.typeId

  const byDefault = await v4.basicApi.createDefault('contacts', contact.id, 'companies', inn)
  t.equal(byDefault.status, 'COMPLETE')
  t.ok(byDefault.startedAt instanceof Date && !Number.isNaN(byDefault.startedAt.getTime()), 'startedAt parses as a Date')
  t.same(byDefault.results.map((r) => [r._from.id, r.to.id, r.associationSpec.associationTypeId]), [[contact.id, inn, 279], [inn, contact.id, 280]])
  t.same(await typeIdsBetween(Number(contact.id), Number(inn)), [1, 279], 'the first company is primary')

  const labelled = await v4.basicApi.create('contacts', contact.id, 'companies', hotel, [
    { associationCategory: Category.UserDefined, associationTypeId: owner!.typeId },
    { associationCategory: Category.UserDefined, associationTypeId: formerId }
  ])
  t.same(labelled, { fromObjectTypeId: '0-1', fromObjectId: Number(contact.id), toObjectTypeId: '0-2', toObjectId: Number(hotel), labels: ['Owner', 'Former employee'] })
  t.same(await typeIdsBetween(Number(hotel), Number(contact.id)), [280, ownedBy!.typeId, formerBack].sort((a, b) => a - b))
  const replaced = await v4.basicApi.create('contacts', contact.id, 'companies', hotel, [{ associationCategory: Category.UserDefined, associationTypeId: formerId }])
  t.same(replaced.labels, ['Former employee'], 'create replaces the label set')
  await v4.basicApi.createDefault('contacts', contact.id, 'companies', diner)

  const page = await v4.basicApi.getPage('contacts', contact.id, 'companies')
  t.equal(page.results.length, 3)
  t.equal(page.paging, undefined)
  t.equal(page.results[0]?.toObjectId, Number(inn) as unknown as string, 'toObjectId arrives as a JSON number, as HubSpot sends it')
  t.same(page.results[0]?.associationTypes, [{ category: 'HUBSPOT_DEFINED', typeId: 1, label: 'Primary' }, { category: 'HUBSPOT_DEFINED', typeId: 279, label: null }])
  t.same(page.results[1]?.associationTypes.map((x) => x.label), ['Former employee', null])
  const first = await v4.basicApi.getPage('contacts', contact.id, 'companies', undefined, 2)
  t.equal(first.results.length, 2)
  const after = first.paging?.next?.after
  t.type(after, 'string')
  const rest = await v4.basicApi.getPage('contacts', contact.id, 'companies', after, 2)
  t.same(rest.results.map((r) => r.toObjectId), [Number(diner)])
  t.equal(rest.paging, undefined)
  const back = await v4.basicApi.getPage('companies', hotel, 'contacts')
  t.same(back.results[0]?.associationTypes.map((x) => x.typeId), [formerBack, 280])

  await v4.schema.definitionsApi.update('contacts', 'companies', { associationTypeId: formerId, label: 'Ex-employee' })
  t.same((await v4.schema.definitionsApi.getAll('companies', 'contacts')).results.filter((r) => r.typeId === formerBack).map((r) => r.label), ['Ex-employee'])

  const inUse = await rejection(v4.schema.definitionsApi.remove('contacts', 'companies', formerId))
  t.equal(inUse.code, 400)
  t.match(inUse.body, { status: 'error', category: 'VALIDATION_ERROR', message: /used by 1 associations/ })
  const invalid = await rejection(v4.basicApi.create('deals', '1', 'companies', inn, [{ associationCategory: Category.HubspotDefined, associationTypeId: 279 }]))
  t.equal(invalid.code, 400)
  t.equal(invalid.body.message, 'One or more associations are invalid')
  const missing = await rejection(v4.basicApi.createDefault('contacts', '987654321', 'companies', inn))
  t.equal(missing.code, 404)
  t.equal(missing.body.category, 'OBJECT_NOT_FOUND')

  await v4.basicApi.archive('contacts', contact.id, 'companies', hotel)
  t.same(await typeIdsBetween(Number(contact.id), Number(hotel)), [])
  t.same(await typeIdsBetween(Number(hotel), Number(contact.id)), [])
  await v4.schema.definitionsApi.remove('contacts', 'companies', formerId)
  await v4.schema.definitionsApi.remove('contacts', 'companies', owner!.typeId)
  const labels = await v4.schema.definitionsApi.getAll('contacts', 'companies')
  t.same(labels.results.map((r) => r.typeId), [1, 279], 'both labels deleted')
  const hsDefined = await rejection(v4.schema.definitionsApi.remove('contacts', 'companies', 279))
  t.equal(hsDefined.code, 400)

  const counts = await ta.app.db.selectFrom('association_counts').select(['from_id', 'count']).where('from_id', '=', Number(contact.id)).execute()
  t.same(counts, [{ from_id: Number(contact.id), count: 2 }])
  await client.crm.companies.basicApi.archive(inn)
  t.same((await v4.basicApi.getPage('contacts', contact.id, 'companies')).results.map((r) => r.toObjectId), [Number(diner)], 'archiving a company removes its associations')
})

t.test('definition configurations (limits), constructed by hand as the client does not expose them', async (t) => {
  const limitsApi = new DefinitionConfigurationsApi(createConfiguration({
    baseServer: new ServerConfiguration(basePath, {}),
    authMethods: { oauth2: { accessToken: ta.adminKey } }
  }))
  const created = await limitsApi.batchCreate('deals', 'contacts', { inputs: [{ category: CreateCategory.HubspotDefined, typeId: 3, maxToObjectIds: 50 }] })
  t.equal(created.status, 'COMPLETE')
  t.same(created.results, [{ category: 'HUBSPOT_DEFINED', typeId: 3, label: null, userEnforcedMaxToObjectIds: 50 }])
  t.same((await limitsApi.getAll()).results.map((r) => [r.typeId, r.userEnforcedMaxToObjectIds]), [[3, 50]])
  t.same((await limitsApi.getAllBetweenTwoObjectTypes('deals', 'contacts')).results.map((r) => r.typeId), [3])
  const updated = await limitsApi.batchUpdate('deals', 'contacts', { inputs: [{ category: UpdateCategory.HubspotDefined, typeId: 3, maxToObjectIds: 20 }] })
  t.same(updated.results, [{ category: 'HUBSPOT_DEFINED', typeId: 3, userEnforcedMaxToObjectIds: 20 }])
  const row = await ta.app.db.selectFrom('association_types').select('max_to_object_ids').where('account_id', '=', ta.accountId).where('type_id', '=', 3).executeTakeFirstOrThrow()
  t.equal(row.max_to_object_ids, 20)
  await limitsApi.batchRemove('deals', 'contacts', { inputs: [{ category: 'HUBSPOT_DEFINED', typeId: 3 }] })
  t.same((await limitsApi.getAll()).results, [])
  const partial = await limitsApi.batchCreate('deals', 'contacts', { inputs: [{ category: CreateCategory.HubspotDefined, typeId: 3, maxToObjectIds: 5 }, { category: CreateCategory.HubspotDefined, typeId: 279, maxToObjectIds: 5 }] })
  t.equal((partial as { numErrors?: number }).numErrors, 1, '207 is accepted and parsed as a batch with errors')
})
