// READ_DATABASE_URL: GET requests read from a streaming replica, with read-your-writes for the account that just wrote
// (through this instance) and a lag bound; everything else, and every read while the replica is unusable, goes to the
// primary. The choice is made per connection by a Kysely driver, so services and repositories do not change.
import { AsyncLocalStorage } from 'node:async_hooks'
import { Kysely, PostgresDialect, PostgresDriver, sql, type DatabaseConnection, type Driver, type TransactionSettings } from 'kysely'
import type { FastifyBaseLogger } from 'fastify'
import type { Database } from './schema.js'
import type { DatabaseHandle } from './database.js'
import { isConnectionError } from './pg-errors.js'

export interface ReadReplicaOptions { checkMs: number, maxLagMs: number }

export interface ReplicaStatus {
  /** Reads may go to the replica: it answered the last check and is within the lag bound. */
  usable: boolean
  /** How far behind the primary the replica was at the last check (ms, check interval granularity). */
  lagMs?: number
  /** Accounts whose reads stay on the primary until the replica has replayed their last write. */
  pinnedAccounts: number
}

/** 'X/Y' (two hex halves) as one comparable number. */
function parseLsn (lsn: string): bigint {
  const [hi, lo] = lsn.split('/')
  return (BigInt(`0x${hi ?? '0'}`) << 32n) + BigInt(`0x${lo ?? '0'}`)
}

async function currentLsn (db: Kysely<Database>): Promise<bigint> {
  const { rows } = await sql<{ lsn: string }>`select pg_current_wal_lsn()::text as lsn`.execute(db)
  return parseLsn(rows[0]?.lsn ?? '0/0')
}

export class ReadReplica {
  /**
   * The GET request in progress (see plugins/read-routing.ts): its account, and where its first connection came from,
   * so all its queries read one database even if the replica's state changes meanwhile.
   */
  private readonly reading = new AsyncLocalStorage<{ accountId: number, replica?: boolean }>()
  /** Per account, the primary's WAL position after its last write; undefined until the next check (LSN unknown). */
  private readonly pinned = new Map<number, bigint | undefined>()
  /** The primary's WAL position at recent checks: the replica's lag is the age of the newest one it has replayed. */
  private samples: Array<{ lsn: bigint, at: number }> = []
  private replayed?: bigint
  private caughtUpAt?: number
  private reachable = false
  private timer?: NodeJS.Timeout
  private checking = false

  private readonly primary: Kysely<Database>
  private readonly replica: Kysely<Database>
  private readonly options: ReadReplicaOptions
  private readonly log: FastifyBaseLogger

  /** `primary` and `replica` are plain (non-routing) databases: the checks must reach each one for sure. */
  constructor (primary: Kysely<Database>, replica: Kysely<Database>, options: ReadReplicaOptions, log: FastifyBaseLogger) {
    this.primary = primary
    this.replica = replica
    this.options = options
    this.log = log
  }

  /** Runs `fn` (the rest of a GET request) with its reads routed for `accountId`. */
  readAs (accountId: number, fn: () => void): void { this.reading.run({ accountId }, fn) }

  /** After a write by `accountId` committed: its reads stay on the primary until the replica has replayed it. */
  async noteWrite (accountId: number): Promise<void> {
    try {
      const lsn = await currentLsn(this.primary)
      const before = this.pinned.get(accountId)
      this.pinned.set(accountId, before !== undefined && before > lsn ? before : lsn)
    } catch {
      // Position unknown (primary unreachable): pinned until the next check takes one.
      this.pinned.set(accountId, undefined)
    }
  }

  /** Whether the connection being acquired now may come from the replica. */
  useReplica (): boolean {
    const request = this.reading.getStore()
    if (request === undefined) return false
    request.replica ??= this.replicaFor(request.accountId)
    return request.replica
  }

  private replicaFor (accountId: number): boolean {
    if (!this.reachable || this.caughtUpAt === undefined || this.replayed === undefined) return false
    // Age measured now, not at the last check: a stalled check cannot let staleness grow past the bound.
    if (Date.now() - this.caughtUpAt > this.options.maxLagMs) return false
    if (!this.pinned.has(accountId)) return true
    const lsn = this.pinned.get(accountId)
    if (lsn === undefined || this.replayed < lsn) return false
    this.pinned.delete(accountId)
    return true
  }

  /** A replica connection failed: reads go to the primary until a check succeeds again. */
  markUnreachable (err: unknown): void {
    const request = this.reading.getStore()
    if (request !== undefined) request.replica = false
    if (this.reachable) this.log.warn({ err }, 'read replica unreachable; reads go to the primary')
    this.reachable = false
  }

  status (): ReplicaStatus {
    const lagMs = this.caughtUpAt === undefined ? undefined : Date.now() - this.caughtUpAt
    return { usable: this.reachable && lagMs !== undefined && lagMs <= this.options.maxLagMs, lagMs, pinnedAccounts: this.pinned.size }
  }

