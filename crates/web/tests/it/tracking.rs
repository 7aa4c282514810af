//! The Segment-compatible tracking API through real HTTP, on SQLite and (with
//! TEST_DATABASE_URL) PostgreSQL.

use crate::common;
use crate::common::Server;
use base64::Engine;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::io::Write;
use store::testing::TestStore;
use test_macros::store_test;

#[store_test]
async fn a_track_call_is_stored_once_on_the_account_named_by_its_context(t: TestStore) {
    let server = Server::start(&t).await;
    let key = server.write_key().await;
    let (_, account) = server.post("/api/v1/accounts", json!({"external_id": "ACC-1", "name": "Acme"})).await;
    let event = json!({"userId": "u1", "event": "Payslip Sent", "messageId": "m-1", "context": {"groupId": "ACC-1"},
        "timestamp": "2025-01-10T09:00:00Z"});
    let (status, body) = server.track(&key, "/v1/track", event.clone()).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"success": true, "accepted": 1, "refused": 0})), "{}", t.label);
    assert_eq!(server.track(&key, "/v1/track", event).await.0, StatusCode::OK, "a retry is acknowledged");
    let stored = server.app.store().events(None, 10).await.unwrap();
    assert_eq!(stored.len(), 1, "the same messageId counts once");
    assert_eq!(stored[0].account_id.map(|a| a.0), account["id"].as_i64());
    assert_eq!(stored[0].event.as_deref(), Some("Payslip Sent"));
    drop(server);
    t.finish().await;
}

#[store_test]
async fn events_before_a_group_call_are_kept_and_attributed_when_the_user_is_grouped(t: TestStore) {
    let server = Server::start(&t).await;
    let key = server.write_key().await;
    server
        .track(
            &key,
            "/v1/identify",
            json!({"userId": "u9", "traits": {"email": "Hana@Customer.example", "name": "花子"}}),
        )
        .await;
    server.track(&key, "/v1/track", json!({"userId": "u9", "event": "Login", "messageId": "early"})).await;
    assert_eq!(server.app.store().events(None, 10).await.unwrap().iter().filter(|e| e.account_id.is_none()).count(), 2);
    let group = json!({"userId": "u9", "groupId": "NEW-7", "messageId": "g1",
        "traits": {"name": "株式会社ニュー", "employees": 120, "plan": "business", "industry": "小売"}});
    assert_eq!(server.track(&key, "/v1/group", group).await.0, StatusCode::OK);
    let (_, found) = server.get("/api/v1/accounts?q=ニュー").await;
    let account = &found["items"][0];
    assert_eq!(
        (account["external_id"].as_str(), account["employees"].as_i64()),
        (Some("NEW-7"), Some(120)),
        "{}: {found}",
        t.label
    );
    assert_eq!((account["industry"].as_str(), account["custom"]["plan"].as_str()), (Some("小売"), Some("business")));
    let stored = server.app.store().events(None, 10).await.unwrap();
    assert!(stored.iter().all(|e| e.account_id.map(|a| a.0) == account["id"].as_i64()), "all attributed: {stored:?}");
    server.track(&key, "/v1/track", json!({"userId": "u9", "event": "Export"})).await;
    let last = server.app.store().events(None, 10).await.unwrap().pop().unwrap();
    assert_eq!(last.account_id.map(|a| a.0), account["id"].as_i64(), "later events follow the user's latest group");
    drop(server);
    t.finish().await;
}

