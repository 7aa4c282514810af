//! The usage contract: the feature catalog and the rollups ingest keeps current, on SQLite and
//! on PostgreSQL when TEST_DATABASE_URL is set.

use chrono::{DateTime, NaiveDate, Utc};
use domain::tracking::{parse_message, Message};
use domain::usage::{FeatureDefinition, FeatureKey, Tz};
use domain::AccountId;
use serde_json::{json, Map, Value};
use store::testing::TestStore;
use store::{AccountStore, Entity, IngestStore, Store, StoreError};
use test_macros::store_test;

const TOKYO: Tz = Tz::Asia__Tokyo;

fn message(value: Value) -> Message {
    let received: DateTime<Utc> = "2026-11-20T00:00:00Z".parse().unwrap();
    parse_message(value, None, &Map::new(), None, received, || "generated".into()).unwrap()
}

fn track(id: &str, user: &str, event: &str, at: &str, properties: Value) -> Message {
    message(
        json!({"type": "track", "messageId": id, "userId": user, "event": event, "timestamp": at, "properties": properties}),
    )
}

fn group(id: &str, user: &str, account: &str, at: &str) -> Message {
    message(
        json!({"type": "group", "messageId": id, "userId": user, "groupId": account, "timestamp": at, "traits": {"name": account}}),
    )
}

fn feature(value: Value) -> FeatureDefinition {
    FeatureDefinition::parse(value).unwrap()
}

fn payslip() -> FeatureDefinition {
    feature(
        json!({"key": "payslip", "name": "給与明細", "event": "Payslip Published", "cadence": "monthly", "importance": "core"}),
    )
}

fn day(raw: &str) -> NaiveDate {
    raw.parse().unwrap()
}

async fn account_of(store: &dyn Store, external: &str) -> AccountId {
    let ids = store.account_ids_by_external_id(&[domain::ExternalId::parse(external).unwrap()]).await.unwrap();
    ids[&domain::ExternalId::parse(external).unwrap()]
}

async fn uses(store: &dyn Store, account: AccountId) -> Vec<(NaiveDate, i64)> {
    store
        .feature_days(account, day("2020-01-01"), day("2030-01-01"))
        .await
        .unwrap()
        .iter()
        .map(|d| (d.day, d.uses))
        .collect()
}

#[store_test]
async fn ingest_rolls_up_events_active_users_and_feature_uses_by_local_day(t: TestStore) {
    let s = t.store.as_ref();
    s.create_feature(&payslip(), TOKYO).await.unwrap();
    let messages = vec![
        group("g1", "u1", "ACME", "2026-10-01T00:00:00Z"),
        // 23:30 UTC on 24 October is 25 October in Tokyo.
        track("t1", "u1", "Payslip Published", "2026-10-24T23:30:00Z", json!({})),
        track("t2", "u1", "Payslip Published", "2026-10-25T01:00:00Z", json!({})),
        track("t3", "u1", "Logged In", "2026-10-25T02:00:00Z", json!({})),
    ];
    let counts = s.ingest(&messages, Utc::now(), true, TOKYO).await.unwrap();
    assert_eq!(counts.stored, 4, "{}", t.label);
    // The same messages again are duplicates and add nothing.
    s.ingest(&messages, Utc::now(), true, TOKYO).await.unwrap();
    let acme = account_of(s, "ACME").await;
    assert_eq!(uses(s, acme).await, vec![(day("2026-10-25"), 2)], "{}", t.label);
    let events = s.event_days(acme, day("2026-10-01"), day("2026-10-31")).await.unwrap();
    let counted: Vec<(String, i64)> = events.iter().map(|e| (e.event.clone(), e.count)).collect();
    assert_eq!(counted, vec![("Logged In".to_string(), 1), ("Payslip Published".to_string(), 2)], "{}", t.label);
    assert_eq!(s.active_users(acme, day("2026-10-25"), day("2026-10-25")).await.unwrap(), 1, "{}", t.label);
    assert_eq!(s.active_users(acme, day("2026-10-26"), day("2026-10-31")).await.unwrap(), 0, "{}", t.label);
    let people = s.end_users(acme).await.unwrap();
    assert_eq!(people.len(), 1, "{}", t.label);
    assert_eq!(people[0].last_seen, "2026-10-25T02:00:00Z".parse::<DateTime<Utc>>().unwrap(), "{}", t.label);
    t.finish().await;
}

