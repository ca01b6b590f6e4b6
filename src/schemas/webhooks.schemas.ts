// Wire schemas of webhook subscriptions, their delivery log, and the body a delivery POSTs.
import { Type, type Static } from '@sinclair/typebox'
import { ForwardPagingSchema, ref } from './common.schemas.js'
import { AssociationEventSchema, EventKindSchema } from './events.schemas.js'

export const NewSubscriptionSchema = Type.Object({
  targetUrl: Type.String({ minLength: 1, maxLength: 2000, description: 'Absolute http or https URL that receives the POSTs' }),
  eventKinds: Type.Optional(Type.Array(ref(EventKindSchema), { minItems: 1, maxItems: 6, uniqueItems: true, description: 'Which event kinds to deliver; every kind when absent' }))
}, { $id: 'WebhookSubscriptionCreateRequest', additionalProperties: false })

export type NewSubscriptionInput = Static<typeof NewSubscriptionSchema>

export const SubscriptionSchema = Type.Object({
  id: Type.String(),
  targetUrl: Type.String(),
  eventKinds: Type.Array(ref(EventKindSchema)),
  createdAt: Type.String({ format: 'date-time' })
}, { $id: 'WebhookSubscription' })

export type Subscription = Static<typeof SubscriptionSchema>

export const SubscriptionWithSecretSchema = Type.Object({
  id: Type.String(),
  targetUrl: Type.String(),
  eventKinds: Type.Array(ref(EventKindSchema)),
  createdAt: Type.String({ format: 'date-time' }),
  secret: Type.String({ description: 'HMAC-SHA256 signing key of the deliveries. Shown in this answer only: store it now' })
}, { $id: 'WebhookSubscriptionCreated' })

export type SubscriptionWithSecret = Static<typeof SubscriptionWithSecretSchema>

export const SubscriptionListSchema = Type.Object({
  results: Type.Array(ref(SubscriptionSchema))
}, { $id: 'CollectionResponseWebhookSubscription' })

export const WebhookDeliverySchema = Type.Object({
  id: Type.String({ description: 'Also sent as the X-Webhook-Delivery-Id header' }),
  status: Type.Union([Type.Literal('PENDING'), Type.Literal('SUCCEEDED'), Type.Literal('FAILED')], {
    description: 'PENDING: not acknowledged yet (retried); SUCCEEDED: answered 2xx; FAILED: given up after WEBHOOK_RETRY_FOR_MS (24 h)'
  }),
  eventIds: Type.Array(Type.String()),
  attempts: Type.Integer(),
  lastStatusCode: Type.Union([Type.Integer(), Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()]),
  nextAttemptAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'When the next attempt is due (PENDING only)' }),
  createdAt: Type.String({ format: 'date-time' }),
  lastAttemptAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  deliveredAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()])
}, { $id: 'WebhookDelivery' })

export type WebhookDelivery = Static<typeof WebhookDeliverySchema>

export const DeliveryPageSchema = Type.Object({
  results: Type.Array(ref(WebhookDeliverySchema)),
  paging: Type.Optional(ref(ForwardPagingSchema))
}, { $id: 'CollectionResponseWebhookDelivery' })

export type DeliveryPage = Static<typeof DeliveryPageSchema>

/** What a delivery POSTs (documentation; the dispatcher builds it). */
export const WebhookBodySchema = Type.Object({
  subscriptionId: Type.String(),
  events: Type.Array(ref(AssociationEventSchema))
}, { $id: 'WebhookDeliveryBody' })

export type WebhookBody = Static<typeof WebhookBodySchema>

export const SubscriptionParams = Type.Object({ subscriptionId: Type.String({ pattern: '^\\d{1,16}$' }) })

export const DeliveryQuery = Type.Object({
  after: Type.Optional(Type.String({ maxLength: 500 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 }))
}, { additionalProperties: false })

export const WEBHOOK_SCHEMAS = [NewSubscriptionSchema, SubscriptionSchema, SubscriptionWithSecretSchema, SubscriptionListSchema, WebhookDeliverySchema, DeliveryPageSchema, WebhookBodySchema]
