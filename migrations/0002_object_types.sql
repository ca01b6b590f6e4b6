-- Object types per account: the standard ones (0-1, 0-2, 0-3, 0-5) and custom ones (2-<n>).
CREATE SEQUENCE custom_object_type_seq START 1001;

CREATE TABLE object_types (
  account_id         bigint NOT NULL REFERENCES accounts (id),
  type_id            text NOT NULL,
  name               text NOT NULL,
  singular_label     text NOT NULL,
  plural_label       text NOT NULL,
  unique_properties  text[] NOT NULL DEFAULT '{}',
  properties         jsonb NOT NULL DEFAULT '[]',
  primary_display_property text,
  is_custom          boolean NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, type_id)
);

CREATE UNIQUE INDEX object_types_name_idx ON object_types (account_id, name);
