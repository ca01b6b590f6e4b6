// The association change feed: GET /crm/v4/associations/events?after=&limit= (extension, not in HubSpot's API).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ref, standardErrorResponses } from '../schemas/common.schemas.js'
import { EventFeedQuery, EventPageSchema } from '../schemas/events.schemas.js'

const eventsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { events } = app.services

  app.get('/crm/v4/associations/events', {
    config: { scope: 'crm.objects.read' },
    schema: {
      operationId: 'associations-events', tags: ['Change feed'], summary: 'Read association changes in order (extension)',
      description: 'Every change to the account\'s associations, oldest first, as a cursor walk: pass `paging.next.after` back as `after`. ' +
        'Each event is served once per walk, in order, and never before an earlier-started transaction\'s events. ' +
        'An empty page keeps the cursor; poll again later. Events are kept EVENT_RETENTION_DAYS (30) days.',
      querystring: EventFeedQuery,
      response: { 200: ref(EventPageSchema), ...standardErrorResponses }
    }
  }, async (request) => {
    return await events.feed(request.principal.accountId, request.query.after, request.query.limit)
  })
}

export default eventsRoutes
