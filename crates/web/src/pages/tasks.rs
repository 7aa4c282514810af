//! `/tasks`: calls to action. Tabs for the reader's tasks, their team's, overdue ones and (for
//! managers) every open task, or one account's tasks (`?account=ID`). Each task shows its
//! account, priority, due day (overdue said in words, not only in colour), assignee and why it
//! exists: the reason in the reader's language and the data at that moment. Forms finish,
//! snooze, cancel or reopen a task with a note, and create a task by hand.

use super::settings::refused;
use super::task_reason::{self, WhyPanel};
use super::{format, text_or_null, Frame};
use crate::api::tasks::created;
use crate::extract::Path;
use crate::extract::{FormFields, QueryParams};
use crate::problem::ApiError;
use crate::AppState;
use app::account_search::{AccountPick, PICK_CANDIDATES};
use app::tasks::{TaskNarrowing, TaskView};
use app::AppError;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::access::Access;
use domain::i18n::{Lang, Text};
use domain::interchange::parse_date;
use domain::playbooks::Trigger;
use domain::tasks::why::{Fact, Origin, Why};
use domain::tasks::{kind_label, ManualTask, Task, TaskPriority, TaskStatus, KINDS};
use domain::{AccountId, FieldError, Reason, UserId};
use serde_json::{json, Value};
use std::collections::HashMap;
use store::TaskSort;

/// Tasks shown per list; the count above it says how many match.
/// Tasks per page, in either layout.
const ROWS: i64 = 50;

/// Which list the page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Mine,
    Team,
    Overdue,
    All,
    Account(AccountId),
}

impl Tab {
    fn key(self) -> &'static str {
        match self {
            Tab::Mine => "mine",
            Tab::Team => "team",
            Tab::Overdue => "overdue",
            Tab::All => "all",
            Tab::Account(_) => "account",
        }
    }

    /// `tab=` and `account=` of a query string or a form; the reader's own tasks otherwise.
    fn read(tab: Option<&str>, account: Option<&str>) -> Tab {
        if let Some(id) = account.and_then(|a| a.trim().parse::<i64>().ok()).filter(|id| *id > 0) {
            return Tab::Account(AccountId(id));
        }
        match tab {
            Some("team") => Tab::Team,
            Some("overdue") => Tab::Overdue,
            Some("all") => Tab::All,
            _ => Tab::Mine,
        }
    }

    /// The page's address for this list.
    fn href(self) -> String {
        match self {
            Tab::Account(id) => format!("/tasks?account={id}"),
            other => format!("/tasks?tab={}", other.key()),
        }
    }
}

/// How a list is shown: one card per task with its reason and actions, or a compact table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Cards,
    Table,
}

/// The list a reader asked for: its layout, narrowing and page.
#[derive(Debug, Clone, Copy)]
pub struct Listing {
    pub layout: Layout,
    pub narrow: TaskNarrowing,
    pub offset: i64,
}

impl Listing {
    /// A tab as it first opens: the team's and everyone's tasks as a table, the others as cards.
    fn of(tab: Tab) -> Listing {
        let layout = if matches!(tab, Tab::Team | Tab::All) { Layout::Table } else { Layout::Cards };
        Listing { layout, narrow: TaskNarrowing::default(), offset: 0 }
    }

    /// `view`, `assignee`, `priority`, `due` (days ahead), `sort` and `offset` of the query.
    fn read(tab: Tab, params: &mut QueryParams) -> Listing {
        let mut listing = Listing::of(tab);
        listing.layout = match params.text("view").as_deref() {
            Some("table") => Layout::Table,
            Some("cards") => Layout::Cards,
            _ => listing.layout,
        };
        listing.narrow.assignee = params.id("assignee").map(UserId);
        listing.narrow.priority = params.parsed("priority", TaskPriority::parse);
        listing.narrow.due_within = params.parsed("due", |raw| match raw.parse::<u64>() {
            Ok(days) if days <= 366 => Ok(days),
            _ => Err(Reason::OutOfRange { min: "0".into(), max: "366".into() }),
        });
        listing.narrow.sort = params
            .parsed("sort", |raw| match raw {
                "due" => Ok(TaskSort::Due),
                "priority" => Ok(TaskSort::Priority),
                "newest" => Ok(TaskSort::Newest),
                _ => Err(Reason::NotOneOf { allowed: vec!["due".into(), "priority".into(), "newest".into()] }),
            })
            .unwrap_or_default();
        listing.offset = params.page().1;
        listing
    }

