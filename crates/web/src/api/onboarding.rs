//! `/api/v1/onboarding`: onboarding templates (the shape of `examples/onboarding.toml`, as JSON),
//! plans with their status, starting a plan by hand, completing a milestone by hand, and time
//! to onboard by cohort, team or segment.

use crate::auth::Signed;
use crate::extract::Path;
use crate::extract::{JsonBody, QueryParams};
use crate::problem::{ApiError, Problem};
use crate::AppState;
use app::onboarding::{PlanFilter, PlanView, StatsBy, TemplateView};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use domain::onboarding::{OnboardStats, OnboardingTemplate, PlanStatus};
use domain::{AccountId, FieldError, Reason, TeamId};

fn definition(body: serde_json::Value) -> Result<OnboardingTemplate, ApiError> {
    serde_json::from_value(body)
        .map_err(|e| ApiError::Fields(vec![FieldError::new("/", Reason::Malformed { detail: e.to_string() })]))
}

#[utoipa::path(get, path = "/api/v1/onboarding/templates", tag = "onboarding", responses((status = 200, body = Vec<TemplateView>)))]
pub async fn list_templates(State(app): State<AppState>) -> Result<Json<Vec<TemplateView>>, ApiError> {
    Ok(Json(app.onboarding_templates().await?))
}

/// Creates a template (see `examples/onboarding.toml`, as JSON). Every bad field is named, e.g.
/// `milestone[1].rule`.
#[utoipa::path(post, path = "/api/v1/onboarding/templates", tag = "onboarding", request_body = OnboardingTemplate,
    responses((status = 201, body = TemplateView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_template(
    State(app): State<AppState>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<TemplateView>), ApiError> {
    Ok((StatusCode::CREATED, Json(app.save_onboarding_template(&actor, None, definition(body)?).await?)))
}

#[utoipa::path(get, path = "/api/v1/onboarding/templates/{id}", tag = "onboarding", params(("id" = i64, Path)),
    responses((status = 200, body = TemplateView), (status = 404, body = Problem)))]
pub async fn read_template(State(app): State<AppState>, Path(id): Path<i64>) -> Result<Json<TemplateView>, ApiError> {
    Ok(Json(app.onboarding_template(id).await?))
}

#[utoipa::path(put, path = "/api/v1/onboarding/templates/{id}", tag = "onboarding", params(("id" = i64, Path)), request_body = OnboardingTemplate,
    responses((status = 200, body = TemplateView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn replace_template(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<Json<TemplateView>, ApiError> {
    Ok(Json(app.save_onboarding_template(&actor, Some(id), definition(body)?).await?))
}

/// Deletes a template and its plans.
#[utoipa::path(delete, path = "/api/v1/onboarding/templates/{id}", tag = "onboarding", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_template(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
) -> Result<StatusCode, ApiError> {
    app.delete_onboarding_template(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Reads `status` and `team` for the plan lists (API and board).
pub fn plan_filter(params: &mut QueryParams) -> PlanFilter {
    PlanFilter { status: params.parsed("status", PlanStatus::parse), team: params.id("team").map(TeamId) }
}

/// Plans with their status as of today (on_track, behind, stuck, done), newest start first.
#[utoipa::path(get, path = "/api/v1/onboarding/plans", tag = "onboarding",
    params(("status" = Option<String>, Query, description = "on_track, behind, stuck or done"),
        ("team" = Option<i64>, Query, description = "Plans of accounts whose owning team is this")),
    responses((status = 200, body = Vec<PlanView>), (status = 422, body = Problem)))]
pub async fn plans(State(app): State<AppState>, mut params: QueryParams) -> Result<Json<Vec<PlanView>>, ApiError> {
    let filter = plan_filter(&mut params);
    params.finish()?;
    Ok(Json(app.onboarding_plans(&filter).await?))
}

/// Starts a plan today by hand from a template (the default one unless `template_id` is given);
/// milestones whose rule already holds complete at once. 409 when the account has an open plan.
#[utoipa::path(post, path = "/api/v1/accounts/{id}/onboarding", tag = "onboarding",
    params(("id" = i64, Path), ("template_id" = Option<i64>, Query)),
    responses((status = 201, body = PlanView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn start(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
    mut params: QueryParams,
) -> Result<(StatusCode, Json<PlanView>), ApiError> {
    let template = params.id("template_id");
    params.finish()?;
    Ok((StatusCode::CREATED, Json(app.start_onboarding(&actor, AccountId(id), template).await?)))
}

/// Completes a milestone by hand; the plan completes when it was the last one.
#[utoipa::path(post, path = "/api/v1/onboarding/plans/{id}/milestones/{key}/complete", tag = "onboarding",
    params(("id" = i64, Path), ("key" = String, Path)),
    responses((status = 200, body = PlanView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn complete(
    State(app): State<AppState>,
    Path((id, key)): Path<(i64, String)>,
    Signed(actor): Signed,
) -> Result<Json<PlanView>, ApiError> {
    Ok(Json(app.complete_milestone(&actor, id, &key).await?))
}

/// Days from start to completion of completed plans: median, 80th percentile and count per
/// group; `by` = cohort (first paying month), team (owning team) or segment (saved segments).
#[utoipa::path(get, path = "/api/v1/onboarding/stats", tag = "onboarding",
    params(("by" = Option<String>, Query, description = "cohort (default), team or segment")),
    responses((status = 200, body = Vec<OnboardStats>), (status = 422, body = Problem)))]
pub async fn stats(State(app): State<AppState>, mut params: QueryParams) -> Result<Json<Vec<OnboardStats>>, ApiError> {
    let by = params.parsed("by", StatsBy::parse).unwrap_or(StatsBy::Cohort);
    params.finish()?;
    Ok(Json(app.onboarding_stats(by).await?))
}
