-- What a batch read of 1,000 contacts reads: for each, its first page (up to 501 companies carrying the unlabeled
-- type) and every type of those pairs, one lateral range scan per contact.
\set c random(0, :regular - 1000)
\set cid :contact0 + :c
\set cend :cid + 999
SELECT k.id, p.to_id, a.type_id
FROM generate_series(:cid::bigint, :cend::bigint) AS k(id)
CROSS JOIN LATERAL (
  SELECT to_id FROM associations
  WHERE account_id = :account AND from_type = '0-1' AND from_id = k.id AND to_type = '0-2' AND type_id = 279
  ORDER BY to_id LIMIT 501) p
JOIN associations a ON a.account_id = :account AND a.from_type = '0-1' AND a.from_id = k.id AND a.to_type = '0-2' AND a.to_id = p.to_id
ORDER BY k.id, p.to_id, a.type_id;
