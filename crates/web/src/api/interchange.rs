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
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::interchange::{encode, Encoding, ExportEncoding};
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

/// Exports a CSV file in the import format: UTF-8 with a byte order mark (what Excel needs to
/// read UTF-8), or `encoding=utf-8` without it, or `encoding=shift_jis`. The importer reads all
/// three back.
#[utoipa::path(get, path = "/api/v1/exports/{kind}", tag = "import/export",
    params(("kind" = String, Path, description = "accounts, contacts, subscriptions, spend, nps or tickets"),
        ("encoding" = Option<String>, Query, description = "utf-8-bom (default), utf-8 or shift_jis")),
    responses((status = 200, content_type = "text/csv", body = String), (status = 422, body = Problem)))]
pub async fn export(
    State(app): State<AppState>,
    Path(raw_kind): Path<String>,
    mut params: QueryParams,
) -> Result<Response, ApiError> {
    let kind = kind(&raw_kind);
    let encoding = export_encoding(&mut params);
    params.finish()?;
    let kind = kind?;
    Ok(csv_download(&format!("{raw_kind}.csv"), app.export_csv(kind, encoding).await?, encoding))
}

/// The `encoding` query parameter of a CSV download: UTF-8 with a BOM unless it says otherwise.
pub fn export_encoding(params: &mut QueryParams) -> ExportEncoding {
    params.parsed("encoding", ExportEncoding::parse).unwrap_or_default()
}

/// A CSV text in the encoding asked for; a character Shift_JIS lacks is a 422 naming it.
pub fn encode_csv(text: &str, encoding: ExportEncoding) -> Result<Vec<u8>, ApiError> {
    encode(text, encoding).map_err(|reason| ApiError::Fields(vec![FieldError::new("encoding", reason)]))
}

/// Every CSV download (import-format exports, the accounts list, metrics tables, the audit log):
/// `text/csv` with its charset, as an attachment named `filename`.
pub fn csv_download(filename: &str, bytes: Vec<u8>, encoding: ExportEncoding) -> Response {
    let disposition = format!("attachment; filename=\"{filename}\"");
    (
        [
            (header::CONTENT_TYPE, format!("text/csv; charset={}", encoding.charset())),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response()
}