    /// The query string of this listing on `tab`, with another offset.
    fn href(&self, tab: Tab, offset: i64) -> String {
        let mut pairs: Vec<(&str, String)> = match tab {
            Tab::Account(id) => vec![("account", id.to_string())],
            other => vec![("tab", other.key().to_owned())],
        };
        pairs.push(("view", if self.layout == Layout::Table { "table" } else { "cards" }.to_owned()));
        if let Some(assignee) = self.narrow.assignee {
            pairs.push(("assignee", assignee.0.to_string()));
        }
        if let Some(priority) = self.narrow.priority {
            pairs.push(("priority", priority.as_str().to_owned()));
        }
        if let Some(days) = self.narrow.due_within {
            pairs.push(("due", days.to_string()));
        }
        let sort = match self.narrow.sort {
            TaskSort::Due => "due",
            TaskSort::Priority => "priority",
            TaskSort::Newest => "newest",
        };
        pairs.push(("sort", sort.to_owned()));
        if offset > 0 {
            pairs.push(("offset", offset.to_string()));
        }
        format!("/tasks?{}", serde_urlencoded::to_string(&pairs).unwrap_or_default())
    }
}

/// The narrowing form's choices, each marked when it is the current one.
pub struct Filters {
    pub assignees: Vec<(String, String, bool)>,
    pub priorities: Vec<(String, String, bool)>,
    pub due: Vec<(String, String, bool)>,
    pub sorts: Vec<(String, String, bool)>,
    pub layout: &'static str,
}

impl Filters {
    fn new(listing: &Listing, users: &[domain::staff::StaffUser], lang: Lang) -> Filters {
        let t = |ja, en| Text::new(ja, en).pick(lang).to_owned();
        let any = t("すべて", "Any");
        let mut assignees = vec![(String::new(), any.clone(), listing.narrow.assignee.is_none())];
        assignees.extend(
            users
                .iter()
                .filter(|u| u.input.active)
                .map(|u| (u.id.0.to_string(), u.input.name.clone(), listing.narrow.assignee == Some(u.id))),
        );
        let mut priorities = vec![(String::new(), any.clone(), listing.narrow.priority.is_none())];
        priorities.extend(
            TaskPriority::ALL
                .into_iter()
                .map(|p| (p.as_str().to_owned(), p.label(lang).to_owned(), listing.narrow.priority == Some(p))),
        );
        let due = [
            (None, t("すべて", "Any time")),
            (Some(0), t("期限切れ・今日まで", "Overdue or today")),
            (Some(7), t("7 日以内", "Within 7 days")),
            (Some(30), t("30 日以内", "Within 30 days")),
        ]
        .into_iter()
        .map(|(days, label)| {
            (days.map(|d: u64| d.to_string()).unwrap_or_default(), label, listing.narrow.due_within == days)
        })
        .collect();
        let sorts = [
            (TaskSort::Due, "due", t("期限の近い順", "Due soonest")),
            (TaskSort::Priority, "priority", t("優先度の高い順", "Most urgent")),
            (TaskSort::Newest, "newest", t("新しい順", "Newest")),
        ]
        .into_iter()
        .map(|(sort, key, label)| (key.to_owned(), label, listing.narrow.sort == sort))
        .collect();
        let layout = if listing.layout == Layout::Table { "table" } else { "cards" };
        Filters { assignees, priorities, due, sorts, layout }
    }
}

/// One row of the compact table.
pub struct TableRow {
    pub id: i64,
    pub title: String,
    pub account_id: i64,
    pub account_name: String,
    pub priority: &'static str,
    pub priority_key: &'static str,
    pub due: String,
    pub overdue: bool,
    pub assignee: String,
    pub status: &'static str,
}

pub struct TabLink {
    pub id: &'static str,
    pub href: String,
    pub label: &'static str,
    pub current: bool,
}

