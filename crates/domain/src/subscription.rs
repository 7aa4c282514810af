//! Subscriptions as dated periods, and the figures derived from them: MRR, ARR, first paying
//! day, next renewal date and the day the account churned (definitions in
//! `shared/spec/metrics.md`).

use crate::account::CustomFields;
use crate::fields::{FieldReader, Fields};
use crate::i18n::{Lang, Text};
use crate::ids::{required_text, AccountId, ExternalId, SubscriptionPeriodId};
use crate::interchange::parse_date;
use crate::money::{parse_decimal, Currency, Money};
use crate::validation::FieldError;
use crate::validation::Reason;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

// The longest value (in characters) of each free-text field of a subscription period, checked
// by the JSON API and subscriptions.csv alike.
pub const MAX_PRODUCT: usize = 100;
pub const MAX_PLAN: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BillingInterval {
    Month,
    Quarter,
    HalfYear,
    Year,
}

impl BillingInterval {
    pub const ALL: [BillingInterval; 4] = [Self::Month, Self::Quarter, Self::HalfYear, Self::Year];

    pub fn months(self) -> u32 {
        match self {
            Self::Month => 1,
            Self::Quarter => 3,
            Self::HalfYear => 6,
            Self::Year => 12,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Month => "month",
            Self::Quarter => "quarter",
            Self::HalfYear => "half_year",
            Self::Year => "year",
        }
    }

    /// 「月次」 / "Monthly".
    pub fn name(self, lang: Lang) -> &'static str {
        match self {
            Self::Month => Text::new("月次", "Monthly"),
            Self::Quarter => Text::new("四半期", "Quarterly"),
            Self::HalfYear => Text::new("半年", "Half-yearly"),
            Self::Year => Text::new("年次", "Yearly"),
        }
        .pick(lang)
    }

    pub fn parse(raw: &str) -> Result<BillingInterval, Reason> {
        let wanted = raw.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|i| i.as_str() == wanted)
            .ok_or_else(|| Reason::NotOneOf { allowed: Self::ALL.iter().map(|i| i.as_str().to_owned()).collect() })
    }
}

/// The terms of one subscription period: what the customer pays for, from when to when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SubscriptionTerms {
    /// The source system's id; several periods with one id are one subscription changing.
    pub subscription_id: ExternalId,
    pub account_id: AccountId,
    pub product: String,
    pub plan: Option<String>,
    /// First day of service at these terms.
    pub start_date: NaiveDate,
    /// First day without service at these terms (exclusive); `None` = ongoing.
    pub end_date: Option<NaiveDate>,
    pub billing_interval: BillingInterval,
    pub interval_count: u32,
    pub quantity: i64,
    pub unit_price: Money,
    #[schema(value_type = String, example = "10")]
    #[serde(with = "rust_decimal::serde::str")]
    pub discount_percent: Decimal,
    pub currency: Currency,
    pub custom: CustomFields,
    /// The committed term in months: renewals fall at its ends, counted from the subscription's
    /// first start. Absent: the billing term for quarterly or longer billing, and no renewal at
    /// all for month-to-month billing.
    #[serde(default)]
    pub commitment_months: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SubscriptionPeriod {
    pub id: SubscriptionPeriodId,
    #[serde(flatten)]
    pub terms: SubscriptionTerms,
}

impl SubscriptionTerms {
    /// Months in one billing term (interval × count).
    pub fn term_months(&self) -> u32 {
        self.billing_interval.months() * self.interval_count.max(1)
    }

    /// The months between renewals: the committed term, else the billing term unless the
    /// subscription is billed monthly (month-to-month contracts have no renewal to prepare
    /// unless the workspace says they renew monthly, `monthly_renews`).
    pub fn renewal_months(&self, monthly_renews: bool) -> Option<u32> {
        match self.commitment_months {
            Some(months) => Some(months),
            None if self.term_months() == 1 && !monthly_renews => None,
            None => Some(self.term_months()),
        }
    }

