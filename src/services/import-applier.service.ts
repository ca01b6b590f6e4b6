// The import applier (issue 5): importRequest -> plan (import-plan.ts), and a chunk of CSV rows -> records, identifiers,
// associations and labels, inside the pipeline's transaction. Wiring:
//
//   const importApplier = createImportApplier(db, { objectTypes, associationTypes, associationsBatch })
//   const plan = await importApplier.plan(accountId, importRequestJson, uploadedFileNames)      // before any transaction
//   await db.transaction().execute(async (trx) => importApplier.applyChunk(trx, accountId, plan, fileIndex, rows))
//
// Row semantics:
// - Each row writes one record per object type with mapped properties ("own" slots) and points to existing records
//   through foreign-key / ASSOCIATION_KEYS columns ("ref" slots). An own record is found by its record ID, else by the
//   first of its unique identifiers (email, domain, custom unique properties; matched whether or not the column says
//   HUBSPOT_ALTERNATE_ID) that some record holds, else created. Rows of one chunk naming the same identifier write one
//   record (Luke Danes: two rows, one email, two domains -> one contact, two companies). Later rows' values win; empty
//   cells leave properties unchanged. importOperations CREATE: a row matching a record that exists (in the database or
//   created by an earlier row) is CREATE_ONLY_IMPORT; UPDATE: a row matching none is UPDATE_ONLY_IMPORT.
// - The row's records are associated pairwise (unlabeled, first company primary, cap, per-label limits: the rules of
//   associations-batch.service, called once per object pair with 'add' labels, so labels already there stay). Label
//   cells hold `;`-separated label texts, matched without regard to case; an unknown one is ASSOCIATION_LABEL_NOT_FOUND.
//   Rows of a chunk with the same record pair make one association input with the union of their labels, so a rule
//   broken by that union fails all of those rows.
// - A failed row writes nothing of its own (IMPORTS.md §11: HubSpot's own rule is unverified). Cells are validated
//   before any write. Writes then run in rounds under a savepoint: when a write-time check fails for some rows (an
//   association cap or label limit, an identifier taken by a concurrent writer, a record archived meanwhile), the round
//   is rolled back and redone without those rows. Removing rows never makes another row fail, so a chunk takes one
//   round, two when some row fails at write time. Each round is a constant number of statements whatever the chunk's
//   size: one identifier lookup for the chunk (before the rounds), then per round one id draw, key delete, record
//   insert, property merge and key insert for all object types together, and per object pair one read of the
//   existing pairs plus the association writer's statements.
// - Re-applying a chunk finds the records its identified rows wrote and adds nothing twice (records, identifiers,
//   associations and labels are all matched first). Rows without any identifier create a record each time: the pipeline
//   commits a chunk's writes with its progress, so a chunk is never applied twice after a commit.
// - Counters returned per chunk (the pipeline sums them; it counts TOTAL_ROWS itself): ROWS_APPLIED (rows without
//   error), CREATED_OBJECTS, UPDATED_OBJECTS (existing records a row matched), UNIQUE_OBJECTS_WRITTEN (their sum: the
//   distinct records of the chunk), PROPERTY_VALUES_EMITTED (non-empty property cells applied), ASSOCIATIONS_CREATED
//   (new record pairs), LABELS_ADDED (user labels newly on a pair), ERRORS (error entries).
import type { Kysely } from 'kysely'
import type { Database, PropertyValues } from '../db/schema.js'
import type { Executor } from '../db/executor.js'
import * as rowsRepo from '../repositories/import-rows.repository.js'
import { allocateRecordIds, findAssociationTypesByIds, rollbackToSavepoint, savepoint } from '../repositories/records.repository.js'
import { normaliseUniqueValue } from '../lib/unique-values.js'
import type { StandardError } from '../lib/batch.js'
import type { AssociationSpec } from '../schemas/associations.schemas.js'
import type { ObjectType, ObjectTypesService } from './object-types.service.js'
import type { AssociationTypesService, PairTypes } from './association-types.service.js'
import type { AssociationsBatchService, PairInput } from './associations-batch.service.js'
import type { ChunkOutcome, ImportApplier, ImportCounters, ImportPlan, ImportRow, ImportRowError } from './import-types.js'
import { buildPlan, RECORD_ID, type CompiledFile, type CompiledLink, type CompiledPlan, type CompiledSlot } from './import-plan.js'
import { parseRecordId } from './records.service.js'

