//! `/`: the home dashboard — MRR and ARR with their change, trailing-12-month NRR and GRR, logo
//! churn by month, the MRR movements waterfall of the last 12 months, the grade distribution,
//! renewals in the next 90 days, accounts whose grade dropped this week and onboarding accounts.
//! The figures come from the same use cases as the metrics API, over the same default range.

use super::chart::{Chart, Dataset};
use super::{format, Frame};
use crate::problem::ApiError;
use crate::AppState;
use app::health_history::HOME_GRADE_DROP_DAYS;
use app::metrics::MetricsFilter;
use askama::Template;
use axum::extract::State;
use axum::response::Html;
use chrono::Days;
use domain::account::Account;
use domain::health::HealthConfig;
use domain::i18n::{Lang, Text};
use domain::metrics::{Interval, PeriodReport};
use domain::Money;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use store::{AccountQuery, AccountSort};

const RENEWAL_DAYS: u64 = 90;
const LIST_ROWS: i64 = 10;

pub struct Card {
    pub id: &'static str,
    pub label: &'static str,
    pub value: String,
    pub change: String,
    pub change_class: &'static str,
}

pub struct AccountLine {
    pub id: i64,
    pub name: String,
    pub cells: Vec<String>,
    pub grade: String,
    pub grade_colour: String,
}

#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    pub frame: Frame,
    pub cards: Vec<Card>,
    pub mrr_chart: Chart,
    pub churn_chart: Chart,
    pub waterfall: Chart,
    pub waterfall_rows: Vec<(String, String)>,
    pub grade_chart: Chart,
    pub grade_rows: Vec<(String, String, i64, String)>,
    pub renewals: Vec<AccountLine>,
    pub renewals_total: String,
    pub drops: Vec<AccountLine>,
    pub onboarding: Vec<AccountLine>,
    pub onboarding_total: String,
}

fn number(money: Money) -> f64 {
    money.0.to_f64().unwrap_or_default()
}

fn ratio_percent(ratio: Option<Decimal>) -> Option<f64> {
    ratio.and_then(|r| r.to_f64()).map(|r| r * 100.0)
}

fn percent_text(ratio: Option<Decimal>) -> String {
    ratio_percent(ratio).map_or("—".into(), |p| format!("{p:.1}%"))
}

fn month_label(report: &PeriodReport, lang: Lang) -> String {
    let first = report.period.first();
    match lang {
        Lang::Ja => first.format("%Y/%m").to_string(),
        Lang::En => first.format("%b %Y").to_string(),
    }
}

/// Change as money with a sign, and its colour class.
fn money_change(change: Money, app: &AppState, lang: Lang) -> (String, &'static str) {
    let class = match change.0.cmp(&Decimal::ZERO) {
        std::cmp::Ordering::Greater => "up",
        std::cmp::Ordering::Less => "down",
        std::cmp::Ordering::Equal => "",
    };
    (format::money_change(change, &app.settings().currency, lang), class)
}

