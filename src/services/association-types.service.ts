// Association types per object pair: the HUBSPOT_DEFINED seed, custom-object unlabeled types, and label definitions (L1-L4).
import type { Kysely } from 'kysely'
import { inTransaction } from '../db/transaction.js'
import type { Database, AssociationTypeRow, NewAssociationTypeRow } from '../db/schema.js'
import type { Executor } from '../db/executor.js'
import * as repo from '../repositories/association-types.repository.js'
import { countEdgesOfTypes, deleteEdgesOfTypes } from '../repositories/associations.repository.js'
import { HUBSPOT_ASSOCIATION_TYPES } from '../lib/hubspot-association-types.js'
import { InvalidInputError, LimitExceededError, ConflictError, withDetails } from '../errors.js'
import type { ObjectType, ObjectTypesService } from './object-types.service.js'
import type { AssociationSpecWithLabel } from '../schemas/associations.schemas.js'
import type { LabelCreate, LabelList, LabelUpdate } from '../schemas/labels.schemas.js'
import { NO_ACTOR, pairScope, type Actor } from './events.service.js'

/** The types of one object pair, seen from `from`. For a same-type pair both maps hold every type. */
export interface PairTypes {
  from: ObjectType
  to: ObjectType
  /** from -> to types by id */
  forward: Map<number, AssociationTypeRow>
  /** to -> from types by id */
  backward: Map<number, AssociationTypeRow>
  unlabeled: AssociationTypeRow
  /** The primary type of this direction, when `from` can have a primary `to` (contact/deal/ticket -> company). */
  primary?: AssociationTypeRow
}

export interface LabelsConfig { MAX_LABELS_PER_PAIR: number }

const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

export function seedHubspotTypes (accountId: number): NewAssociationTypeRow[] {
  return HUBSPOT_ASSOCIATION_TYPES.map((t) => ({
    account_id: accountId,
    from_type: t.from,
    to_type: t.to,
    type_id: t.typeId,
    category: 'HUBSPOT_DEFINED',
    role: t.role,
    label: t.label,
    name: t.name,
    inverse_type_id: t.inverse
  }))
}

export function toSpecWithLabel (row: AssociationTypeRow): AssociationSpecWithLabel {
  return { category: row.category, typeId: row.type_id, label: row.label }
}

