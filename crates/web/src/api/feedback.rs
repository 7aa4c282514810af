//! `/api/v1/requests`: product feedback requests ranked by the revenue behind them, the
//! customers who asked (evidence), status changes with their history, and merging duplicates.

use crate::auth::Signed;
use crate::body::Fields;
use crate::extract::Path;
use crate::extract::{JsonBody, QueryParams};
use crate::problem::{ApiError, Problem};
use crate::AppState;
use app::feedback::{RankedRequest, ReleaseNote, RequestDetail, RequestFilter, WebhookView};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use domain::feedback::{EvidenceInput, RequestInput, RequestStatus, StatusChange, WebhookInput, MAX_PRODUCT_AREA};
use domain::ids::optional_text;
use domain::{AccountId, RequestId};
use serde_json::Value;
use store::{Evidence, FeatureRequest};

/// The filters shared by the API, the page and the CSV export.
pub(crate) fn request_filter(params: &mut QueryParams) -> RequestFilter {
    let status = params.parsed("status", RequestStatus::parse);
    let open_only = params.parsed("open", domain::interchange::parse_bool).unwrap_or(status.is_none());
    RequestFilter {
        status,
        open_only,
        product_area: params.parsed("area", |raw| optional_text(Some(raw), MAX_PRODUCT_AREA)).flatten(),
        tier: params
            .parsed("tier", |raw| optional_text(Some(raw), domain::account::MAX_TIER))
            .flatten()
            .map(|t| t.to_lowercase()),
        segment: params.id("segment"),
    }
}

/// Requests, highest impact first. By default only open ones (`open=false` for all, or `status`).
/// `tier` and `segment` count only the evidence of those accounts.
#[utoipa::path(get, path = "/api/v1/requests", tag = "feedback",
    params(
        ("status" = Option<String>, Query, description = "new, under_review, planned, in_progress, shipped or declined"),
        ("open" = Option<bool>, Query, description = "Only requests not shipped or declined (default true without status)"),
        ("area" = Option<String>, Query, description = "Product area"),
        ("tier" = Option<String>, Query, description = "Count only evidence from accounts of this tier"),
        ("segment" = Option<i64>, Query, description = "Count only evidence from accounts in this segment"),
    ),
    responses((status = 200, body = Vec<RankedRequest>), (status = 422, body = Problem)))]
pub async fn list(State(app): State<AppState>, mut params: QueryParams) -> Result<Json<Vec<RankedRequest>>, ApiError> {
    let filter = request_filter(&mut params);
    params.finish()?;
    Ok(Json(app.ranked_requests(&filter).await?))
}

/// Requests shipped in the last `days` days (default 180, at most 3,650), latest first, with the
/// accounts that asked: the company's release notes.
#[utoipa::path(get, path = "/api/v1/requests/release-notes", tag = "feedback",
    params(("days" = Option<u64>, Query, description = "How far back, in days (1–3650, default 180)")),
    responses((status = 200, body = Vec<ReleaseNote>), (status = 422, body = Problem)))]
pub async fn release_notes(
    State(app): State<AppState>,
    mut params: QueryParams,
) -> Result<Json<Vec<ReleaseNote>>, ApiError> {
    let days = params
        .parsed("days", |raw| {
            raw.parse::<u64>()
                .ok()
                .filter(|d| (1..=3_650).contains(d))
                .ok_or(domain::Reason::OutOfRange { min: "1".into(), max: "3650".into() })
        })
        .unwrap_or(180);
    params.finish()?;
    Ok(Json(app.release_notes(days).await?))
}

/// Where request status changes are posted (an issue tracker), the secret masked.
#[utoipa::path(get, path = "/api/v1/requests/webhook", tag = "feedback", responses((status = 200, body = WebhookView)))]
pub async fn webhook(State(app): State<AppState>) -> Result<Json<WebhookView>, ApiError> {
    Ok(Json(app.request_webhook().await?))
}

/// Sets the webhook: `{"url": "https://tracker.example/hooks/kizuna", "secret": "at least 16 characters"}`.
/// Every status change is then POSTed as JSON signed with `x-kizuna-signature: sha256=<HMAC of the
/// body>`. The secret is write-only: leave it out (or send `********`) to keep the stored one.
#[utoipa::path(put, path = "/api/v1/requests/webhook", tag = "feedback", request_body = Object,
    responses((status = 200, body = WebhookView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn set_webhook(
    State(app): State<AppState>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<Json<WebhookView>, ApiError> {
    let input = WebhookInput::parse(body)?;
    Ok(Json(app.set_request_webhook(&actor, Some(input)).await?))
}

/// Stops posting status changes.
#[utoipa::path(delete, path = "/api/v1/requests/webhook", tag = "feedback",
    responses((status = 204), (status = 403, body = Problem)))]
pub async fn delete_webhook(State(app): State<AppState>, Signed(actor): Signed) -> Result<StatusCode, ApiError> {
    app.set_request_webhook(&actor, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Files a request: `{"title": "…", "description": "…", "product_area": "…", "owner_id": 3, "feature_key": "…"}`.
#[utoipa::path(post, path = "/api/v1/requests", tag = "feedback", request_body = RequestInput,
    responses((status = 201, body = FeatureRequest), (status = 422, body = Problem)))]
pub async fn create(
    State(app): State<AppState>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<FeatureRequest>), ApiError> {
    let input = RequestInput::parse(body)?;
    Ok((StatusCode::CREATED, Json(app.create_request(&actor, input).await?)))
}

/// A request with its impact, evidence, status history and the requests merged into it. The id
/// of a merged request answers with the request it was merged into.
#[utoipa::path(get, path = "/api/v1/requests/{id}", tag = "feedback", params(("id" = i64, Path)),
    responses((status = 200, body = RequestDetail), (status = 404, body = Problem)))]
