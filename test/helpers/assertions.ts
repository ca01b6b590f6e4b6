// Shared assertions: the HubSpot error body (API.md §2.9) with its exact content type and correlation id.
import type { LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** Asserts a non-2xx answer in HubSpot's error shape and returns its body. */
export function expectError (t: Test, res: LightMyRequestResponse, status: number, category: string): Record<string, any> {
  t.equal(res.statusCode, status, `status ${status}: ${res.body.slice(0, 300)}`)
  t.equal(res.headers['content-type'], 'application/json;charset=utf-8')
  const body = res.json() as Record<string, any>
  t.match(body, { status: 'error', message: String, correlationId: UUID, category })
  t.equal(res.headers['x-hubspot-correlation-id'], body.correlationId)
  return body
}
