-- Search by association, PostgreSQL's own way: the first 100 contacts associated with one company, with their
-- properties (the company's rows toward contacts, then a primary-key probe per contact).
\set k random(0, :companies - 1)
\set kid :company0 + :k
SELECT r.id, r.properties, r.created_at, r.updated_at
FROM associations a
JOIN records r ON r.account_id = a.account_id AND r.object_type = '0-1' AND r.id = a.to_id AND r.archived_at IS NULL
WHERE a.account_id = :account AND a.from_type = '0-2' AND a.from_id = :kid AND a.to_type = '0-1' AND a.type_id = 280
ORDER BY a.to_id LIMIT 100;
