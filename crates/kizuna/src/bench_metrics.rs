//! `kizuna bench metrics`: the monthly metric suite (MRR series, period reports with movements
//! and rates, cohorts, LTV/CAC) over generated subscription histories, timed in-process, and the
//! period reports computed by DuckDB SQL on the same rows, compared figure by figure.

use crate::CliError;
use app::demo::{generate, DemoOptions};
use chrono::{Datelike, Months};
use domain::interchange::subscriptions;
use domain::metrics::{
    acquisition_reports, cohorts, period_reports, series_by_account, Interval, PeriodReport, Periods, YearMonth,
};
use domain::subscription::SubscriptionTerms;
use domain::AccountId;
use rust_decimal::{Decimal, RoundingStrategy};
use std::collections::{BTreeMap, HashMap};
use std::process::Command;
use std::time::{Duration, Instant};

struct Timings {
    series: Duration,
    reports: Duration,
    cohorts: Duration,
    unit_economics: Duration,
}

impl Timings {
    fn total(&self) -> Duration {
        self.series + self.reports + self.cohorts + self.unit_economics
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub fn run(accounts: usize, years: u32, runs: usize, duckdb_script: &str) -> Result<(), CliError> {
    let today = chrono::Utc::now().date_naive();
    let this_month = today.with_day(1).unwrap_or(today);
    let to = this_month.pred_opt().unwrap_or(today);
    let from = this_month.checked_sub_months(Months::new(years * 12)).unwrap_or(this_month);
    let started = Instant::now();
    let data = generate(
        DemoOptions { accounts, seed: 42, history_months: years * 12, usage: false, usage_accounts: None },
        to,
    );
    let ids: HashMap<&str, AccountId> =
        data.accounts.iter().enumerate().map(|(i, a)| (a.external_id.as_str(), AccountId(i as i64 + 1))).collect();
    let terms: Vec<SubscriptionTerms> =
        data.subscriptions.iter().map(|r| r.terms(ids[r.account_external_id.as_str()])).collect();
    let spend: BTreeMap<YearMonth, domain::Money> = data.spend.iter().copied().collect();
    println!(
        "data: {} accounts, {} subscription periods, {from} .. {to} ({} months), generated in {:.1} s",
        data.accounts.len(),
        terms.len(),
        years * 12,
        started.elapsed().as_secs_f64()
    );

    let periods = Periods::split(Interval::Month, from, to);
    let mut timings = Vec::new();
    let mut kizuna_reports = Vec::new();
    for _ in 0..runs.max(1) {
        let t0 = Instant::now();
        let series = series_by_account(&terms);
        let t1 = Instant::now();
        let reports = period_reports(&series, &periods);
        let t2 = Instant::now();
        let cohort_table = cohorts(&series, YearMonth::of(from), YearMonth::of(to));
        let t3 = Instant::now();
        let economics = acquisition_reports(&series, &reports, &spend, Decimal::ONE);
        let t4 = Instant::now();
        std::hint::black_box((&cohort_table, &economics));
        timings.push(Timings { series: t1 - t0, reports: t2 - t1, cohorts: t3 - t2, unit_economics: t4 - t3 });
        kizuna_reports = reports;
    }
    timings.sort_by_key(Timings::total);
    let best = &timings[0];
    let median = &timings[timings.len() / 2];
    println!("kizuna (1 thread), {} runs:", timings.len());
    println!("  {:<34} {:>9} {:>9}", "stage", "best ms", "median ms");
    for (name, pick) in [
        ("MRR series (change points)", (|t: &Timings| t.series) as fn(&Timings) -> Duration),
        ("monthly period reports", |t: &Timings| t.reports),
        ("cohorts (logo + revenue)", |t: &Timings| t.cohorts),
        ("LTV / CAC per month", |t: &Timings| t.unit_economics),
        ("full monthly suite", Timings::total),
    ] {
        println!("  {:<34} {:>9.1} {:>9.1}", name, ms(pick(best)), ms(pick(median)));
    }
    let comparable = best.series + best.reports;

    if duckdb_script == "none" {
        return Ok(());
    }
    let dir = tempfile::tempdir().map_err(crate::io_error("temporary directory"))?;
    let csv_path = dir.path().join("subscriptions.csv");
    let csv =
        subscriptions::write(&data.subscriptions).map_err(|e| CliError::Usage(format!("writing the CSV: {e}")))?;
    std::fs::write(&csv_path, csv).map_err(crate::io_error(format!("cannot write {}", csv_path.display())))?;
    let output = Command::new("python3")
        .arg(duckdb_script)
        .arg(&csv_path)
        .arg(from.to_string())
        .arg(to.to_string())
        .output()
        .map_err(crate::io_error(format!("cannot run python3 {duckdb_script}")))?;
    if !output.status.success() {
        return Err(CliError::Usage(format!("{duckdb_script} failed: {}", String::from_utf8_lossy(&output.stderr))));
    }
    let peer: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| CliError::Usage(format!("{duckdb_script} printed no JSON: {e}")))?;
    let query_seconds: Vec<f64> =
        peer["query_seconds"].as_array().into_iter().flatten().filter_map(|v| v.as_f64()).collect();
    let duckdb_best = query_seconds.iter().copied().fold(f64::INFINITY, f64::min) * 1000.0;
    println!(
        "duckdb {} ({} threads): load {:.0} ms, monthly period query best {:.1} ms of {:?}",
        peer["version"].as_str().unwrap_or("?"),
        peer["threads"],
        peer["load_seconds"].as_f64().unwrap_or(0.0) * 1000.0,
        duckdb_best,
        query_seconds.iter().map(|s| (s * 10000.0).round() / 10.0).collect::<Vec<_>>()
    );
    println!(
        "same computation (series + monthly period reports): kizuna {:.1} ms vs duckdb {:.1} ms → kizuna is {:.1}× {}",
        ms(comparable),
        duckdb_best,
        if ms(comparable) < duckdb_best { duckdb_best / ms(comparable) } else { ms(comparable) / duckdb_best },
        if ms(comparable) < duckdb_best { "faster" } else { "slower" }
    );
    let mismatches = compare(&kizuna_reports, &peer["months"]);
    if mismatches.is_empty() {
        println!("results: all {} months agree on every figure", kizuna_reports.len());
        Ok(())
    } else {
        for mismatch in mismatches.iter().take(10) {
            println!("  MISMATCH {mismatch}");
        }
        Err(CliError::Usage(format!("{} figures differ between Kizuna and DuckDB", mismatches.len())))
    }
}

fn rounded(value: Option<Decimal>, places: u32) -> serde_json::Value {
    match value {
        Some(v) => {
            let mut r = v.round_dp_with_strategy(places, RoundingStrategy::MidpointAwayFromZero);
            r.rescale(places);
            serde_json::Value::String(r.to_string())
        }
        None => serde_json::Value::Null,
    }
}

/// Every figure the two engines computed, compared as the same decimal strings.
fn compare(reports: &[PeriodReport], months: &serde_json::Value) -> Vec<String> {
    let empty = Vec::new();
    let months = months.as_array().unwrap_or(&empty);
    let mut mismatches = Vec::new();
    if months.len() != reports.len() {
        mismatches.push(format!("{} months from DuckDB, {} from Kizuna", months.len(), reports.len()));
    }
    for (report, peer) in reports.iter().zip(months) {
        let m = &report.movements;
        let money = |v: domain::Money| serde_json::Value::String(v.reported().to_string());
        let ours = [
            ("mrr_start", money(report.mrr_start)),
            ("mrr_end", money(report.mrr_end)),
            ("new", money(m.new.amount)),
            ("expansion", money(m.expansion.amount)),
            ("contraction", money(m.contraction.amount)),
            ("churn", money(m.churn.amount)),
            ("reactivation", money(m.reactivation.amount)),
            ("customers_start", report.customers_start.into()),
            ("customers_end", report.customers_end.into()),
            ("churned_customers", report.churned_customers.into()),
            ("nrr", rounded(report.nrr, 6)),
            ("grr", rounded(report.grr, 6)),
        ];
        let month = YearMonth::of(report.period.first()).to_string();
        if peer["month"].as_str() != Some(month.as_str()) {
            mismatches.push(format!("month {month} vs {}", peer["month"]));
        }
        for (name, value) in ours {
            if peer[name] != value {
                mismatches.push(format!("{month} {name}: kizuna {value} duckdb {}", peer[name]));
            }
        }
    }
    mismatches
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_compared_at_six_decimals_rounded_half_away_from_zero() {
        assert_eq!(rounded(Some(Decimal::new(10_000_005, 7)), 6), serde_json::json!("1.000001"));
        assert_eq!(rounded(Some(Decimal::ONE), 6), serde_json::json!("1.000000"));
        assert_eq!(rounded(None, 6), serde_json::Value::Null);
    }
}
