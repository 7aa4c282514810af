//! Request extractors whose failures become problem+json, never axum's plain-text rejections.

use crate::problem::{request_lang, ApiError};
use axum::body::Body;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use domain::i18n::Lang;
use domain::{FieldError, Reason};
use ipnet::IpNet;
use serde_json::Value;
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

/// A JSON body, read as a `Value` so that field errors can be collected one by one. Text
/// holding NUL is refused here, naming where it is (`name`, `custom.region`, `step[0].title`).
pub struct JsonBody(pub Value);

/// The largest JSON body any API call takes (definitions and records are far smaller; CSV
/// uploads, which are larger, are not JSON).
const MAX_JSON_BYTES: usize = 2 * 1024 * 1024;

fn refuse_nul(field: String) -> ApiError {
    ApiError::Fields(vec![FieldError::new(&field, Reason::ContainsNul)])
}

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        let limited = Request::from_parts(parts, Body::new(http_body_util::Limited::new(body, MAX_JSON_BYTES)));
        match axum::Json::<Value>::from_request(limited, state).await {
            Ok(axum::Json(value)) => match domain::fields::nul_path(&value) {
                Some(field) => Err(refuse_nul(field)),
                None => Ok(JsonBody(value)),
            },
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::UnsupportedMediaType),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(ApiError::PayloadTooLarge),
            Err(rejection) => Err(ApiError::MalformedJson(rejection.body_text())),
        }
    }
}

/// A path parameter (an id, a key); one that does not parse is a problem+json 400 naming the
/// path, never axum's plain-text rejection.
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            // axum's text names Rust types ("Cannot parse `abc` to a `i64`"); the reader gets
            // the address they asked for.
            Err(_) => Err(ApiError::BadPath(parts.uri.path().to_owned())),
        }
    }
}

/// The client's address for the per-address sign-in lock: the peer, or, when the peer is a
/// trusted proxy (`trusted_proxies`), the nearest address in `X-Forwarded-For` that is not one.
pub struct ClientAddress(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip())
            .ok_or_else(|| ApiError::Internal("no peer address".into()))?;
        let trusted = parts.extensions.get::<crate::WebOptions>().map_or(&[][..], |o| o.trusted_proxies.as_slice());
        let forwarded: Vec<&str> =
            parts.headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect();
        Ok(ClientAddress(client_address(peer, &forwarded, trusted)))
    }
}

/// Walks `X-Forwarded-For` from the right (the hop nearest to us) while each hop is a trusted
/// proxy; a header sent by anyone else is ignored, since a client can write anything in it.
fn client_address(peer: IpAddr, forwarded: &[&str], trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let mut client = peer;
    let hops: Vec<&str> = forwarded.iter().flat_map(|value| value.split(',')).map(str::trim).collect();
    for hop in hops.iter().rev() {
        if !is_trusted(&client) {
            break;
        }
        match hop.parse::<IpAddr>() {
            Ok(ip) => client = ip,
            Err(_) => break,
        }
    }
    client
}

/// The reader's language, for handlers that render text.
pub struct ReaderLang(pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for ReaderLang {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ReaderLang(request_lang(&parts.headers, parts.uri.query())))
    }
}

/// Query parameters, parsed one by one so that every bad parameter is reported.
pub struct QueryParams {
    values: HashMap<String, String>,
    pub errors: Vec<FieldError>,
}

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(name) = parts.uri.query().and_then(|query| field_not_utf8(query.as_bytes())) {
            return Err(refuse_not_utf8(name));
        }
        let axum::extract::Query(values) =
            axum::extract::Query::<HashMap<String, String>>::from_request_parts(parts, state).await.map_err(|e| {
                ApiError::Fields(vec![FieldError::new("query", Reason::Malformed { detail: e.body_text() })])
            })?;
        if let Some(name) = values.iter().find(|(k, v)| k.contains('\0') || v.contains('\0')).map(|(k, _)| k) {
            return Err(refuse_nul(name.replace('\0', "\\0")));
        }
        Ok(QueryParams { values, errors: Vec::new() })
    }
}

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;

impl QueryParams {
    /// Parameters from a query string kept elsewhere (a saved view, a form field).
    pub fn from_query(query: &str) -> QueryParams {
        QueryParams { values: serde_urlencoded::from_str(query).unwrap_or_default(), errors: Vec::new() }
    }

    /// The non-empty values of these parameters, in this order, to carry into links.
    pub fn pairs(&self, names: &[&str]) -> Vec<(String, String)> {
        names.iter().filter_map(|name| self.text(name).map(|value| (name.to_string(), value))).collect()
    }