pub struct TaskRow {
    pub id: i64,
    pub title: String,
    pub account_id: i64,
    pub account_name: String,
    pub kind: String,
    pub priority: &'static str,
    pub priority_key: &'static str,
    pub due: String,
    pub overdue: bool,
    pub assignee: String,
    pub status: &'static str,
    pub status_key: &'static str,
    pub snoozed_until: String,
    pub why: WhyPanel,
    pub outcome: String,
    /// The account page with its request form filled from this task (its outcome, else title).
    pub as_request: String,
    pub can_edit: bool,
    /// Open or snoozed: it can be finished, snoozed or cancelled.
    pub active: bool,
    pub errors: Vec<String>,
    /// Which form the errors belong to, and what was typed in it.
    pub failed: &'static str,
    pub draft_note: String,
    pub draft_until: String,
}

/// What the reader typed into the page's forms, kept when a form is sent back with errors.
#[derive(Default)]
pub struct Drafts {
    pub account: String,
    pub title: String,
    pub kind: String,
    pub priority: String,
    pub due_on: String,
    pub assignee: String,
    pub note: String,
    pub errors: Vec<String>,
    /// The accounts the account field matched when it matched several: (external id, label).
    pub candidates: Vec<(String, String)>,
    /// A task form that was refused: (task, form, note, snooze day, messages).
    pub action: Option<(i64, &'static str, String, String, Vec<String>)>,
}

impl Drafts {
    /// What was typed into the new-task form, the account field as `account`.
    fn typed(fields: &FormFields, account: &str) -> Drafts {
        Drafts {
            account: account.to_owned(),
            title: fields.get("title").to_owned(),
            kind: fields.get("kind").to_owned(),
            priority: fields.get("priority").to_owned(),
            due_on: fields.get("due_on").to_owned(),
            assignee: fields.get("assignee_id").to_owned(),
            note: fields.get("note").to_owned(),
            ..Drafts::default()
        }
    }
}

#[derive(Template)]
#[template(path = "tasks.html")]
pub struct TasksPage {
    pub frame: Frame,
    pub t: Labels,
    pub notice: Option<String>,
    pub tabs: Vec<TabLink>,
    pub tab: String,
    pub account_param: String,
    pub heading: String,
    pub count: String,
    pub empty: &'static str,
    pub tasks: Vec<TaskRow>,
    pub table_layout: bool,
    pub table: Vec<TableRow>,
    pub previous: Option<String>,
    pub next: Option<String>,
    /// 「162 件中 1〜50 件目」 / "1–50 of 162".
    pub range: String,
    pub layout_href: String,
    pub layout_label: &'static str,
    pub filters: Filters,
    pub can_create: bool,
    pub kinds: Vec<(&'static str, String, bool)>,
    pub priorities: Vec<(&'static str, &'static str, bool)>,
    pub assignees: Vec<(i64, String, bool)>,
    pub account_name: String,
    pub today: String,
    pub drafts: Drafts,
}

/// Every string on the page, in the reader's language.
pub struct Labels {
    pub account: &'static str,
    pub kind: &'static str,
    pub priority: &'static str,
    pub due: &'static str,
    pub assignee: &'static str,
    pub unassigned: &'static str,
    pub status: &'static str,
    pub outcome: &'static str,
    pub until: &'static str,
    pub task_title: &'static str,
    pub why_note: &'static str,
    pub duplicate: &'static str,
    pub conflict: &'static str,
}

impl Labels {
    fn new(lang: Lang) -> Labels {
        let t = |ja, en| Text::new(ja, en).pick(lang);
        Labels {
            account: t("顧客", "Account"),
            kind: t("種類", "Kind"),
            priority: t("優先度", "Priority"),
            due: t("期限", "Due"),
            assignee: t("担当者", "Assignee"),
            unassigned: t("未割り当て", "Unassigned"),
            status: t("状態", "Status"),
            outcome: t("結果", "Outcome"),
            until: t("再開する日", "Until"),
            task_title: t("件名", "Title"),
            why_note: t("理由（任意）", "Why (optional)"),
            duplicate: t(
                "件名: この顧客には同じ種類・同じ件名の未完了タスクが既にあります",
                "Title: this account already has an open task of this kind with this title",
            ),
            conflict: t(
                "状態: 同じ顧客・種類・理由の未完了タスクが別にあるため再開できません",
                "Status: another open task has the same account, kind and reason, so this one cannot reopen",
            ),
        }
    }

