// Kysely table types: one interface per table, with Row / New aliases.
import type { ColumnType, Generated, Insertable, Selectable } from 'kysely'

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>

export interface AccountsTable {
  id: Generated<number>
  name: string
  is_operator: ColumnType<boolean, boolean | undefined, boolean>
  created_at: Timestamp
}

export interface ApiKeysTable {
  id: Generated<number>
  account_id: number
  name: string
  prefix: string
  secret_hash: string
  scopes: string[]
  created_at: Timestamp
  last_used_at: NullableTimestamp
  revoked_at: NullableTimestamp
  /** Calls per 10 s rolling window for this key; NULL = RATE_LIMIT_BURST_PER_10S. */
  rate_limit_burst_per_10s: ColumnType<number | null, number | null | undefined, number | null>
  /** Calls per day for this key; NULL = RATE_LIMIT_DAILY. */
  rate_limit_daily: ColumnType<number | null, number | null | undefined, number | null>
}

export interface PropertyDefinition {
  name: string
  label: string
  type: string
  fieldType: string
  hasUniqueValue: boolean
}

export interface ObjectTypesTable {
  account_id: number
  type_id: string
  name: string
  singular_label: string
  plural_label: string
  unique_properties: ColumnType<string[], string[] | undefined, string[]>
  properties: ColumnType<PropertyDefinition[], string | undefined, string>
  primary_display_property: string | null
  is_custom: boolean
  created_at: Timestamp
  updated_at: Timestamp
}

export type PropertyValues = Record<string, string>

export interface RecordsTable {
  account_id: number
  object_type: string
  id: Generated<number>
  properties: ColumnType<PropertyValues, string | undefined, string>
  created_at: Timestamp
  updated_at: Timestamp
  archived_at: NullableTimestamp
}

export interface RecordKeysTable {
  account_id: number
  object_type: string
  property: string
  value: string
  record_id: number
}

export interface AssociationTypesTable {
  account_id: number
  from_type: string
  to_type: string
  type_id: number
  category: 'HUBSPOT_DEFINED' | 'USER_DEFINED' | 'INTEGRATOR_DEFINED'
  role: 'unlabeled' | 'primary' | 'primary_inverse' | 'label'
  label: string | null
  name: string | null
  inverse_type_id: number
  max_to_object_ids: number | null
  created_at: Timestamp
}

export interface AssociationsTable {
  account_id: number
  from_type: string
  from_id: number
  to_type: string
  to_id: number
  type_id: number
  is_primary: ColumnType<boolean, boolean | undefined, boolean>
  created_at: Timestamp
}

export interface AssociationCountsTable {
  account_id: number
  from_type: string
  from_id: number
  to_type: string
  count: number
}

export type ImportState = 'STARTED' | 'PROCESSING' | 'DONE' | 'FAILED' | 'CANCELED' | 'DEFERRED' | 'REVERTED'

export interface ImportsTable {
  account_id: number
  id: Generated<number>
  name: string
  state: ImportState
  request: ColumnType<unknown, string, string>
  plan: ColumnType<unknown, string, string>
  mapped_object_type_ids: ColumnType<string[], string[] | undefined, string[]>
  counters: ColumnType<Record<string, number>, string | undefined, string>
  validated: ColumnType<boolean, boolean | undefined, boolean>
  file_index: ColumnType<number, number | undefined, number>
  rows_done: ColumnType<number, number | undefined, number>
  lease_owner: string | null
  lease_expires_at: NullableTimestamp
  created_at: Timestamp
  updated_at: Timestamp
  started_at: NullableTimestamp
  finished_at: NullableTimestamp
}

export interface ImportFilesTable {
  account_id: number
  import_id: number
  file_index: number
  file_id: Generated<number>
  file_name: string
  path: string
  bytes: number
  row_count: number | null
}

export interface ImportErrorsTable {
  account_id: number
  import_id: number
  id: Generated<number>
  file_index: number
  error_type: string
  line_number: number
  known_column_number: number | null
  invalid_value: string | null
  error_message: string
  object_type_id: string | null
  row_data: ColumnType<string[], string[] | undefined, string[]>
  created_at: Timestamp
}

export interface EventsTable {
  account_id: number
  id: Generated<number>
  xid: Generated<string>
  kind: string
  from_type: string
  from_id: number
  to_type: string
  to_id: number
  type_id: number
  category: string
  label: string | null
  cause: string | null
  occurred_at: Timestamp
  correlation_id: string | null
  api_key_id: number | null
}

export interface WebhookSubscriptionsTable {
  account_id: number
  id: Generated<number>
  target_url: string
  event_kinds: string[]
  secret: string
  cursor_xid: string
  cursor_id: ColumnType<number, number | undefined, number>
  next_attempt_at: Timestamp
  lease_owner: string | null
  lease_expires_at: NullableTimestamp
  created_at: Timestamp
}

export type WebhookDeliveryStatus = 'PENDING' | 'SUCCEEDED' | 'FAILED'

export interface WebhookDeliveriesTable {
  account_id: number
  subscription_id: number
  id: Generated<number>
  status: WebhookDeliveryStatus
  event_ids: number[]
  body: string
  attempts: ColumnType<number, number | undefined, number>
  last_status_code: number | null
  last_error: string | null
  next_attempt_at: Timestamp
  created_at: Timestamp
  last_attempt_at: NullableTimestamp
  delivered_at: NullableTimestamp
}

export interface IdempotencyKeysTable {
  account_id: number
  key: string
  fingerprint: string
  status: number | null
  response_body: string | null
  content_type: string | null
  body_withheld: ColumnType<boolean, boolean | undefined, boolean>
  created_at: Timestamp
  expires_at: ColumnType<Date, Date | string, Date | string>
}

export interface Database {
  accounts: AccountsTable
  api_keys: ApiKeysTable
  object_types: ObjectTypesTable
  records: RecordsTable
  record_keys: RecordKeysTable
  association_types: AssociationTypesTable
  associations: AssociationsTable
  association_counts: AssociationCountsTable
  imports: ImportsTable
  import_files: ImportFilesTable
  import_errors: ImportErrorsTable
  events: EventsTable
  webhook_subscriptions: WebhookSubscriptionsTable
  webhook_deliveries: WebhookDeliveriesTable
  idempotency_keys: IdempotencyKeysTable
}

export type AccountRow = Selectable<AccountsTable>
export type ApiKeyRow = Selectable<ApiKeysTable>
export type NewApiKeyRow = Insertable<ApiKeysTable>
export type ObjectTypeRow = Selectable<ObjectTypesTable>
export type RecordRow = Selectable<RecordsTable>
export type AssociationTypeRow = Selectable<AssociationTypesTable>
export type NewAssociationTypeRow = Insertable<AssociationTypesTable>
export type ImportJobRow = Selectable<ImportsTable>
export type ImportFileRow = Selectable<ImportFilesTable>
export type ImportErrorRow = Selectable<ImportErrorsTable>
export type NewImportErrorRow = Insertable<ImportErrorsTable>
export type WebhookSubscriptionRow = Selectable<WebhookSubscriptionsTable>
export type WebhookDeliveryRow = Selectable<WebhookDeliveriesTable>
export type IdempotencyKeyRow = Selectable<IdempotencyKeysTable>
