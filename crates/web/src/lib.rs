//! The HTTP layer: REST API (`api/`), HTML pages (`pages/`), OpenAPI, problem+json errors.
//! Handlers only translate HTTP to use cases in the `app` crate and back.

pub mod api;
pub mod auth;
mod body;
mod extract;
pub mod openapi;
mod pages;
pub mod problem;
pub mod routes;

use app::App;
use axum::extract::{DefaultBodyLimit, State};
use axum::{Json, Router};
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;

pub type AppState = Arc<App>;

/// Request bodies above this size are refused with 413 (CSV uploads are the largest).
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// How the server is reached; decides cookie and transport security headers.
#[derive(Debug, Clone, Default)]
pub struct WebOptions {
    /// Mark the session cookie `Secure` and send HSTS: set when users reach Kizuna over HTTPS
    /// (directly or through a TLS-terminating proxy).
    pub secure_cookies: bool,
    /// Reverse proxies whose `X-Forwarded-For` names the client (for the per-address sign-in
    /// lock). Empty: the peer address is the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

pub fn router(app: AppState, options: WebOptions) -> Router {
    let (routes, _) = routes::build(app.clone());
    routes
        .fallback(|| async { problem::ApiError::NotFound })
        .layer(axum::Extension(options.clone()))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(app.clone(), problem::localize))
        .layer(axum::middleware::from_fn_with_state(options.secure_cookies, auth::security_headers))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(app)
}

/// Serves until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    app: AppState,
    options: WebOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    app.start_health_worker();
    app.start_playbook_worker();
    app.start_notification_worker();
    let service = router(app, options).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service).with_graceful_shutdown(shutdown).await
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Health {
    pub status: &'static str,
}

/// Liveness and database reachability, for `kizuna healthcheck` and load balancers.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health), (status = 500, body = problem::Problem)))]
async fn healthz(State(app): State<AppState>) -> Result<Json<Health>, problem::ApiError> {
    app.database_reachable().await?;
    Ok(Json(Health { status: "ok" }))
}
