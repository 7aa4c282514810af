//! Playbooks: when something happens to an account (a trigger), optionally only for accounts in
//! a segment, run steps — each after an optional delay — that create a task, email contacts by
//! role, post to Slack, call a signed webhook, write to the timeline or change the stage. Read
//! from TOML or JSON. Each (playbook, account, trigger occurrence) runs once: the occurrence key
//! computed here is what the store makes unique.

pub mod mail;
pub mod template;

use crate::health::HealthConfig;
use crate::i18n::{name_in, Bilingual, Lang, MAX_NAME_CHARS};
use crate::ids::optional_text;
use crate::{FieldError, Reason};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaybookDefinition {
    pub name: String,
    /// The name English readers see (else `name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_en: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default = "active_by_default")]
    pub active: bool,
    pub trigger: Trigger,
    /// Only accounts in this saved segment (by id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_id: Option<i64>,
    /// Emails go out at once instead of waiting in the outbox for approval.
    #[serde(default)]
    pub send_email_directly: bool,
    /// Once started for an account, the playbook does not start again for it for this many days,
    /// whatever fires: an account whose grade hovers at a floor falls to "at risk" again and
    /// again, and its CSM should get one task and its customer one email, not one a day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cooldown_days: Option<u32>,
    #[serde(rename = "step")]
    pub steps: Vec<Step>,
}

fn active_by_default() -> bool {
    true
}

/// The longest cooldown a playbook may keep between two starts for one account.
pub const MAX_COOLDOWN_DAYS: u32 = 365;

/// The longest webhook URL a step may call.
pub const MAX_URL_CHARS: usize = 2_000;

/// What secrets (webhook secrets, Slack webhook URLs) read as, for every role: they are
/// write-only. A definition sent back with the mask keeps the stored secret.
pub const SECRET_MASK: &str = "********";

/// The shortest webhook secret: shorter ones are guessable.
pub const MIN_SECRET_CHARS: usize = 16;
/// The longest webhook secret.
pub const MAX_SECRET_CHARS: usize = 200;

/// A playbook has at most this many steps.
pub const MAX_STEPS: usize = 50;
/// The longest description, email subject and Slack text a playbook may hold; the rest are the
/// limits of what the step makes (a task's title, a timeline entry's body).
pub const MAX_DESCRIPTION: usize = 2_000;
pub const MAX_SUBJECT: usize = 500;
pub const MAX_SLACK_TEXT: usize = 4_000;
/// The most days a step waits or a task is due after.
const MAX_DAYS: u32 = 3650;

/// A URL Kizuna may call out to: http(s), at most `MAX_URL_CHARS`. Whether its host is internal
/// is decided when it is called (`app::delivery`).
pub fn check_outbound_url(url: &str) -> Result<(), Reason> {
    if url.len() > MAX_URL_CHARS {
        Err(Reason::TooLong { max: MAX_URL_CHARS })
    } else if !(url.starts_with("https://") || url.starts_with("http://")) {
        Err(Reason::WrongType { expected: "an http(s) URL" })
    } else {
        Ok(())
    }
}

/// A secret that signs webhook calls: `MIN_SECRET_CHARS` to `MAX_SECRET_CHARS` characters.
pub fn check_webhook_secret(secret: &str) -> Result<(), Reason> {
    let length = secret.chars().count();
    if length < MIN_SECRET_CHARS {
        Err(Reason::Malformed { detail: format!("at least {MIN_SECRET_CHARS} characters") })
    } else if length > MAX_SECRET_CHARS {
        Err(Reason::TooLong { max: MAX_SECRET_CHARS })
    } else {
        Ok(())
    }
}

impl PlaybookDefinition {
    /// The name in the reader's language.
    pub fn name_in(&self, lang: Lang) -> &str {
        name_in(&self.name, self.name_en.as_deref(), lang)
    }

    /// The definition as people and API clients read it: secrets replaced by `SECRET_MASK`.
    pub fn masked(&self) -> PlaybookDefinition {
        let mut masked = self.clone();
        for step in &mut masked.steps {
            match &mut step.action {
                Action::PostToSlack { webhook_url: secret, .. } | Action::CallWebhook { secret, .. } => {
                    *secret = SECRET_MASK.to_owned();
                }
                _ => {}
            }
        }
        masked
    }

