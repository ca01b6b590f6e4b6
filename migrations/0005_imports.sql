-- CSV imports (HubSpot Imports API v3): the import job with its validated plan and progress, its stored files, and
-- its row-level (or, with line_number 0, file-level) errors. Progress (file_index, rows_done) and counters advance in
-- the same transaction as the rows they describe, so a chunk is applied exactly once.
CREATE SEQUENCE import_id_seq START 1001;
CREATE SEQUENCE import_file_id_seq START 1001;
CREATE SEQUENCE import_error_id_seq START 1;

CREATE TABLE imports (
  account_id             bigint NOT NULL REFERENCES accounts (id),
  id                     bigint NOT NULL DEFAULT nextval('import_id_seq'),
  name                   text NOT NULL,
  state                  text NOT NULL CHECK (state IN ('STARTED', 'PROCESSING', 'DONE', 'FAILED', 'CANCELED', 'DEFERRED', 'REVERTED')),
  -- the importRequest as sent, and the applier's validated plan (plain JSON, passed back to it untouched)
  request                jsonb NOT NULL,
  plan                   jsonb NOT NULL,
  mapped_object_type_ids text[] NOT NULL DEFAULT '{}',
  counters               jsonb NOT NULL DEFAULT '{}',
  -- every file passed the first pass (encoding, header, CSV syntax, row limit); row counts are in import_files
  validated              boolean NOT NULL DEFAULT false,
  -- resume point: the file being applied (index in plan.files) and how many of its data rows are committed
  file_index             integer NOT NULL DEFAULT 0,
  rows_done              bigint NOT NULL DEFAULT 0,
  -- the runner holding the import while PROCESSING; another may take it over once the lease has expired
  lease_owner            text,
  lease_expires_at       timestamptz,
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now(),
  started_at             timestamptz,
  finished_at            timestamptz,
  PRIMARY KEY (account_id, id)
);

-- The runners' queue: imports still to run or running, oldest first.
CREATE INDEX imports_queue_idx ON imports (created_at, id) WHERE state IN ('STARTED', 'DEFERRED', 'PROCESSING');

CREATE TABLE import_files (
  account_id  bigint NOT NULL,
  import_id   bigint NOT NULL,
  file_index  integer NOT NULL,
  file_id     bigint NOT NULL DEFAULT nextval('import_file_id_seq'),
  file_name   text NOT NULL,
  -- where the upload is stored (under IMPORT_DIR); removed once the import is finished
  path        text NOT NULL,
  bytes       bigint NOT NULL,
  row_count   bigint,
  PRIMARY KEY (account_id, import_id, file_index),
  FOREIGN KEY (account_id, import_id) REFERENCES imports (account_id, id) ON DELETE CASCADE
);

CREATE TABLE import_errors (
  account_id          bigint NOT NULL,
  import_id           bigint NOT NULL,
  id                  bigint NOT NULL DEFAULT nextval('import_error_id_seq'),
  file_index          integer NOT NULL,
  error_type          text NOT NULL,
  -- 1-based, counting the header; 0 for a file-level error
  line_number         bigint NOT NULL,
  known_column_number integer,
  invalid_value       text,
  error_message       text NOT NULL,
  object_type_id      text,
  row_data            text[] NOT NULL DEFAULT '{}',
  created_at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, import_id, id),
  FOREIGN KEY (account_id, import_id) REFERENCES imports (account_id, id) ON DELETE CASCADE
);
