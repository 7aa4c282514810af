//! What the area stores share. `sql_store!` expands, once per backend, the row mapping and
//! statement helpers of accounts, contacts and subscription periods (used by `accounts.rs` and
//! `interchange.rs`), `select_in`, the maintenance run when a store opens, and the base of
//! `Store` (backend, planner statistics, grade totals). Each area's own SQL is in its file
//! (`accounts.rs`, `staff.rs`, `ingest.rs`, …), expanded the same way, so the compiler checks
//! every query's Rust side against both drivers. Static statements use `$n` placeholders, which
//! both databases accept; dynamic ones go through `QueryBuilder`.

use crate::error::{Entity, StoreError};
use chrono::{DateTime, NaiveDate, Utc};
use domain::account::{Account, AccountInput, CurrentHealth, CustomFields, TouchModel};
use domain::contact::{Contact, ContactInput};
use domain::subscription::{AccountFigures, BillingInterval, SubscriptionPeriod, SubscriptionTerms};
use domain::timeline::TimelineKind;
use domain::voice::{TicketPriority, TicketStatus};
use domain::{AccountId, ContactId, Currency, Email, ExternalId, Money, SubscriptionPeriodId, UserId};
use rust_decimal::Decimal;
use std::str::FromStr;

/// Rows per multi-row statement: below both backends' bind-parameter limits.
pub(crate) const CHUNK: usize = 1000;

/// A time as sqlx writes it to SQLite (RFC 3339 with `+00:00`), which PostgreSQL also reads.
/// Times bound inside a JSON text must compare, as text on SQLite, with those sqlx stored.
pub(crate) fn sql_time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)
}

pub(crate) const ACCOUNT_COLUMNS: &str =
    "id, external_id, name, domain, industry, region, employees, tier, touch_model, stage, \
     owner_id, sub_owner_id, sales_owner_id, created_on, churn_reason, churn_note, custom, mrr_hundredths, \
     arr_hundredths, first_paying_day, next_renewal_date, churned_on, health_score, health_grade, health_delta_30d, \
     health_on, updated_at";
/// Where `ACCOUNT_COLUMNS` and the health filters read from: each account with its current
/// health, which lives in a table of its own (one row per account, made by a trigger) so that
/// rescoring never rewrites the account row.
pub(crate) const ACCOUNTS_WITH_HEALTH: &str = "accounts JOIN account_health ON account_health.account_id = accounts.id";

/// What a count or a list of ids under `query` reads: the join only when it filters by grade.
pub(crate) fn accounts_filtered_by(query: &crate::AccountQuery) -> &'static str {
    if query.grade.is_some() {
        ACCOUNTS_WITH_HEALTH
    } else {
        "accounts"
    }
}
pub(crate) const CONTACT_COLUMNS: &str = "id, account_id, external_id, name, email, role, phone, is_primary, custom";
pub(crate) const PERIOD_COLUMNS: &str =
    "id, account_id, subscription_id, product, plan, start_date, end_date, billing_interval, \
     interval_count, quantity, unit_price, discount_percent, currency, custom, commitment_months";
pub(crate) const TIMELINE_COLUMNS: &str = "id, account_id, kind, author_id, occurred_at, title, body, event";

