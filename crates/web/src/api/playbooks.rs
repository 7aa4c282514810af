//! `/api/v1/playbooks` and `/api/v1/outbox`: playbook definitions (the shape of a playbook TOML
//! file, as JSON), their run history, the daily trigger scan, and the email outbox.

use crate::auth::Signed;
use crate::body::Fields;
use crate::extract::Path;
use crate::extract::{JsonBody, QueryParams};
use crate::problem::{ApiError, Problem};
use crate::AppState;
use app::playbooks::PlaybookView;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use domain::fields::FieldReader;
use domain::playbooks::mail::EmailDraft;
use domain::playbooks::PlaybookDefinition;
use domain::{FieldError, Reason};
use serde::Serialize;
use store::playbooks::{EmailStatus, OutboxEmail, PlaybookRun};

fn definition(body: serde_json::Value) -> Result<PlaybookDefinition, ApiError> {
    serde_json::from_value(body)
        .map_err(|e| ApiError::Fields(vec![FieldError::new("/", Reason::Malformed { detail: e.to_string() })]))
}

#[utoipa::path(get, path = "/api/v1/playbooks", tag = "playbooks", responses((status = 200, body = Vec<PlaybookView>)))]
pub async fn list(State(app): State<AppState>) -> Result<Json<Vec<PlaybookView>>, ApiError> {
    Ok(Json(app.playbooks().await?))
}

/// Creates a playbook from its definition (see `examples/playbooks/*.toml`, as JSON).
#[utoipa::path(post, path = "/api/v1/playbooks", tag = "playbooks", request_body = PlaybookDefinition,
    responses((status = 201, body = PlaybookView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(app): State<AppState>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<PlaybookView>), ApiError> {
    Ok((StatusCode::CREATED, Json(app.save_playbook(&actor, None, definition(body)?).await?)))
}

#[utoipa::path(get, path = "/api/v1/playbooks/{id}", tag = "playbooks", params(("id" = i64, Path)),
    responses((status = 200, body = PlaybookView), (status = 404, body = Problem)))]
pub async fn read(State(app): State<AppState>, Path(id): Path<i64>) -> Result<Json<PlaybookView>, ApiError> {
    Ok(Json(app.playbook(id).await?))
}

#[utoipa::path(put, path = "/api/v1/playbooks/{id}", tag = "playbooks", params(("id" = i64, Path)), request_body = PlaybookDefinition,
    responses((status = 200, body = PlaybookView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn replace(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<Json<PlaybookView>, ApiError> {
    Ok(Json(app.save_playbook(&actor, Some(id), definition(body)?).await?))
}

#[utoipa::path(delete, path = "/api/v1/playbooks/{id}", tag = "playbooks", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
) -> Result<StatusCode, ApiError> {
    app.delete_playbook(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The playbook's runs, newest first, each with why it started and what each step did.
#[utoipa::path(get, path = "/api/v1/playbooks/{id}/runs", tag = "playbooks", params(("id" = i64, Path), ("limit" = Option<i64>, Query)),
    responses((status = 200, body = Vec<PlaybookRun>), (status = 404, body = Problem)))]
pub async fn runs(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    mut params: QueryParams,
) -> Result<Json<Vec<PlaybookRun>>, ApiError> {
    let (limit, _) = params.page();
    params.finish()?;
    app.playbook(id).await?;
    Ok(Json(app.playbook_runs(Some(id), limit).await?))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ScanResult {
    /// Runs started now (triggers that already ran are not counted).
    pub started: usize,
    /// Steps carried out now, on this node.
    pub steps: usize,
}

/// Looks for due triggers now (renewals, quiet accounts, NPS detractors, yearly dates; the
/// server also does this hourly) and carries out the steps that are due.
#[utoipa::path(post, path = "/api/v1/playbooks/scan", tag = "playbooks", responses((status = 200, body = ScanResult)))]
pub async fn scan(State(app): State<AppState>) -> Result<Json<ScanResult>, ApiError> {
    let started = app.scan_playbook_triggers().await?;
    let steps = app.run_due_steps().await?;
    Ok(Json(ScanResult { started, steps }))
}

/// Emails from playbooks, newest first; `status` = pending, sent, failed or discarded.
#[utoipa::path(get, path = "/api/v1/outbox", tag = "playbooks", params(("status" = Option<String>, Query)),
    responses((status = 200, body = Vec<OutboxEmail>), (status = 422, body = Problem)))]
pub async fn outbox(State(app): State<AppState>, mut params: QueryParams) -> Result<Json<Vec<OutboxEmail>>, ApiError> {
    let status = params.parsed("status", |raw| {
        EmailStatus::parse(raw)
            .ok_or(Reason::NotOneOf { allowed: EmailStatus::ALL.map(|s| s.as_str().to_owned()).to_vec() })
    });
    params.finish()?;
    Ok(Json(app.outbox(status).await?))
}

/// Sends a pending email through SMTP (CSMs for their accounts, managers for all). Without an
/// SMTP server: 409 `mail-not-configured`, and the email stays pending. When the server refuses
/// it or cannot be reached: 502 `undelivered` with the reason; the email is failed, to be edited
/// or retried. Sent and failed emails are written on the account's timeline.
#[utoipa::path(post, path = "/api/v1/outbox/{id}/send", tag = "playbooks", params(("id" = i64, Path)),
    responses((status = 200, body = OutboxEmail), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem), (status = 502, body = Problem)))]
