//! Tracking ingestion: one transaction per call stores the batch of events, end users, aliases
//! and group traits, attributes waiting events, and rolls usage up; the refused messages the
//! tracking debugger shows; and the stored events read back.

use crate::{IngestCounts, RefusedMessage, Result, StoredEvent};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::tracking::Message;
use domain::AccountId;

#[async_trait]
pub trait IngestStore: Send + Sync {
    /// Keeps tracking messages the API refused, for the debugger.
    async fn record_refused(&self, refused: &[RefusedMessage]) -> Result<()>;
    /// The most recent refused tracking messages, newest first.
    async fn refused_messages(&self, limit: i64) -> Result<Vec<RefusedMessage>>;
    /// Stores tracking messages in one transaction, in order: deduplicates by message id,
    /// applies identify/group/alias to end users and accounts, attributes events, and attributes
    /// a user's earlier unattributed events when a group call links them; adds what it stored to
    /// the usage rollups, counting days in `zone`; and logs the accounts whose usage changed in
    /// the change log, in the same transaction, so other nodes learn of every committed ingest.
    async fn ingest(
        &self,
        messages: &[Message],
        received_at: DateTime<Utc>,
        create_accounts: bool,
        zone: domain::usage::Tz,
    ) -> Result<IngestCounts>;
    /// Stored events, oldest first (for tests and backfill checks).
    async fn events(&self, account: Option<AccountId>, limit: i64) -> Result<Vec<StoredEvent>>;
}

