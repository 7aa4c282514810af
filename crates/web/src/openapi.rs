//! The OpenAPI document, generated from the handlers' annotations. The committed copy
//! (`openapi.json` at the repository root) is checked against it by a test.

use crate::api::{accounts, contacts, interchange, settings, staff, subscriptions, timeline};
use axum::Json;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Kizuna API",
        description = "Customer success platform: accounts, contacts, subscriptions, staff and timeline."
    ),
    paths(
        accounts::list,
        accounts::create,
        accounts::read,
        accounts::replace,
        accounts::patch,
        accounts::delete,
        contacts::list,
        contacts::create,
        contacts::read,
        contacts::replace,
        contacts::patch,
        contacts::delete,
        subscriptions::list,
        subscriptions::create,
        subscriptions::read,
        subscriptions::replace,
        subscriptions::patch,
        subscriptions::delete,
        subscriptions::products,
        timeline::list,
        timeline::create,
        timeline::read,
        timeline::replace,
        timeline::patch,
        timeline::delete,
        staff::list_users,
        staff::create_user,
        staff::read_user,
        staff::replace_user,
        staff::patch_user,
        staff::delete_user,
        staff::list_teams,
        staff::create_team,
        staff::read_team,
        staff::replace_team,
        staff::patch_team,
        staff::delete_team,
        settings::read,
        settings::replace,
        interchange::import,
        interchange::export,
        crate::healthz,
    )
)]
pub struct ApiDoc;

/// The document as committed: pretty JSON with a trailing newline.
pub fn document() -> String {
    let mut text = ApiDoc::openapi()
        .to_pretty_json()
        .expect("the OpenAPI document serializes");
    text.push('\n');
    text
}

pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
