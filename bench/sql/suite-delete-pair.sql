-- What DELETE .../associations/companies/{id} does, as PostgreSQL alone would: lock both records, delete every row of
-- the pair (both directions), append the change events, decrement both counters when the pair existed.
\set c random(0, :regular - 1)
\set cid :contact0 + :c
\set j random(1, 99)
\set k (:c * 37 + :j * 101) % :companies
\set kid :company0 + :k
BEGIN;
SELECT object_type, id FROM records
WHERE account_id = :account AND ((object_type = '0-1' AND id = :cid) OR (object_type = '0-2' AND id = :kid)) AND archived_at IS NULL
ORDER BY object_type, id FOR SHARE;
WITH deleted AS (
  DELETE FROM associations
  WHERE account_id = :account
    AND ((from_type = '0-1' AND from_id = :cid AND to_type = '0-2' AND to_id = :kid)
      OR (from_type = '0-2' AND from_id = :kid AND to_type = '0-1' AND to_id = :cid))
  RETURNING from_type, from_id, to_type, to_id, type_id),
event AS (
  INSERT INTO events (account_id, kind, from_type, from_id, to_type, to_id, type_id, category)
  SELECT :account::bigint, 'deleted', from_type, from_id, to_type, to_id, type_id, 'HUBSPOT_DEFINED' FROM deleted WHERE from_type = '0-1')
UPDATE association_counts n SET count = greatest(n.count - 1, 0)
FROM (SELECT DISTINCT from_type, from_id, to_type FROM deleted WHERE type_id IN (279, 280)) d
WHERE n.account_id = :account AND n.from_type = d.from_type AND n.from_id = d.from_id AND n.to_type = d.to_type;
COMMIT;
