//! Fresh, empty stores for tests: SQLite always, PostgreSQL too when `TEST_DATABASE_URL` is set.
//! Each PostgreSQL store lives in a database of its own, dropped by `TestStore::finish`.

use crate::{PostgresStore, SqliteStore, Store};
use domain::account::AccountInput;
use domain::ExternalId;
use sqlx::{Connection, Executor, PgConnection};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

pub struct TestStore {
    pub label: &'static str,
    pub store: Arc<dyn Store>,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite { dir: tempfile::TempDir },
    Postgres(TestDatabase),
}

/// A transaction on a connection of its own that keeps ingestion waiting until released (for
/// backpressure tests).
pub enum IngestBlocker {
    Sqlite(sqlx::SqliteConnection),
    Postgres(PgConnection),
}

impl IngestBlocker {
    pub async fn release(self) {
        match self {
            IngestBlocker::Sqlite(mut connection) => drop(connection.execute("ROLLBACK").await),
            IngestBlocker::Postgres(mut connection) => drop(connection.execute("ROLLBACK").await),
        }
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The backends every store test runs on.
pub async fn test_stores() -> Vec<TestStore> {
    let mut stores = vec![sqlite_store().await];
    if let Ok(url) = std::env::var("TEST_DATABASE_URL") {
        stores.push(postgres_store(&url).await);
    }
    stores
}

pub async fn sqlite_store() -> TestStore {
    let dir = tempfile::tempdir().expect("temporary directory for the test database");
    let store = SqliteStore::open(&dir.path().join("kizuna.db")).await.expect("open SQLite test store");
    TestStore { label: "sqlite", store: Arc::new(store), cleanup: Cleanup::Sqlite { dir } }
}

pub async fn postgres_store(admin_url: &str) -> TestStore {
    let database = TestDatabase::create(admin_url).await;
    let store = PostgresStore::connect(&database.url).await.expect("open PostgreSQL test store");
    TestStore { label: "postgres", store: Arc::new(store), cleanup: Cleanup::Postgres(database) }
}

/// An empty PostgreSQL database of its own, for one test.
pub struct TestDatabase {
    pub url: String,
    admin_url: String,
    name: String,
}

impl TestDatabase {
    pub async fn create(admin_url: &str) -> TestDatabase {
        let name = format!(
            "kizuna_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            chrono::Utc::now().timestamp_micros()
        );
        let mut admin = PgConnection::connect(admin_url).await.expect("connect to TEST_DATABASE_URL");
        admin.execute(format!("CREATE DATABASE {name}").as_str()).await.expect("create test database");
        admin.close().await.ok();
        TestDatabase { url: with_database(admin_url, &name), admin_url: admin_url.to_owned(), name }
    }

    pub async fn drop_database(self) {
        if let Ok(mut admin) = PgConnection::connect(&self.admin_url).await {
            let _ = admin.execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name).as_str()).await;
        }
    }
}

/// Replaces the database name of a PostgreSQL URL.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{database}?{q}"),
        None => format!("{base}/{database}"),
    }
}

impl TestStore {
    /// Another store on the same database, as a second process or node opens it.
    pub async fn another_store(&self) -> Arc<dyn Store> {
        match &self.cleanup {
            Cleanup::Sqlite { dir } => {
                Arc::new(SqliteStore::open(&dir.path().join("kizuna.db")).await.expect("a second SQLite store"))
            }
            Cleanup::Postgres(database) => {
                Arc::new(PostgresStore::connect(&database.url).await.expect("a second PostgreSQL store"))
            }
        }
    }

    /// Takes the lock every ingest needs: SQLite's write lock, or PostgreSQL's lock on the
    /// usage catalog row that ingests read under a shared lock.
    pub async fn block_ingest(&self) -> IngestBlocker {
        match &self.cleanup {
            Cleanup::Sqlite { dir } => {
                let url = format!("sqlite:{}", dir.path().join("kizuna.db").display());
                let mut connection = sqlx::SqliteConnection::connect(&url).await.expect("a second SQLite connection");
                connection.execute("BEGIN IMMEDIATE").await.expect("the SQLite write lock");
                IngestBlocker::Sqlite(connection)
            }
            Cleanup::Postgres(database) => {
                let mut connection =
                    PgConnection::connect(&database.url).await.expect("a second PostgreSQL connection");
                connection.execute("BEGIN").await.expect("a transaction");
                connection.execute("LOCK TABLE usage_catalog IN EXCLUSIVE MODE").await.expect("the usage catalog lock");
                IngestBlocker::Postgres(connection)
            }
        }
    }

    /// Forgets every account's search key, as in a database written before the key existed
    /// (the next store opened on it computes them again).
    pub async fn clear_search_keys(&self) {
        const CLEAR: &str = "UPDATE accounts SET search_key = NULL";
        match &self.cleanup {
            Cleanup::Sqlite { dir } => {
                let url = format!("sqlite:{}", dir.path().join("kizuna.db").display());
                let mut connection = sqlx::SqliteConnection::connect(&url).await.expect("a second SQLite connection");
                connection.execute(CLEAR).await.expect("search keys cleared");
            }
            Cleanup::Postgres(database) => {
                let mut connection =
                    PgConnection::connect(&database.url).await.expect("a second PostgreSQL connection");
                connection.execute(CLEAR).await.expect("search keys cleared");
            }
        }
    }

    /// Drops the PostgreSQL database; SQLite's directory goes with the value.
    pub async fn finish(self) {
        let TestStore { store, cleanup, .. } = self;
        drop(store);
        if let Cleanup::Postgres(database) = cleanup {
            database.drop_database().await;
        }
    }
}

/// An account with only an external id and a name, for tests that need some account.
pub fn account_input(external: &str, name: &str) -> AccountInput {
    AccountInput::new(ExternalId::parse(external).unwrap(), name)
}
