// The import applier's row semantics (issue 5, "Behaviour"): records found by identifier or created, several rows for
// one record, labels added, association rules as in the API, row errors that write nothing, constant statements.
import t from 'tap'
import { sql } from 'kysely'
import { applierDatabase, applierOn, countRows, createLabel, csvRows, edgesOf, fileSpec, findBy, fixture, newAccount, recordsOf } from '../helpers/import-applier.js'
import { statementCounter } from '../helpers/statements.js'

const db = await applierDatabase(t)
const h = applierOn(db)

/** The label-example mapping (IMPORTS.md §4.2): contact and company columns in one row, and a label column. */
const lukeRequest = (operations?: Record<string, string>) => ({
  name: 'Luke Danes',
  ...(operations !== undefined ? { importOperations: operations } : {}),
  files: [fileSpec('luke-danes.csv', [
    { columnObjectTypeId: '0-1', columnName: 'Email', propertyName: 'email' },
    { columnObjectTypeId: '0-1', columnName: 'First name', propertyName: 'firstname' },
    { columnObjectTypeId: '0-2', columnName: 'Company domain', propertyName: 'domain' },
    { columnObjectTypeId: '0-2', columnName: 'Company name', propertyName: 'name' },
    { columnName: 'Association label', columnType: 'FLEXIBLE_ASSOCIATION_LABEL', columnObjectTypeId: '0-1', toColumnObjectTypeId: '0-2' }
  ])]
})

async function lukeAccount (): Promise<{ account: number, manager: number, contractor: number }> {
  const account = await newAccount(h)
  return { account, manager: await createLabel(h, account, 'Manager'), contractor: await createLabel(h, account, 'Contractor') }
}

for (const [chunkSize, lookAhead] of [[2000, false], [1, false], [1, true]] as const) {
  t.test(`Luke Danes: two rows, one email, two domains -> one contact, two companies, first company primary (chunks of ${chunkSize}${lookAhead ? ', each read ahead of the chunk before' : ''})`, async (t) => {
    const { account, manager, contractor } = await lukeAccount()
    const result = await h.run(account, lukeRequest(), { 'luke-danes.csv': fixture('luke-danes.csv') }, chunkSize, { lookAhead })
    t.same(result.errors, [])
    const contacts = await recordsOf(h, account, '0-1')
    t.equal(contacts.length, 1, 'one contact: the second row found it by email, in another case')
    t.same(contacts[0]?.properties, { email: 'LUKE@lukes-diner.com', firstname: 'Luke' }, 'later values win; the empty first-name cell left the name as it was')
    const diner = await findBy(h, account, '0-2', 'domain', 'lukes-diner.com')
    const inn = await findBy(h, account, '0-2', 'name', 'Dragonfly Inn')
    t.equal((await recordsOf(h, account, '0-2')).length, 2, 'two companies')
    const luke = contacts[0]?.id as number
    t.same(await edgesOf(h, account, '0-1', luke), [
      { to_id: diner.id, type_id: 1, is_primary: true },
      { to_id: diner.id, type_id: 279, is_primary: false },
      { to_id: diner.id, type_id: manager, is_primary: false },
      { to_id: inn.id, type_id: 279, is_primary: false },
      { to_id: inn.id, type_id: contractor, is_primary: false }
    ].sort((a, b) => a.to_id - b.to_id || a.type_id - b.type_id), 'two associations, the first company primary, each with its label')
    t.same((await edgesOf(h, account, '0-2', inn.id)).map((e) => e.to_id), [luke, luke], 'visible from the company side too')
    t.match(result.counters, { ROWS_APPLIED: 2, CREATED_OBJECTS: 3, ASSOCIATIONS_CREATED: 2, LABELS_ADDED: 2, ERRORS: 0 })
  })
}

t.test('re-applying a file finds every identified record: no duplicate records, keys or associations', async (t) => {
  const { account } = await lukeAccount()
  const first = await h.run(account, lukeRequest(), { 'luke-danes.csv': fixture('luke-danes.csv') })
  const counts = async (): Promise<number[]> => [await countRows(h, 'records', account), await countRows(h, 'record_keys', account), await countRows(h, 'associations', account)]
  const before = await counts()
  const again = await h.run(account, lukeRequest(), { 'luke-danes.csv': fixture('luke-danes.csv') })
  t.same(await counts(), before, 'records, identifiers and association rows unchanged')
  t.match(first.counters, { CREATED_OBJECTS: 3, UPDATED_OBJECTS: 0 })
  t.match(again.counters, { CREATED_OBJECTS: 0, UPDATED_OBJECTS: 3, UNIQUE_OBJECTS_WRITTEN: 3, ASSOCIATIONS_CREATED: 0, LABELS_ADDED: 0 })
})

