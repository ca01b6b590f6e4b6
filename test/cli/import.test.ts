// `npm run import`: bad arguments exit 2 with the usage; an import runs on the configured database to its end and
// prints a summary with counters and row errors (exit 0); a file that cannot be imported exits 1.
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { runImportCli } from '../../src/cli/import.js'
import { createTestDatabase } from '../helpers/db.js'
import { migrateToLatest } from '../../src/db/migrator.js'
import { createServices } from '../../src/plugins/services.js'
import { loadConfig } from '../../src/config.js'
import { contactCompanyRequest, tempImportDir } from '../helpers/import-pipeline.js'

const SCRIPT = fileURLToPath(new URL('../../src/cli/import.ts', import.meta.url))
const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/imports/${name}`, import.meta.url))
const dir = tempImportDir(t)
const env = { IMPORT_DIR: dir, LOG_LEVEL: 'silent', IMPORT_CHUNK_ROWS: '2' }

const test = await createTestDatabase(3)
t.teardown(async () => { await test.handle.db.destroy(); await test.drop() })
if (test.handle.engine === 'pglite') await migrateToLatest(test.handle.db)
const services = createServices(test.handle.db, loadConfig({}, { LOG_LEVEL: 'silent' }))
await services.accounts.bootstrap('aak_import_cli_test_key_0123456789ab')

const mapping = join(dir, 'mapping.json')
writeFileSync(mapping, JSON.stringify(contactCompanyRequest('whatever.csv', { name: 'CLI import', extra: [['First name', '0-1', 'firstname']] })))

async function run (args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  let stdout = ''
  let stderr = ''
  const code = await runImportCli(args, { env, database: test.handle, progress: false, pollMs: 20, io: { stdout: (s) => { stdout += s }, stderr: (s) => { stderr += s } } })
  return { code, stdout, stderr }
}

t.test('bad arguments exit 2 with the usage', async (t) => {
  for (const args of [[], ['--file', 'a.csv'], ['--mapping', mapping], ['--file', 'a.csv', '--mapping', mapping, '--account', 'x'], ['--bogus']]) {
    const r = await run(args)
    t.equal(r.code, 2, `${args.join(' ') || '(nothing)'} exits 2`)
    t.match(r.stderr, /^Error: .+\n\nUsage: npm run import/)
  }
  const missing = await run(['--file', fixture('pipeline-contacts.csv'), '--mapping', join(dir, 'nope.json')])
  t.equal(missing.code, 2)
  t.match(missing.stderr, /cannot read the mapping/)
  const script = await promisify(execFile)(process.execPath, ['--import', 'tsx', SCRIPT, '--help'])
  t.match(script.stdout, /Usage: npm run import -- --file FILE/, 'the script runs as `npm run import` starts it')
})

t.test('an import to its end, with a summary of counters and row errors', async (t) => {
  const r = await run(['--file', fixture('pipeline-contacts.csv'), '--mapping', mapping])
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout, /Import \d+ created \((STARTED|DEFERRED)\); files stored\./)
  t.match(r.stdout, /Import \d+ "CLI import": DONE/)
  t.match(r.stdout, /TOTAL_ROWS\s+4\n/)
  t.match(r.stdout, /PROCESSED_ROWS\s+4\n/)
  t.match(r.stdout, /Errors \(1\):\n {2}line 5: INCORRECT_NUMBER_OF_COLUMNS /)
  const contacts = await test.handle.db.selectFrom('records').select('properties').where('object_type', '=', '0-1').execute()
  t.ok(contacts.some((c) => c.properties.email === 'dean@forester.example'), 'the rows are in the database')
})

t.test('a file that cannot be imported exits 1 with the reason', async (t) => {
  const r = await run(['--file', fixture('bad-latin1.csv'), '--mapping', mapping, '--name', 'latin1'])
  t.equal(r.code, 1)
  t.match(r.stdout, /"latin1": FAILED/)
  t.match(r.stdout, /file: INVALID_FILE_TYPE The file whatever\.csv is not valid UTF-8/)
})