pub async fn read(State(app): State<AppState>, Path(id): Path<i64>) -> Result<Json<RequestDetail>, ApiError> {
    Ok(Json(app.request_detail(RequestId(id)).await?))
}

/// Replaces a request's title, description, product area, owner and feature (managers and the
/// request's owner).
#[utoipa::path(put, path = "/api/v1/requests/{id}", tag = "feedback", params(("id" = i64, Path)), request_body = RequestInput,
    responses((status = 200, body = FeatureRequest), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn replace(
    State(app): State<AppState>,
    Signed(actor): Signed,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody,
) -> Result<Json<FeatureRequest>, ApiError> {
    let input = RequestInput::parse(body)?;
    Ok(Json(app.update_request(&actor, RequestId(id), input).await?))
}

/// Moves a request: `{"status": "declined", "reason": "…"}` (declining needs a reason).
#[utoipa::path(post, path = "/api/v1/requests/{id}/status", tag = "feedback", params(("id" = i64, Path)), request_body = StatusChange,
    responses((status = 200, body = FeatureRequest), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn set_status(
    State(app): State<AppState>,
    Signed(actor): Signed,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody,
) -> Result<Json<FeatureRequest>, ApiError> {
    let change = StatusChange::parse(body)?;
    Ok(Json(app.change_request_status(&actor, RequestId(id), change).await?))
}

/// Records a customer asking: `{"account": "ACC-1" or 12, "contact_id": 5, "importance":
/// "blocker", "source": "meeting", "quote": "…"}` (importance defaults to important, source to csm).
#[utoipa::path(post, path = "/api/v1/requests/{id}/evidence", tag = "feedback", params(("id" = i64, Path)), request_body = Object,
    responses((status = 201, body = Evidence), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn add_evidence(
    State(app): State<AppState>,
    Signed(actor): Signed,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Evidence>), ApiError> {
    let input = EvidenceInput::parse(body)?;
    Ok((StatusCode::CREATED, Json(app.add_request_evidence(&actor, RequestId(id), input).await?)))
}

/// Removes evidence (whoever added it, managers, and the request's owner).
#[utoipa::path(delete, path = "/api/v1/requests/{id}/evidence/{evidence}", tag = "feedback",
    params(("id" = i64, Path), ("evidence" = i64, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn remove_evidence(
    State(app): State<AppState>,
    Signed(actor): Signed,
    Path((id, evidence)): Path<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    app.remove_request_evidence(&actor, RequestId(id), evidence).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Merges this request into another: `{"into": 7}`. Its evidence moves; an account that asked
/// for both counts once.
#[utoipa::path(post, path = "/api/v1/requests/{id}/merge", tag = "feedback", params(("id" = i64, Path)), request_body = Object,
    responses((status = 200, body = FeatureRequest), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn merge(
    State(app): State<AppState>,
    Signed(actor): Signed,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody,
) -> Result<Json<FeatureRequest>, ApiError> {
    let into = merge_target(body)?;
    Ok(Json(app.merge_requests(&actor, RequestId(id), into).await?))
}

pub(crate) fn merge_target(body: Value) -> Result<RequestId, ApiError> {
    let mut f = Fields::new(body, &["into"])?;
    let into = f.id("into");
    if let Some(None) = into {
        f.errors.push("into", domain::Reason::Required);
    }
    Ok(f.errors.finish(|| into.flatten().map(RequestId))?)
}

/// The requests an account asked for, newest first, each once with its strongest evidence.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/requests", tag = "feedback", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<AccountRequest>), (status = 404, body = Problem)))]
pub async fn of_account(
    State(app): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<Vec<AccountRequest>>, ApiError> {
    let found = app.account_requests(AccountId(id)).await?;
    Ok(Json(found.into_iter().map(|(evidence, request)| AccountRequest { evidence, request }).collect()))
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AccountRequest {
    pub evidence: Evidence,
    pub request: FeatureRequest,
}
