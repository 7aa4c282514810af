//! Tech touch: in-app messages and surveys managed by CS, what the snippet shows each end user
//! (decided on the server, caps counted from stored exposures), survey links signed per contact
//! and sent through the outbox, answers landing beside imported NPS, and the results pages'
//! figures. Every snippet request is answered only about the user it names.

use crate::{Actor, App, AppError};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use domain::i18n::{Bilingual, Lang};
use domain::tech_touch::{
    choose_message, may_ask, summarize, AnswerInput, Caps, Exposure, Message, NotAsked, Outcome, ScoreSummary,
    ShownMessage, ShownSurvey, SnippetReport, SnippetUser, SnippetVisit, Survey, SurveyInvite, SurveyKind, TouchKind,
    Visitor,
};
use domain::tracking::MessageKind;
use domain::{AccountId, Email, Reason};
use engine::Change;
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use store::{PersonExposure, SurveyAnswer, TouchItem};

/// How far back a person's exposures are read: the longest survey round.
const HISTORY_DAYS: i64 = 730;
/// Snippet requests one person may make per minute, and one account's users together.
const PERSON_REQUESTS_PER_MINUTE: u32 = 30;
const ACCOUNT_REQUESTS_PER_MINUTE: u32 = 600;
/// Days after a message is first shown (or held back) in which its goal event counts.
pub const GOAL_WINDOW_DAYS: i64 = 14;
/// Accounts per group read for a message's effect.
const EFFECT_SAMPLE: usize = 1_000;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SavedMessage {
    pub id: i64,
    #[serde(flatten)]
    pub message: Message,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SavedSurvey {
    pub id: i64,
    #[serde(flatten)]
    pub survey: Survey,
    pub updated_at: DateTime<Utc>,
}

/// What the snippet should show this user now (at most one of the two).
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct SnippetDecision {
    pub message: Option<ShownMessage>,
    pub survey: Option<ShownSurvey>,
}

/// Fixed one-minute windows of request counts per key, kept in memory per node.
#[derive(Default)]
pub(crate) struct SnippetLimiter {
    windows: Mutex<HashMap<String, (i64, u32)>>,
}

impl SnippetLimiter {
    fn allow(&self, key: &str, limit: u32, now: DateTime<Utc>) -> bool {
        let minute = now.timestamp() / 60;
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() > 100_000 {
            windows.retain(|_, (window, _)| *window == minute);
        }
        let entry = windows.entry(key.to_owned()).or_insert((minute, 0));
        if entry.0 != minute {
            *entry = (minute, 0);
        }
        entry.1 += 1;
        entry.1 <= limit
    }
}

/// A survey email's outcome for one contact.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InviteOutcome {
    pub email: String,
    pub account_id: i64,
    /// Why the contact was not asked (absent when an email was queued).
    pub skipped: Option<Bilingual>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SendReport {
    pub queued: usize,
    pub sent: usize,
    /// True when no SMTP server is set: the emails wait in the outbox.
    pub waiting_for_smtp: bool,
    pub contacts: Vec<InviteOutcome>,
}

/// One answer with its account, for the results page.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AnswerRow {
    pub account_id: i64,
    pub account_name: String,
    pub arr: domain::Money,
    pub person: String,
    pub score: i64,
    pub comment: Option<String>,
    pub channel: String,
    pub answered_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MonthScore {
    /// `YYYY-MM`.
    pub month: String,
    pub summary: ScoreSummary,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SegmentScore {
    pub segment_id: i64,
    pub name: String,
    pub name_en: Option<String>,
    pub summary: ScoreSummary,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SurveyResults {
    pub overall: ScoreSummary,
    pub by_month: Vec<MonthScore>,
    pub by_segment: Vec<SegmentScore>,
    /// Newest first.
    pub answers: Vec<AnswerRow>,
    pub asked: i64,
}

/// The goal event's use after a message, by those who saw it and those held out.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GroupResult {
    pub accounts: usize,
    /// Accounts that did the goal event within `GOAL_WINDOW_DAYS` of their first exposure.
    pub converted: usize,
    pub rate: Option<f64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MessageResults {
    /// (outcome, times, accounts)
    pub outcomes: Vec<(Outcome, i64, i64)>,
    pub goal_event: Option<String>,
    pub shown: GroupResult,
    pub held_out: GroupResult,
}

fn message_of(item: &TouchItem) -> Result<SavedMessage, AppError> {
    let message = serde_json::from_str(&item.definition)
        .map_err(|e| AppError::Internal(format!("in-app message {} is unreadable: {e}", item.id)))?;
    Ok(SavedMessage { id: item.id, message, updated_at: item.updated_at })
}

fn survey_of(item: &TouchItem) -> Result<SavedSurvey, AppError> {
    let survey = serde_json::from_str(&item.definition)
        .map_err(|e| AppError::Internal(format!("survey {} is unreadable: {e}", item.id)))?;
    Ok(SavedSurvey { id: item.id, survey, updated_at: item.updated_at })
}

fn definition<T: Serialize>(value: &T) -> Result<String, AppError> {
    serde_json::to_string(value).map_err(|e| AppError::Internal(format!("definition not written: {e}")))
}

fn sign(secret: &str, payload: &str) -> Result<Hmac<Sha256>, AppError> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .map_err(|e| AppError::Internal(format!("link key: {e}")))?;
    mac.update(payload.as_bytes());
    Ok(mac)
}

impl App {
    pub async fn messages(&self) -> Result<Vec<SavedMessage>, AppError> {
        self.store.touch_items(TouchKind::Message).await?.iter().map(message_of).collect()
    }

    pub async fn message(&self, id: i64) -> Result<SavedMessage, AppError> {
        message_of(&self.store.touch_item(TouchKind::Message, id).await?)
    }

    pub async fn surveys(&self) -> Result<Vec<SavedSurvey>, AppError> {
        self.store.touch_items(TouchKind::Survey).await?.iter().map(survey_of).collect()
    }

    pub async fn survey(&self, id: i64) -> Result<SavedSurvey, AppError> {
        survey_of(&self.store.touch_item(TouchKind::Survey, id).await?)
    }

    async fn check_targeting_segment(&self, segment_id: Option<i64>) -> Result<(), AppError> {
        if let Some(id) = segment_id {
            match self.store.get_segment(id).await {
                Err(store::StoreError::NotFound { .. }) => {
                    return Err(AppError::invalid("segment_id", Reason::UnknownReference))
                }
                other => {
                    other?;
                }
            }
        }
        Ok(())
    }

    /// Saves a new message (`id` None) or replaces one.
    pub async fn save_message(
        &self,
        actor: &Actor,
        id: Option<i64>,
        message: Message,
    ) -> Result<SavedMessage, AppError> {
        self.check_targeting_segment(message.targeting.segment_id).await?;
        let text = definition(&message)?;
        let now = Utc::now();
        let (before, item) = match id {
            None => (None, self.store.create_touch_item(TouchKind::Message, &text, now).await?),
            Some(id) => {
                let before = self.message(id).await?;
                (Some(before.message), self.store.update_touch_item(TouchKind::Message, id, &text, now).await?)
            }
        };
        let saved = message_of(&item)?;
        let action = if before.is_some() { "update" } else { "create" };
        self.record_change(
            actor,
            action,
            "in_app_message",
            &saved.id.to_string(),
            before.as_ref(),
            Some(&saved.message),
        )
        .await?;
        Ok(saved)
    }

    pub async fn save_survey(&self, actor: &Actor, id: Option<i64>, survey: Survey) -> Result<SavedSurvey, AppError> {
        self.check_targeting_segment(survey.targeting.segment_id).await?;
        let text = definition(&survey)?;
        let now = Utc::now();
        let (before, item) = match id {
            None => (None, self.store.create_touch_item(TouchKind::Survey, &text, now).await?),
            Some(id) => {
                let before = self.survey(id).await?;
                (Some(before.survey), self.store.update_touch_item(TouchKind::Survey, id, &text, now).await?)
            }
        };
        let saved = survey_of(&item)?;
        let action = if before.is_some() { "update" } else { "create" };
        self.record_change(actor, action, "survey", &saved.id.to_string(), before.as_ref(), Some(&saved.survey))
            .await?;
        Ok(saved)
    }

    pub async fn delete_touch_item(&self, actor: &Actor, kind: TouchKind, id: i64) -> Result<(), AppError> {
        self.store.delete_touch_item(kind, id).await?;
        let entity = match kind {
            TouchKind::Message => "in_app_message",
            TouchKind::Survey => "survey",
        };
        self.record(actor, "delete", entity, Some(id.to_string()), BTreeMap::new()).await
    }

    pub async fn touch_caps(&self) -> Result<Caps, AppError> {
        match self.store.touch_caps().await? {
            Some(text) => serde_json::from_str(&text).map_err(|e| AppError::Internal(format!("caps unreadable: {e}"))),
            None => Ok(Caps::default()),
        }
    }

    pub async fn set_touch_caps(&self, actor: &Actor, caps: Caps) -> Result<Caps, AppError> {
        let before = self.touch_caps().await?;
        self.store.save_touch_caps(&definition(&caps)?, &crate::auth::new_secret("")?).await?;
        self.record_change(actor, "update", "tech_touch_caps", "1", Some(&before), Some(&caps)).await?;
        Ok(caps)
    }

    /// Refuses a person (or their account) asking too often: 429.
    fn limit_snippet(&self, user: &SnippetUser, now: DateTime<Utc>) -> Result<(), AppError> {
        let person = self.snippet_limiter.allow(&format!("p:{}", user.person()), PERSON_REQUESTS_PER_MINUTE, now);
        let account = self.snippet_limiter.allow(&format!("a:{}", user.account), ACCOUNT_REQUESTS_PER_MINUTE, now);
        if person && account {
            Ok(())
        } else {
            Err(AppError::Busy)
        }
    }

    async fn snippet_account(&self, user: &SnippetUser) -> Result<AccountId, AppError> {
        let found = self.store.account_ids_by_external_id(std::slice::from_ref(&user.account)).await?;
        found.get(&user.account).copied().ok_or_else(|| AppError::invalid("accountId", Reason::UnknownAccount))
    }

    async fn history(&self, person: &str, now: DateTime<Utc>) -> Result<Vec<Exposure>, AppError> {
        Ok(self.store.person_exposures(person, now - Duration::days(HISTORY_DAYS)).await?)
    }

    /// Tracking events for what the snippet did, stored like any event the product sends.
    async fn track_touch(
        &self,
        user: &SnippetUser,
        event: &str,
        properties: serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        let value = serde_json::json!({
            "type": "track",
            "userId": user.user_id,
            "event": event,
            "properties": properties,
            "context": { "groupId": user.account.as_str(), "library": { "name": "kizuna.js" } },
        });
        let message = domain::tracking::parse_message(
            value,
            Some(MessageKind::Track),
            &serde_json::Map::new(),
            None,
            now,
            || {
                crate::auth::new_secret("kt-")
                    .unwrap_or_else(|_| format!("kt-{}", now.timestamp_nanos_opt().unwrap_or(0)))
            },
        )
        .map_err(|e| AppError::Internal(format!("tech touch event not built: {e:?}")))?;
        self.ingest(vec![message]).await
    }

    /// What to show a user now: the message the caps allow, else a survey they may be asked.
    /// Showing is recorded before the answer leaves, so caps hold across tabs, devices and nodes.
    pub async fn snippet_decide(&self, visit: SnippetVisit) -> Result<SnippetDecision, AppError> {
        let now = Utc::now();
        self.limit_snippet(&visit.user, now)?;
        let account = self.snippet_account(&visit.user).await?;
        let person = visit.user.person();
        let today = self.today();
        let visitor = Visitor {
            account_id: account.0,
            role: visit.role.clone(),
            traits: visit.traits.clone(),
            url: visit.url.clone(),
            event: visit.event.clone(),
            segments: self.store.segments_of_account(account).await?.iter().map(|s| s.segment.id).collect(),
            enrolled: self.store.enrollments(account.0).await?,
        };
        let history = self.history(&person, now).await?;
        let caps = self.touch_caps().await?;
        let messages: Vec<(i64, Message)> = self.messages().await?.into_iter().map(|m| (m.id, m.message)).collect();
        let decision = choose_message(&messages, &visitor, &history, &caps, now, today);
        let exposure = |kind, item_id, round, outcome| PersonExposure {
            account_id: account.0,
            person: person.clone(),
            exposure: Exposure { kind, item_id, round, outcome, at: now },
        };
        let mut exposures: Vec<PersonExposure> =
            decision.held_out.iter().map(|id| exposure(TouchKind::Message, *id, None, Outcome::HeldOut)).collect();
        let mut answer = SnippetDecision::default();
        let message = decision.show.and_then(|id| messages.iter().find(|(m, _)| *m == id));
        let mut surveys: Vec<(SavedSurvey, i64)> = Vec::new();
        for saved in self.surveys().await? {
            if !saved.survey.in_app || !saved.survey.targeting.matches(&visitor, today) {
                continue;
            }
            if let Ok(round) = may_ask(saved.id, &saved.survey, &history, &caps, now, today) {
                surveys.push((saved, round));
            }
        }
        surveys.sort_by_key(|(saved, _)| (!saved.survey.targeting.answers(&visitor), saved.id));
        let survey_first = surveys.first().is_some_and(|(saved, _)| saved.survey.targeting.answers(&visitor))
            && !message.is_some_and(|(_, m)| m.targeting.answers(&visitor));
        match (message, surveys.first()) {
            (Some((id, message)), _) if !survey_first => {
                exposures.push(exposure(TouchKind::Message, *id, None, Outcome::Shown));
                answer.message = Some(message.shown(*id, visit.lang));
            }
            (_, Some((saved, round))) => {
                exposures.push(exposure(TouchKind::Survey, saved.id, Some(*round), Outcome::Shown));
                answer.survey = Some(saved.survey.shown(saved.id, *round, visit.lang));
            }
            _ => {}
        }
        self.store.record_exposures(&exposures).await?;
        if let Some(message) = &answer.message {
            let properties = serde_json::json!({"message_id": message.id, "style": message.style.as_str()});
            self.track_touch(&visit.user, "Message Shown", properties, now).await?;
        }
        if let Some(survey) = &answer.survey {
            let properties =
                serde_json::json!({"survey_id": survey.id, "kind": survey.kind.as_str(), "round": survey.round});
            self.track_touch(&visit.user, "Survey Shown", properties, now).await?;
        }
        Ok(answer)
    }

    /// A click or dismissal the snippet reports, for a message or survey this user was shown.
    pub async fn snippet_report(&self, report: SnippetReport) -> Result<(), AppError> {
        let now = Utc::now();
        self.limit_snippet(&report.user, now)?;
        let account = self.snippet_account(&report.user).await?;
        let person = report.user.person();
        let history = self.history(&person, now).await?;
        let shown = history
            .iter()
            .rev()
            .find(|e| e.kind == report.kind && e.item_id == report.item_id && e.outcome == Outcome::Shown)
            .ok_or_else(|| AppError::invalid("id", Reason::UnknownReference))?;
        let outcome = match report.action {
            domain::tech_touch::SnippetAction::Clicked => Outcome::Clicked,
            domain::tech_touch::SnippetAction::Dismissed => Outcome::Dismissed,
        };
        let exposure = Exposure { kind: report.kind, item_id: report.item_id, round: shown.round, outcome, at: now };
        self.store.record_exposures(&[PersonExposure { account_id: account.0, person, exposure }]).await?;
        let (event, key) = match (report.kind, outcome) {
            (TouchKind::Message, Outcome::Clicked) => ("Message Clicked", "message_id"),
            (TouchKind::Message, _) => ("Message Dismissed", "message_id"),
            (TouchKind::Survey, _) => ("Survey Dismissed", "survey_id"),
        };
        self.track_touch(&report.user, event, serde_json::json!({ key: report.item_id }), now).await
    }

    /// The kind of an active survey, for reading an answer on its scale.
    pub async fn survey_kind(&self, id: i64) -> Result<Option<SurveyKind>, AppError> {
        match self.survey(id).await {
            Ok(saved) => Ok(Some(saved.survey.kind)),
            Err(AppError::NotFound { .. }) => Ok(None),
            Err(other) => Err(other),
        }
    }

    /// An answer given in the product, to a survey the snippet showed this user this round.
    pub async fn snippet_answer(&self, user: SnippetUser, survey_id: i64, answer: AnswerInput) -> Result<(), AppError> {
        let now = Utc::now();
        self.limit_snippet(&user, now)?;
        let account = self.snippet_account(&user).await?;
        let saved = self.survey(survey_id).await?;
        let round =
            saved.survey.round(self.today()).ok_or_else(|| AppError::invalid("id", Reason::UnknownReference))?;
        let person = user.person();
        let history = self.history(&person, now).await?;
        let asked = history.iter().any(|e| {
            e.kind == TouchKind::Survey
                && e.item_id == survey_id
                && e.round == Some(round)
                && e.outcome == Outcome::Shown
        });
        if !asked {
            return Err(AppError::invalid("id", Reason::UnknownReference));
        }
        self.store_answer(&saved, round, account, &person, &answer, "in_app", now).await?;
        let properties = serde_json::json!({
            "survey_id": survey_id, "kind": saved.survey.kind.as_str(), "round": round, "score": answer.score,
        });
        self.track_touch(&user, "Survey Answered", properties, now).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn store_answer(
        &self,
        saved: &SavedSurvey,
        round: i64,
        account: AccountId,
        person: &str,
        answer: &AnswerInput,
        channel: &str,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        let row = SurveyAnswer {
            survey_id: saved.id,
            round,
            person: person.to_owned(),
            account_id: account.0,
            score: answer.score,
            comment: answer.comment.clone(),
            channel: channel.to_owned(),
            answered_at: now,
        };
        let nps_day = (saved.survey.kind == SurveyKind::Nps).then(|| self.today());
        if !self.store.insert_survey_answer(&row, nps_day).await? {
            return Err(AppError::invalid("score", Reason::AlreadyAnswered));
        }
        let exposure = Exposure {
            kind: TouchKind::Survey,
            item_id: saved.id,
            round: Some(round),
            outcome: Outcome::Answered,
            at: now,
        };
        self.store
            .record_exposures(&[PersonExposure { account_id: account.0, person: person.to_owned(), exposure }])
            .await?;
        self.data_changed(&[Change::everything(account)]).await?;
        if let Some(day) = nps_day {
            let event = crate::playbooks::nps_answered(account, day, answer.score);
            if let Err(error) = self.fire_triggers(&[event]).await {
                tracing::warn!(%error, account = account.0, "playbooks not started after an NPS answer");
            }
        }
        Ok(())
    }

    async fn link_secret(&self) -> Result<String, AppError> {
        Ok(self.store.link_secret(&crate::auth::new_secret("")?).await?)
    }

    /// The path of a signed answer link: `/s/<payload>.<signature>`.
    pub async fn survey_link(&self, invite: &SurveyInvite) -> Result<String, AppError> {
        let payload = invite.payload();
        let signature = sign(&self.link_secret().await?, &payload)?.finalize().into_bytes();
        use base64::Engine;
        Ok(format!("/s/{payload}.{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signature)))
    }

    /// The invite a link stands for, when its signature holds and it has not expired.
    pub async fn open_survey_link(&self, token: &str) -> Result<(SurveyInvite, SavedSurvey), AppError> {
        use base64::Engine;
        let invalid = || AppError::invalid("link", Reason::LinkInvalid);
        let (payload, signature) = token.rsplit_once('.').ok_or_else(invalid)?;
        let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(signature).map_err(|_| invalid())?;
        sign(&self.link_secret().await?, payload)?.verify_slice(&signature).map_err(|_| invalid())?;
        let invite = SurveyInvite::from_payload(payload).ok_or_else(invalid)?;
        if Utc::now().timestamp() > invite.expires {
            return Err(AppError::invalid("link", Reason::LinkExpired));
        }
        let saved = self.survey(invite.survey_id).await.map_err(|_| invalid())?;
        // Said as soon as the link opens again, not after the person has answered a second time.
        let answered = self.history(&invite.email, Utc::now()).await?.iter().any(|e| {
            e.kind == TouchKind::Survey
                && e.item_id == invite.survey_id
                && e.round == Some(invite.round)
                && e.outcome == Outcome::Answered
        });
        if answered {
            return Err(AppError::invalid("link", Reason::AlreadyAnswered));
        }
        Ok((invite, saved))
    }

    /// An answer given on the public page a signed link opens.
    pub async fn answer_by_link(&self, token: &str, answer: AnswerInput) -> Result<SavedSurvey, AppError> {
        let (invite, saved) = self.open_survey_link(token).await?;
        self.store_answer(
            &saved,
            invite.round,
            AccountId(invite.account_id),
            &invite.email,
            &answer,
            "email",
            Utc::now(),
        )
        .await?;
        Ok(saved)
    }

    /// The accounts a survey asks: its segment's members, or every account still paying.
    async fn survey_accounts(&self, survey: &Survey) -> Result<HashSet<AccountId>, AppError> {
        Ok(match survey.targeting.segment_id {
            Some(segment) => self.store.segment_member_ids(segment).await?.into_iter().collect(),
            None => {
                let churned = self.store.churned_accounts().await?;
                self.store.account_ids().await?.into_iter().filter(|a| !churned.contains(a)).collect()
            }
        })
    }

    async fn all_contacts(&self) -> Result<Vec<domain::contact::Contact>, AppError> {
        Ok(self.store.list_contacts(&store::ChildQuery { account_id: None, limit: 100_000, offset: 0 }).await?.items)
    }

    /// Whether a person would be asked a survey now, and if not, why. A contact (by email) of
    /// none of the survey's accounts, or with none of its roles, is outside its audience, as
    /// its emails would skip them. Anyone else (an in-app user) is matched with the audience
    /// when their page asks, with the account it names; only the survey's own rules are
    /// checked for them here.
    pub async fn survey_eligibility(&self, survey_id: i64, person: &str) -> Result<Result<i64, NotAsked>, AppError> {
        let saved = self.survey(survey_id).await?;
        let person = person.trim().to_lowercase();
        let contacts = self.all_contacts().await?;
        let theirs: Vec<&domain::contact::Contact> = contacts
            .iter()
            .filter(|c| c.input.email.as_ref().is_some_and(|e| e.to_string().to_lowercase() == person))
            .collect();
        if !theirs.is_empty() {
            let audience = self.survey_accounts(&saved.survey).await?;
            let targeted = theirs.iter().any(|c| {
                audience.contains(&c.input.account_id) && role_targeted(&saved.survey, c.input.role.as_deref())
            });
            if !targeted {
                return Ok(Err(NotAsked::NotTargeted));
            }
        }
        let now = Utc::now();
        let history = self.history(&person, now).await?;
        let caps = self.touch_caps().await?;
        Ok(may_ask(saved.id, &saved.survey, &history, &caps, now, self.today()))
    }

    /// Emails a signed answer link to every contact with an email of the survey's accounts
    /// (its segment, or all paying accounts) that may be asked now; the others are listed
    /// with the reason. Emails go through the outbox: sent at once when SMTP is set, else they
    /// wait there. Links point at the configured `public_url`, else at `base_url` (the address
    /// the sender reached Kizuna at).
    pub async fn send_survey(&self, actor: &Actor, survey_id: i64, base_url: &str) -> Result<SendReport, AppError> {
        let saved = self.survey(survey_id).await?;
        let survey = &saved.survey;
        let now = Utc::now();
        let today = self.today();
        let base = self.public_url().unwrap_or_else(|| base_url.to_owned());
        let accounts = self.survey_accounts(survey).await?;
        let contacts = self.all_contacts().await?;
        let caps = self.touch_caps().await?;
        let names = self.account_names(&accounts).await?;
        let mut report = SendReport { queued: 0, sent: 0, waiting_for_smtp: false, contacts: Vec::new() };
        let mut seen = HashSet::new();
        for contact in contacts.iter().filter(|c| accounts.contains(&c.input.account_id)) {
            let Some(email) = &contact.input.email else { continue };
            if !role_targeted(survey, contact.input.role.as_deref()) {
                continue;
            }
            let person = email.to_string().to_lowercase();
            if !seen.insert(person.clone()) {
                continue;
            }
            let account = contact.input.account_id;
            let history = self.history(&person, now).await?;
            let round = match may_ask(saved.id, survey, &history, &caps, now, today) {
                Ok(round) => round,
                Err(reason) => {
                    report.contacts.push(InviteOutcome {
                        email: person,
                        account_id: account.0,
                        skipped: Some(Bilingual::new(reason.text(Lang::Ja), reason.text(Lang::En))),
                    });
                    continue;
                }
            };
            let invite = SurveyInvite {
                survey_id: saved.id,
                round,
                account_id: account.0,
                email: person.clone(),
                expires: (now + Duration::days(survey.link_days)).timestamp(),
            };
            let link = format!("{}{}", base.trim_end_matches('/'), self.survey_link(&invite).await?);
            let account_name = names.get(&account).cloned().unwrap_or_default();
            let (subject, body) = invitation(survey, &account_name, &link, today + Duration::days(survey.link_days));
            let email =
                self.store.enqueue_email(None, account, std::slice::from_ref(&person), &subject, &body, now).await?;
            let exposure = Exposure {
                kind: TouchKind::Survey,
                item_id: saved.id,
                round: Some(round),
                outcome: Outcome::Emailed,
                at: now,
            };
            self.store
                .record_exposures(&[PersonExposure { account_id: account.0, person: person.clone(), exposure }])
                .await?;
            report.queued += 1;
            match self.deliver_email(&email, actor.user_id()).await {
                Ok(()) => report.sent += 1,
                Err(AppError::MailNotConfigured) => report.waiting_for_smtp = true,
                Err(AppError::Undelivered(reason)) => {
                    tracing::warn!(email = email.id, reason = %reason.en, "survey email not sent");
                }
                Err(other) => return Err(other),
            }
            report.contacts.push(InviteOutcome { email: person, account_id: account.0, skipped: None });
        }
        self.record(
            actor,
            "send",
            "survey",
            Some(saved.id.to_string()),
            BTreeMap::from([(
                "queued".to_owned(),
                domain::audit::FieldChange { old: serde_json::Value::Null, new: serde_json::json!(report.queued) },
            )]),
        )
        .await?;
        Ok(report)
    }

    /// The names of these accounts, read at once (a deleted account is left out).
    pub async fn account_names(&self, ids: &HashSet<AccountId>) -> Result<HashMap<AccountId, String>, AppError> {
        let ids: Vec<AccountId> = ids.iter().copied().collect();
        Ok(self.store.accounts_by_ids(&ids).await?.into_iter().map(|a| (a.id, a.input.name)).collect())
    }

    /// A survey's score and answer count, for the list (no per-month or per-segment breakdown).
    pub async fn survey_summary(&self, saved: &SavedSurvey) -> Result<ScoreSummary, AppError> {
        let scores: Vec<i64> = self.store.survey_answers(saved.id).await?.iter().map(|a| a.score).collect();
        Ok(summarize(saved.survey.kind, &scores))
    }

    /// NPS (or the mean) overall, per month and per saved segment, with every answer and its
    /// account's ARR.
    pub async fn survey_results(&self, survey_id: i64) -> Result<SurveyResults, AppError> {
        let saved = self.survey(survey_id).await?;
        let kind = saved.survey.kind;
        let answers = self.store.survey_answers(survey_id).await?;
        let zone = self.zone();
        let scores: Vec<i64> = answers.iter().map(|a| a.score).collect();
        let mut months: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        for answer in &answers {
            let month = answer.answered_at.with_timezone(&zone).format("%Y-%m").to_string();
            months.entry(month).or_default().push(answer.score);
        }
        let by_month =
            months.into_iter().map(|(month, s)| MonthScore { month, summary: summarize(kind, &s) }).collect();
        let answering: HashSet<AccountId> = answers.iter().map(|a| AccountId(a.account_id)).collect();
        let mut by_segment = Vec::new();
        for summary in self.store.list_segments().await? {
            let segment = summary.segment;
            let members: HashSet<AccountId> = self.store.segment_member_ids(segment.id).await?.into_iter().collect();
            if members.is_disjoint(&answering) {
                continue;
            }
            let in_segment: Vec<i64> =
                answers.iter().filter(|a| members.contains(&AccountId(a.account_id))).map(|a| a.score).collect();
            by_segment.push(SegmentScore {
                segment_id: segment.id,
                name: segment.name,
                name_en: segment.name_en,
                summary: summarize(kind, &in_segment),
            });
        }
        let ids: Vec<AccountId> = answering.iter().copied().collect();
        let accounts: HashMap<AccountId, domain::account::Account> =
            self.store.accounts_by_ids(&ids).await?.into_iter().map(|a| (a.id, a)).collect();
        let rows = answers
            .iter()
            .rev()
            .map(|a| {
                let account = accounts.get(&AccountId(a.account_id));
                AnswerRow {
                    account_id: a.account_id,
                    account_name: account.map(|x| x.input.name.clone()).unwrap_or_default(),
                    arr: account.map(|x| x.figures.arr).unwrap_or_default(),
                    person: a.person.clone(),
                    score: a.score,
                    comment: a.comment.clone(),
                    channel: a.channel.clone(),
                    answered_at: a.answered_at,
                }
            })
            .collect();
        let asked = self
            .store
            .exposure_counts(survey_id)
            .await?
            .iter()
            .filter(|(o, _, _)| matches!(o, Outcome::Shown | Outcome::Emailed))
            .map(|(_, times, _)| times)
            .sum();
        Ok(SurveyResults { overall: summarize(kind, &scores), by_month, by_segment, answers: rows, asked })
    }

    /// How often each outcome happened to a message, and to how many accounts, in outcome order:
    /// the list's counts, without the goal comparison's reads of every exposed account's usage.
    pub async fn message_outcomes(&self, id: i64) -> Result<Vec<(Outcome, i64, i64)>, AppError> {
        let mut outcomes = self.store.exposure_counts(id).await?;
        outcomes.sort_by_key(|(outcome, _, _)| *outcome);
        Ok(outcomes)
    }

    /// How often a message was shown, clicked and dismissed, and whether the accounts that saw
    /// it used its goal event more than the held-out accounts in the days after.
    pub async fn message_results(&self, id: i64) -> Result<MessageResults, AppError> {
        let saved = self.message(id).await?;
        let outcomes = self.message_outcomes(id).await?;
        let goal = saved.message.goal_event.clone();
        let shown = self.goal_group(id, Outcome::Shown, goal.as_deref()).await?;
        let held = self.goal_group(id, Outcome::HeldOut, goal.as_deref()).await?;
        Ok(MessageResults { outcomes, goal_event: goal, shown, held_out: held })
    }

    async fn goal_group(&self, id: i64, outcome: Outcome, goal: Option<&str>) -> Result<GroupResult, AppError> {
        let firsts = self.store.first_exposures(id, outcome).await?;
        let zone = self.zone();
        let mut converted = 0;
        let sample: Vec<&(i64, DateTime<Utc>)> = firsts.iter().take(EFFECT_SAMPLE).collect();
        if let Some(goal) = goal {
            for (account, first) in &sample {
                let from: NaiveDate = first.with_timezone(&zone).date_naive();
                let days =
                    self.store.event_days(AccountId(*account), from, from + Duration::days(GOAL_WINDOW_DAYS)).await?;
                if days.iter().any(|d| d.event == goal && d.count > 0) {
                    converted += 1;
                }
            }
        }
        let accounts = sample.len();
        let rate = (goal.is_some() && accounts > 0).then(|| converted as f64 / accounts as f64);
        Ok(GroupResult { accounts, converted, rate })
    }

    /// Survey answers of one account, newest first, with the survey's kind and name.
    pub async fn account_survey_answers(
        &self,
        account: AccountId,
    ) -> Result<Vec<(SurveyAnswer, SavedSurvey)>, AppError> {
        let answers = self.store.account_survey_answers(account.0, 20).await?;
        let surveys: HashMap<i64, SavedSurvey> = self.surveys().await?.into_iter().map(|s| (s.id, s)).collect();
        Ok(answers.into_iter().filter_map(|a| surveys.get(&a.survey_id).cloned().map(|s| (a, s))).collect())
    }

    /// A playbook step: shows a playbook-only message to the account's users from now on.
    pub(crate) async fn enroll_in_message(&self, message_id: i64, account: AccountId) -> Result<Bilingual, AppError> {
        let saved = self.message(message_id).await?;
        let enrolled = self.store.enroll(message_id, account.0, Utc::now()).await?;
        let name = &saved.message.name;
        Ok(if enrolled {
            Bilingual::new(
                format!("アプリ内メッセージ「{name}」の表示対象にしました"),
                format!("in-app message \"{name}\" will be shown"),
            )
        } else {
            Bilingual::new(
                format!("アプリ内メッセージ「{name}」はすでに表示対象です"),
                format!("in-app message \"{name}\" was already enrolled"),
            )
        })
    }
}

/// The invitation email: the survey's question and the link, in both languages when the survey
/// has an English question, else in Japanese only (one question twice reads as a mistake).
fn invitation(survey: &Survey, account: &str, link: &str, until: NaiveDate) -> (String, String) {
    let (ja, en) = (survey.question_in(Lang::Ja), survey.question_in(Lang::En));
    let japanese = format!(
        "{account} ご担当者さま\n\n{ja}\n以下のリンクから 1 分ほどでご回答いただけます ({} まで有効)。\n{link}\n",
        domain::i18n::day_in_sentence(until, Lang::Ja),
    );
    if ja == en {
        return (ja, japanese);
    }
    let english = format!(
        "{en}\nIt takes about a minute; the link works until {}.\n{link}\n",
        domain::i18n::day_in_sentence(until, Lang::En),
    );
    (format!("{ja} / {en}"), format!("{japanese}\n---\n\n{english}"))
}

/// The person a form or query names: an email (compared in lower case) or `user:<id>`.
/// A contact's role is one the survey asks (any role when it names none).
fn role_targeted(survey: &Survey, role: Option<&str>) -> bool {
    survey.targeting.roles.is_empty()
        || role.is_some_and(|r| survey.targeting.roles.iter().any(|w| w.eq_ignore_ascii_case(r)))
}

pub fn person_key(raw: &str) -> Result<String, Reason> {
    let raw = raw.trim();
    if raw.starts_with("user:") && raw.len() <= 205 {
        return Ok(raw.to_owned());
    }
    Ok(Email::parse(raw)?.to_string().to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn survey(question_en: Option<&str>) -> Survey {
        let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let mut body = serde_json::json!({"name": "CSAT", "kind": "csat", "question": "満足していますか？"});
        if let Some(en) = question_en {
            body["question_en"] = serde_json::json!(en);
        }
        Survey::parse(body, today).unwrap()
    }

    #[test]
    fn an_invitation_is_bilingual_only_when_the_survey_has_an_english_question() {
        let until = NaiveDate::from_ymd_opt(2026, 12, 15).unwrap();
        let (subject, body) = invitation(&survey(None), "北斗商事", "https://k.example/s/x", until);
        assert_eq!(subject, "満足していますか？", "the question once, not twice");
        assert!(!body.contains("It takes about a minute") && body.matches("満足していますか？").count() == 1, "{body}");
        let (subject, body) =
            invitation(&survey(Some("Are you satisfied?")), "北斗商事", "https://k.example/s/x", until);
        assert_eq!(subject, "満足していますか？ / Are you satisfied?");
        assert!(body.contains("Are you satisfied?\nIt takes about a minute"), "{body}");
    }
}
