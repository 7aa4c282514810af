//! Per-period MRR, movements and rates (metrics.md, "MRR", "Movements" and "Rates").

use super::period::{trailing_twelve_months, Period, Periods};
use super::series::{is_paying, paying_change, MovementKind, MrrSeries};
use super::{ratio, reported_money};
use crate::money::Money;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

/// Sum and count of one kind of movement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, utoipa::ToSchema)]
pub struct MovementSum {
    /// Signed as in the movements table: negative for churn and contraction.
    #[serde(with = "reported_money")]
    pub amount: Money,
    pub count: u64,
}

/// The movements dated within a period, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, utoipa::ToSchema)]
pub struct MovementTotals {
    /// `count` is the number of accounts whose first paying day is in the period.
    pub new: MovementSum,
    pub reactivation: MovementSum,
    pub expansion: MovementSum,
    pub contraction: MovementSum,
    pub churn: MovementSum,
}

impl MovementTotals {
    /// Σ of every movement: MRR at end − MRR at start.
    pub fn net(&self) -> Money {
        self.new.amount + self.reactivation.amount + self.expansion.amount + self.contraction.amount + self.churn.amount
    }

    /// |Σ churn| + |Σ contraction|.
    pub fn lost(&self) -> Decimal {
        self.churn.amount.0.abs() + self.contraction.amount.0.abs()
    }

    fn by_kind(sums: &[MovementSum; KINDS]) -> MovementTotals {
        MovementTotals {
            new: sums[kind_index(MovementKind::New)],
            reactivation: sums[kind_index(MovementKind::Reactivation)],
            expansion: sums[kind_index(MovementKind::Expansion)],
            contraction: sums[kind_index(MovementKind::Contraction)],
            churn: sums[kind_index(MovementKind::Churn)],
        }
    }
}

/// Everything metrics.md defines for one period P. Money is serialized as reported (2
/// decimals); rates are exact ratios, `null` when their denominator is zero.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PeriodReport {
    pub period: Period,
    /// MRR of the day before P's first day.
    #[serde(with = "reported_money")]
    pub mrr_start: Money,
    /// MRR of P's last day.
    #[serde(with = "reported_money")]
    pub mrr_end: Money,
    #[serde(with = "reported_money")]
    pub arr_start: Money,
    #[serde(with = "reported_money")]
    pub arr_end: Money,
    pub movements: MovementTotals,
    /// Accounts paying at the start of P.
    pub customers_start: u64,
    /// Accounts paying on P's last day.
    pub customers_end: u64,
    /// Accounts paying at the start of P and not at its end.
    pub churned_customers: u64,
    /// Σ MRR_end(a) over the accounts a paying at the start of P: NRR's numerator.
    #[serde(with = "reported_money")]
    pub retained_mrr: Money,
    /// Σ min(MRR_end(a), MRR_start(a)) over the same accounts: GRR's numerator.
    #[serde(with = "reported_money")]
    pub gross_retained_mrr: Money,
    /// churned_customers ÷ customers_start.
    #[schema(value_type = Option<String>)]
    #[serde(with = "rust_decimal::serde::str_option")]
    pub customer_churn_rate: Option<Decimal>,
    /// (|Σ churn| + |Σ contraction|) ÷ mrr_start.
    #[schema(value_type = Option<String>)]
    #[serde(with = "rust_decimal::serde::str_option")]
    pub gross_mrr_churn_rate: Option<Decimal>,
    /// (|Σ churn| + |Σ contraction| − Σ expansion − Σ reactivation) ÷ mrr_start; may be negative.
    #[schema(value_type = Option<String>)]
    #[serde(with = "rust_decimal::serde::str_option")]
    pub net_mrr_churn_rate: Option<Decimal>,
    /// retained_mrr ÷ mrr_start.
    #[schema(value_type = Option<String>)]
    #[serde(with = "rust_decimal::serde::str_option")]
    pub nrr: Option<Decimal>,
    /// gross_retained_mrr ÷ mrr_start.
    #[schema(value_type = Option<String>)]
    #[serde(with = "rust_decimal::serde::str_option")]
    pub grr: Option<Decimal>,
    /// (Σ new + Σ expansion + Σ reactivation) ÷ (|Σ churn| + |Σ contraction|).
    #[schema(value_type = Option<String>)]
    #[serde(with = "rust_decimal::serde::str_option")]
    pub quick_ratio: Option<Decimal>,
    /// ARPA on P's last day: mrr_end ÷ customers_end.
    #[schema(value_type = Option<String>)]
    #[serde(with = "reported_money::option")]
    pub arpa: Option<Money>,
}

