// CRM v3 record writes that take many records or inline associations (API.md §6.1): batch create, read, update,
// upsert and archive, and the single create (one input of the same path). A batch is a constant number of set-based
// statements whatever its size: inputs are validated in memory, the rows they touch are read and locked up front (in id
// order), and each kind of write is one multi-row statement. A failed input writes nothing of its own; the others
// commit. Inline associations are written in the record's transaction by the batch association writer, with every
// association rule. Writes run in rounds under a savepoint: when a write-time check fails for some inputs (an identifier
// taken concurrently, an association cap), the round is undone and redone without them. Removing inputs never makes
// another input fail, so a second round is the most a batch needs in practice.
import type { Kysely } from 'kysely'
import type { Database, PropertyValues, RecordRow } from '../db/schema.js'
import type { Executor } from '../db/executor.js'
import { inTransaction } from '../db/transaction.js'
import { FOREIGN_KEY_VIOLATION, sqlState } from '../db/pg-errors.js'
import * as repo from '../repositories/records.repository.js'
import { toStandardError, type BatchOutcome, type StandardError } from '../lib/batch.js'
import { normaliseUniqueValue } from '../lib/unique-values.js'
import {
  ConflictError, InvalidInputError, LimitExceededError, ObjectNotFoundError, UnknownObjectTypeError, withDetails, type ErrorContext
} from '../errors.js'
import { duplicateError, parseRecordId, splitList, splitProperties, toPublicObject, uniqueKeys, type PropertyInput } from './records.service.js'
import type { ObjectType, ObjectTypesService } from './object-types.service.js'
import type { AssociationTypesService, PairTypes } from './association-types.service.js'
import type { AssociationsBatchService, PairInput } from './associations-batch.service.js'
import { validateSpecs } from './association-rules.js'
import type { AssociationSpec } from '../schemas/associations.schemas.js'
import type { PublicAssociationsForObject, SimplePublicObject } from '../schemas/records.schemas.js'
import type { SimplePublicUpsertObject } from '../schemas/records-batch.schemas.js'
import { NO_ACTOR, type Actor } from './events.service.js'

export interface RecordsBatchConfig { RECORD_BATCH_MAX: number }

export interface CreateInput { properties: PropertyInput, associations?: PublicAssociationsForObject[], objectWriteTraceId?: string }
export interface ReadRequest { inputs: Array<{ id: string }>, properties?: string[], idProperty?: string }
export interface UpdateInput { id: string, idProperty?: string, properties: PropertyInput }
export interface UpsertInput { id: string, idProperty: string, properties: PropertyInput }

/** An inline association, validated: the pair (new record -> target type), the target and its types. */
interface Link { pair: PairTypes, toId: number, types: AssociationSpec[] }

interface CreatePlan { index: number, set: PropertyValues, keys: repo.RecordKey[], links: Link[], id?: number }
interface UpdatePlan { index: number, recordId: number, set: PropertyValues, remove: string[], keys: repo.RecordKey[], replaced: string[] }

const SAVEPOINT = 'record_batch_round'

const keyId = (k: repo.RecordKey): string => `${k.property}\u0000${k.value}`

/** Rebuilds a domain error from an association batch entry (its category decides the status). */
function errorFromStandard (entry: StandardError): Error {
  // The new record's id is no use to the caller: the record was not created.
  const { fromObjectId: _unused, ...context } = entry.context
  const details = { context, ...(entry.subCategory !== undefined ? { subCategory: entry.subCategory } : {}) }
  switch (entry.category) {
    case 'OBJECT_NOT_FOUND': return withDetails(new ObjectNotFoundError(entry.message), details)
    case 'LIMITS_ERROR': return withDetails(new LimitExceededError(entry.message), details)
    case 'CONFLICT': return withDetails(new ConflictError(entry.message), details)
    default: return withDetails(new InvalidInputError(entry.message), details)
  }
}

function invalidAssociations (specs: AssociationSpec[], reasons: string[]): Error {
  return withDetails(new InvalidInputError('One or more associations are invalid'), {
    subCategory: 'crm.associations.INVALID_ASSOCIATION_TYPE',
    context: { associationSpec: specs.map((s) => `${s.associationCategory}=${s.associationTypeId}`), INVALID_ASSOCIATION_TYPE_ID: reasons }
  })
}

