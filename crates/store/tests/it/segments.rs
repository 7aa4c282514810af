//! The segment store contract, on SQLite and (with TEST_DATABASE_URL) PostgreSQL.

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use domain::account::AccountInput;
use domain::subscription::AccountFigures;
use domain::{AccountId, Money};
use rust_decimal::Decimal;
use store::testing::TestStore;
use store::{Entity, HistoryQuery, SegmentInput, Store, StoreError};
use test_macros::store_test;

fn account(external: &str, name: &str) -> AccountInput {
    store::testing::account_input(external, name)
}

fn segment(name: &str, rule: &str) -> SegmentInput {
    SegmentInput {
        name: name.into(),
        name_en: Some(format!("{name} (en)")),
        rule: rule.into(),
        description: Some("説明".into()),
    }
}

/// Three accounts with ARR 1,200 / 2,400 / 3,600.
async fn accounts(store: &dyn Store) -> Vec<AccountId> {
    let mut ids = Vec::new();
    let mut figures = Vec::new();
    for (n, name) in ["Alpha", "Beta", "Gamma"].iter().enumerate() {
        let id = store.create_account(&account(&format!("a{n}"), name)).await.unwrap().id;
        let mrr = Money(Decimal::from(100 * (n as i64 + 1)));
        figures.push((
            id,
            AccountFigures {
                mrr,
                arr: Money(mrr.0 * Decimal::from(12)),
                first_paying_day: None,
                next_renewal_date: None,
                churned_on: None,
            },
        ));
        ids.push(id);
    }
    store.save_figures(&figures, NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()).await.unwrap();
    ids
}

#[store_test]
async fn segments_round_trip_refuse_duplicate_names_and_report_missing_ids(t: TestStore) {
    let at = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap();
    let created = t.store.create_segment(&segment("大口", "arr >= 1000"), at).await.unwrap();
    assert_eq!(
        (created.name.as_str(), created.name_en.as_deref(), created.rule.as_str(), created.created_at),
        ("大口", Some("大口 (en)"), "arr >= 1000", at),
        "{}",
        t.label
    );
    assert_eq!(t.store.get_segment(created.id).await.unwrap(), created, "{}", t.label);
    let taken = t.store.create_segment(&segment("大口", "arr > 0"), at).await.unwrap_err();
    assert!(matches!(taken, StoreError::Conflict { entity: Entity::Segment, field: "name" }), "{}: {taken:?}", t.label);

    let later = at + Duration::hours(1);
    let other = t.store.create_segment(&segment("other", "arr > 0"), at).await.unwrap();
    let renamed = t
        .store
        .update_segment(created.id, &SegmentInput { description: None, ..segment("Big", "arr >= 2000") }, later)
        .await
        .unwrap();
    assert_eq!(
        (renamed.name.as_str(), renamed.description.as_deref(), renamed.created_at, renamed.updated_at),
        ("Big", None, at, later)
    );
    let clash = t.store.update_segment(other.id, &segment("Big", "arr > 0"), later).await.unwrap_err();
    assert!(matches!(clash, StoreError::Conflict { .. }), "{}", t.label);

    let names: Vec<String> = t.store.list_segments().await.unwrap().into_iter().map(|s| s.segment.name).collect();
    assert_eq!(names, ["Big", "other"], "{}", t.label);
    t.store.delete_segment(other.id).await.unwrap();
    for missing in
        [t.store.get_segment(other.id).await.unwrap_err(), t.store.delete_segment(other.id).await.unwrap_err()]
    {
        assert!(matches!(missing, StoreError::NotFound { entity: Entity::Segment, .. }), "{}", t.label);
    }
    let update_missing = t.store.update_segment(other.id, &segment("x", "arr > 0"), later).await.unwrap_err();
    assert!(matches!(update_missing, StoreError::NotFound { .. }), "{}", t.label);
    t.finish().await;
}