/// An `accounts` row as both drivers read it; `Account::try_from` checks what the types do not.
#[derive(sqlx::FromRow)]
pub(crate) struct AccountRow {
    id: i64,
    external_id: String,
    name: String,
    domain: Option<String>,
    industry: Option<String>,
    region: Option<String>,
    employees: Option<i64>,
    tier: Option<String>,
    touch_model: Option<String>,
    stage: Option<String>,
    owner_id: Option<i64>,
    sub_owner_id: Option<i64>,
    sales_owner_id: Option<i64>,
    created_on: Option<NaiveDate>,
    churn_reason: Option<String>,
    churn_note: Option<String>,
    custom: String,
    mrr_hundredths: i64,
    arr_hundredths: i64,
    first_paying_day: Option<NaiveDate>,
    next_renewal_date: Option<NaiveDate>,
    churned_on: Option<NaiveDate>,
    health_score: Option<f64>,
    health_grade: Option<String>,
    health_delta_30d: Option<f64>,
    health_on: Option<NaiveDate>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<AccountRow> for Account {
    type Error = StoreError;

    fn try_from(row: AccountRow) -> Result<Account, StoreError> {
        Ok(Account {
            id: AccountId(row.id),
            input: AccountInput {
                external_id: ExternalId::parse(&row.external_id).map_err(corrupt(Entity::Account))?,
                name: row.name,
                domain: row.domain,
                industry: row.industry,
                region: row.region,
                employees: row.employees,
                tier: row.tier,
                touch_model: touch_model(row.touch_model)?,
                stage: row.stage,
                owner_id: row.owner_id.map(UserId),
                sub_owner_id: row.sub_owner_id.map(UserId),
                sales_owner_id: row.sales_owner_id.map(UserId),
                created_on: row.created_on,
                churn_reason: row.churn_reason,
                churn_note: row.churn_note,
                custom: custom_from_json(Entity::Account, &row.custom)?,
            },
            figures: AccountFigures {
                mrr: Money::from_hundredths(row.mrr_hundredths),
                arr: Money::from_hundredths(row.arr_hundredths),
                first_paying_day: row.first_paying_day,
                next_renewal_date: row.next_renewal_date,
                churned_on: row.churned_on,
            },
            health: CurrentHealth {
                score: row.health_score,
                grade: row.health_grade,
                delta_30d: row.health_delta_30d,
                on: row.health_on,
            },
            updated_at: row.updated_at,
        })
    }
}

/// A `contacts` row as both drivers read it.
#[derive(sqlx::FromRow)]
pub(crate) struct ContactRow {
    id: i64,
    account_id: i64,
    external_id: String,
    name: Option<String>,
    email: Option<String>,
    role: Option<String>,
    phone: Option<String>,
    is_primary: bool,
    custom: String,
}

impl TryFrom<ContactRow> for Contact {
    type Error = StoreError;

    fn try_from(row: ContactRow) -> Result<Contact, StoreError> {
        let entity = Entity::Contact;
        Ok(Contact {
            id: ContactId(row.id),
            input: ContactInput {
                external_id: ExternalId::parse(&row.external_id).map_err(corrupt(entity))?,
                account_id: AccountId(row.account_id),
                name: row.name,
                email: row.email.map(|e| Email::parse(&e)).transpose().map_err(corrupt(entity))?,
                role: row.role,
                phone: row.phone,
                is_primary: row.is_primary,
                custom: custom_from_json(entity, &row.custom)?,
            },
        })
    }
}

/// A `subscription_periods` row as both drivers read it; amounts are exact decimal text.
#[derive(sqlx::FromRow)]
pub(crate) struct PeriodRow {
    id: i64,
    account_id: i64,
    subscription_id: String,
    product: String,
    plan: Option<String>,
    start_date: NaiveDate,
    end_date: Option<NaiveDate>,
    billing_interval: String,
    interval_count: i64,
    quantity: i64,
    unit_price: String,
    discount_percent: String,
    currency: String,
    custom: String,
    commitment_months: Option<i64>,
}

impl TryFrom<PeriodRow> for SubscriptionPeriod {
    type Error = StoreError;

    fn try_from(row: PeriodRow) -> Result<SubscriptionPeriod, StoreError> {
        let entity = Entity::SubscriptionPeriod;
        let months =
            |count: i64| u32::try_from(count).map_err(|e| StoreError::Corrupt { entity, detail: e.to_string() });
        Ok(SubscriptionPeriod {
            id: SubscriptionPeriodId(row.id),
            terms: SubscriptionTerms {
                subscription_id: ExternalId::parse(&row.subscription_id).map_err(corrupt(entity))?,
                account_id: AccountId(row.account_id),
                product: row.product,
                plan: row.plan,
                start_date: row.start_date,
                end_date: row.end_date,
                billing_interval: billing_interval(&row.billing_interval)?,
                interval_count: months(row.interval_count)?,
                quantity: row.quantity,
                unit_price: Money(decimal(entity, &row.unit_price)?),
                discount_percent: decimal(entity, &row.discount_percent)?,
                currency: Currency::parse(&row.currency).map_err(corrupt(entity))?,
                custom: custom_from_json(entity, &row.custom)?,
                commitment_months: row.commitment_months.map(months).transpose()?,
            },
        })
    }
}

pub(crate) fn custom_to_json(custom: &CustomFields) -> String {
    serde_json::to_string(custom).expect("a map of strings always serializes")
}

pub(crate) fn custom_from_json(entity: Entity, text: &str) -> Result<CustomFields, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt { entity, detail: format!("custom fields: {e}") })
}

