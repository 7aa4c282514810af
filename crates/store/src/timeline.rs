//! Each account's timeline: notes, meetings, calls and emails people log, and what Kizuna
//! records itself (structured `event`s shown in the reader's language).

use crate::error::{Entity, StoreError};
use crate::sql::timeline_kind;
use crate::{Page, Result, TimelineQuery};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::timeline::{TimelineEntry, TimelineEntryInput};
use domain::{AccountId, TimelineEntryId, UserId};

#[async_trait]
pub trait TimelineStore: Send + Sync {
    async fn create_timeline_entry(&self, input: &TimelineEntryInput) -> Result<TimelineEntry>;
    /// Adds many entries in one transaction (Kizuna's own records of many accounts at once).
    async fn create_timeline_entries(&self, inputs: &[TimelineEntryInput]) -> Result<()>;
    async fn get_timeline_entry(&self, id: TimelineEntryId) -> Result<TimelineEntry>;
    async fn update_timeline_entry(&self, id: TimelineEntryId, input: &TimelineEntryInput) -> Result<TimelineEntry>;
    async fn delete_timeline_entry(&self, id: TimelineEntryId) -> Result<()>;
    async fn list_timeline(&self, query: &TimelineQuery) -> Result<Page<TimelineEntry>>;
}

/// A `timeline_entries` row as both drivers read it; `event` is JSON text.
#[derive(sqlx::FromRow)]
pub(crate) struct TimelineRow {
    id: i64,
    account_id: i64,
    kind: String,
    author_id: Option<i64>,
    occurred_at: DateTime<Utc>,
    title: String,
    body: Option<String>,
    event: Option<String>,
}

impl TryFrom<TimelineRow> for TimelineEntry {
    type Error = StoreError;

    fn try_from(row: TimelineRow) -> Result<TimelineEntry> {
        let event = row
            .event
            .map(|text| serde_json::from_str(&text))
            .transpose()
            .map_err(|e| StoreError::Corrupt { entity: Entity::TimelineEntry, detail: format!("event: {e}") })?;
        Ok(TimelineEntry {
            id: TimelineEntryId(row.id),
            input: TimelineEntryInput {
                account_id: AccountId(row.account_id),
                kind: timeline_kind(&row.kind)?,
                author_id: row.author_id.map(UserId),
                occurred_at: row.occurred_at,
                title: row.title,
                body: row.body,
                event,
            },
        })
    }
}

