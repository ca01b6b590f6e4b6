import t from 'tap'
import { sql } from 'kysely'
import { build } from '../helpers/app.js'
import { createServices } from '../../src/plugins/services.js'
import { loadConfig } from '../../src/config.js'
import { statementCounter } from '../helpers/statements.js'

async function seed (ta: Awaited<ReturnType<typeof build>>, type: string, n: number): Promise<number[]> {
  const result = await sql<{ id: number }>`insert into records (account_id, object_type) select ${ta.accountId}, ${type} from generate_series(1, ${n}) returning id`.execute(ta.app.db)
  return result.rows.map((r) => r.id).sort((a, b) => a - b)
}

t.test('a batch is a constant number of statements, whatever its size', async (t) => {
  const ta = await build(t)
  const contacts = await seed(ta, '0-1', 2000)
  const companies = await seed(ta, '0-2', 2)
  const plugin = statementCounter()
  const services = createServices(ta.app.db.withPlugin(plugin), loadConfig({}, {}))
  const measure = async (n: number, company: number): Promise<number> => {
    plugin.count = 0
    const inputs = contacts.slice(0, n).map((c) => ({ from: { id: String(c) }, to: { id: String(company) } }))
    const outcome = await services.associationsBatch.createDefault(ta.accountId, 'contacts', 'companies', inputs)
    t.equal(outcome.results.length, 2 * n, `${n} inputs associated`)
    return plugin.count
  }
  const small = await measure(10, companies[0] as number)
  const large = await measure(2000, companies[1] as number)
  t.equal(large, small, `2,000 inputs take as many statements as 10 (${small})`)
  t.ok(small <= 12, `${small} statements per batch`)

  plugin.count = 0
  const read = await services.associationsBatch.read(ta.accountId, 'contacts', 'companies', contacts.slice(0, 1000).map((id) => ({ id: String(id) })))
  t.equal(read.results.length, 1000)
  t.ok(plugin.count <= 2, `batch read of 1,000 records: ${plugin.count} statements`)
  const rows = await ta.app.db.selectFrom('association_counts').select((eb) => eb.fn.sum<number>('count').as('n')).where('from_type', '=', '0-2').executeTakeFirstOrThrow()
  t.equal(Number(rows.n), 2010, 'company counts follow the rows')
})

t.test('two overlapping batches run concurrently: no deadlock, no 5xx, counts match the rows', async (t) => {
  const ta = await build(t, { MAX_ASSOCIATIONS_PER_TYPE: 150 })
  const contacts = await seed(ta, '0-1', 2)
  const companies = await seed(ta, '0-2', 200)
  const batchFor = (slice: number[], reverse: boolean) => ({
    inputs: (reverse ? [...slice].reverse() : slice).flatMap((c) => contacts.map((k) => ({ from: { id: String(k) }, to: { id: String(c) } })))
  })
  const [a, b] = await Promise.all([
    ta.request({ method: 'POST', url: '/crm/v4/associations/contacts/companies/batch/associate/default', payload: batchFor(companies.slice(0, 120), false) }),
    ta.request({ method: 'POST', url: '/crm/v4/associations/contacts/companies/batch/associate/default', payload: batchFor(companies.slice(60, 200), true) })
  ])
  t.equal(a.statusCode, 200, a.body.slice(0, 300))
  t.equal(b.statusCode, 200, b.body.slice(0, 300))
  const errors = [...(a.json().errors ?? []), ...(b.json().errors ?? [])]
  t.ok(errors.every((e: { category: string }) => e.category === 'LIMITS_ERROR'), 'the only failures are the cap')
  for (const contact of contacts) {
    const pairs = await ta.app.db.selectFrom('associations').select((eb) => eb.fn.countAll<number>().as('n'))
      .where('from_type', '=', '0-1').where('from_id', '=', contact).where('type_id', '=', 279).executeTakeFirstOrThrow()
    const count = await ta.app.db.selectFrom('association_counts').select('count').where('from_type', '=', '0-1').where('from_id', '=', contact).executeTakeFirstOrThrow()
    t.equal(Number(pairs.n), 150, 'each contact reaches the cap exactly')
    t.equal(count.count, Number(pairs.n), 'the counter matches the rows')
    const primaries = await ta.app.db.selectFrom('associations').select('to_id').where('from_id', '=', contact).where('is_primary', '=', true).execute()
    t.equal(primaries.length, 1, 'one primary')
  }
  const inverse = await ta.app.db.selectFrom('associations').select((eb) => eb.fn.countAll<number>().as('n')).where('from_type', '=', '0-2').where('type_id', '=', 280).executeTakeFirstOrThrow()
  t.equal(Number(inverse.n), 300, 'every pair has its inverse row')
})

