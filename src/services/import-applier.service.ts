// The import applier (issue 5): importRequest -> plan (import-plan.ts), and a chunk of CSV rows -> records, identifiers,
// associations and labels, inside the pipeline's transaction. Wiring:
//
//   const importApplier = createImportApplier(db, { objectTypes, associationTypes, associationsBatch })
//   const plan = await importApplier.plan(accountId, importRequestJson, uploadedFileNames)      // before any transaction
//   await db.transaction().execute(async (trx) => importApplier.applyChunk(trx, accountId, plan, fileIndex, rows))
//
// Look-ahead (the runner, on PostgreSQL): `lookAhead(db, ..., nextRows)` parses the next chunk and reads its
// identifiers on another connection while the current chunk's statements run; `applyChunk(..., nextRows, { read,
// writtenSince: [current outcome's written] })` then corrects that read with what the current chunk wrote (keys added
// and removed, records created or merged, whose stored values are then unknown and merged again if a row sets any), and
// parses the rows again if the pair's labels changed meanwhile. Writes by other transactions are handled as for a
// lookup inside the chunk's transaction, which also reads them as of one statement before the writes: by the write-time
// checks below.
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
import type { AssociationTypeRow, Database, PropertyValues } from '../db/schema.js'
import type { Executor } from '../db/executor.js'
import * as rowsRepo from '../repositories/import-rows.repository.js'
import { allocateRecordIds, findAssociationTypesByIds, rollbackToSavepoint, savepoint } from '../repositories/records.repository.js'
import { normaliseUniqueValue } from '../lib/unique-values.js'
import type { StandardError } from '../lib/batch.js'
import type { AssociationSpec } from '../schemas/associations.schemas.js'
import type { ObjectType, ObjectTypesService } from './object-types.service.js'
import type { AssociationTypesService, PairTypes } from './association-types.service.js'
import type { AssociationsBatchService, PairInput } from './associations-batch.service.js'
import type { ChunkAhead, ChunkOutcome, ImportApplier, ImportCounters, ImportPlan, ImportRow, ImportRowError } from './import-types.js'
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
  /** Non-empty property cells of its own records (the PROPERTY_VALUES_EMITTED counter). */
  propertyValues: number
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

