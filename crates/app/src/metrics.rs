//! SaaS metrics use cases: choose the accounts (filters), build their MRR series from the stored
//! subscription periods, and hand them to the pure engine in `domain::metrics`.

use crate::{Actor, App, AppError};
use chrono::NaiveDate;
pub use domain::interchange::spend::parse_month;
use domain::metrics::{
    acquisition_reports, cohorts, period_reports, series_by_account, series_by_account_and_product,
    trailing_twelve_month_report, AcquisitionReport, Cohort, FiscalYearStart, Interval, Movement, MrrChange, MrrSeries,
    PeriodReport, Periods, YearMonth,
};
use domain::subscription::SubscriptionPeriod;
use domain::{AccountId, Money, Reason, SubscriptionPeriodId};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use store::AccountQuery;

/// Which accounts and products a metric covers.
#[derive(Debug, Clone, Default)]
pub struct MetricsFilter {
    /// Account attributes (owner or sub owner, team, tier, touch model, stage, custom field).
    pub accounts: AccountQuery,
    /// Only subscriptions of this product.
    pub product: Option<String>,
    /// Movements per (account, product) instead of per account.
    pub by_product: bool,
    /// Only accounts in this saved segment now.
    pub segment: Option<i64>,
}

/// A movement and the subscription periods that start or end on its day: what caused it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TracedMovement {
    #[serde(flatten)]
    pub movement: Movement,
    pub caused_by: Vec<SubscriptionPeriodId>,
}

/// One account's MRR over time.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AccountMrrHistory {
    pub account: AccountId,
    /// Each day the account's MRR changed, and its MRR from then on.
    pub changes: Vec<MrrChange>,
    pub movements: Vec<TracedMovement>,
}

/// The series of the chosen accounts, and the periods they were built from.
struct Chosen {
    series: Arc<Vec<MrrSeries>>,
    all: Arc<Vec<SubscriptionPeriod>>,
    /// Indexes into `all` of the chosen periods.
    chosen: Vec<usize>,
}

impl Chosen {
    fn periods(&self) -> impl Iterator<Item = &SubscriptionPeriod> {
        self.chosen.iter().map(|&i| &self.all[i])
    }
}

/// `day`, `week`, `month`, `quarter` or `fiscal_year` (starting in the workspace's month).
/// The first day of the year that ends on `day`: the metrics' default range.
pub fn year_ending(day: NaiveDate) -> NaiveDate {
    day.checked_sub_months(chrono::Months::new(12)).and_then(|d| d.succ_opt()).unwrap_or(day)
}

pub fn parse_interval(raw: &str, fiscal_year_start_month: u32) -> Result<Interval, Reason> {
    match raw.trim() {
        "day" => Ok(Interval::Day),
        "week" => Ok(Interval::Week),
        "month" => Ok(Interval::Month),
        "quarter" => Ok(Interval::Quarter),
        "fiscal_year" | "year" => Ok(Interval::FiscalYear(FiscalYearStart::new(fiscal_year_start_month)?)),
        _ => Err(Reason::NotOneOf {
            allowed: ["day", "week", "month", "quarter", "fiscal_year"].map(String::from).to_vec(),
        }),
    }
}

fn traced(movement: Movement, periods_by_account: &HashMap<AccountId, Vec<&SubscriptionPeriod>>) -> TracedMovement {
    let caused_by = periods_by_account
        .get(&movement.account)
        .into_iter()
        .flatten()
        .filter(|p| movement.product.as_deref().is_none_or(|product| p.terms.product == product))
        .filter(|p| p.terms.start_date == movement.day || p.terms.end_date == Some(movement.day))
        .map(|p| p.id)
        .collect();
    TracedMovement { movement, caused_by }
}

/// Every subscription period, kept in memory for the metrics: loading them is most of a
/// request's time at scale. Filled when the resident portfolio loads in full, then patched with
/// the periods of the accounts it re-reads (this node's writes and the others', through the
/// change log), so a change never makes the next request read every period again.
#[derive(Default)]
pub(crate) struct PeriodCache {
    entry: Mutex<Option<CachedPeriods>>,
}

struct CachedPeriods {
    periods: Arc<Vec<SubscriptionPeriod>>,
    /// The MRR series of every account, built from `periods` on first use: home and the
    /// unfiltered metrics page read it on every request.
    whole: Option<Arc<Vec<MrrSeries>>>,
}

impl PeriodCache {
    fn fresh(&self) -> Option<Arc<Vec<SubscriptionPeriod>>> {
        self.entry.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(|e| e.periods.clone())
    }

