//! Health scores: the configuration (shipped default, or saved by a manager), each account's
//! signals as of any day gathered from the usage rollups and its subscriptions, the portfolio's
//! grade distribution, and the backtest against real churn.

use crate::{Actor, App, AppError};
use chrono::{Datelike, Days, Months, NaiveDate};
use domain::account::Account;
use domain::health::activity::{activity_window, subtract_daily, sum_daily, ActivityWindow};
use domain::health::backtest::{report, BacktestReport, Observation};
use domain::health::{
    score, AccountSignals, AccountTraits, ActivityKey, ActivityScope, HealthConfig, HealthScore, MeasureType,
    TicketSignal,
};
use domain::i18n::Bilingual;
use domain::subscription::{AccountFigures, SubscriptionTerms};
use domain::usage::{
    days_before, feature_use_on, seat_activation, seats, Cadence, Feature, FeatureCalendar, Importance,
};
use domain::voice::{TicketPriority, TicketStatus};
use domain::{AccountId, Money, Reason};
use rust_decimal::prelude::ToPrimitive;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use store::AccountQuery;

/// The grade an account's score reports once it has churned (stored as no grade at all).
pub const CHURNED_GRADE: &str = "churned";

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

/// The day accounts are scored as of, and each feature's expected periods on it (`None` for a
/// feature no scorecard reads, which is then not summarised at all).
pub struct Calendars {
    pub as_of: NaiveDate,
    pub features: Vec<Option<FeatureCalendar>>,
    /// The usage windows the activity trends read.
    pub activity: Vec<ActivityKey>,
}

/// Everything needed to score accounts as of any day, held in memory: the scoring engine's state.
pub struct Portfolio {
    features: Vec<Feature>,
    periods: HashMap<AccountId, Vec<SubscriptionTerms>>,
    feature_days: HashMap<AccountId, HashMap<i64, Vec<(NaiveDate, i64)>>>,
    /// Every tracked event per account per day, oldest first.
    event_days: HashMap<AccountId, Vec<(NaiveDate, i64)>>,
    /// Active user-days per account, by day, with users numbered.
    user_days: HashMap<AccountId, Vec<(NaiveDate, u32)>>,
    /// CSM pulses per account as (day, score), oldest first.
    pulses: HashMap<AccountId, Vec<(NaiveDate, i64)>>,
    /// NPS answers per account; `None` when the workspace never imported any.
    nps: Option<HashMap<AccountId, Vec<(NaiveDate, i64)>>>,
    /// Support tickets per account; `None` when the workspace never imported any.
    tickets: Option<HashMap<AccountId, Vec<TicketSignal>>>,
    /// The workspace counts month-to-month contracts as renewing monthly.
    monthly_renews: bool,
}

fn to_f64(money: Money) -> f64 {
    money.0.to_f64().unwrap_or(0.0)
}

impl Portfolio {
    /// Builds the state from daily feature uses (sorted by day) and active user-days; `kizuna
    /// bench health` fills it with generated data.
    pub fn new(
        features: Vec<Feature>,
        periods: HashMap<AccountId, Vec<SubscriptionTerms>>,
        mut feature_days: HashMap<AccountId, HashMap<i64, Vec<(NaiveDate, i64)>>>,
        mut user_days: HashMap<AccountId, Vec<(NaiveDate, u32)>>,
    ) -> Portfolio {
        for days in user_days.values_mut() {
            days.sort_unstable();
        }
        for days in feature_days.values_mut().flat_map(|by_feature| by_feature.values_mut()) {
            days.sort_unstable();
        }
        Portfolio {
            features,
            periods,
            feature_days,
            event_days: HashMap::new(),
            user_days,
            pulses: HashMap::new(),
            nps: None,
            tickets: None,
            monthly_renews: false,
        }
    }

    fn distinct_users(&self, account: AccountId, from: NaiveDate, to: NaiveDate) -> i64 {
        let Some(days) = self.user_days.get(&account) else { return 0 };
        let start = days.partition_point(|(day, _)| *day < from);
        let users: HashSet<u32> =
            days[start..].iter().take_while(|(day, _)| *day <= to).map(|(_, user)| *user).collect();
        users.len() as i64
    }

