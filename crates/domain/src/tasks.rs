//! Tasks (calls to action): something a CSM should do for an account, why it exists, and how it
//! ended. Tasks come from people ("manual") and from playbooks ("playbook:{id}"); each keeps the
//! data that triggered it, as it was at that moment.
//!
//! A snoozed task wakes up by itself: from its `snoozed_until` day on it counts as open again
//! (see [`TaskStatus::effective`]); the stored row keeps `snoozed` until someone acts on it.

pub mod why;

use crate::fields::{FieldReader, Fields};
pub use crate::i18n::Bilingual;
use crate::i18n::Lang;
use crate::ids::{optional_text, required_text, AccountId, AccountRef, TeamId, UserId};
use crate::validation::{Errors, Reason};
use crate::FieldError;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const MAX_TITLE: usize = 200;
pub const MAX_KIND: usize = 40;
pub const MAX_DEDUPE_KEY: usize = 200;
pub const MAX_OUTCOME: usize = 5_000;
pub const MAX_SUMMARY: usize = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskPriority {
    Low,
    Normal,
    High,
    Urgent,
}

impl TaskPriority {
    pub const ALL: [TaskPriority; 4] = [Self::Low, Self::Normal, Self::High, Self::Urgent];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Normal => "normal",
            Self::High => "high",
            Self::Urgent => "urgent",
        }
    }

    pub fn parse(raw: &str) -> Result<TaskPriority, Reason> {
        let wanted = raw.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == wanted)
            .ok_or_else(|| Reason::NotOneOf { allowed: Self::ALL.iter().map(|p| p.as_str().to_owned()).collect() })
    }

    pub fn label(self, lang: Lang) -> &'static str {
        let (ja, en) = match self {
            Self::Low => ("低", "Low"),
            Self::Normal => ("中", "Normal"),
            Self::High => ("高", "High"),
            Self::Urgent => ("緊急", "Urgent"),
        };
        lang.pick(ja, en)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Open,
    Done,
    Snoozed,
    Cancelled,
}

impl TaskStatus {
    pub const ALL: [TaskStatus; 4] = [Self::Open, Self::Done, Self::Snoozed, Self::Cancelled];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Done => "done",
            Self::Snoozed => "snoozed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(raw: &str) -> Result<TaskStatus, Reason> {
        let wanted = raw.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == wanted)
            .ok_or_else(|| Reason::NotOneOf { allowed: Self::ALL.iter().map(|s| s.as_str().to_owned()).collect() })
    }

    pub fn label(self, lang: Lang) -> &'static str {
        let (ja, en) = match self {
            Self::Open => ("未完了", "Open"),
            Self::Done => ("完了", "Done"),
            Self::Snoozed => ("スヌーズ中", "Snoozed"),
            Self::Cancelled => ("取り消し", "Cancelled"),
        };
        lang.pick(ja, en)
    }

    /// Open or snoozed: the task still asks for something, so a duplicate is not created.
    pub fn is_active(self) -> bool {
        matches!(self, Self::Open | Self::Snoozed)
    }

    /// The status as of `today`: a snooze ends on its `snoozed_until` day.
    pub fn effective(self, snoozed_until: Option<NaiveDate>, today: NaiveDate) -> TaskStatus {
        match (self, snoozed_until) {
            (Self::Snoozed, Some(until)) if until <= today => Self::Open,
            (status, _) => status,
        }
    }

    /// Whether a task may go from `self` (its effective status) to `to`.
    pub fn may_become(self, to: TaskStatus) -> bool {
        match self {
            Self::Open => matches!(to, Self::Done | Self::Snoozed | Self::Cancelled),
            Self::Snoozed => true,
            Self::Done | Self::Cancelled => to == Self::Open,
        }
    }
}

/// Why a task exists: who or what created it, a sentence for people, and the data at that moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TaskReason {
    /// `manual`, or `playbook:{id}` for a task a playbook created.
    pub source: String,
    pub summary: Bilingual,
    /// The figures that triggered the task, as they were then (an object of named values).
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TaskInput {
    pub account_id: AccountId,
    pub title: String,
    /// A free key: `risk`, `renewal`, `onboarding`, `outreach`, `other`, …
    pub kind: String,
    pub priority: TaskPriority,
    pub due_on: Option<NaiveDate>,
    pub assignee_id: Option<UserId>,
    pub team_id: Option<TeamId>,
    pub reason: TaskReason,
    /// No second open or snoozed task has the same account, kind and dedupe key.
    pub dedupe_key: String,
}

