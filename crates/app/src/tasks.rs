//! Tasks (calls to action): created by people on accounts they may edit and by playbooks
//! (`Actor::System`), never twice while one is open or snoozed; finished, snoozed, cancelled or
//! reopened by their assignee, the account's CSMs and managers. Every change is audited, and a
//! task that is done or cancelled leaves its outcome on the account's timeline.

use crate::notifications::named;
use crate::records::require_account_edit;
use crate::{Actor, App, AppError};
use chrono::NaiveDate;
use domain::access::Role;
use domain::account::Account;
use domain::i18n::Bilingual;
use domain::notifications::Notice;
use domain::tasks::{
    manual_dedupe_key, parse_kind, ManualTask, Task, TaskChange, TaskInput, TaskPriority, TaskReason, TaskStatus,
    MANUAL,
};
use domain::timeline::{TimelineEntryInput, TimelineEvent};
use domain::{AccountId, FieldError, Reason, TeamId, UserId};
use serde_json::{Map, Value};
use store::{Page, StoreError, TaskQuery, TaskSort};

/// The lists the task pages show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskView {
    /// Open and snoozed tasks assigned to the reader.
    Mine,
    /// Open and snoozed tasks of the reader's team: given to the team or to one of its members.
    Team,
    /// Open tasks due before today: all of them for managers, the team's (or the reader's own,
    /// without a team) for everyone else.
    Overdue,
    /// Every open and snoozed task.
    Open,
    /// Open and snoozed tasks of one account.
    Account(AccountId),
}

const ACTIVE: [TaskStatus; 2] = [TaskStatus::Open, TaskStatus::Snoozed];

/// The assignee, the account's CSMs, and managers and admins change a task.
fn require_task_edit(actor: &Actor, task: &Task, account: &Account) -> Result<(), AppError> {
    let assigned = actor.user_id().is_some() && task.input.assignee_id == actor.user_id();
    if actor.role() >= Role::Csm && assigned {
        return Ok(());
    }
    require_account_edit(actor, &account.input)
}

fn team_of(actor: &Actor) -> Option<TeamId> {
    match actor {
        Actor::Staff { user, .. } => user.input.team_id,
        Actor::System(_) => None,
    }
}

/// What a reader narrows a task list to, on top of the list they chose.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TaskNarrowing {
    pub assignee: Option<UserId>,
    pub priority: Option<TaskPriority>,
    /// Only tasks due within this many days from today (overdue ones included).
    pub due_within: Option<u64>,
    pub sort: TaskSort,
}

impl App {
    /// Creates a task unless an open or snoozed one has the same account, kind and dedupe key.
    ///
    /// `None` when an open or snoozed duplicate exists (same account, kind and dedupe key).
    pub async fn create_task(&self, actor: &Actor, mut input: TaskInput) -> Result<Option<Task>, AppError> {
        input.title = input.title.trim().to_owned();
        input.dedupe_key = input.dedupe_key.trim().to_owned();
        let mut errors = input.check();
        if let Ok(kind) = parse_kind(&input.kind) {
            input.kind = kind;
        }
        self.check_task_people(&mut errors, input.assignee_id, input.team_id).await?;
        self.editable_account(actor, input.account_id).await?;
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let Some(task) = self.store.create_task(&input, chrono::Utc::now()).await? else {
            return Ok(None);
        };
        self.record_change(actor, "create", "task", &task.id.to_string(), None, Some(&task)).await?;
        self.tell_assignee(actor, &task).await?;
        Ok(Some(task))
    }

