//! The feature catalog and usage queries through real HTTP, on SQLite and (with
//! TEST_DATABASE_URL) PostgreSQL: events go in through the tracking API, usage comes out of
//! the REST API.

use crate::common::Server;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use store::testing::TestStore;
use test_macros::store_test;

fn payslip() -> Value {
    json!({"key": "payslip", "name": "給与明細", "event": "Payslip Published", "cadence": "monthly", "importance": "core"})
}

fn year_end() -> Value {
    json!({"key": "year_end", "name": "年末調整", "event": "YEA Submitted", "cadence": "annual", "season": "11-01..01-31", "importance": "core"})
}

#[store_test]
async fn the_catalog_api_validates_every_field_and_round_trips(t: TestStore) {
    let server = Server::start(&t).await;
    let (status, problem) = server
        .post("/api/v1/features", json!({"key": "Bad Key", "event": "e", "cadence": "annual", "importance": "vital"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{}", t.label);
    let fields: Vec<&str> = problem["errors"].as_array().unwrap().iter().filter_map(|e| e["field"].as_str()).collect();
    for field in ["key", "name", "importance", "season"] {
        assert!(fields.contains(&field), "{field} in {fields:?}");
    }
    let (status, created) = server.post("/api/v1/features", year_end()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["season"], "11-01..01-31");
    assert_eq!(server.post("/api/v1/features", year_end()).await.0, StatusCode::CONFLICT);
    let (status, patched) =
        server.send(Method::PATCH, "/api/v1/features/year_end", Some(json!({"importance": "supporting"}))).await;
    assert_eq!((status, patched["importance"].as_str()), (StatusCode::OK, Some("supporting")), "{patched}");
    let (_, list) = server.get("/api/v1/features").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(server.get("/api/v1/features/nope").await.0, StatusCode::NOT_FOUND);
    assert_eq!(server.send(Method::DELETE, "/api/v1/features/year_end", None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(server.get("/api/v1/features/year_end").await.0, StatusCode::NOT_FOUND);
    let (_, audit) = server.get("/api/v1/audit?entity=feature").await;
    assert_eq!(audit["items"].as_array().map(Vec::len), Some(3), "create, update and delete are audited: {audit}");
    drop(server);
    t.finish().await;
}

#[store_test]
async fn tracked_events_show_up_as_feature_usage_activity_and_adoption(t: TestStore) {
    let server = Server::start(&t).await;
    let key = server.write_key().await;
    server.post("/api/v1/features", payslip()).await;
    server.post("/api/v1/features", year_end()).await;
    let (_, account) =
        server.post("/api/v1/accounts", json!({"external_id": "ACC-1", "name": "Acme", "employees": 4})).await;
    let id = account["id"].as_i64().unwrap();
    let mut batch = vec![
        json!({"type": "group", "userId": "u1", "groupId": "ACC-1", "timestamp": "2025-09-01T00:00:00Z"}),
        json!({"type": "group", "userId": "u2", "groupId": "ACC-1", "timestamp": "2025-09-01T00:00:00Z"}),
    ];
    for (n, month) in ["2026-08", "2026-09", "2026-10"].iter().enumerate() {
        batch.push(json!({"type": "track", "messageId": format!("p{n}"), "userId": "u1", "event": "Payslip Published",
            "timestamp": format!("{month}-25T03:00:00Z")}));
    }
    batch.push(json!({"type": "track", "messageId": "y1", "userId": "u2", "event": "YEA Submitted", "timestamp": "2025-11-20T03:00:00Z"}));
    batch.push(json!({"type": "track", "messageId": "l1", "userId": "u2", "event": "Logged In", "timestamp": "2026-11-20T03:00:00Z"}));
    let (status, body) = server.track(&key, "/v1/batch", json!({"batch": batch})).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, usage) = server
        .get(&format!("/api/v1/accounts/{id}/usage?from=2026-08-01&to=2026-10-31&interval=month&feature=payslip"))
        .await;
    assert_eq!(status, StatusCode::OK, "{usage}");
    assert_eq!(
        usage["series"][0]["points"],
        json!([["2026-08-01", 1], ["2026-09-01", 1], ["2026-10-01", 1]]),
        "{}",
        t.label
    );

    let (_, features) = server.get(&format!("/api/v1/accounts/{id}/usage/features?as_of=2026-11-21&periods=4")).await;
    let by_key = |k: &str| features.as_array().unwrap().iter().find(|f| f["feature"] == k).unwrap().clone();
    let monthly = by_key("payslip");
    let used: Vec<i64> = monthly["periods"].as_array().unwrap().iter().map(|p| p["uses"].as_i64().unwrap()).collect();
    assert_eq!(used, vec![1, 1, 1, 0], "{monthly}");
    assert_eq!(monthly["last_used"], "2026-10-25");
    let season = &by_key("year_end")["season"];
    assert_eq!(
        (season["started"].as_bool(), season["uses_this_season"].as_i64(), season["uses_last_season"].as_i64()),
        (Some(true), Some(0), Some(1)),
        "used last season, not yet this one: {season}"
    );

    let (_, activity) =
        server.get(&format!("/api/v1/accounts/{id}/usage/activity?as_of=2026-11-21&from=2026-08-01")).await;
    assert_eq!(activity["active_users_7d"], 1, "{activity}");
    assert_eq!(activity["window"]["active_users"], 2, "{activity}");
    assert_eq!((activity["seats"].as_i64(), activity["seat_activation"].as_f64()), (Some(4), Some(0.5)), "{activity}");
    assert_eq!(activity["end_users"], 2);

    let (_, events) =
        server.get(&format!("/api/v1/accounts/{id}/usage/events?from=2026-11-01&to=2026-11-30&interval=week")).await;
    assert_eq!(events["series"][0]["key"], "Logged In", "{events}");

    let (_, adoption) = server.get("/api/v1/usage/adoption?from=2026-08-01&to=2026-10-31").await;
    let payslip_row = adoption.as_array().unwrap().iter().find(|r| r["feature"] == "payslip").unwrap();
    assert_eq!(payslip_row["accounts_using"], 1, "{adoption}");

    let (_, people) = server.get(&format!("/api/v1/accounts/{id}/end-users")).await;
    assert_eq!(people.as_array().map(Vec::len), Some(2));
    drop(server);
    t.finish().await;
}

#[store_test]
async fn usage_queries_refuse_bad_windows_and_unknown_accounts(t: TestStore) {
    let server = Server::start(&t).await;
    let (_, account) = server.post("/api/v1/accounts", json!({"external_id": "ACC-1", "name": "Acme"})).await;
    let id = account["id"].as_i64().unwrap();
    let (status, problem) =
        server.get(&format!("/api/v1/accounts/{id}/usage?from=2026-10-01&to=2026-09-01&interval=year")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let fields: Vec<&str> = problem["errors"].as_array().unwrap().iter().filter_map(|e| e["field"].as_str()).collect();
    assert_eq!(fields, vec!["interval", "to"]);
    assert_eq!(
        server.get(&format!("/api/v1/accounts/{id}/usage?feature=missing")).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(server.get("/api/v1/accounts/999999/usage/activity").await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        server.get(&format!("/api/v1/accounts/{id}/usage/features?periods=0")).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    drop(server);
    t.finish().await;
}
