// Benchmark: the import applier on PostgreSQL with a generated CSV of N rows (contact email, company domain, label),
// beside two PostgreSQL COPY baselines measured in the same run: the file into a same-shaped table, and the rows the
// import wrote into tables of the same definition (see sameRowsCopy).
// The applier is driven as the pipeline drives it: csv-parse streaming the file, 2,000 rows per chunk, one transaction
// per chunk, each chunk's look-ahead read while the chunk before it is applied. Passes: (1) first import (every contact and company created), (2) the same file again (every row found by
// email and domain), (2b) the same file through the service, (3) a file of record IDs (contact ID, company ID, label) for
// the same pairs, (4) the same contacts and companies paired differently (records found, associations new).
// Autovacuum is off on this machine's PostgreSQL, so the bench runs ANALYZE when autovacuum would, inside the timed pass.
// Also: one chunk's record insert through unnest arrays against COPY into a temporary staging table + INSERT ... SELECT.
// Usage: npm run bench:import [-- --rows 1000000 --chunk 2000 --profile]  (--profile: time per statement shape)
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { parseArgs } from 'node:util'
import { parse } from 'csv-parse'
import pg from 'pg'
import { from as copyFrom, to as copyTo } from 'pg-copy-streams'
import { openDatabase } from '../src/db/database.js'
import { migrateToLatest } from '../src/db/migrator.js'
import { loadConfig } from '../src/config.js'
import { createServices } from '../src/plugins/services.js'
import { createImportApplier } from '../src/services/import-applier.service.js'
import type { ImportRow } from '../src/services/import-types.js'
import type { UploadPart } from '../src/services/imports.service.js'
import { ADMIN_URL, machine, sqlOn, step, urlFor, writeResults } from './lib.js'

const { values: args } = parseArgs({ options: { rows: { type: 'string', default: '1000000' }, chunk: { type: 'string', default: '2000' }, profile: { type: 'boolean', default: false } } })
const ROWS = Number(args.rows)
const CHUNK = Number(args.chunk)
const COMPANIES = Math.max(1, Math.floor(ROWS / 5))
const LABELS = ['Manager', 'Contractor', 'Billing contact']
const NAME = 'assoc_bench_imports'

const dir = mkdtempSync(join(tmpdir(), 'bench-imports-'))
const emailsFile = join(dir, 'emails.csv')
const newPairsFile = join(dir, 'emails-new-pairs.csv')
const idsFile = join(dir, 'ids.csv')

/** Writes `n` lines through a stream, honouring backpressure. */
async function writeLines (path: string, header: string, line: (i: number) => string, n: number): Promise<void> {
  const out = createWriteStream(path)
  out.write(header + '\n')
  for (let i = 0; i < n; i++) {
    if (!out.write(line(i) + '\n')) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
}

let peakRss = 0
const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss) }, 200)

step(`generating ${ROWS.toLocaleString('en')} rows`)
await writeLines(emailsFile, 'Email,Company domain,Association label',
  (i) => `contact${i}@example.com,company${i % COMPANIES}.example.org,${LABELS[i % 2] as string}`, ROWS)

// The same contacts and companies, each contact with the next company along: records found, associations new.
await writeLines(newPairsFile, 'Email,Company domain,Association label',
  (i) => `contact${i}@example.com,company${(i + 1) % COMPANIES}.example.org,${LABELS[i % 2] as string}`, ROWS)

step('creating the bench database')
await sqlOn(ADMIN_URL, `drop database if exists ${NAME} with (force)`)
await sqlOn(ADMIN_URL, `create database ${NAME}`)
const url = urlFor(NAME)
// --profile: time spent in each statement shape (its first words), to see where a chunk's time goes.
const statementTime = new Map<string, { ms: number, count: number }>()
const handle = await openDatabase({
  databaseUrl: url,
  dataDir: '',
  // DB_POOL_MAX's default: the service pass runs the look-ahead, the lease heartbeat and the bench's polling beside each chunk.
  poolMax: 10,
  timeoutMs: 60000,
  ...(args.profile
    ? {
        log: (event) => {
          const shape = event.query.sql.replace(/\s+/g, ' ').slice(0, 90)
          const entry = statementTime.get(shape) ?? { ms: 0, count: 0 }
          entry.ms += event.queryDurationMillis
          entry.count++
          statementTime.set(shape, entry)
        }
      }
    : {})
})
const db = handle.db
await migrateToLatest(db)
const services = createServices(db, loadConfig({}, { LOG_LEVEL: 'silent', IMPORT_DIR: join(dir, 'stored'), IMPORT_POLL_MS: 100 }))
const applier = createImportApplier(db, services)
const { accountId } = await services.accounts.bootstrap()
for (const label of LABELS) await services.associationTypes.createLabel(accountId, 'contacts', 'companies', { label, name: label.toLowerCase().replace(/ /g, '_') })

