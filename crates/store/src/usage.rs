//! The feature catalog and the usage rollups: per account × event × day counts, active end
//! users per day, and per account × feature × day uses. Ingest keeps them current in the same
//! transaction as the events (see `ingest` in `sql.rs`); catalog edits re-derive a feature's
//! uses from the stored events, so nothing has to be sent again.

use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use domain::usage::{Feature, FeatureDefinition, FeatureKey, Tz};
use domain::AccountId;
use serde::Serialize;

/// Uses of one feature by one account on one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureDay {
    pub feature_id: i64,
    pub day: NaiveDate,
    pub uses: i64,
}

/// Tracked events of one name by one account on one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventDay {
    pub event: String,
    pub day: NaiveDate,
    pub count: i64,
}

/// How many accounts used a feature in a window, and how often.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureAdoption {
    pub feature_id: i64,
    pub accounts: i64,
    pub uses: i64,
}

/// A person using a customer's account, as tracking saw them.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct EndUser {
    pub user_id: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub role: Option<String>,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

/// What applying a catalog file changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CatalogChanges {
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: Vec<String>,
    pub removed: Vec<String>,
}

#[async_trait]
pub trait UsageStore: Send + Sync {
    async fn list_features(&self) -> Result<Vec<Feature>>;
    async fn get_feature(&self, key: &FeatureKey) -> Result<Feature>;
    /// Adds a feature and derives its uses from every stored event, in one transaction.
    async fn create_feature(&self, definition: &FeatureDefinition, zone: Tz) -> Result<Feature>;
    /// Replaces a feature (its key may change) and re-derives its uses.
    async fn update_feature(&self, key: &FeatureKey, definition: &FeatureDefinition, zone: Tz) -> Result<Feature>;
    async fn delete_feature(&self, key: &FeatureKey) -> Result<()>;
    /// Makes the catalog hold these features (matched by key), re-deriving the changed ones;
    /// with `prune`, features not listed are removed. One transaction.
    async fn apply_catalog(&self, definitions: &[FeatureDefinition], prune: bool, zone: Tz) -> Result<CatalogChanges>;
    /// Rebuilds every rollup from the stored events, e.g. after the workspace time zone changed.
    async fn rebuild_usage_rollups(&self, zone: Tz) -> Result<()>;

