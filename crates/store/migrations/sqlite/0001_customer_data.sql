-- Customer data: workspace settings, staff, accounts, contacts, products, subscriptions, timeline.
-- Money is exact decimal text; dates are ISO text; per-account tables carry account_id.

CREATE TABLE workspace_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    currency TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    fiscal_year_start_month INTEGER NOT NULL,
    gross_margin TEXT NOT NULL,
    stages TEXT NOT NULL
);

CREATE TABLE teams (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE staff_users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    team_id INTEGER REFERENCES teams(id) ON DELETE SET NULL,
    active BOOLEAN NOT NULL
);
CREATE INDEX staff_users_team ON staff_users(team_id);

CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    external_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    domain TEXT,
    industry TEXT,
    region TEXT,
    employees BIGINT,
    tier TEXT,
    touch_model TEXT,
    stage TEXT,
    owner_id INTEGER REFERENCES staff_users(id) ON DELETE SET NULL,
    sub_owner_id INTEGER REFERENCES staff_users(id) ON DELETE SET NULL,
    sales_owner_id INTEGER REFERENCES staff_users(id) ON DELETE SET NULL,
    created_on TEXT,
    churn_reason TEXT,
    churn_note TEXT,
    custom TEXT NOT NULL,
    mrr_hundredths BIGINT NOT NULL DEFAULT 0,
    arr_hundredths BIGINT NOT NULL DEFAULT 0,
    first_paying_day TEXT,
    next_renewal_date TEXT,
    figures_on TEXT,
    updated_at TEXT NOT NULL
);
CREATE INDEX accounts_arr ON accounts(arr_hundredths, id);
CREATE INDEX accounts_renewal ON accounts(next_renewal_date, id);
CREATE INDEX accounts_name ON accounts(name, id);
CREATE INDEX accounts_owner ON accounts(owner_id);
CREATE INDEX accounts_sub_owner ON accounts(sub_owner_id);

CREATE TABLE contacts (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    external_id TEXT NOT NULL UNIQUE,
    name TEXT,
    email TEXT,
    role TEXT,
    phone TEXT,
    is_primary BOOLEAN NOT NULL,
    custom TEXT NOT NULL
);
CREATE INDEX contacts_account ON contacts(account_id, id);

CREATE TABLE products (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL
);

CREATE TABLE subscription_periods (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    subscription_id TEXT NOT NULL,
    product TEXT NOT NULL REFERENCES products(key),
    plan TEXT,
    start_date TEXT NOT NULL,
    end_date TEXT,
    billing_interval TEXT NOT NULL,
    interval_count BIGINT NOT NULL,
    quantity BIGINT NOT NULL,
    unit_price TEXT NOT NULL,
    discount_percent TEXT NOT NULL,
    currency TEXT NOT NULL,
    custom TEXT NOT NULL,
    UNIQUE (subscription_id, start_date)
);
CREATE INDEX subscription_periods_account ON subscription_periods(account_id, start_date);

CREATE TABLE timeline_entries (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    author_id INTEGER REFERENCES staff_users(id) ON DELETE SET NULL,
    occurred_at TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT
);
CREATE INDEX timeline_entries_account ON timeline_entries(account_id, occurred_at);
