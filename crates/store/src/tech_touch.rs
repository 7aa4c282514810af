//! Tech touch: message and survey definitions (JSON the domain validates), what happened
//! between people and them (exposures), playbook enrollments, survey answers and the
//! workspace's caps and link-signing key.

use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::tech_touch::{Exposure, Outcome, TouchKind};

/// A saved message or survey.
#[derive(Debug, Clone, PartialEq)]
pub struct TouchItem {
    pub id: i64,
    pub kind: TouchKind,
    pub definition: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An exposure of one person, on one account.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonExposure {
    pub account_id: i64,
    pub person: String,
    pub exposure: Exposure,
}

/// One answer to a survey.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SurveyAnswer {
    pub survey_id: i64,
    pub round: i64,
    pub person: String,
    pub account_id: i64,
    pub score: i64,
    pub comment: Option<String>,
    /// `in_app` or `email`.
    pub channel: String,
    pub answered_at: DateTime<Utc>,
}

#[async_trait]
pub trait TechTouchStore: Send + Sync {
    async fn touch_items(&self, kind: TouchKind) -> Result<Vec<TouchItem>>;
    async fn touch_item(&self, kind: TouchKind, id: i64) -> Result<TouchItem>;
    async fn create_touch_item(&self, kind: TouchKind, definition: &str, at: DateTime<Utc>) -> Result<TouchItem>;
    async fn update_touch_item(
        &self,
        kind: TouchKind,
        id: i64,
        definition: &str,
        at: DateTime<Utc>,
    ) -> Result<TouchItem>;
    async fn delete_touch_item(&self, kind: TouchKind, id: i64) -> Result<()>;

    /// Everything that happened to `person` since `since`, oldest first.
    async fn person_exposures(&self, person: &str, since: DateTime<Utc>) -> Result<Vec<Exposure>>;
    async fn record_exposures(&self, exposures: &[PersonExposure]) -> Result<()>;
    /// How many times each outcome happened for an item, and to how many accounts.
    async fn exposure_counts(&self, item_id: i64) -> Result<Vec<(Outcome, i64, i64)>>;
    /// Each account's first exposure of `outcome` to an item.
    async fn first_exposures(&self, item_id: i64, outcome: Outcome) -> Result<Vec<(i64, DateTime<Utc>)>>;

    /// Enrolls an account in a message (a playbook step); false when it already was.
    async fn enroll(&self, item_id: i64, account_id: i64, at: DateTime<Utc>) -> Result<bool>;
    async fn enrollments(&self, account_id: i64) -> Result<Vec<i64>>;

    /// Stores an answer (and, for an NPS survey, the same answer in `nps_responses` under the
    /// person and the answer's day); false when the person already answered this round.
    async fn insert_survey_answer(&self, answer: &SurveyAnswer, nps_day: Option<chrono::NaiveDate>) -> Result<bool>;
    async fn survey_answers(&self, survey_id: i64) -> Result<Vec<SurveyAnswer>>;
    async fn account_survey_answers(&self, account_id: i64, limit: i64) -> Result<Vec<SurveyAnswer>>;

    async fn touch_caps(&self) -> Result<Option<String>>;
    async fn save_touch_caps(&self, caps: &str, new_secret: &str) -> Result<()>;
    /// The key survey links are signed with: `new_secret` becomes it when there is none yet.
    async fn link_secret(&self, new_secret: &str) -> Result<String>;
}

