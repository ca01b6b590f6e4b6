// Planner statistics of the service's hot tables, for servers that run without autovacuum.
import { sql } from 'kysely'
import type { Executor } from '../db/executor.js'

/**
 * Among `tables`, those that autovacuum would analyze now (more than 50 + 10% of their rows changed since the last
 * ANALYZE) when autovacuum is off on this server; none when it is on.
 */
export async function tablesDueForAnalyze (db: Executor, tables: string[]): Promise<string[]> {
  const result = await sql<{ relname: string }>`
    select s.relname from pg_stat_user_tables s join pg_class c on c.oid = s.relid
    where s.relname = any(${tables}::text[]) and current_setting('autovacuum') = 'off'
      and s.n_mod_since_analyze > 50 + 0.1 * greatest(c.reltuples, 0)
    order by s.relname`.execute(db)
  return result.rows.map((r) => r.relname)
}

export async function analyzeTable (db: Executor, table: string): Promise<void> {
  await sql`analyze ${sql.table(table)}`.execute(db)
}
