//! `/api/v1/settings`: workspace currency, time zone, fiscal year, gross margin, stages and which
//! source wins per account field over tracking traits.

use crate::auth::Signed;
use crate::body::Fields;
use crate::extract::JsonBody;
use crate::problem::{ApiError, Problem};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use domain::fields::FieldReader;
use domain::settings::WorkspaceSettings;
use domain::Reason;

#[utoipa::path(get, path = "/api/v1/settings", tag = "settings", responses((status = 200, body = WorkspaceSettings)))]
pub async fn read(State(app): State<AppState>) -> Json<WorkspaceSettings> {
    Json(app.settings())
}

/// Replaces the workspace settings; a new time zone recomputes every account's figures.
#[utoipa::path(put, path = "/api/v1/settings", tag = "settings", request_body = WorkspaceSettings,
    responses((status = 200, body = WorkspaceSettings), (status = 422, body = Problem)))]
pub async fn replace(
    State(app): State<AppState>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<Json<WorkspaceSettings>, ApiError> {
    Ok(Json(app.update_settings(&actor, WorkspaceSettings::from_json(body, &app.settings())?).await?))
}

/// The SMTP server emails go through, its password masked; `source` says whether it was saved
/// here (`app`), comes from the configuration file (`config`) or is missing (`none`).
#[utoipa::path(get, path = "/api/v1/settings/mail", tag = "settings",
    responses((status = 200, body = app::mail::MailSettingsView), (status = 403, body = Problem)))]
pub async fn mail(
    State(app): State<AppState>,
    Signed(actor): Signed,
) -> Result<Json<app::mail::MailSettingsView>, ApiError> {
    Ok(Json(app.mail_settings(&actor).await?))
}

/// Saves the SMTP server: `{"host": "smtp.example.com", "port": 587, "security": "starttls",
/// "username": "…", "password": "…", "sender_address": "cs@example.com", "sender_name": "CS",
/// "trusted_certificate": "-----BEGIN CERTIFICATE-----…"}`. `security` is `none`, `starttls`
/// (default) or `tls`; the port defaults to 25, 587 or 465 by it. `password` absent or
/// `********` keeps the stored one, `""` removes it.
#[utoipa::path(put, path = "/api/v1/settings/mail", tag = "settings", request_body = Object,
    responses((status = 200, body = app::mail::MailSettingsView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn set_mail(
    State(app): State<AppState>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<Json<app::mail::MailSettingsView>, ApiError> {
    let input = domain::mail::MailServerInput::parse(body)?;
    Ok(Json(app.set_mail_settings(&actor, Some(input)).await?))
}

/// Removes the saved SMTP server; the configuration file's `smtp_url`, if any, applies again.
#[utoipa::path(delete, path = "/api/v1/settings/mail", tag = "settings",
    responses((status = 200, body = app::mail::MailSettingsView), (status = 403, body = Problem)))]
pub async fn delete_mail(
    State(app): State<AppState>,
    Signed(actor): Signed,
) -> Result<Json<app::mail::MailSettingsView>, ApiError> {
    Ok(Json(app.set_mail_settings(&actor, None).await?))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct TestEmailSent {
    pub sent_to: String,
}

/// Sends a test email through the current server: `{"to": "me@example.com"}` (default: the
/// signed-in administrator). 502 with the server's reason when it fails, 409 without a server.
#[utoipa::path(post, path = "/api/v1/settings/mail/test", tag = "settings", request_body = Object,
    responses((status = 200, body = TestEmailSent), (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem), (status = 502, body = Problem)))]
pub async fn test_mail(
    State(app): State<AppState>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<Json<TestEmailSent>, ApiError> {
    let mut f = Fields::new(body, &["to"])?;
    let to = f.parsed("to", domain::Email::parse);
    f.errors.finish(|| Some(()))?;
    let to = match to.flatten() {
        Some(to) => to,
        None => match &actor {
            app::Actor::Staff { user, .. } => user.input.email.clone(),
            app::Actor::System(_) => return Err(app::AppError::invalid("to", Reason::Required).into()),
        },
    };
    app.send_test_email(&actor, &to).await?;
    Ok(Json(TestEmailSent { sent_to: to.to_string() }))
}
