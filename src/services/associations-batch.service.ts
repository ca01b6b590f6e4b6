// Batch association endpoints (API.md T1-T5). Each batch is a constant number of set-based statements, whatever its
// size: the rules of single writes (existence, direction, per-record cap, per-label limits, first company primary, one
// primary, two-way rows) are decided in memory over rows read and locked up front, then written in bulk. A failed
// input writes nothing of its own; the others commit.
import type { Kysely } from 'kysely'
import type { AssociationTypeRow, Database } from '../db/schema.js'
import type { Executor } from '../db/executor.js'
import { inTransaction } from '../db/transaction.js'
import * as single from '../repositories/associations.repository.js'
import * as batch from '../repositories/associations-batch.repository.js'
import { toStandardError, type BatchOutcome, type StandardError } from '../lib/batch.js'
import { decodeCursor, encodeCursor } from '../lib/paging.js'
import { InvalidInputError, ObjectNotFoundError, withDetails } from '../errors.js'
import { parseRecordId } from './records.service.js'
import type { AssociationTypesService, PairTypes } from './association-types.service.js'
import { capError, edgesOf, primaryOf, selfAssociationError, toLabelsBetween, toMultiAssociated, unknownTypeError, userDefinedTypeIds, validateSpecs } from './association-rules.js'
import * as typesRepo from '../repositories/association-types.repository.js'
import type { AssociationSpec, LabelsBetweenObjectPair, MultiAssociatedObjectWithLabel, PublicDefaultAssociation } from '../schemas/associations.schemas.js'

export interface BatchConfig { MAX_ASSOCIATIONS_PER_TYPE: number, BATCH_CREATE_MAX: number, BATCH_READ_MAX: number }

export interface PairInput { from: { id: string }, to: { id: string }, types?: AssociationSpec[] }
export interface ArchiveInput { from: { id: string }, to: Array<{ id: string }> }
export interface ReadInput { id: string, after?: string }

interface Planned { index: number, fromId: number, toId: number, wanted: AssociationTypeRow[] }

type LabelMode = 'replace' | 'add'

const pairContext = (fromId: string, toId: string): Record<string, string[]> => ({ fromObjectId: [fromId], toObjectId: [toId] })
const countKey = (type: string, id: number, toType: string): string => `${type}|${id}|${toType}`

