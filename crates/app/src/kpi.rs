//! The KPI tree at work: the saved tree, the company-phase templates that install one, the
//! monthly numbers people enter (targets, and actuals Kizuna cannot compute), and each node's
//! last twelve months — computed from the subscription metrics and NPS answers for the accounts
//! a filter chooses — with its status against target, what each child contributed to its last
//! change and how its drivers moved with it.

use crate::health::default_health_config;
use crate::metrics::MetricsFilter;
use crate::onboarding::PlanFilter;
use crate::playbooks::parse_toml;
use crate::renewals::CalledRenewal;
use crate::{Actor, App, AppError};
use chrono::{Days, NaiveDate};
use domain::account::Account;
use domain::health::{HealthConfig, UNKNOWN_GRADE};
use domain::kpi::{
    contributions, correlation, forecast_accuracy, nps_of, share, status, KpiNode, KpiTree, Metric, MonthlyValues,
    Relation, Status,
};
use domain::metrics::{Interval, MovementKind, YearMonth};
use domain::playbooks::PlaybookDefinition;
use domain::renewals::ForecastCategory;
use domain::{AccountId, Money, Reason};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use store::GradeOn;

/// Months a KPI view shows: the complete months before the current one, the latest last.
pub const KPI_MONTHS: i64 = 12;

/// The day of a customer's life on which new-customer quality reads its health grade.
const NEW_CUSTOMER_DAYS: u64 = 90;

/// The company-phase templates (seed 004), each a KPI tree to start from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Launch,
    CsLaunch,
    BestPractice,
}

impl Phase {
    pub const ALL: [Phase; 3] = [Phase::Launch, Phase::CsLaunch, Phase::BestPractice];

    pub fn key(self) -> &'static str {
        match self {
            Phase::Launch => "launch",
            Phase::CsLaunch => "cs_launch",
            Phase::BestPractice => "best_practice",
        }
    }

    pub fn parse(raw: &str) -> Result<Phase, Reason> {
        Phase::ALL
            .into_iter()
            .find(|p| p.key() == raw)
            .ok_or_else(|| Reason::NotOneOf { allowed: Phase::ALL.iter().map(|p| p.key().to_owned()).collect() })
    }

    fn file(self) -> &'static str {
        match self {
            Phase::Launch => include_str!("../../../examples/kpi/launch.toml"),
            Phase::CsLaunch => include_str!("../../../examples/kpi/cs-launch.toml"),
            Phase::BestPractice => include_str!("../../../examples/kpi/best-practice.toml"),
        }
    }

    /// The template: its tree, its health scorecard (best practice's is the shipped default), and
    /// the segments and (paused) playbooks that come with it.
    pub fn bundle(self) -> Result<KpiBundle, AppError> {
        let mut bundle: KpiBundle = parse_toml(&format!("{}.toml", self.key()), self.file())?;
        bundle.health.get_or_insert_with(default_health_config);
        Ok(bundle)
    }

    pub fn tree(self) -> Result<KpiTree, AppError> {
        Ok(self.bundle()?.tree())
    }
}

/// A segment as a bundle carries it: by name, so it can go from one workspace to another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BundleSegment {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_en: Option<String>,
    pub rule: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl BundleSegment {
    fn input(&self) -> store::SegmentInput {
        store::SegmentInput {
            name: self.name.clone(),
            name_en: self.name_en.clone(),
            rule: self.rule.clone(),
            description: self.description.clone(),
        }
    }
}

/// One file to share between workspaces: the KPI tree with the segments and playbooks that
/// go with it (the company-phase templates are bundles). Playbooks whose step names a segment
/// by id are left out of an export: ids mean nothing elsewhere.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KpiBundle {
    #[serde(rename = "node")]
    pub nodes: Vec<KpiNode>,
    #[serde(rename = "segment", default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<BundleSegment>,
    #[serde(rename = "playbook", default, skip_serializing_if = "Vec::is_empty")]
    pub playbooks: Vec<PlaybookDefinition>,
    /// The health configuration that goes with the tree: its grades and scorecards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthConfig>,
}

impl KpiBundle {
    pub fn tree(&self) -> KpiTree {
        KpiTree { nodes: self.nodes.clone() }
    }
}

/// What became of a bundle's health configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScorecardOutcome {
    /// It is now the workspace's.
    Installed,
    /// The workspace's own saved configuration stays (replace it only when asked).
    Kept,
    /// The bundle has none.
    NotInBundle,
}

/// What installing a bundle added.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Installed {
    pub tree: KpiTree,
    pub scorecard: ScorecardOutcome,
    /// Names of the segments added (one with the same name already there is kept as it is).
    pub segments: Vec<String>,
    /// Names of the playbooks added, paused until someone turns them on.
    pub playbooks: Vec<String>,
}

