//! `kizuna bench health`: the scoring engine on generated rollups — 100,000 accounts, a year of
//! daily uses of 40 features (each account uses 10 of them on about half the days) — timed for a
//! full recompute and for single accounts, beside the same feature computation in DuckDB
//! (`bench/health_duckdb.py`) on the same rows, generated there by the same rule.

use crate::CliError;
use app::health::{default_health_config, score_with, Portfolio};
use chrono::{Days, NaiveDate};
use domain::account::{Account, AccountInput};
use domain::health::HealthConfig;
use domain::subscription::AccountFigures;
use domain::usage::{Feature, FeatureDefinition};
use domain::{AccountId, ExternalId, Money};
use std::collections::HashMap;
use std::process::Command;
use std::time::{Duration, Instant};

const FEATURES: i64 = 40;
const USED_PER_ACCOUNT: i64 = 10;
const DAYS: i64 = 365;

/// The rule both sides generate by: which features an account uses, on which days, how often.
fn feature_of(account: i64, k: i64) -> i64 {
    (account + 4 * k) % FEATURES
}

fn used_on(account: i64, feature: i64, day: i64) -> Option<i64> {
    ((account * 7 + feature * 13 + day * 29) % 100 < 50).then_some(1 + (account + feature + day) % 3)
}

fn cadence(feature: i64) -> serde_json::Value {
    match feature % 4 {
        0 => serde_json::json!({"cadence": "weekly"}),
        1 => serde_json::json!({"cadence": "monthly"}),
        2 => serde_json::json!({"cadence": "quarterly"}),
        _ => serde_json::json!({"cadence": "annual", "season": "11-01..01-31"}),
    }
}

fn features() -> Vec<Feature> {
    (0..FEATURES)
        .map(|f| {
            let mut value = serde_json::json!({"key": format!("f{f:02}"), "name": format!("Feature {f}"), "event": format!("e{f}"),
                "importance": if f < 20 { "core" } else { "supporting" }});
            if let (Some(target), serde_json::Value::Object(extra)) = (value.as_object_mut(), cadence(f)) {
                target.extend(extra);
            }
            Feature { id: f + 1, definition: FeatureDefinition::parse(value).expect("bench features are valid") }
        })
        .collect()
}

/// The shipped measures, pointed at the bench's monthly and seasonal features.
fn config() -> HealthConfig {
    let mut config = default_health_config();
    for measure in config.scorecards.iter_mut().flat_map(|c| c.measures.iter_mut()) {
        if measure.feature.is_some() {
            let cadence_adherence = measure.kind == domain::health::MeasureType::CadenceAdherence;
            measure.feature = Some(if cadence_adherence { "f01" } else { "f03" }.into());
        }
    }
    config
}

fn account(id: i64) -> Account {
    Account {
        id: AccountId(id),
        input: AccountInput {
            employees: Some(20 + id % 200),
            ..AccountInput::new(ExternalId::parse(&format!("A{id}")).expect("a non-empty id"), format!("Account {id}"))
        },
        figures: AccountFigures {
            mrr: Money::ZERO,
            arr: Money::ZERO,
            first_paying_day: None,
            next_renewal_date: None,
            churned_on: None,
        },
        health: Default::default(),
        updated_at: chrono::Utc::now(),
    }
}

