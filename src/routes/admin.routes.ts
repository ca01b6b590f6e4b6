// Admin endpoints (scope admin): accounts and their API keys. Only the operator account sees other accounts.
import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ref, standardErrorResponses } from '../schemas/common.schemas.js'
import {
  AccountCreateSchema, AccountListSchema, AccountSchema, ApiKeyCreateSchema, ApiKeyListSchema, ApiKeySchema,
  ApiKeyUpdateSchema, CreatedAccountSchema, CreatedApiKeySchema
} from '../schemas/admin.schemas.js'
import { MissingScopesError, withDetails } from '../errors.js'

const AccountParams = Type.Object({ accountId: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) })
const KeyParams = Type.Object({
  accountId: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
  keyId: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })
})
const NoQuery = Type.Object({}, { additionalProperties: false })
const ListQuery = Type.Object({
  after: Type.Optional(Type.Integer({ minimum: 0 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 100 }))
}, { additionalProperties: false })

const adminRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { accounts } = app.services

  // POST /admin/v1/accounts: operator only; returns the new account's first admin key once.
  app.post('/admin/v1/accounts', {
    // The answer holds the new key's secret: an Idempotency-Key retry learns the status only.
    config: { scope: 'admin', idempotency: 'status-only' },
    schema: {
      operationId: 'admin-accounts-create', tags: ['Admin'], summary: 'Create an account (operator only)',
      querystring: NoQuery, body: ref(AccountCreateSchema),
      response: { 201: ref(CreatedAccountSchema), ...standardErrorResponses }
    }
  }, async (request, reply) => {
    if (!request.principal.isOperator) {
      throw withDetails(new MissingScopesError('admin (operator account)'), { context: { requiredScopes: ['admin'] } })
    }
    return await reply.status(201).send(await accounts.createAccount(request.body.name))
  })

  // GET /admin/v1/accounts
  app.get('/admin/v1/accounts', {
    config: { scope: 'admin' },
    schema: {
      operationId: 'admin-accounts-list', tags: ['Admin'], summary: 'List accounts (others\' only for the operator)',
      querystring: ListQuery,
      response: { 200: ref(AccountListSchema), ...standardErrorResponses }
    }
  }, async (request) => ({
    results: await accounts.listAccounts(request.principal, request.query.after ?? 0, request.query.limit ?? 100)
  }))

  // GET /admin/v1/accounts/{accountId}
  app.get('/admin/v1/accounts/:accountId', {
    config: { scope: 'admin' },
    schema: {
      operationId: 'admin-accounts-get', tags: ['Admin'], summary: 'Read an account',
      params: AccountParams, querystring: NoQuery,
      response: { 200: ref(AccountSchema), ...standardErrorResponses }
    }
  }, async (request) => await accounts.getAccount(request.principal, request.params.accountId))

  // GET /admin/v1/accounts/{accountId}/keys
  app.get('/admin/v1/accounts/:accountId/keys', {
    config: { scope: 'admin' },
    schema: {
      operationId: 'admin-keys-list', tags: ['Admin'], summary: 'List an account\'s API keys (never the secrets)',
      params: AccountParams, querystring: NoQuery,
      response: { 200: ref(ApiKeyListSchema), ...standardErrorResponses }
    }
  }, async (request) => ({ results: await accounts.listKeys(request.principal, request.params.accountId) }))

  // POST /admin/v1/accounts/{accountId}/keys
  app.post('/admin/v1/accounts/:accountId/keys', {
    // The answer holds the new key's secret: an Idempotency-Key retry learns the status only.
    config: { scope: 'admin', idempotency: 'status-only' },
    schema: {
      operationId: 'admin-keys-create', tags: ['Admin'], summary: 'Create an API key; the secret is in this answer only',
      params: AccountParams, querystring: NoQuery, body: ref(ApiKeyCreateSchema),
      response: { 201: ref(CreatedApiKeySchema), ...standardErrorResponses }
    }
  }, async (request, reply) => {
    const key = await accounts.createKey(request.principal, request.params.accountId, request.body.name, request.body.scopes)
    return await reply.status(201).send(key)
  })

  // DELETE /admin/v1/accounts/{accountId}/keys/{keyId}: revoked keys are refused from the next request on.
  app.delete('/admin/v1/accounts/:accountId/keys/:keyId', {
    config: { scope: 'admin' },
    schema: {
      operationId: 'admin-keys-revoke', tags: ['Admin'], summary: 'Revoke an API key',
      params: KeyParams, querystring: NoQuery,
      response: { 200: ref(ApiKeySchema), ...standardErrorResponses }
    }
  }, async (request) => await accounts.revokeKey(request.principal, request.params.accountId, request.params.keyId))

  // PATCH /admin/v1/accounts/{accountId}/keys/{keyId}: a key's own rate limits, in force from its next request.
  app.patch('/admin/v1/accounts/:accountId/keys/:keyId', {
    config: { scope: 'admin' },
    schema: {
      operationId: 'admin-keys-update', tags: ['Admin'], summary: 'Set or clear an API key\'s own rate limits',
      params: KeyParams, querystring: NoQuery, body: ref(ApiKeyUpdateSchema),
      response: { 200: ref(ApiKeySchema), ...standardErrorResponses }
    }
  }, async (request) => await accounts.setKeyLimits(request.principal, request.params.accountId, request.params.keyId, {
    burstPer10s: request.body.rateLimitBurstPer10s, daily: request.body.rateLimitDaily
  }))
}

export default adminRoutes
