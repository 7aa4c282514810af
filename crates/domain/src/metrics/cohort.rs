//! Cohort retention tables (metrics.md, "Cohorts").

use super::period::YearMonth;
use super::series::{paying_change, MrrSeries};
use super::{ratio, reported_money};
use crate::money::Money;
use rust_decimal::Decimal;
use serde::Serialize;

/// The accounts whose first paying day falls in `month`, followed month by month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Cohort {
    /// The cohort month C.
    pub month: YearMonth,
    /// Accounts whose first paying day is in C.
    pub accounts: u64,
    /// k = 0 (the cohort month) up to the last month asked for.
    pub months: Vec<CohortMonth>,
}

/// A cohort on the last day of month C + k.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CohortMonth {
    /// Months after the cohort month.
    pub k: u32,
    /// The month C + k.
    pub month: YearMonth,
    /// Cohort accounts paying on the month's last day.
    pub paying_accounts: u64,
    /// Their MRR on that day.
    #[serde(with = "reported_money")]
    pub mrr: Money,
    /// paying_accounts ÷ accounts of the cohort.
    #[schema(value_type = Option<String>)]
    #[serde(with = "rust_decimal::serde::str_option")]
    pub logo_retention: Option<Decimal>,
    /// mrr ÷ the cohort's MRR on the last day of its own month (k = 0).
    #[schema(value_type = Option<String>)]
    #[serde(with = "rust_decimal::serde::str_option")]
    pub revenue_retention: Option<Decimal>,
}

/// Retention of the cohorts of months `from..=through`, each followed up to `through`.
///
/// Each account only adds its own movements to its cohort's month-by-month changes; the table
/// is their running sum, so the cost does not grow with accounts × months.
pub fn cohorts(series: &[MrrSeries], from: YearMonth, through: YearMonth) -> Vec<Cohort> {
    let Ok(count) = usize::try_from(from.months_until(through) + 1) else {
        return Vec::new();
    };
    let mut changes: Vec<CohortChanges> = (0..count)
        .map(|index| CohortChanges { accounts: 0, by_month: vec![MonthChange::default(); count - index] })
        .collect();

    for one in series {
        let Some(first_paying_day) = one.first_paying_day() else {
            continue;
        };
        let cohort_month = YearMonth::of(first_paying_day);
        let Some(cohort) =
            usize::try_from(from.months_until(cohort_month)).ok().and_then(|index| changes.get_mut(index))
        else {
            continue;
        };
        cohort.accounts += 1;
        for (index, change) in one.changes().iter().enumerate() {
            let Some(month_change) = usize::try_from(cohort_month.months_until(YearMonth::of(change.day)))
                .ok()
                .and_then(|k| cohort.by_month.get_mut(k))
            else {
                break;
            };
            let before = one.mrr_before_change(index).0;
            let after = change.mrr.0;
            month_change.mrr += after - before;
            month_change.paying += paying_change(before, after);
        }
    }

    changes
        .into_iter()
        .enumerate()
        .filter_map(|(index, cohort)| {
            let month = from.plus_months(i64::try_from(index).ok()?)?;
            Some(cohort.table(month))
        })
        .collect()
}

#[derive(Debug, Clone, Copy, Default)]
struct MonthChange {
    mrr: Decimal,
    paying: i64,
}

struct CohortChanges {
    accounts: u64,
    by_month: Vec<MonthChange>,
}

impl CohortChanges {
    fn table(self, cohort_month: YearMonth) -> Cohort {
        let mut mrr = Decimal::ZERO;
        let mut paying = 0i64;
        let mut mrr_in_cohort_month = Decimal::ZERO;
        let accounts = self.accounts;
        let months = self
            .by_month
            .into_iter()
            .zip(0u32..)
            .filter_map(|(change, k)| {
                mrr += change.mrr;
                paying += change.paying;
                if k == 0 {
                    mrr_in_cohort_month = mrr;
                }
                let paying_accounts = u64::try_from(paying).unwrap_or(0);
                Some(CohortMonth {
                    k,
                    month: cohort_month.plus_months(k.into())?,
                    paying_accounts,
                    mrr: Money(mrr),
                    logo_retention: ratio(Decimal::from(paying_accounts), Decimal::from(accounts)),
                    revenue_retention: ratio(mrr, mrr_in_cohort_month),
                })
            })
            .collect();
        Cohort { month: cohort_month, accounts, months }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::fixtures::*;
    use crate::metrics::series::series_by_account;
    use crate::subscription::BillingInterval::{Month, Year};

    fn month(text: &str) -> YearMonth {
        text.parse().unwrap()
    }

    #[test]
    fn cohort_retention_follows_first_paying_month_accounts_to_each_month_end() {
        let rows = [
            row(1, "A", "2025-01-05", None, Month, 1, 1_000),
            row(1, "A+", "2025-02-10", None, Month, 1, 500),
            row(2, "B", "2025-01-20", Some("2025-03-01"), Month, 1, 1_000),
            row(3, "T", "2024-12-20", Some("2025-01-10"), Month, 1, 0),
            row(3, "T", "2025-01-10", Some("2025-01-25"), Month, 1, 400),
            row(4, "D", "2025-02-01", None, Year, 1, 12_000),
        ];
        let series = series_by_account(&rows);
        let table = cohorts(&series, month("2025-01"), month("2025-03"));
        assert_eq!(table.len(), 3);

        let january = &table[0];
        assert_eq!(january.accounts, 3);
        let cells: Vec<_> = january
            .months
            .iter()
            .map(|m| (m.k, m.paying_accounts, m.mrr, m.logo_retention, m.revenue_retention))
            .collect();
        assert_eq!(
            cells,
            vec![
                (0, 2, money(2_000), rate("0.6666666666666666666666666667"), rate("1")),
                (1, 2, money(2_500), rate("0.6666666666666666666666666667"), rate("1.25")),
                (2, 1, money(1_500), rate("0.3333333333333333333333333333"), rate("0.75")),
            ]
        );

        let february = &table[1];
        assert_eq!(february.accounts, 1);
        assert_eq!(february.months.len(), 2);
        assert_eq!(february.months[1].revenue_retention, rate("1"));

        let march = &table[2];
        assert_eq!(march.accounts, 0);
        assert_eq!(march.months[0].logo_retention, None);
        assert_eq!(march.months[0].revenue_retention, None);
    }

    #[test]
    fn cohort_month_with_all_accounts_gone_by_its_end_has_no_revenue_retention() {
        let rows = [row(1, "A", "2025-01-05", Some("2025-01-20"), Month, 1, 1_000)];
        let table = cohorts(&series_by_account(&rows), month("2025-01"), month("2025-02"));
        assert_eq!(table[0].accounts, 1);
        assert_eq!(table[0].months[0].logo_retention, rate("0"));
        assert_eq!(table[0].months[1].revenue_retention, None);
    }

    #[test]
    fn accounts_of_earlier_cohorts_are_left_out() {
        let rows = [row(1, "A", "2024-12-31", None, Month, 1, 1_000)];
        let table = cohorts(&series_by_account(&rows), month("2025-01"), month("2025-01"));
        assert_eq!(table[0].accounts, 0);
        assert_eq!(table[0].months[0].mrr, money(0));
    }
}
