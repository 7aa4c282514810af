//! Health over time: today's snapshot per account (rescored by `reactions` within a second of a
//! change and on a schedule), past days' snapshots, score trends and grade drops; grade changes
//! go to the account's timeline; CSM pulses.

use crate::health::{score_all_of, score_with};
use crate::notifications::{account_csms, named};
use crate::playbooks::{EventKind, TriggerEvent};
use crate::records::require_account_edit;
use crate::{Actor, App, AppError};
use chrono::{Days, NaiveDate};
use domain::account::{Account, CurrentHealth};
use domain::health::history::{is_drop, score_change, trend, Snapshot, Trend};
use domain::health::pulse::PulseInput;
use domain::health::HealthScore;
use domain::i18n::Bilingual;
use domain::notifications::Notice;
use domain::subscription::{churned_on, SubscriptionTerms};
use domain::timeline::{TimelineEntryInput, TimelineEvent};
use domain::AccountId;
use engine::Change;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use store::Pulse;

/// The window of grade drops home lists (days back from today).
pub const HOME_GRADE_DROP_DAYS: u64 = 7;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HealthHistory {
    pub account_id: i64,
    pub trend: Trend,
    /// Oldest first.
    pub snapshots: Vec<Snapshot>,
}

/// An account whose grade got worse in a window.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GradeDrop {
    pub account_id: i64,
    pub name: String,
    pub from_grade: String,
    pub to_grade: String,
    pub day: NaiveDate,
    pub score: Option<f64>,
}

impl GradeDrop {
    /// The playbook trigger this drop is: the same occurrence as the live change on its day, so
    /// a playbook starts once for it.
    pub fn trigger_event(&self) -> TriggerEvent {
        TriggerEvent {
            account: AccountId(self.account_id),
            kind: EventKind::GradeChanged { from: self.from_grade.clone(), to: self.to_grade.clone() },
            occurrence: grade_change_occurrence(self.day, &self.from_grade, &self.to_grade),
            data: serde_json::json!({"from": self.from_grade, "to": self.to_grade, "day": self.day, "score": self.score}),
        }
    }
}

/// What makes a grade change on a day one occurrence for playbooks.
fn grade_change_occurrence(day: NaiveDate, from: &str, to: &str) -> String {
    format!("grade:{day}:{from}>{to}")
}

/// A grade that got worse since a day, before its account's name is looked up.
#[derive(Debug, Clone)]
struct Worsened {
    from_grade: String,
    to_grade: String,
    day: NaiveDate,
    score: Option<f64>,
}

/// An account's current health as a stored grade: its latest snapshot (`save_health` writes
/// both in one transaction); `None` before it was first scored.
fn current_grade(row: &Account) -> Option<(AccountId, store::GradeOn)> {
    let health = &row.health;
    Some((row.id, store::GradeOn { day: health.on?, score: health.score, grade: health.grade.clone()? }))
}

/// A drop from the `first` grade to the `last`, if it is one.
fn worsened(grades: &[String], first: &store::GradeOn, last: &store::GradeOn) -> Option<Worsened> {
    is_drop(grades, &first.grade, &last.grade).then(|| Worsened {
        from_grade: first.grade.clone(),
        to_grade: last.grade.clone(),
        day: last.day,
        score: last.score,
    })
}

/// The accounts whose grade got worse since one day (the home page's window), kept by the
/// health worker: finding them reads every account's recent snapshots, seconds at 100,000
/// accounts, while a recompute knows which accounts it just changed. Other nodes' recomputes
/// show after this node's next full recompute (hourly).
#[derive(Default)]
pub(crate) struct DropCache {
    entry: std::sync::Mutex<Option<(NaiveDate, HashMap<AccountId, Worsened>)>>,
}

impl DropCache {
    fn since(&self) -> Option<NaiveDate> {
        self.entry.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(|(since, _)| *since)
    }

    fn read(&self, since: NaiveDate) -> Option<Vec<(AccountId, Worsened)>> {
        let entry = self.entry.lock().unwrap_or_else(|p| p.into_inner());
        let (cached_since, drops) = entry.as_ref()?;
        (*cached_since == since).then(|| drops.iter().map(|(id, d)| (*id, d.clone())).collect())
    }

