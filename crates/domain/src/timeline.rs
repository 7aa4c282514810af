//! The account timeline: what staff did with a customer, and what the system noticed.

use crate::ids::{AccountId, TimelineEntryId, UserId};
use crate::validation::Reason;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The longest title of a timeline entry, in characters.
pub const MAX_TITLE: usize = 500;
/// The longest body of a timeline entry, in characters.
pub const MAX_BODY: usize = 20_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimelineKind {
    Note,
    Meeting,
    Call,
    Email,
    /// Written by Kizuna itself (imports, stage changes, later grade changes).
    System,
}

impl TimelineKind {
    pub const ALL: [TimelineKind; 5] = [Self::Note, Self::Meeting, Self::Call, Self::Email, Self::System];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Note => "note",
            Self::Meeting => "meeting",
            Self::Call => "call",
            Self::Email => "email",
            Self::System => "system",
        }
    }

    pub fn parse(raw: &str) -> Result<TimelineKind, Reason> {
        let wanted = raw.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == wanted)
            .ok_or_else(|| Reason::NotOneOf { allowed: Self::ALL.iter().map(|k| k.as_str().to_owned()).collect() })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TimelineEntryInput {
    pub account_id: AccountId,
    pub kind: TimelineKind,
    /// The staff user who wrote it; `None` for system entries.
    pub author_id: Option<UserId>,
    pub occurred_at: DateTime<Utc>,
    pub title: String,
    pub body: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TimelineEntry {
    pub id: TimelineEntryId,
    #[serde(flatten)]
    pub input: TimelineEntryInput,
}
