//! Writes to customer and staff data: who may make them (CSMs only on the accounts they own or
//! sub-own), the checks that need the database (references, overlaps), the audit entry each
//! write leaves, and the figures refresh after a subscription change.

use crate::{Actor, App, AppError};
use domain::access::Role;
use domain::account::{Account, AccountInput};
use domain::contact::{Contact, ContactInput};
use domain::staff::{StaffUser, StaffUserInput, Team, TeamInput};
use domain::subscription::{overlapping_periods, SubscriptionPeriod, SubscriptionTerms};
use domain::timeline::{TimelineEntry, TimelineEntryInput, TimelineEvent, TimelineKind};
use domain::{AccountId, ContactId, FieldError, Reason, SubscriptionPeriodId, TeamId, TimelineEntryId, UserId};
use engine::Change;
use store::StoreError;

/// Managers and admins edit every account; a CSM only those they own or sub-own.
pub(crate) fn require_account_edit(actor: &Actor, account: &AccountInput) -> Result<(), AppError> {
    let me = actor.user_id();
    let mine = me.is_some() && (account.owner_id == me || account.sub_owner_id == me);
    match actor.role() {
        Role::Admin | Role::Manager => Ok(()),
        Role::Csm if mine => Ok(()),
        _ => Err(AppError::Forbidden),
    }
}

impl App {
    /// Whether the actor may change this account (its timeline, pulse, fields): pages offer
    /// their forms only then.
    pub fn may_edit_account(&self, actor: &Actor, account: &AccountInput) -> bool {
        require_account_edit(actor, account).is_ok()
    }

    pub async fn account(&self, id: AccountId) -> Result<Account, AppError> {
        Ok(self.store.get_account(id).await?)
    }

    /// Every team, by name.
    pub async fn teams(&self) -> Result<Vec<Team>, AppError> {
        Ok(self.store.list_teams().await?)
    }

    pub async fn staff_user(&self, id: UserId) -> Result<StaffUser, AppError> {
        Ok(self.store.get_user(id).await?)
    }

    /// Every staff user, for names and pickers.
    pub async fn staff_users(&self) -> Result<Vec<StaffUser>, AppError> {
        Ok(self.store.list_users().await?)
    }

    /// A page of accounts, filtered and sorted.
    pub async fn accounts(&self, query: &store::AccountQuery) -> Result<store::Page<Account>, AppError> {
        Ok(self.store.list_accounts(query).await?)
    }

    /// Kizuna's ids of the accounts with these external ids (unknown ones are left out).
    pub async fn account_ids(
        &self,
        externals: &[domain::ExternalId],
    ) -> Result<std::collections::HashMap<domain::ExternalId, AccountId>, AppError> {
        Ok(self.store.account_ids_by_external_id(externals).await?)
    }

    pub async fn contacts(&self, query: &store::ChildQuery) -> Result<store::Page<Contact>, AppError> {
        Ok(self.store.list_contacts(query).await?)
    }

    pub async fn contact(&self, id: ContactId) -> Result<Contact, AppError> {
        Ok(self.store.get_contact(id).await?)
    }

    pub async fn periods(&self, query: &store::ChildQuery) -> Result<store::Page<SubscriptionPeriod>, AppError> {
        Ok(self.store.list_periods(query).await?)
    }

    pub async fn period(&self, id: SubscriptionPeriodId) -> Result<SubscriptionPeriod, AppError> {
        Ok(self.store.get_period(id).await?)
    }

    /// Every product name subscriptions use.
    pub async fn products(&self) -> Result<Vec<String>, AppError> {
        Ok(self.store.list_products().await?)
    }

    pub async fn timeline(&self, query: &store::TimelineQuery) -> Result<store::Page<TimelineEntry>, AppError> {
        Ok(self.store.list_timeline(query).await?)
    }

    pub async fn timeline_entry(&self, id: TimelineEntryId) -> Result<TimelineEntry, AppError> {
        Ok(self.store.get_timeline_entry(id).await?)
    }