    pub(crate) fn store(&self, periods: Arc<Vec<SubscriptionPeriod>>) {
        *self.entry.lock().unwrap_or_else(|p| p.into_inner()) = Some(CachedPeriods { periods, whole: None });
    }

    /// Replaces these accounts' periods (and their MRR series) with `fresh`, read for exactly them.
    pub(crate) fn patch(&self, accounts: &[AccountId], fresh: &[SubscriptionPeriod]) {
        let mut entry = self.entry.lock().unwrap_or_else(|p| p.into_inner());
        let Some(cached) = entry.as_mut() else { return };
        let changed: HashSet<AccountId> = accounts.iter().copied().collect();
        let periods = Arc::make_mut(&mut cached.periods);
        periods.retain(|p| !changed.contains(&p.terms.account_id));
        periods.extend(fresh.iter().cloned());
        if let Some(whole) = cached.whole.as_mut() {
            let series = Arc::make_mut(whole);
            series.retain(|s| !changed.contains(&s.account()));
            series.extend(series_by_account(fresh.iter().map(|p| &p.terms)));
            series.sort_by_key(MrrSeries::account);
        }
    }

    /// The whole portfolio's series built from exactly `periods`, building it once.
    fn whole_series(&self, periods: &Arc<Vec<SubscriptionPeriod>>) -> Arc<Vec<MrrSeries>> {
        let cached = |entry: &Option<CachedPeriods>| {
            entry.as_ref().filter(|e| Arc::ptr_eq(&e.periods, periods)).and_then(|e| e.whole.clone())
        };
        if let Some(series) = cached(&self.entry.lock().unwrap_or_else(|p| p.into_inner())) {
            return series;
        }
        let series = Arc::new(series_by_account(periods.iter().map(|p| &p.terms)));
        let mut entry = self.entry.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = entry.as_mut().filter(|e| Arc::ptr_eq(&e.periods, periods)) {
            e.whole = Some(series.clone());
        }
        series
    }
}

impl App {
    pub(crate) async fn all_periods(&self) -> Result<Arc<Vec<SubscriptionPeriod>>, AppError> {
        // Changes marked so far are patched in first.
        self.refresh_portfolio().await?;
        if let Some(periods) = self.periods.fresh() {
            return Ok(periods);
        }
        let periods = Arc::new(self.store.periods_of_accounts(None).await?);
        self.periods.store(periods.clone());
        Ok(periods)
    }

    /// The accounts the filter chooses (its attributes and its segment), or `None` for all.
    pub(crate) async fn metrics_accounts(
        &self,
        filter: &MetricsFilter,
    ) -> Result<Option<HashSet<AccountId>>, AppError> {
        let mut allowed: Option<HashSet<AccountId>> = if filter.accounts.narrows() {
            Some(self.store.matching_account_ids(&filter.accounts).await?.into_iter().collect())
        } else {
            None
        };
        if let Some(segment) = filter.segment {
            let members: HashSet<AccountId> =
                self.segment_members(segment, i64::MAX, 0).await?.items.into_iter().map(|m| m.account.id).collect();
            allowed = Some(match allowed {
                Some(ids) => ids.intersection(&members).copied().collect(),
                None => members,
            });
        }
        Ok(allowed)
    }

    /// The filter narrows the accounts to none (a tier or stage no account has): every figure
    /// would be zero, which must not read as the business's numbers.
    pub async fn metrics_choose_no_account(&self, filter: &MetricsFilter) -> Result<bool, AppError> {
        Ok(self.metrics_accounts(filter).await?.is_some_and(|ids| ids.is_empty()))
    }

    async fn chosen(&self, filter: &MetricsFilter) -> Result<Chosen, AppError> {
        let allowed = self.metrics_accounts(filter).await?;
        let all = self.all_periods().await?;
        if allowed.is_none() && filter.product.is_none() && !filter.by_product {
            let series = self.periods.whole_series(&all);
            return Ok(Chosen { series, chosen: (0..all.len()).collect(), all });
        }
        let chosen: Vec<usize> = all
            .iter()
            .enumerate()
            .filter(|(_, p)| allowed.as_ref().is_none_or(|ids| ids.contains(&p.terms.account_id)))
            .filter(|(_, p)| filter.product.as_deref().is_none_or(|product| p.terms.product == product))
            .map(|(i, _)| i)
            .collect();
        let terms = chosen.iter().map(|&i| &all[i].terms);
        let series = if filter.by_product { series_by_account_and_product(terms) } else { series_by_account(terms) };
        Ok(Chosen { series: Arc::new(series), all, chosen })
    }

