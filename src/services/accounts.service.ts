// Accounts and API keys: creation (with the standard object types), authentication, listing and revocation.
import type { Kysely } from 'kysely'
import type { Database, ApiKeyRow, AccountRow } from '../db/schema.js'
import * as accounts from '../repositories/accounts.repository.js'
import { insertObjectTypes } from '../repositories/object-types.repository.js'
import { STANDARD_OBJECT_TYPES } from '../lib/standard-object-types.js'
import { displayPrefix, generateApiKey, hashApiKey, KEY_LIMIT_MAX, SCOPES, type Scope } from '../lib/api-keys.js'
import { InvalidInputError, ObjectNotFoundError, UnauthenticatedError, withDetails } from '../errors.js'
import { inTransaction } from '../db/transaction.js'

/** Who is calling: resolved from the bearer key on every request. */
export interface Principal {
  accountId: number
  keyId: number
  scopes: readonly string[]
  isOperator: boolean
  /** This key's own limits (api_keys columns); null = the service-wide RATE_LIMIT_* values. */
  rateLimits?: { burstPer10s: number | null, daily: number | null }
}

export interface ApiKeyView {
  id: string
  accountId: string
  name: string
  prefix: string
  scopes: string[]
  createdAt: string
  lastUsedAt: string | null
  revokedAt: string | null
  /** This key's own limits; null = the service-wide RATE_LIMIT_* value. */
  rateLimitBurstPer10s: number | null
  rateLimitDaily: number | null
}

/** A change of a key's own rate limits: a number sets it, null goes back to the service default, absent keeps it. */
export interface KeyLimitsChange { burstPer10s?: number | null, daily?: number | null }

export interface CreatedKey extends ApiKeyView { key: string }

export interface AccountView { id: string, name: string, isOperator: boolean, createdAt: string }

/** Hook run inside the account-creating transaction, so later features can seed per-account data (association types). */
export type AccountSeeder = (trx: Kysely<Database>, accountId: number) => Promise<void>

// Refresh last_used_at at most once a minute per key: a write per request would double the load.
const TOUCH_INTERVAL_MS = 60_000