export function createImportApplier (db: Kysely<Database>, deps: ImportApplierDeps): ImportApplier {
  // Per link of a plan (the runner keeps one plan object per import run): did the last chunk leave most pairs unchanged?
  const mostlyUnchanged = new WeakMap<CompiledLink, boolean>()

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

    async lookAhead (db: Executor, accountId: number, plan: ImportPlan, fileIndex: number, rows: ImportRow[]): Promise<LookAhead> {
      const { file, typeOf } = fileOf(plan, fileIndex)
      const labels = (await readPairs(db, accountId, file, typeOf)).map(labelIndex)
      const parsed = rows.map((row) => parseRow(file, row, labels, typeOf))
      return { rows, labels, parsed, found: await lookUp(db, accountId, file, parsed) }
    },

    async applyChunk (trx: Executor, accountId: number, plan: ImportPlan, fileIndex: number, rows: ImportRow[], ahead?: ChunkAhead): Promise<ChunkOutcome> {
      const { file, typeOf } = fileOf(plan, fileIndex)
      // The pairs' types as they are now (labels may have changed since the plan or a look-ahead): one read per pair.
      const pairs = await readPairs(trx, accountId, file, typeOf)
      const labels = pairs.map(labelIndex)
      const read = ahead?.read as LookAhead | undefined
      let parsed: ParsedRow[]
      let found: Found
      if (read !== undefined && read.rows === rows && sameLabels(read.labels, labels)) {
        // Read before the previous chunks committed: what they wrote corrects it (chunkWritten).
        parsed = read.parsed
        found = read.found
        for (const written of ahead?.writtenSince ?? []) correct(found, written as ChunkWritten)
      } else {
        parsed = rows.map((row) => parseRow(file, row, labels, typeOf))
        found = await lookUp(trx, accountId, file, parsed)
      }
      const { owners, stored } = found

      const writeFailures = new Map<ParsedRow, ImportRowError[]>()
      for (let round = 1; ; round++) {
        if (round === 1) await savepoint(trx, SAVEPOINT)
        else await rollbackToSavepoint(trx, SAVEPOINT)
        const live = parsed.filter((p) => p.errors.length === 0 && !writeFailures.has(p))
        const { records, targets, failed } = assign(file, live, owners, typeOf)
        const applied = live.filter((p) => !failed.has(p))
        const fresh = records.filter((r) => r.existing === undefined)
        const drawn = await allocateRecordIds(trx, fresh.length)
        fresh.forEach((r, i) => { r.id = drawn[i] })
        const idOf = (r: RecordPlan): number => r.existing ?? r.id as number

        const failNow = new Map<ParsedRow, ImportRowError[]>()
        const fail = (p: ParsedRow, error: ImportRowError): void => { failNow.set(p, [...(failNow.get(p) ?? []), error]) }
        const written = await writeRecords(trx, accountId, records, owners, stored, idOf)
        for (const r of written.archived) for (const p of r.rows) fail(p, rowError(p.row, 'INVALID_OBJECT_ID', `Record ${idOf(r)} (${r.type}) was archived during the import`, { objectTypeId: r.type }))
        for (const { plan: r, property, value, rows: lost } of written.lostKeys) {
          for (const p of lost) fail(p, rowError(p.row, 'DUPLICATE_UNIQUE_PROPERTY_VALUE', `${property} '${value}' was taken by a concurrent write; import the row again`, { objectTypeId: r.type, invalidValue: value }))
        }
        if (failNow.size > 0) { for (const [p, e] of failNow) writeFailures.set(p, e); continue }

        const counters: ImportCounters = {
          ROWS_APPLIED: applied.length,
          CREATED_OBJECTS: fresh.length,
          UPDATED_OBJECTS: records.length - fresh.length,
          UNIQUE_OBJECTS_WRITTEN: records.length,
          PROPERTY_VALUES_EMITTED: applied.reduce((n, p) => n + p.propertyValues, 0),
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

        const errors: ImportRowError[] = []
        for (const p of parsed) {
          if (p.errors.length > 0) errors.push(...p.errors)
          const assigned = failed.get(p)
          if (assigned !== undefined) errors.push(...assigned)
          const atWrite = writeFailures.get(p)
          if (atWrite !== undefined) errors.push(...atWrite)
        }
        counters.ERRORS = errors.length
        return { counters, errors, written: written.effects }
      }
    }
  }

  /** Each link's pair types as they are now: one read per object pair. */
  async function readPairs (db: Executor, accountId: number, file: CompiledFile, typeOf: (slot: CompiledSlot) => ObjectType): Promise<PairTypes[]> {
    const byTypes = new Map<string, PairTypes>()
    const pairs: PairTypes[] = []
    for (const link of file.links) {
      const from = typeOf(file.slots[link.from] as CompiledSlot)
      const to = typeOf(file.slots[link.to] as CompiledSlot)
      const id = `${from.typeId}|${to.typeId}`
      const pair = byTypes.get(id) ?? await associationTypes.pairTypes(db, accountId, from, to)
      byTypes.set(id, pair)
      pairs.push(pair)
    }
    return pairs
  }

  /** Writes the chunk's records and identifiers: key deletes, inserts, property merges, key inserts (one statement each). */
  async function writeRecords (trx: Executor, accountId: number, records: RecordPlan[], owners: KeyMap<number>, stored: Map<string, PropertyValues>, idOf: (r: RecordPlan) => number) {
    const newKeys: Array<{ plan: RecordPlan, property: string, value: string, rows: ParsedRow[] }> = []
    for (const r of records) {
      for (const [property, k] of r.keys) if (owners.get(r.type, property, k.value) !== idOf(r)) newKeys.push({ plan: r, property, value: k.value, rows: k.rows })
    }
    const existing = records.filter((r) => r.existing !== undefined)
    await rowsRepo.deleteKeys(trx, accountId, newKeys.filter((k) => k.plan.existing !== undefined).map((k) => ({ objectType: k.plan.type, id: idOf(k.plan), property: k.property })))
    await rowsRepo.insertRecords(trx, accountId, records.filter((r) => r.existing === undefined).map((r) => ({ objectType: r.type, id: idOf(r), properties: r.props })))
    // Only records whose stored values differ from the rows' are merged (found again by a re-import, most are not).
    const changed = existing.filter((r) => !holdsAll(stored.get(`${r.type}|${idOf(r)}`), r.props))
    const updated = new Set((await rowsRepo.mergeProperties(trx, accountId, changed.map((r) => ({ objectType: r.type, id: idOf(r), properties: r.props })))).map((u) => `${u.objectType}|${u.id}`))
    const keysStored = new KeyMap<true>()
    for (const k of await rowsRepo.insertKeys(trx, accountId, newKeys.map((k) => ({ objectType: k.plan.type, property: k.property, value: k.value, recordId: idOf(k.plan) })))) keysStored.set(k.objectType, k.property, k.value, true)
    const created = records.filter((r) => r.existing === undefined)
    return {
      // Records found live by the lookup, merged, or created here: the association writer need not read them again.
      live: new Set([...stored.keys(), ...updated, ...created.map((r) => `${r.type}|${idOf(r)}`)]),
      archived: changed.filter((r) => !updated.has(`${r.type}|${idOf(r)}`)),
      lostKeys: newKeys.filter((k) => keysStored.get(k.plan.type, k.property, k.value) === undefined),
      effects: {
        keysAdded: newKeys.filter((k) => keysStored.get(k.plan.type, k.property, k.value) !== undefined).map((k) => ({ objectType: k.plan.type, property: k.property, value: k.value, recordId: idOf(k.plan) })),
        keysRemoved: newKeys.filter((k) => k.plan.existing !== undefined).map((k) => ({ objectType: k.plan.type, id: idOf(k.plan), property: k.property })),
        created: created.map((r) => ({ objectType: r.type, id: idOf(r) })),
        merged: changed.map((r) => ({ objectType: r.type, id: idOf(r) }))
      } satisfies ChunkWritten
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
    // Unchanged pairs first only while they are most of the link's pairs: when the chunk before changed most (a first
    // import, labels added), that read would find few and the locked path reads the pairs' types again anyway.
    const unchangedFirst = mostlyUnchanged.get(link) ?? true
    const { done, errors } = unchangedFirst
      ? await associationsBatch.writeMostlyUnchangedInTransaction(trx, accountId, pair, pairInputs, { knownLive: live })
      : await associationsBatch.writeInTransaction(trx, accountId, pair, pairInputs, 'add')
    if (done.length > 0) mostlyUnchanged.set(link, 2 * done.filter((d) => d.added.length === 0).length >= done.length)
    // The writer reports what each input added: new pairs carry the unlabeled type.
    const created = done.filter((d) => d.added.includes(pair.unlabeled.type_id)).length
    const labelsAdded = done.reduce((n, d) => n + d.added.filter((t) => pair.forward.get(t)?.role === 'label').length, 0)
    const failures = errors.map((error) => ({ error, rows: inputs.get(`${error.context.fromObjectId?.[0] ?? ''}|${error.context.toObjectId?.[0] ?? ''}`)?.rows ?? [] }))
    return { created, labelsAdded, failures }
  }
}

/** A file of the plan and its slots' object types. */
function fileOf (plan: ImportPlan, fileIndex: number): { file: CompiledFile, typeOf: (slot: CompiledSlot) => ObjectType } {
  const compiled = plan.compiled as CompiledPlan
  const file = compiled.files[fileIndex]
  if (file === undefined) throw new Error(`the plan has no file ${fileIndex}`)
  return { file, typeOf: (slot) => compiled.types[slot.typeId] as ObjectType }
}

/** What a chunk's identifier lookup found: the owner of each key (record IDs under RECORD_ID), stored values by `type|id`. */
interface Found {
  owners: KeyMap<number>
  /** The found records' stored values of the mapped properties: a record no row changes is not merged. */
  stored: Map<string, PropertyValues>
}

/** A chunk parsed and looked up outside its transaction, ahead of time (ImportApplier.lookAhead). */
interface LookAhead { rows: ImportRow[], labels: LabelIndex[], parsed: ParsedRow[], found: Found }

/** What a committed chunk wrote that a lookup read before its commit does not show (ChunkOutcome.written). */
interface ChunkWritten {
  keysAdded: Array<rowsRepo.TypedKey & { recordId: number }>
  /** Identifiers of existing records replaced by new values: the old value's key is gone. */
  keysRemoved: Array<rowsRepo.TypedRef & { property: string }>
  created: rowsRepo.TypedRef[]
  /** Records whose stored values the chunk changed. */
  merged: rowsRepo.TypedRef[]
}

/** A lookup brought up to date with a chunk committed after it was read. Applying one twice changes nothing more. */
function correct (found: Found, written: ChunkWritten): void {
  const { owners, stored } = found
  const removed = new Map<string, Set<number>>()
  for (const k of written.keysRemoved) {
    const key = `${k.objectType}\u0000${k.property}`
    removed.set(key, (removed.get(key) ?? new Set()).add(k.id))
  }
  for (const [key, ids] of removed) {
    const [type, property] = key.split('\u0000') as [string, string]
    for (const [value, owner] of owners.values(type, property)) if (ids.has(owner)) owners.delete(type, property, value)
  }
  for (const k of written.keysAdded) owners.set(k.objectType, k.property, k.value, k.recordId)
  for (const r of written.created) owners.set(r.objectType, RECORD_ID, String(r.id), r.id)
  // Their stored values are unknown now: merged again if a row sets any (the merge compares in SQL).
  for (const r of [...written.created, ...written.merged]) stored.delete(`${r.objectType}|${r.id}`)
}

/** The chunk's identifiers, own and referenced, looked up in one statement. */
async function lookUp (db: Executor, accountId: number, file: CompiledFile, parsed: ParsedRow[]): Promise<Found> {
  const keys: rowsRepo.TypedKey[] = []
  const keySeen = new KeyMap<true>()
  const ids = new Map<string, rowsRepo.TypedRef>()
  for (const p of parsed) {
    if (p.errors.length > 0) continue
    for (let i = 0; i < p.slots.length; i++) {
      const cells = p.slots[i]
      if (cells === undefined) continue
      const type = (file.slots[i] as CompiledSlot).typeId
      if (cells.id !== undefined) ids.set(`${type}|${cells.id}`, { objectType: type, id: cells.id })
      for (const k of cells.keys) {
        if (keySeen.get(type, k.property, k.value) !== undefined) continue
        keySeen.set(type, k.property, k.value, true)
        keys.push({ objectType: type, property: k.property, value: k.value })
      }
    }
  }
  const found: Found = { owners: new KeyMap<number>(), stored: new Map() }
  const names = [...new Set(file.slots.flatMap((slot) => slot.kind === 'own' ? slot.properties.map((p) => p.name) : []))]
  for (const o of await rowsRepo.findIdentifiers(db, accountId, keys, [...ids.values()], RECORD_ID, names)) {
    found.owners.set(o.objectType, o.property, o.value, o.recordId)
    found.stored.set(`${o.objectType}|${o.recordId}`, o.stored)
  }
  return found
}

/** Whether the stored values already hold every value a row sets. */
function holdsAll (stored: PropertyValues | undefined, props: PropertyValues): boolean {
  if (stored === undefined) return false
  for (const name in props) if (stored[name] !== props[name]) return false
  return true
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

/** A pair's label texts (lower case) -> the from -> to spec they add, for label cells written either way. */
interface LabelIndex { from: ObjectType, to: ObjectType, forward: Map<string, AssociationSpec>, reverse: Map<string, AssociationSpec> }

/** Whether two reads of a pair's labels parse every label cell alike. */
function sameLabels (a: LabelIndex[], b: LabelIndex[]): boolean {
  const same = (x: Map<string, AssociationSpec>, y: Map<string, AssociationSpec>): boolean => {
    if (x.size !== y.size) return false
    for (const [text, spec] of x) {
      const other = y.get(text)
      if (other?.associationTypeId !== spec.associationTypeId || other.associationCategory !== spec.associationCategory) return false
    }
    return true
  }
  return a.length === b.length && a.every((x, i) => {
    const y = b[i] as LabelIndex
    return x.from.name === y.from.name && x.to.name === y.to.name && same(x.forward, y.forward) && same(x.reverse, y.reverse)
  })
}

function labelIndex (pair: PairTypes): LabelIndex {
  const index = (rows: Map<number, AssociationTypeRow>, reverse: boolean): Map<string, AssociationSpec> => {
    const byText = new Map<string, AssociationSpec>()
    for (const row of rows.values()) {
      if (row.role === 'unlabeled' || row.label === null) continue
      const forward = reverse ? pair.forward.get(row.inverse_type_id) : row
      const text = row.label.toLowerCase()
      // One spec object per label, shared by every row that names it (read only).
      if (forward !== undefined && !byText.has(text)) byText.set(text, { associationCategory: forward.category, associationTypeId: forward.type_id })
    }
    return byText
  }
  return { from: pair.from, to: pair.to, forward: index(pair.forward, false), reverse: index(pair.backward, true) }
}

const cellOf = (row: ImportRow, column: number): string => (row.values[column] ?? '').trim()

function cellError (parsed: ParsedRow, errorType: string, message: string, column: number, invalidValue: string, objectTypeId?: string): void {
  parsed.errors.push(rowError(parsed.row, errorType, message, { column, invalidValue, ...(objectTypeId !== undefined ? { objectTypeId } : {}) }))
}

/** A unique identifier cell, normalised; undefined (and a row error) when it is not a usable value. */
function identifierOf (parsed: ParsedRow, typeId: string, column: number, property: string): string | undefined {
  const raw = cellOf(parsed.row, column)
  const value = normaliseUniqueValue(property, raw)
  if (property === 'email' && !EMAIL.test(value)) cellError(parsed, 'INVALID_EMAIL', `'${raw}' is not a valid email address`, column, raw, typeId)
  else if (property === 'domain' && !DOMAIN.test(value)) cellError(parsed, 'INVALID_DOMAIN', `'${raw}' is not a valid domain`, column, raw, typeId)
  else if (value === '' || value.includes('\u0000')) cellError(parsed, 'INVALID_ALTERNATE_ID', `'${raw}' is not a usable ${property}`, column, raw, typeId)
  else return value
  return undefined
}

/** Cell validation of one row, before any database work: width, record IDs, identifiers, labels. */
function parseRow (file: CompiledFile, row: ImportRow, labels: LabelIndex[], typeOf: (s: CompiledSlot) => ObjectType): ParsedRow {
  const parsed: ParsedRow = { row, slots: [], labels: [], errors: [], propertyValues: 0 }
  if (row.values.length !== file.columnCount) {
    parsed.errors.push(rowError(row, 'INCORRECT_NUMBER_OF_COLUMNS', `The row has ${row.values.length} columns; the file's mapping has ${file.columnCount}`))
    return parsed
  }
  for (const slot of file.slots) {
    const cells: SlotCells = { keys: [], props: {} }
    let values = 0
    if (slot.idColumn !== undefined) {
      const raw = cellOf(row, slot.idColumn)
      if (raw !== '') {
        try { cells.id = parseRecordId(raw) } catch {
          cellError(parsed, slot.kind === 'own' ? 'INVALID_RECORD_ID' : 'INVALID_OBJECT_ID', `'${raw}' is not a record ID (a positive integer)`, slot.idColumn, raw, slot.typeId)
        }
      }
    }
    for (const p of slot.properties) {
      const value = cellOf(row, p.column)
      if (value === '') continue
      if (value.includes('\u0000')) { cellError(parsed, 'INVALID_PROPERTY_VALUE_FORMAT', `The value of ${p.name} contains a NUL character`, p.column, value, slot.typeId); continue }
      cells.props[p.name] = value
      values++
    }
    for (const k of slot.keyColumns) {
      if (cellOf(row, k.column) === '') continue
      const value = identifierOf(parsed, slot.typeId, k.column, k.property)
      if (value !== undefined) cells.keys.push({ property: k.property, value, column: k.column })
    }
    const empty = cells.id === undefined && cells.keys.length === 0 && values === 0
    parsed.slots.push(empty ? undefined : cells)
    if (!empty && slot.kind === 'own') parsed.propertyValues += values
  }
  for (let index = 0; index < file.links.length; index++) {
    const link = file.links[index] as CompiledLink
    const specs: AssociationSpec[] = []
    for (const { column, reverse } of link.labels) {
      const text = cellOf(row, column)
      if (text === '') continue
      const pair = labels[index] as LabelIndex
      const byText = pair[reverse ? 'reverse' : 'forward']
      let named = false
      for (const part of text.split(';')) {
        const name = part.trim()
        if (name === '') continue
        named = true
        const spec = byText.get(name.toLowerCase())
        if (spec === undefined) {
          const [a, b] = reverse ? [pair.to, pair.from] : [pair.from, pair.to]
          cellError(parsed, 'ASSOCIATION_LABEL_NOT_FOUND', `Association label '${name}' does not exist from ${a.name} to ${b.name}`, column, name, a.typeId)
        } else if (!specs.some((s) => s.associationTypeId === spec.associationTypeId)) {
          specs.push(spec)
        }
      }
      if (named && (parsed.slots[link.from] === undefined || parsed.slots[link.to] === undefined)) {
        const missing = typeOf(file.slots[parsed.slots[link.from] === undefined ? link.from : link.to] as CompiledSlot)
        cellError(parsed, 'FAILED_TO_FIND_RECORD_FOR_ASSOCIATIONS', `The row has labels but no ${missing.singular.toLowerCase()} to associate`, column, text, missing.typeId)
      }
    }
    parsed.labels.push(specs)
  }
  return parsed
}

/**
 * Decides, for the live rows in order, which record each own slot writes (existing, or new and shared by the rows
 * naming the same identifier) and which record each ref slot points to. Rows that break an operation or identifier
 * rule are returned in `failed` and claim nothing, so later rows decide as if they were absent.
 */
function assign (file: CompiledFile, live: ParsedRow[], owners: KeyMap<number>, typeOf: (s: CompiledSlot) => ObjectType) {
  // A target is a record ID (an existing record), -(n + 1) for the n-th new record of the chunk, or 0 for a new record
  // not numbered yet (numbered once the row is kept, so failed rows leave no gaps); a slot's type is fixed, so a number
  // names the record.
  const existing = new Map<string, Map<number, RecordPlan>>()
  const fresh: RecordPlan[] = []
  const claims = new KeyMap<number>()
  const targets = new Map<ParsedRow, Array<RecordPlan | number | undefined>>()
  const failed = new Map<ParsedRow, ImportRowError[]>()
  const findKey = (type: string, k: { property: string, value: string }): number | undefined => owners.get(type, k.property, k.value) ?? claims.get(type, k.property, k.value)
  for (const p of live) {
    let errors: ImportRowError[] | undefined
    const chosen: Array<number | undefined> = []
    const err = (type: string, message: string, slot: CompiledSlot, column?: number, invalidValue?: string): void => {
      (errors ??= []).push(rowError(p.row, type, message, { objectTypeId: slot.typeId, ...(column !== undefined ? { column } : {}), ...(invalidValue !== undefined ? { invalidValue } : {}) }))
    }
    for (let i = 0; i < file.slots.length; i++) {
      const slot = file.slots[i] as CompiledSlot
      const cells = p.slots[i]
      if (cells === undefined) { chosen.push(undefined); continue }
      let target: number | undefined
      if (cells.id !== undefined) {
        target = owners.get(slot.typeId, RECORD_ID, String(cells.id))
        if (target === undefined) {
          err(slot.kind === 'own' ? 'INVALID_RECORD_ID' : 'UNKNOWN_ASSOCIATION_RECORD_ID', `No ${typeOf(slot).singular.toLowerCase()} with record ID ${cells.id} exists`, slot, slot.idColumn, String(cells.id))
          chosen.push(undefined)
          continue
        }
      } else {
        for (const k of cells.keys) { target = findKey(slot.typeId, k); if (target !== undefined) break }
      }
      if (slot.kind === 'ref') {
        if (target === undefined) {
          const k = cells.keys[0]
          err('ASSOCIATION_RECORD_NOT_FOUND', `No ${typeOf(slot).singular.toLowerCase()} with ${k?.property ?? 'record ID'} ${k?.value ?? ''} exists`, slot, k?.column, k?.value)
        }
        chosen.push(target)
        continue
      }
      if (slot.operation !== 'UPSERT') {
        const type = typeOf(slot)
        const what = type.singular.toLowerCase()
        if (slot.operation === 'CREATE' && target !== undefined) err('CREATE_ONLY_IMPORT', `The ${what} already exists (${target > 0 ? `record ID ${target}` : 'created by an earlier row'}); this import only creates ${type.name}`, slot)
        if (slot.operation === 'UPDATE' && target === undefined) err('UPDATE_ONLY_IMPORT', `No existing ${what} matches the row; this import only updates ${type.name}`, slot)
      }
      // A row naming no known record has no owned key at all; one naming a record must not name another's key.
      if (target !== undefined) {
        for (const k of cells.keys) {
          const owner = findKey(slot.typeId, k)
          if (owner !== undefined && owner !== target) err('DUPLICATE_UNIQUE_PROPERTY_VALUE', `${k.property} '${k.value}' belongs to another ${typeOf(slot).singular.toLowerCase()}`, slot, k.column, k.value)
        }
      }
      chosen.push(target ?? 0)
    }
    if (errors !== undefined) { failed.set(p, errors); continue }
    const row: Array<RecordPlan | number | undefined> = []
    for (let i = 0; i < file.slots.length; i++) {
      const slot = file.slots[i] as CompiledSlot
      const target = chosen[i]
      const cells = p.slots[i]
      if (target === undefined || cells === undefined) { row.push(undefined); continue }
      let plan: RecordPlan | undefined
      if (target === 0) {
        // A new record (own slot, no record found): drawn now.
        plan = { type: slot.typeId, props: {}, keys: new Map(), rows: [] }
        fresh.push(plan)
      } else if (target < 0) {
        plan = fresh[-target - 1]
      } else {
        let byId = existing.get(slot.typeId)
        if (byId === undefined) existing.set(slot.typeId, byId = new Map())
        plan = byId.get(target)
        if (plan === undefined) {
          if (slot.kind === 'ref') { row.push(target); continue }
          plan = { type: slot.typeId, existing: target, props: {}, keys: new Map(), rows: [] }
          byId.set(target, plan)
        }
      }
      if (plan === undefined) throw new Error(`no planned record for target ${target}`)
      if (slot.kind === 'ref') { row.push(plan); continue }
      const name = target === 0 ? -fresh.length : target
      Object.assign(plan.props, cells.props)
      for (const k of cells.keys) {
        const prev = plan.keys.get(k.property)
        if (prev !== undefined && prev.value !== k.value) claims.delete(slot.typeId, k.property, prev.value) // a later value replaces it
        const entry = prev?.value === k.value ? prev : { value: k.value, rows: [] }
        entry.rows.push(p)
        plan.keys.set(k.property, entry)
        claims.set(slot.typeId, k.property, k.value, name)
      }
      plan.rows.push(p)
      row.push(plan)
    }
    targets.set(p, row)
  }
  const records: RecordPlan[] = [...fresh]
  for (const byId of existing.values()) records.push(...byId.values())
  return { records, targets, failed }
}

/** Values by (object type, property, value), without building a joined key string for every lookup. */
class KeyMap<V> {
  private readonly types = new Map<string, Map<string, Map<string, V>>>()

  get (type: string, property: string, value: string): V | undefined {
    return this.types.get(type)?.get(property)?.get(value)
  }

  set (type: string, property: string, value: string, v: V): void {
    let byProperty = this.types.get(type)
    if (byProperty === undefined) this.types.set(type, byProperty = new Map())
    let byValue = byProperty.get(property)
    if (byValue === undefined) byProperty.set(property, byValue = new Map())
    byValue.set(value, v)
  }

  delete (type: string, property: string, value: string): void {
    this.types.get(type)?.get(property)?.delete(value)
  }

  /** The entries of one type and property, by value. */
  values (type: string, property: string): ReadonlyMap<string, V> {
    return this.types.get(type)?.get(property) ?? new Map()
  }
}
