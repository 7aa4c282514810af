//! Product feedback through real HTTP, on SQLite and (with TEST_DATABASE_URL) PostgreSQL: any
//! staff member files requests and adds customers' evidence, impact counts each account once
//! with its ARR, merging moves evidence without double counting, status changes are kept and
//! limited to managers and the request's owner, and the pages work in both languages.

use crate::common::{allow_loopback, page, page_in, submit, unescaped, webhook_receiver, Server};
use domain::access::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use store::testing::TestStore;
use test_macros::store_test;

async fn paying_account(server: &Server, external: &str, name: &str, unit_price: &str) -> i64 {
    let (status, body) = server.post("/api/v1/accounts", json!({"external_id": external, "name": name})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["id"].as_i64().unwrap();
    let start = server.app.today().checked_sub_months(chrono::Months::new(3)).unwrap();
    let period = json!({"subscription_id": format!("S-{external}"), "account_id": id, "product": "core",
        "start_date": start, "billing_interval": "month", "quantity": 1, "unit_price": unit_price, "currency": "JPY"});
    let (status, body) = server.post("/api/v1/subscriptions", period).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    id
}

async fn request(server: &Server, title: &str) -> i64 {
    let (status, body) = server.post("/api/v1/requests", json!({"title": title, "product_area": "連携"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_i64().unwrap()
}

async fn evidence(server: &Server, request: i64, account: Value, importance: &str) -> (StatusCode, Value) {
    let body =
        json!({"account": account, "importance": importance, "source": "meeting", "quote": "Salesforce と連携したい"});
    server.post(&format!("/api/v1/requests/{request}/evidence"), body).await
}

#[store_test]
async fn impact_counts_each_account_once_with_its_arr_and_a_merge_never_counts_twice(t: TestStore) {
    let server = Server::start(&t).await;
    let big = paying_account(&server, "BIG", "大手商事", "100000").await;
    let small = paying_account(&server, "SMALL", "小さな工房", "10000").await;
    let sync = request(&server, "Salesforce 連携").await;
    let duplicate = request(&server, "CRM sync").await;
    assert_eq!(evidence(&server, sync, json!("BIG"), "important").await.0, StatusCode::CREATED);
    assert_eq!(evidence(&server, sync, json!(big), "blocker").await.0, StatusCode::CREATED);
    assert_eq!(evidence(&server, duplicate, json!(big), "nice_to_have").await.0, StatusCode::CREATED);
    assert_eq!(evidence(&server, duplicate, json!("SMALL"), "important").await.0, StatusCode::CREATED);

    let (_, detail) = server.get(&format!("/api/v1/requests/{sync}")).await;
    assert_eq!(detail["impact"]["accounts"], 1, "{}: {detail}", t.label);
    assert_eq!(detail["impact"]["blockers"], 1);
    assert_eq!(detail["impact"]["arr"], "1200000.00", "{detail}");
    assert_eq!(detail["impact"]["score"], "2400000.00", "a blocker weighs 2 × ARR: {detail}");

    let (status, merged) = server.post(&format!("/api/v1/requests/{duplicate}/merge"), json!({"into": sync})).await;
    assert_eq!(status, StatusCode::OK, "{merged}");
    assert_eq!(merged["id"], sync);
    let (_, detail) = server.get(&format!("/api/v1/requests/{duplicate}")).await;
    assert_eq!(detail["id"], sync, "a merged request's address answers with the survivor");
    assert_eq!(detail["impact"]["accounts"], 2, "{detail}");
    assert_eq!(detail["impact"]["arr"], "1320000.00", "BIG counts once: {detail}");
    assert_eq!(detail["evidence"].as_array().unwrap().len(), 4, "every quote is kept");
    assert_eq!(detail["merged"], json!([duplicate]));

    let (_, ranked) = server.get("/api/v1/requests").await;
    assert_eq!(ranked.as_array().unwrap().len(), 1, "{ranked}");
    let (_, of_small) = server.get(&format!("/api/v1/accounts/{small}/requests")).await;
    assert_eq!(of_small[0]["request"]["id"], sync, "{of_small}");
    let (_, of_big) = server.get(&format!("/api/v1/accounts/{big}/requests")).await;
    assert_eq!(of_big.as_array().unwrap().len(), 1, "three quotes on merged requests are one request: {of_big}");
    assert_eq!(of_big[0]["evidence"]["importance"], "blocker", "the strongest is shown: {of_big}");

    let (status, body) = server.post(&format!("/api/v1/requests/{sync}/merge"), json!({"into": sync})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["field"], "into", "{body}");
}

#[store_test]
async fn anyone_files_and_adds_evidence_but_only_managers_and_the_owner_move_a_request(t: TestStore) {
    let server = Server::start(&t).await;
    let account = paying_account(&server, "A-1", "相談商会", "50000").await;
    let (viewer_id, viewer) = server.browser("product@example.com", Role::Viewer).await;
    let (_, csm) = server.browser("csm@example.com", Role::Csm).await;
    let (status, created) =
        server.as_browser(&viewer, Method::POST, "/api/v1/requests", Some(json!({"title": "ダークモード"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{}: {created}", t.label);
    let id = created["id"].as_i64().unwrap();
    let path = format!("/api/v1/requests/{id}/evidence");
    let (status, body) =
        server.as_browser(&csm, Method::POST, &path, Some(json!({"account": account, "quote": "目が疲れる"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["importance"], "important", "{body}");

    let status_path = format!("/api/v1/requests/{id}/status");
    let planned = Some(json!({"status": "planned"}));
    let (status, _) = server.as_browser(&csm, Method::POST, &status_path, planned.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a CSM who does not own the request cannot move it");
    let (status, body) = server
        .send(
            Method::PUT,
            &format!("/api/v1/requests/{id}"),
            Some(json!({"title": "ダークモード", "owner_id": viewer_id.0})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = server.as_browser(&viewer, Method::POST, &status_path, planned).await;
    assert_eq!(status, StatusCode::OK, "the request's product owner moves it: {body}");

    let (status, body) = server.post(&status_path, json!({"status": "declined"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "reason", "{body}");
    let (status, _) = server.post(&status_path, json!({"status": "declined", "reason": "今期は対象外"})).await;
    assert_eq!(status, StatusCode::OK);
    let (_, detail) = server.get(&format!("/api/v1/requests/{id}")).await;
    let history: Vec<&str> =
        detail["history"].as_array().unwrap().iter().map(|h| h["status"].as_str().unwrap()).collect();
    assert_eq!(history, ["new", "planned", "declined"], "{detail}");
    assert_eq!(detail["status_reason"], "今期は対象外");

    let (_, open) = server.get("/api/v1/requests").await;
    assert!(open.as_array().unwrap().is_empty(), "declined requests leave the open list: {open}");
    let (_, all) = server.get("/api/v1/requests?open=false").await;
    assert_eq!(all.as_array().unwrap().len(), 1);

    for (body, field) in [
        (json!({"title": ""}), "title"),
        (json!({"title": "x".repeat(201)}), "title"),
        (json!({"title": "ok", "feature_key": "no spaces"}), "feature_key"),
        (json!({"title": "ok", "owner_id": 999_999}), "owner_id"),
    ] {
        let (status, answer) = server.post("/api/v1/requests", body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
        assert_eq!(answer["errors"][0]["field"], field, "{answer}");
    }
    let (status, answer) = evidence(&server, id, json!("NO-SUCH"), "important").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    let (status, answer) = evidence(&server, id, json!(account), "urgent").await;
    assert_eq!((status, answer["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("importance")));
    let (status, _) = server.get("/api/v1/requests?status=someday").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[store_test]
async fn a_csm_adds_a_customer_request_from_the_account_page_and_ships_it_from_the_request_page(t: TestStore) {
    let server = Server::start(&t).await;
    let account = paying_account(&server, "ACC-7", "紅葉エナジー", "80000").await;
    let (_, manager) = server.browser("lead@example.com", Role::Manager).await;

    let action = format!("/accounts/{account}/requests");
    let fields = [
        ("request", ""),
        ("new_title", "請求書の一括ダウンロード"),
        ("importance", "blocker"),
        ("source", "meeting"),
        ("quote", "毎月100件を手で落としている"),
    ];
    let (status, _, location) = submit(&server, &manager, &action, "ja", &fields).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{}", t.label);
    assert_eq!(location.as_deref(), Some(format!("/accounts/{account}#requests").as_str()));
    let (_, html) = page(&server, &manager, &format!("/accounts/{account}")).await;
    assert!(html.contains("請求書の一括ダウンロード") && html.contains("毎月100件を手で落としている"), "{html}");
    assert!(html.contains("製品へのリクエスト"), "{html}");

    let (status, html, _) = submit(&server, &manager, &action, "en", &[("request", ""), ("new_title", "")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unescaped(&html).contains("Request: is required"), "{html}");

    let (_, list) = page(&server, &manager, "/requests").await;
    assert!(list.contains("請求書の一括ダウンロード") && list.contains("インパクト"), "{list}");
    let (_, ranked) = server.get("/api/v1/requests").await;
    let id = ranked[0]["id"].as_i64().unwrap();
    let (status, _, location) = submit(
        &server,
        &manager,
        &format!("/requests/{id}/status"),
        "ja",
        &[("status", "shipped"), ("reason", "12月リリース")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some(format!("/requests/{id}?done=status").as_str()));
    let (_, html) = page(&server, &manager, &format!("/requests/{id}?done=status")).await;
    assert!(html.contains("リリース済み") && html.contains("12月リリース") && html.contains("紅葉エナジー"), "{html}");

    let (_, notes) = server.get("/api/v1/requests/release-notes").await;
    assert_eq!(notes[0]["askers"], json!(["紅葉エナジー"]), "{notes}");
    let (_, list) = page(&server, &manager, "/requests").await;
    assert!(list.contains("リリースノート") && list.contains("依頼した顧客 1社"), "{list}");
    let (status, _) = server.get("/api/v1/requests/release-notes?days=0").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let (status, html, _) =
        submit(&server, &manager, &format!("/requests/{id}/status"), "en", &[("status", "declined")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unescaped(&html).contains("Reason: is required"), "{html}");
    assert!(html.contains(r#"<option value="declined" selected>"#), "the status chosen stays chosen: {html}");
    let typed = [("account", "存在しない会社XYZ"), ("importance", "blocker"), ("quote", "CSV で出したい")];
    let (status, html, _) = submit(&server, &manager, &format!("/requests/{id}/evidence"), "en", &typed).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unescaped(&html).contains("Account: no account matches"), "{html}");
    assert!(html.contains("value=\"存在しない会社XYZ\"") && html.contains("CSV で出したい</textarea>"), "{html}");
    assert!(html.contains(r#"id="add-evidence" open"#), "the form stays open: {html}");
    assert!(html.contains(r#"<option value="blocker" selected>"#), "{html}");

    let english = page_in(&server, &manager, "/requests?open=false", "en").await;
    assert!(english.contains("Product requests") && english.contains("Shipped"), "{english}");
    let csv = page(&server, &manager, "/requests.csv?open=false").await.1;
    assert!(csv.contains("請求書の一括ダウンロード"), "{csv}");
}

#[store_test]
async fn a_shipped_request_reports_which_askers_use_its_feature_from_ingested_events_and_tells_their_timelines(
    t: TestStore,
) {
    let server = Server::start(&t).await;
    let user = paying_account(&server, "USER", "使う商事", "100000").await;
    let idle = paying_account(&server, "IDLE", "使わない工業", "100000").await;
    paying_account(&server, "OTHER", "頼んでいない社", "100000").await;
    let feature = json!({"key": "bulk_pdf", "name": "一括 PDF", "event": "Bulk PDF Downloaded", "cadence": "monthly", "importance": "core"});
    let (status, body) = server.post("/api/v1/features", feature).await;
    assert!(status.is_success(), "{body}");
    let (status, body) =
        server.post("/api/v1/requests", json!({"title": "一括 PDF", "feature_key": "no_such_feature"})).await;
    assert_eq!((status, body["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("feature_key")));
    let (_, created) = server.post("/api/v1/requests", json!({"title": "一括 PDF", "feature_key": "bulk_pdf"})).await;
    let id = created["id"].as_i64().unwrap();
    for account in [user, idle] {
        assert_eq!(evidence(&server, id, json!(account), "important").await.0, StatusCode::CREATED);
    }
    let (_, detail) = server.get(&format!("/api/v1/requests/{id}")).await;
    assert!(detail["adoption"].is_null(), "no adoption before it ships: {detail}");
    let (status, _) = server
        .post(&format!("/api/v1/requests/{id}/status"), json!({"status": "shipped", "reason": "12月リリース"}))
        .await;
    assert_eq!(status, StatusCode::OK);

    let key = server.write_key().await;
    let used = json!({"userId": "u1", "event": "Bulk PDF Downloaded", "context": {"groupId": "USER"},
        "timestamp": chrono::Utc::now().to_rfc3339()});
    let (status, body) = server.track(&key, "/v1/track", used).await;
    assert!(status.is_success(), "{body}");
    let (_, detail) = server.get(&format!("/api/v1/requests/{id}")).await;
    let adoption = &detail["adoption"];
    assert_eq!((adoption["asked"].as_u64(), adoption["adopted"].as_u64()), (Some(2), Some(1)), "{}: {detail}", t.label);
    assert_eq!(adoption["accounts"][0]["account_id"], user, "{detail}");
    assert_eq!(adoption["accounts"][0]["uses"], 1);
    assert_eq!(adoption["others_share"], 0.0, "the account that did not ask has not used it: {detail}");

    let (_, timeline) = server.get(&format!("/api/v1/timeline?account_id={idle}")).await;
    let titles: Vec<&str> = timeline["items"].as_array().unwrap().iter().filter_map(|e| e["title"].as_str()).collect();
    assert!(titles.iter().any(|t| t.contains("一括 PDF") && t.contains("Shipped")), "{titles:?}");
}

#[store_test]
async fn shipping_a_request_starts_the_request_shipped_playbook_once_for_each_account_that_asked(t: TestStore) {
    let server = Server::start(&t).await;
    let asked = paying_account(&server, "ASKED", "依頼商事", "100000").await;
    paying_account(&server, "QUIET", "無関係工業", "100000").await;
    let admin = json!({"external_id": "C-ASKED", "account_id": asked, "name": "管理者", "email": "admin@asked.example", "role": "admin"});
    assert_eq!(server.post("/api/v1/contacts", admin).await.0, StatusCode::CREATED);
    let shipped = include_str!("../../../../examples/playbooks/request-shipped.toml");
    let definition = app::playbooks::parse_playbook_toml("request-shipped.toml", shipped).unwrap();
    let (status, created) = server.post("/api/v1/playbooks", serde_json::to_value(definition).unwrap()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let playbook = created["id"].as_i64().unwrap();
    let id = request(&server, "給与明細の一括ダウンロード").await;
    assert_eq!(evidence(&server, id, json!(asked), "blocker").await.0, StatusCode::CREATED);
    assert_eq!(evidence(&server, id, json!("ASKED"), "important").await.0, StatusCode::CREATED);

    let status_path = format!("/api/v1/requests/{id}/status");
    server.post(&status_path, json!({"status": "shipped"})).await;
    server.post(&status_path, json!({"status": "in_progress"})).await;
    server.post(&status_path, json!({"status": "shipped"})).await;
    server.app.run_due_steps().await.unwrap();
    let (_, runs) = server.get(&format!("/api/v1/playbooks/{playbook}/runs")).await;
    let ran: Vec<i64> = runs.as_array().unwrap().iter().map(|r| r["account_id"].as_i64().unwrap()).collect();
    assert_eq!(ran, [asked], "once per request and account, never for accounts that did not ask ({})", t.label);
    let (_, tasks) = server.get(&format!("/api/v1/tasks?account={asked}")).await;
    let titles: Vec<&str> = tasks["items"].as_array().unwrap().iter().filter_map(|t| t["title"].as_str()).collect();
    assert_eq!(titles, ["依頼商事: 「給与明細の一括ダウンロード」の使い方を案内"], "{tasks}");
    let (_, outbox) = server.get("/api/v1/outbox").await;
    let subjects: Vec<&str> = outbox.as_array().unwrap().iter().filter_map(|e| e["subject"].as_str()).collect();
    assert_eq!(
        subjects,
        ["【依頼商事 様】ご要望いただいた「給与明細の一括ダウンロード」をリリースしました"],
        "{outbox}"
    );
}

#[store_test]
async fn status_changes_are_posted_signed_to_the_issue_tracker_webhook_whose_secret_is_never_shown(t: TestStore) {
    const SECRET: &str = "tracker-secret-0123456789";
    let (url, calls) = webhook_receiver(SECRET).await;
    calls.lock().unwrap().clear();
    let server = Server::start(&t).await;
    let (status, body) =
        server.send(Method::PUT, "/api/v1/requests/webhook", Some(json!({"url": url, "secret": SECRET}))).await;
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("url")),
        "loopback is refused unless allowed: {body}"
    );
    server.app.configure_outbound(allow_loopback());
    let (status, body) = server.send(Method::PUT, "/api/v1/requests/webhook", Some(json!({"url": url}))).await;
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("secret")),
        "{body}"
    );
    let (status, body) =
        server.send(Method::PUT, "/api/v1/requests/webhook", Some(json!({"url": url, "secret": "short"}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) =
        server.send(Method::PUT, "/api/v1/requests/webhook", Some(json!({"url": url, "secret": SECRET}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["secret"], "********", "{body}");
    let (_, read) = server.get("/api/v1/requests/webhook").await;
    assert!(!read.to_string().contains(SECRET), "{read}");
    let (status, _) =
        server.send(Method::PUT, "/api/v1/requests/webhook", Some(json!({"url": url, "secret": "********"}))).await;
    assert_eq!(status, StatusCode::OK, "the mask keeps the stored secret");
    let (_, manager) = server.browser("lead@example.com", Role::Manager).await;
    let (status, _) =
        server.as_browser(&manager, Method::PUT, "/api/v1/requests/webhook", Some(json!({"url": url}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let account = paying_account(&server, "HOOK", "連携商事", "100000").await;
    let id = request(&server, "Jira 連携").await;
    assert_eq!(evidence(&server, id, json!(account), "blocker").await.0, StatusCode::CREATED);
    server.post(&format!("/api/v1/requests/{id}/status"), json!({"status": "planned", "reason": "Q1"})).await;
    let received = calls.lock().unwrap().clone();
    assert_eq!(received.len(), 1, "{}: {received:?}", t.label);
    let (verified, call) = &received[0];
    assert!(verified, "signed with the secret: {call}");
    assert_eq!(call["request"]["status"], "planned", "{call}");
    assert_eq!(call["request"]["previous_status"], "new");
    assert_eq!(call["accounts"], 1);

    assert_eq!(server.send(Method::DELETE, "/api/v1/requests/webhook", None).await.0, StatusCode::NO_CONTENT);
    server.post(&format!("/api/v1/requests/{id}/status"), json!({"status": "in_progress"})).await;
    assert_eq!(calls.lock().unwrap().len(), 1, "no webhook, no call");
}

#[store_test]
async fn a_survey_comment_and_a_task_fill_the_request_form_and_the_evidence_names_who_asked(t: TestStore) {
    let server = Server::start(&t).await;
    let browser = server.sign_in("admin@k.example").await;
    for (kind, csv) in [
        ("accounts", "account_id,name\nA1,Alpha\n"),
        ("contacts", "contact_id,account_id,name,email\nC1,A1,Hana,hana@alpha.example\n"),
        ("nps", "account_id,contact_email,score,responded_at,comment\nA1,hana@alpha.example,4,2026-11-02,CSV を毎月手で落としている\n"),
    ] {
        let (status, outcome) = server.upload(kind, csv.as_bytes().to_vec()).await;
        assert_eq!(status, StatusCode::OK, "{kind}: {outcome}");
    }
    let (_, list) = server.get("/api/v1/accounts").await;
    let alpha = list["items"][0]["id"].as_i64().unwrap();
    let (_, contacts) = server.get(&format!("/api/v1/contacts?account_id={alpha}")).await;
    let hana = contacts["items"][0]["id"].as_i64().unwrap();

    let (_, html) = page(&server, &browser, &format!("/accounts/{alpha}?lang=en")).await;
    let start = html.find("class=\"nps-as-request\" href=\"").expect("the comment can become a request") + 29;
    let link = unescaped(&html[start..start + html[start..].find('"').unwrap()]);
    assert!(link.contains("evidence_source=survey") && link.contains(&format!("evidence_contact={hana}")), "{link}");
    let (status, html) = page(&server, &browser, &link).await;
    assert_eq!(status, StatusCode::OK);
    let form = &html[html.find("id=\"account-request-form\"").unwrap()..];
    assert!(form.contains("CSV を毎月手で落としている</textarea>"), "the quote is filled in: {form}");
    assert!(form.contains("<option value=\"survey\" selected>"), "{form}");
    assert!(form.contains(&format!("<option value=\"{hana}\" selected>")), "{form}");

    let fields = [
        ("new_title", "CSV の一括ダウンロード"),
        ("importance", "important"),
        ("source", "survey"),
        ("contact_id", &hana.to_string()),
        ("quote", "CSV を毎月手で落としている"),
    ];
    let (status, html, _) = submit(&server, &browser, &format!("/accounts/{alpha}/requests"), "en", &fields).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    let (_, asked) = server.get(&format!("/api/v1/accounts/{alpha}/requests")).await;
    let evidence = &asked[0]["evidence"];
    assert_eq!((&evidence["source"], &evidence["contact_id"]), (&json!("survey"), &json!(hana)), "{asked}");

    let task = json!({"account_id": alpha, "title": "Hana wants SSO before renewal"});
    let (status, created) = server.post("/api/v1/tasks", task).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (_, html) = page(&server, &browser, &format!("/tasks?account={alpha}&lang=ja")).await;
    let id = created["id"].as_i64().unwrap();
    assert!(html.contains(&format!("id=\"task-{id}-as-request\"")), "{html}");
    assert!(html.contains("evidence_quote=Hana+wants+SSO+before+renewal"), "{html}");
    t.finish().await;
}
