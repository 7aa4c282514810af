//! Storage: the `Store` repository trait and its SQLite and PostgreSQL implementations.
//!
//! `Store` is the sum of one trait per area (`AccountStore`, `StaffStore`, `IngestStore`, …);
//! each area's SQL is written once in its file and expanded for both backends (see `sql.rs`), so
//! they cannot drift apart, and one contract test suite (`tests/it`) runs against both.

mod accounts;
mod change_log;
mod error;
mod event_batches;
mod feedback;
mod health;
mod import_plan;
mod ingest;
mod ingest_memory;
mod interchange;
mod kpi;
mod notifications;
pub mod onboarding;
pub mod playbooks;
mod postgres;
mod renewals;
mod segments;
mod sql;
mod sqlite;
mod staff;
mod staged_imports;
mod tasks;
mod tech_touch;
#[cfg(feature = "testing")]
pub mod testing;
mod timeline;
mod usage;
mod voice;
mod workspace;

pub use accounts::AccountStore;
pub use change_log::{ChangeLogStore, LoggedChange};
pub use error::{Entity, StoreError};
pub use feedback::{Evidence, FeatureRequest, FeedbackStore, NewEvidence, RequestWebhook, StatusEntry};
pub use health::{GradeOn, HealthStore, Pulse};
pub use ingest::IngestStore;
pub use interchange::InterchangeStore;
pub use kpi::{KpiStore, KpiValue};
pub use notifications::{Notification, NotificationStore, Routing};
pub use onboarding::OnboardingStore;
pub use playbooks::PlaybookStore;
pub use postgres::PostgresStore;
pub use renewals::{ForecastSnapshotRow, RenewalStore, StoredRenewalCall};
pub use segments::{
    AccountSegment, HistoryQuery, MembershipChanges, SavedSegment, SegmentEvent, SegmentInput, SegmentMember,
    SegmentMembers, SegmentStore, SegmentSummary,
};
pub use sqlite::SqliteStore;
pub use staff::StaffStore;
pub use staged_imports::{StagedImport, StagedImportStore};
pub use tasks::{TaskQuery, TaskSort, TaskStore};
pub use tech_touch::{PersonExposure, SurveyAnswer, TechTouchStore, TouchItem};
pub use timeline::TimelineStore;
pub use usage::{
    CatalogChanges, EndUser, EventDay, FeatureAdoption, FeatureDay, ReceivedEvent, UsageHistory, UsageStore,
};
pub use voice::VoiceStore;
pub use workspace::WorkspaceStore;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use domain::account::TouchModel;
use domain::staff::StaffUser;
use domain::timeline::TimelineKind;
use domain::{AccountId, Email, Money, TeamId, UserId};
use std::sync::Arc;

pub type Result<T> = std::result::Result<T, StoreError>;

/// One page of a list, with the total number of matches.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AccountSort {
    #[default]
    Name,
    Arr,
    RenewalDate,
    Updated,
    /// The latest health score.
    Score,
    /// The health score's change over 30 days.
    Trend,
    /// The order accounts were created in: the cheapest full read (the pipeline's).
    Id,
}

#[derive(Debug, Clone, Default)]
pub struct AccountQuery {
    /// Accounts this user owns or sub-owns.
    pub owner: Option<UserId>,
    /// Accounts whose main or sub owner is in this team.
    pub team: Option<TeamId>,
    pub stage: Option<String>,
    pub tier: Option<String>,
    pub touch_model: Option<TouchModel>,
    /// The grade key of the latest health score.
    pub grade: Option<String>,
    /// Next renewal date within [first, last].
    pub renewal_between: Option<(NaiveDate, NaiveDate)>,
    /// Only paying customers: accounts whose MRR today is above zero.
    pub paying: bool,
    /// Text in the name, external id, domain or reading, compared after `domain::search::normalize`
    /// (width, case, spaces and katakana/hiragana aside).
    pub text: Option<String>,
    /// A custom field (without `custom.`) and the value it must have.
    pub custom: Option<(String, String)>,
    pub sort: AccountSort,
    pub descending: bool,
    pub limit: i64,
    pub offset: i64,
}

