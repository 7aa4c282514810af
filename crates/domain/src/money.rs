//! Exact money. Stored amounts never pass through floating point.

use crate::validation::Reason;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An exact amount in the workspace currency.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(transparent)]
#[schema(value_type = String, example = "12000.50")]
pub struct Money(#[serde(with = "rust_decimal::serde::str")] pub Decimal);

/// Whole currency units with thousands separators, as a reader expects them: `¥1,234,567`
/// in Japanese for yen, `JPY 1,234,567` otherwise.
pub fn format_money(amount: Money, currency: &Currency, lang: crate::i18n::Lang) -> String {
    use rust_decimal::prelude::ToPrimitive;
    let whole =
        amount.0.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero).to_i128().unwrap_or_default();
    let digits = whole.unsigned_abs().to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if whole < 0 { "-" } else { "" };
    match (currency.as_str(), lang) {
        ("JPY", crate::i18n::Lang::Ja) => format!("{sign}¥{grouped}"),
        (code, _) => format!("{sign}{code} {grouped}"),
    }
}

impl Money {
    /// Inputs may carry at most this many decimals; every real currency needs fewer.
    pub const MAX_INPUT_DECIMALS: u32 = 4;
    pub const ZERO: Money = Money(Decimal::ZERO);

    /// Parses a plain decimal; `1,200` thousands separators are accepted. Must be ≥ 0.
    pub fn parse_non_negative(raw: &str) -> Result<Money, Reason> {
        let value = parse_decimal(raw)?;
        if value.is_sign_negative() && !value.is_zero() {
            return Err(Reason::Negative);
        }
        if value.scale() > Self::MAX_INPUT_DECIMALS {
            return Err(Reason::TooManyDecimals { max: Self::MAX_INPUT_DECIMALS });
        }
        Ok(Money(value.normalize()))
    }

    /// The amount as reported: rounded half away from zero to 2 decimals of the currency unit.
    pub fn reported(self) -> Decimal {
        let mut reported = self.0.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
        reported.rescale(2);
        reported
    }

    /// The reported amount in hundredths of the currency unit, used as an exact sort key.
    pub fn reported_hundredths(self) -> i64 {
        let hundredths = self.reported() * Decimal::ONE_HUNDRED;
        i64::try_from(hundredths).unwrap_or(if hundredths.is_sign_negative() { i64::MIN } else { i64::MAX })
    }

    pub fn from_hundredths(hundredths: i64) -> Money {
        Money(Decimal::new(hundredths, 2))
    }

    /// The amount as a plain number for files people open in spreadsheets: the currency's
    /// decimal places (`12000` yen, `99.00` dollars), more only when the amount has them
    /// (`0.5` yen), never rounded, so a file read back gives the same amount.
    pub fn plain(self, currency: &Currency) -> String {
        plain_decimal(self.0, currency.decimals())
    }
}

/// A decimal without trailing zeros beyond `decimals` places (padded to them): `1000.00` with 0
/// places is `1000`, `1000.5` with 2 is `1000.50`.
pub fn plain_decimal(value: Decimal, decimals: u32) -> String {
    let mut value = value.normalize();
    if value.scale() < decimals {
        value.rescale(decimals);
    }
    value.to_string()
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::ops::Add for Money {
    type Output = Money;
    fn add(self, other: Money) -> Money {
        Money(self.0 + other.0)
    }
}

impl std::ops::Sub for Money {
    type Output = Money;
    fn sub(self, other: Money) -> Money {
        Money(self.0 - other.0)
    }
}

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        Money(iter.map(|m| m.0).sum())
    }
}

/// Parses a plain decimal number, accepting `,` thousands separators.
pub fn parse_decimal(raw: &str) -> Result<Decimal, Reason> {
    let cleaned: String = raw.trim().chars().filter(|c| *c != ',').collect();
    if cleaned.is_empty() {
        return Err(Reason::Required);
    }
    let plain = cleaned.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+'));
    if !plain {
        return Err(Reason::InvalidDecimal);
    }
    Decimal::from_str(&cleaned).map_err(|_| Reason::InvalidDecimal)
}

/// An ISO 4217 currency code such as `JPY`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "JPY")]
pub struct Currency(String);

impl Currency {
    pub fn parse(raw: &str) -> Result<Currency, Reason> {
        let code = raw.trim().to_ascii_uppercase();
        if code.is_empty() {
            return Err(Reason::Required);
        }
        if code.len() == 3 && code.chars().all(|c| c.is_ascii_uppercase()) {
            Ok(Currency(code))
        } else {
            Err(Reason::Malformed { detail: "ISO 4217 code such as JPY".into() })
        }
    }

    pub fn jpy() -> Currency {
        Currency("JPY".into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Decimal places of the currency's minor unit (ISO 4217): none for the yen, won, dong…,
    /// three for the dinars of Bahrain, Kuwait…, two for the others.
    pub fn decimals(&self) -> u32 {
        match self.0.as_str() {
            "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX" | "UYI" | "VND"
            | "VUV" | "XAF" | "XOF" | "XPF" => 0,
            "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
            "CLF" | "UYW" => 4,
            _ => 2,
        }
    }
}

impl TryFrom<String> for Currency {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Currency::parse(&raw).map_err(|reason| reason.message(crate::i18n::Lang::En))
    }
}

impl From<Currency> for String {
    fn from(currency: Currency) -> String {
        currency.0
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators_are_accepted() {
        assert_eq!(Money::parse_non_negative("1,200").unwrap(), Money(Decimal::new(1200, 0)));
    }

    #[test]
    fn negative_and_non_numeric_amounts_are_refused() {
        assert_eq!(Money::parse_non_negative("-1"), Err(Reason::Negative));
        assert_eq!(Money::parse_non_negative("1e3"), Err(Reason::InvalidDecimal));
        assert_eq!(Money::parse_non_negative("12円"), Err(Reason::InvalidDecimal));
    }

    #[test]
    fn plain_amounts_have_the_currencys_decimals_and_keep_every_significant_digit() {
        let usd = Currency::parse("usd").unwrap();
        let kwd = Currency::parse("KWD").unwrap();
        let jpy = Currency::jpy();
        for (amount, currency, written) in [
            (Decimal::new(1_200_000, 2), &jpy, "12000"),
            (Decimal::new(1_200_050, 2), &jpy, "12000.5"),
            (Decimal::new(50, 2), &jpy, "0.5"),
            (Decimal::ZERO, &jpy, "0"),
            (Decimal::new(99, 0), &usd, "99.00"),
            (Decimal::new(99_500, 3), &usd, "99.50"),
            (Decimal::new(12_345, 4), &usd, "1.2345"),
            (Decimal::new(7, 0), &kwd, "7.000"),
        ] {
            assert_eq!(Money(amount).plain(currency), written, "{amount} {currency}");
            assert_eq!(Money::parse_non_negative(written).unwrap(), Money(amount.normalize()), "reads back");
        }
    }

    #[test]
    fn reported_amount_rounds_half_away_from_zero_to_two_decimals() {
        let third = Money(Decimal::new(1000, 0) / Decimal::new(12, 0));
        assert_eq!(third.reported(), Decimal::new(8333, 2));
        assert_eq!(Money(Decimal::new(5, 3)).reported(), Decimal::new(1, 2));
        assert_eq!(Money(Decimal::new(8333, 2)).reported_hundredths(), 8333);
    }
}
