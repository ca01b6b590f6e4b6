// Webhook subscriptions (scope admin, per account) and their delivery log. Deliveries: see the README, "Webhooks".
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ref, standardErrorResponses } from '../schemas/common.schemas.js'
import {
  DeliveryPageSchema, DeliveryQuery, NewSubscriptionSchema, SubscriptionListSchema, SubscriptionParams, SubscriptionSchema,
  SubscriptionWithSecretSchema
} from '../schemas/webhooks.schemas.js'

const webhooksRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { webhooks } = app.services
  const base = '/webhooks/v3/subscriptions'
  const tags = ['Webhooks']

  app.post(base, {
    // The answer holds the signing secret: an Idempotency-Key retry learns the status only, never the secret.
    config: { scope: 'admin', idempotency: 'status-only' },
    schema: {
      operationId: 'webhooks-subscriptions-create', tags, summary: 'Subscribe a URL to association changes',
      description: 'Batches of events are POSTed to `targetUrl`, signed: `X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>`. ' +
        'The answer carries the secret, the only time it is shown. Events of transactions that begin after the subscription are delivered.',
      body: ref(NewSubscriptionSchema),
      response: { 201: ref(SubscriptionWithSecretSchema), ...standardErrorResponses }
    }
  }, async (request, reply) => {
    return await reply.status(201).send(await webhooks.create(request.principal.accountId, request.body))
  })

  app.get(base, {
    config: { scope: 'admin' },
    schema: {
      operationId: 'webhooks-subscriptions-list', tags, summary: 'List the account\'s webhook subscriptions (never their secrets)',
      response: { 200: ref(SubscriptionListSchema), ...standardErrorResponses }
    }
  }, async (request) => await webhooks.list(request.principal.accountId))

  app.get(`${base}/:subscriptionId`, {
    config: { scope: 'admin' },
    schema: {
      operationId: 'webhooks-subscriptions-get', tags, summary: 'Read a webhook subscription',
      params: SubscriptionParams,
      response: { 200: ref(SubscriptionSchema), ...standardErrorResponses }
    }
  }, async (request) => await webhooks.get(request.principal.accountId, Number(request.params.subscriptionId)))

  app.delete(`${base}/:subscriptionId`, {
    config: { scope: 'admin' },
    schema: {
      operationId: 'webhooks-subscriptions-delete', tags, summary: 'Delete a webhook subscription and its delivery log',
      params: SubscriptionParams,
      response: { 204: { type: 'null', description: 'Deleted' }, ...standardErrorResponses }
    }
  }, async (request, reply) => {
    await webhooks.remove(request.principal.accountId, Number(request.params.subscriptionId))
    return await reply.status(204).send()
  })

  app.get(`${base}/:subscriptionId/deliveries`, {
    config: { scope: 'admin' },
    schema: {
      operationId: 'webhooks-deliveries-list', tags, summary: 'The delivery log of a subscription, newest first',
      description: 'Each delivery: status, attempts, last status code and error, next attempt (while PENDING).',
      params: SubscriptionParams, querystring: DeliveryQuery,
      response: { 200: ref(DeliveryPageSchema), ...standardErrorResponses }
    }
  }, async (request) => {
    return await webhooks.deliveries(request.principal.accountId, Number(request.params.subscriptionId), request.query.after, request.query.limit ?? 20)
  })
}

export default webhooksRoutes