/// A `touch_items` row; the kind is a code.
#[derive(sqlx::FromRow)]
pub(crate) struct ItemRow {
    id: i64,
    kind: String,
    definition: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<ItemRow> for TouchItem {
    type Error = crate::error::StoreError;

    fn try_from(row: ItemRow) -> Result<TouchItem> {
        Ok(TouchItem {
            id: row.id,
            kind: crate::sql::code(crate::error::Entity::Message, "kind", &row.kind, TouchKind::parse)?,
            definition: row.definition,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

macro_rules! tech_touch_store {
    ($store:ident, $db:ident) => {
        mod tech_touch_sql {
            use super::{$db, $store};
            use $crate::sql::found;
            use chrono::{DateTime, Utc};
            use domain::tech_touch::{Exposure, Outcome, TouchKind};
            use sqlx::{FromRow, Row};
            use $crate::error::{Entity, StoreError};
            use $crate::tech_touch::{PersonExposure, SurveyAnswer, TechTouchStore, TouchItem};
            use $crate::Result;

            fn entity(kind: TouchKind) -> Entity {
                match kind {
                    TouchKind::Message => Entity::Message,
                    TouchKind::Survey => Entity::Survey,
                }
            }

            fn corrupt(what: &str) -> StoreError {
                StoreError::Corrupt { entity: Entity::Message, detail: what.to_owned() }
            }

            fn item(row: &<$db as sqlx::Database>::Row) -> Result<TouchItem> {
                TouchItem::try_from($crate::tech_touch::ItemRow::from_row(row)?)
            }

            fn answer(row: &<$db as sqlx::Database>::Row) -> Result<SurveyAnswer> {
                Ok(SurveyAnswer::from_row(row)?)
            }

            const ITEM_COLUMNS: &str = "id, kind, definition, created_at, updated_at";
            const ANSWER_COLUMNS: &str =
                "survey_id, round, person, account_id, score, comment, channel, answered_at";

            #[async_trait::async_trait]
            impl TechTouchStore for $store {
                async fn touch_items(&self, kind: TouchKind) -> Result<Vec<TouchItem>> {
                    let rows = sqlx::query(&format!("SELECT {ITEM_COLUMNS} FROM touch_items WHERE kind = $1 ORDER BY id"))
                        .bind(kind.as_str())
                        .fetch_all(&self.pool)
                        .await?;
                    rows.iter().map(item).collect()
                }

                async fn touch_item(&self, kind: TouchKind, id: i64) -> Result<TouchItem> {
                    let row = sqlx::query(&format!("SELECT {ITEM_COLUMNS} FROM touch_items WHERE kind = $1 AND id = $2"))
                        .bind(kind.as_str())
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await?;
                    found(row, item, entity(kind), id)
                }

                async fn create_touch_item(&self, kind: TouchKind, definition: &str, at: DateTime<Utc>) -> Result<TouchItem> {
                    let row = sqlx::query(&format!(
                        "INSERT INTO touch_items (kind, definition, created_at, updated_at) VALUES ($1, $2, $3, $3) \
                         RETURNING {ITEM_COLUMNS}"
                    ))
                    .bind(kind.as_str())
                    .bind(definition)
                    .bind(at)
                    .fetch_one(&self.pool)
                    .await?;
                    item(&row)
                }

                async fn update_touch_item(
                    &self,
                    kind: TouchKind,
                    id: i64,
                    definition: &str,
                    at: DateTime<Utc>,
                ) -> Result<TouchItem> {
                    let row = sqlx::query(&format!(
                        "UPDATE touch_items SET definition = $1, updated_at = $2 WHERE kind = $3 AND id = $4 \
                         RETURNING {ITEM_COLUMNS}"
                    ))
                    .bind(definition)
                    .bind(at)
                    .bind(kind.as_str())
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                    found(row, item, entity(kind), id)
                }

                async fn delete_touch_item(&self, kind: TouchKind, id: i64) -> Result<()> {
                    let done = sqlx::query("DELETE FROM touch_items WHERE kind = $1 AND id = $2")
                        .bind(kind.as_str())
                        .bind(id)
                        .execute(&self.pool)
                        .await?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound { entity: entity(kind), id: id.to_string() });
                    }
                    Ok(())
                }

                async fn person_exposures(&self, person: &str, since: DateTime<Utc>) -> Result<Vec<Exposure>> {
                    let rows = sqlx::query(
                        "SELECT kind, item_id, round, outcome, at FROM touch_exposures \
                         WHERE person = $1 AND at >= $2 ORDER BY at, id",
                    )
                    .bind(person)
                    .bind(since)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map(|row| {
                            let kind: String = row.try_get("kind")?;
                            let outcome: String = row.try_get("outcome")?;
                            Ok(Exposure {
                                kind: TouchKind::parse(&kind).map_err(|_| corrupt("exposure kind"))?,
                                item_id: row.try_get("item_id")?,
                                round: row.try_get("round")?,
                                outcome: Outcome::parse(&outcome).map_err(|_| corrupt("exposure outcome"))?,
                                at: row.try_get("at")?,
                            })
                        })
                        .collect()
                }

                async fn record_exposures(&self, exposures: &[PersonExposure]) -> Result<()> {
                    if exposures.is_empty() {
                        return Ok(());
                    }
                    let mut qb = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO touch_exposures (kind, item_id, round, account_id, person, outcome, at) ",
                    );
                    qb.push_values(exposures, |mut b, e| {
                        b.push_bind(e.exposure.kind.as_str())
                            .push_bind(e.exposure.item_id)
                            .push_bind(e.exposure.round)
                            .push_bind(e.account_id)
                            .push_bind(e.person.clone())
                            .push_bind(e.exposure.outcome.as_str())
                            .push_bind(e.exposure.at);
                    });
                    qb.build().execute(&self.pool).await?;
                    Ok(())
                }

                async fn exposure_counts(&self, item_id: i64) -> Result<Vec<(Outcome, i64, i64)>> {
                    let rows = sqlx::query(
                        "SELECT outcome, COUNT(*) AS times, COUNT(DISTINCT account_id) AS accounts \
                         FROM touch_exposures WHERE item_id = $1 GROUP BY outcome ORDER BY outcome",
                    )
                    .bind(item_id)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map(|row| {
                            let outcome: String = row.try_get("outcome")?;
                            Ok((
                                Outcome::parse(&outcome).map_err(|_| corrupt("exposure outcome"))?,
                                row.try_get("times")?,
                                row.try_get("accounts")?,
                            ))
                        })
                        .collect()
                }

                async fn first_exposures(&self, item_id: i64, outcome: Outcome) -> Result<Vec<(i64, DateTime<Utc>)>> {
                    let rows = sqlx::query(
                        "SELECT account_id, MIN(at) AS first_at FROM touch_exposures \
                         WHERE item_id = $1 AND outcome = $2 GROUP BY account_id ORDER BY account_id",
                    )
                    .bind(item_id)
                    .bind(outcome.as_str())
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter().map(|row| Ok((row.try_get("account_id")?, row.try_get("first_at")?))).collect()
                }

                async fn enroll(&self, item_id: i64, account_id: i64, at: DateTime<Utc>) -> Result<bool> {
                    let done = sqlx::query(
                        "INSERT INTO touch_enrollments (item_id, account_id, enrolled_at) VALUES ($1, $2, $3) \
                         ON CONFLICT (item_id, account_id) DO NOTHING",
                    )
                    .bind(item_id)
                    .bind(account_id)
                    .bind(at)
                    .execute(&self.pool)
                    .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn enrollments(&self, account_id: i64) -> Result<Vec<i64>> {
                    let rows = sqlx::query("SELECT item_id FROM touch_enrollments WHERE account_id = $1 ORDER BY item_id")
                        .bind(account_id)
                        .fetch_all(&self.pool)
                        .await?;
                    rows.iter().map(|row| Ok(row.try_get("item_id")?)).collect()
                }

                async fn insert_survey_answer(
                    &self,
                    answer: &SurveyAnswer,
                    nps_day: Option<chrono::NaiveDate>,
                ) -> Result<bool> {
                    let mut tx = self.pool.begin().await?;
                    let done = sqlx::query(&format!(
                        "INSERT INTO survey_answers ({ANSWER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                         ON CONFLICT (survey_id, round, person) DO NOTHING"
                    ))
                    .bind(answer.survey_id)
                    .bind(answer.round)
                    .bind(&answer.person)
                    .bind(answer.account_id)
                    .bind(answer.score)
                    .bind(&answer.comment)
                    .bind(&answer.channel)
                    .bind(answer.answered_at)
                    .execute(&mut *tx)
                    .await?;
                    if done.rows_affected() == 0 {
                        return Ok(false);
                    }
                    if let Some(day) = nps_day {
                        sqlx::query(
                            "INSERT INTO nps_responses (account_id, contact_email, responded_on, score, comment) \
                             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, contact_email, responded_on) \
                             DO UPDATE SET score = excluded.score, comment = excluded.comment",
                        )
                        .bind(answer.account_id)
                        .bind(&answer.person)
                        .bind(day)
                        .bind(answer.score)
                        .bind(&answer.comment)
                        .execute(&mut *tx)
                        .await?;
                    }
                    tx.commit().await?;
                    Ok(true)
                }

                async fn survey_answers(&self, survey_id: i64) -> Result<Vec<SurveyAnswer>> {
                    let rows = sqlx::query(&format!(
                        "SELECT {ANSWER_COLUMNS} FROM survey_answers WHERE survey_id = $1 ORDER BY answered_at, id"
                    ))
                    .bind(survey_id)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter().map(answer).collect()
                }

                async fn account_survey_answers(&self, account_id: i64, limit: i64) -> Result<Vec<SurveyAnswer>> {
                    let rows = sqlx::query(&format!(
                        "SELECT {ANSWER_COLUMNS} FROM survey_answers WHERE account_id = $1 \
                         ORDER BY answered_at DESC, id DESC LIMIT $2"
                    ))
                    .bind(account_id)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter().map(answer).collect()
                }

                async fn touch_caps(&self) -> Result<Option<String>> {
                    let row = sqlx::query("SELECT caps FROM touch_settings WHERE id = 1").fetch_optional(&self.pool).await?;
                    Ok(row.map(|r| r.try_get::<Option<String>, _>("caps")).transpose()?.flatten())
                }

                async fn save_touch_caps(&self, caps: &str, new_secret: &str) -> Result<()> {
                    sqlx::query(
                        "INSERT INTO touch_settings (id, caps, link_secret) VALUES (1, $1, $2) \
                         ON CONFLICT (id) DO UPDATE SET caps = excluded.caps",
                    )
                    .bind(caps)
                    .bind(new_secret)
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn link_secret(&self, new_secret: &str) -> Result<String> {
                    sqlx::query(
                        "INSERT INTO touch_settings (id, caps, link_secret) VALUES (1, NULL, $1) \
                         ON CONFLICT (id) DO NOTHING",
                    )
                    .bind(new_secret)
                    .execute(&self.pool)
                    .await?;
                    let row = sqlx::query("SELECT link_secret FROM touch_settings WHERE id = 1").fetch_one(&self.pool).await?;
                    Ok(row.try_get("link_secret")?)
                }
            }
        }
    };
}

pub(crate) use tech_touch_store;