    pub(crate) fn clear(&self) {
        *self.entry.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    fn replace(&self, since: NaiveDate, drops: HashMap<AccountId, Worsened>) {
        *self.entry.lock().unwrap_or_else(|p| p.into_inner()) = Some((since, drops));
    }

    /// Replaces what is known of these accounts, if the cache still holds `since`.
    fn update(&self, since: NaiveDate, accounts: &[AccountId], drops: HashMap<AccountId, Worsened>) {
        let mut entry = self.entry.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, cached)) = entry.as_mut().filter(|(cached_since, _)| *cached_since == since) {
            for id in accounts {
                cached.remove(id);
            }
            cached.extend(drops);
        }
    }
}

/// Each account's latest snapshot on or before a past day, as read: the grade before the home
/// page's window and the score a month ago, which every recompute compares with. A past day's
/// snapshot changes only when history is backfilled, which ends in a full recompute that
/// forgets them all; so each account is read once per day asked, not once per recompute.
#[derive(Default)]
pub(crate) struct PastGrades {
    /// Per day asked, every account read: its grade then, or `None` when it had no snapshot yet.
    days: std::sync::Mutex<HashMap<NaiveDate, HashMap<AccountId, Option<store::GradeOn>>>>,
}

/// How many past days are kept (the days asked move on with today).
const PAST_DAYS_KEPT: usize = 4;

impl PastGrades {
    /// The grades on `day` known of these accounts, and the accounts not read yet.
    fn known(&self, day: NaiveDate, accounts: &[AccountId]) -> (HashMap<AccountId, store::GradeOn>, Vec<AccountId>) {
        let days = self.days.lock().unwrap_or_else(|p| p.into_inner());
        let kept = days.get(&day);
        let mut found = HashMap::new();
        let mut missing = Vec::new();
        for id in accounts {
            match kept.and_then(|grades| grades.get(id)) {
                Some(Some(grade)) => {
                    found.insert(*id, grade.clone());
                }
                Some(None) => {}
                None => missing.push(*id),
            }
        }
        (found, missing)
    }

    /// Keeps what was read of `read` accounts on `day`: `found` holds those that had a grade.
    fn keep(&self, day: NaiveDate, read: &[AccountId], found: &HashMap<AccountId, store::GradeOn>) {
        let mut days = self.days.lock().unwrap_or_else(|p| p.into_inner());
        if !days.contains_key(&day) && days.len() >= PAST_DAYS_KEPT {
            if let Some(oldest) = days.keys().min().copied() {
                days.remove(&oldest);
            }
        }
        let kept = days.entry(day).or_default();
        kept.extend(read.iter().map(|id| (*id, found.get(id).cloned())));
    }

    pub(crate) fn clear(&self) {
        self.days.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RecomputeSummary {
    pub accounts: usize,
    pub grade_changes: usize,
}

/// Two scores a reader cannot tell apart (shown to one decimal).
fn same_score(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a * 10.0).round() == (b * 10.0).round(),
        (a, b) => a.is_none() && b.is_none(),
    }
}

fn snapshot_of(health: &HealthScore) -> Snapshot {
    Snapshot {
        day: health.as_of,
        score: health.score,
        grade: health.grade.clone(),
        measures: health.measures.iter().map(|m| (m.key.clone(), m.points)).collect(),
    }
}

