//! Product feedback: requests, the evidence linking them to accounts, and each request's status
//! history. A status change and its history entry are written in one transaction, and so is a
//! merge (evidence moved, the merged request pointing at the survivor).

use crate::error::{Entity, StoreError};
use crate::sql::code;
use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::feedback::{EvidenceSource, RequestImportance, RequestInput, RequestStatus, StatusChange};
use domain::{AccountId, ContactId, RequestId, UserId};

/// A request as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct FeatureRequest {
    pub id: RequestId,
    #[serde(flatten)]
    pub input: RequestInput,
    pub status: RequestStatus,
    /// Why it was declined (or the note of the last status change).
    pub status_reason: Option<String>,
    /// The request this one was merged into; a merged request has no evidence of its own.
    pub merged_into: Option<RequestId>,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One customer asking for a request.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Evidence {
    pub id: i64,
    pub request_id: RequestId,
    pub account_id: AccountId,
    pub contact_id: Option<ContactId>,
    pub importance: RequestImportance,
    pub source: EvidenceSource,
    pub quote: Option<String>,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
}

/// Evidence to store, its account resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvidence {
    pub account_id: AccountId,
    pub contact_id: Option<ContactId>,
    pub importance: RequestImportance,
    pub source: EvidenceSource,
    pub quote: Option<String>,
}

/// One status a request went through.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct StatusEntry {
    pub status: RequestStatus,
    pub reason: Option<String>,
    pub changed_by: Option<UserId>,
    pub changed_at: DateTime<Utc>,
}

/// Where status changes are posted, and the secret that signs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestWebhook {
    pub url: String,
    pub secret: String,
}

