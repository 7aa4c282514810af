//! `/api/v1/audit`: every write, who made it, and which fields changed (admins only).

use super::ListResponse;
use crate::extract::QueryParams;
use crate::problem::{ApiError, Problem};
use crate::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::Json;
use chrono::{DateTime, Utc};
use domain::audit::AuditEntry;
use domain::{Reason, UserId};
use store::AuditQuery;

fn parse_time(raw: &str) -> Result<DateTime<Utc>, Reason> {
    DateTime::parse_from_rfc3339(raw).map(|t| t.with_timezone(&Utc)).map_err(|_| Reason::InvalidTimestamp)
}

fn query(params: &mut QueryParams, limit: i64, offset: i64) -> AuditQuery {
    AuditQuery {
        actor_id: params.id("actor_id").map(UserId),
        entity: params.text("entity"),
        entity_id: params.text("entity_id"),
        action: params.text("action"),
        since: params.parsed("since", parse_time),
        until: params.parsed("until", parse_time),
        limit,
        offset,
    }
}

/// Lists audit entries, newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit",
    params(("actor_id" = Option<i64>, Query), ("entity" = Option<String>, Query), ("entity_id" = Option<String>, Query),
        ("action" = Option<String>, Query), ("since" = Option<String>, Query, description = "RFC 3339"),
        ("until" = Option<String>, Query, description = "RFC 3339, exclusive"), ("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query)),
    responses((status = 200, body = ListResponse<AuditEntry>), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list(
    State(app): State<AppState>,
    mut params: QueryParams,
) -> Result<Json<ListResponse<AuditEntry>>, ApiError> {
    let (limit, offset) = params.page();
    let query = query(&mut params, limit, offset);
    params.finish()?;
    Ok(Json(ListResponse::new(app.audit_log(&query).await?, limit, offset)))
}

/// The same entries as CSV (all matches, newest first), one row per changed field.
#[utoipa::path(get, path = "/api/v1/audit/export", tag = "audit",
    params(("actor_id" = Option<i64>, Query), ("entity" = Option<String>, Query), ("entity_id" = Option<String>, Query),
        ("action" = Option<String>, Query), ("since" = Option<String>, Query), ("until" = Option<String>, Query),
        ("encoding" = Option<String>, Query, description = "utf-8-bom (default), utf-8 or shift_jis")),
    responses((status = 200, content_type = "text/csv", body = String), (status = 403, body = Problem)))]
pub async fn export(State(app): State<AppState>, mut params: QueryParams) -> Result<impl IntoResponse, ApiError> {
    let query = query(&mut params, i64::MAX, 0);
    let encoding = super::interchange::export_encoding(&mut params);
    params.finish()?;
    let entries = app.audit_log(&query).await?.items;
    let header: Vec<String> =
        ["id", "occurred_at", "actor_id", "actor", "action", "entity", "entity_id", "field", "old", "new"]
            .map(String::from)
            .to_vec();
    let rows = entries.iter().flat_map(|e| {
        let base = vec![
            e.id.to_string(),
            e.occurred_at.to_rfc3339(),
            e.input.actor_id.map(|u| u.to_string()).unwrap_or_default(),
            e.input.actor.clone(),
            e.input.action.clone(),
            e.input.entity.clone(),
            e.input.entity_id.clone().unwrap_or_default(),
        ];
        let changes: Vec<Vec<String>> = if e.input.changes.is_empty() {
            vec![[base.clone(), vec![String::new(), String::new(), String::new()]].concat()]
        } else {
            e.input
                .changes
                .iter()
                .map(|(field, change)| {
                    [base.clone(), vec![field.clone(), change.old.to_string(), change.new.to_string()]].concat()
                })
                .collect()
        };
        changes
    });
    let csv =
        domain::interchange::write_csv(&header, rows).map_err(|e| ApiError::Internal(format!("audit CSV: {e}")))?;
    let bytes = super::interchange::encode_csv(&csv, encoding)?;
    Ok(super::interchange::csv_download("audit.csv", bytes, encoding))
}
