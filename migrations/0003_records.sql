-- CRM records and their normalised unique identifiers (email, domain, custom unique properties).
CREATE SEQUENCE record_id_seq START 1001;

CREATE TABLE records (
  account_id  bigint NOT NULL,
  object_type text NOT NULL,
  id          bigint NOT NULL DEFAULT nextval('record_id_seq'),
  properties  jsonb NOT NULL DEFAULT '{}',
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  archived_at timestamptz,
  PRIMARY KEY (account_id, object_type, id),
  FOREIGN KEY (account_id, object_type) REFERENCES object_types (account_id, type_id)
);

CREATE TABLE record_keys (
  account_id  bigint NOT NULL,
  object_type text NOT NULL,
  property    text NOT NULL,
  value       text NOT NULL,
  record_id   bigint NOT NULL,
  PRIMARY KEY (account_id, object_type, property, value),
  FOREIGN KEY (account_id, object_type, record_id) REFERENCES records (account_id, object_type, id)
);

CREATE INDEX record_keys_record_idx ON record_keys (account_id, object_type, record_id);
