//! Money and dates as a reader in Japan or elsewhere expects them.

use domain::account::Account;
use domain::health::HealthConfig;
use domain::i18n::{Lang, Text};
use domain::metrics::MovementKind;
use domain::{Currency, Money};
use rust_decimal::RoundingStrategy;

pub use domain::i18n::day_in_sentence;
pub use domain::money::format_money as money;

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

/// A whole number with thousands separators, the same in both languages: `1,200`.
pub fn count(value: i64) -> String {
    let sign = if value < 0 { "-" } else { "" };
    format!("{sign}{}", domain::validation::grouped(usize::try_from(value.unsigned_abs()).unwrap_or(usize::MAX)))
}

/// A number that counts things, however a template holds it (templates pass references).
pub trait Countable {
    fn as_count(&self) -> i64;
}

macro_rules! countable {
    ($($t:ty),*) => {$(
        impl Countable for $t {
            fn as_count(&self) -> i64 {
                i64::try_from(*self).unwrap_or(i64::MAX)
            }
        }
    )*};
}
countable!(i64, usize, u64, u32);

impl<T: Countable + ?Sized> Countable for &T {
    fn as_count(&self) -> i64 {
        (**self).as_count()
    }
}

/// A count with separators, for templates: `{{ crate::pages::format::grouped(n) }}` → 「12,345」.
pub fn grouped(value: impl Countable) -> String {
    count(value.as_count())
}

/// A month as a heading names it (`2026年11月`, `Nov 2026`), from any day in it.
pub fn month_label(month: chrono::NaiveDate, lang: Lang) -> String {
    use chrono::Datelike;
    match lang {
        Lang::Ja => format!("{}年{}月", month.year(), month.month()),
        Lang::En => month.format("%b %Y").to_string(),
    }
}

/// A number of months: 「12 か月」 / "12 months", "1 month".
pub fn months(months: u32, lang: Lang) -> String {
    match (lang, months) {
        (Lang::Ja, n) => format!("{n} か月"),
        (Lang::En, 1) => "1 month".to_owned(),
        (Lang::En, n) => format!("{n} months"),
    }
}

/// A number of days: 「3 日」 / "3 days", "1 day".
pub fn days(days: i64, lang: Lang) -> String {
    match (lang, days) {
        (Lang::Ja, n) => format!("{n} 日"),
        (Lang::En, 1) => "1 day".to_owned(),
        (Lang::En, n) => format!("{n} days"),
    }
}

pub fn date(day: Option<chrono::NaiveDate>, lang: Lang) -> String {
    match (day, lang) {
        (None, _) => "—".into(),
        (Some(d), Lang::Ja) => d.format("%Y/%m/%d").to_string(),
        (Some(d), Lang::En) => d.format("%b %-d, %Y").to_string(),
    }
}

/// A stage's name: the built-in stages in the reader's language, a workspace's own as written.
/// The days a figure counts, first to last, as the pages write dates.
pub fn day_range(first: chrono::NaiveDate, last: chrono::NaiveDate, lang: Lang) -> String {
    let (first, last) = (date(Some(first), lang), date(Some(last), lang));
    lang.pick(format!("{first}〜{last}"), format!("{first} – {last}"))
}

pub fn stage(key: &str, lang: Lang) -> String {
    domain::account::stage_name(key, lang)
}

/// An account's grade as lists show it: "Churned" for a churned account (it has none), else
/// its current grade (see `grade`).
pub fn account_grade(config: &HealthConfig, account: &Account, lang: Lang) -> (String, String) {
    if account.figures.is_churned() {
        (Text::new("解約済み", "Churned").pick(lang).to_owned(), "#999999".to_owned())
    } else {
        grade(config, account.health.grade.as_deref(), lang)
    }
}

/// A grade's name in the reader's language and its colour; unscored accounts are "unknown".
pub fn grade(config: &HealthConfig, key: Option<&str>, lang: Lang) -> (String, String) {
    let colour = key.and_then(|key| config.grades.iter().find(|g| g.key == key)).map(|band| band.colour.clone());
    let name = config.grade_name(key.unwrap_or(domain::health::UNKNOWN_GRADE));
    (name.pick(lang).to_owned(), colour.unwrap_or_else(|| "#999999".to_owned()))
}

