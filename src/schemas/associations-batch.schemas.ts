// Wire schemas of the batch association endpoints (API.md §2.5-2.7). Input caps come from config, so the OpenAPI
// document states the limits in force.
import { Type, type Static } from '@sinclair/typebox'
import { ForwardPagingSchema, ref } from './common.schemas.js'
import {
  AssociationSpecSchema, LabelsBetweenObjectPairSchema, MultiAssociatedObjectWithLabelSchema, PublicObjectIdSchema, StandardErrorSchema
} from './associations.schemas.js'

const envelope = {
  status: Type.Union([Type.Literal('PENDING'), Type.Literal('PROCESSING'), Type.Literal('CANCELED'), Type.Literal('COMPLETE')]),
  numErrors: Type.Optional(Type.Integer()),
  errors: Type.Optional(Type.Array(ref(StandardErrorSchema))),
  startedAt: Type.String({ format: 'date-time' }),
  completedAt: Type.String({ format: 'date-time' })
}

export const PairInputSchema = Type.Object({
  from: ref(PublicObjectIdSchema),
  to: ref(PublicObjectIdSchema),
  types: Type.Array(ref(AssociationSpecSchema), { maxItems: 100 })
}, { $id: 'PublicAssociationMultiPost' })

export type PairInput = Static<typeof PairInputSchema>

export const DefaultPairInputSchema = Type.Object({
  from: ref(PublicObjectIdSchema),
  to: ref(PublicObjectIdSchema)
}, { $id: 'PublicDefaultAssociationMultiPost' })

export const ArchiveInputSchema = Type.Object({
  from: ref(PublicObjectIdSchema),
  to: Type.Array(ref(PublicObjectIdSchema), { minItems: 1 })
}, { $id: 'PublicAssociationMultiArchive' })

export const ReadInputSchema = Type.Object({
  id: Type.String({ pattern: '^\\d{1,16}$' }),
  after: Type.Optional(Type.String({ maxLength: 500, description: 'Cursor from this record\'s paging.next.after' }))
}, { $id: 'PublicFetchAssociationsBatchRequest' })

export function batchInputs<T extends ReturnType<typeof ref>> (item: T, max: number, id: string) {
  return Type.Object({ inputs: Type.Array(item, { minItems: 1, maxItems: max, description: `At most ${max} inputs` }) }, { $id: id })
}

export const LabelsBatchResponseSchema = Type.Object({
  ...envelope,
  results: Type.Array(ref(LabelsBetweenObjectPairSchema))
}, { $id: 'BatchResponseLabelsBetweenObjectPair' })

export const ReadResultSchema = Type.Object({
  from: ref(PublicObjectIdSchema),
  to: Type.Array(ref(MultiAssociatedObjectWithLabelSchema)),
  paging: Type.Optional(ref(ForwardPagingSchema))
}, { $id: 'PublicAssociationMultiWithLabel' })

export const ReadBatchResponseSchema = Type.Object({
  ...envelope,
  results: Type.Array(ref(ReadResultSchema))
}, { $id: 'BatchResponsePublicAssociationMultiWithLabel' })

export const ASSOCIATION_BATCH_SCHEMAS = [PairInputSchema, DefaultPairInputSchema, ArchiveInputSchema, ReadInputSchema, LabelsBatchResponseSchema, ReadResultSchema, ReadBatchResponseSchema]