fn waterfall(reports: &[PeriodReport], lang: Lang, app: &AppState) -> (Chart, Vec<(String, String)>) {
    let t = |ja, en| Text::new(ja, en).pick(lang);
    let (Some(first), Some(last)) = (reports.first(), reports.last()) else {
        return (Chart::bar("waterfall", Vec::new(), Vec::new()), Vec::new());
    };
    let sum = |pick: fn(&PeriodReport) -> Money| reports.iter().fold(Money(Decimal::ZERO), |acc, r| acc + pick(r));
    let steps: [(&str, Money); 5] = [
        (t("新規", "New"), sum(|r| r.movements.new.amount)),
        (t("拡大", "Expansion"), sum(|r| r.movements.expansion.amount)),
        (t("再開", "Reactivation"), sum(|r| r.movements.reactivation.amount)),
        (t("縮小", "Contraction"), sum(|r| r.movements.contraction.amount)),
        (t("解約", "Churn"), sum(|r| r.movements.churn.amount)),
    ];
    let currency = app.settings().currency;
    let mut labels = vec![t("期首 MRR", "MRR at start").to_owned()];
    let mut ranges = vec![(0.0, number(first.mrr_start))];
    let mut colours = vec!["#0072B2".to_owned()];
    let mut rows = vec![(labels[0].clone(), format::money(first.mrr_start, &currency, lang))];
    let mut level = number(first.mrr_start);
    for (label, amount) in steps {
        let next = level + number(amount);
        labels.push(label.to_owned());
        ranges.push((level, next));
        colours.push(if amount.0 < Decimal::ZERO { "#D55E00".into() } else { "#009E73".into() });
        rows.push((label.to_owned(), money_change(amount, app, lang).0));
        level = next;
    }
    labels.push(t("期末 MRR", "MRR at end").to_owned());
    ranges.push((0.0, number(last.mrr_end)));
    colours.push("#0072B2".into());
    rows.push((t("期末 MRR", "MRR at end").to_owned(), format::money(last.mrr_end, &currency, lang)));
    let chart = Chart::bar("waterfall", labels, vec![Dataset::floating("MRR", ranges).colours(colours)]).money();
    (chart, rows)
}

fn line(account: &Account, config: &HealthConfig, cells: Vec<String>, lang: Lang) -> AccountLine {
    let (grade, grade_colour) = format::account_grade(config, account, lang);
    AccountLine { id: account.id.0, name: account.input.name.clone(), cells, grade, grade_colour }
}

