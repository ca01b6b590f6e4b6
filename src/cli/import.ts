// `npm run import -- --file f.csv --mapping m.json`: an import from the command line, straight on the configured
// database (like `npm run keys`; no server or API key needed). The files are stored and the import created exactly as
// POST /crm/v3/imports does; this process then runs it (a progress bar on a terminal) and prints a summary. On
// PostgreSQL a running server may pick the import up too: whichever runner claims it runs it, the other waits.
import { createReadStream } from 'node:fs'
import { basename } from 'node:path'
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import cliProgress from 'cli-progress'
import type { DatabaseHandle } from '../db/database.js'
import { openCliDatabase, processIo, UsageError, type CliIo } from './cli-support.js'
import { migrateToLatest } from '../db/migrator.js'
import { createServices } from '../plugins/services.js'
import { findOperatorAccount } from '../repositories/accounts.repository.js'
import type { UploadPart } from '../services/imports.service.js'
import type { PublicImport } from '../schemas/imports.schemas.js'
import { isEntryPoint } from '../lib/entry-point.js'

export const USAGE = `Usage: npm run import -- --file FILE [--file FILE2] --mapping MAPPING.json [--account ID] [--name NAME]

  --file      a CSV file (UTF-8); give it twice for a two-file import
  --mapping   the importRequest JSON of HubSpot's Imports API (name, files[].fileName, fileImportPage.columnMappings, ...)
  --account   the account to import into (default: the operator account)
  --name      the import's name (default: the mapping's name)

Each file is matched to the files[].fileName of its base name; with one file and one files[] entry they are matched
whatever the names. The database is the one the server uses (DATABASE_URL, or PGlite in DATA_DIR; stop a PGlite
server first). Ctrl-C cancels the import at its next chunk boundary. Exit code: 0 DONE (row errors are listed),
1 FAILED or CANCELED, 2 bad arguments.
`

export interface ImportCliOptions {
  env?: Record<string, string | undefined>
  io?: CliIo
  /** Show the progress bar (default: when stderr is a terminal). */
  progress?: boolean
  /** An already open database (tests); it is left open. */
  database?: DatabaseHandle
  /** How often progress is read, in ms. */
  pollMs?: number
}

interface Command { files: string[], mapping: string, accountId?: number, name?: string }

export function parseImportArgs (argv: readonly string[]): Command | 'help' {
  let parsed
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        file: { type: 'string', multiple: true },
        mapping: { type: 'string' },
        account: { type: 'string' },
        name: { type: 'string' },
        help: { type: 'boolean', short: 'h' }
      }
    })
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  const { values } = parsed
  if (values.help === true) return 'help'
  if (values.file === undefined || values.file.length === 0) throw new UsageError('--file is required')
  if (values.mapping === undefined) throw new UsageError('--mapping is required')
  if (values.account !== undefined && !/^[1-9][0-9]{0,15}$/.test(values.account)) throw new UsageError(`--account must be a positive integer, got "${values.account}"`)
  return { files: values.file, mapping: values.mapping, accountId: values.account === undefined ? undefined : Number(values.account), name: values.name }
}

/** The upload as the API receives it: the request, then each file under the fileName it is matched to. */
async function * uploadParts (request: Record<string, unknown>, files: string[]): AsyncGenerator<UploadPart> {
  yield { kind: 'field', fieldName: 'importRequest', value: request }
  const entries = Array.isArray(request.files) ? request.files as Array<{ fileName?: unknown }> : []
  const only = entries.length === 1 && files.length === 1 && typeof entries[0]?.fileName === 'string' ? entries[0].fileName : undefined
  for (const path of files) {
    yield { kind: 'file', fieldName: 'files', fileName: only ?? basename(path), stream: createReadStream(path) }
  }
}

function summary (imported: PublicImport, errors: Array<{ lineNumber: number, errorType: string, message: string }>, errorCount: number): string {
  const counters = Object.entries(imported.metadata.counters).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `  ${k.padEnd(24)} ${v}`)
  const lines = [`Import ${imported.id} "${imported.importName ?? ''}": ${imported.state}`, ...counters]
  if (errorCount > 0) {
    lines.push(`Errors (${errorCount}${errorCount > errors.length ? `, first ${errors.length}` : ''}):`)
    for (const e of errors) lines.push(`  ${e.lineNumber === 0 ? 'file' : `line ${e.lineNumber}`}: ${e.errorType} ${e.message}`)
    if (errorCount > errors.length) lines.push(`  all of them: GET /crm/v3/imports/${imported.id}/errors?includeErrorMessage=true&includeRowData=true`)
  }
  return lines.join('\n') + '\n'
}

