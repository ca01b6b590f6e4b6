// The real server (src/server.ts) as a child process, as production runs it: its own env, a port of its own, ready
// when /health/ready answers 200. Every process started here is SIGKILLed on teardown if it is still running.
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import type { Teardown } from './app.js'

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))
const SERVER = fileURLToPath(new URL('../../src/server.ts', import.meta.url))

export interface ServerProcess {
  child: ChildProcess
  baseUrl: string
  /** stderr and stdout lines so far (a failed start names its cause there). */
  output: string[]
  /** Resolves with the exit code or signal once the process has ended. */
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  /** Sends `signal` and waits for the process to end. */
  stop: (signal?: NodeJS.Signals) => Promise<void>
}

/** A port nobody listens on right now (taken by the server a moment later; a restart reuses it). */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => { resolve(port) })
    })
  })
}

/**
 * Starts `node --import tsx src/server.ts` with `env` over a quiet default (HOST 127.0.0.1, LOG_LEVEL warn) and waits
 * up to `readyTimeoutMs` for /health/ready. `env` must say where the data is (DATABASE_URL, or DATA_DIR) and the PORT.
 */
export async function startServer (t: Teardown, env: Record<string, string>, readyTimeoutMs = 60_000): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER], {
    cwd: REPO_ROOT,
    env: { ...process.env, HOST: '127.0.0.1', LOG_LEVEL: 'warn', DATABASE_URL: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const output: string[] = []
  for (const stream of [child.stdout, child.stderr]) stream?.on('data', (d: Buffer) => { output.push(...d.toString().split('\n').filter((l) => l !== '')) })
  let running = true
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => { running = false; resolve({ code, signal }) })
  })
  const stop = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    if (running) child.kill(signal)
    await exited
  }
  t.teardown(async () => { await stop('SIGKILL') })

  const baseUrl = `http://127.0.0.1:${env.PORT ?? ''}`
  const deadline = Date.now() + readyTimeoutMs
  for (;;) {
    if (!running) throw new Error(`the server exited before it was ready:\n${output.join('\n')}`)
    try {
      const res = await fetch(`${baseUrl}/health/ready`, { signal: AbortSignal.timeout(2000) })
      if (res.status === 200) break
    } catch {}
    if (Date.now() > deadline) {
      await stop('SIGKILL')
      throw new Error(`the server was not ready after ${readyTimeoutMs} ms:\n${output.join('\n')}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return { child, baseUrl, output, exited, stop }
}
