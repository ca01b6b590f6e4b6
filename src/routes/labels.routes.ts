// Label definitions per object pair (API.md L1-L4), all pairs with a label (extension), and limits (C1-C5).
// Mounted under /crm/v4/associations and, hidden from OpenAPI, under the /crm/associations/v4 alias.
import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ForwardPagingSchema, ObjectTypeParam, ref, standardErrorResponses } from '../schemas/common.schemas.js'
import {
  LabelCreateSchema, LabelListSchema, LabelUpdateSchema, LimitBatchInputSchema, LimitBatchResponseSchema,
  LimitConfigurationListSchema, LimitPurgeInputSchema
} from '../schemas/labels.schemas.js'
import { batchStatus } from '../lib/batch.js'
import { actorOf } from '../services/events.service.js'

const PairTypeParams = Type.Object({ fromObjectType: ObjectTypeParam, toObjectType: ObjectTypeParam })
const TypeIdParams = Type.Composite([PairTypeParams, Type.Object({ associationTypeId: Type.Integer({ minimum: 0, maximum: 2147483647 }) })])
const DeleteQuery = Type.Object({
  force: Type.Optional(Type.Boolean({ default: false, description: 'Extension: remove the label from the associations that use it, then delete it' }))
}, { additionalProperties: false })
const PairsQuery = Type.Object({
  after: Type.Optional(Type.String({ maxLength: 500 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 }))
}, { additionalProperties: false })
const PairsPageSchema = Type.Object({
  results: Type.Array(Type.Object({ fromObjectId: Type.Number(), toObjectId: Type.Number() })),
  paging: Type.Optional(ref(ForwardPagingSchema))
}, { $id: 'CollectionResponseAssociationPairForwardPaging' })
const NoContent = { type: 'null', description: 'Done' }

export interface LabelsRoutesOptions { hide?: boolean }

