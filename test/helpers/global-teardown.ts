// tap `after`: drops per-file databases left behind by test processes that died (named assoc_t_<pid>_...).
// Databases of live processes belong to another test run on this machine and are left alone.
import { postgresReachable, withAdminClient } from './engine.js'

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

if (await postgresReachable()) {
  await withAdminClient(async (client) => {
    const left = await client.query("select datname from pg_database where datname like 'assoc\\_t\\_%'")
    for (const row of left.rows as Array<{ datname: string }>) {
      const pid = Number(/^assoc_t_(\d+)_/.exec(row.datname)?.[1])
      if (Number.isInteger(pid) && alive(pid)) continue
      await client.query(`drop database if exists "${row.datname}" with (force)`).catch(() => {})
    }
  })
}
