-- Webhook subscriptions and their deliveries. A subscription reads the events table (the outbox) from its own cursor
-- (cursor_xid, cursor_id), in feed order; each batch it takes becomes a delivery row in the same transaction that moves
-- the cursor, and is retried until it succeeds (or gives up) before the next batch is taken: in order, at least once.
-- The lease (lease_owner, lease_expires_at) makes one worker at a time deliver for a subscription.
CREATE SEQUENCE webhook_subscription_id_seq START 1;
CREATE SEQUENCE webhook_delivery_id_seq START 1;

CREATE TABLE webhook_subscriptions (
  account_id       bigint NOT NULL REFERENCES accounts (id),
  id               bigint NOT NULL DEFAULT nextval('webhook_subscription_id_seq'),
  target_url       text NOT NULL,
  event_kinds      text[] NOT NULL,
  -- the HMAC key: the server signs with it, so it keeps it; it is returned once, at creation, and never logged
  secret           text NOT NULL,
  cursor_xid       xid8 NOT NULL,
  cursor_id        bigint NOT NULL DEFAULT 0,
  -- when a worker should look at this subscription next (now, or a failed delivery's next attempt)
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  lease_owner      text,
  lease_expires_at timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, id)
);

CREATE INDEX webhook_subscriptions_due_idx ON webhook_subscriptions (next_attempt_at);

CREATE TABLE webhook_deliveries (
  account_id       bigint NOT NULL,
  subscription_id  bigint NOT NULL,
  id               bigint NOT NULL DEFAULT nextval('webhook_delivery_id_seq'),
  status           text NOT NULL CHECK (status IN ('PENDING', 'SUCCEEDED', 'FAILED')),
  event_ids        bigint[] NOT NULL,
  -- the exact body sent on every attempt (a retry carries the same events, the same bytes)
  body             text NOT NULL,
  attempts         integer NOT NULL DEFAULT 0,
  last_status_code integer,
  last_error       text,
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  created_at       timestamptz NOT NULL DEFAULT now(),
  last_attempt_at  timestamptz,
  delivered_at     timestamptz,
  PRIMARY KEY (account_id, subscription_id, id),
  FOREIGN KEY (account_id, subscription_id) REFERENCES webhook_subscriptions (account_id, id) ON DELETE CASCADE
);

-- At most one delivery in flight per subscription: its batches go out in order.
CREATE UNIQUE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (account_id, subscription_id) WHERE status = 'PENDING';
CREATE INDEX webhook_deliveries_created_idx ON webhook_deliveries (created_at) WHERE status <> 'PENDING';
