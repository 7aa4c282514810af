//! `/api/v1/timeline`: notes, meetings, calls and emails on an account, newest first.

use super::{to_value, ListResponse};
use crate::auth::Signed;
use crate::body::merge_patch;
use crate::extract::Path;
use crate::extract::{JsonBody, QueryParams};
use crate::problem::{ApiError, Problem};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use domain::timeline::{TimelineEntry, TimelineEntryInput, TimelineKind};
use domain::{AccountId, TimelineEntryId};
use store::TimelineQuery;

#[utoipa::path(get, path = "/api/v1/timeline", tag = "timeline",
    params(("account_id" = Option<i64>, Query), ("kind" = Option<String>, Query, description = "note, meeting, call, email or system"),
        ("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query)),
    responses((status = 200, body = ListResponse<TimelineEntry>), (status = 422, body = Problem)))]
pub async fn list(
    State(app): State<AppState>,
    mut params: QueryParams,
) -> Result<Json<ListResponse<TimelineEntry>>, ApiError> {
    let (limit, offset) = params.page();
    let query = TimelineQuery {
        account_id: params.id("account_id").map(AccountId),
        kind: params.parsed("kind", TimelineKind::parse),
        limit,
        offset,
    };
    params.finish()?;
    Ok(Json(ListResponse::new(app.timeline(&query).await?, limit, offset)))
}

/// Adds an entry; `occurred_at` defaults to now.
#[utoipa::path(post, path = "/api/v1/timeline", tag = "timeline", request_body = TimelineEntryInput,
    responses((status = 201, body = TimelineEntry), (status = 422, body = Problem)))]
pub async fn create(
    State(app): State<AppState>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<TimelineEntry>), ApiError> {
    Ok((StatusCode::CREATED, Json(app.create_timeline_entry(&actor, &TimelineEntryInput::from_json(body)?).await?)))
}

#[utoipa::path(get, path = "/api/v1/timeline/{id}", tag = "timeline", params(("id" = i64, Path)),
    responses((status = 200, body = TimelineEntry), (status = 404, body = Problem)))]
pub async fn read(State(app): State<AppState>, Path(id): Path<i64>) -> Result<Json<TimelineEntry>, ApiError> {
    Ok(Json(app.timeline_entry(TimelineEntryId(id)).await?))
}

#[utoipa::path(put, path = "/api/v1/timeline/{id}", tag = "timeline", params(("id" = i64, Path)), request_body = TimelineEntryInput,
    responses((status = 200, body = TimelineEntry), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn replace(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<Json<TimelineEntry>, ApiError> {
    Ok(Json(app.update_timeline_entry(&actor, TimelineEntryId(id), &TimelineEntryInput::from_json(body)?).await?))
}

#[utoipa::path(patch, path = "/api/v1/timeline/{id}", tag = "timeline", params(("id" = i64, Path)), request_body = Object,
    responses((status = 200, body = TimelineEntry), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn patch(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<Json<TimelineEntry>, ApiError> {
    let current = app.timeline_entry(TimelineEntryId(id)).await?;
    let input = TimelineEntryInput::from_json(merge_patch(to_value(&current.input), body))?;
    Ok(Json(app.update_timeline_entry(&actor, TimelineEntryId(id), &input).await?))
}

#[utoipa::path(delete, path = "/api/v1/timeline/{id}", tag = "timeline", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
) -> Result<StatusCode, ApiError> {
    app.delete_timeline_entry(&actor, TimelineEntryId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
