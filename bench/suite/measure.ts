// One measured figure and how repeated runs of it are reduced: each operation runs `runs` times, interleaved with
// the others (so that a noisy minute on the shared machine hits every figure alike), and the median run is kept.
import type autocannon from 'autocannon'
import { cannon } from '../lib.js'

export interface Sample {
  /** Per second, in `unit`. */
  rate: number
  unit: string
  p50: number
  p99: number
  /** Non-2xx answers and socket errors (or failed transactions, failed import rows). */
  failures: number
  /** The service's RSS when the run started and its highest during the run (bytes). */
  serviceRssBefore?: number
  serviceRss?: number
}

export interface Measured { key: string, title: string, samples: Sample[] }

/**
 * A figure taken with a fresh run each round: an autocannon run, a pgbench run, a COPY... `prepare` runs before each
 * run, untimed (to undo what the previous run left behind).
 */
export interface Operation { key: string, title: string, run: (seconds: number) => Promise<Sample>, prepare?: () => Promise<void> }

export interface HttpOptions {
  unit?: string
  /** Requests/s to `unit`/s, when one request carries many pairs or rows. */
  perRequest?: number
  /**
   * Slow requests (seconds each): a run is this many requests instead of a time, so that every request sent is
   * answered and counted (a timed run drops the ones in flight at its end); each may take up to 120 s.
   */
  requests?: number
}

export function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length === 0 ? 0 : sorted.length % 2 === 1 ? sorted[mid] as number : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

/** The median run by rate, with its own latencies; failures summed over every run. */
export function medianSample (samples: Sample[]): Sample {
  const sorted = [...samples].sort((a, b) => a.rate - b.rate)
  const mid = sorted[Math.floor((sorted.length - 1) / 2)] as Sample
  return {
    ...mid,
    rate: median(samples.map((s) => s.rate)),
    p99: median(samples.map((s) => s.p99)),
    p50: median(samples.map((s) => s.p50)),
    failures: samples.reduce((n, s) => n + s.failures, 0),
    serviceRss: Math.max(...samples.map((s) => s.serviceRss ?? 0))
  }
}

export function httpOperation (key: string, title: string, setup: Partial<autocannon.Options>, connections: number, options: HttpOptions = {}): Operation {
  return {
    key,
    title,
    async run (seconds) {
      const counted = options.requests === undefined ? {} : { amount: options.requests, timeout: 120 }
      // A counted run ends with its last answer: the duration must not cut it short.
      const started = performance.now()
      const r = await cannon(title, { ...setup, ...counted }, connections, options.requests === undefined ? seconds : 24 * 3600)
      // autocannon reports a run's length in whole seconds: a counted run's rate comes from its wall time instead.
      const rps = options.requests === undefined ? r.rps : options.requests / ((performance.now() - started) / 1000)
      return { rate: rps * (options.perRequest ?? 1), unit: options.unit ?? 'req/s', p50: r.p50, p99: r.p99, failures: r.errors }
    }
  }
}

/**
 * Runs every operation `runs` times, round-robin, after one warm-up run each. Before each run `settle` waits for the
 * database to be idle: queries a run leaves behind (the service finishes requests after the client has gone) would
 * otherwise be charged to the next figure.
 */
export interface RunHooks { settle: () => Promise<void>, progress: (what: string) => void, rssNow: () => number, rssSinceMark: () => number }

export async function interleaved (operations: Operation[], runs: number, seconds: number, warmupSeconds: number, hooks: RunHooks): Promise<Measured[]> {
  const { settle, progress } = hooks
  const measured = operations.map((op) => ({ key: op.key, title: op.title, samples: [] as Sample[] }))
  const once = async (op: Operation, s: number): Promise<Sample> => {
    await op.prepare?.()
    await settle()
    const before = hooks.rssNow()
    hooks.rssSinceMark()
    const sample = await op.run(s)
    return { ...sample, serviceRssBefore: before, serviceRss: hooks.rssSinceMark() }
  }
  for (const op of operations) {
    progress(`warm-up: ${op.title}`)
    await once(op, warmupSeconds)
  }
  for (let round = 1; round <= runs; round++) {
    for (const [i, op] of operations.entries()) {
      progress(`run ${round}/${runs}: ${op.title}`)
      measured[i]?.samples.push(await once(op, seconds))
    }
  }
  return measured
}
