//! The store contract: every test runs on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set.

use chrono::{NaiveDate, TimeZone, Utc};
use domain::access::Role;
use domain::account::{AccountInput, CurrentHealth, CustomFields, TouchModel};
use domain::contact::ContactInput;
use domain::health::history::Snapshot;
use domain::interchange::{accounts, contacts, nps, subscriptions, tickets, Table};
use domain::settings::WorkspaceSettings;
use domain::staff::{StaffUserInput, TeamInput};
use domain::subscription::{AccountFigures, BillingInterval, SubscriptionTerms};
use domain::timeline::{TimelineEntryInput, TimelineKind};
use domain::usage::Tz;
use domain::voice::{TicketPriority, TicketStatus};
use domain::{AccountId, Currency, Email, ExternalId, Money, UserId};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use store::testing::TestStore;
use store::{AccountQuery, AccountSort, ChildQuery, Entity, StoreError, TimelineQuery};
use test_macros::store_test;

fn account(external: &str, name: &str) -> AccountInput {
    store::testing::account_input(external, name)
}

fn terms(subscription: &str, account: AccountId, start: &str, price: i64) -> SubscriptionTerms {
    SubscriptionTerms {
        subscription_id: ExternalId::parse(subscription).unwrap(),
        account_id: account,
        product: "core".into(),
        plan: Some("standard".into()),
        start_date: start.parse().unwrap(),
        end_date: None,
        billing_interval: BillingInterval::Month,
        interval_count: 1,
        quantity: 10,
        unit_price: Money(Decimal::from(price)),
        discount_percent: Decimal::ZERO,
        currency: Currency::jpy(),
        custom: CustomFields::new(),
        commitment_months: None,
    }
}

