//! The OpenAPI document, generated from the handlers' annotations of the routes in the route
//! table (`routes.rs`). The committed copy (`openapi.json` at the repository root) is checked
//! against it by a test.

use axum::Json;
use std::sync::LazyLock;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Kizuna API",
        description = "Customer success platform: accounts, contacts, subscriptions, staff and timeline. Authenticate with a session cookie (send its CSRF token as X-CSRF-Token with changes) or with `Authorization: Bearer <API token>`."
    ),
    modifiers(&BearerAuth),
    security(("bearer" = []), ("session" = []))
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components
            .add_security_scheme("session", SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("kizuna_session"))));
    }
}

/// The API's description with every documented route of the route table.
/// Collected once: building the route table for every request to `/api/openapi.json` would be
/// wasted work, as the table cannot change while the binary runs.
static API_DOC: LazyLock<utoipa::openapi::OpenApi> = LazyLock::new(|| {
    let mut doc = ApiDoc::openapi();
    let table = crate::routes::table();
    doc.paths = table.paths;
    doc.components.get_or_insert_with(Default::default).schemas.extend(table.schemas);
    doc
});

/// The document as committed: pretty JSON with a trailing newline.
pub fn document() -> String {
    let mut text = API_DOC.to_pretty_json().expect("the OpenAPI document serializes");
    text.push('\n');
    text
}

pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(API_DOC.clone())
}
