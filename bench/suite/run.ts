// The benchmark suite (issue 8): `npm run bench` (10M association rows) or `npm run bench -- --quick` (200k, ~2 min).
// Loads the data, then measures the baselines and the service in interleaved rounds, the CSV imports, and the
// service's RSS throughout; prints one table and writes bench/results/suite.{md,json}. Options: see options.ts.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ADMIN_URL, api, freshDatabase, machine, sqlOn, startService, step, stopService, writeResults } from '../lib.js'
import { copyOperation, pgbenchOperations, startThinServer, stopThinServer, thinOperations } from './baselines.js'
import { IMPORT_LABEL, runImports, type ImportResult } from './csv-imports.js'
import { dropDatabase, generateData } from './generate-data.js'
import { layoutFor } from './layout.js'
import { interleaved, medianSample, type Measured, type Sample } from './measure.js'
import { mixedOperation, mixEntries, weightedHarmonicMean } from './mixed-workload.js'
import { suiteOptions } from './options.js'
import { markdownTable, p99Row, rateRow, type Row } from './report.js'
import { sampleRss } from './rss-sampler.js'
import { settler } from './settle.js'
import { serviceOperations } from './service-operations.js'

const DB = 'assoc_bench_suite'
const options = suiteOptions()
const layout = layoutFor(options.rows, options.connections)
const startedAt = new Date()

step(`bench database ${DB}: ${options.rows.toLocaleString('en')} association rows${options.quick ? ' (--quick)' : ''}`)
await dropDatabase(ADMIN_URL, DB)
const url = await freshDatabase(DB)
const generated = await generateData(url, layout)
step(`loaded ${generated.associationRows.toLocaleString('en')} association rows in ${generated.seconds.toFixed(1)} s`)
if (options.loadOnly) {
  step(`kept ${url}: DATABASE_URL=${url} npm run check:invariants`)
  process.exit(0)
}
const postgres = (await sqlOn(url, "select version() as v, current_setting('shared_buffers') as sb, current_setting('max_wal_size') as wal, pg_size_pretty(pg_database_size(current_database())) as size")).rows[0] as { v: string, sb: string, wal: string, size: string }

const importDir = mkdtempSync(join(tmpdir(), 'suite-import-dir-'))
// The service's warnings and errors (a non-2xx has its reason there); kept after the run, outside the repository.
const serviceLog = join(tmpdir(), 'bench-suite-service.log')
step(`service log: ${serviceLog}`)
const thin = await startThinServer(url, generated.account)
// Rate limits off (the suite measures throughput, not the limiter's refusals: the limiter still runs on every call);
// imports are picked up within 250 ms instead of the 2 s idle poll, so small imports are not timed by the poll.
const service = await startService({
  RATE_LIMIT_BURST_PER_10S: '1000000000', RATE_LIMIT_DAILY: '1000000000', BODY_LIMIT_BYTES: String(32 * 2 ** 20), IMPORT_DIR: importDir, IMPORT_POLL_MS: '250'
}, DB, serviceLog)
const rss = sampleRss(service.pid as number)
const startRss = rss.now()
let measured: Measured[]
let imports: ImportResult[]
let importsGrowth = 0
try {
  const label = await api('POST', '/crm/v4/associations/contacts/companies/labels', { label: IMPORT_LABEL, name: 'manager' }) as { results: Array<{ typeId: number, label: string | null }> }
  const labelId = label.results.find((r) => r.label === IMPORT_LABEL)?.typeId as number
  const operations = [
    ...thinOperations(layout, options.connections),
    ...pgbenchOperations(url, layout, generated.account),
    copyOperation(url, layout, generated.account, options.copyRows),
    ...serviceOperations(layout, labelId, options.connections, options.slowRequests),
    mixedOperation(layout, labelId, options.connections)
  ]
  measured = await interleaved(operations, options.runs, options.seconds, options.warmupSeconds, { settle: settler(url), progress: step, rssNow: rss.now, rssSinceMark: rss.peakSinceMark })
  await settler(url)()
  const beforeImports = rss.now()
  rss.peakSinceMark()
  imports = await runImports(url, layout, options.importRows, step)
  importsGrowth = rss.peakSinceMark() - beforeImports
} finally {
  rss.stop()
  stopService(service)
  stopThinServer(thin)
  rmSync(importDir, { recursive: true, force: true })
}
const peakRss = rss.peak()

