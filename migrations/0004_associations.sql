-- Association types (labels) per object pair and direction, the association edges (one row per direction and type),
-- and per-record counts toward each other object type (the 10,000 cap is checked on these, not with count(*)).
CREATE SEQUENCE association_type_id_seq START 1001;

CREATE TABLE association_types (
  account_id        bigint NOT NULL REFERENCES accounts (id),
  from_type         text NOT NULL,
  to_type           text NOT NULL,
  type_id           integer NOT NULL,
  category          text NOT NULL CHECK (category IN ('HUBSPOT_DEFINED', 'USER_DEFINED', 'INTEGRATOR_DEFINED')),
  -- unlabeled: the type every association has; primary: the record's one primary company (1, 5, 26);
  -- primary_inverse: its other direction (2, 6, 25); label: any other labelled type.
  role              text NOT NULL CHECK (role IN ('unlabeled', 'primary', 'primary_inverse', 'label')),
  label             text,
  name              text,
  inverse_type_id   integer NOT NULL,
  max_to_object_ids integer CHECK (max_to_object_ids > 0),
  created_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, from_type, to_type, type_id)
);

CREATE UNIQUE INDEX association_types_id_idx ON association_types (account_id, type_id);
CREATE UNIQUE INDEX association_types_unlabeled_idx ON association_types (account_id, from_type, to_type) WHERE role = 'unlabeled';

CREATE TABLE associations (
  account_id bigint NOT NULL,
  from_type  text NOT NULL,
  from_id    bigint NOT NULL,
  to_type    text NOT NULL,
  to_id      bigint NOT NULL,
  type_id    integer NOT NULL,
  -- true only on the primary-type row of the record that has the primary (contact/deal/ticket -> company)
  is_primary boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, from_type, from_id, to_type, to_id, type_id)
);

-- "All pairs with label L" and per-label limits: a range scan on this index.
CREATE INDEX associations_type_idx ON associations (account_id, from_type, to_type, type_id, from_id, to_id);
-- Invariant 3: at most one primary per record and target object type, whatever the code does.
CREATE UNIQUE INDEX associations_one_primary_idx ON associations (account_id, from_type, from_id, to_type) WHERE is_primary;

CREATE TABLE association_counts (
  account_id bigint NOT NULL,
  from_type  text NOT NULL,
  from_id    bigint NOT NULL,
  to_type    text NOT NULL,
  count      integer NOT NULL CHECK (count >= 0),
  PRIMARY KEY (account_id, from_type, from_id, to_type)
);
