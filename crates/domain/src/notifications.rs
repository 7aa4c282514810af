//! What Kizuna tells each staff user, and how: notification kinds, each user's choice of
//! channels per kind (in-app inbox, email, Slack), the bilingual text of every notice, and the
//! daily or weekly digest email.

use crate::fields::FieldReader;
use crate::fields::Fields;
use crate::i18n::{Bilingual, Lang};
use crate::{FieldError, Reason};
use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

coded! {
    /// What a notification is about.
    NotificationKind {
        GradeDropped = "grade_dropped", "担当顧客のヘルスグレード低下", "My account's health grade dropped";
        CriticalSignal = "critical_signal", "重大なシグナル（必須指標が下限未満）", "Critical signal (a critical measure below its floor)";
        TaskAssigned = "task_assigned", "タスクの割り当て", "Task assigned to me";
        TaskOverdue = "task_overdue", "期限切れのタスク", "My task is overdue";
        RenewalApproaching = "renewal_approaching", "更新日まで 90・60・30 日", "Renewal in 90, 60 or 30 days";
        EmailAwaitingApproval = "email_awaiting_approval", "承認待ちのメール", "Email awaiting my approval";
        Detractor = "detractor", "批判者の回答（NPS 0〜6）", "Detractor answer (NPS 0–6)";
        RequestStatusChanged = "request_status_changed", "担当顧客の製品リクエストの状況変更", "Status of a request my accounts asked for";
    }
}

coded! {
    /// Where a notification reaches its user.
    Channel {
        InApp = "in_app", "アプリ内", "In app";
        Email = "email", "メール", "Email";
        Slack = "slack", "Slack", "Slack";
    }
}

coded! {
    /// How often the digest email comes.
    DigestFrequency {
        Off = "off", "送らない", "Off";
        Daily = "daily", "毎日", "Daily";
        Weekly = "weekly", "毎週月曜日", "Weekly on Mondays";
    }
}

coded! {
    /// Where an email or Slack copy of a notification stands.
    DeliveryState {
        None = "none", "送らない", "Not sent";
        Pending = "pending", "送信待ち", "Waiting to be sent";
        Sent = "sent", "送信済み", "Sent";
        Failed = "failed", "送信失敗", "Failed";
    }
}

/// Renewal reminders go out when the renewal is this many days away (the nearest one reached).
pub const RENEWAL_REMINDER_DAYS: [i64; 3] = [30, 60, 90];
pub const MAX_SLACK_WEBHOOK: usize = 500;

/// One user's choices. A kind without a choice reaches the in-app inbox only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NotificationPreferences {
    /// Per kind, the channels it goes to (an empty list: not notified).
    pub channels: BTreeMap<NotificationKind, Vec<Channel>>,
    /// A Slack incoming webhook (personal or a team channel); write-only, `********` when set.
    pub slack_webhook: Option<String>,
    pub digest: DigestFrequency,
    /// The local hour (workspace time zone, 0–23) the digest is sent at.
    pub digest_hour: u32,
    /// The language of their emails, Slack posts and digest.
    #[schema(value_type = String, example = "ja")]
    pub language: Lang,
}

impl Default for NotificationPreferences {
    fn default() -> Self {
        NotificationPreferences {
            channels: BTreeMap::new(),
            slack_webhook: None,
            digest: DigestFrequency::Off,
            digest_hour: 8,
            language: Lang::Ja,
        }
    }
}

impl NotificationPreferences {
    pub fn channels_for(&self, kind: NotificationKind) -> Vec<Channel> {
        self.channels.get(&kind).cloned().unwrap_or_else(|| vec![Channel::InApp])
    }

    pub fn wants(&self, kind: NotificationKind, channel: Channel) -> bool {
        self.channels_for(kind).contains(&channel)
    }

