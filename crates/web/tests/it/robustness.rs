//! Hostile requests against every operation of the OpenAPI document, through real HTTP, on
//! SQLite and (with TEST_DATABASE_URL) PostgreSQL: bogus path ids, absurd query values and
//! malformed, oversized, NUL-laden or mistyped JSON bodies, as an admin and as a viewer. No
//! answer may be a 5xx, every 4xx under `/api` is problem+json, and a 2xx documented as JSON
//! parses as JSON. A second test checks that the documented schemas name the fields served.

use crate::common::{create_user, staff, Server};
use domain::access::{Role, Scope};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use store::testing::TestStore;
use test_macros::store_test;

/// At most this many requests per database, so the suite stays within about a minute.
const MAX_REQUESTS: usize = 4_500;
/// Operations probed at once.
const CONCURRENCY: usize = 4;
const BOGUS_IDS: [&str; 5] = ["0", "-1", "abc", "99999999999999999999", "%00"];
/// Fields tried one at a time per operation (beyond this, only all at once).
const MAX_FIELDS_ONE_BY_ONE: usize = 10;

fn query_values() -> Vec<String> {
    vec![String::new(), "x".repeat(10_000), "\u{0}".into(), "-1".into(), "9999-99-99".into(), "1000-01-01".into()]
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Who {
    Admin,
    Viewer,
    WriteKey,
}

#[derive(Clone)]
enum Body {
    None,
    /// Sent as is with `content-type: application/json` (so it may be invalid).
    Json(Vec<u8>),
    Raw(&'static str, Vec<u8>),
}

impl Body {
    fn json(value: &Value) -> Body {
        Body::Json(serde_json::to_vec(value).unwrap())
    }

    fn text(text: &str) -> Body {
        Body::Json(text.as_bytes().to_vec())
    }

    fn shown(&self) -> String {
        let (kind, bytes) = match self {
            Body::None => return "-".into(),
            Body::Json(bytes) => ("json", bytes),
            Body::Raw(kind, bytes) => (*kind, bytes),
        };
        format!("{kind} {}", clip(&String::from_utf8_lossy(bytes), 160))
    }
}

fn clip(text: &str, max: usize) -> String {
    let text = text.replace('\0', "\\0").replace('\n', "\\n");
    if text.chars().count() <= max {
        text
    } else {
        format!("{}…({} chars)", text.chars().take(max).collect::<String>(), text.chars().count())
    }
}

/// One operation of the document, as probed.
#[derive(Clone)]
struct Operation {
    method: Method,
    template: String,
    path_params: Vec<String>,
    query: Vec<String>,
    /// Query parameters the operation requires: always sent, with plausible values.
    required_query: Vec<String>,
    body: BodyKind,
    fields: Vec<String>,
    json_2xx: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BodyKind {
    None,
    Json,
    Csv,
}

#[derive(Clone, Debug)]
struct Failure {
    who: Who,
    method: Method,
    template: String,
    path: String,
    body: String,
    status: String,
    problem: &'static str,
    response: String,
}

struct Probe {
    server_base: String,
    admin: Client,
    viewer: Client,
    tracking: Client,
    real: BTreeMap<&'static str, String>,
    sent: Mutex<usize>,
    failures: Mutex<Vec<Failure>>,
    /// Answers per operation and status, shown when the test fails or with `--nocapture`.
    statuses: Mutex<BTreeMap<(String, String, u16), usize>>,
}

impl Probe {
    fn client(&self, who: Who) -> &Client {
        match who {
            Who::Admin => &self.admin,
            Who::Viewer => &self.viewer,
            Who::WriteKey => &self.tracking,
        }
    }

    /// Sends one request and records what is wrong with its answer; returns the status.
    async fn send(&self, who: Who, op: &Operation, method: Method, path: &str, body: &Body) -> Option<StatusCode> {
        *self.sent.lock().unwrap() += 1;
        let mut request = self
            .client(who)
            .request(method.clone(), format!("{}{path}", self.server_base))
            .header("accept-language", "en");
        request = match body {
            Body::None => request,
            Body::Json(bytes) => request.header("content-type", "application/json").body(bytes.clone()),
            Body::Raw(content_type, bytes) => request.header("content-type", *content_type).body(bytes.clone()),
        };
        let fail = |status: String, problem: &'static str, response: String| Failure {
            who,
            method: method.clone(),
            template: op.template.clone(),
            path: clip(path, 160),
            body: body.shown(),
            status,
            problem,
            response: clip(&response, 300),
        };
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                let kind = if error.is_timeout() { "timeout" } else { "transport error" };
                self.failures.lock().unwrap().push(fail("-".into(), kind, error.to_string()));
                return None;
            }
        };
        let status = response.status();
        *self
            .statuses
            .lock()
            .unwrap()
            .entry((op.template.clone(), method.to_string(), status.as_u16()))
            .or_default() += 1;
        let content_type =
            response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let text = match response.bytes().await {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(error) => {
                let kind = if error.is_timeout() { "timeout" } else { "transport error" };
                self.failures.lock().unwrap().push(fail(status.as_u16().to_string(), kind, error.to_string()));
                return Some(status);
            }
        };
        let problem = if status.is_server_error() {
            Some("5xx")
        } else if status.is_client_error()
            && path.starts_with("/api")
            && !content_type.starts_with("application/problem+json")
        {
            Some("4xx without problem+json")
        } else if status.is_success()
            && op.json_2xx
            && status != StatusCode::NO_CONTENT
            && serde_json::from_str::<Value>(&text).is_err()
        {
            Some("2xx documented as JSON does not parse")
        } else {
            None
        };
        if let Some(problem) = problem {
            let shown = format!("[{content_type}] {text}");
            self.failures.lock().unwrap().push(fail(status.as_u16().to_string(), problem, shown));
        }
        Some(status)
    }

    /// The template with every parameter replaced by a real value, except `bogus` for `name`.
    fn path(&self, op: &Operation, bogus: Option<(&str, &str)>) -> String {
        concrete_path(&self.real, op, bogus)
    }

    async fn probe(&self, op: &Operation) {
        for who in [Who::Admin, Who::Viewer] {
            self.probe_as(who, op).await;
        }
    }

    async fn probe_as(&self, who: Who, op: &Operation) {
        let plain_body = match op.body {
            BodyKind::None => Body::None,
            BodyKind::Json => Body::text("{}"),
            BodyKind::Csv => Body::Raw("text/csv", b"account_id,name\n".to_vec()),
        };
        // Requests that would destroy what later requests need are sent with bogus ids only
        // (real ones come last, in `delete_what_exists`).
        let destructive = op.method == Method::DELETE && !op.path_params.is_empty();
        let real = self.path(op, None);
        let first_path = match op.path_params.first() {
            Some(name) if destructive => self.path(op, Some((name, BOGUS_IDS[0]))),
            _ => with_query(&real, op, &[]),
        };
        // The guard answers before anything reads the request: once it refuses the viewer,
        // nothing else in the request can matter.
        if who == Who::Viewer
            && self.send(who, op, op.method.clone(), &first_path, &plain_body).await == Some(StatusCode::FORBIDDEN)
        {
            return;
        }
        // Bogus path parameters, the others real.
        for name in &op.path_params {
            for bogus in BOGUS_IDS {
                let path = self.path(op, Some((name, bogus)));
                self.send(who, op, op.method.clone(), &path, &plain_body).await;
            }
        }
        if destructive {
            return;
        }
        if who == Who::Admin {
            self.send(who, op, op.method.clone(), &with_query(&real, op, &[]), &plain_body).await;
        }
        // One hostile value at a time, the required parameters otherwise plausible. The viewer
        // reads through the same parsing as the admin: one value suffices there.
        let values = match who {
            Who::Viewer => query_values().into_iter().skip(1).take(1).collect(),
            _ => query_values(),
        };
        for name in &op.query {
            for value in &values {
                self.send(who, op, op.method.clone(), &with_query(&real, op, &[(name, value)]), &plain_body).await;
            }
        }
        if who == Who::Admin && !op.query.is_empty() {
            // Every parameter at once (shorter: a URI holds at most 64 KiB).
            for value in ["x".repeat(1_000), "1000-01-01".into(), "99999999999".into(), "9999-12-31".into()] {
                let all: Vec<(&str, &str)> = op.query.iter().map(|n| (n.as_str(), value.as_str())).collect();
                self.send(who, op, op.method.clone(), &with_query(&real, op, &all), &plain_body).await;
            }
            // The widest range of days, by day where there is a choice.
            let mut widest: Vec<(&str, &str)> = op
                .query
                .iter()
                .filter_map(|name| match name.as_str() {
                    "from" | "since" => Some((name.as_str(), "1000-01-01")),
                    "to" | "until" | "as_of" | "date" => Some((name.as_str(), "9999-12-31")),
                    _ => None,
                })
                .collect();
            if !widest.is_empty() {
                self.send(who, op, op.method.clone(), &with_query(&real, op, &widest), &plain_body).await;
                if op.query.iter().any(|name| name == "interval") {
                    widest.push(("interval", "day"));
                    self.send(who, op, op.method.clone(), &with_query(&real, op, &widest), &plain_body).await;
                }
            }
        }
        let real = with_query(&real, op, &[]);
        let bodies = match op.body {
            BodyKind::None => Vec::new(),
            BodyKind::Json => json_bodies(&op.fields),
            BodyKind::Csv => csv_bodies(),
        };
        for body in bodies {
            self.send(who, op, op.method.clone(), &real, &body).await;
        }
    }
}

