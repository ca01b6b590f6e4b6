// Wire schemas of CRM v3 records (API.md §6).
import { Type, type Static } from '@sinclair/typebox'
import { ForwardPagingSchema, ObjectTypeParam, StringListQuery, ref } from './common.schemas.js'
import { AssociationSpecSchema, PublicObjectIdSchema } from './associations.schemas.js'

export const PROPERTY_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]{0,99}$'

const PropertyValue = Type.Union([Type.String({ maxLength: 65536 }), Type.Number(), Type.Boolean(), Type.Null()], {
  description: 'Property values are strings; numbers and booleans are stored as their text, null or "" clears the property'
})

export const PropertiesInputSchema = Type.Record(Type.String({ pattern: PROPERTY_NAME_PATTERN }), PropertyValue, {
  description: 'Property name -> value',
  maxProperties: 1000,
  // A name that does not match the pattern is refused, not stored.
  additionalProperties: false
})

export const SimplePublicObjectSchema = Type.Object({
  id: Type.String({ description: 'Record id (an integer, as a string)' }),
  properties: Type.Record(Type.String(), Type.Union([Type.String(), Type.Null()])),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  archived: Type.Boolean(),
  archivedAt: Type.Optional(Type.String({ format: 'date-time' })),
  associations: Type.Optional(Type.Record(Type.String(), Type.Object({
    results: Type.Array(Type.Object({ id: Type.String(), type: Type.String({ description: 'e.g. contact_to_company (primary), contact_to_company_unlabeled, or a label name' }) }))
  }), { description: 'With ?associations=: associated records by requested object type (up to 500 each; page the rest with the v4 list)' }))
}, { $id: 'SimplePublicObject' })

export type SimplePublicObject = Static<typeof SimplePublicObjectSchema>

/** Per input, at most this many inline associations (each one target record, with one or more types). */
export const INLINE_ASSOCIATIONS_MAX = 100

export const PublicAssociationsForObjectSchema = Type.Object({
  to: ref(PublicObjectIdSchema),
  types: Type.Array(ref(AssociationSpecSchema), {
    minItems: 1, maxItems: 100, description: 'Type ids of the new record -> `to` direction; they also say which object type `to` is'
  })
}, { $id: 'PublicAssociationsForObject' })

export type PublicAssociationsForObject = Static<typeof PublicAssociationsForObjectSchema>

export const RecordCreateSchema = Type.Object({
  properties: PropertiesInputSchema,
  associations: Type.Optional(Type.Array(ref(PublicAssociationsForObjectSchema), {
    maxItems: INLINE_ASSOCIATIONS_MAX,
    description: 'Written in the record\'s transaction with every association rule (the first company becomes primary, caps); an invalid one creates nothing'
  })),
  objectWriteTraceId: Type.Optional(Type.String({ maxLength: 200, description: 'Echoed in the context of this input\'s batch error' }))
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

export const RECORD_SCHEMAS = [SimplePublicObjectSchema, PublicAssociationsForObjectSchema, RecordCreateSchema, RecordUpdateSchema, RecordListSchema]

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

/** Routes that take no query parameters still refuse unknown ones (400), as the others do. */
export const NoQuery = Type.Object({}, { additionalProperties: false })

/**
 * Ajv's `coerceTypes: 'array'` turns `["x"]` into `"x"` before the schema sees it; property values are scalars on the
 * wire, so a preValidation hook checks the raw body first and refuses arrays and objects.
 */
export function nonScalarPropertyValues (body: unknown): string[] {
  const properties = (body as { properties?: unknown } | null | undefined)?.properties
  if (properties === null || typeof properties !== 'object' || Array.isArray(properties)) return []
  return Object.entries(properties as Record<string, unknown>)
    .filter(([, value]) => value !== null && typeof value === 'object')
    .map(([name]) => name)
}

export const RecordUpdateQuery = Type.Object({
  idProperty: Type.Optional(Type.String({ maxLength: 100 }))
}, { additionalProperties: false })
