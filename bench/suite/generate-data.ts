// The data generator: a fresh database migrated by the project's own migrator, the operator account bootstrapped by the
// service's own code, then records, association rows (both directions, primary rows, hubs) and their per-record
// counts streamed in with COPY. The fastest path: the association indexes are dropped first and rebuilt after the
// load (one sort per index instead of 10M random inserts into B-trees larger than shared_buffers), and COPY FREEZE
// writes the rows already frozen and all-visible, so index-only scans work without a VACUUM (autovacuum is off here).
import pg from 'pg'
import { openDatabase } from '../../src/db/database.js'
import { migrateToLatest } from '../../src/db/migrator.js'
import { loadConfig } from '../../src/config.js'
import { createServices } from '../../src/plugins/services.js'
import { KEY, sqlOn, step } from '../lib.js'
import { copyRows } from './copy-stream.js'
import { companyId, companyOf, contactId, HUB_SIZE, NEXT_RECORD_ID, PER_CONTACT, type Layout } from './layout.js'

export interface GeneratedData { account: number, associationRows: number, countRows: number, records: number, seconds: number, rowsPerSecond: number }

// HubSpot's contact -> company type ids: unlabeled 279 (inverse 280), primary 1 (inverse 2).
const UNLABELED = 279
const UNLABELED_INVERSE = 280
const PRIMARY = 1
const PRIMARY_INVERSE = 2

/** Each contact of the layout with its companies (indexes, ascending), the first one its primary. */
function * contactsOf (layout: Layout): Generator<{ contact: number, companies: number[] }> {
  for (let i = 0; i < layout.regular; i++) {
    const companies = Array.from({ length: PER_CONTACT }, (_, j) => companyOf(layout, i, j))
    yield { contact: contactId(i), companies: [companies[0] as number, ...companies.slice(1).sort((a, b) => a - b)] }
  }
  const range = (n: number): number[] => Array.from({ length: n }, (_, k) => k)
  for (const hub of layout.hubs) yield { contact: hub, companies: range(HUB_SIZE) }
  yield { contact: layout.nearCap, companies: range(layout.nearCapCount) }
  yield { contact: layout.light, companies: range(PER_CONTACT) }
}

function * associationLines (layout: Layout, account: number, companyCounts: Int32Array): Generator<string> {
  for (const { contact, companies } of contactsOf(layout)) {
    for (const k of companies) {
      companyCounts[k] = (companyCounts[k] ?? 0) + 1
      const company = companyId(k)
      yield `${account}\t0-1\t${contact}\t0-2\t${company}\t${UNLABELED}\tf\n${account}\t0-2\t${company}\t0-1\t${contact}\t${UNLABELED_INVERSE}\tf\n`
    }
    // The first company is the contact's primary (invariant 4): the primary row is flagged on the contact's side only.
    const primary = companyId(companies[0] as number)
    yield `${account}\t0-1\t${contact}\t0-2\t${primary}\t${PRIMARY}\tt\n${account}\t0-2\t${primary}\t0-1\t${contact}\t${PRIMARY_INVERSE}\tf\n`
  }
}

function * countLines (layout: Layout, account: number, companyCounts: Int32Array): Generator<string> {
  for (const { contact, companies } of contactsOf(layout)) yield `${account}\t0-1\t${contact}\t0-2\t${companies.length}\n`
  for (let k = 0; k < companyCounts.length; k++) {
    if ((companyCounts[k] ?? 0) > 0) yield `${account}\t0-2\t${companyId(k)}\t0-1\t${companyCounts[k] as number}\n`
  }
}

/** Contacts carry an email and companies a domain (with their record_keys rows), so imports can find them. */
export const emailOf = (contact: number): string => `c${contact}@bench.example`
export const domainOf = (company: number): string => `k${company}.bench.example`

