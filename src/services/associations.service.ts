// Record-level associations (B1-B4), primary company, labels on a pair, listing by label, embedding, archive cascade.
// Every write is one transaction that writes both directions (ARCHITECTURE invariants 1-9).
import type { Kysely, Transaction } from 'kysely'
import type { AssociationTypeRow, Database } from '../db/schema.js'
import type { Executor } from '../db/executor.js'
import { inTransaction } from '../db/transaction.js'
import * as repo from '../repositories/associations.repository.js'
import { decodeCursor, encodeCursor } from '../lib/paging.js'
import { HAS_PRIMARY_COMPANY } from '../lib/hubspot-association-types.js'
import { COMPANIES } from '../lib/standard-object-types.js'
import { ConflictError, InvalidInputError, ObjectNotFoundError, withDetails } from '../errors.js'
import { sqlState, UNIQUE_VIOLATION } from '../db/pg-errors.js'
import type { ObjectType } from './object-types.service.js'
import type { AssociationTypesService, PairTypes } from './association-types.service.js'
import { capError, edgesOf, primaryOf, selfAssociationError, toLabelsBetween, toMultiAssociated, unknownTypeError, userDefinedTypeIds, validateSpecs } from './association-rules.js'
import * as typesRepo from '../repositories/association-types.repository.js'
import { everyRow, type EventScope } from '../repositories/events.repository.js'
import { NO_ACTOR, pairScope, type Actor } from './events.service.js'
import type {
  AssociationPage, AssociationSpec, DefaultAssociationBatch, LabelsBetweenObjectPair, MultiAssociatedObjectWithLabel
} from '../schemas/associations.schemas.js'

export interface AssociationsConfig { MAX_ASSOCIATIONS_PER_TYPE: number, PAGE_LIMIT_MAX: number }

export interface PageOptions { after?: string, limit?: number, associationTypeId?: number, label?: string, primaryOnly?: boolean }

/** How a write treats the pair's existing labels: B1 replaces them, the labels extension and imports add. */
type LabelMode = 'replace' | 'add'

/** A pair write and the scope of its change events (the from side, the actor). */
interface PairWrite { pair: PairTypes, fromId: number, toId: number, events: EventScope }

