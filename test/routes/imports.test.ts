// Imports API v3 wire contract (IMPORTS.md §1-2, §7): the multipart upload in its shapes, 200 with a full
// PublicImportResponse, storage before the answer, 400/404/409/429 bodies, scope, list paging, errors, cancel, aliases.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { build, createOtherAccount } from '../helpers/app.js'
import { expectError } from '../helpers/assertions.js'
import { contactCompanyRequest, importErrors, multipart, pipelineFixture, startImport, tempImportDir, waitForImport } from '../helpers/import-pipeline.js'

const importDir = tempImportDir(t)
const ta = await build(t, { IMPORT_DIR: importDir, IMPORT_MAX_FILE_BYTES: 4096 })
await ta.app.ready()
const csv = 'Email,Company domain\nrory@yale.edu,yale.edu\n'
const request = contactCompanyRequest('contacts.csv', { name: 'Yale' })

async function contactEmails (): Promise<string[]> {
  const rows = await ta.app.db.selectFrom('records').select('properties').where('account_id', '=', ta.accountId)
    .where('object_type', '=', '0-1').orderBy('id').execute()
  return rows.map((r) => r.properties.email ?? '')
}

t.test('create answers 200 with the whole import; the rows are applied afterwards', async (t) => {
  const res = await startImport(ta, request, [{ name: 'contacts.csv', data: csv }])
  t.equal(res.statusCode, 200, res.statusCode === 200 ? 'status 200' : res.body)
  t.equal(res.headers['content-type'], 'application/json;charset=utf-8')
  const body = res.json()
  t.match(body, {
    id: /^[0-9]+$/,
    state: /^(STARTED|DEFERRED)$/,
    createdAt: String,
    updatedAt: String,
    metadata: { counters: Object, fileIds: [/^[0-9]+$/], objectLists: [] },
    mappedObjectTypeIds: ['0-1', '0-2'],
    optOutImport: false,
    importName: 'Yale',
    importRequestJson: request,
    importSource: 'API'
  })
  t.ok(!Number.isNaN(Date.parse(body.createdAt)), 'createdAt is a date-time')
  const done = await waitForImport(ta, body.id)
  t.equal(done.state, 'DONE')
  t.match(done.metadata.counters, { TOTAL_ROWS: 1, PROCESSED_ROWS: 1, CREATED_OBJECTS: 2, UPDATED_OBJECTS: 0 })
  t.ok((await contactEmails()).includes('rory@yale.edu'), 'the contact was written')
})

t.test('parts in either order, importRequest typed or not, as a file part; several files', async (t) => {
  const json = JSON.stringify(contactCompanyRequest('a.csv'))
  const shapes = {
    'files first, untyped importRequest (the official client)': [
      { name: 'files', filename: 'a.csv', contentType: 'text/csv', data: 'Email,Company domain\nfirst@a.example,a.example\n' },
      { name: 'importRequest', data: json }],
    'typed application/json importRequest without filename (curl -F ...;type=application/json)': [
      { name: 'files', filename: 'a.csv', contentType: 'text/csv', data: 'Email,Company domain\ntyped@a.example,a.example\n' },
      { name: 'importRequest', contentType: 'application/json', data: json }],
    'importRequest first, as a file part (curl -F importRequest=@request.json)': [
      { name: 'importRequest', filename: 'request.json', contentType: 'application/json', data: json },
      { name: 'files', filename: 'a.csv', data: 'Email,Company domain\nfile@a.example,a.example\n' }]
  }
  for (const [shape, parts] of Object.entries(shapes)) {
    const res = await ta.request({ method: 'POST', url: '/crm/v3/imports', ...multipart(parts) })
    t.equal(res.statusCode, 200, res.statusCode === 200 ? shape : res.body)
    t.equal((await waitForImport(ta, res.json().id)).state, 'DONE', shape)
  }
  const emails = await contactEmails()
  for (const email of ['first@a.example', 'typed@a.example', 'file@a.example']) t.ok(emails.includes(email), `${email} imported`)

  const twoFiles = {
    name: 'two files',
    files: ['one.csv', 'two.csv'].map((fileName) => contactCompanyRequest(fileName).files).flat()
  }
  const res = await startImport(ta, twoFiles, [
    { name: 'two.csv', data: 'Email,Company domain\ntwo@b.example,b.example\n' },
    { name: 'one.csv', data: 'Email,Company domain\none@b.example,b.example\n' }
  ])
  t.equal(res.statusCode, 200, res.statusCode === 200 ? 'status 200' : res.body)
  t.equal(res.json().metadata.fileIds.length, 2, 'one file id per file')
  const done = await waitForImport(ta, res.json().id)
  t.match(done, { state: 'DONE', metadata: { counters: { TOTAL_ROWS: 2, PROCESSED_ROWS: 2 } } })
})

