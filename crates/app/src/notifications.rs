//! Telling each staff user what concerns them. Changes elsewhere (a grade dropped, a task
//! assigned, an email waiting, a request's status) and a scan on every node (renewals at 90/60/30
//! days, overdue tasks, detractor answers) hand `Notice`s to `notify`, which writes one row per
//! user and notice key — so the same thing seen by several nodes or scans is told once — routed
//! by the user's choice of channels. A worker on every node claims the email and Slack copies
//! and sends them in the user's language; the inbox reads the rows.

use crate::{Actor, App, AppError};
use chrono::{DateTime, Days, NaiveDate, Utc};
use domain::account::Account;
use domain::i18n::{Bilingual, Lang};
use domain::notifications::{
    renewal_reminder, AccountNamed, Channel, DeliveryState, Notice, NotificationPreferences, PreferencesInput,
    WebhookChange,
};
use domain::{AccountId, Reason, UserId};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use store::{Notification, Routing, TaskQuery};

/// How often each node looks for email and Slack copies to send, and for digests due.
const DELIVERY_POLL: Duration = Duration::from_secs(5);
const DELIVERIES_PER_POLL: i64 = 50;
/// Digests are looked for every this many polls (once a minute): they are due by the hour.
const DIGEST_EVERY_POLLS: u64 = 12;
/// A claim older than this whose sending never finished is taken over (its node stopped).
const STALE_CLAIM_MINUTES: i64 = 10;
/// Attempts at an email or Slack copy before it is marked failed.
const MAX_ATTEMPTS: i64 = 3;
/// NPS answers this recent are told to the account's CSMs.
const DETRACTOR_LOOKBACK_DAYS: u64 = 7;
pub const INBOX_LIMIT: i64 = 200;

/// The CSMs of an account: its owner and sub-owner.
pub(crate) fn account_csms(account: &Account) -> Vec<UserId> {
    account.input.owner_id.into_iter().chain(account.input.sub_owner_id).collect()
}

pub(crate) fn named(account: &Account) -> AccountNamed<'_> {
    AccountNamed { id: account.id.0, name: &account.input.name }
}

impl App {
    /// Tells each of `users` (once per user and notice key) through the channels they chose for
    /// the notice's kind; returns how many were told.
    pub(crate) async fn notify(
        &self,
        users: impl IntoIterator<Item = UserId>,
        notice: &Notice,
    ) -> Result<usize, AppError> {
        self.notify_at(users, notice, Utc::now()).await
    }

    /// As `notify`, dated `now` (a change recorded as of an earlier moment, as the demo's are).
    async fn notify_at(
        &self,
        users: impl IntoIterator<Item = UserId>,
        notice: &Notice,
        now: DateTime<Utc>,
    ) -> Result<usize, AppError> {
        let mut told = 0;
        for user in users.into_iter().collect::<BTreeSet<_>>() {
            let preferences = self.store.notification_preferences(user).await?;
            let channels = preferences.channels_for(notice.kind);
            let routing = Routing {
                in_app: channels.contains(&Channel::InApp),
                email: channels.contains(&Channel::Email),
                slack: channels.contains(&Channel::Slack) && preferences.slack_webhook.is_some(),
            };
            if (routing.in_app || routing.email || routing.slack)
                && self.store.notify(user, notice, routing, now).await?
            {
                told += 1;
            }
        }
        Ok(told)
    }

    /// Tells (dated `at`) and logs: a notification that cannot be written never undoes the
    /// change it is about.
    pub(crate) async fn notify_quietly(
        &self,
        users: impl IntoIterator<Item = UserId>,
        notice: &Notice,
        at: DateTime<Utc>,
    ) {
        if let Err(error) = self.notify_at(users, notice, at).await {
            tracing::warn!(%error, key = notice.key, "writing a notification failed");
        }
    }

    /// The signed-in user's inbox, newest first.
    pub async fn inbox(&self, actor: &Actor, unread_only: bool) -> Result<Vec<Notification>, AppError> {
        let user = actor.user_id().ok_or(AppError::Forbidden)?;
        Ok(self.store.inbox(user, unread_only, INBOX_LIMIT).await?)
    }

    /// How many unread notifications the header's bell shows (0 for a system actor).
    pub async fn unread_notifications(&self, actor: &Actor) -> Result<i64, AppError> {
        match actor.user_id() {
            Some(user) => Ok(self.store.unread_notifications(user).await?),
            None => Ok(0),
        }
    }