#[store_test]
async fn membership_changes_keep_members_history_count_and_arr_in_step(t: TestStore) {
    let ids = accounts(t.store.as_ref()).await;
    let at = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap();
    let big = t.store.create_segment(&segment("big", "arr > 0"), at).await.unwrap();
    let other = t.store.create_segment(&segment("other", "arr > 0"), at).await.unwrap();

    let first = t.store.apply_membership(big.id, &[ids[2], ids[0], ids[1]], &[], at).await.unwrap();
    assert_eq!(first.entered, [ids[0], ids[1], ids[2]], "{}", t.label);
    // Applying the same move again changes nothing and records nothing.
    let again = t.store.apply_membership(big.id, &[ids[0]], &[], at).await.unwrap();
    assert!(again.entered.is_empty() && again.left.is_empty(), "{}", t.label);

    let page = t.store.segment_members(big.id, 2, 0).await.unwrap();
    let names: Vec<&str> = page.items.iter().map(|m| m.account.input.name.as_str()).collect();
    assert_eq!((names, page.total, page.arr), (vec!["Gamma", "Beta"], 3, Money(Decimal::from(7200))), "{}", t.label);
    assert_eq!(page.items[0].entered_at, at, "{}", t.label);
    assert_eq!(t.store.segment_members(big.id, 2, 2).await.unwrap().items.len(), 1, "{}", t.label);

    let later = at + Duration::minutes(5);
    let moved = t.store.apply_membership(big.id, &[], &[ids[0], ids[0]], later).await.unwrap();
    assert_eq!(moved.left, [ids[0]], "{}", t.label);
    t.store.apply_membership(other.id, &[ids[0]], &[ids[1]], later).await.unwrap();
    assert_eq!(t.store.segment_member_ids(big.id).await.unwrap(), [ids[1], ids[2]], "{}", t.label);
    let mut among = t.store.memberships_among(&[ids[0], ids[1]]).await.unwrap();
    among.sort();
    assert_eq!(among, [(big.id, ids[1]), (other.id, ids[0])], "{}", t.label);
    let definitions: Vec<String> = t.store.segment_definitions().await.unwrap().into_iter().map(|s| s.name).collect();
    assert_eq!(definitions, ["big", "other"], "{}", t.label);

    let summary: Vec<(String, i64, Money)> =
        t.store.list_segments().await.unwrap().into_iter().map(|s| (s.segment.name, s.members, s.arr)).collect();
    assert_eq!(
        summary,
        [("big".to_owned(), 2, Money(Decimal::from(6000))), ("other".to_owned(), 1, Money(Decimal::from(1200)))],
        "{}",
        t.label
    );

    let history = t
        .store
        .segment_history(&HistoryQuery { segment_id: Some(big.id), limit: 10, ..HistoryQuery::default() })
        .await
        .unwrap();
    let moves: Vec<(i64, bool)> = history.iter().map(|e| (e.account_id, e.entered)).collect();
    assert_eq!(moves, [(ids[0].0, false), (ids[2].0, true), (ids[1].0, true), (ids[0].0, true)], "{}", t.label);
    assert_eq!(
        (history[0].account_name.as_str(), history[0].segment_name.as_str(), history[0].at),
        ("Alpha", "big", later)
    );

    let alpha = t
        .store
        .segment_history(&HistoryQuery { account_id: Some(ids[0]), limit: 10, ..HistoryQuery::default() })
        .await
        .unwrap();
    let seen: Vec<(&str, bool)> = alpha.iter().map(|e| (e.segment_name.as_str(), e.entered)).collect();
    assert_eq!(seen.len(), 3, "{}", t.label);
    assert!(seen.contains(&("other", true)) && seen.contains(&("big", false)), "{}: {seen:?}", t.label);
    let of_alpha: Vec<String> =
        t.store.segments_of_account(ids[0]).await.unwrap().into_iter().map(|s| s.segment.name).collect();
    assert_eq!(of_alpha, ["other"], "{}", t.label);

    // Deleting an account or a segment takes its members and history with it.
    t.store.delete_account(ids[2]).await.unwrap();
    assert_eq!(t.store.segment_member_ids(big.id).await.unwrap(), [ids[1]], "{}", t.label);
    t.store.delete_segment(big.id).await.unwrap();
    let left = t.store.segment_history(&HistoryQuery { limit: 10, ..HistoryQuery::default() }).await.unwrap();
    assert!(left.iter().all(|e| e.segment_id == other.id), "{}", t.label);
    let gone = t.store.apply_membership(big.id, &[ids[1]], &[], later).await.unwrap_err();
    assert!(matches!(gone, StoreError::NotFound { entity: Entity::Segment, .. }), "{}", t.label);
    t.finish().await;
}
