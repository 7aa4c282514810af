//! Expected periods of use: the weeks, months, quarters or seasons in which a feature with a
//! given cadence should have been used, and what an account did in each.

use super::catalog::{Cadence, Feature, Importance, SeasonWindow};
use chrono::{Datelike, Days, Months, NaiveDate};
use serde::Serialize;

/// A closed range of days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Period {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl Period {
    pub fn contains(&self, day: NaiveDate) -> bool {
        self.start <= day && day <= self.end
    }
}

fn month_start(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

fn months_period(start: NaiveDate, months: u32) -> Period {
    let next = start.checked_add_months(Months::new(months)).unwrap_or(NaiveDate::MAX);
    Period { start, end: next.pred_opt().unwrap_or(next) }
}

/// The day `days` before `day` (the earliest date when that would underflow).
pub fn days_before(day: NaiveDate, days: u64) -> NaiveDate {
    day.checked_sub_days(Days::new(days)).unwrap_or(NaiveDate::MIN)
}

impl SeasonWindow {
    /// The season that starts in `year`; it ends the next year when the window crosses the new year.
    pub fn starting_in(&self, year: i32) -> Period {
        let start = self.start.in_year(year);
        let end_year = if self.end >= self.start { year } else { year + 1 };
        Period { start, end: self.end.in_year(end_year) }
    }

    pub fn containing(&self, day: NaiveDate) -> Option<Period> {
        [day.year() - 1, day.year()].into_iter().map(|year| self.starting_in(year)).find(|season| season.contains(day))
    }

    /// The season under way on `today`, or else the next one; and the one before it.
    pub fn status(&self, today: NaiveDate) -> SeasonStatus {
        let (this, started) = match self.containing(today) {
            Some(season) => (season, true),
            None => {
                let this_year = self.starting_in(today.year());
                (if this_year.start > today { this_year } else { self.starting_in(today.year() + 1) }, false)
            }
        };
        SeasonStatus {
            this,
            started,
            last: self.starting_in(this.start.year() - 1),
            before_last: self.starting_in(this.start.year() - 2),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeasonStatus {
    pub this: Period,
    /// False before this season's first day: its absence of use means nothing yet.
    pub started: bool,
    pub last: Period,
    pub before_last: Period,
}

impl Cadence {
    /// The expected period that contains `day`; `None` for an annual feature outside its season.
    pub fn period_containing(&self, day: NaiveDate) -> Option<Period> {
        Some(match self {
            Cadence::Daily => Period { start: day, end: day },
            Cadence::Weekly => {
                let start = days_before(day, u64::from(day.weekday().num_days_from_monday()));
                Period { start, end: start.checked_add_days(Days::new(6)).unwrap_or(start) }
            }
            Cadence::Monthly => months_period(month_start(day), 1),
            Cadence::Quarterly => {
                let start = NaiveDate::from_ymd_opt(day.year(), (day.month0() / 3) * 3 + 1, 1).unwrap_or(day);
                months_period(start, 3)
            }
            Cadence::Annual(window) => return window.containing(day),
        })
    }

    /// The last `count` expected periods that have started by `today`, oldest first; the
    /// last one may still be under way.
    pub fn recent_periods(&self, today: NaiveDate, count: usize) -> Vec<Period> {
        let mut periods = Vec::with_capacity(count);
        let mut cursor = match self {
            Cadence::Annual(window) => {
                let status = window.status(today);
                if status.started {
                    status.this
                } else {
                    status.last
                }
            }
            _ => self.period_containing(today).unwrap_or(Period { start: today, end: today }),
        };
        while periods.len() < count {
            periods.push(cursor);
            cursor = match self {
                Cadence::Annual(window) => window.starting_in(cursor.start.year() - 1),
                _ => match cursor.start.pred_opt().and_then(|day| self.period_containing(day)) {
                    Some(previous) => previous,
                    None => break,
                },
            };
        }
        periods.reverse();
        periods
    }
}

/// How much an account used a feature in one expected period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PeriodUse {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub uses: i64,
    /// False while the period is still under way.
    pub complete: bool,
}

/// Use of an annual feature this season against last season.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SeasonUse {
    pub this_season: Period,
    pub started: bool,
    pub uses_this_season: i64,
    pub last_season: Period,
    pub uses_last_season: i64,
    /// The season before last: whether a closed season without use broke a habit.
    pub uses_season_before_last: i64,
}

/// What an account did with one feature, as of a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FeatureUse {
    pub feature: String,
    pub name: String,
    /// The English name (the name when none was given).
    pub name_en: String,
    pub cadence: &'static str,
    pub importance: Importance,
    pub last_used: Option<NaiveDate>,
    /// The most recent expected periods, oldest first.
    pub periods: Vec<PeriodUse>,
    /// For annual features.
    pub season: Option<SeasonUse>,
}

/// Uses within a period, over days sorted by day.
fn uses_in(days: &[(NaiveDate, i64)], period: Period) -> i64 {
    let start = days.partition_point(|(day, _)| *day < period.start);
    days[start..].iter().take_while(|(day, _)| *day <= period.end).map(|(_, uses)| uses).sum()
}

/// A feature's expected periods (and season) as of a day: the same for every account, so
/// scoring many accounts computes it once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureCalendar {
    pub today: NaiveDate,
    pub periods: Vec<Period>,
    pub season: Option<SeasonStatus>,
}