    /// The same choices, the Slack webhook masked.
    pub fn masked(mut self) -> NotificationPreferences {
        if self.slack_webhook.is_some() {
            self.slack_webhook = Some(crate::playbooks::SECRET_MASK.to_owned());
        }
        self
    }
}

/// What an edit does to the stored Slack webhook, which is never shown back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookChange {
    Keep,
    Set(String),
    Clear,
}

/// `PUT /api/v1/me/notification-preferences` or the preferences form, read field by field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreferencesInput {
    pub channels: BTreeMap<NotificationKind, Vec<Channel>>,
    pub slack_webhook: WebhookChange,
    pub digest: DigestFrequency,
    pub digest_hour: u32,
    pub language: Lang,
}

impl PreferencesInput {
    /// `channels`: `{"grade_dropped": ["in_app", "email"], …}` (kinds left out keep the in-app
    /// default); `slack_webhook`: absent or `********` keeps it, `""` removes it.
    pub fn parse(value: serde_json::Value) -> Result<PreferencesInput, Vec<FieldError>> {
        use crate::playbooks::{check_outbound_url, SECRET_MASK};
        let mut f = Fields::new(value, &["channels", "slack_webhook", "digest", "digest_hour", "language"])?;
        let channels = f.json("channels", parse_channels);
        let slack_webhook = f.json("slack_webhook", |value| match value {
            serde_json::Value::String(raw) if raw == SECRET_MASK => Ok(WebhookChange::Keep),
            serde_json::Value::String(raw) if raw.trim().is_empty() => Ok(WebhookChange::Clear),
            serde_json::Value::String(raw) => {
                let url = raw.trim();
                if url.len() > MAX_SLACK_WEBHOOK {
                    return Err(Reason::TooLong { max: MAX_SLACK_WEBHOOK });
                }
                check_outbound_url(url).map(|()| WebhookChange::Set(url.to_owned()))
            }
            _ => Err(Reason::WrongType { expected: "a string" }),
        });
        let digest = f.parsed("digest", DigestFrequency::parse);
        let digest_hour = f.parsed("digest_hour", |raw| {
            raw.trim()
                .parse::<u32>()
                .ok()
                .filter(|h| *h < 24)
                .ok_or(Reason::OutOfRange { min: "0".into(), max: "23".into() })
        });
        let language = f.parsed("language", parse_lang);
        f.errors.finish(|| {
            Some(PreferencesInput {
                channels: channels?.unwrap_or_default(),
                slack_webhook: slack_webhook?.unwrap_or(WebhookChange::Keep),
                digest: digest?.unwrap_or(DigestFrequency::Off),
                digest_hour: digest_hour?.unwrap_or(8),
                language: language?.unwrap_or(Lang::Ja),
            })
        })
    }
}

pub fn parse_lang(raw: &str) -> Result<Lang, Reason> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "ja" => Ok(Lang::Ja),
        "en" => Ok(Lang::En),
        _ => Err(Reason::NotOneOf { allowed: vec!["ja".into(), "en".into()] }),
    }
}

fn parse_channels(value: &serde_json::Value) -> Result<BTreeMap<NotificationKind, Vec<Channel>>, Reason> {
    let serde_json::Value::Object(map) = value else {
        return Err(Reason::WrongType { expected: "an object of kind: [channels]" });
    };
    let mut channels = BTreeMap::new();
    for (kind, list) in map {
        let kind = NotificationKind::parse(kind)?;
        let serde_json::Value::Array(list) = list else {
            return Err(Reason::WrongType { expected: "a list of channels" });
        };
        let mut chosen = Vec::new();
        for channel in list {
            let channel = channel.as_str().ok_or(Reason::WrongType { expected: "a channel name" })?;
            let channel = Channel::parse(channel)?;
            if !chosen.contains(&channel) {
                chosen.push(channel);
            }
        }
        channels.insert(kind, chosen);
    }
    Ok(channels)
}

