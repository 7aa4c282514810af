//! The feature catalog and the usage rollups: per account × event × day counts, active end
//! users per day, and per account × feature × day uses. Ingest keeps them current in the same
//! transaction as the events (see `ingest` in `sql.rs`); catalog edits re-derive a feature's
//! uses from the stored events, so nothing has to be sent again.

use crate::error::{Entity, StoreError};
use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use domain::usage::{Cadence, EventMatch, Feature, FeatureDefinition, FeatureKey, Importance, SeasonWindow, Tz};
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

/// An event name tracking received in a window: how many events, from how many accounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedEvent {
    pub event: String,
    pub events: i64,
    pub accounts: i64,
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
    /// The event names received in `[from, to]`, most used first (at most `limit`), with how
    /// many events and accounts: what a catalog editor suggests.
    async fn received_events(&self, from: NaiveDate, to: NaiveDate, limit: i64) -> Result<Vec<ReceivedEvent>>;
    /// The accounts that used one feature in `[from, to]`.
    async fn feature_accounts(&self, feature_id: i64, from: NaiveDate, to: NaiveDate) -> Result<Vec<AccountId>>;
    /// The end users whose latest group is this account, most recently seen first.
    async fn end_users(&self, account: AccountId) -> Result<Vec<EndUser>>;
    /// Every daily feature use and every active end-user day, of one account or of all: what
    /// health scoring reads to score accounts as of any day.
    async fn usage_history(&self, account: Option<AccountId>) -> Result<UsageHistory>;
    /// The rollups of these accounts, on and after `since` when given: what a resident engine
    /// re-reads of accounts that changed.
    async fn usage_of(&self, accounts: &[AccountId], since: Option<NaiveDate>) -> Result<UsageHistory>;
}

/// Daily rollups of many accounts, as `usage_history` returns them.
#[derive(Debug, Clone, Default)]
pub struct UsageHistory {
    pub feature_days: Vec<(AccountId, FeatureDay)>,
    /// Every tracked event per account and day.
    pub event_days: Vec<(AccountId, NaiveDate, i64)>,
    pub user_days: Vec<(AccountId, NaiveDate, String)>,
}

/// A `features` row: how events match, cadence and season, importance and properties as stored.
#[derive(sqlx::FromRow)]
pub(crate) struct FeatureRow {
    id: i64,
    key: String,
    name: String,
    name_en: Option<String>,
    event: String,
    match_kind: String,
    properties: String,
    cadence: String,
    season: Option<String>,
    importance: String,
}

impl TryFrom<FeatureRow> for Feature {
    type Error = StoreError;

    fn try_from(row: FeatureRow) -> Result<Feature> {
        let key = row.key;
        let corrupt = |detail: String| StoreError::Corrupt { entity: Entity::Feature, detail };
        let season = row
            .season
            .map(|s| SeasonWindow::parse(&s))
            .transpose()
            .map_err(|r| corrupt(format!("{key}: season {r:?}")))?;
        Ok(Feature {
            id: row.id,
            definition: FeatureDefinition {
                key: FeatureKey::parse(&key).map_err(|r| corrupt(format!("key {key}: {r:?}")))?,
                name: row.name,
                name_en: row.name_en,
                event: EventMatch::from_parts(&row.match_kind, row.event)
                    .map_err(|r| corrupt(format!("{key}: match {r:?}")))?,
                properties: serde_json::from_str(&row.properties)
                    .map_err(|e| corrupt(format!("{key}: properties {e}")))?,
                cadence: Cadence::from_parts(&row.cadence, season)
                    .map_err(|r| corrupt(format!("{key}: cadence {r:?}")))?,
                importance: Importance::parse(&row.importance)
                    .map_err(|r| corrupt(format!("{key}: importance {r:?}")))?,
            },
        })
    }
}

