//! The resident engine on this node: the portfolio (`engine::Portfolio`) read once, then kept
//! current in place. Every write to what scores read ends in `data_changed` after its commit:
//! the change goes into the database's change log (so other nodes follow it; an ingest logs it
//! in its own transaction) and is marked pending here; the next read of the portfolio first
//! re-reads only the pending accounts — of an ingest, only the days it touched. Other nodes'
//! entries are followed every `FOLLOW_EVERY`. When `serve` asks, the portfolio is saved to a
//! file every `SAVE_EVERY`, and a restarted node starts from it.

use crate::{App, AppError};
use chrono::NaiveDate;
use domain::health::TicketSignal;
use domain::subscription::SubscriptionPeriod;
use domain::usage::Feature;
use domain::voice::{TicketPriority, TicketStatus};
use domain::AccountId;
use engine::{Change, Follower, Inputs, Pending, Portfolio, Usage};
use serde::{Deserialize, Serialize};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use store::{Store, UsageHistory};
use tokio::sync::{OwnedRwLockReadGuard, RwLock};

/// A read of the portfolio; changes wait until it is dropped.
pub(crate) type PortfolioRead = OwnedRwLockReadGuard<Option<Portfolio>, Portfolio>;

/// How often a node reads the other nodes' change log entries.
pub(crate) const FOLLOW_EVERY: Duration = Duration::from_millis(200);
/// Re-reading this many accounts in full one by one costs more than reading everything at once.
const ACCOUNTS_READ_ONE_BY_ONE: usize = 200;
/// How old the last full read may get before the scheduled recompute reads everything again.
const RELOAD_AFTER: Duration = Duration::from_secs(6 * 3600);
/// Change log entries are kept this long (a node that was away longer reloads in full).
const CHANGE_LOG_KEPT: chrono::TimeDelta = chrono::TimeDelta::hours(24);
/// How often a node writes its portfolio to disk (and when it stops), to start from it later.
const SAVE_EVERY: Duration = Duration::from_secs(10 * 60);
/// A saved portfolio older than this is not used: the entries after it may be pruned.
const SAVED_USABLE_FOR: chrono::TimeDelta = chrono::TimeDelta::hours(23);
/// A write of this node commits its change log entry a moment before it marks the change here:
/// a save waits this long after reading the last entry's number, so every own write up to it is
/// marked, and read in, before the portfolio is written.
const MARKS_SETTLE: Duration = Duration::from_secs(1);
/// The layout of a saved portfolio's file; another layout is not read.
const SAVED_FORMAT: u32 = 1;

/// This node's portfolio and what it has not read yet.
pub(crate) struct Resident {
    portfolio: Arc<RwLock<Option<Portfolio>>>,
    /// What is not read in yet, and how many marks were made so far.
    pending: Mutex<(Pending, u64)>,
    /// Marks up to this many are read into the portfolio.
    applied: AtomicU64,
    follower: tokio::sync::Mutex<Option<Follower>>,
    /// One refresh at a time, so a full load never replaces changes read in meanwhile.
    refreshing: tokio::sync::Mutex<()>,
    /// When everything was last read from the database (a saved portfolio keeps its time).
    loaded_at: Mutex<Option<chrono::DateTime<chrono::Utc>>>,
    started: Instant,
    /// Where the portfolio is saved, when it is.
    saved_to: std::sync::OnceLock<PathBuf>,
}

/// What a saved portfolio's file says before the portfolio itself: enough to tell whether it
/// belongs to this database and catalog, and where in the change log to go on from.
#[derive(Debug, Serialize, Deserialize)]
struct SavedHeader {
    format: u32,
    kizuna: String,
    /// Every change log entry up to this number is in the saved portfolio.
    after: i64,
    /// The origin of that entry: another database (or a recreated one) has another.
    origin: String,
    /// The feature catalog it was summarised with.
    catalog: u64,
    loaded_at: chrono::DateTime<chrono::Utc>,
    saved_at: chrono::DateTime<chrono::Utc>,
}

/// How a node's portfolio was first filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortfolioSource {
    /// Read whole from the database.
    Database,
    /// Read from the file saved before a restart, then caught up from the change log.
    Saved,
}

/// The catalog's fingerprint: a saved portfolio summarised with another catalog is not used.
fn catalog_fingerprint(features: &[Feature]) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    format!("{features:?}").hash(&mut hasher);
    hasher.finish()
}

