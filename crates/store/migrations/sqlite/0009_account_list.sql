-- The account list: the latest health score on each account, so lists filter and sort by
-- grade, score and trend in the database; and each user's saved views of the list.

ALTER TABLE accounts ADD COLUMN health_score REAL;
ALTER TABLE accounts ADD COLUMN health_grade TEXT;
ALTER TABLE accounts ADD COLUMN health_delta_30d REAL;
ALTER TABLE accounts ADD COLUMN health_on TEXT;
CREATE INDEX accounts_health_score ON accounts(health_score);
CREATE INDEX accounts_health_delta ON accounts(health_delta_30d);
CREATE INDEX accounts_health_grade ON accounts(health_grade);

CREATE TABLE saved_views (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES staff_users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    query TEXT NOT NULL,
    UNIQUE (user_id, name)
);
