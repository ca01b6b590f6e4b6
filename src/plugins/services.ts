// Builds every service once from the database and config, and decorates them as `services`.
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { createAccountsService } from '../services/accounts.service.js'
import { createObjectTypesService } from '../services/object-types.service.js'
import { createRecordsService } from '../services/records.service.js'

export function createServices (db: import('kysely').Kysely<import('../db/schema.js').Database>, _config: Config) {
  const objectTypes = createObjectTypesService(db)
  const records = createRecordsService(db, objectTypes)
  const accounts = createAccountsService(db)
  return { accounts, objectTypes, records }
}

export type Services = ReturnType<typeof createServices>

declare module 'fastify' {
  interface FastifyInstance { services: Services }
}

export default fp<{ config: Config }>(async (app, opts) => {
  app.decorate('services', createServices(app.db, opts.config))
}, { name: 'services', dependencies: ['db'] })
