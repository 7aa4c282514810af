-- CSM pulses (a manual 1–5 judgement with reasons) and one health snapshot per account per day.

CREATE TABLE csm_pulses (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    author_id INTEGER REFERENCES staff_users(id) ON DELETE SET NULL,
    score INTEGER NOT NULL,
    reasons TEXT NOT NULL,
    comment TEXT,
    created_at TEXT NOT NULL,
    day TEXT NOT NULL
);
CREATE INDEX csm_pulses_account ON csm_pulses(account_id, created_at);

CREATE TABLE health_snapshots (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    score REAL,
    grade TEXT NOT NULL,
    measures TEXT NOT NULL,
    PRIMARY KEY (account_id, day)
);
CREATE INDEX health_snapshots_day ON health_snapshots(day);