    pub async fn team(&self, id: TeamId) -> Result<Team, AppError> {
        Ok(self.store.get_team(id).await?)
    }

    pub async fn user_by_email(&self, email: &domain::Email) -> Result<Option<StaffUser>, AppError> {
        Ok(self.store.user_by_email(email).await?)
    }

    /// Whether the database answers: for health checks.
    pub async fn database_reachable(&self) -> Result<(), AppError> {
        self.store.load_settings().await?;
        Ok(())
    }

    /// The account list views a user saved.
    pub async fn saved_views(&self, user: UserId) -> Result<Vec<store::SavedView>, AppError> {
        Ok(self.store.saved_views(user).await?)
    }

    pub async fn save_view(&self, user: UserId, name: &str, query: &str) -> Result<store::SavedView, AppError> {
        Ok(self.store.save_view(user, name, query).await?)
    }

    pub async fn delete_view(&self, user: UserId, id: i64) -> Result<(), AppError> {
        Ok(self.store.delete_view(user, id).await?)
    }

    /// The account's latest NPS answers and support tickets, newest first.
    pub async fn customer_voice(
        &self,
        id: AccountId,
        limit: i64,
    ) -> Result<(Vec<domain::interchange::nps::NpsRecord>, Vec<domain::interchange::tickets::TicketRecord>), AppError>
    {
        Ok((self.store.recent_nps(id, limit).await?, self.store.recent_tickets(id, limit).await?))
    }

    pub(crate) async fn editable_account(&self, actor: &Actor, id: AccountId) -> Result<Account, AppError> {
        let account = match self.store.get_account(id).await {
            Err(StoreError::NotFound { .. }) => return Err(AppError::invalid("account_id", Reason::UnknownAccount)),
            other => other?,
        };
        require_account_edit(actor, &account.input)?;
        Ok(account)
    }

    pub async fn create_account(&self, actor: &Actor, input: &AccountInput) -> Result<Account, AppError> {
        require_account_edit(actor, input)?;
        self.check_owners(input).await?;
        let account = self.store.create_account(input).await?;
        self.refresh_figures(&[account.id]).await?;
        self.record_change(actor, "create", "account", &account.id.to_string(), None, Some(&account.input)).await?;
        Ok(self.store.get_account(account.id).await?)
    }

    pub async fn update_account(
        &self,
        actor: &Actor,
        id: AccountId,
        input: &AccountInput,
    ) -> Result<Account, AppError> {
        let before = self.store.get_account(id).await?;
        require_account_edit(actor, &before.input)?;
        self.check_owners(input).await?;
        let account = self.store.update_account(id, input).await?;
        self.record_change(actor, "update", "account", &id.to_string(), Some(&before.input), Some(&account.input))
            .await?;
        if before.input.stage != account.input.stage {
            let event =
                TimelineEvent::StageChanged { from: before.input.stage.clone(), to: account.input.stage.clone() };
            let entry = TimelineEntryInput::recorded(id, actor.user_id(), chrono::Utc::now(), event);
            self.store.create_timeline_entry(&entry).await?;
        }
        // Tier and touch model pick the scorecard, and segment rules read every field.
        self.data_changed(&[Change::everything(id)]).await?;
        Ok(account)
    }

    pub async fn delete_account(&self, actor: &Actor, id: AccountId) -> Result<(), AppError> {
        let before = self.store.get_account(id).await?;
        require_account_edit(actor, &before.input)?;
        self.store.delete_account(id).await?;
        self.forget_derived_from_subscriptions();
        self.data_changed(&[Change::everything(id)]).await?;
        self.record_change(actor, "delete", "account", &id.to_string(), Some(&before.input), None).await
    }

    pub async fn create_contact(&self, actor: &Actor, input: &ContactInput) -> Result<Contact, AppError> {
        self.editable_account(actor, input.account_id).await?;
        let contact = self.store.create_contact(input).await?;
        self.record_change(actor, "create", "contact", &contact.id.to_string(), None, Some(&contact.input)).await?;
        Ok(contact)
    }

