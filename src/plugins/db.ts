// Database plugin: opens PostgreSQL or PGlite, runs migrations, decorates `db`; destroys it on close.
import fp from 'fastify-plugin'
import type { Kysely } from 'kysely'
import type { Config } from '../config.js'
import type { Database } from '../db/schema.js'
import { openDatabase, type DatabaseHandle, type Engine } from '../db/database.js'
import { migrateToLatest } from '../db/migrator.js'

declare module 'fastify' {
  interface FastifyInstance {
    db: Kysely<Database>
    dbEngine: Engine
    dbHandle: DatabaseHandle
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
  app.decorate('db', handle.db)
  app.decorate('dbEngine', handle.engine)
  app.decorate('dbHandle', handle)
}, { name: 'db' })
