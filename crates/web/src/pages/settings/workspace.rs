//! `/settings/workspace` (currency, time zone, fiscal year, gross margin) and `/settings/spend`
//! (sales & marketing spend per month, which CAC and payback divide).

use super::{done, notice, refused, Common};
use crate::api::metrics::{parse_spend, parse_spend_month};
use crate::auth::Signed;
use crate::extract::{FormFields, QueryParams};
use crate::pages::{format, render, Frame};
use crate::problem::ApiError;
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use domain::i18n::{Lang, Text};
use domain::settings::{parse_field_labels, WorkspaceSettings};
use serde_json::{json, Value};

pub struct MonthOption {
    pub value: u32,
    pub label: String,
}

/// A workspace setting as the form names it, for what was refused.
fn workspace_field(field: &str, lang: Lang) -> &'static str {
    let text = match field {
        "currency" => Text::new("通貨", "Currency"),
        "monthly_contracts_renew" => {
            Text::new("月契約も毎月の更新として扱う", "Treat month-to-month contracts as renewing monthly")
        }
        "time_zone" => Text::new("タイムゾーン", "Time zone"),
        "fiscal_year_start_month" => Text::new("会計年度の開始月", "Fiscal year starts in"),
        "request_impact_weights" => {
            Text::new("製品リクエストのインパクトの重み（0〜10）", "Product request impact weights (0–10)")
        }
        _ => Text::new("粗利率", "Gross margin"),
    };
    text.pick(lang)
}

#[derive(Template)]
#[template(path = "settings_workspace.html")]
pub struct WorkspacePage {
    pub frame: Frame,
    pub common: Common,
    pub currency: String,
    pub time_zone: String,
    pub fiscal_year_start_month: String,
    pub gross_margin: String,
    pub monthly_contracts_renew: bool,
    pub months: Vec<MonthOption>,
    /// Product request impact weights: (form name, label, value).
    pub weights: Vec<(&'static str, &'static str, String)>,
    /// Where product request status changes are posted (an issue tracker), its secret masked.
    pub webhook: app::feedback::WebhookView,
    /// Each custom field the accounts carry, with its names on screen.
    pub custom_fields: Vec<CustomFieldRow>,
}

/// A custom field's key and the names the form shows for it (stored, or as sent).
pub struct CustomFieldRow {
    pub key: String,
    pub ja: String,
    pub en: String,
}

/// The impact weights' form fields, keys of `ImpactWeights`, with their labels.
const WEIGHT_FIELDS: [(&str, &str, &str); 5] = [
    ("nice_to_have", "あれば嬉しい", "Nice to have"),
    ("important", "重要", "Important"),
    ("blocker", "ないと困る", "Blocker"),
    ("at_risk", "リスク顧客（加算）", "At risk (added)"),
    ("renewing_soon", "180日以内に更新（加算）", "Renewing within 180 days (added)"),
];

fn weight_of(weights: &domain::feedback::ImpactWeights, key: &str) -> rust_decimal::Decimal {
    match key {
        "nice_to_have" => weights.nice_to_have,
        "important" => weights.important,
        "blocker" => weights.blocker,
        "at_risk" => weights.at_risk,
        _ => weights.renewing_soon,
    }
}

fn month_name(month: u32, lang: Lang) -> String {
    match lang {
        Lang::Ja => format!("{month} 月"),
        Lang::En => {
            chrono::NaiveDate::from_ymd_opt(2000, month, 1).map_or(month.to_string(), |d| d.format("%B").to_string())
        }
    }
}

/// The form, filled with the stored settings or, after a refusal, with what was sent.
async fn workspace_page(
    app: &AppState,
    frame: Frame,
    common: Common,
    sent: Option<&FormFields>,
) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let stored = app.settings();
    let webhook = app.request_webhook().await?;
    let custom_fields = app
        .custom_field_keys()
        .await?
        .into_iter()
        .take(domain::settings::MAX_NAMED_FIELDS)
        .enumerate()
        .map(|(i, key)| {
            let label = stored.custom_field_labels.get(&key).cloned().unwrap_or_default();
            let name = |lang: &str, stored: Option<String>| {
                sent.filter(|f| f.get(&format!("field.{i}.key")) == key)
                    .map_or(stored.unwrap_or_default(), |f| f.get(&format!("field.{i}.{lang}")).to_owned())
            };
            CustomFieldRow { ja: name("ja", label.ja), en: name("en", label.en), key }
        })
        .collect();
    let value = |name: &str, stored: String| sent.map_or(stored, |f| f.get(name).to_owned());
    let page = WorkspacePage {
        frame: frame.at("settings"),
        common,
        currency: value("currency", stored.currency.as_str().to_owned()),
        time_zone: value("time_zone", stored.time_zone.clone()),
        fiscal_year_start_month: value("fiscal_year_start_month", stored.fiscal_year_start_month.to_string()),
        gross_margin: value("gross_margin", stored.gross_margin.normalize().to_string()),
        monthly_contracts_renew: sent
            .map_or(stored.monthly_contracts_renew, |f| !f.get("monthly_contracts_renew").is_empty()),
        months: (1..=12).map(|m| MonthOption { value: m, label: month_name(m, lang) }).collect(),
        weights: WEIGHT_FIELDS
            .iter()
            .map(|(key, ja, en)| {
                let stored = weight_of(&stored.request_impact_weights, key).normalize().to_string();
                (
                    *key,
                    Text::new(ja, en).pick(lang),
                    sent.map_or(stored, |f| f.get(&format!("weight_{key}")).to_owned()),
                )
            })
            .collect(),
        webhook,
        custom_fields,
    };
    let status = page.common.status();
    Ok((status, render(&page, "settings workspace")?).into_response())
}

