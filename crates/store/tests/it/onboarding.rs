//! The onboarding store: templates (unique names, one default), one open plan per account,
//! milestones and plans that complete once. On SQLite, and on PostgreSQL when TEST_DATABASE_URL is set.

use chrono::{NaiveDate, Utc};
use domain::AccountId;
use store::testing::TestStore;
use store::{Entity, Store, StoreError};
use test_macros::store_test;

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

async fn account(store: &dyn Store, external: &str) -> AccountId {
    store.create_account(&store::testing::account_input(external, external)).await.unwrap().id
}

fn keys(names: &[&str]) -> Vec<String> {
    names.iter().map(|k| (*k).to_owned()).collect()
}

#[store_test]
async fn templates_have_unique_names_and_one_default(t: TestStore) {
    let s = t.store.as_ref();
    let first = s.save_onboarding_template(None, "Standard", "{}", true, Utc::now()).await.unwrap();
    let second = s.save_onboarding_template(None, "Enterprise", "{}", true, Utc::now()).await.unwrap();
    let defaults: Vec<i64> =
        s.onboarding_templates().await.unwrap().iter().filter(|t| t.is_default).map(|t| t.id).collect();
    assert_eq!(defaults, [second.id], "{}", t.label);
    assert!(matches!(
        s.save_onboarding_template(None, "Standard", "{}", false, Utc::now()).await,
        Err(StoreError::Conflict { entity: Entity::OnboardingTemplate, field: "name" })
    ));
    let renamed = s.save_onboarding_template(Some(first.id), "Basic", "{\"a\":1}", false, Utc::now()).await.unwrap();
    assert_eq!((renamed.name.as_str(), renamed.definition.as_str()), ("Basic", "{\"a\":1}"));
    s.delete_onboarding_template(first.id).await.unwrap();
    assert!(matches!(s.onboarding_template(first.id).await, Err(StoreError::NotFound { .. })), "{}", t.label);
}

#[store_test]
async fn an_account_has_one_open_plan_and_milestones_complete_once(t: TestStore) {
    let s = t.store.as_ref();
    let a = account(s, "A").await;
    let template = s.save_onboarding_template(None, "Standard", "{}", true, Utc::now()).await.unwrap();
    let b = account(s, "B").await;
    let started = s
        .start_onboarding_plans(
            &[(a, day("2026-01-01")), (b, day("2026-01-02"))],
            template.id,
            "first_paying_day",
            &keys(&["login", "records"]),
        )
        .await
        .unwrap();
    let mut starts: Vec<(AccountId, NaiveDate)> = started.iter().map(|p| (p.account_id, p.started_on)).collect();
    starts.sort();
    assert_eq!(starts, [(a, day("2026-01-01")), (b, day("2026-01-02"))], "{}", t.label);
    let plan = started.into_iter().find(|p| p.account_id == a).expect("started");
    assert_eq!(plan.milestones.len(), 2, "{}", t.label);
    assert!(plan.milestones.iter().all(|m| m.completed_on.is_none()));
    let again = s.start_onboarding_plans(&[(a, day("2026-02-01"))], template.id, "manual", &keys(&["login"])).await;
    assert_eq!(again.unwrap(), [], "{}", t.label);

    let done = s.complete_milestones(plan.id, &keys(&["records"]), day("2026-01-05"), "rule").await.unwrap();
    assert_eq!(done, ["records"]);
    let both = keys(&["records", "login"]);
    let done = s.complete_milestones(plan.id, &both, day("2026-01-09"), "a@example.com").await.unwrap();
    assert_eq!(done, ["login"], "{}", t.label);
    let read = s.onboarding_plan(plan.id).await.unwrap();
    let records = read.milestones.iter().find(|m| m.key == "records").unwrap();
    assert_eq!((records.completed_on, records.completed_by.as_deref()), (Some(day("2026-01-05")), Some("rule")));

    assert!(s.complete_onboarding_plan(plan.id, day("2026-01-09")).await.unwrap());
    assert!(!s.complete_onboarding_plan(plan.id, day("2026-01-10")).await.unwrap(), "{}", t.label);
    // A completed plan leaves room for a new one.
    let login = keys(&["login"]);
    let next = s.start_onboarding_plans(&[(a, day("2026-03-01"))], template.id, "manual", &login).await;
    assert_eq!(next.unwrap().len(), 1, "{}", t.label);
    let plans = s.onboarding_plans(Some(&[a])).await.unwrap();
    assert_eq!(plans.iter().map(|p| p.started_on).collect::<Vec<_>>(), [day("2026-03-01"), day("2026-01-01")]);
    assert_eq!(plans[1].completed_on, Some(day("2026-01-09")));
    assert!(s.onboarding_plans(None).await.unwrap().len() == 3);
    assert!(matches!(
        s.onboarding_plan(plan.id + 100).await,
        Err(StoreError::NotFound { entity: Entity::OnboardingPlan, .. })
    ));
}

#[store_test]
async fn open_plans_and_planned_accounts_are_read_without_the_completed_plans_milestones(t: TestStore) {
    let s = t.store.as_ref();
    let template = s.save_onboarding_template(None, "Standard", "{}", true, Utc::now()).await.unwrap();
    let (done, open, never) = (account(s, "DONE").await, account(s, "OPEN").await, account(s, "NEVER").await);
    let login = keys(&["login"]);
    let started = s.start_onboarding_plans(&[(done, day("2026-01-01"))], template.id, "manual", &login).await.unwrap();
    assert!(s.complete_onboarding_plan(started[0].id, day("2026-01-20")).await.unwrap());
    s.start_onboarding_plans(&[(open, day("2026-02-01"))], template.id, "manual", &login).await.unwrap();

    let open_plans = s.open_onboarding_plans(None).await.unwrap();
    assert_eq!(open_plans.iter().map(|p| p.account_id).collect::<Vec<_>>(), [open], "{}", t.label);
    assert_eq!(open_plans[0].milestones.len(), 1, "{}", t.label);
    assert_eq!(s.open_onboarding_plans(Some(&[done, never])).await.unwrap(), [], "{}", t.label);

    let planned = s.accounts_with_onboarding_plans(None).await.unwrap();
    assert_eq!(planned, [done, open].into_iter().collect(), "{}", t.label);
    let asked = s.accounts_with_onboarding_plans(Some(&[done, never])).await.unwrap();
    assert_eq!(asked, [done].into_iter().collect(), "{}", t.label);
    // Past a few hundred accounts the store reads every planned account and keeps the ones asked.
    let many: Vec<AccountId> = std::iter::once(open).chain((1_000_000..1_000_600).map(AccountId)).collect();
    assert_eq!(s.accounts_with_onboarding_plans(Some(&many)).await.unwrap(), [open].into_iter().collect());
    assert_eq!(s.open_onboarding_plans(Some(&many)).await.unwrap().len(), 1, "{}", t.label);
}
