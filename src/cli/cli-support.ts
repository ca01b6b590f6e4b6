// What the operator CLIs share: where they write, the usage error, and opening the server's database.
import { loadConfig, type Config } from '../config.js'
import { openDatabase, type DatabaseHandle } from '../db/database.js'

export interface CliIo {
  stdout: (text: string) => void
  stderr: (text: string) => void
}

export const processIo: CliIo = {
  stdout: (text) => { process.stdout.write(text) },
  stderr: (text) => { process.stderr.write(text) }
}

/** Bad arguments: the CLI prints the message and its usage, and exits 2. */
export class UsageError extends Error {}

/**
 * The configuration and the database the server uses (DATABASE_URL, or PGlite in DATA_DIR), or `existing` when a test
 * passes one. Undefined, after saying why on stderr, when either cannot be had (the CLI then exits 1).
 */
export async function openCliDatabase (io: CliIo, env: Record<string, string | undefined>, existing: DatabaseHandle | undefined, poolMax: number): Promise<{ config: Config, handle: DatabaseHandle } | undefined> {
  let config: Config
  try {
    config = loadConfig(env)
  } catch (err) {
    io.stderr(`Invalid configuration: ${(err as Error).message}\n`)
    return undefined
  }
  try {
    const handle = existing ?? await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR, poolMax, timeoutMs: config.DB_TIMEOUT_MS })
    return { config, handle }
  } catch (err) {
    io.stderr(`Could not open the database: ${(err as Error).message}\n`)
    return undefined
  }
}
