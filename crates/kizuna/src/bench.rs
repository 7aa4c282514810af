//! `kizuna bench …`: measurements recorded in BENCHMARKS.md. Each generates its own data.

use crate::CliError;
use app::demo::DemoOptions;
use app::App;
use clap::Subcommand;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Subcommand)]
pub enum Target {
    /// Server time of the accounts list page and the account 360 page on a generated customer
    /// base with current health scores, through real HTTP on loopback.
    Pages {
        #[arg(long, default_value_t = 100_000)]
        accounts: usize,
        /// The first N accounts also get product usage (tracking events) through the real ingest.
        #[arg(long, default_value_t = 2_000)]
        usage_accounts: usize,
        /// Timed requests per page shape (after 10 warm-up requests).
        #[arg(long, default_value_t = 200)]
        requests: usize,
        /// An empty database to use instead of a temporary SQLite file (e.g. postgres://…).
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Account list API latency on a generated customer base, through real HTTP on loopback.
    AccountsList {
        #[arg(long, default_value_t = 100_000)]
        accounts: usize,
        /// Timed requests per query shape (after 20 warm-up requests).
        #[arg(long, default_value_t = 300)]
        requests: usize,
        /// An empty database to use instead of a temporary SQLite file (e.g. postgres://…).
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Tracking ingestion: events/s over HTTP batches with durable acknowledgement, batch
    /// latency, and NDJSON backfill rate, on generated events.
    Ingest {
        /// Events sent over HTTP (in batches of --batch).
        #[arg(long, default_value_t = 100_000)]
        events: usize,
        #[arg(long, default_value_t = 100)]
        batch: usize,
        /// Concurrent HTTP clients.
        #[arg(long, default_value_t = 8)]
        clients: usize,
        /// An empty database to use instead of a temporary SQLite file (e.g. postgres://…).
        #[arg(long)]
        database_url: Option<String>,
        /// The peers' script (DuckDB and a bare SQLite table load the same file); `none` to skip.
        #[arg(long, default_value = "bench/ingest_peers.py")]
        peers_script: String,
    },
    /// Health scoring on generated daily rollups (100k accounts, a year, 40 features), full and
    /// single-account recompute, beside the same feature computation in DuckDB.
    Health {
        #[arg(long, default_value_t = 100_000)]
        accounts: usize,
        /// Timed full recomputes; the best and the median are reported.
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// The DuckDB script; `none` to skip the peer.
        #[arg(long, default_value = "bench/health_duckdb.py")]
        duckdb_script: String,
    },
    /// The resident scoring engine on the demo: a node's start-up (load time, memory per
    /// account), a full recompute from memory, and freshness under ingest spread over every
    /// account, on the node that takes the events and on a second node.
    Engine {
        #[arg(long, default_value_t = 100_000)]
        accounts: usize,
        /// The first N accounts get three years of product usage through the real ingest.
        #[arg(long, default_value_t = 2_000)]
        usage_accounts: usize,
        /// Events per second sent while freshness is measured.
        #[arg(long, default_value_t = 100_000)]
        rate: usize,
        /// How long freshness is measured, in seconds.
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// Concurrent HTTP clients sending the load.
        #[arg(long, default_value_t = 8)]
        clients: usize,
        /// An empty database to use instead of a temporary SQLite file (e.g. postgres://…).
        #[arg(long)]
        database_url: Option<String>,
    },
    /// The full monthly metric suite on generated subscription histories, beside the same
    /// period computation in DuckDB (Python `duckdb` package) on the same data.
    Metrics {
        #[arg(long, default_value_t = 100_000)]
        accounts: usize,
        #[arg(long, default_value_t = 5)]
        years: u32,
        /// Timed runs of the Kizuna suite; the best and the median are reported.
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// The DuckDB script; `none` to skip the peer.
        #[arg(long, default_value = "bench/metrics_duckdb.py")]
        duckdb_script: String,
    },
}

pub async fn run(target: Target) -> Result<(), CliError> {
    match target {
        Target::Pages { accounts, usage_accounts, requests, database_url } => {
            pages(accounts, usage_accounts, requests, database_url).await
        }
        Target::AccountsList { accounts, requests, database_url } => {
            accounts_list(accounts, requests, database_url).await
        }
        Target::Ingest { events, batch, clients, database_url, peers_script } => {
            ingest(events, batch, clients, database_url, &peers_script).await
        }
        Target::Health { accounts, runs, duckdb_script } => crate::bench_health::run(accounts, runs, &duckdb_script),
        Target::Engine { accounts, usage_accounts, rate, seconds, clients, database_url } => {
            crate::bench_engine::run(crate::bench_engine::EngineBench {
                accounts,
                usage_accounts,
                rate,
                seconds,
                clients,
                database_url,
            })
            .await
        }
        Target::Metrics { accounts, years, runs, duckdb_script } => {
            crate::bench_metrics::run(accounts, years, runs, &duckdb_script)
        }
    }
}

/// A demo company served on 127.0.0.1:0, and an API token of a manager (the CS leader, who
/// opens every page, including everyone's tasks) that can write but is only used to read.
pub(crate) struct DemoServer {
    pub(crate) app: Arc<App>,
    pub(crate) address: std::net::SocketAddr,
    /// The database it runs on, for a second node.
    pub(crate) url: String,
    pub(crate) client: reqwest::Client,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl DemoServer {
    pub(crate) async fn start(
        options: DemoOptions,
        database_url: Option<String>,
        score: bool,
    ) -> Result<DemoServer, CliError> {
        let dir = tempfile::tempdir().map_err(crate::io_error("temporary directory"))?;
        let url = database_url.unwrap_or_else(|| format!("sqlite:{}", dir.path().join("bench.db").display()));
        let backend = if url.starts_with("sqlite:") { "sqlite" } else { "postgres" };
        let store = store::open(&url).await?;
        let app = Arc::new(App::start(store, domain::settings::WorkspaceSettings::default()).await?);

        let started = Instant::now();
        let summary = app.load_demo(options).await?;
        println!(
            "backend {backend}: demo with {} accounts, {} contacts, {} subscription periods, {} usage events loaded in {:.1} s",
            summary.accounts,
            summary.contacts,
            summary.subscription_periods,
            summary.usage_events,
            started.elapsed().as_secs_f64()
        );
        if score {
            let started = Instant::now();
            let scored = app.recompute_health(None).await?;
            println!(
                "health scores of {} accounts computed and stored in {:.1} s",
                scored.accounts,
                started.elapsed().as_secs_f64()
            );
            let started = Instant::now();
            let churn = app.fit_churn_model().await?;
            println!(
                "renewal churn model fitted and {} upcoming renewals predicted in {:.1} s",
                churn.estimates.len(),
                started.elapsed().as_secs_f64()
            );
        }

        let bench_user = domain::staff::StaffUserInput {
            email: domain::Email::parse("bench@kizuna.invalid")
                .map_err(|r| CliError::Usage(r.message(domain::i18n::Lang::En)))?,
            name: "bench".into(),
            team_id: None,
            role: domain::access::Role::Manager,
            active: true,
        };
        let system = app::Actor::System("bench");
        let password = app::auth::new_secret("")?;
        let user = app.create_user_with_password(&system, &bench_user, &password).await?;
        let manager = app::Actor::Staff { user, token: None };
        let (_, token) = app.create_api_token(&manager, "bench", domain::access::Scope::Write).await?;

        let listener =
            tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(crate::io_error("bind 127.0.0.1:0"))?;
        let address = listener.local_addr().map_err(crate::io_error("listener address"))?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(web::serve(listener, app.clone(), web::WebOptions::default(), async {
            let _ = stopped.await;
        }));
        // The temporary directory must outlive the server: leak it until the process ends.
        std::mem::forget(dir);
        Ok(DemoServer { app, address, url, client: authorized_client(&token)?, stop, server })
    }

    /// Sends 10 warm-up and `requests` timed requests to each path, printing p50, p95 and max.
    async fn time(&self, title: &str, paths: &[String], requests: usize) -> Result<(), CliError> {
        println!("{:<55} {:>9} {:>9} {:>9}", title, "p50 ms", "p95 ms", "max ms");
        for path in paths {
            let url = format!("http://{}{path}", self.address);
            let mut timings = Vec::with_capacity(requests);
            for i in 0..requests + 10 {
                let started = Instant::now();
                let response =
                    self.client.get(&url).send().await.map_err(|e| CliError::Usage(format!("request failed: {e}")))?;
                let status = response.status();
                response.bytes().await.map_err(|e| CliError::Usage(format!("reading response failed: {e}")))?;
                if !status.is_success() {
                    return Err(CliError::Usage(format!("{url} answered {status}")));
                }
                if i >= 10 {
                    timings.push(started.elapsed());
                }
            }
            timings.sort();
            println!(
                "{:<55} {:>9.2} {:>9.2} {:>9.2}",
                path,
                ms(percentile(&timings, 50)),
                ms(percentile(&timings, 95)),
                ms(*timings.last().unwrap_or(&Duration::ZERO))
            );
        }
        Ok(())
    }

    pub(crate) async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.server.await;
    }
}

async fn accounts_list(accounts: usize, requests: usize, database_url: Option<String>) -> Result<(), CliError> {
    let options = DemoOptions { accounts, seed: 42, usage: false, ..DemoOptions::default() };
    let demo = DemoServer::start(options, database_url, false).await?;
    let owner = first_owner(&demo.client, demo.address).await;
    let shapes = [
        "sort=-arr&limit=50".to_string(),
        "sort=-arr&limit=50&offset=50000".to_string(),
        "sort=renewal_date&limit=50".to_string(),
        format!("owner={owner}&sort=-arr&limit=50"),
        "q=sakura&sort=-arr&limit=50".to_string(),
        // What CSMs type (issue 18): a code from a page, a name with a space, a kana reading.
        "q=ACC-000098&sort=-arr&limit=50".to_string(),
        "q=%E7%B4%85%E8%91%89%20%E3%82%A8%E3%83%8A%E3%82%B8%E3%83%BC&sort=-arr&limit=50".to_string(),
        "q=%E3%82%82%E3%81%BF%E3%81%98&sort=-arr&limit=50".to_string(),
    ];
    let paths: Vec<String> = shapes.iter().map(|shape| format!("/api/v1/accounts?{shape}")).collect();
    demo.time("GET /api/v1/accounts?…", &paths, requests).await?;
    demo.stop().await;
    Ok(())
}

/// The pages CSMs open all day: the accounts list (filtered and sorted as they do), the
/// account 360 of accounts with and without product usage, and home, health, everyone's tasks
/// (table, cards, narrowed), metrics, segments and renewals.
async fn pages(
    accounts: usize,
    usage_accounts: usize,
    requests: usize,
    database_url: Option<String>,
) -> Result<(), CliError> {
    let options = DemoOptions { accounts, seed: 42, usage_accounts: Some(usage_accounts), ..DemoOptions::default() };
    let demo = DemoServer::start(options, database_url, true).await?;
    let owner = first_owner(&demo.client, demo.address).await;
    let list = [
        "/accounts".to_string(),
        "/accounts?sort=score".to_string(),
        "/accounts?grade=at_risk&sort=trend".to_string(),
        format!("/accounts?owner={owner}&sort=renewal_date"),
        "/accounts?stage=onboarding&tier=enterprise&sort=-arr".to_string(),
        "/accounts?sort=-arr&offset=50000".to_string(),
        "/accounts?q=sakura".to_string(),
        "/accounts?q=ACC-000098".to_string(),
        "/accounts?q=%E7%B4%85%E8%91%89%20%E3%82%A8%E3%83%8A%E3%82%B8%E3%83%BC".to_string(),
        "/accounts?q=%E3%82%82%E3%81%BF%E3%81%98".to_string(),
    ];
    demo.time("GET (accounts list page)", &list, requests).await?;
    let ids = account_ids(&demo.app, usage_accounts).await?;
    let account_pages: Vec<String> = ids.iter().map(|id| format!("/accounts/{id}")).collect();
    demo.time("GET (account 360 page)", &account_pages, requests).await?;
    let daily = [
        "/".to_string(),
        "/health".to_string(),
        "/tasks?tab=all".to_string(),
        "/tasks?tab=all&view=cards".to_string(),
        "/tasks?tab=all&priority=urgent&due=7".to_string(),
        "/metrics".to_string(),
        "/segments".to_string(),
        "/renewals".to_string(),
        "/renewals?forecast=at_risk".to_string(),
    ];
    demo.time("GET (home, health, tasks, metrics, segments, renewals)", &daily, requests).await?;
    demo.stop().await;
    Ok(())
}

/// The first account with usage, one in the middle of the usage range, and the first account
/// without usage.
async fn account_ids(app: &App, usage_accounts: usize) -> Result<Vec<i64>, CliError> {
    let numbers = [1, (usage_accounts / 2).max(1), usage_accounts + 1];
    let externals: Vec<domain::ExternalId> =
        numbers.iter().filter_map(|n| domain::ExternalId::parse(&format!("ACC-{n:06}")).ok()).collect();
    let found = app.account_ids(&externals).await?;
    Ok(externals.iter().filter_map(|e| found.get(e)).map(|id| id.0).collect())
}

/// A client that sends the bench user's read-only API token with every request.
fn authorized_client(token: &str) -> Result<reqwest::Client, CliError> {
    let mut headers = reqwest::header::HeaderMap::new();
    let value = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|e| CliError::Usage(e.to_string()))?;
    headers.insert(reqwest::header::AUTHORIZATION, value);
    reqwest::Client::builder().default_headers(headers).build().map_err(|e| CliError::Usage(e.to_string()))
}

/// The owner of the largest account: a CSM with a realistic portfolio.
async fn first_owner(client: &reqwest::Client, address: std::net::SocketAddr) -> i64 {
    let top: serde_json::Value =
        match client.get(format!("http://{address}/api/v1/accounts?sort=-arr&limit=1")).send().await {
            Ok(response) => response.json().await.unwrap_or_default(),
            Err(_) => serde_json::Value::Null,
        };
    top["items"][0]["owner_id"].as_i64().unwrap_or(1)
}

pub(crate) fn percentile(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() * p).div_ceil(100)).saturating_sub(1).min(sorted.len() - 1)]
}

