//! `/accounts`: every account, filtered by owner, team, tier, touch model, stage, grade and text,
//! sorted by ARR, score, renewal date or trend, a page at a time; the same list as CSV; and each
//! user's saved views of it.

use crate::api::accounts::{account_filters, parse_sort};
use crate::extract::Path;
use crate::extract::{FormFields, QueryParams};
use crate::pages::{choices, format, Choice, Frame};
use crate::problem::ApiError;
use crate::AppState;
use app::Actor;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::account::{Account, TouchModel};
use domain::health::HealthConfig;
use domain::i18n::{Lang, Text};
use domain::interchange::neutralise_formula;
use domain::{FieldError, Reason, UserId};
use std::collections::HashMap;
use store::{AccountQuery, AccountSort, SavedView};

const PAGE_SIZE: i64 = 50;
/// Accounts read per query while writing the CSV export.
const EXPORT_CHUNK: i64 = 5_000;
const MAX_VIEW_NAME: usize = 100;

pub struct Row {
    pub id: i64,
    pub external_id: String,
    pub name: String,
    pub owners: String,
    pub tier: String,
    pub stage: String,
    pub arr: String,
    pub renewal: String,
    pub grade: String,
    pub grade_colour: String,
    pub score: String,
    pub trend: String,
    pub trend_class: &'static str,
}

pub struct ViewLink {
    pub id: i64,
    pub name: String,
    pub href: String,
}

#[derive(Template)]
#[template(path = "accounts.html")]
pub struct AccountsPage {
    pub frame: Frame,
    pub t: Labels,
    pub rows: Vec<Row>,
    /// The number of matches, with separators.
    pub total: String,
    pub text: String,
    pub tier: String,
    pub custom: String,
    pub owners: Vec<Choice>,
    pub teams: Vec<Choice>,
    pub touch_models: Vec<Choice>,
    pub stages: Vec<Choice>,
    pub grades: Vec<Choice>,
    pub sorts: Vec<Choice>,
    pub errors: Vec<String>,
    pub view_name_error: Option<String>,
    pub views: Vec<ViewLink>,
    /// The current filters and sort, to save as a view.
    pub current_query: String,
    pub export_href: String,
    pub previous: Option<String>,
    pub next: Option<String>,
}

/// Every string on the page, in the reader's language.
pub struct Labels {
    pub view_name: &'static str,
}

impl Labels {
    fn new(lang: Lang) -> Labels {
        let t = |ja, en| Text::new(ja, en).pick(lang);
        Labels { view_name: t("ビュー名", "View name") }
    }
}

const SORTS: [(&str, &str, &str); 8] = [
    ("-arr", "ARR（大きい順）", "ARR (largest first)"),
    ("arr", "ARR（小さい順）", "ARR (smallest first)"),
    ("score", "スコア（低い順）", "Score (lowest first)"),
    ("-score", "スコア（高い順）", "Score (highest first)"),
    ("renewal_date", "次回更新日（近い順）", "Renewal date (soonest first)"),
    ("trend", "30日の変化（下落が大きい順）", "30-day change (biggest drop first)"),
    ("-trend", "30日の変化（上昇が大きい順）", "30-day change (biggest rise first)"),
    ("name", "顧客名", "Name"),
];

/// The list's filters and sort as read from the query string, with what was wrong in it.
struct ListRequest {
    query: AccountQuery,
    sort_key: String,
    raw: Vec<(String, String)>,
    errors: Vec<FieldError>,
}

fn list_request(mut params: QueryParams) -> ListRequest {
    let raw = params.pairs(&["q", "owner", "team", "tier", "touch_model", "stage", "grade", "custom", "sort"]);
    let (_, offset) = params.page();
    let sort_key = params.text("sort").unwrap_or_else(|| "-arr".into());
    let (sort, descending) = params.parsed("sort", parse_sort).unwrap_or((AccountSort::Arr, true));
    let query = AccountQuery { sort, descending, limit: PAGE_SIZE, offset, ..account_filters(&mut params) };
    ListRequest { query, sort_key, raw, errors: params.errors }
}

fn href(path: &str, pairs: &[(String, String)], extra: &[(&str, String)]) -> String {
    let mut all: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    all.extend(extra.iter().map(|(k, v)| (*k, v.as_str())));
    let query = serde_urlencoded::to_string(&all).unwrap_or_default();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

fn touch_label(touch: TouchModel, lang: Lang) -> &'static str {
    let t = |ja, en| Text::new(ja, en).pick(lang);
    match touch {
        TouchModel::High => t("ハイタッチ", "High touch"),
        TouchModel::Low => t("ロータッチ", "Low touch"),
        TouchModel::Tech => t("テックタッチ", "Tech touch"),
    }
}

