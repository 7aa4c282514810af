//! Tech touch: in-app messages and surveys that the snippet (`/js/kizuna.js`) shows to the end
//! users of a customer's product, and survey links sent by email. What to show a user is decided
//! here, purely, from the definitions, the user's context and what they were already shown
//! (kept on the server: browser storage is not trusted to cap anything).

use crate::fields::FieldReader;
use crate::fields::Fields;
use crate::i18n::{name_in, Lang, MAX_NAME_CHARS};
use crate::ids::optional_text;
use crate::{Email, ExternalId, FieldError, Reason};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_BODY_CHARS: usize = 2_000;
pub const MAX_BUTTON_CHARS: usize = 60;
pub const MAX_URL_CHARS: usize = 2_000;
pub const MAX_PATTERN_CHARS: usize = 500;
pub const MAX_EVENT_CHARS: usize = 200;
pub const MAX_ROLES: usize = 20;
pub const MAX_TRAITS: usize = 10;
pub const MAX_TRAIT_CHARS: usize = 200;
pub const MAX_COMMENT_CHARS: usize = crate::voice::MAX_NPS_COMMENT;
/// The longest end-user id or account id the snippet may send.
pub const MAX_VISITOR_ID_CHARS: usize = 200;

coded! {
    /// How a message appears in the customer's product.
    MessageStyle {
        Banner = "banner", "バナー", "Banner";
        Modal = "modal", "モーダル", "Modal";
        SlideIn = "slide_in", "スライドイン", "Slide-in";
    }
}

coded! {
    /// The question a survey asks, and so its scale.
    SurveyKind {
        Nps = "nps", "NPS (0〜10)", "NPS (0–10)";
        Csat = "csat", "CSAT (1〜5)", "CSAT (1–5)";
        Ces = "ces", "CES (1〜7)", "CES (1–7)";
    }
}

impl SurveyKind {
    pub fn scale(self) -> std::ops::RangeInclusive<i64> {
        match self {
            SurveyKind::Nps => crate::voice::NPS_SCORE_RANGE,
            SurveyKind::Csat => 1..=5,
            SurveyKind::Ces => 1..=7,
        }
    }

    pub fn parse_score(self, raw: &str) -> Result<i64, Reason> {
        let score: i64 = raw.trim().parse().map_err(|_| Reason::InvalidInteger)?;
        let scale = self.scale();
        if scale.contains(&score) {
            Ok(score)
        } else {
            Err(Reason::OutOfRange { min: scale.start().to_string(), max: scale.end().to_string() })
        }
    }

    /// The question asked when a survey gives none.
    pub fn default_question(self, lang: Lang) -> &'static str {
        let (ja, en) = match self {
            SurveyKind::Nps => (
                "この製品を友人や同僚に勧める可能性はどのくらいありますか?",
                "How likely are you to recommend us to a friend or colleague?",
            ),
            SurveyKind::Csat => ("この製品にどのくらい満足していますか?", "How satisfied are you with the product?"),
            SurveyKind::Ces => {
                ("やりたいことを簡単に実現できましたか?", "How easy was it to get done what you wanted to do?")
            }
        };
        lang.pick(ja, en)
    }

    /// The words at the two ends of the scale.
    pub fn scale_ends(self, lang: Lang) -> (&'static str, &'static str) {
        match (self, lang) {
            (SurveyKind::Nps, Lang::Ja) => ("まったく勧めない", "強く勧める"),
            (SurveyKind::Nps, Lang::En) => ("Not at all likely", "Extremely likely"),
            (SurveyKind::Csat, Lang::Ja) => ("とても不満", "とても満足"),
            (SurveyKind::Csat, Lang::En) => ("Very dissatisfied", "Very satisfied"),
            (SurveyKind::Ces, Lang::Ja) => ("とても難しい", "とても簡単"),
            (SurveyKind::Ces, Lang::En) => ("Very difficult", "Very easy"),
        }
    }
}

/// Who sees a message or survey: every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Targeting {
    /// A saved segment the user's account must be a member of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_id: Option<i64>,
    /// End-user roles (as the product reports them); empty: any role.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// End-user traits that must have these values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub traits: BTreeMap<String, String>,
    /// The page's URL must match (`*` stands for any text), e.g. `*/reports*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_pattern: Option<String>,
    /// Shown only right after the user did this event (the product says so to the snippet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_event: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_on: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_on: Option<NaiveDate>,
}

/// One user in the customer's product, as the snippet describes them, with what Kizuna knows
/// about their account.
#[derive(Debug, Clone, Default)]
pub struct Visitor {
    pub account_id: i64,
    pub role: Option<String>,
    pub traits: BTreeMap<String, String>,
    pub url: Option<String>,
    pub event: Option<String>,
    /// Saved segments the account is a member of now.
    pub segments: Vec<i64>,
    /// Messages a playbook asked to show this account.
    pub enrolled: Vec<i64>,
}