impl TaskInput {
    /// Every invalid field: a title, a kind key, a dedupe key, a known source and a summary.
    pub fn check(&self) -> Vec<FieldError> {
        let mut errors = Errors::new();
        errors.check("title", check_text(&self.title, MAX_TITLE));
        errors.check("kind", parse_kind(&self.kind));
        errors.check("dedupe_key", check_text(&self.dedupe_key, MAX_DEDUPE_KEY));
        let source_known = self.source_is_manual()
            || self.reason.source.strip_prefix("playbook:").is_some_and(|id| !id.trim().is_empty());
        if !source_known {
            errors.push("reason.source", Reason::NotOneOf { allowed: vec!["manual".into(), "playbook:{id}".into()] });
        }
        errors.check("reason.summary.ja", check_text(&self.reason.summary.ja, MAX_SUMMARY));
        errors.check("reason.summary.en", check_text(&self.reason.summary.en, MAX_SUMMARY));
        if !self.reason.data.is_object() {
            errors.push("reason.data", Reason::WrongType { expected: "a JSON object" });
        }
        errors.into_vec()
    }

    pub fn source_is_manual(&self) -> bool {
        self.reason.source == MANUAL
    }
}

/// The source of tasks people create.
pub const MANUAL: &str = "manual";

fn check_text(text: &str, max: usize) -> Result<(), Reason> {
    crate::ids::required_text(Some(text), max).map(drop)
}

/// A task kind: lower-case letters, digits, `_` and `-`, at most 40.
pub fn parse_kind(raw: &str) -> Result<String, Reason> {
    let kind = raw.trim().to_ascii_lowercase();
    if kind.is_empty() {
        return Err(Reason::Required);
    }
    if kind.chars().count() > MAX_KIND {
        return Err(Reason::TooLong { max: MAX_KIND });
    }
    if !kind.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(Reason::Malformed { detail: "a-z, 0-9, _ and -".into() });
    }
    Ok(kind)
}

/// The kinds offered when a person creates a task (any key is accepted).
pub const KINDS: [&str; 5] = ["risk", "renewal", "onboarding", "outreach", "other"];

pub fn kind_label(kind: &str, lang: Lang) -> String {
    let (ja, en) = match kind {
        "risk" => ("リスク対応", "Risk"),
        "renewal" => ("更新", "Renewal"),
        "onboarding" => ("オンボーディング", "Onboarding"),
        "outreach" => ("連絡", "Outreach"),
        "other" => ("その他", "Other"),
        // What a playbook's task is when its step names no kind.
        "playbook" => ("プレイブック", "Playbook"),
        other => return other.to_owned(),
    };
    lang.pick(ja, en).to_owned()
}

/// The dedupe key of a task a person creates without one: its title, case and spacing aside,
/// so the same task is not written down twice.
pub fn manual_dedupe_key(title: &str) -> String {
    let words: Vec<String> = title.split_whitespace().map(str::to_lowercase).collect();
    format!("manual:{}", words.join(" "))
}

/// A task a person writes down: its reason is made from their note and the account as it is now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ManualTask {
    /// Kizuna's id (a number) or the account's external id (`"ACC-000098"`).
    pub account_id: AccountRef,
    pub title: String,
    /// Defaults to `other`.
    pub kind: String,
    /// Defaults to `normal`.
    pub priority: TaskPriority,
    pub due_on: Option<NaiveDate>,
    /// Nobody and no team: the person who writes it.
    pub assignee_id: Option<UserId>,
    pub team_id: Option<TeamId>,
    /// Why, in the writer's words.
    pub note: Option<String>,
    /// Defaults to [`manual_dedupe_key`] of the title.
    pub dedupe_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Task {
    pub id: i64,
    #[serde(flatten)]
    pub input: TaskInput,
    /// As of today: a snoozed task whose snooze has ended is `open`.
    pub status: TaskStatus,
    pub snoozed_until: Option<NaiveDate>,
    /// What happened: required to finish or cancel a task.
    pub outcome: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When it was done or cancelled.
    pub closed_at: Option<DateTime<Utc>>,
}

impl Task {
    /// Open and due before `today`.
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        self.status == TaskStatus::Open && self.input.due_on.is_some_and(|due| due < today)
    }
}

/// A change to a task. `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskChange {
    pub status: Option<TaskStatus>,
    pub outcome: Option<String>,
    pub snoozed_until: Option<NaiveDate>,
    pub due_on: Option<Option<NaiveDate>>,
    pub assignee_id: Option<Option<UserId>>,
    pub priority: Option<TaskPriority>,
}

