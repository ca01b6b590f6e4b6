// Wire schemas of the admin endpoints: accounts and API keys.
import { Type, type Static } from '@sinclair/typebox'
import { KEY_LIMIT_MAX, SCOPES } from '../lib/api-keys.js'
import { ref } from './common.schemas.js'

// An enum rather than a union of literals: an unknown scope is then one clear error listing the allowed values.
const ScopeSchema = Type.Unsafe<typeof SCOPES[number]>({ type: 'string', enum: [...SCOPES], description: 'A permission of an API key' })

export const ApiKeySchema = Type.Object({
  id: Type.String(),
  accountId: Type.String(),
  name: Type.String(),
  prefix: Type.String({ description: 'First characters of the key, to recognise it' }),
  scopes: Type.Array(Type.String()),
  createdAt: Type.String({ format: 'date-time' }),
  lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  rateLimitBurstPer10s: Type.Union([Type.Integer(), Type.Null()], { description: 'Calls per 10 s rolling window for this key; null = the service default (RATE_LIMIT_BURST_PER_10S)' }),
  rateLimitDaily: Type.Union([Type.Integer(), Type.Null()], { description: 'Calls per UTC day for this key; null = the service default (RATE_LIMIT_DAILY)' })
}, { $id: 'ApiKey' })

export const CreatedApiKeySchema = Type.Composite([ApiKeySchema, Type.Object({
  key: Type.String({ description: 'The secret key. Shown once: only its hash is stored' })
})], { $id: 'CreatedApiKey' })

export const ApiKeyCreateSchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 200 }),
  scopes: Type.Array(ScopeSchema, { minItems: 1, uniqueItems: true })
}, { $id: 'ApiKeyCreate' })

export type ApiKeyCreate = Static<typeof ApiKeyCreateSchema>

// `nullable` rather than a union with null: with coerceTypes Ajv would turn 0 into null in the null branch.
const KeyLimit = (description: string) => Type.Optional(Type.Unsafe<number | null>({ type: 'integer', minimum: 1, maximum: KEY_LIMIT_MAX, nullable: true, description }))

// At least one field; a field left out keeps its value, null puts it back to the service default.
export const ApiKeyUpdateSchema = Type.Object({
  rateLimitBurstPer10s: KeyLimit('Calls per 10 s rolling window for this key; null = the service default'),
  rateLimitDaily: KeyLimit('Calls per UTC day for this key; null = the service default')
}, { $id: 'ApiKeyUpdate', additionalProperties: false, minProperties: 1 })

export const AccountSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  isOperator: Type.Boolean({ description: 'The operator account manages every account' }),
  createdAt: Type.String({ format: 'date-time' })
}, { $id: 'Account' })

export const AccountCreateSchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 200 })
}, { $id: 'AccountCreate' })

export const CreatedAccountSchema = Type.Object({
  account: ref(AccountSchema),
  key: ref(CreatedApiKeySchema)
}, { $id: 'CreatedAccount' })

export const AccountListSchema = Type.Object({
  results: Type.Array(ref(AccountSchema))
}, { $id: 'CollectionResponseAccount' })

export const ApiKeyListSchema = Type.Object({
  results: Type.Array(ref(ApiKeySchema))
}, { $id: 'CollectionResponseApiKey' })

export const ADMIN_SCHEMAS = [ApiKeySchema, CreatedApiKeySchema, ApiKeyCreateSchema, ApiKeyUpdateSchema, AccountSchema, AccountCreateSchema, CreatedAccountSchema, AccountListSchema, ApiKeyListSchema]
