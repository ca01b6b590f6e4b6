// SQL for association types (labels) and their configured limits.
import { sql } from 'kysely'
import type { Executor } from '../db/executor.js'
import type { AssociationTypeRow, NewAssociationTypeRow } from '../db/schema.js'

export async function insertAssociationTypes (db: Executor, rows: NewAssociationTypeRow[]): Promise<AssociationTypeRow[]> {
  if (rows.length === 0) return []
  // DO NOTHING: two first uses of a custom pair may race to create its unlabeled types; one wins, both go on. The rows
  // go in (from_type, to_type) order, so that racers from opposite directions wait for each other instead of each
  // holding one direction and waiting for the other (a deadlock, answered 500).
  const sorted = [...rows].sort((a, b) => a.from_type < b.from_type ? -1 : a.from_type > b.from_type ? 1 : a.to_type < b.to_type ? -1 : a.to_type > b.to_type ? 1 : a.type_id - b.type_id)
  return await db.insertInto('association_types').values(sorted).onConflict((oc) => oc.doNothing()).returningAll().execute()
}

/** Every type between two object types, in both directions. */
export async function findPairTypes (db: Executor, accountId: number, a: string, b: string): Promise<AssociationTypeRow[]> {
  return await db.selectFrom('association_types').selectAll()
    .where('account_id', '=', accountId)
    .where((eb) => eb.or([
      eb.and([eb('from_type', '=', a), eb('to_type', '=', b)]),
      eb.and([eb('from_type', '=', b), eb('to_type', '=', a)])
    ]))
    .orderBy('type_id')
    .execute()
}

/** Locks the pair's unlabeled type rows: serialises label creation and deletion for one object pair. */
export async function lockPairTypes (db: Executor, accountId: number, a: string, b: string): Promise<void> {
  await db.selectFrom('association_types').select('type_id')
    .where('account_id', '=', accountId)
    .where('role', '=', 'unlabeled')
    .where((eb) => eb.or([
      eb.and([eb('from_type', '=', a), eb('to_type', '=', b)]),
      eb.and([eb('from_type', '=', b), eb('to_type', '=', a)])
    ]))
    .orderBy('from_type').orderBy('to_type')
    .forUpdate()
    .execute()
}

export async function nextAssociationTypeIds (db: Executor, count: number): Promise<number[]> {
  const result = await sql<{ id: number }>`select nextval('association_type_id_seq')::int as id from generate_series(1, ${count})`.execute(db)
  return result.rows.map((r) => Number(r.id))
}

export async function updateTypeLabel (db: Executor, accountId: number, typeId: number, label: string): Promise<void> {
  await db.updateTable('association_types').set({ label }).where('account_id', '=', accountId).where('type_id', '=', typeId).execute()
}

export async function deleteAssociationTypes (db: Executor, accountId: number, typeIds: number[]): Promise<void> {
  if (typeIds.length === 0) return
  await db.deleteFrom('association_types').where('account_id', '=', accountId).where('type_id', 'in', typeIds).execute()
}

export async function setMaxToObjectIds (db: Executor, accountId: number, typeId: number, max: number | null): Promise<AssociationTypeRow | undefined> {
  return await db.updateTable('association_types').set({ max_to_object_ids: max })
    .where('account_id', '=', accountId).where('type_id', '=', typeId)
    .returningAll().executeTakeFirst()
}

export async function listConfiguredLimits (db: Executor, accountId: number, pair?: { from: string, to: string }): Promise<AssociationTypeRow[]> {
  let q = db.selectFrom('association_types').selectAll()
    .where('account_id', '=', accountId).where('max_to_object_ids', 'is not', null)
  if (pair !== undefined) q = q.where('from_type', '=', pair.from).where('to_type', '=', pair.to)
  return await q.orderBy('from_type').orderBy('to_type').orderBy('type_id').execute()
}

/**
 * Key-share locks on the types a write is about to use; returns the ids that still exist. A label deletion takes
 * FOR UPDATE on the same rows, so it waits for such writers, and writers after it find the label gone.
 */
export async function lockTypesInUse (db: Executor, accountId: number, typeIds: number[]): Promise<number[]> {
  if (typeIds.length === 0) return []
  const rows = await db.selectFrom('association_types').select('type_id')
    .where('account_id', '=', accountId).where('type_id', 'in', typeIds)
    .orderBy('type_id').forKeyShare().execute()
  return rows.map((r) => r.type_id)
}

/** Locks label types for deletion (see lockTypesInUse). */
export async function lockTypesForDelete (db: Executor, accountId: number, typeIds: number[]): Promise<void> {
  await db.selectFrom('association_types').select('type_id')
    .where('account_id', '=', accountId).where('type_id', 'in', typeIds)
    .orderBy('type_id').forUpdate().execute()
}
