-- A CSV file uploaded in the browser and checked (dry run) before it is imported: kept here
-- until its uploader imports or drops it, so any node can finish what another one checked.
CREATE TABLE staged_imports (
    token TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES staff_users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    file_name TEXT NOT NULL,
    encoding TEXT,
    content BLOB NOT NULL,
    created_at TEXT NOT NULL
);