export interface ImportApplierDeps {
  objectTypes: ObjectTypesService
  associationTypes: AssociationTypesService
  associationsBatch: AssociationsBatchService
}

const SAVEPOINT = 'import_chunk_round'
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@.]+$/
const DOMAIN = /^(?=.{1,253}$)([\p{L}\p{N}]([\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?\.)+[\p{L}][\p{L}\p{N}-]{0,62}$/u

/** What one cell group of a row says about one slot: its record ID, identifiers (in priority order), properties. */
interface SlotCells {
  id?: number
  keys: Array<{ property: string, value: string, column: number }>
  props: PropertyValues
}

interface ParsedRow {
  row: ImportRow
  slots: Array<SlotCells | undefined>
  /** Per link: the label types (from -> to) the row adds. */
  labels: AssociationSpec[][]
  errors: ImportRowError[]
}

/** A record the chunk writes: an existing one (`existing`) or a new one (id drawn per round). */
interface RecordPlan {
  type: string
  existing?: number
  id?: number
  props: PropertyValues
  /** Unique identifiers it ends up with, by property, and the rows that gave each. */
  keys: Map<string, { value: string, rows: ParsedRow[] }>
  rows: ParsedRow[]
}

const keyOf = (type: string, property: string, value: string): string => `${type}\u0000${property}\u0000${value}`

export function createImportApplier (db: Kysely<Database>, deps: ImportApplierDeps): ImportApplier {
  const { objectTypes, associationTypes, associationsBatch } = deps

  return {
    async plan (accountId: number, request: unknown, uploadedFileNames: string[]): Promise<ImportPlan> {
      return await buildPlan(request, uploadedFileNames, {
        objectType: async (segment) => await objectTypes.resolve(accountId, segment),
        propertyNames: async (type) => type.isCustom ? (await objectTypes.getSchema(accountId, type.typeId)).properties.map((p) => p.name) : undefined,
        pair: async (from, to) => await associationTypes.pairTypes(db, accountId, from, to),
        associationType: async (typeId) => {
          const [row] = await findAssociationTypesByIds(db, accountId, [typeId])
          return row === undefined ? undefined : { from: row.from_type, to: row.to_type }
        }
      })
    },

    async applyChunk (trx: Executor, accountId: number, plan: ImportPlan, fileIndex: number, rows: ImportRow[]): Promise<ChunkOutcome> {
      const compiled = plan.compiled as CompiledPlan
      const file = compiled.files[fileIndex]
      if (file === undefined) throw new Error(`the plan has no file ${fileIndex}`)
      const typeOf = (slot: CompiledSlot): ObjectType => compiled.types[slot.typeId] as ObjectType
      const slotOf = (i: number): CompiledSlot => file.slots[i] as CompiledSlot

      // The pairs' types as they are now (labels may have changed since the plan): one read per object pair.
      const pairCache = new Map<string, PairTypes>()
      const pairs: PairTypes[] = []
      for (const link of file.links) {
        const from = typeOf(slotOf(link.from))
        const to = typeOf(slotOf(link.to))
        const id = `${from.typeId}|${to.typeId}`
        const pair = pairCache.get(id) ?? await associationTypes.pairTypes(trx, accountId, from, to)
        pairCache.set(id, pair)
        pairs.push(pair)
      }

      const parsed = rows.map((row) => parseRow(file, row, pairs, typeOf))

      // Every identifier of the chunk, own and referenced, in one statement.
      const keys = new Map<string, rowsRepo.TypedKey>()
      const ids = new Map<string, rowsRepo.TypedRef>()
      for (const p of parsed) {
        if (p.errors.length > 0) continue
        p.slots.forEach((cells, i) => {
          if (cells === undefined) return
          const type = slotOf(i).typeId
          if (cells.id !== undefined) ids.set(`${type}|${cells.id}`, { objectType: type, id: cells.id })
          for (const k of cells.keys) keys.set(keyOf(type, k.property, k.value), { objectType: type, property: k.property, value: k.value })
        })
      }
      const owners = new Map<string, number>()
      for (const o of await rowsRepo.findIdentifiers(trx, accountId, [...keys.values()], [...ids.values()], RECORD_ID)) {
        owners.set(keyOf(o.objectType, o.property, o.value), o.recordId)
      }

      const writeFailures = new Map<ParsedRow, ImportRowError[]>()
      for (let round = 1; ; round++) {
        if (round === 1) await savepoint(trx, SAVEPOINT)
        else await rollbackToSavepoint(trx, SAVEPOINT)
        const live = parsed.filter((p) => p.errors.length === 0 && !writeFailures.has(p))
        const { records, targets, failed } = assign(file, live, owners, typeOf)
        const applied = live.filter((p) => !failed.has(p))
        const fresh = [...records.values()].filter((r) => r.existing === undefined)
        const drawn = await allocateRecordIds(trx, fresh.length)
        fresh.forEach((r, i) => { r.id = drawn[i] })
        const idOf = (r: RecordPlan): number => r.existing ?? r.id as number

        const failNow = new Map<ParsedRow, ImportRowError[]>()
        const fail = (p: ParsedRow, error: ImportRowError): void => { failNow.set(p, [...(failNow.get(p) ?? []), error]) }
        const written = await writeRecords(trx, accountId, [...records.values()], owners, idOf)
        for (const r of written.archived) for (const p of r.rows) fail(p, rowError(p.row, 'INVALID_OBJECT_ID', `Record ${idOf(r)} (${r.type}) was archived during the import`, { objectTypeId: r.type }))
        for (const { plan: r, property, value, rows: lost } of written.lostKeys) {
          for (const p of lost) fail(p, rowError(p.row, 'DUPLICATE_UNIQUE_PROPERTY_VALUE', `${property} '${value}' was taken by a concurrent write; import the row again`, { objectTypeId: r.type, invalidValue: value }))
        }
        if (failNow.size > 0) { for (const [p, e] of failNow) writeFailures.set(p, e); continue }

        const counters: ImportCounters = {
          ROWS_APPLIED: applied.length,
          CREATED_OBJECTS: fresh.length,
          UPDATED_OBJECTS: records.size - fresh.length,
          UNIQUE_OBJECTS_WRITTEN: records.size,
          PROPERTY_VALUES_EMITTED: applied.reduce((n, p) => n + p.slots.reduce((m, s, i) => m + (s !== undefined && slotOf(i).kind === 'own' ? Object.keys(s.props).length : 0), 0), 0),
          ASSOCIATIONS_CREATED: 0,
          LABELS_ADDED: 0
        }
        for (const [index, link] of file.links.entries()) {
          const pair = pairs[index] as PairTypes
          const outcome = await writeLink(trx, accountId, pair, link, index, applied, targets, idOf, written.live)
          counters.ASSOCIATIONS_CREATED = (counters.ASSOCIATIONS_CREATED ?? 0) + outcome.created
          counters.LABELS_ADDED = (counters.LABELS_ADDED ?? 0) + outcome.labelsAdded
          for (const { rows: broken, error } of outcome.failures) for (const p of broken) fail(p, associationError(p, error, pair))
        }
        if (failNow.size > 0) { for (const [p, e] of failNow) writeFailures.set(p, e); continue }

        const errors = parsed.flatMap((p) => [...p.errors, ...(failed.get(p) ?? []), ...(writeFailures.get(p) ?? [])])
        counters.ERRORS = errors.length
        return { counters, errors }
      }
    }
  }

  /** Writes the chunk's records and identifiers: key deletes, inserts, property merges, key inserts (one statement each). */
  async function writeRecords (trx: Executor, accountId: number, records: RecordPlan[], owners: Map<string, number>, idOf: (r: RecordPlan) => number) {
    const newKeys: Array<{ plan: RecordPlan, property: string, value: string, rows: ParsedRow[] }> = []
    for (const r of records) {
      for (const [property, k] of r.keys) if (owners.get(keyOf(r.type, property, k.value)) !== idOf(r)) newKeys.push({ plan: r, property, value: k.value, rows: k.rows })
    }
    const existing = records.filter((r) => r.existing !== undefined)
    await rowsRepo.deleteKeys(trx, accountId, newKeys.filter((k) => k.plan.existing !== undefined).map((k) => ({ objectType: k.plan.type, id: idOf(k.plan), property: k.property })))
    await rowsRepo.insertRecords(trx, accountId, records.filter((r) => r.existing === undefined).map((r) => ({ objectType: r.type, id: idOf(r), properties: r.props })))
    const changed = existing.filter((r) => Object.keys(r.props).length > 0)
    const updated = new Set((await rowsRepo.mergeProperties(trx, accountId, changed.map((r) => ({ objectType: r.type, id: idOf(r), properties: r.props })))).map((u) => `${u.objectType}|${u.id}`))
    const stored = new Set((await rowsRepo.insertKeys(trx, accountId, newKeys.map((k) => ({ objectType: k.plan.type, property: k.property, value: k.value, recordId: idOf(k.plan) })))).map((k) => keyOf(k.objectType, k.property, k.value)))
    return {
      // Records read live (merged) or created by this chunk's transaction: the association writer need not read them again.
      live: new Set([...updated, ...records.filter((r) => r.existing === undefined).map((r) => `${r.type}|${idOf(r)}`)]),
      archived: changed.filter((r) => !updated.has(`${r.type}|${idOf(r)}`)),
      lostKeys: newKeys.filter((k) => !stored.has(keyOf(k.plan.type, k.property, k.value)))
    }
  }

  /** One association writer call for a link: every applied row's pair, rows with the same pair merged. */
  async function writeLink (trx: Executor, accountId: number, pair: PairTypes, link: CompiledLink, index: number, applied: ParsedRow[],
    targets: Map<ParsedRow, Array<RecordPlan | number | undefined>>, idOf: (r: RecordPlan) => number, live: ReadonlySet<string>) {
    const inputs = new Map<string, { fromId: number, toId: number, types: AssociationSpec[], rows: ParsedRow[] }>()
    const idFor = (t: RecordPlan | number | undefined): number | undefined => t === undefined ? undefined : typeof t === 'number' ? t : idOf(t)
    for (const p of applied) {
      const slots = targets.get(p) ?? []
      const fromT = slots[link.from]
      const toT = slots[link.to]
      const fromId = idFor(fromT)
      const toId = idFor(toT)
      if (fromId === undefined || toId === undefined) continue
      const id = `${fromId}|${toId}`
      const input = inputs.get(id) ?? { fromId, toId, types: [...link.types], rows: [] }
      for (const spec of p.labels[index] ?? []) if (!input.types.some((t) => t.associationTypeId === spec.associationTypeId)) input.types.push(spec)
      input.rows.push(p)
      inputs.set(id, input)
    }
    const list = [...inputs.values()]
    if (list.length === 0) return { created: 0, labelsAdded: 0, failures: [] }
    const pairInputs: PairInput[] = list.map((i) => ({ from: { id: String(i.fromId) }, to: { id: String(i.toId) }, types: i.types }))
    const { done, errors } = await associationsBatch.writeMostlyUnchangedInTransaction(trx, accountId, pair, pairInputs, { knownLive: live })
    // The writer reports what each input added: new pairs carry the unlabeled type.
    const created = done.filter((d) => d.added.includes(pair.unlabeled.type_id)).length
    const labelsAdded = done.reduce((n, d) => n + d.added.filter((t) => pair.forward.get(t)?.role === 'label').length, 0)
    const failures = errors.map((error) => ({ error, rows: inputs.get(`${error.context.fromObjectId?.[0] ?? ''}|${error.context.toObjectId?.[0] ?? ''}`)?.rows ?? [] }))
    return { created, labelsAdded, failures }
  }
}

function rowError (row: ImportRow, errorType: string, errorMessage: string, extra: { column?: number, invalidValue?: string, objectTypeId?: string } = {}): ImportRowError {
  return {
    errorType,
    lineNumber: row.lineNumber,
    ...(extra.column !== undefined ? { knownColumnNumber: extra.column } : {}),
    ...(extra.invalidValue !== undefined ? { invalidValue: extra.invalidValue } : {}),
    errorMessage,
    ...(extra.objectTypeId !== undefined ? { objectTypeId: extra.objectTypeId } : {}),
    rowData: row.values
  }
}

function associationError (p: ParsedRow, error: StandardError, pair: PairTypes): ImportRowError {
  const errorType = error.category === 'LIMITS_ERROR'
    ? 'ASSOCIATION_LIMIT_EXCEEDED'
    : error.category === 'OBJECT_NOT_FOUND'
      ? 'ASSOCIATION_RECORD_NOT_FOUND'
      : error.subCategory === 'crm.associations.INVALID_ASSOCIATION_TYPE' ? 'ASSOCIATION_LABEL_NOT_FOUND' : 'FAILED_TO_CREATE_ASSOCIATION'
  return rowError(p.row, errorType, error.message, { objectTypeId: pair.from.typeId })
}

/** Cell validation of one row, before any database work: width, record IDs, identifiers, labels. */
function parseRow (file: CompiledFile, row: ImportRow, pairs: PairTypes[], typeOf: (s: CompiledSlot) => ObjectType): ParsedRow {
  const parsed: ParsedRow = { row, slots: [], labels: [], errors: [] }
  if (row.values.length !== file.columnCount) {
    parsed.errors.push(rowError(row, 'INCORRECT_NUMBER_OF_COLUMNS', `The row has ${row.values.length} columns; the file's mapping has ${file.columnCount}`))
    return parsed
  }
  const error = (errorType: string, message: string, column: number, invalidValue: string, objectTypeId?: string): void => {
    parsed.errors.push(rowError(row, errorType, message, { column, invalidValue, ...(objectTypeId !== undefined ? { objectTypeId } : {}) }))
  }
  const cell = (column: number): string => (row.values[column] ?? '').trim()
  const identifier = (slot: CompiledSlot, column: number, property: string): string | undefined => {
    const raw = cell(column)
    const value = normaliseUniqueValue(property, raw)
    const type = typeOf(slot)
    if (property === 'email' && !EMAIL.test(value)) error('INVALID_EMAIL', `'${raw}' is not a valid email address`, column, raw, type.typeId)
    else if (property === 'domain' && !DOMAIN.test(value)) error('INVALID_DOMAIN', `'${raw}' is not a valid domain`, column, raw, type.typeId)
    else if (value === '' || value.includes('\u0000')) error('INVALID_ALTERNATE_ID', `'${raw}' is not a usable ${property}`, column, raw, type.typeId)
    else return value
    return undefined
  }
  for (const slot of file.slots) {
    const cells: SlotCells = { keys: [], props: {} }
    if (slot.idColumn !== undefined && cell(slot.idColumn) !== '') {
      const raw = cell(slot.idColumn)
      try { cells.id = parseRecordId(raw) } catch {
        error(slot.kind === 'own' ? 'INVALID_RECORD_ID' : 'INVALID_OBJECT_ID', `'${raw}' is not a record ID (a positive integer)`, slot.idColumn, raw, slot.typeId)
      }
    }
    for (const p of slot.properties) {
      const value = cell(p.column)
      if (value === '') continue
      if (value.includes('\u0000')) { error('INVALID_PROPERTY_VALUE_FORMAT', `The value of ${p.name} contains a NUL character`, p.column, value, slot.typeId); continue }
      cells.props[p.name] = value
    }
    for (const k of slot.keyColumns) {
      if (cell(k.column) === '') continue
      const value = identifier(slot, k.column, k.property)
      if (value !== undefined) cells.keys.push({ property: k.property, value, column: k.column })
    }
    const empty = cells.id === undefined && cells.keys.length === 0 && Object.keys(cells.props).length === 0
    parsed.slots.push(empty ? undefined : cells)
  }
  file.links.forEach((link, index) => {
    const pair = pairs[index] as PairTypes
    const specs: AssociationSpec[] = []
    for (const { column, reverse } of link.labels) {
      const names = cell(column).split(';').map((s) => s.trim()).filter((s) => s !== '')
      for (const name of names) {
        const rows = reverse ? pair.backward : pair.forward
        const row = [...rows.values()].find((r) => r.role !== 'unlabeled' && r.label !== null && r.label.toLowerCase() === name.toLowerCase())
        const forward = row === undefined ? undefined : reverse ? pair.forward.get(row.inverse_type_id) : row
        const [a, b] = reverse ? [pair.to, pair.from] : [pair.from, pair.to]
        if (forward === undefined) error('ASSOCIATION_LABEL_NOT_FOUND', `Association label '${name}' does not exist from ${a.name} to ${b.name}`, column, name, a.typeId)
        else if (!specs.some((s) => s.associationTypeId === forward.type_id)) specs.push({ associationCategory: forward.category, associationTypeId: forward.type_id })
      }
      if (names.length > 0 && (parsed.slots[link.from] === undefined || parsed.slots[link.to] === undefined)) {
        const missing = typeOf(file.slots[parsed.slots[link.from] === undefined ? link.from : link.to] as CompiledSlot)
        error('FAILED_TO_FIND_RECORD_FOR_ASSOCIATIONS', `The row has labels but no ${missing.singular.toLowerCase()} to associate`, column, cell(column), missing.typeId)
      }
    }
    parsed.labels.push(specs)
  })
  return parsed
}

/**
 * Decides, for the live rows in order, which record each own slot writes (existing, or new and shared by the rows
 * naming the same identifier) and which record each ref slot points to. Rows that break an operation or identifier
 * rule are returned in `failed` and claim nothing, so later rows decide as if they were absent.
 */
function assign (file: CompiledFile, live: ParsedRow[], owners: Map<string, number>, typeOf: (s: CompiledSlot) => ObjectType) {
  const records = new Map<string, RecordPlan>()
  const claims = new Map<string, string>()
  const targets = new Map<ParsedRow, Array<RecordPlan | number | undefined>>()
  const failed = new Map<ParsedRow, ImportRowError[]>()
  let fresh = 0
  for (const p of live) {
    const errors: ImportRowError[] = []
    const chosen: Array<string | number | undefined> = []
    const err = (type: string, message: string, slot: CompiledSlot, column?: number, invalidValue?: string): void => {
      errors.push(rowError(p.row, type, message, { objectTypeId: slot.typeId, ...(column !== undefined ? { column } : {}), ...(invalidValue !== undefined ? { invalidValue } : {}) }))
    }
    file.slots.forEach((slot, i) => {
      const cells = p.slots[i]
      if (cells === undefined) { chosen.push(undefined); return }
      const type = typeOf(slot)
      const what = type.singular.toLowerCase()
      const findKey = (k: { property: string, value: string }): string | undefined => {
        const owner = owners.get(keyOf(slot.typeId, k.property, k.value))
        return owner !== undefined ? `e|${slot.typeId}|${owner}` : claims.get(keyOf(slot.typeId, k.property, k.value))
      }
      let target: string | undefined
      if (cells.id !== undefined) {
        const owner = owners.get(keyOf(slot.typeId, RECORD_ID, String(cells.id)))
        if (owner === undefined) {
          const column = slot.idColumn as number
          err(slot.kind === 'own' ? 'INVALID_RECORD_ID' : 'UNKNOWN_ASSOCIATION_RECORD_ID', `No ${what} with record ID ${cells.id} exists`, slot, column, String(cells.id))
          chosen.push(undefined)
          return
        }
        target = `e|${slot.typeId}|${owner}`
      } else {
        for (const k of cells.keys) { target = findKey(k); if (target !== undefined) break }
      }
      if (slot.kind === 'ref') {
        if (target === undefined) {
          const k = cells.keys[0]
          err('ASSOCIATION_RECORD_NOT_FOUND', `No ${what} with ${k?.property ?? 'record ID'} ${k?.value ?? ''} exists`, slot, k?.column, k?.value)
        }
        chosen.push(target)
        return
      }
      if (slot.operation === 'CREATE' && target !== undefined) err('CREATE_ONLY_IMPORT', `The ${what} already exists (${target.startsWith('e|') ? `record ID ${target.split('|')[2] as string}` : 'created by an earlier row'}); this import only creates ${type.name}`, slot)
      if (slot.operation === 'UPDATE' && target === undefined) err('UPDATE_ONLY_IMPORT', `No existing ${what} matches the row; this import only updates ${type.name}`, slot)
      target ??= `n|${fresh++}`
      for (const k of cells.keys) {
        const owner = findKey(k)
        if (owner !== undefined && owner !== target) err('DUPLICATE_UNIQUE_PROPERTY_VALUE', `${k.property} '${k.value}' belongs to another ${what}`, slot, k.column, k.value)
      }
      chosen.push(target)
    })
    if (errors.length > 0) { failed.set(p, errors); continue }
    const row: Array<RecordPlan | number | undefined> = []
    file.slots.forEach((slot, i) => {
      const target = chosen[i]
      const cells = p.slots[i]
      if (target === undefined || cells === undefined) { row.push(undefined); return }
      let plan = records.get(target as string)
      if (plan === undefined) {
        const [kind, , id] = (target as string).split('|')
        plan = { type: slot.typeId, props: {}, keys: new Map(), rows: [], ...(kind === 'e' ? { existing: Number(id) } : {}) }
        if (slot.kind === 'ref' && kind === 'e') { row.push(Number(id)); return }
        records.set(target as string, plan)
      }
      if (slot.kind === 'ref') { row.push(plan); return }
      Object.assign(plan.props, cells.props)
      for (const k of cells.keys) {
        const prev = plan.keys.get(k.property)
        if (prev !== undefined && prev.value !== k.value) claims.delete(keyOf(slot.typeId, k.property, prev.value)) // a later value replaces it
        const entry = prev?.value === k.value ? prev : { value: k.value, rows: [] }
        entry.rows.push(p)
        plan.keys.set(k.property, entry)
        claims.set(keyOf(slot.typeId, k.property, k.value), target as string)
      }
      plan.rows.push(p)
      row.push(plan)
    })
    targets.set(p, row)
  }
  return { records, targets, failed }
}
