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
}

crate::sql::sql_store!(PostgresStore, Postgres);
