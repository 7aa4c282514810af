//! Health scores through real HTTP, on SQLite and (with TEST_DATABASE_URL) PostgreSQL: an
//! ingested event changes the score on the next read, and the configuration is validated.

mod common;

use common::Server;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use store::testing::test_stores;

fn feature() -> Value {
    json!({"key": "payslip", "name": "給与明細", "event": "Payslip Published", "cadence": "weekly", "importance": "core"})
}

fn config() -> Value {
    json!({"min_measures": 1, "scorecard": [{"key": "default", "name": "Default", "measure": [
        {"key": "weekly_payslips", "type": "cadence_adherence", "feature": "payslip", "periods": 2, "weight": 1,
         "points": {"thresholds": [[1.0, 100], [0.5, 50], [0.0, 0]]}}]}]})
}

#[tokio::test]
async fn an_ingested_event_changes_the_score_and_its_explanation_at_once() {
    for t in test_stores().await {
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
        assert!(
            after["measures"][0]["explanation"]["en"].as_str().unwrap().starts_with("給与明細: used in"),
            "{after}"
        );
        let (_, grades) = server.get("/api/v1/health/grades").await;
        assert_eq!(grades.as_array().map(Vec::len), Some(4), "three grades and unknown: {grades}");
        drop(server);
        t.finish().await;
    }
}

#[tokio::test]
async fn a_broken_configuration_is_refused_naming_the_field_and_nothing_changes() {
    for t in test_stores().await {
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
        let fields: Vec<&str> =
            problem["errors"].as_array().unwrap().iter().filter_map(|e| e["field"].as_str()).collect();
        assert_eq!(fields, vec!["horizon_days", "from"]);
        drop(server);
        t.finish().await;
    }
}
