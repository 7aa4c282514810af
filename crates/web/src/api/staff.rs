//! `/api/v1/users` and `/api/v1/teams`: the vendor's staff. Sign-in comes with authentication.

use super::{to_value, ListResponse};
use crate::auth::Signed;
use crate::body::merge_patch;
use crate::extract::JsonBody;
use crate::extract::Path;
use crate::problem::{ApiError, Problem};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use domain::staff::{StaffUser, StaffUserInput, Team, TeamInput};
use domain::{TeamId, UserId};

fn whole_list<T>(items: Vec<T>) -> ListResponse<T> {
    let total = items.len() as i64;
    ListResponse { items, total, limit: total, offset: 0 }
}

#[utoipa::path(get, path = "/api/v1/users", tag = "staff", responses((status = 200, body = ListResponse<StaffUser>)))]
pub async fn list_users(State(app): State<AppState>) -> Result<Json<ListResponse<StaffUser>>, ApiError> {
    Ok(Json(whole_list(app.staff_users().await?)))
}

#[utoipa::path(post, path = "/api/v1/users", tag = "staff", request_body = StaffUserInput,
    responses((status = 201, body = StaffUser), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_user(
    State(app): State<AppState>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<StaffUser>), ApiError> {
    let input = StaffUserInput::from_json(body)?;
    Ok((StatusCode::CREATED, Json(app.create_user(&actor, &input).await?)))
}

#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "staff", params(("id" = i64, Path)),
    responses((status = 200, body = StaffUser), (status = 404, body = Problem)))]
pub async fn read_user(State(app): State<AppState>, Path(id): Path<i64>) -> Result<Json<StaffUser>, ApiError> {
    Ok(Json(app.staff_user(UserId(id)).await?))
}

#[utoipa::path(put, path = "/api/v1/users/{id}", tag = "staff", params(("id" = i64, Path)), request_body = StaffUserInput,
    responses((status = 200, body = StaffUser), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn replace_user(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<Json<StaffUser>, ApiError> {
    let input = StaffUserInput::from_json(body)?;
    Ok(Json(app.update_user(&actor, UserId(id), &input).await?))
}

#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "staff", params(("id" = i64, Path)), request_body = Object,
    responses((status = 200, body = StaffUser), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn patch_user(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<Json<StaffUser>, ApiError> {
    let current = app.staff_user(UserId(id)).await?;
    let input = StaffUserInput::from_json(merge_patch(to_value(&current.input), body))?;
    Ok(Json(app.update_user(&actor, UserId(id), &input).await?))
}

/// Deletes a staff user; accounts they owned keep no owner.
#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "staff", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete_user(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
) -> Result<StatusCode, ApiError> {
    app.delete_user(&actor, UserId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/teams", tag = "staff", responses((status = 200, body = ListResponse<Team>)))]
pub async fn list_teams(State(app): State<AppState>) -> Result<Json<ListResponse<Team>>, ApiError> {
    Ok(Json(whole_list(app.teams().await?)))
}

#[utoipa::path(post, path = "/api/v1/teams", tag = "staff", request_body = TeamInput,
    responses((status = 201, body = Team), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_team(
    State(app): State<AppState>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Team>), ApiError> {
    Ok((StatusCode::CREATED, Json(app.create_team(&actor, &TeamInput::from_json(body)?).await?)))
}

#[utoipa::path(get, path = "/api/v1/teams/{id}", tag = "staff", params(("id" = i64, Path)),
    responses((status = 200, body = Team), (status = 404, body = Problem)))]
pub async fn read_team(State(app): State<AppState>, Path(id): Path<i64>) -> Result<Json<Team>, ApiError> {
    Ok(Json(app.team(TeamId(id)).await?))
}

#[utoipa::path(put, path = "/api/v1/teams/{id}", tag = "staff", params(("id" = i64, Path)), request_body = TeamInput,
    responses((status = 200, body = Team), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn replace_team(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<Json<Team>, ApiError> {
    Ok(Json(app.update_team(&actor, TeamId(id), &TeamInput::from_json(body)?).await?))
}

#[utoipa::path(patch, path = "/api/v1/teams/{id}", tag = "staff", params(("id" = i64, Path)), request_body = Object,
    responses((status = 200, body = Team), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn patch_team(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<Json<Team>, ApiError> {
    let current = app.team(TeamId(id)).await?;
    let input = TeamInput::from_json(merge_patch(serde_json::json!({ "name": current.name }), body))?;
    Ok(Json(app.update_team(&actor, TeamId(id), &input).await?))
}

/// Deletes a team; its members stay, without a team.
#[utoipa::path(delete, path = "/api/v1/teams/{id}", tag = "staff", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete_team(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
) -> Result<StatusCode, ApiError> {
    app.delete_team(&actor, TeamId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
