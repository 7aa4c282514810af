//! `/api/v1/playbooks` and `/api/v1/outbox`: playbook definitions (the shape of a playbook TOML
//! file, as JSON), their run history, the daily trigger scan, and the email outbox.

use crate::auth::Signed;
use crate::extract::Path;
use crate::extract::{JsonBody, QueryParams};
use crate::problem::{ApiError, Problem};
use crate::AppState;
use app::playbooks::PlaybookView;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
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
            .ok_or(Reason::NotOneOf { allowed: ["pending", "sent", "failed", "discarded"].map(String::from).to_vec() })
    });
    params.finish()?;
    Ok(Json(app.outbox(status).await?))
}

/// Sends a pending email through SMTP (CSMs for their accounts, managers for all).
#[utoipa::path(post, path = "/api/v1/outbox/{id}/send", tag = "playbooks", params(("id" = i64, Path)),
    responses((status = 200, body = OutboxEmail), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn send(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
) -> Result<Json<OutboxEmail>, ApiError> {
    Ok(Json(app.decide_outbox_email(&actor, id, true).await?))
}

/// Discards a pending email.
#[utoipa::path(post, path = "/api/v1/outbox/{id}/discard", tag = "playbooks", params(("id" = i64, Path)),
    responses((status = 200, body = OutboxEmail), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn discard(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
) -> Result<Json<OutboxEmail>, ApiError> {
    Ok(Json(app.decide_outbox_email(&actor, id, false).await?))
}
