//! `/playbooks/builder`: a playbook as a form — trigger, segment condition, steps with delays —
//! for managers who do not write TOML. "Preview" lists the accounts the trigger would start it
//! for now; "dry run" shows what each step would do for one account, without writing, sending or
//! calling anything. Saving goes through the same validation as the TOML file and the API.

use super::builder::{self, text};
use super::{choices, Choice};
use super::{render, Frame};
use crate::auth::Signed;
use crate::extract::{FormFields, FormRow, QueryParams};
use crate::problem::ApiError;
use crate::AppState;
use app::account_search::AccountPick;
use app::playbook_preview::{StepPreview, TriggerPreview};
use app::AppError;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::account::stage_name;
use domain::i18n::Lang;
use domain::playbooks::{Action, Assignee, PlaybookDefinition, Step, Trigger, PRIORITY_FROM_GRADE, SECRET_MASK};
use domain::{FieldError, Reason};

/// Accounts a trigger preview names.
const PREVIEW_ACCOUNTS: usize = 50;

const TRIGGERS: [&str; 8] = [
    "grade_changed",
    "renewal_within",
    "no_activity_for",
    "entered_segment",
    "nps_detractor",
    "milestone_overdue",
    "yearly_on",
    "request_shipped",
];
const ACTIONS: [&str; 7] = [
    "create_task",
    "send_email",
    "post_to_slack",
    "call_webhook",
    "add_timeline_entry",
    "change_stage",
    "show_message",
];
const ASSIGNEES: [&str; 4] = ["main_owner", "sub_owner", "team", "user"];

fn trigger_name(key: &str, lang: Lang) -> &'static str {
    let t = |ja, en| lang.pick(ja, en);
    match key {
        "grade_changed" => t("ヘルスグレードが変わった", "Health grade changed"),
        "renewal_within" => t("更新日が近づいた", "Renewal coming up"),
        "no_activity_for" => t("一定期間利用がない", "No activity for a while"),
        "entered_segment" => t("セグメントに入った", "Entered a segment"),
        "nps_detractor" => t("NPS で批判者（0〜6）の回答", "An NPS detractor answer (0–6)"),
        "milestone_overdue" => t("オンボーディングのマイルストーンが期限切れ", "Onboarding milestone overdue"),
        "yearly_on" => t("毎年の決まった日", "Every year on a date"),
        _ => t("依頼した製品リクエストがリリースされた", "A requested feature shipped"),
    }
}

fn action_name(key: &str, lang: Lang) -> &'static str {
    let t = |ja, en| lang.pick(ja, en);
    match key {
        "create_task" => t("タスクを作る", "Create a task"),
        "send_email" => t("顧客の連絡先にメール", "Email the customer's contacts"),
        "post_to_slack" => t("Slack に投稿", "Post to Slack"),
        "call_webhook" => t("Webhook を呼ぶ", "Call a webhook"),
        "add_timeline_entry" => t("タイムラインに記録", "Add a timeline entry"),
        "show_message" => t("アプリ内メッセージを表示", "Show an in-app message"),
        _ => t("ステージを変える", "Change the stage"),
    }
}

fn assignee_name(key: &str, lang: Lang) -> &'static str {
    let t = |ja, en| lang.pick(ja, en);
    match key {
        "main_owner" => t("主担当", "Main owner"),
        "sub_owner" => t("副担当（いなければ主担当）", "Sub owner (else the main owner)"),
        "team" => t("主担当のチーム", "The main owner's team"),
        _ => t("指定のユーザー", "A chosen user"),
    }
}

fn assignee_key(assignee: Assignee) -> &'static str {
    match assignee {
        Assignee::MainOwner => "main_owner",
        Assignee::SubOwner => "sub_owner",
        Assignee::Team => "team",
        Assignee::User => "user",
    }
}