function * recordLines (layout: Layout, account: number): Generator<string> {
  for (const { contact } of contactsOf(layout)) yield `${account}\t0-1\t${contact}\t{"email": "${emailOf(contact)}"}\n`
  for (let k = 0; k < layout.companies; k++) yield `${account}\t0-2\t${companyId(k)}\t{"domain": "${domainOf(companyId(k))}"}\n`
}

function * keyLines (layout: Layout, account: number): Generator<string> {
  for (const { contact } of contactsOf(layout)) yield `${account}\t0-1\temail\t${emailOf(contact)}\t${contact}\n`
  for (let k = 0; k < layout.companies; k++) yield `${account}\t0-2\tdomain\t${domainOf(companyId(k))}\t${companyId(k)}\n`
}

/** Index and constraint definitions of a table, to drop them before a bulk load and rebuild them unchanged after. */
async function dropIndexes (client: pg.Client, table: string): Promise<string[]> {
  const { rows } = await client.query<{ name: string, def: string, constraint: string | null }>(`
    select i.relname as name, pg_get_indexdef(i.oid) as def,
      (select pg_get_constraintdef(c.oid) from pg_constraint c where c.conindid = i.oid and c.contype = 'p') as constraint
    from pg_index x join pg_class i on i.oid = x.indexrelid where x.indrelid = $1::regclass`, [table])
  const rebuild: string[] = []
  for (const r of rows) {
    if (r.constraint !== null) {
      await client.query(`alter table ${table} drop constraint ${r.name}`)
      rebuild.push(`alter table ${table} add constraint ${r.name} ${r.constraint}`)
    } else {
      await client.query(`drop index ${r.name}`)
      rebuild.push(r.def)
    }
  }
  return rebuild
}

/** Migrates `url` (a fresh database), bootstraps the operator account and the bench key, and loads the layout. */
export async function generateData (url: string, layout: Layout): Promise<GeneratedData> {
  const handle = await openDatabase({ databaseUrl: url, dataDir: '', poolMax: 2, timeoutMs: 60_000 })
  let account: number
  try {
    await migrateToLatest(handle.db)
    account = (await createServices(handle.db, loadConfig({}, { LOG_LEVEL: 'silent' })).accounts.bootstrap(KEY)).accountId
  } finally {
    await handle.db.destroy()
  }
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  const started = performance.now()
  try {
    // Index builds sort in memory when they can (a session setting; the server's configuration is untouched).
    await client.query("set maintenance_work_mem = '512MB'")
    step('loading records')
    const records = await copyRows(client, 'copy records (account_id, object_type, id, properties) from stdin', recordLines(layout, account))
    await copyRows(client, 'copy record_keys (account_id, object_type, property, value, record_id) from stdin', keyLines(layout, account))
    await client.query('select setval(\'record_id_seq\', $1::bigint)', [NEXT_RECORD_ID])
    step(`loading association rows (${layout.rows.toLocaleString('en')} + primary rows)`)
    const companyCounts = new Int32Array(layout.companies)
    await client.query('begin')
    const rebuild = await dropIndexes(client, 'associations')
    await client.query('truncate associations')
    const associationRows = await copyRows(client, 'copy associations (account_id, from_type, from_id, to_type, to_id, type_id, is_primary) from stdin with (freeze)',
      associationLines(layout, account, companyCounts))
    await client.query('commit')
    step(`rebuilding ${rebuild.length} indexes`)
    for (const statement of rebuild) await client.query(statement)
    const countRows = await copyRows(client, 'copy association_counts (account_id, from_type, from_id, to_type, count) from stdin', countLines(layout, account, companyCounts))
    step('analyze')
    await client.query('vacuum analyze records, record_keys, association_counts')
    await client.query('analyze associations')
    const seconds = (performance.now() - started) / 1000
    return { account, associationRows, countRows, records, seconds, rowsPerSecond: associationRows / seconds }
  } finally {
    await client.end()
  }
}

/** Drops the bench database (also at the start of the next run, should this one die). */
export async function dropDatabase (adminUrl: string, name: string): Promise<void> {
  await sqlOn(adminUrl, `drop database if exists ${name} with (force)`)
}
