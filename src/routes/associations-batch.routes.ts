// Batch associations (API.md T1-T5) under /crm/v4/associations/{fromObjectType}/{toObjectType}/batch/...
import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ObjectTypeParam, ref, standardErrorResponses } from '../schemas/common.schemas.js'
import { DefaultAssociationBatchSchema } from '../schemas/associations.schemas.js'
import {
  ArchiveInputSchema, DefaultPairInputSchema, LabelsBatchResponseSchema, PairInputSchema, ReadBatchResponseSchema, ReadInputSchema, batchInputs
} from '../schemas/associations-batch.schemas.js'
import type { Config } from '../config.js'
import { batchStatus } from '../lib/batch.js'
import { actorOf } from '../services/events.service.js'

const Params = Type.Object({ fromObjectType: ObjectTypeParam, toObjectType: ObjectTypeParam })
const NoContent = { type: 'null', description: 'Done' }

const associationsBatchRoutes: FastifyPluginAsyncTypebox<{ config: Config }> = async (app, opts) => {
  const { associationsBatch } = app.services
  const { BATCH_CREATE_MAX: createMax, BATCH_READ_MAX: readMax } = opts.config
  const CreateBody = batchInputs(ref(PairInputSchema), createMax, 'BatchInputPublicAssociationMultiPost')
  const DefaultBody = batchInputs(ref(DefaultPairInputSchema), createMax, 'BatchInputPublicDefaultAssociationMultiPost')
  const ReadBody = batchInputs(ref(ReadInputSchema), readMax, 'BatchInputPublicFetchAssociationsBatchRequest')
  const ArchiveBody = batchInputs(ref(ArchiveInputSchema), createMax, 'BatchInputPublicAssociationMultiArchive')
  for (const schema of [CreateBody, DefaultBody, ReadBody, ArchiveBody]) app.addSchema(schema)

  // T1: POST /crm/v4/associations/{fromObjectType}/{toObjectType}/batch/create
  app.post('/:fromObjectType/:toObjectType/batch/create', {
    config: { scope: 'crm.objects.write' },
    schema: {
      operationId: 'associations-batch-create', tags: ['Associations batch'], summary: 'Create labelled associations in bulk',
      description: `Up to ${createMax} inputs; each input's types are the pair's label set (as B1). 201 when all succeed, 207 with errors when some fail; a failed input writes nothing.`,
      params: Params, body: ref(CreateBody),
      response: { 201: ref(LabelsBatchResponseSchema), 207: ref(LabelsBatchResponseSchema), ...standardErrorResponses }
    }
  }, async (request, reply) => {
    const p = request.params
    const outcome = await associationsBatch.create(request.principal.accountId, p.fromObjectType, p.toObjectType, request.body.inputs, actorOf(request))
    return await reply.status(batchStatus(outcome, 201)).send(outcome)
  })

  // T2: POST /crm/v4/associations/{fromObjectType}/{toObjectType}/batch/associate/default
  app.post('/:fromObjectType/:toObjectType/batch/associate/default', {
    config: { scope: 'crm.objects.write' },
    schema: {
      operationId: 'associations-batch-create-default', tags: ['Associations batch'], summary: 'Create default (unlabeled) associations in bulk',
      description: `Up to ${createMax} inputs; both directions per input. Always 200; failed inputs are in errors.`,
      params: Params, body: ref(DefaultBody),
      response: { 200: ref(DefaultAssociationBatchSchema), ...standardErrorResponses }
    }
  }, async (request) => {
    const p = request.params
    return await associationsBatch.createDefault(request.principal.accountId, p.fromObjectType, p.toObjectType, request.body.inputs, actorOf(request))
  })

  // T3: POST /crm/v4/associations/{fromObjectType}/{toObjectType}/batch/read
  app.post('/:fromObjectType/:toObjectType/batch/read', {
    config: { scope: 'crm.objects.read' },
    schema: {
      operationId: 'associations-batch-read', tags: ['Associations batch'], summary: 'Read the associations of many records',
      description: `Up to ${readMax} inputs, a page of up to 500 per record with its own cursor. A record with no associations is an error entry (NO_ASSOCIATIONS_FOUND) and makes the answer 207.`,
      params: Params, body: ref(ReadBody),
      response: { 200: ref(ReadBatchResponseSchema), 207: ref(ReadBatchResponseSchema), ...standardErrorResponses }
    }
  }, async (request, reply) => {
    const p = request.params
    const outcome = await associationsBatch.read(request.principal.accountId, p.fromObjectType, p.toObjectType, request.body.inputs)
    return await reply.status(batchStatus(outcome, 200)).send(outcome)
  })

  // T4: POST /crm/v4/associations/{fromObjectType}/{toObjectType}/batch/archive
  app.post('/:fromObjectType/:toObjectType/batch/archive', {
    config: { scope: 'crm.objects.write' },
    schema: {
      operationId: 'associations-batch-archive', tags: ['Associations batch'], summary: 'Remove every association between pairs in bulk',
      description: `Up to ${createMax} pairs (counting every \`to\`). Both directions, every label.`,
      params: Params, body: ref(ArchiveBody),
      response: { 204: NoContent, ...standardErrorResponses }
    }
  }, async (request, reply) => {
    const p = request.params
    await associationsBatch.archive(request.principal.accountId, p.fromObjectType, p.toObjectType, request.body.inputs, actorOf(request))
    return await reply.status(204).send()
  })

  // T5: POST /crm/v4/associations/{fromObjectType}/{toObjectType}/batch/labels/archive
  app.post('/:fromObjectType/:toObjectType/batch/labels/archive', {
    config: { scope: 'crm.objects.write' },
    schema: {
      operationId: 'associations-batch-archive-labels', tags: ['Associations batch'], summary: 'Remove specific labels in bulk',
      description: 'The pairs stay associated. Removing the unlabeled type removes every label of the pair; removing the primary type unsets the primary.',
      params: Params, body: ref(CreateBody),
      response: { 204: NoContent, ...standardErrorResponses }
    }
  }, async (request, reply) => {
    const p = request.params
    await associationsBatch.archiveLabels(request.principal.accountId, p.fromObjectType, p.toObjectType, request.body.inputs, actorOf(request))
    return await reply.status(204).send()
  })
}

export default associationsBatchRoutes
