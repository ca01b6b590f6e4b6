// Records (CRM v3 objects): read by id or unique identifier, list, update, archive. Creation (single, with inline
// associations, and batches) is in records-batch.service.ts; the property and identifier rules below are shared with it.
import type { Kysely } from 'kysely'
import { inTransaction } from '../db/transaction.js'
import type { Database, PropertyValues, RecordRow } from '../db/schema.js'
import type { Executor } from '../db/executor.js'
import * as repo from '../repositories/records.repository.js'
import { sqlState, UNIQUE_VIOLATION } from '../db/pg-errors.js'
import { normaliseUniqueValue } from '../lib/unique-values.js'
import { decodeCursor, encodeCursor } from '../lib/paging.js'
import { ConflictError, InvalidInputError, ObjectNotFoundError, withDetails } from '../errors.js'
import type { ObjectType, ObjectTypesService } from './object-types.service.js'
import type { RecordList, SimplePublicObject } from '../schemas/records.schemas.js'
import { NO_ACTOR, type Actor } from './events.service.js'

export type PropertyInput = Record<string, string | number | boolean | null>

/** Properties HubSpot computes itself; a write to them is refused. */
const READ_ONLY = new Set(['hs_object_id', 'createdate', 'lastmodifieddate', 'hs_lastmodifieddate', 'hs_createdate'])
const MAX_RECORD_ID = Number.MAX_SAFE_INTEGER

export interface ReadOptions { properties?: string[], idProperty?: string }

/** Work that must happen in the archiving transaction (the association cascade, with its change events). */
export type ArchiveHook = (trx: Executor, accountId: number, type: ObjectType, id: number, actor: Actor) => Promise<void>

export function createRecordsService (db: Kysely<Database>, objectTypes: ObjectTypesService, archiveHooks: ArchiveHook[] = []) {
  /** Finds a live record by id, or by a unique identifier when `idProperty` names one. 404 when absent. */
  async function find (exec: Executor, accountId: number, type: ObjectType, idOrValue: string, idProperty?: string): Promise<RecordRow> {
    let id: number | undefined
    if (idProperty === undefined || idProperty === 'hs_object_id') {
      id = parseRecordId(idOrValue)
    } else {
      if (!type.uniqueProperties.includes(idProperty)) {
        throw withDetails(new InvalidInputError(`idProperty '${idProperty}' is not a unique property of ${type.name}; use one of: hs_object_id${type.uniqueProperties.map((p) => ', ' + p).join('')}`), {
          context: { idProperty: [idProperty] }
        })
      }
      const value = normaliseUniqueValue(idProperty, idOrValue)
      // No stored identifier is empty or holds NUL (which PostgreSQL cannot even compare): such a value finds nothing.
      id = value === '' || value.includes('\u0000') ? undefined : await repo.findRecordIdByKey(exec, accountId, type.typeId, { property: idProperty, value })
    }
    const row = id === undefined ? undefined : await repo.findRecord(exec, accountId, type.typeId, id)
    if (row === undefined) {
      throw withDetails(new ObjectNotFoundError(`No ${type.singular.toLowerCase()} with ${idProperty ?? 'ID'} ${idOrValue.slice(0, 200)} exists`), {
        context: { id: [idOrValue.slice(0, 200)], objectType: [type.typeId] }
      })
    }
    return row
  }

  return {
    find,

    async get (accountId: number, typeSegment: string, idOrValue: string, options: ReadOptions = {}): Promise<SimplePublicObject> {
      const type = await objectTypes.resolve(accountId, typeSegment)
      const row = await find(db, accountId, type, idOrValue, options.idProperty)
      return toPublicObject(row, splitList(options.properties))
    },

    async list (accountId: number, typeSegment: string, limit: number, after?: string, properties?: string[]): Promise<RecordList> {
      const type = await objectTypes.resolve(accountId, typeSegment)
      const afterId = after === undefined ? 0 : decodeCursor(after, ['id']).id
      const rows = await repo.listRecords(db, accountId, type.typeId, afterId, limit + 1)
      const page = rows.slice(0, limit)
      const wanted = splitList(properties)
      const last = page.at(-1)
      return {
        results: page.map((r) => toPublicObject(r, wanted)),
        ...(rows.length > limit && last !== undefined ? { paging: { next: { after: encodeCursor({ id: last.id }) } } } : {})
      }
    },

    async update (accountId: number, typeSegment: string, idOrValue: string, input: PropertyInput, idProperty?: string): Promise<SimplePublicObject> {
      const type = await objectTypes.resolve(accountId, typeSegment)
      const { set, remove } = splitProperties(input)
      const row = await inTransaction(db, async (trx) => {
        const current = await find(trx, accountId, type, idOrValue, idProperty)
        const changedKeys = uniqueKeys(type, set)
        const clearedKeys = remove.filter((p) => type.uniqueProperties.includes(p))
        const replaced = [...changedKeys.map((k) => k.property), ...clearedKeys]
        await assertKeysFree(trx, accountId, type, changedKeys, current.id)
        await repo.deleteRecordKeys(trx, accountId, type.typeId, current.id, replaced)
        await insertKeys(trx, accountId, type, current.id, changedKeys)
        return await repo.updateRecordProperties(trx, accountId, type.typeId, current.id, set, remove)
      })
      if (row === undefined) throw new ObjectNotFoundError(`No ${type.singular.toLowerCase()} with ID ${idOrValue} exists`)
      return toPublicObject(row)
    },

    /** Archives a record and frees its unique identifiers. Hooks (associations) run in the same transaction. */
    async archive (accountId: number, typeSegment: string, idOrValue: string, actor: Actor = NO_ACTOR): Promise<void> {
      const type = await objectTypes.resolve(accountId, typeSegment)
      await inTransaction(db, async (trx) => {
        const row = await find(trx, accountId, type, idOrValue)
        if (!await repo.archiveRecord(trx, accountId, type.typeId, row.id)) {
          throw new ObjectNotFoundError(`No ${type.singular.toLowerCase()} with ID ${idOrValue} exists`)
        }
        await repo.deleteRecordKeys(trx, accountId, type.typeId, row.id)
        for (const hook of archiveHooks) await hook(trx, accountId, type, row.id, actor)
      })
    }
  }

  async function assertKeysFree (exec: Executor, accountId: number, type: ObjectType, keys: repo.RecordKey[], self?: number): Promise<void> {
    const owners = (await repo.findKeyOwners(exec, accountId, type.typeId, keys)).filter((o) => o.record_id !== self)
    const owner = owners[0]
    if (owner !== undefined) throw duplicateError(type, owner)
  }

  async function insertKeys (exec: Executor, accountId: number, type: ObjectType, recordId: number, keys: repo.RecordKey[]): Promise<void> {
    try {
      await repo.insertRecordKeys(exec, accountId, type.typeId, recordId, keys)
    } catch (err) {
      // A concurrent writer took the identifier between the check and the insert.
      if (sqlState(err) === UNIQUE_VIOLATION) {
        throw withDetails(new ConflictError(`A ${type.singular.toLowerCase()} with the same unique identifier was created concurrently`), {
          context: { properties: keys.map((k) => k.property) }
        })
      }
      throw err
    }
  }
}

