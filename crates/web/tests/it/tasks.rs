//! Tasks through real HTTP, on SQLite and (with TEST_DATABASE_URL) PostgreSQL: the API, no
//! duplicates, who may change a task, the page in both languages, its forms, and the timeline
//! entry a finished task leaves.

use crate::common;
use crate::common::{page, submit, unescaped, Server};
use app::Actor;
use domain::access::Role;
use domain::i18n::Bilingual;
use domain::tasks::{TaskInput, TaskPriority, TaskReason};
use domain::{AccountId, UserId};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use store::testing::TestStore;
use test_macros::store_test;

/// An account owned by `owner`, created by the admin.
async fn account(server: &Server, external: &str, owner: UserId) -> i64 {
    let (status, account) =
        server.post("/api/v1/accounts", json!({"external_id": external, "name": external, "owner_id": owner.0})).await;
    assert_eq!(status, StatusCode::CREATED, "{account}");
    account["id"].as_i64().unwrap()
}

fn day(days_from_today: i64, server: &Server) -> String {
    (server.app.today() + chrono::Duration::days(days_from_today)).to_string()
}

fn playbook_task(account: i64, assignee: Option<UserId>, due: Option<chrono::NaiveDate>) -> TaskInput {
    TaskInput {
        account_id: AccountId(account),
        title: "Renewal risk call".into(),
        kind: "risk".into(),
        priority: TaskPriority::Urgent,
        due_on: due,
        assignee_id: assignee,
        team_id: None,
        reason: TaskReason {
            source: "playbook:3".into(),
            summary: Bilingual::new(
                "更新日まで 60 日でスコアが 40 未満です",
                "Renewal in 60 days with a score below 40",
            ),
            data: json!({"health_score": 38.5, "days_to_renewal": 60}),
        },
        dedupe_key: "renewal-risk-2025".into(),
    }
}

