-- Tracking messages refused by the API (the first of each hour per write key), with the reason,
-- so that nothing a client sends disappears silently. Shown to admins as the tracking debugger.
CREATE TABLE refused_messages (
    id INTEGER PRIMARY KEY,
    key_prefix TEXT NOT NULL,
    received_at TEXT NOT NULL,
    field TEXT NOT NULL,
    code TEXT NOT NULL,
    reason_ja TEXT NOT NULL,
    reason_en TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX refused_messages_received ON refused_messages(received_at);
