-- What the account list's text search compares: the account's name, external id, domain and
-- reading, normalized by `domain::search::account_key` (width, case, spaces, katakana as
-- hiragana) and written with every account write. NULL until computed: the store fills the keys
-- of existing accounts when it opens. A search scans this index, not the account rows.

ALTER TABLE accounts ADD COLUMN search_key TEXT;
CREATE INDEX accounts_search_key ON accounts(search_key);
