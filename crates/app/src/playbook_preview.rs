//! A playbook before anyone relies on it: which accounts its trigger and segment would start it
//! for now, and what each step would do for one account. Nothing is written, sent or called.

use crate::playbooks::{trigger_matches, EventKind, TriggerEvent};
use crate::{App, AppError};
use chrono::NaiveDate;
use domain::account::stage_name;
use domain::health::HealthConfig;
use domain::i18n::{day_in_sentence, Bilingual, Lang};
use domain::playbooks::{Action, Assignee, PlaybookDefinition, Trigger};
use domain::tasks::TaskPriority;
use domain::AccountId;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::HashSet;

/// An account the playbook would start for now, and why.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TriggerHit {
    pub account_id: i64,
    pub name: String,
    pub why: Bilingual,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TriggerPreview {
    /// The first accounts, in the order the trigger sees them.
    pub accounts: Vec<TriggerHit>,
    /// All accounts it would start for now.
    pub total: usize,
    /// False for a trigger only an event starts (a request shipping): nothing to list ahead.
    pub previewable: bool,
}

/// What one step would do, after how many days.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StepPreview {
    pub delay_days: u32,
    pub outcome: Bilingual,
}

/// Grade changes looked back on to preview a grade trigger.
const GRADE_CHANGE_LOOKBACK_DAYS: u64 = 30;

fn grade_name(config: &HealthConfig, key: &str, lang: Lang) -> String {
    config.grade_name(key).pick(lang).to_owned()
}

/// Why the event starts the playbook, in both languages.
fn why(kind: &EventKind, config: &HealthConfig, today: NaiveDate) -> Bilingual {
    let both = |f: &dyn Fn(Lang) -> String| Bilingual::new(f(Lang::Ja), f(Lang::En));
    match kind {
        EventKind::EnteredSegment(_) => Bilingual::new("セグメントに入っている", "in the segment"),
        EventKind::GradeChanged { from, to } => both(&|lang| {
            let (from, to) = (grade_name(config, from, lang), grade_name(config, to, lang));
            match lang {
                Lang::Ja => format!("グレード {from} → {to}"),
                Lang::En => format!("grade {from} → {to}"),
            }
        }),
        EventKind::Renewal(date) => {
            let days = (*date - today).num_days();
            both(&|lang| match lang {
                Lang::Ja => format!("更新日 {}（あと {days} 日）", day_in_sentence(*date, lang)),
                Lang::En => format!("renewal on {} (in {days} days)", day_in_sentence(*date, lang)),
            })
        }
        EventKind::Quiet(Some(last)) => both(&|lang| match lang {
            Lang::Ja => format!("最後の利用 {}", day_in_sentence(*last, lang)),
            Lang::En => format!("last active on {}", day_in_sentence(*last, lang)),
        }),
        EventKind::Quiet(None) => Bilingual::new("利用の記録なし", "never active"),
        EventKind::NpsAnswer { day, score } => both(&|lang| match lang {
            Lang::Ja => format!("NPS {score}（{}）", day_in_sentence(*day, lang)),
            Lang::En => format!("NPS {score} on {}", day_in_sentence(*day, lang)),
        }),
        EventKind::MilestoneOverdue { key } => {
            Bilingual::new(format!("マイルストーン {key} が期限切れ"), format!("milestone {key} overdue"))
        }
        EventKind::Day => Bilingual::new("毎年の日付から 30 日以内", "within 30 days of the yearly date"),
        EventKind::RequestShipped => Bilingual::new("依頼した製品リクエストがリリース", "a requested feature shipped"),
    }
}

