//! Staff authentication: passwords (argon2id, hashed off the async runtime), sessions, API
//! tokens, tracking write keys, one-time setup links, and sign-in rate limiting.

use crate::{App, AppError};
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use chrono::{DateTime, Duration as Span, Utc};
use domain::access::{Role, Scope};
use domain::credentials::{ApiToken, WriteKey};
use domain::staff::{StaffUser, StaffUserInput};
use domain::{Email, Reason, UserId};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

pub const MIN_PASSWORD_CHARS: usize = 10;
pub const SESSION_LIFETIME_HOURS: i64 = 12;
const SETUP_LINK_HOURS: i64 = 24;
/// Failed sign-ins (and password checks) are counted per key in windows of this length, in the
/// database, so every app node counts the same attempts.
const LOCKOUT_WINDOW_SECONDS: i64 = 15 * 60;
const MAX_FAILURES_PER_EMAIL: i64 = 5;
const MAX_FAILURES_PER_IP: i64 = 20;
/// Wrong current passwords allowed per user and window when changing a password.
const MAX_PASSWORD_CHECKS: i64 = 5;
/// How long a write key found live is trusted without asking the database again.
const WRITE_KEY_TRUST: Duration = Duration::from_secs(10);

/// Who is acting: a staff user (signed in or through an API token), or Kizuna itself.
#[derive(Debug, Clone)]
pub enum Actor {
    Staff {
        user: StaffUser,
        token: Option<ApiToken>,
    },
    /// The command line or a background job, which act with full rights on the local machine.
    System(&'static str),
}

impl Actor {
    pub fn role(&self) -> Role {
        match self {
            Actor::Staff { user, .. } => user.input.role,
            Actor::System(_) => Role::Admin,
        }
    }

    pub fn scope(&self) -> Option<Scope> {
        match self {
            Actor::Staff { token, .. } => token.as_ref().map(|t| t.scope),
            Actor::System(_) => None,
        }
    }

    pub fn user_id(&self) -> Option<UserId> {
        match self {
            Actor::Staff { user, .. } => Some(user.id),
            Actor::System(_) => None,
        }
    }

    /// How the audit log names the actor.
    pub fn label(&self) -> String {
        match self {
            Actor::Staff { user, token: None } => user.input.email.to_string(),
            Actor::Staff { user, token: Some(token) } => format!("{} (token {})", user.input.email, token.name),
            Actor::System(what) => format!("system:{what}"),
        }
    }
}

/// A new session: the cookie value and the CSRF token forms and API calls must echo.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: String,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
    pub user: StaffUser,
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// The same answer for an unknown email and a wrong password.
    #[error("email or password is wrong")]
    InvalidCredentials,
    #[error("too many failed sign-ins; try again in {minutes} minutes")]
    LockedOut { minutes: u64 },
    #[error(transparent)]
    App(#[from] AppError),
}

/// Write keys found live within `WRITE_KEY_TRUST`, by hash, so that each tracking request does
/// not wait for a database read. Revoking a key forgets them all on this node; other nodes stop
/// accepting a revoked key within `WRITE_KEY_TRUST`.
#[derive(Default)]
pub struct LiveWriteKeys {
    checked: Mutex<HashMap<String, (Instant, LiveWriteKey)>>,
}

/// What a tracking request needs of its live write key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveWriteKey {
    pub id: i64,
    pub allowed_origins: Arc<Vec<String>>,
}

impl LiveWriteKeys {
    #[cfg(test)]
    fn trusts(&self, hash: &str, now: Instant) -> bool {
        self.trusted(hash, now).is_some()
    }

    fn trusted(&self, hash: &str, now: Instant) -> Option<LiveWriteKey> {
        let checked = self.checked.lock().unwrap_or_else(|p| p.into_inner());
        checked.get(hash).filter(|(at, _)| now.duration_since(*at) < WRITE_KEY_TRUST).map(|(_, key)| key.clone())
    }

