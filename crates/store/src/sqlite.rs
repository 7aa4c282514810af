//! SQLite: the embedded default. One file in the data directory, WAL, foreign keys on.

use crate::{Backend, Result};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Pool, Sqlite};
use std::path::Path;
use std::time::Duration;

pub struct SqliteStore {
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
            .busy_timeout(Duration::from_secs(10))
            .pragma("temp_store", "memory")
            .pragma("cache_size", "-65536");
        let pool = SqlitePoolOptions::new().max_connections(8).connect_with(options).await?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        Ok(SqliteStore { pool })
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
}

crate::sql::sql_store!(SqliteStore, Sqlite);
crate::usage::usage_store!(SqliteStore, Sqlite);
crate::health::health_store!(SqliteStore, Sqlite);
crate::playbooks::playbook_store!(SqliteStore, Sqlite);
crate::segments::segment_store!(SqliteStore, Sqlite);
crate::tasks::task_store!(SqliteStore, Sqlite);
crate::onboarding::onboarding_store!(SqliteStore, Sqlite);
