// tap `after`: drops per-file databases that a crashed test file left behind.
import { postgresReachable, withAdminClient } from './engine.js'

if (await postgresReachable()) {
  await withAdminClient(async (client) => {
    const left = await client.query("select datname from pg_database where datname like 'assoc_t_%'")
    for (const row of left.rows as Array<{ datname: string }>) {
      await client.query(`drop database if exists "${row.datname}" with (force)`).catch(() => {})
    }
  })
}
