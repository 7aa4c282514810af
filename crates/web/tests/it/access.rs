//! Who may do what, through real HTTP: every route of the route table, sessions and CSRF, API
//! token scopes and revocation, sign-in lockout, the one-time setup link, and the audit log.
//! On SQLite, and on PostgreSQL when TEST_DATABASE_URL is set.

use crate::common::{create_user, read, staff, Server, PASSWORD};
use domain::access::{permits, Access, Role, Scope};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use store::testing::TestStore;
use test_macros::store_test;
use web::auth::Surface;

fn concrete(path: &str) -> String {
    path.replace("{id}", "1").replace("{kind}", "accounts").replace("{token}", "setup_unknown")
}

#[store_test]
async fn every_route_refuses_strangers_and_under_privileged_users(t: TestStore) {
    let server = Server::start(&t).await;
    let (_, table) = web::routes::build(server.app.clone());
    let mut browsers = Vec::new();
    for role in [Role::Viewer, Role::Csm, Role::Manager] {
        browsers.push((role, server.browser(&format!("{}@k.example", role.as_str()), role).await.1));
    }
    let admin =
        server.app.store().user_by_email(&domain::Email::parse("admin@k.example").unwrap()).await.unwrap().unwrap();
    let (_, read_token) =
        server.app.create_api_token(&staff(&server.app, admin.id).await, "read", Scope::Read).await.unwrap();
    let mut checked = 0;
    for route in table.iter().filter(|r| r.access != Access::Public) {
        let path = concrete(&route.path);
        let anonymous = server.anonymous.request(route.method.clone(), server.url(&path)).send().await.unwrap();
        match route.surface {
            Surface::Api => assert_eq!(
                anonymous.status(),
                StatusCode::UNAUTHORIZED,
                "{} {} without credentials",
                route.method,
                route.path
            ),
            Surface::Page => {
                assert_eq!(anonymous.status(), StatusCode::SEE_OTHER, "{} {}", route.method, route.path);
                assert!(anonymous.headers()["location"].to_str().unwrap().starts_with("/login?next="));
            }
        }
        for (role, browser) in &browsers {
            if route.access == Access::Tracking {
                let (status, _) = server.as_browser(browser, route.method.clone(), &path, None).await;
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{} takes write keys, not sessions", route.path);
            } else if !permits(*role, None, route.access) {
                let (status, _) = server.as_browser(browser, route.method.clone(), &path, None).await;
                assert_eq!(status, StatusCode::FORBIDDEN, "{} {} as {}", route.method, route.path, role.as_str());
            }
        }
        if route.access != Access::Tracking && !permits(Role::Admin, Some(Scope::Read), route.access) {
            let response = server
                .anonymous
                .request(route.method.clone(), server.url(&path))
                .bearer_auth(&read_token)
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.status(),
                StatusCode::FORBIDDEN,
                "{} {} with a read-only token",
                route.method,
                route.path
            );
        }
        checked += 1;
    }
    assert!(checked > 50, "the walk covered the table: {checked}");
    drop(server);
    t.finish().await;
}

