//! The KPI tree's definition and the monthly numbers people enter for it.

use crate::Result;
use async_trait::async_trait;

/// A number people gave a node for a month.
#[derive(Debug, Clone, PartialEq)]
pub struct KpiValue {
    pub node_key: String,
    /// `YYYY-MM`.
    pub month: String,
    /// `target` or `actual`.
    pub kind: String,
    pub value: f64,
}

#[async_trait]
pub trait KpiStore: Send + Sync {
    /// The saved tree as JSON, if one was saved.
    async fn load_kpi_tree(&self) -> Result<Option<String>>;
    async fn save_kpi_tree(&self, definition: &str) -> Result<()>;
    /// Every target and entered actual.
    async fn kpi_values(&self) -> Result<Vec<KpiValue>>;
    /// Sets (or with `None` removes) one node's number for one month.
    async fn set_kpi_value(&self, node_key: &str, month: &str, kind: &str, value: Option<f64>) -> Result<()>;
}

macro_rules! kpi_store {
    ($store:ident, $db:ident) => {
        mod kpi_sql {
            use super::$store;
            use sqlx::Row;
            use $crate::kpi::{KpiStore, KpiValue};
            use $crate::Result;

            #[async_trait::async_trait]
            impl KpiStore for $store {
                async fn load_kpi_tree(&self) -> Result<Option<String>> {
                    let row =
                        sqlx::query("SELECT definition FROM kpi_tree WHERE id = 1").fetch_optional(&self.pool).await?;
                    Ok(row.map(|r| r.try_get("definition")).transpose()?)
                }

                async fn save_kpi_tree(&self, definition: &str) -> Result<()> {
                    sqlx::query(
                        "INSERT INTO kpi_tree (id, definition) VALUES (1, $1) \
                         ON CONFLICT (id) DO UPDATE SET definition = excluded.definition",
                    )
                    .bind(definition)
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn kpi_values(&self) -> Result<Vec<KpiValue>> {
                    let rows = sqlx::query(
                        "SELECT node_key, month, kind, value FROM kpi_values ORDER BY node_key, month, kind",
                    )
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map(|r| {
                            Ok(KpiValue {
                                node_key: r.try_get("node_key")?,
                                month: r.try_get("month")?,
                                kind: r.try_get("kind")?,
                                value: r.try_get("value")?,
                            })
                        })
                        .collect()
                }

                async fn set_kpi_value(
                    &self,
                    node_key: &str,
                    month: &str,
                    kind: &str,
                    value: Option<f64>,
                ) -> Result<()> {
                    match value {
                        Some(value) => {
                            sqlx::query(
                                "INSERT INTO kpi_values (node_key, month, kind, value) VALUES ($1, $2, $3, $4) \
                                 ON CONFLICT (node_key, month, kind) DO UPDATE SET value = excluded.value",
                            )
                            .bind(node_key)
                            .bind(month)
                            .bind(kind)
                            .bind(value)
                            .execute(&self.pool)
                            .await?;
                        }
                        None => {
                            sqlx::query("DELETE FROM kpi_values WHERE node_key = $1 AND month = $2 AND kind = $3")
                                .bind(node_key)
                                .bind(month)
                                .bind(kind)
                                .execute(&self.pool)
                                .await?;
                        }
                    }
                    Ok(())
                }
            }
        }
    };
}

pub(crate) use kpi_store;
