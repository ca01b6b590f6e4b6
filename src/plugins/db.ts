// Database plugin: opens PostgreSQL or PGlite, runs migrations, decorates `db`; destroys it on close.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import type { Config } from '../config.js'
import type { Database } from '../db/schema.js'
import { openDatabase, type DatabaseHandle, type Engine } from '../db/database.js'
import { migrateToLatest } from '../db/migrator.js'
import { ReadReplica, routingDatabase } from '../db/read-replica.js'

declare module 'fastify' {
  interface FastifyInstance {
    db: Kysely<Database>
    dbEngine: Engine
    dbHandle: DatabaseHandle
    /** The read replica's router when READ_DATABASE_URL is set. */
    readReplica?: ReadReplica
  }
}

export interface DbPluginOptions {
  config: Config
  /** An already open database (tests); it is still destroyed on close. */
  handle?: DatabaseHandle
  migrate?: boolean
}

export default fp<DbPluginOptions>(async (app, opts) => {
  const handle = opts.handle ?? await openDatabase({
    databaseUrl: opts.config.DATABASE_URL,
    dataDir: opts.config.DATA_DIR,
    poolMax: opts.config.DB_POOL_MAX,
    timeoutMs: opts.config.DB_TIMEOUT_MS
  })
  handle.onConnectionError((err) => { app.log.warn({ err }, 'database connection lost') })
  app.addHook('onClose', async () => { await handle.db.destroy() })
  if (opts.migrate !== false) await migrateToLatest(handle.db)
  const replica = opts.config.READ_DATABASE_URL === undefined ? undefined : await openReadReplica(app, opts.config, handle)
  // With a replica, `db` routes GET requests' reads (plugins/read-routing.ts); `dbHandle.db` is always the primary.
  app.decorate('db', replica?.db ?? handle.db)
  app.decorate('dbEngine', handle.engine)
  app.decorate('dbHandle', handle)
  app.decorate('readReplica', replica?.router)
}, { name: 'db' })

async function openReadReplica (app: FastifyInstance, config: Config, primary: DatabaseHandle): Promise<{ db: Kysely<Database>, router: ReadReplica }> {
  const handle = await openDatabase({ databaseUrl: config.READ_DATABASE_URL, dataDir: '', poolMax: config.DB_POOL_MAX, timeoutMs: config.DB_TIMEOUT_MS })
  handle.onConnectionError((err) => { app.log.warn({ err }, 'read replica connection lost') })
  const router = new ReadReplica(primary.db, handle.db, { checkMs: config.READ_REPLICA_CHECK_MS, maxLagMs: config.READ_REPLICA_MAX_LAG_MS }, app.log)
  router.start()
  app.addHook('onClose', async () => {
    router.stop()
    await handle.db.destroy()
  })
  return { db: routingDatabase(primary, handle, router), router }
}
