//! SQLite: the embedded default. One file in the data directory, WAL, foreign keys on.

use crate::ingest_memory::IngestMemory;
use crate::{Backend, Result};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Pool, Sqlite};
use std::path::Path;
use std::time::Duration;

pub struct SqliteStore {
    /// Recent message keys and cached end users; held for the length of an ingest.
    memory: tokio::sync::Mutex<IngestMemory>,
    /// This store's name in the change log.
    origin: String,
    pool: Pool<Sqlite>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies pending migrations.
    pub async fn open(path: &Path) -> Result<SqliteStore> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(60))
            .pragma("temp_store", "memory")
            .pragma("cache_size", "-65536");
        let pool = SqlitePoolOptions::new().max_connections(8).connect_with(options).await?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        ingest_sql::adopt_row_events(&pool).await?;
        fill_search_keys(&pool).await?;
        Ok(SqliteStore { pool, memory: Default::default(), origin: crate::change_log::new_origin() })
    }

    /// Writes a consistent copy of the database to `target` while it stays in use.
    pub async fn backup(&self, target: &Path) -> Result<()> {
        sqlx::query("VACUUM INTO $1").bind(target.to_string_lossy().into_owned()).execute(&self.pool).await?;
        Ok(())
    }

    const BACKEND: Backend = Backend::Sqlite;
    /// How a transaction that will write begins (immediately taking the write lock, so its reads stay valid).
    const WRITE_BEGIN: &'static str = "BEGIN IMMEDIATE";
    /// Appended to a SELECT to hold a shared row lock until commit (SQLite has one writer; nothing to add).
    const SHARE_LOCK: &'static str = "";
    /// Counts the tables named `$1` (0 or 1).
    const TABLE_EXISTS: &'static str = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1";
    /// Selects the rows of a JSON array of arrays bound as `$1`, one column per element
    /// (`types` are PostgreSQL's casts; SQLite keeps JSON's own types). Bulk statements bind one
    /// text instead of a parameter per value, so their SQL is the same each time and stays prepared.
    fn json_rows(types: &[&str]) -> String {
        let columns: Vec<String> = (0..types.len()).map(|i| format!("value ->> {i}")).collect();
        format!("SELECT {} FROM json_each($1) WHERE true", columns.join(", "))
    }
    /// Selects the values of a JSON array bound as `$1` (SQLite keeps JSON's own types).
    fn json_values(_pg_type: &str) -> String {
        "SELECT value FROM json_each($1)".to_owned()
    }
    /// How an ingest transaction begins: ingests from every node run one at a time, so each sees
    /// the message keys of all before it (the write lock already does this).
    const INGEST_BEGIN: &'static str = "BEGIN IMMEDIATE";
}

crate::sql::sql_store!(SqliteStore, Sqlite);
crate::usage::usage_store!(SqliteStore, Sqlite);
crate::health::health_store!(SqliteStore, Sqlite);
crate::playbooks::playbook_store!(SqliteStore, Sqlite);
crate::segments::segment_store!(SqliteStore, Sqlite);
crate::tasks::task_store!(SqliteStore, Sqlite);
crate::renewals::renewal_store!(SqliteStore, Sqlite);
crate::feedback::feedback_store!(SqliteStore, Sqlite);
crate::notifications::notification_store!(SqliteStore, Sqlite);
crate::staged_imports::staged_import_store!(SqliteStore, Sqlite);
crate::change_log::change_log_store!(SqliteStore, Sqlite);
crate::kpi::kpi_store!(SqliteStore, Sqlite);
crate::tech_touch::tech_touch_store!(SqliteStore, Sqlite);
crate::staff::staff_store!(SqliteStore, Sqlite);
crate::workspace::workspace_store!(SqliteStore);
crate::timeline::timeline_store!(SqliteStore, Sqlite);
crate::ingest::ingest_store!(SqliteStore, Sqlite);
crate::interchange::interchange_store!(SqliteStore, Sqlite);
crate::accounts::accounts_store!(SqliteStore, Sqlite);
crate::voice::voice_store!(SqliteStore, Sqlite);
crate::onboarding::onboarding_store!(SqliteStore, Sqlite);
