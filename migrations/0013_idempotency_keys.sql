-- Idempotency-Key claims (README "Safe retries"). The claim is inserted in the request's first write transaction, so a
-- rolled-back write leaves no key; the answer (status, body, content type) is stored just before it is sent.
-- status NULL: the claim committed but no answer stored yet (in flight, or the process died before storing it).
-- body_withheld: the answer held a secret (a new API key) and only its status was kept.
CREATE TABLE idempotency_keys (
  account_id    bigint NOT NULL REFERENCES accounts (id),
  key           text NOT NULL,
  -- sha256 (hex) of method, URL and body: the same key with another request is refused
  fingerprint   text NOT NULL,
  status        smallint,
  response_body text,
  content_type  text,
  body_withheld boolean NOT NULL DEFAULT false,
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL,
  PRIMARY KEY (account_id, key)
);

CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);
