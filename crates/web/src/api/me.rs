//! `/api/v1/session` and `/api/v1/me`: signing in and out over the API, the current user,
//! changing one's password.

use crate::auth::{cleared_session_cookie, cookie, new_session_cookie, CsrfToken, Signed, SESSION_COOKIE};
use crate::body::Fields;
use crate::extract::{ClientAddress, JsonBody};
use crate::problem::{ApiError, Problem};
use crate::{AppState, WebOptions};
use app::{Actor, LoginError, NewSession};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use domain::fields::FieldReader;
use domain::staff::StaffUser;
use domain::Reason;
use serde::Serialize;

#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionInfo {
    pub user: StaffUser,
    /// Send as `X-CSRF-Token` with every cookie-authenticated change.
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    pub user: Option<StaffUser>,
    /// Present when signed in with a session cookie.
    pub csrf_token: Option<String>,
}

/// A session response: the cookie and the CSRF token.
pub fn session_response(session: NewSession, options: &WebOptions, status: StatusCode) -> Response {
    let cookie = new_session_cookie(&session, options);
    let body = SessionInfo { user: session.user, csrf_token: session.csrf_token, expires_at: session.expires_at };
    (status, [(header::SET_COOKIE, cookie)], Json(body)).into_response()
}

pub fn login_error(error: LoginError) -> ApiError {
    match error {
        LoginError::InvalidCredentials => ApiError::InvalidCredentials,
        LoginError::LockedOut { minutes } => ApiError::TooManyAttempts { minutes },
        LoginError::App(error) => error.into(),
    }
}

/// Signs in with email and password; sets the session cookie.
#[utoipa::path(post, path = "/api/v1/session", tag = "authentication", request_body = Object,
    responses((status = 200, body = SessionInfo), (status = 401, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn sign_in(
    State(app): State<AppState>,
    Extension(options): Extension<WebOptions>,
    ClientAddress(client): ClientAddress,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let mut f = Fields::new(body, &["email", "password"])?;
    let email = f.required("email", |raw| Ok(raw.to_owned()));
    let password = f.required("password", |raw| Ok(raw.to_owned()));
    let (email, password) = f.errors.finish(|| Some((email?, password?)))?;
    let session = app.login(&email, &password, client).await.map_err(login_error)?;
    Ok(session_response(session, &options, StatusCode::OK))
}

/// Ends the current session.
#[utoipa::path(delete, path = "/api/v1/session", tag = "authentication", responses((status = 204), (status = 401, body = Problem)))]
pub async fn sign_out(
    State(app): State<AppState>,
    headers: HeaderMap,
    Signed(_): Signed,
) -> Result<Response, ApiError> {
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        app.logout(&token).await?;
    }
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cleared_session_cookie())]).into_response())
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/me", tag = "authentication", responses((status = 200, body = Me), (status = 401, body = Problem)))]
pub async fn read(Signed(actor): Signed, CsrfToken(csrf): CsrfToken) -> Json<Me> {
    let user = match actor {
        Actor::Staff { user, .. } => Some(user),
        Actor::System(_) => None,
    };
    Json(Me { user, csrf_token: (!csrf.is_empty()).then_some(csrf) })
}

/// Changes the signed-in user's password (a browser session only, not an API token); every
/// session of theirs ends and a new one starts, and their API tokens are revoked unless
/// `revoke_tokens` is false. Five wrong current passwords lock changes for 15 minutes.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "authentication", request_body = Object,
    responses((status = 200, body = SessionInfo), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn change_password(
    State(app): State<AppState>,
    Extension(options): Extension<WebOptions>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let mut f = Fields::new(body, &["current_password", "new_password", "revoke_tokens"])?;
    let current = f.required("current_password", |raw| Ok(raw.to_owned()));
    let new = f.required("new_password", |raw| {
        app::auth::check_password_strength(raw)?;
        Ok::<_, Reason>(raw.to_owned())
    });
    let revoke_tokens = f.boolean("revoke_tokens", true);
    let (current, new, revoke_tokens) = f.errors.finish(|| Some((current?, new?, revoke_tokens?)))?;
    let session = app.change_password(&actor, &current, &new, revoke_tokens).await.map_err(login_error)?;
    Ok(session_response(session, &options, StatusCode::OK))
}