    /// Puts back the stored secret of every step that was sent as `SECRET_MASK`, from the stored
    /// step at the same position with the same action. A mask with nothing to restore stays and
    /// fails validation, asking for the secret again.
    pub fn keep_secrets_of(&mut self, stored: &PlaybookDefinition) {
        for (step, before) in self.steps.iter_mut().zip(&stored.steps) {
            match (&mut step.action, &before.action) {
                (Action::PostToSlack { webhook_url: sent, .. }, Action::PostToSlack { webhook_url: kept, .. })
                | (Action::CallWebhook { secret: sent, .. }, Action::CallWebhook { secret: kept, .. })
                    if sent == SECRET_MASK =>
                {
                    sent.clone_from(kept);
                }
                _ => {}
            }
        }
    }
}

/// What starts a playbook for an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    /// The account entered the saved segment.
    EnteredSegment { segment_id: i64 },
    /// The health grade changed; `from`/`to` narrow it (grade keys).
    GradeChanged {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<String>,
    },
    /// The next renewal is at most `days` away (once per renewal date).
    RenewalWithin { days: u32 },
    /// Every year on `date` (`MM-DD`), e.g. before a seasonal peak; late starts still run within
    /// 30 days, once per year.
    YearlyOn { date: String },
    /// No active end user for `days` (once per quiet stretch).
    NoActivityFor { days: u32 },
    /// An NPS answer of 0–6 (once per answer).
    NpsDetractor,
    /// An onboarding milestone (`milestone`: one key, or any) passed its expected day undone
    /// (once per plan and milestone).
    MilestoneOverdue {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        milestone: Option<String>,
    },
    /// A product request the account asked for shipped (once per request); `{{request}}` is its
    /// title, so a CSM can tell the customer what they asked for is there.
    RequestShipped,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Step {
    /// Days after the trigger before this step runs.
    #[serde(default)]
    pub delay_days: u32,
    #[serde(flatten)]
    pub action: Action,
}

/// Read by hand because serde cannot refuse unknown fields through `flatten`: `delay_days` is
/// taken out and the rest must be exactly one action's fields, so a misspelt key is an error.
impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Step, D::Error> {
        use serde::de::Error;
        let mut fields = serde_json::Map::deserialize(deserializer)?;
        let delay_days = match fields.remove("delay_days") {
            None => 0,
            Some(value) => serde_json::from_value(value).map_err(D::Error::custom)?,
        };
        let action = serde_json::from_value(serde_json::Value::Object(fields)).map_err(D::Error::custom)?;
        Ok(Step { delay_days, action })
    }
}

impl Trigger {
    /// What starts the playbook, in Japanese and English, naming grades as `health` does.
    pub fn describe(&self, health: &HealthConfig) -> (String, String) {
        match self {
            Trigger::EnteredSegment { segment_id } => {
                (format!("セグメント {segment_id} に入った"), format!("entered segment {segment_id}"))
            }
            Trigger::GradeChanged { from, to } => {
                let any = |g: &Option<String>| {
                    g.as_deref().map_or_else(|| Bilingual::new("任意", "any"), |key| health.grade_name_or_key(key))
                };
                let (from, to) = (any(from), any(to));
                (
                    format!("グレードが {} から {} に変化", from.ja, to.ja),
                    format!("grade changed from {} to {}", from.en, to.en),
                )
            }
            Trigger::RenewalWithin { days } => {
                (format!("更新日まで {days} 日以内"), format!("renewal within {days} days"))
            }
            Trigger::YearlyOn { date } => {
                match month_day(date).and_then(|(m, d)| NaiveDate::from_ymd_opt(2024, m, d)) {
                    Some(day) => (
                        format!("毎年 {}", day.format("%-m月%-d日")),
                        format!("every year on {}", day.format("%b %-d")),
                    ),
                    None => (format!("毎年 {date}"), format!("every year on {date}")),
                }
            }
            Trigger::NoActivityFor { days } => {
                (format!("{days} 日間利用がない"), format!("no activity for {days} days"))
            }
            Trigger::NpsDetractor => ("NPS で 0〜6 の回答".into(), "an NPS answer of 0–6".into()),
            Trigger::MilestoneOverdue { milestone: Some(key) } => (
                format!("オンボーディングのマイルストーン {key} が期限切れ"),
                format!("onboarding milestone {key} overdue"),
            ),
            Trigger::MilestoneOverdue { milestone: None } => {
                ("オンボーディングのマイルストーンが期限切れ".into(), "an onboarding milestone overdue".into())
            }
            Trigger::RequestShipped => (
                "依頼した製品リクエストがリリースされた".into(),
                "a product request the account asked for shipped".into(),
            ),
        }
    }
}

