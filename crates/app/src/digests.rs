//! The digest email: each user who chose one gets, at their hour in the workspace time zone,
//! their accounts' grade drops, renewals in the next 30 days, their overdue tasks and onboarding
//! stuck (managers and admins: every account's); nothing is sent on a day with nothing to say.
//! One per user and period across nodes and
//! restarts: the node that claims the period's row sends it.

use crate::notifications::account_csms;
use crate::{App, AppError};
use chrono::Utc;
use domain::access::Role;
use domain::account::Account;
use domain::i18n::{Bilingual, Lang};
use domain::notifications::{day, digest_period, Digest, DigestFrequency, DigestLine, NotificationPreferences};
use domain::{AccountId, UserId};
use std::collections::HashMap;
use store::TaskQuery;

/// A failed digest is tried again after this long, at most `MAX_DIGEST_ATTEMPTS` times.
const DIGEST_RETRY_MINUTES: i64 = 10;
const MAX_DIGEST_ATTEMPTS: i64 = 3;
/// Renewals this close are listed.
const RENEWAL_DAYS: i64 = 30;

impl App {
    /// Sends the digests due now; returns how many were sent.
    pub async fn send_due_digests(&self) -> Result<usize, AppError> {
        let subscribers = self.store.digest_subscribers().await?;
        if subscribers.is_empty() {
            return Ok(0);
        }
        let local_now = Utc::now().with_timezone(&self.zone()).naive_local();
        let due: Vec<(UserId, NotificationPreferences, String)> = subscribers
            .into_iter()
            .filter_map(|(user, preferences)| {
                digest_period(preferences.digest, preferences.digest_hour, local_now)
                    .map(|period| (user, preferences, period))
            })
            .collect();
        {
            let periods: std::collections::HashSet<&String> = due.iter().map(|(_, _, period)| period).collect();
            let mut handled = self.delivery.digests_handled.lock().unwrap_or_else(|p| p.into_inner());
            handled.retain(|(_, period)| periods.contains(period));
        }
        if due.is_empty() {
            return Ok(0);
        }
        let Some(server) = self.mail_server().await? else {
            return Ok(0);
        };
        let mut sent = 0;
        let mut book: Option<Vec<Account>> = None;
        for (user, preferences, period) in due {
            let handled = (user.0, period.clone());
            if self.delivery.digests_handled.lock().unwrap_or_else(|p| p.into_inner()).contains(&handled) {
                continue;
            }
            let now = Utc::now();
            let retry_before = now - chrono::Duration::minutes(DIGEST_RETRY_MINUTES);
            if !self.store.claim_digest(user, &period, now, retry_before, MAX_DIGEST_ATTEMPTS).await? {
                // Sent, or being sent, by another node (or this one before a restart): this node
                // stops asking the database about it.
                self.delivery.digests_handled.lock().unwrap_or_else(|p| p.into_inner()).insert(handled);
                continue;
            }
            if book.is_none() {
                book = Some(self.all_accounts().await?);
            }
            let accounts = book.as_deref().unwrap_or_default();
            let result = self.send_digest(&server, user, &preferences, &period, accounts).await;
            let error = result.as_ref().err().map(|e| e.to_string());
            self.store.finish_digest(user, &period, error.as_deref(), Utc::now()).await?;
            match result {
                Ok(()) => {
                    self.delivery.digests_handled.lock().unwrap_or_else(|p| p.into_inner()).insert(handled);
                    sent += 1;
                }
                Err(error) => tracing::warn!(user = user.0, period, %error, "digest not sent"),
            }
        }
        Ok(sent)
    }

    async fn send_digest(
        &self,
        server: &domain::mail::MailServer,
        user: UserId,
        preferences: &NotificationPreferences,
        period: &str,
        accounts: &[Account],
    ) -> Result<(), AppError> {
        let staff = self.store.get_user(user).await?;
        let digest = self.digest_for(user, staff.input.role, preferences.digest, accounts).await?;
        if digest.is_empty() {
            return Ok(());
        }
        let lang = preferences.language;
        let (subject, body) = digest.email(lang, period, self.public_url().as_deref());
        self.send_mail(server, &[staff.input.email.to_string()], &subject, &body)
            .await
            .map_err(|failure| AppError::Undelivered(failure.text()))
    }

