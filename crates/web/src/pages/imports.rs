//! `/imports`: customer data from CSV files in the browser. The file is uploaded (with a
//! progress bar), kept, and checked without writing anything: every bad row is listed with its
//! line, column and reason in the reader's language. Its uploader then imports it, all or
//! nothing, or drops it. Below, the history of imports (browser, API and CLI alike).

use crate::auth::Signed;
use crate::extract::{Path, QueryParams};
use crate::pages::{format, render, Frame};
use crate::problem::ApiError;
use crate::AppState;
use app::staged_imports::StagedCheck;
use app::{AppError, ImportKind};
use askama::Template;
use axum::extract::{Multipart, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use domain::i18n::{Lang, Text};
use domain::interchange::Encoding;
use domain::Reason;
use std::collections::HashMap;

/// What each kind of file holds, for the picker.
fn kind_label(kind: ImportKind) -> Text {
    match kind {
        ImportKind::Accounts => Text::new("顧客（accounts.csv）", "Accounts (accounts.csv)"),
        ImportKind::Contacts => Text::new("連絡先（contacts.csv）", "Contacts (contacts.csv)"),
        ImportKind::Subscriptions => Text::new("契約（subscriptions.csv）", "Subscriptions (subscriptions.csv)"),
        ImportKind::Spend => Text::new("営業・マーケティング費用（spend.csv）", "Sales & marketing spend (spend.csv)"),
        ImportKind::Nps => Text::new("NPS 回答（nps.csv）", "NPS answers (nps.csv)"),
        ImportKind::Tickets => Text::new("サポートチケット（tickets.csv）", "Support tickets (tickets.csv)"),
    }
}

pub struct HistoryRow {
    pub when: String,
    pub actor: String,
    pub what: String,
    pub file: String,
    pub rows: String,
    pub created: String,
    pub updated: String,
    pub unchanged: String,
}

#[derive(Template)]
#[template(path = "imports.html")]
pub struct ImportsPage {
    pub frame: Frame,
    pub kinds: Vec<(&'static str, &'static str, bool)>,
    pub notice: Option<String>,
    pub errors: Vec<String>,
    pub history: Vec<HistoryRow>,
}

fn entity_label(entity: &str, lang: Lang) -> &'static str {
    let kind = match entity {
        "account" => ImportKind::Accounts,
        "contact" => ImportKind::Contacts,
        "subscription_period" => ImportKind::Subscriptions,
        "marketing_spend" => ImportKind::Spend,
        "nps_response" => ImportKind::Nps,
        _ => ImportKind::Tickets,
    };
    kind_label(kind).pick(lang)
}

/// What the page says at its top after an action.
enum Done {
    /// The reader's latest import, as the audit log recorded it (never the query string's
    /// words: a link must not be able to claim an import happened).
    Imported,
    Dropped,
}

async fn imports_page(
    app: &AppState,
    frame: Frame,
    status: StatusCode,
    chosen: Option<&str>,
    done: Option<Done>,
    errors: Vec<String>,
) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let zone = app.zone();
    let records = app.import_history(50).await?;
    let notice = match done {
        Some(Done::Imported) => {
            let by = frame.actor.label();
            records.iter().find(|r| r.actor == by).map(|r| {
                let (file, rows) = (&r.file, format::grouped(r.rows));
                let (created, updated, unchanged) =
                    (format::grouped(r.created), format::grouped(r.updated), format::grouped(r.unchanged));
                match lang {
                    Lang::Ja => format!(
                        "{file} を取り込みました: {rows} 行（新規 {created}、更新 {updated}、変更なし {unchanged}）"
                    ),
                    Lang::En => format!(
                        "{file} was imported: {rows} rows ({created} new, {updated} updated, {unchanged} unchanged)"
                    ),
                }
            })
        }
        Some(Done::Dropped) => Some(
            frame
                .pick("ファイルを破棄しました。何も書き込んでいません。", "The file was dropped; nothing was written.")
                .to_owned(),
        ),
        None => None,
    };
    let names: HashMap<String, String> =
        app.staff_users().await?.into_iter().map(|u| (u.input.email.to_string(), u.input.name)).collect();
    let history = records
        .into_iter()
        .map(|record| HistoryRow {
            when: format::moment(Some(record.at), &zone, lang),
            actor: names.get(&record.actor).cloned().unwrap_or(record.actor),
            what: entity_label(&record.entity, lang).to_owned(),
            file: record.file,
            rows: format::grouped(record.rows),
            created: format::grouped(record.created),
            updated: format::grouped(record.updated),
            unchanged: format::grouped(record.unchanged),
        })
        .collect();
    let kinds = ImportKind::ALL
        .iter()
        .map(|kind| (kind.as_str(), kind_label(*kind).pick(lang), Some(kind.as_str()) == chosen))
        .collect();
    let page = ImportsPage { frame: frame.at("imports"), kinds, notice, errors, history };
    Ok((status, render(&page, "imports")?).into_response())
}

pub async fn page(State(app): State<AppState>, frame: Frame, params: QueryParams) -> Result<Response, ApiError> {
    let done = match params.text("done").as_deref() {
        Some("imported") => Some(Done::Imported),
        Some("dropped") => Some(Done::Dropped),
        _ => None,
    };
    let chosen = params.text("kind");
    params.finish()?;
    imports_page(&app, frame, StatusCode::OK, chosen.as_deref(), done, Vec::new()).await
}

