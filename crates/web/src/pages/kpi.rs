//! `/kpi`: the KPI tree drawn as a tree — each node's latest number against its target, its
//! trend and its owner team, what each child contributed to its parent's last change — with the
//! metrics filters applied to the whole tree; a company-phase template to start from; a node's
//! page (`/kpi/{key}`) with its chart, definition, monthly targets and the accounts behind it; and
//! the tree as TOML to adapt (`/kpi/edit`).

use super::chart::{Chart, Dataset};
use super::health::toml_errors;
use super::{format, render, Frame};
use crate::api::metrics::filter;
use crate::auth::Signed;
use crate::extract::{FormFields, Path, QueryParams};
use crate::problem::ApiError;
use crate::AppState;
use app::kpi::{kpi_bundle_toml, kpi_tree_toml, KpiBundle, KpiNodeView, KpiView, Phase, ScorecardOutcome, ValueKind};
use app::metrics::MetricsFilter;
use app::playbooks::parse_toml;
use app::AppError;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Datelike;
use domain::access::Access;
use domain::i18n::Lang;
use domain::kpi::{Direction, Metric, Relation, Status, Unit};
use domain::metrics::YearMonth;
use domain::{Currency, Money};
use rust_decimal::prelude::FromPrimitive;

/// A number as its unit reads.
fn number(value: Option<f64>, unit: Unit, currency: &Currency, lang: Lang) -> String {
    let Some(value) = value else { return "—".into() };
    match unit {
        Unit::Money => format::money(Money(rust_decimal::Decimal::from_f64(value).unwrap_or_default()), currency, lang),
        Unit::Percent => format::percent(Some(value)),
        Unit::Count => format::count(value.round() as i64),
        Unit::Number => format!("{value:.1}"),
    }
}

/// What one account counted for a node: an NPS answer, the days its onboarding took, its tickets,
/// seat activation, core-feature uses or health score, or an MRR movement or forecast miss, signed
/// (`+¥5,000`, `-¥3,000`).
fn account_value(metric: Option<Metric>, value: f64, currency: &Currency, lang: Lang) -> String {
    let count = format::count(value.round() as i64);
    match metric {
        Some(Metric::Nps | Metric::NpsAnswers) => format!("NPS {value}"),
        Some(Metric::OnboardingsCompleted | Metric::OnboardingDays) => format::days(value.round() as i64, lang),
        Some(Metric::OnboardingOnTime) if value <= 0.0 => match lang {
            Lang::Ja => "期限内に完了".into(),
            Lang::En => "done on time".into(),
        },
        Some(Metric::OnboardingOnTime) => match lang {
            Lang::Ja => format!("{}遅れ", format::days(value.round() as i64, lang)),
            Lang::En => format!("{} late", format::days(value.round() as i64, lang)),
        },
        Some(Metric::Tickets | Metric::TicketsPerAccount) => match lang {
            Lang::Ja => format!("{count} 件"),
            Lang::En => format!("{count} tickets"),
        },
        Some(Metric::SeatActivation) => format::percent(Some(value)),
        Some(Metric::CoreFeatureAdoption) => match lang {
            Lang::Ja => format!("コア機能 {count} 回"),
            Lang::En => format!("{count} core-feature uses"),
        },
        Some(Metric::HealthyShare | Metric::AtRiskShare | Metric::NewCustomersHealthy) => match lang {
            Lang::Ja => format!("スコア {value:.1}"),
            Lang::En => format!("score {value:.1}"),
        },
        _ => format::money_change(Money(rust_decimal::Decimal::from_f64(value).unwrap_or_default()), currency, lang),
    }
}

fn status_class(status: Status) -> &'static str {
    match status {
        Status::OnTarget => "on-target",
        Status::Near => "near-target",
        Status::OffTarget => "off-target",
        Status::Unknown => "no-target",
    }
}

fn status_text(status: Status, lang: Lang) -> &'static str {
    let t = |ja, en| lang.pick(ja, en);
    match status {
        Status::OnTarget => t("目標達成", "On target"),
        Status::Near => t("目標まであと少し", "Near target"),
        Status::OffTarget => t("目標未達", "Off target"),
        Status::Unknown => t("目標なし", "No target"),
    }
}