    fn remember(&self, hash: String, now: Instant, key: LiveWriteKey) {
        let mut checked = self.checked.lock().unwrap_or_else(|p| p.into_inner());
        checked.retain(|_, (at, _)| now.duration_since(*at) < WRITE_KEY_TRUST);
        checked.insert(hash, (now, key));
    }

    fn forget_all(&self) {
        self.checked.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// How long a write key's counts wait in memory before they are written: one write a second
/// per node instead of one per tracking request, which competed with the ingest writer's
/// transactions (SQLite has one writer) and cost PostgreSQL a commit per request.
const WRITE_KEY_USES_WRITTEN_EVERY: Duration = Duration::from_secs(1);

/// A write key's id and a day in the workspace time zone.
type KeyDay = (i64, chrono::NaiveDate);

/// Tracking requests counted per write key and day, not yet written, and when counts were
/// last written.
#[derive(Default)]
pub struct WriteKeyUses {
    counted: Mutex<(HashMap<KeyDay, KeyUse>, Option<Instant>)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct KeyUse {
    accepted: i64,
    refused: i64,
    last: DateTime<Utc>,
}

impl KeyUse {
    fn merge(&mut self, other: KeyUse) {
        self.accepted += other.accepted;
        self.refused += other.refused;
        self.last = self.last.max(other.last);
    }
}

impl WriteKeyUses {
    /// Counts a request; true when the counts are due to be written.
    fn count(&self, key: KeyDay, used: KeyUse, now: Instant) -> bool {
        let mut counted = self.counted.lock().unwrap_or_else(|p| p.into_inner());
        add(&mut counted.0, key, used);
        let written = *counted.1.get_or_insert(now);
        now.duration_since(written) >= WRITE_KEY_USES_WRITTEN_EVERY
    }

    /// Whether counts wait and the last write is `WRITE_KEY_USES_WRITTEN_EVERY` ago.
    fn due(&self, now: Instant) -> bool {
        let counted = self.counted.lock().unwrap_or_else(|p| p.into_inner());
        !counted.0.is_empty()
            && counted.1.is_none_or(|written| now.duration_since(written) >= WRITE_KEY_USES_WRITTEN_EVERY)
    }

    /// Takes every count to be written.
    fn take(&self, now: Instant) -> Vec<(KeyDay, KeyUse)> {
        let mut counted = self.counted.lock().unwrap_or_else(|p| p.into_inner());
        counted.1 = Some(now);
        counted.0.drain().collect()
    }

    /// Keeps counts whose write failed, for the next one.
    fn put_back(&self, failed: Vec<(KeyDay, KeyUse)>) {
        let mut counted = self.counted.lock().unwrap_or_else(|p| p.into_inner());
        for (key, used) in failed {
            add(&mut counted.0, key, used);
        }
    }
}

fn add(counts: &mut HashMap<KeyDay, KeyUse>, key: KeyDay, used: KeyUse) {
    counts.entry(key).and_modify(|kept| kept.merge(used)).or_insert(used);
}

/// The throttling keys of a sign-in: the email (5 failures) and the client address (20). The
/// email is hashed: it is whatever the client sent, of any length.
fn sign_in_keys(email: &str, ip: IpAddr) -> [(String, i64); 2] {
    [
        (format!("email:{}", secret_hash(&email.trim().to_lowercase())), MAX_FAILURES_PER_EMAIL),
        (format!("ip:{ip}"), MAX_FAILURES_PER_IP),
    ]
}

/// Whole minutes (at least 1) until a window that started at `started_at` ends.
fn minutes_left(started_at: i64, now: i64) -> u64 {
    let left = (started_at + LOCKOUT_WINDOW_SECONDS - now).max(0) as u64;
    left.div_ceil(60).max(1)
}

/// A random secret: a readable prefix and 32 random bytes, URL-safe.
pub fn new_secret(prefix: &str) -> Result<String, AppError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| AppError::Internal(format!("no randomness available: {e}")))?;
    Ok(format!("{prefix}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)))
}

/// A password for a new user, shown once to whoever creates them.
pub fn generated_password() -> Result<String, AppError> {
    Ok(new_secret("")?.chars().take(16).collect())
}

/// How secrets are stored: hex SHA-256. Secrets are long and random, so a fast hash is enough.
pub fn secret_hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

pub fn check_password_strength(password: &str) -> Result<(), Reason> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Reason::TooShort { min: MIN_PASSWORD_CHARS });
    }
    if password.chars().count() > 1024 {
        return Err(Reason::TooLong { max: 1024 });
    }
    Ok(())
}

