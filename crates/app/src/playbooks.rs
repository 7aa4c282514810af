//! Playbooks at work: trigger events become runs (once per playbook, account and occurrence,
//! enforced by the store), each run schedules its steps, and a worker on every app node claims
//! due steps and carries them out — tasks, emails through the outbox or SMTP, Slack, signed
//! webhooks, timeline entries and stage changes (the calls out are in `delivery`).

use crate::delivery::literal_host_permitted;
use crate::notifications::{account_csms, named};
use crate::{Actor, App, AppError};
use chrono::{DateTime, Days, NaiveDate, Utc};
use domain::account::Account;
use domain::i18n::{Bilingual, Lang};
use domain::notifications::Notice;
use domain::playbooks::mail::{EmailDraft, MailFailure, Outcome};
use domain::playbooks::template::TemplateValues;
use domain::playbooks::{
    grade_change_matches, priority_for_grade, yearly_occurrence, Action, Assignee, PlaybookDefinition, Trigger,
    PRIORITY_FROM_GRADE,
};
use domain::tasks::{TaskInput, TaskPriority, TaskReason};
use domain::timeline::{TimelineEntryInput, TimelineKind};
use domain::{AccountId, Reason};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use store::playbooks::{ClaimedStep, EmailStatus, OutboxEmail, PlaybookRun, StoredPlaybook};
use store::AccountQuery;

/// How often each node looks for due steps.
const STEP_POLL: Duration = Duration::from_secs(2);
/// A claim older than this whose step never finished is taken over (its node stopped).
const STALE_CLAIM_MINUTES: i64 = 15;
const STEPS_PER_POLL: i64 = 50;
/// NPS answers this recent start detractor playbooks.
const NPS_LOOKBACK_DAYS: u64 = 30;