impl App {
    /// What could start a playbook with this trigger today; `None` when only a live event can.
    async fn events_now(&self, trigger: &Trigger) -> Result<Option<Vec<TriggerEvent>>, AppError> {
        let event = |account: AccountId, kind: EventKind, data: Value| TriggerEvent {
            account,
            kind,
            occurrence: String::new(),
            data,
        };
        Ok(Some(match trigger {
            Trigger::RequestShipped => return Ok(None),
            Trigger::EnteredSegment { segment_id } => self
                .segment_members(*segment_id, i64::MAX, 0)
                .await?
                .items
                .into_iter()
                .map(|m| event(m.account.id, EventKind::EnteredSegment(*segment_id), json!({"segment_id": segment_id})))
                .collect(),
            // Only worsened grades are kept; a trigger towards a better grade previews empty.
            Trigger::GradeChanged { .. } => self
                .grade_drops(GRADE_CHANGE_LOOKBACK_DAYS, None)
                .await?
                .iter()
                .map(|drop| TriggerEvent { occurrence: String::new(), ..drop.trigger_event() })
                .collect(),
            _ => self.scanned_events().await?,
        }))
    }

    async fn segment_member_ids(&self, segment: i64) -> Result<HashSet<AccountId>, AppError> {
        Ok(self.segment_members(segment, i64::MAX, 0).await?.items.into_iter().map(|m| m.account.id).collect())
    }

    /// The accounts a playbook (saved or not) would start for now: its trigger's current events
    /// narrowed to its segment, the first `limit` named.
    pub async fn preview_playbook_trigger(
        &self,
        definition: &PlaybookDefinition,
        limit: usize,
    ) -> Result<TriggerPreview, AppError> {
        let Some(events) = self.events_now(&definition.trigger).await? else {
            return Ok(TriggerPreview { accounts: Vec::new(), total: 0, previewable: false });
        };
        let members = match definition.segment_id {
            Some(segment) => Some(self.segment_member_ids(segment).await?),
            None => None,
        };
        let today = self.today();
        let config = self.health_config().await?;
        let mut seen = HashSet::new();
        let mut found = Vec::new();
        for event in &events {
            let starts = trigger_matches(&definition.trigger, &event.kind, today).is_some()
                && members.as_ref().is_none_or(|m| m.contains(&event.account));
            if starts && seen.insert(event.account) {
                found.push((event.account, why(&event.kind, &config, today)));
            }
        }
        let total = found.len();
        let mut accounts = Vec::new();
        for (id, why) in found.into_iter().take(limit) {
            let name = self.store.get_account(id).await?.input.name;
            accounts.push(TriggerHit { account_id: id.0, name, why });
        }
        Ok(TriggerPreview { accounts, total, previewable: true })
    }

