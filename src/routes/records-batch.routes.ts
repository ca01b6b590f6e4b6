// CRM v3 record batches (API.md §6.1) under /crm/v3/objects/{objectType}/batch/...: create, read, update, upsert, archive.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { ref, standardErrorResponses } from '../schemas/common.schemas.js'
import { RecordTypeParams } from '../schemas/records.schemas.js'
import { BatchReadQuery, nonScalarBatchValues, RecordBatchResponseSchema, RecordUpsertResponseSchema, recordBatchBodies } from '../schemas/records-batch.schemas.js'
import { InvalidInputError, withDetails } from '../errors.js'
import type { Config } from '../config.js'
import { batchStatus } from '../lib/batch.js'
import { actorOf } from '../services/events.service.js'

const NoContent = { type: 'null', description: 'Archived' }

/** preValidation: a property value that is an array or an object is a 400 naming it (see nonScalarBatchValues). */
async function scalarPropertyValues (request: FastifyRequest): Promise<void> {
  const bad = nonScalarBatchValues(request.body)
  if (bad.length === 0) return
  const context = Object.fromEntries(bad.map((path) => [`body.${path.replaceAll('/', '.')}`, ['must be a string, number, boolean or null']]))
  throw withDetails(new InvalidInputError(`Invalid input: body/${bad[0] ?? ''} must be a string, number, boolean or null`), { context })
}

const recordsBatchRoutes: FastifyPluginAsyncTypebox<{ config: Config }> = async (app, opts) => {
  const { recordsBatch } = app.services
  const max = opts.config.RECORD_BATCH_MAX
  const bodies = recordBatchBodies(max)
  for (const schema of Object.values(bodies)) app.addSchema(schema)
  const perInput = 'A failed input writes nothing of its own and is an entry of `errors` (status, category, subCategory, message, context naming the input); the others commit.'

  // POST /crm/v3/objects/{objectType}/batch/create
  app.post('/crm/v3/objects/:objectType/batch/create', {
    config: { scope: 'crm.objects.write' },
    preValidation: scalarPropertyValues,
    schema: {
      operationId: 'records-batch-create', tags: ['Records batch'], summary: 'Create records in bulk, with inline associations',
      description: `Up to ${max} inputs. 201 when all are created, 207 with errors otherwise. ${perInput} Each input's associations are written with it (the first company becomes primary). Error context: inputIndex and objectWriteTraceId.`,
      params: RecordTypeParams, body: ref(bodies.create),
      response: { 201: ref(RecordBatchResponseSchema), 207: ref(RecordBatchResponseSchema), ...standardErrorResponses }
    }
  }, async (request, reply) => {
    const outcome = await recordsBatch.create(request.principal.accountId, request.params.objectType, request.body.inputs, actorOf(request))
    return await reply.status(batchStatus(outcome, 201)).send(outcome)
  })

  // POST /crm/v3/objects/{objectType}/batch/read
  app.post('/crm/v3/objects/:objectType/batch/read', {
    config: { scope: 'crm.objects.read' },
    schema: {
      operationId: 'records-batch-read', tags: ['Records batch'], summary: 'Read records by id or by a unique property',
      description: `Up to ${max} inputs. 200 when all are found; 207 when some are not: results hold the found records, errors the rest (context.id). A record named twice is returned once. archived=true reads archived records only.`,
      params: RecordTypeParams, querystring: BatchReadQuery, body: ref(bodies.read),
      response: { 200: ref(RecordBatchResponseSchema), 207: ref(RecordBatchResponseSchema), ...standardErrorResponses }
    }
  }, async (request, reply) => {
    const outcome = await recordsBatch.read(request.principal.accountId, request.params.objectType, request.body, request.query.archived)
    return await reply.status(batchStatus(outcome, 200)).send(outcome)
  })

  // POST /crm/v3/objects/{objectType}/batch/update
  app.post('/crm/v3/objects/:objectType/batch/update', {
    config: { scope: 'crm.objects.write' },
    preValidation: scalarPropertyValues,
    schema: {
      operationId: 'records-batch-update', tags: ['Records batch'], summary: 'Update records in bulk',
      description: `Up to ${max} inputs, each by id or by idProperty. Only the given properties change; null or "" clears one. Inputs naming one record are merged in order. 200, or 207 with errors. ${perInput}`,
      params: RecordTypeParams, body: ref(bodies.update),
      response: { 200: ref(RecordBatchResponseSchema), 207: ref(RecordBatchResponseSchema), ...standardErrorResponses }
    }
  }, async (request, reply) => {
    const outcome = await recordsBatch.update(request.principal.accountId, request.params.objectType, request.body.inputs)
    return await reply.status(batchStatus(outcome, 200)).send(outcome)
  })

  // POST /crm/v3/objects/{objectType}/batch/upsert
  app.post('/crm/v3/objects/:objectType/batch/upsert', {
    config: { scope: 'crm.objects.write' },
    preValidation: scalarPropertyValues,
    schema: {
      operationId: 'records-batch-upsert', tags: ['Records batch'], summary: 'Create or update records by a unique property',
      description: `Up to ${max} inputs. idProperty names a unique property (email, domain, a custom unique property) and id its value: the record holding it is updated, or a new one is created with it. Each result carries new: true|false. 200, or 207 with errors. ${perInput}`,
      params: RecordTypeParams, body: ref(bodies.upsert),
      response: { 200: ref(RecordUpsertResponseSchema), 207: ref(RecordUpsertResponseSchema), ...standardErrorResponses }
    }
  }, async (request, reply) => {
    const outcome = await recordsBatch.upsert(request.principal.accountId, request.params.objectType, request.body.inputs)
    return await reply.status(batchStatus(outcome, 200)).send(outcome)
  })

  // POST /crm/v3/objects/{objectType}/batch/archive
  app.post('/crm/v3/objects/:objectType/batch/archive', {
    config: { scope: 'crm.objects.write' },
    schema: {
      operationId: 'records-batch-archive', tags: ['Records batch'], summary: 'Archive records in bulk',
      description: `Up to ${max} record ids. Archives each live one, frees its unique identifiers and removes its associations on both sides; ids of no live record are skipped. Always 204.`,
      params: RecordTypeParams, body: ref(bodies.archive),
      response: { 204: NoContent, ...standardErrorResponses }
    }
  }, async (request, reply) => {
    await recordsBatch.archive(request.principal.accountId, request.params.objectType, request.body.inputs, actorOf(request))
    return await reply.status(204).send()
  })
}

export default recordsBatchRoutes
