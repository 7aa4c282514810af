//! `/settings/tokens` (the administrator's own API tokens) and `/settings/write-keys` (keys
//! for Segment- and RudderStack-compatible tracking clients, with snippets to copy).

use super::{done, notice, refused, Common};
use crate::api::tokens::{parse_token, parse_write_key, parse_write_key_origins};
use crate::auth::Signed;
use crate::extract::Path;
use crate::extract::{FormFields, QueryParams};
use crate::pages::{format, render, Frame};
use crate::problem::ApiError;
use crate::{AppState, WebOptions};
use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use domain::access::Scope;
use domain::i18n::{Lang, Text};
use domain::settings::{FieldSource, TrackingFieldSources};
use serde_json::json;

/// A secret just created, shown only in this answer.
pub struct Created {
    pub name: String,
    pub secret: String,
}

pub struct ScopeOption {
    pub value: &'static str,
    pub label: &'static str,
}

fn scope_label(scope: Scope, lang: Lang) -> &'static str {
    let text = match scope {
        Scope::Read => Text::new("読み取り", "Read"),
        Scope::Write => Text::new("書き込み", "Write"),
        Scope::Admin => Text::new("管理", "Admin"),
    };
    text.pick(lang)
}

pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub scope: &'static str,
    pub created: String,
    pub last_used: String,
    pub revoked: Option<String>,
}

/// A token or write key field as the forms name it, for what was refused.
fn field_label(field: &str, lang: Lang) -> &'static str {
    let text = match field {
        "scope" => Text::new("スコープ", "Scope"),
        "allowed_origins" => Text::new("許可するオリジン", "Allowed origins"),
        _ => Text::new("名前", "Name"),
    };
    text.pick(lang)
}

#[derive(Template)]
#[template(path = "settings_tokens.html")]
pub struct TokensPage {
    pub frame: Frame,
    pub common: Common,
    pub rows: Vec<TokenRow>,
    pub scopes: Vec<ScopeOption>,
    pub draft: FormFields,
    pub created: Option<Created>,
}

async fn tokens_page(
    app: &AppState,
    frame: Frame,
    actor: &app::Actor,
    common: Common,
    draft: FormFields,
    created: Option<Created>,
) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let zone = app.zone();
    let owner = actor.user_id().ok_or(ApiError::Forbidden)?;
    let rows = app
        .api_tokens(Some(owner))
        .await?
        .into_iter()
        .map(|token| TokenRow {
            id: token.id,
            name: token.name,
            prefix: token.prefix,
            scope: scope_label(token.scope, lang),
            created: format::moment(Some(token.created_at), &zone, lang),
            last_used: format::moment(token.last_used_at, &zone, lang),
            revoked: token.revoked_at.map(|at| format::moment(Some(at), &zone, lang)),
        })
        .collect();
    let page = TokensPage {
        frame: frame.at("settings"),
        common,
        rows,
        scopes: Scope::ALL.iter().map(|s| ScopeOption { value: s.as_str(), label: scope_label(*s, lang) }).collect(),
        draft,
        created,
    };
    let status = page.common.status();
    Ok((status, render(&page, "settings tokens")?).into_response())
}

pub async fn tokens(
    State(app): State<AppState>,
    frame: Frame,
    Signed(actor): Signed,
    params: QueryParams,
) -> Result<Response, ApiError> {
    let common = Common::new(frame.lang, "/settings/tokens").with_notice(notice(params.text("done"), frame.lang));
    tokens_page(&app, frame, &actor, common, FormFields::default(), None).await
}

pub async fn create_token(
    State(app): State<AppState>,
    frame: Frame,
    Signed(actor): Signed,
    fields: FormFields,
) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let common = Common::new(lang, "/settings/tokens");
    let created = async {
        let (name, scope) = parse_token(json!({"name": fields.get("name"), "scope": fields.get("scope")}))?;
        Ok::<_, ApiError>(app.create_api_token(&actor, &name, scope).await?)
    }
    .await;
    match created {
        Ok((token, secret)) => {
            let created = Created { name: token.name, secret };
            tokens_page(&app, frame, &actor, common, FormFields::default(), Some(created)).await
        }
        Err(error) => {
            let errors = refused(error, lang, |f| field_label(f, lang))?;
            tokens_page(&app, frame, &actor, common.with_errors(errors), fields, None).await
        }
    }
}

pub async fn revoke_token(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
) -> Result<Response, ApiError> {
    app.revoke_api_token(&actor, id).await?;
    Ok(done("/settings/tokens", "token_revoked"))
}

