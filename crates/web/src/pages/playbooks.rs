//! `/playbooks`: the playbooks with their triggers and run history, the TOML editor for managers,
//! and `/outbox`: playbook emails waiting for approval, sent, failed or discarded.

use super::health::toml_errors;
use super::{format, Frame};
use crate::extract::FormFields;
use crate::extract::Path;
use crate::problem::ApiError;
use crate::AppState;
use app::playbooks::{parse_playbook_toml, playbook_toml, PlaybookView};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::access::Access;
use domain::i18n::{Lang, Text};
use store::playbooks::{EmailStatus, OutboxEmail, PlaybookRun};

const RUNS_SHOWN: i64 = 50;

/// A new playbook's starting point in the editor.
const STARTER: &str = r#"name = "リスク顧客へのフォロー / At-risk follow-up"
description = "グレードがリスクに下がったら担当 CSM にタスクを作る"
send_email_directly = false

[trigger]
type = "grade_changed"
to = "at_risk"

[[step]]
action = "create_task"
title = "{{account}}: グレードが {{grade}} に低下 — 状況を確認"
kind = "risk"
priority = "high"
due_in_days = 3
assignee = "main_owner"
"#;

pub struct PlaybookRow {
    pub id: i64,
    pub name: String,
    pub trigger: String,
    pub active: bool,
    pub steps: usize,
}

pub struct RunRow {
    pub playbook: String,
    pub account_id: i64,
    pub account: String,
    pub occurrence: String,
    pub started: String,
    pub steps: Vec<String>,
}

pub struct EmailRow {
    pub id: i64,
    pub account_id: i64,
    pub recipients: String,
    pub subject: String,
    pub body: String,
    pub status: &'static str,
    pub when: String,
    pub error: String,
}

