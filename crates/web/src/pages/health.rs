//! `/health`: the grade distribution, the backtest against real churn, the scorecards in words
//! and, for managers, the configuration as TOML to edit (`POST /health/config`), in Japanese or
//! English.

use super::chart::{Chart, Dataset};
use super::{format, render, Frame};
use crate::api::health::backtest_params;
use crate::auth::Signed;
use crate::extract::{FormFields, QueryParams};
use crate::problem::ApiError;
use crate::AppState;
use app::health::{health_toml, health_toml_line, parse_health_toml};
use app::AppError;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::access::Access;
use domain::health::{ActivityScope, HealthConfig, MeasureSpec, MeasureType, PointsMapping, Scorecard};
use domain::i18n::{Lang, Text};
use domain::FieldError;

pub struct GradeRow {
    pub key: String,
    pub name: String,
    pub colour: String,
    pub accounts: usize,
    pub arr: String,
    pub min: String,
}

pub struct OutcomeRow {
    pub label: String,
    pub colour: String,
    pub accounts: usize,
    pub churned: usize,
    pub rate: String,
}

/// One measure's own showing in the backtest.
pub struct MeasureOutcome {
    pub key: String,
    /// The measure's type in the reader's language.
    pub kind: &'static str,
    pub auc: String,
    pub coverage: String,
    pub low: String,
    pub high: String,
}

/// A measure's weight now and the one fitted from the history.
pub struct WeightRow {
    pub key: String,
    pub kind: &'static str,
    pub current: String,
    /// None: too little data in the history, the measure keeps its current weight.
    pub suggested: Option<u32>,
    pub coefficient: String,
}

pub struct Suggested {
    pub cross_validated_auc: String,
    pub observations: usize,
    pub rows: Vec<WeightRow>,
    /// Some measure had too little data to fit and keeps its weight.
    pub some_kept: bool,
}

pub struct Backtest {
    pub measures: Vec<MeasureOutcome>,
    /// `None` with too few churners to fit.
    pub suggested: Option<Suggested>,
    pub auc: String,
    pub observations: usize,
    pub churn_rate: String,
    pub lift: String,
    pub by_grade: Vec<OutcomeRow>,
    pub calibration: Vec<OutcomeRow>,
    pub grade_chart: Chart,
    pub calibration_chart: Chart,
}

pub struct MeasureRow {
    pub key: String,
    pub kind: &'static str,
    pub parameters: String,
    pub weight: String,
    pub share: String,
    pub points: String,
}

pub struct ScorecardView {
    pub key: String,
    pub name: String,
    pub applies_to: String,
    pub measures: Vec<MeasureRow>,
}

/// The editor's text and what was wrong with it.
pub struct Editor {
    pub text: String,
    pub errors: Vec<String>,
}

#[derive(Template)]
#[template(path = "health.html")]
pub struct HealthPage {
    pub frame: Frame,
    pub t: Labels,
    pub notice: Option<&'static str>,
    pub grades: Vec<GradeRow>,
    pub grades_chart: Chart,
    pub from: String,
    pub to: String,
    pub horizon: String,
    pub backtest_errors: Vec<String>,
    pub backtest: Option<Backtest>,
    pub min_measures: usize,
    pub scorecards: Vec<ScorecardView>,
    /// Only for readers who may manage the configuration.
    pub editor: Option<Editor>,
}

/// Every string on the page, in the reader's language.
pub struct Labels {
    pub accounts: &'static str,
    pub from: &'static str,
    pub to: &'static str,
    pub horizon: &'static str,
    pub churn_rate: &'static str,
}

impl Labels {
    fn new(lang: Lang) -> Labels {
        let t = |ja, en| Text::new(ja, en).pick(lang);
        Labels {
            accounts: t("顧客数", "Accounts"),
            from: t("開始日", "From"),
            to: t("終了日", "To"),
            horizon: t("解約を見る日数", "Horizon (days)"),
            churn_rate: t("解約率", "Churn rate"),
        }
    }
}

