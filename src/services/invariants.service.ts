// The invariants of ARCHITECTURE.md checked over the whole database (every account): what `npm run check:invariants`
// prints after a crash, an outage or a bulk load. Read-only; each check is one query.
import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.js'
import * as repo from '../repositories/invariants.repository.js'

export interface InvariantCheck { name: string, violations: repo.Violation[] }

export async function checkInvariants (db: Kysely<Database>, options: { cap: number, limit?: number }): Promise<InvariantCheck[]> {
  const limit = options.limit ?? 20
  return [
    { name: 'every association row has its inverse row', violations: await repo.missingInverseRows(db, limit) },
    { name: 'every association row has a defined type', violations: await repo.undefinedTypeRows(db, limit) },
    { name: 'labelled and primary rows sit on the unlabeled row', violations: await repo.labelsWithoutUnlabeled(db, limit) },
    { name: 'one primary per record and object type, on the primary type', violations: await repo.primaryViolations(db, limit) },
    { name: 'counters equal the real counts', violations: await repo.counterMismatches(db, limit) },
    { name: `no record over the cap of ${options.cap}`, violations: await repo.recordsOverCap(db, options.cap, limit) },
    { name: 'associations only between live records', violations: await repo.edgesToMissingRecords(db, limit) }
  ]
}
