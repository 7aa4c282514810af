//! The outside world as playbooks reach it: email through SMTP, Slack posts and signed
//! webhooks over HTTP. Outbound calls never reach loopback, link-local or private addresses
//! unless the workspace allows them (`outbound_allow`): names are checked on the addresses they
//! resolve to, IP literals before any call.

use crate::{App, AppError};
use domain::net::OutboundPolicy;
use domain::playbooks::mail::MailFailure;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use store::playbooks::OutboxEmail;

/// Where playbook emails go: an SMTP server (`smtp://host:port`) and the sender.
#[derive(Debug, Clone)]
pub struct MailSettings {
    pub url: String,
    pub from: String,
}

/// The outside world as playbooks reach it: SMTP, HTTP, and this node's name for step claims.
pub struct Delivery {
    pub(crate) mail: RwLock<Option<MailSettings>>,
    /// Which internal addresses webhooks and Slack posts may reach (none by default).
    pub(crate) outbound: Arc<RwLock<OutboundPolicy>>,
    pub(crate) http: reqwest::Client,
    pub(crate) node: String,
    pub(crate) worker: std::sync::OnceLock<()>,
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
        Delivery { mail: RwLock::new(None), outbound, http, node, worker: std::sync::OnceLock::new() }
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
    pub fn configure_mail(&self, settings: Option<MailSettings>) {
        *self.delivery.mail.write().unwrap_or_else(|p| p.into_inner()) = settings;
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

    /// Whether playbook emails can be sent: an SMTP server is configured.
    pub fn mail_configured(&self) -> bool {
        self.delivery.mail.read().unwrap_or_else(|p| p.into_inner()).is_some()
    }
}

pub(crate) async fn send_smtp(settings: &MailSettings, email: &OutboxEmail) -> Result<(), MailFailure> {
    use lettre::message::{header::ContentType, Mailbox};
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
    let from: Mailbox = settings.from.parse().map_err(|_| MailFailure::Sender { address: settings.from.clone() })?;
    let mut builder = Message::builder().from(from).subject(email.subject.clone()).header(ContentType::TEXT_PLAIN);
    for recipient in &email.recipients {
        builder = builder.to(recipient.parse().map_err(|_| MailFailure::Recipient { address: recipient.clone() })?);
    }
    let message = builder.body(email.body.clone()).map_err(|e| MailFailure::Other { detail: e.to_string() })?;
    let server = SmtpServer::parse(&settings.url).ok_or(MailFailure::ServerUrl)?;
    let mut transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(server.host)
        .port(server.port)
        .timeout(Some(Duration::from_secs(10)));
    if let Some((user, password)) = server.credentials {
        transport = transport.credentials(lettre::transport::smtp::authentication::Credentials::new(user, password));
    }
    let transport = transport.build();
    transport.send(message).await.map(|_| ()).map_err(|e| smtp_failure(&e))
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

/// `smtp://[user:password@]host[:port]` (port 25 by default). Plain SMTP: a relay on the same
/// network or a local MTA; TLS to remote servers is not built in yet.
#[derive(Debug, PartialEq)]
struct SmtpServer {
    host: String,
    port: u16,
    credentials: Option<(String, String)>,
}

impl SmtpServer {
    fn parse(url: &str) -> Option<SmtpServer> {
        let rest = url.trim().strip_prefix("smtp://")?.trim_end_matches('/');
        let (credentials, address) = match rest.rsplit_once('@') {
            Some((user_info, address)) => {
                let (user, password) = user_info.split_once(':')?;
                (Some((user.to_owned(), password.to_owned())), address)
            }
            None => (None, rest),
        };
        let (host, port) = match address.rsplit_once(':') {
            Some((host, port)) => (host, port.parse().ok()?),
            None => (address, 25),
        };
        (!host.is_empty()).then(|| SmtpServer { host: host.to_owned(), port, credentials })
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

    #[test]
    fn smtp_urls_name_host_port_and_credentials() {
        assert_eq!(
            SmtpServer::parse("smtp://cs:pa:ss@mail.example.com:2525"),
            Some(SmtpServer {
                host: "mail.example.com".into(),
                port: 2525,
                credentials: Some(("cs".into(), "pa:ss".into()))
            })
        );
        assert_eq!(SmtpServer::parse("smtp://127.0.0.1").map(|s| s.port), Some(25));
        assert_eq!(SmtpServer::parse("https://mail.example.com"), None);
        assert_eq!(SmtpServer::parse("smtp://host:notaport"), None);
    }
}
