//! Tech touch through real HTTP on both databases: the snippet's decisions (targeting, caps on
//! the server, holdout), its reports and answers as tracking events, survey links signed per
//! contact (tampering, expiry, one answer per round) and the pages CS manages them on.

use crate::common::{self, Server};
use reqwest::StatusCode;
use serde_json::{json, Value};
use store::testing::TestStore;
use test_macros::store_test;

/// Asks as the snippet does: the write key as Basic-auth user, from `origin` when given.
async fn snippet(server: &Server, key: &str, path: &str, origin: Option<&str>, body: Value) -> (StatusCode, Value) {
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{key}:"));
    let mut request = server
        .anonymous
        .post(server.url(path))
        .header("authorization", format!("Basic {basic}"))
        .header("accept-language", "en")
        .json(&body);
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    common::read(request.send().await.unwrap()).await
}

async fn decide(server: &Server, key: &str, body: Value) -> Value {
    let (status, decision) = snippet(server, key, "/v1/in-app/decide", None, body).await;
    assert_eq!(status, StatusCode::OK, "{decision}");
    decision
}

async fn message(server: &Server, body: Value) -> i64 {
    let (status, created) = server.post("/api/v1/messages", body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["id"].as_i64().unwrap()
}

fn banner(name: &str) -> Value {
    json!({"name": name, "style": "banner", "title": "新機能", "title_en": "New feature", "body": "本文", "body_en": "Body"})
}

async fn account(server: &Server, external_id: &str, tier: &str) -> i64 {
    let (status, created) =
        server.post("/api/v1/accounts", json!({"external_id": external_id, "name": external_id, "tier": tier})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["id"].as_i64().unwrap()
}

async fn events_named(server: &Server, name: &str) -> usize {
    server.app.store().events(None, 1_000).await.unwrap().iter().filter(|e| e.event.as_deref() == Some(name)).count()
}

#[store_test]
async fn a_message_is_shown_in_the_users_language_within_its_cap_and_reported_as_events(t: TestStore) {
    let server = Server::start(&t).await;
    let key = server.write_key().await;
    account(&server, "ACC-1", "gold").await;
    let mut tour = banner("tour");
    tour["button"] = json!("見る");
    tour["button_en"] = json!("Open");
    tour["button_url"] = json!("/reports");
    let id = message(&server, tour).await;
    let user = json!({"userId": "u1", "accountId": "ACC-1", "lang": "en"});
    let decision = decide(&server, &key, user.clone()).await;
    assert_eq!(decision["message"]["id"], json!(id), "{}: {decision}", t.label);
    assert_eq!(
        (decision["message"]["title"].as_str(), decision["message"]["button"].as_str()),
        (Some("New feature"), Some("Open"))
    );
    let again = decide(&server, &key, user.clone()).await;
    assert_eq!(again["message"], Value::Null, "shown once per user: {again}");
    let clicked = json!({"userId": "u1", "accountId": "ACC-1", "kind": "message", "id": id, "action": "clicked"});
    assert_eq!(snippet(&server, &key, "/v1/in-app/report", None, clicked).await.0, StatusCode::NO_CONTENT);
    let stranger = json!({"userId": "u2", "accountId": "ACC-1", "kind": "message", "id": id, "action": "clicked"});
    let (status, refused) = snippet(&server, &key, "/v1/in-app/report", None, stranger).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a user who was never shown it cannot report it: {refused}");
    assert_eq!((events_named(&server, "Message Shown").await, events_named(&server, "Message Clicked").await), (1, 1));
    let (_, results) = server.get(&format!("/api/v1/messages/{id}/results")).await;
    assert_eq!(results["outcomes"], json!([["shown", 1, 1], ["clicked", 1, 1]]), "{results}");
    drop(server);
    t.finish().await;
}

#[store_test]
async fn messages_are_targeted_by_segment_role_traits_page_and_the_event_just_done(t: TestStore) {
    let server = Server::start(&t).await;
    let key = server.write_key().await;
    account(&server, "GOLD-1", "gold").await;
    account(&server, "SILVER-1", "silver").await;
    let (status, segment) = server.post("/api/v1/segments", json!({"name": "Gold", "rule": "tier = \"gold\""})).await;
    assert_eq!(status, StatusCode::CREATED, "{segment}");
    server.app.recompute_health(None).await.unwrap();
    let mut targeted = banner("exports");
    targeted["segment_id"] = segment["id"].clone();
    targeted["roles"] = json!(["admin"]);
    targeted["traits"] = json!({"plan": "pro"});
    targeted["url_pattern"] = json!("*/reports*");
    targeted["after_event"] = json!("Report Exported");
    let id = message(&server, targeted).await;
    let visit = |account: &str, role: &str, url: &str, event: &str| {
        json!({"userId": format!("{account}-{role}-{event}"), "accountId": account, "role": role, "traits": {"plan": "pro"},
               "url": url, "event": event})
    };
    let shown = |d: &Value| d["message"]["id"].as_i64();
    let url = "https://app.example/reports/1";
    assert_eq!(
        shown(&decide(&server, &key, visit("GOLD-1", "admin", url, "Report Exported")).await),
        Some(id),
        "{}",
        t.label
    );
    assert_eq!(
        shown(&decide(&server, &key, visit("SILVER-1", "admin", url, "Report Exported")).await),
        None,
        "segment"
    );
    assert_eq!(shown(&decide(&server, &key, visit("GOLD-1", "member", url, "Report Exported")).await), None, "role");
    assert_eq!(
        shown(&decide(&server, &key, visit("GOLD-1", "admin", "https://app.example/", "Report Exported")).await),
        None,
        "page"
    );
    assert_eq!(shown(&decide(&server, &key, visit("GOLD-1", "admin", url, "Login")).await), None, "event");
    drop(server);
    t.finish().await;
}

#[store_test]
async fn the_workspace_cap_holds_back_all_but_critical_messages(t: TestStore) {
    let server = Server::start(&t).await;
    let key = server.write_key().await;
    account(&server, "ACC-1", "gold").await;
    let (status, caps) =
        server.send(reqwest::Method::PUT, "/api/v1/tech-touch/caps", Some(json!({"messages_per_day": 1}))).await;
    assert_eq!((status, caps["messages_per_day"].as_i64()), (StatusCode::OK, Some(1)), "{caps}");
    let mut first = banner("first");
    first["priority"] = json!(90);
    let first = message(&server, first).await;
    message(&server, banner("second")).await;
    let mut critical = banner("maintenance");
    critical["exempt"] = json!(true);
    critical["priority"] = json!(1);
    let critical = message(&server, critical).await;
    let user = json!({"userId": "u1", "accountId": "ACC-1"});
    assert_eq!(decide(&server, &key, user.clone()).await["message"]["id"].as_i64(), Some(first), "{}", t.label);
    assert_eq!(
        decide(&server, &key, user.clone()).await["message"]["id"].as_i64(),
        Some(critical),
        "only the critical one passes the cap"
    );
    assert_eq!(decide(&server, &key, user).await["message"], Value::Null);
    drop(server);
    t.finish().await;
}

#[store_test]
async fn a_holdout_keeps_the_same_accounts_out_and_the_results_compare_them(t: TestStore) {
    let server = Server::start(&t).await;
    let key = server.write_key().await;
    let mut held = banner("holdout");
    held["holdout_percent"] = json!(50);
    held["max_shows"] = json!(5);
    held["min_days_between"] = json!(0);
    held["goal_event"] = json!("Report Exported");
    let id = message(&server, held).await;
    let mut first_answers = Vec::new();
    for n in 0..16 {
        let external = format!("ACC-{n}");
        account(&server, &external, "gold").await;
        let user = json!({"userId": format!("u{n}"), "accountId": external});
        let shown = decide(&server, &key, user.clone()).await["message"] != Value::Null;
        let again = decide(&server, &key, user).await["message"] != Value::Null;
        assert_eq!(shown, again, "{}: the same account is always in or out", t.label);
        first_answers.push(shown);
    }
    let out = first_answers.iter().filter(|s| !**s).count();
    assert!((1..16).contains(&out), "about half are held out: {first_answers:?}");
    let (_, results) = server.get(&format!("/api/v1/messages/{id}/results")).await;
    assert_eq!(results["held_out"]["accounts"].as_u64(), Some(out as u64), "{results}");
    assert_eq!(results["shown"]["accounts"].as_u64(), Some((16 - out) as u64), "{results}");
    assert_eq!(results["goal_event"], "Report Exported");
    drop(server);
    t.finish().await;
}

/// The answer link in the newest outbox email.
async fn emailed_link(server: &Server) -> String {
    let outbox = server.app.store().outbox(None, 10).await.unwrap();
    let body = &outbox.first().expect("an invitation email").body;
    let start = body.find("/s/").expect("a link");
    body[start..].split_whitespace().next().unwrap().to_owned()
}

#[store_test]
async fn a_survey_link_is_signed_per_contact_and_refuses_tampering_expiry_and_a_second_answer(t: TestStore) {
    let server = Server::start(&t).await;
    let account_id = account(&server, "ACC-1", "gold").await;
    let (status, contact) = server
        .post(
            "/api/v1/contacts",
            json!({"external_id": "C-1", "account_id": account_id, "email": "Hana@Customer.example"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{contact}");
    let (status, survey) = server.post("/api/v1/surveys", json!({"name": "NPS", "kind": "nps", "in_app": false})).await;
    assert_eq!(status, StatusCode::CREATED, "{survey}");
    let id = survey["id"].as_i64().unwrap();
    let (status, sent) = server.post(&format!("/api/v1/surveys/{id}/send"), json!({})).await;
    assert_eq!(
        (status, sent["queued"].as_u64(), sent["waiting_for_smtp"].as_bool()),
        (StatusCode::OK, Some(1), Some(true)),
        "{}: {sent}",
        t.label
    );
    let (_, again) = server.post(&format!("/api/v1/surveys/{id}/send"), json!({})).await;
    assert_eq!(again["queued"].as_u64(), Some(0), "asked once per round: {again}");
    assert!(again["contacts"][0]["skipped"]["en"].as_str().unwrap().contains("already asked"), "{again}");
    let detractors = json!({"name": "批判者フォロー", "trigger": {"type": "nps_detractor"},
        "step": [{"action": "create_task", "title": "{{account}}: NPS のフォロー"}]});
    let (status, playbook) = server.post("/api/v1/playbooks", detractors).await;
    assert_eq!(status, StatusCode::CREATED, "{playbook}");
    let link = emailed_link(&server).await;
    let (payload, signature) = link.rsplit_once('.').unwrap();
    let tampered = format!("{}.{signature}", payload.replacen(".", ".9", 1));
    let response = server.anonymous.get(server.url(&tampered)).header("accept-language", "en").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text().await.unwrap().contains("not valid"));
    let form = server.anonymous.get(server.url(&link)).send().await.unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    assert!(form.text().await.unwrap().contains("友人や同僚に勧める"), "Japanese by default");
    let answer = |score: &'static str| {
        server
            .anonymous
            .post(server.url(&link))
            .header("accept-language", "en")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("score={score}&comment=%E9%81%85%E3%81%84"))
            .send()
    };
    let mangled = server
        .anonymous
        .post(server.url(&link))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("score=3&comment=%ff%fe")
        .send()
        .await
        .unwrap();
    assert_eq!(mangled.status(), StatusCode::UNPROCESSABLE_ENTITY, "text that is not UTF-8 is refused, not mangled");
    let (status, _) = server.get("/api/v1/accounts?q=%ff").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "so is a query parameter");
    let bad = answer("11").await.unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY, "a score off the scale is refused");
    let first = answer("3").await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert!(first.text().await.unwrap().contains("Thank you"));
    let second = answer("9").await.unwrap();
    assert_eq!(second.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(second.text().await.unwrap().contains("already answered"));
    let (_, runs) = server.get(&format!("/api/v1/playbooks/{}/runs", playbook["id"])).await;
    assert_eq!(runs.as_array().map(Vec::len), Some(1), "a detractor's answer starts the playbook at once: {runs}");
    let nps = server.app.store().recent_nps(domain::AccountId(account_id), 5).await.unwrap();
    assert_eq!(
        nps.iter().map(|n| (n.contact_email.as_str(), n.score)).collect::<Vec<_>>(),
        [("hana@customer.example", 3)]
    );
    let (_, results) = server.get(&format!("/api/v1/surveys/{id}/results")).await;
    assert_eq!(
        (results["overall"]["score"].as_f64(), results["answers"][0]["comment"].as_str()),
        (Some(-100.0), Some("遅い")),
        "{results}"
    );
    let invite = domain::tech_touch::SurveyInvite {
        survey_id: id,
        round: 0,
        account_id,
        email: "late@customer.example".into(),
        expires: chrono::Utc::now().timestamp() - 60,
    };
    let expired = server.app.survey_link(&invite).await.unwrap();
    let response = server.anonymous.get(server.url(&expired)).header("accept-language", "en").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::GONE);
    assert!(response.text().await.unwrap().contains("expired"));
    drop(server);
    t.finish().await;
}