    fn field(&self, field: &str) -> &'static str {
        match field {
            "account_id" => self.account,
            "kind" => self.kind,
            "priority" => self.priority,
            "due_on" => self.due,
            "assignee_id" | "team_id" => self.assignee,
            "note" => self.why_note,
            "outcome" => self.outcome,
            "snoozed_until" => self.until,
            "status" => self.status,
            _ => self.task_title,
        }
    }
}

fn tab_label(tab: Tab, lang: Lang) -> &'static str {
    let t = |ja, en| Text::new(ja, en).pick(lang);
    match tab {
        Tab::Mine => t("自分のタスク", "My tasks"),
        Tab::Team => t("チームのタスク", "Team tasks"),
        Tab::Overdue => t("期限切れ", "Overdue"),
        Tab::All => t("すべての未完了", "All open"),
        Tab::Account(_) => t("顧客のタスク", "Account tasks"),
    }
}

fn done_notice(done: Option<String>, lang: Lang) -> Option<String> {
    let text = match done?.as_str() {
        "created" => Text::new("タスクを作成しました。", "The task was created."),
        "completed" => Text::new("タスクを完了にしました。", "The task was marked done."),
        "snoozed" => Text::new("タスクをスヌーズしました。", "The task was snoozed."),
        "cancelled" => Text::new("タスクを取り消しました。", "The task was cancelled."),
        "reopened" => Text::new("タスクを再開しました。", "The task was reopened."),
        _ => return None,
    };
    Some(text.pick(lang).to_owned())
}

fn view_of(tab: Tab) -> TaskView {
    match tab {
        Tab::Mine => TaskView::Mine,
        Tab::Team => TaskView::Team,
        Tab::Overdue => TaskView::Overdue,
        Tab::All => TaskView::Open,
        Tab::Account(id) => TaskView::Account(id),
    }
}

