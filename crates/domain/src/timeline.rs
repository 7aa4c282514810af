//! The account timeline: what staff did with a customer, and what the system noticed.

use crate::fields::{FieldReader, Fields};
use crate::i18n::{name_in, Bilingual, Lang};
use crate::ids::{required_text, AccountId, TimelineEntryId, UserId};
use crate::validation::Reason;
use crate::FieldError;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

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
    /// What Kizuna recorded, kept structured so that each reader sees it in their own language;
    /// `title` and `body` then hold the English text for API readers. `None` for what people
    /// wrote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<TimelineEvent>,
}

impl TimelineEntryInput {
    /// An entry Kizuna writes about `event`, with its English text as title and body.
    pub fn recorded(
        account_id: AccountId,
        author_id: Option<UserId>,
        occurred_at: DateTime<Utc>,
        event: TimelineEvent,
    ) -> TimelineEntryInput {
        TimelineEntryInput {
            account_id,
            kind: event.kind(),
            author_id,
            occurred_at,
            title: clip(&event.title(Lang::En), MAX_TITLE),
            body: event.body(Lang::En).map(|b| clip(&b, MAX_BODY)),
            event: Some(event),
        }
    }

    /// The title in the reader's language.
    pub fn title_in(&self, lang: Lang) -> String {
        self.event.as_ref().map_or_else(|| self.title.clone(), |e| e.title(lang))
    }

    /// The body in the reader's language.
    pub fn body_in(&self, lang: Lang) -> Option<String> {
        match &self.event {
            Some(event) => event.body(lang),
            None => self.body.clone(),
        }
    }
}

/// The first `max` characters, the last one `…` when some were cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut clipped: String = text.chars().take(max.saturating_sub(1)).collect();
    clipped.push('…');
    clipped
}

/// Something Kizuna noticed or did on an account. Names that have both languages (grades,
/// reasons) are stored in both; keys (stages, churn reasons) are named when shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TimelineEvent {
    GradeChanged {
        from: Bilingual,
        to: Bilingual,
        drivers: Vec<Bilingual>,
    },
    TaskEnded {
        title: String,
        done: bool,
        outcome: Option<String>,
    },
    /// `template_en`: the template's English name, when it has one (entries written before
    /// templates had one lack it).
    OnboardingStarted {
        template: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        template_en: Option<String>,
    },
    OnboardingCompleted {
        template: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        template_en: Option<String>,
        days: i64,
    },
    EmailSent {
        subject: String,
        recipients: Vec<String>,
        body: String,
    },
    EmailFailed {
        subject: String,
        recipients: Vec<String>,
        body: String,
        reason: Bilingual,
    },
    PulseRecorded {
        score: i64,
        reasons: Vec<Bilingual>,
        comment: Option<String>,
    },
    StageChanged {
        from: Option<String>,
        to: Option<String>,
    },
    Churned {
        on: NaiveDate,
        reason: Option<String>,
        note: Option<String>,
    },
    /// A CSM confirmed how a renewal ended.
    RenewalConfirmed {
        renewal_date: NaiveDate,
        outcome: crate::renewals::RenewalOutcome,
        churn_reason: Option<crate::renewals::ChurnReason>,
        note: Option<String>,
    },
    /// A product request the account asked for moved (`reason`: what the product team said).
    RequestStatusChanged {
        request_id: i64,
        title: String,
        status: crate::feedback::RequestStatus,
        reason: Option<String>,
    },
}

impl TimelineEvent {
    pub fn kind(&self) -> TimelineKind {
        match self {
            Self::EmailSent { .. } | Self::EmailFailed { .. } => TimelineKind::Email,
            _ => TimelineKind::System,
        }
    }