/** PostgreSQL's own COPY of the file into a table of the same shape: the baseline. */
async function copyBaseline (): Promise<number> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query('create unlogged table if not exists bench_copy (email text, domain text, label text)')
    await client.query('truncate bench_copy')
    const started = performance.now()
    await pipeline(createReadStream(emailsFile), client.query(copyFrom('copy bench_copy from stdin with (format csv, header true)')))
    return (performance.now() - started) / 1000
  } finally {
    await client.end()
  }
}

const mapping = (file: string, columns: unknown[]) => ({ name: file, files: [{ fileName: file, fileFormat: 'CSV', fileImportPage: { hasHeader: true, columnMappings: columns } }] })
const labelColumn = { columnName: 'Association label', columnType: 'FLEXIBLE_ASSOCIATION_LABEL', columnObjectTypeId: '0-1', toColumnObjectTypeId: '0-2' }
const emailRequest = mapping('emails.csv', [
  { columnObjectTypeId: '0-1', columnName: 'Email', propertyName: 'email' },
  { columnObjectTypeId: '0-2', columnName: 'Company domain', propertyName: 'domain' },
  labelColumn
])
const idsRequest = mapping('ids.csv', [
  { columnObjectTypeId: '0-1', columnName: 'Contact ID', propertyName: 'hs_object_id', columnType: 'HUBSPOT_OBJECT_ID' },
  { columnObjectTypeId: '0-1', columnName: 'Company ID', propertyName: null, columnType: 'HUBSPOT_OBJECT_ID', foreignKeyType: { associationTypeId: 279, associationCategory: 'HUBSPOT_DEFINED' } },
  labelColumn
])

/**
 * What autovacuum would do while the tables grow: analyse once the rows changed since the last analyse pass 50 + 10% of
 * the table (autovacuum_analyze_threshold and _scale_factor). Without it the planner works from the statistics of the
 * empty tables, and picks record_keys_record_idx with a filter for identifier lookups: quadratic. It runs beside the
 * import on its own connection, as autovacuum does.
 */
let analysedAt = 0
let written = 0
let analysing: Promise<void> | undefined
async function analyse (): Promise<void> {
  await sqlOn(url, 'analyze records, record_keys, associations, association_counts')
}

interface Pass { title: string, seconds: number, rows: number, counters: Record<string, number>, errors: number, rssMb: number, written?: Record<string, number> }

/**
 * Streams a file through the applier: chunks of CHUNK rows, one transaction each, each chunk looked ahead (parsed, its
 * identifiers read) while the one before it is applied, as the runner does on PostgreSQL.
 */
async function importFile (title: string, path: string, request: unknown, fileName: string): Promise<Pass> {
  const plan = await applier.plan(accountId, request, [fileName])
  const counters: Record<string, number> = {}
  let errors = 0
  let rows = 0
  let chunk: ImportRow[] = []
  let pending: { rows: ImportRow[], read: Promise<unknown> } | undefined
  let writtenBefore: unknown
  const applyPending = async (): Promise<void> => {
    if (pending === undefined) return
    const { rows: applying, read } = pending
    pending = undefined
    const ahead = { read: await read, writtenSince: writtenBefore === undefined ? [] : [writtenBefore] }
    const outcome = await db.transaction().execute(async (trx) => await applier.applyChunk(trx, accountId, plan, 0, applying, ahead))
    writtenBefore = outcome.written
    for (const [k, v] of Object.entries(outcome.counters)) counters[k] = (counters[k] ?? 0) + v
    errors += outcome.errors.length
    rows += applying.length
    written += applying.length
    if (rows % 100_000 === 0) step(`${title}: ${rows.toLocaleString('en')} rows`)
    // Autovacuum is off on the bench server: analyse when it would (the time counts in the pass).
    if (written >= Math.max(50, 0.1 * analysedAt) && analysing === undefined) {
      analysedAt += written
      written = 0
      analysing = analyse().finally(() => { analysing = undefined })
    }
  }
  // The chunk before the pending one has committed: this chunk's look-ahead may miss only the pending one's writes.
  const apply = async (): Promise<void> => {
    const read = applier.lookAhead(db, accountId, plan, 0, chunk)
    read.catch(() => {})
    const applying = applyPending()
    pending = { rows: chunk, read }
    chunk = []
    await applying
  }
  const started = performance.now()
  const parser = createReadStream(path).pipe(parse({ relax_column_count: true, from_line: 2, info: true }))
  for await (const record of parser as AsyncIterable<{ record: string[], info: { lines: number } }>) {
    chunk.push({ lineNumber: record.info.lines, values: record.record })
    if (chunk.length >= CHUNK) await apply()
  }
  if (chunk.length > 0) await apply()
  await applyPending()
  await analysing
  const seconds = (performance.now() - started) / 1000
  if (args.profile) {
    const entries = [...statementTime].sort((a, b) => b[1].ms - a[1].ms)
    const total = entries.reduce((n, [, e]) => n + e.ms, 0)
    step(`${title}: ${seconds.toFixed(1)} s, of which ${(total / 1000).toFixed(1)} s in statements`)
    for (const [shape, e] of entries.slice(0, 15)) step(`  ${(e.ms / 1000).toFixed(2)} s  ${e.count} x  ${shape}`)
    statementTime.clear()
  }
  return { title, seconds, rows, counters, errors, rssMb: Math.round(process.memoryUsage().rss / 2 ** 20) }
}