/// A step as the form holds it.
#[derive(Default)]
pub struct StepForm {
    pub delay_days: String,
    pub action: String,
    pub title: String,
    pub kind: String,
    pub priority: String,
    pub due_in_days: String,
    pub due_before_renewal_days: String,
    pub assignee: String,
    pub user_id: String,
    pub to_role: String,
    pub subject: String,
    pub body: String,
    pub webhook_url: String,
    pub text: String,
    pub url: String,
    pub secret: String,
    /// A secret or Slack URL already stored: the field shows empty and blank keeps it.
    pub secret_kept: bool,
    pub stage: String,
    pub only_from: Vec<String>,
    pub message_id: String,
}

#[derive(Default)]
pub struct PlaybookForm {
    /// Empty for a new playbook.
    pub id: String,
    pub name: String,
    pub name_en: String,
    pub description: String,
    pub active: bool,
    pub send_email_directly: bool,
    pub trigger: String,
    pub trigger_segment: String,
    pub trigger_from: String,
    pub trigger_to: String,
    pub trigger_days: String,
    pub trigger_date: String,
    pub trigger_milestone: String,
    pub segment_id: String,
    pub cooldown_days: String,
    pub steps: Vec<StepForm>,
    pub account: String,
}

impl StepForm {
    fn blank() -> StepForm {
        StepForm {
            delay_days: "0".into(),
            action: "create_task".into(),
            kind: "other".into(),
            priority: "normal".into(),
            due_in_days: "3".into(),
            assignee: "main_owner".into(),
            ..StepForm::default()
        }
    }

    fn of(step: &Step) -> StepForm {
        let mut form = StepForm { delay_days: step.delay_days.to_string(), ..StepForm::blank() };
        match &step.action {
            Action::CreateTask { title, kind, priority, due_in_days, due_before_renewal_days, assignee, user_id } => {
                form.action = "create_task".into();
                form.title = title.clone();
                form.kind = kind.clone();
                form.priority = priority.clone();
                form.due_in_days = due_in_days.to_string();
                form.due_before_renewal_days = text(*due_before_renewal_days);
                form.assignee = assignee_key(*assignee).into();
                form.user_id = text(*user_id);
            }
            Action::SendEmail { to_role, subject, body } => {
                form.action = "send_email".into();
                form.to_role = to_role.clone();
                form.subject = subject.clone();
                form.body = body.clone();
            }
            Action::PostToSlack { text, .. } => {
                form.action = "post_to_slack".into();
                form.text = text.clone();
                form.secret_kept = true;
            }
            Action::CallWebhook { url, .. } => {
                form.action = "call_webhook".into();
                form.url = url.clone();
                form.secret_kept = true;
            }
            Action::AddTimelineEntry { title, body } => {
                form.action = "add_timeline_entry".into();
                form.title = title.clone();
                form.body = text(body.as_ref());
            }
            Action::ChangeStage { stage, only_from } => {
                form.action = "change_stage".into();
                form.stage = stage.clone();
                form.only_from = only_from.clone();
            }
            Action::ShowMessage { message_id } => {
                form.action = "show_message".into();
                form.message_id = message_id.to_string();
            }
        }
        form
    }

    fn sent(row: &FormRow) -> StepForm {
        let get = |name: &str| row.get(name).to_owned();
        StepForm {
            delay_days: get("delay_days"),
            action: get("action"),
            title: get("title"),
            kind: get("kind"),
            priority: get("priority"),
            due_in_days: get("due_in_days"),
            due_before_renewal_days: get("due_before_renewal_days"),
            assignee: get("assignee"),
            user_id: get("user_id"),
            to_role: get("to_role"),
            subject: get("subject"),
            body: get("body"),
            webhook_url: get("webhook_url"),
            text: get("text"),
            url: get("url"),
            secret: get("secret"),
            secret_kept: row.checked("secret_kept"),
            stage: get("stage"),
            only_from: row.all("only_from").into_iter().map(str::to_owned).collect(),
            message_id: get("message_id"),
        }
    }
}

fn number<T: std::str::FromStr>(errors: &mut Vec<FieldError>, field: String, raw: &str) -> Option<T> {
    builder::number(errors, field, raw, Reason::InvalidInteger)
}