#[store_test]
async fn gzip_batches_labelled_as_form_data_are_decoded_and_share_their_context(t: TestStore) {
    let server = Server::start(&t).await;
    let key = server.write_key().await;
    server.post("/api/v1/accounts", json!({"external_id": "ACC-2", "name": "Beta"})).await;
    let batch = json!({"writeKey": key, "sentAt": "2025-01-10T00:00:00Z", "context": {"groupId": "ACC-2", "library": {"name": "rudder"}},
    "batch": [
        {"type": "track", "userId": "u1", "event": "A", "messageId": "b1", "timestamp": "2025-01-10T00:00:00Z"},
        {"type": "page", "anonymousId": "anon", "name": "Home", "messageId": "b2"}
    ]});
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(batch.to_string().as_bytes()).unwrap();
    let response = server
        .anonymous
        .post(server.url("/v1/batch"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("content-encoding", "gzip")
        .body(gzip.finish().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{}", t.label);
    let stored = server.app.store().events(None, 10).await.unwrap();
    assert_eq!(stored.len(), 2);
    assert!(stored.iter().all(|e| e.account_id.is_some()), "the batch context's groupId attributes both: {stored:?}");
    drop(server);
    t.finish().await;
}

#[store_test]
async fn bad_keys_bad_messages_and_oversized_bodies_are_refused_with_the_reason(t: TestStore) {
    let server = Server::start(&t).await;
    let key = server.write_key().await;
    assert_eq!(
        server.track("kzw_unknown", "/v1/track", json!({"userId": "u", "event": "x"})).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, problem) = server.track(&key, "/v1/track", json!({"userId": "u"})).await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("event")),
        "{}",
        t.label
    );
    let (status, problem) = server.track(&key, "/v1/group", json!({"userId": "u"})).await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("groupId")));
    let (status, problem) = server
        .track(
            &key,
            "/v1/batch",
            json!({"batch": [{"type": "track", "userId": "u", "event": "ok"}, {"type": "identify"}]}),
        )
        .await;
    assert_eq!(
        (status, problem["accepted"].as_u64(), problem["refused"].as_u64()),
        (StatusCode::OK, Some(1), Some(1)),
        "a batch stores its valid messages and refuses only the bad one: {problem}"
    );
    let (_, refused) = server.get("/api/v1/tracking/refused").await;
    let fields: Vec<&str> = refused.as_array().unwrap().iter().map(|r| r["field"].as_str().unwrap()).collect();
    assert_eq!(fields, vec!["batch[1].userId", "groupId", "event"], "every refused message is in the debugger");
    assert_eq!(refused[0]["reason_en"], "is required");
    assert!(refused[0]["key_prefix"].as_str().is_some_and(|p| key.starts_with(p)));
    let big = "x".repeat(40 * 1024);
    let (status, problem) =
        server.track(&key, "/v1/track", json!({"userId": "u", "event": "big", "properties": {"blob": big}})).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{problem}");
    let batch: Vec<Value> = (0..20).map(|i| json!({"type": "track", "userId": "u", "event": "e", "messageId": i, "properties": {"blob": "y".repeat(30_000)}})).collect();
    assert_eq!(server.track(&key, "/v1/batch", json!({"batch": batch})).await.0, StatusCode::PAYLOAD_TOO_LARGE);
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{key}:"));
    let malformed = server
        .anonymous
        .post(server.url("/v1/track"))
        .header("authorization", format!("Basic {basic}"))
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let stored: Vec<String> =
        server.app.store().events(None, 10).await.unwrap().into_iter().filter_map(|e| e.event).collect();
    assert_eq!(stored, vec!["ok".to_string()], "only the valid message was stored");
    drop(server);
    t.finish().await;
}

