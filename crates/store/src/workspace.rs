//! The workspace's own settings, each user's saved views of the account list, and sales &
//! marketing spend by month.

use crate::{ImportCounts, Result, SavedView};
use async_trait::async_trait;
use domain::settings::WorkspaceSettings;
use domain::{Money, UserId};

#[async_trait]
pub trait WorkspaceStore: Send + Sync {
    async fn load_settings(&self) -> Result<Option<WorkspaceSettings>>;
    async fn save_settings(&self, settings: &WorkspaceSettings) -> Result<()>;
    /// A user's saved views of the account list, by name.
    async fn saved_views(&self, user: UserId) -> Result<Vec<SavedView>>;
    /// Saves a view under its name, replacing the user's view of the same name.
    async fn save_view(&self, user: UserId, name: &str, query: &str) -> Result<SavedView>;
    /// Deletes one of the user's views; another user's view is not found.
    async fn delete_view(&self, user: UserId, id: i64) -> Result<()>;
    /// Sales & marketing spend by month (`YYYY-MM`).
    async fn spend(&self) -> Result<Vec<(String, Money)>>;
    async fn set_spend(&self, month: &str, amount: Money) -> Result<()>;
    async fn delete_spend(&self, month: &str) -> Result<bool>;
    /// Sets the spend of every month given, in one transaction.
    async fn import_spend(&self, rows: &[(String, Money)]) -> Result<ImportCounts>;
}