/// The template with every parameter replaced by a value from `real` (what `seed` made), except
/// `bogus` for `name`.
fn concrete_path(real: &BTreeMap<&'static str, String>, op: &Operation, bogus: Option<(&str, &str)>) -> String {
    let mut path = op.template.clone();
    for name in &op.path_params {
        let value = match bogus {
            Some((bad, value)) if bad == name => value.to_owned(),
            _ => real_value(real, &op.template, name),
        };
        path = path.replace(&format!("{{{name}}}"), &value);
    }
    path
}

/// A value naming something that exists, chosen by the path segment before the parameter.
fn real_value(real: &BTreeMap<&'static str, String>, template: &str, name: &str) -> String {
    let marker = format!("/{{{name}}}");
    let before = template.split(&marker).next().unwrap_or("");
    let resource = before.rsplit('/').next().unwrap_or("");
    let key = match (resource, name) {
        (_, "kind") => "kind",
        (_, "month") => "month",
        ("features", "key") => "feature",
        ("milestones", "key") => "milestone",
        ("accounts", _) => "account",
        ("contacts", _) => "contact",
        ("subscriptions", _) => "subscription",
        ("tasks", _) => "task",
        ("timeline", _) => "timeline",
        ("users", _) => "user",
        ("teams", _) => "team",
        ("playbooks", _) => "playbook",
        ("segments", _) => "segment",
        ("templates", _) => "template",
        ("plans", _) => "plan",
        ("tokens", _) => "token",
        ("write-keys", _) => "write_key",
        ("requests", _) => "request",
        ("evidence", _) => "evidence",
        ("messages", _) => "message",
        ("surveys", _) => "survey",
        _ => "",
    };
    real.get(key).cloned().unwrap_or_else(|| "1".into())
}

