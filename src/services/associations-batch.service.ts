// Batch association endpoints (API.md T1-T5). Each batch is a constant number of set-based statements, whatever its
// size: the rules of single writes (existence, direction, per-record cap, per-label limits, first company primary, one
// primary, two-way rows) are decided in memory over rows read and locked up front, then written in bulk. A failed
// input writes nothing of its own; the others commit.
import type { Kysely } from 'kysely'
import type { AssociationTypeRow, Database } from '../db/schema.js'
import type { Executor } from '../db/executor.js'
import { inTransaction } from '../db/transaction.js'
import { rollbackToSavepoint, savepoint } from '../repositories/records.repository.js'
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
import { NO_ACTOR, pairScope, type Actor } from './events.service.js'

export interface BatchConfig { MAX_ASSOCIATIONS_PER_TYPE: number, BATCH_CREATE_MAX: number, BATCH_READ_MAX: number }

export interface PairInput { from: { id: string }, to: { id: string }, types?: AssociationSpec[] }
export interface ArchiveInput { from: { id: string }, to: Array<{ id: string }> }
export interface ReadInput { id: string, after?: string }

interface Planned { index: number, fromId: number, toId: number, wanted: AssociationTypeRow[] }

type LabelMode = 'replace' | 'add'

const pairContext = (fromId: string, toId: string): Record<string, string[]> => ({ fromObjectId: [fromId], toObjectId: [toId] })
const countKey = (type: string, id: number, toType: string): string => `${type}|${id}|${toType}`

/** An accepted input: the pair's from -> to type ids afterwards, and those this write added (the unlabeled one when the pair is new). */
interface Done { index: number, fromId: number, toId: number, typeIds: number[], added: number[] }

/** What a batch decided: the rows to write and, per input, its outcome. */
interface Decided { done: Done[], failed: StandardError[], inserts: single.Edge[], deletes: single.Edge[] }

/** What the rules need to know about the records and pairs of a batch, read after the records are locked. */
interface BatchState {
  live: Set<string>
  present: Set<number>
  /** Type ids of each existing pair's from -> to rows, by `from|to`. */
  existing: Map<string, Set<number>>
  /** Per-record counts toward the other side (`countKey`); exact for locked records or when `exactCounts`. */
  counts: Map<string, number>
  /** Current primary company of each owner. */
  primaries: Map<number, number>
  /** How many records carry a limited label, per record and type (`type|id|typeId`). */
  labelled: Map<string, number>
}

/** Type ids of each existing pair's from -> to rows, by `from|to`. */
async function existingTypeIds (trx: Executor, accountId: number, from: string, to: string, planned: Planned[]): Promise<Map<string, Set<number>>> {
  const existing = new Map<string, Set<number>>()
  for (const r of await batch.typeIdsForPairs(trx, accountId, from, to, planned.map((p) => ({ fromId: p.fromId, toId: p.toId })))) {
    const key = `${r.from_id}|${r.to_id}`
    existing.set(key, (existing.get(key) ?? new Set()).add(r.type_id))
  }
  return existing
}

async function readState (trx: Executor, accountId: number, pair: PairTypes, planned: Planned[], live: Set<string>, present: Set<number>, limitedIds: Set<number>, exactCounts: boolean): Promise<BatchState> {
  const from = pair.from.typeId
  const to = pair.to.typeId
  const valid = planned.filter((p) => live.has(`${from}|${p.fromId}`) && live.has(`${to}|${p.toId}`))
  const existing = await existingTypeIds(trx, accountId, from, to, valid)
  // Counts and primaries bear only on inputs that add a pair (cap, first company primary) or ask for the primary type:
  // labels added to pairs that exist read neither.
  const primary = primaryOf(pair)
  const addsPair = (p: Planned): boolean => existing.get(`${p.fromId}|${p.toId}`)?.has(pair.unlabeled.type_id) !== true
  const wantsPrimary = (p: Planned): boolean => primary !== undefined && p.wanted.some((r) => r.type_id === primary.row.type_id)
  const keys = valid.filter(addsPair).flatMap((p) => [{ from_type: from, from_id: p.fromId, to_type: to }, { from_type: to, from_id: p.toId, to_type: from }])
  if (exactCounts) await batch.ensureCountRows(trx, accountId, keys)
  const counts = new Map((await batch.readCounts(trx, accountId, keys, exactCounts)).map((c) => [countKey(c.from_type, c.from_id, c.to_type), c.count]))
  const primaries = new Map<number, number>()
  if (primary !== undefined) {
    const ownerType = primary.owner === 'from' ? from : to
    const owners = [...new Set(valid.filter((p) => addsPair(p) || wantsPrimary(p)).map((p) => primary.owner === 'from' ? p.fromId : p.toId))]
    for (const r of await batch.primariesOf(trx, accountId, ownerType, owners, primary.owner === 'from' ? to : from)) primaries.set(r.from_id, r.to_id)
  }
  const labelled = new Map<string, number>()
  if (limitedIds.size > 0) {
    const add = (rows: Array<{ from_id: number, type_id: number, n: number }>, t: string): void => { for (const r of rows) labelled.set(`${t}|${r.from_id}|${r.type_id}`, r.n) }
    add(await batch.labelledCounts(trx, accountId, from, valid.map((p) => p.fromId), to, [...limitedIds]), from)
    add(await batch.labelledCounts(trx, accountId, to, valid.map((p) => p.toId), from, [...limitedIds]), to)
  }
  return { live, present, existing, counts, primaries, labelled }
}

