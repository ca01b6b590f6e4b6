// The official Node client (@hubspot/api-client 13.5.0) drives an import against the listening app: coreApi.create
// (multipart, chunked, files part first), getById, getPage (with and without the trailing slash), cancel, and
// publicImportsApi.getErrors with messages and row data. 13.5.0 calls the same /crm/v3/imports paths as 14.0.1.
import { createReadStream } from 'node:fs'
import t from 'tap'
import { Client } from '@hubspot/api-client'
import { build } from '../helpers/app.js'
import { contactCompanyRequest, tempImportDir } from '../helpers/import-pipeline.js'

const ta = await build(t, { IMPORT_DIR: tempImportDir(t) })
await ta.app.listen({ port: 0, host: '127.0.0.1' })
const address = ta.app.server.address()
if (address === null || typeof address === 'string') throw new Error('the app is not listening on a TCP port')
const client = new Client({ accessToken: ta.adminKey, basePath: `http://127.0.0.1:${address.port}` })
const { coreApi, publicImportsApi } = client.crm.imports
const fixturePath = new URL('../fixtures/imports/pipeline-contacts.csv', import.meta.url).pathname
const request = contactCompanyRequest('pipeline-contacts.csv', { name: 'Client import', extra: [['First name', '0-1', 'firstname']] })

async function untilFinal (id: string): Promise<Awaited<ReturnType<typeof coreApi.getById>>> {
  for (const end = Date.now() + 30_000; Date.now() < end;) {
    const current = await coreApi.getById(Number(id))
    if (['DONE', 'FAILED', 'CANCELED'].includes(current.state)) return current
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  throw new Error(`import ${id} did not finish`)
}

t.test('create (a file stream), getById, getPage, getErrors', async (t) => {
  // Typed as a Buffer; the client's README passes a file stream, which it sends as it reads (chunked).
  const created = await coreApi.create({ data: createReadStream(fixturePath) as unknown as Buffer, name: 'pipeline-contacts.csv' }, JSON.stringify(request))
  t.match(created, { id: /^[0-9]+$/, state: 'STARTED', importName: 'Client import', importSource: 'API', optOutImport: false })
  t.ok(created.createdAt instanceof Date && !Number.isNaN(created.createdAt.getTime()), 'createdAt parses as a Date')
  t.same(created.mappedObjectTypeIds, ['0-1', '0-2'])

  const done = await untilFinal(created.id)
  t.equal(done.state, 'DONE')
  t.match(done.metadata.counters, { TOTAL_ROWS: 4, PROCESSED_ROWS: 4, ERRORS: 1 })
  t.equal(done.metadata.fileIds.length, 1)

  const page = await coreApi.getPage()
  t.ok(page.results.some((i) => i.id === created.id), 'getPage lists it')
  const limited = await coreApi.getPage(undefined, undefined, 1)
  t.equal(limited.results.length, 1, '/crm/v3/imports/?limit=1 (the trailing slash the client keeps)')

  const errors = await publicImportsApi.getErrors(Number(created.id), undefined, undefined, true, true)
  t.equal(errors.results.length, 1)
  t.match(errors.results[0], {
    errorType: 'INCORRECT_NUMBER_OF_COLUMNS',
    errorMessage: String,
    sourceData: { lineNumber: 5, rowData: ['paris@yale.edu', 'yale.edu'], fileId: Number(done.metadata.fileIds[0]) }
  })
})

t.test('cancel, and a 404 the client parses', async (t) => {
  await ta.app.services.importRunner.stop()
  t.teardown(async () => { await ta.app.services.importRunner.start() })
  const created = await coreApi.create({ data: Buffer.from('Email,Company domain,First name\nx@y.example,y.example,X\n'), name: 'pipeline-contacts.csv' }, JSON.stringify(request))
  const canceled = await coreApi.cancel(Number(created.id))
  t.equal(canceled.status, 'COMPLETE')
  t.ok(canceled.completedAt instanceof Date)
  t.equal((await coreApi.getById(Number(created.id))).state, 'CANCELED')
  try {
    await coreApi.getById(987654321)
    t.fail('expected a 404')
  } catch (err) {
    const e = err as { code?: number, body?: unknown }
    t.equal(e.code, 404)
    t.match(typeof e.body === 'string' ? JSON.parse(e.body) : e.body, { status: 'error', category: 'OBJECT_NOT_FOUND' })
  }
})
