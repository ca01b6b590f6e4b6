-- One association of one record: a contact's primary company (associations_one_primary_idx).
\set c random(0, :regular - 1)
\set cid :contact0 + :c
SELECT to_id FROM associations WHERE account_id = :account AND from_type = '0-1' AND from_id = :cid AND to_type = '0-2' AND is_primary;