impl Targeting {
    fn parse(f: &mut Fields) -> Option<Targeting> {
        let segment_id = f.id("segment_id");
        let roles = f.json("roles", |v| list_of_words(v, MAX_ROLES));
        let traits = f.json("traits", parse_traits);
        let url_pattern = f.text("url_pattern", MAX_PATTERN_CHARS);
        let after_event = f.text("after_event", MAX_EVENT_CHARS);
        let starts_on = f.date("starts_on");
        let ends_on = f.date("ends_on");
        let targeting = Targeting {
            segment_id: segment_id?,
            roles: roles?.unwrap_or_default(),
            traits: traits?.unwrap_or_default(),
            url_pattern: url_pattern?,
            after_event: after_event?,
            starts_on: starts_on?,
            ends_on: ends_on?,
        };
        if let (Some(start), Some(end)) = (targeting.starts_on, targeting.ends_on) {
            if end < start {
                f.errors.push("ends_on", Reason::EarlierThan { field: "starts_on" });
                return None;
            }
        }
        Some(targeting)
    }

    /// Whether the visitor is targeted on `today` (the segment is checked by the caller's
    /// membership list; a playbook-only message also needs the account enrolled).
    pub fn matches(&self, visitor: &Visitor, today: NaiveDate) -> bool {
        let in_window = self.starts_on.is_none_or(|d| d <= today) && self.ends_on.is_none_or(|d| today <= d);
        let in_segment = self.segment_id.is_none_or(|s| visitor.segments.contains(&s));
        let role = self.roles.is_empty()
            || visitor.role.as_deref().is_some_and(|r| self.roles.iter().any(|w| w.eq_ignore_ascii_case(r.trim())));
        let traits = self.traits.iter().all(|(k, v)| visitor.traits.get(k).is_some_and(|have| have.trim() == v));
        let url = self
            .url_pattern
            .as_deref()
            .is_none_or(|pattern| visitor.url.as_deref().is_some_and(|url| glob_matches(pattern, url)));
        let event = self.after_event.as_deref().is_none_or(|wanted| visitor.event.as_deref() == Some(wanted));
        in_window && in_segment && role && traits && url && event
    }
}

impl Targeting {
    /// Whether this is aimed at the very event the visitor just did (and so comes first).
    pub fn answers(&self, visitor: &Visitor) -> bool {
        self.after_event.is_some() && self.after_event == visitor.event
    }
}

/// Whether `text` matches `pattern`, where `*` stands for any run of characters.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

fn list_of_words(value: &serde_json::Value, max: usize) -> Result<Vec<String>, Reason> {
    let words: Vec<String> = match value {
        serde_json::Value::String(text) => text.split([',', '、']).map(str::to_owned).collect(),
        serde_json::Value::Array(items) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned).ok_or(Reason::WrongType { expected: "a list of strings" }))
            .collect::<Result<_, _>>()?,
        _ => return Err(Reason::WrongType { expected: "a list of strings" }),
    };
    let mut kept: Vec<String> = Vec::new();
    for word in words {
        if let Some(word) = optional_text(Some(&word), MAX_TRAIT_CHARS)? {
            if !kept.contains(&word) {
                kept.push(word);
            }
        }
    }
    if kept.len() > max {
        return Err(Reason::OutOfRange { min: "0".into(), max: max.to_string() });
    }
    Ok(kept)
}

/// Traits as an object of strings, or as `key=value` lines (forms).
fn parse_traits(value: &serde_json::Value) -> Result<BTreeMap<String, String>, Reason> {
    let pairs: Vec<(String, String)> = match value {
        serde_json::Value::Object(map) => map
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => Ok((k.clone(), s.clone())),
                serde_json::Value::Number(n) => Ok((k.clone(), n.to_string())),
                serde_json::Value::Bool(b) => Ok((k.clone(), b.to_string())),
                _ => Err(Reason::WrongType { expected: "an object of strings" }),
            })
            .collect::<Result<_, _>>()?,
        serde_json::Value::String(text) => text
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                line.split_once('=')
                    .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                    .ok_or(Reason::Malformed { detail: "key=value".into() })
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(Reason::WrongType { expected: "an object of strings" }),
    };
    if pairs.len() > MAX_TRAITS {
        return Err(Reason::OutOfRange { min: "0".into(), max: MAX_TRAITS.to_string() });
    }
    let mut traits = BTreeMap::new();
    for (key, value) in pairs {
        let key = optional_text(Some(&key), MAX_TRAIT_CHARS)?.ok_or(Reason::Required)?;
        let value = optional_text(Some(&value), MAX_TRAIT_CHARS)?.unwrap_or_default();
        traits.insert(key, value);
    }
    Ok(traits)
}

fn whole_in(min: i64, max: i64) -> impl Fn(&str) -> Result<i64, Reason> {
    move |raw| {
        raw.trim().parse::<i64>().map_err(|_| Reason::InvalidInteger).and_then(|n| {
            (min..=max)
                .contains(&n)
                .then_some(n)
                .ok_or(Reason::OutOfRange { min: min.to_string(), max: max.to_string() })
        })
    }
}

/// A link a button may open: an http(s) URL or a path of the customer's product — never
/// `javascript:` or another scheme that would run in the customer's page.
pub fn parse_link(raw: &str) -> Result<String, Reason> {
    let link = raw.trim();
    if link.chars().count() > MAX_URL_CHARS {
        return Err(Reason::TooLong { max: MAX_URL_CHARS });
    }
    let lower = link.to_ascii_lowercase();
    let web = lower.starts_with("https://") || lower.starts_with("http://");
    let path = link.starts_with('/') && !link.starts_with("//");
    if (web || path) && !link.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Ok(link.to_owned())
    } else {
        Err(Reason::Malformed { detail: "https://… or /path".into() })
    }
}