pub(super) fn measure_type(kind: MeasureType, lang: Lang) -> &'static str {
    let t = |ja, en| Text::new(ja, en).pick(lang);
    match kind {
        MeasureType::CadenceAdherence => t("周期どおりの利用", "Cadence adherence"),
        MeasureType::SeasonalAdherence => t("季節の利用", "Seasonal adherence"),
        MeasureType::SeatActivation => t("席の稼働率", "Seat activation"),
        MeasureType::ActiveUserTrend => t("アクティブユーザーの推移", "Active user trend"),
        MeasureType::Breadth => t("コア機能の利用範囲", "Breadth of core features"),
        MeasureType::NpsLatest => t("直近の NPS", "Latest NPS"),
        MeasureType::NpsAverage => t("NPS 平均", "NPS average"),
        MeasureType::OpenUrgentTickets => t("未解決の緊急チケット", "Open urgent tickets"),
        MeasureType::RecentUrgentTickets => t("最近の高・緊急チケット", "Recent high or urgent tickets"),
        MeasureType::TicketTrend => t("チケット数の推移", "Ticket trend"),
        MeasureType::CsmPulse => t("CSM の所感", "CSM pulse"),
        MeasureType::DaysToRenewal => t("更新までの日数", "Days to renewal"),
        MeasureType::Contraction => t("縮小", "Contraction"),
        MeasureType::UsageTrend => t("利用量の推移（自社の過去比）", "Usage against its own baseline"),
        MeasureType::ActiveDaysTrend => t("利用日数の推移（自社の過去比）", "Active days against its own baseline"),
        MeasureType::UserActivityTrend => t("1人あたり利用の推移", "Use per active user against its baseline"),
        MeasureType::Overdue => {
            t("最後の利用からの日数（ふだんの間隔比）", "Days since last use against its usual rhythm")
        }
    }
}

/// What a measure of a scorecard counts: its type's name, told apart by scope where one type
/// measures two things (all use against its baseline, or the core features').
fn measure_kind(measure: &MeasureSpec, lang: Lang) -> &'static str {
    match (measure.kind, measure.scope) {
        (MeasureType::UsageTrend, Some(ActivityScope::Core)) if measure.feature.is_none() => {
            Text::new("主要機能の利用の推移（自社の過去比）", "Core-feature use against its own baseline").pick(lang)
        }
        (kind, _) => measure_type(kind, lang),
    }
}