fn relation_text(relation: Option<Relation>, lang: Lang) -> &'static str {
    let t = |ja, en| lang.pick(ja, en);
    match relation {
        Some(Relation::Sum) => t("= 下の合計", "= the sum of the nodes below"),
        Some(Relation::Ratio) => t("= 下の 1 つ目 ÷ 2 つ目", "= the first node below ÷ the second"),
        Some(Relation::Driver) => t("下の指標が動かす", "moved by the nodes below"),
        None => "",
    }
}

fn direction_text(direction: Direction, lang: Lang) -> &'static str {
    match (direction, lang) {
        (Direction::Higher, Lang::Ja) => "高いほど良い",
        (Direction::Higher, Lang::En) => "higher is better",
        (Direction::Lower, Lang::Ja) => "低いほど良い",
        (Direction::Lower, Lang::En) => "lower is better",
    }
}

/// A node as the tree shows it.
pub struct NodeCard {
    pub key: String,
    pub name: String,
    pub owner: String,
    pub depth: usize,
    pub actual: String,
    /// The month `actual` is from when the latest month has none (else empty).
    pub actual_as_of: String,
    /// The month before's actual.
    pub before: String,
    pub target: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub relation: &'static str,
    /// What this node did to its parent's last change, in words.
    pub effect: String,
    pub trend: Chart,
    /// For a top goal: the accounts that moved it most in the latest month (id, name, amount).
    pub movers: Vec<(i64, String, String)>,
    /// The list markup before this node's item in the drawn tree (see `nesting`).
    pub lead: &'static str,
    pub closes: usize,
}

