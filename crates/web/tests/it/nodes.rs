//! Several nodes on one database: each keeps every account's signals in memory and follows the
//! others' writes through the change log, so what one node ingests or records shows on the
//! others within moments, without any of them reloading everything.

use crate::common::Server;
use app::{App, PortfolioSource};
use domain::settings::WorkspaceSettings;
use domain::AccountId;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use store::testing::TestStore;
use test_macros::store_test;

/// Asks `server` until `done` holds for its answer, for at most ten seconds.
async fn eventually(server: &Server, path: &str, body: Option<Value>, done: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let (status, answer) = match &body {
            Some(body) => server.post(path, body.clone()).await,
            None => server.get(path).await,
        };
        assert_eq!(status, StatusCode::OK, "{path}: {answer}");
        if done(&answer) {
            return answer;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{path} never changed: {answer}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[store_test]
async fn what_one_node_ingests_and_records_reaches_the_other_nodes_scores_segments_and_metrics(t: TestStore) {
    let first = Server::start(&t).await;
    let second = Server::start_node(t.another_store().await, "admin2@k.example").await;
    let (_, account) = first.post("/api/v1/accounts", json!({"external_id": "ACC-1", "name": "Acme"})).await;
    let id = account["id"].as_i64().unwrap();
    let active_today = json!({"rule": "days_since_activity = 0"});
    let (status, preview) = second.post("/api/v1/segments/preview", active_today.clone()).await;
    assert_eq!(
        (status, preview["count"].as_i64()),
        (StatusCode::OK, Some(0)),
        "{}: no activity yet: {preview}",
        t.label
    );

    let key = first.write_key().await;
    let event = json!({"userId": "u1", "event": "Login", "messageId": "m1", "context": {"groupId": "ACC-1"}});
    assert_eq!(first.track(&key, "/v1/track", event).await.0, StatusCode::OK);
    let preview = eventually(&second, "/api/v1/segments/preview", Some(active_today), |p| p["count"] == 1).await;
    assert_eq!(preview["accounts"][0]["id"].as_i64(), Some(id), "{}: the second node saw the event", t.label);

    let config = json!({"min_measures": 1, "scorecard": [{"key": "default", "name": "Default", "measure": [
        {"key": "pulse", "type": "csm_pulse", "days": 30, "weight": 1, "points": {"piecewise": [[1, 0], [5, 100]]}}]}]});
    assert_eq!(first.send(reqwest::Method::PUT, "/api/v1/health/config", Some(config)).await.0, StatusCode::OK);
    let health = format!("/api/v1/accounts/{id}/health");
    let (_, before) = second.get(&health).await;
    assert_eq!(before["grade"], "unknown", "{}: no pulse yet: {before}", t.label);
    let (status, _) =
        first.post(&format!("/api/v1/accounts/{id}/pulse"), json!({"score": 1, "reasons": ["champion_left"]})).await;
    assert_eq!(status, StatusCode::CREATED);
    let after = eventually(&second, &health, None, |h| h["grade"] == "at_risk").await;
    assert_eq!(
        after["score"].as_f64(),
        Some(0.0),
        "{}: the second node scores the first node's pulse: {after}",
        t.label
    );

    let report = "/api/v1/metrics/report?from=2025-03-01&to=2025-03-31&interval=month";
    let (_, empty) = second.get(report).await;
    assert_eq!(empty[0]["mrr_end"], "0.00", "{}: no subscription yet: {empty}", t.label);
    let period = json!({"subscription_id": "S", "account_id": id, "product": "core", "start_date": "2025-01-01",
        "billing_interval": "month", "quantity": 1, "unit_price": "4000", "currency": "JPY"});
    assert_eq!(first.post("/api/v1/subscriptions", period).await.0, StatusCode::CREATED);
    let with = eventually(&second, report, None, |r| r[0]["mrr_end"] == "4000.00").await;
    assert_eq!(with[0]["customers_end"].as_i64(), Some(1), "{}: the second node's metrics: {with}", t.label);
    drop((first, second));
    t.finish().await;
}

#[store_test]
async fn a_restarted_node_starts_from_its_saved_portfolio_and_catches_up_with_what_others_wrote_meanwhile(
    t: TestStore,
) {
    let writer = Server::start(&t).await;
    let key = writer.write_key().await;
    let (_, one) = writer.post("/api/v1/accounts", json!({"external_id": "ACC-1", "name": "Acme"})).await;
    let (_, two) = writer.post("/api/v1/accounts", json!({"external_id": "ACC-2", "name": "Beta"})).await;
    let (one, two) = (AccountId(one["id"].as_i64().unwrap()), AccountId(two["id"].as_i64().unwrap()));
    let login = |group: &str, message: &str| json!({"userId": "u1", "event": "Login", "messageId": message, "context": {"groupId": group}});
    assert_eq!(writer.track(&key, "/v1/track", login("ACC-1", "m1")).await.0, StatusCode::OK);

    let saved = std::env::temp_dir().join(format!(
        "kizuna-saved-portfolio-{}-{}-{}",
        std::process::id(),
        t.label,
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    ));
    let start = |saved: std::path::PathBuf| {
        let store = t.another_store();
        async move {
            let node = App::start(store.await, WorkspaceSettings::default()).await.unwrap();
            node.keep_portfolio_saved(saved);
            let source = node.load_portfolio().await.unwrap();
            (node, source)
        }
    };
    let (node, source) = start(saved.clone()).await;
    assert_eq!(source, PortfolioSource::Database, "{}: nothing was saved yet", t.label);
    assert!(node.save_portfolio().await.unwrap().is_some_and(|bytes| bytes > 0), "{}", t.label);
    drop(node);

    // While the node is down, another one writes.
    assert_eq!(writer.track(&key, "/v1/track", login("ACC-2", "m2")).await.0, StatusCode::OK);
    let (restarted, source) = start(saved.clone()).await;
    assert_eq!(source, PortfolioSource::Saved, "{}", t.label);
    let today = restarted.today();
    assert_eq!(restarted.last_activity(one).await.unwrap(), Some(today), "{}: from the saved file", t.label);
    assert_eq!(restarted.last_activity(two).await.unwrap(), Some(today), "{}: caught up from the change log", t.label);

    std::fs::write(&saved, b"not a portfolio").unwrap();
    let (fresh, source) = start(saved.clone()).await;
    assert_eq!(source, PortfolioSource::Database, "{}: a damaged file is not used", t.label);
    assert_eq!(fresh.last_activity(two).await.unwrap(), Some(today), "{}", t.label);
    let _ = std::fs::remove_file(&saved);
    drop(writer);
    t.finish().await;
}
