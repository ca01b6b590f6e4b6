// The system under test for the model-based fuzzer: one fresh account per fast-check run on a shared app (build()),
// called through app.inject. Compares answers with the model's expectations and the whole state at the end of a run.
import { isDeepStrictEqual } from 'node:util'
import fc from 'fast-check'
import type { LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'
import { build, type TestApp } from '../helpers/app.js'
import { createImportApplier } from '../../src/services/import-applier.service.js'
import { Model, SIDES, type Expected, type Side } from './model.js'

export interface Real {
  ta: TestApp
  key: string
  accountId: number
  /** Numbers the records' unique identifiers. */
  seq: { n: number }
  /** Over every run of the file: operations (commands) run, and requests sent (with setup and final reads). */
  counter: Counter
}

export interface Counter { ops: number, requests: number }

export class Mismatch extends Error {}

export function same (what: string, actual: unknown, expected: unknown): void {
  if (!isDeepStrictEqual(actual, expected)) {
    throw new Mismatch(`${what}\n  expected: ${JSON.stringify(expected)}\n  actual:   ${JSON.stringify(actual)}`)
  }
}

export async function call (real: Real, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown): Promise<LightMyRequestResponse> {
  real.counter.requests++
  return await real.ta.request({ method, url, key: real.key, ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}) })
}

/** Every 4xx/5xx carries the HubSpot error body (API.md §2.9). */
export function errorShape (what: string, res: LightMyRequestResponse): void {
  const body = res.json() as Record<string, unknown>
  const ok = body.status === 'error' && typeof body.message === 'string' && typeof body.correlationId === 'string' && typeof body.category === 'string'
  if (!ok) throw new Mismatch(`${what}: ${res.statusCode} without the HubSpot error shape: ${res.body}`)
}

/** Status always; body parts when the model gives them; error shape on 4xx. Returns the parsed body. */
export function expectAnswer (what: string, res: LightMyRequestResponse, expected: Expected, pick?: (body: any) => unknown): any {
  if (res.statusCode !== expected.status) {
    throw new Mismatch(`${what}: status ${res.statusCode}, expected ${expected.status}; body ${res.body}`)
  }
  if (res.statusCode >= 400) { errorShape(what, res); return undefined }
  if (res.statusCode === 204) return undefined
  const body = res.json()
  if (expected.body !== undefined) same(`${what}: body`, pick === undefined ? body : pick(body), expected.body)
  return body
}

/** A fresh account with two contacts and two companies: each run starts from the same state. */
export async function freshRun (ta: TestApp, counter: Counter, cap: number, maxLabels: number, run: number): Promise<{ model: Model, real: Real }> {
  const { account, key } = await ta.app.services.accounts.createAccount(`fuzz run ${run}`)
  const real: Real = { ta, key: key.key, accountId: Number(account.id), seq: { n: 0 }, counter }
  const model = new Model(cap, maxLabels)
  for (const side of SIDES) {
    for (let i = 0; i < 2; i++) { const [id, identifier] = await createRecord(real, side); model.createRecord(side, id, identifier) }
  }
  return { model, real }
}

/** A record with its unique identifier (email or domain); returns both. */
export async function createRecord (real: Real, side: Side): Promise<[number, string]> {
  const n = ++real.seq.n
  const [property, identifier] = side === 'contacts' ? ['email', `c${n}@fuzz.test`] : ['domain', `co${n}.fuzz.test`]
  const res = await call(real, 'POST', `/crm/v3/objects/${side}`, { properties: { [property]: identifier } })
  if (res.statusCode !== 201) throw new Mismatch(`create ${side}: ${res.statusCode} ${res.body}`)
  return [Number(res.json().id), identifier]
}

/** The whole state of the run's account against the model: both directions of every record, primaries, labels. */
export async function compareState (model: Model, real: Real): Promise<void> {
  for (const side of SIDES) {
    for (const id of [...model.alive[side], ...model.dead[side]]) {
      const toType = side === 'contacts' ? 'companies' : 'contacts'
      expectAnswer(`final: list ${side} ${id}`, await call(real, 'GET', `/crm/v4/objects/${side}/${id}/associations/${toType}`), model.list(side, id), (b) => b.results)
    }
    const labels = await call(real, 'GET', `/crm/v4/associations/${side}/${side === 'contacts' ? 'companies' : 'contacts'}/labels`)
    same(`final: labels from ${side}`, [...labels.json().results].sort((a: { typeId: number }, b: { typeId: number }) => a.typeId - b.typeId), model.labelList(side))
  }
  for (const id of model.alive.contacts) {
    expectAnswer(`final: primary of contact ${id}`, await call(real, 'GET', `/crm/v4/objects/contacts/${id}/primary/companies`), model.getPrimary('contacts', id))
  }
}

