// CSV imports through the API (POST /crm/v3/imports, then GET /crm/v3/imports/{id} until it ends), beside
// PostgreSQL's COPY of the same file into a table of its columns, both in the same run. Two files of new pairs between
// loaded records: one naming them by record id, one by email and domain (found through record_keys).
import { createReadStream, createWriteStream, mkdtempSync, openAsBlob, rmSync } from 'node:fs'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import { KEY, PORT } from '../lib.js'
import { domainOf, emailOf } from './generate-data.js'
import { companyId, companyOf, contactId, PER_CONTACT, type Layout } from './layout.js'
import type { Sample } from './measure.js'

export const IMPORT_LABEL = 'Manager'

interface ImportFile { key: string, title: string, fileName: string, header: string, columns: string, request: unknown, line: (contact: number, company: number) => string }

const labelColumn = { columnName: 'Association label', columnType: 'FLEXIBLE_ASSOCIATION_LABEL', columnObjectTypeId: '0-1', toColumnObjectTypeId: '0-2' }
const request = (fileName: string, columnMappings: unknown[]): unknown =>
  ({ name: fileName, files: [{ fileName, fileFormat: 'CSV', fileImportPage: { hasHeader: true, columnMappings } }] })

const FILES: ImportFile[] = [
  {
    key: 'importIds',
    title: 'CSV import, rows carrying record ids',
    fileName: 'ids.csv',
    header: 'Contact ID,Company ID,Association label',
    columns: 'contact_id bigint, company_id bigint, label text',
    request: request('ids.csv', [
      { columnObjectTypeId: '0-1', columnName: 'Contact ID', propertyName: 'hs_object_id', columnType: 'HUBSPOT_OBJECT_ID' },
      { columnObjectTypeId: '0-1', columnName: 'Company ID', propertyName: null, columnType: 'HUBSPOT_OBJECT_ID', foreignKeyType: { associationTypeId: 279, associationCategory: 'HUBSPOT_DEFINED' } },
      labelColumn
    ]),
    line: (c, k) => `${c},${k},${IMPORT_LABEL}`
  },
  {
    key: 'importEmails',
    title: 'CSV import, rows found by email/domain',
    fileName: 'emails.csv',
    header: 'Email,Company domain,Association label',
    columns: 'email text, domain text, label text',
    request: request('emails.csv', [
      { columnObjectTypeId: '0-1', columnName: 'Email', propertyName: 'email' },
      { columnObjectTypeId: '0-2', columnName: 'Company domain', propertyName: 'domain' },
      labelColumn
    ]),
    line: (c, k) => `${emailOf(c)},${domainOf(k)},${IMPORT_LABEL}`
  }
]

export interface ImportResult { key: string, title: string, rows: number, seconds: number, service: Sample, copy: Sample, state: string, counters: Record<string, number> }

/** Writes the file: row n pairs regular contact n % regular with a company it does not hold yet (a later round). */
async function writeFile (path: string, file: ImportFile, layout: Layout, rows: number, firstRound: number): Promise<void> {
  const out = createWriteStream(path)
  out.write(file.header + '\n')
  for (let n = 0; n < rows; n++) {
    const i = n % layout.regular
    const line = file.line(contactId(i), companyId(companyOf(layout, i, PER_CONTACT + firstRound + Math.floor(n / layout.regular)))) + '\n'
    if (!out.write(line)) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
}

async function copyBaseline (url: string, path: string, file: ImportFile): Promise<number> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(`create table if not exists bench_copy_${file.key} (${file.columns})`)
    await client.query(`truncate bench_copy_${file.key}`)
    const started = performance.now()
    await pipeline(createReadStream(path), client.query(copyFrom(`copy bench_copy_${file.key} from stdin with (format csv, header true)`)))
    return (performance.now() - started) / 1000
  } finally {
    await client.end()
  }
}

async function apiJson (method: string, path: string, body?: FormData): Promise<Record<string, unknown>> {
  const res = await fetch(`http://127.0.0.1:${PORT}${path}`, { method, headers: { authorization: `Bearer ${KEY}` }, body })
  if (!res.ok) throw new Error(`${method} ${path} -> ${res.status} ${await res.text()}`)
  return await res.json() as Record<string, unknown>
}

/** Uploads the file and polls until the import ends; the time runs from the upload to the end. */
async function importThroughApi (path: string, file: ImportFile): Promise<{ seconds: number, state: string, counters: Record<string, number> }> {
  const form = new FormData()
  form.append('importRequest', new Blob([JSON.stringify(file.request)], { type: 'application/json' }))
  form.append('files', await openAsBlob(path, { type: 'text/csv' }), file.fileName)
  const started = performance.now()
  const created = await apiJson('POST', '/crm/v3/imports', form)
  for (;;) {
    const status = await apiJson('GET', `/crm/v3/imports/${String(created.id)}`)
    const state = String(status.state)
    if (!['STARTED', 'PROCESSING', 'DEFERRED'].includes(state)) {
      const counters = (status.metadata as { counters?: Record<string, number> } | undefined)?.counters ?? {}
      return { seconds: (performance.now() - started) / 1000, state, counters }
    }
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

/** Runs each import once (a 1M-row import takes minutes), each right after its COPY baseline. */
export async function runImports (url: string, layout: Layout, rows: number, progress: (what: string) => void): Promise<ImportResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'suite-imports-'))
  const results: ImportResult[] = []
  try {
    const rounds = Math.ceil(rows / layout.regular)
    for (const [f, file] of FILES.entries()) {
      const path = join(dir, file.fileName)
      await writeFile(path, file, layout, rows, f * rounds)
      progress(`COPY baseline: ${file.fileName}`)
      const copySeconds = await copyBaseline(url, path, file)
      progress(`${file.title}: ${rows.toLocaleString('en')} rows`)
      const run = await importThroughApi(path, file)
      const failures = (run.counters.ERRORS ?? 0) + (run.state === 'DONE' ? 0 : rows)
      results.push({
        key: file.key,
        title: file.title,
        rows,
        seconds: run.seconds,
        service: { rate: rows / run.seconds, unit: 'rows/s', p50: 0, p99: 0, failures },
        copy: { rate: rows / copySeconds, unit: 'rows/s', p50: 0, p99: 0, failures: 0 },
        state: run.state,
        counters: run.counters
      })
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  return results
}
