//! The OpenAPI document, generated from the handlers' annotations. The committed copy
//! (`openapi.json` at the repository root) is checked against it by a test.

use crate::api::{
    accounts, audit, contacts, feedback, health, interchange, me, metrics, onboarding, playbooks, renewals, segments,
    settings, staff, subscriptions, tasks, timeline, tokens, tracking, usage,
};
use axum::Json;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Kizuna API",
        description = "Customer success platform: accounts, contacts, subscriptions, staff and timeline. Authenticate with a session cookie (send its CSRF token as X-CSRF-Token with changes) or with `Authorization: Bearer <API token>`."
    ),
    modifiers(&BearerAuth),
    security(("bearer" = []), ("session" = [])),
    paths(
        accounts::list,
        accounts::lookup,
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
        tasks::list,
        tasks::create,
        tasks::read,
        tasks::patch,
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
        me::sign_in,
        me::sign_out,
        me::read,
        me::change_password,
        tokens::list,
        tokens::create,
        tokens::revoke,
        tokens::list_write_keys,
        tokens::refused_messages,
        tokens::create_write_key,
        tokens::revoke_write_key,
        tokens::update_write_key,
        audit::list,
        audit::export,
        metrics::report,
        metrics::retention,
        metrics::movements,
        metrics::cohort_table,
        metrics::unit_economics,
        metrics::account_history,
        metrics::spend,
        playbooks::list,
        playbooks::create,
        playbooks::read,
        playbooks::replace,
        playbooks::delete,
        playbooks::runs,
        playbooks::scan,
        playbooks::outbox,
        playbooks::send,
        playbooks::retry,
        playbooks::discard,
        playbooks::edit,
        metrics::set_spend,
        metrics::delete_spend,
        tracking::identify,
        tracking::track,
        tracking::page,
        tracking::screen,
        tracking::group,
        tracking::alias,
        tracking::batch,
        tracking::import,
        usage::list,
        usage::create,
        usage::read,
        usage::replace,
        usage::patch,
        usage::delete,
        usage::account_usage,
        usage::account_events,
        usage::account_features,
        usage::account_activity,
        usage::end_users,
        usage::adoption,
        health::account,
        health::grades,
        health::config,
        health::replace_config,
        health::replace_weights,
        health::backtest,
        health::history,
        health::drops,
        health::set_pulse,
        health::pulses,
        health::recompute,
        segments::list,
        segments::create,
        segments::read,
        segments::replace,
        segments::delete,
        segments::members,
        segments::history,
        segments::preview,
        onboarding::list_templates,
        onboarding::create_template,
        onboarding::read_template,
        onboarding::replace_template,
        onboarding::delete_template,
        onboarding::plans,
        onboarding::start,
        onboarding::complete,
        onboarding::stats,
        renewals::list,
        renewals::of_account,
        renewals::set_call,
        renewals::accuracy,
        renewals::snapshot,
        renewals::model,
        renewals::refit,
        feedback::list,
        feedback::release_notes,
        feedback::webhook,
        feedback::set_webhook,
        feedback::delete_webhook,
        feedback::create,
        feedback::read,
        feedback::replace,
        feedback::set_status,
        feedback::add_evidence,
        feedback::remove_evidence,
        feedback::merge,
        feedback::of_account,
    )
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

/// The document as committed: pretty JSON with a trailing newline.
pub fn document() -> String {
    let mut text = ApiDoc::openapi().to_pretty_json().expect("the OpenAPI document serializes");
    text.push('\n');
    text
}

pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