impl PlaybookForm {
    fn of(id: Option<i64>, definition: &PlaybookDefinition) -> PlaybookForm {
        let mut form = PlaybookForm {
            id: text(id),
            name: definition.name.clone(),
            name_en: text(definition.name_en.as_ref()),
            description: text(definition.description.as_ref()),
            active: definition.active,
            send_email_directly: definition.send_email_directly,
            segment_id: text(definition.segment_id),
            cooldown_days: text(definition.cooldown_days),
            steps: definition.steps.iter().map(StepForm::of).collect(),
            ..PlaybookForm::default()
        };
        match &definition.trigger {
            Trigger::EnteredSegment { segment_id } => {
                form.trigger = "entered_segment".into();
                form.trigger_segment = segment_id.to_string();
            }
            Trigger::GradeChanged { from, to } => {
                form.trigger = "grade_changed".into();
                form.trigger_from = text(from.as_ref());
                form.trigger_to = text(to.as_ref());
            }
            Trigger::RenewalWithin { days } => {
                form.trigger = "renewal_within".into();
                form.trigger_days = days.to_string();
            }
            Trigger::NoActivityFor { days } => {
                form.trigger = "no_activity_for".into();
                form.trigger_days = days.to_string();
            }
            Trigger::YearlyOn { date } => {
                form.trigger = "yearly_on".into();
                form.trigger_date = date.clone();
            }
            Trigger::NpsDetractor => form.trigger = "nps_detractor".into(),
            Trigger::MilestoneOverdue { milestone } => {
                form.trigger = "milestone_overdue".into();
                form.trigger_milestone = text(milestone.as_ref());
            }
            Trigger::RequestShipped => form.trigger = "request_shipped".into(),
        }
        form
    }

    fn starter() -> PlaybookForm {
        PlaybookForm {
            active: true,
            trigger: "grade_changed".into(),
            steps: vec![StepForm::blank()],
            ..PlaybookForm::default()
        }
    }

    fn sent(fields: &FormFields) -> PlaybookForm {
        let get = |name: &str| fields.get(name).trim().to_owned();
        PlaybookForm {
            id: get("id"),
            name: get("name"),
            name_en: get("name_en"),
            description: get("description"),
            active: !fields.get("active").is_empty(),
            send_email_directly: !fields.get("send_email_directly").is_empty(),
            trigger: get("trigger"),
            trigger_segment: get("trigger_segment"),
            trigger_from: get("trigger_from"),
            trigger_to: get("trigger_to"),
            trigger_days: get("trigger_days"),
            trigger_date: get("trigger_date"),
            trigger_milestone: get("trigger_milestone"),
            segment_id: get("segment_id"),
            cooldown_days: get("cooldown_days"),
            steps: fields.rows("s").iter().filter(|row| !row.checked("remove")).map(StepForm::sent).collect(),
            account: get("account"),
        }
    }

