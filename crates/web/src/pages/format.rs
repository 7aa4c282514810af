//! Money and dates as a reader in Japan or elsewhere expects them.

use domain::i18n::Lang;
use domain::{Currency, Money};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::RoundingStrategy;

/// Whole currency units with thousands separators: `¥1,234,567` / `JPY 1,234,567`.
pub fn money(amount: Money, currency: &Currency, lang: Lang) -> String {
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
        ("JPY", Lang::Ja) => format!("{sign}¥{grouped}"),
        (code, _) => format!("{sign}{code} {grouped}"),
    }
}

/// A change in money: `+¥1,200` / `-¥300` / `¥0`.
pub fn money_change(amount: Money, currency: &Currency, lang: Lang) -> String {
    let text = money(amount, currency, lang);
    if amount.0.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero) > rust_decimal::Decimal::ZERO {
        format!("+{text}")
    } else {
        text
    }
}

/// A ratio as a percentage with one decimal (`0.1234` → `12.3%`); `—` when there is none.
pub fn percent(ratio: Option<f64>) -> String {
    ratio.map_or("—".into(), |r| format!("{:.1}%", r * 100.0))
}

pub fn date(day: Option<chrono::NaiveDate>, lang: Lang) -> String {
    match (day, lang) {
        (None, _) => "—".into(),
        (Some(d), Lang::Ja) => d.format("%Y/%m/%d").to_string(),
        (Some(d), Lang::En) => d.format("%b %-d, %Y").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    #[test]
    fn yen_is_grouped_and_rounded_to_whole_units() {
        let amount = Money(Decimal::new(123456789, 2));
        assert_eq!(money(amount, &Currency::jpy(), Lang::Ja), "¥1,234,568");
        assert_eq!(money(amount, &Currency::jpy(), Lang::En), "JPY 1,234,568");
        assert_eq!(money_change(amount, &Currency::jpy(), Lang::Ja), "+¥1,234,568");
        assert_eq!(money_change(Money(-amount.0), &Currency::jpy(), Lang::Ja), "-¥1,234,568");
    }

    #[test]
    fn ratios_are_percentages_with_one_decimal() {
        assert_eq!(percent(Some(0.1234)), "12.3%");
        assert_eq!(percent(None), "—");
    }
}