#[store_test]
async fn events_attributed_later_by_group_or_alias_enter_the_rollups(t: TestStore) {
    let s = t.store.as_ref();
    s.create_feature(&payslip(), TOKYO).await.unwrap();
    s.ingest(&[track("t1", "u1", "Payslip Published", "2026-10-05T03:00:00Z", json!({}))], Utc::now(), true, TOKYO)
        .await
        .unwrap();
    let anonymous = message(
        json!({"type": "track", "messageId": "t2", "anonymousId": "anon-9", "event": "Payslip Published", "timestamp": "2026-10-06T03:00:00Z"}),
    );
    s.ingest(&[anonymous], Utc::now(), true, TOKYO).await.unwrap();
    s.ingest(&[group("g1", "u1", "ACME", "2026-10-07T00:00:00Z")], Utc::now(), true, TOKYO).await.unwrap();
    let acme = account_of(s, "ACME").await;
    assert_eq!(uses(s, acme).await, vec![(day("2026-10-05"), 1)], "{}", t.label);
    let alias = message(
        json!({"type": "alias", "messageId": "a1", "userId": "u1", "previousId": "anon-9", "timestamp": "2026-10-08T00:00:00Z"}),
    );
    s.ingest(&[alias], Utc::now(), true, TOKYO).await.unwrap();
    assert_eq!(uses(s, acme).await, vec![(day("2026-10-05"), 1), (day("2026-10-06"), 1)], "{}", t.label);
    assert_eq!(s.active_users(acme, day("2026-10-01"), day("2026-10-31")).await.unwrap(), 1, "{}", t.label);
    t.finish().await;
}

#[store_test]
async fn editing_the_catalog_re_derives_uses_from_stored_events(t: TestStore) {
    let s = t.store.as_ref();
    let events = vec![
        group("g1", "u1", "ACME", "2026-09-01T00:00:00Z"),
        track("t1", "u1", "Document Signed", "2026-09-02T03:00:00Z", json!({"type": "employment_contract"})),
        track("t2", "u1", "Document Signed", "2026-09-03T03:00:00Z", json!({"type": "nda"})),
        track("t3", "u1", "Report Exported", "2026-09-04T03:00:00Z", json!({})),
    ];
    s.ingest(&events, Utc::now(), true, TOKYO).await.unwrap();
    let acme = account_of(s, "ACME").await;
    // A feature defined after the events still sees them, with its property filter.
    let contracts = s
        .create_feature(
            &feature(json!({"key": "contracts", "name": "契約", "event": "Document Signed", "properties": {"type": "employment_contract"}, "cadence": "quarterly", "importance": "supporting"})),
            TOKYO,
        )
        .await
        .unwrap();
    assert_eq!(uses(s, acme).await, vec![(day("2026-09-02"), 1)], "{}", t.label);
    let key = contracts.definition.key.clone();
    let widened = feature(
        json!({"key": "contracts", "name": "契約", "event": "Document Signed", "cadence": "quarterly", "importance": "supporting"}),
    );
    s.update_feature(&key, &widened, TOKYO).await.unwrap();
    assert_eq!(uses(s, acme).await, vec![(day("2026-09-02"), 1), (day("2026-09-03"), 1)], "{}", t.label);
    // Applying a file: the prefix feature is new, contracts is unchanged, prune removes nothing else.
    let reports = feature(
        json!({"key": "reports", "name": "レポート", "event": "Report ", "match": "prefix", "cadence": "monthly", "importance": "supporting"}),
    );
    let changes = s.apply_catalog(&[widened.clone(), reports], true, TOKYO).await.unwrap();
    assert_eq!(
        (changes.created, changes.unchanged),
        (vec!["reports".to_string()], vec!["contracts".to_string()]),
        "{}",
        t.label
    );
    assert_eq!(uses(s, acme).await.len(), 3, "{}", t.label);
    let changes = s.apply_catalog(&[widened], true, TOKYO).await.unwrap();
    assert_eq!(changes.removed, vec!["reports".to_string()], "{}", t.label);
    assert_eq!(uses(s, acme).await.len(), 2, "{}", t.label);
    s.delete_feature(&key).await.unwrap();
    assert!(uses(s, acme).await.is_empty(), "{}", t.label);
    assert!(
        matches!(s.get_feature(&key).await, Err(StoreError::NotFound { entity: Entity::Feature, .. })),
        "{}",
        t.label
    );
    t.finish().await;
}

