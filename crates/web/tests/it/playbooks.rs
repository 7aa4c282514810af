//! Playbooks end to end through the real server, on SQLite and (with TEST_DATABASE_URL)
//! PostgreSQL: a trigger starts one run per account and occurrence however often it is seen;
//! its steps create a task (never twice while it is open), send real mail through SMTP to a
//! local sink once approved in the outbox, and call a local webhook receiver that checks the
//! HMAC-SHA256 signature with its own implementation.

use crate::common;
use crate::common::{
    allow_loopback, create_user, page, smtp_sink, submit, text_of, unescaped, webhook_receiver, Server,
};
use domain::access::{Role, Scope};
use domain::net::OutboundPolicy;
use reqwest::Method;
use reqwest::StatusCode;
use serde_json::{json, Value};
use store::testing::TestStore;
use test_macros::store_test;

const SECRET: &str = "a shared secret of the receiver";

/// Two accounts renewing within 60 days, each with an administrator contact; one far off.
async fn customers(server: &Server) -> Vec<i64> {
    let today = server.app.today();
    let mut ids = Vec::new();
    for (external, name, months_ago) in [("R1", "さくら建設", 11), ("R2", "ひかり薬品", 11), ("FAR", "遠い更新", 2)]
    {
        let (_, account) = server.post("/api/v1/accounts", json!({"external_id": external, "name": name})).await;
        let id = account["id"].as_i64().unwrap();
        let start = today.checked_sub_months(chrono::Months::new(months_ago)).unwrap();
        let (status, period) = server
            .post(
                "/api/v1/subscriptions",
                json!({"subscription_id": format!("S-{external}"), "account_id": id, "product": "core",
                       "start_date": start.to_string(), "billing_interval": "year", "quantity": 10,
                       "unit_price": "12000", "currency": "JPY"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{period}");
        let email = format!("admin@{}.example", external.to_lowercase());
        let (status, contact) = server
            .post("/api/v1/contacts", json!({"external_id": format!("C-{external}"), "account_id": id, "name": "管理者", "email": email, "role": "admin"}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{contact}");
        ids.push(id);
    }
    ids
}

fn playbook(hook: &str) -> Value {
    json!({
        "name": "更新60日前 / Renewal in 60 days",
        "trigger": {"type": "renewal_within", "days": 60},
        "step": [
            {"action": "create_task", "title": "{{account}}: {{renewal_date}} の更新準備", "kind": "renewal", "priority": "high"},
            {"action": "send_email", "to_role": "admin", "subject": "{{account}} 様: 更新のご案内", "body": "{{account}} ご担当者様\n更新日は {{renewal_date}} です。"},
            {"action": "call_webhook", "url": hook, "secret": SECRET},
            {"delay_days": 7, "action": "add_timeline_entry", "title": "一週間後の確認"}
        ]
    })
}

#[store_test]
async fn a_trigger_runs_once_per_account_sends_approved_mail_and_signs_its_webhooks(t: TestStore) {
    let server = Server::start(&t).await;
    let (smtp, mailbox) = smtp_sink().await;
    let (hook, calls) = webhook_receiver(SECRET).await;
    server.app.configure_mail(mail_to(&smtp));
    server.app.configure_outbound(allow_loopback());
    let ids = customers(&server).await;
    let (status, created) = server.post("/api/v1/playbooks", playbook(&hook)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["definition"]["step"][2]["secret"], "********", "secrets are write-only: {created}");
    let playbook_id = created["id"].as_i64().unwrap();
    let (status, renamed) = server
        .send(Method::PUT, &format!("/api/v1/playbooks/{playbook_id}"), Some(created["definition"].clone()))
        .await;
    assert_eq!(status, StatusCode::OK, "the masked definition saves back unchanged: {renamed}");

    for _ in 0..3 {
        let (status, scan) = server.post("/api/v1/playbooks/scan", json!({})).await;
        assert_eq!(status, StatusCode::OK, "{scan}");
    }
    let (_, runs) = server.get(&format!("/api/v1/playbooks/{playbook_id}/runs")).await;
    let runs = runs.as_array().unwrap().clone();
    let mut run_accounts: Vec<i64> = runs.iter().map(|r| r["account_id"].as_i64().unwrap()).collect();
    run_accounts.sort();
    assert_eq!(run_accounts, ids[..2].to_vec(), "one run per renewing account, however often scanned ({})", t.label);
    for run in &runs {
        let steps = run["steps"].as_array().unwrap();
        assert!(steps[..3].iter().all(|s| s["finished_at"].is_string() && s["failed"] == false), "{run}");
        assert!(steps[3]["finished_at"].is_null(), "the delayed step waits: {run}");
        assert!(run["reason"].as_str().unwrap().contains("renewal_date"), "{run}");
    }

    let (_, tasks) = server.get("/api/v1/tasks?status=open").await;
    let tasks = tasks["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(tasks.len(), 2, "one task per account: {tasks:?}");
    assert!(tasks
        .iter()
        .all(|task| task["kind"] == "renewal" && task["title"].as_str().unwrap().contains("の更新準備")));
    let title = tasks[0]["title"].as_str().unwrap();
    assert!(
        title.contains("日 の更新準備") && title.contains("年"),
        "a Japanese template gets a Japanese date: {title}"
    );

    let calls = calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 2, "one webhook call per run");
    assert!(calls.iter().all(|(verified, _)| *verified), "every call carries a valid signature");
    assert!(calls.iter().any(|(_, body)| body["account"]["name"] == "さくら建設"), "{calls:?}");

    let (_, outbox) = server.get("/api/v1/outbox?status=pending").await;
    let pending = outbox.as_array().unwrap().clone();
    assert_eq!(pending.len(), 2, "emails wait for approval: {outbox}");
    assert!(mailbox.lock().unwrap().is_empty(), "nothing is sent before approval");
    let first = pending.iter().find(|e| e["recipients"][0] == "admin@r1.example").unwrap();
    let (status, sent) = server.post(&format!("/api/v1/outbox/{}/send", first["id"]), json!({})).await;
    assert_eq!((status, sent["status"].as_str()), (StatusCode::OK, Some("sent")), "{sent}");
    let (status, again) = server.post(&format!("/api/v1/outbox/{}/send", first["id"]), json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "an email is sent once: {again}");
    let mail = mailbox.lock().unwrap().clone();
    assert_eq!(mail.len(), 1);
    assert!(mail[0].contains("admin@r1.example") && mail[0].contains("Subject:"), "{}", mail[0]);
    drop(server);
    t.finish().await;
}

#[store_test]
async fn a_bad_playbook_is_refused_naming_every_field(t: TestStore) {
    let server = Server::start(&t).await;
    let bad = json!({
        "name": " ",
        "trigger": {"type": "grade_changed", "to": "doomed"},
        "step": [{"action": "call_webhook", "url": "ftp://x", "secret": "short"}]
    });
    let (status, problem) = server.post("/api/v1/playbooks", bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let fields: Vec<&str> = problem["errors"].as_array().unwrap().iter().filter_map(|e| e["field"].as_str()).collect();
    assert_eq!(fields, vec!["name", "trigger.to", "step[0].url", "step[0].secret"], "{problem}");
    let long_english = json!({"name": "更新準備", "name_en": "R".repeat(201), "trigger": {"type": "nps_detractor"},
        "step": [{"action": "create_task", "title": "x"}]});
    let (status, problem) = server.post("/api/v1/playbooks", long_english).await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("name_en")));
    let misspelt =
        json!({"name": "x", "trigger": {"type": "nps_detractor"}, "step": [{"action": "create_task", "titel": "x"}]});
    let (status, problem) = server.post("/api/v1/playbooks", misspelt).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    for days in [0, 366] {
        let cooling = json!({"name": "x", "cooldown_days": days, "trigger": {"type": "nps_detractor"},
            "step": [{"action": "create_task", "title": "x"}]});
        let (status, problem) = server.post("/api/v1/playbooks", cooling).await;
        assert_eq!(
            (status, problem["errors"][0]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("cooldown_days")),
            "{problem}"
        );
    }
    let (_, list) = server.get("/api/v1/playbooks").await;
    assert_eq!(list, json!([]), "nothing stored");
    drop(server);
    t.finish().await;
}

#[store_test]
async fn a_playbook_cooling_down_starts_once_for_an_account_that_falls_to_at_risk_again_and_again(t: TestStore) {
    let server = Server::start(&t).await;
    let ids = customers(&server).await;
    let follow_up = |cooldown: Option<u32>| {
        let name = format!("リスク顧客へのフォロー {cooldown:?}");
        let mut playbook = json!({"name": name, "trigger": {"type": "grade_changed", "to": "at_risk"},
            "step": [{"action": "create_task", "title": "{{account}}: 状況を確認", "kind": "risk"}]});
        if let Some(days) = cooldown {
            playbook["cooldown_days"] = json!(days);
        }
        playbook
    };
    let (status, cooling) = server.post("/api/v1/playbooks", follow_up(Some(30))).await;
    assert_eq!(status, StatusCode::CREATED, "{cooling}");
    assert_eq!(cooling["definition"]["cooldown_days"], 30);
    let (status, every_time) = server.post("/api/v1/playbooks", follow_up(None)).await;
    assert_eq!(status, StatusCode::CREATED, "{every_time}");
    // The grade hovers at the floor: three falls to at risk on three days.
    let falls: Vec<app::playbooks::TriggerEvent> = ["2026-12-01", "2026-12-03", "2026-12-05"]
        .into_iter()
        .map(|day| app::playbooks::TriggerEvent {
            account: domain::AccountId(ids[0]),
            kind: app::playbooks::EventKind::GradeChanged { from: "neutral".into(), to: "at_risk".into() },
            occurrence: format!("grade:{day}:neutral>at_risk"),
            data: json!({}),
        })
        .collect();
    for fall in &falls {
        server.app.fire_triggers(std::slice::from_ref(fall)).await.unwrap();
    }
    let runs_of = |playbook: &Value| format!("/api/v1/playbooks/{}/runs", playbook["id"]);
    let (_, cooled) = server.get(&runs_of(&cooling)).await;
    assert_eq!(cooled.as_array().map(Vec::len), Some(1), "one start in 30 days ({}): {cooled}", t.label);
    let (_, uncooled) = server.get(&runs_of(&every_time)).await;
    assert_eq!(uncooled.as_array().map(Vec::len), Some(3), "without a cooldown every fall starts it: {uncooled}");
    let other = app::playbooks::TriggerEvent { account: domain::AccountId(ids[1]), ..falls[0].clone() };
    assert_eq!(server.app.fire_triggers(&[other]).await.unwrap(), 2, "another account is not held back");
    drop(server);
    t.finish().await;
}

#[store_test]
async fn webhooks_never_reach_internal_addresses_unless_allowed_and_redirects_are_not_followed(t: TestStore) {
    let server = Server::start(&t).await;
    let (hook, calls) = webhook_receiver(SECRET).await;
    customers(&server).await;
    let port = hook.split(':').nth(2).unwrap().split('/').next().unwrap().to_owned();
    for url in [
        hook.clone(),
        format!("http://localhost:{port}/hook"),
        "http://[::1]/x".into(),
        "http://169.254.169.254/latest".into(),
    ] {
        let (status, problem) = server.post("/api/v1/playbooks", playbook(&url)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {problem}");
        assert_eq!(problem["errors"][0]["field"], "step[2].url", "{problem}");
        assert_eq!(problem["errors"][0]["code"], "internal_address", "{problem}");
    }
    let slack = json!({"name": "Slack", "trigger": {"type": "renewal_within", "days": 60},
        "step": [{"action": "post_to_slack", "webhook_url": "http://10.0.0.1/hooks/secret", "text": "x"}]});
    let (status, problem) = server.post("/api/v1/playbooks", slack).await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("step[0].webhook_url"))
    );

    // Saved while allowed, called after the allow-list is gone: refused before connecting.
    server.app.configure_outbound(allow_loopback());
    let (status, created) = server.post("/api/v1/playbooks", playbook(&hook)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    server.app.configure_outbound(OutboundPolicy::default());
    server.post("/api/v1/playbooks/scan", json!({})).await;
    let (_, runs) = server.get(&format!("/api/v1/playbooks/{}/runs", created["id"])).await;
    let step = runs[0]["steps"][2].clone();
    assert_eq!(step["failed"], true, "{runs}");
    assert!(step["outcome"].to_string().contains("internal address"), "{step}");
    assert!(calls.lock().unwrap().is_empty(), "nothing reached the receiver");

    // A redirect is an answer, not a place to go.
    let redirector = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let target = format!("http://127.0.0.1:{port}/hook");
            async move { (StatusCode::TEMPORARY_REDIRECT, [("location", target)]) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let redirecting = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, redirector).await.unwrap() });
    server.app.configure_outbound(allow_loopback());
    let mut redirected = playbook(&redirecting);
    redirected["name"] = json!("Redirected");
    let (status, created) = server.post("/api/v1/playbooks", redirected).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    server.post("/api/v1/playbooks/scan", json!({})).await;
    let (_, runs) = server.get(&format!("/api/v1/playbooks/{}/runs", created["id"])).await;
    assert!(runs[0]["steps"][2]["outcome"].to_string().contains("307"), "{runs}");
    assert!(calls.lock().unwrap().is_empty(), "the redirect was not followed");
    drop(server);
    t.finish().await;
}

#[store_test]
async fn every_role_reads_playbook_secrets_masked_including_the_audit_log(t: TestStore) {
    let server = Server::start(&t).await;
    server.app.configure_outbound(allow_loopback());
    let slack = "https://hooks.slack.example/T000/B000/very-secret";
    let body = json!({"name": "Secrets", "trigger": {"type": "renewal_within", "days": 60},
        "step": [{"action": "call_webhook", "url": "https://hooks.example/x", "secret": SECRET},
                 {"action": "post_to_slack", "webhook_url": slack, "text": "x"}]});
    let (status, created) = server.post("/api/v1/playbooks", body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let viewer = create_user(&server.app, "viewer@k.example", Role::Viewer).await;
    let (_, token) =
        server.app.create_api_token(&common::staff(&server.app, viewer).await, "v", Scope::Read).await.unwrap();
    let read = server
        .anonymous
        .get(server.url(&format!("/api/v1/playbooks/{}", created["id"])))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(read.headers()["cache-control"], "no-store");
    let text = read.text().await.unwrap();
    let (_, list) = server.get("/api/v1/playbooks").await;
    let (_, audit) = server.get("/api/v1/audit?entity=playbook").await;
    for shown in [text, list.to_string(), audit.to_string(), created.to_string()] {
        assert!(!shown.contains(SECRET) && !shown.contains("very-secret"), "{shown}");
    }
    drop(server);
    t.finish().await;
}

/// A playbook that only emails each renewing account's administrator, waiting for approval.
fn email_only() -> Value {
    json!({
        "name": "更新のご案内",
        "trigger": {"type": "renewal_within", "days": 60},
        "step": [{"action": "send_email", "to_role": "admin", "subject": "{{account}} 様: 更新のご案内",
                  "body": "{{account}} ご担当者様\n更新日は {{renewal_date}} です。"}]
    })
}

/// An SMTP address nothing listens on: connections are refused.
async fn dead_smtp() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("smtp://{address}")
}

fn mail_to(url: &str) -> Option<domain::mail::MailServer> {
    domain::mail::MailServer::from_url(url, "Kizuna <cs@kizuna.example>")
}

/// The email entries on an account's timeline, newest first.
async fn email_entries(server: &Server, account: i64) -> Vec<Value> {
    let (status, timeline) = server.get(&format!("/api/v1/timeline?account_id={account}&kind=email")).await;
    assert_eq!(status, StatusCode::OK, "{timeline}");
    timeline["items"].as_array().unwrap().clone()
}

/// The pending emails, scanning the playbooks first so that the renewals start their runs.
async fn pending_emails(server: &Server) -> Vec<Value> {
    let (status, scan) = server.post("/api/v1/playbooks/scan", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{scan}");
    let (_, outbox) = server.get("/api/v1/outbox?status=pending").await;
    outbox.as_array().unwrap().clone()
}

#[store_test]
async fn approving_without_smtp_warns_first_keeps_the_email_pending_and_says_why_in_the_readers_language(t: TestStore) {
    let server = Server::start(&t).await;
    customers(&server).await;
    let (status, created) = server.post("/api/v1/playbooks", email_only()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let pending = pending_emails(&server).await;
    assert_eq!(pending.len(), 2, "{} {pending:?}", t.label);
    let email = &pending[0];
    let (id, account) = (email["id"].as_i64().unwrap(), email["account_id"].as_i64().unwrap());

    let browser = server.sign_in("admin@k.example").await;
    let (_, html) = common::page(&server, &browser, "/outbox").await;
    assert!(
        common::text_of(&html, "no-smtp")
            .starts_with("SMTP サーバーが設定されていないため、承認してもメールは送信されません"),
        "the page warns before approval: {html}"
    );
    assert!(html.contains("<a href=\"/settings/mail\">"), "and says where to set SMTP up: {html}");
    assert!(!html.contains(&format!(">#{account}<")), "each email names its account: {html}");
    let (status, html, _) = common::submit(&server, &browser, &format!("/outbox/{id}/send"), "ja", &[]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{} {html}", t.label);
    let html = common::unescaped(&html);
    assert!(
        html.contains("SMTP サーバーが設定されていないため送信できません。メールは承認待ちのまま残ります"),
        "{html}"
    );
    assert!(!html.contains("no SMTP server is configured"), "no English on a Japanese page: {html}");
    let (_, html, _) = common::submit(&server, &browser, &format!("/outbox/{id}/send"), "en", &[]).await;
    assert!(common::unescaped(&html).contains("No SMTP server is configured, so nothing can be sent"), "{html}");

    let response = server
        .client
        .post(server.url(&format!("/api/v1/outbox/{id}/send")))
        .header("accept-language", "ja")
        .send()
        .await
        .unwrap();
    let (status, problem) = common::read(response).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::CONFLICT, Some("mail-not-configured")), "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("承認待ちのまま"), "{problem}");

    let (_, all) = server.get("/api/v1/outbox?status=pending").await;
    let still = all.as_array().unwrap().iter().find(|e| e["id"] == id).cloned();
    assert!(still.is_some_and(|e| e["error"].is_null() && e["decided_by"].is_null()), "still pending: {all}");
    assert!(email_entries(&server, account).await.is_empty(), "nothing was sent or failed");

    let (smtp, mailbox) = smtp_sink().await;
    server.app.configure_mail(mail_to(&smtp));
    let (_, html) = common::page(&server, &browser, "/outbox").await;
    assert!(!html.contains("id=\"no-smtp\""), "no warning once SMTP is configured");
    let (status, _, location) = common::submit(&server, &browser, &format!("/outbox/{id}/send"), "ja", &[]).await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/outbox?done=sent")));
    assert_eq!(mailbox.lock().unwrap().len(), 1, "the email kept pending is sent once approved");
    let entries = email_entries(&server, account).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(entries[0]["title"].as_str().unwrap().starts_with("Email sent: "), "{}", entries[0]);
    assert_eq!(entries[0]["event"]["type"], "email_sent", "{}", entries[0]);
    let (_, admin) = server.get("/api/v1/me").await;
    assert_eq!(entries[0]["author_id"], admin["user"]["id"], "the approver is the author: {}", entries[0]);
    drop(server);
    t.finish().await;
}

#[store_test]
async fn a_failed_send_is_on_the_timeline_in_both_languages_and_can_be_edited_and_retried(t: TestStore) {
    let server = Server::start(&t).await;
    customers(&server).await;
    let (status, created) = server.post("/api/v1/playbooks", email_only()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let pending = pending_emails(&server).await;
    let ids: Vec<i64> = pending.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    let accounts: Vec<i64> = pending.iter().map(|e| e["account_id"].as_i64().unwrap()).collect();
    let (first, second, account) = (ids[0], ids[1], accounts[0]);

    server.app.configure_mail(mail_to(&dead_smtp().await));
    let response = server
        .client
        .post(server.url(&format!("/api/v1/outbox/{first}/send")))
        .header("accept-language", "ja")
        .send()
        .await
        .unwrap();
    let (status, problem) = common::read(response).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::BAD_GATEWAY, Some("undelivered")), "{problem}");
    assert!(problem["detail"].as_str().unwrap().starts_with("SMTP サーバーに接続できません"), "{problem}");
    let (_, failed) = server.get("/api/v1/outbox?status=failed").await;
    let failed = failed.as_array().unwrap();
    assert_eq!(failed.len(), 1, "{} {failed:?}", t.label);
    assert!(failed[0]["error"]["ja"].as_str().unwrap().starts_with("SMTP サーバーに接続できません"));
    assert!(failed[0]["error"]["en"].as_str().unwrap().starts_with("could not connect to the SMTP server"));

    let entries = email_entries(&server, account).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(entries[0]["title"].as_str().unwrap().starts_with("Email not sent: "), "{}", entries[0]);
    assert!(entries[0]["body"].as_str().unwrap().contains("could not connect"), "{}", entries[0]);
    let reason = &entries[0]["event"]["reason"];
    assert!(reason["ja"].as_str().unwrap().starts_with("SMTP サーバーに接続できません"), "{reason}");

    let browser = server.sign_in("admin@k.example").await;
    let (_, html) = common::page(&server, &browser, "/outbox?lang=en").await;
    assert!(
        common::text_of(&html, &format!("reason-{first}")).starts_with("Reason: could not connect to the SMTP server")
    );
    let (_, html) = common::page(&server, &browser, "/outbox").await;
    assert!(common::text_of(&html, &format!("reason-{first}")).starts_with("理由: SMTP サーバーに接続できません"));
    let (status, html, _) = common::submit(&server, &browser, &format!("/outbox/{first}/retry"), "ja", &[]).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(common::unescaped(&html).contains("送信できませんでした: SMTP サーバーに接続できません"), "{html}");

    let edit = format!("/outbox/{first}/edit");
    let bad = [("recipients", "not-an-address"), ("subject", "件名"), ("body", "本文")];
    let (status, html, _) = common::submit(&server, &browser, &edit, "ja", &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("宛先: メールアドレスの形式ではありません") && html.contains("value=\"not-an-address\""),
        "{html}"
    );
    let (smtp, mailbox) = smtp_sink().await;
    server.app.configure_mail(mail_to(&smtp));
    let edited = [
        ("recipients", "admin@r1.example,\r\nowner@r1.example"),
        ("subject", "更新のご案内（再送）"),
        ("body", "ご担当者様\r\n\r\n更新日のご案内です。\r\n"),
    ];
    let (status, _, location) = common::submit(&server, &browser, &edit, "ja", &edited).await;
    assert_eq!((status, location), (StatusCode::SEE_OTHER, Some(format!("/outbox?done=edited#email-{first}"))));
    let (_, pending) = server.get("/api/v1/outbox?status=pending").await;
    let again = pending.as_array().unwrap().iter().find(|e| e["id"] == first).cloned().unwrap();
    assert_eq!(again["body"], "ご担当者様\n\n更新日のご案内です。", "no \\r from the browser's textarea");
    assert_eq!(again["recipients"], json!(["admin@r1.example", "owner@r1.example"]));
    assert!(again["error"].is_null(), "{again}");
    let (status, _, _) = common::submit(&server, &browser, &format!("/outbox/{first}/send"), "ja", &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let mail = mailbox.lock().unwrap().clone();
    assert_eq!(mail.len(), 1);
    assert!(mail[0].contains("owner@r1.example"), "{}", mail[0]);

    server.app.configure_mail(mail_to(&dead_smtp().await));
    let (status, _) = server.post(&format!("/api/v1/outbox/{second}/send"), json!({})).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    server.app.configure_mail(None);
    let (status, problem) = server.post(&format!("/api/v1/outbox/{second}/retry"), json!({})).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::CONFLICT, Some("mail-not-configured")));
    server.app.configure_mail(mail_to(&smtp));
    let (status, sent) = server.post(&format!("/api/v1/outbox/{second}/retry"), json!({})).await;
    assert_eq!((status, sent["status"].as_str()), (StatusCode::OK, Some("sent")), "{sent}");
    assert!(sent["error"].is_null(), "{sent}");
    assert_eq!(mailbox.lock().unwrap().len(), 2);
    let (status, problem) = server.post(&format!("/api/v1/outbox/{second}/retry"), json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a sent email is not sent again: {problem}");
    assert_eq!(problem["errors"][0]["message"], "cannot be done: this email is sent");

    let mut every = Vec::new();
    for account in accounts {
        for entry in email_entries(&server, account).await {
            every.push(entry["title"].as_str().unwrap().split(':').next().unwrap().to_owned());
        }
    }
    every.sort();
    assert_eq!(
        every,
        ["Email not sent", "Email not sent", "Email not sent", "Email sent", "Email sent"],
        "every send and every failure, on both accounts ({})",
        t.label
    );
    let (_, audit) = server.get("/api/v1/audit?entity=outbox_email").await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for action in ["send", "retry", "edit"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    drop(server);
    t.finish().await;
}

#[store_test]
async fn a_playbook_saved_from_the_browser_keeps_unix_line_breaks_in_its_email_body(t: TestStore) {
    let server = Server::start(&t).await;
    let browser = server.sign_in("admin@k.example").await;
    let toml = "name = \"改行のテスト\"\n\n[trigger]\ntype = \"renewal_within\"\ndays = 30\n\n[[step]]\n\
                action = \"send_email\"\nto_role = \"admin\"\nsubject = \"ご案内\"\n\
                body = \"\"\"\n{{account}} ご担当者様\n\n更新日は {{renewal_date}} です。\n\"\"\"\n";
    // A browser sends every line break of a textarea as CR LF.
    let sent = toml.replace('\n', "\r\n");
    let (status, html, location) =
        common::submit(&server, &browser, "/playbooks", "ja", &[("definition", &sent)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{} {html}", t.label);
    let id = location.unwrap().trim_start_matches("/playbooks/").split('?').next().unwrap().to_owned();
    let (_, playbook) = server.get(&format!("/api/v1/playbooks/{id}")).await;
    let body = playbook["definition"]["step"][0]["body"].as_str().unwrap();
    assert_eq!(body, "{{account}} ご担当者様\n\n更新日は {{renewal_date}} です。\n", "{playbook}");
    let (_, html) = common::page(&server, &browser, &format!("/playbooks/{id}")).await;
    assert!(!html.contains('\r'), "the editor shows it back without CR");
    drop(server);
    t.finish().await;
}

#[store_test]
async fn a_renewal_playbook_fires_only_for_term_renewals_dates_its_task_before_the_renewal_and_leaves_onboarding_alone(
    t: TestStore,
) {
    let server = Server::start(&t).await;
    let today = server.app.today();
    let renewal = today.checked_add_days(chrono::Days::new(80)).unwrap();
    let start = renewal.checked_sub_months(chrono::Months::new(12)).unwrap();
    let mut ids = std::collections::BTreeMap::new();
    for (external, stage, interval, commitment) in [
        ("MONTHLY", "adoption", "month", None),
        ("TERM", "adoption", "month", Some(12)),
        ("ONBOARDING", "onboarding", "year", None),
    ] {
        let (_, account) =
            server.post("/api/v1/accounts", json!({"external_id": external, "name": external, "stage": stage})).await;
        let id = account["id"].as_i64().unwrap();
        let mut body = json!({"subscription_id": format!("S-{external}"), "account_id": id, "product": "core",
                              "start_date": start.to_string(), "billing_interval": interval, "quantity": 10,
                              "unit_price": "1000", "currency": "JPY"});
        if let Some(months) = commitment {
            body["commitment_months"] = json!(months);
        }
        let (status, period) = server.post("/api/v1/subscriptions", body).await;
        assert_eq!(status, StatusCode::CREATED, "{period}");
        ids.insert(external, id);
    }
    let (_, monthly) = server.get(&format!("/api/v1/accounts/{}", ids["MONTHLY"])).await;
    assert_eq!(monthly["next_renewal_date"], Value::Null, "month to month: no renewal: {monthly}");
    let (_, term) = server.get(&format!("/api/v1/accounts/{}", ids["TERM"])).await;
    assert_eq!(term["next_renewal_date"], json!(renewal), "the end of the committed year: {term}");

    let shipped = include_str!("../../../../examples/playbooks/renewal-90.toml");
    let definition = app::playbooks::parse_playbook_toml("renewal-90.toml", shipped).unwrap();
    let (status, created) = server.post("/api/v1/playbooks", serde_json::to_value(definition).unwrap()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let playbook_id = created["id"].as_i64().unwrap();
    server.post("/api/v1/playbooks/scan", json!({})).await;
    server.app.run_due_steps().await.unwrap();
    let (_, runs) = server.get(&format!("/api/v1/playbooks/{playbook_id}/runs")).await;
    let mut ran: Vec<i64> = runs.as_array().unwrap().iter().map(|r| r["account_id"].as_i64().unwrap()).collect();
    ran.sort();
    assert_eq!(ran, vec![ids["TERM"], ids["ONBOARDING"]], "never for a monthly bill ({})", t.label);

    let (_, tasks) = server.get("/api/v1/tasks?status=open").await;
    let tasks = tasks["items"].as_array().cloned().unwrap_or_default();
    let due = renewal.checked_sub_days(chrono::Days::new(60)).unwrap();
    assert_eq!(tasks.len(), 2, "{tasks:?}");
    assert!(tasks.iter().all(|task| task["due_on"] == json!(due) && task["priority"] == "normal"), "{tasks:?}");
    let (_, term) = server.get(&format!("/api/v1/accounts/{}", ids["TERM"])).await;
    assert_eq!(term["stage"], "renewal");
    let (_, onboarding) = server.get(&format!("/api/v1/accounts/{}", ids["ONBOARDING"])).await;
    assert_eq!(onboarding["stage"], "onboarding", "an onboarding account is not moved backwards");

    let (status, problem) = server
        .post(
            "/api/v1/subscriptions",
            json!({"subscription_id": "S-SHORT", "account_id": ids["TERM"], "product": "addon",
                   "start_date": start.to_string(), "billing_interval": "year", "quantity": 1,
                   "unit_price": "1000", "currency": "JPY", "commitment_months": 6}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "commitment_months", "{problem}");
    drop(server);
    t.finish().await;
}

/// A renewal playbook as the builder sends it: a task, then an email two days later.
fn built(action: &'static str, days: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("id", ""),
        ("name", "更新前の確認"),
        ("active", "on"),
        ("trigger", "renewal_within"),
        ("trigger_days", days),
        ("segment_id", ""),
        ("s.0.delay_days", "0"),
        ("s.0.action", "create_task"),
        ("s.0.title", "{{account}}: 更新の準備"),
        ("s.0.kind", "renewal"),
        ("s.0.priority", "high"),
        ("s.0.due_in_days", "3"),
        ("s.0.due_before_renewal_days", "14"),
        ("s.0.assignee", "main_owner"),
        ("s.1.delay_days", "2"),
        ("s.1.action", "send_email"),
        ("s.1.to_role", "admin"),
        ("s.1.subject", "{{account}} 様: 更新のご案内"),
        ("s.1.body", "更新日は {{renewal_date}} です。"),
        ("action", action),
    ]
}

#[store_test]
async fn the_playbook_builder_lists_who_it_would_start_for_and_dry_runs_writing_nothing(t: TestStore) {
    let server = Server::start(&t).await;
    let ids = customers(&server).await;
    let (_, browser) = server.browser("ops@k.example", Role::Manager).await;

    let (status, html, _) = submit(&server, &browser, "/playbooks/builder", "en", &built("preview", "60")).await;
    assert_eq!(status, StatusCode::OK, "{} {html}", t.label);
    assert!(text_of(&html, "trigger-preview-total").starts_with("2 "), "{html}");
    assert!(html.contains("さくら建設") && html.contains("ひかり薬品") && !html.contains("遠い更新"), "{html}");

    let id = ids[0].to_string();
    let mut dry_run = built("dry_run", "60");
    dry_run.push(("account", &id));
    let (status, html, _) = submit(&server, &browser, "/playbooks/builder", "en", &dry_run).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let html = unescaped(&html);
    assert!(html.contains("create task \"さくら建設: 更新の準備\""), "{html}");
    assert!(
        html.contains("After 2 days: email \"さくら建設 様: 更新のご案内\" to admin@r1.example waits in the outbox"),
        "{html}"
    );
    let (_, tasks) = server.get("/api/v1/tasks?status=open").await;
    assert_eq!(tasks["items"], json!([]), "a dry run writes nothing ({})", t.label);
    let (_, outbox) = server.get("/api/v1/outbox").await;
    assert_eq!(outbox, json!([]), "a dry run sends nothing");

    // The same checks as the TOML file and the API, named by field.
    let (status, html, _) = submit(&server, &browser, "/playbooks/builder", "en", &built("save", "0")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let range = domain::Reason::OutOfRange { min: "1".into(), max: "3650".into() };
    assert!(unescaped(&html).contains(&format!("Trigger · Days: {}", range.message(domain::i18n::Lang::En))), "{html}");
    let (status, html, _) = submit(&server, &browser, "/playbooks/builder", "en", &built("save", "ninety")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    let (_, playbooks) = server.get("/api/v1/playbooks").await;
    assert_eq!(playbooks, json!([]), "a refused form saves nothing");

    let (status, _, location) = submit(&server, &browser, "/playbooks/builder", "en", &built("save", "60")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = location.unwrap();
    let saved_id = location.trim_start_matches("/playbooks/").split('?').next().unwrap().to_owned();
    let (_, saved) = server.get(&format!("/api/v1/playbooks/{saved_id}")).await;
    let definition = &saved["definition"];
    assert_eq!(definition["trigger"], json!({"type": "renewal_within", "days": 60}), "{saved}");
    assert_eq!(definition["step"][0]["due_before_renewal_days"], 14);
    assert_eq!(definition["step"][1]["delay_days"], 2);
    let (status, html) = page(&server, &browser, &format!("/playbooks/builder?id={saved_id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("value=\"60\""), "the builder reopens what it saved: {html}");
}