export function createAssociationsService (db: Kysely<Database>, types: AssociationTypesService, config: AssociationsConfig) {
  /**
   * One write transaction. Record locks keep the primary rules in order; should the one-primary index still refuse a
   * row (the last line of defence), the caller gets a clean 409, never a 500 nor a silently dropped primary.
   */
  async function write<T> (work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    try {
      return await inTransaction(db, work)
    } catch (err) {
      if (sqlState(err) === UNIQUE_VIOLATION) {
        throw withDetails(new ConflictError('Another request changed the primary company of this record at the same time; retry'), {
          subCategory: 'crm.associations.PRIMARY_CONFLICT'
        })
      }
      throw err
    }
  }

  /** Locks both records (in a stable order) and 404s naming the missing ones. */
  async function lockPair (trx: Executor, accountId: number, w: PairWrite, mode: 'share' | 'update'): Promise<void> {
    const refs = [{ type: w.pair.from.typeId, id: w.fromId }, { type: w.pair.to.typeId, id: w.toId }]
    const found = await repo.lockRecords(trx, accountId, refs, mode)
    const missing = refs.filter((r) => !found.some((f) => f.type === r.type && f.id === r.id))
    if (missing.length > 0) throw notFound(w.pair, missing)
  }

  function notFound (pair: PairTypes, missing: repo.RecordRef[]): Error {
    const name = (t: string): string => (t === pair.from.typeId ? pair.from : pair.to).singular.toLowerCase()
    return withDetails(new ObjectNotFoundError(missing.map((m) => `No ${name(m.type)} with ID ${m.id} exists`).join('; ')), {
      context: { objectType: missing.map((m) => m.type), objectId: missing.map((m) => String(m.id)) }
    })
  }

  /** Removes the owner's current primary toward companies (both rows); the company stays associated. */
  async function demotePrimary (trx: Executor, accountId: number, pair: PairTypes, owner: repo.RecordRef, events: EventScope): Promise<number | undefined> {
    const current = await repo.findPrimaryId(trx, accountId, owner, COMPANIES)
    if (current === undefined) return undefined
    const ownerType = owner.type === pair.from.typeId ? pair.from : pair.to
    const rows = owner.type === pair.from.typeId ? pair.forward : pair.backward
    const primaryRow = [...rows.values()].find((r) => r.role === 'primary') as AssociationTypeRow
    await repo.deleteEdges(trx, accountId, [
      { from_type: ownerType.typeId, from_id: owner.id, to_type: COMPANIES, to_id: current, type_id: primaryRow.type_id },
      { from_type: COMPANIES, from_id: current, to_type: ownerType.typeId, to_id: owner.id, type_id: primaryRow.inverse_type_id }
    ], events)
    return current
  }

  /**
   * The one write path for a pair: adds `wanted` types (and the unlabeled one), removes labels not wanted in replace
   * mode, keeps counts, the per-record cap, per-label limits and the primary rules. Runs inside the caller's transaction.
   */
  async function writePair (trx: Executor, accountId: number, w: PairWrite, wanted: AssociationTypeRow[], mode: LabelMode): Promise<number[]> {
    const { pair, fromId, toId } = w
    const from = { type: pair.from.typeId, id: fromId }
    const to = { type: pair.to.typeId, id: toId }
    const primary = primaryOf(pair)
    const wantsPrimary = primary !== undefined && wanted.some((r) => r.type_id === primary.row.type_id)
    const limited = wanted.some((r) => r.max_to_object_ids !== null || pair.backward.get(r.inverse_type_id)?.max_to_object_ids != null)
    await lockPair(trx, accountId, w, wantsPrimary || limited ? 'update' : 'share')
    const userTypes = userDefinedTypeIds(wanted)
    const present = await typesRepo.lockTypesInUse(trx, accountId, userTypes)
    const gone = userTypes.find((id) => !present.includes(id))
    if (gone !== undefined) throw unknownTypeError(pair, gone)

    const existing = new Set(await repo.findPairTypeIds(trx, accountId, from, to))
    const add = [pair.unlabeled, ...wanted].filter((r, i, all) => !existing.has(r.type_id) && all.findIndex((x) => x.type_id === r.type_id) === i)
    const wantedIds = new Set(wanted.map((r) => r.type_id))
    // Replace mode drops labels not sent; the primary and the unlabeled type are never dropped implicitly.
    const remove = mode === 'replace'
      ? [...existing].map((id) => pair.forward.get(id)).filter((r): r is AssociationTypeRow => r !== undefined && r.role === 'label' && !wantedIds.has(r.type_id))
      : []

    if (wantsPrimary && primary !== undefined && add.some((r) => r.type_id === primary.row.type_id)) {
      await demotePrimary(trx, accountId, pair, primary.owner === 'from' ? from : to, w.events)
    }
    const inserted = await repo.insertEdges(trx, accountId, add.flatMap((r) => edgesOf(w.pair, w.fromId, w.toId, r)), w.events)
    await repo.deleteEdges(trx, accountId, remove.flatMap((r) => edgesOf(w.pair, w.fromId, w.toId, r)), w.events)

    const isNewPair = inserted.some((e) => e.from_type === from.type && e.from_id === fromId && e.type_id === pair.unlabeled.type_id)
    if (isNewPair) {
      const counts = await repo.incrementCounts(trx, accountId, [
        { from_type: from.type, from_id: fromId, to_type: to.type, delta: 1 },
        { from_type: to.type, from_id: toId, to_type: from.type, delta: 1 }
      ])
      for (const c of counts) {
        const unlabeledRow = c.from_type === from.type && c.from_id === fromId ? pair.unlabeled : pair.backward.get(pair.unlabeled.inverse_type_id)
        const limit = Math.min(config.MAX_ASSOCIATIONS_PER_TYPE, unlabeledRow?.max_to_object_ids ?? Infinity)
        if (c.count > limit) throw capError(pair, c.from_type, c.from_id, c.to_type, limit)
      }
      // The first company associated with a contact, deal or ticket becomes its primary (invariant 4).
      if (primary !== undefined && !wantsPrimary) {
        const owner = primary.owner === 'from' ? from : to
        const ownerCount = counts.find((c) => c.from_type === owner.type && c.from_id === owner.id)
        if (ownerCount?.count === 1) {
          await repo.insertEdges(trx, accountId, edgesOf(w.pair, w.fromId, w.toId, primary.row), w.events)
          add.push(primary.row)
        }
      }
    }
    await checkLabelLimits(trx, accountId, w, add.filter((r) => r.role !== 'unlabeled'))
    return [...existing, ...add.map((r) => r.type_id)].filter((id) => !remove.some((r) => r.type_id === id))
  }

  /** Per-label limits (maxToObjectIds), checked on new associations only, in both directions (invariant 7). */
  async function checkLabelLimits (trx: Executor, accountId: number, w: PairWrite, added: AssociationTypeRow[]): Promise<void> {
    for (const row of added) {
      const inverse = w.pair.backward.get(row.inverse_type_id)
      const checks: Array<[repo.RecordRef, string, AssociationTypeRow | undefined]> = [
        [{ type: w.pair.from.typeId, id: w.fromId }, w.pair.to.typeId, row],
        [{ type: w.pair.to.typeId, id: w.toId }, w.pair.from.typeId, inverse]
      ]
      for (const [record, toType, type] of checks) {
        const max = type?.max_to_object_ids
        if (type === undefined || max === null || max === undefined) continue
        const used = await repo.countLabelledFrom(trx, accountId, record, toType, type.type_id, max + 1)
        if (used > max) throw capError(w.pair, record.type, record.id, toType, max, `associations labelled '${type.label ?? type.type_id}'`)
      }
    }
  }

  async function currentTypeIds (trx: Executor, accountId: number, w: PairWrite): Promise<number[]> {
    return await repo.findPairTypeIds(trx, accountId, { type: w.pair.from.typeId, id: w.fromId }, { type: w.pair.to.typeId, id: w.toId })
  }

  async function removePairIn (trx: Executor, accountId: number, w: PairWrite, newPrimaryId?: number): Promise<void> {
    const primary = primaryOf(w.pair)
    await lockPair(trx, accountId, w, primary !== undefined ? 'update' : 'share')
    const from = { type: w.pair.from.typeId, id: w.fromId }
    const to = { type: w.pair.to.typeId, id: w.toId }
    const deleted = await repo.deletePairEdges(trx, accountId, from, to, w.events)
    const existed = deleted.some((e) => e.type_id === w.pair.unlabeled.type_id && e.from_id === w.fromId && e.from_type === from.type)
    if (existed) {
      await repo.decrementCounts(trx, accountId, [
        { from_type: from.type, from_id: w.fromId, to_type: to.type, delta: 1 },
        { from_type: to.type, from_id: w.toId, to_type: from.type, delta: 1 }
      ])
    }
    if (newPrimaryId !== undefined) {
      if (primary?.owner !== 'from') {
        throw withDetails(new InvalidInputError('newPrimaryId applies only when a contact, deal or ticket removes its association with a company'), {
          context: { newPrimaryId: [String(newPrimaryId)] }
        })
      }
      if (!deleted.some((e) => e.is_primary === true)) {
        throw withDetails(new InvalidInputError(`Company ${w.toId} was not the primary company; newPrimaryId applies only when removing the primary`), { context: { newPrimaryId: [String(newPrimaryId)] } })
      }
      await promote(trx, accountId, w.pair, w.fromId, newPrimaryId, w.events)
    }
  }

  /** Makes an already associated company the owner's primary. */
  async function promote (trx: Executor, accountId: number, pair: PairTypes, ownerId: number, companyId: number, events: EventScope): Promise<void> {
    const owner = { type: pair.from.typeId, id: ownerId }
    if (!await repo.hasEdge(trx, accountId, owner, { type: COMPANIES, id: companyId }, pair.unlabeled.type_id)) {
      throw withDetails(new InvalidInputError(`Company ${companyId} is not associated with ${pair.from.singular.toLowerCase()} ${ownerId}; associate it before making it primary`), {
        context: { newPrimaryId: [String(companyId)] }
      })
    }
    await repo.insertEdges(trx, accountId, edgesOf(pair, ownerId, companyId, pair.primary as AssociationTypeRow), events)
  }

  function primaryPair (pair: PairTypes): PairTypes & { primary: AssociationTypeRow } {
    if (pair.primary === undefined || pair.to.typeId !== COMPANIES || !HAS_PRIMARY_COMPANY.has(pair.from.typeId)) {
      throw withDetails(new InvalidInputError(`${pair.from.name} records have no primary ${pair.to.name}; primary applies to contacts, deals and tickets toward companies`), {
        context: { fromObjectType: [pair.from.typeId], toObjectType: [pair.to.typeId] }
      })
    }
    return pair as PairTypes & { primary: AssociationTypeRow }
  }

  return {
    /** B1: the body is the pair's label set (replace), or with mode 'add' a union (labels extension, imports). */
    async associate (accountId: number, fromSegment: string, fromId: number, toSegment: string, toId: number, specs: AssociationSpec[], mode: LabelMode = 'replace', actor: Actor = NO_ACTOR): Promise<LabelsBetweenObjectPair> {
      const pair = await types.resolvePair(accountId, fromSegment, toSegment)
      const w = pairWrite(pair, fromId, toId, actor)
      if (fromId === toId) { const self = selfAssociationError(pair, fromId); if (self !== undefined) throw self }
      const wanted = validateSpecs(pair, specs)
      const typeIds = await write(async (trx) => await writePair(trx, accountId, w, wanted, mode))
      return toLabelsBetween(w.pair, w.fromId, w.toId, typeIds)
    },

    /** B2: the unlabeled association, reported in both directions. */
    async associateDefault (accountId: number, fromSegment: string, fromId: number, toSegment: string, toId: number, actor: Actor = NO_ACTOR): Promise<DefaultAssociationBatch> {
      const startedAt = new Date().toISOString()
      const pair = await types.resolvePair(accountId, fromSegment, toSegment)
      const w = pairWrite(pair, fromId, toId, actor)
      if (fromId === toId) { const self = selfAssociationError(pair, fromId); if (self !== undefined) throw self }
      await write(async (trx) => await writePair(trx, accountId, w, [], 'add'))
      const spec = (typeId: number): { associationCategory: 'HUBSPOT_DEFINED', associationTypeId: number } => ({ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: typeId })
      return {
        status: 'COMPLETE',
        results: [
          { from: { id: String(fromId) }, to: { id: String(toId) }, associationSpec: spec(pair.unlabeled.type_id) },
          { from: { id: String(toId) }, to: { id: String(fromId) }, associationSpec: spec(pair.unlabeled.inverse_type_id) }
        ],
        startedAt,
        completedAt: new Date().toISOString()
      }
    },

    /** B3: removes every type between the pair, both sides; `newPrimaryId` promotes a company when the primary goes. */
    async removePair (accountId: number, fromSegment: string, fromId: number, toSegment: string, toId: number, newPrimaryId?: number, actor: Actor = NO_ACTOR): Promise<void> {
      const pair = await types.resolvePair(accountId, fromSegment, toSegment)
      await write(async (trx) => { await removePairIn(trx, accountId, pairWrite(pair, fromId, toId, actor), newPrimaryId) })
    },

    /** Removes one label from a pair; the unlabeled type removes the whole association, the primary type unsets it. */
    async removeLabel (accountId: number, fromSegment: string, fromId: number, toSegment: string, toId: number, typeId: number, actor: Actor = NO_ACTOR): Promise<LabelsBetweenObjectPair> {
      const pair = await types.resolvePair(accountId, fromSegment, toSegment)
      const w = pairWrite(pair, fromId, toId, actor)
      const row = pair.forward.get(typeId)
      if (row === undefined) throw unknownTypeError(pair, typeId)
      const typeIds = await write(async (trx) => {
        if (row.role === 'unlabeled') {
          await removePairIn(trx, accountId, w)
          return []
        }
        await lockPair(trx, accountId, w, row.role === 'primary' ? 'update' : 'share')
        const current = await currentTypeIds(trx, accountId, w)
        if (!current.includes(pair.unlabeled.type_id)) {
          throw withDetails(new ObjectNotFoundError(`${pair.from.singular} ${fromId} is not associated with ${pair.to.singular.toLowerCase()} ${toId}`), {
            context: { fromObjectId: [String(fromId)], toObjectId: [String(toId)] }
          })
        }
        await repo.deleteEdges(trx, accountId, edgesOf(w.pair, w.fromId, w.toId, row), w.events)
        return current.filter((id) => id !== typeId)
      })
      return toLabelsBetween(w.pair, w.fromId, w.toId, typeIds)
    },

    /** B4 and its filters: keyset pages of a record's associations toward one object type. */
    async listPage (accountId: number, fromSegment: string, fromId: number, toSegment: string, options: PageOptions = {}): Promise<AssociationPage> {
      const pair = await types.resolvePair(accountId, fromSegment, toSegment)
      const limit = options.limit ?? config.PAGE_LIMIT_MAX
      if (limit > config.PAGE_LIMIT_MAX) {
        throw withDetails(new InvalidInputError(`limit must be at most ${config.PAGE_LIMIT_MAX}`), { context: { limit: [String(limit)] } })
      }
      const afterId = options.after === undefined ? 0 : decodeCursor(options.after, ['to']).to
      const anchor = anchorType(pair, options)
      const from = { type: pair.from.typeId, id: fromId }
      const rows = await repo.pageEdges(db, accountId, from, pair.to.typeId, anchor, afterId, limit + 1)
      if (rows.length === 0 && !await repo.recordExists(db, accountId, from)) throw notFound(pair, [from])
      const byTo = new Map<number, number[]>()
      for (const r of rows) byTo.set(r.to_id, [...(byTo.get(r.to_id) ?? []), r.type_id])
      const toIds = [...byTo.keys()]
      const page = toIds.slice(0, limit)
      const last = page.at(-1)
      return {
        results: page.map((id) => toMultiAssociated(pair, id, byTo.get(id) ?? [])),
        ...(toIds.length > limit && last !== undefined ? { paging: { next: { after: encodeCursor({ to: last }) } } } : {})
      }
    },

    async getPrimary (accountId: number, fromSegment: string, fromId: number, toSegment: string): Promise<MultiAssociatedObjectWithLabel> {
      const pair = primaryPair(await types.resolvePair(accountId, fromSegment, toSegment))
      const from = { type: pair.from.typeId, id: fromId }
      const primaryId = await repo.findPrimaryId(db, accountId, from, COMPANIES)
      if (primaryId === undefined) {
        if (!await repo.recordExists(db, accountId, from)) throw notFound(pair, [from])
        throw withDetails(new ObjectNotFoundError(`${pair.from.singular} ${fromId} has no primary company`), {
          subCategory: 'crm.associations.NO_PRIMARY', context: { fromObjectId: [String(fromId)] }
        })
      }
      const typeIds = await currentTypeIds(db, accountId, pairWrite(pair, fromId, primaryId, NO_ACTOR))
      return toMultiAssociated(pair, primaryId, typeIds)
    },

    /** Sets the primary company (associating it if needed); the old primary stays associated. */
    async setPrimary (accountId: number, fromSegment: string, fromId: number, toSegment: string, toId: number, actor: Actor = NO_ACTOR): Promise<MultiAssociatedObjectWithLabel> {
      const pair = primaryPair(await types.resolvePair(accountId, fromSegment, toSegment))
      const w = pairWrite(pair, fromId, toId, actor)
      const typeIds = await write(async (trx) => await writePair(trx, accountId, w, [pair.primary], 'add'))
      return toMultiAssociated(pair, toId, typeIds)
    },

    /** Unsets the primary company; `newPrimaryId` (already associated) becomes primary instead. No silent promotion. */
    async unsetPrimary (accountId: number, fromSegment: string, fromId: number, toSegment: string, newPrimaryId?: number, actor: Actor = NO_ACTOR): Promise<void> {
      const pair = primaryPair(await types.resolvePair(accountId, fromSegment, toSegment))
      const events = pairScope(actor, pair.from.typeId, pair.to.typeId)
      await write(async (trx) => {
        const owner = { type: pair.from.typeId, id: fromId }
        const found = await repo.lockRecords(trx, accountId, [owner], 'update')
        if (found.length === 0) throw notFound(pair, [owner])
        await demotePrimary(trx, accountId, pair, owner, events)
        if (newPrimaryId !== undefined) await promote(trx, accountId, pair, fromId, newPrimaryId, events)
      })
    },

    /** Every pair in the account carrying a type, keyset-paged by (fromId, toId). */
    async pairsWithType (accountId: number, fromSegment: string, toSegment: string, typeId: number, after: string | undefined, limit: number) {
      const pair = await types.resolvePair(accountId, fromSegment, toSegment)
      if (!pair.forward.has(typeId)) throw unknownTypeError(pair, typeId)
      const cursor = after === undefined ? { f: 0, t: 0 } : decodeCursor(after, ['f', 't'])
      const rows = await repo.pairsWithType(db, accountId, pair.from.typeId, pair.to.typeId, typeId, { fromId: cursor.f, toId: cursor.t }, limit + 1)
      const page = rows.slice(0, limit)
      const last = page.at(-1)
      return {
        results: page.map((r) => ({ fromObjectId: r.from_id, toObjectId: r.to_id })),
        ...(rows.length > limit && last !== undefined ? { paging: { next: { after: encodeCursor({ f: last.from_id, t: last.to_id }) } } } : {})
      }
    },

    /**
     * Archive cascade: runs inside the record-archiving transaction. Each removed association type is an event from
     * the archived record's side, with the cause `record_archived`.
     */
    async onRecordArchived (trx: Executor, accountId: number, type: ObjectType, id: number, actor: Actor = NO_ACTOR): Promise<void> {
      await repo.deleteRecordEdges(trx, accountId, { type: type.typeId, id }, { ...actor, cause: 'record_archived', side: everyRow() })
    }
  }

  function pairWrite (pair: PairTypes, fromId: number, toId: number, actor: Actor): PairWrite {
    return { pair, fromId, toId, events: pairScope(actor, pair.from.typeId, pair.to.typeId) }
  }

  function anchorType (pair: PairTypes, options: PageOptions): number {
    if (options.primaryOnly === true) return primaryPair(pair).primary.type_id
    if (options.associationTypeId !== undefined) {
      if (!pair.forward.has(options.associationTypeId)) throw unknownTypeError(pair, options.associationTypeId)
      return options.associationTypeId
    }
    if (options.label !== undefined) {
      const wanted = options.label.trim().toLowerCase()
      const row = [...pair.forward.values()].find((r) => r.label?.toLowerCase() === wanted)
      if (row === undefined) {
        throw withDetails(new InvalidInputError(`No association label '${options.label}' from ${pair.from.name} to ${pair.to.name}`), { context: { label: [options.label] } })
      }
      return row.type_id
    }
    return pair.unlabeled.type_id
  }
}

export type AssociationsService = ReturnType<typeof createAssociationsService>
