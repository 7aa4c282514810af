//! `/api/v1/accounts`

use super::{to_value, ListResponse};
use crate::auth::Signed;
use crate::body::merge_patch;
use crate::extract::Path;
use crate::extract::{JsonBody, QueryParams};
use crate::problem::{ApiError, Problem};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use domain::account::{Account, AccountInput, TouchModel};
use domain::{AccountId, ExternalId, Reason, TeamId, UserId};
use store::{AccountQuery, AccountSort};

pub fn parse_sort(raw: &str) -> Result<(AccountSort, bool), Reason> {
    let (descending, key) = raw.strip_prefix('-').map_or((false, raw), |key| (true, key));
    let sort = match key {
        "name" => AccountSort::Name,
        "arr" | "mrr" => AccountSort::Arr,
        "renewal_date" => AccountSort::RenewalDate,
        "score" => AccountSort::Score,
        "trend" => AccountSort::Trend,
        "updated_at" => AccountSort::Updated,
        _ => {
            return Err(Reason::NotOneOf {
                allowed: ["name", "arr", "renewal_date", "score", "trend", "updated_at"]
                    .iter()
                    .flat_map(|k| [k.to_string(), format!("-{k}")])
                    .collect(),
            })
        }
    };
    Ok((sort, descending))
}

/// The account filters shared by the API and the accounts page; errors are collected in `params`.
pub fn account_filters(params: &mut QueryParams) -> AccountQuery {
    AccountQuery {
        owner: params.id("owner").map(UserId),
        team: params.id("team").map(TeamId),
        stage: params.text("stage").map(|s| domain::account::stage_key(&s)),
        tier: params.text("tier").map(|t| domain::account::tier_key(&t)),
        touch_model: params.parsed("touch_model", TouchModel::parse),
        grade: params.text("grade"),
        paying: params.parsed("paying", domain::interchange::parse_bool).unwrap_or(false),
        text: params.text("q"),
        custom: params.custom_field(),
        ..AccountQuery::default()
    }
}

/// Lists accounts with filters, sorting and pagination.
#[utoipa::path(get, path = "/api/v1/accounts", tag = "accounts",
    params(
        ("owner" = Option<i64>, Query, description = "Accounts this staff user owns or sub-owns"),
        ("team" = Option<i64>, Query, description = "Accounts whose main or sub owner is in this team"),
        ("stage" = Option<String>, Query), ("tier" = Option<String>, Query),
        ("touch_model" = Option<String>, Query, description = "high, low or tech"),
        ("paying" = Option<bool>, Query, description = "true: only accounts whose MRR today is above zero"),
        ("q" = Option<String>, Query, description = "Text in the name, external id, domain or reading (custom field name_kana, furigana, …), full- and half-width, case, spaces, katakana and hiragana aside"),
        ("custom" = Option<String>, Query, description = "key:value of a custom field"),
        ("grade" = Option<String>, Query, description = "Grade key of the latest health score"),
        ("sort" = Option<String>, Query, description = "name, arr, renewal_date, score, trend (30-day score change) or updated_at; prefix - for descending"),
        ("limit" = Option<i64>, Query, description = "1–500, default 50"), ("offset" = Option<i64>, Query),
    ),
    responses((status = 200, body = ListResponse<Account>), (status = 422, body = Problem)))]
pub async fn list(
    State(app): State<AppState>,
    mut params: QueryParams,
) -> Result<Json<ListResponse<Account>>, ApiError> {
    let (limit, offset) = params.page();
    let (sort, descending) = params.parsed("sort", parse_sort).unwrap_or((AccountSort::Name, false));
    let query = AccountQuery { sort, descending, limit, offset, ..account_filters(&mut params) };
    params.finish()?;
    Ok(Json(ListResponse::new(app.accounts(&query).await?, limit, offset)))
}

/// One account as a picker shows it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AccountChoice {
    pub id: AccountId,
    pub external_id: ExternalId,
    pub name: String,
    pub domain: Option<String>,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AccountChoices {
    pub items: Vec<AccountChoice>,
}