impl FeatureCalendar {
    pub fn new(cadence: &Cadence, today: NaiveDate, periods: usize) -> FeatureCalendar {
        FeatureCalendar {
            today,
            periods: cadence.recent_periods(today, periods),
            season: cadence.season().map(|window| window.status(today)),
        }
    }
}

/// Summarises an account's daily uses of a feature, given sorted by day (days after `today`
/// are ignored).
pub fn feature_use(feature: &Feature, days: &[(NaiveDate, i64)], today: NaiveDate, periods: usize) -> FeatureUse {
    feature_use_on(feature, &FeatureCalendar::new(&feature.definition.cadence, today, periods), days)
}

/// `feature_use` with the feature's calendar computed beforehand.
pub fn feature_use_on(feature: &Feature, calendar: &FeatureCalendar, days: &[(NaiveDate, i64)]) -> FeatureUse {
    debug_assert!(days.windows(2).all(|w| w[0].0 <= w[1].0), "days must be sorted");
    let today = calendar.today;
    let days = &days[..days.partition_point(|(day, _)| *day <= today)];
    let d = &feature.definition;
    let season = calendar.season.map(|status| SeasonUse {
        this_season: status.this,
        started: status.started,
        uses_this_season: uses_in(days, status.this),
        last_season: status.last,
        uses_last_season: uses_in(days, status.last),
        uses_season_before_last: uses_in(days, status.before_last),
    });
    FeatureUse {
        feature: d.key.to_string(),
        name: d.name.clone(),
        name_en: d.name_en.clone().unwrap_or_else(|| d.name.clone()),
        cadence: d.cadence.name(),
        importance: d.importance,
        last_used: days.iter().rev().find(|(_, uses)| *uses > 0).map(|(day, _)| *day),
        periods: calendar
            .periods
            .iter()
            .map(|period| PeriodUse {
                start: period.start,
                end: period.end,
                uses: uses_in(days, *period),
                complete: period.end < today,
            })
            .collect(),
        season,
    }
}

/// The step of a usage time series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    Day,
    Week,
    Month,
}

impl Granularity {
    pub fn parse(raw: &str) -> Result<Granularity, crate::Reason> {
        match raw {
            "day" => Ok(Granularity::Day),
            "week" => Ok(Granularity::Week),
            "month" => Ok(Granularity::Month),
            _ => Err(crate::Reason::NotOneOf { allowed: vec!["day".into(), "week".into(), "month".into()] }),
        }
    }

    fn cadence(self) -> Cadence {
        match self {
            Granularity::Day => Cadence::Daily,
            Granularity::Week => Cadence::Weekly,
            Granularity::Month => Cadence::Monthly,
        }
    }

    /// The first day of the step containing `day` (weeks start on Monday).
    pub fn bucket(self, day: NaiveDate) -> NaiveDate {
        self.cadence().period_containing(day).map_or(day, |p| p.start)
    }
}

/// Sums daily values into steps from `from` to `to`, with a zero for every empty step.
pub fn time_series(
    days: &[(NaiveDate, i64)],
    from: NaiveDate,
    to: NaiveDate,
    step: Granularity,
) -> Vec<(NaiveDate, i64)> {
    let mut series: Vec<(NaiveDate, i64)> = Vec::new();
    let mut cursor = step.bucket(from);
    while cursor <= to {
        series.push((cursor, 0));
        cursor = match step.cadence().period_containing(cursor).and_then(|p| p.end.succ_opt()) {
            Some(next) => next,
            None => break,
        };
    }
    for (day, value) in days.iter().filter(|(day, _)| from <= *day && *day <= to) {
        let bucket = step.bucket(*day);
        if let Ok(i) = series.binary_search_by_key(&bucket, |(start, _)| *start) {
            series[i].1 += value;
        }
    }
    series
}

/// Active users over seats, when the seat count is known and positive.
pub fn seat_activation(active_users: i64, seats: Option<i64>) -> Option<f64> {
    seats.filter(|s| *s > 0).map(|seats| active_users as f64 / seats as f64)
}

