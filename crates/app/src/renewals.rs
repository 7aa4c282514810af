//! Renewals: the pipeline of committed-term ends (derived from subscription periods, with the
//! workspace's monthly-renewal setting), what CSMs call and confirm about each, weekly forecast
//! snapshots and how accurate the forecast turned out.

use crate::records::require_account_edit;
use crate::{Actor, App, AppError};
use chrono::{Datelike, Months, NaiveDate};
use domain::account::Account;
use domain::health::HealthScore;
use domain::i18n::Bilingual;
use domain::renewals::churn::{
    backtest as churn_backtest, ChurnBacktest, ChurnEstimate, ChurnModel, Example, FitError, RenewalFacts,
    HORIZON_DAYS, MAX_MEASURE_INPUTS,
};
use domain::renewals::{derived_outcome, renewals_between, ForecastCategory, RenewalCall, RenewalOutcome};
use domain::subscription::{SubscriptionPeriod, SubscriptionTerms};
use domain::timeline::{TimelineEntryInput, TimelineEvent};
use domain::{AccountId, Money, Reason, TeamId, UserId};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap, HashSet};
use store::{AccountQuery, ForecastSnapshotRow, StoredRenewalCall};

/// How far back an account's renewal history goes.
const HISTORY_YEARS: u32 = 5;

/// One renewal with what is known about it.
#[derive(Debug, Clone)]
pub struct RenewalItem {
    pub account_id: AccountId,
    pub date: NaiveDate,
    /// ARR of the subscriptions renewing that day, on the day before.
    pub arr: Money,
    pub call: Option<StoredRenewalCall>,
    /// What the subscriptions say it came to (past renewals only).
    pub derived_outcome: Option<RenewalOutcome>,
    /// Kizuna's churn probability and its reasons (upcoming renewals, once the model is fitted).
    pub churn: Option<ChurnEstimate>,
}

impl RenewalItem {
    pub fn forecast(&self) -> Option<ForecastCategory> {
        self.call.as_ref().and_then(|c| c.call.forecast)
    }

    /// The outcome a CSM confirmed, else the derived one.
    pub fn outcome(&self) -> Option<RenewalOutcome> {
        self.call.as_ref().and_then(|c| c.call.outcome).or(self.derived_outcome)
    }

    /// A CSM confirmed an outcome the subscriptions now contradict (they were edited after).
    pub fn outcome_disputed(&self) -> bool {
        let confirmed = self.call.as_ref().and_then(|c| c.call.outcome);
        confirmed.is_some() && self.derived_outcome.is_some() && confirmed != self.derived_outcome
    }
}

/// A renewal with its account, for lists.
#[derive(Debug, Clone)]
pub struct RenewalRow {
    pub item: RenewalItem,
    pub account: Account,
}

/// One month of the pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct MonthSummary {
    /// The first day of the month.
    pub month: NaiveDate,
    pub renewals: usize,
    pub arr: Money,
    /// Σ ARR × (1 − churn probability) (0 for a renewal already lost), once the churn model is
    /// fitted.
    pub expected_arr: Option<Money>,
    /// The renewals still open, ARR per forecast category (`None`: not called yet), in category
    /// order.
    pub by_forecast: Vec<(Option<ForecastCategory>, usize, Money)>,
    /// The renewals whose outcome is known (renewed, expanded, contracted or churned): how many
    /// and their ARR. They are no longer anyone's call.
    pub closed: (usize, Money),
}

/// What a renewal is grouped under by grade: its account's grade, or churned (it has none).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum GradeGroup {
    Grade(String),
    Churned,
}

/// The renewals of the next months, summed per month, and the rows of one month.
#[derive(Debug, Clone)]
pub struct RenewalPipeline {
    pub months: Vec<MonthSummary>,
    /// The chosen month's renewals, largest ARR first, one page of them.
    pub rows: Vec<RenewalRow>,
    pub total: usize,
    /// The chosen month's renewals summed per health grade, owner and owner's team.
    pub breakdown: MonthBreakdown,
}

/// Renewals that share a grade, an owner or a team (`None`: not graded, no owner, no team).
#[derive(Debug, Clone, PartialEq)]
pub struct RenewalGroup<K> {
    pub key: Option<K>,
    pub renewals: usize,
    pub arr: Money,
    /// Σ ARR × (1 − churn probability), once the churn model is fitted.
    pub expected_arr: Option<Money>,
}

/// One month's renewals by who and what they belong to, largest ARR first in each.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MonthBreakdown {
    pub by_grade: Vec<RenewalGroup<GradeGroup>>,
    pub by_owner: Vec<RenewalGroup<UserId>>,
    pub by_team: Vec<RenewalGroup<TeamId>>,
}

