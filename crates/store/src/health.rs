//! What health scoring keeps: its configuration document (scorecards and grade bands).

use crate::Result;
use async_trait::async_trait;

#[async_trait]
pub trait HealthStore: Send + Sync {
    /// The saved configuration as JSON, if one was saved.
    async fn load_health_config(&self) -> Result<Option<String>>;
    async fn save_health_config(&self, document: &str) -> Result<()>;
}

macro_rules! health_store {
    ($store:ident, $db:ident) => {
        #[async_trait::async_trait]
        impl $crate::health::HealthStore for $store {
            async fn load_health_config(&self) -> $crate::Result<Option<String>> {
                Ok(sqlx::query_scalar("SELECT document FROM health_config WHERE id = 1").fetch_optional(&self.pool).await?)
            }

            async fn save_health_config(&self, document: &str) -> $crate::Result<()> {
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
        }
    };
}

pub(crate) use health_store;
