//! `/api/v1/metrics/…`: MRR and ARR, movements, churn, NRR/GRR, cohorts, LTV and CAC, as
//! defined in metrics.md, for all accounts or a filtered set.

use crate::auth::Signed;
use crate::body::Fields;
use crate::extract::Path;
use crate::extract::{JsonBody, QueryParams};
use crate::problem::{ApiError, Problem};
use crate::AppState;
use app::metrics::{parse_interval, parse_month, AccountMrrHistory, MetricsFilter, TracedMovement};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::NaiveDate;
use domain::account::TouchModel;
use domain::fields::FieldReader;
use domain::metrics::{AcquisitionReport, Cohort, Interval, PeriodReport, YearMonth, MAX_PERIODS};
use domain::{AccountId, Money, Reason, TeamId, UserId};
use serde::Serialize;
use store::AccountQuery;

/// The filters every metric takes, read from the query string (the API and the metrics page).
pub(crate) fn filter(params: &mut QueryParams) -> MetricsFilter {
    let custom = params.custom_field();
    MetricsFilter {
        accounts: AccountQuery {
            owner: params.id("owner").map(UserId),
            team: params.id("team").map(TeamId),
            stage: params.text("stage").map(|s| domain::account::stage_key(&s)),
            tier: params.text("tier").map(|t| domain::account::tier_key(&t)),
            touch_model: params.parsed("touch_model", TouchModel::parse),
            custom,
            ..AccountQuery::default()
        },
        product: params.text("product").map(|p| p.to_lowercase()),
        by_product: params.text("by_product").as_deref() == Some("true"),
        segment: params.id("segment"),
    }
}

fn date(params: &mut QueryParams, name: &str, default: NaiveDate) -> NaiveDate {
    params.parsed(name, domain::interchange::parse_date).unwrap_or(default)
}

/// `from` (default: a year before `to`), `to` (default: today), and `interval` (default month).
fn range(app: &AppState, params: &mut QueryParams) -> (Interval, NaiveDate, NaiveDate) {
    range_or(app, params, app.today(), app::metrics::year_ending)
}

/// `from`, `to` and `interval` (default month), with the caller's defaults for the dates.
pub(crate) fn range_or(
    app: &AppState,
    params: &mut QueryParams,
    default_to: NaiveDate,
    default_from: impl FnOnce(NaiveDate) -> NaiveDate,
) -> (Interval, NaiveDate, NaiveDate) {
    let fiscal_start = app.settings().fiscal_year_start_month;
    let interval = params.parsed("interval", |raw| parse_interval(raw, fiscal_start)).unwrap_or(Interval::Month);
    let to = date(params, "to", default_to);
    let from = date(params, "from", default_from(to));
    if from > to {
        params
            .errors
            .push(domain::FieldError::new("from", Reason::Malformed { detail: "must not be after to".into() }));
    } else if interval.periods_between(from, to) > MAX_PERIODS {
        params.errors.push(domain::FieldError::new("from", Reason::TooManyPeriods { max: MAX_PERIODS }));
    }
    (interval, from, to)
}

/// Cohorts make a table of months × months: twenty years at most.
const MAX_COHORT_MONTHS: i64 = 240;

const FILTER_DOC: &str = "Filters: owner, team, stage, tier, touch_model, custom=key:value, product, by_product=true";

/// MRR, ARR, movements, customers, churn rates, NRR, GRR, quick ratio and ARPA per period.
#[utoipa::path(get, path = "/api/v1/metrics/report", tag = "metrics", description = FILTER_DOC,
    params(("from" = Option<String>, Query), ("to" = Option<String>, Query), ("interval" = Option<String>, Query, description = "day, week, month, quarter, fiscal_year"),
        ("owner" = Option<i64>, Query), ("team" = Option<i64>, Query), ("stage" = Option<String>, Query), ("tier" = Option<String>, Query),
        ("touch_model" = Option<String>, Query), ("custom" = Option<String>, Query), ("product" = Option<String>, Query), ("by_product" = Option<bool>, Query)),
    responses((status = 200, body = Vec<PeriodReport>), (status = 422, body = Problem)))]
