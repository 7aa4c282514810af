-- Product feedback: requests, the customers who asked for each (evidence) and every status a
-- request went through. A request merged into another keeps its row (its address still leads to
-- the survivor); its evidence moves.
ALTER TABLE workspace_settings ADD COLUMN request_impact_weights TEXT NOT NULL DEFAULT '{}';

CREATE TABLE feature_requests (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    description TEXT,
    product_area TEXT,
    status TEXT NOT NULL,
    status_reason TEXT,
    owner_id INTEGER REFERENCES staff_users(id) ON DELETE SET NULL,
    feature_key TEXT,
    merged_into INTEGER REFERENCES feature_requests(id) ON DELETE SET NULL,
    created_by INTEGER REFERENCES staff_users(id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE feature_request_evidence (
    id INTEGER PRIMARY KEY,
    request_id INTEGER NOT NULL REFERENCES feature_requests(id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    contact_id INTEGER REFERENCES contacts(id) ON DELETE SET NULL,
    importance TEXT NOT NULL,
    source TEXT NOT NULL,
    quote TEXT,
    created_by INTEGER REFERENCES staff_users(id) ON DELETE SET NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX feature_request_evidence_request ON feature_request_evidence(request_id);
CREATE INDEX feature_request_evidence_account ON feature_request_evidence(account_id);

CREATE TABLE feature_request_status_changes (
    id INTEGER PRIMARY KEY,
    request_id INTEGER NOT NULL REFERENCES feature_requests(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    reason TEXT,
    changed_by INTEGER REFERENCES staff_users(id) ON DELETE SET NULL,
    changed_at TEXT NOT NULL
);
CREATE INDEX feature_request_status_changes_request ON feature_request_status_changes(request_id);

-- Where status changes are posted for an issue tracker (one row at most; the secret signs them).
CREATE TABLE feature_request_webhook (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
