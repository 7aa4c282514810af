//! Health scores through real HTTP, on SQLite and (with TEST_DATABASE_URL) PostgreSQL: an
//! ingested event changes the score on the next read, and the configuration is validated.

use crate::common::Server;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use store::testing::TestStore;
use test_macros::store_test;

fn feature() -> Value {
    json!({"key": "payslip", "name": "給与明細", "event": "Payslip Published", "cadence": "weekly", "importance": "core"})
}

fn config() -> Value {
    json!({"min_measures": 1, "scorecard": [{"key": "default", "name": "Default", "measure": [
        {"key": "weekly_payslips", "type": "cadence_adherence", "feature": "payslip", "periods": 2, "weight": 1,
         "points": {"thresholds": [[1.0, 100], [0.5, 50], [0.0, 0]]}}]}]})
}

#[store_test]
async fn an_ingested_event_changes_the_score_and_its_explanation_at_once(t: TestStore) {
    let server = Server::start(&t).await;
    let key = server.write_key().await;
    server.post("/api/v1/features", feature()).await;
    let (status, saved) = server.send(Method::PUT, "/api/v1/health/config", Some(config())).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let (_, account) = server.post("/api/v1/accounts", json!({"external_id": "ACC-1", "name": "Acme"})).await;
    let id = account["id"].as_i64().unwrap();
    let today = server.app.today();
    let at = |days_ago: u64| {
        let day = today.checked_sub_days(chrono::Days::new(days_ago)).unwrap();
        format!("{day}T03:00:00Z")
    };
    server.track(&key, "/v1/group", json!({"userId": "u1", "groupId": "ACC-1", "timestamp": at(30)})).await;
    server
        .track(
            &key,
            "/v1/track",
            json!({"userId": "u1", "event": "Payslip Published", "messageId": "a", "timestamp": at(14)}),
        )
        .await;
    let (_, before) = server.get(&format!("/api/v1/accounts/{id}/health")).await;
    let used_before = before["measures"][0]["value"].as_f64().unwrap();
    server
        .track(
            &key,
            "/v1/track",
            json!({"userId": "u1", "event": "Payslip Published", "messageId": "b", "timestamp": at(7)}),
        )
        .await;
    let (status, after) = server.get(&format!("/api/v1/accounts/{id}/health")).await;
    assert_eq!(status, StatusCode::OK, "{after}");
    assert!(after["measures"][0]["value"].as_f64().unwrap() > used_before, "{before} → {after}");
    assert!(after["measures"][0]["explanation"]["ja"].as_str().unwrap().starts_with("給与明細: 直近"), "{after}");
    assert!(after["measures"][0]["explanation"]["en"].as_str().unwrap().starts_with("給与明細: used in"), "{after}");
    let (_, grades) = server.get("/api/v1/health/grades").await;
    assert_eq!(grades.as_array().map(Vec::len), Some(4), "three grades and unknown: {grades}");
    drop(server);
    t.finish().await;
}