export interface FuzzOptions {
  /** The file's default seed (FUZZ_SEED overrides it). */
  seed: number
  /** Operations on PostgreSQL and on PGlite (FUZZ_OPS overrides both). */
  ops: { postgres: number, pglite: number }
  commands: Array<fc.Arbitrary<fc.AsyncCommand<Model, Real>>>
  /** Most commands in one run (one account). */
  maxCommands?: number
}

/** The small limits the model runs with, so that the per-record cap and the label cap are hit often. */
export const FUZZ_CAP = 2
export const FUZZ_MAX_LABELS = 2

/**
 * Rounds of fast-check runs (2 runs each, seed, seed + 1, ...) until the operation budget is spent. On failure the
 * message names the round's seed (FUZZ_SEED=<it> replays that round first) and fast-check's shrunk counterexample.
 */
export async function runModelFuzz (ta: TestApp, options: FuzzOptions): Promise<{ ops: number, requests: number, runs: number, seed: number, failure?: string }> {
  const engine = ta.database.handle.engine
  const seed = process.env.FUZZ_SEED !== undefined && process.env.FUZZ_SEED !== '' ? Number(process.env.FUZZ_SEED) : options.seed
  const target = process.env.FUZZ_OPS !== undefined && process.env.FUZZ_OPS !== '' ? Number(process.env.FUZZ_OPS) : options.ops[engine]
  const counter: Counter = { ops: 0, requests: 0 }
  let runs = 0
  for (let round = 0; counter.ops < target; round++) {
    const roundSeed = seed + round
    const property = fc.asyncProperty(fc.commands(options.commands, { maxCommands: options.maxCommands ?? 100, size: 'max' }), async (cmds) => {
      const run = await freshRun(ta, counter, FUZZ_CAP, FUZZ_MAX_LABELS, runs++)
      await fc.asyncModelRun(() => run, cmds)
      await compareState(run.model, run.real)
    })
    const details = await fc.check(property, { seed: roundSeed, numRuns: 2 })
    if (details.failed) {
      return { ...counter, runs, seed, failure: `model-based fuzz failed on ${engine}; replay with FUZZ_SEED=${roundSeed}\n${fc.defaultReportMessage(details) ?? ''}\n${String(details.errorInstance)}` }
    }
  }
  return { ...counter, runs, seed }
}

/** One model-based fuzz file: its own app (small caps), the budget of its engine, the outcome as a tap assertion. */
export function modelFuzzTest (t: Test, options: FuzzOptions): void {
  t.test('the API follows the association model over random operation sequences', async (t) => {
    const ta = await build(t, { MAX_ASSOCIATIONS_PER_TYPE: FUZZ_CAP, MAX_LABELS_PER_PAIR: FUZZ_MAX_LABELS })
    const started = Date.now()
    const cpu = process.cpuUsage()
    const outcome = await runModelFuzz(ta, options)
    const used = process.cpuUsage(cpu)
    t.comment(`${outcome.ops} operations (${outcome.requests} requests) in ${outcome.runs} runs, seed ${outcome.seed}, ` +
      `${Date.now() - started} ms (${Math.round((used.user + used.system) / 1000)} ms CPU in this process) on ${ta.database.handle.engine}`)
    if (outcome.failure !== undefined) {
      t.comment(outcome.failure)
      t.fail('the API departed from the model (seed and shrunk counterexample above)')
    } else {
      t.pass(`${outcome.ops} operations matched the model`)
    }
  })
}

const IMPORT_REQUEST = {
  name: 'fuzz import',
  files: [{
    fileName: 'rows.csv',
    fileFormat: 'CSV',
    fileImportPage: {
      hasHeader: true,
      columnMappings: [
        { columnObjectTypeId: '0-1', columnName: 'Email', propertyName: 'email' },
        { columnObjectTypeId: '0-2', columnName: 'Company domain', propertyName: 'domain' },
        { columnName: 'Association label', columnType: 'FLEXIBLE_ASSOCIATION_LABEL', columnObjectTypeId: '0-1', toColumnObjectTypeId: '0-2' }
      ]
    }
  }]
}

/** Import rows through the import applier (as test/helpers/import-applier.ts does): one chunk, one transaction. */
export async function applyImportRows (real: Real, rows: string[][]): Promise<{ errors: number, messages: string[] }> {
  real.counter.requests++
  const db = real.ta.app.db
  const applier = createImportApplier(db, real.ta.app.services)
  const plan = await applier.plan(real.accountId, IMPORT_REQUEST, ['rows.csv'])
  const outcome = await db.transaction().execute(async (trx) =>
    await applier.applyChunk(trx, real.accountId, plan, 0, rows.map((values, i) => ({ lineNumber: i + 2, values }))))
  return { errors: outcome.errors.length, messages: outcome.errors.map((e) => `${e.errorType}: ${e.errorMessage ?? ''}`) }
}
