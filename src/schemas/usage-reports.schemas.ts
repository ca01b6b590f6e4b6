// Wire schemas of the high-usage report (API.md R1, §2.12) and of reading it back (extension).
import { Type, type TSchema } from '@sinclair/typebox'
import { ForwardPagingSchema, ref } from './common.schemas.js'

export const ReportCreationResponseSchema = Type.Object({
  userId: Type.Integer(),
  userEmail: Type.String({ description: 'Empty: this service sends no email; read the report with reportId' }),
  enqueueTime: Type.String({ format: 'date-time' }),
  reportId: Type.String({ description: 'Extension: GET .../high-usage-report/{reportId} returns the report (JSON or CSV)' }),
  rowCount: Type.Integer({ description: 'Extension: how many entries the report holds' })
}, { $id: 'ReportCreationResponse' })

export const UsageReportEntrySchema = Type.Object({
  objectTypeId: Type.String(),
  objectId: Type.Number(),
  toObjectTypeId: Type.String(),
  limitKind: Type.Union([Type.Literal('RECORD_CAP'), Type.Literal('LABEL_LIMIT')], { description: 'RECORD_CAP: the per-record cap toward toObjectTypeId; LABEL_LIMIT: a per-label limit' }),
  associationTypeId: Type.Optional(Type.Integer()),
  label: Type.Optional(Type.String()),
  count: Type.Integer(),
  limit: Type.Integer(),
  percentOfLimit: Type.Integer()
}, { $id: 'HighUsageReportEntry' })

export const UsageReportSchema = Type.Object({
  id: Type.String(),
  userId: Type.Integer(),
  createdAt: Type.String({ format: 'date-time' }),
  thresholdPercent: Type.Integer(),
  total: Type.Integer(),
  results: Type.Array(ref(UsageReportEntrySchema)),
  paging: Type.Optional(ref(ForwardPagingSchema))
}, { $id: 'HighUsageReport' })

export const USAGE_REPORT_SCHEMAS: TSchema[] = [ReportCreationResponseSchema, UsageReportEntrySchema, UsageReportSchema]
