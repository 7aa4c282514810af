//! Tech touch over HTTP. The snippet's three calls (`/v1/in-app/decide|report|answer`) are
//! authenticated by a write key like tracking, answer CORS preflights, respect the key's allowed
//! origins and only ever read or write what concerns the user they name. `/api/v1/messages`,
//! `/api/v1/surveys` and `/api/v1/tech-touch/caps` are where CS manages them.

use crate::api::tracking::{basic_key, check_key};
use crate::auth::Signed;
use crate::extract::{JsonBody, Path, QueryParams};
use crate::problem::{ApiError, Problem};
use crate::{AppState, WebOptions};
use app::tech_touch::{MessageResults, SavedMessage, SavedSurvey, SendReport, SnippetDecision, SurveyResults};
use axum::extract::{FromRequest, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::{Extension, Json};
use domain::i18n::Bilingual;
use domain::tech_touch::{parse_snippet_answer, Caps, Message, SnippetReport, SnippetVisit, Survey, TouchKind};
use serde::Serialize;

/// The body of a snippet call, read only once its write key and origin passed (a stranger
/// learns nothing from how the body would have been read).
async fn snippet_body(app: &AppState, request: Request) -> Result<serde_json::Value, ApiError> {
    let headers = request.headers();
    let origin = headers.get(header::ORIGIN).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    check_key(app, basic_key(headers), origin.as_deref()).await?;
    let JsonBody(body) = JsonBody::from_request(request, &()).await?;
    Ok(body)
}

/// What to show this user now: at most one message or one survey, in the user's language.
/// Showing is recorded on the server, so caps hold whatever the browser keeps.
#[utoipa::path(post, path = "/v1/in-app/decide", tag = "tech touch",
    request_body(content = serde_json::Value, description = "userId, accountId (external id), and optionally email, role, traits, url, event, lang"),
    responses((status = 200, body = SnippetDecision), (status = 401, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn decide(State(app): State<AppState>, request: Request) -> Result<Json<SnippetDecision>, ApiError> {
    let body = snippet_body(&app, request).await?;
    let visit = SnippetVisit::parse(body).map_err(ApiError::Fields)?;
    Ok(Json(app.snippet_decide(visit).await?))
}

/// A click or dismissal of a message or survey this user was shown.
#[utoipa::path(post, path = "/v1/in-app/report", tag = "tech touch",
    request_body(content = serde_json::Value, description = "userId, accountId, email?, kind (message|survey), id, action (clicked|dismissed)"),
    responses((status = 204), (status = 401, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn report(State(app): State<AppState>, request: Request) -> Result<StatusCode, ApiError> {
    let body = snippet_body(&app, request).await?;
    let report = SnippetReport::parse(body).map_err(ApiError::Fields)?;
    app.snippet_report(report).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An answer to a survey the snippet showed this user this round; one per round.
#[utoipa::path(post, path = "/v1/in-app/answer", tag = "tech touch",
    request_body(content = serde_json::Value, description = "userId, accountId, email?, id (survey), score, comment?"),
    responses((status = 204), (status = 401, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn answer(State(app): State<AppState>, request: Request) -> Result<StatusCode, ApiError> {
    let body = snippet_body(&app, request).await?;
    let survey_id = body.get("id").and_then(serde_json::Value::as_i64);
    let kind = match survey_id {
        Some(id) => app.survey_kind(id).await?,
        None => None,
    };
    let (user, id, answer) = parse_snippet_answer(body, |_| kind).map_err(ApiError::Fields)?;
    app.snippet_answer(user, id, answer).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/messages", tag = "tech touch",
    responses((status = 200, body = Vec<SavedMessage>)))]
pub async fn list_messages(State(app): State<AppState>) -> Result<Json<Vec<SavedMessage>>, ApiError> {
    Ok(Json(app.messages().await?))
}

/// Creates an in-app message (managers); every bad field is named.
#[utoipa::path(post, path = "/api/v1/messages", tag = "tech touch", request_body = Message,
    responses((status = 201, body = SavedMessage), (status = 422, body = Problem)))]
pub async fn create_message(
    State(app): State<AppState>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<SavedMessage>), ApiError> {
    let message = Message::parse(body).map_err(ApiError::Fields)?;
    Ok((StatusCode::CREATED, Json(app.save_message(&actor, None, message).await?)))
}

#[utoipa::path(get, path = "/api/v1/messages/{id}", tag = "tech touch", params(("id" = i64, Path)),
    responses((status = 200, body = SavedMessage), (status = 404, body = Problem)))]
pub async fn read_message(State(app): State<AppState>, Path(id): Path<i64>) -> Result<Json<SavedMessage>, ApiError> {
    Ok(Json(app.message(id).await?))
}

#[utoipa::path(put, path = "/api/v1/messages/{id}", tag = "tech touch", params(("id" = i64, Path)), request_body = Message,
    responses((status = 200, body = SavedMessage), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn replace_message(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<Json<SavedMessage>, ApiError> {
    let message = Message::parse(body).map_err(ApiError::Fields)?;
    Ok(Json(app.save_message(&actor, Some(id), message).await?))
}

#[utoipa::path(delete, path = "/api/v1/messages/{id}", tag = "tech touch", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete_message(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
) -> Result<StatusCode, ApiError> {
    app.delete_touch_item(&actor, TouchKind::Message, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Shows, clicks and dismissals, and the goal event's use by accounts that saw the message
/// against the held-out accounts.
#[utoipa::path(get, path = "/api/v1/messages/{id}/results", tag = "tech touch", params(("id" = i64, Path)),
    responses((status = 200, body = MessageResults), (status = 404, body = Problem)))]
pub async fn message_results(
    State(app): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<MessageResults>, ApiError> {
    Ok(Json(app.message_results(id).await?))
}

#[utoipa::path(get, path = "/api/v1/surveys", tag = "tech touch", responses((status = 200, body = Vec<SavedSurvey>)))]
pub async fn list_surveys(State(app): State<AppState>) -> Result<Json<Vec<SavedSurvey>>, ApiError> {
    Ok(Json(app.surveys().await?))
}

#[utoipa::path(post, path = "/api/v1/surveys", tag = "tech touch", request_body = Survey,
    responses((status = 201, body = SavedSurvey), (status = 422, body = Problem)))]
pub async fn create_survey(
    State(app): State<AppState>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<SavedSurvey>), ApiError> {
    let survey = Survey::parse(body, app.today()).map_err(ApiError::Fields)?;
    Ok((StatusCode::CREATED, Json(app.save_survey(&actor, None, survey).await?)))
}

#[utoipa::path(get, path = "/api/v1/surveys/{id}", tag = "tech touch", params(("id" = i64, Path)),
    responses((status = 200, body = SavedSurvey), (status = 404, body = Problem)))]
pub async fn read_survey(State(app): State<AppState>, Path(id): Path<i64>) -> Result<Json<SavedSurvey>, ApiError> {
    Ok(Json(app.survey(id).await?))
}

#[utoipa::path(put, path = "/api/v1/surveys/{id}", tag = "tech touch", params(("id" = i64, Path)), request_body = Survey,
    responses((status = 200, body = SavedSurvey), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn replace_survey(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<Json<SavedSurvey>, ApiError> {
    let survey = Survey::parse(body, app.today()).map_err(ApiError::Fields)?;
    Ok(Json(app.save_survey(&actor, Some(id), survey).await?))
}

#[utoipa::path(delete, path = "/api/v1/surveys/{id}", tag = "tech touch", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete_survey(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
) -> Result<StatusCode, ApiError> {
    app.delete_touch_item(&actor, TouchKind::Survey, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/surveys/{id}/results", tag = "tech touch", params(("id" = i64, Path)),
    responses((status = 200, body = SurveyResults), (status = 404, body = Problem)))]
pub async fn survey_results(State(app): State<AppState>, Path(id): Path<i64>) -> Result<Json<SurveyResults>, ApiError> {
    Ok(Json(app.survey_results(id).await?))
}

/// Emails a signed answer link to each contact of the survey's accounts that may be asked now
/// (managers); the others are listed with the reason.
#[utoipa::path(post, path = "/api/v1/surveys/{id}/send", tag = "tech touch", params(("id" = i64, Path)),
    responses((status = 200, body = SendReport), (status = 404, body = Problem)))]
