// The import runner: IMPORT_CONCURRENCY and DEFERRED in createdAt order, a chunk applied exactly once (resume from
// the last committed chunk, graceful stop, two runners on one database), cancel at a chunk boundary, and a database
// error inside a chunk failing that import only.
import t, { type Test } from 'tap'
import { sql } from 'kysely'
import { build } from '../helpers/app.js'
import { loadConfig } from '../../src/config.js'
import { createServices } from '../../src/plugins/services.js'
import { createImportRunner } from '../../src/services/import-runner.js'
import type { ImportApplier } from '../../src/services/import-types.js'
import { startImport, tempImportDir, waitForImport } from '../helpers/import-pipeline.js'

const importDir = tempImportDir(t)
const overrides = { IMPORT_DIR: importDir, IMPORT_CONCURRENCY: 1, IMPORT_CHUNK_ROWS: 5, IMPORT_POLL_MS: 50 }
const ta = await build(t, overrides)
await ta.app.ready()
const { db } = ta.app
const runner = ta.app.services.importRunner

/** Contacts keyed by first name only: no identifier, so a row applied twice would make two records. */
function namesRequest (fileName: string): Record<string, unknown> {
  return {
    name: fileName,
    files: [{ fileName, fileImportPage: { hasHeader: true, columnMappings: [{ columnObjectTypeId: '0-1', columnName: 'First name', propertyName: 'firstname' }] } }]
  }
}
const namesCsv = (prefix: string, n: number): string => 'First name\n' + Array.from({ length: n }, (_, i) => `${prefix}-${i + 1}\n`).join('')

async function createNames (prefix: string, n: number): Promise<string> {
  const res = await startImport(ta, namesRequest(`${prefix}.csv`), [{ name: `${prefix}.csv`, data: namesCsv(prefix, n) }])
  if (res.statusCode !== 200) throw new Error(res.body)
  return res.json().id as string
}

/** How many contacts carry each first name of `prefix`. */
async function nameCounts (prefix: string): Promise<Map<string, number>> {
  const rows = await db.selectFrom('records').select('properties').where('account_id', '=', ta.accountId)
    .where(sql<boolean>`properties->>'firstname' like ${prefix + '-%'}`).execute()
  const counts = new Map<string, number>()
  for (const r of rows) counts.set(r.properties.firstname ?? '', (counts.get(r.properties.firstname ?? '') ?? 0) + 1)
  return counts
}

/** Every name of rows from..to (1-based) exactly once, and no other name of that prefix. */
async function expectNamesOnce (t: Test, prefix: string, from: number, to: number): Promise<void> {
  const counts = await nameCounts(prefix)
  const expected = new Map(Array.from({ length: to - from + 1 }, (_, i) => [`${prefix}-${from + i}`, 1]))
  t.same(counts, expected, `${prefix}: rows ${from}-${to} applied exactly once, none other`)
}

async function counters (id: string): Promise<Record<string, number>> {
  return (await ta.request({ method: 'GET', url: `/crm/v3/imports/${id}` })).json().metadata.counters
}