function notFound (type: ObjectType, idOrValue: string, idProperty?: string): Error {
  return withDetails(new ObjectNotFoundError(`No ${type.singular.toLowerCase()} with ${idProperty ?? 'ID'} ${idOrValue.slice(0, 200)} exists`), {
    subCategory: 'crm.objects.OBJECT_NOT_FOUND', context: { objectType: [type.typeId] }
  })
}

/** `idProperty` must be absent, hs_object_id, or a unique property of the type. */
function checkIdProperty (type: ObjectType, idProperty: string | undefined): void {
  if (idProperty === undefined || idProperty === 'hs_object_id' || type.uniqueProperties.includes(idProperty)) return
  throw withDetails(new InvalidInputError(`idProperty '${idProperty}' is not a unique property of ${type.name}; use one of: hs_object_id${type.uniqueProperties.map((p) => ', ' + p).join('')}`), {
    context: { idProperty: [idProperty] }
  })
}

/** A lookup value that no stored identifier can equal (empty, or holding NUL, which PostgreSQL cannot compare). */
function unusable (value: string): boolean {
  return value === '' || value.includes('\u0000')
}

/** Applies `next` after `prev`: later values win, a later clear undoes an earlier set and vice versa. */
function mergeChanges (prev: { set: PropertyValues, remove: string[] }, next: { set: PropertyValues, remove: string[] }): { set: PropertyValues, remove: string[] } {
  const set = { ...prev.set }
  for (const name of next.remove) delete set[name]
  Object.assign(set, next.set)
  const remove = [...new Set([...prev.remove.filter((n) => !(n in next.set)), ...next.remove])]
  return { set, remove }
}

