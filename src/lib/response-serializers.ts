// Response serializers (fast-json-stringify) built from only the shared schemas a response schema refers to.
// Fastify's default builder hands every compile all the shared schemas (app.addSchema), and fast-json-stringify checks
// each of them again per compile: with about a hundred shared schemas and a few hundred route responses, that was most
// of the app's start (several seconds of CPU, paid by every test file that builds an app). A response schema object
// used by several routes (the API's alias paths) is compiled once.
import fastJsonStringify, { type AnySchema, type Options } from 'fast-json-stringify'

type Serializer = (doc: unknown) => string

/** Fastify's schemaController.compilersFactory.buildSerializer, called with the shared schemas by `$id`. */
export function buildResponseSerializer (externalSchemas?: unknown, serializerOpts?: Options) {
  const shared = (externalSchemas ?? {}) as Record<string, unknown>
  const compiled = new WeakMap<object, Serializer>()
  return ({ schema }: { schema?: unknown }): Serializer => {
    const root = (schema ?? {}) as object
    const known = compiled.get(root)
    if (known !== undefined) return known
    const serializer = fastJsonStringify(root as AnySchema, { ...serializerOpts, schema: referencedSchemas(root, shared) as Options['schema'] }) as Serializer
    compiled.set(root, serializer)
    return serializer
  }
}

/** The shared schemas `schema` refers to through `$ref`, directly or through one another (not itself). */
export function referencedSchemas (schema: object, externalSchemas: Record<string, unknown>): Record<string, unknown> {
  const found: Record<string, unknown> = {}
  const ownId = (schema as { $id?: unknown }).$id
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item)
      return
    }
    if (node === null || typeof node !== 'object') return
    for (const [key, value] of Object.entries(node)) {
      if (key !== '$ref' || typeof value !== 'string') {
        visit(value)
        continue
      }
      // `Name`, `Name#` and `Name#/pointer` name the shared schema `Name`; `#/pointer` is inside the same schema.
      const id = value.split('#')[0] as string
      if (id === '' || id === ownId || id in found || externalSchemas[id] === undefined) continue
      found[id] = externalSchemas[id]
      visit(externalSchemas[id])
    }
  }
  visit(schema)
  return found
}
