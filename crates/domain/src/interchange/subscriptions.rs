//! subscriptions.csv — one row per contract period.

use super::table::{Columns, FileErrors, RowFields, Table};
use crate::account::{CustomFields, CUSTOM_PREFIX};
use crate::fields::FieldReader;
use crate::ids::ExternalId;
use crate::money::{Currency, Money};
use crate::settings::WorkspaceSettings;
use crate::subscription::{BillingInterval, SubscriptionDetails};
use crate::validation::Reason;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::HashMap;

pub const COLUMNS: Columns = Columns {
    required: &[
        "subscription_id",
        "account_id",
        "product",
        "start_date",
        "billing_interval",
        "quantity",
        "unit_price",
        "currency",
    ],
    optional: &["plan", "end_date", "interval_count", "discount_percent", "commitment_months"],
};

/// One row of subscriptions.csv; the account is still the source system's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionRecord {
    pub line: u64,
    pub subscription_id: ExternalId,
    pub account_external_id: ExternalId,
    pub product: String,
    pub plan: Option<String>,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub billing_interval: BillingInterval,
    pub interval_count: u32,
    pub quantity: i64,
    pub unit_price: Money,
    pub discount_percent: Decimal,
    pub currency: Currency,
    pub custom: CustomFields,
    pub commitment_months: Option<u32>,
}

pub fn parse(table: &Table, settings: &WorkspaceSettings) -> Result<Vec<SubscriptionRecord>, FileErrors> {
    let mut errors = FileErrors::new();
    let mut records = Vec::new();
    let mut first_line_of: HashMap<(ExternalId, NaiveDate), u64> = HashMap::new();
    for row in table.rows() {
        let mut e = RowFields::new(&row, &mut errors);
        let subscription_id = e.required("subscription_id", ExternalId::parse);
        let account_external_id = e.required("account_id", ExternalId::parse);
        let details = SubscriptionDetails::read(&mut e);
        let currency = e.required("currency", |raw| {
            let currency = Currency::parse(raw)?;
            if currency == settings.currency {
                Ok(currency)
            } else {
                Err(Reason::CurrencyMismatch { expected: settings.currency.to_string() })
            }
        });
        if let (Some(id), Some(start)) = (&subscription_id, details.as_ref().map(|d| d.start_date)) {
            if let Some(first_line) = first_line_of.insert((id.clone(), start), row.line) {
                e.push("start_date", Reason::DuplicateInFile { first_line });
            }
        }
        let record = (|| {
            let details = details?;
            Some(SubscriptionRecord {
                line: row.line,
                subscription_id: subscription_id?,
                account_external_id: account_external_id?,
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
        })();
        records.extend(record);
    }
    if errors.is_empty() {
        Ok(records)
    } else {
        Err(errors)
    }
}

pub fn write(records: &[SubscriptionRecord]) -> Result<String, csv::Error> {
    let mut custom_keys: Vec<&String> = records.iter().flat_map(|r| r.custom.keys()).collect();
    custom_keys.sort();
    custom_keys.dedup();
    let mut header: Vec<String> = COLUMNS.required.iter().chain(COLUMNS.optional).map(|c| c.to_string()).collect();
    header.extend(custom_keys.iter().map(|k| format!("{CUSTOM_PREFIX}{k}")));
    let rows = records.iter().map(|r| {
        let mut row = vec![
            r.subscription_id.to_string(),
            r.account_external_id.to_string(),
            r.product.clone(),
            r.start_date.to_string(),
            r.billing_interval.as_str().to_owned(),
            r.quantity.to_string(),
            r.unit_price.plain(&r.currency),
            r.currency.to_string(),
            r.plan.clone().unwrap_or_default(),
            r.end_date.map(|d| d.to_string()).unwrap_or_default(),
            r.interval_count.to_string(),
            r.discount_percent.to_string(),
            r.commitment_months.map(|m| m.to_string()).unwrap_or_default(),
        ];
        row.extend(custom_keys.iter().map(|k| r.custom.get(*k).cloned().unwrap_or_default()));
        row
    });
    super::write_csv(&header, rows)
}

impl SubscriptionRecord {
    /// The period this row describes, once its account is known.
    pub fn terms(&self, account_id: crate::ids::AccountId) -> crate::subscription::SubscriptionTerms {
        crate::subscription::SubscriptionTerms {
            subscription_id: self.subscription_id.clone(),
            account_id,
            product: self.product.clone(),
            plan: self.plan.clone(),
            start_date: self.start_date,
            end_date: self.end_date,
            billing_interval: self.billing_interval,
            interval_count: self.interval_count,
            quantity: self.quantity,
            unit_price: self.unit_price,
            discount_percent: self.discount_percent,
            currency: self.currency.clone(),
            custom: self.custom.clone(),
            commitment_months: self.commitment_months,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<Vec<SubscriptionRecord>, FileErrors> {
        parse(&Table::parse(text, &COLUMNS).unwrap(), &WorkspaceSettings::default())
    }

    const HEADER: &str = "subscription_id,account_id,product,start_date,end_date,billing_interval,interval_count,quantity,unit_price,discount_percent,currency\n";

    #[test]
    fn subscriptions_round_trip_through_csv() {
        let records =
            parse_text(&format!("{HEADER}S1,A1,Core,2024-04-01,2025-04-01,year,2,\"1,200\",980.5,10,jpy\n")).unwrap();
        assert_eq!(records[0].quantity, 1200);
        assert_eq!(records[0].product, "core");
        let again = parse_text(&write(&records).unwrap()).unwrap();
        assert_eq!(records, again);
    }

    #[test]
    fn yen_prices_are_written_without_decimals_and_fractions_are_kept() {
        let records = parse_text(&format!(
            "{HEADER}S1,A1,core,2024-04-01,,month,,1,12000.00,,JPY\nS2,A1,core,2024-04-01,,month,,1,0.50,,JPY\n"
        ))
        .unwrap();
        let written = write(&records).unwrap();
        assert!(written.contains(",12000,JPY,") && written.contains(",0.5,JPY,"), "{written}");
        assert_eq!(parse_text(&written).unwrap(), records);
    }

    #[test]
    fn foreign_currency_bad_dates_and_out_of_range_discount_are_reported() {
        let errors =
            parse_text(&format!("{HEADER}S1,A1,core,2024-04-01,2024-03-01,year,,1,100,120,USD\n")).unwrap_err();
        let columns: Vec<&str> = errors.iter().map(|e| e.column.as_str()).collect();
        assert_eq!(columns, vec!["discount_percent", "end_date", "currency"]);
    }

    #[test]
    fn a_committed_term_is_read_written_and_never_shorter_than_the_billing_term() {
        let header = HEADER.replace("currency\n", "currency,commitment_months\n");
        let records = parse_text(&format!("{header}S1,A1,core,2024-04-01,,month,,1,1000,,JPY,12\n")).unwrap();
        assert_eq!(records[0].commitment_months, Some(12));
        assert_eq!(parse_text(&write(&records).unwrap()).unwrap(), records);
        let errors = parse_text(&format!("{header}S1,A1,core,2024-04-01,,year,,1,1000,,JPY,6\n")).unwrap_err();
        let first = errors.iter().next().unwrap();
        assert_eq!((first.line, first.column.as_str()), (2, "commitment_months"));
        assert_eq!(first.reason, Reason::ShorterThanBilling { billing_months: 12 });
    }
}
