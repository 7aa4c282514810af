-- The SMTP server saved by an administrator (one row at most; the configuration file's smtp_url
-- is used while there is none). The password is write-only: the app never shows it back.
CREATE TABLE mail_server (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    host TEXT NOT NULL,
    port INTEGER NOT NULL,
    security TEXT NOT NULL,
    username TEXT,
    password TEXT,
    sender_address TEXT NOT NULL,
    sender_name TEXT,
    trusted_certificate TEXT,
    updated_at TEXT NOT NULL
);

-- What each staff user is told. One row per user and occurrence (dedupe_key), so a scan that
-- runs on every node and every day notifies once. in_app: shown in the inbox; email_state and
-- slack_state: none, pending, sent or failed, claimed by one node before it sends.
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES staff_users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    dedupe_key TEXT NOT NULL,
    title_ja TEXT NOT NULL,
    title_en TEXT NOT NULL,
    link TEXT NOT NULL,
    account_id INTEGER REFERENCES accounts(id) ON DELETE CASCADE,
    in_app INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    read_at TEXT,
    email_state TEXT NOT NULL,
    slack_state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    claimed_at TEXT,
    claimed_by TEXT,
    delivery_error TEXT,
    UNIQUE (user_id, dedupe_key)
);
CREATE INDEX notifications_inbox ON notifications(user_id, in_app, read_at);
CREATE INDEX notifications_outgoing ON notifications(id) WHERE email_state = 'pending' OR slack_state = 'pending';

-- Each user's choice of channels per kind (JSON), Slack webhook (write-only), digest and the
-- language of their emails and Slack posts.
CREATE TABLE notification_preferences (
    user_id INTEGER PRIMARY KEY REFERENCES staff_users(id) ON DELETE CASCADE,
    channels TEXT NOT NULL,
    slack_webhook TEXT,
    digest TEXT NOT NULL,
    digest_hour INTEGER NOT NULL,
    language TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- One digest per user and period (day or ISO week), whichever node inserts the row sends it.
CREATE TABLE digest_sends (
    user_id INTEGER NOT NULL REFERENCES staff_users(id) ON DELETE CASCADE,
    period TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    error TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (user_id, period)
);
