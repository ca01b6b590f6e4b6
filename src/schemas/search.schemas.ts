// Wire schemas of CRM v3 search (HubSpot's PublicObjectSearchRequest), plus our association filter (extension).
import { Type, type Static } from '@sinclair/typebox'
import { ForwardPagingSchema, ObjectTypeParam, ref } from './common.schemas.js'
import { PROPERTY_NAME_PATTERN, SimplePublicObjectSchema } from './records.schemas.js'

export const SEARCH_OPERATORS = [
  'EQ', 'NEQ', 'LT', 'LTE', 'GT', 'GTE', 'BETWEEN', 'IN', 'NOT_IN', 'HAS_PROPERTY', 'NOT_HAS_PROPERTY', 'CONTAINS_TOKEN', 'NOT_CONTAINS_TOKEN'
] as const

export type SearchOperator = typeof SEARCH_OPERATORS[number]

export const QUANTIFIERS = ['ALL', 'ANY', 'PRIMARY', 'NONE'] as const

export type Quantifier = typeof QUANTIFIERS[number]

/** Most values of one IN / NOT_IN filter. */
export const FILTER_VALUES_MAX = 100

const PropertyName = Type.String({ pattern: PROPERTY_NAME_PATTERN, description: 'A property name; also hs_object_id, createdate, lastmodifieddate' })
// Property values are strings on the wire; Ajv's coercion turns a number or a boolean into its text.
const FilterValue = Type.String({ maxLength: 65536 })

export const FilterSchema = Type.Object({
  propertyName: PropertyName,
  // One `enum`, so that a bad operator gets one error listing the allowed ones.
  operator: Type.Unsafe<SearchOperator>({ type: 'string', enum: [...SEARCH_OPERATORS] }),
  value: Type.Optional(FilterValue),
  highValue: Type.Optional(Type.String({ maxLength: 65536, description: 'Upper bound of BETWEEN' })),
  values: Type.Optional(Type.Array(FilterValue, { minItems: 1, maxItems: FILTER_VALUES_MAX, description: 'Values of IN and NOT_IN' }))
}, {
  $id: 'Filter',
  additionalProperties: false,
  description: 'A property condition. Numbers compare as numbers when both the stored value and the filter value are numeric; ' +
    'other text compares case-insensitively. A record without the property matches NEQ, NOT_IN, NOT_CONTAINS_TOKEN and ' +
    'NOT_HAS_PROPERTY, and no other operator.'
})

export type Filter = Static<typeof FilterSchema>

export const AssociationFilterSchema = Type.Object({
  toObjectType: ObjectTypeParam,
  quantifier: Type.Optional(Type.Unsafe<Quantifier>({
    type: 'string',
    enum: [...QUANTIFIERS],
    default: 'ALL',
    description: 'ALL (default): every associated record meets the filters; ANY: at least one does; PRIMARY: the primary company does; ' +
      'NONE: no associated record does'
  })),
  associationTypeId: Type.Optional(Type.Integer({ minimum: 0, maximum: 2147483647, description: 'Only associated records with this type (label) in the searched type -> toObjectType direction' })),
  includeEmpty: Type.Optional(Type.Boolean({ description: 'ALL only: records with no associated record of the type match too (vacuous truth). Default false' })),
  filters: Type.Optional(Type.Array(ref(FilterSchema), { maxItems: 100, description: 'Conditions on the associated records (AND); none: any associated record' }))
}, {
  $id: 'AssociationFilter',
  additionalProperties: false,
  description: 'Extension: records whose associated records of `toObjectType` meet `filters`'
})

export type AssociationFilter = Static<typeof AssociationFilterSchema>

export const FilterGroupSchema = Type.Object({
  filters: Type.Optional(Type.Array(ref(FilterSchema), { maxItems: 100 })),
  associations: Type.Optional(Type.Array(ref(AssociationFilterSchema), { maxItems: 100, description: 'Extension: association filters, ANDed with this group\'s filters' }))
}, { $id: 'FilterGroup', additionalProperties: false, description: 'Every filter of a group must match (AND)' })

export type FilterGroup = Static<typeof FilterGroupSchema>

export const SortSchema = Type.Union([
  Type.Object({
    propertyName: PropertyName,
    direction: Type.Optional(Type.Union([Type.Literal('ASCENDING'), Type.Literal('DESCENDING')], { description: 'Default ASCENDING' }))
  }, { additionalProperties: false }),
  Type.String({ pattern: PROPERTY_NAME_PATTERN, description: 'A property name: ascending' })
], { $id: 'SearchSort' })

export type Sort = Static<typeof SortSchema>

export const SearchRequestSchema = Type.Object({
  filterGroups: Type.Optional(Type.Array(ref(FilterGroupSchema), { maxItems: 100, description: 'Groups are ORed; at most 5 groups, 6 filters per group, 18 in all' })),
  associations: Type.Optional(Type.Array(ref(AssociationFilterSchema), { maxItems: 100, description: 'Extension: association filters every result must meet (ANDed with the filter groups)' })),
  sorts: Type.Optional(Type.Array(ref(SortSchema), { maxItems: 100, description: 'At most one sort; default by id ascending' })),
  query: Type.Optional(Type.String({ maxLength: 3000, description: 'Text found (case-insensitively) in one of the type\'s default searchable properties' })),
  properties: Type.Optional(Type.Array(Type.String({ maxLength: 100 }), { maxItems: 1000, description: 'Properties to return; default all' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 10 })),
  after: Type.Optional(Type.String({ maxLength: 2000, description: 'paging.next.after of the previous page' }))
}, { $id: 'PublicObjectSearchRequest', additionalProperties: false })

export type SearchRequest = Static<typeof SearchRequestSchema>

export const SearchResponseSchema = Type.Object({
  total: Type.Integer({ description: 'Number of matching records, counted up to 10,000 (a larger match reports 10000)' }),
  results: Type.Array(ref(SimplePublicObjectSchema)),
  paging: Type.Optional(ref(ForwardPagingSchema))
}, { $id: 'CollectionResponseWithTotalSimplePublicObjectForwardPaging' })

export type SearchResponse = Static<typeof SearchResponseSchema>

export const SEARCH_SCHEMAS = [FilterSchema, AssociationFilterSchema, FilterGroupSchema, SortSchema, SearchRequestSchema, SearchResponseSchema]