/// How the drawn tree nests a depth-first list of nodes: for each, whether it opens a list under
/// the node before (`<ul>`) or closes that node's item (`</li>`), and how many enclosing lists
/// it closes first; then how many lists stay open after the last. Nested lists are what the
/// connecting lines are drawn from.
fn nesting(depths: &[usize]) -> (Vec<(&'static str, usize)>, usize) {
    let mut previous: Option<usize> = None;
    let leads = depths
        .iter()
        .map(|&depth| {
            let lead = match previous {
                None => ("", 0),
                Some(before) if depth > before => ("<ul>", 0),
                Some(before) => ("</li>", before - depth),
            };
            previous = Some(depth);
            lead
        })
        .collect();
    (leads, previous.unwrap_or(0))
}

/// A section of the page: its title, its nodes and how many nested lists its last node leaves open.
pub struct Section {
    pub title: String,
    pub nodes: Vec<NodeCard>,
    pub closes: usize,
}

impl Section {
    fn new(title: String, mut nodes: Vec<NodeCard>) -> Section {
        let (leads, closes) = nesting(&nodes.iter().map(|n| n.depth).collect::<Vec<_>>());
        for (node, (lead, closing)) in nodes.iter_mut().zip(leads) {
            node.lead = lead;
            node.closes = closing;
        }
        Section { title, nodes, closes }
    }
}

/// Accounts a top goal names as the ones that moved it most.
const MOVERS: usize = 3;

/// The accounts that moved a node most in a month (id, name, what they counted for).
async fn movers(
    app: &AppState,
    filter: &MetricsFilter,
    metric: Option<Metric>,
    month: YearMonth,
    lang: Lang,
) -> Result<Vec<(i64, String, String)>, ApiError> {
    let currency = app.settings().currency;
    let mut found = Vec::new();
    for a in app.kpi_accounts(filter, metric, month).await?.into_iter().take(MOVERS) {
        let value = account_value(metric, a.value, &currency, lang);
        found.push((a.account_id, account_name(app, a.account_id).await?, value));
    }
    Ok(found)
}

#[derive(Template)]
#[template(path = "kpi.html")]
pub struct KpiPage {
    pub frame: Frame,
    pub latest: String,
    /// The whole tree (one untitled section), or a team's page: the company's goals, then its KPIs.
    pub sections: Vec<Section>,
    /// The owner teams named in the tree, and whether it is the one shown.
    pub owners: Vec<(String, bool)>,
    /// The phase templates offered (key, name, what it holds), before a tree exists or to replace it.
    pub phases: Vec<(&'static str, &'static str, &'static str)>,
    pub installed: bool,
    pub tier: String,
    pub teams: Vec<(i64, String, bool)>,
    pub segments: Vec<(i64, String, bool)>,
    pub notice: Option<&'static str>,
    pub filter_query: String,
}

fn phases(lang: Lang) -> Vec<(&'static str, &'static str, &'static str)> {
    let t = |ja, en| lang.pick(ja, en);
    vec![
        (
            Phase::Launch.key(),
            t("立ち上げ期", "Launch"),
            t(
                "解約率を KGI に、解約理由のヒアリング・利用の有無・NPS を見る。",
                "Logo churn as the goal; churn interviews, whether customers use the product, NPS.",
            ),
        ),
        (
            Phase::CsLaunch.key(),
            t("CS 立ち上げ期", "CS launch"),
            t(
                "解約率・アクティブ率・オンボーディング完了率と、MRR の純増を動き別に分解。",
                "Churn, active rate and onboarding completion; net new MRR broken into its movements.",
            ),
        ),
        (
            Phase::BestPractice.key(),
            t("ベストプラクティス期", "Best practice"),
            t(
                "NRR を共通の KGI に、GRR・拡大・解約・NPS を各チームの KPI に。ARPA = MRR ÷ 顧客数。",
                "NRR as the common goal with GRR, expansion, churn and NPS under it; ARPA = MRR ÷ accounts.",
            ),
        ),
    ]
}

/// What a child did to its parent's last change, or how it moved with it.
fn effect_text(parent: &KpiNodeView, key: &str, currency: &Currency, lang: Lang) -> String {
    let Some(effect) = parent.children.iter().find(|c| c.key == key) else { return String::new() };
    if let Some(part) = effect.contribution {
        let amount = number(Some(part), parent.node.unit(), currency, lang);
        let sign = if part > 0.0 { "+" } else { "" };
        return match lang {
            Lang::Ja => format!("先月からの「{}」の変化のうち {sign}{amount}", parent.node.name(lang)),
            Lang::En => format!("{sign}{amount} of the change in \"{}\" since last month", parent.node.name(lang)),
        };
    }
    match (effect.correlation, effect.correlation_months, lang) {
        (Some(r), Some(months), Lang::Ja) => format!("「{}」との相関 {r:.2}（{months} か月）", parent.node.name(lang)),
        (Some(r), Some(months), Lang::En) => {
            format!("correlation with \"{}\" {r:.2} ({months} months)", parent.node.name(lang))
        }
        _ => String::new(),
    }
}

fn trend_chart(id: &str, view: &KpiNodeView) -> Chart {
    Chart::line(id, vec![String::new(); view.actual.len()], vec![Dataset::sparse("", view.actual.iter().copied())])
        .sparkline()
}

/// Every node of a view as a card, each top goal with the accounts that moved it most.
async fn cards(app: &AppState, view: &KpiView, filter: &MetricsFilter, lang: Lang) -> Result<Vec<NodeCard>, ApiError> {
    let currency = app.settings().currency;
    let mut cards = Vec::with_capacity(view.nodes.len());
    for (i, node) in view.nodes.iter().enumerate() {
        let parent = node.node.parent.as_deref().and_then(|p| view.nodes.iter().find(|n| n.node.key == p));
        let unit = node.node.unit();
        let nth_last = |values: &[Option<f64>], back: usize| {
            number(values.len().checked_sub(1 + back).and_then(|i| values[i]), unit, &currency, lang)
        };
        // A number measured some months only (NPS asked twice a year) shows its latest value
        // and the month it is from, instead of a dash most of the year.
        let (actual, actual_as_of) = match node.actual.iter().rposition(Option::is_some) {
            Some(i) if i + 1 < node.actual.len() => (
                number(node.actual[i], unit, &currency, lang),
                view.months.get(i).map(|m| format::month_label(m.first_day(), lang)).unwrap_or_default(),
            ),
            _ => (nth_last(&node.actual, 0), String::new()),
        };
        let movers = match (node.depth, view.months.last()) {
            (0, Some(month)) => movers(app, filter, node.node.metric, *month, lang).await?,
            _ => Vec::new(),
        };
        cards.push(NodeCard {
            movers,
            key: node.node.key.clone(),
            name: node.node.name(lang).to_owned(),
            owner: node.node.owner.clone().unwrap_or_default(),
            depth: node.depth,
            actual,
            actual_as_of,
            before: nth_last(&node.actual, 1),
            target: nth_last(&node.target, 0),
            status: status_text(node.status, lang),
            status_class: status_class(node.status),
            relation: relation_text(node.node.children_relation, lang),
            effect: parent.map_or_else(String::new, |p| effect_text(p, &node.node.key, &currency, lang)),
            trend: trend_chart(&format!("kpi-trend-{i}"), node),
            lead: "",
            closes: 0,
        });
    }
    Ok(cards)
}

pub async fn tree(State(app): State<AppState>, frame: Frame, mut params: QueryParams) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let filter = filter(&mut params);
    let notice = match params.text("done").as_deref() {
        Some("installed") => Some(frame.pick("KPI ツリーを設定しました。", "The KPI tree is installed.")),
        Some("installed_with_scorecard") => Some(frame.pick(
            "KPI ツリーと、テンプレートのヘルススコアカード・セグメント・プレイブック（停止中）を設定しました。",
            "The KPI tree is installed with the template's health scorecard, segments and playbooks (paused).",
        )),
        Some("installed_first_scorecard") => Some(frame.pick(
            "KPI ツリーとセグメント・プレイブック（停止中）を設定しました。保存済みのヘルススコアカードがなかったため、テンプレートのスコアカードを使います。",
            "The KPI tree is installed with its segments and playbooks (paused). The workspace had no saved health scorecard, so it now uses the template's.",
        )),
        Some("installed_scorecard_kept") => Some(frame.pick(
            "KPI ツリーとセグメント・プレイブック（停止中）を設定しました。ヘルススコアカードは保存済みのものをそのまま使います。",
            "The KPI tree is installed with its segments and playbooks (paused); your saved health scorecard stays.",
        )),
        Some("saved") => Some(frame.pick("KPI ツリーを保存しました。", "The KPI tree is saved.")),
        _ => None,
    };
    let (tier, team) = (params.text("tier").unwrap_or_default(), params.text("team").unwrap_or_default());
    let segment = params.text("segment").unwrap_or_default();
    let team_view = params.text("view").unwrap_or_default();
    params.finish()?;
    let view = app.kpi_view(&filter, None).await?;
    let mut nodes = Vec::new();
    let mut latest = String::new();
    let mut owners: Vec<(String, bool)> = Vec::new();
    if let Some(view) = &view {
        latest = view.months.last().map(|m| m.to_string()).unwrap_or_default();
        for owner in view.nodes.iter().filter_map(|n| n.node.owner.as_ref()) {
            if !owners.iter().any(|(o, _)| o == owner) {
                owners.push((owner.clone(), *owner == team_view));
            }
        }
        nodes = cards(&app, view, &filter, lang).await?;
    }
    let teams = app.teams().await?.into_iter().map(|t| (t.id.0, t.name, t.id.0.to_string() == team)).collect();
    let segments = app
        .segments()
        .await?
        .into_iter()
        .map(|s| {
            let name = match lang {
                Lang::En => s.segment.name_en.unwrap_or(s.segment.name),
                Lang::Ja => s.segment.name,
            };
            (s.segment.id, name, s.segment.id.to_string() == segment)
        })
        .collect();
    let filter_query =
        serde_urlencoded::to_string([("tier", tier.as_str()), ("team", team.as_str()), ("segment", segment.as_str())])
            .unwrap_or_default();
    let sections = if team_view.is_empty() {
        vec![Section::new(String::new(), nodes)]
    } else {
        // A team's page: the company's goals on top, then the team's own KPIs, each on its own.
        let (goals, rest): (Vec<NodeCard>, Vec<NodeCard>) = nodes.into_iter().partition(|n| n.depth == 0);
        let own = rest.into_iter().filter(|n| n.owner == team_view).map(|n| NodeCard { depth: 0, ..n }).collect();
        vec![
            Section::new(frame.pick("会社の KGI", "The company's goals").to_owned(), goals),
            Section::new(format!("{team_view}{}", frame.pick(" の KPI", ": its KPIs")), own),
        ]
    };
    let page = KpiPage {
        frame: frame.at("kpi"),
        latest,
        sections,
        owners,
        phases: phases(lang),
        installed: view.is_some(),
        tier,
        teams,
        segments,
        notice,
        filter_query,
    };
    Ok(render(&page, "kpi")?.into_response())
}

#[derive(Template)]
#[template(path = "kpi_report.html")]
pub struct ReportPage {
    pub frame: Frame,
    pub title: String,
    /// Which accounts the numbers are of.
    pub scope: String,
    pub prepared: String,
    pub month: String,
    pub latest: String,
    pub tier: String,
    pub team: String,
    pub segment: String,
    pub filter_query: String,
    /// Every node, the top goals with the accounts that moved them most.
    pub nodes: Vec<NodeCard>,
    pub any_off_target: bool,
}

/// `/kpi/report`: the monthly KPI report for the leadership meeting — each KGI with the three
/// accounts that moved it most, the tree's actuals against targets and the month before, and
/// what missed — printable on one or two pages.
pub async fn report(State(app): State<AppState>, frame: Frame, mut params: QueryParams) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let filter = filter(&mut params);
    let asked = params.parsed("month", |raw| raw.parse::<YearMonth>());
    let (tier, team) = (params.text("tier").unwrap_or_default(), params.text("team").unwrap_or_default());
    let segment = params.text("segment").unwrap_or_default();
    params.finish()?;
    // Without a tree there is nothing to report: the KPI page offers the templates to start one.
    let Some(view) = app.kpi_view(&filter, asked).await? else { return Ok(Redirect::to("/kpi").into_response()) };
    let month = view.months.last().copied().ok_or(ApiError::NotFound)?;
    let nodes = cards(&app, &view, &filter, lang).await?;
    let title = match lang {
        Lang::Ja => format!("KPI レポート {}", format::month_label(month.first_day(), lang)),
        Lang::En => format!("KPI report, {}", format::month_label(month.first_day(), lang)),
    };
    let scope = if tier.is_empty() && team.is_empty() && segment.is_empty() {
        frame.pick("すべての顧客", "All accounts").to_owned()
    } else {
        let mut parts = Vec::new();
        if !tier.is_empty() {
            parts.push(format!("{} {tier}", frame.pick("ティア", "Tier")));
        }
        if let Some(name) = app.teams().await?.into_iter().find(|t| t.id.0.to_string() == team).map(|t| t.name) {
            parts.push(format!("{} {name}", frame.pick("チーム", "Team")));
        }
        if let Some(s) = app.segments().await?.into_iter().find(|s| s.segment.id.to_string() == segment) {
            let name = match lang {
                Lang::En => s.segment.name_en.unwrap_or(s.segment.name),
                Lang::Ja => s.segment.name,
            };
            parts.push(format!("{} {name}", frame.pick("セグメント", "Segment")));
        }
        parts.join(" · ")
    };
    let filter_query =
        serde_urlencoded::to_string([("tier", tier.as_str()), ("team", team.as_str()), ("segment", segment.as_str())])
            .unwrap_or_default();
    let page = ReportPage {
        title,
        scope,
        prepared: format::day_in_sentence(app.today(), lang),
        month: month.to_string(),
        latest: app.kpi_latest_month().to_string(),
        tier,
        team,
        segment,
        filter_query,
        any_off_target: nodes.iter().any(|n| n.status_class == status_class(Status::OffTarget)),
        nodes,
        frame: frame.at("kpi"),
    };
    Ok(render(&page, "kpi_report")?.into_response())
}