/// An in-app message: what it says, to whom, and how often.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Message {
    pub name: String,
    pub style: MessageStyle,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title_en: Option<String>,
    pub body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_en: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub button: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub button_en: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub button_url: Option<String>,
    #[serde(default)]
    pub targeting: Targeting,
    /// Higher first when several messages could be shown.
    pub priority: i64,
    /// How many times one user sees it at most.
    pub max_shows: i64,
    /// Days between two showings to the same user.
    pub min_days_between: i64,
    /// A critical notice: the workspace's daily and weekly caps do not hold it back.
    pub exempt: bool,
    /// Share of accounts (0–50 %) that never see it, to measure its effect.
    pub holdout_percent: i64,
    /// The event whose use the message is meant to raise (its effect is measured on it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goal_event: Option<String>,
    /// Shown only to accounts a playbook step enrolled.
    pub playbook_only: bool,
    pub active: bool,
}

impl Message {
    pub const FIELDS: &'static [&'static str] = &[
        "name",
        "style",
        "title",
        "title_en",
        "body",
        "body_en",
        "button",
        "button_en",
        "button_url",
        "segment_id",
        "roles",
        "traits",
        "url_pattern",
        "after_event",
        "starts_on",
        "ends_on",
        "priority",
        "max_shows",
        "min_days_between",
        "exempt",
        "holdout_percent",
        "goal_event",
        "playbook_only",
        "active",
    ];

    pub fn parse(value: serde_json::Value) -> Result<Message, Vec<FieldError>> {
        let mut f = Fields::new(value, Self::FIELDS)?;
        let name = f.required("name", |raw| text_within(raw, MAX_NAME_CHARS));
        let style = f.required("style", MessageStyle::parse);
        let title = f.required("title", |raw| text_within(raw, MAX_TITLE_CHARS));
        let title_en = f.text("title_en", MAX_TITLE_CHARS);
        let body = f.required("body", |raw| text_within(raw, MAX_BODY_CHARS));
        let body_en = f.text("body_en", MAX_BODY_CHARS);
        let button = f.text("button", MAX_BUTTON_CHARS);
        let button_en = f.text("button_en", MAX_BUTTON_CHARS);
        let button_url = f.parsed("button_url", parse_link);
        let targeting = Targeting::parse(&mut f);
        let priority = f.parsed("priority", whole_in(0, 100));
        let max_shows = f.parsed("max_shows", whole_in(1, 100));
        let min_days_between = f.parsed("min_days_between", whole_in(0, 365));
        let exempt = f.boolean("exempt", false);
        let holdout_percent = f.parsed("holdout_percent", whole_in(0, 50));
        let goal_event = f.text("goal_event", MAX_EVENT_CHARS);
        let playbook_only = f.boolean("playbook_only", false);
        let active = f.boolean("active", true);
        f.errors.finish(|| {
            Some(Message {
                name: name?,
                style: style?,
                title: title?,
                title_en: title_en?,
                body: body?,
                body_en: body_en?,
                button: button?,
                button_en: button_en?,
                button_url: button_url?,
                targeting: targeting?,
                priority: priority?.unwrap_or(50),
                max_shows: max_shows?.unwrap_or(1),
                min_days_between: min_days_between?.unwrap_or(1),
                exempt: exempt?,
                holdout_percent: holdout_percent?.unwrap_or(0),
                goal_event: goal_event?,
                playbook_only: playbook_only?,
                active: active?,
            })
        })
    }

    /// Whether the visitor is one this message is for (caps aside).
    pub fn targets(&self, id: i64, visitor: &Visitor, today: NaiveDate) -> bool {
        self.active && (!self.playbook_only || visitor.enrolled.contains(&id)) && self.targeting.matches(visitor, today)
    }

    /// What the snippet draws, in the reader's language.
    pub fn shown(&self, id: i64, lang: Lang) -> ShownMessage {
        ShownMessage {
            id,
            style: self.style,
            title: name_in(&self.title, self.title_en.as_deref(), lang).to_owned(),
            body: name_in(&self.body, self.body_en.as_deref(), lang).to_owned(),
            button: self.button.as_deref().map(|b| name_in(b, self.button_en.as_deref(), lang).to_owned()),
            button_url: self.button_url.clone(),
        }
    }
}

fn text_within(raw: &str, max: usize) -> Result<String, Reason> {
    optional_text(Some(raw), max)?.ok_or(Reason::Required)
}

/// A message as the snippet receives it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ShownMessage {
    pub id: i64,
    pub style: MessageStyle,
    pub title: String,
    pub body: String,
    pub button: Option<String>,
    pub button_url: Option<String>,
}

/// A survey: its question, who is asked, how often, and through which channels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Survey {
    pub name: String,
    pub kind: SurveyKind,
    /// Blank: the standard question of the kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question_en: Option<String>,
    #[serde(default)]
    pub targeting: Targeting,
    /// A round lasts this many days; one answer per person per round.
    pub every_days: i64,
    /// The first round opens on this day.
    pub opens_on: NaiveDate,
    /// Shown by the snippet inside the product.
    pub in_app: bool,
    /// Days an emailed link stays valid.
    pub link_days: i64,
    pub active: bool,
}

