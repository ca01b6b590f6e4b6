// Streams generated text rows into `COPY ... FROM STDIN` with flat memory: the generator yields one batch of lines at
// a time and waits while the socket is full (pipeline backpressure).
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'

/** Lines per chunk handed to the socket: large enough to amortise the stream machinery, small enough to stay flat. */
const LINES_PER_CHUNK = 2000

/** Runs `copy` (a COPY ... FROM STDIN statement) on `client` with the lines yielded by `rows` (one or more per item); returns the line count. */
export async function copyRows (client: pg.ClientBase, copy: string, rows: Iterable<string>): Promise<number> {
  let count = 0
  function * chunks (): Generator<string> {
    let lines: string[] = []
    for (const row of rows) {
      lines.push(row)
      for (let i = row.indexOf('\n'); i !== -1; i = row.indexOf('\n', i + 1)) count++
      if (lines.length === LINES_PER_CHUNK) { yield lines.join(''); lines = [] }
    }
    if (lines.length > 0) yield lines.join('')
  }
  await pipeline(Readable.from(chunks(), { objectMode: false }), client.query(copyFrom(copy)))
  return count
}