macro_rules! workspace_store {
    ($store:ident) => {
        mod workspace_sql {
            use super::$store;
            use $crate::error::{Entity, StoreError};
            use $crate::sql::{decimal, field_sources_from_json, not_found};
            use std::collections::HashMap;
            use $crate::{ImportCounts, Result, SavedView};
            use async_trait::async_trait;
            use domain::settings::WorkspaceSettings;
            use domain::{Currency, Money, UserId};
            use sqlx::Row;

            #[async_trait]
            impl $crate::workspace::WorkspaceStore for $store {
                async fn load_settings(&self) -> Result<Option<WorkspaceSettings>> {
                    let Some(row) = sqlx::query(
                        "SELECT currency, time_zone, fiscal_year_start_month, gross_margin, stages, tracking_field_sources, \
                         monthly_contracts_renew, request_impact_weights, custom_field_labels \
                         FROM workspace_settings WHERE id = 1",
                    )
                    .fetch_optional(&self.pool)
                    .await?
                    else {
                        return Ok(None);
                    };
                    let corrupt = |detail: String| StoreError::Corrupt { entity: Entity::Account, detail };
                    let stages: String = row.try_get("stages")?;
                    let month: i64 = row.try_get("fiscal_year_start_month")?;
                    Ok(Some(WorkspaceSettings {
                        currency: Currency::parse(&row.try_get::<String, _>("currency")?)
                            .map_err(|r| corrupt(format!("workspace currency: {r:?}")))?,
                        time_zone: row.try_get("time_zone")?,
                        fiscal_year_start_month: u32::try_from(month).map_err(|e| corrupt(e.to_string()))?,
                        gross_margin: decimal(Entity::Account, &row.try_get::<String, _>("gross_margin")?)?,
                        stages: serde_json::from_str(&stages).map_err(|e| corrupt(format!("stages: {e}")))?,
                        tracking_field_sources: field_sources_from_json(&row.try_get::<String, _>("tracking_field_sources")?)?,
                        monthly_contracts_renew: row.try_get("monthly_contracts_renew")?,
                        request_impact_weights: serde_json::from_str(&row.try_get::<String, _>("request_impact_weights")?)
                            .map_err(|e| corrupt(format!("request impact weights: {e}")))?,
                        custom_field_labels: serde_json::from_str(&row.try_get::<String, _>("custom_field_labels")?)
                            .map_err(|e| corrupt(format!("custom field labels: {e}")))?,
                    }))
                }

                async fn save_settings(&self, settings: &WorkspaceSettings) -> Result<()> {
                    sqlx::query(
                        "INSERT INTO workspace_settings (id, currency, time_zone, fiscal_year_start_month, gross_margin, stages, \
                         tracking_field_sources, monthly_contracts_renew, request_impact_weights, custom_field_labels) \
                         VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8, $9) \
                         ON CONFLICT (id) DO UPDATE SET \
                         currency = excluded.currency, time_zone = excluded.time_zone, \
                         fiscal_year_start_month = excluded.fiscal_year_start_month, gross_margin = excluded.gross_margin, \
                         stages = excluded.stages, tracking_field_sources = excluded.tracking_field_sources, \
                         monthly_contracts_renew = excluded.monthly_contracts_renew, \
                         request_impact_weights = excluded.request_impact_weights, \
                         custom_field_labels = excluded.custom_field_labels",
                    )
                    .bind(settings.currency.as_str())
                    .bind(settings.time_zone.as_str())
                    .bind(i64::from(settings.fiscal_year_start_month))
                    .bind(settings.gross_margin.to_string())
                    .bind(serde_json::to_string(&settings.stages).expect("a list of strings always serializes"))
                    .bind(serde_json::to_string(&settings.tracking_field_sources).expect("field sources always serialize"))
                    .bind(settings.monthly_contracts_renew)
                    .bind(serde_json::to_string(&settings.request_impact_weights).expect("weights always serialize"))
                    .bind(serde_json::to_string(&settings.custom_field_labels).expect("labels always serialize"))
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn saved_views(&self, user: UserId) -> Result<Vec<SavedView>> {
                    let rows = sqlx::query("SELECT id, name, query FROM saved_views WHERE user_id = $1 ORDER BY name")
                        .bind(user.0)
                        .fetch_all(&self.pool)
                        .await?;
                    rows.iter()
                        .map(|row| Ok(SavedView { id: row.try_get("id")?, name: row.try_get("name")?, query: row.try_get("query")? }))
                        .collect()
                }

                async fn save_view(&self, user: UserId, name: &str, query: &str) -> Result<SavedView> {
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO saved_views (user_id, name, query) VALUES ($1, $2, $3) \
                         ON CONFLICT (user_id, name) DO UPDATE SET query = excluded.query RETURNING id",
                    )
                    .bind(user.0)
                    .bind(name)
                    .bind(query)
                    .fetch_one(&self.pool)
                    .await?;
                    Ok(SavedView { id, name: name.to_owned(), query: query.to_owned() })
                }

                async fn delete_view(&self, user: UserId, id: i64) -> Result<()> {
                    let result = sqlx::query("DELETE FROM saved_views WHERE id = $1 AND user_id = $2")
                        .bind(id)
                        .bind(user.0)
                        .execute(&self.pool)
                        .await?;
                    if result.rows_affected() == 0 {
                        return Err(not_found(Entity::SavedView, id));
                    }
                    Ok(())
                }

                async fn spend(&self) -> Result<Vec<(String, Money)>> {
                    let rows = sqlx::query("SELECT month, amount FROM marketing_spend ORDER BY month").fetch_all(&self.pool).await?;
                    rows.iter()
                        .map(|row| {
                            let amount: String = row.try_get("amount")?;
                            Ok((row.try_get("month")?, Money(decimal(Entity::Account, &amount)?)))
                        })
                        .collect()
                }

                async fn set_spend(&self, month: &str, amount: Money) -> Result<()> {
                    sqlx::query(
                        "INSERT INTO marketing_spend (month, amount) VALUES ($1, $2) ON CONFLICT (month) DO UPDATE SET amount = excluded.amount",
                    )
                    .bind(month)
                    .bind(amount.0.to_string())
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn import_spend(&self, rows: &[(String, Money)]) -> Result<ImportCounts> {
                    let existing: HashMap<String, Money> = self.spend().await?.into_iter().collect();
                    let mut counts = ImportCounts::default();
                    let mut tx = self.pool.begin_with(Self::WRITE_BEGIN).await?;
                    for (month, amount) in rows {
                        match existing.get(month) {
                            Some(current) if current == amount => {
                                counts.unchanged += 1;
                                continue;
                            }
                            Some(_) => counts.updated += 1,
                            None => counts.created += 1,
                        }
                        sqlx::query(
                            "INSERT INTO marketing_spend (month, amount) VALUES ($1, $2) ON CONFLICT (month) DO UPDATE SET amount = excluded.amount",
                        )
                        .bind(month.as_str())
                        .bind(amount.0.to_string())
                        .execute(&mut *tx)
                        .await?;
                    }
                    tx.commit().await?;
                    Ok(counts)
                }

                async fn delete_spend(&self, month: &str) -> Result<bool> {
                    let result = sqlx::query("DELETE FROM marketing_spend WHERE month = $1").bind(month).execute(&self.pool).await?;
                    Ok(result.rows_affected() > 0)
                }
            }
        }
    };
}

pub(crate) use workspace_store;
