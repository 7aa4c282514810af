//! What CSMs write about renewals (forecast category, confirmed outcome, churn reason, notes),
//! keyed by account and renewal date, and the weekly forecast snapshots that forecast accuracy
//! is measured against. The renewals themselves are derived from subscription periods.

use crate::error::{Entity, StoreError};
use crate::sql::code;
use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use domain::renewals::{ChurnReason, ForecastCategory, RenewalCall, RenewalOutcome};
use domain::{AccountId, Money, UserId};

/// A CSM's call on one renewal, with who wrote it last and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRenewalCall {
    pub account_id: AccountId,
    pub renewal_date: NaiveDate,
    pub call: RenewalCall,
    pub updated_by: Option<UserId>,
    pub updated_at: DateTime<Utc>,
}

/// One renewal as the forecast saw it on `taken_on`.
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastSnapshotRow {
    pub taken_on: NaiveDate,
    pub account_id: AccountId,
    pub renewal_date: NaiveDate,
    pub arr: Money,
    pub forecast: Option<ForecastCategory>,
    pub churn_probability: Option<f64>,
}

#[async_trait]
pub trait RenewalStore: Send + Sync {
    /// The calls on one account's renewals, or on every account's, oldest renewal first.
    async fn renewal_calls(&self, account: Option<AccountId>) -> Result<Vec<StoredRenewalCall>>;
    /// Creates or replaces the call on one renewal.
    async fn save_renewal_call(&self, call: &StoredRenewalCall) -> Result<()>;
    /// Replaces the snapshot taken on `taken_on` with `rows` (all of which carry that day).
    async fn save_forecast_snapshot(&self, taken_on: NaiveDate, rows: &[ForecastSnapshotRow]) -> Result<()>;
    /// The day of the latest snapshot, if any.
    async fn latest_forecast_snapshot_day(&self) -> Result<Option<NaiveDate>>;
    /// Every snapshot row of renewals dated in [from, to].
    async fn forecast_snapshots(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<ForecastSnapshotRow>>;
}

fn optional_code<T>(
    field: &str,
    raw: Option<String>,
    parse: fn(&str) -> std::result::Result<T, domain::Reason>,
) -> Result<Option<T>> {
    raw.map(|raw| code(Entity::Renewal, field, &raw, parse)).transpose()
}

/// A `renewal_calls` row: the CSM's forecast and confirmed outcome, as codes.
#[derive(sqlx::FromRow)]
pub(crate) struct CallRow {
    account_id: i64,
    renewal_date: NaiveDate,
    forecast: Option<String>,
    forecast_note: Option<String>,
    outcome: Option<String>,
    churn_reason: Option<String>,
    outcome_note: Option<String>,
    updated_by: Option<i64>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<CallRow> for StoredRenewalCall {
    type Error = StoreError;

    fn try_from(row: CallRow) -> Result<StoredRenewalCall> {
        Ok(StoredRenewalCall {
            account_id: AccountId(row.account_id),
            renewal_date: row.renewal_date,
            call: RenewalCall {
                forecast: optional_code("forecast", row.forecast, ForecastCategory::parse)?,
                forecast_note: row.forecast_note,
                outcome: optional_code("outcome", row.outcome, RenewalOutcome::parse)?,
                churn_reason: optional_code("churn_reason", row.churn_reason, ChurnReason::parse)?,
                outcome_note: row.outcome_note,
            },
            updated_by: row.updated_by.map(UserId),
            updated_at: row.updated_at,
        })
    }
}

/// A `renewal_forecast_snapshots` row; ARR is exact decimal text.
#[derive(sqlx::FromRow)]
pub(crate) struct SnapshotRow {
    taken_on: NaiveDate,
    account_id: i64,
    renewal_date: NaiveDate,
    arr: String,
    forecast: Option<String>,
    churn_probability: Option<f64>,
}

impl TryFrom<SnapshotRow> for ForecastSnapshotRow {
    type Error = StoreError;

