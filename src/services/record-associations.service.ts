// Associations embedded in v3 record reads (`?associations=companies,deals`, API.md §6.2): one query per requested
// object type, whatever the number of records, so an index page shows "Associated companies" without N+1 queries.
import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.js'
import { edgesForRecords } from '../repositories/associations.repository.js'
import { splitList } from './records.service.js'
import type { ObjectType, ObjectTypesService } from './object-types.service.js'
import type { AssociationTypesService } from './association-types.service.js'
import type { SimplePublicObject } from '../schemas/records.schemas.js'

/** Rows embedded per record and object type; the rest is reachable with the v4 list endpoint. */
export const EMBED_CAP = 500

export function createRecordAssociationsService (db: Kysely<Database>, objectTypes: ObjectTypesService, types: AssociationTypesService) {
  return {
    /**
     * Adds `associations` to each object: `{ companies: { results: [{ id, type }] } }`, keyed by the name as requested.
     * The primary company shows twice (its primary type and its unlabeled type). Unknown object types are ignored, as HubSpot does.
     */
    async embed (accountId: number, typeSegment: string, objects: SimplePublicObject[], requested: string[] | undefined): Promise<SimplePublicObject[]> {
      const segments = [...new Set(splitList(requested) ?? [])]
      if (segments.length === 0 || objects.length === 0) return objects
      const from = await objectTypes.resolve(accountId, typeSegment)
      const ids = objects.map((o) => Number(o.id))
      const embedded = new Map<string, NonNullable<SimplePublicObject['associations']>>()
      for (const segment of segments) {
        let to: ObjectType
        try {
          to = await objectTypes.resolve(accountId, segment)
        } catch {
          continue
        }
        const pair = await types.pairTypes(db, accountId, from, to)
        for (const row of await edgesForRecords(db, accountId, from.typeId, ids, to.typeId, EMBED_CAP)) {
          const key = String(row.from_id)
          const entry = embedded.get(key) ?? {}
          const results = (entry[segment] ??= { results: [] }).results
          results.push({ id: String(row.to_id), type: pair.forward.get(row.type_id)?.name ?? String(row.type_id) })
          embedded.set(key, entry)
        }
      }
      return objects.map((o) => embedded.has(o.id) ? { ...o, associations: embedded.get(o.id) } : o)
    }
  }
}

export type RecordAssociationsService = ReturnType<typeof createRecordAssociationsService>
