//! `/api/v1/renewals`: the renewal pipeline (every renewal in a date range, filtered like the
//! accounts list), an account's renewals, a CSM's forecast call and confirmed outcome on one
//! renewal, the weekly forecast snapshot and forecast accuracy.

use crate::api::accounts::account_filters;
use crate::auth::Signed;
use crate::extract::Path;
use crate::extract::{JsonBody, QueryParams};
use crate::problem::{ApiError, Problem};
use crate::AppState;
use app::renewals::{MonthAccuracy, RenewalFilter, RenewalItem, RenewalRow};
use axum::extract::State;
use axum::Json;
use chrono::{Months, NaiveDate};
use domain::i18n::Bilingual;
use domain::renewals::churn::ChurnBacktest;
use domain::renewals::{ChurnReason, ForecastCategory, RenewalCall, RenewalOutcome};
use domain::{AccountId, FieldError, Money, Reason};
use serde::Serialize;

/// The longest date range one request may list.
const MAX_RANGE_MONTHS: u32 = 36;

/// One renewal as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RenewalJson {
    pub account_id: i64,
    pub external_id: Option<String>,
    pub account_name: Option<String>,
    pub renewal_date: NaiveDate,
    /// ARR of the subscriptions renewing that day, on the day before.
    pub arr: Money,
    pub forecast: Option<ForecastCategory>,
    pub forecast_note: Option<String>,
    /// The outcome a CSM confirmed, else the one derived from the subscriptions.
    pub outcome: Option<RenewalOutcome>,
    pub outcome_confirmed: bool,
    /// The subscriptions now say something else than the confirmed outcome.
    pub outcome_disputed: bool,
    pub churn_reason: Option<ChurnReason>,
    pub outcome_note: Option<String>,
    /// Kizuna's churn probability (0–1) for an upcoming renewal, once the model is fitted.
    pub churn_probability: Option<f64>,
    /// The facts that raised it most, in both languages.
    pub churn_reasons: Vec<Bilingual>,
}

impl RenewalJson {
    fn of(item: &RenewalItem, account: Option<&domain::account::Account>) -> RenewalJson {
        let call = item.call.as_ref().map(|c| &c.call);
        RenewalJson {
            account_id: item.account_id.0,
            external_id: account.map(|a| a.input.external_id.to_string()),
            account_name: account.map(|a| a.input.name.clone()),
            renewal_date: item.date,
            arr: item.arr,
            forecast: item.forecast(),
            forecast_note: call.and_then(|c| c.forecast_note.clone()),
            outcome: item.outcome(),
            outcome_confirmed: call.is_some_and(|c| c.outcome.is_some()),
            outcome_disputed: item.outcome_disputed(),
            churn_reason: call.and_then(|c| c.churn_reason),
            outcome_note: call.and_then(|c| c.outcome_note.clone()),
            churn_probability: item.churn.as_ref().map(|c| c.probability),
            churn_reasons: item.churn.as_ref().map(|c| c.reasons.clone()).unwrap_or_default(),
        }
    }
}

/// The filters shared by the API, the page and the CSV export.
pub(crate) fn renewal_filter(params: &mut QueryParams) -> RenewalFilter {
    RenewalFilter { accounts: account_filters(params), forecast: params.parsed("forecast", ForecastCategory::parse) }
}

fn range(params: &mut QueryParams, today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let from = params.parsed("from", domain::interchange::parse_date).unwrap_or(today);
    let default_to = from.checked_add_months(Months::new(12)).and_then(|d| d.pred_opt()).unwrap_or(from);
    let to = params.parsed("to", domain::interchange::parse_date).unwrap_or(default_to);
    (from, to)
}

fn check_range(from: NaiveDate, to: NaiveDate) -> Result<(), ApiError> {
    let longest = from.checked_add_months(Months::new(MAX_RANGE_MONTHS)).unwrap_or(from);
    if to < from {
        return Err(ApiError::Fields(vec![FieldError::new("to", Reason::EarlierThan { field: "from" })]));
    }
    if to > longest {
        let reason = Reason::OutOfRange { min: from.to_string(), max: longest.to_string() };
        return Err(ApiError::Fields(vec![FieldError::new("to", reason)]));
    }
    Ok(())
}

/// Every renewal dated in [from, to] (default: the 12 months from today; at most 36 months), by date.
#[utoipa::path(get, path = "/api/v1/renewals", tag = "renewals",
    params(
        ("from" = Option<String>, Query, description = "First day (YYYY-MM-DD), default today"),
        ("to" = Option<String>, Query, description = "Last day, default the day before 12 months after from"),
        ("forecast" = Option<String>, Query, description = "commit, likely, at_risk or lost"),
        ("owner" = Option<i64>, Query), ("team" = Option<i64>, Query), ("stage" = Option<String>, Query),
        ("tier" = Option<String>, Query), ("grade" = Option<String>, Query), ("q" = Option<String>, Query),
    ),
    responses((status = 200, body = Vec<RenewalJson>), (status = 422, body = Problem)))]
pub async fn list(State(app): State<AppState>, mut params: QueryParams) -> Result<Json<Vec<RenewalJson>>, ApiError> {
    let filter = renewal_filter(&mut params);
    let (from, to) = range(&mut params, app.today());
    params.finish()?;
    check_range(from, to)?;
    let rows: Vec<RenewalRow> = app.renewal_rows(&filter, from, to).await?;
    Ok(Json(rows.iter().map(|r| RenewalJson::of(&r.item, Some(&r.account))).collect()))
}

