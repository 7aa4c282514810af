//! Calendar periods the metrics are reported over: days, ISO weeks, months, quarters, fiscal
//! years and arbitrary date ranges (metrics.md, "Rates").

use crate::settings::parse_fiscal_year_start_month;
use crate::validation::Reason;
use chrono::{Datelike, Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An inclusive range of calendar days, `first ≤ last`.
// `MetricsPeriod` in the OpenAPI document: `usage::Period` (`start`/`end`) is `Period` there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, utoipa::ToSchema)]
#[schema(as = MetricsPeriod)]
pub struct Period {
    /// The period's first day.
    first: NaiveDate,
    /// The period's last day (inclusive).
    last: NaiveDate,
}

impl Period {
    /// `None` when `first > last`.
    pub fn new(first: NaiveDate, last: NaiveDate) -> Option<Period> {
        (first <= last).then_some(Period { first, last })
    }

    pub fn first(&self) -> NaiveDate {
        self.first
    }

    pub fn last(&self) -> NaiveDate {
        self.last
    }

    /// The day whose MRR is the period's "MRR at start" (metrics.md, "MRR"); at the very first
    /// representable date there is no earlier day, and that date stands in for it.
    pub fn day_before(&self) -> NaiveDate {
        self.first.pred_opt().unwrap_or(NaiveDate::MIN)
    }

    pub fn contains(&self, day: NaiveDate) -> bool {
        self.first <= day && day <= self.last
    }
}

/// The month a fiscal year starts in (1 = January … 12 = December); April by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FiscalYearStart(u32);

impl FiscalYearStart {
    pub fn new(month: u32) -> Result<FiscalYearStart, Reason> {
        parse_fiscal_year_start_month(month).map(FiscalYearStart)
    }

    pub fn month(self) -> u32 {
        self.0
    }
}

impl Default for FiscalYearStart {
    fn default() -> Self {
        FiscalYearStart(4)
    }
}

/// The length of the periods a range is split into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Interval {
    /// One calendar day.
    Day,
    /// ISO week, Monday to Sunday.
    Week,
    /// Calendar month.
    Month,
    /// Calendar quarter: January, April, July, October.
    Quarter,
    /// Twelve months from the given start month.
    FiscalYear(FiscalYearStart),
}

/// The most periods one request may ask for (about ten years of days): each period costs memory
/// in the answer, so a range of centuries by day must be refused, not computed.
pub const MAX_PERIODS: u64 = 3_700;

impl Interval {
    /// How many periods of this interval `[from, to]` overlaps, at most (0 when `from > to`).
    pub fn periods_between(self, from: NaiveDate, to: NaiveDate) -> u64 {
        if from > to {
            return 0;
        }
        let days = (to - from).num_days().unsigned_abs() + 1;
        let months = YearMonth::of(from).months_until(YearMonth::of(to)).unsigned_abs() + 1;
        match self {
            Interval::Day => days,
            Interval::Week => days / 7 + 2,
            Interval::Month => months,
            Interval::Quarter => months / 3 + 2,
            Interval::FiscalYear(_) => months / 12 + 2,
        }
    }

    /// The whole calendar period of this interval that contains `day`.
    pub fn period_containing(self, day: NaiveDate) -> Period {
        let first = self.first_day_of_period_containing(day);
        let last =
            self.first_day_after_period_starting(first).and_then(|next| next.pred_opt()).unwrap_or(NaiveDate::MAX);
        Period { first, last }
    }

    fn first_day_of_period_containing(self, day: NaiveDate) -> NaiveDate {
        let month_start = YearMonth::of(day).first_day();
        match self {
            Interval::Day => day,
            Interval::Week => {
                day.checked_sub_days(Days::new(day.weekday().num_days_from_monday().into())).unwrap_or(day)
            }
            Interval::Month => month_start,
            Interval::Quarter => {
                let months_into_quarter = (day.month() - 1) % 3;
                month_start.checked_sub_months(Months::new(months_into_quarter)).unwrap_or(month_start)
            }
            Interval::FiscalYear(start) => {
                let months_into_year = (day.month() + 12 - start.month()) % 12;
                month_start.checked_sub_months(Months::new(months_into_year)).unwrap_or(month_start)
            }
        }
    }

    fn first_day_after_period_starting(self, first: NaiveDate) -> Option<NaiveDate> {
        match self {
            Interval::Day => first.succ_opt(),
            Interval::Week => first.checked_add_days(Days::new(7)),
            Interval::Month => first.checked_add_months(Months::new(1)),
            Interval::Quarter => first.checked_add_months(Months::new(3)),
            Interval::FiscalYear(_) => first.checked_add_months(Months::new(12)),
        }
    }
}