t.test('a company cap used up by a concurrent batch: the optimistic plan is undone and decided again on locked counts', async (t) => {
  // Companies are not locked against each other's batches (only contacts, the primary's owners, are), so both
  // batches plan with the company's count before either commits; the second one's counts overflow and it re-plans.
  const ta = await build(t, { MAX_ASSOCIATIONS_PER_TYPE: 150 })
  const contacts = await seed(ta, '0-1', 200)
  const [company] = await seed(ta, '0-2', 1)
  const batchOf = (ids: number[]) => ({ inputs: ids.map((c) => ({ from: { id: String(c) }, to: { id: String(company) } })) })
  const outcomes = await Promise.all([
    ta.request({ method: 'POST', url: '/crm/v4/associations/contacts/companies/batch/associate/default', payload: batchOf(contacts.slice(0, 100)) }),
    ta.request({ method: 'POST', url: '/crm/v4/associations/contacts/companies/batch/associate/default', payload: batchOf(contacts.slice(100, 200)) })
  ])
  const errors = outcomes.flatMap((o) => o.json().errors ?? [])
  t.same(outcomes.map((o) => o.statusCode), [200, 200])
  t.equal(errors.length, 50, 'exactly the inputs beyond the cap fail')
  t.ok(errors.every((e: { category: string }) => e.category === 'LIMITS_ERROR'), 'as cap errors')
  const rows = await ta.app.db.selectFrom('associations').select((eb) => eb.fn.countAll<number>().as('n'))
    .where('from_type', '=', '0-2').where('from_id', '=', company as number).where('type_id', '=', 280).executeTakeFirstOrThrow()
  const count = await ta.app.db.selectFrom('association_counts').select('count').where('from_type', '=', '0-2').where('from_id', '=', company as number).executeTakeFirstOrThrow()
  t.equal(Number(rows.n), 150, 'the company holds exactly the cap')
  t.equal(count.count, 150, 'and its counter says so')
  const contactCounts = await ta.app.db.selectFrom('association_counts').select((eb) => eb.fn.sum<number>('count').as('n')).where('from_type', '=', '0-1').executeTakeFirstOrThrow()
  t.equal(Number(contactCounts.n), 150, 'no contact is counted for a pair that was undone')
})

t.test('the same new pairs written by two batches at once are counted once', async (t) => {
  // Contacts and deals have no primary: neither side is locked exclusively, so both batches see the pairs as new.
  const ta = await build(t)
  const contacts = await seed(ta, '0-1', 300)
  const deals = await seed(ta, '0-3', 3)
  const payload = { inputs: contacts.flatMap((c) => deals.map((d) => ({ from: { id: String(c) }, to: { id: String(d) } }))) }
  const outcomes = await Promise.all([1, 2].map(async () => await ta.request({ method: 'POST', url: '/crm/v4/associations/contacts/deals/batch/associate/default', payload })))
  t.same(outcomes.map((o) => o.statusCode), [200, 200])
  const pairs = await ta.app.db.selectFrom('associations').select((eb) => eb.fn.countAll<number>().as('n')).where('from_type', '=', '0-1').where('to_type', '=', '0-3').executeTakeFirstOrThrow()
  t.equal(Number(pairs.n), 900, 'one row per pair')
  for (const [type, expected] of [['0-1', 3], ['0-3', 300]] as const) {
    const counts = await ta.app.db.selectFrom('association_counts').select(['from_id', 'count']).where('from_type', '=', type).execute()
    t.ok(counts.length > 0 && counts.every((c) => c.count === expected), `every ${type} record counted ${expected}`)
  }
})