    /// The account's NPS answers as (day, score), oldest first; none when none were imported.
    pub fn nps_answers(&self, account: AccountId) -> &[(NaiveDate, i64)] {
        self.nps.as_ref().and_then(|nps| nps.get(&account)).map_or(&[], Vec::as_slice)
    }

    /// The account's periods that had started by `day`: what was known then.
    fn periods_known(&self, account: AccountId, day: NaiveDate) -> Vec<&SubscriptionTerms> {
        self.periods.get(&account).map(|p| p.iter().filter(|t| t.start_date <= day).collect()).unwrap_or_default()
    }

    pub(crate) fn figures(&self, account: AccountId, day: NaiveDate) -> AccountFigures {
        AccountFigures::compute(&self.periods_known(account, day), day, self.monthly_renews)
    }

    /// The next end of a committed term longer than a month after `day`, whatever the
    /// workspace's setting for monthly contracts; `None` when the account is month to month.
    pub(crate) fn next_term_end(&self, account: AccountId, day: NaiveDate) -> Option<NaiveDate> {
        domain::renewals::next_renewal_date(&self.periods_known(account, day), day, false)
    }

    /// Every feature's calendar as of a day, in catalog order: computed once for many accounts.
    pub fn calendars(&self, as_of: NaiveDate, periods: usize) -> Calendars {
        Calendars {
            as_of,
            features: self
                .features
                .iter()
                .map(|f| Some(FeatureCalendar::new(&f.definition.cadence, as_of, periods)))
                .collect(),
            activity: Vec::new(),
        }
    }

    /// The calendars of the features the configuration's scorecards read: those named by a
    /// measure, and core ones when a breadth measure counts them.
    pub fn calendars_for(&self, config: &HealthConfig, as_of: NaiveDate) -> Calendars {
        let measures: Vec<&domain::health::MeasureSpec> = config.scorecards.iter().flat_map(|c| &c.measures).collect();
        let breadth = measures.iter().any(|m| m.kind == MeasureType::Breadth);
        let core_adherence = |annual: bool| {
            measures.iter().any(|m| {
                m.scope == Some(ActivityScope::Core)
                    && match m.kind {
                        MeasureType::CadenceAdherence => !annual,
                        MeasureType::SeasonalAdherence => annual,
                        _ => false,
                    }
            })
        };
        let (core_cadence, core_seasonal) = (core_adherence(false), core_adherence(true));
        let core_trend = config.activity_keys().iter().any(|k| k.feature.is_none() && k.scope == ActivityScope::Core);
        let periods = config.periods_needed();
        Calendars {
            as_of,
            features: self
                .features
                .iter()
                .map(|f| {
                    let d = &f.definition;
                    let named = measures.iter().any(|m| m.feature.as_deref() == Some(d.key.as_str()));
                    let core = d.importance == Importance::Core;
                    let annual = d.cadence.season().is_some();
                    let counted =
                        core && ((!annual && (breadth || core_cadence || core_trend)) || (annual && core_seasonal));
                    (named || counted).then(|| FeatureCalendar::new(&d.cadence, as_of, periods))
                })
                .collect(),
            activity: config.activity_keys().into_iter().collect(),
        }
    }