#[store_test]
async fn feature_keys_are_unique_and_adoption_counts_accounts(t: TestStore) {
    let s = t.store.as_ref();
    let created = s.create_feature(&payslip(), TOKYO).await.unwrap();
    assert!(
        matches!(s.create_feature(&payslip(), TOKYO).await, Err(StoreError::Conflict { entity: Entity::Feature, .. })),
        "{}",
        t.label
    );
    let events = vec![
        group("g1", "u1", "ACME", "2026-09-01T00:00:00Z"),
        group("g2", "u2", "GLOBEX", "2026-09-01T00:00:00Z"),
        track("t1", "u1", "Payslip Published", "2026-09-25T03:00:00Z", json!({})),
        track("t2", "u2", "Payslip Published", "2026-09-25T03:00:00Z", json!({})),
        track("t3", "u2", "Payslip Published", "2026-10-25T03:00:00Z", json!({})),
    ];
    s.ingest(&events, Utc::now(), true, TOKYO).await.unwrap();
    let adoption = s.feature_adoption(day("2026-09-01"), day("2026-10-31")).await.unwrap();
    assert_eq!(adoption.len(), 1, "{}", t.label);
    assert_eq!((adoption[0].feature_id, adoption[0].accounts, adoption[0].uses), (created.id, 2, 3), "{}", t.label);
    let october = s.feature_adoption(day("2026-10-01"), day("2026-10-31")).await.unwrap();
    assert_eq!(october[0].accounts, 1, "{}", t.label);
    t.finish().await;
}

#[store_test]
async fn a_new_time_zone_rebuilds_the_rollups_on_its_days(t: TestStore) {
    let s = t.store.as_ref();
    s.create_feature(&payslip(), TOKYO).await.unwrap();
    let events = vec![
        group("g1", "u1", "ACME", "2026-09-01T00:00:00Z"),
        track("t1", "u1", "Payslip Published", "2026-10-24T23:30:00Z", json!({})),
    ];
    s.ingest(&events, Utc::now(), true, TOKYO).await.unwrap();
    let acme = account_of(s, "ACME").await;
    assert_eq!(uses(s, acme).await, vec![(day("2026-10-25"), 1)], "{}", t.label);
    s.rebuild_usage_rollups(Tz::UTC).await.unwrap();
    assert_eq!(uses(s, acme).await, vec![(day("2026-10-24"), 1)], "{}", t.label);
    assert_eq!(s.active_users(acme, day("2026-10-24"), day("2026-10-24")).await.unwrap(), 1, "{}", t.label);
    let key = FeatureKey::parse("payslip").unwrap();
    assert_eq!(s.get_feature(&key).await.unwrap().definition, payslip(), "{}", t.label);
    t.finish().await;
}

#[tokio::test]
async fn events_stored_one_per_row_by_an_older_version_are_moved_into_batches_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kizuna.db");
    let store = store::SqliteStore::open(&path).await.unwrap();
    let account = store.create_account(&store::testing::account_input("ACC-1", "Acme")).await.unwrap();
    drop(store);
    let pool = sqlx::SqlitePool::connect(&format!("sqlite:{}", path.display())).await.unwrap();
    sqlx::query(
        "CREATE TABLE usage_events (id INTEGER PRIMARY KEY, message_id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, \
         account_id INTEGER, user_id TEXT, anonymous_id TEXT, event TEXT, properties TEXT NOT NULL, context TEXT NOT NULL, \
         occurred_at TEXT NOT NULL, received_at TEXT NOT NULL)",
    )
    .execute(&pool)
    .await
    .unwrap();
    for (id, account, user) in [("old-1", Some(account.id.0), "u1"), ("old-2", None, "u2")] {
        sqlx::query(
            "INSERT INTO usage_events (message_id, kind, account_id, user_id, event, properties, context, occurred_at, received_at) \
             VALUES ($1, 'track', $2, $3, 'Login', '{\"plan\":\"pro\"}', '{}', '2026-11-01T09:00:00+00:00', '2026-11-01T09:00:01+00:00')",
        )
        .bind(id)
        .bind(account)
        .bind(user)
        .execute(&pool)
        .await
        .unwrap();
    }
    pool.close().await;

    let store = store::SqliteStore::open(&path).await.unwrap();
    let stored = store.events(None, 10).await.unwrap();
    let summary: Vec<_> = stored.iter().map(|e| (e.message_id.as_str(), e.account_id)).collect();
    assert_eq!(summary, [("old-1", Some(account.id)), ("old-2", None)]);
    let again = [track("old-1", "u1", "Login", "2026-11-01T09:00:00Z", json!({}))];
    let counts = store.ingest(&again, Utc::now(), false, TOKYO).await.unwrap();
    assert_eq!(counts.duplicates, 1, "moved message ids still deduplicate");
    drop(store);
    let pool = sqlx::SqlitePool::connect(&format!("sqlite:{}", path.display())).await.unwrap();
    let tables: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'usage_events'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(tables, 0, "the old table is gone");
}

