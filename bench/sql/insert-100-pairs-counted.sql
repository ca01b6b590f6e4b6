-- The same 100 pairs with the per-record counters a capped data model keeps (one upsert per record and direction),
-- in one statement as the service writes them: the baseline for "the same rows" including the count rows.
\set c random(0, :contacts - 101)
\set k random(0, :companies - 101)
WITH inserted AS (
  INSERT INTO associations (account_id, from_type, from_id, to_type, to_id, type_id)
  SELECT :account, '0-1', :contact_base + :c + g, '0-2', :company_base + :k + g, 279 FROM generate_series(1, 100) g
  UNION ALL
  SELECT :account, '0-2', :company_base + :k + g, '0-1', :contact_base + :c + g, 280 FROM generate_series(1, 100) g
  ON CONFLICT DO NOTHING
  RETURNING from_type, from_id, to_type)
INSERT INTO association_counts AS n (account_id, from_type, from_id, to_type, count)
SELECT :account, from_type, from_id, to_type, count(*) FROM inserted GROUP BY from_type, from_id, to_type ORDER BY from_type, from_id, to_type
ON CONFLICT (account_id, from_type, from_id, to_type) DO UPDATE SET count = n.count + excluded.count;