/**
 * The same file through the service: stored upload, the runner's validation pass, chunks committed with progress and
 * counters, the statistics keeper after each chunk. The time runs from create to DONE.
 */
async function importThroughService (title: string, path: string, request: unknown, fileName: string): Promise<Pass> {
  await services.importRunner.start()
  const started = performance.now()
  async function * parts (): AsyncGenerator<UploadPart> {
    yield { kind: 'field', fieldName: 'importRequest', value: JSON.stringify(request) }
    yield { kind: 'file', fieldName: 'files', fileName, stream: createReadStream(path) }
  }
  const created = await services.imports.create(accountId, parts())
  let job = created
  while (!['DONE', 'FAILED', 'CANCELED'].includes(job.state)) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    job = await services.imports.get(accountId, created.id)
  }
  const seconds = (performance.now() - started) / 1000
  await services.importRunner.stop()
  if (job.state !== 'DONE') throw new Error(`${title}: the import ended ${job.state}`)
  const counters = job.metadata.counters as Record<string, number>
  statementTime.clear()
  return { title, seconds, rows: counters.TOTAL_ROWS ?? 0, counters, errors: counters.ERRORS ?? 0, rssMb: Math.round(process.memoryUsage().rss / 2 ** 20) }
}

const WRITTEN_TABLES = ['records', 'record_keys', 'associations', 'association_counts', 'events'] as const

/** The current transaction ID, as the 32-bit xid a row's xmin holds: rows inserted or updated afterwards have a larger xmin. */
async function currentXid (): Promise<number> {
  return Number((await sqlOn(url, 'select txid_current() % 4294967296 as xid')).rows[0].xid)
}

/**
 * The rows of each table that a pass inserted or updated: those whose current version a transaction after `sinceXid`
 * wrote (a row written several times counts once, as a COPY of the result would write it). Deletions are not counted.
 */
async function rowsWrittenSince (sinceXid: number): Promise<Record<string, number>> {
  const counts = WRITTEN_TABLES.map((table) => `select '${table}' as t, count(*)::int as n from ${table} where account_id = $1 and xmin::text::bigint > $2`)
  const { rows } = await sqlOn(url, counts.join(' union all '), [accountId, sinceXid])
  return Object.fromEntries(rows.map((r: { t: string, n: number }) => [r.t, r.n]))
}

/** Runs a pass and notes the rows it wrote in each table. */
async function measured (run: () => Promise<Pass>): Promise<Pass> {
  const since = await currentXid()
  const pass = await run()
  return { ...pass, written: await rowsWrittenSince(since) }
}

/**
 * The second baseline: PostgreSQL's COPY of the rows the first import wrote (records, identifiers, association rows
 * both ways, count rows, change events) into tables of the same definition and indexes. It is what the import's
 * output costs the database alone, with no lookup, rule or lock; the first baseline (three text columns, unlogged,
 * no index) is only the cost of reading the file.
 */
