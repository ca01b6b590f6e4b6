// Wire schemas of the CRM v3 record batches (API.md §6.1, envelope §2.6, errors §2.10), named as HubSpot names them.
// The input cap comes from config (RECORD_BATCH_MAX), so the request bodies are built by `recordBatchBodies`.
import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { StringListQuery, ref } from './common.schemas.js'
import { StandardErrorSchema } from './associations.schemas.js'
import { PropertiesInputSchema, RecordCreateSchema, SimplePublicObjectSchema } from './records.schemas.js'

const IdValue = Type.String({ minLength: 1, maxLength: 400, description: 'Record id, or a unique identifier value with idProperty' })
const IdProperty = Type.String({ maxLength: 100, description: 'A unique property (email, domain, a custom unique property); hs_object_id or absent means the record id' })

export const SimplePublicObjectIdSchema = Type.Object({ id: IdValue }, { $id: 'SimplePublicObjectId' })

export const BatchUpdateInputSchema = Type.Object({
  id: IdValue,
  idProperty: Type.Optional(IdProperty),
  properties: PropertiesInputSchema,
  objectWriteTraceId: Type.Optional(Type.String({ maxLength: 200 }))
}, { $id: 'SimplePublicObjectBatchInput' })

export type BatchUpdateInput = Static<typeof BatchUpdateInputSchema>

export const BatchUpsertInputSchema = Type.Object({
  id: IdValue,
  idProperty: Type.String({ minLength: 1, maxLength: 100, description: 'The unique property `id` is a value of (email, domain, a custom unique property)' }),
  properties: PropertiesInputSchema,
  objectWriteTraceId: Type.Optional(Type.String({ maxLength: 200 }))
}, { $id: 'SimplePublicObjectBatchInputUpsert' })

export type BatchUpsertInput = Static<typeof BatchUpsertInputSchema>

const envelope = {
  status: Type.Union([Type.Literal('PENDING'), Type.Literal('PROCESSING'), Type.Literal('CANCELED'), Type.Literal('COMPLETE')]),
  numErrors: Type.Optional(Type.Integer()),
  errors: Type.Optional(Type.Array(ref(StandardErrorSchema), { description: 'One entry per failed input; its context names the input' })),
  requestedAt: Type.Optional(Type.String({ format: 'date-time' })),
  startedAt: Type.String({ format: 'date-time' }),
  completedAt: Type.String({ format: 'date-time' }),
  links: Type.Optional(Type.Record(Type.String(), Type.String()))
}

export const RecordBatchResponseSchema = Type.Object({
  ...envelope,
  results: Type.Array(ref(SimplePublicObjectSchema))
}, { $id: 'BatchResponseSimplePublicObject' })

export const SimplePublicUpsertObjectSchema = Type.Composite([
  Type.Omit(SimplePublicObjectSchema, ['associations']),
  Type.Object({ new: Type.Boolean({ description: 'true when the upsert created the record' }) })
], { $id: 'SimplePublicUpsertObject' })

export type SimplePublicUpsertObject = Static<typeof SimplePublicUpsertObjectSchema>

export const RecordUpsertResponseSchema = Type.Object({
  ...envelope,
  results: Type.Array(ref(SimplePublicUpsertObjectSchema))
}, { $id: 'BatchResponseSimplePublicUpsertObject' })

export const RECORD_BATCH_SCHEMAS = [SimplePublicObjectIdSchema, BatchUpdateInputSchema, BatchUpsertInputSchema, RecordBatchResponseSchema, SimplePublicUpsertObjectSchema, RecordUpsertResponseSchema]

function inputs<T extends TSchema> (item: T, max: number) {
  return Type.Array(item, { minItems: 1, maxItems: max, description: `At most ${max} inputs (RECORD_BATCH_MAX)` })
}

/** The request bodies, with the configured input cap. */
export function recordBatchBodies (max: number) {
  return {
    create: Type.Object({ inputs: inputs(ref(RecordCreateSchema), max) }, { $id: 'BatchInputSimplePublicObjectInputForCreate' }),
    read: Type.Object({
      inputs: inputs(ref(SimplePublicObjectIdSchema), max),
      properties: Type.Optional(StringListQuery),
      propertiesWithHistory: Type.Optional(Type.Array(Type.String({ maxLength: 10000 }), { maxItems: 500, description: 'Accepted for compatibility; no history is kept' })),
      idProperty: Type.Optional(IdProperty)
    }, { $id: 'BatchReadInputSimplePublicObjectId' }),
    update: Type.Object({ inputs: inputs(ref(BatchUpdateInputSchema), max) }, { $id: 'BatchInputSimplePublicObjectBatchInput' }),
    upsert: Type.Object({ inputs: inputs(ref(BatchUpsertInputSchema), max) }, { $id: 'BatchInputSimplePublicObjectBatchInputUpsert' }),
    archive: Type.Object({ inputs: inputs(ref(SimplePublicObjectIdSchema), max) }, { $id: 'BatchInputSimplePublicObjectId' })
  }
}

export const BatchReadQuery = Type.Object({
  archived: Type.Optional(Type.Boolean({ default: false, description: 'true: read archived records only' }))
}, { additionalProperties: false })

/**
 * Property values that are arrays or objects, as `inputs/<i>/properties/<name>` (Ajv's array coercion would otherwise
 * turn `["x"]` into `"x"`; see nonScalarPropertyValues).
 */
export function nonScalarBatchValues (body: unknown): string[] {
  const list = (body as { inputs?: unknown } | null | undefined)?.inputs
  if (!Array.isArray(list)) return []
  const bad: string[] = []
  list.forEach((input: unknown, i) => {
    const properties = (input as { properties?: unknown } | null | undefined)?.properties
    if (properties === null || typeof properties !== 'object' || Array.isArray(properties)) return
    for (const [name, value] of Object.entries(properties as Record<string, unknown>)) {
      if (value !== null && typeof value === 'object') bad.push(`inputs/${i}/properties/${name}`)
    }
  })
  return bad
}
