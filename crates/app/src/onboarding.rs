//! Onboarding plans at work: templates (managers), plans started by hand (account editors) or
//! automatically from the default template at an account's first paying day, milestones completed
//! by hand or by their rule (the segment rule language over the same `AccountFacts` segments
//! use), and a completed plan moving the account to the template's lifecycle stage.
//!
//! `advance_onboarding` runs at the end of `recompute_health`, so plans move with the same
//! freshness as health scores and segments (within a second of a change, and hourly for all).

use crate::segments::Needs;
use crate::{Actor, App, AppError};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use domain::access::Role;
use domain::account::Account;
use domain::onboarding::{due_on, plan_status, time_to_onboard, OnboardStats, OnboardingTemplate, PlanStatus};
use domain::segments::Segment;
use domain::timeline::{TimelineEntryInput, TimelineEvent};
use domain::{AccountId, Reason, TeamId, UserId};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use store::onboarding::{StoredPlan, StoredTemplate};
use store::Entity;

const SYSTEM: Actor = Actor::System("onboarding");

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TemplateView {
    pub id: i64,
    pub name: String,
    pub is_default: bool,
    pub definition: OnboardingTemplate,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MilestoneView {
    pub key: String,
    pub name_ja: String,
    pub name_en: String,
    pub expected_days: u32,
    pub due_on: NaiveDate,
    pub completed_on: Option<NaiveDate>,
    /// `rule`, or who completed it by hand.
    pub completed_by: Option<String>,
    pub rule: Option<String>,
}

/// A plan with its account, milestones (by expected day) and status as of today.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlanView {
    pub id: i64,
    pub account_id: i64,
    pub account_name: String,
    /// The owning team (the main owner's, else the sub owner's).
    pub team: Option<String>,
    pub template_id: i64,
    pub template_name: String,
    /// The template's name for English readers, when it has one.
    pub template_name_en: Option<String>,
    pub started_on: NaiveDate,
    pub started_by: String,
    pub completed_on: Option<NaiveDate>,
    pub status: PlanStatus,
    pub done: usize,
    pub total: usize,
    pub milestones: Vec<MilestoneView>,
}

impl PlanView {
    /// The first open milestone by expected day.
    pub fn next(&self) -> Option<&MilestoneView> {
        self.milestones.iter().find(|m| m.completed_on.is_none())
    }
}

/// An open milestone past its due day (for playbook triggers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct OverdueMilestone {
    #[schema(value_type = i64)]
    pub account: AccountId,
    pub plan_id: i64,
    pub milestone_key: String,
    pub due_on: NaiveDate,
}

#[derive(Debug, Clone, Default)]
pub struct PlanFilter {
    pub status: Option<PlanStatus>,
    pub team: Option<TeamId>,
}

/// How time-to-onboard statistics are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatsBy {
    /// The month of the account's first paying day (`YYYY-MM`).
    Cohort,
    /// The owning team.
    Team,
    /// Saved segments the account is in now.
    Segment,
}

impl StatsBy {
    pub fn parse(raw: &str) -> Result<StatsBy, Reason> {
        match raw {
            "cohort" => Ok(StatsBy::Cohort),
            "team" => Ok(StatsBy::Team),
            "segment" => Ok(StatsBy::Segment),
            _ => Err(Reason::NotOneOf { allowed: ["cohort", "team", "segment"].map(String::from).to_vec() }),
        }
    }
}

/// The group for accounts without a cohort or team.
pub const NO_GROUP: &str = "—";

fn template_view(stored: StoredTemplate) -> Result<TemplateView, AppError> {
    let definition = serde_json::from_str(&stored.definition)
        .map_err(|e| AppError::Internal(format!("stored onboarding template {}: {e}", stored.id)))?;
    Ok(TemplateView {
        id: stored.id,
        name: stored.name,
        is_default: stored.is_default,
        definition,
        updated_at: stored.updated_at,
    })
}

/// The definition as TOML, for the editor.
pub fn template_toml(definition: &OnboardingTemplate) -> String {
    toml::to_string_pretty(definition).unwrap_or_default()
}