#[store_test]
async fn a_broken_configuration_is_refused_naming_the_field_and_nothing_changes(t: TestStore) {
    let server = Server::start(&t).await;
    let mut broken = config();
    broken["scorecard"][0]["measure"][0]["weight"] = json!(0);
    let (status, problem) = server.send(Method::PUT, "/api/v1/health/config", Some(broken)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "scorecard[0].measure[0].weight");
    let (status, _) = server.send(Method::PUT, "/api/v1/health/config", Some(json!({"scorecard": "x"}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, current) = server.get("/api/v1/health/config").await;
    assert_eq!(current["scorecard"][0]["key"], "default", "the shipped default still applies");
    assert!(current["scorecard"][0]["measure"].as_array().unwrap().len() > 1);
    let (status, problem) = server.get("/api/v1/health/backtest?to=2026-01-01&horizon_days=x").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = problem["errors"].as_array().unwrap().iter().filter_map(|e| e["field"].as_str()).collect();
    assert_eq!(fields, vec!["horizon_days", "from"]);
    drop(server);
    t.finish().await;
}

fn pulse_config() -> Value {
    json!({"min_measures": 1, "scorecard": [{"key": "default", "name": "Default", "measure": [
        {"key": "pulse", "type": "csm_pulse", "days": 30, "weight": 1, "points": {"piecewise": [[1, 0], [5, 100]]}}]}]})
}

#[store_test]
async fn a_pulse_changes_the_score_its_explanation_and_the_timeline(t: TestStore) {
    let server = Server::start(&t).await;
    server.send(Method::PUT, "/api/v1/health/config", Some(pulse_config())).await;
    let (_, account) = server.post("/api/v1/accounts", json!({"external_id": "ACC-1", "name": "Acme"})).await;
    let id = account["id"].as_i64().unwrap();
    let (_, unknown) = server.get(&format!("/api/v1/accounts/{id}/health")).await;
    assert_eq!(unknown["grade"], "unknown", "no pulse yet: {unknown}");
    let (status, good) = server
        .post(&format!("/api/v1/accounts/{id}/pulse"), json!({"score": 5, "reasons": ["strong_relationship"]}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{good}");
    assert_eq!((good["health"]["score"].as_f64(), good["health"]["grade"].as_str()), (Some(100.0), Some("healthy")));
    let (status, bad) = server
        .post(
            &format!("/api/v1/accounts/{id}/pulse"),
            json!({"score": 1, "reasons": ["champion_left"], "comment": "推進者が退職"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{bad}");
    assert_eq!(bad["health"]["grade"], "at_risk");
    assert!(bad["health"]["drivers"][0]["en"].as_str().unwrap().starts_with("CSM pulse: 1 of 5"), "{bad}");
    let (_, timeline) = server.get(&format!("/api/v1/timeline?account_id={id}")).await;
    let titles: Vec<&str> = timeline["items"].as_array().unwrap().iter().filter_map(|e| e["title"].as_str()).collect();
    assert!(titles.iter().any(|t| t.contains("Healthy → At risk")), "{titles:?}");
    let (_, history) = server.get(&format!("/api/v1/accounts/{id}/health/history")).await;
    assert_eq!(history["snapshots"].as_array().map(Vec::len), Some(1), "one snapshot per day: {history}");
    let (_, pulses) = server.get(&format!("/api/v1/accounts/{id}/pulses")).await;
    assert_eq!(pulses[0]["comment"], "推進者が退職");
    let (status, problem) = server.post(&format!("/api/v1/accounts/{id}/pulse"), json!({"score": 9})).await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("score")));
    drop(server);
    t.finish().await;
}

#[store_test]
async fn the_worker_refreshes_the_stored_snapshot_within_a_second_of_an_ingested_event(t: TestStore) {
    let server = Server::start(&t).await;
    let key = server.write_key().await;
    server.post("/api/v1/features", feature()).await;
    server.send(Method::PUT, "/api/v1/health/config", Some(config())).await;
    server.post("/api/v1/accounts", json!({"external_id": "ACC-1", "name": "Acme"})).await;
    let (_, account) = server.get("/api/v1/accounts?q=Acme").await;
    let id = account["items"][0]["id"].as_i64().unwrap();
    let today = server.app.today();
    server
        .track(
            &key,
            "/v1/group",
            json!({"userId": "u1", "groupId": "ACC-1", "timestamp": format!("{today}T00:00:00Z")}),
        )
        .await;
    server.app.recompute_health(None).await.unwrap();
    let stored = |history: &Value| history["snapshots"][0]["measures"]["weekly_payslips"].as_f64();
    let (_, before) = server.get(&format!("/api/v1/accounts/{id}/health/history")).await;
    let day = today.checked_sub_days(chrono::Days::new(7)).unwrap();
    server
        .track(
            &key,
            "/v1/track",
            json!({"userId": "u1", "event": "Payslip Published", "timestamp": format!("{day}T03:00:00Z")}),
        )
        .await;
    let sent = std::time::Instant::now();
    let mut after = before.clone();
    while sent.elapsed() < std::time::Duration::from_secs(1) && stored(&after) == stored(&before) {
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        after = server.get(&format!("/api/v1/accounts/{id}/health/history")).await.1;
    }
    assert_ne!(stored(&after), stored(&before), "{} within 1 s: {before} → {after}", t.label);
    drop(server);
    t.finish().await;
}

#[store_test]
async fn imported_nps_answers_and_tickets_become_measures_and_until_then_are_left_out(t: TestStore) {
    let server = Server::start(&t).await;
    let voice = json!({"min_measures": 1, "scorecard": [{"key": "default", "name": "Default", "measure": [
        {"key": "nps", "type": "nps_latest", "weight": 1, "points": {"piecewise": [[0, 0], [10, 100]]}},
        {"key": "urgent", "type": "open_urgent_tickets", "weight": 1, "points": {"thresholds": [[1, 0], [0, 100]]}}]}]});
    server.send(Method::PUT, "/api/v1/health/config", Some(voice)).await;
    let (_, account) = server.post("/api/v1/accounts", json!({"external_id": "ACC-1", "name": "Acme"})).await;
    let id = account["id"].as_i64().unwrap();
    let (_, none) = server.get(&format!("/api/v1/accounts/{id}/health")).await;
    assert_eq!(none["measures_available"], 0, "nothing imported yet: {none}");
    let today = server.app.today();
    let answered = |days: u64| today.checked_sub_days(chrono::Days::new(days)).unwrap();
    let nps =
        format!("account_id,contact_email,score,responded_at,comment\nACC-1,b@acme.example,2,{},\n", answered(200));
    let (status, body) = server.upload("nps", nps.into_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, stale) = server.get(&format!("/api/v1/accounts/{id}/health")).await;
    assert_eq!(stale["measures_available"], 0, "an answer older than 180 days is not the latest NPS: {stale}");
    let nps =
        format!("account_id,contact_email,score,responded_at,comment\nACC-1,a@acme.example,8,{},\n", answered(30));
    let (status, body) = server.upload("nps", nps.into_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let tickets = "ticket_id,account_id,created_at,solved_at,priority,status,subject\nT-1,ACC-1,2026-01-05,,urgent,open,Payroll export fails\n";
    let (status, body) = server.upload("tickets", tickets.as_bytes().to_vec()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, health) = server.get(&format!("/api/v1/accounts/{id}/health")).await;
    assert_eq!(health["measures_available"], 2, "{health}");
    assert_eq!(health["score"].as_f64(), Some(40.0), "NPS 8 → 80 points, one open urgent ticket → 0: {health}");
    assert_eq!(health["drivers"][0]["en"], "1 open high or urgent tickets (-50 points)");
    drop(server);
    t.finish().await;
}

#[store_test]
async fn the_account_page_shows_health_drivers_and_feature_use_in_both_languages(t: TestStore) {
    let server = Server::start(&t).await;
    let key = server.write_key().await;
    server.post("/api/v1/features", feature()).await;
    server.send(Method::PUT, "/api/v1/health/config", Some(config())).await;
    let (_, account) = server.post("/api/v1/accounts", json!({"external_id": "ACC-1", "name": "株式会社あおば"})).await;
    let id = account["id"].as_i64().unwrap();
    let today = server.app.today();
    let day = today.checked_sub_days(chrono::Days::new(10)).unwrap();
    server
        .track(&key, "/v1/group", json!({"userId": "u1", "groupId": "ACC-1", "timestamp": format!("{day}T00:00:00Z")}))
        .await;
    server
        .track(
            &key,
            "/v1/track",
            json!({"userId": "u1", "event": "Payslip Published", "timestamp": format!("{day}T03:00:00Z")}),
        )
        .await;
    let page = |lang: &str| {
        let request = server.client.get(server.url(&format!("/accounts/{id}?lang={lang}")));
        async move { request.send().await.unwrap() }
    };
    let ja = page("ja").await;
    assert_eq!(ja.status(), StatusCode::OK, "{}", t.label);
    let ja = ja.text().await.unwrap();
    for expected in
        ["株式会社あおば", "ヘルススコア", "スコアを下げている要因", "給与明細: 直近", "機能の利用", "毎週", "利用あり"]
    {
        assert!(ja.contains(expected), "{expected} missing: {ja}");
    }
    let en = page("en").await.text().await.unwrap();
    for expected in ["What lowers the score", "給与明細: used in", "Feature use", "weekly", "Active users"] {
        assert!(en.contains(expected), "{expected} missing: {en}");
    }
    let missing = server.client.get(server.url("/accounts/999999")).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let list = server.client.get(server.url("/accounts")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains(&format!("href=\"/accounts/{id}\"")), "the list links to the account page");
    drop(server);
    t.finish().await;
}

#[store_test]
async fn a_stopped_core_job_is_explained_by_the_days_since_its_last_use_against_its_usual_rhythm(t: TestStore) {
    let server = Server::start(&t).await;
    let key = server.write_key().await;
    server.post("/api/v1/features", feature()).await;
    let overdue = |scope: &str| {
        json!({"min_measures": 1, "scorecard": [{"key": "default", "name": "Default", "measure": [
            {"key": "payslips_overdue", "type": "overdue", "scope": scope, "recent_days": 30, "baseline_days": 90,
             "weight": 1, "points": {"piecewise": [[1.0, 100], [2.0, 30], [3.0, 0]]}}]}]})
    };
    let (status, problem) = server.send(Method::PUT, "/api/v1/health/config", Some(overdue("all"))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "scorecard[0].measure[0].scope");
    let (status, saved) = server.send(Method::PUT, "/api/v1/health/config", Some(overdue("core"))).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    server.post("/api/v1/accounts", json!({"external_id": "ACC-1", "name": "Acme"})).await;
    let today = server.app.today();
    let at = |days_ago: u64| format!("{}T03:00:00Z", today.checked_sub_days(chrono::Days::new(days_ago)).unwrap());
    server.track(&key, "/v1/group", json!({"userId": "u1", "groupId": "ACC-1", "timestamp": at(200)})).await;
    // Every ten days from 110 to 40 days ago: the baseline (the 90 days before the 30 whole days to
    // yesterday) counts from the first use, so 8 uses in 80 days, one every 10.
    for days_ago in (40..=110).step_by(10) {
        let event = json!({"userId": "u1", "event": "Payslip Published", "messageId": format!("p{days_ago}"),
                           "timestamp": at(days_ago)});
        server.track(&key, "/v1/track", event).await;
    }
    let (_, accounts) = server.get("/api/v1/accounts?q=Acme").await;
    let id = accounts["items"][0]["id"].as_i64().unwrap();
    let (status, health) = server.get(&format!("/api/v1/accounts/{id}/health")).await;
    assert_eq!(status, StatusCode::OK, "{health}");
    let measure = &health["measures"][0];
    assert!((measure["value"].as_f64().unwrap() - 40.0 / (80.0 / 8.0)).abs() < 1e-9, "{measure}");
    assert_eq!(measure["points"], 0.0, "{measure}");
    assert_eq!(measure["explanation"]["en"], "給与明細: last used 40 days ago (usually about every 10 days)");
    assert_eq!(measure["explanation"]["ja"], "給与明細: 最後の利用から 40 日（ふだんは約 10 日ごと）");
    drop(server);
    t.finish().await;
}