impl Resident {
    pub(crate) fn new() -> Resident {
        Resident {
            portfolio: Arc::new(RwLock::new(None)),
            pending: Mutex::new((Pending::default(), 0)),
            applied: AtomicU64::new(0),
            follower: tokio::sync::Mutex::new(None),
            refreshing: tokio::sync::Mutex::new(()),
            loaded_at: Mutex::new(None),
            started: Instant::now(),
            saved_to: std::sync::OnceLock::new(),
        }
    }

    fn mark(&self, changes: &[Change], whole: bool) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.0.whole |= whole;
        changes.iter().for_each(|change| pending.0.mark(*change));
        pending.1 += 1;
    }

    /// How many marks were made so far.
    fn marked(&self) -> u64 {
        self.pending.lock().unwrap_or_else(|p| p.into_inner()).1
    }

    /// What is pending, and the number of marks it holds.
    fn take(&self) -> (Pending, u64) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        (std::mem::take(&mut pending.0), pending.1)
    }

    fn put_back(&self, taken: Pending) {
        self.pending.lock().unwrap_or_else(|p| p.into_inner()).0.merge(taken);
    }

    /// Logs a committed change for the other nodes and marks it here. Changes to everything about
    /// more accounts than are re-read one by one are logged as a change to everything.
    pub(crate) async fn changed(&self, store: &dyn Store, changes: &[Change], whole: bool) -> Result<(), AppError> {
        self.mark(changes, whole);
        let whole = whole || changes.iter().filter(|c| c.since.is_none()).count() > ACCOUNTS_READ_ONE_BY_ONE;
        let accounts: Vec<(AccountId, Option<NaiveDate>)> = match whole {
            true => Vec::new(),
            false => changes.iter().map(|c| (c.account, c.since)).collect(),
        };
        store.log_change(whole, &accounts, chrono::Utc::now()).await?;
        Ok(())
    }

    /// Marks what an ingest changed; the ingest logged it for the other nodes in its own
    /// transaction.
    pub(crate) fn ingested(&self, accounts: &[(AccountId, NaiveDate)]) {
        let changes: Vec<Change> = accounts.iter().map(|(account, day)| Change::usage_since(*account, *day)).collect();
        self.mark(&changes, false);
    }
}

fn usage_of(history: UsageHistory) -> Usage {
    Usage {
        feature_days: history.feature_days.into_iter().map(|(id, d)| (id, d.feature_id, d.day, d.uses)).collect(),
        event_days: history.event_days,
        user_days: history.user_days,
    }
}

impl App {
    /// The portfolio with every change committed so far read in: loaded on first use, then
    /// re-reading only the accounts changed since.
    pub(crate) async fn portfolio(&self) -> Result<PortfolioRead, AppError> {
        self.refresh_portfolio().await?;
        OwnedRwLockReadGuard::try_map(self.resident.portfolio.clone().read_owned().await, Option::as_ref)
            .map_err(|_| AppError::Internal("the portfolio is not loaded".into()))
    }

    /// A copy of the portfolio for a long computation (a backtest, a model fit), so that reading
    /// changes in need not wait for it.
    pub(crate) async fn portfolio_copy(&self) -> Result<Portfolio, AppError> {
        Ok(self.portfolio().await?.clone())
    }

    /// How many accounts the portfolio holds and about how many bytes it takes.
    pub async fn portfolio_footprint(&self) -> Result<(usize, usize), AppError> {
        let portfolio = self.portfolio().await?;
        Ok((portfolio.accounts(), portfolio.approximate_bytes()))
    }

    /// The account's last day with an active end user or a feature use, as this node's portfolio
    /// has it now.
    pub async fn last_activity(&self, account: AccountId) -> Result<Option<NaiveDate>, AppError> {
        Ok(self.portfolio().await?.last_active_day(account, self.today()))
    }

    /// Loads the portfolio now (at start, before serving), saying how long it took.
    pub async fn load_portfolio(&self) -> Result<PortfolioSource, AppError> {
        let started = Instant::now();
        tracing::info!("loading every account's signals into memory");
        let source = match self.read_saved_portfolio().await {
            Ok(true) => PortfolioSource::Saved,
            Ok(false) => PortfolioSource::Database,
            Err(error) => {
                tracing::warn!(%error, "the saved portfolio could not be used; reading everything");
                PortfolioSource::Database
            }
        };
        if source == PortfolioSource::Saved {
            // Catch up with what every node changed since it was saved before serving anyone.
            self.follow_changes().await?;
        }
        self.refresh_portfolio().await?;
        let accounts = self.resident.portfolio.read().await.as_ref().map_or(0, Portfolio::accounts);
        tracing::info!(accounts, seconds = started.elapsed().as_secs_f64(), ?source, "signals loaded");
        Ok(source)
    }

