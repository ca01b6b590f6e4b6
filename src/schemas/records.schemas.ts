// Wire schemas of CRM v3 records (API.md §6).
import { Type, type Static } from '@sinclair/typebox'
import { ForwardPagingSchema, ObjectTypeParam, StringListQuery, ref } from './common.schemas.js'

export const PROPERTY_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]{0,99}$'

const PropertyValue = Type.Union([Type.String({ maxLength: 65536 }), Type.Number(), Type.Boolean(), Type.Null()], {
  description: 'Property values are strings; numbers and booleans are stored as their text, null or "" clears the property'
})

export const PropertiesInputSchema = Type.Record(Type.String({ pattern: PROPERTY_NAME_PATTERN }), PropertyValue, {
  description: 'Property name -> value',
  maxProperties: 1000
})

export const SimplePublicObjectSchema = Type.Object({
  id: Type.String({ description: 'Record id (an integer, as a string)' }),
  properties: Type.Record(Type.String(), Type.Union([Type.String(), Type.Null()])),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  archived: Type.Boolean(),
  archivedAt: Type.Optional(Type.String({ format: 'date-time' }))
}, { $id: 'SimplePublicObject' })

export type SimplePublicObject = Static<typeof SimplePublicObjectSchema>

export const RecordCreateSchema = Type.Object({
  properties: PropertiesInputSchema
}, { $id: 'SimplePublicObjectInputForCreate' })

export type RecordCreate = Static<typeof RecordCreateSchema>

export const RecordUpdateSchema = Type.Object({
  properties: PropertiesInputSchema
}, { $id: 'SimplePublicObjectInput' })

export const RecordListSchema = Type.Object({
  results: Type.Array(ref(SimplePublicObjectSchema)),
  paging: Type.Optional(ref(ForwardPagingSchema))
}, { $id: 'CollectionResponseSimplePublicObjectWithAssociationsForwardPaging' })

export type RecordList = Static<typeof RecordListSchema>

export const RECORD_SCHEMAS = [SimplePublicObjectSchema, RecordCreateSchema, RecordUpdateSchema, RecordListSchema]

export const RecordTypeParams = Type.Object({ objectType: ObjectTypeParam })
export const RecordParams = Type.Object({
  objectType: ObjectTypeParam,
  objectId: Type.String({ minLength: 1, maxLength: 400, description: 'Record id, or a unique identifier value with idProperty' })
})

export const RecordReadQuery = Type.Object({
  properties: Type.Optional(StringListQuery),
  propertiesWithHistory: Type.Optional(StringListQuery),
  associations: Type.Optional(StringListQuery),
  archived: Type.Optional(Type.Boolean({ default: false })),
  idProperty: Type.Optional(Type.String({ maxLength: 100, description: 'Read by this unique property (email, domain, a custom unique property) instead of the id' }))
}, { additionalProperties: false })

export const RecordListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 10 })),
  after: Type.Optional(Type.String({ maxLength: 500 })),
  properties: Type.Optional(StringListQuery),
  propertiesWithHistory: Type.Optional(StringListQuery),
  associations: Type.Optional(StringListQuery),
  archived: Type.Optional(Type.Boolean({ default: false }))
}, { additionalProperties: false })

export const RecordUpdateQuery = Type.Object({
  idProperty: Type.Optional(Type.String({ maxLength: 100 }))
}, { additionalProperties: false })
