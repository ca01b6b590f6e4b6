// Process entry: config -> app -> bootstrap key -> graceful shutdown -> listen.
import closeWithGrace from 'close-with-grace'
import { loadConfig } from './config.js'
import { buildApp } from './app.js'
import { shutdownTelemetry } from './lib/service-spans.js'

async function main (): Promise<void> {
  let config
  try {
    config = loadConfig()
  } catch (err) {
    process.stderr.write(`Invalid configuration: ${(err as Error).message}\n`)
    process.exit(1)
  }
  const app = await buildApp(config, { prettyLogs: prettyLogsAvailable() })

  closeWithGrace({ delay: config.CLOSE_GRACE_DELAY_MS }, async ({ signal, err }) => {
    if (err !== undefined) app.log.error({ err }, 'closing after an error')
    else app.log.info({ signal }, 'closing')
    await app.close()
    // Spans still buffered (the last requests, the close itself) are sent before the process ends.
    await shutdownTelemetry()
  })

  const boot = await app.services.accounts.bootstrap(config.BOOTSTRAP_API_KEY)
  await app.listen({ host: config.HOST, port: config.PORT })
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : config.PORT
  const base = config.PUBLIC_URL ?? `http://localhost:${port}`
  app.log.info({ engine: app.dbEngine, port }, 'associations API ready')
  if (boot.created && config.BOOTSTRAP_API_KEY === undefined) {
    // Printed once, to the terminal only (not the log): only its hash is stored.
    process.stdout.write(`\n  Admin API key (shown once, store it now): ${boot.key}\n`)
  }
  process.stdout.write(`  Explorer: ${base}/docs    OpenAPI: ${base}/openapi.json    engine: ${app.dbEngine}\n\n`)
}

/** pino-pretty only when a person watches a terminal and it is installed (a dev dependency). */
function prettyLogsAvailable (): boolean {
  if (process.stdout.isTTY !== true) return false
  try {
    import.meta.resolve('pino-pretty')
    return true
  } catch {
    return false
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`Failed to start: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  process.exit(1)
})
