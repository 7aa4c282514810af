//! The REST API under `/api/v1`.

pub mod accounts;
pub mod audit;
pub mod contacts;
pub mod feedback;
pub mod health;
pub mod interchange;
pub mod kpi;
pub mod me;
pub mod metrics;
pub mod notifications;
pub mod onboarding;
pub mod playbooks;
pub mod renewals;
pub mod segments;
pub mod settings;
pub mod staff;
pub mod subscriptions;
pub mod tasks;
pub mod tech_touch;
pub mod timeline;
pub mod tokens;
pub mod tracking;
pub mod usage;

use serde::Serialize;

/// One page of a list and the number of all matches.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ListResponse<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

impl<T> ListResponse<T> {
    pub fn new(page: store::Page<T>, limit: i64, offset: i64) -> ListResponse<T> {
        ListResponse { items: page.items, total: page.total, limit, offset }
    }
}

/// Serializes a stored value back to JSON, as the base a PATCH body is merged onto.
pub(crate) fn to_value<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}