  async check (): Promise<void> {
    if (this.checking) return
    this.checking = true
    try {
      // The primary down: nothing to compare with; the lag grows on its own and reads stay on the primary's errors.
      const sample = await currentLsn(this.primary).then((lsn) => ({ lsn, at: Date.now() }), () => undefined)
      if (sample === undefined) return
      // Older samples than the lag bound could only say "too far behind", which the age of caughtUpAt says already.
      this.samples = [...this.samples, sample].slice(-(Math.ceil(this.options.maxLagMs / this.options.checkMs) + 2))
      for (const [accountId, lsn] of this.pinned) if (lsn === undefined) this.pinned.set(accountId, sample.lsn)
      const { rows } = await sql<{ lsn: string | null }>`select pg_last_wal_replay_lsn()::text as lsn`.execute(this.replica)
      const replayedText = rows[0]?.lsn ?? null
      if (replayedText === null) throw new Error('READ_DATABASE_URL is not a standby (pg_last_wal_replay_lsn() is null)')
      const replayed = parseLsn(replayedText)
      const newest = this.samples.filter((s) => s.lsn <= replayed).at(-1)
      if (newest !== undefined) this.caughtUpAt = newest.at
      // Samples older than the newest replayed one say nothing more; keep the rest.
      this.samples = this.samples.filter((s) => newest === undefined || s.at >= newest.at)
      this.replayed = replayed
      for (const [accountId, lsn] of this.pinned) if (lsn !== undefined && lsn <= replayed) this.pinned.delete(accountId)
      if (!this.reachable) this.log.info('read replica reachable; GET requests read from it')
      this.reachable = true
    } catch (err) {
      this.markUnreachable(err)
    } finally {
      this.checking = false
    }
  }

  start (): void {
    // check() catches its own failures.
    this.check().catch(() => {})
    this.timer = setInterval(() => { this.check().catch(() => {}) }, this.options.checkMs)
    this.timer.unref()
  }

  stop (): void { clearInterval(this.timer) }
}

/** Hands out replica connections while `replica.useReplica()` says so, primary connections otherwise. */
class RoutingDriver implements Driver {
  private readonly owners = new WeakMap<DatabaseConnection, PostgresDriver>()
  private readonly primary: PostgresDriver
  private readonly replica: PostgresDriver
  private readonly router: ReadReplica
  constructor (primary: PostgresDriver, replica: PostgresDriver, router: ReadReplica) {
    this.primary = primary
    this.replica = replica
    this.router = router
  }

  async init (): Promise<void> {
    await this.primary.init()
    await this.replica.init()
  }

  async acquireConnection (): Promise<DatabaseConnection> {
    if (this.router.useReplica()) {
      try {
        return this.own(await this.replica.acquireConnection(), this.replica)
      } catch (err) {
        if (!isConnectionError(err)) throw err
        // A replica that went down since the last check: this read, and the next ones, go to the primary.
        this.router.markUnreachable(err)
      }
    }
    return this.own(await this.primary.acquireConnection(), this.primary)
  }

  private own (connection: DatabaseConnection, driver: PostgresDriver): DatabaseConnection {
    this.owners.set(connection, driver)
    return connection
  }

  private ownerOf (connection: DatabaseConnection): PostgresDriver { return this.owners.get(connection) ?? this.primary }
  async beginTransaction (c: DatabaseConnection, settings: TransactionSettings): Promise<void> { await this.ownerOf(c).beginTransaction(c, settings) }
  async commitTransaction (c: DatabaseConnection): Promise<void> { await this.ownerOf(c).commitTransaction(c) }
  async rollbackTransaction (c: DatabaseConnection): Promise<void> { await this.ownerOf(c).rollbackTransaction(c as never) }
  async savepoint (c: DatabaseConnection, name: string, compile: Parameters<PostgresDriver['savepoint']>[2]): Promise<void> { await this.ownerOf(c).savepoint(c, name, compile) }
  async rollbackToSavepoint (c: DatabaseConnection, name: string, compile: Parameters<PostgresDriver['savepoint']>[2]): Promise<void> { await this.ownerOf(c).rollbackToSavepoint(c, name, compile) }
  async releaseSavepoint (c: DatabaseConnection, name: string, compile: Parameters<PostgresDriver['savepoint']>[2]): Promise<void> { await this.ownerOf(c).releaseSavepoint(c, name, compile) }
  async releaseConnection (c: DatabaseConnection): Promise<void> { await this.ownerOf(c).releaseConnection(c as never) }
  // The pools belong to their handles, which end them.
  async destroy (): Promise<void> {}
}

/** A Kysely over both pools that routes as `router` decides; the primary handle keeps running migrations and jobs. */
export function routingDatabase (primary: DatabaseHandle, replica: DatabaseHandle, router: ReadReplica): Kysely<Database> {
  if (primary.pool === undefined || replica.pool === undefined) throw new Error('read replicas need PostgreSQL on both sides')
  const driver = new RoutingDriver(new PostgresDriver({ pool: primary.pool }), new PostgresDriver({ pool: replica.pool }), router)
  class RoutingDialect extends PostgresDialect { override createDriver (): Driver { return driver } }
  return new Kysely<Database>({ dialect: new RoutingDialect({ pool: primary.pool }) })
}
