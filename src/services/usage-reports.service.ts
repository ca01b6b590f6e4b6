// High-usage reports (API.md R1). HubSpot emails the report; we send no email, so the report is computed in the
// request (one set-based statement) and read back as JSON pages or as a streamed CSV file.
import type { Kysely } from 'kysely'
import { stringify } from 'csv-stringify'
import type { Database } from '../db/schema.js'
import { inTransaction } from '../db/transaction.js'
import * as repo from '../repositories/usage-reports.repository.js'
import { decodeCursor, encodeCursor } from '../lib/paging.js'
import { ObjectNotFoundError, withDetails } from '../errors.js'

/** A record is "high usage" at this share of a limit (HubSpot's rule). */
const HIGH_USAGE_PERCENT = 80
const CSV_PAGE = 5000

export interface UsageReportsConfig { MAX_ASSOCIATIONS_PER_TYPE: number }

export interface UsageReportEntry {
  objectTypeId: string
  objectId: number
  toObjectTypeId: string
  limitKind: 'RECORD_CAP' | 'LABEL_LIMIT'
  associationTypeId?: number
  label?: string
  count: number
  limit: number
  percentOfLimit: number
}

const CSV_COLUMNS = ['objectTypeId', 'objectId', 'toObjectTypeId', 'limitKind', 'associationTypeId', 'label', 'count', 'limit', 'percentOfLimit'] as const

function toEntry (row: repo.UsageReportRow): UsageReportEntry {
  return {
    objectTypeId: row.object_type,
    objectId: row.object_id,
    toObjectTypeId: row.to_object_type,
    limitKind: row.type_id === null ? 'RECORD_CAP' : 'LABEL_LIMIT',
    ...(row.type_id !== null ? { associationTypeId: row.type_id } : {}),
    ...(row.label !== null ? { label: row.label } : {}),
    count: row.count,
    limit: row.max,
    percentOfLimit: Math.floor(row.count * 100 / row.max)
  }
}

export function createUsageReportsService (db: Kysely<Database>, config: UsageReportsConfig) {
  async function report (accountId: number, reportId: number): Promise<repo.UsageReport> {
    const found = await repo.findReport(db, accountId, reportId)
    if (found === undefined) {
      throw withDetails(new ObjectNotFoundError(`No high-usage report with ID ${reportId} exists`), { context: { reportId: [String(reportId)] } })
    }
    return found
  }

  return {
    /** R1: computes the report for `userId` and answers as HubSpot does, plus the report's id to read it. */
    async request (accountId: number, userId: number) {
      const created = await inTransaction(db, async (trx) => {
        const row = await repo.insertReport(trx, accountId, userId, HIGH_USAGE_PERCENT)
        const count = await repo.fillReport(trx, accountId, row.id, HIGH_USAGE_PERCENT, config.MAX_ASSOCIATIONS_PER_TYPE)
        return { ...row, row_count: count }
      })
      // No user directory here, so no address to send to: userEmail stays empty (README).
      return { userId, userEmail: '', enqueueTime: created.created_at.toISOString(), reportId: String(created.id), rowCount: created.row_count }
    },

    /** One page of a report, in (object type, id, other type, limit) order. */
    async page (accountId: number, reportId: number, after: string | undefined, limit: number) {
      const found = await report(accountId, reportId)
      const from = after === undefined ? 0 : decodeCursor(after, ['n']).n
      const rows = await repo.reportRows(db, accountId, reportId, from, limit + 1)
      const page = rows.slice(0, limit)
      const last = page.at(-1)
      return {
        id: String(found.id),
        userId: found.user_id,
        createdAt: found.created_at.toISOString(),
        thresholdPercent: found.threshold_percent,
        total: found.row_count,
        results: page.map(toEntry),
        ...(rows.length > limit && last !== undefined ? { paging: { next: { after: encodeCursor({ n: last.n }) } } } : {})
      }
    },

    /** The whole report as CSV, read page by page so that memory stays flat whatever its size. */
    async csv (accountId: number, reportId: number): Promise<NodeJS.ReadableStream> {
      await report(accountId, reportId)
      const out = stringify({ header: true, columns: [...CSV_COLUMNS] })
      const pump = async (): Promise<void> => {
        for (let after = 0; ;) {
          const rows = await repo.reportRows(db, accountId, reportId, after, CSV_PAGE)
          for (const row of rows) {
            // Respect backpressure: wait for the socket before reading more.
            if (!out.write(toEntry(row))) await new Promise((resolve) => out.once('drain', resolve))
          }
          const last = rows.at(-1)
          if (rows.length < CSV_PAGE || last === undefined) break
          after = last.n
        }
        out.end()
      }
      pump().catch((err: Error) => out.destroy(err))
      return out
    }
  }
}

export type UsageReportsService = ReturnType<typeof createUsageReportsService>
