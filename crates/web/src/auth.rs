//! Every request passes here: who is asking (session cookie or bearer token), may they use this
//! route (the route's `Access` from the table in `routes.rs`), and, for cookie-authenticated
//! changes, does the request carry the session's CSRF token.

use crate::problem::ApiError;
use crate::AppState;
use app::Actor;
use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use domain::access::{permits, Access};

pub const SESSION_COOKIE: &str = "kizuna_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
pub const CSRF_FIELD: &str = "csrf_token";
const MAX_FORM_BYTES: usize = 1024 * 1024;

/// Whether a route answers machines (problem+json) or people (HTML, redirects to sign-in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    Api,
    Page,
}

#[derive(Clone)]
pub struct Guard {
    pub app: AppState,
    pub access: Access,
    pub surface: Surface,
}

/// The signed-in actor, put in the request by the guard. Handlers take it as an argument.
#[derive(Clone)]
pub struct Signed(pub Actor);

/// The session's CSRF token, for pages that render forms.
#[derive(Clone)]
pub struct CsrfToken(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Signed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Signed>().cloned().ok_or(ApiError::Unauthenticated)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CsrfToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<CsrfToken>().cloned().unwrap_or(CsrfToken(String::new())))
    }
}

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned())
}

fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Compares in constant time, so the CSRF check does not leak the token.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn unauthenticated(surface: Surface, request: &Request) -> Response {
    match surface {
        Surface::Api => ApiError::Unauthenticated.into_response(),
        Surface::Page => {
            let target = request.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
            let next = serde_urlencoded::to_string([("next", target)]).unwrap_or_default();
            Redirect::to(&format!("/login?{next}")).into_response()
        }
    }
}

/// The middleware each non-public route runs.
pub async fn guard(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    if matches!(guard.access, Access::Public | Access::Tracking) {
        return next.run(request).await;
    }
    let headers = request.headers();
    let resolved = if let Some(token) = bearer(headers) {
        guard.app.token_actor(&token).await.map(|actor| actor.map(|a| (a, None)))
    } else if let Some(session) = cookie(headers, SESSION_COOKIE) {
        guard.app.session_actor(&session).await.map(|found| found.map(|(a, csrf)| (a, Some(csrf))))
    } else {
        Ok(None)
    };
    let (actor, csrf) = match resolved {
        Ok(Some(found)) => found,
        Ok(None) => return unauthenticated(guard.surface, &request),
        Err(error) => return ApiError::from(error).into_response(),
    };
    if !permits(actor.role(), actor.scope(), guard.access) {
        return ApiError::Forbidden.into_response();
    }
    let mut request = request;
    if let Some(expected) = &csrf {
        if changes_state(request.method()) {
            match csrf_matches(request, expected).await {
                Ok(checked) => request = checked,
                Err(response) => return *response,
            }
        }
        request.extensions_mut().insert(CsrfToken(expected.clone()));
    }
    request.extensions_mut().insert(Signed(actor));
    next.run(request).await
}

/// Accepts the token from the `X-CSRF-Token` header, or from the `csrf_token` field of a form,
/// urlencoded or multipart (the body is read and handed on unchanged).
async fn csrf_matches(request: Request, expected: &str) -> Result<Request, Box<Response>> {
    if let Some(sent) = request.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        return if same_secret(sent, expected) {
            Ok(request)
        } else {
            Err(Box::new(ApiError::CsrfRejected.into_response()))
        };
    }
    let content_type =
        request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let boundary = multer::parse_boundary(&content_type).ok();
    if !content_type.starts_with("application/x-www-form-urlencoded") && boundary.is_none() {
        return Err(Box::new(ApiError::CsrfRejected.into_response()));
    }
    let limit = if boundary.is_some() { crate::MAX_BODY_BYTES } else { MAX_FORM_BYTES };
    let (parts, body) = request.into_parts();
    let bytes =
        axum::body::to_bytes(body, limit).await.map_err(|_| Box::new(ApiError::PayloadTooLarge.into_response()))?;
    let sent = match boundary {
        Some(boundary) => multipart_csrf(bytes.clone(), boundary).await,
        None => {
            let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
            fields.into_iter().find(|(k, _)| k == CSRF_FIELD).map(|(_, v)| v).unwrap_or_default()
        }
    };
    if same_secret(&sent, expected) {
        Ok(Request::from_parts(parts, Body::from(bytes)))
    } else {
        Err(Box::new(ApiError::CsrfRejected.into_response()))
    }
}

/// The `csrf_token` field of a multipart form (a file upload), empty when it has none.
async fn multipart_csrf(bytes: axum::body::Bytes, boundary: String) -> String {
    let body = futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(bytes) });
    let mut form = multer::Multipart::new(body, boundary);
    while let Ok(Some(field)) = form.next_field().await {
        if field.name() == Some(CSRF_FIELD) {
            return field.text().await.unwrap_or_default();
        }
    }
    String::new()
}

/// The `Set-Cookie` value that carries a new session to the browser.
pub fn new_session_cookie(session: &app::NewSession, options: &crate::WebOptions) -> HeaderValue {
    let max_age = (session.expires_at - chrono::Utc::now()).num_seconds().max(0);
    session_cookie(&session.token, max_age, options.secure_cookies)
}

/// The `Set-Cookie` value of a session.
pub fn session_cookie(token: &str, max_age_seconds: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_seconds}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("kizuna_session=; Path=/; Max-Age=0"))
}

pub fn cleared_session_cookie() -> HeaderValue {
    HeaderValue::from_static("kizuna_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}

/// Security headers on every response.
pub async fn security_headers(State(hsts): State<bool>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    );
    headers.insert("permissions-policy", HeaderValue::from_static("camera=(), microphone=(), geolocation=()"));
    if hsts {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    }
    // Pages and API answers may carry secrets (new tokens, setup links) or customer data: no
    // cache keeps them. Only the embedded assets, which say otherwise, are cached.
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_cookie_is_http_only_lax_and_secure_when_asked() {
        let plain = session_cookie("abc", 60, false);
        assert_eq!(plain, "kizuna_session=abc; Path=/; HttpOnly; SameSite=Lax; Max-Age=60");
        assert!(session_cookie("abc", 60, true).to_str().unwrap().ends_with("; Secure"));
    }

    #[test]
    fn cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; kizuna_session=xyz; b=2"));
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("xyz"));
    }
}