fn points_text(points: &PointsMapping, lang: Lang) -> String {
    let pairs = |list: &[(f64, f64)], at_least: bool| {
        list.iter()
            .map(|(value, points)| {
                let value = format::trimmed(*value, 2);
                let points = format::trimmed(*points, 2);
                if at_least {
                    format!("≥ {value} → {points}")
                } else {
                    format!("{value} → {points}")
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let t = |ja, en| Text::new(ja, en).pick(lang);
    match (&points.thresholds, &points.piecewise) {
        (Some(steps), _) => format!("{}: {}", t("しきい値", "thresholds"), pairs(steps, true)),
        (None, Some(knots)) => format!("{}: {}", t("線形補間", "interpolated"), pairs(knots, false)),
        (None, None) => "—".into(),
    }
}

fn parameters(measure: &MeasureSpec, config: &HealthConfig, lang: Lang) -> String {
    let t = |ja, en| Text::new(ja, en).pick(lang);
    let mut parts = Vec::new();
    if let Some(feature) = &measure.feature {
        parts.push(format!("{}: {feature}", t("機能", "feature")));
    }
    if let Some(periods) = measure.periods {
        parts.push(format!("{}: {periods}", t("期間数", "periods")));
    }
    if let Some(days) = measure.days {
        parts.push(format!("{}: {days}", t("日数", "days")));
    }
    match measure.scope {
        Some(ActivityScope::Core) => parts.push(t("対象: 主要機能", "scope: core features").to_owned()),
        Some(ActivityScope::All) => parts.push(t("対象: すべてのイベント", "scope: all events").to_owned()),
        None => {}
    }
    if let Some(key) = measure.activity_key() {
        parts.push(format!(
            "{} {} {} {} {}",
            t("昨日までの", "the"),
            key.recent_days,
            t("日 対 その前の", "days to yesterday against the"),
            key.baseline_days,
            t("日", "days before")
        ));
    }
    if let Some(rule) = &measure.critical {
        let below = format::trimmed(rule.below, 2);
        let grade = config.grade_name_or_key(&rule.grade);
        parts.push(match lang {
            Lang::Ja => format!("重要: 点数が {below} 未満 → {}", grade.pick(lang)),
            Lang::En => format!("critical: below {below} → {}", grade.pick(lang)),
        });
    }
    parts.join(", ")
}

fn applies_to(card: &Scorecard, lang: Lang) -> String {
    let Some(rule) = &card.applies_to else {
        return Text::new("上記以外のすべての顧客（既定）", "Every other account (the default)").pick(lang).to_owned();
    };
    let t = |ja, en| Text::new(ja, en).pick(lang);
    let mut parts = Vec::new();
    for (label, value) in [
        (t("ティア", "tier"), &rule.tier),
        (t("ステージ", "stage"), &rule.stage),
        (t("タッチモデル", "touch model"), &rule.touch_model),
    ] {
        if let Some(value) = value {
            parts.push(format!("{label} = {value}"));
        }
    }
    parts.extend(rule.custom.iter().map(|(key, value)| format!("{key} = {value}")));
    parts.join(t("、かつ ", " and "))
}

fn scorecards(config: &HealthConfig, lang: Lang) -> Vec<ScorecardView> {
    config
        .scorecards
        .iter()
        .map(|card| {
            let total: f64 = card.measures.iter().map(|m| m.weight).sum();
            ScorecardView {
                key: card.key.clone(),
                name: match lang {
                    Lang::En => card.name_en.clone().unwrap_or_else(|| card.name.clone()),
                    Lang::Ja => card.name.clone(),
                },
                applies_to: applies_to(card, lang),
                measures: card
                    .measures
                    .iter()
                    .map(|m| MeasureRow {
                        key: m.key.clone(),
                        kind: measure_kind(m, lang),
                        parameters: parameters(m, config, lang),
                        weight: format::trimmed(m.weight, 2),
                        share: format::percent((total > 0.0).then(|| m.weight / total)),
                        points: points_text(&m.points, lang),
                    })
                    .collect(),
            }
        })
        .collect()
}

/// The default backtest: twelve monthly points ending where the horizon has fully passed.
fn field_messages(errors: &[FieldError], lang: Lang, label: impl Fn(&str) -> String) -> Vec<String> {
    errors.iter().map(|e| format!("{}: {}", label(&e.field), e.message(lang))).collect()
}

/// A TOML file's errors (health configuration, playbooks) in the reader's language, each with its
/// line when it can be found.
pub(super) fn toml_errors(error: AppError, text: &str, lang: Lang) -> Result<Vec<String>, ApiError> {
    let at_line = |line: u64| match lang {
        Lang::Ja => format!("{line} 行目"),
        Lang::En => format!("line {line}"),
    };
    match error {
        AppError::ImportRejected { errors, .. } => {
            let report = domain::interchange::table::Report::of(&errors);
            let listed = report.listed.iter().map(|e| format!("{}: {}", at_line(e.line), e.reason.message(lang)));
            Ok(listed.chain(report.more(lang)).collect())
        }
        AppError::Invalid(fields) => Ok(field_messages(&fields, lang, |field| match health_toml_line(text, field) {
            Some(line) => format!("{}, {field}", at_line(line)),
            None => field.to_owned(),
        })),
        other => Err(other.into()),
    }
}

async fn build(
    app: &AppState,
    frame: Frame,
    params: &mut QueryParams,
    editor: Option<Editor>,
) -> Result<HealthPage, ApiError> {
    let lang = frame.lang;
    let t = Labels::new(lang);
    let pick = |ja: &str, en: &str| lang.pick(ja, en).to_owned();
    let currency = app.settings().currency;
    let config = app.health_config().await?;
    let distribution = app.grade_distribution().await?;
    let grades: Vec<GradeRow> = distribution
        .iter()
        .map(|g| GradeRow {
            key: g.grade.clone(),
            name: pick(&g.name_ja, &g.name_en),
            colour: g.colour.clone(),
            accounts: g.accounts,
            arr: format::money(g.arr, &currency, lang),
            min: config.grades.iter().find(|b| b.key == g.grade).map_or("—".into(), |b| format::trimmed(b.min, 2)),
        })
        .collect();
    let grades_chart = Chart::bar(
        "grades-chart",
        grades.iter().map(|g| g.name.clone()).collect(),
        vec![Dataset::new(t.accounts, grades.iter().map(|g| g.accounts as f64))
            .colours(grades.iter().map(|g| g.colour.clone()).collect())],
    );

    let (from, to, horizon) = backtest_params(params);
    let (default_from, default_to) = app.default_backtest_range(horizon);
    let (from, to) = (from.unwrap_or(default_from), to.unwrap_or(default_to));
    let label = |field: &str| {
        match field {
            "from" => t.from,
            "to" => t.to,
            "horizon_days" => t.horizon,
            _ => field,
        }
        .to_owned()
    };
    let mut backtest_errors = field_messages(&params.errors, lang, label);
    let mut backtest = None;
    if backtest_errors.is_empty() {
        match app.health_backtest(from, to, horizon).await {
            Ok(report) => {
                let outcome = |label: String, colour: String, accounts, churned, rate| OutcomeRow {
                    label,
                    colour,
                    accounts,
                    churned,
                    rate: format::percent(rate),
                };
                let by_grade: Vec<OutcomeRow> = report
                    .by_grade
                    .iter()
                    .map(|o| {
                        let row = grades.iter().find(|g| g.key == o.grade);
                        outcome(
                            row.map_or_else(|| o.grade.clone(), |g| g.name.clone()),
                            row.map_or_else(|| "#999999".into(), |g| g.colour.clone()),
                            o.accounts,
                            o.churned,
                            o.churn_rate,
                        )
                    })
                    .collect();
                let calibration: Vec<OutcomeRow> = report
                    .calibration
                    .iter()
                    .map(|b| {
                        let upper = if b.from >= 90 { 100 } else { b.from + 10 };
                        outcome(format!("{}–{upper}", b.from), String::new(), b.accounts, b.churned, b.churn_rate)
                    })
                    .collect();
                let rates = |rows: &[OutcomeRow], source: Vec<Option<f64>>| {
                    (rows.iter().map(|r| r.label.clone()).collect::<Vec<_>>(), source)
                };
                let (grade_labels, grade_rates) =
                    rates(&by_grade, report.by_grade.iter().map(|o| o.churn_rate.map(|r| r * 100.0)).collect());
                let (band_labels, band_rates) =
                    rates(&calibration, report.calibration.iter().map(|b| b.churn_rate.map(|r| r * 100.0)).collect());
                let kind_of = |key: &str| {
                    config
                        .scorecards
                        .iter()
                        .flat_map(|c| &c.measures)
                        .find(|m| m.key == key)
                        .map_or("", |m| measure_kind(m, lang))
                };
                let band = |b: &domain::health::backtest::BandOutcome| {
                    format!("{} ({})", format::percent(b.churn_rate), b.accounts)
                };
                let measures = report
                    .measures
                    .iter()
                    .map(|m| MeasureOutcome {
                        key: m.key.clone(),
                        kind: kind_of(&m.key),
                        auc: m.auc.map_or("—".into(), |a| format!("{a:.3}")),
                        coverage: format::percent(m.coverage),
                        low: band(&m.low),
                        high: band(&m.high),
                    })
                    .collect();
                let current = |key: &str| {
                    let weights: Vec<String> = config
                        .scorecards
                        .iter()
                        .flat_map(|c| &c.measures)
                        .filter(|m| m.key == key)
                        .map(|m| format::trimmed(m.weight, 2))
                        .collect();
                    weights.join(" / ")
                };
                let suggested = report.suggested.as_ref().map(|s| Suggested {
                    cross_validated_auc: s.cross_validated_auc.map_or("—".into(), |a| format!("{a:.3}")),
                    observations: s.observations,
                    some_kept: s.weights.iter().any(|w| w.weight.is_none()),
                    rows: s
                        .weights
                        .iter()
                        .map(|w| WeightRow {
                            key: w.key.clone(),
                            kind: kind_of(&w.key),
                            current: current(&w.key),
                            suggested: w.weight,
                            coefficient: w.coefficient.map_or("—".into(), |b| format!("{b:+.3}")),
                        })
                        .collect(),
                });
                backtest = Some(Backtest {
                    measures,
                    suggested,
                    auc: report.auc.map_or("—".into(), |a| format!("{a:.3}")),
                    observations: report.observations,
                    churn_rate: format::percent(report.churn_rate),
                    lift: report.worst_grade_lift.map_or("—".into(), |l| format!("{l:.2}")),
                    grade_chart: Chart::bar(
                        "backtest-grade-chart",
                        grade_labels,
                        vec![Dataset::sparse(t.churn_rate, grade_rates)
                            .colours(by_grade.iter().map(|g| g.colour.clone()).collect())],
                    )
                    .percent(),
                    calibration_chart: Chart::bar(
                        "calibration-chart",
                        band_labels,
                        vec![Dataset::sparse(t.churn_rate, band_rates)],
                    )
                    .percent(),
                    by_grade,
                    calibration,
                });
            }
            Err(AppError::Invalid(fields)) => {
                backtest_errors = field_messages(&fields, lang, label);
            }
            Err(other) => return Err(other.into()),
        }
    }
    let editor = match editor {
        Some(editor) => Some(editor),
        None if frame.may(Access::Manage) => Some(Editor { text: health_toml(&config)?, errors: Vec::new() }),
        None => None,
    };
    let notice =
        match params.text("done").as_deref() {
            Some("config") => Some(frame.pick(
                "ヘルス設定を保存し、スコアを再計算しました。",
                "Health configuration saved and scores recomputed.",
            )),
            Some("weights") => Some(frame.pick(
                "推奨ウェイトを適用し、スコアを再計算しました。",
                "Suggested weights applied and scores recomputed.",
            )),
            _ => None,
        };
    Ok(HealthPage {
        frame: frame.at("health"),
        notice,
        grades,
        grades_chart,
        from: params.text("from").unwrap_or_else(|| from.to_string()),
        to: params.text("to").unwrap_or_else(|| to.to_string()),
        horizon: params.text("horizon_days").unwrap_or_else(|| horizon.to_string()),
        backtest_errors,
        backtest,
        min_measures: config.min_measures,
        scorecards: scorecards(&config, lang),
        editor,
        t,
    })
}

pub async fn page(State(app): State<AppState>, frame: Frame, mut params: QueryParams) -> Result<Response, ApiError> {
    let page = build(&app, frame, &mut params, None).await?;
    let status = if page.backtest_errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok((status, render(&page, "health")?).into_response())
}

/// Saves the configuration from the editor and rescores every account, or shows the page again
/// with every error (line, field, reason) and nothing saved.
pub async fn save_config(
    State(app): State<AppState>,
    frame: Frame,
    Signed(actor): Signed,
    mut params: QueryParams,
    fields: FormFields,
) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let text = fields.get("config").to_owned();
    let saved = match parse_health_toml("health.toml", &text) {
        Ok(config) => app.set_health_config(&actor, config).await,
        Err(error) => Err(error),
    };
    match saved {
        Ok(_) => {
            // Live scores are computed on read; today's stored snapshots (history, grade drops)
            // are refreshed now rather than at the next scheduled recompute.
            app.recompute_health(None).await?;
            Ok(Redirect::to("/health?done=config").into_response())
        }
        Err(error) => {
            let errors = toml_errors(error, &text, lang)?;
            let page = build(&app, frame, &mut params, Some(Editor { text, errors })).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page, "health")?).into_response())
        }
    }
}

