-- What GET .../associations/companies?limit=100 reads: one page of a hub contact's companies with every type.
WITH page AS (
  SELECT to_id FROM associations
  WHERE account_id = :account AND from_type = '0-1' AND from_id = :hub AND to_type = '0-2' AND to_id > 0 AND type_id = 279
  ORDER BY to_id LIMIT 101)
SELECT a.to_id, a.type_id FROM associations a
WHERE a.account_id = :account AND a.from_type = '0-1' AND a.from_id = :hub AND a.to_type = '0-2' AND a.to_id IN (SELECT to_id FROM page)
ORDER BY a.to_id, a.type_id;
