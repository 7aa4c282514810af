//! A real Kizuna server on 127.0.0.1:0 for HTTP tests, with an admin and their API token.

#![allow(dead_code)] // each test file uses a different part of this module

use app::{Actor, App};
use domain::access::{Role, Scope};
use domain::settings::WorkspaceSettings;
use domain::staff::StaffUserInput;
use domain::{Email, UserId};
use reqwest::{Client, Method, StatusCode};
use serde_json::Value;
use std::sync::Arc;
use store::testing::TestStore;

pub const PASSWORD: &str = "correct horse battery staple";

pub struct Server {
    pub base: String,
    pub app: Arc<App>,
    /// Sends the admin's API token with every request unless a test sets its own header.
    pub client: Client,
    /// Sends nothing but what a test adds.
    pub anonymous: Client,
    pub admin_token: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

/// A signed-in browser: its session cookie and CSRF token.
pub struct Browser {
    pub cookie: String,
    pub csrf: String,
}

impl Server {
    pub async fn start(store: &TestStore) -> Server {
        Server::start_node(store.store.clone(), "admin@k.example").await
    }

    /// A server on a store of its own (another node on the same database), signed in as `admin`.
    pub async fn start_node(store: Arc<dyn store::Store>, admin: &str) -> Server {
        let app = Arc::new(App::start(store, WorkspaceSettings::default()).await.unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(web::serve(listener, app.clone(), web::WebOptions::default(), async {
            let _ = stopped.await;
        }));
        let admin = create_user(&app, admin, Role::Admin).await;
        let (_, admin_token) = app.create_api_token(&staff(&app, admin).await, "tests", Scope::Admin).await.unwrap();
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {admin_token}").parse().unwrap());
        let client =
            Client::builder().default_headers(headers).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let anonymous = Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Server { base, app, client, anonymous, admin_token, stop: Some(stop) }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self.client.request(method, self.url(path)).header("accept-language", "en");
        if let Some(body) = body {
            request = request.json(&body);
        }
        read(request.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn upload(&self, kind: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
        let request = self
            .client
            .post(self.url(&format!("/api/v1/imports/{kind}")))
            .header("content-type", "text/csv")
            .header("accept-language", "en")
            .body(bytes);
        read(request.send().await.unwrap()).await
    }

    /// Creates a tracking write key and returns its secret.
    pub async fn write_key(&self) -> String {
        let (_, created) = self.post("/api/v1/write-keys", serde_json::json!({"name": "product"})).await;
        created["secret"].as_str().unwrap().to_owned()
    }

    /// Sends to the tracking API as a Segment client does: the write key as Basic-auth user.
    pub async fn track(&self, key: &str, path: &str, body: Value) -> (StatusCode, Value) {
        use base64::Engine;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{key}:"));
        let request = self
            .anonymous
            .post(self.url(path))
            .header("authorization", format!("Basic {basic}"))
            .header("accept-language", "en")
            .json(&body);
        read(request.send().await.unwrap()).await
    }

    /// Signs in through the API as a new user of `role`; returns the user's id and browser.
    pub async fn browser(&self, email: &str, role: Role) -> (UserId, Browser) {
        let id = create_user(&self.app, email, role).await;
        (id, self.sign_in(email).await)
    }

    pub async fn sign_in(&self, email: &str) -> Browser {
        self.sign_in_with(email, PASSWORD).await
    }

    pub async fn sign_in_with(&self, email: &str, password: &str) -> Browser {
        let response = self
            .anonymous
            .post(self.url("/api/v1/session"))
            .json(&serde_json::json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "sign in as {email}");
        let cookie = response.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
        let body: Value = response.json().await.unwrap();
        Browser { cookie, csrf: body["csrf_token"].as_str().unwrap().to_owned() }
    }

    /// A request as a signed-in browser, with the CSRF header.
    pub async fn as_browser(
        &self,
        browser: &Browser,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .anonymous
            .request(method, self.url(path))
            .header("cookie", &browser.cookie)
            .header("x-csrf-token", &browser.csrf)
            .header("accept-language", "en");
        if let Some(body) = body {
            request = request.json(&body);
        }
        read(request.send().await.unwrap()).await
    }
}

/// A page as a signed-in browser: status and HTML.
pub async fn page(server: &Server, browser: &Browser, path: &str) -> (StatusCode, String) {
    let response = server.anonymous.get(server.url(path)).header("cookie", &browser.cookie).send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

/// Submits a form as a browser reading `lang`, with its CSRF token: status, HTML, redirect target.
pub async fn submit(
    server: &Server,
    browser: &Browser,
    path: &str,
    lang: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String, Option<String>) {
    let mut all = vec![("csrf_token", browser.csrf.as_str())];
    all.extend_from_slice(fields);
    let response = server
        .anonymous
        .post(server.url(path))
        .header("cookie", &browser.cookie)
        .header("accept-language", lang)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(&all).unwrap())
        .send()
        .await
        .unwrap();
    let status = response.status();
    let location = response.headers().get("location").map(|l| l.to_str().unwrap().to_owned());
    (status, response.text().await.unwrap(), location)
}

/// The text of the element with `id`, up to its first tag.
pub fn text_of(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\">");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no #{id} in {html}")) + marker.len();
    html[start..].split('<').next().unwrap().to_owned()
}

/// HTML with the entities askama writes turned back into characters.
pub fn unescaped(html: &str) -> String {
    html.replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

pub async fn read(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

pub async fn create_user(app: &App, email: &str, role: Role) -> UserId {
    let input =
        StaffUserInput { email: Email::parse(email).unwrap(), name: email.into(), team_id: None, role, active: true };
    app.create_user_with_password(&Actor::System("tests"), &input, PASSWORD).await.unwrap().id
}

pub async fn staff(app: &App, id: UserId) -> Actor {
    Actor::Staff { user: app.store().get_user(id).await.unwrap(), token: None }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Outbound calls may reach this machine (tests' own receivers).
pub fn allow_loopback() -> domain::net::OutboundPolicy {
    domain::net::OutboundPolicy::allowing(vec!["127.0.0.1/32".parse().unwrap()])
}

/// Calls received by a test webhook: whether the signature matched the secret, and the body.
pub type WebhookCalls = std::sync::Arc<std::sync::Mutex<Vec<(bool, Value)>>>;

/// A webhook receiver on 127.0.0.1 that records each call and whether it was signed with
/// `secret` (answering 204, or 401 when not).
pub async fn webhook_receiver(secret: &'static str) -> (String, WebhookCalls) {
    use hmac::{Hmac, Mac};
    use sha2::Sha256;
    let calls = WebhookCalls::default();
    let kept = calls.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let kept = kept.clone();
            async move {
                let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
                mac.update(&body);
                let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
                let sent = headers.get("x-kizuna-signature").and_then(|v| v.to_str().ok()).unwrap_or("");
                let verified = sent == format!("sha256={expected}");
                kept.lock().unwrap().push((verified, serde_json::from_slice(&body).unwrap_or(Value::Null)));
                if verified {
                    StatusCode::NO_CONTENT
                } else {
                    StatusCode::UNAUTHORIZED
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}/hook"), calls)
}

/// A page as a signed-in browser that chose `lang` (`ja` or `en`) with the language switch.
pub async fn page_in(server: &Server, browser: &Browser, path: &str, lang: &str) -> String {
    let cookie = format!("{}; kizuna_lang={lang}", browser.cookie);
    server.anonymous.get(server.url(path)).header("cookie", cookie).send().await.unwrap().text().await.unwrap()
}

/// What an SMTP sink received: each message's text (an `AUTH …` line first when the client
/// signed in).
pub type Mailbox = Arc<std::sync::Mutex<Vec<String>>>;

/// How an SMTP sink protects its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    None,
    /// Plain at first; `STARTTLS` upgrades the connection.
    StartTls,
    /// TLS from the first byte.
    Implicit,
}

/// The sink's self-signed certificate (for `localhost` and 127.0.0.1): what a test trusts.
pub const SINK_CERTIFICATE: &str = include_str!("../../fixtures/smtp-test-cert.pem");
const SINK_KEY: &str = include_str!("../../fixtures/smtp-test-key.pem");

/// A plain SMTP server on 127.0.0.1 that accepts every message: its `smtp://` URL and mailbox.
pub async fn smtp_sink() -> (String, Mailbox) {
    let (address, mailbox) = smtp_server(SmtpTls::None).await;
    (format!("smtp://{address}"), mailbox)
}

/// An SMTP server on 127.0.0.1 that accepts every message (and any `AUTH`), protected as asked
/// with `SINK_CERTIFICATE`.
pub async fn smtp_server(tls: SmtpTls) -> (std::net::SocketAddr, Mailbox) {
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certificates: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(SINK_CERTIFICATE.as_bytes()).collect::<Result<_, _>>().unwrap();
    let key = PrivateKeyDer::from_pem_slice(SINK_KEY.as_bytes()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certificates, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let mailbox: Mailbox = Arc::default();
    let received = mailbox.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let (acceptor, received) = (acceptor.clone(), received.clone());
            tokio::spawn(async move {
                match tls {
                    SmtpTls::None => {
                        converse(socket, true, false, &received).await;
                    }
                    SmtpTls::Implicit => {
                        if let Ok(secure) = acceptor.accept(socket).await {
                            converse(secure, true, false, &received).await;
                        }
                    }
                    SmtpTls::StartTls => {
                        if let Some(socket) = converse(socket, true, true, &received).await {
                            if let Ok(secure) = acceptor.accept(socket).await {
                                converse(secure, false, false, &received).await;
                            }
                        }
                    }
                }
            });
        }
    });
    (address, mailbox)
}

/// One SMTP conversation; returns the connection when the client asked for STARTTLS.
async fn converse<S>(stream: S, greet: bool, offer_starttls: bool, received: &Mailbox) -> Option<S>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let mut stream = tokio::io::BufReader::new(stream);
    if greet {
        stream.get_mut().write_all(b"220 sink ESMTP\r\n").await.ok()?;
    }
    let mut message: Option<String> = None;
    let mut auth = String::new();
    loop {
        let mut line = String::new();
        if stream.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if let Some(text) = message.as_mut() {
            if line == "." {
                received.lock().unwrap().push(format!("{auth}{}", message.take().unwrap_or_default()));
                stream.get_mut().write_all(b"250 queued\r\n").await.ok()?;
            } else {
                text.push_str(line);
                text.push('\n');
            }
            continue;
        }
        let verb = line.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" if offer_starttls => b"250-sink\r\n250-AUTH PLAIN LOGIN\r\n250 STARTTLS\r\n",
            "EHLO" | "HELO" => b"250-sink\r\n250 AUTH PLAIN LOGIN\r\n",
            "STARTTLS" if offer_starttls => {
                stream.get_mut().write_all(b"220 go ahead\r\n").await.ok()?;
                return Some(stream.into_inner());
            }
            "AUTH" => {
                auth = format!("{line}\n");
                b"235 accepted\r\n"
            }
            "DATA" => {
                message = Some(String::new());
                b"354 end with .\r\n"
            }
            "QUIT" => {
                stream.get_mut().write_all(b"221 bye\r\n").await.ok()?;
                return None;
            }
            _ => b"250 OK\r\n",
        };
        stream.get_mut().write_all(reply).await.ok()?;
    }
}