    /// Saves the portfolio to `path` every `SAVE_EVERY` once the workers run (and when
    /// `save_portfolio` is called), and starts from it on the next `load_portfolio`.
    pub fn keep_portfolio_saved(&self, path: PathBuf) {
        let _ = self.resident.saved_to.set(path);
    }

    /// Writes the portfolio, with every change read in so far, to the file set by
    /// `keep_portfolio_saved`; returns its size. Nothing is written before the first change log
    /// entry, or when the entry the portfolio is at has been pruned.
    pub async fn save_portfolio(&self) -> Result<Option<usize>, AppError> {
        let Some(path) = self.resident.saved_to.get().cloned() else { return Ok(None) };
        let last = self.store.last_change().await?;
        tokio::time::sleep(MARKS_SETTLE).await;
        let Some(read) = self.resident.follower.lock().await.as_ref().map(Follower::read_after) else {
            return Ok(None);
        };
        let after = read.min(last);
        let Some(entry) = self.store.changes_after(after - 1, 1).await?.into_iter().next() else { return Ok(None) };
        if entry.seq != after {
            return Ok(None);
        }
        let portfolio = self.portfolio().await?;
        let loaded_at =
            self.resident.loaded_at.lock().unwrap_or_else(|p| p.into_inner()).unwrap_or_else(chrono::Utc::now);
        let header = SavedHeader {
            format: SAVED_FORMAT,
            kizuna: env!("CARGO_PKG_VERSION").into(),
            after,
            origin: entry.origin,
            catalog: catalog_fingerprint(portfolio.features()),
            loaded_at,
            saved_at: chrono::Utc::now(),
        };
        let written = tokio::task::spawn_blocking(move || write_saved(&path, &header, &portfolio))
            .await
            .map_err(|e| AppError::Internal(format!("saving the portfolio: {e}")))??;
        Ok(Some(written))
    }

    /// Fills the portfolio from the saved file when it belongs to this database and catalog and
    /// is recent enough, and sets the follower where it was saved; false when there
    /// is no such file.
    async fn read_saved_portfolio(&self) -> Result<bool, AppError> {
        let Some(path) = self.resident.saved_to.get().cloned() else { return Ok(false) };
        let bytes = match tokio::fs::read(&path).await {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(error) => return Err(AppError::Internal(format!("reading {}: {error}", path.display()))),
        };
        let unusable = |why: &str| AppError::Internal(format!("{}: {why}", path.display()));
        let (header, body) = split_saved(&bytes).ok_or_else(|| unusable("not a saved portfolio"))?;
        if header.format != SAVED_FORMAT || header.kizuna != env!("CARGO_PKG_VERSION") {
            return Err(unusable("written by another version"));
        }
        if chrono::Utc::now() - header.saved_at > SAVED_USABLE_FOR {
            return Err(unusable("too old"));
        }
        let entry = self.store.changes_after(header.after - 1, 1).await?.into_iter().next();
        if entry.is_none_or(|e| e.seq != header.after || e.origin != header.origin) {
            return Err(unusable("saved from another database, or its change log entries were pruned"));
        }
        let features = self.store.list_features().await?;
        if catalog_fingerprint(&features) != header.catalog {
            return Err(unusable("summarised with another feature catalog"));
        }
        let body = body.to_vec();
        let portfolio = tokio::task::spawn_blocking(move || Portfolio::from_bytes(features, &body))
            .await
            .map_err(|e| AppError::Internal(format!("reading the saved portfolio: {e}")))?
            .map_err(|e| unusable(&e.to_string()))?;
        if portfolio.monthly_renews() != self.settings().monthly_contracts_renew {
            return Err(unusable("saved under another renewal setting"));
        }
        let periods = self.store.periods_of_accounts(None).await?;
        let _refreshing = self.resident.refreshing.lock().await;
        *self.resident.portfolio.write().await = Some(portfolio);
        self.periods.store(Arc::new(periods));
        *self.resident.loaded_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(header.loaded_at);
        *self.resident.follower.lock().await = Some(Follower::after(header.after));
        Ok(true)
    }

    /// Reads what was marked before this call into the portfolio (so a use case reads its own
    /// writes); a reader with nothing new goes on at once.
    pub(crate) async fn refresh_portfolio(&self) -> Result<(), AppError> {
        let wanted = self.resident.marked();
        let current = || async {
            self.resident.applied.load(Ordering::Acquire) >= wanted && self.resident.portfolio.read().await.is_some()
        };
        if current().await {
            return Ok(());
        }
        let _refreshing = self.resident.refreshing.lock().await;
        if current().await {
            return Ok(());
        }
        let loaded = self.resident.portfolio.read().await.is_some();
        let (pending, marks) = self.resident.take();
        let result = self.read_pending(loaded, &pending).await;
        match result {
            Ok(()) => self.resident.applied.store(marks, Ordering::Release),
            Err(_) => self.resident.put_back(pending),
        }
        result
    }