    /// The playbook the form describes; numbers that are not numbers and choices that are not on
    /// the list named by field (`step[1].delay_days`, as the TOML file's are). The rest is checked
    /// by the same validation as the file.
    fn definition(&self) -> Result<PlaybookDefinition, Vec<FieldError>> {
        let mut errors = Vec::new();
        let optional = |raw: &str| (!raw.is_empty()).then(|| raw.to_owned());
        let days = |errors: &mut Vec<FieldError>| number::<u32>(errors, "trigger.days".into(), &self.trigger_days);
        let trigger = match self.trigger.as_str() {
            "entered_segment" => match number::<i64>(&mut errors, "trigger.segment_id".into(), &self.trigger_segment) {
                Some(segment_id) => Some(Trigger::EnteredSegment { segment_id }),
                None => {
                    errors.push(FieldError::new("trigger.segment_id", Reason::Required));
                    None
                }
            },
            "grade_changed" => {
                Some(Trigger::GradeChanged { from: optional(&self.trigger_from), to: optional(&self.trigger_to) })
            }
            "renewal_within" => Some(Trigger::RenewalWithin { days: days(&mut errors).unwrap_or(0) }),
            "no_activity_for" => Some(Trigger::NoActivityFor { days: days(&mut errors).unwrap_or(0) }),
            "yearly_on" => Some(Trigger::YearlyOn { date: self.trigger_date.clone() }),
            "nps_detractor" => Some(Trigger::NpsDetractor),
            "milestone_overdue" => Some(Trigger::MilestoneOverdue { milestone: optional(&self.trigger_milestone) }),
            "request_shipped" => Some(Trigger::RequestShipped),
            _ => {
                let allowed = TRIGGERS.iter().map(|t| t.to_string()).collect();
                errors.push(FieldError::new("trigger.type", Reason::NotOneOf { allowed }));
                None
            }
        };
        let mut steps = Vec::new();
        for (i, s) in self.steps.iter().enumerate() {
            let at = |name: &str| format!("step[{i}].{name}");
            let delay_days = number::<u32>(&mut errors, at("delay_days"), &s.delay_days).unwrap_or(0);
            // A stored secret the form did not show: the mask puts it back when saved.
            let secret = |sent: &str| {
                if sent.is_empty() && s.secret_kept {
                    SECRET_MASK.to_owned()
                } else {
                    sent.to_owned()
                }
            };
            let action = match s.action.as_str() {
                "create_task" => {
                    let assignee = match s.assignee.as_str() {
                        "sub_owner" => Assignee::SubOwner,
                        "team" => Assignee::Team,
                        "user" => Assignee::User,
                        _ => Assignee::MainOwner,
                    };
                    Some(Action::CreateTask {
                        title: s.title.clone(),
                        kind: s.kind.clone(),
                        priority: s.priority.clone(),
                        due_in_days: number(&mut errors, at("due_in_days"), &s.due_in_days).unwrap_or(3),
                        due_before_renewal_days: number(
                            &mut errors,
                            at("due_before_renewal_days"),
                            &s.due_before_renewal_days,
                        ),
                        assignee,
                        user_id: if assignee == Assignee::User {
                            number(&mut errors, at("user_id"), &s.user_id)
                        } else {
                            None
                        },
                    })
                }
                "send_email" => Some(Action::SendEmail {
                    to_role: s.to_role.clone(),
                    subject: s.subject.clone(),
                    body: s.body.clone(),
                }),
                "post_to_slack" => {
                    Some(Action::PostToSlack { webhook_url: secret(&s.webhook_url), text: s.text.clone() })
                }
                "call_webhook" => Some(Action::CallWebhook { url: s.url.clone(), secret: secret(&s.secret) }),
                "add_timeline_entry" => {
                    Some(Action::AddTimelineEntry { title: s.title.clone(), body: optional(&s.body) })
                }
                "change_stage" => Some(Action::ChangeStage { stage: s.stage.clone(), only_from: s.only_from.clone() }),
                "show_message" => number(&mut errors, at("message_id"), &s.message_id)
                    .map(|message_id| Action::ShowMessage { message_id }),
                _ => {
                    let allowed = ACTIONS.iter().map(|a| a.to_string()).collect();
                    errors.push(FieldError::new(at("action"), Reason::NotOneOf { allowed }));
                    None
                }
            };
            if let Some(action) = action {
                steps.push(Step { delay_days, action });
            }
        }
        let segment_id = number(&mut errors, "segment_id".into(), &self.segment_id);
        let cooldown_days = number(&mut errors, "cooldown_days".into(), &self.cooldown_days);
        match trigger {
            Some(trigger) if errors.is_empty() => Ok(PlaybookDefinition {
                name: self.name.clone(),
                name_en: optional(&self.name_en),
                description: optional(&self.description),
                active: self.active,
                trigger,
                segment_id,
                send_email_directly: self.send_email_directly,
                cooldown_days,
                steps,
            }),
            _ => Err(errors),
        }
    }
}

/// Per step: its choices.
pub struct StepChoices {
    pub actions: Vec<Choice>,
    /// The task kinds people choose from on /tasks, and the step's own when it is another.
    pub kinds: Vec<Choice>,
    pub priorities: Vec<Choice>,
    pub assignees: Vec<Choice>,
    pub users: Vec<Choice>,
    pub stages: Vec<Choice>,
    pub only_from: Vec<Choice>,
    pub messages: Vec<Choice>,
}

pub struct HitRow {
    pub account_id: i64,
    pub name: String,
    pub why: String,
}

