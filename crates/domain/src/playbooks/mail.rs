//! Playbook email as people handle it in the outbox: its status, a draft edited before it is
//! (re)sent, checked field by field, and why a send failed — in both languages, since the
//! reason is shown on the outbox page, in the run history and on the account's timeline.

use crate::i18n::{Bilingual, Lang, Text};
use crate::ids::{required_text, AccountId, Email, UserId};
use crate::timeline::{TimelineEntryInput, TimelineEvent};
use crate::validation::Errors;
use crate::{FieldError, Reason};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The longest subject an edited email may have, in characters.
pub const MAX_SUBJECT: usize = 500;
/// The longest body an edited email may have, in characters.
pub const MAX_BODY: usize = 100_000;
/// The most recipients one email may have.
pub const MAX_RECIPIENTS: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EmailStatus {
    /// Waiting for someone to approve it (also: approved while no SMTP server is configured).
    Pending,
    Sent,
    /// Approved, but the SMTP server refused it or could not be reached; it can be edited and
    /// retried.
    Failed,
    Discarded,
}

impl EmailStatus {
    pub const ALL: [EmailStatus; 4] =
        [EmailStatus::Pending, EmailStatus::Sent, EmailStatus::Failed, EmailStatus::Discarded];

    pub fn as_str(self) -> &'static str {
        match self {
            EmailStatus::Pending => "pending",
            EmailStatus::Sent => "sent",
            EmailStatus::Failed => "failed",
            EmailStatus::Discarded => "discarded",
        }
    }

    pub fn parse(raw: &str) -> Option<EmailStatus> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    pub fn label(self) -> Text {
        match self {
            EmailStatus::Pending => Text::new("承認待ち", "pending"),
            EmailStatus::Sent => Text::new("送信済み", "sent"),
            EmailStatus::Failed => Text::new("送信失敗", "failed"),
            EmailStatus::Discarded => Text::new("取り消し", "discarded"),
        }
    }

    /// Only emails that have not gone out can be edited (a failed one returns to pending).
    pub fn editable(self) -> bool {
        matches!(self, EmailStatus::Pending | EmailStatus::Failed)
    }
}

/// An outbox email's content as someone edited it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailDraft {
    pub recipients: Vec<Email>,
    pub subject: String,
    pub body: String,
}

impl EmailDraft {
    /// Checks every field at once: one to `MAX_RECIPIENTS` addresses (a bad one is named
    /// `recipients[i]`), a subject on one line, a body.
    pub fn parse(recipients: &[&str], subject: &str, body: &str) -> Result<EmailDraft, Vec<FieldError>> {
        let mut errors = Errors::new();
        let mut addresses = Vec::new();
        let given: Vec<&str> = recipients.iter().map(|r| r.trim()).filter(|r| !r.is_empty()).collect();
        if given.is_empty() {
            errors.push("recipients", Reason::Required);
        } else if given.len() > MAX_RECIPIENTS {
            errors.push("recipients", Reason::OutOfRange { min: "1".into(), max: MAX_RECIPIENTS.to_string() });
        }
        for (i, raw) in given.iter().enumerate() {
            if let Some(address) = errors.check(&format!("recipients[{i}]"), Email::parse(raw)) {
                if !addresses.contains(&address) {
                    addresses.push(address);
                }
            }
        }
        // A subject is one header line: line breaks typed or pasted into it become spaces.
        let one_line = subject.split(['\r', '\n']).map(str::trim).filter(|s| !s.is_empty()).collect::<Vec<_>>();
        let subject = errors.check("subject", required_text(Some(&one_line.join(" ")), MAX_SUBJECT));
        let body = errors.check("body", required_text(Some(body), MAX_BODY));
        if !errors.is_empty() {
            return Err(errors.into_vec());
        }
        match (subject, body) {
            (Some(subject), Some(body)) => Ok(EmailDraft { recipients: addresses, subject, body }),
            _ => Err(errors.into_vec()),
        }
    }

