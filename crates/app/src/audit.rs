//! Recording writes in the audit log, and reading it back.

use crate::{Actor, App, AppError};
use domain::audit::{diff, AuditEntry, AuditInput, FieldChange};
use serde::Serialize;
use std::collections::BTreeMap;
use store::{AuditQuery, Page};

impl App {
    pub(crate) async fn record(
        &self,
        actor: &Actor,
        action: &str,
        entity: &str,
        entity_id: Option<String>,
        changes: BTreeMap<String, FieldChange>,
    ) -> Result<(), AppError> {
        let input = AuditInput {
            actor_id: actor.user_id(),
            actor: actor.label(),
            action: action.to_owned(),
            entity: entity.to_owned(),
            entity_id,
            changes,
        };
        self.store.append_audit(&input).await?;
        Ok(())
    }

    /// Records a create (`before` = None), update, or delete (`after` = None) field by field.
    pub(crate) async fn record_change<T: Serialize>(
        &self,
        actor: &Actor,
        action: &str,
        entity: &str,
        entity_id: &str,
        before: Option<&T>,
        after: Option<&T>,
    ) -> Result<(), AppError> {
        let value = |v: Option<&T>| v.and_then(|v| serde_json::to_value(v).ok()).unwrap_or(serde_json::Value::Null);
        let changes = diff(&value(before), &value(after));
        self.record(actor, action, entity, Some(entity_id.to_owned()), changes).await
    }

    pub async fn audit_log(&self, query: &AuditQuery) -> Result<Page<AuditEntry>, AppError> {
        Ok(self.store.list_audit(query).await?)
    }
}
