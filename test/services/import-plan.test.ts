// importRequest -> plan: HubSpot's field names old and new, file order for two-file imports, and a 400 naming the
// column or file for every request the applier cannot run.
import t from 'tap'
import { applierDatabase, applierOn, fileSpec, newAccount } from '../helpers/import-applier.js'
import type { CompiledPlan } from '../../src/services/import-plan.js'

const db = await applierDatabase(t)
const h = applierOn(db)
const account = await newAccount(h)
await h.services.objectTypes.createSchema(account, {
  name: 'pets', labels: { singular: 'Pet', plural: 'Pets' }, properties: [{ name: 'tag', label: 'Tag', hasUniqueValue: true }, { name: 'species', label: 'Species' }]
})

const contactsFile = (mappings: unknown[], extra: Record<string, unknown> = {}) => ({ name: 'plan test', ...extra, files: [fileSpec('contacts.csv', mappings)] })
const plan = async (request: unknown, uploaded = ['contacts.csv']) => await h.applier.plan(account, request, uploaded)

t.test('the current and the older field names compile to the same plan', async (t) => {
  const current = await plan(contactsFile([
    { columnObjectTypeId: '0-1', columnName: 'Record ID', propertyName: 'hs_object_id', columnType: 'HUBSPOT_OBJECT_ID' },
    { columnObjectTypeId: '0-1', columnName: 'Email', propertyName: 'email', columnType: 'HUBSPOT_ALTERNATE_ID' },
    { columnObjectTypeId: '0-1', columnName: 'Skip me', ignored: true },
    { columnObjectTypeId: '0-1', columnName: 'Company ID', propertyName: null, columnType: 'HUBSPOT_OBJECT_ID', foreignKeyType: { associationTypeId: 1, associationCategory: 'HUBSPOT_DEFINED' } }
  ]))
  const legacy = await plan(contactsFile([
    { ignored: false, columnName: 'Record ID', idColumnType: 'HUBSPOT_OBJECT_ID', propertyName: 'hs_object_id', foreignKeyType: null, columnObjectType: 'CONTACT', associationIdentifierColumn: false },
    { ignored: false, columnName: 'Email', idColumnType: 'HUBSPOT_ALTERNATE_ID', propertyName: 'email', foreignKeyType: null, columnObjectType: 'CONTACT', associationIdentifierColumn: false },
    { ignored: true, columnName: 'Skip me', idColumnType: null, propertyName: null, foreignKeyType: null, columnObjectType: 'CONTACT', associationIdentifierColumn: false },
    { ignored: false, columnName: 'Company ID', idColumnType: 'HUBSPOT_OBJECT_ID', propertyName: null, foreignKeyType: { associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 1 }, columnObjectType: 'CONTACT', associationIdentifierColumn: false }
  ]))
  t.same(legacy, current)
  t.same(current.files, [{ fileName: 'contacts.csv', hasHeader: true, columnNames: ['Record ID', 'Email', 'Skip me', 'Company ID'] }])
  t.same(current.mappedObjectTypeIds, ['0-1', '0-2'])
  const compiled = current.compiled as CompiledPlan
  t.same(compiled.files[0]?.slots, [
    { typeId: '0-1', kind: 'own', operation: 'UPSERT', keyColumns: [{ column: 1, property: 'email' }], properties: [{ column: 1, name: 'email' }], idColumn: 0 },
    { typeId: '0-2', kind: 'ref', operation: 'UPSERT', keyColumns: [], properties: [], idColumn: 3 }
  ], 'the record ID and email find the contact; the company ID points at a company')
  t.same(compiled.files[0]?.links, [{ from: 0, to: 1, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 1 }], labels: [] }], 'foreignKeyType 1: the primary type')
  t.same(JSON.parse(JSON.stringify(current)), current, 'the plan is plain JSON')
})

