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
    /// Appends an entry; returns its number.
    async fn log_change(
        &self,
        origin: &str,
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
            use $crate::change_log::{accounts_text, ChangeLogStore, ChangeRow, LoggedChange};
            use $crate::Result;

            #[async_trait::async_trait]
            impl ChangeLogStore for $store {
                async fn log_change(
                    &self,
                    origin: &str,
                    whole: bool,
                    accounts: &[(AccountId, Option<NaiveDate>)],
                    at: DateTime<Utc>,
                ) -> Result<i64> {
                    let seq: i64 = sqlx::query_scalar(
                        "INSERT INTO change_log (origin, whole, accounts, changed_at) VALUES ($1, $2, $3, $4) RETURNING seq",
                    )
                    .bind(origin)
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
                    let seq: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM change_log").fetch_one(&self.pool).await?;
                    Ok(seq.unwrap_or(0))
                }

                async fn prune_changes(&self, before: DateTime<Utc>) -> Result<()> {
                    sqlx::query("DELETE FROM change_log WHERE changed_at < $1").bind(before).execute(&self.pool).await?;
                    Ok(())
                }
            }
        }
    };
}

pub(crate) use change_log_store;
