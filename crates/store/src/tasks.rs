//! Tasks (calls to action). The partial unique index on (account, kind, dedupe key) over open
//! and snoozed tasks makes "no duplicate" hold across app nodes: an insert that would break it
//! does nothing and reports the duplicate as `None`.
//!
//! Reads report each task's status as of the day the caller gives: a snoozed task whose
//! `snoozed_until` has come is `open` again (and so counts in "open" and "overdue" lists), while
//! its row keeps `snoozed` until someone changes it, so waking needs no background job.

use crate::error::{Entity, StoreError};
use crate::sql::code;
use crate::{Page, Result};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use domain::i18n::Bilingual;
use domain::tasks::{Task, TaskInput, TaskPriority, TaskReason, TaskStatus};
use domain::{AccountId, TeamId, UserId};

#[derive(Debug, Clone, Default)]
pub struct TaskQuery {
    pub assignee: Option<UserId>,
    /// Tasks of this team: given to the team, or assigned to one of its members.
    pub team: Option<TeamId>,
    pub account: Option<AccountId>,
    /// Statuses as of `today`; any status when empty.
    pub statuses: Vec<TaskStatus>,
    /// Only open tasks due before `today`.
    pub overdue: bool,
    /// The workspace day that decides snoozes and overdue.
    pub today: NaiveDate,
    pub priority: Option<TaskPriority>,
    /// Only tasks due on or before this day.
    pub due_by: Option<NaiveDate>,
    pub sort: TaskSort,
    pub limit: i64,
    pub offset: i64,
}

/// The order of a task list; ties fall back to the due day, then the id.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TaskSort {
    /// Soonest due first (tasks without a due day last), then the most urgent.
    #[default]
    Due,
    /// Most urgent first, then soonest due.
    Priority,
    /// Most recently created first.
    Newest,
}

#[async_trait]
pub trait TaskStore: Send + Sync {
    /// Creates an open task; `None` when an open or snoozed task with the same account, kind and
    /// dedupe key exists.
    async fn create_task(&self, input: &TaskInput, now: DateTime<Utc>) -> Result<Option<Task>>;
    /// The task with its status as of `today`.
    async fn get_task(&self, id: i64, today: NaiveDate) -> Result<Task>;
    /// Matching tasks, soonest due first (undated last), then by priority, with the total.
    async fn list_tasks(&self, query: &TaskQuery) -> Result<Page<Task>>;
    /// Stores a task's status, snooze, outcome, due day, assignee, priority and times. Reopening
    /// a task while another open one has its account, kind and dedupe key is a conflict.
    async fn save_task(&self, task: &Task) -> Result<()>;
}

pub(crate) const TASK_COLUMNS: &str = "id, account_id, title, kind, priority, due_on, assignee_id, team_id, \
     reason_source, reason_ja, reason_en, reason_data, dedupe_key, snoozed_until, outcome, created_at, updated_at, \
     closed_at";

/// A `tasks` row: priority and status as codes, the reason's data as JSON text.
#[derive(sqlx::FromRow)]
pub(crate) struct TaskRow {
    id: i64,
    account_id: i64,
    title: String,
    kind: String,
    priority: String,
    due_on: Option<NaiveDate>,
    assignee_id: Option<i64>,
    team_id: Option<i64>,
    reason_source: String,
    reason_ja: String,
    reason_en: String,
    reason_data: String,
    dedupe_key: String,
    status: String,
    snoozed_until: Option<NaiveDate>,
    outcome: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    closed_at: Option<DateTime<Utc>>,
}

impl TryFrom<TaskRow> for Task {
    type Error = StoreError;

