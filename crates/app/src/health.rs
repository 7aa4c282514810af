//! Health scores: the configuration (shipped default, or saved by a manager), each account's
//! signals as of any day gathered from the usage rollups and its subscriptions, the portfolio's
//! grade distribution, and the backtest against real churn.

use crate::{Actor, App, AppError};
use chrono::{Datelike, Days, Months, NaiveDate};
use domain::account::Account;
use domain::health::backtest::{report, BacktestReport, Observation};
use domain::health::{HealthConfig, HealthScore};
use domain::{AccountId, Money, Reason};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use store::AccountQuery;

pub use engine::{score_account, score_accounts, Calendars, Portfolio, CHURNED_GRADE};

/// The largest weight a measure is given by `apply_weights`.
pub const MAX_WEIGHT: f64 = 10_000.0;

/// The shipped default: the same file as `examples/health.toml`.
pub const DEFAULT_HEALTH_CONFIG: &str = include_str!("../../../examples/health.toml");

/// Reads a health configuration file; structure errors name their line, rule errors their field.
pub fn parse_health_toml(file: &str, text: &str) -> Result<HealthConfig, AppError> {
    let config: HealthConfig = toml::from_str(text).map_err(|e| AppError::ImportRejected {
        file: file.to_owned(),
        errors: vec![domain::interchange::toml_errors::row_error(text, &e)],
    })?;
    config.validate().map_err(AppError::Invalid)?;
    Ok(config)
}

/// The configuration as a TOML file that `parse_health_toml` reads back to the same value: what
/// the health page's editor starts from. Written a table at a time so that a blank line sets
/// each grade, scorecard and measure apart, as in `examples/health.toml`.
pub fn health_toml(config: &HealthConfig) -> Result<String, AppError> {
    #[derive(Serialize)]
    struct Head {
        min_measures: usize,
    }
    #[derive(Serialize)]
    struct Grade<'a> {
        grade: [&'a domain::health::GradeBand; 1],
    }
    #[derive(Serialize)]
    struct CardHead<'a> {
        key: &'a str,
        name: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        name_en: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        applies_to: Option<&'a domain::health::AccountMatch>,
    }
    #[derive(Serialize)]
    struct Card<'a> {
        scorecard: [CardHead<'a>; 1],
    }
    #[derive(Serialize)]
    struct Measures<'a> {
        measure: [&'a domain::health::MeasureSpec; 1],
    }
    #[derive(Serialize)]
    struct Measure<'a> {
        scorecard: [Measures<'a>; 1],
    }
    fn write(value: &impl Serialize) -> Result<String, AppError> {
        toml::to_string(value).map_err(|e| AppError::Internal(format!("writing the health configuration as TOML: {e}")))
    }
    let mut sections = vec![write(&Head { min_measures: config.min_measures })?];
    for grade in &config.grades {
        sections.push(write(&Grade { grade: [grade] })?);
    }
    for card in &config.scorecards {
        let head = CardHead {
            key: &card.key,
            name: &card.name,
            name_en: card.name_en.as_deref(),
            applies_to: card.applies_to.as_ref(),
        };
        sections.push(write(&Card { scorecard: [head] })?);
        for measure in &card.measures {
            // A measure alone still opens its scorecard's array element; the measure belongs to
            // the scorecard written just above, so that opening line is dropped.
            let text = write(&Measure { scorecard: [Measures { measure: [measure] }] })?;
            let body = text.trim_start().strip_prefix("[[scorecard]]").unwrap_or(&text).trim_start();
            sections.push(body.to_owned());
        }
    }
    Ok(sections.join("\n"))
}

