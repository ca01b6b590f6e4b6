// Response serializers built from only the shared schemas a response refers to (src/lib/response-serializers.ts).
import t from 'tap'
import { buildResponseSerializer, referencedSchemas } from '../../src/lib/response-serializers.js'

const shared = {
  Paging: { $id: 'Paging', type: 'object', properties: { next: { $ref: 'Next#' } } },
  Next: { $id: 'Next', type: 'object', properties: { after: { type: 'string' } } },
  Item: { $id: 'Item', type: 'object', properties: { id: { type: 'string' }, parent: { $ref: 'Item#' } } },
  // fast-json-stringify refuses this one: a compile handed every shared schema would fail on it.
  Broken: { $id: 'Broken', type: 'no-such-type' }
}

t.test('the shared schemas a response refers to, directly or through one another, and no other', async (t) => {
  const page = { type: 'object', properties: { results: { type: 'array', items: { $ref: 'Item#' } }, paging: { $ref: 'Paging#/properties/next' } } }
  t.same(Object.keys(referencedSchemas(page, shared)).sort(), ['Item', 'Next', 'Paging'], 'Paging leads to Next; Item refers to itself')
  t.same(referencedSchemas({ type: 'object', properties: { a: { $ref: '#/definitions/x' } }, definitions: { x: { type: 'string' } } }, shared), {}, 'a pointer inside the schema names no shared schema')
  t.same(Object.keys(referencedSchemas(shared.Item, shared)), [], 'a shared schema is not its own dependency')
  t.same(referencedSchemas({ $ref: 'Unknown#' }, shared), {}, 'an unknown id is left to fast-json-stringify to report')
})

t.test('a response serializer follows references and drops undeclared fields; one compile per schema object', async (t) => {
  const compile = buildResponseSerializer(shared)
  const schema = { type: 'object', properties: { results: { type: 'array', items: { $ref: 'Item#' } }, paging: { $ref: 'Paging#' } } }
  const serialize = compile({ schema })
  const body = { results: [{ id: '1', parent: { id: '0', secret: 'x' }, secret: 'y' }], paging: { next: { after: 'abc', extra: 1 } }, extra: true }
  t.same(JSON.parse(serialize(body)), { results: [{ id: '1', parent: { id: '0' } }], paging: { next: { after: 'abc' } } })
  t.equal(compile({ schema }), serialize, 'the same schema object (an alias route) reuses its serializer')
  t.not(compile({ schema: { ...schema } }), serialize, 'another schema object gets its own')
  t.throws(() => compile({ schema: { $ref: 'Broken#' } }), 'a broken shared schema still fails the response that uses it')
})