/// The bundle as the TOML file the templates use.
pub fn kpi_bundle_toml(bundle: &KpiBundle) -> Result<String, AppError> {
    toml::to_string(bundle).map_err(|e| AppError::Internal(format!("the KPI bundle as TOML: {e}")))
}

/// The tree as the TOML file the templates and the editor use.
pub fn kpi_tree_toml(tree: &KpiTree) -> Result<String, AppError> {
    toml::to_string(tree).map_err(|e| AppError::Internal(format!("the KPI tree as TOML: {e}")))
}

/// Targets or actuals people enter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    Target,
    Actual,
}

impl ValueKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ValueKind::Target => "target",
            ValueKind::Actual => "actual",
        }
    }
}

/// What a child did to its parent's last change.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChildEffect {
    pub key: String,
    /// The part of the parent's change from the month before to the latest one (sum and ratio).
    pub contribution: Option<f64>,
    /// Correlation with the parent over the months shown that both have (drivers), when there
    /// are at least 6 such months.
    pub correlation: Option<f64>,
    /// How many months the correlation is over.
    pub correlation_months: Option<usize>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KpiNodeView {
    pub node: KpiNode,
    /// How deep in the tree (0 for a top goal).
    pub depth: usize,
    /// One per month of the view.
    pub actual: Vec<Option<f64>>,
    pub target: Vec<Option<f64>>,
    /// The latest month's actual against its target.
    pub status: Status,
    pub children: Vec<ChildEffect>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KpiView {
    pub months: Vec<YearMonth>,
    /// Every node, each followed by its children (depth first).
    pub nodes: Vec<KpiNodeView>,
}

/// An account behind a node's latest month: what it added or took away.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KpiAccount {
    pub account_id: i64,
    pub day: NaiveDate,
    /// The MRR movement, the NPS answer, or the days an onboarding took.
    pub value: f64,
}

fn movement_kinds(metric: Metric) -> Option<&'static [MovementKind]> {
    Some(match metric {
        Metric::NetNewMrr => &[
            MovementKind::New,
            MovementKind::Expansion,
            MovementKind::Reactivation,
            MovementKind::Contraction,
            MovementKind::Churn,
        ],
        Metric::NewMrr | Metric::NewAccounts => &[MovementKind::New],
        Metric::ExpansionMrr | Metric::Expansions => &[MovementKind::Expansion],
        Metric::ReactivationMrr => &[MovementKind::Reactivation],
        Metric::ContractionMrr => &[MovementKind::Contraction],
        Metric::ChurnedMrr | Metric::ChurnedAccounts | Metric::LogoChurnRate => &[MovementKind::Churn],
        // Retention reads the accounts paying at the month's start: what they gained and lost.
        Metric::Nrr => &[MovementKind::Expansion, MovementKind::Contraction, MovementKind::Churn],
        Metric::Grr => &[MovementKind::Contraction, MovementKind::Churn],
        Metric::Mrr | Metric::Arr => &[
            MovementKind::New,
            MovementKind::Expansion,
            MovementKind::Reactivation,
            MovementKind::Contraction,
            MovementKind::Churn,
        ],
        _ => return None,
    })
}

/// What the account metrics read, loaded once for a view.
struct KpiFacts {
    /// The accounts the filter chooses.
    accounts: Vec<Account>,
    portfolio: crate::resident::PortfolioRead,
    best_grade: Option<String>,
    lowest_grade: Option<String>,
}

impl KpiFacts {
    fn paying_on(&self, day: NaiveDate) -> impl Iterator<Item = &Account> {
        self.accounts.iter().filter(move |a| self.portfolio.figures(a.id, day).mrr.0 > Decimal::ZERO)
    }
}

/// A month's value of an account metric and the accounts behind it, in the order a CSM would
/// act on them.
struct AccountMonth {
    value: Option<f64>,
    accounts: Vec<KpiAccount>,
}

fn graded(on: &GradeOn) -> bool {
    on.grade != UNKNOWN_GRADE
}

impl App {
    /// The saved tree, or none before one is installed or saved.
    pub async fn kpi_tree(&self) -> Result<Option<KpiTree>, AppError> {
        match self.store.load_kpi_tree().await? {
            Some(json) => serde_json::from_str(&json)
                .map(Some)
                .map_err(|e| AppError::Internal(format!("the saved KPI tree is unreadable: {e}"))),
            None => Ok(None),
        }
    }

    pub async fn save_kpi_tree(&self, actor: &Actor, tree: KpiTree) -> Result<KpiTree, AppError> {
        tree.validate().map_err(AppError::Invalid)?;
        let before = self.kpi_tree().await?;
        let json = serde_json::to_string(&tree).map_err(|e| AppError::Internal(format!("KPI tree: {e}")))?;
        self.store.save_kpi_tree(&json).await?;
        self.record_change(actor, "update", "kpi_tree", "workspace", before.as_ref(), Some(&tree)).await?;
        Ok(tree)
    }