/// The address tracking clients reach this server at, as the browser reached it: the `Host`
/// header, over HTTPS when a proxy says so or the server is configured for it.
pub(crate) fn base_url(headers: &HeaderMap, options: &WebOptions) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c)))
        .unwrap_or("localhost");
    let forwarded = headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok());
    let scheme = match forwarded {
        Some("https") => "https",
        Some("http") => "http",
        _ if options.secure_cookies => "https",
        _ => "http",
    };
    format!("{scheme}://{host}")
}

pub struct Snippet {
    pub id: &'static str,
    pub title: &'static str,
    pub code: String,
}

/// Ready-to-copy setups of the common tracking clients, sending to `base` with `key`.
fn snippets(base: &str, key: &str, lang: Lang) -> Vec<Snippet> {
    let t = |ja, en| Text::new(ja, en).pick(lang);
    let (scheme, host) = base.split_once("://").unwrap_or(("https", base));
    vec![
        Snippet {
            id: "snippet-analytics-node",
            title: t("Node.js（Segment analytics-node）", "Node.js (Segment analytics-node)"),
            code: format!(
                "// npm install @segment/analytics-node\n\
                 const {{ Analytics }} = require('@segment/analytics-node')\n\
                 const analytics = new Analytics({{ writeKey: '{key}', host: '{base}' }})\n\
                 analytics.track({{ userId: 'user-1', event: 'Report Exported', properties: {{ format: 'csv' }} }})"
            ),
        },
        Snippet {
            id: "snippet-rudder-node",
            title: t("Node.js（RudderStack）", "Node.js (RudderStack)"),
            code: format!(
                "// npm install @rudderstack/rudder-sdk-node\n\
                 const Analytics = require('@rudderstack/rudder-sdk-node')\n\
                 const client = new Analytics('{key}', {{ dataPlaneUrl: '{base}' }})\n\
                 client.track({{ userId: 'user-1', event: 'Report Exported', properties: {{ format: 'csv' }} }})"
            ),
        },
        Snippet {
            id: "snippet-analytics-js",
            title: t("ブラウザ（Segment analytics.js / analytics-next）", "Browser (Segment analytics.js / analytics-next)"),
            code: format!(
                "// npm install @segment/analytics-next\n\
                 import {{ AnalyticsBrowser }} from '@segment/analytics-next'\n\
                 export const analytics = AnalyticsBrowser.load({{\n  \
                   writeKey: '{key}',\n  \
                   // Settings given here, so nothing is fetched from Segment's CDN.\n  \
                   cdnSettings: {{ integrations: {{ 'Segment.io': {{ apiKey: '{key}', apiHost: '{host}/v1', protocol: '{scheme}' }} }} }},\n\
                 }})\n\
                 analytics.track('Report Exported', {{ format: 'csv' }})"
            ),
        },
        Snippet {
            id: "snippet-python",
            title: t("Python（Segment analytics-python）", "Python (Segment analytics-python)"),
            code: format!(
                "# pip install segment-analytics-python\n\
                 import segment.analytics as analytics\n\n\
                 analytics.write_key = '{key}'\n\
                 analytics.host = '{base}'\n\
                 analytics.track('user-1', 'Report Exported', {{'format': 'csv'}})\n\
                 analytics.flush()"
            ),
        },
        Snippet {
            id: "snippet-kizuna-js",
            title: t(
                "アプリ内メッセージとアンケート（kizuna.js、製品の画面に 1 行）",
                "In-app messages and surveys (kizuna.js, one line in your product's pages)",
            ),
            code: format!(
                "<script src=\"{base}/js/kizuna.js\" async\n  \
                 data-write-key=\"{key}\"\n  \
                 data-user-id=\"user-1\" data-account-id=\"ACC-001\"\n  \
                 data-email=\"taro@example.com\" data-role=\"admin\" data-lang=\"ja\"></script>\n\
                 <!-- {} -->",
                t(
                    "画面の操作のあとに Kizuna.check('Report Exported') を呼ぶと、その操作を条件にしたメッセージが出ます",
                    "Call Kizuna.check('Report Exported') after an action to show messages aimed at it",
                )
            ),
        },
        Snippet {
            id: "snippet-curl",
            title: t("curl（HTTP Tracking API）", "curl (HTTP Tracking API)"),
            code: format!(
                "curl -u '{key}:' -H 'Content-Type: application/json' \\\n  \
                 -d '{{\"userId\": \"user-1\", \"event\": \"Report Exported\", \"properties\": {{\"format\": \"csv\"}}}}' \\\n  \
                 {base}/v1/track"
            ),
        },
    ]
}

