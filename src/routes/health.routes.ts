// Liveness and readiness probes (no authentication).
import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { sql } from 'kysely'

const HealthSchema = Type.Object({ status: Type.String(), engine: Type.Optional(Type.String()) })

const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // GET /health/live: the process is up.
  app.get('/health/live', {
    schema: { operationId: 'health-live', tags: ['Health'], summary: 'Liveness probe', security: [], response: { 200: HealthSchema } }
  }, async () => ({ status: 'ok' }))

  // GET /health/ready: the database answers.
  app.get('/health/ready', {
    schema: { operationId: 'health-ready', tags: ['Health'], summary: 'Readiness probe: checks the database', security: [], response: { 200: HealthSchema, 503: HealthSchema } }
  }, async (request, reply) => {
    try {
      await sql`select 1`.execute(app.db)
      return { status: 'ok', engine: app.dbEngine }
    } catch (err) {
      request.log.warn({ err }, 'readiness check failed')
      return await reply.status(503).send({ status: 'unavailable', engine: app.dbEngine })
    }
  })
}

export default healthRoutes
