-- Product usage from the tracking API: end users and raw events. Events without an account yet
-- are kept (account_id NULL) and attributed when a later group call links their user.

ALTER TABLE accounts ADD COLUMN created_by_tracking BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE end_users (
    user_id TEXT PRIMARY KEY,
    account_id INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
    email TEXT,
    name TEXT,
    role TEXT,
    traits TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL
);
CREATE INDEX end_users_account ON end_users(account_id);

CREATE TABLE usage_events (
    id INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    account_id INTEGER REFERENCES accounts(id) ON DELETE CASCADE,
    user_id TEXT,
    anonymous_id TEXT,
    event TEXT,
    properties TEXT NOT NULL,
    context TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX usage_events_account ON usage_events(account_id, occurred_at);
CREATE INDEX usage_events_unattributed ON usage_events(user_id) WHERE account_id IS NULL;
