// Wire schemas of custom object schemas (/crm/v3/schemas), in HubSpot's ObjectSchema shape.
import { Type, type Static } from '@sinclair/typebox'
import { ref } from './common.schemas.js'

const PropertySchema = Type.Object({
  name: Type.String({ pattern: '^[a-z][a-z0-9_]{0,99}$', description: 'Internal name: lower case, digits and _' }),
  label: Type.String({ minLength: 1, maxLength: 200 }),
  type: Type.Optional(Type.String({ maxLength: 50 })),
  fieldType: Type.Optional(Type.String({ maxLength: 50 })),
  hasUniqueValue: Type.Optional(Type.Boolean({ description: 'A unique identifier: a second record with the same value is refused, and imports match on it' }))
}, { $id: 'ObjectTypePropertyCreate' })

const LabelsSchema = Type.Object({
  singular: Type.String({ minLength: 1, maxLength: 200 }),
  plural: Type.String({ minLength: 1, maxLength: 200 })
}, { $id: 'ObjectTypeDefinitionLabels' })

export const ObjectSchemaInputSchema = Type.Object({
  name: Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_]{0,99}$', description: 'Unique name of the type in the account' }),
  labels: ref(LabelsSchema),
  primaryDisplayProperty: Type.Optional(Type.String()),
  requiredProperties: Type.Optional(Type.Array(Type.String())),
  searchableProperties: Type.Optional(Type.Array(Type.String())),
  secondaryDisplayProperties: Type.Optional(Type.Array(Type.String())),
  associatedObjects: Type.Optional(Type.Array(Type.String())),
  properties: Type.Optional(Type.Array(ref(PropertySchema), { maxItems: 1000 }))
}, { $id: 'ObjectSchemaEgg' })

export type ObjectSchemaInput = Static<typeof ObjectSchemaInputSchema>

export const ObjectSchemaSchema = Type.Object({
  id: Type.String(),
  objectTypeId: Type.String({ description: 'Type id to use in paths, e.g. 2-1001' }),
  name: Type.String(),
  fullyQualifiedName: Type.String({ description: 'p{accountId}_{name}, also accepted in paths' }),
  labels: ref(LabelsSchema),
  primaryDisplayProperty: Type.Optional(Type.String()),
  properties: Type.Array(ref(PropertySchema)),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  archived: Type.Boolean()
}, { $id: 'ObjectSchema' })

export type ObjectSchema = Static<typeof ObjectSchemaSchema>

export const ObjectSchemaListSchema = Type.Object({
  results: Type.Array(ref(ObjectSchemaSchema))
}, { $id: 'CollectionResponseObjectSchemaNoPaging' })

export const OBJECT_TYPE_SCHEMAS = [PropertySchema, LabelsSchema, ObjectSchemaInputSchema, ObjectSchemaSchema, ObjectSchemaListSchema]
