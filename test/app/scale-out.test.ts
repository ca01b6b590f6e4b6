// Scale-out readiness (ARCHITECTURE "Data model", issue 7 §7): after every migration, the catalog shows that each tenant
// table's primary key and unique indexes start with account_id and that no foreign key crosses accounts, so the
// schema can be distributed by account_id (Citus) without change.
import t from 'tap'
import { sql, type Kysely } from 'kysely'
import { migrateToLatest } from '../../src/db/migrator.js'
import { createTestDatabase } from '../helpers/db.js'

/**
 * The tables that hold no tenant data, each with why. Any other table must be a tenant table.
 * - accounts: the tenants themselves (its key is the account id).
 * - api_keys: looked up by key before the account is known (unique secret hash across the service); a reference
 *   table under distribution.
 * - kysely_migration, kysely_migration_lock: Kysely's migration bookkeeping.
 */
const NON_TENANT_TABLES = ['accounts', 'api_keys', 'kysely_migration', 'kysely_migration_lock']

interface UniqueIndex { table: string, index: string, primary: boolean, columns: string[] }
interface ForeignKey { table: string, name: string, refTable: string, columns: string[], refColumns: string[] }

/** Every violation of the tenancy key rules in the current schema, one sentence each; empty when the schema is fine. */
async function tenancyViolations (db: Kysely<any>): Promise<string[]> {
  const tables = (await sql<{ table: string, hasAccount: boolean }>`
    select c.relname::text as table,
           exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'account_id' and not a.attisdropped) as "hasAccount"
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = current_schema() and c.relkind in ('r', 'p')
    order by 1`.execute(db)).rows
  const indexes = (await sql<UniqueIndex>`
    select t.relname::text as table, i.relname::text as index, x.indisprimary as primary,
           array(select a.attname::text from unnest(x.indkey::int2[]) with ordinality as k(attnum, ord)
                 left join pg_attribute a on a.attrelid = x.indrelid and a.attnum = k.attnum
                 order by k.ord) as columns
    from pg_index x
    join pg_class t on t.oid = x.indrelid
    join pg_class i on i.oid = x.indexrelid
    join pg_namespace n on n.oid = t.relnamespace
    where n.nspname = current_schema() and x.indisunique
    order by 1, 2`.execute(db)).rows
  const foreignKeys = (await sql<ForeignKey>`
    select t.relname::text as table, c.conname::text as name, r.relname::text as "refTable",
           array_agg(a.attname::text order by k.ord) as columns, array_agg(ra.attname::text order by k.ord) as "refColumns"
    from pg_constraint c
    join pg_class t on t.oid = c.conrelid
    join pg_class r on r.oid = c.confrelid
    join pg_namespace n on n.oid = t.relnamespace
    cross join lateral unnest(c.conkey, c.confkey) with ordinality as k(col, refcol, ord)
    join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.col
    join pg_attribute ra on ra.attrelid = c.confrelid and ra.attnum = k.refcol
    where n.nspname = current_schema() and c.contype = 'f'
    group by t.relname, c.conname, r.relname
    order by 1, 2`.execute(db)).rows

  const violations: string[] = []
  const tenant = new Set<string>()
  for (const { table, hasAccount } of tables) {
    if (NON_TENANT_TABLES.includes(table)) continue
    tenant.add(table)
    if (!hasAccount) violations.push(`${table}: tenant table without an account_id column`)
  }
  for (const table of tenant) {
    if (!indexes.some((i) => i.table === table && i.primary)) violations.push(`${table}: no primary key`)
  }
  for (const i of indexes) {
    if (!tenant.has(i.table) || i.columns[0] === 'account_id') continue
    const what = i.primary ? 'primary key' : 'unique index'
    violations.push(`${i.table}: ${what} ${i.index} (${i.columns.map((c) => c ?? '<expression>').join(', ')}) does not start with account_id`)
  }
  for (const fk of foreignKeys) {
    const pairs = fk.columns.map((c, n) => [c, fk.refColumns[n]])
    const sameAccount = pairs.some(([c, r]) => c === 'account_id' && (r === 'account_id' || (fk.refTable === 'accounts' && r === 'id')))
    if (!sameAccount) violations.push(`${fk.table}: foreign key ${fk.name} (${fk.columns.join(', ')}) -> ${fk.refTable} (${fk.refColumns.join(', ')}) can cross accounts`)
  }
  return violations
}

t.test('every tenant table is keyed by account_id first and no foreign key crosses accounts', async (t) => {
  const database = await createTestDatabase(2)
  t.teardown(async () => { await database.handle.db.destroy(); await database.drop() })
  const db = database.handle.db as Kysely<any>
  await migrateToLatest(db)

  const tables = (await sql<{ table: string }>`
    select c.relname::text as table from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = current_schema() and c.relkind in ('r', 'p')`.execute(db)).rows.map((r) => r.table)
  for (const name of NON_TENANT_TABLES) t.ok(tables.includes(name), `the exempt table ${name} exists (the list is not stale)`)
  for (const name of ['records', 'associations', 'association_counts', 'events', 'imports', 'webhook_deliveries']) {
    t.ok(tables.includes(name), `the tenant table ${name} is checked`)
  }
  t.same(await tenancyViolations(db), [], 'the migrated schema breaks no tenancy key rule')

  // The check can fail: tables that break each rule are reported, each for its own reason.
  await sql`create table scale_out_probe_parent (account_id bigint not null, id bigint not null, code text not null, primary key (id))`.execute(db)
  await sql`create unique index scale_out_probe_code_idx on scale_out_probe_parent (code, account_id)`.execute(db)
  await sql`create unique index scale_out_probe_expr_idx on scale_out_probe_parent (lower(code))`.execute(db)
  await sql`create table scale_out_probe_child (account_id bigint not null, id bigint not null, parent_id bigint not null references scale_out_probe_parent (id), primary key (account_id, id))`.execute(db)
  await sql`create table scale_out_probe_global (id bigint primary key)`.execute(db)
  t.same(await tenancyViolations(db), [
    'scale_out_probe_global: tenant table without an account_id column',
    'scale_out_probe_global: primary key scale_out_probe_global_pkey (id) does not start with account_id',
    'scale_out_probe_parent: unique index scale_out_probe_code_idx (code, account_id) does not start with account_id',
    'scale_out_probe_parent: unique index scale_out_probe_expr_idx (<expression>) does not start with account_id',
    'scale_out_probe_parent: primary key scale_out_probe_parent_pkey (id) does not start with account_id',
    'scale_out_probe_child: foreign key scale_out_probe_child_parent_id_fkey (parent_id) -> scale_out_probe_parent (id) can cross accounts'
  ], 'a schema that breaks the rules is reported')
})
