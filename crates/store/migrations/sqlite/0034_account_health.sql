-- Each account's current health in a narrow table of its own, one row per account (empty until
-- the health worker scores it). Rescoring rewrites these rows only, not the wide account row and
-- its indexes (on PostgreSQL that ruled out in-place updates; BENCHMARKS.md, session 22). The
-- columns keep their names, so the lists join this table and filter and sort as before; a
-- trigger gives every new account its row, so the join never loses an account.
CREATE TABLE account_health (
    account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    health_score REAL,
    health_grade TEXT,
    health_delta_30d REAL,
    health_on TEXT,
    -- The account's ARR while it pays, NULL when it does not: a copy of its figures, written by
    -- the same save, so the grade totals (home, /health) read this table alone.
    paying_arr_hundredths INTEGER
);
INSERT INTO account_health (account_id, health_score, health_grade, health_delta_30d, health_on, paying_arr_hundredths)
SELECT id, health_score, health_grade, health_delta_30d, health_on,
       CASE WHEN mrr_hundredths > 0 THEN COALESCE(arr_hundredths, 0) END
FROM accounts;
CREATE INDEX account_health_score ON account_health(health_score);
CREATE INDEX account_health_delta ON account_health(health_delta_30d);
CREATE INDEX account_health_grade ON account_health(health_grade);
CREATE INDEX account_health_paying ON account_health(health_grade, paying_arr_hundredths)
    WHERE paying_arr_hundredths IS NOT NULL;

CREATE TRIGGER accounts_health_rows AFTER INSERT ON accounts
BEGIN
    INSERT INTO account_health (account_id) VALUES (NEW.id);
END;

DROP INDEX accounts_health_score;
DROP INDEX accounts_health_delta;
DROP INDEX accounts_health_grade;
DROP INDEX accounts_grade_totals;
ALTER TABLE accounts DROP COLUMN health_score;
ALTER TABLE accounts DROP COLUMN health_grade;
ALTER TABLE accounts DROP COLUMN health_delta_30d;
ALTER TABLE accounts DROP COLUMN health_on;
