//! An account's usage in a recent window against its own baseline just before: what the usage,
//! active-day and per-user trends compare. Counted once per account and day from daily series.

use super::scorecard::ActivityKey;
use crate::usage::days_before;
use chrono::NaiveDate;

/// Uses, active days and distinct active users in the recent window and in the baseline before
/// it. The baseline starts no earlier than the account's first activity, so a young account is
/// compared only with the days it existed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ActivityWindow {
    pub recent_days: u32,
    pub recent_uses: i64,
    pub recent_active_days: u32,
    pub recent_users: u32,
    /// Days of the baseline window the account existed in.
    pub baseline_days: u32,
    pub baseline_uses: i64,
    pub baseline_active_days: u32,
    pub baseline_users: u32,
}

/// Sums over days sorted by day within `from..=to`.
fn in_range<T>(days: &[(NaiveDate, T)], from: NaiveDate, to: NaiveDate) -> &[(NaiveDate, T)] {
    let start = days.partition_point(|(day, _)| *day < from);
    let end = days.partition_point(|(day, _)| *day <= to);
    &days[start..end.max(start)]
}

/// Counts one window of `uses` (day, uses; one entry per day) and `users` (day, user), both
/// sorted by day. Active days are days with a use, or with an active user when
/// `users_make_active_days`. Sorted input lets both counts merge without hashing.
fn count(
    uses: &[(NaiveDate, i64)],
    users: &[(NaiveDate, u32)],
    users_make_active_days: bool,
    from: NaiveDate,
    to: NaiveDate,
) -> (i64, u32, u32) {
    let uses = in_range(uses, from, to);
    let users = in_range(users, from, to);
    let used_days = uses.iter().filter(|(_, n)| *n > 0).map(|(day, _)| *day);
    let active_days = if users_make_active_days {
        let mut days: Vec<NaiveDate> = used_days.chain(users.iter().map(|(day, _)| *day)).collect();
        days.sort_unstable();
        days.dedup();
        days.len()
    } else {
        used_days.count()
    };
    let mut people: Vec<u32> = users.iter().map(|(_, user)| *user).collect();
    people.sort_unstable();
    people.dedup();
    (uses.iter().map(|(_, n)| n).sum(), active_days as u32, people.len() as u32)
}

/// The window of `key` ending the day before `as_of`. `users_make_active_days` is true when the
/// uses are all the account's events (an active user is activity then; not for one feature's uses).
///
/// Only whole days are compared: while `as_of` is under way its few uses would pull the recent
/// rate down every morning and back up by evening, and an account near a floor would change grade
/// twice a day.
pub fn activity_window(
    key: &ActivityKey,
    as_of: NaiveDate,
    uses: &[(NaiveDate, i64)],
    users: &[(NaiveDate, u32)],
    users_make_active_days: bool,
) -> ActivityWindow {
    let recent_to = days_before(as_of, 1);
    let recent_from = days_before(recent_to, u64::from(key.recent_days.saturating_sub(1)));
    let baseline_to = days_before(recent_from, 1);
    let first_activity = [
        uses.iter().find(|(_, n)| *n > 0).map(|(day, _)| *day),
        users_make_active_days.then(|| users.first().map(|(day, _)| *day)).flatten(),
    ]
    .into_iter()
    .flatten()
    .min();
    let baseline_from =
        days_before(baseline_to, u64::from(key.baseline_days.saturating_sub(1))).max(first_activity.unwrap_or(as_of));
    let baseline_days = if baseline_from <= baseline_to { (baseline_to - baseline_from).num_days() + 1 } else { 0 };
    let (recent_uses, recent_active_days, recent_users) =
        count(uses, users, users_make_active_days, recent_from, recent_to);
    let (baseline_uses, baseline_active_days, baseline_users) =
        count(uses, users, users_make_active_days, baseline_from, baseline_to);
    ActivityWindow {
        recent_days: key.recent_days,
        recent_uses,
        recent_active_days,
        recent_users,
        baseline_days: u32::try_from(baseline_days).unwrap_or(0),
        baseline_uses,
        baseline_active_days,
        baseline_users,
    }
}

/// How the whole book used the product in a window against its own habit: the median, over the
/// paying accounts with a baseline to compare with, of each one's pace (uses, active days, uses
/// per active user: recent rate ÷ baseline rate). A quiet August or the New Year break is the
/// calendar's doing, not one customer's drift, and a trend measure allows for it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BookPace {
    pub uses: f64,
    pub active_days: f64,
    pub per_user: f64,
}

