//! Daily MRR as a step function per account (or per account and product), and the movements
//! it makes (metrics.md, "MRR" and "Movements").

use crate::ids::AccountId;
use crate::money::Money;
use crate::subscription::SubscriptionTerms;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

/// Decimal places MRR is carried at inside the engine.
///
/// A row's MRR can be a repeating decimal (an annual price ÷ 12). Fixing it at 10⁻¹² of the
/// currency unit, far below the reported 2 decimals, makes every later sum and difference
/// exact integer arithmetic: movements add up to MRR differences to the last digit, and an
/// account whose subscriptions all ended is at exactly zero.
pub const MRR_DECIMALS: u32 = 12;

/// A row's MRR as the engine carries it; negative amounts (rejected by
/// [`SubscriptionTerms::check`]) count as zero so that "paying" stays "MRR > 0".
pub fn row_mrr(terms: &SubscriptionTerms) -> Decimal {
    let mut mrr = terms.mrr().0.max(Decimal::ZERO);
    mrr.rescale(MRR_DECIMALS);
    mrr
}

/// Whether an MRR is that of a paying account: MRR > 0 (metrics.md, "MRR"). Reads the sign and
/// zero flags only, since it runs for every change point.
pub(crate) fn is_paying(mrr: Decimal) -> bool {
    mrr.is_sign_positive() && !mrr.is_zero()
}

/// +1 when a change makes the series paying, −1 when it stops it paying, else 0.
pub(crate) fn paying_change(before: Decimal, after: Decimal) -> i64 {
    i64::from(is_paying(after)) - i64::from(is_paying(before))
}

/// From `day` on (until the next change) the series' MRR is `mrr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MrrChange {
    pub day: NaiveDate,
    pub mrr: Money,
}

/// The daily MRR of one account, or of one product of one account, kept as the days on which
/// it changes. Before the first change it is zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MrrSeries {
    account: AccountId,
    product: Option<String>,
    changes: Vec<MrrChange>,
}

impl MrrSeries {
    pub fn account(&self) -> AccountId {
        self.account
    }

    /// The product for per-(account, product) series; `None` for whole-account series.
    pub fn product(&self) -> Option<&str> {
        self.product.as_deref()
    }

    /// Days on which the MRR changes, in order, each with a value differing from the previous.
    pub fn changes(&self) -> &[MrrChange] {
        &self.changes
    }

    /// MRR on `day`.
    pub fn mrr_on(&self, day: NaiveDate) -> Money {
        let after = self.changes.partition_point(|change| change.day <= day);
        self.mrr_before_change(after)
    }

    /// The first day with MRR > 0 (metrics.md: the account's first paying day).
    pub fn first_paying_day(&self) -> Option<NaiveDate> {
        self.changes.first().map(|change| change.day)
    }

    /// Every movement of the series, in day order.
    pub fn movements(&self) -> impl Iterator<Item = Movement> + '_ {
        (0..self.changes.len()).filter_map(|index| self.movement_at(index))
    }

    /// Movements dated within `[first, last]`.
    pub fn movements_between(&self, first: NaiveDate, last: NaiveDate) -> impl Iterator<Item = Movement> + '_ {
        let from = self.changes.partition_point(|change| change.day < first);
        let to = self.changes.partition_point(|change| change.day <= last);
        (from..to.max(from)).filter_map(|index| self.movement_at(index))
    }

    /// MRR just before change `index` (zero before the first).
    pub(crate) fn mrr_before_change(&self, index: usize) -> Money {
        index
            .checked_sub(1)
            .and_then(|previous| self.changes.get(previous))
            .map_or(Money(Decimal::ZERO), |change| change.mrr)
    }

    fn movement_at(&self, index: usize) -> Option<Movement> {
        let change = self.changes.get(index)?;
        let before = self.mrr_before_change(index);
        let kind = MovementKind::classify(before, change.mrr, index > 0)?;
        Some(Movement {
            day: change.day,
            account: self.account,
            product: self.product.clone(),
            kind,
            amount: change.mrr - before,
            mrr_before: before,
            mrr_after: change.mrr,
        })
    }
}

