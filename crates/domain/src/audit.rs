//! The audit log: who changed what, when, field by field.

use crate::ids::UserId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// One field's value before and after a change (`null` when it did not exist).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldChange {
    /// The value before, as the field's JSON (a string, number, boolean, object, array or `null`).
    pub old: Value,
    /// The value after, as the field's JSON (`null` when the change removed it).
    pub new: Value,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditInput {
    pub actor_id: Option<UserId>,
    /// The actor as shown: an email, `token:<name>`, or `system`.
    pub actor: String,
    /// create, update, delete, import, login, …
    pub action: String,
    pub entity: String,
    pub entity_id: Option<String>,
    pub changes: BTreeMap<String, FieldChange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    #[serde(flatten)]
    pub input: AuditInput,
}

/// The fields that differ between two JSON objects (a missing field counts as `null`).
pub fn diff(before: &Value, after: &Value) -> BTreeMap<String, FieldChange> {
    let empty = serde_json::Map::new();
    let old = before.as_object().unwrap_or(&empty);
    let new = after.as_object().unwrap_or(&empty);
    old.keys()
        .chain(new.keys())
        .filter_map(|key| {
            let (o, n) = (old.get(key).unwrap_or(&Value::Null), new.get(key).unwrap_or(&Value::Null));
            (o != n).then(|| (key.clone(), FieldChange { old: o.clone(), new: n.clone() }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_lists_only_changed_fields_with_old_and_new_values() {
        let changes = diff(
            &json!({"name": "A", "tier": "smb", "same": 1}),
            &json!({"name": "B", "same": 1, "stage": "adoption"}),
        );
        let keys: Vec<&str> = changes.keys().map(String::as_str).collect();
        assert_eq!(keys, vec!["name", "stage", "tier"]);
        assert_eq!(changes["name"], FieldChange { old: json!("A"), new: json!("B") });
        assert_eq!(changes["tier"].new, Value::Null);
    }

    #[test]
    fn creation_diffs_against_null() {
        let changes = diff(&Value::Null, &json!({"name": "A"}));
        assert_eq!(changes["name"].old, Value::Null);
    }
}
