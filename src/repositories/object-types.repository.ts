// SQL for object types (standard and custom).
import { sql } from 'kysely'
import type { Executor } from '../db/executor.js'
import type { ObjectTypeRow, PropertyDefinition } from '../db/schema.js'

export interface NewObjectType {
  typeId: string
  name: string
  singular: string
  plural: string
  uniqueProperties: string[]
  properties: PropertyDefinition[]
  primaryDisplayProperty: string | null
  isCustom: boolean
}

export async function insertObjectTypes (db: Executor, accountId: number, types: NewObjectType[]): Promise<ObjectTypeRow[]> {
  return await db.insertInto('object_types').values(types.map((t) => ({
    account_id: accountId,
    type_id: t.typeId,
    name: t.name,
    singular_label: t.singular,
    plural_label: t.plural,
    unique_properties: t.uniqueProperties,
    properties: JSON.stringify(t.properties),
    primary_display_property: t.primaryDisplayProperty,
    is_custom: t.isCustom
  }))).returningAll().execute()
}

export async function nextCustomTypeNumber (db: Executor): Promise<number> {
  const row = await sql<{ n: number }>`select nextval('custom_object_type_seq') as n`.execute(db)
  return Number(row.rows[0]?.n)
}

/** Finds a type by id (`2-1001`) or by name, case-insensitively. */
export async function findObjectType (db: Executor, accountId: number, idOrName: string): Promise<ObjectTypeRow | undefined> {
  return await db.selectFrom('object_types').selectAll()
    .where('account_id', '=', accountId)
    .where((eb) => eb.or([eb('type_id', '=', idOrName), eb('name', '=', idOrName.toLowerCase())]))
    .executeTakeFirst()
}

/** Locks one type row until the transaction ends: record inserts (their foreign key check) wait behind it. */
export async function lockObjectType (db: Executor, accountId: number, typeId: string): Promise<ObjectTypeRow | undefined> {
  return await db.selectFrom('object_types').selectAll()
    .where('account_id', '=', accountId).where('type_id', '=', typeId)
    .forUpdate()
    .executeTakeFirst()
}

export async function listObjectTypes (db: Executor, accountId: number, customOnly: boolean): Promise<ObjectTypeRow[]> {
  let q = db.selectFrom('object_types').selectAll().where('account_id', '=', accountId)
  if (customOnly) q = q.where('is_custom', '=', true)
  return await q.orderBy('created_at').orderBy('type_id').execute()
}

export async function deleteObjectType (db: Executor, accountId: number, typeId: string): Promise<void> {
  await db.deleteFrom('object_types').where('account_id', '=', accountId).where('type_id', '=', typeId).execute()
}
