//! `/api/v1/settings`: workspace currency, time zone, fiscal year, gross margin, stages and which
//! source wins per account field over tracking traits.

use crate::auth::Signed;
use crate::body::Fields;
use crate::extract::JsonBody;
use crate::problem::{ApiError, Problem};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use domain::money::parse_decimal;
use domain::settings::{parse_fiscal_year_start_month, parse_gross_margin, WorkspaceSettings};
use domain::{Currency, Reason};
use serde_json::Value;

const FIELDS: &[&str] = &[
    "currency",
    "time_zone",
    "fiscal_year_start_month",
    "gross_margin",
    "stages",
    "tracking_field_sources",
    "monthly_contracts_renew",
    "request_impact_weights",
];

/// The settings sent; field sources, the monthly renewal switch and impact weights not sent stay
/// as `current`.
pub(crate) fn parse_settings(value: Value, current: &WorkspaceSettings) -> Result<WorkspaceSettings, ApiError> {
    let stages_value = value.get("stages").cloned();
    let mut f = Fields::new(value, FIELDS)?;
    let currency = f.required("currency", Currency::parse);
    let time_zone = f.required("time_zone", |raw| Ok(raw.trim().to_owned()));
    let month = f.required("fiscal_year_start_month", |raw| {
        raw.parse::<u32>().map_err(|_| Reason::InvalidInteger).and_then(parse_fiscal_year_start_month)
    });
    let margin = f.required("gross_margin", |raw| parse_decimal(raw).and_then(parse_gross_margin));
    let stages = match stages_value {
        Some(Value::Array(items)) if !items.is_empty() => {
            let names: Option<Vec<String>> =
                items.iter().map(|i| i.as_str().map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty())).collect();
            f.errors.check("stages", names.ok_or(Reason::WrongType { expected: "a list of stage names" }))
        }
        _ => f.errors.check("stages", Err(Reason::Required)),
    };
    let sources = f
        .json("tracking_field_sources", |value| current.tracking_field_sources.updated_from(value))
        .map(|s| s.unwrap_or(current.tracking_field_sources));
    let monthly_contracts_renew = f.boolean("monthly_contracts_renew", current.monthly_contracts_renew);
    let weights = f
        .json("request_impact_weights", |value| current.request_impact_weights.updated_from(value))
        .map(|w| w.unwrap_or_else(|| current.request_impact_weights.clone()));
    Ok(f.errors.finish(|| {
        Some(WorkspaceSettings {
            currency: currency?,
            time_zone: time_zone?,
            fiscal_year_start_month: month?,
            gross_margin: margin?,
            stages: stages?,
            tracking_field_sources: sources?,
            monthly_contracts_renew: monthly_contracts_renew?,
            request_impact_weights: weights?,
        })
    })?)
}

#[utoipa::path(get, path = "/api/v1/settings", tag = "settings", responses((status = 200, body = WorkspaceSettings)))]
pub async fn read(State(app): State<AppState>) -> Json<WorkspaceSettings> {
    Json(app.settings())
}

/// Replaces the workspace settings; a new time zone recomputes every account's figures.
#[utoipa::path(put, path = "/api/v1/settings", tag = "settings", request_body = WorkspaceSettings,
    responses((status = 200, body = WorkspaceSettings), (status = 422, body = Problem)))]
pub async fn replace(
    State(app): State<AppState>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<Json<WorkspaceSettings>, ApiError> {
    Ok(Json(app.update_settings(&actor, parse_settings(body, &app.settings())?).await?))
}
