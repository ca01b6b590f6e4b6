// How the runner cuts a file's rows into chunks (import-runner.ts chunksOf): committed rows skipped on resume, full
// chunks, chunks of wide rows ended early by their size, and a last chunk (empty when the previous one ended with the
// file) that marks the file's end.
import t from 'tap'
import { chunksOf } from '../../src/services/import-runner.js'
import type { ImportRow } from '../../src/services/import-types.js'

async function * rows (n: number, width = 2): AsyncGenerator<ImportRow> {
  for (let i = 1; i <= n; i++) yield { lineNumber: i + 1, values: [`r${i}`.padEnd(width, '.')] }
}

/** The chunks as lists of first cells, the last one marked with '(end)'. */
async function cut (source: AsyncIterable<ImportRow>, skip: number, size: number, chars?: number): Promise<string[][]> {
  const out: string[][] = []
  for await (const chunk of chunksOf(source, skip, size, chars)) {
    out.push([...chunk.rows.map((r) => (r.values[0] as string).replace(/\.+$/, '')), ...(chunk.last ? ['(end)'] : [])])
  }
  return out
}

t.test('full chunks, then a shorter last one', async (t) => {
  t.same(await cut(rows(5), 0, 2), [['r1', 'r2'], ['r3', 'r4'], ['r5', '(end)']])
})

t.test('rows that divide evenly end with an empty last chunk', async (t) => {
  t.same(await cut(rows(4), 0, 2), [['r1', 'r2'], ['r3', 'r4'], ['(end)']])
  t.same(await cut(rows(0), 0, 2), [['(end)']], 'an empty file is one empty last chunk')
})

t.test('resuming skips the committed rows, wherever the chunk boundary falls', async (t) => {
  t.same(await cut(rows(7), 3, 2), [['r4', 'r5'], ['r6', 'r7'], ['(end)']])
  t.same(await cut(rows(7), 7, 2), [['(end)']], 'everything committed: only the end')
})

t.test('wide rows end a chunk early, once its cells reach the character bound', async (t) => {
  // 1,000-character rows, at most 10 rows or 2,500 characters: chunks of 3 rows.
  t.same(await cut(rows(7, 1000), 0, 10, 2500), [['r1', 'r2', 'r3'], ['r4', 'r5', 'r6'], ['r7', '(end)']])
  t.same(await cut(rows(7, 10), 0, 10, 2500), [['r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7', '(end)']], 'narrow rows: the row bound alone')
})