impl MonthBreakdown {
    fn of(rows: &[RenewalRow], teams: &HashMap<UserId, TeamId>, predicted: bool) -> MonthBreakdown {
        MonthBreakdown {
            by_grade: groups(rows, predicted, |r| match r.account.figures.is_churned() {
                true => Some(GradeGroup::Churned),
                false => r.account.health.grade.clone().map(GradeGroup::Grade),
            }),
            by_owner: groups(rows, predicted, |r| r.account.input.owner_id),
            by_team: groups(rows, predicted, |r| r.account.input.owner_id.and_then(|o| teams.get(&o).copied())),
        }
    }
}

fn groups<K: Ord + Clone>(
    rows: &[RenewalRow],
    predicted: bool,
    key: impl Fn(&RenewalRow) -> Option<K>,
) -> Vec<RenewalGroup<K>> {
    let mut by_key: BTreeMap<Option<K>, Vec<&RenewalItem>> = BTreeMap::new();
    for row in rows {
        by_key.entry(key(row)).or_default().push(&row.item);
    }
    let mut groups: Vec<RenewalGroup<K>> = by_key
        .into_iter()
        .map(|(key, items)| RenewalGroup {
            key,
            renewals: items.len(),
            arr: items.iter().map(|i| i.arr).sum(),
            expected_arr: predicted.then(|| expected_arr(&items)),
        })
        .collect();
    groups.sort_by(|a, b| b.arr.0.cmp(&a.arr.0).then_with(|| a.key.cmp(&b.key)));
    groups
}

/// Which renewals a list shows.
#[derive(Debug, Clone, Default)]
pub struct RenewalFilter {
    /// The account filters of the accounts list (owner, team, stage, tier, grade, text).
    pub accounts: AccountQuery,
    pub forecast: Option<ForecastCategory>,
}

/// Forecast against what happened, for the renewals of one month.
#[derive(Debug, Clone, PartialEq)]
pub struct MonthAccuracy {
    pub month: NaiveDate,
    /// The snapshot the forecast is read from: the last taken before the month began.
    pub snapshot_on: NaiveDate,
    pub categories: Vec<CategoryAccuracy>,
}

/// A renewal as the forecast snapshot before its month called it, and how it ended.
#[derive(Debug, Clone, PartialEq)]
pub struct CalledRenewal {
    pub account: AccountId,
    pub renewal_date: NaiveDate,
    pub forecast: Option<ForecastCategory>,
    /// ARR up for renewal as forecast.
    pub forecast_arr: Money,
    /// ARR kept after the renewal day (0 for churned; the new ARR for expanded or contracted).
    pub kept_arr: Money,
}