/// Something that happened to an account that a playbook may react to.
#[derive(Debug, Clone)]
pub struct TriggerEvent {
    pub account: AccountId,
    pub kind: EventKind,
    /// Unique per occurrence for this kind of trigger: what makes a run happen once.
    pub occurrence: String,
    /// The data at that moment, kept on the run and shown on the tasks it creates.
    pub data: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    EnteredSegment(i64),
    GradeChanged {
        from: String,
        to: String,
    },
    /// Seen by the daily scan: the next renewal date.
    Renewal(NaiveDate),
    /// Seen by the daily scan: the last day with an active user (None: never active).
    Quiet(Option<NaiveDate>),
    NpsAnswer {
        day: NaiveDate,
        score: i64,
    },
    MilestoneOverdue {
        key: String,
    },
    /// The daily scan, for yearly playbooks.
    Day,
    /// A product request the account asked for shipped.
    RequestShipped,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlaybookView {
    pub id: i64,
    pub name: String,
    pub active: bool,
    pub definition: PlaybookDefinition,
    pub updated_at: DateTime<Utc>,
}

impl PlaybookView {
    /// The playbook as people and API clients read it: secrets masked.
    fn masked(self) -> PlaybookView {
        PlaybookView { definition: self.definition.masked(), ..self }
    }
}

/// Reads a playbook file; syntax errors name the line.
pub fn parse_playbook_toml(file: &str, text: &str) -> Result<PlaybookDefinition, AppError> {
    parse_toml(file, text)
}

/// Reads a TOML definition (playbook, onboarding template); syntax errors name the line.
pub fn parse_toml<T: serde::de::DeserializeOwned>(file: &str, text: &str) -> Result<T, AppError> {
    toml::from_str(text).map_err(|e| AppError::ImportRejected {
        file: file.to_owned(),
        errors: vec![domain::interchange::toml_errors::row_error(text, &e)],
    })
}

/// The definition as TOML, for the editor.
pub fn playbook_toml(definition: &PlaybookDefinition) -> String {
    toml::to_string_pretty(definition).unwrap_or_default()
}

/// A stored playbook with its secrets, for running its steps; never shown.
fn unmasked(stored: StoredPlaybook) -> Result<PlaybookView, AppError> {
    let definition = serde_json::from_str(&stored.definition)
        .map_err(|e| AppError::Internal(format!("stored playbook {}: {e}", stored.id)))?;
    Ok(PlaybookView {
        id: stored.id,
        name: stored.name,
        active: stored.active,
        definition,
        updated_at: stored.updated_at,
    })
}

pub(crate) fn trigger_matches(trigger: &Trigger, event: &EventKind, today: NaiveDate) -> Option<String> {
    match (trigger, event) {
        (Trigger::EnteredSegment { segment_id }, EventKind::EnteredSegment(entered)) if segment_id == entered => {
            Some(String::new())
        }
        (Trigger::GradeChanged { from, to }, EventKind::GradeChanged { from: old, to: new })
            if grade_change_matches(from, to, old, new) =>
        {
            Some(String::new())
        }
        (Trigger::RenewalWithin { days }, EventKind::Renewal(date))
            if (*date - today).num_days() >= 0 && (*date - today).num_days() <= i64::from(*days) =>
        {
            Some(String::new())
        }
        (Trigger::NoActivityFor { days }, EventKind::Quiet(last)) => {
            let quiet = last.is_none_or(|last| (today - last).num_days() >= i64::from(*days));
            quiet.then(String::new)
        }
        (Trigger::NpsDetractor, EventKind::NpsAnswer { score, .. }) if *score <= 6 => Some(String::new()),
        (Trigger::MilestoneOverdue { milestone }, EventKind::MilestoneOverdue { key })
            if milestone.as_ref().is_none_or(|m| m == key) =>
        {
            Some(String::new())
        }
        (Trigger::RequestShipped, EventKind::RequestShipped) => Some(String::new()),
        // The yearly occurrence is the date's, so each year runs once whatever day the scan sees.
        (Trigger::YearlyOn { date }, EventKind::Day) => yearly_occurrence(date, today),
        _ => None,
    }
}

/// A playbook task's due day: before the renewal the run is about when the step says so (never
/// in the past), else `due_in_days` from today.
pub(crate) fn task_due_on(
    due_in_days: u32,
    due_before_renewal_days: Option<u32>,
    reason: &Value,
    today: NaiveDate,
) -> Option<NaiveDate> {
    let renewal =
        reason.pointer("/data/renewal_date").and_then(Value::as_str).and_then(|d| d.parse::<NaiveDate>().ok());
    match (due_before_renewal_days, renewal) {
        (Some(before), Some(renewal)) => {
            Some(renewal.checked_sub_days(Days::new(u64::from(before))).map_or(today, |due| due.max(today)))
        }
        _ => today.checked_add_days(Days::new(u64::from(due_in_days))),
    }
}

/// A playbook task's priority, `from_grade` read from the account's grade now.
pub(crate) fn task_priority(priority: String, account: &Account) -> String {
    if priority == PRIORITY_FROM_GRADE {
        priority_for_grade(account.health.grade.as_deref()).to_owned()
    } else {
        priority
    }
}

/// A task a playbook step makes, its due day and priority already decided.
struct PlaybookTask {
    title: String,
    kind: String,
    priority: String,
    due_on: Option<NaiveDate>,
    assignee: Assignee,
    user_id: Option<i64>,
}

impl App {
    /// Every playbook, secrets masked.
    pub async fn playbooks(&self) -> Result<Vec<PlaybookView>, AppError> {
        self.store.playbooks().await?.into_iter().map(|p| unmasked(p).map(PlaybookView::masked)).collect()
    }

    /// A playbook, secrets masked.
    pub async fn playbook(&self, id: i64) -> Result<PlaybookView, AppError> {
        Ok(unmasked(self.store.playbook(id).await?)?.masked())
    }

