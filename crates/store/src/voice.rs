//! The voice of the customer: NPS answers and support tickets, imported (all or nothing,
//! idempotent), exported, and read by the account page and health scoring.

use crate::{ImportCounts, Result};
use async_trait::async_trait;
use chrono::NaiveDate;
use domain::interchange::nps::NpsRecord;
use domain::interchange::tickets::TicketRecord;
use domain::voice::TicketRow;
use domain::AccountId;

#[async_trait]
pub trait VoiceStore: Send + Sync {
    /// Upserts NPS answers by (account, contact email, day); every account must exist.
    async fn import_nps(&self, records: &[NpsRecord]) -> Result<ImportCounts>;
    /// Upserts tickets by ticket id; every account must exist.
    async fn import_tickets(&self, records: &[TicketRecord]) -> Result<ImportCounts>;
    async fn export_nps(&self) -> Result<Vec<NpsRecord>>;
    async fn export_tickets(&self) -> Result<Vec<TicketRecord>>;
    /// One account's NPS answers, newest first.
    async fn recent_nps(&self, account: AccountId, limit: i64) -> Result<Vec<NpsRecord>>;
    /// One account's tickets, newest first.
    async fn recent_tickets(&self, account: AccountId, limit: i64) -> Result<Vec<TicketRecord>>;
    /// NPS answers as (account, day, score), by account and day; all accounts' when `None`.
    async fn nps_responses(&self, account: Option<AccountId>) -> Result<Vec<(AccountId, NaiveDate, i64)>>;
    /// Tickets by account and creation day; all accounts' when `None`.
    async fn tickets_of(&self, account: Option<AccountId>) -> Result<Vec<(AccountId, TicketRow)>>;
    /// Whether any NPS answer is stored: without one, an account's missing NPS says nothing.
    async fn has_nps(&self) -> Result<bool>;
    /// Whether any ticket is stored: only then does an account without tickets have zero of them.
    async fn has_tickets(&self) -> Result<bool>;
}

/// A `tickets` row as the health measures read it.
#[derive(sqlx::FromRow)]
pub(crate) struct StoredTicket {
    created_on: NaiveDate,
    solved_on: Option<NaiveDate>,
    priority: String,
    status: String,
}

impl TryFrom<StoredTicket> for TicketRow {
    type Error = crate::error::StoreError;

    fn try_from(row: StoredTicket) -> Result<TicketRow> {
        Ok(TicketRow {
            created_on: row.created_on,
            solved_on: row.solved_on,
            priority: crate::sql::ticket_priority(&row.priority)?,
            status: crate::sql::ticket_status(&row.status)?,
        })
    }
}