export type RecordsService = ReturnType<typeof createRecordsService>

export function duplicateError (type: ObjectType, owner: repo.RecordKey & { record_id: number }): Error {
  return withDetails(new ConflictError(`${type.singular} already exists. Existing ID: ${owner.record_id}`), {
    subCategory: 'crm.objects.DUPLICATE_UNIQUE_VALUE',
    context: { existingId: [String(owner.record_id)], property: [owner.property], value: [owner.value] }
  })
}

export function parseRecordId (value: string): number {
  const id = /^\d{1,16}$/.test(value) ? Number(value) : NaN
  if (!Number.isSafeInteger(id) || id < 1 || id > MAX_RECORD_ID) {
    throw withDetails(new InvalidInputError(`Invalid record ID '${value.slice(0, 100)}': record IDs are positive integers`), {
      context: { id: [value.slice(0, 100)] }
    })
  }
  return id
}

export function splitProperties (input: PropertyInput): { set: PropertyValues, remove: string[] } {
  const set: PropertyValues = {}
  const remove: string[] = []
  for (const [name, value] of Object.entries(input)) {
    if (READ_ONLY.has(name)) {
      throw withDetails(new InvalidInputError(`Property '${name}' is read-only`), { context: { propertyName: [name] } })
    }
    if (value === null || value === '') remove.push(name)
    else if (typeof value === 'string' && value.includes('\u0000')) {
      // PostgreSQL text and jsonb cannot hold NUL; refuse it here rather than fail in the database.
      throw withDetails(new InvalidInputError(`Property '${name}' contains a NUL character`), { context: { propertyName: [name] } })
    } else set[name] = String(value)
  }
  return { set, remove }
}

export function uniqueKeys (type: ObjectType, set: PropertyValues): repo.RecordKey[] {
  const keys: repo.RecordKey[] = []
  for (const property of type.uniqueProperties) {
    const raw = set[property]
    if (raw === undefined) continue
    const value = normaliseUniqueValue(property, raw)
    if (value === '') throw withDetails(new InvalidInputError(`Property '${property}' has no usable value: '${raw}'`), { context: { propertyName: [property] } })
    keys.push({ property, value })
  }
  return keys
}

/** Splits repeated and comma-separated list parameters into one list. */
export function splitList (values?: string[]): string[] | undefined {
  if (values === undefined) return undefined
  return values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '')
}

export function toPublicObject (row: RecordRow, wanted?: string[]): SimplePublicObject {
  const computed: Record<string, string> = {
    hs_object_id: String(row.id),
    createdate: row.created_at.toISOString(),
    lastmodifieddate: row.updated_at.toISOString()
  }
  let properties: Record<string, string | null>
  if (wanted === undefined || wanted.length === 0) {
    properties = { ...row.properties, ...computed }
  } else {
    properties = { ...computed }
    for (const name of wanted) properties[name] = row.properties[name] ?? computed[name] ?? null
  }
  return {
    id: String(row.id),
    properties,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    archived: row.archived_at !== null,
    ...(row.archived_at !== null ? { archivedAt: row.archived_at.toISOString() } : {})
  }
}