pub async fn workspace(State(app): State<AppState>, frame: Frame, params: QueryParams) -> Result<Response, ApiError> {
    let common = Common::new(frame.lang, "/settings/workspace").with_notice(notice(params.text("done"), frame.lang));
    workspace_page(&app, frame, common, None).await
}

/// Saves the settings; the stages, which this form does not show, stay as they are.
pub async fn save_workspace(
    State(app): State<AppState>,
    frame: Frame,
    Signed(actor): Signed,
    fields: FormFields,
) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let saved = async {
        let settings = WorkspaceSettings::from_json(
            json!({
                "currency": fields.get("currency"),
                "time_zone": fields.get("time_zone"),
                "fiscal_year_start_month": fields.get("fiscal_year_start_month"),
                "gross_margin": fields.get("gross_margin"),
                "stages": app.settings().stages,
                "monthly_contracts_renew": !fields.get("monthly_contracts_renew").is_empty(),
                "request_impact_weights": WEIGHT_FIELDS
                    .iter()
                    .map(|(key, ..)| (key.to_string(), fields.get(&format!("weight_{key}")).trim().to_owned()))
                    .filter(|(_, value)| !value.is_empty())
                    .map(|(key, value)| (key, json!(value)))
                    .collect::<serde_json::Map<_, _>>(),
            }),
            &app.settings(),
        )?;
        Ok::<_, ApiError>(app.update_settings(&actor, settings).await?)
    }
    .await;
    match saved {
        Ok(_) => Ok(done("/settings/workspace", "settings_saved")),
        Err(error) => {
            let errors = refused(error, lang, |f| workspace_field(f, lang))?;
            workspace_page(&app, frame, Common::new(lang, "/settings/workspace").with_errors(errors), Some(&fields))
                .await
        }
    }
}

pub struct SpendRow {
    pub month: String,
    pub amount: String,
}

/// A spend field as the form names it, for what was refused.
fn spend_field(field: &str, lang: Lang) -> &'static str {
    let text = match field {
        "month" => Text::new("月（YYYY-MM）", "Month (YYYY-MM)"),
        _ => Text::new("金額", "Amount"),
    };
    text.pick(lang)
}

#[derive(Template)]
#[template(path = "settings_spend.html")]
pub struct SpendPage {
    pub frame: Frame,
    pub common: Common,
    pub rows: Vec<SpendRow>,
    pub currency: String,
    pub draft: FormFields,
}

async fn spend_page(app: &AppState, frame: Frame, common: Common, draft: FormFields) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let currency = app.settings().currency;
    let rows = app
        .spend_by_month()
        .await?
        .into_iter()
        .rev()
        .map(|(month, amount)| SpendRow { month: month.to_string(), amount: format::money(amount, &currency, lang) })
        .collect();
    let page = SpendPage { frame: frame.at("settings"), common, rows, currency: currency.as_str().to_owned(), draft };
    let status = page.common.status();
    Ok((status, render(&page, "settings spend")?).into_response())
}

pub async fn spend(State(app): State<AppState>, frame: Frame, params: QueryParams) -> Result<Response, ApiError> {
    let common = Common::new(frame.lang, "/settings/spend").with_notice(notice(params.text("done"), frame.lang));
    spend_page(&app, frame, common, FormFields::default()).await
}

pub async fn set_spend(
    State(app): State<AppState>,
    frame: Frame,
    Signed(actor): Signed,
    fields: FormFields,
) -> Result<Response, ApiError> {
    let saved = async {
        let (month, amount) = parse_spend(fields.get("month"), json!({"amount": fields.get("amount")}))?;
        Ok::<_, ApiError>(app.set_spend(&actor, month, Some(amount)).await?)
    }
    .await;
    refused_or_done(app, frame, fields, saved, "spend_saved").await
}

