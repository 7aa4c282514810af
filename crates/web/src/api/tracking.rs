//! The tracking API, compatible with Segment's and RudderStack's HTTP Tracking API:
//! `POST /v1/identify|track|page|screen|group|alias|batch|import`. Authenticated by a write key
//! (Basic auth user name, empty password, or `writeKey` in the body); answers 200 only after the
//! messages are committed.

use crate::problem::ApiError;
use crate::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap};
use axum::Json;
use base64::Engine;
use domain::i18n::Lang;
use domain::tracking::{parse_message, parse_message_text, MessageKind, MAX_BATCH_BYTES, MAX_MESSAGE_BYTES};
use domain::Reason;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::io::Read;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Success {
    pub success: bool,
    /// Messages stored (or already stored: a repeated `messageId` counts as accepted).
    pub accepted: usize,
    /// Messages of a batch that were refused; each is kept, with its reason, in the tracking
    /// debugger (`GET /api/v1/tracking/refused`).
    pub refused: usize,
}

/// CORS for browser sources (analytics.js and snippets on customers' pages): any origin may ask,
/// and a preflight is answered here; the write key's allowed origins then decide on the request
/// itself (403 otherwise). Nothing rides on cookies, so credentials are never allowed.
pub async fn cors(request: Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::response::IntoResponse;
    let origin = request.headers().get(header::ORIGIN).cloned();
    let mut response = if request.method() == axum::http::Method::OPTIONS {
        axum::http::StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(request).await
    };
    if let Some(origin) = origin {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.append(header::VARY, header::HeaderValue::from_static("origin"));
        headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, header::HeaderValue::from_static("POST, OPTIONS"));
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            header::HeaderValue::from_static("authorization, content-type, content-encoding"),
        );
        headers.insert(header::ACCESS_CONTROL_MAX_AGE, header::HeaderValue::from_static("86400"));
    }
    response
}

fn too_large() -> ApiError {
    ApiError::TooLarge { detail: format!("a request may hold at most {MAX_BATCH_BYTES} bytes") }
}

/// The body, read only up to the size limit: a larger one is refused with 413 without being
/// read whole.
async fn limited_body(body: Body) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, MAX_BATCH_BYTES).await.map_err(|_| too_large())
}

/// The body as JSON bytes: gzip is decoded whenever `Content-Encoding` says so, whatever the
/// `Content-Type` claims (RudderStack's Node client labels gzip as form data).
fn decoded(headers: &HeaderMap, body: &Bytes) -> Result<Vec<u8>, ApiError> {
    let gzip = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    let bytes = if gzip {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&body[..]).take(MAX_BATCH_BYTES as u64 + 1).read_to_end(&mut out).map_err(
            |e| ApiError::BadMessage {
                index: None,
                field: "body".into(),
                reason: Reason::Malformed { detail: format!("gzip: {e}") },
            },
        )?;
        out
    } else {
        body.to_vec()
    };
    if bytes.len() > MAX_BATCH_BYTES {
        return Err(too_large());
    }
    Ok(bytes)
}

/// The write key of Basic auth (user name, empty password).
pub(crate) fn basic_key(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let key = text.split(':').next().unwrap_or_default().to_owned();
    (!key.is_empty()).then_some(key)
}

/// A request body read without building a JSON tree of its messages: each message stays text
/// and is parsed on its own (typed, see `domain::tracking::parse_message_text`).
#[derive(serde::Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "writeKey", default)]
    write_key: Option<String>,
    #[serde(rename = "sentAt", default)]
    sent_at: Option<Value>,
    #[serde(default)]
    context: Option<Value>,
    #[serde(default)]
    integrations: Option<Value>,
    #[serde(borrow, default)]
    batch: Option<Vec<&'a RawValue>>,
}

/// One message of a request, as text (the usual case) or as an already parsed value.
enum Raw<'a> {
    Text(&'a str),
    Value(Value),
}

/// A batch's shared `context` (with its `integrations`) and `sentAt`.
fn batch_shared(
    context: Option<Value>,
    integrations: Option<Value>,
    sent_at: Option<&Value>,
) -> (Map<String, Value>, Option<chrono::DateTime<chrono::Utc>>) {
    let sent_at = sent_at.and_then(Value::as_str).and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok());
    let mut shared = match context {
        Some(Value::Object(context)) => context,
        _ => Map::new(),
    };
    if let Some(integrations) = integrations {
        shared.entry("integrations").or_insert(integrations);
    }
    (shared, sent_at.map(|t| t.with_timezone(&chrono::Utc)))
}