#[store_test]
async fn a_message_stored_by_another_process_is_a_duplicate_here(t: TestStore) {
    let (first, second) = (t.store.clone(), t.another_store().await);
    let message = [track("shared-1", "u1", "Login", "2026-11-01T09:00:00Z", json!({}))];
    let warm = [track("other", "u1", "Login", "2026-11-01T09:00:00Z", json!({}))];
    assert_eq!(second.ingest(&warm, Utc::now(), false, TOKYO).await.unwrap().stored, 1, "{}", t.label);
    assert_eq!(first.ingest(&message, Utc::now(), false, TOKYO).await.unwrap().stored, 1);
    let counts = second.ingest(&message, Utc::now(), false, TOKYO).await.unwrap();
    assert_eq!(
        (counts.stored, counts.duplicates),
        (0, 1),
        "{}: the batch committed by the first store is read before deciding",
        t.label
    );
    drop((first, second));
    t.finish().await;
}

#[store_test]
async fn an_account_deleted_between_ingests_is_not_remembered(t: TestStore) {
    let account = t.store.create_account(&store::testing::account_input("ACC-9", "Nine")).await.unwrap();
    let tracked = |id: &str| {
        message(json!({"type": "track", "messageId": id, "userId": "u9", "event": "Login",
            "timestamp": "2026-11-01T09:00:00Z", "context": {"groupId": "ACC-9"}}))
    };
    let first = t.store.ingest(&[tracked("before")], Utc::now(), false, TOKYO).await.unwrap();
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    assert_eq!(first.accounts, [(account.id, day)], "{}: the account and the first day its usage changed", t.label);
    t.store.delete_account(account.id).await.unwrap();
    let after = t.store.ingest(&[tracked("after")], Utc::now(), false, TOKYO).await.unwrap();
    assert_eq!((after.stored, after.unattributed), (1, 1), "{}: kept, waiting for a group", t.label);
    t.finish().await;
}

#[store_test]
async fn accounts_made_by_tracking_and_by_hand_are_listed_before_they_have_health(t: TestStore) {
    use store::{AccountQuery, AccountSort};
    let s = t.store.as_ref();
    let by_hand = s
        .create_account(&domain::account::AccountInput::new(domain::ExternalId::parse("HAND").unwrap(), "By hand"))
        .await
        .unwrap()
        .id;
    s.ingest(&[group("g1", "u1", "TRACKED", "2026-10-01T00:00:00Z")], Utc::now(), true, TOKYO).await.unwrap();
    let tracked = account_of(s, "TRACKED").await;
    let listed = |sort| async move {
        let page = s.list_accounts(&AccountQuery { sort, limit: 50, ..AccountQuery::default() }).await.unwrap();
        (page.total, page.items.iter().map(|a| (a.id, a.health.grade.clone())).collect::<Vec<_>>())
    };
    assert_eq!(listed(AccountSort::Score).await, (2, vec![(by_hand, None), (tracked, None)]), "{}", t.label);
    s.delete_account(by_hand).await.unwrap();
    assert_eq!(listed(AccountSort::Trend).await, (1, vec![(tracked, None)]), "{}", t.label);
    t.finish().await;
}
