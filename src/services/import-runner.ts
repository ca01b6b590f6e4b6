// The import job runner: in-process, started with the app and stopped on close. It claims imports from the imports
// table under a lease (FOR UPDATE SKIP LOCKED, so two processes never run one import), runs at most IMPORT_CONCURRENCY
// at once, and for each import:
//   1. checks every file first (UTF-8, CSV syntax, header against the plan, row limit) and records TOTAL_ROWS; a bad
//      file fails the import before any row is applied;
//   2. streams each file again, in plan order, in chunks of IMPORT_CHUNK_ROWS rows; each chunk is one transaction:
//      the applier's writes + the chunk's row errors + counters + progress (file index, rows done), so a chunk is
//      applied exactly once; a runner that lost the import (canceled, or its lease taken over) stops at the next chunk.
// A process that dies leaves its imports PROCESSING with a lease that expires; any runner then resumes them from the
// last committed chunk (skipping the committed rows while re-parsing). On PGlite (one process per database) every
// lease found at start is dead and is expired at once.
import { hostname } from 'node:os'
import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Config } from '../config.js'
import type { Database, ImportFileRow, ImportJobRow } from '../db/schema.js'
import { inTransaction } from '../db/transaction.js'
import { isConnectionError } from '../db/pg-errors.js'
import * as repo from '../repositories/imports.repository.js'
import { ImportFileError, readImportRows } from '../lib/import-csv.js'
import { removeStoredFiles, resolveImportDir, sweepIncoming } from '../lib/import-storage.js'
import type { ChunkAhead, ChunkOutcome, ImportApplier, ImportCounters, ImportPlan, ImportRow, ImportRowError } from './import-types.js'

/** The logger calls the runner makes (pino and Fastify's logger fit). */
export interface RunnerLog {
  info: (obj: object, msg: string) => void
  warn: (obj: object, msg: string) => void
  error: (obj: object, msg: string) => void
}

export interface ImportRunnerOptions {
  log: RunnerLog
  /** PGlite: expire every lease at start (no other process can hold one). */
  singleProcess?: boolean
  /**
   * Parse each next chunk and read its identifiers on another connection while the current chunk's statements run
   * (ImportApplier.lookAhead). Default: on, except with `singleProcess` (PGlite has one connection, so the read would
   * only wait for the chunk).
   */
  lookAhead?: boolean
  /** Run this import only (the CLI), not whatever else is waiting. */
  only?: { accountId: number, id: number }
  /** Called after each committed chunk with its row count (metrics). */
  onRowsApplied?: (rows: number) => void
  /** Awaited after each committed chunk, outside its transaction (planner statistics during bulk loads). */
  afterChunk?: () => Promise<void>
}

export interface ImportRunner {
  start: () => Promise<void>
  /** Stops claiming; running imports stop at their next chunk boundary (the chunk in flight commits or rolls back). */
  stop: () => Promise<void>
  /** Looks for work now (after an import was created). */
  wake: () => void
  /** An import was canceled: stop it now if it runs here. */
  canceled: (accountId: number, id: number) => void
  /** How many imports this process is running. */
  active: () => number
}

/** Why a job stopped before its end. */
type Halt = 'stopped' | 'lost'

interface JobContext {
  accountId: number
  id: number
  plan: ImportPlan
  files: ImportFileRow[]
  control: { stop: boolean, lost: boolean }
}

const EMPTY_OUTCOME: ChunkOutcome = { counters: {}, errors: [] }
const INCOMING_MAX_AGE_MS = 24 * 3600_000
const MAX_MESSAGE = 1000

/**
 * A pause between chunks: requests waiting for the event loop or, on PGlite, for its one connection run before the
 * next chunk takes it again (otherwise a request of several queries waits a chunk for each).
 */
async function letOthersIn (): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve))
}

/**
 * The rows after the first `skip`, in chunks of at most `maxRows` rows that end early once their cells reach
 * `maxChars` characters (wide rows: memory per chunk stays bounded). The last chunk (`last`, empty when the previous
 * one ended with the file) marks the end of the file.
 */
export async function * chunksOf (rows: AsyncIterable<ImportRow>, skip: number, maxRows: number, maxChars = Infinity): AsyncGenerator<{ rows: ImportRow[], last: boolean }, void, undefined> {
  let seen = 0
  let chunk: ImportRow[] = []
  let chars = 0
  for await (const row of rows) {
    if (++seen <= skip) continue
    chunk.push(row)
    for (const value of row.values) chars += value.length
    if (chunk.length >= maxRows || chars >= maxChars) {
      yield { rows: chunk, last: false }
      chunk = []
      chars = 0
    }
  }
  yield { rows: chunk, last: true }
}

