-- Playbooks, their runs (one per playbook, account and trigger occurrence: the unique key is what
-- makes a trigger run once across restarts and app nodes), the steps each run schedules, and
-- the email outbox.

CREATE TABLE playbooks (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    definition TEXT NOT NULL,
    active INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE playbook_runs (
    id INTEGER PRIMARY KEY,
    playbook_id INTEGER NOT NULL REFERENCES playbooks(id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    occurrence TEXT NOT NULL,
    reason TEXT NOT NULL,
    started_at TEXT NOT NULL,
    UNIQUE (playbook_id, account_id, occurrence)
);
CREATE INDEX playbook_runs_started ON playbook_runs(playbook_id, started_at);

CREATE TABLE playbook_steps (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES playbook_runs(id) ON DELETE CASCADE,
    step_index INTEGER NOT NULL,
    due_at TEXT NOT NULL,
    claimed_at TEXT,
    claimed_by TEXT,
    finished_at TEXT,
    outcome TEXT,
    failed INTEGER NOT NULL DEFAULT 0,
    UNIQUE (run_id, step_index)
);
CREATE INDEX playbook_steps_due ON playbook_steps(finished_at, due_at);

CREATE TABLE email_outbox (
    id INTEGER PRIMARY KEY,
    run_id INTEGER REFERENCES playbook_runs(id) ON DELETE SET NULL,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    recipients TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    decided_by INTEGER REFERENCES staff_users(id) ON DELETE SET NULL,
    sent_at TEXT,
    error TEXT
);
CREATE INDEX email_outbox_status ON email_outbox(status, created_at);