async fn render(
    app: &AppState,
    frame: Frame,
    tab: Tab,
    listing: Listing,
    notice: Option<String>,
    drafts: Drafts,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let t = Labels::new(lang);
    let managing = frame.may(Access::Manage);
    if tab == Tab::All && !managing {
        return Err(ApiError::Forbidden);
    }
    let page = app.task_view(&frame.actor, view_of(tab), &listing.narrow, ROWS, listing.offset).await?;
    let users = app.staff_users().await?;
    let teams = app.teams().await?;
    let currency = app.settings().currency;
    let today = app.today();
    let table_layout = listing.layout == Layout::Table;
    let (playbooks, segments) =
        if table_layout { Default::default() } else { reason_names(app, &page.items, lang).await? };
    let grades = app.health_config().await?.grades;
    let reasons = task_reason::Context {
        playbooks: &playbooks,
        segments: &segments,
        grades: &grades,
        currency: &currency,
        zone: app.zone(),
        lang,
    };
    let mut accounts = HashMap::new();
    let wanted = page.items.iter().map(|task| task.input.account_id).chain(match tab {
        Tab::Account(id) => Some(id),
        _ => None,
    });
    for id in wanted {
        if let std::collections::hash_map::Entry::Vacant(slot) = accounts.entry(id) {
            slot.insert(app.account(id).await?);
        }
    }
    let cx = RowContext { users: &users, teams: &teams, reasons: &reasons, today, drafts: &drafts, lang };
    let mut tasks = Vec::new();
    let mut table = Vec::new();
    for task in &page.items {
        let account = &accounts[&task.input.account_id];
        if table_layout {
            table.push(TableRow {
                id: task.id,
                title: task.input.title.clone(),
                account_id: task.input.account_id.0,
                account_name: account.input.name.clone(),
                priority: task.input.priority.label(lang),
                priority_key: task.input.priority.as_str(),
                due: format::date(task.input.due_on, lang),
                overdue: task.is_overdue(today),
                assignee: assignee_name(task, &users, &teams, lang),
                status: task.status.label(lang),
            });
        } else {
            let can_edit = app.may_edit_task(&frame.actor, task, account);
            tasks.push(row(task, account, can_edit, &cx));
        }
    }
    let shown = i64::try_from(page.items.len()).unwrap_or(0);
    let previous = (listing.offset > 0).then(|| listing.href(tab, (listing.offset - ROWS).max(0)));
    let next = (listing.offset + shown < page.total).then(|| listing.href(tab, listing.offset + ROWS));
    let range = match (lang, shown) {
        (_, 0) => String::new(),
        (Lang::Ja, _) => {
            format!("{} 件中 {}〜{} 件目", format::count(page.total), listing.offset + 1, listing.offset + shown)
        }
        (Lang::En, _) => format!("{}–{} of {}", listing.offset + 1, listing.offset + shown, format::count(page.total)),
    };
    let other_layout = Listing { layout: if table_layout { Layout::Cards } else { Layout::Table }, ..listing };
    let filters = Filters::new(&listing, &users, lang);
    let account_name = match tab {
        Tab::Account(id) => accounts.get(&id).map(|a| a.input.name.clone()).unwrap_or_default(),
        _ => String::new(),
    };
    let mut drafts = drafts;
    if let (Tab::Account(id), true) = (tab, drafts.account.is_empty() && drafts.errors.is_empty()) {
        drafts.account = accounts.get(&id).map(|a| a.input.external_id.to_string()).unwrap_or_default();
    }
    let mut tabs: Vec<Tab> = vec![Tab::Mine, Tab::Team, Tab::Overdue];
    if managing {
        tabs.push(Tab::All);
    }
    let tabs = tabs
        .into_iter()
        .map(|each| TabLink {
            id: match each {
                Tab::Mine => "tab-mine",
                Tab::Team => "tab-team",
                Tab::Overdue => "tab-overdue",
                _ => "tab-all",
            },
            href: each.href(),
            label: tab_label(each, lang),
            current: each == tab,
        })
        .collect();
    let heading = match tab {
        Tab::Account(_) => format!("{}: {account_name}", tab_label(tab, lang)),
        other => tab_label(other, lang).to_owned(),
    };
    let count = match (lang, page.total) {
        (Lang::Ja, n) => format!("{} 件", format::count(n)),
        (Lang::En, 1) => "1 task".to_owned(),
        (Lang::En, n) => format!("{} tasks", format::count(n)),
    };
    let empty = match tab {
        Tab::Team if frame.actor.user_id().is_some() && team_of(&frame, &users).is_none() => {
            Text::new("チームに所属していません。", "You are not in a team.").pick(lang)
        }
        _ => Text::new("タスクはありません。", "No tasks.").pick(lang),
    };
    let kind_choice = if drafts.kind.is_empty() { "other" } else { drafts.kind.as_str() };
    let priority_choice = if drafts.priority.is_empty() { "normal" } else { drafts.priority.as_str() };
    let me = frame.actor.user_id().map(|u| u.0.to_string()).unwrap_or_default();
    let assignee_choice = if drafts.assignee.is_empty() { me.as_str() } else { drafts.assignee.as_str() };
    let template = TasksPage {
        notice,
        tabs,
        tab: tab.key().to_owned(),
        account_param: match tab {
            Tab::Account(id) => id.to_string(),
            _ => String::new(),
        },
        heading,
        count,
        empty,
        tasks,
        table_layout,
        table,
        previous,
        next,
        range,
        layout_href: other_layout.href(tab, 0),
        layout_label: if table_layout {
            Text::new("カードで表示", "Show as cards")
        } else {
            Text::new("一覧表で表示", "Show as a table")
        }
        .pick(lang),
        filters,
        can_create: frame.may(Access::Write),
        kinds: KINDS.into_iter().map(|k| (k, kind_label(k, lang), k == kind_choice)).collect(),
        priorities: TaskPriority::ALL
            .into_iter()
            .map(|p| (p.as_str(), p.label(lang), p.as_str() == priority_choice))
            .collect(),
        assignees: users
            .iter()
            .filter(|u| u.input.active)
            .map(|u| (u.id.0, u.input.name.clone(), u.id.0.to_string() == assignee_choice))
            .collect(),
        account_name,
        today: today.to_string(),
        drafts,
        t,
        frame: frame.at("tasks"),
    };
    Ok((status, super::render(&template, "tasks")?).into_response())
}

fn team_of(frame: &Frame, users: &[domain::staff::StaffUser]) -> Option<domain::TeamId> {
    let me = frame.actor.user_id()?;
    users.iter().find(|u| u.id == me).and_then(|u| u.input.team_id)
}