/// Receives the file and keeps it, then sends the browser to its check page (201 with the
/// address for the page script's upload, 303 for a plain form).
pub async fn upload(
    State(app): State<AppState>,
    frame: Frame,
    Signed(actor): Signed,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let (mut kind, mut encoding, mut file) = (None, None, None);
    let mut errors = Vec::new();
    let label = |field: &str| match field {
        "kind" => frame.pick("データの種類", "Kind of data"),
        "encoding" => frame.pick("文字コード", "Encoding"),
        _ => frame.pick("ファイル", "File"),
    };
    while let Some(field) = multipart.next_field().await.map_err(|e| bad_upload(&e.to_string()))? {
        match field.name().unwrap_or_default() {
            "kind" => kind = Some(field.text().await.map_err(|e| bad_upload(&e.to_string()))?),
            "encoding" => encoding = Some(field.text().await.map_err(|e| bad_upload(&e.to_string()))?),
            "file" => {
                let name = field.file_name().unwrap_or_default().to_owned();
                file = Some((name, field.bytes().await.map_err(|e| bad_upload(&e.to_string()))?.to_vec()));
            }
            _ => {}
        }
    }
    let kind_value = kind.unwrap_or_default();
    let parsed_kind = ImportKind::parse(kind_value.trim());
    if parsed_kind.is_none() {
        let allowed = ImportKind::ALL.iter().map(|k| k.as_str().to_owned()).collect();
        errors.push(format!("{}: {}", label("kind"), Reason::NotOneOf { allowed }.message(lang)));
    }
    let encoding = match encoding.as_deref().map(str::trim).filter(|e| !e.is_empty() && *e != "auto") {
        None => None,
        Some(raw) => match Encoding::parse(raw) {
            Ok(encoding) => Some(encoding),
            Err(reason) => {
                errors.push(format!("{}: {}", label("encoding"), reason.message(lang)));
                None
            }
        },
    };
    let file = file.filter(|(_, bytes)| !bytes.is_empty());
    if file.is_none() {
        errors.push(format!("{}: {}", label("file"), Reason::Required.message(lang)));
    }
    let (Some(kind), Some((name, bytes)), true) = (parsed_kind, file, errors.is_empty()) else {
        return imports_page(&app, frame, StatusCode::UNPROCESSABLE_ENTITY, Some(kind_value.trim()), None, errors)
            .await;
    };
    let token = app.stage_csv(&actor, kind, &name, bytes, encoding).await?;
    let next = format!("/imports/{token}");
    if headers.contains_key("x-kizuna-upload") {
        Ok((StatusCode::CREATED, [(header::LOCATION, next)]).into_response())
    } else {
        Ok(Redirect::to(&next).into_response())
    }
}

fn bad_upload(detail: &str) -> ApiError {
    ApiError::App(AppError::invalid("file", Reason::Malformed { detail: detail.to_owned() }))
}

#[derive(Template)]
#[template(path = "import_check.html")]
pub struct CheckPage {
    pub frame: Frame,
    pub token: String,
    pub file_name: String,
    pub kind: &'static str,
    pub encoding: &'static str,
    pub rows: Option<String>,
    /// (line, column, reason) of every bad row listed.
    pub problems: Vec<(String, String, String)>,
    pub more: Option<String>,
}

/// The dry run of a staged file: what would be imported, or every bad row.
pub async fn check(State(app): State<AppState>, frame: Frame, Path(token): Path<String>) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let StagedCheck { token, kind, file_name, result } = app.check_staged_csv(&frame.actor, &token).await?;
    let (rows, encoding, problems, more) = match result {
        Ok(outcome) => (Some(format::grouped(outcome.rows)), outcome.encoding.as_str(), Vec::new(), None),
        Err(errors) => {
            let (listed, more): (Vec<_>, Vec<_>) =
                errors.into_iter().partition(|e| !matches!(e.reason, Reason::MoreProblems { .. }));
            let problems =
                listed.iter().map(|e| (e.line.to_string(), e.column.clone(), e.reason.message(lang))).collect();
            (None, "", problems, more.first().map(|e| e.reason.message(lang)))
        }
    };
    let status = if rows.is_some() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = CheckPage {
        token,
        file_name,
        kind: kind_label(kind).pick(lang),
        encoding,
        rows,
        problems,
        more,
        frame: frame.at("imports"),
    };
    Ok((status, render(&page, "import check")?).into_response())
}

/// Imports the staged file, all or nothing, and says what it changed.
pub async fn run(
    State(app): State<AppState>,
    frame: Frame,
    Signed(actor): Signed,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    match app.import_staged_csv(&actor, &token).await {
        Ok(_) => Ok(Redirect::to("/imports?done=imported").into_response()),
        // The data changed since the check: show the file's problems as they are now.
        Err(AppError::ImportRejected { .. }) => check(State(app), frame, Path(token)).await,
        Err(error) => Err(error.into()),
    }
}

pub async fn drop_file(
    State(app): State<AppState>,
    Signed(actor): Signed,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    app.drop_staged_csv(&actor, &token).await?;
    Ok(Redirect::to("/imports?done=dropped").into_response())
}