    /// What each step of a playbook (saved or not) would do for this account if it started now:
    /// the task with its assignee, due day and priority, the email with its recipients, the
    /// stage change — filled in, and nothing written, sent or called.
    pub async fn dry_run_playbook(
        &self,
        definition: &PlaybookDefinition,
        account_id: AccountId,
    ) -> Result<Vec<StepPreview>, AppError> {
        let account = self.store.get_account(account_id).await?;
        let today = self.today();
        let event = self.events_now(&definition.trigger).await?.and_then(|events| {
            events
                .into_iter()
                .find(|e| e.account == account_id && trigger_matches(&definition.trigger, &e.kind, today).is_some())
        });
        let reason = json!({
            "playbook": definition.name,
            "trigger": definition.trigger,
            "occurrence": "dry-run",
            "data": event.map_or(Value::Null, |e| e.data),
        });
        let values = self.template_values(&account, &definition.name, &reason).await?;
        let mut steps = Vec::new();
        for step in &definition.steps {
            let outcome = match &step.action {
                Action::CreateTask {
                    title, priority, due_in_days, due_before_renewal_days, assignee, user_id, ..
                } => {
                    let due = crate::playbooks::task_due_on(*due_in_days, *due_before_renewal_days, &reason, today);
                    let priority = crate::playbooks::task_priority(priority.clone(), &account);
                    let priority =
                        |lang| TaskPriority::parse(&priority).map_or(priority.clone(), |p| p.label(lang).to_owned());
                    let who = self.assignee_name(&account, *assignee, *user_id).await?;
                    let title = values.fill(title);
                    let due = |lang| due.map_or_else(|| "—".to_owned(), |d| day_in_sentence(d, lang));
                    Bilingual::new(
                        format!(
                            "タスク「{title}」を {} に作成（期限 {}、優先度 {}）",
                            who.ja,
                            due(Lang::Ja),
                            priority(Lang::Ja)
                        ),
                        format!(
                            "create task \"{title}\" for {}, due {}, priority {}",
                            who.en,
                            due(Lang::En),
                            priority(Lang::En).to_lowercase()
                        ),
                    )
                }
                Action::SendEmail { to_role, subject, .. } => {
                    let recipients = self.contacts_with_role(account.id, to_role).await?;
                    let subject = values.fill(subject);
                    if recipients.is_empty() {
                        Bilingual::new(
                            format!("役割 {to_role} の連絡先がないため、メールは作られません"),
                            format!("no contact with role {to_role}: no email would be made"),
                        )
                    } else if definition.send_email_directly {
                        Bilingual::new(
                            format!("メール「{subject}」を {} にすぐ送信", recipients.join(", ")),
                            format!("email \"{subject}\" sent at once to {}", recipients.join(", ")),
                        )
                    } else {
                        Bilingual::new(
                            format!("メール「{subject}」（宛先 {}）が承認待ちに入る", recipients.join(", ")),
                            format!(
                                "email \"{subject}\" to {} waits in the outbox for approval",
                                recipients.join(", ")
                            ),
                        )
                    }
                }
                Action::PostToSlack { text, .. } => {
                    let text = values.fill(text);
                    Bilingual::new(format!("Slack に投稿: {text}"), format!("post to Slack: {text}"))
                }
                Action::CallWebhook { url, .. } => Bilingual::new(
                    format!("{url} に署名付きで顧客ときっかけを送信"),
                    format!("call {url} with the account and the reason, signed"),
                ),
                Action::AddTimelineEntry { title, .. } => {
                    let title = values.fill(title);
                    Bilingual::new(
                        format!("タイムラインに「{title}」を記録"),
                        format!("add \"{title}\" to the timeline"),
                    )
                }
                Action::ShowMessage { message_id } => Bilingual::new(
                    format!("アプリ内メッセージ {message_id} をこの顧客のユーザーに表示"),
                    format!("show in-app message {message_id} to the account's users"),
                ),
                Action::ChangeStage { stage, only_from } => {
                    let current = account.input.stage.clone().unwrap_or_default();
                    let name = |key: &str, lang| stage_name(key, lang);
                    if !only_from.is_empty() && !only_from.contains(&current) {
                        Bilingual::new(
                            format!("ステージは「{}」のまま（対象外のステージ）", name(&current, Lang::Ja)),
                            format!("stage left as {} (not a stage it moves from)", name(&current, Lang::En)),
                        )
                    } else if current == *stage {
                        Bilingual::new(
                            format!("ステージはすでに「{}」", name(stage, Lang::Ja)),
                            format!("stage already {}", name(stage, Lang::En)),
                        )
                    } else {
                        Bilingual::new(
                            format!("ステージ「{}」→「{}」", name(&current, Lang::Ja), name(stage, Lang::Ja)),
                            format!("stage {} → {}", name(&current, Lang::En), name(stage, Lang::En)),
                        )
                    }
                }
            };
            steps.push(StepPreview { delay_days: step.delay_days, outcome });
        }
        Ok(steps)
    }

    /// Who a task would go to, by name.
    async fn assignee_name(
        &self,
        account: &domain::account::Account,
        assignee: Assignee,
        user_id: Option<i64>,
    ) -> Result<Bilingual, AppError> {
        let (user, team) = self.task_assignee(account, assignee, user_id).await?;
        if let Some(user) = user {
            let name = self.store.get_user(user).await?.input.name;
            return Ok(Bilingual::new(name.clone(), name));
        }
        if let Some(team) = team {
            if let Some(team) = self.teams().await?.into_iter().find(|t| t.id == team) {
                return Ok(Bilingual::new(format!("チーム {}", team.name), format!("team {}", team.name)));
            }
        }
        Ok(Bilingual::new("担当者なし", "nobody (the account has no owner)"))
    }
}
