//! Keeps each account's derived figures (MRR, ARR, first paying day, next renewal) current.
//! They are stored so that lists can sort and page by them in the database.

use crate::{App, AppError};
use chrono::NaiveDate;
use domain::subscription::{AccountFigures, SubscriptionTerms};
use domain::timeline::{TimelineEntryInput, TimelineEvent};
use domain::AccountId;
use engine::Change;
use std::collections::{HashMap, HashSet};

impl App {
    /// Recomputes the figures of these accounts from their subscription periods.
    pub async fn refresh_figures(&self, accounts: &[AccountId]) -> Result<(), AppError> {
        if accounts.is_empty() {
            return Ok(());
        }
        let periods = self.store.periods_of_accounts(Some(accounts)).await?;
        self.save_figures(accounts, periods.iter().map(|p| &p.terms)).await?;
        // Contract signals feed health scores.
        self.data_changed(&accounts.iter().map(|id| Change::everything(*id)).collect::<Vec<_>>()).await?;
        Ok(())
    }

    pub async fn refresh_all_figures(&self) -> Result<(), AppError> {
        let accounts = self.store.account_ids().await?;
        let periods = self.store.periods_of_accounts(None).await?;
        self.save_figures(&accounts, periods.iter().map(|p| &p.terms)).await
    }

    /// Refreshes everything when the stored figures are not for today (a new day began, or
    /// some accounts were never computed). Returns whether it refreshed.
    pub async fn ensure_figures_current(&self) -> Result<bool, AppError> {
        if self.store.figures_day().await? == Some(self.today()) {
            return Ok(false);
        }
        self.refresh_all_figures().await?;
        Ok(true)
    }

    async fn save_figures<'p>(
        &self,
        accounts: &[AccountId],
        periods: impl Iterator<Item = &'p SubscriptionTerms>,
    ) -> Result<(), AppError> {
        let today = self.today();
        let monthly_renews = self.settings().monthly_contracts_renew;
        let mut by_account: HashMap<AccountId, Vec<&SubscriptionTerms>> = HashMap::new();
        for period in periods {
            by_account.entry(period.account_id).or_default().push(period);
        }
        let figures: Vec<(AccountId, AccountFigures)> = accounts
            .iter()
            .map(|id| {
                let periods = by_account.get(id).map(Vec::as_slice).unwrap_or_default();
                (*id, AccountFigures::compute(periods, today, monthly_renews))
            })
            .collect();
        let churned_before = self.store.churned_accounts().await?;
        self.store.save_figures(&figures, today).await?;
        self.record_churns(&figures, &churned_before).await?;
        // Figures are saved after every change to subscriptions: what was derived from them is stale too.
        self.forget_derived_from_subscriptions();
        Ok(())
    }
}

impl App {
    /// Puts each account that has just churned on its timeline, on the day its MRR fell to zero,
    /// with the churn reason and note its record has.
    async fn record_churns(
        &self,
        figures: &[(AccountId, AccountFigures)],
        churned_before: &HashSet<AccountId>,
    ) -> Result<(), AppError> {
        let newly: Vec<(AccountId, NaiveDate)> = figures
            .iter()
            .filter(|(id, _)| !churned_before.contains(id))
            .filter_map(|(id, f)| f.churned_on.map(|on| (*id, on)))
            .collect();
        if newly.is_empty() {
            return Ok(());
        }
        let zone = self.zone();
        let mut entries = Vec::with_capacity(newly.len());
        for (id, on) in newly {
            let account = self.store.get_account(id).await?;
            let event = TimelineEvent::Churned {
                on,
                reason: account.input.churn_reason.clone(),
                note: account.input.churn_note.clone(),
            };
            let at = domain::usage::start_of_day(on, zone);
            entries.push(TimelineEntryInput::recorded(id, None, at, event));
        }
        Ok(self.store.create_timeline_entries(&entries).await?)
    }
}

impl App {
    /// Runs until the process ends: recomputes every account's figures when the workspace's
    /// day changes, so "current MRR" and "next renewal" never refer to yesterday; refits the
    /// renewal churn model once a day; and takes the weekly forecast snapshot when it is due.
    pub async fn keep_figures_current(self: std::sync::Arc<Self>, check_every: std::time::Duration) {
        let mut ticker = tokio::time::interval(check_every);
        loop {
            ticker.tick().await;
            match self.ensure_figures_current().await {
                Ok(true) => {
                    tracing::info!(day = %self.today(), "account figures recomputed for the new day");
                    // A day of ingest and health snapshots changes the tables' shape.
                    if let Err(error) = self.store.refresh_statistics().await {
                        tracing::warn!(%error, "could not refresh the database statistics")
                    }
                }
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(%error, "could not recompute account figures; will retry")
                }
            }
            match self.ensure_churn_model().await {
                Ok(true) => tracing::info!(day = %self.today(), "renewal churn model fitted"),
                Ok(false) => {}
                Err(error) => tracing::warn!(%error, "could not fit the renewal churn model; will retry"),
            }
            match self.ensure_forecast_snapshot().await {
                Ok(true) => tracing::info!(day = %self.today(), "renewal forecast snapshot taken"),
                Ok(false) => {}
                Err(error) => tracing::warn!(%error, "could not take the renewal forecast snapshot; will retry"),
            }
        }
    }
}