impl Survey {
    pub const FIELDS: &'static [&'static str] = &[
        "name",
        "kind",
        "question",
        "question_en",
        "segment_id",
        "roles",
        "traits",
        "url_pattern",
        "after_event",
        "starts_on",
        "ends_on",
        "every_days",
        "opens_on",
        "in_app",
        "link_days",
        "active",
    ];

    pub fn parse(value: serde_json::Value, today: NaiveDate) -> Result<Survey, Vec<FieldError>> {
        let mut f = Fields::new(value, Self::FIELDS)?;
        let name = f.required("name", |raw| text_within(raw, MAX_NAME_CHARS));
        let kind = f.required("kind", SurveyKind::parse);
        let question = f.text("question", MAX_TITLE_CHARS);
        let question_en = f.text("question_en", MAX_TITLE_CHARS);
        let targeting = Targeting::parse(&mut f);
        let every_days = f.parsed("every_days", whole_in(7, 730));
        let opens_on = f.date("opens_on");
        let in_app = f.boolean("in_app", true);
        let link_days = f.parsed("link_days", whole_in(1, 90));
        let active = f.boolean("active", true);
        f.errors.finish(|| {
            Some(Survey {
                name: name?,
                kind: kind?,
                question: question?,
                question_en: question_en?,
                targeting: targeting?,
                every_days: every_days?.unwrap_or(90),
                opens_on: opens_on?.unwrap_or(today),
                in_app: in_app?,
                link_days: link_days?.unwrap_or(14),
                active: active?,
            })
        })
    }

    /// The round open on `today`: 0 from `opens_on`, then one more every `every_days`.
    pub fn round(&self, today: NaiveDate) -> Option<i64> {
        let days = (today - self.opens_on).num_days();
        (days >= 0).then(|| days / self.every_days.max(1))
    }

    pub fn question_in(&self, lang: Lang) -> String {
        match (&self.question, &self.question_en, lang) {
            (_, Some(en), Lang::En) => en.clone(),
            (Some(q), _, _) => q.clone(),
            (None, _, _) => self.kind.default_question(lang).to_owned(),
        }
    }

    pub fn shown(&self, id: i64, round: i64, lang: Lang) -> ShownSurvey {
        let (low, high) = self.kind.scale_ends(lang);
        ShownSurvey {
            id,
            round,
            kind: self.kind,
            question: self.question_in(lang),
            min: *self.kind.scale().start(),
            max: *self.kind.scale().end(),
            low_label: low.to_owned(),
            high_label: high.to_owned(),
        }
    }
}

/// A survey as the snippet or the answer page draws it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ShownSurvey {
    pub id: i64,
    pub round: i64,
    pub kind: SurveyKind,
    pub question: String,
    pub min: i64,
    pub max: i64,
    pub low_label: String,
    pub high_label: String,
}

/// The workspace's limits on how often one person is interrupted.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Caps {
    /// Messages one user sees per day at most (exempt ones aside).
    pub messages_per_day: i64,
    pub messages_per_week: i64,
    /// Days after being asked any survey before a person is asked another.
    pub survey_cooldown_days: i64,
}

impl Default for Caps {
    fn default() -> Caps {
        Caps { messages_per_day: 2, messages_per_week: 5, survey_cooldown_days: 30 }
    }
}

impl Caps {
    pub fn parse(value: serde_json::Value) -> Result<Caps, Vec<FieldError>> {
        let mut f = Fields::new(value, &["messages_per_day", "messages_per_week", "survey_cooldown_days"])?;
        let per_day = f.parsed("messages_per_day", whole_in(0, 20));
        let per_week = f.parsed("messages_per_week", whole_in(0, 100));
        let cooldown = f.parsed("survey_cooldown_days", whole_in(0, 365));
        let defaults = Caps::default();
        f.errors.finish(|| {
            Some(Caps {
                messages_per_day: per_day?.unwrap_or(defaults.messages_per_day),
                messages_per_week: per_week?.unwrap_or(defaults.messages_per_week),
                survey_cooldown_days: cooldown?.unwrap_or(defaults.survey_cooldown_days),
            })
        })
    }
}

coded! {
    /// What happened when a message or survey met a person.
    Outcome {
        Shown = "shown", "表示", "Shown";
        HeldOut = "held_out", "ホールドアウト", "Held out";
        Clicked = "clicked", "クリック", "Clicked";
        Dismissed = "dismissed", "閉じた", "Dismissed";
        Answered = "answered", "回答", "Answered";
        Emailed = "emailed", "メール送信", "Emailed";
    }
}

coded! {
    /// A message or a survey.
    TouchKind {
        Message = "message", "メッセージ", "Message";
        Survey = "survey", "アンケート", "Survey";
    }
}

/// One thing that happened between a person and a message or survey.
#[derive(Debug, Clone, PartialEq)]
pub struct Exposure {
    pub kind: TouchKind,
    pub item_id: i64,
    /// Survey round (surveys only).
    pub round: Option<i64>,
    pub outcome: Outcome,
    pub at: DateTime<Utc>,
}

/// Who the snippet is speaking for: the product's user id, their account's external id and,
/// when the product gives it, their email (so an answer in the product and one by email count
/// as the same person's).
#[derive(Debug, Clone, PartialEq)]
pub struct SnippetUser {
    pub user_id: String,
    pub account: ExternalId,
    pub email: Option<Email>,
}

