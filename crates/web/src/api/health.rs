//! `/api/v1/…/health`: an account's score with its explanation, the grade distribution, the
//! health configuration (scorecards and grades) and the backtest.

use crate::auth::Signed;
use crate::extract::Path;
use crate::extract::{JsonBody, QueryParams};
use crate::problem::{ApiError, Problem};
use crate::AppState;
use app::health::GradeCount;
use app::health_history::{GradeDrop, HealthHistory};
use axum::extract::State;
use axum::Json;
use chrono::NaiveDate;
use domain::health::backtest::BacktestReport;
use domain::health::pulse::PulseInput;
use domain::health::{HealthConfig, HealthScore};
use domain::interchange::parse_date;
use domain::metrics::Interval;
use domain::{AccountId, FieldError, Reason};
use serde::Serialize;
use store::Pulse;

/// The account's score as of `as_of` (default today): each measure's value, points, weight and
/// explanation, and the drivers that cost the most points, in Japanese and English.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/health", tag = "health", params(("id" = i64, Path), ("as_of" = Option<String>, Query)),
    responses((status = 200, body = HealthScore), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn account(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    mut params: QueryParams,
) -> Result<Json<HealthScore>, ApiError> {
    let as_of = params.parsed("as_of", parse_date);
    params.finish()?;
    Ok(Json(app.account_health(AccountId(id), as_of).await?))
}

/// Paying accounts and their ARR per grade, today.
#[utoipa::path(get, path = "/api/v1/health/grades", tag = "health", responses((status = 200, body = Vec<GradeCount>)))]
pub async fn grades(State(app): State<AppState>) -> Result<Json<Vec<GradeCount>>, ApiError> {
    Ok(Json(app.grade_distribution().await?))
}

#[utoipa::path(get, path = "/api/v1/health/config", tag = "health", responses((status = 200, body = HealthConfig)))]
pub async fn config(State(app): State<AppState>) -> Result<Json<HealthConfig>, ApiError> {
    Ok(Json(app.health_config().await?))
}

/// Replaces the grades and scorecards (the shape of `examples/health.toml`, as JSON).
#[utoipa::path(put, path = "/api/v1/health/config", tag = "health", request_body = HealthConfig,
    responses((status = 200, body = HealthConfig), (status = 422, body = Problem)))]
pub async fn replace_config(
    State(app): State<AppState>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<Json<HealthConfig>, ApiError> {
    let config: HealthConfig = serde_json::from_value(body)
        .map_err(|e| ApiError::Fields(vec![FieldError::new("/", Reason::Malformed { detail: e.to_string() })]))?;
    Ok(Json(app.set_health_config(&actor, config).await?))
}

/// The body of `PUT /api/v1/health/config/weights`.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WeightsBody {
    /// Measure key → its new weight (e.g. the backtest's `suggested.weights`).
    pub weights: std::collections::BTreeMap<String, f64>,
}

/// Sets the weights of the named measures in every scorecard (one action for the backtest's
/// suggested weights) and returns the configuration saved.
#[utoipa::path(put, path = "/api/v1/health/config/weights", tag = "health", request_body = WeightsBody,
    responses((status = 200, body = HealthConfig), (status = 422, body = Problem)))]
pub async fn replace_weights(
    State(app): State<AppState>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<Json<HealthConfig>, ApiError> {
    let body: WeightsBody = serde_json::from_value(body)
        .map_err(|e| ApiError::Fields(vec![FieldError::new("/", Reason::Malformed { detail: e.to_string() })]))?;
    let config = app.apply_weights(&actor, &body.weights).await?;
    app.recompute_health(None).await?;
    Ok(Json(config))
}

/// Scores every paying account as of the first of each month from `from` to `to` with only the
/// data of that day and compares with churn within `horizon_days` (default 90).
#[utoipa::path(get, path = "/api/v1/health/backtest", tag = "health",
    params(("from" = String, Query), ("to" = String, Query), ("horizon_days" = Option<u64>, Query)),
    responses((status = 200, body = BacktestReport), (status = 422, body = Problem)))]
pub async fn backtest(State(app): State<AppState>, mut params: QueryParams) -> Result<Json<BacktestReport>, ApiError> {
    let (from, to, horizon) = backtest_params(&mut params);
    for (field, value) in [("from", from), ("to", to)] {
        if value.is_none() && !params.errors.iter().any(|e| e.field == field) {
            params.errors.push(FieldError::new(field, Reason::Required));
        }
    }
    params.finish()?;
    let (Some(from), Some(to)) = (from, to) else { return Err(ApiError::Fields(Vec::new())) };
    Ok(Json(app.health_backtest(from, to, horizon).await?))
}

