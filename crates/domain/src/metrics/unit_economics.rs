//! LTV, CAC, CAC payback and LTV/CAC (metrics.md, "Rates").

use super::period::{Interval, Period, Periods, YearMonth};
use super::report::{period_reports, snapshot, PeriodReport};
use super::series::MrrSeries;
use super::{ratio, reported_money};
use crate::money::Money;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;

/// How many full calendar months before a day LTV's churn rate is averaged over.
const LTV_CHURN_MONTHS: i64 = 6;

/// LTV on a day, with the figures it was computed from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LtvEstimate {
    /// The day LTV is estimated on.
    pub day: NaiveDate,
    /// ARPA on `day`.
    #[schema(value_type = Option<String>)]
    #[serde(with = "reported_money::option")]
    pub arpa: Option<Money>,
    /// Mean of the monthly customer churn rates of the 6 calendar months before `day`'s month;
    /// months without a rate (no paying customer at their start) are left out of the mean.
    #[schema(value_type = Option<String>)]
    #[serde(with = "rust_decimal::serde::str_option")]
    pub mean_monthly_customer_churn_rate: Option<Decimal>,
    /// The workspace setting the estimate used.
    #[schema(value_type = String)]
    #[serde(with = "rust_decimal::serde::str")]
    pub gross_margin: Decimal,
    /// ARPA × gross_margin ÷ mean churn rate; `None` when there is no paying account or the
    /// rate is zero or unknown ("not enough churn to estimate").
    #[schema(value_type = Option<String>)]
    #[serde(with = "reported_money::option")]
    pub ltv: Option<Money>,
}

/// LTV of `series` on `day`.
pub fn ltv(series: &[MrrSeries], day: NaiveDate, gross_margin: Decimal) -> LtvEstimate {
    let month = YearMonth::of(day);
    let churn = MonthlyChurn::for_ltv_in(series, &[], [month]);
    estimate(day, snapshot(series, day).arpa, churn.rates_before(month), gross_margin)
}

/// Acquisition economics of one period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AcquisitionReport {
    pub period: Period,
    /// Sales & marketing spend in the period: the monthly amounts, prorated by days for a month
    /// the period covers only in part. `None` unless every month it touches was entered.
    #[schema(value_type = Option<String>)]
    #[serde(with = "reported_money::option")]
    pub sales_marketing_spend: Option<Money>,
    /// Accounts whose first paying day is in the period (reactivations are not acquisitions).
    pub new_accounts: u64,
    #[serde(with = "reported_money")]
    pub new_mrr: Money,
    /// Spend ÷ new accounts.
    #[schema(value_type = Option<String>)]
    #[serde(with = "reported_money::option")]
    pub cac: Option<Money>,
    /// CAC ÷ (new MRR ÷ new accounts × gross margin).
    #[schema(value_type = Option<String>)]
    #[serde(with = "rust_decimal::serde::str_option")]
    pub cac_payback_months: Option<Decimal>,
    /// LTV on the period's last day.
    pub ltv: LtvEstimate,
    #[schema(value_type = Option<String>)]
    #[serde(with = "rust_decimal::serde::str_option")]
    pub ltv_to_cac: Option<Decimal>,
}

/// CAC, CAC payback and LTV/CAC for each report, which must come from [`period_reports`] over
/// the same `series`. `spend` is the sales & marketing spend entered per month.
pub fn acquisition_reports(
    series: &[MrrSeries],
    reports: &[PeriodReport],
    spend: &BTreeMap<YearMonth, Money>,
    gross_margin: Decimal,
) -> Vec<AcquisitionReport> {
    let last_months = reports.iter().map(|r| YearMonth::of(r.period.last()));
    let churn = MonthlyChurn::for_ltv_in(series, reports, last_months);
    reports
        .iter()
        .map(|report| {
            let last = report.period.last();
            let ltv = estimate(last, report.arpa, churn.rates_before(YearMonth::of(last)), gross_margin);
            acquisition(report, spend_in(report.period, spend), ltv, gross_margin)
        })
        .collect()
}

