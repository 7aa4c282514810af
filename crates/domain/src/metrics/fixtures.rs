//! Builders shared by the metrics tests.

use crate::account::CustomFields;
use crate::ids::{AccountId, ExternalId};
use crate::money::{Currency, Money};
use crate::subscription::{BillingInterval, SubscriptionTerms};
use chrono::NaiveDate;
use rust_decimal::Decimal;

pub fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

pub fn money(amount: i64) -> Money {
    Money(Decimal::from(amount))
}

pub fn rate(text: &str) -> Option<Decimal> {
    Some(text.parse().unwrap())
}

pub fn row(
    account: i64,
    subscription: &str,
    start: &str,
    end: Option<&str>,
    interval: BillingInterval,
    quantity: i64,
    unit_price: i64,
) -> SubscriptionTerms {
    SubscriptionTerms {
        subscription_id: ExternalId::parse(subscription).unwrap(),
        account_id: AccountId(account),
        product: "core".into(),
        plan: None,
        start_date: day(start),
        end_date: end.map(day),
        billing_interval: interval,
        interval_count: 1,
        quantity,
        unit_price: money(unit_price),
        discount_percent: Decimal::ZERO,
        currency: Currency::jpy(),
        custom: CustomFields::new(),
        commitment_months: None,
    }
}