/// The accounts a node's page lists, the largest first.
const ACCOUNTS_SHOWN: usize = 50;

async fn account_name(app: &AppState, id: i64) -> Result<String, ApiError> {
    Ok(app.account(domain::AccountId(id)).await?.input.name)
}

pub async fn install(
    State(app): State<AppState>,
    Signed(actor): Signed,
    fields: FormFields,
) -> Result<Response, ApiError> {
    let phase = Phase::parse(fields.get("phase"))
        .map_err(|reason| ApiError::Fields(vec![domain::FieldError::new("phase", reason)]))?;
    let replace_scorecard = fields.checked("replace_scorecard");
    let installed = app.install_kpi_template(&actor, phase, replace_scorecard).await?;
    let done = match installed.scorecard {
        // Not asked for: the workspace had never saved a scorecard of its own.
        ScorecardOutcome::Installed if !replace_scorecard => "installed_first_scorecard",
        ScorecardOutcome::Installed => "installed_with_scorecard",
        ScorecardOutcome::Kept => "installed_scorecard_kept",
        ScorecardOutcome::NotInBundle => "installed",
    };
    Ok(Redirect::to(&format!("/kpi?done={done}")).into_response())
}

/// The tree with its segments and playbooks as one TOML file to share with another workspace.
pub async fn download_bundle(State(app): State<AppState>) -> Result<Response, ApiError> {
    let bundle = app.kpi_bundle().await?.ok_or(ApiError::NotFound)?;
    let text = kpi_bundle_toml(&bundle)?;
    let headers = [
        (axum::http::header::CONTENT_TYPE, "application/toml; charset=utf-8"),
        (axum::http::header::CONTENT_DISPOSITION, "attachment; filename=\"kizuna-kpi-bundle.toml\""),
    ];
    Ok((headers, text).into_response())
}

