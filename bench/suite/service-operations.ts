// The service's operations as autocannon runs: which record each request touches is drawn at random from the layout,
// so reads spread over the table and writes mostly create new pairs (as the pgbench scripts of bench/sql/suite-*.sql).
import type autocannon from 'autocannon'
import { encodeCursor } from '../../src/lib/paging.js'
import { api, KEY } from '../lib.js'
import { companyId, companyOf, contactId, HUB_SIZE, random, type Layout } from './layout.js'
import { httpOperation, type Operation } from './measure.js'

export const AUTH_HEADERS = { authorization: `Bearer ${KEY}` }
// Only requests with a body say JSON: Fastify answers 400 to a PUT or DELETE declaring JSON with an empty body.
export const JSON_HEADERS = { ...AUTH_HEADERS, 'content-type': 'application/json' }
const OBJECTS = '/crm/v4/objects/contacts'
const BATCH = '/crm/v4/associations/contacts/companies/batch'

export interface Paths {
  regularContact: () => number
  /** An existing pair of a regular contact: one of its loaded companies other than the primary. */
  existingPair: () => [number, number]
  newPair: () => [number, number]
  hub: () => number
}

export function pathsFor (layout: Layout): Paths {
  return {
    regularContact: () => contactId(random(layout.regular)),
    existingPair: () => {
      const i = random(layout.regular)
      return [contactId(i), companyId(companyOf(layout, i, 1 + random(99)))]
    },
    newPair: () => [contactId(random(layout.regular)), companyId(random(layout.companies))],
    hub: () => layout.hubs[random(layout.hubs.length)] as number
  }
}

type Setup = (req: autocannon.Request) => autocannon.Request

/** Removes the associations a run left on `contact` beyond its first `held` companies (runs end between PUT and DELETE). */
async function removeAfter (contact: number, held: number): Promise<void> {
  for (;;) {
    const page = await api('GET', pagePath(contact, 500, companyId(held - 1))) as { results: Array<{ toObjectId: number | string }> }
    if (page.results.length === 0) return
    for (const r of page.results) await api('DELETE', pairPath([contact, Number(r.toObjectId)]))
  }
}

export const pagePath = (contact: number, limit: number, after?: number): string =>
  `${OBJECTS}/${contact}/associations/companies?limit=${limit}${after === undefined ? '' : `&after=${encodeCursor({ to: after })}`}`
export const putDefaultPath = ([c, k]: [number, number]): string => `${OBJECTS}/${c}/associations/default/companies/${k}`
export const pairPath = ([c, k]: [number, number]): string => `${OBJECTS}/${c}/associations/companies/${k}`
export const labelBody = (labelId: number): string => JSON.stringify([{ associationCategory: 'USER_DEFINED', associationTypeId: labelId }])

/** Pairs for one batch: consecutive contacts, companies 7 apart (distinct within the batch), as suite-batch-100.sql. */
export function batchPairs (layout: Layout, n: number): Array<[number, number]> {
  const c = random(layout.regular)
  const k = random(layout.companies)
  return Array.from({ length: n }, (_, g) => [contactId((c + g) % layout.regular), companyId((k + g * 7) % layout.companies)])
}