/// A closed month's renewals as called before it began.
#[derive(Debug, Clone, PartialEq)]
pub struct CalledMonth {
    pub month: NaiveDate,
    pub snapshot_on: NaiveDate,
    pub renewals: Vec<CalledRenewal>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CategoryAccuracy {
    pub forecast: Option<ForecastCategory>,
    pub renewals: usize,
    /// ARR up for renewal as forecast.
    pub forecast_arr: Money,
    /// ARR kept after the renewal day (0 for churned; the new ARR for expanded or contracted).
    pub renewed_arr: Money,
}

impl CategoryAccuracy {
    /// Renewed ARR as a share of forecast ARR.
    pub fn ratio(&self) -> Option<f64> {
        use rust_decimal::prelude::ToPrimitive;
        (self.forecast_arr.0 > Decimal::ZERO)
            .then(|| (self.renewed_arr.0 / self.forecast_arr.0).to_f64().unwrap_or(0.0))
    }
}

fn month_start(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

fn month_end(month: NaiveDate) -> NaiveDate {
    month.checked_add_months(Months::new(1)).and_then(|d| d.pred_opt()).unwrap_or(month)
}

/// Periods grouped per account (the cache holds them ordered by account).
fn by_account(periods: &[SubscriptionPeriod]) -> BTreeMap<AccountId, Vec<&SubscriptionTerms>> {
    let mut grouped: BTreeMap<AccountId, Vec<&SubscriptionTerms>> = BTreeMap::new();
    for period in periods {
        grouped.entry(period.terms.account_id).or_default().push(&period.terms);
    }
    grouped
}

impl App {
    /// Every renewal in [from, to] of the accounts in `only` (all when `None`), with the calls
    /// and derived outcomes, by date then account.
    pub(crate) async fn renewal_items(
        &self,
        only: Option<&HashSet<AccountId>>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<RenewalItem>, AppError> {
        let today = self.today();
        let monthly = self.settings().monthly_contracts_renew;
        let account = only.filter(|ids| ids.len() == 1).and_then(|ids| ids.iter().next().copied());
        // One account (the account 360) reads only its own periods.
        let periods = match account {
            Some(id) => std::sync::Arc::new(self.store.periods_of_accounts(Some(&[id])).await?),
            None => self.all_periods().await?,
        };
        let mut calls: HashMap<(AccountId, NaiveDate), StoredRenewalCall> =
            self.store.renewal_calls(account).await?.into_iter().map(|c| ((c.account_id, c.renewal_date), c)).collect();
        let churn = self.churn.get();
        let estimate =
            |id: AccountId, date: NaiveDate| churn.as_ref().and_then(|c| c.estimates.get(&(id, date)).cloned());
        let mut items = Vec::new();
        for (id, terms) in by_account(&periods) {
            if only.is_some_and(|ids| !ids.contains(&id)) {
                continue;
            }
            for renewal in renewals_between(&terms, from, to, monthly) {
                items.push(RenewalItem {
                    account_id: id,
                    date: renewal.date,
                    arr: renewal.arr,
                    call: calls.remove(&(id, renewal.date)),
                    derived_outcome: derived_outcome(&terms, renewal.date, today),
                    churn: estimate(id, renewal.date),
                });
            }
        }
        // Calls on dates that are no longer renewals (the subscription was edited after): kept
        // and shown, never dropped.
        for ((id, date), call) in calls {
            if date >= from && date <= to && only.is_none_or(|ids| ids.contains(&id)) {
                items.push(RenewalItem {
                    account_id: id,
                    date,
                    arr: Money::default(),
                    call: Some(call),
                    derived_outcome: None,
                    churn: None,
                });
            }
        }
        items.sort_by_key(|i| (i.date, i.account_id));
        Ok(items)
    }

    async fn filtered_accounts(&self, filter: &RenewalFilter) -> Result<Option<HashSet<AccountId>>, AppError> {
        if !filter.accounts.narrows() {
            return Ok(None);
        }
        Ok(Some(self.store.matching_account_ids(&filter.accounts).await?.into_iter().collect()))
    }

    async fn with_accounts(&self, items: Vec<RenewalItem>) -> Result<Vec<RenewalRow>, AppError> {
        let mut ids: Vec<AccountId> = items.iter().map(|i| i.account_id).collect();
        ids.sort();
        ids.dedup();
        let accounts: HashMap<AccountId, Account> =
            self.store.accounts_by_ids(&ids).await?.into_iter().map(|a| (a.id, a)).collect();
        Ok(items
            .into_iter()
            .filter_map(|item| accounts.get(&item.account_id).cloned().map(|account| RenewalRow { item, account }))
            .collect())
    }

    /// The pipeline of the 12 months starting with this one, and one page of `month`'s renewals
    /// (largest ARR first).
    pub async fn renewal_pipeline(
        &self,
        filter: &RenewalFilter,
        month: NaiveDate,
        limit: usize,
        offset: usize,
    ) -> Result<RenewalPipeline, AppError> {
        let first = month_start(self.today());
        let last = month_end(first.checked_add_months(Months::new(11)).unwrap_or(first));
        let only = self.filtered_accounts(filter).await?;
        let predicted = self.churn.get().is_some_and(|c| c.model.is_ok());
        let items: Vec<RenewalItem> = self
            .renewal_items(only.as_ref(), first, last)
            .await?
            .into_iter()
            .filter(|i| filter.forecast.is_none_or(|f| i.forecast() == Some(f)))
            .collect();
        let mut months: Vec<MonthSummary> = (0..12)
            .filter_map(|k| first.checked_add_months(Months::new(k)))
            .map(|m| MonthSummary {
                month: m,
                renewals: 0,
                arr: Money::default(),
                expected_arr: None,
                by_forecast: Vec::new(),
                closed: (0, Money::default()),
            })
            .collect();
        for summary in &mut months {
            let end = month_end(summary.month);
            let of_month: Vec<&RenewalItem> =
                items.iter().filter(|i| i.date >= summary.month && i.date <= end).collect();
            summary.renewals = of_month.len();
            summary.arr = of_month.iter().map(|i| i.arr).sum();
            summary.expected_arr = predicted.then(|| expected_arr(&of_month));
            let (closed, open): (Vec<&RenewalItem>, Vec<&RenewalItem>) =
                of_month.iter().partition(|i| i.outcome().is_some());
            summary.closed = (closed.len(), closed.iter().map(|i| i.arr).sum());
            let categories = ForecastCategory::ALL.iter().copied().map(Some).chain([None]);
            summary.by_forecast = categories
                .map(|category| {
                    let called: Vec<&&RenewalItem> = open.iter().filter(|i| i.forecast() == category).collect();
                    (category, called.len(), called.iter().map(|i| i.arr).sum())
                })
                .collect();
        }
        let chosen = month_start(month);
        let mut of_month: Vec<RenewalItem> =
            items.into_iter().filter(|i| i.date >= chosen && i.date <= month_end(chosen)).collect();
        of_month.sort_by(|a, b| b.arr.0.cmp(&a.arr.0).then(a.date.cmp(&b.date)).then(a.account_id.cmp(&b.account_id)));
        let rows = self.with_accounts(of_month).await?;
        let teams: HashMap<UserId, TeamId> = self
            .store
            .list_users()
            .await?
            .into_iter()
            .filter_map(|user| user.input.team_id.map(|team| (user.id, team)))
            .collect();
        let breakdown = MonthBreakdown::of(&rows, &teams, predicted);
        let total = rows.len();
        let rows = rows.into_iter().skip(offset).take(limit).collect();
        Ok(RenewalPipeline { months, rows, total, breakdown })
    }

    /// Every renewal in [from, to] with its account, by date (for exports and the CLI).
    pub async fn renewal_rows(
        &self,
        filter: &RenewalFilter,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<RenewalRow>, AppError> {
        let only = self.filtered_accounts(filter).await?;
        let items = self
            .renewal_items(only.as_ref(), from, to)
            .await?
            .into_iter()
            .filter(|i| filter.forecast.is_none_or(|f| i.forecast() == Some(f)))
            .collect();
        self.with_accounts(items).await
    }

    /// The renewals in [from, to] whose outcome is not known yet, soonest first: how many, and
    /// the first `limit` with their accounts (only those are read).
    pub async fn upcoming_renewals(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        limit: usize,
    ) -> Result<(usize, Vec<RenewalRow>), AppError> {
        let open: Vec<RenewalItem> =
            self.renewal_items(None, from, to).await?.into_iter().filter(|i| i.outcome().is_none()).collect();
        let total = open.len();
        Ok((total, self.with_accounts(open.into_iter().take(limit).collect()).await?))
    }

    /// An account's renewals: past ones (newest first, up to five years back) and the next ones
    /// within a year.
    pub async fn account_renewals(&self, account: AccountId) -> Result<Vec<RenewalItem>, AppError> {
        self.store.get_account(account).await?;
        let today = self.today();
        let from = today.checked_sub_months(Months::new(12 * HISTORY_YEARS)).unwrap_or(today);
        let to = today.checked_add_months(Months::new(12)).unwrap_or(today);
        let mut items = self.renewal_items(Some(&HashSet::from([account])), from, to).await?;
        items.reverse();
        Ok(items)
    }

    /// Records a CSM's forecast, note or confirmed outcome on one of the account's renewals.
    /// The date must be one of the account's renewals (or already carry a call).
    pub async fn set_renewal_call(
        &self,
        actor: &Actor,
        account_id: AccountId,
        date: NaiveDate,
        call: RenewalCall,
    ) -> Result<RenewalItem, AppError> {
        let account = self.store.get_account(account_id).await?;
        require_account_edit(actor, &account.input)?;
        let today = self.today();
        call.check(date, today).map_err(|(field, reason)| AppError::invalid(field, reason))?;
        let window = date.pred_opt().unwrap_or(date)..=date;
        let existing = self
            .renewal_items(Some(&HashSet::from([account_id])), *window.start(), *window.end())
            .await?
            .into_iter()
            .find(|i| i.date == date);
        let Some(existing) = existing else {
            return Err(AppError::invalid("renewal_date", Reason::NotARenewal));
        };
        // A forecast is a call made before the outcome: changed after, it would rewrite the
        // month's committed ARR and the team's forecast accuracy.
        let earlier = existing.call.as_ref().map(|c| (c.call.forecast, c.call.forecast_note.as_deref()));
        if existing.outcome().is_some() && earlier.unwrap_or_default() != (call.forecast, call.forecast_note.as_deref())
        {
            return Err(AppError::invalid("forecast", Reason::OutcomeKnown));
        }
        let stored = StoredRenewalCall {
            account_id,
            renewal_date: date,
            call,
            updated_by: actor.user_id(),
            updated_at: chrono::Utc::now(),
        };
        self.store.save_renewal_call(&stored).await?;
        let before = existing.call.as_ref().map(|c| &c.call);
        let confirmed = stored.call.outcome.filter(|_| {
            let earlier = before.map(|b| (b.outcome, b.churn_reason, &b.outcome_note));
            earlier != Some((stored.call.outcome, stored.call.churn_reason, &stored.call.outcome_note))
        });
        if let Some(outcome) = confirmed {
            let event = TimelineEvent::RenewalConfirmed {
                renewal_date: date,
                outcome,
                churn_reason: stored.call.churn_reason,
                note: stored.call.outcome_note.clone(),
            };
            let entry = TimelineEntryInput::recorded(account_id, actor.user_id(), stored.updated_at, event);
            self.store.create_timeline_entry(&entry).await?;
        }
        let entity_id = format!("{}:{date}", account_id.0);
        self.record_change(
            actor,
            if before.is_some() { "update" } else { "create" },
            "renewal",
            &entity_id,
            before,
            Some(&stored.call),
        )
        .await?;
        Ok(RenewalItem { call: Some(stored), ..existing })
    }

    /// Saves today's forecast: every renewal of the next 12 months with its ARR and category.
    /// Run weekly by the figures worker; running it again the same day replaces that day's.
    pub async fn take_forecast_snapshot(&self) -> Result<usize, AppError> {
        let today = self.today();
        let to = today.checked_add_months(Months::new(12)).unwrap_or(today);
        let items = self.renewal_items(None, today, to).await?;
        let rows: Vec<ForecastSnapshotRow> = items
            .iter()
            .filter(|i| i.arr.0 > Decimal::ZERO)
            .map(|i| ForecastSnapshotRow {
                taken_on: today,
                account_id: i.account_id,
                renewal_date: i.date,
                arr: i.arr,
                forecast: i.forecast(),
                churn_probability: i.churn.as_ref().map(|c| c.probability),
            })
            .collect();
        self.store.save_forecast_snapshot(today, &rows).await?;
        Ok(rows.len())
    }

    /// Takes the weekly snapshot when the latest is a week old or there is none.
    pub async fn ensure_forecast_snapshot(&self) -> Result<bool, AppError> {
        let today = self.today();
        let due = match self.store.latest_forecast_snapshot_day().await? {
            Some(last) => (today - last).num_days() >= 7,
            None => true,
        };
        if due {
            self.take_forecast_snapshot().await?;
        }
        Ok(due)
    }

    /// For each closed month of the last year with a snapshot taken before it began: its renewals
    /// as that snapshot called them, with the ARR each account kept after its renewal day.
    pub async fn called_renewals(&self) -> Result<Vec<CalledMonth>, AppError> {
        let today = self.today();
        let this_month = month_start(today);
        let first = this_month.checked_sub_months(Months::new(12)).unwrap_or(this_month);
        let last = this_month.pred_opt().unwrap_or(this_month);
        let snapshots = self.store.forecast_snapshots(first, last).await?;
        if snapshots.is_empty() {
            return Ok(Vec::new());
        }
        let periods = self.all_periods().await?;
        let grouped = by_account(&periods);
        let monthly = self.settings().monthly_contracts_renew;
        let mut months = Vec::new();
        let mut month = first;
        while month <= last {
            let end = month_end(month);
            let before: Vec<&ForecastSnapshotRow> = snapshots
                .iter()
                .filter(|r| r.taken_on < month && r.renewal_date >= month && r.renewal_date <= end)
                .collect();
            if let Some(snapshot_on) = before.iter().map(|r| r.taken_on).max() {
                let renewals = before
                    .iter()
                    .filter(|r| r.taken_on == snapshot_on)
                    .map(|r| CalledRenewal {
                        account: r.account_id,
                        renewal_date: r.renewal_date,
                        forecast: r.forecast,
                        forecast_arr: r.arr,
                        kept_arr: domain::renewals::kept_arr(
                            grouped.get(&r.account_id).map(Vec::as_slice).unwrap_or_default(),
                            r.renewal_date,
                            monthly,
                        ),
                    })
                    .collect();
                months.push(CalledMonth { month, snapshot_on, renewals });
            }
            month = month.checked_add_months(Months::new(1)).unwrap_or(end.succ_opt().unwrap_or(end));
        }
        Ok(months)
    }

    /// For each closed month of the last year with a snapshot taken before it began: forecast
    /// ARR per category against the ARR actually kept.
    pub async fn forecast_accuracy(&self) -> Result<Vec<MonthAccuracy>, AppError> {
        Ok(self
            .called_renewals()
            .await?
            .into_iter()
            .map(|called| {
                let categories = ForecastCategory::ALL
                    .iter()
                    .copied()
                    .map(Some)
                    .chain([None])
                    .map(|category| {
                        let of: Vec<&CalledRenewal> =
                            called.renewals.iter().filter(|r| r.forecast == category).collect();
                        CategoryAccuracy {
                            forecast: category,
                            renewals: of.len(),
                            forecast_arr: of.iter().map(|r| r.forecast_arr).sum(),
                            renewed_arr: of.iter().map(|r| r.kept_arr).sum(),
                        }
                    })
                    .filter(|c| c.renewals > 0)
                    .collect();
                MonthAccuracy { month: called.month, snapshot_on: called.snapshot_on, categories }
            })
            .collect())
    }
}

/// ARR weighted by the chance each customer stays: none for a renewal already lost, whole for one
/// without a prediction.
fn expected_arr(items: &[&RenewalItem]) -> Money {
    use rust_decimal::prelude::FromPrimitive;
    let kept: Decimal = items
        .iter()
        .map(|i| {
            let stay = if i.outcome() == Some(RenewalOutcome::Churned) {
                0.0
            } else {
                i.churn.as_ref().map_or(1.0, |c| 1.0 - c.probability)
            };
            i.arr.0 * Decimal::from_f64(stay).unwrap_or(Decimal::ONE)
        })
        .sum();
    Money(Money(kept).reported())
}

/// The backtest sees each renewal this many days before it, as CSMs look at a renewal from
/// three months out to the last weeks.
pub const LEAD_DAYS: [u64; 3] = [30, 60, 90];
/// The out-of-time backtest scores the renewals of the last this many months.
const BACKTEST_MONTHS: u32 = 12;
/// The model learns from every paying account on the first of each month of this many last
/// months (those whose horizon has passed).
const LEARN_MONTHS: u32 = 36;

/// The fitted churn model, its out-of-time backtest and today's predictions for the renewals
/// of the next 12 months.
#[derive(Debug, Clone)]
pub struct ChurnState {
    pub fitted_on: NaiveDate,
    pub model: Result<ChurnModel, FitError>,
    pub backtest: Result<ChurnBacktest, FitError>,
    pub estimates: HashMap<(AccountId, NaiveDate), ChurnEstimate>,
}

/// The latest churn state; refitted by the figures worker once a day and on demand.
#[derive(Default)]
pub(crate) struct ChurnCache {
    state: std::sync::Mutex<Option<std::sync::Arc<ChurnState>>>,
    /// Fits running now: a page shown before the first fit ends says the model is on its way.
    fitting: std::sync::atomic::AtomicUsize,
}

impl ChurnCache {
    fn get(&self) -> Option<std::sync::Arc<ChurnState>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set(&self, state: std::sync::Arc<ChurnState>) {
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = Some(state);
    }

    fn fitting(&self) -> bool {
        self.fitting.load(std::sync::atomic::Ordering::Relaxed) > 0
    }
}

/// Counts a fit as running until dropped, however the fit ends.
struct FitRunning<'a>(&'a std::sync::atomic::AtomicUsize);

impl<'a> FitRunning<'a> {
    fn start(fitting: &'a std::sync::atomic::AtomicUsize) -> FitRunning<'a> {
        fitting.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        FitRunning(fitting)
    }
}

impl Drop for FitRunning<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// When a customer can leave: at a committed term's end within the horizon, or (month to
/// month) at any month's end.
#[derive(Debug, Clone, Copy)]
struct Exit {
    renewal_due: bool,
    month_to_month: bool,
}

impl Exit {
    fn of(renewal: &domain::renewals::Renewal) -> Exit {
        Exit { renewal_due: renewal.term_months > 1, month_to_month: renewal.term_months <= 1 }
    }
}

/// The health measures the churn model reads: every scorecard's measure keys in order of first
/// appearance (a key on two scorecards is one input), at most `MAX_MEASURE_INPUTS`.
fn measure_keys(config: &domain::health::HealthConfig) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for measure in config.scorecards.iter().flat_map(|s| &s.measures) {
        if keys.len() < MAX_MEASURE_INPUTS && !keys.contains(&measure.key) {
            keys.push(measure.key.clone());
        }
    }
    keys
}

/// The measure `key` on the account's health score (absent when its scorecard lacks it).
fn measure_of<'a>(health: Option<&'a HealthScore>, key: &str) -> Option<&'a domain::health::MeasureResult> {
    health?.measures.iter().find(|m| m.key == key)
}

/// What each of `keys` found on the account's health score, for the reasons of a prediction.
fn measure_reasons(keys: &[String], health: Option<&HealthScore>) -> Vec<Option<Bilingual>> {
    keys.iter()
        .map(|key| measure_of(health, key).filter(|m| m.points.is_some()).map(|m| m.explanation.clone()))
        .collect()
}

/// What was known about `account` on the calendars' day, and its health score then; `arr` is
/// what is up for renewal (or the account's ARR), `keys` the measures the model reads.
fn facts(
    config: &domain::health::HealthConfig,
    keys: &[String],
    portfolio: &crate::health::Portfolio,
    account: &Account,
    calendars: &crate::health::Calendars,
    arr: Money,
    exit: Exit,
) -> (RenewalFacts, Option<HealthScore>) {
    use rust_decimal::prelude::ToPrimitive;
    let day = calendars.as_of;
    let signals = portfolio.signals(account, calendars);
    let health = crate::health::score_with(config, portfolio, account, calendars).ok();
    let measures = keys.iter().map(|key| measure_of(health.as_ref(), key)?.points.map(|p| p as f32)).collect();
    let (now, before) = (signals.active_users_30d, signals.active_users_prev_30d);
    let active_users_ratio = match (now, before) {
        (0, 0) => None,
        (now, 0) => Some(now as f64),
        (now, before) => Some(now as f64 / before as f64),
    };
    let mrr_90_days_ago =
        portfolio.figures(account.id, domain::usage::days_before(day, 90)).mrr.0.to_f64().unwrap_or(0.0);
    let mrr_change_90d = if mrr_90_days_ago > 0.0 { signals.mrr_now / mrr_90_days_ago - 1.0 } else { 0.0 };
    let facts = RenewalFacts {
        health_score: health.as_ref().and_then(|h| h.score),
        active_users_ratio,
        days_inactive: portfolio.last_active_day(account.id, day).map(|last| (day - last).num_days()),
        mrr_change_90d,
        tenure_years: signals.customer_since.map_or(0.0, |since| (day - since).num_days() as f64 / 365.25),
        arr: arr.0.to_f64().unwrap_or(0.0),
        renewal_due: exit.renewal_due,
        month_to_month: exit.month_to_month,
        pulse: signals.pulse.map(|(_, score)| score),
        usage_ratio: portfolio.usage_ratio(account.id, day),
        measures,
    };
    (facts, health)
}

impl App {
    /// The churn state, if a fit has run.
    pub fn churn_state(&self) -> Option<std::sync::Arc<ChurnState>> {
        self.churn.get()
    }

