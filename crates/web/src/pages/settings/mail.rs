//! `/settings/mail`: the SMTP server every email goes through (playbook emails, notifications,
//! digests), its password write-only, and a test email to check it.

use super::{done, notice, refused, Common};
use crate::auth::Signed;
use crate::extract::{FormFields, QueryParams};
use crate::pages::{choices, render, Choice, Frame};
use crate::problem::ApiError;
use crate::AppState;
use app::mail::MailSettingsView;
use app::AppError;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::i18n::{Lang, Text};
use domain::mail::{MailSecurity, MailServerInput};
use serde_json::{json, Map, Value};

#[derive(Template)]
#[template(path = "settings_mail.html")]
pub struct MailPage {
    pub frame: Frame,
    pub common: Common,
    pub view: MailSettingsView,
    /// What the form shows: the stored settings, or after a refusal what was sent.
    pub host: String,
    pub port: String,
    pub security: Vec<Choice>,
    pub username: String,
    pub sender_address: String,
    pub sender_name: String,
    pub trusted_certificate: String,
    pub test_to: String,
}

fn label(field: &str, lang: Lang) -> &'static str {
    let text = match field {
        "host" => Text::new("SMTP サーバー", "SMTP server"),
        "port" => Text::new("ポート", "Port"),
        "security" => Text::new("暗号化", "Encryption"),
        "username" => Text::new("ユーザー名", "User name"),
        "password" => Text::new("パスワード", "Password"),
        "sender_address" => Text::new("送信元アドレス", "Sender address"),
        "sender_name" => Text::new("送信者名", "Sender name"),
        "trusted_certificate" => Text::new("追加で信頼する証明書（PEM）", "Extra trusted certificate (PEM)"),
        "to" => Text::new("テストメールの宛先", "Send the test to"),
        _ => Text::new("入力", "Input"),
    };
    text.pick(lang)
}

async fn mail_page(
    app: &AppState,
    frame: Frame,
    common: Common,
    status: StatusCode,
    sent: Option<&FormFields>,
) -> Result<Response, ApiError> {
    let view = app.mail_settings(&frame.actor).await?;
    let value =
        |name: &str, stored: Option<String>| sent.map_or(stored.unwrap_or_default(), |f| f.get(name).to_owned());
    let chosen = sent
        .map(|f| f.get("security").to_owned())
        .or(view.security.map(|s| s.as_str().to_owned()))
        .unwrap_or_else(|| MailSecurity::StartTls.as_str().to_owned());
    let security = choices(
        MailSecurity::ALL.iter().map(|s| (s.as_str().to_owned(), s.label(frame.lang).to_owned())),
        Some(&chosen),
    );
    let me = match &frame.actor {
        app::Actor::Staff { user, .. } => user.input.email.to_string(),
        app::Actor::System(_) => String::new(),
    };
    let page = MailPage {
        host: value("host", view.host.clone()),
        port: value("port", view.port.map(|p| p.to_string())),
        security,
        username: value("username", view.username.clone()),
        sender_address: value("sender_address", view.sender_address.clone()),
        sender_name: value("sender_name", view.sender_name.clone()),
        trusted_certificate: value("trusted_certificate", view.trusted_certificate.clone()),
        test_to: me,
        view,
        frame: frame.at("settings"),
        common,
    };
    let status = if page.common.errors.is_empty() { StatusCode::OK } else { status };
    Ok((status, render(&page, "settings mail")?).into_response())
}

pub async fn mail(State(app): State<AppState>, frame: Frame, params: QueryParams) -> Result<Response, ApiError> {
    let common = Common::new(frame.lang, "/settings/mail").with_notice(notice(params.text("done"), frame.lang));
    mail_page(&app, frame, common, StatusCode::OK, None).await
}

/// Saves the server. An empty password keeps the stored one; "remove the password" clears it.
pub async fn save_mail(
    State(app): State<AppState>,
    frame: Frame,
    Signed(actor): Signed,
    fields: FormFields,
) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let mut body = Map::new();
    for name in ["host", "port", "security", "username", "sender_address", "sender_name", "trusted_certificate"] {
        body.insert(name.to_owned(), json!(fields.get(name)));
    }
    if !fields.get("clear_password").is_empty() {
        body.insert("password".into(), json!(""));
    } else if !fields.get("password").is_empty() {
        body.insert("password".into(), json!(fields.get("password")));
    }
    let saved = async {
        let input = MailServerInput::parse(Value::Object(body))?;
        Ok::<_, ApiError>(app.set_mail_settings(&actor, Some(input)).await?)
    }
    .await;
    match saved {
        Ok(_) => Ok(done("/settings/mail", "mail_saved")),
        Err(error) => {
            let errors = refused(error, lang, |f| label(f, lang))?;
            let common = Common::new(lang, "/settings/mail").with_errors(errors);
            mail_page(&app, frame, common, StatusCode::UNPROCESSABLE_ENTITY, Some(&fields)).await
        }
    }
}

/// Removes the saved server (the configuration file's applies again).
pub async fn remove_mail(State(app): State<AppState>, Signed(actor): Signed) -> Result<Response, ApiError> {
    app.set_mail_settings(&actor, None).await?;
    Ok(done("/settings/mail", "mail_removed"))
}

/// Sends a test email; a failure is shown with the server's reason, in the reader's language.
pub async fn send_test(
    State(app): State<AppState>,
    frame: Frame,
    Signed(actor): Signed,
    fields: FormFields,
) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let sent = async {
        let to = domain::Email::parse(fields.get("to")).map_err(|reason| AppError::invalid("to", reason))?;
        app.send_test_email(&actor, &to).await
    }
    .await;
    let (errors, status) = match sent {
        Ok(()) => return Ok(done("/settings/mail", "mail_test_sent")),
        Err(AppError::Undelivered(reason)) => (vec![reason.pick(lang).to_owned()], StatusCode::BAD_GATEWAY),
        Err(AppError::MailNotConfigured) => {
            (vec![domain::playbooks::mail::MailFailure::NotConfigured.message(lang)], StatusCode::CONFLICT)
        }
        Err(error) => (refused(error.into(), lang, |f| label(f, lang))?, StatusCode::UNPROCESSABLE_ENTITY),
    };
    let common = Common::new(lang, "/settings/mail").with_errors(errors);
    mail_page(&app, frame, common, status, Some(&fields)).await
}
