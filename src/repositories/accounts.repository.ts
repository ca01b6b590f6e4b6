// SQL for accounts and API keys.
import type { Executor } from '../db/executor.js'
import type { AccountRow, ApiKeyRow, NewApiKeyRow } from '../db/schema.js'

export async function insertAccount (db: Executor, name: string, isOperator: boolean): Promise<AccountRow> {
  return await db.insertInto('accounts').values({ name, is_operator: isOperator }).returningAll().executeTakeFirstOrThrow()
}

export async function findAccount (db: Executor, id: number): Promise<AccountRow | undefined> {
  return await db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst()
}

export async function findOperatorAccount (db: Executor): Promise<AccountRow | undefined> {
  return await db.selectFrom('accounts').selectAll().where('is_operator', '=', true).orderBy('id').limit(1).executeTakeFirst()
}

export async function listAccounts (db: Executor, afterId: number, limit: number): Promise<AccountRow[]> {
  return await db.selectFrom('accounts').selectAll().where('id', '>', afterId).orderBy('id').limit(limit).execute()
}

export async function insertApiKey (db: Executor, key: NewApiKeyRow): Promise<ApiKeyRow> {
  return await db.insertInto('api_keys').values(key).returningAll().executeTakeFirstOrThrow()
}

export interface ActiveKey {
  id: number
  account_id: number
  scopes: string[]
  last_used_at: Date | null
  is_operator: boolean
  rate_limit_burst_per_10s: number | null
  rate_limit_daily: number | null
}

export async function findActiveKeyByHash (db: Executor, secretHash: string): Promise<ActiveKey | undefined> {
  return await db.selectFrom('api_keys')
    .innerJoin('accounts', 'accounts.id', 'api_keys.account_id')
    .select(['api_keys.id', 'api_keys.account_id', 'api_keys.scopes', 'api_keys.last_used_at', 'accounts.is_operator', 'api_keys.rate_limit_burst_per_10s', 'api_keys.rate_limit_daily'])
    .where('api_keys.secret_hash', '=', secretHash)
    .where('api_keys.revoked_at', 'is', null)
    .executeTakeFirst()
}

export async function touchApiKey (db: Executor, id: number): Promise<void> {
  await db.updateTable('api_keys').set({ last_used_at: new Date() }).where('id', '=', id).execute()
}

export async function listApiKeys (db: Executor, accountId: number): Promise<ApiKeyRow[]> {
  return await db.selectFrom('api_keys').selectAll().where('account_id', '=', accountId).orderBy('id').execute()
}

export async function revokeApiKey (db: Executor, accountId: number, keyId: number): Promise<ApiKeyRow | undefined> {
  return await db.updateTable('api_keys')
    .set((eb) => ({ revoked_at: eb.fn.coalesce('revoked_at', eb.fn<Date>('now')) }))
    .where('account_id', '=', accountId)
    .where('id', '=', keyId)
    .returningAll()
    .executeTakeFirst()
}

/** Sets a key's own rate limits (null = the service default); only the columns given change. */
export async function updateApiKeyLimits (db: Executor, accountId: number, keyId: number, limits: { rate_limit_burst_per_10s?: number | null, rate_limit_daily?: number | null }): Promise<ApiKeyRow | undefined> {
  return await db.updateTable('api_keys')
    .set(limits)
    .where('account_id', '=', accountId)
    .where('id', '=', keyId)
    .returningAll()
    .executeTakeFirst()
}

/** The keys of an account whose display prefix starts with `prefix` (the CLI accepts a prefix instead of an ID). */
export async function findApiKeysByPrefix (db: Executor, accountId: number, prefix: string): Promise<ApiKeyRow[]> {
  return await db.selectFrom('api_keys').selectAll()
    .where('account_id', '=', accountId)
    .where('prefix', 'like', `${prefix.replace(/[\\%_]/g, '\\$&')}%`)
    .orderBy('id').limit(2).execute()
}
