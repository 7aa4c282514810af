//! The outside world as Kizuna reaches it: email through SMTP (plain, STARTTLS or implicit
//! TLS), Slack posts and signed webhooks over HTTP. Outbound calls never reach loopback, link-local or private addresses
//! unless the workspace allows them (`outbound_allow`): names are checked on the addresses they
//! resolve to, IP literals before any call.

use crate::{App, AppError};
use domain::mail::{MailSecurity, MailServer};
use domain::net::OutboundPolicy;
use domain::playbooks::mail::MailFailure;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// The outside world as playbooks reach it: SMTP, HTTP, and this node's name for step claims.
pub struct Delivery {
    /// The configuration file's SMTP server, used while an administrator has saved none.
    pub(crate) mail: RwLock<Option<MailServer>>,
    /// Which internal addresses webhooks and Slack posts may reach (none by default).
    pub(crate) outbound: Arc<RwLock<OutboundPolicy>>,
    pub(crate) http: reqwest::Client,
    pub(crate) node: String,
    pub(crate) worker: std::sync::OnceLock<()>,
    pub(crate) notification_worker: std::sync::OnceLock<()>,
    pub(crate) public_url: RwLock<Option<String>>,
    /// Digests (user, period) this node has seen sent: it stops asking the database about them.
    pub(crate) digests_handled: std::sync::Mutex<std::collections::HashSet<(i64, String)>>,
}

impl Default for Delivery {
    fn default() -> Self {
        let node = crate::auth::new_secret("node-").map(|s| s.chars().take(16).collect()).unwrap_or_default();
        let outbound = Arc::new(RwLock::new(OutboundPolicy::default()));
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver { policy: outbound.clone() }))
            .build()
            .unwrap_or_default();
        Delivery {
            mail: RwLock::new(None),
            outbound,
            http,
            node,
            worker: std::sync::OnceLock::new(),
            notification_worker: std::sync::OnceLock::new(),
            public_url: RwLock::new(None),
            digests_handled: std::sync::Mutex::new(std::collections::HashSet::new()),
        }
    }
}

/// An outbound call refused because its host is, or resolves only to, an internal address.
#[derive(Debug, thiserror::Error)]
#[error("{host} is an internal address (allow it with outbound_allow)")]
struct InternalAddress {
    host: String,
}

