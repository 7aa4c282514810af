use std::fmt;

/// What kind of stored thing an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    Team,
    User,
    Account,
    Contact,
    SubscriptionPeriod,
    TimelineEntry,
    ApiToken,
    WriteKey,
    Feature,
    NpsResponse,
    Ticket,
    SavedView,
    Playbook,
    OutboxEmail,
    Segment,
    Task,
    OnboardingTemplate,
    OnboardingPlan,
    Event,
    Renewal,
    FeatureRequest,
    Notification,
    StagedImport,
    Message,
    Survey,
    ChangeLog,
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Entity::Team => "team",
            Entity::User => "staff user",
            Entity::Account => "account",
            Entity::Contact => "contact",
            Entity::SubscriptionPeriod => "subscription period",
            Entity::TimelineEntry => "timeline entry",
            Entity::ApiToken => "API token",
            Entity::WriteKey => "write key",
            Entity::Feature => "feature",
            Entity::NpsResponse => "NPS response",
            Entity::Ticket => "ticket",
            Entity::SavedView => "saved view",
            Entity::Playbook => "playbook",
            Entity::OutboxEmail => "outbox email",
            Entity::Segment => "segment",
            Entity::Task => "task",
            Entity::OnboardingTemplate => "onboarding template",
            Entity::OnboardingPlan => "onboarding plan",
            Entity::Event => "usage event",
            Entity::Renewal => "renewal",
            Entity::FeatureRequest => "feature request",
            Entity::Notification => "notification",
            Entity::StagedImport => "uploaded file",
            Entity::Message => "in-app message",
            Entity::Survey => "survey",
            Entity::ChangeLog => "change log entry",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{entity} {id} does not exist")]
    NotFound { entity: Entity, id: String },
    #[error("another {entity} already has this {field}")]
    Conflict { entity: Entity, field: &'static str },
    #[error("{entity} refers to a row that does not exist")]
    InvalidReference { entity: Entity },
    #[error("stored {entity} is unreadable: {detail}")]
    Corrupt { entity: Entity, detail: String },
    #[error("database URL must start with sqlite: or postgres:// (the URL itself is not shown because it may hold a password)")]
    UnsupportedUrl,
    /// The database stayed locked by other writers longer than the busy timeout (SQLite).
    #[error("the database is busy with other writes")]
    Busy,
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> StoreError {
        if is_busy(&error) {
            return StoreError::Busy;
        }
        StoreError::Database(error)
    }
}

/// SQLite's SQLITE_BUSY (5) and its extended codes (e.g. 517, BUSY_SNAPSHOT): another writer held
/// the lock past the busy timeout. The caller may retry; it is not a fault of the request.
fn is_busy(error: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = error else {
        return false;
    };
    db.code().and_then(|code| code.parse::<i64>().ok()).is_some_and(|code| code & 0xff == 5)
        && db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
}

impl StoreError {
    /// Turns constraint violations into errors the caller can report to the user.
    pub(crate) fn from_write(error: sqlx::Error, entity: Entity, unique_field: &'static str) -> StoreError {
        if let sqlx::Error::Database(db) = &error {
            if db.is_unique_violation() {
                return StoreError::Conflict { entity, field: unique_field };
            }
            if db.is_foreign_key_violation() {
                return StoreError::InvalidReference { entity };
            }
        }
        StoreError::from(error)
    }
}