/// The names (in the reader's language) the reasons of these tasks refer to: playbooks and
/// segments that still exist, by id (read only when some task names one).
async fn reason_names(
    app: &AppState,
    tasks: &[Task],
    lang: Lang,
) -> Result<(HashMap<i64, String>, HashMap<i64, String>), ApiError> {
    let whys: Vec<Why> = tasks.iter().map(|task| task.input.reason.why()).collect();
    let mut playbooks = HashMap::new();
    if whys.iter().any(|why| matches!(why.origin, Origin::Playbook { .. })) {
        playbooks = app.playbooks().await?.into_iter().map(|p| (p.id, p.definition.name_in(lang).to_owned())).collect();
    }
    let names_segment = |why: &Why| {
        matches!(why.trigger, Some(Trigger::EnteredSegment { .. }))
            || why.facts.iter().any(|fact| matches!(fact, Fact::EnteredSegment { .. }))
    };
    let mut segments = HashMap::new();
    if whys.iter().any(names_segment) {
        segments =
            app.segments().await?.into_iter().map(|s| (s.segment.id, s.segment.name_in(lang).to_owned())).collect();
    }
    Ok((playbooks, segments))
}

/// What every row needs besides its task.
#[derive(Clone, Copy)]
struct RowContext<'a> {
    users: &'a [domain::staff::StaffUser],
    teams: &'a [domain::staff::Team],
    reasons: &'a task_reason::Context<'a>,
    today: chrono::NaiveDate,
    drafts: &'a Drafts,
    lang: Lang,
}

/// The assignee's name, the team's when the task is the team's, or "unassigned".
fn assignee_name(task: &Task, users: &[domain::staff::StaffUser], teams: &[domain::staff::Team], lang: Lang) -> String {
    match (task.input.assignee_id, task.input.team_id) {
        (Some(user), _) => {
            users.iter().find(|u| u.id == user).map_or_else(|| user.to_string(), |u| u.input.name.clone())
        }
        (None, Some(team)) => teams.iter().find(|x| x.id == team).map_or_else(|| team.to_string(), |x| x.name.clone()),
        (None, None) => Labels::new(lang).unassigned.to_owned(),
    }
}

fn row(task: &Task, account: &domain::account::Account, can_edit: bool, cx: &RowContext<'_>) -> TaskRow {
    let RowContext { users, teams, reasons, today, drafts, lang } = *cx;
    let assignee = assignee_name(task, users, teams, lang);
    let (failed, draft_note, draft_until, errors) = match &drafts.action {
        Some((id, form, note, until, errors)) if *id == task.id => (*form, note.clone(), until.clone(), errors.clone()),
        _ => ("", String::new(), String::new(), Vec::new()),
    };
    TaskRow {
        id: task.id,
        title: task.input.title.clone(),
        account_id: task.input.account_id.0,
        account_name: account.input.name.clone(),
        kind: kind_label(&task.input.kind, lang),
        priority: task.input.priority.label(lang),
        priority_key: task.input.priority.as_str(),
        due: format::date(task.input.due_on, lang),
        overdue: task.is_overdue(today),
        assignee,
        status: task.status.label(lang),
        status_key: task.status.as_str(),
        snoozed_until: if task.status == TaskStatus::Snoozed {
            format::date(task.snoozed_until, lang)
        } else {
            String::new()
        },
        why: task_reason::panel(&task.input.reason, reasons),
        outcome: task.outcome.clone().unwrap_or_default(),
        as_request: format!(
            "/accounts/{}?{}#requests",
            task.input.account_id.0,
            serde_urlencoded::to_string([
                ("evidence_source", "csm"),
                ("evidence_quote", task.outcome.as_deref().unwrap_or(&task.input.title)),
            ])
            .unwrap_or_default()
        ),
        can_edit,
        active: task.status.is_active(),
        errors,
        failed,
        draft_note,
        draft_until,
    }
}

pub async fn page(State(app): State<AppState>, frame: Frame, mut params: QueryParams) -> Result<Response, ApiError> {
    let tab = Tab::read(params.text("tab").as_deref(), params.text("account").as_deref());
    let notice = done_notice(params.text("done"), frame.lang);
    let listing = Listing::read(tab, &mut params);
    params.finish()?;
    render(&app, frame, tab, listing, notice, Drafts::default(), StatusCode::OK).await
}

/// What the account field named: an account, or what to tell the reader (every account that
/// matched when several did).
enum Named {
    Account(Value),
    Several(String, Vec<(String, String)>),
}

