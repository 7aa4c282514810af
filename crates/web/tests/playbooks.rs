//! Playbooks end to end through the real server, on SQLite and (with TEST_DATABASE_URL)
//! PostgreSQL: a trigger starts one run per account and occurrence however often it is seen;
//! its steps create a task (never twice while it is open), send real mail through SMTP to a
//! local sink once approved in the outbox, and call a local webhook receiver that checks the
//! HMAC-SHA256 signature with its own implementation.

mod common;

use common::{create_user, Server};
use domain::access::{Role, Scope};
use domain::net::OutboundPolicy;
use hmac::{Hmac, Mac};
use reqwest::Method;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::Sha256;
use std::sync::{Arc, Mutex};
use store::testing::test_stores;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const SECRET: &str = "a shared secret of the receiver";

/// An SMTP server that accepts every message and keeps its text.
async fn smtp_sink() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let received = Arc::new(Mutex::new(Vec::new()));
    let store = received.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let store = store.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                let mut message: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(text) = message.as_mut() {
                        if line == "." {
                            store.lock().unwrap().push(message.take().unwrap_or_default());
                            write.write_all(b"250 queued\r\n").await.unwrap();
                        } else {
                            text.push_str(&line);
                            text.push('\n');
                        }
                        continue;
                    }
                    let verb = line.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 sink\r\n",
                        "DATA" => {
                            message = Some(String::new());
                            b"354 end with .\r\n"
                        }
                        "QUIT" => {
                            write.write_all(b"221 bye\r\n").await.unwrap();
                            break;
                        }
                        _ => b"250 OK\r\n",
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (format!("smtp://{address}"), received)
}

fn allow_loopback() -> OutboundPolicy {
    OutboundPolicy::allowing(vec!["127.0.0.1/32".parse().unwrap()])
}

/// A webhook receiver that records each call and whether its signature is right.
async fn webhook_receiver() -> (String, Arc<Mutex<Vec<(bool, Value)>>>) {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let kept = calls.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let kept = kept.clone();
            async move {
                let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(SECRET.as_bytes()).unwrap();
                mac.update(&body);
                let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
                let sent = headers.get("x-kizuna-signature").and_then(|v| v.to_str().ok()).unwrap_or("");
                let verified = sent == format!("sha256={expected}");
                kept.lock().unwrap().push((verified, serde_json::from_slice(&body).unwrap_or(Value::Null)));
                if verified {
                    StatusCode::NO_CONTENT
                } else {
                    StatusCode::UNAUTHORIZED
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}/hook"), calls)
}

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

#[tokio::test]
async fn a_trigger_runs_once_per_account_sends_approved_mail_and_signs_its_webhooks() {
    for t in test_stores().await {
        let server = Server::start(&t).await;
        let (smtp, mailbox) = smtp_sink().await;
        let (hook, calls) = webhook_receiver().await;
        server.app.configure_mail(Some(app::playbooks::MailSettings {
            url: smtp.clone(),
            from: "Kizuna <cs@kizuna.example>".into(),
        }));
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
        assert_eq!(
            run_accounts,
            ids[..2].to_vec(),
            "one run per renewing account, however often scanned ({})",
            t.label
        );
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
}

#[tokio::test]
async fn a_bad_playbook_is_refused_naming_every_field() {
    for t in test_stores().await {
        let server = Server::start(&t).await;
        let bad = json!({
            "name": " ",
            "trigger": {"type": "grade_changed", "to": "doomed"},
            "step": [{"action": "call_webhook", "url": "ftp://x", "secret": "short"}]
        });
        let (status, problem) = server.post("/api/v1/playbooks", bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        let fields: Vec<&str> =
            problem["errors"].as_array().unwrap().iter().filter_map(|e| e["field"].as_str()).collect();
        assert_eq!(fields, vec!["name", "trigger.to", "step[0].url", "step[0].secret"], "{problem}");
        let misspelt = json!({"name": "x", "trigger": {"type": "nps_detractor"}, "step": [{"action": "create_task", "titel": "x"}]});
        let (status, problem) = server.post("/api/v1/playbooks", misspelt).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        let (_, list) = server.get("/api/v1/playbooks").await;
        assert_eq!(list, json!([]), "nothing stored");
        drop(server);
        t.finish().await;
    }
}

#[tokio::test]
async fn webhooks_never_reach_internal_addresses_unless_allowed_and_redirects_are_not_followed() {
    for t in test_stores().await {
        let server = Server::start(&t).await;
        let (hook, calls) = webhook_receiver().await;
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
}

#[tokio::test]
async fn every_role_reads_playbook_secrets_masked_including_the_audit_log() {
    for t in test_stores().await {
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
}