/// With fewer accounts than this to compare, the book's pace is not known: in a small book one
/// customer's slump would move the median and excuse itself.
pub const MIN_BOOK_ACCOUNTS: usize = 30;
/// A book-wide lull excuses at most half of an account's drop, so a collapse still shows.
const MOST_ALLOWED: f64 = 0.5;

impl ActivityWindow {
    /// This window's paces (uses, active days, uses per active user), when its baseline covers at
    /// least twice the recent window and has use in it.
    fn paces(&self) -> Option<(f64, Option<f64>, Option<f64>)> {
        let (recent_days, baseline_days) = (f64::from(self.recent_days.max(1)), f64::from(self.baseline_days));
        if self.baseline_days < self.recent_days.saturating_mul(2) || self.baseline_uses <= 0 {
            return None;
        }
        let rate = |n: f64, days: f64| n / days;
        let uses = rate(self.recent_uses as f64, recent_days) / rate(self.baseline_uses as f64, baseline_days);
        let active_days = (self.baseline_active_days > 0).then(|| {
            rate(f64::from(self.recent_active_days), recent_days)
                / rate(f64::from(self.baseline_active_days), baseline_days)
        });
        let per_user = (self.baseline_users > 0 && self.recent_users > 0).then(|| {
            rate(self.recent_uses as f64 / f64::from(self.recent_users), recent_days)
                / rate(self.baseline_uses as f64 / f64::from(self.baseline_users), baseline_days)
        });
        Some((uses, active_days, per_user))
    }
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.len() < MIN_BOOK_ACCOUNTS {
        return None;
    }
    values.sort_unstable_by(f64::total_cmp);
    let middle = values.len() / 2;
    Some(if values.len().is_multiple_of(2) { (values[middle - 1] + values[middle]) / 2.0 } else { values[middle] })
}

impl BookPace {
    /// The book's pace from every paying account's window; `None` with too few to compare.
    pub fn of<'a>(windows: impl IntoIterator<Item = &'a ActivityWindow>) -> Option<BookPace> {
        let (mut uses, mut active_days, mut per_user) = (Vec::new(), Vec::new(), Vec::new());
        for (u, a, p) in windows.into_iter().filter_map(ActivityWindow::paces) {
            uses.push(u);
            active_days.extend(a);
            per_user.extend(p);
        }
        let uses = median(uses)?;
        Some(BookPace {
            uses,
            active_days: median(active_days).unwrap_or(uses),
            per_user: median(per_user).unwrap_or(uses),
        })
    }

    /// What a trend of this kind is divided by: the book's pace while it ran below its habit
    /// (never below half), else 1.
    pub fn allowance(&self, kind: super::MeasureType) -> f64 {
        let pace = match kind {
            super::MeasureType::ActiveDaysTrend => self.active_days,
            super::MeasureType::UserActivityTrend => self.per_user,
            _ => self.uses,
        };
        pace.clamp(MOST_ALLOWED, 1.0)
    }
}

/// Adds daily series (each sorted by day) into one, sorted by day.
pub fn sum_daily(series: &[&[(NaiveDate, i64)]]) -> Vec<(NaiveDate, i64)> {
    let mut all: Vec<(NaiveDate, i64)> = series.iter().flat_map(|s| s.iter().copied()).collect();
    all.sort_unstable_by_key(|(day, _)| *day);
    let mut summed: Vec<(NaiveDate, i64)> = Vec::with_capacity(all.len());
    for (day, n) in all {
        match summed.last_mut() {
            Some((last, total)) if *last == day => *total += n,
            _ => summed.push((day, n)),
        }
    }
    summed
}