/// Who a playbook's task goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Assignee {
    #[default]
    MainOwner,
    SubOwner,
    /// The main owner's team, unassigned within it.
    Team,
    /// The user in `user_id`.
    User,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    CreateTask {
        /// A template: `{{account}}`, `{{grade}}`, `{{score}}`, `{{arr}}`, `{{renewal_date}}`, `{{owner}}`, `{{trigger}}`, `{{request}}` (with `request_shipped`).
        title: String,
        #[serde(default = "task_kind_by_default")]
        kind: String,
        #[serde(default = "priority_by_default")]
        priority: String,
        #[serde(default = "due_by_default")]
        due_in_days: u32,
        /// With a `renewal_within` trigger: due this many days before the renewal (never before
        /// the day the task is made), instead of `due_in_days` after it is made.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        due_before_renewal_days: Option<u32>,
        #[serde(default)]
        assignee: Assignee,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_id: Option<i64>,
    },
    /// To the account's contacts whose role is `to_role` (e.g. `admin`, `billing`).
    SendEmail {
        to_role: String,
        subject: String,
        body: String,
    },
    PostToSlack {
        webhook_url: String,
        text: String,
    },
    /// POSTs the run as JSON, signed: `X-Kizuna-Signature: sha256=<hex HMAC-SHA256 of the body>`.
    CallWebhook {
        url: String,
        secret: String,
    },
    AddTimelineEntry {
        title: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<String>,
    },
    ChangeStage {
        stage: String,
        /// Only accounts in one of these stages are moved (empty: any stage), so that e.g. a
        /// renewal never moves an account still in onboarding.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        only_from: Vec<String>,
    },
    /// Shows a playbook-only in-app message to the account's users (tech touch) from now on.
    ShowMessage {
        message_id: i64,
    },
}

fn task_kind_by_default() -> String {
    "playbook".into()
}

fn priority_by_default() -> String {
    "normal".into()
}

fn due_by_default() -> u32 {
    3
}

pub const PRIORITIES: [&str; 4] = ["low", "normal", "high", "urgent"];
/// A task priority taken from the account's health grade when the task is made.
pub const PRIORITY_FROM_GRADE: &str = "from_grade";

/// The priority a `from_grade` task gets: the worse the grade, the sooner it needs a look.
pub fn priority_for_grade(grade: Option<&str>) -> &'static str {
    match grade {
        Some("at_risk") => "high",
        Some("healthy") => "low",
        _ => "normal",
    }
}

/// The grace after a yearly date within which a late start still runs it.
pub const YEARLY_GRACE_DAYS: i64 = 30;