    /// quantity × unit_price × (1 − discount/100) ÷ months in (interval × count), exactly.
    ///
    /// Computed as quantity × unit_price × (100 − discount) ÷ (100 × months): one division, so
    /// a repeating result is rounded once (and the metrics engine divides once per row).
    pub fn mrr(&self) -> Money {
        let gross = Decimal::from(self.quantity) * self.unit_price.0;
        let net_hundredfold = gross * (Decimal::ONE_HUNDRED - self.discount_percent);
        let divisor = Decimal::ONE_HUNDRED * Decimal::from(self.term_months());
        Money(net_hundredfold / divisor)
    }

    pub fn covers(&self, day: NaiveDate) -> bool {
        self.start_date <= day && self.end_date.is_none_or(|end| day < end)
    }

    pub fn mrr_on(&self, day: NaiveDate) -> Money {
        if self.covers(day) {
            self.mrr()
        } else {
            Money::ZERO
        }
    }

    /// Checks what a single period must satisfy on its own.
    pub fn check(&self, workspace_currency: &Currency) -> Vec<(&'static str, Reason)> {
        let mut problems = Vec::new();
        if let Some(end) = self.end_date {
            if end <= self.start_date {
                problems.push(("end_date", Reason::EndNotAfterStart));
            }
        }
        if self.interval_count == 0 {
            problems.push(("interval_count", Reason::OutOfRange { min: "1".into(), max: "120".into() }));
        }
        if self.quantity < 0 {
            problems.push(("quantity", Reason::Negative));
        }
        if self.discount_percent < Decimal::ZERO || self.discount_percent > Decimal::ONE_HUNDRED {
            problems.push(("discount_percent", Reason::OutOfRange { min: "0".into(), max: "100".into() }));
        }
        if &self.currency != workspace_currency {
            problems.push(("currency", Reason::CurrencyMismatch { expected: workspace_currency.to_string() }));
        }
        problems
    }

    pub fn overlaps(&self, other: &SubscriptionTerms) -> bool {
        let self_before_other = self.end_date.is_some_and(|end| end <= other.start_date);
        let other_before_self = other.end_date.is_some_and(|end| end <= self.start_date);
        !(self_before_other || other_before_self)
    }
}

/// Finds, per subscription, pairs of periods that overlap in time: (index, index of the other).
pub fn overlapping_periods(periods: &[&SubscriptionTerms]) -> Vec<(usize, usize)> {
    let mut by_subscription: BTreeMap<&ExternalId, Vec<usize>> = BTreeMap::new();
    for (index, period) in periods.iter().enumerate() {
        by_subscription.entry(&period.subscription_id).or_default().push(index);
    }
    let mut overlaps = Vec::new();
    for indexes in by_subscription.values() {
        let mut sorted = indexes.clone();
        sorted.sort_by_key(|&i| periods[i].start_date);
        for pair in sorted.windows(2) {
            let (earlier, later) = (pair[0], pair[1]);
            if periods[earlier].overlaps(periods[later]) {
                overlaps.push((later, earlier));
            }
        }
    }
    overlaps
}

/// What an account's subscriptions say about it on a given day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
pub struct AccountFigures {
    /// MRR on the day, rounded to 2 decimals as reported.
    pub mrr: Money,
    /// 12 × MRR, rounded to 2 decimals as reported.
    pub arr: Money,
    pub first_paying_day: Option<NaiveDate>,
    pub next_renewal_date: Option<NaiveDate>,
    /// When the account has churned (it paid before and pays nothing on the day): the day its
    /// MRR fell to zero, the end of its last paying period.
    #[serde(default)]
    pub churned_on: Option<NaiveDate>,
}

impl AccountFigures {
    /// `monthly_renews`: the workspace counts month-to-month contracts as renewing monthly.
    pub fn compute(periods: &[&SubscriptionTerms], today: NaiveDate, monthly_renews: bool) -> AccountFigures {
        let mrr: Money = periods.iter().map(|p| p.mrr_on(today)).sum();
        AccountFigures {
            mrr: Money(mrr.reported()),
            arr: Money(Money(mrr.0 * Decimal::from(12)).reported()),
            first_paying_day: first_paying_day(periods),
            next_renewal_date: crate::renewals::next_renewal_date(periods, today, monthly_renews),
            churned_on: churned_on(periods, today),
        }
    }