const figure = new Map(measured.map((m) => [m.key, medianSample(m.samples)]))
const titles = new Map(measured.map((m) => [m.key, m.title]))
const get = (key: string): Sample => figure.get(key) as Sample
const title = (key: string): string => titles.get(key) as string
const vs = (key: string, base: string, min?: number): Row => rateRow(title(key), get(key), title(base), get(base), min)
const page = get('page100')
const thinPage = get('thinPage100')
const mixBaseline = weightedHarmonicMean(mixEntries(layout, 0), (key) => get(key).rate)
const serviceKeys = ['page100', 'page500', 'hubFirst', 'deepPage', 'putDefault', 'putLabelled', 'putNearCap', 'putLight', 'setPrimary', 'batch100', 'batch2000', 'batchRead', 'search', 'mixed']
const non2xx = serviceKeys.reduce((n, k) => n + get(k).failures, 0) + imports.reduce((n, i) => n + i.service.failures, 0)
const generatorSample: Sample = { rate: generated.rowsPerSecond, unit: 'rows/s', p50: 0, p99: 0, failures: 0 }
const importRow = (i: ImportResult, min: number): Row =>
  rateRow(`${i.title} (${i.rows.toLocaleString('en')} rows, ${i.state}, ${i.seconds.toFixed(1)} s)`, i.service, 'COPY of the same file', i.copy, min)

const rows: Row[] = [
  rateRow(title('page100'), page, title('thinPage100'), thinPage, 0.6, { ok: page.p99 <= 2 * thinPage.p99 && page.p99 < 50, text: ', p99 <= 2x and < 50 ms' }),
  vs('page500', 'thinPage500'),
  vs('hubFirst', 'thinPage100'),
  p99Row(title('deepPage'), get('deepPage'), title('hubFirst'), get('hubFirst'), 1.2),
  vs('putDefault', 'pgInsertPair', 0.35),
  vs('putLabelled', 'pgInsertPair'),
  vs('putNearCap', 'putLight', 0.8),
  vs('setPrimary', 'pgInsertPair'),
  vs('batch100', 'pgBatch100', 0.4),
  vs('batch2000', 'pgBatch100', 0.4),
  vs('batchRead', 'pgBatchRead'),
  vs('search', 'pgSearch'),
  ...imports.map((i) => importRow(i, i.key === 'importIds' ? 0.25 : 0.1)),
  rateRow(title('mixed'), get('mixed'), 'weighted harmonic mean of the operations\' baselines', { rate: mixBaseline, unit: 'req/s', p50: 0, p99: 0, failures: 0 }, 0.4),
  rateRow(`data generator (${generated.associationRows.toLocaleString('en')} rows incl. primary rows, index builds, analyze)`, generatorSample, title('copy'), get('copy')),
  vs('thinPage100', 'pgPage100'),
  vs('bare', 'thinPage100')
]
const rssOk = peakRss < 250 * 2 ** 20
const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MB`
// RSS seldom shrinks, so what an operation costs in memory is how far it raised the RSS in any of its runs.
const serviceMeasured = measured.filter((m) => serviceKeys.includes(m.key))
const rssByOperation = [...serviceMeasured.map((m) => ({ title: m.title, rss: Math.max(...m.samples.map((s) => (s.serviceRss ?? 0) - (s.serviceRssBefore ?? 0))) })), { title: 'CSV imports', rss: importsGrowth }]
  .sort((a, b) => b.rss - a.rss)
const summary = [
  `Benchmark suite, ${startedAt.toISOString()}${options.quick ? ' (--quick smoke run)' : ''}`,
  '',
  `Machine: ${machine()}; ${postgres.v.split(' on ')[0] ?? postgres.v}, stock settings (shared_buffers ${postgres.sb}, max_wal_size ${postgres.wal}, autovacuum off on this server)`,
  `Data: ${generated.associationRows.toLocaleString('en')} association rows (${layout.regular.toLocaleString('en')} contacts x 100 companies, ${layout.hubs.length} hubs x 10,000, both directions, primary rows), ` +
    `${layout.companies.toLocaleString('en')} companies, ${generated.countRows.toLocaleString('en')} counter rows; database ${postgres.size} after the load`,
  `Method: autocannon ${options.connections} connections (batch create: 8; batch read and search: 1, a counted number of requests), service DB_POOL_MAX 8, pgbench -M prepared -c 8 -j 2; one warm-up run, then ${options.runs} interleaved runs of ${options.seconds} s per figure, median; imports run once each`,
  '',
  markdownTable(rows),
  '',
  `Service peak RSS: ${mb(peakRss)} (target < 250 MB: ${rssOk ? 'met' : '**not met**'}; ${mb(startRss)} once started, under tsx); raised most by: ${rssByOperation.slice(0, 4).map((r) => `${r.title} +${mb(r.rss)}`).join(', ')}. Non-2xx answers in the service runs: ${non2xx} (target 0: ${non2xx === 0 ? 'met' : '**not met**'}).`,
  `Mixed workload: ${mixEntries(layout, 0).map((e) => `${e.name} ${e.weight}% (baseline ${title(e.baseline)})`).join('; ')}.`
].join('\n')
writeResults('suite', summary, {
  startedAt: startedAt.toISOString(), machine: machine(), postgres, options, layout, generated, rows, peakRssBytes: peakRss, startRssBytes: startRss, rssByOperation, non2xx, mixBaseline,
  imports, runs: measured
})
if (!options.keep) await dropDatabase(ADMIN_URL, DB)