    /// Whether a fit of the churn model is running now (the first one starts with the server).
    pub fn churn_fitting(&self) -> bool {
        self.churn.fitting()
    }

    /// Fits the churn model on every paying account on the first of each of the last
    /// `LEARN_MONTHS` months (did it leave within the horizon?), backtests it out of time on the
    /// renewals of the last `BACKTEST_MONTHS` (each seen `LEAD_DAYS` before it, counted from the
    /// first of that month so scoring days are shared) and predicts the renewals of the next 12
    /// months from today's facts.
    pub async fn fit_churn_model(&self) -> Result<std::sync::Arc<ChurnState>, AppError> {
        let _running = FitRunning::start(&self.churn.fitting);
        let inputs = self.churn_inputs().await?;
        // Seconds of arithmetic on a large book: off the async workers, so pages stay served.
        let state = tokio::task::spawn_blocking(move || fit_and_predict(inputs))
            .await
            .map_err(|e| AppError::Internal(format!("churn model fit: {e}")))?;
        let state = std::sync::Arc::new(state);
        self.churn.set(state.clone());
        Ok(state)
    }

    /// The examples the churn model learns from and is backtested on, as a fit now would build
    /// them, so they can be checked outside Kizuna.
    pub async fn churn_examples(&self) -> Result<ChurnExport, AppError> {
        let inputs = self.churn_inputs().await?;
        let external_ids = inputs.accounts.iter().map(|a| (a.id, a.input.external_id.clone())).collect();
        let examples = tokio::task::spawn_blocking(move || churn_examples(&inputs).0)
            .await
            .map_err(|e| AppError::Internal(format!("churn model examples: {e}")))?;
        Ok(ChurnExport { examples, external_ids })
    }