    /// A churned account is out of every risk view: it has no health grade.
    pub fn is_churned(&self) -> bool {
        self.churned_on.is_some()
    }
}

fn mrr_on(periods: &[&SubscriptionTerms], day: NaiveDate) -> Decimal {
    periods.iter().map(|p| p.mrr_on(day)).sum::<Money>().0
}

/// Every day on which the account's MRR fell to zero (the metrics' churn movement: MRR of the day
/// before > 0, MRR of the day = 0), oldest first. MRR only falls to zero where a period ends.
pub fn churn_days(periods: &[&SubscriptionTerms]) -> Vec<NaiveDate> {
    let mut ends: Vec<NaiveDate> = periods.iter().filter_map(|p| p.end_date).collect();
    ends.sort();
    ends.dedup();
    ends.into_iter()
        .filter(|end| {
            mrr_on(periods, *end).is_zero()
                && end.pred_opt().is_some_and(|before| mrr_on(periods, before) > Decimal::ZERO)
        })
        .collect()
}

/// **The** definition of a churned account, used by every view: on `today` the account is
/// churned when it paid before (its MRR was > 0 on some earlier day) and its MRR is zero now.
/// Returns the day its MRR last fell to zero — the end of its last paying period — or `None`
/// for a paying account, or one that never paid (a trial, or a first period still to come).
/// An account that pays again (reactivation) is no longer churned.
pub fn churned_on(periods: &[&SubscriptionTerms], today: NaiveDate) -> Option<NaiveDate> {
    if !mrr_on(periods, today).is_zero() {
        return None;
    }
    churn_days(periods).into_iter().rfind(|day| *day <= today)
}

/// An account's MRR only changes on a period's start or end, so the first start date with a
/// positive total is the first paying day.
fn first_paying_day(periods: &[&SubscriptionTerms]) -> Option<NaiveDate> {
    let mut starts: Vec<NaiveDate> = periods.iter().map(|p| p.start_date).collect();
    starts.sort();
    starts.dedup();
    starts.into_iter().find(|&day| mrr_on(periods, day) > Decimal::ZERO)
}

/// What a subscription period's record says about the contract, read alike from the API's JSON
/// and from subscriptions.csv; the account (Kizuna's id or the source's) and the currency (checked
/// against the workspace's apart) are read by each.
pub struct SubscriptionDetails {
    pub product: String,
    pub plan: Option<String>,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub billing_interval: BillingInterval,
    pub interval_count: u32,
    pub quantity: i64,
    pub unit_price: Money,
    pub discount_percent: Decimal,
    pub commitment_months: Option<u32>,
    pub custom: CustomFields,
}

impl SubscriptionDetails {
    /// Reads every field before giving up, so each bad one is reported; a committed term shorter
    /// than the billing term and an end not after the start are refused with the rest.
    pub fn read(r: &mut impl FieldReader) -> Option<SubscriptionDetails> {
        let product = r.required("product", |raw| required_text(Some(raw), MAX_PRODUCT).map(|p| p.to_lowercase()));
        let plan = r.text("plan", MAX_PLAN);
        let start_date = r.required("start_date", parse_date);
        let end_date = r.date("end_date");
        let billing_interval = r.required("billing_interval", BillingInterval::parse);
        let interval_count = r.parsed("interval_count", parse_interval_count);
        let quantity = r.required("quantity", parse_quantity);
        let unit_price = r.required("unit_price", Money::parse_non_negative);
        let discount_percent = r.parsed("discount_percent", parse_discount_percent);
        let commitment_months = r.parsed("commitment_months", parse_commitment_months);
        if let (Some(interval), Some(count), Some(Some(months))) = (billing_interval, interval_count, commitment_months)
        {
            let billing_months = interval.months() * count.unwrap_or(1);
            if months < billing_months {
                r.push("commitment_months", Reason::ShorterThanBilling { billing_months });
            }
        }
        let custom = r.custom("custom");
        if let (Some(start), Some(Some(end))) = (start_date, end_date) {
            if end <= start {
                r.push("end_date", Reason::EndNotAfterStart);
            }
        }
        Some(SubscriptionDetails {
            product: product?,
            plan: plan?,
            start_date: start_date?,
            end_date: end_date?,
            billing_interval: billing_interval?,
            interval_count: interval_count?.unwrap_or(1),
            quantity: quantity?,
            unit_price: unit_price?,
            discount_percent: discount_percent?.unwrap_or(Decimal::ZERO),
            commitment_months: commitment_months?,
            custom: custom?,
        })
    }
}

