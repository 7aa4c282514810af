-- The health configuration (grade bands and scorecards) as one JSON document; absent until a
-- user saves one, when the shipped default applies.
CREATE TABLE health_config (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    document TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
