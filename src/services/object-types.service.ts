// Object types: resolves any accepted path spelling to a type, and manages custom object schemas (2-<n>).
import type { Kysely } from 'kysely'
import { inTransaction } from '../db/transaction.js'
import type { Database, ObjectTypeRow, PropertyDefinition } from '../db/schema.js'
import * as repo from '../repositories/object-types.repository.js'
import { countLiveRecords, purgeArchivedRecords } from '../repositories/records.repository.js'
import { FOREIGN_KEY_VIOLATION, sqlState, UNIQUE_VIOLATION } from '../db/pg-errors.js'
import { SINGULAR_NAMES, STANDARD_OBJECT_TYPES } from '../lib/standard-object-types.js'
import { ConflictError, InvalidInputError, ObjectNotFoundError, UnknownObjectTypeError, withDetails } from '../errors.js'
import type { ObjectSchema, ObjectSchemaInput } from '../schemas/object-types.schemas.js'

/** A resolved object type, as the other services use it. */
export interface ObjectType {
  typeId: string
  name: string
  singular: string
  uniqueProperties: readonly string[]
  isCustom: boolean
}

const STANDARD_BY_SEGMENT = new Map<string, ObjectType>()
for (const t of STANDARD_OBJECT_TYPES) {
  const type: ObjectType = { typeId: t.typeId, name: t.name, singular: t.singular, uniqueProperties: t.uniqueProperties, isCustom: false }
  STANDARD_BY_SEGMENT.set(t.typeId, type)
  STANDARD_BY_SEGMENT.set(t.name, type)
}
for (const [singular, plural] of Object.entries(SINGULAR_NAMES)) {
  const type = STANDARD_BY_SEGMENT.get(plural)
  if (type !== undefined) STANDARD_BY_SEGMENT.set(singular, type)
}

const RESERVED_NAMES = new Set([...STANDARD_BY_SEGMENT.keys()])
const CUSTOM_TYPE_ID = /^2-\d{1,12}$/

