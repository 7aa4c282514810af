//! Imports in the browser: an uploaded CSV file is kept (`store::staged_imports`) and checked
//! without writing anything, its every bad row shown; its uploader then imports it, all or
//! nothing, or drops it. The history of imports is read from the audit log.

use crate::interchange::{ImportKind, ImportOutcome};
use crate::{Actor, App, AppError};
use chrono::{DateTime, Utc};
use domain::interchange::{Encoding, RowError};
use domain::Reason;
use store::{AuditQuery, StagedImport};

/// Staged files are forgotten after this long.
const STAGED_HOURS: i64 = 24;
pub const MAX_FILE_NAME: usize = 255;

/// A staged file and what checking it found.
#[derive(Debug, Clone)]
pub struct StagedCheck {
    pub token: String,
    pub kind: ImportKind,
    pub file_name: String,
    /// The rows ready to import, or every bad row (the first `MAX_REPORTED_ERRORS`, then a count).
    pub result: Result<ImportOutcome, Vec<RowError>>,
}

/// One import as the history shows it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ImportRecord {
    pub at: DateTime<Utc>,
    pub actor: String,
    /// What was imported: `account`, `contact`, `subscription_period`, …
    pub entity: String,
    pub file: String,
    pub rows: i64,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
}

/// A file name as uploaded, without any path, control character or excess length.
fn clean_file_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let name: String = base.chars().filter(|c| !c.is_control()).take(MAX_FILE_NAME).collect();
    if name.trim().is_empty() {
        "upload.csv".to_owned()
    } else {
        name
    }
}

impl App {
    /// Keeps an uploaded file for checking and importing by the same user; returns its token.
    pub async fn stage_csv(
        &self,
        actor: &Actor,
        kind: ImportKind,
        file_name: &str,
        content: Vec<u8>,
        encoding: Option<Encoding>,
    ) -> Result<String, AppError> {
        let user = actor.user_id().ok_or(AppError::Forbidden)?;
        if content.is_empty() {
            return Err(AppError::invalid("file", Reason::Required));
        }
        let token = crate::auth::new_secret("")?;
        let now = Utc::now();
        let staged = StagedImport {
            token: token.clone(),
            user_id: user,
            kind: kind.as_str().to_owned(),
            file_name: clean_file_name(file_name),
            encoding: encoding.map(|e| e.as_str().to_owned()),
            content,
            created_at: now,
        };
        self.store.stage_import(&staged, now - chrono::Duration::hours(STAGED_HOURS)).await?;
        Ok(token)
    }

    async fn staged(
        &self,
        actor: &Actor,
        token: &str,
    ) -> Result<(StagedImport, ImportKind, Option<Encoding>), AppError> {
        let user = actor.user_id().ok_or(AppError::Forbidden)?;
        let not_found = || AppError::NotFound { entity: store::Entity::StagedImport, id: token.to_owned() };
        let staged = self.store.staged_import(token, user).await?.ok_or_else(not_found)?;
        let kind = ImportKind::parse(&staged.kind).ok_or_else(not_found)?;
        let encoding = staged.encoding.as_deref().and_then(|e| Encoding::parse(e).ok());
        Ok((staged, kind, encoding))
    }

    /// Checks a staged file as an import would, writing nothing.
    pub async fn check_staged_csv(&self, actor: &Actor, token: &str) -> Result<StagedCheck, AppError> {
        let (staged, kind, encoding) = self.staged(actor, token).await?;
        let result = match self.check_csv(actor, kind, &staged.file_name, &staged.content, encoding).await {
            Ok(outcome) => Ok(outcome),
            Err(AppError::ImportRejected { errors, .. }) => Err(errors),
            Err(other) => return Err(other),
        };
        Ok(StagedCheck { token: staged.token, kind, file_name: staged.file_name, result })
    }

    /// Imports a staged file (all or nothing) and forgets it once imported; returns its name
    /// and what the import changed.
    pub async fn import_staged_csv(&self, actor: &Actor, token: &str) -> Result<(String, ImportOutcome), AppError> {
        let (staged, kind, encoding) = self.staged(actor, token).await?;
        let outcome = self.import_csv(actor, kind, &staged.file_name, &staged.content, encoding).await?;
        self.store.drop_staged_import(token).await?;
        Ok((staged.file_name, outcome))
    }

    /// Forgets a staged file without importing it.
    pub async fn drop_staged_csv(&self, actor: &Actor, token: &str) -> Result<(), AppError> {
        self.staged(actor, token).await?;
        Ok(self.store.drop_staged_import(token).await?)
    }

    /// The latest imports (API, CLI or browser), newest first.
    pub async fn import_history(&self, limit: i64) -> Result<Vec<ImportRecord>, AppError> {
        let query = AuditQuery { action: Some("import".into()), limit, ..AuditQuery::default() };
        let entries = self.store.list_audit(&query).await?.items;
        Ok(entries
            .into_iter()
            .map(|entry| {
                let number = |field: &str| entry.input.changes.get(field).and_then(|c| c.new.as_i64()).unwrap_or(0);
                ImportRecord {
                    at: entry.occurred_at,
                    actor: entry.input.actor.clone(),
                    entity: entry.input.entity.clone(),
                    file: entry.input.changes.get("file").and_then(|c| c.new.as_str()).unwrap_or_default().to_owned(),
                    rows: number("rows"),
                    created: number("created"),
                    updated: number("updated"),
                    unchanged: number("unchanged"),
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploaded_file_names_lose_paths_control_characters_and_excess_length() {
        assert_eq!(clean_file_name("C:\\Users\\aki\\顧客一覧.csv"), "顧客一覧.csv");
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name("a\r\nb.csv"), "ab.csv");
        assert_eq!(clean_file_name(""), "upload.csv");
        assert_eq!(clean_file_name(&"x".repeat(400)).chars().count(), MAX_FILE_NAME);
    }
}