/// Σ over accounts and non-annual features of uses × position among the last periods (oldest
/// = 1), + Σ last-used day index, + Σ annual uses this season × 5 and last season × 6.
fn checksum(
    portfolio: &Portfolio,
    accounts: &[Account],
    first_day: NaiveDate,
    today: NaiveDate,
    periods: usize,
) -> i64 {
    let calendars = portfolio.calendars(today, periods);
    let mut sum = 0;
    for account in accounts {
        for f in portfolio.signals(account, &calendars).features {
            if let Some(last) = f.last_used {
                sum += (last - first_day).num_days();
            }
            match &f.season {
                Some(season) => sum += season.uses_this_season * 5 + season.uses_last_season * 6,
                None => sum += f.periods.iter().enumerate().map(|(i, p)| p.uses * (i as i64 + 1)).sum::<i64>(),
            }
        }
    }
    sum
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub fn run(accounts: usize, runs: usize, duckdb_script: &str) -> Result<(), CliError> {
    let today: NaiveDate = "2026-11-23".parse().map_err(|_| CliError::Usage("bench day".into()))?;
    let first_day = today.checked_sub_days(Days::new(DAYS as u64 - 1)).unwrap_or(today);
    let started = Instant::now();
    let mut feature_days: HashMap<AccountId, HashMap<i64, Vec<(NaiveDate, i64)>>> = HashMap::with_capacity(accounts);
    let mut rows = 0usize;
    for a in 0..accounts as i64 {
        let by_feature = feature_days.entry(AccountId(a + 1)).or_default();
        for k in 0..USED_PER_ACCOUNT {
            let f = feature_of(a, k);
            let days: Vec<(NaiveDate, i64)> = (0..DAYS)
                .filter_map(|d| used_on(a, f, d).map(|uses| (first_day + Days::new(d as u64), uses)))
                .collect();
            rows += days.len();
            by_feature.insert(f + 1, days);
        }
    }
    let portfolio = Portfolio::new(features(), HashMap::new(), feature_days, HashMap::new());
    let records: Vec<Account> = (1..=accounts as i64).map(account).collect();
    let config = config();
    println!(
        "data: {accounts} accounts, {FEATURES} features ({USED_PER_ACCOUNT} used per account), {DAYS} days: {rows} account×feature×day rows, generated in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = records.len().div_ceil(threads).max(1);
    let mut full_runs = Vec::new();
    let mut graded = HashMap::new();
    for _ in 0..runs.max(1) {
        let t0 = Instant::now();
        let calendars = portfolio.calendars_for(&config, today);
        let grades: Vec<Vec<String>> = std::thread::scope(|scope| {
            let workers: Vec<_> = records
                .chunks(chunk)
                .map(|part| {
                    let (portfolio, config, calendars) = (&portfolio, &config, &calendars);
                    scope.spawn(move || {
                        part.iter()
                            .filter_map(|a| score_with(config, portfolio, a, calendars).ok())
                            .map(|h| h.grade)
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            workers.into_iter().filter_map(|w| w.join().ok()).collect()
        });
        full_runs.push(t0.elapsed());
        graded = grades.into_iter().flatten().fold(HashMap::new(), |mut counts, g| {
            *counts.entry(g).or_insert(0usize) += 1;
            counts
        });
    }
    full_runs.sort();
    println!(
        "kizuna full recompute ({threads} threads, signals + score for every account): best {:.1} ms, median {:.1} ms of {} runs; grades {:?}",
        ms(full_runs[0]),
        ms(full_runs[full_runs.len() / 2]),
        full_runs.len(),
        graded
    );

    let mut singles: Vec<Duration> = records
        .iter()
        .step_by((records.len() / 1000).max(1))
        .map(|a| {
            // A single account's recompute includes its calendars, as the change worker's does.
            let t0 = Instant::now();
            let _ = score_with(&config, &portfolio, a, &portfolio.calendars_for(&config, today));
            t0.elapsed()
        })
        .collect();
    singles.sort();
    println!(
        "kizuna single account recompute: median {:.1} µs, p99 {:.1} µs over {} accounts",
        singles[singles.len() / 2].as_secs_f64() * 1e6,
        singles[singles.len() * 99 / 100].as_secs_f64() * 1e6,
        singles.len()
    );

    let periods = config.periods_needed();
    let t0 = Instant::now();
    let kizuna_sum: i64 = std::thread::scope(|scope| {
        let workers: Vec<_> = records
            .chunks(chunk)
            .map(|part| {
                let portfolio = &portfolio;
                scope.spawn(move || checksum(portfolio, part, first_day, today, periods))
            })
            .collect();
        workers.into_iter().filter_map(|w| w.join().ok()).sum()
    });
    let feature_time = t0.elapsed();
    println!(
        "kizuna computation of all {FEATURES} features, as DuckDB computes it ({threads} threads): {:.1} ms, checksum {kizuna_sum}",
        ms(feature_time)
    );

    if duckdb_script == "none" {
        return Ok(());
    }
    let output = Command::new("python3")
        .args([duckdb_script, &accounts.to_string(), &first_day.to_string(), &today.to_string(), &periods.to_string()])
        .output()
        .map_err(crate::io_error(format!("cannot run python3 {duckdb_script}")))?;
    if !output.status.success() {
        return Err(CliError::Usage(format!("{duckdb_script} failed: {}", String::from_utf8_lossy(&output.stderr))));
    }
    let peer: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| CliError::Usage(format!("{duckdb_script} printed no JSON: {e}")))?;
    let duck_ms = peer["query_seconds"].as_f64().unwrap_or(f64::NAN) * 1000.0;
    let duck_sum = peer["checksum"].as_i64().unwrap_or(-1);
    println!(
        "duckdb ({} threads): load {:.0} ms, same feature computation {:.1} ms, checksum {duck_sum} ({})",
        peer["threads"],
        peer["load_seconds"].as_f64().unwrap_or(f64::NAN) * 1000.0,
        duck_ms,
        if duck_sum == kizuna_sum { "matches" } else { "DIFFERS" }
    );
    println!(
        "full recompute (features the scorecard reads + scores) vs duckdb: kizuna {:.1} ms vs duckdb {:.1} ms → {:.1}×",
        ms(full_runs[0]),
        duck_ms,
        duck_ms / ms(full_runs[0])
    );
    println!(
        "like for like (all 40 features): kizuna {:.1} ms vs duckdb {:.1} ms → {:.1}×",
        ms(feature_time),
        duck_ms,
        duck_ms / ms(feature_time)
    );
    Ok(())
}