pub async fn report(State(app): State<AppState>, mut params: QueryParams) -> Result<Json<Vec<PeriodReport>>, ApiError> {
    let (interval, from, to) = range(&app, &mut params);
    let filter = filter(&mut params);
    params.finish()?;
    Ok(Json(app.metrics_report(&filter, interval, from, to).await?))
}

/// Trailing-12-month report (NRR, GRR, churn) ending on `date` (default today).
#[utoipa::path(get, path = "/api/v1/metrics/retention", tag = "metrics", description = FILTER_DOC,
    params(("date" = Option<String>, Query), ("owner" = Option<i64>, Query), ("team" = Option<i64>, Query), ("stage" = Option<String>, Query),
        ("tier" = Option<String>, Query), ("touch_model" = Option<String>, Query), ("custom" = Option<String>, Query), ("product" = Option<String>, Query)),
    responses((status = 200, body = Option<PeriodReport>), (status = 422, body = Problem)))]
pub async fn retention(
    State(app): State<AppState>,
    mut params: QueryParams,
) -> Result<Json<Option<PeriodReport>>, ApiError> {
    let day = date(&mut params, "date", app.today());
    let filter = filter(&mut params);
    params.finish()?;
    Ok(Json(app.metrics_trailing_year(&filter, day).await?))
}

/// Every MRR movement in the range, each with the subscription periods that caused it.
#[utoipa::path(get, path = "/api/v1/metrics/movements", tag = "metrics", description = FILTER_DOC,
    params(("from" = Option<String>, Query), ("to" = Option<String>, Query), ("owner" = Option<i64>, Query), ("team" = Option<i64>, Query),
        ("stage" = Option<String>, Query), ("tier" = Option<String>, Query), ("touch_model" = Option<String>, Query), ("custom" = Option<String>, Query),
        ("product" = Option<String>, Query), ("by_product" = Option<bool>, Query)),
    responses((status = 200, body = Vec<TracedMovement>), (status = 422, body = Problem)))]
pub async fn movements(
    State(app): State<AppState>,
    mut params: QueryParams,
) -> Result<Json<Vec<TracedMovement>>, ApiError> {
    let (_, from, to) = range(&app, &mut params);
    let filter = filter(&mut params);
    params.finish()?;
    Ok(Json(app.metrics_movements(&filter, from, to).await?))
}

/// Logo and revenue retention of the cohorts (first paying month) from `from` to `to` (YYYY-MM).
#[utoipa::path(get, path = "/api/v1/metrics/cohorts", tag = "metrics", description = FILTER_DOC,
    params(("from" = Option<String>, Query, description = "YYYY-MM"), ("to" = Option<String>, Query, description = "YYYY-MM"),
        ("owner" = Option<i64>, Query), ("team" = Option<i64>, Query), ("stage" = Option<String>, Query), ("tier" = Option<String>, Query),
        ("touch_model" = Option<String>, Query), ("custom" = Option<String>, Query), ("product" = Option<String>, Query)),
    responses((status = 200, body = Vec<Cohort>), (status = 422, body = Problem)))]
pub async fn cohort_table(State(app): State<AppState>, mut params: QueryParams) -> Result<Json<Vec<Cohort>>, ApiError> {
    let this_month = YearMonth::of(app.today());
    let to = params.parsed("to", parse_month).unwrap_or(this_month);
    let from = params.parsed("from", parse_month).unwrap_or_else(|| to.plus_months(-11).unwrap_or(to));
    if from.months_until(to) >= MAX_COHORT_MONTHS {
        params.errors.push(domain::FieldError::new("from", Reason::TooManyPeriods { max: MAX_COHORT_MONTHS as u64 }));
    }
    let filter = filter(&mut params);
    params.finish()?;
    Ok(Json(app.metrics_cohorts(&filter, from, to).await?))
}

