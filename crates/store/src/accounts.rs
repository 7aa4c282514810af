//! Accounts with their derived figures, contacts and subscription periods: the records every
//! other area points at. Their row mapping and statement helpers are in `sql.rs`, shared with
//! CSV interchange.

use crate::{AccountQuery, ChildQuery, Page, Result};
use async_trait::async_trait;
use chrono::NaiveDate;
use domain::account::{Account, AccountInput};
use domain::contact::{Contact, ContactInput};
use domain::subscription::{AccountFigures, SubscriptionPeriod, SubscriptionTerms};
use domain::{AccountId, ContactId, ExternalId, SubscriptionPeriodId};
use std::collections::HashMap;

#[async_trait]
pub trait AccountStore: Send + Sync {
    async fn create_account(&self, input: &AccountInput) -> Result<Account>;
    async fn get_account(&self, id: AccountId) -> Result<Account>;
    async fn update_account(&self, id: AccountId, input: &AccountInput) -> Result<Account>;
    async fn delete_account(&self, id: AccountId) -> Result<()>;
    async fn list_accounts(&self, query: &AccountQuery) -> Result<Page<Account>>;
    /// At most `limit` accounts whose search key contains `text` (see `domain::search`), by
    /// name; none for a blank text. No total is counted: a picker asks as the user types.
    async fn search_accounts(&self, text: &str, limit: i64) -> Result<Vec<Account>>;
    async fn account_ids(&self) -> Result<Vec<AccountId>>;
    /// The ids of every account matching the query's filters (its sort and page are ignored).
    async fn matching_account_ids(&self, query: &AccountQuery) -> Result<Vec<AccountId>>;
    async fn account_ids_by_external_id(&self, ids: &[ExternalId]) -> Result<HashMap<ExternalId, AccountId>>;
    /// The accounts with these ids (those that exist), in id order.
    async fn accounts_by_ids(&self, ids: &[AccountId]) -> Result<Vec<Account>>;
    /// Stores the figures derived from subscriptions, as of `on`; clears the current health of
    /// the accounts they show churned.
    async fn save_figures(&self, figures: &[(AccountId, AccountFigures)], on: NaiveDate) -> Result<()>;
    /// The day the stored figures were computed for, if all accounts agree; `None` otherwise.
    /// The accounts whose stored figures say they have churned.
    async fn churned_accounts(&self) -> Result<std::collections::HashSet<AccountId>>;
    async fn figures_day(&self) -> Result<Option<NaiveDate>>;
    async fn create_contact(&self, input: &ContactInput) -> Result<Contact>;
    async fn get_contact(&self, id: ContactId) -> Result<Contact>;
    async fn update_contact(&self, id: ContactId, input: &ContactInput) -> Result<Contact>;
    async fn delete_contact(&self, id: ContactId) -> Result<()>;
    async fn list_contacts(&self, query: &ChildQuery) -> Result<Page<Contact>>;
    async fn create_period(&self, terms: &SubscriptionTerms) -> Result<SubscriptionPeriod>;
    async fn get_period(&self, id: SubscriptionPeriodId) -> Result<SubscriptionPeriod>;
    async fn update_period(&self, id: SubscriptionPeriodId, terms: &SubscriptionTerms) -> Result<SubscriptionPeriod>;
    async fn delete_period(&self, id: SubscriptionPeriodId) -> Result<()>;
    async fn list_periods(&self, query: &ChildQuery) -> Result<Page<SubscriptionPeriod>>;
    /// Every period of the given subscriptions (by the source system's id).
    async fn periods_of_subscriptions(&self, ids: &[ExternalId]) -> Result<Vec<SubscriptionPeriod>>;
    /// Every period of the given accounts; all periods when `accounts` is `None`.
    async fn periods_of_accounts(&self, accounts: Option<&[AccountId]>) -> Result<Vec<SubscriptionPeriod>>;
    async fn list_products(&self) -> Result<Vec<String>>;
    /// Every custom field key some account carries, in order (reads only that column).
    async fn account_custom_keys(&self) -> Result<Vec<String>>;
}

