//! `/api/v1/subscriptions`: subscription periods. Periods sharing a `subscription_id` are one
//! subscription's history; every change refreshes the account's MRR, ARR and renewal date.

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
use domain::subscription::{SubscriptionPeriod, SubscriptionTerms};
use domain::{AccountId, SubscriptionPeriodId};
use store::ChildQuery;

/// Lists subscription periods, optionally of one account.
#[utoipa::path(get, path = "/api/v1/subscriptions", tag = "subscriptions",
    params(("account_id" = Option<i64>, Query), ("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query)),
    responses((status = 200, body = ListResponse<SubscriptionPeriod>), (status = 422, body = Problem)))]
pub async fn list(
    State(app): State<AppState>,
    mut params: QueryParams,
) -> Result<Json<ListResponse<SubscriptionPeriod>>, ApiError> {
    let (limit, offset) = params.page();
    let query = ChildQuery { account_id: params.id("account_id").map(AccountId), limit, offset };
    params.finish()?;
    Ok(Json(ListResponse::new(app.periods(&query).await?, limit, offset)))
}

/// Adds a period; it must not overlap another period of the same subscription.
#[utoipa::path(post, path = "/api/v1/subscriptions", tag = "subscriptions", request_body = SubscriptionTerms,
    responses((status = 201, body = SubscriptionPeriod), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(app): State<AppState>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<SubscriptionPeriod>), ApiError> {
    Ok((StatusCode::CREATED, Json(app.create_period(&actor, &SubscriptionTerms::from_json(body)?).await?)))
}

#[utoipa::path(get, path = "/api/v1/subscriptions/{id}", tag = "subscriptions", params(("id" = i64, Path)),
    responses((status = 200, body = SubscriptionPeriod), (status = 404, body = Problem)))]
pub async fn read(State(app): State<AppState>, Path(id): Path<i64>) -> Result<Json<SubscriptionPeriod>, ApiError> {
    Ok(Json(app.period(SubscriptionPeriodId(id)).await?))
}

#[utoipa::path(put, path = "/api/v1/subscriptions/{id}", tag = "subscriptions", params(("id" = i64, Path)), request_body = SubscriptionTerms,
    responses((status = 200, body = SubscriptionPeriod), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn replace(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<Json<SubscriptionPeriod>, ApiError> {
    Ok(Json(app.update_period(&actor, SubscriptionPeriodId(id), &SubscriptionTerms::from_json(body)?).await?))
}

#[utoipa::path(patch, path = "/api/v1/subscriptions/{id}", tag = "subscriptions", params(("id" = i64, Path)), request_body = Object,
    responses((status = 200, body = SubscriptionPeriod), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn patch(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<Json<SubscriptionPeriod>, ApiError> {
    let current = app.period(SubscriptionPeriodId(id)).await?;
    let terms = SubscriptionTerms::from_json(merge_patch(to_value(&current.terms), body))?;
    Ok(Json(app.update_period(&actor, SubscriptionPeriodId(id), &terms).await?))
}

#[utoipa::path(delete, path = "/api/v1/subscriptions/{id}", tag = "subscriptions", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
) -> Result<StatusCode, ApiError> {
    app.delete_period(&actor, SubscriptionPeriodId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The products named by any subscription.
#[utoipa::path(get, path = "/api/v1/products", tag = "subscriptions", responses((status = 200, body = Vec<String>)))]
pub async fn products(State(app): State<AppState>) -> Result<Json<Vec<String>>, ApiError> {
    Ok(Json(app.products().await?))
}
