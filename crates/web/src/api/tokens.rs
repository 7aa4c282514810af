//! `/api/v1/tokens` (personal API tokens) and `/api/v1/write-keys` (tracking API keys).
//! Secrets appear once, in the creation response.

use crate::auth::Signed;
use crate::body::Fields;
use crate::extract::Path;
use crate::extract::{JsonBody, QueryParams};
use crate::problem::{ApiError, Problem};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use domain::access::{Role, Scope};
use domain::credentials::{ApiToken, WriteKey};
use domain::fields::FieldReader;
use domain::ids::required_text;
use serde::Serialize;
use serde_json::Value;

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    pub token: ApiToken,
    /// Send as `Authorization: Bearer <secret>`. Shown only now.
    pub secret: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedWriteKey {
    pub write_key: WriteKey,
    /// The tracking clients' write key. Shown only now.
    pub secret: String,
}

/// A new token's `name` and `scope`.
pub(crate) fn parse_token(body: Value) -> Result<(String, Scope), ApiError> {
    let mut f = Fields::new(body, &["name", "scope"])?;
    let name = f.required("name", |raw| required_text(Some(raw), 200));
    let scope = f.required("scope", Scope::parse);
    Ok(f.errors.finish(|| Some((name?, scope?)))?)
}

/// A new write key's `name` and optional `allowed_origins`.
pub(crate) fn parse_write_key(body: Value) -> Result<(String, Vec<String>), ApiError> {
    let mut f = Fields::new(body, &["name", "allowed_origins"])?;
    let name = f.required("name", |raw| required_text(Some(raw), 200));
    let origins = f.json("allowed_origins", parse_origins).map(Option::unwrap_or_default);
    Ok(f.errors.finish(|| Some((name?, origins?)))?)
}

/// A write key's `allowed_origins`: a list of `http(s)://host[:port]`, at most `MAX_ORIGINS`.
pub(crate) fn parse_origins(raw: &Value) -> Result<Vec<String>, domain::Reason> {
    use domain::credentials::{parse_origin, MAX_ORIGINS};
    let items = match raw {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        _ => return Err(domain::Reason::WrongType { expected: "a list of origins" }),
    };
    if items.len() > MAX_ORIGINS {
        return Err(domain::Reason::OutOfRange { min: "0".into(), max: MAX_ORIGINS.to_string() });
    }
    let mut origins = Vec::with_capacity(items.len());
    for item in items {
        let text = item.as_str().ok_or(domain::Reason::WrongType { expected: "a list of origins" })?;
        let origin = parse_origin(text)?;
        if !origins.contains(&origin) {
            origins.push(origin);
        }
    }
    Ok(origins)
}

/// A write key's new `allowed_origins`.
pub(crate) fn parse_write_key_origins(body: Value) -> Result<Vec<String>, ApiError> {
    let mut f = Fields::new(body, &["allowed_origins"])?;
    let origins = f.json("allowed_origins", parse_origins).map(Option::unwrap_or_default);
    Ok(f.errors.finish(|| origins)?)
}

/// The caller's tokens; admins may pass `all=true` for everyone's.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "authentication", params(("all" = Option<bool>, Query)),
    responses((status = 200, body = Vec<ApiToken>), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list(
    State(app): State<AppState>,
    Signed(actor): Signed,
    params: QueryParams,
) -> Result<Json<Vec<ApiToken>>, ApiError> {
    let everyone = params.text("all").as_deref() == Some("true");
    if everyone && actor.role() != Role::Admin {
        return Err(ApiError::Forbidden);
    }
    let owner = if everyone { None } else { Some(actor.user_id().ok_or(ApiError::Forbidden)?) };
    Ok(Json(app.api_tokens(owner).await?))
}

/// Creates a token for the caller with scope `read`, `write` or `admin`. A token acts with
/// the lesser of its scope and its owner's role.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "authentication", request_body = Object,
    responses((status = 201, body = CreatedToken), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(app): State<AppState>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let (name, scope) = parse_token(body)?;
    if actor.scope().is_some_and(|own| scope > own) {
        return Err(ApiError::Forbidden);
    }
    let (token, secret) = app.create_api_token(&actor, &name, scope).await?;
    Ok((StatusCode::CREATED, Json(CreatedToken { token, secret })))
}

/// Revokes a token (one's own; admins any).
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "authentication", params(("id" = i64, Path)),
    responses((status = 200, body = ApiToken), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn revoke(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
) -> Result<Json<ApiToken>, ApiError> {
    Ok(Json(app.revoke_api_token(&actor, id).await?))
}

#[utoipa::path(get, path = "/api/v1/write-keys", tag = "authentication",
    responses((status = 200, body = Vec<WriteKey>), (status = 403, body = Problem)))]
pub async fn list_write_keys(State(app): State<AppState>) -> Result<Json<Vec<WriteKey>>, ApiError> {
    Ok(Json(app.write_keys().await?))
}

/// Replaces a write key's `allowed_origins` (a list of `http(s)://host[:port]`; empty allows any
/// origin). Tracking requests whose `Origin` header is not listed are refused with 403.
#[utoipa::path(patch, path = "/api/v1/write-keys/{id}", tag = "authentication", params(("id" = i64, Path)), request_body = Object,
    responses((status = 200, body = WriteKey), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_write_key(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<Json<WriteKey>, ApiError> {
    let origins = parse_write_key_origins(body)?;
    Ok(Json(app.set_write_key_origins(&actor, id, &origins).await?))
}

/// Creates a write key for Segment- or RudderStack-compatible tracking clients. It can only send
/// events; it reads nothing.
#[utoipa::path(post, path = "/api/v1/write-keys", tag = "authentication", request_body = Object,
    responses((status = 201, body = CreatedWriteKey), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_write_key(
    State(app): State<AppState>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<CreatedWriteKey>), ApiError> {
    let (name, origins) = parse_write_key(body)?;
    let (write_key, secret) = app.create_write_key(&actor, &name, &origins).await?;
    Ok((StatusCode::CREATED, Json(CreatedWriteKey { write_key, secret })))
}

#[utoipa::path(delete, path = "/api/v1/write-keys/{id}", tag = "authentication", params(("id" = i64, Path)),
    responses((status = 200, body = WriteKey), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn revoke_write_key(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
) -> Result<Json<WriteKey>, ApiError> {
    Ok(Json(app.revoke_write_key(&actor, id).await?))
}

/// The tracking debugger: the most recent tracking messages the API refused (the first 100 per
/// write key and hour), each with the field and the reason in both languages. Admins.
#[utoipa::path(get, path = "/api/v1/tracking/refused", tag = "tracking", params(("limit" = Option<i64>, Query)),
    responses((status = 200, body = Vec<store::RefusedMessage>), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn refused_messages(
    State(app): State<AppState>,
    mut params: QueryParams,
) -> Result<Json<Vec<store::RefusedMessage>>, ApiError> {
    let (limit, _) = params.page();
    params.finish()?;
    Ok(Json(app.refused_messages(limit).await?))
}
