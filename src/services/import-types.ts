// The seam between the import pipeline (upload, storage, job runner, CSV streaming: imports.service.ts,
// import-runner.ts) and the import applier (importRequest -> plan, rows -> records, associations and labels:
// import-plan.ts, import-applier.service.ts). The pipeline never looks inside a plan's columns; the applier never
// sees HTTP, files or jobs.
import type { Executor } from '../db/executor.js'

/** One file of a plan, in processing order. */
export interface PlannedFile {
  fileName: string
  hasHeader: boolean
  /** Header texts in the file's column order, as mapped; the pipeline checks a file's header against them. */
  columnNames: string[]
}

/** A validated importRequest, ready to apply. Plain data (JSON-serialisable): it may be stored and reloaded. */
export interface ImportPlan {
  name: string
  /** Files in the order they must be applied: a file whose records others point to by a common column comes first. */
  files: PlannedFile[]
  mappedObjectTypeIds: string[]
  /** Applier-private compiled mapping; the pipeline stores and passes it back untouched. */
  compiled: unknown
}

/** One data row of a file. `lineNumber` is 1-based and counts the header line (HubSpot's `sourceData.lineNumber`). */
export interface ImportRow {
  lineNumber: number
  values: string[]
}

/** A row-level (or, with lineNumber 0, file-level) error, in HubSpot's PublicImportError terms. */
export interface ImportRowError {
  /** One of HubSpot's v3 `errorType` values, e.g. ASSOCIATION_LABEL_NOT_FOUND, INCORRECT_NUMBER_OF_COLUMNS. */
  errorType: string
  lineNumber: number
  /** Zero-based column index of the offending cell, when one cell is at fault. */
  knownColumnNumber?: number
  invalidValue?: string
  errorMessage: string
  objectTypeId?: string
  rowData: string[]
}

/** Counter deltas of a chunk (HubSpot names: CREATED_OBJECTS, UPDATED_OBJECTS, ...), summed by the pipeline. */
export type ImportCounters = Record<string, number>

export interface ChunkOutcome {
  counters: ImportCounters
  errors: ImportRowError[]
  /** Applier-private: what the chunk wrote, for look-aheads read before it committed (applyChunk's `ahead`). */
  written?: unknown
}

export interface ImportApplier {
  /**
   * Validates a parsed importRequest against the account (object types, properties, column types, file names
   * given by `uploadedFileNames`); throws an InvalidInputError (400) naming what is wrong.
   */
  plan: (accountId: number, request: unknown, uploadedFileNames: string[]) => Promise<ImportPlan>
  /**
   * Applies rows of `plan.files[fileIndex]` inside the caller's open transaction `trx` (every query through `trx`),
   * set-based (a constant number of statements per chunk). A row that fails writes nothing of its own and is reported;
   * the other rows are applied. The caller commits the chunk together with its progress, so a chunk is applied once.
   */
  applyChunk: (trx: Executor, accountId: number, plan: ImportPlan, fileIndex: number, rows: ImportRow[], ahead?: ChunkAhead) => Promise<ChunkOutcome>
  /**
   * Parses `rows` and reads their identifiers through `db`, outside any transaction, so that the next chunk's reads
   * overlap this one's writes. The result (applier-private) goes to applyChunk of the same `rows` array, with the
   * `written` of every chunk that may have committed since the look-ahead started.
   */
  lookAhead: (db: Executor, accountId: number, plan: ImportPlan, fileIndex: number, rows: ImportRow[]) => Promise<unknown>
}

/** A look-ahead's result and the `written` of the chunks committed since it started (in any order; repeats are harmless). */
export interface ChunkAhead {
  read: unknown
  writtenSince: unknown[]
}
