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
    fn daily_series_add_and_subtract_by_day() {
        let a = vec![(day("2026-01-01"), 3), (day("2026-01-03"), 1)];
        let b = vec![(day("2026-01-01"), 1), (day("2026-01-02"), 5)];
        assert_eq!(sum_daily(&[&a, &b]), vec![(day("2026-01-01"), 4), (day("2026-01-02"), 5), (day("2026-01-03"), 1)]);
        assert_eq!(subtract_daily(&a, &b), vec![(day("2026-01-01"), 2), (day("2026-01-03"), 1)]);
        assert_eq!(subtract_daily(&b, &a), vec![(day("2026-01-01"), 0), (day("2026-01-02"), 5)]);
    }
}