impl App {
    /// Scores the accounts (all when `None`) as of today, stores today's snapshots, and writes a
    /// timeline entry for each grade that changed since the previous snapshot; returns the grade
    /// changes as playbook trigger events. Churned accounts are not scored: no snapshot, no grade
    /// change, no playbook (their figures cleared their current health). `reactions` calls this
    /// first, with the accounts' rows (which it brings up to date with what it stored), and the
    /// segments, playbooks and onboarding after it.
    pub(crate) async fn rescore(
        &self,
        accounts: Option<&[AccountId]>,
        rows: &mut [Account],
    ) -> Result<(RecomputeSummary, Vec<TriggerEvent>), AppError> {
        let config = self.health_config().await?;
        let today = self.today();
        let started = std::time::Instant::now();
        let paying = rows.iter().filter(|account| !account.figures.is_churned()).cloned().collect();
        let scored = score_all_of(&config, self.portfolio().await?, paying, today).await?;
        let computed = started.elapsed();
        // The grade to compare with: the account's current health (today's snapshot if there is one).
        let known: HashMap<AccountId, store::GradeOn> = rows.iter().filter_map(current_grade).collect();
        // Today's snapshot already saying what a reader would see: writing it again changes nothing.
        let total = scored.len();
        let scored: Vec<&(Account, HealthScore)> = scored
            .iter()
            .filter(|(account, health)| {
                !known.get(&account.id).is_some_and(|known| {
                    known.day == today && known.grade == health.grade && same_score(known.score, health.score)
                })
            })
            .collect();
        let changed: Vec<AccountId> = scored.iter().map(|(account, _)| account.id).collect();
        if accounts.is_none() {
            // Past days' snapshots change only by a backfill, which ends here: read them afresh.
            self.past_grades.clear();
        }
        let month_ago: HashMap<AccountId, Option<f64>> = match today.checked_sub_days(Days::new(30)) {
            Some(day) if !changed.is_empty() => {
                self.grades_on_past_day(day, &changed).await?.into_iter().map(|(id, on)| (id, on.score)).collect()
            }
            _ => HashMap::new(),
        };
        let mut snapshots = Vec::with_capacity(scored.len());
        let mut summary = RecomputeSummary::default();
        let mut grade_events = Vec::new();
        let grades = config.grade_keys();
        let mut notices = Vec::new();
        let mut timeline = Vec::new();
        for (account, health) in scored.iter().copied() {
            if let Some(before) = known.get(&account.id).map(|k| &k.grade).filter(|grade| **grade != health.grade) {
                if is_drop(&grades, before, &health.grade) {
                    let at = (today, health.grade.as_str());
                    let notice = match (&health.capped_by, health.drivers.first()) {
                        (Some(_), Some(driver)) => {
                            Notice::critical_signal(&named(account), &Bilingual::new(&driver.ja, &driver.en), at)
                        }
                        _ => Notice::grade_dropped(
                            &named(account),
                            &config.grade_name(before),
                            &config.grade_name(&health.grade),
                            at,
                        ),
                    };
                    notices.push((account_csms(account), notice));
                }
                let event = TimelineEvent::GradeChanged {
                    from: config.grade_name(before),
                    to: config.grade_name(&health.grade),
                    drivers: health.drivers.iter().map(|d| Bilingual::new(&d.ja, &d.en)).collect(),
                };
                timeline.push(TimelineEntryInput::recorded(account.id, None, chrono::Utc::now(), event));
                summary.grade_changes += 1;
                grade_events.push(TriggerEvent {
                    account: account.id,
                    kind: EventKind::GradeChanged { from: before.clone(), to: health.grade.clone() },
                    occurrence: grade_change_occurrence(today, before, &health.grade),
                    data: serde_json::json!({
                        "from": before, "to": health.grade, "score": health.score,
                        "drivers": health.drivers.iter().map(|d| serde_json::json!({"ja": d.ja, "en": d.en})).collect::<Vec<_>>(),
                    }),
                });
            }
            let delta = score_change(health.score, month_ago.get(&account.id).copied().flatten());
            snapshots.push((account.id, snapshot_of(health), delta));
        }
        self.store.create_timeline_entries(&timeline).await?;
        let compared = started.elapsed();
        self.store.save_health(&snapshots).await?;
        let saved = started.elapsed();
        summary.accounts = total;
        let stored: HashMap<AccountId, &(AccountId, Snapshot, Option<f64>)> =
            snapshots.iter().map(|s| (s.0, s)).collect();
        for row in rows.iter_mut() {
            if let Some((_, snapshot, delta)) = stored.get(&row.id) {
                row.health = CurrentHealth {
                    score: snapshot.score,
                    grade: Some(snapshot.grade.clone()),
                    delta_30d: *delta,
                    on: Some(snapshot.day),
                };
            }
        }
        self.refresh_grade_drops(accounts, rows).await?;
        let dropped = started.elapsed();
        for (csms, notice) in notices {
            self.notify_quietly(csms, &notice, chrono::Utc::now()).await;
        }
        tracing::debug!(
            accounts = snapshots.len(),
            score_ms = computed.as_millis(),
            compare_ms = (compared - computed).as_millis(),
            save_ms = (saved - compared).as_millis(),
            grade_drops_ms = (dropped - saved).as_millis(),
            notify_ms = (started.elapsed() - dropped).as_millis(),
            "rescored"
        );
        Ok((summary, grade_events))
    }