macro_rules! timeline_store {
    ($store:ident, $db:ident) => {
        mod timeline_sql {
            use super::{$db, $store, DbRow};
            use $crate::error::{Entity, StoreError};
            use $crate::sql::{found, not_found, CHUNK, TIMELINE_COLUMNS};
            use $crate::{Page, Result, TimelineQuery};
            use async_trait::async_trait;
            use domain::timeline::{TimelineEntry, TimelineEntryInput};
            use domain::TimelineEntryId;
            use sqlx::{FromRow, QueryBuilder};

            fn timeline_from_row(row: &DbRow) -> Result<TimelineEntry> {
                TimelineEntry::try_from($crate::timeline::TimelineRow::from_row(row)?)
            }

            fn event_json(input: &TimelineEntryInput) -> Option<String> {
                input.event.as_ref().map(|e| serde_json::to_string(e).expect("timeline events always serialize"))
            }

            #[async_trait]
            impl $crate::timeline::TimelineStore for $store {
                async fn create_timeline_entry(&self, input: &TimelineEntryInput) -> Result<TimelineEntry> {
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO timeline_entries (account_id, kind, author_id, occurred_at, title, body, event) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                    )
                    .bind(input.account_id.0)
                    .bind(input.kind.as_str())
                    .bind(input.author_id.map(|u| u.0))
                    .bind(input.occurred_at)
                    .bind(input.title.as_str())
                    .bind(input.body.as_deref())
                    .bind(event_json(input))
                    .fetch_one(&self.pool)
                    .await
                    .map_err(|e| StoreError::from_write(e, Entity::TimelineEntry, "id"))?;
                    Ok(TimelineEntry { id: TimelineEntryId(id), input: input.clone() })
                }

                async fn create_timeline_entries(&self, inputs: &[TimelineEntryInput]) -> Result<()> {
                    let mut tx = self.pool.begin_with(Self::WRITE_BEGIN).await?;
                    for chunk in inputs.chunks(CHUNK) {
                        let mut qb = QueryBuilder::<$db>::new(
                            "INSERT INTO timeline_entries (account_id, kind, author_id, occurred_at, title, body, event) ",
                        );
                        qb.push_values(chunk, |mut b, input| {
                            b.push_bind(input.account_id.0)
                                .push_bind(input.kind.as_str())
                                .push_bind(input.author_id.map(|u| u.0))
                                .push_bind(input.occurred_at)
                                .push_bind(input.title.as_str())
                                .push_bind(input.body.as_deref())
                                .push_bind(event_json(input));
                        });
                        qb.build().execute(&mut *tx).await.map_err(|e| StoreError::from_write(e, Entity::TimelineEntry, "id"))?;
                    }
                    tx.commit().await?;
                    Ok(())
                }

                async fn get_timeline_entry(&self, id: TimelineEntryId) -> Result<TimelineEntry> {
                    let row = sqlx::query(&format!("SELECT {TIMELINE_COLUMNS} FROM timeline_entries WHERE id = $1"))
                        .bind(id.0)
                        .fetch_optional(&self.pool)
                        .await?;
                    found(row, timeline_from_row, Entity::TimelineEntry, id)
                }

                async fn update_timeline_entry(&self, id: TimelineEntryId, input: &TimelineEntryInput) -> Result<TimelineEntry> {
                    let result = sqlx::query(
                        "UPDATE timeline_entries SET account_id = $2, kind = $3, author_id = $4, occurred_at = $5, \
                         title = $6, body = $7, event = $8 WHERE id = $1",
                    )
                    .bind(id.0)
                    .bind(input.account_id.0)
                    .bind(input.kind.as_str())
                    .bind(input.author_id.map(|u| u.0))
                    .bind(input.occurred_at)
                    .bind(input.title.as_str())
                    .bind(input.body.as_deref())
                    .bind(event_json(input))
                    .execute(&self.pool)
                    .await
                    .map_err(|e| StoreError::from_write(e, Entity::TimelineEntry, "id"))?;
                    if result.rows_affected() == 0 {
                        return Err(not_found(Entity::TimelineEntry, id));
                    }
                    Ok(TimelineEntry { id, input: input.clone() })
                }

                async fn delete_timeline_entry(&self, id: TimelineEntryId) -> Result<()> {
                    let result =
                        sqlx::query("DELETE FROM timeline_entries WHERE id = $1").bind(id.0).execute(&self.pool).await?;
                    if result.rows_affected() == 0 {
                        return Err(not_found(Entity::TimelineEntry, id));
                    }
                    Ok(())
                }

                async fn list_timeline(&self, query: &TimelineQuery) -> Result<Page<TimelineEntry>> {
                    let push_filters = |qb: &mut QueryBuilder<'_, $db>| {
                        qb.push(" WHERE 1 = 1");
                        if let Some(account) = query.account_id {
                            qb.push(" AND account_id = ").push_bind(account.0);
                        }
                        if let Some(kind) = query.kind {
                            qb.push(" AND kind = ").push_bind(kind.as_str());
                        }
                    };
                    let mut count = QueryBuilder::<$db>::new("SELECT COUNT(*) FROM timeline_entries");
                    push_filters(&mut count);
                    let total: i64 = count.build_query_scalar().fetch_one(&self.pool).await?;
                    let mut select = QueryBuilder::<$db>::new(format!("SELECT {TIMELINE_COLUMNS} FROM timeline_entries"));
                    push_filters(&mut select);
                    select.push(" ORDER BY occurred_at DESC, id DESC LIMIT ").push_bind(query.limit);
                    select.push(" OFFSET ").push_bind(query.offset);
                    let rows = select.build().fetch_all(&self.pool).await?;
                    Ok(Page { items: rows.iter().map(timeline_from_row).collect::<Result<_>>()?, total })
                }
            }
        }
    };
}

pub(crate) use timeline_store;
