//! The demo's product usage: end users of each customer and three years of tracking events
//! that follow the account's engagement, ramp up during onboarding and decline in the months
//! before a churn. Payslips go out monthly (a core monthly feature) and employees submit their
//! year-end adjustment between November and January (a core seasonal feature).

use super::{add_days, DemoData, Rng};
use crate::CatalogFile;
use chrono::{DateTime, Datelike, Months, NaiveDate, TimeZone, Utc};
use domain::tracking::{JsonObject, Message, MessageKind};
use serde_json::{json, Map, Value};

/// The catalog the demo ships: the same file as `examples/features.toml`.
pub const DEMO_CATALOG: &str = include_str!("../../../../examples/features.toml");

pub fn demo_catalog() -> CatalogFile {
    CatalogFile::parse("examples/features.toml", DEMO_CATALOG).expect("the shipped feature catalog is valid")
}

/// Days before a churn over which usage fades.
const DECLINE_DAYS: i64 = 180;
/// Days after a start over which usage ramps up.
const RAMP_DAYS: i64 = 60;

/// A stretch of days in which the account had the product (its core subscription).
pub(super) struct Window {
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
}

pub(super) fn core_windows(data: &DemoData, account: &str) -> Vec<Window> {
    let mut windows: Vec<Window> = Vec::new();
    for &(start, end) in data.core_periods.get(account).map_or(&[][..], Vec::as_slice) {
        match windows.last_mut() {
            Some(last) if last.end == Some(start) => last.end = end,
            _ => windows.push(Window { start, end }),
        }
    }
    windows
}

/// How engaged the account is on `day`, from 0 to 1.
pub(super) fn engagement(base: f64, window: &Window, day: NaiveDate, declining_from: Option<NaiveDate>) -> f64 {
    let ramp = ((day - window.start).num_days() as f64 / RAMP_DAYS as f64).clamp(0.3, 1.0);
    let churn = window.end.map_or(1.0, |end| ((end - day).num_days() as f64 / DECLINE_DAYS as f64).clamp(0.1, 1.0));
    let risk = declining_from
        .filter(|from| day >= *from)
        .map_or(1.0, |from| (1.0 - (day - from).num_days() as f64 / 150.0).clamp(0.15, 1.0));
    base * ramp * churn * risk
}

struct Emitter<'a> {
    account: &'a str,
    messages: Vec<Message>,
}

impl Emitter<'_> {
    fn push(
        &mut self,
        kind: MessageKind,
        user: &str,
        event: Option<&str>,
        at: DateTime<Utc>,
        traits: Value,
        properties: Value,
    ) {
        let n = self.messages.len();
        let object = |v: Value| if let Value::Object(map) = v { map } else { Map::new() };
        let mut context = Map::new();
        context.insert("groupId".into(), Value::from(self.account));
        self.messages.push(Message {
            kind,
            message_id: format!("demo-{}-{user}-{}-{n}", self.account, at.timestamp()),
            user_id: Some(user.to_owned()),
            anonymous_id: None,
            event: event.map(str::to_owned),
            group_id: Some(self.account.to_owned()),
            previous_id: None,
            traits: object(traits),
            properties: JsonObject::from_map(&object(properties)),
            context: JsonObject::from_map(&context),
            timestamp: at,
        });
    }
}

/// 09:00–18:59 Tokyo time on `day`.
fn office_hours(rng: &mut Rng, day: NaiveDate) -> DateTime<Utc> {
    let tokyo = chrono::FixedOffset::east_opt(9 * 3600).expect("a valid offset");
    let local =
        day.and_hms_opt(rng.range(9, 18) as u32, rng.range(0, 59) as u32, rng.range(0, 59) as u32).unwrap_or_default();
    tokyo.from_local_datetime(&local).single().map_or_else(Utc::now, |t| t.with_timezone(&Utc))
}

fn month_days(first: NaiveDate) -> i64 {
    first.checked_add_months(Months::new(1)).map_or(30, |next| (next - first).num_days())
}

/// How engaged an account is at heart, and from when an at-risk account has been fading: drawn
/// first from the account's own generator, so usage and the voice of the customer agree.
pub(super) struct Profile {
    pub rng: Rng,
    pub base: f64,
    pub declining_from: Option<NaiveDate>,
}