pub(crate) fn decimal(entity: Entity, text: &str) -> Result<Decimal, StoreError> {
    Decimal::from_str(text).map_err(|e| StoreError::Corrupt { entity, detail: format!("amount {text:?}: {e}") })
}

pub(crate) fn corrupt(entity: Entity) -> impl Fn(domain::Reason) -> StoreError {
    move |reason| StoreError::Corrupt { entity, detail: reason.message(domain::i18n::Lang::En) }
}

/// A stored code (a status, a kind, …) read back; one the domain does not know is corrupt data.
pub(crate) fn code<T>(
    entity: Entity,
    field: &str,
    raw: &str,
    parse: impl FnOnce(&str) -> Result<T, domain::Reason>,
) -> Result<T, StoreError> {
    parse(raw).map_err(|reason| StoreError::Corrupt {
        entity,
        detail: format!("{field}: {}", reason.message(domain::i18n::Lang::En)),
    })
}

pub(crate) fn touch_model(text: Option<String>) -> Result<Option<TouchModel>, StoreError> {
    text.map(|t| TouchModel::parse(&t)).transpose().map_err(corrupt(Entity::Account))
}

pub(crate) fn billing_interval(text: &str) -> Result<BillingInterval, StoreError> {
    BillingInterval::parse(text).map_err(corrupt(Entity::SubscriptionPeriod))
}

pub(crate) fn timeline_kind(text: &str) -> Result<TimelineKind, StoreError> {
    TimelineKind::parse(text).map_err(corrupt(Entity::TimelineEntry))
}

pub(crate) fn ticket_priority(text: &str) -> Result<TicketPriority, StoreError> {
    TicketPriority::parse(text).map_err(corrupt(Entity::Ticket))
}

pub(crate) fn ticket_status(text: &str) -> Result<TicketStatus, StoreError> {
    TicketStatus::parse(text).map_err(corrupt(Entity::Ticket))
}

pub(crate) fn field_sources_from_json(text: &str) -> Result<domain::settings::TrackingFieldSources, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Corrupt { entity: Entity::Account, detail: format!("tracking field sources: {e}") })
}

pub(crate) fn not_found(entity: Entity, id: impl ToString) -> StoreError {
    StoreError::NotFound { entity, id: id.to_string() }
}

/// The record read from `row`, or "not found" naming `entity` and `id` when there was no row.
pub(crate) fn found<R, T>(
    row: Option<R>,
    read: impl FnOnce(&R) -> Result<T, StoreError>,
    entity: Entity,
    id: impl ToString,
) -> Result<T, StoreError> {
    row.as_ref().map(read).transpose()?.ok_or_else(|| not_found(entity, id))
}

pub(crate) fn like_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

