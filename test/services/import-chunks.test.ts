// How the runner cuts a file's rows into chunks (import-runner.ts chunksOf): committed rows skipped on resume, full
// chunks, and a last chunk shorter than the chunk size (empty when the rows divide evenly) that marks the file's end.
import t from 'tap'
import { chunksOf } from '../../src/services/import-runner.js'
import type { ImportRow } from '../../src/services/import-types.js'

async function * rows (n: number): AsyncGenerator<ImportRow> {
  for (let i = 1; i <= n; i++) yield { lineNumber: i + 1, values: [`r${i}`] }
}

async function cut (n: number, skip: number, size: number): Promise<string[][]> {
  const out: string[][] = []
  for await (const chunk of chunksOf(rows(n), skip, size)) out.push(chunk.map((r) => r.values[0] as string))
  return out
}

t.test('full chunks, then a shorter last one', async (t) => {
  t.same(await cut(5, 0, 2), [['r1', 'r2'], ['r3', 'r4'], ['r5']])
})

t.test('rows that divide evenly end with an empty chunk', async (t) => {
  t.same(await cut(4, 0, 2), [['r1', 'r2'], ['r3', 'r4'], []])
  t.same(await cut(0, 0, 2), [[]], 'an empty file is one empty chunk')
})

t.test('resuming skips the committed rows, wherever the chunk boundary falls', async (t) => {
  t.same(await cut(7, 3, 2), [['r4', 'r5'], ['r6', 'r7'], []])
  t.same(await cut(7, 7, 2), [[]], 'everything committed: only the end')
})