pub struct MonthRow {
    pub month: String,
    pub actual: String,
    pub target: String,
    /// The target as typed in the form.
    pub target_input: String,
    pub actual_input: String,
}

pub struct ChildRow {
    pub key: String,
    pub name: String,
    pub effect: String,
}

pub struct AccountRow {
    pub id: i64,
    pub name: String,
    pub day: String,
    pub value: String,
}

#[derive(Template)]
#[template(path = "kpi_node.html")]
pub struct NodePage {
    pub frame: Frame,
    pub key: String,
    pub name: String,
    pub owner: String,
    pub definition: String,
    pub direction: &'static str,
    pub computed: bool,
    pub parent: Option<(String, String)>,
    pub relation: &'static str,
    pub children: Vec<ChildRow>,
    pub months: Vec<MonthRow>,
    pub chart: Chart,
    pub accounts_month: String,
    pub accounts: Vec<AccountRow>,
    /// All the accounts behind the month (the page lists the first `ACCOUNTS_SHOWN`).
    pub accounts_total: usize,
    pub errors: Vec<String>,
    pub notice: bool,
    /// The fiscal years a target can be set for at once: this one and the next (year, label).
    pub fiscal_years: Vec<(i32, String)>,
}

async fn node_page(
    app: &AppState,
    frame: Frame,
    key: &str,
    params: &mut QueryParams,
    errors: Vec<String>,
) -> Result<NodePage, ApiError> {
    let lang = frame.lang;
    let currency = app.settings().currency;
    let filter = filter(params);
    let notice = params.text("done").is_some();
    let view = app.kpi_view(&filter, None).await?.ok_or(ApiError::NotFound)?;
    let node = view.nodes.iter().find(|n| n.node.key == key).ok_or(ApiError::NotFound)?;
    let unit = node.node.unit();
    let show = |v: Option<f64>| number(v, unit, &currency, lang);
    let raw = |v: Option<f64>| v.map(|v| format!("{v}")).unwrap_or_default();
    let months: Vec<MonthRow> = view
        .months
        .iter()
        .enumerate()
        .rev()
        .map(|(i, month)| MonthRow {
            month: month.to_string(),
            actual: show(node.actual[i]),
            target: show(node.target[i]),
            target_input: raw(node.target[i]),
            actual_input: raw(node.actual[i]),
        })
        .collect();
    let labels: Vec<String> = view.months.iter().map(|m| m.to_string()).collect();
    let actual_label = frame.pick("実績", "Actual");
    let target_label = frame.pick("目標", "Target");
    // Percentages are drawn as 0–100.
    let scale = if unit == Unit::Percent { 100.0 } else { 1.0 };
    let scaled = |values: &[Option<f64>]| values.iter().map(|v| v.map(|v| v * scale)).collect::<Vec<_>>();
    let chart = Chart::line(
        "kpi-node-chart",
        labels,
        vec![
            Dataset::sparse(actual_label, scaled(&node.actual)),
            Dataset::sparse(target_label, scaled(&node.target)).colour("#999999"),
        ],
    );
    let chart = match unit {
        Unit::Percent => chart.percent(),
        Unit::Money => chart.money(),
        _ => chart,
    };
    let accounts_month = params
        .parsed("month", |raw| raw.parse::<YearMonth>())
        .or_else(|| view.months.last().copied())
        .unwrap_or_else(|| YearMonth::of(app.today()));
    let behind = app.kpi_accounts(&filter, node.node.metric, accounts_month).await?;
    let accounts_total = behind.len();
    let mut accounts = Vec::new();
    for a in behind.into_iter().take(ACCOUNTS_SHOWN) {
        accounts.push(AccountRow {
            name: account_name(app, a.account_id).await?,
            id: a.account_id,
            day: format::day_in_sentence(a.day, lang),
            value: account_value(node.node.metric, a.value, &currency, lang),
        });
    }
    let parent = node
        .node
        .parent
        .as_deref()
        .and_then(|p| view.nodes.iter().find(|n| n.node.key == p))
        .map(|p| (p.node.key.clone(), p.node.name(lang).to_owned()));
    let children = node
        .children
        .iter()
        .filter_map(|c| view.nodes.iter().find(|n| n.node.key == c.key))
        .map(|child| ChildRow {
            key: child.node.key.clone(),
            name: child.node.name(lang).to_owned(),
            effect: effect_text(node, &child.node.key, &currency, lang),
        })
        .collect();
    let definition = match node.node.metric {
        Some(metric) => metric.describe(lang).to_owned(),
        None => frame
            .pick(
                "Kizuna では計算しない数値です。担当チームが毎月入力します。",
                "A number Kizuna does not compute: its owner enters it each month.",
            )
            .to_owned(),
    };
    let start_month = app.settings().fiscal_year_start_month;
    let today = app.today();
    let this_year = if today.month() >= start_month { today.year() } else { today.year() - 1 };
    let fiscal_years = (this_year..=this_year + 1)
        .map(|year| {
            let label = match lang {
                Lang::Ja => format!("{year}年度"),
                Lang::En => format!("FY{year}"),
            };
            (year, label)
        })
        .collect();
    Ok(NodePage {
        fiscal_years,
        key: node.node.key.clone(),
        name: node.node.name(lang).to_owned(),
        owner: node.node.owner.clone().unwrap_or_default(),
        definition,
        direction: direction_text(node.node.direction, lang),
        computed: node.node.metric.is_some(),
        parent,
        relation: relation_text(node.node.children_relation, lang),
        children,
        months,
        chart,
        accounts_month: accounts_month.to_string(),
        accounts,
        accounts_total,
        errors,
        notice,
        frame: frame.at("kpi"),
    })
}

