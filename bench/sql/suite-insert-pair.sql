-- What PUT .../associations/default/... writes, as PostgreSQL alone would: lock both records, insert both rows, append
-- the change event and bump both per-record counters (read back: the cap check), for rows actually inserted only.
\set c random(0, :regular - 1)
\set cid :contact0 + :c
\set k random(0, :companies - 1)
\set kid :company0 + :k
BEGIN;
SELECT object_type, id FROM records
WHERE account_id = :account AND ((object_type = '0-1' AND id = :cid) OR (object_type = '0-2' AND id = :kid)) AND archived_at IS NULL
ORDER BY object_type, id FOR SHARE;
WITH inserted AS (
  INSERT INTO associations (account_id, from_type, from_id, to_type, to_id, type_id)
  VALUES (:account, '0-1', :cid, '0-2', :kid, 279), (:account, '0-2', :kid, '0-1', :cid, 280)
  ON CONFLICT DO NOTHING
  RETURNING from_type, from_id, to_type, to_id, type_id),
event AS (
  INSERT INTO events (account_id, kind, from_type, from_id, to_type, to_id, type_id, category)
  SELECT :account::bigint, 'created', from_type, from_id, to_type, to_id, type_id, 'HUBSPOT_DEFINED' FROM inserted WHERE from_type = '0-1'),
counted AS (
  INSERT INTO association_counts AS n (account_id, from_type, from_id, to_type, count)
  SELECT :account::bigint, from_type, from_id, to_type, 1 FROM inserted ORDER BY from_type
  ON CONFLICT (account_id, from_type, from_id, to_type) DO UPDATE SET count = n.count + 1
  RETURNING n.count)
SELECT max(count) FROM counted;
COMMIT;