fn require_manage(actor: &Actor) -> Result<(), AppError> {
    if actor.role() >= Role::Manager {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

fn plan_view(
    plan: &StoredPlan,
    template: &TemplateView,
    account: &Account,
    team: Option<String>,
    today: NaiveDate,
) -> PlanView {
    let stored: HashMap<&str, _> = plan.milestones.iter().map(|m| (m.key.as_str(), m)).collect();
    let milestones: Vec<MilestoneView> = template
        .definition
        .ordered()
        .into_iter()
        .map(|m| {
            let done = stored.get(m.key.as_str());
            MilestoneView {
                key: m.key.clone(),
                name_ja: m.name_ja.clone(),
                name_en: m.name_en.clone(),
                expected_days: m.expected_days,
                due_on: due_on(plan.started_on, m.expected_days),
                completed_on: done.and_then(|d| d.completed_on),
                completed_by: done.and_then(|d| d.completed_by.clone()),
                rule: m.rule.clone(),
            }
        })
        .collect();
    let progress: Vec<(u32, bool)> = milestones.iter().map(|m| (m.expected_days, m.completed_on.is_some())).collect();
    let status =
        if plan.completed_on.is_some() { PlanStatus::Done } else { plan_status(plan.started_on, &progress, today) };
    PlanView {
        id: plan.id,
        account_id: account.id.0,
        account_name: account.input.name.clone(),
        team,
        template_id: template.id,
        template_name: template.name.clone(),
        template_name_en: template.definition.name_en.clone(),
        started_on: plan.started_on,
        started_by: plan.started_by.clone(),
        completed_on: plan.completed_on,
        status,
        done: progress.iter().filter(|(_, done)| *done).count(),
        total: progress.len(),
        milestones,
    }
}

impl App {
    pub async fn onboarding_templates(&self) -> Result<Vec<TemplateView>, AppError> {
        self.store.onboarding_templates().await?.into_iter().map(template_view).collect()
    }

    pub async fn onboarding_template(&self, id: i64) -> Result<TemplateView, AppError> {
        template_view(self.store.onboarding_template(id).await?)
    }

    /// Validates and saves a template (new when `id` is None); managers and admins. A default
    /// template without `active_from` gets today, so saving it never starts plans for customers
    /// who began paying before it existed.
    pub async fn save_onboarding_template(
        &self,
        actor: &Actor,
        id: Option<i64>,
        mut definition: OnboardingTemplate,
    ) -> Result<TemplateView, AppError> {
        require_manage(actor)?;
        definition.validate(&self.settings().stages).map_err(AppError::Invalid)?;
        if definition.default && definition.active_from.is_none() {
            definition.active_from = Some(self.today());
        }
        let before = match id {
            Some(id) => Some(self.onboarding_template(id).await?),
            None => None,
        };
        let json = serde_json::to_string(&definition).map_err(|e| AppError::Internal(format!("template: {e}")))?;
        let stored = self
            .store
            .save_onboarding_template(id, definition.name.trim(), &json, definition.default, Utc::now())
            .await?;
        let saved = template_view(stored)?;
        let action = if before.is_some() { "update" } else { "create" };
        self.record_change(actor, action, "onboarding_template", &saved.id.to_string(), before.as_ref(), Some(&saved))
            .await?;
        Ok(saved)
    }

    /// Deletes a template and its plans; managers and admins.
    pub async fn delete_onboarding_template(&self, actor: &Actor, id: i64) -> Result<(), AppError> {
        require_manage(actor)?;
        let before = self.onboarding_template(id).await?;
        self.store.delete_onboarding_template(id).await?;
        self.record_change(actor, "delete", "onboarding_template", &id.to_string(), Some(&before), None).await
    }

    /// Starts a plan today from the template (the default when `None`), by hand: account editors.
    /// Milestones whose rule already holds complete at once.
    pub async fn start_onboarding(
        &self,
        actor: &Actor,
        account: AccountId,
        template: Option<i64>,
    ) -> Result<PlanView, AppError> {
        let record = self.editable_account(actor, account).await?;
        let template = match template {
            Some(id) => match self.onboarding_template(id).await {
                Err(AppError::NotFound { .. }) => {
                    return Err(AppError::invalid("template_id", Reason::UnknownReference))
                }
                other => other?,
            },
            None => self
                .onboarding_templates()
                .await?
                .into_iter()
                .find(|t| t.is_default)
                .ok_or_else(|| AppError::invalid("template_id", Reason::Required))?,
        };
        let plan = self
            .start_plans(&[(record.id, self.today())], &template, "manual")
            .await?
            .pop()
            .ok_or(AppError::Conflict { entity: Entity::OnboardingPlan, field: "account_id" })?;
        self.record_change(actor, "create", "onboarding_plan", &plan.id.to_string(), None, Some(&plan)).await?;
        self.advance_onboarding(Some(&[account]), None).await?;
        self.onboarding_plan(plan.id).await
    }

    /// Starts the template's plan for each account on its day, noting each start on the account's
    /// timeline; returns the plans started (an account with an open plan gets none).
    async fn start_plans(
        &self,
        starts: &[(AccountId, NaiveDate)],
        template: &TemplateView,
        started_by: &str,
    ) -> Result<Vec<StoredPlan>, AppError> {
        let keys: Vec<String> = template.definition.milestones.iter().map(|m| m.key.clone()).collect();
        let plans = self.store.start_onboarding_plans(starts, template.id, started_by, &keys).await?;
        let (now, today, zone) = (Utc::now(), self.today(), self.zone());
        let entries: Vec<TimelineEntryInput> = plans
            .iter()
            .map(|plan| {
                // A plan dated from an earlier first paying day is on the timeline on that day,
                // as the onboarding board shows it, not on the day Kizuna noticed it.
                let at = match plan.started_on < today {
                    true => domain::usage::start_of_day(plan.started_on, zone),
                    false => now,
                };
                TimelineEntryInput::recorded(
                    plan.account_id,
                    None,
                    at,
                    TimelineEvent::OnboardingStarted {
                        template: template.name.clone(),
                        template_en: template.definition.name_en.clone(),
                    },
                )
            })
            .collect();
        if !entries.is_empty() {
            self.store.create_timeline_entries(&entries).await?;
        }
        Ok(plans)
    }

    /// Completes a milestone by hand: account editors.
    pub async fn complete_milestone(&self, actor: &Actor, plan_id: i64, key: &str) -> Result<PlanView, AppError> {
        let plan = self.store.onboarding_plan(plan_id).await?;
        self.editable_account(actor, plan.account_id).await?;
        if !plan.milestones.iter().any(|m| m.key == key) {
            return Err(AppError::NotFound { entity: Entity::OnboardingPlan, id: format!("{plan_id}/{key}") });
        }
        let done = self.store.complete_milestones(plan_id, &[key.to_owned()], self.today(), &actor.label()).await?;
        if !done.is_empty() {
            let after = serde_json::json!({ "plan_id": plan_id, "key": key, "completed_on": self.today() });
            self.record_change(
                actor,
                "complete",
                "onboarding_milestone",
                &format!("{plan_id}/{key}"),
                None,
                Some(&after),
            )
            .await?;
            self.finish_plans(&[self.store.onboarding_plan(plan_id).await?]).await?;
        }
        self.onboarding_plan(plan_id).await
    }

    pub async fn onboarding_plan(&self, id: i64) -> Result<PlanView, AppError> {
        let plan = self.store.onboarding_plan(id).await?;
        let template = self.onboarding_template(plan.template_id).await?;
        let account = self.store.get_account(plan.account_id).await?;
        let teams = self.owner_teams().await?;
        Ok(plan_view(&plan, &template, &account, team_of(&teams, &account).map(|(_, n)| n), self.today()))
    }

    /// Plans with their status as of today: open ones, and completed ones too unless filtered.
    pub async fn onboarding_plans(&self, filter: &PlanFilter) -> Result<Vec<PlanView>, AppError> {
        let templates: HashMap<i64, TemplateView> =
            self.onboarding_templates().await?.into_iter().map(|t| (t.id, t)).collect();
        let accounts: HashMap<AccountId, Account> = self.all_accounts().await?.into_iter().map(|a| (a.id, a)).collect();
        let teams = self.owner_teams().await?;
        let today = self.today();
        let mut views = Vec::new();
        for plan in self.store.onboarding_plans(None).await? {
            let (Some(template), Some(account)) = (templates.get(&plan.template_id), accounts.get(&plan.account_id))
            else {
                continue;
            };
            let team = team_of(&teams, account);
            if filter.team.is_some() && team.as_ref().map(|(id, _)| *id) != filter.team {
                continue;
            }
            let view = plan_view(&plan, template, account, team.map(|(_, name)| name), today);
            if filter.status.is_none_or(|s| s == view.status) {
                views.push(view);
            }
        }
        Ok(views)
    }

    /// Open milestones past their due day as of `today`, for playbook triggers.
    pub async fn overdue_milestones(&self, today: NaiveDate) -> Result<Vec<OverdueMilestone>, AppError> {
        let templates: HashMap<i64, TemplateView> =
            self.onboarding_templates().await?.into_iter().map(|t| (t.id, t)).collect();
        let mut overdue = Vec::new();
        for plan in self.store.open_onboarding_plans(None).await? {
            let Some(template) = templates.get(&plan.template_id) else { continue };
            for milestone in &template.definition.milestones {
                let due = due_on(plan.started_on, milestone.expected_days);
                let open = plan.milestones.iter().any(|m| m.key == milestone.key && m.completed_on.is_none());
                if open && due < today {
                    overdue.push(OverdueMilestone {
                        account: plan.account_id,
                        plan_id: plan.id,
                        milestone_key: milestone.key.clone(),
                        due_on: due,
                    });
                }
            }
        }
        Ok(overdue)
    }

    /// Median and 80th percentile of days from start to completion of completed plans, by group.
    pub async fn onboarding_stats(&self, by: StatsBy) -> Result<Vec<OnboardStats>, AppError> {
        let plans: Vec<StoredPlan> =
            self.store.onboarding_plans(None).await?.into_iter().filter(|p| p.completed_on.is_some()).collect();
        let days = |p: &StoredPlan| p.completed_on.map_or(0, |done| (done - p.started_on).num_days());
        let mut durations = Vec::new();
        match by {
            StatsBy::Segment => {
                for segment in self.store.list_segments().await? {
                    let members: HashSet<AccountId> =
                        self.store.segment_member_ids(segment.segment.id).await?.into_iter().collect();
                    durations.extend(
                        plans
                            .iter()
                            .filter(|p| members.contains(&p.account_id))
                            .map(|p| (segment.segment.name.clone(), days(p))),
                    );
                }
            }
            StatsBy::Cohort | StatsBy::Team => {
                let accounts: HashMap<AccountId, Account> =
                    self.all_accounts().await?.into_iter().map(|a| (a.id, a)).collect();
                let teams = self.owner_teams().await?;
                for plan in &plans {
                    let Some(account) = accounts.get(&plan.account_id) else { continue };
                    let key = match by {
                        StatsBy::Cohort => {
                            account.figures.first_paying_day.map(|d| format!("{:04}-{:02}", d.year(), d.month()))
                        }
                        _ => team_of(&teams, account).map(|(_, name)| name),
                    };
                    durations.push((key.unwrap_or_else(|| NO_GROUP.to_owned()), days(plan)));
                }
            }
        }
        Ok(time_to_onboard(durations))
    }

    /// Each staff user's team (id and name).
    async fn owner_teams(&self) -> Result<HashMap<UserId, (TeamId, String)>, AppError> {
        let teams: HashMap<TeamId, String> =
            self.store.list_teams().await?.into_iter().map(|t| (t.id, t.name)).collect();
        Ok(self
            .store
            .list_users()
            .await?
            .into_iter()
            .filter_map(|u| {
                let team = u.input.team_id?;
                Some((u.id, (team, teams.get(&team)?.clone())))
            })
            .collect())
    }

    /// Starts plans from the default template for these accounts (all when `None`) that began
    /// paying on or after its `active_from` and never had a plan; completes milestones whose rule
    /// holds; completes plans whose milestones are all done, moving the account to the
    /// template's stage. `rows` are those accounts' rows when the caller has read them already.
    pub async fn advance_onboarding(
        &self,
        accounts: Option<&[AccountId]>,
        rows: Option<Vec<Account>>,
    ) -> Result<(), AppError> {
        let templates: HashMap<i64, TemplateView> =
            self.onboarding_templates().await?.into_iter().map(|t| (t.id, t)).collect();
        if templates.is_empty() {
            return Ok(());
        }
        let mut open: Vec<StoredPlan> = self.store.open_onboarding_plans(accounts).await?;
        let rows: Vec<Account> = match rows {
            Some(rows) => rows,
            None => self.accounts_of(accounts).await?,
        };
        if let Some(default) = templates.values().find(|t| t.is_default) {
            let had_plan = self.store.accounts_with_onboarding_plans(accounts).await?;
            let mut starts = Vec::new();
            for account in rows.iter().filter(|a| !had_plan.contains(&a.id)) {
                let Some(first) = account.figures.first_paying_day else { continue };
                // A customer who has already left is not onboarded.
                if default.definition.active_from.is_some_and(|from| first < from)
                    || first > self.today()
                    || account.figures.is_churned()
                {
                    continue;
                }
                starts.push((account.id, first));
            }
            if !starts.is_empty() {
                open.extend(self.start_plans(&starts, default, "first_paying_day").await?);
            }
        }
        let completed = self.complete_by_rules(&open, &templates, &rows).await?;
        // Only the plans whose milestones rules just completed changed since they were read.
        let mut refreshed = Vec::with_capacity(open.len());
        for plan in open {
            refreshed.push(match completed.contains(&plan.id) {
                true => self.store.onboarding_plan(plan.id).await?,
                false => plan,
            });
        }
        self.finish_plans(&refreshed).await
    }

    /// Completes the milestones whose rules hold; returns the plans it changed.
    async fn complete_by_rules(
        &self,
        open: &[StoredPlan],
        templates: &HashMap<i64, TemplateView>,
        accounts: &[Account],
    ) -> Result<HashSet<i64>, AppError> {
        // Each open plan's milestones with rules not yet done.
        let mut pending: Vec<(&StoredPlan, String, Segment)> = Vec::new();
        for plan in open {
            let Some(template) = templates.get(&plan.template_id) else { continue };
            for milestone in &template.definition.milestones {
                let open = plan.milestones.iter().any(|m| m.key == milestone.key && m.completed_on.is_none());
                let Some(rule) = milestone.rule.as_deref().filter(|_| open) else { continue };
                match Segment::parse(rule) {
                    Ok(segment) => pending.push((plan, milestone.key.clone(), segment)),
                    // Checked when saved; only a change of the language could make it fail now.
                    Err(errors) => tracing::warn!(plan = plan.id, ?errors, "an onboarding rule no longer checks"),
                }
            }
        }
        let mut completed = HashSet::new();
        if pending.is_empty() {
            return Ok(completed);
        }
        let with_plans: HashSet<AccountId> = pending.iter().map(|(p, ..)| p.account_id).collect();
        let rows: Vec<Account> = accounts.iter().filter(|a| with_plans.contains(&a.id)).cloned().collect();
        let facts = self.account_facts(&rows, &Needs::of(pending.iter().map(|(_, _, s)| s))).await?;
        let facts: HashMap<AccountId, _> = rows.iter().map(|a| a.id).zip(facts).collect();
        let today = self.today();
        let feature_ids: HashMap<String, i64> =
            self.store.list_features().await?.into_iter().map(|f| (f.definition.key.to_string(), f.id)).collect();
        for (plan, key, segment) in &pending {
            if !facts.get(&plan.account_id).is_some_and(|f| segment.matches(f)) {
                continue;
            }
            // A milestone of feature use is done the day the customer did it, not the day Kizuna
            // looked: history imported late dates onboarding truly.
            let mut done_on = today;
            if let Some(features) = segment.holds_by_use_of() {
                let portfolio = self.portfolio().await?;
                let first_uses = features.iter().map(|feature| {
                    let uses =
                        feature_ids.get(feature).map_or(&[][..], |id| portfolio.feature_uses(plan.account_id, *id));
                    uses.iter()
                        .find(|(day, n)| *day >= plan.started_on && *n > 0)
                        .map_or(plan.started_on, |(day, _)| *day)
                });
                done_on = first_uses.max().unwrap_or(today).min(today);
            }
            self.store.complete_milestones(plan.id, std::slice::from_ref(key), done_on, "rule").await?;
            completed.insert(plan.id);
        }
        Ok(completed)
    }

    /// Completes the plans whose milestones are all done (once each), with a timeline entry and
    /// the template's stage.
    async fn finish_plans(&self, plans: &[StoredPlan]) -> Result<(), AppError> {
        let _finishing = self.finishing_onboarding.lock().await;
        let today = self.today();
        for plan in plans.iter().filter(|p| p.completed_on.is_none()) {
            if plan.milestones.iter().any(|m| m.completed_on.is_none()) {
                continue;
            }
            // Done the day its last milestone was.
            let done_on = plan.milestones.iter().filter_map(|m| m.completed_on).max().unwrap_or(today).min(today);
            if !self.store.complete_onboarding_plan(plan.id, done_on).await? {
                continue;
            }
            let template = self.onboarding_template(plan.template_id).await?;
            let account = self.store.get_account(plan.account_id).await?;
            let days = (done_on - plan.started_on).num_days();
            self.store
                .create_timeline_entry(&TimelineEntryInput::recorded(
                    account.id,
                    None,
                    Utc::now(),
                    TimelineEvent::OnboardingCompleted {
                        template: template.name.clone(),
                        template_en: template.definition.name_en.clone(),
                        days,
                    },
                ))
                .await?;
            if let Some(stage) = template.definition.complete_stage.filter(|s| account.input.stage.as_ref() != Some(s))
            {
                let mut input = account.input.clone();
                input.stage = Some(stage);
                self.update_account(&SYSTEM, account.id, &input).await?;
            }
        }
        Ok(())
    }
}

/// The owning team: the main owner's, else the sub owner's.
fn team_of(teams: &HashMap<UserId, (TeamId, String)>, account: &Account) -> Option<(TeamId, String)> {
    [account.input.owner_id, account.input.sub_owner_id].into_iter().flatten().find_map(|id| teams.get(&id).cloned())
}