export function createAssociationTypesService (db: Kysely<Database>, objectTypes: ObjectTypesService, config: LabelsConfig) {
  /** Loads the pair's types; creates the unlabeled types of a custom-object pair on first use. */
  async function pairTypes (exec: Executor, accountId: number, from: ObjectType, to: ObjectType): Promise<PairTypes> {
    let rows = await repo.findPairTypes(exec, accountId, from.typeId, to.typeId)
    let unlabeled = rows.find((r) => r.role === 'unlabeled' && r.from_type === from.typeId && r.to_type === to.typeId)
    if (unlabeled === undefined) {
      // First use of a pair outside a transaction: the rows are a write like any other (idempotency claim, retries).
      const create = async (trx: Executor): Promise<void> => { await repo.insertAssociationTypes(trx, await unlabeledRowsFor(trx, accountId, from, to)) }
      await (exec.isTransaction ? create(exec) : inTransaction(db, create))
      rows = await repo.findPairTypes(exec, accountId, from.typeId, to.typeId)
      unlabeled = rows.find((r) => r.role === 'unlabeled' && r.from_type === from.typeId && r.to_type === to.typeId)
      if (unlabeled === undefined) throw new Error(`no unlabeled association type for ${from.typeId} -> ${to.typeId}`)
    }
    const forward = new Map(rows.filter((r) => r.from_type === from.typeId && r.to_type === to.typeId).map((r) => [r.type_id, r]))
    const backward = new Map(rows.filter((r) => r.from_type === to.typeId && r.to_type === from.typeId).map((r) => [r.type_id, r]))
    const primary = [...forward.values()].find((r) => r.role === 'primary')
    return { from, to, forward, backward, unlabeled, ...(primary !== undefined ? { primary } : {}) }
  }

  async function unlabeledRowsFor (exec: Executor, accountId: number, from: ObjectType, to: ObjectType): Promise<NewAssociationTypeRow[]> {
    const name = (a: ObjectType, b: ObjectType): string => `${a.name}_to_${b.name}`
    if (from.typeId === to.typeId) {
      const [id] = await repo.nextAssociationTypeIds(exec, 1) as [number]
      return [{ account_id: accountId, from_type: from.typeId, to_type: to.typeId, type_id: id, inverse_type_id: id, category: 'HUBSPOT_DEFINED', role: 'unlabeled', label: null, name: name(from, to) }]
    }
    const [a, b] = await repo.nextAssociationTypeIds(exec, 2) as [number, number]
    return [
      { account_id: accountId, from_type: from.typeId, to_type: to.typeId, type_id: a, inverse_type_id: b, category: 'HUBSPOT_DEFINED', role: 'unlabeled', label: null, name: name(from, to) },
      { account_id: accountId, from_type: to.typeId, to_type: from.typeId, type_id: b, inverse_type_id: a, category: 'HUBSPOT_DEFINED', role: 'unlabeled', label: null, name: name(to, from) }
    ]
  }

  // Object types are resolved on `db`, so never call these inside a transaction: PGlite has one connection,
  // and a query outside the open transaction would wait for it forever.
  async function resolveTypes (accountId: number, fromSegment: string, toSegment: string): Promise<[ObjectType, ObjectType]> {
    return await Promise.all([objectTypes.resolve(accountId, fromSegment), objectTypes.resolve(accountId, toSegment)])
  }

  async function resolvePair (accountId: number, fromSegment: string, toSegment: string): Promise<PairTypes> {
    const [from, to] = await resolveTypes(accountId, fromSegment, toSegment)
    return await pairTypes(db, accountId, from, to)
  }

  /** Counts label definitions of a pair: a paired label (two type ids) counts once. */
  function countDefinitions (pair: PairTypes): number {
    const ids = new Set<number>()
    for (const row of [...pair.forward.values(), ...pair.backward.values()]) {
      if (row.category === 'USER_DEFINED' && row.role === 'label') ids.add(Math.min(row.type_id, row.inverse_type_id))
    }
    return ids.size
  }

  function userLabel (pair: PairTypes, typeId: number): AssociationTypeRow {
    const row = pair.forward.get(typeId)
    if (row === undefined) {
      throw withDetails(new InvalidInputError(`${typeId} is not a valid association type id from ${pair.from.name} to ${pair.to.name}`), {
        subCategory: 'crm.associations.INVALID_ASSOCIATION_TYPE', context: { associationTypeId: [String(typeId)] }
      })
    }
    if (row.category === 'HUBSPOT_DEFINED') {
      throw withDetails(new InvalidInputError(`Association type ${typeId} is HUBSPOT_DEFINED and cannot be changed or deleted`), {
        context: { associationTypeId: [String(typeId)] }
      })
    }
    return row
  }

  return {
    pairTypes,
    resolveTypes,
    resolvePair,

    /** L1: every type of the from -> to direction. */
    async listLabels (accountId: number, fromSegment: string, toSegment: string): Promise<LabelList> {
      const pair = await resolvePair(accountId, fromSegment, toSegment)
      return { results: [...pair.forward.values()].map(toSpecWithLabel) }
    },

    /** L2: a single label (one type id per direction, same text) or a paired label (`inverseLabel`). */
    async createLabel (accountId: number, fromSegment: string, toSegment: string, input: LabelCreate): Promise<LabelList> {
      if (!LABEL_NAME.test(input.name)) {
        throw withDetails(new InvalidInputError(`Invalid label name '${input.name}': use letters, digits and _, no hyphen, not starting with a digit`), {
          context: { name: [input.name] }
        })
      }
      const [from, to] = await resolveTypes(accountId, fromSegment, toSegment)
      return await inTransaction(db, async (trx) => {
        await pairTypes(trx, accountId, from, to)
        await repo.lockPairTypes(trx, accountId, from.typeId, to.typeId)
        const pair = await pairTypes(trx, accountId, from, to)
        const used = countDefinitions(pair)
        if (used >= config.MAX_LABELS_PER_PAIR) {
          throw withDetails(new LimitExceededError(`The limit of ${config.MAX_LABELS_PER_PAIR} association labels between ${pair.from.name} and ${pair.to.name} has been reached`), {
            subCategory: 'crm.associations.LABEL_LIMIT_REACHED', context: { limit: [String(config.MAX_LABELS_PER_PAIR)], fromObjectType: [pair.from.typeId], toObjectType: [pair.to.typeId] }
          })
        }
        const all = [...pair.forward.values(), ...pair.backward.values()]
        if (all.some((r) => r.name === input.name && r.category === 'USER_DEFINED')) {
          throw withDetails(new ConflictError(`An association label named '${input.name}' already exists between ${pair.from.name} and ${pair.to.name}`), { context: { name: [input.name] } })
        }
        const same = pair.from.typeId === pair.to.typeId
        const base = { account_id: accountId, category: 'USER_DEFINED' as const, role: 'label' as const, name: input.name }
        let rows: NewAssociationTypeRow[]
        if (same && input.inverseLabel === undefined) {
          const [id] = await repo.nextAssociationTypeIds(trx, 1) as [number]
          rows = [{ ...base, from_type: pair.from.typeId, to_type: pair.to.typeId, type_id: id, inverse_type_id: id, label: input.label }]
        } else {
          const [a, b] = await repo.nextAssociationTypeIds(trx, 2) as [number, number]
          rows = [
            { ...base, from_type: pair.from.typeId, to_type: pair.to.typeId, type_id: a, inverse_type_id: b, label: input.label },
            { ...base, from_type: pair.to.typeId, to_type: pair.from.typeId, type_id: b, inverse_type_id: a, label: input.inverseLabel ?? input.label }
          ]
        }
        const created = await repo.insertAssociationTypes(trx, rows)
        return { results: created.sort((x, y) => x.type_id - y.type_id).map(toSpecWithLabel) }
      })
    },

    /** L3: renames a user-defined label; type ids never change. A single label keeps one text in both directions. */
    async updateLabel (accountId: number, fromSegment: string, toSegment: string, input: LabelUpdate): Promise<void> {
      const [from, to] = await resolveTypes(accountId, fromSegment, toSegment)
      await inTransaction(db, async (trx) => {
        const pair = await pairTypes(trx, accountId, from, to)
        const row = userLabel(pair, input.associationTypeId)
        const inverse = pair.backward.get(row.inverse_type_id)
        const paired = inverse !== undefined && inverse.type_id !== row.type_id && inverse.label !== row.label
        if (input.inverseLabel !== undefined && inverse?.type_id === row.type_id) {
          throw withDetails(new InvalidInputError('This label is symmetric (one type id for both directions); it has no inverse label'), {
            context: { associationTypeId: [String(row.type_id)] }
          })
        }
        await repo.updateTypeLabel(trx, accountId, row.type_id, input.label)
        if (inverse !== undefined && inverse.type_id !== row.type_id) {
          const inverseLabel = input.inverseLabel ?? (paired ? undefined : input.label)
          if (inverseLabel !== undefined) await repo.updateTypeLabel(trx, accountId, inverse.type_id, inverseLabel)
        }
      })
    },

    /** L4: deletes a user-defined label (both directions). In use: 400 with the count, unless `force` removes it from those associations first. */
    async deleteLabel (accountId: number, fromSegment: string, toSegment: string, typeId: number, force: boolean, actor: Actor = NO_ACTOR): Promise<void> {
      const [from, to] = await resolveTypes(accountId, fromSegment, toSegment)
      await inTransaction(db, async (trx) => {
        await pairTypes(trx, accountId, from, to)
        await repo.lockPairTypes(trx, accountId, from.typeId, to.typeId)
        const pair = await pairTypes(trx, accountId, from, to)
        const row = userLabel(pair, typeId)
        const typeIds = [...new Set([row.type_id, row.inverse_type_id])]
        // Waits for writers that are adding this label, and makes later ones find it gone (no orphan edges).
        await repo.lockTypesForDelete(trx, accountId, typeIds)
        const usage = await countEdgesOfTypes(trx, accountId, pair.from.typeId, pair.to.typeId, row.type_id, row.type_id === row.inverse_type_id)
        if (usage > 0 && !force) {
          throw withDetails(new InvalidInputError(`Association label ${typeId} is used by ${usage} associations; remove it from them first, or delete with force=true`), {
            subCategory: 'crm.associations.LABEL_IN_USE', context: { associationTypeId: [String(typeId)], associations: [String(usage)] }
          })
        }
        // Each association that loses the label is a label_removed event (cause label_deleted), from the pair's from side.
        await deleteEdgesOfTypes(trx, accountId, pair.from.typeId, pair.to.typeId, typeIds, pairScope(actor, pair.from.typeId, pair.to.typeId, 'label_deleted'))
        await repo.deleteAssociationTypes(trx, accountId, typeIds)
      })
    }
  }
}

export type AssociationTypesService = ReturnType<typeof createAssociationTypesService>
