//! Staff and access: teams, staff users and their passwords, sessions, sign-in throttling, API
//! tokens, tracking write keys, one-time setup links and the audit log.

use crate::error::{Entity, StoreError};
use crate::sql::corrupt;
use crate::{AttemptWindow, AuditQuery, Page, Result, Session};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::access::{Role, Scope};
use domain::audit::{AuditEntry, AuditInput};
use domain::credentials::{ApiToken, WriteKey};
use domain::staff::{StaffUser, StaffUserInput, Team, TeamInput};
use domain::{Email, TeamId, UserId};

#[async_trait]
pub trait StaffStore: Send + Sync {
    async fn create_team(&self, input: &TeamInput) -> Result<Team>;
    async fn get_team(&self, id: TeamId) -> Result<Team>;
    async fn list_teams(&self) -> Result<Vec<Team>>;
    async fn update_team(&self, id: TeamId, input: &TeamInput) -> Result<Team>;
    async fn delete_team(&self, id: TeamId) -> Result<()>;
    async fn create_user(&self, input: &StaffUserInput) -> Result<StaffUser>;
    async fn get_user(&self, id: UserId) -> Result<StaffUser>;
    async fn list_users(&self) -> Result<Vec<StaffUser>>;
    async fn update_user(&self, id: UserId, input: &StaffUserInput) -> Result<StaffUser>;
    async fn delete_user(&self, id: UserId) -> Result<()>;
    async fn user_by_email(&self, email: &Email) -> Result<Option<StaffUser>>;
    async fn password_hash(&self, id: UserId) -> Result<Option<String>>;
    async fn set_password_hash(&self, id: UserId, hash: &str) -> Result<()>;
    async fn count_users_with_password(&self) -> Result<i64>;
    async fn create_session(
        &self,
        token_hash: &str,
        user: UserId,
        csrf_token: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()>;
    /// The session with this token hash, if it exists and has not expired at `now`.
    async fn session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Session>>;
    async fn delete_session(&self, token_hash: &str) -> Result<()>;
    async fn delete_sessions_of(&self, user: UserId) -> Result<()>;
    /// Revokes every live API token of the user (when their password changes).
    async fn revoke_api_tokens_of(&self, user: UserId) -> Result<u64>;
    /// Counts one more attempt against `key` (e.g. `email:…`) in its throttling window, before
    /// the attempt is checked, and returns the attempts counted in the window and when the window
    /// started (unix seconds). A window older than `window_seconds` starts again. Atomic across
    /// nodes and concurrent requests: each caller sees its own number.
    async fn reserve_attempt(&self, key: &str, now: i64, window_seconds: i64) -> Result<AttemptWindow>;
    /// Gives back one reserved attempt (it succeeded, so it was no failure).
    async fn release_attempt(&self, key: &str) -> Result<()>;
    /// Forgets the attempts against `key` (a successful sign-in clears its email's failures).
    async fn clear_attempts(&self, key: &str) -> Result<()>;
    async fn create_api_token(
        &self,
        user: UserId,
        name: &str,
        scope: Scope,
        token_hash: &str,
        prefix: &str,
    ) -> Result<ApiToken>;
    async fn get_api_token(&self, id: i64) -> Result<ApiToken>;
    async fn list_api_tokens(&self, user: Option<UserId>) -> Result<Vec<ApiToken>>;
    async fn revoke_api_token(&self, id: i64) -> Result<ApiToken>;
    /// The unrevoked token with this hash and its owner; records the use.
    async fn use_api_token(&self, token_hash: &str) -> Result<Option<(ApiToken, StaffUser)>>;
    async fn create_write_key(
        &self,
        name: &str,
        key_hash: &str,
        prefix: &str,
        created_by: Option<UserId>,
        allowed_origins: &[String],
    ) -> Result<WriteKey>;
    /// Every write key, with its last use and its counts of the days from `since`.
    async fn list_write_keys(&self, since: chrono::NaiveDate) -> Result<Vec<WriteKey>>;
    async fn set_write_key_origins(&self, id: i64, allowed_origins: &[String]) -> Result<WriteKey>;
    /// Adds one request's messages to the key's count of `day` and records `at` as its last use.
    async fn record_write_key_use(
        &self,
        id: i64,
        day: chrono::NaiveDate,
        at: DateTime<Utc>,
        accepted: i64,
        refused: i64,
    ) -> Result<()>;
    async fn revoke_write_key(&self, id: i64) -> Result<WriteKey>;
    /// The unrevoked write key with this hash.
    async fn write_key_by_hash(&self, key_hash: &str) -> Result<Option<WriteKey>>;
    async fn create_setup_token(&self, token_hash: &str, expires_at: DateTime<Utc>) -> Result<()>;
    /// Whether the token is unused and unexpired at `now`, without using it.
    async fn setup_token_valid(&self, token_hash: &str, now: DateTime<Utc>) -> Result<bool>;
    /// Marks the token used; false when it was already used, expired or unknown.
    async fn consume_setup_token(&self, token_hash: &str, now: DateTime<Utc>) -> Result<bool>;
    async fn append_audit(&self, input: &AuditInput) -> Result<AuditEntry>;
    async fn list_audit(&self, query: &AuditQuery) -> Result<Page<AuditEntry>>;
}

/// A `staff_users` row as both drivers read it.
#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: i64,
    email: String,
    name: String,
    team_id: Option<i64>,
    role: String,
    active: bool,
}