/// `path` with the operation's required query parameters (plausible values) and `pairs`, which
/// take precedence.
fn with_query(path: &str, op: &Operation, pairs: &[(&str, &str)]) -> String {
    let mut all: Vec<(&str, &str)> = op
        .required_query
        .iter()
        .filter(|name| !pairs.iter().any(|(n, _)| n == name))
        .map(|name| {
            let value = match name.as_str() {
                "from" | "since" => "2025-01-01",
                "to" | "until" | "as_of" | "date" => "2025-03-31",
                "horizon_days" | "days" => "90",
                "person" => "someone@k.example",
                _ => "1",
            };
            (name.as_str(), value)
        })
        .collect();
    all.extend_from_slice(pairs);
    if all.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", serde_urlencoded::to_string(&all).unwrap())
    }
}

/// Last, deletions of things that exist (the other requests needed them), accounts after what
/// belongs to them, but never of users or API tokens (the admin's own among them).
async fn delete_what_exists(probe: &Probe, operations: &[Operation]) {
    let mut deletions: Vec<&Operation> =
        operations.iter().filter(|op| op.method == Method::DELETE && !op.path_params.is_empty()).collect();
    deletions.retain(|op| op.template != "/api/v1/users/{id}" && op.template != "/api/v1/tokens/{id}");
    deletions.sort_by_key(|op| (op.template == "/api/v1/accounts/{id}", op.template.clone()));
    for op in deletions {
        let path = probe.path(op, None);
        for who in [Who::Viewer, Who::Admin] {
            probe.send(who, op, Method::DELETE, &path, &Body::None).await;
        }
    }
}

/// `chars` letters and digits that do not compress (a run of one letter would slip under
/// PostgreSQL's index size limit once compressed), the same in every run.
fn long_text(chars: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..chars)
        .map(|_| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            ALPHABET[(state >> 33) as usize % ALPHABET.len()] as char
        })
        .collect()
}