export function createAccountsService (db: Kysely<Database>, seeders: AccountSeeder[] = []) {
  async function createKeyIn (trx: Kysely<Database>, accountId: number, name: string, scopes: readonly string[], key = generateApiKey()): Promise<CreatedKey> {
    const row = await accounts.insertApiKey(trx, {
      account_id: accountId, name, prefix: displayPrefix(key), secret_hash: hashApiKey(key), scopes: [...scopes]
    })
    return { ...toKeyView(row), key }
  }

  async function createAccountIn (trx: Kysely<Database>, name: string, isOperator: boolean): Promise<AccountRow> {
    const account = await accounts.insertAccount(trx, name, isOperator)
    await insertObjectTypes(trx, account.id, STANDARD_OBJECT_TYPES.map((t) => ({
      typeId: t.typeId,
      name: t.name,
      singular: t.singular,
      plural: t.plural,
      uniqueProperties: t.uniqueProperties,
      properties: [],
      primaryDisplayProperty: t.primaryDisplayProperty,
      isCustom: false
    })))
    for (const seed of seeders) await seed(trx, account.id)
    return account
  }

  function assertScopes (scopes: readonly string[]): void {
    const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s))
    if (unknown.length > 0) {
      throw withDetails(new InvalidInputError(`Unknown scopes: ${unknown.join(', ')}. Known scopes: ${SCOPES.join(', ')}`), { context: { scopes: unknown } })
    }
  }

  return {
    /** Creates an account with its standard object types and a first admin key (all scopes). */
    async createAccount (name: string, options: { isOperator?: boolean, key?: string } = {}): Promise<{ account: AccountView, key: CreatedKey }> {
      return await inTransaction(db, async (trx) => {
        const account = await createAccountIn(trx, name, options.isOperator ?? false)
        const key = await createKeyIn(trx, account.id, 'admin', SCOPES, options.key)
        return { account: toAccountView(account), key }
      })
    },

    /**
     * First start: makes the operator account and its admin key, unless one exists. With `bootstrapKey` that key is
     * used (and, if the operator exists but does not hold it yet, added). Returns the key only when it was created.
     */
    async bootstrap (bootstrapKey?: string): Promise<{ created: boolean, key?: string, accountId: number }> {
      const existing = await accounts.findOperatorAccount(db)
      if (existing === undefined) {
        const { account, key } = await this.createAccount('Default account', { isOperator: true, key: bootstrapKey })
        return { created: true, key: key.key, accountId: Number(account.id) }
      }
      if (bootstrapKey !== undefined && await accounts.findActiveKeyByHash(db, hashApiKey(bootstrapKey)) === undefined) {
        await createKeyIn(db, existing.id, 'bootstrap', SCOPES, bootstrapKey)
        return { created: true, key: bootstrapKey, accountId: existing.id }
      }
      return { created: false, accountId: existing.id }
    },

    async authenticate (key: string, log?: { warn: (obj: object, msg: string) => void }): Promise<Principal> {
      const found = await accounts.findActiveKeyByHash(db, hashApiKey(key))
      if (found === undefined) throw new UnauthenticatedError('The API key provided is invalid or revoked')
      if (found.last_used_at === null || Date.now() - found.last_used_at.getTime() > TOUCH_INTERVAL_MS) {
        accounts.touchApiKey(db, found.id).catch((err: unknown) => log?.warn({ err }, 'could not record API key use'))
      }
      return {
        accountId: found.account_id,
        keyId: found.id,
        scopes: found.scopes,
        isOperator: found.is_operator,
        rateLimits: { burstPer10s: found.rate_limit_burst_per_10s, daily: found.rate_limit_daily }
      }
    },

    /** Operators see every account; others see their own. */
    async listAccounts (principal: Principal, afterId: number, limit: number): Promise<AccountView[]> {
      if (!principal.isOperator) {
        const own = await accounts.findAccount(db, principal.accountId)
        return own !== undefined && own.id > afterId ? [toAccountView(own)] : []
      }
      return (await accounts.listAccounts(db, afterId, limit)).map(toAccountView)
    },

    async getAccount (principal: Principal, accountId: number): Promise<AccountView> {
      return toAccountView(await visibleAccount(principal, accountId))
    },

    async createKey (principal: Principal, accountId: number, name: string, scopes: readonly Scope[] | readonly string[]): Promise<CreatedKey> {
      await visibleAccount(principal, accountId)
      assertScopes(scopes)
      return await inTransaction(db, async (trx) => await createKeyIn(trx, accountId, name, scopes))
    },

    async listKeys (principal: Principal, accountId: number): Promise<ApiKeyView[]> {
      await visibleAccount(principal, accountId)
      return (await accounts.listApiKeys(db, accountId)).map(toKeyView)
    },

    async revokeKey (principal: Principal, accountId: number, keyId: number): Promise<ApiKeyView> {
      await visibleAccount(principal, accountId)
      const row = await inTransaction(db, async (trx) => await accounts.revokeApiKey(trx, accountId, keyId))
      if (row === undefined) throw new ObjectNotFoundError(`No API key with ID ${keyId} exists`)
      return toKeyView(row)
    },

    /** Takes effect on the key's next request: authenticate reads the limits with the key, nothing caches them. */
    async setKeyLimits (principal: Principal, accountId: number, keyId: number, change: KeyLimitsChange): Promise<ApiKeyView> {
      if (change.burstPer10s === undefined && change.daily === undefined) throw new InvalidInputError('Give at least one limit to change')
      for (const [field, value] of Object.entries(change)) {
        if (value !== null && value !== undefined && !(Number.isInteger(value) && value >= 1 && value <= KEY_LIMIT_MAX)) {
          throw withDetails(new InvalidInputError(`${field} must be an integer from 1 to ${KEY_LIMIT_MAX}, or null for the service default`), { context: { [field]: [String(value)] } })
        }
      }
      const row = await inTransaction(db, async (trx) => {
        await visibleAccount(principal, accountId, trx)
        return await accounts.updateApiKeyLimits(trx, accountId, keyId, {
          rate_limit_burst_per_10s: change.burstPer10s, rate_limit_daily: change.daily
        })
      })
      if (row === undefined) throw new ObjectNotFoundError(`No API key with ID ${keyId} exists`)
      return toKeyView(row)
    },

    /** The one key of the account whose prefix starts with `prefix`; a full key also works (its start is the prefix). */
    async findKeyByPrefix (principal: Principal, accountId: number, prefix: string): Promise<ApiKeyView> {
      await visibleAccount(principal, accountId)
      const rows = await accounts.findApiKeysByPrefix(db, accountId, displayPrefix(prefix.replace(/…$/, '')))
      if (rows.length > 1) throw new InvalidInputError(`More than one API key of account ${accountId} starts with "${prefix}": give more characters or the key ID`)
      const [row] = rows
      if (row === undefined) throw new ObjectNotFoundError(`No API key of account ${accountId} starts with "${prefix}"`)
      return toKeyView(row)
    }
  }

  // Another account is "not found", never "forbidden": its existence is not revealed (ARCHITECTURE invariant 8).
  async function visibleAccount (principal: Principal, accountId: number, executor: Kysely<Database> = db): Promise<AccountRow> {
    const account = principal.isOperator || principal.accountId === accountId ? await accounts.findAccount(executor, accountId) : undefined
    if (account === undefined) throw new ObjectNotFoundError(`No account with ID ${accountId} exists`)
    return account
  }
}

export type AccountsService = ReturnType<typeof createAccountsService>

function toKeyView (row: ApiKeyRow): ApiKeyView {
  return {
    id: String(row.id),
    accountId: String(row.account_id),
    name: row.name,
    prefix: row.prefix,
    scopes: row.scopes,
    createdAt: row.created_at.toISOString(),
    lastUsedAt: row.last_used_at?.toISOString() ?? null,
    revokedAt: row.revoked_at?.toISOString() ?? null,
    rateLimitBurstPer10s: row.rate_limit_burst_per_10s,
    rateLimitDaily: row.rate_limit_daily
  }
}

function toAccountView (row: AccountRow): AccountView {
  return { id: String(row.id), name: row.name, isOperator: row.is_operator, createdAt: row.created_at.toISOString() }
}