/// A notification about to be written, in both languages; `key` makes it happen once per user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub kind: NotificationKind,
    pub key: String,
    pub title: Bilingual,
    /// The page it is about, on this site.
    pub link: String,
    pub account_id: Option<i64>,
}

/// A day as each language writes it in a sentence.
pub fn day(date: NaiveDate) -> Bilingual {
    Bilingual::new(date.format("%Y/%m/%d").to_string(), date.format("%b %-d, %Y").to_string())
}

/// The account a notice is about.
pub struct AccountNamed<'a> {
    pub id: i64,
    pub name: &'a str,
}

/// Grade alerts are told once per account, grade and ISO week: an account whose usage hovers at a
/// critical floor moves in and out of a grade day after day, and a CSM told every time stops
/// reading the alerts.
fn grade_alert_key(kind: &str, account: i64, day: NaiveDate, grade: &str) -> String {
    let week = day.iso_week();
    format!("{kind}:{account}:{}-W{:02}:{grade}", week.year(), week.week())
}

impl Notice {
    /// The account's grade fell to `to` (key `grade`) on `day`.
    pub fn grade_dropped(
        account: &AccountNamed,
        from: &Bilingual,
        to: &Bilingual,
        (day, grade): (NaiveDate, &str),
    ) -> Notice {
        Notice {
            kind: NotificationKind::GradeDropped,
            key: grade_alert_key("grade", account.id, day, grade),
            title: Bilingual::new(
                format!("{} のヘルスグレードが {} から {} に下がりました", account.name, from.ja, to.ja),
                format!("{}'s health grade dropped from {} to {}", account.name, from.en, to.en),
            ),
            link: format!("/accounts/{}", account.id),
            account_id: Some(account.id),
        }
    }

    /// A critical measure below its floor holds the grade down (to the grade keyed `grade`).
    pub fn critical_signal(account: &AccountNamed, explanation: &Bilingual, (day, grade): (NaiveDate, &str)) -> Notice {
        Notice {
            kind: NotificationKind::CriticalSignal,
            key: grade_alert_key("critical", account.id, day, grade),
            title: Bilingual::new(
                format!("{} に重大なシグナル: {}", account.name, explanation.ja),
                format!("Critical signal at {}: {}", account.name, explanation.en),
            ),
            link: format!("/accounts/{}", account.id),
            account_id: Some(account.id),
        }
    }

    pub fn task_assigned(task_id: i64, title: &str, account: Option<&AccountNamed>, by: &str) -> Notice {
        let about = |ja: bool| match (account, ja) {
            (Some(a), true) => format!("（{}）", a.name),
            (Some(a), false) => format!(" ({})", a.name),
            (None, _) => String::new(),
        };
        Notice {
            kind: NotificationKind::TaskAssigned,
            key: format!("task-assigned:{task_id}:{by}"),
            title: Bilingual::new(
                format!("{by} さんからタスク「{title}」{}が割り当てられました", about(true)),
                format!("{by} assigned you the task \"{title}\"{}", about(false)),
            ),
            link: account.map_or("/tasks".into(), |a| format!("/accounts/{}", a.id)),
            account_id: account.map(|a| a.id),
        }
    }

    pub fn task_overdue(task_id: i64, title: &str, account: Option<&AccountNamed>, due: NaiveDate) -> Notice {
        Notice {
            kind: NotificationKind::TaskOverdue,
            key: format!("task-overdue:{task_id}:{due}"),
            title: Bilingual::new(
                format!("タスク「{title}」の期限（{}）が過ぎています", day(due).ja),
                format!("The task \"{title}\" was due on {}", day(due).en),
            ),
            link: account.map_or("/tasks".into(), |a| format!("/accounts/{}", a.id)),
            account_id: account.map(|a| a.id),
        }
    }

