-- High-usage reports (API.md R1): the records at 80% or more of an association limit (the per-record cap or a
-- per-label limit), computed when requested and kept for reading as JSON or CSV.
CREATE SEQUENCE association_usage_report_id_seq START 1001;

CREATE TABLE association_usage_reports (
  account_id        bigint NOT NULL REFERENCES accounts (id),
  id                bigint NOT NULL DEFAULT nextval('association_usage_report_id_seq'),
  user_id           integer NOT NULL,
  threshold_percent integer NOT NULL,
  row_count         integer NOT NULL DEFAULT 0,
  created_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, id)
);

CREATE TABLE association_usage_report_rows (
  account_id     bigint NOT NULL,
  report_id      bigint NOT NULL,
  -- position in the report (by object type, id, other type, limit), for keyset paging
  n              integer NOT NULL,
  object_type    text NOT NULL,
  object_id      bigint NOT NULL,
  to_object_type text NOT NULL,
  -- null: the per-record cap toward to_object_type; otherwise the label type whose limit is near
  type_id        integer,
  label          text,
  count          integer NOT NULL,
  max            integer NOT NULL,
  PRIMARY KEY (account_id, report_id, n),
  FOREIGN KEY (account_id, report_id) REFERENCES association_usage_reports (account_id, id) ON DELETE CASCADE
);