pub async fn send(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
) -> Result<Json<OutboxEmail>, ApiError> {
    Ok(Json(app.decide_outbox_email(&actor, id, true).await?))
}

/// Sends a failed email again, as it is. 409 without an SMTP server (it stays failed), 502 when
/// it fails again.
#[utoipa::path(post, path = "/api/v1/outbox/{id}/retry", tag = "playbooks", params(("id" = i64, Path)),
    responses((status = 200, body = OutboxEmail), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem), (status = 502, body = Problem)))]
pub async fn retry(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
) -> Result<Json<OutboxEmail>, ApiError> {
    Ok(Json(app.retry_outbox_email(&actor, id).await?))
}

/// Discards a pending or failed email.
#[utoipa::path(post, path = "/api/v1/outbox/{id}/discard", tag = "playbooks", params(("id" = i64, Path)),
    responses((status = 200, body = OutboxEmail), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn discard(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
) -> Result<Json<OutboxEmail>, ApiError> {
    Ok(Json(app.decide_outbox_email(&actor, id, false).await?))
}

/// An outbox email as edited: `recipients` (an array of addresses, or one text separated by
/// commas), `subject`, `body`.
#[derive(serde::Deserialize, utoipa::ToSchema)]
pub struct EmailEdit {
    pub recipients: Vec<String>,
    pub subject: String,
    pub body: String,
}

const EDIT_FIELDS: &[&str] = &["recipients", "subject", "body"];

fn parse_edit(value: serde_json::Value) -> Result<EmailDraft, ApiError> {
    let recipients: Result<Vec<String>, Reason> = match value.get("recipients") {
        None | Some(serde_json::Value::Null) => Ok(Vec::new()),
        Some(serde_json::Value::String(text)) => {
            Ok(EmailDraft::split_recipients(text).into_iter().map(str::to_owned).collect())
        }
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned).ok_or(Reason::WrongType { expected: "strings" }))
            .collect(),
        Some(_) => Err(Reason::WrongType { expected: "an array of email addresses" }),
    };
    let mut f = Fields::new(value, EDIT_FIELDS)?;
    let recipients = f.errors.check("recipients", recipients);
    let subject = f.parsed("subject", |raw| Ok(raw.to_owned())).flatten();
    let body = f.parsed("body", |raw| Ok(raw.to_owned())).flatten();
    let mut errors = f.errors.into_vec();
    let refs: Vec<&str> = recipients.iter().flatten().map(String::as_str).collect();
    let draft = EmailDraft::parse(&refs, subject.as_deref().unwrap_or(""), body.as_deref().unwrap_or(""));
    match draft {
        Ok(draft) if errors.is_empty() => Ok(draft),
        Ok(_) => Err(ApiError::Fields(errors)),
        Err(found) => {
            // A recipients field of the wrong type is already named; its emptiness is not news.
            errors.extend(found.into_iter().filter(|e| recipients.is_some() || e.field != "recipients"));
            Err(ApiError::Fields(errors))
        }
    }
}

/// Replaces the recipients, subject and body of a pending or failed email; a failed one waits
/// for approval again.
#[utoipa::path(put, path = "/api/v1/outbox/{id}", tag = "playbooks", params(("id" = i64, Path)), request_body = EmailEdit,
    responses((status = 200, body = OutboxEmail), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn edit(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<Json<OutboxEmail>, ApiError> {
    let draft = parse_edit(body)?;
    Ok(Json(app.edit_outbox_email(&actor, id, &draft).await?))
}
