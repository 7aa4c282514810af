//! The SMTP server Kizuna sends through: playbook emails, notifications, digests and the test
//! email. An administrator sets it on the mail settings page or through the API; the
//! configuration file's `smtp_url` is the fallback when none is saved.

use crate::fields::FieldReader;
use crate::fields::Fields;
use crate::ids::Email;
use crate::{FieldError, Reason};

coded! {
    /// How the connection to the SMTP server is protected.
    MailSecurity {
        None = "none", "なし（平文）", "None (plain text)";
        StartTls = "starttls", "STARTTLS", "STARTTLS";
        Tls = "tls", "TLS（接続時から暗号化）", "Implicit TLS";
    }
}

pub const MAX_HOST: usize = 253;
pub const MAX_USERNAME: usize = 256;
pub const MAX_PASSWORD: usize = 256;
pub const MAX_SENDER_NAME: usize = 100;
/// A PEM certificate chain for a server whose certificate no public authority signed.
pub const MAX_CERTIFICATE: usize = 16_384;

/// An SMTP server and the sender its emails come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailServer {
    pub host: String,
    pub port: u16,
    pub security: MailSecurity,
    pub username: Option<String>,
    pub password: Option<String>,
    pub sender_address: String,
    pub sender_name: Option<String>,
    /// Extra trusted root certificates (PEM), e.g. a company's own authority.
    pub trusted_certificate: Option<String>,
    /// Named in the configuration file by whoever runs Kizuna, so it may be an internal relay
    /// without `outbound_allow`; a server saved by an administrator in the app may not.
    pub from_config: bool,
}

impl MailServer {
    /// Reads the configuration file's `smtp_url` and `mail_from`:
    /// `smtp://[user:password@]host[:port]` (plain, port 25), `smtp://…?tls=required`
    /// (STARTTLS, port 587) or `smtps://…` (implicit TLS, port 465).
    pub fn from_url(url: &str, from: &str) -> Option<MailServer> {
        let url = url.trim();
        let (security, rest) = if let Some(rest) = url.strip_prefix("smtps://") {
            (MailSecurity::Tls, rest)
        } else {
            let rest = url.strip_prefix("smtp://")?;
            match rest.split_once('?') {
                Some((rest, "tls=required")) => (MailSecurity::StartTls, rest),
                Some(_) => return None,
                None => (MailSecurity::None, rest),
            }
        };
        let rest = rest.trim_end_matches('/');
        let (credentials, address) = match rest.rsplit_once('@') {
            Some((user_info, address)) => {
                let (user, password) = user_info.split_once(':')?;
                (Some((user.to_owned(), password.to_owned())), address)
            }
            None => (None, rest),
        };
        let default_port = match security {
            MailSecurity::None => 25,
            MailSecurity::StartTls => 587,
            MailSecurity::Tls => 465,
        };
        let (host, port) = match address.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(']') || address.starts_with('[') => (host, port.parse().ok()?),
            _ => (address, default_port),
        };
        let (sender_name, sender_address) = split_mailbox(from);
        (!host.is_empty()).then(|| MailServer {
            host: host.trim_start_matches('[').trim_end_matches(']').to_owned(),
            port,
            security,
            username: credentials.as_ref().map(|(user, _)| user.clone()),
            password: credentials.map(|(_, password)| password),
            sender_address,
            sender_name,
            trusted_certificate: None,
            from_config: true,
        })
    }
}

/// `Name <address>` or a bare address, as the configuration's `mail_from` is written.
fn split_mailbox(mailbox: &str) -> (Option<String>, String) {
    match mailbox.trim().strip_suffix('>').and_then(|m| m.rsplit_once('<')) {
        Some((name, address)) => {
            let name = name.trim().trim_matches('"').trim();
            ((!name.is_empty()).then(|| name.to_owned()), address.trim().to_owned())
        }
        None => (None, mailbox.trim().to_owned()),
    }
}

/// What an edit does to the stored password, which is never shown back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordChange {
    Keep,
    Set(String),
    Clear,
}

/// The mail settings form or `PUT /api/v1/settings/mail`, read field by field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailServerInput {
    pub host: String,
    pub port: u16,
    pub security: MailSecurity,
    pub username: Option<String>,
    pub password: PasswordChange,
    pub sender_address: Email,
    pub sender_name: Option<String>,
    pub trusted_certificate: Option<String>,
}

pub const MAIL_FIELDS: [&str; 8] =
    ["host", "port", "security", "username", "password", "sender_address", "sender_name", "trusted_certificate"];

