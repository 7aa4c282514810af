//! The `kizuna` binary as a user runs it: the shipped example files, export/import round trips,
//! and `serve --demo` answering over HTTP. Each test runs on SQLite, and on PostgreSQL when
//! TEST_DATABASE_URL is set.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use store::testing::TestDatabase;

struct Workspace {
    dir: tempfile::TempDir,
    database: Option<TestDatabase>,
}

impl Workspace {
    async fn all() -> Vec<Workspace> {
        let mut workspaces = vec![Workspace { dir: tempfile::tempdir().unwrap(), database: None }];
        if let Ok(admin) = std::env::var("TEST_DATABASE_URL") {
            workspaces.push(Workspace {
                dir: tempfile::tempdir().unwrap(),
                database: Some(TestDatabase::create(&admin).await),
            });
        }
        workspaces
    }

    fn label(&self) -> &'static str {
        if self.database.is_some() {
            "postgres"
        } else {
            "sqlite"
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_kizuna"));
        command.args(args).env("LANG", "C").env("KIZUNA_DATA_DIR", self.dir.path()).env_remove("DATABASE_URL");
        match &self.database {
            Some(db) => command.env("KIZUNA_DATABASE_URL", &db.url),
            None => command.env_remove("KIZUNA_DATABASE_URL"),
        };
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run kizuna")
    }

    async fn finish(self) {
        if let Some(db) = self.database {
            db.drop_database().await;
        }
    }
}

fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(name).display().to_string()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn example_files_import_and_the_error_file_reports_every_bad_row_and_writes_nothing() {
    for w in Workspace::all().await {
        for kind in ["accounts", "contacts", "subscriptions", "nps", "tickets"] {
            let output = w.run(&["import", kind, &example(&format!("{kind}.csv"))]);
            assert!(output.status.success(), "{} {kind}: {}", w.label(), stderr(&output));
        }
        let before = stdout(&w.run(&["export", "accounts"]));
        let failed = w.run(&["import", "accounts", &example("accounts_with_errors.csv")]);
        assert!(!failed.status.success());
        let report = stderr(&failed);
        for expected in [
            "accounts_with_errors.csv: 8 problem(s), nothing imported.",
            "line 3, column name: is required",
            "line 3, column employees: is not a whole number",
            "line 3, column touch_model: must be one of: high, low, tech",
            "line 3, column owner_email: is not an email address",
            "line 3, column created_at: must be a date",
            "line 4, column employees: must be 0 or more",
            "line 4, column stage: must be one of",
            "line 5, column account_id: duplicates line 2",
        ] {
            assert!(report.contains(expected), "{} missing {expected:?} in:\n{report}", w.label());
        }
        assert_eq!(stdout(&w.run(&["export", "accounts"])), before, "the failed import wrote nothing");

        let japanese = w
            .command(&["import", "accounts", &example("accounts_with_errors.csv")])
            .env("LANG", "ja_JP.UTF-8")
            .output()
            .unwrap();
        assert!(stderr(&japanese).contains("3 行目、name 列: 必須です"), "{}", stderr(&japanese));
        w.finish().await;
    }
}

#[tokio::test]
async fn shift_jis_file_imports_without_mojibake() {
    for w in Workspace::all().await {
        let output = w.run(&["import", "accounts", &example("accounts_shift_jis.csv")]);
        assert!(output.status.success(), "{}", stderr(&output));
        let exported = stdout(&w.run(&["export", "accounts"]));
        assert!(
            exported.contains("株式会社ひかり製作所") && exported.contains("～①髙﨑の顧客"),
            "{}: {exported}",
            w.label()
        );
        w.finish().await;
    }
}

