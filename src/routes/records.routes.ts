// CRM v3 objects, single-record part (API.md §6): create, read, list, update, archive.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { ref, standardErrorResponses } from '../schemas/common.schemas.js'
import {
  NoQuery, nonScalarPropertyValues, RecordCreateSchema, RecordListQuery, RecordListSchema, RecordParams, RecordReadQuery,
  RecordTypeParams, RecordUpdateQuery, RecordUpdateSchema, SimplePublicObjectSchema
} from '../schemas/records.schemas.js'
import { InvalidInputError, withDetails } from '../errors.js'
import { actorOf } from '../services/events.service.js'

/** preValidation: a property value that is an array or an object is a 400 naming it (see nonScalarPropertyValues). */
async function scalarPropertyValues (request: FastifyRequest): Promise<void> {
  const bad = nonScalarPropertyValues(request.body)
  if (bad.length === 0) return
  const context = Object.fromEntries(bad.map((name) => [`body.properties.${name}`, ['must be a string, number, boolean or null']]))
  throw withDetails(new InvalidInputError(`Invalid input: body/properties/${bad[0] ?? ''} must be a string, number, boolean or null`), { context })
}

const recordsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { records, recordsBatch, recordAssociations } = app.services

  // POST /crm/v3/objects/{objectType}
  app.post('/crm/v3/objects/:objectType', {
    config: { scope: 'crm.objects.write' },
    preValidation: scalarPropertyValues,
    schema: {
      operationId: 'records-create', tags: ['Records'], summary: 'Create a record',
      description: 'Unique identifiers (contact email, company domain, custom unique properties) must be free: a duplicate is a 409 naming the existing record. ' +
        '`associations` are written in the same transaction, with every association rule (the first company becomes primary, caps); the type ids say the target object type. ' +
        'An invalid association (unknown or wrong-direction type id: 400; missing target record: 404) creates nothing.',
      params: RecordTypeParams, querystring: NoQuery, body: ref(RecordCreateSchema),
      response: { 201: ref(SimplePublicObjectSchema), ...standardErrorResponses }
    }
  }, async (request, reply) => {
    const created = await recordsBatch.createOne(request.principal.accountId, request.params.objectType, request.body, actorOf(request))
    return await reply.status(201).send(created)
  })

  // GET /crm/v3/objects/{objectType}
  app.get('/crm/v3/objects/:objectType', {
    config: { scope: 'crm.objects.read' },
    schema: {
      operationId: 'records-list', tags: ['Records'], summary: 'List a page of records',
      description: 'With `associations`, each record carries its associated records of those types (an index page\'s "Associated companies" column): one query per type, whatever the page size.',
      params: RecordTypeParams, querystring: RecordListQuery,
      response: { 200: ref(RecordListSchema), ...standardErrorResponses }
    }
  }, async (request) => {
    const q = request.query
    const page = await records.list(request.principal.accountId, request.params.objectType, q.limit ?? 10, q.after, q.properties)
    return { ...page, results: await recordAssociations.embed(request.principal.accountId, request.params.objectType, page.results, q.associations) }
  })

  // GET /crm/v3/objects/{objectType}/{objectId}
  app.get('/crm/v3/objects/:objectType/:objectId', {
    config: { scope: 'crm.objects.read' },
    schema: {
      operationId: 'records-get', tags: ['Records'], summary: 'Read a record by id or by a unique identifier',
      params: RecordParams, querystring: RecordReadQuery,
      response: { 200: ref(SimplePublicObjectSchema), ...standardErrorResponses }
    }
  }, async (request) => {
    const { objectType, objectId } = request.params
    const record = await records.get(request.principal.accountId, objectType, objectId, request.query)
    const [withAssociations] = await recordAssociations.embed(request.principal.accountId, objectType, [record], request.query.associations)
    return withAssociations
  })

  // PATCH /crm/v3/objects/{objectType}/{objectId}
  app.patch('/crm/v3/objects/:objectType/:objectId', {
    config: { scope: 'crm.objects.write' },
    preValidation: scalarPropertyValues,
    schema: {
      operationId: 'records-update', tags: ['Records'], summary: 'Update a record\'s properties',
      description: 'Only the given properties change; null or "" clears one.',
      params: RecordParams, querystring: RecordUpdateQuery, body: ref(RecordUpdateSchema),
      response: { 200: ref(SimplePublicObjectSchema), ...standardErrorResponses }
    }
  }, async (request) => {
    const { objectType, objectId } = request.params
    return await records.update(request.principal.accountId, objectType, objectId, request.body.properties, request.query.idProperty)
  })

  // DELETE /crm/v3/objects/{objectType}/{objectId}
  app.delete('/crm/v3/objects/:objectType/:objectId', {
    config: { scope: 'crm.objects.write' },
    schema: {
      operationId: 'records-archive', tags: ['Records'], summary: 'Archive a record',
      description: 'Archives the record and frees its unique identifiers.',
      params: RecordParams, querystring: NoQuery,
      response: { 204: { type: 'null', description: 'Archived' }, ...standardErrorResponses }
    }
  }, async (request, reply) => {
    await records.archive(request.principal.accountId, request.params.objectType, request.params.objectId, actorOf(request))
    return await reply.status(204).send()
  })
}

export default recordsRoutes
