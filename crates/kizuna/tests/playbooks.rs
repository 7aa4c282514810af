//! Playbook triggers run once per (playbook, account, occurrence) across restarts and with two
//! `kizuna serve` processes sharing one PostgreSQL database: both scan the same triggers at the
//! same time, one is restarted and scans again, and a local webhook receiver sees every step's
//! delivery exactly once. Needs TEST_DATABASE_URL (CI sets it); SQLite has a single writer.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use store::testing::TestDatabase;

const DEMO_ADMIN: &str = "kenichi.sato@kizuna-demo.example";
const PASSWORD: &str = "demo password for the playbook test";

struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn serve(dir: &Path, database: &str, demo: bool) -> (Running, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let listen = format!("127.0.0.1:{port}");
    let mut args = vec!["serve", "--listen", listen.as_str()];
    if demo {
        args.extend(["--demo", "--demo-accounts", "60"]);
    }
    let child = Command::new(env!("CARGO_BIN_EXE_kizuna"))
        .args(&args)
        .env("KIZUNA_DATA_DIR", dir)
        .env("KIZUNA_DATABASE_URL", database)
        .env("KIZUNA_DEMO_PASSWORD", PASSWORD)
        .env("KIZUNA_OUTBOUND_ALLOW", "127.0.0.1")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let running = Running(child);
    let base = format!("http://{listen}");
    let client = reqwest::Client::new();
    for _ in 0..900 {
        if client.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
            return (running, base);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("kizuna serve did not become healthy at {base}");
}

/// A signed-in API client: the session cookie and its CSRF token on every request.
async fn sign_in(base: &str) -> reqwest::Client {
    let response = reqwest::Client::new()
        .post(format!("{base}/api/v1/session"))
        .json(&serde_json::json!({"email": DEMO_ADMIN, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookie = response.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let session: serde_json::Value = response.json().await.unwrap();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("cookie", cookie.parse().unwrap());
    headers.insert("x-csrf-token", session["csrf_token"].as_str().unwrap().parse().unwrap());
    reqwest::Client::builder().default_headers(headers).build().unwrap()
}

/// Counts deliveries by their `X-Kizuna-Delivery` id (run and step).
async fn receiver() -> (String, Arc<Mutex<BTreeMap<String, usize>>>) {
    let deliveries = Arc::new(Mutex::new(BTreeMap::new()));
    let kept = deliveries.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap| {
            let kept = kept.clone();
            async move {
                let id = headers.get("x-kizuna-delivery").and_then(|v| v.to_str().ok()).unwrap_or("?").to_owned();
                *kept.lock().unwrap().entry(id).or_insert(0) += 1;
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}/hook"), deliveries)
}

async fn scan(client: &reqwest::Client, base: &str) {
    let response = client.post(format!("{base}/api/v1/playbooks/scan")).send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.text().await.unwrap_or_default());
}

#[tokio::test]
async fn two_servers_on_one_database_and_a_restart_run_each_trigger_once() {
    let Ok(admin) = std::env::var("TEST_DATABASE_URL") else {
        assert!(std::env::var_os("CI").is_none(), "CI sets TEST_DATABASE_URL");
        eprintln!("skipped: set TEST_DATABASE_URL to a PostgreSQL server to run this test");
        return;
    };
    let database = TestDatabase::create(&admin).await;
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (first, base_a) = serve(dir_a.path(), &database.url, true).await;
    let (_second, base_b) = serve(dir_b.path(), &database.url, false).await;
    let (client_a, client_b) = (sign_in(&base_a).await, sign_in(&base_b).await);
    let (hook, deliveries) = receiver().await;
    let playbook = serde_json::json!({
        "name": "Renewal webhook",
        "trigger": {"type": "renewal_within", "days": 120},
        "step": [{"action": "call_webhook", "url": hook, "secret": "a secret of sixteen or more"}]
    });
    let created: serde_json::Value =
        client_a.post(format!("{base_a}/api/v1/playbooks")).json(&playbook).send().await.unwrap().json().await.unwrap();
    let id = created["id"].as_i64().unwrap_or_else(|| panic!("{created}"));

    for _ in 0..3 {
        tokio::join!(scan(&client_a, &base_a), scan(&client_b, &base_b));
    }
    drop(first);
    let (_first_again, base_a) = serve(dir_a.path(), &database.url, false).await;
    let client_a = sign_in(&base_a).await;
    tokio::join!(scan(&client_a, &base_a), scan(&client_b, &base_b));

    let runs: serde_json::Value = client_b
        .get(format!("{base_b}/api/v1/playbooks/{id}/runs?limit=500"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let runs = runs.as_array().unwrap();
    assert!(!runs.is_empty(), "the demo has renewals within 120 days");
    let mut keys: Vec<(i64, String)> = runs
        .iter()
        .map(|r| (r["account_id"].as_i64().unwrap(), r["occurrence"].as_str().unwrap().to_owned()))
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), runs.len(), "one run per account and occurrence");
    let deliveries = deliveries.lock().unwrap().clone();
    assert_eq!(deliveries.len(), runs.len(), "every run's webhook step was delivered: {deliveries:?}");
    assert!(deliveries.values().all(|count| *count == 1), "and delivered once: {deliveries:?}");
    database.drop_database().await;
}