macro_rules! voice_store {
    ($store:ident, $db:ident) => {
        mod voice_sql {
            use super::{$db, $store, account_ids_of, select_in, DbRow};
            use $crate::error::Entity;
            use $crate::sql::{not_found, CHUNK};
            use foldhash::{HashMap, HashMapExt};
            use $crate::{ImportCounts, Result};
            use async_trait::async_trait;
            use chrono::NaiveDate;
            use domain::interchange::nps::NpsRecord;
            use domain::interchange::tickets::TicketRecord;
            use domain::voice::TicketRow;
            use domain::{AccountId, Email, ExternalId};
            use sqlx::{FromRow, QueryBuilder, Row};

            const TICKET_COLUMNS: &str = "ticket_id, account_id, created_on, solved_on, priority, status, subject";

            /// NPS answers as records: every account's by account, day and email, or one account's
            /// newest first.
            async fn nps_records(pool: &sqlx::Pool<$db>, account: Option<AccountId>, limit: i64) -> Result<Vec<NpsRecord>> {
                let mut qb = QueryBuilder::<$db>::new(
                    "SELECT a.external_id, n.contact_email, n.score, n.responded_on, n.comment \
                     FROM nps_responses n JOIN accounts a ON a.id = n.account_id",
                );
                match account {
                    Some(account) => {
                        qb.push(" WHERE n.account_id = ").push_bind(account.0);
                        qb.push(" ORDER BY n.responded_on DESC, n.contact_email");
                    }
                    None => {
                        qb.push(" ORDER BY a.external_id, n.responded_on, n.contact_email");
                    }
                }
                qb.push(" LIMIT ").push_bind(limit);
                let rows = qb.build().fetch_all(pool).await?;
                let corrupt = $crate::sql::corrupt(Entity::NpsResponse);
                rows.iter()
                    .map(|row| {
                        Ok(NpsRecord {
                            line: 0,
                            account_external_id: ExternalId::parse(&row.try_get::<String, _>("external_id")?).map_err(&corrupt)?,
                            contact_email: Email::parse(&row.try_get::<String, _>("contact_email")?).map_err(&corrupt)?,
                            score: row.try_get("score")?,
                            responded_on: row.try_get("responded_on")?,
                            comment: row.try_get("comment")?,
                        })
                    })
                    .collect()
            }

            /// Tickets as records: every account's by ticket id, or one account's newest first.
            async fn ticket_records(pool: &sqlx::Pool<$db>, account: Option<AccountId>, limit: i64) -> Result<Vec<TicketRecord>> {
                let mut qb = QueryBuilder::<$db>::new(
                    "SELECT a.external_id, t.ticket_id, t.created_on, t.solved_on, t.priority, t.status, t.subject \
                     FROM tickets t JOIN accounts a ON a.id = t.account_id",
                );
                match account {
                    Some(account) => {
                        qb.push(" WHERE t.account_id = ").push_bind(account.0);
                        qb.push(" ORDER BY t.created_on DESC, t.ticket_id DESC");
                    }
                    None => {
                        qb.push(" ORDER BY t.ticket_id");
                    }
                }
                qb.push(" LIMIT ").push_bind(limit);
                let rows = qb.build().fetch_all(pool).await?;
                let corrupt = $crate::sql::corrupt(Entity::Ticket);
                rows.iter()
                    .map(|row| {
                        Ok(TicketRecord {
                            line: 0,
                            ticket_id: ExternalId::parse(&row.try_get::<String, _>("ticket_id")?).map_err(&corrupt)?,
                            account_external_id: ExternalId::parse(&row.try_get::<String, _>("external_id")?).map_err(&corrupt)?,
                            ticket: ticket_from_row(row)?,
                            subject: row.try_get("subject")?,
                        })
                    })
                    .collect()
            }

            fn ticket_from_row(row: &DbRow) -> Result<TicketRow> {
                TicketRow::try_from($crate::voice::StoredTicket::from_row(row)?)
            }

            #[async_trait]
            impl $crate::voice::VoiceStore for $store {
                async fn import_nps(&self, records: &[NpsRecord]) -> Result<ImportCounts> {
                    let mut tx = self.pool.begin_with(Self::WRITE_BEGIN).await?;
                    let account_ids = account_ids_of(&mut *tx, records.iter().map(|r| &r.account_external_id)).await?;
                    let accounts: Vec<i64> = account_ids.values().map(|id| id.0).collect();
                    let mut stored: HashMap<(AccountId, String, NaiveDate), (i64, Option<String>)> = HashMap::new();
                    let prefix = "SELECT account_id, contact_email, responded_on, score, comment FROM nps_responses WHERE account_id IN";
                    for row in select_in(&mut *tx, prefix, &accounts, "bigint").await? {
                        let key = (AccountId(row.try_get("account_id")?), row.try_get("contact_email")?, row.try_get("responded_on")?);
                        stored.insert(key, (row.try_get("score")?, row.try_get("comment")?));
                    }
                    let mut counts = ImportCounts::default();
                    let mut changed = Vec::new();
                    for record in records {
                        let account_id = *account_ids
                            .get(record.account_external_id.as_str())
                            .ok_or_else(|| not_found(Entity::Account, &record.account_external_id))?;
                        let key = (account_id, record.contact_email.to_string(), record.responded_on);
                        match stored.get(&key) {
                            None => counts.created += 1,
                            Some((score, comment)) if *score == record.score && *comment == record.comment => {
                                counts.unchanged += 1;
                                continue;
                            }
                            Some(_) => counts.updated += 1,
                        }
                        changed.push((account_id, record));
                    }
                    for chunk in changed.chunks(CHUNK) {
                        let mut qb = QueryBuilder::<$db>::new(
                            "INSERT INTO nps_responses (account_id, contact_email, responded_on, score, comment) ",
                        );
                        qb.push_values(chunk, |mut b, (account_id, record)| {
                            b.push_bind(account_id.0)
                                .push_bind(record.contact_email.to_string())
                                .push_bind(record.responded_on)
                                .push_bind(record.score)
                                .push_bind(record.comment.clone());
                        });
                        qb.push(
                            " ON CONFLICT (account_id, contact_email, responded_on) \
                             DO UPDATE SET score = excluded.score, comment = excluded.comment",
                        );
                        qb.build().execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                    Ok(counts)
                }

                async fn import_tickets(&self, records: &[TicketRecord]) -> Result<ImportCounts> {
                    let mut tx = self.pool.begin_with(Self::WRITE_BEGIN).await?;
                    let account_ids = account_ids_of(&mut *tx, records.iter().map(|r| &r.account_external_id)).await?;
                    let ticket_ids: Vec<String> = records.iter().map(|r| r.ticket_id.to_string()).collect();
                    let prefix = format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE ticket_id IN");
                    let mut stored: HashMap<String, (AccountId, TicketRow, Option<String>)> = HashMap::new();
                    for row in select_in(&mut *tx, &prefix, &ticket_ids, "text").await? {
                        stored.insert(row.try_get("ticket_id")?, (AccountId(row.try_get("account_id")?), ticket_from_row(&row)?, row.try_get("subject")?));
                    }
                    let mut counts = ImportCounts::default();
                    let mut changed = Vec::new();
                    for record in records {
                        let account_id = *account_ids
                            .get(record.account_external_id.as_str())
                            .ok_or_else(|| not_found(Entity::Account, &record.account_external_id))?;
                        match stored.get(record.ticket_id.as_str()) {
                            None => counts.created += 1,
                            Some((stored_account, ticket, subject))
                                if *stored_account == account_id && *ticket == record.ticket && *subject == record.subject =>
                            {
                                counts.unchanged += 1;
                                continue;
                            }
                            Some(_) => counts.updated += 1,
                        }
                        changed.push((account_id, record));
                    }
                    for chunk in changed.chunks(CHUNK) {
                        let mut qb = QueryBuilder::<$db>::new(
                            "INSERT INTO tickets (ticket_id, account_id, created_on, solved_on, priority, status, subject) ",
                        );
                        qb.push_values(chunk, |mut b, (account_id, record)| {
                            b.push_bind(record.ticket_id.to_string())
                                .push_bind(account_id.0)
                                .push_bind(record.ticket.created_on)
                                .push_bind(record.ticket.solved_on)
                                .push_bind(record.ticket.priority.as_str())
                                .push_bind(record.ticket.status.as_str())
                                .push_bind(record.subject.clone());
                        });
                        qb.push(
                            " ON CONFLICT (ticket_id) DO UPDATE SET account_id = excluded.account_id, \
                             created_on = excluded.created_on, solved_on = excluded.solved_on, priority = excluded.priority, \
                             status = excluded.status, subject = excluded.subject",
                        );
                        qb.build().execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                    Ok(counts)
                }

                async fn export_nps(&self) -> Result<Vec<NpsRecord>> {
                    nps_records(&self.pool, None, i64::MAX).await
                }

                async fn export_tickets(&self) -> Result<Vec<TicketRecord>> {
                    ticket_records(&self.pool, None, i64::MAX).await
                }

                async fn recent_nps(&self, account: AccountId, limit: i64) -> Result<Vec<NpsRecord>> {
                    nps_records(&self.pool, Some(account), limit).await
                }

                async fn recent_tickets(&self, account: AccountId, limit: i64) -> Result<Vec<TicketRecord>> {
                    ticket_records(&self.pool, Some(account), limit).await
                }

                async fn nps_responses(&self, account: Option<AccountId>) -> Result<Vec<(AccountId, NaiveDate, i64)>> {
                    let mut qb = QueryBuilder::<$db>::new("SELECT account_id, responded_on, score FROM nps_responses");
                    if let Some(account) = account {
                        qb.push(" WHERE account_id = ").push_bind(account.0);
                    }
                    qb.push(" ORDER BY account_id, responded_on, contact_email");
                    let rows = qb.build().fetch_all(&self.pool).await?;
                    rows.iter()
                        .map(|row| Ok((AccountId(row.try_get("account_id")?), row.try_get("responded_on")?, row.try_get("score")?)))
                        .collect()
                }

                async fn tickets_of(&self, account: Option<AccountId>) -> Result<Vec<(AccountId, TicketRow)>> {
                    let mut qb = QueryBuilder::<$db>::new(format!("SELECT {TICKET_COLUMNS} FROM tickets"));
                    if let Some(account) = account {
                        qb.push(" WHERE account_id = ").push_bind(account.0);
                    }
                    qb.push(" ORDER BY account_id, created_on, ticket_id");
                    let rows = qb.build().fetch_all(&self.pool).await?;
                    rows.iter().map(|row| Ok((AccountId(row.try_get("account_id")?), ticket_from_row(row)?))).collect()
                }

                async fn has_nps(&self) -> Result<bool> {
                    let any: Option<i64> =
                        sqlx::query_scalar("SELECT account_id FROM nps_responses LIMIT 1").fetch_optional(&self.pool).await?;
                    Ok(any.is_some())
                }

                async fn has_tickets(&self) -> Result<bool> {
                    let any: Option<i64> =
                        sqlx::query_scalar("SELECT account_id FROM tickets LIMIT 1").fetch_optional(&self.pool).await?;
                    Ok(any.is_some())
                }
            }
        }
    };
}

pub(crate) use voice_store;