macro_rules! sql_store {
    ($store:ident, $db:ident) => {
        use $crate::error::{Entity, StoreError};
        use $crate::sql::{
            accounts_filtered_by, custom_from_json, custom_to_json, found, like_escape, not_found,
            ACCOUNT_COLUMNS, ACCOUNTS_WITH_HEALTH, CHUNK, CONTACT_COLUMNS, PERIOD_COLUMNS,
        };
        use $crate::{AccountQuery, AccountSort, ChildQuery, GradeTotal, Page, Store};
        use async_trait::async_trait;
        use chrono::{NaiveDate, Utc};
        use domain::account::{Account, AccountInput};
        use domain::contact::{Contact, ContactInput};
        use domain::subscription::{AccountFigures, SubscriptionPeriod, SubscriptionTerms};
        use domain::{AccountId, ContactId, ExternalId, Money, SubscriptionPeriodId};
        use sqlx::{FromRow, QueryBuilder, Row};
        use foldhash::{HashMap, HashMapExt, HashSet};

        type DbRow = <$db as sqlx::Database>::Row;

        fn account_from_row(row: &DbRow) -> Result<Account> {
            Account::try_from($crate::sql::AccountRow::from_row(row)?)
        }

        fn contact_from_row(row: &DbRow) -> Result<Contact> {
            Contact::try_from($crate::sql::ContactRow::from_row(row)?)
        }

        fn period_from_row(row: &DbRow) -> Result<SubscriptionPeriod> {
            SubscriptionPeriod::try_from($crate::sql::PeriodRow::from_row(row)?)
        }

        fn push_account_values(b: &mut sqlx::query_builder::Separated<'_, '_, $db, &'static str>, input: &AccountInput) {
            b.push_bind(input.external_id.to_string())
                .push_bind(input.name.clone())
                .push_bind(input.domain.clone())
                .push_bind(input.industry.clone())
                .push_bind(input.region.clone())
                .push_bind(input.employees)
                .push_bind(input.tier.clone())
                .push_bind(input.touch_model.map(|t| t.as_str()))
                .push_bind(input.stage.clone())
                .push_bind(input.owner_id.map(|u| u.0))
                .push_bind(input.sub_owner_id.map(|u| u.0))
                .push_bind(input.sales_owner_id.map(|u| u.0))
                .push_bind(input.created_on)
                .push_bind(input.churn_reason.clone())
                .push_bind(input.churn_note.clone())
                .push_bind(custom_to_json(&input.custom))
                .push_bind(domain::search::account_key(input))
                .push_bind(Utc::now());
        }

        const ACCOUNT_INSERT: &str = "INSERT INTO accounts (external_id, name, domain, industry, region, employees, tier, \
             touch_model, stage, owner_id, sub_owner_id, sales_owner_id, created_on, churn_reason, churn_note, custom, search_key, updated_at) ";

        const ACCOUNT_UPDATE: &str = "UPDATE accounts SET external_id = $2, name = $3, domain = $4, industry = $5, region = $6, \
             employees = $7, tier = $8, touch_model = $9, stage = $10, owner_id = $11, sub_owner_id = $12, sales_owner_id = $13, \
             created_on = $14, churn_reason = $15, churn_note = $16, custom = $17, updated_at = $18, search_key = $19 WHERE id = $1";

        fn bind_account_update<'q>(
            id: AccountId,
            input: &'q AccountInput,
        ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>> {
            sqlx::query(ACCOUNT_UPDATE)
                .bind(id.0)
                .bind(input.external_id.as_str())
                .bind(input.name.as_str())
                .bind(input.domain.as_deref())
                .bind(input.industry.as_deref())
                .bind(input.region.as_deref())
                .bind(input.employees)
                .bind(input.tier.as_deref())
                .bind(input.touch_model.map(|t| t.as_str()))
                .bind(input.stage.as_deref())
                .bind(input.owner_id.map(|u| u.0))
                .bind(input.sub_owner_id.map(|u| u.0))
                .bind(input.sales_owner_id.map(|u| u.0))
                .bind(input.created_on)
                .bind(input.churn_reason.as_deref())
                .bind(input.churn_note.as_deref())
                .bind(custom_to_json(&input.custom))
                .bind(Utc::now())
                .bind(domain::search::account_key(input))
        }

        fn push_contact_values(b: &mut sqlx::query_builder::Separated<'_, '_, $db, &'static str>, input: &ContactInput) {
            b.push_bind(input.account_id.0)
                .push_bind(input.external_id.to_string())
                .push_bind(input.name.clone())
                .push_bind(input.email.as_ref().map(|e| e.to_string()))
                .push_bind(input.role.clone())
                .push_bind(input.phone.clone())
                .push_bind(input.is_primary)
                .push_bind(custom_to_json(&input.custom));
        }

        const CONTACT_INSERT: &str =
            "INSERT INTO contacts (account_id, external_id, name, email, role, phone, is_primary, custom) ";

        const CONTACT_UPDATE: &str = "UPDATE contacts SET account_id = $2, external_id = $3, name = $4, email = $5, role = $6, \
             phone = $7, is_primary = $8, custom = $9 WHERE id = $1";

        fn bind_contact_update<'q>(
            id: ContactId,
            input: &'q ContactInput,
        ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>> {
            sqlx::query(CONTACT_UPDATE)
                .bind(id.0)
                .bind(input.account_id.0)
                .bind(input.external_id.as_str())
                .bind(input.name.as_deref())
                .bind(input.email.as_ref().map(|e| e.as_str()))
                .bind(input.role.as_deref())
                .bind(input.phone.as_deref())
                .bind(input.is_primary)
                .bind(custom_to_json(&input.custom))
        }

        fn push_period_values(b: &mut sqlx::query_builder::Separated<'_, '_, $db, &'static str>, terms: &SubscriptionTerms) {
            b.push_bind(terms.account_id.0)
                .push_bind(terms.subscription_id.to_string())
                .push_bind(terms.product.clone())
                .push_bind(terms.plan.clone())
                .push_bind(terms.start_date)
                .push_bind(terms.end_date)
                .push_bind(terms.billing_interval.as_str())
                .push_bind(i64::from(terms.interval_count))
                .push_bind(terms.quantity)
                .push_bind(terms.unit_price.0.to_string())
                .push_bind(terms.discount_percent.to_string())
                .push_bind(terms.currency.to_string())
                .push_bind(custom_to_json(&terms.custom))
                .push_bind(terms.commitment_months.map(i64::from));
        }

        const PERIOD_INSERT: &str = "INSERT INTO subscription_periods (account_id, subscription_id, product, plan, start_date, \
             end_date, billing_interval, interval_count, quantity, unit_price, discount_percent, currency, custom, \
             commitment_months) ";

        const PERIOD_UPDATE: &str = "UPDATE subscription_periods SET account_id = $2, subscription_id = $3, product = $4, \
             plan = $5, start_date = $6, end_date = $7, billing_interval = $8, interval_count = $9, quantity = $10, \
             unit_price = $11, discount_percent = $12, currency = $13, custom = $14, commitment_months = $15 WHERE id = $1";

        fn bind_period_update<'q>(
            id: SubscriptionPeriodId,
            terms: &'q SubscriptionTerms,
        ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>> {
            sqlx::query(PERIOD_UPDATE)
                .bind(id.0)
                .bind(terms.account_id.0)
                .bind(terms.subscription_id.as_str())
                .bind(terms.product.as_str())
                .bind(terms.plan.as_deref())
                .bind(terms.start_date)
                .bind(terms.end_date)
                .bind(terms.billing_interval.as_str())
                .bind(i64::from(terms.interval_count))
                .bind(terms.quantity)
                .bind(terms.unit_price.0.to_string())
                .bind(terms.discount_percent.to_string())
                .bind(terms.currency.as_str())
                .bind(custom_to_json(&terms.custom))
                .bind(terms.commitment_months.map(i64::from))
        }

        async fn ensure_products<'c, E>(executor: E, products: &[&str]) -> Result<()>
        where
            E: sqlx::Executor<'c, Database = $db>,
        {
            if products.is_empty() {
                return Ok(());
            }
            let mut qb = QueryBuilder::<$db>::new("INSERT INTO products (key, name) ");
            qb.push_values(products, |mut b, product| {
                b.push_bind(product.to_string()).push_bind(product.to_string());
            });
            qb.push(" ON CONFLICT (key) DO NOTHING");
            qb.build().execute(executor).await?;
            Ok(())
        }

        fn push_account_filters(qb: &mut QueryBuilder<'_, $db>, query: &AccountQuery) {
            qb.push(" WHERE 1 = 1");
            if let Some(owner) = query.owner {
                qb.push(" AND (owner_id = ").push_bind(owner.0).push(" OR sub_owner_id = ").push_bind(owner.0).push(")");
            }
            if let Some(team) = query.team {
                qb.push(" AND (owner_id IN (SELECT id FROM staff_users WHERE team_id = ")
                    .push_bind(team.0)
                    .push(") OR sub_owner_id IN (SELECT id FROM staff_users WHERE team_id = ")
                    .push_bind(team.0)
                    .push("))");
            }
            if let Some(stage) = &query.stage {
                qb.push(" AND stage = ").push_bind(stage.clone());
            }
            if let Some(tier) = &query.tier {
                qb.push(" AND tier = ").push_bind(tier.clone());
            }
            if let Some(grade) = &query.grade {
                qb.push(" AND health_grade = ").push_bind(grade.clone());
            }
            if let Some((first, last)) = query.renewal_between {
                qb.push(" AND next_renewal_date >= ").push_bind(first).push(" AND next_renewal_date <= ").push_bind(last);
            }
            if query.paying {
                qb.push(" AND mrr_hundredths > 0");
            }
            if let Some(touch) = query.touch_model {
                qb.push(" AND touch_model = ").push_bind(touch.as_str());
            }
            if let Some((key, value)) = &query.custom {
                // Custom fields are stored as compact JSON of strings, so the pair appears verbatim.
                let pair = format!("{}:{}", serde_json::Value::from(key.as_str()), serde_json::Value::from(value.as_str()));
                qb.push(" AND custom LIKE ").push_bind(format!("%{}%", like_escape(&pair))).push(" ESCAPE '\\'");
            }
            if let Some(pattern) = query.text.as_deref().and_then(domain::search::like_pattern) {
                // The key is normalized when the account is written (`domain::search`), so the
                // scan compares prepared text, and reads only the key's index.
                qb.push(" AND id IN (SELECT id FROM accounts WHERE search_key LIKE ")
                    .push_bind(pattern)
                    .push(" ESCAPE '\\')");
            }
        }

        /// Runs `SELECT <columns> FROM <table> WHERE <column> IN (<values>)`, the values bound as one
        /// JSON array (`pg_type` is their PostgreSQL type), so the statement stays prepared.
        async fn select_in<'c, E, T: serde::Serialize>(
            executor: &mut E,
            sql_prefix: &str,
            values: &[T],
            pg_type: &str,
        ) -> Result<Vec<DbRow>>
        where
            for<'e> &'e mut E: sqlx::Executor<'e, Database = $db>,
        {
            if values.is_empty() {
                return Ok(Vec::new());
            }
            let values = serde_json::to_string(values).expect("strings and integers always serialize");
            Ok(sqlx::query(&format!("{sql_prefix} ({})", <$store>::json_values(pg_type))).bind(values).fetch_all(&mut *executor).await?)
        }

        /// Kizuna's ids of the accounts with these external ids (those that exist), keyed by external id.
        async fn account_ids_of<'a, E>(
            executor: &mut E,
            externals: impl Iterator<Item = &'a ExternalId>,
        ) -> Result<HashMap<String, AccountId>>
        where
            for<'e> &'e mut E: sqlx::Executor<'e, Database = $db>,
        {
            let wanted: Vec<String> = externals.map(ExternalId::to_string).collect::<HashSet<_>>().into_iter().collect();
            let mut ids = HashMap::new();
            for row in select_in(executor, "SELECT id, external_id FROM accounts WHERE external_id IN", &wanted, "text").await? {
                ids.insert(row.try_get("external_id")?, AccountId(row.try_get("id")?));
            }
            Ok(ids)
        }

        /// Computes the search key (`domain::search::account_key`) of every account that has none:
        /// all of them on the first open after the migration that added the column (or after one
        /// that clears the keys because the normalization changed). Writes set it from then on.
        async fn fill_search_keys(pool: &sqlx::Pool<$db>) -> Result<()> {
            loop {
                let mut tx = pool.begin_with(<$store>::WRITE_BEGIN).await?;
                let rows = sqlx::query(
                    "SELECT id, external_id, name, domain, custom FROM accounts WHERE search_key IS NULL ORDER BY id LIMIT 1000",
                )
                .fetch_all(&mut *tx)
                .await?;
                if rows.is_empty() {
                    return Ok(());
                }
                let mut qb = QueryBuilder::<$db>::new("UPDATE accounts SET search_key = v.column2 FROM (");
                for (i, row) in rows.iter().enumerate() {
                    let custom = custom_from_json(Entity::Account, &row.try_get::<String, _>("custom")?)?;
                    let name: String = row.try_get("name")?;
                    let external_id: String = row.try_get("external_id")?;
                    let domain: Option<String> = row.try_get("domain")?;
                    qb.push(if i == 0 { "VALUES (" } else { ", (" });
                    let mut b = qb.separated(", ");
                    b.push_bind(row.try_get::<i64, _>("id")?)
                        .push_bind(domain::search::key_of(&name, &external_id, domain.as_deref(), &custom));
                    b.push_unseparated(")");
                }
                qb.push(") AS v WHERE accounts.id = v.column1");
                qb.build().execute(&mut *tx).await?;
                tx.commit().await?;
            }
        }

        #[async_trait]
        impl Store for $store {
            fn backend(&self) -> $crate::Backend {
                Self::BACKEND
            }

            async fn refresh_statistics(&self) -> Result<()> {
                // Every figure and health refresh rewrites account rows: vacuuming reclaims the
                // dead versions that list scans would otherwise wade through.
                let statements: &[&str] = match Self::BACKEND {
                    $crate::Backend::Postgres => &["VACUUM (ANALYZE) accounts", "ANALYZE"],
                    $crate::Backend::Sqlite => &["PRAGMA optimize"],
                };
                for statement in statements {
                    sqlx::query(statement).execute(&self.pool).await?;
                }
                Ok(())
            }

            async fn grade_totals(&self) -> Result<Vec<GradeTotal>> {
                let rows = sqlx::query(
                    "SELECT health_grade, COUNT(*) AS accounts, CAST(SUM(paying_arr_hundredths) AS BIGINT) AS arr \
                     FROM account_health WHERE paying_arr_hundredths IS NOT NULL GROUP BY health_grade",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        Ok(GradeTotal {
                            grade: row.try_get("health_grade")?,
                            accounts: row.try_get("accounts")?,
                            arr: Money::from_hundredths(row.try_get::<Option<i64>, _>("arr")?.unwrap_or(0)),
                        })
                    })
                    .collect()
            }

        }

        impl $store {
            async fn account_externals(&self) -> Result<HashMap<AccountId, ExternalId>> {
                let rows = sqlx::query("SELECT id, external_id FROM accounts").fetch_all(&self.pool).await?;
                rows.iter()
                    .map(|row| {
                        let external: String = row.try_get("external_id")?;
                        Ok((
                            AccountId(row.try_get("id")?),
                            ExternalId::parse(&external).map_err($crate::sql::corrupt(Entity::Account))?,
                        ))
                    })
                    .collect()
            }
        }

        async fn list_children(
            pool: &sqlx::Pool<$db>,
            table: &str,
            columns: &str,
            order: &str,
            query: &ChildQuery,
        ) -> Result<(Vec<DbRow>, i64)> {
            let mut count = QueryBuilder::<$db>::new(format!("SELECT COUNT(*) FROM {table} WHERE 1 = 1"));
            if let Some(account) = query.account_id {
                count.push(" AND account_id = ").push_bind(account.0);
            }
            let total: i64 = count.build_query_scalar().fetch_one(pool).await?;
            let mut qb = QueryBuilder::<$db>::new(format!("SELECT {columns} FROM {table} WHERE 1 = 1"));
            if let Some(account) = query.account_id {
                qb.push(" AND account_id = ").push_bind(account.0);
            }
            qb.push(format!(" ORDER BY {order} LIMIT ")).push_bind(query.limit);
            qb.push(" OFFSET ").push_bind(query.offset);
            Ok((qb.build().fetch_all(pool).await?, total))
        }
    };
}

pub(crate) use sql_store;
