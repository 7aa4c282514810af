//! Writes through the API: the checks that need the database (references, overlaps), and the
//! figures refresh that follows a subscription change.

use crate::{App, AppError};
use domain::account::{Account, AccountInput};
use domain::contact::{Contact, ContactInput};
use domain::subscription::{overlapping_periods, SubscriptionPeriod, SubscriptionTerms};
use domain::timeline::{TimelineEntry, TimelineEntryInput};
use domain::{
    AccountId, ContactId, FieldError, Reason, SubscriptionPeriodId, TimelineEntryId, UserId,
};
use store::StoreError;

impl App {
    pub async fn create_account(&self, input: &AccountInput) -> Result<Account, AppError> {
        self.check_owners(input).await?;
        let account = self.store.create_account(input).await?;
        self.refresh_figures(&[account.id]).await?;
        Ok(self.store.get_account(account.id).await?)
    }

    pub async fn update_account(
        &self,
        id: AccountId,
        input: &AccountInput,
    ) -> Result<Account, AppError> {
        self.store.get_account(id).await?;
        self.check_owners(input).await?;
        Ok(self.store.update_account(id, input).await?)
    }

    pub async fn create_contact(&self, input: &ContactInput) -> Result<Contact, AppError> {
        self.check_account("account_id", input.account_id).await?;
        Ok(self.store.create_contact(input).await?)
    }

    pub async fn update_contact(
        &self,
        id: ContactId,
        input: &ContactInput,
    ) -> Result<Contact, AppError> {
        self.store.get_contact(id).await?;
        self.check_account("account_id", input.account_id).await?;
        Ok(self.store.update_contact(id, input).await?)
    }

    pub async fn create_timeline_entry(
        &self,
        input: &TimelineEntryInput,
    ) -> Result<TimelineEntry, AppError> {
        self.check_timeline_refs(input).await?;
        Ok(self.store.create_timeline_entry(input).await?)
    }

    pub async fn update_timeline_entry(
        &self,
        id: TimelineEntryId,
        input: &TimelineEntryInput,
    ) -> Result<TimelineEntry, AppError> {
        self.store.get_timeline_entry(id).await?;
        self.check_timeline_refs(input).await?;
        Ok(self.store.update_timeline_entry(id, input).await?)
    }

    pub async fn create_period(
        &self,
        terms: &SubscriptionTerms,
    ) -> Result<SubscriptionPeriod, AppError> {
        self.check_period(None, terms).await?;
        let period = self.store.create_period(terms).await?;
        self.refresh_figures(&[terms.account_id]).await?;
        Ok(period)
    }

    pub async fn update_period(
        &self,
        id: SubscriptionPeriodId,
        terms: &SubscriptionTerms,
    ) -> Result<SubscriptionPeriod, AppError> {
        let before = self.store.get_period(id).await?;
        self.check_period(Some(id), terms).await?;
        let period = self.store.update_period(id, terms).await?;
        let mut touched = vec![terms.account_id];
        if before.terms.account_id != terms.account_id {
            touched.push(before.terms.account_id);
        }
        self.refresh_figures(&touched).await?;
        Ok(period)
    }

    pub async fn delete_period(&self, id: SubscriptionPeriodId) -> Result<(), AppError> {
        let period = self.store.get_period(id).await?;
        self.store.delete_period(id).await?;
        self.refresh_figures(&[period.terms.account_id]).await
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

    async fn check_timeline_refs(&self, input: &TimelineEntryInput) -> Result<(), AppError> {
        let mut errors = Vec::new();
        if !exists(self.store.get_account(input.account_id).await)? {
            errors.push(FieldError::new("account_id", Reason::UnknownAccount));
        }
        if let Some(author) = input.author_id {
            self.push_if_missing_user(&mut errors, "author_id", author)
                .await?;
        }
        finish(errors)
    }

    async fn check_period(
        &self,
        id: Option<SubscriptionPeriodId>,
        terms: &SubscriptionTerms,
    ) -> Result<(), AppError> {
        let settings = self.settings();
        let mut errors: Vec<FieldError> = terms
            .check(&settings.currency)
            .into_iter()
            .map(|(field, reason)| FieldError::new(field, reason))
            .collect();
        if !exists(self.store.get_account(terms.account_id).await)? {
            errors.push(FieldError::new("account_id", Reason::UnknownAccount));
        }
        let siblings = self
            .store
            .periods_of_subscriptions(std::slice::from_ref(&terms.subscription_id))
            .await?;
        let others: Vec<&SubscriptionTerms> = siblings
            .iter()
            .filter(|p| Some(p.id) != id)
            .map(|p| &p.terms)
            .collect();
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
                Reason::Overlaps {
                    other_start: all[other].start_date.to_string(),
                },
            ));
        }
        finish(errors)
    }

    async fn check_account(&self, field: &str, account: AccountId) -> Result<(), AppError> {
        if exists(self.store.get_account(account).await)? {
            Ok(())
        } else {
            Err(AppError::invalid(field, Reason::UnknownAccount))
        }
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