    fn try_from(row: TaskRow) -> Result<Task> {
        let data = serde_json::from_str(&row.reason_data)
            .map_err(|e| StoreError::Corrupt { entity: Entity::Task, detail: format!("reason data: {e}") })?;
        Ok(Task {
            id: row.id,
            input: TaskInput {
                account_id: AccountId(row.account_id),
                title: row.title,
                kind: row.kind,
                priority: code(Entity::Task, "priority", &row.priority, TaskPriority::parse)?,
                due_on: row.due_on,
                assignee_id: row.assignee_id.map(UserId),
                team_id: row.team_id.map(TeamId),
                reason: TaskReason {
                    source: row.reason_source,
                    summary: Bilingual::new(row.reason_ja, row.reason_en),
                    data,
                },
                dedupe_key: row.dedupe_key,
            },
            status: code(Entity::Task, "status", &row.status, TaskStatus::parse)?,
            snoozed_until: row.snoozed_until,
            outcome: row.outcome,
            created_at: row.created_at,
            updated_at: row.updated_at,
            closed_at: row.closed_at,
        })
    }
}

macro_rules! task_store {
    ($store:ident, $db:ident) => {
        mod task_sql {
            use super::{$db, $store};
            use $crate::sql::found;
            use $crate::error::{Entity, StoreError};
            use $crate::tasks::{TaskQuery, TaskStore, TASK_COLUMNS};
            use $crate::{Page, Result};
            use chrono::{DateTime, NaiveDate, Utc};
            use domain::tasks::{Task, TaskInput, TaskStatus};
            use sqlx::{FromRow, QueryBuilder};

            fn task_from_row(row: &<$db as sqlx::Database>::Row) -> Result<Task> {
                Task::try_from($crate::tasks::TaskRow::from_row(row)?)
            }

            /// The status as of `today`: a snooze that has ended reads as open.
            fn push_status(qb: &mut QueryBuilder<'_, $db>, today: NaiveDate) {
                qb.push("(CASE WHEN status = 'snoozed' AND snoozed_until <= ")
                    .push_bind(today)
                    .push(" THEN 'open' ELSE status END)");
            }

            fn push_filters(qb: &mut QueryBuilder<'_, $db>, query: &TaskQuery) {
                qb.push(" WHERE 1 = 1");
                if let Some(assignee) = query.assignee {
                    qb.push(" AND assignee_id = ").push_bind(assignee.0);
                }
                if let Some(team) = query.team {
                    qb.push(" AND (team_id = ")
                        .push_bind(team.0)
                        .push(" OR assignee_id IN (SELECT id FROM staff_users WHERE team_id = ")
                        .push_bind(team.0)
                        .push("))");
                }
                if let Some(account) = query.account {
                    qb.push(" AND account_id = ").push_bind(account.0);
                }
                if !query.statuses.is_empty() {
                    qb.push(" AND ");
                    push_status(qb, query.today);
                    qb.push(" IN (");
                    let mut list = qb.separated(", ");
                    for status in &query.statuses {
                        list.push_bind(status.as_str());
                    }
                    qb.push(")");
                }
                if query.overdue {
                    qb.push(" AND ");
                    push_status(qb, query.today);
                    qb.push(" = 'open' AND due_on < ").push_bind(query.today);
                }
                if let Some(priority) = query.priority {
                    qb.push(" AND priority = ").push_bind(priority.as_str());
                }
                if let Some(day) = query.due_by {
                    // A task snoozed past that day is not due by it.
                    qb.push(" AND due_on <= ").push_bind(day).push(" AND NOT (");
                    push_status(qb, query.today);
                    qb.push(" = 'snoozed' AND snoozed_until > ").push_bind(day).push(")");
                }
            }

            #[async_trait::async_trait]
            impl TaskStore for $store {
                async fn create_task(&self, input: &TaskInput, now: DateTime<Utc>) -> Result<Option<Task>> {
                    let id: Option<i64> = sqlx::query_scalar(
                        "INSERT INTO tasks (account_id, title, kind, priority, due_on, assignee_id, team_id, \
                         reason_source, reason_ja, reason_en, reason_data, dedupe_key, status, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'open', $13, $13) \
                         ON CONFLICT (account_id, kind, dedupe_key) WHERE status IN ('open', 'snoozed') DO NOTHING \
                         RETURNING id",
                    )
                    .bind(input.account_id.0)
                    .bind(input.title.as_str())
                    .bind(input.kind.as_str())
                    .bind(input.priority.as_str())
                    .bind(input.due_on)
                    .bind(input.assignee_id.map(|u| u.0))
                    .bind(input.team_id.map(|t| t.0))
                    .bind(input.reason.source.as_str())
                    .bind(input.reason.summary.ja.as_str())
                    .bind(input.reason.summary.en.as_str())
                    .bind(input.reason.data.to_string())
                    .bind(input.dedupe_key.as_str())
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| StoreError::from_write(e, Entity::Task, "dedupe_key"))?;
                    Ok(id.map(|id| Task {
                        id,
                        input: input.clone(),
                        status: TaskStatus::Open,
                        snoozed_until: None,
                        outcome: None,
                        created_at: now,
                        updated_at: now,
                        closed_at: None,
                    }))
                }

                async fn get_task(&self, id: i64, today: NaiveDate) -> Result<Task> {
                    let mut qb = QueryBuilder::<$db>::new(format!("SELECT {TASK_COLUMNS}, "));
                    push_status(&mut qb, today);
                    qb.push(" AS status FROM tasks WHERE id = ").push_bind(id);
                    let row = qb.build().fetch_optional(&self.pool).await?;
                    found(row, task_from_row, Entity::Task, id)
                }

                async fn list_tasks(&self, query: &TaskQuery) -> Result<Page<Task>> {
                    let mut count = QueryBuilder::<$db>::new("SELECT COUNT(*) FROM tasks");
                    push_filters(&mut count, query);
                    let total: i64 = count.build_query_scalar().fetch_one(&self.pool).await?;
                    let mut select = QueryBuilder::<$db>::new(format!("SELECT {TASK_COLUMNS}, "));
                    push_status(&mut select, query.today);
                    select.push(" AS status FROM tasks");
                    push_filters(&mut select, query);
                    const URGENCY: &str =
                        "CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END";
                    select.push(match query.sort {
                        $crate::tasks::TaskSort::Due => format!(" ORDER BY (due_on IS NULL), due_on, {URGENCY}, id"),
                        $crate::tasks::TaskSort::Priority => format!(" ORDER BY {URGENCY}, (due_on IS NULL), due_on, id"),
                        $crate::tasks::TaskSort::Newest => " ORDER BY created_at DESC, id DESC".to_owned(),
                    });
                    select.push(" LIMIT ");
                    select.push_bind(query.limit).push(" OFFSET ").push_bind(query.offset);
                    let rows = select.build().fetch_all(&self.pool).await?;
                    Ok(Page { items: rows.iter().map(task_from_row).collect::<Result<_>>()?, total })
                }

                async fn save_task(&self, task: &Task) -> Result<()> {
                    let result = sqlx::query(
                        "UPDATE tasks SET status = $2, snoozed_until = $3, outcome = $4, due_on = $5, assignee_id = $6, \
                         priority = $7, updated_at = $8, closed_at = $9 WHERE id = $1",
                    )
                    .bind(task.id)
                    .bind(task.status.as_str())
                    .bind(task.snoozed_until)
                    .bind(task.outcome.as_deref())
                    .bind(task.input.due_on)
                    .bind(task.input.assignee_id.map(|u| u.0))
                    .bind(task.input.priority.as_str())
                    .bind(task.updated_at)
                    .bind(task.closed_at)
                    .execute(&self.pool)
                    .await
                    .map_err(|e| StoreError::from_write(e, Entity::Task, "dedupe_key"))?;
                    if result.rows_affected() == 0 {
                        return Err(StoreError::NotFound { entity: Entity::Task, id: task.id.to_string() });
                    }
                    Ok(())
                }
            }
        }
    };
}

pub(crate) use task_store;