impl SnippetUser {
    /// The key caps, throttles and "one answer per round" are counted by.
    pub fn person(&self) -> String {
        match &self.email {
            Some(email) => email.to_string().to_lowercase(),
            None => format!("user:{}", self.user_id),
        }
    }

    fn parse(f: &mut Fields) -> Option<SnippetUser> {
        let user_id = f.required("userId", |raw| text_within(raw, MAX_VISITOR_ID_CHARS));
        let account = f.required("accountId", ExternalId::parse);
        let email = f.parsed("email", Email::parse);
        Some(SnippetUser { user_id: user_id?, account: account?, email: email? })
    }
}

/// What the snippet asks when a page opens or the user does something.
#[derive(Debug, Clone, PartialEq)]
pub struct SnippetVisit {
    pub user: SnippetUser,
    pub role: Option<String>,
    pub traits: BTreeMap<String, String>,
    pub url: Option<String>,
    pub event: Option<String>,
    pub lang: Lang,
}

impl SnippetVisit {
    pub fn parse(value: serde_json::Value) -> Result<SnippetVisit, Vec<FieldError>> {
        let mut f = Fields::new(value, &["userId", "accountId", "email", "role", "traits", "url", "event", "lang"])?;
        let user = SnippetUser::parse(&mut f);
        let role = f.text("role", MAX_TRAIT_CHARS);
        let traits = f.json("traits", parse_traits);
        let url = f.text("url", MAX_URL_CHARS);
        let event = f.text("event", MAX_EVENT_CHARS);
        let lang = f.parsed("lang", crate::notifications::parse_lang);
        f.errors.finish(|| {
            Some(SnippetVisit {
                user: user?,
                role: role?,
                traits: traits?.unwrap_or_default(),
                url: url?,
                event: event?,
                lang: lang?.unwrap_or_default(),
            })
        })
    }
}

coded! {
    /// What an end user did with a message or survey the snippet showed.
    SnippetAction {
        Clicked = "clicked", "クリック", "Clicked";
        Dismissed = "dismissed", "閉じた", "Dismissed";
    }
}

/// The snippet's report: a user clicked or dismissed a message, or dismissed a survey.
#[derive(Debug, Clone, PartialEq)]
pub struct SnippetReport {
    pub user: SnippetUser,
    pub kind: TouchKind,
    pub item_id: i64,
    pub action: SnippetAction,
}

impl SnippetReport {
    pub fn parse(value: serde_json::Value) -> Result<SnippetReport, Vec<FieldError>> {
        let mut f = Fields::new(value, &["userId", "accountId", "email", "kind", "id", "action"])?;
        let user = SnippetUser::parse(&mut f);
        let kind = f.required("kind", TouchKind::parse);
        let item_id = f.id("id");
        let action = f.required("action", SnippetAction::parse);
        if matches!(item_id, Some(None)) {
            f.errors.push("id", Reason::Required);
        }
        f.errors.finish(|| Some(SnippetReport { user: user?, kind: kind?, item_id: item_id??, action: action? }))
    }
}

/// An answer to a survey: from the snippet (with the user) or from the answer page.
#[derive(Debug, Clone, PartialEq)]
pub struct AnswerInput {
    pub score: i64,
    pub comment: Option<String>,
}

impl AnswerInput {
    /// `score` on the survey's scale and an optional comment.
    pub fn parse(kind: SurveyKind, f: &mut Fields) -> Option<AnswerInput> {
        let score = f.required("score", |raw| kind.parse_score(raw));
        let comment = f.text("comment", MAX_COMMENT_CHARS);
        Some(AnswerInput { score: score?, comment: comment? })
    }
}

/// The snippet's survey answer: who, which survey, and the answer.
pub fn parse_snippet_answer(
    value: serde_json::Value,
    kind_of: impl FnOnce(i64) -> Option<SurveyKind>,
) -> Result<(SnippetUser, i64, AnswerInput), Vec<FieldError>> {
    let mut f = Fields::new(value, &["userId", "accountId", "email", "id", "score", "comment"])?;
    let user = SnippetUser::parse(&mut f);
    let id = match f.id("id") {
        Some(Some(id)) => Some(id),
        Some(None) => {
            f.errors.push("id", Reason::Required);
            None
        }
        None => None,
    };
    let kind = id.and_then(|id| {
        let kind = kind_of(id);
        if kind.is_none() {
            f.errors.push("id", Reason::UnknownReference);
        }
        kind
    });
    let answer = kind.and_then(|kind| AnswerInput::parse(kind, &mut f));
    f.errors.finish(|| Some((user?, id?, answer?)))
}

/// A stable share of accounts left out of a message: the same account is always in or out.
pub fn held_out(message_id: i64, account_id: i64, holdout_percent: i64) -> bool {
    holdout_percent > 0 && holdout_bucket(message_id, account_id) < holdout_percent as u64
}

/// 0–99, from FNV-1a over the pair: stable across nodes, restarts and versions.
fn holdout_bucket(message_id: i64, account_id: i64) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in format!("message:{message_id}/account:{account_id}").bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash % 100
}

/// What to do for one visitor now: at most one message to show, and the messages they would
/// have been shown but their account is held out of (recorded once, to measure the effect).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MessageDecision {
    pub show: Option<i64>,
    pub held_out: Vec<i64>,
}