    /// Replaces the tree with a company-phase template's and adds its segments and playbooks;
    /// targets entered for keys it keeps stay. Its scorecard is installed as `import_kpi_bundle`
    /// says.
    pub async fn install_kpi_template(
        &self,
        actor: &Actor,
        phase: Phase,
        replace_scorecard: bool,
    ) -> Result<Installed, AppError> {
        self.import_kpi_bundle(actor, phase.bundle()?, replace_scorecard).await
    }

    /// Installs a bundle: the tree replaces the current one; its segments and playbooks are added
    /// unless one with the same name exists, playbooks paused so a team reviews them before they
    /// act; its health configuration becomes the workspace's when the workspace never saved its
    /// own, or when `replace_scorecard` — a tuned scorecard is not replaced behind anyone's back.
    /// Everything is checked before anything is written.
    pub async fn import_kpi_bundle(
        &self,
        actor: &Actor,
        bundle: KpiBundle,
        replace_scorecard: bool,
    ) -> Result<Installed, AppError> {
        let tree = bundle.tree();
        let mut errors = tree.validate().err().unwrap_or_default();
        let own_scorecard = self.store.load_health_config().await?.is_some();
        let health = match &bundle.health {
            Some(health) if replace_scorecard || !own_scorecard => {
                if let Err(fields) = health.validate() {
                    errors.extend(fields.into_iter().map(|e| e.prefixed("health")));
                }
                Some(health.clone())
            }
            _ => None,
        };
        let features = self.feature_keys().await?;
        let existing: HashSet<String> = self.segments().await?.into_iter().map(|s| s.segment.name).collect();
        let segments: Vec<&BundleSegment> = bundle.segments.iter().filter(|s| !existing.contains(&s.name)).collect();
        for (i, segment) in bundle.segments.iter().enumerate() {
            match crate::segments::check_segment(&segment.input(), &features) {
                Ok(_) => {}
                Err(AppError::Invalid(fields)) => {
                    errors.extend(fields.into_iter().map(|e| e.prefixed(&format!("segment[{i}]"))));
                }
                // A rule that does not read: refused with its line and column, before any write.
                Err(other) => return Err(other),
            }
        }
        // Playbooks name grades of the configuration they will run under.
        let grades = match &health {
            Some(health) => health.grades.clone(),
            None => self.health_config().await?.grades,
        };
        let grades: Vec<String> = grades.into_iter().map(|g| g.key).collect();
        let stages = self.settings().stages;
        let known: HashSet<String> = self.playbooks().await?.into_iter().map(|p| p.definition.name).collect();
        let mut playbooks = Vec::new();
        for (i, playbook) in bundle.playbooks.iter().enumerate() {
            if let Err(fields) = playbook.validate(&grades, &stages) {
                errors.extend(fields.into_iter().map(|e| e.prefixed(&format!("playbook[{i}]"))));
            }
            if !known.contains(&playbook.name) {
                playbooks.push(PlaybookDefinition { active: false, ..playbook.clone() });
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let tree = self.save_kpi_tree(actor, tree).await?;
        let scorecard = match (health, &bundle.health) {
            (Some(health), _) => {
                self.set_health_config(actor, health).await?;
                ScorecardOutcome::Installed
            }
            (None, Some(_)) => ScorecardOutcome::Kept,
            (None, None) => ScorecardOutcome::NotInBundle,
        };
        let mut added = Installed { tree, scorecard, segments: Vec::new(), playbooks: Vec::new() };
        for segment in segments {
            self.create_segment(actor, &segment.input()).await?;
            added.segments.push(segment.name.clone());
        }
        for playbook in playbooks {
            added.playbooks.push(playbook.name.clone());
            self.save_playbook(actor, None, playbook).await?;
        }
        Ok(added)
    }

    /// The tree with every segment, every playbook that names no segment by id and the health
    /// configuration, to share.
    pub async fn kpi_bundle(&self) -> Result<Option<KpiBundle>, AppError> {
        let Some(tree) = self.kpi_tree().await? else { return Ok(None) };
        let segments = self
            .segments()
            .await?
            .into_iter()
            .map(|s| BundleSegment {
                name: s.segment.name,
                name_en: s.segment.name_en,
                rule: s.segment.rule,
                description: s.segment.description,
            })
            .collect();
        let playbooks = self
            .playbooks()
            .await?
            .into_iter()
            .map(|p| p.definition)
            .filter(|d| {
                d.segment_id.is_none() && !matches!(d.trigger, domain::playbooks::Trigger::EnteredSegment { .. })
            })
            .collect();
        Ok(Some(KpiBundle { nodes: tree.nodes, segments, playbooks, health: Some(self.health_config().await?) }))
    }

    /// Sets (or with `None` clears) a node's target or entered actual for a month. Actuals are only
    /// for nodes Kizuna does not compute.
    pub async fn set_kpi_value(
        &self,
        actor: &Actor,
        node_key: &str,
        month: YearMonth,
        kind: ValueKind,
        value: Option<f64>,
    ) -> Result<(), AppError> {
        let tree = self.kpi_tree().await?.ok_or_else(|| AppError::invalid("node", Reason::UnknownReference))?;
        let node = tree.node(node_key).ok_or_else(|| AppError::invalid("node", Reason::UnknownReference))?;
        if kind == ValueKind::Actual && node.metric.is_some() {
            return Err(AppError::invalid("kind", Reason::ReservedForSystem));
        }
        if value.is_some_and(|v| !v.is_finite() || v.abs() > 1e15) {
            return Err(AppError::invalid("value", Reason::OutOfRange { min: "-1e15".into(), max: "1e15".into() }));
        }
        self.store.set_kpi_value(node_key, &month.to_string(), kind.as_str(), value).await?;
        let entity = format!("{node_key}/{month}/{}", kind.as_str());
        self.record_change(actor, "update", "kpi_value", &entity, None::<&f64>, value.as_ref()).await
    }

    /// Sets (or with `None` clears) a node's target for every month of a fiscal year, named by
    /// the year it starts in (2026年度 / FY2026 starts in 2026).
    pub async fn set_kpi_year_target(
        &self,
        actor: &Actor,
        node_key: &str,
        fiscal_year: i32,
        value: Option<f64>,
    ) -> Result<(), AppError> {
        let out_of_range =
            || AppError::invalid("fiscal_year", Reason::OutOfRange { min: "2000".into(), max: "2100".into() });
        if !(2000..=2100).contains(&fiscal_year) {
            return Err(out_of_range());
        }
        let start = NaiveDate::from_ymd_opt(fiscal_year, self.settings().fiscal_year_start_month, 1)
            .ok_or_else(out_of_range)?;
        for month in 0..12 {
            let month = YearMonth::of(start).plus_months(month).ok_or_else(out_of_range)?;
            self.set_kpi_value(actor, node_key, month, ValueKind::Target, value).await?;
        }
        Ok(())
    }

    async fn kpi_values(&self) -> Result<(MonthlyValues, MonthlyValues), AppError> {
        let (mut targets, mut actuals) = (MonthlyValues::new(), MonthlyValues::new());
        for v in self.store.kpi_values().await? {
            let into = if v.kind == ValueKind::Target.as_str() { &mut targets } else { &mut actuals };
            into.entry(v.node_key).or_default().insert(v.month, v.value);
        }
        Ok((targets, actuals))
    }

    /// NPS answers per month, of the chosen accounts.
    async fn nps_by_month(&self, filter: &MetricsFilter) -> Result<BTreeMap<YearMonth, Vec<i64>>, AppError> {
        let chosen = self.metrics_accounts(filter).await?;
        let mut by_month: BTreeMap<YearMonth, Vec<i64>> = BTreeMap::new();
        for (account, day, score) in self.store.nps_responses(None).await? {
            if chosen.as_ref().is_none_or(|c| c.contains(&account)) {
                by_month.entry(YearMonth::of(day)).or_default().push(score);
            }
        }
        Ok(by_month)
    }

    /// Onboarding plans of the chosen accounts completed in each month: (account, completed on,
    /// days it took).
    async fn onboardings_by_month(
        &self,
        filter: &MetricsFilter,
    ) -> Result<BTreeMap<YearMonth, Vec<(AccountId, NaiveDate, i64)>>, AppError> {
        let chosen = self.metrics_accounts(filter).await?;
        let mut by_month: BTreeMap<YearMonth, Vec<(AccountId, NaiveDate, i64)>> = BTreeMap::new();
        for plan in self.store.onboarding_plans(None).await? {
            let Some(done) = plan.completed_on else { continue };
            if chosen.as_ref().is_none_or(|c| c.contains(&plan.account_id)) {
                let days = (done - plan.started_on).num_days();
                by_month.entry(YearMonth::of(done)).or_default().push((plan.account_id, done, days));
            }
        }
        Ok(by_month)
    }

    async fn kpi_account_facts(&self, filter: &MetricsFilter) -> Result<KpiFacts, AppError> {
        let chosen = self.metrics_accounts(filter).await?;
        let accounts = self
            .all_accounts()
            .await?
            .into_iter()
            .filter(|a| chosen.as_ref().is_none_or(|c| c.contains(&a.id)))
            .collect();
        let grades = self.health_config().await?.grades;
        Ok(KpiFacts {
            accounts,
            portfolio: self.portfolio().await?,
            best_grade: grades.first().map(|g| g.key.clone()),
            lowest_grade: grades.last().map(|g| g.key.clone()),
        })
    }

    /// An account metric for each of `months`.
    async fn account_metric(
        &self,
        facts: &KpiFacts,
        metric: Metric,
        months: &[YearMonth],
    ) -> Result<Vec<AccountMonth>, AppError> {
        let mut found = Vec::with_capacity(months.len());
        match metric {
            Metric::NewCustomersHealthy => return self.new_customer_quality(facts, months).await,
            Metric::RenewalForecastAccuracy => return self.renewal_forecast_accuracy(facts, months).await,
            _ => {}
        }
        for month in months {
            let (first, last) = (month.first_day(), month.last_day());
            let portfolio = &facts.portfolio;
            let at = |account: &Account, value: f64| KpiAccount { account_id: account.id.0, day: last, value };
            let entry = match metric {
                Metric::Tickets | Metric::TicketsPerAccount => {
                    // None when the workspace never imported tickets.
                    let opened: Option<Vec<(&Account, usize)>> = facts
                        .accounts
                        .iter()
                        .map(|a| Some((a, portfolio.tickets_opened(a.id, first, last)?)))
                        .collect();
                    match opened {
                        None => AccountMonth { value: None, accounts: Vec::new() },
                        Some(mut opened) => {
                            opened.retain(|(_, n)| *n > 0);
                            opened.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
                            let total: usize = opened.iter().map(|(_, n)| n).sum();
                            AccountMonth {
                                value: match metric {
                                    Metric::Tickets => Some(total as f64),
                                    _ => share(total, facts.paying_on(last).count()),
                                },
                                accounts: opened.into_iter().map(|(a, n)| at(a, n as f64)).collect(),
                            }
                        }
                    }
                }
                Metric::SeatActivation => {
                    let mut rates: Vec<(&Account, f64)> =
                        facts.paying_on(last).filter_map(|a| Some((a, portfolio.seat_activation(a, last)?))).collect();
                    rates.sort_by(|a, b| a.1.total_cmp(&b.1));
                    let mean =
                        (!rates.is_empty()).then(|| rates.iter().map(|(_, r)| r).sum::<f64>() / rates.len() as f64);
                    AccountMonth { value: mean, accounts: rates.into_iter().map(|(a, r)| at(a, r)).collect() }
                }
                Metric::CoreFeatureAdoption => {
                    let mut uses: Vec<(&Account, i64)> =
                        facts.paying_on(last).map(|a| (a, portfolio.core_feature_uses(a.id, first, last))).collect();
                    uses.sort_by_key(|(_, n)| *n);
                    let adopted = uses.iter().filter(|(_, n)| *n > 0).count();
                    AccountMonth {
                        value: share(adopted, uses.len()),
                        accounts: uses.into_iter().map(|(a, n)| at(a, n as f64)).collect(),
                    }
                }
                Metric::HealthyShare | Metric::AtRiskShare => {
                    let grade = if metric == Metric::HealthyShare { &facts.best_grade } else { &facts.lowest_grade };
                    let on = self.store.grades_on(last, None).await?;
                    let mut graded_paying: Vec<(&Account, &GradeOn)> =
                        facts.paying_on(last).filter_map(|a| Some((a, on.get(&a.id).filter(|g| graded(g))?))).collect();
                    let total = graded_paying.len();
                    graded_paying.retain(|(_, g)| Some(&g.grade) == grade.as_ref());
                    // The healthiest first among the healthy, the weakest first among those at risk.
                    graded_paying.sort_by(|a, b| a.1.score.unwrap_or(0.0).total_cmp(&b.1.score.unwrap_or(0.0)));
                    if metric == Metric::HealthyShare {
                        graded_paying.reverse();
                    }
                    AccountMonth {
                        value: share(graded_paying.len(), total),
                        accounts: graded_paying
                            .into_iter()
                            .map(|(a, g)| KpiAccount { account_id: a.id.0, day: g.day, value: g.score.unwrap_or(0.0) })
                            .collect(),
                    }
                }
                _ => AccountMonth { value: None, accounts: Vec::new() },
            };
            found.push(entry);
        }
        Ok(found)
    }

    /// For each month, the accounts whose 90th day as paying customers fell in it and their grade
    /// that day (the weakest first).
    async fn new_customer_quality(
        &self,
        facts: &KpiFacts,
        months: &[YearMonth],
    ) -> Result<Vec<AccountMonth>, AppError> {
        let Some(last_day) = months.last().map(|m| m.last_day()) else { return Ok(Vec::new()) };
        let ninetieth: Vec<(AccountId, NaiveDate)> = facts
            .accounts
            .iter()
            .filter_map(|a| {
                let first_paying = facts.portfolio.figures(a.id, last_day).first_paying_day?;
                Some((a.id, first_paying.checked_add_days(Days::new(NEW_CUSTOMER_DAYS))?))
            })
            .filter(|(_, day)| months.first().is_some_and(|m| *day >= m.first_day()) && *day <= last_day)
            .collect();
        let Some(earliest) = ninetieth.iter().map(|(_, day)| *day).min() else {
            return Ok(months.iter().map(|_| AccountMonth { value: None, accounts: Vec::new() }).collect());
        };
        let ids: Vec<AccountId> = ninetieth.iter().map(|(id, _)| *id).collect();
        let mut history: BTreeMap<AccountId, Vec<GradeOn>> = BTreeMap::new();
        for (id, on) in self.store.grades_around(earliest, Some(&ids)).await? {
            history.entry(id).or_default().push(on);
        }
        let grade_on = |id: AccountId, day: NaiveDate| {
            history.get(&id).and_then(|days| days.iter().rev().find(|g| g.day <= day)).filter(|g| graded(g))
        };
        Ok(months
            .iter()
            .map(|month| {
                let mut cohort: Vec<(AccountId, NaiveDate, &GradeOn)> = ninetieth
                    .iter()
                    .filter(|(_, day)| YearMonth::of(*day) == *month)
                    .filter_map(|(id, day)| Some((*id, *day, grade_on(*id, *day)?)))
                    .collect();
                cohort.sort_by(|a, b| a.2.score.unwrap_or(0.0).total_cmp(&b.2.score.unwrap_or(0.0)));
                let healthy = cohort.iter().filter(|(_, _, g)| Some(&g.grade) == facts.best_grade.as_ref()).count();
                AccountMonth {
                    value: share(healthy, cohort.len()),
                    accounts: cohort
                        .into_iter()
                        .map(|(id, day, g)| KpiAccount { account_id: id.0, day, value: g.score.unwrap_or(0.0) })
                        .collect(),
                }
            })
            .collect())
    }

    /// For each month, how close the renewal calls made before it came, and its renewals with
    /// the ARR kept against the ARR forecast (the largest miss first).
    async fn renewal_forecast_accuracy(
        &self,
        facts: &KpiFacts,
        months: &[YearMonth],
    ) -> Result<Vec<AccountMonth>, AppError> {
        let chosen: HashSet<AccountId> = facts.accounts.iter().map(|a| a.id).collect();
        let called = self.called_renewals().await?;
        let money = |m: Money| m.0.to_f64().unwrap_or(0.0);
        Ok(months
            .iter()
            .map(|month| {
                let Some(called) = called.iter().find(|c| YearMonth::of(c.month) == *month) else {
                    return AccountMonth { value: None, accounts: Vec::new() };
                };
                let renewals: Vec<&CalledRenewal> =
                    called.renewals.iter().filter(|r| chosen.contains(&r.account)).collect();
                // Each renewal's ARR as called to stay (commit or likely: all of it, else none)
                // against what it kept of that ARR: expansion is a sale of its own, not a miss.
                let called_and_kept: Vec<(&CalledRenewal, f64, f64)> = renewals
                    .iter()
                    .map(|r| {
                        let up = money(r.forecast_arr);
                        let to_stay = matches!(r.forecast, Some(ForecastCategory::Commit | ForecastCategory::Likely));
                        (*r, if to_stay { up } else { 0.0 }, money(r.kept_arr).min(up))
                    })
                    .collect();
                let to_stay = called_and_kept.iter().map(|(_, called, _)| called).sum::<f64>();
                let kept = called_and_kept.iter().map(|(_, _, kept)| kept).sum::<f64>();
                let mut accounts: Vec<KpiAccount> = called_and_kept
                    .iter()
                    .map(|(r, called, kept)| KpiAccount {
                        account_id: r.account.0,
                        day: r.renewal_date,
                        value: kept - called,
                    })
                    .collect();
                accounts.sort_by(|a, b| b.value.abs().total_cmp(&a.value.abs()));
                AccountMonth { value: forecast_accuracy(kept, to_stay), accounts }
            })
            .collect())
    }

    /// Onboarding plans of the chosen accounts whose last milestone was due in each month: (account,
    /// due day, days late — 0 when completed by the due day, else to completion or to today).
    async fn onboardings_due_by_month(
        &self,
        filter: &MetricsFilter,
    ) -> Result<BTreeMap<YearMonth, Vec<(AccountId, NaiveDate, i64)>>, AppError> {
        let chosen = self.metrics_accounts(filter).await?;
        let today = self.today();
        let mut by_month: BTreeMap<YearMonth, Vec<(AccountId, NaiveDate, i64)>> = BTreeMap::new();
        for plan in self.onboarding_plans(&PlanFilter::default()).await? {
            let account = AccountId(plan.account_id);
            let Some(due) = plan.milestones.iter().map(|m| m.due_on).max() else { continue };
            if chosen.as_ref().is_none_or(|c| c.contains(&account)) {
                let late = (plan.completed_on.unwrap_or(today) - due).num_days().max(0);
                by_month.entry(YearMonth::of(due)).or_default().push((account, due, late));
            }
        }
        Ok(by_month)
    }

    /// The latest complete month, the last a KPI view shows.
    pub fn kpi_latest_month(&self) -> YearMonth {
        let this_month = YearMonth::of(self.today());
        this_month.plus_months(-1).unwrap_or(this_month)
    }

    /// The tree's `KPI_MONTHS` months up to `through` (default and at most the latest complete
    /// month) for the accounts `filter` chooses; `None` before a tree is installed.
    pub async fn kpi_view(
        &self,
        filter: &MetricsFilter,
        through: Option<YearMonth>,
    ) -> Result<Option<KpiView>, AppError> {
        let Some(tree) = self.kpi_tree().await? else { return Ok(None) };
        // Complete months only: a month to date reads as a collapse of every flow.
        let complete = self.kpi_latest_month();
        let last = through.map_or(complete, |through| through.min(complete));
        let months: Vec<YearMonth> = (0..KPI_MONTHS).rev().filter_map(|back| last.plus_months(-back)).collect();
        let first = months.first().copied().unwrap_or(last);
        let reports = self.metrics_report(filter, Interval::Month, first.first_day(), last.last_day()).await?;
        let nps = self.nps_by_month(filter).await?;
        let onboardings = self.onboardings_by_month(filter).await?;
        let due = match tree.nodes.iter().any(|n| n.metric == Some(Metric::OnboardingOnTime)) {
            true => self.onboardings_due_by_month(filter).await?,
            false => BTreeMap::new(),
        };
        let (targets, actuals) = self.kpi_values().await?;
        let mut by_accounts: HashMap<Metric, Vec<Option<f64>>> = HashMap::new();
        let mut wanted: Vec<Metric> =
            tree.nodes.iter().filter_map(|n| n.metric).filter(|m| m.reads_accounts()).collect();
        wanted.sort_by_key(|m| Metric::ALL.iter().position(|a| a == m));
        wanted.dedup();
        if !wanted.is_empty() {
            let facts = self.kpi_account_facts(filter).await?;
            for metric in wanted {
                let found = self.account_metric(&facts, metric, &months).await?;
                by_accounts.insert(metric, found.into_iter().map(|m| m.value).collect());
            }
        }
        let entered = |values: &MonthlyValues, key: &str, month: YearMonth| {
            values.get(key).and_then(|m| m.get(&month.to_string())).copied()
        };
        let series = |node: &KpiNode| -> Vec<Option<f64>> {
            months
                .iter()
                .enumerate()
                .map(|(i, month)| match node.metric {
                    Some(Metric::Nps) => nps.get(month).and_then(|answers| nps_of(answers)),
                    Some(Metric::NpsAnswers) => Some(nps.get(month).map_or(0.0, |a| a.len() as f64)),
                    Some(Metric::OnboardingsCompleted) => Some(onboardings.get(month).map_or(0.0, |p| p.len() as f64)),
                    Some(Metric::OnboardingDays) => onboardings
                        .get(month)
                        .filter(|p| !p.is_empty())
                        .map(|plans| plans.iter().map(|(_, _, days)| *days as f64).sum::<f64>() / plans.len() as f64),
                    Some(Metric::OnboardingOnTime) => due
                        .get(month)
                        .and_then(|plans| share(plans.iter().filter(|(_, _, late)| *late == 0).count(), plans.len())),
                    Some(metric) if metric.reads_accounts() => {
                        by_accounts.get(&metric).and_then(|v| v.get(i).copied().flatten())
                    }
                    Some(metric) => reports.get(i).and_then(|r| metric.of_report(r)),
                    None => entered(&actuals, &node.key, *month),
                })
                .collect()
        };
        let actual: BTreeMap<&str, Vec<Option<f64>>> = tree.nodes.iter().map(|n| (n.key.as_str(), series(n))).collect();
        let mut nodes = Vec::new();
        let mut stack: Vec<(&KpiNode, usize)> = tree.roots().into_iter().rev().map(|n| (n, 0)).collect();
        while let Some((node, depth)) = stack.pop() {
            let values = actual.get(node.key.as_str()).cloned().unwrap_or_default();
            let target: Vec<Option<f64>> = months.iter().map(|m| entered(&targets, &node.key, *m)).collect();
            let children = tree.children(&node.key);
            let relation = node.children_relation.unwrap_or(Relation::Driver);
            let latest_two = |key: &str| {
                let series = actual.get(key)?;
                let n = series.len();
                Some((series.get(n.checked_sub(2)?).copied()??, series.get(n - 1).copied()??))
            };
            let changes: Option<Vec<(f64, f64)>> = children.iter().map(|c| latest_two(&c.key)).collect();
            let parts = changes.and_then(|changes| contributions(relation, &changes));
            let effects = children
                .iter()
                .enumerate()
                .map(|(i, child)| {
                    let correlated = (relation == Relation::Driver)
                        .then(|| correlation(&values, actual.get(child.key.as_str()).map_or(&[][..], |v| v)))
                        .flatten();
                    ChildEffect {
                        key: child.key.clone(),
                        contribution: parts.as_ref().and_then(|p| p.get(i).copied()),
                        correlation: correlated.map(|(r, _)| r),
                        correlation_months: correlated.map(|(_, months)| months),
                    }
                })
                .collect();
            nodes.push(KpiNodeView {
                status: status(values.last().copied().flatten(), target.last().copied().flatten(), node.direction),
                node: node.clone(),
                depth,
                actual: values,
                target,
                children: effects,
            });
            stack.extend(children.into_iter().rev().map(|c| (c, depth + 1)));
        }
        Ok(Some(KpiView { months, nodes }))
    }

    /// The accounts behind a node's month, the largest first: the MRR movements it counts (for MRR
    /// and retention, what the accounts gained and lost), or the NPS answers given. Empty for
    /// numbers not made of accounts' events (ARPA, entered numbers).
    pub async fn kpi_accounts(
        &self,
        filter: &MetricsFilter,
        metric: Option<Metric>,
        month: YearMonth,
    ) -> Result<Vec<KpiAccount>, AppError> {
        let Some(metric) = metric else { return Ok(Vec::new()) };
        let to = month.last_day().min(self.today());
        if matches!(metric, Metric::Nps | Metric::NpsAnswers) {
            let chosen = self.metrics_accounts(filter).await?;
            return Ok(self
                .store
                .nps_responses(None)
                .await?
                .into_iter()
                .filter(|(account, day, _)| {
                    YearMonth::of(*day) == month && chosen.as_ref().is_none_or(|c| c.contains(account))
                })
                .map(|(account, day, score)| KpiAccount { account_id: account.0, day, value: score as f64 })
                .collect());
        }
        if metric == Metric::OnboardingOnTime {
            let mut plans = self.onboardings_due_by_month(filter).await?.remove(&month).unwrap_or_default();
            plans.sort_by_key(|(_, _, late)| std::cmp::Reverse(*late));
            return Ok(plans
                .into_iter()
                .map(|(account, day, late)| KpiAccount { account_id: account.0, day, value: late as f64 })
                .collect());
        }
        if matches!(metric, Metric::OnboardingsCompleted | Metric::OnboardingDays) {
            let plans = self.onboardings_by_month(filter).await?.remove(&month).unwrap_or_default();
            return Ok(plans
                .into_iter()
                .map(|(account, day, days)| KpiAccount { account_id: account.0, day, value: days as f64 })
                .collect());
        }
        if metric.reads_accounts() {
            let facts = self.kpi_account_facts(filter).await?;
            return Ok(self
                .account_metric(&facts, metric, &[month])
                .await?
                .pop()
                .map(|m| m.accounts)
                .unwrap_or_default());
        }
        let Some(kinds) = movement_kinds(metric) else { return Ok(Vec::new()) };
        let mut found: Vec<KpiAccount> = self
            .metrics_movements(filter, month.first_day(), to)
            .await?
            .into_iter()
            .filter(|m| kinds.contains(&m.movement.kind))
            .filter_map(|m| {
                Some(KpiAccount {
                    account_id: m.movement.account.0,
                    day: m.movement.day,
                    value: rust_decimal::prelude::ToPrimitive::to_f64(&m.movement.amount.0)?,
                })
            })
            .collect();
        found.sort_by(|a, b| b.value.abs().total_cmp(&a.value.abs()));
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_phase_template_is_a_valid_tree_that_reads_back_from_its_toml() {
        for phase in Phase::ALL {
            let bundle = phase.bundle().unwrap();
            let tree = bundle.tree();
            assert_eq!(tree.validate(), Ok(()), "{}", phase.key());
            assert_eq!(bundle.health.as_ref().map(HealthConfig::validate), Some(Ok(())), "{}", phase.key());
            assert!(!tree.roots().is_empty());
            let text = kpi_tree_toml(&tree).unwrap();
            assert_eq!(parse_toml::<KpiTree>("kpi.toml", &text).unwrap(), tree);
            let text = kpi_bundle_toml(&bundle).unwrap();
            assert_eq!(parse_toml::<KpiBundle>("bundle.toml", &text).unwrap(), bundle, "{text}");
        }
    }
}