/// Resolves host names for outbound calls and keeps only the addresses the policy permits, so
/// the address connected to is the one checked (a name cannot point inside between a check and
/// the connection).
struct GuardedResolver {
    policy: Arc<RwLock<OutboundPolicy>>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let permitted: Vec<SocketAddr> = {
                let policy = policy.read().unwrap_or_else(|p| p.into_inner());
                found.into_iter().filter(|address| policy.permits(address.ip())).collect()
            };
            if permitted.is_empty() {
                return Err(Box::new(InternalAddress { host }) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(permitted.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Why an outbound call failed, in words that reveal neither a secret URL nor how an internal
/// port answered.
pub(crate) fn outbound_failure(what: &str, error: &reqwest::Error) -> AppError {
    let mut source: Option<&dyn std::error::Error> = Some(error);
    while let Some(cause) = source {
        if let Some(internal) = cause.downcast_ref::<InternalAddress>() {
            return AppError::Internal(format!("{what}: refused, {internal}"));
        }
        source = cause.source();
    }
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "failed"
    };
    AppError::Internal(format!("{what}: {kind}"))
}

/// Whether a URL's host, when written as an IP address (or `localhost`), may be called. Other
/// names are checked on the addresses they resolve to.
pub(crate) fn literal_host_permitted(policy: &OutboundPolicy, url: &str) -> bool {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return true;
    };
    let Some(host) = parsed.host_str() else {
        return true;
    };
    match host.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>() {
        Ok(ip) => policy.permits(ip),
        Err(_) => {
            let name = host.trim_end_matches('.').to_ascii_lowercase();
            !(name == "localhost" || name.ends_with(".localhost")) || policy.permits([127, 0, 0, 1].into())
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `sha256=<hex>` of the body under the secret: what a receiver recomputes to trust a call.
pub fn webhook_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| <Hmac<Sha256> as Mac>::new_from_slice(b"").expect("HMAC takes keys of any length"));
    mac.update(body);
    format!("sha256={}", hex(&mac.finalize().into_bytes()))
}

impl App {
    /// The configuration file's SMTP server (`smtp_url`, `mail_from`).
    pub fn configure_mail(&self, server: Option<MailServer>) {
        *self.delivery.mail.write().unwrap_or_else(|p| p.into_inner()) = server;
    }

    /// Which internal addresses playbook webhooks and Slack posts may reach.
    pub fn configure_outbound(&self, policy: OutboundPolicy) {
        *self.delivery.outbound.write().unwrap_or_else(|p| p.into_inner()) = policy;
    }

    /// A URL whose host is an IP address never reaches the resolver, so it is checked here.
    pub(crate) fn check_outbound_host(&self, what: &str, url: &str) -> Result<(), AppError> {
        let policy = self.delivery.outbound.read().unwrap_or_else(|p| p.into_inner()).clone();
        if literal_host_permitted(&policy, url) {
            Ok(())
        } else {
            Err(AppError::Internal(format!("{what}: refused, an internal address (allow it with outbound_allow)")))
        }
    }

    /// POSTs a JSON body signed with `secret` (`x-kizuna-signature`), `delivery` naming the call
    /// for receivers that deduplicate; an answer other than 2xx is an error.
    pub(crate) async fn post_signed(
        &self,
        what: &str,
        url: &str,
        secret: &str,
        delivery: &str,
        body: Vec<u8>,
    ) -> Result<reqwest::StatusCode, AppError> {
        self.check_outbound_host(what, url)?;
        let response = self
            .delivery
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("x-kizuna-signature", webhook_signature(secret, &body))
            .header("x-kizuna-delivery", delivery)
            .body(body)
            .send()
            .await
            .map_err(|e| outbound_failure(what, &e))?;
        let status = response.status();
        if status.is_success() {
            Ok(status)
        } else {
            Err(AppError::Internal(format!("{what} answered {status}")))
        }
    }

    /// Posts `text` to a Slack incoming webhook; an answer other than 2xx is an error.
    pub(crate) async fn post_to_slack(&self, webhook_url: &str, text: &str) -> Result<reqwest::StatusCode, AppError> {
        self.check_outbound_host("Slack", webhook_url)?;
        let response = self
            .delivery
            .http
            .post(webhook_url)
            .json(&serde_json::json!({ "text": text }))
            .send()
            .await
            .map_err(|e| outbound_failure("Slack", &e))?;
        let status = response.status();
        if status.is_success() {
            Ok(status)
        } else {
            Err(AppError::Internal(format!("Slack webhook answered {status}")))
        }
    }

    /// Where people open Kizuna (`public_url`), for links in emails and Slack posts.
    pub fn configure_public_url(&self, url: Option<String>) {
        *self.delivery.public_url.write().unwrap_or_else(|p| p.into_inner()) = url;
    }

    pub(crate) fn public_url(&self) -> Option<String> {
        self.delivery.public_url.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The SMTP server emails go through: the one an administrator saved, else the configuration
    /// file's.
    pub async fn mail_server(&self) -> Result<Option<MailServer>, AppError> {
        if let Some(saved) = self.store.mail_server().await? {
            return Ok(Some(saved));
        }
        Ok(self.delivery.mail.read().unwrap_or_else(|p| p.into_inner()).clone())
    }

    /// Whether emails can be sent: an SMTP server is set.
    pub async fn mail_configured(&self) -> Result<bool, AppError> {
        Ok(self.mail_server().await?.is_some())
    }

    /// Sends a plain-text email through `server`. A server saved in the app is reached only at
    /// an address the outbound policy permits (the one checked is the one connected to); TLS
    /// checks the certificate against the host name, with the server's extra trusted roots.
    pub(crate) async fn send_mail(
        &self,
        server: &MailServer,
        recipients: &[String],
        subject: &str,
        body: &str,
    ) -> Result<(), MailFailure> {
        use lettre::message::{header::ContentType, Mailbox};
        use lettre::transport::smtp::authentication::Credentials;
        use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
        use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
        let sender = || MailFailure::Sender { address: server.sender_address.clone() };
        let from = Mailbox::new(server.sender_name.clone(), server.sender_address.parse().map_err(|_| sender())?);
        let mut builder = Message::builder().from(from).subject(subject).header(ContentType::TEXT_PLAIN);
        for recipient in recipients {
            builder =
                builder.to(recipient.parse().map_err(|_| MailFailure::Recipient { address: recipient.clone() })?);
        }
        let message = builder.body(body.to_owned()).map_err(|e| MailFailure::Other { detail: e.to_string() })?;
        let address = self.smtp_address(server).await?;
        let tls = if server.security == MailSecurity::None {
            Tls::None
        } else {
            let mut parameters = TlsParameters::builder(server.host.clone());
            if let Some(pem) = &server.trusted_certificate {
                let certificate = Certificate::from_pem(pem.as_bytes())
                    .map_err(|e| MailFailure::Other { detail: format!("trusted certificate: {e}") })?;
                parameters = parameters.add_root_certificate(certificate);
            }
            let parameters = parameters.build_rustls().map_err(|e| MailFailure::Other { detail: e.to_string() })?;
            if server.security == MailSecurity::Tls {
                Tls::Wrapper(parameters)
            } else {
                Tls::Required(parameters)
            }
        };
        let mut transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(address)
            .port(server.port)
            .tls(tls)
            .timeout(Some(Duration::from_secs(10)));
        if let (Some(user), Some(password)) = (&server.username, &server.password) {
            transport = transport.credentials(Credentials::new(user.clone(), password.clone()));
        }
        transport.build().send(message).await.map(|_| ()).map_err(|e| smtp_failure(&e))
    }

    /// Where to connect for `server`: its host as written when it comes from the configuration
    /// file, else the first address it resolves to that the outbound policy permits.
    async fn smtp_address(&self, server: &MailServer) -> Result<String, MailFailure> {
        if server.from_config {
            return Ok(server.host.clone());
        }
        let refused = || MailFailure::Other {
            detail: format!("{} is an internal address (allow it with outbound_allow)", server.host),
        };
        let found: Vec<SocketAddr> = tokio::net::lookup_host((server.host.as_str(), server.port))
            .await
            .map_err(|e| MailFailure::Unreachable { detail: e.to_string() })?
            .collect();
        let policy = self.delivery.outbound.read().unwrap_or_else(|p| p.into_inner()).clone();
        found.iter().map(|a| a.ip()).find(|ip| policy.permits(*ip)).map(|ip| ip.to_string()).ok_or_else(refused)
    }
}

/// Why lettre could not send: the server's reply code and words when it answered, else how the
/// connection failed.
fn smtp_failure(error: &lettre::transport::smtp::Error) -> MailFailure {
    let detail = std::error::Error::source(error).map(|s| s.to_string()).unwrap_or_default();
    if error.is_timeout() {
        MailFailure::TimedOut
    } else if let Some(code) = error.status() {
        MailFailure::Refused { code: code.to_string(), permanent: error.is_permanent(), detail }
    } else if error.is_response() || error.is_client() {
        MailFailure::Other { detail: error.to_string() }
    } else {
        MailFailure::Unreachable { detail }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::dns::Resolve;

    #[tokio::test]
    async fn a_name_resolving_inside_is_refused_unless_its_network_is_allowed() {
        let policy = Arc::new(RwLock::new(OutboundPolicy::default()));
        let resolver = GuardedResolver { policy: policy.clone() };
        let name = |host: &str| host.parse::<reqwest::dns::Name>().unwrap();
        let refused = resolver.resolve(name("localhost")).await.err().expect("localhost resolves inside");
        assert!(refused.to_string().contains("internal address"), "{refused}");
        *policy.write().unwrap() =
            OutboundPolicy::allowing(vec!["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()]);
        let allowed: Vec<SocketAddr> = resolver.resolve(name("localhost")).await.unwrap().collect();
        assert!(!allowed.is_empty() && allowed.iter().all(|a| a.ip().is_loopback()));
    }

    #[test]
    fn literal_internal_hosts_are_refused_before_any_call() {
        let policy = OutboundPolicy::default();
        for url in [
            "http://127.0.0.1:9/x",
            "http://[::1]/",
            "http://169.254.169.254/",
            "http://2130706433/",
            "http://LOCALHOST./",
        ] {
            assert!(!literal_host_permitted(&policy, url), "{url}");
        }
        assert!(literal_host_permitted(&policy, "https://hooks.slack.com/services/x"));
    }

    #[test]
    fn the_signature_is_the_hex_hmac_sha256_of_the_body() {
        // RFC 4231 test case 2.
        assert_eq!(
            webhook_signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
