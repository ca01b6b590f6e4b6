// Imports (HubSpot Imports API v3): create from an upload, read, list, cancel, and the error report. Creating stores
// every file durably and commits the import row (request, plan, files) before answering; the runner
// (import-runner.ts) does the rest asynchronously.
import type { Readable } from 'node:stream'
import type { Kysely } from 'kysely'
import type { Config } from '../config.js'
import type { Database, ImportErrorRow, ImportFileRow, ImportJobRow } from '../db/schema.js'
import { inTransaction } from '../db/transaction.js'
import * as repo from '../repositories/imports.repository.js'
import { ConflictError, InvalidInputError, ObjectNotFoundError, withDetails } from '../errors.js'
import { decodeCursor, encodeCursor } from '../lib/paging.js'
import { commitUploads, discardTempUploads, removeStoredFiles, resolveImportDir, storeTempUpload, type TempUpload } from '../lib/import-storage.js'
import type { ActionResponse, ImportErrorPage, ImportPage, PublicImport, PublicImportError } from '../schemas/imports.schemas.js'
import type { ImportApplier, ImportPlan } from './import-types.js'
import type { ImportRunner } from './import-runner.js'

/** One part of the upload, whatever carried it (multipart form, CLI). */
export type UploadPart =
  | { kind: 'file', fieldName: string, fileName: string, stream: Readable, truncated?: () => boolean }
  | { kind: 'field', fieldName: string, value: unknown }

/** Most `files` parts in one request (HubSpot's client sends one; two-file imports send two). */
export const MAX_IMPORT_FILES = 10
/** Largest importRequest sent as a file part. */
const MAX_REQUEST_BYTES = 1024 * 1024
const RUNNING_STATES = new Set(['STARTED', 'DEFERRED', 'PROCESSING'])

function invalid (message: string, context?: Record<string, string[]>): Error {
  return withDetails(new InvalidInputError(message), context === undefined ? {} : { context })
}

async function readSmallText (stream: Readable, max: number): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > max) throw invalid(`importRequest is larger than ${max} bytes`)
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

function parseImportRequest (value: unknown): Record<string, unknown> {
  let request = value
  if (typeof value === 'string') {
    try {
      request = JSON.parse(value)
    } catch (err) {
      throw invalid(`importRequest is not valid JSON: ${(err as Error).message}`, { importRequest: ['is not valid JSON'] })
    }
  }
  if (request === null || typeof request !== 'object' || Array.isArray(request)) {
    throw invalid('importRequest must be a JSON object with name and files', { importRequest: ['must be a JSON object'] })
  }
  return request as Record<string, unknown>
}

/** Every planned file has exactly one uploaded part, and every part is a planned file. */
function matchFiles (plan: ImportPlan, uploaded: string[]): void {
  const planned = plan.files.map((f) => f.fileName)
  const missing = planned.filter((name) => !uploaded.includes(name))
  if (missing.length > 0) {
    throw invalid(`No uploaded file for ${missing.map((m) => `"${m}"`).join(', ')}: send one "files" part per files[].fileName, with that filename`, { fileName: missing })
  }
  const unknown = uploaded.filter((name) => !planned.includes(name))
  if (unknown.length > 0) {
    throw invalid(`The uploaded file ${unknown.map((m) => `"${m}"`).join(', ')} matches no files[].fileName of the importRequest`, { files: unknown })
  }
}

function toPublicImport (row: ImportJobRow, files: ImportFileRow[]): PublicImport {
  return {
    id: String(row.id),
    state: row.state,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    metadata: { counters: row.counters, fileIds: files.map((f) => String(f.file_id)), objectLists: [] },
    mappedObjectTypeIds: row.mapped_object_type_ids,
    optOutImport: false,
    importName: row.name,
    importRequestJson: row.request,
    importSource: 'API'
  }
}

function toPublicError (row: ImportErrorRow, fileId: number, withMessage: boolean, withRowData: boolean): PublicImportError {
  return {
    id: String(row.id),
    createdAt: row.created_at.getTime(),
    errorType: row.error_type,
    sourceData: { rowData: withRowData ? row.row_data : [], lineNumber: row.line_number, fileId, containsEncryptedProperties: false },
    ...(withMessage ? { errorMessage: row.error_message } : {}),
    ...(row.invalid_value !== null ? { invalidValue: row.invalid_value } : {}),
    ...(row.known_column_number !== null ? { knownColumnNumber: row.known_column_number } : {}),
    ...(row.object_type_id !== null ? { objectTypeId: row.object_type_id } : {})
  }
}