    /// The account's signals using only what had happened by the calendars' day.
    pub fn signals(&self, account: &Account, calendars: &Calendars) -> AccountSignals {
        let id = account.id;
        let as_of = calendars.as_of;
        let empty = HashMap::new();
        let days = self.feature_days.get(&id).unwrap_or(&empty);
        let features = self
            .features
            .iter()
            .zip(&calendars.features)
            .filter_map(|(f, calendar)| {
                Some(feature_use_on(f, calendar.as_ref()?, days.get(&f.id).map_or(&[][..], Vec::as_slice)))
            })
            .collect();
        let now = self.figures(id, as_of);
        AccountSignals {
            as_of,
            customer_since: now.first_paying_day,
            features,
            active_users_30d: self.distinct_users(id, days_before(as_of, 29), as_of),
            active_users_prev_30d: self.distinct_users(id, days_before(as_of, 59), days_before(as_of, 30)),
            seats: seats(account.input.employees, self.main_quantity(id, as_of)),
            nps: self.nps.as_ref().map(|by_account| by_account.get(&id).cloned().unwrap_or_default()),
            tickets: self.tickets.as_ref().map(|by_account| by_account.get(&id).cloned().unwrap_or_default()),
            pulse: self.pulses.get(&id).and_then(|p| p.iter().rev().find(|(day, _)| *day <= as_of).copied()),
            next_renewal: now.next_renewal_date,
            mrr_now: to_f64(now.mrr),
            mrr_90_days_ago: to_f64(self.figures(id, days_before(as_of, 90)).mrr),
            activity: self.activity_windows(id, &calendars.activity, as_of),
        }
    }

    /// The account's usage in the recent window of each key and the baseline before it. A key
    /// over the core features gives one window per core feature (each judged on its own habit).
    fn activity_windows(
        &self,
        account: AccountId,
        keys: &[ActivityKey],
        as_of: NaiveDate,
    ) -> BTreeMap<ActivityKey, ActivityWindow> {
        let users = self.user_days.get(&account).map_or(&[][..], Vec::as_slice);
        let empty = HashMap::new();
        let by_feature = self.feature_days.get(&account).unwrap_or(&empty);
        let uses_of = |f: &Feature| by_feature.get(&f.id).map_or(&[][..], Vec::as_slice);
        let annual = |f: &Feature| f.definition.cadence.season().is_some();
        let mut windows = BTreeMap::new();
        for key in keys {
            let features: Vec<&Feature> = match (&key.feature, key.scope) {
                (Some(feature), _) => self.features.iter().filter(|f| f.definition.key.as_str() == feature).collect(),
                (None, ActivityScope::Core) => {
                    self.features.iter().filter(|f| f.definition.importance == Importance::Core && !annual(f)).collect()
                }
                (None, ActivityScope::All) => {
                    let events = self.event_days.get(&account).map_or(&[][..], Vec::as_slice);
                    let seasonal: Vec<&[(NaiveDate, i64)]> = self
                        .features
                        .iter()
                        .filter(|f| annual(f))
                        .map(uses_of)
                        .filter(|uses| !uses.is_empty())
                        .collect();
                    let uses = if seasonal.is_empty() {
                        events.to_vec()
                    } else {
                        subtract_daily(events, &sum_daily(&seasonal))
                    };
                    windows.insert(key.clone(), activity_window(key, as_of, &uses, users, true));
                    continue;
                }
            };
            for f in features {
                let own = ActivityKey {
                    feature: Some(f.definition.key.to_string()),
                    scope: ActivityScope::All,
                    ..key.clone()
                };
                let window = activity_window(&own, as_of, uses_of(f), users, false);
                windows.insert(own, window);
            }
        }
        windows
    }

    /// The quantity of the account's largest subscription on the day.
    fn main_quantity(&self, account: AccountId, as_of: NaiveDate) -> Option<i64> {
        self.periods.get(&account).and_then(|p| {
            p.iter().filter(|t| t.covers(as_of)).max_by(|a, b| a.mrr().0.cmp(&b.mrr().0)).map(|t| t.quantity)
        })
    }

    /// The feature catalog the portfolio was read with.
    pub fn features(&self) -> &[Feature] {
        &self.features
    }

    /// One account's uses of one feature per day, oldest first.
    pub fn feature_uses(&self, account: AccountId, feature_id: i64) -> &[(NaiveDate, i64)] {
        self.feature_days.get(&account).and_then(|days| days.get(&feature_id)).map_or(&[], Vec::as_slice)
    }

    /// Active end users in the 30 days ending `as_of` over the account's seats, as the usage
    /// page reports it.
    pub fn seat_activation(&self, account: &Account, as_of: NaiveDate) -> Option<f64> {
        let seats = seats(account.input.employees, self.main_quantity(account.id, as_of));
        seat_activation(self.distinct_users(account.id, days_before(as_of, 29), as_of), seats)
    }

