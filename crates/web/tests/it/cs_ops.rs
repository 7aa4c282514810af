//! CS Ops without an engineer, through the real server, on SQLite and (with TEST_DATABASE_URL)
//! PostgreSQL: an administrator sets the SMTP server in the app (its password never shown back)
//! and a test email reaches a local sink over STARTTLS or implicit TLS with a self-signed
//! certificate the settings trust; each user's inbox gets what concerns them once, by the
//! channels they chose; a digest goes out once however many nodes look; a CSV file uploaded in
//! the browser is checked writing nothing, then imported all or nothing.

use crate::common;
use crate::common::{
    allow_loopback, page, smtp_server, smtp_sink, submit, text_of, Mailbox, Server, SmtpTls, SINK_CERTIFICATE,
};
use app::App;
use domain::access::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::sync::Arc;
use store::testing::TestStore;
use test_macros::store_test;

fn mail_body(address: std::net::SocketAddr, security: &str, certificate: Option<&str>) -> Value {
    json!({"host": "127.0.0.1", "port": address.port(), "security": security, "username": "cs",
        "password": "s3cret-pass", "sender_address": "cs@kizuna.example", "sender_name": "Kizuna CS",
        "trusted_certificate": certificate})
}

/// The page from the element with `id` on.
fn after<'h>(html: &'h str, id: &str) -> &'h str {
    let start = html.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id} in {html}"));
    &html[start..]
}

fn messages(mailbox: &Mailbox) -> Vec<String> {
    mailbox.lock().unwrap().clone()
}