/// Chooses the message for a visitor: the ones aimed at the event the user just did first, then
/// by priority (then oldest first), each
/// within its own cap (`max_shows`, `min_days_between`) and, unless exempt, the workspace's
/// daily and weekly caps counted over `history` (this user's exposures).
pub fn choose_message(
    messages: &[(i64, Message)],
    visitor: &Visitor,
    history: &[Exposure],
    caps: &Caps,
    now: DateTime<Utc>,
    today: NaiveDate,
) -> MessageDecision {
    let mut candidates: Vec<&(i64, Message)> =
        messages.iter().filter(|(id, m)| m.targets(*id, visitor, today)).collect();
    candidates.sort_by_key(|(id, m)| (!m.targeting.answers(visitor), std::cmp::Reverse(m.priority), *id));
    let shown = |item: i64| {
        history.iter().filter(move |e| e.kind == TouchKind::Message && e.item_id == item && e.outcome == Outcome::Shown)
    };
    let capped_shows = |since: DateTime<Utc>| {
        history
            .iter()
            .filter(|e| e.kind == TouchKind::Message && e.outcome == Outcome::Shown && e.at > since)
            .filter(|e| messages.iter().any(|(id, m)| *id == e.item_id && !m.exempt))
            .count() as i64
    };
    let within_global = capped_shows(now - Duration::days(1)) < caps.messages_per_day
        && capped_shows(now - Duration::days(7)) < caps.messages_per_week;
    let mut decision = MessageDecision::default();
    for (id, message) in candidates {
        if held_out(*id, visitor.account_id, message.holdout_percent) {
            let recorded = history
                .iter()
                .any(|e| e.kind == TouchKind::Message && e.item_id == *id && e.outcome == Outcome::HeldOut);
            if !recorded {
                decision.held_out.push(*id);
            }
            continue;
        }
        let times = shown(*id).count() as i64;
        let last = shown(*id).map(|e| e.at).max();
        let rested = last.is_none_or(|at| now - at >= Duration::days(message.min_days_between));
        if times < message.max_shows && rested && (message.exempt || within_global) && decision.show.is_none() {
            decision.show = Some(*id);
        }
    }
    decision
}

/// Why a person is not asked a survey now.
#[derive(Debug, Clone, PartialEq)]
pub enum NotAsked {
    Inactive,
    NotOpen,
    NotTargeted,
    /// They answered this round.
    Answered {
        on: DateTime<Utc>,
    },
    /// They were asked this round already (one ask per round).
    AskedThisRound {
        on: DateTime<Utc>,
    },
    /// Another survey asked them recently: the workspace's cooldown.
    Cooldown {
        until: DateTime<Utc>,
    },
}

impl NotAsked {
    pub fn text(&self, lang: Lang) -> String {
        let day = |t: &DateTime<Utc>| crate::i18n::day_in_sentence(t.date_naive(), lang);
        match (self, lang) {
            (NotAsked::Inactive, Lang::Ja) => "アンケートが停止中です".into(),
            (NotAsked::Inactive, Lang::En) => "the survey is paused".into(),
            (NotAsked::NotOpen, Lang::Ja) => "アンケートの期間外です".into(),
            (NotAsked::NotOpen, Lang::En) => "the survey is not open".into(),
            (NotAsked::NotTargeted, Lang::Ja) => "対象の条件に当てはまりません".into(),
            (NotAsked::NotTargeted, Lang::En) => "not in the survey's audience".into(),
            (NotAsked::Answered { on }, Lang::Ja) => format!("今回の回はすでに回答済みです ({})", day(on)),
            (NotAsked::Answered { on }, Lang::En) => format!("already answered this round ({})", day(on)),
            (NotAsked::AskedThisRound { on }, Lang::Ja) => format!("今回の回はすでに依頼済みです ({})", day(on)),
            (NotAsked::AskedThisRound { on }, Lang::En) => format!("already asked this round ({})", day(on)),
            (NotAsked::Cooldown { until }, Lang::Ja) => {
                format!("最近ほかのアンケートを依頼したため {} まで待ちます", day(until))
            }
            (NotAsked::Cooldown { until }, Lang::En) => {
                format!("asked another survey recently: waits until {}", day(until))
            }
        }
    }
}

/// Whether to ask a person survey `id` now, given their exposures to every survey.
pub fn may_ask(
    id: i64,
    survey: &Survey,
    history: &[Exposure],
    caps: &Caps,
    now: DateTime<Utc>,
    today: NaiveDate,
) -> Result<i64, NotAsked> {
    if !survey.active {
        return Err(NotAsked::Inactive);
    }
    let round = survey.round(today).ok_or(NotAsked::NotOpen)?;
    let this_round = |outcome: Outcome| {
        history
            .iter()
            .filter(|e| {
                e.kind == TouchKind::Survey && e.item_id == id && e.round == Some(round) && e.outcome == outcome
            })
            .map(|e| e.at)
            .min()
    };
    if let Some(on) = this_round(Outcome::Answered) {
        return Err(NotAsked::Answered { on });
    }
    if let Some(on) = this_round(Outcome::Shown).into_iter().chain(this_round(Outcome::Emailed)).min() {
        return Err(NotAsked::AskedThisRound { on });
    }
    let last_other = history
        .iter()
        .filter(|e| e.kind == TouchKind::Survey && e.item_id != id)
        .filter(|e| matches!(e.outcome, Outcome::Shown | Outcome::Emailed))
        .map(|e| e.at)
        .max();
    if let Some(last) = last_other {
        let until = last + Duration::days(caps.survey_cooldown_days);
        if now < until {
            return Err(NotAsked::Cooldown { until });
        }
    }
    Ok(round)
}

