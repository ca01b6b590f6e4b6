// The kill test (issue 5): the real server as a child process, an import large enough to take a few seconds, SIGKILL
// after at least one chunk committed and before the end, restart, and the import finishes with every row applied
// exactly once: no duplicate records (the contacts have no identifier, so a re-applied row would make a second one),
// no duplicate associations, counters right.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { sql } from 'kysely'
import { createTestDatabase } from '../helpers/db.js'
import { openDatabase } from '../../src/db/database.js'
import { multipart } from '../helpers/import-pipeline.js'

const ROWS = 4_000
const DOMAINS = 40
const KEY = 'aak_kill_test_key_0123456789abcdef'
const root = new URL('../../', import.meta.url).pathname

const test = await createTestDatabase(2)
const CHUNK = 400
const folder = mkdtempSync(join(tmpdir(), 'import-kill-'))
t.teardown(async () => {
  await test.handle.db.destroy()
  await test.drop()
  rmSync(folder, { recursive: true, force: true })
})
// The child process opens the database itself: PostgreSQL by URL, PGlite in a data folder of its own.
const engineEnv = test.url !== undefined ? { DATABASE_URL: test.url } : { DATA_DIR: join(folder, 'data') }
if (test.url === undefined) await test.handle.db.destroy()

interface Server { child: ChildProcess, base: string }

async function startServer (): Promise<Server> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: root,
    env: {
      ...process.env,
      ...engineEnv,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      BOOTSTRAP_API_KEY: KEY,
      IMPORT_DIR: join(folder, 'imports'),
      IMPORT_CHUNK_ROWS: String(CHUNK),
      IMPORT_LEASE_MS: '1000',
      IMPORT_POLL_MS: '100',
      DOCS_ENABLED: 'false'
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  return await new Promise<Server>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`server did not start:\n${output}`)) }, 60_000)
    const onData = (data: Buffer): void => {
      output += data.toString()
      const port = /Explorer: http:\/\/localhost:(\d+)/.exec(output)?.[1]
      if (port !== undefined) { clearTimeout(timer); resolve({ child, base: `http://127.0.0.1:${port}` }) }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', (data: Buffer) => { output += data.toString() })
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited (${String(code)}):\n${output}`)) })
  })
}

async function stopServer (server: Server, signal: NodeJS.Signals): Promise<void> {
  server.child.removeAllListeners('exit')
  const exited = new Promise((resolve) => server.child.once('exit', resolve))
  server.child.kill(signal)
  await exited
}

async function getImport (server: Server, id: string): Promise<Record<string, any>> {
  const res = await fetch(`${server.base}/crm/v3/imports/${id}`, { headers: { authorization: `Bearer ${KEY}` } })
  return await res.json() as Record<string, any>
}

t.test('SIGKILL mid-import, restart: the import resumes and every row is applied exactly once', async (t) => {
  const csv = 'First name,Company domain\n' + Array.from({ length: ROWS }, (_, i) => `kill-${i + 1},d${i % DOMAINS}.example\n`).join('')
  const request = {
    name: 'kill test',
    files: [{
      fileName: 'kill.csv',
      fileImportPage: {
        hasHeader: true,
        columnMappings: [
          { columnObjectTypeId: '0-1', columnName: 'First name', propertyName: 'firstname' },
          { columnObjectTypeId: '0-2', columnName: 'Company domain', propertyName: 'domain' }
        ]
      }
    }]
  }
  let server = await startServer()
  const form = multipart([{ name: 'importRequest', data: JSON.stringify(request) }, { name: 'files', filename: 'kill.csv', contentType: 'text/csv', data: csv }])
  const created = await fetch(`${server.base}/crm/v3/imports`, { method: 'POST', headers: { ...form.headers, authorization: `Bearer ${KEY}` }, body: form.payload })
  t.equal(created.status, 200)
  const id = (await created.json() as { id: string }).id

  let seen = 0
  for (const end = Date.now() + 60_000; seen < CHUNK && Date.now() < end;) {
    seen = (await getImport(server, id)).metadata.counters.PROCESSED_ROWS ?? 0
    if (seen < CHUNK) await new Promise((resolve) => setTimeout(resolve, 10))
  }
  await stopServer(server, 'SIGKILL')
  t.ok(seen >= CHUNK && seen < ROWS, `killed after ${seen} of ${ROWS} rows were committed`)

  server = await startServer()
  let done: Record<string, any> = {}
  for (const end = Date.now() + 120_000; Date.now() < end;) {
    done = await getImport(server, id)
    if (['DONE', 'FAILED', 'CANCELED'].includes(done.state)) break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  await stopServer(server, 'SIGTERM')
  t.equal(done.state, 'DONE')
  t.match(done.metadata.counters, { TOTAL_ROWS: ROWS, PROCESSED_ROWS: ROWS, ROWS_APPLIED: ROWS, CREATED_OBJECTS: ROWS + DOMAINS })
  t.notOk(done.metadata.counters.ERRORS, 'no errors')

  const handle = test.url !== undefined ? test.handle : await openDatabase({ dataDir: engineEnv.DATA_DIR as string, poolMax: 1, timeoutMs: 5000 })
  t.teardown(async () => { if (handle !== test.handle) await handle.db.destroy() })
  const contacts = await sql<{ names: number, rows: number }>`
    select count(distinct properties->>'firstname')::int as names, count(*)::int as rows
    from records where object_type = '0-1' and properties->>'firstname' like 'kill-%'`.execute(handle.db)
  t.same(contacts.rows[0], { names: ROWS, rows: ROWS }, 'one contact per row: no row applied twice')
  const companies = await sql<{ n: number }>`select count(*)::int as n from records where object_type = '0-2'`.execute(handle.db)
  t.equal(companies.rows[0]?.n, DOMAINS, 'one company per domain')
  const edges = await sql<{ type_id: number, n: number }>`
    select type_id, count(*)::int as n from associations where from_type = '0-1' and to_type = '0-2' group by type_id order by type_id`.execute(handle.db)
  t.same(edges.rows, [{ type_id: 1, n: ROWS }, { type_id: 279, n: ROWS }], 'one association (and one primary) per contact, none twice')
})