    /// Refuses a call to a URL whose host is written as an internal address (or `localhost`)
    /// when it is saved; names that resolve inside are refused when called.
    fn check_outbound_urls(&self, definition: &PlaybookDefinition) -> Result<(), AppError> {
        let policy = self.delivery.outbound.read().unwrap_or_else(|p| p.into_inner()).clone();
        let errors: Vec<domain::FieldError> = definition
            .steps
            .iter()
            .enumerate()
            .filter_map(|(i, step)| match &step.action {
                Action::PostToSlack { webhook_url, .. } => Some((format!("step[{i}].webhook_url"), webhook_url)),
                Action::CallWebhook { url, .. } => Some((format!("step[{i}].url"), url)),
                _ => None,
            })
            .filter(|(_, url)| !literal_host_permitted(&policy, url))
            .map(|(field, _)| domain::FieldError::new(&field, Reason::InternalAddress))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::Invalid(errors))
        }
    }

    /// A "show in-app message" step must name a message that is shown by playbooks.
    async fn check_step_messages(&self, definition: &PlaybookDefinition) -> Result<(), AppError> {
        let messages = self.messages().await?;
        let errors: Vec<domain::FieldError> = definition
            .steps
            .iter()
            .enumerate()
            .filter_map(|(i, step)| match &step.action {
                Action::ShowMessage { message_id } => Some((i, *message_id)),
                _ => None,
            })
            .filter(|(_, id)| !messages.iter().any(|m| m.id == *id && m.message.playbook_only))
            .map(|(i, _)| domain::FieldError::new(format!("step[{i}].message_id"), Reason::UnknownReference))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::Invalid(errors))
        }
    }

    /// Validates and saves a playbook (new when `id` is None). Managers and admins.
    pub async fn save_playbook(
        &self,
        actor: &Actor,
        id: Option<i64>,
        definition: PlaybookDefinition,
    ) -> Result<PlaybookView, AppError> {
        let before = match id {
            Some(id) => Some(unmasked(self.store.playbook(id).await?)?),
            None => None,
        };
        let mut definition = definition;
        if let Some(before) = &before {
            definition.keep_secrets_of(&before.definition);
        }
        let grades: Vec<String> = self.health_config().await?.grades.into_iter().map(|g| g.key).collect();
        definition.validate(&grades, &self.settings().stages).map_err(AppError::Invalid)?;
        self.check_outbound_urls(&definition)?;
        self.check_step_messages(&definition).await?;
        let json = serde_json::to_string(&definition).map_err(|e| AppError::Internal(format!("playbook: {e}")))?;
        let saved = unmasked(self.store.save_playbook(id, definition.name.trim(), &json, definition.active).await?)?;
        let action = if before.is_some() { "update" } else { "create" };
        let (before, saved) = (before.map(PlaybookView::masked), saved.masked());
        self.record_change(actor, action, "playbook", &saved.id.to_string(), before.as_ref(), Some(&saved)).await?;
        Ok(saved)
    }

    pub async fn delete_playbook(&self, actor: &Actor, id: i64) -> Result<(), AppError> {
        let before = self.playbook(id).await?;
        self.store.delete_playbook(id).await?;
        self.record_change(actor, "delete", "playbook", &id.to_string(), Some(&before), None).await
    }

    pub async fn playbook_runs(&self, id: Option<i64>, limit: i64) -> Result<Vec<PlaybookRun>, AppError> {
        Ok(self.store.runs(id, limit).await?)
    }

    /// Starts the runs these events call for; returns how many started (others already ran, or
    /// their playbook is cooling down for the account).
    pub async fn fire_triggers(&self, events: &[TriggerEvent]) -> Result<usize, AppError> {
        if events.is_empty() {
            return Ok(0);
        }
        let playbooks: Vec<PlaybookView> = self.playbooks().await?.into_iter().filter(|p| p.active).collect();
        let today = self.today();
        let now = Utc::now();
        let mut started = 0;
        for playbook in &playbooks {
            for event in events {
                let Some(suffix) = trigger_matches(&playbook.definition.trigger, &event.kind, today) else {
                    continue;
                };
                if let Some(segment) = playbook.definition.segment_id {
                    if !self.store.in_segment(segment, event.account).await? {
                        continue;
                    }
                }
                let occurrence = if suffix.is_empty() { event.occurrence.clone() } else { suffix };
                let reason = json!({
                    "playbook": playbook.name,
                    "trigger": playbook.definition.trigger,
                    "occurrence": occurrence,
                    "data": event.data,
                });
                let due: Vec<DateTime<Utc>> = playbook
                    .definition
                    .steps
                    .iter()
                    .map(|s| now + chrono::Duration::days(i64::from(s.delay_days)))
                    .collect();
                let cooled_since =
                    playbook.definition.cooldown_days.map(|days| now - chrono::Duration::days(i64::from(days)));
                if self
                    .store
                    .start_run(playbook.id, event.account, &occurrence, &reason.to_string(), &due, now, cooled_since)
                    .await?
                    .is_some()
                {
                    started += 1;
                }
            }
        }
        Ok(started)
    }

    /// The daily triggers: renewals coming up, quiet accounts, recent NPS detractors and yearly
    /// dates. Safe to run any number of times a day and on every node.
    pub async fn scan_playbook_triggers(&self) -> Result<usize, AppError> {
        let playbooks = self.playbooks().await?;
        if playbooks.iter().all(|p| !p.active) {
            return Ok(0);
        }
        let events = self.scanned_events().await?;
        self.fire_triggers(&events).await
    }

    /// What the daily scan sees today, for every paying account.
    pub(crate) async fn scanned_events(&self) -> Result<Vec<TriggerEvent>, AppError> {
        let today = self.today();
        let accounts: Vec<Account> = self.paying_accounts().await?;
        let portfolio = self.portfolio().await?;
        let mut events = Vec::new();
        for account in &accounts {
            let id = account.id;
            let base =
                |kind: EventKind, occurrence: String, data: Value| TriggerEvent { account: id, kind, occurrence, data };
            if let Some(renewal) = account.figures.next_renewal_date {
                events.push(base(
                    EventKind::Renewal(renewal),
                    format!("renewal:{renewal}"),
                    json!({"renewal_date": renewal, "days_left": (renewal - today).num_days(), "arr": account.figures.arr}),
                ));
            }
            let last = portfolio.last_active_day(id, today);
            events.push(base(
                EventKind::Quiet(last),
                format!("quiet-since:{}", last.map_or("never".into(), |d| d.to_string())),
                json!({"last_active_day": last}),
            ));
            let since = today.checked_sub_days(Days::new(NPS_LOOKBACK_DAYS)).unwrap_or(today);
            for (day, score) in portfolio.nps_answers(id).iter().filter(|(day, _)| *day >= since) {
                events.push(nps_answered(id, *day, *score));
            }
            events.push(base(EventKind::Day, String::new(), json!({"day": today})));
        }
        for overdue in self.overdue_milestones(today).await? {
            events.push(TriggerEvent {
                account: overdue.account,
                kind: EventKind::MilestoneOverdue { key: overdue.milestone_key.clone() },
                occurrence: format!("milestone:{}:{}", overdue.plan_id, overdue.milestone_key),
                data: json!({"milestone": overdue.milestone_key, "due_on": overdue.due_on, "plan_id": overdue.plan_id}),
            });
        }
        Ok(events)
    }

    async fn paying_accounts(&self) -> Result<Vec<Account>, AppError> {
        let query = AccountQuery { paying: true, limit: i64::MAX, ..AccountQuery::default() };
        Ok(self.store.list_accounts(&query).await?.items)
    }

    /// Starts this node's step worker (once): due steps every few seconds.
    pub fn start_playbook_worker(self: &Arc<App>) {
        if self.delivery.worker.set(()).is_err() {
            return;
        }
        let app = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(error) = app.run_due_steps().await {
                    tracing::warn!(%error, "running playbook steps failed");
                }
                tokio::time::sleep(STEP_POLL).await;
            }
        });
    }

    /// Claims and carries out the steps due now; returns how many ran.
    pub async fn run_due_steps(&self) -> Result<usize, AppError> {
        let now = Utc::now();
        let stale = now - chrono::Duration::minutes(STALE_CLAIM_MINUTES);
        let claimed = self.store.claim_due_steps(&self.delivery.node, now, stale, STEPS_PER_POLL).await?;
        let count = claimed.len();
        for step in claimed {
            let (outcome, failed) = match self.run_step(&step).await {
                Ok(outcome) => (outcome, false),
                Err(AppError::Undelivered(reason)) => {
                    (Bilingual::new(format!("失敗: {}", reason.ja), format!("failed: {}", reason.en)), true)
                }
                Err(error) => (Bilingual::new(format!("失敗: {error}"), format!("failed: {error}")), true),
            };
            let outcome =
                serde_json::to_string(&outcome).map_err(|e| AppError::Internal(format!("step outcome: {e}")))?;
            self.store.finish_step(step.step_id, &outcome, failed, Utc::now()).await?;
        }
        Ok(count)
    }

    async fn run_step(&self, step: &ClaimedStep) -> Result<Bilingual, AppError> {
        let playbook = unmasked(self.store.playbook(step.playbook_id).await?)?;
        let action = usize::try_from(step.step_index)
            .ok()
            .and_then(|i| playbook.definition.steps.get(i))
            .map(|s| s.action.clone())
            .ok_or_else(|| AppError::Internal(format!("playbook {} has no step {}", playbook.id, step.step_index)))?;
        let account = self.store.get_account(step.account_id).await?;
        let reason: Value = serde_json::from_str(&step.reason).unwrap_or(Value::Null);
        let values = self.template_values(&account, &playbook.name, &reason).await?;
        let system = Actor::System("playbook");
        match action {
            Action::CreateTask { title, kind, priority, due_in_days, due_before_renewal_days, assignee, user_id } => {
                let due_on = task_due_on(due_in_days, due_before_renewal_days, &reason, self.today());
                let priority = task_priority(priority, &account);
                let task = PlaybookTask { title: values.fill(&title), kind, priority, due_on, assignee, user_id };
                self.playbook_task(step, &account, &playbook, &reason, task).await
            }
            Action::SendEmail { to_role, subject, body } => {
                let recipients = self.contacts_with_role(account.id, &to_role).await?;
                if recipients.is_empty() {
                    return Ok(Bilingual::new(
                        format!("役割 {to_role} の連絡先がありません"),
                        format!("no contact with role {to_role}"),
                    ));
                }
                let email = self
                    .store
                    .enqueue_email(
                        Some(step.run_id),
                        account.id,
                        &recipients,
                        &values.fill(&subject),
                        &values.fill(&body),
                        Utc::now(),
                    )
                    .await?;
                let awaiting = Notice::email_awaiting_approval(email.id, &named(&account), &email.subject);
                if playbook.definition.send_email_directly {
                    match self.deliver_email(&email, None).await {
                        Ok(()) => Ok(Bilingual::new(
                            format!("メール {} を {} に送信", email.id, recipients.join(", ")),
                            format!("email {} sent to {}", email.id, recipients.join(", ")),
                        )),
                        // Nothing is lost: the email waits in the outbox until SMTP is set up.
                        Err(AppError::MailNotConfigured) => {
                            self.notify_quietly(account_csms(&account), &awaiting, Utc::now()).await;
                            Ok(Bilingual::new(
                                format!("SMTP サーバーが未設定のため、メール {} は承認待ちで残っています", email.id),
                                format!("no SMTP server is configured: email {} waits in the outbox", email.id),
                            ))
                        }
                        Err(error) => Err(error),
                    }
                } else {
                    self.notify_quietly(account_csms(&account), &awaiting, Utc::now()).await;
                    Ok(Bilingual::new(
                        format!("メール {} は承認待ち", email.id),
                        format!("email {} waits in the outbox for approval", email.id),
                    ))
                }
            }
            Action::PostToSlack { webhook_url, text } => {
                let status = self.post_to_slack(&webhook_url, &values.fill(&text)).await?;
                Ok(Bilingual::new(format!("Slack に投稿 ({status})"), format!("posted to Slack ({status})")))
            }
            Action::CallWebhook { url, secret } => {
                let body = serde_json::to_vec(&json!({
                    "playbook": {"id": playbook.id, "name": playbook.name},
                    "run_id": step.run_id,
                    "step": step.step_index,
                    "occurrence": step.occurrence,
                    "account": {"id": account.id, "external_id": account.input.external_id, "name": account.input.name,
                                "arr": account.figures.arr, "health": account.health},
                    "reason": reason,
                }))
                .map_err(|e| AppError::Internal(format!("webhook body: {e}")))?;
                let delivery = format!("{}-{}", step.run_id, step.step_index);
                let status = self.post_signed("webhook", &url, &secret, &delivery, body).await?;
                Ok(Bilingual::new(format!("Webhook の応答 {status}"), format!("webhook answered {status}")))
            }
            Action::AddTimelineEntry { title, body } => {
                let entry = self
                    .store
                    .create_timeline_entry(&TimelineEntryInput {
                        account_id: account.id,
                        kind: TimelineKind::System,
                        author_id: None,
                        occurred_at: Utc::now(),
                        title: values.fill(&title),
                        body: body.map(|b| values.fill(&b)),
                        event: None,
                    })
                    .await?;
                Ok(Bilingual::new(format!("タイムラインに記録 {}", entry.id), format!("timeline entry {}", entry.id)))
            }
            Action::ShowMessage { message_id } => self.enroll_in_message(message_id, account.id).await,
            Action::ChangeStage { stage, only_from } => {
                let current = account.input.stage.clone().unwrap_or_default();
                let name = |key: &str, lang| domain::account::stage_name(key, lang);
                if !only_from.is_empty() && !only_from.contains(&current) {
                    return Ok(Bilingual::new(
                        format!("ステージは「{}」のまま", name(&current, Lang::Ja)),
                        format!("stage left as {}", name(&current, Lang::En)),
                    ));
                }
                let mut input = account.input.clone();
                let before = input.stage.replace(stage.clone());
                if before.as_deref() == Some(stage.as_str()) {
                    return Ok(Bilingual::new(
                        format!("ステージはすでに「{}」", name(&stage, Lang::Ja)),
                        format!("stage already {}", name(&stage, Lang::En)),
                    ));
                }
                self.update_account(&system, account.id, &input).await?;
                let before = before.unwrap_or_else(|| "—".into());
                Ok(Bilingual::new(
                    format!("ステージ「{}」→「{}」", name(&before, Lang::Ja), name(&stage, Lang::Ja)),
                    format!("stage {} → {}", name(&before, Lang::En), name(&stage, Lang::En)),
                ))
            }
        }
    }

    async fn playbook_task(
        &self,
        step: &ClaimedStep,
        account: &Account,
        playbook: &PlaybookView,
        reason: &Value,
        task: PlaybookTask,
    ) -> Result<Bilingual, AppError> {
        let PlaybookTask { title, kind, priority, due_on, assignee, user_id } = task;
        let (assignee_id, team_id) = self.task_assignee(account, assignee, user_id).await?;
        let (trigger_ja, trigger_en) = playbook.definition.trigger.describe(&self.health_config().await?);
        let input = TaskInput {
            account_id: account.id,
            title,
            kind,
            priority: TaskPriority::parse(&priority).map_err(|r| AppError::invalid("priority", r))?,
            due_on,
            assignee_id,
            team_id,
            reason: TaskReason {
                source: format!("playbook:{}", playbook.id),
                summary: Bilingual::new(
                    format!("プレイブック「{}」: {trigger_ja}", playbook.definition.name_in(Lang::Ja)),
                    format!("Playbook \"{}\": {trigger_en}", playbook.definition.name_in(Lang::En)),
                ),
                data: reason.clone(),
            },
            // One open task per playbook step and account: a trigger that fires again while the
            // task is still open adds nothing.
            dedupe_key: format!("playbook:{}:step:{}", playbook.id, step.step_index),
        };
        Ok(match self.create_task(&Actor::System("playbook"), input).await? {
            Some(task) => Bilingual::new(format!("タスク {} を作成", task.id), format!("task {} created", task.id)),
            None => Bilingual::new("同じ未完了タスクがあります", "an open task for this already exists"),
        })
    }

    /// Who a playbook task goes to: a user, or the team of the account's main owner.
    pub(crate) async fn task_assignee(
        &self,
        account: &Account,
        assignee: Assignee,
        user_id: Option<i64>,
    ) -> Result<(Option<domain::UserId>, Option<domain::TeamId>), AppError> {
        Ok(match assignee {
            Assignee::MainOwner => (account.input.owner_id, None),
            Assignee::SubOwner => (account.input.sub_owner_id.or(account.input.owner_id), None),
            Assignee::Team => match account.input.owner_id {
                Some(owner) => (None, self.store.get_user(owner).await?.input.team_id),
                None => (None, None),
            },
            Assignee::User => (user_id.map(domain::UserId), None),
        })
    }

    /// The email addresses of the account's contacts with this role.
    pub(crate) async fn contacts_with_role(&self, account: AccountId, role: &str) -> Result<Vec<String>, AppError> {
        Ok(self
            .store
            .list_contacts(&store::ChildQuery { account_id: Some(account), limit: 500, offset: 0 })
            .await?
            .items
            .into_iter()
            .filter(|c| c.input.role.as_deref().is_some_and(|r| r.eq_ignore_ascii_case(role)))
            .filter_map(|c| c.input.email.map(|e| e.to_string()))
            .collect())
    }

    pub(crate) async fn template_values(
        &self,
        account: &Account,
        playbook_name: &str,
        reason: &Value,
    ) -> Result<TemplateValues, AppError> {
        let owner = match account.input.owner_id {
            Some(id) => self.store.get_user(id).await.map(|u| u.input.name).unwrap_or_default(),
            None => String::new(),
        };
        let config = self.health_config().await?;
        let currency = self.settings().currency;
        let grade = account.health.grade.as_deref().map(|key| config.grade_name(key));
        let values = |lang: Lang| {
            BTreeMap::from([
                ("account", account.input.name.clone()),
                ("grade", grade.as_ref().map(|g| g.pick(lang).to_owned()).unwrap_or_default()),
                ("score", account.health.score.map(|s| format!("{s:.1}")).unwrap_or_default()),
                ("arr", domain::money::format_money(account.figures.arr, &currency, lang)),
                (
                    "renewal_date",
                    account
                        .figures
                        .next_renewal_date
                        .map(|d| domain::i18n::day_in_sentence(d, lang))
                        .unwrap_or_default(),
                ),
                ("owner", owner.clone()),
                ("playbook", playbook_name.to_owned()),
                ("trigger", reason["occurrence"].as_str().unwrap_or_default().to_owned()),
                ("request", reason["data"]["request"].as_str().unwrap_or_default().to_owned()),
            ])
        };
        Ok(TemplateValues { ja: values(Lang::Ja), en: values(Lang::En) })
    }

    /// Sends one pending outbox email through SMTP and records the result on the email and on
    /// its account's timeline. Without an SMTP server nothing is tried and the email stays
    /// pending (`MailNotConfigured`); a failure marks it failed, with the reason in both
    /// languages (`Undelivered`), to be edited or retried.
    pub(crate) async fn deliver_email(
        &self,
        email: &OutboxEmail,
        decided_by: Option<domain::UserId>,
    ) -> Result<(), AppError> {
        let Some(server) = self.mail_server().await? else {
            return Err(AppError::MailNotConfigured);
        };
        let decider = decided_by.map(|u| u.0);
        let result = self.send_mail(&server, &email.recipients, &email.subject, &email.body).await;
        let failure = result.as_ref().err().map(MailFailure::text);
        let status = if failure.is_some() { EmailStatus::Failed } else { EmailStatus::Sent };
        let now = Utc::now();
        let decided =
            self.store.decide_email(email.id, EmailStatus::Pending, status, decider, failure.as_ref(), now).await?;
        if decided {
            let outcome = Outcome {
                recipients: &email.recipients,
                subject: &email.subject,
                body: &email.body,
                failure: failure.as_ref(),
            };
            let entry = outcome.timeline_entry(AccountId(email.account_id), decided_by, now);
            self.store.create_timeline_entry(&entry).await?;
        }
        if let Err(error) = &result {
            tracing::warn!(email = email.id, %error, "playbook email not sent");
        }
        failure.map_or(Ok(()), |reason| Err(AppError::Undelivered(reason)))
    }

    pub async fn outbox(&self, status: Option<EmailStatus>) -> Result<Vec<OutboxEmail>, AppError> {
        Ok(self.store.outbox(status, 200).await?)
    }

    /// An outbox email the actor may act on (CSMs for their accounts, managers for all), in
    /// one of the statuses `allowed`.
    async fn actionable_email(&self, actor: &Actor, id: i64, allowed: &[EmailStatus]) -> Result<OutboxEmail, AppError> {
        let email = self.store.outbox_email(id).await?;
        let account = self.store.get_account(AccountId(email.account_id)).await?;
        crate::records::require_account_edit(actor, &account.input)?;
        if !allowed.contains(&email.status) {
            return Err(AppError::invalid("status", Reason::EmailIs { status: email.status }));
        }
        Ok(email)
    }

    /// Approves (sends) a pending email, or discards a pending or failed one. CSMs decide for
    /// their accounts, managers for all. Approving without an SMTP server changes nothing.
    pub async fn decide_outbox_email(&self, actor: &Actor, id: i64, approve: bool) -> Result<OutboxEmail, AppError> {
        let allowed: &[EmailStatus] =
            if approve { &[EmailStatus::Pending] } else { &[EmailStatus::Pending, EmailStatus::Failed] };
        let email = self.actionable_email(actor, id, allowed).await?;
        let sent = if approve {
            self.deliver_email(&email, actor.user_id()).await
        } else {
            let decider = actor.user_id().map(|u| u.0);
            let done =
                self.store.decide_email(id, email.status, EmailStatus::Discarded, decider, None, Utc::now()).await?;
            if done {
                Ok(())
            } else {
                let now = self.store.outbox_email(id).await?;
                return Err(AppError::invalid("status", Reason::EmailIs { status: now.status }));
            }
        };
        if let Err(AppError::MailNotConfigured) = sent {
            return Err(AppError::MailNotConfigured);
        }
        let after = self.store.outbox_email(id).await?;
        self.record_change(
            actor,
            if approve { "send" } else { "discard" },
            "outbox_email",
            &id.to_string(),
            Some(&email),
            Some(&after),
        )
        .await?;
        sent.map(|()| after)
    }

    /// Sends a failed email again, as it is (edit it first to change it). Without an SMTP
    /// server it stays failed, with its reason.
    pub async fn retry_outbox_email(&self, actor: &Actor, id: i64) -> Result<OutboxEmail, AppError> {
        let email = self.actionable_email(actor, id, &[EmailStatus::Failed]).await?;
        if !self.mail_configured().await? {
            return Err(AppError::MailNotConfigured);
        }
        if !self.store.reopen_email(id, EmailStatus::Failed, &email.recipients, &email.subject, &email.body).await? {
            let now = self.store.outbox_email(id).await?;
            return Err(AppError::invalid("status", Reason::EmailIs { status: now.status }));
        }
        let pending = self.store.outbox_email(id).await?;
        let sent = self.deliver_email(&pending, actor.user_id()).await;
        let after = self.store.outbox_email(id).await?;
        self.record_change(actor, "retry", "outbox_email", &id.to_string(), Some(&email), Some(&after)).await?;
        sent.map(|()| after)
    }

    /// Replaces the recipients, subject and body of a pending or failed email; a failed one
    /// waits for approval again.
    pub async fn edit_outbox_email(&self, actor: &Actor, id: i64, draft: &EmailDraft) -> Result<OutboxEmail, AppError> {
        let email = self.actionable_email(actor, id, &[EmailStatus::Pending, EmailStatus::Failed]).await?;
        let recipients: Vec<String> = draft.recipients.iter().map(|r| r.to_string()).collect();
        if !self.store.reopen_email(id, email.status, &recipients, &draft.subject, &draft.body).await? {
            let now = self.store.outbox_email(id).await?;
            return Err(AppError::invalid("status", Reason::EmailIs { status: now.status }));
        }
        let after = self.store.outbox_email(id).await?;
        self.record_change(actor, "edit", "outbox_email", &id.to_string(), Some(&email), Some(&after)).await?;
        Ok(after)
    }
}