export function createObjectTypesService (db: Kysely<Database>) {
  async function resolve (accountId: number, segment: string): Promise<ObjectType> {
    const lower = segment.trim().toLowerCase()
    const standard = STANDARD_BY_SEGMENT.get(lower)
    if (standard !== undefined) return standard
    // Custom types: `2-1001`, the name, or the fully qualified `p{accountId}_{name}`.
    const fq = /^p(\d+)_(.+)$/.exec(lower)
    const idOrName = fq !== null && Number(fq[1]) === accountId ? (fq[2] as string) : lower
    const row = CUSTOM_TYPE_ID.test(idOrName) || /^[a-z][a-z0-9_]*$/.test(idOrName)
      ? await repo.findObjectType(db, accountId, idOrName)
      : undefined
    if (row === undefined) {
      throw withDetails(new UnknownObjectTypeError(segment.slice(0, 100)), { context: { objectType: [segment.slice(0, 100)] } })
    }
    return toObjectType(row)
  }

  /** A custom type of this account, by any spelling; a standard type or an unknown name is a 404 on /crm/v3/schemas. */
  async function findCustom (accountId: number, segment: string): Promise<ObjectTypeRow> {
    const type = await resolve(accountId, segment).catch((err: unknown) => {
      if (err instanceof UnknownObjectTypeError) return undefined
      throw err
    })
    const row = type?.isCustom === true ? await repo.findObjectType(db, accountId, type.typeId) : undefined
    if (row === undefined) {
      throw withDetails(new ObjectNotFoundError(`No custom object schema '${segment.slice(0, 100)}' exists`), {
        context: { objectType: [segment.slice(0, 100)] }
      })
    }
    return row
  }

  return {
    resolve,

    async createSchema (accountId: number, input: ObjectSchemaInput): Promise<ObjectSchema> {
      const name = input.name.toLowerCase()
      if (RESERVED_NAMES.has(name)) throw new InvalidInputError(`The name '${input.name}' is reserved for a standard object type`)
      const properties = normaliseProperties(input)
      const duplicate = (): Error => withDetails(new ConflictError(`An object schema named '${name}' already exists`), { context: { name: [name] } })
      return await inTransaction(db, async (trx) => {
        if (await repo.findObjectType(trx, accountId, name) !== undefined) throw duplicate()
        const n = await repo.nextCustomTypeNumber(trx)
        const [row] = await repo.insertObjectTypes(trx, accountId, [{
          typeId: `2-${n}`,
          name,
          singular: input.labels.singular,
          plural: input.labels.plural,
          uniqueProperties: properties.filter((p) => p.hasUniqueValue).map((p) => p.name),
          properties,
          primaryDisplayProperty: input.primaryDisplayProperty ?? null,
          isCustom: true
        }])
        return toSchema(row as ObjectTypeRow)
      }).catch((err: unknown) => {
        // Two concurrent creates with one name: the unique index decides, and the loser gets the same 409.
        if (sqlState(err) === UNIQUE_VIOLATION) throw duplicate()
        throw err
      })
    },

    async listSchemas (accountId: number): Promise<ObjectSchema[]> {
      return (await repo.listObjectTypes(db, accountId, true)).map(toSchema)
    },

    async getSchema (accountId: number, segment: string): Promise<ObjectSchema> {
      return toSchema(await findCustom(accountId, segment))
    },

    /** Deletes a custom type; refused while it still has records (as HubSpot does). */
    async deleteSchema (accountId: number, segment: string): Promise<void> {
      const row = await findCustom(accountId, segment)
      const stillUsed = (live: number): Error => withDetails(new InvalidInputError(`Object schema ${row.type_id} still has ${live > 0 ? live : 'live'} records; archive them first`), {
        context: { objectTypeId: [row.type_id], ...(live > 0 ? { records: [String(live)] } : {}) }
      })
      await inTransaction(db, async (trx) => {
        // Lock the type first: records being created commit before the count (and are counted), later ones wait and then fail.
        if (await repo.lockObjectType(trx, accountId, row.type_id) === undefined) {
          throw new ObjectNotFoundError(`No custom object schema '${segment.slice(0, 100)}' exists`)
        }
        const live = await countLiveRecords(trx, accountId, row.type_id)
        if (live > 0) throw stillUsed(live)
        await purgeArchivedRecords(trx, accountId, row.type_id)
        await repo.deleteObjectType(trx, accountId, row.type_id)
      }).catch((err: unknown) => {
        if (sqlState(err) === FOREIGN_KEY_VIOLATION) throw stillUsed(0)
        throw err
      })
    }
  }
}

export type ObjectTypesService = ReturnType<typeof createObjectTypesService>

function normaliseProperties (input: ObjectSchemaInput): PropertyDefinition[] {
  const seen = new Set<string>()
  const out: PropertyDefinition[] = []
  for (const p of input.properties ?? []) {
    if (seen.has(p.name)) throw new InvalidInputError(`Property '${p.name}' is defined twice`)
    seen.add(p.name)
    out.push({ name: p.name, label: p.label, type: p.type ?? 'string', fieldType: p.fieldType ?? 'text', hasUniqueValue: p.hasUniqueValue ?? false })
  }
  if (input.primaryDisplayProperty !== undefined && !seen.has(input.primaryDisplayProperty)) {
    throw new InvalidInputError(`primaryDisplayProperty '${input.primaryDisplayProperty}' is not one of the schema's properties`)
  }
  return out
}

function toObjectType (row: ObjectTypeRow): ObjectType {
  return { typeId: row.type_id, name: row.name, singular: row.singular_label, uniqueProperties: row.unique_properties, isCustom: row.is_custom }
}

function toSchema (row: ObjectTypeRow): ObjectSchema {
  return {
    id: row.type_id.slice(2),
    objectTypeId: row.type_id,
    name: row.name,
    fullyQualifiedName: `p${row.account_id}_${row.name}`,
    labels: { singular: row.singular_label, plural: row.plural_label },
    primaryDisplayProperty: row.primary_display_property ?? undefined,
    properties: row.properties,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    archived: false
  }
}