    /// Marks one of the user's notifications read, or all of them (`None`); returns how many.
    pub async fn mark_notifications_read(&self, actor: &Actor, id: Option<i64>) -> Result<u64, AppError> {
        let user = actor.user_id().ok_or(AppError::Forbidden)?;
        Ok(self.store.mark_notifications_read(user, id, Utc::now()).await?)
    }

    /// The user's choices, the Slack webhook masked.
    pub async fn notification_preferences(&self, actor: &Actor) -> Result<NotificationPreferences, AppError> {
        let user = actor.user_id().ok_or(AppError::Forbidden)?;
        Ok(self.store.notification_preferences(user).await?.masked())
    }

    /// Saves the user's choices. A Slack webhook on an internal address is refused; email needs
    /// nothing more than the address the user signs in with.
    pub async fn set_notification_preferences(
        &self,
        actor: &Actor,
        input: PreferencesInput,
    ) -> Result<NotificationPreferences, AppError> {
        let user = actor.user_id().ok_or(AppError::Forbidden)?;
        let stored = self.store.notification_preferences(user).await?;
        let slack_webhook = match input.slack_webhook {
            WebhookChange::Keep => stored.slack_webhook,
            WebhookChange::Clear => None,
            WebhookChange::Set(url) => {
                let policy = self.delivery.outbound.read().unwrap_or_else(|p| p.into_inner()).clone();
                if !crate::delivery::literal_host_permitted(&policy, &url) {
                    return Err(AppError::invalid("slack_webhook", Reason::InternalAddress));
                }
                Some(url)
            }
        };
        let wants_slack = input.channels.values().any(|channels| channels.contains(&Channel::Slack));
        if wants_slack && slack_webhook.is_none() {
            return Err(AppError::invalid("slack_webhook", Reason::Required));
        }
        let preferences = NotificationPreferences {
            channels: input.channels,
            slack_webhook,
            digest: input.digest,
            digest_hour: input.digest_hour,
            language: input.language,
        };
        self.store.save_notification_preferences(user, &preferences, Utc::now()).await?;
        Ok(preferences.masked())
    }

    /// Starts this node's notification worker (once): email and Slack copies, and digests.
    pub fn start_notification_worker(self: &Arc<App>) {
        if self.delivery.notification_worker.set(()).is_err() {
            return;
        }
        let app = self.clone();
        tokio::spawn(async move {
            for poll in 0u64.. {
                if let Err(error) = app.deliver_notifications().await {
                    tracing::warn!(%error, "sending notifications failed");
                }
                if poll % DIGEST_EVERY_POLLS == 0 {
                    if let Err(error) = app.send_due_digests().await {
                        tracing::warn!(%error, "sending digests failed");
                    }
                }
                tokio::time::sleep(DELIVERY_POLL).await;
            }
        });
    }

    /// Claims and sends the email and Slack copies waiting; returns how many notifications were
    /// handled. A copy that fails is tried again on later polls, up to `MAX_ATTEMPTS`.
    pub async fn deliver_notifications(&self) -> Result<usize, AppError> {
        let now = Utc::now();
        let stale = now - chrono::Duration::minutes(STALE_CLAIM_MINUTES);
        let claimed =
            self.store.claim_outgoing_notifications(&self.delivery.node, now, stale, DELIVERIES_PER_POLL).await?;
        let count = claimed.len();
        for notification in claimed {
            let preferences = self.store.notification_preferences(notification.user_id).await?;
            let lang = preferences.language;
            let text = self.notification_text(&notification, lang);
            let mut errors = Vec::new();
            let last_try = notification.attempts + 1 >= MAX_ATTEMPTS;
            let mut settle = |state: DeliveryState, result: Result<(), String>| match (state, result) {
                (DeliveryState::Pending, Ok(())) => DeliveryState::Sent,
                (DeliveryState::Pending, Err(error)) => {
                    errors.push(error);
                    if last_try {
                        DeliveryState::Failed
                    } else {
                        DeliveryState::Pending
                    }
                }
                (state, _) => state,
            };
            let email = if notification.email == DeliveryState::Pending {
                let result = self.email_notification(&notification, &text, lang).await;
                settle(notification.email, result)
            } else {
                notification.email
            };
            let slack = if notification.slack == DeliveryState::Pending {
                let result = match &preferences.slack_webhook {
                    Some(url) => self.post_to_slack(url, &text).await.map(|_| ()).map_err(|e| e.to_string()),
                    None => Err("no Slack webhook is set".to_owned()),
                };
                settle(notification.slack, result)
            } else {
                notification.slack
            };
            let error = (!errors.is_empty()).then(|| errors.join("; "));
            self.store.finish_notification_delivery(notification.id, email, slack, error.as_deref()).await?;
        }
        Ok(count)
    }