/// Applies the suggested weights the manager saw (`weight.<measure key>` fields), rescores every
/// account, and returns to the page.
pub async fn apply_weights(
    State(app): State<AppState>,
    frame: Frame,
    Signed(actor): Signed,
    mut params: QueryParams,
    fields: FormFields,
) -> Result<Response, ApiError> {
    let mut weights = std::collections::BTreeMap::new();
    let mut errors = Vec::new();
    for (name, value) in &fields.0 {
        let Some(key) = name.strip_prefix("weight.") else { continue };
        match value.trim().parse::<f64>() {
            Ok(weight) => {
                weights.insert(key.to_owned(), weight);
            }
            Err(_) => errors.push(FieldError::new(format!("weights.{key}"), domain::Reason::InvalidDecimal)),
        }
    }
    let applied =
        if errors.is_empty() { app.apply_weights(&actor, &weights).await } else { Err(AppError::Invalid(errors)) };
    match applied {
        Ok(_) => {
            app.recompute_health(None).await?;
            Ok(Redirect::to("/health?done=weights").into_response())
        }
        Err(AppError::Invalid(fields)) => {
            let lang = frame.lang;
            let mut page = build(&app, frame, &mut params, None).await?;
            page.backtest_errors = field_messages(&fields, lang, |field| field.to_owned());
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page, "health")?).into_response())
        }
        Err(other) => Err(other.into()),
    }
}