    /// Scores every account as of each past day (from data dated by then, as the backtest does)
    /// and stores those snapshots, then today's scores: a new workspace then has score trends and
    /// grade drops from its first day. An account churned on a day gets no snapshot for it.
    /// Returns the snapshots stored for past days.
    pub async fn backfill_health_history(&self, days: &[NaiveDate]) -> Result<usize, AppError> {
        let config = self.health_config().await?;
        let portfolio = self.portfolio().await?;
        let accounts = self.all_accounts().await?;
        let mut periods: HashMap<AccountId, Vec<SubscriptionTerms>> = HashMap::new();
        for period in self.store.periods_of_accounts(None).await? {
            periods.entry(period.terms.account_id).or_default().push(period.terms);
        }
        let mut stored = 0;
        // Newest first: only the first day's scores become the accounts' current health, so
        // each account row is written once, not once per day.
        let mut days = days.to_vec();
        days.sort_by(|a, b| b.cmp(a));
        for day in &days {
            let calendars = portfolio.calendars_for(&config, *day);
            let mut snapshots = Vec::with_capacity(accounts.len());
            for account in &accounts {
                let terms: Vec<&SubscriptionTerms> = periods.get(&account.id).into_iter().flatten().collect();
                if churned_on(&terms, *day).is_some() {
                    continue;
                }
                let health = score_with(&config, &portfolio, account, &calendars)?;
                snapshots.push((account.id, snapshot_of(&health), None));
            }
            self.store.save_health(&snapshots).await?;
            stored += snapshots.len();
        }
        self.recompute_health(None).await?;
        Ok(stored)
    }

    /// Scores every paying account as of today from the portfolio in memory and stores nothing:
    /// the arithmetic of a full recompute, which `kizuna bench engine` times. Returns how many it
    /// scored, and how long reading the account rows and scoring took.
    pub async fn score_all(&self) -> Result<(usize, Duration, Duration), AppError> {
        let config = self.health_config().await?;
        let started = std::time::Instant::now();
        let paying: Vec<Account> =
            self.all_accounts().await?.into_iter().filter(|account| !account.figures.is_churned()).collect();
        let read = started.elapsed();
        let scored = score_all_of(&config, self.portfolio().await?, paying, self.today()).await?.len();
        Ok((scored, read, started.elapsed() - read))
    }

    /// Recomputes every account now and then every `every`, for as long as the process runs.
    pub async fn keep_health_current(self: Arc<App>, every: Duration) {
        loop {
            self.reload_portfolio_when_old();
            if let Err(error) = self.recompute_health(None).await {
                tracing::warn!(%error, "scheduled health recompute failed");
            }
            if let Err(error) = self.scan_playbook_triggers().await {
                tracing::warn!(%error, "scanning playbook triggers failed");
            }
            if let Err(error) = self.scan_notifications().await {
                tracing::warn!(%error, "scanning for notifications failed");
            }
            if let Err(error) = self.prepare_default_backtest().await {
                tracing::warn!(%error, "preparing the health page's backtest failed");
            }
            // Home's list of grade drops reads every account's recent snapshots the first time
            // (seconds at 100,000 accounts): made here, before anyone opens home.
            if let Err(error) = self.grade_drops(HOME_GRADE_DROP_DAYS, Some(0)).await {
                tracing::warn!(%error, "preparing home's grade drops failed");
            }
            tokio::time::sleep(every).await;
        }
    }

