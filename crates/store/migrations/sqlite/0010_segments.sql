-- Saved segments: a named rule over account data, its current members, and every entry and exit.

CREATE TABLE segments (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    rule TEXT NOT NULL,
    description TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE segment_members (
    segment_id INTEGER NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    entered_at TEXT NOT NULL,
    PRIMARY KEY (segment_id, account_id)
);
CREATE INDEX segment_members_account ON segment_members(account_id);

CREATE TABLE segment_history (
    id INTEGER PRIMARY KEY,
    segment_id INTEGER NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    entered BOOLEAN NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX segment_history_segment ON segment_history(segment_id, at);
CREATE INDEX segment_history_account ON segment_history(account_id, at);