const FINAL = new Set(['DONE', 'FAILED', 'CANCELED'])
const SHOWN_ERRORS = 20

/** Runs one import; returns the exit code (0 DONE, 1 FAILED/CANCELED or an error, 2 bad arguments). */
export async function runImportCli (argv: readonly string[], options: ImportCliOptions = {}): Promise<number> {
  const io = options.io ?? processIo
  let command: Command | 'help'
  try {
    command = parseImportArgs(argv)
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    io.stderr(`Error: ${err.message}\n\n${USAGE}`)
    return 2
  }
  if (command === 'help') { io.stdout(USAGE); return 0 }
  let request: Record<string, unknown>
  try {
    const parsed: unknown = JSON.parse(await readFile(command.mapping, 'utf8'))
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('it must hold a JSON object (the importRequest)')
    request = { ...parsed as Record<string, unknown>, ...(command.name !== undefined ? { name: command.name } : {}) }
  } catch (err) {
    io.stderr(`Error: cannot read the mapping ${command.mapping}: ${(err as Error).message}\n`)
    return 2
  }
  const opened = await openCliDatabase(io, options.env ?? process.env, options.database, 3)
  if (opened === undefined) return 1
  const { config, handle } = opened
  const db = handle.db
  let stopRunner = async (): Promise<void> => {}
  let onSigint: (() => void) | undefined
  try {
    await migrateToLatest(db)
    const accountId = command.accountId ?? (await findOperatorAccount(db))?.id
    if (accountId === undefined) {
      io.stderr('There is no operator account yet: start the server once (it creates one) or pass --account ID.\n')
      return 1
    }
    const { imports } = createServices(db, config)
    const created = await imports.create(accountId, uploadParts(request, command.files))
    io.stdout(`Import ${created.id} created (${created.state}); files stored.\n`)
    // This process runs this import only; its runner stops with the CLI.
    const { importRunner } = createServices(db, config, { singleProcess: handle.engine === 'pglite', onlyImport: { accountId, id: Number(created.id) } })
    await importRunner.start()
    stopRunner = async () => { await importRunner.stop() }
    onSigint = () => {
      io.stderr('\nCanceling the import at its next chunk boundary...\n')
      imports.cancel(accountId, created.id).catch(() => {})
    }
    process.once('SIGINT', onSigint)

    const showBar = options.progress ?? process.stderr.isTTY === true
    const bar = showBar ? new cliProgress.SingleBar({ format: 'Importing |{bar}| {percentage}% {value}/{total} rows, {errors} errors, {eta_formatted} left', etaBuffer: 50 }, cliProgress.Presets.shades_classic) : undefined
    let current = created
    let barStarted = false
    while (!FINAL.has(current.state)) {
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 250))
      current = await imports.get(accountId, created.id)
      const { TOTAL_ROWS: total, PROCESSED_ROWS: done = 0, ERRORS: errors = 0 } = current.metadata.counters
      if (bar !== undefined && total !== undefined) {
        if (!barStarted) { bar.start(total, 0, { errors: 0 }); barStarted = true }
        bar.update(done, { errors })
      }
    }
    bar?.stop()
    const page = await imports.errors(accountId, created.id, { limit: SHOWN_ERRORS, includeErrorMessage: true, includeRowData: false })
    io.stdout(summary(current, page.results.map((e) => ({ lineNumber: e.sourceData.lineNumber, errorType: e.errorType, message: e.errorMessage ?? '' })), current.metadata.counters.ERRORS ?? page.results.length))
    return current.state === 'DONE' ? 0 : 1
  } catch (err) {
    io.stderr(`Error: ${(err as Error).message}\n`)
    return (err as { statusCode?: number }).statusCode === 400 ? 2 : 1
  } finally {
    if (onSigint !== undefined) process.removeListener('SIGINT', onSigint)
    await stopRunner()
    if (options.database === undefined) await db.destroy().catch(() => {})
  }
}

if (isEntryPoint(import.meta.url)) process.exitCode = await runImportCli(process.argv.slice(2))
