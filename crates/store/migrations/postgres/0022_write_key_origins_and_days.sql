-- Write keys: allowed browser origins (one per line) and per-day message counts.
ALTER TABLE write_keys ADD COLUMN allowed_origins TEXT NOT NULL DEFAULT '';

CREATE TABLE write_key_days (
    key_id BIGINT NOT NULL REFERENCES write_keys(id) ON DELETE CASCADE,
    day DATE NOT NULL,
    accepted BIGINT NOT NULL DEFAULT 0,
    refused BIGINT NOT NULL DEFAULT 0,
    last_used_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (key_id, day)
);
