//! `/api/v1/contacts`

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
use domain::contact::{Contact, ContactInput};
use domain::{AccountId, ContactId};
use store::ChildQuery;

/// Lists contacts, optionally of one account.
#[utoipa::path(get, path = "/api/v1/contacts", tag = "contacts",
    params(("account_id" = Option<i64>, Query), ("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query)),
    responses((status = 200, body = ListResponse<Contact>), (status = 422, body = Problem)))]
pub async fn list(
    State(app): State<AppState>,
    mut params: QueryParams,
) -> Result<Json<ListResponse<Contact>>, ApiError> {
    let (limit, offset) = params.page();
    let query = ChildQuery { account_id: params.id("account_id").map(AccountId), limit, offset };
    params.finish()?;
    Ok(Json(ListResponse::new(app.contacts(&query).await?, limit, offset)))
}

#[utoipa::path(post, path = "/api/v1/contacts", tag = "contacts", request_body = ContactInput,
    responses((status = 201, body = Contact), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(app): State<AppState>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Contact>), ApiError> {
    Ok((StatusCode::CREATED, Json(app.create_contact(&actor, &ContactInput::from_json(body)?).await?)))
}

#[utoipa::path(get, path = "/api/v1/contacts/{id}", tag = "contacts", params(("id" = i64, Path)),
    responses((status = 200, body = Contact), (status = 404, body = Problem)))]
pub async fn read(State(app): State<AppState>, Path(id): Path<i64>) -> Result<Json<Contact>, ApiError> {
    Ok(Json(app.contact(ContactId(id)).await?))
}

#[utoipa::path(put, path = "/api/v1/contacts/{id}", tag = "contacts", params(("id" = i64, Path)), request_body = ContactInput,
    responses((status = 200, body = Contact), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn replace(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<Json<Contact>, ApiError> {
    Ok(Json(app.update_contact(&actor, ContactId(id), &ContactInput::from_json(body)?).await?))
}

#[utoipa::path(patch, path = "/api/v1/contacts/{id}", tag = "contacts", params(("id" = i64, Path)), request_body = Object,
    responses((status = 200, body = Contact), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn patch(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<Json<Contact>, ApiError> {
    let current = app.contact(ContactId(id)).await?;
    let input = ContactInput::from_json(merge_patch(to_value(&current.input), body))?;
    Ok(Json(app.update_contact(&actor, ContactId(id), &input).await?))
}

#[utoipa::path(delete, path = "/api/v1/contacts/{id}", tag = "contacts", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
) -> Result<StatusCode, ApiError> {
    app.delete_contact(&actor, ContactId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
