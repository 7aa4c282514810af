//! Onboarding templates, plans and their milestones. At most one open plan per account (a
//! partial unique index), so automatic starts racing on several app nodes start one plan; a
//! milestone or plan completes with a conditional update, so it completes once.

use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use domain::AccountId;
use serde::Serialize;
use std::collections::HashSet;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct StoredTemplate {
    pub id: i64,
    pub name: String,
    /// The definition as JSON (`domain::onboarding::OnboardingTemplate`).
    pub definition: String,
    pub is_default: bool,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct StoredMilestone {
    pub key: String,
    pub completed_on: Option<NaiveDate>,
    /// `rule`, `manual`, or the email of the person who completed it.
    pub completed_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct StoredPlan {
    pub id: i64,
    #[schema(value_type = i64)]
    pub account_id: AccountId,
    pub template_id: i64,
    pub started_on: NaiveDate,
    pub completed_on: Option<NaiveDate>,
    /// `first_paying_day` or `manual`.
    pub started_by: String,
    pub milestones: Vec<StoredMilestone>,
}

#[async_trait]
pub trait OnboardingStore: Send + Sync {
    /// Templates by name.
    async fn onboarding_templates(&self) -> Result<Vec<StoredTemplate>>;
    async fn onboarding_template(&self, id: i64) -> Result<StoredTemplate>;
    /// Creates (`id` None) or replaces a template; names are unique, and a default template
    /// makes every other one not the default (in the same transaction).
    async fn save_onboarding_template(
        &self,
        id: Option<i64>,
        name: &str,
        definition: &str,
        is_default: bool,
        now: DateTime<Utc>,
    ) -> Result<StoredTemplate>;
    /// Deletes a template with its plans.
    async fn delete_onboarding_template(&self, id: i64) -> Result<()>;

    /// Starts a plan of the template on its day for each account, with these milestone keys, all
    /// open, in one transaction; returns the plans started (an account that already has an open
    /// plan gets none).
    async fn start_onboarding_plans(
        &self,
        starts: &[(AccountId, NaiveDate)],
        template_id: i64,
        started_by: &str,
        milestone_keys: &[String],
    ) -> Result<Vec<StoredPlan>>;
    /// The plans of these accounts (every plan when `None`) with their milestones, newest first.
    async fn onboarding_plans(&self, accounts: Option<&[AccountId]>) -> Result<Vec<StoredPlan>>;
    /// The open plans of these accounts (every open plan when `None`), as `onboarding_plans`.
    async fn open_onboarding_plans(&self, accounts: Option<&[AccountId]>) -> Result<Vec<StoredPlan>>;
    /// Which of these accounts (of all when `None`) have had a plan, open or complete.
    async fn accounts_with_onboarding_plans(&self, accounts: Option<&[AccountId]>) -> Result<HashSet<AccountId>>;
    async fn onboarding_plan(&self, id: i64) -> Result<StoredPlan>;
    /// Marks these open milestones done; returns the keys this call completed (not ones already done).
    async fn complete_milestones(&self, plan_id: i64, keys: &[String], on: NaiveDate, by: &str) -> Result<Vec<String>>;
    /// Marks an open plan complete; false when it was already complete.
    async fn complete_onboarding_plan(&self, plan_id: i64, on: NaiveDate) -> Result<bool>;
}

macro_rules! onboarding_store {
    ($store:ident, $db:ident) => {
        mod onboarding_sql {
            use super::{$db, $store};
            use $crate::sql::{found, not_found};
            use $crate::error::{Entity, StoreError};
            use $crate::onboarding::{OnboardingStore, StoredMilestone, StoredPlan, StoredTemplate};
            use $crate::Result;
            use chrono::{DateTime, NaiveDate, Utc};
            use domain::AccountId;
            use sqlx::{FromRow, QueryBuilder, Row};
            use std::collections::HashMap;

            type DbRow = <$db as sqlx::Database>::Row;

            /// Beyond this many accounts a read of every plan, filtered here, costs less than
            /// binding their ids.
            const ACCOUNTS_LISTED: usize = 500;

            const TEMPLATE_COLUMNS: &str = "SELECT id, name, definition, is_default, updated_at FROM onboarding_templates";

            fn template_from_row(row: &DbRow) -> Result<StoredTemplate> {
                Ok(StoredTemplate::from_row(row)?)
            }

            impl $store {
                /// Plans of some accounts (read whole and filtered beyond `ACCOUNTS_LISTED`), or one
                /// plan; only the open ones when `open_only` (most of a mature book's plans are
                /// complete).
                async fn plans_where(
                    &self,
                    accounts: Option<&[AccountId]>,
                    plan: Option<i64>,
                    open_only: bool,
                ) -> Result<Vec<StoredPlan>> {
                    let listed = accounts.filter(|ids| ids.len() <= ACCOUNTS_LISTED);
                    let filtered: Option<std::collections::HashSet<AccountId>> =
                        accounts.filter(|ids| ids.len() > ACCOUNTS_LISTED).map(|ids| ids.iter().copied().collect());
                    if listed.is_some_and(|ids| ids.is_empty()) {
                        return Ok(Vec::new());
                    }
                    let push_accounts = |qb: &mut QueryBuilder<'_, $db>, column: &str| {
                        if let Some(ids) = listed {
                            qb.push(format!(" AND {column} IN ("));
                            let mut each = qb.separated(", ");
                            for id in ids {
                                each.push_bind(id.0);
                            }
                            qb.push(")");
                        }
                    };
                    let mut qb = QueryBuilder::<$db>::new(
                        "SELECT id, account_id, template_id, started_on, completed_on, started_by FROM onboarding_plans WHERE 1 = 1",
                    );
                    push_accounts(&mut qb, "account_id");
                    if let Some(plan) = plan {
                        qb.push(" AND id = ").push_bind(plan);
                    }
                    if open_only {
                        qb.push(" AND completed_on IS NULL");
                    }
                    qb.push(" ORDER BY started_on DESC, id DESC");
                    let rows = qb.build().fetch_all(&self.pool).await?;
                    let mut plans = Vec::with_capacity(rows.len());
                    for row in &rows {
                        plans.push(StoredPlan {
                            id: row.try_get("id")?,
                            account_id: AccountId(row.try_get("account_id")?),
                            template_id: row.try_get("template_id")?,
                            started_on: row.try_get("started_on")?,
                            completed_on: row.try_get("completed_on")?,
                            started_by: row.try_get("started_by")?,
                            milestones: Vec::new(),
                        });
                    }
                    let mut qb = QueryBuilder::<$db>::new(
                        "SELECT m.plan_id, m.key, m.completed_on, m.completed_by FROM onboarding_milestones m \
                         JOIN onboarding_plans p ON p.id = m.plan_id WHERE 1 = 1",
                    );
                    push_accounts(&mut qb, "p.account_id");
                    if open_only {
                        qb.push(" AND p.completed_on IS NULL");
                    }
                    if let Some(plan) = plan {
                        // On the milestones' own key: filtering on the joined plan's id lets
                        // SQLite scan every milestone in key order.
                        qb.push(" AND m.plan_id = ").push_bind(plan);
                    }
                    qb.push(" ORDER BY m.plan_id, m.key");
                    let mut by_plan: HashMap<i64, Vec<StoredMilestone>> = HashMap::new();
                    for row in qb.build().fetch_all(&self.pool).await? {
                        by_plan.entry(row.try_get("plan_id")?).or_default().push(StoredMilestone {
                            key: row.try_get("key")?,
                            completed_on: row.try_get("completed_on")?,
                            completed_by: row.try_get("completed_by")?,
                        });
                    }
                    for plan in &mut plans {
                        plan.milestones = by_plan.remove(&plan.id).unwrap_or_default();
                    }
                    if let Some(wanted) = filtered {
                        plans.retain(|p| wanted.contains(&p.account_id));
                    }
                    Ok(plans)
                }
            }

            #[async_trait::async_trait]
            impl OnboardingStore for $store {
                async fn onboarding_templates(&self) -> Result<Vec<StoredTemplate>> {
                    let rows = sqlx::query(&format!("{TEMPLATE_COLUMNS} ORDER BY name")).fetch_all(&self.pool).await?;
                    rows.iter().map(template_from_row).collect()
                }

                async fn onboarding_template(&self, id: i64) -> Result<StoredTemplate> {
                    let row = sqlx::query(&format!("{TEMPLATE_COLUMNS} WHERE id = $1"))
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await?;
                    found(row, template_from_row, Entity::OnboardingTemplate, id)
                }

                async fn save_onboarding_template(
                    &self,
                    id: Option<i64>,
                    name: &str,
                    definition: &str,
                    is_default: bool,
                    now: DateTime<Utc>,
                ) -> Result<StoredTemplate> {
                    let conflict = |e| StoreError::from_write(e, Entity::OnboardingTemplate, "name");
                    let mut tx = self.pool.begin_with($store::WRITE_BEGIN).await?;
                    let id = match id {
                        Some(id) => {
                            let done = sqlx::query(
                                "UPDATE onboarding_templates SET name = $1, definition = $2, is_default = $3, \
                                 updated_at = $4 WHERE id = $5",
                            )
                            .bind(name)
                            .bind(definition)
                            .bind(is_default)
                            .bind(now)
                            .bind(id)
                            .execute(&mut *tx)
                            .await
                            .map_err(conflict)?;
                            if done.rows_affected() == 0 {
                                return Err(StoreError::NotFound {
                                    entity: Entity::OnboardingTemplate,
                                    id: id.to_string(),
                                });
                            }
                            id
                        }
                        None => sqlx::query_scalar(
                            "INSERT INTO onboarding_templates (name, definition, is_default, updated_at) \
                             VALUES ($1, $2, $3, $4) RETURNING id",
                        )
                        .bind(name)
                        .bind(definition)
                        .bind(is_default)
                        .bind(now)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(conflict)?,
                    };
                    if is_default {
                        sqlx::query("UPDATE onboarding_templates SET is_default = $1 WHERE id <> $2")
                            .bind(false)
                            .bind(id)
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await?;
                    self.onboarding_template(id).await
                }

                async fn delete_onboarding_template(&self, id: i64) -> Result<()> {
                    let done = sqlx::query("DELETE FROM onboarding_templates WHERE id = $1")
                        .bind(id)
                        .execute(&self.pool)
                        .await?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound { entity: Entity::OnboardingTemplate, id: id.to_string() });
                    }
                    Ok(())
                }

                async fn start_onboarding_plans(
                    &self,
                    starts: &[(AccountId, NaiveDate)],
                    template_id: i64,
                    started_by: &str,
                    milestone_keys: &[String],
                ) -> Result<Vec<StoredPlan>> {
                    let mut tx = self.pool.begin_with($store::WRITE_BEGIN).await?;
                    let mut started: Vec<(i64, i64)> = Vec::new();
                    for chunk in starts.chunks($crate::sql::CHUNK) {
                        let mut qb = QueryBuilder::<$db>::new("INSERT INTO onboarding_plans (account_id, template_id, started_on, started_by) ");
                        qb.push_values(chunk, |mut b, (account, started_on)| {
                            b.push_bind(account.0).push_bind(template_id).push_bind(*started_on).push_bind(started_by);
                        });
                        qb.push(" ON CONFLICT (account_id) WHERE completed_on IS NULL DO NOTHING RETURNING account_id, id");
                        let rows: Vec<(i64, i64)> = qb
                            .build_query_as()
                            .fetch_all(&mut *tx)
                            .await
                            .map_err(|e| StoreError::from_write(e, Entity::OnboardingPlan, "account_id"))?;
                        started.extend(rows);
                    }
                    let milestones: Vec<(i64, &str)> =
                        started.iter().flat_map(|(_, id)| milestone_keys.iter().map(|key| (*id, key.as_str()))).collect();
                    for chunk in milestones.chunks($crate::sql::CHUNK) {
                        let mut qb = QueryBuilder::<$db>::new("INSERT INTO onboarding_milestones (plan_id, key) ");
                        qb.push_values(chunk, |mut b, (plan, key)| {
                            b.push_bind(*plan).push_bind(*key);
                        });
                        qb.build().execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                    if started.is_empty() {
                        return Ok(Vec::new());
                    }
                    let accounts: Vec<AccountId> = started.iter().map(|(account, _)| AccountId(*account)).collect();
                    let ids: std::collections::HashSet<i64> = started.iter().map(|(_, id)| *id).collect();
                    let mut plans = self.plans_where(Some(&accounts), None, true).await?;
                    plans.retain(|plan| ids.contains(&plan.id));
                    Ok(plans)
                }

                async fn onboarding_plans(&self, accounts: Option<&[AccountId]>) -> Result<Vec<StoredPlan>> {
                    self.plans_where(accounts, None, false).await
                }

                async fn open_onboarding_plans(&self, accounts: Option<&[AccountId]>) -> Result<Vec<StoredPlan>> {
                    self.plans_where(accounts, None, true).await
                }

                async fn accounts_with_onboarding_plans(
                    &self,
                    accounts: Option<&[AccountId]>,
                ) -> Result<std::collections::HashSet<AccountId>> {
                    let listed = accounts.filter(|ids| ids.len() <= ACCOUNTS_LISTED);
                    let mut qb = QueryBuilder::<$db>::new("SELECT DISTINCT account_id FROM onboarding_plans");
                    if let Some(ids) = listed {
                        if ids.is_empty() {
                            return Ok(std::collections::HashSet::new());
                        }
                        qb.push(" WHERE account_id IN (");
                        let mut each = qb.separated(", ");
                        for id in ids {
                            each.push_bind(id.0);
                        }
                        qb.push(")");
                    }
                    let planned: Vec<i64> = qb.build_query_scalar().fetch_all(&self.pool).await?;
                    let asked: Option<std::collections::HashSet<AccountId>> =
                        accounts.filter(|ids| ids.len() > ACCOUNTS_LISTED).map(|ids| ids.iter().copied().collect());
                    Ok(planned
                        .into_iter()
                        .map(AccountId)
                        .filter(|id| asked.as_ref().is_none_or(|asked| asked.contains(id)))
                        .collect())
                }

                async fn onboarding_plan(&self, id: i64) -> Result<StoredPlan> {
                    self.plans_where(None, Some(id), false).await?.pop().ok_or_else(|| not_found(Entity::OnboardingPlan, id))
                }

                async fn complete_milestones(
                    &self,
                    plan_id: i64,
                    keys: &[String],
                    on: NaiveDate,
                    by: &str,
                ) -> Result<Vec<String>> {
                    let mut completed = Vec::new();
                    for key in keys {
                        let done = sqlx::query(
                            "UPDATE onboarding_milestones SET completed_on = $1, completed_by = $2 \
                             WHERE plan_id = $3 AND key = $4 AND completed_on IS NULL",
                        )
                        .bind(on)
                        .bind(by)
                        .bind(plan_id)
                        .bind(key.as_str())
                        .execute(&self.pool)
                        .await?;
                        if done.rows_affected() > 0 {
                            completed.push(key.clone());
                        }
                    }
                    Ok(completed)
                }

                async fn complete_onboarding_plan(&self, plan_id: i64, on: NaiveDate) -> Result<bool> {
                    let done = sqlx::query(
                        "UPDATE onboarding_plans SET completed_on = $1 WHERE id = $2 AND completed_on IS NULL",
                    )
                    .bind(on)
                    .bind(plan_id)
                    .execute(&self.pool)
                    .await?;
                    Ok(done.rows_affected() > 0)
                }
            }
        }
    };
}

pub(crate) use onboarding_store;
