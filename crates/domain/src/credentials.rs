//! Credentials other than passwords: API tokens for staff and write keys for the tracking API.
//! Secrets are shown once; only their SHA-256 hashes are stored.

use crate::access::Scope;
use crate::ids::UserId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApiToken {
    pub id: i64,
    pub user_id: UserId,
    pub name: String,
    pub scope: Scope,
    /// The first characters of the token, to recognise it in lists.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WriteKey {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Browser origins (`https://app.example.com`) the key may be sent from; empty: any.
    /// Requests without an `Origin` header (server-side clients) are always allowed.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// When the key last sent a message that was accepted or refused.
    #[serde(default)]
    pub last_used_at: Option<DateTime<Utc>>,
    /// Messages per day (workspace time zone) of the last `WRITE_KEY_DAYS` days, newest first;
    /// days without traffic are left out.
    #[serde(default)]
    pub days: Vec<WriteKeyDay>,
}

/// Days of per-key counts shown.
pub const WRITE_KEY_DAYS: i64 = 30;
/// Most allowed origins per write key.
pub const MAX_ORIGINS: usize = 20;
/// Longest allowed origin.
pub const MAX_ORIGIN_CHARS: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WriteKeyDay {
    pub day: chrono::NaiveDate,
    pub accepted: i64,
    pub refused: i64,
}

/// One allowed origin, normalised (lower case): `http(s)://host[:port]`, nothing after.
pub fn parse_origin(raw: &str) -> Result<String, crate::Reason> {
    let text = raw.trim();
    if text.chars().count() > MAX_ORIGIN_CHARS {
        return Err(crate::Reason::TooLong { max: MAX_ORIGIN_CHARS });
    }
    let lower = text.to_ascii_lowercase();
    let malformed = || crate::Reason::Malformed {
        detail: format!(
            "“{text}” is not an origin such as https://app.example.com (http or https, host, optional port, no path)"
        ),
    };
    let rest = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://")).ok_or_else(malformed)?;
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || rest.starts_with('[') => (host, Some(port)),
        _ => (rest, None),
    };
    let host_ok = !host.is_empty()
        && (host.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
            || (host.starts_with('[')
                && host.ends_with(']')
                && host[1..host.len() - 1].chars().all(|c| c.is_ascii_hexdigit() || c == ':')));
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.parse::<u16>().is_ok());
    if host_ok && port_ok {
        Ok(lower)
    } else {
        Err(malformed())
    }
}

/// Whether a request from `origin` (its `Origin` header, if any) may use a key allowing `allowed`.
pub fn origin_allowed(allowed: &[String], origin: Option<&str>) -> bool {
    match origin {
        _ if allowed.is_empty() => true,
        None => true,
        Some(origin) => allowed.iter().any(|a| a.eq_ignore_ascii_case(origin.trim())),
    }
}

#[cfg(test)]
mod origin_tests {
    use super::*;

    #[test]
    fn origins_are_scheme_host_and_port_only() {
        assert_eq!(parse_origin(" HTTPS://App.Example.com ").unwrap(), "https://app.example.com");
        assert_eq!(parse_origin("http://localhost:3000").unwrap(), "http://localhost:3000");
        assert!(parse_origin("https://[::1]:8080").is_ok());
        for bad in [
            "ftp://x.example",
            "https://x.example/path",
            "https://",
            "x.example",
            "https://x.example:99999",
            "https://a b",
        ] {
            assert!(parse_origin(bad).is_err(), "{bad}");
        }
        assert!(matches!(
            parse_origin(&format!("https://{}.example", "a".repeat(200))),
            Err(crate::Reason::TooLong { .. })
        ));
        let allowed = vec!["https://app.example.com".to_owned()];
        assert!(origin_allowed(&allowed, None));
        assert!(origin_allowed(&allowed, Some("https://APP.example.com")));
        assert!(!origin_allowed(&allowed, Some("https://evil.example")));
        assert!(origin_allowed(&[], Some("https://evil.example")));
    }
}
