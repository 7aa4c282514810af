-- What each node changed, in order: every node's resident scoring engine reads the entries other
-- nodes wrote and re-reads only the accounts (and days) they name. `accounts` is a JSON array of
-- [account id, first changed day or null for everything about the account]; `whole` asks every
-- node to reload everything (a catalog edit, a rollup rebuild). Old entries are pruned.
CREATE TABLE change_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    origin TEXT NOT NULL,
    whole BOOLEAN NOT NULL,
    accounts TEXT NOT NULL,
    changed_at TEXT NOT NULL
);
CREATE INDEX change_log_changed_at ON change_log (changed_at);
