-- The voice of the customer, imported from the survey tool and the help desk (nps.csv,
-- tickets.csv). Days are the workspace time zone's, as ISO text.

-- A contact answers at most once a day per account, so that triple is the answer's identity and
-- re-importing a survey export changes nothing.
CREATE TABLE nps_responses (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    contact_email TEXT NOT NULL,
    responded_on TEXT NOT NULL,
    score INTEGER NOT NULL CHECK (score BETWEEN 0 AND 10),
    comment TEXT,
    PRIMARY KEY (account_id, contact_email, responded_on)
);

CREATE TABLE tickets (
    ticket_id TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    created_on TEXT NOT NULL,
    solved_on TEXT,
    priority TEXT NOT NULL,
    status TEXT NOT NULL,
    subject TEXT
);
CREATE INDEX tickets_account ON tickets(account_id, created_on);
