// importRequest -> ImportPlan (IMPORTS.md §3-§4): validates HubSpot's request JSON, in its current spelling and the
// older one (columnObjectType "CONTACT", idColumnType, ignored, explicit nulls), against the account's object types,
// properties and association types, and compiles each file's columns into "slots" (the records a row writes or
// points to) and "links" (the associations a row makes). Everything static is decided here, before any transaction;
// the compiled plan is plain JSON, so the pipeline can store it and pass it back for every chunk.
//
// Column roles, decided per mapping (first match wins):
// - ignored: true                                  -> skipped (the column still counts for the row's width);
// - columnType FLEXIBLE_ASSOCIATION_LABEL          -> label cells for the pair columnObjectTypeId -> toColumnObjectTypeId;
// - foreignKeyType, ASSOCIATION_KEYS, or no propertyName with a toColumnObjectTypeId of another type
//                                                  -> a reference to an existing record of the target type (by record ID
//                                                     for HUBSPOT_OBJECT_ID, else by a unique property), associated with
//                                                     the row's own record of columnObjectTypeId;
// - propertyName hs_object_id, or HUBSPOT_OBJECT_ID -> the row's own record ID (finds the record);
// - any other propertyName                          -> a property; a unique one (email, domain, custom hasUniqueValue) also
//                                                     finds the record, with or without HUBSPOT_ALTERNATE_ID.
// Every pair of object types written by one file's rows is associated (contact + company + deal: three pairs).
import type { ObjectType } from './object-types.service.js'
import type { PairTypes } from './association-types.service.js'
import type { AssociationSpec } from '../schemas/associations.schemas.js'
import type { ImportPlan, PlannedFile } from './import-types.js'
import { splitProperties } from './records.service.js'
import { InvalidInputError, UnknownObjectTypeError, withDetails } from '../errors.js'

export type ImportOperation = 'UPSERT' | 'CREATE' | 'UPDATE'
export const DATE_FORMATS = ['MONTH_DAY_YEAR', 'DAY_MONTH_YEAR', 'YEAR_MONTH_DAY'] as const
const OPERATIONS: readonly ImportOperation[] = ['UPSERT', 'CREATE', 'UPDATE']
const COLUMN_TYPES = ['HUBSPOT_OBJECT_ID', 'HUBSPOT_ALTERNATE_ID', 'FLEXIBLE_ASSOCIATION_LABEL', 'ASSOCIATION_KEYS', 'STANDARD'] as const
type ColumnType = typeof COLUMN_TYPES[number]
export const RECORD_ID = 'hs_object_id'

/** A record a row writes (`own`: found or created) or points to (`ref`: must exist). */
export interface CompiledSlot {
  typeId: string
  kind: 'own' | 'ref'
  operation: ImportOperation
  /** The column holding the record ID. */
  idColumn?: number
  /** Unique identifiers in the order they are tried (own), or the one a reference uses (ref). */
  keyColumns: Array<{ column: number, property: string }>
  /** own: every property written, identifiers included. */
  properties: Array<{ column: number, name: string }>
}

/** An association every row makes between two of its slots, with explicit types (from -> to) and label columns. */
export interface CompiledLink {
  from: number
  to: number
  types: AssociationSpec[]
  /** `reverse`: the column names labels of the to -> from direction. */
  labels: Array<{ column: number, reverse: boolean }>
}

export interface CompiledFile {
  fileName: string
  columnCount: number
  slots: CompiledSlot[]
  links: CompiledLink[]
}

export interface CompiledPlan {
  version: 1
  dateFormat: typeof DATE_FORMATS[number]
  /** Every object type used, by type id (plain data: ObjectType has no methods). */
  types: Record<string, ObjectType>
  files: CompiledFile[]
}

/** What the plan needs from the account; the applier passes its services in. */
export interface PlanLookups {
  objectType: (segment: string) => Promise<ObjectType>
  /** The property names of a type with declared properties (custom objects); undefined when any name goes. */
  propertyNames: (type: ObjectType) => Promise<string[] | undefined>
  pair: (from: ObjectType, to: ObjectType) => Promise<PairTypes>
  /** from/to object types of an association type id. */
  associationType: (typeId: number) => Promise<{ from: string, to: string } | undefined>
}

interface Mapping {
  index: number
  columnName: string
  typeSegment?: string
  toTypeSegment?: string
  propertyName?: string
  columnType?: ColumnType
  foreignKey?: AssociationSpec
  identifierColumn: boolean
  ignored: boolean
}

interface FileInput { fileName: string, hasHeader: boolean, mappings: Mapping[] }