pub async fn page(State(app): State<AppState>, frame: Frame) -> Result<Html<String>, ApiError> {
    let lang = frame.lang;
    let t = |ja, en| Text::new(ja, en).pick(lang);
    let today = app.today();
    let currency = app.settings().currency;
    let filter = MetricsFilter::default();
    let from = app::metrics::year_ending(today);
    let reports = app.metrics_report(&filter, Interval::Month, from, today).await?;
    let trailing = app.metrics_trailing_year(&filter, today).await?;
    let config = app.health_config().await?;

    let mut cards = Vec::new();
    if let (Some(first), Some(last)) = (reports.first(), reports.last()) {
        let (mrr_change, mrr_class) = money_change(last.mrr_end - last.mrr_start, &app, lang);
        cards.push(Card {
            id: "mrr",
            label: t("MRR", "MRR"),
            value: format::money(last.mrr_end, &currency, lang),
            change: format!("{mrr_change} {}", t("（今月）", "this month")),
            change_class: mrr_class,
        });
        let (arr_change, arr_class) = money_change(last.arr_end - first.arr_start, &app, lang);
        cards.push(Card {
            id: "arr",
            label: t("ARR", "ARR"),
            value: format::money(last.arr_end, &currency, lang),
            change: format!("{arr_change} {}", t("（12か月）", "over 12 months")),
            change_class: arr_class,
        });
        cards.push(Card {
            id: "customers",
            label: t("有料顧客", "Paying customers"),
            value: last.customers_end.to_string(),
            change: format!(
                "{:+} {}",
                last.customers_end as i64 - first.customers_start as i64,
                t("（12か月）", "over 12 months")
            ),
            change_class: "",
        });
    }
    // The days counted, so a reader comparing with /metrics (which ends on a closed month by
    // default) sees why the two differ.
    let trailing_label = trailing.as_ref().map_or_else(
        || t("（直近12か月）", "trailing 12 months").to_owned(),
        |r| {
            let days = format::day_range(r.period.first(), r.period.last(), lang);
            lang.pick(format!("（直近12か月: {days}）"), format!("trailing 12 months: {days}"))
        },
    );
    cards.push(Card {
        id: "nrr",
        label: t("NRR", "NRR"),
        value: percent_text(trailing.as_ref().and_then(|r| r.nrr)),
        change: trailing_label.clone(),
        change_class: "",
    });
    cards.push(Card {
        id: "grr",
        label: t("GRR", "GRR"),
        value: percent_text(trailing.as_ref().and_then(|r| r.grr)),
        change: trailing_label.clone(),
        change_class: "",
    });
    cards.push(Card {
        id: "logo-churn",
        label: t("顧客の解約率", "Logo churn"),
        value: percent_text(trailing.as_ref().and_then(|r| r.customer_churn_rate)),
        change: trailing_label.clone(),
        change_class: "",
    });

    let labels: Vec<String> = reports.iter().map(|r| month_label(r, lang)).collect();
    let mrr_chart =
        Chart::line("mrr-trend", labels.clone(), vec![Dataset::new("MRR", reports.iter().map(|r| number(r.mrr_end)))])
            .money();
    let churn_chart = Chart::bar(
        "churn-trend",
        labels,
        vec![Dataset::sparse(
            t("顧客の解約率", "Logo churn"),
            reports.iter().map(|r| ratio_percent(r.customer_churn_rate)),
        )
        .colour("#D55E00")],
    )
    .percent();
    let (waterfall, waterfall_rows) = waterfall(&reports, lang, &app);

    let grade_rows: Vec<(String, String, i64, String)> = app
        .grade_distribution()
        .await?
        .into_iter()
        .filter(|g| g.grade != domain::health::UNKNOWN_GRADE || g.accounts > 0)
        .map(|g| {
            let name = lang.pick(g.name_ja, g.name_en);
            (name, g.colour, g.accounts as i64, format::money(g.arr, &currency, lang))
        })
        .collect();
    let grade_chart = Chart::bar(
        "grade-distribution",
        grade_rows.iter().map(|(name, ..)| name.clone()).collect(),
        vec![Dataset::new(t("顧客数", "Accounts"), grade_rows.iter().map(|(_, _, n, _)| *n as f64))
            .colours(grade_rows.iter().map(|(_, c, ..)| c.clone()).collect())],
    );

    let horizon = today.checked_add_days(Days::new(RENEWAL_DAYS)).unwrap_or(today);
    // The renewals still to happen, each with the ARR it puts up for renewal (as /renewals
    // shows it: an add-on billed monthly is not part of an annual term's renewal).
    let (upcoming, shown) = app.upcoming_renewals(today, horizon, LIST_ROWS as usize).await?;
    let renewals = shown
        .iter()
        .map(|r| {
            let cells = vec![format::date(Some(r.item.date), lang), format::money(r.item.arr, &currency, lang)];
            line(&r.account, &config, cells, lang)
        })
        .collect();

    let drops = app
        .grade_drops(HOME_GRADE_DROP_DAYS, Some(LIST_ROWS as usize))
        .await?
        .into_iter()
        .map(|d| {
            let (from, _) = format::grade(&config, Some(&d.from_grade), lang);
            let (to, colour) = format::grade(&config, Some(&d.to_grade), lang);
            AccountLine {
                id: d.account_id,
                name: d.name,
                cells: vec![format!("{from} → {to}"), format::score(d.score)],
                grade: to,
                grade_colour: colour,
            }
        })
        .collect();

    let onboarding_page = app
        .accounts(&AccountQuery {
            stage: Some("onboarding".into()),
            sort: AccountSort::Arr,
            descending: true,
            limit: LIST_ROWS,
            ..AccountQuery::default()
        })
        .await?;
    let onboarding = onboarding_page
        .items
        .iter()
        .map(|a| {
            let cells =
                vec![format::date(a.figures.first_paying_day, lang), format::money(a.figures.arr, &currency, lang)];
            line(a, &config, cells, lang)
        })
        .collect();

    let template = HomePage {
        cards,
        mrr_chart,
        churn_chart,
        waterfall,
        waterfall_rows,
        grade_chart,
        grade_rows,
        renewals,
        renewals_total: format::count(upcoming as i64),
        drops,
        onboarding,
        onboarding_total: format::count(onboarding_page.total),
        frame: frame.at("home"),
    };
    super::render(&template, "home")
}