    /// The addresses of a recipients box: separated by commas, semicolons or lines.
    pub fn split_recipients(text: &str) -> Vec<&str> {
        text.split([',', ';', '\n', '\r']).map(str::trim).filter(|r| !r.is_empty()).collect()
    }
}

/// Why an email was not sent. Texts from the SMTP server itself (its reply, an IO error) are
/// kept as they came, after a sentence in the reader's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailFailure {
    /// No SMTP server is configured: nothing was tried and the email keeps waiting.
    NotConfigured,
    /// `mail_from` is not an address.
    Sender {
        address: String,
    },
    Recipient {
        address: String,
    },
    /// The server could not be reached (refused, unknown host, connection dropped).
    Unreachable {
        detail: String,
    },
    TimedOut,
    /// The server answered with an error: 4xx (try again later) or 5xx (it will not accept it).
    Refused {
        code: String,
        permanent: bool,
        detail: String,
    },
    Other {
        detail: String,
    },
}

impl MailFailure {
    pub fn message(&self, lang: Lang) -> String {
        let detail = |d: &str| if d.is_empty() { String::new() } else { format!(" ({d})") };
        match (self, lang) {
            (MailFailure::NotConfigured, Lang::Ja) => {
                "SMTP サーバーが設定されていないため送信できません。メールは承認待ちのまま残ります（管理者が「設定 → メール」で設定すると送信できます）".into()
            }
            (MailFailure::NotConfigured, Lang::En) => {
                "No SMTP server is configured, so nothing can be sent; the email stays pending (an administrator can set one in Settings, Mail)".into()
            }
            (MailFailure::Sender { address }, Lang::Ja) => {
                format!("送信元アドレス「{address}」がメールアドレスではありません")
            }
            (MailFailure::Sender { address }, Lang::En) => {
                format!("the sender address \"{address}\" is not an email address")
            }
            (MailFailure::Recipient { address }, Lang::Ja) => format!("宛先「{address}」がメールアドレスではありません"),
            (MailFailure::Recipient { address }, Lang::En) => format!("the recipient \"{address}\" is not an email address"),
            (MailFailure::Unreachable { detail: d }, Lang::Ja) => format!("SMTP サーバーに接続できません{}", detail(d)),
            (MailFailure::Unreachable { detail: d }, Lang::En) => format!("could not connect to the SMTP server{}", detail(d)),
            (MailFailure::TimedOut, Lang::Ja) => "SMTP サーバーが時間内に応答しませんでした".into(),
            (MailFailure::TimedOut, Lang::En) => "the SMTP server did not answer in time".into(),
            (MailFailure::Refused { code, permanent: false, detail: d }, Lang::Ja) => {
                format!("SMTP サーバーが一時的に受け付けませんでした（{code}）。しばらくして再送してください{}", detail(d))
            }
            (MailFailure::Refused { code, permanent: false, detail: d }, Lang::En) => {
                format!("the SMTP server did not accept it for now ({code}); retry later{}", detail(d))
            }
            (MailFailure::Refused { code, permanent: true, detail: d }, Lang::Ja) => {
                format!("SMTP サーバーが拒否しました（{code}）{}", detail(d))
            }
            (MailFailure::Refused { code, permanent: true, detail: d }, Lang::En) => {
                format!("the SMTP server refused it ({code}){}", detail(d))
            }
            (MailFailure::Other { detail: d }, Lang::Ja) => format!("送信できませんでした{}", detail(d)),
            (MailFailure::Other { detail: d }, Lang::En) => format!("could not be sent{}", detail(d)),
        }
    }

    /// The reason in both languages, as it is stored with the email.
    pub fn text(&self) -> Bilingual {
        Bilingual::new(self.message(Lang::Ja), self.message(Lang::En))
    }
}

impl std::fmt::Display for MailFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message(Lang::En))
    }
}

/// An email as it went out, or failed to: what its account's timeline records.
pub struct Outcome<'e> {
    pub recipients: &'e [String],
    pub subject: &'e str,
    pub body: &'e str,
    /// `None` when it was sent.
    pub failure: Option<&'e Bilingual>,
}

