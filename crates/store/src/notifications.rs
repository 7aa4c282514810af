//! Telling staff users what concerns them: the SMTP server an administrator saved, each user's
//! notification preferences, the notifications themselves (inbox rows and their email and Slack
//! copies, claimed by one node before sending) and the digests sent, one per user and period.

use crate::error::{Entity, StoreError};
use crate::sql::code;
use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::i18n::Bilingual;
use domain::mail::MailServer;
use domain::notifications::{DeliveryState, DigestFrequency, Notice, NotificationKind, NotificationPreferences};
use domain::UserId;

/// A notification as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Notification {
    pub id: i64,
    pub user_id: UserId,
    pub kind: NotificationKind,
    pub title: Bilingual,
    pub link: String,
    pub account_id: Option<i64>,
    /// Shown in the inbox (the user chose the in-app channel for its kind).
    pub in_app: bool,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
    pub email: DeliveryState,
    pub slack: DeliveryState,
    pub attempts: i64,
    /// Why the last email or Slack attempt failed.
    pub delivery_error: Option<String>,
}

/// Which channels a new notification goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Routing {
    pub in_app: bool,
    pub email: bool,
    pub slack: bool,
}

#[async_trait]
pub trait NotificationStore: Send + Sync {
    async fn mail_server(&self) -> Result<Option<MailServer>>;
    /// Saves the server, or removes it (`None`) so the configuration file's applies again.
    async fn save_mail_server(&self, server: Option<&MailServer>, now: DateTime<Utc>) -> Result<()>;