impl AccountQuery {
    /// Whether it leaves accounts out by what they are (owner, team, stage, tier, touch model,
    /// grade, text or custom field); paging, sorting and the renewal window aside.
    pub fn narrows(&self) -> bool {
        self.owner.is_some()
            || self.team.is_some()
            || self.stage.is_some()
            || self.tier.is_some()
            || self.touch_model.is_some()
            || self.grade.is_some()
            || self.text.is_some()
            || self.custom.is_some()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GradeTotal {
    pub grade: Option<String>,
    pub accounts: i64,
    pub arr: Money,
}

/// A named account-list query (the page's query string) kept for one user.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SavedView {
    pub id: i64,
    pub name: String,
    pub query: String,
}

#[derive(Debug, Clone, Default)]
pub struct ChildQuery {
    pub account_id: Option<AccountId>,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Debug, Clone, Default)]
pub struct TimelineQuery {
    pub account_id: Option<AccountId>,
    pub kind: Option<TimelineKind>,
    pub limit: i64,
    pub offset: i64,
}

/// What one ingest transaction stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct IngestCounts {
    pub stored: usize,
    /// Messages whose `messageId` was stored before: counted once, ignored now.
    pub duplicates: usize,
    /// Stored without an account yet; attributed when their user is grouped.
    pub unattributed: usize,
    /// Accounts created because a `group` call named an unknown `groupId`.
    pub accounts_created: usize,
    /// Accounts whose usage changed (events stored or attributed to them), each with the first
    /// day whose rollups changed.
    pub accounts: Vec<(AccountId, NaiveDate)>,
}

/// A usage event as stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StoredEvent {
    pub message_id: String,
    pub kind: String,
    pub account_id: Option<AccountId>,
    pub user_id: Option<String>,
    pub event: Option<String>,
    pub occurred_at: DateTime<Utc>,
}

/// What an import changed. Re-importing the same file gives `created = updated = 0`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportCounts {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Owners named in the file who were not staff users yet; created inactive.
    pub users_created: Vec<Email>,
}

/// A tracking message the API refused: which write key sent it (its shown prefix), when, which
/// field was wrong and why (both languages), and the message as sent (at most 2,000 characters).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct RefusedMessage {
    pub key_prefix: String,
    pub received_at: DateTime<Utc>,
    pub field: String,
    /// The reason's code, e.g. `required`, `contains_nul`.
    pub code: String,
    pub reason_ja: String,
    pub reason_en: String,
    pub message: String,
}

/// The attempts counted against one throttling key in its current window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptWindow {
    pub attempts: i64,
    /// Unix seconds.
    pub started_at: i64,
}

/// A signed-in browser session. The cookie holds the token; the store holds its hash.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: StaffUser,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub actor_id: Option<UserId>,
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    pub action: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Everything Kizuna keeps. Methods that write several rows do so in one transaction.
#[async_trait]
pub trait Store:
    UsageStore
    + HealthStore
    + PlaybookStore
    + SegmentStore
    + TaskStore
    + OnboardingStore
    + RenewalStore
    + FeedbackStore
    + NotificationStore
    + StagedImportStore
    + KpiStore
    + TechTouchStore
    + StaffStore
    + WorkspaceStore
    + VoiceStore
    + TimelineStore
    + IngestStore
    + InterchangeStore
    + AccountStore
    + ChangeLogStore
{
    fn backend(&self) -> Backend;
    /// Refreshes the query planner's statistics after bulk writes (PostgreSQL: `VACUUM (ANALYZE)`
    /// of accounts, then `ANALYZE`; SQLite: `PRAGMA optimize`): without them a freshly loaded
    /// database plans list queries badly, and autovacuum may be off or late.
    async fn refresh_statistics(&self) -> Result<()>;

    /// Paying accounts and their ARR per grade of the latest health score (`None`: not scored yet).
    async fn grade_totals(&self) -> Result<Vec<GradeTotal>>;
}

/// Opens the store a database URL names and applies pending migrations.
///
/// `sqlite:` URLs (or a plain file path) use SQLite; `postgres://` or `postgresql://` use
/// PostgreSQL; anything else is refused rather than guessed.
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::connect(url).await?))
    } else if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        Ok(Arc::new(SqliteStore::open(std::path::Path::new(path)).await?))
    } else {
        Err(StoreError::UnsupportedUrl)
    }
}
