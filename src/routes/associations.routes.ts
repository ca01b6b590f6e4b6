// Record-level associations (API.md B1-B4) and our extensions: labels on a pair, the primary company, filters.
import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ref, standardErrorResponses } from '../schemas/common.schemas.js'
import {
  AssociationPageSchema, AssociationSpecListSchema, DefaultAssociationBatchSchema, LabelsBetweenObjectPairSchema,
  MultiAssociatedObjectWithLabelSchema, PairParams, RecordToTypeParams
} from '../schemas/associations.schemas.js'
import { parseRecordId } from '../services/records.service.js'
import { actorOf } from '../services/events.service.js'

const RecordId = Type.String({ pattern: '^\\d{1,16}$' })
const PageQuery = Type.Object({
  after: Type.Optional(Type.String({ maxLength: 500, description: 'Cursor from paging.next.after' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 500 })),
  associationTypeId: Type.Optional(Type.Integer({ minimum: 0, maximum: 2147483647, description: 'Extension: only pairs carrying this type' })),
  label: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Extension: only pairs carrying this label (case-insensitive)' })),
  primaryOnly: Type.Optional(Type.Boolean({ description: 'Extension: only the primary company' }))
}, { additionalProperties: false })
const NewPrimaryQuery = Type.Object({
  newPrimaryId: Type.Optional(RecordId)
}, { additionalProperties: false })
const LabelParams = Type.Composite([PairParams, Type.Object({ associationTypeId: Type.Integer({ minimum: 0, maximum: 2147483647 }) })])

const associationsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { associations } = app.services
  const base = '/crm/v4/objects/:objectType/:objectId'

  // B2: PUT /crm/v4/objects/{fromObjectType}/{fromObjectId}/associations/default/{toObjectType}/{toObjectId}
  app.put(`${base}/associations/default/:toObjectType/:toObjectId`, {
    config: { scope: 'crm.objects.write' },
    schema: {
      operationId: 'associations-create-default', tags: ['Associations'], summary: 'Associate two records with the default (unlabeled) type',
      description: 'Answers both directions. The first company associated with a contact, deal or ticket becomes its primary.',
      params: PairParams,
      response: { 200: ref(DefaultAssociationBatchSchema), ...standardErrorResponses }
    }
  }, async (request) => {
    const p = request.params
    return await associations.associateDefault(request.principal.accountId, p.objectType, parseRecordId(p.objectId), p.toObjectType, parseRecordId(p.toObjectId), actorOf(request))
  })

  // B1: PUT /crm/v4/objects/{objectType}/{objectId}/associations/{toObjectType}/{toObjectId}
  app.put(`${base}/associations/:toObjectType/:toObjectId`, {
    config: { scope: 'crm.objects.write' },
    schema: {
      operationId: 'associations-create', tags: ['Associations'], summary: 'Associate two records with a label set',
      description: 'The body is the label set of the pair (HubSpot semantics): labels not sent are removed, the unlabeled type is always kept. ' +
        'A primary type sets the primary company (the old one stays associated); omitting it never unsets the primary.',
      params: PairParams, body: AssociationSpecListSchema,
      response: { 201: ref(LabelsBetweenObjectPairSchema), ...standardErrorResponses }
    }
  }, async (request, reply) => {
    const p = request.params
    const result = await associations.associate(request.principal.accountId, p.objectType, parseRecordId(p.objectId), p.toObjectType, parseRecordId(p.toObjectId), request.body, 'replace', actorOf(request))
    return await reply.status(201).send(result)
  })

  // B3: DELETE /crm/v4/objects/{objectType}/{objectId}/associations/{toObjectType}/{toObjectId}
  app.delete(`${base}/associations/:toObjectType/:toObjectId`, {
    config: { scope: 'crm.objects.write' },
    schema: {
      operationId: 'associations-archive', tags: ['Associations'], summary: 'Remove every association between two records',
      description: 'Both directions, every label. When the primary company goes, `newPrimaryId` (an associated company) becomes primary; without it no company is primary.',
      params: PairParams, querystring: NewPrimaryQuery,
      response: { 204: { type: 'null', description: 'Removed' }, ...standardErrorResponses }
    }
  }, async (request, reply) => {
    const p = request.params
    const newPrimary = request.query.newPrimaryId === undefined ? undefined : parseRecordId(request.query.newPrimaryId)
    await associations.removePair(request.principal.accountId, p.objectType, parseRecordId(p.objectId), p.toObjectType, parseRecordId(p.toObjectId), newPrimary, actorOf(request))
    return await reply.status(204).send()
  })

  // B4: GET /crm/v4/objects/{objectType}/{objectId}/associations/{toObjectType}
  app.get(`${base}/associations/:toObjectType`, {
    config: { scope: 'crm.objects.read' },
    schema: {
      operationId: 'associations-list', tags: ['Associations'], summary: 'List a record\'s associations toward one object type',
      description: 'Keyset pages of up to 500 (default 500); `paging` only when more exist. Extensions: `associationTypeId`, `label`, `primaryOnly`.',
      params: RecordToTypeParams, querystring: PageQuery,
      response: { 200: ref(AssociationPageSchema), ...standardErrorResponses }
    }
  }, async (request) => {
    const p = request.params
    return await associations.listPage(request.principal.accountId, p.objectType, parseRecordId(p.objectId), p.toObjectType, request.query)
  })

  // Extension: POST .../associations/{toObjectType}/{toObjectId}/labels adds labels without removing any.
  app.post(`${base}/associations/:toObjectType/:toObjectId/labels`, {
    config: { scope: 'crm.objects.write' },
    schema: {
      operationId: 'associations-labels-add', tags: ['Associations'], summary: 'Extension: add labels to a pair, keeping the others',
      description: 'Union with the pair\'s labels (the import rule); associates the records if they were not.',
      params: PairParams, body: AssociationSpecListSchema,
      response: { 200: ref(LabelsBetweenObjectPairSchema), ...standardErrorResponses }
    }
  }, async (request) => {
    const p = request.params
    return await associations.associate(request.principal.accountId, p.objectType, parseRecordId(p.objectId), p.toObjectType, parseRecordId(p.toObjectId), request.body, 'add', actorOf(request))
  })

  // Extension: DELETE .../associations/{toObjectType}/{toObjectId}/labels/{associationTypeId} removes one label.
  app.delete(`${base}/associations/:toObjectType/:toObjectId/labels/:associationTypeId`, {
    config: { scope: 'crm.objects.write' },
    schema: {
      operationId: 'associations-labels-remove', tags: ['Associations'], summary: 'Extension: remove one label from a pair',
      description: 'The pair stays associated and the answer lists what is left. The unlabeled type id removes the whole association; the primary type id unsets the primary.',
      params: LabelParams,
      response: { 200: ref(LabelsBetweenObjectPairSchema), ...standardErrorResponses }
    }
  }, async (request) => {
    const p = request.params
    return await associations.removeLabel(request.principal.accountId, p.objectType, parseRecordId(p.objectId), p.toObjectType, parseRecordId(p.toObjectId), p.associationTypeId, actorOf(request))
  })

  // Extension: GET /crm/v4/objects/{objectType}/{objectId}/primary/{toObjectType}
  app.get(`${base}/primary/:toObjectType`, {
    config: { scope: 'crm.objects.read' },
    schema: {
      operationId: 'primary-get', tags: ['Associations'], summary: 'Extension: read the primary company',
      params: RecordToTypeParams,
      response: { 200: ref(MultiAssociatedObjectWithLabelSchema), ...standardErrorResponses }
    }
  }, async (request) => {
    const p = request.params
    return await associations.getPrimary(request.principal.accountId, p.objectType, parseRecordId(p.objectId), p.toObjectType)
  })

  // Extension: PUT /crm/v4/objects/{objectType}/{objectId}/primary/{toObjectType}/{toObjectId}
  app.put(`${base}/primary/:toObjectType/:toObjectId`, {
    config: { scope: 'crm.objects.write' },
    schema: {
      operationId: 'primary-set', tags: ['Associations'], summary: 'Extension: set the primary company',
      description: 'Replaces the old primary, which stays associated; associates the company if it was not.',
      params: PairParams,
      response: { 200: ref(MultiAssociatedObjectWithLabelSchema), ...standardErrorResponses }
    }
  }, async (request) => {
    const p = request.params
    return await associations.setPrimary(request.principal.accountId, p.objectType, parseRecordId(p.objectId), p.toObjectType, parseRecordId(p.toObjectId), actorOf(request))
  })

  // Extension: DELETE /crm/v4/objects/{objectType}/{objectId}/primary/{toObjectType}?newPrimaryId=
  app.delete(`${base}/primary/:toObjectType`, {
    config: { scope: 'crm.objects.write' },
    schema: {
      operationId: 'primary-unset', tags: ['Associations'], summary: 'Extension: unset the primary company',
      description: 'The company stays associated. `newPrimaryId` (already associated) becomes primary instead; without it no company is primary.',
      params: RecordToTypeParams, querystring: NewPrimaryQuery,
      response: { 204: { type: 'null', description: 'Unset' }, ...standardErrorResponses }
    }
  }, async (request, reply) => {
    const p = request.params
    const newPrimary = request.query.newPrimaryId === undefined ? undefined : parseRecordId(request.query.newPrimaryId)
    await associations.unsetPrimary(request.principal.accountId, p.objectType, parseRecordId(p.objectId), p.toObjectType, newPrimary, actorOf(request))
    return await reply.status(204).send()
  })
}

export default associationsRoutes
