//! `/api/v1/features` (the feature catalog) and the usage queries: an account's usage per
//! feature or event over time, its feature status by cadence and season, its active users and
//! seat activation, and feature adoption across accounts.

use crate::auth::Signed;
use crate::body::merge_patch;
use crate::extract::Path;
use crate::extract::{JsonBody, QueryParams};
use crate::problem::{ApiError, Problem};
use crate::AppState;
use app::{usage_window, AccountActivity, AccountUsage, AppError, FeatureAdoptionRow};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::NaiveDate;
use domain::interchange::parse_date;
use domain::usage::{FeatureDefinition, FeatureKey, FeatureUse, FeatureView, Granularity};
use domain::{AccountId, Reason};
use store::{EndUser, Entity};

fn key(raw: &str) -> Result<FeatureKey, ApiError> {
    FeatureKey::parse(raw).map_err(|_| AppError::NotFound { entity: Entity::Feature, id: raw.to_owned() }.into())
}

const FEATURE_DOC: &str = "A feature: key, name, event, match (exact | prefix), properties (values the event must carry), \
    cadence (daily | weekly | monthly | quarterly | annual), season (annual only, MM-DD..MM-DD) and importance (core | supporting). \
    Creating or editing a feature re-derives its usage from the stored events.";

#[utoipa::path(get, path = "/api/v1/features", tag = "usage", responses((status = 200, body = Vec<FeatureView>)))]
pub async fn list(State(app): State<AppState>) -> Result<Json<Vec<FeatureView>>, ApiError> {
    Ok(Json(app.features().await?.iter().map(FeatureView::from).collect()))
}

#[utoipa::path(post, path = "/api/v1/features", tag = "usage", description = FEATURE_DOC, request_body = Object,
    responses((status = 201, body = FeatureView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(app): State<AppState>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<FeatureView>), ApiError> {
    let feature = app.create_feature(&actor, FeatureDefinition::parse(body)?).await?;
    Ok((StatusCode::CREATED, Json(FeatureView::from(&feature))))
}

#[utoipa::path(get, path = "/api/v1/features/{key}", tag = "usage", params(("key" = String, Path)),
    responses((status = 200, body = FeatureView), (status = 404, body = Problem)))]
pub async fn read(State(app): State<AppState>, Path(raw): Path<String>) -> Result<Json<FeatureView>, ApiError> {
    Ok(Json(FeatureView::from(&app.feature(&key(&raw)?).await?)))
}

