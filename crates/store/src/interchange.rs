//! CSV interchange of accounts, contacts and subscriptions: imports applied in one transaction
//! from the rows `import_plan` says to create or update, and exports in the import format.

use crate::{ImportCounts, Result};
use async_trait::async_trait;
use domain::interchange::accounts::AccountRecord;
use domain::interchange::contacts::ContactRecord;
use domain::interchange::subscriptions::SubscriptionRecord;

#[async_trait]
pub trait InterchangeStore: Send + Sync {
    /// Upserts accounts by external id; unknown owner emails become inactive staff users.
    async fn import_accounts(&self, records: &[AccountRecord]) -> Result<ImportCounts>;
    /// Upserts contacts by external id; every account must exist.
    async fn import_contacts(&self, records: &[ContactRecord]) -> Result<ImportCounts>;
    /// Upserts periods by (subscription id, start date); every account must exist.
    async fn import_subscriptions(&self, records: &[SubscriptionRecord]) -> Result<ImportCounts>;
    async fn export_accounts(&self) -> Result<Vec<AccountRecord>>;
    async fn export_contacts(&self) -> Result<Vec<ContactRecord>>;
    async fn export_subscriptions(&self) -> Result<Vec<SubscriptionRecord>>;
}

macro_rules! interchange_store {
    ($store:ident, $db:ident) => {
        mod interchange_sql {
            use super::{
                $db, $store, account_from_row, account_ids_of, bind_account_update, bind_contact_update, bind_period_update,
                contact_from_row, ensure_products, period_from_row, push_account_values, push_contact_values, push_period_values,
                select_in, ACCOUNT_INSERT, CONTACT_INSERT, PERIOD_INSERT,
            };
            use $crate::staff::StaffStore;
            use chrono::NaiveDate;
            use domain::account::AccountInput;
            use domain::contact::ContactInput;
            use domain::subscription::SubscriptionTerms;
            use $crate::error::Entity;
            use $crate::sql::{not_found, ACCOUNT_COLUMNS, ACCOUNTS_WITH_HEALTH, CHUNK, CONTACT_COLUMNS, PERIOD_COLUMNS};
            use $crate::{ImportCounts, Result};
            use async_trait::async_trait;
            use domain::interchange::accounts::AccountRecord;
            use domain::interchange::contacts::ContactRecord;
            use domain::interchange::subscriptions::SubscriptionRecord;
            use domain::{AccountId, ContactId, Email, ExternalId, SubscriptionPeriodId, UserId};
            use foldhash::{HashMap, HashMapExt, HashSet};
            use sqlx::{QueryBuilder, Row};

            #[async_trait]
            impl $crate::interchange::InterchangeStore for $store {
                async fn import_accounts(&self, records: &[AccountRecord]) -> Result<ImportCounts> {
                    let mut tx = self.pool.begin_with(Self::WRITE_BEGIN).await?;
                    let mut counts = ImportCounts::default();

                    let mut emails: Vec<String> = records
                        .iter()
                        .flat_map(|r| [&r.owner_email, &r.sub_owner_email, &r.sales_owner_email])
                        .flatten()
                        .map(|e| e.to_string())
                        .collect();
                    emails.sort();
                    emails.dedup();
                    let mut user_ids: HashMap<String, UserId> = HashMap::new();
                    for row in select_in(&mut *tx, "SELECT id, email FROM staff_users WHERE email IN", &emails, "text").await? {
                        user_ids.insert(row.try_get("email")?, UserId(row.try_get("id")?));
                    }
                    for email in &emails {
                        if user_ids.contains_key(email) {
                            continue;
                        }
                        let name = email.split('@').next().unwrap_or(email).to_owned();
                        let id: i64 = sqlx::query_scalar(
                            "INSERT INTO staff_users (email, name, team_id, active) VALUES ($1, $2, NULL, $3) RETURNING id",
                        )
                        .bind(email.as_str())
                        .bind(name)
                        .bind(false)
                        .fetch_one(&mut *tx)
                        .await?;
                        user_ids.insert(email.clone(), UserId(id));
                        counts.users_created.push(Email::parse(email).map_err($crate::sql::corrupt(Entity::User))?);
                    }
                    let user = |email: &Option<Email>| email.as_ref().and_then(|e| user_ids.get(e.as_str()).copied());

                    let externals: Vec<String> = records.iter().map(|r| r.external_id.to_string()).collect();
                    let prefix = format!("SELECT {ACCOUNT_COLUMNS} FROM {ACCOUNTS_WITH_HEALTH} WHERE external_id IN");
                    let mut existing: HashMap<ExternalId, (AccountId, AccountInput)> = HashMap::new();
                    for row in select_in(&mut *tx, &prefix, &externals, "text").await? {
                        let account = account_from_row(&row)?;
                        existing.insert(account.input.external_id.clone(), (account.id, account.input));
                    }

                    let rows = records.iter().map(|record| {
                        let input = AccountInput {
                            external_id: record.external_id.clone(),
                            name: record.name.clone(),
                            domain: record.domain.clone(),
                            industry: record.industry.clone(),
                            region: record.region.clone(),
                            employees: record.employees,
                            tier: record.tier.clone(),
                            touch_model: record.touch_model,
                            stage: record.stage.clone(),
                            owner_id: user(&record.owner_email),
                            sub_owner_id: user(&record.sub_owner_email),
                            sales_owner_id: user(&record.sales_owner_email),
                            created_on: record.created_on,
                            churn_reason: record.churn_reason.clone(),
                            churn_note: record.churn_note.clone(),
                            custom: record.custom.clone(),
                        };
                        (record.external_id.clone(), input)
                    });
                    let plan = $crate::import_plan::plan_import(rows, &existing);
                    for (id, input) in &plan.update {
                        bind_account_update(*id, input).execute(&mut *tx).await?;
                    }
                    for chunk in plan.create.chunks(CHUNK) {
                        let mut qb = QueryBuilder::<$db>::new(ACCOUNT_INSERT);
                        qb.push_values(chunk, |mut b, input| push_account_values(&mut b, input));
                        qb.build().execute(&mut *tx).await?;
                    }
                    (counts.created, counts.updated, counts.unchanged) = (plan.create.len(), plan.update.len(), plan.unchanged);
                    tx.commit().await?;
                    Ok(counts)
                }

                async fn import_contacts(&self, records: &[ContactRecord]) -> Result<ImportCounts> {
                    let mut tx = self.pool.begin_with(Self::WRITE_BEGIN).await?;
                    let mut counts = ImportCounts::default();
                    let account_ids = account_ids_of(&mut *tx, records.iter().map(|r| &r.account_external_id)).await?;
                    let externals: Vec<String> = records.iter().map(|r| r.external_id.to_string()).collect();
                    let prefix = format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE external_id IN");
                    let mut existing: HashMap<ExternalId, (ContactId, ContactInput)> = HashMap::new();
                    for row in select_in(&mut *tx, &prefix, &externals, "text").await? {
                        let contact = contact_from_row(&row)?;
                        existing.insert(contact.input.external_id.clone(), (contact.id, contact.input));
                    }
                    let mut rows = Vec::with_capacity(records.len());
                    for record in records {
                        let account_id = *account_ids
                            .get(record.account_external_id.as_str())
                            .ok_or_else(|| not_found(Entity::Account, &record.account_external_id))?;
                        let input = ContactInput {
                            external_id: record.external_id.clone(),
                            account_id,
                            name: record.name.clone(),
                            email: record.email.clone(),
                            role: record.role.clone(),
                            phone: record.phone.clone(),
                            is_primary: record.is_primary,
                            custom: record.custom.clone(),
                        };
                        rows.push((record.external_id.clone(), input));
                    }
                    let plan = $crate::import_plan::plan_import(rows, &existing);
                    for (id, input) in &plan.update {
                        bind_contact_update(*id, input).execute(&mut *tx).await?;
                    }
                    for chunk in plan.create.chunks(CHUNK) {
                        let mut qb = QueryBuilder::<$db>::new(CONTACT_INSERT);
                        qb.push_values(chunk, |mut b, input| push_contact_values(&mut b, input));
                        qb.build().execute(&mut *tx).await?;
                    }
                    (counts.created, counts.updated, counts.unchanged) = (plan.create.len(), plan.update.len(), plan.unchanged);
                    tx.commit().await?;
                    Ok(counts)
                }

                async fn import_subscriptions(&self, records: &[SubscriptionRecord]) -> Result<ImportCounts> {
                    let mut tx = self.pool.begin_with(Self::WRITE_BEGIN).await?;
                    let mut counts = ImportCounts::default();
                    let mut products: Vec<&str> = records.iter().map(|r| r.product.as_str()).collect();
                    products.sort();
                    products.dedup();
                    ensure_products(&mut *tx, &products).await?;
                    let account_ids = account_ids_of(&mut *tx, records.iter().map(|r| &r.account_external_id)).await?;
                    let subscription_ids: Vec<String> = records
                        .iter()
                        .map(|r| r.subscription_id.to_string())
                        .collect::<HashSet<_>>()
                        .into_iter()
                        .collect();
                    let prefix = format!("SELECT {PERIOD_COLUMNS} FROM subscription_periods WHERE subscription_id IN");
                    let mut existing: HashMap<(ExternalId, NaiveDate), (SubscriptionPeriodId, SubscriptionTerms)> = HashMap::new();
                    for row in select_in(&mut *tx, &prefix, &subscription_ids, "text").await? {
                        let period = period_from_row(&row)?;
                        existing.insert((period.terms.subscription_id.clone(), period.terms.start_date), (period.id, period.terms));
                    }
                    let mut rows = Vec::with_capacity(records.len());
                    for record in records {
                        let account_id = *account_ids
                            .get(record.account_external_id.as_str())
                            .ok_or_else(|| not_found(Entity::Account, &record.account_external_id))?;
                        rows.push(((record.subscription_id.clone(), record.start_date), record.terms(account_id)));
                    }
                    let plan = $crate::import_plan::plan_import(rows, &existing);
                    for (id, terms) in &plan.update {
                        bind_period_update(*id, terms).execute(&mut *tx).await?;
                    }
                    for chunk in plan.create.chunks(CHUNK) {
                        let mut qb = QueryBuilder::<$db>::new(PERIOD_INSERT);
                        qb.push_values(chunk, |mut b, terms| push_period_values(&mut b, terms));
                        qb.build().execute(&mut *tx).await?;
                    }
                    (counts.created, counts.updated, counts.unchanged) = (plan.create.len(), plan.update.len(), plan.unchanged);
                    tx.commit().await?;
                    Ok(counts)
                }

                async fn export_accounts(&self) -> Result<Vec<AccountRecord>> {
                    let emails: HashMap<UserId, Email> =
                        self.list_users().await?.into_iter().map(|u| (u.id, u.input.email)).collect();
                    let email = |id: Option<UserId>| id.and_then(|id| emails.get(&id).cloned());
                    let rows = sqlx::query(&format!("SELECT {ACCOUNT_COLUMNS} FROM {ACCOUNTS_WITH_HEALTH} ORDER BY external_id"))
                        .fetch_all(&self.pool)
                        .await?;
                    rows.iter()
                        .map(|row| {
                            let a = account_from_row(row)?.input;
                            Ok(AccountRecord {
                                line: 0,
                                owner_email: email(a.owner_id),
                                sub_owner_email: email(a.sub_owner_id),
                                sales_owner_email: email(a.sales_owner_id),
                                external_id: a.external_id,
                                name: a.name,
                                domain: a.domain,
                                industry: a.industry,
                                region: a.region,
                                employees: a.employees,
                                tier: a.tier,
                                touch_model: a.touch_model,
                                stage: a.stage,
                                created_on: a.created_on,
                                churn_reason: a.churn_reason,
                                churn_note: a.churn_note,
                                custom: a.custom,
                            })
                        })
                        .collect()
                }

                async fn export_contacts(&self) -> Result<Vec<ContactRecord>> {
                    let externals = self.account_externals().await?;
                    let rows = sqlx::query(&format!("SELECT {CONTACT_COLUMNS} FROM contacts ORDER BY external_id"))
                        .fetch_all(&self.pool)
                        .await?;
                    rows.iter()
                        .map(|row| {
                            let c = contact_from_row(row)?.input;
                            Ok(ContactRecord {
                                line: 0,
                                account_external_id: externals[&c.account_id].clone(),
                                external_id: c.external_id,
                                name: c.name,
                                email: c.email,
                                role: c.role,
                                phone: c.phone,
                                is_primary: c.is_primary,
                                custom: c.custom,
                            })
                        })
                        .collect()
                }

                async fn export_subscriptions(&self) -> Result<Vec<SubscriptionRecord>> {
                    let externals = self.account_externals().await?;
                    let rows = sqlx::query(&format!(
                        "SELECT {PERIOD_COLUMNS} FROM subscription_periods ORDER BY subscription_id, start_date"
                    ))
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map(|row| {
                            let t = period_from_row(row)?.terms;
                            Ok(SubscriptionRecord {
                                line: 0,
                                account_external_id: externals[&t.account_id].clone(),
                                subscription_id: t.subscription_id,
                                product: t.product,
                                plan: t.plan,
                                start_date: t.start_date,
                                end_date: t.end_date,
                                billing_interval: t.billing_interval,
                                interval_count: t.interval_count,
                                quantity: t.quantity,
                                unit_price: t.unit_price,
                                discount_percent: t.discount_percent,
                                currency: t.currency,
                                custom: t.custom,
                                commitment_months: t.commitment_months,
                            })
                        })
                        .collect()
                }
            }
        }
    };
}

pub(crate) use interchange_store;