/// Bodies for an operation taking JSON, with `fields` its documented or likely fields.
fn json_bodies(fields: &[String]) -> Vec<Body> {
    let long = long_text(100_000);
    let nested = (0..64).fold(json!("x"), |inner, _| json!([inner]));
    let mut bodies = vec![
        Body::text("[]"),
        Body::text("null"),
        Body::text("\"x\""),
        Body::text(""),
        Body::text("{\"name\": \"\u{0}\"}"), // a raw NUL, which JSON does not allow unescaped
        Body::Json(b"{\"name\": \"\xff\xfe\"}".to_vec()),
        Body::text(&format!("{}{}", "[".repeat(200), "]".repeat(200))),
        Body::json(&json!({"a\u{0}": 1})),
        Body::Raw("text/plain", b"{}".to_vec()),
    ];
    let every = |value: Value| Body::json(&Value::Object(fields.iter().map(|f| (f.clone(), value.clone())).collect()));
    for value in [
        json!(long),
        json!("a\u{0}b"),
        nested.clone(),
        json!(1e308),
        json!(-1),
        json!(true),
        json!({"x": {"y": []}}),
        json!(["\u{0}"]),
    ] {
        bodies.push(every(value));
    }
    let huge_integers =
        fields.iter().map(|f| format!("{}: 123456789012345678901234567890", json!(f))).collect::<Vec<_>>();
    bodies.push(Body::text(&format!("{{{}}}", huge_integers.join(", "))));
    for field in fields.iter().take(MAX_FIELDS_ONE_BY_ONE) {
        bodies.push(Body::json(&json!({ field: "x\u{0}" })));
        bodies.push(Body::json(&json!({ field: long })));
    }
    bodies
}

fn csv_bodies() -> Vec<Body> {
    let csv = |bytes: Vec<u8>| Body::Raw("text/csv", bytes);
    vec![
        csv(Vec::new()),
        csv(b"\0\0\0".to_vec()),
        csv(vec![0xff, 0xfe, 0x00, 0x41, 0x0a, 0x80]),
        csv(b"account_id,name\nA9,Nul\0Name\n".to_vec()),
        csv(b"account_id,name\nA\0,Nul id\n".to_vec()),
        csv(format!("account_id,name\nA10,{}\n", long_text(100_000)).into_bytes()),
        csv(format!("account_id,name\n{},Long id\n", long_text(10_000)).into_bytes()),
        csv(format!("{}\n", "x,".repeat(10_000)).into_bytes()),
        csv(b"account_id,name\n\"unterminated,quote\n".to_vec()),
        Body::text("{}"),
    ]
}

/// Every operation of the document, with the fields its body is likely to have.
fn operations(doc: &Value) -> Vec<Operation> {
    let mut operations = Vec::new();
    for (template, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Ok(method) = method.to_uppercase().parse::<Method>() else { continue };
            if template.starts_with("/v1/") || (template == "/api/v1/session" && method == Method::DELETE) {
                continue; // tracking has its own probes; signing out would end the admin's token
            }
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            let named = |place: &str| -> Vec<String> {
                params
                    .iter()
                    .filter(|p| p["in"] == place)
                    .filter_map(|p| p["name"].as_str().map(str::to_owned))
                    .collect()
            };
            let content = &op["requestBody"]["content"];
            let body = if content.get("application/json").is_some() {
                BodyKind::Json
            } else if content.get("text/csv").is_some() {
                BodyKind::Csv
            } else {
                BodyKind::None
            };
            let json_2xx = op["responses"].as_object().is_some_and(|responses| {
                responses
                    .iter()
                    .any(|(status, r)| status.starts_with('2') && r["content"].get("application/json").is_some())
            });
            let fields = if body == BodyKind::Json { likely_fields(doc, template, op) } else { Vec::new() };
            operations.push(Operation {
                method,
                template: template.clone(),
                path_params: named("path"),
                query: named("query"),
                required_query: params
                    .iter()
                    .filter(|p| p["in"] == "query" && p["required"] == true)
                    .filter_map(|p| p["name"].as_str().map(str::to_owned))
                    .collect(),
                body,
                fields,
                json_2xx,
            });
        }
    }
    operations
}

/// The request schema's fields; failing that, the fields of a sibling operation's request
/// schema or of the answer, and those the handlers are known to read.
fn likely_fields(doc: &Value, template: &str, op: &Value) -> Vec<String> {
    let mut fields: BTreeSet<String> = properties(doc, &op["requestBody"]["content"]["application/json"]["schema"]);
    if fields.is_empty() {
        for sibling in ["put", "post"] {
            fields.extend(properties(
                doc,
                &doc["paths"][template][sibling]["requestBody"]["content"]["application/json"]["schema"],
            ));
        }
    }
    let known: &[&str] = match template {
        "/api/v1/session" => &["email", "password"],
        "/api/v1/me/password" => &["current_password", "new_password", "revoke_tokens"],
        "/api/v1/tokens" => &["name", "scope"],
        "/api/v1/write-keys" => &["name"],
        "/api/v1/segments" | "/api/v1/segments/{id}" => &["name", "rule", "description"],
        "/api/v1/segments/preview" => &["rule", "limit"],
        "/api/v1/features" | "/api/v1/features/{key}" => {
            &["key", "name", "event", "cadence", "importance", "property", "value", "season", "description"]
        }
        "/api/v1/accounts/{id}/pulse" => &["score", "reasons", "note"],
        "/api/v1/metrics/spend/{month}" => &["amount"],
        "/api/v1/tasks/{id}" => &["status", "outcome", "snoozed_until", "due_on", "assignee_id", "title", "note"],
        _ => &[],
    };
    fields.extend(known.iter().map(|f| f.to_string()));
    if fields.is_empty() {
        for (status, response) in op["responses"].as_object().into_iter().flatten() {
            if status.starts_with('2') {
                fields.extend(properties(doc, &response["content"]["application/json"]["schema"]));
            }
        }
    }
    fields.into_iter().take(40).collect()
}