impl Task {
    /// The task after `change`, as of `today` and `now`, or every reason it cannot be made.
    pub fn changed(&self, change: &TaskChange, today: NaiveDate, now: DateTime<Utc>) -> Result<Task, Vec<FieldError>> {
        let mut errors = Errors::new();
        let mut next = self.clone();
        let outcome = match change.outcome.as_deref().map(str::trim) {
            Some(text) if text.chars().count() > MAX_OUTCOME => {
                errors.push("outcome", Reason::TooLong { max: MAX_OUTCOME });
                Err(())
            }
            Some("") | None => Ok(None),
            Some(text) => Ok(Some(text.to_owned())),
        };
        if let Some(to) = change.status.filter(|to| *to != self.status || *to == TaskStatus::Snoozed) {
            if !self.status.may_become(to) {
                let allowed = TaskStatus::ALL.into_iter().filter(|s| self.status.may_become(*s));
                errors.push("status", Reason::NotOneOf { allowed: allowed.map(|s| s.as_str().to_owned()).collect() });
            }
            match to {
                TaskStatus::Done | TaskStatus::Cancelled => {
                    if outcome == Ok(None) {
                        errors.push("outcome", Reason::Required);
                    }
                    next.closed_at = Some(now);
                    next.snoozed_until = None;
                    next.outcome = outcome.clone().unwrap_or_default();
                }
                TaskStatus::Snoozed => match change.snoozed_until {
                    None => errors.push("snoozed_until", Reason::Required),
                    Some(until) if until <= today => errors
                        .push("snoozed_until", Reason::OutOfRange { min: next_day(today), max: "9999-12-31".into() }),
                    Some(until) => {
                        next.snoozed_until = Some(until);
                        if let Ok(Some(note)) = &outcome {
                            next.outcome = Some(note.clone());
                        }
                    }
                },
                TaskStatus::Open => {
                    // A reopened task asks again: its earlier ending stays in the audit log
                    // and on the account's timeline.
                    next.closed_at = None;
                    next.snoozed_until = None;
                    next.outcome = outcome.clone().unwrap_or_default();
                }
            }
            next.status = to;
        } else if change.snoozed_until.is_some() {
            errors.push("snoozed_until", Reason::OnlyWith { field: "status", value: "snoozed" });
        } else if let Ok(Some(note)) = outcome {
            next.outcome = Some(note);
        }
        if let Some(due) = change.due_on {
            next.input.due_on = due;
        }
        if let Some(assignee) = change.assignee_id {
            next.input.assignee_id = assignee;
        }
        if let Some(priority) = change.priority {
            next.input.priority = priority;
        }
        next.updated_at = now;
        errors.finish(|| Some(next))
    }
}

fn next_day(today: NaiveDate) -> String {
    today.succ_opt().unwrap_or(today).to_string()
}

impl ManualTask {
    /// The fields the API takes.
    pub const FIELDS: &[&str] =
        &["account_id", "title", "kind", "priority", "due_on", "assignee_id", "team_id", "note", "dedupe_key"];

    /// A task a person creates, read field by field (the page's form goes through it too).
    pub fn from_json(value: Value) -> Result<ManualTask, Vec<FieldError>> {
        let mut f = Fields::new(value, Self::FIELDS)?;
        let account_id = f.account("account_id").map(|account| account.ok_or(Reason::Required));
        let account_id = account_id.and_then(|r| f.errors.check("account_id", r));
        let title = f.required("title", |raw| required_text(Some(raw), MAX_TITLE));
        let kind = f.parsed("kind", parse_kind);
        let priority = f.parsed("priority", TaskPriority::parse);
        let due_on = f.date("due_on");
        let assignee_id = f.id("assignee_id");
        let team_id = f.id("team_id");
        let note = f.text("note", MAX_SUMMARY);
        let dedupe_key = f.text("dedupe_key", MAX_DEDUPE_KEY);
        f.errors.finish(|| {
            Some(ManualTask {
                account_id: account_id?,
                title: title?,
                kind: kind?.unwrap_or_else(|| "other".into()),
                priority: priority?.unwrap_or(TaskPriority::Normal),
                due_on: due_on?,
                assignee_id: assignee_id?.map(UserId),
                team_id: team_id?.map(TeamId),
                note: note?,
                dedupe_key: dedupe_key?,
            })
        })
    }
}

impl TaskChange {
    /// The fields the API takes.
    pub const FIELDS: &[&str] = &["status", "outcome", "snoozed_until", "due_on", "assignee_id", "priority"];

