//! The REST API under `/api/v1`.

pub mod accounts;
pub mod contacts;
pub mod interchange;
pub mod settings;
pub mod staff;
pub mod subscriptions;
pub mod timeline;

use crate::AppState;
use axum::routing::get;
use axum::Router;
use serde::Serialize;

/// One page of a list and the number of all matches.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ListResponse<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

impl<T> ListResponse<T> {
    pub fn new(page: store::Page<T>, limit: i64, offset: i64) -> ListResponse<T> {
        ListResponse {
            items: page.items,
            total: page.total,
            limit,
            offset,
        }
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/accounts", get(accounts::list).post(accounts::create))
        .route(
            "/accounts/{id}",
            get(accounts::read)
                .put(accounts::replace)
                .patch(accounts::patch)
                .delete(accounts::delete),
        )
        .route("/contacts", get(contacts::list).post(contacts::create))
        .route(
            "/contacts/{id}",
            get(contacts::read)
                .put(contacts::replace)
                .patch(contacts::patch)
                .delete(contacts::delete),
        )
        .route(
            "/subscriptions",
            get(subscriptions::list).post(subscriptions::create),
        )
        .route(
            "/subscriptions/{id}",
            get(subscriptions::read)
                .put(subscriptions::replace)
                .patch(subscriptions::patch)
                .delete(subscriptions::delete),
        )
        .route("/products", get(subscriptions::products))
        .route("/timeline", get(timeline::list).post(timeline::create))
        .route(
            "/timeline/{id}",
            get(timeline::read)
                .put(timeline::replace)
                .patch(timeline::patch)
                .delete(timeline::delete),
        )
        .route("/users", get(staff::list_users).post(staff::create_user))
        .route(
            "/users/{id}",
            get(staff::read_user)
                .put(staff::replace_user)
                .patch(staff::patch_user)
                .delete(staff::delete_user),
        )
        .route("/teams", get(staff::list_teams).post(staff::create_team))
        .route(
            "/teams/{id}",
            get(staff::read_team)
                .put(staff::replace_team)
                .patch(staff::patch_team)
                .delete(staff::delete_team),
        )
        .route("/settings", get(settings::read).put(settings::replace))
        .route("/imports/{kind}", axum::routing::post(interchange::import))
        .route("/exports/{kind}", get(interchange::export))
}

/// Serializes a stored value back to JSON, as the base a PATCH body is merged onto.
pub(crate) fn to_value<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}
