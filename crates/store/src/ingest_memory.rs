//! What the store remembers between its own ingests, to skip reads and writes that would change
//! nothing: the recent message keys (deduplication), the feature catalog of the usage version it
//! last saw, accounts by external id, the end users it has read or written, and the active
//! end-user days it has stored. Accounts, people and days are trusted only while no other
//! process has ingested (no foreign batch since) and the usage version is unchanged (catalog
//! edits, rollup rebuilds, account edits and deletions move it on); otherwise they are forgotten.

use crate::event_batches::RecentMessages;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use domain::usage::Feature;
use foldhash::{HashMap, HashSet};
use std::sync::Arc;

/// Entries kept before the people or day cache is emptied and refilled from the database.
const MAX_ENTRIES: usize = 1_000_000;

/// `last_seen` is rewritten only once it moves on by this much: end users are "seen" to the minute.
pub(crate) const LAST_SEEN_STEP: TimeDelta = TimeDelta::minutes(1);

#[derive(Default)]
pub(crate) struct IngestMemory {
    pub recent: RecentMessages,
    pub accounts: HashMap<String, i64>,
    pub people: HashMap<String, KnownPerson>,
    pub active_days: HashSet<(i64, NaiveDate, String)>,
    /// The feature catalog of `version`.
    pub features: Option<Arc<Vec<Feature>>>,
    version: Option<i64>,
}

impl IngestMemory {
    /// Keeps people and days only if nobody else ingested and the usage version is the one seen last.
    pub(crate) fn check(&mut self, foreign_batches: bool, version: i64) {
        if foreign_batches || self.version != Some(version) || self.accounts.len() > MAX_ENTRIES {
            self.accounts.clear();
        }
        if foreign_batches || self.version != Some(version) || self.people.len() > MAX_ENTRIES {
            self.people.clear();
        }
        if foreign_batches || self.version != Some(version) || self.active_days.len() > MAX_ENTRIES {
            self.active_days.clear();
        }
        if self.version != Some(version) {
            self.features = None;
        }
        self.version = Some(version);
    }

    /// After a failed transaction nothing it meant to write can be assumed stored.
    pub(crate) fn forget(&mut self) {
        self.accounts.clear();
        self.people.clear();
        self.active_days.clear();
        self.features = None;
        self.version = None;
    }
}

/// An end user's row as stored.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KnownPerson {
    pub account: Option<i64>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub role: Option<String>,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

impl KnownPerson {
    /// Whether `next` (this row merged with what an ingest saw) must be written: any field but
    /// `last_seen` changed, or `last_seen` moved on by `LAST_SEEN_STEP`.
    pub(crate) fn needs_writing(&self, next: &KnownPerson) -> bool {
        self.account != next.account
            || self.email != next.email
            || self.name != next.name
            || self.role != next.role
            || self.first_seen != next.first_seen
            || next.last_seen - self.last_seen >= LAST_SEEN_STEP
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(last: &str) -> KnownPerson {
        KnownPerson {
            account: Some(1),
            email: None,
            name: None,
            role: None,
            first_seen: "2026-11-01T09:00:00Z".parse().unwrap(),
            last_seen: last.parse().unwrap(),
        }
    }

    #[test]
    fn last_seen_is_rewritten_once_it_moves_on_by_a_minute() {
        let stored = person("2026-11-01T09:00:00Z");
        assert!(!stored.needs_writing(&person("2026-11-01T09:00:59Z")));
        assert!(stored.needs_writing(&person("2026-11-01T09:01:00Z")));
        let moved = KnownPerson { account: Some(2), ..stored.clone() };
        assert!(stored.needs_writing(&moved), "a new group is written at once");
    }

    #[test]
    fn another_process_or_a_new_version_empties_the_caches() {
        let mut memory = IngestMemory::default();
        memory.check(false, 3);
        memory.people.insert("u1".into(), person("2026-11-01T09:00:00Z"));
        memory.check(false, 3);
        assert_eq!(memory.people.len(), 1, "same version, no foreign batches: kept");
        memory.check(true, 3);
        assert!(memory.people.is_empty(), "another process ingested");
        memory.people.insert("u1".into(), person("2026-11-01T09:00:00Z"));
        memory.check(false, 4);
        assert!(memory.people.is_empty(), "the usage version moved");
    }

    #[test]
    fn the_feature_catalog_is_kept_until_the_usage_version_moves() {
        let mut memory = IngestMemory::default();
        memory.check(false, 3);
        memory.features = Some(Arc::new(Vec::new()));
        memory.check(true, 3);
        assert!(memory.features.is_some(), "other processes' ingests leave the catalog as it was");
        memory.check(false, 4);
        assert!(memory.features.is_none(), "a catalog edit moves the version");
    }
}