    async fn read_pending(&self, loaded: bool, pending: &Pending) -> Result<(), AppError> {
        let (everything, days) = pending.split();
        if !loaded || pending.whole || everything.len() > ACCOUNTS_READ_ONE_BY_ONE {
            // Read without holding the portfolio, which stays readable meanwhile; whatever
            // follows the log from here on is after this read.
            let last = self.store.last_change().await?;
            let (inputs, periods) = self.read_inputs(None).await?;
            let fresh =
                Portfolio::load(self.store.list_features().await?, self.settings().monthly_contracts_renew, inputs);
            *self.resident.portfolio.write().await = Some(fresh);
            self.periods.store(Arc::new(periods));
            *self.resident.loaded_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(chrono::Utc::now());
            let mut follower = self.resident.follower.lock().await;
            if follower.is_none() {
                *follower = Some(Follower::after(last));
            }
            return Ok(());
        }
        let inputs = match everything.is_empty() {
            true => None,
            false => Some(self.read_inputs(Some(&everything)).await?),
        };
        if let Some((_, periods)) = &inputs {
            self.periods.patch(&everything, periods);
        }
        let mut usage = Vec::with_capacity(days.len());
        for (since, accounts) in days {
            let read = usage_of(self.store.usage_of(&accounts, Some(since)).await?);
            usage.push((since, accounts, read));
        }
        let mut portfolio = self.resident.portfolio.write().await;
        let Some(portfolio) = portfolio.as_mut() else {
            return Err(AppError::Internal("the portfolio is not loaded".into()));
        };
        if let Some((inputs, _)) = inputs {
            portfolio.replace_accounts(&everything, inputs);
        }
        for (since, accounts, read) in usage {
            portfolio.replace_usage_since(&accounts, since, read);
        }
        Ok(())
    }

    /// What the portfolio holds of these accounts (all when `None`), read from the store, and
    /// their subscription periods as the metrics keep them.
    async fn read_inputs(&self, accounts: Option<&[AccountId]>) -> Result<(Inputs, Vec<SubscriptionPeriod>), AppError> {
        let periods = self.store.periods_of_accounts(accounts).await?;
        let mut inputs = Inputs { periods: periods.iter().map(|p| p.terms.clone()).collect(), ..Inputs::default() };
        let each: Vec<Option<AccountId>> = match accounts {
            None => {
                inputs.usage = usage_of(self.store.usage_history(None).await?);
                vec![None]
            }
            Some(ids) => {
                inputs.usage = usage_of(self.store.usage_of(ids, None).await?);
                ids.iter().copied().map(Some).collect()
            }
        };
        let (has_nps, has_tickets) = (self.store.has_nps().await?, self.store.has_tickets().await?);
        let mut nps = Vec::new();
        let mut tickets = Vec::new();
        for account in each {
            // Newest first from the store: read oldest first, so the latest of a day stays last.
            for pulse in self.store.pulses(account).await?.into_iter().rev() {
                inputs.pulses.push((AccountId(pulse.account_id), pulse.day, pulse.score));
            }
            if has_nps {
                nps.extend(self.store.nps_responses(account).await?);
            }
            if has_tickets {
                for (id, row) in self.store.tickets_of(account).await? {
                    let closed = matches!(row.status, TicketStatus::Solved | TicketStatus::Closed);
                    let signal = TicketSignal {
                        created: row.created_on,
                        // A closed ticket without a solved day counts as solved the day it was made.
                        solved: row.solved_on.or(closed.then_some(row.created_on)),
                        urgent: matches!(row.priority, TicketPriority::High | TicketPriority::Urgent),
                    };
                    tickets.push((id, signal));
                }
            }
        }
        inputs.nps = has_nps.then_some(nps);
        inputs.tickets = has_tickets.then_some(tickets);
        Ok((inputs, periods))
    }

    /// After a commit that changed what scores read: tells the other nodes, marks it here, and
    /// asks the health worker to recompute the accounts.
    pub(crate) async fn data_changed(&self, changes: &[Change]) -> Result<(), AppError> {
        if changes.is_empty() {
            return Ok(());
        }
        self.resident.changed(self.store.as_ref(), changes, false).await?;
        self.health_changed(changes.iter().map(|c| c.account));
        Ok(())
    }

