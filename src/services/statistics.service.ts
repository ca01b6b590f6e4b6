// Keeps the planner's statistics of the hot tables fresh when autovacuum is off (as on some managed or test servers).
// Without them PostgreSQL keeps the row counts it saw when the tables were empty, and among indexes it then believes
// equally cheap it may pick one that scans every row of an account: bulk writes (imports, batches) slowed from
// milliseconds to seconds per chunk here. With autovacuum on, this does nothing.
import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.js'
import { analyzeTable, tablesDueForAnalyze } from '../repositories/statistics.repository.js'

const HOT_TABLES = ['records', 'record_keys', 'associations', 'association_counts', 'events']

export interface StatisticsLog { info: (obj: object, msg: string) => void, warn: (obj: object, msg: string) => void }

export function createStatisticsKeeper (db: Kysely<Database>, log: StatisticsLog) {
  let running: Promise<void> | null = null
  let timer: NodeJS.Timeout | undefined

  async function refresh (): Promise<void> {
    for (const table of await tablesDueForAnalyze(db, HOT_TABLES)) {
      const started = Date.now()
      await analyzeTable(db, table)
      log.info({ table, ms: Date.now() - started }, 'analyzed (autovacuum is off)')
    }
  }

  /** Analyzes the tables that are due; one check at a time (a call during a check waits for it). Never throws. */
  async function check (): Promise<void> {
    running ??= refresh()
      .catch((err: unknown) => { log.warn({ err }, 'statistics check failed') })
      .finally(() => { running = null })
    await running
  }

  let lastWriteCheck = 0

  return {
    check,
    /**
     * After a bulk write (an import chunk): a check, at most once per `minIntervalMs`. Reading the statistics views
     * costs a few milliseconds, as much as a small chunk's own statements; tables only fall behind after many chunks.
     */
    async checkAfterWrite (minIntervalMs = 1000): Promise<void> {
      const now = Date.now()
      if (now - lastWriteCheck < minIntervalMs) return
      lastWriteCheck = now
      await check()
    },
    start (intervalMs: number): void {
      if (timer !== undefined) return
      timer = setInterval(() => { check().catch(() => {}) }, intervalMs).unref()
    },
    async stop (): Promise<void> {
      clearInterval(timer)
      timer = undefined
      await running
    }
  }
}

export type StatisticsKeeper = ReturnType<typeof createStatisticsKeeper>
