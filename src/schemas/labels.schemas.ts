// Wire schemas of label definitions (L1-L4) and limit configurations (C1-C5).
import { Type, type Static } from '@sinclair/typebox'
import { ref } from './common.schemas.js'
import { AssociationSpecWithLabelSchema, CategorySchema, StandardErrorSchema } from './associations.schemas.js'

export const LabelListSchema = Type.Object({
  results: Type.Array(ref(AssociationSpecWithLabelSchema))
}, { $id: 'CollectionResponseAssociationSpecWithLabelNoPaging' })

export type LabelList = Static<typeof LabelListSchema>

export const LabelCreateSchema = Type.Object({
  label: Type.String({ minLength: 1, maxLength: 100, description: 'Label of the from -> to direction' }),
  name: Type.String({ minLength: 1, maxLength: 100, description: 'Internal name: no hyphen, does not start with a digit' }),
  inverseLabel: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Makes a paired label: the name of the to -> from direction' }))
}, { $id: 'PublicAssociationDefinitionCreateRequest' })

export type LabelCreate = Static<typeof LabelCreateSchema>

export const LabelUpdateSchema = Type.Object({
  associationTypeId: Type.Integer({ minimum: 0, maximum: 2147483647 }),
  label: Type.String({ minLength: 1, maxLength: 100 }),
  inverseLabel: Type.Optional(Type.String({ minLength: 1, maxLength: 100 }))
}, { $id: 'PublicAssociationDefinitionUpdateRequest' })

export type LabelUpdate = Static<typeof LabelUpdateSchema>

export const LimitInputSchema = Type.Object({
  category: CategorySchema,
  typeId: Type.Integer({ minimum: 0, maximum: 2147483647 }),
  maxToObjectIds: Type.Integer({ minimum: 1, maximum: 2147483647 })
}, { $id: 'PublicAssociationDefinitionConfigurationCreateRequest' })

export type LimitInput = Static<typeof LimitInputSchema>

export const LimitSpecSchema = Type.Object({
  category: CategorySchema,
  typeId: Type.Integer({ minimum: 0, maximum: 2147483647 })
}, { $id: 'PublicAssociationSpec2' })

export type LimitSpec = Static<typeof LimitSpecSchema>

export const LimitConfigurationSchema = Type.Object({
  category: CategorySchema,
  typeId: Type.Integer(),
  label: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  userEnforcedMaxToObjectIds: Type.Optional(Type.Integer())
}, { $id: 'PublicAssociationDefinitionUserConfiguration' })

export type LimitConfiguration = Static<typeof LimitConfigurationSchema>

export const LimitConfigurationListSchema = Type.Object({
  results: Type.Array(ref(LimitConfigurationSchema))
}, { $id: 'CollectionResponsePublicAssociationDefinitionUserConfigurationNoPaging' })

export const LimitBatchInputSchema = Type.Object({ inputs: Type.Array(ref(LimitInputSchema), { minItems: 1, maxItems: 100 }) }, { $id: 'BatchInputPublicAssociationDefinitionConfigurationCreateRequest' })
export const LimitPurgeInputSchema = Type.Object({ inputs: Type.Array(ref(LimitSpecSchema), { minItems: 1, maxItems: 100 }) }, { $id: 'BatchInputPublicAssociationSpec' })

export const LimitBatchResponseSchema = Type.Object({
  status: Type.Literal('COMPLETE'),
  results: Type.Array(ref(LimitConfigurationSchema)),
  numErrors: Type.Optional(Type.Integer()),
  errors: Type.Optional(Type.Array(ref(StandardErrorSchema))),
  startedAt: Type.String({ format: 'date-time' }),
  completedAt: Type.String({ format: 'date-time' })
}, { $id: 'BatchResponsePublicAssociationDefinitionUserConfiguration' })

export type LimitBatchResponse = Static<typeof LimitBatchResponseSchema>

export const LABEL_SCHEMAS = [
  LabelListSchema, LabelCreateSchema, LabelUpdateSchema, LimitInputSchema, LimitSpecSchema, LimitConfigurationSchema,
  LimitConfigurationListSchema, LimitBatchInputSchema, LimitPurgeInputSchema, LimitBatchResponseSchema
]