fn query() -> AccountQuery {
    AccountQuery { limit: 50, ..AccountQuery::default() }
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

#[store_test]
async fn settings_are_absent_until_saved_then_round_trip(t: TestStore) {
    assert_eq!(t.store.load_settings().await.unwrap(), None, "{}", t.label);
    let label = domain::settings::FieldLabel { ja: Some("契約担当部署".into()), en: None };
    let settings = WorkspaceSettings {
        fiscal_year_start_month: 1,
        custom_field_labels: [("contract_owner_dept".to_owned(), label)].into(),
        ..WorkspaceSettings::default()
    };
    t.store.save_settings(&settings).await.unwrap();
    t.store.save_settings(&settings).await.unwrap();
    assert_eq!(t.store.load_settings().await.unwrap(), Some(settings), "{}", t.label);
    t.finish().await;
}

#[store_test]
async fn custom_field_keys_are_every_key_some_account_carries_in_order(t: TestStore) {
    assert!(t.store.account_custom_keys().await.unwrap().is_empty(), "{}", t.label);
    for (external, fields) in
        [("A1", vec![("name_kana", "エー"), ("dept", "人事")]), ("A2", vec![("dept", "総務")]), ("A3", vec![])]
    {
        let mut input = account(external, external);
        input.custom = fields.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
        t.store.create_account(&input).await.unwrap();
    }
    assert_eq!(t.store.account_custom_keys().await.unwrap(), ["dept", "name_kana"], "{}", t.label);
    t.finish().await;
}

#[store_test]
async fn account_crud_keeps_every_field_and_reports_missing_and_duplicate_ids(t: TestStore) {
    let s = &t.store;
    let team = s.create_team(&TeamInput { name: "Enterprise CS".into() }).await.unwrap();
    let owner = s
        .create_user(&StaffUserInput {
            email: Email::parse("aki@kizuna.example").unwrap(),
            name: "Aki".into(),
            team_id: Some(team.id),
            role: Role::Csm,
            active: true,
        })
        .await
        .unwrap();
    let mut input = account("A-1", "株式会社アクメ");
    input.domain = Some("acme.example".into());
    input.employees = Some(120);
    input.touch_model = Some(TouchModel::High);
    input.stage = Some("adoption".into());
    input.owner_id = Some(owner.id);
    input.created_on = Some(day("2024-04-01"));
    input.custom.insert("dept".into(), "人事".into());
    let created = s.create_account(&input).await.unwrap();
    assert_eq!(created.input, input, "{}", t.label);
    assert_eq!(created.figures, AccountFigures::default());

    input.name = "Acme KK".into();
    let updated = s.update_account(created.id, &input).await.unwrap();
    assert_eq!(updated.input.name, "Acme KK");
    assert_eq!(s.get_account(created.id).await.unwrap().input, input);

    let duplicate = s.create_account(&account("A-1", "Other")).await.unwrap_err();
    assert!(
        matches!(duplicate, StoreError::Conflict { entity: Entity::Account, field: "external_id" }),
        "{duplicate:?}"
    );
    let missing = s.get_account(AccountId(999_999)).await.unwrap_err();
    assert!(matches!(missing, StoreError::NotFound { entity: Entity::Account, .. }));
    let bad_owner = AccountInput { owner_id: Some(UserId(424_242)), ..account("A-2", "Bad owner") };
    assert!(matches!(s.create_account(&bad_owner).await.unwrap_err(), StoreError::InvalidReference { .. }));

    s.delete_account(created.id).await.unwrap();
    assert!(matches!(s.delete_account(created.id).await.unwrap_err(), StoreError::NotFound { .. }));
    t.finish().await;
}

#[store_test]
async fn account_list_filters_by_owner_team_text_and_sorts_by_arr_with_total(t: TestStore) {
    let s = &t.store;
    let team = s.create_team(&TeamInput { name: "SMB".into() }).await.unwrap();
    let user = |email: &str, team_id| StaffUserInput {
        email: Email::parse(email).unwrap(),
        name: email.into(),
        team_id,
        role: Role::Csm,
        active: true,
    };
    let main = s.create_user(&user("main@k.example", Some(team.id))).await.unwrap();
    let sub = s.create_user(&user("sub@k.example", None)).await.unwrap();
    let mut ids = Vec::new();
    for (i, name) in ["Alpha", "Beta", "Gamma", "Delta"].iter().enumerate() {
        let mut input = account(&format!("A{i}"), name);
        input.domain = Some(format!("{}.example", name.to_lowercase()));
        if i == 0 {
            input.owner_id = Some(main.id);
        }
        if i == 1 {
            input.sub_owner_id = Some(sub.id);
        }
        ids.push(s.create_account(&input).await.unwrap().id);
    }
    let figures = |arr: i64| AccountFigures {
        mrr: Money(Decimal::from(arr) / Decimal::from(12)),
        arr: Money(Decimal::from(arr)),
        first_paying_day: Some(day("2024-01-01")),
        next_renewal_date: None,
        churned_on: None,
    };
    s.save_figures(&[(ids[0], figures(1200)), (ids[1], figures(36000)), (ids[2], figures(2400))], day("2025-01-01"))
        .await
        .unwrap();
    assert_eq!(s.figures_day().await.unwrap(), None, "one account has no figures yet: {}", t.label);
    s.save_figures(&[(ids[3], figures(0))], day("2025-01-01")).await.unwrap();
    assert_eq!(s.figures_day().await.unwrap(), Some(day("2025-01-01")));

    let by_arr =
        s.list_accounts(&AccountQuery { sort: AccountSort::Arr, descending: true, limit: 2, ..query() }).await.unwrap();
    let names: Vec<&str> = by_arr.items.iter().map(|a| a.input.name.as_str()).collect();
    assert_eq!((names, by_arr.total), (vec!["Beta", "Gamma"], 4), "{}", t.label);
    assert_eq!(by_arr.items[0].figures.arr, Money(Decimal::from(36000)));

    let page_two = s
        .list_accounts(&AccountQuery { sort: AccountSort::Arr, descending: true, limit: 2, offset: 2, ..query() })
        .await
        .unwrap();
    let names: Vec<&str> = page_two.items.iter().map(|a| a.input.name.as_str()).collect();
    assert_eq!(names, vec!["Alpha", "Delta"]);

    let owned = s.list_accounts(&AccountQuery { owner: Some(sub.id), ..query() }).await.unwrap();
    assert_eq!(owned.items.iter().map(|a| a.id).collect::<Vec<_>>(), vec![ids[1]]);
    let in_team = s.list_accounts(&AccountQuery { team: Some(team.id), ..query() }).await.unwrap();
    assert_eq!(in_team.items.iter().map(|a| a.id).collect::<Vec<_>>(), vec![ids[0]]);
    let text = s.list_accounts(&AccountQuery { text: Some("GAM".into()), ..query() }).await.unwrap();
    assert_eq!(text.total, 1);
    let by_domain = s.list_accounts(&AccountQuery { text: Some("delta.ex".into()), ..query() }).await.unwrap();
    assert_eq!(by_domain.items[0].input.name, "Delta");
    let wildcard = s.list_accounts(&AccountQuery { text: Some("%".into()), ..query() }).await.unwrap();
    assert_eq!(wildcard.total, 0, "LIKE wildcards in the search text are literal: {}", t.label);
    t.finish().await;
}

#[store_test]
async fn contacts_periods_and_timeline_belong_to_an_account_and_go_with_it(t: TestStore) {
    let s = &t.store;
    let acme = s.create_account(&account("A-1", "Acme")).await.unwrap();
    let contact = s
        .create_contact(&ContactInput {
            external_id: ExternalId::parse("C-1").unwrap(),
            account_id: acme.id,
            name: Some("山田 花子".into()),
            email: Some(Email::parse("hanako@acme.example").unwrap()),
            role: Some("champion".into()),
            phone: None,
            is_primary: true,
            custom: CustomFields::new(),
        })
        .await
        .unwrap();
    assert_eq!(s.get_contact(contact.id).await.unwrap(), contact);
    let period = s.create_period(&terms("S-1", acme.id, "2024-04-01", 1000)).await.unwrap();
    assert_eq!(s.get_period(period.id).await.unwrap(), period, "{}", t.label);
    assert_eq!(s.list_products().await.unwrap(), vec!["core".to_string()]);
    let duplicate = s.create_period(&terms("S-1", acme.id, "2024-04-01", 2000)).await.unwrap_err();
    assert!(matches!(duplicate, StoreError::Conflict { .. }));
    let entry = s
        .create_timeline_entry(&TimelineEntryInput {
            account_id: acme.id,
            kind: TimelineKind::Meeting,
            author_id: None,
            occurred_at: Utc.with_ymd_and_hms(2025, 1, 10, 3, 0, 0).unwrap(),
            title: "Kick-off".into(),
            body: Some("Agreed on onboarding milestones".into()),
            event: None,
        })
        .await
        .unwrap();
    assert_eq!(s.get_timeline_entry(entry.id).await.unwrap(), entry, "{}", t.label);
    let timeline =
        s.list_timeline(&TimelineQuery { account_id: Some(acme.id), kind: None, limit: 10, offset: 0 }).await.unwrap();
    assert_eq!(timeline.total, 1);
    let children = ChildQuery { account_id: Some(acme.id), limit: 10, offset: 0 };
    assert_eq!(s.list_contacts(&children).await.unwrap().total, 1);
    assert_eq!(s.list_periods(&children).await.unwrap().total, 1);

    s.delete_account(acme.id).await.unwrap();
    assert!(matches!(s.get_contact(contact.id).await.unwrap_err(), StoreError::NotFound { .. }));
    assert!(matches!(s.get_period(period.id).await.unwrap_err(), StoreError::NotFound { .. }));
    assert!(matches!(s.get_timeline_entry(entry.id).await.unwrap_err(), StoreError::NotFound { .. }));
    t.finish().await;
}

const ACCOUNTS_CSV: &str = "account_id,name,tier,owner_email,sub_owner_email,custom.dept\n\
    A1,株式会社アクメ,enterprise,aki@k.example,ren@k.example,人事\n\
    A2,Beta,smb,aki@k.example,,\n";
const CONTACTS_CSV: &str = "contact_id,account_id,name,email,is_primary\nC1,A1,山田,yamada@acme.example,true\n";
const SUBSCRIPTIONS_CSV: &str =
    "subscription_id,account_id,product,start_date,end_date,billing_interval,quantity,unit_price,currency\n\
    S1,A1,core,2024-04-01,2025-04-01,year,10,12000,JPY\n\
    S1,A1,core,2025-04-01,,year,20,12000,JPY\n";

#[store_test]
async fn importing_the_same_files_twice_changes_nothing_and_export_returns_them(t: TestStore) {
    let settings = WorkspaceSettings::default();
    let account_records = accounts::parse(&Table::parse(ACCOUNTS_CSV, &accounts::COLUMNS).unwrap(), &settings).unwrap();
    let contact_records = contacts::parse(&Table::parse(CONTACTS_CSV, &contacts::COLUMNS).unwrap()).unwrap();
    let subscription_records =
        subscriptions::parse(&Table::parse(SUBSCRIPTIONS_CSV, &subscriptions::COLUMNS).unwrap(), &settings).unwrap();
    let s = &t.store;
    let first = s.import_accounts(&account_records).await.unwrap();
    assert_eq!((first.created, first.updated, first.users_created.len()), (2, 0, 2), "{}", t.label);
    assert!(s.list_users().await.unwrap().iter().all(|u| !u.input.active), "owners named in a file are inactive");
    let again = s.import_accounts(&account_records).await.unwrap();
    assert_eq!((again.created, again.updated, again.unchanged, again.users_created.len()), (0, 0, 2, 0));

    let mut renamed = account_records.clone();
    renamed[1].name = "Beta KK".into();
    assert_eq!(s.import_accounts(&renamed).await.unwrap().updated, 1);

    assert_eq!(s.import_contacts(&contact_records).await.unwrap().created, 1);
    assert_eq!(s.import_contacts(&contact_records).await.unwrap().unchanged, 1);
    assert_eq!(s.import_subscriptions(&subscription_records).await.unwrap().created, 2);
    assert_eq!(s.import_subscriptions(&subscription_records).await.unwrap().unchanged, 2, "{}", t.label);

    let exported = s.export_accounts().await.unwrap();
    let strip = |mut r: accounts::AccountRecord| {
        r.line = 0;
        r
    };
    assert_eq!(exported, renamed.into_iter().map(strip).collect::<Vec<_>>());
    assert_eq!(s.export_contacts().await.unwrap().len(), 1);
    let periods = s.export_subscriptions().await.unwrap();
    assert_eq!(periods.iter().map(|p| p.quantity).collect::<Vec<_>>(), vec![10, 20]);
    t.finish().await;
}

/// The names of the accounts a text search finds, by name.
async fn found(s: &dyn store::Store, text: &str) -> Vec<String> {
    let query = AccountQuery { text: Some(text.into()), sort: AccountSort::Name, limit: 50, ..AccountQuery::default() };
    s.list_accounts(&query).await.unwrap().items.into_iter().map(|a| a.input.name).collect()
}

#[store_test]
async fn every_account_write_keeps_its_search_key_and_opening_an_older_database_computes_the_missing_ones(
    t: TestStore,
) {
    let csv = "account_id,name,domain,custom.name_kana\nACC-000098,株式会社紅葉エナジー,momiji-energy-98.example.jp,モミジエナジー\n";
    let records = accounts::parse(&Table::parse(csv, &accounts::COLUMNS).unwrap(), &WorkspaceSettings::default());
    let records = records.unwrap();
    let s = &*t.store;
    s.import_accounts(&records).await.unwrap();
    let mut sakura = account("ACC-000099", "さくらフーズ株式会社");
    sakura.domain = Some("sakura-foods-99.example.jp".into());
    let sakura = s.create_account(&sakura).await.unwrap();
    for query in ["ACC-000098", "紅葉 エナジー", "もみじ", "ﾓﾐｼﾞ", "ｍｏｍｉｊｉ", "(株)紅葉"]
    {
        assert_eq!(found(s, query).await, ["株式会社紅葉エナジー"], "{query} on {}", t.label);
    }
    assert_eq!(found(s, "サクラ").await, ["さくらフーズ株式会社"], "katakana finds hiragana");
    assert_eq!(found(s, "acc-0000").await.len(), 2);
    assert_eq!(found(s, " 　").await.len(), 2, "a blank search filters nothing");

    let mut renamed = sakura.input.clone();
    renamed.name = "株式会社桜商事".into();
    s.update_account(sakura.id, &renamed).await.unwrap();
    assert!(found(s, "さくらフーズ").await.is_empty(), "the old name is gone from the key");
    assert_eq!(found(s, "桜 商事").await, ["株式会社桜商事"]);

    // A database written before the key existed: the next open computes every key.
    t.clear_search_keys().await;
    assert!(found(s, "もみじ").await.is_empty());
    let reopened = t.another_store().await;
    assert_eq!(found(&*reopened, "もみじ").await, ["株式会社紅葉エナジー"], "{}", t.label);
    assert_eq!(found(&*reopened, "acc-000099").await, ["株式会社桜商事"]);
    drop(reopened);
    t.finish().await;
}

#[store_test]
async fn importing_contacts_for_an_unknown_account_writes_nothing(t: TestStore) {
    let records =
        contacts::parse(&Table::parse("contact_id,account_id\nC1,A1\nC2,NOPE\n", &contacts::COLUMNS).unwrap()).unwrap();
    let s = &t.store;
    s.create_account(&account("A1", "Acme")).await.unwrap();
    let error = s.import_contacts(&records).await.unwrap_err();
    assert!(matches!(error, StoreError::NotFound { entity: Entity::Account, .. }), "{error:?}");
    assert_eq!(s.export_contacts().await.unwrap().len(), 0, "{}", t.label);
    t.finish().await;
}

const NPS_CSV: &str = "account_id,contact_email,score,responded_at,comment\n\
    A1,aki@alpha.example,9,2025-04-01,使いやすい\n\
    A1,ren@alpha.example,3,2025-03-31T16:00:00Z,\n\
    B2,aki@beta.example,6,2025/05/01,\n";

const TICKETS_CSV: &str = "ticket_id,account_id,created_at,solved_at,priority,status,subject\n\
    T1,A1,2025-04-01,2025-04-03,high,solved,ログインできない\n\
    T2,A1,2025-04-10,,urgent,open,\n\
    T3,B2,2025-05-01,,low,pending,Question\n";

fn nps_records(text: &str) -> Vec<nps::NpsRecord> {
    nps::parse(&Table::parse(text, &nps::COLUMNS).unwrap(), Tz::Asia__Tokyo).unwrap()
}

fn ticket_records(text: &str) -> Vec<tickets::TicketRecord> {
    tickets::parse(&Table::parse(text, &tickets::COLUMNS).unwrap(), Tz::Asia__Tokyo).unwrap()
}

fn counts(c: &store::ImportCounts) -> (usize, usize, usize) {
    (c.created, c.updated, c.unchanged)
}

#[store_test]
async fn nps_answers_are_keyed_by_account_contact_and_day_and_read_back_for_scoring(t: TestStore) {
    let records = nps_records(NPS_CSV);
    let s = &t.store;
    let alpha = s.create_account(&account("A1", "Alpha")).await.unwrap().id;
    let beta = s.create_account(&account("B2", "Beta")).await.unwrap().id;
    assert!(!s.has_nps().await.unwrap(), "{}", t.label);

    assert_eq!(counts(&s.import_nps(&records).await.unwrap()), (3, 0, 0), "{}", t.label);
    assert_eq!(counts(&s.import_nps(&records).await.unwrap()), (0, 0, 3), "the same file changes nothing");
    assert!(s.has_nps().await.unwrap());

    let mut rescored = records.clone();
    rescored[0].score = 10;
    rescored[1].comment = Some("遅い".into());
    assert_eq!(counts(&s.import_nps(&rescored).await.unwrap()), (0, 2, 1), "{}", t.label);
    let mut another_day = records[2].clone();
    another_day.responded_on = day("2025-06-01");
    assert_eq!(counts(&s.import_nps(&[another_day]).await.unwrap()), (1, 0, 0), "a later answer is a new one");

    assert_eq!(
        s.nps_responses(Some(alpha)).await.unwrap(),
        vec![(alpha, day("2025-04-01"), 10), (alpha, day("2025-04-01"), 3)],
        "the timestamp counts on its Tokyo day"
    );
    assert_eq!(s.nps_responses(None).await.unwrap().iter().filter(|(account, _, _)| *account == beta).count(), 2);
    let exported = s.export_nps().await.unwrap();
    assert_eq!(exported.len(), 4);
    assert_eq!(
        exported[..2],
        rescored[..2].iter().map(|r| nps::NpsRecord { line: 0, ..r.clone() }).collect::<Vec<_>>()
    );

    s.delete_account(alpha).await.unwrap();
    assert_eq!(s.nps_responses(Some(alpha)).await.unwrap(), vec![], "answers go with their account");
    t.finish().await;
}

#[store_test]
async fn tickets_are_updated_by_ticket_id_and_read_back_for_scoring(t: TestStore) {
    let records = ticket_records(TICKETS_CSV);
    let s = &t.store;
    let alpha = s.create_account(&account("A1", "Alpha")).await.unwrap().id;
    let beta = s.create_account(&account("B2", "Beta")).await.unwrap().id;
    assert!(!s.has_tickets().await.unwrap(), "{}", t.label);

    assert_eq!(counts(&s.import_tickets(&records).await.unwrap()), (3, 0, 0), "{}", t.label);
    assert_eq!(counts(&s.import_tickets(&records).await.unwrap()), (0, 0, 3), "the same file changes nothing");
    assert!(s.has_tickets().await.unwrap());

    let mut later = records.clone();
    later[1].ticket.solved_on = Some(day("2025-04-12"));
    later[1].ticket.status = TicketStatus::Solved;
    later[2].account_external_id = ExternalId::parse("A1").unwrap();
    assert_eq!(counts(&s.import_tickets(&later).await.unwrap()), (0, 2, 1), "{}", t.label);

    let alpha_tickets = s.tickets_of(Some(alpha)).await.unwrap();
    let summary: Vec<(AccountId, String, Option<NaiveDate>, TicketPriority, TicketStatus)> = alpha_tickets
        .iter()
        .map(|(account, ticket)| {
            (*account, ticket.created_on.to_string(), ticket.solved_on, ticket.priority, ticket.status)
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (alpha, "2025-04-01".into(), Some(day("2025-04-03")), TicketPriority::High, TicketStatus::Solved),
            (alpha, "2025-04-10".into(), Some(day("2025-04-12")), TicketPriority::Urgent, TicketStatus::Solved),
            (alpha, "2025-05-01".into(), None, TicketPriority::Low, TicketStatus::Pending),
        ],
        "{}",
        t.label
    );
    assert_eq!(s.tickets_of(Some(beta)).await.unwrap(), vec![], "T3 moved to A1");
    assert_eq!(s.tickets_of(None).await.unwrap(), alpha_tickets);
    let strip = |r: &tickets::TicketRecord| tickets::TicketRecord { line: 0, ..r.clone() };
    assert_eq!(s.export_tickets().await.unwrap(), later.iter().map(strip).collect::<Vec<_>>());

    s.delete_account(alpha).await.unwrap();
    assert_eq!(s.tickets_of(None).await.unwrap(), vec![], "tickets go with their account");
    t.finish().await;
}

#[store_test]
async fn nps_and_tickets_naming_an_unknown_account_write_nothing(t: TestStore) {
    let answers = nps_records(
        "account_id,contact_email,score,responded_at\nA1,aki@a.example,8,2025-04-01\nNOPE,ren@a.example,2,2025-04-01\n",
    );
    let filed = ticket_records(
        "ticket_id,account_id,created_at,priority,status\nT1,A1,2025-04-01,low,open\nT2,NOPE,2025-04-01,low,open\n",
    );
    let s = &t.store;
    s.create_account(&account("A1", "Acme")).await.unwrap();
    let error = s.import_nps(&answers).await.unwrap_err();
    assert!(matches!(error, StoreError::NotFound { entity: Entity::Account, .. }), "{error:?}");
    let error = s.import_tickets(&filed).await.unwrap_err();
    assert!(matches!(error, StoreError::NotFound { entity: Entity::Account, .. }), "{error:?}");
    assert!(!s.has_nps().await.unwrap() && !s.has_tickets().await.unwrap(), "{}", t.label);
    t.finish().await;
}

#[store_test]
async fn accounts_without_a_renewal_date_sort_last_both_ways(t: TestStore) {
    let s = &t.store;
    let mut ids = Vec::new();
    for name in ["Soon", "Later", "None"] {
        ids.push(s.create_account(&account(name, name)).await.unwrap().id);
    }
    let renewing = |date: &str| AccountFigures { next_renewal_date: Some(day(date)), ..AccountFigures::default() };
    s.save_figures(
        &[(ids[0], renewing("2025-02-01")), (ids[1], renewing("2025-09-01")), (ids[2], AccountFigures::default())],
        day("2025-01-01"),
    )
    .await
    .unwrap();
    for (descending, expected) in [(false, ["Soon", "Later", "None"]), (true, ["Later", "Soon", "None"])] {
        let page =
            s.list_accounts(&AccountQuery { sort: AccountSort::RenewalDate, descending, ..query() }).await.unwrap();
        let names: Vec<&str> = page.items.iter().map(|a| a.input.name.as_str()).collect();
        assert_eq!(names, expected, "{} descending={descending}", t.label);
    }
    t.finish().await;
}

fn staff(email: &str) -> StaffUserInput {
    StaffUserInput {
        email: Email::parse(email).unwrap(),
        name: email.into(),
        team_id: None,
        role: Role::Csm,
        active: true,
    }
}

#[store_test]
async fn saved_views_belong_to_one_user_replace_by_name_and_only_their_owner_deletes_them(t: TestStore) {
    let s = &t.store;
    let aki = s.create_user(&staff("aki@k.example")).await.unwrap().id;
    let ren = s.create_user(&staff("ren@k.example")).await.unwrap().id;
    let enterprise = s.save_view(aki, "Enterprise", "tier=enterprise").await.unwrap();
    let at_risk = s.save_view(aki, "At risk", "grade=at_risk&sort=score").await.unwrap();
    let theirs = s.save_view(ren, "Enterprise", "tier=enterprise&owner=2").await.unwrap();
    assert_eq!(s.saved_views(aki).await.unwrap(), vec![at_risk.clone(), enterprise.clone()], "by name: {}", t.label);
    assert_eq!(s.saved_views(ren).await.unwrap(), vec![theirs.clone()], "the same name is another user's own view");

    let replaced = s.save_view(aki, "Enterprise", "tier=enterprise&sort=-arr").await.unwrap();
    assert_eq!(replaced.id, enterprise.id, "saving under an existing name replaces that view");
    let names: Vec<(String, String)> =
        s.saved_views(aki).await.unwrap().into_iter().map(|v| (v.name, v.query)).collect();
    assert_eq!(
        names,
        vec![
            ("At risk".into(), "grade=at_risk&sort=score".into()),
            ("Enterprise".into(), "tier=enterprise&sort=-arr".into())
        ]
    );

    let foreign = s.delete_view(ren, at_risk.id).await.unwrap_err();
    assert!(matches!(foreign, StoreError::NotFound { entity: Entity::SavedView, .. }), "{foreign:?}");
    assert_eq!(s.saved_views(aki).await.unwrap().len(), 2, "another user's delete removes nothing");
    s.delete_view(aki, at_risk.id).await.unwrap();
    assert_eq!(s.saved_views(aki).await.unwrap(), vec![replaced]);
    let again = s.delete_view(aki, at_risk.id).await.unwrap_err();
    assert!(matches!(again, StoreError::NotFound { entity: Entity::SavedView, .. }), "{again:?}");
    assert_eq!(s.saved_views(ren).await.unwrap(), vec![theirs]);
    t.finish().await;
}

fn snapshot(on: &str, score: Option<f64>, grade: &str) -> Snapshot {
    let measures = BTreeMap::from([("pulse".to_owned(), score), ("nps".to_owned(), None)]);
    Snapshot { day: day(on), score, grade: grade.into(), measures }
}

#[store_test]
async fn saved_health_becomes_the_accounts_current_health_and_grades_on_reads_the_latest_snapshot_by_then(
    t: TestStore,
) {
    let s = &t.store;
    let a = s.create_account(&account("A", "Alpha")).await.unwrap().id;
    let b = s.create_account(&account("B", "Beta")).await.unwrap().id;
    assert_eq!(s.get_account(a).await.unwrap().health, CurrentHealth::default(), "not scored yet: {}", t.label);

    s.save_health(&[(a, snapshot("2025-01-01", Some(80.0), "healthy"), None)]).await.unwrap();
    s.save_health(&[
        (a, snapshot("2025-01-10", Some(30.0), "at_risk"), Some(-50.0)),
        (b, snapshot("2025-01-10", None, "unknown"), None),
    ])
    .await
    .unwrap();
    assert_eq!(
        s.get_account(a).await.unwrap().health,
        CurrentHealth {
            score: Some(30.0),
            grade: Some("at_risk".into()),
            delta_30d: Some(-50.0),
            on: Some(day("2025-01-10"))
        },
        "{}",
        t.label
    );
    assert_eq!(
        s.get_account(b).await.unwrap().health,
        CurrentHealth { score: None, grade: Some("unknown".into()), delta_30d: None, on: Some(day("2025-01-10")) }
    );
    let history = s.snapshots(a, day("2025-01-01")).await.unwrap();
    assert_eq!(
        history,
        vec![snapshot("2025-01-01", Some(80.0), "healthy"), snapshot("2025-01-10", Some(30.0), "at_risk")],
        "measures with and without data round-trip"
    );

    s.save_health(&[(a, snapshot("2025-01-10", Some(35.0), "at_risk"), Some(-45.0))]).await.unwrap();
    assert_eq!(s.snapshots(a, day("2025-01-01")).await.unwrap().len(), 2, "one snapshot per account and day");
    assert_eq!(s.get_account(a).await.unwrap().health.score, Some(35.0));

    let grades_on = |d: &'static str| async move {
        let mut found: Vec<(AccountId, Option<f64>, String, NaiveDate)> = s
            .grades_on(day(d), None)
            .await
            .unwrap()
            .into_iter()
            .map(|(id, on)| (id, on.score, on.grade, on.day))
            .collect();
        found.sort_by_key(|f| f.0);
        found
    };
    assert_eq!(grades_on("2024-12-31").await, vec![], "nothing on or before");
    assert_eq!(grades_on("2025-01-01").await, vec![(a, Some(80.0), "healthy".into(), day("2025-01-01"))], "on the day");
    assert_eq!(
        grades_on("2025-01-09").await,
        vec![(a, Some(80.0), "healthy".into(), day("2025-01-01"))],
        "before the next"
    );
    assert_eq!(
        grades_on("2025-03-01").await,
        vec![(a, Some(35.0), "at_risk".into(), day("2025-01-10")), (b, None, "unknown".into(), day("2025-01-10"))]
    );
    let only_b = s.grades_on(day("2025-03-01"), Some(&[b])).await.unwrap();
    assert_eq!(only_b.keys().copied().collect::<Vec<_>>(), vec![b], "{}: only the accounts asked for", t.label);
    for d in ["2024-12-31", "2025-01-01", "2025-01-09", "2025-03-01"] {
        let listed = s.grades_on(day(d), Some(&[a, b])).await.unwrap();
        assert_eq!(
            listed,
            s.grades_on(day(d), None).await.unwrap(),
            "{}: listed accounts read the same on {d}",
            t.label
        );
        let around = s.grades_around(day(d), Some(&[a, b])).await.unwrap();
        assert_eq!(around, s.grades_around(day(d), None).await.unwrap(), "{}: the same grades around {d}", t.label);
    }
    t.finish().await;
}