t.test('importOperations by type id or name; dateFormat; the column declared HUBSPOT_ALTERNATE_ID is tried first', async (t) => {
  const p = await plan(contactsFile([
    { columnObjectTypeId: 'pets', columnName: 'Species', propertyName: 'species' },
    { columnObjectTypeId: '0-1', columnName: 'Email', propertyName: 'email' },
    { columnObjectTypeId: 'pets', columnName: 'Tag', propertyName: 'tag', columnType: 'HUBSPOT_ALTERNATE_ID' }
  ], { importOperations: { contacts: 'CREATE', '0-2': 'UPDATE' }, dateFormat: 'DAY_MONTH_YEAR' }))
  const compiled = p.compiled as CompiledPlan
  t.equal(compiled.dateFormat, 'DAY_MONTH_YEAR')
  t.same(compiled.files[0]?.slots.map((s) => [s.typeId.startsWith('2-') ? 'pets' : s.typeId, s.operation, s.keyColumns]), [
    ['pets', 'UPSERT', [{ column: 2, property: 'tag' }]],
    ['0-1', 'CREATE', [{ column: 1, property: 'email' }]]
  ])
  t.equal(compiled.files[0]?.links.length, 1, 'the pet and the contact of a row are associated')
})

t.test('two files: the file owning the common column is planned first, whatever the request order', async (t) => {
  const request = {
    name: 'two files',
    files: [
      fileSpec('companies.csv', [
        { columnObjectTypeId: '0-2', columnName: 'Domain', propertyName: 'domain' },
        { columnObjectTypeId: '0-2', toColumnObjectTypeId: '0-1', columnName: 'Email', propertyName: null, foreignKeyType: { associationTypeId: 280, associationCategory: 'HUBSPOT_DEFINED' } },
        { columnName: 'Label', columnType: 'FLEXIBLE_ASSOCIATION_LABEL', columnObjectTypeId: '0-1', toColumnObjectTypeId: '0-2' }
      ]),
      fileSpec('contacts.csv', [{ columnObjectTypeId: '0-1', columnName: 'Email', propertyName: 'email', associationIdentifierColumn: true }], false)
    ]
  }
  const p = await plan(request, ['contacts.csv', 'companies.csv'])
  t.same(p.files.map((f) => [f.fileName, f.hasHeader]), [['contacts.csv', false], ['companies.csv', true]])
  const companies = (p.compiled as CompiledPlan).files[1]
  t.same(companies?.slots[1], { typeId: '0-1', kind: 'ref', operation: 'UPSERT', keyColumns: [{ column: 1, property: 'email' }], properties: [] }, 'the Email column finds contacts by email')
  t.same(companies?.links, [{ from: 0, to: 1, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 280 }], labels: [{ column: 2, reverse: true }] }],
    'the label column (contact -> company) describes the company -> contact link, in reverse')
})

