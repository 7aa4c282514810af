//! What health scoring keeps: its configuration document, CSM pulses, and one snapshot per
//! account per day.

use crate::error::{Entity, StoreError};
use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use domain::health::history::Snapshot;
use domain::health::pulse::{PulseInput, PulseReason};
use domain::{AccountId, UserId};
use serde::Serialize;
use std::collections::HashMap;

/// An account's grade and score on a day, as a snapshot stored them.
#[derive(Debug, Clone, PartialEq)]
pub struct GradeOn {
    pub day: NaiveDate,
    pub score: Option<f64>,
    pub grade: String,
}

/// A CSM pulse as stored.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Pulse {
    pub id: i64,
    pub account_id: i64,
    pub author_id: Option<i64>,
    pub score: i64,
    pub reasons: Vec<PulseReason>,
    pub comment: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The workspace day it was given on.
    pub day: NaiveDate,
}

#[async_trait]
pub trait HealthStore: Send + Sync {
    /// The saved configuration as JSON, if one was saved.
    async fn load_health_config(&self) -> Result<Option<String>>;
    async fn save_health_config(&self, document: &str) -> Result<()>;

    async fn add_pulse(
        &self,
        account: AccountId,
        author: Option<UserId>,
        input: &PulseInput,
        day: NaiveDate,
    ) -> Result<Pulse>;
    /// Pulses of one account or all, newest first.
    async fn pulses(&self, account: Option<AccountId>) -> Result<Vec<Pulse>>;

    /// Saves each account's snapshot and makes it, with its 30-day change, the account's current
    /// health, in one transaction, unless the account's current health is of a later day (a
    /// backfilled past day does not replace it). A churned account (`churned_on` set with its
    /// figures) keeps no current health even when a snapshot for it arrives.
    async fn save_health(&self, scored: &[(AccountId, Snapshot, Option<f64>)]) -> Result<()>;
    /// Each account's grade and score on its latest snapshot on or before `day`.
    async fn grades_on(&self, day: NaiveDate, accounts: Option<&[AccountId]>) -> Result<HashMap<AccountId, GradeOn>>;
    /// Snapshots of one account from `from`, oldest first.
    async fn snapshots(&self, account: AccountId, from: NaiveDate) -> Result<Vec<Snapshot>>;
    /// Each account's latest grade before `day` and its grades from `day` on, by account and day
    /// (of these accounts, or all): enough to find grade changes since `day` (the measures are
    /// not read).
    async fn grades_around(&self, day: NaiveDate, accounts: Option<&[AccountId]>) -> Result<Vec<(AccountId, GradeOn)>>;
}

/// A `pulses` row; the reasons are JSON text.
#[derive(sqlx::FromRow)]
pub(crate) struct PulseRow {
    id: i64,
    account_id: i64,
    author_id: Option<i64>,
    score: i64,
    reasons: String,
    comment: Option<String>,
    created_at: DateTime<Utc>,
    day: NaiveDate,
}

impl TryFrom<PulseRow> for Pulse {
    type Error = StoreError;

    fn try_from(row: PulseRow) -> Result<Pulse> {
        Ok(Pulse {
            id: row.id,
            account_id: row.account_id,
            author_id: row.author_id,
            score: row.score,
            reasons: serde_json::from_str(&row.reasons)
                .map_err(|e| StoreError::Corrupt { entity: Entity::Account, detail: format!("pulse reasons: {e}") })?,
            comment: row.comment,
            created_at: row.created_at,
            day: row.day,
        })
    }
}

/// A `health_snapshots` row; the measures are JSON text.
#[derive(sqlx::FromRow)]
pub(crate) struct SnapshotRow {
    account_id: i64,
    day: NaiveDate,
    score: Option<f64>,
    grade: String,
    measures: String,
}

impl TryFrom<SnapshotRow> for (AccountId, Snapshot) {
    type Error = StoreError;

    fn try_from(row: SnapshotRow) -> Result<(AccountId, Snapshot)> {
        let measures = serde_json::from_str(&row.measures)
            .map_err(|e| StoreError::Corrupt { entity: Entity::Account, detail: format!("health snapshot: {e}") })?;
        Ok((AccountId(row.account_id), Snapshot { day: row.day, score: row.score, grade: row.grade, measures }))
    }
}