/// One series per account, from the periods of any set of accounts (the caller filters by
/// choosing which accounts' periods to pass). Ordered by account.
pub fn series_by_account<'a>(periods: impl IntoIterator<Item = &'a SubscriptionTerms>) -> Vec<MrrSeries> {
    build(periods, |terms| terms.account_id)
        .into_iter()
        .map(|(account, changes)| MrrSeries { account, product: None, changes })
        .collect()
}

/// One series per (account, product), for product-level views. Ordered by account, product.
pub fn series_by_account_and_product<'a>(periods: impl IntoIterator<Item = &'a SubscriptionTerms>) -> Vec<MrrSeries> {
    build(periods, |terms| (terms.account_id, terms.product.as_str()))
        .into_iter()
        .map(|((account, product), changes)| MrrSeries { account, product: Some(product.to_owned()), changes })
        .collect()
}

/// Groups the rows by key, then turns each group's rows into start events (+MRR) and end
/// events (−MRR), sorts them by day and keeps the days on which the running total changes.
/// Rows that never cover a day or carry no MRR make no events, and keys without changes no
/// series.
///
/// The rows are sorted by key with a stable sort, which is linear when the caller already
/// passes them grouped (as a database query ordered by account does); only each key's few
/// events are then sorted by day.
fn build<'a, K: Ord + Copy + 'a>(
    periods: impl IntoIterator<Item = &'a SubscriptionTerms>,
    key_of: impl Fn(&'a SubscriptionTerms) -> K,
) -> Vec<(K, Vec<MrrChange>)> {
    let mut rows: Vec<(K, NaiveDate, Option<NaiveDate>, Decimal)> = periods
        .into_iter()
        .filter(|terms| terms.end_date.is_none_or(|end| end > terms.start_date))
        .map(|terms| (key_of(terms), terms.start_date, terms.end_date, row_mrr(terms)))
        .filter(|row| !row.3.is_zero())
        .collect();
    rows.sort_by_key(|row| row.0);

    let mut series = Vec::new();
    let mut events: Vec<(NaiveDate, Decimal)> = Vec::new();
    for group in rows.chunk_by(|a, b| a.0 == b.0) {
        events.clear();
        for &(_, start, end, mrr) in group {
            events.push((start, mrr));
            events.extend(end.map(|end| (end, -mrr)));
        }
        events.sort_unstable_by_key(|event| event.0);
        let changes = changes_of(&events);
        if !changes.is_empty() {
            series.push((group[0].0, changes));
        }
    }
    series
}

/// The days on which the running total of day-sorted events changes, same-day events netted.
fn changes_of(events: &[(NaiveDate, Decimal)]) -> Vec<MrrChange> {
    let mut changes = Vec::new();
    let mut running = Decimal::ZERO;
    for same_day in events.chunk_by(|a, b| a.0 == b.0) {
        let total = running + same_day.iter().map(|event| event.1).sum::<Decimal>();
        if total != running {
            changes.push(MrrChange { day: same_day[0].0, mrr: Money(total) });
            running = total;
        }
    }
    changes
}

/// The kinds of MRR movement of the table in metrics.md, "Movements".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MovementKind {
    /// From zero to paying, never paying before: +cur.
    New,
    /// From zero to paying after having paid on an earlier day: +cur.
    Reactivation,
    /// From paying to zero: −prev.
    Churn,
    /// Paying, to a higher MRR: cur − prev.
    Expansion,
    /// Paying, to a lower MRR still above zero: cur − prev.
    Contraction,
}

impl MovementKind {
    /// Classifies a day's netted change from `before` (MRR of the day before) to `after`.
    /// `None` when nothing changed.
    pub fn classify(before: Money, after: Money, paid_before: bool) -> Option<MovementKind> {
        let (before, after) = (before.0, after.0);
        if before == after {
            None
        } else if !is_paying(before) {
            is_paying(after).then_some(if paid_before { MovementKind::Reactivation } else { MovementKind::New })
        } else if !is_paying(after) {
            Some(MovementKind::Churn)
        } else if after > before {
            Some(MovementKind::Expansion)
        } else {
            Some(MovementKind::Contraction)
        }
    }
}