/// A sequence of periods ordered so that both their first and their last days never decrease:
/// consecutive calendar periods, or sliding windows such as trailing twelve months. Reports
/// over all of them are computed in one pass over the MRR change points.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Periods(Vec<Period>);

impl Periods {
    /// Splits `[from, to]` into the calendar periods of `interval` that overlap it; the first
    /// and last are clipped to `from` and `to`, so the periods cover exactly `[from, to]`.
    /// Empty when `from > to`.
    pub fn split(interval: Interval, from: NaiveDate, to: NaiveDate) -> Periods {
        let mut periods = Vec::new();
        let mut day = from;
        while day <= to {
            let calendar = interval.period_containing(day);
            let last = calendar.last.min(to);
            periods.push(Period { first: day, last });
            match last.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
        }
        Periods(periods)
    }

    /// One period.
    pub fn single(period: Period) -> Periods {
        Periods(vec![period])
    }

    /// The twelve months ending on each of `ends` (see [`trailing_twelve_months`]), in date
    /// order, duplicates removed.
    pub fn trailing_twelve_months(ends: impl IntoIterator<Item = NaiveDate>) -> Periods {
        let mut periods: Vec<Period> = ends.into_iter().filter_map(trailing_twelve_months).collect();
        periods.sort();
        periods.dedup();
        Periods(periods)
    }

    /// Accepts any periods whose first days and last days both never decrease.
    pub fn new(periods: Vec<Period>) -> Result<Periods, UnorderedPeriods> {
        let ordered = periods.windows(2).all(|pair| pair[0].first <= pair[1].first && pair[0].last <= pair[1].last);
        if ordered {
            Ok(Periods(periods))
        } else {
            Err(UnorderedPeriods)
        }
    }

    pub fn as_slice(&self) -> &[Period] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

/// Periods given to [`Periods::new`] whose first or last days go backwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("periods must be ordered by both first and last day")]
pub struct UnorderedPeriods;

/// The twelve months ending on `day`: MRR at its start is the MRR of the same date a year
/// earlier (the end of February when that date does not exist), so the period starts the day
/// after.
pub fn trailing_twelve_months(day: NaiveDate) -> Option<Period> {
    let year_before = day.checked_sub_months(Months::new(12))?;
    Period::new(year_before.succ_opt()?, day)
}

/// A calendar month, written `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "2025-04")]
pub struct YearMonth(NaiveDate);

impl YearMonth {
    /// `None` unless `month` is 1–12 and the month is within chrono's calendar.
    pub fn new(year: i32, month: u32) -> Option<YearMonth> {
        NaiveDate::from_ymd_opt(year, month, 1).map(YearMonth)
    }

    /// A month a person typed: as [`YearMonth::new`], and within the days a date may name
    /// (`interchange::FIRST_DAY` to `LAST_DAY`), else out of range.
    pub fn typed(year: i32, month: u32) -> Option<Result<YearMonth, Reason>> {
        let first = YearMonth::new(year, month)?;
        let (years, range) =
            (crate::interchange::YEARS, || Reason::OutOfRange { min: "1900-01".into(), max: "2199-12".into() });
        Some(if years.contains(&year) { Ok(first) } else { Err(range()) })
    }

    pub fn of(day: NaiveDate) -> YearMonth {
        YearMonth(day.with_day(1).unwrap_or(day))
    }

    pub fn year(self) -> i32 {
        self.0.year()
    }

    pub fn month(self) -> u32 {
        self.0.month()
    }

    pub fn first_day(self) -> NaiveDate {
        self.0
    }

    pub fn last_day(self) -> NaiveDate {
        self.next().and_then(|next| next.first_day().pred_opt()).unwrap_or(NaiveDate::MAX)
    }

    pub fn days(self) -> u32 {
        self.last_day().day()
    }

    pub fn period(self) -> Period {
        Period { first: self.first_day(), last: self.last_day() }
    }

    pub fn next(self) -> Option<YearMonth> {
        self.plus_months(1)
    }

    /// The month `months` later (earlier when negative), if representable.
    pub fn plus_months(self, months: i64) -> Option<YearMonth> {
        let index = self.index().checked_add(months)?;
        let year = i32::try_from(index.div_euclid(12)).ok()?;
        let month = u32::try_from(index.rem_euclid(12) + 1).ok()?;
        YearMonth::new(year, month)
    }

    /// How many months `later` is after `self` (negative when before).
    pub fn months_until(self, later: YearMonth) -> i64 {
        later.index() - self.index()
    }

    fn index(self) -> i64 {
        i64::from(self.year()) * 12 + i64::from(self.month()) - 1
    }
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year(), self.month())
    }
}