/// The account field: an external id, Kizuna's id, or a text only one account's name, reading,
/// external id or domain contains (the page's script offers the matches as the reader types; a
/// candidate button of an earlier answer sends `account_pick`).
async fn named_account(app: &AppState, typed: &str, lang: Lang) -> Result<Named, ApiError> {
    if typed.is_empty() {
        return Ok(Named::Account(Value::Null));
    }
    Ok(match app.pick_account(typed).await? {
        AccountPick::Found(account) => Named::Account(Value::from(account.id.0)),
        // The text goes on as an external id, refused as an unknown account like any other.
        AccountPick::NotFound => Named::Account(Value::from(typed)),
        AccountPick::Several(accounts) => {
            let n = accounts.len();
            let count = if i64::try_from(n).unwrap_or(i64::MAX) >= PICK_CANDIDATES {
                Text::new("件以上", " or more").pick(lang)
            } else {
                Text::new("件", "").pick(lang)
            };
            let message = match lang {
                Lang::Ja => {
                    format!("顧客: 「{typed}」に該当する顧客が {n} {count}あります。下の候補から選んでください。")
                }
                Lang::En => format!("Account: {n}{count} accounts match “{typed}”. Pick one below."),
            };
            let candidates = accounts
                .into_iter()
                .map(|a| (a.input.external_id.to_string(), format!("{} ({})", a.input.name, a.input.external_id)))
                .collect();
            Named::Several(message, candidates)
        }
    })
}

