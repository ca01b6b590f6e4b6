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