export interface ImportListOptions { after?: string, before?: string, limit: number }
export interface ImportErrorsOptions { after?: string, limit: number, includeErrorMessage: boolean, includeRowData: boolean }

export function createImportsService (db: Kysely<Database>, config: Config, applier: ImportApplier, runner: Pick<ImportRunner, 'wake' | 'canceled'>) {
  const dir = resolveImportDir(config)

  function parseId (importId: string): number {
    const id = Number(importId)
    if (!Number.isSafeInteger(id) || id <= 0) throw new ObjectNotFoundError(`Import ${importId.slice(0, 30)} does not exist`)
    return id
  }

  async function load (accountId: number, importId: string): Promise<ImportJobRow> {
    const row = await repo.findImport(db, accountId, parseId(importId))
    if (row === undefined) throw withDetails(new ObjectNotFoundError(`Import ${importId} does not exist`), { context: { importId: [importId] } })
    return row
  }

  /** Receives the parts: files are streamed to temporary storage as they come, in whatever order. */
  async function receive (parts: AsyncIterable<UploadPart>, uploads: Array<{ fileName: string, temp: TempUpload }>): Promise<unknown> {
    let request: unknown
    let sawRequest = false
    for await (const part of parts) {
      if (part.fieldName === 'importRequest') {
        if (sawRequest) throw invalid('importRequest was sent twice')
        sawRequest = true
        request = part.kind === 'file' ? await readSmallText(part.stream, MAX_REQUEST_BYTES) : part.value
      } else if (part.fieldName === 'files' && part.kind === 'file') {
        const name = part.fileName
        if (name === '') throw invalid('A "files" part has no filename: its filename must equal a files[].fileName of the importRequest')
        if (uploads.some((u) => u.fileName === name)) throw invalid(`Two files are named "${name}"`, { files: [name] })
        if (uploads.length >= MAX_IMPORT_FILES) throw invalid(`At most ${MAX_IMPORT_FILES} files per import`)
        uploads.push({ fileName: name, temp: await storeTempUpload(dir, name, part.stream, config.IMPORT_MAX_FILE_BYTES, part.truncated) })
      } else {
        throw invalid(`Unexpected form field "${part.fieldName.slice(0, 100)}": send an "importRequest" field and one "files" part per file`, { [part.fieldName.slice(0, 100)]: ['unexpected field'] })
      }
    }
    if (!sawRequest) throw invalid('The form has no importRequest field (the import\'s JSON description)', { importRequest: ['is required'] })
    return request
  }

  return {
    /** Stores the upload, validates the request into a plan, commits the import; answers before any row is applied. */
    async create (accountId: number, parts: AsyncIterable<UploadPart>): Promise<PublicImport> {
      const uploads: Array<{ fileName: string, temp: TempUpload }> = []
      let stored: string[] = []
      try {
        const request = parseImportRequest(await receive(parts, uploads))
        const plan = await applier.plan(accountId, request, uploads.map((u) => u.fileName))
        matchFiles(plan, uploads.map((u) => u.fileName))
        const ordered = plan.files.map((f) => uploads.find((u) => u.fileName === f.fileName) as { fileName: string, temp: TempUpload })
        stored = (await commitUploads(dir, ordered.map((u) => u.temp))).paths
        const { row, files } = await inTransaction(db, async (trx) => {
          const state = await repo.countActiveImports(trx) < config.IMPORT_CONCURRENCY ? 'STARTED' as const : 'DEFERRED' as const
          const row = await repo.insertImport(trx, { accountId, name: plan.name, state, request, plan, mappedObjectTypeIds: plan.mappedObjectTypeIds })
          const files = await repo.insertImportFiles(trx, accountId, row.id, ordered.map((u, i) => ({ fileIndex: i, fileName: u.fileName, path: stored[i] as string, bytes: u.temp.bytes })))
          return { row, files }
        })
        runner.wake()
        return toPublicImport(row, files)
      } catch (err) {
        await discardTempUploads(uploads.map((u) => u.temp))
        await removeStoredFiles(stored)
        throw err
      }
    },

    async get (accountId: number, importId: string): Promise<PublicImport> {
      const row = await load(accountId, importId)
      return toPublicImport(row, await repo.listImportFiles(db, accountId, [row.id]))
    },

    /** The account's imports, newest first. */
    async list (accountId: number, options: ImportListOptions): Promise<ImportPage> {
      const { limit } = options
      const before = options.before !== undefined ? decodeCursor(options.before, ['i']).i : undefined
      const after = options.after !== undefined ? decodeCursor(options.after, ['i']).i : undefined
      let rows: ImportJobRow[]
      let hasNext: boolean
      let hasPrev: boolean
      if (before !== undefined) {
        const newer = await repo.listImports(db, accountId, { beforeId: before, limit: limit + 1 })
        hasPrev = newer.length > limit
        rows = newer.slice(-limit)
        hasNext = true
      } else {
        const older = await repo.listImports(db, accountId, { afterId: after, limit: limit + 1 })
        hasNext = older.length > limit
        rows = older.slice(0, limit)
        hasPrev = after !== undefined && rows.length > 0 && await repo.hasImportsAbove(db, accountId, (rows[0] as ImportJobRow).id)
      }
      const files = await repo.listImportFiles(db, accountId, rows.map((r) => r.id))
      const results = rows.map((r) => toPublicImport(r, files.filter((f) => f.import_id === r.id)))
      const first = rows[0]
      const last = rows.at(-1)
      const paging = {
        ...(hasNext && last !== undefined ? { next: { after: encodeCursor({ i: last.id }) } } : {}),
        ...(hasPrev && first !== undefined ? { prev: { before: encodeCursor({ i: first.id }) } } : {})
      }
      return { results, ...(Object.keys(paging).length > 0 ? { paging } : {}) }
    },

    /**
     * Cancels a waiting or running import: it is CANCELED at once, no chunk commits after this answer (a chunk in
     * flight holds the import's row lock, so the cancel waits for it), and its stored files are removed. Canceling a
     * CANCELED import again answers the same; a DONE or FAILED import cannot be canceled (409).
     */
    async cancel (accountId: number, importId: string): Promise<ActionResponse> {
      const id = parseId(importId)
      const requestedAt = new Date().toISOString()
      const { row, files } = await inTransaction(db, async (trx) => {
        const row = await repo.lockImport(trx, accountId, id)
        if (row === undefined) throw withDetails(new ObjectNotFoundError(`Import ${importId} does not exist`), { context: { importId: [importId] } })
        if (row.state === 'CANCELED') return { row, files: [] }
        if (!RUNNING_STATES.has(row.state)) {
          throw withDetails(new ConflictError(`Import ${importId} is ${row.state}: only a STARTED, DEFERRED or PROCESSING import can be canceled`), { context: { state: [row.state] } })
        }
        await repo.updateImport(trx, accountId, id, { state: 'CANCELED', finished_at: new Date(), lease_owner: null, lease_expires_at: null })
        return { row, files: await repo.listImportFiles(trx, accountId, [id]) }
      })
      runner.canceled(accountId, id)
      await removeStoredFiles(files.map((f) => f.path))
      return {
        status: 'COMPLETE',
        requestedAt,
        startedAt: (row.started_at ?? row.created_at).toISOString(),
        completedAt: (row.finished_at ?? new Date()).toISOString()
      }
    },

    /** The import's errors, oldest first; file-level errors have lineNumber 0. */
    async errors (accountId: number, importId: string, options: ImportErrorsOptions): Promise<ImportErrorPage> {
      const row = await load(accountId, importId)
      const afterId = options.after !== undefined ? decodeCursor(options.after, ['e']).e : 0
      const [errors, files] = [
        await repo.listImportErrors(db, accountId, row.id, afterId, options.limit + 1),
        await repo.listImportFiles(db, accountId, [row.id])
      ]
      const page = errors.slice(0, options.limit)
      const fileIds = new Map(files.map((f) => [f.file_index, f.file_id]))
      const last = page.at(-1)
      return {
        results: page.map((e) => toPublicError(e, fileIds.get(e.file_index) ?? 0, options.includeErrorMessage, options.includeRowData)),
        ...(errors.length > options.limit && last !== undefined ? { paging: { next: { after: encodeCursor({ e: last.id }) } } } : {})
      }
    }
  }
}

export type ImportsService = ReturnType<typeof createImportsService>