    /// What `user` reads: their accounts' (every account's for managers and admins) grade drops
    /// since the last digest, renewals in the next 30 days and onboarding stuck, and their own
    /// overdue tasks.
    pub async fn digest_for(
        &self,
        user: UserId,
        role: Role,
        frequency: DigestFrequency,
        accounts: &[Account],
    ) -> Result<Digest, AppError> {
        let everything = matches!(role, Role::Manager | Role::Admin);
        let mine: HashMap<AccountId, &Account> = accounts
            .iter()
            .filter(|a| !a.figures.is_churned() && (everything || account_csms(a).contains(&user)))
            .map(|a| (a.id, a))
            .collect();
        let today = self.today();
        let config = self.health_config().await?;
        let days = if frequency == DigestFrequency::Weekly { 7 } else { 1 };
        let link = |id: AccountId| format!("/accounts/{}", id.0);
        let grade_drops = self
            .grade_drops(days, None)
            .await?
            .into_iter()
            .filter(|drop| mine.contains_key(&AccountId(drop.account_id)))
            .map(|drop| {
                let (from, to) = (config.grade_name(&drop.from_grade), config.grade_name(&drop.to_grade));
                DigestLine {
                    text: Bilingual::new(
                        format!("{}: {} → {}", drop.name, from.ja, to.ja),
                        format!("{}: {} → {}", drop.name, from.en, to.en),
                    ),
                    link: link(AccountId(drop.account_id)),
                }
            })
            .collect();
        let currency = self.settings().currency;
        let mut renewing: Vec<&&Account> = mine
            .values()
            .filter(|a| {
                a.figures.next_renewal_date.is_some_and(|d| (0..=RENEWAL_DAYS).contains(&(d - today).num_days()))
            })
            .collect();
        renewing.sort_by_key(|a| (a.figures.next_renewal_date, a.id));
        let renewals = renewing
            .into_iter()
            .filter_map(|a| {
                let date = day(a.figures.next_renewal_date?);
                let arr = |lang| domain::money::format_money(a.figures.arr, &currency, lang);
                Some(DigestLine {
                    text: Bilingual::new(
                        format!("{}: {}（ARR {}）", a.input.name, date.ja, arr(Lang::Ja)),
                        format!("{}: {} (ARR {})", a.input.name, date.en, arr(Lang::En)),
                    ),
                    link: link(a.id),
                })
            })
            .collect();
        let query = TaskQuery { assignee: Some(user), overdue: true, today, limit: 50, ..TaskQuery::default() };
        let overdue_tasks = self
            .store
            .list_tasks(&query)
            .await?
            .items
            .into_iter()
            .map(|task| {
                let due = task.input.due_on.map_or_else(|| Bilingual::new("", ""), day);
                let name = mine.get(&task.input.account_id).map_or(String::new(), |a| a.input.name.clone());
                DigestLine {
                    text: Bilingual::new(
                        format!("{}（{name}、期限 {}）", task.input.title, due.ja),
                        format!("{} ({name}, due {})", task.input.title, due.en),
                    ),
                    link: link(task.input.account_id),
                }
            })
            .collect();
        let milestone_names: HashMap<String, Bilingual> = self
            .onboarding_templates()
            .await?
            .into_iter()
            .flat_map(|t| t.definition.milestones)
            .map(|m| (m.key, Bilingual::new(m.name_ja, m.name_en)))
            .collect();
        let stuck_onboarding = self
            .overdue_milestones(today)
            .await?
            .into_iter()
            .filter_map(|overdue| {
                let account = mine.get(&overdue.account)?;
                let key = &overdue.milestone_key;
                let name = milestone_names.get(key).cloned().unwrap_or_else(|| Bilingual::new(key, key));
                let due = day(overdue.due_on);
                Some(DigestLine {
                    text: Bilingual::new(
                        format!("{}: {}（予定 {}）", account.input.name, name.ja, due.ja),
                        format!("{}: {} (due {})", account.input.name, name.en, due.en),
                    ),
                    link: link(overdue.account),
                })
            })
            .collect();
        Ok(Digest { grade_drops, renewals, overdue_tasks, stuck_onboarding })
    }
}