    pub fn title(&self, lang: Lang) -> String {
        let ja = lang == Lang::Ja;
        let stage =
            |key: &Option<String>| key.as_deref().map_or("—".to_owned(), |k| crate::account::stage_name(k, lang));
        match self {
            Self::GradeChanged { from, to, .. } if ja => format!("ヘルスグレード: {} → {}", from.ja, to.ja),
            Self::GradeChanged { from, to, .. } => format!("Health grade: {} → {}", from.en, to.en),
            Self::TaskEnded { title, done: true, .. } if ja => format!("タスク完了: {title}"),
            Self::TaskEnded { title, done: true, .. } => format!("Task done: {title}"),
            Self::TaskEnded { title, .. } if ja => format!("タスク取り消し: {title}"),
            Self::TaskEnded { title, .. } => format!("Task cancelled: {title}"),
            Self::OnboardingStarted { template, .. } if ja => format!("オンボーディング開始: {template}"),
            Self::OnboardingStarted { template, template_en } => {
                format!("Onboarding started: {}", name_in(template, template_en.as_deref(), Lang::En))
            }
            Self::OnboardingCompleted { template, days, .. } if ja => {
                format!("オンボーディング完了（{days} 日）: {template}")
            }
            Self::OnboardingCompleted { template, template_en, days } => {
                let template = name_in(template, template_en.as_deref(), Lang::En);
                if *days == 1 {
                    format!("Onboarding complete (1 day): {template}")
                } else {
                    format!("Onboarding complete ({days} days): {template}")
                }
            }
            Self::EmailSent { subject, .. } if ja => format!("メール送信: {subject}"),
            Self::EmailSent { subject, .. } => format!("Email sent: {subject}"),
            Self::EmailFailed { subject, .. } if ja => format!("メール送信失敗: {subject}"),
            Self::EmailFailed { subject, .. } => format!("Email not sent: {subject}"),
            Self::PulseRecorded { score, .. } if ja => format!("CSM の所感: {score} / 5"),
            Self::PulseRecorded { score, .. } => format!("CSM pulse: {score} / 5"),
            Self::StageChanged { from, to } if ja => format!("ステージ: {} → {}", stage(from), stage(to)),
            Self::StageChanged { from, to } => format!("Stage: {} → {}", stage(from), stage(to)),
            Self::Churned { on, .. } if ja => format!("解約: {}", crate::i18n::day_in_sentence(*on, lang)),
            Self::Churned { on, .. } => format!("Churned on {}", crate::i18n::day_in_sentence(*on, lang)),
            Self::RenewalConfirmed { renewal_date, outcome, .. } if ja => {
                format!("{}の更新の結果: {}", crate::i18n::day_in_sentence(*renewal_date, lang), outcome.label(lang))
            }
            Self::RenewalConfirmed { renewal_date, outcome, .. } => {
                format!("Renewal of {}: {}", crate::i18n::day_in_sentence(*renewal_date, lang), outcome.label(lang))
            }
            Self::RequestStatusChanged { request_id, title, status, .. } if ja => {
                format!("製品リクエスト #{request_id}「{title}」: {}", status.label(lang))
            }
            Self::RequestStatusChanged { request_id, title, status, .. } => {
                format!("Product request #{request_id} “{title}”: {}", status.label(lang))
            }
        }
    }