    /// `days`: one of `RENEWAL_REMINDER_DAYS`, the reminder this is.
    pub fn renewal_approaching(account: &AccountNamed, renewal: NaiveDate, days: i64, arr: &str) -> Notice {
        Notice {
            kind: NotificationKind::RenewalApproaching,
            key: format!("renewal:{}:{renewal}:{days}", account.id),
            title: Bilingual::new(
                format!("{} の更新日 {} まで {days} 日を切りました（ARR {arr}）", account.name, day(renewal).ja),
                format!("{} renews on {}, within {days} days (ARR {arr})", account.name, day(renewal).en),
            ),
            link: format!("/accounts/{}", account.id),
            account_id: Some(account.id),
        }
    }

    pub fn email_awaiting_approval(email_id: i64, account: &AccountNamed, subject: &str) -> Notice {
        Notice {
            kind: NotificationKind::EmailAwaitingApproval,
            key: format!("email:{email_id}"),
            title: Bilingual::new(
                format!("{} 宛てのメール「{subject}」が承認を待っています", account.name),
                format!("The email \"{subject}\" to {} is awaiting your approval", account.name),
            ),
            link: format!("/outbox#email-{email_id}"),
            account_id: Some(account.id),
        }
    }

    pub fn detractor(account: &AccountNamed, score: i64, answered_on: NaiveDate) -> Notice {
        Notice {
            kind: NotificationKind::Detractor,
            key: format!("nps:{}:{answered_on}:{score}", account.id),
            title: Bilingual::new(
                format!("{} から NPS {score} の回答がありました（{}）", account.name, day(answered_on).ja),
                format!("{} answered NPS {score} on {}", account.name, day(answered_on).en),
            ),
            link: format!("/accounts/{}", account.id),
            account_id: Some(account.id),
        }
    }

    /// `status`: the new status's names; `reason`: why, when declined.
    pub fn request_status_changed(
        request_id: i64,
        title: &str,
        status: &Bilingual,
        reason: Option<&str>,
        changed_at: &str,
    ) -> Notice {
        let why = |ja: bool| match (reason, ja) {
            (Some(r), true) => format!("。理由: {r}"),
            (Some(r), false) => format!(". Why: {r}"),
            (None, _) => String::new(),
        };
        Notice {
            kind: NotificationKind::RequestStatusChanged,
            key: format!("request:{request_id}:{changed_at}"),
            title: Bilingual::new(
                format!("担当顧客の製品リクエスト「{title}」が「{}」になりました{}", status.ja, why(true)),
                format!("\"{title}\", requested by your accounts, is now {}{}", status.en, why(false)),
            ),
            link: format!("/requests/{request_id}"),
            account_id: None,
        }
    }
}

/// Which renewal reminder is due when a renewal is `days_left` away: the nearest of 30, 60, 90
/// that has been reached (none once the day has passed).
pub fn renewal_reminder(days_left: i64) -> Option<i64> {
    if days_left < 0 {
        return None;
    }
    RENEWAL_REMINDER_DAYS.into_iter().find(|days| days_left <= *days)
}

/// The digest period a local time falls in, once its hour has come: the day (`2026-12-07`) or
/// the ISO week (`2026-W50`, on Mondays). `None` when no digest is due now.
pub fn digest_period(frequency: DigestFrequency, hour: u32, local_now: NaiveDateTime) -> Option<String> {
    if local_now.hour() < hour {
        return None;
    }
    match frequency {
        DigestFrequency::Off => None,
        DigestFrequency::Daily => Some(local_now.date().to_string()),
        DigestFrequency::Weekly if local_now.weekday() == chrono::Weekday::Mon => {
            let week = local_now.date().iso_week();
            Some(format!("{}-W{:02}", week.year(), week.week()))
        }
        DigestFrequency::Weekly => None,
    }
}

/// A digest section lists this many lines, then how many more there are.
pub const DIGEST_SECTION_LINES: usize = 20;

/// One line of the digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestLine {
    pub text: Bilingual,
    pub link: String,
}