pub fn movement_kind(kind: MovementKind, lang: Lang) -> &'static str {
    let t = |ja, en| Text::new(ja, en).pick(lang);
    match kind {
        MovementKind::New => t("新規", "New"),
        MovementKind::Expansion => t("拡大", "Expansion"),
        MovementKind::Reactivation => t("再開", "Reactivation"),
        MovementKind::Contraction => t("縮小", "Contraction"),
        MovementKind::Churn => t("解約", "Churn"),
    }
}

/// A number to at most `places` decimals, without trailing zeros ("12.5", "100"). An empty sum
/// is −0.0, which would print as "-0".
pub fn trimmed(value: f64, places: usize) -> String {
    let text = format!("{:.places$}", value + 0.0);
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// A score to one decimal, or a dash when there is none.
pub fn score(value: Option<f64>) -> String {
    value.map_or("—".into(), |s| format!("{s:.1}"))
}

/// A signed change to one decimal, and the CSS class that colours it.
pub fn change(value: Option<f64>) -> (String, &'static str) {
    match value {
        None => ("—".into(), ""),
        Some(v) if v > 0.0 => (format!("{v:+.1}"), "up"),
        Some(v) if v < 0.0 => (format!("{v:+.1}"), "down"),
        Some(v) => (format!("{v:+.1}"), ""),
    }
}

/// A moment in the workspace time zone, to the minute.
pub fn moment<Z: chrono::TimeZone>(at: Option<chrono::DateTime<chrono::Utc>>, zone: &Z, lang: Lang) -> String
where
    Z::Offset: std::fmt::Display,
{
    match (at.map(|t| t.with_timezone(zone)), lang) {
        (None, _) => "—".into(),
        (Some(t), Lang::Ja) => t.format("%Y/%m/%d %H:%M").to_string(),
        (Some(t), Lang::En) => t.format("%b %-d, %Y %H:%M").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    #[test]
    fn counts_in_templates_get_separators_whatever_their_integer_type() {
        assert_eq!(grouped(100_000_i64), "100,000");
        let as_a_template_passes_it: &&usize = &&1_234;
        assert_eq!(grouped(as_a_template_passes_it), "1,234");
        assert_eq!(grouped(999_u32), "999");
    }

    #[test]
    fn yen_is_grouped_and_rounded_to_whole_units() {
        let amount = Money(Decimal::new(123456789, 2));
        assert_eq!(money(amount, &Currency::jpy(), Lang::Ja), "¥1,234,568");
        assert_eq!(money(amount, &Currency::jpy(), Lang::En), "JPY 1,234,568");
        assert_eq!(money_change(amount, &Currency::jpy(), Lang::Ja), "+¥1,234,568");
        assert_eq!(money_change(Money(-amount.0), &Currency::jpy(), Lang::Ja), "-¥1,234,568");
    }

    #[test]
    fn days_in_sentences_read_naturally() {
        let day: chrono::NaiveDate = "2026-12-09".parse().unwrap();
        assert_eq!(day_in_sentence(day, Lang::Ja), "2026年12月9日");
        assert_eq!(day_in_sentence(day, Lang::En), "Dec 9, 2026");
    }

    #[test]
    fn trimmed_numbers_drop_trailing_zeros_and_an_empty_sum_is_zero() {
        assert_eq!(trimmed(12.5, 4), "12.5");
        assert_eq!(trimmed(100.0, 2), "100");
        assert_eq!(trimmed(0.12345, 2), "0.12");
        assert_eq!(trimmed(std::iter::empty::<f64>().sum(), 4), "0", "not -0");
        assert_eq!(trimmed(-2.5, 4), "-2.5");
        assert_eq!(trimmed(40.0, 0), "40");
    }

    #[test]
    fn ratios_are_percentages_with_one_decimal() {
        assert_eq!(percent(Some(0.1234)), "12.3%");
        assert_eq!(percent(None), "—");
    }
}
