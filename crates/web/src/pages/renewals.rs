//! `/renewals`: the next 12 months of renewals per month (ARR up for renewal by forecast
//! category), one month's renewals with the CSM's call on each, filters like the accounts list,
//! a CSV export, and forecast accuracy for closed months. The call form posts to
//! `/accounts/{id}/renewals/{date}`, also used by the renewal card of the account 360.

use super::{choices, format, Choice, Frame};
use crate::api::renewals::renewal_filter;
use crate::extract::Path;
use crate::extract::{FormFields, QueryParams};
use crate::problem::ApiError;
use crate::AppState;
use app::renewals::{GradeGroup, MonthAccuracy, MonthSummary, RenewalItem, RenewalRow};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Datelike, NaiveDate};
use domain::i18n::{Lang, Text};
use domain::interchange::neutralise_formula;
use domain::renewals::{ChurnReason, ForecastCategory, RenewalCall, RenewalOutcome};
use domain::{AccountId, Currency, TeamId, UserId};
use serde_json::json;
use std::collections::HashMap;

const PAGE_SIZE: usize = 50;

pub struct MonthLine {
    pub key: String,
    pub label: String,
    pub href: String,
    pub current: bool,
    pub renewals: usize,
    pub arr: String,
    /// ARR × (1 − churn probability); empty until the model can predict.
    pub expected: String,
    /// ARR per category in the order of `Labels::categories`.
    pub by_forecast: Vec<String>,
    /// The ARR of the month's renewals whose outcome is known.
    pub closed: String,
    /// Width of the month's bar, 0–100, against the largest month.
    pub bar: u32,
}

pub struct Line {
    pub account_id: i64,
    pub account: String,
    pub date: String,
    pub date_key: String,
    pub arr: String,
    pub owner: String,
    pub grade: String,
    pub grade_colour: String,
    pub forecast: String,
    pub forecast_key: String,
    pub note: String,
    pub outcome: String,
    /// "23%", or empty without a prediction.
    pub churn: String,
    pub churn_reasons: String,
    pub editable: bool,
}

/// The chosen month's renewals summed per grade, owner or team.
pub struct BreakdownTable {
    pub id: &'static str,
    pub title: &'static str,
    pub head: &'static str,
    pub lines: Vec<GroupLine>,
}

pub struct GroupLine {
    pub label: String,
    pub renewals: String,
    pub arr: String,
    pub expected: String,
}