t.test('the upload is stored and committed before the 200; the files are removed once the import is done', async (t) => {
  await ta.app.services.importRunner.stop()
  t.teardown(async () => { await ta.app.services.importRunner.start() })
  const res = await startImport(ta, contactCompanyRequest('stored.csv'), [{ name: 'stored.csv', data: csv }])
  t.equal(res.statusCode, 200, res.statusCode === 200 ? 'status 200' : res.body)
  t.equal(res.json().state, 'STARTED')
  const files = await ta.app.db.selectFrom('import_files').selectAll().where('import_id', '=', Number(res.json().id)).execute()
  t.equal(files.length, 1)
  const stored = files[0]!
  t.ok(stored.path.startsWith(importDir), 'stored under IMPORT_DIR')
  t.equal(readFileSync(stored.path, 'utf8'), csv, 'the stored file is the upload, byte for byte')
  t.equal(stored.bytes, Buffer.byteLength(csv))
  t.same(readdirSync(join(importDir, '.incoming')), [], 'no temporary file left')
  await ta.app.services.importRunner.start()
  t.equal((await waitForImport(ta, res.json().id)).state, 'DONE')
  // The runner removes the file right after committing DONE (never before: a crash in between must find it again).
  for (let waited = 0; existsSync(stored.path) && waited < 5000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50))
  t.notOk(existsSync(stored.path), 'the stored file is removed once the import is DONE')
})

t.test('bad requests: 400 at once, naming what is wrong, nothing stored', async (t) => {
  const file = { name: 'files', filename: 'contacts.csv', contentType: 'text/csv', data: csv }
  const cases: Array<[string, Parameters<typeof multipart>[0], RegExp]> = [
    ['no importRequest', [file], /no importRequest/],
    ['importRequest not JSON', [file, { name: 'importRequest', data: '{"name": ' }], /importRequest is not valid JSON/],
    ['typed importRequest not JSON', [file, { name: 'importRequest', contentType: 'application/json', data: 'nope' }], /importRequest is not valid JSON/],
    ['importRequest not an object', [file, { name: 'importRequest', data: '[1]' }], /must be a JSON object/],
    ['a file named in no fileName', [{ ...file, filename: 'other.csv' }, { name: 'importRequest', data: JSON.stringify(request) }], /other\.csv|contacts\.csv/],
    ['a fileName without its file', [{ name: 'importRequest', data: JSON.stringify(request) }], /contacts\.csv/],
    ['two files with one name', [file, file, { name: 'importRequest', data: JSON.stringify(request) }], /Two files are named "contacts.csv"/],
    ['an unknown field', [file, { name: 'importRequest', data: JSON.stringify(request) }, { name: 'mapping', data: '{}' }], /Unexpected form field "mapping"/],
    ['a plan error (unknown object type)', [file, {
      name: 'importRequest',
      data: JSON.stringify({ name: 'x', files: [{ fileName: 'contacts.csv', fileImportPage: { hasHeader: true, columnMappings: [{ columnObjectTypeId: '9-99', columnName: 'Email', propertyName: 'email' }] } }] })
    }], /9-99/]
  ]
  const before = await ta.app.db.selectFrom('imports').select('id').execute()
  for (const [what, parts, message] of cases) {
    const res = await ta.request({ method: 'POST', url: '/crm/v3/imports', ...multipart(parts) })
    const body = expectError(t, res, 400, 'VALIDATION_ERROR')
    t.match(body.message, message, what)
  }
  const notMultipart = await ta.request({ method: 'POST', url: '/crm/v3/imports', payload: request })
  t.match(expectError(t, notMultipart, 400, 'VALIDATION_ERROR').message, /multipart\/form-data/)
  t.equal((await ta.app.db.selectFrom('imports').select('id').execute()).length, before.length, 'no import was created')
  t.same(readdirSync(join(importDir, '.incoming')), [], 'every temporary upload was removed')
})

