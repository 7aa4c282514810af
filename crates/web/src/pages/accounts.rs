//! `/`: the accounts page, largest ARR first, searchable, in Japanese or English.

use super::format;
use super::Frame;
use crate::extract::QueryParams;
use crate::problem::ApiError;
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::Html;
use domain::i18n::{Lang, Text};
use store::{AccountQuery, AccountSort};

const PAGE_SIZE: i64 = 100;

pub struct Row {
    pub id: i64,
    pub external_id: String,
    pub name: String,
    pub tier: String,
    pub stage: String,
    pub arr: String,
    pub renewal: String,
}

#[derive(Template)]
#[template(path = "accounts.html")]
pub struct AccountsPage {
    pub frame: Frame,
    pub t: Labels,
    pub rows: Vec<Row>,
    pub total: i64,
    pub query: String,
    pub previous: Option<String>,
    pub next: Option<String>,
}

/// Every string on the page, in the reader's language.
pub struct Labels {
    pub title: &'static str,
    pub search: &'static str,
    pub search_button: &'static str,
    pub account: &'static str,
    pub tier: &'static str,
    pub stage: &'static str,
    pub arr: &'static str,
    pub renewal: &'static str,
    pub count: &'static str,
    pub empty: &'static str,
    pub previous: &'static str,
    pub next: &'static str,
}

impl Labels {
    fn new(lang: Lang) -> Labels {
        let t = |ja, en| Text::new(ja, en).pick(lang);
        Labels {
            title: t("顧客一覧", "Accounts"),
            search: t("顧客名・ドメインで検索", "Search name or domain"),
            search_button: t("検索", "Search"),
            account: t("顧客", "Account"),
            tier: t("ティア", "Tier"),
            stage: t("ステージ", "Stage"),
            arr: t("ARR", "ARR"),
            renewal: t("次回更新日", "Next renewal"),
            count: t("件", "accounts"),
            empty: t("該当する顧客はありません。", "No accounts match."),
            previous: t("前へ", "Previous"),
            next: t("次へ", "Next"),
        }
    }
}

fn page_link(query: &str, offset: i64) -> String {
    let offset = offset.to_string();
    let mut pairs = vec![("offset", offset.as_str())];
    if !query.is_empty() {
        pairs.push(("q", query));
    }
    format!("/accounts?{}", serde_urlencoded::to_string(pairs).unwrap_or_default())
}

pub async fn page(
    State(app): State<AppState>,
    frame: Frame,
    mut params: QueryParams,
) -> Result<Html<String>, ApiError> {
    let lang = frame.lang;
    let (_, offset) = params.page();
    let text = params.text("q");
    params.finish()?;
    let query = AccountQuery {
        text: text.clone(),
        sort: AccountSort::Arr,
        descending: true,
        limit: PAGE_SIZE,
        offset,
        ..AccountQuery::default()
    };
    let page = app.store().list_accounts(&query).await?;
    let currency = app.settings().currency;
    let rows = page
        .items
        .iter()
        .map(|a| Row {
            id: a.id.0,
            external_id: a.input.external_id.to_string(),
            name: a.input.name.clone(),
            tier: a.input.tier.clone().unwrap_or_default(),
            stage: a.input.stage.clone().unwrap_or_default(),
            arr: format::money(a.figures.arr, &currency, lang),
            renewal: format::date(a.figures.next_renewal_date, lang),
        })
        .collect();
    let query_text = text.unwrap_or_default();
    let template = AccountsPage {
        frame: frame.at("accounts"),
        t: Labels::new(lang),
        rows,
        total: page.total,
        previous: (offset > 0).then(|| page_link(&query_text, (offset - PAGE_SIZE).max(0))),
        next: (offset + PAGE_SIZE < page.total).then(|| page_link(&query_text, offset + PAGE_SIZE)),
        query: query_text,
    };
    super::render(&template, "accounts")
}