const label = { columnName: 'Label', columnType: 'FLEXIBLE_ASSOCIATION_LABEL', columnObjectTypeId: '0-1', toColumnObjectTypeId: '0-2' }
const email = { columnObjectTypeId: '0-1', columnName: 'Email', propertyName: 'email' }
const cases: Array<[string, unknown, RegExp, string[]?]> = [
  ['not an object', '{"files": []}', /must be a JSON object/],
  ['no files', { files: [] }, /at least one file/],
  ['a file not uploaded', { files: [fileSpec('other.csv', [email])] }, /file 'other\.csv' was not uploaded/],
  ['an uploaded file not described', contactsFile([email]), /Uploaded file 'extra\.csv' is not described/, ['contacts.csv', 'extra.csv']],
  ['a file described twice', { files: [fileSpec('contacts.csv', [email]), fileSpec('contacts.csv', [email])] }, /'contacts\.csv' is described twice/],
  ['a file without mappings', { files: [fileSpec('contacts.csv', [])] }, /File 'contacts\.csv': fileImportPage\.columnMappings/],
  ['a spreadsheet', { files: [{ ...fileSpec('contacts.csv', [email]), fileFormat: 'SPREADSHEET' }] }, /fileFormat 'SPREADSHEET' is not supported/],
  ['an unknown object type', contactsFile([{ ...email, columnObjectTypeId: '2-999999' }]), /column 'Email': unknown object type '2-999999'/],
  ['an unknown legacy object type', contactsFile([{ columnObjectType: 'LINE_ITEM', columnName: 'SKU', propertyName: 'sku' }]), /column 'SKU': unknown object type 'LINE_ITEM'/],
  ['a column without object type', contactsFile([{ columnName: 'Email', propertyName: 'email' }]), /column 'Email': columnObjectTypeId .* is required/],
  ['an unknown property of a custom object', contactsFile([{ columnObjectTypeId: 'pets', columnName: 'Colour', propertyName: 'colour' }]), /column 'Colour': pets has no property 'colour'/],
  ['a read-only property', contactsFile([{ ...email, columnName: 'Created', propertyName: 'createdate' }]), /Property 'createdate' is read-only/],
  ['a property mapped twice', contactsFile([email, { ...email, columnName: 'Email 2' }]), /column 'Email 2': property 'email' of contacts is mapped twice/],
  ['a column with no property', contactsFile([email, { columnObjectTypeId: '0-1', columnName: 'Notes', propertyName: null }]), /column 'Notes': no propertyName/],
  ['HUBSPOT_ALTERNATE_ID on a plain property', contactsFile([{ columnObjectTypeId: '0-1', columnName: 'Name', propertyName: 'firstname', columnType: 'HUBSPOT_ALTERNATE_ID' }]), /column 'Name': HUBSPOT_ALTERNATE_ID needs a unique property/],
  ['an unknown columnType', contactsFile([{ ...email, columnType: 'EVENT_TIMESTAMP' }]), /column 'Email': columnType 'EVENT_TIMESTAMP' is not supported/],
  ['a label column without its pair', contactsFile([email, { ...label, toColumnObjectTypeId: undefined }]), /column 'Label': a FLEXIBLE_ASSOCIATION_LABEL column needs toColumnObjectTypeId/],
  ['a label column with no such pair in the file', contactsFile([email, label]), /column 'Label': no pair of contacts and companies records/],
  ['a foreign key of another pair', contactsFile([email, { columnObjectTypeId: '0-1', toColumnObjectTypeId: '0-2', columnName: 'Deal', propertyName: null, columnType: 'HUBSPOT_OBJECT_ID', foreignKeyType: { associationTypeId: 3, associationCategory: 'HUBSPOT_DEFINED' } }]), /column 'Deal': foreignKeyType HUBSPOT_DEFINED 3 is not an association type between contacts and companies/],
  ['a foreign key without own record', contactsFile([{ columnObjectTypeId: '0-3', columnName: 'Company ID', propertyName: null, columnType: 'HUBSPOT_OBJECT_ID', foreignKeyType: { associationTypeId: 341, associationCategory: 'HUBSPOT_DEFINED' } }]), /column 'Company ID': the row has no deals of its own/],
  ['a common column that is no identifier', { files: [fileSpec('contacts.csv', [{ columnObjectTypeId: '0-1', columnName: 'Name', propertyName: 'firstname', associationIdentifierColumn: true }])] }, /column 'Name': an associationIdentifierColumn must map a unique identifier/],
  ['a bad operation', contactsFile([email], { importOperations: { '0-1': 'MERGE' } }), /importOperations: 'MERGE'/],
  ['a bad date format', contactsFile([email], { dateFormat: 'DD/MM/YYYY' }), /dateFormat 'DD\/MM\/YYYY'/]
]
for (const [what, request, message, uploaded] of cases) {
  t.test(`400: ${what}`, async (t) => {
    await t.rejects(plan(request, uploaded), { statusCode: 400, code: 'ASSOC_INVALID_INPUT', message })
  })
}
