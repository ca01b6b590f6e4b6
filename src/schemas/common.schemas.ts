// Shared wire schemas: the HubSpot error body, paging, path parameters. Registered once by $id (named OpenAPI components).
import { Type, type Static, type TSchema, type TUnsafe } from '@sinclair/typebox'

/** A `$ref` to a schema registered by $id, typed as that schema. */
export function ref<T extends TSchema> (schema: T): TUnsafe<Static<T>> {
  if (schema.$id === undefined) throw new Error('ref() needs a schema with an $id')
  return Type.Unsafe<Static<T>>(Type.Ref(schema.$id))
}

export const ErrorSchema = Type.Object({
  status: Type.Literal('error'),
  message: Type.String({ description: 'What went wrong, in words' }),
  correlationId: Type.String({ format: 'uuid', description: 'The request id; also in the X-HubSpot-Correlation-Id header and in the logs' }),
  category: Type.String({ description: 'HubSpot error category, e.g. VALIDATION_ERROR, OBJECT_NOT_FOUND, LIMITS_ERROR, MISSING_SCOPES' }),
  subCategory: Type.Optional(Type.String()),
  context: Type.Optional(Type.Record(Type.String(), Type.Array(Type.String()), { description: 'Offending ids, fields or values, by name' })),
  policyName: Type.Optional(Type.String({ description: 'Rate limit that was hit (429 only)' }))
}, { $id: 'Error', description: 'HubSpot-shaped error body, sent with every non-2xx answer' })

export type ErrorBody = Static<typeof ErrorSchema>

export const ErrorRef = ref(ErrorSchema)

export const NextPageSchema = Type.Object({
  after: Type.String({ description: 'Opaque cursor: pass it as `after` to get the next page' }),
  link: Type.Optional(Type.String())
}, { $id: 'NextPage' })

export const ForwardPagingSchema = Type.Object({
  next: Type.Optional(ref(NextPageSchema))
}, { $id: 'ForwardPaging', description: 'Present only when there are more results' })

/** Schemas that routes reference by $id; buildApp registers them with addSchema. */
export const SHARED_SCHEMAS: TSchema[] = [ErrorSchema, NextPageSchema, ForwardPagingSchema]

/** The error answers every authenticated route can give, for its `response` map. */
export const standardErrorResponses = {
  400: ErrorRef,
  401: ErrorRef,
  403: ErrorRef,
  404: ErrorRef,
  409: ErrorRef,
  413: ErrorRef,
  415: ErrorRef,
  429: ErrorRef,
  500: ErrorRef,
  503: ErrorRef
}

export const ObjectTypeParam = Type.String({
  minLength: 1,
  maxLength: 200,
  description: 'Object type: a name in any case (contacts, contact, Companies), a type id (0-1, 2-1001) or p{accountId}_{name}'
})

/** `?properties=a,b` or `?properties=a&properties=b`. */
export const StringListQuery = Type.Array(Type.String({ maxLength: 10000 }), { maxItems: 500 })