/// ARR in whole yen, paying from 2024, renewing on `renewal`.
fn paying(arr: i64, renewal: Option<&str>) -> AccountFigures {
    AccountFigures {
        mrr: Money(Decimal::from(arr) / Decimal::from(12)),
        arr: Money(Decimal::from(arr)),
        first_paying_day: (arr > 0).then(|| day("2024-01-01")),
        next_renewal_date: renewal.map(day),
        churned_on: None,
    }
}

#[store_test]
async fn a_churned_account_keeps_no_current_health_and_leaves_the_grade_filter(t: TestStore) {
    let s = &t.store;
    let a = s.create_account(&account("A", "Alpha")).await.unwrap().id;
    let b = s.create_account(&account("B", "Beta")).await.unwrap().id;
    s.save_figures(&[(a, paying(1200, None)), (b, paying(1200, None))], day("2025-01-01")).await.unwrap();
    let at_risk = |on: &str| snapshot(on, Some(10.0), "at_risk");
    s.save_health(&[(a, at_risk("2025-01-01"), Some(-20.0)), (b, at_risk("2025-01-01"), None)]).await.unwrap();
    let graded = |q: AccountQuery| async move {
        s.list_accounts(&q).await.unwrap().items.into_iter().map(|a| a.id).collect::<Vec<_>>()
    };
    assert_eq!(graded(AccountQuery { grade: Some("at_risk".into()), ..query() }).await, vec![a, b], "{}", t.label);

    let churned = AccountFigures {
        first_paying_day: Some(day("2024-01-01")),
        churned_on: Some(day("2025-01-02")),
        ..paying(0, None)
    };
    s.save_figures(&[(a, churned)], day("2025-01-02")).await.unwrap();
    let stored = s.get_account(a).await.unwrap();
    assert_eq!(stored.figures.churned_on, Some(day("2025-01-02")), "{}", t.label);
    assert_eq!(stored.health, CurrentHealth::default(), "its figures cleared its health: {}", t.label);
    s.save_health(&[(a, at_risk("2025-01-02"), None), (b, at_risk("2025-01-02"), None)]).await.unwrap();
    assert_eq!(s.get_account(a).await.unwrap().health, CurrentHealth::default(), "a late score is not kept");
    assert_eq!(graded(AccountQuery { grade: Some("at_risk".into()), ..query() }).await, vec![b], "{}", t.label);
    t.finish().await;
}