impl FromStr for YearMonth {
    type Err = Reason;
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let malformed = || Reason::Malformed { detail: "YYYY-MM".into() };
        let (year, month) = raw.trim().split_once('-').ok_or_else(malformed)?;
        let year = year.parse().map_err(|_| malformed())?;
        let month = month.parse().map_err(|_| malformed())?;
        YearMonth::typed(year, month).ok_or_else(malformed)?
    }
}

impl TryFrom<String> for YearMonth {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        raw.parse().map_err(|reason: Reason| reason.message(crate::i18n::Lang::En))
    }
}

impl From<YearMonth> for String {
    fn from(month: YearMonth) -> String {
        month.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn bounds(periods: &Periods) -> Vec<(String, String)> {
        periods.as_slice().iter().map(|p| (p.first().to_string(), p.last().to_string())).collect()
    }

    #[test]
    fn iso_week_starts_on_monday() {
        let week = Interval::Week.period_containing(day("2025-01-01"));
        assert_eq!(week.first(), day("2024-12-30"));
        assert_eq!(week.last(), day("2025-01-05"));
    }

    #[test]
    fn fiscal_year_starting_in_april_runs_april_to_march() {
        let fy = Interval::FiscalYear(FiscalYearStart::default());
        let before_april = fy.period_containing(day("2025-03-31"));
        assert_eq!(before_april.first(), day("2024-04-01"));
        assert_eq!(before_april.last(), day("2025-03-31"));
        let from_april = fy.period_containing(day("2025-04-01"));
        assert_eq!(from_april.first(), day("2025-04-01"));
        assert_eq!(from_april.last(), day("2026-03-31"));
    }

    #[test]
    fn fiscal_year_start_month_is_configurable_and_validated() {
        let october = Interval::FiscalYear(FiscalYearStart::new(10).unwrap());
        assert_eq!(october.period_containing(day("2025-09-30")).first(), day("2024-10-01"));
        assert!(FiscalYearStart::new(13).is_err());
        assert!(FiscalYearStart::new(0).is_err());
    }

    #[test]
    fn quarters_are_calendar_quarters() {
        let q = Interval::Quarter.period_containing(day("2024-05-17"));
        assert_eq!((q.first(), q.last()), (day("2024-04-01"), day("2024-06-30")));
    }

    #[test]
    fn split_clips_the_first_and_last_periods_to_the_range() {
        let months = Periods::split(Interval::Month, day("2024-01-15"), day("2024-03-10"));
        assert_eq!(
            bounds(&months),
            vec![
                ("2024-01-15".into(), "2024-01-31".into()),
                ("2024-02-01".into(), "2024-02-29".into()),
                ("2024-03-01".into(), "2024-03-10".into()),
            ]
        );
        assert_eq!(Periods::split(Interval::Day, day("2024-02-28"), day("2024-03-01")).len(), 3);
        assert!(Periods::split(Interval::Month, day("2024-02-01"), day("2024-01-01")).is_empty());
    }

    #[test]
    fn split_into_fiscal_years_follows_the_start_month() {
        let years =
            Periods::split(Interval::FiscalYear(FiscalYearStart::default()), day("2023-04-01"), day("2025-03-31"));
        assert_eq!(
            bounds(&years),
            vec![("2023-04-01".into(), "2024-03-31".into()), ("2024-04-01".into(), "2025-03-31".into()),]
        );
    }

    #[test]
    fn trailing_twelve_months_start_the_day_after_the_same_date_a_year_earlier() {
        let ttm = trailing_twelve_months(day("2025-03-31")).unwrap();
        assert_eq!(ttm.first(), day("2024-04-01"));
        assert_eq!(ttm.day_before(), day("2024-03-31"));
        let leap = trailing_twelve_months(day("2024-02-29")).unwrap();
        assert_eq!(leap.day_before(), day("2023-02-28"));
    }

    #[test]
    fn periods_going_backwards_are_refused() {
        let jan = YearMonth::new(2025, 1).unwrap().period();
        let feb = YearMonth::new(2025, 2).unwrap().period();
        assert!(Periods::new(vec![jan, feb]).is_ok());
        assert_eq!(Periods::new(vec![feb, jan]), Err(UnorderedPeriods));
    }

    #[test]
    fn year_month_parses_prints_and_steps() {
        let month: YearMonth = "2024-12".parse().unwrap();
        assert_eq!(month.to_string(), "2024-12");
        assert_eq!(month.next().unwrap().to_string(), "2025-01");
        assert_eq!(month.plus_months(-12).unwrap().to_string(), "2023-12");
        assert_eq!(month.months_until("2025-03".parse().unwrap()), 3);
        assert_eq!(YearMonth::new(2024, 2).unwrap().days(), 29);
        assert!("2024-13".parse::<YearMonth>().is_err());
    }
}
