// OpenAPI document from the route schemas (@fastify/swagger), served at /openapi.json, and the explorer at /docs.
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { Config } from '../config.js'
import { documentIdempotencyKey } from './idempotency.js'

export const API_TAGS = [
  { name: 'Records', description: 'CRM v3 objects: contacts, companies, deals, tickets and custom objects' },
  { name: 'Records batch', description: 'CRM v3 record batches: create (with inline associations), read, update, upsert, archive; set-based, with per-input errors' },
  { name: 'Schemas', description: 'Custom object types' },
  { name: 'Associations', description: 'CRM Associations v4: record-level associations, plus extensions (labels on a pair, primary company, filters)' },
  { name: 'Associations batch', description: 'Batch association endpoints (T1-T5), set-based, with per-input results' },
  { name: 'Association labels', description: 'Association types and labels per object pair' },
  { name: 'Association limits', description: 'Per-type limits (maxToObjectIds)' },
  { name: 'Imports', description: 'CRM Imports v3: CSV files of records, associations and labels, processed asynchronously, with a row-level error report' },
  { name: 'Admin', description: 'Accounts and API keys (scope admin)' },
  { name: 'Health', description: 'Liveness and readiness probes' }
]

export default fp<{ config: Config }>(async (app, opts) => {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Associations API',
        version: '1.0.0',
        description: 'Open, self-hostable CRM Associations API, wire-compatible with HubSpot\'s CRM Associations API v4 and the CRM v3 objects a client needs. Authenticate with "Authorization: Bearer <API key>".'
      },
      servers: opts.config.PUBLIC_URL !== undefined ? [{ url: opts.config.PUBLIC_URL }] : [],
      tags: API_TAGS,
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API key of this service' } }
      },
      security: [{ bearerAuth: [] }]
    },
    // Every write operation takes an Idempotency-Key header (plugins/idempotency.ts), documented once.
    transformObject: (document) => 'openapiObject' in document ? documentIdempotencyKey(document.openapiObject) : document.swaggerObject,
    // Name components after each schema's $id, so the document stays stable and readable.
    refResolver: {
      buildLocalReference (json, _baseUri, _fragment, i) {
        return typeof json.$id === 'string' ? json.$id : `def-${i}`
      }
    }
  })
  if (opts.config.DOCS_ENABLED) {
    await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { persistAuthorization: true, tryItOutEnabled: true } })
  }
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}, { name: 'openapi' })
