// Builds every service once from the database and config, and decorates them as `services`.
import fp from 'fastify-plugin'
import type { Kysely } from 'kysely'
import type { Config } from '../config.js'
import type { Database } from '../db/schema.js'
import { createAccountsService } from '../services/accounts.service.js'
import { createObjectTypesService } from '../services/object-types.service.js'
import { createRecordsService } from '../services/records.service.js'
import { createRecordsBatchService } from '../services/records-batch.service.js'
import { createSearchService } from '../services/search.service.js'
import { createAssociationTypesService, seedHubspotTypes } from '../services/association-types.service.js'
import { createAssociationsService } from '../services/associations.service.js'
import { createLimitsService } from '../services/limits.service.js'
import { createRecordAssociationsService } from '../services/record-associations.service.js'
import { createAssociationsBatchService } from '../services/associations-batch.service.js'
import { insertAssociationTypes } from '../repositories/association-types.repository.js'
import { createUsageReportsService } from '../services/usage-reports.service.js'
import { createStatisticsKeeper } from '../services/statistics.service.js'
import { createImportApplier } from '../services/import-applier.service.js'
import { createImportRunner, type RunnerLog } from '../services/import-runner.js'
import { createImportsService } from '../services/imports.service.js'
import { createEventsService } from '../services/events.service.js'
import { createWebhooksService } from '../services/webhooks.service.js'
import { createWebhookDispatcher } from '../services/webhook-dispatcher.js'
import { traceServices } from '../lib/service-spans.js'

export interface ServicesOptions {
  /** Where the import runner logs; silent by default (CLIs, tests that build services by hand). */
  log?: RunnerLog
  /** PGlite: one process per database (the import runner resumes PROCESSING imports at once). */
  singleProcess?: boolean
  /** The import runner runs this import only (the import CLI). */
  onlyImport?: { accountId: number, id: number }
  /** Where the webhook dispatcher logs; silent by default. */
  webhookLog?: RunnerLog
  /** Told the row count of every import chunk committed (metrics). */
  onImportRowsApplied?: (rows: number) => void
}

const silentLog: RunnerLog = { info () {}, warn () {}, error () {} }
const STATISTICS_CHECK_MS = 60_000

export function createServices (db: Kysely<Database>, config: Config, options: ServicesOptions = {}) {
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
  // Imports: the applier (rows -> records, associations, labels), the job runner (started by the plugin below, not
  // here) and the API service.
  const importApplier = createImportApplier(db, { objectTypes, associationTypes, associationsBatch })
  // Bulk loads outrun the planner's statistics when autovacuum is off: the runner lets this refresh them after chunks.
  const statistics = createStatisticsKeeper(db, options.log ?? silentLog)
  const importRunner = createImportRunner(db, config, importApplier, { log: options.log ?? silentLog, singleProcess: options.singleProcess, only: options.onlyImport, onRowsApplied: options.onImportRowsApplied, afterChunk: statistics.checkAfterWrite })
  const imports = createImportsService(db, config, importApplier, importRunner)
  // The change feed (events are appended by the association writes above) and webhooks: the API, and the worker
  // (started by the plugin below, not here).
  const events = createEventsService(db, config)
  const webhooks = createWebhooksService(db)
  const webhookDispatcher = createWebhookDispatcher(db, config, { log: options.webhookLog ?? silentLog, singleProcess: options.singleProcess })
  const usageReports = createUsageReportsService(db, config)
  const search = createSearchService(db, objectTypes)
  return { accounts, objectTypes, records, associationTypes, associations, limits, recordAssociations, associationsBatch, recordsBatch, importApplier, importRunner, imports, usageReports, search, events, webhooks, webhookDispatcher, statistics }
}

export type Services = ReturnType<typeof createServices>

declare module 'fastify' {
  interface FastifyInstance { services: Services }
}

export default fp<{ config: Config }>(async (app, opts) => {
  const services = createServices(app.db, opts.config, {
    log: app.log.child({ component: 'import-runner' }),
    webhookLog: app.log.child({ component: 'webhooks' }),
    singleProcess: app.dbEngine === 'pglite',
    onImportRowsApplied: (rows) => { app.appMetrics.importRowsApplied.inc(rows) }
  })
  // With OpenTelemetry on (src/telemetry.ts), the routes call each service through a span; otherwise as they are.
  app.decorate('services', traceServices(services))
  // The import runner works while the app is up; on close it stops at a chunk boundary before the database closes.
  app.addHook('onReady', async () => { await services.importRunner.start() })
  app.addHook('preClose', async () => { await services.importRunner.stop() })
  // The webhook worker and the event retention purge likewise: started when ready, stopped before the database closes.
  app.addHook('onReady', async () => {
    await services.webhookDispatcher.start()
    services.events.startPurge(app.log.child({ component: 'event-purge' }))
  })
  app.addHook('preClose', async () => { await Promise.all([services.webhookDispatcher.stop(), services.events.stopPurge()]) })
  // Planner statistics of the hot tables, checked every minute (acts only when autovacuum is off).
  app.addHook('onReady', async () => { services.statistics.start(STATISTICS_CHECK_MS) })
  app.addHook('preClose', async () => { await services.statistics.stop() })
}, { name: 'services', dependencies: ['db', 'app-metrics'] })
