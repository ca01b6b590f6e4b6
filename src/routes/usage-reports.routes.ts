// R1: POST /crm/v4/associations/usage/high-usage-report/{userId}, and reading the report back (extension).
import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ref, standardErrorResponses } from '../schemas/common.schemas.js'
import { ReportCreationResponseSchema, UsageReportSchema } from '../schemas/usage-reports.schemas.js'

const Int32 = Type.Integer({ minimum: 0, maximum: 2147483647 })
const ReportQuery = Type.Object({
  format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')], { description: 'csv: the whole report as a CSV file (also chosen by `Accept: text/csv`)' })),
  after: Type.Optional(Type.String({ maxLength: 500 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 }))
}, { additionalProperties: false })

const usageReportsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { usageReports } = app.services

  app.post('/usage/high-usage-report/:userId', {
    config: { scope: 'crm.objects.read' },
    schema: {
      operationId: 'high-usage-report-request', tags: ['Association limits'], summary: 'Report the records at 80% or more of an association limit',
      description: 'Answers as HubSpot does (200, `{userId, userEmail, enqueueTime}`). HubSpot emails the report; here it is computed at once and read with `GET .../high-usage-report/{reportId}`.',
      params: Type.Object({ userId: Int32 }),
      response: { 200: ref(ReportCreationResponseSchema), ...standardErrorResponses }
    }
  }, async (request) => {
    return await usageReports.request(request.principal.accountId, request.params.userId)
  })

  app.get('/usage/high-usage-report/:reportId', {
    config: { scope: 'crm.objects.read' },
    schema: {
      operationId: 'high-usage-report-get', tags: ['Association limits'], summary: 'Read a high-usage report (JSON pages or CSV)',
      description: 'Extension. Entries in (object type, record id, other object type, limit) order. `format=csv` or `Accept: text/csv` streams the whole report as CSV.',
      params: Type.Object({ reportId: Int32 }), querystring: ReportQuery,
      produces: ['application/json', 'text/csv'],
      response: { 200: ref(UsageReportSchema), ...standardErrorResponses }
    }
  }, async (request, reply) => {
    const { accountId } = request.principal
    const q = request.query
    const wantsCsv = q.format === 'csv' || (q.format === undefined && (request.headers.accept ?? '').includes('text/csv'))
    if (wantsCsv) {
      const stream = await usageReports.csv(accountId, request.params.reportId)
      return await reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="high-usage-report-${request.params.reportId}.csv"`)
        // A stream is sent as it is: the JSON response schema does not apply to it.
        .send(stream as never)
    }
    return await usageReports.page(accountId, request.params.reportId, q.after, q.limit ?? 100)
  })
}

export default usageReportsRoutes