    pub fn text(&self, name: &str) -> Option<String> {
        self.values.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()).map(str::to_owned)
    }

    pub fn parsed<T>(&mut self, name: &str, parse: impl FnOnce(&str) -> Result<T, Reason>) -> Option<T> {
        let raw = self.text(name)?;
        match parse(&raw) {
            Ok(value) => Some(value),
            Err(reason) => {
                self.errors.push(FieldError::new(name, reason));
                None
            }
        }
    }

    /// A parameter that must be given.
    pub fn required<T>(&mut self, name: &str, parse: impl FnOnce(&str) -> Result<T, Reason>) -> Option<T> {
        if self.text(name).is_none() {
            self.errors.push(FieldError::new(name, Reason::Required));
            return None;
        }
        self.parsed(name, parse)
    }

    /// A `true` or `false` parameter; absent reads false.
    pub fn flag(&mut self, name: &str) -> bool {
        self.parsed(name, |raw| match raw {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(Reason::WrongType { expected: "true or false" }),
        })
        .unwrap_or(false)
    }

    pub fn id(&mut self, name: &str) -> Option<i64> {
        self.parsed(name, |raw| {
            raw.parse::<i64>().ok().filter(|id| *id > 0).ok_or(Reason::WrongType { expected: "a positive id" })
        })
    }

    /// `custom=key:value`: accounts whose custom field `key` is `value`.
    pub fn custom_field(&mut self) -> Option<(String, String)> {
        self.parsed("custom", |raw| {
            raw.split_once(':')
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .ok_or(Reason::Malformed { detail: "expected key:value".into() })
        })
    }

    /// `limit` (1–500, default 50) and `offset` (≥ 0, default 0).
    pub fn page(&mut self) -> (i64, i64) {
        let limit = self
            .parsed("limit", |raw| {
                let n: i64 = raw.parse().map_err(|_| Reason::InvalidInteger)?;
                if (1..=MAX_LIMIT).contains(&n) {
                    Ok(n)
                } else {
                    Err(Reason::OutOfRange { min: "1".into(), max: MAX_LIMIT.to_string() })
                }
            })
            .unwrap_or(DEFAULT_LIMIT);
        let offset = self
            .parsed("offset", |raw| {
                let n: i64 = raw.parse().map_err(|_| Reason::InvalidInteger)?;
                if n >= 0 {
                    Ok(n)
                } else {
                    Err(Reason::Negative)
                }
            })
            .unwrap_or(0);
        (limit, offset)
    }

    /// Fails with every collected error, if any.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Fields(self.errors))
        }
    }
}

/// Fields of an HTML form (`application/x-www-form-urlencoded`); unreadable bodies are empty.
/// A submitted form; a field may repeat (checkboxes). Line breaks are `\n`: browsers send every
/// line break of a textarea as `\r\n` (HTML's form encoding), which would otherwise end up in
/// every multi-line text stored from a page (an email body, a TOML definition, a note).
#[derive(Default)]
pub struct FormFields(pub Vec<(String, String)>);

/// The name of the first `name=value` pair of a form body or query string whose percent-decoded
/// text is not UTF-8, which the form decoder would otherwise turn silently into U+FFFD.
fn field_not_utf8(encoded: &[u8]) -> Option<String> {
    let decoded = |raw: &[u8]| -> Vec<u8> {
        let spaces: Vec<u8> = raw.iter().map(|b| if *b == b'+' { b' ' } else { *b }).collect();
        percent_encoding::percent_decode(&spaces).collect()
    };
    encoded.split(|b| *b == b'&').find_map(|pair| {
        let mut parts = pair.splitn(2, |b| *b == b'=');
        let name = decoded(parts.next().unwrap_or_default());
        let value = decoded(parts.next().unwrap_or_default());
        (std::str::from_utf8(&name).is_err() || std::str::from_utf8(&value).is_err())
            .then(|| String::from_utf8_lossy(&name).into_owned())
    })
}

fn refuse_not_utf8(field: String) -> ApiError {
    ApiError::Fields(vec![FieldError::new(&field, Reason::Malformed { detail: "not UTF-8".into() })])
}

/// `\r\n` and a lone `\r` become `\n`, as an API client or a file would have written them.
fn unix_newlines(text: String) -> String {
    if text.contains('\r') {
        text.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        text
    }
}