    pub async fn health_history(&self, account: AccountId, days: u64) -> Result<HealthHistory, AppError> {
        self.store.get_account(account).await?;
        let from = self.today().checked_sub_days(Days::new(days)).unwrap_or(NaiveDate::MIN);
        let snapshots = self.store.snapshots(account, from).await?;
        Ok(HealthHistory { account_id: account.0, trend: trend(&snapshots), snapshots })
    }

    /// Accounts whose latest grade is worse than their grade `days` ago (or first seen since),
    /// lowest score first, at most `limit`; churned accounts are not among them.
    pub async fn grade_drops(&self, days: u64, limit: Option<usize>) -> Result<Vec<GradeDrop>, AppError> {
        let since = self.today().checked_sub_days(Days::new(days)).unwrap_or(NaiveDate::MIN);
        let mut worsened = match self.grade_drops_cache.read(since) {
            Some(cached) => cached,
            None => self.refill_grade_drops(since).await?.into_iter().collect(),
        };
        // Sorted before the accounts are read, so a short list reads only the accounts it shows.
        worsened.sort_by(|(a_id, a), (b_id, b)| {
            a.score.unwrap_or(0.0).total_cmp(&b.score.unwrap_or(0.0)).then(a_id.0.cmp(&b_id.0))
        });
        let mut drops = Vec::new();
        for (id, worse) in worsened {
            if limit.is_some_and(|limit| drops.len() >= limit) {
                break;
            }
            let account = match self.store.get_account(id).await {
                Ok(account) => account,
                Err(store::StoreError::NotFound { .. }) => continue,
                Err(other) => return Err(other.into()),
            };
            if account.figures.is_churned() {
                continue;
            }
            drops.push(GradeDrop {
                account_id: id.0,
                name: account.input.name,
                from_grade: worse.from_grade,
                to_grade: worse.to_grade,
                day: worse.day,
                score: worse.score,
            });
        }
        Ok(drops)
    }

    /// After a recompute of these accounts (all when `None`; `rows` are the listed accounts with
    /// their health as just stored), brings the kept grade drops up to date.
    async fn refresh_grade_drops(&self, accounts: Option<&[AccountId]>, rows: &[Account]) -> Result<(), AppError> {
        let Some(since) = self.grade_drops_cache.since() else { return Ok(()) };
        match accounts {
            None => {
                self.refill_grade_drops(since).await?;
            }
            Some(ids) => self.grade_drops_cache.update(since, ids, self.worsened_by_now(since, rows).await?),
        }
        Ok(())
    }

    /// Each listed account's latest snapshot on or before a past `day` (none when it had none
    /// yet): read once per day and account, then kept (`PastGrades`).
    async fn grades_on_past_day(
        &self,
        day: NaiveDate,
        accounts: &[AccountId],
    ) -> Result<HashMap<AccountId, store::GradeOn>, AppError> {
        let (mut found, missing) = self.past_grades.known(day, accounts);
        if !missing.is_empty() {
            let read = self.store.grades_on(day, Some(&missing)).await?;
            self.past_grades.keep(day, &missing, &read);
            found.extend(read);
        }
        Ok(found)
    }

    /// Finds every account whose latest grade is worse than its grade on `since` and keeps
    /// them, with each account's grade before `since`, in the cache.
    async fn refill_grade_drops(&self, since: NaiveDate) -> Result<HashMap<AccountId, Worsened>, AppError> {
        let grades = self.health_config().await?.grade_keys();
        let mut by_account: HashMap<AccountId, Vec<store::GradeOn>> = HashMap::new();
        for (id, snapshot) in self.store.grades_around(since, None).await? {
            by_account.entry(id).or_default().push(snapshot);
        }
        let before: HashMap<AccountId, store::GradeOn> = by_account
            .iter()
            .filter_map(|(id, history)| Some((*id, history.first().filter(|first| first.day < since)?.clone())))
            .collect();
        let read: Vec<AccountId> = by_account.keys().copied().collect();
        let drops: HashMap<AccountId, Worsened> = by_account
            .into_iter()
            .filter_map(|(id, history)| Some((id, worsened(&grades, history.first()?, history.last()?)?)))
            .collect();
        self.grade_drops_cache.replace(since, drops.clone());
        if let Some(day) = since.pred_opt() {
            self.past_grades.keep(day, &read, &before);
        }
        Ok(drops)
    }