macro_rules! ingest_store {
    ($store:ident, $db:ident) => {
        mod ingest_sql {
            use super::{$db, $store, select_in, usage_sql, DbRow};
            use $crate::error::{Entity, StoreError};
            use $crate::event_batches::{encode_keys, message_key, BatchWriter, Record, RecordRef, RecentMessages, DEDUP_WINDOW};
            use $crate::ingest_memory::{IngestMemory, KnownPerson};
            use $crate::sql::{custom_from_json, custom_to_json, field_sources_from_json, sql_time, CHUNK};
            use $crate::{IngestCounts, RefusedMessage, Result, StoredEvent};
            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use domain::settings::{TrackingFieldSources, WorkspaceSettings};
            use domain::tracking::{GroupFields, JsonObject, Message, MessageKind};
            use domain::AccountId;
            use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
            use sqlx::{QueryBuilder, Row};

            /// Moves events stored one per row (before event batches, migration 0014) into batches,
            /// `message_ids` and `unattributed_events`, then drops the old table. Only the first open
            /// after that migration finds the table.
            pub(super) async fn adopt_row_events(pool: &sqlx::Pool<$db>) -> Result<()> {
                let mut tx = pool.begin_with(<$store>::WRITE_BEGIN).await?;
                let exists: i64 = sqlx::query_scalar(<$store>::TABLE_EXISTS).bind("usage_events").fetch_one(&mut *tx).await?;
                if exists == 0 {
                    return Ok(());
                }
                let zone_name: Option<String> =
                    sqlx::query_scalar("SELECT time_zone FROM workspace_settings WHERE id = 1").fetch_optional(&mut *tx).await?;
                let zone = zone_name.unwrap_or_else(|| WorkspaceSettings::default().time_zone).parse().unwrap_or(domain::usage::Tz::UTC);
                let mut rollup = usage_sql::Rollup::new(zone, &[]);
                let mut after: i64 = 0;
                loop {
                    let rows = sqlx::query(&format!(
                        "SELECT id, account_id, received_at, {UNATTRIBUTED_COLUMNS} FROM usage_events WHERE id > $1 ORDER BY id LIMIT 10000"
                    ))
                    .bind(after)
                    .fetch_all(&mut *tx)
                    .await?;
                    let Some(last) = rows.last() else { break };
                    after = last.try_get("id")?;
                    let mut keys = Vec::with_capacity(rows.len());
                    let mut batch = BatchWriter::default();
                    for row in &rows {
                        keys.push(message_key(&row.try_get::<String, _>("message_id")?));
                        if let Some(account) = row.try_get::<Option<i64>, _>("account_id")? {
                            let record = unattributed_record(row, account, None)?;
                            rollup.add_anonymous(&record.as_ref());
                            batch.push(&record.as_ref());
                        }
                    }
                    insert_batch(&mut tx, batch, &encode_keys(&keys), Utc::now()).await?;
                }
                sqlx::query(&format!(
                    "INSERT INTO unattributed_events ({UNATTRIBUTED_COLUMNS}, received_at) \
                     SELECT {UNATTRIBUTED_COLUMNS}, received_at FROM usage_events WHERE account_id IS NULL ORDER BY id"
                ))
                .execute(&mut *tx)
                .await?;
                rollup.flush(&mut tx, &HashSet::new()).await?;
                sqlx::query("DROP TABLE usage_events").execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(())
            }

            /// Who sent a message: its user id, else its anonymous id.
            fn person_of(m: &Message) -> Option<&str> {
                m.user_id.as_deref().or(m.anonymous_id.as_deref())
            }

            /// What one ingest call learned about one person (end user).
            struct PersonSeen {
                first: DateTime<Utc>,
                last: DateTime<Utc>,
                account: Option<i64>,
                email: Option<String>,
                name: Option<String>,
                role: Option<String>,
                traits: serde_json::Map<String, serde_json::Value>,
            }

            impl PersonSeen {
                fn new(at: DateTime<Utc>) -> PersonSeen {
                    PersonSeen { first: at, last: at, account: None, email: None, name: None, role: None, traits: Default::default() }
                }

                fn add(&mut self, m: &Message, group_of: &HashMap<String, i64>, person: &str) {
                    self.first = self.first.min(m.timestamp);
                    self.last = self.last.max(m.timestamp);
                    if m.kind == MessageKind::Group {
                        self.account = group_of.get(person).copied().or(self.account);
                    }
                    if m.kind == MessageKind::Identify {
                        self.email = m.trait_text("email").map(|e| e.to_lowercase()).or(self.email.take());
                        self.name = m.trait_text("name").or(self.name.take());
                        self.role = m.trait_text("role").or(self.role.take());
                        self.traits.extend(m.traits.clone());
                    }
                }
            }

            async fn create_tracked_account(
                tx: &mut sqlx::Transaction<'_, $db>,
                group: &str,
                m: &Message,
                at: DateTime<Utc>,
            ) -> Result<i64> {
                let name = m.trait_text("name").unwrap_or_else(|| group.to_owned());
                Ok(sqlx::query_scalar(
                    "INSERT INTO accounts (external_id, name, custom, updated_at, created_by_tracking, search_key) \
                     VALUES ($1, $2, '{}', $3, $4, $5) RETURNING id",
                )
                .bind(group)
                .bind(&name)
                .bind(at)
                .bind(true)
                .bind(domain::search::key_of(&name, group, None, &Default::default()))
                .fetch_one(&mut **tx)
                .await?)
            }

            /// Which source wins per account field over group traits, as the workspace says.
            async fn tracking_field_sources(tx: &mut sqlx::Transaction<'_, $db>) -> Result<TrackingFieldSources> {
                let stored: Option<String> =
                    sqlx::query_scalar("SELECT tracking_field_sources FROM workspace_settings WHERE id = 1")
                        .fetch_optional(&mut **tx)
                        .await?;
                stored.map_or(Ok(TrackingFieldSources::default()), |text| field_sources_from_json(&text))
            }

            /// A group call's traits `name`, `employees`, `industry` and `plan` (the custom field
            /// `plan`), where the workspace's field sources let them; each change is in the audit log.
            async fn apply_group_traits(
                tx: &mut sqlx::Transaction<'_, $db>,
                id: i64,
                m: &Message,
                sources: &TrackingFieldSources,
            ) -> Result<()> {
                let row = sqlx::query("SELECT external_id, name, domain, employees, industry, custom FROM accounts WHERE id = $1")
                    .bind(id)
                    .fetch_one(&mut **tx)
                    .await?;
                let mut custom = custom_from_json(Entity::Account, &row.try_get::<String, _>("custom")?)?;
                let external_id: String = row.try_get("external_id")?;
                let before = GroupFields {
                    name: row.try_get("name")?,
                    employees: row.try_get("employees")?,
                    industry: row.try_get("industry")?,
                    plan: custom.get("plan").cloned(),
                };
                let after = domain::tracking::apply_group_traits(&before, &external_id, m, sources);
                let changes = after.changes_from(&before);
                if changes.is_empty() {
                    return Ok(());
                }
                if let Some(plan) = &after.plan {
                    custom.insert("plan".into(), plan.clone());
                }
                let domain: Option<String> = row.try_get("domain")?;
                sqlx::query(
                    "UPDATE accounts SET name = $2, employees = $3, industry = $4, custom = $5, search_key = $6 WHERE id = $1",
                )
                .bind(id)
                .bind(&after.name)
                .bind(after.employees)
                .bind(&after.industry)
                .bind(custom_to_json(&custom))
                .bind(domain::search::key_of(&after.name, &external_id, domain.as_deref(), &custom))
                .execute(&mut **tx)
                .await?;
                sqlx::query(
                    "INSERT INTO audit_log (occurred_at, actor_id, actor, action, entity, entity_id, changes) \
                     VALUES ($1, NULL, 'tracking', 'update', 'account', $2, $3)",
                )
                .bind(Utc::now())
                .bind(id.to_string())
                .bind(serde_json::to_string(&changes).expect("JSON values always serialize"))
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            /// Stores events that have no account yet as rows of their own (see `event_batches`).
            async fn insert_unattributed(
                tx: &mut sqlx::Transaction<'_, $db>,
                pending: &mut Vec<&Message>,
                received_at: DateTime<Utc>,
            ) -> Result<()> {
                for chunk in pending.chunks(CHUNK) {
                    let mut qb = QueryBuilder::<$db>::new(
                        "INSERT INTO unattributed_events (message_id, kind, user_id, anonymous_id, event, properties, context, \
                         occurred_at, received_at) ",
                    );
                    qb.push_values(chunk, |mut b, m| {
                        b.push_bind(m.message_id.clone())
                            .push_bind(m.kind.as_str())
                            .push_bind(m.user_id.clone())
                            .push_bind(m.anonymous_id.clone())
                            .push_bind(m.event.clone())
                            .push_bind(m.properties.text().to_owned())
                            .push_bind(m.context.text().to_owned())
                            .push_bind(m.timestamp)
                            .push_bind(received_at);
                    });
                    qb.build().execute(&mut **tx).await?;
                }
                pending.clear();
                Ok(())
            }

            const UNATTRIBUTED_COLUMNS: &str = "message_id, kind, user_id, anonymous_id, event, properties, context, occurred_at";

            /// An unattributed event row as a record of `account`, its user replaced by `user` if given.
            fn unattributed_record(row: &DbRow, account: i64, user: Option<&str>) -> Result<Record> {
                let corrupt = |detail: String| StoreError::Corrupt { entity: Entity::Event, detail };
                let message_id: String = row.try_get("message_id")?;
                let kind: String = row.try_get("kind")?;
                let json = |column: &str| -> Result<JsonObject> {
                    let text: String = row.try_get(column)?;
                    serde_json::from_str(&text).map_err(|e| corrupt(format!("{message_id}: {column}: {e}")))
                };
                Ok(Record {
                    kind: MessageKind::parse(&kind).ok_or_else(|| corrupt(format!("{message_id}: kind {kind}")))?,
                    account,
                    user_id: user.map(str::to_owned).or(row.try_get("user_id")?),
                    anonymous_id: row.try_get("anonymous_id")?,
                    event: row.try_get("event")?,
                    properties: json("properties")?,
                    context: json("context")?,
                    occurred_at: row.try_get("occurred_at")?,
                    message_id,
                })
            }

            /// Moves a person's unattributed events onto `account` (into this call's batch and rollup).
            async fn attribute_person(
                tx: &mut sqlx::Transaction<'_, $db>,
                person: &str,
                account: i64,
                user: Option<&str>,
                batch: &mut BatchWriter,
                rollup: &mut usage_sql::Rollup<'_>,
            ) -> Result<()> {
                let rows = sqlx::query(&format!(
                    "DELETE FROM unattributed_events WHERE user_id = $1 OR (user_id IS NULL AND anonymous_id = $1) \
                     RETURNING id, {UNATTRIBUTED_COLUMNS}"
                ))
                .bind(person)
                .fetch_all(&mut **tx)
                .await?;
                let mut records = rows.iter().map(|row| Ok((row.try_get::<i64, _>("id")?, unattributed_record(row, account, user)?))).collect::<Result<Vec<_>>>()?;
                records.sort_by_key(|(id, _)| *id);
                for (_, record) in &records {
                    let record = record.as_ref();
                    rollup.add(&record);
                    batch.push(&record);
                }
                Ok(())
            }

            /// Brings the in-memory index of recent message keys up to date with the batches other
            /// processes committed; called inside an ingest transaction, after its lock is taken.
            /// Whether there were any.
            async fn catch_up(tx: &mut sqlx::Transaction<'_, $db>, recent: &mut RecentMessages, now: DateTime<Utc>) -> Result<bool> {
                let rows = sqlx::query(
                    "SELECT id, received_at, message_keys FROM event_batches WHERE id > $1 AND received_at >= $2 ORDER BY id",
                )
                .bind(recent.last_batch())
                .bind(now - DEDUP_WINDOW)
                .fetch_all(&mut **tx)
                .await?;
                for row in &rows {
                    recent.add(row.try_get("id")?, row.try_get("received_at")?, &row.try_get::<Vec<u8>, _>("message_keys")?);
                }
                let first = recent.last_batch() == 0;
                if first {
                    let newest: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM event_batches").fetch_one(&mut **tx).await?;
                    recent.add(newest.unwrap_or(0), now, &[]);
                }
                recent.forget_before(now);
                Ok(first || !rows.is_empty())
            }

            /// Writes one ingest transaction's batch row: its attributed records and the keys of every
            /// new message it stored.
            async fn insert_batch(
                tx: &mut sqlx::Transaction<'_, $db>,
                batch: BatchWriter,
                keys: &[u8],
                received_at: DateTime<Utc>,
            ) -> Result<i64> {
                let (events, payload) = batch.finish();
                Ok(sqlx::query_scalar(
                    "INSERT INTO event_batches (received_at, events, message_keys, payload) VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .bind(received_at)
                .bind(events)
                .bind(keys)
                .bind(payload)
                .fetch_one(&mut **tx)
                .await?)
            }

            /// Writes the end users an ingest saw whose rows change (see `KnownPerson::needs_writing`);
            /// returns their rows as now stored, for the cache once committed.
            async fn upsert_people(
                tx: &mut sqlx::Transaction<'_, $db>,
                people: HashMap<String, PersonSeen>,
                known: &HashMap<String, KnownPerson>,
            ) -> Result<Vec<(String, KnownPerson)>> {
                let mut rows = Vec::new();
                let mut stored = Vec::new();
                for (person, seen) in people {
                    let before = known.get(&person);
                    let next = KnownPerson {
                        account: seen.account.or(before.and_then(|k| k.account)),
                        email: seen.email.or_else(|| before.and_then(|k| k.email.clone())),
                        name: seen.name.or_else(|| before.and_then(|k| k.name.clone())),
                        role: seen.role.or_else(|| before.and_then(|k| k.role.clone())),
                        first_seen: before.map_or(seen.first, |k| k.first_seen.min(seen.first)),
                        last_seen: before.map_or(seen.last, |k| k.last_seen.max(seen.last)),
                    };
                    if before.is_some_and(|k| !k.needs_writing(&next)) {
                        continue;
                    }
                    let traits = serde_json::Value::Object(seen.traits).to_string();
                    rows.push((
                        person.clone(),
                        next.account,
                        next.email.clone(),
                        next.name.clone(),
                        next.role.clone(),
                        traits,
                        sql_time(next.first_seen),
                        sql_time(next.last_seen),
                    ));
                    stored.push((person, next));
                }
                if rows.is_empty() {
                    return Ok(stored);
                }
                sqlx::query(&format!(
                    "INSERT INTO end_users (user_id, account_id, email, name, role, traits, first_seen, last_seen) {} \
                     ON CONFLICT (user_id) DO UPDATE SET account_id = COALESCE(excluded.account_id, end_users.account_id), \
                     email = COALESCE(excluded.email, end_users.email), name = COALESCE(excluded.name, end_users.name), \
                     role = COALESCE(excluded.role, end_users.role), \
                     first_seen = CASE WHEN excluded.first_seen < end_users.first_seen THEN excluded.first_seen ELSE end_users.first_seen END, \
                     last_seen = CASE WHEN excluded.last_seen > end_users.last_seen THEN excluded.last_seen ELSE end_users.last_seen END",
                    <$store>::json_rows(&["text", "bigint", "text", "text", "text", "text", "timestamptz", "timestamptz"])
                ))
                .bind(serde_json::to_string(&rows).expect("strings and integers always serialize"))
                .execute(&mut **tx)
                .await?;
                Ok(stored)
            }

            /// Reads the stored rows of end users the cache does not hold.
            async fn read_people(tx: &mut sqlx::Transaction<'_, $db>, people: &[String], known: &mut HashMap<String, KnownPerson>) -> Result<()> {
                let unknown: Vec<&String> = people.iter().filter(|p| !known.contains_key(*p)).collect();
                let sql = "SELECT user_id, account_id, email, name, role, first_seen, last_seen FROM end_users WHERE user_id IN";
                for row in select_in(&mut **tx, sql, &unknown, "text").await? {
                    known.insert(
                        row.try_get("user_id")?,
                        KnownPerson {
                            account: row.try_get("account_id")?,
                            email: row.try_get("email")?,
                            name: row.try_get("name")?,
                            role: row.try_get("role")?,
                            first_seen: row.try_get("first_seen")?,
                            last_seen: row.try_get("last_seen")?,
                        },
                    );
                }
                Ok(())
            }

            /// `Store::ingest`, with what this store remembers from its earlier ingests (the caller
            /// forgets it if this fails).
            async fn ingest_remembering(
                pool: &sqlx::Pool<$db>,
                origin: &str,
                memory: &mut IngestMemory,
                messages: &[Message],
                received_at: DateTime<Utc>,
                create_accounts: bool,
                zone: domain::usage::Tz,
            ) -> Result<IngestCounts> {
                let mut tx = pool.begin_with(<$store>::INGEST_BEGIN).await?;
                let foreign = catch_up(&mut tx, &mut memory.recent, received_at).await?;
                let version = usage_sql::catalog_version(&mut tx).await?;
                memory.check(foreign, version);
                let features = match &memory.features {
                    Some(features) => features.clone(),
                    None => std::sync::Arc::new(usage_sql::catalog_features(&mut tx).await?),
                };
                let mut counts = IngestCounts::default();
                let mut new_keys = Vec::with_capacity(messages.len());
                let mut in_call = HashSet::with_capacity(messages.len());
                let recent = &memory.recent;
                let new: Vec<bool> = messages
                    .iter()
                    .map(|m| {
                        let key = message_key(&m.message_id);
                        let new = !recent.contains(key) && in_call.insert(key);
                        if new {
                            new_keys.push(key);
                        }
                        new
                    })
                    .collect();
                // Set-based lookups first: accounts by group id, people's groups, anonymous ids' users.
                let groups: HashSet<&str> = messages.iter().filter_map(|m| m.group_id.as_deref()).collect();
                let unknown: Vec<&str> = groups.iter().copied().filter(|g| !memory.accounts.contains_key(*g)).collect();
                for row in select_in(&mut *tx, "SELECT id, external_id FROM accounts WHERE external_id IN", &unknown, "text").await? {
                    memory.accounts.insert(row.try_get("external_id")?, row.try_get("id")?);
                }
                // Accounts this call creates join the cache only once committed.
                let mut accounts: HashMap<String, i64> =
                    groups.iter().filter_map(|g| memory.accounts.get(*g).map(|id| ((*g).to_owned(), *id))).collect();
                let people: Vec<String> = messages.iter().filter_map(|m| person_of(m).map(str::to_owned)).collect::<HashSet<_>>().into_iter().collect();
                read_people(&mut tx, &people, &mut memory.people).await?;
                let mut group_of: HashMap<String, i64> =
                    people.iter().filter_map(|p| memory.people.get(p).and_then(|k| k.account).map(|a| (p.clone(), a))).collect();
                let anonymous: Vec<String> = messages
                    .iter()
                    .filter(|m| m.user_id.is_none())
                    .filter_map(|m| m.anonymous_id.clone())
                    .collect::<HashSet<_>>()
                    .into_iter()
                    .collect();
                let mut aliases: HashMap<String, String> = HashMap::new();
                for row in select_in(&mut *tx, "SELECT previous_id, user_id FROM aliases WHERE previous_id IN", &anonymous, "text").await? {
                    aliases.insert(row.try_get("previous_id")?, row.try_get("user_id")?);
                }
                let mut rollup = usage_sql::Rollup::new(zone, &features).with_aliases(aliases);

                let mut batch = BatchWriter::with_capacity(messages.len());
                let mut pending: Vec<&Message> = Vec::new();
                let mut seen_people: HashMap<String, PersonSeen> = HashMap::new();
                // Events of this call still without an account, by person: a later group call attributes them.
                let mut waiting: HashMap<String, usize> = HashMap::new();
                // Read at the first group call that changes an account.
                let mut sources: Option<TrackingFieldSources> = None;
                for (m, new) in messages.iter().zip(new) {
                    if !new {
                        counts.duplicates += 1;
                        continue;
                    }
                    let person = person_of(m);
                    let mut account = m.group_id.as_ref().and_then(|g| accounts.get(g).copied());
                    if matches!(m.kind, MessageKind::Group | MessageKind::Alias) {
                        // They attribute stored events, which must include every earlier one of this call.
                        insert_unattributed(&mut tx, &mut pending, received_at).await?;
                    }
                    if m.kind == MessageKind::Group {
                        if let (None, Some(group), true) = (account, &m.group_id, create_accounts) {
                            let id = create_tracked_account(&mut tx, group, m, received_at).await?;
                            accounts.insert(group.clone(), id);
                            account = Some(id);
                            counts.accounts_created += 1;
                        }
                        if let Some(id) = account {
                            let field_sources = match sources {
                                Some(known) => known,
                                None => *sources.insert(tracking_field_sources(&mut tx).await?),
                            };
                            apply_group_traits(&mut tx, id, m, &field_sources).await?;
                            if let Some(person) = person {
                                group_of.insert(person.to_owned(), id);
                                waiting.remove(person);
                                attribute_person(&mut tx, person, id, None, &mut batch, &mut rollup).await?;
                            }
                        }
                    }
                    if let Some(person) = person {
                        match seen_people.get_mut(person) {
                            Some(seen) => seen.add(m, &group_of, person),
                            None => {
                                let mut seen = PersonSeen::new(m.timestamp);
                                seen.add(m, &group_of, person);
                                seen_people.insert(person.to_owned(), seen);
                            }
                        }
                        if account.is_none() {
                            account = group_of.get(person).copied();
                        }
                    }
                    if let (MessageKind::Alias, Some(previous), Some(user)) = (m.kind, &m.previous_id, &m.user_id) {
                        // The previous id's activity on accounts becomes the user's; its events
                        // without an account are attributed now, or wait as the user's.
                        sqlx::query("INSERT INTO aliases (previous_id, user_id) VALUES ($1, $2) ON CONFLICT (previous_id) DO UPDATE SET user_id = excluded.user_id")
                            .bind(previous.as_str())
                            .bind(user.as_str())
                            .execute(&mut *tx)
                            .await?;
                        rollup.alias(previous, user);
                        let days = sqlx::query(
                            "DELETE FROM anonymous_days WHERE anonymous_id = $1 RETURNING account_id, day",
                        )
                        .bind(previous.as_str())
                        .fetch_all(&mut *tx)
                        .await?;
                        let known = sqlx::query("SELECT account_id, day FROM end_user_days WHERE user_id = $1")
                            .bind(previous.as_str())
                            .fetch_all(&mut *tx)
                            .await?;
                        for row in days.iter().chain(&known) {
                            rollup.add_user_day(row.try_get("account_id")?, row.try_get("day")?, user);
                        }
                        match account {
                            Some(id) => attribute_person(&mut tx, previous, id, Some(user), &mut batch, &mut rollup).await?,
                            None => {
                                sqlx::query(
                                    "UPDATE unattributed_events SET user_id = $1 WHERE user_id = $2 OR (user_id IS NULL AND anonymous_id = $2)",
                                )
                                .bind(user.as_str())
                                .bind(previous.as_str())
                                .execute(&mut *tx)
                                .await?;
                            }
                        }
                    }
                    counts.stored += 1;
                    match account {
                        Some(account) => {
                            let record = RecordRef::of(m, account);
                            rollup.add(&record);
                            batch.push(&record);
                        }
                        None => {
                            if let Some(person) = person {
                                *waiting.entry(person.to_owned()).or_default() += 1;
                            }
                            pending.push(m);
                        }
                    }
                }
                insert_unattributed(&mut tx, &mut pending, received_at).await?;
                let keys = encode_keys(&new_keys);
                let stored = if new_keys.is_empty() { None } else { Some(insert_batch(&mut tx, batch, &keys, received_at).await?) };
                let people = upsert_people(&mut tx, seen_people, &memory.people).await?;
                counts.accounts = rollup.accounts();
                let days = rollup.flush(&mut tx, &memory.active_days).await?;
                counts.unattributed = waiting.values().sum();
                if !counts.accounts.is_empty() {
                    let changed: Vec<(AccountId, Option<chrono::NaiveDate>)> = counts.accounts.iter().map(|(id, day)| (*id, Some(*day))).collect();
                    sqlx::query($crate::change_log::INSERT_CHANGE)
                        .bind(origin)
                        .bind(false)
                        .bind($crate::change_log::accounts_text(&changed)?)
                        .bind(received_at)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                if let Some(id) = stored {
                    memory.recent.add(id, received_at, &keys);
                }
                memory.people.extend(people);
                memory.active_days.extend(days);
                memory.accounts.extend(accounts);
                memory.features = Some(features);
                Ok(counts)
            }

            #[async_trait]
            impl $crate::ingest::IngestStore for $store {
                async fn record_refused(&self, refused: &[RefusedMessage]) -> Result<()> {
                    let mut tx = self.pool.begin_with(Self::WRITE_BEGIN).await?;
                    for message in refused {
                        sqlx::query(
                            "INSERT INTO refused_messages (key_prefix, received_at, field, code, reason_ja, reason_en, message) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7)",
                        )
                        .bind(&message.key_prefix)
                        .bind(message.received_at)
                        .bind(&message.field)
                        .bind(&message.code)
                        .bind(&message.reason_ja)
                        .bind(&message.reason_en)
                        .bind(&message.message)
                        .execute(&mut *tx)
                        .await?;
                    }
                    tx.commit().await?;
                    Ok(())
                }

                async fn refused_messages(&self, limit: i64) -> Result<Vec<RefusedMessage>> {
                    let rows = sqlx::query(
                        "SELECT key_prefix, received_at, field, code, reason_ja, reason_en, message FROM refused_messages \
                         ORDER BY received_at DESC, id DESC LIMIT $1",
                    )
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map(|row| {
                            Ok(RefusedMessage {
                                key_prefix: row.try_get("key_prefix")?,
                                received_at: row.try_get("received_at")?,
                                field: row.try_get("field")?,
                                code: row.try_get("code")?,
                                reason_ja: row.try_get("reason_ja")?,
                                reason_en: row.try_get("reason_en")?,
                                message: row.try_get("message")?,
                            })
                        })
                        .collect()
                }

                async fn ingest(
                    &self,
                    messages: &[Message],
                    received_at: DateTime<Utc>,
                    create_accounts: bool,
                    zone: domain::usage::Tz,
                ) -> Result<IngestCounts> {
                    let mut memory = self.memory.lock().await;
                    let stored = ingest_remembering(&self.pool, &self.origin, &mut memory, messages, received_at, create_accounts, zone).await;
                    if stored.is_err() {
                        memory.forget();
                    }
                    stored
                }

                async fn events(&self, account: Option<AccountId>, limit: i64) -> Result<Vec<StoredEvent>> {
                    let limit = usize::try_from(limit).unwrap_or(0);
                    let mut tx = self.pool.begin().await?;
                    let accounts = usage_sql::existing_accounts(&mut tx).await?;
                    let mut stored = Vec::new();
                    let mut after: i64 = 0;
                    'batches: while let Some((last, records)) = usage_sql::batch_page(&mut tx, after).await? {
                        after = last;
                        for record in records {
                            if stored.len() == limit {
                                break 'batches;
                            }
                            if accounts.contains(&record.account) && account.is_none_or(|a| a.0 == record.account) {
                                stored.push(StoredEvent {
                                    message_id: record.message_id,
                                    kind: record.kind.as_str().to_owned(),
                                    account_id: Some(AccountId(record.account)),
                                    user_id: record.user_id,
                                    event: record.event,
                                    occurred_at: record.occurred_at,
                                });
                            }
                        }
                    }
                    if account.is_none() && stored.len() < limit {
                        let rows = sqlx::query("SELECT message_id, kind, user_id, event, occurred_at FROM unattributed_events ORDER BY id LIMIT $1")
                            .bind(i64::try_from(limit - stored.len()).unwrap_or(i64::MAX))
                            .fetch_all(&mut *tx)
                            .await?;
                        for row in rows {
                            stored.push(StoredEvent {
                                message_id: row.try_get("message_id")?,
                                kind: row.try_get("kind")?,
                                account_id: None,
                                user_id: row.try_get("user_id")?,
                                event: row.try_get("event")?,
                                occurred_at: row.try_get("occurred_at")?,
                            });
                        }
                    }
                    Ok(stored)
                }
            }
        }
    };
}

pub(crate) use ingest_store;
