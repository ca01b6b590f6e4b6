-- The change feed: an outbox of association changes, appended in the transaction that makes the change (the same
-- statement, as a data-modifying CTE). One row per association type added to or removed from a pair, seen from the
-- `from` side of the write (see src/repositories/events.repository.ts).
--
-- Feed order and the visibility guard: `id` comes from a sequence, which hands out numbers in call order, not commit
-- order, so a reader that served id 11 could later see id 10 commit. Each event therefore stores the id of the
-- transaction that wrote it (`xid`, from pg_current_xact_id(): the top-level id, also inside savepoints), readers order
-- by (xid, id) and serve only events whose xid is below the xmin of their snapshot (every transaction below xmin has
-- ended). A transaction that commits later has an xid at or above that xmin, so it sorts after everything served.
CREATE SEQUENCE event_id_seq START 1;

CREATE TABLE events (
  account_id           bigint NOT NULL,
  id                   bigint NOT NULL DEFAULT nextval('event_id_seq'),
  xid                  xid8 NOT NULL DEFAULT pg_current_xact_id(),
  kind                 text NOT NULL CHECK (kind IN ('created', 'label_added', 'label_removed', 'primary_set', 'primary_unset', 'deleted')),
  from_type            text NOT NULL,
  from_id              bigint NOT NULL,
  to_type              text NOT NULL,
  to_id                bigint NOT NULL,
  type_id              integer NOT NULL,
  category             text NOT NULL,
  label                text,
  -- why a change happened without being asked for pair by pair: 'record_archived' (archive cascade) or
  -- 'label_deleted' (a label deleted with force=true); null for direct writes
  cause                text CHECK (cause IN ('record_archived', 'label_deleted')),
  occurred_at          timestamptz NOT NULL DEFAULT now(),
  -- the request that made the change and the API key it used; null for imports and the command line
  correlation_id       text,
  api_key_id           bigint,
  PRIMARY KEY (account_id, id)
);

-- The feed read: a range scan in (xid, id) order per account.
CREATE INDEX events_feed_idx ON events (account_id, xid, id);
-- The retention purge.
CREATE INDEX events_occurred_idx ON events (occurred_at);
