//! PostgreSQL: for teams, larger data and several app nodes sharing one database.

use crate::{Backend, Result};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Pool, Postgres};

pub struct PostgresStore {
    pool: Pool<Postgres>,
}

impl PostgresStore {
    pub async fn connect(url: &str) -> Result<PostgresStore> {
        let pool = PgPoolOptions::new().max_connections(16).connect(url).await?;
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        Ok(PostgresStore { pool })
    }

    const BACKEND: Backend = Backend::Postgres;
    /// How a transaction that will write begins.
    const WRITE_BEGIN: &'static str = "BEGIN";
    /// Appended to a SELECT to hold a shared row lock until commit.
    const SHARE_LOCK: &'static str = " FOR SHARE";
}

crate::sql::sql_store!(PostgresStore, Postgres);
crate::usage::usage_store!(PostgresStore, Postgres);
crate::health::health_store!(PostgresStore, Postgres);
crate::playbooks::playbook_store!(PostgresStore, Postgres);
crate::segments::segment_store!(PostgresStore, Postgres);
crate::tasks::task_store!(PostgresStore, Postgres);
crate::onboarding::onboarding_store!(PostgresStore, Postgres);