#[store_test]
async fn a_contact_outside_the_surveys_segment_is_not_in_its_audience(t: TestStore) {
    let server = Server::start(&t).await;
    let gold = account(&server, "ACC-G", "gold").await;
    let plain = account(&server, "ACC-P", "silver").await;
    for (external, account, email) in [("C-G", gold, "hana@gold.example"), ("C-P", plain, "ken@plain.example")] {
        let contact = json!({"external_id": external, "account_id": account, "email": email});
        assert_eq!(server.post("/api/v1/contacts", contact).await.0, StatusCode::CREATED);
    }
    let (_, segment) = server.post("/api/v1/segments", json!({"name": "Gold", "rule": "tier = \"gold\""})).await;
    let survey = json!({"name": "NPS", "kind": "nps", "segment_id": segment["id"]});
    let (status, survey) = server.post("/api/v1/surveys", survey).await;
    assert_eq!(status, StatusCode::CREATED, "{survey}");
    let id = survey["id"].as_i64().unwrap();
    let why = |person: &'static str| {
        let server = &server;
        async move { server.get(&format!("/api/v1/surveys/{id}/eligibility?person={person}")).await.1 }
    };
    let outside = why("ken@plain.example").await;
    assert_eq!(outside["may_ask"], json!(false), "{}: {outside}", t.label);
    assert_eq!(outside["reason"]["en"], "not in the survey's audience", "{outside}");
    let inside = why("hana@gold.example").await;
    assert_ne!(inside["reason"]["en"], "not in the survey's audience", "{inside}");
    drop(server);
    t.finish().await;
}