pub(super) fn profile(data: &DemoData, index: usize, seed: u64, today: NaiveDate) -> Profile {
    let mut rng = Rng(seed ^ (index as u64 + 1).wrapping_mul(0x2545_F491_4F6C_DD1D));
    let base = 0.45 + rng.below(56) as f64 / 100.0;
    let at_risk = data.accounts[index].stage.as_deref() == Some("at_risk");
    let declining_from = at_risk.then(|| add_days(today, -rng.range(60, 150)));
    Profile { rng, base, declining_from }
}

/// Every tracking message of one account, oldest first.
pub fn account_messages(data: &DemoData, index: usize, seed: u64, today: NaiveDate) -> Vec<Message> {
    let record = &data.accounts[index];
    let account = record.external_id.as_str();
    let Profile { mut rng, base, declining_from } = profile(data, index, seed, today);
    let employees = record.employees.unwrap_or(10);
    let cap = match record.tier.as_deref() {
        Some("enterprise") => 60,
        Some("mid") => 40,
        _ => 25,
    };
    let users: Vec<String> = (0..employees.min(cap)).map(|k| format!("U-{}-{k:03}", &account[4..])).collect();
    let domain = record.domain.clone().unwrap_or_else(|| "example.jp".into());
    let mut out = Emitter { account, messages: Vec::new() };
    let mut introduced = vec![false; users.len()];

    for window in core_windows(data, account) {
        let last = window.end.map_or(today, |end| add_days(end, -1)).min(today);
        let mut month = window.start.with_day(1).unwrap_or(window.start);
        while month <= last {
            let days = month_days(month);
            let mid_month = add_days(month, 14).clamp(window.start, last);
            let level = engagement(base, &window, mid_month, declining_from);
            for (k, user) in users.iter().enumerate() {
                let admin = k < 2;
                if !admin && !rng.chance((level * 100.0) as u64) {
                    continue;
                }
                let mut active_days: Vec<NaiveDate> = (0..rng.range(1, if admin { 8 } else { 4 }))
                    .map(|_| add_days(month, rng.below(days as u64) as i64))
                    .filter(|d| *d >= window.start && *d <= last)
                    .collect();
                active_days.sort();
                active_days.dedup();
                for day in active_days {
                    let at = office_hours(&mut rng, day);
                    if !introduced[k] {
                        introduced[k] = true;
                        let role = if admin { "admin" } else { "employee" };
                        out.push(MessageKind::Identify, user, None, at, json!({"email": format!("user{k}@{domain}"), "name": format!("{} {}", account, k), "role": role}), json!({}));
                        out.push(
                            MessageKind::Group,
                            user,
                            None,
                            at,
                            json!({"name": record.name, "employees": employees}),
                            json!({}),
                        );
                    }
                    out.push(MessageKind::Track, user, Some("Logged In"), at, json!({}), json!({}));
                    if admin {
                        if rng.chance((level * 90.0) as u64) {
                            out.push(
                                MessageKind::Track,
                                user,
                                Some("Employee Updated"),
                                at,
                                json!({}),
                                json!({"fields": rng.range(1, 5)}),
                            );
                        }
                        if rng.chance((level * 35.0) as u64) {
                            let report = if rng.chance(70) { "Report Exported" } else { "Report Scheduled" };
                            out.push(
                                MessageKind::Track,
                                user,
                                Some(report),
                                at,
                                json!({}),
                                json!({"report": "headcount"}),
                            );
                        }
                        if rng.chance((level * 20.0) as u64) {
                            let kind = if rng.chance(60) { "employment_contract" } else { "nda" };
                            out.push(
                                MessageKind::Track,
                                user,
                                Some("Document Signed"),
                                at,
                                json!({}),
                                json!({"type": kind}),
                            );
                        }
                    }
                }
            }
            // Payroll day: the 25th. A disengaged customer skips months.
            let payday = add_days(month, 24);
            if payday >= window.start && payday <= last && rng.chance((level.sqrt() * 100.0) as u64) {
                let at = office_hours(&mut rng, payday);
                out.push(
                    MessageKind::Track,
                    &users[0],
                    Some("Payslip Published"),
                    at,
                    json!({}),
                    json!({"month": format!("{}-{:02}", payday.year(), payday.month()), "employees": employees}),
                );
            }
            // Year-end adjustment season: employees submit in November and December.
            if month.month() == 11 || month.month() == 12 {
                for user in users.iter().skip(2) {
                    let day = add_days(month, rng.below(days as u64) as i64);
                    if day >= window.start && day <= last && rng.chance((level * 55.0) as u64) {
                        let at = office_hours(&mut rng, day);
                        out.push(
                            MessageKind::Track,
                            user,
                            Some("Year End Adjustment Submitted"),
                            at,
                            json!({}),
                            json!({"year": month.year()}),
                        );
                    }
                }
            }
            month = month.checked_add_months(Months::new(1)).unwrap_or(today);
        }
    }
    // Identify and group of a user come first: sort by time, keeping the order within a second.
    out.messages.sort_by_key(|m| m.timestamp);
    out.messages
}