/// Resolves `$ref` and merges `allOf`, for the names of an object schema's properties.
fn flatten(doc: &Value, schema: &Value) -> Value {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/components/schemas/");
        return flatten(doc, &doc["components"]["schemas"][name]);
    }
    if let Some(parts) = schema["allOf"].as_array() {
        let mut properties = Map::new();
        let mut required = Vec::new();
        for part in parts {
            let part = flatten(doc, part);
            properties.extend(part["properties"].as_object().cloned().unwrap_or_default());
            required.extend(part["required"].as_array().cloned().unwrap_or_default());
        }
        return json!({"type": "object", "properties": properties, "required": required});
    }
    schema.clone()
}

fn properties(doc: &Value, schema: &Value) -> BTreeSet<String> {
    flatten(doc, schema)["properties"].as_object().map(|p| p.keys().cloned().collect()).unwrap_or_default()
}

/// Tracking routes: a few bodies with a write key, and an API token where a write key belongs.
async fn probe_tracking(probe: &Probe) {
    let long = long_text(100_000);
    let bodies = vec![
        Body::text("{}"),
        Body::text("[]"),
        Body::text("null"),
        Body::Json(b"{\"userId\": \"\xff\"}".to_vec()),
        Body::json(&json!({"userId": "u\u{0}", "event": "E\u{0}", "groupId": "\u{0}", "traits": {"a\u{0}": "\u{0}"}})),
        Body::json(&json!({"userId": long, "event": long, "groupId": long, "previousId": long})),
        Body::json(&json!({"userId": "u", "event": "E", "timestamp": 1e308, "properties": [[[[]]]]})),
        Body::json(&json!({"userId": "u", "event": "E", "timestamp": "9999-99-99T00:00:00Z", "messageId": -1})),
        Body::json(&json!({"batch": [[[[]]]], "context": "x"})),
        Body::json(&json!({"batch": [{"type": "track", "userId": "u\u{0}", "event": "E"}]})),
    ];
    for route in ["identify", "track", "page", "screen", "group", "alias", "batch", "import"] {
        let op = Operation {
            method: Method::POST,
            template: format!("/v1/{route}"),
            path_params: Vec::new(),
            query: Vec::new(),
            required_query: Vec::new(),
            body: BodyKind::Json,
            fields: Vec::new(),
            json_2xx: true,
        };
        for body in &bodies {
            probe.send(Who::WriteKey, &op, Method::POST, &op.template, body).await;
        }
        probe.send(Who::Admin, &op, Method::POST, &op.template, &Body::text("{}")).await;
    }
}

fn bearer(token: &str) -> Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
    timed(Client::builder().default_headers(headers))
}