async fn hash_password(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(password.as_bytes(), &salt).map(|hash| hash.to_string())
    })
    .await
    .map_err(|e| AppError::Internal(format!("password hashing stopped: {e}")))?
    .map_err(|e| AppError::Internal(format!("password hashing failed: {e}")))
}

async fn verify_password(password: String, hash: String) -> Result<bool, AppError> {
    tokio::task::spawn_blocking(move || match PasswordHash::new(&hash) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    })
    .await
    .map_err(|e| AppError::Internal(format!("password check stopped: {e}")))
}

/// A hash of nothing anyone knows, verified for unknown emails so that they take as long as
/// wrong passwords.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(b"decoy password never used", &salt).map(|h| h.to_string()).unwrap_or_default()
    })
}

impl App {
    /// Signs a staff user in. Unknown email, inactive user and wrong password look the same.
    ///
    /// Each attempt is counted against the email and the client address *before* the password
    /// is checked, so concurrent guesses cannot all slip through under the limit; a success gives
    /// its attempt back and clears the email's failures.
    pub async fn login(&self, email: &str, password: &str, ip: IpAddr) -> Result<NewSession, LoginError> {
        let now = Utc::now().timestamp();
        let keys = sign_in_keys(email, ip);
        let mut locked_minutes = None;
        for (key, max) in &keys {
            let window = self.store.reserve_attempt(key, now, LOCKOUT_WINDOW_SECONDS).await.map_err(AppError::from)?;
            if window.attempts > *max {
                locked_minutes = locked_minutes.max(Some(minutes_left(window.started_at, now)));
            }
        }
        if let Some(minutes) = locked_minutes {
            return Err(LoginError::LockedOut { minutes });
        }
        let user = match Email::parse(email) {
            Ok(email) => self.store.user_by_email(&email).await.map_err(AppError::from)?,
            Err(_) => None,
        };
        let stored = match &user {
            Some(user) if user.input.active => self.store.password_hash(user.id).await.map_err(AppError::from)?,
            _ => None,
        };
        let hash = stored.clone().unwrap_or_else(|| decoy_hash().to_owned());
        let matches = verify_password(password.to_owned(), hash).await? && stored.is_some();
        match user {
            Some(user) if matches => {
                let [(email_key, _), (ip_key, _)] = &keys;
                self.store.clear_attempts(email_key).await.map_err(AppError::from)?;
                self.store.release_attempt(ip_key).await.map_err(AppError::from)?;
                let session = self.start_session(user).await?;
                self.record(
                    &Actor::Staff { user: session.user.clone(), token: None },
                    "login",
                    "session",
                    None,
                    Default::default(),
                )
                .await?;
                Ok(session)
            }
            _ => Err(LoginError::InvalidCredentials),
        }
    }

    async fn start_session(&self, user: StaffUser) -> Result<NewSession, AppError> {
        let token = new_secret("")?;
        let csrf_token = new_secret("")?;
        let expires_at = Utc::now() + Span::hours(SESSION_LIFETIME_HOURS);
        self.store.create_session(&secret_hash(&token), user.id, &csrf_token, expires_at).await?;
        Ok(NewSession { token, csrf_token, expires_at, user })
    }

