//! Renewals: the ends of committed terms, what the CSM expects of each (forecast category) and
//! how each ended (outcome). Dates and amounts come from the subscription periods; the CSM's
//! call and confirmed outcome are stored beside them, keyed by account and renewal date, so an
//! edit to a subscription never loses what a CSM wrote.

pub mod churn;

use crate::fields::FieldReader;
use crate::ids::AccountId;
use crate::money::Money;
use crate::subscription::SubscriptionTerms;
use crate::validation::Reason;
use chrono::{Months, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The longest forecast or outcome note.
pub const MAX_NOTE: usize = 2_000;

coded! {
    /// The CSM's call on a renewal, as in a sales forecast.
    ForecastCategory {
        Commit = "commit", "確約", "Commit";
        Likely = "likely", "見込み", "Likely";
        AtRisk = "at_risk", "リスク", "At risk";
        Lost = "lost", "失注", "Lost";
    }
}

coded! {
    /// How a renewal ended.
    RenewalOutcome {
        Renewed = "renewed", "更新", "Renewed";
        Expanded = "expanded", "拡大して更新", "Expanded";
        Contracted = "contracted", "縮小して更新", "Contracted";
        Churned = "churned", "解約", "Churned";
    }
}

coded! {
    /// Why a customer left, as a code a team can count.
    ChurnReason {
        Price = "price", "価格", "Price";
        Budget = "budget", "予算削減", "Budget cut";
        ProductGap = "product_gap", "機能不足", "Missing capability";
        LowAdoption = "low_adoption", "活用が進まなかった", "Low adoption";
        Competitor = "competitor", "競合へ移行", "Moved to a competitor";
        ChampionLeft = "champion_left", "推進者の異動・退職", "Champion left";
        Support = "support", "サポート・品質", "Support or quality";
        BusinessClosed = "business_closed", "事業縮小・廃業", "Business closed";
        Acquired = "acquired", "買収・統合", "Acquired or merged";
        Other = "other", "その他", "Other";
    }
}

/// One renewal: the day one or more of an account's committed terms end, and the ARR of the
/// subscriptions renewing that day (on the day before it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renewal {
    pub account_id: AccountId,
    pub date: NaiveDate,
    pub arr: Money,
    /// The longest committed term ending that day, in months.
    pub term_months: u32,
}

/// The account's renewals with `from <= date <= to`, oldest first, each with the ARR of the
/// subscriptions renewing that day.
pub fn renewals_between(
    periods: &[&SubscriptionTerms],
    from: NaiveDate,
    to: NaiveDate,
    monthly_renews: bool,
) -> Vec<Renewal> {
    let mut by_day: BTreeMap<NaiveDate, (Decimal, u32)> = BTreeMap::new();
    let mut account_id = None;
    for (period, ends) in term_ends(periods, from, monthly_renews) {
        account_id = Some(period.account_id);
        let term = period.renewal_months(monthly_renews).unwrap_or_default();
        for end in ends.take_while(|end| *end <= to) {
            let (arr, longest) = by_day.entry(end).or_default();
            *arr += period.mrr().0 * Decimal::from(12);
            *longest = (*longest).max(term);
        }
    }
    let Some(account_id) = account_id else { return Vec::new() };
    by_day
        .into_iter()
        .map(|(date, (arr, term_months))| Renewal { account_id, date, arr: Money(Money(arr).reported()), term_months })
        .collect()
}

/// The account's first renewal after `today`.
pub fn next_renewal_date(periods: &[&SubscriptionTerms], today: NaiveDate, monthly_renews: bool) -> Option<NaiveDate> {
    let tomorrow = today.succ_opt()?;
    term_ends(periods, tomorrow, monthly_renews).filter_map(|(_, mut ends)| ends.next()).min()
}