fn acquisition(
    report: &PeriodReport,
    spend: Option<Money>,
    ltv: LtvEstimate,
    gross_margin: Decimal,
) -> AcquisitionReport {
    let new = report.movements.new;
    let new_accounts = Decimal::from(new.count);
    let cac = spend.and_then(|spend| ratio(spend.0, new_accounts));
    let margin_per_new_account = ratio(new.amount.0, new_accounts).map(|mrr| mrr * gross_margin);
    let cac_payback_months = cac.zip(margin_per_new_account).and_then(|(cac, margin)| ratio(cac, margin));
    let ltv_to_cac = ltv.ltv.zip(cac).and_then(|(ltv, cac)| ratio(ltv.0, cac));
    AcquisitionReport {
        period: report.period,
        sales_marketing_spend: spend,
        new_accounts: new.count,
        new_mrr: new.amount,
        cac: cac.map(Money),
        cac_payback_months,
        ltv,
        ltv_to_cac,
    }
}

/// Spend in `period`, prorating a partly covered month by its days; `None` when a month the
/// period touches has no entry, because an unknown spend is not a zero spend.
fn spend_in(period: Period, spend: &BTreeMap<YearMonth, Money>) -> Option<Money> {
    let first_month = YearMonth::of(period.first());
    let last_month = YearMonth::of(period.last());
    let months_touched = first_month.months_until(last_month) + 1;
    let entered = spend.range(first_month..=last_month);
    if i64::try_from(entered.clone().count()).ok() != Some(months_touched) {
        return None;
    }
    let mut total = Decimal::ZERO;
    for (month, amount) in entered {
        let from = period.first().max(month.first_day());
        let to = period.last().min(month.last_day());
        let covered = (to - from).num_days() + 1;
        let days = i64::from(month.days());
        total += if covered == days { amount.0 } else { amount.0 * Decimal::from(covered) / Decimal::from(days) };
    }
    Some(Money(total))
}

/// Customer churn rates of calendar months.
#[derive(Default)]
struct MonthlyChurn(BTreeMap<YearMonth, Option<Decimal>>);

impl MonthlyChurn {
    /// Takes the rates of the reports that are exactly one calendar month, then computes, in one
    /// pass, the months LTV needs on the last days of `months` that are still missing.
    fn for_ltv_in(
        series: &[MrrSeries],
        reports: &[PeriodReport],
        months: impl IntoIterator<Item = YearMonth>,
    ) -> MonthlyChurn {
        let mut churn = MonthlyChurn::default();
        for report in reports {
            let month = YearMonth::of(report.period.first());
            if report.period == month.period() {
                churn.0.insert(month, report.customer_churn_rate);
            }
        }
        let mut missing = months.into_iter().flat_map(months_before).filter(|month| !churn.0.contains_key(month));
        let Some(first_missing) = missing.next() else {
            return churn;
        };
        let (earliest, latest) =
            missing.fold((first_missing, first_missing), |(lo, hi), month| (lo.min(month), hi.max(month)));
        let span = Periods::split(Interval::Month, earliest.first_day(), latest.last_day());
        for report in period_reports(series, &span) {
            churn.0.entry(YearMonth::of(report.period.first())).or_insert(report.customer_churn_rate);
        }
        churn
    }

    /// The known rates of the 6 months before `month`.
    fn rates_before(&self, month: YearMonth) -> Vec<Decimal> {
        months_before(month).filter_map(|earlier| self.0.get(&earlier).copied().flatten()).collect()
    }
}

/// The 6 calendar months before `month`.
fn months_before(month: YearMonth) -> impl Iterator<Item = YearMonth> {
    (1..=LTV_CHURN_MONTHS).filter_map(move |back| month.plus_months(-back))
}