impl PlaybookDefinition {
    /// Checks what does not need the database; `grades` and `stages` are the workspace's.
    pub fn validate(&self, grades: &[String], stages: &[String]) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut push = |field: String, reason: Reason| errors.push(FieldError::new(&field, reason));
        if self.name.trim().is_empty() {
            push("name".into(), Reason::Required);
        } else if self.name.chars().count() > MAX_NAME_CHARS {
            push("name".into(), Reason::TooLong { max: MAX_NAME_CHARS });
        }
        if let Err(reason) = optional_text(self.name_en.as_deref(), MAX_NAME_CHARS) {
            push("name_en".into(), reason);
        }
        if let Err(reason) = optional_text(self.description.as_deref(), MAX_DESCRIPTION) {
            push("description".into(), reason);
        }
        let known_grade = |grade: &Option<String>| grade.as_ref().is_none_or(|g| grades.contains(g));
        match &self.trigger {
            Trigger::GradeChanged { from, to } => {
                for (field, grade) in [("trigger.from", from), ("trigger.to", to)] {
                    if !known_grade(grade) {
                        push(field.into(), Reason::NotOneOf { allowed: grades.to_vec() });
                    }
                }
            }
            Trigger::RenewalWithin { days } | Trigger::NoActivityFor { days } if *days == 0 || *days > 3650 => {
                push("trigger.days".into(), Reason::OutOfRange { min: "1".into(), max: "3650".into() });
            }
            Trigger::YearlyOn { date } if month_day(date).is_none() => {
                push("trigger.date".into(), Reason::WrongType { expected: "a day of the year as MM-DD" });
            }
            _ => {}
        }
        if self.cooldown_days.is_some_and(|days| !(1..=MAX_COOLDOWN_DAYS).contains(&days)) {
            push("cooldown_days".into(), Reason::OutOfRange { min: "1".into(), max: MAX_COOLDOWN_DAYS.to_string() });
        }
        if self.steps.is_empty() {
            push("step".into(), Reason::Required);
        }
        if self.steps.len() > MAX_STEPS {
            push("step".into(), Reason::OutOfRange { min: "1".into(), max: MAX_STEPS.to_string() });
        }
        for (i, step) in self.steps.iter().enumerate() {
            let field = |name: &str| format!("step[{i}].{name}");
            let mut limit = |name: &str, value: &str, max: usize| {
                if value.chars().count() > max {
                    push(field(name), Reason::TooLong { max });
                }
            };
            match &step.action {
                Action::CreateTask { title, kind, .. } => {
                    limit("title", title, crate::tasks::MAX_TITLE);
                    limit("kind", kind, crate::tasks::MAX_KIND);
                }
                Action::SendEmail { to_role, subject, body } => {
                    limit("to_role", to_role, crate::contact::MAX_ROLE);
                    limit("subject", subject, MAX_SUBJECT);
                    limit("body", body, crate::timeline::MAX_BODY);
                }
                Action::PostToSlack { text, .. } => limit("text", text, MAX_SLACK_TEXT),
                Action::AddTimelineEntry { title, body } => {
                    limit("title", title, crate::timeline::MAX_TITLE);
                    limit("body", body.as_deref().unwrap_or_default(), crate::timeline::MAX_BODY);
                }
                Action::CallWebhook { .. } | Action::ChangeStage { .. } | Action::ShowMessage { .. } => {}
            }
            if step.delay_days > MAX_DAYS {
                push(field("delay_days"), Reason::OutOfRange { min: "0".into(), max: MAX_DAYS.to_string() });
            }
            match &step.action {
                Action::CreateTask {
                    title,
                    priority,
                    assignee,
                    user_id,
                    kind,
                    due_in_days,
                    due_before_renewal_days,
                    ..
                } => {
                    for (name, days) in
                        [("due_in_days", Some(*due_in_days)), ("due_before_renewal_days", *due_before_renewal_days)]
                    {
                        if days.is_some_and(|d| d > MAX_DAYS) {
                            push(field(name), Reason::OutOfRange { min: "0".into(), max: MAX_DAYS.to_string() });
                        }
                    }
                    if due_before_renewal_days.is_some() && !matches!(self.trigger, Trigger::RenewalWithin { .. }) {
                        push(
                            field("due_before_renewal_days"),
                            Reason::OnlyWith { field: "trigger.type", value: "renewal_within" },
                        );
                    }
                    if title.trim().is_empty() {
                        push(field("title"), Reason::Required);
                    }
                    if kind.trim().is_empty() {
                        push(field("kind"), Reason::Required);
                    }
                    if !PRIORITIES.contains(&priority.as_str()) && priority != PRIORITY_FROM_GRADE {
                        let allowed = PRIORITIES.iter().chain([&PRIORITY_FROM_GRADE]).map(|p| p.to_string()).collect();
                        push(field("priority"), Reason::NotOneOf { allowed });
                    }
                    if (*assignee == Assignee::User) != user_id.is_some() {
                        push(
                            field("user_id"),
                            Reason::Malformed { detail: "user_id goes with assignee = \"user\"".into() },
                        );
                    }
                }
                Action::SendEmail { to_role, subject, body } => {
                    for (name, value) in [("to_role", to_role), ("subject", subject), ("body", body)] {
                        if value.trim().is_empty() {
                            push(field(name), Reason::Required);
                        }
                    }
                }
                Action::PostToSlack { webhook_url: url, text: _ } | Action::CallWebhook { url, .. } => {
                    let name = if matches!(step.action, Action::PostToSlack { .. }) { "webhook_url" } else { "url" };
                    if let Err(reason) = check_outbound_url(url) {
                        push(field(name), reason);
                    }
                    if let Action::CallWebhook { secret, .. } = &step.action {
                        if let Err(reason) = check_webhook_secret(secret) {
                            push(field("secret"), reason);
                        }
                    }
                }
                Action::AddTimelineEntry { title, .. } => {
                    if title.trim().is_empty() {
                        push(field("title"), Reason::Required);
                    }
                }
                Action::ShowMessage { message_id } => {
                    if *message_id <= 0 {
                        push(field("message_id"), Reason::WrongType { expected: "a positive id" });
                    }
                }
                Action::ChangeStage { stage, only_from } => {
                    if !stages.contains(stage) {
                        push(field("stage"), Reason::NotOneOf { allowed: stages.to_vec() });
                    }
                    if only_from.iter().any(|from| !stages.contains(from)) {
                        push(field("only_from"), Reason::NotOneOf { allowed: stages.to_vec() });
                    } else if only_from.len() > stages.len() {
                        push(field("only_from"), Reason::OutOfRange { min: "0".into(), max: stages.len().to_string() });
                    }
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// `MM-DD` as (month, day); 02-29 is allowed (it falls on 02-28 in other years).
pub fn month_day(raw: &str) -> Option<(u32, u32)> {
    let (month, day) = raw.trim().split_once('-')?;
    let (month, day): (u32, u32) = (month.parse().ok()?, day.parse().ok()?);
    NaiveDate::from_ymd_opt(2024, month, day).map(|_| (month, day))
}

/// The yearly date's occurrence running on `today`, if today is on it or within the grace after.
pub fn yearly_occurrence(date: &str, today: NaiveDate) -> Option<String> {
    let (month, day) = month_day(date)?;
    let on =
        |year: i32| NaiveDate::from_ymd_opt(year, month, day).or_else(|| NaiveDate::from_ymd_opt(year, month, day - 1));
    [today.year(), today.year() - 1].into_iter().find_map(|year| {
        let start = on(year)?;
        let days = (today - start).num_days();
        (0..=YEARLY_GRACE_DAYS).contains(&days).then(|| format!("yearly:{start}"))
    })
}

/// Whether a grade change matches the trigger's `from`/`to`.
pub fn grade_change_matches(from: &Option<String>, to: &Option<String>, old: &str, new: &str) -> bool {
    old != new && from.as_deref().is_none_or(|f| f == old) && to.as_deref().is_none_or(|t| t == new)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    const RISK: &str = r#"
name = "At-risk rescue"
[trigger]
type = "grade_changed"
to = "at_risk"

[[step]]
action = "create_task"
title = "{{account}}: grade fell to {{grade}}"
priority = "high"

[[step]]
delay_days = 7
action = "send_email"
to_role = "admin"
subject = "{{account}} さま: ご利用状況のご確認"
body = "いつもありがとうございます。"
"#;

    fn grades() -> Vec<String> {
        vec!["healthy".into(), "neutral".into(), "at_risk".into()]
    }

    #[test]
    fn a_playbook_has_at_most_fifty_steps() {
        let mut playbook: PlaybookDefinition = toml::from_str(RISK).unwrap();
        let step = playbook.steps[0].clone();
        playbook.steps = vec![step; MAX_STEPS + 1];
        let errors = playbook.validate(&grades(), &[]).unwrap_err();
        assert!(
            errors
                .iter()
                .any(|e| e.field == "step"
                    && e.reason == Reason::OutOfRange { min: "1".into(), max: MAX_STEPS.to_string() }),
            "{errors:?}"
        );
        playbook.steps.truncate(MAX_STEPS);
        assert!(playbook.validate(&grades(), &[]).is_ok());
    }

    #[test]
    fn a_playbook_reads_from_toml_with_defaults() {
        let playbook: PlaybookDefinition = toml::from_str(RISK).unwrap();
        assert!(playbook.active);
        assert_eq!(playbook.trigger, Trigger::GradeChanged { from: None, to: Some("at_risk".into()) });
        assert_eq!(playbook.steps.len(), 2);
        assert_eq!(playbook.steps[1].delay_days, 7);
        match &playbook.steps[0].action {
            Action::CreateTask { kind, due_in_days, assignee, .. } => {
                assert_eq!((kind.as_str(), *due_in_days, *assignee), ("playbook", 3, Assignee::MainOwner))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(playbook.validate(&grades(), &["renewal".into()]), Ok(()));
    }

    #[test]
    fn secrets_read_masked_and_a_mask_sent_back_keeps_the_stored_secret() {
        let mut stored: PlaybookDefinition = toml::from_str(RISK).unwrap();
        stored.steps.push(Step {
            delay_days: 0,
            action: Action::CallWebhook { url: "https://hooks.example/x".into(), secret: "sixteen characters!".into() },
        });
        stored.steps.push(Step {
            delay_days: 0,
            action: Action::PostToSlack { webhook_url: "https://hooks.slack.com/T/B/x".into(), text: "hi".into() },
        });
        let masked = stored.masked();
        let text = serde_json::to_string(&masked).unwrap();
        assert!(!text.contains("sixteen characters") && !text.contains("hooks.slack.com"), "{text}");
        let mut edited = masked.clone();
        edited.name = "renamed".into();
        edited.keep_secrets_of(&stored);
        assert_eq!(edited.steps, stored.steps, "masks restored from the same steps");
        let mut new = masked;
        new.keep_secrets_of(&toml::from_str(RISK).unwrap());
        let fields: Vec<String> = new.validate(&grades(), &[]).unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["step[2].secret", "step[3].webhook_url"], "a mask with nothing behind it is refused");
    }

    #[test]
    fn a_misspelt_step_field_is_refused() {
        let misspelt = RISK.replace("priority = \"high\"", "priorty = \"high\"");
        let error = toml::from_str::<PlaybookDefinition>(&misspelt).unwrap_err();
        assert!(error.message().contains("priorty"), "{error}");
    }

    #[test]
    fn validation_names_every_bad_field() {
        let mut playbook: PlaybookDefinition = toml::from_str(RISK).unwrap();
        playbook.trigger = Trigger::GradeChanged { from: Some("fine".into()), to: None };
        playbook.steps.push(Step {
            delay_days: 0,
            action: Action::CallWebhook { url: "ftp://x".into(), secret: "short".into() },
        });
        playbook.steps.push(Step {
            delay_days: 0,
            action: Action::ChangeStage { stage: "nowhere".into(), only_from: Vec::new() },
        });
        let fields: Vec<String> =
            playbook.validate(&grades(), &["renewal".into()]).unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["trigger.from", "step[2].url", "step[2].secret", "step[3].stage"]);
    }

    #[test]
    fn a_yearly_date_runs_on_the_day_and_within_the_grace_once_per_year() {
        assert_eq!(yearly_occurrence("10-15", day("2026-10-15")).as_deref(), Some("yearly:2026-10-15"));
        assert_eq!(yearly_occurrence("10-15", day("2026-11-10")).as_deref(), Some("yearly:2026-10-15"));
        assert_eq!(yearly_occurrence("10-15", day("2026-10-14")), None);
        assert_eq!(yearly_occurrence("10-15", day("2026-12-01")), None);
        assert_eq!(yearly_occurrence("12-20", day("2027-01-05")).as_deref(), Some("yearly:2026-12-20"));
        assert_eq!(yearly_occurrence("02-29", day("2027-02-28")).as_deref(), Some("yearly:2027-02-28"));
        assert_eq!(month_day("13-01"), None);
    }

    #[test]
    fn grade_changes_match_from_and_to() {
        let to_risk = (None, Some("at_risk".to_string()));
        assert!(grade_change_matches(&to_risk.0, &to_risk.1, "neutral", "at_risk"));
        assert!(!grade_change_matches(&to_risk.0, &to_risk.1, "at_risk", "neutral"));
        assert!(!grade_change_matches(&None, &None, "at_risk", "at_risk"));
    }
}
