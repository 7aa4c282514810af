//! The renewal store: CSM calls keyed by account and renewal date, replaced in place, and the
//! weekly forecast snapshots. On SQLite, and on PostgreSQL when TEST_DATABASE_URL is set.

use chrono::{NaiveDate, TimeZone, Utc};
use domain::renewals::{ChurnReason, ForecastCategory, RenewalCall, RenewalOutcome};
use domain::settings::WorkspaceSettings;
use domain::{AccountId, Money};
use rust_decimal::Decimal;
use store::testing::TestStore;
use store::{Entity, ForecastSnapshotRow, Store, StoreError, StoredRenewalCall};
use test_macros::store_test;

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

async fn account(store: &dyn Store, external: &str) -> AccountId {
    store.create_account(&store::testing::account_input(external, external)).await.unwrap().id
}

fn stored(account: AccountId, date: &str, call: RenewalCall) -> StoredRenewalCall {
    StoredRenewalCall {
        account_id: account,
        renewal_date: day(date),
        call,
        updated_by: None,
        updated_at: Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap(),
    }
}

#[store_test]
async fn renewal_calls_round_trip_and_a_second_save_replaces_the_first(t: TestStore) {
    let s = t.store.as_ref();
    let a = account(s, "A").await;
    let b = account(s, "B").await;
    let forecast = RenewalCall {
        forecast: Some(ForecastCategory::AtRisk),
        forecast_note: Some("予算削減の話あり".into()),
        ..RenewalCall::default()
    };
    s.save_renewal_call(&stored(a, "2026-04-01", forecast.clone())).await.unwrap();
    s.save_renewal_call(&stored(b, "2026-02-01", RenewalCall::default())).await.unwrap();
    let churned = RenewalCall {
        outcome: Some(RenewalOutcome::Churned),
        churn_reason: Some(ChurnReason::Competitor),
        outcome_note: Some("moved to another vendor".into()),
        ..forecast
    };
    s.save_renewal_call(&stored(a, "2026-04-01", churned.clone())).await.unwrap();

    let all = s.renewal_calls(None).await.unwrap();
    assert_eq!(all.len(), 2, "{}", t.label);
    assert_eq!(all[0].account_id, b, "oldest renewal first");
    assert_eq!(all[1].call, churned, "{}", t.label);
    assert_eq!(all[1].updated_at, stored(a, "2026-04-01", RenewalCall::default()).updated_at);
    assert_eq!(s.renewal_calls(Some(b)).await.unwrap().len(), 1);

    let missing = s.save_renewal_call(&stored(AccountId(a.0 + 1000), "2026-04-01", RenewalCall::default())).await;
    assert!(matches!(missing, Err(StoreError::InvalidReference { entity: Entity::Renewal })), "{}", t.label);
    t.finish().await;
}

#[store_test]
async fn a_forecast_snapshot_replaces_the_same_day_and_is_read_by_renewal_date(t: TestStore) {
    let s = t.store.as_ref();
    let a = account(s, "A").await;
    let row = |taken: &str, renewal: &str, arr: i64, forecast| ForecastSnapshotRow {
        taken_on: day(taken),
        account_id: a,
        renewal_date: day(renewal),
        arr: Money(Decimal::new(arr, 2)),
        forecast,
        churn_probability: Some(0.25),
    };
    assert_eq!(s.latest_forecast_snapshot_day().await.unwrap(), None, "{}", t.label);
    s.save_forecast_snapshot(day("2026-01-05"), &[row("2026-01-05", "2026-02-01", 120_000_050, None)]).await.unwrap();
    let again = [
        row("2026-01-05", "2026-02-01", 120_000_000, Some(ForecastCategory::Commit)),
        row("2026-01-05", "2026-09-01", 50_000, Some(ForecastCategory::Likely)),
    ];
    s.save_forecast_snapshot(day("2026-01-05"), &again).await.unwrap();
    s.save_forecast_snapshot(day("2026-01-12"), &[row("2026-01-12", "2026-02-01", 1, None)]).await.unwrap();
    assert_eq!(s.latest_forecast_snapshot_day().await.unwrap(), Some(day("2026-01-12")), "{}", t.label);
    let february = s.forecast_snapshots(day("2026-02-01"), day("2026-02-28")).await.unwrap();
    assert_eq!(february, vec![again[0].clone(), row("2026-01-12", "2026-02-01", 1, None)], "{}", t.label);
    t.finish().await;
}

#[store_test]
async fn the_monthly_renewal_setting_is_stored(t: TestStore) {
    let s = t.store.as_ref();
    let settings = WorkspaceSettings { monthly_contracts_renew: true, ..WorkspaceSettings::default() };
    s.save_settings(&settings).await.unwrap();
    assert_eq!(s.load_settings().await.unwrap(), Some(settings), "{}", t.label);
    t.finish().await;
}
