// Helpers for the import pipeline tests: multipart bodies (any part order, typed or untyped importRequest), a
// contact+company mapping, a temporary IMPORT_DIR, and waiting for an import to reach a state.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { LightMyRequestResponse } from 'fastify'
import type { TestApp, Teardown } from './app.js'

export const pipelineFixture = (name: string): Buffer => readFileSync(new URL(`../fixtures/imports/${name}`, import.meta.url))

/** A temporary IMPORT_DIR, removed on teardown. */
export function tempImportDir (t: Teardown): string {
  const dir = mkdtempSync(join(tmpdir(), 'imports-test-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  return dir
}

export interface FormPart {
  name: string
  /** A file part when given. */
  filename?: string
  contentType?: string
  data: string | Buffer
}

/** A multipart/form-data body with the parts in the given order, byte for byte. */
export function multipart (parts: FormPart[]): { payload: Buffer, headers: Record<string, string> } {
  const boundary = `----pipeline${Math.random().toString(16).slice(2)}`
  const chunks: Buffer[] = []
  for (const part of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"`
    if (part.filename !== undefined) head += `; filename="${part.filename}"`
    head += '\r\n'
    if (part.contentType !== undefined) head += `Content-Type: ${part.contentType}\r\n`
    chunks.push(Buffer.from(head + '\r\n'), Buffer.isBuffer(part.data) ? part.data : Buffer.from(part.data), Buffer.from('\r\n'))
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`))
  return { payload: Buffer.concat(chunks), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } }
}

/** One-file contacts + companies request: Email -> email, Company domain -> domain, optional label column. */
export function contactCompanyRequest (fileName: string, options: { name?: string, label?: boolean, extra?: Array<[string, string, string]> } = {}): Record<string, unknown> {
  const columnMappings: Array<Record<string, unknown>> = [
    { columnObjectTypeId: '0-1', columnName: 'Email', propertyName: 'email' },
    { columnObjectTypeId: '0-2', columnName: 'Company domain', propertyName: 'domain' }
  ]
  for (const [columnName, type, propertyName] of options.extra ?? []) columnMappings.push({ columnObjectTypeId: type, columnName, propertyName })
  if (options.label === true) {
    columnMappings.push({ columnName: 'Association label', columnType: 'FLEXIBLE_ASSOCIATION_LABEL', columnObjectTypeId: '0-1', toColumnObjectTypeId: '0-2' })
  }
  return {
    name: options.name ?? `import of ${fileName}`,
    files: [{ fileName, fileFormat: 'CSV', fileImportPage: { hasHeader: true, columnMappings } }]
  }
}

/** POST /crm/v3/imports with the request first and one file. */
export async function startImport (ta: TestApp, request: unknown, files: Array<{ name: string, data: string | Buffer }>, key?: string): Promise<LightMyRequestResponse> {
  const form = multipart([
    { name: 'importRequest', data: JSON.stringify(request) },
    ...files.map((f) => ({ name: 'files', filename: f.name, contentType: 'text/csv', data: f.data }))
  ])
  return await ta.request({ method: 'POST', url: '/crm/v3/imports', ...form, key })
}

const FINAL = ['DONE', 'FAILED', 'CANCELED']

/** Polls GET /crm/v3/imports/{id} until its state is one of `states` (default: a final state); returns the import. */
export async function waitForImport (ta: TestApp, id: string, states: string[] = FINAL, timeoutMs = 30_000): Promise<Record<string, any>> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const res = await ta.request({ method: 'GET', url: `/crm/v3/imports/${id}` })
    const body = res.json() as Record<string, any>
    if (res.statusCode !== 200) throw new Error(`GET import ${id}: ${res.statusCode} ${res.body}`)
    if (states.includes(body.state as string)) return body
    if (Date.now() > until) throw new Error(`import ${id} is still ${String(body.state)} after ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

/** GET .../errors with messages and row data, every page. */
export async function importErrors (ta: TestApp, id: string): Promise<Array<Record<string, any>>> {
  const out: Array<Record<string, any>> = []
  let after: string | undefined
  do {
    const res = await ta.request({ method: 'GET', url: `/crm/v3/imports/${id}/errors?includeErrorMessage=true&includeRowData=true&limit=500${after !== undefined ? `&after=${after}` : ''}` })
    const body = res.json() as { results: Array<Record<string, any>>, paging?: { next?: { after: string } } }
    out.push(...body.results)
    after = body.paging?.next?.after
  } while (after !== undefined)
  return out
}