pub(crate) fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// One generated track message: 1,000 users spread over 100 accounts, 100 events a second (each
/// user every 10 seconds), so end users' last-seen times keep moving.
fn generated_event(n: usize) -> serde_json::Value {
    let start = chrono::DateTime::parse_from_rfc3339("2026-11-01T09:00:00Z").unwrap_or_default();
    let timestamp = start + chrono::TimeDelta::milliseconds(10 * n as i64);
    serde_json::json!({
        "type": "track",
        "userId": format!("user-{}", n % 1000),
        "event": if n.is_multiple_of(10) { "Year-End Adjustment Started" } else { "Payslip Distributed" },
        "messageId": format!("bench-{n}"),
        "context": {"groupId": format!("ACC-{:06}", n % 100 + 1)},
        "properties": {"employees": n % 500},
        "timestamp": timestamp.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    })
}

async fn ingest(
    events: usize,
    batch: usize,
    clients: usize,
    database_url: Option<String>,
    peers_script: &str,
) -> Result<(), CliError> {
    let dir = tempfile::tempdir().map_err(crate::io_error("temporary directory"))?;
    let url = database_url.unwrap_or_else(|| format!("sqlite:{}", dir.path().join("bench.db").display()));
    let backend = if url.starts_with("sqlite:") { "sqlite" } else { "postgres" };
    let store = store::open(&url).await?;
    let app = Arc::new(App::start(store, domain::settings::WorkspaceSettings::default()).await?);
    app.load_demo(DemoOptions { accounts: 100, usage: false, ..DemoOptions::default() }).await?;
    let (_, key) = app.create_write_key(&app::Actor::System("bench"), "bench", &[]).await?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(crate::io_error("bind 127.0.0.1:0"))?;
    let address = listener.local_addr().map_err(crate::io_error("listener address"))?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(web::serve(listener, app.clone(), web::WebOptions::default(), async {
        let _ = stopped.await;
    }));
    let bodies: Vec<String> = (0..events)
        .collect::<Vec<_>>()
        .chunks(batch.max(1))
        .map(|chunk| {
            serde_json::json!({"batch": chunk.iter().map(|n| generated_event(*n)).collect::<Vec<_>>()}).to_string()
        })
        .collect();
    // Clients pop from the end: reversed, they send the oldest events first, as real clients do.
    let bodies = Arc::new(std::sync::Mutex::new(bodies.into_iter().rev().collect::<Vec<_>>()));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..clients.max(1) {
        let (bodies, key) = (bodies.clone(), key.clone());
        workers.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut latencies = Vec::new();
            loop {
                let Some(body) = bodies.lock().unwrap_or_else(|p| p.into_inner()).pop() else { return Ok(latencies) };
                let sent = Instant::now();
                let response = client
                    .post(format!("http://{address}/v1/batch"))
                    .basic_auth(&key, Some(""))
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .map_err(|e| format!("request failed: {e}"))?;
                if !response.status().is_success() {
                    return Err(format!("batch answered {}", response.status()));
                }
                latencies.push(sent.elapsed());
            }
        }));
    }
    let mut latencies = Vec::new();
    for worker in workers {
        let done = worker.await.map_err(|e| CliError::Usage(e.to_string()))?;
        latencies.extend(done.map_err(CliError::Usage)?);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    println!(
        "backend {backend}: {events} events over HTTP in batches of {batch} from {clients} clients: {:.0} events/s; batch latency p50 {:.1} ms, p99 {:.1} ms",
        events as f64 / elapsed.as_secs_f64(),
        ms(percentile(&latencies, 50)),
        ms(percentile(&latencies, 99))
    );
    let _ = stop.send(());
    let _ = server.await;

    let file = dir.path().join("events.ndjson");
    let lines: String = (events..events * 2).map(|n| generated_event(n).to_string() + "\n").collect();
    std::fs::write(&file, lines).map_err(crate::io_error("writing the NDJSON file"))?;
    // As `kizuna import events` does it: every line checked first, then stored.
    let open = || std::fs::File::open(&file).map_err(crate::io_error("reading the NDJSON file"));
    let started = Instant::now();
    let checked = app.check_events(open()?).map_err(|errors| CliError::Usage(format!("{} bad lines", errors.len())))?;
    let checking = started.elapsed();
    let counts = app.backfill_events("events.ndjson", open()?, |_| {}).await?;
    let elapsed = started.elapsed();
    println!(
        "backend {backend}: NDJSON backfill of {checked} events ({} stored): {:.0} events/s (check {:.2} s, store {:.2} s: {:.0} events/s)",
        counts.stored,
        counts.stored as f64 / elapsed.as_secs_f64(),
        checking.as_secs_f64(),
        (elapsed - checking).as_secs_f64(),
        counts.stored as f64 / (elapsed - checking).as_secs_f64()
    );
    if peers_script != "none" {
        let output = std::process::Command::new("python3")
            .arg(peers_script)
            .arg(&file)
            .output()
            .map_err(crate::io_error(format!("cannot run python3 {peers_script}")))?;
        if !output.status.success() {
            return Err(CliError::Usage(format!("{peers_script} failed: {}", String::from_utf8_lossy(&output.stderr))));
        }
        let peers: serde_json::Value = serde_json::from_slice(&output.stdout)
            .map_err(|e| CliError::Usage(format!("{peers_script} printed no JSON: {e}")))?;
        let rate = |name: &str| peers[name].as_f64().map_or("not installed".to_owned(), |r| format!("{r:.0} events/s"));
        println!("peer duckdb (read_ndjson into a table, deduplicated): {}", rate("duckdb"));
        println!("peer sqlite3 (Python, bare table with the same indexes, one transaction): {}", rate("sqlite3"));
    }
    Ok(())
}