    fn try_from(row: SnapshotRow) -> Result<ForecastSnapshotRow> {
        Ok(ForecastSnapshotRow {
            taken_on: row.taken_on,
            account_id: AccountId(row.account_id),
            renewal_date: row.renewal_date,
            arr: Money(crate::sql::decimal(Entity::Renewal, &row.arr)?),
            forecast: optional_code("forecast", row.forecast, ForecastCategory::parse)?,
            churn_probability: row.churn_probability,
        })
    }
}

macro_rules! renewal_store {
    ($store:ident, $db:ident) => {
        mod renewal_sql {
            use super::{$db, $store};
            use $crate::error::{Entity, StoreError};
            use $crate::renewals::{ForecastSnapshotRow, RenewalStore, StoredRenewalCall};
            use $crate::Result;
            use chrono::NaiveDate;
            use domain::renewals::{ChurnReason, ForecastCategory, RenewalOutcome};
            use domain::AccountId;
            use sqlx::{FromRow, QueryBuilder};

            fn call_from_row(row: &<$db as sqlx::Database>::Row) -> Result<StoredRenewalCall> {
                StoredRenewalCall::try_from($crate::renewals::CallRow::from_row(row)?)
            }

            fn snapshot_from_row(row: &<$db as sqlx::Database>::Row) -> Result<ForecastSnapshotRow> {
                ForecastSnapshotRow::try_from($crate::renewals::SnapshotRow::from_row(row)?)
            }

            #[async_trait::async_trait]
            impl RenewalStore for $store {
                async fn renewal_calls(&self, account: Option<AccountId>) -> Result<Vec<StoredRenewalCall>> {
                    let mut qb = QueryBuilder::<$db>::new(
                        "SELECT account_id, renewal_date, forecast, forecast_note, outcome, churn_reason, outcome_note, \
                         updated_by, updated_at FROM renewal_calls",
                    );
                    if let Some(account) = account {
                        qb.push(" WHERE account_id = ").push_bind(account.0);
                    }
                    qb.push(" ORDER BY renewal_date, account_id");
                    qb.build().fetch_all(&self.pool).await?.iter().map(call_from_row).collect()
                }

                async fn save_renewal_call(&self, stored: &StoredRenewalCall) -> Result<()> {
                    let call = &stored.call;
                    sqlx::query(
                        "INSERT INTO renewal_calls (account_id, renewal_date, forecast, forecast_note, outcome, \
                         churn_reason, outcome_note, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                         ON CONFLICT (account_id, renewal_date) DO UPDATE SET forecast = excluded.forecast, \
                         forecast_note = excluded.forecast_note, outcome = excluded.outcome, \
                         churn_reason = excluded.churn_reason, outcome_note = excluded.outcome_note, \
                         updated_by = excluded.updated_by, updated_at = excluded.updated_at",
                    )
                    .bind(stored.account_id.0)
                    .bind(stored.renewal_date)
                    .bind(call.forecast.map(ForecastCategory::as_str))
                    .bind(call.forecast_note.as_deref())
                    .bind(call.outcome.map(RenewalOutcome::as_str))
                    .bind(call.churn_reason.map(ChurnReason::as_str))
                    .bind(call.outcome_note.as_deref())
                    .bind(stored.updated_by.map(|u| u.0))
                    .bind(stored.updated_at)
                    .execute(&self.pool)
                    .await
                    .map_err(|e| StoreError::from_write(e, Entity::Renewal, "renewal_date"))?;
                    Ok(())
                }

                async fn save_forecast_snapshot(&self, taken_on: NaiveDate, rows: &[ForecastSnapshotRow]) -> Result<()> {
                    let mut tx = self.pool.begin().await?;
                    sqlx::query("DELETE FROM renewal_forecast_snapshots WHERE taken_on = $1")
                        .bind(taken_on)
                        .execute(&mut *tx)
                        .await?;
                    for chunk in rows.chunks(1_000) {
                        let mut qb = QueryBuilder::<$db>::new(
                            "INSERT INTO renewal_forecast_snapshots (taken_on, account_id, renewal_date, arr, forecast, \
                             churn_probability) ",
                        );
                        qb.push_values(chunk, |mut values, row| {
                            values
                                .push_bind(taken_on)
                                .push_bind(row.account_id.0)
                                .push_bind(row.renewal_date)
                                .push_bind(row.arr.0.to_string())
                                .push_bind(row.forecast.map(ForecastCategory::as_str))
                                .push_bind(row.churn_probability);
                        });
                        qb.build().execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                    Ok(())
                }

                async fn latest_forecast_snapshot_day(&self) -> Result<Option<NaiveDate>> {
                    Ok(sqlx::query_scalar("SELECT MAX(taken_on) FROM renewal_forecast_snapshots")
                        .fetch_one(&self.pool)
                        .await?)
                }

                async fn forecast_snapshots(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<ForecastSnapshotRow>> {
                    sqlx::query(
                        "SELECT taken_on, account_id, renewal_date, arr, forecast, churn_probability \
                         FROM renewal_forecast_snapshots WHERE renewal_date >= $1 AND renewal_date <= $2 \
                         ORDER BY taken_on, renewal_date, account_id",
                    )
                    .bind(from)
                    .bind(to)
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(snapshot_from_row)
                    .collect()
                }
            }
        }
    };
}

pub(crate) use renewal_store;