/// An NPS answer as a trigger event: the scan and a survey answered in Kizuna name it alike, so
/// either starts a playbook once.
pub(crate) fn nps_answered(account: AccountId, day: NaiveDate, score: i64) -> TriggerEvent {
    TriggerEvent {
        account,
        kind: EventKind::NpsAnswer { day, score },
        occurrence: format!("nps:{day}:{score}"),
        data: json!({"nps_score": score, "answered_on": day}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_match_their_events() {
        let today: NaiveDate = "2026-11-23".parse().unwrap();
        let renewal = Trigger::RenewalWithin { days: 90 };
        assert!(trigger_matches(&renewal, &EventKind::Renewal("2027-01-31".parse().unwrap()), today).is_some());
        assert!(trigger_matches(&renewal, &EventKind::Renewal("2027-03-01".parse().unwrap()), today).is_none());
        let quiet = Trigger::NoActivityFor { days: 30 };
        assert!(trigger_matches(&quiet, &EventKind::Quiet(Some("2026-10-01".parse().unwrap())), today).is_some());
        assert!(trigger_matches(&quiet, &EventKind::Quiet(Some("2026-11-20".parse().unwrap())), today).is_none());
        assert!(trigger_matches(&quiet, &EventKind::Quiet(None), today).is_some());
        let nps = Trigger::NpsDetractor;
        let answer = |score| EventKind::NpsAnswer { day: today, score };
        assert!(
            trigger_matches(&nps, &answer(6), today).is_some() && trigger_matches(&nps, &answer(7), today).is_none()
        );
        let yearly = Trigger::YearlyOn { date: "11-01".into() };
        assert_eq!(trigger_matches(&yearly, &EventKind::Day, today).as_deref(), Some("yearly:2026-11-01"));
        let long_past = Trigger::YearlyOn { date: "10-15".into() };
        assert_eq!(trigger_matches(&long_past, &EventKind::Day, today), None, "beyond the grace");
        let overdue = Trigger::MilestoneOverdue { milestone: Some("employees_logged_in".into()) };
        let late = |key: &str| EventKind::MilestoneOverdue { key: key.into() };
        assert!(trigger_matches(&overdue, &late("employees_logged_in"), today).is_some());
        assert!(trigger_matches(&overdue, &late("data_registered"), today).is_none());
        let to_risk = Trigger::GradeChanged { from: None, to: Some("at_risk".into()) };
        let change = EventKind::GradeChanged { from: "neutral".into(), to: "at_risk".into() };
        assert!(trigger_matches(&to_risk, &change, today).is_some());
        assert!(
            trigger_matches(&Trigger::EnteredSegment { segment_id: 2 }, &EventKind::EnteredSegment(3), today).is_none()
        );
    }
}
