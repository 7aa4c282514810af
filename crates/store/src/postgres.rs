//! PostgreSQL: for teams, larger data and several app nodes sharing one database.

use crate::ingest_memory::IngestMemory;
use crate::{Backend, Result};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Pool, Postgres};

pub struct PostgresStore {
    /// Recent message keys and cached end users; held for the length of an ingest.
    memory: tokio::sync::Mutex<IngestMemory>,
    /// This store's name in the change log.
    origin: String,
    pool: Pool<Postgres>,
}

impl PostgresStore {
    pub async fn connect(url: &str) -> Result<PostgresStore> {
        let pool = PgPoolOptions::new().max_connections(16).connect(url).await?;
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        ingest_sql::adopt_row_events(&pool).await?;
        fill_search_keys(&pool).await?;
        index_search_keys_by_trigram(&pool).await;
        Ok(PostgresStore { pool, memory: Default::default(), origin: crate::change_log::new_origin() })
    }

    const BACKEND: Backend = Backend::Postgres;
    /// How a transaction that will write begins.
    const WRITE_BEGIN: &'static str = "BEGIN";
    /// Appended to a SELECT to hold a shared row lock until commit.
    const SHARE_LOCK: &'static str = " FOR SHARE";
    /// Counts the tables named `$1` (0 or 1).
    const TABLE_EXISTS: &'static str =
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1";
    /// Selects the rows of a JSON array of arrays bound as `$1`, one column per element, cast
    /// to `types`. Bulk statements bind one text instead of a parameter per value, so their SQL
    /// is the same each time and stays prepared.
    fn json_rows(types: &[&str]) -> String {
        let columns: Vec<String> = types.iter().enumerate().map(|(i, t)| format!("(r ->> {i})::{t}")).collect();
        format!("SELECT {} FROM json_array_elements($1::json) AS r WHERE true", columns.join(", "))
    }
    /// Selects the values of a JSON array bound as `$1`, cast to `pg_type`.
    fn json_values(pg_type: &str) -> String {
        format!("SELECT json_array_elements_text($1::json)::{pg_type} AS value")
    }
    /// How an ingest transaction begins: ingests from every node run one at a time, so each sees
    /// the message keys of all before it. The lock goes in the same round trip as the BEGIN.
    const INGEST_BEGIN: &'static str = "BEGIN; SELECT pg_advisory_xact_lock(7301004)";
}

/// Lets the account search (`search_key LIKE '%…%'`) read a trigram index instead of scanning
/// every account: 114 → 5 ms p95 for an external id at 100,000 accounts (BENCHMARKS.md). Best effort and outside the
/// migrations, because `pg_trgm` ships with PostgreSQL's contrib package, which a self-hosted
/// server may lack, and creating it needs the CREATE privilege on the database; without it the
/// search still works by scanning.
async fn index_search_keys_by_trigram(pool: &Pool<Postgres>) {
    const STATEMENTS: [&str; 2] = [
        "CREATE EXTENSION IF NOT EXISTS pg_trgm",
        "CREATE INDEX IF NOT EXISTS accounts_search_key_trigrams ON accounts USING gin (search_key gin_trgm_ops)",
    ];
    for statement in STATEMENTS {
        if let Err(error) = sqlx::query(statement).execute(pool).await {
            tracing::warn!(%error, statement, "account search will scan every account: no trigram index");
            return;
        }
    }
}

crate::sql::sql_store!(PostgresStore, Postgres);
crate::usage::usage_store!(PostgresStore, Postgres);
crate::health::health_store!(PostgresStore, Postgres);
crate::playbooks::playbook_store!(PostgresStore, Postgres);
crate::segments::segment_store!(PostgresStore, Postgres);
crate::tasks::task_store!(PostgresStore, Postgres);
crate::renewals::renewal_store!(PostgresStore, Postgres);
crate::feedback::feedback_store!(PostgresStore, Postgres);
crate::notifications::notification_store!(PostgresStore, Postgres);
crate::staged_imports::staged_import_store!(PostgresStore, Postgres);
crate::change_log::change_log_store!(PostgresStore, Postgres);
crate::kpi::kpi_store!(PostgresStore, Postgres);
crate::tech_touch::tech_touch_store!(PostgresStore, Postgres);
crate::staff::staff_store!(PostgresStore, Postgres);
crate::workspace::workspace_store!(PostgresStore);
crate::timeline::timeline_store!(PostgresStore, Postgres);
crate::ingest::ingest_store!(PostgresStore, Postgres);
crate::interchange::interchange_store!(PostgresStore, Postgres);
crate::accounts::accounts_store!(PostgresStore, Postgres);
crate::voice::voice_store!(PostgresStore, Postgres);
crate::onboarding::onboarding_store!(PostgresStore, Postgres);