    /// The signed-in user of a session cookie, with the session's CSRF token.
    pub async fn session_actor(&self, token: &str) -> Result<Option<(Actor, String)>, AppError> {
        let session = self.store.session(&secret_hash(token), Utc::now()).await?;
        Ok(session.filter(|s| s.user.input.active).map(|s| (Actor::Staff { user: s.user, token: None }, s.csrf_token)))
    }

    pub async fn logout(&self, token: &str) -> Result<(), AppError> {
        Ok(self.store.delete_session(&secret_hash(token)).await?)
    }

    /// The owner of an API token sent as `Authorization: Bearer …`.
    pub async fn token_actor(&self, secret: &str) -> Result<Option<Actor>, AppError> {
        let found = self.store.use_api_token(&secret_hash(secret)).await?;
        Ok(found.filter(|(_, user)| user.input.active).map(|(token, user)| Actor::Staff { user, token: Some(token) }))
    }

    /// Changes the signed-in user's password after checking the current one. Only a browser
    /// session may do this (an API token cannot); wrong current passwords are throttled per user.
    /// All the user's sessions end and a new one starts; with `revoke_tokens` their API tokens are
    /// revoked too.
    pub async fn change_password(
        &self,
        actor: &Actor,
        current: &str,
        new: &str,
        revoke_tokens: bool,
    ) -> Result<NewSession, LoginError> {
        let Actor::Staff { user, token: None } = actor else {
            return Err(LoginError::App(AppError::Forbidden));
        };
        let now = Utc::now().timestamp();
        let key = format!("password:{}", user.id);
        let window = self.store.reserve_attempt(&key, now, LOCKOUT_WINDOW_SECONDS).await.map_err(AppError::from)?;
        if window.attempts > MAX_PASSWORD_CHECKS {
            return Err(LoginError::LockedOut { minutes: minutes_left(window.started_at, now) });
        }
        let stored = self.store.password_hash(user.id).await.map_err(AppError::from)?.unwrap_or_default();
        if !verify_password(current.to_owned(), stored).await? {
            return Err(
                AppError::invalid("current_password", Reason::Malformed { detail: "does not match".into() }).into()
            );
        }
        self.store.clear_attempts(&key).await.map_err(AppError::from)?;
        check_password_strength(new).map_err(|r| AppError::invalid("new_password", r))?;
        self.store.set_password_hash(user.id, &hash_password(new.to_owned()).await?).await.map_err(AppError::from)?;
        self.store.delete_sessions_of(user.id).await.map_err(AppError::from)?;
        if revoke_tokens {
            self.store.revoke_api_tokens_of(user.id).await.map_err(AppError::from)?;
        }
        let changes =
            domain::audit::diff(&serde_json::Value::Null, &serde_json::json!({"revoke_tokens": revoke_tokens}));
        self.record(actor, "change_password", "staff_user", Some(user.id.to_string()), changes).await?;
        Ok(self.start_session(user.clone()).await?)
    }

    /// Creates (or, for an existing email, updates) a staff user who can sign in with `password`.
    /// An existing user given no team keeps theirs (`kizuna user create` has no team option).
    pub async fn create_user_with_password(
        &self,
        actor: &Actor,
        input: &StaffUserInput,
        password: &str,
    ) -> Result<StaffUser, AppError> {
        check_password_strength(password).map_err(|r| AppError::invalid("password", r))?;
        let hash = hash_password(password.to_owned()).await?;
        let (user, before) = match self.store.user_by_email(&input.email).await? {
            Some(existing) => {
                let input = StaffUserInput { team_id: input.team_id.or(existing.input.team_id), ..input.clone() };
                (self.store.update_user(existing.id, &input).await?, Some(existing.input))
            }
            None => (self.store.create_user(input).await?, None),
        };
        self.store.set_password_hash(user.id, &hash).await?;
        let action = if before.is_some() { "update" } else { "create" };
        self.record_change(actor, action, "staff_user", &user.id.to_string(), before.as_ref(), Some(&user.input))
            .await?;
        Ok(user)
    }

