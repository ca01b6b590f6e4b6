// A job run every `intervalMs` (and once at start), one run at a time; the timer never keeps the process alive.
export interface PeriodicTask {
  start: () => void
  /** Clears the timer and waits for a run in progress. */
  stop: () => Promise<void>
}

/** `run` is told nothing of failures: it handles and logs its own (the next tick tries again). */
export function periodicTask (run: () => Promise<void>, intervalMs: number): PeriodicTask {
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> | null = null
  const tick = (): void => { running ??= run().catch(() => {}).finally(() => { running = null }) }
  return {
    start () {
      if (timer !== undefined) return
      timer = setInterval(tick, intervalMs).unref()
      tick()
    },
    async stop () {
      clearInterval(timer)
      timer = undefined
      await running
    }
  }
}