fn owner_names(account: &Account, names: &HashMap<UserId, String>) -> String {
    let name = |id: Option<UserId>| id.and_then(|id| names.get(&id).cloned()).unwrap_or_else(|| "—".into());
    format!("{} / {}", name(account.input.owner_id), name(account.input.sub_owner_id))
}

fn row(account: &Account, names: &HashMap<UserId, String>, config: &HealthConfig, app: &AppState, lang: Lang) -> Row {
    let (grade, grade_colour) = format::account_grade(config, account, lang);
    let (trend, trend_class) = format::change(account.health.delta_30d);
    Row {
        id: account.id.0,
        external_id: account.input.external_id.to_string(),
        name: account.input.name.clone(),
        owners: owner_names(account, names),
        tier: account.input.tier.as_deref().map(|tier| domain::account::tier_name(tier, lang)).unwrap_or_default(),
        stage: account.input.stage.as_deref().map(|s| format::stage(s, lang)).unwrap_or_default(),
        arr: format::money(account.figures.arr, &app.settings().currency, lang),
        renewal: format::date(account.figures.next_renewal_date, lang),
        grade,
        grade_colour,
        score: format::score(account.health.score),
        trend,
        trend_class,
    }
}

fn actor_id(actor: &Actor) -> Result<UserId, ApiError> {
    match actor {
        Actor::Staff { user, .. } => Ok(user.id),
        Actor::System(_) => Err(ApiError::Forbidden),
    }
}

async fn render_list(
    app: &AppState,
    frame: Frame,
    request: ListRequest,
    view_name_error: Option<String>,
) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let user = actor_id(&frame.actor)?;
    let ListRequest { query, sort_key, raw, errors } = request;
    let status =
        if errors.is_empty() && view_name_error.is_none() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page =
        if errors.is_empty() { app.accounts(&query).await? } else { store::Page { items: Vec::new(), total: 0 } };
    let users = app.staff_users().await?;
    let names: HashMap<UserId, String> = users.iter().map(|u| (u.id, u.input.name.clone())).collect();
    let config = app.health_config().await?;
    let selected = |name: &str| raw.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let offset = query.offset;
    let views = app
        .saved_views(user)
        .await?
        .into_iter()
        .map(|v: SavedView| ViewLink { id: v.id, href: format!("/accounts?{}", v.query), name: v.name })
        .collect();
    let template = AccountsPage {
        t: Labels::new(lang),
        rows: page.items.iter().map(|a| row(a, &names, &config, app, lang)).collect(),
        total: format::count(page.total),
        text: selected("q").unwrap_or_default().to_owned(),
        tier: selected("tier").unwrap_or_default().to_owned(),
        custom: selected("custom").unwrap_or_default().to_owned(),
        owners: choices(users.iter().map(|u| (u.id.0.to_string(), u.input.name.clone())), selected("owner")),
        teams: choices(app.teams().await?.into_iter().map(|t| (t.id.0.to_string(), t.name)), selected("team")),
        touch_models: choices(
            TouchModel::ALL.into_iter().map(|m| (m.as_str().to_owned(), touch_label(m, lang).to_owned())),
            selected("touch_model"),
        ),
        stages: choices(app.settings().stages.iter().map(|s| (s.clone(), format::stage(s, lang))), selected("stage")),
        grades: choices(
            config.grades.iter().map(|g| (g.key.clone(), format::grade(&config, Some(&g.key), lang).0)),
            selected("grade"),
        ),
        sorts: choices(
            SORTS.iter().map(|(key, ja, en)| (key.to_string(), Text::new(ja, en).pick(lang).to_owned())),
            Some(sort_key.as_str()),
        ),
        errors: errors.iter().map(|e| format!("{}: {}", e.field, e.reason.message(lang))).collect(),
        view_name_error,
        views,
        current_query: serde_urlencoded::to_string(&raw).unwrap_or_default(),
        export_href: href("/accounts.csv", &raw, &[]),
        previous: (offset > 0).then(|| href("/accounts", &raw, &[("offset", (offset - PAGE_SIZE).max(0).to_string())])),
        next: (offset + PAGE_SIZE < page.total)
            .then(|| href("/accounts", &raw, &[("offset", (offset + PAGE_SIZE).to_string())])),
        frame: frame.at("accounts"),
    };
    Ok((status, crate::pages::render(&template, "accounts")?).into_response())
}

pub async fn page(State(app): State<AppState>, frame: Frame, params: QueryParams) -> Result<Response, ApiError> {
    render_list(&app, frame, list_request(params), None).await
}