/// The backtest scores every account once a month: ten years of months at most.
const MAX_BACKTEST_MONTHS: u64 = 120;

/// The backtest's `from` and `to` as given, and `horizon_days` (default 90).
pub(crate) fn backtest_params(params: &mut QueryParams) -> (Option<NaiveDate>, Option<NaiveDate>, u64) {
    let from = params.parsed("from", parse_date);
    let to = params.parsed("to", parse_date);
    let horizon = params
        .parsed("horizon_days", |raw| match raw.parse::<u64>() {
            Ok(days) if (1..=3660).contains(&days) => Ok(days),
            Ok(_) => Err(Reason::OutOfRange { min: "1".into(), max: "3660".into() }),
            Err(_) => Err(Reason::InvalidInteger),
        })
        .unwrap_or(app::health::DEFAULT_BACKTEST_HORIZON);
    if let (Some(from), Some(to)) = (from, to) {
        if Interval::Month.periods_between(from, to) > MAX_BACKTEST_MONTHS {
            params.errors.push(FieldError::new("from", Reason::TooManyPeriods { max: MAX_BACKTEST_MONTHS }));
        }
    }
    (from, to, horizon)
}

fn days(params: &mut QueryParams, name: &str, default: u64) -> u64 {
    params
        .parsed(name, |raw| {
            let n: u64 = raw.parse().map_err(|_| Reason::InvalidInteger)?;
            if (1..=3660).contains(&n) {
                Ok(n)
            } else {
                Err(Reason::OutOfRange { min: "1".into(), max: "3660".into() })
            }
        })
        .unwrap_or(default)
}

/// Daily snapshots (score, grade, points per measure) over the last `days` (default 90), and
/// the score's change over 7, 30 and 90 days.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/health/history", tag = "health", params(("id" = i64, Path), ("days" = Option<u64>, Query)),
    responses((status = 200, body = HealthHistory), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn history(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    mut params: QueryParams,
) -> Result<Json<HealthHistory>, ApiError> {
    let days = days(&mut params, "days", 90);
    params.finish()?;
    Ok(Json(app.health_history(AccountId(id), days).await?))
}

/// Accounts whose grade got worse in the last `days` (default 7), lowest score first.
#[utoipa::path(get, path = "/api/v1/health/drops", tag = "health", params(("days" = Option<u64>, Query)),
    responses((status = 200, body = Vec<GradeDrop>), (status = 422, body = Problem)))]
pub async fn drops(State(app): State<AppState>, mut params: QueryParams) -> Result<Json<Vec<GradeDrop>>, ApiError> {
    let days = days(&mut params, "days", 7);
    params.finish()?;
    Ok(Json(app.grade_drops(days, None).await?))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PulseResult {
    pub pulse: Pulse,
    /// The account's score with the new pulse.
    pub health: HealthScore,
}

/// Records the CSM's judgement: `{"score": 1–5, "reasons": ["champion_left", …], "comment": "…"}`.
/// Reason codes: champion_left, low_engagement, budget_pressure, product_gap, support_issues,
/// competitor, strong_relationship, expansion_interest, other.
#[utoipa::path(post, path = "/api/v1/accounts/{id}/pulse", tag = "health", params(("id" = i64, Path)), request_body = Object,
    responses((status = 201, body = PulseResult), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn set_pulse(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<(axum::http::StatusCode, Json<PulseResult>), ApiError> {
    let input = PulseInput::parse(body)?;
    let (pulse, health) = app.set_pulse(&actor, AccountId(id), input).await?;
    Ok((axum::http::StatusCode::CREATED, Json(PulseResult { pulse, health })))
}

#[utoipa::path(get, path = "/api/v1/accounts/{id}/pulses", tag = "health", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Pulse>), (status = 404, body = Problem)))]
pub async fn pulses(State(app): State<AppState>, Path(id): Path<i64>) -> Result<Json<Vec<Pulse>>, ApiError> {
    Ok(Json(app.pulses(AccountId(id)).await?))
}

/// Recomputes every account's score now and stores today's snapshots.
#[utoipa::path(post, path = "/api/v1/health/recompute", tag = "health", responses((status = 200, body = Object)))]
pub async fn recompute(
    State(app): State<AppState>,
    Signed(_actor): Signed,
) -> Result<Json<serde_json::Value>, ApiError> {
    let summary = app.recompute_health(None).await?;
    Ok(Json(serde_json::json!({"accounts": summary.accounts, "grade_changes": summary.grade_changes})))
}