impl MailServerInput {
    /// `password`: absent or `********` keeps the stored one, `""` removes it.
    pub fn parse(value: serde_json::Value) -> Result<MailServerInput, Vec<FieldError>> {
        use crate::playbooks::SECRET_MASK;
        let password = match value.get("password") {
            None | Some(serde_json::Value::Null) => Some(PasswordChange::Keep),
            Some(serde_json::Value::String(s)) if s == SECRET_MASK => Some(PasswordChange::Keep),
            Some(serde_json::Value::String(s)) if s.is_empty() => Some(PasswordChange::Clear),
            Some(serde_json::Value::String(s)) if s.chars().count() > MAX_PASSWORD => None,
            Some(serde_json::Value::String(s)) => Some(PasswordChange::Set(s.clone())),
            Some(_) => None,
        };
        let mut f = Fields::new(value, &MAIL_FIELDS)?;
        if password.is_none() {
            f.errors.push("password", Reason::TooLong { max: MAX_PASSWORD });
        }
        let host = f.required("host", parse_host);
        let security = f.parsed("security", MailSecurity::parse).map(|s| s.unwrap_or(MailSecurity::StartTls));
        let port = f.parsed("port", |raw| {
            raw.trim()
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or(Reason::OutOfRange { min: "1".into(), max: "65535".into() })
        });
        let username = f.text("username", MAX_USERNAME);
        let sender_address = f.required("sender_address", Email::parse);
        let sender_name = f.text("sender_name", MAX_SENDER_NAME);
        let trusted_certificate = f.parsed("trusted_certificate", parse_certificate);
        f.errors.finish(|| {
            let security = security?;
            let port = port?.unwrap_or(match security {
                MailSecurity::None => 25,
                MailSecurity::StartTls => 587,
                MailSecurity::Tls => 465,
            });
            Some(MailServerInput {
                host: host?,
                port,
                security,
                username: username?,
                password: password?,
                sender_address: sender_address?,
                sender_name: sender_name?,
                trusted_certificate: trusted_certificate?,
            })
        })
    }
}

/// A host name or an IP address, nothing that could carry a path, a port or a second command.
fn parse_host(raw: &str) -> Result<String, Reason> {
    let host = raw.trim().trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    if host.len() > MAX_HOST {
        return Err(Reason::TooLong { max: MAX_HOST });
    }
    if host.parse::<std::net::IpAddr>().is_ok() {
        return Ok(host);
    }
    let valid = !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if valid {
        Ok(host)
    } else {
        Err(Reason::Malformed { detail: "host name".into() })
    }
}

/// One or more PEM certificates; that each one parses is checked where TLS is set up.
fn parse_certificate(raw: &str) -> Result<String, Reason> {
    if raw.len() > MAX_CERTIFICATE {
        return Err(Reason::TooLong { max: MAX_CERTIFICATE });
    }
    if !raw.contains("-----BEGIN CERTIFICATE-----") || !raw.contains("-----END CERTIFICATE-----") {
        return Err(Reason::Malformed { detail: "PEM certificate".into() });
    }
    Ok(raw.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn configuration_urls_name_security_host_port_and_credentials() {
        let server = MailServer::from_url("smtp://cs:pa:ss@mail.example.com:2525", "Kizuna <cs@kizuna.example>")
            .expect("a plain SMTP URL");
        assert_eq!(server.security, MailSecurity::None);
        assert_eq!((server.host.as_str(), server.port), ("mail.example.com", 2525));
        assert_eq!(server.username.as_deref(), Some("cs"));
        assert_eq!(server.password.as_deref(), Some("pa:ss"));
        assert_eq!(server.sender_name.as_deref(), Some("Kizuna"));
        assert_eq!(server.sender_address, "cs@kizuna.example");
        assert!(server.from_config);
        assert_eq!(MailServer::from_url("smtp://127.0.0.1", "a@b.example").map(|s| s.port), Some(25));
        let starttls = MailServer::from_url("smtp://mail.example.com?tls=required", "a@b.example").unwrap();
        assert_eq!((starttls.security, starttls.port), (MailSecurity::StartTls, 587));
        let tls = MailServer::from_url("smtps://mail.example.com", "a@b.example").unwrap();
        assert_eq!((tls.security, tls.port), (MailSecurity::Tls, 465));
        assert_eq!(MailServer::from_url("https://mail.example.com", "a@b.example"), None);
        assert_eq!(MailServer::from_url("smtp://host:notaport", "a@b.example"), None);
        assert_eq!(MailServer::from_url("smtp://host?tls=maybe", "a@b.example"), None);
    }

    #[test]
    fn a_mail_form_reads_every_field_and_defaults_the_port_from_the_security() {
        let input = MailServerInput::parse(json!({
            "host": "SMTP.Example.com", "security": "tls", "username": "cs", "password": "secret",
            "sender_address": "CS@Example.com", "sender_name": "Kizuna CS"
        }))
        .unwrap();
        assert_eq!(input.host, "smtp.example.com");
        assert_eq!((input.security, input.port), (MailSecurity::Tls, 465));
        assert_eq!(input.password, PasswordChange::Set("secret".into()));
        assert_eq!(input.sender_address.as_str(), "cs@example.com");
        let kept = MailServerInput::parse(json!({"host": "10.0.0.5", "port": "2525", "password": "********",
            "sender_address": "cs@example.com"}))
        .unwrap();
        assert_eq!((kept.security, kept.port, kept.password), (MailSecurity::StartTls, 2525, PasswordChange::Keep));
        let cleared = MailServerInput::parse(
            json!({"host": "mail.example.com", "password": "", "sender_address": "cs@example.com"}),
        )
        .unwrap();
        assert_eq!(cleared.password, PasswordChange::Clear);
    }

    #[test]
    fn a_bad_mail_form_names_every_bad_field() {
        let errors = MailServerInput::parse(json!({
            "host": "mail.example.com\r\nRCPT TO:<x@evil.example>", "port": "70000", "security": "ssl",
            "password": "p".repeat(300), "sender_address": "not an address",
            "trusted_certificate": "hello", "extra": 1
        }))
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        for field in ["host", "port", "security", "password", "sender_address", "trusted_certificate", "extra"] {
            assert!(fields.contains(&field), "{field} missing from {fields:?}");
        }
    }
}