t.test('a re-import merges only the records whose values it changes: the others keep their row version', async (t) => {
  const { account } = await lukeAccount()
  await h.run(account, lukeRequest(), { 'luke-danes.csv': fixture('luke-danes.csv') })
  const versions = async (): Promise<Map<string, string>> => new Map((await db.selectFrom('records')
    .select(['properties', sql<string>`xmin::text`.as('version')]).where('account_id', '=', account).execute())
    .map((r) => [r.properties.email ?? r.properties.domain ?? '', r.version]))
  const before = await versions()
  const same = await h.run(account, lukeRequest(), { 'luke-danes.csv': fixture('luke-danes.csv') })
  t.same(await versions(), before, 'the same file again writes no record')
  t.match(same.counters, { UPDATED_OBJECTS: 3, ROWS_APPLIED: 2, ERRORS: 0 })
  const changed = fixture('luke-danes.csv').replace('Luke,lukes-diner.com', 'Lucas,lukes-diner.com')
  const again = await h.run(account, lukeRequest(), { 'luke-danes.csv': changed })
  t.same(again.errors, [])
  const after = await versions()
  t.not(after.get('LUKE@lukes-diner.com'), before.get('LUKE@lukes-diner.com'), 'the contact whose first name changed was merged')
  t.equal(after.get('lukes-diner.com'), before.get('lukes-diner.com'), 'the companies were not')
  t.same((await recordsOf(h, account, '0-1'))[0]?.properties, { email: 'LUKE@lukes-diner.com', firstname: 'Lucas' })
})

t.test('a file mapping 120 properties merges only what changed, compared value by value', async (t) => {
  const account = await newAccount(h)
  const names = Array.from({ length: 120 }, (_, i) => `p${i + 1}`)
  const request = { name: 'wide', files: [fileSpec('wide.csv', [{ columnObjectTypeId: '0-1', columnName: 'Email', propertyName: 'email' }, ...names.map((n) => ({ columnObjectTypeId: '0-1', columnName: n, propertyName: n }))])] }
  const csv = (last: string): string => `Email,${names.join(',')}\nwide@example.com,${names.slice(0, -1).map((n) => `v-${n}`).join(',')},${last}\n`
  await h.run(account, request, { 'wide.csv': csv('v-p120') })
  const version = async (): Promise<string> => (await sql<{ v: string }>`select xmin::text as v from records where account_id = ${account}`.execute(db)).rows[0]?.v ?? ''
  const before = await version()
  await h.run(account, request, { 'wide.csv': csv('v-p120') })
  t.equal(await version(), before, 'all 120 stored values equal: no write')
  const again = await h.run(account, request, { 'wide.csv': csv('changed') })
  t.same(again.errors, [])
  t.not(await version(), before, 'the 120th value changed: merged')
  t.equal((await recordsOf(h, account, '0-1'))[0]?.properties.p120, 'changed')
})

/** A contacts + companies + label file (applier-labels.csv, applier-invalid.csv ...), mapped by header name. */
function simpleRequest (fileName: string, columns: Array<[string, string, string | null] | 'label'>, extra: Record<string, unknown> = {}) {
  return {
    name: fileName,
    ...extra,
    files: [fileSpec(fileName, columns.map((c) => c === 'label'
      ? { columnName: 'Association label', columnType: 'FLEXIBLE_ASSOCIATION_LABEL', columnObjectTypeId: '0-1', toColumnObjectTypeId: '0-2' }
      : { columnObjectTypeId: c[1], columnName: c[0], propertyName: c[2] }))]
  }
}

const labelsRequest = simpleRequest('applier-labels.csv', [['Email', '0-1', 'email'], ['Last name', '0-1', 'lastname'], ['Company domain', '0-2', 'domain'], 'label'])

