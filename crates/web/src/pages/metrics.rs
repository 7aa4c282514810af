//! `/metrics`: MRR and ARR, movements, churn, NRR/GRR, cohorts and unit economics of the accounts
//! the filters choose — the filters and figures of `/api/v1/metrics/…` — in Japanese or English,
//! with every table also as CSV (`/metrics/export/{table}`).

use super::chart::{Chart, Dataset};
use super::{choices, format, render, Choice, Frame};
use crate::api::metrics::{filter, range_or};
use crate::extract::Path;
use crate::extract::QueryParams;
use crate::problem::ApiError;
use crate::AppState;
use app::metrics::MetricsFilter;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use domain::account::TouchModel;
use domain::i18n::{Lang, Text};
use domain::interchange::neutralise_formula;
use domain::metrics::{AcquisitionReport, Cohort, Interval, MovementSum, PeriodReport, YearMonth};
use domain::{Currency, FieldError, Money};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde_json::Value;

/// The query parameters of the filter form, in the order the form shows them.
const FIELDS: [&str; 10] =
    ["from", "to", "interval", "owner", "team", "tier", "stage", "touch_model", "custom", "product"];

/// The accounts, periods and range the filters chose.
struct Selection {
    interval: Interval,
    from: NaiveDate,
    to: NaiveDate,
    filter: MetricsFilter,
}

/// Reads the filters as the API does; the page's default range is the last 12 full months.
fn select(app: &AppState, params: &mut QueryParams) -> Selection {
    let today = app.today();
    let last_month_end = YearMonth::of(today).plus_months(-1).map_or(today, YearMonth::last_day);
    let (interval, from, to) =
        range_or(app, params, last_month_end, |to| YearMonth::of(to).plus_months(-11).map_or(to, YearMonth::first_day));
    Selection { interval, from, to, filter: filter(params) }
}

/// The filter form as the reader filled it in (or with the defaults the page used).
pub struct Form {
    pub from: String,
    pub to: String,
    pub tier: String,
    pub stage: String,
    pub custom: String,
    pub intervals: Vec<Choice>,
    pub owners: Vec<Choice>,
    pub teams: Vec<Choice>,
    pub touch_models: Vec<Choice>,
    pub products: Vec<Choice>,
}

/// A figure as shown, and exactly as the API reports it (`data-value`).
pub struct Cell {
    pub text: String,
    pub exact: String,
    /// A count shown beside an amount.
    pub note: String,
    /// Inline style of a heatmap cell.
    pub style: String,
}

impl Cell {
    fn money(amount: Money, currency: &Currency, lang: Lang) -> Cell {
        Cell::of(format::money(amount, currency, lang), amount.reported().to_string())
    }

    fn optional_money(amount: Option<Money>, currency: &Currency, lang: Lang) -> Cell {
        match amount {
            Some(amount) => Cell::money(amount, currency, lang),
            None => Cell::of("—".into(), String::new()),
        }
    }

    fn percent(ratio: Option<Decimal>) -> Cell {
        Cell::of(format::percent(ratio.map(to_f64)), ratio.map(|r| r.to_string()).unwrap_or_default())
    }

    fn number(n: u64) -> Cell {
        Cell::of(n.to_string(), n.to_string())
    }

    fn of(text: String, exact: String) -> Cell {
        Cell { text, exact, note: String::new(), style: String::new() }
    }
}

pub struct Card {
    pub id: &'static str,
    pub label: &'static str,
    pub value: Cell,
    pub change: String,
    /// `up`, `down` or empty.
    pub trend: &'static str,
}

pub struct Row {
    pub period: String,
    pub first: String,
    pub cells: Vec<Cell>,
}

pub struct CohortRow {
    pub month: String,
    pub accounts: u64,
    pub cells: Vec<Cell>,
}

/// Everything shown once the filters are valid.
pub struct Figures {
    /// The filters match no account, so every number below is zero.
    pub no_account: bool,
    pub cards: Vec<Card>,
    pub mrr_chart: Chart,
    pub movements_chart: Chart,
    pub churn_chart: Chart,
    pub retention_chart: Chart,
    pub report: Vec<Row>,
    pub movements: Vec<Row>,
    pub cohort_months: Vec<u32>,
    pub cohorts: Vec<CohortRow>,
    pub economics: Vec<Row>,
}