t.test('a file over IMPORT_MAX_FILE_BYTES is a 429 and its partial copy is removed', async (t) => {
  const big = 'Email,Company domain\n' + 'someone@example.com,example.com\n'.repeat(200)
  t.ok(big.length > 4096)
  for (const order of ['file first', 'request first']) {
    const parts = [{ name: 'files', filename: 'contacts.csv', contentType: 'text/csv', data: big }, { name: 'importRequest', data: JSON.stringify(request) }]
    const res = await ta.request({ method: 'POST', url: '/crm/v3/imports', ...multipart(order === 'file first' ? parts : parts.reverse()) })
    t.match(expectError(t, res, 429, 'RATE_LIMITS').message, /contacts\.csv is larger than the limit of 4096 bytes/, order)
  }
  t.same(readdirSync(join(importDir, '.incoming')), [], 'the partial file is removed')
})

t.test('404 for an unknown import or another account\'s; 403 without the crm.import scope', async (t) => {
  const res = await startImport(ta, contactCompanyRequest('mine.csv'), [{ name: 'mine.csv', data: csv }])
  const id = res.json().id as string
  await waitForImport(ta, id)
  expectError(t, await ta.request({ method: 'GET', url: '/crm/v3/imports/999999999' }), 404, 'OBJECT_NOT_FOUND')
  expectError(t, await ta.request({ method: 'GET', url: '/crm/v3/imports/999999999/errors' }), 404, 'OBJECT_NOT_FOUND')
  expectError(t, await ta.request({ method: 'POST', url: '/crm/v3/imports/999999999/cancel' }), 404, 'OBJECT_NOT_FOUND')
  expectError(t, await ta.request({ method: 'GET', url: '/crm/v3/imports/abc' }), 400, 'VALIDATION_ERROR')
  const other = await createOtherAccount(ta.app)
  expectError(t, await ta.request({ method: 'GET', url: `/crm/v3/imports/${id}`, key: other.key }), 404, 'OBJECT_NOT_FOUND')
  expectError(t, await ta.request({ method: 'POST', url: `/crm/v3/imports/${id}/cancel`, key: other.key }), 404, 'OBJECT_NOT_FOUND')
  const list = await ta.request({ method: 'GET', url: '/crm/v3/imports', key: other.key })
  t.same(list.json().results, [], 'another account lists none of them')

  const created = await ta.request({ method: 'POST', url: `/admin/v1/accounts/${ta.accountId}/keys`, payload: { name: 'objects only', scopes: ['crm.objects.read'] } })
  t.equal(created.statusCode, 201, created.body)
  const noScope = await ta.request({ method: 'GET', url: '/crm/v3/imports', key: created.json().key })
  t.same(expectError(t, noScope, 403, 'MISSING_SCOPES').context, { requiredScopes: ['crm.import'] })
  expectError(t, await startImport(ta, request, [{ name: 'contacts.csv', data: csv }], created.json().key), 403, 'MISSING_SCOPES')
})

t.test('list: newest first, with and without the trailing slash, after/before paging', async (t) => {
  const all = (await ta.request({ method: 'GET', url: '/crm/v3/imports?limit=500' })).json().results as Array<{ id: string }>
  t.ok(all.length >= 5)
  const ids = all.map((i) => Number(i.id))
  t.same(ids, [...ids].sort((a, b) => b - a), 'newest first')
  const first = await ta.request({ method: 'GET', url: '/crm/v3/imports/?limit=2' })
  t.equal(first.statusCode, 200, first.body)
  const page1 = first.json()
  t.same(page1.results.map((i: { id: string }) => i.id), all.slice(0, 2).map((i) => i.id))
  t.notOk(page1.paging.prev, 'the first page has no prev')
  const page2 = (await ta.request({ method: 'GET', url: `/crm/v3/imports/?after=${page1.paging.next.after as string}&limit=2` })).json()
  t.same(page2.results.map((i: { id: string }) => i.id), all.slice(2, 4).map((i) => i.id))
  const back = (await ta.request({ method: 'GET', url: `/crm/v3/imports?before=${page2.paging.prev.before as string}&limit=2` })).json()
  t.same(back.results.map((i: { id: string }) => i.id), all.slice(0, 2).map((i) => i.id), 'before goes back to the newer page')
  expectError(t, await ta.request({ method: 'GET', url: '/crm/v3/imports?after=garbage' }), 400, 'VALIDATION_ERROR')
})

