// The suite's table: each figure beside its baseline from the same run, the ratio, the target and whether it
// is met; written as markdown and JSON under bench/results/.
import type { Sample } from './measure.js'

export interface Row {
  figure: string
  value: Sample
  baseline?: { title: string, value: Sample }
  /** figure / baseline, on rates or (for `p99`) on p99 latencies. */
  ratio?: number
  target?: string
  met?: boolean
}

const int = (n: number): string => Math.round(n).toLocaleString('en')
const ms = (n: number): string => n >= 100 ? n.toFixed(0) : n.toFixed(n >= 10 ? 1 : 2)

export function describe (s: Sample): string {
  const latency = s.p99 > 0 ? `, p50 ${ms(s.p50)} ms, p99 ${ms(s.p99)} ms` : ''
  return `${s.rate < 10 ? s.rate.toFixed(2) : int(s.rate)} ${s.unit}${latency}`
}

/** Compares rates: `figure` against `baseline`, met when the ratio reaches `min` (and `also` holds). */
export function rateRow (figure: string, value: Sample, baselineTitle: string, baseline: Sample, min?: number, also: { ok: boolean, text: string } = { ok: true, text: '' }): Row {
  const ratio = value.rate / baseline.rate
  return {
    figure, value, baseline: { title: baselineTitle, value: baseline }, ratio,
    ...(min !== undefined ? { target: `>= ${(min * 100).toFixed(0)}%${also.text}`, met: ratio >= min && also.ok } : {})
  }
}

/** Compares p99 latencies: met when figure p99 <= max x baseline p99. */
export function p99Row (figure: string, value: Sample, baselineTitle: string, baseline: Sample, max: number): Row {
  const ratio = value.p99 / baseline.p99
  return { figure, value, baseline: { title: baselineTitle, value: baseline }, ratio, target: `p99 <= ${max}x`, met: ratio <= max }
}

export function markdownTable (rows: Row[]): string {
  const lines = ['| figure | measured | non-2xx / failed | baseline (same run) | ratio | target | met |', '|---|---|---|---|---|---|---|']
  for (const r of rows) {
    const baseline = r.baseline === undefined ? '' : `${r.baseline.title}: ${describe(r.baseline.value)}`
    const percent = (x: number): string => `${x < 0.01 ? (x * 100).toPrecision(2) : (x * 100).toFixed(1)}%`
    const ratio = r.ratio === undefined ? '' : r.target?.startsWith('p99') === true ? `${r.ratio.toFixed(2)}x p99` : percent(r.ratio)
    const met = r.met === undefined ? '' : r.met ? 'met' : '**not met**'
    lines.push(`| ${r.figure} | ${describe(r.value)} | ${int(r.value.failures)} | ${baseline} | ${ratio} | ${r.target ?? ''} | ${met} |`)
  }
  return lines.join('\n')
}
