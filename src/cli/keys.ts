// `npm run keys -- <command>`: accounts and API keys from the command line, on the configured database.
import { parseArgs } from 'node:util'
import type { DatabaseHandle } from '../db/database.js'
import { openCliDatabase, processIo, UsageError, type CliIo } from './cli-support.js'
import { migrateToLatest } from '../db/migrator.js'
import { createServices } from '../plugins/services.js'
import { findOperatorAccount } from '../repositories/accounts.repository.js'
import { KEY_LIMIT_MAX, SCOPES } from '../lib/api-keys.js'
import type { ApiKeyView, Principal } from '../services/accounts.service.js'
import { isEntryPoint } from '../lib/entry-point.js'

export const USAGE = `Usage: npm run keys -- <command> [options]

Commands:
  create --name NAME [--scopes a,b] [--account ID]   create an API key; the key is printed once
  list [--account ID]                                list API keys (prefix only, never the secret)
  revoke KEY_ID [--account ID]                       revoke an API key
  limits KEY [--burst N|default] [--daily N|default] [--account ID]
                                                     set a key's own rate limits (KEY: its ID or prefix);
                                                     "default" goes back to RATE_LIMIT_BURST_PER_10S / RATE_LIMIT_DAILY.
                                                     In force from the key's next request, no restart needed
  create-account --name NAME                         create an account and its first admin key

Without --account the operator account is used.
--scopes defaults to every scope except admin. Scopes: ${SCOPES.join(', ')}
The database is the one the server uses (DATABASE_URL, or PGlite in DATA_DIR); stop a PGlite server first.
`

type Command =
  | { kind: 'create', name: string, scopes: string[], accountId?: number }
  | { kind: 'list', accountId?: number }
  | { kind: 'revoke', keyId: number, accountId?: number }
  | { kind: 'limits', key: number | string, burstPer10s?: number | null, daily?: number | null, accountId?: number }
  | { kind: 'create-account', name: string }
  | { kind: 'help' }

const ALLOWED: Record<string, readonly string[]> = {
  create: ['name', 'scopes', 'account'],
  list: ['account'],
  revoke: ['account'],
  limits: ['burst', 'daily', 'account'],
  'create-account': ['name']
}

function positiveId (value: string | undefined, what: string): number | undefined {
  if (value === undefined) return undefined
  if (!/^[1-9][0-9]{0,15}$/.test(value)) throw new UsageError(`${what} must be a positive integer, got "${value}"`)
  return Number(value)
}

/** A limit flag: a positive integer, "default" (null: the service-wide value) or absent (unchanged). */
function limitValue (value: string | undefined, what: string): number | null | undefined {
  if (value === undefined) return undefined
  if (value === 'default') return null
  const n = /^[1-9][0-9]{0,9}$/.test(value) ? Number(value) : NaN
  if (!(n <= KEY_LIMIT_MAX)) throw new UsageError(`${what} must be a positive integer up to ${KEY_LIMIT_MAX} or "default", got "${value}"`)
  return n
}

function requiredName (value: string | undefined): string {
  const name = value?.trim() ?? ''
  if (name === '' || name.length > 200) throw new UsageError('--name is required (1 to 200 characters)')
  return name
}

function parseScopes (value: string | undefined): string[] {
  if (value === undefined) return SCOPES.filter((s) => s !== 'admin')
  const scopes = [...new Set(value.split(',').map((s) => s.trim()).filter((s) => s !== ''))]
  const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s))
  if (scopes.length === 0) throw new UsageError('--scopes needs at least one scope')
  if (unknown.length > 0) throw new UsageError(`unknown scope(s): ${unknown.join(', ')}`)
  return scopes
}

export function parseCommand (argv: readonly string[]): Command {
  let parsed
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        name: { type: 'string' },
        scopes: { type: 'string' },
        account: { type: 'string' },
        burst: { type: 'string' },
        daily: { type: 'string' },
        help: { type: 'boolean', short: 'h' }
      }
    })
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  const { values, positionals } = parsed
  const [command, ...rest] = positionals
  if (values.help === true || command === 'help') return { kind: 'help' }
  if (command === undefined) throw new UsageError('a command is required')
  const allowed = ALLOWED[command]
  if (allowed === undefined) throw new UsageError(`unknown command "${command}"`)
  const extra = Object.keys(values).filter((k) => !allowed.includes(k))
  if (extra.length > 0) throw new UsageError(`${command} does not take --${extra.join(', --')}`)
  if (command !== 'revoke' && command !== 'limits' && rest.length > 0) throw new UsageError(`unexpected argument "${rest[0] ?? ''}"`)

  const accountId = positiveId(values.account, '--account')
  switch (command) {
    case 'create':
      return { kind: 'create', name: requiredName(values.name), scopes: parseScopes(values.scopes), accountId }
    case 'list':
      return { kind: 'list', accountId }
    case 'revoke': {
      if (rest.length !== 1) throw new UsageError('revoke takes exactly one KEY_ID')
      return { kind: 'revoke', keyId: positiveId(rest[0], 'KEY_ID') as number, accountId }
    }
    case 'limits': {
      if (rest.length !== 1) throw new UsageError('limits takes exactly one KEY (its ID or prefix)')
      const key = rest[0] as string
      const burstPer10s = limitValue(values.burst, '--burst')
      const daily = limitValue(values.daily, '--daily')
      if (burstPer10s === undefined && daily === undefined) throw new UsageError('limits needs --burst, --daily or both')
      return { kind: 'limits', key: /^[0-9]+$/.test(key) ? positiveId(key, 'KEY') as number : key, burstPer10s, daily, accountId }
    }
    default:
      return { kind: 'create-account', name: requiredName(values.name) }
  }
}