t.test('a label cell holds several labels separated by ";"; importing adds them and keeps the labels already there', async (t) => {
  const account = await newAccount(h)
  const owner = await createLabel(h, account, 'Owner')
  const billing = await createLabel(h, account, 'Billing contact')
  const chef = await createLabel(h, account, 'Chef')
  const former = await createLabel(h, account, 'Former employee')
  // Lorelai is already associated with the inn, labelled "Former employee".
  const [lorelai, inn] = await Promise.all([
    h.services.recordsBatch.createOne(account, 'contacts', { properties: { email: 'lorelai@dragonflyinn.com' } }),
    h.services.recordsBatch.createOne(account, 'companies', { properties: { domain: 'dragonflyinn.com' } })
  ])
  const pair = await h.services.associationTypes.resolvePair(account, 'contacts', 'companies')
  await h.services.associationsBatch.addLabels(account, pair, [{ from: { id: lorelai.id }, to: { id: inn.id }, types: [{ associationCategory: 'USER_DEFINED', associationTypeId: former }] }])

  const result = await h.run(account, labelsRequest, { 'applier-labels.csv': fixture('applier-labels.csv') })
  t.same(result.errors, [])
  const labelled = (await edgesOf(h, account, '0-1', Number(lorelai.id))).map((e) => e.type_id)
  t.same(labelled, [1, 279, owner, billing, former].sort((a, b) => a - b), '"Owner; billing contact" added both (case ignored, spaces trimmed); "Former employee" stayed; still primary')
  const sookie = await findBy(h, account, '0-1', 'email', 'sookie@dragonflyinn.com')
  t.same((await edgesOf(h, account, '0-1', sookie.id)).map((e) => e.type_id), [1, 279, chef])
  const rory = await findBy(h, account, '0-1', 'email', 'rory@yale.edu')
  t.same((await edgesOf(h, account, '0-1', rory.id)).map((e) => e.type_id), [1, 279], 'an empty label cell: the association without label')
  t.match(result.counters, { CREATED_OBJECTS: 3, UPDATED_OBJECTS: 2, LABELS_ADDED: 3, ASSOCIATIONS_CREATED: 2 })
})

t.test('an unknown label is a row error naming it, and that row writes nothing; the other rows are applied', async (t) => {
  const account = await newAccount(h)
  await createLabel(h, account, 'Owner')
  const result = await h.run(account, labelsRequest, { 'applier-labels.csv': fixture('applier-labels.csv') })
  t.same(result.errors.map((e) => [e.errorType, e.lineNumber, e.knownColumnNumber, e.invalidValue]), [
    ['ASSOCIATION_LABEL_NOT_FOUND', 2, 3, 'billing contact'],
    ['ASSOCIATION_LABEL_NOT_FOUND', 3, 3, 'Chef']
  ])
  t.match(result.errors[0], { errorMessage: /billing contact/, rowData: ['lorelai@dragonflyinn.com', 'Gilmore', 'dragonflyinn.com', 'Owner; billing contact'] })
  t.same((await recordsOf(h, account, '0-1')).map((r) => r.properties.email), ['rory@yale.edu'], 'Lorelai and Sookie were not created')
  t.same((await recordsOf(h, account, '0-2')).map((r) => r.properties.domain), ['yale.edu'], 'nor their company')
  t.match(result.counters, { ROWS_APPLIED: 1, ERRORS: 2 })
})

t.test('ragged rows are INCORRECT_NUMBER_OF_COLUMNS with their line; empty cells change nothing', async (t) => {
  const account = await newAccount(h)
  const kirk = await h.services.recordsBatch.createOne(account, 'contacts', { properties: { email: 'miss-patty@stars-hollow.gov', firstname: 'Patty', lastname: 'LaCosta' } })
  const request = simpleRequest('applier-ragged.csv', [['Email', '0-1', 'email'], ['First name', '0-1', 'firstname'], ['Company domain', '0-2', 'domain'], 'label'])
  const result = await h.run(account, request, { 'applier-ragged.csv': fixture('applier-ragged.csv') })
  t.same(result.errors.map((e) => [e.errorType, e.lineNumber]), [['INCORRECT_NUMBER_OF_COLUMNS', 3], ['INCORRECT_NUMBER_OF_COLUMNS', 6]])
  t.same(result.errors[1]?.rowData, ['jackson@dragonflyinn.com', 'Jackson', 'dragonflyinn.com', '', 'extra'])
  t.same((await recordsOf(h, account, '0-1')).map((r) => r.properties), [
    { email: 'miss-patty@stars-hollow.gov', firstname: 'Patty', lastname: 'LaCosta' },
    { email: 'kirk@stars-hollow.gov', firstname: 'Kirk' }
  ], 'Patty found by email and left as she was; Kirk created; the empty line made nothing')
  t.equal((await recordsOf(h, account, '0-2')).length, 0, 'no company from an empty domain cell')
  t.equal(Number(kirk.id) > 0, true)
  t.match(result.counters, { ROWS_APPLIED: 3, CREATED_OBJECTS: 1, UPDATED_OBJECTS: 1, ERRORS: 2 })
})