pub struct WriteKeyRow {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub created: String,
    pub revoked: Option<String>,
    pub last_used: String,
    /// Allowed origins, one per line.
    pub origins: String,
    pub days: Vec<domain::credentials::WriteKeyDay>,
}

/// A form's `allowed_origins` (one per line, or separated by spaces or commas) as the API's list.
fn form_origins(text: &str) -> serde_json::Value {
    json!(text.split(|c: char| c.is_whitespace() || c == ',').filter(|s| !s.is_empty()).collect::<Vec<_>>())
}

/// A tracking message the API refused, as the debugger shows it.
pub struct RefusedRow {
    pub received: String,
    pub key_prefix: String,
    pub field: String,
    pub reason: String,
    pub message: String,
}

#[derive(Template)]
#[template(path = "settings_write_keys.html")]
pub struct WriteKeysPage {
    pub frame: Frame,
    pub common: Common,
    pub rows: Vec<WriteKeyRow>,
    pub draft: FormFields,
    pub created: Option<Created>,
    pub base_url: String,
    pub snippets: Vec<Snippet>,
    pub refused: Vec<RefusedRow>,
    pub sources: Vec<SourceRow>,
}

/// One account field and the source that wins over tracking traits, as the form shows it.
pub struct SourceRow {
    pub field: &'static str,
    pub label: &'static str,
    pub options: Vec<SourceOption>,
}

pub struct SourceOption {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

fn source_rows(sources: TrackingFieldSources, lang: Lang) -> Vec<SourceRow> {
    let t = |ja, en| Text::new(ja, en).pick(lang);
    TrackingFieldSources::FIELDS
        .into_iter()
        .map(|field| {
            let label = match field {
                "name" => t("顧客名（name）", "Name (name)"),
                "employees" => t("従業員数（employees）", "Employees (employees)"),
                "industry" => t("業種（industry）", "Industry (industry)"),
                _ => t("プラン（plan・カスタム項目）", "Plan (plan, a custom field)"),
            };
            let chosen = sources.get(field);
            let options = [FieldSource::Imported, FieldSource::Tracking]
                .into_iter()
                .map(|source| SourceOption {
                    value: source.as_str(),
                    label: match source {
                        FieldSource::Imported => t("取り込みデータを優先", "Imported data wins"),
                        FieldSource::Tracking => t("トラッキングを優先", "Tracking wins"),
                    },
                    selected: chosen == Some(source),
                })
                .collect();
            SourceRow { field, label, options }
        })
        .collect()
}

/// Refused messages the write keys page lists.
const REFUSED_SHOWN: i64 = 50;

struct Shown {
    base_url: String,
    draft: FormFields,
    created: Option<Created>,
}

async fn write_keys_page(app: &AppState, frame: Frame, common: Common, shown: Shown) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let zone = app.zone();
    let rows = app
        .write_keys()
        .await?
        .into_iter()
        .map(|key| WriteKeyRow {
            id: key.id,
            name: key.name,
            prefix: key.prefix,
            created: format::moment(Some(key.created_at), &zone, lang),
            revoked: key.revoked_at.map(|at| format::moment(Some(at), &zone, lang)),
            last_used: format::moment(key.last_used_at, &zone, lang),
            origins: key.allowed_origins.join("\n"),
            days: key.days,
        })
        .collect();
    let refused = app
        .refused_messages(REFUSED_SHOWN)
        .await?
        .into_iter()
        .map(|m| RefusedRow {
            received: format::moment(Some(m.received_at), &zone, lang),
            key_prefix: m.key_prefix,
            field: m.field,
            reason: lang.pick(m.reason_ja, m.reason_en),
            message: m.message,
        })
        .collect();
    let placeholder = Text::new("<書き込みキー>", "<YOUR_WRITE_KEY>").pick(lang);
    let key = shown.created.as_ref().map_or(placeholder, |c| c.secret.as_str());
    let page = WriteKeysPage {
        frame: frame.at("settings"),
        common,
        rows,
        snippets: snippets(&shown.base_url, key, lang),
        base_url: shown.base_url,
        draft: shown.draft,
        created: shown.created,
        refused,
        sources: source_rows(app.settings().tracking_field_sources, lang),
    };
    let status = page.common.status();
    Ok((status, render(&page, "settings write keys")?).into_response())
}