/// `/accounts.csv`: every account the filters select (not just one page), in the list's order,
/// with tiers, touch models, stages and grades named as the list shows them. UTF-8 with a BOM for Excel unless `encoding` asks otherwise; money in the currency's units.
pub async fn export(State(app): State<AppState>, frame: Frame, mut params: QueryParams) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let encoding = crate::api::interchange::export_encoding(&mut params);
    let ListRequest { mut query, errors, .. } = list_request(params);
    if !errors.is_empty() {
        return Err(ApiError::Fields(errors));
    }
    let names: HashMap<UserId, String> = app.staff_users().await?.into_iter().map(|u| (u.id, u.input.name)).collect();
    let config = app.health_config().await?;
    let currency = app.settings().currency;
    let mut out = csv::Writer::from_writer(Vec::new());
    let t = |ja, en| Text::new(ja, en).pick(lang);
    let header = [
        t("顧客ID", "external_id"),
        t("顧客名", "name"),
        t("担当", "owner"),
        t("副担当", "sub_owner"),
        t("ティア", "tier"),
        t("タッチモデル", "touch_model"),
        t("ステージ", "stage"),
        t("MRR", "mrr"),
        t("ARR", "arr"),
        t("次回更新日", "next_renewal_date"),
        t("グレード", "grade"),
        t("スコア", "score"),
        t("30日の変化", "score_change_30d"),
    ];
    let csv_error = |e: csv::Error| ApiError::Internal(format!("accounts CSV: {e}"));
    out.write_record(header).map_err(csv_error)?;
    query.offset = 0;
    query.limit = EXPORT_CHUNK;
    loop {
        let page = app.accounts(&query).await?;
        for account in &page.items {
            let name = |id: Option<UserId>| id.and_then(|id| names.get(&id).cloned()).unwrap_or_default();
            let number = |v: Option<f64>| v.map(|v| format!("{v:.1}")).unwrap_or_default();
            let row = [
                account.input.external_id.to_string(),
                account.input.name.clone(),
                name(account.input.owner_id),
                name(account.input.sub_owner_id),
                account.input.tier.as_deref().map(|tier| domain::account::tier_name(tier, lang)).unwrap_or_default(),
                account.input.touch_model.map(|m| touch_label(m, lang).to_owned()).unwrap_or_default(),
                account.input.stage.as_deref().map(|s| format::stage(s, lang)).unwrap_or_default(),
                account.figures.mrr.plain(&currency),
                account.figures.arr.plain(&currency),
                account.figures.next_renewal_date.map(|d| d.to_string()).unwrap_or_default(),
                account.health.grade.as_deref().map(|g| format::grade(&config, Some(g), lang).0).unwrap_or_default(),
                number(account.health.score),
                number(account.health.delta_30d),
            ];
            out.write_record(row.iter().map(|cell| neutralise_formula(cell).into_owned())).map_err(csv_error)?;
        }
        query.offset += EXPORT_CHUNK;
        if page.items.len() < EXPORT_CHUNK as usize {
            break;
        }
    }
    let body = out.into_inner().map_err(|e| ApiError::Internal(format!("accounts CSV: {e}")))?;
    let text = String::from_utf8(body).map_err(|e| ApiError::Internal(format!("accounts CSV: {e}")))?;
    let bytes = crate::api::interchange::encode_csv(&text, encoding)?;
    Ok(crate::api::interchange::csv_download("accounts.csv", bytes, encoding))
}

/// `POST /accounts/views`: saves the current filters under a name (replacing a view of that name).
pub async fn save_view(State(app): State<AppState>, frame: Frame, fields: FormFields) -> Result<Response, ApiError> {
    let user = actor_id(&frame.actor)?;
    let name = fields.get("name").trim();
    let request = list_request(QueryParams::from_query(fields.get("query").trim()));
    // Saved as the list itself would write it: known filters only, encoded for a Location header.
    let query = serde_urlencoded::to_string(&request.raw).unwrap_or_default();
    let problem = if name.is_empty() {
        Some(Reason::Required)
    } else if name.chars().count() > MAX_VIEW_NAME {
        Some(Reason::TooLong { max: MAX_VIEW_NAME })
    } else {
        None
    };
    if problem.is_some() || !request.errors.is_empty() {
        let label = Labels::new(frame.lang).view_name;
        let message = problem.map(|reason| format!("{label}: {}", reason.message(frame.lang)));
        return render_list(&app, frame, request, message).await;
    }
    app.save_view(user, name, &query).await?;
    Ok(Redirect::to(&format!("/accounts?{query}")).into_response())
}

/// `POST /accounts/views/{id}/delete`: removes one of the user's own views.
pub async fn delete_view(State(app): State<AppState>, frame: Frame, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let user = actor_id(&frame.actor)?;
    app.delete_view(user, id).await?;
    Ok(Redirect::to("/accounts").into_response())
}
