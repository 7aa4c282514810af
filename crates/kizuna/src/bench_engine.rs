//! `kizuna bench engine`: the resident scoring engine on the demo company. What a node costs to
//! start (time to load every account's signals, memory per account), a full recompute from the
//! running server's state, and freshness: while events arrive spread over every account, how
//! long from an event's acknowledgement until its account is in a segment on the node that took
//! it (rescored, segments re-evaluated and stored) and in a second node's memory (through the
//! change log).

use crate::bench::{ms, percentile, DemoServer};
use crate::CliError;
use app::demo::DemoOptions;
use app::{Actor, App};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What `kizuna bench engine` is asked to do.
pub struct EngineBench {
    pub accounts: usize,
    pub usage_accounts: usize,
    /// Events per second sent while freshness is measured.
    pub rate: usize,
    pub seconds: u64,
    pub clients: usize,
    pub database_url: Option<String>,
}

/// The process's resident memory in bytes (Linux), or 0 where it cannot be read.
fn resident_bytes() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

pub async fn run(bench: EngineBench) -> Result<(), CliError> {
    let options = DemoOptions {
        accounts: bench.accounts,
        seed: 42,
        usage_accounts: Some(bench.usage_accounts),
        ..DemoOptions::default()
    };
    let demo = DemoServer::start(options, bench.database_url.clone(), false).await?;
    let (accounts, bytes) = demo.app.portfolio_footprint().await?;
    println!(
        "portfolio in memory: {accounts} accounts, about {:.1} MiB ({} bytes per account); process resident {:.0} MiB",
        mib(bytes),
        bytes / accounts.max(1),
        mib(resident_bytes())
    );

    let mut runs = Vec::new();
    let mut scored = 0;
    for _ in 0..5 {
        let (count, read, scoring) = demo.app.score_all().await?;
        scored = count;
        runs.push((read + scoring, read, scoring));
    }
    runs.sort();
    let (best, read, scoring) = runs[0];
    println!(
        "full recompute from the running server's memory (score {scored} paying accounts, nothing stored): best {:.0} ms (account rows read {:.0} ms, scoring on every core {:.0} ms), median {:.0} ms of 5",
        ms(best),
        ms(read),
        ms(scoring),
        ms(runs[2].0)
    );
    let started = Instant::now();
    let summary = demo.app.recompute_health(None).await?;
    println!(
        "full recompute and store (snapshots, grade changes, segments, playbooks, onboarding) of {} accounts: {:.1} s",
        summary.accounts,
        started.elapsed().as_secs_f64()
    );

    // As a server does when it starts: the health page's backtest is made before anyone asks.
    let started = Instant::now();
    demo.app.prepare_default_backtest().await?;
    println!("the health page's default backtest made in {:.1} s", started.elapsed().as_secs_f64());
    after_changes(&demo).await?;

    // A second node starting on the same database: what it takes to load.
    let before = resident_bytes();
    let store = store::open(&demo.url).await?;
    let second = Arc::new(App::start(store, domain::settings::WorkspaceSettings::default()).await?);
    let started = Instant::now();
    second.load_portfolio().await?;
    println!(
        "second node: every account's signals loaded in {:.1} s; its process memory grew {:.0} MiB",
        started.elapsed().as_secs_f64(),
        mib(resident_bytes().saturating_sub(before))
    );
    restart_from_saved(&demo).await?;
    second.start_health_worker();

    freshness(&demo, &second, &bench).await?;
    demo.stop().await;
    Ok(())
}

