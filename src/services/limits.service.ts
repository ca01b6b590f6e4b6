// Per-type association limits (maxToObjectIds, C1-C5): at most the per-record cap, enforced on new associations only.
import type { Kysely } from 'kysely'
import { inTransaction } from '../db/transaction.js'
import type { AssociationTypeRow, Database } from '../db/schema.js'
import * as repo from '../repositories/association-types.repository.js'
import { runBatch, type BatchOutcome } from '../lib/batch.js'
import { InvalidInputError, LimitExceededError, withDetails } from '../errors.js'
import type { AssociationTypesService, PairTypes } from './association-types.service.js'
import type { LimitConfiguration, LimitInput, LimitSpec } from '../schemas/labels.schemas.js'

export interface LimitsConfig { MAX_ASSOCIATIONS_PER_TYPE: number }

function toConfiguration (row: AssociationTypeRow): LimitConfiguration {
  return {
    category: row.category,
    typeId: row.type_id,
    label: row.label,
    ...(row.max_to_object_ids !== null ? { userEnforcedMaxToObjectIds: row.max_to_object_ids } : {})
  }
}

export function createLimitsService (db: Kysely<Database>, types: AssociationTypesService, config: LimitsConfig) {
  function typeOf (pair: PairTypes, spec: LimitSpec): AssociationTypeRow {
    const row = pair.forward.get(spec.typeId)
    if (row === undefined || row.category !== spec.category) {
      throw withDetails(new InvalidInputError(`${spec.category}=${spec.typeId} is not a valid association type between ${pair.from.name} and ${pair.to.name}`), {
        subCategory: 'crm.associations.INVALID_ASSOCIATION_TYPE', context: { typeId: [String(spec.typeId)], category: [spec.category] }
      })
    }
    return row
  }

  /** At most the per-record cap; a label's limit also at most the limit of the direction's unlabeled type (API.md C3/C4). */
  function checkRange (input: LimitInput, row: AssociationTypeRow, objectLimit: number | null): void {
    const bound = row.role === 'unlabeled' || objectLimit === null ? config.MAX_ASSOCIATIONS_PER_TYPE : Math.min(objectLimit, config.MAX_ASSOCIATIONS_PER_TYPE)
    if (input.maxToObjectIds > bound) {
      const what = bound === config.MAX_ASSOCIATIONS_PER_TYPE ? 'the per-record limit' : 'the limit of the unlabeled type'
      throw withDetails(new LimitExceededError(`maxToObjectIds must be between 1 and ${bound} (${what}); got ${input.maxToObjectIds}`), {
        context: { typeId: [String(input.typeId)], maxToObjectIds: [String(input.maxToObjectIds)] }
      })
    }
  }

  async function write (accountId: number, fromSegment: string, toSegment: string, inputs: LimitInput[], mustExist: boolean): Promise<BatchOutcome<LimitConfiguration>> {
    const pair = await types.resolvePair(accountId, fromSegment, toSegment)
    // The unlabeled type's limit as this batch leaves it, for the label-limit bound of later inputs.
    let objectLimit = pair.unlabeled.max_to_object_ids
    return await runBatch(inputs, async (input) => {
      const row = typeOf(pair, input)
      checkRange(input, row, objectLimit)
      if (!mustExist && row.max_to_object_ids !== null) {
        throw withDetails(new InvalidInputError(`A limit is already configured for type ${input.typeId}; use batch/update`), { context: { typeId: [String(input.typeId)] } })
      }
      const updated = await inTransaction(db, async (trx) => await repo.setMaxToObjectIds(trx, accountId, row.type_id, input.maxToObjectIds))
      if (row.role === 'unlabeled') objectLimit = input.maxToObjectIds
      return toConfiguration(updated as AssociationTypeRow)
    }, (input) => ({ typeId: [String(input.typeId)], category: [input.category] }))
  }

  return {
    async listAll (accountId: number): Promise<LimitConfiguration[]> {
      return (await repo.listConfiguredLimits(db, accountId)).map(toConfiguration)
    },

    async listForPair (accountId: number, fromSegment: string, toSegment: string): Promise<LimitConfiguration[]> {
      const pair = await types.resolvePair(accountId, fromSegment, toSegment)
      return (await repo.listConfiguredLimits(db, accountId, { from: pair.from.typeId, to: pair.to.typeId })).map(toConfiguration)
    },

    /** C3: new limits; a type that already has one is an input error (use update). */
    async create (accountId: number, fromSegment: string, toSegment: string, inputs: LimitInput[]) {
      return await write(accountId, fromSegment, toSegment, inputs, false)
    },

    /** C4: sets limits, configured or not. */
    async update (accountId: number, fromSegment: string, toSegment: string, inputs: LimitInput[]) {
      const outcome = await write(accountId, fromSegment, toSegment, inputs, true)
      return { ...outcome, results: outcome.results.map(({ label: _label, ...rest }) => rest) }
    },

    /** C5: removes limits; the types fall back to the per-record cap. */
    async purge (accountId: number, fromSegment: string, toSegment: string, inputs: LimitSpec[]): Promise<void> {
      const pair = await types.resolvePair(accountId, fromSegment, toSegment)
      const rows = inputs.map((input) => typeOf(pair, input))
      await inTransaction(db, async (trx) => {
        for (const row of rows) await repo.setMaxToObjectIds(trx, accountId, row.type_id, null)
      })
    }
  }
}

export type LimitsService = ReturnType<typeof createLimitsService>
