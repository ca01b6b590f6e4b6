import { readFile } from 'node:fs/promises'
import t from 'tap'
import { build } from './helpers/app.js'

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options']
// The liveness probe can only answer 200 (or Fastify's own 503 while closing); it documents no error body.
const NO_ERROR_RESPONSE_NEEDED = new Set(['health-live'])

interface Operation { operationId?: string, tags?: string[], summary?: string, responses?: Record<string, unknown> }
interface Document {
  paths: Record<string, Record<string, Operation>>
  components: { schemas: Record<string, unknown> }
}

t.test('the committed openapi/openapi.json matches the routes', async (t) => {
  const { app } = await build(t)
  await app.ready()
  const generated = JSON.parse(JSON.stringify(app.swagger())) as Document
  const committed = JSON.parse(await readFile(new URL('../openapi/openapi.json', import.meta.url), 'utf8')) as Document
  t.same(generated, committed, 'run `npm run openapi` and commit openapi/openapi.json')

  t.test('every operation is documented', async (t) => {
    const ids = new Set<string>()
    for (const [path, item] of Object.entries(generated.paths)) {
      for (const [method, op] of Object.entries(item).filter(([m]) => METHODS.includes(m))) {
        const name = `${method.toUpperCase()} ${path}`
        t.type(op.operationId, 'string', `${name} has an operationId`)
        t.notOk(ids.has(op.operationId ?? ''), `${name}: operationId ${op.operationId ?? ''} is unique`)
        ids.add(op.operationId ?? '')
        t.ok(Array.isArray(op.tags) && op.tags.length > 0, `${name} has tags`)
        t.ok(typeof op.summary === 'string' && op.summary.length > 0, `${name} has a summary`)
        const statuses = Object.keys(op.responses ?? {})
        t.ok(statuses.some((s) => /^2/.test(s)), `${name} documents a success response`)
        if (!NO_ERROR_RESPONSE_NEEDED.has(op.operationId ?? '')) {
          t.ok(statuses.some((s) => s === 'default' || Number(s) >= 400), `${name} documents an error response`)
        }
      }
    }
    t.ok(ids.size > 0, 'the document has operations')
  })

  t.test('components are named after their $id and every $ref resolves', async (t) => {
    const names = Object.keys(generated.components.schemas)
    t.ok(names.includes('Error'), 'the HubSpot error body is a named component')
    t.ok(names.includes('SimplePublicObject'), 'the record body is a named component')
    t.same(names.filter((n) => n.startsWith('def-')), [], 'no def-N component names')
    const refs = [...JSON.stringify(generated).matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1] ?? '')
    // '#/components/<section>/<name>': schemas, and parameters (the Idempotency-Key header).
    const components = generated.components as Record<string, Record<string, unknown> | undefined>
    const dangling = [...new Set(refs)].filter((r) => {
      const [, section = '', name = ''] = /^#\/components\/([^/]+)\/(.+)$/.exec(r) ?? []
      return components[section]?.[name] === undefined
    })
    t.same(dangling, [], 'every $ref points to a component')
  })
})
