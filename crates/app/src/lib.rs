//! Use cases: what Kizuna does, on top of the domain and the store. The web layer and the CLI
//! both call these, so a rule enforced here holds for every way in.

pub mod account_search;
mod audit;
pub mod auth;
mod backfill;
pub mod delivery;
pub mod demo;
mod digests;
mod error;
pub mod feedback;
mod figures;
pub mod health;
pub mod health_history;
mod ingest;
pub use ingest::refused_text;
pub mod interchange;
pub mod kpi;
pub mod mail;
pub mod metrics;
pub mod notifications;
pub mod onboarding;
pub mod playbook_preview;
pub mod playbooks;
mod reactions;
mod records;
pub mod renewals;
mod resident;
pub mod segments;
pub mod staged_imports;
pub mod tasks;
pub mod tech_touch;
mod usage;

pub use auth::{Actor, LoginError, NewSession};
pub use error::{AppError, MAX_REPORTED_ERRORS};
pub use interchange::{ImportKind, ImportOutcome};
pub use resident::PortfolioSource;
pub use usage::{
    usage_window, AccountActivity, AccountUsage, ActiveWindow, CatalogFile, FeatureAdoptionRow, UsageSeries,
};

use chrono::NaiveDate;
use chrono_tz::Tz;
use domain::settings::WorkspaceSettings;
use std::sync::{Arc, RwLock};
use store::Store;

/// The application: the store plus the workspace settings every use case needs.
pub struct App {
    store: Arc<dyn Store>,
    settings: RwLock<WorkspaceSettings>,
    live_write_keys: auth::LiveWriteKeys,
    write_key_uses: auth::WriteKeyUses,
    refused_counts: ingest::RefusedCounts,
    periods: metrics::PeriodCache,
    grade_drops_cache: health_history::DropCache,
    past_grades: health_history::PastGrades,
    /// Held while onboarding plans are finished: a plan completed by a person and by the
    /// pipeline at the same moment must have moved its account's stage before either answers.
    finishing_onboarding: tokio::sync::Mutex<()>,
    backtests: health::BacktestCache,
    churn: renewals::ChurnCache,
    ingest_queue: std::sync::OnceLock<tokio::sync::mpsc::Sender<ingest::Job>>,
    /// Accounts whose health must be recomputed; set once the worker runs.
    health_queue: std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<domain::AccountId>>,
    /// SMTP, HTTP and this node's name, for playbook steps.
    delivery: delivery::Delivery,
    snippet_limiter: tech_touch::SnippetLimiter,
    /// Every account's signals in memory, kept current (`resident`).
    resident: Arc<resident::Resident>,
    /// This application, for work it starts in the background; set when its workers start.
    itself: std::sync::OnceLock<std::sync::Weak<App>>,
}

impl App {
    /// Loads the workspace settings, saving `initial` first when the database has none.
    pub async fn start(store: Arc<dyn Store>, initial: WorkspaceSettings) -> Result<App, AppError> {
        let settings = match store.load_settings().await? {
            Some(saved) => saved,
            None => {
                validate_time_zone(&initial.time_zone)?;
                store.save_settings(&initial).await?;
                initial
            }
        };
        Ok(App {
            store,
            settings: RwLock::new(settings),
            live_write_keys: auth::LiveWriteKeys::default(),
            write_key_uses: auth::WriteKeyUses::default(),
            refused_counts: ingest::RefusedCounts::default(),
            periods: metrics::PeriodCache::default(),
            grade_drops_cache: health_history::DropCache::default(),
            past_grades: health_history::PastGrades::default(),
            finishing_onboarding: tokio::sync::Mutex::new(()),
            backtests: health::BacktestCache::default(),
            churn: renewals::ChurnCache::default(),
            ingest_queue: std::sync::OnceLock::new(),
            health_queue: std::sync::OnceLock::new(),
            delivery: delivery::Delivery::default(),
            snippet_limiter: tech_touch::SnippetLimiter::default(),
            resident: Arc::new(resident::Resident::new()),
            itself: std::sync::OnceLock::new(),
        })
    }

    /// The storage underneath, for tests only: everything else goes through the use cases.
    #[cfg(any(test, feature = "testing"))]
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn settings(&self) -> WorkspaceSettings {
        self.settings.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Every custom field key the accounts carry or the settings name, in order: the fields a
    /// team can give names on screen.
    pub async fn custom_field_keys(&self) -> Result<Vec<String>, AppError> {
        let mut keys: std::collections::BTreeSet<String> = self.settings().custom_field_labels.into_keys().collect();
        keys.extend(self.store.account_custom_keys().await?);
        Ok(keys.into_iter().collect())
    }

    pub async fn update_settings(
        &self,
        actor: &Actor,
        settings: WorkspaceSettings,
    ) -> Result<WorkspaceSettings, AppError> {
        validate_time_zone(&settings.time_zone)?;
        let before = self.settings();
        self.store.save_settings(&settings).await?;
        self.record_change(actor, "update", "settings", "workspace", Some(&before), Some(&settings)).await?;
        *self.settings.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = settings.clone();
        let figures_unchanged = WorkspaceSettings {
            tracking_field_sources: before.tracking_field_sources,
            custom_field_labels: before.custom_field_labels.clone(),
            ..settings.clone()
        };
        if figures_unchanged != before {
            self.refresh_all_figures().await?;
        }
        if before.time_zone != settings.time_zone {
            // Usage days are counted in the workspace time zone.
            self.store.rebuild_usage_rollups(self.zone()).await?;
        }
        if before.time_zone != settings.time_zone || before.monthly_contracts_renew != settings.monthly_contracts_renew
        {
            self.everything_changed().await?;
        }
        Ok(settings)
    }

    /// Outdates the backtests made from the subscriptions (the metrics' copy of them is patched
    /// when the portfolio reads the change).
    pub(crate) fn forget_derived_from_subscriptions(&self) {
        self.backtests.outdate();
    }

    /// The workspace time zone, in which calendar days are counted.
    pub fn zone(&self) -> Tz {
        self.settings().time_zone.parse().unwrap_or(chrono_tz::Asia::Tokyo)
    }

    /// Today's date in the workspace time zone: the day "current" MRR and renewals refer to.
    pub fn today(&self) -> NaiveDate {
        domain::usage::local_day(chrono::Utc::now(), self.zone())
    }
}

fn validate_time_zone(name: &str) -> Result<Tz, AppError> {
    name.parse::<Tz>().map_err(|_| AppError::invalid("time_zone", domain::Reason::InvalidTimeZone))
}