/// What a signed survey link stands for: one person, one survey round, until it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurveyInvite {
    pub survey_id: i64,
    pub round: i64,
    pub account_id: i64,
    pub email: String,
    /// Seconds since the Unix epoch.
    pub expires: i64,
}

impl SurveyInvite {
    /// The signed part of a link: `survey.round.account.expires.hex(email)`.
    pub fn payload(&self) -> String {
        let email: String = self.email.bytes().map(|b| format!("{b:02x}")).collect();
        format!("{}.{}.{}.{}.{email}", self.survey_id, self.round, self.account_id, self.expires)
    }

    pub fn from_payload(payload: &str) -> Option<SurveyInvite> {
        let mut parts = payload.split('.');
        let mut number = || parts.next().and_then(|p| p.parse::<i64>().ok());
        let (survey_id, round, account_id, expires) = (number()?, number()?, number()?, number()?);
        let hex = parts.next()?;
        if parts.next().is_some() || hex.len() % 2 != 0 || hex.len() > 2 * 320 {
            return None;
        }
        let bytes: Option<Vec<u8>> =
            (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect();
        let email = String::from_utf8(bytes?).ok()?;
        Some(SurveyInvite { survey_id, round, account_id, email, expires })
    }
}

/// A survey's answers summed up: NPS or the mean score, the distribution, and per month.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ScoreSummary {
    pub answers: usize,
    /// NPS (promoters − detractors, in % of answers) for NPS surveys; the mean score otherwise.
    pub score: Option<f64>,
    /// Answers per score, from the scale's lowest to its highest.
    pub distribution: Vec<(i64, usize)>,
}