    /// After a change to every account's signals (the catalog, the time zone, a rebuild).
    pub(crate) async fn everything_changed(&self) -> Result<(), AppError> {
        self.resident.changed(self.store.as_ref(), &[], true).await
    }

    /// Reads the change log entries other nodes wrote since the last look and re-reads what
    /// they changed; returns how many entries were new.
    pub async fn follow_changes(&self) -> Result<usize, AppError> {
        let mut follower = self.resident.follower.lock().await;
        let Some(position) = follower.as_mut() else { return Ok(0) };
        let mut new = 0;
        loop {
            let entries = self.store.changes_after(position.read_after(), 1_000).await?;
            let more = entries.len() == 1_000;
            for entry in entries {
                if !position.take(entry.seq) {
                    continue;
                }
                new += 1;
                if entry.origin != self.store.origin() {
                    let changes: Vec<Change> = entry
                        .accounts
                        .iter()
                        .map(|(account, since)| Change { account: *account, since: *since })
                        .collect();
                    self.resident.mark(&changes, entry.whole);
                }
            }
            position.advance(self.resident.started.elapsed());
            if !more {
                break;
            }
        }
        drop(follower);
        self.refresh_portfolio().await?;
        Ok(new)
    }

    /// Follows the other nodes' changes until the process ends, prunes old entries hourly, and
    /// writes the write keys' counts when they are due; saves the portfolio every `SAVE_EVERY`
    /// apart, since a save waits and holds the portfolio for a moment.
    pub(crate) fn start_following(self: &Arc<App>) {
        let saving = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(SAVE_EVERY).await;
                if let Err(error) = saving.save_portfolio().await {
                    tracing::warn!(%error, "saving the portfolio failed");
                }
            }
        });
        let app = self.clone();
        tokio::spawn(async move {
            let mut pruned = Instant::now();
            loop {
                tokio::time::sleep(FOLLOW_EVERY).await;
                if let Err(error) = app.follow_changes().await {
                    tracing::warn!(%error, "following other nodes' changes failed");
                }
                app.write_key_uses_when_due().await;
                if pruned.elapsed() > Duration::from_secs(3600) {
                    pruned = Instant::now();
                    if let Err(error) = app.store.prune_changes(chrono::Utc::now() - CHANGE_LOG_KEPT).await {
                        tracing::warn!(%error, "pruning the change log failed");
                    }
                }
            }
        });
    }

    /// Reloads everything on the next read when the last full read is older than
    /// `RELOAD_AFTER`: the safety net, should a change have reached the database without its log
    /// entry (a node stopped between the two).
    pub(crate) fn reload_portfolio_when_old(&self) {
        let loaded_at = *self.resident.loaded_at.lock().unwrap_or_else(|p| p.into_inner());
        let reload_after = chrono::TimeDelta::from_std(RELOAD_AFTER).unwrap_or(chrono::TimeDelta::MAX);
        if loaded_at.is_some_and(|at| chrono::Utc::now() - at > reload_after) {
            self.resident.mark(&[], true);
        }
    }
}

/// Writes a saved portfolio's file: the header's length, the header, the portfolio; through a
/// file beside it, renamed into place, so a reader never sees half of one.
fn write_saved(path: &Path, header: &SavedHeader, portfolio: &Portfolio) -> Result<usize, AppError> {
    let failed =
        |e: &dyn std::fmt::Display| AppError::Internal(format!("saving the portfolio to {}: {e}", path.display()));
    let head = postcard::to_stdvec(header).map_err(|e| failed(&e))?;
    let body = portfolio.to_bytes().map_err(|e| failed(&e))?;
    let length = u32::try_from(head.len()).map_err(|e| failed(&e))?;
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder).map_err(|e| failed(&e))?;
    }
    let partial = path.with_extension(format!("partial-{}", std::process::id()));
    let mut bytes = Vec::with_capacity(4 + head.len() + body.len());
    bytes.extend_from_slice(&length.to_le_bytes());
    bytes.extend_from_slice(&head);
    bytes.extend_from_slice(&body);
    std::fs::write(&partial, &bytes).map_err(|e| failed(&e))?;
    std::fs::rename(&partial, path).map_err(|e| failed(&e))?;
    Ok(bytes.len())
}

/// A saved portfolio's header and the bytes of the portfolio after it.
fn split_saved(bytes: &[u8]) -> Option<(SavedHeader, &[u8])> {
    let length = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    let head = bytes.get(4..4 + length)?;
    let header = postcard::from_bytes(head).ok()?;
    Some((header, bytes.get(4 + length..)?))
}
