// Command-line options of the suite: `npm run bench` (10M rows) and `npm run bench -- --quick` (a ~2-minute smoke run).
import { parseArgs } from 'node:util'

export interface SuiteOptions {
  quick: boolean
  /** Association rows to load (both directions of rows/2 pairs), primary rows on top. */
  rows: number
  /** Seconds per measured run, and measured runs per operation (interleaved; the median is reported). */
  seconds: number
  runs: number
  warmupSeconds: number
  /** Requests per run (per connection) of the operations whose requests take seconds each (batch read, search). */
  slowRequests: number
  connections: number
  /** Rows of each CSV import (by record id, by email/domain). */
  importRows: number
  /** Rows of the COPY baseline of association rows. */
  copyRows: number
  /** Keep the bench database after the run (for check:invariants); it is dropped on the next run anyway. */
  keep: boolean
  /** Only generate the data (and keep it): to check it with check:invariants or time the generator. */
  loadOnly: boolean
}

export function suiteOptions (argv: string[] = process.argv.slice(2)): SuiteOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      rows: { type: 'string' },
      seconds: { type: 'string' },
      runs: { type: 'string' },
      connections: { type: 'string', default: '50' },
      'import-rows': { type: 'string' },
      keep: { type: 'boolean', default: false },
      'load-only': { type: 'boolean', default: false }
    }
  })
  const quick = values.quick === true
  const num = (v: string | undefined, full: number, smoke: number): number => v !== undefined ? Number(v) : quick ? smoke : full
  return {
    quick,
    rows: num(values.rows, 10_000_000, 300_000),
    seconds: num(values.seconds, 5, 1),
    runs: num(values.runs, 3, 2),
    warmupSeconds: quick ? 1 : 2,
    slowRequests: quick ? 1 : 3,
    connections: Number(values.connections),
    importRows: num(values['import-rows'], 1_000_000, 20_000),
    copyRows: quick ? 100_000 : 1_000_000,
    keep: values.keep === true || values['load-only'] === true,
    loadOnly: values['load-only'] === true
  }
}