#[store_test]
async fn a_full_ingest_queue_answers_429_with_retry_after_and_every_acknowledged_event_is_stored(t: TestStore) {
    let server = Server::start(&t).await;
    let key = server.write_key().await;
    let blocker = t.block_ingest().await;
    let mut requests = tokio::task::JoinSet::new();
    for n in 0..800 {
        let (client, url, key) = (server.anonymous.clone(), server.url("/v1/track"), key.clone());
        requests.spawn(async move {
            let event = json!({"userId": "u1", "event": "Clicked", "messageId": format!("m-{n}")});
            let response = client.post(url).basic_auth(key, Some("")).json(&event).send().await.unwrap();
            (n, response.status(), response.headers().get("retry-after").cloned())
        });
    }
    // Refused requests answer at once, while the accepted ones wait for the blocked writer.
    let mut refused = 0;
    while refused == 0 {
        let next = tokio::time::timeout(std::time::Duration::from_secs(60), requests.join_next());
        let (_, status, retry_after) =
            next.await.expect("a refused request answers while ingest is blocked").unwrap().unwrap();
        assert_eq!(
            status,
            StatusCode::TOO_MANY_REQUESTS,
            "{}: nothing can be acknowledged while ingest is blocked",
            t.label
        );
        assert!(retry_after.is_some(), "429 says when to retry");
        refused += 1;
    }
    blocker.release().await;
    let mut acknowledged = Vec::new();
    while let Some(done) = requests.join_next().await {
        let (n, status, _) = done.unwrap();
        match status {
            StatusCode::OK => acknowledged.push(format!("m-{n}")),
            StatusCode::TOO_MANY_REQUESTS => refused += 1,
            other => panic!("{}: unexpected {other}", t.label),
        }
    }
    let stored: Vec<String> =
        server.app.store().events(None, 10_000).await.unwrap().into_iter().map(|e| e.message_id).collect();
    acknowledged.sort();
    let mut stored_sorted = stored.clone();
    stored_sorted.sort();
    assert_eq!(
        stored_sorted, acknowledged,
        "{}: exactly the acknowledged events are stored ({refused} refused)",
        t.label
    );
    drop(server);
    t.finish().await;
}