fn body_error(reason: Reason) -> ApiError {
    ApiError::BadMessage { index: None, field: "body".into(), reason }
}

async fn receive(app: AppState, request: Request, kind: Option<MessageKind>) -> Result<Json<Success>, ApiError> {
    let received_at = chrono::Utc::now();
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    let from_header = basic_key(&headers);
    let origin = headers.get(header::ORIGIN).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let mut live = None;
    if from_header.is_some() {
        live = Some(check_key(&app, from_header.clone(), origin.as_deref()).await?);
    }
    let body = limited_body(body).await?;
    let bytes = decoded(&headers, &body)?;
    let text = std::str::from_utf8(&bytes).ok();
    // NUL inside one message of a batch refuses that message only (below); anywhere else, the
    // request.
    if let Some(field) = text
        .filter(|t| t.contains("\\u0000"))
        .and_then(|t| serde_json::from_str::<Value>(t).ok())
        .and_then(|v| domain::fields::nul_path(&v))
        .filter(|path| !path.starts_with("batch["))
    {
        return Err(ApiError::BadMessage { index: None, field, reason: Reason::ContainsNul });
    }
    let envelope = text.and_then(|text| serde_json::from_str::<Envelope>(text).ok().map(|e| (text, e)));
    let (key, raw_messages, shared, sent_at) = match envelope {
        Some((text, envelope)) => {
            let key = from_header.or(envelope.write_key);
            let (raws, shared, sent_at) = match kind {
                Some(_) => (Some(vec![Raw::Text(text)]), Map::new(), None),
                None => {
                    let (shared, sent_at) =
                        batch_shared(envelope.context, envelope.integrations, envelope.sent_at.as_ref());
                    (
                        envelope.batch.map(|batch| batch.into_iter().map(|raw| Raw::Text(raw.get())).collect()),
                        shared,
                        sent_at,
                    )
                }
            };
            (key, raws, shared, sent_at)
        }
        None => {
            let body = match (serde_json::from_slice::<Value>(&bytes), &from_header) {
                (Ok(Value::Object(body)), _) => body,
                (_, None) => return Err(ApiError::Unauthenticated),
                (Ok(_), Some(_)) => return Err(body_error(Reason::WrongType { expected: "a JSON object" })),
                (Err(e), Some(_)) => return Err(body_error(Reason::Malformed { detail: e.to_string() })),
            };
            parsed_body(body, from_header, kind)
        }
    };
    let key_prefix: String = key.as_deref().unwrap_or_default().chars().take(12).collect();
    let live = match live {
        Some(live) => live,
        None => check_key(&app, key, origin.as_deref()).await?,
    };
    let Some(raw_messages) = raw_messages else {
        return Err(ApiError::BadMessage { index: None, field: "batch".into(), reason: Reason::Required });
    };
    let batch = kind.is_none();
    let mut messages = Vec::with_capacity(raw_messages.len());
    let mut refused = Vec::new();
    for (index, raw) in raw_messages.into_iter().enumerate() {
        let text = match &raw {
            Raw::Text(text) => std::borrow::Cow::Borrowed(*text),
            Raw::Value(value) => std::borrow::Cow::Owned(value.to_string()),
        };
        if text.len() > MAX_MESSAGE_BYTES && !batch {
            return Err(ApiError::TooLarge {
                detail: format!("the message has {} bytes; a message may hold at most {MAX_MESSAGE_BYTES}", text.len()),
            });
        }
        let fallback =
            || format!("kizuna-{}", app::auth::new_secret("").unwrap_or_else(|_| format!("{received_at:?}-{index}")));
        let parsed = if text.len() > MAX_MESSAGE_BYTES {
            Err(domain::tracking::MessageError { field: "message", reason: Reason::TooLong { max: MAX_MESSAGE_BYTES } })
        } else {
            match raw {
                Raw::Text(text) => parse_message_text(text, kind, &shared, sent_at, received_at, fallback),
                Raw::Value(value) => parse_message(value, kind, &shared, sent_at, received_at, fallback),
            }
        };
        match parsed {
            Ok(message) => messages.push(message),
            Err(error) => {
                let field = if batch { format!("batch[{index}].{}", error.field) } else { error.field.to_owned() };
                refused.push((field, error.reason, text.into_owned()));
            }
        }
    }
    let refused_count = refused.len();
    // A single-message call answers with its message's refusal; a batch answers with counts.
    let single_refusal = match refused.first() {
        Some((field, reason, _)) if !batch => Some((field.clone(), reason.clone())),
        _ => None,
    };
    let kept = refused
        .into_iter()
        .map(|(field, reason, text)| store::RefusedMessage {
            key_prefix: key_prefix.clone(),
            received_at,
            field,
            code: crate::problem::code_of(&reason),
            reason_ja: reason.message(Lang::Ja),
            reason_en: reason.message(Lang::En),
            message: app::refused_text(&text),
        })
        .collect();
    if refused_count > 0 {
        app.record_refused(kept).await?;
    }
    if let Some((field, reason)) = single_refusal {
        app.record_write_key_use(live.id, 0, refused_count).await;
        return Err(ApiError::BadMessage { index: None, field, reason });
    }
    let accepted = messages.len();
    if accepted > 0 {
        app.ingest(messages).await?;
    }
    app.record_write_key_use(live.id, accepted, refused_count).await;
    Ok(Json(Success { success: true, accepted, refused: refused_count }))
}