export function createRecordsBatchService (
  db: Kysely<Database>, objectTypes: ObjectTypesService, associationTypes: AssociationTypesService,
  associationsBatch: AssociationsBatchService, config: RecordsBatchConfig
) {
  function assertSize (n: number): void {
    if (n > config.RECORD_BATCH_MAX) {
      throw withDetails(new InvalidInputError(`Too many inputs: ${n}; the maximum is ${config.RECORD_BATCH_MAX} per request`), {
        context: { inputs: [String(n)], maximum: [String(config.RECORD_BATCH_MAX)] }
      })
    }
  }

  /**
   * Validates every input's inline associations, before any transaction (PGlite has one connection: these reads must
   * not run inside one). The type ids say the target object type: one query finds them all, then each target type's
   * pair is loaded once. Returns the links per input index; failed inputs go to `failed`.
   */
  async function planLinks (accountId: number, type: ObjectType, inputs: Array<{ index: number, associations: PublicAssociationsForObject[] }>, failed: Map<number, Error>): Promise<Map<number, Link[]>> {
    const links = new Map<number, Link[]>()
    const typeIds = [...new Set(inputs.flatMap((i) => i.associations.flatMap((a) => a.types.map((t) => t.associationTypeId))))]
    if (typeIds.length === 0) return links
    const byId = new Map((await repo.findAssociationTypesByIds(db, accountId, typeIds)).map((r) => [r.type_id, r]))
    const toTypes = [...new Set([...byId.values()].filter((r) => r.from_type === type.typeId).map((r) => r.to_type))]
    const pairs = new Map<string, PairTypes>()
    for (const toTypeId of toTypes) {
      // A custom target type deleted meanwhile leaves its ids unusable (the inputs naming them fail below).
      const to = await objectTypes.resolve(accountId, toTypeId).catch((err: unknown) => {
        if (err instanceof UnknownObjectTypeError) return undefined
        throw err
      })
      if (to !== undefined) pairs.set(toTypeId, await associationTypes.pairTypes(db, accountId, type, to))
    }
    for (const input of inputs) {
      try {
        const merged = new Map<string, Link>()
        for (const association of input.associations) {
          const toId = parseRecordId(association.to.id)
          const reasons: string[] = []
          const targets = new Set<string>()
          for (const spec of association.types) {
            const row = byId.get(spec.associationTypeId)
            if (row === undefined) reasons.push(`${spec.associationCategory}=${spec.associationTypeId} is not a valid association type id from ${type.name}`)
            else if (row.from_type !== type.typeId) reasons.push(`${spec.associationCategory}=${spec.associationTypeId} is the ${row.from_type} -> ${row.to_type} direction, not one from ${type.name} (${type.typeId})`)
            else targets.add(row.to_type)
          }
          if (reasons.length === 0 && targets.size > 1) reasons.push(`the types of one association lead to different object types (${[...targets].join(', ')})`)
          const pair = pairs.get([...targets][0] ?? '')
          if (reasons.length > 0 || pair === undefined) throw invalidAssociations(association.types, reasons.length > 0 ? reasons : ['unknown target object type'])
          validateSpecs(pair, association.types) // category and direction, with the batch association endpoints' words
          // One target listed twice: one association with the union of its types.
          const key = `${pair.to.typeId}|${toId}`
          const link = merged.get(key) ?? { pair, toId, types: [] }
          for (const spec of association.types) if (!link.types.some((t) => t.associationTypeId === spec.associationTypeId)) link.types.push(spec)
          merged.set(key, link)
        }
        links.set(input.index, [...merged.values()])
      } catch (err) {
        failed.set(input.index, err as Error)
      }
    }
    return links
  }

  /**
   * The shared write path of create, update and upsert, inside `trx`: identifiers checked against the stored ones and
   * each other, then per round one statement per kind (key deletes, record inserts, property updates, key inserts) and
   * the association writer's statements per target type. Fills `failed`; returns the written rows by input index.
   */
  async function writeRecords (trx: Executor, accountId: number, type: ObjectType, creates: CreatePlan[], updates: UpdatePlan[], failed: Map<number, Error>, actor: Actor = NO_ACTOR): Promise<Map<number, RecordRow>> {
    const ids = await repo.allocateRecordIds(trx, creates.length)
    creates.forEach((c, i) => { c.id = ids[i] })
    const recordOf = (p: CreatePlan | UpdatePlan): number => 'recordId' in p ? p.recordId : p.id as number
    const plans = [...creates, ...updates].sort((a, b) => a.index - b.index)

    const owners = new Map((await repo.findKeyOwnersIn(trx, accountId, type.typeId, plans.flatMap((p) => p.keys))).map((o) => [keyId(o), o]))
    for (const p of plans) {
      const taken = p.keys.map((k) => owners.get(keyId(k))).find((o) => o !== undefined && o.record_id !== recordOf(p))
      if (taken !== undefined) failed.set(p.index, duplicateError(type, taken))
    }

    await repo.savepoint(trx, SAVEPOINT)
    for (let round = 1; ; round++) {
      if (round > 1) await repo.rollbackToSavepoint(trx, SAVEPOINT)
      // Two inputs wanting one identifier: the earlier one keeps it. Recomputed each round, as earlier inputs may fail.
      const inBatch = new Map<number, Error>()
      const claims = new Map<string, number>()
      for (const p of plans) {
        if (failed.has(p.index)) continue
        const clash = p.keys.find((k) => (claims.get(keyId(k)) ?? recordOf(p)) !== recordOf(p))
        if (clash !== undefined) {
          inBatch.set(p.index, duplicateError(type, { ...clash, record_id: claims.get(keyId(clash)) as number }))
          continue
        }
        for (const k of p.keys) claims.set(keyId(k), recordOf(p))
      }
      const active = (p: CreatePlan | UpdatePlan): boolean => !failed.has(p.index) && !inBatch.has(p.index)
      const liveCreates = creates.filter(active)
      const liveUpdates = updates.filter(active)
      const before = failed.size

      await repo.deleteRecordKeysMany(trx, accountId, type.typeId, liveUpdates.flatMap((u) => u.replaced.map((property) => ({ record_id: u.recordId, property }))))
      const rows = new Map<number, RecordRow>()
      for (const row of await repo.insertRecords(trx, accountId, type.typeId, liveCreates.map((c) => ({ id: c.id as number, properties: c.set })))) rows.set(row.id, row)
      for (const row of await repo.updateRecordsProperties(trx, accountId, type.typeId, liveUpdates.map((u) => ({ id: u.recordId, set: u.set, remove: u.remove })))) rows.set(row.id, row)
      const live = [...liveCreates, ...liveUpdates]
      const wanted = live.flatMap((p) => p.keys.map((k) => ({ ...k, record_id: recordOf(p) })))
      const stored = new Set((await repo.insertRecordKeysMany(trx, accountId, type.typeId, wanted)).map(keyId))
      for (const p of live) {
        const lost = p.keys.find((k) => !stored.has(keyId(k)))
        if (lost !== undefined) {
          failed.set(p.index, withDetails(new ConflictError(`A ${type.singular.toLowerCase()} with the same unique identifier was written concurrently; retry`), {
            subCategory: 'crm.objects.DUPLICATE_UNIQUE_VALUE', context: { property: [lost.property], value: [lost.value] }
          }))
        }
      }
      if (failed.size > before) continue

      // Inline associations: one writer call per target object type, the new records on the `from` side.
      const groups = new Map<string, { pair: PairTypes, inputs: PairInput[] }>()
      const byRecord = new Map<string, number>()
      for (const c of liveCreates) {
        byRecord.set(String(c.id), c.index)
        for (const link of c.links) {
          const group = groups.get(link.pair.to.typeId) ?? { pair: link.pair, inputs: [] }
          group.inputs.push({ from: { id: String(c.id) }, to: { id: String(link.toId) }, types: link.types })
          groups.set(link.pair.to.typeId, group)
        }
      }
      for (const group of groups.values()) {
        const { errors } = await associationsBatch.writeInTransaction(trx, accountId, group.pair, group.inputs, 'add', actor)
        for (const entry of errors) {
          const index = byRecord.get(entry.context.fromObjectId?.[0] ?? '')
          if (index === undefined) throw new Error(`association error without its record: ${entry.message}`)
          if (!failed.has(index)) failed.set(index, errorFromStandard(entry))
        }
      }
      if (failed.size > before) continue

      for (const [index, err] of inBatch) failed.set(index, err)
      const out = new Map<number, RecordRow>()
      for (const p of live) {
        const row = rows.get(recordOf(p))
        if (row !== undefined) out.set(p.index, row)
      }
      return out
    }
  }

  /** Runs a write transaction; a custom type deleted meanwhile is an unknown type now (as on the next request). */
  async function transact<T> (typeSegment: string, work: (trx: Executor) => Promise<T>): Promise<T> {
    return await inTransaction(db, work).catch((err: unknown) => {
      if (sqlState(err) === FOREIGN_KEY_VIOLATION) throw withDetails(new UnknownObjectTypeError(typeSegment.slice(0, 100)), { context: { objectType: [typeSegment.slice(0, 100)] } })
      throw err
    })
  }

  function envelope<R> (startedAt: string, results: R[], failed: Map<number, Error>, contextOf: (index: number) => ErrorContext): BatchOutcome<R> {
    const errors = [...failed.entries()].sort(([a], [b]) => a - b).map(([index, err]) => toStandardError(err, contextOf(index)))
    return { status: 'COMPLETE', results, ...(errors.length > 0 ? { numErrors: errors.length, errors } : {}), startedAt, completedAt: new Date().toISOString() }
  }

  /** Create: per input index, the new record or the reason it was not created. */
  async function createMany (accountId: number, typeSegment: string, inputs: CreateInput[], actor: Actor): Promise<{ rows: Map<number, RecordRow>, failed: Map<number, Error> }> {
    const type = await objectTypes.resolve(accountId, typeSegment)
    const failed = new Map<number, Error>()
    const plans: CreatePlan[] = []
    inputs.forEach((input, index) => {
      try {
        const { set } = splitProperties(input.properties)
        plans.push({ index, set, keys: uniqueKeys(type, set), links: [] })
      } catch (err) {
        failed.set(index, err as Error)
      }
    })
    const links = await planLinks(accountId, type, plans.map((p) => ({ index: p.index, associations: inputs[p.index]?.associations ?? [] })), failed)
    const valid = plans.filter((p) => !failed.has(p.index)).map((p) => ({ ...p, links: links.get(p.index) ?? [] }))
    if (valid.length === 0) return { rows: new Map(), failed }
    return await transact(typeSegment, async (trx) => {
      const attempt = new Map(failed)
      const rows = await writeRecords(trx, accountId, type, valid.map((p) => ({ ...p })), [], attempt, actor)
      return { rows, failed: attempt }
    })
  }

  /** Resolves inputs to record ids: by id, or by a unique property (one lookup for all). Unresolved inputs fail. */
  async function resolveIds (exec: Executor, accountId: number, type: ObjectType, inputs: Array<{ index: number, id: string, idProperty?: string }>, failed: Map<number, Error>): Promise<Map<number, number>> {
    const ids = new Map<number, number>()
    const lookups: Array<{ index: number, key: repo.RecordKey }> = []
    for (const input of inputs) {
      try {
        checkIdProperty(type, input.idProperty)
        if (input.idProperty === undefined || input.idProperty === 'hs_object_id') ids.set(input.index, parseRecordId(input.id))
        else {
          const value = normaliseUniqueValue(input.idProperty, input.id)
          if (unusable(value)) throw notFound(type, input.id, input.idProperty)
          lookups.push({ index: input.index, key: { property: input.idProperty, value } })
        }
      } catch (err) {
        failed.set(input.index, err as Error)
      }
    }
    const owners = new Map((await repo.findKeyOwnersIn(exec, accountId, type.typeId, lookups.map((l) => l.key))).map((o) => [keyId(o), o.record_id]))
    for (const l of lookups) {
      const id = owners.get(keyId(l.key))
      if (id !== undefined) ids.set(l.index, id)
      else failed.set(l.index, notFound(type, inputs.find((i) => i.index === l.index)?.id ?? l.key.value, l.key.property))
    }
    return ids
  }

  function updatePlan (type: ObjectType, index: number, recordId: number, change: { set: PropertyValues, remove: string[] }): UpdatePlan {
    const keys = uniqueKeys(type, change.set)
    const cleared = change.remove.filter((p) => type.uniqueProperties.includes(p))
    return { index, recordId, set: change.set, remove: change.remove, keys, replaced: [...keys.map((k) => k.property), ...cleared] }
  }

  return {
    /** POST /crm/v3/objects/{objectType}: one input of the batch path; its failure is the answer (400/404/409). */
    async createOne (accountId: number, typeSegment: string, input: CreateInput, actor: Actor = NO_ACTOR): Promise<SimplePublicObject> {
      const { rows, failed } = await createMany(accountId, typeSegment, [input], actor)
      const err = failed.get(0)
      if (err !== undefined) throw err
      const row = rows.get(0)
      if (row === undefined) throw new Error('record create returned no row')
      return toPublicObject(row)
    },

    /** Batch create: 201 when every input is created, 207 with an error per failed input. */
    async create (accountId: number, typeSegment: string, inputs: CreateInput[], actor: Actor = NO_ACTOR): Promise<BatchOutcome<SimplePublicObject>> {
      const startedAt = new Date().toISOString()
      assertSize(inputs.length)
      const { rows, failed } = await createMany(accountId, typeSegment, inputs, actor)
      const results = [...rows.entries()].sort(([a], [b]) => a - b).map(([, row]) => toPublicObject(row))
      return envelope(startedAt, results, failed, (index) => {
        const trace = inputs[index]?.objectWriteTraceId
        return { inputIndex: [String(index)], ...(trace !== undefined ? { objectWriteTraceId: [trace] } : {}) }
      })
    },

    /** Batch read by id or by a unique property; missing records are errors (207). Each record is returned once. */
    async read (accountId: number, typeSegment: string, request: ReadRequest, archived = false): Promise<BatchOutcome<SimplePublicObject>> {
      const startedAt = new Date().toISOString()
      assertSize(request.inputs.length)
      const type = await objectTypes.resolve(accountId, typeSegment)
      checkIdProperty(type, request.idProperty)
      const failed = new Map<number, Error>()
      const ids = await resolveIds(db, accountId, type, request.inputs.map((input, index) => ({ index, id: input.id, idProperty: request.idProperty })), failed)
      const found = new Map((await repo.findRecords(db, accountId, type.typeId, [...new Set(ids.values())], archived)).map((r) => [r.id, r]))
      const wanted = splitList(request.properties)
      const results: SimplePublicObject[] = []
      const seen = new Set<number>()
      for (const [index, id] of [...ids.entries()].sort(([a], [b]) => a - b)) {
        if (seen.has(id)) continue // a record named twice is answered once
        seen.add(id)
        const row = found.get(id)
        if (row === undefined) failed.set(index, notFound(type, request.inputs[index]?.id ?? String(id), request.idProperty))
        else results.push(toPublicObject(row, wanted))
      }
      return envelope(startedAt, results, failed, (index) => ({ id: [request.inputs[index]?.id.slice(0, 200) ?? ''] }))
    },

    /** Batch update: only the given properties change (null or "" clears one); inputs naming one record are merged in order. */
    async update (accountId: number, typeSegment: string, inputs: UpdateInput[]): Promise<BatchOutcome<SimplePublicObject>> {
      const startedAt = new Date().toISOString()
      assertSize(inputs.length)
      const type = await objectTypes.resolve(accountId, typeSegment)
      const failed = new Map<number, Error>()
      const changes = new Map<number, { set: PropertyValues, remove: string[] }>()
      inputs.forEach((input, index) => {
        try {
          const change = splitProperties(input.properties)
          uniqueKeys(type, change.set)
          changes.set(index, change)
        } catch (err) {
          failed.set(index, err as Error)
        }
      })
      const contextOf = (index: number): ErrorContext => ({ id: [inputs[index]?.id.slice(0, 200) ?? ''] })
      if (changes.size === 0) return envelope(startedAt, [], failed, contextOf)
      const outcome = await transact(typeSegment, async (trx) => {
        const attempt = new Map(failed)
        const ids = await resolveIds(trx, accountId, type, inputs.map((input, index) => ({ index, ...input })).filter((i) => changes.has(i.index)), attempt)
        const live = new Set((await repo.lockLiveRecords(trx, accountId, type.typeId, [...new Set(ids.values())])).map((r) => r.id))
        // One plan per record, under the first input that names it; later inputs for it are merged in (answered once).
        const firstIndex = new Map<number, number>()
        const merged = new Map<number, { set: PropertyValues, remove: string[] }>()
        for (const [index, id] of [...ids.entries()].sort(([a], [b]) => a - b)) {
          const change = changes.get(index) as { set: PropertyValues, remove: string[] }
          const prev = merged.get(id)
          if (prev !== undefined) { merged.set(id, mergeChanges(prev, change)); continue }
          if (firstIndex.has(id)) continue // a missing record named twice is reported once
          firstIndex.set(id, index)
          if (live.has(id)) merged.set(id, change)
          else attempt.set(index, notFound(type, inputs[index]?.id ?? String(id), inputs[index]?.idProperty))
        }
        const plans = [...merged.entries()].map(([id, change]) => updatePlan(type, firstIndex.get(id) as number, id, change))
        return { rows: await writeRecords(trx, accountId, type, [], plans, attempt), attempt }
      })
      const results = [...outcome.rows.entries()].sort(([a], [b]) => a - b).map(([, row]) => toPublicObject(row))
      return envelope(startedAt, results, outcome.attempt, contextOf)
    },

    /**
     * Batch upsert by a unique property: an existing record is updated, a missing one created with `idProperty` set to
     * `id`. Each result says `new`. Inputs with one identifier are merged in order and answered once.
     */
    async upsert (accountId: number, typeSegment: string, inputs: UpsertInput[]): Promise<BatchOutcome<SimplePublicUpsertObject>> {
      const startedAt = new Date().toISOString()
      assertSize(inputs.length)
      const type = await objectTypes.resolve(accountId, typeSegment)
      const failed = new Map<number, Error>()
      const byKey = new Map<string, { index: number, key: repo.RecordKey, raw: string, change: { set: PropertyValues, remove: string[] } }>()
      inputs.forEach((input, index) => {
        try {
          if (!type.uniqueProperties.includes(input.idProperty)) {
            throw withDetails(new InvalidInputError(`idProperty '${input.idProperty}' is not a unique property of ${type.name}; upsert needs one of: ${type.uniqueProperties.join(', ') || '(none: this type has no unique property)'}`), {
              context: { idProperty: [input.idProperty] }
            })
          }
          const value = normaliseUniqueValue(input.idProperty, input.id)
          if (unusable(value)) throw withDetails(new InvalidInputError(`'${input.id.slice(0, 200)}' is not a usable ${input.idProperty}`), { context: { propertyName: [input.idProperty] } })
          const change = splitProperties(input.properties)
          const own = change.set[input.idProperty]
          if (change.remove.includes(input.idProperty) || (own !== undefined && normaliseUniqueValue(input.idProperty, own) !== value)) {
            throw withDetails(new InvalidInputError(`properties.${input.idProperty} must be absent or equal to the id of the upsert`), { context: { propertyName: [input.idProperty] } })
          }
          uniqueKeys(type, change.set)
          const key = { property: input.idProperty, value }
          const prev = byKey.get(keyId(key))
          byKey.set(keyId(key), prev === undefined ? { index, key, raw: input.id, change } : { ...prev, change: mergeChanges(prev.change, change) })
        } catch (err) {
          failed.set(index, err as Error)
        }
      })
      const entries = [...byKey.values()]
      const contextOf = (index: number): ErrorContext => ({ id: [inputs[index]?.id.slice(0, 200) ?? ''] })
      if (entries.length === 0) return envelope(startedAt, [], failed, contextOf)
      const outcome = await transact(typeSegment, async (trx) => {
        const attempt = new Map(failed)
        const owners = new Map((await repo.findKeyOwnersIn(trx, accountId, type.typeId, entries.map((e) => e.key))).map((o) => [keyId(o), o.record_id]))
        const live = new Set((await repo.lockLiveRecords(trx, accountId, type.typeId, [...new Set(owners.values())])).map((r) => r.id))
        const creates: CreatePlan[] = []
        const updates: UpdatePlan[] = []
        for (const e of entries) {
          const id = owners.get(keyId(e.key))
          if (id === undefined) {
            const set = { [e.key.property]: e.raw.trim(), ...e.change.set }
            creates.push({ index: e.index, set, keys: uniqueKeys(type, set), links: [] })
          } else if (live.has(id)) {
            updates.push(updatePlan(type, e.index, id, e.change))
          } else {
            attempt.set(e.index, withDetails(new ConflictError(`The ${type.singular.toLowerCase()} with ${e.key.property} ${e.raw.slice(0, 200)} was archived concurrently; retry`), { context: { id: [e.raw.slice(0, 200)] } }))
          }
        }
        const rows = await writeRecords(trx, accountId, type, creates, updates, attempt)
        return { rows, created: new Set(creates.map((c) => c.index)), attempt }
      })
      // Inputs merged into an earlier one with the same identifier share its outcome (answered once).
      const results = [...outcome.rows.entries()].sort(([a], [b]) => a - b)
        .map(([index, row]) => ({ ...toPublicObject(row), new: outcome.created.has(index) }))
      return envelope(startedAt, results, outcome.attempt, contextOf)
    },

    /**
     * Batch archive: every live record named is archived with its identifiers freed and its associations removed on
     * both sides; ids that name no live record are skipped (204 regardless, as HubSpot answers).
     */
    async archive (accountId: number, typeSegment: string, inputs: Array<{ id: string }>, actor: Actor = NO_ACTOR): Promise<void> {
      assertSize(inputs.length)
      const type = await objectTypes.resolve(accountId, typeSegment)
      const ids = [...new Set(inputs.map((i) => parseRecordId(i.id)))]
      await transact(typeSegment, async (trx) => {
        const live = (await repo.lockLiveRecords(trx, accountId, type.typeId, ids)).map((r) => r.id)
        await repo.archiveRecords(trx, accountId, type.typeId, live)
        await repo.deleteKeysOfRecords(trx, accountId, type.typeId, live)
        // Each removed association is an event from the archived record's side, cause record_archived.
        await repo.deleteAssociationsOfRecords(trx, accountId, type.typeId, live, { ...actor, cause: 'record_archived' })
      })
    }
  }
}

export type RecordsBatchService = ReturnType<typeof createRecordsBatchService>
