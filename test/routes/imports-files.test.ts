// Bad and unusual files (issue 5, "Bad files"): each ends in a clear import-level (line 0) or row-level error, never
// a 5xx and never a half-applied import; BOM, CRLF, quoted newlines and a reordered header import cleanly.
import { randomBytes } from 'node:crypto'
import t, { type Test } from 'tap'
import { build } from '../helpers/app.js'
import { contactCompanyRequest, importErrors, pipelineFixture, startImport, tempImportDir, waitForImport } from '../helpers/import-pipeline.js'

const ta = await build(t, { IMPORT_DIR: tempImportDir(t), IMPORT_MAX_ROWS: 50, IMPORT_CHUNK_ROWS: 10 })
await ta.app.ready()
const withFirstName = (fileName: string) => contactCompanyRequest(fileName, { extra: [['First name', '0-1', 'firstname']] })

async function contactsByEmail (): Promise<Map<string, Record<string, string>>> {
  const rows = await ta.app.db.selectFrom('records').select('properties').where('account_id', '=', ta.accountId).where('object_type', '=', '0-1').execute()
  return new Map(rows.map((r) => [r.properties.email ?? '', r.properties]))
}

async function importFile (name: string, data: Buffer | string, request: unknown = withFirstName(name)): Promise<{ done: Record<string, any>, errors: Array<Record<string, any>> }> {
  const res = await startImport(ta, request, [{ name, data }])
  t.equal(res.statusCode, 200, res.statusCode === 200 ? `${name} accepted` : res.body)
  const id = res.json().id as string
  return { done: await waitForImport(ta, id), errors: await importErrors(ta, id) }
}

/** A FAILED import with one file-level error of `errorType` whose message matches `message`; nothing applied. */
async function expectFileError (t: Test, name: string, data: Buffer | string, errorType: string, message: RegExp): Promise<void> {
  const before = (await contactsByEmail()).size
  const { done, errors } = await importFile(name, data)
  t.equal(done.state, 'FAILED', `${name}: FAILED`)
  t.equal(errors.length, 1, `${name}: one error`)
  t.match(errors[0], { errorType, sourceData: { lineNumber: 0, rowData: [] } }, `${name}: a file-level error`)
  t.match(errors[0]?.errorMessage, message, `${name}: the message says why`)
  t.match(done.metadata.counters, { ERRORS: 1 })
  t.notOk('PROCESSED_ROWS' in done.metadata.counters, `${name}: no row was applied`)
  t.equal((await contactsByEmail()).size, before, `${name}: nothing written`)
}

t.test('files that cannot be imported fail with a file-level error naming the problem', async (t) => {
  await expectFileError(t, 'latin1.csv', pipelineFixture('bad-latin1.csv'), 'INVALID_FILE_TYPE', /latin1\.csv is not valid UTF-8 text.*line 2/)
  await expectFileError(t, 'utf16.csv', pipelineFixture('bad-utf16.csv'), 'INVALID_FILE_TYPE', /utf16\.csv contains NUL bytes/)
  await expectFileError(t, 'empty.csv', pipelineFixture('bad-empty.csv'), 'INVALID_COLUMN_CONFIGURATION', /empty.csv is empty: it has no header line/)
  await expectFileError(t, 'missing.csv', pipelineFixture('bad-missing-column.csv'), 'INVALID_COLUMN_CONFIGURATION', /lacks the mapped column "Company domain"/)
  await expectFileError(t, 'quote.csv', pipelineFixture('bad-unterminated-quote.csv'), 'COULD_NOT_PARSE_ROW', /quote\.csv is not valid CSV/)
  // A header that is fine, then a valid row, then binary garbage: the first pass fails the file before row 2 is applied.
  const header = 'Email,Company domain,First name\nfine@example.com,example.com,Fine\n'
  await expectFileError(t, 'garbage.csv', Buffer.concat([Buffer.from(header), randomBytes(256 * 1024)]), 'INVALID_FILE_TYPE', /garbage\.csv is not valid UTF-8/)
  t.notOk((await contactsByEmail()).has('fine@example.com'), 'the valid row before the garbage was not applied')
  // Printable garbage with no line break: the record-size limit stops csv-parse instead of buffering it all.
  const noBreaks = header + 'x'.repeat(1024 * 1024 + 10)
  await expectFileError(t, 'long.csv', noBreaks, 'ROW_DATA_TOO_LARGE', /long\.csv has a row longer than 1048576 characters/)
  const tooMany = 'Email,Company domain,First name\n' + Array.from({ length: 51 }, (_, i) => `many${i}@example.com,example.com,M\n`).join('')
  await expectFileError(t, 'many.csv', tooMany, 'LIMIT_EXCEEDED', /more than 50 rows/)
})

