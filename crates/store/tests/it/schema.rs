//! The two migration trees (`migrations/sqlite`, `migrations/postgres`) must build the same
//! tables with the same columns: a column added to one backend only is a feature that silently
//! loses data on the other. Runs when TEST_DATABASE_URL names a PostgreSQL server.

use sqlx::{Connection, PgConnection, Row, SqliteConnection};
use std::collections::BTreeSet;
use store::testing::TestDatabase;
use store::{PostgresStore, SqliteStore};

/// Tables that exist on one backend by design, with why.
const ONE_BACKEND_ONLY: &[(&str, &str)] = &[("_sqlx_migrations", "sqlx's own bookkeeping, on both but not ours")];

fn ours(table: &str) -> bool {
    !ONE_BACKEND_ONLY.iter().any(|(name, _)| *name == table) && !table.starts_with("sqlite_")
}

async fn sqlite_columns() -> BTreeSet<(String, String)> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kizuna.db");
    drop(SqliteStore::open(&path).await.unwrap());
    let mut connection = SqliteConnection::connect(&format!("sqlite:{}", path.display())).await.unwrap();
    let rows = sqlx::query(
        "SELECT m.name AS table_name, p.name AS column_name FROM sqlite_master m, pragma_table_info(m.name) p \
         WHERE m.type = 'table'",
    )
    .fetch_all(&mut connection)
    .await
    .unwrap();
    rows.iter().map(|r| (r.get::<String, _>("table_name"), r.get::<String, _>("column_name"))).collect()
}

async fn postgres_columns(admin_url: &str) -> BTreeSet<(String, String)> {
    let database = TestDatabase::create(admin_url).await;
    drop(PostgresStore::connect(&database.url).await.unwrap());
    let mut connection = PgConnection::connect(&database.url).await.unwrap();
    let rows = sqlx::query(
        "SELECT table_name::text AS table_name, column_name::text AS column_name FROM information_schema.columns \
         WHERE table_schema = current_schema()",
    )
    .fetch_all(&mut connection)
    .await
    .unwrap();
    connection.close().await.unwrap();
    let columns = rows.iter().map(|r| (r.get::<String, _>("table_name"), r.get::<String, _>("column_name"))).collect();
    database.drop_database().await;
    columns
}

#[tokio::test]
async fn both_migration_trees_build_the_same_tables_and_columns() {
    let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("TEST_DATABASE_URL is not set: the schemas are not compared");
        return;
    };
    let sqlite: BTreeSet<_> = sqlite_columns().await.into_iter().filter(|(t, _)| ours(t)).collect();
    let postgres: BTreeSet<_> = postgres_columns(&admin_url).await.into_iter().filter(|(t, _)| ours(t)).collect();
    assert!(sqlite.len() > 100, "the SQLite schema was read: {} columns", sqlite.len());
    let only_sqlite: Vec<_> = sqlite.difference(&postgres).collect();
    let only_postgres: Vec<_> = postgres.difference(&sqlite).collect();
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "only in SQLite: {only_sqlite:?}\nonly in PostgreSQL: {only_postgres:?}"
    );
}
