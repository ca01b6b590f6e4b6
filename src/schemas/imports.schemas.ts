// Wire schemas of the CRM Imports API v3 (IMPORTS.md §1, §7), named as HubSpot names them.
import { Type, type Static } from '@sinclair/typebox'
import { ForwardPagingSchema, NextPageSchema, ref } from './common.schemas.js'

export const IMPORT_STATES = ['STARTED', 'PROCESSING', 'DONE', 'FAILED', 'CANCELED', 'DEFERRED', 'REVERTED'] as const

const DateTime = Type.String({ format: 'date-time' })

export const PublicObjectListRecordSchema = Type.Object({
  listId: Type.String(),
  objectType: Type.String()
}, { $id: 'PublicObjectListRecord' })

export const PublicImportMetadataSchema = Type.Object({
  counters: Type.Record(Type.String(), Type.Integer(), {
    description: 'TOTAL_ROWS (data rows of every file, known once the files are checked), PROCESSED_ROWS (rows handed to the applier so far), ' +
      'ROWS_APPLIED, CREATED_OBJECTS, UPDATED_OBJECTS, UNIQUE_OBJECTS_WRITTEN, PROPERTY_VALUES_EMITTED, ASSOCIATIONS_CREATED, LABELS_ADDED, ERRORS'
  }),
  fileIds: Type.Array(Type.String(), { description: 'One id per file, in the order the files are applied; the fileId of error entries' }),
  objectLists: Type.Array(ref(PublicObjectListRecordSchema), { description: 'Always empty: no lists are made from imports' })
}, { $id: 'PublicImportMetadata' })

export const PublicImportResponseSchema = Type.Object({
  id: Type.String({ description: 'The import id, a decimal number' }),
  state: Type.Unsafe<typeof IMPORT_STATES[number]>({
    type: 'string',
    enum: [...IMPORT_STATES],
    description: 'STARTED: waiting for a runner; DEFERRED: waiting because IMPORT_CONCURRENCY imports are running; PROCESSING; DONE; FAILED (see its errors); CANCELED'
  }),
  createdAt: DateTime,
  updatedAt: DateTime,
  metadata: ref(PublicImportMetadataSchema),
  mappedObjectTypeIds: Type.Array(Type.String()),
  optOutImport: Type.Boolean(),
  importName: Type.Optional(Type.String()),
  importRequestJson: Type.Optional(Type.Unknown({ description: 'The importRequest as it was sent' })),
  importSource: Type.Optional(Type.Literal('API'))
}, { $id: 'PublicImportResponse' })

export type PublicImport = Static<typeof PublicImportResponseSchema>

export const PreviousPageSchema = Type.Object({
  before: Type.String({ description: 'Opaque cursor: pass it as `before` to get the previous page' }),
  link: Type.Optional(Type.String())
}, { $id: 'PreviousPage' })

export const PagingSchema = Type.Object({
  next: Type.Optional(ref(NextPageSchema)),
  prev: Type.Optional(ref(PreviousPageSchema))
}, { $id: 'Paging' })

export const CollectionResponsePublicImportResponseSchema = Type.Object({
  results: Type.Array(ref(PublicImportResponseSchema)),
  paging: Type.Optional(ref(PagingSchema))
}, { $id: 'CollectionResponsePublicImportResponse' })

export type ImportPage = Static<typeof CollectionResponsePublicImportResponseSchema>

export const ImportRowCoreSchema = Type.Object({
  rowData: Type.Array(Type.String(), { description: 'The row\'s values (with includeRowData=true; empty otherwise)' }),
  lineNumber: Type.Integer({ description: '1-based line of the file, counting the header; 0 for an error about the whole file' }),
  fileId: Type.Integer(),
  containsEncryptedProperties: Type.Boolean(),
  pageName: Type.Optional(Type.String())
}, { $id: 'ImportRowCore' })

export const PublicImportErrorSchema = Type.Object({
  id: Type.String(),
  createdAt: Type.Integer({ description: 'Epoch milliseconds' }),
  errorType: Type.String({ description: 'HubSpot\'s v3 errorType, e.g. INCORRECT_NUMBER_OF_COLUMNS, ASSOCIATION_LABEL_NOT_FOUND, INVALID_EMAIL, INVALID_FILE_TYPE' }),
  sourceData: ref(ImportRowCoreSchema),
  errorMessage: Type.Optional(Type.String({ description: 'With includeErrorMessage=true' })),
  invalidValue: Type.Optional(Type.String()),
  knownColumnNumber: Type.Optional(Type.Integer({ description: 'Zero-based column of the offending cell' })),
  objectTypeId: Type.Optional(Type.String())
}, { $id: 'PublicImportError' })

export type PublicImportError = Static<typeof PublicImportErrorSchema>

export const CollectionResponsePublicImportErrorSchema = Type.Object({
  results: Type.Array(ref(PublicImportErrorSchema)),
  paging: Type.Optional(ref(ForwardPagingSchema))
}, { $id: 'CollectionResponsePublicImportErrorForwardPaging' })

export type ImportErrorPage = Static<typeof CollectionResponsePublicImportErrorSchema>

export const ActionResponseSchema = Type.Object({
  status: Type.Union([Type.Literal('PENDING'), Type.Literal('PROCESSING'), Type.Literal('CANCELED'), Type.Literal('COMPLETE')]),
  requestedAt: Type.Optional(DateTime),
  startedAt: DateTime,
  completedAt: DateTime,
  links: Type.Optional(Type.Record(Type.String(), Type.String()))
}, { $id: 'ActionResponse' })

export type ActionResponse = Static<typeof ActionResponseSchema>

/** The multipart form, for the OpenAPI document (the handler streams the parts itself). */
// Both fields are needed; the handler says which is missing (a 400 naming it), so none is `required` here: the body
// is validated part by part as it streams, not by this schema.
export const ImportCreateFormSchema = Type.Object({
  importRequest: Type.Optional(Type.String({ description: 'Required. The importRequest JSON: name, importOperations, dateFormat, files[] with fileName, fileFormat, fileImportPage {hasHeader, columnMappings[]}' })),
  files: Type.Optional(Type.Array(Type.String({ format: 'binary' }), { description: 'Required. One part per file; its filename must equal a files[].fileName of the importRequest. Either part may come first.' }))
}, { $id: 'ImportCreateForm' })

export const ImportIdParams = Type.Object({
  importId: Type.String({ pattern: '^[0-9]{1,19}$', description: 'The import id (int64)' })
})

const Limit = (max: number, dflt: number) => Type.Optional(Type.Integer({ minimum: 1, maximum: max, default: dflt }))

export const ImportListQuery = (max: number) => Type.Object({
  after: Type.Optional(Type.String({ maxLength: 200 })),
  before: Type.Optional(Type.String({ maxLength: 200 })),
  limit: Limit(max, 100)
})

export const ImportErrorsQuery = (max: number) => Type.Object({
  after: Type.Optional(Type.String({ maxLength: 200 })),
  limit: Limit(max, 100),
  includeErrorMessage: Type.Optional(Type.Boolean({ default: false })),
  includeRowData: Type.Optional(Type.Boolean({ default: false }))
})

export const IMPORT_SCHEMAS = [
  PublicObjectListRecordSchema, PublicImportMetadataSchema, PublicImportResponseSchema, PreviousPageSchema, PagingSchema,
  CollectionResponsePublicImportResponseSchema, ImportRowCoreSchema, PublicImportErrorSchema,
  CollectionResponsePublicImportErrorSchema, ActionResponseSchema, ImportCreateFormSchema
]