/// MRR and paying accounts on one day.
// `MrrSnapshot` in the OpenAPI document, apart from the health history's `Snapshot`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = MrrSnapshot)]
pub struct Snapshot {
    pub day: NaiveDate,
    #[serde(with = "reported_money")]
    pub mrr: Money,
    #[serde(with = "reported_money")]
    pub arr: Money,
    pub paying_accounts: u64,
    /// mrr ÷ paying_accounts.
    #[schema(value_type = Option<String>)]
    #[serde(with = "reported_money::option")]
    pub arpa: Option<Money>,
}

/// MRR, paying accounts and ARPA of `series` on `day`.
pub fn snapshot(series: &[MrrSeries], day: NaiveDate) -> Snapshot {
    let mut mrr = Decimal::ZERO;
    let mut paying_accounts = 0u64;
    for one in series {
        let value = one.mrr_on(day).0;
        if is_paying(value) {
            mrr += value;
            paying_accounts += 1;
        }
    }
    Snapshot {
        day,
        mrr: Money(mrr),
        arr: annualized(Money(mrr)),
        paying_accounts,
        arpa: ratio(mrr, Decimal::from(paying_accounts)).map(Money),
    }
}

/// The report for the twelve months ending on `day`; its `nrr` and `grr` are the
/// trailing-12-month NRR and GRR of metrics.md.
pub fn trailing_twelve_month_report(series: &[MrrSeries], day: NaiveDate) -> Option<PeriodReport> {
    let period = trailing_twelve_months(day)?;
    period_reports(series, &Periods::single(period)).pop()
}

/// One report per period, in the order of `periods`.
///
/// Works from change points only: totals at each period boundary are running sums of the
/// movements, and per-account figures (churned customers, NRR and GRR numerators) are only
/// corrected for accounts that changed within a period, since an unchanged account keeps its
/// start MRR. The cost is O(accounts × log changes + changes × (log periods + periods
/// containing a change)), independent of the number of days; consecutive periods contain each
/// change once, trailing twelve-month windows ending on month ends about twelve times.
pub fn period_reports(series: &[MrrSeries], periods: &Periods) -> Vec<PeriodReport> {
    let periods = periods.as_slice();
    let mut checkpoints: Vec<NaiveDate> =
        periods.iter().flat_map(|period| [period.day_before(), period.last()]).collect();
    checkpoints.sort_unstable();
    checkpoints.dedup();
    let (Some(&earliest), Some(&latest)) = (checkpoints.first(), checkpoints.last()) else {
        return Vec::new();
    };

    let mut buckets = vec![Bucket::default(); checkpoints.len()];
    let mut corrections = vec![Correction::default(); periods.len()];
    for one in series {
        let changes = one.changes();
        let first_inside = changes.partition_point(|change| change.day <= earliest);
        buckets[0].add_level(one.mrr_before_change(first_inside).0);

        let mut next_unvisited_period = 0;
        let mut at_start = Cursor::new(one);
        let mut at_end = Cursor::new(one);
        for (index, change) in
            changes.iter().enumerate().skip(first_inside).take_while(|(_, change)| change.day <= latest)
        {
            let before = one.mrr_before_change(index);
            let bucket = checkpoints.partition_point(|checkpoint| *checkpoint < change.day);
            buckets[bucket].add_movement(before.0, change.mrr.0, index > 0);

            let ending_later = periods.partition_point(|period| period.last() < change.day);
            let started = periods.partition_point(|period| period.first() <= change.day);
            for period_index in ending_later.max(next_unvisited_period)..started {
                let period = &periods[period_index];
                corrections[period_index].add(at_start.mrr_on(period.day_before()), at_end.mrr_on(period.last()));
            }
            next_unvisited_period = next_unvisited_period.max(started);
        }
    }

    let running = running_totals(&buckets);
    periods
        .iter()
        .zip(&corrections)
        .map(|(period, correction)| {
            let at = |day: NaiveDate| &running[checkpoints.partition_point(|c| *c < day)];
            report(*period, at(period.day_before()), at(period.last()), correction)
        })
        .collect()
}