#[tokio::test]
async fn export_then_import_changes_nothing() {
    for w in Workspace::all().await {
        assert!(w.run(&["demo", "--accounts", "40", "--seed", "3"]).status.success());
        for kind in ["accounts", "contacts", "subscriptions"] {
            let file: PathBuf = w.dir.path().join(format!("{kind}-export.csv"));
            let export = w.run(&["export", kind, "--output", file.to_str().unwrap()]);
            assert!(export.status.success(), "{}", stderr(&export));
            let import = w.run(&["import", kind, file.to_str().unwrap()]);
            let said = stdout(&import);
            assert!(said.contains("(0 created, 0 updated,"), "{} {kind}: {said}{}", w.label(), stderr(&import));
            let again = w.run(&["export", kind]).stdout;
            let written = std::fs::read(&file).unwrap();
            assert_eq!(again, written, "{kind} round trip");
            assert!(written.starts_with(b"\xEF\xBB\xBF"), "UTF-8 with a BOM, as the HTTP export, for Excel");
        }
        let file: PathBuf = w.dir.path().join("accounts-sjis.csv");
        let export = w.run(&["export", "accounts", "--encoding", "shift_jis", "-o", file.to_str().unwrap()]);
        assert!(export.status.success(), "{}", stderr(&export));
        let import = w.run(&["import", "accounts", file.to_str().unwrap()]);
        assert!(stdout(&import).contains("(0 created, 0 updated,"), "{} {}", w.label(), stdout(&import));
        let bad = w.run(&["export", "accounts", "--encoding", "latin1"]);
        assert!(!bad.status.success() && stderr(&bad).contains("--encoding"), "{}", stderr(&bad));
        w.finish().await;
    }
}