pub async fn node(
    State(app): State<AppState>,
    frame: Frame,
    Path(key): Path<String>,
    mut params: QueryParams,
) -> Result<Response, ApiError> {
    let page = node_page(&app, frame, &key, &mut params, Vec::new()).await?;
    params.finish()?;
    Ok(render(&page, "kpi_node")?.into_response())
}

/// `POST /kpi/{key}/values`: a month's target (managers) or entered actual, blank to clear.
pub async fn set_value(
    State(app): State<AppState>,
    frame: Frame,
    Signed(actor): Signed,
    Path(key): Path<String>,
    fields: FormFields,
) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let kind = if fields.get("kind") == "actual" { ValueKind::Actual } else { ValueKind::Target };
    if kind == ValueKind::Target && !frame.may(Access::Manage) {
        return Err(ApiError::App(AppError::Forbidden));
    }
    let mut errors = Vec::new();
    let month = fields.get("month").parse::<YearMonth>();
    let unit = app.kpi_tree().await?.and_then(|tree| tree.node(&key).map(|node| node.unit())).unwrap_or(Unit::Number);
    let value = domain::kpi::parse_entered(fields.get("value"), unit);
    let fiscal_year = fields.get("fiscal_year").trim();
    let result = match (month, value) {
        (_, Err(reason)) => Err(AppError::invalid("value", reason)),
        (_, Ok(value)) if kind == ValueKind::Target && !fiscal_year.is_empty() => match fiscal_year.parse::<i32>() {
            Ok(year) => app.set_kpi_year_target(&actor, &key, year, value).await,
            Err(_) => Err(AppError::invalid("fiscal_year", domain::Reason::InvalidInteger)),
        },
        (Ok(month), Ok(value)) => app.set_kpi_value(&actor, &key, month, kind, value).await,
        (Err(reason), _) => Err(AppError::invalid("month", reason)),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/kpi/{}?done=saved", urlencoding(&key))).into_response()),
        Err(AppError::Invalid(refused)) => {
            let what = match kind {
                ValueKind::Target => lang.pick("目標", "Target"),
                ValueKind::Actual => lang.pick("実績", "Actual"),
            };
            let month = fields.get("month");
            let label = |field: &str| match field {
                "fiscal_year" => format!("{} · {}", lang.pick("年度", "Fiscal year"), what),
                _ if month.is_empty() => what.to_owned(),
                _ => format!("{month} · {what}"),
            };
            errors.extend(refused.iter().map(|e| format!("{}: {}", label(&e.field), e.message(lang))));
            let page = node_page(&app, frame, &key, &mut QueryParams::from_query(""), errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page, "kpi_node")?).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

fn urlencoding(key: &str) -> String {
    serde_urlencoded::to_string([("k", key)]).map(|s| s[2..].to_owned()).unwrap_or_default()
}

#[derive(Template)]
#[template(path = "kpi_edit.html")]
pub struct EditPage {
    pub frame: Frame,
    pub text: String,
    pub errors: Vec<String>,
    /// The metric names a node may use.
    pub metrics: String,
}

/// Every metric's name as the TOML writes it.
fn metric_names() -> String {
    Metric::ALL
        .iter()
        .filter_map(|m| serde_json::to_value(m).ok()?.as_str().map(str::to_owned))
        .collect::<Vec<_>>()
        .join(", ")
}

pub async fn edit(State(app): State<AppState>, frame: Frame) -> Result<Response, ApiError> {
    let tree = match app.kpi_tree().await? {
        Some(tree) => tree,
        None => Phase::BestPractice.tree()?,
    };
    let page =
        EditPage { text: kpi_tree_toml(&tree)?, errors: Vec::new(), metrics: metric_names(), frame: frame.at("kpi") };
    Ok(render(&page, "kpi_edit")?.into_response())
}

pub async fn save(
    State(app): State<AppState>,
    frame: Frame,
    Signed(actor): Signed,
    fields: FormFields,
) -> Result<Response, ApiError> {
    let text = fields.get("tree").to_owned();
    // The tree alone, or a whole bundle with segments and playbooks to add.
    let saved = match parse_toml::<KpiBundle>("kpi.toml", &text) {
        Ok(bundle) => app.import_kpi_bundle(&actor, bundle, fields.checked("replace_scorecard")).await.map(|_| ()),
        Err(error) => Err(error),
    };
    match saved {
        Ok(()) => Ok(Redirect::to("/kpi?done=saved").into_response()),
        Err(error) => {
            let errors = toml_errors(error, &text, frame.lang)?;
            let page = EditPage { text, errors, metrics: metric_names(), frame: frame.at("kpi") };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page, "kpi_edit")?).into_response())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_drawn_tree_opens_a_list_for_each_child_and_closes_back_to_each_sibling() {
        // nrr ─ grr
        //     └ health ─ adoption
        // mrr
        let (leads, open) = nesting(&[0, 1, 1, 2, 0]);
        assert_eq!(leads, vec![("", 0), ("<ul>", 0), ("</li>", 0), ("<ul>", 0), ("</li>", 2)]);
        assert_eq!(open, 0);
        assert_eq!(nesting(&[0, 1, 2]).1, 2, "the last node's lists stay open until the end");
        assert_eq!(nesting(&[]), (vec![], 0));
    }
}