/// What a CSM or manager reads in the morning: their accounts' grade drops, renewals coming,
/// overdue tasks and onboarding stuck. Managers read it for every account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Digest {
    pub grade_drops: Vec<DigestLine>,
    pub renewals: Vec<DigestLine>,
    pub overdue_tasks: Vec<DigestLine>,
    pub stuck_onboarding: Vec<DigestLine>,
}

impl Digest {
    pub fn is_empty(&self) -> bool {
        self.grade_drops.is_empty()
            && self.renewals.is_empty()
            && self.overdue_tasks.is_empty()
            && self.stuck_onboarding.is_empty()
    }

    /// Subject and plain-text body in the reader's language; links are made absolute with `site`
    /// when it is known.
    pub fn email(&self, lang: Lang, period: &str, site: Option<&str>) -> (String, String) {
        let pick = |ja: &'static str, en: &'static str| lang.pick(ja, en);
        let subject = format!("{} {period}", pick("[Kizuna] ダイジェスト", "[Kizuna] Digest"));
        let mut body = String::new();
        let sections = [
            (pick("ヘルスグレードが下がった顧客", "Accounts whose grade dropped"), &self.grade_drops),
            (pick("30 日以内の更新", "Renewals in the next 30 days"), &self.renewals),
            (pick("期限切れのタスク", "Overdue tasks"), &self.overdue_tasks),
            (pick("止まっているオンボーディング", "Onboarding stuck"), &self.stuck_onboarding),
        ];
        for (heading, lines) in sections {
            body.push_str(&format!("■ {heading} ({})\n", lines.len()));
            if lines.is_empty() {
                body.push_str(pick("  なし\n", "  none\n"));
            }
            for line in lines.iter().take(DIGEST_SECTION_LINES) {
                body.push_str(&format!("  - {}", line.text.pick(lang)));
                if let Some(site) = site {
                    body.push_str(&format!("  {}{}", site.trim_end_matches('/'), line.link));
                }
                body.push('\n');
            }
            if let Some(more) = lines.len().checked_sub(DIGEST_SECTION_LINES).filter(|n| *n > 0) {
                body.push_str(&match lang {
                    Lang::Ja => format!("  …ほか {more} 件\n"),
                    Lang::En => format!("  … and {more} more\n"),
                });
            }
            body.push('\n');
        }
        body.push_str(pick(
            "配信の設定: Kizuna の「通知」→「通知の設定」\n",
            "Change what you receive: Kizuna, Notifications, Notification settings\n",
        ));
        (subject, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_grade_alert_is_told_once_a_week_per_account_and_grade() {
        let account = AccountNamed { id: 7, name: "Acme" };
        let (from, to) = (Bilingual::new("注意", "Neutral"), Bilingual::new("リスク", "At risk"));
        let on = |day: &str, grade: &str| {
            let day = NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap();
            Notice::grade_dropped(&account, &from, &to, (day, grade)).key
        };
        // Monday 2026-12-07 to Sunday 2026-12-13 is one ISO week.
        assert_eq!(on("2026-12-07", "at_risk"), on("2026-12-13", "at_risk"), "back and forth within a week");
        assert_eq!(on("2026-12-07", "at_risk"), "grade:7:2026-W50:at_risk");
        assert_ne!(on("2026-12-13", "at_risk"), on("2026-12-14", "at_risk"), "a new week tells again");
        assert_ne!(on("2026-12-07", "at_risk"), on("2026-12-07", "neutral"), "a different grade is news");
        let critical =
            Notice::critical_signal(&account, &to, (NaiveDate::from_ymd_opt(2026, 12, 8).unwrap(), "at_risk"));
        assert_eq!(critical.key, "critical:7:2026-W50:at_risk");
    }

    #[test]
    fn a_renewal_reminder_is_the_nearest_threshold_reached() {
        assert_eq!(renewal_reminder(120), None);
        assert_eq!(renewal_reminder(90), Some(90));
        assert_eq!(renewal_reminder(75), Some(90));
        assert_eq!(renewal_reminder(45), Some(60));
        assert_eq!(renewal_reminder(20), Some(30));
        assert_eq!(renewal_reminder(0), Some(30));
        assert_eq!(renewal_reminder(-1), None);
    }

    #[test]
    fn digests_are_due_from_the_chosen_hour_once_per_day_or_monday_week() {
        let at = |d: &str, h: u32| NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap().and_hms_opt(h, 0, 0).unwrap();
        assert_eq!(digest_period(DigestFrequency::Daily, 8, at("2026-12-05", 7)), None);
        assert_eq!(digest_period(DigestFrequency::Daily, 8, at("2026-12-05", 8)).as_deref(), Some("2026-12-05"));
        assert_eq!(digest_period(DigestFrequency::Weekly, 8, at("2026-12-05", 9)), None);
        assert_eq!(digest_period(DigestFrequency::Weekly, 8, at("2026-12-07", 9)).as_deref(), Some("2026-W50"));
        assert_eq!(digest_period(DigestFrequency::Off, 0, at("2026-12-07", 9)), None);
    }

    #[test]
    fn kinds_without_a_choice_reach_the_inbox_only() {
        let mut preferences = NotificationPreferences::default();
        assert_eq!(preferences.channels_for(NotificationKind::TaskAssigned), vec![Channel::InApp]);
        preferences.channels.insert(NotificationKind::TaskAssigned, vec![Channel::Email]);
        assert!(preferences.wants(NotificationKind::TaskAssigned, Channel::Email));
        assert!(!preferences.wants(NotificationKind::TaskAssigned, Channel::InApp));
    }

    #[test]
    fn preferences_read_channels_per_kind_and_refuse_unknown_ones_by_field() {
        let input = PreferencesInput::parse(json!({
            "channels": {"grade_dropped": ["in_app", "email", "email"], "task_overdue": []},
            "slack_webhook": "https://hooks.slack.com/services/T/B/x", "digest": "daily", "digest_hour": "7"
        }))
        .unwrap();
        assert_eq!(input.channels[&NotificationKind::GradeDropped], vec![Channel::InApp, Channel::Email]);
        assert_eq!(input.channels[&NotificationKind::TaskOverdue], vec![]);
        assert_eq!(input.slack_webhook, WebhookChange::Set("https://hooks.slack.com/services/T/B/x".into()));
        assert_eq!((input.digest, input.digest_hour), (DigestFrequency::Daily, 7));
        let errors = PreferencesInput::parse(json!({
            "channels": {"grade_dropped": ["pigeon"]}, "slack_webhook": "ftp://x", "digest": "hourly",
            "digest_hour": 24
        }))
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["channels", "slack_webhook", "digest", "digest_hour"]);
    }

    #[test]
    fn every_notice_reads_in_both_languages() {
        let account = AccountNamed { id: 7, name: "紅葉エナジー" };
        let notice =
            Notice::renewal_approaching(&account, NaiveDate::from_ymd_opt(2027, 1, 4).unwrap(), 30, "¥1,200,000");
        assert!(notice.title.ja.contains("30 日"), "{}", notice.title.ja);
        assert!(notice.title.en.contains("within 30 days"), "{}", notice.title.en);
        assert_eq!(notice.link, "/accounts/7");
        let digest = Digest {
            renewals: vec![DigestLine { text: notice.title.clone(), link: notice.link.clone() }],
            ..Digest::default()
        };
        let (subject, body) = digest.email(Lang::En, "2026-12-05", Some("https://cs.example/"));
        assert_eq!(subject, "[Kizuna] Digest 2026-12-05");
        assert!(body.contains("https://cs.example/accounts/7"), "{body}");
        assert!(body.contains("Overdue tasks (0)"), "{body}");
    }
}