async function until (what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!await check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

t.test('IMPORT_CONCURRENCY 1: the others are DEFERRED and run one at a time, oldest first', async (t) => {
  await runner.stop()
  const ids = [await createNames('conc-a', 30), await createNames('conc-b', 30), await createNames('conc-c', 30)]
  const states = await Promise.all(ids.map(async (id) => (await ta.request({ method: 'GET', url: `/crm/v3/imports/${id}` })).json().state))
  t.same(states, ['STARTED', 'DEFERRED', 'DEFERRED'], 'waiting imports beyond the limit show DEFERRED')
  await runner.start()
  let maxProcessing = 0
  await until('all three done', async () => {
    const rows = await db.selectFrom('imports').select('state').where('id', 'in', ids.map(Number)).execute()
    maxProcessing = Math.max(maxProcessing, rows.filter((r) => r.state === 'PROCESSING').length)
    return rows.every((r) => r.state === 'DONE')
  })
  t.equal(maxProcessing, 1, 'never two PROCESSING at once')
  const rows = await db.selectFrom('imports').select(['id', 'started_at', 'finished_at']).where('id', 'in', ids.map(Number)).orderBy('id').execute()
  for (let i = 1; i < rows.length; i++) {
    t.ok(rows[i]!.started_at! >= rows[i - 1]!.finished_at!, `import ${i + 1} started after import ${i} finished`)
  }
  for (const prefix of ['conc-a', 'conc-b', 'conc-c']) await expectNamesOnce(t, prefix, 1, 30)
})

t.test('resume: an import left PROCESSING by a dead runner continues after its last committed chunk', async (t) => {
  await runner.stop()
  const id = await createNames('resume', 20)
  // As a runner that committed 8 rows and then died would leave it: progress 8, an expired lease.
  await db.updateTable('imports').set({ state: 'PROCESSING', rows_done: 8, lease_owner: 'dead-runner', lease_expires_at: sql`now() - interval '1 second'` })
    .where('id', '=', Number(id)).execute()
  await runner.start()
  const done = await waitForImport(ta, id)
  t.equal(done.state, 'DONE')
  t.match(done.metadata.counters, { TOTAL_ROWS: 20, PROCESSED_ROWS: 12 })
  await expectNamesOnce(t, 'resume', 9, 20)
})

t.test('a live lease of another runner is left alone', { skip: ta.app.dbEngine === 'pglite' ? 'PGlite is one process per database: every lease found at start is dead' : false }, async (t) => {
  await runner.stop()
  const id = await createNames('leased', 5)
  await db.updateTable('imports').set({ state: 'PROCESSING', lease_owner: 'other-process', lease_expires_at: sql`now() + interval '1 hour'` })
    .where('id', '=', Number(id)).execute()
  await runner.start()
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.equal((await db.selectFrom('imports').select('state').where('id', '=', Number(id)).executeTakeFirstOrThrow()).state, 'PROCESSING')
  t.same(await nameCounts('leased'), new Map(), 'nothing applied by this runner')
  await db.updateTable('imports').set({ state: 'CANCELED' }).where('id', '=', Number(id)).execute()
})

t.test('graceful stop mid-import, then another runner on the same database finishes it: every row once', async (t) => {
  const id = await createNames('stop', 400)
  await until('a chunk committed', async () => ((await counters(id)).PROCESSED_ROWS ?? 0) >= 5)
  await runner.stop()
  const paused = await db.selectFrom('imports').selectAll().where('id', '=', Number(id)).executeTakeFirstOrThrow()
  t.equal(paused.state, 'PROCESSING', 'still PROCESSING')
  t.equal(paused.lease_owner, null, 'the lease is given up at once')
  t.ok(paused.rows_done > 0 && paused.rows_done < 400, `stopped mid-import (${paused.rows_done} rows committed)`)
  t.equal(paused.counters.PROCESSED_ROWS, paused.rows_done, 'progress and counters committed together')

  const other = createServices(db, loadConfig({}, { LOG_LEVEL: 'silent', ...overrides }))
  await other.importRunner.start()
  const done = await waitForImport(ta, id)
  await other.importRunner.stop()
  await runner.start()
  t.equal(done.state, 'DONE')
  t.match(done.metadata.counters, { TOTAL_ROWS: 400, PROCESSED_ROWS: 400, CREATED_OBJECTS: 400 })
  await expectNamesOnce(t, 'stop', 1, 400)
})

t.test('a lease that ran out during the run: the runner claims its own import again without running it twice', async (t) => {
  // A runner with room for a second import: only then does a poll claim while the import runs.
  await runner.stop()
  const roomy = createServices(db, loadConfig({}, { LOG_LEVEL: 'silent', ...overrides, IMPORT_CONCURRENCY: 2 })).importRunner
  await roomy.start()
  const id = await createNames('relapse', 400)
  await until('a chunk committed', async () => ((await counters(id)).PROCESSED_ROWS ?? 0) >= 5)
  // What a long chunk does to the heartbeat: the lease expires while the run goes on, and the next poll claims it.
  for (let i = 0; i < 5; i++) {
    await db.updateTable('imports').set({ lease_expires_at: new Date(Date.now() - 1000) }).where('id', '=', Number(id)).execute()
    roomy.wake()
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  const done = await waitForImport(ta, id)
  await roomy.stop()
  await runner.start()
  t.equal(done.state, 'DONE', JSON.stringify(done))
  t.match(done.metadata.counters, { TOTAL_ROWS: 400, PROCESSED_ROWS: 400, CREATED_OBJECTS: 400 })
  await expectNamesOnce(t, 'relapse', 1, 400)
})

t.test('two runners on one database never run one import twice', async (t) => {
  await runner.stop()
  const ids = [await createNames('two-a', 40), await createNames('two-b', 40), await createNames('two-c', 40), await createNames('two-d', 40)]
  const other = createServices(db, loadConfig({}, { LOG_LEVEL: 'silent', ...overrides }))
  await Promise.all([runner.start(), other.importRunner.start()])
  for (const id of ids) t.equal((await waitForImport(ta, id)).state, 'DONE')
  await other.importRunner.stop()
  for (const prefix of ['two-a', 'two-b', 'two-c', 'two-d']) await expectNamesOnce(t, prefix, 1, 40)
})

t.test('cancel while PROCESSING: no chunk commits after the 200', async (t) => {
  const id = await createNames('cancel', 400)
  await until('a chunk committed', async () => ((await counters(id)).PROCESSED_ROWS ?? 0) >= 5)
  const res = await ta.request({ method: 'POST', url: `/crm/v3/imports/${id}/cancel` })
  t.equal(res.statusCode, 200, res.body)
  const atCancel = (await counters(id)).PROCESSED_ROWS ?? 0
  await until('the runner let go', async () => runner.active() === 0)
  await new Promise((resolve) => setTimeout(resolve, 100))
  const after = await ta.request({ method: 'GET', url: `/crm/v3/imports/${id}` })
  t.equal(after.json().state, 'CANCELED')
  t.equal(after.json().metadata.counters.PROCESSED_ROWS, atCancel, 'no chunk after the cancel')
  t.ok(atCancel < 400, `stopped at a chunk boundary (${atCancel} rows)`)
  t.equal(atCancel % 5, 0, 'a whole number of chunks')
  await expectNamesOnce(t, 'cancel', 1, atCancel)
})

t.test('look-ahead on PostgreSQL: each chunk is read ahead beside the one before; what that chunk wrote is seen', async (t) => {
  await runner.stop()
  t.teardown(async () => { await runner.start() })
  const { importApplier } = createServices(db, loadConfig({}, { LOG_LEVEL: 'silent', ...overrides }))
  const seen = { lookAheads: 0, chunks: 0, chunksWithAhead: 0 }
  const counting: ImportApplier = {
    plan: importApplier.plan,
    async lookAhead (...args) { seen.lookAheads++; return await importApplier.lookAhead(...args) },
    async applyChunk (trx, accountId, plan, fileIndex, rows, ahead) {
      seen.chunks++
      if (ahead !== undefined) seen.chunksWithAhead++
      return await importApplier.applyChunk(trx, accountId, plan, fileIndex, rows, ahead)
    }
  }
  const silent = { info () {}, warn () {}, error () {} }
  const pglite = ta.app.dbEngine === 'pglite'
  const lookingAhead = createImportRunner(db, loadConfig({}, { LOG_LEVEL: 'silent', ...overrides }), counting, { log: silent, singleProcess: pglite })
  await lookingAhead.start()
  t.teardown(async () => { await lookingAhead.stop() })
  // Chunks of 5: the second names the first's new contacts with new names, the third gives them their first names back.
  const rows = [1, 2, 3].flatMap((round) => Array.from({ length: 5 }, (_, i) => `ahead-${i}@example.com,${round === 2 ? 'second' : 'first'}-${i}`))
  const columnMappings = [
    { columnObjectTypeId: '0-1', columnName: 'Email', propertyName: 'email' },
    { columnObjectTypeId: '0-1', columnName: 'First name', propertyName: 'firstname' }
  ]
  const request = { name: 'ahead', files: [{ fileName: 'ahead.csv', fileImportPage: { hasHeader: true, columnMappings } }] }
  const res = await startImport(ta, request, [{ name: 'ahead.csv', data: `Email,First name\n${rows.join('\n')}\n` }])
  t.equal(res.statusCode, 200, res.body)
  const done = await waitForImport(ta, res.json().id as string)
  t.equal(done.state, 'DONE')
  t.match(done.metadata.counters, { TOTAL_ROWS: 15, CREATED_OBJECTS: 5, UPDATED_OBJECTS: 10, ERRORS: 0 })
  const contacts = await db.selectFrom('records').select('properties').where('account_id', '=', ta.accountId)
    .where(sql<boolean>`properties->>'email' like 'ahead-%'`).orderBy(sql`properties->>'email'`).execute()
  t.same(contacts.map((c) => c.properties), Array.from({ length: 5 }, (_, i) => ({ email: `ahead-${i}@example.com`, firstname: `first-${i}` })),
    'five contacts, each found by the later chunks, with the last chunk\'s names')
  t.same(seen, pglite ? { lookAheads: 0, chunks: 3, chunksWithAhead: 0 } : { lookAheads: 3, chunks: 3, chunksWithAhead: 3 },
    pglite ? 'PGlite has one connection: no look-ahead' : 'every chunk was read ahead')
})

t.test('a database error inside a chunk fails that import with the reason; the next import runs', async (t) => {
  await sql`CREATE FUNCTION test_refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.properties->>'firstname' = 'boom-13' THEN RAISE EXCEPTION 'refused by a test trigger'; END IF;
      RETURN NEW;
    END $$`.execute(db)
  await sql`CREATE TRIGGER test_refuse_boom BEFORE INSERT OR UPDATE ON records FOR EACH ROW EXECUTE FUNCTION test_refuse_boom()`.execute(db)
  t.teardown(async () => {
    await sql`DROP TRIGGER IF EXISTS test_refuse_boom ON records`.execute(db)
    await sql`DROP FUNCTION IF EXISTS test_refuse_boom()`.execute(db)
  })
  const failing = await createNames('boom', 20)
  const next = await createNames('after-boom', 7)
  const failed = await waitForImport(ta, failing)
  t.equal(failed.state, 'FAILED')
  const errors = (await ta.request({ method: 'GET', url: `/crm/v3/imports/${failing}/errors?includeErrorMessage=true` })).json().results
  t.match(errors, [{ errorType: 'UNKNOWN_ERROR', sourceData: { lineNumber: 0 }, errorMessage: /boom\.csv failed: .*refused by a test trigger/ }])
  t.match(failed.metadata.counters, { PROCESSED_ROWS: 10, ERRORS: 1 }, 'two chunks of 5 committed before the failing one')
  await expectNamesOnce(t, 'boom', 1, 10)
  t.equal((await waitForImport(ta, next)).state, 'DONE', 'the next import runs')
  await expectNamesOnce(t, 'after-boom', 1, 7)
})