t.test('unchanged inputs first (imports run again): answered from reads without locks, the rest written as usual', async (t) => {
  const ta = await build(t)
  const [c0, c1, c2] = await seed(ta, '0-1', 3) as [number, number, number]
  const [k0, k1, k2] = await seed(ta, '0-2', 3) as [number, number, number]
  const plugin = statementCounter()
  const db = ta.app.db.withPlugin(plugin)
  const services = createServices(db, loadConfig({}, {}))
  const labels = await services.associationTypes.createLabel(ta.accountId, 'contacts', 'companies', { label: 'Manager', name: 'manager' })
  const manager = { associationCategory: 'USER_DEFINED' as const, associationTypeId: labels.results[0]?.typeId as number }
  const pair = await services.associationTypes.resolvePair(ta.accountId, 'contacts', 'companies')
  const input = (from: number, to: number, types: Array<typeof manager> = []) => ({ from: { id: String(from) }, to: { id: String(to) }, types })
  await services.associationsBatch.addLabels(ta.accountId, pair, [input(c0, k0, [manager]), input(c1, k1)])

  const write = async (inputs: Array<ReturnType<typeof input>>, mode: 'add' | 'replace' = 'add', knownLive = new Set<string>()) => {
    plugin.count = 0
    const outcome = await db.transaction().execute(async (trx) => await services.associationsBatch.writeMostlyUnchangedInTransaction(trx, ta.accountId, pair, inputs, { mode, knownLive }))
    return { ...outcome, statements: plugin.count }
  }

  const again = await write([input(c0, k0, [manager]), input(c1, k1)])
  t.same(again.errors, [])
  t.same(again.done.map((d) => [d.fromId, d.toId, d.added]), [[c0, k0, []], [c1, k1, []]], 'both pairs answered, nothing added')
  t.same(again.done[0]?.typeIds.sort((a, b) => a - b), [1, 279, manager.associationTypeId].sort((a, b) => a - b), 'the pair\'s types as they are (primary, unlabeled, label)')
  t.equal(again.statements, 2, 'two reads: the pairs\' types and the records\' liveness; no lock, count or primary read')

  const mixed = await write([input(c0, k0, [manager]), input(c2, k2, [manager]), input(c1, k1, [manager])])
  t.same(mixed.errors, [])
  t.same(mixed.done.map((d) => [d.fromId, d.added.length > 0]), [[c0, false], [c2, true], [c1, true]], 'in input order: the new pair and the new label written, the unchanged pair not')
  const rows = await ta.app.db.selectFrom('associations').select(['from_id', 'to_id', 'type_id']).where('from_type', '=', '0-1').where('to_type', '=', '0-2').orderBy('from_id').orderBy('type_id').execute()
  t.same(rows.map((r) => [r.from_id, r.type_id]).filter(([, type]) => type !== 1), [[c0, 279], [c0, manager.associationTypeId], [c1, 279], [c1, manager.associationTypeId], [c2, 279], [c2, manager.associationTypeId]], 'rows as the normal path writes them')

  // A record archived while its rows remain (a concurrent archive not yet through its hooks) is not answered as unchanged.
  await sql`update records set archived_at = now() where account_id = ${ta.accountId} and object_type = '0-2' and id = ${k1}`.execute(ta.app.db)
  const archived = await write([input(c1, k1, [manager]), input(c0, k0)])
  t.same(archived.done.map((d) => d.fromId), [c0], 'the pair of live records is answered')
  t.equal(archived.errors.length, 1)
  t.equal(archived.errors[0]?.category, 'OBJECT_NOT_FOUND', 'the pair with an archived record fails as on the normal path')

  // Records the caller vouches for (read live or written in its transaction) are not read again.
  const vouched = await write([input(c0, k0, [manager])], 'add', new Set([`0-1|${c0}`, `0-2|${k0}`]))
  t.same(vouched.done.map((d) => d.added), [[]])
  t.equal(vouched.statements, 1, 'one read: the pairs\' types')

  // Replace mode: a pair holding a label the input leaves out is a change.
  const replaced = await write([input(c0, k0)], 'replace')
  t.same(replaced.done[0]?.typeIds.includes(manager.associationTypeId), false, 'the label is removed')
  const left = await ta.app.db.selectFrom('associations').select('type_id').where('from_id', '=', c0).where('to_id', '=', k0).execute()
  t.notOk(left.some((r) => r.type_id === manager.associationTypeId), 'and its row is gone')
})