t.test('invalid emails and domains are INVALID_EMAIL / INVALID_DOMAIN row errors at their column', async (t) => {
  const account = await newAccount(h)
  const request = simpleRequest('applier-invalid.csv', [['Email', '0-1', 'email'], ['Company domain', '0-2', 'domain']])
  const result = await h.run(account, request, { 'applier-invalid.csv': fixture('applier-invalid.csv') })
  t.same(result.errors.map((e) => [e.errorType, e.lineNumber, e.knownColumnNumber, e.invalidValue, e.objectTypeId]), [
    ['INVALID_EMAIL', 2, 0, 'not-an-email', '0-1'],
    ['INVALID_DOMAIN', 3, 1, 'not a domain', '0-2']
  ])
  t.equal(await countRows(h, 'records', account), 2, 'only the valid row wrote its contact and company')
})

t.test('rows with an identifier update the record; rows without one create a record each time', async (t) => {
  const account = await newAccount(h)
  const taylor = await h.services.recordsBatch.createOne(account, 'contacts', { properties: { email: 'taylor@doose.com', firstname: 'Taylor', phone: '555' } })
  const csv = 'Email,First name,Last name,Deal name\nTAYLOR@doose.com ,,Doose,Market\n,Kirk,Gleason,\n'
  const request = {
    files: [{
      fileName: 'people.csv',
      fileImportPage: {
        columnMappings: [
          { columnObjectTypeId: '0-1', columnName: 'Email', propertyName: 'email', columnType: 'HUBSPOT_ALTERNATE_ID' },
          { columnObjectTypeId: '0-1', columnName: 'First name', propertyName: 'firstname' },
          { columnObjectTypeId: '0-1', columnName: 'Last name', propertyName: 'lastname' },
          { columnObjectTypeId: '0-3', columnName: 'Deal name', propertyName: 'dealname' }
        ]
      }
    }]
  }
  const first = await h.run(account, request, { 'people.csv': csv })
  const second = await h.run(account, request, { 'people.csv': csv })
  t.same([...first.errors, ...second.errors], [])
  const contacts = await recordsOf(h, account, '0-1')
  t.same(contacts.find((c) => c.id === Number(taylor.id))?.properties, { email: 'TAYLOR@doose.com', firstname: 'Taylor', lastname: 'Doose', phone: '555' }, 'Taylor updated: lastname set, the others kept')
  t.equal(contacts.filter((c) => c.properties.firstname === 'Kirk').length, 2, 'Kirk has no identifier: one new contact per import (the duplicates HubSpot warns about)')
  t.equal((await recordsOf(h, account, '0-3')).length, 2, 'deals have no unique identifier either')
  t.match(first.counters, { CREATED_OBJECTS: 2, UPDATED_OBJECTS: 1, UNIQUE_OBJECTS_WRITTEN: 3, PROPERTY_VALUES_EMITTED: 5, ASSOCIATIONS_CREATED: 1 })
  t.match(second.counters, { CREATED_OBJECTS: 2, UPDATED_OBJECTS: 1 })
})

t.test('importOperations: CREATE refuses existing records (CREATE_ONLY_IMPORT), UPDATE refuses new ones (UPDATE_ONLY_IMPORT)', async (t) => {
  const account = await newAccount(h)
  await createLabel(h, account, 'Manager')
  await createLabel(h, account, 'Contractor')
  await h.services.recordsBatch.createOne(account, 'companies', { properties: { domain: 'lukes-diner.com' } })
  const createOnly = await h.run(account, lukeRequest({ '0-2': 'CREATE' }), { 'luke-danes.csv': fixture('luke-danes.csv') })
  t.same(createOnly.errors.map((e) => [e.errorType, e.lineNumber, e.objectTypeId]), [['CREATE_ONLY_IMPORT', 2, '0-2']])
  t.equal((await recordsOf(h, account, '0-1')).length, 1, 'Luke created by the second row only')
  const other = await newAccount(h)
  await createLabel(h, other, 'Manager')
  await createLabel(h, other, 'Contractor')
  await h.services.recordsBatch.createOne(other, 'companies', { properties: { domain: 'lukes-diner.com' } })
  const updateOnly = await h.run(other, lukeRequest({ COMPANY: 'UPDATE', contacts: 'UPSERT' }), { 'luke-danes.csv': fixture('luke-danes.csv') })
  t.same(updateOnly.errors.map((e) => [e.errorType, e.lineNumber, e.objectTypeId]), [['UPDATE_ONLY_IMPORT', 3, '0-2']])
  t.same((await recordsOf(h, other, '0-2')).map((r) => r.properties), [{ domain: 'lukes-diner.com', name: "Luke's Diner" }], 'the existing company was updated, no new one')
})