/// Starts `kizuna serve …` on a free port and waits until it answers /healthz.
async fn serve(w: &Workspace, extra: &[&str]) -> (std::process::Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let listen = format!("127.0.0.1:{port}");
    let mut args = vec!["serve", "--listen", listen.as_str()];
    args.extend_from_slice(extra);
    let mut server = w
        .command(&args)
        .env("KIZUNA_DEMO_PASSWORD", "demo password for tests")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://{listen}");
    // `--demo` loads the demo company (usage, health history) before listening: in a debug
    // build on two busy cores that alone can take most of a minute, so allow three.
    for _ in 0..1800 {
        if w.run(&["healthcheck", "--url", &base]).status.success() {
            return (server, base);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();
    panic!("server did not become healthy within 3 minutes");
}

fn stop(mut server: std::process::Child) -> String {
    server.kill().unwrap();
    let output = server.wait_with_output().unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn serve_with_demo_prints_the_demo_admin_who_can_sign_in_and_list_accounts() {
    let w = Workspace { dir: tempfile::tempdir().unwrap(), database: None };
    let (server, base) = serve(&w, &["--demo"]).await;
    let client = reqwest::Client::new();
    let signed = client
        .post(format!("{base}/api/v1/session"))
        .json(&serde_json::json!({"email": "kenichi.sato@kizuna-demo.example", "password": "demo password for tests"}))
        .send()
        .await
        .unwrap();
    let status = signed.status();
    let cookie = signed.headers().get("set-cookie").map(|c| c.to_str().unwrap().split(';').next().unwrap().to_owned());
    let get = |path: &str| {
        let request = client.get(format!("{base}{path}")).header("cookie", cookie.clone().unwrap_or_default());
        async move { request.send().await.unwrap().text().await.unwrap() }
    };
    let body = get("/api/v1/accounts?sort=-arr&limit=5").await;
    let adoption = get("/api/v1/usage/adoption").await;
    let staged_at_risk = get("/api/v1/accounts?stage=at_risk&limit=100").await;
    let printed = stop(server);
    assert_eq!(status, reqwest::StatusCode::OK, "the demo admin signs in");
    let list: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(list["total"].as_i64().unwrap() >= 300, "{list}");
    let adoption: serde_json::Value = serde_json::from_str(&adoption).unwrap();
    let payslip =
        adoption.as_array().unwrap().iter().find(|row| row["feature"] == "payslip").cloned().unwrap_or_default();
    assert!(
        payslip["share"].as_f64().is_some_and(|share| share > 0.5),
        "most demo customers publish payslips: {adoption}"
    );
    let staged_at_risk: serde_json::Value = serde_json::from_str(&staged_at_risk).unwrap();
    let grades: Vec<&str> =
        staged_at_risk["items"].as_array().unwrap().iter().filter_map(|a| a["health"]["grade"].as_str()).collect();
    assert!(!grades.is_empty(), "the demo has accounts in stage at risk: {staged_at_risk}");
    assert!(
        grades.iter().all(|g| *g != "healthy"),
        "an account its CSM moved to stage at risk is not graded healthy: {grades:?}"
    );
    assert!(
        printed.contains(
            "Demo administrator (the CS leader): kenichi.sato@kizuna-demo.example / password: demo password for tests"
        ),
        "{printed}"
    );
    assert!(!w.run(&["healthcheck", "--url", &base]).status.success(), "healthcheck fails once the server is gone");
}

#[tokio::test]
async fn a_fresh_installation_prints_a_setup_link_until_an_admin_exists() {
    let w = Workspace { dir: tempfile::tempdir().unwrap(), database: None };
    let (server, _) = serve(&w, &[]).await;
    let printed = stop(server);
    assert!(printed.contains("/setup/setup_"), "{printed}");

    let mut create = w
        .command(&["user", "create", "--admin", "--email", "root@k.example"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    create.stdin.take().unwrap().write_all(b"a long enough password\n").unwrap();
    let created = create.wait_with_output().unwrap();
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    assert!(String::from_utf8_lossy(&created.stdout).contains("root@k.example can now sign in as admin"));

    let (server, _) = serve(&w, &[]).await;
    let printed = stop(server);
    assert!(!printed.contains("/setup/"), "{printed}");
}

#[tokio::test]
async fn metrics_command_prints_a_table_csv_and_json_whose_movements_add_up() {
    for w in Workspace::all().await {
        assert!(w.run(&["demo", "--accounts", "60", "--seed", "5"]).status.success());
        let args = ["metrics", "mrr", "--from", "2025-01-01", "--to", "2025-12-31", "--interval", "quarter"];
        let csv = stdout(&w.run(&[&args[..], &["--format", "csv"]].concat()));
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "period,mrr_start,mrr_end,arr_end,new,expansion,contraction,churn,reactivation",
            "{}",
            w.label()
        );
        assert_eq!(lines.len(), 5, "four quarters: {csv}");
        for line in &lines[1..] {
            let cells: Vec<f64> = line.split(',').skip(1).map(|c| c.parse().unwrap()).collect();
            let movements: f64 = cells[3..].iter().sum();
            assert!((cells[0] + movements - cells[1]).abs() < 0.05, "MRR(end) = MRR(start) + movements: {line}");
        }
        let json: serde_json::Value =
            serde_json::from_str(&stdout(&w.run(&[&args[..], &["--format", "json"]].concat()))).unwrap();
        assert_eq!(json[0].as_array().unwrap().len(), 4);
        let table = stdout(&w.run(&["metrics", "churn", "--from", "2025-01-01", "--to", "2025-03-31"]));
        assert!(table.lines().next().unwrap().contains("customer_churn_rate"), "{table}");
        let bad = w.run(&["metrics", "mrr", "--interval", "decade"]);
        assert!(!bad.status.success() && stderr(&bad).contains("--interval: must be one of"), "{}", stderr(&bad));
        w.finish().await;
    }
}

/// Signs in as a new admin (created with `kizuna user create`) and returns (cookie, csrf).
async fn admin_session(w: &Workspace, base: &str) -> (String, String) {
    use std::io::Write;
    let mut create = w
        .command(&["user", "create", "--admin", "--email", "ops@k.example"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    create.stdin.take().unwrap().write_all(b"operations passphrase\n").unwrap();
    assert!(create.wait().unwrap().success());
    let response = reqwest::Client::new()
        .post(format!("{base}/api/v1/session"))
        .json(&serde_json::json!({"email": "ops@k.example", "password": "operations passphrase"}))
        .send()
        .await
        .unwrap();
    let cookie = response.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let body: serde_json::Value = response.json().await.unwrap();
    (cookie, body["csrf_token"].as_str().unwrap().to_owned())
}

/// A tracking write key, created by a new admin through the API.
async fn admin_write_key(w: &Workspace, base: &str) -> String {
    let (cookie, csrf) = admin_session(w, base).await;
    let created: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/api/v1/write-keys"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({"name": "tests"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    created["secret"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn every_acknowledged_tracking_message_survives_a_sigkill_mid_load() {
    for w in Workspace::all().await {
        let (mut server, base) = serve(&w, &[]).await;
        let key = admin_write_key(&w, &base).await;
        let client = reqwest::Client::new();
        let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let mut senders = Vec::new();
        for sender in 0..4 {
            let (client, base, key, acknowledged) = (client.clone(), base.clone(), key.clone(), acknowledged.clone());
            senders.push(tokio::spawn(async move {
                for round in 0..2_000 {
                    let ids: Vec<String> = (0..20).map(|i| format!("s{sender}-r{round}-m{i}")).collect();
                    let batch: Vec<serde_json::Value> = ids
                        .iter()
                        .map(|id| serde_json::json!({"type": "track", "userId": format!("u{sender}"), "event": "Load", "messageId": id}))
                        .collect();
                    let sent = client
                        .post(format!("{base}/v1/batch"))
                        .basic_auth(&key, Some(""))
                        .json(&serde_json::json!({"batch": batch}))
                        .timeout(std::time::Duration::from_secs(5))
                        .send()
                        .await;
                    match sent {
                        Ok(response) if response.status().is_success() => acknowledged.lock().unwrap().extend(ids),
                        Ok(_) => {}
                        Err(_) => return,
                    }
                }
            }));
        }
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        server.kill().unwrap();
        server.wait().unwrap();
        for sender in senders {
            sender.await.unwrap();
        }
        let acknowledged = acknowledged.lock().unwrap().clone();
        assert!(acknowledged.len() >= 100, "{}: the load ran before the kill: {}", w.label(), acknowledged.len());
        let url = match &w.database {
            Some(db) => db.url.clone(),
            None => format!("sqlite:{}", w.dir.path().join("kizuna.db").display()),
        };
        let store = store::open(&url).await.unwrap();
        let stored: std::collections::HashSet<String> =
            store.events(None, i64::MAX).await.unwrap().into_iter().map(|e| e.message_id).collect();
        let lost: Vec<&String> = acknowledged.iter().filter(|id| !stored.contains(*id)).collect();
        assert!(
            lost.is_empty(),
            "{}: {} of {} acknowledged messages lost, e.g. {:?}",
            w.label(),
            lost.len(),
            acknowledged.len(),
            lost.first()
        );
        drop(store);
        w.finish().await;
    }
}

#[tokio::test]
async fn event_backfill_checks_every_line_first_and_a_second_run_stores_nothing_twice() {
    for w in Workspace::all().await {
        assert!(w.run(&["import", "accounts", &example("accounts.csv")]).status.success());
        let first = w.run(&["import", "events", &example("events.ndjson")]);
        assert!(first.status.success(), "{}: {}", w.label(), stderr(&first));
        assert!(
            stdout(&first).contains("5 events (5 stored, 0 duplicates ignored, 0 not yet attributed"),
            "{}",
            stdout(&first)
        );

        let gzipped = w.dir.path().join("events.ndjson.gz");
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut encoder, &std::fs::read(example("events.ndjson")).unwrap()).unwrap();
        std::fs::write(&gzipped, encoder.finish().unwrap()).unwrap();
        let again = w.run(&["import", "events", gzipped.to_str().unwrap()]);
        assert!(
            stdout(&again).contains("(0 stored, 5 duplicates ignored"),
            "resuming stores nothing twice: {}",
            stdout(&again)
        );

        let bad = w.dir.path().join("bad.ndjson");
        std::fs::write(&bad, "{\"type\":\"track\",\"userId\":\"u\",\"event\":\"ok\",\"messageId\":\"new-1\"}\nnot json\n{\"type\":\"track\",\"userId\":\"u\"}\n{\"type\":\"track\",\"userId\":\"u\",\"event\":\"nul \\u0000 here\"}\n").unwrap();
        let failed = w.run(&["import", "events", bad.to_str().unwrap()]);
        let report = stderr(&failed);
        assert!(!failed.status.success());
        assert!(
            report.contains("line 2, column *: cannot be read")
                && report.contains("line 3, column event: is required")
                && report.contains("line 4, column event: must not contain the NUL character"),
            "{report}"
        );
        let recheck = w.run(&["import", "events", bad.to_str().unwrap()]);
        assert!(!recheck.status.success(), "still refused, so line 1 was never stored either");
        w.finish().await;
    }
}

/// The official client packages are installed by `.ci/run`; elsewhere they may be missing.
fn clients_installed() -> bool {
    let node =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients/node_modules/@segment/analytics-node").exists();
    let python = Command::new("python3")
        .args(["-c", "import segment.analytics, rudderstack.analytics"])
        .output()
        .is_ok_and(|o| o.status.success());
    node && python
}

/// Runs one client script, killing it if it has not finished within `bound`: a client that
/// retries forever on Kizuna's answers is a failure, not a slow test.
async fn run_client(program: &str, args: &[&str], bound: std::time::Duration) -> Result<Output, String> {
    let clients_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients");
    let mut child = Command::new(program)
        .current_dir(&clients_dir)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > bound {
            child.kill().unwrap();
            let output = child.wait_with_output().unwrap();
            return Err(format!("{args:?} still running after {bound:?}: {}{}", stdout(&output), stderr(&output)));
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Ok(child.wait_with_output().unwrap())
}

/// An admin's API call on a running server.
async fn admin_call(
    base: &str,
    session: &(String, String),
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> serde_json::Value {
    let mut request = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .header("cookie", &session.0)
        .header("x-csrf-token", &session.1);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    assert!(response.status().is_success(), "{path}: {}", response.status());
    response.json().await.unwrap_or(serde_json::Value::Null)
}

const CLIENTS: [(&str, &str, &str, &str); 4] = [
    ("node", "segment_node.mjs", "segment-node-user", "SEG-NODE"),
    ("node", "rudder_node.mjs", "rudder-node-user", "RUDDER-NODE"),
    ("python3", "segment_python.py", "segment-python-user", "SEG-PY"),
    ("python3", "rudder_python.py", "rudder-python-user", "RUDDER-PY"),
];

#[tokio::test]
async fn the_official_segment_and_rudderstack_clients_store_each_event_once_on_the_right_account() {
    if !clients_installed() {
        assert!(std::env::var_os("CI").is_none(), "CI must install the tracking clients (see .ci/run)");
        eprintln!(
            "skipped: run `npm install --prefix tests/clients` and `pip install segment-analytics-python rudder-sdk-python` to run this test"
        );
        return;
    }
    let bound = std::time::Duration::from_secs(60);
    for w in Workspace::all().await {
        let (server, base) = serve(&w, &[]).await;
        let session = admin_session(&w, &base).await;
        let key = admin_call(
            &base,
            &session,
            reqwest::Method::POST,
            "/api/v1/write-keys",
            Some(serde_json::json!({"name": "clients"})),
        )
        .await;
        let secret = key["secret"].as_str().unwrap().to_owned();
        // Imported before tracking: its name and employees win over the group call's traits.
        let imported = admin_call(
            &base,
            &session,
            reqwest::Method::POST,
            "/api/v1/accounts",
            Some(serde_json::json!({"external_id": "SEG-PY", "name": "給与計算ラボ", "employees": 120})),
        )
        .await;
        let mut outputs = Vec::new();
        for (program, script, user, group) in CLIENTS {
            outputs.push((script, run_client(program, &[script, &base, &secret, user, group], bound).await));
        }
        let refused = admin_call(&base, &session, reqwest::Method::GET, "/api/v1/tracking/refused", None).await;
        let account =
            admin_call(&base, &session, reqwest::Method::GET, &format!("/api/v1/accounts/{}", imported["id"]), None)
                .await;
        admin_call(
            &base,
            &session,
            reqwest::Method::DELETE,
            &format!("/api/v1/write-keys/{}", key["write_key"]["id"]),
            None,
        )
        .await;
        let mut revoked = Vec::new();
        for (program, script, user, group) in CLIENTS {
            revoked.push((script, run_client(program, &[script, &base, &secret, user, group], bound).await));
        }
        let printed = stop(server);
        for (script, output) in &outputs {
            let output = output.as_ref().unwrap_or_else(|hung| panic!("{}: {hung}", w.label()));
            assert!(
                output.status.success(),
                "{script} ({}): {}{}\n{printed}",
                w.label(),
                stdout(output),
                stderr(output)
            );
        }
        for (script, output) in &revoked {
            let output = output.as_ref().unwrap_or_else(|hung| panic!("{} revoked key: {hung}", w.label()));
            assert!(!output.status.success(), "{script} ({}): a revoked key is reported as an error", w.label());
        }
        let store = match &w.database {
            Some(db) => store::open(&db.url).await.unwrap(),
            None => store::open(&format!("sqlite:{}", w.dir.path().join("kizuna.db").display())).await.unwrap(),
        };
        let events = store.events(None, 1000).await.unwrap();
        for (_, script, user, group) in CLIENTS {
            let ids = store.account_ids_by_external_id(&[domain::ExternalId::parse(group).unwrap()]).await.unwrap();
            let account = ids.values().next().copied();
            assert!(account.is_some(), "{script}: the group call created account {group}");
            let mine: Vec<_> = events.iter().filter(|e| e.user_id.as_deref() == Some(user)).collect();
            let kinds: Vec<&str> = mine.iter().map(|e| e.kind.as_str()).collect();
            assert_eq!(kinds.len(), 6, "{script} ({}): six valid messages stored exactly once: {kinds:?}", w.label());
            assert!(mine.iter().all(|e| e.account_id == account), "{script}: all on {group}: {mine:?}");
            let users = store.end_users(account.unwrap()).await.unwrap();
            let email = users.iter().find(|u| u.user_id == user).and_then(|u| u.email.clone());
            assert_eq!(
                email,
                Some(format!("{user}@customer.example")),
                "{script}: the identify call's email is stored"
            );
        }
        let blank: Vec<_> = refused
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["field"].as_str().is_some_and(|f| f.ends_with("].event")))
            .collect();
        assert_eq!(blank.len(), 1, "the blank event is in the debugger with its field: {refused}");
        assert_eq!(
            (account["name"].as_str(), account["employees"].as_i64()),
            (Some("給与計算ラボ"), Some(120)),
            "{account}"
        );
        let tracking_changes = |id: String| {
            let store = &store;
            async move {
                let query = store::AuditQuery {
                    entity: Some("account".into()),
                    entity_id: Some(id),
                    limit: 100,
                    ..Default::default()
                };
                let entries = store.list_audit(&query).await.unwrap().items;
                entries
                    .into_iter()
                    .filter(|e| e.input.actor == "tracking")
                    .flat_map(|e| e.input.changes.into_keys())
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(tracking_changes(imported["id"].to_string()).await, Vec::<String>::new(), "imported fields win");
        let created =
            store.account_ids_by_external_id(&[domain::ExternalId::parse("RUDDER-PY").unwrap()]).await.unwrap();
        let created = created.values().next().unwrap().0.to_string();
        assert_eq!(tracking_changes(created).await, ["employees"], "tracking filled the empty field, in the audit log");
        drop(store);
        w.finish().await;
    }
}

#[tokio::test]
async fn the_example_feature_catalog_applies_exports_and_reapplies_unchanged() {
    for w in Workspace::all().await {
        let applied = w.run(&["features", "apply", &example("features.toml")]);
        assert!(
            stdout(&applied).contains("(5 created, 0 updated, 0 unchanged, 0 removed)"),
            "{}: {}{}",
            w.label(),
            stdout(&applied),
            stderr(&applied)
        );
        let exported = w.run(&["features", "export"]);
        let file = w.dir.path().join("catalog.toml");
        std::fs::write(&file, stdout(&exported)).unwrap();
        let again = w.run(&["features", "apply", "--prune", file.to_str().unwrap()]);
        assert!(
            stdout(&again).contains("(0 created, 0 updated, 5 unchanged, 0 removed)"),
            "{}: {}",
            w.label(),
            stdout(&again)
        );
        let bad = w.dir.path().join("bad.toml");
        std::fs::write(
            &bad,
            "[[feature]]\nkey = \"a\"\nname = \"A\"\nevent = \"e\"\ncadence = \"hourly\"\nimportance = \"core\"\n",
        )
        .unwrap();
        let refused = w.run(&["features", "apply", bad.to_str().unwrap()]);
        assert!(!refused.status.success());
        assert!(
            stderr(&refused)
                .contains("line 1, column cadence: must be one of: daily, weekly, monthly, quarterly, annual"),
            "{}",
            stderr(&refused)
        );
        w.finish().await;
    }
}

#[tokio::test]
async fn the_default_scorecard_separates_demo_churners_in_the_backtest() {
    let w = Workspace { dir: tempfile::tempdir().unwrap(), database: None };
    assert!(w.run(&["demo"]).status.success());
    let backtest = w.run(&["health", "backtest", "--horizon", "90d", "--json"]);
    assert!(backtest.status.success(), "{}", stderr(&backtest));
    let report: serde_json::Value = serde_json::from_str(&stdout(&backtest)).unwrap();
    assert!(report["auc"].as_f64().unwrap() > 0.7, "{report}");
    let by_grade = report["by_grade"].as_array().unwrap();
    let rate = |grade: &str| by_grade.iter().find(|g| g["grade"] == grade).unwrap()["churn_rate"].as_f64().unwrap();
    assert!(rate("at_risk") > 2.0 * rate("healthy"), "{report}");
    let table = w.run(&["health", "backtest"]);
    assert!(stdout(&table).contains("By grade:"), "{}", stdout(&table));

    let file = w.dir.path().join("observations.csv");
    let exported = w.run(&["health", "backtest", "--json", "--observations", file.to_str().unwrap()]);
    assert!(exported.status.success(), "{}", stderr(&exported));
    let report: serde_json::Value = serde_json::from_str(&stdout(&exported)).unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header[..5], ["account_id", "as_of", "score", "grade", "churned_within_horizon"]);
    assert!(header.contains(&"usage_trend"), "each measure's points: {header:?}");
    let rows: Vec<Vec<&str>> = lines.map(|line| line.split(',').collect()).collect();
    assert_eq!(rows.len() as u64, report["observations"].as_u64().unwrap(), "one row per observation");
    // The AUC recomputed from the file alone: how often a churner scored below an account that stayed.
    let scored: Vec<(f64, bool)> =
        rows.iter().filter(|r| !r[2].is_empty()).map(|r| (r[2].parse().unwrap(), r[4] == "1")).collect();
    let (churned, stayed): (Vec<_>, Vec<_>) = scored.iter().partition(|(_, c)| *c);
    let wins: f64 = churned
        .iter()
        .flat_map(|(low, _)| {
            stayed.iter().map(move |(high, _)| {
                if low < high {
                    1.0
                } else if low == high {
                    0.5
                } else {
                    0.0
                }
            })
        })
        .sum();
    let auc = wins / (churned.len() * stayed.len()) as f64;
    assert!((auc - report["auc"].as_f64().unwrap()).abs() < 1e-9, "{auc} against {report}");
}

#[tokio::test]
async fn the_churn_model_exports_the_examples_it_learned_from_and_was_backtested_on() {
    let w = Workspace { dir: tempfile::tempdir().unwrap(), database: None };
    assert!(w.run(&["demo"]).status.success());
    let file = w.dir.path().join("examples.csv");
    let fit = w.run(&["renewals", "fit", "--json", "--examples", file.to_str().unwrap()]);
    assert!(fit.status.success(), "{}", stderr(&fit));
    let report: serde_json::Value = serde_json::from_str(&stdout(&fit)).unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header[..6], ["set", "account_id", "day", "outcome_by", "churned", "before_cutoff"]);
    assert!(header.contains(&"health_score") && header.contains(&"usage_ratio"), "{header:?}");
    let rows: Vec<Vec<&str>> = lines.map(|line| line.split(',').collect()).collect();
    let learned: Vec<&Vec<&str>> = rows.iter().filter(|r| r[0] == "learn").collect();
    let model = &report["model"]["Ok"];
    assert_eq!(learned.len() as u64, model["examples"].as_u64().unwrap(), "{report}");
    assert_eq!(learned.iter().filter(|r| r[4] == "1").count() as u64, model["churns"].as_u64().unwrap());
    let before_cutoff = learned.iter().filter(|r| r[5] == "1").count() as u64;
    assert_eq!(before_cutoff, report["backtest"]["trained_on"].as_u64().unwrap(), "the backtest learns from these");
    let renewals: Vec<&Vec<&str>> = rows.iter().filter(|r| r[0] == "renewal").collect();
    assert!(renewals.iter().all(|r| r[5] == "0"), "the backtest's renewals come after its cut-off");
    let distinct: std::collections::HashSet<(&str, &str)> = renewals.iter().map(|r| (r[1], r[3])).collect();
    assert_eq!(distinct.len() as u64, report["backtest"]["tested_on"].as_u64().unwrap(), "{report}");
}

/// Runs `kizuna user create …` with `password` on standard input.
fn create_user(w: &Workspace, args: &[&str], password: &str) -> Output {
    use std::io::Write;
    let mut create = w
        .command(&[&["user", "create"][..], args].concat())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    create.stdin.take().unwrap().write_all(format!("{password}\n").as_bytes()).unwrap();
    create.wait_with_output().unwrap()
}

#[tokio::test]
async fn user_create_on_an_existing_user_sets_password_and_role_and_keeps_team_and_name() {
    for w in Workspace::all().await {
        let first =
            create_user(&w, &["--email", "aki@k.example", "--name", "Aki Sato", "--role", "csm"], "first passphrase");
        assert!(first.status.success(), "{}: {}", w.label(), stderr(&first));
        let (server, base) = serve(&w, &[]).await;
        let (cookie, csrf) = admin_session(&w, &base).await;
        let client = reqwest::Client::new();
        let send = |method: reqwest::Method, path: &str, body: Option<serde_json::Value>| {
            let mut request =
                client.request(method, format!("{base}{path}")).header("cookie", &cookie).header("x-csrf-token", &csrf);
            if let Some(body) = body {
                request = request.json(&body);
            }
            async move { request.send().await.unwrap().json::<serde_json::Value>().await.unwrap() }
        };
        let team = send(reqwest::Method::POST, "/api/v1/teams", Some(serde_json::json!({"name": "East"}))).await;
        let users = send(reqwest::Method::GET, "/api/v1/users", None).await;
        let aki = |users: &serde_json::Value| {
            users["items"].as_array().unwrap().iter().find(|u| u["email"] == "aki@k.example").unwrap().clone()
        };
        let id = aki(&users)["id"].as_i64().unwrap();
        let patched = send(
            reqwest::Method::PATCH,
            &format!("/api/v1/users/{id}"),
            Some(serde_json::json!({"team_id": team["id"]})),
        )
        .await;
        assert_eq!(patched["team_id"], team["id"], "{patched}");

        let again = create_user(&w, &["--email", "aki@k.example", "--role", "manager"], "second passphrase");
        assert!(again.status.success(), "{}: {}", w.label(), stderr(&again));
        let after = aki(&send(reqwest::Method::GET, "/api/v1/users", None).await);
        assert_eq!(
            (&after["id"], &after["team_id"], &after["name"], &after["role"]),
            (&serde_json::json!(id), &team["id"], &serde_json::json!("Aki Sato"), &serde_json::json!("manager")),
            "{}: {after}",
            w.label()
        );
        let sign_in = client
            .post(format!("{base}/api/v1/session"))
            .json(&serde_json::json!({"email": "aki@k.example", "password": "second passphrase"}))
            .send()
            .await
            .unwrap();
        assert_eq!(sign_in.status(), reqwest::StatusCode::OK, "the new password works");
        stop(server);
        w.finish().await;
    }
}
