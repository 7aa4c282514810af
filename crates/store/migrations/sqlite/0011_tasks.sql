-- Tasks (calls to action) on accounts, from people and playbooks, with why they exist.
-- At most one open or snoozed task per (account, kind, dedupe key): the partial unique index
-- holds even when two app nodes create the same task at once.

CREATE TABLE tasks (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    kind TEXT NOT NULL,
    priority TEXT NOT NULL,
    due_on TEXT,
    assignee_id INTEGER REFERENCES staff_users(id) ON DELETE SET NULL,
    team_id INTEGER REFERENCES teams(id) ON DELETE SET NULL,
    reason_source TEXT NOT NULL,
    reason_ja TEXT NOT NULL,
    reason_en TEXT NOT NULL,
    reason_data TEXT NOT NULL,
    dedupe_key TEXT NOT NULL,
    status TEXT NOT NULL,
    snoozed_until TEXT,
    outcome TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    closed_at TEXT
);
CREATE UNIQUE INDEX tasks_active_dedupe ON tasks(account_id, kind, dedupe_key) WHERE status IN ('open', 'snoozed');
CREATE INDEX tasks_account ON tasks(account_id, status);
CREATE INDEX tasks_assignee ON tasks(assignee_id, status, due_on);
CREATE INDEX tasks_team ON tasks(team_id, status, due_on);
CREATE INDEX tasks_status_due ON tasks(status, due_on);