/// The line of a configuration file that holds a field named as `validate` names it
/// (`scorecard[0].measure[1].weight`): the closest part of the path that exists in the file.
pub fn health_toml_line(text: &str, field: &str) -> Option<u64> {
    let document = toml::de::DeTable::parse(text).ok()?;
    let mut span = None;
    let mut table = Some(document.get_ref());
    let mut value: Option<&toml::Spanned<toml::de::DeValue<'_>>> = None;
    for part in field.split('.') {
        let (key, index) = match part.split_once('[') {
            Some((key, rest)) => (key, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        let here = match value.map(|v| v.get_ref()) {
            Some(toml::de::DeValue::Table(inner)) => Some(inner),
            Some(_) => None,
            None => table.take(),
        }?;
        let (name, found) = here.iter().find(|(name, _)| name.get_ref() == key)?;
        span = Some(name.span());
        value = Some(found);
        if let Some(i) = index {
            let toml::de::DeValue::Array(items) = found.get_ref() else { break };
            let item = items.get(i)?;
            span = Some(item.span());
            value = Some(item);
        }
    }
    let start = span?.start.min(text.len());
    Some(1 + text[..start].matches('\n').count() as u64)
}

pub fn default_health_config() -> HealthConfig {
    parse_health_toml("examples/health.toml", DEFAULT_HEALTH_CONFIG).expect("the shipped health configuration is valid")
}

/// How many paying accounts, and how much ARR, each grade holds.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GradeCount {
    pub grade: String,
    pub name_ja: String,
    pub name_en: String,
    pub colour: String,
    pub accounts: usize,
    pub arr: Money,
}

/// Scores one account with the scorecard that applies to it, as of the calendars' day (see
/// `Portfolio::calendars`).
pub fn score_with(
    config: &HealthConfig,
    portfolio: &Portfolio,
    account: &Account,
    calendars: &Calendars,
) -> Result<HealthScore, AppError> {
    score_account(config, portfolio, account, calendars).ok_or_else(no_default_scorecard)
}

fn no_default_scorecard() -> AppError {
    AppError::Internal("the health configuration has no default scorecard".into())
}

/// Scores many accounts on every core, off the async workers; in the order given.
pub(crate) async fn score_all_of(
    config: &HealthConfig,
    portfolio: crate::resident::PortfolioRead,
    accounts: Vec<Account>,
    as_of: NaiveDate,
) -> Result<Vec<(Account, HealthScore)>, AppError> {
    let config = config.clone();
    tokio::task::spawn_blocking(move || {
        let calendars = portfolio.calendars_for(&config, as_of);
        let scores = score_accounts(&config, &portfolio, &accounts, &calendars);
        accounts
            .into_iter()
            .zip(scores)
            .map(|(account, score)| Ok((account, score.ok_or_else(no_default_scorecard)?)))
            .collect()
    })
    .await
    .map_err(|e| AppError::Internal(format!("scoring accounts: {e}")))?
}

/// A draft health configuration's effect, before it is saved.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HealthPreview {
    /// Paying accounts per grade today under the draft: its grades in order, unknown last.
    pub grades: Vec<(String, usize)>,
    /// The draft's backtest over the health page's default range.
    pub backtest: BacktestReport,
    /// The saved configuration's AUC over the same range.
    pub saved_auc: Option<f64>,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// The churn window a backtest looks at when none is asked for.
pub const DEFAULT_BACKTEST_HORIZON: u64 = 90;

/// How long a backtest report is shown without being remade: it reads every account's history,
/// seconds at scale, and history before the last month changes rarely. A configuration change
/// drops it; a change of data or its age only outdates it: it is still shown while a new one is
/// made in the background, so the health page never waits for a backtest it has shown before.
const BACKTEST_TTL: std::time::Duration = std::time::Duration::from_secs(2 * 3600);
/// A report younger than this is shown as it is even after a change of data: remaking it takes
/// both cores for seconds at scale, and a team that changes subscriptions all day while looking
/// at the health page would otherwise keep a backtest running, slowing every other page.
const BACKTEST_REMADE_AT_MOST_EVERY: std::time::Duration = std::time::Duration::from_secs(10 * 60);
/// Reports kept at once (a few date ranges people look at).
const BACKTESTS_KEPT: usize = 8;

type BacktestKey = (NaiveDate, NaiveDate, u64);

struct KeptBacktest {
    key: BacktestKey,
    made: std::time::Instant,
    report: BacktestReport,
    outdated: bool,
}

#[derive(Default)]
pub(crate) struct BacktestCache {
    reports: std::sync::Mutex<Vec<KeptBacktest>>,
    /// Reports being remade in the background.
    remaking: std::sync::Mutex<HashSet<BacktestKey>>,
}

impl BacktestCache {
    /// Forgets every report (the configuration they scored with changed).
    pub(crate) fn clear(&self) {
        self.reports.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// The data changed: reports are remade the next time they are asked for.
    pub(crate) fn outdate(&self) {
        self.reports.lock().unwrap_or_else(|p| p.into_inner()).iter_mut().for_each(|kept| kept.outdated = true);
    }

    /// The report kept for `key`, and whether it is current.
    fn lookup(&self, key: BacktestKey) -> Option<(BacktestReport, bool)> {
        let reports = self.reports.lock().unwrap_or_else(|p| p.into_inner());
        let kept = reports.iter().find(|kept| kept.key == key)?;
        let age = kept.made.elapsed();
        let current = age < BACKTEST_REMADE_AT_MOST_EVERY || (!kept.outdated && age < BACKTEST_TTL);
        Some((kept.report.clone(), current))
    }

    fn keep(&self, key: BacktestKey, report: BacktestReport) {
        let mut reports = self.reports.lock().unwrap_or_else(|p| p.into_inner());
        reports.retain(|kept| kept.key != key);
        if reports.len() >= BACKTESTS_KEPT {
            reports.remove(0);
        }
        reports.push(KeptBacktest { key, made: std::time::Instant::now(), report, outdated: false });
    }

    /// Whether the caller is the one to remake `key` (nobody else is).
    fn start_remaking(&self, key: BacktestKey) -> bool {
        self.remaking.lock().unwrap_or_else(|p| p.into_inner()).insert(key)
    }

    fn done_remaking(&self, key: BacktestKey) {
        self.remaking.lock().unwrap_or_else(|p| p.into_inner()).remove(&key);
    }
}

impl App {
    /// The saved configuration, else the shipped default.
    pub async fn health_config(&self) -> Result<HealthConfig, AppError> {
        match self.store.load_health_config().await? {
            Some(json) => serde_json::from_str(&json)
                .map_err(|e| AppError::Internal(format!("the saved health configuration is unreadable: {e}"))),
            None => Ok(default_health_config()),
        }
    }

    pub async fn set_health_config(&self, actor: &Actor, config: HealthConfig) -> Result<HealthConfig, AppError> {
        config.validate().map_err(AppError::Invalid)?;
        // A configuration saved unreadable (by an older version) must not stop the one that replaces it.
        let before = match self.health_config().await {
            Ok(before) => Some(before),
            Err(AppError::Internal(error)) => {
                tracing::warn!(%error, "replacing a health configuration that could not be read");
                None
            }
            Err(other) => return Err(other),
        };
        let json = serde_json::to_string(&config)
            .map_err(|e| AppError::Internal(format!("saving the health configuration: {e}")))?;
        self.store.save_health_config(&json).await?;
        self.backtests.clear();
        self.grade_drops_cache.clear();
        self.record_change(actor, "update", "health_config", "workspace", before.as_ref(), Some(&config)).await?;
        Ok(config)
    }

    /// Sets the weight of every measure with one of these keys, in every scorecard: how a
    /// manager applies the backtest's suggested weights in one action.
    pub async fn apply_weights(
        &self,
        actor: &Actor,
        weights: &std::collections::BTreeMap<String, f64>,
    ) -> Result<HealthConfig, AppError> {
        let mut config = self.health_config().await?;
        let known: HashSet<&str> = config.scorecards.iter().flat_map(|c| &c.measures).map(|m| m.key.as_str()).collect();
        let mut errors = Vec::new();
        if weights.is_empty() {
            errors.push(domain::FieldError::new("weights", Reason::Required));
        }
        for (key, weight) in weights {
            if !known.contains(key.as_str()) {
                errors.push(domain::FieldError::new(format!("weights.{key}"), Reason::UnknownReference));
            } else if !(weight.is_finite() && *weight > 0.0 && *weight <= MAX_WEIGHT) {
                errors.push(domain::FieldError::new(
                    format!("weights.{key}"),
                    Reason::OutOfRange { min: "0 (exclusive)".into(), max: MAX_WEIGHT.to_string() },
                ));
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        for measure in config.scorecards.iter_mut().flat_map(|c| &mut c.measures) {
            if let Some(weight) = weights.get(&measure.key) {
                measure.weight = *weight;
            }
        }
        self.set_health_config(actor, config).await
    }

    /// One account's score as of a day (default today), computed from the current data.
    pub async fn account_health(&self, id: AccountId, as_of: Option<NaiveDate>) -> Result<HealthScore, AppError> {
        let account = self.store.get_account(id).await?;
        let config = self.health_config().await?;
        let portfolio = self.portfolio().await?;
        let calendars = portfolio.calendars_for(&config, as_of.unwrap_or_else(|| self.today()));
        score_with(&config, &portfolio, &account, &calendars)
    }

    pub(crate) async fn all_accounts(&self) -> Result<Vec<Account>, AppError> {
        let everyone = AccountQuery { limit: i64::MAX, sort: store::AccountSort::Id, ..AccountQuery::default() };
        Ok(self.store.list_accounts(&everyone).await?.items)
    }

    /// These accounts (all when `None`) in id order; ids of deleted accounts are skipped.
    pub(crate) async fn accounts_of(&self, ids: Option<&[AccountId]>) -> Result<Vec<Account>, AppError> {
        match ids {
            None => self.all_accounts().await,
            Some(ids) => Ok(self.store.accounts_by_ids(ids).await?),
        }
    }

    /// Paying accounts and their ARR per grade of their current score (kept up to date by the
    /// health worker), best grade first and unknown last.
    pub async fn grade_distribution(&self) -> Result<Vec<GradeCount>, AppError> {
        let config = self.health_config().await?;
        let totals = self.store.grade_totals().await?;
        let known = |key: &str| config.grades.iter().any(|g| g.key == key);
        let count = |matches: &dyn Fn(Option<&str>) -> bool| {
            totals
                .iter()
                .filter(|t| matches(t.grade.as_deref()))
                .fold((0, Money::ZERO), |(n, arr), t| (n + t.accounts as usize, arr + t.arr))
        };
        let mut rows: Vec<GradeCount> = config
            .grades
            .iter()
            .map(|g| {
                let (accounts, arr) = count(&|grade| grade == Some(g.key.as_str()));
                GradeCount {
                    grade: g.key.clone(),
                    name_ja: g.name_ja.clone(),
                    name_en: g.name_en.clone(),
                    colour: g.colour.clone(),
                    accounts,
                    arr,
                }
            })
            .collect();
        let (accounts, arr) = count(&|grade| grade.is_none_or(|g| !known(g)));
        rows.push(GradeCount {
            grade: domain::health::UNKNOWN_GRADE.into(),
            name_ja: "不明".into(),
            name_en: "Unknown".into(),
            colour: "#999999".into(),
            accounts,
            arr,
        });
        Ok(rows)
    }

    /// Scores every paying account as of the first day of each month from `from` to `to`, using
    /// only data dated by then, and compares with whether it churned within `horizon_days`.
    /// A report made in the last `BACKTEST_TTL` with the same configuration is reused.
    pub async fn health_backtest(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        horizon_days: u64,
    ) -> Result<BacktestReport, AppError> {
        let key = (from, to, horizon_days);
        match self.backtests.lookup(key) {
            Some((report, true)) => Ok(report),
            Some((report, false)) => {
                self.remake_backtest_later(key);
                Ok(report)
            }
            None => {
                let report = self.compute_backtest(from, to, horizon_days).await?;
                self.backtests.keep(key, report.clone());
                Ok(report)
            }
        }
    }

    /// Remakes an outdated report in the background (when the workers run; otherwise the next
    /// request after it expires remakes it).
    fn remake_backtest_later(&self, key: BacktestKey) {
        let Some(app) = self.itself.get().and_then(std::sync::Weak::upgrade) else { return };
        if !self.backtests.start_remaking(key) {
            return;
        }
        tokio::spawn(async move {
            let (from, to, horizon) = key;
            match app.compute_backtest(from, to, horizon).await {
                Ok(report) => app.backtests.keep(key, report),
                Err(error) => tracing::warn!(%error, "remaking a backtest failed"),
            }
            app.backtests.done_remaking(key);
        });
    }

    /// The backtest the health page shows first: the twelve months whose outcome over `horizon_days`
    /// is known by today.
    pub fn default_backtest_range(&self, horizon_days: u64) -> (NaiveDate, NaiveDate) {
        let today = self.today();
        let settled = today.checked_sub_days(Days::new(horizon_days)).unwrap_or(today);
        let to = settled.with_day(1).unwrap_or(settled);
        let from = to.checked_sub_months(Months::new(11)).unwrap_or(to);
        (from, to)
    }

    /// Makes the health page's first backtest ready before anyone opens the page: at scale it
    /// scores every account a dozen times over.
    pub async fn prepare_default_backtest(&self) -> Result<(), AppError> {
        let (from, to) = self.default_backtest_range(DEFAULT_BACKTEST_HORIZON);
        let report = self.compute_backtest(from, to, DEFAULT_BACKTEST_HORIZON).await?;
        self.backtests.keep((from, to, DEFAULT_BACKTEST_HORIZON), report);
        Ok(())
    }

    async fn compute_backtest(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        horizon_days: u64,
    ) -> Result<BacktestReport, AppError> {
        self.with_scored_history(from, to, horizon_days, |config, history| history.report(config)).await
    }

    /// The observations behind a backtest (see `health_backtest`), for analysis outside Kizuna.
    pub async fn health_backtest_history(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        horizon_days: u64,
    ) -> Result<ScoredHistory, AppError> {
        self.with_scored_history(from, to, horizon_days, |_, history| history).await
    }

    /// Scores the saved configuration over the range and hands the result to `finish`, both off
    /// the async workers: seconds of arithmetic at scale.
    async fn with_scored_history<T: Send + 'static>(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        horizon_days: u64,
        finish: impl FnOnce(&HealthConfig, ScoredHistory) -> T + Send + 'static,
    ) -> Result<T, AppError> {
        check_backtest_range(from, to, horizon_days)?;
        let config = self.health_config().await?;
        let portfolio = self.portfolio_copy().await?;
        let accounts = self.all_accounts().await?;
        tokio::task::spawn_blocking(move || {
            let history = scored_history(&config, &portfolio, &accounts, from, to, horizon_days)?;
            Ok(finish(&config, history))
        })
        .await
        .map_err(|e| AppError::Internal(format!("backtest: {e}")))?
    }

    /// What a draft configuration would do before it is saved: paying accounts per grade today
    /// and the default backtest, beside the saved configuration's. Nothing is stored.
    pub async fn preview_health_config(&self, draft: &HealthConfig) -> Result<HealthPreview, AppError> {
        draft.validate().map_err(AppError::Invalid)?;
        let (from, to) = self.default_backtest_range(DEFAULT_BACKTEST_HORIZON);
        let saved = self.health_backtest(from, to, DEFAULT_BACKTEST_HORIZON).await?;
        let portfolio = self.portfolio_copy().await?;
        let accounts = self.all_accounts().await?;
        let today = self.today();
        let calendars = portfolio.calendars_for(draft, today);
        let mut grades: Vec<(String, usize)> = draft.grades.iter().map(|g| (g.key.clone(), 0)).collect();
        grades.push((domain::health::UNKNOWN_GRADE.into(), 0));
        for account in &accounts {
            if portfolio.figures(account.id, today).mrr.0.is_zero() {
                continue;
            }
            let grade = score_with(draft, &portfolio, account, &calendars)?.grade;
            let unknown = grades.len() - 1;
            let row = grades.iter().position(|(key, _)| *key == grade).unwrap_or(unknown);
            grades[row].1 += 1;
        }
        let backtest = scored_history(draft, &portfolio, &accounts, from, to, DEFAULT_BACKTEST_HORIZON)?.report(draft);
        Ok(HealthPreview { grades, backtest, saved_auc: saved.auc, from, to })
    }
}

fn check_backtest_range(from: NaiveDate, to: NaiveDate, horizon_days: u64) -> Result<(), AppError> {
    if from > to {
        return Err(AppError::invalid("to", Reason::EndNotAfterStart));
    }
    if !(1..=730).contains(&horizon_days) {
        return Err(AppError::invalid("horizon", Reason::OutOfRange { min: "1d".into(), max: "730d".into() }));
    }
    Ok(())
}

/// What a backtest scored: every paying account on the first of each month, with its measures'
/// points and whether it churned within the horizon after.
#[derive(Debug, Clone)]
pub struct ScoredHistory {
    /// The measures' keys, in the order of each observation's points.
    pub measures: Vec<String>,
    pub observations: Vec<Observation>,
    /// Each observed account's id in the source system.
    pub external_ids: HashMap<i64, domain::ExternalId>,
}

impl ScoredHistory {
    /// How well `config`'s scores separated the accounts that churned: the backtest.
    pub fn report(&self, config: &HealthConfig) -> BacktestReport {
        report(&self.observations, &config.grade_keys(), &self.measures)
    }
}

/// Scores every paying account with `config` as of the first of each month from `from` to `to`
/// and records whether it churned within `horizon_days`.
fn scored_history(
    config: &HealthConfig,
    portfolio: &Portfolio,
    accounts: &[Account],
    from: NaiveDate,
    to: NaiveDate,
    horizon_days: u64,
) -> Result<ScoredHistory, AppError> {
    let churns: HashMap<AccountId, Vec<NaiveDate>> =
        accounts.iter().map(|a| (a.id, portfolio.churn_days(a.id))).collect();
    let mut keys: Vec<String> = Vec::new();
    for m in config.scorecards.iter().flat_map(|c| &c.measures) {
        if !keys.contains(&m.key) {
            keys.push(m.key.clone());
        }
    }
    let mut observations = Vec::new();
    let mut point = from.with_day(1).unwrap_or(from);
    if point < from {
        point = point.checked_add_months(Months::new(1)).unwrap_or(to);
    }
    while point <= to {
        let horizon_end = point.checked_add_days(Days::new(horizon_days)).unwrap_or(NaiveDate::MAX);
        let calendars = portfolio.calendars_for(config, point);
        for account in accounts {
            if portfolio.figures(account.id, point).mrr.0.is_zero() {
                continue;
            }
            let health = score_with(config, portfolio, account, &calendars)?;
            let churned =
                churns.get(&account.id).is_some_and(|days| days.iter().any(|d| *d > point && *d <= horizon_end));
            let mut points = vec![None; keys.len()];
            for m in &health.measures {
                if let Some(i) = keys.iter().position(|k| *k == m.key) {
                    points[i] = m.points;
                }
            }
            observations.push(Observation {
                as_of: point,
                score: health.score,
                grade: health.grade,
                churned,
                account: account.id.0,
                points,
            });
        }
        point = match point.checked_add_months(Months::new(1)) {
            Some(next) => next,
            None => break,
        };
    }
    let external_ids = accounts.iter().map(|a| (a.id.0, a.input.external_id.clone())).collect();
    Ok(ScoredHistory { measures: keys, observations, external_ids })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty_report() -> BacktestReport {
        BacktestReport {
            observations: 0,
            churned: 0,
            churn_rate: None,
            auc: None,
            by_grade: Vec::new(),
            worst_grade_lift: None,
            calibration: Vec::new(),
            measures: Vec::new(),
            suggested: None,
        }
    }

    #[test]
    fn an_outdated_backtest_is_remade_only_once_it_is_ten_minutes_old() {
        let cache = BacktestCache::default();
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).expect("a date");
        let (young, old) = ((day, day, 90), (day, day, 30));
        cache.keep(young, empty_report());
        cache.keep(old, empty_report());
        let eleven_minutes_ago = std::time::Instant::now().checked_sub(std::time::Duration::from_secs(11 * 60));
        if let Some(made) = eleven_minutes_ago {
            cache.reports.lock().expect("not poisoned").iter_mut().filter(|k| k.key == old).for_each(|k| k.made = made);
        }
        assert_eq!(cache.lookup(old).map(|(_, current)| current), Some(true), "not outdated yet");
        cache.outdate();
        assert_eq!(cache.lookup(young).map(|(_, current)| current), Some(true), "made a moment ago");
        if eleven_minutes_ago.is_some() {
            assert_eq!(cache.lookup(old).map(|(_, current)| current), Some(false), "outdated and old enough");
        }
        cache.clear();
        assert!(cache.lookup(young).is_none(), "a configuration change drops every report");
    }

    #[test]
    fn the_shipped_configuration_is_valid() {
        let config = default_health_config();
        assert_eq!(config.grades.len(), 3);
        assert!(config.scorecards[0].measures.len() >= 8);
    }

    #[test]
    fn a_configuration_file_names_the_line_or_the_field_at_fault() {
        let Err(AppError::ImportRejected { errors, .. }) =
            parse_health_toml("h.toml", "min_measures = 3\nscorecard = 5\n")
        else {
            panic!("expected a rejection");
        };
        assert_eq!(errors[0].line, 2);
        let text = DEFAULT_HEALTH_CONFIG.replace("weight = 30", "weight = 0");
        let Err(AppError::Invalid(fields)) = parse_health_toml("h.toml", &text) else { panic!("expected invalid") };
        assert_eq!(fields[0].field, "scorecard[0].measure[0].weight");
        let line = health_toml_line(&text, &fields[0].field).expect("the field is in the file");
        assert_eq!(text.lines().nth(line as usize - 1), Some("weight = 0"));
    }

    #[test]
    fn the_configuration_written_as_toml_reads_back_the_same() {
        let mut config = default_health_config();
        config.scorecards[0].name = "line\n[not a table]".into();
        let mut gold = config.scorecards[0].clone();
        gold.key = "gold".into();
        gold.applies_to = Some(domain::health::AccountMatch { tier: Some("gold".into()), ..Default::default() });
        config.scorecards.insert(0, gold);
        let text = health_toml(&config).unwrap();
        assert_eq!(parse_health_toml("h.toml", &text).unwrap(), config);
        assert!(text.contains("\n\n[[scorecard.measure]]\nkey = "), "tables are set apart: {text}");
        assert_eq!(
            health_toml_line(&text, "min_measures"),
            Some(1 + text.lines().position(|l| l.starts_with("min_measures")).unwrap() as u64)
        );
    }
}
