//! The change log: which accounts each node changed, numbered in order, so that every node's
//! resident scoring engine can follow the others' writes and re-read only what they touched.

use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use domain::AccountId;

/// One entry: a node's change to some accounts (from a day, or everything about them), or to
/// everything (`whole`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedChange {
    pub seq: i64,
    pub origin: String,
    pub whole: bool,
    pub accounts: Vec<(AccountId, Option<NaiveDate>)>,
}

#[async_trait]
pub trait ChangeLogStore: Send + Sync {
    /// This store's name in the change log, drawn when it was opened: a node skips the entries
    /// its own store wrote, which it marked already.
    fn origin(&self) -> &str;
    /// Appends an entry under this store's origin; returns its number. An ingest writes its own
    /// entry in its transaction.
    async fn log_change(
        &self,
        whole: bool,
        accounts: &[(AccountId, Option<NaiveDate>)],
        at: DateTime<Utc>,
    ) -> Result<i64>;
    /// Entries numbered above `after`, oldest first, at most `limit`.
    async fn changes_after(&self, after: i64, limit: i64) -> Result<Vec<LoggedChange>>;
    /// The highest number given so far (0 when none).
    async fn last_change(&self) -> Result<i64>;
    /// Forgets entries written before `before`.
    async fn prune_changes(&self, before: DateTime<Utc>) -> Result<()>;
}

/// A `change_log` row.
#[derive(sqlx::FromRow)]
pub(crate) struct ChangeRow {
    seq: i64,
    origin: String,
    whole: bool,
    accounts: String,
}

impl TryFrom<ChangeRow> for LoggedChange {
    type Error = crate::StoreError;

    fn try_from(row: ChangeRow) -> Result<LoggedChange> {
        let accounts: Vec<(i64, Option<NaiveDate>)> =
            serde_json::from_str(&row.accounts).map_err(|e| crate::StoreError::Corrupt {
                entity: crate::Entity::ChangeLog,
                detail: format!("{}: accounts: {e}", row.seq),
            })?;
        Ok(LoggedChange {
            seq: row.seq,
            origin: row.origin,
            whole: row.whole,
            accounts: accounts.into_iter().map(|(id, since)| (AccountId(id), since)).collect(),
        })
    }
}

/// A name no other store draws: two nodes drawing the same one would skip each other's entries.
pub(crate) fn new_origin() -> String {
    let mut bytes = [0u8; 8];
    // On failure the time still tells nodes apart.
    match getrandom::fill(&mut bytes) {
        Ok(()) => format!("{:016x}", u64::from_le_bytes(bytes)),
        Err(_) => format!("{:x}", Utc::now().timestamp_nanos_opt().unwrap_or_default()),
    }
}

/// The change log's one insert, used alone and inside an ingest's transaction.
pub(crate) const INSERT_CHANGE: &str =
    "INSERT INTO change_log (origin, whole, accounts, changed_at) VALUES ($1, $2, $3, $4) RETURNING seq";

pub(crate) fn accounts_text(accounts: &[(AccountId, Option<NaiveDate>)]) -> Result<String> {
    let plain: Vec<(i64, Option<NaiveDate>)> = accounts.iter().map(|(id, since)| (id.0, *since)).collect();
    serde_json::to_string(&plain)
        .map_err(|e| crate::StoreError::Corrupt { entity: crate::Entity::ChangeLog, detail: format!("accounts: {e}") })
}

macro_rules! change_log_store {
    ($store:ident, $db:ident) => {
        mod change_log_sql {
            use super::$store;
            use chrono::{DateTime, NaiveDate, Utc};
            use domain::AccountId;
            use $crate::change_log::{accounts_text, ChangeLogStore, ChangeRow, LoggedChange, INSERT_CHANGE};
            use $crate::Result;

            #[async_trait::async_trait]
            impl ChangeLogStore for $store {
                fn origin(&self) -> &str {
                    &self.origin
                }

                async fn log_change(
                    &self,
                    whole: bool,
                    accounts: &[(AccountId, Option<NaiveDate>)],
                    at: DateTime<Utc>,
                ) -> Result<i64> {
                    let seq: i64 = sqlx::query_scalar(INSERT_CHANGE)
                        .bind(&self.origin)
                        .bind(whole)
                        .bind(accounts_text(accounts)?)
                        .bind(at)
                        .fetch_one(&self.pool)
                        .await?;
                    Ok(seq)
                }

                async fn changes_after(&self, after: i64, limit: i64) -> Result<Vec<LoggedChange>> {
                    let rows: Vec<ChangeRow> = sqlx::query_as(
                        "SELECT seq, origin, whole, accounts FROM change_log WHERE seq > $1 ORDER BY seq LIMIT $2",
                    )
                    .bind(after)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.into_iter().map(LoggedChange::try_from).collect()
                }

                async fn last_change(&self) -> Result<i64> {
                    let seq: Option<i64> =
                        sqlx::query_scalar("SELECT MAX(seq) FROM change_log").fetch_one(&self.pool).await?;
                    Ok(seq.unwrap_or(0))
                }

                async fn prune_changes(&self, before: DateTime<Utc>) -> Result<()> {
                    sqlx::query("DELETE FROM change_log WHERE changed_at < $1")
                        .bind(before)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }
            }
        }
    };
}

pub(crate) use change_log_store;