    /// Adds a staff user with a generated password, returned once (as `kizuna user create`
    /// does without input). Unlike `create_user_with_password`, an email in use is refused
    /// rather than given a new password.
    pub async fn add_user_with_generated_password(
        &self,
        actor: &Actor,
        input: &StaffUserInput,
    ) -> Result<(StaffUser, String), AppError> {
        if self.store.user_by_email(&input.email).await?.is_some() {
            return Err(AppError::Conflict { entity: store::Entity::User, field: "email" });
        }
        self.check_team(input).await?;
        let password = generated_password()?;
        let user = self.create_user_with_password(actor, input, &password).await?;
        Ok((user, password))
    }

    /// Gives an existing staff user a new generated password, returned once (admins only): a
    /// colleague who never had one, or forgot theirs. Their sessions end; API tokens stay.
    pub async fn reset_password(&self, actor: &Actor, id: UserId) -> Result<(StaffUser, String), AppError> {
        if actor.role() != Role::Admin {
            return Err(AppError::Forbidden);
        }
        let user = self.store.get_user(id).await?;
        let password = generated_password()?;
        self.store.set_password_hash(user.id, &hash_password(password.clone()).await?).await?;
        self.store.delete_sessions_of(user.id).await?;
        // The audit says that it happened, never the password.
        let changes = domain::audit::diff(&serde_json::Value::Null, &serde_json::json!({"password": "reset"}));
        self.record(actor, "reset_password", "staff_user", Some(user.id.to_string()), changes).await?;
        Ok((user, password))
    }

    /// A one-time setup link token, when nobody can sign in yet.
    pub async fn setup_token_if_needed(&self) -> Result<Option<String>, AppError> {
        if self.store.count_users_with_password().await? > 0 {
            return Ok(None);
        }
        let token = new_secret("setup_")?;
        self.store.create_setup_token(&secret_hash(&token), Utc::now() + Span::hours(SETUP_LINK_HOURS)).await?;
        Ok(Some(token))
    }

    pub async fn setup_token_valid(&self, token: &str) -> Result<bool, AppError> {
        Ok(self.store.setup_token_valid(&secret_hash(token), Utc::now()).await?)
    }

    /// Uses a setup link once: creates the first admin and signs them in.
    pub async fn complete_setup(
        &self,
        token: &str,
        email: Email,
        name: String,
        password: &str,
    ) -> Result<NewSession, AppError> {
        check_password_strength(password).map_err(|r| AppError::invalid("password", r))?;
        if !self.store.consume_setup_token(&secret_hash(token), Utc::now()).await? {
            return Err(AppError::Forbidden);
        }
        let input = StaffUserInput { email, name, team_id: None, role: Role::Admin, active: true };
        let user = self.create_user_with_password(&Actor::System("setup link"), &input, password).await?;
        self.start_session(user).await
    }

    /// Issues an API token for the actor; the secret is returned once and never stored.
    /// The API tokens of one user (all users' with `None`), secrets never included.
    pub async fn api_tokens(&self, owner: Option<UserId>) -> Result<Vec<ApiToken>, AppError> {
        Ok(self.store.list_api_tokens(owner).await?)
    }

    pub async fn create_api_token(
        &self,
        actor: &Actor,
        name: &str,
        scope: Scope,
    ) -> Result<(ApiToken, String), AppError> {
        let user = actor.user_id().ok_or(AppError::Forbidden)?;
        let secret = new_secret("kzt_")?;
        let token = self.store.create_api_token(user, name, scope, &secret_hash(&secret), &secret[..12]).await?;
        self.record(
            actor,
            "create",
            "api_token",
            Some(token.id.to_string()),
            domain::audit::diff(&serde_json::Value::Null, &serde_json::json!({"name": name, "scope": scope})),
        )
        .await?;
        Ok((token, secret))
    }