#[store_test]
async fn grade_totals_count_only_paying_accounts_per_grade(t: TestStore) {
    let s = &t.store;
    let mut ids = Vec::new();
    for name in ["Healthy1", "Healthy2", "Risky", "Unscored", "FreeHealthy"] {
        ids.push(s.create_account(&account(name, name)).await.unwrap().id);
    }
    s.save_figures(
        &[
            (ids[0], paying(1200, None)),
            (ids[1], paying(2400, None)),
            (ids[2], paying(12000, None)),
            (ids[3], paying(600, None)),
            (ids[4], paying(0, None)),
        ],
        day("2025-01-01"),
    )
    .await
    .unwrap();
    s.save_health(&[
        (ids[0], snapshot("2025-01-01", Some(90.0), "healthy"), None),
        (ids[1], snapshot("2025-01-01", Some(75.0), "healthy"), None),
        (ids[2], snapshot("2025-01-01", Some(10.0), "at_risk"), None),
        (ids[4], snapshot("2025-01-01", Some(95.0), "healthy"), None),
    ])
    .await
    .unwrap();
    let mut totals: Vec<(Option<String>, i64, Money)> =
        s.grade_totals().await.unwrap().into_iter().map(|g| (g.grade, g.accounts, g.arr)).collect();
    totals.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(
        totals,
        vec![
            (None, 1, Money(Decimal::from(600))),
            (Some("at_risk".into()), 1, Money(Decimal::from(12000))),
            (Some("healthy".into()), 2, Money(Decimal::from(3600))),
        ],
        "the free account is left out: {}",
        t.label
    );
    t.finish().await;
}

