// The baselines' HTTP server, run as a child process: Fastify 5 with no validation, no auth, no plugins.
//   GET /bare          a page-sized JSON body built once, no database: what Fastify and the socket cost alone.
//   GET /page/:fromId  the thinnest Fastify + pg route: a plain pg.Pool of 8, the service's page statement as a named
//                      (prepared) query in array row mode, the rows turned into the same wire shape.
// Env: DATABASE_URL, PORT, ACCOUNT_ID.
import Fastify from 'fastify'
import pg from 'pg'
import { PAGE_SQL, pageBody } from './page-query.js'

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 8 })
const account = Number(process.env.ACCOUNT_ID)
const bare = pageBody(Array.from({ length: 100 }, (_, i) => [5_000_000 + i, 279] as [number, number]))
const app = Fastify({ logger: false })

app.get('/bare', async () => bare)

app.get<{ Params: { fromId: string }, Querystring: { limit?: string, after?: string } }>('/page/:fromId', async (request) => {
  const result = await pool.query<[number, number]>({
    name: 'page', text: PAGE_SQL, rowMode: 'array',
    values: [account, request.params.fromId, request.query.after ?? 0, request.query.limit ?? 100]
  })
  // int8 arrives as text; the page is small, so converting here costs what the service's int8 parser costs.
  return pageBody(result.rows.map((r) => [Number(r[0]), Number(r[1])]))
})

await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT) })
process.on('SIGTERM', () => {
  app.close().then(async () => { await pool.end() }).finally(() => process.exit(0)).catch(() => {})
})