/// A committed term: 1 to 120 months.
pub fn parse_commitment_months(raw: &str) -> Result<u32, Reason> {
    parse_interval_count(raw)
}

pub fn parse_interval_count(raw: &str) -> Result<u32, Reason> {
    let count: u32 = raw.trim().parse().map_err(|_| Reason::InvalidInteger)?;
    if (1..=120).contains(&count) {
        Ok(count)
    } else {
        Err(Reason::OutOfRange { min: "1".into(), max: "120".into() })
    }
}

pub fn parse_quantity(raw: &str) -> Result<i64, Reason> {
    let cleaned: String = raw.trim().chars().filter(|c| *c != ',').collect();
    let quantity: i64 = cleaned.parse().map_err(|_| Reason::InvalidInteger)?;
    if quantity < 0 {
        return Err(Reason::Negative);
    }
    Ok(quantity)
}

pub fn parse_discount_percent(raw: &str) -> Result<Decimal, Reason> {
    let value = parse_decimal(raw)?;
    if value < Decimal::ZERO || value > Decimal::ONE_HUNDRED {
        return Err(Reason::OutOfRange { min: "0".into(), max: "100".into() });
    }
    Ok(value.normalize())
}

impl SubscriptionTerms {
    /// The fields the API takes.
    pub const FIELDS: &[&str] = &[
        "subscription_id",
        "account_id",
        "product",
        "plan",
        "start_date",
        "end_date",
        "billing_interval",
        "interval_count",
        "quantity",
        "unit_price",
        "discount_percent",
        "currency",
        "custom",
        "commitment_months",
    ];