/// For each paying period with renewals, the ends of its committed terms from `from` on, in
/// order. A renewal is the end of a committed term, counted from the subscription's first
/// paying start (so neither a free trial before it nor a mid-term change moves it), on which
/// the subscription was paying the day before: the period covering that day carries it. A
/// month-to-month subscription has none unless `monthly_renews` (the workspace setting).
fn term_ends<'a>(
    periods: &'a [&'a SubscriptionTerms],
    from: NaiveDate,
    monthly_renews: bool,
) -> impl Iterator<Item = (&'a SubscriptionTerms, impl Iterator<Item = NaiveDate> + 'a)> + 'a {
    let paying: Vec<&'a SubscriptionTerms> = periods.iter().copied().filter(|p| p.mrr().0 > Decimal::ZERO).collect();
    let mut first_start: BTreeMap<&crate::ids::ExternalId, NaiveDate> = BTreeMap::new();
    for period in &paying {
        let entry = first_start.entry(&period.subscription_id).or_insert(period.start_date);
        *entry = (*entry).min(period.start_date);
    }
    paying.into_iter().filter_map(move |period| {
        let term = period.renewal_months(monthly_renews)?;
        let anchor = first_start[&period.subscription_id];
        let first = period.start_date.max(from.pred_opt().unwrap_or(from));
        let k = months_between(anchor, first) / term;
        let ends = (k..)
            .map_while(move |k| anchor.checked_add_months(Months::new(k.checked_mul(term)?)))
            .skip_while(move |end| *end <= period.start_date || *end < from)
            .take_while(move |end| period.end_date.is_none_or(|last| *end <= last));
        Some((period, ends))
    })
}

fn months_between(from: NaiveDate, to: NaiveDate) -> u32 {
    use chrono::Datelike;
    let months = (to.year() - from.year()) * 12 + to.month() as i32 - from.month() as i32;
    months.max(0) as u32
}

/// The ARR the contracts renewing on `date` came to that day: their ARR the day before, moved by
/// however much the account's MRR changed across the day (an expansion or a contraction at the
/// renewal, or the contract re-issued under a new id); none when the account left. Contracts
/// renewing on other days (a monthly add-on) count on neither side, so it compares with the
/// renewal's forecast ARR. Without a renewal that day, the account's whole ARR on it.
pub fn kept_arr(periods: &[&SubscriptionTerms], date: NaiveDate, monthly_renews: bool) -> Money {
    let mrr_on = |day: NaiveDate| -> Decimal { periods.iter().map(|p| p.mrr_on(day).0).sum() };
    let (before, after) = (mrr_on(date.pred_opt().unwrap_or(date)), mrr_on(date));
    let twelve = Decimal::from(12);
    let kept = if after <= Decimal::ZERO {
        Decimal::ZERO
    } else {
        match renewals_between(periods, date, date, monthly_renews).first() {
            Some(renewal) => (renewal.arr.0 + (after - before) * twelve).max(Decimal::ZERO),
            None => after * twelve,
        }
    };
    Money(Money(kept).reported())
}

/// What the subscription data says a past renewal came to: the account's MRR on the renewal day
/// against the day before. `None` while the day is still ahead.
pub fn derived_outcome(periods: &[&SubscriptionTerms], date: NaiveDate, today: NaiveDate) -> Option<RenewalOutcome> {
    if date > today {
        return None;
    }
    let before: Decimal = periods.iter().map(|p| p.mrr_on(date.pred_opt().unwrap_or(date)).0).sum();
    let after: Decimal = periods.iter().map(|p| p.mrr_on(date).0).sum();
    Some(if after <= Decimal::ZERO {
        RenewalOutcome::Churned
    } else if after > before {
        RenewalOutcome::Expanded
    } else if after < before {
        RenewalOutcome::Contracted
    } else {
        RenewalOutcome::Renewed
    })
}

/// What a CSM wrote about one renewal. Everything is optional: a forecast is set before the
/// day, an outcome confirmed after it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RenewalCall {
    pub forecast: Option<ForecastCategory>,
    pub forecast_note: Option<String>,
    /// The outcome a CSM confirmed; when absent, the outcome derived from the subscriptions.
    pub outcome: Option<RenewalOutcome>,
    pub churn_reason: Option<ChurnReason>,
    pub outcome_note: Option<String>,
}