impl Outcome<'_> {
    /// The timeline entry (kind `email`): the subject, the reason of a failure, the recipients
    /// and the text, shown in the reader's language.
    pub fn timeline_entry(
        &self,
        account_id: AccountId,
        author_id: Option<UserId>,
        at: DateTime<Utc>,
    ) -> TimelineEntryInput {
        let (subject, recipients, body) = (self.subject.to_owned(), self.recipients.to_vec(), self.body.to_owned());
        let event = match self.failure {
            None => TimelineEvent::EmailSent { subject, recipients, body },
            Some(reason) => TimelineEvent::EmailFailed { subject, recipients, body, reason: reason.clone() },
        };
        TimelineEntryInput::recorded(account_id, author_id, at, event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::{self, TimelineKind};

    #[test]
    fn a_draft_names_every_bad_field() {
        let errors = EmailDraft::parse(&["ok@example.com", "not-an-address"], "  ", "").unwrap_err();
        let fields: Vec<(&str, &Reason)> = errors.iter().map(|e| (e.field.as_str(), &e.reason)).collect();
        assert_eq!(
            fields,
            vec![("recipients[1]", &Reason::InvalidEmail), ("subject", &Reason::Required), ("body", &Reason::Required)]
        );
        assert_eq!(EmailDraft::parse(&[], "s", "b").unwrap_err()[0].field, "recipients");
    }

    #[test]
    fn a_draft_keeps_one_subject_line_and_each_address_once() {
        let recipients = EmailDraft::split_recipients("A@Example.com, b@example.com;\na@example.com\n");
        let draft = EmailDraft::parse(&recipients, "ご案内\n（更新）", "本文\n二行目").unwrap();
        let addresses: Vec<&str> = draft.recipients.iter().map(|r| r.as_str()).collect();
        assert_eq!(addresses, ["a@example.com", "b@example.com"]);
        assert_eq!((draft.subject.as_str(), draft.body.as_str()), ("ご案内 （更新）", "本文\n二行目"));
    }

    #[test]
    fn failures_read_in_both_languages_with_the_servers_words_kept() {
        let refused =
            MailFailure::Refused { code: "550".into(), permanent: true, detail: "mailbox unavailable".into() };
        assert_eq!(refused.message(Lang::Ja), "SMTP サーバーが拒否しました（550） (mailbox unavailable)");
        assert_eq!(refused.text().en, "the SMTP server refused it (550) (mailbox unavailable)");
        assert!(MailFailure::NotConfigured.message(Lang::Ja).contains("承認待ちのまま"));
        assert_eq!(EmailStatus::parse("failed").map(|s| s.label().pick(Lang::Ja)), Some("送信失敗"));
    }

    #[test]
    fn a_failed_email_is_on_the_timeline_with_its_reason_in_both_languages() {
        let recipients = ["a@example.com".to_owned()];
        let reason = MailFailure::TimedOut.text();
        let outcome =
            Outcome { recipients: &recipients, subject: "更新のご案内", body: "本文", failure: Some(&reason) };
        let entry = outcome.timeline_entry(AccountId(7), None, Utc::now());
        assert_eq!(entry.kind, TimelineKind::Email);
        assert_eq!(entry.title_in(Lang::Ja), "メール送信失敗: 更新のご案内");
        assert_eq!(entry.title_in(Lang::En), "Email not sent: 更新のご案内");
        assert_eq!(
            entry.body_in(Lang::Ja).as_deref(),
            Some("SMTP サーバーが時間内に応答しませんでした\n宛先: a@example.com\n\n本文")
        );
        let long = "件".repeat(600);
        let sent = Outcome { recipients: &recipients, subject: &long, body: "", failure: None };
        assert_eq!(sent.timeline_entry(AccountId(7), None, Utc::now()).title.chars().count(), timeline::MAX_TITLE);
    }
}
