// SQL for high-usage reports: one statement computes a report's rows from the count rows and the limited label types.
import { sql } from 'kysely'
import type { Executor } from '../db/executor.js'

export interface UsageReport { id: number, user_id: number, threshold_percent: number, row_count: number, created_at: Date }

export interface UsageReportRow {
  n: number
  object_type: string
  object_id: number
  to_object_type: string
  type_id: number | null
  label: string | null
  count: number
  max: number
}

export async function insertReport (db: Executor, accountId: number, userId: number, thresholdPercent: number): Promise<UsageReport> {
  const result = await sql<UsageReport>`
    insert into association_usage_reports (account_id, user_id, threshold_percent) values (${accountId}, ${userId}, ${thresholdPercent})
    returning id, user_id, threshold_percent, row_count, created_at`.execute(db)
  return result.rows[0] as UsageReport
}

/**
 * Fills a report with every record at `thresholdPercent` or more of a limit: the per-record cap toward another object
 * type (the smaller of `recordCap` and the unlabeled type's configured limit), read from the count rows; and each
 * per-label limit, counted on the label-type index. Returns the number of rows.
 */
export async function fillReport (db: Executor, accountId: number, reportId: number, thresholdPercent: number, recordCap: number): Promise<number> {
  const result = await sql<{ n: number }>`
    with caps as (
      select from_type, to_type, least(${recordCap}::int, coalesce(max_to_object_ids, ${recordCap}::int)) as max
      from association_types where account_id = ${accountId} and role = 'unlabeled'),
    near_cap as (
      select c.from_type, c.from_id, c.to_type, null::int as type_id, null::text as label, c.count, caps.max
      from association_counts c join caps on caps.from_type = c.from_type and caps.to_type = c.to_type
      where c.account_id = ${accountId} and c.count * 100 >= caps.max * ${thresholdPercent}::int),
    limited as (
      select from_type, to_type, type_id, label, max_to_object_ids as max
      from association_types where account_id = ${accountId} and role <> 'unlabeled' and max_to_object_ids is not null),
    near_label as (
      select a.from_type, a.from_id, a.to_type, l.type_id, l.label, count(*)::int as count, l.max
      from limited l join associations a on a.account_id = ${accountId} and a.from_type = l.from_type and a.to_type = l.to_type and a.type_id = l.type_id
      group by a.from_type, a.from_id, a.to_type, l.type_id, l.label, l.max
      having count(*) * 100 >= l.max * ${thresholdPercent}::int),
    inserted as (
      insert into association_usage_report_rows (account_id, report_id, n, object_type, object_id, to_object_type, type_id, label, count, max)
      select ${accountId}, ${reportId}, row_number() over (order by from_type, from_id, to_type, type_id nulls first), from_type, from_id, to_type, type_id, label, count, max
      from (select * from near_cap union all select * from near_label) r
      returning 1),
    counted as (
      update association_usage_reports set row_count = (select count(*) from inserted)
      where account_id = ${accountId} and id = ${reportId}
      returning row_count)
    select row_count as n from counted`.execute(db)
  return Number(result.rows[0]?.n ?? 0)
}

export async function findReport (db: Executor, accountId: number, reportId: number): Promise<UsageReport | undefined> {
  const result = await sql<UsageReport>`
    select id, user_id, threshold_percent, row_count, created_at from association_usage_reports
    where account_id = ${accountId} and id = ${reportId}`.execute(db)
  return result.rows[0]
}

/** Rows after position `after`, in report order (a range scan on the primary key). */
export async function reportRows (db: Executor, accountId: number, reportId: number, after: number, limit: number): Promise<UsageReportRow[]> {
  const result = await sql<UsageReportRow>`
    select n, object_type, object_id, to_object_type, type_id, label, count, max from association_usage_report_rows
    where account_id = ${accountId} and report_id = ${reportId} and n > ${after}
    order by n limit ${limit}`.execute(db)
  return result.rows
}