    /// The notification as one line with its link, for email and Slack.
    fn notification_text(&self, notification: &Notification, lang: Lang) -> String {
        let link = match self.public_url() {
            Some(site) => format!("{site}{}", notification.link),
            None => notification.link.clone(),
        };
        format!("{}\n{link}", notification.title.pick(lang))
    }

    async fn email_notification(&self, notification: &Notification, text: &str, lang: Lang) -> Result<(), String> {
        let server = self.mail_server().await.map_err(|e| e.to_string())?;
        let Some(server) = server else {
            return Err(domain::playbooks::mail::MailFailure::NotConfigured.message(lang));
        };
        let user = self.store.get_user(notification.user_id).await.map_err(|e| e.to_string())?;
        let subject = format!("[Kizuna] {}", notification.title.pick(lang));
        let footer = Bilingual::new(
            "\n\n通知の設定: Kizuna の「通知」→「通知の設定」",
            "\n\nChange what you receive: Kizuna, Notifications, Notification settings",
        );
        let body = format!("{text}{}", footer.pick(lang));
        self.send_mail(&server, &[user.input.email.to_string()], &subject, &body).await.map_err(|e| e.message(lang))
    }

    /// Tells an account's CSMs of a detractor answer (0–6) given in the last week, once per
    /// answer: right after an import, and again harmlessly by the scan.
    pub(crate) async fn tell_detractor(
        &self,
        account: AccountId,
        score: i64,
        day: NaiveDate,
    ) -> Result<usize, AppError> {
        let since = self.today().checked_sub_days(Days::new(DETRACTOR_LOOKBACK_DAYS)).unwrap_or(NaiveDate::MIN);
        if score > 6 || day < since {
            return Ok(0);
        }
        let account = self.store.get_account(account).await?;
        self.notify(account_csms(&account), &Notice::detractor(&named(&account), score, day)).await
    }

    /// The daily notices: renewals reaching 90, 60 or 30 days, overdue tasks and recent
    /// detractor answers. Safe to run any number of times and on every node: each is told once.
    pub async fn scan_notifications(&self) -> Result<usize, AppError> {
        let today = self.today();
        let settings = self.settings();
        let mut told = 0;
        let accounts = self.all_accounts().await?;
        let portfolio = self.portfolio().await?;
        let told_of = |account: &&Account| !account.figures.is_churned() && !account_csms(account).is_empty();
        // The latest told is listed first: the nearest renewal goes last, so it tops the inbox.
        let mut renewing: Vec<(&Account, NaiveDate, _)> = accounts
            .iter()
            .filter(told_of)
            .filter_map(|a| {
                let renewal = a.figures.next_renewal_date?;
                Some((a, renewal, renewal_reminder((renewal - today).num_days())?))
            })
            .collect();
        renewing.sort_by(|a, b| b.1.cmp(&a.1).then(b.0.id.0.cmp(&a.0.id.0)));
        for (account, renewal, days) in renewing {
            let arr = domain::money::format_money(account.figures.arr, &settings.currency, Lang::Ja);
            let notice = Notice::renewal_approaching(&named(account), renewal, days, &arr);
            told += self.notify(account_csms(account), &notice).await?;
        }
        for account in accounts.iter().filter(told_of) {
            for (day, score) in portfolio.nps_answers(account.id) {
                told += self.tell_detractor(account.id, *score, *day).await?;
            }
        }
        let overdue = TaskQuery { overdue: true, today, limit: i64::MAX, ..TaskQuery::default() };
        let names: std::collections::HashMap<_, _> = accounts.iter().map(|a| (a.id, a)).collect();
        for task in self.store.list_tasks(&overdue).await?.items {
            let (Some(assignee), Some(due)) = (task.input.assignee_id, task.input.due_on) else { continue };
            let account = names.get(&task.input.account_id).map(|a| named(a));
            told += self
                .notify([assignee], &Notice::task_overdue(task.id, &task.input.title, account.as_ref(), due))
                .await?;
        }
        Ok(told)
    }
}