pub struct Labels {
    pub title: &'static str,
    pub new: &'static str,
    pub name: &'static str,
    pub trigger: &'static str,
    pub active: &'static str,
    pub steps: &'static str,
    pub yes: &'static str,
    pub no: &'static str,
    pub runs: &'static str,
    pub run_columns: [&'static str; 5],
    pub none: &'static str,
    pub definition: &'static str,
    pub help: &'static str,
    pub save: &'static str,
    pub delete: &'static str,
    pub confirm_delete: &'static str,
    pub outbox: &'static str,
    pub pending: &'static str,
    pub decided: &'static str,
    pub email_columns: [&'static str; 4],
    pub send: &'static str,
    pub discard: &'static str,
    pub saved: &'static str,
    pub back: &'static str,
}

impl Labels {
    fn new(lang: Lang) -> Labels {
        let t = |ja, en| Text::new(ja, en).pick(lang);
        Labels {
            title: t("プレイブック", "Playbooks"),
            new: t("新しいプレイブック", "New playbook"),
            name: t("名前", "Name"),
            trigger: t("きっかけ", "Trigger"),
            active: t("有効", "Active"),
            steps: t("ステップ", "Steps"),
            yes: t("はい", "yes"),
            no: t("いいえ", "no"),
            runs: t("実行履歴", "Runs"),
            run_columns: [t("プレイブック", "Playbook"), t("顧客", "Account"), t("きっかけ", "Occurrence"), t("開始", "Started"), t("ステップの結果", "Steps")],
            none: t("ありません。", "None."),
            definition: t("定義（TOML）", "Definition (TOML)"),
            help: t(
                "trigger の type: entered_segment / grade_changed / renewal_within / yearly_on / no_activity_for / nps_detractor / milestone_overdue。step の action: create_task / send_email / post_to_slack / call_webhook / add_timeline_entry / change_stage（delay_days で遅らせる）。",
                "Trigger types: entered_segment, grade_changed, renewal_within, yearly_on, no_activity_for, nps_detractor, milestone_overdue. Step actions: create_task, send_email, post_to_slack, call_webhook, add_timeline_entry, change_stage (delay_days postpones a step).",
            ),
            save: t("保存", "Save"),
            delete: t("削除", "Delete"),
            confirm_delete: t("このプレイブックと実行履歴を削除しますか？", "Delete this playbook and its runs?"),
            outbox: t("送信待ちメール", "Email outbox"),
            pending: t("承認待ち", "Waiting for approval"),
            decided: t("送信済み・取り消し", "Sent, failed and discarded"),
            email_columns: [t("宛先", "To"), t("件名", "Subject"), t("作成", "Created"), t("状態", "Status")],
            send: t("承認して送信", "Approve and send"),
            discard: t("取り消す", "Discard"),
            saved: t("保存しました。", "Saved."),
            back: t("プレイブック一覧へ", "All playbooks"),
        }
    }
}

#[derive(Template)]
#[template(path = "playbooks.html")]
pub struct PlaybooksPage {
    pub frame: Frame,
    pub t: Labels,
    pub playbooks: Vec<PlaybookRow>,
    pub runs: Vec<RunRow>,
    pub can_manage: bool,
}

#[derive(Template)]
#[template(path = "playbook.html")]
pub struct PlaybookPage {
    pub frame: Frame,
    pub t: Labels,
    /// None for a new playbook.
    pub id: Option<i64>,
    pub name: String,
    pub text: String,
    pub errors: Vec<String>,
    pub notice: bool,
    pub runs: Vec<RunRow>,
    pub can_manage: bool,
}

#[derive(Template)]
#[template(path = "outbox.html")]
pub struct OutboxPage {
    pub frame: Frame,
    pub t: Labels,
    pub pending: Vec<EmailRow>,
    pub decided: Vec<EmailRow>,
    pub errors: Vec<String>,
}

fn row(playbook: &PlaybookView, lang: Lang) -> PlaybookRow {
    let (ja, en) = playbook.definition.trigger.describe();
    PlaybookRow {
        id: playbook.id,
        name: playbook.name.clone(),
        trigger: if lang == Lang::Ja { ja } else { en },
        active: playbook.active,
        steps: playbook.definition.steps.len(),
    }
}

/// A step's outcome in the reader's language (stored as `{"ja": …, "en": …}`).
fn outcome_text(outcome: &str, lang: Lang) -> String {
    serde_json::from_str::<domain::i18n::Bilingual>(outcome)
        .map_or_else(|_| outcome.to_owned(), |t| t.pick(lang).to_owned())
}

fn run_rows(runs: &[PlaybookRun], playbooks: &[PlaybookView], app: &AppState, lang: Lang) -> Vec<RunRow> {
    let zone = app.zone();
    runs.iter()
        .map(|run| RunRow {
            playbook: playbooks.iter().find(|p| p.id == run.playbook_id).map(|p| p.name.clone()).unwrap_or_default(),
            account_id: run.account_id,
            account: run.account_name.clone(),
            occurrence: run.occurrence.clone(),
            started: format::moment(Some(run.started_at), &zone, lang),
            steps: run
                .steps
                .iter()
                .map(|s| match (&s.outcome, s.failed) {
                    (Some(outcome), true) => format!("{}. ✗ {}", s.step_index + 1, outcome_text(outcome, lang)),
                    (Some(outcome), false) => format!("{}. ✓ {}", s.step_index + 1, outcome_text(outcome, lang)),
                    (None, _) => format!(
                        "{}. {} {}",
                        s.step_index + 1,
                        Text::new("予定", "due").pick(lang),
                        format::moment(Some(s.due_at), &zone, lang)
                    ),
                })
                .collect(),
        })
        .collect()
}

pub async fn list(State(app): State<AppState>, frame: Frame) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let playbooks = app.playbooks().await?;
    let runs = app.playbook_runs(None, RUNS_SHOWN).await?;
    let page = PlaybooksPage {
        t: Labels::new(lang),
        playbooks: playbooks.iter().map(|p| row(p, lang)).collect(),
        runs: run_rows(&runs, &playbooks, &app, lang),
        can_manage: frame.may(Access::Manage),
        frame: frame.at("playbooks"),
    };
    Ok(super::render(&page, "playbooks")?.into_response())
}

async fn editor(
    app: &AppState,
    frame: Frame,
    id: Option<i64>,
    text: Option<String>,
    errors: Vec<String>,
    notice: bool,
) -> Result<PlaybookPage, ApiError> {
    let lang = frame.lang;
    let (name, stored_text, runs) = match id {
        Some(id) => {
            let playbook = app.playbook(id).await?;
            let runs = app.playbook_runs(Some(id), RUNS_SHOWN).await?;
            let all = app.playbooks().await?;
            (playbook.name.clone(), playbook_toml(&playbook.definition), run_rows(&runs, &all, app, lang))
        }
        None => (Labels::new(lang).new.to_owned(), STARTER.to_owned(), Vec::new()),
    };
    Ok(PlaybookPage {
        t: Labels::new(lang),
        id,
        name,
        text: text.unwrap_or(stored_text),
        errors,
        notice,
        runs,
        can_manage: frame.may(Access::Manage),
        frame: frame.at("playbooks"),
    })
}

pub async fn new_form(State(app): State<AppState>, frame: Frame) -> Result<Response, ApiError> {
    Ok(super::render(&editor(&app, frame, None, None, Vec::new(), false).await?, "playbook")?.into_response())
}

pub async fn show(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    frame: Frame,
    params: crate::extract::QueryParams,
) -> Result<Response, ApiError> {
    let notice = params.text("done").is_some();
    Ok(super::render(&editor(&app, frame, Some(id), None, Vec::new(), notice).await?, "playbook")?.into_response())
}

async fn save(app: &AppState, frame: Frame, id: Option<i64>, fields: FormFields) -> Result<Response, ApiError> {
    let text = fields.get("definition").to_owned();
    let saved = match parse_playbook_toml("playbook.toml", &text) {
        Ok(definition) => app.save_playbook(&frame.actor, id, definition).await,
        Err(error) => Err(error),
    };
    match saved {
        Ok(playbook) => Ok(Redirect::to(&format!("/playbooks/{}?done=saved", playbook.id)).into_response()),
        Err(app::AppError::Conflict { .. }) => {
            let message =
                Text::new("同じ名前のプレイブックがあります", "another playbook has this name").pick(frame.lang);
            let page = editor(app, frame, id, Some(text), vec![message.to_owned()], false).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, super::render(&page, "playbook")?).into_response())
        }
        Err(error) => {
            let errors = toml_errors(error, &text, frame.lang)?;
            let page = editor(app, frame, id, Some(text), errors, false).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, super::render(&page, "playbook")?).into_response())
        }
    }
}