    pub async fn update_contact(
        &self,
        actor: &Actor,
        id: ContactId,
        input: &ContactInput,
    ) -> Result<Contact, AppError> {
        let before = self.store.get_contact(id).await?;
        self.editable_account(actor, before.input.account_id).await?;
        self.editable_account(actor, input.account_id).await?;
        let contact = self.store.update_contact(id, input).await?;
        self.record_change(actor, "update", "contact", &id.to_string(), Some(&before.input), Some(&contact.input))
            .await?;
        Ok(contact)
    }

    pub async fn delete_contact(&self, actor: &Actor, id: ContactId) -> Result<(), AppError> {
        let before = self.store.get_contact(id).await?;
        self.editable_account(actor, before.input.account_id).await?;
        self.store.delete_contact(id).await?;
        self.record_change(actor, "delete", "contact", &id.to_string(), Some(&before.input), None).await
    }

    /// Adds a timeline entry; the acting user is its author. Entries of kind `system` are
    /// Kizuna's own (playbooks, task outcomes): staff cannot write them.
    pub async fn create_timeline_entry(
        &self,
        actor: &Actor,
        input: &TimelineEntryInput,
    ) -> Result<TimelineEntry, AppError> {
        let mut input = input.clone();
        if let Some(me) = actor.user_id() {
            check_staff_entry(me, &input)?;
            input.author_id = Some(me);
        }
        self.editable_account(actor, input.account_id).await?;
        self.check_author(&input).await?;
        let entry = self.store.create_timeline_entry(&input).await?;
        self.record_change(actor, "create", "timeline_entry", &entry.id.to_string(), None, Some(&entry.input)).await?;
        Ok(entry)
    }

    pub async fn update_timeline_entry(
        &self,
        actor: &Actor,
        id: TimelineEntryId,
        input: &TimelineEntryInput,
    ) -> Result<TimelineEntry, AppError> {
        let before = self.store.get_timeline_entry(id).await?;
        self.editable_account(actor, before.input.account_id).await?;
        self.editable_account(actor, input.account_id).await?;
        let mut input = input.clone();
        if actor.user_id().is_some() {
            if before.input.kind == TimelineKind::System || input.kind == TimelineKind::System {
                return Err(AppError::invalid("kind", Reason::ReservedForSystem));
            }
            if input.author_id.is_some_and(|author| Some(author) != before.input.author_id) {
                return Err(AppError::invalid("author_id", Reason::MustBeYourself));
            }
            input.author_id = before.input.author_id;
        }
        self.check_author(&input).await?;
        let entry = self.store.update_timeline_entry(id, &input).await?;
        self.record_change(actor, "update", "timeline_entry", &id.to_string(), Some(&before.input), Some(&entry.input))
            .await?;
        Ok(entry)
    }

    pub async fn delete_timeline_entry(&self, actor: &Actor, id: TimelineEntryId) -> Result<(), AppError> {
        let before = self.store.get_timeline_entry(id).await?;
        self.editable_account(actor, before.input.account_id).await?;
        self.store.delete_timeline_entry(id).await?;
        self.record_change(actor, "delete", "timeline_entry", &id.to_string(), Some(&before.input), None).await
    }

    pub async fn create_period(
        &self,
        actor: &Actor,
        terms: &SubscriptionTerms,
    ) -> Result<SubscriptionPeriod, AppError> {
        self.check_period(actor, None, terms).await?;
        let period = self.store.create_period(terms).await?;
        self.refresh_figures(&[terms.account_id]).await?;
        self.record_change(actor, "create", "subscription_period", &period.id.to_string(), None, Some(&period.terms))
            .await?;
        Ok(period)
    }