fn breakdown_table<K>(
    (id, title, head): (&'static str, &'static str, &'static str),
    groups: &[app::renewals::RenewalGroup<K>],
    label: impl Fn(Option<&K>) -> String,
    currency: &Currency,
    lang: Lang,
) -> BreakdownTable {
    let lines = groups
        .iter()
        .map(|g| GroupLine {
            label: label(g.key.as_ref()),
            renewals: format::count(g.renewals as i64),
            arr: format::money(g.arr, currency, lang),
            expected: g.expected_arr.map(|m| format::money(m, currency, lang)).unwrap_or_else(|| "—".into()),
        })
        .collect();
    BreakdownTable { id, title, head, lines }
}

/// The churn model's state as the page shows it.
pub struct ModelView {
    /// Why there is no prediction, or how much it learned from.
    pub status: String,
    pub auc: Option<String>,
    /// The same over every paying account-month after the cut-off.
    pub book_auc: Option<String>,
    /// (band, renewals, mean predicted, actual churn rate).
    pub calibration: Vec<(String, usize, String, String)>,
}

fn auc_text(auc: Option<f64>) -> String {
    auc.map_or("—".to_owned(), |a| format!("{a:.2}"))
}

fn model_view(state: Option<&app::renewals::ChurnState>, fitting: bool, lang: Lang) -> ModelView {
    let t = Labels::new(lang);
    let Some(state) = state else {
        let status = if fitting { t.model_fitting } else { t.model_pending };
        return ModelView { status: status.to_owned(), auc: None, book_auc: None, calibration: Vec::new() };
    };
    let status = match &state.model {
        Ok(model) => match lang {
            Lang::Ja => format!(
                "{} 時点で、過去の顧客×月 {} 件（うち90日以内に解約 {} 件）から学習しました。",
                format::date(Some(state.fitted_on), lang),
                model.examples,
                model.churns
            ),
            Lang::En => format!(
                "Fitted on {} from {} past account-months ({} followed by a churn within 90 days).",
                format::date(Some(state.fitted_on), lang),
                model.examples,
                model.churns
            ),
        },
        Err(error) => error.explain().pick(lang).to_owned(),
    };
    let backtest = state.backtest.as_ref().ok();
    ModelView {
        status,
        auc: backtest.map(|b| {
            let (from, health) = (format::date(Some(b.cutoff), lang), auc_text(b.health_auc));
            match (b.auc, lang) {
                (Some(auc), Lang::Ja) => format!(
                    "{auc:.2}（{from} 以降の更新 {} 件、うち解約 {} 件。ヘルススコアのみでは {health}）",
                    b.tested_on, b.churns_tested
                ),
                (Some(auc), Lang::En) => format!(
                    "{auc:.2} ({} renewals from {from}, {} churned; the health score alone: {health})",
                    b.tested_on, b.churns_tested
                ),
                (None, _) => "—".to_owned(),
            }
        }),
        book_auc: backtest.map(|b| {
            let (from, book) = (format::date(Some(b.cutoff), lang), &b.book);
            let (auc, health) = (auc_text(book.auc), auc_text(book.health_auc));
            match lang {
                Lang::Ja => format!(
                    "{auc}（{from} より後の毎月1日の有料顧客 {} 件、うち90日以内に解約 {} 件。ヘルススコアのみでは {health}）",
                    format::count(book.account_months as i64),
                    format::count(book.churns as i64)
                ),
                Lang::En => format!(
                    "{auc} ({} paying account-months after {from}, {} left within 90 days; the health score alone: {health})",
                    format::count(book.account_months as i64),
                    format::count(book.churns as i64)
                ),
            }
        }),
        calibration: backtest
            .map(|b| {
                b.calibration
                    .iter()
                    .map(|band| {
                        (
                            format!("{:.0}–{:.0}%", band.from * 100.0, band.to * 100.0),
                            band.renewals,
                            format::percent(band.predicted),
                            format::percent(band.actual),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

pub struct AccuracyLine {
    pub month: String,
    pub snapshot_on: String,
    pub category: String,
    pub renewals: usize,
    pub forecast_arr: String,
    pub renewed_arr: String,
    pub ratio: String,
}

pub struct Labels {
    pub owner: &'static str,
    pub team: &'static str,
    pub grade: &'static str,
    pub categories: Vec<&'static str>,
    pub saved: &'static str,
    pub model_pending: &'static str,
    pub model_fitting: &'static str,
    pub no_owner: &'static str,
    pub no_team: &'static str,
}

impl Labels {
    fn new(lang: Lang) -> Labels {
        let t = |ja, en| Text::new(ja, en).pick(lang);
        Labels {
            owner: t("担当", "Owner"),
            team: t("チーム", "Team"),
            grade: t("グレード", "Grade"),
            categories: ForecastCategory::ALL.iter().map(|c| c.label(lang)).collect(),
            saved: t("保存しました。", "Saved."),
            model_pending: t(
                "モデルはまだ学習されていません（サーバーは起動時と1日1回学習します）。",
                "The model has not been fitted yet (the server fits it at start-up and once a day).",
            ),
            model_fitting: t(
                "モデルを学習しています。しばらくしてから再読み込みしてください。",
                "The model is being fitted now; reload the page in a moment.",
            ),
            no_owner: t("担当なし", "No owner"),
            no_team: t("チームなし", "No team"),
        }
    }
}

#[derive(Template)]
#[template(path = "renewals.html")]
pub struct RenewalsPage {
    pub frame: Frame,
    pub t: Labels,
    pub owners: Vec<Choice>,
    pub teams: Vec<Choice>,
    pub tiers: Vec<Choice>,
    pub grades: Vec<Choice>,
    pub forecasts: Vec<Choice>,
    pub month_value: String,
    pub months: Vec<MonthLine>,
    pub month_title: String,
    pub lines: Vec<Line>,
    pub total: usize,
    pub breakdown: Vec<BreakdownTable>,
    pub categories: Vec<(String, String)>,
    pub accuracy: Vec<AccuracyLine>,
    pub model: ModelView,
    pub export_href: String,
    pub previous: Option<String>,
    pub next: Option<String>,
    pub notice: Option<&'static str>,
    pub errors: Vec<String>,
    pub back: String,
}

fn href(pairs: &[(String, String)], extra: &[(&str, String)]) -> String {
    let mut all: Vec<(&str, &str)> = pairs
        .iter()
        .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    all.extend(extra.iter().map(|(k, v)| (*k, v.as_str())));
    let query = serde_urlencoded::to_string(&all).unwrap_or_default();
    if query.is_empty() {
        "/renewals".to_owned()
    } else {
        format!("/renewals?{query}")
    }
}

/// The outcome in words: confirmed or derived, and whether the data now disagrees.
pub(crate) fn outcome_text(item: &RenewalItem, lang: Lang) -> String {
    let t = |ja, en| Text::new(ja, en).pick(lang);
    let Some(outcome) = item.outcome() else { return String::new() };
    let confirmed = item.call.as_ref().and_then(|c| c.call.outcome).is_some();
    let mut text = outcome.label(lang).to_owned();
    if let Some(reason) = item.call.as_ref().and_then(|c| c.call.churn_reason) {
        text.push_str(&format!("（{}）", reason.label(lang)));
    }
    text.push_str(if confirmed {
        t("・確認済み", " · confirmed")
    } else {
        t("・契約データより", " · from contract data")
    });
    if item.outcome_disputed() {
        let derived = item.derived_outcome.map(|o| o.label(lang)).unwrap_or_default();
        text.push_str(&match lang {
            Lang::Ja => format!("・契約データは「{derived}」"),
            Lang::En => format!(" · contract data now says {derived}"),
        });
    }
    text
}

#[derive(Clone, Copy)]
struct LineContext<'a> {
    names: &'a HashMap<UserId, String>,
    config: &'a domain::health::HealthConfig,
    currency: &'a Currency,
    lang: Lang,
}

fn line(row: &RenewalRow, context: &LineContext<'_>, editable: bool) -> Line {
    let LineContext { names, config, currency, lang } = *context;
    let account = &row.account;
    let (grade, grade_colour) = format::account_grade(config, account, lang);
    let call = row.item.call.as_ref().map(|c| &c.call);
    Line {
        account_id: account.id.0,
        account: account.input.name.clone(),
        date: format::date(Some(row.item.date), lang),
        date_key: row.item.date.to_string(),
        arr: format::money(row.item.arr, currency, lang),
        owner: account.input.owner_id.and_then(|id| names.get(&id).cloned()).unwrap_or_else(|| "—".into()),
        grade,
        grade_colour,
        forecast: row.item.forecast().map(|f| f.label(lang).to_owned()).unwrap_or_default(),
        forecast_key: row.item.forecast().map(|f| f.as_str().to_owned()).unwrap_or_default(),
        note: call.and_then(|c| c.forecast_note.clone()).unwrap_or_default(),
        outcome: outcome_text(&row.item, lang),
        churn: row.item.churn.as_ref().map(|c| format::percent(Some(c.probability))).unwrap_or_default(),
        churn_reasons: row
            .item
            .churn
            .as_ref()
            .map(|c| c.reasons.iter().map(|r| r.pick(lang)).collect::<Vec<_>>().join(" / "))
            .unwrap_or_default(),
        // Once the outcome is known the forecast is history.
        editable: editable && row.item.outcome().is_none(),
    }
}

fn accuracy_lines(months: &[MonthAccuracy], currency: &Currency, lang: Lang) -> Vec<AccuracyLine> {
    let t = |ja, en| Text::new(ja, en).pick(lang);
    months
        .iter()
        .rev()
        .flat_map(|m| {
            m.categories.iter().map(move |c| AccuracyLine {
                month: format::month_label(m.month, lang),
                snapshot_on: format::date(Some(m.snapshot_on), lang),
                category: c.forecast.map_or_else(|| t("未予測", "Not called").to_owned(), |f| f.label(lang).to_owned()),
                renewals: c.renewals,
                forecast_arr: format::money(c.forecast_arr, currency, lang),
                renewed_arr: format::money(c.renewed_arr, currency, lang),
                ratio: format::percent(c.ratio()),
            })
        })
        .collect()
}

fn month_line(
    summary: &MonthSummary,
    chosen: NaiveDate,
    widest: rust_decimal::Decimal,
    raw: &[(String, String)],
    currency: &Currency,
    lang: Lang,
) -> MonthLine {
    use rust_decimal::prelude::ToPrimitive;
    let key = summary.month.format("%Y-%m").to_string();
    let share =
        if widest > rust_decimal::Decimal::ZERO { (summary.arr.0 / widest).to_f64().unwrap_or(0.0) } else { 0.0 };
    MonthLine {
        label: format::month_label(summary.month, lang),
        href: href(raw, &[("month", key.clone())]),
        current: summary.month == chosen,
        renewals: summary.renewals,
        arr: format::money(summary.arr, currency, lang),
        expected: summary.expected_arr.map(|m| format::money(m, currency, lang)).unwrap_or_else(|| "—".into()),
        by_forecast: summary.by_forecast.iter().map(|(_, _, arr)| format::money(*arr, currency, lang)).collect(),
        closed: format::money(summary.closed.1, currency, lang),
        bar: (share * 100.0).round() as u32,
        key,
    }
}

fn parse_month(raw: &str) -> Result<NaiveDate, domain::Reason> {
    NaiveDate::parse_from_str(&format!("{}-01", raw.trim()), "%Y-%m-%d").map_err(|_| domain::Reason::InvalidDate)
}

pub async fn page(State(app): State<AppState>, frame: Frame, params: QueryParams) -> Result<Response, ApiError> {
    let notice = params.text("done").map(|_| Labels::new(frame.lang).saved);
    render_page(&app, frame, params, notice, Vec::new()).await
}

async fn render_page(
    app: &AppState,
    frame: Frame,
    mut params: QueryParams,
    notice: Option<&'static str>,
    mut errors: Vec<String>,
) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let raw = params.pairs(&["owner", "team", "tier", "grade", "forecast", "month"]);
    let filter = renewal_filter(&mut params);
    let today = app.today();
    let this_month = today.with_day(1).unwrap_or(today);
    let chosen = params.parsed("month", parse_month).unwrap_or(this_month);
    let (_, offset) = params.page();
    errors.extend(params.errors.iter().map(|e| format!("{}: {}", e.field, e.reason.message(lang))));
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let pipeline = app.renewal_pipeline(&filter, chosen, PAGE_SIZE, offset.max(0) as usize).await?;
    let users = app.staff_users().await?;
    let names: HashMap<UserId, String> = users.iter().map(|u| (u.id, u.input.name.clone())).collect();
    let config = app.health_config().await?;
    let currency = app.settings().currency;
    let selected = |name: &str| raw.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let widest = pipeline.months.iter().map(|m| m.arr.0).max().unwrap_or_default();
    let offset = offset.max(0) as usize;
    let context = LineContext { names: &names, config: &config, currency: &currency, lang };
    let lines =
        pipeline.rows.iter().map(|r| line(r, &context, app.may_edit_account(&frame.actor, &r.account.input))).collect();
    let accuracy = accuracy_lines(&app.forecast_accuracy().await?, &currency, lang);
    let back = href(&raw, &[]);
    let labels = Labels::new(lang);
    let teams = app.teams().await?;
    let team_names: HashMap<TeamId, String> = teams.iter().map(|t| (t.id, t.name.clone())).collect();
    let t = |ja, en| Text::new(ja, en).pick(lang);
    let split = &pipeline.breakdown;
    let breakdown = vec![
        breakdown_table(
            ("renewals-by-grade", t("グレード別", "By grade"), labels.grade),
            &split.by_grade,
            |key| match key {
                Some(GradeGroup::Churned) => t("解約済み", "Churned").to_owned(),
                Some(GradeGroup::Grade(grade)) => format::grade(&config, Some(grade), lang).0,
                None => format::grade(&config, None, lang).0,
            },
            &currency,
            lang,
        ),
        breakdown_table(
            ("renewals-by-owner", t("担当者別", "By owner"), labels.owner),
            &split.by_owner,
            |key| key.and_then(|id| names.get(id).cloned()).unwrap_or_else(|| labels.no_owner.to_owned()),
            &currency,
            lang,
        ),
        breakdown_table(
            ("renewals-by-team", t("チーム別", "By team"), labels.team),
            &split.by_team,
            |key| key.and_then(|id| team_names.get(id).cloned()).unwrap_or_else(|| labels.no_team.to_owned()),
            &currency,
            lang,
        ),
    ];
    let page = RenewalsPage {
        owners: choices(users.iter().map(|u| (u.id.0.to_string(), u.input.name.clone())), selected("owner")),
        teams: choices(teams.into_iter().map(|t| (t.id.0.to_string(), t.name)), selected("team")),
        tiers: choices(
            ["enterprise", "mid", "smb"].iter().map(|k| (k.to_string(), domain::account::tier_name(k, lang))),
            selected("tier"),
        ),
        grades: choices(
            config.grades.iter().map(|g| (g.key.clone(), format::grade(&config, Some(&g.key), lang).0)),
            selected("grade"),
        ),
        forecasts: choices(
            ForecastCategory::ALL.iter().map(|c| (c.as_str().to_owned(), c.label(lang).to_owned())),
            selected("forecast"),
        ),
        month_value: chosen.format("%Y-%m").to_string(),
        months: pipeline.months.iter().map(|m| month_line(m, chosen, widest, &raw, &currency, lang)).collect(),
        month_title: format::month_label(chosen, lang),
        lines,
        total: pipeline.total,
        breakdown,
        categories: ForecastCategory::ALL.iter().map(|c| (c.as_str().to_owned(), c.label(lang).to_owned())).collect(),
        accuracy,
        model: model_view(app.churn_state().as_deref(), app.churn_fitting(), lang),
        export_href: href(&raw, &[]).replacen("/renewals", "/renewals.csv", 1),
        previous: (offset > 0).then(|| href(&raw, &[("offset", offset.saturating_sub(PAGE_SIZE).to_string())])),
        next: (offset + PAGE_SIZE < pipeline.total)
            .then(|| href(&raw, &[("offset", (offset + PAGE_SIZE).to_string())])),
        notice,
        errors,
        back,
        t: labels,
        frame: frame.at("renewals"),
    };
    Ok((status, super::render(&page, "renewals")?).into_response())
}

/// `/renewals.csv`: every renewal of the 12 months the page shows, with the filters applied.
pub async fn export(State(app): State<AppState>, frame: Frame, mut params: QueryParams) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let encoding = crate::api::interchange::export_encoding(&mut params);
    let filter = renewal_filter(&mut params);
    params.finish()?;
    let today = app.today();
    let from = today.with_day(1).unwrap_or(today);
    let to = from.checked_add_months(chrono::Months::new(12)).and_then(|d| d.pred_opt()).unwrap_or(from);
    let rows = app.renewal_rows(&filter, from, to).await?;
    let names: HashMap<UserId, String> = app.staff_users().await?.into_iter().map(|u| (u.id, u.input.name)).collect();
    let config = app.health_config().await?;
    let currency = app.settings().currency;
    let t = |ja, en| Text::new(ja, en).pick(lang);
    let mut out = csv::Writer::from_writer(Vec::new());
    let csv_error = |e: csv::Error| ApiError::Internal(format!("renewals CSV: {e}"));
    out.write_record([
        t("顧客ID", "external_id"),
        t("顧客名", "name"),
        t("更新日", "renewal_date"),
        t("更新対象ARR", "arr"),
        t("担当", "owner"),
        t("グレード", "grade"),
        t("予測区分", "forecast"),
        t("予測メモ", "forecast_note"),
        t("結果", "outcome"),
        t("解約理由", "churn_reason"),
    ])
    .map_err(csv_error)?;
    for row in &rows {
        let call = row.item.call.as_ref().map(|c| &c.call);
        let record = [
            row.account.input.external_id.to_string(),
            row.account.input.name.clone(),
            row.item.date.to_string(),
            row.item.arr.plain(&currency),
            row.account.input.owner_id.and_then(|id| names.get(&id).cloned()).unwrap_or_default(),
            row.account.health.grade.as_deref().map(|g| format::grade(&config, Some(g), lang).0).unwrap_or_default(),
            row.item.forecast().map(|f| f.label(lang).to_owned()).unwrap_or_default(),
            call.and_then(|c| c.forecast_note.clone()).unwrap_or_default(),
            row.item.outcome().map(|o| o.label(lang).to_owned()).unwrap_or_default(),
            call.and_then(|c| c.churn_reason).map(|r| r.label(lang).to_owned()).unwrap_or_default(),
        ];
        out.write_record(record.iter().map(|cell| neutralise_formula(cell).into_owned())).map_err(csv_error)?;
    }
    let body = out.into_inner().map_err(|e| ApiError::Internal(format!("renewals CSV: {e}")))?;
    let text = String::from_utf8(body).map_err(|e| ApiError::Internal(format!("renewals CSV: {e}")))?;
    let bytes = crate::api::interchange::encode_csv(&text, encoding)?;
    Ok(crate::api::interchange::csv_download("renewals.csv", bytes, encoding))
}

/// Where to go after saving a call: the page the form came from, if it is one of ours.
fn back_to(fields: &FormFields, account: AccountId) -> String {
    crate::pages::layout::back_among(fields.get("back"), &["/renewals", "/accounts/"])
        .unwrap_or_else(|| format!("/accounts/{}", account.0))
}

/// `POST /accounts/{id}/renewals/{date}`: saves a CSM's call from the renewals page or the
/// account 360, then returns there; a refusal is shown on the renewals page with the reason.
pub async fn set_call(
    State(app): State<AppState>,
    frame: Frame,
    Path((id, date)): Path<(i64, String)>,
    fields: FormFields,
) -> Result<Response, ApiError> {
    let account = AccountId(id);
    let lang = frame.lang;
    let saved = async {
        let date = domain::interchange::parse_date(&date)
            .map_err(|reason| ApiError::Fields(vec![domain::FieldError::new("renewal_date", reason)]))?;
        let value = json!({
            "forecast": fields.get("forecast"),
            "forecast_note": fields.get("forecast_note"),
            "outcome": fields.get("outcome"),
            "churn_reason": fields.get("churn_reason"),
            "outcome_note": fields.get("outcome_note"),
        });
        let call = RenewalCall::parse(value).map_err(ApiError::Fields)?;
        app.set_renewal_call(&frame.actor, account, date, call).await.map_err(ApiError::from)
    }
    .await;
    let back = back_to(&fields, account);
    match saved {
        Ok(_) => {
            let separator = if back.contains('?') { '&' } else { '?' };
            Ok(Redirect::to(&format!("{back}{separator}done=renewal_saved")).into_response())
        }
        Err(error) => {
            let messages = super::settings::refused(error, lang, |field| field_label(field, lang))?;
            let query = back.split_once('?').map(|(_, q)| q).unwrap_or_default();
            render_page(&app, frame, QueryParams::from_query(query), None, messages).await
        }
    }
}

fn field_label(field: &str, lang: Lang) -> &'static str {
    let t = |ja, en| Text::new(ja, en).pick(lang);
    match field {
        "forecast" => t("予測区分", "Forecast"),
        "forecast_note" => t("予測メモ", "Forecast note"),
        "outcome" => t("結果", "Outcome"),
        "churn_reason" => t("解約理由", "Churn reason"),
        "outcome_note" => t("結果メモ", "Outcome note"),
        _ => t("更新日", "Renewal date"),
    }
}

/// How many past renewals the account 360 lists.
const CARD_HISTORY: usize = 5;

pub struct CardLine {
    pub date: String,
    pub date_key: String,
    pub arr: String,
    pub upcoming: bool,
    pub forecast: String,
    pub forecast_key: String,
    pub forecast_note: String,
    pub outcome: String,
    pub outcome_key: String,
    pub churn_reason_key: String,
    pub outcome_note: String,
}

pub struct CardLabels {
    pub title: &'static str,
    pub none: &'static str,
    pub date: &'static str,
    pub arr: &'static str,
    pub forecast: &'static str,
    pub note: &'static str,
    pub outcome: &'static str,
    pub churn_reason: &'static str,
    pub confirm: &'static str,
    pub save: &'static str,
    pub all: &'static str,
}

/// The renewal card of the account 360: the next renewals (with the forecast form) and the last
/// few past ones (with the outcome form).
pub struct RenewalCard {
    pub t: CardLabels,
    pub lines: Vec<CardLine>,
    pub categories: Vec<(String, String)>,
    pub outcomes: Vec<(String, String)>,
    pub reasons: Vec<(String, String)>,
    pub back: String,
}

pub(crate) async fn account_card(app: &AppState, account: AccountId, lang: Lang) -> Result<RenewalCard, ApiError> {
    let t = |ja, en| Text::new(ja, en).pick(lang);
    let today = app.today();
    let currency = app.settings().currency;
    let items = app.account_renewals(account).await?;
    let (upcoming, past): (Vec<&RenewalItem>, Vec<&RenewalItem>) = items.iter().partition(|i| i.date > today);
    let lines = upcoming
        .into_iter()
        .rev()
        .chain(past.into_iter().take(CARD_HISTORY))
        .map(|item| {
            let call = item.call.as_ref().map(|c| &c.call);
            CardLine {
                date: format::date(Some(item.date), lang),
                date_key: item.date.to_string(),
                arr: format::money(item.arr, &currency, lang),
                upcoming: item.date > today,
                forecast: item.forecast().map(|f| f.label(lang).to_owned()).unwrap_or_default(),
                forecast_key: item.forecast().map(|f| f.as_str().to_owned()).unwrap_or_default(),
                forecast_note: call.and_then(|c| c.forecast_note.clone()).unwrap_or_default(),
                outcome: outcome_text(item, lang),
                outcome_key: item.outcome().map(|o| o.as_str().to_owned()).unwrap_or_default(),
                churn_reason_key: call.and_then(|c| c.churn_reason).map(|r| r.as_str().to_owned()).unwrap_or_default(),
                outcome_note: call.and_then(|c| c.outcome_note.clone()).unwrap_or_default(),
            }
        })
        .collect();
    Ok(RenewalCard {
        t: CardLabels {
            title: t("更新", "Renewals"),
            none: t("契約期間の終わり（更新）はありません。", "No committed term ends (renewals)."),
            date: t("更新日", "Renewal date"),
            arr: t("更新対象 ARR", "ARR up for renewal"),
            forecast: t("予測区分", "Forecast"),
            note: t("メモ", "Note"),
            outcome: t("結果", "Outcome"),
            churn_reason: t("解約理由", "Churn reason"),
            confirm: t("結果を確定", "Confirm outcome"),
            save: t("保存", "Save"),
            all: t("更新一覧へ", "All renewals"),
        },
        lines,
        categories: ForecastCategory::ALL.iter().map(|c| (c.as_str().to_owned(), c.label(lang).to_owned())).collect(),
        outcomes: RenewalOutcome::ALL.iter().map(|o| (o.as_str().to_owned(), o.label(lang).to_owned())).collect(),
        reasons: ChurnReason::ALL.iter().map(|r| (r.as_str().to_owned(), r.label(lang).to_owned())).collect(),
        back: format!("/accounts/{}", account.0),
    })
}