#[cfg(test)]
mod tests {
    use super::super::{generate, DemoOptions};
    use super::*;
    use domain::usage::{feature_use, local_day, Feature, Tz};
    use std::collections::HashMap;

    fn today() -> NaiveDate {
        "2026-11-23".parse().unwrap()
    }

    #[test]
    fn the_shipped_catalog_has_a_monthly_and_a_seasonal_core_feature() {
        let catalog = demo_catalog();
        let cadences: Vec<&str> = catalog.features.iter().map(|f| f.cadence.name()).collect();
        assert!(cadences.contains(&"monthly") && cadences.contains(&"annual"));
    }

    /// Uses of a feature per day, from the generated messages.
    fn days_of(messages: &[Message], feature: &Feature) -> Vec<(NaiveDate, i64)> {
        let mut days: HashMap<NaiveDate, i64> = HashMap::new();
        for m in messages.iter().filter(|m| m.kind == MessageKind::Track) {
            if feature.definition.matches(m.event.as_deref().unwrap_or(""), &m.properties) {
                *days.entry(local_day(m.timestamp, Tz::Asia__Tokyo)).or_default() += 1;
            }
        }
        let mut days: Vec<(NaiveDate, i64)> = days.into_iter().collect();
        days.sort_unstable();
        days
    }

    #[test]
    fn churned_accounts_use_less_before_they_leave_and_nothing_after() {
        let data = generate(DemoOptions::default(), today());
        let (mut before, mut early, mut compared) = (0usize, 0usize, 0usize);
        for (index, account) in data.accounts.iter().enumerate() {
            let windows = core_windows(&data, account.external_id.as_str());
            let [window] = windows.as_slice() else { continue };
            let Some(end) = window.end else { continue };
            if (end - window.start).num_days() < 540 {
                continue;
            }
            let messages = account_messages(&data, index, 42, today());
            assert!(messages.iter().all(|m| m.timestamp.date_naive() < end), "no use after the churn");
            let count = |from: NaiveDate, to: NaiveDate| {
                messages
                    .iter()
                    .filter(|m| {
                        m.kind == MessageKind::Track
                            && from <= m.timestamp.date_naive()
                            && m.timestamp.date_naive() < to
                    })
                    .count()
            };
            before += count(add_days(end, -90), end);
            early += count(add_days(end, -450), add_days(end, -360));
            compared += 1;
        }
        assert!(compared > 3, "enough long-lived churned accounts to compare: {compared}");
        assert!(before * 2 < early, "usage in the last 90 days ({before}) well below a year earlier ({early})");
    }

    #[test]
    fn a_healthy_account_publishes_payslips_and_adjusts_year_end_each_season() {
        let data = generate(DemoOptions::default(), today());
        let catalog = demo_catalog();
        let payslip = Feature { id: 1, definition: catalog.features[0].clone() };
        let year_end = Feature { id: 2, definition: catalog.features[1].clone() };
        let long_standing: Vec<usize> = (0..data.accounts.len())
            .filter(|i| {
                let windows = core_windows(&data, data.accounts[*i].external_id.as_str());
                matches!(windows.as_slice(), [w] if w.end.is_none() && w.start < "2025-09-01".parse().unwrap())
                    && data.accounts[*i].stage.as_deref() != Some("at_risk")
            })
            .collect();
        let seasonal_users = long_standing
            .iter()
            .filter(|i| {
                let messages = account_messages(&data, **i, 42, today());
                let season = feature_use(&year_end, &days_of(&messages, &year_end), today(), 2).season.unwrap();
                let months = feature_use(&payslip, &days_of(&messages, &payslip), today(), 6);
                season.uses_last_season > 0 && months.periods.iter().filter(|p| p.complete && p.uses > 0).count() >= 4
            })
            .count();
        assert!(long_standing.len() >= 40, "enough long-standing customers: {}", long_standing.len());
        assert!(
            seasonal_users * 10 >= long_standing.len() * 7,
            "most use both: {seasonal_users} of {}",
            long_standing.len()
        );
    }
}
