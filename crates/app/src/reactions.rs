//! What happens after a change: the pipeline every write to customer data ends in. An event
//! ingested, a pulse given, a subscription or account changed, a health configuration saved —
//! each names the accounts it touched; a worker gathers them for a moment and then, in order,
//! rescores their health (`health_history`) and moves them in and out of segments (`segments`):
//! what lists, segments and the account page show. A second worker then starts the playbooks
//! whose triggers fired (`playbooks`) and advances onboarding plans (`onboarding`), so that
//! those reactions never hold up the next accounts' scores. The same pipeline runs for every
//! account on a schedule.

use crate::health_history::RecomputeSummary;
use crate::playbooks::{EventKind, TriggerEvent};
use crate::{App, AppError};
use domain::account::Account;
use domain::AccountId;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How long the worker gathers changed accounts before recomputing them together.
const GATHER: Duration = Duration::from_millis(150);

/// What a refresh leaves for the reactions: the accounts' rows as just stored and what happened
/// to them (grade changes, segments entered).
struct Refreshed {
    rows: BTreeMap<AccountId, Account>,
    events: Vec<TriggerEvent>,
}

impl Refreshed {
    /// Adds a later refresh: its rows are the newer ones.
    fn absorb(&mut self, later: Refreshed) {
        self.rows.extend(later.rows);
        self.events.extend(later.events);
    }
}

impl App {
    /// Starts the worker that recomputes changed accounts, the worker that reacts to what it
    /// found, and the follower of other nodes' changes (once; later calls do nothing).
    pub fn start_health_worker(self: &Arc<App>) {
        let _ = self.itself.set(Arc::downgrade(self));
        let app = self.clone();
        self.health_queue.get_or_init(move || {
            app.start_following();
            let (sender, mut changed) = mpsc::unbounded_channel::<AccountId>();
            let (refreshed_sender, mut refreshed) = mpsc::unbounded_channel::<Refreshed>();
            let reacting = app.clone();
            tokio::spawn(async move {
                while let Some(mut batch) = refreshed.recv().await {
                    while let Ok(more) = refreshed.try_recv() {
                        batch.absorb(more);
                    }
                    let accounts: Vec<AccountId> = batch.rows.keys().copied().collect();
                    if let Err(error) = reacting.react(Some(&accounts), batch).await {
                        tracing::warn!(%error, accounts = accounts.len(), "starting playbooks and advancing onboarding failed");
                    }
                }
            });
            tokio::spawn(async move {
                while let Some(first) = changed.recv().await {
                    tokio::time::sleep(GATHER).await;
                    let mut accounts = BTreeSet::from([first]);
                    while let Ok(more) = changed.try_recv() {
                        accounts.insert(more);
                    }
                    let accounts: Vec<AccountId> = accounts.into_iter().collect();
                    match app.refresh(Some(&accounts)).await {
                        Ok((_, batch)) => {
                            let _ = refreshed_sender.send(batch);
                        }
                        Err(error) => {
                            tracing::warn!(%error, accounts = accounts.len(), "recomputing health scores failed")
                        }
                    }
                }
            });
            sender
        });
    }

    /// Asks the worker to recompute these accounts (when it runs).
    pub(crate) fn health_changed(&self, accounts: impl IntoIterator<Item = AccountId>) {
        if let Some(queue) = self.health_queue.get() {
            for account in accounts {
                let _ = queue.send(account);
            }
        }
    }

    /// Runs the pipeline for the accounts (all when `None`) and waits for all of it: rescore,
    /// segments, playbooks, onboarding.
    pub async fn recompute_health(&self, accounts: Option<&[AccountId]>) -> Result<RecomputeSummary, AppError> {
        let (summary, refreshed) = self.refresh(accounts).await?;
        self.react(accounts, refreshed).await?;
        if accounts.is_none() {
            // Every account row was just rewritten: clean them up and refresh the plans now,
            // whether or not the database's autovacuum is on.
            self.store.refresh_statistics().await?;
        }
        Ok(summary)
    }

    /// Rescores the accounts and re-evaluates their segments.
    async fn refresh(&self, accounts: Option<&[AccountId]>) -> Result<(RecomputeSummary, Refreshed), AppError> {
        let started = Instant::now();
        // Read once for the whole pipeline; rescoring brings their current health up to date.
        let mut rows = self.accounts_of(accounts).await?;
        let read = started.elapsed();
        let (summary, mut events) = self.rescore(accounts, &mut rows).await?;
        let rescored = started.elapsed();
        let moves = self.reevaluate_segments(&rows).await?;
        events.extend(moves.iter().filter(|m| m.entered).map(|m| TriggerEvent {
            account: m.account_id,
            kind: EventKind::EnteredSegment(m.segment_id),
            occurrence: format!("segment:{}:{}", m.segment_id, m.at.to_rfc3339()),
            data: serde_json::json!({"segment_id": m.segment_id, "entered_at": m.at}),
        }));
        tracing::debug!(
            accounts = summary.accounts,
            read_ms = read.as_millis(),
            rescore_ms = (rescored - read).as_millis(),
            segments_ms = (started.elapsed() - rescored).as_millis(),
            "recomputed"
        );
        let rows = rows.into_iter().map(|row| (row.id, row)).collect();
        Ok((summary, Refreshed { rows, events }))
    }

    /// Starts the playbooks whose triggers fired and advances the onboarding plans of the
    /// refreshed accounts (`accounts`: all when `None`).
    async fn react(&self, accounts: Option<&[AccountId]>, refreshed: Refreshed) -> Result<(), AppError> {
        let started = Instant::now();
        self.fire_triggers(&refreshed.events).await?;
        let triggered = started.elapsed();
        let count = refreshed.rows.len();
        self.advance_onboarding(accounts, Some(refreshed.rows.into_values().collect())).await?;
        tracing::debug!(
            accounts = count,
            playbooks_ms = triggered.as_millis(),
            onboarding_ms = (started.elapsed() - triggered).as_millis(),
            "reacted"
        );
        Ok(())
    }
}
