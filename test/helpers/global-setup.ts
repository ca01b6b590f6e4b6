// tap `before`: on PostgreSQL, creates the migrated template database that every test file clones.
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { migrateToLatest } from '../../src/db/migrator.js'
import { databaseUrl, postgresReachable, TEST_DATABASE_URL, templateName, withAdminClient } from './engine.js'

if (await postgresReachable()) {
  const name = templateName()
  await withAdminClient(async (client) => {
    // One setup at a time (two test runs on one machine): the advisory lock serialises template creation.
    await client.query('select pg_advisory_lock(424242)')
    try {
      const exists = await client.query('select 1 from pg_database where datname = $1', [name])
      if (exists.rowCount === 0) {
        await client.query(`create database "${name}"`)
        const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: databaseUrl(name), max: 1 }) }) })
        try {
          await migrateToLatest(db)
        } catch (err) {
          await db.destroy()
          await client.query(`drop database if exists "${name}"`)
          throw err
        }
        await db.destroy()
      }
    } finally {
      await client.query('select pg_advisory_unlock(424242)')
    }
  })
  process.stdout.write(`# tests run on PostgreSQL (${TEST_DATABASE_URL.replace(/\/\/[^@]*@/, '//')}), template ${name}\n`)
} else {
  process.stdout.write('# tests run on PGlite (embedded PostgreSQL): no PostgreSQL reachable or TEST_ENGINE=pglite\n')
}
