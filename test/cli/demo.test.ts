import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { build } from '../helpers/app.js'

const run = promisify(execFile)

t.test('npm run demo loads the help article example, and running it twice changes nothing', async (t) => {
  const ta = await build(t)
  await ta.app.listen({ port: 0, host: '127.0.0.1' })
  const address = ta.app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  const env = { ...process.env, API_URL: `http://127.0.0.1:${port}`, API_KEY: ta.adminKey }
  const first = await run('npx', ['tsx', 'src/cli/demo.ts'], { env })
  t.match(first.stdout, /Luke Danes \(contact \d+\): Manager at Luke's Diner/)
  const count = async (): Promise<number> => Number((await ta.app.db.selectFrom('associations').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n)
  const rows = await count()
  await run('npx', ['tsx', 'src/cli/demo.ts'], { env })
  t.equal(await count(), rows, 'idempotent')

  const luke = await ta.request({ method: 'GET', url: '/crm/v3/objects/contacts/luke@lukesdiner.example?idProperty=email' })
  const diner = await ta.request({ method: 'GET', url: '/crm/v3/objects/companies/lukesdiner.example?idProperty=domain' })
  const page = await ta.request({ method: 'GET', url: `/crm/v4/objects/contacts/${luke.json().id}/associations/companies` })
  const labels = page.json().results.map((r: { toObjectId: number, associationTypes: Array<{ label: string | null }> }) => [r.toObjectId, r.associationTypes.map((a) => a.label)])
  t.same(labels[0], [Number(diner.json().id), ['Primary', 'Manager', null]])
  t.same(labels[1]?.[1], ['Contractor', null])
  const deal = await ta.request({ method: 'GET', url: `/crm/v4/objects/contacts/${luke.json().id}/associations/deals` })
  const dealId = deal.json().results[0].toObjectId
  const billing = await ta.request({ method: 'GET', url: `/crm/v4/objects/deals/${dealId}/associations/contacts?label=billing%20contact` })
  t.equal(billing.json().results.length, 1, 'the deal has one billing contact')
})