export function createAssociationsBatchService (db: Kysely<Database>, types: AssociationTypesService, config: BatchConfig) {
  function assertSize (n: number, max: number): void {
    if (n > max) {
      throw withDetails(new InvalidInputError(`Too many inputs: ${n}; the maximum is ${max} per request`), { context: { inputs: [String(n)], maximum: [String(max)] } })
    }
  }

  /**
   * The shared write path of T1 (replace) and T2 / imports (add). Returns, per successful input, the type ids of the
   * pair's from -> to rows afterwards; and the per-input errors.
   */
  async function writePairs (accountId: number, pair: PairTypes, inputs: PairInput[], mode: LabelMode, exec?: Executor): Promise<{ done: Array<{ index: number, fromId: number, toId: number, typeIds: number[] }>, errors: StandardError[] }> {
    const errors: StandardError[] = []
    const planned: Planned[] = []
    const seen = new Set<string>()
    inputs.forEach((input, index) => {
      try {
        const fromId = parseRecordId(input.from.id)
        const toId = parseRecordId(input.to.id)
        if (fromId === toId) { const self = selfAssociationError(pair, fromId); if (self !== undefined) throw self }
        const wanted = validateSpecs(pair, input.types ?? [])
        const key = `${fromId}|${toId}`
        if (seen.has(key)) return // duplicate inputs are handled once
        seen.add(key)
        planned.push({ index, fromId, toId, wanted })
      } catch (err) {
        errors.push(toStandardError(err, pairContext(input.from.id, input.to.id)))
      }
    })
    if (planned.length === 0) return { done: [], errors }

    const primary = primaryOf(pair)
    const limitedIds = new Set([...pair.forward.values(), ...pair.backward.values()].filter((r) => r.max_to_object_ids !== null && r.role !== 'unlabeled').map((r) => r.type_id))
    const needsUpdateLock = planned.some((p) => p.wanted.some((r) => r.role === 'primary' || r.role === 'primary_inverse' || limitedIds.has(r.type_id)))

    // With `exec` (a caller's open transaction) the writes join it; otherwise they get a transaction of their own.
    const work = async (trx: Executor): Promise<{ done: Array<{ index: number, fromId: number, toId: number, typeIds: number[] }>, failed: StandardError[] }> => {
      const failed: StandardError[] = []
      const done: Array<{ index: number, fromId: number, toId: number, typeIds: number[] }> = []
      const from = pair.from.typeId
      const to = pair.to.typeId
      const refs = [...new Set(planned.map((p) => p.fromId))].map((id) => ({ type: from, id }))
        .concat([...new Set(planned.map((p) => p.toId))].map((id) => ({ type: to, id })))
      const live = new Set((await single.lockRecords(trx, accountId, refs, needsUpdateLock ? 'update' : 'share')).map((r) => `${r.type}|${r.id}`))
      const userTypes = userDefinedTypeIds(planned.flatMap((p) => p.wanted))
      const present = new Set(await typesRepo.lockTypesInUse(trx, accountId, userTypes))
      const valid: Planned[] = []
      for (const p of planned) {
        const gone = userDefinedTypeIds(p.wanted).find((id) => !present.has(id))
        if (gone !== undefined) {
          failed.push(toStandardError(unknownTypeError(pair, gone), pairContext(String(p.fromId), String(p.toId))))
          continue
        }
        const missing = [[from, p.fromId], [to, p.toId]].filter(([t, id]) => !live.has(`${t}|${id}`))
        if (missing.length === 0) { valid.push(p); continue }
        failed.push(toStandardError(withDetails(new ObjectNotFoundError(missing.map(([t, id]) => `No ${t === from ? pair.from.singular.toLowerCase() : pair.to.singular.toLowerCase()} with ID ${id} exists`).join('; ')), {
          subCategory: 'crm.associations.OBJECT_NOT_FOUND'
        }), pairContext(String(p.fromId), String(p.toId))))
      }

      const existing = new Map<string, Set<number>>()
      for (const r of await batch.typeIdsForPairs(trx, accountId, from, to, valid.map((p) => ({ fromId: p.fromId, toId: p.toId })))) {
        const key = `${r.from_id}|${r.to_id}`
        existing.set(key, (existing.get(key) ?? new Set()).add(r.type_id))
      }
      const keys = valid.flatMap((p) => [{ from_type: from, from_id: p.fromId, to_type: to }, { from_type: to, from_id: p.toId, to_type: from }])
      await batch.ensureCountRows(trx, accountId, keys)
      const counts = new Map((await batch.lockCounts(trx, accountId, keys)).map((c) => [countKey(c.from_type, c.from_id, c.to_type), c.count]))
      const changedCounts = new Set<string>()

      const primaries = new Map<number, number>()
      if (primary !== undefined) {
        const ownerType = primary.owner === 'from' ? from : to
        const owners = [...new Set(valid.map((p) => primary.owner === 'from' ? p.fromId : p.toId))]
        for (const r of await batch.primariesOf(trx, accountId, ownerType, owners, primary.owner === 'from' ? to : from)) primaries.set(r.from_id, r.to_id)
      }
      const labelled = new Map<string, number>()
      if (limitedIds.size > 0) {
        const add = (rows: Array<{ from_id: number, type_id: number, n: number }>, t: string): void => { for (const r of rows) labelled.set(`${t}|${r.from_id}|${r.type_id}`, r.n) }
        add(await batch.labelledCounts(trx, accountId, from, valid.map((p) => p.fromId), to, [...limitedIds]), from)
        add(await batch.labelledCounts(trx, accountId, to, valid.map((p) => p.toId), from, [...limitedIds]), to)
      }

      const inserts: single.Edge[] = []
      const deletes: single.Edge[] = []
      for (const p of valid) {
        try {
          const have = existing.get(`${p.fromId}|${p.toId}`) ?? new Set<number>()
          const isNew = !have.has(pair.unlabeled.type_id)
          const add = [pair.unlabeled, ...p.wanted].filter((r, i, all) => !have.has(r.type_id) && all.findIndex((x) => x.type_id === r.type_id) === i)
          const wantedIds = new Set(p.wanted.map((r) => r.type_id))
          const remove = mode === 'replace' ? [...have].map((id) => pair.forward.get(id)).filter((r): r is AssociationTypeRow => r?.role === 'label' && !wantedIds.has(r.type_id)) : []
          const fromKey = countKey(from, p.fromId, to)
          const toKey = countKey(to, p.toId, from)
          const fromCount = counts.get(fromKey) ?? 0
          const toCount = counts.get(toKey) ?? 0
          if (isNew) {
            const fromLimit = Math.min(config.MAX_ASSOCIATIONS_PER_TYPE, pair.unlabeled.max_to_object_ids ?? Infinity)
            const toLimit = Math.min(config.MAX_ASSOCIATIONS_PER_TYPE, pair.backward.get(pair.unlabeled.inverse_type_id)?.max_to_object_ids ?? Infinity)
            if (fromCount + 1 > fromLimit) throw capError(pair, from, p.fromId, to, fromLimit)
            if (toCount + 1 > toLimit) throw capError(pair, to, p.toId, from, toLimit)
          }
          const demote: single.Edge[] = []
          if (primary !== undefined) {
            const ownerId = primary.owner === 'from' ? p.fromId : p.toId
            const companyId = primary.owner === 'from' ? p.toId : p.fromId
            const explicit = p.wanted.some((r) => r.type_id === primary.row.type_id)
            const current = primaries.get(ownerId)
            const ownerCount = primary.owner === 'from' ? fromCount : toCount
            if (explicit && current !== undefined && current !== companyId) {
              const oldPair = primary.owner === 'from' ? { f: ownerId, t: current } : { f: current, t: ownerId }
              demote.push(...edgesOf(pair, oldPair.f, oldPair.t, primary.row))
            }
            if (!explicit && isNew && ownerCount === 0 && current === undefined && !have.has(primary.row.type_id)) add.push(primary.row)
          }
          for (const r of add.filter((x) => limitedIds.has(x.type_id) || limitedIds.has(x.inverse_type_id))) {
            const inverse = pair.backward.get(r.inverse_type_id)
            for (const [t, id, row, toType] of [[from, p.fromId, r, to], [to, p.toId, inverse, from]] as const) {
              const max = row?.max_to_object_ids
              if (row === undefined || max === null || max === undefined) continue
              if ((labelled.get(`${t}|${id}|${row.type_id}`) ?? 0) + 1 > max) throw capError(pair, t, id, toType, max, `associations labelled '${row.label ?? row.type_id}'`)
            }
          }
          // The input is accepted: record its effects so later inputs of the batch see them.
          for (const r of add) {
            inserts.push(...edgesOf(pair, p.fromId, p.toId, r))
            labelled.set(`${from}|${p.fromId}|${r.type_id}`, (labelled.get(`${from}|${p.fromId}|${r.type_id}`) ?? 0) + 1)
            labelled.set(`${to}|${p.toId}|${r.inverse_type_id}`, (labelled.get(`${to}|${p.toId}|${r.inverse_type_id}`) ?? 0) + 1)
          }
          for (const r of remove) deletes.push(...edgesOf(pair, p.fromId, p.toId, r))
          deletes.push(...demote)
          if (primary !== undefined && add.some((r) => r.type_id === primary.row.type_id)) {
            primaries.set(primary.owner === 'from' ? p.fromId : p.toId, primary.owner === 'from' ? p.toId : p.fromId)
          }
          if (isNew) {
            counts.set(fromKey, fromCount + 1)
            counts.set(toKey, toCount + 1)
            changedCounts.add(fromKey).add(toKey)
          }
          const typeIds = [...have, ...add.map((r) => r.type_id)].filter((id) => !remove.some((r) => r.type_id === id))
          existing.set(`${p.fromId}|${p.toId}`, new Set(typeIds))
          done.push({ index: p.index, fromId: p.fromId, toId: p.toId, typeIds })
        } catch (err) {
          failed.push(toStandardError(err, pairContext(String(p.fromId), String(p.toId))))
        }
      }
      // A demoted primary row may be re-added by a later input of the same batch; deletes run first.
      await single.deleteEdges(trx, accountId, deletes)
      await single.insertEdges(trx, accountId, inserts)
      await batch.setCounts(trx, accountId, [...changedCounts].map((key) => {
        const [fromType, id, toType] = key.split('|') as [string, string, string]
        return { from_type: fromType, from_id: Number(id), to_type: toType, count: counts.get(key) ?? 0 }
      }))
      return { done, failed }
    }
    const outcome = exec === undefined ? await inTransaction(db, work) : await work(exec)
    return { done: outcome.done.sort((a, b) => a.index - b.index), errors: [...errors, ...outcome.failed] }
  }

  function envelope<R> (startedAt: string, results: R[], errors: StandardError[]): BatchOutcome<R> {
    return { status: 'COMPLETE', results, ...(errors.length > 0 ? { numErrors: errors.length, errors } : {}), startedAt, completedAt: new Date().toISOString() }
  }

  return {
    /** T1: label sets (replace semantics, as B1). */
    async create (accountId: number, fromSegment: string, toSegment: string, inputs: PairInput[]): Promise<BatchOutcome<LabelsBetweenObjectPair>> {
      const startedAt = new Date().toISOString()
      assertSize(inputs.length, config.BATCH_CREATE_MAX)
      const pair = await types.resolvePair(accountId, fromSegment, toSegment)
      const { done, errors } = await writePairs(accountId, pair, inputs, 'replace')
      return envelope(startedAt, done.map((d) => toLabelsBetween(pair, d.fromId, d.toId, d.typeIds)), errors)
    },

    /** Adds labels without removing any (the import rule), for imports and other bulk writers. */
    async addLabels (accountId: number, pair: PairTypes, inputs: PairInput[]) {
      return await writePairs(accountId, pair, inputs, 'add')
    },

    /**
     * The same writes inside the caller's open transaction `trx` (e.g. a record created with inline associations):
     * every query goes through `trx`, so resolve `pair` before opening it. Errors name each failed input's from/to ids.
     */
    async writeInTransaction (trx: Executor, accountId: number, pair: PairTypes, inputs: PairInput[], mode: LabelMode = 'add') {
      return await writePairs(accountId, pair, inputs, mode, trx)
    },

    /** T2: unlabeled associations; both directions per input. */
    async createDefault (accountId: number, fromSegment: string, toSegment: string, inputs: Array<{ from: { id: string }, to: { id: string } }>): Promise<BatchOutcome<PublicDefaultAssociation>> {
      const startedAt = new Date().toISOString()
      assertSize(inputs.length, config.BATCH_CREATE_MAX)
      const pair = await types.resolvePair(accountId, fromSegment, toSegment)
      const { done, errors } = await writePairs(accountId, pair, inputs.map((i) => ({ from: i.from, to: i.to, types: [] })), 'add')
      const spec = (typeId: number): PublicDefaultAssociation['associationSpec'] => ({ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: typeId })
      return envelope(startedAt, done.flatMap((d) => [
        { from: { id: String(d.fromId) }, to: { id: String(d.toId) }, associationSpec: spec(pair.unlabeled.type_id) },
        { from: { id: String(d.toId) }, to: { id: String(d.fromId) }, associationSpec: spec(pair.unlabeled.inverse_type_id) }
      ]), errors)
    },

    /** T3: one page per input record (`after` per input); a record with no associations is an error entry (207). */
    async read (accountId: number, fromSegment: string, toSegment: string, inputs: ReadInput[], pageSize = 500) {
      const startedAt = new Date().toISOString()
      assertSize(inputs.length, config.BATCH_READ_MAX)
      const pair = await types.resolvePair(accountId, fromSegment, toSegment)
      const errors: StandardError[] = []
      const valid: Array<{ raw: string, id: number, after: number }> = []
      const seen = new Set<number>()
      for (const input of inputs) {
        try {
          const id = parseRecordId(input.id)
          if (seen.has(id)) continue
          seen.add(id)
          valid.push({ raw: input.id, id, after: input.after === undefined ? 0 : decodeCursor(input.after, ['to']).to })
        } catch (err) {
          errors.push(toStandardError(err, { fromObjectId: [input.id] }))
        }
      }
      const rows = await batch.pagesForRecords(db, accountId, pair.from.typeId, pair.to.typeId, pair.unlabeled.type_id, valid, pageSize + 1)
      const byRecord = new Map<number, Map<number, number[]>>()
      for (const r of rows) {
        const pairs = byRecord.get(r.from_id) ?? new Map<number, number[]>()
        pairs.set(r.to_id, [...(pairs.get(r.to_id) ?? []), r.type_id])
        byRecord.set(r.from_id, pairs)
      }
      const results: Array<{ from: { id: string }, to: MultiAssociatedObjectWithLabel[], paging?: { next: { after: string } } }> = []
      for (const input of valid) {
        const pairs = byRecord.get(input.id)
        if (pairs === undefined) {
          errors.push({
            status: 'error', category: 'OBJECT_NOT_FOUND', subCategory: 'crm.associations.NO_ASSOCIATIONS_FOUND',
            message: `No ${pair.to.singular.toLowerCase()} is associated with ${pair.from.singular.toLowerCase()} ${input.id}.`,
            context: { fromObjectId: [String(input.id)], fromObjectType: [pair.from.singular.toLowerCase()], toObjectType: [pair.to.singular.toLowerCase()] },
            links: {}, errors: []
          })
          continue
        }
        const toIds = [...pairs.keys()]
        const page = toIds.slice(0, pageSize)
        const last = page.at(-1)
        results.push({
          from: { id: String(input.id) },
          to: page.map((id) => toMultiAssociated(pair, id, pairs.get(id) ?? [])),
          ...(toIds.length > pageSize && last !== undefined ? { paging: { next: { after: encodeCursor({ to: last }) } } } : {})
        })
      }
      return envelope(startedAt, results, errors)
    },

    /** T4: removes every type between each from and its `to` records, both directions; counts follow. */
    async archive (accountId: number, fromSegment: string, toSegment: string, inputs: ArchiveInput[]): Promise<void> {
      const pairCount = inputs.reduce((n, i) => n + i.to.length, 0)
      assertSize(pairCount, config.BATCH_CREATE_MAX)
      const pair = await types.resolvePair(accountId, fromSegment, toSegment)
      const pairs = inputs.flatMap((i) => i.to.map((t) => ({ fromId: parseRecordId(i.from.id), toId: parseRecordId(t.id) })))
      await inTransaction(db, async (trx) => { await removePairs(trx, accountId, pair, pairs) })
    },

    /** T5: removes specific types; the unlabeled type removes the whole pair, the primary type unsets the primary. */
    async archiveLabels (accountId: number, fromSegment: string, toSegment: string, inputs: PairInput[]): Promise<void> {
      assertSize(inputs.length, config.BATCH_CREATE_MAX)
      const pair = await types.resolvePair(accountId, fromSegment, toSegment)
      const whole: batch.IdPair[] = []
      const edges: single.Edge[] = []
      for (const input of inputs) {
        const fromId = parseRecordId(input.from.id)
        const toId = parseRecordId(input.to.id)
        const rows = validateSpecs(pair, input.types ?? [])
        if (rows.some((r) => r.role === 'unlabeled')) whole.push({ fromId, toId })
        else for (const r of rows) edges.push(...edgesOf(pair, fromId, toId, r))
      }
      await inTransaction(db, async (trx) => {
        await removePairs(trx, accountId, pair, whole)
        await single.deleteEdges(trx, accountId, edges)
      })
    }
  }

  async function removePairs (trx: Executor, accountId: number, pair: PairTypes, pairs: batch.IdPair[]): Promise<void> {
    if (pairs.length === 0) return
    const deleted = await batch.deletePairs(trx, accountId, pair.from.typeId, pair.to.typeId, pairs)
    const gone = deleted.filter((e) => e.from_type === pair.from.typeId && e.type_id === pair.unlabeled.type_id && (pair.from.typeId !== pair.to.typeId || pairs.some((p) => p.fromId === e.from_id && p.toId === e.to_id)))
    await single.decrementCounts(trx, accountId, gone.flatMap((e) => [
      { from_type: e.from_type, from_id: e.from_id, to_type: e.to_type, delta: 1 },
      { from_type: e.to_type, from_id: e.to_id, to_type: e.from_type, delta: 1 }
    ]))
  }
}

export type AssociationsBatchService = ReturnType<typeof createAssociationsBatchService>