    pub fn body(&self, lang: Lang) -> Option<String> {
        let ja = lang == Lang::Ja;
        let to = if ja { "宛先" } else { "To" };
        let lines = |items: &[Bilingual]| items.iter().map(|i| i.pick(lang).to_owned()).collect::<Vec<_>>();
        let text = match self {
            Self::GradeChanged { drivers, .. } => lines(drivers).join("\n"),
            Self::TaskEnded { outcome, .. } => outcome.clone().unwrap_or_default(),
            Self::OnboardingStarted { .. } | Self::OnboardingCompleted { .. } | Self::StageChanged { .. } => {
                String::new()
            }
            Self::EmailSent { recipients, body, .. } => format!("{to}: {}\n\n{body}", recipients.join(", ")),
            Self::EmailFailed { recipients, body, reason, .. } => {
                format!("{}\n{to}: {}\n\n{body}", reason.pick(lang), recipients.join(", "))
            }
            Self::PulseRecorded { reasons, comment, .. } => {
                let mut parts = lines(reasons);
                parts.extend(comment.clone());
                parts.join("\n")
            }
            Self::RequestStatusChanged { reason, .. } => reason.clone().unwrap_or_default(),
            Self::RenewalConfirmed { churn_reason, note, .. } => churn_reason
                .map(|r| r.label(lang).to_owned())
                .into_iter()
                .chain(note.clone())
                .collect::<Vec<_>>()
                .join(if ja { "：" } else { ": " }),
            Self::Churned { reason, note, .. } => {
                let reason = reason.as_deref().map(|r| crate::account::churn_reason_label(r, lang).to_owned());
                reason.into_iter().chain(note.clone()).collect::<Vec<_>>().join(if ja { "：" } else { ": " })
            }
        };
        (!text.is_empty()).then_some(text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TimelineEntry {
    pub id: TimelineEntryId,
    #[serde(flatten)]
    pub input: TimelineEntryInput,
}

impl TimelineEntryInput {
    /// The fields the API takes.
    pub const FIELDS: &[&str] = &["account_id", "kind", "author_id", "occurred_at", "title", "body"];

    /// Reads the API's JSON: every bad field is named at once.
    pub fn from_json(value: Value) -> Result<TimelineEntryInput, Vec<FieldError>> {
        let mut f = Fields::new(value, Self::FIELDS)?;
        let account_id = f.id("account_id").map(|id| id.ok_or(Reason::Required));
        let account_id = account_id.and_then(|r| f.errors.check("account_id", r));
        let kind = f.required("kind", TimelineKind::parse);
        let author_id = f.id("author_id");
        let occurred_at = f.timestamp("occurred_at");
        let title = f.required("title", |raw| required_text(Some(raw), MAX_TITLE));
        let body = f.text("body", MAX_BODY);
        f.errors.finish(|| {
            Some(TimelineEntryInput {
                account_id: AccountId(account_id?),
                kind: kind?,
                author_id: author_id?.map(UserId),
                occurred_at: occurred_at?.unwrap_or_else(chrono::Utc::now),
                title: title?,
                body: body?,
                event: None,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_event_reads_in_each_language_and_keeps_english_for_api_readers() {
        let event = TimelineEvent::StageChanged { from: Some("adoption".into()), to: Some("renewal".into()) };
        let entry = TimelineEntryInput::recorded(AccountId(1), None, Utc::now(), event);
        assert_eq!(entry.title_in(Lang::Ja), "ステージ: 活用 → 更新");
        assert_eq!(entry.title_in(Lang::En), "Stage: Adoption → Renewal");
        assert_eq!(entry.title, "Stage: Adoption → Renewal");
        assert_eq!(entry.kind, TimelineKind::System);
        let churned = TimelineEvent::Churned {
            on: NaiveDate::from_ymd_opt(2026, 3, 12).unwrap(),
            reason: Some("champion_left".into()),
            note: Some("後任が不在".into()),
        };
        assert_eq!(churned.title(Lang::Ja), "解約: 2026年3月12日");
        assert_eq!(churned.body(Lang::Ja).as_deref(), Some("推進者の離脱：後任が不在"));
        assert_eq!(churned.body(Lang::En).as_deref(), Some("Champion left: 後任が不在"));
        let sent = TimelineEvent::EmailFailed {
            subject: "更新のご案内".into(),
            recipients: vec!["a@b.example".into()],
            body: "本文".into(),
            reason: Bilingual::new("SMTP が未設定です", "no SMTP server is configured"),
        };
        assert_eq!(sent.kind(), TimelineKind::Email);
        assert_eq!(sent.body(Lang::En).unwrap(), "no SMTP server is configured\nTo: a@b.example\n\n本文");
    }

    #[test]
    fn what_people_wrote_reads_as_written() {
        let entry = TimelineEntryInput {
            account_id: AccountId(1),
            kind: TimelineKind::Note,
            author_id: None,
            occurred_at: Utc::now(),
            title: "定例".into(),
            body: Some("議事録".into()),
            event: None,
        };
        assert_eq!((entry.title_in(Lang::En), entry.body_in(Lang::En)), ("定例".to_owned(), Some("議事録".to_owned())));
    }

    #[test]
    fn clipping_keeps_at_most_the_limit_with_an_ellipsis() {
        assert_eq!(clip("あいうえお", 3), "あい…");
        assert_eq!(clip("abc", 3), "abc");
    }
}
