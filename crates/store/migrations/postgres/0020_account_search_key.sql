-- What the account list's text search compares: the account's name, external id, domain and
-- reading, normalized by `domain::search::account_key` (width, case, spaces, katakana as
-- hiragana) and written with every account write. NULL until computed: the store fills the keys
-- of existing accounts when it opens.
-- No B-tree index: PostgreSQL would not use one for `LIKE '%…%'` (a trigram index needs the
-- pg_trgm extension, which a self-hosted database may not have); the scan compares prepared
-- text instead of lower-casing two columns per row.

ALTER TABLE accounts ADD COLUMN search_key TEXT;