async function sameRowsCopy (): Promise<{ seconds: number, rows: Record<string, number>, tableSeconds: Record<string, number> }> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const rows: Record<string, number> = {}
    const tableSeconds: Record<string, number> = {}
    for (const table of WRITTEN_TABLES) {
      await client.query(`drop table if exists bench_same_${table}`)
      await client.query(`create table bench_same_${table} (like ${table} including all)`)
      await pipeline(client.query(copyTo(`copy (select * from ${table} where account_id = ${accountId}) to stdout`)), createWriteStream(join(dir, `${table}.copy`)))
    }
    await client.query('checkpoint')
    const started = performance.now()
    for (const table of WRITTEN_TABLES) {
      const tableStarted = performance.now()
      const copy = client.query(copyFrom(`copy bench_same_${table} from stdin`))
      await pipeline(createReadStream(join(dir, `${table}.copy`)), copy)
      rows[table] = copy.rowCount ?? 0
      tableSeconds[table] = (performance.now() - tableStarted) / 1000
    }
    const seconds = (performance.now() - started) / 1000
    for (const table of WRITTEN_TABLES) await client.query(`drop table bench_same_${table}`)
    return { seconds, rows, tableSeconds }
  } finally {
    await client.end()
  }
}

/** One chunk's record insert, two ways, on a raw client: unnest arrays vs COPY into a staging table + INSERT ... SELECT. */
async function insertPaths (chunks: number): Promise<{ unnestMs: number, copyMs: number }> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query('create unlogged table if not exists bench_records (like records including defaults)')
    const rowsOf = (c: number) => Array.from({ length: CHUNK }, (_, i) => ({ id: 10_000_000_000 + c * CHUNK + i, properties: JSON.stringify({ email: `x${c}-${i}@example.com`, firstname: `X${i}` }) }))
    let unnestMs = 0
    let copyMs = 0
    for (let c = 0; c < chunks; c++) {
      const rows = rowsOf(c)
      let started = performance.now()
      await client.query('begin')
      await client.query(`insert into bench_records (account_id, object_type, id, properties)
        select $1, '0-1', k.id, k.properties from unnest($2::bigint[], $3::jsonb[]) as k(id, properties)`, [accountId, rows.map((r) => r.id), rows.map((r) => r.properties)])
      await client.query('commit')
      unnestMs += performance.now() - started
      const again = rowsOf(c + chunks)
      started = performance.now()
      await client.query('begin')
      await client.query('create temporary table if not exists staging (id bigint, properties jsonb) on commit delete rows')
      const copy = client.query(copyFrom('copy staging from stdin with (format csv)'))
      copy.end(again.map((r) => `${r.id},"${r.properties.replace(/"/g, '""')}"`).join('\n') + '\n')
      await once(copy, 'finish')
      await client.query('insert into bench_records (account_id, object_type, id, properties) select $1, \'0-1\', id, properties from staging', [accountId])
      await client.query('commit')
      copyMs += performance.now() - started
    }
    return { unnestMs: unnestMs / chunks, copyMs: copyMs / chunks }
  } finally {
    await client.end()
  }
}