#[derive(Template)]
#[template(path = "playbook_builder.html")]
pub struct BuilderPage {
    pub frame: Frame,
    pub form: PlaybookForm,
    pub triggers: Vec<Choice>,
    pub trigger_segments: Vec<Choice>,
    pub grades_from: Vec<Choice>,
    pub grades_to: Vec<Choice>,
    pub segments: Vec<Choice>,
    pub step_choices: Vec<StepChoices>,
    pub errors: Vec<String>,
    /// The trigger preview: accounts it would start for now.
    pub preview: Option<PreviewView>,
    /// The dry run for one account: the account's name and each step's outcome.
    pub dry_run: Option<(String, Vec<String>)>,
}

pub struct PreviewView {
    pub hits: Vec<HitRow>,
    pub total: usize,
    pub previewable: bool,
}

fn step_line(step: &StepPreview, lang: Lang) -> String {
    match (step.delay_days, lang) {
        (0, Lang::Ja) => format!("すぐに: {}", step.outcome.ja),
        (0, Lang::En) => format!("At once: {}", step.outcome.en),
        (days, Lang::Ja) => format!("{days} 日後: {}", step.outcome.ja),
        (days, Lang::En) => format!("After {days} days: {}", step.outcome.en),
    }
}

async fn page(
    app: &AppState,
    frame: Frame,
    form: PlaybookForm,
    errors: Vec<String>,
    preview: Option<TriggerPreview>,
    dry_run: Option<(String, Vec<StepPreview>)>,
) -> Result<BuilderPage, ApiError> {
    let lang = frame.lang;
    let pick = |ja: &str, en: &str| lang.pick(ja, en).to_owned();
    let config = app.health_config().await?;
    let segments = app.segments().await?;
    let users = app.staff_users().await?;
    let stages = app.settings().stages.clone();
    let messages = app.messages().await?;
    let any = (String::new(), pick("任意", "any"));
    let grades = || {
        std::iter::once(any.clone()).chain(config.grades.iter().map(|g| (g.key.clone(), pick(&g.name_ja, &g.name_en))))
    };
    let segment_options = || {
        segments.iter().map(|s| {
            let name =
                if lang == Lang::En { s.segment.name_en.as_ref().unwrap_or(&s.segment.name) } else { &s.segment.name };
            (s.segment.id.to_string(), name.clone())
        })
    };
    let stage_options = || stages.iter().map(|s| (s.clone(), stage_name(s, lang)));
    let step_choices = form
        .steps
        .iter()
        .map(|s| StepChoices {
            actions: choices(
                ACTIONS.iter().map(|a| (a.to_string(), action_name(a, lang).to_owned())),
                Some(s.action.as_str()),
            ),
            kinds: choices(
                domain::tasks::KINDS
                    .iter()
                    .map(|k| k.to_string())
                    .chain(
                        (!s.kind.is_empty() && !domain::tasks::KINDS.contains(&s.kind.as_str()))
                            .then(|| s.kind.clone()),
                    )
                    .map(|k| (k.clone(), domain::tasks::kind_label(&k, lang))),
                Some(s.kind.as_str()),
            ),
            priorities: choices(
                domain::tasks::TaskPriority::ALL
                    .iter()
                    .map(|p| (p.as_str().to_owned(), p.label(lang).to_owned()))
                    .chain([(PRIORITY_FROM_GRADE.to_owned(), pick("グレードから決める", "from the grade"))]),
                Some(s.priority.as_str()),
            ),
            assignees: choices(
                ASSIGNEES.iter().map(|a| (a.to_string(), assignee_name(a, lang).to_owned())),
                Some(s.assignee.as_str()),
            ),
            users: choices(
                std::iter::once((String::new(), "—".to_owned()))
                    .chain(users.iter().map(|u| (u.id.0.to_string(), u.input.name.clone()))),
                Some(s.user_id.as_str()),
            ),
            stages: choices(stage_options(), Some(s.stage.as_str())),
            only_from: stage_options()
                .map(|(value, label)| Choice { selected: s.only_from.contains(&value), value, label })
                .collect(),
            messages: choices(
                messages.iter().filter(|m| m.message.playbook_only).map(|m| (m.id.to_string(), m.message.name.clone())),
                Some(s.message_id.as_str()),
            ),
        })
        .collect();
    Ok(BuilderPage {
        frame: frame.at("playbooks"),
        triggers: choices(
            TRIGGERS.iter().map(|t| (t.to_string(), trigger_name(t, lang).to_owned())),
            Some(form.trigger.as_str()),
        ),
        trigger_segments: choices(segment_options(), Some(form.trigger_segment.as_str())),
        grades_from: choices(grades(), Some(form.trigger_from.as_str())),
        grades_to: choices(grades(), Some(form.trigger_to.as_str())),
        segments: choices(
            std::iter::once((String::new(), pick("すべての顧客", "All accounts"))).chain(segment_options()),
            Some(form.segment_id.as_str()),
        ),
        step_choices,
        errors,
        preview: preview.map(|p| PreviewView {
            hits: p
                .accounts
                .into_iter()
                .map(|h| HitRow { account_id: h.account_id, name: h.name, why: h.why.pick(lang).to_owned() })
                .collect(),
            total: p.total,
            previewable: p.previewable,
        }),
        dry_run: dry_run.map(|(name, steps)| (name, steps.iter().map(|s| step_line(s, lang)).collect())),
        form,
    })
}