macro_rules! health_store {
    ($store:ident, $db:ident) => {
        mod health_sql {
            use super::{$db, $store};
            use $crate::error::{Entity, StoreError};
            use $crate::health::{HealthStore, Pulse};
            use $crate::Result;
            use chrono::NaiveDate;
            use domain::health::history::Snapshot;
            use domain::health::pulse::PulseInput;
            use domain::{AccountId, UserId};
            use sqlx::{FromRow, QueryBuilder, Row};
            use std::collections::HashMap;

            fn pulse_from_row(row: &<$db as sqlx::Database>::Row) -> Result<Pulse> {
                Pulse::try_from($crate::health::PulseRow::from_row(row)?)
            }

            fn snapshot_from_row(row: &<$db as sqlx::Database>::Row) -> Result<(AccountId, Snapshot)> {
                <(AccountId, Snapshot)>::try_from($crate::health::SnapshotRow::from_row(row)?)
            }

            /// Each account's latest snapshot day before (`<`) or on (`<=`) a day. For listed
            /// accounts (their ids bound as `$1`, the day as `$2`) one index probe each; grouping
            /// every earlier snapshot of 40,000 listed accounts took 3 s on PostgreSQL. For all
            /// accounts (the day as `$1`) one pass over the table.
            fn latest_days(compare: &str, listed: bool) -> String {
                match listed {
                    true => format!(
                        "SELECT ids.value AS account_id, (SELECT MAX(h.day) FROM health_snapshots h \
                         WHERE h.account_id = ids.value AND h.day {compare} $2) AS day FROM ({}) ids",
                        <$store>::json_values("bigint")
                    ),
                    false => format!("SELECT account_id, MAX(day) AS day FROM health_snapshots WHERE day {compare} $1 GROUP BY account_id"),
                }
            }

            #[async_trait::async_trait]
            impl HealthStore for $store {
                async fn load_health_config(&self) -> Result<Option<String>> {
                    Ok(sqlx::query_scalar("SELECT document FROM health_config WHERE id = 1").fetch_optional(&self.pool).await?)
                }

                async fn save_health_config(&self, document: &str) -> Result<()> {
                    sqlx::query(
                        "INSERT INTO health_config (id, document, updated_at) VALUES (1, $1, $2) \
                         ON CONFLICT (id) DO UPDATE SET document = excluded.document, updated_at = excluded.updated_at",
                    )
                    .bind(document)
                    .bind(chrono::Utc::now())
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn add_pulse(&self, account: AccountId, author: Option<UserId>, input: &PulseInput, day: NaiveDate) -> Result<Pulse> {
                    let row = sqlx::query(
                        "INSERT INTO csm_pulses (account_id, author_id, score, reasons, comment, created_at, day) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7) \
                         RETURNING id, account_id, author_id, score, reasons, comment, created_at, day",
                    )
                    .bind(account.0)
                    .bind(author.map(|a| a.0))
                    .bind(input.score)
                    .bind(serde_json::to_string(&input.reasons).unwrap_or_else(|_| "[]".into()))
                    .bind(input.comment.clone())
                    .bind(chrono::Utc::now())
                    .bind(day)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(|e| StoreError::from_write(e, Entity::Account, "id"))?;
                    pulse_from_row(&row)
                }

                async fn pulses(&self, account: Option<AccountId>) -> Result<Vec<Pulse>> {
                    let mut qb = QueryBuilder::<$db>::new(
                        "SELECT id, account_id, author_id, score, reasons, comment, created_at, day FROM csm_pulses",
                    );
                    if let Some(account) = account {
                        qb.push(" WHERE account_id = ").push_bind(account.0);
                    }
                    qb.push(" ORDER BY created_at DESC, id DESC");
                    qb.build().fetch_all(&self.pool).await?.iter().map(pulse_from_row).collect()
                }

                async fn save_health(&self, scored: &[(AccountId, Snapshot, Option<f64>)]) -> Result<()> {
                    let mut tx = self.pool.begin_with($store::WRITE_BEGIN).await?;
                    for chunk in scored.chunks($crate::sql::CHUNK) {
                        let mut qb = QueryBuilder::<$db>::new("INSERT INTO health_snapshots (account_id, day, score, grade, measures) ");
                        qb.push_values(chunk, |mut b, (account, s, _)| {
                            b.push_bind(account.0)
                                .push_bind(s.day)
                                .push_bind(s.score)
                                .push_bind(s.grade.clone())
                                .push_bind(serde_json::to_string(&s.measures).unwrap_or_else(|_| "{}".into()));
                        });
                        qb.push(
                            " ON CONFLICT (account_id, day) DO UPDATE SET score = excluded.score, grade = excluded.grade, \
                             measures = excluded.measures",
                        );
                        qb.build().execute(&mut *tx).await?;
                        // A churned account gets no current health; an older day never replaces
                        // a newer one.
                        let mut current = QueryBuilder::<$db>::new(
                            "UPDATE account_health SET health_score = v.column2, health_grade = v.column3, \
                             health_delta_30d = v.column4, health_on = v.column5 FROM (",
                        );
                        current.push_values(chunk, |mut b, (account, s, delta)| {
                            b.push_bind(account.0).push_bind(s.score).push_bind(s.grade.clone()).push_bind(*delta).push_bind(s.day);
                        });
                        current.push(
                            ") AS v, accounts WHERE account_health.account_id = v.column1 AND accounts.id = v.column1 \
                             AND accounts.churned_on IS NULL \
                             AND (account_health.health_on IS NULL OR account_health.health_on <= v.column5)",
                        );
                        current.build().execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                    Ok(())
                }

                async fn grades_on(&self, day: NaiveDate, accounts: Option<&[AccountId]>) -> Result<HashMap<AccountId, $crate::health::GradeOn>> {
                    let sql = format!(
                        "SELECT s.account_id, s.day, s.score, s.grade FROM health_snapshots s JOIN ({}) latest \
                         ON latest.account_id = s.account_id AND latest.day = s.day",
                        latest_days("<=", accounts.is_some())
                    );
                    let mut query = sqlx::query(&sql);
                    if let Some(ids) = accounts {
                        let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
                        query = query.bind(serde_json::to_string(&ids).expect("integers always serialize"));
                    }
                    let rows = query.bind(day).fetch_all(&self.pool).await?;
                    rows.iter()
                        .map(|row| {
                            let grade = $crate::health::GradeOn {
                                day: row.try_get("day")?,
                                score: row.try_get("score")?,
                                grade: row.try_get("grade")?,
                            };
                            Ok((AccountId(row.try_get("account_id")?), grade))
                        })
                        .collect()
                }

                async fn snapshots(&self, account: AccountId, from: NaiveDate) -> Result<Vec<Snapshot>> {
                    let rows = sqlx::query(
                        "SELECT account_id, day, score, grade, measures FROM health_snapshots WHERE account_id = $1 AND day >= $2 ORDER BY day",
                    )
                    .bind(account.0)
                    .bind(from)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter().map(|row| snapshot_from_row(row).map(|(_, s)| s)).collect()
                }

                async fn grades_around(&self, day: NaiveDate, accounts: Option<&[AccountId]>) -> Result<Vec<(AccountId, $crate::health::GradeOn)>> {
                    // Accounts, when given, are bound first as one JSON array, so the statement
                    // stays prepared whatever their number.
                    let (day_param, only) = match accounts {
                        None => ("$1", String::new()),
                        Some(_) => ("$2", format!(" AND account_id IN ({})", <$store>::json_values("bigint"))),
                    };
                    // The grades from the day on, and each account's last one before it.
                    let sql = format!(
                        "SELECT s.account_id, s.day, s.score, s.grade FROM health_snapshots s WHERE day >= {day_param}{only} \
                         UNION ALL \
                         SELECT s.account_id, s.day, s.score, s.grade FROM health_snapshots s JOIN ({}) b \
                         ON b.account_id = s.account_id AND b.day = s.day \
                         ORDER BY 1, 2",
                        latest_days("<", accounts.is_some())
                    );
                    let mut query = sqlx::query(&sql);
                    if let Some(ids) = accounts {
                        let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
                        query = query.bind(serde_json::to_string(&ids).expect("integers always serialize"));
                    }
                    let rows = query.bind(day).fetch_all(&self.pool).await?;
                    rows.iter()
                        .map(|row| {
                            Ok((
                                AccountId(row.try_get("account_id")?),
                                $crate::health::GradeOn { day: row.try_get("day")?, score: row.try_get("score")?, grade: row.try_get("grade")? },
                            ))
                        })
                        .collect()
                }
            }
        }
    };
}

pub(crate) use health_store;