impl RenewalCall {
    /// Reads a call from JSON (the API body, or a form turned into JSON): every key optional,
    /// codes as in `ForecastCategory`, `RenewalOutcome` and `ChurnReason`; empty text is absent.
    pub fn parse(value: serde_json::Value) -> Result<RenewalCall, Vec<crate::FieldError>> {
        let mut f = crate::fields::Fields::new(
            value,
            &["forecast", "forecast_note", "outcome", "churn_reason", "outcome_note"],
        )?;
        let forecast = f.parsed("forecast", ForecastCategory::parse);
        let forecast_note = f.text("forecast_note", MAX_NOTE);
        let outcome = f.parsed("outcome", RenewalOutcome::parse);
        let churn_reason = f.parsed("churn_reason", ChurnReason::parse);
        let outcome_note = f.text("outcome_note", MAX_NOTE);
        f.errors.finish(|| {
            Some(RenewalCall {
                forecast: forecast?,
                forecast_note: forecast_note?,
                outcome: outcome?,
                churn_reason: churn_reason?,
                outcome_note: outcome_note?,
            })
        })
    }

    /// The field at fault, for a call that cannot be saved for a renewal on `date` seen `today`.
    pub fn check(&self, date: NaiveDate, today: NaiveDate) -> Result<(), (&'static str, Reason)> {
        for (field, note) in [("forecast_note", &self.forecast_note), ("outcome_note", &self.outcome_note)] {
            if note.as_ref().is_some_and(|n| n.chars().count() > MAX_NOTE) {
                return Err((field, Reason::TooLong { max: MAX_NOTE }));
            }
        }
        if self.outcome.is_some() && date > today {
            return Err(("outcome", Reason::NotYetHappened));
        }
        if self.churn_reason.is_some() && self.outcome.is_some_and(|o| o != RenewalOutcome::Churned) {
            return Err(("churn_reason", Reason::NeedsChurnedOutcome));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;
    use crate::subscription::BillingInterval;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn period(
        sub: &str,
        start: &str,
        end: Option<&str>,
        interval: BillingInterval,
        commitment: Option<u32>,
        price: i64,
    ) -> SubscriptionTerms {
        let mut terms = crate::subscription::tests::period(sub, start, end, interval, 1, price);
        terms.commitment_months = commitment;
        terms
    }

    #[test]
    fn annual_terms_renew_once_a_year_with_their_arr() {
        let p = period("s1", "2024-04-01", None, BillingInterval::Year, None, 1_200_000);
        let found = renewals_between(&[&p], day("2025-01-01"), day("2026-12-31"), false);
        let dates: Vec<String> = found.iter().map(|r| r.date.to_string()).collect();
        assert_eq!(dates, ["2025-04-01", "2026-04-01"]);
        assert_eq!(found[0].arr, Money(Decimal::from(1_200_000)));
    }

    #[test]
    fn monthly_billing_renews_only_with_a_commitment_or_the_workspace_setting() {
        let monthly = period("s1", "2024-04-01", None, BillingInterval::Month, None, 100_000);
        assert!(renewals_between(&[&monthly], day("2025-01-01"), day("2025-12-31"), false).is_empty());
        assert_eq!(renewals_between(&[&monthly], day("2025-01-01"), day("2025-12-31"), true).len(), 12);
        let committed = period("s1", "2024-04-01", None, BillingInterval::Month, Some(12), 100_000);
        let found = renewals_between(&[&committed], day("2025-01-01"), day("2025-12-31"), false);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].arr, Money(Decimal::from(1_200_000)), "ARR is 12 × the monthly price");
    }

    #[test]
    fn an_ended_subscription_renews_only_at_the_end_it_reached() {
        let p = period("s1", "2023-04-01", Some("2025-04-01"), BillingInterval::Year, None, 1_200_000);
        let dates: Vec<NaiveDate> =
            renewals_between(&[&p], day("2023-01-01"), day("2027-12-31"), false).iter().map(|r| r.date).collect();
        assert_eq!(dates, [day("2024-04-01"), day("2025-04-01")]);
    }

