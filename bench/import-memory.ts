// Import pipeline memory: a large generated CSV (BENCH_IMPORT_MB, default 1024 MB, about 1 KB a row) is uploaded to
// the service (a child process on PostgreSQL) as a streamed, chunked multipart body and imported, while the child's
// RSS is sampled. Prints upload time, import time, rows/s and the peak RSS; writes bench/results/import-memory.*.
// `npx tsx bench/import-memory.ts` (BENCH_IMPORT_MB=256 for a quicker run; BENCH_SERVER=dist for the production build).
import { spawn } from 'node:child_process'
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { once } from 'node:events'
import { ADMIN_URL, machine, rssBytes, sqlOn, step, urlFor, writeResults } from './lib.js'

const MB = Number(process.env.BENCH_IMPORT_MB ?? 1024)
const DB = 'assoc_bench_import_memory'
const PORT = 3458
const KEY = 'bench_import_memory_key_0123456789'
const DOMAINS = 1000
const folder = mkdtempSync(join(tmpdir(), 'import-memory-'))
const csvPath = join(folder, 'contacts.csv')
// About 1,035 bytes a row: 1 GB stays under the 1,048,576-row limit of a file, so the whole file imports.
const filler = 'x'.repeat(Number(process.env.BENCH_IMPORT_FILLER ?? 1000))

async function generate (): Promise<number> {
  const out = createWriteStream(csvPath)
  out.write('Email,Company domain,Notes\n')
  let rows = 0
  while (out.bytesWritten + out.writableLength < MB * 1024 * 1024) {
    let chunk = ''
    for (let i = 0; i < 1000; i++, rows++) chunk += `c${rows}@m${rows % DOMAINS}.example,m${rows % DOMAINS}.example,${filler}\n`
    if (!out.write(chunk)) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
  return rows
}

const request = {
  name: 'memory bench',
  files: [{
    fileName: 'contacts.csv',
    fileImportPage: {
      hasHeader: true,
      columnMappings: [
        { columnObjectTypeId: '0-1', columnName: 'Email', propertyName: 'email' },
        { columnObjectTypeId: '0-2', columnName: 'Company domain', propertyName: 'domain' },
        { columnObjectTypeId: '0-1', columnName: 'Notes', propertyName: 'notes' }
      ]
    }
  }]
}

/** The multipart body as a stream: the request part, then the file read from disk; never whole in memory. */
function body (boundary: string): Readable {
  async function * parts (): AsyncGenerator<Buffer> {
    yield Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="importRequest"\r\n\r\n${JSON.stringify(request)}\r\n`)
    yield Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="contacts.csv"\r\nContent-Type: text/csv\r\n\r\n`)
    for await (const chunk of createReadStream(csvPath)) yield chunk as Buffer
    yield Buffer.from(`\r\n--${boundary}--\r\n`)
  }
  return Readable.from(parts())
}

step(`generating ${MB} MB`)
const rows = await generate()
const bytes = statSync(csvPath).size
await sqlOn(ADMIN_URL, `drop database if exists ${DB} with (force)`)
await sqlOn(ADMIN_URL, `create database ${DB}`)
// BENCH_SERVER=dist runs the production build (`npm run build` first), as the Dockerfile does; tsx by default.
const serverArgs = process.env.BENCH_SERVER === 'dist' ? ['dist/server.js'] : ['--import', 'tsx', 'src/server.ts']
const child = spawn(process.execPath, serverArgs, {
  env: { ...process.env, DATABASE_URL: urlFor(DB), PORT: String(PORT), HOST: '127.0.0.1', BOOTSTRAP_API_KEY: KEY, LOG_LEVEL: 'warn', IMPORT_DIR: join(folder, 'imports'), IMPORT_MAX_FILE_BYTES: String(2 * 1024 * 1024 * 1024) },
  stdio: ['ignore', 'ignore', 'inherit']
})
const base = `http://127.0.0.1:${PORT}`
for (let i = 0; ; i++) {
  try { if ((await fetch(`${base}/health/ready`)).ok) break } catch {}
  if (i > 120) throw new Error('service did not start')
  await new Promise((resolve) => setTimeout(resolve, 500))
}
const pid = child.pid as number
let peak = rssBytes(pid)
const idle = peak
const sampler = setInterval(() => { peak = Math.max(peak, rssBytes(pid)) }, 200)
try {
  step(`uploading ${rows} rows (${(bytes / 1048576).toFixed(0)} MB), chunked`)
  const boundary = `bench${Date.now()}`
  const t0 = Date.now()
  const res = await fetch(`${base}/crm/v3/imports`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
    body: Readable.toWeb(body(boundary)) as ReadableStream,
    duplex: 'half'
  } as RequestInit)
  const created = await res.json() as { id: string }
  if (res.status !== 200) throw new Error(`create: ${res.status} ${JSON.stringify(created)}`)
  const uploadMs = Date.now() - t0
  const uploadPeak = peak
  step(`import ${created.id} stored in ${uploadMs} ms; processing`)
  let state = ''
  let counters: Record<string, number> = {}
  while (!['DONE', 'FAILED', 'CANCELED'].includes(state)) {
    await new Promise((resolve) => setTimeout(resolve, 2000))
    const current = await (await fetch(`${base}/crm/v3/imports/${created.id}`, { headers: { authorization: `Bearer ${KEY}` } })).json() as { state: string, metadata: { counters: Record<string, number> } }
    state = current.state
    counters = current.metadata.counters
    step(`${state} ${counters.PROCESSED_ROWS ?? 0}/${counters.TOTAL_ROWS ?? '?'} rows, RSS now ${(rssBytes(pid) / 1048576).toFixed(0)} MB, peak ${(peak / 1048576).toFixed(0)} MB`)
  }
  const importMs = Date.now() - t0 - uploadMs
  const result = {
    machine: machine(), megabytes: Math.round(bytes / 1048576), rows, state, counters,
    uploadSeconds: uploadMs / 1000, importSeconds: importMs / 1000, rowsPerSecond: Math.round(rows / (importMs / 1000)),
    rssIdleMB: Math.round(idle / 1048576), rssPeakUploadMB: Math.round(uploadPeak / 1048576), rssPeakMB: Math.round(peak / 1048576)
  }
  const table = [
    '| file | rows | state | upload | import | rows/s | RSS idle | RSS peak (upload) | RSS peak (whole run) |',
    '|---|---|---|---|---|---|---|---|---|',
    `| ${result.megabytes} MB | ${rows} | ${state} | ${result.uploadSeconds} s | ${result.importSeconds} s | ${result.rowsPerSecond} | ${result.rssIdleMB} MB | ${result.rssPeakUploadMB} MB | ${result.rssPeakMB} MB |`
  ].join('\n')
  writeResults('import-memory', table, result)
} finally {
  clearInterval(sampler)
  child.kill('SIGTERM')
  await once(child, 'exit')
  rmSync(folder, { recursive: true, force: true })
  await sqlOn(ADMIN_URL, `drop database if exists ${DB} with (force)`)
}