/// The account's renewals: the next ones within a year and past ones up to five years back,
/// newest first.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/renewals", tag = "renewals", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<RenewalJson>), (status = 404, body = Problem)))]
pub async fn of_account(State(app): State<AppState>, Path(id): Path<i64>) -> Result<Json<Vec<RenewalJson>>, ApiError> {
    let items = app.account_renewals(AccountId(id)).await?;
    Ok(Json(items.iter().map(|i| RenewalJson::of(i, None)).collect()))
}

/// Sets the CSM's call on one renewal: forecast category and note before it, confirmed outcome,
/// churn reason and note after it. Replaces the whole call; absent keys are cleared.
#[utoipa::path(put, path = "/api/v1/accounts/{id}/renewals/{date}", tag = "renewals",
    params(("id" = i64, Path), ("date" = String, Path, description = "The renewal date, YYYY-MM-DD")),
    request_body = RenewalCall,
    responses((status = 200, body = RenewalJson), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn set_call(
    State(app): State<AppState>,
    Path((id, date)): Path<(i64, String)>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<Json<RenewalJson>, ApiError> {
    let date = domain::interchange::parse_date(&date)
        .map_err(|reason| ApiError::Fields(vec![FieldError::new("renewal_date", reason)]))?;
    let call = RenewalCall::parse(body).map_err(ApiError::Fields)?;
    let item = app.set_renewal_call(&actor, AccountId(id), date, call).await?;
    Ok(Json(RenewalJson::of(&item, None)))
}

/// Per closed month of the last year: the forecast (the last weekly snapshot before the month)
/// per category against the ARR the customers kept.
#[utoipa::path(get, path = "/api/v1/renewals/accuracy", tag = "renewals",
    responses((status = 200, body = Vec<AccuracyJson>)))]
pub async fn accuracy(State(app): State<AppState>) -> Result<Json<Vec<AccuracyJson>>, ApiError> {
    Ok(Json(app.forecast_accuracy().await?.iter().map(AccuracyJson::of).collect()))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccuracyJson {
    /// The month's first day.
    pub month: NaiveDate,
    pub snapshot_on: NaiveDate,
    pub categories: Vec<CategoryAccuracyJson>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CategoryAccuracyJson {
    /// `null`: renewals nobody had called.
    pub forecast: Option<ForecastCategory>,
    pub renewals: usize,
    pub forecast_arr: Money,
    pub renewed_arr: Money,
    /// renewed_arr ÷ forecast_arr.
    pub ratio: Option<f64>,
}

impl AccuracyJson {
    fn of(month: &MonthAccuracy) -> AccuracyJson {
        AccuracyJson {
            month: month.month,
            snapshot_on: month.snapshot_on,
            categories: month
                .categories
                .iter()
                .map(|c| CategoryAccuracyJson {
                    forecast: c.forecast,
                    renewals: c.renewals,
                    forecast_arr: c.forecast_arr,
                    renewed_arr: c.renewed_arr,
                    ratio: c.ratio(),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SnapshotJson {
    pub taken_on: NaiveDate,
    pub renewals: usize,
}

/// Takes today's forecast snapshot now (it is also taken weekly by itself).
#[utoipa::path(post, path = "/api/v1/renewals/snapshots", tag = "renewals",
    responses((status = 200, body = SnapshotJson), (status = 403, body = Problem)))]
pub async fn snapshot(State(app): State<AppState>) -> Result<Json<SnapshotJson>, ApiError> {
    let renewals = app.take_forecast_snapshot().await?;
    Ok(Json(SnapshotJson { taken_on: app.today(), renewals }))
}

/// The churn model: whether it can predict, what it learned from, and its out-of-time backtest.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ModelJson {
    /// `null` until the first fit (the server fits at start-up and once a day).
    pub fitted_on: Option<NaiveDate>,
    /// True while a fit runs; before the first one ends, `fitted_on` is still `null`.
    pub fitting: bool,
    pub can_predict: bool,
    /// Why it cannot predict, when it cannot.
    pub explanation: Option<Bilingual>,
    /// Account-months learned from, and how many were followed by a churn within 90 days.
    pub examples: Option<usize>,
    pub churns: Option<usize>,
    pub backtest: Option<ChurnBacktest>,
    /// Why there is no backtest (too little history before the cut-off).
    pub backtest_explanation: Option<Bilingual>,
}

impl ModelJson {
    fn of(state: Option<&app::renewals::ChurnState>, fitting: bool) -> ModelJson {
        let Some(state) = state else {
            return ModelJson {
                fitted_on: None,
                fitting,
                can_predict: false,
                explanation: None,
                examples: None,
                churns: None,
                backtest: None,
                backtest_explanation: None,
            };
        };
        ModelJson {
            fitted_on: Some(state.fitted_on),
            fitting,
            can_predict: state.model.is_ok(),
            explanation: state.model.as_ref().err().map(|e| e.explain()),
            examples: state.model.as_ref().ok().map(|m| m.examples),
            churns: state.model.as_ref().ok().map(|m| m.churns),
            backtest: state.backtest.as_ref().ok().cloned(),
            backtest_explanation: state.backtest.as_ref().err().map(|e| e.explain()),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/renewals/model", tag = "renewals", responses((status = 200, body = ModelJson)))]
pub async fn model(State(app): State<AppState>) -> Json<ModelJson> {
    Json(ModelJson::of(app.churn_state().as_deref(), app.churn_fitting()))
}

/// Refits the churn model now on every paying account-month of the last three years and
/// predicts the renewals of the next 12 months.
#[utoipa::path(post, path = "/api/v1/renewals/model", tag = "renewals",
    responses((status = 200, body = ModelJson), (status = 403, body = Problem)))]
pub async fn refit(State(app): State<AppState>) -> Result<Json<ModelJson>, ApiError> {
    let state = app.fit_churn_model().await?;
    Ok(Json(ModelJson::of(Some(&state), app.churn_fitting())))
}
