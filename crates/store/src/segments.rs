//! Saved segments: their rules, current members and the history of every entry and exit.
//! Membership is written only by `apply_membership`, which keeps members and history in step.

use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::account::Account;
use domain::{AccountId, Money};
use serde::Serialize;

/// A segment as stored. The rule is kept as the user wrote it (spacing, comments of layout), so
/// the editor shows it back unchanged; it was checked before it was saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct SavedSegment {
    pub id: i64,
    pub name: String,
    /// The name English readers see (else `name`).
    pub name_en: Option<String>,
    pub rule: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl SavedSegment {
    /// The name in the reader's language.
    pub fn name_in(&self, lang: domain::i18n::Lang) -> &str {
        domain::i18n::name_in(&self.name, self.name_en.as_deref(), lang)
    }

    /// What was set on it, as a user sets it.
    pub fn input(&self) -> SegmentInput {
        SegmentInput {
            name: self.name.clone(),
            name_en: self.name_en.clone(),
            rule: self.rule.clone(),
            description: self.description.clone(),
        }
    }
}

/// What a user sets on a segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SegmentInput {
    pub name: String,
    pub name_en: Option<String>,
    pub rule: String,
    pub description: Option<String>,
}

/// A segment with its current size.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SegmentSummary {
    #[serde(flatten)]
    pub segment: SavedSegment,
    pub members: i64,
    /// The members' ARR today.
    pub arr: Money,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SegmentMember {
    pub account: Account,
    pub entered_at: DateTime<Utc>,
}

/// One page of a segment's members, largest ARR first, with the count and ARR of all of them.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SegmentMembers {
    pub items: Vec<SegmentMember>,
    pub total: i64,
    pub arr: Money,
}

/// An account entering (`entered = true`) or leaving a segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct SegmentEvent {
    pub id: i64,
    pub segment_id: i64,
    pub segment_name: String,
    pub segment_name_en: Option<String>,
    pub account_id: i64,
    pub account_name: String,
    pub entered: bool,
    pub at: DateTime<Utc>,
}

impl SegmentEvent {
    /// The segment's name in the reader's language.
    pub fn segment_name_in(&self, lang: domain::i18n::Lang) -> &str {
        domain::i18n::name_in(&self.segment_name, self.segment_name_en.as_deref(), lang)
    }
}

/// A segment an account is in, since when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AccountSegment {
    pub segment: SavedSegment,
    pub entered_at: DateTime<Utc>,
}

/// Which history to read: one segment's, one account's, or both filters at once.
#[derive(Debug, Clone, Default)]
pub struct HistoryQuery {
    pub segment_id: Option<i64>,
    pub account_id: Option<AccountId>,
    pub limit: i64,
    pub offset: i64,
}

/// The membership changes `apply_membership` actually made: an account already in (or already
/// out of) the segment is left alone and gets no history entry, so concurrent evaluations never
/// record the same move twice.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MembershipChanges {
    pub entered: Vec<AccountId>,
    pub left: Vec<AccountId>,
}

#[async_trait]
pub trait SegmentStore: Send + Sync {
    /// Creates a segment; a taken name is a conflict on `name`.
    async fn create_segment(&self, input: &SegmentInput, at: DateTime<Utc>) -> Result<SavedSegment>;
    async fn get_segment(&self, id: i64) -> Result<SavedSegment>;
    /// Every segment by name, with its member count and ARR.
    async fn list_segments(&self) -> Result<Vec<SegmentSummary>>;
    /// Every segment by name, without counting its members (what an evaluation needs).
    async fn segment_definitions(&self) -> Result<Vec<SavedSegment>>;
    async fn update_segment(&self, id: i64, input: &SegmentInput, at: DateTime<Utc>) -> Result<SavedSegment>;
    /// Deletes the segment with its members and history.
    async fn delete_segment(&self, id: i64) -> Result<()>;

