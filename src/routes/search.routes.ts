// CRM v3 search: POST /crm/v3/objects/{objectType}/search (HubSpot's doSearch), with our association filters.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ref, standardErrorResponses } from '../schemas/common.schemas.js'
import { NoQuery, RecordTypeParams } from '../schemas/records.schemas.js'
import { SearchRequestSchema, SearchResponseSchema } from '../schemas/search.schemas.js'

const searchRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { search } = app.services

  app.post('/crm/v3/objects/:objectType/search', {
    config: { scope: 'crm.objects.read' },
    schema: {
      operationId: 'records-search', tags: ['Records'], summary: 'Search records by property values and by their associated records',
      description: 'HubSpot\'s search: `filterGroups` are ORed, the filters of a group ANDed; at most 5 groups, 6 filters per group and 18 in all; ' +
        'one sort (default: by id); `limit` up to 200; `total` counts up to 10,000. Numbers compare as numbers when both sides are numeric, ' +
        'other values as case-insensitive text; a record without the property matches NEQ, NOT_IN, NOT_CONTAINS_TOKEN and NOT_HAS_PROPERTY only. ' +
        'Extension: `associations` (in a group, or at the top level to apply to every group) keeps the records whose associated records of ' +
        '`toObjectType` meet `filters`: ALL of them (default; records with none match only with `includeEmpty: true`), ANY, the PRIMARY company, or NONE; ' +
        '`associationTypeId` narrows the associated records to one label. One SQL statement per search.',
      params: RecordTypeParams, querystring: NoQuery, body: ref(SearchRequestSchema),
      response: { 200: ref(SearchResponseSchema), ...standardErrorResponses }
    }
  }, async (request) => {
    return await search.search(request.principal.accountId, request.params.objectType, request.body)
  })
}

export default searchRoutes