    /// Reads the API's JSON: every bad field is named at once.
    pub fn from_json(value: Value) -> Result<SubscriptionTerms, Vec<FieldError>> {
        let mut f = Fields::new(value, Self::FIELDS)?;
        let subscription_id = f.required("subscription_id", ExternalId::parse);
        let account_id = f.id("account_id").map(|id| id.ok_or(Reason::Required));
        let account_id = account_id.and_then(|r| f.errors.check("account_id", r));
        let details = SubscriptionDetails::read(&mut f);
        let currency = f.required("currency", Currency::parse);
        f.errors.finish(|| {
            let details = details?;
            Some(SubscriptionTerms {
                subscription_id: subscription_id?,
                account_id: AccountId(account_id?),
                product: details.product,
                plan: details.plan,
                start_date: details.start_date,
                end_date: details.end_date,
                billing_interval: details.billing_interval,
                interval_count: details.interval_count,
                quantity: details.quantity,
                unit_price: details.unit_price,
                discount_percent: details.discount_percent,
                currency: currency?,
                custom: details.custom,
                commitment_months: details.commitment_months,
            })
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn period(
        id: &str,
        start: &str,
        end: Option<&str>,
        interval: BillingInterval,
        qty: i64,
        price: i64,
    ) -> SubscriptionTerms {
        SubscriptionTerms {
            subscription_id: ExternalId::parse(id).unwrap(),
            account_id: AccountId(1),
            product: "core".into(),
            plan: None,
            start_date: start.parse().unwrap(),
            end_date: end.map(|e| e.parse().unwrap()),
            billing_interval: interval,
            interval_count: 1,
            quantity: qty,
            unit_price: Money(Decimal::from(price)),
            discount_percent: Decimal::ZERO,
            currency: Currency::jpy(),
            custom: CustomFields::new(),
            commitment_months: None,
        }
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn annual_plan_mrr_is_a_twelfth_with_two_year_count_a_twenty_fourth() {
        let mut annual = period("S1", "2025-01-01", None, BillingInterval::Year, 10, 1000);
        assert_eq!(annual.mrr().reported(), Decimal::new(83333, 2));
        annual.interval_count = 2;
        assert_eq!(annual.mrr().reported(), Decimal::new(41667, 2));
    }

    #[test]
    fn discount_reduces_mrr_and_full_discount_is_not_paying() {
        let mut p = period("S1", "2025-01-01", None, BillingInterval::Month, 2, 1000);
        p.discount_percent = Decimal::from(25);
        assert_eq!(p.mrr().0, Decimal::from(1500));
        p.discount_percent = Decimal::ONE_HUNDRED;
        let figures = AccountFigures::compute(&[&p], day("2025-02-01"), false);
        assert_eq!(figures.mrr, Money::ZERO);
        assert_eq!(figures.first_paying_day, None);
        assert_eq!(figures.next_renewal_date, None);
    }

    #[test]
    fn end_date_is_exclusive() {
        let p = period("S1", "2025-01-01", Some("2025-02-01"), BillingInterval::Month, 1, 1000);
        assert_eq!(p.mrr_on(day("2025-01-31")).0, Decimal::from(1000));
        assert_eq!(p.mrr_on(day("2025-02-01")), Money::ZERO);
    }

    #[test]
    fn zero_price_trial_then_paid_makes_first_paying_day_the_conversion() {
        let trial = period("S1", "2025-01-01", Some("2025-01-15"), BillingInterval::Month, 5, 0);
        let paid = period("S1", "2025-01-15", None, BillingInterval::Month, 5, 1000);
        let figures = AccountFigures::compute(&[&trial, &paid], day("2025-03-10"), false);
        assert_eq!(figures.first_paying_day, Some(day("2025-01-15")));
        assert_eq!(figures.arr.0, Decimal::from(60000));
    }

    #[test]
    fn an_account_is_churned_from_the_day_its_mrr_fell_to_zero_after_it_paid() {
        let trial = period("S1", "2025-01-01", Some("2025-02-01"), BillingInterval::Month, 5, 0);
        let paid = period("S1", "2025-02-01", Some("2025-06-01"), BillingInterval::Month, 5, 1000);
        let both = [&trial, &paid];
        // A trial alone is not churn: the account never paid.
        assert_eq!(churned_on(&[&trial], day("2025-03-01")), None);
        assert_eq!(churned_on(&both, day("2025-01-15")), None, "before it paid");
        assert_eq!(churned_on(&both, day("2025-05-31")), None, "paying");
        assert_eq!(churned_on(&both, day("2025-06-01")), Some(day("2025-06-01")), "the period's end is exclusive");
        let figures = AccountFigures::compute(&both, day("2025-09-01"), false);
        assert_eq!((figures.mrr, figures.churned_on), (Money::ZERO, Some(day("2025-06-01"))));
        assert!(figures.is_churned());
        // A first period still to come is not churn either.
        let future = period("S2", "2025-10-01", None, BillingInterval::Month, 1, 1000);
        assert_eq!(churned_on(&[&future], day("2025-09-01")), None);
    }

    #[test]
    fn churn_is_the_last_fall_to_zero_and_reactivation_ends_it() {
        let first = period("S1", "2024-01-01", Some("2024-04-01"), BillingInterval::Month, 1, 1000);
        // Another subscription ends later: MRR only falls to zero when the last one ends.
        let overlapping = period("S2", "2024-03-01", Some("2024-05-01"), BillingInterval::Month, 1, 500);
        let back = period("S3", "2025-01-01", Some("2025-03-01"), BillingInterval::Month, 1, 2000);
        let all = [&first, &overlapping, &back];
        assert_eq!(churn_days(&all), vec![day("2024-05-01"), day("2025-03-01")]);
        assert_eq!(churned_on(&all, day("2024-12-31")), Some(day("2024-05-01")));
        assert_eq!(churned_on(&all, day("2025-02-01")), None, "reactivated");
        assert_eq!(churned_on(&all, day("2025-03-01")), Some(day("2025-03-01")));
    }

    #[test]
    fn renewal_is_counted_from_the_subscription_first_start_despite_mid_term_upgrade() {
        let first = period("S1", "2024-04-01", Some("2024-10-01"), BillingInterval::Year, 10, 12000);
        let upgraded = period("S1", "2024-10-01", None, BillingInterval::Year, 20, 12000);
        let figures = AccountFigures::compute(&[&first, &upgraded], day("2025-02-01"), false);
        assert_eq!(figures.next_renewal_date, Some(day("2025-04-01")));
        let on_boundary = AccountFigures::compute(&[&first, &upgraded], day("2025-04-01"), false);
        assert_eq!(on_boundary.next_renewal_date, Some(day("2026-04-01")));
    }

    #[test]
    fn a_monthly_bill_renews_only_when_a_longer_term_was_committed() {
        let mut monthly = period("S1", "2025-06-15", None, BillingInterval::Month, 10, 1000);
        let today = day("2026-02-01");
        assert_eq!(AccountFigures::compute(&[&monthly], today, false).next_renewal_date, None, "month to month");
        monthly.commitment_months = Some(12);
        assert_eq!(AccountFigures::compute(&[&monthly], today, false).next_renewal_date, Some(day("2026-06-15")));
        let annual = period("S2", "2025-06-15", None, BillingInterval::Year, 10, 12000);
        assert_eq!(annual.renewal_months(false), Some(12), "yearly billing renews with its term by default");
    }

    #[test]
    fn json_and_csv_read_a_subscription_alike_and_refuse_a_term_shorter_than_billing() {
        use crate::fields::Fields;
        use crate::interchange::table::{Columns, FileErrors, RowFields, Table};
        let json = serde_json::json!({"product": "Payroll", "start_date": "2025-06-15", "billing_interval": "year",
            "quantity": "10", "unit_price": "12000", "commitment_months": "6", "plan": "p".repeat(MAX_PLAN + 1)});
        let mut fields = Fields::new(
            json,
            &["product", "start_date", "billing_interval", "quantity", "unit_price", "commitment_months", "plan"],
        )
        .unwrap();
        assert!(SubscriptionDetails::read(&mut fields).is_none());
        let from_json: Vec<(String, Reason)> =
            fields.errors.into_vec().into_iter().map(|e| (e.field, e.reason)).collect();
        let columns = Columns {
            required: &["product", "start_date", "billing_interval", "quantity", "unit_price"],
            optional: &["commitment_months", "plan"],
        };
        let text = format!("product,start_date,billing_interval,quantity,unit_price,commitment_months,plan\nPayroll,2025-06-15,year,10,12000,6,{}\n", "p".repeat(MAX_PLAN + 1));
        let table = Table::parse(&text, &columns).unwrap();
        let mut errors = FileErrors::new();
        let row = table.rows().next().unwrap();
        assert!(SubscriptionDetails::read(&mut RowFields::new(&row, &mut errors)).is_none());
        let from_csv: Vec<(String, Reason)> = errors.into_rows().into_iter().map(|e| (e.column, e.reason)).collect();
        assert_eq!(from_json, from_csv);
        assert_eq!(
            from_csv,
            [
                ("plan".to_owned(), Reason::TooLong { max: MAX_PLAN }),
                ("commitment_months".to_owned(), Reason::ShorterThanBilling { billing_months: 12 }),
            ]
        );
    }

    #[test]
    fn overlapping_periods_of_one_subscription_are_found_but_other_subscriptions_may_overlap() {
        let a = period("S1", "2025-01-01", Some("2025-03-01"), BillingInterval::Month, 1, 1);
        let b = period("S1", "2025-02-01", None, BillingInterval::Month, 1, 1);
        let c = period("S2", "2025-01-01", None, BillingInterval::Month, 1, 1);
        let d = period("S1", "2025-03-01", None, BillingInterval::Month, 1, 1);
        assert_eq!(overlapping_periods(&[&a, &b, &c]), vec![(1, 0)]);
        assert!(overlapping_periods(&[&a, &d, &c]).is_empty());
    }
}