    /// A task a person writes: unassigned without a team, it is theirs; its reason is their note
    /// and the account's ARR, health, renewal and stage now.
    pub async fn create_manual_task(&self, actor: &Actor, manual: ManualTask) -> Result<Option<Task>, AppError> {
        let account_id = self.account_id_of(&manual.account_id).await?;
        let account = self.editable_account(actor, account_id).await?;
        let summary = match manual.note.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
            Some(note) => Bilingual::new(note, note),
            None => match actor {
                Actor::Staff { user, .. } => Bilingual::new(
                    format!("{} さんが手動で作成", user.input.name),
                    format!("Created by hand by {}", user.input.name),
                ),
                Actor::System(_) => Bilingual::new("手動で作成", "Created by hand"),
            },
        };
        let assignee_id = match (manual.assignee_id, manual.team_id) {
            (None, None) => actor.user_id(),
            (assignee, _) => assignee,
        };
        let input = TaskInput {
            account_id,
            dedupe_key: manual.dedupe_key.unwrap_or_else(|| manual_dedupe_key(&manual.title)),
            title: manual.title,
            kind: manual.kind,
            priority: manual.priority,
            due_on: manual.due_on,
            assignee_id,
            team_id: manual.team_id,
            reason: TaskReason { source: MANUAL.into(), summary, data: account_snapshot(&account) },
        };
        self.create_task(actor, input).await
    }

    /// Tells a task's assignee it is theirs, unless they gave it to themselves.
    async fn tell_assignee(&self, actor: &Actor, task: &Task) -> Result<(), AppError> {
        let Some(assignee) = task.input.assignee_id.filter(|a| Some(*a) != actor.user_id()) else {
            return Ok(());
        };
        let by = match actor {
            Actor::Staff { user, .. } => user.input.name.clone(),
            Actor::System(source) => format!("Kizuna ({source})"),
        };
        let account = self.store.get_account(task.input.account_id).await?;
        let notice = Notice::task_assigned(task.id, &task.input.title, Some(&named(&account)), &by);
        self.notify_quietly([assignee], &notice, chrono::Utc::now()).await;
        Ok(())
    }

    /// The task with its status as of today.
    pub async fn task(&self, id: i64) -> Result<Task, AppError> {
        Ok(self.store.get_task(id, self.today()).await?)
    }

    /// Tasks matching the query, its statuses and overdue as of today.
    pub async fn tasks(&self, query: TaskQuery) -> Result<Page<Task>, AppError> {
        Ok(self.store.list_tasks(&TaskQuery { today: self.today(), ..query }).await?)
    }

    /// One of the task pages' lists, for this reader.
    pub async fn task_view(
        &self,
        actor: &Actor,
        view: TaskView,
        narrow: &TaskNarrowing,
        limit: i64,
        offset: i64,
    ) -> Result<Page<Task>, AppError> {
        let mut query = TaskQuery {
            statuses: ACTIVE.to_vec(),
            assignee: narrow.assignee,
            priority: narrow.priority,
            due_by: narrow.due_within.and_then(|days| self.today().checked_add_days(chrono::Days::new(days))),
            sort: narrow.sort,
            limit,
            offset,
            ..TaskQuery::default()
        };
        match view {
            TaskView::Mine => match actor.user_id() {
                Some(me) => query.assignee = Some(me),
                None => return Ok(Page { items: Vec::new(), total: 0 }),
            },
            TaskView::Team => match team_of(actor) {
                Some(team) => query.team = Some(team),
                None => return Ok(Page { items: Vec::new(), total: 0 }),
            },
            TaskView::Overdue => {
                query.statuses = Vec::new();
                query.overdue = true;
                if actor.role() < Role::Manager {
                    match (team_of(actor), actor.user_id()) {
                        (Some(team), _) => query.team = Some(team),
                        (None, Some(me)) => query.assignee = Some(me),
                        (None, None) => return Ok(Page { items: Vec::new(), total: 0 }),
                    }
                }
            }
            TaskView::Open => {}
            TaskView::Account(account) => query.account = Some(account),
        }
        self.tasks(query).await
    }

    /// Whether the actor may finish, snooze, cancel, reopen or reassign this task: pages offer
    /// their forms only then.
    pub fn may_edit_task(&self, actor: &Actor, task: &Task, account: &Account) -> bool {
        require_task_edit(actor, task, account).is_ok()
    }

    /// Changes a task's status (with its outcome note or snooze day), due day, assignee or
    /// priority. Done and cancelled tasks leave a timeline entry with the outcome.
    pub async fn update_task(&self, actor: &Actor, id: i64, change: TaskChange) -> Result<Task, AppError> {
        let before = self.task(id).await?;
        let account = self.store.get_account(before.input.account_id).await?;
        require_task_edit(actor, &before, &account)?;
        let mut errors = Vec::new();
        self.check_task_people(&mut errors, change.assignee_id.flatten(), None).await?;
        let after = match before.changed(&change, self.today(), chrono::Utc::now()) {
            Ok(after) if errors.is_empty() => after,
            Ok(_) => return Err(AppError::Invalid(errors)),
            Err(mut invalid) => {
                invalid.extend(errors);
                return Err(AppError::Invalid(invalid));
            }
        };
        self.store.save_task(&after).await?;
        self.record_change(actor, "update", "task", &id.to_string(), Some(&before), Some(&after)).await?;
        if after.input.assignee_id != before.input.assignee_id {
            self.tell_assignee(actor, &after).await?;
        }
        let ended = matches!(after.status, TaskStatus::Done | TaskStatus::Cancelled) && after.status != before.status;
        if ended {
            self.store.create_timeline_entry(&ended_entry(actor, &after)).await?;
        }
        Ok(after)
    }

    pub async fn complete_task(&self, actor: &Actor, id: i64, outcome: &str) -> Result<Task, AppError> {
        let change =
            TaskChange { status: Some(TaskStatus::Done), outcome: Some(outcome.into()), ..TaskChange::default() };
        self.update_task(actor, id, change).await
    }

    pub async fn cancel_task(&self, actor: &Actor, id: i64, outcome: &str) -> Result<Task, AppError> {
        let change =
            TaskChange { status: Some(TaskStatus::Cancelled), outcome: Some(outcome.into()), ..TaskChange::default() };
        self.update_task(actor, id, change).await
    }

    /// Puts a task aside until `until` (after today); from that day on it is open again.
    pub async fn snooze_task(
        &self,
        actor: &Actor,
        id: i64,
        until: Option<NaiveDate>,
        note: &str,
    ) -> Result<Task, AppError> {
        let change = TaskChange {
            status: Some(TaskStatus::Snoozed),
            snoozed_until: until,
            outcome: Some(note.into()),
            ..TaskChange::default()
        };
        self.update_task(actor, id, change).await
    }

    pub async fn reopen_task(&self, actor: &Actor, id: i64, note: &str) -> Result<Task, AppError> {
        let change = TaskChange { status: Some(TaskStatus::Open), outcome: Some(note.into()), ..TaskChange::default() };
        self.update_task(actor, id, change).await
    }

    async fn check_task_people(
        &self,
        errors: &mut Vec<FieldError>,
        assignee: Option<UserId>,
        team: Option<TeamId>,
    ) -> Result<(), AppError> {
        if let Some(user) = assignee {
            if let Err(missing) = self.store.get_user(user).await {
                match missing {
                    StoreError::NotFound { .. } => {
                        errors.push(FieldError::new("assignee_id", Reason::UnknownReference))
                    }
                    other => return Err(other.into()),
                }
            }
        }
        if let Some(team) = team {
            if let Err(missing) = self.store.get_team(team).await {
                match missing {
                    StoreError::NotFound { .. } => errors.push(FieldError::new("team_id", Reason::UnknownReference)),
                    other => return Err(other.into()),
                }
            }
        }
        Ok(())
    }
}