macro_rules! accounts_store {
    ($store:ident, $db:ident) => {
        mod accounts_sql {
            use super::*;

            #[async_trait]
            impl $crate::accounts::AccountStore for $store {
                async fn create_account(&self, input: &AccountInput) -> Result<Account> {
                    let mut qb = QueryBuilder::<$db>::new(ACCOUNT_INSERT);
                    qb.push_values(std::iter::once(input), |mut b, input| push_account_values(&mut b, input));
                    qb.push(" RETURNING id");
                    let id: i64 = qb
                        .build_query_scalar()
                        .fetch_one(&self.pool)
                        .await
                        .map_err(|e| StoreError::from_write(e, Entity::Account, "external_id"))?;
                    self.get_account(AccountId(id)).await
                }

                async fn get_account(&self, id: AccountId) -> Result<Account> {
                    let row = sqlx::query(&format!("SELECT {ACCOUNT_COLUMNS} FROM {ACCOUNTS_WITH_HEALTH} WHERE id = $1"))
                        .bind(id.0)
                        .fetch_optional(&self.pool)
                        .await?;
                    found(row, account_from_row, Entity::Account, id)
                }

                async fn update_account(&self, id: AccountId, input: &AccountInput) -> Result<Account> {
                    let mut tx = self.pool.begin_with(Self::WRITE_BEGIN).await?;
                    // Ingests remember accounts by external id; a new usage version makes them forget.
                    usage_sql::lock_catalog(&mut tx).await?;
                    let result = bind_account_update(id, input)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| StoreError::from_write(e, Entity::Account, "external_id"))?;
                    if result.rows_affected() == 0 {
                        return Err(not_found(Entity::Account, id));
                    }
                    tx.commit().await?;
                    self.get_account(id).await
                }

                async fn delete_account(&self, id: AccountId) -> Result<()> {
                    let mut tx = self.pool.begin_with(Self::WRITE_BEGIN).await?;
                    // Ingests remember accounts and end users' accounts; a new usage version makes them forget.
                    usage_sql::lock_catalog(&mut tx).await?;
                    let result = sqlx::query("DELETE FROM accounts WHERE id = $1").bind(id.0).execute(&mut *tx).await?;
                    if result.rows_affected() == 0 {
                        return Err(not_found(Entity::Account, id));
                    }
                    tx.commit().await?;
                    Ok(())
                }

                async fn list_accounts(&self, query: &AccountQuery) -> Result<Page<Account>> {
                    let mut count = QueryBuilder::<$db>::new(format!("SELECT COUNT(*) FROM {}", accounts_filtered_by(query)));
                    push_account_filters(&mut count, query);
                    let mut select = QueryBuilder::<$db>::new(format!("SELECT {ACCOUNT_COLUMNS} FROM {ACCOUNTS_WITH_HEALTH}"));
                    push_account_filters(&mut select, query);
                    let direction = if query.descending { "DESC" } else { "ASC" };
                    let order = match query.sort {
                        AccountSort::Name => format!(" ORDER BY name {direction}, id {direction}"),
                        AccountSort::Arr => format!(" ORDER BY arr_hundredths {direction}, id {direction}"),
                        AccountSort::RenewalDate => {
                            format!(" ORDER BY next_renewal_date {direction} NULLS LAST, id {direction}")
                        }
                        AccountSort::Updated => format!(" ORDER BY updated_at {direction}, id {direction}"),
                        AccountSort::Score => format!(" ORDER BY health_score {direction} NULLS LAST, id {direction}"),
                        AccountSort::Trend => format!(" ORDER BY health_delta_30d {direction} NULLS LAST, id {direction}"),
                        AccountSort::Id => format!(" ORDER BY id {direction}"),
                    };
                    select.push(order);
                    select.push(" LIMIT ").push_bind(query.limit).push(" OFFSET ").push_bind(query.offset);
                    // The count and the page on two connections at once: a text search scans the
                    // search keys in each, so this halves the wait on a large workspace.
                    let count = count.build_query_scalar::<i64>();
                    let (total, rows) = tokio::try_join!(count.fetch_one(&self.pool), select.build().fetch_all(&self.pool))?;
                    let items = rows.iter().map(account_from_row).collect::<Result<Vec<_>>>()?;
                    Ok(Page { items, total })
                }

                async fn search_accounts(&self, text: &str, limit: i64) -> Result<Vec<Account>> {
                    let Some(pattern) = domain::search::like_pattern(text) else {
                        return Ok(Vec::new());
                    };
                    let rows = sqlx::query(&format!(
                        "SELECT {ACCOUNT_COLUMNS} FROM {ACCOUNTS_WITH_HEALTH} WHERE id IN \
                         (SELECT id FROM accounts WHERE search_key LIKE $1 ESCAPE '\\') ORDER BY name, id LIMIT $2"
                    ))
                    .bind(pattern)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter().map(account_from_row).collect()
                }

                async fn account_ids(&self) -> Result<Vec<AccountId>> {
                    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM accounts ORDER BY id").fetch_all(&self.pool).await?;
                    Ok(ids.into_iter().map(AccountId).collect())
                }

                async fn matching_account_ids(&self, query: &AccountQuery) -> Result<Vec<AccountId>> {
                    let mut select = QueryBuilder::<$db>::new(format!("SELECT id FROM {}", accounts_filtered_by(query)));
                    push_account_filters(&mut select, query);
                    select.push(" ORDER BY id");
                    let ids: Vec<i64> = select.build_query_scalar().fetch_all(&self.pool).await?;
                    Ok(ids.into_iter().map(AccountId).collect())
                }

                async fn accounts_by_ids(&self, ids: &[AccountId]) -> Result<Vec<Account>> {
                    let mut conn = self.pool.acquire().await?;
                    let values: Vec<i64> = ids.iter().map(|id| id.0).collect();
                    let prefix = format!("SELECT {ACCOUNT_COLUMNS} FROM {ACCOUNTS_WITH_HEALTH} WHERE id IN");
                    let mut accounts =
                        select_in(&mut *conn, &prefix, &values, "bigint").await?.iter().map(account_from_row).collect::<Result<Vec<_>>>()?;
                    accounts.sort_by_key(|a| a.id);
                    Ok(accounts)
                }

                async fn account_ids_by_external_id(&self, ids: &[ExternalId]) -> Result<std::collections::HashMap<ExternalId, AccountId>> {
                    let mut conn = self.pool.acquire().await?;
                    let values: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
                    let rows = select_in(
                        &mut *conn,
                        "SELECT id, external_id FROM accounts WHERE external_id IN",
                        &values,
                        "text",
                    )
                    .await?;
                    rows.iter()
                        .map(|row| {
                            let external: String = row.try_get("external_id")?;
                            let external =
                                ExternalId::parse(&external).map_err($crate::sql::corrupt(Entity::Account))?;
                            Ok((external, AccountId(row.try_get("id")?)))
                        })
                        .collect()
                }

                async fn save_figures(&self, figures: &[(AccountId, AccountFigures)], on: NaiveDate) -> Result<()> {
                    let mut tx = self.pool.begin_with(Self::WRITE_BEGIN).await?;
                    for chunk in figures.chunks(CHUNK) {
                        let mut qb = QueryBuilder::<$db>::new(
                            "UPDATE accounts SET mrr_hundredths = v.column2, arr_hundredths = v.column3, \
                             first_paying_day = v.column4, next_renewal_date = v.column5, figures_on = v.column6, \
                             churned_on = v.column7 FROM (",
                        );
                        qb.push_values(chunk, |mut b, (id, f)| {
                            b.push_bind(id.0)
                                .push_bind(f.mrr.reported_hundredths())
                                .push_bind(f.arr.reported_hundredths())
                                .push_bind(f.first_paying_day)
                                .push_bind(f.next_renewal_date)
                                .push_bind(on)
                                .push_bind(f.churned_on);
                        });
                        qb.push(") AS v WHERE accounts.id = v.column1");
                        qb.build().execute(&mut *tx).await?;
                        // The grade totals' copy of the paying ARR; and a churned account has no current
                        // health: it leaves every grade filter and count the moment its figures say so
                        // (the health worker stores none for it).
                        let mut health = QueryBuilder::<$db>::new(
                            "UPDATE account_health SET paying_arr_hundredths = v.column2, \
                             health_score = CASE WHEN v.column3 IS NULL THEN account_health.health_score END, \
                             health_grade = CASE WHEN v.column3 IS NULL THEN account_health.health_grade END, \
                             health_delta_30d = CASE WHEN v.column3 IS NULL THEN account_health.health_delta_30d END, \
                             health_on = CASE WHEN v.column3 IS NULL THEN account_health.health_on END FROM (",
                        );
                        health.push_values(chunk, |mut b, (id, f)| {
                            let paying = f.mrr.reported_hundredths() > 0;
                            b.push_bind(id.0).push_bind(paying.then(|| f.arr.reported_hundredths())).push_bind(f.churned_on);
                        });
                        health.push(") AS v WHERE account_health.account_id = v.column1");
                        health.build().execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                    Ok(())
                }

                async fn churned_accounts(&self) -> Result<std::collections::HashSet<AccountId>> {
                    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM accounts WHERE churned_on IS NOT NULL")
                        .fetch_all(&self.pool)
                        .await?;
                    Ok(ids.into_iter().map(AccountId).collect())
                }

                async fn figures_day(&self) -> Result<Option<NaiveDate>> {
                    let row = sqlx::query(
                        "SELECT MIN(figures_on) AS earliest, MAX(figures_on) AS latest, \
                         SUM(CASE WHEN figures_on IS NULL THEN 1 ELSE 0 END) AS missing FROM accounts",
                    )
                    .fetch_one(&self.pool)
                    .await?;
                    let earliest: Option<NaiveDate> = row.try_get("earliest")?;
                    let latest: Option<NaiveDate> = row.try_get("latest")?;
                    let missing: Option<i64> = row.try_get("missing")?;
                    Ok(if missing.unwrap_or(0) == 0 && earliest == latest { earliest } else { None })
                }

                async fn create_contact(&self, input: &ContactInput) -> Result<Contact> {
                    let mut qb = QueryBuilder::<$db>::new(CONTACT_INSERT);
                    qb.push_values(std::iter::once(input), |mut b, input| push_contact_values(&mut b, input));
                    qb.push(" RETURNING id");
                    let id: i64 = qb
                        .build_query_scalar()
                        .fetch_one(&self.pool)
                        .await
                        .map_err(|e| StoreError::from_write(e, Entity::Contact, "external_id"))?;
                    Ok(Contact { id: ContactId(id), input: input.clone() })
                }

                async fn get_contact(&self, id: ContactId) -> Result<Contact> {
                    let row = sqlx::query(&format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE id = $1"))
                        .bind(id.0)
                        .fetch_optional(&self.pool)
                        .await?;
                    found(row, contact_from_row, Entity::Contact, id)
                }

                async fn update_contact(&self, id: ContactId, input: &ContactInput) -> Result<Contact> {
                    let result = bind_contact_update(id, input)
                        .execute(&self.pool)
                        .await
                        .map_err(|e| StoreError::from_write(e, Entity::Contact, "external_id"))?;
                    if result.rows_affected() == 0 {
                        return Err(not_found(Entity::Contact, id));
                    }
                    Ok(Contact { id, input: input.clone() })
                }

                async fn delete_contact(&self, id: ContactId) -> Result<()> {
                    let result = sqlx::query("DELETE FROM contacts WHERE id = $1").bind(id.0).execute(&self.pool).await?;
                    if result.rows_affected() == 0 {
                        return Err(not_found(Entity::Contact, id));
                    }
                    Ok(())
                }

                async fn list_contacts(&self, query: &ChildQuery) -> Result<Page<Contact>> {
                    let (rows, total) = list_children(&self.pool, "contacts", CONTACT_COLUMNS, "id", query).await?;
                    Ok(Page { items: rows.iter().map(contact_from_row).collect::<Result<_>>()?, total })
                }

                async fn create_period(&self, terms: &SubscriptionTerms) -> Result<SubscriptionPeriod> {
                    let mut tx = self.pool.begin_with(Self::WRITE_BEGIN).await?;
                    ensure_products(&mut *tx, &[terms.product.as_str()]).await?;
                    let mut qb = QueryBuilder::<$db>::new(PERIOD_INSERT);
                    qb.push_values(std::iter::once(terms), |mut b, terms| push_period_values(&mut b, terms));
                    qb.push(" RETURNING id");
                    let id: i64 = qb
                        .build_query_scalar()
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(|e| StoreError::from_write(e, Entity::SubscriptionPeriod, "start_date"))?;
                    tx.commit().await?;
                    Ok(SubscriptionPeriod { id: SubscriptionPeriodId(id), terms: terms.clone() })
                }

                async fn get_period(&self, id: SubscriptionPeriodId) -> Result<SubscriptionPeriod> {
                    let row = sqlx::query(&format!("SELECT {PERIOD_COLUMNS} FROM subscription_periods WHERE id = $1"))
                        .bind(id.0)
                        .fetch_optional(&self.pool)
                        .await?;
                    found(row, period_from_row, Entity::SubscriptionPeriod, id)
                }

                async fn update_period(&self, id: SubscriptionPeriodId, terms: &SubscriptionTerms) -> Result<SubscriptionPeriod> {
                    let mut tx = self.pool.begin_with(Self::WRITE_BEGIN).await?;
                    ensure_products(&mut *tx, &[terms.product.as_str()]).await?;
                    let result = bind_period_update(id, terms)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| StoreError::from_write(e, Entity::SubscriptionPeriod, "start_date"))?;
                    if result.rows_affected() == 0 {
                        return Err(not_found(Entity::SubscriptionPeriod, id));
                    }
                    tx.commit().await?;
                    Ok(SubscriptionPeriod { id, terms: terms.clone() })
                }

                async fn delete_period(&self, id: SubscriptionPeriodId) -> Result<()> {
                    let result =
                        sqlx::query("DELETE FROM subscription_periods WHERE id = $1").bind(id.0).execute(&self.pool).await?;
                    if result.rows_affected() == 0 {
                        return Err(not_found(Entity::SubscriptionPeriod, id));
                    }
                    Ok(())
                }

                async fn list_periods(&self, query: &ChildQuery) -> Result<Page<SubscriptionPeriod>> {
                    let (rows, total) = list_children(
                        &self.pool,
                        "subscription_periods",
                        PERIOD_COLUMNS,
                        "subscription_id, start_date, id",
                        query,
                    )
                    .await?;
                    Ok(Page { items: rows.iter().map(period_from_row).collect::<Result<_>>()?, total })
                }

                async fn periods_of_subscriptions(&self, ids: &[ExternalId]) -> Result<Vec<SubscriptionPeriod>> {
                    let mut conn = self.pool.acquire().await?;
                    let values: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
                    let prefix = format!("SELECT {PERIOD_COLUMNS} FROM subscription_periods WHERE subscription_id IN");
                    let rows = select_in(&mut *conn, &prefix, &values, "text").await?;
                    rows.iter().map(period_from_row).collect()
                }

                async fn periods_of_accounts(&self, accounts: Option<&[AccountId]>) -> Result<Vec<SubscriptionPeriod>> {
                    let rows = match accounts {
                        None => {
                            sqlx::query(&format!(
                                "SELECT {PERIOD_COLUMNS} FROM subscription_periods ORDER BY account_id, start_date, id"
                            ))
                            .fetch_all(&self.pool)
                            .await?
                        }
                        Some(ids) => {
                            let mut conn = self.pool.acquire().await?;
                            let values: Vec<i64> = ids.iter().map(|id| id.0).collect();
                            let prefix = format!("SELECT {PERIOD_COLUMNS} FROM subscription_periods WHERE account_id IN");
                            select_in(&mut *conn, &prefix, &values, "bigint").await?
                        }
                    };
                    rows.iter().map(period_from_row).collect()
                }

                async fn list_products(&self) -> Result<Vec<String>> {
                    Ok(sqlx::query_scalar("SELECT key FROM products ORDER BY key").fetch_all(&self.pool).await?)
                }

                async fn account_custom_keys(&self) -> Result<Vec<String>> {
                    let cells: Vec<String> = sqlx::query_scalar("SELECT DISTINCT custom FROM accounts WHERE custom <> '{}'")
                        .fetch_all(&self.pool)
                        .await?;
                    let mut keys = std::collections::BTreeSet::new();
                    for cell in &cells {
                        keys.extend($crate::sql::custom_from_json(Entity::Account, cell)?.into_keys());
                    }
                    Ok(keys.into_iter().collect())
                }
            }
        }
    };
}

pub(crate) use accounts_store;