/// The most accounts one lookup returns.
const MAX_LOOKUP: i64 = 50;

/// Accounts for a picker, as the user types: those whose name, external id, domain or reading
/// contains `q` (full- and half-width, case, spaces, katakana and hiragana aside), the account
/// with exactly this external id first, then by name. No total is counted, so each keystroke
/// costs one scan of the search keys.
#[utoipa::path(get, path = "/api/v1/accounts/lookup", tag = "accounts",
    params(
        ("q" = String, Query, description = "What the user typed: part of a name, reading, external id or domain"),
        ("limit" = Option<i64>, Query, description = "1–50, default 10"),
    ),
    responses((status = 200, body = AccountChoices), (status = 422, body = Problem)))]
pub async fn lookup(State(app): State<AppState>, mut params: QueryParams) -> Result<Json<AccountChoices>, ApiError> {
    let text = params.text("q").unwrap_or_default();
    let limit = params
        .parsed("limit", |raw| match raw.parse::<i64>() {
            Ok(n) if (1..=MAX_LOOKUP).contains(&n) => Ok(n),
            Ok(_) => Err(Reason::OutOfRange { min: "1".into(), max: MAX_LOOKUP.to_string() }),
            Err(_) => Err(Reason::InvalidInteger),
        })
        .unwrap_or(app::account_search::PICK_CANDIDATES);
    params.finish()?;
    let accounts = if text.is_empty() { Vec::new() } else { app.search_accounts(&text, limit).await? };
    let items = accounts
        .into_iter()
        .map(|a| AccountChoice {
            id: a.id,
            external_id: a.input.external_id,
            name: a.input.name,
            domain: a.input.domain,
        })
        .collect();
    Ok(Json(AccountChoices { items }))
}

/// Creates an account.
#[utoipa::path(post, path = "/api/v1/accounts", tag = "accounts", request_body = AccountInput,
    responses((status = 201, body = Account), (status = 400, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(app): State<AppState>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Account>), ApiError> {
    let input = AccountInput::from_json(body, &app.settings().stages)?;
    Ok((StatusCode::CREATED, Json(app.create_account(&actor, &input).await?)))
}

/// Reads one account with its derived MRR, ARR, first paying day and next renewal date.
#[utoipa::path(get, path = "/api/v1/accounts/{id}", tag = "accounts", params(("id" = i64, Path)),
    responses((status = 200, body = Account), (status = 404, body = Problem)))]
pub async fn read(State(app): State<AppState>, Path(id): Path<i64>) -> Result<Json<Account>, ApiError> {
    Ok(Json(app.account(AccountId(id)).await?))
}

/// Replaces every field of an account.
#[utoipa::path(put, path = "/api/v1/accounts/{id}", tag = "accounts", params(("id" = i64, Path)), request_body = AccountInput,
    responses((status = 200, body = Account), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn replace(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<Json<Account>, ApiError> {
    let input = AccountInput::from_json(body, &app.settings().stages)?;
    Ok(Json(app.update_account(&actor, AccountId(id), &input).await?))
}

/// Changes the given fields of an account (JSON merge patch).
#[utoipa::path(patch, path = "/api/v1/accounts/{id}", tag = "accounts", params(("id" = i64, Path)), request_body = Object,
    responses((status = 200, body = Account), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn patch(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<Json<Account>, ApiError> {
    let current = app.account(AccountId(id)).await?;
    let input = AccountInput::from_json(merge_patch(to_value(&current.input), body), &app.settings().stages)?;
    Ok(Json(app.update_account(&actor, AccountId(id), &input).await?))
}

/// Deletes an account with its contacts, subscriptions and timeline.
#[utoipa::path(delete, path = "/api/v1/accounts/{id}", tag = "accounts", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
) -> Result<StatusCode, ApiError> {
    app.delete_account(&actor, AccountId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