t.test('a header only is DONE with TOTAL_ROWS 0', async (t) => {
  const { done, errors } = await importFile('header-only.csv', pipelineFixture('bad-header-only.csv'))
  t.equal(done.state, 'DONE')
  t.match(done.metadata.counters, { TOTAL_ROWS: 0 })
  t.same(errors, [])
})

t.test('BOM, CRLF, a quoted newline, a blank line and a reordered header import cleanly; line numbers count lines', async (t) => {
  const { done, errors } = await importFile('bom.csv', pipelineFixture('pipeline-bom-crlf.csv'))
  t.equal(done.state, 'DONE')
  t.match(done.metadata.counters, { TOTAL_ROWS: 3, PROCESSED_ROWS: 3 })
  t.same(errors, [])
  const contacts = await contactsByEmail()
  t.equal(contacts.get('rory@yale.edu')?.firstname, 'Rory', 'the BOM is not part of the first header name')
  t.equal(contacts.get('lane@kims.example')?.firstname, 'Lane\nKim', 'a quoted newline stays in the value (as \\n)')
  t.ok(contacts.has('dean@forester.example'))

  const reordered = await importFile('reordered.csv', pipelineFixture('pipeline-reordered.csv'), withFirstName('reordered.csv'))
  t.equal(reordered.done.state, 'DONE')
  t.same(reordered.errors, [])
  t.equal((await contactsByEmail()).get('rory@yale.edu')?.firstname, 'Rory', 'columns matched by header name, not position')

  // A ragged row after a record spanning lines 3-4 and a blank line 5: reported at line 6, where it starts.
  const ragged = 'Email,Company domain,First name\nr1@example.com,example.com,A\nr2@example.com,example.com,"B\nB"\n\nr3@example.com\nr4@example.com,example.com,D,extra\n'
  const result = await importFile('ragged.csv', ragged)
  t.equal(result.done.state, 'DONE')
  t.same(result.errors.map((e) => [e.errorType, e.sourceData.lineNumber, e.sourceData.rowData]), [
    ['INCORRECT_NUMBER_OF_COLUMNS', 6, ['r3@example.com']],
    ['INCORRECT_NUMBER_OF_COLUMNS', 7, ['r4@example.com', 'example.com', 'D', 'extra']]
  ])
  t.match(result.done.metadata.counters, { TOTAL_ROWS: 4, PROCESSED_ROWS: 4, ERRORS: 2 })
})

t.test('the service keeps answering while a large garbage file is checked', async (t) => {
  const garbage = Buffer.concat([Buffer.from('Email,Company domain,First name\n'), Buffer.alloc(8 * 1024 * 1024, 'a,b,c\n')])
  const res = await startImport(ta, withFirstName('big.csv'), [{ name: 'big.csv', data: garbage }])
  t.equal(res.statusCode, 200)
  let answered = 0
  for (let i = 0; i < 5; i++) {
    const live = await ta.request({ method: 'GET', url: `/crm/v3/imports/${res.json().id as string}` })
    if (live.statusCode === 200) answered++
  }
  t.equal(answered, 5, 'GETs answered during the import')
  const done = await waitForImport(ta, res.json().id)
  t.equal(done.state, 'FAILED', 'over IMPORT_MAX_ROWS (50): fails cleanly')
})