pub async fn send_survey(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
    Extension(options): Extension<WebOptions>,
    headers: HeaderMap,
) -> Result<Json<SendReport>, ApiError> {
    let base = crate::pages::settings::keys::base_url(&headers, &options);
    Ok(Json(app.send_survey(&actor, id, &base).await?))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Eligibility {
    pub person: String,
    pub may_ask: bool,
    /// The round they would be asked in.
    pub round: Option<i64>,
    /// Why not, in both languages.
    pub reason: Option<Bilingual>,
}

/// Whether a person (an email, or `user:<id>` for a product user without one) would be asked
/// the survey now, and if not, why.
#[utoipa::path(get, path = "/api/v1/surveys/{id}/eligibility", tag = "tech touch",
    params(("id" = i64, Path), ("person" = String, Query)),
    responses((status = 200, body = Eligibility), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn eligibility(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    mut params: QueryParams,
) -> Result<Json<Eligibility>, ApiError> {
    let person = params.required("person", app::tech_touch::person_key);
    params.finish()?;
    let person = person.unwrap_or_default();
    let decision = app.survey_eligibility(id, &person).await?;
    Ok(Json(match decision {
        Ok(round) => Eligibility { person, may_ask: true, round: Some(round), reason: None },
        Err(why) => Eligibility {
            person,
            may_ask: false,
            round: None,
            reason: Some(Bilingual::new(why.text(domain::i18n::Lang::Ja), why.text(domain::i18n::Lang::En))),
        },
    }))
}

#[utoipa::path(get, path = "/api/v1/tech-touch/caps", tag = "tech touch", responses((status = 200, body = Caps)))]
pub async fn caps(State(app): State<AppState>) -> Result<Json<Caps>, ApiError> {
    Ok(Json(app.touch_caps().await?))
}

/// Replaces the workspace's caps (managers): messages per user per day and week, and the days
/// between two surveys to one person.
#[utoipa::path(put, path = "/api/v1/tech-touch/caps", tag = "tech touch", request_body = Caps,
    responses((status = 200, body = Caps), (status = 422, body = Problem)))]
pub async fn set_caps(
    State(app): State<AppState>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<Json<Caps>, ApiError> {
    let caps = Caps::parse(body).map_err(ApiError::Fields)?;
    Ok(Json(app.set_touch_caps(&actor, caps).await?))
}