impl<S: Send + Sync> FromRequest<S> for FormFields {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(request, state).await.map_err(|_| ApiError::PayloadTooLarge)?;
        if let Some(name) = field_not_utf8(&bytes) {
            return Err(refuse_not_utf8(name));
        }
        let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
        if let Some((name, _)) = fields.iter().find(|(k, v)| k.contains('\0') || v.contains('\0')) {
            return Err(refuse_nul(name.replace('\0', "\\0")));
        }
        Ok(FormFields(fields.into_iter().map(|(name, value)| (name, unix_newlines(value))).collect()))
    }
}

/// The most rows a builder form sends for one table (measures, steps, milestones).
pub const MAX_FORM_ROWS: usize = 100;

/// One row of a repeated group in a builder form: its fields by name, each with every value sent.
#[derive(Debug, Default)]
pub struct FormRow(std::collections::BTreeMap<String, Vec<String>>);

impl FormRow {
    /// The first value, trimmed; empty when absent.
    pub fn get(&self, name: &str) -> &str {
        self.0.get(name).and_then(|values| values.first()).map_or("", |v| v.trim())
    }

    /// Every value sent under the name (repeated inputs, multiple selects), trimmed, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0.get(name).map(|values| values.iter().map(|v| v.trim()).collect()).unwrap_or_default()
    }

    pub fn checked(&self, name: &str) -> bool {
        !self.get(name).is_empty()
    }
}

impl FormFields {
    /// The rows of a repeated group — `m.0.key`, `m.0.weight`, `m.1.key` … for `prefix` "m" — in
    /// index order; indices at or past `MAX_FORM_ROWS` are ignored.
    pub fn rows(&self, prefix: &str) -> Vec<FormRow> {
        let mut rows: std::collections::BTreeMap<usize, FormRow> = std::collections::BTreeMap::new();
        for (name, value) in &self.0 {
            let Some((index, field)) =
                name.strip_prefix(prefix).and_then(|r| r.strip_prefix('.')).and_then(|r| r.split_once('.'))
            else {
                continue;
            };
            let Some(index) = index.parse::<usize>().ok().filter(|i| *i < MAX_FORM_ROWS) else { continue };
            rows.entry(index).or_default().0.entry(field.to_owned()).or_default().push(value.clone());
        }
        rows.into_values().collect()
    }

    /// The first value of the field as sent (passwords keep their spaces); empty when absent.
    pub fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(key, _)| key == name).map_or("", |(_, value)| value.as_str())
    }

    /// Whether a checkbox was ticked (a browser sends a ticked box only).
    pub fn checked(&self, name: &str) -> bool {
        !self.get(name).trim().is_empty()
    }

    /// An id field as the API's JSON parsers read it: null when blank, a number when it is
    /// one, else the text, which they refuse naming the field.
    pub fn id_value(&self, name: &str) -> Value {
        let raw = self.get(name).trim();
        match raw.parse::<i64>() {
            _ if raw.is_empty() => Value::Null,
            Ok(id) => Value::from(id),
            Err(_) => Value::from(raw),
        }
    }

    /// Every value of a repeated field.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(key, _)| key == name).map(|(_, value)| value.trim()).filter(|v| !v.is_empty()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_line_breaks_are_unix_newlines() {
        assert_eq!(unix_newlines("a\r\nb\r\n\r\nc\rd".into()), "a\nb\n\nc\nd");
        assert_eq!(unix_newlines("ひとつ\nふたつ".into()), "ひとつ\nふたつ");
    }

    #[test]
    fn a_form_or_query_field_that_is_not_utf8_is_named() {
        assert_eq!(field_not_utf8(b"score=3&comment=%E9%81%85%E3%81%84+ok"), None);
        assert_eq!(field_not_utf8(b"score=3&comment=%ff%fe"), Some("comment".into()));
        assert_eq!(field_not_utf8(b"%ff=1"), Some("\u{fffd}".into()));
        assert_eq!(field_not_utf8(b""), None);
    }

    #[test]
    fn forwarded_addresses_count_only_behind_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.5".parse().unwrap();
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let client: IpAddr = "203.0.113.7".parse().unwrap();
        assert_eq!(client_address(proxy, &["198.51.100.1, 203.0.113.7"], &trusted), client);
        assert_eq!(client_address(proxy, &["203.0.113.7, 10.0.0.9"], &trusted), client, "proxies chained");
        assert_eq!(client_address(client, &["198.51.100.1"], &trusted), client, "a client's own header is ignored");
        assert_eq!(client_address(proxy, &["203.0.113.7"], &[]), proxy, "no proxy trusted by default");
        assert_eq!(client_address(proxy, &["not an address"], &trusted), proxy);
    }
}