function invalid (message: string, context: Record<string, string[]> = {}): Error {
  return withDetails(new InvalidInputError(message), { context })
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const present = (v: unknown): boolean => v !== undefined && v !== null

function optionalString (obj: Record<string, unknown>, key: string, where: string): string | undefined {
  const v = obj[key]
  if (!present(v)) return undefined
  if (typeof v !== 'string') throw invalid(`${where}: ${key} must be a string`, { field: [key] })
  return v
}

function parseMapping (raw: unknown, index: number, fileName: string): Mapping {
  const where = `File '${fileName}', column ${index}`
  if (!isObject(raw)) throw invalid(`${where}: a column mapping must be an object`, { fileName: [fileName] })
  const columnName = optionalString(raw, 'columnName', where)
  if (columnName === undefined) throw invalid(`${where}: columnName is required`, { fileName: [fileName] })
  const at = `File '${fileName}', column '${columnName}'`
  const rawType = optionalString(raw, 'columnType', at) ?? optionalString(raw, 'idColumnType', at)
  if (rawType !== undefined && !(COLUMN_TYPES as readonly string[]).includes(rawType)) {
    throw invalid(`${at}: columnType '${rawType}' is not supported; use one of ${COLUMN_TYPES.join(', ')}`, { fileName: [fileName], columnName: [columnName] })
  }
  let foreignKey: AssociationSpec | undefined
  const fk = raw.foreignKeyType
  if (present(fk)) {
    const typeId = isObject(fk) ? fk.associationTypeId : undefined
    const category = isObject(fk) ? fk.associationCategory ?? 'HUBSPOT_DEFINED' : undefined
    if (!Number.isSafeInteger(typeId) || !['HUBSPOT_DEFINED', 'USER_DEFINED', 'INTEGRATOR_DEFINED'].includes(category as string)) {
      throw invalid(`${at}: foreignKeyType needs an integer associationTypeId and an associationCategory (HUBSPOT_DEFINED, USER_DEFINED or INTEGRATOR_DEFINED)`, { fileName: [fileName], columnName: [columnName] })
    }
    foreignKey = { associationTypeId: typeId as number, associationCategory: category as AssociationSpec['associationCategory'] }
  }
  const propertyName = optionalString(raw, 'propertyName', at)
  return {
    index,
    columnName,
    typeSegment: optionalString(raw, 'columnObjectTypeId', at) ?? optionalString(raw, 'columnObjectType', at),
    toTypeSegment: optionalString(raw, 'toColumnObjectTypeId', at),
    propertyName: propertyName === '' ? undefined : propertyName,
    columnType: rawType === 'STANDARD' ? undefined : rawType as ColumnType | undefined,
    foreignKey,
    identifierColumn: raw.associationIdentifierColumn === true,
    ignored: raw.ignored === true
  }
}

/** The request's shape, without the account: top-level fields, files and their mappings. */
function parseRequest (request: unknown, uploadedFileNames: string[]): { name: string, dateFormat: CompiledPlan['dateFormat'], operations: Record<string, unknown>, files: FileInput[] } {
  if (!isObject(request)) throw invalid('importRequest must be a JSON object')
  const dateFormat = optionalString(request, 'dateFormat', 'importRequest') ?? 'MONTH_DAY_YEAR'
  if (!(DATE_FORMATS as readonly string[]).includes(dateFormat)) {
    throw invalid(`importRequest: dateFormat '${dateFormat}' is not one of ${DATE_FORMATS.join(', ')}`, { dateFormat: [dateFormat] })
  }
  const operations = request.importOperations
  if (present(operations) && !isObject(operations)) throw invalid('importRequest: importOperations must be an object of objectTypeId -> UPSERT, CREATE or UPDATE')
  const rawFiles = request.files
  if (!Array.isArray(rawFiles) || rawFiles.length === 0) throw invalid('importRequest: files must list at least one file')
  const files: FileInput[] = []
  for (const [i, raw] of rawFiles.entries()) {
    if (!isObject(raw)) throw invalid(`importRequest: files[${i}] must be an object`)
    const fileName = optionalString(raw, 'fileName', `files[${i}]`)
    if (fileName === undefined || fileName === '') throw invalid(`importRequest: files[${i}] has no fileName`)
    const ctx = { fileName: [fileName] }
    if (files.some((f) => f.fileName === fileName)) throw invalid(`importRequest: file '${fileName}' is described twice`, ctx)
    if (!uploadedFileNames.includes(fileName)) {
      throw invalid(`importRequest: file '${fileName}' was not uploaded (uploaded: ${uploadedFileNames.map((n) => `'${n}'`).join(', ') || 'none'}); the files part's file name must equal fileName`, ctx)
    }
    const format = optionalString(raw, 'fileFormat', `File '${fileName}'`) ?? 'CSV'
    if (format !== 'CSV') throw invalid(`File '${fileName}': fileFormat '${format}' is not supported; only CSV files can be imported`, { ...ctx, fileFormat: [format] })
    const page = raw.fileImportPage
    const columns = isObject(page) ? page.columnMappings : undefined
    if (!Array.isArray(columns) || columns.length === 0) throw invalid(`File '${fileName}': fileImportPage.columnMappings must list one mapping per column`, ctx)
    const mappings = columns.map((c, index) => parseMapping(c, index, fileName))
    files.push({ fileName, hasHeader: (page as Record<string, unknown>).hasHeader !== false, mappings })
  }
  const unused = uploadedFileNames.filter((n) => !files.some((f) => f.fileName === n))
  if (unused.length > 0) throw invalid(`Uploaded file '${unused[0]}' is not described in importRequest.files`, { fileName: [unused[0] as string] })
  const name = optionalString(request, 'name', 'importRequest') ?? files[0]?.fileName ?? 'import'
  return { name, dateFormat: dateFormat as CompiledPlan['dateFormat'], operations: isObject(operations) ? operations : {}, files }
}

/** Builds the plan: request shape, then object types, properties, pairs and file order against the account. */
export async function buildPlan (request: unknown, uploadedFileNames: string[], lookups: PlanLookups): Promise<ImportPlan> {
  const parsed = parseRequest(request, uploadedFileNames)
  const types = new Map<string, ObjectType>()
  const typeOf = async (segment: string, where: string): Promise<ObjectType> => {
    const type = await lookups.objectType(segment).catch((err: unknown) => {
      if (err instanceof UnknownObjectTypeError) throw invalid(`${where}: unknown object type '${segment.slice(0, 100)}'`, { objectType: [segment.slice(0, 100)] })
      throw err
    })
    types.set(type.typeId, type)
    return type
  }

  const operations = new Map<string, ImportOperation>()
  for (const [segment, op] of Object.entries(parsed.operations)) {
    const type = await typeOf(segment, 'importOperations')
    if (!(OPERATIONS as readonly unknown[]).includes(op)) throw invalid(`importOperations: '${String(op)}' for ${segment} is not UPSERT, CREATE or UPDATE`, { objectType: [segment] })
    operations.set(type.typeId, op as ImportOperation)
  }

  // Identifier columns other files can point at: (object type, column name) -> property.
  const owners = new Map<string, { property: string, file: string }>()
  const resolved: Array<{ file: FileInput, columns: Array<{ m: Mapping, type?: ObjectType, to?: ObjectType }> }> = []
  for (const file of parsed.files) {
    const columns: Array<{ m: Mapping, type?: ObjectType, to?: ObjectType }> = []
    for (const m of file.mappings) {
      const where = `File '${file.fileName}', column '${m.columnName}'`
      if (m.ignored) { columns.push({ m }); continue }
      if (m.typeSegment === undefined) throw invalid(`${where}: columnObjectTypeId (or columnObjectType) is required`, { fileName: [file.fileName], columnName: [m.columnName] })
      const type = await typeOf(m.typeSegment, where)
      const to = m.toTypeSegment === undefined ? undefined : await typeOf(m.toTypeSegment, where)
      columns.push({ m, type, ...(to !== undefined ? { to } : {}) })
      if (m.identifierColumn) {
        const property = m.columnType === 'HUBSPOT_OBJECT_ID' ? RECORD_ID : m.propertyName
        if (property === undefined || (property !== RECORD_ID && !type.uniqueProperties.includes(property))) {
          throw invalid(`${where}: an associationIdentifierColumn must map a unique identifier of ${type.name} (${[RECORD_ID, ...type.uniqueProperties].join(', ')})`, { fileName: [file.fileName], columnName: [m.columnName] })
        }
        owners.set(`${type.typeId}|${m.columnName}`, { property, file: file.fileName })
      }
    }
    resolved.push({ file, columns })
  }

  const compiled: CompiledFile[] = []
  const dependsOn = new Map<string, Set<string>>()
  const mapped: string[] = []
  for (const { file, columns } of resolved) {
    const deps = new Set<string>()
    dependsOn.set(file.fileName, deps)
    const slots: CompiledSlot[] = []
    const ownSlot = new Map<string, number>()
    const own = (type: ObjectType): CompiledSlot => {
      let i = ownSlot.get(type.typeId)
      if (i === undefined) {
        i = slots.push({ typeId: type.typeId, kind: 'own', operation: operations.get(type.typeId) ?? 'UPSERT', keyColumns: [], properties: [] }) - 1
        ownSlot.set(type.typeId, i)
      }
      return slots[i] as CompiledSlot
    }
    const refs: Array<{ m: Mapping, type: ObjectType, slot: number }> = []
    const labels: Array<{ m: Mapping, type: ObjectType, to: ObjectType }> = []
    const declared = new Map<string, string[] | undefined>()
    for (const { m, type, to } of columns) {
      if (type === undefined) continue
      const where = `File '${file.fileName}', column '${m.columnName}'`
      const ctx = { fileName: [file.fileName], columnName: [m.columnName] }
      if (m.columnType === 'FLEXIBLE_ASSOCIATION_LABEL') {
        if (to === undefined) throw invalid(`${where}: a FLEXIBLE_ASSOCIATION_LABEL column needs toColumnObjectTypeId (the pair whose labels it holds)`, ctx)
        labels.push({ m, type, to })
        continue
      }
      const isRef = m.foreignKey !== undefined || m.columnType === 'ASSOCIATION_KEYS' ||
        (m.propertyName === undefined && to !== undefined && to.typeId !== type.typeId)
      if (isRef) {
        let target = to
        if (target === undefined && m.foreignKey !== undefined) {
          const at = await lookups.associationType(m.foreignKey.associationTypeId)
          const other = at === undefined ? undefined : at.from === type.typeId ? at.to : at.to === type.typeId ? at.from : undefined
          if (other === undefined) throw invalid(`${where}: foreignKeyType ${m.foreignKey.associationTypeId} is not an association type of ${type.name}`, ctx)
          target = await typeOf(other, where)
        }
        if (target === undefined) target = type // ASSOCIATION_KEYS: the same object type
        let property: string | undefined
        if (m.columnType === 'HUBSPOT_OBJECT_ID' || m.propertyName === RECORD_ID) property = RECORD_ID
        else if (m.propertyName !== undefined && m.columnType === 'ASSOCIATION_KEYS') property = m.propertyName
        else {
          const owner = owners.get(`${target.typeId}|${m.columnName}`)
          if (owner !== undefined && owner.file !== file.fileName) deps.add(owner.file)
          property = owner?.property ?? (target.uniqueProperties.length === 1 ? target.uniqueProperties[0] : undefined)
        }
        if (property === undefined || (property !== RECORD_ID && !target.uniqueProperties.includes(property))) {
          throw invalid(`${where}: cannot tell which unique identifier of ${target.name} this column holds; mark the ${target.name} file's column '${m.columnName}' as associationIdentifierColumn, or use HUBSPOT_OBJECT_ID for record IDs`, ctx)
        }
        const slot = slots.push({ typeId: target.typeId, kind: 'ref', operation: 'UPSERT', keyColumns: [], properties: [], ...(property === RECORD_ID ? { idColumn: m.index } : {}) }) - 1
        if (property !== RECORD_ID) (slots[slot] as CompiledSlot).keyColumns.push({ column: m.index, property })
        refs.push({ m, type, slot })
        continue
      }
      const slot = own(type)
      if (m.propertyName === RECORD_ID || m.columnType === 'HUBSPOT_OBJECT_ID') {
        if (slot.idColumn !== undefined) throw invalid(`${where}: ${type.name} already has a record ID column`, ctx)
        slot.idColumn = m.index
        continue
      }
      const name = m.propertyName
      if (name === undefined) throw invalid(`${where}: no propertyName; map the column to a property, or mark it ignored: true`, ctx)
      try { splitProperties({ [name]: 'x' }) } catch (err) { throw withDetails(err as Error, { context: ctx }) }
      if (name.length > 100) throw invalid(`${where}: propertyName is longer than 100 characters`, ctx)
      if (!declared.has(type.typeId)) declared.set(type.typeId, await lookups.propertyNames(type))
      const known = declared.get(type.typeId)
      if (known !== undefined && !known.includes(name)) throw invalid(`${where}: ${type.name} has no property '${name}'`, { ...ctx, propertyName: [name] })
      if (slot.properties.some((p) => p.name === name)) throw invalid(`${where}: property '${name}' of ${type.name} is mapped twice`, { ...ctx, propertyName: [name] })
      if (m.columnType === 'HUBSPOT_ALTERNATE_ID' && !type.uniqueProperties.includes(name)) {
        throw invalid(`${where}: HUBSPOT_ALTERNATE_ID needs a unique property of ${type.name} (${type.uniqueProperties.join(', ') || 'it has none'}), not '${name}'`, { ...ctx, propertyName: [name] })
      }
      slot.properties.push({ column: m.index, name })
      if (type.uniqueProperties.includes(name)) {
        // The column declared HUBSPOT_ALTERNATE_ID is tried first, then the others in column order.
        if (m.columnType === 'HUBSPOT_ALTERNATE_ID') slot.keyColumns.unshift({ column: m.index, property: name })
        else slot.keyColumns.push({ column: m.index, property: name })
      }
    }

    const links: CompiledLink[] = []
    const pairOf = async (a: CompiledSlot, b: CompiledSlot): Promise<PairTypes> => await lookups.pair(types.get(a.typeId) as ObjectType, types.get(b.typeId) as ObjectType)
    const owned = slots.map((s, i) => ({ s, i })).filter(({ s }) => s.kind === 'own')
    for (const [x, a] of owned.entries()) {
      for (const b of owned.slice(x + 1)) {
        await pairOf(a.s, b.s) // custom pairs get their unlabeled types now, outside any transaction
        links.push({ from: a.i, to: b.i, types: [], labels: [] })
      }
    }
    for (const r of refs) {
      const where = `File '${file.fileName}', column '${r.m.columnName}'`
      const from = ownSlot.get(r.type.typeId)
      if (from === undefined) throw invalid(`${where}: the row has no ${r.type.name} of its own to associate (map at least one ${r.type.name} property)`, { fileName: [file.fileName], columnName: [r.m.columnName] })
      const pair = await pairOf(slots[from] as CompiledSlot, slots[r.slot] as CompiledSlot)
      const spec = r.m.foreignKey
      let types: AssociationSpec[] = []
      if (spec !== undefined) {
        const row = pair.forward.get(spec.associationTypeId) ?? pair.backward.get(spec.associationTypeId)
        if (row === undefined || row.category !== spec.associationCategory) {
          throw invalid(`${where}: foreignKeyType ${spec.associationCategory} ${spec.associationTypeId} is not an association type between ${pair.from.name} and ${pair.to.name}`, { fileName: [file.fileName], columnName: [r.m.columnName] })
        }
        const forward = pair.forward.has(spec.associationTypeId) ? row : pair.forward.get(row.inverse_type_id) as NonNullable<typeof row>
        types = [{ associationCategory: forward.category, associationTypeId: forward.type_id }]
      }
      links.push({ from, to: r.slot, types, labels: [] })
    }
    for (const l of labels) {
      const where = `File '${file.fileName}', column '${l.m.columnName}'`
      const matches = links.filter((k) => {
        const f = (slots[k.from] as CompiledSlot).typeId
        const t = (slots[k.to] as CompiledSlot).typeId
        return (f === l.type.typeId && t === l.to.typeId) || (f === l.to.typeId && t === l.type.typeId)
      })
      if (matches.length !== 1) {
        throw invalid(`${where}: ${matches.length === 0 ? 'no' : 'more than one'} pair of ${l.type.name} and ${l.to.name} records in this file for the labels to describe`, { fileName: [file.fileName], columnName: [l.m.columnName] })
      }
      const link = matches[0] as CompiledLink
      link.labels.push({ column: l.m.index, reverse: (slots[link.from] as CompiledSlot).typeId !== l.type.typeId })
    }
    if (slots.length === 0) throw invalid(`File '${file.fileName}': no column maps to an object`, { fileName: [file.fileName] })
    for (const s of slots) if (!mapped.includes(s.typeId)) mapped.push(s.typeId)
    compiled.push({ fileName: file.fileName, columnCount: file.mappings.length, slots, links })
  }

  // A file whose records others point to by a common column is applied before them.
  const order: FileInput[] = []
  const pending = [...parsed.files]
  while (pending.length > 0) {
    const next = pending.findIndex((f) => [...(dependsOn.get(f.fileName) ?? [])].every((d) => order.some((o) => o.fileName === d)))
    if (next < 0) throw invalid(`importRequest: files ${pending.map((f) => `'${f.fileName}'`).join(', ')} point at each other's identifier columns; one must come first`)
    order.push(...pending.splice(next, 1))
  }
  const files: PlannedFile[] = order.map((f) => ({ fileName: f.fileName, hasHeader: f.hasHeader, columnNames: f.mappings.map((m) => m.columnName) }))
  const plan: CompiledPlan = {
    version: 1,
    dateFormat: parsed.dateFormat,
    types: Object.fromEntries(types),
    files: order.map((f) => compiled.find((c) => c.fileName === f.fileName) as CompiledFile)
  }
  return { name: parsed.name, files, mappedObjectTypeIds: mapped, compiled: plan }
}
