// build(t): the app on the file's own database, with an admin key for the operator account; closed on teardown.
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import { buildApp } from '../../src/app.js'
import { loadConfig, type Config } from '../../src/config.js'
import { createTestDatabase, type TestDatabase } from './db.js'

export interface TestApp {
  app: FastifyInstance
  database: TestDatabase
  adminKey: string
  accountId: number
  /** inject() with the admin key unless `headers.authorization` is given. */
  request: (opts: InjectOptions & { key?: string | null }) => Promise<LightMyRequestResponse>
}

export const TEST_ADMIN_KEY = 'aak_test_admin_key_0123456789abcdef'

/** Any tap test object: only its teardown is used. */
export interface Teardown { teardown: (fn: () => unknown) => void }

export async function build (t: Teardown, overrides: Partial<Config> = {}): Promise<TestApp> {
  const database = await createTestDatabase(overrides.DB_POOL_MAX ?? 10)
  // Suites make thousands of calls per file with one key: limits far above that unless a test sets its own.
  const config = loadConfig({}, {
    LOG_LEVEL: 'silent',
    DOCS_ENABLED: true,
    RATE_LIMIT_BURST_PER_10S: 1_000_000_000,
    RATE_LIMIT_DAILY: 1_000_000_000,
    ...overrides
  })
  const app = await buildApp(config, { database: database.handle, logger: false })
  t.teardown(async () => {
    await app.close()
    await database.drop()
  })
  const boot = await app.services.accounts.bootstrap(TEST_ADMIN_KEY)
  const request = async (opts: InjectOptions & { key?: string | null }): Promise<LightMyRequestResponse> => {
    const { key, ...rest } = opts
    const headers: Record<string, string> = { ...(rest.headers as Record<string, string> | undefined) }
    if (key !== null && headers.authorization === undefined) headers.authorization = `Bearer ${key ?? TEST_ADMIN_KEY}`
    return await app.inject({ ...rest, headers })
  }
  return { app, database, adminKey: TEST_ADMIN_KEY, accountId: boot.accountId, request }
}

/** A second account with its own admin key, for tenancy tests. */
export async function createOtherAccount (app: FastifyInstance, name = 'Other account'): Promise<{ accountId: number, key: string }> {
  const { account, key } = await app.services.accounts.createAccount(name)
  return { accountId: Number(account.id), key: key.key }
}
