//! `/messages`: the in-app messages the snippet shows in customers' products — the list with
//! how often each was shown and clicked, the workspace's caps, and one message's form with its
//! results (the goal event's use by accounts that saw it against the held-out ones).

use super::{field_label, form_json, segment_choices, TargetingForm};
use crate::auth::Signed;
use crate::extract::{FormFields, Path, QueryParams};
use crate::pages::{choices, format, render, Choice, Frame};
use crate::problem::ApiError;
use crate::AppState;
use app::tech_touch::{GroupResult, SavedMessage};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::i18n::name_in;
use domain::tech_touch::{Caps, Message, MessageStyle, Outcome, TouchKind};

pub struct MessageRow {
    pub id: i64,
    pub name: String,
    pub style: &'static str,
    pub audience: String,
    pub active: bool,
    pub shown: i64,
    pub clicked: i64,
}

#[derive(Template)]
#[template(path = "messages.html")]
pub struct ListPage {
    pub frame: Frame,
    pub rows: Vec<MessageRow>,
    pub caps: Caps,
    pub errors: Vec<String>,
    pub notice: Option<&'static str>,
}

fn count(outcomes: &[(Outcome, i64, i64)], wanted: Outcome) -> i64 {
    outcomes.iter().find(|(o, _, _)| *o == wanted).map_or(0, |(_, times, _)| *times)
}

async fn list_page(
    app: &AppState,
    frame: Frame,
    caps: Caps,
    errors: Vec<String>,
    notice: Option<&'static str>,
) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let segments = app.segments().await?;
    let mut rows = Vec::new();
    for saved in app.messages().await? {
        let outcomes = app.message_outcomes(saved.id).await?;
        let m = &saved.message;
        let audience = match m.targeting.segment_id.and_then(|id| segments.iter().find(|s| s.segment.id == id)) {
            Some(s) => name_in(&s.segment.name, s.segment.name_en.as_deref(), lang).to_owned(),
            None if m.playbook_only => {
                frame.pick("プレイブックで指定した顧客", "Accounts a playbook enrolls").to_owned()
            }
            None => frame.pick("すべての顧客", "Every account").to_owned(),
        };
        rows.push(MessageRow {
            id: saved.id,
            name: m.name.clone(),
            style: m.style.label(lang),
            audience,
            active: m.active,
            shown: count(&outcomes, Outcome::Shown),
            clicked: count(&outcomes, Outcome::Clicked),
        });
    }
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = ListPage { frame: frame.at("tech_touch"), rows, caps, errors, notice };
    Ok((status, render(&page, "messages")?).into_response())
}

pub async fn list(State(app): State<AppState>, frame: Frame, params: QueryParams) -> Result<Response, ApiError> {
    let notice = match params.text("done").as_deref() {
        Some("caps") => Some(frame.pick("表示回数の上限を保存しました。", "The caps were saved.")),
        Some("deleted") => Some(frame.pick("メッセージを削除しました。", "The message was deleted.")),
        _ => None,
    };
    let caps = app.touch_caps().await?;
    list_page(&app, frame, caps, Vec::new(), notice).await
}

pub async fn save_caps(
    State(app): State<AppState>,
    frame: Frame,
    Signed(actor): Signed,
    fields: FormFields,
) -> Result<Response, ApiError> {
    let body = serde_json::json!({
        "messages_per_day": fields.get("messages_per_day"),
        "messages_per_week": fields.get("messages_per_week"),
        "survey_cooldown_days": fields.get("survey_cooldown_days"),
    });
    let saved = async {
        let caps = Caps::parse(body).map_err(ApiError::Fields)?;
        Ok::<_, ApiError>(app.set_touch_caps(&actor, caps).await?)
    }
    .await;
    match saved {
        Ok(_) => Ok(Redirect::to("/messages?done=caps").into_response()),
        Err(error) => {
            let lang = frame.lang;
            let errors = crate::pages::settings::refused(error, lang, |f| field_label(f, lang))?;
            let caps = app.touch_caps().await?;
            list_page(&app, frame, caps, errors, None).await
        }
    }
}

/// The form's fields as text, as sent or as saved.
#[derive(Default)]
pub struct MessageForm {
    pub name: String,
    pub style: String,
    pub segment_id: Option<i64>,
    pub title: String,
    pub title_en: String,
    pub body: String,
    pub body_en: String,
    pub button: String,
    pub button_en: String,
    pub button_url: String,
    pub targeting: TargetingForm,
    pub priority: String,
    pub max_shows: String,
    pub min_days_between: String,
    pub holdout_percent: String,
    pub goal_event: String,
    pub exempt: bool,
    pub playbook_only: bool,
    pub active: bool,
}

const TEXT_FIELDS: [&str; 14] = [
    "name",
    "style",
    "title",
    "title_en",
    "body",
    "body_en",
    "button",
    "button_en",
    "button_url",
    "priority",
    "max_shows",
    "min_days_between",
    "holdout_percent",
    "goal_event",
];
const FLAGS: [&str; 3] = ["exempt", "playbook_only", "active"];

impl MessageForm {
    fn of(m: &Message) -> MessageForm {
        MessageForm {
            name: m.name.clone(),
            style: m.style.as_str().to_owned(),
            segment_id: m.targeting.segment_id,
            title: m.title.clone(),
            title_en: m.title_en.clone().unwrap_or_default(),
            body: m.body.clone(),
            body_en: m.body_en.clone().unwrap_or_default(),
            button: m.button.clone().unwrap_or_default(),
            button_en: m.button_en.clone().unwrap_or_default(),
            button_url: m.button_url.clone().unwrap_or_default(),
            targeting: TargetingForm::of(&m.targeting),
            priority: m.priority.to_string(),
            max_shows: m.max_shows.to_string(),
            min_days_between: m.min_days_between.to_string(),
            holdout_percent: m.holdout_percent.to_string(),
            goal_event: m.goal_event.clone().unwrap_or_default(),
            exempt: m.exempt,
            playbook_only: m.playbook_only,
            active: m.active,
        }
    }

