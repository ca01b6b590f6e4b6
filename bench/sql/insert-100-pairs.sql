-- PostgreSQL's own multi-row insert of 100 pairs (both directions, 200 rows), the baseline of batch create.
\set c random(0, :contacts - 101)
\set k random(0, :companies - 101)
INSERT INTO associations (account_id, from_type, from_id, to_type, to_id, type_id)
SELECT :account, '0-1', :contact_base + :c + g, '0-2', :company_base + :k + g, 279 FROM generate_series(1, 100) g
UNION ALL
SELECT :account, '0-2', :company_base + :k + g, '0-1', :contact_base + :c + g, 280 FROM generate_series(1, 100) g
ON CONFLICT DO NOTHING;