#[tokio::test]
async fn every_tracking_error_carries_the_code_and_message_the_official_clients_read() {
    let t = store::testing::sqlite_store().await;
    let server = Server::start(&t).await;
    let key = server.write_key().await;
    let (_, keys) = server.get("/api/v1/write-keys").await;
    server.send(reqwest::Method::DELETE, &format!("/api/v1/write-keys/{}", keys[0]["id"]), None).await;
    let (status, revoked) = server.track(&key, "/v1/track", json!({"userId": "u", "event": "x"})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(revoked["code"], "unauthenticated", "{revoked}");
    assert!(revoked["message"].as_str().is_some_and(|m| !m.is_empty()), "{revoked}");
    let live = server.write_key().await;
    let (status, bad) = server.track(&live, "/v1/track", json!({"userId": "u"})).await;
    assert_eq!((status, bad["code"].as_str()), (StatusCode::BAD_REQUEST, Some("bad-message")), "{bad}");
    assert!(bad["message"].as_str().unwrap().contains("event"), "{bad}");
    drop(server);
    t.finish().await;
}

#[store_test]
async fn a_rudderstack_identify_with_traits_in_its_context_stores_the_email(t: TestStore) {
    let server = Server::start(&t).await;
    let key = server.write_key().await;
    let (_, account) = server.post("/api/v1/accounts", json!({"external_id": "ACC-R", "name": "Rudder"})).await;
    let group = json!({"type": "group", "userId": "r1", "groupId": "ACC-R"});
    let identify = json!({"type": "identify", "userId": "r1",
        "context": {"traits": {"email": "r1@rudder.example", "name": "R One"}}});
    let (status, answer) = server.track(&key, "/v1/batch", json!({"batch": [group, identify]})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (_, users) = server.get(&format!("/api/v1/accounts/{}/end-users", account["id"])).await;
    assert_eq!(users[0]["email"], "r1@rudder.example", "{users} ({})", t.label);
    drop(server);
    t.finish().await;
}

/// Sends a batch with the write key in the body (as analytics.js does) from a browser `origin`.
async fn batch_from(server: &Server, key: &str, origin: Option<&str>, batch: Value) -> (StatusCode, Value) {
    let mut request = server.anonymous.post(server.url("/v1/batch")).header("accept-language", "en");
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    common::read(request.json(&json!({"writeKey": key, "batch": batch})).send().await.unwrap()).await
}

#[store_test]
async fn a_write_key_limited_to_origins_refuses_other_browsers_and_accepts_servers(t: TestStore) {
    let server = Server::start(&t).await;
    let (status, bad) = server
        .post("/api/v1/write-keys", json!({"name": "web", "allowed_origins": ["https://app.example.com/path"]}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    assert!(bad.to_string().contains("allowed_origins"), "{bad}");
    let (status, created) =
        server.post("/api/v1/write-keys", json!({"name": "web", "allowed_origins": ["https://App.example.com"]})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["write_key"]["allowed_origins"], json!(["https://app.example.com"]));
    let key = created["secret"].as_str().unwrap().to_owned();
    let track = json!([{"type": "track", "userId": "u1", "event": "Opened"}]);
    let (status, refused) = batch_from(&server, &key, Some("https://evil.example"), track.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{} {refused}", t.label);
    assert_eq!(refused["code"], "origin-not-allowed", "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("https://evil.example"), "{refused}");
    // Basic auth is checked the same way.
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{key}:"));
    let response = server
        .anonymous
        .post(server.url("/v1/track"))
        .header("authorization", format!("Basic {basic}"))
        .header("origin", "https://evil.example")
        .json(&json!({"userId": "u1", "event": "Opened"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // A browser asks first (CORS preflight) and reads the answer only if it names its origin.
    let preflight = server
        .anonymous
        .request(reqwest::Method::OPTIONS, server.url("/v1/batch"))
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
    assert_eq!(preflight.headers()["access-control-allow-origin"], "https://app.example.com");
    assert!(preflight.headers()["access-control-allow-headers"].to_str().unwrap().contains("content-type"));
    assert!(preflight.headers().get("access-control-allow-credentials").is_none(), "no cookies ride along");
    let allowed = server
        .anonymous
        .post(server.url("/v1/batch"))
        .header("origin", "https://app.example.com")
        .json(&json!({"writeKey": key, "batch": track}))
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), StatusCode::OK);
    assert_eq!(allowed.headers()["access-control-allow-origin"], "https://app.example.com");
    assert_eq!(batch_from(&server, &key, None, track.clone()).await.0, StatusCode::OK, "servers send no Origin");
    // Editing the list takes effect at once on this node.
    let id = created["write_key"]["id"].as_i64().unwrap();
    let (status, bad) = server
        .send(reqwest::Method::PATCH, &format!("/api/v1/write-keys/{id}"), Some(json!({"allowed_origins": "x"})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    let many: Vec<String> = (0..21).map(|i| format!("https://a{i}.example")).collect();
    let (status, _) = server
        .send(reqwest::Method::PATCH, &format!("/api/v1/write-keys/{id}"), Some(json!({"allowed_origins": many})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, updated) = server
        .send(reqwest::Method::PATCH, &format!("/api/v1/write-keys/{id}"), Some(json!({"allowed_origins": []})))
        .await;
    assert_eq!((status, &updated["allowed_origins"]), (StatusCode::OK, &json!([])), "{updated}");
    assert_eq!(batch_from(&server, &key, Some("https://evil.example"), track).await.0, StatusCode::OK, "{}", t.label);
    drop(server);
    t.finish().await;
}

#[store_test]
async fn each_batch_counts_its_accepted_and_refused_messages_and_the_last_use_per_key(t: TestStore) {
    let server = Server::start(&t).await;
    let key = server.write_key().await;
    let _unused = server.write_key().await;
    let (_, keys) = server.get("/api/v1/write-keys").await;
    assert!(keys.as_array().unwrap().iter().all(|k| k["last_used_at"].is_null() && k["days"] == json!([])), "{keys}");
    let batch = json!([
        {"type": "track", "userId": "u1", "event": "Opened"},
        {"type": "track", "userId": "u1", "event": " "},
        {"type": "track", "userId": "u2", "event": "Closed"},
    ]);
    let before = chrono::Utc::now();
    let (status, body) = batch_from(&server, &key, None, batch).await;
    assert_eq!((status, body["accepted"].as_i64()), (StatusCode::OK, Some(2)), "{body}");
    assert_eq!(server.track(&key, "/v1/track", json!({"userId": "u3", "event": "Opened"})).await.0, StatusCode::OK);
    let (_, keys) = server.get("/api/v1/write-keys").await;
    let used: Vec<&Value> = keys.as_array().unwrap().iter().filter(|k| !k["last_used_at"].is_null()).collect();
    assert_eq!(used.len(), 1, "only the key that sent is used on {}: {keys}", t.label);
    let last: chrono::DateTime<chrono::Utc> = used[0]["last_used_at"].as_str().unwrap().parse().unwrap();
    assert!(last >= before - chrono::Duration::seconds(1), "{last}");
    let today = chrono::Utc::now().with_timezone(&server.app.zone()).date_naive().to_string();
    assert_eq!(used[0]["days"], json!([{"day": today, "accepted": 3, "refused": 1}]), "{}", t.label);
    drop(server);
    t.finish().await;
}

#[store_test]
async fn group_traits_change_only_the_fields_the_workspace_lets_tracking_win_and_each_change_is_audited(t: TestStore) {
    let server = Server::start(&t).await;
    let key = server.write_key().await;
    let (_, account) = server
        .post("/api/v1/accounts", json!({"external_id": "ACC-9", "name": "紅葉エナジー", "employees": 120}))
        .await;
    let id = account["id"].as_i64().unwrap();
    let group = |name: &str, plan: &str| {
        json!({"type": "group", "userId": "u9", "groupId": "ACC-9",
            "traits": {"name": name, "employees": 7, "industry": "Energy", "plan": plan}})
    };
    let (status, answer) = server.track(&key, "/v1/batch", json!({"batch": [group("ACC-9", "pro")]})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (_, after) = server.get(&format!("/api/v1/accounts/{id}")).await;
    assert_eq!((&after["name"], &after["employees"]), (&json!("紅葉エナジー"), &json!(120)), "{} {after}", t.label);
    assert_eq!((&after["industry"], &after["custom"]["plan"]), (&json!("Energy"), &json!("pro")), "{after}");
    let tracking_changes = |audit: &Value| -> Vec<Vec<String>> {
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["actor"] == "tracking")
            .map(|e| e["changes"].as_object().unwrap().keys().cloned().collect())
            .collect()
    };
    let (_, audit) = server.get(&format!("/api/v1/audit?entity=account&entity_id={id}")).await;
    assert_eq!(tracking_changes(&audit), [["custom.plan", "industry"]], "{audit}");
    let (_, again) = server.track(&key, "/v1/batch", json!({"batch": [group("ACC-9", "pro")]})).await;
    assert_eq!(again["accepted"], 1);
    let (_, audit) = server.get(&format!("/api/v1/audit?entity=account&entity_id={id}")).await;
    assert_eq!(tracking_changes(&audit).len(), 1, "a replay that changes nothing is not audited");

    let (_, mut settings) = server.get("/api/v1/settings").await;
    assert_eq!(settings["tracking_field_sources"]["name"], "imported", "{settings}");
    settings["tracking_field_sources"] = json!({"name": "tracking"});
    let (status, saved) = server.send(reqwest::Method::PUT, "/api/v1/settings", Some(settings.clone())).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["tracking_field_sources"]["plan"], "tracking", "fields not sent keep their source: {saved}");
    settings["tracking_field_sources"] = json!({"name": "crm"});
    let (status, refused) = server.send(reqwest::Method::PUT, "/api/v1/settings", Some(settings)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    server.track(&key, "/v1/batch", json!({"batch": [group("Momiji Energy", "pro")]})).await;
    let (_, after) = server.get(&format!("/api/v1/accounts/{id}")).await;
    assert_eq!((&after["name"], &after["employees"]), (&json!("Momiji Energy"), &json!(120)), "{after}");
    let (_, audit) = server.get(&format!("/api/v1/audit?entity=account&entity_id={id}")).await;
    assert_eq!(tracking_changes(&audit)[0], ["name"], "{audit}");
    drop(server);
    t.finish().await;
}
