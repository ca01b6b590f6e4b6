// `npm run check:invariants`: checks the configured database (DATABASE_URL or PGlite in DATA_DIR) against every
// association invariant; prints each check with up to 20 violations and exits 1 when any is found.
import { openCliDatabase, processIo } from './cli-support.js'
import { checkInvariants } from '../services/invariants.service.js'

async function main (): Promise<number> {
  const opened = await openCliDatabase(processIo, process.env, undefined, 1)
  if (opened === undefined) return 2
  const { config, handle } = opened
  const where = config.DATABASE_URL !== undefined ? 'PostgreSQL' : `PGlite (${config.DATA_DIR})`
  try {
    const checks = await checkInvariants(handle.db, { cap: config.MAX_ASSOCIATIONS_PER_TYPE })
    let failed = 0
    for (const check of checks) {
      const ok = check.violations.length === 0
      if (!ok) failed++
      process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${check.name}${ok ? '' : ` (${check.violations.length}${check.violations.length >= 20 ? '+' : ''} violations)`}\n`)
      for (const v of check.violations) process.stdout.write(`       account ${v.account_id}: ${v.detail}\n`)
    }
    process.stdout.write(failed === 0 ? `All ${checks.length} invariants hold on ${where}.\n` : `${failed} of ${checks.length} invariants violated on ${where}.\n`)
    return failed === 0 ? 0 : 1
  } finally {
    await handle.db.destroy().catch(() => {})
  }
}

try {
  process.exitCode = await main()
} catch (err) {
  process.stderr.write(`check:invariants failed: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exitCode = 2
}