#[tokio::test]
async fn the_route_table_and_the_openapi_document_list_the_same_api_routes() {
    let t = store::testing::sqlite_store().await;
    let server = Server::start(&t).await;
    let (_, table) = web::routes::build(server.app.clone());
    let from_table: BTreeSet<(String, String)> = table
        .iter()
        .filter(|r| r.surface == Surface::Api && r.path != "/api/openapi.json")
        .map(|r| (r.method.as_str().to_lowercase(), r.path.to_owned()))
        .collect();
    let document: Value = serde_json::from_str(&web::openapi::document()).unwrap();
    let from_document: BTreeSet<(String, String)> = document["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, methods)| methods.as_object().unwrap().keys().map(move |m| (m.clone(), path.clone())))
        .collect();
    assert_eq!(from_table, from_document, "every API route is documented and every documented route is in the table");
    drop(server);
    t.finish().await;
}

#[store_test]
async fn cookie_sessions_need_the_csrf_token_to_change_anything_but_bearer_tokens_do_not(t: TestStore) {
    let server = Server::start(&t).await;
    let (_, browser) = server.browser("mgr@k.example", Role::Manager).await;
    let body = json!({"external_id": "A", "name": "Acme"});
    let without = server
        .anonymous
        .post(server.url("/api/v1/accounts"))
        .header("cookie", &browser.cookie)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(without.status(), StatusCode::FORBIDDEN, "{}", t.label);
    let wrong = server
        .anonymous
        .post(server.url("/api/v1/accounts"))
        .header("cookie", &browser.cookie)
        .header("x-csrf-token", "guess")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    let (status, _) = server.as_browser(&browser, Method::POST, "/api/v1/accounts", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = server.post("/api/v1/accounts", json!({"external_id": "B", "name": "Beta"})).await;
    assert_eq!(status, StatusCode::CREATED, "bearer tokens need no CSRF token");
    let reading =
        server.anonymous.get(server.url("/api/v1/accounts")).header("cookie", &browser.cookie).send().await.unwrap();
    assert_eq!(reading.status(), StatusCode::OK, "reads need no CSRF token");
    drop(server);
    t.finish().await;
}

#[store_test]
async fn sign_in_gives_one_answer_for_unknown_email_and_wrong_password_and_locks_after_five_failures(t: TestStore) {
    let server = Server::start(&t).await;
    create_user(&server.app, "aki@k.example", Role::Csm).await;
    let attempt = |email: &'static str, password: &'static str| {
        let request = server
            .anonymous
            .post(server.url("/api/v1/session"))
            .header("accept-language", "en")
            .json(&json!({"email": email, "password": password}));
        async move { read(request.send().await.unwrap()).await }
    };
    let (unknown_status, unknown) = attempt("nobody@k.example", "whatever it is").await;
    let (wrong_status, wrong) = attempt("aki@k.example", "not the password").await;
    assert_eq!((unknown_status, wrong_status), (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED));
    assert_eq!(unknown["title"], wrong["title"], "{}", t.label);
    for _ in 0..4 {
        attempt("aki@k.example", "not the password").await;
    }
    let (status, locked) = attempt("aki@k.example", PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "even the right password waits: {locked}");
    assert!(locked["detail"].as_str().unwrap().contains("try again in 15 minutes"), "{locked}");
    drop(server);
    t.finish().await;
}

#[store_test]
async fn token_scopes_limit_tokens_and_revoked_tokens_stop_working(t: TestStore) {
    let server = Server::start(&t).await;
    let (_, browser) = server.browser("csm@k.example", Role::Csm).await;
    let (status, created) = server
        .as_browser(&browser, Method::POST, "/api/v1/tokens", Some(json!({"name": "sheet", "scope": "read"})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(created["token"].get("token_hash").is_none(), "the hash is never shown");

    let with_token =
        |method: Method, path: &str| server.anonymous.request(method, server.url(path)).bearer_auth(&secret);
    assert_eq!(with_token(Method::GET, "/api/v1/accounts").send().await.unwrap().status(), StatusCode::OK);
    let write = with_token(Method::POST, "/api/v1/timeline")
        .json(&json!({"account_id": 1, "kind": "note", "title": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), StatusCode::FORBIDDEN, "a read token cannot write");
    let (_, tokens) = server.as_browser(&browser, Method::GET, "/api/v1/tokens", None).await;
    assert!(tokens[0]["last_used_at"].is_string(), "last use is recorded: {tokens}");

    let escalate = with_token(Method::POST, "/api/v1/tokens")
        .json(&json!({"name": "more", "scope": "admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(escalate.status(), StatusCode::FORBIDDEN, "a token cannot mint a wider token");

    let id = created["token"]["id"].as_i64().unwrap();
    let (status, revoked) = server.as_browser(&browser, Method::DELETE, &format!("/api/v1/tokens/{id}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(revoked["revoked_at"].is_string());
    assert_eq!(
        with_token(Method::GET, "/api/v1/accounts").send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED,
        "{}",
        t.label
    );
    drop(server);
    t.finish().await;
}

#[store_test]
async fn write_keys_are_shown_once_and_read_nothing(t: TestStore) {
    let server = Server::start(&t).await;
    let (status, created) = server.post("/api/v1/write-keys", json!({"name": "web app"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(server.app.write_key_valid(&secret).await.unwrap());
    let reading = server.anonymous.get(server.url("/api/v1/accounts")).bearer_auth(&secret).send().await.unwrap();
    assert_eq!(reading.status(), StatusCode::UNAUTHORIZED, "a write key is not an API token");
    let (_, keys) = server.get("/api/v1/write-keys").await;
    assert!(keys[0].get("secret").is_none() && keys[0]["prefix"].as_str().is_some_and(|p| secret.starts_with(p)));
    let id = created["write_key"]["id"].as_i64().unwrap();
    server.send(Method::DELETE, &format!("/api/v1/write-keys/{id}"), None).await;
    assert!(!server.app.write_key_valid(&secret).await.unwrap(), "{}", t.label);
    drop(server);
    t.finish().await;
}

#[store_test]
async fn csms_edit_the_accounts_they_own_or_sub_own_and_viewers_edit_nothing(t: TestStore) {
    let server = Server::start(&t).await;
    let (aki, aki_browser) = server.browser("aki@k.example", Role::Csm).await;
    let (ren, _) = server.browser("ren@k.example", Role::Csm).await;
    let (_, mine) =
        server.post("/api/v1/accounts", json!({"external_id": "M", "name": "Mine", "sub_owner_id": aki.0})).await;
    let (_, theirs) =
        server.post("/api/v1/accounts", json!({"external_id": "T", "name": "Theirs", "owner_id": ren.0})).await;
    let patch = |id: &Value| format!("/api/v1/accounts/{id}");
    let (status, _) =
        server.as_browser(&aki_browser, Method::PATCH, &patch(&mine["id"]), Some(json!({"stage": "adoption"}))).await;
    assert_eq!(status, StatusCode::OK, "{}", t.label);
    let (status, _) =
        server.as_browser(&aki_browser, Method::PATCH, &patch(&theirs["id"]), Some(json!({"stage": "adoption"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let note = |account: &Value| json!({"account_id": account["id"], "kind": "note", "title": "電話で確認"});
    assert_eq!(
        server.as_browser(&aki_browser, Method::POST, "/api/v1/timeline", Some(note(&mine))).await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        server.as_browser(&aki_browser, Method::POST, "/api/v1/timeline", Some(note(&theirs))).await.0,
        StatusCode::FORBIDDEN
    );
    drop(server);
    t.finish().await;
}

#[store_test]
async fn the_setup_link_creates_the_first_admin_once(t: TestStore) {
    let app = std::sync::Arc::new(app::App::start(t.store.clone(), Default::default()).await.unwrap());
    let token = app.setup_token_if_needed().await.unwrap().expect("nobody can sign in yet");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(web::serve(listener, app.clone(), web::WebOptions::default(), std::future::pending()));
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let form = [("email", "first@k.example"), ("name", "First Admin"), ("password", PASSWORD), ("lang", "en")];
    assert_eq!(client.get(format!("{base}/setup/{token}")).send().await.unwrap().status(), StatusCode::OK);
    let used = client.post(format!("{base}/setup/{token}")).form(&form).send().await.unwrap();
    assert_eq!(used.status(), StatusCode::SEE_OTHER, "{}", t.label);
    assert!(used.headers()["set-cookie"].to_str().unwrap().starts_with("kizuna_session="));
    let again = client
        .post(format!("{base}/setup/{token}"))
        .form(&[("email", "second@k.example"), ("name", "Second"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_FOUND, "the link works once");
    let admin = app.store().user_by_email(&domain::Email::parse("first@k.example").unwrap()).await.unwrap().unwrap();
    assert_eq!(admin.input.role, Role::Admin);
    assert!(app.store().user_by_email(&domain::Email::parse("second@k.example").unwrap()).await.unwrap().is_none());
    assert_eq!(app.setup_token_if_needed().await.unwrap(), None, "no new link once someone can sign in");
    t.finish().await;
}

#[store_test]
async fn the_audit_log_records_who_changed_which_fields_and_exports_csv(t: TestStore) {
    let server = Server::start(&t).await;
    let (_, account) =
        server.post("/api/v1/accounts", json!({"external_id": "A", "name": "Acme", "tier": "smb"})).await;
    let id = account["id"].as_i64().unwrap();
    server.send(Method::PATCH, &format!("/api/v1/accounts/{id}"), Some(json!({"tier": "mid"}))).await;
    server.send(Method::DELETE, &format!("/api/v1/accounts/{id}"), None).await;
    let (status, log) = server.get(&format!("/api/v1/audit?entity=account&entity_id={id}")).await;
    assert_eq!(status, StatusCode::OK);
    let actions: Vec<&str> = log["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["delete", "update", "create"], "{}", t.label);
    let update = &log["items"][1];
    assert_eq!(update["changes"], json!({"tier": {"old": "smb", "new": "mid"}}));
    assert_eq!(update["actor"], "admin@k.example (token tests)");
    let csv = server
        .client
        .get(server.url(&format!("/api/v1/audit/export?entity=account&entity_id={id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        csv.lines().any(|l| l.contains(",update,account,") && l.contains("tier,\"\"\"smb\"\"\",\"\"\"mid\"\"\"")),
        "{csv}"
    );
    drop(server);
    t.finish().await;
}

#[tokio::test]
async fn pages_redirect_to_sign_in_and_the_login_form_signs_in_and_out() {
    let t = store::testing::sqlite_store().await;
    let server = Server::start(&t).await;
    create_user(&server.app, "aki@k.example", Role::Viewer).await;
    let home = server.anonymous.get(server.url("/?lang=en")).send().await.unwrap();
    assert_eq!(home.headers()["location"], "/login?next=%2F%3Flang%3Den");
    let login = server.anonymous.get(server.url("/login?lang=en")).send().await.unwrap();
    let login_cookie = login.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let login_page = login.text().await.unwrap();
    assert!(login_page.contains("Sign in") && login_page.contains("name=\"password\""));
    let login_token =
        login_page.split("name=\"login_token\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let wrong = server
        .anonymous
        .post(server.url("/login"))
        .header("cookie", &login_cookie)
        .form(&[("email", "aki@k.example"), ("password", "nope"), ("lang", "ja"), ("login_token", &login_token)])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.text().await.unwrap().contains("メールアドレスまたはパスワードが違います"));
    let signed = server
        .anonymous
        .post(server.url("/login"))
        .header("cookie", &login_cookie)
        .form(&[
            ("email", "aki@k.example"),
            ("password", PASSWORD),
            ("next", "/?lang=en"),
            ("login_token", &login_token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!((signed.status(), signed.headers()["location"].to_str().unwrap()), (StatusCode::SEE_OTHER, "/?lang=en"));
    let set_cookie = signed
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("kizuna_session="))
        .unwrap();
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let page = server.anonymous.get(server.url("/?lang=en")).header("cookie", &cookie).send().await.unwrap();
    for header in ["content-security-policy", "x-frame-options", "x-content-type-options", "referrer-policy"] {
        assert!(page.headers().contains_key(header), "{header}");
    }
    let html = page.text().await.unwrap();
    let csrf = html.split("name=\"csrf_token\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let forged = server
        .anonymous
        .post(server.url("/logout"))
        .header("cookie", &cookie)
        .form(&[("csrf_token", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN, "logout without the CSRF token is refused");
    let out = server
        .anonymous
        .post(server.url("/logout"))
        .header("cookie", &cookie)
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let after = server.anonymous.get(server.url("/api/v1/me")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED, "the session ended");
    drop(server);
    t.finish().await;
}

#[store_test]
async fn changing_the_password_ends_other_sessions(t: TestStore) {
    let server = Server::start(&t).await;
    let (_, first) = server.browser("aki@k.example", Role::Viewer).await;
    let second = server.sign_in("aki@k.example").await;
    let body = json!({"current_password": PASSWORD, "new_password": "a brand new passphrase"});
    let (status, fresh) = server.as_browser(&first, Method::POST, "/api/v1/me/password", Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{fresh}");
    assert_eq!(
        server.as_browser(&second, Method::GET, "/api/v1/me", None).await.0,
        StatusCode::UNAUTHORIZED,
        "{}",
        t.label
    );
    let short = json!({"current_password": "a brand new passphrase", "new_password": "short"});
    let (status, _) = server
        .as_browser(
            &server.sign_in_with("aki@k.example", "a brand new passphrase").await,
            Method::POST,
            "/api/v1/me/password",
            Some(short),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    drop(server);
    t.finish().await;
}
