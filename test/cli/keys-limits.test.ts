// `npm run keys -- limits KEY --burst N --daily N`: a key's own rate limits from the command line, by ID or prefix,
// "default" back to the service-wide value; a running app applies them from the key's next request.
import t from 'tap'
import { runKeysCli } from '../../src/cli/keys.js'
import { build, createOtherAccount } from '../helpers/app.js'

interface Run { code: number, stdout: string, stderr: string }

const ta = await build(t, { RATE_LIMIT_BURST_PER_10S: 1000, RATE_LIMIT_DAILY: 1_000_000 })
const LIST = { method: 'GET' as const, url: '/crm/v3/objects/contacts?limit=1' }

/** The CLI in this process on the app's own database, with its output captured. */
async function cli (args: string[]): Promise<Run> {
  let stdout = ''
  let stderr = ''
  const env = { LOG_LEVEL: 'silent', RATE_LIMIT_BURST_PER_10S: '150', RATE_LIMIT_DAILY: '500000' }
  const code = await runKeysCli(args, { env, database: ta.database.handle, io: { stdout: (s) => { stdout += s }, stderr: (s) => { stderr += s } } })
  return { code, stdout, stderr }
}

async function keyRow (id: number): Promise<{ rate_limit_burst_per_10s: number | null, rate_limit_daily: number | null }> {
  return await ta.app.db.selectFrom('api_keys').select(['rate_limit_burst_per_10s', 'rate_limit_daily']).where('id', '=', id).executeTakeFirstOrThrow()
}

t.test('bad arguments exit 2 with the usage', async (t) => {
  for (const args of [['limits'], ['limits', '5'], ['limits', '5', '6', '--burst', '3'], ['limits', '5', '--burst', '0'],
    ['limits', '5', '--burst=-3'], ['limits', '5', '--daily', '1.5'], ['limits', '5', '--daily', 'none'],
    ['limits', '5', '--burst', '2147483648'], ['limits', '0', '--burst', '3'], ['list', '--burst', '3']]) {
    const r = await cli(args)
    t.equal(r.code, 2, `${args.join(' ')} exits 2`)
    t.match(r.stderr, /^Error: .+\n\nUsage:/, 'with a reason and the usage')
  }
  t.match((await cli(['--help'])).stdout, /limits KEY \[--burst N\|default\] \[--daily N\|default\]/)
})

t.test('set by key ID and by prefix, clear with "default"; the app applies it from the next call', async (t) => {
  const created = await ta.app.services.accounts.createKey({ accountId: ta.accountId, keyId: 0, scopes: ['admin'], isOperator: true }, ta.accountId, 'cli-limited', ['crm.objects.read'])
  const id = Number(created.id)
  t.equal((await ta.request({ ...LIST, key: created.key })).statusCode, 200)

  const set = await cli(['limits', created.id, '--burst', '2'])
  t.equal(set.code, 0, set.stderr)
  t.match(set.stdout, `Rate limits of API key ${created.id} "cli-limited" (${created.prefix}…) of account ${ta.accountId}: 2 per 10 s, 500000 (service default) per day`)
  t.same(await keyRow(id), { rate_limit_burst_per_10s: 2, rate_limit_daily: null })
  // The call before counts in the window: one more passes, then TEN_SECONDLY_ROLLING.
  t.equal((await ta.request({ ...LIST, key: created.key })).statusCode, 200)
  const refused = await ta.request({ ...LIST, key: created.key })
  t.equal(refused.statusCode, 429)
  t.match(refused.json(), { category: 'RATE_LIMITS', policyName: 'TEN_SECONDLY_ROLLING' })

  // By prefix (as `list` prints it, with its ellipsis), the daily limit only: the burst is kept.
  const byPrefix = await cli(['limits', `${created.prefix}…`, '--daily', '7'])
  t.equal(byPrefix.code, 0, byPrefix.stderr)
  t.same(await keyRow(id), { rate_limit_burst_per_10s: 2, rate_limit_daily: 7 })
  const list = await cli(['list'])
  t.match(list.stdout, /LIMITS \(10 S\/DAY\)/)
  t.match(list.stdout, new RegExp(`^${id}\\s+\\S+\\s+cli-limited\\s+.*\\s2/7\\s+crm\\.objects\\.read$`, 'm'))

  // The whole key works as well (its start is the prefix); "default" clears both.
  const cleared = await cli(['limits', created.key, '--burst', 'default', '--daily', 'default'])
  t.equal(cleared.code, 0, cleared.stderr)
  t.match(cleared.stdout, '150 (service default) per 10 s, 500000 (service default) per day')
  t.same(await keyRow(id), { rate_limit_burst_per_10s: null, rate_limit_daily: null })
  const after = await ta.request({ ...LIST, key: created.key })
  t.equal(after.statusCode, 200, 'the next call passes under the service limit')
  t.equal(after.headers['x-hubspot-ratelimit-max'], '1000')
})

t.test('unknown keys, ambiguous or foreign prefixes and other accounts are errors (exit 1)', async (t) => {
  const other = await createOtherAccount(ta.app, 'CLI other')
  const otherKey = await ta.app.db.selectFrom('api_keys').select(['id', 'prefix']).where('account_id', '=', other.accountId).executeTakeFirstOrThrow()

  const missing = await cli(['limits', '999999', '--burst', '3'])
  t.equal(missing.code, 1)
  t.match(missing.stderr, /No API key with ID 999999/)
  const foreign = await cli(['limits', String(otherKey.id), '--burst', '3'])
  t.equal(foreign.code, 1, 'another account\'s key is not in the operator account')
  t.match(foreign.stderr, /No API key with ID/)
  const foreignPrefix = await cli(['limits', otherKey.prefix, '--burst', '3'])
  t.equal(foreignPrefix.code, 1)
  t.match(foreignPrefix.stderr, /No API key of account \d+ starts with/)
  const ambiguous = await cli(['limits', 'aak_', '--burst', '3'])
  t.equal(ambiguous.code, 1)
  t.match(ambiguous.stderr, /More than one API key/)
  const noAccount = await cli(['limits', String(otherKey.id), '--burst', '3', '--account', '424242'])
  t.equal(noAccount.code, 1)
  t.match(noAccount.stderr, /No account with ID 424242/)
  t.same(await keyRow(otherKey.id), { rate_limit_burst_per_10s: null, rate_limit_daily: null }, 'nothing was written')

  const withAccount = await cli(['limits', otherKey.prefix, '--burst', '3', '--account', String(other.accountId)])
  t.equal(withAccount.code, 0, withAccount.stderr)
  t.same(await keyRow(otherKey.id), { rate_limit_burst_per_10s: 3, rate_limit_daily: null })
})