t.test('labels added to pairs that exist read no counts and no primaries; a record at its cap still takes them', async (t) => {
  const ta = await build(t, { MAX_ASSOCIATIONS_PER_TYPE: 1 })
  const [c0, c1, c2] = await seed(ta, '0-1', 3) as [number, number, number]
  const [k0, k1, k2] = await seed(ta, '0-2', 3) as [number, number, number]
  const plugin = statementCounter()
  const db = ta.app.db.withPlugin(plugin)
  const services = createServices(db, loadConfig({}, { MAX_ASSOCIATIONS_PER_TYPE: 1 }))
  const labels = await services.associationTypes.createLabel(ta.accountId, 'contacts', 'companies', { label: 'Manager', name: 'manager' })
  const manager = { associationCategory: 'USER_DEFINED' as const, associationTypeId: labels.results[0]?.typeId as number }
  const pair = await services.associationTypes.resolvePair(ta.accountId, 'contacts', 'companies')
  type Spec = { associationCategory: 'USER_DEFINED' | 'HUBSPOT_DEFINED', associationTypeId: number }
  const input = (from: number, to: number, types: Spec[] = []) => ({ from: { id: String(from) }, to: { id: String(to) }, types })
  await services.associationsBatch.addLabels(ta.accountId, pair, [input(c0, k0), input(c1, k1)])
  const write = async (inputs: Array<ReturnType<typeof input>>) => {
    plugin.count = 0
    const outcome = await db.transaction().execute(async (trx) => await services.associationsBatch.writeInTransaction(trx, ta.accountId, pair, inputs))
    return { ...outcome, statements: plugin.count }
  }

  const labelled = await write([input(c0, k0, [manager])])
  t.same(labelled.errors, [], 'c0, at its cap of one company, takes a label on the pair it has')
  t.same(labelled.done.map((d) => d.added), [[manager.associationTypeId]])
  const added = await write([input(c2, k2, [manager])])
  t.same(added.errors, [])
  t.same(added.done[0]?.added.sort((a, b) => a - b), [1, 279, manager.associationTypeId].sort((a, b) => a - b), 'a new pair: unlabeled, primary (first company) and the label')
  t.equal(added.statements - labelled.statements, 2, `the new pair reads its counts and its primary (${added.statements} statements), the label alone does not (${labelled.statements})`)

  const over = await write([input(c1, k0, [manager])])
  t.equal(over.errors[0]?.category, 'LIMITS_ERROR', 'a second company for c1 is still over the cap')
  const plain = await write([input(c1, k1)])
  t.same(plain.done[0]?.added, [], 'the pair sent again with no type: nothing to add')
  const explicit = await write([input(c1, k1, [{ associationCategory: 'HUBSPOT_DEFINED' as const, associationTypeId: 1 }])])
  t.same(explicit.errors, [], 'the primary type asked for on a pair that exists')
  t.same(explicit.done[0]?.added, [], 'c1\'s only company is already its primary')
  t.equal(explicit.statements, plain.statements + 1, `asking for the primary reads it, not the counts (${plain.statements} -> ${explicit.statements} statements)`)
  const counts = await ta.app.db.selectFrom('association_counts').select(['from_type', 'from_id', 'count']).orderBy('from_type').orderBy('from_id').execute()
  t.same(counts.map((c) => [c.from_type, c.from_id, c.count]), [['0-1', c0, 1], ['0-1', c1, 1], ['0-1', c2, 1], ['0-2', k0, 1], ['0-2', k1, 1], ['0-2', k2, 1]], 'counts follow the pairs')
})