#[store_test]
async fn tasks_are_created_read_listed_and_finished_through_the_api_without_duplicates(t: TestStore) {
    let server = Server::start(&t).await;
    let (csm, browser) = server.browser("csm@k.example", Role::Csm).await;
    let acme = account(&server, "Acme", csm).await;
    let body = json!({"account_id": acme, "title": "Call the CFO", "kind": "renewal", "priority": "high",
        "due_on": day(3, &server), "note": "Budget review next month"});
    let (status, task) = server.as_browser(&browser, Method::POST, "/api/v1/tasks", Some(body.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{}: {task}", t.label);
    let id = task["id"].as_i64().unwrap();
    assert_eq!(task["assignee_id"], csm.0, "a task without assignee is the writer's");
    assert_eq!((task["status"].as_str(), task["priority"].as_str()), (Some("open"), Some("high")));
    assert_eq!(task["reason"]["source"], "manual");
    assert_eq!(task["reason"]["summary"]["en"], "Budget review next month");
    assert_eq!(task["reason"]["data"]["arr"], "0.00", "{task}");

    // The same title on the same account and kind is the same task.
    let (status, problem) = server.as_browser(&browser, Method::POST, "/api/v1/tasks", Some(body.clone())).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "dedupe_key");
    let (status, _) = server
        .as_browser(
            &browser,
            Method::POST,
            "/api/v1/tasks",
            Some(json!({"account_id": acme, "title": "Send the deck"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let (status, read) = server.get(&format!("/api/v1/tasks/{id}")).await;
    assert_eq!((status, read["title"].as_str()), (StatusCode::OK, Some("Call the CFO")));
    let (_, mine) = server.as_browser(&browser, Method::GET, "/api/v1/tasks?assignee=me&status=open", None).await;
    assert_eq!(mine["total"], 2, "{mine}");
    let (_, of_account) = server.get(&format!("/api/v1/tasks?account={acme}&status=done,cancelled")).await;
    assert_eq!(of_account["total"], 0);

    let path = format!("/api/v1/tasks/{id}");
    let (status, problem) = server.as_browser(&browser, Method::PATCH, &path, Some(json!({"status": "done"}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "outcome");
    let (status, done) = server
        .as_browser(&browser, Method::PATCH, &path, Some(json!({"status": "done", "outcome": "Renewal agreed"})))
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!((done["status"].as_str(), done["outcome"].as_str()), (Some("done"), Some("Renewal agreed")));
    assert!(done["closed_at"].is_string());

    // Once it is done, the same task may be written again; the old one then cannot reopen.
    let (status, again) = server.as_browser(&browser, Method::POST, "/api/v1/tasks", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    let (status, _) = server.as_browser(&browser, Method::PATCH, &path, Some(json!({"status": "open"}))).await;
    assert_eq!(status, StatusCode::CONFLICT);

    let (status, problem) = server.get("/api/v1/tasks?assignee=someone&status=later&overdue=maybe").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = problem["errors"].as_array().unwrap().iter().filter_map(|e| e["field"].as_str()).collect();
    assert_eq!(fields, ["assignee", "status", "overdue"]);
    let (_, audit) = server.get(&format!("/api/v1/audit?entity=task&entity_id={id}")).await;
    assert_eq!(audit["total"], 2, "created and finished: {audit}");
    drop(server);
    t.finish().await;
}

#[store_test]
async fn a_playbook_task_is_created_once_while_open(t: TestStore) {
    let server = Server::start(&t).await;
    let csm = common::create_user(&server.app, "csm@k.example", Role::Csm).await;
    let acme = account(&server, "Acme", csm).await;
    let playbook = Actor::System("playbook");
    let first = server.app.create_task(&playbook, playbook_task(acme, Some(csm), None)).await.unwrap();
    let first = first.expect("created");
    assert!(server.app.create_task(&playbook, playbook_task(acme, Some(csm), None)).await.unwrap().is_none());
    let mut bad = playbook_task(acme, Some(UserId(999)), None);
    bad.reason.source = "robot".into();
    match server.app.create_task(&playbook, bad).await {
        Err(app::AppError::Invalid(errors)) => {
            let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
            assert_eq!(fields, ["reason.source", "assignee_id"]);
        }
        other => panic!("{other:?}"),
    }
    server.app.complete_task(&playbook, first.id, "Called").await.unwrap();
    assert!(server.app.create_task(&playbook, playbook_task(acme, Some(csm), None)).await.unwrap().is_some());
    drop(server);
    t.finish().await;
}

#[store_test]
async fn only_the_assignee_the_accounts_csms_and_managers_change_a_task(t: TestStore) {
    let server = Server::start(&t).await;
    let (owner, owner_browser) = server.browser("owner@k.example", Role::Csm).await;
    let (helper, helper_browser) = server.browser("helper@k.example", Role::Csm).await;
    let (_, other_browser) = server.browser("other@k.example", Role::Csm).await;
    let (_, viewer) = server.browser("viewer@k.example", Role::Viewer).await;
    let (_, manager) = server.browser("manager@k.example", Role::Manager).await;
    let acme = account(&server, "Acme", owner).await;
    let create = |title: &str, assignee: Option<UserId>| json!({"account_id": acme, "title": title, "assignee_id": assignee.map(|u| u.0)});

    let (status, _) =
        server.as_browser(&other_browser, Method::POST, "/api/v1/tasks", Some(create("Not mine", None))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a CSM creates tasks only on accounts they may edit");
    let (status, _) = server.as_browser(&viewer, Method::POST, "/api/v1/tasks", Some(create("Viewer", None))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (_, helped) = server
        .as_browser(&owner_browser, Method::POST, "/api/v1/tasks", Some(create("Demo for the team", Some(helper))))
        .await;
    let path = format!("/api/v1/tasks/{}", helped["id"]);
    let snooze = json!({"status": "snoozed", "snoozed_until": day(7, &server), "outcome": "After their holiday"});
    let (status, _) = server.as_browser(&other_browser, Method::PATCH, &path, Some(snooze.clone())).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "neither assignee nor the account's CSM");
    let (status, snoozed) = server.as_browser(&helper_browser, Method::PATCH, &path, Some(snooze)).await;
    assert_eq!(status, StatusCode::OK, "the assignee: {snoozed}");
    assert_eq!(snoozed["status"], "snoozed");
    let (status, cancelled) = server
        .as_browser(&manager, Method::PATCH, &path, Some(json!({"status": "cancelled", "outcome": "Not needed"})))
        .await;
    assert_eq!(status, StatusCode::OK, "a manager: {cancelled}");
    let (status, problem) = server
        .as_browser(
            &owner_browser,
            Method::PATCH,
            &path,
            Some(json!({"status": "snoozed", "snoozed_until": day(3, &server)})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "closed tasks only reopen: {problem}");
    assert_eq!(problem["errors"][0]["field"], "status");

    let (_, task) =
        server.as_browser(&owner_browser, Method::POST, "/api/v1/tasks", Some(create("Owner's", None))).await;
    let id = task["id"].as_i64().unwrap();
    let (status, _, _) =
        submit(&server, &other_browser, &format!("/tasks/{id}/complete"), "en", &[("note", "Done")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the page refuses others' tasks too");
    let (status, html) = page(&server, &other_browser, "/tasks?tab=all").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "all open tasks are the managers' list: {html}");
    let (status, html) = page(&server, &manager, "/tasks?tab=all&lang=en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!("id=\"task-row-{id}\"")), "everyone's tasks open as a table: {html}");
    drop(server);
    t.finish().await;
}

#[store_test]
async fn the_page_shows_why_a_task_exists_in_the_readers_language_and_marks_overdue_in_words(t: TestStore) {
    let server = Server::start(&t).await;
    let (csm, browser) = server.browser("csm@k.example", Role::Csm).await;
    let acme = account(&server, "Acme", csm).await;
    let yesterday = server.app.today().pred_opt().unwrap();
    let task = server
        .app
        .create_task(&Actor::System("playbook"), playbook_task(acme, Some(csm), Some(yesterday)))
        .await
        .unwrap()
        .unwrap();
    let id = task.id;

    let (status, ja) = page(&server, &browser, "/tasks?lang=ja").await;
    assert_eq!(status, StatusCode::OK);
    let ja = unescaped(&ja);
    // Playbook 3 no longer exists (nor its name): the summary stored with the task says why.
    assert!(
        ja.contains("プレイブック「ID 3（削除済み）」が作成しました。更新日まで 60 日でスコアが 40 未満です"),
        "{ja}"
    );
    assert!(ja.contains("<li>ヘルススコアは 38.5 でした。</li>"), "{ja}");
    assert!(ja.contains("<dt>更新日までの日数</dt><dd>60</dd>"), "{ja}");
    assert!(ja.contains("⚠ 期限切れ") && ja.contains("緊急"), "{ja}");
    assert!(ja.contains("id=\"nav-tasks\"") && ja.contains(">タスク</a>"));

    let (status, en) = page(&server, &browser, "/tasks?tab=overdue&lang=en").await;
    assert_eq!(status, StatusCode::OK);
    let en = unescaped(&en);
    assert!(en.contains("Created by the playbook “ID 3 (deleted)”: Renewal in 60 days with a score below 40"), "{en}");
    assert!(en.contains("<li>The health score was 38.5.</li>") && en.contains("<dt>Days to renewal</dt><dd>60</dd>"));
    assert!(en.contains("⚠ Overdue") && en.contains("Urgent"));
    assert!(en.contains(&format!("id=\"task-{id}-complete\"")), "the assignee gets the forms");

    // The API agrees: one overdue task, and a snoozed one is not overdue.
    let (_, overdue) = server.get("/api/v1/tasks?overdue=true").await;
    assert_eq!(overdue["total"], 1, "{overdue}");
    server.app.snooze_task(&Actor::System("tests"), id, server.app.today().succ_opt(), "").await.unwrap();
    let (_, overdue) = server.get("/api/v1/tasks?overdue=true").await;
    assert_eq!(overdue["total"], 0, "{overdue}");
    let (_, html) = page(&server, &browser, "/tasks?tab=overdue&lang=en").await;
    assert!(html.contains("id=\"task-empty\""), "{html}");

    // The account 360 lists the open task and links to a new one.
    let (_, account_page) = page(&server, &browser, &format!("/accounts/{acme}?lang=en")).await;
    assert!(account_page.contains(&format!("id=\"account-task-{id}\"")), "{account_page}");
    assert!(account_page.contains(&format!("href=\"/tasks?account={acme}#new-task\"")));
    drop(server);
    t.finish().await;
}

#[store_test]
async fn team_tasks_include_tasks_assigned_to_teammates(t: TestStore) {
    let server = Server::start(&t).await;
    let (_, team) = server.post("/api/v1/teams", json!({"name": "SMB"})).await;
    let (me, browser) = server.browser("me@k.example", Role::Csm).await;
    let (mate, _) = server.browser("mate@k.example", Role::Csm).await;
    for user in [me, mate] {
        let (status, body) =
            server.send(Method::PATCH, &format!("/api/v1/users/{user}"), Some(json!({"team_id": team["id"]}))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let acme = account(&server, "Acme", mate).await;
    let task = server.app.create_task(&Actor::System("playbook"), playbook_task(acme, Some(mate), None)).await;
    let id = task.unwrap().unwrap().id;
    let (_, mine) = page(&server, &browser, "/tasks?tab=mine").await;
    assert!(!mine.contains(&format!("id=\"task-{id}\"")));
    let (_, team_table) = page(&server, &browser, "/tasks?tab=team&lang=en").await;
    assert!(team_table.contains(&format!("id=\"task-row-{id}\"")), "{team_table}");
    let (_, team_page) = page(&server, &browser, "/tasks?tab=team&view=cards&lang=en").await;
    assert!(team_page.contains(&format!("id=\"task-{id}\"")), "{team_page}");
    assert!(team_page.contains("Only the assignee"), "a teammate reads but does not change it");
    let (_, listed) = server.get(&format!("/api/v1/tasks?team={}", team["id"])).await;
    assert_eq!(listed["total"], 1);
    drop(server);
    t.finish().await;
}

#[store_test]
async fn finishing_a_task_on_the_page_stores_the_outcome_and_writes_the_timeline(t: TestStore) {
    let server = Server::start(&t).await;
    let (csm, browser) = server.browser("csm@k.example", Role::Csm).await;
    let acme = account(&server, "Acme", csm).await;
    let (status, _, location) = submit(
        &server,
        &browser,
        "/tasks",
        "ja",
        &[
            ("tab", "account"),
            ("return_account", &acme.to_string()),
            ("account_id", &acme.to_string()),
            ("title", "オンボーディング面談"),
            ("kind", "onboarding"),
            ("priority", "normal"),
            ("due_on", ""),
            ("assignee_id", &csm.0.to_string()),
            ("note", ""),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = location.unwrap();
    assert!(location.starts_with(&format!("/tasks?account={acme}&done=created#task-")), "{location}");
    let (_, listed) = server.get(&format!("/api/v1/tasks?account={acme}")).await;
    let id = listed["items"][0]["id"].as_i64().unwrap();
    assert_eq!(listed["items"][0]["reason"]["summary"]["ja"], "csm@k.example さんが手動で作成");

    let (status, _, location) = submit(
        &server,
        &browser,
        &format!("/tasks/{id}/complete"),
        "ja",
        &[("tab", "mine"), ("return_account", ""), ("note", "導入計画に合意")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some(format!("/tasks?tab=mine&done=completed#task-{id}").as_str()));
    let (_, task) = server.get(&format!("/api/v1/tasks/{id}")).await;
    assert_eq!((task["status"].as_str(), task["outcome"].as_str()), (Some("done"), Some("導入計画に合意")));
    let (_, timeline) = server.get(&format!("/api/v1/timeline?account_id={acme}&kind=system")).await;
    assert_eq!(timeline["total"], 1, "{timeline}");
    let entry = &timeline["items"][0];
    assert_eq!(entry["title"], "Task done: オンボーディング面談", "API readers get English text");
    assert_eq!(entry["event"]["type"], "task_ended", "and the structured event: {entry}");
    assert_eq!((entry["body"].as_str(), entry["author_id"].as_i64()), (Some("導入計画に合意"), Some(csm.0)));
    let (_, html) = page(&server, &browser, "/tasks?tab=mine&done=completed").await;
    assert!(html.contains("id=\"task-notice\""), "{html}");

    // Reopening from the account's list brings it back.
    let (status, _, location) = submit(
        &server,
        &browser,
        &format!("/tasks/{id}/reopen"),
        "en",
        &[("tab", "account"), ("return_account", &acme.to_string()), ("note", "")],
    )
    .await;
    assert_eq!(
        (status, location),
        (StatusCode::SEE_OTHER, Some(format!("/tasks?account={acme}&done=reopened#task-{id}")))
    );
    let (_, task) = server.get(&format!("/api/v1/tasks/{id}")).await;
    assert_eq!(task["status"], "open");

    // Completing from the team's tasks read as cards returns to the cards, not the tab's table.
    let fields = [("tab", "team"), ("return_account", ""), ("view", "cards"), ("note", "済")];
    let (status, _, location) = submit(&server, &browser, &format!("/tasks/{id}/complete"), "en", &fields).await;
    assert_eq!(
        (status, location),
        (StatusCode::SEE_OTHER, Some(format!("/tasks?tab=team&view=cards&done=completed#task-{id}")))
    );
    drop(server);
    t.finish().await;
}

#[store_test]
async fn bad_page_input_is_refused_with_422_naming_the_field_and_nothing_changes(t: TestStore) {
    let server = Server::start(&t).await;
    let (csm, browser) = server.browser("csm@k.example", Role::Csm).await;
    let acme = account(&server, "Acme", csm).await;
    let acme_id = acme.to_string();
    let task = server.app.create_task(&Actor::System("playbook"), playbook_task(acme, Some(csm), None)).await;
    let id = task.unwrap().unwrap().id;

    let (status, html, _) =
        submit(&server, &browser, &format!("/tasks/{id}/complete"), "en", &[("tab", "mine"), ("note", " ")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Outcome: is required") && html.contains(&format!("id=\"task-{id}-errors\"")), "{html}");
    let (status, html, _) =
        submit(&server, &browser, &format!("/tasks/{id}/cancel"), "ja", &[("tab", "mine"), ("note", "")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("結果: 必須です"), "{html}");
    let yesterday = day(-1, &server);
    let (status, html, _) = submit(
        &server,
        &browser,
        &format!("/tasks/{id}/snooze"),
        "en",
        &[("tab", "mine"), ("snoozed_until", &yesterday), ("note", "later")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Until: must be between"), "{html}");
    assert!(unescaped(&html).contains(&format!("value=\"{yesterday}\"")), "the typed day is kept");
    let (status, html, _) =
        submit(&server, &browser, &format!("/tasks/{id}/snooze"), "en", &[("tab", "mine"), ("snoozed_until", "soon")])
            .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Until: must be a date"), "{html}");
    let (_, task) = server.get(&format!("/api/v1/tasks/{id}")).await;
    assert_eq!(task["status"], "open", "nothing stored: {task}");

    let (status, html, _) = submit(
        &server,
        &browser,
        "/tasks",
        "en",
        &[("account_id", &acme_id), ("title", ""), ("kind", "risk"), ("due_on", "tomorrow"), ("assignee_id", "x")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = unescaped(&html);
    assert!(html.contains("Title: is required") && html.contains("Due: must be a date"), "{html}");
    assert!(html.contains("Assignee: must be a positive id") && html.contains("id=\"new-task-errors\""));
    let (status, html, _) =
        submit(&server, &browser, "/tasks", "ja", &[("account_id", "999999"), ("title", "X")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("顧客: 該当する顧客がありません"), "{html}");
    let fields = [("account_id", acme_id.as_str()), ("title", "Renewal risk call"), ("kind", "risk")];
    assert_eq!(submit(&server, &browser, "/tasks", "en", &fields).await.0, StatusCode::SEE_OTHER);
    let (status, html, _) = submit(&server, &browser, "/tasks", "en", &fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("already has an open task of this kind with this title"), "{html}");
    let (_, listed) = server.get(&format!("/api/v1/tasks?account={acme}")).await;
    assert_eq!(listed["total"], 2, "the playbook's and one manual task: {listed}");
    drop(server);
    t.finish().await;
}

/// An account as the demo names them: an `ACC-` code, a name without spaces and its reading.
async fn momiji(server: &Server, owner: UserId) -> i64 {
    let (status, account) = server
        .post(
            "/api/v1/accounts",
            json!({"external_id": "ACC-000098", "name": "株式会社紅葉エナジー", "domain": "momiji-energy-98.example.jp",
                   "owner_id": owner.0, "custom": {"name_kana": "モミジエナジー"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{account}");
    account["id"].as_i64().unwrap()
}

#[store_test]
async fn a_task_is_created_with_the_account_code_the_pages_show_through_the_api_and_the_form(t: TestStore) {
    let server = Server::start(&t).await;
    let (csm, browser) = server.browser("csm@k.example", Role::Csm).await;
    let momiji = momiji(&server, csm).await;
    let sakura = account(&server, "ACC-000099", csm).await;

    let create = |account: Value, title: &str| json!({"account_id": account, "title": title});
    let (status, task) =
        server.as_browser(&browser, Method::POST, "/api/v1/tasks", Some(create(json!("ACC-000098"), "Call"))).await;
    assert_eq!((status, task["account_id"].as_i64()), (StatusCode::CREATED, Some(momiji)), "{}: {task}", t.label);
    let (status, task) =
        server.as_browser(&browser, Method::POST, "/api/v1/tasks", Some(create(json!(momiji), "Mail"))).await;
    assert_eq!((status, task["account_id"].as_i64()), (StatusCode::CREATED, Some(momiji)), "Kizuna's id still works");
    let digits = json!(sakura.to_string());
    let (status, task) =
        server.as_browser(&browser, Method::POST, "/api/v1/tasks", Some(create(digits, "Visit"))).await;
    assert_eq!((status, task["account_id"].as_i64()), (StatusCode::CREATED, Some(sakura)), "digits: Kizuna's id");
    let (status, problem) =
        server.as_browser(&browser, Method::POST, "/api/v1/tasks", Some(create(json!("ACC-404"), "X"))).await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("account_id"))
    );
    let (status, problem) =
        server.as_browser(&browser, Method::POST, "/api/v1/tasks", Some(create(json!(true), "X"))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");

    // The picker's lookup finds what the pages show, however it is typed.
    for typed in ["もみじ", "ﾓﾐｼﾞ", "紅葉 エナジー", "ＡＣＣ－０００098", "momiji-energy"] {
        let path = format!("/api/v1/accounts/lookup?q={}", urlencode(typed));
        let (status, found) = server.as_browser(&browser, Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::OK, "{found}");
        assert_eq!(found["items"][0]["external_id"], "ACC-000098", "{typed} on {}: {found}", t.label);
        assert_eq!(found["items"].as_array().unwrap().len(), 1, "{typed}: {found}");
    }
    let (_, both) = server.as_browser(&browser, Method::GET, "/api/v1/accounts/lookup?q=acc-0000", None).await;
    assert_eq!(both["items"].as_array().unwrap().len(), 2, "{both}");
    let (status, _) = server.as_browser(&browser, Method::GET, "/api/v1/accounts/lookup?q=a&limit=0", None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // The form: a picker (no inline script) that starts from the account of an account's list.
    let (_, html) = page(&server, &browser, &format!("/tasks?account={momiji}&lang=ja")).await;
    assert!(html.contains("role=\"combobox\"") && html.contains("data-account-picker=\"/api/v1/accounts/lookup\""));
    assert!(html.contains("name=\"account_id\" value=\"ACC-000098\""), "{html}");
    assert!(!html.contains("<script>") && !html.contains("inputmode=\"numeric\""));
    let form = |account: &'static str, title: &'static str| {
        vec![("tab", "mine"), ("account_id", account), ("title", title), ("kind", "outreach")]
    };
    let (status, _, _) = submit(&server, &browser, "/tasks", "ja", &form("ACC-000098", "訪問")).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "the ACC code");
    let (status, _, _) = submit(&server, &browser, "/tasks", "ja", &form("紅葉 エナジー", "電話")).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "a text only one account matches, without JavaScript");
    let (status, html, _) = submit(&server, &browser, "/tasks", "ja", &form("acc-0000", "資料送付")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = unescaped(&html);
    assert!(html.contains("顧客: 「acc-0000」に該当する顧客が 2 件あります。下の候補から選んでください。"), "{html}");
    assert!(html.contains("name=\"account_pick\" value=\"ACC-000098\">株式会社紅葉エナジー (ACC-000098)</button>"));
    assert!(html.contains("value=\"資料送付\""), "what was typed stays");
    let mut picked = form("acc-0000", "資料送付");
    picked.push(("account_pick", "ACC-000099"));
    let (status, _, _) = submit(&server, &browser, "/tasks", "en", &picked).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "a candidate button picks the account");
    let (status, html, _) = submit(&server, &browser, "/tasks", "en", &form("nothing like it", "X")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Account: no account matches"), "{html}");

    let (_, listed) = server.get(&format!("/api/v1/tasks?account={sakura}")).await;
    let titles: Vec<&str> = listed["items"].as_array().unwrap().iter().filter_map(|t| t["title"].as_str()).collect();
    assert_eq!(titles.len(), 2, "Visit and 資料送付: {titles:?}");
    let (_, listed) = server.get(&format!("/api/v1/tasks?account={momiji}")).await;
    assert_eq!(listed["total"], 4, "Call, Mail, 訪問, 電話: {listed}");
    drop(server);
    t.finish().await;
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[store_test]
async fn the_why_panel_says_what_a_playbook_saw_in_sentences_with_its_name_linked_in_japanese_and_english(
    t: TestStore,
) {
    let server = Server::start(&t).await;
    let (csm, browser) = server.browser("csm@k.example", Role::Csm).await;
    let momiji = momiji(&server, csm).await;
    let today = server.app.today();
    let start = today.checked_sub_months(chrono::Months::new(11)).unwrap();
    let (status, period) = server
        .post(
            "/api/v1/subscriptions",
            json!({"subscription_id": "S-98", "account_id": momiji, "product": "core", "start_date": start.to_string(),
                   "billing_interval": "year", "quantity": 10, "unit_price": "24960", "currency": "JPY"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{period}");
    let renewal = start.checked_add_months(chrono::Months::new(12)).unwrap();
    let days_left = (renewal - today).num_days();
    let (status, playbook) = server
        .post(
            "/api/v1/playbooks",
            json!({"name": "更新前フォロー", "name_en": "Pre-renewal follow-up", "trigger": {"type": "renewal_within", "days": 60},
                   "step": [{"action": "create_task", "title": "{{account}} 更新準備", "kind": "renewal"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{playbook}");
    let playbook = playbook["id"].as_i64().unwrap();
    let (status, scan) = server.post("/api/v1/playbooks/scan", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{scan}");
    server.app.run_due_steps().await.unwrap();
    let (_, tasks) = server.get(&format!("/api/v1/tasks?account={momiji}")).await;
    assert_eq!(tasks["total"], 1, "{}: {tasks}", t.label);
    let id = tasks["items"][0]["id"].as_i64().unwrap();

    let (_, ja) = page(&server, &browser, "/tasks?lang=ja").await;
    let ja = unescaped(&ja);
    let why = section(&ja, &format!("id=\"task-{id}-why\""));
    let link = format!("<a href=\"/playbooks/{playbook}\">更新前フォロー</a>");
    assert!(
        why.contains(&format!("プレイブック「{link}」が作成しました。きっかけ: 更新日まで 60 日以内になりました。")),
        "{why}"
    );
    let on = format!("{}年{}月{}日", renewal.format("%Y"), renewal.format("%-m"), renewal.format("%-d"));
    assert!(why.contains(&format!("<li>次回の更新日は{on}で、あと {days_left} 日でした。</li>")), "{why}");
    assert!(why.contains("<li>ARR は ¥249,600 でした。</li>"), "{why}");
    for raw in ["{", "renewal_within", "trigger", "occurrence", "data", "(プレイブック"] {
        assert!(!why.contains(raw), "no raw data ({raw}): {why}");
    }

    let (_, en) = page(&server, &browser, "/tasks?lang=en").await;
    let en = unescaped(&en);
    let why = section(&en, &format!("id=\"task-{id}-why\""));
    let link = format!("<a href=\"/playbooks/{playbook}\">Pre-renewal follow-up</a>");
    assert!(
        why.contains(&format!("Created by the playbook “{link}” because the renewal came within 60 days.")),
        "{why}"
    );
    let on = renewal.format("%b %-d, %Y");
    assert!(why.contains(&format!("<li>The next renewal was on {on}, {days_left} days away.</li>")), "{why}");
    assert!(why.contains("<li>ARR was JPY 249,600.</li>"), "{why}");
    assert!(!why.contains('{') && !why.contains("renewal_within") && !why.contains("更新日"), "{why}");

    // A task written by hand keeps the account as it was, said the same way.
    let (status, manual) = server
        .as_browser(&browser, Method::POST, "/api/v1/tasks", Some(json!({"account_id": "ACC-000098", "title": "電話"})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{manual}");
    let (_, en) = page(&server, &browser, "/tasks?lang=en").await;
    let en = unescaped(&en);
    let why = section(&en, &format!("id=\"task-{}-why\"", manual["id"]));
    assert!(why.contains("Created by hand by csm@k.example") && why.contains("<li>ARR was JPY 249,600.</li>"), "{why}");
    assert!(why.contains(&format!("<li>The next renewal was on {on}.</li>")), "{why}");
    drop(server);
    t.finish().await;
}

/// The element that starts at `marker`, up to its closing `</div>`.
fn section<'a>(html: &'a str, marker: &str) -> &'a str {
    let start = html.find(marker).unwrap_or_else(|| panic!("{marker} in {html}"));
    let end = html[start..].find("</div>").map_or(html.len(), |end| start + end);
    &html[start..end]
}

#[store_test]
async fn everyones_tasks_are_a_table_a_page_at_a_time_narrowed_by_assignee_priority_and_due_day(t: TestStore) {
    let server = Server::start(&t).await;
    let (_, manager) = server.browser("lead@k.example", Role::Manager).await;
    let (aki, _) = server.browser("aki@k.example", Role::Csm).await;
    let acme = account(&server, "Acme", aki).await;
    let today = server.app.today();
    for n in 0..60 {
        let mut input = playbook_task(acme, Some(aki), None);
        input.title = format!("Follow-up {n:02}");
        input.dedupe_key = format!("follow-up-{n}");
        input.priority = if n % 10 == 0 { TaskPriority::Urgent } else { TaskPriority::Normal };
        input.due_on = today.checked_add_days(chrono::Days::new(n));
        server.app.create_task(&Actor::System("playbook"), input).await.unwrap();
    }
    let (status, first) = page(&server, &manager, "/tasks?tab=all&lang=en").await;
    assert_eq!(status, StatusCode::OK, "{} {first}", t.label);
    assert_eq!(first.matches("id=\"task-row-").count(), 50, "one page of 50");
    assert!(first.contains("1–50 of 60") && first.contains("60 tasks"), "{first}");
    assert!(first.contains("Follow-up 00") && !first.contains("Follow-up 55"), "soonest due first");
    let next = unescaped(&first[first.find("id=\"tasks-next\"").map(|i| i - 200).unwrap_or(0)..]);
    assert!(next.contains("offset=50"), "{next}");
    let (_, second) = page(&server, &manager, "/tasks?tab=all&view=table&sort=due&offset=50&lang=en").await;
    assert_eq!(second.matches("id=\"task-row-").count(), 10);
    assert!(second.contains("Follow-up 59") && second.contains("51–60 of 60"));

    let (_, urgent) = page(&server, &manager, &format!("/tasks?tab=all&priority=urgent&assignee={}", aki.0)).await;
    assert_eq!(urgent.matches("id=\"task-row-").count(), 6, "every tenth is urgent");
    let (_, soon) = page(&server, &manager, "/tasks?tab=all&due=7").await;
    assert_eq!(soon.matches("id=\"task-row-").count(), 8, "due today and in the next 7 days");
    let (_, ja) = page(&server, &manager, "/tasks?tab=all&sort=priority&lang=ja").await;
    assert!(ja.contains("60 件中 1〜50 件目") && ja.contains("カードで表示"), "{ja}");
    let (status, _) = page(&server, &manager, "/tasks?tab=all&due=forever").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a bad filter is refused");
    drop(server);
    t.finish().await;
}
