//! `/api/v1/imports/{kind}` and `/api/v1/exports/{kind}`: the CSV files of import-formats.md.

use crate::auth::Signed;
use crate::extract::Path;
use crate::extract::QueryParams;
use crate::problem::{ApiError, Problem};
use crate::AppState;
use app::{ImportKind, ImportOutcome};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use domain::interchange::Encoding;
use domain::{FieldError, Reason};

fn kind(raw: &str) -> Result<ImportKind, ApiError> {
    ImportKind::parse(raw).ok_or_else(|| {
        ApiError::Fields(vec![FieldError::new(
            "kind",
            Reason::NotOneOf { allowed: ImportKind::ALL.iter().map(|k| k.as_str().to_owned()).collect() },
        )])
    })
}

/// Imports a CSV file sent as the request body (UTF-8 or Shift_JIS). All or nothing: on any bad
/// row nothing is written and every bad row is listed with its line and column.
#[utoipa::path(post, path = "/api/v1/imports/{kind}", tag = "import/export",
    params(("kind" = String, Path, description = "accounts, contacts, subscriptions, spend, nps or tickets"),
        ("encoding" = Option<String>, Query, description = "utf-8 or shift_jis; detected when absent"),
        ("filename" = Option<String>, Query, description = "Name used in error reports")),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = Object, description = "What the import created, updated and left unchanged"),
        (status = 422, body = Problem)))]
pub async fn import(
    State(app): State<AppState>,
    Path(raw_kind): Path<String>,
    mut params: QueryParams,
    Signed(actor): Signed,
    body: Bytes,
) -> Result<Json<ImportOutcome>, ApiError> {
    let kind = kind(&raw_kind)?;
    let encoding = params.parsed("encoding", Encoding::parse);
    let file = params.text("filename").unwrap_or_else(|| format!("{raw_kind}.csv"));
    params.finish()?;
    Ok(Json(app.import_csv(&actor, kind, &file, &body, encoding).await?))
}

/// Exports a CSV file in the import format (UTF-8).
#[utoipa::path(get, path = "/api/v1/exports/{kind}", tag = "import/export",
    params(("kind" = String, Path, description = "accounts, contacts, subscriptions, spend, nps or tickets")),
    responses((status = 200, content_type = "text/csv", body = String), (status = 422, body = Problem)))]
pub async fn export(State(app): State<AppState>, Path(raw_kind): Path<String>) -> Result<impl IntoResponse, ApiError> {
    let csv = app.export_csv(kind(&raw_kind)?).await?;
    let disposition = format!("attachment; filename=\"{raw_kind}.csv\"");
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)],
        csv,
    ))
}
