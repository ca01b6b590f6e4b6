// Wire schemas of the association change feed (GET /crm/v4/associations/events) and of the events webhooks carry.
import { Type, type Static } from '@sinclair/typebox'
import { ref } from './common.schemas.js'

export const EVENT_KIND_VALUES = ['created', 'label_added', 'label_removed', 'primary_set', 'primary_unset', 'deleted'] as const

export const EventKindSchema = Type.Unsafe<typeof EVENT_KIND_VALUES[number]>({
  type: 'string',
  enum: [...EVENT_KIND_VALUES],
  $id: 'AssociationEventKind',
  description: 'created / deleted: the association itself (its unlabeled type); label_added / label_removed: a label; ' +
    'primary_set / primary_unset: the primary company (from either side)'
})

export const AssociationEventSchema = Type.Object({
  id: Type.String({ description: 'Event id, unique in the account; a redelivered webhook carries the same ids' }),
  kind: ref(EventKindSchema),
  occurredAt: Type.String({ format: 'date-time', description: 'When the writing transaction started' }),
  fromObjectTypeId: Type.String(),
  fromObjectId: Type.Integer(),
  toObjectTypeId: Type.String(),
  toObjectId: Type.Integer(),
  associationTypeId: Type.Integer({ description: 'The type added or removed, in the from -> to direction' }),
  associationCategory: Type.String({ description: 'HUBSPOT_DEFINED, USER_DEFINED or INTEGRATOR_DEFINED' }),
  label: Type.Union([Type.String(), Type.Null()], { description: 'The label; null for the unlabeled type' }),
  cause: Type.Union([Type.Literal('record_archived'), Type.Literal('label_deleted'), Type.Null()], {
    description: 'record_archived: a record was archived and its associations went with it; label_deleted: a label was deleted with force=true; null: a direct write'
  }),
  correlationId: Type.Union([Type.String(), Type.Null()], { description: 'The X-HubSpot-Correlation-Id of the request that made the change; null for imports and the command line' }),
  apiKeyId: Type.Union([Type.String(), Type.Null()], { description: 'The id of the API key that made the change; null for imports and the command line' })
}, { $id: 'AssociationEvent', description: 'One association type added to or removed from a pair, seen from the from side of the write' })

export type AssociationEvent = Static<typeof AssociationEventSchema>

export const EventPageSchema = Type.Object({
  results: Type.Array(ref(AssociationEventSchema)),
  paging: Type.Object({
    next: Type.Object({
      after: Type.String({ description: 'Where to read next; the same cursor when nothing new was visible yet' })
    })
  })
}, { $id: 'CollectionResponseAssociationEvent' })

export type EventPage = Static<typeof EventPageSchema>

export const EventFeedQuery = Type.Object({
  after: Type.Optional(Type.String({ maxLength: 500, description: 'paging.next.after of the previous page; absent: the oldest event kept' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 }))
}, { additionalProperties: false })

export const EVENT_SCHEMAS = [EventKindSchema, AssociationEventSchema, EventPageSchema]