pub async fn write_keys(
    State(app): State<AppState>,
    Extension(options): Extension<WebOptions>,
    headers: HeaderMap,
    frame: Frame,
    params: QueryParams,
) -> Result<Response, ApiError> {
    let common = Common::new(frame.lang, "/settings/write-keys").with_notice(notice(params.text("done"), frame.lang));
    let shown = Shown { base_url: base_url(&headers, &options), draft: FormFields::default(), created: None };
    write_keys_page(&app, frame, common, shown).await
}

pub async fn create_write_key(
    State(app): State<AppState>,
    Extension(options): Extension<WebOptions>,
    headers: HeaderMap,
    frame: Frame,
    Signed(actor): Signed,
    fields: FormFields,
) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let common = Common::new(lang, "/settings/write-keys");
    let base_url = base_url(&headers, &options);
    let created = async {
        let (name, origins) = parse_write_key(
            json!({"name": fields.get("name"), "allowed_origins": form_origins(fields.get("allowed_origins"))}),
        )?;
        Ok::<_, ApiError>(app.create_write_key(&actor, &name, &origins).await?)
    }
    .await;
    match created {
        Ok((key, secret)) => {
            let created = Some(Created { name: key.name, secret });
            write_keys_page(&app, frame, common, Shown { base_url, draft: FormFields::default(), created }).await
        }
        Err(error) => {
            let errors = refused(error, lang, |f| field_label(f, lang))?;
            let shown = Shown { base_url, draft: fields, created: None };
            write_keys_page(&app, frame, common.with_errors(errors), shown).await
        }
    }
}

pub async fn revoke_write_key(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Signed(actor): Signed,
) -> Result<Response, ApiError> {
    app.revoke_write_key(&actor, id).await?;
    Ok(done("/settings/write-keys", "write_key_revoked"))
}

pub async fn set_write_key_origins(
    State(app): State<AppState>,
    Extension(options): Extension<WebOptions>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    frame: Frame,
    Signed(actor): Signed,
    fields: FormFields,
) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let saved = async {
        let origins = parse_write_key_origins(json!({"allowed_origins": form_origins(fields.get("allowed_origins"))}))?;
        Ok::<_, ApiError>(app.set_write_key_origins(&actor, id, &origins).await?)
    }
    .await;
    match saved {
        Ok(_) => Ok(done("/settings/write-keys", "write_key_updated")),
        Err(error) => {
            let errors = refused(error, lang, |f| field_label(f, lang))?;
            let common = Common::new(lang, "/settings/write-keys").with_errors(errors);
            let shown = Shown { base_url: base_url(&headers, &options), draft: FormFields::default(), created: None };
            write_keys_page(&app, frame, common, shown).await
        }
    }
}

/// Saves which source wins per account field over tracking traits.
pub async fn set_field_sources(
    State(app): State<AppState>,
    Extension(options): Extension<WebOptions>,
    headers: HeaderMap,
    frame: Frame,
    Signed(actor): Signed,
    fields: FormFields,
) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let sent: serde_json::Map<String, serde_json::Value> =
        TrackingFieldSources::FIELDS.iter().map(|f| ((*f).to_owned(), json!(fields.get(f)))).collect();
    let mut settings = app.settings();
    match settings.tracking_field_sources.updated_from(&serde_json::Value::Object(sent)) {
        Ok(sources) => {
            settings.tracking_field_sources = sources;
            app.update_settings(&actor, settings).await?;
            Ok(done("/settings/write-keys", "field_sources_saved"))
        }
        Err(reason) => {
            let sources = Text::new("トラッキングで更新する項目", "Fields tracking may change").pick(lang);
            let errors = vec![format!("{sources}: {}", reason.message(lang))];
            let common = Common::new(lang, "/settings/write-keys").with_errors(errors);
            let shown = Shown { base_url: base_url(&headers, &options), draft: FormFields::default(), created: None };
            write_keys_page(&app, frame, common, shown).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_url_follows_the_host_and_the_proxy_scheme_and_refuses_odd_hosts() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "kizuna.example:8080".parse().unwrap());
        assert_eq!(base_url(&headers, &WebOptions::default()), "http://kizuna.example:8080");
        assert_eq!(
            base_url(&headers, &WebOptions { secure_cookies: true, ..WebOptions::default() }),
            "https://kizuna.example:8080"
        );
        headers.insert("x-forwarded-proto", "https".parse().unwrap());
        assert_eq!(base_url(&headers, &WebOptions::default()), "https://kizuna.example:8080");
        headers.insert(header::HOST, "evil.example/'".parse().unwrap());
        assert_eq!(base_url(&headers, &WebOptions::default()), "https://localhost");
    }
}
