import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { sql } from 'kysely'
import { runKeysCli } from '../../src/cli/keys.js'
import { loadConfig } from '../../src/config.js'
import { openDatabase, type DatabaseHandle } from '../../src/db/database.js'
import { createServices } from '../../src/plugins/services.js'

const SCRIPT = fileURLToPath(new URL('../../src/cli/keys.ts', import.meta.url))
const KEY = /aak_[A-Za-z0-9_-]{32}/

interface Run { code: number, stdout: string, stderr: string }

/** The script as `npm run keys` starts it, in a child process. */
async function runScript (args: string[], env: Record<string, string>): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', SCRIPT, ...args], {
      env: { ...process.env, DATABASE_URL: '', LOG_LEVEL: 'silent', ...env }
    })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number, stdout: string, stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

/** The same command in this process (faster), with its output captured. */
async function run (args: string[], env: Record<string, string>, database?: DatabaseHandle): Promise<Run> {
  let stdout = ''
  let stderr = ''
  const code = await runKeysCli(args, { env, database, io: { stdout: (s) => { stdout += s }, stderr: (s) => { stderr += s } } })
  return { code, stdout, stderr }
}

t.test('bad arguments exit 2 with the usage, before touching a database', async (t) => {
  const env = { DATA_DIR: '/nonexistent/never-created' }
  const unknown = await runScript(['frobnicate'], env)
  t.equal(unknown.code, 2)
  t.match(unknown.stderr, /unknown command "frobnicate"[\s\S]*Usage: npm run keys/)
  for (const args of [[], ['create'], ['create', '--name', 'x', '--scopes', 'crm.objects.read,nope'], ['revoke'], ['revoke', 'abc'],
    ['list', '--name', 'x'], ['list', '--account', '0'], ['create-account', '--name', 'x', '--scopes', 'admin'], ['list', '--bogus']]) {
    const r = await run(args, env)
    t.equal(r.code, 2, `${args.join(' ') || '(nothing)'} exits 2`)
    t.match(r.stderr, /^Error: .+\n\nUsage:/, 'with a reason and the usage')
  }
  const help = await run(['--help'], env)
  t.equal(help.code, 0)
  t.match(help.stdout, /create-account --name NAME/)
})

t.test('accounts and keys on a throwaway PGlite data folder', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'assoc-keys-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  const env = { DATA_DIR: join(dir, 'db'), LOG_LEVEL: 'silent' }

  // 1. The real script: creates and migrates the new folder, prints the account's admin key once.
  const account = await runScript(['create-account', '--name', 'Acme'], env)
  t.equal(account.code, 0, account.stderr)
  const accountId = /Created account (\d+) \(Acme\)/.exec(account.stdout)?.[1] ?? ''
  const adminKey = KEY.exec(account.stdout)?.[0] ?? ''
  t.not(accountId, '')
  t.not(adminKey, '')

  // Steps 2-6 run in this process on one open handle of the same folder (PGlite takes seconds to open).
  const handle = await openDatabase({ dataDir: env.DATA_DIR, poolMax: 1, timeoutMs: 5000 })
  let handleOpen = true
  t.teardown(async () => { if (handleOpen) await handle.db.destroy() })
  const cli = async (args: string[]): Promise<Run> => await run(args, env, handle)
  const { accounts } = createServices(handle.db, loadConfig({}))

  // 2. No operator account exists yet (the server makes it on first start), so the default account is missing.
  const noOperator = await cli(['list'])
  t.equal(noOperator.code, 1)
  t.match(noOperator.stderr, /no operator account/)

  // 3. A key with chosen scopes, printed once.
  const created = await cli(['create', '--name', 'ci', '--scopes', 'crm.objects.read, crm.objects.write', '--account', accountId])
  t.equal(created.code, 0, created.stderr)
  t.match(created.stdout, /Created API key \d+ "ci" for account \d+ \(scopes: crm\.objects\.read, crm\.objects\.write\)/)
  const ciKey = KEY.exec(created.stdout)?.[0] ?? ''
  const ciKeyId = /Created API key (\d+)/.exec(created.stdout)?.[1] ?? ''
  t.not(ciKey, '')
  t.match(await accounts.authenticate(ciKey), { accountId: Number(accountId), scopes: ['crm.objects.read', 'crm.objects.write'] })

  // 4. The listing shows the prefixes, never a secret.
  const list = await cli(['list', '--account', accountId])
  t.equal(list.code, 0, list.stderr)
  t.match(list.stdout, new RegExp(`^${ciKeyId}\\s+${ciKey.slice(0, 12)}…\\s+ci\\s+active`, 'm'))
  t.match(list.stdout, new RegExp(`${adminKey.slice(0, 12)}…\\s+admin\\s+active`))
  t.notMatch(list.stdout, ciKey)
  t.notMatch(list.stdout, adminKey)
  t.notMatch(list.stdout, KEY, 'no full key at all')

  // 5. Revoke: the key fails authentication from then on; an unknown key id is an error.
  const revoked = await cli(['revoke', ciKeyId, '--account', accountId])
  t.equal(revoked.code, 0, revoked.stderr)
  t.match(revoked.stdout, `Revoked API key ${ciKeyId} "ci"`)
  t.notMatch(revoked.stdout, ciKey)
  await t.rejects(accounts.authenticate(ciKey), { code: 'ASSOC_UNAUTHENTICATED' }, 'the revoked key fails authentication')
  t.match(await accounts.authenticate(adminKey), { accountId: Number(accountId), isOperator: false }, 'the other key still works')
  const missing = await cli(['revoke', '999', '--account', accountId])
  t.equal(missing.code, 1)
  t.match(missing.stderr, /No API key with ID 999/)
  const otherAccount = await cli(['list', '--account', '4242'])
  t.equal(otherAccount.code, 1)
  t.match(otherAccount.stderr, /No account with ID 4242/)

  // 6. Once the operator account exists, commands without --account use it.
  const boot = await accounts.bootstrap()
  t.ok(boot.created)
  const operatorKey = await cli(['create', '--name', 'ops'])
  t.equal(operatorKey.code, 0, operatorKey.stderr)
  t.match(operatorKey.stdout, `for account ${boot.accountId} (scopes: crm.objects.read, crm.objects.write, crm.schemas.read, crm.schemas.write, crm.import)`)
  await sql`select 1`.execute(handle.db) // lets the fire-and-forget last_used_at updates finish before closing
  await handle.db.destroy()
  handleOpen = false

  // 7. The real script again, on the folder as the handle left it: the revoked key is listed as revoked.
  const finalList = await runScript(['list', '--account', accountId], env)
  t.equal(finalList.code, 0, finalList.stderr)
  t.match(finalList.stdout, new RegExp(`^${ciKeyId}\\s+\\S+\\s+ci\\s+revoked `, 'm'))
})