t.test('the per-record cap and per-label limits hold as in the API: the breaking row is an error and writes nothing', async (t) => {
  const capped = applierOn(db, { MAX_ASSOCIATIONS_PER_TYPE: 2 })
  const account = await newAccount(capped)
  const csv = 'Email,Company domain\nluke@lukes-diner.com,lukes-diner.com\nluke@lukes-diner.com,dragonflyinn.com\nluke@lukes-diner.com,doose.com\nkirk@stars-hollow.gov,doose.com\n'
  const request = simpleRequest('cap.csv', [['Email', '0-1', 'email'], ['Company domain', '0-2', 'domain']])
  for (const chunkSize of [2000, 2]) {
    const result = await capped.run(account, request, { 'cap.csv': csv }, chunkSize)
    t.match(result.errors, [{ errorType: 'ASSOCIATION_LIMIT_EXCEEDED', lineNumber: 4, errorMessage: /limit of 2/ }], `chunks of ${chunkSize}: the third company of Luke's is refused`)
    t.equal(result.errors.length, 1)
  }
  const luke = await findBy(capped, account, '0-1', 'email', 'luke@lukes-diner.com')
  t.equal((await edgesOf(capped, account, '0-1', luke.id)).filter((e) => e.type_id === 279).length, 2, 'Luke has two companies')
  const doose = await findBy(capped, account, '0-2', 'domain', 'doose.com')
  t.same((await edgesOf(capped, account, '0-2', doose.id)).map((e) => e.type_id), [2, 280], 'doose.com exists through Kirk\'s row only, and is his primary')

  const limited = await newAccount(h)
  const manager = await createLabel(h, limited, 'Manager')
  await createLabel(h, limited, 'Contractor')
  await h.services.limits.create(limited, 'contacts', 'companies', [{ category: 'USER_DEFINED', typeId: manager, maxToObjectIds: 1 }])
  const twoManagers = fixture('luke-danes.csv').replace('Contractor', 'Manager')
  const result = await h.run(limited, lukeRequest(), { 'luke-danes.csv': twoManagers })
  t.match(result.errors, [{ errorType: 'ASSOCIATION_LIMIT_EXCEEDED', lineNumber: 3, errorMessage: /labelled 'Manager'/ }])
  t.same((await recordsOf(h, limited, '0-2')).map((r) => r.properties.domain), ['lukes-diner.com'], 'the Dragonfly Inn row wrote nothing: no company')
  t.same((await recordsOf(h, limited, '0-1')).map((r) => r.properties.email), ['luke@lukes-diner.com'], 'Luke was written by his first row')
})

t.test('two files linked by a common column: the contacts file is applied first, the companies point at contacts by email', async (t) => {
  const account = await newAccount(h)
  const request = {
    name: 'two files',
    files: [fileSpec('applier-two-files-companies.csv', [
      { columnObjectTypeId: '0-2', columnName: 'Company name', propertyName: 'name' },
      { columnObjectTypeId: '0-2', columnName: 'Company domain name', propertyName: 'domain', columnType: 'HUBSPOT_ALTERNATE_ID' },
      { columnObjectTypeId: '0-2', toColumnObjectTypeId: '0-1', columnName: 'Email', propertyName: null, foreignKeyType: { associationTypeId: 280, associationCategory: 'HUBSPOT_DEFINED' } }
    ]), fileSpec('applier-two-files-contacts.csv', [
      { columnObjectTypeId: '0-1', columnName: 'First name', propertyName: 'firstname' },
      { columnObjectTypeId: '0-1', columnName: 'Last name', propertyName: 'lastname' },
      { columnObjectTypeId: '0-1', columnName: 'Email', propertyName: 'email', associationIdentifierColumn: true }
    ])]
  }
  const result = await h.run(account, request, {
    'applier-two-files-companies.csv': fixture('applier-two-files-companies.csv'),
    'applier-two-files-contacts.csv': fixture('applier-two-files-contacts.csv')
  })
  t.same(result.fileOrder, ['applier-two-files-contacts.csv', 'applier-two-files-companies.csv'], 'the file owning the common column comes first')
  t.match(result.errors, [{ errorType: 'ASSOCIATION_RECORD_NOT_FOUND', lineNumber: 4, knownColumnNumber: 2, invalidValue: 'paris@chilton.edu' }])
  t.equal(result.errors.length, 1)
  const rory = await findBy(h, account, '0-1', 'email', 'rory@yale.edu')
  const yale = await findBy(h, account, '0-2', 'domain', 'yale.edu')
  t.same(await edgesOf(h, account, '0-1', rory.id), [{ to_id: yale.id, type_id: 1, is_primary: true }, { to_id: yale.id, type_id: 279, is_primary: false }])
  t.same(rory.properties, { firstname: 'Rory', lastname: 'Gilmore', email: 'rory@yale.edu' })
  t.equal((await recordsOf(h, account, '0-2')).length, 2, 'Chilton\'s row pointed at no contact and wrote nothing')
})

