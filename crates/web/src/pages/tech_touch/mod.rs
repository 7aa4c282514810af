//! Tech touch pages: `/messages` (in-app messages and the workspace's caps), `/surveys`
//! (surveys, their results, sending links and "why was this person not asked?"), a preview of
//! either as an end user sees it (`preview`) and the public answer page `/s/{token}` a signed
//! link opens.

pub mod answer;
pub mod messages;
pub mod preview;
pub mod surveys;

use crate::extract::FormFields;
use crate::pages::{choices, Choice};
use crate::problem::ApiError;
use crate::AppState;
use domain::i18n::{name_in, Lang, Text};
use serde_json::{Map, Value};

/// The targeting fields both forms share, read as the API's JSON parsers read them.
const TARGETING_TEXT: [&str; 6] = ["roles", "traits", "url_pattern", "after_event", "starts_on", "ends_on"];

/// A form as the JSON body the API takes: `text` fields as sent, `flags` as booleans, the
/// segment as an id, and the shared targeting fields.
fn form_json(fields: &FormFields, text: &[&str], flags: &[&str]) -> Value {
    let mut body = Map::new();
    for name in text.iter().chain(TARGETING_TEXT.iter()) {
        body.insert((*name).to_owned(), Value::from(fields.get(name)));
    }
    for name in flags {
        body.insert((*name).to_owned(), Value::Bool(fields.checked(name)));
    }
    body.insert("segment_id".into(), fields.id_value("segment_id"));
    Value::Object(body)
}

/// The saved segments as options, "every account" first.
async fn segment_choices(app: &AppState, lang: Lang, selected: Option<i64>) -> Result<Vec<Choice>, ApiError> {
    let every = (String::new(), Text::new("すべての顧客", "Every account").pick(lang).to_owned());
    let segments = app.segments().await?;
    let selected = selected.map(|id| id.to_string()).unwrap_or_default();
    Ok(choices(
        std::iter::once(every).chain(segments.iter().map(|s| {
            (s.segment.id.to_string(), name_in(&s.segment.name, s.segment.name_en.as_deref(), lang).to_owned())
        })),
        Some(&selected),
    ))
}

/// The targeting fields as the form shows them.
#[derive(Default)]
pub struct TargetingForm {
    pub roles: String,
    pub traits: String,
    pub url_pattern: String,
    pub after_event: String,
    pub starts_on: String,
    pub ends_on: String,
}

impl TargetingForm {
    fn of(t: &domain::tech_touch::Targeting) -> TargetingForm {
        TargetingForm {
            roles: t.roles.join(", "),
            traits: t.traits.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("\n"),
            url_pattern: t.url_pattern.clone().unwrap_or_default(),
            after_event: t.after_event.clone().unwrap_or_default(),
            starts_on: t.starts_on.map(|d| d.to_string()).unwrap_or_default(),
            ends_on: t.ends_on.map(|d| d.to_string()).unwrap_or_default(),
        }
    }

    fn sent(fields: &FormFields) -> TargetingForm {
        let get = |name: &str| fields.get(name).to_owned();
        TargetingForm {
            roles: get("roles"),
            traits: get("traits"),
            url_pattern: get("url_pattern"),
            after_event: get("after_event"),
            starts_on: get("starts_on"),
            ends_on: get("ends_on"),
        }
    }
}

/// A field's name on the forms, for error lines.
fn field_label(field: &str, lang: Lang) -> &'static str {
    let t = |ja, en| Text::new(ja, en).pick(lang);
    match field {
        "name" => t("名前", "Name"),
        "style" => t("表示形式", "Style"),
        "title" | "title_en" => t("見出し", "Title"),
        "body" | "body_en" => t("本文", "Body"),
        "button" | "button_en" => t("ボタンの文言", "Button label"),
        "button_url" => t("ボタンのリンク先", "Button link"),
        "segment_id" => t("対象のセグメント", "Segment"),
        "roles" => t("ユーザーの役割", "End-user roles"),
        "traits" => t("ユーザーの属性", "End-user traits"),
        "url_pattern" => t("表示するページの URL", "Page URL pattern"),
        "after_event" => t("直前の操作（イベント）", "Right after event"),
        "starts_on" => t("開始日", "Starts on"),
        "ends_on" => t("終了日", "Ends on"),
        "priority" => t("優先度", "Priority"),
        "max_shows" => t("1 人に表示する回数の上限", "Shows per user at most"),
        "min_days_between" => t("再表示までの日数", "Days between shows"),
        "holdout_percent" => t("ホールドアウト (%)", "Holdout (%)"),
        "goal_event" => t("目標のイベント", "Goal event"),
        "kind" => t("種類", "Kind"),
        "question" | "question_en" => t("質問", "Question"),
        "every_days" => t("回の長さ（日）", "Round length (days)"),
        "opens_on" => t("最初の回の開始日", "First round opens on"),
        "link_days" => t("リンクの有効日数", "Link valid for (days)"),
        "messages_per_day" => t("1 人 1 日あたりの上限", "Per user per day"),
        "messages_per_week" => t("1 人 1 週あたりの上限", "Per user per week"),
        "survey_cooldown_days" => t("アンケートの間隔（日）", "Days between surveys to one person"),
        _ => t("入力", "Input"),
    }
}
