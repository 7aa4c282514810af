//! Playbooks, their runs and scheduled steps, and the email outbox. A run is unique per
//! (playbook, account, occurrence), so starting it is idempotent across restarts and app nodes;
//! a step is claimed by one node with a conditional update before it runs.

use crate::error::{Entity, StoreError};
use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::i18n::Bilingual;
use domain::AccountId;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct StoredPlaybook {
    pub id: i64,
    pub name: String,
    /// The definition as JSON (`domain::playbooks::PlaybookDefinition`).
    pub definition: String,
    pub active: bool,
    pub updated_at: DateTime<Utc>,
}

/// A step due to run, claimed by this node.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedStep {
    pub step_id: i64,
    pub run_id: i64,
    pub playbook_id: i64,
    pub account_id: AccountId,
    pub step_index: i64,
    pub occurrence: String,
    /// Why the run started: the trigger and the data at that moment (JSON).
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RunStep {
    pub step_index: i64,
    pub due_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub outcome: Option<String>,
    pub failed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PlaybookRun {
    pub id: i64,
    pub playbook_id: i64,
    pub account_id: i64,
    pub account_name: String,
    pub occurrence: String,
    /// JSON: the trigger and the data at that moment.
    pub reason: String,
    pub started_at: DateTime<Utc>,
    pub steps: Vec<RunStep>,
}

pub use domain::playbooks::mail::EmailStatus;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OutboxEmail {
    pub id: i64,
    pub run_id: Option<i64>,
    pub account_id: i64,
    pub recipients: Vec<String>,
    pub subject: String,
    pub body: String,
    pub status: EmailStatus,
    pub created_at: DateTime<Utc>,
    pub decided_by: Option<i64>,
    pub sent_at: Option<DateTime<Utc>>,
    /// Why it failed, in both languages.
    pub error: Option<Bilingual>,
}

#[async_trait]
pub trait PlaybookStore: Send + Sync {
    async fn playbooks(&self) -> Result<Vec<StoredPlaybook>>;
    async fn playbook(&self, id: i64) -> Result<StoredPlaybook>;
    /// Creates (`id` None) or replaces a playbook; names are unique.
    async fn save_playbook(
        &self,
        id: Option<i64>,
        name: &str,
        definition: &str,
        active: bool,
    ) -> Result<StoredPlaybook>;
    async fn delete_playbook(&self, id: i64) -> Result<()>;

    /// Starts the run and schedules its steps (`due_at` per step index) in one transaction;
    /// `None` when this (playbook, account, occurrence) already ran.
    /// Nothing starts (`None`) when the run of this occurrence exists, or when `not_since` is
    /// given and a run of the playbook for the account started after it (its cooldown).
    #[allow(clippy::too_many_arguments)]
    async fn start_run(
        &self,
        playbook_id: i64,
        account: AccountId,
        occurrence: &str,
        reason: &str,
        steps_due: &[DateTime<Utc>],
        now: DateTime<Utc>,
        not_since: Option<DateTime<Utc>>,
    ) -> Result<Option<i64>>;
    /// Claims up to `limit` steps due by `now` for `node`: unclaimed ones, and ones whose claim is
    /// older than `stale_before` and unfinished (their node stopped mid-step).
    async fn claim_due_steps(
        &self,
        node: &str,
        now: DateTime<Utc>,
        stale_before: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<ClaimedStep>>;
    async fn finish_step(&self, step_id: i64, outcome: &str, failed: bool, at: DateTime<Utc>) -> Result<()>;
    /// Runs of a playbook (all when `None`), newest first, with their steps.
    async fn runs(&self, playbook_id: Option<i64>, limit: i64) -> Result<Vec<PlaybookRun>>;

    /// Whether the account is a member of the saved segment now.
    async fn in_segment(&self, segment_id: i64, account: AccountId) -> Result<bool>;

    async fn enqueue_email(
        &self,
        run_id: Option<i64>,
        account: AccountId,
        recipients: &[String],
        subject: &str,
        body: &str,
        at: DateTime<Utc>,
    ) -> Result<OutboxEmail>;
    async fn outbox(&self, status: Option<EmailStatus>, limit: i64) -> Result<Vec<OutboxEmail>>;
    async fn outbox_email(&self, id: i64) -> Result<OutboxEmail>;
    /// Moves an email from status `from` to `status`; false when it was no longer in `from`
    /// (someone else decided first).
    async fn decide_email(
        &self,
        id: i64,
        from: EmailStatus,
        status: EmailStatus,
        decided_by: Option<i64>,
        error: Option<&Bilingual>,
        at: DateTime<Utc>,
    ) -> Result<bool>;
    /// Replaces the content of an email in status `from` and makes it pending again, forgetting
    /// an earlier failure; false when it was no longer in `from`.
    async fn reopen_email(
        &self,
        id: i64,
        from: EmailStatus,
        recipients: &[String],
        subject: &str,
        body: &str,
    ) -> Result<bool>;
}

/// An `outbox_emails` row; recipients are stored comma-separated, an error as `{"ja", "en"}`.
#[derive(sqlx::FromRow)]
pub(crate) struct EmailRow {
    id: i64,
    run_id: Option<i64>,
    account_id: i64,
    recipients: String,
    subject: String,
    body: String,
    status: String,
    created_at: DateTime<Utc>,
    decided_by: Option<i64>,
    sent_at: Option<DateTime<Utc>>,
    error: Option<String>,
}

impl TryFrom<EmailRow> for OutboxEmail {
    type Error = StoreError;

    fn try_from(row: EmailRow) -> Result<OutboxEmail> {
        let status = EmailStatus::parse(&row.status).ok_or_else(|| StoreError::Corrupt {
            entity: Entity::OutboxEmail,
            detail: format!("status {}", row.status),
        })?;
        Ok(OutboxEmail {
            id: row.id,
            run_id: row.run_id,
            account_id: row.account_id,
            recipients: row.recipients.split(',').filter(|r| !r.is_empty()).map(str::to_owned).collect(),
            subject: row.subject,
            body: row.body,
            status,
            created_at: row.created_at,
            decided_by: row.decided_by,
            sent_at: row.sent_at,
            // Reasons are stored as {"ja", "en"}; older rows hold one English text.
            error: row
                .error
                .map(|text| serde_json::from_str(&text).unwrap_or_else(|_| Bilingual::new(text.clone(), text))),
        })
    }
}

macro_rules! playbook_store {
    ($store:ident, $db:ident) => {
        mod playbook_sql {
            use super::{$db, $store};
            use $crate::sql::found;
            use $crate::error::{Entity, StoreError};
            use $crate::playbooks::{
                ClaimedStep, EmailStatus, OutboxEmail, PlaybookRun, PlaybookStore, RunStep, StoredPlaybook,
            };
            use $crate::Result;
            use chrono::{DateTime, Utc};
            use domain::i18n::Bilingual;
            use domain::AccountId;
            use sqlx::{FromRow, Row};

            type DbRow = <$db as sqlx::Database>::Row;

            fn playbook_from_row(row: &DbRow) -> Result<StoredPlaybook> {
                Ok(StoredPlaybook::from_row(row)?)
            }

            fn email_from_row(row: &DbRow) -> Result<OutboxEmail> {
                OutboxEmail::try_from($crate::playbooks::EmailRow::from_row(row)?)
            }

            const EMAIL_COLUMNS: &str =
                "id, run_id, account_id, recipients, subject, body, status, created_at, decided_by, sent_at, error";

            #[async_trait::async_trait]
            impl PlaybookStore for $store {
                async fn playbooks(&self) -> Result<Vec<StoredPlaybook>> {
                    let rows = sqlx::query("SELECT id, name, definition, active, updated_at FROM playbooks ORDER BY name")
                        .fetch_all(&self.pool)
                        .await?;
                    rows.iter().map(playbook_from_row).collect()
                }

                async fn playbook(&self, id: i64) -> Result<StoredPlaybook> {
                    let row = sqlx::query("SELECT id, name, definition, active, updated_at FROM playbooks WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await?;
                    found(row, playbook_from_row, Entity::Playbook, id)
                }

                async fn save_playbook(
                    &self,
                    id: Option<i64>,
                    name: &str,
                    definition: &str,
                    active: bool,
                ) -> Result<StoredPlaybook> {
                    let now = Utc::now();
                    let id = match id {
                        Some(id) => {
                            let done = sqlx::query(
                                "UPDATE playbooks SET name = $1, definition = $2, active = $3, updated_at = $4 WHERE id = $5",
                            )
                            .bind(name)
                            .bind(definition)
                            .bind(active)
                            .bind(now)
                            .bind(id)
                            .execute(&self.pool)
                            .await
                            .map_err(|e| StoreError::from_write(e, Entity::Playbook, "name"))?;
                            if done.rows_affected() == 0 {
                                return Err(StoreError::NotFound { entity: Entity::Playbook, id: id.to_string() });
                            }
                            id
                        }
                        None => sqlx::query_scalar(
                            "INSERT INTO playbooks (name, definition, active, updated_at) VALUES ($1, $2, $3, $4) RETURNING id",
                        )
                        .bind(name)
                        .bind(definition)
                        .bind(active)
                        .bind(now)
                        .fetch_one(&self.pool)
                        .await
                        .map_err(|e| StoreError::from_write(e, Entity::Playbook, "name"))?,
                    };
                    self.playbook(id).await
                }

                async fn delete_playbook(&self, id: i64) -> Result<()> {
                    let done = sqlx::query("DELETE FROM playbooks WHERE id = $1").bind(id).execute(&self.pool).await?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound { entity: Entity::Playbook, id: id.to_string() });
                    }
                    Ok(())
                }

                async fn start_run(
                    &self,
                    playbook_id: i64,
                    account: AccountId,
                    occurrence: &str,
                    reason: &str,
                    steps_due: &[DateTime<Utc>],
                    now: DateTime<Utc>,
                    not_since: Option<DateTime<Utc>>,
                ) -> Result<Option<i64>> {
                    let mut tx = self.pool.begin_with($store::WRITE_BEGIN).await?;
                    if let Some(since) = not_since {
                        let recent: Option<i64> = sqlx::query_scalar(
                            "SELECT id FROM playbook_runs WHERE playbook_id = $1 AND account_id = $2 AND started_at > $3 LIMIT 1",
                        )
                        .bind(playbook_id)
                        .bind(account.0)
                        .bind(since)
                        .fetch_optional(&mut *tx)
                        .await?;
                        if recent.is_some() {
                            return Ok(None);
                        }
                    }
                    let run: Option<i64> = sqlx::query_scalar(
                        "INSERT INTO playbook_runs (playbook_id, account_id, occurrence, reason, started_at) \
                         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (playbook_id, account_id, occurrence) DO NOTHING RETURNING id",
                    )
                    .bind(playbook_id)
                    .bind(account.0)
                    .bind(occurrence)
                    .bind(reason)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some(run) = run else {
                        return Ok(None);
                    };
                    for (index, due) in steps_due.iter().enumerate() {
                        sqlx::query("INSERT INTO playbook_steps (run_id, step_index, due_at) VALUES ($1, $2, $3)")
                            .bind(run)
                            .bind(index as i64)
                            .bind(*due)
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await?;
                    Ok(Some(run))
                }

                async fn claim_due_steps(
                    &self,
                    node: &str,
                    now: DateTime<Utc>,
                    stale_before: DateTime<Utc>,
                    limit: i64,
                ) -> Result<Vec<ClaimedStep>> {
                    let candidates: Vec<i64> = sqlx::query_scalar(
                        "SELECT id FROM playbook_steps WHERE finished_at IS NULL AND due_at <= $1 \
                         AND (claimed_at IS NULL OR claimed_at < $2) ORDER BY due_at, id LIMIT $3",
                    )
                    .bind(now)
                    .bind(stale_before)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                    let mut claimed = Vec::new();
                    for id in candidates {
                        // Only one node's update matches: the others see the claim and skip.
                        let won = sqlx::query(
                            "UPDATE playbook_steps SET claimed_at = $1, claimed_by = $2 \
                             WHERE id = $3 AND finished_at IS NULL AND (claimed_at IS NULL OR claimed_at < $4)",
                        )
                        .bind(now)
                        .bind(node)
                        .bind(id)
                        .bind(stale_before)
                        .execute(&self.pool)
                        .await?
                        .rows_affected()
                            == 1;
                        if !won {
                            continue;
                        }
                        let row = sqlx::query(
                            "SELECT s.id AS step_id, s.run_id, s.step_index, r.playbook_id, r.account_id, r.occurrence, r.reason \
                             FROM playbook_steps s JOIN playbook_runs r ON r.id = s.run_id WHERE s.id = $1",
                        )
                        .bind(id)
                        .fetch_one(&self.pool)
                        .await?;
                        claimed.push(ClaimedStep {
                            step_id: row.try_get("step_id")?,
                            run_id: row.try_get("run_id")?,
                            playbook_id: row.try_get("playbook_id")?,
                            account_id: AccountId(row.try_get("account_id")?),
                            step_index: row.try_get("step_index")?,
                            occurrence: row.try_get("occurrence")?,
                            reason: row.try_get("reason")?,
                        });
                    }
                    Ok(claimed)
                }

                async fn finish_step(&self, step_id: i64, outcome: &str, failed: bool, at: DateTime<Utc>) -> Result<()> {
                    sqlx::query("UPDATE playbook_steps SET finished_at = $1, outcome = $2, failed = $3 WHERE id = $4")
                        .bind(at)
                        .bind(outcome)
                        .bind(failed)
                        .bind(step_id)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn runs(&self, playbook_id: Option<i64>, limit: i64) -> Result<Vec<PlaybookRun>> {
                    let rows = sqlx::query(
                        "SELECT r.id, r.playbook_id, r.account_id, a.name AS account_name, r.occurrence, r.reason, r.started_at \
                         FROM playbook_runs r JOIN accounts a ON a.id = r.account_id \
                         WHERE ($1 IS NULL OR r.playbook_id = $1) ORDER BY r.started_at DESC, r.id DESC LIMIT $2",
                    )
                    .bind(playbook_id)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                    let mut runs = Vec::with_capacity(rows.len());
                    for row in &rows {
                        let id: i64 = row.try_get("id")?;
                        let steps = sqlx::query(
                            "SELECT step_index, due_at, finished_at, outcome, failed FROM playbook_steps WHERE run_id = $1 ORDER BY step_index",
                        )
                        .bind(id)
                        .fetch_all(&self.pool)
                        .await?
                        .iter()
                        .map(|s| {
                            Ok(RunStep {
                                step_index: s.try_get("step_index")?,
                                due_at: s.try_get("due_at")?,
                                finished_at: s.try_get("finished_at")?,
                                outcome: s.try_get("outcome")?,
                                failed: s.try_get("failed")?,
                            })
                        })
                        .collect::<Result<Vec<_>>>()?;
                        runs.push(PlaybookRun {
                            id,
                            playbook_id: row.try_get("playbook_id")?,
                            account_id: row.try_get("account_id")?,
                            account_name: row.try_get("account_name")?,
                            occurrence: row.try_get("occurrence")?,
                            reason: row.try_get("reason")?,
                            started_at: row.try_get("started_at")?,
                            steps,
                        });
                    }
                    Ok(runs)
                }

                async fn in_segment(&self, segment_id: i64, account: AccountId) -> Result<bool> {
                    let found: Option<i64> =
                        sqlx::query_scalar("SELECT account_id FROM segment_members WHERE segment_id = $1 AND account_id = $2")
                            .bind(segment_id)
                            .bind(account.0)
                            .fetch_optional(&self.pool)
                            .await?;
                    Ok(found.is_some())
                }

                async fn enqueue_email(
                    &self,
                    run_id: Option<i64>,
                    account: AccountId,
                    recipients: &[String],
                    subject: &str,
                    body: &str,
                    at: DateTime<Utc>,
                ) -> Result<OutboxEmail> {
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO email_outbox (run_id, account_id, recipients, subject, body, status, created_at) \
                         VALUES ($1, $2, $3, $4, $5, 'pending', $6) RETURNING id",
                    )
                    .bind(run_id)
                    .bind(account.0)
                    .bind(recipients.join(","))
                    .bind(subject)
                    .bind(body)
                    .bind(at)
                    .fetch_one(&self.pool)
                    .await?;
                    self.outbox_email(id).await
                }

                async fn outbox(&self, status: Option<EmailStatus>, limit: i64) -> Result<Vec<OutboxEmail>> {
                    let rows = sqlx::query(&format!(
                        "SELECT {EMAIL_COLUMNS} FROM email_outbox WHERE ($1 IS NULL OR status = $1) ORDER BY created_at DESC, id DESC LIMIT $2"
                    ))
                    .bind(status.map(EmailStatus::as_str))
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter().map(email_from_row).collect()
                }

                async fn outbox_email(&self, id: i64) -> Result<OutboxEmail> {
                    let row = sqlx::query(&format!("SELECT {EMAIL_COLUMNS} FROM email_outbox WHERE id = $1"))
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await?;
                    found(row, email_from_row, Entity::OutboxEmail, id)
                }

                async fn decide_email(
                    &self,
                    id: i64,
                    from: EmailStatus,
                    status: EmailStatus,
                    decided_by: Option<i64>,
                    error: Option<&Bilingual>,
                    at: DateTime<Utc>,
                ) -> Result<bool> {
                    let sent_at = (status == EmailStatus::Sent).then_some(at);
                    let error = error
                        .map(serde_json::to_string)
                        .transpose()
                        .map_err(|e| StoreError::Corrupt { entity: Entity::OutboxEmail, detail: e.to_string() })?;
                    let done = sqlx::query(
                        "UPDATE email_outbox SET status = $1, decided_by = $2, error = $3, sent_at = $4 \
                         WHERE id = $5 AND status = $6",
                    )
                    .bind(status.as_str())
                    .bind(decided_by)
                    .bind(error)
                    .bind(sent_at)
                    .bind(id)
                    .bind(from.as_str())
                    .execute(&self.pool)
                    .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn reopen_email(
                    &self,
                    id: i64,
                    from: EmailStatus,
                    recipients: &[String],
                    subject: &str,
                    body: &str,
                ) -> Result<bool> {
                    let done = sqlx::query(
                        "UPDATE email_outbox SET status = 'pending', recipients = $1, subject = $2, body = $3, \
                         decided_by = NULL, error = NULL, sent_at = NULL WHERE id = $4 AND status = $5",
                    )
                    .bind(recipients.join(","))
                    .bind(subject)
                    .bind(body)
                    .bind(id)
                    .bind(from.as_str())
                    .execute(&self.pool)
                    .await?;
                    Ok(done.rows_affected() == 1)
                }
            }
        }
    };
}

pub(crate) use playbook_store;
