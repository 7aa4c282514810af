//! The SMTP server as administrators set it: shown without its password, saved after the
//! outbound policy and the trusted certificate are checked, and tried with a test email.

use crate::{Actor, App, AppError};
use chrono::Utc;
use domain::access::Role;
use domain::i18n::Bilingual;
use domain::mail::{MailSecurity, MailServer, MailServerInput, PasswordChange};
use domain::playbooks::SECRET_MASK;
use domain::{Email, Reason};

/// The mail settings as an administrator reads them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct MailSettingsView {
    /// `app` (saved here), `config` (the configuration file's `smtp_url`) or `none`.
    pub source: &'static str,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub security: Option<MailSecurity>,
    pub username: Option<String>,
    /// `********` when a password is set: it is never shown.
    pub password: Option<String>,
    pub sender_address: Option<String>,
    pub sender_name: Option<String>,
    pub trusted_certificate: Option<String>,
}

impl MailSettingsView {
    fn of(server: Option<MailServer>) -> MailSettingsView {
        let source = match &server {
            None => "none",
            Some(s) if s.from_config => "config",
            Some(_) => "app",
        };
        MailSettingsView {
            source,
            host: server.as_ref().map(|s| s.host.clone()),
            port: server.as_ref().map(|s| s.port),
            security: server.as_ref().map(|s| s.security),
            username: server.as_ref().and_then(|s| s.username.clone()),
            password: server.as_ref().and_then(|s| s.password.as_ref()).map(|_| SECRET_MASK.to_owned()),
            sender_address: server.as_ref().map(|s| s.sender_address.clone()),
            sender_name: server.as_ref().and_then(|s| s.sender_name.clone()),
            trusted_certificate: server.and_then(|s| s.trusted_certificate),
        }
    }
}

fn require_admin(actor: &Actor) -> Result<(), AppError> {
    if actor.role() == Role::Admin {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

impl App {
    pub async fn mail_settings(&self, actor: &Actor) -> Result<MailSettingsView, AppError> {
        require_admin(actor)?;
        Ok(MailSettingsView::of(self.mail_server().await?))
    }

    /// Saves the SMTP server (administrators), or removes it (`None`) so the configuration
    /// file's applies again. A host written as an internal address is refused unless the outbound
    /// policy allows it; names are checked on what they resolve to when mail is sent.
    pub async fn set_mail_settings(
        &self,
        actor: &Actor,
        input: Option<MailServerInput>,
    ) -> Result<MailSettingsView, AppError> {
        require_admin(actor)?;
        let before = self.mail_settings(actor).await?;
        let server = match input {
            None => None,
            Some(input) => {
                let policy = self.delivery.outbound.read().unwrap_or_else(|p| p.into_inner()).clone();
                if !crate::delivery::literal_host_permitted(&policy, &format!("smtp://{}", host_in_url(&input.host))) {
                    return Err(AppError::invalid("host", Reason::InternalAddress));
                }
                if let Some(pem) = &input.trusted_certificate {
                    lettre::transport::smtp::client::Certificate::from_pem(pem.as_bytes()).map_err(|_| {
                        AppError::invalid("trusted_certificate", Reason::Malformed { detail: "PEM certificate".into() })
                    })?;
                }
                let stored = self.store.mail_server().await?;
                let password = match input.password {
                    PasswordChange::Keep => stored.and_then(|s| s.password),
                    PasswordChange::Set(password) => Some(password),
                    PasswordChange::Clear => None,
                };
                Some(MailServer {
                    host: input.host,
                    port: input.port,
                    security: input.security,
                    username: input.username,
                    password,
                    sender_address: input.sender_address.to_string(),
                    sender_name: input.sender_name,
                    trusted_certificate: input.trusted_certificate,
                    from_config: false,
                })
            }
        };
        self.store.save_mail_server(server.as_ref(), Utc::now()).await?;
        let after = self.mail_settings(actor).await?;
        self.record_change(actor, "update", "mail_settings", "1", Some(&before), Some(&after)).await?;
        Ok(after)
    }

    /// Sends a test email through the current server to `to` (administrators): `Undelivered`
    /// with the server's reason when it fails.
    pub async fn send_test_email(&self, actor: &Actor, to: &Email) -> Result<(), AppError> {
        require_admin(actor)?;
        let Some(server) = self.mail_server().await? else {
            return Err(AppError::MailNotConfigured);
        };
        let text = Bilingual::new(
            "Kizuna からのテストメールです。このメールが届いていれば、メールの設定は正しく動いています。",
            "This is a test email from Kizuna. If it reached you, the mail settings work.",
        );
        let body = format!("{}\n\n{}\n", text.ja, text.en);
        self.send_mail(&server, &[to.to_string()], "Kizuna テストメール / test email", &body)
            .await
            .map_err(|failure| AppError::Undelivered(failure.text()))
    }
}

/// An IPv6 literal goes in brackets in a URL.
fn host_in_url(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}