    /// Support tickets the account opened from `from` to `to`; `None` when the workspace never
    /// imported tickets.
    pub(crate) fn tickets_opened(&self, account: AccountId, from: NaiveDate, to: NaiveDate) -> Option<usize> {
        let tickets = self.tickets.as_ref()?;
        Some(tickets.get(&account).map_or(0, |t| t.iter().filter(|t| t.created >= from && t.created <= to).count()))
    }

    /// Uses of the core features used daily, weekly or monthly, from `from` to `to`.
    pub(crate) fn core_feature_uses(&self, account: AccountId, from: NaiveDate, to: NaiveDate) -> i64 {
        let Some(by_feature) = self.feature_days.get(&account) else { return 0 };
        self.features
            .iter()
            .filter(|f| {
                f.definition.importance == Importance::Core
                    && matches!(f.definition.cadence, Cadence::Daily | Cadence::Weekly | Cadence::Monthly)
            })
            .filter_map(|f| by_feature.get(&f.id))
            .flat_map(|days| days.iter().filter(|(day, _)| *day >= from && *day <= to).map(|(_, uses)| *uses))
            .sum()
    }

    /// The last day on or before `as_of` with an active end user or a feature use.
    pub fn last_active_day(&self, account: AccountId, as_of: NaiveDate) -> Option<NaiveDate> {
        let user_day = self.user_days.get(&account).and_then(|days| {
            let upto = days.partition_point(|(day, _)| *day <= as_of);
            upto.checked_sub(1).map(|last| days[last].0)
        });
        let feature_day =
            self.feature_days.get(&account).into_iter().flat_map(|by_feature| by_feature.values()).filter_map(|days| {
                days.iter().rev().find(|(day, uses)| *day <= as_of && *uses > 0).map(|(day, _)| *day)
            });
        user_day.into_iter().chain(feature_day).max()
    }

    /// Uses per day (all events but the seasonal features') in the 30 days to `as_of` against
    /// the 180 days before; `None` when that baseline is thin (under 90 days or 20 uses).
    pub fn usage_ratio(&self, account: AccountId, as_of: NaiveDate) -> Option<f64> {
        let key = ActivityKey { feature: None, scope: ActivityScope::All, recent_days: 30, baseline_days: 180 };
        let window = self.activity_windows(account, std::slice::from_ref(&key), as_of).remove(&key)?;
        if window.baseline_days < 90 || window.baseline_uses < 20 {
            return None;
        }
        let recent = window.recent_uses as f64 / f64::from(window.recent_days.max(1));
        Some(recent / (window.baseline_uses as f64 / f64::from(window.baseline_days)))
    }

    /// Days on which the account's MRR fell to zero (churn).
    pub(crate) fn churn_days(&self, account: AccountId) -> Vec<NaiveDate> {
        let periods: Vec<&SubscriptionTerms> =
            self.periods.get(&account).map(|p| p.iter().collect()).unwrap_or_default();
        domain::subscription::churn_days(&periods)
    }
}

fn traits(account: &Account) -> AccountTraits<'_> {
    AccountTraits {
        tier: account.input.tier.as_deref(),
        stage: account.input.stage.as_deref(),
        touch_model: account.input.touch_model.map(|t| t.as_str()),
        custom: &account.input.custom,
    }
}

/// Scores one account with the scorecard that applies to it, as of the calendars' day (see
/// `Portfolio::calendars`).
pub fn score_with(
    config: &HealthConfig,
    portfolio: &Portfolio,
    account: &Account,
    calendars: &Calendars,
) -> Result<HealthScore, AppError> {
    let card = config
        .scorecard_for(&traits(account))
        .ok_or_else(|| AppError::Internal("the health configuration has no default scorecard".into()))?;
    if let Some(day) = portfolio.figures(account.id, calendars.as_of).churned_on {
        return Ok(churned(card, calendars.as_of, day));
    }
    Ok(score(config, card, &portfolio.signals(account, calendars)))
}