/// The seat base: the account's employees, else the quantity of its main subscription.
pub fn seats(employees: Option<i64>, main_subscription_quantity: Option<i64>) -> Option<i64> {
    employees.filter(|e| *e > 0).or(main_subscription_quantity.filter(|q| *q > 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::catalog::FeatureDefinition;
    use serde_json::json;

    fn day(raw: &str) -> NaiveDate {
        raw.parse().unwrap()
    }

    fn year_end() -> SeasonWindow {
        SeasonWindow::parse("11-01..01-31").unwrap()
    }

    #[test]
    fn a_season_crossing_the_new_year_is_named_by_its_start() {
        let season = year_end().containing(day("2026-01-15")).unwrap();
        assert_eq!((season.start, season.end), (day("2025-11-01"), day("2026-01-31")));
        assert_eq!(year_end().containing(day("2026-02-01")), None);
    }

    #[test]
    fn season_status_at_its_boundaries() {
        let before = year_end().status(day("2026-10-31"));
        assert!(!before.started);
        assert_eq!(before.this.start, day("2026-11-01"));
        assert_eq!(before.last.start, day("2025-11-01"));
        let first_day = year_end().status(day("2026-11-01"));
        assert!(first_day.started);
        assert_eq!(first_day.last.end, day("2026-01-31"));
        let last_day = year_end().status(day("2027-01-31"));
        assert!(last_day.started);
        assert_eq!(last_day.this.start, day("2026-11-01"));
        let after = year_end().status(day("2027-02-01"));
        assert!(!after.started);
        assert_eq!(after.this.start, day("2027-11-01"));
        assert_eq!(after.last.start, day("2026-11-01"));
    }

    #[test]
    fn periods_of_each_cadence() {
        let today = day("2026-11-23");
        let p = |c: Cadence| c.period_containing(today).unwrap();
        assert_eq!(p(Cadence::Weekly), Period { start: day("2026-11-23"), end: day("2026-11-29") });
        assert_eq!(p(Cadence::Monthly), Period { start: day("2026-11-01"), end: day("2026-11-30") });
        assert_eq!(p(Cadence::Quarterly), Period { start: day("2026-10-01"), end: day("2026-12-31") });
        let months = Cadence::Monthly.recent_periods(today, 3);
        assert_eq!(
            months.iter().map(|p| p.start).collect::<Vec<_>>(),
            [day("2026-09-01"), day("2026-10-01"), day("2026-11-01")]
        );
        let seasons = Cadence::Annual(year_end()).recent_periods(day("2026-10-01"), 2);
        assert_eq!(seasons.iter().map(|p| p.start).collect::<Vec<_>>(), [day("2024-11-01"), day("2025-11-01")]);
    }

    #[test]
    fn feature_use_counts_each_period_and_both_seasons() {
        let feature = Feature {
            id: 1,
            definition: FeatureDefinition::parse(json!({
                "key": "yea", "name": "年末調整", "event": "YEA Submitted", "cadence": "annual",
                "season": "11-01..01-31", "importance": "core"
            }))
            .unwrap(),
        };
        let days = [(day("2025-12-10"), 4), (day("2026-01-05"), 1), (day("2026-11-25"), 9)];
        let summary = feature_use(&feature, &days, day("2026-11-20"), 2);
        let season = summary.season.unwrap();
        assert!(season.started);
        assert_eq!((season.uses_this_season, season.uses_last_season), (0, 5));
        assert_eq!(summary.last_used, Some(day("2026-01-05")));
        assert_eq!(summary.periods.last().map(|p| (p.uses, p.complete)), Some((0, false)));
    }

    #[test]
    fn time_series_fills_empty_steps_with_zero() {
        let days = [(day("2026-01-05"), 2), (day("2026-01-20"), 3), (day("2026-03-01"), 1)];
        let series = time_series(&days, day("2026-01-01"), day("2026-03-31"), Granularity::Month);
        assert_eq!(series, vec![(day("2026-01-01"), 5), (day("2026-02-01"), 0), (day("2026-03-01"), 1)]);
        let weeks = time_series(&days, day("2026-01-05"), day("2026-01-18"), Granularity::Week);
        assert_eq!(weeks, vec![(day("2026-01-05"), 2), (day("2026-01-12"), 0)]);
    }

    #[test]
    fn seats_prefer_employees_then_the_main_subscription() {
        assert_eq!(seats(Some(120), Some(80)), Some(120));
        assert_eq!(seats(None, Some(80)), Some(80));
        assert_eq!(seats(Some(0), None), None);
        assert_eq!(seat_activation(30, Some(120)), Some(0.25));
        assert_eq!(seat_activation(30, None), None);
    }
}