t.test('associate by record ID: a company ID column with foreignKeyType 1 (primary) or 279 (unlabeled); the record ID column', async (t) => {
  const account = await newAccount(h)
  const companies: number[] = []
  for (const domain of ['a.com', 'b.com', 'c.com']) companies.push(Number((await h.services.recordsBatch.createOne(account, 'companies', { properties: { domain } })).id))
  const [a, b, c] = companies as [number, number, number]
  const luke = Number((await h.services.recordsBatch.createOne(account, 'contacts', { properties: { email: 'luke@lukes-diner.com' } })).id)
  const pair = await h.services.associationTypes.resolvePair(account, 'contacts', 'companies')
  await h.services.associationsBatch.addLabels(account, pair, [{ from: { id: String(luke) }, to: { id: String(a) }, types: [] }])
  const request = (typeId: number) => ({
    files: [{
      fileName: 'ids.csv',
      fileImportPage: {
        hasHeader: true,
        columnMappings: [
          // The older spelling of the guide's "Examples" section.
          { ignored: false, columnName: 'Record ID', idColumnType: 'HUBSPOT_OBJECT_ID', propertyName: 'hs_object_id', foreignKeyType: null, columnObjectType: 'CONTACT', associationIdentifierColumn: false },
          { ignored: false, columnName: 'First Name', idColumnType: null, propertyName: 'firstname', foreignKeyType: null, columnObjectType: 'CONTACT', associationIdentifierColumn: false },
          { ignored: false, columnName: 'Company ID', idColumnType: 'HUBSPOT_OBJECT_ID', propertyName: null, foreignKeyType: { associationCategory: 'HUBSPOT_DEFINED', associationTypeId: typeId }, columnObjectType: 'CONTACT', associationIdentifierColumn: false }
        ]
      }
    }]
  })
  const unlabeled = await h.run(account, request(279), { 'ids.csv': `Record ID,First Name,Company ID\n${luke},Luke,${b}\n999999,Nobody,${b}\n${luke},,123456789\n` })
  t.same(unlabeled.errors.map((e) => [e.errorType, e.lineNumber, e.knownColumnNumber]), [['INVALID_RECORD_ID', 3, 0], ['UNKNOWN_ASSOCIATION_RECORD_ID', 4, 2]])
  t.same((await edgesOf(h, account, '0-1', luke)).filter((e) => e.is_primary).map((e) => e.to_id), [a], '279 adds b unlabeled; a stays primary')
  t.same((await recordsOf(h, account, '0-1')).map((r) => r.properties), [{ email: 'luke@lukes-diner.com', firstname: 'Luke' }], 'found by record ID, updated')
  const primary = await h.run(account, request(1), { 'ids.csv': `Record ID,First Name,Company ID\n${luke},,${c}\n` })
  t.same(primary.errors, [])
  const edges = await edgesOf(h, account, '0-1', luke)
  t.same(edges.filter((e) => e.is_primary).map((e) => e.to_id), [c], 'typeId 1 makes c the primary company')
  t.same(edges.filter((e) => e.type_id === 279).map((e) => e.to_id), [a, b, c], 'the old primary stays associated')
})

