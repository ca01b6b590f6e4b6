// Streaming reader of a stored import file: strict UTF-8, csv-parse, the header checked against the plan, and each
// data row with its 1-based line number (counting the header; a record spanning lines reports the line it starts on).
// Memory stays flat: the file is read in 64 KiB pieces and one record at a time.
import { createReadStream } from 'node:fs'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { parse, type Info } from 'csv-parse'

/** A record and the 1-based line it starts on (the services' ImportRow). */
export interface CsvRow {
  lineNumber: number
  values: string[]
}

/** What the reader needs of a planned file (the services' PlannedFile). */
export interface CsvFileLayout {
  fileName: string
  hasHeader: boolean
  columnNames: string[]
}

/** A file that cannot be imported at all (encoding, CSV syntax, header); becomes a file-level error (line 0). */
export class ImportFileError extends Error {
  readonly errorType: string
  constructor (errorType: string, message: string) {
    super(message)
    this.errorType = errorType
  }
}

/** Longest record accepted, in characters; a longer one (e.g. binary garbage without line breaks) fails the file. */
export const MAX_RECORD_CHARS = 1024 * 1024

/**
 * Bytes in, text out: strict UTF-8 (an invalid sequence or a NUL byte, as in UTF-16 or binary files, fails the file
 * instead of producing garbage rows), and every line break (\r\n, \r) as \n, so csv-parse counts lines right.
 */
function utf8Text (fileName: string): Transform {
  const decoder = new TextDecoder('utf-8', { fatal: true })
  let lines = 1
  let carry = ''
  const fail = (chunk: Buffer | undefined, why: string): ImportFileError => {
    let line = lines
    if (chunk !== undefined) {
      const loose = new TextDecoder('utf-8').decode(chunk)
      const at = why === 'nul' ? loose.indexOf('\0') : loose.indexOf('\uFFFD')
      line += countLineBreaks(loose.slice(0, Math.max(at, 0)))
    }
    const what = why === 'nul'
      ? 'contains NUL bytes (is it UTF-16 or a binary file? Save it as CSV in UTF-8)'
      : 'is not valid UTF-8 text (save it as CSV in UTF-8)'
    return new ImportFileError('INVALID_FILE_TYPE', `The file ${fileName} ${what}; first bad byte near line ${line}`)
  }
  const emit = (text: string, final: boolean): string => {
    let out = carry + text
    carry = ''
    if (!final && out.endsWith('\r')) {
      carry = '\r'
      out = out.slice(0, -1)
    }
    out = out.replace(/\r\n?/g, '\n')
    lines += countNewlines(out)
    return out
  }
  return new Transform({
    readableObjectMode: true,
    transform (chunk: Buffer, _encoding, done) {
      let text: string
      try {
        text = decoder.decode(chunk, { stream: true })
      } catch {
        done(fail(chunk, 'utf8'))
        return
      }
      if (text.includes('\0')) { done(fail(chunk, 'nul')); return }
      const out = emit(text, false)
      done(null, out === '' ? undefined : out)
    },
    flush (done) {
      let text: string
      try {
        text = decoder.decode()
      } catch {
        done(fail(undefined, 'utf8'))
        return
      }
      const out = emit(text, true)
      done(null, out === '' ? undefined : out)
    }
  })
}

function countNewlines (text: string): number {
  let n = 0
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++
  return n
}

function countLineBreaks (text: string): number {
  return countNewlines(text.replace(/\r\n?/g, '\n'))
}

function parseError (fileName: string, err: unknown): ImportFileError {
  if (err instanceof ImportFileError) return err
  const e = err as { code?: unknown, message?: unknown, lines?: unknown }
  const line = typeof e.lines === 'number' ? ` at line ${e.lines}` : ''
  if (e.code === 'CSV_MAX_RECORD_SIZE') {
    return new ImportFileError('ROW_DATA_TOO_LARGE', `The file ${fileName} has a row longer than ${MAX_RECORD_CHARS} characters${line}; is it a CSV file?`)
  }
  if (typeof e.code === 'string' && e.code.startsWith('CSV_')) {
    const reason = String(e.message).replace(/ at line \d+.*$/s, '')
    return new ImportFileError('COULD_NOT_PARSE_ROW', `The file ${fileName} is not valid CSV${line}: ${reason}`)
  }
  return new ImportFileError('FILE_NOT_FOUND', `The file ${fileName} cannot be read: ${e.message as string}`)
}

/** Records of a CSV file with the line each starts on. Throws ImportFileError when the file is not readable CSV. */
export async function * readCsvRecords (path: string, fileName: string): AsyncGenerator<CsvRow> {
  const parser = parse({
    bom: true,
    relax_column_count: true,
    skip_empty_lines: true,
    max_record_size: MAX_RECORD_CHARS,
    info: true
  })
  let failure: unknown
  const flowing = pipeline(createReadStream(path), utf8Text(fileName), parser).catch((err: unknown) => { failure = err })
  try {
    for await (const item of parser as AsyncIterable<{ record: string[], info: Info }>) {
      const { record, info } = item
      let spanned = 0
      for (const value of record) if (value.includes('\n')) spanned += countNewlines(value)
      yield { lineNumber: info.lines - spanned, values: record }
    }
  } catch (err) {
    throw parseError(fileName, failure ?? err)
  } finally {
    parser.destroy()
    await flowing
  }
  if (failure !== undefined) throw parseError(fileName, failure)
}

/**
 * How a header maps to the planned columns: null when it matches them in order (rows pass through as they are), or
 * the file position of each planned column when the same columns come in another order. Throws when a mapped column
 * is missing. A header with more columns than mapped passes through: each row then has more values than mapped
 * columns, which the applier reports per row (INCORRECT_NUMBER_OF_COLUMNS), as HubSpot does.
 */
export function headerMapping (fileName: string, header: string[], columnNames: string[]): number[] | null {
  const names = header.map((h) => h.trim())
  const missing = columnNames.filter((c) => !names.includes(c.trim()))
  if (missing.length > 0) {
    throw new ImportFileError('INVALID_COLUMN_CONFIGURATION',
      `The header of ${fileName} lacks the mapped column${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')} (header: ${names.map((n) => `"${n}"`).join(', ').slice(0, 500)})`)
  }
  if (columnNames.every((c, i) => names[i] === c.trim())) return null
  if (names.length !== columnNames.length) return null
  const used = new Set<number>()
  return columnNames.map((c) => {
    const at = names.findIndex((n, i) => n === c.trim() && !used.has(i))
    used.add(at)
    return at
  })
}

/**
 * The data rows of one planned file, in file order. With a header, the header is checked first (a missing mapped
 * column, or no header at all, throws ImportFileError) and not returned.
 */
export async function * readImportRows (path: string, file: CsvFileLayout): AsyncGenerator<CsvRow> {
  let mapping: number[] | null = null
  let first = file.hasHeader
  for await (const row of readCsvRecords(path, file.fileName)) {
    if (first) {
      first = false
      mapping = headerMapping(file.fileName, row.values, file.columnNames)
      continue
    }
    if (mapping !== null && row.values.length === mapping.length) {
      const values = row.values
      yield { lineNumber: row.lineNumber, values: mapping.map((i) => values[i] ?? '') }
    } else {
      yield row
    }
  }
  if (first) throw new ImportFileError('INVALID_COLUMN_CONFIGURATION', `The file ${file.fileName} is empty: it has no header line`)
}
