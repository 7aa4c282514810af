//! `/api/v1/kpi`: the KPI tree — its definition, the company-phase templates that install one,
//! the numbers people enter (targets, and actuals Kizuna does not compute), and the last twelve
//! months of every node for the accounts the metrics filters choose.

use super::metrics::filter;
use crate::auth::Signed;
use crate::extract::{JsonBody, QueryParams};
use crate::problem::{ApiError, Problem};
use crate::AppState;
use app::kpi::{Installed, KpiBundle, KpiView, Phase, ValueKind};
use axum::extract::State;
use axum::Json;
use domain::kpi::KpiTree;
use domain::metrics::YearMonth;
use domain::{FieldError, Reason};
use serde::Deserialize;

/// The tree's last twelve months, each node with its status against target, what its children
/// contributed to its last change, and its drivers' correlation; 404 before a tree is installed.
#[utoipa::path(get, path = "/api/v1/kpi", tag = "kpi",
    params(("owner" = Option<i64>, Query), ("team" = Option<i64>, Query), ("tier" = Option<String>, Query),
           ("stage" = Option<String>, Query), ("touch_model" = Option<String>, Query),
           ("segment" = Option<i64>, Query, description = "Only accounts in this saved segment now"),
           ("month" = Option<String>, Query, description = "The last month shown, YYYY-MM (default and at most the latest complete month)")),
    responses((status = 200, body = KpiView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn view(State(app): State<AppState>, mut params: QueryParams) -> Result<Json<KpiView>, ApiError> {
    let filter = filter(&mut params);
    let month = params.parsed("month", |raw| raw.parse::<YearMonth>());
    params.finish()?;
    app.kpi_view(&filter, month).await?.map(Json).ok_or(ApiError::NotFound)
}

/// The tree's definition; 404 before one is installed.
#[utoipa::path(get, path = "/api/v1/kpi/tree", tag = "kpi",
    responses((status = 200, body = KpiTree), (status = 404, body = Problem)))]
pub async fn tree(State(app): State<AppState>) -> Result<Json<KpiTree>, ApiError> {
    app.kpi_tree().await?.map(Json).ok_or(ApiError::NotFound)
}

/// Replaces the tree (managers), validated with every problem named by field.
#[utoipa::path(put, path = "/api/v1/kpi/tree", tag = "kpi", request_body = KpiTree,
    responses((status = 200, body = KpiTree), (status = 422, body = Problem)))]
pub async fn replace_tree(
    State(app): State<AppState>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<Json<KpiTree>, ApiError> {
    let tree: KpiTree = serde_json::from_value(body)
        .map_err(|e| ApiError::Fields(vec![FieldError::new("/", Reason::Malformed { detail: e.to_string() })]))?;
    Ok(Json(app.save_kpi_tree(&actor, tree).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstallBody {
    /// `launch`, `cs_launch` or `best_practice`.
    pub phase: String,
    /// Replace the workspace's own saved health configuration with the template's (without it,
    /// the template's is installed only when the workspace never saved one).
    #[serde(default)]
    pub replace_scorecard: bool,
}

/// Installs a company-phase template (managers): its tree in place of the current one, and its
/// segments and playbooks (paused) unless ones with the same names exist.
#[utoipa::path(post, path = "/api/v1/kpi/install", tag = "kpi", request_body = InstallBody,
    responses((status = 200, body = Installed), (status = 422, body = Problem)))]
pub async fn install(
    State(app): State<AppState>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<Json<Installed>, ApiError> {
    let body: InstallBody = serde_json::from_value(body)
        .map_err(|e| ApiError::Fields(vec![FieldError::new("/", Reason::Malformed { detail: e.to_string() })]))?;
    let phase = Phase::parse(&body.phase).map_err(|reason| ApiError::Fields(vec![FieldError::new("phase", reason)]))?;
    Ok(Json(app.install_kpi_template(&actor, phase, body.replace_scorecard).await?))
}

/// The tree with the workspace's segments and its playbooks that name no segment by id: one
/// file to share with another workspace; 404 before a tree is installed.
#[utoipa::path(get, path = "/api/v1/kpi/bundle", tag = "kpi",
    responses((status = 200, body = KpiBundle), (status = 404, body = Problem)))]
pub async fn bundle(State(app): State<AppState>) -> Result<Json<KpiBundle>, ApiError> {
    app.kpi_bundle().await?.map(Json).ok_or(ApiError::NotFound)
}

/// Installs a bundle (managers), checked whole before anything is written. Its health
/// configuration replaces the workspace's own saved one only with `replace_scorecard=true`.
#[utoipa::path(put, path = "/api/v1/kpi/bundle", tag = "kpi", request_body = KpiBundle,
    params(("replace_scorecard" = Option<bool>, Query, description = "Replace the workspace's saved health configuration with the bundle's")),
    responses((status = 200, body = Installed), (status = 422, body = Problem)))]
pub async fn import_bundle(
    State(app): State<AppState>,
    Signed(actor): Signed,
    mut params: QueryParams,
    JsonBody(body): JsonBody,
) -> Result<Json<Installed>, ApiError> {
    let replace_scorecard = params.flag("replace_scorecard");
    params.finish()?;
    let bundle: KpiBundle = serde_json::from_value(body)
        .map_err(|e| ApiError::Fields(vec![FieldError::new("/", Reason::Malformed { detail: e.to_string() })]))?;
    Ok(Json(app.import_kpi_bundle(&actor, bundle, replace_scorecard).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValueBody {
    pub node: String,
    /// `YYYY-MM`.
    #[schema(value_type = String, example = "2026-12")]
    pub month: String,
    /// `null` clears it.
    pub value: Option<f64>,
}

fn value_body(body: serde_json::Value) -> Result<(String, YearMonth, Option<f64>), ApiError> {
    let body: ValueBody = serde_json::from_value(body)
        .map_err(|e| ApiError::Fields(vec![FieldError::new("/", Reason::Malformed { detail: e.to_string() })]))?;
    let month = body.month.parse().map_err(|reason| ApiError::Fields(vec![FieldError::new("month", reason)]))?;
    Ok((body.node, month, body.value))
}

/// Sets a node's target for a month (managers).
#[utoipa::path(put, path = "/api/v1/kpi/targets", tag = "kpi", request_body = ValueBody,
    responses((status = 204), (status = 422, body = Problem)))]
pub async fn set_target(
    State(app): State<AppState>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<axum::http::StatusCode, ApiError> {
    let (node, month, value) = value_body(body)?;
    app.set_kpi_value(&actor, &node, month, ValueKind::Target, value).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Enters a month's number of a node Kizuna does not compute.
#[utoipa::path(put, path = "/api/v1/kpi/actuals", tag = "kpi", request_body = ValueBody,
    responses((status = 204), (status = 422, body = Problem)))]
pub async fn set_actual(
    State(app): State<AppState>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<axum::http::StatusCode, ApiError> {
    let (node, month, value) = value_body(body)?;
    app.set_kpi_value(&actor, &node, month, ValueKind::Actual, value).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
