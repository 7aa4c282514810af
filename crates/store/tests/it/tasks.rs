//! The task store: deduplication (also under concurrent creates), snoozes that end, and the
//! list filters. On SQLite, and on PostgreSQL when TEST_DATABASE_URL is set.

use chrono::{NaiveDate, Utc};
use domain::access::Role;
use domain::i18n::Bilingual;
use domain::staff::{StaffUserInput, TeamInput};
use domain::tasks::{Task, TaskInput, TaskPriority, TaskReason, TaskStatus};
use domain::{AccountId, Email, TeamId, UserId};
use serde_json::json;
use std::sync::Arc;
use store::testing::TestStore;
use store::{Entity, Store, StoreError, TaskQuery};
use test_macros::store_test;

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

async fn account(store: &dyn Store, external: &str) -> AccountId {
    store.create_account(&store::testing::account_input(external, external)).await.unwrap().id
}

async fn user(store: &dyn Store, email: &str, team: Option<TeamId>) -> UserId {
    let input = StaffUserInput {
        email: Email::parse(email).unwrap(),
        name: email.into(),
        team_id: team,
        role: Role::Csm,
        active: true,
    };
    store.create_user(&input).await.unwrap().id
}

fn input(account: AccountId, kind: &str, key: &str) -> TaskInput {
    TaskInput {
        account_id: account,
        title: format!("{kind} {key}"),
        kind: kind.into(),
        priority: TaskPriority::Normal,
        due_on: None,
        assignee_id: None,
        team_id: None,
        reason: TaskReason {
            source: "playbook:7".into(),
            summary: Bilingual::new("スコアが 40 を下回りました", "The score fell below 40"),
            data: json!({"health_score": 38.5, "grade": "red"}),
        },
        dedupe_key: key.into(),
    }
}

fn query(today: NaiveDate) -> TaskQuery {
    TaskQuery { today, limit: 50, ..TaskQuery::default() }
}

fn ids(tasks: &[Task]) -> Vec<i64> {
    tasks.iter().map(|t| t.id).collect()
}

#[store_test]
async fn tasks_round_trip_with_their_reason(t: TestStore) {
    let s = t.store.as_ref();
    let a = account(s, "A").await;
    let mut wanted = input(a, "risk", "score-below-40");
    wanted.due_on = Some(day("2025-03-01"));
    wanted.priority = TaskPriority::Urgent;
    let created = s.create_task(&wanted, Utc::now()).await.unwrap().expect("created");
    let read = s.get_task(created.id, day("2025-01-01")).await.unwrap();
    assert_eq!(read.input, wanted, "{}", t.label);
    assert_eq!(read.status, TaskStatus::Open);
    assert_eq!(read.created_at.timestamp(), created.created_at.timestamp());
    assert!(matches!(
        s.get_task(created.id + 1000, day("2025-01-01")).await,
        Err(StoreError::NotFound { entity: Entity::Task, .. })
    ));
    t.finish().await;
}

#[store_test]
async fn an_open_or_snoozed_duplicate_is_not_created_but_a_closed_one_does_not_block(t: TestStore) {
    let s = t.store.as_ref();
    let today = day("2025-01-01");
    let a = account(s, "A").await;
    let b = account(s, "B").await;
    let first = s.create_task(&input(a, "risk", "k"), Utc::now()).await.unwrap().unwrap();
    assert!(s.create_task(&input(a, "risk", "k"), Utc::now()).await.unwrap().is_none(), "{}", t.label);
    // Another account, kind or key is another task.
    assert!(s.create_task(&input(b, "risk", "k"), Utc::now()).await.unwrap().is_some());
    assert!(s.create_task(&input(a, "renewal", "k"), Utc::now()).await.unwrap().is_some());
    assert!(s.create_task(&input(a, "risk", "other"), Utc::now()).await.unwrap().is_some());

    let mut snoozed = s.get_task(first.id, today).await.unwrap();
    snoozed.status = TaskStatus::Snoozed;
    snoozed.snoozed_until = Some(day("2025-02-01"));
    s.save_task(&snoozed).await.unwrap();
    assert!(s.create_task(&input(a, "risk", "k"), Utc::now()).await.unwrap().is_none(), "snoozed blocks");

    let mut done = snoozed.clone();
    done.status = TaskStatus::Done;
    done.outcome = Some("Called".into());
    done.closed_at = Some(Utc::now());
    s.save_task(&done).await.unwrap();
    let second = s.create_task(&input(a, "risk", "k"), Utc::now()).await.unwrap().expect("done does not block");

    // Reopening the first while the second is open would make two: a conflict.
    let mut reopened = done.clone();
    reopened.status = TaskStatus::Open;
    assert!(matches!(
        s.save_task(&reopened).await,
        Err(StoreError::Conflict { entity: Entity::Task, field: "dedupe_key" })
    ));
    let mut cancelled = s.get_task(second.id, today).await.unwrap();
    cancelled.status = TaskStatus::Cancelled;
    s.save_task(&cancelled).await.unwrap();
    s.save_task(&reopened).await.unwrap();
    assert_eq!(s.get_task(first.id, today).await.unwrap().status, TaskStatus::Open);
    t.finish().await;
}

