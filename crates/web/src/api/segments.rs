//! `/api/v1/segments`: saved segments (a rule over account data), their live members and
//! history of entries and exits, and a preview of any rule.

use crate::auth::Signed;
use crate::body::Fields;
use crate::extract::Path;
use crate::extract::{JsonBody, QueryParams};
use crate::problem::{ApiError, Problem};
use crate::AppState;
use app::segments::SegmentPreview;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use domain::fields::FieldReader;
use domain::Reason;
use serde_json::Value;
use store::{SavedSegment, SegmentEvent, SegmentInput, SegmentMembers, SegmentSummary};

/// Accounts a preview lists by default, and at most.
const PREVIEW_ACCOUNTS: usize = 10;
const MAX_PREVIEW_ACCOUNTS: usize = 100;

/// Reads `name`, `name_en`, `rule` and `description` as sent; the app checks them, and the rule.
fn segment_input(body: Value) -> Result<SegmentInput, ApiError> {
    let mut f = Fields::new(body, &["name", "name_en", "rule", "description"])?;
    let mut raw = |field: &str| f.parsed(field, |raw| Ok(raw.to_owned())).flatten();
    let (name, name_en, rule, description) = (raw("name"), raw("name_en"), raw("rule"), raw("description"));
    Ok(f.errors.finish(|| {
        Some(SegmentInput { name: name.unwrap_or_default(), name_en, rule: rule.unwrap_or_default(), description })
    })?)
}

/// Every segment by name, with its current member count and ARR.
#[utoipa::path(get, path = "/api/v1/segments", tag = "segments", responses((status = 200, body = Vec<SegmentSummary>)))]
pub async fn list(State(app): State<AppState>) -> Result<Json<Vec<SegmentSummary>>, ApiError> {
    Ok(Json(app.segments().await?))
}

/// Saves a segment: `{"name": "…", "name_en": "…", "rule": "grade = \"at_risk\" and arr >= 1000000", "description": "…"}`.
/// A rule that does not check is refused with every error, each with its line and column.
#[utoipa::path(post, path = "/api/v1/segments", tag = "segments", request_body = Object,
    responses((status = 201, body = SavedSegment), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(app): State<AppState>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<SavedSegment>), ApiError> {
    let input = segment_input(body)?;
    Ok((StatusCode::CREATED, Json(app.create_segment(&actor, &input).await?)))
}

#[utoipa::path(get, path = "/api/v1/segments/{id}", tag = "segments", params(("id" = i64, Path)),
    responses((status = 200, body = SegmentSummary), (status = 404, body = Problem)))]
pub async fn read(State(app): State<AppState>, Path(id): Path<i64>) -> Result<Json<SegmentSummary>, ApiError> {
    Ok(Json(app.segment(id).await?))
}

/// Replaces a segment's name, rule and description; a new rule recomputes its members.
#[utoipa::path(put, path = "/api/v1/segments/{id}", tag = "segments", params(("id" = i64, Path)), request_body = Object,
    responses((status = 200, body = SavedSegment), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn replace(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<Json<SavedSegment>, ApiError> {
    let input = segment_input(body)?;
    Ok(Json(app.update_segment(&actor, id, &input).await?))
}

/// Deletes a segment with its members and history.
#[utoipa::path(delete, path = "/api/v1/segments/{id}", tag = "segments", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
) -> Result<StatusCode, ApiError> {
    app.delete_segment(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The segment's members, largest ARR first, with the count and ARR of all of them.
#[utoipa::path(get, path = "/api/v1/segments/{id}/members", tag = "segments",
    params(("id" = i64, Path), ("limit" = Option<i64>, Query, description = "1–500, default 50"), ("offset" = Option<i64>, Query)),
    responses((status = 200, body = SegmentMembers), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn members(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    mut params: QueryParams,
) -> Result<Json<SegmentMembers>, ApiError> {
    let (limit, offset) = params.page();
    params.finish()?;
    Ok(Json(app.segment_members(id, limit, offset).await?))
}

/// Accounts entering (`entered: true`) and leaving the segment, newest first.
#[utoipa::path(get, path = "/api/v1/segments/{id}/history", tag = "segments",
    params(("id" = i64, Path), ("limit" = Option<i64>, Query, description = "1–500, default 50"), ("offset" = Option<i64>, Query)),
    responses((status = 200, body = Vec<SegmentEvent>), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn history(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    mut params: QueryParams,
) -> Result<Json<Vec<SegmentEvent>>, ApiError> {
    let (limit, offset) = params.page();
    params.finish()?;
    Ok(Json(app.segment_history(id, limit, offset).await?))
}

/// Who a rule would pick now, without saving it: `{"rule": "…", "limit": 10}` → the count,
/// their ARR and the largest accounts; or, for a rule that does not check, `errors` with each
/// error's line, column, byte offset and length and its message in Japanese and English.
#[utoipa::path(post, path = "/api/v1/segments/preview", tag = "segments", request_body = Object,
    responses((status = 200, body = SegmentPreview), (status = 422, body = Problem)))]
pub async fn preview(State(app): State<AppState>, JsonBody(body): JsonBody) -> Result<Json<SegmentPreview>, ApiError> {
    let mut f = Fields::new(body, &["rule", "limit"])?;
    let rule = f.parsed("rule", |raw| Ok(raw.to_owned())).flatten().unwrap_or_default();
    let limit = f
        .parsed("limit", |raw| {
            raw.parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_PREVIEW_ACCOUNTS).contains(n))
                .ok_or(Reason::OutOfRange { min: "1".into(), max: MAX_PREVIEW_ACCOUNTS.to_string() })
        })
        .flatten();
    f.errors.finish(|| Some(()))?;
    Ok(Json(app.preview_segment(&rule, limit.unwrap_or(PREVIEW_ACCOUNTS)).await?))
}
