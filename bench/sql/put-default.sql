-- What PUT .../associations/default does, as PostgreSQL alone would: lock both records, insert both directions,
-- count both sides. The baseline the service's rate is compared with.
\set c random(1, :contacts)
\set k random(1, :companies)
BEGIN;
SELECT id FROM records WHERE account_id = :account AND object_type = '0-1' AND id = :contact_base + :c FOR SHARE;
SELECT id FROM records WHERE account_id = :account AND object_type = '0-2' AND id = :company_base + :k FOR SHARE;
INSERT INTO associations (account_id, from_type, from_id, to_type, to_id, type_id)
  VALUES (:account, '0-1', :contact_base + :c, '0-2', :company_base + :k, 279), (:account, '0-2', :company_base + :k, '0-1', :contact_base + :c, 280)
  ON CONFLICT DO NOTHING;
INSERT INTO association_counts AS c (account_id, from_type, from_id, to_type, count)
  VALUES (:account, '0-1', :contact_base + :c, '0-2', 1), (:account, '0-2', :company_base + :k, '0-1', 1)
  ON CONFLICT (account_id, from_type, from_id, to_type) DO UPDATE SET count = c.count + 1;
COMMIT;