/// LTV = ARPA × margin ÷ (Σ rates ÷ n), computed as ARPA × margin × n ÷ Σ rates so that only
/// one division rounds.
fn estimate(day: NaiveDate, arpa: Option<Money>, churn_rates: Vec<Decimal>, gross_margin: Decimal) -> LtvEstimate {
    let months = Decimal::from(churn_rates.len());
    let churn_sum: Decimal = churn_rates.iter().sum();
    let ltv = arpa.and_then(|arpa| ratio(arpa.0 * gross_margin * months, churn_sum));
    LtvEstimate {
        day,
        arpa,
        mean_monthly_customer_churn_rate: ratio(churn_sum, months),
        gross_margin,
        ltv: ltv.map(Money),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::fixtures::*;
    use crate::metrics::series::series_by_account;
    use crate::subscription::BillingInterval::Month;
    use crate::subscription::SubscriptionTerms;

    /// Ten accounts at 1,000 from December 2024; account 10 leaves in March 2025 and account 11
    /// joins in March, so the monthly churn rates of January–June 2025 are 0, 0, 1/10, 0, 0, 0.
    /// Three accounts join in July at 1,000.
    fn company() -> Vec<SubscriptionTerms> {
        let mut rows: Vec<_> = (1..=9).map(|account| row(account, "S", "2024-12-01", None, Month, 1, 1_000)).collect();
        rows.push(row(10, "S", "2024-12-01", Some("2025-03-10"), Month, 1, 1_000));
        rows.push(row(11, "S", "2025-03-20", None, Month, 1, 1_000));
        for account in 12..=14 {
            rows.push(row(account, "S", "2025-07-05", None, Month, 1, 1_000));
        }
        rows
    }

    fn margin() -> Decimal {
        Decimal::new(8, 1)
    }

    #[test]
    fn ltv_divides_margin_adjusted_arpa_by_the_mean_churn_of_the_six_months_before() {
        let series = series_by_account(&company());
        let estimate = ltv(&series, day("2025-07-01"), margin());
        assert_eq!(estimate.arpa, Some(money(1_000)));
        assert_eq!(estimate.mean_monthly_customer_churn_rate.unwrap().round_dp(6), Decimal::new(16667, 6));
        assert_eq!(estimate.ltv, Some(money(48_000)));
        assert_eq!(ltv(&series, day("2025-07-31"), margin()).ltv, Some(money(48_000)));
    }

    #[test]
    fn ltv_is_none_without_churn_in_the_six_months_before() {
        let series = series_by_account(&company());
        let estimate = ltv(&series, day("2025-03-31"), margin());
        assert_eq!(estimate.mean_monthly_customer_churn_rate, rate("0"));
        assert_eq!(estimate.ltv, None);
        assert_eq!(ltv(&[], day("2025-03-31"), margin()).ltv, None);
    }

    #[test]
    fn cac_payback_and_ltv_to_cac_use_the_period_spend_and_new_accounts() {
        let series = series_by_account(&company());
        let july = Periods::single("2025-07".parse::<YearMonth>().unwrap().period());
        let reports = period_reports(&series, &july);
        let spend = BTreeMap::from([("2025-07".parse().unwrap(), money(300_000))]);
        let acquisition = &acquisition_reports(&series, &reports, &spend, margin())[0];
        assert_eq!(acquisition.new_accounts, 3);
        assert_eq!(acquisition.new_mrr, money(3_000));
        assert_eq!(acquisition.cac, Some(money(100_000)));
        assert_eq!(acquisition.cac_payback_months, rate("125"));
        assert_eq!(acquisition.ltv.ltv, Some(money(48_000)));
        assert_eq!(acquisition.ltv_to_cac, rate("0.48"));
    }

    #[test]
    fn cac_is_none_without_new_accounts_or_without_entered_spend() {
        let series = series_by_account(&company());
        let periods = Periods::split(Interval::Month, day("2025-05-01"), day("2025-07-31"));
        let reports = period_reports(&series, &periods);
        let spend = BTreeMap::from([("2025-05".parse().unwrap(), money(50_000))]);
        let acquisitions = acquisition_reports(&series, &reports, &spend, margin());
        assert_eq!(acquisitions[0].sales_marketing_spend, Some(money(50_000)));
        assert_eq!(acquisitions[0].cac, None);
        assert_eq!(acquisitions[0].cac_payback_months, None);
        assert_eq!(acquisitions[2].sales_marketing_spend, None);
        assert_eq!(acquisitions[2].cac, None);
        assert_eq!(acquisitions[2].ltv_to_cac, None);
        for acquisition in &acquisitions {
            let day = acquisition.period.last();
            assert_eq!(acquisition.ltv, ltv(&series, day, margin()));
        }
    }

    #[test]
    fn spend_of_a_partly_covered_month_is_prorated_by_days() {
        let spend =
            BTreeMap::from([("2025-06".parse().unwrap(), money(30_000)), ("2025-07".parse().unwrap(), money(31_000))]);
        let week = Period::new(day("2025-06-30"), day("2025-07-06")).unwrap();
        assert_eq!(spend_in(week, &spend), Some(money(7_000)));
        let quarter = Period::new(day("2025-05-01"), day("2025-07-31")).unwrap();
        assert_eq!(spend_in(quarter, &spend), None);
    }
}