/** Sums counter deltas into a copy of `base`. */
export function addCounters (base: ImportCounters, ...deltas: ImportCounters[]): ImportCounters {
  const out: ImportCounters = { ...base }
  for (const delta of deltas) {
    for (const [key, value] of Object.entries(delta)) {
      if (typeof value === 'number' && Number.isFinite(value)) out[key] = (out[key] ?? 0) + value
    }
  }
  return out
}

/** PostgreSQL text cannot hold NUL; error texts are stored as given otherwise. */
const storable = (text: string): string => text.replaceAll('\0', '\uFFFD')

function errorRow (accountId: number, importId: number, fileIndex: number, e: ImportRowError) {
  return {
    account_id: accountId,
    import_id: importId,
    file_index: fileIndex,
    error_type: e.errorType,
    line_number: e.lineNumber,
    known_column_number: e.knownColumnNumber ?? null,
    invalid_value: e.invalidValue === undefined ? null : storable(e.invalidValue),
    error_message: storable(e.errorMessage).slice(0, 10_000),
    object_type_id: e.objectTypeId ?? null,
    row_data: e.rowData.map(storable)
  }
}

export function createImportRunner (db: Kysely<Database>, config: Config, applier: ImportApplier, options: ImportRunnerOptions): ImportRunner {
  const { log } = options
  const lookAhead = options.lookAhead ?? options.singleProcess !== true
  const owner = `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`
  const leaseMs = config.IMPORT_LEASE_MS
  const jobs = new Map<string, { control: JobContext['control'], done: Promise<void> }>()
  let stopped = true
  let pumping: Promise<void> | null = null
  let pumpAgain = false
  let pollTimer: NodeJS.Timeout | undefined
  let heartbeatTimer: NodeJS.Timeout | undefined

  const keyOf = (accountId: number, id: number): string => `${accountId}/${id}`
  const held = (row: ImportJobRow | undefined): row is ImportJobRow =>
    row !== undefined && row.state === 'PROCESSING' && row.lease_owner === owner

  /** Runs `work` on the locked import row if this runner still holds it; false when it does not. */
  async function whileHeld (ctx: JobContext, work: (trx: Kysely<Database>, row: ImportJobRow) => Promise<void>): Promise<boolean> {
    const ok = await inTransaction(db, async (trx) => {
      const row = await repo.lockImport(trx, ctx.accountId, ctx.id)
      if (!held(row)) return false
      await work(trx, row)
      return true
    })
    if (!ok) ctx.control.lost = true
    return ok
  }

  /** Ends the import FAILED with one import-level error (line 0). */
  async function fail (ctx: JobContext, fileIndex: number, errorType: string, message: string): Promise<void> {
    await whileHeld(ctx, async (trx, row) => {
      await repo.insertImportErrors(trx, [errorRow(ctx.accountId, ctx.id, fileIndex, { errorType, lineNumber: 0, errorMessage: message, rowData: [] })])
      await repo.updateImport(trx, ctx.accountId, ctx.id, {
        state: 'FAILED', finished_at: new Date(), lease_owner: null, lease_expires_at: null,
        counters: JSON.stringify(addCounters(row.counters, { ERRORS: 1 }))
      })
    })
  }

  /** First pass: every file is readable CSV with the planned header and within the row limit. */
  async function validate (ctx: JobContext): Promise<Halt | 'ok' | 'failed'> {
    const counts: number[] = []
    for (const [i, planned] of ctx.plan.files.entries()) {
      const file = ctx.files[i]
      if (file === undefined) { await fail(ctx, i, 'FILE_NOT_FOUND', `The file ${planned.fileName} was not stored`); return 'failed' }
      let rows = 0
      try {
        for await (const row of readImportRows(file.path, planned)) {
          if (ctx.control.stop) return 'stopped'
          if (++rows > config.IMPORT_MAX_ROWS) {
            throw new ImportFileError('LIMIT_EXCEEDED', `The file ${planned.fileName} has more than ${config.IMPORT_MAX_ROWS} rows (IMPORT_MAX_ROWS; line ${row.lineNumber} is past it): split it into several imports`)
          }
        }
      } catch (err) {
        if (!(err instanceof ImportFileError)) throw err
        await fail(ctx, i, err.errorType, err.message)
        return 'failed'
      }
      counts.push(rows)
    }
    const ok = await whileHeld(ctx, async (trx, row) => {
      for (const [i, n] of counts.entries()) await repo.setFileRowCount(trx, ctx.accountId, ctx.id, i, n)
      await repo.updateImport(trx, ctx.accountId, ctx.id, {
        validated: true,
        counters: JSON.stringify({ ...addCounters(row.counters), TOTAL_ROWS: counts.reduce((a, b) => a + b, 0) })
      }, leaseMs)
    })
    return ok ? 'ok' : 'lost'
  }

  /**
   * One chunk in one transaction: the applier's writes, the row errors, counters and progress. `endOfFile` moves the
   * progress to the next file; after the last file the import is DONE.
   */
  async function commitChunk (ctx: JobContext, fileIndex: number, rowsBefore: number, rows: ImportRow[], endOfFile: boolean, ahead?: ChunkAhead): Promise<ChunkOutcome | undefined> {
    let outcome = EMPTY_OUTCOME
    const committed = await whileHeld(ctx, async (trx, row) => {
      if (row.file_index !== fileIndex || row.rows_done !== rowsBefore) throw new Error(`import ${ctx.id}: progress moved under the runner (file ${row.file_index} row ${row.rows_done}, expected file ${fileIndex} row ${rowsBefore})`)
      outcome = rows.length > 0 ? await applier.applyChunk(trx, ctx.accountId, ctx.plan, fileIndex, rows, ahead) : EMPTY_OUTCOME
      await repo.insertImportErrors(trx, outcome.errors.map((e) => errorRow(ctx.accountId, ctx.id, fileIndex, e)))
      const { TOTAL_ROWS: _ignored, ...applierCounters } = outcome.counters
      const last = endOfFile && fileIndex >= ctx.plan.files.length - 1
      await repo.updateImport(trx, ctx.accountId, ctx.id, {
        counters: JSON.stringify(addCounters(row.counters, applierCounters, { PROCESSED_ROWS: rows.length })),
        file_index: endOfFile ? fileIndex + 1 : fileIndex,
        rows_done: endOfFile ? 0 : rowsBefore + rows.length,
        ...(last ? { state: 'DONE', finished_at: new Date(), lease_owner: null, lease_expires_at: null } : {})
      }, last ? undefined : leaseMs)
    })
    if (!committed) return undefined
    if (rows.length > 0) options.onRowsApplied?.(rows.length)
    await options.afterChunk?.()
    return outcome
  }

  /** Second pass over one file: skips the `skip` rows already committed, then applies the rest chunk by chunk. */
  async function applyFile (ctx: JobContext, fileIndex: number, skip: number): Promise<Halt | 'ok'> {
    const planned = ctx.plan.files[fileIndex]
    const file = ctx.files[fileIndex]
    if (planned === undefined || file === undefined) throw new Error(`import ${ctx.id}: no file ${fileIndex}`)
    let done = skip
    const chunks = chunksOf(readImportRows(file.path, planned), skip, config.IMPORT_CHUNK_ROWS, config.IMPORT_CHUNK_CHARS)
    // The next chunk is read and parsed while this one's statements run: CSV parsing overlaps database time. With the
    // look-ahead, its rows are then parsed and its identifiers read on another connection too. That read starts after
    // the chunk before this one committed, so this one's writes are all it may miss: they are passed along with it.
    const readAhead = async (step: Promise<IteratorResult<{ rows: ImportRow[], last: boolean }>>) => {
      const read = await step
      const rows = read.done === true ? [] : read.value.rows
      // A failed look-ahead only costs the chunk its own read, in its transaction.
      const ahead = lookAhead && rows.length > 0 ? applier.lookAhead(db, ctx.accountId, ctx.plan, fileIndex, rows).catch(() => undefined) : undefined
      return { read, ahead }
    }
    try {
      let next = readAhead(chunks.next())
      let written: unknown
      for (;;) {
        const { read: step, ahead } = await next
        if (ctx.control.stop) return 'stopped'
        const { rows: chunk, last } = step.done === true ? { rows: [], last: true } : step.value
        if (!last) {
          next = readAhead(chunks.next())
          // Awaited on the next turn; if this one ends the run first, a read error there must not go unhandled.
          next.catch(() => {})
        }
        // Awaited before the chunk's transaction takes a connection: the look-ahead may be waiting for one.
        const read = await ahead
        const outcome = await commitChunk(ctx, fileIndex, done, chunk, last, read === undefined ? undefined : { read, writtenSince: written === undefined ? [] : [written] })
        if (outcome === undefined) return 'lost'
        if (last) return 'ok'
        written = outcome.written
        done += chunk.length
        await letOthersIn()
      }
    } finally {
      await chunks.return(undefined)
    }
  }

  async function run (job: ImportJobRow, control: JobContext['control']): Promise<void> {
    const ctx: JobContext = {
      accountId: job.account_id,
      id: job.id,
      plan: job.plan as ImportPlan,
      files: await repo.listImportFiles(db, job.account_id, [job.id]),
      control
    }
    const started = Date.now()
    log.info({ importId: job.id, accountId: job.account_id, resumeAt: { file: job.file_index, row: job.rows_done } }, 'import processing')
    let fileIndex = job.file_index
    let outcome: Halt | 'ok' | 'failed' = 'ok'
    try {
      if (!job.validated) outcome = await validate(ctx)
      for (; outcome === 'ok' && fileIndex < Math.max(ctx.plan.files.length, 1); fileIndex++) {
        outcome = ctx.plan.files.length === 0
          ? (await commitChunk(ctx, 0, 0, [], true) !== undefined ? 'ok' : 'lost')
          : await applyFile(ctx, fileIndex, fileIndex === job.file_index ? job.rows_done : 0)
      }
    } catch (err) {
      if (control.stop || control.lost) {
        outcome = 'stopped'
      } else if (isConnectionError(err)) {
        // The database is unreachable: leave the lease to expire; a runner resumes the import once it is back.
        log.warn({ err, importId: job.id }, 'import paused: database unreachable')
        return
      } else {
        log.error({ err, importId: job.id }, 'import failed')
        const file = ctx.plan.files[fileIndex]?.fileName ?? ''
        const reason = err instanceof Error ? err.message : String(err)
        await fail(ctx, fileIndex, 'UNKNOWN_ERROR', `Applying ${file} failed: ${reason}`.slice(0, MAX_MESSAGE) + '. The rows committed before it stay applied.')
        outcome = 'failed'
      }
    }
    if (outcome === 'stopped' && !control.lost) await repo.releaseLease(db, ctx.accountId, ctx.id, owner)
    // Finished here (not taken over by another runner): the stored files are no longer needed.
    if ((outcome === 'ok' || outcome === 'failed') && !control.lost) await removeStoredFiles(ctx.files.map((f) => f.path))
    log.info({ importId: job.id, outcome, ms: Date.now() - started }, 'import run ended')
  }

  function launch (job: ImportJobRow): void {
    const key = keyOf(job.account_id, job.id)
    const control = { stop: false, lost: false }
    const done = run(job, control)
      .catch((err: unknown) => { log.error({ err, importId: job.id }, 'import runner error') })
      .finally(() => {
        jobs.delete(key)
        wake()
      })
    jobs.set(key, { control, done })
  }

  // PGlite: leases left by a previous run are dead; expired on the first pump that reaches the database (not in start,
  // so that a database that is down at start does not stop the app from becoming ready).
  let leasesChecked = options.singleProcess !== true

  async function pump (): Promise<void> {
    if (!leasesChecked) {
      const expired = await repo.expireAllLeases(db)
      leasesChecked = true
      if (expired > 0) log.info({ imports: expired }, 'resuming imports left PROCESSING by a previous run')
    }
    for (;;) {
      if (stopped || jobs.size >= config.IMPORT_CONCURRENCY) return
      const job = await repo.claimNextImport(db, owner, leaseMs, options.only)
      if (job === undefined) return
      // Its own running import, whose lease ran out while a long chunk kept the heartbeat from the database (PGlite's
      // one connection, a loaded machine): the claim has renewed the lease and the run goes on; a second run would
      // apply the same rows again.
      if (jobs.has(keyOf(job.account_id, job.id))) continue
      launch(job)
    }
  }

  function wake (): void {
    if (stopped) return
    if (pumping !== null) { pumpAgain = true; return }
    pumping = pump()
      .catch((err: unknown) => { log.warn({ err }, 'import runner could not claim work') })
      .finally(() => {
        pumping = null
        if (pumpAgain) { pumpAgain = false; wake() }
      })
  }

  async function heartbeat (): Promise<void> {
    if (jobs.size === 0) return
    const heldNow = new Set((await repo.renewLeases(db, owner, leaseMs)).map((r) => keyOf(r.account_id, r.id)))
    for (const [key, job] of jobs) {
      if (!heldNow.has(key)) { job.control.lost = true; job.control.stop = true }
    }
  }

  return {
    async start () {
      if (!stopped) return
      stopped = false
      await sweepIncoming(resolveImportDir(config), INCOMING_MAX_AGE_MS)
      pollTimer = setInterval(wake, config.IMPORT_POLL_MS).unref()
      heartbeatTimer = setInterval(() => {
        heartbeat().catch((err: unknown) => { log.warn({ err }, 'import lease renewal failed') })
      }, Math.max(Math.floor(leaseMs / 3), 100)).unref()
      wake()
    },
    async stop () {
      stopped = true
      clearInterval(pollTimer)
      clearInterval(heartbeatTimer)
      for (const job of jobs.values()) job.control.stop = true
      await pumping
      await Promise.all([...jobs.values()].map(async (j) => await j.done))
    },
    wake,
    canceled (accountId, id) {
      const job = jobs.get(keyOf(accountId, id))
      if (job !== undefined) { job.control.lost = true; job.control.stop = true }
    },
    active: () => jobs.size
  }
}
