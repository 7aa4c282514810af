//! `/api/v1/me/notifications` and `/api/v1/me/notification-preferences`: the signed-in user's
//! inbox, marking it read, and which channels each kind of notification reaches them on.

use crate::auth::Signed;
use crate::extract::{JsonBody, Path, QueryParams};
use crate::problem::{ApiError, Problem};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use domain::notifications::{NotificationPreferences, PreferencesInput};
use serde::Serialize;
use store::Notification;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Inbox {
    pub unread: i64,
    /// Newest first, at most 200.
    pub notifications: Vec<Notification>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MarkedRead {
    pub marked: u64,
    pub unread: i64,
}

/// The inbox: notifications shown in the app, newest first (`unread=true`: only unread ones).
#[utoipa::path(get, path = "/api/v1/me/notifications", tag = "notifications",
    params(("unread" = Option<bool>, Query, description = "Only unread notifications")),
    responses((status = 200, body = Inbox), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn inbox(
    State(app): State<AppState>,
    Signed(actor): Signed,
    mut params: QueryParams,
) -> Result<Json<Inbox>, ApiError> {
    let unread_only = params.parsed("unread", domain::interchange::parse_bool).unwrap_or(false);
    params.finish()?;
    let notifications = app.inbox(&actor, unread_only).await?;
    Ok(Json(Inbox { unread: app.unread_notifications(&actor).await?, notifications }))
}

/// Marks one of the user's notifications read (`marked` 0: already read, or not theirs).
#[utoipa::path(post, path = "/api/v1/me/notifications/{id}/read", tag = "notifications",
    params(("id" = i64, Path, description = "Notification id")),
    responses((status = 200, body = MarkedRead), (status = 403, body = Problem)))]
pub async fn mark_read(
    State(app): State<AppState>,
    Signed(actor): Signed,
    Path(id): Path<i64>,
) -> Result<Json<MarkedRead>, ApiError> {
    let marked = app.mark_notifications_read(&actor, Some(id)).await?;
    Ok(Json(MarkedRead { marked, unread: app.unread_notifications(&actor).await? }))
}

/// Marks every notification in the inbox read.
#[utoipa::path(post, path = "/api/v1/me/notifications/read-all", tag = "notifications",
    responses((status = 200, body = MarkedRead), (status = 403, body = Problem)))]
pub async fn mark_all_read(State(app): State<AppState>, Signed(actor): Signed) -> Result<Json<MarkedRead>, ApiError> {
    let marked = app.mark_notifications_read(&actor, None).await?;
    Ok(Json(MarkedRead { marked, unread: app.unread_notifications(&actor).await? }))
}

/// The user's choices: channels per kind (a kind left out reaches the inbox only), the Slack
/// webhook (masked), the digest and the language of emails and Slack posts.
#[utoipa::path(get, path = "/api/v1/me/notification-preferences", tag = "notifications",
    responses((status = 200, body = NotificationPreferences), (status = 403, body = Problem)))]
pub async fn preferences(
    State(app): State<AppState>,
    Signed(actor): Signed,
) -> Result<Json<NotificationPreferences>, ApiError> {
    Ok(Json(app.notification_preferences(&actor).await?))
}

/// Replaces the user's choices: `{"channels": {"grade_dropped": ["in_app", "email"]},
/// "slack_webhook": "https://hooks.slack.com/…", "digest": "daily", "digest_hour": 8,
/// "language": "ja"}`. `slack_webhook` absent or `********` keeps it, `""` removes it.
#[utoipa::path(put, path = "/api/v1/me/notification-preferences", tag = "notifications", request_body = Object,
    responses((status = 200, body = NotificationPreferences), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn set_preferences(
    State(app): State<AppState>,
    Signed(actor): Signed,
    JsonBody(body): JsonBody,
) -> Result<Json<NotificationPreferences>, ApiError> {
    let input = PreferencesInput::parse(body)?;
    Ok(Json(app.set_notification_preferences(&actor, input).await?))
}