    #[test]
    fn a_mid_term_upgrade_keeps_the_renewal_date_and_counts_the_new_price() {
        let before = period("s1", "2024-04-01", Some("2024-10-01"), BillingInterval::Year, None, 1_200_000);
        let after = period("s1", "2024-10-01", None, BillingInterval::Year, None, 2_400_000);
        let found = renewals_between(&[&before, &after], day("2025-01-01"), day("2025-12-31"), false);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].date, day("2025-04-01"));
        assert_eq!(found[0].arr, Money(Decimal::from(2_400_000)));
    }

    #[test]
    fn a_free_trial_does_not_move_the_renewal() {
        let mut trial = period("s1", "2024-03-15", Some("2024-04-01"), BillingInterval::Year, None, 0);
        trial.unit_price = Money(Decimal::ZERO);
        let paid = period("s1", "2024-04-01", None, BillingInterval::Year, None, 1_200_000);
        let found = renewals_between(&[&trial, &paid], day("2025-01-01"), day("2025-12-31"), false);
        assert_eq!(found.iter().map(|r| r.date).collect::<Vec<_>>(), [day("2025-04-01")]);
        assert_eq!(found[0].term_months, 12);
    }

    #[test]
    fn outcome_follows_the_mrr_across_the_renewal_day() {
        let p = period("s1", "2024-04-01", Some("2025-04-01"), BillingInterval::Year, None, 1_200_000);
        let renewed = period("s1", "2025-04-01", None, BillingInterval::Year, None, 1_200_000);
        let grown = period("s1", "2025-04-01", None, BillingInterval::Year, None, 1_800_000);
        let today = day("2025-06-01");
        assert_eq!(derived_outcome(&[&p], day("2025-04-01"), today), Some(RenewalOutcome::Churned));
        assert_eq!(derived_outcome(&[&p, &renewed], day("2025-04-01"), today), Some(RenewalOutcome::Renewed));
        assert_eq!(derived_outcome(&[&p, &grown], day("2025-04-01"), today), Some(RenewalOutcome::Expanded));
        assert_eq!(derived_outcome(&[&p, &renewed], day("2026-04-01"), today), None, "not yet happened");
    }

    #[test]
    fn kept_arr_counts_the_renewing_contract_not_the_add_ons_renewing_on_other_days() {
        let core = period("core", "2024-04-01", Some("2025-04-01"), BillingInterval::Year, None, 1_200_000);
        let add_on = period("add-on", "2024-06-10", None, BillingInterval::Month, None, 50_000);
        let flat = period("core", "2025-04-01", None, BillingInterval::Year, None, 1_200_000);
        let grown = period("core", "2025-04-01", None, BillingInterval::Year, None, 1_800_000);
        let reissued = period("core-2025", "2025-04-01", None, BillingInterval::Year, None, 1_200_000);
        let renewal = day("2025-04-01");
        let arr = |n: i64| Money(Money(Decimal::from(n)).reported());
        assert_eq!(
            kept_arr(&[&core, &add_on, &flat], renewal, false),
            arr(1_200_000),
            "the add-on's 600,000 is not kept ARR"
        );
        assert_eq!(kept_arr(&[&core, &add_on, &grown], renewal, false), arr(1_800_000));
        assert_eq!(kept_arr(&[&core, &add_on, &reissued], renewal, false), arr(1_200_000), "a new id, same contract");
        assert_eq!(
            kept_arr(&[&core, &add_on], renewal, false),
            arr(0),
            "the core contract ended: contracted to the add-on"
        );
        let ended_add_on = period("add-on", "2024-06-10", Some("2025-04-01"), BillingInterval::Month, None, 50_000);
        assert_eq!(kept_arr(&[&core, &ended_add_on], renewal, false), arr(0), "the account left");
        assert_eq!(kept_arr(&[&add_on], day("2025-05-10"), false), arr(600_000), "no renewal that day: the whole ARR");
    }

    #[test]
    fn a_call_names_the_field_it_cannot_accept() {
        let today = day("2025-06-01");
        let early = RenewalCall { outcome: Some(RenewalOutcome::Renewed), ..RenewalCall::default() };
        assert_eq!(early.check(day("2025-09-01"), today).unwrap_err().0, "outcome");
        let reason_without_churn = RenewalCall {
            outcome: Some(RenewalOutcome::Renewed),
            churn_reason: Some(ChurnReason::Price),
            ..RenewalCall::default()
        };
        assert_eq!(reason_without_churn.check(day("2025-04-01"), today).unwrap_err().0, "churn_reason");
        let long = RenewalCall { forecast_note: Some("あ".repeat(MAX_NOTE + 1)), ..RenewalCall::default() };
        assert_eq!(long.check(day("2025-09-01"), today).unwrap_err().0, "forecast_note");
        assert_eq!(ForecastCategory::parse("AT_RISK"), Ok(ForecastCategory::AtRisk));
        assert_eq!(ChurnReason::Competitor.label(Lang::Ja), "競合へ移行");
    }
}