#[derive(Template)]
#[template(path = "metrics.html")]
pub struct MetricsPage {
    pub frame: Frame,
    pub t: Labels,
    pub form: Form,
    pub errors: Vec<String>,
    /// The query string of the shown figures, for the CSV links.
    pub query: String,
    pub figures: Option<Figures>,
}

/// Every string on the page, in the reader's language.
pub struct Labels {
    pub from: &'static str,
    pub to: &'static str,
    pub interval: &'static str,
    pub owner: &'static str,
    pub team: &'static str,
    pub tier: &'static str,
    pub stage: &'static str,
    pub touch_model: &'static str,
    pub custom: &'static str,
    pub product: &'static str,
    pub report_columns: [&'static str; 12],
    pub movement_columns: [&'static str; 6],
    pub economics_columns: [&'static str; 8],
}

impl Labels {
    fn new(lang: Lang) -> Labels {
        let t = |ja, en| Text::new(ja, en).pick(lang);
        Labels {
            from: t("開始日", "From"),
            to: t("終了日", "To"),
            interval: t("集計単位", "Interval"),
            owner: t("担当者（副担当を含む）", "Owner (incl. sub owner)"),
            team: t("チーム", "Team"),
            tier: t("ティア", "Tier"),
            stage: t("ステージ", "Stage"),
            touch_model: t("タッチモデル", "Touch model"),
            custom: t("カスタム項目", "Custom field"),
            product: t("製品", "Product"),
            report_columns: [
                t("期首 MRR", "MRR at start"),
                t("期末 MRR", "MRR at end"),
                t("期末 ARR", "ARR at end"),
                t("期末顧客数", "Customers at end"),
                t("解約顧客数", "Churned customers"),
                t("顧客解約率", "Customer churn rate"),
                t("グロス MRR 解約率", "Gross MRR churn"),
                t("ネット MRR 解約率", "Net MRR churn"),
                t("NRR", "NRR"),
                t("GRR", "GRR"),
                t("クイックレシオ", "Quick ratio"),
                t("ARPA", "ARPA"),
            ],
            movement_columns: [
                t("新規", "New"),
                t("拡大", "Expansion"),
                t("再開", "Reactivation"),
                t("縮小", "Contraction"),
                t("解約", "Churn"),
                t("純増減", "Net"),
            ],
            economics_columns: [
                t("営業・マーケティング費用", "Sales & marketing spend"),
                t("新規顧客数", "New accounts"),
                t("新規 MRR", "New MRR"),
                t("CAC", "CAC"),
                t("CAC 回収期間（月）", "CAC payback (months)"),
                t("ARPA", "ARPA"),
                t("LTV", "LTV"),
                t("LTV/CAC", "LTV/CAC"),
            ],
        }
    }

    /// The form label of a query parameter, to name it in an error.
    fn field(&self, name: &str) -> &'static str {
        match name {
            "from" => self.from,
            "to" => self.to,
            "interval" => self.interval,
            "owner" => self.owner,
            "team" => self.team,
            "tier" => self.tier,
            "stage" => self.stage,
            "touch_model" => self.touch_model,
            "custom" => self.custom,
            "product" => self.product,
            _ => "",
        }
    }
}

fn interval_name(key: &str, lang: Lang) -> &'static str {
    let t = |ja, en| Text::new(ja, en).pick(lang);
    match key {
        "day" => t("日", "Day"),
        "week" => t("週", "Week"),
        "month" => t("月", "Month"),
        "quarter" => t("四半期", "Quarter"),
        _ => t("会計年度", "Fiscal year"),
    }
}

/// The form with the reader's values; `from` and `to` as used when the filters were valid.
async fn form(app: &AppState, params: &QueryParams, shown: Option<&Selection>, lang: Lang) -> Result<Form, ApiError> {
    let raw = |name: &str| params.text(name).unwrap_or_default();
    let users = app.staff_users().await?;
    let teams = app.teams().await?;
    let products = app.products().await?;
    let interval = params.text("interval").unwrap_or_else(|| "month".into());
    Ok(Form {
        from: shown.map_or_else(|| raw("from"), |s| s.from.to_string()),
        to: shown.map_or_else(|| raw("to"), |s| s.to.to_string()),
        tier: raw("tier"),
        stage: raw("stage"),
        custom: raw("custom"),
        intervals: choices(
            ["day", "week", "month", "quarter", "fiscal_year"]
                .map(|k| (k.to_owned(), interval_name(k, lang).to_owned())),
            Some(&interval),
        ),
        owners: choices(users.into_iter().map(|u| (u.id.0.to_string(), u.input.name)), Some(&raw("owner"))),
        teams: choices(teams.into_iter().map(|t| (t.id.0.to_string(), t.name)), Some(&raw("team"))),
        touch_models: choices(
            TouchModel::ALL.map(|m| (m.as_str().to_owned(), m.name(lang).to_owned())),
            Some(&raw("touch_model").to_lowercase()),
        ),
        products: choices(products.into_iter().map(|p| (p.clone(), p)), Some(&raw("product"))),
    })
}

/// The filters of the shown figures as a query string (the CSV links repeat it).
fn query_of(params: &QueryParams, selection: &Selection) -> String {
    let mut pairs: Vec<(&str, String)> = vec![("from", selection.from.to_string()), ("to", selection.to.to_string())];
    for name in FIELDS.iter().skip(2) {
        if let Some(value) = params.text(name) {
            pairs.push((name, value));
        }
    }
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

/// 「2024年度」 / "FY2024" (a fiscal year is named by the year it starts in), 「2024年 第2四半期」 /
/// "2024 Q2", a month as `2024-04`, a day or week by its first day.
fn period_label(report_first: NaiveDate, interval: Interval, lang: Lang) -> String {
    use chrono::Datelike;
    let year = report_first.year();
    match (interval, lang) {
        (Interval::Month, _) => YearMonth::of(report_first).to_string(),
        (Interval::Quarter, Lang::Ja) => format!("{year}年 第{}四半期", report_first.month0() / 3 + 1),
        (Interval::Quarter, Lang::En) => format!("{year} Q{}", report_first.month0() / 3 + 1),
        (Interval::FiscalYear(_), Lang::Ja) => format!("{year}年度"),
        (Interval::FiscalYear(_), Lang::En) => format!("FY{year}"),
        _ => format::date(Some(report_first), lang),
    }
}

/// One figure of a period, for a chart.
type Figure = fn(&PeriodReport) -> f64;

fn to_f64(value: Decimal) -> f64 {
    value.to_f64().unwrap_or_default()
}

fn percent_points(ratio: Option<Decimal>) -> Option<f64> {
    ratio.map(|r| to_f64(r) * 100.0)
}

fn change(from: Decimal, to: Decimal) -> &'static str {
    match to.cmp(&from) {
        std::cmp::Ordering::Greater => "up",
        std::cmp::Ordering::Less => "down",
        std::cmp::Ordering::Equal => "",
    }
}

/// `+¥1,200 (+3.4%)`: the change of money over the range, and relative to where it started.
fn money_change(start: Money, end: Money, currency: &Currency, lang: Lang) -> String {
    let relative = if start.0.is_zero() {
        String::new()
    } else {
        let ratio = (end.0 - start.0) / start.0;
        let sign = if ratio > Decimal::ZERO { "+" } else { "" };
        format!(" ({sign}{})", format::percent(Some(to_f64(ratio))))
    };
    format!("{}{relative}", format::money_change(end - start, currency, lang))
}

fn cards(
    reports: &[PeriodReport],
    trailing: Option<&PeriodReport>,
    t: &Labels,
    currency: &Currency,
    lang: Lang,
) -> Vec<Card> {
    let trailing_label = |ja, en| Text::new(ja, en).pick(lang);
    let trailing_days =
        trailing.map_or_else(String::new, |r| format::day_range(r.period.first(), r.period.last(), lang));
    let mut cards = Vec::new();
    if let (Some(first), Some(last)) = (reports.first(), reports.last()) {
        cards.push(Card {
            id: "mrr",
            label: "MRR",
            value: Cell::money(last.mrr_end, currency, lang),
            change: money_change(first.mrr_start, last.mrr_end, currency, lang),
            trend: change(first.mrr_start.0, last.mrr_end.0),
        });
        cards.push(Card {
            id: "arr",
            label: "ARR",
            value: Cell::money(last.arr_end, currency, lang),
            change: money_change(first.arr_start, last.arr_end, currency, lang),
            trend: change(first.arr_start.0, last.arr_end.0),
        });
        let delta = last.customers_end as i64 - first.customers_start as i64;
        cards.push(Card {
            id: "customers",
            label: t.report_columns[3],
            value: Cell::number(last.customers_end),
            change: format!("{delta:+}"),
            trend: change(Decimal::from(first.customers_start), Decimal::from(last.customers_end)),
        });
    }
    cards.push(Card {
        id: "nrr",
        label: trailing_label("NRR（直近12か月）", "NRR (trailing 12 months)"),
        value: Cell::percent(trailing.and_then(|r| r.nrr)),
        change: trailing_days.clone(),
        trend: "",
    });
    cards.push(Card {
        id: "grr",
        label: trailing_label("GRR（直近12か月）", "GRR (trailing 12 months)"),
        value: Cell::percent(trailing.and_then(|r| r.grr)),
        change: trailing_days.clone(),
        trend: "",
    });
    cards
}

fn movement_cell(sum: &MovementSum, currency: &Currency, lang: Lang) -> Cell {
    let mut cell = Cell::money(sum.amount, currency, lang);
    cell.note = sum.count.to_string();
    cell
}

/// A cohort cell's background: white to Okabe–Ito blue by retained revenue (100% and above the
/// darkest), with black or white text, whichever contrasts more (always at least 4.5:1).
fn heat(ratio: Option<Decimal>) -> String {
    let Some(share) = ratio.map(|r| to_f64(r).clamp(0.0, 1.0)) else { return String::new() };
    let mix = |white: f64, blue: f64| white + (blue - white) * share;
    let rgb = [mix(255.0, 0.0), mix(255.0, 114.0), mix(255.0, 178.0)];
    let linear = |c: f64| {
        let c = c / 255.0;
        if c <= 0.03928 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let luminance = 0.2126 * linear(rgb[0]) + 0.7152 * linear(rgb[1]) + 0.0722 * linear(rgb[2]);
    let text = if 1.05 / (luminance + 0.05) > (luminance + 0.05) / 0.05 { "#ffffff" } else { "#000000" };
    format!("background-color: rgb({:.0}, {:.0}, {:.0}); color: {text}", rgb[0], rgb[1], rgb[2])
}

fn cohort_rows(cohorts: &[Cohort]) -> (Vec<u32>, Vec<CohortRow>) {
    let longest = cohorts.iter().map(|c| c.months.len()).max().unwrap_or(0);
    let months = (0..longest as u32).collect();
    let rows = cohorts
        .iter()
        .map(|c| CohortRow {
            month: c.month.to_string(),
            accounts: c.accounts,
            cells: c
                .months
                .iter()
                .map(|m| {
                    let mut cell = Cell::percent(m.revenue_retention);
                    cell.style = heat(m.revenue_retention);
                    cell.note = m.paying_accounts.to_string();
                    cell
                })
                .collect(),
        })
        .collect();
    (months, rows)
}

fn rate_or_dash(value: Option<Decimal>, decimals: u32) -> Cell {
    match value {
        Some(v) => Cell::of(v.round_dp(decimals).to_string(), v.to_string()),
        None => Cell::of("—".into(), String::new()),
    }
}

async fn figures(app: &AppState, s: &Selection, t: &Labels, lang: Lang) -> Result<Figures, ApiError> {
    let currency = app.settings().currency;
    let reports = app.metrics_report(&s.filter, s.interval, s.from, s.to).await?;
    let trailing = app.metrics_trailing_year(&s.filter, s.to).await?;
    let cohorts = app.metrics_cohorts(&s.filter, YearMonth::of(s.from), YearMonth::of(s.to)).await?;
    let economics = app.metrics_unit_economics(&s.filter, s.interval, s.from, s.to).await?;
    let labels: Vec<String> = reports.iter().map(|r| period_label(r.period.first(), s.interval, lang)).collect();
    let series = |value: fn(&PeriodReport) -> f64| reports.iter().map(value).collect::<Vec<f64>>();
    let rates = |value: fn(&PeriodReport) -> Option<Decimal>| {
        reports.iter().map(|r| percent_points(value(r))).collect::<Vec<_>>()
    };
    let mrr_chart = Chart::line(
        "mrr-chart",
        labels.clone(),
        vec![
            Dataset::new("MRR", series(|r| to_f64(r.mrr_end.0))),
            Dataset::new("ARR", series(|r| to_f64(r.arr_end.0))).on_right_axis(),
        ],
    )
    .money()
    .with_right_axis("money");
    let kinds: [(&str, &str, Figure); 5] = [
        (t.movement_columns[0], "#009E73", |r| to_f64(r.movements.new.amount.0)),
        (t.movement_columns[1], "#0072B2", |r| to_f64(r.movements.expansion.amount.0)),
        (t.movement_columns[2], "#56B4E9", |r| to_f64(r.movements.reactivation.amount.0)),
        (t.movement_columns[3], "#E69F00", |r| to_f64(r.movements.contraction.amount.0)),
        (t.movement_columns[4], "#D55E00", |r| to_f64(r.movements.churn.amount.0)),
    ];
    let movements_chart = Chart::bar(
        "movements-chart",
        labels.clone(),
        kinds.iter().map(|(label, colour, value)| Dataset::new(*label, series(*value)).colour(colour)).collect(),
    )
    .money()
    .stacked();
    let churn_chart = Chart::line(
        "churn-chart",
        labels.clone(),
        vec![
            Dataset::sparse(t.report_columns[5], rates(|r| r.customer_churn_rate)),
            Dataset::sparse(t.report_columns[6], rates(|r| r.gross_mrr_churn_rate)),
        ],
    )
    .percent();
    let retention_chart = Chart::line(
        "retention-chart",
        labels.clone(),
        vec![Dataset::sparse("NRR", rates(|r| r.nrr)), Dataset::sparse("GRR", rates(|r| r.grr))],
    )
    .percent();
    let row = |first: NaiveDate, label: &String, cells: Vec<Cell>| Row {
        period: label.clone(),
        first: first.to_string(),
        cells,
    };
    let report = reports
        .iter()
        .zip(&labels)
        .map(|(r, label)| {
            row(
                r.period.first(),
                label,
                vec![
                    Cell::money(r.mrr_start, &currency, lang),
                    Cell::money(r.mrr_end, &currency, lang),
                    Cell::money(r.arr_end, &currency, lang),
                    Cell::number(r.customers_end),
                    Cell::number(r.churned_customers),
                    Cell::percent(r.customer_churn_rate),
                    Cell::percent(r.gross_mrr_churn_rate),
                    Cell::percent(r.net_mrr_churn_rate),
                    Cell::percent(r.nrr),
                    Cell::percent(r.grr),
                    rate_or_dash(r.quick_ratio, 2),
                    Cell::optional_money(r.arpa, &currency, lang),
                ],
            )
        })
        .collect();
    let movements = reports
        .iter()
        .zip(&labels)
        .map(|(r, label)| {
            let m = &r.movements;
            row(
                r.period.first(),
                label,
                vec![
                    movement_cell(&m.new, &currency, lang),
                    movement_cell(&m.expansion, &currency, lang),
                    movement_cell(&m.reactivation, &currency, lang),
                    movement_cell(&m.contraction, &currency, lang),
                    movement_cell(&m.churn, &currency, lang),
                    Cell::money(m.net(), &currency, lang),
                ],
            )
        })
        .collect();
    let economics = economics
        .iter()
        .map(|e| {
            let label = period_label(e.period.first(), s.interval, lang);
            row(
                e.period.first(),
                &label,
                vec![
                    Cell::optional_money(e.sales_marketing_spend, &currency, lang),
                    Cell::number(e.new_accounts),
                    Cell::money(e.new_mrr, &currency, lang),
                    Cell::optional_money(e.cac, &currency, lang),
                    rate_or_dash(e.cac_payback_months, 1),
                    Cell::optional_money(e.ltv.arpa, &currency, lang),
                    Cell::optional_money(e.ltv.ltv, &currency, lang),
                    rate_or_dash(e.ltv_to_cac, 2),
                ],
            )
        })
        .collect();
    let (cohort_months, cohorts) = cohort_rows(&cohorts);
    Ok(Figures {
        no_account: app.metrics_choose_no_account(&s.filter).await?,
        cards: cards(&reports, trailing.as_ref(), t, &currency, lang),
        mrr_chart,
        movements_chart,
        churn_chart,
        retention_chart,
        report,
        movements,
        cohort_months,
        cohorts,
        economics,
    })
}

/// Each bad filter, named by its label and parameter, in the reader's language.
fn messages(errors: &[FieldError], t: &Labels, lang: Lang) -> Vec<String> {
    errors
        .iter()
        .map(|e| match t.field(&e.field) {
            "" => format!("{}: {}", e.field, e.message(lang)),
            label => format!("{label} ({}): {}", e.field, e.message(lang)),
        })
        .collect()
}

pub async fn page(State(app): State<AppState>, frame: Frame, mut params: QueryParams) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let t = Labels::new(lang);
    let selection = select(&app, &mut params);
    let errors = std::mem::take(&mut params.errors);
    let (status, shown, figures) = if errors.is_empty() {
        (StatusCode::OK, Some(&selection), Some(figures(&app, &selection, &t, lang).await?))
    } else {
        (StatusCode::UNPROCESSABLE_ENTITY, None, None)
    };
    let template = MetricsPage {
        form: form(&app, &params, shown, lang).await?,
        query: query_of(&params, &selection),
        errors: messages(&errors, &t, lang),
        frame: frame.at("metrics"),
        t,
        figures,
    };
    Ok((status, render(&template, "metrics")?).into_response())
}

/// The CSV tables: columns are the API's field names (stable English keys, as JSON pointers into
/// the API's objects), values exactly as the API reports them.
const REPORT_COLUMNS: [(&str, &str); 18] = [
    ("period_first", "/period/first"),
    ("period_last", "/period/last"),
    ("mrr_start", "/mrr_start"),
    ("mrr_end", "/mrr_end"),
    ("arr_start", "/arr_start"),
    ("arr_end", "/arr_end"),
    ("customers_start", "/customers_start"),
    ("customers_end", "/customers_end"),
    ("churned_customers", "/churned_customers"),
    ("retained_mrr", "/retained_mrr"),
    ("gross_retained_mrr", "/gross_retained_mrr"),
    ("customer_churn_rate", "/customer_churn_rate"),
    ("gross_mrr_churn_rate", "/gross_mrr_churn_rate"),
    ("net_mrr_churn_rate", "/net_mrr_churn_rate"),
    ("nrr", "/nrr"),
    ("grr", "/grr"),
    ("quick_ratio", "/quick_ratio"),
    ("arpa", "/arpa"),
];

const MOVEMENT_COLUMNS: [(&str, &str); 12] = [
    ("period_first", "/period/first"),
    ("period_last", "/period/last"),
    ("new_mrr", "/movements/new/amount"),
    ("new_count", "/movements/new/count"),
    ("expansion_mrr", "/movements/expansion/amount"),
    ("expansion_count", "/movements/expansion/count"),
    ("reactivation_mrr", "/movements/reactivation/amount"),
    ("reactivation_count", "/movements/reactivation/count"),
    ("contraction_mrr", "/movements/contraction/amount"),
    ("contraction_count", "/movements/contraction/count"),
    ("churn_mrr", "/movements/churn/amount"),
    ("churn_count", "/movements/churn/count"),
];

const COHORT_COLUMNS: [(&str, &str); 8] = [
    ("cohort", "/cohort"),
    ("accounts", "/accounts"),
    ("k", "/at/k"),
    ("month", "/at/month"),
    ("paying_accounts", "/at/paying_accounts"),
    ("mrr", "/at/mrr"),
    ("logo_retention", "/at/logo_retention"),
    ("revenue_retention", "/at/revenue_retention"),
];

const ECONOMICS_COLUMNS: [(&str, &str); 11] = [
    ("period_first", "/period/first"),
    ("period_last", "/period/last"),
    ("sales_marketing_spend", "/sales_marketing_spend"),
    ("new_accounts", "/new_accounts"),
    ("new_mrr", "/new_mrr"),
    ("cac", "/cac"),
    ("cac_payback_months", "/cac_payback_months"),
    ("arpa", "/ltv/arpa"),
    ("mean_monthly_customer_churn_rate", "/ltv/mean_monthly_customer_churn_rate"),
    ("ltv", "/ltv/ltv"),
    ("ltv_to_cac", "/ltv_to_cac"),
];

/// The columns that hold money: written in the currency's units (`12000` yen, not `12000.00`);
/// reported amounts keep their two decimals only when they have them.
const MONEY_COLUMNS: [&str; 16] = [
    "mrr_start",
    "mrr_end",
    "arr_start",
    "arr_end",
    "retained_mrr",
    "gross_retained_mrr",
    "arpa",
    "new_mrr",
    "expansion_mrr",
    "reactivation_mrr",
    "contraction_mrr",
    "churn_mrr",
    "mrr",
    "sales_marketing_spend",
    "cac",
    "ltv",
];

fn csv_of(columns: &[(&str, &str)], rows: &[Value], currency: &domain::Currency) -> Result<String, ApiError> {
    let fault = |e: csv::Error| ApiError::Internal(format!("metrics CSV: {e}"));
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(columns.iter().map(|(name, _)| *name)).map_err(fault)?;
    for row in rows {
        writer
            .write_record(columns.iter().map(|(name, pointer)| match row.pointer(pointer) {
                Some(Value::String(text)) if MONEY_COLUMNS.contains(name) => {
                    match text.parse::<rust_decimal::Decimal>() {
                        Ok(amount) => domain::money::plain_decimal(amount, currency.decimals()),
                        Err(_) => neutralise_formula(text).into_owned(),
                    }
                }
                Some(Value::String(text)) => neutralise_formula(text).into_owned(),
                Some(Value::Null) | None => String::new(),
                Some(other) => neutralise_formula(&other.to_string()).into_owned(),
            }))
            .map_err(fault)?;
    }
    let bytes = writer.into_inner().map_err(|e| ApiError::Internal(format!("metrics CSV: {e}")))?;
    String::from_utf8(bytes).map_err(|e| ApiError::Internal(format!("metrics CSV: {e}")))
}

fn json_rows<T: serde::Serialize>(items: &[T]) -> Result<Vec<Value>, ApiError> {
    items
        .iter()
        .map(|item| serde_json::to_value(item).map_err(|e| ApiError::Internal(format!("metrics CSV: {e}"))))
        .collect()
}

fn cohort_json(cohorts: &[Cohort]) -> Result<Vec<Value>, ApiError> {
    let mut rows = Vec::new();
    for cohort in cohorts {
        for at in json_rows(&cohort.months)? {
            rows.push(serde_json::json!({"cohort": cohort.month.to_string(), "accounts": cohort.accounts, "at": at}));
        }
    }
    Ok(rows)
}

/// `/metrics/export/{table}`: one of the page's tables as CSV, for the same query string.
pub async fn export(
    State(app): State<AppState>,
    Path(table): Path<String>,
    mut params: QueryParams,
) -> Result<Response, ApiError> {
    let s = select(&app, &mut params);
    let encoding = crate::api::interchange::export_encoding(&mut params);
    params.finish()?;
    let (columns, rows): (&[(&str, &str)], Vec<Value>) = match table.as_str() {
        "report" | "movements" => {
            let reports = app.metrics_report(&s.filter, s.interval, s.from, s.to).await?;
            let columns: &[(&str, &str)] = if table == "report" { &REPORT_COLUMNS } else { &MOVEMENT_COLUMNS };
            (columns, json_rows(&reports)?)
        }
        "cohorts" => {
            let cohorts = app.metrics_cohorts(&s.filter, YearMonth::of(s.from), YearMonth::of(s.to)).await?;
            (&COHORT_COLUMNS, cohort_json(&cohorts)?)
        }
        "unit-economics" => {
            let economics: Vec<AcquisitionReport> =
                app.metrics_unit_economics(&s.filter, s.interval, s.from, s.to).await?;
            (&ECONOMICS_COLUMNS, json_rows(&economics)?)
        }
        _ => return Err(ApiError::NotFound),
    };
    let text = csv_of(columns, &rows, &app.settings().currency)?;
    let bytes = crate::api::interchange::encode_csv(&text, encoding)?;
    Ok(crate::api::interchange::csv_download(&format!("kizuna-{table}-{}-{}.csv", s.from, s.to), bytes, encoding))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fiscal_years_and_quarters_are_named_as_each_reader_expects() {
        let april = NaiveDate::from_ymd_opt(2024, 4, 1).unwrap();
        let fiscal = Interval::FiscalYear(domain::metrics::FiscalYearStart::new(4).unwrap());
        assert_eq!(period_label(april, fiscal, Lang::Ja), "2024年度");
        assert_eq!(period_label(april, fiscal, Lang::En), "FY2024");
        assert_eq!(period_label(april, Interval::Quarter, Lang::Ja), "2024年 第2四半期");
        assert_eq!(period_label(april, Interval::Quarter, Lang::En), "2024 Q2");
    }
}
