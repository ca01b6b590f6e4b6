// With a read replica (READ_DATABASE_URL): GET requests read from it, and a write's account reads from the primary
// until the replica has replayed that write. Registered after auth, inside the API scope; does nothing without one.
import fp from 'fastify-plugin'

export default fp(async (app) => {
  const replica = app.readReplica
  if (replica === undefined) return
  // A callback hook, so the rest of the request (later hooks, the handler) runs inside the routing context.
  app.addHook('preHandler', (request, _reply, done) => {
    if (request.method === 'GET' || request.method === 'HEAD') replica.readAs(request.principal.accountId, done)
    else done()
  })
  // Before the answer leaves: the caller's next read, sent after it has this answer, must see the write.
  app.addHook('onSend', async (request, reply, payload) => {
    const wrote = request.method !== 'GET' && request.method !== 'HEAD' && (reply.statusCode < 400 || reply.statusCode >= 500)
    // No principal when the request was refused before authentication (load shedding).
    const accountId = (request.principal as { accountId: number } | null)?.accountId
    if (wrote && accountId !== undefined) await replica.noteWrite(accountId)
    return payload
  })
}, { name: 'read-routing', dependencies: ['db', 'auth'] })