pub async fn remove_spend(
    State(app): State<AppState>,
    frame: Frame,
    Signed(actor): Signed,
    fields: FormFields,
) -> Result<Response, ApiError> {
    let removed = async {
        let month = parse_spend_month(fields.get("month"))?;
        Ok::<_, ApiError>(app.set_spend(&actor, month, None).await?)
    }
    .await;
    refused_or_done(app, frame, FormFields::default(), removed, "spend_removed").await
}

async fn refused_or_done(
    app: AppState,
    frame: Frame,
    draft: FormFields,
    result: Result<(), ApiError>,
    what: &str,
) -> Result<Response, ApiError> {
    match result {
        Ok(()) => Ok(done("/settings/spend", what)),
        Err(error) => {
            let lang = frame.lang;
            let errors = refused(error, lang, |f| spend_field(f, lang))?;
            spend_page(&app, frame, Common::new(lang, "/settings/spend").with_errors(errors), draft).await
        }
    }
}

/// Sets where product request status changes are posted, or removes it (`remove`). A new
/// webhook needs a secret; an empty secret keeps the stored one.
pub async fn set_request_webhook(
    State(app): State<AppState>,
    frame: Frame,
    Signed(actor): Signed,
    fields: FormFields,
) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let saved = async {
        if !fields.get("remove").is_empty() {
            return Ok::<_, ApiError>(app.set_request_webhook(&actor, None).await?);
        }
        let mut body = json!({"url": fields.get("webhook_url")});
        if !fields.get("webhook_secret").is_empty() {
            body["secret"] = json!(fields.get("webhook_secret"));
        }
        let input = domain::feedback::WebhookInput::parse(body)?;
        Ok(app.set_request_webhook(&actor, Some(input)).await?)
    }
    .await;
    match saved {
        Ok(_) => Ok(done("/settings/workspace", "request_webhook_saved")),
        Err(error) => {
            let errors = refused(error, lang, |field| match field {
                "secret" => Text::new("署名の秘密鍵", "Signing secret").pick(lang),
                _ => Text::new("Webhook の URL", "Webhook URL").pick(lang),
            })?;
            workspace_page(&app, frame, Common::new(lang, "/settings/workspace").with_errors(errors), None).await
        }
    }
}

/// Saves the names the custom fields show on screen (`field.N.key`, `field.N.ja`, `field.N.en`);
/// the rest of the settings stay as they are.
pub async fn save_custom_fields(
    State(app): State<AppState>,
    frame: Frame,
    Signed(actor): Signed,
    fields: FormFields,
) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let mut labels = serde_json::Map::new();
    for i in 0..=domain::settings::MAX_NAMED_FIELDS {
        let key = fields.get(&format!("field.{i}.key"));
        if key.is_empty() {
            continue;
        }
        let name =
            |part: &str| Some(fields.get(&format!("field.{i}.{part}")).to_owned()).filter(|v| !v.trim().is_empty());
        labels.insert(key.to_owned(), json!({"ja": name("ja"), "en": name("en")}));
    }
    let saved = async {
        let mut errors = domain::validation::Errors::new();
        let labels = parse_field_labels(&Value::Object(labels), &mut errors);
        let custom_field_labels = errors.finish(|| labels).map_err(ApiError::Fields)?;
        let settings = WorkspaceSettings { custom_field_labels, ..app.settings() };
        Ok::<_, ApiError>(app.update_settings(&actor, settings).await?)
    }
    .await;
    match saved {
        Ok(_) => Ok(done("/settings/workspace", "custom_fields_saved")),
        Err(ApiError::Fields(errors) | ApiError::App(app::AppError::Invalid(errors))) => {
            let lines = errors.iter().map(|e| custom_field_error(e, lang)).collect();
            workspace_page(&app, frame, Common::new(lang, "/settings/workspace").with_errors(lines), Some(&fields))
                .await
        }
        Err(other) => Err(other),
    }
}

/// "Custom field dept (Japanese): at most 100 characters", from `custom_field_labels.dept.ja`.
fn custom_field_error(error: &domain::FieldError, lang: Lang) -> String {
    let path = error.field.strip_prefix("custom_field_labels").unwrap_or(&error.field).trim_start_matches('.');
    let (key, language) = match path.rsplit_once('.') {
        Some((key, "ja")) => (key, Text::new("（日本語）", " (Japanese)").pick(lang)),
        Some((key, "en")) => (key, Text::new("（英語）", " (English)").pick(lang)),
        _ => (path, ""),
    };
    let field = Text::new("カスタム項目", "Custom field").pick(lang);
    format!("{field} {key}{language}: {}", error.reason.message(lang))
}
