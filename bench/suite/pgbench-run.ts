// pgbench as the suite runs it: `-M prepared`, 8 clients, 2 threads, every transaction logged (-l) so that p50 and p99
// come from the real latencies, not from pgbench's average.
import { execFile } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'

export interface PgbenchResult { tps: number, p50: number, p99: number, failed: number }

const run = promisify(execFile)

export function percentile (sorted: Float64Array | number[], q: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] as number
}

export async function pgbench (url: string, script: string, vars: Record<string, number>, seconds: number, clients = 8): Promise<PgbenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'suite-pgbench-'))
  try {
    const { stdout } = await run('pgbench', ['-n', '-M', 'prepared', '-c', String(clients), '-j', String(Math.min(2, clients)), '-T', String(seconds), '-l', '--log-prefix=tx',
      '-f', resolve(script), ...Object.entries(vars).flatMap(([k, v]) => ['-D', `${k}=${v}`]), url], { cwd: dir, maxBuffer: 16 * 2 ** 20 })
    const tps = Number(/tps = ([\d.]+)/.exec(stdout)?.[1] ?? 0)
    const failed = Number(/number of failed transactions: (\d+)/.exec(stdout)?.[1] ?? 0)
    // Per-transaction log: client, transaction, latency in microseconds, ...
    const latencies: number[] = []
    for (const file of readdirSync(dir)) {
      for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
        const micros = Number(line.split(' ')[2])
        if (Number.isFinite(micros) && line !== '') latencies.push(micros / 1000)
      }
    }
    const sorted = Float64Array.from(latencies).sort()
    return { tps, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), failed }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
