//! What happens after a change: the pipeline every write to customer data ends in. An event
//! ingested, a pulse given, a subscription or account changed, a health configuration saved —
//! each names the accounts it touched; a worker gathers them for a moment and then, in order,
//! rescores their health (`health_history`), moves them in and out of segments (`segments`),
//! starts the playbooks whose triggers fired (`playbooks`) and advances onboarding plans
//! (`onboarding`). The same pipeline runs for every account on a schedule.

use crate::health_history::RecomputeSummary;
use crate::playbooks::{EventKind, TriggerEvent};
use crate::{App, AppError};
use domain::AccountId;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// How long the worker gathers changed accounts before recomputing them together.
const GATHER: Duration = Duration::from_millis(150);

impl App {
    /// Starts the worker that recomputes changed accounts, and the follower of other nodes'
    /// changes (once; later calls do nothing).
    pub fn start_health_worker(self: &Arc<App>) {
        let _ = self.itself.set(Arc::downgrade(self));
        let app = self.clone();
        self.health_queue.get_or_init(move || {
            app.start_following();
            let (sender, mut changed) = mpsc::unbounded_channel::<AccountId>();
            tokio::spawn(async move {
                while let Some(first) = changed.recv().await {
                    tokio::time::sleep(GATHER).await;
                    let mut accounts = BTreeSet::from([first]);
                    while let Ok(more) = changed.try_recv() {
                        accounts.insert(more);
                    }
                    let accounts: Vec<AccountId> = accounts.into_iter().collect();
                    if let Err(error) = app.recompute_health(Some(&accounts)).await {
                        tracing::warn!(%error, accounts = accounts.len(), "recomputing health scores failed");
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

    /// Runs the pipeline for the accounts (all when `None`): rescore, segments, playbooks,
    /// onboarding.
    pub async fn recompute_health(&self, accounts: Option<&[AccountId]>) -> Result<RecomputeSummary, AppError> {
        let started = std::time::Instant::now();
        // Read once for the whole pipeline; rescoring brings their current health up to date.
        let mut rows = self.accounts_of(accounts).await?;
        let read = started.elapsed();
        let (summary, mut events) = self.rescore(accounts, &mut rows).await?;
        let rescored = started.elapsed();
        let moves = self.reevaluate_segments(&rows).await?;
        let segmented = started.elapsed();
        events.extend(moves.iter().filter(|m| m.entered).map(|m| TriggerEvent {
            account: m.account_id,
            kind: EventKind::EnteredSegment(m.segment_id),
            occurrence: format!("segment:{}:{}", m.segment_id, m.at.to_rfc3339()),
            data: serde_json::json!({"segment_id": m.segment_id, "entered_at": m.at}),
        }));
        self.fire_triggers(&events).await?;
        let triggered = started.elapsed();
        self.advance_onboarding(accounts, Some(rows)).await?;
        tracing::debug!(
            accounts = summary.accounts,
            read_ms = read.as_millis(),
            rescore_ms = (rescored - read).as_millis(),
            segments_ms = (segmented - rescored).as_millis(),
            playbooks_ms = (triggered - segmented).as_millis(),
            onboarding_ms = (started.elapsed() - triggered).as_millis(),
            "recomputed"
        );
        if accounts.is_none() {
            // Every account row was just rewritten: clean them up and refresh the plans now,
            // whether or not the database's autovacuum is on.
            self.store.refresh_statistics().await?;
        }
        Ok(summary)
    }
}