    /// A change to a task; `due_on` and `assignee_id` given as null are cleared.
    pub fn from_json(value: Value) -> Result<TaskChange, Vec<FieldError>> {
        let given = |field: &str| value.get(field).is_some();
        let (due_given, assignee_given) = (given("due_on"), given("assignee_id"));
        let mut f = Fields::new(value, Self::FIELDS)?;
        let status = f.parsed("status", TaskStatus::parse);
        let outcome = f.parsed("outcome", |raw| optional_text(Some(raw), MAX_OUTCOME));
        let snoozed_until = f.date("snoozed_until");
        let due_on = f.date("due_on");
        let assignee_id = f.id("assignee_id");
        let priority = f.parsed("priority", TaskPriority::parse);
        f.errors.finish(|| {
            Some(TaskChange {
                status: status?,
                outcome: outcome?.flatten(),
                snoozed_until: snoozed_until?,
                due_on: due_given.then_some(due_on?),
                assignee_id: assignee_given.then_some(assignee_id?.map(UserId)),
                priority: priority?,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn task(status: TaskStatus) -> Task {
        let now = Utc::now();
        Task {
            id: 1,
            input: TaskInput {
                account_id: AccountId(1),
                title: "Call".into(),
                kind: "risk".into(),
                priority: TaskPriority::High,
                due_on: Some(day("2025-01-10")),
                assignee_id: None,
                team_id: None,
                reason: TaskReason {
                    source: MANUAL.into(),
                    summary: Bilingual { ja: "手動".into(), en: "By hand".into() },
                    data: json!({}),
                },
                dedupe_key: manual_dedupe_key("Call"),
            },
            status,
            snoozed_until: None,
            outcome: None,
            created_at: now,
            updated_at: now,
            closed_at: None,
        }
    }

    #[test]
    fn a_snooze_ends_on_its_day() {
        let until = Some(day("2025-01-05"));
        assert_eq!(TaskStatus::Snoozed.effective(until, day("2025-01-04")), TaskStatus::Snoozed);
        assert_eq!(TaskStatus::Snoozed.effective(until, day("2025-01-05")), TaskStatus::Open);
        assert_eq!(TaskStatus::Done.effective(None, day("2025-01-05")), TaskStatus::Done);
    }

    #[test]
    fn finishing_needs_an_outcome_and_closed_tasks_only_reopen() {
        let today = day("2025-01-01");
        let now = Utc::now();
        let open = task(TaskStatus::Open);
        let done = TaskChange { status: Some(TaskStatus::Done), ..TaskChange::default() };
        let errors = open.changed(&done, today, now).unwrap_err();
        assert_eq!(errors[0].field, "outcome");
        let with_note = TaskChange { outcome: Some("Called them".into()), ..done.clone() };
        let closed = open.changed(&with_note, today, now).unwrap();
        assert_eq!((closed.status, closed.outcome.as_deref()), (TaskStatus::Done, Some("Called them")));
        assert!(closed.closed_at.is_some());
        let snooze = TaskChange {
            status: Some(TaskStatus::Snoozed),
            snoozed_until: Some(day("2025-02-01")),
            ..TaskChange::default()
        };
        assert_eq!(closed.changed(&snooze, today, now).unwrap_err()[0].field, "status");
        let reopened =
            closed.changed(&TaskChange { status: Some(TaskStatus::Open), ..TaskChange::default() }, today, now);
        let reopened = reopened.unwrap();
        assert_eq!((reopened.status, reopened.closed_at, reopened.outcome), (TaskStatus::Open, None, None));
    }

    #[test]
    fn a_snooze_needs_a_later_day() {
        let today = day("2025-01-01");
        let open = task(TaskStatus::Open);
        let change =
            TaskChange { status: Some(TaskStatus::Snoozed), snoozed_until: Some(today), ..TaskChange::default() };
        assert_eq!(open.changed(&change, today, Utc::now()).unwrap_err()[0].field, "snoozed_until");
        let later = TaskChange { snoozed_until: Some(day("2025-01-02")), ..change };
        assert_eq!(open.changed(&later, today, Utc::now()).unwrap().snoozed_until, Some(day("2025-01-02")));
    }

    #[test]
    fn inputs_name_every_bad_field() {
        let mut input = task(TaskStatus::Open).input;
        input.title = " ".into();
        input.kind = "Not a key!".into();
        input.reason.source = "robot".into();
        let fields: Vec<String> = input.check().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["title", "kind", "reason.source"]);
        assert_eq!(manual_dedupe_key("  Call   the CFO "), "manual:call the cfo");
    }
}
