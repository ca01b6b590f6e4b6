-- What a batch create of 100 new pairs writes, in one statement: 200 rows (both directions), one event per pair and
-- the per-record counters of both sides (for rows actually inserted). Multi-row insert from generate_series.
\set c random(0, :regular - 1)
\set cid :contact0 + :c
\set k random(0, :companies - 1)
\set kid :company0 + :k
WITH pairs AS (
  SELECT :contact0 + (:c + g) % :regular AS contact, :company0 + (:k + g * 7) % :companies AS company FROM generate_series(1, 100) g),
inserted AS (
  INSERT INTO associations (account_id, from_type, from_id, to_type, to_id, type_id)
  SELECT :account::bigint, '0-1', contact, '0-2', company, 279 FROM pairs
  UNION ALL
  SELECT :account::bigint, '0-2', company, '0-1', contact, 280 FROM pairs
  ORDER BY 2, 3, 5
  ON CONFLICT DO NOTHING
  RETURNING from_type, from_id, to_type, to_id, type_id),
event AS (
  INSERT INTO events (account_id, kind, from_type, from_id, to_type, to_id, type_id, category)
  SELECT :account::bigint, 'created', from_type, from_id, to_type, to_id, type_id, 'HUBSPOT_DEFINED' FROM inserted WHERE from_type = '0-1')
INSERT INTO association_counts AS n (account_id, from_type, from_id, to_type, count)
SELECT :account::bigint, from_type, from_id, to_type, count(*) FROM inserted GROUP BY from_type, from_id, to_type ORDER BY from_type, from_id, to_type
ON CONFLICT (account_id, from_type, from_id, to_type) DO UPDATE SET count = n.count + excluded.count;