/// The account as a person creating a task sees it: ARR, health, next renewal and stage.
fn account_snapshot(account: &Account) -> Value {
    let mut data = Map::new();
    data.insert("arr".into(), Value::from(account.figures.arr.0.to_string()));
    if let Some(score) = account.health.score {
        data.insert("health_score".into(), Value::from((score * 10.0).round() / 10.0));
    }
    if let Some(grade) = &account.health.grade {
        data.insert("health_grade".into(), Value::from(grade.clone()));
    }
    if let Some(renewal) = account.figures.next_renewal_date {
        data.insert("next_renewal".into(), Value::from(renewal.to_string()));
    }
    if let Some(stage) = &account.input.stage {
        data.insert("stage".into(), Value::from(stage.clone()));
    }
    Value::Object(data)
}

/// The timeline entry of a task that ended, by whoever ended it.
fn ended_entry(actor: &Actor, task: &Task) -> TimelineEntryInput {
    let event = TimelineEvent::TaskEnded {
        title: task.input.title.clone(),
        done: task.status == TaskStatus::Done,
        outcome: task.outcome.clone(),
    };
    TimelineEntryInput::recorded(
        task.input.account_id,
        actor.user_id(),
        task.closed_at.unwrap_or_else(chrono::Utc::now),
        event,
    )
}
