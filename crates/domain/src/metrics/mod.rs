//! The SaaS metrics engine: pure functions from subscription periods to the figures defined in
//! `shared/spec/metrics.md`.
//!
//! The caller chooses the accounts (a filter by tier, owner, … is just a choice of whose
//! periods to pass) and builds their daily MRR once with [`series_by_account`] or, for
//! product-level views, [`series_by_account_and_product`]. Every report then scans the MRR
//! change points, never the days:
//! - [`period_reports`]: MRR, ARR, movements, customers and rates per period;
//! - [`snapshot`]: MRR, paying accounts and ARPA on a day;
//! - [`ltv`] and [`acquisition_reports`]: LTV, CAC, CAC payback and LTV/CAC;
//! - [`cohorts`]: logo and revenue retention by the month of the first paying day.
//!
//! Days are calendar days in the workspace time zone; converting instants to days is the
//! caller's job.

mod cohort;
mod period;
mod report;
mod series;
mod unit_economics;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod properties;

pub use cohort::{cohorts, Cohort, CohortMonth};
pub use period::{
    trailing_twelve_months, FiscalYearStart, Interval, Period, Periods, UnorderedPeriods, YearMonth, MAX_PERIODS,
};
pub use report::{
    annualized, period_reports, snapshot, trailing_twelve_month_report, MovementSum, MovementTotals, PeriodReport,
    Snapshot,
};
pub use series::{
    row_mrr, series_by_account, series_by_account_and_product, Movement, MovementKind, MrrChange, MrrSeries,
    MRR_DECIMALS,
};
pub use unit_economics::{acquisition_reports, ltv, AcquisitionReport, LtvEstimate};

use rust_decimal::Decimal;

/// `numerator ÷ denominator`, or `None` when the denominator is zero (metrics.md: "Any rate
/// whose denominator is 0 is null").
fn ratio(numerator: Decimal, denominator: Decimal) -> Option<Decimal> {
    if denominator.is_zero() {
        None
    } else {
        numerator.checked_div(denominator)
    }
}

/// Serializes money as reported: rounded half away from zero to 2 decimals (metrics.md, "MRR").
/// Report structs keep the exact amounts so that figures derived from them stay exact.
mod reported_money {
    use crate::money::Money;
    use serde::Serializer;

    pub fn serialize<S: Serializer>(money: &Money, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&money.reported())
    }

    pub mod option {
        use crate::money::Money;
        use serde::Serializer;

        pub fn serialize<S: Serializer>(money: &Option<Money>, serializer: S) -> Result<S::Ok, S::Error> {
            match money {
                Some(money) => serializer.collect_str(&money.reported()),
                None => serializer.serialize_none(),
            }
        }
    }
}