pub async fn create(State(app): State<AppState>, frame: Frame, fields: FormFields) -> Result<Response, ApiError> {
    save(&app, frame, None, fields).await
}

pub async fn update(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    frame: Frame,
    fields: FormFields,
) -> Result<Response, ApiError> {
    save(&app, frame, Some(id), fields).await
}

pub async fn delete(State(app): State<AppState>, Path(id): Path<i64>, frame: Frame) -> Result<Response, ApiError> {
    app.delete_playbook(&frame.actor, id).await?;
    Ok(Redirect::to("/playbooks").into_response())
}

fn email_row(email: &OutboxEmail, app: &AppState, lang: Lang) -> EmailRow {
    let t = |ja, en| Text::new(ja, en).pick(lang);
    EmailRow {
        id: email.id,
        account_id: email.account_id,
        recipients: email.recipients.join(", "),
        subject: email.subject.clone(),
        body: email.body.clone(),
        status: match email.status {
            EmailStatus::Pending => t("承認待ち", "pending"),
            EmailStatus::Sent => t("送信済み", "sent"),
            EmailStatus::Failed => t("送信失敗", "failed"),
            EmailStatus::Discarded => t("取り消し", "discarded"),
        },
        when: format::moment(Some(email.created_at), &app.zone(), lang),
        error: email.error.clone().unwrap_or_default(),
    }
}

async fn outbox_page(app: &AppState, frame: Frame, errors: Vec<String>) -> Result<OutboxPage, ApiError> {
    let lang = frame.lang;
    let emails = app.outbox(None).await?;
    let (pending, decided): (Vec<&OutboxEmail>, Vec<&OutboxEmail>) =
        emails.iter().partition(|e| e.status == EmailStatus::Pending);
    Ok(OutboxPage {
        t: Labels::new(lang),
        pending: pending.into_iter().map(|e| email_row(e, app, lang)).collect(),
        decided: decided.into_iter().map(|e| email_row(e, app, lang)).collect(),
        errors,
        frame: frame.at("playbooks"),
    })
}

pub async fn outbox(State(app): State<AppState>, frame: Frame) -> Result<Response, ApiError> {
    Ok(super::render(&outbox_page(&app, frame, Vec::new()).await?, "outbox")?.into_response())
}

async fn decide(app: &AppState, frame: Frame, id: i64, approve: bool) -> Result<Response, ApiError> {
    match app.decide_outbox_email(&frame.actor, id, approve).await {
        Ok(_) => Ok(Redirect::to("/outbox").into_response()),
        Err(app::AppError::Invalid(fields)) => {
            let lang = frame.lang;
            let errors = fields.iter().map(|e| format!("{}: {}", e.field, e.reason.message(lang))).collect();
            let page = outbox_page(app, frame, errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, super::render(&page, "outbox")?).into_response())
        }
        Err(app::AppError::Internal(detail)) => {
            // The SMTP server refused or could not be reached: the email is marked failed with
            // the reason, which the page shows; this is not the reader's mistake.
            let page = outbox_page(app, frame, vec![detail]).await?;
            Ok((StatusCode::BAD_GATEWAY, super::render(&page, "outbox")?).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn send(State(app): State<AppState>, Path(id): Path<i64>, frame: Frame) -> Result<Response, ApiError> {
    decide(&app, frame, id, true).await
}

pub async fn discard(State(app): State<AppState>, Path(id): Path<i64>, frame: Frame) -> Result<Response, ApiError> {
    decide(&app, frame, id, false).await
}