    /// Revokes a token: one's own, or anyone's for an admin.
    pub async fn revoke_api_token(&self, actor: &Actor, id: i64) -> Result<ApiToken, AppError> {
        let token = self.store.get_api_token(id).await?;
        let own = actor.user_id() == Some(token.user_id);
        if !own && !domain::access::permits(actor.role(), actor.scope(), domain::access::Access::Admin) {
            return Err(AppError::Forbidden);
        }
        let revoked = self.store.revoke_api_token(id).await?;
        self.record(actor, "revoke", "api_token", Some(id.to_string()), Default::default()).await?;
        Ok(revoked)
    }

    /// Issues a write key for the tracking API; the secret is returned once.
    pub async fn create_write_key(
        &self,
        actor: &Actor,
        name: &str,
        allowed_origins: &[String],
    ) -> Result<(WriteKey, String), AppError> {
        let secret = new_secret("kzw_")?;
        let key = self
            .store
            .create_write_key(name, &secret_hash(&secret), &secret[..12], actor.user_id(), allowed_origins)
            .await?;
        self.record(
            actor,
            "create",
            "write_key",
            Some(key.id.to_string()),
            domain::audit::diff(
                &serde_json::Value::Null,
                &serde_json::json!({"name": name, "allowed_origins": allowed_origins}),
            ),
        )
        .await?;
        Ok((key, secret))
    }

    /// Replaces a write key's allowed origins (empty: any origin).
    pub async fn set_write_key_origins(
        &self,
        actor: &Actor,
        id: i64,
        allowed_origins: &[String],
    ) -> Result<WriteKey, AppError> {
        let before = self.store.list_write_keys(chrono::Utc::now().date_naive()).await?;
        let key = self.store.set_write_key_origins(id, allowed_origins).await?;
        self.live_write_keys.forget_all();
        let old = before.iter().find(|k| k.id == id).map(|k| k.allowed_origins.clone()).unwrap_or_default();
        self.record(
            actor,
            "update",
            "write_key",
            Some(id.to_string()),
            domain::audit::diff(
                &serde_json::json!({"allowed_origins": old}),
                &serde_json::json!({"allowed_origins": allowed_origins}),
            ),
        )
        .await?;
        Ok(key)
    }

    /// Write keys with their last use and counts of the last `WRITE_KEY_DAYS` days.
    pub async fn write_keys(&self) -> Result<Vec<WriteKey>, AppError> {
        self.write_key_uses_now().await;
        let today = chrono::Utc::now().with_timezone(&self.zone()).date_naive();
        let since = today - chrono::Duration::days(domain::credentials::WRITE_KEY_DAYS - 1);
        Ok(self.store.list_write_keys(since).await?)
    }

    /// Counts one tracking request's messages for its write key (today in the workspace time
    /// zone) and its use; the counts are written at most every `WRITE_KEY_USES_WRITTEN_EVERY`, and
    /// before write keys are listed. A failure is only logged: the messages are already stored.
    pub async fn record_write_key_use(&self, id: i64, accepted: usize, refused: usize) {
        let now = chrono::Utc::now();
        let day = now.with_timezone(&self.zone()).date_naive();
        let used = KeyUse { accepted: accepted as i64, refused: refused as i64, last: now };
        if self.write_key_uses.count((id, day), used, Instant::now()) {
            self.write_key_uses_now().await;
        }
    }

    /// Writes the write keys' counts kept in memory once they are due (the follower's loop
    /// asks, so the last requests' counts do not wait for another request).
    pub(crate) async fn write_key_uses_when_due(&self) {
        if self.write_key_uses.due(Instant::now()) {
            self.write_key_uses_now().await;
        }
    }

    /// Writes the write keys' counts kept in memory.
    pub(crate) async fn write_key_uses_now(&self) {
        let counts = self.write_key_uses.take(Instant::now());
        let mut failed = Vec::new();
        for ((id, day), used) in counts {
            if let Err(error) = self.store.record_write_key_use(id, day, used.last, used.accepted, used.refused).await {
                tracing::warn!(%error, key = id, "recording a write key's use");
                failed.push(((id, day), used));
            }
        }
        self.write_key_uses.put_back(failed);
    }