/**
 * The rules of single writes, applied input by input in memory (each accepted input's effects are seen by the later
 * ones): existence, label types still present, per-record cap, first company primary, explicit primary replacing the
 * old one, per-label limits, label-set semantics (`replace` drops labels not sent; never the unlabeled or primary type).
 */
function decide (pair: PairTypes, planned: Planned[], state: BatchState, mode: LabelMode, limitedIds: Set<number>, counted: batch.CountedPair): Decided {
  const { live, present, existing, counts, primaries, labelled } = state
  const from = pair.from.typeId
  const to = pair.to.typeId
  const primary = primaryOf(pair)
  const decided: Decided = { done: [], failed: [], inserts: [], deletes: [] }
  for (const p of planned) {
    try {
      const gone = userDefinedTypeIds(p.wanted).find((id) => !present.has(id))
      if (gone !== undefined) throw unknownTypeError(pair, gone)
      const missing = [[from, p.fromId], [to, p.toId]].filter(([t, id]) => !live.has(`${t}|${id}`))
      if (missing.length > 0) {
        throw withDetails(new ObjectNotFoundError(missing.map(([t, id]) => `No ${t === from ? pair.from.singular.toLowerCase() : pair.to.singular.toLowerCase()} with ID ${id} exists`).join('; ')), {
          subCategory: 'crm.associations.OBJECT_NOT_FOUND'
        })
      }
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
        if (fromCount + 1 > counted.fromLimit) throw capError(pair, from, p.fromId, to, counted.fromLimit)
        if (toCount + 1 > counted.toLimit) throw capError(pair, to, p.toId, from, counted.toLimit)
      }
      let demoted: { f: number, t: number } | undefined
      if (primary !== undefined) {
        const ownerId = primary.owner === 'from' ? p.fromId : p.toId
        const companyId = primary.owner === 'from' ? p.toId : p.fromId
        const explicit = p.wanted.some((r) => r.type_id === primary.row.type_id)
        const current = primaries.get(ownerId)
        const ownerCount = primary.owner === 'from' ? fromCount : toCount
        if (explicit && current !== undefined && current !== companyId) {
          demoted = primary.owner === 'from' ? { f: ownerId, t: current } : { f: current, t: ownerId }
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
        decided.inserts.push(...edgesOf(pair, p.fromId, p.toId, r))
        labelled.set(`${from}|${p.fromId}|${r.type_id}`, (labelled.get(`${from}|${p.fromId}|${r.type_id}`) ?? 0) + 1)
        labelled.set(`${to}|${p.toId}|${r.inverse_type_id}`, (labelled.get(`${to}|${p.toId}|${r.inverse_type_id}`) ?? 0) + 1)
      }
      for (const r of remove) decided.deletes.push(...edgesOf(pair, p.fromId, p.toId, r))
      if (demoted !== undefined && primary !== undefined) {
        // The old primary's pair loses the primary type for the later inputs too (one of them may make it primary
        // again). A primary row this batch added itself is taken out of the inserts: deletes run first, so deleting
        // it would leave two primaries.
        existing.get(`${demoted.f}|${demoted.t}`)?.delete(primary.row.type_id)
        const old = edgesOf(pair, demoted.f, demoted.t, primary.row)
        const isOld = (e: single.Edge): boolean => old.some((o) => o.from_type === e.from_type && o.from_id === e.from_id && o.to_id === e.to_id && o.type_id === e.type_id)
        if (decided.inserts.some(isOld)) decided.inserts = decided.inserts.filter((e) => !isOld(e))
        else decided.deletes.push(...old)
      }
      if (primary !== undefined && add.some((r) => r.type_id === primary.row.type_id)) {
        primaries.set(primary.owner === 'from' ? p.fromId : p.toId, primary.owner === 'from' ? p.toId : p.fromId)
      }
      if (isNew) {
        counts.set(fromKey, fromCount + 1)
        counts.set(toKey, toCount + 1)
      }
      const typeIds = [...have, ...add.map((r) => r.type_id)].filter((id) => !remove.some((r) => r.type_id === id))
      existing.set(`${p.fromId}|${p.toId}`, new Set(typeIds))
      decided.done.push({ index: p.index, fromId: p.fromId, toId: p.toId, typeIds, added: add.map((r) => r.type_id) })
    } catch (err) {
      decided.failed.push(toStandardError(err, pairContext(String(p.fromId), String(p.toId))))
    }
  }
  return decided
}