const KINDS: usize = 5;

fn kind_index(kind: MovementKind) -> usize {
    match kind {
        MovementKind::New => 0,
        MovementKind::Reactivation => 1,
        MovementKind::Expansion => 2,
        MovementKind::Contraction => 3,
        MovementKind::Churn => 4,
    }
}

/// What happened between two consecutive checkpoints (the first bucket also holds the level
/// on the first checkpoint).
#[derive(Debug, Clone, Default)]
struct Bucket {
    mrr: Decimal,
    paying: i64,
    movements: [MovementSum; KINDS],
}

impl Bucket {
    fn add_level(&mut self, mrr: Decimal) {
        if is_paying(mrr) {
            self.mrr += mrr;
            self.paying += 1;
        }
    }

    fn add_movement(&mut self, before: Decimal, after: Decimal, paid_before: bool) {
        let Some(kind) = MovementKind::classify(Money(before), Money(after), paid_before) else {
            return;
        };
        let amount = after - before;
        self.mrr += amount;
        self.paying += paying_change(before, after);
        let sum = &mut self.movements[kind_index(kind)];
        sum.amount.0 += amount;
        sum.count += 1;
    }
}

/// Reads a series' MRR on days that never decrease, walking its changes once instead of
/// searching them for every period.
struct Cursor<'a> {
    series: &'a MrrSeries,
    next_change: usize,
}

