// The baselines, measured in the same run as the service: a bare Fastify route, the thinnest Fastify + pg route
// (thin-server.ts, a child process), pgbench on the statements the service issues, and COPY.
import type { ChildProcess } from 'node:child_process'
import pg from 'pg'
import { startNodeProcess, stopService } from '../lib.js'
import { copyRows } from './copy-stream.js'
import { companyId, CONTACT0, COMPANY0, contactId, random, type Layout } from './layout.js'
import { httpOperation, type Operation } from './measure.js'
import { pgbench } from './pgbench-run.js'

export const THIN_PORT = 3458
const THIN = `http://127.0.0.1:${THIN_PORT}`

export async function startThinServer (url: string, account: number): Promise<ChildProcess> {
  return await startNodeProcess('bench/suite/thin-server.ts', { DATABASE_URL: url, PORT: String(THIN_PORT), ACCOUNT_ID: String(account) }, `${THIN}/bare`)
}

export { stopService as stopThinServer }

export function thinOperations (layout: Layout, connections: number): Operation[] {
  const get = (path: () => string) => ({ url: THIN, requests: [{ method: 'GET' as const, setupRequest: (r: object) => ({ ...r, path: path() }) }] })
  const hub = (): number => layout.hubs[random(layout.hubs.length)] as number
  return [
    httpOperation('bare', 'bare Fastify route, no database (page-sized JSON)', get(() => '/bare'), connections),
    httpOperation('thinPage100', 'thin Fastify + pg route, page of 100', get(() => `/page/${contactId(random(layout.regular))}?limit=100`), connections),
    httpOperation('thinPage500', 'thin Fastify + pg route, page of 500 (hub)', get(() => `/page/${hub()}?limit=500`), connections)
  ]
}

/** pgbench operations; `rows` converts transactions/s into rows/s where a transaction writes many. */
export function pgbenchOperations (url: string, layout: Layout, account: number): Operation[] {
  const common = { account, regular: layout.regular, companies: layout.companies, contact0: CONTACT0, company0: COMPANY0 }
  const page = (fromBase: number, fromCount: number, limit: number, afterBase: number, depth: number) =>
    ({ ...common, from_base: fromBase, from_count: fromCount, limit, after_base: afterBase, depth })
  const hub0 = layout.hubs[0] as number
  const op = (key: string, title: string, script: string, vars: Record<string, number>, unit = 'tx/s', rows = 1, clients = 8): Operation => ({
    key,
    title,
    async run (seconds) {
      const r = await pgbench(url, `bench/sql/${script}`, vars, seconds, clients)
      return { rate: r.tps * rows, unit, p50: r.p50, p99: r.p99, failures: r.failed }
    }
  })
  return [
    op('pgPage100', 'pgbench page of 100', 'suite-page.sql', page(CONTACT0, layout.regular, 100, 0, 0)),
    op('pgPage500', 'pgbench page of 500 (hub)', 'suite-page.sql', page(hub0, layout.hubs.length, 500, 0, 0)),
    op('pgInsertPair', 'pgbench insert pair (rows, event, counters)', 'suite-insert-pair.sql', common),
    op('pgBatch100', 'pgbench batch insert of 100 pairs', 'suite-batch-100.sql', common, 'rows/s', 200),
    op('pgCount', 'pgbench count (counter row)', 'suite-count.sql', common),
    op('pgGetPrimary', 'pgbench get one association (primary)', 'suite-get-primary.sql', common),
    op('pgDeletePair', 'pgbench delete pair (rows, events, counters)', 'suite-delete-pair.sql', common),
    // One client, as the service's batch read runs on one connection (its answers are 27 MB each).
    op('pgBatchRead', 'pgbench batch read of 1,000 contacts (1 client)', 'suite-batch-read.sql', common, 'tx/s', 1, 1),
    op('pgSearch', 'pgbench contacts of one company (100, 1 client)', 'suite-search.sql', common, 'tx/s', 1, 1)
  ]
}

/**
 * COPY of association rows into a table shaped like `associations` (same columns, primary key and indexes), emptied
 * before each run: PostgreSQL's bulk-load rate for rows of this shape.
 */
export function copyOperation (url: string, layout: Layout, account: number, rows: number): Operation {
  return {
    key: 'copy',
    title: `COPY of ${rows.toLocaleString('en')} association rows into an indexed table`,
    async run () {
      const client = new pg.Client({ connectionString: url })
      await client.connect()
      try {
        await client.query('create table if not exists bench_copy_associations (like associations including all)')
        await client.query('truncate bench_copy_associations')
        function * lines (): Generator<string> {
          for (let n = 0; n < rows / 2; n++) {
            const c = contactId(n % layout.regular)
            const k = companyId((n * 7919) % layout.companies)
            yield `${account}\t0-1\t${c}\t0-2\t${k}\t${n}\n${account}\t0-2\t${k}\t0-1\t${c}\t${n}\n`
          }
        }
        const started = performance.now()
        const copied = await copyRows(client, 'copy bench_copy_associations (account_id, from_type, from_id, to_type, to_id, type_id) from stdin', lines())
        const seconds = (performance.now() - started) / 1000
        return { rate: copied / seconds, unit: 'rows/s', p50: 0, p99: 0, failures: 0 }
      } finally {
        await client.end()
      }
    }
  }
}