    /// MRR, ARR, movements, customers and rates for each period of `interval` in [from, to].
    pub async fn metrics_report(
        &self,
        filter: &MetricsFilter,
        interval: Interval,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<PeriodReport>, AppError> {
        let chosen = self.chosen(filter).await?;
        Ok(period_reports(&chosen.series, &Periods::split(interval, from, to)))
    }

    /// NRR, GRR and the rest over the 12 months ending on `day`.
    pub async fn metrics_trailing_year(
        &self,
        filter: &MetricsFilter,
        day: NaiveDate,
    ) -> Result<Option<PeriodReport>, AppError> {
        Ok(trailing_twelve_month_report(&self.chosen(filter).await?.series, day))
    }

    /// Every movement dated in [from, to], each with the subscription periods that caused it.
    pub async fn metrics_movements(
        &self,
        filter: &MetricsFilter,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<TracedMovement>, AppError> {
        let chosen = self.chosen(filter).await?;
        let mut by_account: HashMap<AccountId, Vec<&SubscriptionPeriod>> = HashMap::new();
        for period in chosen.periods() {
            by_account.entry(period.terms.account_id).or_default().push(period);
        }
        let mut movements: Vec<TracedMovement> =
            chosen.series.iter().flat_map(|s| s.movements_between(from, to)).map(|m| traced(m, &by_account)).collect();
        movements.sort_by_key(|m| (m.movement.day, m.movement.account));
        Ok(movements)
    }

    pub async fn metrics_cohorts(
        &self,
        filter: &MetricsFilter,
        from: YearMonth,
        through: YearMonth,
    ) -> Result<Vec<Cohort>, AppError> {
        Ok(cohorts(&self.chosen(filter).await?.series, from, through))
    }

    /// LTV, CAC, CAC payback and LTV/CAC per period, from the spend entered per month.
    pub async fn metrics_unit_economics(
        &self,
        filter: &MetricsFilter,
        interval: Interval,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<AcquisitionReport>, AppError> {
        let chosen = self.chosen(filter).await?;
        let reports = period_reports(&chosen.series, &Periods::split(interval, from, to));
        let spend = self.spend_by_month().await?;
        Ok(acquisition_reports(&chosen.series, &reports, &spend, self.settings().gross_margin))
    }

    pub async fn account_mrr_history(&self, account: AccountId) -> Result<AccountMrrHistory, AppError> {
        self.store.get_account(account).await?;
        let periods = self.store.periods_of_accounts(Some(&[account])).await?;
        let by_account: HashMap<AccountId, Vec<&SubscriptionPeriod>> =
            HashMap::from([(account, periods.iter().collect())]);
        let series = series_by_account(periods.iter().map(|p| &p.terms));
        let (changes, movements) = match series.first() {
            Some(s) => (s.changes().to_vec(), s.movements().map(|m| traced(m, &by_account)).collect()),
            None => (Vec::new(), Vec::new()),
        };
        Ok(AccountMrrHistory { account, changes, movements })
    }

    pub async fn spend_by_month(&self) -> Result<BTreeMap<YearMonth, Money>, AppError> {
        let mut spend = BTreeMap::new();
        for (month, amount) in self.store.spend().await? {
            let month = parse_month(&month)
                .map_err(|reason| AppError::Internal(format!("stored spend month {month}: {reason:?}")))?;
            spend.insert(month, amount);
        }
        Ok(spend)
    }

    /// Sets (or, with `None`, removes) the sales & marketing spend of a month.
    pub async fn set_spend(&self, actor: &Actor, month: YearMonth, amount: Option<Money>) -> Result<(), AppError> {
        let key = month.to_string();
        let before = self.spend_by_month().await?.get(&month).copied();
        match amount {
            Some(amount) => self.store.set_spend(&key, amount).await?,
            None => {
                self.store.delete_spend(&key).await?;
            }
        }
        self.record_change(actor, "update", "marketing_spend", &key, before.as_ref(), amount.as_ref()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_and_months_parse_or_say_why_not() {
        assert_eq!(parse_interval("month", 4), Ok(Interval::Month));
        assert!(matches!(parse_interval("fiscal_year", 4), Ok(Interval::FiscalYear(start)) if start.month() == 4));
        assert!(matches!(parse_interval("decade", 4), Err(Reason::NotOneOf { .. })));
        assert_eq!(parse_month("2025-04").map(|m| (m.year(), m.month())), Ok((2025, 4)));
        assert_eq!(parse_month("2025-13"), Err(Reason::InvalidDate));
    }
}
