// Wire schemas of the Associations v4 API (API.md §2), named as HubSpot names them.
import { Type, type Static } from '@sinclair/typebox'
import { ForwardPagingSchema, ObjectTypeParam, ref } from './common.schemas.js'

export const CategorySchema = Type.Union([
  Type.Literal('HUBSPOT_DEFINED'), Type.Literal('USER_DEFINED'), Type.Literal('INTEGRATOR_DEFINED')
], { description: 'Who defined the association type' })

export const AssociationSpecSchema = Type.Object({
  associationCategory: CategorySchema,
  associationTypeId: Type.Integer({ minimum: 0, maximum: 2147483647, description: 'Type id for the from -> to direction' })
}, { $id: 'AssociationSpec' })

export type AssociationSpec = Static<typeof AssociationSpecSchema>

export const AssociationSpecListSchema = Type.Array(ref(AssociationSpecSchema), { minItems: 1, maxItems: 100, description: 'The label set of the pair' })

export const AssociationSpecWithLabelSchema = Type.Object({
  category: CategorySchema,
  typeId: Type.Integer(),
  label: Type.Union([Type.String(), Type.Null()], { description: 'null for the unlabeled type' })
}, { $id: 'AssociationSpecWithLabel' })

export type AssociationSpecWithLabel = Static<typeof AssociationSpecWithLabelSchema>

export const LabelsBetweenObjectPairSchema = Type.Object({
  fromObjectTypeId: Type.String(),
  fromObjectId: Type.Number(),
  toObjectTypeId: Type.String(),
  toObjectId: Type.Number(),
  labels: Type.Array(Type.String(), { description: 'Labels of the from -> to direction; the unlabeled type has none' })
}, { $id: 'LabelsBetweenObjectPair' })

export type LabelsBetweenObjectPair = Static<typeof LabelsBetweenObjectPairSchema>

export const MultiAssociatedObjectWithLabelSchema = Type.Object({
  toObjectId: Type.Number(),
  associationTypes: Type.Array(ref(AssociationSpecWithLabelSchema))
}, { $id: 'MultiAssociatedObjectWithLabel' })

export type MultiAssociatedObjectWithLabel = Static<typeof MultiAssociatedObjectWithLabelSchema>

export const AssociationPageSchema = Type.Object({
  results: Type.Array(ref(MultiAssociatedObjectWithLabelSchema)),
  paging: Type.Optional(ref(ForwardPagingSchema))
}, { $id: 'CollectionResponseMultiAssociatedObjectWithLabelForwardPaging' })

export type AssociationPage = Static<typeof AssociationPageSchema>

export const PublicObjectIdSchema = Type.Object({ id: Type.String({ pattern: '^\\d{1,16}$' }) }, { $id: 'PublicObjectId' })

export const PublicAssociationSpecSchema = Type.Object({
  associationCategory: CategorySchema,
  associationTypeId: Type.Integer()
}, { $id: 'PublicAssociationSpec' })

export const PublicDefaultAssociationSchema = Type.Object({
  from: ref(PublicObjectIdSchema),
  to: ref(PublicObjectIdSchema),
  associationSpec: ref(PublicAssociationSpecSchema)
}, { $id: 'PublicDefaultAssociation' })

export type PublicDefaultAssociation = Static<typeof PublicDefaultAssociationSchema>

export const StandardErrorSchema = Type.Object({
  status: Type.String(),
  category: Type.String(),
  subCategory: Type.Optional(Type.String()),
  message: Type.String(),
  context: Type.Record(Type.String(), Type.Array(Type.String())),
  links: Type.Record(Type.String(), Type.String()),
  errors: Type.Array(Type.Object({ message: Type.String() }))
}, { $id: 'StandardError' })

export const DefaultAssociationBatchSchema = Type.Object({
  status: Type.Union([Type.Literal('PENDING'), Type.Literal('PROCESSING'), Type.Literal('CANCELED'), Type.Literal('COMPLETE')]),
  results: Type.Array(ref(PublicDefaultAssociationSchema)),
  numErrors: Type.Optional(Type.Integer()),
  errors: Type.Optional(Type.Array(ref(StandardErrorSchema))),
  requestedAt: Type.Optional(Type.String({ format: 'date-time' })),
  startedAt: Type.String({ format: 'date-time' }),
  completedAt: Type.String({ format: 'date-time' }),
  links: Type.Optional(Type.Record(Type.String(), Type.String()))
}, { $id: 'BatchResponsePublicDefaultAssociation' })

export type DefaultAssociationBatch = Static<typeof DefaultAssociationBatchSchema>

export const PairParams = Type.Object({
  objectType: ObjectTypeParam,
  objectId: Type.String({ pattern: '^\\d{1,16}$', description: 'Record id' }),
  toObjectType: ObjectTypeParam,
  toObjectId: Type.String({ pattern: '^\\d{1,16}$', description: 'Record id' })
})

export const RecordToTypeParams = Type.Object({
  objectType: ObjectTypeParam,
  objectId: Type.String({ pattern: '^\\d{1,16}$', description: 'Record id' }),
  toObjectType: ObjectTypeParam
})

export const ASSOCIATION_SCHEMAS = [
  AssociationSpecSchema, AssociationSpecWithLabelSchema, LabelsBetweenObjectPairSchema, MultiAssociatedObjectWithLabelSchema,
  AssociationPageSchema, PublicObjectIdSchema, PublicAssociationSpecSchema, PublicDefaultAssociationSchema,
  StandardErrorSchema, DefaultAssociationBatchSchema
]
