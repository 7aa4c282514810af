//! `/messages/{id}/preview` and `/surveys/{id}/preview`: a message or survey drawn by the
//! customers' snippet itself, on a stand-in page, in the language an end user reads, so CS ops
//! sees what users will see before switching it on. The snippet is told what to draw and
//! records nothing: no exposure, click, dismissal or answer.

use crate::extract::{Path, QueryParams};
use crate::pages::{render, Frame};
use crate::problem::ApiError;
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use domain::i18n::Lang;
use domain::notifications::parse_lang;

#[derive(Template)]
#[template(path = "touch_preview.html")]
pub struct PreviewPage {
    pub frame: Frame,
    pub name: String,
    /// The message's or survey's own page.
    pub back: String,
    /// The end user's language the preview is drawn in.
    pub shown_in: Lang,
    /// What the snippet draws, as it receives it from `/v1/in-app/decide`.
    pub payload: String,
}

/// The end user's language asked for (`shown_in`), else the reader's own.
fn shown_in(frame: &Frame, params: &mut QueryParams) -> Lang {
    params.parsed("shown_in", parse_lang).unwrap_or(frame.lang)
}

fn page(
    frame: Frame,
    name: String,
    back: String,
    shown_in: Lang,
    payload: serde_json::Value,
) -> Result<Response, ApiError> {
    let page = PreviewPage { frame: frame.at("tech_touch"), name, back, shown_in, payload: payload.to_string() };
    Ok(render(&page, "touch_preview")?.into_response())
}

pub async fn message(
    State(app): State<AppState>,
    frame: Frame,
    Path(id): Path<i64>,
    mut params: QueryParams,
) -> Result<Response, ApiError> {
    let lang = shown_in(&frame, &mut params);
    params.finish()?;
    let saved = app.message(id).await?;
    let payload = serde_json::json!({ "message": saved.message.shown(saved.id, lang) });
    page(frame, saved.message.name, format!("/messages/{id}"), lang, payload)
}

pub async fn survey(
    State(app): State<AppState>,
    frame: Frame,
    Path(id): Path<i64>,
    mut params: QueryParams,
) -> Result<Response, ApiError> {
    let lang = shown_in(&frame, &mut params);
    params.finish()?;
    let saved = app.survey(id).await?;
    let payload = serde_json::json!({ "survey": saved.survey.shown(saved.id, 0, lang) });
    page(frame, saved.survey.name, format!("/surveys/{id}"), lang, payload)
}
