-- The service's page statement (GET .../associations/companies, pageEdges): :limit to_ids of one contact after a
-- cursor, then every type of those pairs. -D from_base/from_count pick the contact, after_base/depth the cursor.
\set f :from_base + random(0, :from_count - 1)
\set after :after_base + random(0, :depth)
WITH page AS (
  SELECT to_id FROM associations
  WHERE account_id = :account AND from_type = '0-1' AND from_id = :f AND to_type = '0-2' AND to_id > :after AND type_id = 279
  ORDER BY to_id LIMIT :limit)
SELECT a.to_id, a.type_id FROM associations a
WHERE a.account_id = :account AND a.from_type = '0-1' AND a.from_id = :f AND a.to_type = '0-2' AND a.to_id IN (SELECT to_id FROM page)
ORDER BY a.to_id, a.type_id;