try {
  step('COPY baseline')
  const copySeconds = await copyBaseline()
  const copyRate = ROWS / copySeconds
  step('pass 1: first import (creates)')
  const created = await measured(async () => await importFile('first import', emailsFile, emailRequest, 'emails.csv'))
  step('COPY of the rows the first import wrote, into tables of the same definition')
  const same = await sameRowsCopy()
  const sameRate = ROWS / same.seconds
  step('pass 2: the same file again (found by email and domain)')
  const found = await measured(async () => await importFile('found by email/domain', emailsFile, emailRequest, 'emails.csv'))
  step('pass 2b: the same file through the service (upload, runner, committed progress)')
  const foundService = await measured(async () => await importThroughService('found by email/domain, through the service', emailsFile, emailRequest, 'emails.csv'))
  step('writing the record-ID file')
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  const out = createWriteStream(idsFile)
  await pipeline(client.query(copyTo(`copy (select from_id as "Contact ID", to_id as "Company ID", 'Billing contact' as "Association label" from associations
    where account_id = ${accountId} and from_type = '0-1' and to_type = '0-2' and type_id = 279 order by from_id) to stdout with (format csv, header true)`)), out)
  await client.end()
  step('pass 3: record IDs (found by id, a label added to each pair)')
  const byIds = await measured(async () => await importFile('found by record ID', idsFile, idsRequest, 'ids.csv'))
  step('pass 4: records found by email/domain, associations new')
  const newPairs = await measured(async () => await importFile('found by email/domain, new associations', newPairsFile, { ...emailRequest, files: [{ ...emailRequest.files[0], fileName: 'emails-new-pairs.csv' }] }, 'emails-new-pairs.csv'))
  step('unnest vs COPY for one chunk\'s record insert')
  const paths = await insertPaths(20)

  const passes = [created, found, foundService, byIds, newPairs]
  // What COPY would take to write the rows a pass wrote, at each table's own rate in the second baseline.
  const copySecondsFor = (written: Record<string, number>): number =>
    WRITTEN_TABLES.reduce((sum, t) => sum + (written[t] ?? 0) * (same.tableSeconds[t] ?? 0) / Math.max(1, same.rows[t] ?? 0), 0)
  const line = (p: Pass, target?: number): string => {
    const rate = p.rows / p.seconds
    const written = p.written ?? {}
    const writtenCopy = copySecondsFor(written)
    return `| ${p.title} | ${p.rows.toLocaleString('en')} rows in ${p.seconds.toFixed(1)} s: **${Math.round(rate).toLocaleString('en')} rows/s** | ${(100 * rate / copyRate).toFixed(1)}%${target !== undefined ? ` (target ${target}%)` : ''} | ${WRITTEN_TABLES.map((t) => `${(written[t] ?? 0).toLocaleString('en')} ${t}`).join(', ')} | ${writtenCopy.toFixed(1)} s: ${(100 * writtenCopy / p.seconds).toFixed(0)}% | ${(100 * rate / sameRate).toFixed(0)}% | ${p.errors} | ${p.rssMb} MB | ${Object.entries(p.counters).map(([k, v]) => `${k} ${v}`).join(', ')} |`
  }
  const table = [
    `Import benchmark (${new Date().toISOString()}), ${machine()}; PostgreSQL ${(await sqlOn(url, 'show server_version')).rows[0].server_version}; ${ROWS.toLocaleString('en')} rows (contact email, company domain, label; ${COMPANIES.toLocaleString('en')} companies), chunks of ${CHUNK}, one transaction per chunk, the applier driven directly (csv-parse stream -> lookAhead beside the chunk before -> applyChunk)`,
    '',
    `Baseline: PostgreSQL COPY of the same file into an unlogged 3-column table: ${copySeconds.toFixed(2)} s, ${Math.round(copyRate).toLocaleString('en')} rows/s`,
    '',
    `Baseline 2: PostgreSQL COPY of the rows the first import wrote (${Object.entries(same.rows).map(([t, n]) => `${n.toLocaleString('en')} ${t}`).join(', ')}) into tables of the same definition and indexes, logged, after a checkpoint: ${same.seconds.toFixed(2)} s, ${Math.round(sameRate).toLocaleString('en')} file rows/s; per table ${WRITTEN_TABLES.map((t) => `${t} ${Math.round((same.rows[t] ?? 0) / (same.tableSeconds[t] ?? 1)).toLocaleString('en')} rows/s`).join(', ')}`,
    '',
    'Rows written: the rows of each table whose current version the pass inserted or updated (xmin after the pass began). COPY of them: what the second baseline\'s per-table rates give for those rows, as a share of the pass\'s time (100% = as fast as COPY writing the same rows). Last column but three: the pass\'s rate beside the second baseline\'s file-row rate (the first import\'s rows, whatever the pass wrote).',
    '',
    '| pass | figure | share of COPY (file) | rows written | COPY of them | share of COPY (first import\'s rows) | row errors | RSS after | counters |',
    '|---|---|---|---|---|---|---|---|---|',
    line(created),
    line(found, 10),
    line(foundService, 10),
    line(byIds, 25),
    line(newPairs),
    '',
    `Peak RSS of the bench process: ${Math.round(peakRss / 2 ** 20)} MB`,
    '',
    `One chunk's record insert (${CHUNK} rows, own transaction, mean of 20): unnest arrays ${paths.unnestMs.toFixed(1)} ms; COPY into a temporary staging table + INSERT ... SELECT ${paths.copyMs.toFixed(1)} ms`
  ].join('\n')
  writeResults('imports', table, { rows: ROWS, chunk: CHUNK, copySeconds, copyRate, sameRowsCopy: { ...same, rate: sameRate }, passes, peakRssMb: Math.round(peakRss / 2 ** 20), insertPaths: paths })
} finally {
  clearInterval(sampler)
  await db.destroy()
  rmSync(dir, { recursive: true, force: true })
}