macro_rules! usage_store {
    ($store:ident, $db:ident) => {
        /// Rollup SQL for this backend; `ingest` in the parent module adds to a `Rollup`.
        mod usage_sql {
            use super::{$db, $store};
            use $crate::error::{Entity, StoreError};
            use $crate::usage::{
                CatalogChanges, EndUser, EventDay, FeatureAdoption, FeatureDay, ReceivedEvent, UsageHistory, UsageStore,
            };
            use $crate::Result;
            use async_trait::async_trait;
            use chrono::NaiveDate;
            use $crate::event_batches::{decode_batch, Record, RecordRef};
            use domain::tracking::MessageKind;
            use domain::usage::{local_day, EventMatch, Feature, FeatureDefinition, FeatureKey, Tz};
            use domain::AccountId;
            use serde_json::Value;
            use sqlx::{FromRow, QueryBuilder, Row};
            use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

            const FEATURE_COLUMNS: &str = "id, key, name, name_en, event, match_kind, properties, cadence, season, importance";
            /// Event batches re-read per statement when re-deriving rollups.
            const SCAN_BATCHES: i64 = 20;

            fn feature_from_row(row: &<$db as sqlx::Database>::Row) -> Result<Feature> {
                Feature::try_from($crate::usage::FeatureRow::from_row(row)?)
            }

            /// The usage version, which catalog edits, rollup rebuilds and account deletions move
            /// on (see `ingest_memory`). It is read under a shared lock that catalog edits take
            /// exclusively (PostgreSQL; SQLite's single writer already orders them), so the
            /// catalog of this version holds until the transaction ends.
            pub(super) async fn catalog_version(tx: &mut sqlx::Transaction<'_, $db>) -> Result<i64> {
                Ok(sqlx::query_scalar(&format!("SELECT version FROM usage_catalog WHERE id = 1{}", $store::SHARE_LOCK))
                    .fetch_one(&mut **tx)
                    .await?)
            }

            pub(super) async fn catalog_features(tx: &mut sqlx::Transaction<'_, $db>) -> Result<Vec<Feature>> {
                let rows = sqlx::query(&format!("SELECT {FEATURE_COLUMNS} FROM features ORDER BY id")).fetch_all(&mut **tx).await?;
                rows.iter().map(feature_from_row).collect()
            }

            pub(super) async fn lock_catalog(tx: &mut sqlx::Transaction<'_, $db>) -> Result<()> {
                sqlx::query("UPDATE usage_catalog SET version = version + 1 WHERE id = 1").execute(&mut **tx).await?;
                Ok(())
            }

            /// Rollup increments gathered during one transaction, written once at its end in key
            /// order (so concurrent ingests lock rows in the same order). Keys are grouped by
            /// account and day so that counting an event allocates nothing once its name was seen.
            pub(super) struct Rollup<'f> {
                zone: Tz,
                features: &'f [Feature],
                events: HashMap<(i64, NaiveDate), HashMap<String, i64>>,
                active: HashMap<(i64, NaiveDate), HashSet<String>>,
                anonymous: HashMap<(i64, NaiveDate), HashSet<String>>,
                uses: HashMap<(i64, i64, NaiveDate), i64>,
                /// Anonymous ids known to have become a user (alias calls): their activity is the user's.
                aliases: HashMap<String, String>,
            }

            fn add_name(set: &mut HashMap<(i64, NaiveDate), HashSet<String>>, key: (i64, NaiveDate), name: &str) {
                let names = set.entry(key).or_default();
                if !names.contains(name) {
                    names.insert(name.to_owned());
                }
            }

            /// Every (account, day, name) of a grouped set, in key order.
            fn sorted_names(set: HashMap<(i64, NaiveDate), HashSet<String>>) -> Vec<(i64, NaiveDate, String)> {
                let mut rows: Vec<_> = set.into_iter().flat_map(|((a, d), names)| names.into_iter().map(move |n| (a, d, n))).collect();
                rows.sort_unstable();
                rows
            }

            impl<'f> Rollup<'f> {
                pub(super) fn new(zone: Tz, features: &'f [Feature]) -> Rollup<'f> {
                    Rollup {
                        zone,
                        features,
                        events: HashMap::new(),
                        active: HashMap::new(),
                        anonymous: HashMap::new(),
                        uses: HashMap::new(),
                        aliases: HashMap::new(),
                    }
                }

                /// Counts one stored event.
                pub(super) fn add(&mut self, r: &RecordRef<'_>) {
                    if !matches!(r.kind, MessageKind::Track | MessageKind::Page | MessageKind::Screen) {
                        return;
                    }
                    let day = local_day(r.occurred_at, self.zone);
                    let aliased = r.anonymous_id.and_then(|a| self.aliases.get(a)).map(String::as_str);
                    match (r.user_id.or(aliased), r.anonymous_id) {
                        (Some(user), _) => add_name(&mut self.active, (r.account, day), user),
                        (None, Some(anonymous)) => add_name(&mut self.anonymous, (r.account, day), anonymous),
                        (None, None) => {}
                    }
                    let (MessageKind::Track, Some(event)) = (r.kind, r.event) else { return };
                    let counts = self.events.entry((r.account, day)).or_default();
                    match counts.get_mut(event) {
                        Some(count) => *count += 1,
                        None => {
                            counts.insert(event.to_owned(), 1);
                        }
                    }
                    for feature in self.features.iter().filter(|f| f.definition.event.matches(event)) {
                        if feature.definition.matches(event, r.properties) {
                            *self.uses.entry((r.account, feature.id, day)).or_default() += 1;
                        }
                    }
                }

                /// Only the anonymous activity of a stored event (its other rollups exist already).
                pub(super) fn add_anonymous(&mut self, r: &RecordRef<'_>) {
                    if let (MessageKind::Track | MessageKind::Page | MessageKind::Screen, None, Some(anonymous)) = (r.kind, r.user_id, r.anonymous_id) {
                        add_name(&mut self.anonymous, (r.account, local_day(r.occurred_at, self.zone)), anonymous);
                    }
                }

                /// A user active on an account on a day (an alias call's earlier activity).
                pub(super) fn add_user_day(&mut self, account: i64, day: NaiveDate, user: &str) {
                    add_name(&mut self.active, (account, day), user);
                }

                /// From now on `previous` is `user`: activity this rollup holds for the anonymous
                /// id becomes the user's, and so does any later event of it.
                pub(super) fn alias(&mut self, previous: &str, user: &str) {
                    let moved: Vec<(i64, NaiveDate)> =
                        self.anonymous.iter_mut().filter_map(|(key, names)| names.remove(previous).then_some(*key)).collect();
                    for key in moved {
                        add_name(&mut self.active, key, user);
                    }
                    self.aliases.insert(previous.to_owned(), user.to_owned());
                }

                pub(super) fn with_aliases(mut self, aliases: HashMap<String, String>) -> Self {
                    self.aliases = aliases;
                    self
                }

                /// The accounts this rollup adds to, each with the first day it adds to.
                pub(super) fn accounts(&self) -> Vec<(AccountId, NaiveDate)> {
                    let mut first: HashMap<i64, NaiveDate> = HashMap::new();
                    let days = self.events.keys().chain(self.active.keys()).chain(self.anonymous.keys()).copied();
                    for (account, day) in days.chain(self.uses.keys().map(|(a, _, d)| (*a, *d))) {
                        let earliest = first.entry(account).or_insert(day);
                        *earliest = (*earliest).min(day);
                    }
                    let mut accounts: Vec<(AccountId, NaiveDate)> = first.into_iter().map(|(a, d)| (AccountId(a), d)).collect();
                    accounts.sort_unstable();
                    accounts
                }

                /// Writes the rollups; active days in `known_days` are known to be stored already.
                /// Returns the active days it wrote.
                pub(super) async fn flush(
                    self,
                    tx: &mut sqlx::Transaction<'_, $db>,
                    known_days: &HashSet<(i64, NaiveDate, String)>,
                ) -> Result<Vec<(i64, NaiveDate, String)>> {
                    let mut events: Vec<_> = self
                        .events
                        .into_iter()
                        .flat_map(|((a, d), counts)| counts.into_iter().map(move |(e, c)| (a, d, e, c)))
                        .collect();
                    events.sort_unstable();
                    upsert_rows(
                        tx,
                        "INSERT INTO usage_daily (account_id, day, event, count)",
                        &["bigint", "date", "text", "bigint"],
                        &events,
                        "ON CONFLICT (account_id, day, event) DO UPDATE SET count = usage_daily.count + excluded.count",
                    )
                    .await?;
                    let mut active = sorted_names(self.active);
                    active.retain(|day| !known_days.contains(day));
                    upsert_rows(
                        tx,
                        "INSERT INTO end_user_days (account_id, day, user_id)",
                        &["bigint", "date", "text"],
                        &active,
                        "ON CONFLICT (account_id, day, user_id) DO NOTHING",
                    )
                    .await?;
                    upsert_rows(
                        tx,
                        "INSERT INTO anonymous_days (account_id, day, anonymous_id)",
                        &["bigint", "date", "text"],
                        &sorted_names(self.anonymous),
                        "ON CONFLICT (anonymous_id, account_id, day) DO NOTHING",
                    )
                    .await?;
                    let mut uses: Vec<_> = self.uses.into_iter().map(|((a, f, d), u)| (a, f, d, u)).collect();
                    uses.sort_unstable();
                    upsert_rows(
                        tx,
                        "INSERT INTO feature_usage_daily (account_id, feature_id, day, uses)",
                        &["bigint", "bigint", "date", "bigint"],
                        &uses,
                        "ON CONFLICT (account_id, feature_id, day) DO UPDATE SET uses = feature_usage_daily.uses + excluded.uses",
                    )
                    .await?;
                    Ok(active)
                }
            }

            /// Appends the rollups of `accounts` (all when `None`) from `since` (all days when `None`).
            async fn read_history(
                pool: &sqlx::Pool<$db>,
                accounts: Option<&[AccountId]>,
                since: Option<NaiveDate>,
                history: &mut UsageHistory,
            ) -> Result<()> {
                let filter = |qb: &mut QueryBuilder<'_, $db>| {
                    qb.push(" WHERE 1 = 1");
                    if let Some(accounts) = accounts {
                        qb.push(" AND account_id IN (");
                        let mut ids = qb.separated(", ");
                        for id in accounts {
                            ids.push_bind(id.0);
                        }
                        qb.push(")");
                    }
                    if let Some(since) = since {
                        qb.push(" AND day >= ").push_bind(since);
                    }
                };
                if accounts.is_some_and(<[AccountId]>::is_empty) {
                    return Ok(());
                }
                let mut qb = QueryBuilder::<$db>::new("SELECT account_id, feature_id, day, uses FROM feature_usage_daily");
                filter(&mut qb);
                for row in qb.build().fetch_all(pool).await? {
                    history.feature_days.push((
                        AccountId(row.try_get("account_id")?),
                        FeatureDay { feature_id: row.try_get("feature_id")?, day: row.try_get("day")?, uses: row.try_get("uses")? },
                    ));
                }
                let mut qb = QueryBuilder::<$db>::new("SELECT account_id, day, CAST(SUM(count) AS BIGINT) AS events FROM usage_daily");
                filter(&mut qb);
                qb.push(" GROUP BY account_id, day");
                for row in qb.build().fetch_all(pool).await? {
                    history.event_days.push((AccountId(row.try_get("account_id")?), row.try_get("day")?, row.try_get("events")?));
                }
                let mut qb = QueryBuilder::<$db>::new("SELECT account_id, day, user_id FROM end_user_days");
                filter(&mut qb);
                for row in qb.build().fetch_all(pool).await? {
                    history.user_days.push((AccountId(row.try_get("account_id")?), row.try_get("day")?, row.try_get("user_id")?));
                }
                Ok(())
            }

            /// `insert` of `rows` (tuples whose elements have the PostgreSQL `types`), bound as one
            /// JSON array, then `conflict`.
            async fn upsert_rows<T: serde::Serialize>(
                tx: &mut sqlx::Transaction<'_, $db>,
                insert: &str,
                types: &[&str],
                rows: &[T],
                conflict: &str,
            ) -> Result<()> {
                if rows.is_empty() {
                    return Ok(());
                }
                sqlx::query(&format!("{insert} {} {conflict}", <$store>::json_rows(types)))
                    .bind(serde_json::to_string(rows).expect("numbers, dates and strings always serialize"))
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            }

            /// Every alias call's previous id and the user it became.
            pub(super) async fn all_aliases(tx: &mut sqlx::Transaction<'_, $db>) -> Result<HashMap<String, String>> {
                let rows = sqlx::query("SELECT previous_id, user_id FROM aliases").fetch_all(&mut **tx).await?;
                rows.iter().map(|row| Ok((row.try_get("previous_id")?, row.try_get("user_id")?))).collect()
            }

            /// The ids of the accounts that exist: events of deleted accounts stay in their batches.
            pub(super) async fn existing_accounts(tx: &mut sqlx::Transaction<'_, $db>) -> Result<HashSet<i64>> {
                Ok(sqlx::query_scalar("SELECT id FROM accounts").fetch_all(&mut **tx).await?.into_iter().collect())
            }

            /// The records of the stored batches after batch `after`, a page of batches at a time,
            /// with the id of the page's last batch; `None` past the last.
            pub(super) async fn batch_page(tx: &mut sqlx::Transaction<'_, $db>, after: i64) -> Result<Option<(i64, Vec<Record>)>> {
                let rows = sqlx::query("SELECT id, payload FROM event_batches WHERE id > $1 ORDER BY id LIMIT $2")
                    .bind(after)
                    .bind(SCAN_BATCHES)
                    .fetch_all(&mut **tx)
                    .await?;
                let Some(last) = rows.last() else { return Ok(None) };
                let mut records = Vec::new();
                for row in &rows {
                    records.extend(decode_batch(row.try_get("id")?, &row.try_get::<Vec<u8>, _>("payload")?)?);
                }
                Ok(Some((last.try_get("id")?, records)))
            }

            /// Re-reads the stored batches page by page into a rollup, skipping events of deleted
            /// accounts. `only` narrows the scan to a feature's events.
            async fn scan_events(
                tx: &mut sqlx::Transaction<'_, $db>,
                rollup: &mut Rollup<'_>,
                only: Option<&EventMatch>,
            ) -> Result<()> {
                let accounts = existing_accounts(tx).await?;
                let mut after: i64 = 0;
                while let Some((last, records)) = batch_page(tx, after).await? {
                    after = last;
                    for record in records {
                        let wanted = only.is_none_or(|m| record.kind == MessageKind::Track && record.event.as_deref().is_some_and(|e| m.matches(e)));
                        if wanted && accounts.contains(&record.account) {
                            rollup.add(&record.as_ref());
                        }
                    }
                }
                Ok(())
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
                rollup.anonymous.clear();
                rollup.flush(tx, &HashSet::new()).await?;
                Ok(())
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
                    .bind(d.name_en.clone())
            }

            async fn insert_feature(tx: &mut sqlx::Transaction<'_, $db>, d: &FeatureDefinition, zone: Tz) -> Result<Feature> {
                let id: i64 = bind_definition(
                    sqlx::query(
                        "INSERT INTO features (key, name, event, match_kind, properties, cadence, season, importance, name_en) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
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
                         season = $7, importance = $8, name_en = $9 WHERE id = $10",
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
                    let features = catalog_features(&mut tx).await?;
                    for table in ["usage_daily", "end_user_days", "anonymous_days", "feature_usage_daily"] {
                        sqlx::query(&format!("DELETE FROM {table}")).execute(&mut *tx).await?;
                    }
                    let aliases = all_aliases(&mut tx).await?;
                    let mut rollup = Rollup::new(zone, &features).with_aliases(aliases);
                    scan_events(&mut tx, &mut rollup, None).await?;
                    rollup.flush(&mut tx, &HashSet::new()).await?;
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

                async fn received_events(&self, from: NaiveDate, to: NaiveDate, limit: i64) -> Result<Vec<ReceivedEvent>> {
                    let rows = sqlx::query(
                        "SELECT event, CAST(SUM(count) AS BIGINT) AS events, COUNT(DISTINCT account_id) AS accounts \
                         FROM usage_daily WHERE day >= $1 AND day <= $2 GROUP BY event ORDER BY events DESC, event LIMIT $3",
                    )
                    .bind(from)
                    .bind(to)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map(|row| {
                            Ok(ReceivedEvent {
                                event: row.try_get("event")?,
                                events: row.try_get("events")?,
                                accounts: row.try_get("accounts")?,
                            })
                        })
                        .collect()
                }

                async fn feature_accounts(&self, feature_id: i64, from: NaiveDate, to: NaiveDate) -> Result<Vec<AccountId>> {
                    let ids: Vec<i64> = sqlx::query_scalar(
                        "SELECT DISTINCT account_id FROM feature_usage_daily \
                         WHERE feature_id = $1 AND day >= $2 AND day <= $3 AND uses > 0 ORDER BY account_id",
                    )
                    .bind(feature_id)
                    .bind(from)
                    .bind(to)
                    .fetch_all(&self.pool)
                    .await?;
                    Ok(ids.into_iter().map(AccountId).collect())
                }

                async fn usage_history(&self, account: Option<AccountId>) -> Result<UsageHistory> {
                    let mut history = UsageHistory::default();
                    read_history(&self.pool, account.as_ref().map(std::slice::from_ref), None, &mut history).await?;
                    Ok(history)
                }

                async fn usage_of(&self, accounts: &[AccountId], since: Option<NaiveDate>) -> Result<UsageHistory> {
                    let mut history = UsageHistory::default();
                    for part in accounts.chunks(1_000) {
                        read_history(&self.pool, Some(part), since, &mut history).await?;
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
