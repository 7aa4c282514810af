-- Renewals: whether month-to-month contracts count as renewing, what CSMs write about each
-- renewal (keyed by account and date: renewals themselves are derived from subscriptions), and
-- weekly forecast snapshots for forecast accuracy.
ALTER TABLE workspace_settings ADD COLUMN monthly_contracts_renew INTEGER NOT NULL DEFAULT 0;

CREATE TABLE renewal_calls (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    renewal_date TEXT NOT NULL,
    forecast TEXT,
    forecast_note TEXT,
    outcome TEXT,
    churn_reason TEXT,
    outcome_note TEXT,
    updated_by INTEGER REFERENCES staff_users(id) ON DELETE SET NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (account_id, renewal_date)
);

CREATE TABLE renewal_forecast_snapshots (
    taken_on TEXT NOT NULL,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    renewal_date TEXT NOT NULL,
    arr TEXT NOT NULL,
    forecast TEXT,
    churn_probability REAL,
    PRIMARY KEY (taken_on, account_id, renewal_date)
);
CREATE INDEX renewal_forecast_snapshots_date ON renewal_forecast_snapshots(renewal_date);
