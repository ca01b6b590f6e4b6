// Builds every service once from the database and config, and decorates them as `services`.
import fp from 'fastify-plugin'
import type { Kysely } from 'kysely'
import type { Config } from '../config.js'
import type { Database } from '../db/schema.js'
import { createAccountsService } from '../services/accounts.service.js'
import { createObjectTypesService } from '../services/object-types.service.js'
import { createRecordsService } from '../services/records.service.js'
import { createRecordsBatchService } from '../services/records-batch.service.js'
import { createAssociationTypesService, seedHubspotTypes } from '../services/association-types.service.js'
import { createAssociationsService } from '../services/associations.service.js'
import { createLimitsService } from '../services/limits.service.js'
import { createRecordAssociationsService } from '../services/record-associations.service.js'
import { createAssociationsBatchService } from '../services/associations-batch.service.js'
import { insertAssociationTypes } from '../repositories/association-types.repository.js'

export function createServices (db: Kysely<Database>, config: Config) {
  const objectTypes = createObjectTypesService(db)
  const associationTypes = createAssociationTypesService(db, objectTypes, config)
  const associations = createAssociationsService(db, associationTypes, config)
  // Archiving a record removes its associations on both sides in the same transaction.
  const records = createRecordsService(db, objectTypes, [associations.onRecordArchived])
  const limits = createLimitsService(db, associationTypes, config)
  // Every new account gets the HUBSPOT_DEFINED association types in the same transaction.
  const accounts = createAccountsService(db, [async (trx, accountId) => { await insertAssociationTypes(trx, seedHubspotTypes(accountId)) }])
  const recordAssociations = createRecordAssociationsService(db, objectTypes, associationTypes)
  const associationsBatch = createAssociationsBatchService(db, associationTypes, config)
  // Record creation (single and batch, with inline associations) and the other record batches.
  const recordsBatch = createRecordsBatchService(db, objectTypes, associationTypes, associationsBatch, config)
  return { accounts, objectTypes, records, associationTypes, associations, limits, recordAssociations, associationsBatch, recordsBatch }
}

export type Services = ReturnType<typeof createServices>

declare module 'fastify' {
  interface FastifyInstance { services: Services }
}

export default fp<{ config: Config }>(async (app, opts) => {
  app.decorate('services', createServices(app.db, opts.config))
}, { name: 'services', dependencies: ['db'] })