/// `POST /tasks`: a task written by hand.
pub async fn create(State(app): State<AppState>, frame: Frame, fields: FormFields) -> Result<Response, ApiError> {
    let tab = Tab::read(Some(fields.get("tab")), Some(fields.get("return_account")));
    let typed = match fields.get("account_pick").trim() {
        "" => fields.get("account_id").trim(),
        picked => picked,
    };
    let account_id = match named_account(&app, typed, frame.lang).await {
        Ok(Named::Account(value)) => value,
        Ok(Named::Several(message, candidates)) => {
            let drafts = Drafts { errors: vec![message], candidates, ..Drafts::typed(&fields, typed) };
            return render(&app, frame, tab, Listing::of(tab), None, drafts, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
        Err(ApiError::App(AppError::Invalid(errors))) => {
            let t = Labels::new(frame.lang);
            let errors = refused(ApiError::App(AppError::Invalid(errors)), frame.lang, |field| t.field(field))?;
            let drafts = Drafts { errors, ..Drafts::typed(&fields, typed) };
            return render(&app, frame, tab, Listing::of(tab), None, drafts, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
        Err(other) => return Err(other),
    };
    let value = json!({
        "account_id": account_id,
        "title": fields.get("title").trim(),
        "kind": text_or_null(fields.get("kind")),
        "priority": text_or_null(fields.get("priority")),
        "due_on": text_or_null(fields.get("due_on")),
        "assignee_id": fields.id_value("assignee_id"),
        "note": text_or_null(fields.get("note")),
    });
    let t = Labels::new(frame.lang);
    let outcome = match ManualTask::from_json(value).map_err(ApiError::from) {
        Ok(manual) => app.create_manual_task(&frame.actor, manual).await.map_err(ApiError::from).and_then(created),
        Err(error) => Err(error),
    };
    let errors = match outcome {
        Ok(task) => {
            let back = match tab {
                Tab::Account(_) => Tab::Account(task.input.account_id),
                other => other,
            };
            let back = format!("{}{}&done=created#task-{}", back.href(), view_kept(&fields), task.id);
            return Ok(Redirect::to(&back).into_response());
        }
        Err(ApiError::App(AppError::Conflict { .. })) => vec![t.duplicate.to_owned()],
        Err(error) => refused(error, frame.lang, |field| t.field(field))?,
    };
    let drafts = Drafts { errors, ..Drafts::typed(&fields, typed) };
    render(&app, frame, tab, Listing::of(tab), None, drafts, StatusCode::UNPROCESSABLE_ENTITY).await
}

/// The `view` a task form was sent from, for the address it returns to: a team's tasks read as
/// cards stay cards after one is completed.
fn view_kept(fields: &FormFields) -> &'static str {
    match fields.get("view") {
        "table" => "&view=table",
        "cards" => "&view=cards",
        _ => "",
    }
}

/// What a task form asks for.
#[derive(Clone, Copy)]
enum Action {
    Complete,
    Snooze,
    Cancel,
    Reopen,
}

impl Action {
    fn key(self) -> &'static str {
        match self {
            Action::Complete => "complete",
            Action::Snooze => "snooze",
            Action::Cancel => "cancel",
            Action::Reopen => "reopen",
        }
    }

    fn done(self) -> &'static str {
        match self {
            Action::Complete => "completed",
            Action::Snooze => "snoozed",
            Action::Cancel => "cancelled",
            Action::Reopen => "reopened",
        }
    }
}

async fn act(app: AppState, frame: Frame, id: i64, fields: FormFields, action: Action) -> Result<Response, ApiError> {
    // Refuse a reader who may not change the task before reading their input: a 422 would show
    // a page without the form its messages belong to.
    let task = app.task(id).await?;
    let account = app.account(task.input.account_id).await?;
    if !app.may_edit_task(&frame.actor, &task, &account) {
        return Err(ApiError::Forbidden);
    }
    let tab = Tab::read(Some(fields.get("tab")), Some(fields.get("return_account")));
    let note = fields.get("note");
    let until_raw = fields.get("snoozed_until").trim();
    let result = match action {
        Action::Complete => app.complete_task(&frame.actor, id, note).await,
        Action::Cancel => app.cancel_task(&frame.actor, id, note).await,
        Action::Reopen => app.reopen_task(&frame.actor, id, note).await,
        Action::Snooze => match until_raw {
            "" => app.snooze_task(&frame.actor, id, None, note).await,
            raw => match parse_date(raw) {
                Ok(day) => app.snooze_task(&frame.actor, id, Some(day), note).await,
                Err(reason) => Err(AppError::Invalid(vec![FieldError::new("snoozed_until", reason)])),
            },
        },
    };
    let t = Labels::new(frame.lang);
    let errors = match result {
        Ok(_) => {
            let back = format!("{}{}&done={}#task-{id}", tab.href(), view_kept(&fields), action.done());
            return Ok(Redirect::to(&back).into_response());
        }
        Err(AppError::Conflict { .. }) => vec![t.conflict.to_owned()],
        Err(error) => refused(ApiError::from(error), frame.lang, |field| t.field(field))?,
    };
    let drafts =
        Drafts { action: Some((id, action.key(), note.to_owned(), until_raw.to_owned(), errors)), ..Drafts::default() };
    // The account's cards surely hold the task, with its form and what went wrong.
    let tab = Tab::Account(task.input.account_id);
    render(&app, frame, tab, Listing::of(tab), None, drafts, StatusCode::UNPROCESSABLE_ENTITY).await
}

pub async fn complete(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    frame: Frame,
    fields: FormFields,
) -> Result<Response, ApiError> {
    act(app, frame, id, fields, Action::Complete).await
}

pub async fn snooze(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    frame: Frame,
    fields: FormFields,
) -> Result<Response, ApiError> {
    act(app, frame, id, fields, Action::Snooze).await
}

pub async fn cancel(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    frame: Frame,
    fields: FormFields,
) -> Result<Response, ApiError> {
    act(app, frame, id, fields, Action::Cancel).await
}

pub async fn reopen(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    frame: Frame,
    fields: FormFields,
) -> Result<Response, ApiError> {
    act(app, frame, id, fields, Action::Reopen).await
}

/// The account 360's short list: the account's open and snoozed tasks, soonest due first.
pub struct AccountTask {
    pub id: i64,
    pub title: String,
    pub due: String,
    pub overdue: bool,
    pub status: &'static str,
}

pub async fn account_tasks(
    app: &AppState,
    frame: &Frame,
    id: AccountId,
    limit: i64,
) -> Result<Vec<AccountTask>, ApiError> {
    let today = app.today();
    let page = app.task_view(&frame.actor, TaskView::Account(id), &TaskNarrowing::default(), limit, 0).await?;
    Ok(page
        .items
        .iter()
        .map(|task| AccountTask {
            id: task.id,
            title: task.input.title.clone(),
            due: format::date(task.input.due_on, frame.lang),
            overdue: task.is_overdue(today),
            status: task.status.label(frame.lang),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_id_picks_the_account_list_and_unknown_tabs_fall_back_to_mine() {
        assert_eq!(Tab::read(Some("all"), Some("12")), Tab::Account(AccountId(12)));
        assert_eq!(Tab::read(Some("overdue"), Some("x")), Tab::Overdue);
        assert_eq!(Tab::read(Some("nonsense"), None), Tab::Mine);
        assert_eq!(Tab::Account(AccountId(3)).href(), "/tasks?account=3");
    }
}