/// `total` less `part` day by day (never below zero); both sorted by day.
pub fn subtract_daily(total: &[(NaiveDate, i64)], part: &[(NaiveDate, i64)]) -> Vec<(NaiveDate, i64)> {
    let mut rest = part.iter().peekable();
    total
        .iter()
        .map(|(day, n)| {
            while rest.next_if(|(d, _)| d < day).is_some() {}
            let taken = rest.next_if(|(d, _)| d == day).map_or(0, |(_, m)| *m);
            (*day, (n - taken).max(0))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::scorecard::ActivityScope;

    fn day(raw: &str) -> NaiveDate {
        raw.parse().unwrap()
    }

    fn key() -> ActivityKey {
        ActivityKey { feature: None, scope: ActivityScope::All, recent_days: 30, baseline_days: 90 }
    }

    /// `per_day` uses every day from `from` to `to`.
    fn daily(from: &str, to: &str, per_day: i64) -> Vec<(NaiveDate, i64)> {
        day(from).iter_days().take_while(|d| *d <= day(to)).map(|d| (d, per_day)).collect()
    }

    #[test]
    fn the_windows_split_at_the_recent_days_and_the_baseline_starts_at_first_activity() {
        let uses = daily("2026-01-01", "2026-06-30", 2);
        let w = activity_window(&key(), day("2026-06-30"), &uses, &[], true);
        assert_eq!((w.recent_days, w.recent_uses, w.recent_active_days), (30, 60, 30));
        assert_eq!((w.baseline_days, w.baseline_uses, w.baseline_active_days), (90, 180, 90));
        let young = daily("2026-05-01", "2026-06-30", 2);
        let w = activity_window(&key(), day("2026-06-30"), &young, &[], true);
        assert_eq!((w.baseline_days, w.baseline_uses), (30, 60), "May only: the account did not exist before");
    }

    #[test]
    fn the_day_under_way_is_left_out_so_its_first_uses_do_not_move_the_recent_rate() {
        let mut uses = daily("2026-01-01", "2026-06-29", 2);
        let morning = activity_window(&key(), day("2026-06-30"), &uses, &[], true);
        uses.push((day("2026-06-30"), 1));
        let users = vec![(day("2026-06-30"), 7)];
        let evening = activity_window(&key(), day("2026-06-30"), &uses, &users, true);
        assert_eq!(morning, evening);
        assert_eq!((morning.recent_uses, morning.recent_active_days, morning.recent_users), (60, 30, 0));
    }

    #[test]
    fn users_count_distinct_people_and_active_days_when_asked() {
        let users = vec![(day("2026-06-01"), 1), (day("2026-06-02"), 1), (day("2026-06-02"), 2)];
        let w = activity_window(&key(), day("2026-06-30"), &[], &users, true);
        assert_eq!((w.recent_users, w.recent_active_days), (2, 2));
        let w = activity_window(&key(), day("2026-06-30"), &[], &users, false);
        assert_eq!((w.recent_users, w.recent_active_days), (2, 0), "a feature's active days are its uses");
    }

    #[test]
    fn the_books_pace_is_the_median_accounts_and_excuses_at_most_half_a_drop() {
        let window = |recent: i64| ActivityWindow {
            recent_days: 30,
            recent_uses: recent,
            recent_active_days: 20,
            recent_users: 2,
            baseline_days: 90,
            baseline_uses: 300,
            baseline_active_days: 60,
            baseline_users: 2,
        };
        let quiet: Vec<ActivityWindow> = (0..31).map(|i| window(70 + i)).collect();
        let pace = BookPace::of(&quiet).unwrap();
        assert!((pace.uses - 0.85).abs() < 1e-9, "{pace:?}");
        assert_eq!(pace.allowance(crate::health::MeasureType::UsageTrend), pace.uses);
        assert_eq!(BookPace::of(&quiet[..29]), None, "too few accounts to know the book's pace");
        let collapse: Vec<ActivityWindow> = (0..31).map(|_| window(10)).collect();
        assert_eq!(BookPace::of(&collapse).unwrap().allowance(crate::health::MeasureType::UsageTrend), 0.5);
        let busy: Vec<ActivityWindow> = (0..31).map(|_| window(200)).collect();
        assert_eq!(BookPace::of(&busy).unwrap().allowance(crate::health::MeasureType::UsageTrend), 1.0);
        let young = ActivityWindow { baseline_days: 40, ..window(100) };
        assert_eq!(young.paces(), None, "a baseline shorter than twice the recent window tells nothing");
    }

    #[test]
    fn daily_series_add_and_subtract_by_day() {
        let a = vec![(day("2026-01-01"), 3), (day("2026-01-03"), 1)];
        let b = vec![(day("2026-01-01"), 1), (day("2026-01-02"), 5)];
        assert_eq!(sum_daily(&[&a, &b]), vec![(day("2026-01-01"), 4), (day("2026-01-02"), 5), (day("2026-01-03"), 1)]);
        assert_eq!(subtract_daily(&a, &b), vec![(day("2026-01-01"), 2), (day("2026-01-03"), 1)]);
        assert_eq!(subtract_daily(&b, &a), vec![(day("2026-01-01"), 0), (day("2026-01-02"), 5)]);
    }
}