    /// The accounts of `rows` whose latest grade (in hand) is worse than their grade on `since`,
    /// the grade before `since` read once per window (kept from the last full read, else one
    /// index probe) instead of every snapshot since: seconds when a recompute under steady
    /// ingest lists tens of thousands of accounts.
    async fn worsened_by_now(
        &self,
        since: NaiveDate,
        rows: &[Account],
    ) -> Result<HashMap<AccountId, Worsened>, AppError> {
        let grades = self.health_config().await?.grade_keys();
        let latest: HashMap<AccountId, store::GradeOn> = rows.iter().filter_map(current_grade).collect();
        let ids: Vec<AccountId> = latest.keys().copied().collect();
        let mut first = match since.pred_opt() {
            Some(day) => self.grades_on_past_day(day, &ids).await?,
            None => HashMap::new(),
        };
        // Accounts first scored since then compare with their first grade since (oldest first).
        let new: Vec<AccountId> = ids.iter().filter(|id| !first.contains_key(id)).copied().collect();
        if !new.is_empty() {
            for (id, snapshot) in self.store.grades_around(since, Some(&new)).await? {
                first.entry(id).or_insert(snapshot);
            }
        }
        Ok(latest.iter().filter_map(|(id, last)| Some((*id, worsened(&grades, first.get(id)?, last)?))).collect())
    }

    /// Records a CSM pulse (a CSM only on accounts they own or sub-own) and recomputes the score.
    pub async fn set_pulse(
        &self,
        actor: &Actor,
        account: AccountId,
        input: PulseInput,
    ) -> Result<(Pulse, HealthScore), AppError> {
        let record = self.store.get_account(account).await?;
        require_account_edit(actor, &record.input)?;
        let pulse = self.store.add_pulse(account, actor.user_id(), &input, self.today()).await?;
        self.record_change(actor, "create", "csm_pulse", &account.0.to_string(), None, Some(&pulse)).await?;
        let event = TimelineEvent::PulseRecorded {
            score: pulse.score,
            reasons: pulse.reasons.iter().map(|r| Bilingual::new(r.label().ja, r.label().en)).collect(),
            comment: pulse.comment.clone(),
        };
        self.store
            .create_timeline_entry(&TimelineEntryInput::recorded(account, actor.user_id(), chrono::Utc::now(), event))
            .await?;
        self.data_changed(&[Change::everything(account)]).await?;
        self.recompute_health(Some(&[account])).await?;
        Ok((pulse, self.account_health(account, None).await?))
    }

    pub async fn pulses(&self, account: AccountId) -> Result<Vec<Pulse>, AppError> {
        self.store.get_account(account).await?;
        Ok(self.store.pulses(Some(account)).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).expect("a day of December")
    }

    fn grade(on: NaiveDate, grade: &str) -> store::GradeOn {
        store::GradeOn { day: on, score: Some(50.0), grade: grade.into() }
    }

    #[test]
    fn past_grades_are_kept_per_day_with_the_accounts_that_had_none_until_cleared() {
        let past = PastGrades::default();
        let (a, b) = (AccountId(1), AccountId(2));
        assert_eq!(past.known(day(1), &[a]).1, [a]);
        past.keep(day(1), &[a, b], &HashMap::from([(a, grade(day(1), "healthy"))]));
        let (found, missing) = past.known(day(1), &[a, b]);
        assert_eq!((found.get(&a).map(|g| g.grade.as_str()), found.len()), (Some("healthy"), 1));
        assert!(missing.is_empty(), "an account read without a grade is not read again");
        // Another day is read on its own.
        assert_eq!(past.known(day(2), &[a]).1, [a]);
        for d in 2..=PAST_DAYS_KEPT as u32 + 1 {
            past.keep(day(d), &[a], &HashMap::new());
        }
        assert_eq!(past.known(day(1), &[a]).1, [a], "the oldest day asked is forgotten first");
        // A full recompute (after a backfill rewrote past days) forgets them all.
        past.clear();
        assert_eq!(past.known(day(2), &[a]).1, [a]);
    }
}
