//! Property tests: the engine against a direct day-by-day evaluation of the definitions in
//! metrics.md over random subscription histories.

use super::cohort::cohorts;
use super::period::{FiscalYearStart, Interval, Periods, YearMonth};
use super::report::period_reports;
use super::series::{row_mrr, series_by_account, series_by_account_and_product, MovementKind, MrrSeries};
use crate::account::CustomFields;
use crate::ids::{AccountId, ExternalId};
use crate::money::{Currency, Money};
use crate::subscription::{BillingInterval, SubscriptionTerms};
use chrono::{Days, NaiveDate};
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

fn origin() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 1, 1).unwrap()
}

fn plus_days(day: NaiveDate, days: u64) -> NaiveDate {
    day.checked_add_days(Days::new(days)).unwrap()
}

/// Days the histories can touch: every generated date falls strictly inside.
fn history_days() -> (NaiveDate, NaiveDate) {
    (NaiveDate::from_ymd_opt(2023, 12, 1).unwrap(), NaiveDate::from_ymd_opt(2027, 12, 31).unwrap())
}

/// One contract period's terms, with how many days it lasts.
type Segment = (BillingInterval, u32, i64, i64, u32, &'static str, u64);

fn segment() -> impl Strategy<Value = Segment> {
    (
        prop::sample::select(BillingInterval::ALL.to_vec()),
        1u32..3,
        0i64..4,
        prop::sample::select(vec![0i64, 100, 999, 1_200, 12_000]),
        prop::sample::select(vec![0u32, 10, 33, 100]),
        prop::sample::select(vec!["core", "payroll"]),
        1u64..200,
    )
}

/// Subscriptions of up to six accounts, each a run of consecutive periods; the last period of
/// a subscription is sometimes open-ended.
fn history() -> impl Strategy<Value = Vec<SubscriptionTerms>> {
    let subscription = (1i64..7, 0u64..700, prop::collection::vec(segment(), 1..4), any::<bool>());
    prop::collection::vec(subscription, 0..12).prop_map(|subscriptions| {
        let mut rows = Vec::new();
        for (number, (account, offset, segments, open_ended)) in subscriptions.into_iter().enumerate() {
            let mut start = plus_days(origin(), offset);
            let count = segments.len();
            for (index, segment) in segments.into_iter().enumerate() {
                let (interval, interval_count, quantity, price, discount, product, days) = segment;
                let end = plus_days(start, days);
                let ongoing = open_ended && index + 1 == count;
                rows.push(SubscriptionTerms {
                    subscription_id: ExternalId::parse(&format!("S{number}")).unwrap(),
                    account_id: AccountId(account),
                    product: product.into(),
                    plan: None,
                    start_date: start,
                    end_date: (!ongoing).then_some(end),
                    billing_interval: interval,
                    interval_count,
                    quantity,
                    unit_price: Money(Decimal::from(price)),
                    discount_percent: Decimal::from(discount),
                    currency: Currency::jpy(),
                    custom: CustomFields::new(),
                    commitment_months: None,
                });
                start = end;
            }
        }
        rows
    })
}

fn interval() -> impl Strategy<Value = Interval> {
    prop_oneof![
        Just(Interval::Week),
        Just(Interval::Month),
        Just(Interval::Quarter),
        (1u32..=12).prop_map(|month| Interval::FiscalYear(FiscalYearStart::new(month).unwrap())),
    ]
}

fn periods() -> impl Strategy<Value = Periods> {
    prop_oneof![
        (interval(), 0u64..800, 0u64..800).prop_map(|(interval, from, length)| {
            let from = plus_days(history_days().0, from);
            Periods::split(interval, from, plus_days(from, length))
        }),
        (0u64..900, 0u64..60).prop_map(|(from, length)| {
            let from = plus_days(history_days().0, from);
            Periods::split(Interval::Day, from, plus_days(from, length))
        }),
        prop::collection::vec(0u64..1000, 1..8).prop_map(|ends| {
            let ends = ends.into_iter().map(|end| plus_days(origin(), end));
            Periods::trailing_twelve_months(ends)
        }),
    ]
}

/// The direct evaluation: each series' MRR day by day from its rows, and the movements found
/// by comparing consecutive days.
struct Direct<'a> {
    rows: BTreeMap<(AccountId, Option<&'a str>), Vec<&'a SubscriptionTerms>>,
}

impl<'a> Direct<'a> {
    fn new(rows: &'a [SubscriptionTerms], by_product: bool) -> Direct<'a> {
        let mut grouped: BTreeMap<_, Vec<_>> = BTreeMap::new();
        for terms in rows {
            let product = by_product.then_some(terms.product.as_str());
            grouped.entry((terms.account_id, product)).or_default().push(terms);
        }
        Direct { rows: grouped }
    }

    fn mrr(rows: &[&SubscriptionTerms], day: NaiveDate) -> Decimal {
        rows.iter().filter(|terms| terms.covers(day)).map(|terms| row_mrr(terms)).sum()
    }

    fn per_series(&self, day: NaiveDate) -> Vec<Decimal> {
        self.rows.values().map(|rows| Self::mrr(rows, day)).collect()
    }

    fn total(&self, day: NaiveDate) -> Decimal {
        self.per_series(day).into_iter().sum()
    }

    fn paying(&self, day: NaiveDate) -> u64 {
        self.per_series(day).into_iter().filter(|mrr| *mrr > Decimal::ZERO).count() as u64
    }

    /// (day, kind, amount) of every movement, by the table of metrics.md.
    fn movements(&self) -> Vec<(NaiveDate, MovementKind, Decimal)> {
        let (first, last) = history_days();
        let mut found = Vec::new();
        for rows in self.rows.values() {
            let mut previous = Decimal::ZERO;
            let mut paid_before = false;
            let mut day = first;
            while day <= last {
                let current = Self::mrr(rows, day);
                let zero = Decimal::ZERO;
                let kind = if previous == zero && current > zero {
                    Some(if paid_before { MovementKind::Reactivation } else { MovementKind::New })
                } else if previous > zero && current == zero {
                    Some(MovementKind::Churn)
                } else if previous > zero && current > previous {
                    Some(MovementKind::Expansion)
                } else if zero < current && current < previous {
                    Some(MovementKind::Contraction)
                } else {
                    None
                };
                if let Some(kind) = kind {
                    found.push((day, kind, current - previous));
                }
                paid_before |= current > zero;
                previous = current;
                day = plus_days(day, 1);
            }
        }
        found
    }
}

fn kind_sum(
    movements: &[(NaiveDate, MovementKind, Decimal)],
    kind: MovementKind,
    first: NaiveDate,
    last: NaiveDate,
) -> (Decimal, u64) {
    movements
        .iter()
        .filter(|(day, k, _)| *k == kind && first <= *day && *day <= last)
        .fold((Decimal::ZERO, 0), |(sum, count), (_, _, amount)| (sum + amount, count + 1))
}

fn check_reports(series: &[MrrSeries], direct: &Direct, periods: &Periods) -> Result<(), TestCaseError> {
    let movements = direct.movements();
    let reports = period_reports(series, periods);
    prop_assert_eq!(reports.len(), periods.len());
    for report in &reports {
        let (start_day, last) = (report.period.day_before(), report.period.last());
        let first = report.period.first();
        prop_assert_eq!(report.mrr_start.0, direct.total(start_day));
        prop_assert_eq!(report.mrr_end.0, direct.total(last));
        prop_assert_eq!(report.mrr_end, report.mrr_start + report.movements.net());
        let listed: Money =
            series.iter().flat_map(|one| one.movements_between(first, last)).map(|movement| movement.amount).sum();
        prop_assert_eq!(listed, report.mrr_end - report.mrr_start);

        let totals = report.movements;
        for (kind, sum) in [
            (MovementKind::New, totals.new),
            (MovementKind::Reactivation, totals.reactivation),
            (MovementKind::Expansion, totals.expansion),
            (MovementKind::Contraction, totals.contraction),
            (MovementKind::Churn, totals.churn),
        ] {
            prop_assert_eq!((sum.amount.0, sum.count), kind_sum(&movements, kind, first, last));
        }

        prop_assert_eq!(report.customers_start, direct.paying(start_day));
        prop_assert_eq!(report.customers_end, direct.paying(last));
        let starts = direct.per_series(start_day);
        let ends = direct.per_series(last);
        let retained: Vec<(Decimal, Decimal)> =
            starts.into_iter().zip(ends).filter(|(start, _)| *start > Decimal::ZERO).collect();
        let start_sum: Decimal = retained.iter().map(|(start, _)| start).sum();
        let end_sum: Decimal = retained.iter().map(|(_, end)| end).sum();
        let gross_sum: Decimal = retained.iter().map(|(start, end)| *start.min(end)).sum();
        let churned = retained.iter().filter(|(_, end)| end.is_zero()).count() as u64;
        prop_assert_eq!(report.churned_customers, churned);
        let expected_nrr = (!start_sum.is_zero()).then(|| end_sum / start_sum);
        let expected_grr = (!start_sum.is_zero()).then(|| gross_sum / start_sum);
        prop_assert_eq!(report.nrr, expected_nrr);
        prop_assert_eq!(report.grr, expected_grr);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn reports_match_a_day_by_day_evaluation_for_every_period(
        rows in history(),
        periods in periods(),
    ) {
        let series = series_by_account(&rows);
        check_reports(&series, &Direct::new(&rows, false), &periods)?;
    }

    #[test]
    fn reports_on_a_subset_of_accounts_match_for_that_subset(
        rows in history(),
        kept in prop::collection::vec(any::<bool>(), 7),
        periods in periods(),
    ) {
        let filtered: Vec<SubscriptionTerms> = rows
            .into_iter()
            .filter(|terms| kept[terms.account_id.0 as usize])
            .collect();
        let series = series_by_account(&filtered);
        check_reports(&series, &Direct::new(&filtered, false), &periods)?;
    }

    #[test]
    fn product_level_reports_match_per_account_and_product(
        rows in history(),
        periods in periods(),
    ) {
        let series = series_by_account_and_product(&rows);
        check_reports(&series, &Direct::new(&rows, true), &periods)?;
    }

    #[test]
    fn cohort_cells_match_each_cohort_account_on_each_month_end(rows in history()) {
        let from = YearMonth::new(2024, 1).unwrap();
        let through = YearMonth::new(2026, 6).unwrap();
        let series = series_by_account(&rows);
        let direct = Direct::new(&rows, false);
        let first_paying: Vec<Option<YearMonth>> = direct
            .rows
            .values()
            .map(|rows| {
                let (mut day, last) = history_days();
                while day <= last && Direct::mrr(rows, day).is_zero() {
                    day = plus_days(day, 1);
                }
                (day <= last).then(|| YearMonth::of(day))
            })
            .collect();
        for cohort in cohorts(&series, from, through) {
            let members: Vec<usize> = (0..first_paying.len())
                .filter(|&index| first_paying[index] == Some(cohort.month))
                .collect();
            prop_assert_eq!(cohort.accounts, members.len() as u64);
            for cell in &cohort.months {
                let values = direct.per_series(cell.month.last_day());
                let mrr: Decimal = members.iter().map(|&index| values[index]).sum();
                let paying = members.iter().filter(|&&index| values[index] > Decimal::ZERO).count();
                prop_assert_eq!(cell.mrr.0, mrr);
                prop_assert_eq!(cell.paying_accounts, paying as u64);
            }
        }
    }
}
