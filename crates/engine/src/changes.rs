//! Which accounts the resident portfolio must re-read: changes made on this node (marked after
//! each commit) and on others (followed through the database's change log, whose entries are
//! numbered in order but may become visible slightly out of order on PostgreSQL).

use chrono::NaiveDate;
use domain::AccountId;
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

/// What changed about one account: its usage from a day on, or everything (`since: None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub account: AccountId,
    pub since: Option<NaiveDate>,
}

impl Change {
    /// Everything about the account (its record, subscriptions, pulses, answers …).
    pub fn everything(account: AccountId) -> Change {
        Change { account, since: None }
    }

    /// Its usage rollups from `day` on.
    pub fn usage_since(account: AccountId, day: NaiveDate) -> Change {
        Change { account, since: Some(day) }
    }
}

/// Changes not yet read into the portfolio.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pending {
    /// Reload everything (a catalog edit, a rollup rebuild, the hourly safety net).
    pub whole: bool,
    pub accounts: HashMap<AccountId, Option<NaiveDate>>,
}

impl Pending {
    pub fn is_empty(&self) -> bool {
        !self.whole && self.accounts.is_empty()
    }

    /// Adds a change; a change to everything about an account covers one from a day, and of two
    /// days the earlier covers the later.
    pub fn mark(&mut self, change: Change) {
        let since = self.accounts.entry(change.account).or_insert(change.since);
        *since = match (*since, change.since) {
            (Some(a), Some(b)) => Some(a.min(b)),
            _ => None,
        };
    }

    /// Puts back what was taken, when reading it failed.
    pub fn merge(&mut self, other: Pending) {
        self.whole |= other.whole;
        other.accounts.into_iter().for_each(|(account, since)| self.mark(Change { account, since }));
    }

    /// The accounts to re-read in full, and those whose usage to re-read from a day (grouped by
    /// day, so one read serves every account of a day).
    pub fn split(&self) -> (Vec<AccountId>, Vec<(NaiveDate, Vec<AccountId>)>) {
        let mut everything = Vec::new();
        let mut by_day: HashMap<NaiveDate, Vec<AccountId>> = HashMap::new();
        for (account, since) in &self.accounts {
            match since {
                None => everything.push(*account),
                Some(day) => by_day.entry(*day).or_default().push(*account),
            }
        }
        everything.sort_unstable();
        let mut days: Vec<(NaiveDate, Vec<AccountId>)> = by_day.into_iter().collect();
        days.sort_unstable();
        days.iter_mut().for_each(|(_, ids)| ids.sort_unstable());
        (everything, days)
    }
}

/// How long a missing entry number is waited for before it is taken as never coming (a
/// transaction that took a number and rolled back).
pub const GAP_WAIT: Duration = Duration::from_secs(10);

/// Where a node is in the change log. Entries are read from just after the first number not
/// yet accounted for, so one that becomes visible after a higher one is still read; each is
/// applied once.
#[derive(Debug, Clone, Default)]
pub struct Follower {
    /// Every entry numbered below this has been applied or given up.
    next: i64,
    /// Applied entries numbered `next` or above.
    applied: BTreeSet<i64>,
    /// Since when `next` has been missing while a later entry was applied (time since start).
    gap_since: Option<Duration>,
}

impl Follower {
    /// Starts after entry `last` (what exists when the node loads its portfolio).
    pub fn after(last: i64) -> Follower {
        Follower { next: last + 1, applied: BTreeSet::new(), gap_since: None }
    }

    /// The number to read after (`changes_after`).
    pub fn read_after(&self) -> i64 {
        self.next - 1
    }

    /// Whether an entry read now is new; remembers it.
    pub fn take(&mut self, seq: i64) -> bool {
        seq >= self.next && self.applied.insert(seq)
    }

    /// Moves past applied entries, and past a missing one waited for longer than `GAP_WAIT`;
    /// `now` is the time since any fixed start.
    pub fn advance(&mut self, now: Duration) {
        loop {
            while self.applied.remove(&self.next) {
                self.next += 1;
            }
            let Some(first) = self.applied.first().copied() else {
                self.gap_since = None;
                return;
            };
            let since = *self.gap_since.get_or_insert(now);
            if now.saturating_sub(since) < GAP_WAIT {
                return;
            }
            self.next = first;
            self.gap_since = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
    }

    #[test]
    fn a_change_to_everything_covers_a_change_from_a_day_and_the_earlier_day_wins() {
        let mut pending = Pending::default();
        pending.mark(Change::usage_since(AccountId(1), day(5)));
        pending.mark(Change::usage_since(AccountId(1), day(3)));
        pending.mark(Change::usage_since(AccountId(2), day(5)));
        pending.mark(Change::everything(AccountId(2)));
        pending.mark(Change::usage_since(AccountId(2), day(1)));
        assert_eq!(pending.accounts[&AccountId(1)], Some(day(3)));
        assert_eq!(pending.accounts[&AccountId(2)], None);
        let (everything, days) = pending.split();
        assert_eq!(everything, vec![AccountId(2)]);
        assert_eq!(days, vec![(day(3), vec![AccountId(1)])]);
    }

    #[test]
    fn an_entry_that_appears_after_a_later_one_is_still_read_once() {
        let mut follower = Follower::after(10);
        assert_eq!(follower.read_after(), 10);
        // 12 is visible, 11 not yet: 11 is waited for.
        assert!(follower.take(12));
        follower.advance(Duration::from_secs(0));
        assert_eq!(follower.read_after(), 10);
        assert!(!follower.take(12), "12 was applied already");
        assert!(follower.take(11));
        follower.advance(Duration::from_secs(1));
        assert_eq!(follower.read_after(), 12);
    }

    #[test]
    fn a_number_never_used_is_given_up_after_the_wait() {
        let mut follower = Follower::after(0);
        assert!(follower.take(2));
        follower.advance(Duration::from_secs(100));
        assert_eq!(follower.read_after(), 0);
        follower.advance(Duration::from_secs(100) + GAP_WAIT);
        assert_eq!(follower.read_after(), 2);
        assert!(!follower.take(1), "a number given up is not applied later");
    }
}
