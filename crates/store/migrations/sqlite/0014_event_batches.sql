-- Raw tracking events are stored one row per ingest transaction instead of one row per event
-- (see store/src/event_batches.rs), as an LZ4-compressed JSON array. Each row also holds a 64-bit hash of every message id the
-- transaction stored, from which the store keeps its deduplication index in memory. Events
-- without an account yet stay rows of their own until a group call attributes them. The rows of
-- usage_events are moved by the store when it first opens after this migration (the hashes are
-- computed there), and that table is then dropped.

CREATE TABLE event_batches (
    id INTEGER PRIMARY KEY,
    received_at TEXT NOT NULL,
    events INTEGER NOT NULL,
    message_keys BLOB NOT NULL,
    payload BLOB NOT NULL
);

CREATE TABLE unattributed_events (
    id INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    user_id TEXT,
    anonymous_id TEXT,
    event TEXT,
    properties TEXT NOT NULL,
    context TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX unattributed_events_user ON unattributed_events(user_id);
CREATE INDEX unattributed_events_anonymous ON unattributed_events(anonymous_id) WHERE user_id IS NULL;

-- Days on which an account saw activity from an anonymous id: an alias call makes them its
-- user's active days (end_user_days).
CREATE TABLE anonymous_days (
    anonymous_id TEXT NOT NULL,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    PRIMARY KEY (anonymous_id, account_id, day)
);

-- Alias calls, so rebuilt rollups count an anonymous id's events for the user it became.
CREATE TABLE aliases (
    previous_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL
);