impl TryFrom<UserRow> for StaffUser {
    type Error = StoreError;

    fn try_from(row: UserRow) -> Result<StaffUser> {
        Ok(StaffUser {
            id: UserId(row.id),
            input: StaffUserInput {
                email: Email::parse(&row.email).map_err(corrupt(Entity::User))?,
                name: row.name,
                team_id: row.team_id.map(TeamId),
                role: Role::parse(&row.role).map_err(corrupt(Entity::User))?,
                active: row.active,
            },
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct TokenRow {
    id: i64,
    user_id: i64,
    name: String,
    scope: String,
    prefix: String,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl TryFrom<TokenRow> for ApiToken {
    type Error = StoreError;

    fn try_from(row: TokenRow) -> Result<ApiToken> {
        Ok(ApiToken {
            id: row.id,
            user_id: UserId(row.user_id),
            name: row.name,
            scope: Scope::parse(&row.scope).map_err(corrupt(Entity::ApiToken))?,
            prefix: row.prefix,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            revoked_at: row.revoked_at,
        })
    }
}

/// A `write_keys` row; allowed origins are stored one per line.
#[derive(sqlx::FromRow)]
pub(crate) struct WriteKeyRow {
    id: i64,
    name: String,
    prefix: String,
    created_by: Option<i64>,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    allowed_origins: String,
}

impl From<WriteKeyRow> for WriteKey {
    fn from(row: WriteKeyRow) -> WriteKey {
        WriteKey {
            id: row.id,
            name: row.name,
            prefix: row.prefix,
            created_by: row.created_by.map(UserId),
            created_at: row.created_at,
            revoked_at: row.revoked_at,
            allowed_origins: row.allowed_origins.lines().filter(|l| !l.is_empty()).map(str::to_owned).collect(),
            last_used_at: None,
            days: Vec::new(),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    id: i64,
    occurred_at: DateTime<Utc>,
    actor_id: Option<i64>,
    actor: String,
    action: String,
    entity: String,
    entity_id: Option<String>,
    changes: String,
}

impl TryFrom<AuditRow> for AuditEntry {
    type Error = StoreError;

    fn try_from(row: AuditRow) -> Result<AuditEntry> {
        Ok(AuditEntry {
            id: row.id,
            occurred_at: row.occurred_at,
            input: AuditInput {
                actor_id: row.actor_id.map(UserId),
                actor: row.actor,
                action: row.action,
                entity: row.entity,
                entity_id: row.entity_id,
                changes: serde_json::from_str(&row.changes)
                    .map_err(|e| StoreError::Corrupt { entity: Entity::User, detail: format!("audit changes: {e}") })?,
            },
        })
    }
}

macro_rules! staff_store {
    ($store:ident, $db:ident) => {
        mod staff_sql {
            use super::{$db, $store};
            use $crate::error::{Entity, StoreError};
            use $crate::sql::{found, not_found};
            use $crate::{AttemptWindow, AuditQuery, Page, Result, Session};
            use async_trait::async_trait;
            use chrono::{DateTime, NaiveDate, Utc};
            use domain::access::Scope;
            use domain::audit::{AuditEntry, AuditInput};
            use domain::credentials::{ApiToken, WriteKey};
            use domain::staff::{StaffUser, StaffUserInput, Team, TeamInput};
            use domain::{Email, TeamId, UserId};
            use sqlx::{FromRow, QueryBuilder, Row};

            const TOKEN_COLUMNS: &str = "id, user_id, name, scope, prefix, created_at, last_used_at, revoked_at";
            const WRITE_KEY_COLUMNS: &str = "id, name, prefix, created_by, created_at, revoked_at, allowed_origins";
            const USER_COLUMNS: &str = "id, email, name, team_id, role, active";

            type DbRow = <$db as sqlx::Database>::Row;

            fn user_from_row(row: &DbRow) -> Result<StaffUser> {
                StaffUser::try_from($crate::staff::UserRow::from_row(row)?)
            }

            fn token_from_row(row: &DbRow) -> Result<ApiToken> {
                ApiToken::try_from($crate::staff::TokenRow::from_row(row)?)
            }

            fn write_key_from_row(row: &DbRow) -> Result<WriteKey> {
                Ok(WriteKey::from($crate::staff::WriteKeyRow::from_row(row)?))
            }

            fn audit_from_row(row: &DbRow) -> Result<AuditEntry> {
                AuditEntry::try_from($crate::staff::AuditRow::from_row(row)?)
            }

            fn push_audit_filters(qb: &mut QueryBuilder<'_, $db>, query: &AuditQuery) {
                qb.push(" WHERE 1 = 1");
                if let Some(actor) = query.actor_id {
                    qb.push(" AND actor_id = ").push_bind(actor.0);
                }
                if let Some(entity) = &query.entity {
                    qb.push(" AND entity = ").push_bind(entity.clone());
                }
                if let Some(entity_id) = &query.entity_id {
                    qb.push(" AND entity_id = ").push_bind(entity_id.clone());
                }
                if let Some(action) = &query.action {
                    qb.push(" AND action = ").push_bind(action.clone());
                }
                if let Some(since) = query.since {
                    qb.push(" AND occurred_at >= ").push_bind(since);
                }
                if let Some(until) = query.until {
                    qb.push(" AND occurred_at < ").push_bind(until);
                }
            }

            #[async_trait]
            impl $crate::staff::StaffStore for $store {
                async fn create_team(&self, input: &TeamInput) -> Result<Team> {
                    let id: i64 = sqlx::query_scalar("INSERT INTO teams (name) VALUES ($1) RETURNING id")
                        .bind(input.name.as_str())
                        .fetch_one(&self.pool)
                        .await
                        .map_err(|e| StoreError::from_write(e, Entity::Team, "name"))?;
                    Ok(Team { id: TeamId(id), name: input.name.clone() })
                }

                async fn get_team(&self, id: TeamId) -> Result<Team> {
                    let name: Option<String> = sqlx::query_scalar("SELECT name FROM teams WHERE id = $1")
                        .bind(id.0)
                        .fetch_optional(&self.pool)
                        .await?;
                    name.map(|name| Team { id, name }).ok_or_else(|| not_found(Entity::Team, id))
                }

                async fn list_teams(&self) -> Result<Vec<Team>> {
                    let rows = sqlx::query("SELECT id, name FROM teams ORDER BY name, id").fetch_all(&self.pool).await?;
                    rows.iter().map(|row| Ok(Team { id: TeamId(row.try_get("id")?), name: row.try_get("name")? })).collect()
                }

                async fn update_team(&self, id: TeamId, input: &TeamInput) -> Result<Team> {
                    let result = sqlx::query("UPDATE teams SET name = $2 WHERE id = $1")
                        .bind(id.0)
                        .bind(input.name.as_str())
                        .execute(&self.pool)
                        .await
                        .map_err(|e| StoreError::from_write(e, Entity::Team, "name"))?;
                    if result.rows_affected() == 0 {
                        return Err(not_found(Entity::Team, id));
                    }
                    Ok(Team { id, name: input.name.clone() })
                }

                async fn delete_team(&self, id: TeamId) -> Result<()> {
                    let result = sqlx::query("DELETE FROM teams WHERE id = $1").bind(id.0).execute(&self.pool).await?;
                    if result.rows_affected() == 0 {
                        return Err(not_found(Entity::Team, id));
                    }
                    Ok(())
                }

                async fn create_user(&self, input: &StaffUserInput) -> Result<StaffUser> {
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO staff_users (email, name, team_id, active, role) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                    )
                    .bind(input.email.as_str())
                    .bind(input.name.as_str())
                    .bind(input.team_id.map(|t| t.0))
                    .bind(input.active)
                    .bind(input.role.as_str())
                    .fetch_one(&self.pool)
                    .await
                    .map_err(|e| StoreError::from_write(e, Entity::User, "email"))?;
                    Ok(StaffUser { id: UserId(id), input: input.clone() })
                }

                async fn get_user(&self, id: UserId) -> Result<StaffUser> {
                    let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM staff_users WHERE id = $1"))
                        .bind(id.0)
                        .fetch_optional(&self.pool)
                        .await?;
                    found(row, user_from_row, Entity::User, id)
                }

                async fn list_users(&self) -> Result<Vec<StaffUser>> {
                    let rows = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM staff_users ORDER BY name, id"))
                        .fetch_all(&self.pool)
                        .await?;
                    rows.iter().map(user_from_row).collect()
                }

                async fn update_user(&self, id: UserId, input: &StaffUserInput) -> Result<StaffUser> {
                    let result =
                        sqlx::query("UPDATE staff_users SET email = $2, name = $3, team_id = $4, active = $5, role = $6 WHERE id = $1")
                            .bind(id.0)
                            .bind(input.email.as_str())
                            .bind(input.name.as_str())
                            .bind(input.team_id.map(|t| t.0))
                            .bind(input.active)
                            .bind(input.role.as_str())
                            .execute(&self.pool)
                            .await
                            .map_err(|e| StoreError::from_write(e, Entity::User, "email"))?;
                    if result.rows_affected() == 0 {
                        return Err(not_found(Entity::User, id));
                    }
                    Ok(StaffUser { id, input: input.clone() })
                }

                async fn delete_user(&self, id: UserId) -> Result<()> {
                    let result = sqlx::query("DELETE FROM staff_users WHERE id = $1").bind(id.0).execute(&self.pool).await?;
                    if result.rows_affected() == 0 {
                        return Err(not_found(Entity::User, id));
                    }
                    Ok(())
                }

                async fn user_by_email(&self, email: &Email) -> Result<Option<StaffUser>> {
                    let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM staff_users WHERE email = $1"))
                        .bind(email.as_str())
                        .fetch_optional(&self.pool)
                        .await?;
                    row.as_ref().map(user_from_row).transpose()
                }

                async fn password_hash(&self, id: UserId) -> Result<Option<String>> {
                    let hash: Option<Option<String>> = sqlx::query_scalar("SELECT password_hash FROM staff_users WHERE id = $1")
                        .bind(id.0)
                        .fetch_optional(&self.pool)
                        .await?;
                    hash.ok_or_else(|| not_found(Entity::User, id))
                }

                async fn set_password_hash(&self, id: UserId, hash: &str) -> Result<()> {
                    let result = sqlx::query("UPDATE staff_users SET password_hash = $2 WHERE id = $1")
                        .bind(id.0)
                        .bind(hash)
                        .execute(&self.pool)
                        .await?;
                    if result.rows_affected() == 0 {
                        return Err(not_found(Entity::User, id));
                    }
                    Ok(())
                }

                async fn count_users_with_password(&self) -> Result<i64> {
                    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM staff_users WHERE password_hash IS NOT NULL").fetch_one(&self.pool).await?)
                }

                async fn create_session(&self, token_hash: &str, user: UserId, csrf_token: &str, expires_at: DateTime<Utc>) -> Result<()> {
                    sqlx::query("INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
                        .bind(token_hash)
                        .bind(user.0)
                        .bind(csrf_token)
                        .bind(Utc::now())
                        .bind(expires_at)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Session>> {
                    let row = sqlx::query(
                        "SELECT u.id, u.email, u.name, u.team_id, u.role, u.active, s.csrf_token, s.expires_at \
                         FROM sessions s JOIN staff_users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2",
                    )
                    .bind(token_hash)
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await?;
                    row.map(|row| Ok(Session { user: user_from_row(&row)?, csrf_token: row.try_get("csrf_token")?, expires_at: row.try_get("expires_at")? }))
                        .transpose()
                }

                async fn delete_session(&self, token_hash: &str) -> Result<()> {
                    sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(&self.pool).await?;
                    Ok(())
                }

                async fn delete_sessions_of(&self, user: UserId) -> Result<()> {
                    sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user.0).execute(&self.pool).await?;
                    Ok(())
                }

                async fn revoke_api_tokens_of(&self, user: UserId) -> Result<u64> {
                    let done = sqlx::query("UPDATE api_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
                        .bind(user.0)
                        .bind(Utc::now())
                        .execute(&self.pool)
                        .await?;
                    Ok(done.rows_affected())
                }

                async fn reserve_attempt(&self, key: &str, now: i64, window_seconds: i64) -> Result<AttemptWindow> {
                    let (attempts, started_at): (i64, i64) = sqlx::query_as(
                        "INSERT INTO sign_in_throttle (throttle_key, window_started_at, attempts) VALUES ($1, $2, 1) \
                         ON CONFLICT (throttle_key) DO UPDATE SET \
                         attempts = CASE WHEN sign_in_throttle.window_started_at <= $3 THEN 1 ELSE sign_in_throttle.attempts + 1 END, \
                         window_started_at = CASE WHEN sign_in_throttle.window_started_at <= $3 THEN $2 ELSE sign_in_throttle.window_started_at END \
                         RETURNING attempts, window_started_at",
                    )
                    .bind(key)
                    .bind(now)
                    .bind(now - window_seconds)
                    .fetch_one(&self.pool)
                    .await?;
                    Ok(AttemptWindow { attempts, started_at })
                }

                async fn release_attempt(&self, key: &str) -> Result<()> {
                    sqlx::query("UPDATE sign_in_throttle SET attempts = attempts - 1 WHERE throttle_key = $1 AND attempts > 0")
                        .bind(key)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn clear_attempts(&self, key: &str) -> Result<()> {
                    sqlx::query("DELETE FROM sign_in_throttle WHERE throttle_key = $1").bind(key).execute(&self.pool).await?;
                    Ok(())
                }

                async fn create_api_token(&self, user: UserId, name: &str, scope: Scope, token_hash: &str, prefix: &str) -> Result<ApiToken> {
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO api_tokens (user_id, name, scope, token_hash, prefix, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                    )
                    .bind(user.0)
                    .bind(name)
                    .bind(scope.as_str())
                    .bind(token_hash)
                    .bind(prefix)
                    .bind(Utc::now())
                    .fetch_one(&self.pool)
                    .await
                    .map_err(|e| StoreError::from_write(e, Entity::ApiToken, "token"))?;
                    self.get_api_token(id).await
                }

                async fn get_api_token(&self, id: i64) -> Result<ApiToken> {
                    let row = sqlx::query(&format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = $1"))
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await?;
                    found(row, token_from_row, Entity::ApiToken, id)
                }

                async fn list_api_tokens(&self, user: Option<UserId>) -> Result<Vec<ApiToken>> {
                    let mut qb = QueryBuilder::<$db>::new(format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE 1 = 1"));
                    if let Some(user) = user {
                        qb.push(" AND user_id = ").push_bind(user.0);
                    }
                    qb.push(" ORDER BY created_at DESC, id DESC");
                    qb.build().fetch_all(&self.pool).await?.iter().map(token_from_row).collect()
                }

                async fn revoke_api_token(&self, id: i64) -> Result<ApiToken> {
                    sqlx::query("UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                        .bind(id)
                        .bind(Utc::now())
                        .execute(&self.pool)
                        .await?;
                    self.get_api_token(id).await
                }

                async fn use_api_token(&self, token_hash: &str) -> Result<Option<(ApiToken, StaffUser)>> {
                    let row = sqlx::query(&format!(
                        "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL"
                    ))
                    .bind(token_hash)
                    .fetch_optional(&self.pool)
                    .await?;
                    let Some(token) = row.as_ref().map(token_from_row).transpose()? else {
                        return Ok(None);
                    };
                    sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1").bind(token.id).bind(Utc::now()).execute(&self.pool).await?;
                    let user = self.get_user(token.user_id).await?;
                    Ok(Some((token, user)))
                }

                async fn create_write_key(&self, name: &str, key_hash: &str, prefix: &str, created_by: Option<UserId>, allowed_origins: &[String]) -> Result<WriteKey> {
                    let row = sqlx::query(&format!(
                        "INSERT INTO write_keys (name, key_hash, prefix, created_by, created_at, allowed_origins) VALUES ($1, $2, $3, $4, $5, $6) RETURNING {WRITE_KEY_COLUMNS}"
                    ))
                    .bind(name)
                    .bind(key_hash)
                    .bind(prefix)
                    .bind(created_by.map(|u| u.0))
                    .bind(Utc::now())
                    .bind(allowed_origins.join("\n"))
                    .fetch_one(&self.pool)
                    .await
                    .map_err(|e| StoreError::from_write(e, Entity::WriteKey, "key"))?;
                    write_key_from_row(&row)
                }

                async fn list_write_keys(&self, since: NaiveDate) -> Result<Vec<WriteKey>> {
                    let rows = sqlx::query(&format!("SELECT {WRITE_KEY_COLUMNS} FROM write_keys ORDER BY created_at DESC, id DESC"))
                        .fetch_all(&self.pool)
                        .await?;
                    let mut keys = rows.iter().map(write_key_from_row).collect::<Result<Vec<_>>>()?;
                    let days = sqlx::query(
                        "SELECT key_id, day, accepted, refused, last_used_at FROM write_key_days WHERE day >= $1 ORDER BY day DESC",
                    )
                    .bind(since)
                    .fetch_all(&self.pool)
                    .await?;
                    let last = sqlx::query("SELECT key_id, MAX(last_used_at) AS last_used_at FROM write_key_days GROUP BY key_id")
                        .fetch_all(&self.pool)
                        .await?;
                    for key in &mut keys {
                        for row in &last {
                            if row.try_get::<i64, _>("key_id")? == key.id {
                                key.last_used_at = row.try_get("last_used_at")?;
                            }
                        }
                        for row in &days {
                            if row.try_get::<i64, _>("key_id")? == key.id {
                                key.days.push(domain::credentials::WriteKeyDay {
                                    day: row.try_get("day")?,
                                    accepted: row.try_get("accepted")?,
                                    refused: row.try_get("refused")?,
                                });
                            }
                        }
                    }
                    Ok(keys)
                }

                async fn set_write_key_origins(&self, id: i64, allowed_origins: &[String]) -> Result<WriteKey> {
                    let row = sqlx::query(&format!("UPDATE write_keys SET allowed_origins = $2 WHERE id = $1 RETURNING {WRITE_KEY_COLUMNS}"))
                        .bind(id)
                        .bind(allowed_origins.join("\n"))
                        .fetch_optional(&self.pool)
                        .await?;
                    found(row, write_key_from_row, Entity::WriteKey, id)
                }

                async fn record_write_key_use(&self, id: i64, day: NaiveDate, at: DateTime<Utc>, accepted: i64, refused: i64) -> Result<()> {
                    sqlx::query(
                        "INSERT INTO write_key_days (key_id, day, accepted, refused, last_used_at) VALUES ($1, $2, $3, $4, $5) \
                         ON CONFLICT (key_id, day) DO UPDATE SET accepted = write_key_days.accepted + excluded.accepted, \
                         refused = write_key_days.refused + excluded.refused, \
                         last_used_at = CASE WHEN excluded.last_used_at > write_key_days.last_used_at THEN excluded.last_used_at ELSE write_key_days.last_used_at END",
                    )
                    .bind(id)
                    .bind(day)
                    .bind(accepted)
                    .bind(refused)
                    .bind(at)
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn revoke_write_key(&self, id: i64) -> Result<WriteKey> {
                    sqlx::query("UPDATE write_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                        .bind(id)
                        .bind(Utc::now())
                        .execute(&self.pool)
                        .await?;
                    let row = sqlx::query(&format!("SELECT {WRITE_KEY_COLUMNS} FROM write_keys WHERE id = $1"))
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await?;
                    found(row, write_key_from_row, Entity::WriteKey, id)
                }

                async fn write_key_by_hash(&self, key_hash: &str) -> Result<Option<WriteKey>> {
                    let row = sqlx::query(&format!("SELECT {WRITE_KEY_COLUMNS} FROM write_keys WHERE key_hash = $1 AND revoked_at IS NULL"))
                        .bind(key_hash)
                        .fetch_optional(&self.pool)
                        .await?;
                    row.as_ref().map(write_key_from_row).transpose()
                }

                async fn create_setup_token(&self, token_hash: &str, expires_at: DateTime<Utc>) -> Result<()> {
                    sqlx::query("INSERT INTO setup_tokens (token_hash, created_at, expires_at) VALUES ($1, $2, $3)")
                        .bind(token_hash)
                        .bind(Utc::now())
                        .bind(expires_at)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn setup_token_valid(&self, token_hash: &str, now: DateTime<Utc>) -> Result<bool> {
                    let found: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM setup_tokens WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
                    )
                    .bind(token_hash)
                    .bind(now)
                    .fetch_one(&self.pool)
                    .await?;
                    Ok(found > 0)
                }

                async fn consume_setup_token(&self, token_hash: &str, now: DateTime<Utc>) -> Result<bool> {
                    let result = sqlx::query(
                        "UPDATE setup_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
                    )
                    .bind(token_hash)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                    Ok(result.rows_affected() == 1)
                }

                async fn append_audit(&self, input: &AuditInput) -> Result<AuditEntry> {
                    let row = sqlx::query(
                        "INSERT INTO audit_log (occurred_at, actor_id, actor, action, entity, entity_id, changes) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id, occurred_at, actor_id, actor, action, entity, entity_id, changes",
                    )
                    .bind(Utc::now())
                    .bind(input.actor_id.map(|u| u.0))
                    .bind(input.actor.as_str())
                    .bind(input.action.as_str())
                    .bind(input.entity.as_str())
                    .bind(input.entity_id.as_deref())
                    .bind(serde_json::to_string(&input.changes).expect("JSON values always serialize"))
                    .fetch_one(&self.pool)
                    .await?;
                    audit_from_row(&row)
                }

                async fn list_audit(&self, query: &AuditQuery) -> Result<Page<AuditEntry>> {
                    let mut count = QueryBuilder::<$db>::new("SELECT COUNT(*) FROM audit_log");
                    push_audit_filters(&mut count, query);
                    let total: i64 = count.build_query_scalar().fetch_one(&self.pool).await?;
                    let mut select = QueryBuilder::<$db>::new(
                        "SELECT id, occurred_at, actor_id, actor, action, entity, entity_id, changes FROM audit_log",
                    );
                    push_audit_filters(&mut select, query);
                    select.push(" ORDER BY occurred_at DESC, id DESC LIMIT ").push_bind(query.limit);
                    select.push(" OFFSET ").push_bind(query.offset);
                    let rows = select.build().fetch_all(&self.pool).await?;
                    Ok(Page { items: rows.iter().map(audit_from_row).collect::<Result<_>>()?, total })
                }
            }
        }
    };
}

pub(crate) use staff_store;