    /// The user's choices, or the defaults when they made none.
    async fn notification_preferences(&self, user: UserId) -> Result<NotificationPreferences>;
    async fn save_notification_preferences(
        &self,
        user: UserId,
        preferences: &NotificationPreferences,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// Every user who chose a digest, with their choices.
    async fn digest_subscribers(&self) -> Result<Vec<(UserId, NotificationPreferences)>>;

    /// Writes a notification unless this user already had one with the notice's key; true when
    /// written.
    async fn notify(&self, user: UserId, notice: &Notice, routing: Routing, now: DateTime<Utc>) -> Result<bool>;
    /// The user's inbox, newest first.
    async fn inbox(&self, user: UserId, unread_only: bool, limit: i64) -> Result<Vec<Notification>>;
    async fn unread_notifications(&self, user: UserId) -> Result<i64>;
    /// Marks one notification (or all, `None`) read; returns how many changed.
    async fn mark_notifications_read(&self, user: UserId, id: Option<i64>, now: DateTime<Utc>) -> Result<u64>;
    /// Claims up to `limit` notifications with an email or Slack copy waiting: unclaimed ones and
    /// ones whose claim is older than `stale` (its node stopped).
    async fn claim_outgoing_notifications(
        &self,
        node: &str,
        now: DateTime<Utc>,
        stale: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Notification>>;
    /// Records how the claimed copies went and releases the claim.
    async fn finish_notification_delivery(
        &self,
        id: i64,
        email: DeliveryState,
        slack: DeliveryState,
        error: Option<&str>,
    ) -> Result<()>;

    /// Claims the digest of `user` for `period`: true for exactly one caller across nodes, or again
    /// once a failed or abandoned attempt is older than `retry_before` (at most `max_attempts`).
    async fn claim_digest(
        &self,
        user: UserId,
        period: &str,
        now: DateTime<Utc>,
        retry_before: DateTime<Utc>,
        max_attempts: i64,
    ) -> Result<bool>;
    async fn finish_digest(&self, user: UserId, period: &str, error: Option<&str>, now: DateTime<Utc>) -> Result<()>;
}

/// A `notifications` row: the title in both languages, kind and delivery states as codes.
#[derive(sqlx::FromRow)]
pub(crate) struct NotificationRow {
    id: i64,
    user_id: i64,
    kind: String,
    title_ja: String,
    title_en: String,
    link: String,
    account_id: Option<i64>,
    in_app: bool,
    created_at: DateTime<Utc>,
    read_at: Option<DateTime<Utc>>,
    email_state: String,
    slack_state: String,
    attempts: i32,
    delivery_error: Option<String>,
}

impl TryFrom<NotificationRow> for Notification {
    type Error = StoreError;

    fn try_from(row: NotificationRow) -> Result<Notification> {
        let entity = Entity::Notification;
        Ok(Notification {
            id: row.id,
            user_id: UserId(row.user_id),
            kind: code(entity, "kind", &row.kind, NotificationKind::parse)?,
            title: Bilingual::new(row.title_ja, row.title_en),
            link: row.link,
            account_id: row.account_id,
            in_app: row.in_app,
            created_at: row.created_at,
            read_at: row.read_at,
            email: code(entity, "email_state", &row.email_state, DeliveryState::parse)?,
            slack: code(entity, "slack_state", &row.slack_state, DeliveryState::parse)?,
            attempts: row.attempts.into(),
            delivery_error: row.delivery_error,
        })
    }
}

/// A `notification_preferences` row; the channels per kind are JSON text.
#[derive(sqlx::FromRow)]
pub(crate) struct PreferencesRow {
    channels: String,
    slack_webhook: Option<String>,
    digest: String,
    digest_hour: i32,
    language: String,
}

impl TryFrom<PreferencesRow> for NotificationPreferences {
    type Error = StoreError;

    fn try_from(row: PreferencesRow) -> Result<NotificationPreferences> {
        let entity = Entity::Notification;
        let channels = serde_json::from_str(&row.channels)
            .map_err(|e| StoreError::Corrupt { entity, detail: format!("channels: {e}") })?;
        Ok(NotificationPreferences {
            channels,
            slack_webhook: row.slack_webhook,
            digest: code(entity, "digest", &row.digest, DigestFrequency::parse)?,
            digest_hour: u32::try_from(row.digest_hour).unwrap_or(8),
            language: code(entity, "language", &row.language, domain::notifications::parse_lang)?,
        })
    }
}

macro_rules! notification_store {
    ($store:ident, $db:ident) => {
        mod notification_sql {
            use super::{$db, $store};
            use $crate::error::{Entity, StoreError};
            use $crate::notifications::{Notification, NotificationStore, Routing};
            use $crate::Result;
            use chrono::{DateTime, Utc};
            use domain::mail::{MailSecurity, MailServer};
            use domain::notifications::{DeliveryState, Notice, NotificationPreferences};
            use domain::UserId;
            use sqlx::{FromRow, Row};

            const NOTIFICATION_COLUMNS: &str = "id, user_id, kind, title_ja, title_en, link, account_id, in_app, \
                 created_at, read_at, email_state, slack_state, attempts, delivery_error";

            fn corrupt(field: &str, reason: domain::Reason) -> StoreError {
                StoreError::Corrupt {
                    entity: Entity::Notification,
                    detail: format!("{field}: {}", reason.message(domain::i18n::Lang::En)),
                }
            }

            fn code<T>(
                row: &<$db as sqlx::Database>::Row,
                field: &str,
                parse: fn(&str) -> std::result::Result<T, domain::Reason>,
            ) -> Result<T> {
                let raw: String = row.try_get(field)?;
                parse(&raw).map_err(|reason| corrupt(field, reason))
            }

            fn notification_from_row(row: &<$db as sqlx::Database>::Row) -> Result<Notification> {
                Notification::try_from($crate::notifications::NotificationRow::from_row(row)?)
            }

            fn preferences_from_row(row: &<$db as sqlx::Database>::Row) -> Result<NotificationPreferences> {
                NotificationPreferences::try_from($crate::notifications::PreferencesRow::from_row(row)?)
            }

            fn pending(wanted: bool) -> &'static str {
                if wanted {
                    DeliveryState::Pending.as_str()
                } else {
                    DeliveryState::None.as_str()
                }
            }

            #[async_trait::async_trait]
            impl NotificationStore for $store {
                async fn mail_server(&self) -> Result<Option<MailServer>> {
                    let row = sqlx::query(
                        "SELECT host, port, security, username, password, sender_address, sender_name, \
                         trusted_certificate FROM mail_server WHERE id = 1",
                    )
                    .fetch_optional(&self.pool)
                    .await?;
                    row.map(|row| {
                        Ok(MailServer {
                            host: row.try_get("host")?,
                            port: u16::try_from(row.try_get::<i32, _>("port")?)
                                .map_err(|e| corrupt("port", domain::Reason::Malformed { detail: e.to_string() }))?,
                            security: code(&row, "security", MailSecurity::parse)?,
                            username: row.try_get("username")?,
                            password: row.try_get("password")?,
                            sender_address: row.try_get("sender_address")?,
                            sender_name: row.try_get("sender_name")?,
                            trusted_certificate: row.try_get("trusted_certificate")?,
                            from_config: false,
                        })
                    })
                    .transpose()
                }

                async fn save_mail_server(&self, server: Option<&MailServer>, now: DateTime<Utc>) -> Result<()> {
                    let Some(server) = server else {
                        sqlx::query("DELETE FROM mail_server").execute(&self.pool).await?;
                        return Ok(());
                    };
                    sqlx::query(
                        "INSERT INTO mail_server (id, host, port, security, username, password, sender_address, \
                         sender_name, trusted_certificate, updated_at) VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8, $9) \
                         ON CONFLICT (id) DO UPDATE SET host = excluded.host, port = excluded.port, \
                         security = excluded.security, username = excluded.username, password = excluded.password, \
                         sender_address = excluded.sender_address, sender_name = excluded.sender_name, \
                         trusted_certificate = excluded.trusted_certificate, updated_at = excluded.updated_at",
                    )
                    .bind(&server.host)
                    .bind(i32::from(server.port))
                    .bind(server.security.as_str())
                    .bind(&server.username)
                    .bind(&server.password)
                    .bind(&server.sender_address)
                    .bind(&server.sender_name)
                    .bind(&server.trusted_certificate)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn notification_preferences(&self, user: UserId) -> Result<NotificationPreferences> {
                    let row = sqlx::query(
                        "SELECT channels, slack_webhook, digest, digest_hour, language FROM notification_preferences \
                         WHERE user_id = $1",
                    )
                    .bind(user.0)
                    .fetch_optional(&self.pool)
                    .await?;
                    row.map_or(Ok(NotificationPreferences::default()), |row| preferences_from_row(&row))
                }

                async fn save_notification_preferences(
                    &self,
                    user: UserId,
                    preferences: &NotificationPreferences,
                    now: DateTime<Utc>,
                ) -> Result<()> {
                    let channels = serde_json::to_string(&preferences.channels)
                        .map_err(|e| corrupt("channels", domain::Reason::Malformed { detail: e.to_string() }))?;
                    sqlx::query(
                        "INSERT INTO notification_preferences (user_id, channels, slack_webhook, digest, digest_hour, \
                         language, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (user_id) DO UPDATE SET \
                         channels = excluded.channels, slack_webhook = excluded.slack_webhook, \
                         digest = excluded.digest, digest_hour = excluded.digest_hour, language = excluded.language, \
                         updated_at = excluded.updated_at",
                    )
                    .bind(user.0)
                    .bind(channels)
                    .bind(&preferences.slack_webhook)
                    .bind(preferences.digest.as_str())
                    .bind(i32::try_from(preferences.digest_hour).unwrap_or(8))
                    .bind(preferences.language.code())
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn digest_subscribers(&self) -> Result<Vec<(UserId, NotificationPreferences)>> {
                    let rows = sqlx::query(
                        "SELECT p.user_id, p.channels, p.slack_webhook, p.digest, p.digest_hour, p.language \
                         FROM notification_preferences p JOIN staff_users u ON u.id = p.user_id \
                         WHERE p.digest <> 'off' AND u.active ORDER BY p.user_id",
                    )
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter().map(|row| Ok((UserId(row.try_get("user_id")?), preferences_from_row(row)?))).collect()
                }

                async fn notify(
                    &self,
                    user: UserId,
                    notice: &Notice,
                    routing: Routing,
                    now: DateTime<Utc>,
                ) -> Result<bool> {
                    let written = sqlx::query(
                        "INSERT INTO notifications (user_id, kind, dedupe_key, title_ja, title_en, link, account_id, \
                         in_app, created_at, email_state, slack_state) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                         ON CONFLICT (user_id, dedupe_key) DO NOTHING",
                    )
                    .bind(user.0)
                    .bind(notice.kind.as_str())
                    .bind(&notice.key)
                    .bind(&notice.title.ja)
                    .bind(&notice.title.en)
                    .bind(&notice.link)
                    .bind(notice.account_id)
                    .bind(routing.in_app)
                    .bind(now)
                    .bind(pending(routing.email))
                    .bind(pending(routing.slack))
                    .execute(&self.pool)
                    .await?;
                    Ok(written.rows_affected() == 1)
                }

                async fn inbox(&self, user: UserId, unread_only: bool, limit: i64) -> Result<Vec<Notification>> {
                    let unread = if unread_only { " AND read_at IS NULL" } else { "" };
                    let rows = sqlx::query(&format!(
                        "SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE user_id = $1 AND in_app{unread} \
                         ORDER BY created_at DESC, id DESC LIMIT $2"
                    ))
                    .bind(user.0)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter().map(notification_from_row).collect()
                }

                async fn unread_notifications(&self, user: UserId) -> Result<i64> {
                    let count: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND in_app AND read_at IS NULL",
                    )
                    .bind(user.0)
                    .fetch_one(&self.pool)
                    .await?;
                    Ok(count)
                }

                async fn mark_notifications_read(
                    &self,
                    user: UserId,
                    id: Option<i64>,
                    now: DateTime<Utc>,
                ) -> Result<u64> {
                    let done = match id {
                        Some(id) => {
                            sqlx::query(
                                "UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND id = $3 AND read_at IS NULL",
                            )
                            .bind(now)
                            .bind(user.0)
                            .bind(id)
                            .execute(&self.pool)
                            .await?
                        }
                        None => {
                            sqlx::query(
                                "UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND in_app AND read_at IS NULL",
                            )
                            .bind(now)
                            .bind(user.0)
                            .execute(&self.pool)
                            .await?
                        }
                    };
                    Ok(done.rows_affected())
                }

                async fn claim_outgoing_notifications(
                    &self,
                    node: &str,
                    now: DateTime<Utc>,
                    stale: DateTime<Utc>,
                    limit: i64,
                ) -> Result<Vec<Notification>> {
                    let candidates: Vec<i64> = sqlx::query_scalar(
                        "SELECT id FROM notifications WHERE (email_state = 'pending' OR slack_state = 'pending') \
                         AND (claimed_at IS NULL OR claimed_at < $1) ORDER BY id LIMIT $2",
                    )
                    .bind(stale)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                    let mut claimed = Vec::new();
                    for id in candidates {
                        // Only one node's update matches: the others see the claim and skip.
                        let taken = sqlx::query(
                            "UPDATE notifications SET claimed_at = $1, claimed_by = $2 WHERE id = $3 \
                             AND (email_state = 'pending' OR slack_state = 'pending') \
                             AND (claimed_at IS NULL OR claimed_at < $4)",
                        )
                        .bind(now)
                        .bind(node)
                        .bind(id)
                        .bind(stale)
                        .execute(&self.pool)
                        .await?;
                        if taken.rows_affected() == 1 {
                            let row = sqlx::query(&format!("SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE id = $1"))
                                .bind(id)
                                .fetch_one(&self.pool)
                                .await?;
                            claimed.push(notification_from_row(&row)?);
                        }
                    }
                    Ok(claimed)
                }

                async fn finish_notification_delivery(
                    &self,
                    id: i64,
                    email: DeliveryState,
                    slack: DeliveryState,
                    error: Option<&str>,
                ) -> Result<()> {
                    sqlx::query(
                        "UPDATE notifications SET email_state = $1, slack_state = $2, delivery_error = $3, \
                         attempts = attempts + 1, claimed_at = NULL, claimed_by = NULL WHERE id = $4",
                    )
                    .bind(email.as_str())
                    .bind(slack.as_str())
                    .bind(error)
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn claim_digest(
                    &self,
                    user: UserId,
                    period: &str,
                    now: DateTime<Utc>,
                    retry_before: DateTime<Utc>,
                    max_attempts: i64,
                ) -> Result<bool> {
                    let first = sqlx::query(
                        "INSERT INTO digest_sends (user_id, period, state, attempts, updated_at) \
                         VALUES ($1, $2, 'sending', 1, $3) ON CONFLICT (user_id, period) DO NOTHING",
                    )
                    .bind(user.0)
                    .bind(period)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                    if first.rows_affected() == 1 {
                        return Ok(true);
                    }
                    let again = sqlx::query(
                        "UPDATE digest_sends SET state = 'sending', attempts = attempts + 1, updated_at = $1 \
                         WHERE user_id = $2 AND period = $3 AND state <> 'sent' AND updated_at < $4 AND attempts < $5",
                    )
                    .bind(now)
                    .bind(user.0)
                    .bind(period)
                    .bind(retry_before)
                    .bind(i32::try_from(max_attempts).unwrap_or(i32::MAX))
                    .execute(&self.pool)
                    .await?;
                    Ok(again.rows_affected() == 1)
                }

                async fn finish_digest(
                    &self,
                    user: UserId,
                    period: &str,
                    error: Option<&str>,
                    now: DateTime<Utc>,
                ) -> Result<()> {
                    sqlx::query(
                        "UPDATE digest_sends SET state = $1, error = $2, updated_at = $3 WHERE user_id = $4 AND period = $5",
                    )
                    .bind(if error.is_some() { "failed" } else { "sent" })
                    .bind(error)
                    .bind(now)
                    .bind(user.0)
                    .bind(period)
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }
            }
        }
    };
}

pub(crate) use notification_store;
