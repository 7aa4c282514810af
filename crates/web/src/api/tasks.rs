//! `/api/v1/tasks`: calls to action on accounts, why each exists, and how it ended.

use super::ListResponse;
use crate::auth::Signed;
use crate::extract::Path;
use crate::extract::{JsonBody, QueryParams};
use crate::problem::{ApiError, Problem};
use crate::AppState;
use app::AppError;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use domain::tasks::{ManualTask, Task, TaskChange, TaskStatus};
use domain::{AccountId, Reason, TeamId, UserId};
use store::{Entity, TaskQuery};

/// A duplicate is refused as a conflict on the dedupe key, naming no other task.
pub(crate) fn created(task: Option<Task>) -> Result<Task, ApiError> {
    task.ok_or(ApiError::App(AppError::Conflict { entity: Entity::Task, field: "dedupe_key" }))
}

#[utoipa::path(get, path = "/api/v1/tasks", tag = "tasks",
    params(
        ("assignee" = Option<String>, Query, description = "`me` or a staff user id"),
        ("team" = Option<i64>, Query, description = "Tasks given to this team or assigned to one of its members"),
        ("account" = Option<i64>, Query),
        ("status" = Option<String>, Query, description = "Comma-separated: open, done, snoozed, cancelled (as of today: a snooze that has ended is open)"),
        ("overdue" = Option<bool>, Query, description = "Only open tasks due before today"),
        ("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query)),
    responses((status = 200, body = ListResponse<Task>), (status = 422, body = Problem)))]
pub async fn list(
    State(app): State<AppState>,
    Signed(actor): Signed,
    mut params: QueryParams,
) -> Result<Json<ListResponse<Task>>, ApiError> {
    let (limit, offset) = params.page();
    let me = actor.user_id();
    let assignee = params.parsed("assignee", |raw| match raw {
        "me" => me.ok_or(Reason::WrongType { expected: "a staff user id" }),
        id => id
            .parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .map(UserId)
            .ok_or(Reason::WrongType { expected: "me or a positive id" }),
    });
    let statuses = params.parsed("status", |raw| raw.split(',').map(TaskStatus::parse).collect::<Result<Vec<_>, _>>());
    let overdue = params.parsed("overdue", |raw| match raw {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(Reason::InvalidBoolean),
    });
    let query = TaskQuery {
        assignee,
        team: params.id("team").map(TeamId),
        account: params.id("account").map(AccountId),
        statuses: statuses.unwrap_or_default(),
        overdue: overdue.unwrap_or(false),
        limit,
        offset,
        ..TaskQuery::default()
    };
    params.finish()?;
    Ok(Json(ListResponse::new(app.tasks(query).await?, limit, offset)))
}

/// Creates a task by hand (a CSM on an account they own or sub-own, or a manager). The account
/// is Kizuna's id (a number) or its external id (`"ACC-000098"`). Without an assignee or team it
/// is the caller's; without a dedupe key its title is the key, so the same open task is not
/// written twice (409).
#[utoipa::path(post, path = "/api/v1/tasks", tag = "tasks", request_body = ManualTask,
    responses((status = 201, body = Task), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(app): State<AppState>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Task>), ApiError> {
    let task = created(app.create_manual_task(&actor, ManualTask::from_json(body)?).await?)?;
    Ok((StatusCode::CREATED, Json(task)))
}

#[utoipa::path(get, path = "/api/v1/tasks/{id}", tag = "tasks", params(("id" = i64, Path)),
    responses((status = 200, body = Task), (status = 404, body = Problem)))]
pub async fn read(State(app): State<AppState>, Path(id): Path<i64>) -> Result<Json<Task>, ApiError> {
    Ok(Json(app.task(id).await?))
}

/// Changes a task: `status` (`done` and `cancelled` need an `outcome`; `snoozed` needs a later
/// `snoozed_until`; closed tasks only reopen), `due_on`, `assignee_id`, `priority`. Allowed to
/// the assignee, the account's CSMs and managers.
#[utoipa::path(patch, path = "/api/v1/tasks/{id}", tag = "tasks", params(("id" = i64, Path)), request_body = Object,
    responses((status = 200, body = Task), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn patch(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<Json<Task>, ApiError> {
    Ok(Json(app.update_task(&actor, id, TaskChange::from_json(body)?).await?))
}