#[store_test]
async fn two_concurrent_creates_of_the_same_task_make_one(t: TestStore) {
    let a = account(t.store.as_ref(), "A").await;
    let mut handles = Vec::new();
    for _ in 0..8 {
        let store: Arc<dyn Store> = t.store.clone();
        handles.push(tokio::spawn(async move { store.create_task(&input(a, "risk", "race"), Utc::now()).await }));
    }
    let mut created = 0;
    for handle in handles {
        if handle.await.unwrap().unwrap().is_some() {
            created += 1;
        }
    }
    assert_eq!(created, 1, "{}", t.label);
    let page = t.store.list_tasks(&TaskQuery { account: Some(a), ..query(day("2025-01-01")) }).await.unwrap();
    assert_eq!(page.total, 1, "{}", t.label);
    t.finish().await;
}

#[store_test]
async fn a_snooze_ends_on_its_day_and_the_task_is_open_and_overdue_again(t: TestStore) {
    let s = t.store.as_ref();
    let a = account(s, "A").await;
    let mut wanted = input(a, "risk", "k");
    wanted.due_on = Some(day("2025-01-10"));
    let task = s.create_task(&wanted, Utc::now()).await.unwrap().unwrap();
    let mut snoozed = task.clone();
    snoozed.status = TaskStatus::Snoozed;
    snoozed.snoozed_until = Some(day("2025-01-20"));
    s.save_task(&snoozed).await.unwrap();

    let before = day("2025-01-15");
    assert_eq!(s.get_task(task.id, before).await.unwrap().status, TaskStatus::Snoozed, "{}", t.label);
    let open = |today| TaskQuery { statuses: vec![TaskStatus::Open], ..query(today) };
    assert_eq!(s.list_tasks(&open(before)).await.unwrap().total, 0);
    assert_eq!(s.list_tasks(&TaskQuery { overdue: true, ..query(before) }).await.unwrap().total, 0);
    let snoozes = TaskQuery { statuses: vec![TaskStatus::Snoozed], ..query(before) };
    assert_eq!(s.list_tasks(&snoozes).await.unwrap().total, 1);
    // Snoozed past its due day, it is not due again before the snooze ends.
    let due_by = |by: &str| TaskQuery { due_by: Some(day(by)), ..query(before) };
    assert_eq!(s.list_tasks(&due_by("2025-01-15")).await.unwrap().total, 0, "{}", t.label);
    assert_eq!(s.list_tasks(&due_by("2025-01-20")).await.unwrap().total, 1, "{}", t.label);

    let woke = day("2025-01-20");
    assert_eq!(s.get_task(task.id, woke).await.unwrap().status, TaskStatus::Open, "{}", t.label);
    assert_eq!(ids(&s.list_tasks(&open(woke)).await.unwrap().items), [task.id]);
    assert_eq!(ids(&s.list_tasks(&TaskQuery { overdue: true, ..query(woke) }).await.unwrap().items), [task.id]);
    t.finish().await;
}

#[store_test]
async fn lists_filter_by_assignee_team_members_account_status_and_overdue(t: TestStore) {
    let s = t.store.as_ref();
    let today = day("2025-01-15");
    let team = s.create_team(&TeamInput { name: "SMB".into() }).await.unwrap().id;
    let member = user(s, "member@k.example", Some(team)).await;
    let outsider = user(s, "outsider@k.example", None).await;
    let a = account(s, "A").await;
    let b = account(s, "B").await;
    let make = |account, key: &str, assignee, team, due: Option<&str>| {
        let mut i = input(account, "outreach", key);
        i.assignee_id = assignee;
        i.team_id = team;
        i.due_on = due.map(day);
        i
    };
    let mut created = Vec::new();
    for i in [
        make(a, "mine-late", Some(member), None, Some("2025-01-10")),
        make(a, "team-only", None, Some(team), Some("2025-01-20")),
        make(b, "outsider", Some(outsider), None, Some("2025-01-01")),
        make(b, "undated", Some(member), None, None),
    ] {
        created.push(s.create_task(&i, Utc::now()).await.unwrap().unwrap().id);
    }
    let mut done = s.get_task(created[2], today).await.unwrap();
    done.status = TaskStatus::Done;
    s.save_task(&done).await.unwrap();

    let list = |q: TaskQuery| async move { ids(&s.list_tasks(&q).await.unwrap().items) };
    assert_eq!(list(TaskQuery { assignee: Some(member), ..query(today) }).await, [created[0], created[3]]);
    assert_eq!(list(TaskQuery { team: Some(team), ..query(today) }).await, [created[0], created[1], created[3]]);
    assert_eq!(list(TaskQuery { account: Some(b), ..query(today) }).await, [created[2], created[3]]);
    assert_eq!(
        list(TaskQuery { statuses: vec![TaskStatus::Done, TaskStatus::Cancelled], ..query(today) }).await,
        [created[2]]
    );
    // Done tasks are never overdue.
    assert_eq!(list(TaskQuery { overdue: true, ..query(today) }).await, [created[0]], "{}", t.label);
    let page = s.list_tasks(&TaskQuery { limit: 1, offset: 1, ..query(today) }).await.unwrap();
    assert_eq!((page.total, ids(&page.items)), (4, vec![created[0]]));
    t.finish().await;
}
