//! `/notifications`: the signed-in user's inbox (what concerns them, newest first, unread
//! marked) and `/notifications/settings`, where they choose per kind whether it reaches them in
//! the app, by email or on Slack, and which digest they get.

use crate::auth::Signed;
use crate::extract::{FormFields, Path, QueryParams};
use crate::pages::{choices, format, render, Choice, Frame};
use crate::problem::ApiError;
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::i18n::Lang;
use domain::notifications::{Channel, DigestFrequency, NotificationKind, PreferencesInput};
use serde_json::{json, Map, Value};

pub struct InboxRow {
    pub id: i64,
    pub title: String,
    pub link: String,
    pub kind: &'static str,
    pub when: String,
    pub unread: bool,
}

#[derive(Template)]
#[template(path = "notifications.html")]
pub struct InboxPage {
    pub frame: Frame,
    pub rows: Vec<InboxRow>,
    pub unread_only: bool,
}

pub async fn inbox(State(app): State<AppState>, frame: Frame, mut params: QueryParams) -> Result<Response, ApiError> {
    let unread_only = params.parsed("unread", domain::interchange::parse_bool).unwrap_or(false);
    params.finish()?;
    let zone = app.zone();
    let rows = app
        .inbox(&frame.actor, unread_only)
        .await?
        .into_iter()
        .map(|n| InboxRow {
            id: n.id,
            title: n.title.pick(frame.lang).to_owned(),
            link: n.link,
            kind: n.kind.label(frame.lang),
            when: format::moment(Some(n.created_at), &zone, frame.lang),
            unread: n.read_at.is_none(),
        })
        .collect();
    let page = InboxPage { frame: frame.at("notifications"), rows, unread_only };
    Ok(render(&page, "notifications")?.into_response())
}

/// Marks one notification read and goes back to the inbox (or on to what it is about).
pub async fn mark_read(
    State(app): State<AppState>,
    Signed(actor): Signed,
    Path(id): Path<i64>,
    fields: FormFields,
) -> Result<Response, ApiError> {
    app.mark_notifications_read(&actor, Some(id)).await?;
    let next = crate::pages::layout::safe_next(fields.get("next"));
    Ok(Redirect::to(if fields.get("next").is_empty() { "/notifications" } else { &next }).into_response())
}

pub async fn mark_all_read(State(app): State<AppState>, Signed(actor): Signed) -> Result<Response, ApiError> {
    app.mark_notifications_read(&actor, None).await?;
    Ok(Redirect::to("/notifications").into_response())
}

/// One kind's row of the preferences table: a checkbox per channel.
pub struct KindRow {
    pub kind: &'static str,
    pub label: &'static str,
    /// (channel code, its name, checked)
    pub channels: Vec<(&'static str, &'static str, bool)>,
}

#[derive(Template)]
#[template(path = "notification_settings.html")]
pub struct SettingsPage {
    pub frame: Frame,
    pub kinds: Vec<KindRow>,
    pub channel_names: Vec<&'static str>,
    pub slack_set: bool,
    pub digest: Vec<Choice>,
    pub hours: Vec<Choice>,
    pub languages: Vec<Choice>,
    pub notice: Option<&'static str>,
    pub errors: Vec<String>,
}

fn form_value(preferences: &domain::notifications::NotificationPreferences, lang: Lang) -> Vec<KindRow> {
    NotificationKind::ALL
        .iter()
        .map(|kind| KindRow {
            kind: kind.as_str(),
            label: kind.label(lang),
            channels: Channel::ALL
                .iter()
                .map(|channel| (channel.as_str(), channel.label(lang), preferences.wants(*kind, *channel)))
                .collect(),
        })
        .collect()
}

async fn settings_page(
    app: &AppState,
    frame: Frame,
    notice: Option<&'static str>,
    errors: Vec<String>,
) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let preferences = app.notification_preferences(&frame.actor).await?;
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = SettingsPage {
        kinds: form_value(&preferences, lang),
        channel_names: Channel::ALL.iter().map(|c| c.label(lang)).collect(),
        slack_set: preferences.slack_webhook.is_some(),
        digest: choices(
            DigestFrequency::ALL.iter().map(|d| (d.as_str().to_owned(), d.label(lang).to_owned())),
            Some(preferences.digest.as_str()),
        ),
        hours: choices(
            (0..24).map(|h| (h.to_string(), format!("{h:02}:00"))),
            Some(&preferences.digest_hour.to_string()),
        ),
        languages: choices(
            [("ja".to_owned(), "日本語".to_owned()), ("en".to_owned(), "English".to_owned())],
            Some(preferences.language.code()),
        ),
        notice,
        errors,
        frame: frame.at("notifications"),
    };
    Ok((status, render(&page, "notification settings")?).into_response())
}

pub async fn settings(State(app): State<AppState>, frame: Frame, params: QueryParams) -> Result<Response, ApiError> {
    let notice = params
        .text("done")
        .filter(|d| d == "saved")
        .map(|_| frame.pick("通知の設定を保存しました。", "Your notification settings were saved."));
    settings_page(&app, frame, notice, Vec::new()).await
}

/// Saves the choices: every kind is sent, so an unchecked box turns a channel off.
pub async fn save_settings(
    State(app): State<AppState>,
    frame: Frame,
    Signed(actor): Signed,
    fields: FormFields,
) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let mut channels = Map::new();
    for kind in NotificationKind::ALL {
        let chosen: Vec<Value> = Channel::ALL
            .iter()
            .filter(|channel| !fields.get(&format!("{}:{}", kind.as_str(), channel.as_str())).is_empty())
            .map(|channel| json!(channel.as_str()))
            .collect();
        channels.insert(kind.as_str().to_owned(), Value::Array(chosen));
    }
    let mut body = json!({
        "channels": channels,
        "digest": fields.get("digest"),
        "digest_hour": fields.get("digest_hour"),
        "language": fields.get("language"),
    });
    if !fields.get("clear_slack").is_empty() {
        body["slack_webhook"] = json!("");
    } else if !fields.get("slack_webhook").trim().is_empty() {
        body["slack_webhook"] = json!(fields.get("slack_webhook"));
    }
    let saved = async {
        let input = PreferencesInput::parse(body)?;
        Ok::<_, ApiError>(app.set_notification_preferences(&actor, input).await?)
    }
    .await;
    match saved {
        Ok(_) => Ok(Redirect::to("/notifications/settings?done=saved").into_response()),
        Err(error) => {
            let label = |field: &str| match field {
                "slack_webhook" => frame.pick("Slack の Incoming Webhook URL", "Slack incoming webhook URL"),
                "digest" => frame.pick("ダイジェスト", "Digest"),
                "digest_hour" => frame.pick("送信時刻", "Send at"),
                "language" => frame.pick("メールと Slack の言語", "Language of emails and Slack posts"),
                _ => frame.pick("通知の種類と経路", "Kinds and channels"),
            };
            let errors = crate::pages::settings::refused(error, lang, label)?;
            settings_page(&app, frame, None, errors).await
        }
    }
}
