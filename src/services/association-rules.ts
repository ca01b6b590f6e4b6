// Pure rules shared by single and batch association writes: spec validation, edge rows of a type, primary ownership,
// and the wire shapes of a pair. No I/O here.
import type { AssociationTypeRow } from '../db/schema.js'
import type { Edge } from '../repositories/associations.repository.js'
import { InvalidInputError, LimitExceededError, withDetails } from '../errors.js'
import { toSpecWithLabel, type PairTypes } from './association-types.service.js'
import type { AssociationSpec, LabelsBetweenObjectPair, MultiAssociatedObjectWithLabel } from '../schemas/associations.schemas.js'

export function unknownTypeError (pair: PairTypes, typeId: number): Error {
  return withDetails(new InvalidInputError(`${typeId} is not a valid association type id from ${pair.from.name} to ${pair.to.name}`), {
    subCategory: 'crm.associations.INVALID_ASSOCIATION_TYPE', context: { associationTypeId: [String(typeId)] }
  })
}

/** Checks each spec against the pair's from -> to types: direction, category, duplicates (API.md §1.2 B1 error shape). */
export function validateSpecs (pair: PairTypes, specs: AssociationSpec[]): AssociationTypeRow[] {
  const seen = new Set<number>()
  const rows: AssociationTypeRow[] = []
  const invalid: string[] = []
  for (const spec of specs) {
    if (seen.has(spec.associationTypeId)) {
      throw withDetails(new InvalidInputError(`Association type ${spec.associationTypeId} is listed twice`), { context: { associationTypeId: [String(spec.associationTypeId)] } })
    }
    seen.add(spec.associationTypeId)
    const row = pair.forward.get(spec.associationTypeId)
    if (row === undefined || row.category !== spec.associationCategory) {
      invalid.push(row !== undefined
        ? `${spec.associationCategory}=${spec.associationTypeId} has category ${row.category}`
        : pair.backward.has(spec.associationTypeId)
          ? `${spec.associationCategory}=${spec.associationTypeId} is the ${pair.to.name} -> ${pair.from.name} direction; use ${pair.backward.get(spec.associationTypeId)?.inverse_type_id}`
          : `${spec.associationCategory}=${spec.associationTypeId} is not a valid association definition id from ${pair.from.name} to ${pair.to.name}`)
      continue
    }
    rows.push(row)
  }
  if (invalid.length > 0) {
    throw withDetails(new InvalidInputError('One or more associations are invalid'), {
      subCategory: 'crm.associations.INVALID_ASSOCIATION_TYPE',
      context: { associationSpec: specs.map((s) => `${s.associationCategory}=${s.associationTypeId}`), INVALID_ASSOCIATION_TYPE_ID: invalid }
    })
  }
  return rows
}

export function selfAssociationError (pair: PairTypes, id: number): Error | undefined {
  if (pair.from.typeId !== pair.to.typeId) return undefined
  return withDetails(new InvalidInputError(`A record cannot be associated with itself (${pair.from.name} ${id})`), { context: { objectId: [String(id)] } })
}

/** The two rows of a from -> to type; `is_primary` marks the primary row of the record that owns the primary. */
export function edgesOf (pair: PairTypes, fromId: number, toId: number, row: AssociationTypeRow): Edge[] {
  return [
    { from_type: pair.from.typeId, from_id: fromId, to_type: pair.to.typeId, to_id: toId, type_id: row.type_id, is_primary: row.role === 'primary' },
    { from_type: pair.to.typeId, from_id: toId, to_type: pair.from.typeId, to_id: fromId, type_id: row.inverse_type_id, is_primary: pair.backward.get(row.inverse_type_id)?.role === 'primary' }
  ]
}

/** Which side of the pair owns a primary (contact/deal/ticket toward companies), and the forward type that sets it. */
export function primaryOf (pair: PairTypes): { owner: 'from' | 'to', row: AssociationTypeRow, ownerRow: AssociationTypeRow } | undefined {
  if (pair.primary !== undefined) return { owner: 'from', row: pair.primary, ownerRow: pair.primary }
  const inverse = [...pair.backward.values()].find((r) => r.role === 'primary')
  if (inverse !== undefined) return { owner: 'to', row: pair.forward.get(inverse.inverse_type_id) as AssociationTypeRow, ownerRow: inverse }
  return undefined
}

export function capError (pair: PairTypes, type: string, id: number, toType: string, limit: number, what = 'associations'): Error {
  const names = new Map([[pair.from.typeId, pair.from.name], [pair.to.typeId, pair.to.name]])
  return withDetails(new LimitExceededError(`${names.get(type) ?? type} ${id} would exceed the limit of ${limit} ${what} to ${names.get(toType) ?? toType}`), {
    subCategory: 'crm.associations.TOO_MANY_ASSOCIATIONS',
    context: { objectType: [type], objectId: [String(id)], toObjectType: [toType], limit: [String(limit)] }
  })
}

export function toLabelsBetween (pair: PairTypes, fromId: number, toId: number, typeIds: number[]): LabelsBetweenObjectPair {
  const labels = [...new Set(typeIds)].sort((a, b) => a - b).map((id) => pair.forward.get(id)?.label).filter((l): l is string => typeof l === 'string')
  return { fromObjectTypeId: pair.from.typeId, fromObjectId: fromId, toObjectTypeId: pair.to.typeId, toObjectId: toId, labels }
}

export function toMultiAssociated (pair: PairTypes, toId: number, typeIds: number[]): MultiAssociatedObjectWithLabel {
  const rows = typeIds.map((id) => pair.forward.get(id)).filter((r): r is AssociationTypeRow => r !== undefined)
  // Labelled types first, by id; the unlabeled type last, as HubSpot lists them.
  rows.sort((a, b) => (a.role === 'unlabeled' ? 1 : 0) - (b.role === 'unlabeled' ? 1 : 0) || a.type_id - b.type_id)
  return { toObjectId: toId, associationTypes: rows.map(toSpecWithLabel) }
}

/** The user-defined type ids (both directions) a write uses: they must still exist when it commits. */
export function userDefinedTypeIds (rows: AssociationTypeRow[]): number[] {
  return [...new Set(rows.filter((r) => r.category !== 'HUBSPOT_DEFINED').flatMap((r) => [r.type_id, r.inverse_type_id]))]
}