#[async_trait]
pub trait FeedbackStore: Send + Sync {
    async fn request_webhook(&self) -> Result<Option<RequestWebhook>>;
    /// Sets the webhook, or removes it (`None`).
    async fn save_request_webhook(&self, webhook: Option<&RequestWebhook>, now: DateTime<Utc>) -> Result<()>;
    /// Creates a request with status `new` and its first history entry.
    async fn create_request(
        &self,
        input: &RequestInput,
        by: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Result<FeatureRequest>;
    async fn get_request(&self, id: RequestId) -> Result<FeatureRequest>;
    /// Every request not merged into another, newest first.
    async fn list_requests(&self) -> Result<Vec<FeatureRequest>>;
    async fn update_request(&self, id: RequestId, input: &RequestInput, now: DateTime<Utc>) -> Result<FeatureRequest>;
    /// Sets the status and appends it to the history, in one transaction.
    async fn change_request_status(
        &self,
        id: RequestId,
        change: &StatusChange,
        by: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Result<FeatureRequest>;
    /// The statuses a request went through, oldest first.
    async fn request_status_history(&self, id: RequestId) -> Result<Vec<StatusEntry>>;
    async fn add_evidence(
        &self,
        request: RequestId,
        evidence: &NewEvidence,
        by: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Result<Evidence>;
    async fn delete_evidence(&self, request: RequestId, evidence: i64) -> Result<()>;
    /// Evidence of one request, of one account, or all, newest first.
    async fn list_evidence(&self, request: Option<RequestId>, account: Option<AccountId>) -> Result<Vec<Evidence>>;
    /// The requests merged straight into `id`.
    async fn requests_merged_into(&self, id: RequestId) -> Result<Vec<RequestId>>;
    /// Moves `from`'s evidence to `into` and marks `from` merged into it, in one transaction.
    async fn merge_requests(&self, from: RequestId, into: RequestId, now: DateTime<Utc>) -> Result<()>;
}

/// A `feature_requests` row; the status is a code.
#[derive(sqlx::FromRow)]
pub(crate) struct RequestRow {
    id: i64,
    title: String,
    description: Option<String>,
    product_area: Option<String>,
    owner_id: Option<i64>,
    feature_key: Option<String>,
    status: String,
    status_reason: Option<String>,
    merged_into: Option<i64>,
    created_by: Option<i64>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<RequestRow> for FeatureRequest {
    type Error = StoreError;

    fn try_from(row: RequestRow) -> Result<FeatureRequest> {
        Ok(FeatureRequest {
            id: RequestId(row.id),
            input: RequestInput {
                title: row.title,
                description: row.description,
                product_area: row.product_area,
                owner_id: row.owner_id.map(UserId),
                feature_key: row.feature_key,
            },
            status: code(Entity::FeatureRequest, "status", &row.status, RequestStatus::parse)?,
            status_reason: row.status_reason,
            merged_into: row.merged_into.map(RequestId),
            created_by: row.created_by.map(UserId),
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// A `request_evidence` row; importance and source are codes.
#[derive(sqlx::FromRow)]
pub(crate) struct EvidenceRow {
    id: i64,
    request_id: i64,
    account_id: i64,
    contact_id: Option<i64>,
    importance: String,
    source: String,
    quote: Option<String>,
    created_by: Option<i64>,
    created_at: DateTime<Utc>,
}

impl TryFrom<EvidenceRow> for Evidence {
    type Error = StoreError;

    fn try_from(row: EvidenceRow) -> Result<Evidence> {
        Ok(Evidence {
            id: row.id,
            request_id: RequestId(row.request_id),
            account_id: AccountId(row.account_id),
            contact_id: row.contact_id.map(ContactId),
            importance: code(Entity::FeatureRequest, "importance", &row.importance, RequestImportance::parse)?,
            source: code(Entity::FeatureRequest, "source", &row.source, EvidenceSource::parse)?,
            quote: row.quote,
            created_by: row.created_by.map(UserId),
            created_at: row.created_at,
        })
    }
}

macro_rules! feedback_store {
    ($store:ident, $db:ident) => {
        mod feedback_sql {
            use super::{$db, $store};
            use $crate::sql::not_found;
            use $crate::error::{Entity, StoreError};
            use $crate::feedback::{Evidence, FeatureRequest, FeedbackStore, NewEvidence, RequestWebhook, StatusEntry};
            use $crate::Result;
            use chrono::{DateTime, Utc};
            use domain::feedback::{RequestInput, RequestStatus, StatusChange};
            use domain::{AccountId, RequestId, UserId};
            use sqlx::{FromRow, QueryBuilder, Row};

            const REQUEST_COLUMNS: &str = "id, title, description, product_area, status, status_reason, owner_id, \
                 feature_key, merged_into, created_by, created_at, updated_at";
            const EVIDENCE_COLUMNS: &str =
                "id, request_id, account_id, contact_id, importance, source, quote, created_by, created_at";

            fn code<T>(
                row: &<$db as sqlx::Database>::Row,
                field: &str,
                parse: fn(&str) -> std::result::Result<T, domain::Reason>,
            ) -> Result<T> {
                let raw: String = row.try_get(field)?;
                parse(&raw).map_err(|reason| StoreError::Corrupt {
                    entity: Entity::FeatureRequest,
                    detail: format!("{field}: {}", reason.message(domain::i18n::Lang::En)),
                })
            }

            fn user(row: &<$db as sqlx::Database>::Row, field: &str) -> Result<Option<UserId>> {
                Ok(row.try_get::<Option<i64>, _>(field)?.map(UserId))
            }

            fn request_from_row(row: &<$db as sqlx::Database>::Row) -> Result<FeatureRequest> {
                FeatureRequest::try_from($crate::feedback::RequestRow::from_row(row)?)
            }

            fn evidence_from_row(row: &<$db as sqlx::Database>::Row) -> Result<Evidence> {
                Evidence::try_from($crate::feedback::EvidenceRow::from_row(row)?)
            }

            async fn insert_history<'c, E>(
                executor: E,
                id: RequestId,
                status: RequestStatus,
                reason: Option<&str>,
                by: Option<UserId>,
                now: DateTime<Utc>,
            ) -> Result<()>
            where
                E: sqlx::Executor<'c, Database = $db>,
            {
                sqlx::query(
                    "INSERT INTO feature_request_status_changes (request_id, status, reason, changed_by, changed_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(id.0)
                .bind(status.as_str())
                .bind(reason)
                .bind(by.map(|u| u.0))
                .bind(now)
                .execute(executor)
                .await?;
                Ok(())
            }

            #[async_trait::async_trait]
            impl FeedbackStore for $store {
                async fn request_webhook(&self) -> Result<Option<RequestWebhook>> {
                    let row = sqlx::query("SELECT url, secret FROM feature_request_webhook WHERE id = 1")
                        .fetch_optional(&self.pool)
                        .await?;
                    row.map(|row| Ok(RequestWebhook { url: row.try_get("url")?, secret: row.try_get("secret")? }))
                        .transpose()
                }

                async fn save_request_webhook(&self, webhook: Option<&RequestWebhook>, now: DateTime<Utc>) -> Result<()> {
                    match webhook {
                        Some(webhook) => {
                            sqlx::query(
                                "INSERT INTO feature_request_webhook (id, url, secret, updated_at) VALUES (1, $1, $2, $3) \
                                 ON CONFLICT (id) DO UPDATE SET url = excluded.url, secret = excluded.secret, \
                                 updated_at = excluded.updated_at",
                            )
                            .bind(&webhook.url)
                            .bind(&webhook.secret)
                            .bind(now)
                            .execute(&self.pool)
                            .await?;
                        }
                        None => {
                            sqlx::query("DELETE FROM feature_request_webhook").execute(&self.pool).await?;
                        }
                    }
                    Ok(())
                }

                async fn create_request(
                    &self,
                    input: &RequestInput,
                    by: Option<UserId>,
                    now: DateTime<Utc>,
                ) -> Result<FeatureRequest> {
                    let mut tx = self.pool.begin().await?;
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO feature_requests (title, description, product_area, status, owner_id, feature_key, \
                         created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
                    )
                    .bind(&input.title)
                    .bind(input.description.as_deref())
                    .bind(input.product_area.as_deref())
                    .bind(RequestStatus::New.as_str())
                    .bind(input.owner_id.map(|u| u.0))
                    .bind(input.feature_key.as_deref())
                    .bind(by.map(|u| u.0))
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|e| StoreError::from_write(e, Entity::FeatureRequest, "title"))?;
                    insert_history(&mut *tx, RequestId(id), RequestStatus::New, None, by, now).await?;
                    tx.commit().await?;
                    self.get_request(RequestId(id)).await
                }

                async fn get_request(&self, id: RequestId) -> Result<FeatureRequest> {
                    let row = sqlx::query(&format!("SELECT {REQUEST_COLUMNS} FROM feature_requests WHERE id = $1"))
                        .bind(id.0)
                        .fetch_optional(&self.pool)
                        .await?
                        .ok_or_else(|| not_found(Entity::FeatureRequest, id))?;
                    request_from_row(&row)
                }

                async fn list_requests(&self) -> Result<Vec<FeatureRequest>> {
                    sqlx::query(&format!(
                        "SELECT {REQUEST_COLUMNS} FROM feature_requests WHERE merged_into IS NULL ORDER BY id DESC"
                    ))
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(request_from_row)
                    .collect()
                }

                async fn update_request(
                    &self,
                    id: RequestId,
                    input: &RequestInput,
                    now: DateTime<Utc>,
                ) -> Result<FeatureRequest> {
                    let result = sqlx::query(
                        "UPDATE feature_requests SET title = $2, description = $3, product_area = $4, owner_id = $5, \
                         feature_key = $6, updated_at = $7 WHERE id = $1",
                    )
                    .bind(id.0)
                    .bind(&input.title)
                    .bind(input.description.as_deref())
                    .bind(input.product_area.as_deref())
                    .bind(input.owner_id.map(|u| u.0))
                    .bind(input.feature_key.as_deref())
                    .bind(now)
                    .execute(&self.pool)
                    .await
                    .map_err(|e| StoreError::from_write(e, Entity::FeatureRequest, "title"))?;
                    if result.rows_affected() == 0 {
                        return Err(not_found(Entity::FeatureRequest, id));
                    }
                    self.get_request(id).await
                }

                async fn change_request_status(
                    &self,
                    id: RequestId,
                    change: &StatusChange,
                    by: Option<UserId>,
                    now: DateTime<Utc>,
                ) -> Result<FeatureRequest> {
                    let mut tx = self.pool.begin().await?;
                    let result = sqlx::query(
                        "UPDATE feature_requests SET status = $2, status_reason = $3, updated_at = $4 WHERE id = $1",
                    )
                    .bind(id.0)
                    .bind(change.status.as_str())
                    .bind(change.reason.as_deref())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    if result.rows_affected() == 0 {
                        return Err(not_found(Entity::FeatureRequest, id));
                    }
                    insert_history(&mut *tx, id, change.status, change.reason.as_deref(), by, now).await?;
                    tx.commit().await?;
                    self.get_request(id).await
                }

                async fn request_status_history(&self, id: RequestId) -> Result<Vec<StatusEntry>> {
                    let rows = sqlx::query(
                        "SELECT status, reason, changed_by, changed_at FROM feature_request_status_changes \
                         WHERE request_id = $1 ORDER BY changed_at, id",
                    )
                    .bind(id.0)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map(|row| {
                            Ok(StatusEntry {
                                status: code(row, "status", RequestStatus::parse)?,
                                reason: row.try_get("reason")?,
                                changed_by: user(row, "changed_by")?,
                                changed_at: row.try_get("changed_at")?,
                            })
                        })
                        .collect()
                }

                async fn add_evidence(
                    &self,
                    request: RequestId,
                    evidence: &NewEvidence,
                    by: Option<UserId>,
                    now: DateTime<Utc>,
                ) -> Result<Evidence> {
                    let row = sqlx::query(&format!(
                        "INSERT INTO feature_request_evidence (request_id, account_id, contact_id, importance, source, \
                         quote, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {EVIDENCE_COLUMNS}"
                    ))
                    .bind(request.0)
                    .bind(evidence.account_id.0)
                    .bind(evidence.contact_id.map(|c| c.0))
                    .bind(evidence.importance.as_str())
                    .bind(evidence.source.as_str())
                    .bind(evidence.quote.as_deref())
                    .bind(by.map(|u| u.0))
                    .bind(now)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(|e| StoreError::from_write(e, Entity::FeatureRequest, "account"))?;
                    evidence_from_row(&row)
                }

                async fn delete_evidence(&self, request: RequestId, evidence: i64) -> Result<()> {
                    let result = sqlx::query("DELETE FROM feature_request_evidence WHERE id = $1 AND request_id = $2")
                        .bind(evidence)
                        .bind(request.0)
                        .execute(&self.pool)
                        .await?;
                    if result.rows_affected() == 0 {
                        return Err(not_found(Entity::FeatureRequest, format!("{request}/evidence/{evidence}")));
                    }
                    Ok(())
                }

                async fn list_evidence(
                    &self,
                    request: Option<RequestId>,
                    account: Option<AccountId>,
                ) -> Result<Vec<Evidence>> {
                    let mut qb = QueryBuilder::<$db>::new(format!(
                        "SELECT {EVIDENCE_COLUMNS} FROM feature_request_evidence WHERE 1 = 1"
                    ));
                    if let Some(request) = request {
                        qb.push(" AND request_id = ").push_bind(request.0);
                    }
                    if let Some(account) = account {
                        qb.push(" AND account_id = ").push_bind(account.0);
                    }
                    qb.push(" ORDER BY created_at DESC, id DESC");
                    qb.build().fetch_all(&self.pool).await?.iter().map(evidence_from_row).collect()
                }

                async fn requests_merged_into(&self, id: RequestId) -> Result<Vec<RequestId>> {
                    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM feature_requests WHERE merged_into = $1 ORDER BY id")
                        .bind(id.0)
                        .fetch_all(&self.pool)
                        .await?;
                    Ok(ids.into_iter().map(RequestId).collect())
                }

                async fn merge_requests(&self, from: RequestId, into: RequestId, now: DateTime<Utc>) -> Result<()> {
                    let mut tx = self.pool.begin().await?;
                    sqlx::query("UPDATE feature_request_evidence SET request_id = $2 WHERE request_id = $1")
                        .bind(from.0)
                        .bind(into.0)
                        .execute(&mut *tx)
                        .await?;
                    let moved = sqlx::query(
                        "UPDATE feature_requests SET merged_into = $2, updated_at = $3 WHERE id = $1 AND merged_into IS NULL",
                    )
                    .bind(from.0)
                    .bind(into.0)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    if moved.rows_affected() == 0 {
                        return Err(not_found(Entity::FeatureRequest, from));
                    }
                    sqlx::query("UPDATE feature_requests SET merged_into = $2 WHERE merged_into = $1")
                        .bind(from.0)
                        .bind(into.0)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(())
                }
            }
        }
    };
}

pub(crate) use feedback_store;