    pub async fn update_period(
        &self,
        actor: &Actor,
        id: SubscriptionPeriodId,
        terms: &SubscriptionTerms,
    ) -> Result<SubscriptionPeriod, AppError> {
        let before = self.store.get_period(id).await?;
        self.editable_account(actor, before.terms.account_id).await?;
        self.check_period(actor, Some(id), terms).await?;
        let period = self.store.update_period(id, terms).await?;
        let mut touched = vec![terms.account_id];
        if before.terms.account_id != terms.account_id {
            touched.push(before.terms.account_id);
        }
        self.refresh_figures(&touched).await?;
        self.record_change(
            actor,
            "update",
            "subscription_period",
            &id.to_string(),
            Some(&before.terms),
            Some(&period.terms),
        )
        .await?;
        Ok(period)
    }

    pub async fn delete_period(&self, actor: &Actor, id: SubscriptionPeriodId) -> Result<(), AppError> {
        let before = self.store.get_period(id).await?;
        self.editable_account(actor, before.terms.account_id).await?;
        self.store.delete_period(id).await?;
        self.refresh_figures(&[before.terms.account_id]).await?;
        self.record_change(actor, "delete", "subscription_period", &id.to_string(), Some(&before.terms), None).await
    }

    pub async fn create_user(&self, actor: &Actor, input: &StaffUserInput) -> Result<StaffUser, AppError> {
        self.check_team(input).await?;
        let user = self.store.create_user(input).await?;
        self.record_change(actor, "create", "staff_user", &user.id.to_string(), None, Some(&user.input)).await?;
        Ok(user)
    }

    pub async fn update_user(&self, actor: &Actor, id: UserId, input: &StaffUserInput) -> Result<StaffUser, AppError> {
        let before = self.store.get_user(id).await?;
        self.check_team(input).await?;
        let user = self.store.update_user(id, input).await?;
        if !input.active {
            self.store.delete_sessions_of(id).await?;
        }
        self.record_change(actor, "update", "staff_user", &id.to_string(), Some(&before.input), Some(&user.input))
            .await?;
        Ok(user)
    }

    pub async fn delete_user(&self, actor: &Actor, id: UserId) -> Result<(), AppError> {
        let before = self.store.get_user(id).await?;
        self.store.delete_user(id).await?;
        self.record_change(actor, "delete", "staff_user", &id.to_string(), Some(&before.input), None).await
    }

    pub async fn create_team(&self, actor: &Actor, input: &TeamInput) -> Result<Team, AppError> {
        let team = self.store.create_team(input).await?;
        self.record_change(actor, "create", "team", &team.id.to_string(), None, Some(input)).await?;
        Ok(team)
    }

    pub async fn update_team(&self, actor: &Actor, id: TeamId, input: &TeamInput) -> Result<Team, AppError> {
        let before = self.store.get_team(id).await?;
        let team = self.store.update_team(id, input).await?;
        self.record_change(
            actor,
            "update",
            "team",
            &id.to_string(),
            Some(&TeamInput { name: before.name }),
            Some(input),
        )
        .await?;
        Ok(team)
    }

    pub async fn delete_team(&self, actor: &Actor, id: TeamId) -> Result<(), AppError> {
        let before = self.store.get_team(id).await?;
        self.store.delete_team(id).await?;
        self.record_change(actor, "delete", "team", &id.to_string(), Some(&TeamInput { name: before.name }), None).await
    }

    pub(crate) async fn check_team(&self, input: &StaffUserInput) -> Result<(), AppError> {
        match input.team_id {
            Some(team) if !exists(self.store.get_team(team).await)? => {
                Err(AppError::invalid("team_id", Reason::UnknownReference))
            }
            _ => Ok(()),
        }
    }

    async fn check_owners(&self, input: &AccountInput) -> Result<(), AppError> {
        let mut errors = Vec::new();
        for (field, user) in [
            ("owner_id", input.owner_id),
            ("sub_owner_id", input.sub_owner_id),
            ("sales_owner_id", input.sales_owner_id),
        ] {
            if let Some(user) = user {
                self.push_if_missing_user(&mut errors, field, user).await?;
            }
        }
        finish(errors)
    }

