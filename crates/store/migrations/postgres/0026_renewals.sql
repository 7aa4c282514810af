-- Renewals: whether month-to-month contracts count as renewing, what CSMs write about each
-- renewal (keyed by account and date: renewals themselves are derived from subscriptions), and
-- weekly forecast snapshots for forecast accuracy.
ALTER TABLE workspace_settings ADD COLUMN monthly_contracts_renew BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE renewal_calls (
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    renewal_date DATE NOT NULL,
    forecast TEXT,
    forecast_note TEXT,
    outcome TEXT,
    churn_reason TEXT,
    outcome_note TEXT,
    updated_by BIGINT REFERENCES staff_users(id) ON DELETE SET NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account_id, renewal_date)
);

CREATE TABLE renewal_forecast_snapshots (
    taken_on DATE NOT NULL,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    renewal_date DATE NOT NULL,
    arr TEXT NOT NULL,
    forecast TEXT,
    churn_probability DOUBLE PRECISION,
    PRIMARY KEY (taken_on, account_id, renewal_date)
);
CREATE INDEX renewal_forecast_snapshots_date ON renewal_forecast_snapshots(renewal_date);
