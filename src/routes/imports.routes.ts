// CRM Imports API v3 (IMPORTS.md §1-2): start an import (multipart upload), read one, list, cancel, errors.
// Mounted at /crm/v3/imports and at the date-versioned aliases /crm/imports/2026-03 and /crm/imports/2026-09 (hidden).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import multipart from '@fastify/multipart'
import { ref, standardErrorResponses } from '../schemas/common.schemas.js'
import {
  ActionResponseSchema, CollectionResponsePublicImportErrorSchema, CollectionResponsePublicImportResponseSchema,
  ImportCreateFormSchema, ImportErrorsQuery, ImportIdParams, ImportListQuery, PublicImportResponseSchema
} from '../schemas/imports.schemas.js'
import { InvalidInputError, withDetails } from '../errors.js'
import type { Config } from '../config.js'
import { MAX_IMPORT_FILES, type UploadPart } from '../services/imports.service.js'

export interface ImportsRoutesOptions {
  config: Config
  /** Path of the collection: /crm/v3/imports, or a date-versioned alias. */
  base: string
  /** Hide from the OpenAPI document (aliases). */
  hide?: boolean
}

const MAX_FIELD_BYTES = 1024 * 1024

/** Multipart parser errors, said in our words (a 400, never Fastify's 406/413 codes). */
function uploadError (err: unknown): unknown {
  const code = (err as { code?: unknown }).code
  switch (code) {
    case 'FST_INVALID_JSON_FIELD_ERROR': return withDetails(new InvalidInputError('importRequest is not valid JSON'), { context: { importRequest: ['is not valid JSON'] } })
    case 'FST_FILES_LIMIT': return new InvalidInputError(`At most ${MAX_IMPORT_FILES} files per import`)
    case 'FST_PARTS_LIMIT':
    case 'FST_FIELDS_LIMIT': return new InvalidInputError('The form has too many parts: send an importRequest field and one files part per file')
    case 'FST_PROTO_VIOLATION': return new InvalidInputError('A form field name is not allowed')
    case 'FST_MP_PREMATURE_CLOSE': return new InvalidInputError('The upload ended before the multipart body was complete')
    default:
      if (err instanceof Error && /multipart|boundary/i.test(err.message) && (err as { statusCode?: number }).statusCode === undefined) {
        return new InvalidInputError(`The multipart body cannot be read: ${err.message}`)
      }
      return err
  }
}

/** The request's parts as the service reads them; files stay streams (never buffered). */
async function * uploadParts (request: FastifyRequest, maxFileBytes: number): AsyncGenerator<UploadPart> {
  const parts = request.parts({
    // One byte over the limit marks the file truncated; the service answers 429 and removes what it wrote.
    limits: { fileSize: maxFileBytes + 1, files: MAX_IMPORT_FILES + 1, fieldSize: MAX_FIELD_BYTES, fields: 20, parts: 40 }
  })
  try {
    for await (const part of parts) {
      if (part.type === 'file') {
        const file = part.file
        yield { kind: 'file', fieldName: part.fieldname, fileName: part.filename, stream: file, truncated: () => file.truncated }
      } else {
        if (part.valueTruncated) throw new InvalidInputError(`The form field ${part.fieldname} is larger than ${MAX_FIELD_BYTES} bytes`)
        yield { kind: 'field', fieldName: part.fieldname, value: part.value }
      }
    }
  } catch (err) {
    throw uploadError(err)
  }
}

