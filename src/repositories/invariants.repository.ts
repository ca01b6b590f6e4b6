// Whole-database checks of the association invariants (ARCHITECTURE.md): each function is one query returning up to
// `limit` violations, across every account. Used by `npm run check:invariants` after faults and in tests.
import { sql } from 'kysely'
import type { Executor } from '../db/executor.js'

export interface Violation { account_id: number, detail: string }

async function violations (db: Executor, query: ReturnType<typeof sql<Violation>>): Promise<Violation[]> {
  return (await query.execute(db)).rows
}

/** 1. Two-way: every row has its inverse row (the inverse type, the other direction). */
export async function missingInverseRows (db: Executor, limit: number): Promise<Violation[]> {
  return await violations(db, sql<Violation>`
    select a.account_id, format('%s %s -> %s %s type %s has no inverse row (type %s)', a.from_type, a.from_id, a.to_type, a.to_id, a.type_id, t.inverse_type_id) as detail
    from associations a
    join association_types t on t.account_id = a.account_id and t.from_type = a.from_type and t.to_type = a.to_type and t.type_id = a.type_id
    where not exists (
      select 1 from associations b
      where b.account_id = a.account_id and b.from_type = a.to_type and b.from_id = a.to_id
        and b.to_type = a.from_type and b.to_id = a.from_id and b.type_id = t.inverse_type_id)
    order by 1, 2 limit ${limit}`)
}

/** Every row's type is a defined type of its direction. */
export async function undefinedTypeRows (db: Executor, limit: number): Promise<Violation[]> {
  return await violations(db, sql<Violation>`
    select a.account_id, format('%s %s -> %s %s has type %s, not defined for %s -> %s', a.from_type, a.from_id, a.to_type, a.to_id, a.type_id, a.from_type, a.to_type) as detail
    from associations a
    where not exists (select 1 from association_types t where t.account_id = a.account_id and t.from_type = a.from_type and t.to_type = a.to_type and t.type_id = a.type_id)
    order by 1, 2 limit ${limit}`)
}

/** 2. Unlabeled underneath: a labelled or primary row implies the pair's unlabeled row. */
export async function labelsWithoutUnlabeled (db: Executor, limit: number): Promise<Violation[]> {
  return await violations(db, sql<Violation>`
    select a.account_id, format('%s %s -> %s %s has type %s but not the unlabeled type %s', a.from_type, a.from_id, a.to_type, a.to_id, a.type_id, u.type_id) as detail
    from associations a
    join association_types u on u.account_id = a.account_id and u.from_type = a.from_type and u.to_type = a.to_type and u.role = 'unlabeled'
    where a.type_id <> u.type_id and not exists (
      select 1 from associations b
      where b.account_id = a.account_id and b.from_type = a.from_type and b.from_id = a.from_id
        and b.to_type = a.to_type and b.to_id = a.to_id and b.type_id = u.type_id)
    order by 1, 2 limit ${limit}`)
}

/** 3. One primary per record and object type, and only on the primary type's rows. */
export async function primaryViolations (db: Executor, limit: number): Promise<Violation[]> {
  return await violations(db, sql<Violation>`
    (select a.account_id, format('%s %s has %s primary %s records', a.from_type, a.from_id, count(*), a.to_type) as detail
     from associations a where a.is_primary
     group by a.account_id, a.from_type, a.from_id, a.to_type having count(*) > 1
     order by 1, 2 limit ${limit})
    union all
    (select a.account_id, format('%s %s -> %s %s: is_primary on type %s, whose role is %s', a.from_type, a.from_id, a.to_type, a.to_id, a.type_id, coalesce(t.role, 'undefined')) as detail
     from associations a
     left join association_types t on t.account_id = a.account_id and t.from_type = a.from_type and t.to_type = a.to_type and t.type_id = a.type_id
     where a.is_primary and t.role is distinct from 'primary'
     order by 1, 2 limit ${limit})`)
}

/** Counters equal the real counts: per record and other object type, the number of unlabeled rows. */
export async function counterMismatches (db: Executor, limit: number): Promise<Violation[]> {
  return await violations(db, sql<Violation>`
    with real as (
      select a.account_id, a.from_type, a.from_id, a.to_type, count(*)::int as n
      from associations a
      join association_types u on u.account_id = a.account_id and u.from_type = a.from_type and u.to_type = a.to_type
        and u.role = 'unlabeled' and u.type_id = a.type_id
      group by a.account_id, a.from_type, a.from_id, a.to_type)
    select coalesce(r.account_id, c.account_id) as account_id,
      format('%s %s toward %s: counter %s, rows %s', coalesce(r.from_type, c.from_type), coalesce(r.from_id, c.from_id), coalesce(r.to_type, c.to_type), coalesce(c.count, 0), coalesce(r.n, 0)) as detail
    from real r
    full join association_counts c on c.account_id = r.account_id and c.from_type = r.from_type and c.from_id = r.from_id and c.to_type = r.to_type
    where coalesce(r.n, 0) <> coalesce(c.count, 0)
    order by 1, 2 limit ${limit}`)
}

/** 5. The per-record cap: no record holds more than `cap` records of another object type. */
export async function recordsOverCap (db: Executor, cap: number, limit: number): Promise<Violation[]> {
  return await violations(db, sql<Violation>`
    select c.account_id, format('%s %s holds %s %s records; the cap is %s', c.from_type, c.from_id, c.count, c.to_type, ${cap}::int) as detail
    from association_counts c where c.count > ${cap}::int
    order by 1, 2 limit ${limit}`)
}

/** Edges only between live records of their account. */
export async function edgesToMissingRecords (db: Executor, limit: number): Promise<Violation[]> {
  return await violations(db, sql<Violation>`
    select a.account_id, format('%s %s -> %s %s type %s: %s record %s is missing or archived', a.from_type, a.from_id, a.to_type, a.to_id, a.type_id, e.type, e.id) as detail
    from associations a
    cross join lateral (values (a.from_type, a.from_id), (a.to_type, a.to_id)) as e(type, id)
    where not exists (select 1 from records r where r.account_id = a.account_id and r.object_type = e.type and r.id = e.id and r.archived_at is null)
    order by 1, 2 limit ${limit}`)
}
