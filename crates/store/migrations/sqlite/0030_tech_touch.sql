-- Tech touch: in-app messages and surveys (kind), each defined as JSON the domain validates.
CREATE TABLE touch_items (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    definition TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- What happened between a person (an end user of the customer's product, or a contact's email)
-- and a message or survey: shown, held out, clicked, dismissed, answered, emailed. Caps,
-- throttles and the holdout comparison are counted from here, never from the browser.
CREATE TABLE touch_exposures (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    item_id INTEGER NOT NULL REFERENCES touch_items(id) ON DELETE CASCADE,
    round INTEGER,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    person TEXT NOT NULL,
    outcome TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX touch_exposures_person ON touch_exposures(person, at);
CREATE INDEX touch_exposures_item ON touch_exposures(item_id, outcome);

-- Messages a playbook step asked to show an account.
CREATE TABLE touch_enrollments (
    item_id INTEGER NOT NULL REFERENCES touch_items(id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    enrolled_at TEXT NOT NULL,
    PRIMARY KEY (item_id, account_id)
);

-- One answer per person per survey round. NPS answers are also written to nps_responses,
-- where imported answers live and health scoring reads them.
CREATE TABLE survey_answers (
    id INTEGER PRIMARY KEY,
    survey_id INTEGER NOT NULL REFERENCES touch_items(id) ON DELETE CASCADE,
    round INTEGER NOT NULL,
    person TEXT NOT NULL,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    score INTEGER NOT NULL,
    comment TEXT,
    channel TEXT NOT NULL,
    answered_at TEXT NOT NULL,
    UNIQUE (survey_id, round, person)
);
CREATE INDEX survey_answers_account ON survey_answers(account_id, answered_at);

-- The workspace's caps (JSON) and the key survey links are signed with (never shown).
CREATE TABLE touch_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    caps TEXT,
    link_secret TEXT NOT NULL
);
