// The change feed of associations: who made a change (the actor passed by routes), the event scopes association
// writes hand to their repositories, the cursor walk over the events table, and the retention purge job.
import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.js'
import * as repo from '../repositories/events.repository.js'
import { purgeDeliveries } from '../repositories/webhooks.repository.js'
import { decodeCursor, encodeCursor } from '../lib/paging.js'
import { periodicTask, type PeriodicTask } from '../lib/periodic-task.js'
import { InvalidInputError, withDetails } from '../errors.js'
import type { AssociationEvent, EventPage } from '../schemas/events.schemas.js'

/** Who makes a change: the request's correlation id and API key id; both null for imports and the command line. */
export interface Actor { correlationId: string | null, apiKeyId: number | null }

/** The actor of writes made by the service itself (imports, command line, tests that call services). */
export const NO_ACTOR: Actor = Object.freeze({ correlationId: null, apiKeyId: null })

/** The actor of an authenticated request (its id is the correlation id every answer carries). */
export function actorOf (request: { id: string, principal: { keyId: number } }): Actor {
  return { correlationId: request.id, apiKeyId: request.principal.keyId }
}

/** Events of a from -> to write: one per association and type, from the `from` side. */
export function pairScope (actor: Actor, fromType: string, toType: string, cause?: repo.EventCause): repo.EventScope {
  return { correlationId: actor.correlationId, apiKeyId: actor.apiKeyId, side: repo.pairSide(fromType, toType), ...(cause !== undefined ? { cause } : {}) }
}

export interface EventsConfig { EVENT_RETENTION_DAYS: number, EVENT_PURGE_INTERVAL_MS: number }

export interface PurgeLog { warn: (obj: object, msg: string) => void, info: (obj: object, msg: string) => void }

export const FEED_LIMIT_MAX = 1000
const PURGE_CHUNK = 10_000
const START: repo.FeedPosition = { xid: '0', id: 0 }

export function toEvent (row: repo.EventRow): AssociationEvent {
  return {
    id: String(row.id),
    kind: row.kind,
    occurredAt: row.occurred_at.toISOString(),
    fromObjectTypeId: row.from_type,
    fromObjectId: row.from_id,
    toObjectTypeId: row.to_type,
    toObjectId: row.to_id,
    associationTypeId: row.type_id,
    associationCategory: row.category,
    label: row.label,
    cause: row.cause,
    correlationId: row.correlation_id,
    apiKeyId: row.api_key_id === null ? null : String(row.api_key_id)
  }
}

export function encodePosition (p: repo.FeedPosition): string {
  return encodeCursor({ x: Number(p.xid), i: p.id })
}

export function createEventsService (db: Kysely<Database>, config: EventsConfig) {
  let purgeTask: PeriodicTask | undefined

  /** Deletes events and finished webhook deliveries older than EVENT_RETENTION_DAYS; returns how many events. */
  async function purge (): Promise<number> {
    let total = 0
    // Chunks, so the single PGlite connection is never held for long.
    for (const [table, purgeChunk] of [['events', repo.purgeEvents], ['deliveries', purgeDeliveries]] as const) {
      for (;;) {
        const n = await purgeChunk(db, config.EVENT_RETENTION_DAYS, PURGE_CHUNK)
        if (table === 'events') total += n
        if (n < PURGE_CHUNK) break
        await new Promise((resolve) => setImmediate(resolve))
      }
    }
    return total
  }

  return {
    /**
     * A page of the account's events after the cursor `after` (the start when absent), in feed order. The answer
     * always carries `paging.next.after`: the position to read from next, unchanged when nothing new was visible.
     */
    async feed (accountId: number, after: string | undefined, limit = 100): Promise<EventPage> {
      if (limit > FEED_LIMIT_MAX || limit < 1) {
        throw withDetails(new InvalidInputError(`limit must be between 1 and ${FEED_LIMIT_MAX}`), { context: { limit: [String(limit)] } })
      }
      const position = after === undefined ? START : (({ x, i }) => ({ xid: String(x), id: i }))(decodeCursor(after, ['x', 'i']))
      const { rows, scanned } = await repo.readFeed(db, accountId, position, limit)
      return { results: rows.map(toEvent), paging: { next: { after: encodePosition(scanned ?? position) } } }
    },

    purge,

    /** Starts the periodic purge (on app ready); a failed run is logged and retried at the next tick. */
    startPurge (log: PurgeLog): void {
      purgeTask ??= periodicTask(async () => {
        try {
          const n = await purge()
          if (n > 0) log.info({ events: n }, 'purged old association events')
        } catch (err) {
          log.warn({ err }, 'association event purge failed')
        }
      }, config.EVENT_PURGE_INTERVAL_MS)
      purgeTask.start()
    },

    async stopPurge (): Promise<void> {
      await purgeTask?.stop()
    }
  }
}

export type EventsService = ReturnType<typeof createEventsService>