#[store_test]
async fn an_in_app_survey_is_asked_once_per_round_and_says_why_a_person_was_not_asked(t: TestStore) {
    let server = Server::start(&t).await;
    let key = server.write_key().await;
    let account_id = account(&server, "ACC-1", "gold").await;
    let (_, survey) = server.post("/api/v1/surveys", json!({"name": "CSAT", "kind": "csat"})).await;
    let id = survey["id"].as_i64().unwrap();
    let user = json!({"userId": "u1", "accountId": "ACC-1", "email": "Taro@Customer.example"});
    let early = json!({"userId": "u1", "accountId": "ACC-1", "email": "taro@customer.example", "id": id, "score": 4});
    let (status, _) = snippet(&server, &key, "/v1/in-app/answer", None, early.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{}: an answer to a survey never shown is refused", t.label);
    let decision = decide(&server, &key, user.clone()).await;
    assert_eq!(
        (decision["survey"]["id"].as_i64(), decision["survey"]["max"].as_i64()),
        (Some(id), Some(5)),
        "{decision}"
    );
    let mut off_scale = early.clone();
    off_scale["score"] = json!(6);
    let (status, refused) = snippet(&server, &key, "/v1/in-app/answer", None, off_scale).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused["errors"][0]["field"], "score", "{refused}");
    assert_eq!(snippet(&server, &key, "/v1/in-app/answer", None, early.clone()).await.0, StatusCode::NO_CONTENT);
    assert_eq!(snippet(&server, &key, "/v1/in-app/answer", None, early).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(decide(&server, &key, user).await["survey"], Value::Null, "asked once per round");
    assert_eq!(events_named(&server, "Survey Answered").await, 1);
    let (_, why) = server.get(&format!("/api/v1/surveys/{id}/eligibility?person=TARO@customer.example")).await;
    assert_eq!(why["may_ask"], json!(false), "{why}");
    assert!(why["reason"]["en"].as_str().unwrap().contains("already answered"), "{why}");
    let (status, _) = server.get(&format!("/api/v1/surveys/{id}/eligibility")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "the person is required");
    let answers = server.app.account_survey_answers(domain::AccountId(account_id)).await.unwrap();
    assert_eq!(answers.iter().map(|(a, _)| (a.score, a.channel.as_str())).collect::<Vec<_>>(), [(4, "in_app")]);
    drop(server);
    t.finish().await;
}

#[store_test]
async fn snippet_calls_refuse_other_origins_bad_input_and_floods(t: TestStore) {
    let server = Server::start(&t).await;
    account(&server, "ACC-1", "gold").await;
    let (_, created) =
        server.post("/api/v1/write-keys", json!({"name": "web", "allowed_origins": ["https://app.example.com"]})).await;
    let key = created["secret"].as_str().unwrap().to_owned();
    let user = json!({"userId": "u1", "accountId": "ACC-1"});
    let (status, _) = snippet(&server, &key, "/v1/in-app/decide", Some("https://evil.example"), user.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{}", t.label);
    let (status, ok) = snippet(&server, &key, "/v1/in-app/decide", Some("https://app.example.com"), user.clone()).await;
    assert_eq!(status, StatusCode::OK, "{ok}");
    let (status, _) = snippet(&server, "wk_wrong", "/v1/in-app/decide", None, user.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, bad) =
        snippet(&server, &key, "/v1/in-app/decide", None, json!({"accountId": "NOPE", "url": "x".repeat(3_000)})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = bad["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["userId", "url"], "{bad}");
    let (status, unknown) =
        snippet(&server, &key, "/v1/in-app/decide", None, json!({"userId": "u1", "accountId": "NOPE"})).await;
    assert_eq!((status, unknown["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("accountId")));
    let (status, _) =
        snippet(&server, &key, "/v1/in-app/decide", None, json!({"userId": "u\u{0}1", "accountId": "ACC-1"})).await;
    assert!(status.is_client_error(), "NUL is refused at the edge: {status}");
    let mut statuses = Vec::new();
    for _ in 0..35 {
        statuses.push(
            snippet(&server, &key, "/v1/in-app/decide", None, json!({"userId": "flood", "accountId": "ACC-1"})).await.0,
        );
    }
    assert_eq!(statuses.last(), Some(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
    let preflight = server
        .anonymous
        .request(reqwest::Method::OPTIONS, server.url("/v1/in-app/decide"))
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
    let script = server.anonymous.get(server.url("/js/kizuna.js")).send().await.unwrap();
    assert_eq!(script.headers()["content-type"], "text/javascript; charset=utf-8");
    assert!(script.text().await.unwrap().contains("attachShadow"));
    drop(server);
    t.finish().await;
}

#[store_test]
async fn messages_and_playbook_steps_are_validated_like_every_input(t: TestStore) {
    let server = Server::start(&t).await;
    let mut bad = banner("x");
    bad["button_url"] = json!("javascript:alert(1)");
    bad["holdout_percent"] = json!(90);
    bad["segment_id"] = json!(999);
    let (status, refused) = server.post("/api/v1/messages", bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{}", t.label);
    let fields: Vec<&str> =
        refused["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["button_url", "holdout_percent"], "{refused}");
    let mut unknown_segment = banner("x");
    unknown_segment["segment_id"] = json!(999);
    let (status, refused) = server.post("/api/v1/messages", unknown_segment).await;
    assert_eq!(
        (status, refused["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("segment_id"))
    );
    let everyone = message(&server, banner("everyone")).await;
    let playbook = json!({"name": "Nudge", "trigger": {"type": "grade_changed", "to": "at_risk"},
        "step": [{"delay_days": 0, "action": "show_message", "message_id": everyone}]});
    let (status, refused) = server.post("/api/v1/playbooks", playbook.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "only a playbook-only message: {refused}");
    assert_eq!(refused["errors"][0]["field"], "step[0].message_id", "{refused}");
    let mut enrolled_only = banner("nudge");
    enrolled_only["playbook_only"] = json!(true);
    enrolled_only["priority"] = json!(90);
    let nudge = message(&server, enrolled_only).await;
    let mut playbook = playbook;
    playbook["step"][0]["message_id"] = json!(nudge);
    let (status, saved) = server.post("/api/v1/playbooks", playbook).await;
    assert_eq!(status, StatusCode::CREATED, "{saved}");
    // The playbook runs for one account: only that account's users see the nudge.
    let key = server.write_key().await;
    let at_risk = account(&server, "RISK-1", "gold").await;
    account(&server, "FINE-1", "gold").await;
    let event = app::playbooks::TriggerEvent {
        account: domain::AccountId(at_risk),
        kind: app::playbooks::EventKind::GradeChanged { from: "neutral".into(), to: "at_risk".into() },
        occurrence: "test".into(),
        data: json!({}),
    };
    assert_eq!(server.app.fire_triggers(&[event]).await.unwrap(), 1);
    server.app.run_due_steps().await.unwrap();
    let shown = |d: Value| d["message"]["id"].as_i64();
    assert_eq!(shown(decide(&server, &key, json!({"userId": "r1", "accountId": "RISK-1"})).await), Some(nudge));
    assert_eq!(shown(decide(&server, &key, json!({"userId": "f1", "accountId": "FINE-1"})).await), Some(everyone));
    drop(server);
    t.finish().await;
}

#[store_test]
async fn a_manager_builds_a_message_and_reads_survey_results_in_both_languages(t: TestStore) {
    let server = Server::start(&t).await;
    let (_, browser) = server.browser("lead@kizuna.example", domain::access::Role::Manager).await;
    let fields = [
        ("name", "Tour"),
        ("style", "modal"),
        ("title", "ようこそ"),
        ("body", "はじめましょう"),
        ("priority", "50"),
        ("max_shows", "1"),
        ("min_days_between", "1"),
        ("holdout_percent", "10"),
        ("active", "on"),
        ("button_url", "ftp://x"),
    ];
    let (status, html, _) = common::submit(&server, &browser, "/messages", "en", &fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{}", t.label);
    assert!(common::unescaped(&html).contains("Button link"), "the field is named: {html}");
    let mut fixed = fields.to_vec();
    fixed.pop();
    let (status, _, location) = common::submit(&server, &browser, "/messages", "en", &fixed).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = location.unwrap();
    for lang in ["ja", "en"] {
        let (status, html) = common::page(&server, &browser, &format!("{}&lang={lang}", location)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains(if lang == "ja" { "結果" } else { "Results" }), "{html}");
        let (status, list) = common::page(&server, &browser, &format!("/messages?lang={lang}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(list.contains("Tour"));
    }
    let (_, survey) = server.post("/api/v1/surveys", json!({"name": "NPS", "kind": "nps"})).await;
    let id = survey["id"].as_i64().unwrap();
    for (lang, words) in [("ja", "メールで依頼する"), ("en", "Ask by email")] {
        let (status, html) =
            common::page(&server, &browser, &format!("/surveys/{id}?lang={lang}&person=a@b.example")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains(words), "{html}");
        assert!(html.contains("eligibility-answer"));
    }
    drop(server);
    t.finish().await;
}

#[store_test]
async fn a_preview_draws_the_message_or_survey_in_the_users_language_and_records_nothing(t: TestStore) {
    let server = Server::start(&t).await;
    let (_, browser) = server.browser("viewer@kizuna.example", domain::access::Role::Viewer).await;
    let id = message(&server, banner("tour")).await;
    let (status, html) = common::page(&server, &browser, &format!("/messages/{id}/preview?lang=ja&shown_in=en")).await;
    assert_eq!(status, StatusCode::OK, "{}: {html}", t.label);
    let html = common::unescaped(&html);
    assert!(html.contains("利用者の言語") && html.contains("<script src=\"/js/kizuna.js\""), "{html}");
    assert!(
        html.contains(r#""title":"New feature""#) && !html.contains("新機能"),
        "drawn as an English user sees it: {html}"
    );
    let (status, html) = common::page(&server, &browser, &format!("/messages/{id}/preview?lang=en")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(common::unescaped(&html).contains(r#""body":"Body""#), "the reader's language by default: {html}");
    let (status, _) = common::page(&server, &browser, &format!("/messages/{id}/preview?shown_in=fr")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a language the snippet does not speak is refused");
    let (_, results) = server.get(&format!("/api/v1/messages/{id}/results")).await;
    assert_eq!(results["outcomes"], json!([]), "opening a preview shows the message to no one: {results}");

    let (_, survey) = server.post("/api/v1/surveys", json!({"name": "NPS", "kind": "nps"})).await;
    let survey = survey["id"].as_i64().unwrap();
    let (status, html) = common::page(&server, &browser, &format!("/surveys/{survey}/preview?shown_in=ja")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(common::unescaped(&html).contains("まったく勧めない"), "{html}");
    let (status, _) = common::page(&server, &browser, "/surveys/999999/preview").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    drop(server);
    t.finish().await;
}