pub fn summarize(kind: SurveyKind, scores: &[i64]) -> ScoreSummary {
    let distribution = kind.scale().map(|s| (s, scores.iter().filter(|x| **x == s).count())).collect();
    let score = (!scores.is_empty()).then(|| match kind {
        SurveyKind::Nps => {
            let promoters = scores.iter().filter(|s| **s >= 9).count() as f64;
            let detractors = scores.iter().filter(|s| **s <= 6).count() as f64;
            (promoters - detractors) * 100.0 / scores.len() as f64
        }
        SurveyKind::Csat | SurveyKind::Ces => scores.iter().sum::<i64>() as f64 / scores.len() as f64,
    });
    ScoreSummary { answers: scores.len(), score, distribution }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn day(d: &str) -> NaiveDate {
        d.parse().expect("test day")
    }

    fn at(t: &str) -> DateTime<Utc> {
        t.parse().expect("test time")
    }

    fn message(priority: i64) -> Message {
        Message::parse(json!({"name": "m", "style": "banner", "title": "t", "body": "b", "priority": priority}))
            .expect("a valid message")
    }

    fn shown(id: i64, t: &str) -> Exposure {
        Exposure { kind: TouchKind::Message, item_id: id, round: None, outcome: Outcome::Shown, at: at(t) }
    }

    #[test]
    fn a_message_names_every_bad_field_and_refuses_script_links() {
        let errors = Message::parse(json!({
            "name": "", "style": "popup", "title": "t", "body": "b",
            "button_url": "javascript:alert(1)", "holdout_percent": 80, "starts_on": "2026-12-10", "ends_on": "2026-12-01"
        }))
        .expect_err("invalid");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "style", "button_url", "ends_on", "holdout_percent"]);
    }

    #[test]
    fn the_highest_priority_message_within_its_caps_is_shown() {
        let messages = vec![(1, message(10)), (2, message(90))];
        let visitor = Visitor { account_id: 7, ..Visitor::default() };
        let caps = Caps::default();
        let now = at("2026-12-06T10:00:00Z");
        let today = day("2026-12-06");
        assert_eq!(choose_message(&messages, &visitor, &[], &caps, now, today).show, Some(2));
        let seen = [shown(2, "2026-12-06T09:00:00Z")];
        assert_eq!(choose_message(&messages, &visitor, &seen, &caps, now, today).show, Some(1));
        let both = [shown(2, "2026-12-06T09:00:00Z"), shown(1, "2026-12-06T09:30:00Z")];
        assert_eq!(choose_message(&messages, &visitor, &both, &caps, now, today).show, None);
    }

    #[test]
    fn the_global_cap_holds_back_all_but_exempt_messages() {
        let mut critical = message(1);
        critical.exempt = true;
        let messages = vec![(1, message(50)), (2, message(40)), (3, critical)];
        let visitor = Visitor { account_id: 7, ..Visitor::default() };
        let caps = Caps { messages_per_day: 1, ..Caps::default() };
        let seen = [shown(9, "2026-12-06T08:00:00Z"), shown(1, "2026-12-06T09:00:00Z")];
        let decision = choose_message(&messages, &visitor, &seen, &caps, at("2026-12-06T10:00:00Z"), day("2026-12-06"));
        assert_eq!(decision.show, Some(3));
    }

    #[test]
    fn targeting_checks_segment_role_traits_url_event_and_window() {
        let targeting = Targeting {
            segment_id: Some(4),
            roles: vec!["admin".into()],
            traits: BTreeMap::from([("plan".into(), "pro".into())]),
            url_pattern: Some("*/reports*".into()),
            after_event: Some("Report Exported".into()),
            starts_on: Some(day("2026-12-01")),
            ends_on: Some(day("2026-12-31")),
        };
        let visitor = Visitor {
            account_id: 1,
            role: Some("Admin".into()),
            traits: BTreeMap::from([("plan".into(), "pro".into())]),
            url: Some("https://app.example/reports/2026?x=1".into()),
            event: Some("Report Exported".into()),
            segments: vec![4],
            enrolled: vec![],
        };
        assert!(targeting.matches(&visitor, day("2026-12-06")));
        assert!(!targeting.matches(&visitor, day("2027-01-01")));
        assert!(!targeting.matches(&Visitor { segments: vec![5], ..visitor.clone() }, day("2026-12-06")));
        assert!(!targeting
            .matches(&Visitor { url: Some("https://app.example/home".into()), ..visitor.clone() }, day("2026-12-06")));
        assert!(!targeting.matches(&Visitor { event: None, ..visitor }, day("2026-12-06")));
    }

    #[test]
    fn holdout_is_stable_per_account_and_near_its_share() {
        let held: Vec<bool> = (0..2_000).map(|account| held_out(3, account, 10)).collect();
        let again: Vec<bool> = (0..2_000).map(|account| held_out(3, account, 10)).collect();
        assert_eq!(held, again);
        let share = held.iter().filter(|h| **h).count() as f64 / 2_000.0;
        assert!((0.07..0.13).contains(&share), "{share}");
        assert!(!held_out(3, 5, 0));
    }

    #[test]
    fn a_held_out_account_never_sees_the_message_and_is_recorded_once() {
        let mut m = message(50);
        m.holdout_percent = 50;
        let account = (0..100).find(|a| held_out(1, *a, 50)).expect("some account is held out");
        let visitor = Visitor { account_id: account, ..Visitor::default() };
        let now = at("2026-12-06T10:00:00Z");
        let decision = choose_message(&[(1, m.clone())], &visitor, &[], &Caps::default(), now, day("2026-12-06"));
        assert_eq!(decision, MessageDecision { show: None, held_out: vec![1] });
        let recorded = [Exposure { outcome: Outcome::HeldOut, ..shown(1, "2026-12-06T09:00:00Z") }];
        let decision = choose_message(&[(1, m)], &visitor, &recorded, &Caps::default(), now, day("2026-12-06"));
        assert_eq!(decision, MessageDecision::default());
    }

    #[test]
    fn glob_patterns_match_any_run_of_characters() {
        assert!(glob_matches("*/reports*", "https://a.example/reports/1"));
        assert!(glob_matches("https://a.example/*", "https://a.example/"));
        assert!(!glob_matches("*/reports", "https://a.example/reports/1"));
        assert!(glob_matches("*", ""));
    }

    #[test]
    fn a_survey_asks_once_per_round_and_waits_out_the_cooldown() {
        let survey = Survey::parse(
            json!({"name": "NPS", "kind": "nps", "opens_on": "2026-01-01", "every_days": 90}),
            day("2026-01-01"),
        )
        .expect("valid");
        let caps = Caps::default();
        let now = at("2026-12-06T10:00:00Z");
        let today = day("2026-12-06");
        assert_eq!(survey.round(today), Some(3));
        assert_eq!(may_ask(1, &survey, &[], &caps, now, today), Ok(3));
        let asked = Exposure {
            kind: TouchKind::Survey,
            item_id: 1,
            round: Some(3),
            outcome: Outcome::Emailed,
            at: at("2026-12-01T00:00:00Z"),
        };
        assert!(matches!(
            may_ask(1, &survey, std::slice::from_ref(&asked), &caps, now, today),
            Err(NotAsked::AskedThisRound { .. })
        ));
        let last_round = Exposure { round: Some(2), ..asked.clone() };
        assert_eq!(may_ask(1, &survey, &[last_round], &caps, now, today), Ok(3));
        let other = Exposure { item_id: 2, ..asked };
        assert!(matches!(may_ask(1, &survey, &[other], &caps, now, today), Err(NotAsked::Cooldown { .. })));
    }

    #[test]
    fn an_invite_reads_back_what_it_wrote_and_nothing_else() {
        let invite = SurveyInvite {
            survey_id: 3,
            round: 2,
            account_id: 40,
            email: "佐藤@example.jp".into(),
            expires: 1_800_000_000,
        };
        assert_eq!(SurveyInvite::from_payload(&invite.payload()), Some(invite.clone()));
        assert_eq!(SurveyInvite::from_payload(&format!("{}.9", invite.payload())), None);
        assert_eq!(SurveyInvite::from_payload("3.2.x.1.61"), None);
    }

    #[test]
    fn nps_is_promoters_minus_detractors_and_may_be_negative() {
        let summary = summarize(SurveyKind::Nps, &[10, 9, 8, 6, 3, 0]);
        assert_eq!(summary.score, Some((2.0 - 3.0) * 100.0 / 6.0));
        assert_eq!(summary.distribution.len(), 11);
        assert_eq!(summarize(SurveyKind::Csat, &[4, 5]).score, Some(4.5));
    }
}
