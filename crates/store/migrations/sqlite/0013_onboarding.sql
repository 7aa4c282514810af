-- Onboarding templates (a TOML/JSON definition of milestones), plans per account (at most one
-- open plan per account: the partial unique index makes concurrent automatic starts on several
-- app nodes start one), and each plan's milestones with when and how they were completed.

CREATE TABLE onboarding_templates (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    definition TEXT NOT NULL,
    is_default INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
);

CREATE TABLE onboarding_plans (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    template_id INTEGER NOT NULL REFERENCES onboarding_templates(id) ON DELETE CASCADE,
    started_on TEXT NOT NULL,
    completed_on TEXT,
    started_by TEXT NOT NULL CHECK (started_by IN ('first_paying_day', 'manual'))
);
CREATE UNIQUE INDEX onboarding_plans_open ON onboarding_plans(account_id) WHERE completed_on IS NULL;
CREATE INDEX onboarding_plans_account ON onboarding_plans(account_id, started_on);

CREATE TABLE onboarding_milestones (
    plan_id INTEGER NOT NULL REFERENCES onboarding_plans(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    completed_on TEXT,
    completed_by TEXT,
    PRIMARY KEY (plan_id, key)
);
