//! The change log every node follows, and the partial rollup reads a resident engine makes.

use chrono::{NaiveDate, TimeDelta, Utc};
use domain::tracking::parse_message;
use domain::usage::Tz;
use domain::AccountId;
use serde_json::{json, Map};
use store::testing::TestStore;
use test_macros::store_test;

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
}

#[store_test]
async fn entries_are_numbered_in_order_read_after_a_number_and_pruned_by_age(t: TestStore) {
    assert_eq!(t.store.last_change().await.unwrap(), 0, "{}", t.label);
    let now = Utc::now();
    let first = t
        .store
        .log_change(false, &[(AccountId(7), Some(day(3))), (AccountId(8), None)], now - TimeDelta::hours(30))
        .await
        .unwrap();
    let second = t.store.log_change(true, &[], now).await.unwrap();
    assert!(second > first, "{}", t.label);
    assert_eq!(t.store.last_change().await.unwrap(), second, "{}", t.label);
    let all = t.store.changes_after(0, 10).await.unwrap();
    assert_eq!(all.len(), 2, "{}", t.label);
    assert_eq!(all[0].origin, t.store.origin(), "{}", t.label);
    assert_eq!(all[0].accounts, vec![(AccountId(7), Some(day(3))), (AccountId(8), None)], "{}", t.label);
    assert!(!all[0].whole && all[1].whole, "{}", t.label);
    let after_first = t.store.changes_after(first, 10).await.unwrap();
    assert_eq!(after_first.iter().map(|c| c.seq).collect::<Vec<_>>(), [second], "{}", t.label);
    t.store.prune_changes(now - TimeDelta::hours(24)).await.unwrap();
    let kept = t.store.changes_after(0, 10).await.unwrap();
    assert_eq!(kept.iter().map(|c| c.seq).collect::<Vec<_>>(), [second], "{}: the day-old entry is gone", t.label);
    t.finish().await;
}

#[store_test]
async fn an_ingest_logs_its_accounts_and_usage_of_some_accounts_reads_only_them_from_the_day_asked(t: TestStore) {
    let one = t.store.create_account(&store::testing::account_input("ACC-1", "One")).await.unwrap().id;
    let two = t.store.create_account(&store::testing::account_input("ACC-2", "Two")).await.unwrap().id;
    let mut messages = Vec::new();
    for (group, date) in [("ACC-1", "2026-11-02"), ("ACC-1", "2026-11-05"), ("ACC-2", "2026-11-05")] {
        let value = json!({"type": "track", "userId": format!("u-{group}"), "event": "Login",
            "messageId": format!("{group}-{date}"), "timestamp": format!("{date}T03:00:00Z"), "context": {"groupId": group}});
        messages.push(parse_message(value, None, &Map::new(), None, Utc::now(), || "generated".into()).unwrap());
    }
    let counts = t.store.ingest(&messages, Utc::now(), false, Tz::Asia__Tokyo).await.unwrap();
    assert_eq!(counts.accounts, vec![(one, day(2)), (two, day(5))], "{}", t.label);
    let logged = t.store.changes_after(0, 10).await.unwrap();
    assert_eq!(logged.len(), 1, "{}: the ingest logs its accounts in its own transaction", t.label);
    assert_eq!(logged[0].origin, t.store.origin(), "{}", t.label);
    assert_eq!(logged[0].accounts, vec![(one, Some(day(2))), (two, Some(day(5)))], "{}", t.label);
    let since = t.store.usage_of(&[one], Some(day(4))).await.unwrap();
    assert_eq!(since.event_days, vec![(one, day(5), 1)], "{}", t.label);
    assert_eq!(since.user_days, vec![(one, day(5), "u-ACC-1".to_owned())], "{}", t.label);
    let whole = t.store.usage_of(&[one], None).await.unwrap();
    assert_eq!(whole.event_days.len(), 2, "{}", t.label);
    assert!(t.store.usage_of(&[], None).await.unwrap().event_days.is_empty(), "{}", t.label);
    t.finish().await;
}
