//! The holes an attacker found, each closed and kept closed, through real HTTP on SQLite and
//! (with TEST_DATABASE_URL) PostgreSQL: concurrent sign-in guesses, the lock shared by nodes,
//! NUL characters, concurrent imports on SQLite, unbounded ranges, oversized rules and tracking
//! bodies, token scopes, password changes, timeline authorship, login CSRF, path errors.

use crate::common::{create_user, read, staff, Server, PASSWORD};
use domain::access::{Role, Scope};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use store::testing::TestStore;
use test_macros::store_test;

async fn sign_in_status(server: &Server, email: &str, password: &str) -> StatusCode {
    let response = server
        .anonymous
        .post(server.url("/api/v1/session"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    response.status()
}

#[store_test]
async fn two_hundred_simultaneous_guesses_check_only_five_passwords_even_the_right_one(t: TestStore) {
    let server = Server::start(&t).await;
    create_user(&server.app, "target@k.example", Role::Viewer).await;
    let mut guesses = tokio::task::JoinSet::new();
    for i in 0..200 {
        let password = if i == 150 { PASSWORD.to_owned() } else { format!("wrong guess {i}") };
        let (client, url) = (server.anonymous.clone(), server.url("/api/v1/session"));
        guesses.spawn(async move {
            let body = json!({"email": "target@k.example", "password": password});
            client.post(url).json(&body).send().await.unwrap().status()
        });
    }
    let statuses: Vec<StatusCode> = guesses.join_all().await;
    let checked = statuses.iter().filter(|s| **s != StatusCode::TOO_MANY_REQUESTS).count();
    assert!(checked <= 5, "{} of 200 guesses were checked ({})", checked, t.label);
    drop(server);
    t.finish().await;
}

#[store_test]
async fn the_sign_in_lock_is_shared_by_every_node_on_the_database(t: TestStore) {
    let first = Server::start(&t).await;
    let second = Server::start(&t).await;
    create_user(&first.app, "shared@k.example", Role::Viewer).await;
    for node in [&first, &second, &first, &second, &first] {
        assert_eq!(sign_in_status(node, "shared@k.example", "wrong password").await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        sign_in_status(&second, "shared@k.example", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "five failures across two nodes lock the email ({})",
        t.label
    );
    drop((first, second));
    t.finish().await;
}

#[store_test]
async fn nul_characters_are_refused_at_the_edge_naming_the_field(t: TestStore) {
    let server = Server::start(&t).await;
    let (status, problem) = server.post("/api/v1/accounts", json!({"external_id": "N1", "name": "a\u{0}b"})).await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("name")));
    assert_eq!(problem["errors"][0]["code"], "contains_nul", "{problem}");
    let (status, problem) = server
        .post("/api/v1/accounts", json!({"external_id": "N2", "name": "ok", "custom": {"region": "\u{0}"}}))
        .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("custom.region"))
    );
    let sign_in = server
        .anonymous
        .post(server.url("/api/v1/session"))
        .json(&json!({"email": "a\u{0}@k.example", "password": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(sign_in.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = server.get("/api/v1/accounts?q=%00").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{}", t.label);
    let key = server.write_key().await;
    let (status, problem) = server
        .track(
            &key,
            "/v1/batch",
            json!({"batch": [{"type": "identify", "userId": "u1", "traits": {"name": "x\u{0}"}}]}),
        )
        .await;
    assert_eq!((status, problem["refused"].as_u64()), (StatusCode::OK, Some(1)), "{problem}");
    let (_, refused) = server.get("/api/v1/tracking/refused").await;
    assert_eq!(
        (refused[0]["field"].as_str(), refused[0]["code"].as_str()),
        (Some("batch[0].traits"), Some("contains_nul"))
    );
    let (status, problem) =
        server.track(&key, "/v1/identify", json!({"userId": "u1", "traits": {"name": "x\u{0}"}})).await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("traits.name")));
    let form = server
        .anonymous
        .post(server.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=a%00&password=x")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (_, accounts) = server.get("/api/v1/accounts").await;
    assert_eq!(accounts["total"], 0, "nothing was written");
    drop(server);
    t.finish().await;
}

#[store_test]
async fn two_imports_at_once_both_land_and_neither_answers_500(t: TestStore) {
    let server = Server::start(&t).await;
    let file = |prefix: &str| {
        let mut csv = String::from("account_id,name\n");
        for i in 0..4000 {
            csv.push_str(&format!("{prefix}-{i:05},{prefix} 株式会社 {i}\n"));
        }
        csv.into_bytes()
    };
    let (a, b) = tokio::join!(server.upload("accounts", file("A")), server.upload("accounts", file("B")));
    assert_eq!((a.0, b.0), (StatusCode::OK, StatusCode::OK), "{} / {} ({})", a.1, b.1, t.label);
    let (_, accounts) = server.get("/api/v1/accounts?limit=1").await;
    assert_eq!(accounts["total"], 8000);
    drop(server);
    t.finish().await;
}

#[store_test]
async fn ranges_are_limited_in_their_number_of_periods(t: TestStore) {
    let server = Server::start(&t).await;
    for path in [
        "/api/v1/metrics/report?from=1900-01-01&to=2199-12-31&interval=day",
        "/api/v1/metrics/unit-economics?from=1900-01-01&to=2199-12-31&interval=week",
        "/api/v1/metrics/cohorts?from=1900-01&to=2199-12",
        "/api/v1/health/backtest?from=1900-01-01&to=2199-12-31",
    ] {
        let (status, problem) = server.get(path).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {problem}");
        assert_eq!(problem["errors"][0]["code"], "too_many_periods", "{path}: {problem}");
    }
    let (status, _) = server.get("/api/v1/metrics/report?from=2020-01-01&to=2025-12-31&interval=day").await;
    assert_eq!(status, StatusCode::OK, "six years of days is fine");
    drop(server);
    t.finish().await;
}

#[tokio::test]
async fn a_segment_preview_refuses_a_rule_longer_than_a_saved_one_may_be() {
    let t = store::testing::sqlite_store().await;
    let server = Server::start(&t).await;
    let rule = format!("arr > 0{}", " and arr > 0".repeat(1000));
    let (status, problem) = server.post("/api/v1/segments/preview", json!({"rule": rule})).await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("rule")));
    drop(server);
    t.finish().await;
}

#[tokio::test]
async fn the_tracking_api_checks_the_key_first_and_stops_reading_at_its_limit() {
    let t = store::testing::sqlite_store().await;
    let server = Server::start(&t).await;
    let huge = vec![b' '; 2 * 1024 * 1024];
    let send = |key: &str| {
        use base64::Engine;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{key}:"));
        server
            .anonymous
            .post(server.url("/v1/batch"))
            .header("authorization", format!("Basic {basic}"))
            .header("content-type", "application/json")
            .body(huge.clone())
    };
    let unknown = send("kzw_unknown").send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED, "a bad key is refused before the body is read");
    let key = server.write_key().await;
    let too_large = send(&key).send().await.unwrap();
    assert_eq!(too_large.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(too_large.headers()["content-type"], "application/problem+json");
    drop(server);
    t.finish().await;
}

#[store_test]
async fn a_read_token_changes_nothing_and_passwords_change_only_in_a_session(t: TestStore) {
    let server = Server::start(&t).await;
    let admin =
        server.app.store().user_by_email(&domain::Email::parse("admin@k.example").unwrap()).await.unwrap().unwrap();
    let (_, read_token) =
        server.app.create_api_token(&staff(&server.app, admin.id).await, "read", Scope::Read).await.unwrap();
    let (_, write_token) =
        server.app.create_api_token(&staff(&server.app, admin.id).await, "write", Scope::Write).await.unwrap();
    let other = create_user(&server.app, "other@k.example", Role::Csm).await;
    let (theirs, _) =
        server.app.create_api_token(&staff(&server.app, other).await, "theirs", Scope::Read).await.unwrap();
    let as_token = |token: &str, method: Method, path: &str, body: Value| {
        server.anonymous.request(method, server.url(path)).bearer_auth(token).json(&body)
    };
    let revoke = as_token(&read_token, Method::DELETE, &format!("/api/v1/tokens/{}", theirs.id), json!({}));
    assert_eq!(revoke.send().await.unwrap().status(), StatusCode::FORBIDDEN, "a read token revokes nothing");
    let revoke = as_token(&write_token, Method::DELETE, &format!("/api/v1/tokens/{}", theirs.id), json!({}));
    assert_eq!(revoke.send().await.unwrap().status(), StatusCode::FORBIDDEN, "another's token needs admin scope");
    let change = json!({"current_password": PASSWORD, "new_password": "a brand new passphrase"});
    for token in [&read_token, &write_token] {
        let response = as_token(token, Method::POST, "/api/v1/me/password", change.clone()).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "tokens cannot change passwords");
    }

    let (_, browser) = server.browser("changer@k.example", Role::Viewer).await;
    let changer =
        server.app.store().user_by_email(&domain::Email::parse("changer@k.example").unwrap()).await.unwrap().unwrap();
    let (_, own_token) =
        server.app.create_api_token(&staff(&server.app, changer.id).await, "mine", Scope::Read).await.unwrap();
    for _ in 0..5 {
        let wrong = json!({"current_password": "not my password", "new_password": "a brand new passphrase"});
        let (status, _) = server.as_browser(&browser, Method::POST, "/api/v1/me/password", Some(wrong)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let (status, _) = server.as_browser(&browser, Method::POST, "/api/v1/me/password", Some(change.clone())).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "guessing the current password is throttled ({})", t.label);

    let (_, fresh) = server.browser("fresh@k.example", Role::Viewer).await;
    let fresh_user =
        server.app.store().user_by_email(&domain::Email::parse("fresh@k.example").unwrap()).await.unwrap().unwrap();
    let (_, fresh_token) =
        server.app.create_api_token(&staff(&server.app, fresh_user.id).await, "mine", Scope::Read).await.unwrap();
    let (status, session) = server.as_browser(&fresh, Method::POST, "/api/v1/me/password", Some(change)).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let used = server.anonymous.get(server.url("/api/v1/me")).bearer_auth(&fresh_token).send().await.unwrap();
    assert_eq!(used.status(), StatusCode::UNAUTHORIZED, "a password change revokes the user's tokens");
    let old_session = server.as_browser(&fresh, Method::GET, "/api/v1/me", None).await.0;
    assert_eq!(old_session, StatusCode::UNAUTHORIZED, "and ends their other sessions");
    let kept = server.anonymous.get(server.url("/api/v1/me")).bearer_auth(&own_token).send().await.unwrap();
    assert_eq!(kept.status(), StatusCode::OK, "another user's tokens are untouched");
    drop(server);
    t.finish().await;
}

#[store_test]
async fn a_timeline_entry_is_written_by_its_actor_and_never_as_the_system(t: TestStore) {
    let server = Server::start(&t).await;
    let (csm, browser) = server.browser("csm@k.example", Role::Csm).await;
    let other = create_user(&server.app, "other@k.example", Role::Csm).await;
    let (status, account) =
        server.post("/api/v1/accounts", json!({"external_id": "T1", "name": "Timeline", "owner_id": csm.0})).await;
    assert_eq!(status, StatusCode::CREATED, "{account}");
    let entry = |kind: &str, author: Option<i64>| {
        let mut body = json!({"account_id": account["id"], "kind": kind, "title": "x"});
        if let Some(author) = author {
            body["author_id"] = json!(author);
        }
        body
    };
    let (status, problem) =
        server.as_browser(&browser, Method::POST, "/api/v1/timeline", Some(entry("note", Some(other.0)))).await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("author_id")));
    let (status, problem) =
        server.as_browser(&browser, Method::POST, "/api/v1/timeline", Some(entry("system", None))).await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("kind")));
    let (status, created) =
        server.as_browser(&browser, Method::POST, "/api/v1/timeline", Some(entry("note", None))).await;
    assert_eq!((status, created["author_id"].as_i64()), (StatusCode::CREATED, Some(csm.0)), "{}", t.label);
    drop(server);
    t.finish().await;
}

#[tokio::test]
async fn the_login_form_needs_its_own_token_and_bad_path_ids_answer_problem_json() {
    let t = store::testing::sqlite_store().await;
    let server = Server::start(&t).await;
    create_user(&server.app, "aki@k.example", Role::Viewer).await;
    let forged = server
        .anonymous
        .post(server.url("/login"))
        .form(&[("email", "aki@k.example"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN, "a form posted from elsewhere does not sign in");
    assert!(forged.headers().get("set-cookie").is_some_and(|c| c.to_str().unwrap().starts_with("kizuna_login=")));

    for (method, path) in [
        (Method::GET, "/api/v1/accounts/abc"),
        (Method::GET, "/api/v1/accounts/99999999999999999999"),
        (Method::DELETE, "/api/v1/tokens/x"),
    ] {
        let response = server.client.request(method, server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(response.headers()["content-type"], "application/problem+json", "{path}");
        let (_, problem) = read(response).await;
        assert_eq!(problem["type"], "https://kizuna.dev/problems/bad-path");
    }
    let tokens = server.client.get(server.url("/api/v1/tokens")).send().await.unwrap();
    assert_eq!(tokens.headers()["cache-control"], "no-store");
    drop(server);
    t.finish().await;
}