export interface KeysCliOptions {
  env?: Record<string, string | undefined>
  io?: CliIo
  /** An already open database (tests); it is left open. Without it the configured database is opened and closed. */
  database?: DatabaseHandle
}

/** Runs one command; returns the exit code (0 done, 1 failed, 2 bad arguments). */
export async function runKeysCli (argv: readonly string[], options: KeysCliOptions = {}): Promise<number> {
  const io = options.io ?? processIo
  let command: Command
  try {
    command = parseCommand(argv)
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    io.stderr(`Error: ${err.message}\n\n${USAGE}`)
    return 2
  }
  if (command.kind === 'help') {
    io.stdout(USAGE)
    return 0
  }
  const opened = await openCliDatabase(io, options.env ?? process.env, options.database, 2)
  if (opened === undefined) return 1
  const { config, handle } = opened
  try {
    await migrateToLatest(handle.db)
    const { accounts } = createServices(handle.db, config)
    if (command.kind === 'create-account') {
      const { account, key } = await accounts.createAccount(command.name)
      io.stdout(`Created account ${account.id} (${account.name}) with admin key ${key.id} (scopes: ${key.scopes.join(', ')}).\n`)
      io.stdout(`Key (shown once, store it now; only its hash is kept): ${key.key}\n`)
      return 0
    }
    // The CLI acts with the operator's rights: it can reach every account.
    const operator = await findOperatorAccount(handle.db)
    const accountId = command.accountId ?? operator?.id
    if (accountId === undefined) {
      io.stderr('There is no operator account yet: start the server once (it creates one) or pass --account ID.\n')
      return 1
    }
    const principal: Principal = { accountId, keyId: 0, scopes: SCOPES, isOperator: true }
    if (command.kind === 'create') {
      const key = await accounts.createKey(principal, accountId, command.name, command.scopes)
      io.stdout(`Created API key ${key.id} "${key.name}" for account ${accountId} (scopes: ${key.scopes.join(', ')}).\n`)
      io.stdout(`Key (shown once, store it now; only its hash is kept): ${key.key}\n`)
    } else if (command.kind === 'list') {
      io.stdout(formatKeys(await accounts.listKeys(principal, accountId), accountId))
    } else if (command.kind === 'limits') {
      const keyId = typeof command.key === 'number' ? command.key : Number((await accounts.findKeyByPrefix(principal, accountId, command.key)).id)
      const key = await accounts.setKeyLimits(principal, accountId, keyId, { burstPer10s: command.burstPer10s, daily: command.daily })
      io.stdout(`Rate limits of API key ${key.id} "${key.name}" (${key.prefix}…) of account ${accountId}: ` +
        `${describeLimit(key.rateLimitBurstPer10s, config.RATE_LIMIT_BURST_PER_10S)} per 10 s, ${describeLimit(key.rateLimitDaily, config.RATE_LIMIT_DAILY)} per day. ` +
        'In force from its next request.\n')
    } else {
      const key = await accounts.revokeKey(principal, accountId, command.keyId)
      io.stdout(`Revoked API key ${key.id} "${key.name}" (${key.prefix}…) of account ${accountId} at ${key.revokedAt ?? ''}.\n`)
    }
    return 0
  } catch (err) {
    io.stderr(`Error: ${(err as Error).message}\n`)
    return 1
  } finally {
    if (options.database === undefined) await handle.db.destroy().catch(() => {})
  }
}

function describeLimit (own: number | null, serviceDefault: number): string {
  return own === null ? `${serviceDefault} (service default)` : String(own)
}

function formatKeys (keys: readonly ApiKeyView[], accountId: number): string {
  if (keys.length === 0) return `Account ${accountId} has no API keys.\n`
  const rows = [['ID', 'PREFIX', 'NAME', 'STATUS', 'CREATED', 'LAST USED', 'LIMITS (10 S/DAY)', 'SCOPES']]
  for (const k of keys) {
    const limits = `${k.rateLimitBurstPer10s ?? 'default'}/${k.rateLimitDaily ?? 'default'}`
    rows.push([k.id, `${k.prefix}…`, k.name, k.revokedAt === null ? 'active' : `revoked ${k.revokedAt}`, k.createdAt, k.lastUsedAt ?? '-', limits, k.scopes.join(',')])
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? []
  return `API keys of account ${accountId}:\n` +
    rows.map((r) => r.map((cell, i) => i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)).join('  ')).join('\n') + '\n'
}

if (isEntryPoint(import.meta.url)) process.exitCode = await runKeysCli(process.argv.slice(2))