    /// Daily feature uses of an account in `[from, to]`.
    async fn feature_days(&self, account: AccountId, from: NaiveDate, to: NaiveDate) -> Result<Vec<FeatureDay>>;
    /// Daily tracked-event counts of an account in `[from, to]`.
    async fn event_days(&self, account: AccountId, from: NaiveDate, to: NaiveDate) -> Result<Vec<EventDay>>;
    /// Distinct identified end users active in `[from, to]`.
    async fn active_users(&self, account: AccountId, from: NaiveDate, to: NaiveDate) -> Result<i64>;
    /// Distinct active end users per day in `[from, to]` (days without activity are left out).
    async fn active_users_per_day(
        &self,
        account: AccountId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<(NaiveDate, i64)>>;
    /// Per feature, the accounts that used it in `[from, to]` and their uses.
    async fn feature_adoption(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<FeatureAdoption>>;
    /// The end users whose latest group is this account, most recently seen first.
    async fn end_users(&self, account: AccountId) -> Result<Vec<EndUser>>;
    /// Every daily feature use and every active end-user day, of one account or of all: what
    /// health scoring reads to score accounts as of any day.
    async fn usage_history(&self, account: Option<AccountId>) -> Result<UsageHistory>;
}

/// Daily rollups of many accounts, as `usage_history` returns them.
#[derive(Debug, Clone, Default)]
pub struct UsageHistory {
    pub feature_days: Vec<(AccountId, FeatureDay)>,
    pub user_days: Vec<(AccountId, NaiveDate, String)>,
}

macro_rules! usage_store {
    ($store:ident, $db:ident) => {
        /// Rollup SQL for this backend; `ingest` in the parent module adds to a `Rollup`.
        mod usage_sql {
            use super::{$db, $store};
            use $crate::error::{Entity, StoreError};
            use $crate::usage::{CatalogChanges, EndUser, EventDay, FeatureAdoption, FeatureDay, UsageHistory, UsageStore};
            use $crate::Result;
            use async_trait::async_trait;
            use chrono::{DateTime, NaiveDate, Utc};
            use domain::tracking::{Message, MessageKind};
            use domain::usage::{local_day, Cadence, EventMatch, Feature, FeatureDefinition, FeatureKey, Importance, SeasonWindow, Tz};
            use domain::AccountId;
            use serde_json::{Map, Value};
            use sqlx::{QueryBuilder, Row};
            use std::collections::{BTreeMap, BTreeSet, HashMap};

            const CHUNK: usize = $crate::sql::CHUNK;
            const FEATURE_COLUMNS: &str = "id, key, name, event, match_kind, properties, cadence, season, importance";
            /// Events re-read per statement when re-deriving rollups.
            const SCAN_PAGE: i64 = 50_000;

            fn feature_from_row(row: &<$db as sqlx::Database>::Row) -> Result<Feature> {
                let corrupt = |detail: String| StoreError::Corrupt { entity: Entity::Feature, detail };
                let key: String = row.try_get("key")?;
                let season = row
                    .try_get::<Option<String>, _>("season")?
                    .map(|s| SeasonWindow::parse(&s))
                    .transpose()
                    .map_err(|r| corrupt(format!("{key}: season {r:?}")))?;
                let properties: String = row.try_get("properties")?;
                let cadence: String = row.try_get("cadence")?;
                let match_kind: String = row.try_get("match_kind")?;
                Ok(Feature {
                    id: row.try_get("id")?,
                    definition: FeatureDefinition {
                        key: FeatureKey::parse(&key).map_err(|r| corrupt(format!("key {key}: {r:?}")))?,
                        name: row.try_get("name")?,
                        event: EventMatch::from_parts(&match_kind, row.try_get("event")?)
                            .map_err(|r| corrupt(format!("{key}: match {r:?}")))?,
                        properties: serde_json::from_str(&properties).map_err(|e| corrupt(format!("{key}: properties {e}")))?,
                        cadence: Cadence::from_parts(&cadence, season).map_err(|r| corrupt(format!("{key}: cadence {r:?}")))?,
                        importance: Importance::parse(&row.try_get::<String, _>("importance")?)
                            .map_err(|r| corrupt(format!("{key}: importance {r:?}")))?,
                    },
                })
            }

            /// The catalog as an ingest must use it: read under a shared lock that catalog edits
            /// take exclusively (PostgreSQL; SQLite's single writer already orders them).
            pub(super) async fn catalog_for_ingest(tx: &mut sqlx::Transaction<'_, $db>) -> Result<Vec<Feature>> {
                sqlx::query(&format!("SELECT version FROM usage_catalog WHERE id = 1{}", $store::SHARE_LOCK))
                    .execute(&mut **tx)
                    .await?;
                let rows = sqlx::query(&format!("SELECT {FEATURE_COLUMNS} FROM features ORDER BY id")).fetch_all(&mut **tx).await?;
                rows.iter().map(feature_from_row).collect()
            }

            async fn lock_catalog(tx: &mut sqlx::Transaction<'_, $db>) -> Result<()> {
                sqlx::query("UPDATE usage_catalog SET version = version + 1 WHERE id = 1").execute(&mut **tx).await?;
                Ok(())
            }

            /// Rollup increments gathered during one transaction, written once at its end in key
            /// order (so concurrent ingests lock rows in the same order).
            pub(super) struct Rollup<'f> {
                zone: Tz,
                features: &'f [Feature],
                events: BTreeMap<(i64, NaiveDate, String), i64>,
                active: BTreeSet<(i64, NaiveDate, String)>,
                uses: BTreeMap<(i64, i64, NaiveDate), i64>,
            }

            impl<'f> Rollup<'f> {
                pub(super) fn new(zone: Tz, features: &'f [Feature]) -> Rollup<'f> {
                    Rollup { zone, features, events: BTreeMap::new(), active: BTreeSet::new(), uses: BTreeMap::new() }
                }

                /// Counts one stored event of `account`; `properties` is only read when a
                /// feature's property filter needs it.
                pub(super) fn add(
                    &mut self,
                    account: i64,
                    kind: MessageKind,
                    user_id: Option<&str>,
                    event: Option<&str>,
                    occurred_at: DateTime<Utc>,
                    properties: impl FnOnce() -> Map<String, Value>,
                ) {
                    if !matches!(kind, MessageKind::Track | MessageKind::Page | MessageKind::Screen) {
                        return;
                    }
                    let day = local_day(occurred_at, self.zone);
                    if let Some(user) = user_id {
                        self.active.insert((account, day, user.to_owned()));
                    }
                    let (MessageKind::Track, Some(event)) = (kind, event) else { return };
                    *self.events.entry((account, day, event.to_owned())).or_default() += 1;
                    let mut properties = Some(properties);
                    let mut read: Option<Map<String, Value>> = None;
                    for feature in self.features.iter().filter(|f| f.definition.event.matches(event)) {
                        let props = match (&read, feature.definition.properties.is_empty()) {
                            (_, true) => None,
                            (Some(_), false) => read.as_ref(),
                            (None, false) => {
                                read = properties.take().map(|p| p());
                                read.as_ref()
                            }
                        };
                        if props.is_none_or(|p| feature.definition.matches(event, p)) {
                            *self.uses.entry((account, feature.id, day)).or_default() += 1;
                        }
                    }
                }

                pub(super) fn add_message(&mut self, account: i64, m: &Message) {
                    self.add(account, m.kind, m.user_id.as_deref(), m.event.as_deref(), m.timestamp, || m.properties.clone());
                }

                /// Counts rows returned by an UPDATE … RETURNING account_id, kind, user_id, event,
                /// properties, occurred_at (rows still without an account are skipped).
                pub(super) fn add_rows(&mut self, rows: &[<$db as sqlx::Database>::Row]) -> Result<()> {
                    for row in rows {
                        let Some(account) = row.try_get::<Option<i64>, _>("account_id")? else { continue };
                        let kind: String = row.try_get("kind")?;
                        let Some(kind) = MessageKind::parse(&kind) else { continue };
                        let user: Option<String> = row.try_get("user_id")?;
                        let event: Option<String> = row.try_get("event")?;
                        let properties: String = row.try_get("properties")?;
                        self.add(account, kind, user.as_deref(), event.as_deref(), row.try_get("occurred_at")?, || {
                            serde_json::from_str(&properties).unwrap_or_default()
                        });
                    }
                    Ok(())
                }

                /// The accounts this rollup adds to.
                pub(super) fn accounts(&self) -> Vec<AccountId> {
                    let mut accounts: Vec<i64> = self
                        .events
                        .keys()
                        .map(|(a, _, _)| *a)
                        .chain(self.active.iter().map(|(a, _, _)| *a))
                        .collect();
                    accounts.sort_unstable();
                    accounts.dedup();
                    accounts.into_iter().map(AccountId).collect()
                }

                pub(super) async fn flush(self, tx: &mut sqlx::Transaction<'_, $db>) -> Result<()> {
                    let events: Vec<_> = self.events.into_iter().collect();
                    for chunk in events.chunks(CHUNK) {
                        let mut qb = QueryBuilder::<$db>::new("INSERT INTO usage_daily (account_id, day, event, count) ");
                        qb.push_values(chunk, |mut b, ((account, day, event), count)| {
                            b.push_bind(*account).push_bind(*day).push_bind(event.clone()).push_bind(*count);
                        });
                        qb.push(" ON CONFLICT (account_id, day, event) DO UPDATE SET count = usage_daily.count + excluded.count");
                        qb.build().execute(&mut **tx).await?;
                    }
                    let active: Vec<_> = self.active.into_iter().collect();
                    for chunk in active.chunks(CHUNK) {
                        let mut qb = QueryBuilder::<$db>::new("INSERT INTO end_user_days (account_id, day, user_id) ");
                        qb.push_values(chunk, |mut b, (account, day, user)| {
                            b.push_bind(*account).push_bind(*day).push_bind(user.clone());
                        });
                        qb.push(" ON CONFLICT (account_id, day, user_id) DO NOTHING");
                        qb.build().execute(&mut **tx).await?;
                    }
                    let uses: Vec<_> = self.uses.into_iter().collect();
                    for chunk in uses.chunks(CHUNK) {
                        let mut qb = QueryBuilder::<$db>::new("INSERT INTO feature_usage_daily (account_id, feature_id, day, uses) ");
                        qb.push_values(chunk, |mut b, ((account, feature, day), uses)| {
                            b.push_bind(*account).push_bind(*feature).push_bind(*day).push_bind(*uses);
                        });
                        qb.push(
                            " ON CONFLICT (account_id, feature_id, day) DO UPDATE SET uses = feature_usage_daily.uses + excluded.uses",
                        );
                        qb.build().execute(&mut **tx).await?;
                    }
                    Ok(())
                }
            }

            /// Re-reads attributed events (all of them, or those `only` could match) page by page
            /// into a rollup. `only` narrows the scan to a feature's event names.
            async fn scan_events(
                tx: &mut sqlx::Transaction<'_, $db>,
                rollup: &mut Rollup<'_>,
                only: Option<&EventMatch>,
            ) -> Result<()> {
                let mut after: i64 = 0;
                loop {
                    let mut qb = QueryBuilder::<$db>::new(
                        "SELECT id, account_id, kind, user_id, event, properties, occurred_at FROM usage_events \
                         WHERE account_id IS NOT NULL AND id > ",
                    );
                    qb.push_bind(after);
                    match only {
                        Some(EventMatch::Exact(name)) => {
                            qb.push(" AND kind = 'track' AND event = ").push_bind(name.clone());
                        }
                        Some(EventMatch::Prefix(prefix)) => {
                            qb.push(" AND kind = 'track' AND event LIKE ")
                                .push_bind(format!("{}%", $crate::sql::like_escape(prefix)))
                                .push(" ESCAPE '\\'");
                        }
                        None => {}
                    }
                    qb.push(" ORDER BY id LIMIT ").push_bind(SCAN_PAGE);
                    let rows = qb.build().fetch_all(&mut **tx).await?;
                    let Some(last) = rows.last() else { return Ok(()) };
                    after = last.try_get("id")?;
                    rollup.add_rows(&rows)?;
                }
            }

            /// Derives one feature's uses afresh from the stored events.
            async fn rederive(tx: &mut sqlx::Transaction<'_, $db>, feature: &Feature, zone: Tz) -> Result<()> {
                sqlx::query("DELETE FROM feature_usage_daily WHERE feature_id = $1").bind(feature.id).execute(&mut **tx).await?;
                let features = std::slice::from_ref(feature);
                let mut rollup = Rollup::new(zone, features);
                scan_events(tx, &mut rollup, Some(&feature.definition.event)).await?;
                // Only the feature's uses are re-derived; event counts and activity stand.
                rollup.events.clear();
                rollup.active.clear();
                rollup.flush(tx).await
            }

            fn bind_definition<'q>(
                query: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>>,
                d: &FeatureDefinition,
            ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>> {
                query
                    .bind(d.key.to_string())
                    .bind(d.name.clone())
                    .bind(d.event.pattern().to_owned())
                    .bind(d.event.kind())
                    .bind(Value::Object(d.properties.clone()).to_string())
                    .bind(d.cadence.name())
                    .bind(d.cadence.season().map(|s| s.to_string()))
                    .bind(d.importance.as_str())
            }

            async fn insert_feature(tx: &mut sqlx::Transaction<'_, $db>, d: &FeatureDefinition, zone: Tz) -> Result<Feature> {
                let id: i64 = bind_definition(
                    sqlx::query(
                        "INSERT INTO features (key, name, event, match_kind, properties, cadence, season, importance) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                    ),
                    d,
                )
                .fetch_one(&mut **tx)
                .await
                .map_err(|e| StoreError::from_write(e, Entity::Feature, "key"))?
                .try_get("id")?;
                let feature = Feature { id, definition: d.clone() };
                rederive(tx, &feature, zone).await?;
                Ok(feature)
            }

            async fn replace_feature(tx: &mut sqlx::Transaction<'_, $db>, id: i64, d: &FeatureDefinition, zone: Tz) -> Result<Feature> {
                bind_definition(
                    sqlx::query(
                        "UPDATE features SET key = $1, name = $2, event = $3, match_kind = $4, properties = $5, cadence = $6, \
                         season = $7, importance = $8 WHERE id = $9",
                    ),
                    d,
                )
                .bind(id)
                .execute(&mut **tx)
                .await
                .map_err(|e| StoreError::from_write(e, Entity::Feature, "key"))?;
                let feature = Feature { id, definition: d.clone() };
                rederive(tx, &feature, zone).await?;
                Ok(feature)
            }

            async fn feature_by_key(tx: &mut sqlx::Transaction<'_, $db>, key: &FeatureKey) -> Result<Feature> {
                let row = sqlx::query(&format!("SELECT {FEATURE_COLUMNS} FROM features WHERE key = $1"))
                    .bind(key.as_str())
                    .fetch_optional(&mut **tx)
                    .await?;
                match row {
                    Some(row) => feature_from_row(&row),
                    None => Err(StoreError::NotFound { entity: Entity::Feature, id: key.to_string() }),
                }
            }

            #[async_trait]
            impl UsageStore for $store {
                async fn list_features(&self) -> Result<Vec<Feature>> {
                    let rows = sqlx::query(&format!("SELECT {FEATURE_COLUMNS} FROM features ORDER BY key"))
                        .fetch_all(&self.pool)
                        .await?;
                    rows.iter().map(feature_from_row).collect()
                }

                async fn get_feature(&self, key: &FeatureKey) -> Result<Feature> {
                    let mut tx = self.pool.begin().await?;
                    feature_by_key(&mut tx, key).await
                }

                async fn create_feature(&self, definition: &FeatureDefinition, zone: Tz) -> Result<Feature> {
                    let mut tx = self.pool.begin_with($store::WRITE_BEGIN).await?;
                    lock_catalog(&mut tx).await?;
                    let feature = insert_feature(&mut tx, definition, zone).await?;
                    tx.commit().await?;
                    Ok(feature)
                }

                async fn update_feature(&self, key: &FeatureKey, definition: &FeatureDefinition, zone: Tz) -> Result<Feature> {
                    let mut tx = self.pool.begin_with($store::WRITE_BEGIN).await?;
                    lock_catalog(&mut tx).await?;
                    let current = feature_by_key(&mut tx, key).await?;
                    let feature = replace_feature(&mut tx, current.id, definition, zone).await?;
                    tx.commit().await?;
                    Ok(feature)
                }

                async fn delete_feature(&self, key: &FeatureKey) -> Result<()> {
                    let mut tx = self.pool.begin_with($store::WRITE_BEGIN).await?;
                    lock_catalog(&mut tx).await?;
                    let result = sqlx::query("DELETE FROM features WHERE key = $1").bind(key.as_str()).execute(&mut *tx).await?;
                    if result.rows_affected() == 0 {
                        return Err(StoreError::NotFound { entity: Entity::Feature, id: key.to_string() });
                    }
                    tx.commit().await?;
                    Ok(())
                }

                async fn apply_catalog(&self, definitions: &[FeatureDefinition], prune: bool, zone: Tz) -> Result<CatalogChanges> {
                    let mut tx = self.pool.begin_with($store::WRITE_BEGIN).await?;
                    lock_catalog(&mut tx).await?;
                    let rows = sqlx::query(&format!("SELECT {FEATURE_COLUMNS} FROM features")).fetch_all(&mut *tx).await?;
                    let mut current: HashMap<String, Feature> = HashMap::new();
                    for row in &rows {
                        let feature = feature_from_row(row)?;
                        current.insert(feature.definition.key.to_string(), feature);
                    }
                    let mut changes = CatalogChanges::default();
                    for definition in definitions {
                        let key = definition.key.to_string();
                        match current.remove(&key) {
                            Some(existing) if existing.definition == *definition => changes.unchanged.push(key),
                            Some(existing) => {
                                replace_feature(&mut tx, existing.id, definition, zone).await?;
                                changes.updated.push(key);
                            }
                            None => {
                                insert_feature(&mut tx, definition, zone).await?;
                                changes.created.push(key);
                            }
                        }
                    }
                    if prune {
                        for (key, feature) in current {
                            sqlx::query("DELETE FROM features WHERE id = $1").bind(feature.id).execute(&mut *tx).await?;
                            changes.removed.push(key);
                        }
                        changes.removed.sort();
                    }
                    tx.commit().await?;
                    Ok(changes)
                }

                async fn rebuild_usage_rollups(&self, zone: Tz) -> Result<()> {
                    let mut tx = self.pool.begin_with($store::WRITE_BEGIN).await?;
                    lock_catalog(&mut tx).await?;
                    let features = catalog_for_ingest(&mut tx).await?;
                    for table in ["usage_daily", "end_user_days", "feature_usage_daily"] {
                        sqlx::query(&format!("DELETE FROM {table}")).execute(&mut *tx).await?;
                    }
                    let mut rollup = Rollup::new(zone, &features);
                    scan_events(&mut tx, &mut rollup, None).await?;
                    rollup.flush(&mut tx).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn feature_days(&self, account: AccountId, from: NaiveDate, to: NaiveDate) -> Result<Vec<FeatureDay>> {
                    let rows = sqlx::query(
                        "SELECT feature_id, day, uses FROM feature_usage_daily WHERE account_id = $1 AND day >= $2 AND day <= $3 \
                         ORDER BY feature_id, day",
                    )
                    .bind(account.0)
                    .bind(from)
                    .bind(to)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map(|row| Ok(FeatureDay { feature_id: row.try_get("feature_id")?, day: row.try_get("day")?, uses: row.try_get("uses")? }))
                        .collect()
                }

                async fn event_days(&self, account: AccountId, from: NaiveDate, to: NaiveDate) -> Result<Vec<EventDay>> {
                    let rows = sqlx::query(
                        "SELECT event, day, count FROM usage_daily WHERE account_id = $1 AND day >= $2 AND day <= $3 ORDER BY event, day",
                    )
                    .bind(account.0)
                    .bind(from)
                    .bind(to)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map(|row| Ok(EventDay { event: row.try_get("event")?, day: row.try_get("day")?, count: row.try_get("count")? }))
                        .collect()
                }

                async fn active_users(&self, account: AccountId, from: NaiveDate, to: NaiveDate) -> Result<i64> {
                    Ok(sqlx::query_scalar(
                        "SELECT COUNT(DISTINCT user_id) FROM end_user_days WHERE account_id = $1 AND day >= $2 AND day <= $3",
                    )
                    .bind(account.0)
                    .bind(from)
                    .bind(to)
                    .fetch_one(&self.pool)
                    .await?)
                }

                async fn active_users_per_day(&self, account: AccountId, from: NaiveDate, to: NaiveDate) -> Result<Vec<(NaiveDate, i64)>> {
                    let rows = sqlx::query(
                        "SELECT day, COUNT(*) AS users FROM end_user_days WHERE account_id = $1 AND day >= $2 AND day <= $3 \
                         GROUP BY day ORDER BY day",
                    )
                    .bind(account.0)
                    .bind(from)
                    .bind(to)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter().map(|row| Ok((row.try_get("day")?, row.try_get("users")?))).collect()
                }

                async fn feature_adoption(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<FeatureAdoption>> {
                    let rows = sqlx::query(
                        "SELECT feature_id, COUNT(DISTINCT account_id) AS accounts, CAST(SUM(uses) AS BIGINT) AS uses FROM feature_usage_daily \
                         WHERE day >= $1 AND day <= $2 GROUP BY feature_id ORDER BY feature_id",
                    )
                    .bind(from)
                    .bind(to)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map(|row| {
                            Ok(FeatureAdoption {
                                feature_id: row.try_get("feature_id")?,
                                accounts: row.try_get("accounts")?,
                                uses: row.try_get("uses")?,
                            })
                        })
                        .collect()
                }

                async fn usage_history(&self, account: Option<AccountId>) -> Result<UsageHistory> {
                    let mut history = UsageHistory::default();
                    let mut qb = QueryBuilder::<$db>::new("SELECT account_id, feature_id, day, uses FROM feature_usage_daily");
                    if let Some(account) = account {
                        qb.push(" WHERE account_id = ").push_bind(account.0);
                    }
                    for row in qb.build().fetch_all(&self.pool).await? {
                        history.feature_days.push((
                            AccountId(row.try_get("account_id")?),
                            FeatureDay { feature_id: row.try_get("feature_id")?, day: row.try_get("day")?, uses: row.try_get("uses")? },
                        ));
                    }
                    let mut qb = QueryBuilder::<$db>::new("SELECT account_id, day, user_id FROM end_user_days");
                    if let Some(account) = account {
                        qb.push(" WHERE account_id = ").push_bind(account.0);
                    }
                    for row in qb.build().fetch_all(&self.pool).await? {
                        history.user_days.push((AccountId(row.try_get("account_id")?), row.try_get("day")?, row.try_get("user_id")?));
                    }
                    Ok(history)
                }

                async fn end_users(&self, account: AccountId) -> Result<Vec<EndUser>> {
                    let rows = sqlx::query(
                        "SELECT user_id, email, name, role, first_seen, last_seen FROM end_users WHERE account_id = $1 \
                         ORDER BY last_seen DESC, user_id",
                    )
                    .bind(account.0)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map(|row| {
                            Ok(EndUser {
                                user_id: row.try_get("user_id")?,
                                email: row.try_get("email")?,
                                name: row.try_get("name")?,
                                role: row.try_get("role")?,
                                first_seen: row.try_get("first_seen")?,
                                last_seen: row.try_get("last_seen")?,
                            })
                        })
                        .collect()
                }
            }
        }
    };
}

pub(crate) use usage_store;