    async fn churn_inputs(&self) -> Result<ChurnInputs, AppError> {
        Ok(ChurnInputs {
            today: self.today(),
            monthly: self.settings().monthly_contracts_renew,
            config: self.health_config().await?,
            portfolio: self.portfolio_copy().await?,
            accounts: self.all_accounts().await?,
            periods: self.all_periods().await?,
        })
    }

    /// Refits when no fit ran today.
    pub async fn ensure_churn_model(&self) -> Result<bool, AppError> {
        let due = self.churn.get().is_none_or(|state| state.fitted_on != self.today());
        if due {
            self.fit_churn_model().await?;
        }
        Ok(due)
    }
}

/// What the churn model learns from, read before the fit.
struct ChurnInputs {
    today: NaiveDate,
    monthly: bool,
    config: domain::health::HealthConfig,
    portfolio: crate::health::Portfolio,
    accounts: Vec<Account>,
    periods: std::sync::Arc<Vec<SubscriptionPeriod>>,
}

/// What the churn model learns from and is judged on.
pub struct ChurnExamples {
    /// Every paying account on the first of each of the last `LEARN_MONTHS` months whose
    /// horizon has passed: did it leave within `HORIZON_DAYS`?
    pub observations: Vec<Example>,
    /// The renewals after `cutoff` that have happened, each seen `LEAD_DAYS` before it.
    pub renewals: Vec<Example>,
    /// The out-of-time backtest learns from the observations known by this day.
    pub cutoff: NaiveDate,
    /// The health measures in the examples' `measures`, in order.
    pub measure_keys: Vec<String>,
}

/// The churn model's examples with each account's external id, for an export.
pub struct ChurnExport {
    pub examples: ChurnExamples,
    pub external_ids: HashMap<AccountId, domain::ExternalId>,
}

/// Builds the churn model's examples, and lists the renewals of the next 12 months; pure
/// arithmetic over the inputs.
fn churn_examples(inputs: &ChurnInputs) -> (ChurnExamples, Vec<(&Account, domain::renewals::Renewal)>) {
    let ChurnInputs { today, monthly, config, portfolio, accounts, periods } = inputs;
    let today = *today;
    let keys = measure_keys(config);
    let grouped = by_account(periods);
    let horizon = chrono::Days::new(HORIZON_DAYS);
    let churn_days: HashMap<AccountId, Vec<NaiveDate>> =
        accounts.iter().map(|a| (a.id, portfolio.churn_days(a.id))).collect();
    let mut observations = Vec::new();
    let mut day = month_start(today.checked_sub_months(Months::new(LEARN_MONTHS)).unwrap_or(today));
    while let Some(end) = day.checked_add_days(horizon).filter(|end| *end <= today) {
        let calendars = portfolio.calendars_for(config, day);
        for account in accounts {
            let figures = portfolio.figures(account.id, day);
            if figures.mrr.0 <= Decimal::ZERO || figures.is_churned() {
                continue;
            }
            let term_end = portfolio.next_term_end(account.id, day);
            let exit = Exit {
                renewal_due: term_end.is_some_and(|renewal| renewal <= end),
                month_to_month: term_end.is_none(),
            };
            let churned = churn_days.get(&account.id).is_some_and(|days| days.iter().any(|c| *c > day && *c <= end));
            let (facts, _) = facts(config, &keys, portfolio, account, &calendars, figures.arr, exit);
            observations.push(Example { account_id: account.id, day, outcome_by: end, facts, churned });
        }
        day = day.checked_add_months(Months::new(1)).unwrap_or(end);
    }
    let cutoff = today.checked_sub_months(Months::new(BACKTEST_MONTHS)).unwrap_or(today);
    let to = today.checked_add_months(Months::new(12)).unwrap_or(today);
    let mut seen: BTreeMap<NaiveDate, Vec<(&Account, domain::renewals::Renewal, bool)>> = BTreeMap::new();
    let mut upcoming = Vec::new();
    for account in accounts {
        let Some(terms) = grouped.get(&account.id) else { continue };
        for renewal in renewals_between(terms, cutoff.succ_opt().unwrap_or(cutoff), to, *monthly) {
            if renewal.date > today {
                upcoming.push((account, renewal));
                continue;
            }
            let churned = derived_outcome(terms, renewal.date, today) == Some(RenewalOutcome::Churned);
            for lead in LEAD_DAYS {
                let day = renewal.date.checked_sub_days(chrono::Days::new(lead)).unwrap_or(renewal.date);
                seen.entry(month_start(day)).or_default().push((account, renewal.clone(), churned));
            }
        }
    }
    let mut renewals = Vec::new();
    for (day, list) in &seen {
        let calendars = portfolio.calendars_for(config, *day);
        for (account, renewal, churned) in list {
            if portfolio.figures(account.id, *day).mrr.0 > Decimal::ZERO {
                let (facts, _) = facts(config, &keys, portfolio, account, &calendars, renewal.arr, Exit::of(renewal));
                renewals.push(Example {
                    account_id: account.id,
                    day: *day,
                    outcome_by: renewal.date,
                    facts,
                    churned: *churned,
                });
            }
        }
    }
    (ChurnExamples { observations, renewals, cutoff, measure_keys: keys }, upcoming)
}

/// Fits the churn model, backtests it and predicts the upcoming renewals (see
/// `App::fit_churn_model`); pure arithmetic over the inputs.
fn fit_and_predict(inputs: ChurnInputs) -> ChurnState {
    let started = std::time::Instant::now();
    let (examples, upcoming) = churn_examples(&inputs);
    let built = started.elapsed();
    let model = ChurnModel::fit(&examples.observations);
    let fitted = started.elapsed();
    let backtest = churn_backtest(&examples.observations, &examples.renewals, examples.cutoff);
    tracing::debug!(
        observations = examples.observations.len(),
        renewals = examples.renewals.len(),
        examples_ms = built.as_millis(),
        fit_ms = (fitted - built).as_millis(),
        backtest_ms = (started.elapsed() - fitted).as_millis(),
        "churn model fitted"
    );
    let mut estimates = HashMap::new();
    if let Ok(model) = &model {
        let calendars = inputs.portfolio.calendars_for(&inputs.config, inputs.today);
        let keys = &examples.measure_keys;
        for (account, renewal) in &upcoming {
            let exit = Exit::of(renewal);
            let (facts, health) =
                facts(&inputs.config, keys, &inputs.portfolio, account, &calendars, renewal.arr, exit);
            let reasons = measure_reasons(keys, health.as_ref());
            estimates.insert((account.id, renewal.date), model.estimate(&facts, &reasons));
        }
    }
    ChurnState { fitted_on: inputs.today, model, backtest, estimates }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fit_counts_as_running_until_it_ends_even_when_it_fails() {
        let cache = ChurnCache::default();
        assert!(!cache.fitting());
        {
            let _first = FitRunning::start(&cache.fitting);
            let second = FitRunning::start(&cache.fitting);
            drop(second);
            assert!(cache.fitting());
        }
        assert!(!cache.fitting());
    }

    fn item(arr: i64, derived_outcome: Option<RenewalOutcome>, probability: Option<f64>) -> RenewalItem {
        RenewalItem {
            account_id: AccountId(1),
            date: NaiveDate::from_ymd_opt(2026, 12, 5).unwrap(),
            arr: Money(Decimal::from(arr)),
            call: None,
            derived_outcome,
            churn: probability.map(|probability| ChurnEstimate { probability, reasons: Vec::new() }),
        }
    }

    #[test]
    fn expected_arr_counts_a_lost_renewal_as_nothing_and_an_unpredicted_one_whole() {
        let lost = item(1_000, Some(RenewalOutcome::Churned), None);
        let kept = item(500, Some(RenewalOutcome::Renewed), None);
        let upcoming = item(1_000, None, Some(0.25));
        assert_eq!(expected_arr(&[&lost, &kept, &upcoming]), Money(Decimal::from(1_250)));
    }
}