#[store_test]
async fn a_saved_smtp_server_sends_the_test_email_over_starttls_and_tls_and_never_shows_its_password(t: TestStore) {
    let server = Server::start(&t).await;
    server.app.configure_outbound(allow_loopback());
    let (starttls, starttls_box) = smtp_server(SmtpTls::StartTls).await;
    let (status, saved) = server
        .send(Method::PUT, "/api/v1/settings/mail", Some(mail_body(starttls, "starttls", Some(SINK_CERTIFICATE))))
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!((&saved["source"], &saved["password"]), (&json!("app"), &json!("********")), "{saved}");
    assert!(!saved.to_string().contains("s3cret"), "{saved}");
    let (status, sent) = server.post("/api/v1/settings/mail/test", json!({"to": "me@k.example"})).await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    let received = messages(&starttls_box);
    assert_eq!(received.len(), 1, "{received:?}");
    assert!(received[0].starts_with("AUTH "), "signed in with the saved user: {}", received[0]);
    assert!(received[0].contains("me@k.example"), "{}", received[0]);

    // An edit without the password keeps it: the next email still signs in.
    let mut edit = mail_body(starttls, "starttls", Some(SINK_CERTIFICATE));
    edit.as_object_mut().unwrap().remove("password");
    let (status, _) = server.send(Method::PUT, "/api/v1/settings/mail", Some(edit)).await;
    assert_eq!(status, StatusCode::OK);
    server.post("/api/v1/settings/mail/test", json!({"to": "me@k.example"})).await;
    assert!(messages(&starttls_box)[1].starts_with("AUTH "), "{:?}", messages(&starttls_box));

    // Implicit TLS; and a certificate nobody trusts fails with the reason, sending nothing.
    let (tls, tls_box) = smtp_server(SmtpTls::Implicit).await;
    server.send(Method::PUT, "/api/v1/settings/mail", Some(mail_body(tls, "tls", Some(SINK_CERTIFICATE)))).await;
    let (status, sent) = server.post("/api/v1/settings/mail/test", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert_eq!(sent["sent_to"], "admin@k.example");
    assert_eq!(messages(&tls_box).len(), 1);
    server.send(Method::PUT, "/api/v1/settings/mail", Some(mail_body(tls, "tls", None))).await;
    let (status, problem) = server.post("/api/v1/settings/mail/test", json!({})).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{problem}");
    assert_eq!(messages(&tls_box).len(), 1);

    // Removed: back to no server at all.
    let (status, removed) = server.send(Method::DELETE, "/api/v1/settings/mail", None).await;
    assert_eq!((status, &removed["source"]), (StatusCode::OK, &json!("none")), "{removed}");
    let (status, _) = server.post("/api/v1/settings/mail/test", json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    t.finish().await;
}

#[store_test]
async fn mail_settings_refuse_internal_hosts_bad_fields_and_anyone_but_admins(t: TestStore) {
    let server = Server::start(&t).await;
    let sink: std::net::SocketAddr = "127.0.0.1:2525".parse().unwrap();
    let (status, problem) =
        server.send(Method::PUT, "/api/v1/settings/mail", Some(mail_body(sink, "starttls", None))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "host", "{problem}");
    let (status, problem) = server
        .send(
            Method::PUT,
            "/api/v1/settings/mail",
            Some(json!({"host": "mail.example.com\r\nRCPT TO:<x@evil.example>", "port": 99999,
                "security": "ssl", "sender_address": "nobody", "trusted_certificate": "not a certificate"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    for field in ["host", "port", "security", "sender_address", "trusted_certificate"] {
        assert!(fields.contains(&field), "{field}: {problem}");
    }
    let (_, csm) = server.browser("aki@k.example", Role::Manager).await;
    let (status, _) = server.as_browser(&csm, Method::GET, "/api/v1/settings/mail", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    t.finish().await;
}

#[store_test]
async fn the_mail_settings_page_saves_names_bad_fields_in_the_readers_language_and_sends_a_test(t: TestStore) {
    let server = Server::start(&t).await;
    server.app.configure_outbound(allow_loopback());
    let browser = server.sign_in("admin@k.example").await;
    let (status, html) = page(&server, &browser, "/settings/mail?lang=ja").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(text_of(&html, "mail-source").contains("SMTP サーバーが未設定"), "{html}");
    let (status, html, _) = submit(
        &server,
        &browser,
        "/settings/mail",
        "ja",
        &[("host", "bad host"), ("port", "0"), ("security", "starttls"), ("sender_address", "cs@kizuna.example")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(after(&html, "form-errors").contains("SMTP サーバー"), "{html}");
    assert!(after(&html, "form-errors").contains("ポート"), "{html}");

    let (address, mailbox) = smtp_server(SmtpTls::None).await;
    let port = address.port().to_string();
    let fields = [
        ("host", "127.0.0.1"),
        ("port", port.as_str()),
        ("security", "none"),
        ("password", "pw-never-shown"),
        ("sender_address", "cs@kizuna.example"),
    ];
    let (status, _, location) = submit(&server, &browser, "/settings/mail", "en", &fields).await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/settings/mail?done=mail_saved")));
    let (_, html) = page(&server, &browser, "/settings/mail?lang=en").await;
    assert!(!html.contains("pw-never-shown"), "{html}");
    assert!(text_of(&html, "mail-password-hint").contains("never shown"), "{html}");
    let (status, _, location) =
        submit(&server, &browser, "/settings/mail/test", "en", &[("to", "ops@k.example")]).await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/settings/mail?done=mail_test_sent")));
    let received = messages(&mailbox);
    assert_eq!(received.len(), 1);
    assert!(received[0].contains("ops@k.example"), "{}", received[0]);
    t.finish().await;
}

/// Alpha (owned by Aki, a CSM) on a monthly subscription, scored only by the CSM pulse.
async fn alpha_owned_by_aki(server: &Server) -> i64 {
    let csv = "account_id,name,stage,owner_email\nA1,Alpha,adoption,aki@k.example\n";
    let (status, outcome) = server.upload("accounts", csv.as_bytes().to_vec()).await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    let csv = "subscription_id,account_id,product,start_date,end_date,billing_interval,quantity,unit_price,currency\n\
               S1,A1,core,2020-01-01,,month,1,10000,JPY\n";
    let (status, outcome) = server.upload("subscriptions", csv.as_bytes().to_vec()).await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    let (_, list) = server.get("/api/v1/accounts?limit=10").await;
    list["items"][0]["id"].as_i64().unwrap()
}

async fn inbox(server: &Server, browser: &common::Browser) -> Value {
    let (status, inbox) = server.as_browser(browser, Method::GET, "/api/v1/me/notifications", None).await;
    assert_eq!(status, StatusCode::OK, "{inbox}");
    inbox
}

fn kinds(inbox: &Value) -> Vec<String> {
    inbox["notifications"].as_array().unwrap().iter().map(|n| n["kind"].as_str().unwrap().to_owned()).collect()
}

#[store_test]
async fn a_task_given_to_a_csm_reaches_their_inbox_once_and_their_email_when_they_chose_it(t: TestStore) {
    let server = Server::start(&t).await;
    let (aki, browser) = server.browser("aki@k.example", Role::Csm).await;
    let alpha = alpha_owned_by_aki(&server).await;
    let (smtp, mailbox) = smtp_sink().await;
    server.app.configure_mail(domain::mail::MailServer::from_url(&smtp, "Kizuna <cs@kizuna.example>"));
    let choice = json!({"channels": {"task_assigned": ["in_app", "email"]}, "language": "en"});
    let (status, saved) =
        server.as_browser(&browser, Method::PUT, "/api/v1/me/notification-preferences", Some(choice)).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let (status, problem) = server
        .as_browser(
            &browser,
            Method::PUT,
            "/api/v1/me/notification-preferences",
            Some(json!({"channels": {"task_assigned": ["slack"]}, "slack_webhook": "http://169.254.169.254/x"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");

    let task = json!({"account_id": alpha, "title": "Call the CFO", "assignee_id": aki.0, "due_on": "2020-01-01"});
    let (status, created) = server.post("/api/v1/tasks", task).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let got = inbox(&server, &browser).await;
    assert_eq!((kinds(&got), &got["unread"]), (vec!["task_assigned".to_owned()], &json!(1)), "{got}");
    assert!(got["notifications"][0]["title"]["en"].as_str().unwrap().contains("Call the CFO"), "{got}");

    server.app.deliver_notifications().await.unwrap();
    let received = messages(&mailbox);
    assert_eq!(received.len(), 1, "{received:?}");
    assert!(received[0].contains("aki@k.example") && received[0].contains("Call the CFO"), "{}", received[0]);
    server.app.deliver_notifications().await.unwrap();
    assert_eq!(messages(&mailbox).len(), 1, "sent once");

    // The daily scan finds the task overdue, once however often it runs.
    server.app.scan_notifications().await.unwrap();
    server.app.scan_notifications().await.unwrap();
    let got = inbox(&server, &browser).await;
    assert_eq!(kinds(&got), vec!["task_overdue".to_owned(), "task_assigned".to_owned()], "{got}");

    let (status, html) = page(&server, &browser, "/?lang=ja").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(text_of(&html, "unread-count"), "2", "the bell counts unread: {html}");
    let (status, read) = server.as_browser(&browser, Method::POST, "/api/v1/me/notifications/read-all", None).await;
    assert_eq!((status, &read["marked"], &read["unread"]), (StatusCode::OK, &json!(2), &json!(0)), "{read}");
    let (_, html) = page(&server, &browser, "/notifications?lang=en").await;
    assert!(!html.contains("id=\"unread-count\""), "{html}");
    assert!(after(&html, "inbox").contains("Call the CFO"), "{html}");
    t.finish().await;
}

#[store_test]
async fn renewal_reminders_reach_the_inbox_nearest_renewal_first(t: TestStore) {
    let server = Server::start(&t).await;
    let (_, browser) = server.browser("aki@k.example", Role::Csm).await;
    let csv = "account_id,name,stage,owner_email\nFAR,Far,adoption,aki@k.example\nNEAR,Near,adoption,aki@k.example\n\
               MID,Mid,adoption,aki@k.example\n";
    let (status, outcome) = server.upload("accounts", csv.as_bytes().to_vec()).await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    // Annual terms that began a year before each renewal: in 80, 10 and 45 days.
    let today = server.app.today();
    let began = |renews_in: u64| {
        let renewal = today.checked_add_days(chrono::Days::new(renews_in)).unwrap();
        renewal.checked_sub_months(chrono::Months::new(12)).unwrap()
    };
    let csv = format!(
        "subscription_id,account_id,product,start_date,end_date,billing_interval,quantity,unit_price,currency\n\
         S1,FAR,core,{},,year,1,100000,JPY\nS2,NEAR,core,{},,year,1,100000,JPY\nS3,MID,core,{},,year,1,100000,JPY\n",
        began(80),
        began(10),
        began(45)
    );
    let (status, outcome) = server.upload("subscriptions", csv.into_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    server.app.scan_notifications().await.unwrap();
    let got = inbox(&server, &browser).await;
    let titles: Vec<&str> =
        got["notifications"].as_array().unwrap().iter().filter_map(|n| n["title"]["en"].as_str()).collect();
    assert_eq!(titles.len(), 3, "{got}");
    let order: Vec<&str> = titles.iter().map(|t| t.split(' ').next().unwrap()).collect();
    assert_eq!(order, ["Near", "Mid", "Far"], "{titles:?}");
    t.finish().await;
}

#[store_test]
async fn a_grade_drop_tells_the_accounts_csm_and_the_settings_page_turns_it_off(t: TestStore) {
    let server = Server::start(&t).await;
    let (_, browser) = server.browser("aki@k.example", Role::Csm).await;
    let alpha = alpha_owned_by_aki(&server).await;
    let config = json!({"min_measures": 1, "scorecard": [{"key": "default", "name": "Default", "measure": [
        {"key": "pulse", "type": "csm_pulse", "days": 30, "weight": 1, "points": {"piecewise": [[1, 0], [5, 100]]}}]}]});
    let (status, saved) = server.send(Method::PUT, "/api/v1/health/config", Some(config)).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let yesterday = server.app.today().pred_opt().unwrap();
    let snapshot = domain::health::history::Snapshot {
        day: yesterday,
        score: Some(100.0),
        grade: "healthy".into(),
        measures: Default::default(),
    };
    server.app.store().save_health(&[(domain::AccountId(alpha), snapshot, None)]).await.unwrap();
    let (status, body) = server.post(&format!("/api/v1/accounts/{alpha}/pulse"), json!({"score": 1})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    server.post("/api/v1/health/recompute", json!({})).await;
    let got = inbox(&server, &browser).await;
    assert_eq!(kinds(&got), vec!["grade_dropped".to_owned()], "{got}");
    assert!(got["notifications"][0]["title"]["ja"].as_str().unwrap().contains("Alpha"), "{got}");
    assert_eq!(got["notifications"][0]["link"], format!("/accounts/{alpha}"));

    // Aki turns grade drops off on the settings page (every box of that row unchecked).
    let (status, html) = page(&server, &browser, "/notifications/settings?lang=ja").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("id=\"grade_dropped-in_app\""), "{html}");
    let (status, _, location) = submit(
        &server,
        &browser,
        "/notifications/settings",
        "ja",
        &[("task_assigned:in_app", "on"), ("digest", "daily"), ("digest_hour", "7"), ("language", "ja")],
    )
    .await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/notifications/settings?done=saved")));
    let (_, preferences) = server.as_browser(&browser, Method::GET, "/api/v1/me/notification-preferences", None).await;
    assert_eq!(preferences["channels"]["grade_dropped"], json!([]), "{preferences}");
    assert_eq!((&preferences["digest"], &preferences["digest_hour"]), (&json!("daily"), &json!(7)));
    let (status, html, _) = submit(
        &server,
        &browser,
        "/notifications/settings",
        "en",
        &[("digest", "hourly"), ("digest_hour", "25"), ("language", "en")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(after(&html, "form-errors").contains("Digest"), "{html}");
    t.finish().await;
}

#[store_test]
async fn a_digest_goes_out_once_across_two_nodes_in_the_readers_language(t: TestStore) {
    let server = Server::start(&t).await;
    let (aki, browser) = server.browser("aki@k.example", Role::Csm).await;
    let alpha = alpha_owned_by_aki(&server).await;
    let (smtp, mailbox) = smtp_sink().await;
    let second = Arc::new(App::start(t.store.clone(), Default::default()).await.unwrap());
    for node in [&server.app, &second] {
        node.configure_mail(domain::mail::MailServer::from_url(&smtp, "Kizuna <cs@kizuna.example>"));
    }
    let task =
        json!({"account_id": alpha, "title": "Send the renewal quote", "assignee_id": aki.0, "due_on": "2020-01-01"});
    let (status, _) = server.post("/api/v1/tasks", task).await;
    assert_eq!(status, StatusCode::CREATED);
    let choice = json!({"digest": "daily", "digest_hour": 0, "language": "en"});
    server.as_browser(&browser, Method::PUT, "/api/v1/me/notification-preferences", Some(choice)).await;

    let (first, other) = tokio::join!(server.app.send_due_digests(), second.send_due_digests());
    assert_eq!(first.unwrap() + other.unwrap(), 1);
    assert_eq!(second.send_due_digests().await.unwrap(), 0, "once per day");
    let received = messages(&mailbox);
    assert_eq!(received.len(), 1, "{received:?}");
    assert!(received[0].contains("Digest") && received[0].contains("Send the renewal quote"), "{}", received[0]);
    t.finish().await;
}

#[store_test]
async fn a_request_status_change_tells_the_csms_of_the_accounts_that_asked_with_the_reason(t: TestStore) {
    let server = Server::start(&t).await;
    let (_, browser) = server.browser("aki@k.example", Role::Csm).await;
    let alpha = alpha_owned_by_aki(&server).await;
    let (status, request) = server.post("/api/v1/requests", json!({"title": "Salesforce sync"})).await;
    assert_eq!(status, StatusCode::CREATED, "{request}");
    let id = request["id"].as_i64().unwrap();
    let evidence = json!({"account": alpha, "importance": "blocker", "source": "meeting"});
    let (status, body) = server.post(&format!("/api/v1/requests/{id}/evidence"), evidence).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let declined = json!({"status": "declined", "reason": "Out of scope this year"});
    let (status, body) = server.post(&format!("/api/v1/requests/{id}/status"), declined).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let got = inbox(&server, &browser).await;
    assert_eq!(kinds(&got), vec!["request_status_changed".to_owned()], "{got}");
    let title = &got["notifications"][0]["title"];
    assert!(title["en"].as_str().unwrap().contains("now Declined. Why: Out of scope this year"), "{got}");
    assert!(title["ja"].as_str().unwrap().contains("「見送り」"), "{got}");
    t.finish().await;
}

/// A `multipart/form-data` body as a browser sends a file upload: fields, then the file.
fn multipart(fields: &[(&str, &str)], file_name: &str, file: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----kizunaTestBoundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: text/csv\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload_file(
    server: &Server,
    browser: &common::Browser,
    csrf: &str,
    file_name: &str,
    file: &[u8],
) -> (StatusCode, Option<String>) {
    let (content_type, body) =
        multipart(&[("csrf_token", csrf), ("kind", "accounts"), ("encoding", "auto")], file_name, file);
    let response = server
        .anonymous
        .post(server.url("/imports"))
        .header("cookie", &browser.cookie)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    (response.status(), response.headers().get("location").map(|l| l.to_str().unwrap().to_owned()))
}

async fn account_count(server: &Server) -> usize {
    let (_, list) = server.get("/api/v1/accounts?limit=50").await;
    list["items"].as_array().unwrap().len()
}

#[store_test]
async fn a_shift_jis_file_with_errors_is_checked_writing_nothing_then_fixed_and_imported_from_the_browser(
    t: TestStore,
) {
    let server = Server::start(&t).await;
    let (_, browser) = server.browser("kana@k.example", Role::Manager).await;
    let (bad, _, _) = encoding_rs::SHIFT_JIS.encode(
        "account_id,name,tier,stage\nA1,紅葉商事,enterprise,adoption\nA2,,smb,adoption\nA1,桜電機,smb,adoption\n",
    );
    let (status, _) = upload_file(&server, &browser, "not the token", "顧客.csv", &bad).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "an upload without the CSRF token is refused");
    let (status, location) = upload_file(&server, &browser, &browser.csrf, "C:\\data\\顧客.csv", &bad).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let check = location.unwrap();
    assert!(check.starts_with("/imports/"), "{check}");

    let (status, html) = page(&server, &browser, &format!("{check}?lang=ja")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    let problems = after(&html, "check-problems");
    assert!(problems.contains("<td class=\"num\">3</td>") && problems.contains("<code>name</code>"), "{html}");
    assert!(problems.contains("<td class=\"num\">4</td>") && problems.contains("<code>account_id</code>"), "{html}");
    assert!(text_of(&html, "check-file").contains("顧客.csv") && !html.contains("C:\\data"), "{html}");
    let (status, html, _) = submit(&server, &browser, &format!("{check}/run"), "en", &[]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert_eq!(account_count(&server).await, 0, "a refused file writes nothing");

    let (other, other_browser) = server.browser("ren@k.example", Role::Manager).await;
    let _ = other;
    let (status, _) = page(&server, &other_browser, &check).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "only its uploader sees a staged file");
    let (_, csm) = server.browser("aki@k.example", Role::Csm).await;
    let (status, _) = page(&server, &csm, "/imports").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (fixed, _, _) = encoding_rs::SHIFT_JIS
        .encode("account_id,name,tier,stage\nA1,紅葉商事,enterprise,adoption\nA2,桜電機,smb,adoption\n");
    let (_, location) = upload_file(&server, &browser, &browser.csrf, "顧客.csv", &fixed).await;
    let check = location.unwrap();
    let (status, html) = page(&server, &browser, &format!("{check}?lang=en")).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(text_of(&html, "check-ready").contains("Rows ready to import: 2"), "{html}");
    assert_eq!(text_of(&html, "check-encoding"), "shift_jis");
    assert_eq!(account_count(&server).await, 0, "checking writes nothing");
    let (status, _, location) = submit(&server, &browser, &format!("{check}/run"), "en", &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/imports?done=imported"));
    assert_eq!(account_count(&server).await, 2);
    // The notice is the audit log's record of the reader's import, whatever the link says.
    let spoof = "/imports?done=imported&file=forged.csv&rows=99999&lang=en";
    let (_, html) = page(&server, &browser, spoof).await;
    assert_eq!(text_of(&html, "notice"), "顧客.csv was imported: 2 rows (2 new, 0 updated, 0 unchanged)");
    let (_, html) = page(&server, &browser, "/imports?lang=ja").await;
    let history = after(&html, "import-history");
    assert!(history.contains("顧客.csv") && history.contains("kana@k.example"), "{html}");
    let (status, _) = page(&server, &browser, &check).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "an imported file is not kept");
    t.finish().await;
}

#[store_test]
async fn an_imported_detractor_answer_tells_the_csm_at_once_and_an_old_one_does_not(t: TestStore) {
    let server = Server::start(&t).await;
    let (_, browser) = server.browser("aki@k.example", Role::Csm).await;
    alpha_owned_by_aki(&server).await;
    let today = server.app.today();
    let long_ago = today - chrono::Duration::days(60);
    let csv = format!(
        "account_id,contact_email,score,responded_at,comment\n\
         A1,hana@alpha.example,3,{today},遅くて使えない\n\
         A1,ken@alpha.example,2,{long_ago},\n\
         A1,yui@alpha.example,9,{today},\n"
    );
    let (status, outcome) = server.upload("nps", csv.into_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    let got = inbox(&server, &browser).await;
    assert_eq!(kinds(&got), vec!["detractor".to_owned()], "{got}");
    assert!(got["notifications"][0]["title"]["en"].as_str().unwrap().contains("answered NPS 3"), "{got}");
    server.app.scan_notifications().await.unwrap();
    assert_eq!(kinds(&inbox(&server, &browser).await), vec!["detractor".to_owned()], "told once");
    t.finish().await;
}

#[store_test]
async fn every_kind_of_notice_links_to_a_page_that_opens(t: TestStore) {
    use domain::notifications::{AccountNamed, Notice};
    let server = Server::start(&t).await;
    let browser = server.sign_in("admin@k.example").await;
    let (_, created) = server.post("/api/v1/accounts", json!({"external_id": "ACC-1", "name": "Acme"})).await;
    let account = AccountNamed { id: created["id"].as_i64().unwrap(), name: "Acme" };
    let day = server.app.today();
    let grade = domain::i18n::Bilingual::new("リスク", "At risk");
    let notices = [
        Notice::grade_dropped(&account, &grade, &grade, (day, "at_risk")),
        Notice::critical_signal(&account, &grade, (day, "at_risk")),
        Notice::task_assigned(1, "Call", None, "admin@k.example"),
        Notice::task_overdue(1, "Call", Some(&account), day),
        Notice::renewal_approaching(&account, day, 30, "¥1,000"),
        Notice::email_awaiting_approval(7, &account, "Hello"),
        Notice::detractor(&account, 3, day),
    ];
    for notice in notices {
        let path = notice.link.split('#').next().unwrap_or_default();
        let (status, _) = page(&server, &browser, path).await;
        assert_eq!(status, StatusCode::OK, "{:?} links to {}", notice.kind, notice.link);
    }
    drop(server);
    t.finish().await;
}