/// The write key must name a live write key that allows the request's browser origin (when it
/// has one).
pub(crate) async fn check_key(
    app: &AppState,
    key: Option<String>,
    origin: Option<&str>,
) -> Result<app::auth::LiveWriteKey, ApiError> {
    let live = match key {
        Some(key) => app.live_write_key(&key).await?,
        None => None,
    };
    let live = live.ok_or(ApiError::Unauthenticated)?;
    if !domain::credentials::origin_allowed(&live.allowed_origins, origin) {
        return Err(ApiError::OriginNotAllowed { origin: origin.unwrap_or_default().chars().take(200).collect() });
    }
    Ok(live)
}

/// The write key, the messages (`None`: a batch without `batch`), the shared context and `sentAt`.
type Received<'a> = (Option<String>, Option<Vec<Raw<'a>>>, Map<String, Value>, Option<chrono::DateTime<chrono::Utc>>);

/// The key and messages of a body that did not read as an envelope (a message of an unusual
/// shape); parsing its messages then names what is wrong with them.
fn parsed_body<'a>(
    mut body: Map<String, Value>,
    from_header: Option<String>,
    kind: Option<MessageKind>,
) -> Received<'a> {
    let key = from_header.or_else(|| body.get("writeKey").and_then(Value::as_str).map(str::to_owned));
    match kind {
        Some(_) => (key, Some(vec![Raw::Value(Value::Object(body))]), Map::new(), None),
        None => {
            let sent_at = body.get("sentAt").cloned();
            let (shared, sent_at) = batch_shared(body.remove("context"), body.remove("integrations"), sent_at.as_ref());
            let messages = match body.remove("batch") {
                Some(Value::Array(messages)) => Some(messages.into_iter().map(Raw::Value).collect()),
                _ => None,
            };
            (key, messages, shared, sent_at)
        }
    }
}

macro_rules! endpoint {
    ($name:ident, $path:literal, $kind:expr, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "tracking", request_body = Object,
            responses((status = 200, body = Success), (status = 400, body = crate::problem::Problem), (status = 401, body = crate::problem::Problem),
                (status = 403, body = crate::problem::Problem), (status = 413, body = crate::problem::Problem), (status = 429, body = crate::problem::Problem)))]
        pub async fn $name(State(app): State<AppState>, request: Request) -> Result<Json<Success>, ApiError> {
            receive(app, request, $kind).await
        }
    };
}

endpoint!(
    identify,
    "/v1/identify",
    Some(MessageKind::Identify),
    "Creates or updates an end user (email, name, role traits)."
);
endpoint!(
    track,
    "/v1/track",
    Some(MessageKind::Track),
    "Records an event, attributed by `context.groupId` or the user's latest group."
);
endpoint!(page, "/v1/page", Some(MessageKind::Page), "Records a page view.");
endpoint!(screen, "/v1/screen", Some(MessageKind::Screen), "Records a screen view.");
endpoint!(
    group,
    "/v1/group",
    Some(MessageKind::Group),
    "Links an end user to an account (created when unknown); traits name, employees, plan, industry update it."
);
endpoint!(alias, "/v1/alias", Some(MessageKind::Alias), "Merges a previous id into a user id.");
endpoint!(batch, "/v1/batch", None, "Several messages with a shared context; each message's `type` decides its kind.");
endpoint!(import, "/v1/import", None, "The same as `/v1/batch`.");
