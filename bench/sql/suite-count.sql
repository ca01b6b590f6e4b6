-- How many companies a contact holds: its counter row (one primary-key probe), as the cap check reads it.
\set c random(0, :regular - 1)
\set cid :contact0 + :c
SELECT count FROM association_counts WHERE account_id = :account AND from_type = '0-1' AND from_id = :cid AND to_type = '0-2';
