// Bearer API key authentication and per-route scopes. Registered inside the API scope only (health and docs stay open).
import fp from 'fastify-plugin'
import { MissingScopesError, UnauthenticatedError, withDetails } from '../errors.js'
import type { Principal } from '../services/accounts.service.js'
import type { Scope } from '../lib/api-keys.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scope a key needs for this route. */
    scope?: Scope
  }
  interface FastifyRequest {
    principal: Principal
  }
}

export default fp(async (app) => {
  app.decorateRequest('principal', null as unknown as Principal)
  app.addHook('onRequest', async (request, reply) => {
    const header = request.headers.authorization
    const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header)
    if (match === null) {
      throw new UnauthenticatedError('Authentication credentials not found: send an API key as "Authorization: Bearer <key>"')
    }
    request.principal = await app.services.accounts.authenticate(match[1] as string, request.log)
    // Every later line of the request, "request completed" included (written through reply.log), names the account.
    request.log = request.log.child({ accountId: request.principal.accountId })
    reply.log = request.log
    const scope = request.routeOptions.config.scope
    if (scope !== undefined && !request.principal.scopes.includes(scope)) {
      throw withDetails(new MissingScopesError(scope), { context: { requiredScopes: [scope] } })
    }
  })
}, { name: 'auth', dependencies: ['services'] })