/// A node restarted on the same database: the first node saves its portfolio, and a new node
/// starts from that file and the change log instead of reading everything.
async fn restart_from_saved(demo: &DemoServer) -> Result<(), CliError> {
    let folder = tempfile::tempdir().map_err(|e| CliError::Usage(format!("a temporary folder: {e}")))?;
    let path = folder.path().join("portfolio.saved");
    demo.app.keep_portfolio_saved(path.clone());
    let started = Instant::now();
    let bytes = demo.app.save_portfolio().await?.unwrap_or(0);
    println!("portfolio saved in {:.1} s ({:.1} MiB on disk)", started.elapsed().as_secs_f64(), mib(bytes));
    let store = store::open(&demo.url).await?;
    let restarted = App::start(store, domain::settings::WorkspaceSettings::default()).await?;
    restarted.keep_portfolio_saved(path);
    let started = Instant::now();
    let source = restarted.load_portfolio().await?;
    println!(
        "restarted node: signals loaded in {:.1} s ({source:?}: the saved file, then the change log after it)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The last accounts are kept out of the load: each gets one probe event and is watched.
const PROBE_ACCOUNTS: usize = 400;

/// The pages and reports a change invalidates, timed on the first request after each of 20
/// subscription changes (a new monthly period for a different account each time).
async fn after_changes(demo: &DemoServer) -> Result<(), CliError> {
    let paths = ["/health", "/metrics", "/api/v1/metrics/report?interval=month", "/"];
    let mut timings: Vec<Vec<Duration>> = vec![Vec::new(); paths.len()];
    for n in 0..20 {
        let external = format!("ACC-{:06}", n * 997 + 3);
        let ids =
            demo.app
                .account_ids(&[domain::ExternalId::parse(&external)
                    .map_err(|r| CliError::Usage(r.message(domain::i18n::Lang::En)))?])
                .await?;
        let Some(id) = ids.values().next() else { continue };
        let period = serde_json::json!({"subscription_id": format!("BENCH-{n}"), "account_id": id.0, "product": "bench",
            "start_date": demo.app.today().to_string(), "billing_interval": "month", "quantity": 1, "unit_price": "1000",
            "currency": "JPY"});
        let response = demo
            .client
            .post(format!("http://{}/api/v1/subscriptions", demo.address))
            .json(&period)
            .send()
            .await
            .map_err(|e| CliError::Usage(format!("request failed: {e}")))?;
        if !response.status().is_success() {
            return Err(CliError::Usage(format!("adding a subscription answered {}", response.status())));
        }
        for (path, times) in paths.iter().zip(&mut timings) {
            let started = Instant::now();
            let response = demo
                .client
                .get(format!("http://{}{path}", demo.address))
                .send()
                .await
                .map_err(|e| CliError::Usage(format!("request failed: {e}")))?;
            let status = response.status();
            response.bytes().await.map_err(|e| CliError::Usage(format!("reading {path}: {e}")))?;
            if !status.is_success() {
                return Err(CliError::Usage(format!("{path} answered {status}")));
            }
            times.push(started.elapsed());
        }
    }
    println!(
        "{:<55} {:>9} {:>9} {:>9}",
        "GET, first request after a subscription change", "p50 ms", "p95 ms", "max ms"
    );
    for (path, times) in paths.iter().zip(&mut timings) {
        times.sort();
        println!(
            "{:<55} {:>9.1} {:>9.1} {:>9.1}",
            path,
            ms(percentile(times, 50)),
            ms(percentile(times, 95)),
            ms(times.last().copied().unwrap_or_default())
        );
    }
    Ok(())
}

/// One track event for account number `n` (external id `ACC-nnnnnn`), dated now.
fn event_for(n: usize, message: &str) -> serde_json::Value {
    serde_json::json!({
        "type": "track",
        "userId": format!("bench-{}", n % 7),
        "event": "Payslip Distributed",
        "messageId": message,
        "context": {"groupId": format!("ACC-{n:06}")},
        "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    })
}

async fn freshness(demo: &DemoServer, second: &Arc<App>, bench: &EngineBench) -> Result<(), CliError> {
    let system = Actor::System("bench");
    let segment = demo
        .app
        .create_segment(
            &system,
            &store::SegmentInput {
                name: "今日利用あり".into(),
                name_en: Some("Active today".into()),
                rule: "days_since_activity = 0".into(),
                description: None,
            },
        )
        .await?;
    let (_, key) = demo.app.create_write_key(&system, "bench", &[]).await?;
    let url = format!("http://{}/v1/batch", demo.address);
    let running = Arc::new(AtomicBool::new(true));
    let sent = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut load = Vec::new();
    let clients = bench.clients.max(1);
    let per_client = (bench.rate / clients).max(1);
    for client_number in 0..clients {
        let (running, sent, key, url) = (running.clone(), sent.clone(), key.clone(), url.clone());
        let accounts = bench.accounts.saturating_sub(PROBE_ACCOUNTS).max(1);
        load.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut batch_number = 0usize;
            let began = Instant::now();
            while running.load(Ordering::Relaxed) {
                let batch: Vec<serde_json::Value> = (0..100)
                    .map(|i| {
                        let n = (batch_number * 100 + i) * clients + client_number;
                        // Spread over every account, in an order that does not repeat soon.
                        event_for(
                            n.wrapping_mul(7_919) % accounts + 1,
                            &format!("load-{client_number}-{batch_number}-{i}"),
                        )
                    })
                    .collect();
                batch_number += 1;
                let response = client
                    .post(&url)
                    .basic_auth(&key, Some(""))
                    .json(&serde_json::json!({"batch": batch}))
                    .send()
                    .await
                    .map_err(|e| format!("request failed: {e}"))?;
                if response.status().is_success() {
                    sent.fetch_add(100, Ordering::Relaxed);
                }
                // Keep to this client's share of the rate.
                let due = Duration::from_secs_f64((batch_number * 100) as f64 / per_client as f64);
                if let Some(wait) = due.checked_sub(began.elapsed()) {
                    tokio::time::sleep(wait).await;
                }
            }
            Ok::<(), String>(())
        }));
    }

    // Probes: accounts without usage or load, one event each, watched on both nodes.
    let mut probes = Vec::new();
    let mut number = bench.accounts.saturating_sub(PROBE_ACCOUNTS).max(bench.usage_accounts) + 1;
    let today = demo.app.today();
    while started.elapsed() < Duration::from_secs(bench.seconds) && number <= bench.accounts {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let ids = demo
            .app
            .account_ids(&[domain::ExternalId::parse(&format!("ACC-{number:06}"))
                .map_err(|r| CliError::Usage(r.message(domain::i18n::Lang::En)))?])
            .await?;
        let Some(id) = ids.values().next().copied() else { break };
        let client = reqwest::Client::new();
        let response = client
            .post(&url)
            .basic_auth(&key, Some(""))
            .json(&serde_json::json!({"batch": [event_for(number, &format!("probe-{number}"))]}))
            .send()
            .await
            .map_err(|e| CliError::Usage(format!("probe failed: {e}")))?;
        let acknowledged = Instant::now();
        if !response.status().is_success() {
            return Err(CliError::Usage(format!("probe answered {}", response.status())));
        }
        let (first, second) = (demo.app.clone(), second.clone());
        probes.push(tokio::spawn(async move {
            let in_segment = watch(|| async {
                let (segments, _) = first.account_segments(id, 1).await?;
                Ok(segments.iter().any(|s| s.segment.id == segment.id))
            });
            let in_memory = watch(|| async { Ok(second.last_activity(id).await? == Some(today)) });
            let (in_segment, in_memory) = tokio::join!(in_segment, in_memory);
            (in_segment.map(|at| at.duration_since(acknowledged)), in_memory.map(|at| at.duration_since(acknowledged)))
        }));
        number += 1;
    }
    running.store(false, Ordering::Relaxed);
    for client in load {
        client.await.map_err(|e| CliError::Usage(e.to_string()))?.map_err(CliError::Usage)?;
    }
    let elapsed = started.elapsed();
    let (mut segment_delays, mut memory_delays) = (Vec::new(), Vec::new());
    let (mut segment_missed, mut memory_missed) = (0, 0);
    for probe in probes {
        let (in_segment, in_memory) = probe.await.map_err(|e| CliError::Usage(e.to_string()))?;
        match in_segment {
            Ok(delay) => segment_delays.push(delay),
            Err(_) => segment_missed += 1,
        }
        match in_memory {
            Ok(delay) => memory_delays.push(delay),
            Err(_) => memory_missed += 1,
        }
    }
    println!(
        "load: {} events over HTTP in batches of 100 from {clients} clients, spread over {} accounts: {:.0} events/s (asked {})",
        sent.load(Ordering::Relaxed),
        bench.accounts.saturating_sub(PROBE_ACCOUNTS),
        sent.load(Ordering::Relaxed) as f64 / elapsed.as_secs_f64(),
        bench.rate
    );
    for (what, delays, missed) in [
        (
            "acknowledged → in a segment on the node that took it (rescored and stored)",
            &mut segment_delays,
            segment_missed,
        ),
        ("acknowledged → in the second node's memory (change log)", &mut memory_delays, memory_missed),
    ] {
        delays.sort();
        println!(
            "{what}: {} probes seen, {missed} not within 30 s; of those seen p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
            delays.len(),
            ms(percentile(delays, 50)),
            ms(percentile(delays, 99)),
            ms(delays.last().copied().unwrap_or_default())
        );
    }
    Ok(())
}

/// Asks `done` every 10 ms until it holds (at most 30 s); returns when it first held.
async fn watch<F, Fut>(done: F) -> Result<Instant, app::AppError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<bool, app::AppError>>,
{
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if done().await? {
            return Ok(Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Err(app::AppError::Internal("not seen within 30 s".into()))
}