fn timed(builder: reqwest::ClientBuilder) -> Client {
    builder.timeout(Duration::from_secs(10)).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

async fn created(server: &Server, path: &str, body: Value) -> String {
    let (status, created) = server.post(path, body).await;
    assert!(status.is_success(), "seeding {path}: {status} {created}");
    created["id"].as_i64().map(|id| id.to_string()).unwrap_or_else(|| panic!("seeding {path}: no id in {created}"))
}

/// Something of every kind, so that real ids reach the handlers' body parsing.
async fn seed(server: &Server) -> BTreeMap<&'static str, String> {
    let mut real = BTreeMap::new();
    real.insert("kind", "accounts".to_owned());
    real.insert("month", "2025-04".to_owned());
    let account =
        created(server, "/api/v1/accounts", json!({"external_id": "ACC-1", "name": "Acme", "tier": "enterprise"}))
            .await;
    let subscriptions = "subscription_id,account_id,product,start_date,billing_interval,quantity,unit_price,currency\n\
        S1,ACC-1,core,2024-01-01,month,10,500,JPY\n";
    let (status, report) = server.upload("subscriptions", subscriptions.as_bytes().to_vec()).await;
    assert!(status.is_success(), "seeding subscriptions: {report}");
    let (_, list) = server.get("/api/v1/subscriptions").await;
    real.insert("subscription", list["items"][0]["id"].to_string());
    let contact = json!({"external_id": "C-1", "account_id": account.parse::<i64>().unwrap(), "name": "管理者", "email": "c@k.example"});
    real.insert("contact", created(server, "/api/v1/contacts", contact).await);
    let id = account.parse::<i64>().unwrap();
    real.insert(
        "timeline",
        created(server, "/api/v1/timeline", json!({"account_id": id, "kind": "note", "title": "x"})).await,
    );
    real.insert(
        "task",
        created(server, "/api/v1/tasks", json!({"account_id": id, "title": "Call", "kind": "renewal"})).await,
    );
    real.insert("team", created(server, "/api/v1/teams", json!({"name": "CS"})).await);
    let victim = create_user(&server.app, "victim@k.example", Role::Csm).await;
    real.insert("user", victim.0.to_string());
    let feature = json!({"key": "payslip", "name": "給与明細", "event": "Payslip Published", "cadence": "weekly", "importance": "core"});
    let (status, body) = server.post("/api/v1/features", feature).await;
    assert!(status.is_success(), "seeding a feature: {body}");
    real.insert("feature", "payslip".to_owned());
    let (status, body) = server.post("/api/v1/kpi/install", json!({"phase": "best_practice"})).await;
    assert!(status.is_success(), "seeding a KPI tree: {body}");
    real.insert(
        "segment",
        created(server, "/api/v1/segments", json!({"name": "Enterprise", "rule": "tier = \"enterprise\""})).await,
    );
    let playbook = json!({"name": "Renewal", "trigger": {"type": "renewal_within", "days": 60},
        "step": [{"action": "create_task", "title": "{{account}}", "kind": "renewal", "priority": "high"}]});
    real.insert("playbook", created(server, "/api/v1/playbooks", playbook).await);
    let template = json!({"name": "Standard", "default": true, "active_from": "2020-01-01", "complete_stage": "adoption",
        "milestone": [{"key": "kickoff", "name_ja": "キックオフ", "name_en": "Kickoff", "expected_days": 30}]});
    real.insert("template", created(server, "/api/v1/onboarding/templates", template).await);
    real.insert("milestone", "kickoff".to_owned());
    let (status, plan) = server.post(&format!("/api/v1/accounts/{account}/onboarding"), json!({})).await;
    if let Some(plan) = plan["id"].as_i64() {
        real.insert("plan", plan.to_string());
    } else {
        eprintln!("no onboarding plan to probe with ({status}: {plan})");
    }
    server
        .post(&format!("/api/v1/accounts/{account}/pulse"), json!({"score": 5, "reasons": ["strong_relationship"]}))
        .await;
    server.send(Method::PUT, "/api/v1/metrics/spend/2025-04", Some(json!({"amount": "1000"}))).await;
    let request = created(server, "/api/v1/requests", json!({"title": "SSO", "product_area": "auth"})).await;
    let evidence = json!({"account": "ACC-1", "importance": "blocker", "quote": "SAML が必須"});
    real.insert("evidence", created(server, &format!("/api/v1/requests/{request}/evidence"), evidence).await);
    real.insert("request", request);
    let key = server.write_key().await;
    let (_, keys) = server.get("/api/v1/write-keys").await;
    let key_id = keys.as_array().and_then(|k| k.first()).or_else(|| keys["items"].get(0)).map(|k| k["id"].to_string());
    real.insert("write_key", key_id.unwrap_or_else(|| "1".into()));
    let event = json!({"userId": "u1", "event": "Payslip Published", "context": {"groupId": "ACC-1"}, "timestamp": "2025-01-10T09:00:00Z"});
    server.track(&key, "/v1/track", event).await;
    let message = json!({"name": "Tour", "style": "banner", "title": "新機能", "body": "本文"});
    real.insert("message", created(server, "/api/v1/messages", message).await);
    real.insert("survey", created(server, "/api/v1/surveys", json!({"name": "NPS", "kind": "nps"})).await);
    real.insert("account", account);
    real.insert("write_key_secret", key);
    real
}