const importsRoutes: FastifyPluginAsyncTypebox<ImportsRoutesOptions> = async (app, opts) => {
  const { imports } = app.services
  const { base, config } = opts
  const hide = opts.hide === true
  const max = config.PAGE_LIMIT_MAX
  const tags = ['Imports']
  await app.register(multipart, { limits: { fileSize: config.IMPORT_MAX_FILE_BYTES + 1 }, throwFileSizeLimit: false })

  // POST /crm/v3/imports
  for (const path of [base, `${base}/`]) {
    app.post(path, {
      config: { scope: 'crm.import' },
      // The multipart body is streamed by the handler; the form schema below only documents it.
      preValidation: async (request) => { request.body = {} },
      schema: {
        hide: hide || path.endsWith('/'),
        operationId: 'imports-create', tags, summary: 'Start an import',
        description: 'multipart/form-data: an `importRequest` field (the JSON, typed or not) and one `files` part per file, in either order, chunked or not. ' +
          'The files are stored and the import committed before the answer (200, state STARTED, or DEFERRED when IMPORT_CONCURRENCY imports are running); rows are applied afterwards. ' +
          '400 for an importRequest that is not JSON or does not validate, a file part matching no fileName, or a fileName without its file; 429 for a file over IMPORT_MAX_FILE_BYTES.',
        consumes: ['multipart/form-data'],
        body: { content: { 'multipart/form-data': { schema: ref(ImportCreateFormSchema) } } },
        response: { 200: ref(PublicImportResponseSchema), ...standardErrorResponses }
      }
    }, async (request) => {
      if (!request.isMultipart()) {
        throw new InvalidInputError('Send the import as multipart/form-data: an importRequest field and one files part per file')
      }
      return await imports.create(request.principal.accountId, uploadParts(request, config.IMPORT_MAX_FILE_BYTES))
    })
  }

  // GET /crm/v3/imports (the official client calls /crm/v3/imports/?after=... with the slash)
  for (const path of [base, `${base}/`]) {
    app.get(path, {
      config: { scope: 'crm.import' },
      schema: {
        hide: hide || path.endsWith('/'),
        operationId: 'imports-list', tags, summary: 'List imports',
        description: 'The account\'s imports, newest first, in every state. `after` pages to older imports, `before` to newer ones.',
        querystring: ImportListQuery(max),
        response: { 200: ref(CollectionResponsePublicImportResponseSchema), ...standardErrorResponses }
      }
    }, async (request) => {
      const { after, before, limit } = request.query
      return await imports.list(request.principal.accountId, { after, before, limit: limit ?? 100 })
    })
  }

  /** Options of the routes on one import (`{importId}` in the path). */
  const onImport = (operationId: string, summary: string, description: string) => ({
    config: { scope: 'crm.import' as const },
    schema: { hide, operationId, tags, summary, description, params: ImportIdParams }
  })

  // GET /crm/v3/imports/{importId}
  const getOne = onImport('imports-get', 'Read an import',
    'State, counters (TOTAL_ROWS once the files are checked, PROCESSED_ROWS as chunks commit, CREATED_OBJECTS, UPDATED_OBJECTS, ERRORS, ...) and file ids. 404 for an unknown import or another account\'s.')
  app.get(`${base}/:importId`, {
    ...getOne, schema: { ...getOne.schema, response: { 200: ref(PublicImportResponseSchema), ...standardErrorResponses } }
  }, async (request) => await imports.get(request.principal.accountId, request.params.importId))

  // GET /crm/v3/imports/{importId}/errors
  const errors = onImport('imports-errors', 'Read an import\'s errors',
    'Row errors (lineNumber is 1-based and counts the header; knownColumnNumber is zero-based) and file-level errors (lineNumber 0), oldest first. ' +
    'errorMessage only with includeErrorMessage=true, sourceData.rowData only with includeRowData=true.')
  app.get(`${base}/:importId/errors`, {
    ...errors,
    schema: { ...errors.schema, querystring: ImportErrorsQuery(max), response: { 200: ref(CollectionResponsePublicImportErrorSchema), ...standardErrorResponses } }
  }, async (request) => {
    const { after, limit, includeErrorMessage, includeRowData } = request.query
    return await imports.errors(request.principal.accountId, request.params.importId, {
      after, limit: limit ?? 100, includeErrorMessage: includeErrorMessage === true, includeRowData: includeRowData === true
    })
  })

  // POST /crm/v3/imports/{importId}/cancel
  const cancel = onImport('imports-cancel', 'Cancel an import',
    'No body. A STARTED, DEFERRED or PROCESSING import becomes CANCELED at once; a running one stops at its chunk boundary (the rows committed before stay). ' +
    'Canceling a CANCELED import again answers 200; a DONE or FAILED import is a 409.')
  app.post(`${base}/:importId/cancel`, {
    ...cancel, schema: { ...cancel.schema, response: { 200: ref(ActionResponseSchema), ...standardErrorResponses } }
  }, async (request) => await imports.cancel(request.principal.accountId, request.params.importId))
}

export default importsRoutes