impl<'a> Cursor<'a> {
    fn new(series: &'a MrrSeries) -> Cursor<'a> {
        Cursor { series, next_change: 0 }
    }

    fn mrr_on(&mut self, day: NaiveDate) -> Decimal {
        let changes = self.series.changes();
        while changes.get(self.next_change).is_some_and(|change| change.day <= day) {
            self.next_change += 1;
        }
        self.series.mrr_before_change(self.next_change).0
    }
}

/// Per-period sums over the accounts that changed within the period and were paying at its
/// start.
#[derive(Debug, Clone, Default)]
struct Correction {
    retained: Decimal,
    gross_retained: Decimal,
    churned_customers: u64,
}

impl Correction {
    fn add(&mut self, start: Decimal, end: Decimal) {
        if is_paying(start) {
            self.retained += end - start;
            self.gross_retained += end.min(start) - start;
            self.churned_customers += u64::from(!is_paying(end));
        }
    }
}

/// Running sums of the buckets: the level and the cumulative movements at each checkpoint.
fn running_totals(buckets: &[Bucket]) -> Vec<Bucket> {
    let mut total = Bucket::default();
    buckets
        .iter()
        .map(|bucket| {
            total.mrr += bucket.mrr;
            total.paying += bucket.paying;
            for (sum, added) in total.movements.iter_mut().zip(&bucket.movements) {
                sum.amount.0 += added.amount.0;
                sum.count += added.count;
            }
            total.clone()
        })
        .collect()
}

fn report(period: Period, start: &Bucket, end: &Bucket, correction: &Correction) -> PeriodReport {
    let mut sums = [MovementSum::default(); KINDS];
    for ((sum, at_end), at_start) in sums.iter_mut().zip(&end.movements).zip(&start.movements) {
        sum.amount = at_end.amount - at_start.amount;
        sum.count = at_end.count.saturating_sub(at_start.count);
    }
    let movements = MovementTotals::by_kind(&sums);
    let customers_start = u64::try_from(start.paying).unwrap_or(0);
    let customers_end = u64::try_from(end.paying).unwrap_or(0);
    let mrr_start = start.mrr;
    let retained_mrr = mrr_start + correction.retained;
    let gross_retained_mrr = mrr_start + correction.gross_retained;
    let lost = movements.lost();
    let won_back = movements.expansion.amount.0 + movements.reactivation.amount.0;
    let gained = movements.new.amount.0 + won_back;
    PeriodReport {
        period,
        mrr_start: Money(mrr_start),
        mrr_end: Money(end.mrr),
        arr_start: annualized(Money(mrr_start)),
        arr_end: annualized(Money(end.mrr)),
        movements,
        customers_start,
        customers_end,
        churned_customers: correction.churned_customers,
        retained_mrr: Money(retained_mrr),
        gross_retained_mrr: Money(gross_retained_mrr),
        customer_churn_rate: ratio(Decimal::from(correction.churned_customers), Decimal::from(customers_start)),
        gross_mrr_churn_rate: ratio(lost, mrr_start),
        net_mrr_churn_rate: ratio(lost - won_back, mrr_start),
        nrr: ratio(retained_mrr, mrr_start),
        grr: ratio(gross_retained_mrr, mrr_start),
        quick_ratio: ratio(gained, lost),
        arpa: ratio(end.mrr, Decimal::from(customers_end)).map(Money),
    }
}

/// ARR = 12 × MRR.
pub fn annualized(mrr: Money) -> Money {
    Money(mrr.0 * Decimal::from(12))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::fixtures::*;
    use crate::metrics::period::{Interval, YearMonth};
    use crate::metrics::series::series_by_account;
    use crate::subscription::BillingInterval::Month;

    fn month(text: &str) -> Periods {
        Periods::single(text.parse::<YearMonth>().unwrap().period())
    }

    fn report_for(rows: &[crate::subscription::SubscriptionTerms], period: Periods) -> PeriodReport {
        let series = series_by_account(rows);
        period_reports(&series, &period).pop().unwrap()
    }

    #[test]
    fn month_report_computes_every_rate_from_hand_counted_movements() {
        let rows = [
            row(1, "A", "2024-12-01", None, Month, 1, 1_000),
            row(1, "A+", "2025-01-10", None, Month, 1, 500),
            row(2, "B", "2024-12-01", Some("2025-01-20"), Month, 1, 2_000),
            row(3, "C", "2024-11-01", None, Month, 1, 1_000),
            row(3, "C-", "2024-11-01", Some("2025-01-05"), Month, 1, 1_000),
            row(4, "D", "2025-01-15", None, Month, 1, 3_000),
        ];
        let report = report_for(&rows, month("2025-01"));
        assert_eq!(report.mrr_start, money(5_000));
        assert_eq!(report.mrr_end, money(5_500));
        assert_eq!(report.arr_end, money(66_000));
        assert_eq!(report.movements.new, MovementSum { amount: money(3_000), count: 1 });
        assert_eq!(report.movements.expansion.amount, money(500));
        assert_eq!(report.movements.contraction.amount, money(-1_000));
        assert_eq!(report.movements.churn, MovementSum { amount: money(-2_000), count: 1 });
        assert_eq!(report.movements.net(), report.mrr_end - report.mrr_start);
        assert_eq!((report.customers_start, report.customers_end), (3, 3));
        assert_eq!(report.churned_customers, 1);
        assert_eq!(report.customer_churn_rate, rate("0.3333333333333333333333333333"));
        assert_eq!(report.gross_mrr_churn_rate, rate("0.6"));
        assert_eq!(report.net_mrr_churn_rate, rate("0.5"));
        assert_eq!(report.retained_mrr, money(2_500));
        assert_eq!(report.gross_retained_mrr, money(2_000));
        assert_eq!(report.nrr, rate("0.5"));
        assert_eq!(report.grr, rate("0.4"));
        assert_eq!(report.quick_ratio, rate("1.1666666666666666666666666667"));
        assert_eq!(report.arpa.map(|a| a.reported()), Some(Decimal::new(183333, 2)));
    }

    #[test]
    fn changes_on_the_first_and_last_day_belong_to_the_period() {
        let rows = [
            row(1, "A", "2025-01-01", Some("2025-01-31"), Month, 1, 1_000),
            row(2, "B", "2025-01-31", None, Month, 1, 700),
        ];
        let january = report_for(&rows, month("2025-01"));
        assert_eq!(january.mrr_start, money(0));
        assert_eq!(january.movements.new.amount, money(1_700));
        assert_eq!(january.movements.churn.amount, money(-1_000));
        assert_eq!(january.mrr_end, money(700));
        let february = report_for(&rows, month("2025-02"));
        assert_eq!(february.mrr_start, money(700));
        assert_eq!(february.movements, MovementTotals::default());
    }

    #[test]
    fn change_on_the_day_after_a_period_is_not_in_it() {
        let rows = [row(1, "A", "2025-01-01", Some("2025-02-01"), Month, 1, 1_000)];
        let january = report_for(&rows, month("2025-01"));
        assert_eq!(january.movements.churn.count, 0);
        assert_eq!(january.mrr_end, money(1_000));
        assert_eq!(report_for(&rows, month("2025-02")).movements.churn.count, 1);
    }

    #[test]
    fn leaving_and_returning_within_a_period_is_not_customer_churn() {
        let rows = [
            row(1, "A", "2024-12-01", Some("2025-01-10"), Month, 1, 1_000),
            row(1, "A2", "2025-01-20", None, Month, 1, 800),
            row(2, "B", "2025-01-05", Some("2025-01-25"), Month, 1, 500),
        ];
        let report = report_for(&rows, month("2025-01"));
        assert_eq!(report.churned_customers, 0);
        assert_eq!(report.customer_churn_rate, rate("0"));
        assert_eq!(report.movements.churn.count, 2);
        assert_eq!(report.movements.reactivation.amount, money(800));
        assert_eq!(report.nrr, rate("0.8"));
        assert_eq!(report.grr, rate("0.8"));
    }

    #[test]
    fn zero_denominators_give_no_rate() {
        let rows = [row(1, "A", "2025-01-15", None, Month, 1, 1_000)];
        let first_month = report_for(&rows, month("2025-01"));
        assert_eq!(first_month.customers_start, 0);
        assert_eq!(first_month.customer_churn_rate, None);
        assert_eq!(first_month.gross_mrr_churn_rate, None);
        assert_eq!(first_month.net_mrr_churn_rate, None);
        assert_eq!(first_month.nrr, None);
        assert_eq!(first_month.grr, None);
        assert_eq!(first_month.quick_ratio, None);
        let before_any = report_for(&rows, month("2024-12"));
        assert_eq!(before_any.arpa, None);
        assert_eq!(snapshot(&[], day("2025-01-01")).arpa, None);
    }

    #[test]
    fn consecutive_periods_chain_their_start_and_end() {
        let rows = [
            row(1, "A", "2025-01-01", Some("2025-03-01"), Month, 1, 1_000),
            row(2, "B", "2025-02-01", None, Month, 2, 300),
        ];
        let series = series_by_account(&rows);
        let periods = Periods::split(Interval::Month, day("2025-01-01"), day("2025-03-31"));
        let reports = period_reports(&series, &periods);
        let ends: Vec<_> = reports.iter().map(|r| (r.mrr_start, r.mrr_end)).collect();
        assert_eq!(ends, vec![(money(0), money(1_000)), (money(1_000), money(1_600)), (money(1_600), money(600)),]);
        assert_eq!(reports[2].customer_churn_rate, rate("0.5"));
    }

    #[test]
    fn fiscal_year_report_starting_in_april_takes_mrr_of_march_31_as_start() {
        let rows = [
            row(1, "A", "2024-03-31", Some("2024-04-01"), Month, 1, 100),
            row(1, "A2", "2024-04-01", None, Month, 1, 400),
        ];
        let series = series_by_account(&rows);
        let years = Periods::split(Interval::FiscalYear(Default::default()), day("2024-04-01"), day("2025-03-31"));
        let fiscal_2024 = &period_reports(&series, &years)[0];
        assert_eq!(fiscal_2024.mrr_start, money(100));
        assert_eq!(fiscal_2024.movements.expansion.amount, money(300));
        assert_eq!(fiscal_2024.nrr, rate("4"));
    }

    #[test]
    fn trailing_twelve_month_nrr_compares_with_the_same_date_a_year_earlier() {
        let rows = [
            row(1, "A", "2024-01-01", None, Month, 1, 1_000),
            row(1, "A+", "2024-06-01", None, Month, 1, 200),
            row(2, "B", "2024-03-31", Some("2024-09-01"), Month, 1, 1_000),
            row(3, "C", "2024-04-01", None, Month, 1, 5_000),
        ];
        let series = series_by_account(&rows);
        let report = trailing_twelve_month_report(&series, day("2025-03-31")).unwrap();
        assert_eq!(report.mrr_start, money(2_000));
        assert_eq!(report.retained_mrr, money(1_200));
        assert_eq!(report.nrr, rate("0.6"));
        assert_eq!(report.grr, rate("0.5"));
    }

    #[test]
    fn overlapping_trailing_windows_each_match_their_own_report() {
        let rows = [
            row(1, "A", "2024-01-01", Some("2024-08-01"), Month, 1, 1_000),
            row(2, "B", "2024-02-15", None, Month, 1, 500),
            row(2, "B+", "2024-09-15", None, Month, 1, 250),
        ];
        let series = series_by_account(&rows);
        let ends = ["2024-12-31", "2025-01-31", "2025-02-28"].map(day);
        let together = period_reports(&series, &Periods::trailing_twelve_months(ends));
        for (report, end) in together.iter().zip(ends) {
            assert_eq!(Some(report), trailing_twelve_month_report(&series, end).as_ref());
        }
        assert_eq!(together[1].nrr, rate("0"));
        assert_eq!(together[2].nrr, rate("0.5"));
    }

    #[test]
    fn snapshot_counts_only_paying_accounts_in_arpa() {
        let mut fully_discounted = row(4, "D", "2025-01-01", None, Month, 1, 5_000);
        fully_discounted.discount_percent = Decimal::ONE_HUNDRED;
        let rows = [
            row(1, "A", "2025-01-01", None, Month, 1, 1_000),
            row(2, "B", "2025-01-01", None, Month, 1, 0),
            row(3, "C", "2025-01-01", None, Month, 1, 2_000),
            fully_discounted,
        ];
        let series = series_by_account(&rows);
        let snap = snapshot(&series, day("2025-01-01"));
        assert_eq!(snap.paying_accounts, 2);
        assert_eq!(snap.arpa, Some(money(1_500)));
        assert_eq!(snap.arr, money(36_000));
    }

    #[test]
    fn report_serializes_money_as_reported_and_missing_rates_as_null() {
        let rows = [row(1, "A", "2025-01-15", None, crate::subscription::BillingInterval::Year, 1, 1_000)];
        let json = serde_json::to_value(report_for(&rows, month("2025-01"))).unwrap();
        assert_eq!(json["mrr_end"], "83.33");
        assert_eq!(json["arr_end"], "1000.00");
        assert_eq!(json["nrr"], serde_json::Value::Null);
        assert_eq!(json["period"]["first"], "2025-01-01");
    }
}