/// One day's netted MRR change of one account (or account and product), traceable to the
/// rule that classified it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Movement {
    /// The day whose MRR differs from the day before's.
    pub day: NaiveDate,
    pub account: AccountId,
    /// Set for per-(account, product) series.
    pub product: Option<String>,
    pub kind: MovementKind,
    /// `mrr_after − mrr_before`: positive for new, reactivation and expansion, negative for
    /// churn and contraction.
    pub amount: Money,
    /// MRR of the day before.
    pub mrr_before: Money,
    pub mrr_after: Money,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::fixtures::*;
    use crate::subscription::BillingInterval::{Month, Quarter, Year};

    #[test]
    fn annual_plan_with_two_year_count_spreads_the_price_over_twenty_four_months() {
        let mut two_years = row(1, "S1", "2025-01-01", None, Year, 1, 240_000);
        two_years.interval_count = 2;
        let series = series_by_account([&two_years]);
        assert_eq!(series[0].mrr_on(day("2025-06-01")), money(10_000));
    }

    #[test]
    fn quarterly_plan_with_discount_divides_the_discounted_price_by_the_term_months() {
        let mut quarterly = row(1, "S1", "2025-01-01", None, Quarter, 3, 1_000);
        quarterly.discount_percent = Decimal::from(10);
        let series = series_by_account([&quarterly]);
        assert_eq!(series[0].mrr_on(day("2025-01-01")), money(900));
        quarterly.interval_count = 2;
        let series = series_by_account([&quarterly]);
        assert_eq!(series[0].mrr_on(day("2025-01-01")), money(450));
    }

    #[test]
    fn repeating_decimal_mrr_is_carried_at_twelve_decimals() {
        let annual = row(1, "S1", "2025-01-01", None, Year, 1, 1_000);
        let series = series_by_account([&annual]);
        let mrr = series[0].mrr_on(day("2025-01-01"));
        assert_eq!(mrr.0.to_string(), "83.333333333333");
        assert_eq!(mrr.reported(), Decimal::new(8333, 2));
    }

    #[test]
    fn full_discount_and_zero_price_rows_make_no_series() {
        let mut free = row(1, "S1", "2025-01-01", None, Month, 5, 1_000);
        free.discount_percent = Decimal::ONE_HUNDRED;
        let zero_price = row(2, "S2", "2025-01-01", None, Month, 5, 0);
        assert!(series_by_account([&free, &zero_price]).is_empty());
    }

    #[test]
    fn mrr_is_zero_before_start_and_from_the_exclusive_end_date() {
        let monthly = row(1, "S1", "2025-01-10", Some("2025-03-01"), Month, 1, 500);
        let series = &series_by_account([&monthly])[0];
        assert_eq!(series.mrr_on(day("2025-01-09")), money(0));
        assert_eq!(series.mrr_on(day("2025-01-10")), money(500));
        assert_eq!(series.mrr_on(day("2025-02-28")), money(500));
        assert_eq!(series.mrr_on(day("2025-03-01")), money(0));
    }

    #[test]
    fn zero_price_trial_converting_to_paid_is_new_on_the_conversion_day() {
        let trial = row(1, "S1", "2025-01-01", Some("2025-01-15"), Month, 5, 0);
        let paid = row(1, "S1", "2025-01-15", None, Month, 5, 1_000);
        let series = &series_by_account([&trial, &paid])[0];
        assert_eq!(series.first_paying_day(), Some(day("2025-01-15")));
        let movements: Vec<_> = series.movements().collect();
        assert_eq!(movements.len(), 1);
        assert_eq!(movements[0].kind, MovementKind::New);
        assert_eq!(movements[0].amount, money(5_000));
    }

    #[test]
    fn same_day_upgrade_and_downgrade_are_netted_into_one_movement() {
        let before = row(1, "S1", "2025-01-01", Some("2025-02-01"), Month, 10, 100);
        let upgrade = row(1, "S2", "2025-02-01", None, Month, 1, 300);
        let downgraded = row(1, "S1", "2025-02-01", None, Month, 8, 100);
        let series = &series_by_account([&before, &upgrade, &downgraded])[0];
        let movements: Vec<_> = series.movements().collect();
        assert_eq!(movements.len(), 2);
        assert_eq!(movements[1].kind, MovementKind::Expansion);
        assert_eq!(movements[1].amount, money(100));
        assert_eq!(movements[1].mrr_before, money(1_000));
        assert_eq!(movements[1].mrr_after, money(1_100));
    }

    #[test]
    fn changes_cancelling_out_on_one_day_make_no_movement() {
        let old_plan = row(1, "S1", "2025-01-01", Some("2025-02-01"), Month, 2, 500);
        let new_plan = row(1, "S1", "2025-02-01", None, Month, 1, 1_000);
        let series = &series_by_account([&old_plan, &new_plan])[0];
        assert_eq!(series.changes().len(), 1);
        assert_eq!(series.movements().count(), 1);
    }

    #[test]
    fn churn_then_return_is_churn_then_reactivation() {
        let first = row(1, "S1", "2025-01-01", Some("2025-03-01"), Month, 1, 1_000);
        let back = row(1, "S2", "2025-05-01", None, Month, 1, 1_500);
        let kinds: Vec<_> =
            series_by_account([&first, &back])[0].movements().map(|m| (m.day, m.kind, m.amount)).collect();
        assert_eq!(
            kinds,
            vec![
                (day("2025-01-01"), MovementKind::New, money(1_000)),
                (day("2025-03-01"), MovementKind::Churn, money(-1_000)),
                (day("2025-05-01"), MovementKind::Reactivation, money(1_500)),
            ]
        );
    }

    #[test]
    fn cancelling_one_of_two_subscriptions_is_contraction_not_churn() {
        let core = row(1, "S1", "2025-01-01", None, Month, 1, 1_000);
        let addon = row(1, "S2", "2025-01-01", Some("2025-04-01"), Month, 1, 300);
        let movements: Vec<_> = series_by_account([&core, &addon])[0].movements().collect();
        assert_eq!(movements[1].kind, MovementKind::Contraction);
        assert_eq!(movements[1].amount, money(-300));
    }

    #[test]
    fn product_series_apply_the_same_rules_per_account_and_product() {
        let core = row(1, "S1", "2025-01-01", None, Month, 1, 1_000);
        let mut addon = row(1, "S2", "2025-01-01", Some("2025-04-01"), Month, 1, 300);
        addon.product = "payroll".into();
        let series = series_by_account_and_product([&core, &addon]);
        assert_eq!(series.len(), 2);
        assert_eq!(series[1].product(), Some("payroll"));
        let payroll: Vec<_> = series[1].movements().map(|m| m.kind).collect();
        assert_eq!(payroll, vec![MovementKind::New, MovementKind::Churn]);
        assert_eq!(series[1].movements().last().unwrap().product.as_deref(), Some("payroll"));
    }

    #[test]
    fn periods_of_several_accounts_are_grouped_by_account() {
        let a = row(2, "S1", "2025-01-01", None, Month, 1, 100);
        let b = row(1, "S2", "2025-02-01", None, Month, 1, 200);
        let c = row(2, "S3", "2025-03-01", None, Month, 1, 50);
        let series = series_by_account([&a, &b, &c]);
        assert_eq!(series.len(), 2);
        assert_eq!(series[0].account(), AccountId(1));
        assert_eq!(series[1].mrr_on(day("2025-03-01")), money(150));
    }

    #[test]
    fn movements_between_keeps_both_boundary_days() {
        let a = row(1, "S1", "2025-01-01", Some("2025-01-31"), Month, 1, 100);
        let series = &series_by_account([&a])[0];
        assert_eq!(series.movements_between(day("2025-01-01"), day("2025-01-31")).count(), 2);
        assert_eq!(series.movements_between(day("2025-01-02"), day("2025-01-30")).count(), 0);
    }
}