fn messages(errors: &[FieldError], lang: Lang) -> Vec<String> {
    let word = lang.pick("ステップ", "Step");
    builder::messages(errors, "step", None, |i| format!("{word} {}", i + 1), lang)
}

pub async fn show(State(app): State<AppState>, frame: Frame, mut params: QueryParams) -> Result<Response, ApiError> {
    let form = match params.id("id") {
        Some(id) => PlaybookForm::of(Some(id), &app.playbook(id).await?.definition),
        None => PlaybookForm::starter(),
    };
    params.finish()?;
    Ok(render(&page(&app, frame, form, Vec::new(), None, None).await?, "playbook_builder")?.into_response())
}

/// `action`: `add` (one more step), `preview` (the accounts it would start for now), `dry_run`
/// (each step's outcome for the account named in `account`), or `save`.
pub async fn submit(
    State(app): State<AppState>,
    frame: Frame,
    Signed(actor): Signed,
    fields: FormFields,
) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let mut form = PlaybookForm::sent(&fields);
    let action = fields.get("action");
    if action == "add" {
        form.steps.push(StepForm::blank());
        return Ok(render(&page(&app, frame, form, Vec::new(), None, None).await?, "playbook_builder")?.into_response());
    }
    let unprocessable = |page: BuilderPage| -> Result<Response, ApiError> {
        Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page, "playbook_builder")?).into_response())
    };
    let definition = match form.definition() {
        Ok(definition) => definition,
        Err(errors) => {
            let errors = messages(&errors, lang);
            return unprocessable(page(&app, frame, form, errors, None, None).await?);
        }
    };
    let id = form.id.parse::<i64>().ok();
    let result = match action {
        "preview" => app.preview_playbook_trigger(&definition, PREVIEW_ACCOUNTS).await.map(|p| (Some(p), None)),
        "dry_run" => match app.pick_account(&form.account).await? {
            AccountPick::Found(account) => app
                .dry_run_playbook(&definition, account.id)
                .await
                .map(|steps| (None, Some((account.input.name.clone(), steps)))),
            AccountPick::NotFound | AccountPick::Several(_) => Err(AppError::invalid(
                "account",
                if form.account.is_empty() { Reason::Required } else { Reason::UnknownAccount },
            )),
        },
        _ => match app.save_playbook(&actor, id, definition).await {
            Ok(saved) => return Ok(Redirect::to(&format!("/playbooks/{}?done=saved", saved.id)).into_response()),
            Err(error) => Err(error),
        },
    };
    match result {
        Ok((preview, dry_run)) => {
            Ok(render(&page(&app, frame, form, Vec::new(), preview, dry_run).await?, "playbook_builder")?
                .into_response())
        }
        Err(AppError::Invalid(errors)) => {
            let errors = messages(&errors, lang);
            unprocessable(page(&app, frame, form, errors, None, None).await?)
        }
        Err(other) => Err(other.into()),
    }
}