#[utoipa::path(put, path = "/api/v1/features/{key}", tag = "usage", description = FEATURE_DOC, params(("key" = String, Path)),
    request_body = Object, responses((status = 200, body = FeatureView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn replace(
    State(app): State<AppState>,
    Path(raw): Path<String>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<Json<FeatureView>, ApiError> {
    let key = key(&raw)?;
    Ok(Json(FeatureView::from(&app.update_feature(&actor, &key, FeatureDefinition::parse(body)?).await?)))
}

#[utoipa::path(patch, path = "/api/v1/features/{key}", tag = "usage", description = FEATURE_DOC, params(("key" = String, Path)),
    request_body = Object, responses((status = 200, body = FeatureView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn patch(
    State(app): State<AppState>,
    Path(raw): Path<String>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<Json<FeatureView>, ApiError> {
    let key = key(&raw)?;
    let current = FeatureView::from(&app.feature(&key).await?);
    let definition = FeatureDefinition::parse(merge_patch(current.definition_json(), body))?;
    Ok(Json(FeatureView::from(&app.update_feature(&actor, &key, definition).await?)))
}

#[utoipa::path(delete, path = "/api/v1/features/{key}", tag = "usage", params(("key" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete(
    State(app): State<AppState>,
    Path(raw): Path<String>,
    Signed(actor): Signed,
) -> Result<StatusCode, ApiError> {
    app.delete_feature(&actor, &key(&raw)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `from`, `to` (default: the 90 days ending today) and `interval` (day, week, month).
fn series_params(app: &AppState, params: &mut QueryParams) -> Result<(NaiveDate, NaiveDate, Granularity), ApiError> {
    let from = params.parsed("from", parse_date);
    let to = params.parsed("to", parse_date);
    let step = params.parsed("interval", Granularity::parse).unwrap_or(Granularity::Day);
    let window = match usage_window(from, to, app.today()) {
        Ok(window) => Some(window),
        Err(AppError::Invalid(errors)) => {
            params.errors.extend(errors);
            None
        }
        Err(other) => return Err(other.into()),
    };
    match window {
        Some((from, to)) if params.errors.is_empty() => Ok((from, to, step)),
        _ => Err(ApiError::Fields(std::mem::take(&mut params.errors))),
    }
}

/// Uses of each catalog feature per step (`feature` narrows to a comma-separated list of keys).
#[utoipa::path(get, path = "/api/v1/accounts/{id}/usage", tag = "usage",
    params(("id" = i64, Path), ("from" = Option<String>, Query), ("to" = Option<String>, Query),
        ("interval" = Option<String>, Query, description = "day (default), week or month"), ("feature" = Option<String>, Query, description = "keys, comma-separated")),
    responses((status = 200, body = AccountUsage), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn account_usage(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    mut params: QueryParams,
) -> Result<Json<AccountUsage>, ApiError> {
    let only: Vec<FeatureKey> = params
        .parsed("feature", |raw| raw.split(',').map(FeatureKey::parse).collect::<Result<Vec<_>, Reason>>())
        .unwrap_or_default();
    let (from, to, step) = series_params(&app, &mut params)?;
    Ok(Json(app.feature_usage(AccountId(id), from, to, step, &only).await?))
}

/// Tracked events per name per step.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/usage/events", tag = "usage",
    params(("id" = i64, Path), ("from" = Option<String>, Query), ("to" = Option<String>, Query), ("interval" = Option<String>, Query)),
    responses((status = 200, body = AccountUsage), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn account_events(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    mut params: QueryParams,
) -> Result<Json<AccountUsage>, ApiError> {
    let (from, to, step) = series_params(&app, &mut params)?;
    Ok(Json(app.event_usage(AccountId(id), from, to, step).await?))
}

/// Per feature: last use, use in each of the last `periods` expected periods (default 6) and,
/// for annual features, this season against last, as of `as_of` (default today).
#[utoipa::path(get, path = "/api/v1/accounts/{id}/usage/features", tag = "usage",
    params(("id" = i64, Path), ("as_of" = Option<String>, Query), ("periods" = Option<i64>, Query)),
    responses((status = 200, body = Vec<FeatureUse>), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn account_features(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    mut params: QueryParams,
) -> Result<Json<Vec<FeatureUse>>, ApiError> {
    let as_of = params.parsed("as_of", parse_date).unwrap_or_else(|| app.today());
    let periods = params
        .parsed("periods", |raw| {
            let n: usize = raw.parse().map_err(|_| Reason::InvalidInteger)?;
            if (1..=36).contains(&n) {
                Ok(n)
            } else {
                Err(Reason::OutOfRange { min: "1".into(), max: "36".into() })
            }
        })
        .unwrap_or(6);
    params.finish()?;
    Ok(Json(app.feature_status(AccountId(id), as_of, periods).await?))
}

/// Active end users over 7/30/90 days (and `from`..`as_of` when `from` is given), seats and
/// seat activation.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/usage/activity", tag = "usage",
    params(("id" = i64, Path), ("as_of" = Option<String>, Query), ("from" = Option<String>, Query)),
    responses((status = 200, body = AccountActivity), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn account_activity(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    mut params: QueryParams,
) -> Result<Json<AccountActivity>, ApiError> {
    let as_of = params.parsed("as_of", parse_date).unwrap_or_else(|| app.today());
    let from = params.parsed("from", parse_date);
    params.finish()?;
    Ok(Json(app.account_activity(AccountId(id), as_of, from).await?))
}

/// The account's end users, with first and last seen.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/end-users", tag = "usage", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<EndUser>), (status = 404, body = Problem)))]
pub async fn end_users(State(app): State<AppState>, Path(id): Path<i64>) -> Result<Json<Vec<EndUser>>, ApiError> {
    Ok(Json(app.end_users(AccountId(id)).await?))
}

/// For each feature, the paying customers that used it in the window (default: last 90 days).
#[utoipa::path(get, path = "/api/v1/usage/adoption", tag = "usage",
    params(("from" = Option<String>, Query), ("to" = Option<String>, Query)),
    responses((status = 200, body = Vec<FeatureAdoptionRow>), (status = 422, body = Problem)))]
pub async fn adoption(
    State(app): State<AppState>,
    mut params: QueryParams,
) -> Result<Json<Vec<FeatureAdoptionRow>>, ApiError> {
    let (from, to, _) = series_params(&app, &mut params)?;
    Ok(Json(app.feature_adoption(from, to).await?))
}