t.test('a custom unique property finds the record; another record\'s identifier is DUPLICATE_UNIQUE_PROPERTY_VALUE', async (t) => {
  const account = await newAccount(h)
  const schema = await h.services.objectTypes.createSchema(account, {
    name: 'pets', labels: { singular: 'Pet', plural: 'Pets' },
    properties: [{ name: 'tag', label: 'Tag', hasUniqueValue: true }, { name: 'species', label: 'Species' }]
  })
  const rex = Number((await h.services.recordsBatch.createOne(account, 'pets', { properties: { tag: 'T-1', species: 'dog' } })).id)
  await h.services.recordsBatch.createOne(account, 'contacts', { properties: { email: 'kirk@stars-hollow.gov' } })
  const request = {
    files: [{
      fileName: 'pets.csv',
      fileImportPage: {
        columnMappings: [
          { columnObjectTypeId: schema.objectTypeId, columnName: 'Tag', propertyName: 'tag' },
          { columnObjectTypeId: schema.objectTypeId, columnName: 'Species', propertyName: 'species' },
          { columnObjectTypeId: '0-1', columnName: 'Owner', propertyName: 'email' },
          { columnObjectTypeId: '0-1', columnName: 'Id', propertyName: 'hs_object_id' }
        ]
      }
    }]
  }
  const kirkId = (await findBy(h, account, '0-1', 'email', 'kirk@stars-hollow.gov')).id
  await h.services.recordsBatch.createOne(account, 'contacts', { properties: { email: 'taylor@doose.com' } })
  const csv = `Tag,Species,Owner,Id\nT-1,cat,kirk@stars-hollow.gov,\nT-2,pig,kirk@stars-hollow.gov,${kirkId}\nT-3,owl,luke@lukes-diner.com,${kirkId}\nT-4,emu,taylor@doose.com,${kirkId}\n`
  const result = await h.run(account, request, { 'pets.csv': csv })
  t.same(result.errors.map((e) => [e.errorType, e.lineNumber, e.knownColumnNumber, e.invalidValue]), [['DUPLICATE_UNIQUE_PROPERTY_VALUE', 5, 2, 'taylor@doose.com']],
    'Kirk (by record ID) cannot take Taylor\'s email')
  t.same((await recordsOf(h, account, schema.objectTypeId)).map((r) => [r.id === rex, r.properties]), [
    [true, { tag: 'T-1', species: 'cat' }], [false, { tag: 'T-2', species: 'pig' }], [false, { tag: 'T-3', species: 'owl' }]
  ], 'T-1 found and updated, T-2 and T-3 created')
  t.same((await edgesOf(h, account, schema.objectTypeId, rex)).map((e) => e.to_id), [kirkId], 'the custom pair is associated too')
  t.same((await recordsOf(h, account, '0-1')).map((r) => r.properties.email), ['luke@lukes-diner.com', 'taylor@doose.com'], 'the record ID found Kirk, whose email the third row changed')
  t.equal((await recordsOf(h, account, schema.objectTypeId)).length, 3, 'T-4 was not created')
  const keys = await db.selectFrom('record_keys').select(['value', 'record_id']).where('account_id', '=', account).where('property', '=', 'email').orderBy('value').execute()
  t.same(keys, [{ value: 'luke@lukes-diner.com', record_id: kirkId }, { value: 'taylor@doose.com', record_id: keys[1]?.record_id }], 'Kirk\'s old email key was replaced')
})

for (const lookAhead of [false, true]) {
  t.test(`identifiers and values the chunk before wrote are seen by the next chunk${lookAhead ? ', read ahead before that chunk committed' : ''}`, async (t) => {
    const account = await newAccount(h)
    const kirk = Number((await h.services.recordsBatch.createOne(account, 'contacts', { properties: { email: 'old@kirk.com', firstname: 'Kirk' } })).id)
    const request = {
      files: [fileSpec('contacts.csv', [
        { columnObjectTypeId: '0-1', columnName: 'Id', propertyName: 'hs_object_id' },
        { columnObjectTypeId: '0-1', columnName: 'Email', propertyName: 'email' },
        { columnObjectTypeId: '0-1', columnName: 'First name', propertyName: 'firstname' }
      ])]
    }
    // One row per chunk; with the look-ahead, each row was looked up before the row above it was applied.
    const csv = [
      'Id,Email,First name',
      `${kirk},new@kirk.com,Kirk`, // Kirk's email replaced: old@kirk.com is free again
      ',old@kirk.com,Olga', // so this is a new contact, not Kirk
      ',lorelai@gilmore.com,Lorelai', // a new contact and key
      ',lorelai@gilmore.com,Lor', // finds her (the key the row above added)
      ',lorelai@gilmore.com,Lorelai' // changes her name back (the value the row above changed)
    ].join('\n') + '\n'
    const result = await h.run(account, request, { 'contacts.csv': csv }, 1, { lookAhead })
    t.same(result.errors, [])
    t.same((await recordsOf(h, account, '0-1')).map((r) => [r.id === kirk, r.properties]), [
      [true, { email: 'new@kirk.com', firstname: 'Kirk' }],
      [false, { email: 'old@kirk.com', firstname: 'Olga' }],
      [false, { email: 'lorelai@gilmore.com', firstname: 'Lorelai' }]
    ])
    t.match(result.counters, { CREATED_OBJECTS: 2, UPDATED_OBJECTS: 3, ROWS_APPLIED: 5, ERRORS: 0 })
  })
}

