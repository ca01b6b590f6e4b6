// Samples a process's resident set size from /proc (no child process per sample, so the load generator is not
// disturbed); the kernel's own high-water mark (VmHWM) catches peaks between samples.
import { readFileSync } from 'node:fs'

function statusField (pid: number, field: string): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match === null ? 0 : Number(match[1]) * 1024
  } catch {
    return 0
  }
}

/** `peak`: over the whole life of the process; `peakSinceMark`: the highest sample since the last call (one run). */
export interface RssSampler { now: () => number, peak: () => number, peakSinceMark: () => number, stop: () => void }

export function sampleRss (pid: number, everyMs = 250): RssSampler {
  let peak = 0
  let sincePeak = 0
  const timer = setInterval(() => {
    const rss = statusField(pid, 'VmRSS')
    peak = Math.max(peak, rss)
    sincePeak = Math.max(sincePeak, rss)
  }, everyMs)
  timer.unref()
  return {
    now: () => statusField(pid, 'VmRSS'),
    peak: () => Math.max(peak, statusField(pid, 'VmHWM')),
    peakSinceMark: () => { const p = Math.max(sincePeak, statusField(pid, 'VmRSS')); sincePeak = 0; return p },
    stop: () => { clearInterval(timer) }
  }
}