/// A churned account has no score and no grade: nothing is at risk any more.
fn churned(card: &domain::health::Scorecard, as_of: NaiveDate, day: NaiveDate) -> HealthScore {
    HealthScore {
        scorecard: card.key.clone(),
        as_of,
        score: None,
        grade: CHURNED_GRADE.into(),
        capped_by: None,
        measures_available: 0,
        measures_total: card.measures.len(),
        measures: Vec::new(),
        drivers: vec![Bilingual::new(format!("{day} に解約"), format!("Churned on {day}"))],
    }
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

/// How long a backtest report is reused: it reads every account's history, seconds at scale,
/// and history before the last month changes rarely. A configuration change or a subscription
/// written through this node clears it at once; the hourly full recompute remakes the health
/// page's default one, so it is never older than an hour.
const BACKTEST_TTL: std::time::Duration = std::time::Duration::from_secs(2 * 3600);
/// Reports kept at once (a few date ranges people look at).
const BACKTESTS_KEPT: usize = 8;

type BacktestKey = (NaiveDate, NaiveDate, u64);

#[derive(Default)]
pub(crate) struct BacktestCache {
    reports: std::sync::Mutex<Vec<(BacktestKey, std::time::Instant, BacktestReport)>>,
}

impl BacktestCache {
    pub(crate) fn clear(&self) {
        self.reports.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    fn fresh(&self, key: BacktestKey) -> Option<BacktestReport> {
        let reports = self.reports.lock().unwrap_or_else(|p| p.into_inner());
        reports.iter().find(|(k, made, _)| *k == key && made.elapsed() < BACKTEST_TTL).map(|(.., r)| r.clone())
    }

    fn keep(&self, key: BacktestKey, report: BacktestReport) {
        let mut reports = self.reports.lock().unwrap_or_else(|p| p.into_inner());
        reports.retain(|(k, made, _)| *k != key && made.elapsed() < BACKTEST_TTL);
        if reports.len() >= BACKTESTS_KEPT {
            reports.remove(0);
        }
        reports.push((key, std::time::Instant::now(), report));
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
        let before = self.health_config().await?;
        let json = serde_json::to_string(&config)
            .map_err(|e| AppError::Internal(format!("saving the health configuration: {e}")))?;
        self.store.save_health_config(&json).await?;
        self.backtests.clear();
        self.grade_drops_cache.clear();
        self.record_change(actor, "update", "health_config", "workspace", Some(&before), Some(&config)).await?;
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

    pub(crate) async fn portfolio(&self, account: Option<AccountId>) -> Result<Portfolio, AppError> {
        let features = self.store.list_features().await?;
        let mut periods: HashMap<AccountId, Vec<SubscriptionTerms>> = HashMap::new();
        let ids = account.map(|a| vec![a]);
        for period in self.store.periods_of_accounts(ids.as_deref()).await? {
            periods.entry(period.terms.account_id).or_default().push(period.terms);
        }
        let history = self.store.usage_history(account).await?;
        let mut feature_days: HashMap<AccountId, HashMap<i64, Vec<(NaiveDate, i64)>>> = HashMap::new();
        for (id, d) in history.feature_days {
            feature_days.entry(id).or_default().entry(d.feature_id).or_default().push((d.day, d.uses));
        }
        let mut numbers: HashMap<String, u32> = HashMap::new();
        let mut user_days: HashMap<AccountId, Vec<(NaiveDate, u32)>> = HashMap::new();
        for (id, day, user) in history.user_days {
            let next = numbers.len() as u32;
            let number = *numbers.entry(user).or_insert(next);
            user_days.entry(id).or_default().push((day, number));
        }
        let mut portfolio = Portfolio::new(features, periods, feature_days, user_days);
        portfolio.monthly_renews = self.settings().monthly_contracts_renew;
        for (id, day, events) in history.event_days {
            portfolio.event_days.entry(id).or_default().push((day, events));
        }
        for days in portfolio.event_days.values_mut() {
            days.sort_unstable();
        }
        for pulse in self.store.pulses(account).await?.into_iter().rev() {
            portfolio.pulses.entry(AccountId(pulse.account_id)).or_default().push((pulse.day, pulse.score));
        }
        if self.store.has_nps().await? {
            let mut nps: HashMap<AccountId, Vec<(NaiveDate, i64)>> = HashMap::new();
            for (id, day, answer) in self.store.nps_responses(account).await? {
                nps.entry(id).or_default().push((day, answer));
            }
            portfolio.nps = Some(nps);
        }
        if self.store.has_tickets().await? {
            let mut tickets: HashMap<AccountId, Vec<TicketSignal>> = HashMap::new();
            for (id, row) in self.store.tickets_of(account).await? {
                let closed = matches!(row.status, TicketStatus::Solved | TicketStatus::Closed);
                tickets.entry(id).or_default().push(TicketSignal {
                    created: row.created_on,
                    // A closed ticket without a solved day counts as solved the day it was made.
                    solved: row.solved_on.or(closed.then_some(row.created_on)),
                    urgent: matches!(row.priority, TicketPriority::High | TicketPriority::Urgent),
                });
            }
            portfolio.tickets = Some(tickets);
        }
        Ok(portfolio)
    }

    /// One account's score as of a day (default today), computed from the current data.
    pub async fn account_health(&self, id: AccountId, as_of: Option<NaiveDate>) -> Result<HealthScore, AppError> {
        let account = self.store.get_account(id).await?;
        let config = self.health_config().await?;
        let portfolio = self.portfolio(Some(id)).await?;
        let calendars = portfolio.calendars_for(&config, as_of.unwrap_or_else(|| self.today()));
        score_with(&config, &portfolio, &account, &calendars)
    }

    pub(crate) async fn all_accounts(&self) -> Result<Vec<Account>, AppError> {
        Ok(self.store.list_accounts(&AccountQuery { limit: i64::MAX, ..AccountQuery::default() }).await?.items)
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
        if let Some(report) = self.backtests.fresh(key) {
            return Ok(report);
        }
        let report = self.compute_backtest(from, to, horizon_days).await?;
        self.backtests.keep(key, report.clone());
        Ok(report)
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
        if from > to {
            return Err(AppError::invalid("to", Reason::EndNotAfterStart));
        }
        if !(1..=730).contains(&horizon_days) {
            return Err(AppError::invalid("horizon", Reason::OutOfRange { min: "1d".into(), max: "730d".into() }));
        }
        let config = self.health_config().await?;
        let portfolio = self.portfolio(None).await?;
        let accounts = self.all_accounts().await?;
        backtest_of(&config, &portfolio, &accounts, from, to, horizon_days)
    }

    /// What a draft configuration would do before it is saved: paying accounts per grade today
    /// and the default backtest, beside the saved configuration's. Nothing is stored.
    pub async fn preview_health_config(&self, draft: &HealthConfig) -> Result<HealthPreview, AppError> {
        draft.validate().map_err(AppError::Invalid)?;
        let (from, to) = self.default_backtest_range(DEFAULT_BACKTEST_HORIZON);
        let saved = self.health_backtest(from, to, DEFAULT_BACKTEST_HORIZON).await?;
        let portfolio = self.portfolio(None).await?;
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
        let backtest = backtest_of(draft, &portfolio, &accounts, from, to, DEFAULT_BACKTEST_HORIZON)?;
        Ok(HealthPreview { grades, backtest, saved_auc: saved.auc, from, to })
    }
}

/// Scores every paying account with `config` as of the first of each month from `from` to `to`
/// and compares with whether it churned within `horizon_days`.
fn backtest_of(
    config: &HealthConfig,
    portfolio: &Portfolio,
    accounts: &[Account],
    from: NaiveDate,
    to: NaiveDate,
    horizon_days: u64,
) -> Result<BacktestReport, AppError> {
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
    let grades: Vec<String> = config.grades.iter().map(|g| g.key.clone()).collect();
    Ok(report(&observations, &grades, &keys))
}

#[cfg(test)]
mod tests {
    use super::*;

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