/** `slowRequests`: requests per run of the operations whose requests take seconds (a batch read answers 27 MB). */
export function serviceOperations (layout: Layout, labelId: number, connections: number, slowRequests: number): Operation[] {
  const p = pathsFor(layout)
  const get = (path: () => string): Partial<autocannon.Options> => ({ requests: [{ method: 'GET', setupRequest: (r) => ({ ...r, path: path() }) }] })
  const send = (method: 'PUT' | 'POST', setup: Setup, json = true): Partial<autocannon.Options> => ({ requests: [{ method, headers: json ? JSON_HEADERS : AUTH_HEADERS, setupRequest: setup }] })
  // Batches use as many connections as pgbench has clients (8), the figure they are compared with.
  const batchConnections = 8
  const batchCreate = (n: number): Setup => (r) => ({
    ...r,
    path: `${BATCH}/create`,
    body: JSON.stringify({ inputs: batchPairs(layout, n).map(([c, k]) => ({ from: { id: String(c) }, to: { id: String(k) }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 279 }] })) })
  })
  // Add then remove a company not yet held, per connection: the record's count stays within `connections` of its
  // loaded value, so the near-cap record never passes the cap, and every PUT is a new pair that the cap check sees.
  const addRemove = (contact: number, held: number): Partial<autocannon.Options> => ({
    requests: [
      { method: 'PUT', setupRequest: (r, context) => { (context as { k?: number }).k = companyId(held + random(layout.companies - held)); return { ...r, path: putDefaultPath([contact, (context as { k: number }).k]) } } },
      { method: 'DELETE', setupRequest: (r, context) => ({ ...r, path: pairPath([contact, (context as { k: number }).k]) }) }
    ]
  })
  return [
    httpOperation('page100', 'GET page of 100 (random contact)', get(() => pagePath(p.regularContact(), 100)), connections),
    httpOperation('page500', 'GET page of 500 (hub, first page)', get(() => pagePath(p.hub(), 500)), connections),
    httpOperation('hubFirst', 'GET page of 100 (hub, first page)', get(() => pagePath(p.hub(), 100)), connections),
    httpOperation('deepPage', 'GET page of 100 (hub, cursor at random depth)', get(() => pagePath(p.hub(), 100, companyId(random(HUB_SIZE - 100)))), connections),
    httpOperation('putDefault', 'PUT default association (new pair)', send('PUT', (r) => ({ ...r, path: putDefaultPath(p.newPair()) }), false), connections),
    httpOperation('putLabelled', 'PUT labelled association (new pair)', send('PUT', (r) => ({ ...r, path: pairPath(p.newPair()), body: labelBody(labelId) })), connections),
    { ...httpOperation('putNearCap', `PUT + DELETE on a record holding ${layout.nearCapCount.toLocaleString('en')}-10,000`, addRemove(layout.nearCap, layout.nearCapCount), connections), prepare: async () => { await removeAfter(layout.nearCap, layout.nearCapCount) } },
    { ...httpOperation('putLight', 'PUT + DELETE on a record holding 100-150', addRemove(layout.light, 100), connections), prepare: async () => { await removeAfter(layout.light, 100) } },
    httpOperation('setPrimary', 'PUT primary company (an associated one)', send('PUT', (r) => {
      const [c, k] = p.existingPair()
      return { ...r, path: `${OBJECTS}/${c}/primary/companies/${k}` }
    }, false), connections),
    httpOperation('batch100', 'batch create, 100 pairs per request', send('POST', batchCreate(100)), batchConnections, { unit: 'rows/s', perRequest: 200 }),
    httpOperation('batch2000', 'batch create, 2,000 pairs per request', send('POST', batchCreate(2000)), batchConnections, { unit: 'rows/s', perRequest: 4000 }),
    httpOperation('batchRead', 'batch read, 1,000 contacts x 100 companies', send('POST', (r) => {
      const c = random(layout.regular - 1000)
      return { ...r, path: `${BATCH}/read`, body: JSON.stringify({ inputs: Array.from({ length: 1000 }, (_, i) => ({ id: String(contactId(c + i)) })) }) }
    }), 1, { requests: slowRequests }),
    // Seconds per request on this data (23 s at 10M rows): one connection, one request per run, beside pgbench's
    // single client on PostgreSQL's own plan for the same question.
    httpOperation('search', 'search contacts by associated company (100)', send('POST', (r) => ({ ...r, path: '/crm/v3/objects/contacts/search', body: searchBody(companyId(random(layout.companies)), 'companies', 100) })), 1, { requests: 1 })
  ]
}

/** Records associated with record `id` of `toObjectType` (the search extension), `limit` per page; `total` counts them. */
export function searchBody (id: number, toObjectType: string, limit: number): string {
  return JSON.stringify({ associations: [{ toObjectType, quantifier: 'ANY', filters: [{ propertyName: 'hs_object_id', operator: 'EQ', value: String(id) }] }], limit })
}
