//! `/api/v1/subscriptions`: subscription periods. Periods sharing a `subscription_id` are one
//! subscription's history; every change refreshes the account's MRR, ARR and renewal date.

use super::{to_value, ListResponse};
use crate::auth::Signed;
use crate::body::{merge_patch, Fields};
use crate::extract::Path;
use crate::extract::{JsonBody, QueryParams};
use crate::problem::{ApiError, Problem};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use domain::ids::required_text;
use domain::interchange::subscriptions::{
    parse_commitment_months, parse_discount_percent, parse_interval_count, parse_quantity,
};
use domain::subscription::{BillingInterval, SubscriptionPeriod, SubscriptionTerms, MAX_PLAN, MAX_PRODUCT};
use domain::{AccountId, Currency, ExternalId, FieldError, Money, Reason, SubscriptionPeriodId};
use rust_decimal::Decimal;
use serde_json::Value;
use store::ChildQuery;

const FIELDS: &[&str] = &[
    "subscription_id",
    "account_id",
    "product",
    "plan",
    "start_date",
    "end_date",
    "billing_interval",
    "interval_count",
    "quantity",
    "unit_price",
    "discount_percent",
    "currency",
    "custom",
    "commitment_months",
];

fn parse_terms(value: Value) -> Result<SubscriptionTerms, ApiError> {
    let mut f = Fields::new(value, FIELDS)?;
    let subscription_id = f.required("subscription_id", ExternalId::parse);
    let account_id = f.id("account_id").map(|id| id.ok_or(Reason::Required));
    let account_id = account_id.and_then(|r| f.errors.check("account_id", r));
    let product = f.required("product", |raw| required_text(Some(raw), MAX_PRODUCT).map(|p| p.to_lowercase()));
    let plan = f.text("plan", MAX_PLAN);
    let start_date = f.required("start_date", domain::interchange::parse_date);
    let end_date = f.date("end_date");
    let billing_interval = f.required("billing_interval", BillingInterval::parse);
    let interval_count = f.parsed("interval_count", parse_interval_count);
    let quantity = f.required("quantity", parse_quantity);
    let unit_price = f.required("unit_price", Money::parse_non_negative);
    let discount_percent = f.parsed("discount_percent", parse_discount_percent);
    let currency = f.required("currency", Currency::parse);
    let custom = f.custom("custom");
    let commitment_months = f.parsed("commitment_months", parse_commitment_months);
    let terms = f.errors.finish(|| {
        Some(SubscriptionTerms {
            subscription_id: subscription_id?,
            account_id: AccountId(account_id?),
            product: product?,
            plan: plan?,
            start_date: start_date?,
            end_date: end_date?,
            billing_interval: billing_interval?,
            interval_count: interval_count?.unwrap_or(1),
            quantity: quantity?,
            unit_price: unit_price?,
            discount_percent: discount_percent?.unwrap_or(Decimal::ZERO),
            currency: currency?,
            custom: custom?,
            commitment_months: commitment_months?,
        })
    })?;
    terms.check_commitment().map_err(|reason| ApiError::Fields(vec![FieldError::new("commitment_months", reason)]))?;
    Ok(terms)
}

/// Lists subscription periods, optionally of one account.
#[utoipa::path(get, path = "/api/v1/subscriptions", tag = "subscriptions",
    params(("account_id" = Option<i64>, Query), ("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query)),
    responses((status = 200, body = ListResponse<SubscriptionPeriod>), (status = 422, body = Problem)))]
pub async fn list(
    State(app): State<AppState>,
    mut params: QueryParams,
) -> Result<Json<ListResponse<SubscriptionPeriod>>, ApiError> {
    let (limit, offset) = params.page();
    let query = ChildQuery { account_id: params.id("account_id").map(AccountId), limit, offset };
    params.finish()?;
    Ok(Json(ListResponse::new(app.periods(&query).await?, limit, offset)))
}

/// Adds a period; it must not overlap another period of the same subscription.
#[utoipa::path(post, path = "/api/v1/subscriptions", tag = "subscriptions", request_body = SubscriptionTerms,
    responses((status = 201, body = SubscriptionPeriod), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(app): State<AppState>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<SubscriptionPeriod>), ApiError> {
    Ok((StatusCode::CREATED, Json(app.create_period(&actor, &parse_terms(body)?).await?)))
}

#[utoipa::path(get, path = "/api/v1/subscriptions/{id}", tag = "subscriptions", params(("id" = i64, Path)),
    responses((status = 200, body = SubscriptionPeriod), (status = 404, body = Problem)))]
pub async fn read(State(app): State<AppState>, Path(id): Path<i64>) -> Result<Json<SubscriptionPeriod>, ApiError> {
    Ok(Json(app.period(SubscriptionPeriodId(id)).await?))
}

#[utoipa::path(put, path = "/api/v1/subscriptions/{id}", tag = "subscriptions", params(("id" = i64, Path)), request_body = SubscriptionTerms,
    responses((status = 200, body = SubscriptionPeriod), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn replace(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<Json<SubscriptionPeriod>, ApiError> {
    Ok(Json(app.update_period(&actor, SubscriptionPeriodId(id), &parse_terms(body)?).await?))
}

#[utoipa::path(patch, path = "/api/v1/subscriptions/{id}", tag = "subscriptions", params(("id" = i64, Path)), request_body = Object,
    responses((status = 200, body = SubscriptionPeriod), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn patch(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<Json<SubscriptionPeriod>, ApiError> {
    let current = app.period(SubscriptionPeriodId(id)).await?;
    let terms = parse_terms(merge_patch(to_value(&current.terms), body))?;
    Ok(Json(app.update_period(&actor, SubscriptionPeriodId(id), &terms).await?))
}

#[utoipa::path(delete, path = "/api/v1/subscriptions/{id}", tag = "subscriptions", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
) -> Result<StatusCode, ApiError> {
    app.delete_period(&actor, SubscriptionPeriodId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The products named by any subscription.
#[utoipa::path(get, path = "/api/v1/products", tag = "subscriptions", responses((status = 200, body = Vec<String>)))]
pub async fn products(State(app): State<AppState>) -> Result<Json<Vec<String>>, ApiError> {
    Ok(Json(app.products().await?))
}