    async fn check_author(&self, input: &TimelineEntryInput) -> Result<(), AppError> {
        let mut errors = Vec::new();
        if let Some(author) = input.author_id {
            self.push_if_missing_user(&mut errors, "author_id", author).await?;
        }
        finish(errors)
    }

    async fn check_period(
        &self,
        actor: &Actor,
        id: Option<SubscriptionPeriodId>,
        terms: &SubscriptionTerms,
    ) -> Result<(), AppError> {
        self.editable_account(actor, terms.account_id).await?;
        let settings = self.settings();
        let mut errors: Vec<FieldError> =
            terms.check(&settings.currency).into_iter().map(|(field, reason)| FieldError::new(field, reason)).collect();
        let siblings = self.store.periods_of_subscriptions(std::slice::from_ref(&terms.subscription_id)).await?;
        let others: Vec<&SubscriptionTerms> = siblings.iter().filter(|p| Some(p.id) != id).map(|p| &p.terms).collect();
        let mut all = vec![terms];
        all.extend(others);
        for (later, earlier) in overlapping_periods(&all) {
            let other = if later == 0 {
                earlier
            } else if earlier == 0 {
                later
            } else {
                continue;
            };
            errors.push(FieldError::new(
                "start_date",
                Reason::Overlaps { other_start: all[other].start_date.to_string() },
            ));
        }
        finish(errors)
    }

    async fn push_if_missing_user(
        &self,
        errors: &mut Vec<FieldError>,
        field: &str,
        user: UserId,
    ) -> Result<(), AppError> {
        if !exists(self.store.get_user(user).await)? {
            errors.push(FieldError::new(field, Reason::UnknownReference));
        }
        Ok(())
    }
}

fn exists<T>(lookup: Result<T, StoreError>) -> Result<bool, AppError> {
    match lookup {
        Ok(_) => Ok(true),
        Err(StoreError::NotFound { .. }) => Ok(false),
        Err(other) => Err(other.into()),
    }
}

fn finish(errors: Vec<FieldError>) -> Result<(), AppError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Invalid(errors))
    }
}

/// What a staff user may write on a timeline: not Kizuna's own `system` entries, and only as
/// themselves.
fn check_staff_entry(me: domain::UserId, input: &TimelineEntryInput) -> Result<(), AppError> {
    if input.kind == TimelineKind::System {
        return Err(AppError::invalid("kind", Reason::ReservedForSystem));
    }
    if input.author_id.is_some_and(|author| author != me) {
        return Err(AppError::invalid("author_id", Reason::MustBeYourself));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::staff::StaffUser;
    use domain::{Email, ExternalId};

    fn actor(id: i64, role: Role) -> Actor {
        let input = StaffUserInput {
            email: Email::parse("a@k.example").unwrap(),
            name: "A".into(),
            team_id: None,
            role,
            active: true,
        };
        Actor::Staff { user: StaffUser { id: UserId(id), input }, token: None }
    }

    fn account(owner: Option<i64>, sub_owner: Option<i64>) -> AccountInput {
        AccountInput {
            owner_id: owner.map(UserId),
            sub_owner_id: sub_owner.map(UserId),
            ..AccountInput::new(ExternalId::parse("A").unwrap(), "A")
        }
    }

    #[test]
    fn csm_edits_only_accounts_they_own_or_sub_own() {
        assert!(require_account_edit(&actor(7, Role::Csm), &account(Some(7), None)).is_ok());
        assert!(require_account_edit(&actor(7, Role::Csm), &account(Some(1), Some(7))).is_ok());
        assert!(matches!(
            require_account_edit(&actor(7, Role::Csm), &account(Some(1), None)),
            Err(AppError::Forbidden)
        ));
        assert!(require_account_edit(&actor(9, Role::Manager), &account(Some(1), None)).is_ok());
        assert!(matches!(
            require_account_edit(&actor(9, Role::Viewer), &account(Some(9), None)),
            Err(AppError::Forbidden)
        ));
    }
}