#[store_test]
async fn the_account_list_filters_by_grade_and_renewal_window_and_sorts_by_score_and_trend_with_blanks_last(
    t: TestStore,
) {
    let s = &t.store;
    let mut ids = Vec::new();
    for name in ["Low", "Mid", "High", "Blank"] {
        ids.push(s.create_account(&account(name, name)).await.unwrap().id);
    }
    s.save_figures(
        &[
            (ids[0], paying(1200, Some("2025-02-01"))),
            (ids[1], paying(1200, Some("2025-03-15"))),
            (ids[2], paying(1200, Some("2025-06-01"))),
            (ids[3], paying(0, None)),
        ],
        day("2025-01-01"),
    )
    .await
    .unwrap();
    s.save_health(&[
        (ids[0], snapshot("2025-01-01", Some(20.0), "at_risk"), Some(-30.0)),
        (ids[1], snapshot("2025-01-01", Some(50.0), "neutral"), Some(5.0)),
        (ids[2], snapshot("2025-01-01", Some(90.0), "healthy"), None),
    ])
    .await
    .unwrap();
    let names = |page: store::Page<domain::account::Account>| -> Vec<String> {
        page.items.into_iter().map(|a| a.input.name).collect()
    };
    let list = |q: AccountQuery| async move { names(s.list_accounts(&q).await.unwrap()) };

    assert_eq!(list(AccountQuery { grade: Some("at_risk".into()), ..query() }).await, ["Low"], "{}", t.label);
    let healthy = s.list_accounts(&AccountQuery { grade: Some("healthy".into()), ..query() }).await.unwrap();
    assert_eq!((names(healthy.clone()), healthy.total), (vec!["High".to_owned()], 1));

    let window = |first: &str, last: &str| AccountQuery {
        renewal_between: Some((day(first), day(last))),
        sort: AccountSort::RenewalDate,
        ..query()
    };
    assert_eq!(list(window("2025-02-01", "2025-03-15")).await, ["Low", "Mid"], "both ends are inside");
    assert_eq!(list(window("2025-02-02", "2025-03-14")).await, Vec::<String>::new());
    assert_eq!(
        list(AccountQuery { grade: Some("neutral".into()), ..window("2025-01-01", "2025-12-31") }).await,
        ["Mid"],
        "filters combine"
    );

    let sorted = |sort, descending| AccountQuery { sort, descending, ..query() };
    assert_eq!(list(sorted(AccountSort::Score, false)).await, ["Low", "Mid", "High", "Blank"]);
    assert_eq!(list(sorted(AccountSort::Score, true)).await, ["High", "Mid", "Low", "Blank"], "unscored last");
    assert_eq!(list(sorted(AccountSort::Trend, false)).await, ["Low", "Mid", "High", "Blank"]);
    assert_eq!(
        list(sorted(AccountSort::Trend, true)).await,
        ["Mid", "Low", "Blank", "High"],
        "no change known: last, then by id in the same direction"
    );
    let second_page = s
        .list_accounts(&AccountQuery { sort: AccountSort::Score, descending: true, limit: 2, offset: 2, ..query() })
        .await
        .unwrap();
    assert_eq!((names(second_page.clone()), second_page.total), (vec!["Low".to_owned(), "Blank".to_owned()], 4));
    t.finish().await;
}