export function createAssociationsBatchService (db: Kysely<Database>, types: AssociationTypesService, config: BatchConfig) {
  function assertSize (n: number, max: number): void {
    if (n > max) {
      throw withDetails(new InvalidInputError(`Too many inputs: ${n}; the maximum is ${max} per request`), { context: { inputs: [String(n)], maximum: [String(max)] } })
    }
  }

  /**
   * The inputs that would change nothing (the pair exists with every type asked for and, in replace mode, no other
   * label), both records live; found by reads without locks. Answering them costs no lock, count or primary read: a
   * re-import or a retried batch is mostly such inputs. Leaving them out does not change what the others decide, as
   * an unchanged input has no effect on the later ones.
   */
  async function unchangedInputs (trx: Executor, accountId: number, pair: PairTypes, planned: Planned[], mode: LabelMode, knownLive: ReadonlySet<string>): Promise<Done[]> {
    const from = pair.from.typeId
    const to = pair.to.typeId
    const existing = await existingTypeIds(trx, accountId, from, to, planned)
    const candidates = planned.flatMap((p) => {
      const have = existing.get(`${p.fromId}|${p.toId}`)
      if (have === undefined || !have.has(pair.unlabeled.type_id) || p.wanted.some((r) => !have.has(r.type_id))) return []
      if (mode === 'replace' && [...have].some((id) => pair.forward.get(id)?.role === 'label' && !p.wanted.some((r) => r.type_id === id))) return []
      return [{ p, have }]
    })
    if (candidates.length === 0) return []
    const refs = new Map<string, single.RecordRef>()
    for (const { p } of candidates) {
      if (!knownLive.has(`${from}|${p.fromId}`)) refs.set(`${from}|${p.fromId}`, { type: from, id: p.fromId })
      if (!knownLive.has(`${to}|${p.toId}`)) refs.set(`${to}|${p.toId}`, { type: to, id: p.toId })
    }
    const read = new Set((await single.liveRecords(trx, accountId, [...refs.values()])).map((r) => `${r.type}|${r.id}`))
    const isLive = (key: string): boolean => knownLive.has(key) || read.has(key)
    return candidates
      .filter(({ p }) => isLive(`${from}|${p.fromId}`) && isLive(`${to}|${p.toId}`))
      .map(({ p, have }) => ({ index: p.index, fromId: p.fromId, toId: p.toId, typeIds: [...have], added: [] }))
  }

  /**
   * The shared write path of T1 (replace) and T2 / imports (add). Returns, per successful input, the type ids of the
   * pair's from -> to rows afterwards; and the per-input errors. With `unchangedFirst`, unchanged inputs are answered
   * first (unchangedInputs).
   */
  async function writePairs (accountId: number, pair: PairTypes, inputs: PairInput[], mode: LabelMode, actor: Actor, exec?: Executor, unchangedFirst?: { knownLive: ReadonlySet<string> }): Promise<{ done: Done[], errors: StandardError[] }> {
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
    const from = pair.from.typeId
    const to = pair.to.typeId
    const counted: batch.CountedPair = {
      fromType: from,
      toType: to,
      anchorTypeId: pair.unlabeled.type_id,
      symmetric: from === to && pair.unlabeled.inverse_type_id === pair.unlabeled.type_id,
      fromLimit: Math.min(config.MAX_ASSOCIATIONS_PER_TYPE, pair.unlabeled.max_to_object_ids ?? Infinity),
      toLimit: Math.min(config.MAX_ASSOCIATIONS_PER_TYPE, pair.backward.get(pair.unlabeled.inverse_type_id)?.max_to_object_ids ?? Infinity)
    }
    // Who waits for whom. The owner of a primary (the contact, deal or ticket toward companies) is locked FOR NO KEY
    // UPDATE, so its count, primary and pairs stay exact while the batch decides; the other side FOR SHARE (it must
    // stay live), its cap checked optimistically when the counts are written. Per-label limits count both sides, so
    // a batch writing a limited label locks both.
    const labelLimited = planned.some((p) => p.wanted.some((r) => limitedIds.has(r.type_id)))
    const lockMode = (side: 'from' | 'to'): single.LockMode => labelLimited || primary?.owner === side ? 'no key update' : 'share'

    // With `exec` (a caller's open transaction) the writes join it; otherwise they get a transaction of their own.
    const work = async (trx: Executor): Promise<Decided> => {
      // Not a filter of `planned` in place: a retried transaction starts from all the inputs again.
      const unchanged = unchangedFirst !== undefined ? await unchangedInputs(trx, accountId, pair, planned, mode, unchangedFirst.knownLive) : []
      if (unchanged.length === 0) return await writeChanges(trx, planned)
      const answered = new Set(unchanged.map((d) => d.index))
      const rest = planned.filter((p) => !answered.has(p.index))
      if (rest.length === 0) return { done: unchanged, failed: [], inserts: [], deletes: [] }
      const decided = await writeChanges(trx, rest)
      return { ...decided, done: [...unchanged, ...decided.done] }
    }
    const writeChanges = async (trx: Executor, planned: Planned[]): Promise<Decided> => {
      const refs = (side: 'from' | 'to'): single.RecordRef[] => [...new Set(planned.map((p) => side === 'from' ? p.fromId : p.toId))].map((id) => ({ type: side === 'from' ? from : to, id }))
      const live = new Set<string>()
      // One statement per lock mode, in (type, id) order like every other writer.
      const groups = lockMode('from') === lockMode('to') ? [[...refs('from'), ...refs('to')]] : [refs('from'), refs('to')].sort((a, b) => (a[0]?.type ?? '') < (b[0]?.type ?? '') ? -1 : 1)
      for (const group of groups) {
        for (const r of await single.lockRecords(trx, accountId, group, lockMode(group[0]?.type === from ? 'from' : 'to'))) live.add(`${r.type}|${r.id}`)
      }
      const present = new Set(await typesRepo.lockTypesInUse(trx, accountId, userDefinedTypeIds(planned.flatMap((p) => p.wanted))))

      const attempt = async (exactCounts: boolean): Promise<Decided> => {
        const decided = decide(pair, planned, await readState(trx, accountId, pair, planned, live, present, limitedIds, exactCounts), mode, limitedIds, counted)
        if (!exactCounts) await savepoint(trx, 'batch_write')
        // A demoted primary row may be re-added by a later input of the same batch; deletes run first.
        // The change events go with the rows in the same statements (and roll back with the savepoint).
        const events = pairScope(actor, from, to)
        await single.deleteEdges(trx, accountId, decided.deletes, events)
        const over = await batch.insertEdgesCounted(trx, accountId, decided.inserts, counted, events)
        if (over.length === 0) return decided
        if (exactCounts) throw new Error(`association counts above the cap with their rows locked: ${JSON.stringify(over)}`)
        // A concurrent writer used up a cap the plan relied on: undo, lock the counts, decide again on exact figures.
        await rollbackToSavepoint(trx, 'batch_write')
        return await attempt(true)
      }
      return await attempt(false)
    }
    const outcome = exec === undefined ? await inTransaction(db, work) : await work(exec)
    return { done: outcome.done.sort((a, b) => a.index - b.index), errors: [...errors, ...outcome.failed] }
  }

  function envelope<R> (startedAt: string, results: R[], errors: StandardError[]): BatchOutcome<R> {
    return { status: 'COMPLETE', results, ...(errors.length > 0 ? { numErrors: errors.length, errors } : {}), startedAt, completedAt: new Date().toISOString() }
  }

  return {
    /** T1: label sets (replace semantics, as B1). */
    async create (accountId: number, fromSegment: string, toSegment: string, inputs: PairInput[], actor: Actor = NO_ACTOR): Promise<BatchOutcome<LabelsBetweenObjectPair>> {
      const startedAt = new Date().toISOString()
      assertSize(inputs.length, config.BATCH_CREATE_MAX)
      const pair = await types.resolvePair(accountId, fromSegment, toSegment)
      const { done, errors } = await writePairs(accountId, pair, inputs, 'replace', actor)
      return envelope(startedAt, done.map((d) => toLabelsBetween(pair, d.fromId, d.toId, d.typeIds)), errors)
    },

    /** Adds labels without removing any (the import rule), for imports and other bulk writers. */
    async addLabels (accountId: number, pair: PairTypes, inputs: PairInput[], actor: Actor = NO_ACTOR) {
      return await writePairs(accountId, pair, inputs, 'add', actor)
    },

    /**
     * The same writes inside the caller's open transaction `trx` (e.g. a record created with inline associations):
     * every query goes through `trx`, so resolve `pair` before opening it. Errors name each failed input's from/to ids.
     */
    async writeInTransaction (trx: Executor, accountId: number, pair: PairTypes, inputs: PairInput[], mode: LabelMode = 'add', actor: Actor = NO_ACTOR) {
      return await writePairs(accountId, pair, inputs, mode, actor, trx)
    },

    /**
     * As writeInTransaction, for writers whose inputs often exist already (imports run again): the unchanged inputs are
     * answered from unlocked reads first, at the cost of one more read when few are. `knownLive` (`type|id`) names
     * records the caller has just read live or written in this transaction: their liveness is not read again.
     */
    async writeMostlyUnchangedInTransaction (trx: Executor, accountId: number, pair: PairTypes, inputs: PairInput[], options: { mode?: LabelMode, knownLive?: ReadonlySet<string> } = {}) {
      return await writePairs(accountId, pair, inputs, options.mode ?? 'add', NO_ACTOR, trx, { knownLive: options.knownLive ?? new Set() })
    },

    /** T2: unlabeled associations; both directions per input. */
    async createDefault (accountId: number, fromSegment: string, toSegment: string, inputs: Array<{ from: { id: string }, to: { id: string } }>, actor: Actor = NO_ACTOR): Promise<BatchOutcome<PublicDefaultAssociation>> {
      const startedAt = new Date().toISOString()
      assertSize(inputs.length, config.BATCH_CREATE_MAX)
      const pair = await types.resolvePair(accountId, fromSegment, toSegment)
      const { done, errors } = await writePairs(accountId, pair, inputs.map((i) => ({ from: i.from, to: i.to, types: [] })), 'add', actor)
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
    async archive (accountId: number, fromSegment: string, toSegment: string, inputs: ArchiveInput[], actor: Actor = NO_ACTOR): Promise<void> {
      const pairCount = inputs.reduce((n, i) => n + i.to.length, 0)
      assertSize(pairCount, config.BATCH_CREATE_MAX)
      const pair = await types.resolvePair(accountId, fromSegment, toSegment)
      const pairs = inputs.flatMap((i) => i.to.map((t) => ({ fromId: parseRecordId(i.from.id), toId: parseRecordId(t.id) })))
      await inTransaction(db, async (trx) => { await removePairs(trx, accountId, pair, pairs, actor) })
    },

    /** T5: removes specific types; the unlabeled type removes the whole pair, the primary type unsets the primary. */
    async archiveLabels (accountId: number, fromSegment: string, toSegment: string, inputs: PairInput[], actor: Actor = NO_ACTOR): Promise<void> {
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
        await removePairs(trx, accountId, pair, whole, actor)
        await single.deleteEdges(trx, accountId, edges, pairScope(actor, pair.from.typeId, pair.to.typeId))
      })
    }
  }

  async function removePairs (trx: Executor, accountId: number, pair: PairTypes, pairs: batch.IdPair[], actor: Actor): Promise<void> {
    if (pairs.length === 0) return
    const deleted = await batch.deletePairs(trx, accountId, pair.from.typeId, pair.to.typeId, pairs, pairScope(actor, pair.from.typeId, pair.to.typeId))
    const gone = deleted.filter((e) => e.from_type === pair.from.typeId && e.type_id === pair.unlabeled.type_id && (pair.from.typeId !== pair.to.typeId || pairs.some((p) => p.fromId === e.from_id && p.toId === e.to_id)))
    await single.decrementCounts(trx, accountId, gone.flatMap((e) => [
      { from_type: e.from_type, from_id: e.from_id, to_type: e.to_type, delta: 1 },
      { from_type: e.to_type, from_id: e.to_id, to_type: e.from_type, delta: 1 }
    ]))
  }
}

export type AssociationsBatchService = ReturnType<typeof createAssociationsBatchService>