t.test('errors: row errors with line numbers, flags for message and row data, paging', async (t) => {
  const res = await startImport(ta, contactCompanyRequest('pipeline-contacts.csv', { extra: [['First name', '0-1', 'firstname']] }),
    [{ name: 'pipeline-contacts.csv', data: pipelineFixture('pipeline-contacts.csv') }])
  const id = res.json().id as string
  const done = await waitForImport(ta, id)
  t.match(done.metadata.counters, { TOTAL_ROWS: 4, PROCESSED_ROWS: 4, ERRORS: 1 })
  const full = await importErrors(ta, id)
  t.equal(full.length, 1)
  t.match(full[0], {
    id: String,
    createdAt: Number,
    errorType: 'INCORRECT_NUMBER_OF_COLUMNS',
    errorMessage: String,
    sourceData: { rowData: ['paris@yale.edu', 'yale.edu'], lineNumber: 5, fileId: Number(done.metadata.fileIds[0]), containsEncryptedProperties: false }
  }, 'line 5: the quoted newline of line 3 counts')
  const bare = (await ta.request({ method: 'GET', url: `/crm/v3/imports/${id}/errors` })).json()
  t.notOk('errorMessage' in bare.results[0], 'no errorMessage without includeErrorMessage')
  t.same(bare.results[0].sourceData.rowData, [], 'no rowData without includeRowData')

  const ragged = 'Email,Company domain\n' + Array.from({ length: 5 }, (_, i) => `only${i}@example.com\n`).join('')
  const many = await startImport(ta, contactCompanyRequest('ragged.csv'), [{ name: 'ragged.csv', data: ragged }])
  const manyId = many.json().id as string
  await waitForImport(ta, manyId)
  const lines: number[] = []
  let after = ''
  for (let page = 0; page < 10; page++) {
    const body = (await ta.request({ method: 'GET', url: `/crm/v3/imports/${manyId}/errors?limit=2${after}` })).json()
    lines.push(...body.results.map((e: { sourceData: { lineNumber: number } }) => e.sourceData.lineNumber))
    if (body.paging === undefined) break
    after = `&after=${body.paging.next.after as string}`
  }
  t.same(lines, [2, 3, 4, 5, 6], 'pages of 2 cover every error once, in order')
})

t.test('cancel: empty body; again is 200; a DONE import is 409', async (t) => {
  await ta.app.services.importRunner.stop()
  const res = await startImport(ta, contactCompanyRequest('cancel.csv'), [{ name: 'cancel.csv', data: csv }])
  const id = res.json().id as string
  const path = (await ta.app.db.selectFrom('import_files').select('path').where('import_id', '=', Number(id)).executeTakeFirstOrThrow()).path
  // What the official client sends: no body, Content-Length 0, no Content-Type.
  const cancel = await ta.request({ method: 'POST', url: `/crm/v3/imports/${id}/cancel`, headers: { 'content-length': '0' } })
  t.equal(cancel.statusCode, 200, cancel.body)
  t.match(cancel.json(), { status: 'COMPLETE', startedAt: String, completedAt: String, requestedAt: String })
  t.notOk(existsSync(path), 'the stored file is removed')
  await ta.app.services.importRunner.start()
  const after = (await ta.request({ method: 'GET', url: `/crm/v3/imports/${id}` })).json()
  t.equal(after.state, 'CANCELED')
  const again = await ta.request({ method: 'POST', url: `/crm/v3/imports/${id}/cancel` })
  t.equal(again.statusCode, 200, 'canceling a CANCELED import again is 200')

  const finished = await startImport(ta, contactCompanyRequest('done.csv'), [{ name: 'done.csv', data: csv }])
  await waitForImport(ta, finished.json().id)
  const conflict = expectError(t, await ta.request({ method: 'POST', url: `/crm/v3/imports/${finished.json().id as string}/cancel` }), 409, 'CONFLICT')
  t.same(conflict.context, { state: ['DONE'] })
})

t.test('the date-versioned paths serve the same imports', async (t) => {
  for (const version of ['2026-03', '2026-09']) {
    const form = multipart([{ name: 'importRequest', data: JSON.stringify(contactCompanyRequest(`${version}.csv`)) }, { name: 'files', filename: `${version}.csv`, data: csv }])
    const res = await ta.request({ method: 'POST', url: `/crm/imports/${version}`, ...form })
    t.equal(res.statusCode, 200, res.statusCode === 200 ? 'status 200' : res.body)
    const id = res.json().id as string
    await waitForImport(ta, id)
    t.equal((await ta.request({ method: 'GET', url: `/crm/imports/${version}/${id}` })).json().state, 'DONE')
    t.equal((await ta.request({ method: 'GET', url: `/crm/imports/${version}/${id}/errors` })).statusCode, 200)
    t.equal((await ta.request({ method: 'GET', url: `/crm/imports/${version}/?limit=1` })).json().results.length, 1)
  }
})