const labelsRoutes: FastifyPluginAsyncTypebox<LabelsRoutesOptions> = async (app, opts) => {
  const { associationTypes, associations, limits } = app.services
  const hide = opts.hide === true
  if (!hide) app.addSchema(PairsPageSchema)
  const pairsPage = hide ? Type.Omit(PairsPageSchema, ['$id']) : ref(PairsPageSchema)

  // L1: GET /crm/v4/associations/{fromObjectType}/{toObjectType}/labels
  app.get('/:fromObjectType/:toObjectType/labels', {
    config: { scope: 'crm.schemas.read' },
    schema: {
      hide, operationId: 'labels-list', tags: ['Association labels'], summary: 'List the association types from one object type to another',
      description: 'HUBSPOT_DEFINED (unlabeled with label null, Primary) and USER_DEFINED labels of the from -> to direction.',
      params: PairTypeParams,
      response: { 200: ref(LabelListSchema), ...standardErrorResponses }
    }
  }, async (request) => {
    const p = request.params
    return await associationTypes.listLabels(request.principal.accountId, p.fromObjectType, p.toObjectType)
  })

  // L2: POST /crm/v4/associations/{fromObjectType}/{toObjectType}/labels (answers 200, as HubSpot does)
  app.post('/:fromObjectType/:toObjectType/labels', {
    config: { scope: 'crm.schemas.write' },
    schema: {
      hide, operationId: 'labels-create', tags: ['Association labels'], summary: 'Create an association label (single or paired)',
      description: 'One type id per direction. `inverseLabel` makes a paired label (another name for the to -> from direction). At most MAX_LABELS_PER_PAIR labels per object pair.',
      params: PairTypeParams, body: ref(LabelCreateSchema),
      response: { 200: ref(LabelListSchema), ...standardErrorResponses }
    }
  }, async (request) => {
    const p = request.params
    return await associationTypes.createLabel(request.principal.accountId, p.fromObjectType, p.toObjectType, request.body)
  })

  // L3: PUT /crm/v4/associations/{fromObjectType}/{toObjectType}/labels
  app.put('/:fromObjectType/:toObjectType/labels', {
    config: { scope: 'crm.schemas.write' },
    schema: {
      hide, operationId: 'labels-update', tags: ['Association labels'], summary: 'Rename an association label',
      description: 'Type ids and names never change. HUBSPOT_DEFINED types cannot be renamed.',
      params: PairTypeParams, body: ref(LabelUpdateSchema),
      response: { 204: NoContent, ...standardErrorResponses }
    }
  }, async (request, reply) => {
    const p = request.params
    await associationTypes.updateLabel(request.principal.accountId, p.fromObjectType, p.toObjectType, request.body)
    return await reply.status(204).send()
  })

  // L4: DELETE /crm/v4/associations/{fromObjectType}/{toObjectType}/labels/{associationTypeId}
  app.delete('/:fromObjectType/:toObjectType/labels/:associationTypeId', {
    config: { scope: 'crm.schemas.write' },
    schema: {
      hide, operationId: 'labels-delete', tags: ['Association labels'], summary: 'Delete an association label (both directions)',
      description: 'Refused (400, with the number of associations) while associations use it, unless force=true. HUBSPOT_DEFINED types cannot be deleted.',
      params: TypeIdParams, querystring: DeleteQuery,
      response: { 204: NoContent, ...standardErrorResponses }
    }
  }, async (request, reply) => {
    const p = request.params
    await associationTypes.deleteLabel(request.principal.accountId, p.fromObjectType, p.toObjectType, p.associationTypeId, request.query.force === true, actorOf(request))
    return await reply.status(204).send()
  })

  // Extension: GET /crm/v4/associations/{from}/{to}/labels/{associationTypeId}/pairs
  app.get('/:fromObjectType/:toObjectType/labels/:associationTypeId/pairs', {
    config: { scope: 'crm.objects.read' },
    schema: {
      hide, operationId: 'labels-pairs', tags: ['Association labels'], summary: 'Extension: every pair in the account carrying a label',
      description: 'Keyset pages ordered by (fromObjectId, toObjectId), served by an index range scan.',
      params: TypeIdParams, querystring: PairsQuery,
      response: { 200: pairsPage, ...standardErrorResponses }
    }
  }, async (request) => {
    const p = request.params
    return await associations.pairsWithType(request.principal.accountId, p.fromObjectType, p.toObjectType, p.associationTypeId, request.query.after, request.query.limit ?? 100)
  })

  // C1: GET /crm/v4/associations/definitions/configurations/all
  app.get('/definitions/configurations/all', {
    config: { scope: 'crm.schemas.read' },
    schema: {
      hide, operationId: 'limits-list-all', tags: ['Association limits'], summary: 'List every configured association limit',
      response: { 200: ref(LimitConfigurationListSchema), ...standardErrorResponses }
    }
  }, async (request) => ({ results: await limits.listAll(request.principal.accountId) }))

  // C2: GET /crm/v4/associations/definitions/configurations/{fromObjectType}/{toObjectType}
  app.get('/definitions/configurations/:fromObjectType/:toObjectType', {
    config: { scope: 'crm.schemas.read' },
    schema: {
      hide, operationId: 'limits-list', tags: ['Association limits'], summary: 'List the configured limits of one direction',
      params: PairTypeParams,
      response: { 200: ref(LimitConfigurationListSchema), ...standardErrorResponses }
    }
  }, async (request) => ({ results: await limits.listForPair(request.principal.accountId, request.params.fromObjectType, request.params.toObjectType) }))

  // C3: POST .../definitions/configurations/{fromObjectType}/{toObjectType}/batch/create
  app.post('/definitions/configurations/:fromObjectType/:toObjectType/batch/create', {
    config: { scope: 'crm.schemas.write' },
    schema: {
      hide, operationId: 'limits-create', tags: ['Association limits'], summary: 'Configure association limits (maxToObjectIds)',
      description: 'At most the per-record limit; enforced on new associations only. 201, or 207 when some inputs fail.',
      params: PairTypeParams, body: ref(LimitBatchInputSchema),
      response: { 201: ref(LimitBatchResponseSchema), 207: ref(LimitBatchResponseSchema), ...standardErrorResponses }
    }
  }, async (request, reply) => {
    const p = request.params
    const outcome = await limits.create(request.principal.accountId, p.fromObjectType, p.toObjectType, request.body.inputs)
    return await reply.status(batchStatus(outcome, 201)).send(outcome)
  })

  // C4: POST .../definitions/configurations/{fromObjectType}/{toObjectType}/batch/update
  app.post('/definitions/configurations/:fromObjectType/:toObjectType/batch/update', {
    config: { scope: 'crm.schemas.write' },
    schema: {
      hide, operationId: 'limits-update', tags: ['Association limits'], summary: 'Change association limits',
      params: PairTypeParams, body: ref(LimitBatchInputSchema),
      response: { 200: ref(LimitBatchResponseSchema), 207: ref(LimitBatchResponseSchema), ...standardErrorResponses }
    }
  }, async (request, reply) => {
    const p = request.params
    const outcome = await limits.update(request.principal.accountId, p.fromObjectType, p.toObjectType, request.body.inputs)
    return await reply.status(batchStatus(outcome, 200)).send(outcome)
  })

  // C5: POST .../definitions/configurations/{fromObjectType}/{toObjectType}/batch/purge
  app.post('/definitions/configurations/:fromObjectType/:toObjectType/batch/purge', {
    config: { scope: 'crm.schemas.write' },
    schema: {
      hide, operationId: 'limits-purge', tags: ['Association limits'], summary: 'Remove association limits',
      params: PairTypeParams, body: ref(LimitPurgeInputSchema),
      response: { 204: NoContent, ...standardErrorResponses }
    }
  }, async (request, reply) => {
    const p = request.params
    await limits.purge(request.principal.accountId, p.fromObjectType, p.toObjectType, request.body.inputs)
    return await reply.status(204).send()
  })
}

export default labelsRoutes
