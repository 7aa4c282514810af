//! The HTTP layer: REST API (`api/`), HTML pages (`pages/`), OpenAPI, problem+json errors.
//! Handlers only translate HTTP to use cases in the `app` crate and back.

pub mod api;
mod body;
mod extract;
pub mod openapi;
mod pages;
pub mod problem;

use app::App;
use axum::extract::{DefaultBodyLimit, State};
use axum::routing::get;
use axum::{Json, Router};
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;

pub type AppState = Arc<App>;

/// Request bodies above this size are refused with 413 (CSV uploads are the largest).
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

pub fn router(app: AppState) -> Router {
    Router::new()
        .route("/", get(pages::accounts::page))
        .route("/healthz", get(healthz))
        .route("/api/openapi.json", get(openapi::serve))
        .nest("/api/v1", api::routes())
        .fallback(|| async { problem::ApiError::NotFound })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(problem::localize))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(app)
}

/// Serves until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    app: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(app))
        .with_graceful_shutdown(shutdown)
        .await
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Health {
    pub status: &'static str,
}

/// Liveness and database reachability, for `kizuna healthcheck` and load balancers.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health), (status = 500, body = problem::Problem)))]
async fn healthz(State(app): State<AppState>) -> Result<Json<Health>, problem::ApiError> {
    app.store().load_settings().await?;
    Ok(Json(Health { status: "ok" }))
}