#[store_test]
async fn no_operation_answers_hostile_requests_with_a_server_error(t: TestStore) {
    let mut report = Vec::new();
    let started = Instant::now();
    let server = Server::start(&t).await;
    let viewer = create_user(&server.app, "viewer@k.example", Role::Viewer).await;
    // Write scope, so that the viewer reaches what is their own (their tokens) and the role,
    // not the scope, is what refuses the rest.
    let (_, viewer_token) =
        server.app.create_api_token(&staff(&server.app, viewer).await, "viewer", Scope::Write).await.unwrap();
    let real = seed(&server).await;
    let doc: Value = server.client.get(server.url("/api/openapi.json")).send().await.unwrap().json().await.unwrap();
    let operations = operations(&doc);
    let basic = {
        use base64::Engine;
        let secret = &real["write_key_secret"];
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{secret}:")))
    };
    let mut tracking_headers = reqwest::header::HeaderMap::new();
    tracking_headers.insert(reqwest::header::AUTHORIZATION, basic.parse().unwrap());
    let probe = Arc::new(Probe {
        server_base: server.base.clone(),
        admin: bearer(&server.admin_token),
        viewer: bearer(&viewer_token),
        tracking: timed(Client::builder().default_headers(tracking_headers)),
        real,
        sent: Mutex::new(0),
        failures: Mutex::new(Vec::new()),
        statuses: Mutex::new(BTreeMap::new()),
    });
    let queue = Arc::new(Mutex::new(operations.clone()));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..CONCURRENCY {
        let (probe, queue) = (probe.clone(), queue.clone());
        workers.spawn(async move {
            loop {
                let Some(op) = queue.lock().unwrap().pop() else { break };
                probe.probe(&op).await;
            }
        });
    }
    while let Some(done) = workers.join_next().await {
        done.unwrap();
    }
    probe_tracking(&probe).await;
    delete_what_exists(&probe, &operations).await;
    let mut tally = BTreeMap::<(String, String), Vec<String>>::new();
    for ((template, method, status), count) in probe.statuses.lock().unwrap().iter() {
        tally.entry((method.clone(), template.clone())).or_default().push(format!("{status}×{count}"));
    }
    for ((method, template), statuses) in tally {
        eprintln!("  {} {method} {template}: {}", t.label, statuses.join(" "));
    }
    let sent = *probe.sent.lock().unwrap();
    let failures = std::mem::take(&mut *probe.failures.lock().unwrap());
    eprintln!(
        "{}: {} operations, {sent} requests, {} failures in {:.1}s",
        t.label,
        operations.len(),
        failures.len(),
        started.elapsed().as_secs_f64()
    );
    report.push((t.label, sent, failures));
    drop(server);
    t.finish().await;
    let mut lines = Vec::new();
    for (label, sent, failures) in &report {
        if *sent > MAX_REQUESTS {
            lines.push(format!("[{label}] {sent} requests: keep the suite within {MAX_REQUESTS}"));
        }
        let mut groups: BTreeMap<(String, &str, String, String), Vec<&Failure>> = BTreeMap::new();
        for f in failures {
            groups.entry((f.template.clone(), f.problem, f.method.to_string(), f.status.clone())).or_default().push(f);
        }
        for ((template, problem, method, status), all) in &groups {
            lines.push(format!("[{label}] {problem} {status} {method} {template}: {} request(s)", all.len()));
            for f in all.iter().take(3) {
                lines.push(format!(
                    "    as {:?}: {} {}  body: {}\n      -> {}",
                    f.who, f.method, f.path, f.body, f.response
                ));
            }
        }
    }
    assert!(lines.is_empty(), "hostile requests answered wrongly:\n{}", lines.join("\n"));
}

/// Whether `value` has the shape `schema` documents: types, enumerated values, required fields,
/// and no field the schema does not name; each mismatch is pushed with where it is.
fn conform(doc: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    conform_as(doc, schema, value, at, errors, true);
}