    pub async fn revoke_write_key(&self, actor: &Actor, id: i64) -> Result<WriteKey, AppError> {
        let key = self.store.revoke_write_key(id).await?;
        self.live_write_keys.forget_all();
        self.record(actor, "revoke", "write_key", Some(id.to_string()), Default::default()).await?;
        Ok(key)
    }

    /// Whether a write key may send tracking data (it can read nothing).
    pub async fn write_key_valid(&self, secret: &str) -> Result<bool, AppError> {
        Ok(self.live_write_key(secret).await?.is_some())
    }

    /// The live write key with this secret, if any.
    pub async fn live_write_key(&self, secret: &str) -> Result<Option<LiveWriteKey>, AppError> {
        let hash = secret_hash(secret);
        let now = Instant::now();
        if let Some(key) = self.live_write_keys.trusted(&hash, now) {
            return Ok(Some(key));
        }
        let live = self
            .store
            .write_key_by_hash(&hash)
            .await?
            .map(|key| LiveWriteKey { id: key.id, allowed_origins: Arc::new(key.allowed_origins) });
        if let Some(key) = &live {
            self.live_write_keys.remember(hash, now, key.clone());
        }
        Ok(live)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_key_counts_add_up_in_memory_and_are_due_a_second_after_the_last_write() {
        let uses = WriteKeyUses::default();
        let start = Instant::now();
        let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 6).expect("a date");
        let at = Utc::now();
        let one = KeyUse { accepted: 100, refused: 1, last: at };
        assert!(!uses.count((7, day), one, start), "the first count starts the clock");
        assert!(!uses.due(start + Duration::from_millis(500)));
        let later = KeyUse { accepted: 50, refused: 0, last: at + Span::seconds(1) };
        assert!(uses.count((7, day), later, start + Duration::from_secs(1)), "due a second on");
        let taken = uses.take(start + Duration::from_secs(1));
        assert_eq!(taken, vec![((7, day), KeyUse { accepted: 150, refused: 1, last: at + Span::seconds(1) })]);
        assert!(!uses.due(start + Duration::from_secs(5)), "nothing waits");
        uses.put_back(taken);
        assert!(uses.due(start + Duration::from_secs(2)), "a failed write is tried again");
    }

    #[test]
    fn a_live_write_key_is_trusted_for_a_while_and_forgotten_on_revocation() {
        let keys = LiveWriteKeys::default();
        let now = Instant::now();
        assert!(!keys.trusts("h", now));
        keys.remember("h".into(), now, LiveWriteKey::default());
        assert!(keys.trusts("h", now + Duration::from_secs(1)));
        assert!(!keys.trusts("h", now + WRITE_KEY_TRUST), "asked again once the trust runs out");
        keys.forget_all();
        assert!(!keys.trusts("h", now));
    }

    #[test]
    fn a_lock_lasts_whole_minutes_until_its_window_ends() {
        assert_eq!(minutes_left(1_000, 1_000), 15);
        assert_eq!(minutes_left(1_000, 1_000 + 14 * 60 + 1), 1);
        assert_eq!(minutes_left(1_000, 1_000 + 20 * 60), 1, "never less than a minute");
    }

    #[test]
    fn secrets_are_random_and_stored_as_hex_sha256() {
        let (a, b) = (new_secret("kzt_").unwrap(), new_secret("kzt_").unwrap());
        assert_ne!(a, b);
        assert!(a.starts_with("kzt_") && a.len() > 40);
        assert_eq!(secret_hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn short_passwords_are_refused() {
        assert_eq!(check_password_strength("short"), Err(Reason::TooShort { min: MIN_PASSWORD_CHARS }));
        assert!(check_password_strength("correct horse battery").is_ok());
    }
}