    fn blank() -> MessageForm {
        MessageForm {
            style: MessageStyle::Banner.as_str().to_owned(),
            priority: "50".into(),
            max_shows: "1".into(),
            min_days_between: "1".into(),
            holdout_percent: "0".into(),
            active: true,
            ..MessageForm::default()
        }
    }

    fn sent(fields: &FormFields) -> MessageForm {
        let get = |name: &str| fields.get(name).to_owned();
        MessageForm {
            name: get("name"),
            style: get("style"),
            segment_id: fields.get("segment_id").parse().ok(),
            title: get("title"),
            title_en: get("title_en"),
            body: get("body"),
            body_en: get("body_en"),
            button: get("button"),
            button_en: get("button_en"),
            button_url: get("button_url"),
            targeting: TargetingForm::sent(fields),
            priority: get("priority"),
            max_shows: get("max_shows"),
            min_days_between: get("min_days_between"),
            holdout_percent: get("holdout_percent"),
            goal_event: get("goal_event"),
            exempt: fields.checked("exempt"),
            playbook_only: fields.checked("playbook_only"),
            active: fields.checked("active"),
        }
    }
}

/// A message's results as the page shows them.
pub struct ResultsView {
    /// (outcome name, times, accounts)
    pub outcomes: Vec<(&'static str, i64, i64)>,
    pub goal_event: Option<String>,
    pub shown: GroupView,
    pub held_out: GroupView,
    pub holdout_percent: i64,
}

pub struct GroupView {
    pub accounts: usize,
    pub converted: usize,
    pub rate: String,
}

fn group(g: &GroupResult) -> GroupView {
    GroupView { accounts: g.accounts, converted: g.converted, rate: format::percent(g.rate) }
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub frame: Frame,
    /// None for a new message.
    pub id: Option<i64>,
    pub form: MessageForm,
    pub styles: Vec<Choice>,
    pub segments: Vec<Choice>,
    pub errors: Vec<String>,
    pub results: Option<ResultsView>,
    pub saved: bool,
}

async fn message_page(
    app: &AppState,
    frame: Frame,
    id: Option<i64>,
    form: MessageForm,
    errors: Vec<String>,
    saved: bool,
) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let results = match id {
        Some(id) => {
            let r = app.message_results(id).await?;
            let holdout_percent = app.message(id).await?.message.holdout_percent;
            Some(ResultsView {
                outcomes: r.outcomes.iter().map(|(o, times, accounts)| (o.label(lang), *times, *accounts)).collect(),
                goal_event: r.goal_event.clone(),
                shown: group(&r.shown),
                held_out: group(&r.held_out),
                holdout_percent,
            })
        }
        None => None,
    };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = MessagePage {
        styles: choices(
            MessageStyle::ALL.iter().map(|s| (s.as_str().to_owned(), s.label(lang).to_owned())),
            Some(&form.style),
        ),
        segments: segment_choices(app, lang, form.segment_id).await?,
        frame: frame.at("tech_touch"),
        id,
        form,
        errors,
        results,
        saved,
    };
    Ok((status, render(&page, "message")?).into_response())
}

pub async fn new_form(State(app): State<AppState>, frame: Frame) -> Result<Response, ApiError> {
    message_page(&app, frame, None, MessageForm::blank(), Vec::new(), false).await
}

pub async fn show(
    State(app): State<AppState>,
    frame: Frame,
    Path(id): Path<i64>,
    params: QueryParams,
) -> Result<Response, ApiError> {
    let SavedMessage { message, .. } = app.message(id).await?;
    let saved = params.text("done").is_some_and(|d| d == "saved");
    message_page(&app, frame, Some(id), MessageForm::of(&message), Vec::new(), saved).await
}

async fn save(
    app: AppState,
    frame: Frame,
    actor: app::Actor,
    id: Option<i64>,
    fields: FormFields,
) -> Result<Response, ApiError> {
    let body = form_json(&fields, &TEXT_FIELDS, &FLAGS);
    let saved = async {
        let message = Message::parse(body).map_err(ApiError::Fields)?;
        Ok::<_, ApiError>(app.save_message(&actor, id, message).await?)
    }
    .await;
    match saved {
        Ok(saved) => Ok(Redirect::to(&format!("/messages/{}?done=saved", saved.id)).into_response()),
        Err(error) => {
            let lang = frame.lang;
            let errors = crate::pages::settings::refused(error, lang, |f| field_label(f, lang))?;
            message_page(&app, frame, id, MessageForm::sent(&fields), errors, false).await
        }
    }
}

pub async fn create(
    State(app): State<AppState>,
    frame: Frame,
    Signed(actor): Signed,
    fields: FormFields,
) -> Result<Response, ApiError> {
    save(app, frame, actor, None, fields).await
}

pub async fn update(
    State(app): State<AppState>,
    frame: Frame,
    Signed(actor): Signed,
    Path(id): Path<i64>,
    fields: FormFields,
) -> Result<Response, ApiError> {
    app.message(id).await?;
    save(app, frame, actor, Some(id), fields).await
}

pub async fn delete(
    State(app): State<AppState>,
    Signed(actor): Signed,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    app.delete_touch_item(&actor, TouchKind::Message, id).await?;
    Ok(Redirect::to("/messages?done=deleted").into_response())
}
