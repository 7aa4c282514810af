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
use domain::health::HealthConfig;
use domain::i18n::{Lang, Text};
use domain::playbooks::mail::{EmailDraft, MailFailure};
use store::playbooks::{EmailStatus, OutboxEmail, PlaybookRun};

const RUNS_SHOWN: i64 = 50;

/// A new playbook's starting point in the editor.
const STARTER: &str = r#"name = "リスク顧客へのフォロー"
name_en = "At-risk follow-up"
description = "グレードがリスクに下がったら担当 CSM にタスクを作る"
send_email_directly = false
cooldown_days = 30

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
    /// The account's name (its number when it was deleted).
    pub account: String,
    pub recipients: String,
    pub subject: String,
    pub body: String,
    pub status: &'static str,
    pub when: String,
    /// Why it failed, in the reader's language.
    pub error: String,
    /// The edit form's values: the email's, or what was sent back with errors.
    pub draft: Draft,
    /// The edit form is open (it came back with errors).
    pub editing: bool,
}

#[derive(Default, Clone)]
pub struct Draft {
    pub recipients: String,
    pub subject: String,
    pub body: String,
}

pub struct Labels {
    pub new: &'static str,
    pub run_columns: [&'static str; 5],
    pub email_columns: [&'static str; 4],
    pub recipients: &'static str,
    pub subject: &'static str,
    pub body: &'static str,
}

impl Labels {
    fn new(lang: Lang) -> Labels {
        let t = |ja, en| Text::new(ja, en).pick(lang);
        Labels {
            new: t("新しいプレイブック", "New playbook"),
            run_columns: [
                t("プレイブック", "Playbook"),
                t("顧客", "Account"),
                t("きっかけ", "Occurrence"),
                t("開始", "Started"),
                t("ステップの結果", "Steps"),
            ],
            email_columns: [t("宛先", "To"), t("件名", "Subject"), t("作成", "Created"), t("状態", "Status")],
            recipients: t("宛先", "To"),
            subject: t("件名", "Subject"),
            body: t("本文", "Body"),
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
    pub failed: Vec<EmailRow>,
    pub decided: Vec<EmailRow>,
    pub errors: Vec<String>,
    pub notice: Option<&'static str>,
    /// False: the page warns that approving sends nothing.
    pub mail_configured: bool,
}

fn row(playbook: &PlaybookView, health: &HealthConfig, lang: Lang) -> PlaybookRow {
    let (ja, en) = playbook.definition.trigger.describe(health);
    PlaybookRow {
        id: playbook.id,
        name: playbook.definition.name_in(lang).to_owned(),
        trigger: lang.pick(ja, en),
        active: playbook.active,
        steps: playbook.definition.steps.len(),
    }
}

/// A step's outcome in the reader's language (stored as `{"ja": …, "en": …}`).
fn outcome_text(outcome: &str, lang: Lang) -> String {
    serde_json::from_str::<domain::i18n::Bilingual>(outcome)
        .map_or_else(|_| outcome.to_owned(), |t| t.pick(lang).to_owned())
}

/// What a run happened for, in words: the stored occurrence (`renewal:2026-12-19`,
/// `yearly:…`, `quiet-since:…`, `nps:DAY:SCORE`) is a key, not something to show as it is.
fn occurrence_text(occurrence: &str, health: &HealthConfig, lang: Lang) -> String {
    let day = |raw: &str| {
        raw.parse::<chrono::NaiveDate>().map_or_else(|_| raw.to_owned(), |d| format::day_in_sentence(d, lang))
    };
    let t = |ja: String, en: String| lang.pick(ja, en);
    let mut parts = occurrence.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("renewal"), Some(date), None) => t(format!("{}の更新", day(date)), format!("renewal on {}", day(date))),
        (Some("yearly"), Some(date), None) => t(format!("{}（毎年）", day(date)), format!("{} (yearly)", day(date))),
        (Some("quiet-since"), Some("never"), None) => t("利用なし".into(), "never active".into()),
        (Some("quiet-since"), Some(date), None) => {
            t(format!("{}から利用なし", day(date)), format!("quiet since {}", day(date)))
        }
        (Some("nps"), Some(date), Some(score)) => {
            t(format!("{}の NPS 回答 {score}", day(date)), format!("NPS answer {score} on {}", day(date)))
        }
        (Some("grade"), Some(date), Some(change)) => {
            let change = change
                .split('>')
                .map(|key| health.grade_name_or_key(key).pick(lang).to_owned())
                .collect::<Vec<_>>()
                .join(" → ");
            t(format!("{}にグレード {change}", day(date)), format!("grade {change} on {}", day(date)))
        }
        (Some("request"), Some(id), None) => {
            t(format!("依頼したリクエスト {id} のリリース"), format!("requested feature {id} shipped"))
        }
        (Some("milestone"), Some(_plan), Some(key)) => {
            t(format!("マイルストーン {key} の期限切れ"), format!("milestone {key} overdue"))
        }
        _ => occurrence.to_owned(),
    }
}

fn run_rows(
    runs: &[PlaybookRun],
    playbooks: &[PlaybookView],
    health: &HealthConfig,
    app: &AppState,
    lang: Lang,
) -> Vec<RunRow> {
    let zone = app.zone();
    runs.iter()
        .map(|run| RunRow {
            playbook: playbooks
                .iter()
                .find(|p| p.id == run.playbook_id)
                .map(|p| p.definition.name_in(lang).to_owned())
                .unwrap_or_default(),
            account_id: run.account_id,
            account: run.account_name.clone(),
            occurrence: occurrence_text(&run.occurrence, health, lang),
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
    let health = app.health_config().await?;
    let page = PlaybooksPage {
        t: Labels::new(lang),
        playbooks: playbooks.iter().map(|p| row(p, &health, lang)).collect(),
        runs: run_rows(&runs, &playbooks, &health, &app, lang),
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
            let name = playbook.definition.name_in(lang).to_owned();
            let health = app.health_config().await?;
            (name, playbook_toml(&playbook.definition), run_rows(&runs, &all, &health, app, lang))
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
    EmailRow {
        id: email.id,
        account_id: email.account_id,
        account: format!("#{}", email.account_id),
        recipients: email.recipients.join(", "),
        subject: email.subject.clone(),
        body: email.body.clone(),
        status: email.status.label().pick(lang),
        when: format::moment(Some(email.created_at), &app.zone(), lang),
        error: email.error.as_ref().map(|e| e.pick(lang).to_owned()).unwrap_or_default(),
        draft: Draft {
            recipients: email.recipients.join(", "),
            subject: email.subject.clone(),
            body: email.body.clone(),
        },
        editing: false,
    }
}

/// What went wrong, for the top of the page: the field's name, then why.
fn field_messages(fields: &[domain::FieldError], lang: Lang) -> Vec<String> {
    let t = Labels::new(lang);
    fields
        .iter()
        .map(|e| {
            let name = match e.field.split('[').next().unwrap_or_default() {
                "recipients" => t.recipients,
                "subject" => t.subject,
                "body" => t.body,
                "status" => t.email_columns[3],
                other => other,
            };
            format!("{name}: {}", e.message(lang))
        })
        .collect()
}

async fn outbox_page(
    app: &AppState,
    frame: Frame,
    errors: Vec<String>,
    notice: Option<&'static str>,
    draft: Option<(i64, Draft)>,
) -> Result<OutboxPage, ApiError> {
    let lang = frame.lang;
    let mut pending = Vec::new();
    let mut failed = Vec::new();
    let mut decided = Vec::new();
    let emails = app.outbox(None).await?;
    let ids = emails.iter().map(|e| domain::AccountId(e.account_id)).collect();
    let names = app.account_names(&ids).await?;
    for email in emails {
        let mut row = email_row(&email, app, lang);
        if let Some(name) = names.get(&domain::AccountId(email.account_id)) {
            row.account = name.clone();
        }
        if let Some((_, edited)) = draft.as_ref().filter(|(id, _)| *id == email.id) {
            row.draft = edited.clone();
            row.editing = true;
        }
        match email.status {
            EmailStatus::Pending => pending.push(row),
            EmailStatus::Failed => failed.push(row),
            EmailStatus::Sent | EmailStatus::Discarded => decided.push(row),
        }
    }
    Ok(OutboxPage {
        t: Labels::new(lang),
        pending,
        failed,
        decided,
        errors,
        notice,
        mail_configured: app.mail_configured().await?,
        frame: frame.at("playbooks"),
    })
}

pub async fn outbox(
    State(app): State<AppState>,
    frame: Frame,
    params: crate::extract::QueryParams,
) -> Result<Response, ApiError> {
    let t = |ja, en| Some(Text::new(ja, en).pick(frame.lang));
    let notice = match params.text("done").as_deref() {
        Some("sent") => t("送信しました。", "Sent."),
        Some("discarded") => t("取り消しました。", "Discarded."),
        Some("edited") => t("保存しました。承認待ちに戻っています。", "Saved; it waits for approval again."),
        _ => None,
    };
    Ok(super::render(&outbox_page(&app, frame, Vec::new(), notice, None).await?, "outbox")?.into_response())
}

/// The page again after an action on an email that did not go through: why, in the reader's
/// language, with the status that says whose problem it is.
async fn refused(
    app: &AppState,
    frame: Frame,
    error: app::AppError,
    draft: Option<(i64, Draft)>,
) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let (status, errors) = match error {
        app::AppError::Invalid(fields) => (StatusCode::UNPROCESSABLE_ENTITY, field_messages(&fields, lang)),
        // Nothing was tried and nothing changed: the email waits as it was.
        app::AppError::MailNotConfigured => (StatusCode::CONFLICT, vec![MailFailure::NotConfigured.message(lang)]),
        // The SMTP server refused it or could not be reached: the email is now failed, with
        // the reason, and can be edited or retried. Not the reader's mistake.
        app::AppError::Undelivered(reason) => {
            let message = match lang {
                Lang::Ja => format!("送信できませんでした: {}", reason.ja),
                Lang::En => format!("Not sent: {}", reason.en),
            };
            (StatusCode::BAD_GATEWAY, vec![message])
        }
        other => return Err(other.into()),
    };
    let page = outbox_page(app, frame, errors, None, draft).await?;
    Ok((status, super::render(&page, "outbox")?).into_response())
}

async fn decide(app: &AppState, frame: Frame, id: i64, approve: bool) -> Result<Response, ApiError> {
    match app.decide_outbox_email(&frame.actor, id, approve).await {
        Ok(_) => Ok(Redirect::to(if approve { "/outbox?done=sent" } else { "/outbox?done=discarded" }).into_response()),
        Err(error) => refused(app, frame, error, None).await,
    }
}

pub async fn send(State(app): State<AppState>, Path(id): Path<i64>, frame: Frame) -> Result<Response, ApiError> {
    decide(&app, frame, id, true).await
}

pub async fn discard(State(app): State<AppState>, Path(id): Path<i64>, frame: Frame) -> Result<Response, ApiError> {
    decide(&app, frame, id, false).await
}

/// `POST /outbox/{id}/retry`: sends a failed email again.
pub async fn retry(State(app): State<AppState>, Path(id): Path<i64>, frame: Frame) -> Result<Response, ApiError> {
    match app.retry_outbox_email(&frame.actor, id).await {
        Ok(_) => Ok(Redirect::to("/outbox?done=sent").into_response()),
        Err(error) => refused(&app, frame, error, None).await,
    }
}

/// `POST /outbox/{id}/edit`: new recipients, subject and body for a pending or failed email.
pub async fn edit(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    frame: Frame,
    fields: FormFields,
) -> Result<Response, ApiError> {
    let draft = Draft {
        recipients: fields.get("recipients").to_owned(),
        subject: fields.get("subject").to_owned(),
        body: fields.get("body").to_owned(),
    };
    let parsed = EmailDraft::parse(&EmailDraft::split_recipients(&draft.recipients), &draft.subject, &draft.body);
    let result = match parsed {
        Ok(parsed) => app.edit_outbox_email(&frame.actor, id, &parsed).await,
        Err(errors) => Err(app::AppError::Invalid(errors)),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/outbox?done=edited#email-{id}")).into_response()),
        Err(error) => refused(&app, frame, error, Some((id, draft))).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_occurrence_reads_as_words_in_both_languages() {
        let health = app::health::default_health_config();
        let occurrence_text = |occurrence: &str, lang: Lang| super::occurrence_text(occurrence, &health, lang);
        assert_eq!(occurrence_text("renewal:2026-12-19", Lang::Ja), "2026年12月19日の更新");
        assert_eq!(occurrence_text("renewal:2026-12-19", Lang::En), "renewal on Dec 19, 2026");
        assert_eq!(occurrence_text("nps:2026-10-01:3", Lang::En), "NPS answer 3 on Oct 1, 2026");
        assert_eq!(occurrence_text("quiet-since:never", Lang::Ja), "利用なし");
        assert_eq!(occurrence_text("", Lang::Ja), "");
        assert_eq!(
            occurrence_text("grade:2026-12-06:neutral>at_risk", Lang::En),
            "grade Neutral → At risk on Dec 6, 2026"
        );
        assert_eq!(occurrence_text("request:3", Lang::Ja), "依頼したリクエスト 3 のリリース");
        assert_eq!(occurrence_text("milestone:12:kickoff", Lang::En), "milestone kickoff overdue");
    }
}
