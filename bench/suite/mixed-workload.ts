// A LinkBench-style mix (Armstrong et al., SIGMOD 2013, the production mix of Facebook's social graph): each request
// draws its operation by weight. Its baseline is the weighted harmonic mean of the operations' own baselines: the
// rate the baselines would reach serving the same mix one request at a time.
import type autocannon from 'autocannon'
import type { Layout } from './layout.js'
import { httpOperation, type Operation } from './measure.js'
import { AUTH_HEADERS, JSON_HEADERS, labelBody, pagePath, pairPath, pathsFor, putDefaultPath } from './service-operations.js'

export interface MixEntry { name: string, weight: number, baseline: string, request: () => autocannon.Request }

export function mixEntries (layout: Layout, labelId: number): MixEntry[] {
  const p = pathsFor(layout)
  return [
    { name: 'list (GET page of 100)', weight: 67, baseline: 'thinPage100', request: () => ({ method: 'GET', headers: AUTH_HEADERS, path: pagePath(p.regularContact(), 100) }) },
    { name: 'add (PUT default, new pair)', weight: 12, baseline: 'pgInsertPair', request: () => ({ method: 'PUT', headers: AUTH_HEADERS, path: putDefaultPath(p.newPair()) }) },
    { name: 'update labels (PUT labelled, existing pair)', weight: 10.5, baseline: 'pgInsertPair', request: () => ({ method: 'PUT', headers: JSON_HEADERS, path: pairPath(p.existingPair()), body: labelBody(labelId) }) },
    // The v4 wire has no count call: a client counts a record's associations by listing them at the largest page.
    { name: 'count (GET page of 500, counted)', weight: 6.4, baseline: 'pgCount', request: () => ({ method: 'GET', headers: AUTH_HEADERS, path: pagePath(p.regularContact(), 500) }) },
    { name: 'delete (DELETE pair)', weight: 4, baseline: 'pgDeletePair', request: () => ({ method: 'DELETE', headers: AUTH_HEADERS, path: pairPath(p.existingPair()) }) },
    { name: 'get (GET primary company)', weight: 0.7, baseline: 'pgGetPrimary', request: () => ({ method: 'GET', headers: AUTH_HEADERS, path: `/crm/v4/objects/contacts/${p.regularContact()}/primary/companies` }) }
  ]
}

function draw (entries: MixEntry[]): MixEntry {
  const total = entries.reduce((n, e) => n + e.weight, 0)
  let x = Math.random() * total
  for (const e of entries) {
    x -= e.weight
    if (x < 0) return e
  }
  return entries[entries.length - 1] as MixEntry
}

export function mixedOperation (layout: Layout, labelId: number, connections: number): Operation {
  const entries = mixEntries(layout, labelId)
  return httpOperation('mixed', 'mixed LinkBench-style workload', {
    requests: [{ setupRequest: (r) => ({ ...r, ...draw(entries).request() }) }]
  }, connections)
}

/** 1 / sum(w_i / b_i) with weights normalised: the mix's rate if each operation ran at its baseline's rate. */
export function weightedHarmonicMean (entries: MixEntry[], rateOf: (key: string) => number): number {
  const total = entries.reduce((n, e) => n + e.weight, 0)
  return 1 / entries.reduce((s, e) => s + (e.weight / total) / rateOf(e.baseline), 0)
}