    /// A page of the segment's members, largest ARR first.
    async fn segment_members(&self, id: i64, limit: i64, offset: i64) -> Result<SegmentMembers>;
    /// The ids of every member, ascending.
    async fn segment_member_ids(&self, id: i64) -> Result<Vec<AccountId>>;
    /// Which segments each of these accounts is in, as (segment, account) pairs.
    async fn memberships_among(&self, accounts: &[AccountId]) -> Result<Vec<(i64, AccountId)>>;
    /// Adds and removes members and records each move in the history, in one transaction.
    async fn apply_membership(
        &self,
        id: i64,
        entered: &[AccountId],
        left: &[AccountId],
        at: DateTime<Utc>,
    ) -> Result<MembershipChanges>;
    /// Entries and exits, newest first.
    async fn segment_history(&self, query: &HistoryQuery) -> Result<Vec<SegmentEvent>>;
    /// The segments an account is in, by name.
    async fn segments_of_account(&self, account: AccountId) -> Result<Vec<AccountSegment>>;
}

macro_rules! segment_store {
    ($store:ident, $db:ident) => {
        mod segment_sql {
            use super::{account_from_row, not_found, $db, $store};
            use $crate::error::{Entity, StoreError};
            use $crate::segments::{
                AccountSegment, HistoryQuery, MembershipChanges, SavedSegment, SegmentEvent, SegmentInput, SegmentMember,
                SegmentMembers, SegmentStore, SegmentSummary,
            };
            use $crate::sql::{ACCOUNT_COLUMNS, ACCOUNTS_WITH_HEALTH, CHUNK};
            use $crate::Result;
            use chrono::{DateTime, Utc};
            use domain::{AccountId, Money};
            use sqlx::{FromRow, QueryBuilder, Row};

            const SEGMENT_COLUMNS: &str = "s.id, s.name, s.name_en, s.rule, s.description, s.created_at, s.updated_at";
            const EVENT_SELECT: &str = "SELECT h.id, h.segment_id, s.name AS segment_name, s.name_en AS segment_name_en, h.account_id, \
                 a.name AS account_name, h.entered, h.at FROM segment_history h \
                 JOIN segments s ON s.id = h.segment_id JOIN accounts a ON a.id = h.account_id";

            fn segment_from_row(row: &<$db as sqlx::Database>::Row) -> Result<SavedSegment> {
                Ok(SavedSegment::from_row(row)?)
            }

            fn event_from_row(row: &<$db as sqlx::Database>::Row) -> Result<SegmentEvent> {
                Ok(SegmentEvent::from_row(row)?)
            }

            fn money(hundredths: Option<i64>) -> Money {
                Money::from_hundredths(hundredths.unwrap_or(0))
            }

            #[async_trait::async_trait]
            impl SegmentStore for $store {
                async fn create_segment(&self, input: &SegmentInput, at: DateTime<Utc>) -> Result<SavedSegment> {
                    let row = sqlx::query(
                        "INSERT INTO segments (name, rule, description, created_at, updated_at, name_en) \
                         VALUES ($1, $2, $3, $4, $4, $5) RETURNING id, name, name_en, rule, description, created_at, updated_at",
                    )
                    .bind(&input.name)
                    .bind(&input.rule)
                    .bind(&input.description)
                    .bind(at)
                    .bind(&input.name_en)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(|e| StoreError::from_write(e, Entity::Segment, "name"))?;
                    segment_from_row(&row)
                }

                async fn get_segment(&self, id: i64) -> Result<SavedSegment> {
                    let row = sqlx::query(&format!("SELECT {SEGMENT_COLUMNS} FROM segments s WHERE s.id = $1"))
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await?
                        .ok_or_else(|| not_found(Entity::Segment, id))?;
                    segment_from_row(&row)
                }

                async fn list_segments(&self) -> Result<Vec<SegmentSummary>> {
                    let rows = sqlx::query(&format!(
                        "SELECT {SEGMENT_COLUMNS}, COUNT(a.id) AS members, CAST(SUM(a.arr_hundredths) AS BIGINT) AS arr \
                         FROM segments s LEFT JOIN segment_members m ON m.segment_id = s.id \
                         LEFT JOIN accounts a ON a.id = m.account_id \
                         GROUP BY s.id, s.name, s.name_en, s.rule, s.description, s.created_at, s.updated_at ORDER BY s.name"
                    ))
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map(|row| {
                            Ok(SegmentSummary {
                                segment: segment_from_row(row)?,
                                members: row.try_get("members")?,
                                arr: money(row.try_get("arr")?),
                            })
                        })
                        .collect()
                }

                async fn segment_definitions(&self) -> Result<Vec<SavedSegment>> {
                    let rows = sqlx::query(&format!("SELECT {SEGMENT_COLUMNS} FROM segments s ORDER BY s.name"))
                        .fetch_all(&self.pool)
                        .await?;
                    rows.iter().map(segment_from_row).collect()
                }

                async fn update_segment(&self, id: i64, input: &SegmentInput, at: DateTime<Utc>) -> Result<SavedSegment> {
                    let row = sqlx::query(
                        "UPDATE segments SET name = $2, rule = $3, description = $4, updated_at = $5, name_en = $6 WHERE id = $1 \
                         RETURNING id, name, name_en, rule, description, created_at, updated_at",
                    )
                    .bind(id)
                    .bind(&input.name)
                    .bind(&input.rule)
                    .bind(&input.description)
                    .bind(at)
                    .bind(&input.name_en)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| StoreError::from_write(e, Entity::Segment, "name"))?
                    .ok_or_else(|| not_found(Entity::Segment, id))?;
                    segment_from_row(&row)
                }

                async fn delete_segment(&self, id: i64) -> Result<()> {
                    let result = sqlx::query("DELETE FROM segments WHERE id = $1").bind(id).execute(&self.pool).await?;
                    if result.rows_affected() == 0 {
                        return Err(not_found(Entity::Segment, id));
                    }
                    Ok(())
                }

                async fn segment_members(&self, id: i64, limit: i64, offset: i64) -> Result<SegmentMembers> {
                    self.get_segment(id).await?;
                    let totals = sqlx::query(
                        "SELECT COUNT(*) AS total, CAST(SUM(a.arr_hundredths) AS BIGINT) AS arr \
                         FROM segment_members m JOIN accounts a ON a.id = m.account_id WHERE m.segment_id = $1",
                    )
                    .bind(id)
                    .fetch_one(&self.pool)
                    .await?;
                    let rows = sqlx::query(&format!(
                        "SELECT {ACCOUNT_COLUMNS}, m.entered_at FROM {ACCOUNTS_WITH_HEALTH} \
                         JOIN segment_members m ON m.account_id = accounts.id WHERE m.segment_id = $1 \
                         ORDER BY arr_hundredths DESC, accounts.id LIMIT $2 OFFSET $3"
                    ))
                    .bind(id)
                    .bind(limit)
                    .bind(offset)
                    .fetch_all(&self.pool)
                    .await?;
                    let items = rows
                        .iter()
                        .map(|row| Ok(SegmentMember { account: account_from_row(row)?, entered_at: row.try_get("entered_at")? }))
                        .collect::<Result<Vec<_>>>()?;
                    Ok(SegmentMembers { items, total: totals.try_get("total")?, arr: money(totals.try_get("arr")?) })
                }

                async fn segment_member_ids(&self, id: i64) -> Result<Vec<AccountId>> {
                    let ids: Vec<i64> =
                        sqlx::query_scalar("SELECT account_id FROM segment_members WHERE segment_id = $1 ORDER BY account_id")
                            .bind(id)
                            .fetch_all(&self.pool)
                            .await?;
                    Ok(ids.into_iter().map(AccountId).collect())
                }

                async fn memberships_among(&self, accounts: &[AccountId]) -> Result<Vec<(i64, AccountId)>> {
                    let mut memberships = Vec::new();
                    for chunk in accounts.chunks(CHUNK) {
                        let mut qb = QueryBuilder::<$db>::new("SELECT segment_id, account_id FROM segment_members WHERE account_id IN (");
                        let mut ids = qb.separated(", ");
                        for account in chunk {
                            ids.push_bind(account.0);
                        }
                        qb.push(")");
                        let rows: Vec<(i64, i64)> = qb.build_query_as().fetch_all(&self.pool).await?;
                        memberships.extend(rows.into_iter().map(|(segment, account)| (segment, AccountId(account))));
                    }
                    Ok(memberships)
                }

                async fn apply_membership(
                    &self,
                    id: i64,
                    entered: &[AccountId],
                    left: &[AccountId],
                    at: DateTime<Utc>,
                ) -> Result<MembershipChanges> {
                    let mut tx = self.pool.begin_with($store::WRITE_BEGIN).await?;
                    let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM segments WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await?;
                    if exists.is_none() {
                        return Err(not_found(Entity::Segment, id));
                    }
                    let mut changes = MembershipChanges::default();
                    for chunk in entered.chunks(CHUNK) {
                        // Selecting from accounts skips one deleted meanwhile; the WHERE also lets
                        // SQLite parse the ON CONFLICT after a SELECT.
                        let mut qb = QueryBuilder::<$db>::new("INSERT INTO segment_members (segment_id, account_id, entered_at) SELECT ");
                        qb.push_bind(id).push(", id, ").push_bind(at).push(" FROM accounts WHERE id IN (");
                        let mut ids = qb.separated(", ");
                        for account in chunk {
                            ids.push_bind(account.0);
                        }
                        qb.push(") ON CONFLICT (segment_id, account_id) DO NOTHING RETURNING account_id");
                        let added: Vec<i64> = qb.build_query_scalar().fetch_all(&mut *tx).await?;
                        changes.entered.extend(added.into_iter().map(AccountId));
                    }
                    for chunk in left.chunks(CHUNK) {
                        let mut qb = QueryBuilder::<$db>::new("DELETE FROM segment_members WHERE segment_id = ");
                        qb.push_bind(id).push(" AND account_id IN (");
                        let mut ids = qb.separated(", ");
                        for account in chunk {
                            ids.push_bind(account.0);
                        }
                        qb.push(") RETURNING account_id");
                        let removed: Vec<i64> = qb.build_query_scalar().fetch_all(&mut *tx).await?;
                        changes.left.extend(removed.into_iter().map(AccountId));
                    }
                    changes.entered.sort();
                    changes.left.sort();
                    let moves: Vec<(AccountId, bool)> = changes
                        .entered
                        .iter()
                        .map(|a| (*a, true))
                        .chain(changes.left.iter().map(|a| (*a, false)))
                        .collect();
                    for chunk in moves.chunks(CHUNK) {
                        let mut qb = QueryBuilder::<$db>::new("INSERT INTO segment_history (segment_id, account_id, entered, at) ");
                        qb.push_values(chunk, |mut b, (account, entered)| {
                            b.push_bind(id).push_bind(account.0).push_bind(*entered).push_bind(at);
                        });
                        qb.build().execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                    Ok(changes)
                }

                async fn segment_history(&self, query: &HistoryQuery) -> Result<Vec<SegmentEvent>> {
                    let mut qb = QueryBuilder::<$db>::new(EVENT_SELECT);
                    qb.push(" WHERE 1 = 1");
                    if let Some(segment) = query.segment_id {
                        qb.push(" AND h.segment_id = ").push_bind(segment);
                    }
                    if let Some(account) = query.account_id {
                        qb.push(" AND h.account_id = ").push_bind(account.0);
                    }
                    qb.push(" ORDER BY h.at DESC, h.id DESC LIMIT ").push_bind(query.limit).push(" OFFSET ").push_bind(query.offset);
                    qb.build().fetch_all(&self.pool).await?.iter().map(event_from_row).collect()
                }

                async fn segments_of_account(&self, account: AccountId) -> Result<Vec<AccountSegment>> {
                    let rows = sqlx::query(&format!(
                        "SELECT {SEGMENT_COLUMNS}, m.entered_at FROM segments s \
                         JOIN segment_members m ON m.segment_id = s.id WHERE m.account_id = $1 ORDER BY s.name"
                    ))
                    .bind(account.0)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map(|row| Ok(AccountSegment { segment: segment_from_row(row)?, entered_at: row.try_get("entered_at")? }))
                        .collect()
                }
            }
        }
    };
}

pub(crate) use segment_store;