/// LTV, CAC, CAC payback and LTV/CAC per period (spend from `/api/v1/metrics/spend`).
#[utoipa::path(get, path = "/api/v1/metrics/unit-economics", tag = "metrics", description = FILTER_DOC,
    params(("from" = Option<String>, Query), ("to" = Option<String>, Query), ("interval" = Option<String>, Query),
        ("owner" = Option<i64>, Query), ("team" = Option<i64>, Query), ("stage" = Option<String>, Query), ("tier" = Option<String>, Query),
        ("touch_model" = Option<String>, Query), ("custom" = Option<String>, Query), ("product" = Option<String>, Query)),
    responses((status = 200, body = Vec<AcquisitionReport>), (status = 422, body = Problem)))]
pub async fn unit_economics(
    State(app): State<AppState>,
    mut params: QueryParams,
) -> Result<Json<Vec<AcquisitionReport>>, ApiError> {
    let (interval, from, to) = range(&app, &mut params);
    let filter = filter(&mut params);
    params.finish()?;
    Ok(Json(app.metrics_unit_economics(&filter, interval, from, to).await?))
}

/// One account's MRR changes and movements, each traced to its subscription periods.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/mrr", tag = "metrics", params(("id" = i64, Path)),
    responses((status = 200, body = AccountMrrHistory), (status = 404, body = Problem)))]
pub async fn account_history(
    State(app): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<AccountMrrHistory>, ApiError> {
    Ok(Json(app.account_mrr_history(AccountId(id)).await?))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MonthlySpend {
    #[schema(value_type = String, example = "2025-04")]
    pub month: String,
    pub amount: Money,
}

/// Sales & marketing spend entered per month.
#[utoipa::path(get, path = "/api/v1/metrics/spend", tag = "metrics", responses((status = 200, body = Vec<MonthlySpend>)))]
pub async fn spend(State(app): State<AppState>) -> Result<Json<Vec<MonthlySpend>>, ApiError> {
    let spend = app.spend_by_month().await?;
    Ok(Json(spend.into_iter().map(|(month, amount)| MonthlySpend { month: month.to_string(), amount }).collect()))
}

/// A month (`YYYY-MM`) and its spend `{"amount": "1200000"}`.
pub(crate) fn parse_spend(month: &str, body: serde_json::Value) -> Result<(YearMonth, Money), ApiError> {
    let mut f = Fields::new(body, &["amount"])?;
    let amount = f.required("amount", Money::parse_non_negative);
    let month = f.errors.check("month", parse_month(month));
    Ok(f.errors.finish(|| Some((month?, amount?)))?)
}

pub(crate) fn parse_spend_month(month: &str) -> Result<YearMonth, ApiError> {
    parse_month(month).map_err(|reason| ApiError::Fields(vec![domain::FieldError::new("month", reason)]))
}

/// Sets one month's spend: `{"amount": "1200000"}`.
#[utoipa::path(put, path = "/api/v1/metrics/spend/{month}", tag = "metrics", params(("month" = String, Path, description = "YYYY-MM")),
    request_body = Object, responses((status = 204), (status = 422, body = Problem)))]
pub async fn set_spend(
    State(app): State<AppState>,
    Path(month): Path<String>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<StatusCode, ApiError> {
    let (month, amount) = parse_spend(&month, body)?;
    app.set_spend(&actor, month, Some(amount)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/metrics/spend/{month}", tag = "metrics", params(("month" = String, Path, description = "YYYY-MM")),
    responses((status = 204), (status = 422, body = Problem)))]
pub async fn delete_spend(
    State(app): State<AppState>,
    Path(month): Path<String>,
    Signed(actor): Signed,
) -> Result<StatusCode, ApiError> {
    let month = parse_spend_month(&month)?;
    app.set_spend(&actor, month, None).await?;
    Ok(StatusCode::NO_CONTENT)
}