t.test('a look-ahead read before a label existed is parsed again when the chunk is applied; one of other rows is not used', async (t) => {
  const account = await newAccount(h)
  const plan = await h.applier.plan(account, lukeRequest(), ['luke-danes.csv'])
  const rows = csvRows(fixture('luke-danes.csv'))
  const read = await h.applier.lookAhead(db, account, plan, 0, rows)
  const manager = await createLabel(h, account, 'Manager')
  await createLabel(h, account, 'Contractor')
  const outcome = await db.transaction().execute(async (trx) => await h.applier.applyChunk(trx, account, plan, 0, rows, { read, writtenSince: [] }))
  t.same(outcome.errors, [], 'the labels created after the look-ahead are found')
  const luke = (await recordsOf(h, account, '0-1'))[0]?.id as number
  t.ok((await edgesOf(h, account, '0-1', luke)).some((e) => e.type_id === manager), 'and applied')

  const other = await h.applier.lookAhead(db, account, plan, 0, csvRows('Email,First name,Company domain,Company name,Association label\nsookie@dragonflyinn.com,Sookie,dragonflyinn.com,Dragonfly Inn,\n'))
  const again = await db.transaction().execute(async (trx) => await h.applier.applyChunk(trx, account, plan, 0, rows, { read: other, writtenSince: [] }))
  t.same(again.errors, [])
  t.equal((await recordsOf(h, account, '0-1')).length, 1, 'the rows applied are the chunk\'s own: Luke found again, no Sookie')
})

t.test('a link\'s pairs are read unlocked first only while the chunk before left most of them unchanged', async (t) => {
  const counter = statementCounter()
  const counted = applierOn(db.withPlugin(counter))
  const account = await newAccount(counted)
  await createLabel(counted, account, 'Manager')
  const plan = await counted.applier.plan(account, lukeRequest(), ['luke-danes.csv'])
  const rows = csvRows(`header\n${Array.from({ length: 20 }, (_, i) => `c${i}@example.com,C${i},d${i}.example.com,D${i},Manager`).join('\n')}\n`)
  const apply = async () => {
    counter.count = 0
    const outcome = await db.transaction().execute(async (trx) => await counted.applier.applyChunk(trx.withPlugin(counter), account, plan, 0, rows))
    t.same(outcome.errors, [])
    return { statements: counter.count, created: outcome.counters.ASSOCIATIONS_CREATED, labels: outcome.counters.LABELS_ADDED }
  }
  t.match(await apply(), { created: 20, labels: 20 }, 'first chunk: every pair new')
  const afterChanges = await apply()
  const afterUnchanged = await apply()
  t.match(afterChanges, { created: 0, labels: 0 }, 'the same rows again change nothing')
  t.match(afterUnchanged, { created: 0, labels: 0 }, 'nor a third time')
  t.ok(afterChanges.statements > afterUnchanged.statements, `after a chunk of changes the pairs are locked and read once (${afterChanges.statements} statements); after a chunk of unchanged pairs, read unlocked first (${afterUnchanged.statements})`)
  t.equal(await countRows(counted, 'associations', account), 20 * 6, 'rows as one import writes them: unlabeled, primary and label, both ways')
})

t.test('a chunk is a constant number of statements, whatever its size (one round, and two when a row fails at write time)', async (t) => {
  const counter = statementCounter()
  const counted = applierOn(db.withPlugin(counter), { MAX_ASSOCIATIONS_PER_TYPE: 1 })
  const account = await newAccount(counted)
  await createLabel(counted, account, 'Manager')
  const measure = async (n: number, tag: string, failing: boolean): Promise<number> => {
    // Each measure the first chunk of its own plan: the paths a chunk takes depend on the chunk before it.
    const plan = await counted.applier.plan(account, lukeRequest(), ['luke-danes.csv'])
    const lines = Array.from({ length: n }, (_, i) => `c${i}-${tag}@example.com,C${i},d${i}-${tag}.example.com,D${i},Manager`)
    // A second company for the first contact breaks the cap of 1 after the records are written: a second round.
    if (failing) lines.push(`c0-${tag}@example.com,,extra-${tag}.example.com,,`)
    const rows = csvRows(`header\n${lines.join('\n')}\n`)
    counter.count = 0
    const outcome = await db.transaction().execute(async (trx) => await counted.applier.applyChunk(trx.withPlugin(counter), account, plan, 0, rows))
    t.equal(outcome.counters.ROWS_APPLIED, n, `${n} rows applied`)
    t.equal(outcome.errors.length, failing ? 1 : 0)
    return counter.count
  }
  const small = await measure(10, 'a', false)
  const large = await measure(1000, 'b', false)
  t.equal(large, small, `1,000 rows take as many statements as 10 (${small})`)
  const smallTwice = await measure(10, 'c', true)
  const largeTwice = await measure(1000, 'd', true)
  t.equal(largeTwice, smallTwice, `with a failing row, 1,000 rows take as many statements as 10 (${smallTwice})`)
  t.ok(smallTwice > small && smallTwice <= 2 * small, `the failing row costs one more round (${small} -> ${smallTwice})`)
  t.equal((await recordsOf(counted, account, '0-2')).filter((r) => r.properties.domain?.startsWith('extra-')).length, 0, 'the failed rows\' companies were rolled back')
})
