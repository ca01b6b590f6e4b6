// Custom object schemas: create, list, read, delete. Mounted at /crm/v3/schemas and, hidden from OpenAPI, at
// /crm-object-schemas/v3/schemas (the path the official Node client 13.5 calls).
import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ObjectTypeParam, ref, standardErrorResponses } from '../schemas/common.schemas.js'
import { ObjectSchemaInputSchema, ObjectSchemaListSchema, ObjectSchemaSchema } from '../schemas/object-types.schemas.js'

const SchemaParams = Type.Object({ objectType: ObjectTypeParam })
// The HubSpot client may send `archived`; nothing else is accepted (an unknown parameter is a 400).
const ArchivedQuery = Type.Object({ archived: Type.Optional(Type.Boolean({ default: false })) }, { additionalProperties: false })
const NoQuery = Type.Object({}, { additionalProperties: false })

export interface ObjectTypesRoutesOptions { hide?: boolean }

const objectTypesRoutes: FastifyPluginAsyncTypebox<ObjectTypesRoutesOptions> = async (app, opts) => {
  const { objectTypes } = app.services
  const hide = opts.hide === true

  // POST /crm/v3/schemas
  app.post('', {
    config: { scope: 'crm.schemas.write' },
    schema: {
      hide, operationId: 'schemas-create', tags: ['Schemas'], summary: 'Create a custom object type',
      description: 'Properties with hasUniqueValue become unique identifiers of the type.',
      querystring: NoQuery, body: ref(ObjectSchemaInputSchema),
      response: { 201: ref(ObjectSchemaSchema), ...standardErrorResponses }
    }
  }, async (request, reply) => {
    return await reply.status(201).send(await objectTypes.createSchema(request.principal.accountId, request.body))
  })

  // GET /crm/v3/schemas
  app.get('', {
    config: { scope: 'crm.schemas.read' },
    schema: {
      hide, operationId: 'schemas-list', tags: ['Schemas'], summary: 'List custom object types',
      description: 'Deleted schemas are not kept, so `archived=true` lists none.',
      querystring: ArchivedQuery,
      response: { 200: ref(ObjectSchemaListSchema), ...standardErrorResponses }
    }
  }, async (request) => ({
    results: request.query.archived === true ? [] : await objectTypes.listSchemas(request.principal.accountId)
  }))

  // GET /crm/v3/schemas/{objectType}
  app.get('/:objectType', {
    config: { scope: 'crm.schemas.read' },
    schema: {
      hide, operationId: 'schemas-get', tags: ['Schemas'], summary: 'Read a custom object type',
      params: SchemaParams, querystring: NoQuery,
      response: { 200: ref(ObjectSchemaSchema), ...standardErrorResponses }
    }
  }, async (request) => await objectTypes.getSchema(request.principal.accountId, request.params.objectType))

  // DELETE /crm/v3/schemas/{objectType}
  app.delete('/:objectType', {
    config: { scope: 'crm.schemas.write' },
    schema: {
      hide, operationId: 'schemas-delete', tags: ['Schemas'], summary: 'Delete a custom object type',
      description: 'Refused (400) while the type still has live records.',
      params: SchemaParams, querystring: ArchivedQuery,
      response: { 204: { type: 'null', description: 'Deleted' }, ...standardErrorResponses }
    }
  }, async (request, reply) => {
    await objectTypes.deleteSchema(request.principal.accountId, request.params.objectType)
    return await reply.status(204).send()
  })
}

export default objectTypesRoutes