/// `strict`: fields the schema does not name are mismatches (not so for one part of an `allOf`,
/// whose other parts may name them).
fn conform_as(doc: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>, strict: bool) {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/components/schemas/");
        return conform_as(doc, &doc["components"]["schemas"][name], value, at, errors, strict);
    }
    if let Some(parts) = schema["allOf"].as_array() {
        for part in parts {
            conform_as(doc, part, value, at, errors, false);
        }
        if let (true, Some(object)) = (strict, value.as_object()) {
            let known: BTreeSet<String> = parts.iter().flat_map(|part| field_names(doc, part)).collect();
            for name in object.keys().filter(|name| !known.contains(*name)) {
                errors.push(format!("{at}: served field `{name}` is not in the schema"));
            }
        }
        return;
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(variants) = schema[key].as_array() {
            // None fits: show the mismatches of the variant that came closest, where a variant
            // of another type entirely (`null` for an object) is the furthest.
            let mut closest: Option<(usize, Vec<String>)> = None;
            for variant in variants {
                let mut found = Vec::new();
                conform_as(doc, variant, value, at, &mut found, strict);
                if found.is_empty() {
                    return;
                }
                let other_type =
                    found.len() == 1 && found[0].starts_with(&format!("{at}: ")) && !found[0].contains('`');
                let distance = if other_type { usize::MAX } else { found.len() };
                if closest.as_ref().is_none_or(|(best, _)| distance < *best) {
                    closest = Some((distance, found));
                }
            }
            errors.extend(closest.map(|(_, found)| found).unwrap_or_default());
            return;
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let fits = |t: &str| match t {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => true,
    };
    if !types.is_empty() && !types.iter().any(|t| fits(t)) {
        errors.push(format!("{at}: {} is not {}", clip(&value.to_string(), 60), types.join(" or ")));
        return;
    }
    if let Some(allowed) = schema["enum"].as_array() {
        if !value.is_null() && !allowed.contains(value) {
            errors.push(format!(
                "{at}: {} is not one of {}",
                clip(&value.to_string(), 60),
                Value::from(allowed.clone())
            ));
        }
    }
    if let (Some(object), Some(properties)) = (value.as_object(), schema["properties"].as_object()) {
        if strict {
            for name in object.keys().filter(|name| !properties.contains_key(*name)) {
                errors.push(format!("{at}: served field `{name}` is not in the schema"));
            }
        }
        for name in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            if !object.contains_key(name) {
                errors.push(format!("{at}: required field `{name}` is not served"));
            }
        }
        for (name, field) in object {
            if let Some(property) = properties.get(name) {
                conform(doc, property, field, &format!("{at}.{name}"), errors);
            }
        }
    } else if let (Some(object), Some(extra)) = (value.as_object(), schema.get("additionalProperties")) {
        if extra.is_object() {
            for (name, field) in object {
                conform(doc, extra, field, &format!("{at}.{name}"), errors);
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, item) in array.iter().enumerate().take(20) {
            conform(doc, items, item, &format!("{at}[{i}]"), errors);
        }
    }
}

/// Every field name a schema may have, through references, `allOf`, `oneOf` and `anyOf`.
fn field_names(doc: &Value, schema: &Value) -> BTreeSet<String> {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/components/schemas/");
        return field_names(doc, &doc["components"]["schemas"][name]);
    }
    let mut names: BTreeSet<String> =
        schema["properties"].as_object().map(|p| p.keys().cloned().collect()).unwrap_or_default();
    for key in ["allOf", "oneOf", "anyOf"] {
        for part in schema[key].as_array().into_iter().flatten() {
            names.extend(field_names(doc, part));
        }
    }
    names
}

/// The schema of the 2xx JSON answer of `method path` in the document.
fn answer_schema(doc: &Value, method: &str, template: &str) -> Value {
    let responses = doc["paths"][template][method]["responses"].as_object().expect("a documented operation");
    let (_, ok) = responses.iter().find(|(status, _)| status.starts_with('2')).expect("a 2xx answer");
    ok["content"]["application/json"]["schema"].clone()
}

#[store_test]
async fn the_openapi_schemas_name_the_fields_the_api_serves(t: TestStore) {
    let server = Server::start(&t).await;
    let real = seed(&server).await;
    let account = &real["account"];
    let change = json!({"name": "Acme KK", "tier": null, "employees": 120});
    let (status, _) = server.send(Method::PATCH, &format!("/api/v1/accounts/{account}"), Some(change)).await;
    assert!(status.is_success(), "{status}");
    let (_, doc) = server.get("/api/openapi.json").await;
    let mut errors = Vec::new();
    // Where the document and the answers have parted before: metrics periods, audit changes.
    for (template, path) in [
        ("/api/v1/metrics/report", "/api/v1/metrics/report?from=2025-01-01&to=2025-04-30"),
        ("/api/v1/metrics/unit-economics", "/api/v1/metrics/unit-economics?from=2025-01-01&to=2025-04-30"),
        ("/api/v1/metrics/retention", "/api/v1/metrics/retention?date=2025-04-30"),
        ("/api/v1/audit", "/api/v1/audit"),
    ] {
        let (status, served) = server.get(path).await;
        assert_eq!(status, StatusCode::OK, "{}: GET {path}: {served}", t.label);
        served_is_not_empty(&served, path);
        conform(&doc, &answer_schema(&doc, "get", template), &served, &format!("GET {path}"), &mut errors);
    }
    // And every other read, over what `seed` made.
    for op in operations(&doc).iter().filter(|op| op.method == Method::GET && op.json_2xx) {
        let path = with_query(&concrete_path(&real, op, None), op, &[]);
        let (status, served) = server.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{}: GET {path}: {served}", t.label);
        conform(&doc, &answer_schema(&doc, "get", &op.template), &served, &format!("GET {path}"), &mut errors);
    }
    assert!(errors.is_empty(), "{}: the document does not describe what is served:\n{}", t.label, errors.join("\n"));
    drop(server);
    t.finish().await;
}

/// A check over an empty answer proves nothing.
fn served_is_not_empty(served: &Value, path: &str) {
    let empty = match served {
        Value::Array(items) => items.is_empty(),
        Value::Object(object) => object.get("items").and_then(Value::as_array).is_some_and(Vec::is_empty),
        Value::Null => true,
        _ => false,
    };
    assert!(!empty, "GET {path} served nothing to compare: {served}");
}
