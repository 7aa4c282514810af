-- The feature catalog and the usage rollups kept current on ingest. Rollups are derived from
-- usage_events and can be rebuilt from them (after a catalog edit or a time zone change).

-- One row whose lock orders catalog edits against ingests: an ingest reads the catalog under a
-- shared lock on it, an edit takes it exclusively, so no event is rolled up by a stale catalog.
CREATE TABLE usage_catalog (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO usage_catalog (id, version) VALUES (1, 0);

CREATE TABLE features (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    event TEXT NOT NULL,
    match_kind TEXT NOT NULL,
    properties TEXT NOT NULL,
    cadence TEXT NOT NULL,
    season TEXT,
    importance TEXT NOT NULL
);

-- Per account x event name x day (in the workspace time zone): tracked events.
CREATE TABLE usage_daily (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    event TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (account_id, day, event)
);

-- Which identified end users were active (track, page, screen) on which day, per account:
-- distinct active users in any window is a count over this table.
CREATE TABLE end_user_days (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    user_id TEXT NOT NULL,
    PRIMARY KEY (account_id, day, user_id)
);

-- Per account x feature x day: uses, by the catalog's event match.
CREATE TABLE feature_usage_daily (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    feature_id INTEGER NOT NULL REFERENCES features(id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    uses INTEGER NOT NULL,
    PRIMARY KEY (account_id, feature_id, day)
);
CREATE INDEX feature_usage_daily_feature ON feature_usage_daily(feature_id, day);
