//! CSV files uploaded in the browser, kept between their dry run and their import.

use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::UserId;

/// An uploaded file waiting to be imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedImport {
    pub token: String,
    pub user_id: UserId,
    /// The import kind's name (`accounts`, `contacts`, …).
    pub kind: String,
    pub file_name: String,
    /// `utf-8` or `shift_jis` when the uploader chose one; detected otherwise.
    pub encoding: Option<String>,
    pub content: Vec<u8>,
    pub created_at: DateTime<Utc>,
}

#[async_trait]
pub trait StagedImportStore: Send + Sync {
    /// Keeps a file, and forgets the files staged before `forget_before`.
    async fn stage_import(&self, staged: &StagedImport, forget_before: DateTime<Utc>) -> Result<()>;
    /// The file `token` names, if `user` staged it.
    async fn staged_import(&self, token: &str, user: UserId) -> Result<Option<StagedImport>>;
    async fn drop_staged_import(&self, token: &str) -> Result<()>;
}

macro_rules! staged_import_store {
    ($store:ident, $db:ident) => {
        mod staged_import_sql {
            use super::$store;
            use chrono::{DateTime, Utc};
            use domain::UserId;
            use sqlx::Row;
            use $crate::staged_imports::{StagedImport, StagedImportStore};
            use $crate::Result;

            #[async_trait::async_trait]
            impl StagedImportStore for $store {
                async fn stage_import(&self, staged: &StagedImport, forget_before: DateTime<Utc>) -> Result<()> {
                    let mut tx = self.pool.begin_with($store::WRITE_BEGIN).await?;
                    sqlx::query("DELETE FROM staged_imports WHERE created_at < $1")
                        .bind(forget_before)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(
                        "INSERT INTO staged_imports (token, user_id, kind, file_name, encoding, content, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(&staged.token)
                    .bind(staged.user_id.0)
                    .bind(&staged.kind)
                    .bind(&staged.file_name)
                    .bind(&staged.encoding)
                    .bind(&staged.content)
                    .bind(staged.created_at)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn staged_import(&self, token: &str, user: UserId) -> Result<Option<StagedImport>> {
                    let row = sqlx::query(
                        "SELECT token, user_id, kind, file_name, encoding, content, created_at FROM staged_imports \
                         WHERE token = $1 AND user_id = $2",
                    )
                    .bind(token)
                    .bind(user.0)
                    .fetch_optional(&self.pool)
                    .await?;
                    row.map(|row| {
                        Ok(StagedImport {
                            token: row.try_get("token")?,
                            user_id: UserId(row.try_get("user_id")?),
                            kind: row.try_get("kind")?,
                            file_name: row.try_get("file_name")?,
                            encoding: row.try_get("encoding")?,
                            content: row.try_get("content")?,
                            created_at: row.try_get("created_at")?,
                        })
                    })
                    .transpose()
                }

                async fn drop_staged_import(&self, token: &str) -> Result<()> {
                    sqlx::query("DELETE FROM staged_imports WHERE token = $1").bind(token).execute(&self.pool).await?;
                    Ok(())
                }
            }
        }
    };
}

pub(crate) use staged_import_store;
