//! Every route, with the access it requires, in one table. The router is built only from this
//! table, so no route can exist without a declared access level, and the route-walking test
//! (`tests/access.rs`) checks each entry.

use crate::api::{
    accounts, audit, contacts, feedback, health, interchange, me, metrics, notifications, onboarding, playbooks,
    renewals, segments, settings, staff, subscriptions, tasks, timeline, tokens, tracking, usage,
};
use crate::auth::{guard, Guard, Surface};
use crate::{openapi, pages, AppState};
use axum::http::Method;
use axum::routing::{delete, get, patch, post, put, MethodRouter};
use axum::Router;
use domain::access::Access;

#[derive(Debug, Clone)]
pub struct RouteSpec {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    pub surface: Surface,
}

struct Table {
    app: AppState,
    router: Router<AppState>,
    specs: Vec<RouteSpec>,
}

impl Table {
    fn add(
        mut self,
        method: Method,
        path: &'static str,
        access: Access,
        surface: Surface,
        handler: MethodRouter<AppState>,
    ) -> Table {
        let guard_state = Guard { app: self.app.clone(), access, surface };
        let guarded = handler.layer(axum::middleware::from_fn_with_state(guard_state, guard));
        self.router = self.router.route(path, guarded);
        self.specs.push(RouteSpec { method, path, access, surface });
        self
    }

    fn api(self, method: Method, path: &'static str, access: Access, handler: MethodRouter<AppState>) -> Table {
        self.add(method, path, access, Surface::Api, handler)
    }

    fn page(self, method: Method, path: &'static str, access: Access, handler: MethodRouter<AppState>) -> Table {
        self.add(method, path, access, Surface::Page, handler)
    }

    /// A tracking route: a POST with a write key, which browsers may also ask about (CORS preflight).
    fn tracking(self, path: &'static str, handler: MethodRouter<AppState>) -> Table {
        let handler = handler.layer(axum::middleware::from_fn(tracking::cors));
        self.add(Method::POST, path, Access::Tracking, Surface::Api, handler)
    }
}

/// The router and the table it was built from.
pub fn build(app: AppState) -> (Router<AppState>, Vec<RouteSpec>) {
    use Access::{Admin, Contribute, Manage, Own, Public, Read, Write};
    use Method as M;
    let table = Table { app, router: Router::new(), specs: Vec::new() }
        .page(M::GET, "/login", Public, get(pages::login::form))
        .page(M::POST, "/login", Public, post(pages::login::submit))
        .page(M::GET, "/setup/{token}", Public, get(pages::setup::form))
        .page(M::POST, "/setup/{token}", Public, post(pages::setup::submit))
        .page(M::POST, "/logout", Read, post(pages::login::logout))
        .page(M::GET, "/assets/{file}", Public, get(pages::assets::serve))
        .page(M::GET, "/lang/{code}", Public, get(pages::layout::switch))
        .page(M::GET, "/", Read, get(pages::home::page))
        .page(M::GET, "/accounts", Read, get(pages::accounts::list::page))
        .page(M::GET, "/accounts.csv", Read, get(pages::accounts::list::export))
        .page(M::POST, "/accounts/views", Own, post(pages::accounts::list::save_view))
        .page(M::POST, "/accounts/views/{id}/delete", Own, post(pages::accounts::list::delete_view))
        .page(M::GET, "/accounts/{id}", Read, get(pages::accounts::show::page))
        .page(M::POST, "/accounts/{id}/timeline", Write, post(pages::accounts::show::add_entry))
        .page(M::POST, "/accounts/{id}/pulse", Write, post(pages::accounts::show::set_pulse))
        .page(M::GET, "/imports", Manage, get(pages::imports::page))
        .page(M::POST, "/imports", Manage, post(pages::imports::upload))
        .page(M::GET, "/imports/{token}", Manage, get(pages::imports::check))
        .page(M::POST, "/imports/{token}/run", Manage, post(pages::imports::run))
        .page(M::POST, "/imports/{token}/drop", Manage, post(pages::imports::drop_file))
        .page(M::GET, "/notifications", Read, get(pages::notifications::inbox))
        .page(M::POST, "/notifications/read-all", Own, post(pages::notifications::mark_all_read))
        .page(M::POST, "/notifications/{id}/read", Own, post(pages::notifications::mark_read))
        .page(M::GET, "/notifications/settings", Read, get(pages::notifications::settings))
        .page(M::POST, "/notifications/settings", Own, post(pages::notifications::save_settings))
        .page(M::GET, "/settings", Admin, get(pages::settings::index))
        .page(M::GET, "/settings/users", Admin, get(pages::settings::staff::users))
        .page(M::POST, "/settings/users", Admin, post(pages::settings::staff::add_user))
        .page(M::POST, "/settings/users/{id}", Admin, post(pages::settings::staff::update_user))
        .page(M::GET, "/settings/teams", Admin, get(pages::settings::staff::teams))
        .page(M::POST, "/settings/teams", Admin, post(pages::settings::staff::create_team))
        .page(M::POST, "/settings/teams/{id}", Admin, post(pages::settings::staff::rename_team))
        .page(M::GET, "/settings/tokens", Admin, get(pages::settings::keys::tokens))
        .page(M::POST, "/settings/tokens", Admin, post(pages::settings::keys::create_token))
        .page(M::POST, "/settings/tokens/{id}/revoke", Admin, post(pages::settings::keys::revoke_token))
        .page(M::GET, "/settings/write-keys", Admin, get(pages::settings::keys::write_keys))
        .page(M::POST, "/settings/write-keys", Admin, post(pages::settings::keys::create_write_key))
        .page(M::POST, "/settings/write-keys/{id}/revoke", Admin, post(pages::settings::keys::revoke_write_key))
        .page(M::POST, "/settings/write-keys/{id}/origins", Admin, post(pages::settings::keys::set_write_key_origins))
        .page(M::POST, "/settings/write-keys/field-sources", Admin, post(pages::settings::keys::set_field_sources))
        .page(M::GET, "/settings/features", Admin, get(pages::settings::catalog::features))
        .page(M::POST, "/settings/features", Admin, post(pages::settings::catalog::apply))
        .page(M::GET, "/settings/workspace", Admin, get(pages::settings::workspace::workspace))
        .page(M::POST, "/settings/workspace", Admin, post(pages::settings::workspace::save_workspace))
        .page(M::GET, "/settings/mail", Admin, get(pages::settings::mail::mail))
        .page(M::POST, "/settings/mail", Admin, post(pages::settings::mail::save_mail))
        .page(M::POST, "/settings/mail/remove", Admin, post(pages::settings::mail::remove_mail))
        .page(M::POST, "/settings/mail/test", Admin, post(pages::settings::mail::send_test))
        .page(M::GET, "/settings/spend", Admin, get(pages::settings::workspace::spend))
        .page(M::POST, "/settings/spend", Admin, post(pages::settings::workspace::set_spend))
        .page(M::POST, "/settings/spend/remove", Admin, post(pages::settings::workspace::remove_spend))
        .page(M::GET, "/playbooks", Read, get(pages::playbooks::list))
        .page(M::POST, "/playbooks", Manage, post(pages::playbooks::create))
        .page(M::GET, "/playbooks/new", Manage, get(pages::playbooks::new_form))
        .page(M::GET, "/playbooks/{id}", Read, get(pages::playbooks::show))
        .page(M::POST, "/playbooks/{id}", Manage, post(pages::playbooks::update))
        .page(M::POST, "/playbooks/{id}/delete", Manage, post(pages::playbooks::delete))
        .page(M::GET, "/onboarding", Read, get(pages::onboarding::board))
        .page(M::POST, "/onboarding/templates", Manage, post(pages::onboarding::create_template))
        .page(M::POST, "/onboarding/templates/{id}", Manage, post(pages::onboarding::update_template))
        .page(M::POST, "/onboarding/templates/{id}/delete", Manage, post(pages::onboarding::delete_template))
        .page(M::POST, "/onboarding/plans/{id}/milestones/{key}/complete", Write, post(pages::onboarding::complete))
        .page(M::GET, "/outbox", Read, get(pages::playbooks::outbox))
        .page(M::POST, "/outbox/{id}/send", Write, post(pages::playbooks::send))
        .page(M::POST, "/outbox/{id}/discard", Write, post(pages::playbooks::discard))
        .page(M::POST, "/outbox/{id}/retry", Write, post(pages::playbooks::retry))
        .page(M::POST, "/outbox/{id}/edit", Write, post(pages::playbooks::edit))
        .page(M::GET, "/requests", Read, get(pages::requests::list))
        .page(M::POST, "/requests", Contribute, post(pages::requests::create))
        .page(M::GET, "/requests.csv", Read, get(pages::requests::export))
        .page(M::GET, "/requests/{id}", Read, get(pages::requests::show))
        .page(M::POST, "/requests/{id}", Contribute, post(pages::requests::update))
        .page(M::POST, "/requests/{id}/status", Contribute, post(pages::requests::set_status))
        .page(M::POST, "/requests/{id}/evidence", Contribute, post(pages::requests::add_evidence))
        .page(M::POST, "/requests/{id}/evidence/{evidence}/delete", Contribute, post(pages::requests::remove_evidence))
        .page(M::POST, "/requests/{id}/merge", Contribute, post(pages::requests::merge))
        .page(M::POST, "/accounts/{id}/requests", Contribute, post(pages::accounts::show::add_request))
        .page(M::GET, "/renewals", Read, get(pages::renewals::page))
        .page(M::GET, "/renewals.csv", Read, get(pages::renewals::export))
        .page(M::POST, "/accounts/{id}/renewals/{date}", Write, post(pages::renewals::set_call))
        .page(M::GET, "/tasks", Read, get(pages::tasks::page))
        .page(M::POST, "/tasks", Write, post(pages::tasks::create))
        .page(M::POST, "/tasks/{id}/complete", Write, post(pages::tasks::complete))
        .page(M::POST, "/tasks/{id}/snooze", Write, post(pages::tasks::snooze))
        .page(M::POST, "/tasks/{id}/cancel", Write, post(pages::tasks::cancel))
        .page(M::POST, "/tasks/{id}/reopen", Write, post(pages::tasks::reopen))
        .page(M::GET, "/metrics", Read, get(pages::metrics::page))
        .page(M::GET, "/metrics/export/{table}", Read, get(pages::metrics::export))
        .page(M::GET, "/health", Read, get(pages::health::page))
        .page(M::POST, "/health/config", Manage, post(pages::health::save_config))
        .page(M::POST, "/health/weights", Manage, post(pages::health::apply_weights))
        .page(M::GET, "/segments", Read, get(pages::segments::list))
        .page(M::GET, "/segments/new", Manage, get(pages::segments::new_form))
        .page(M::POST, "/segments/new", Manage, post(pages::segments::create))
        .page(M::GET, "/segments/{id}", Read, get(pages::segments::page))
        .page(M::POST, "/segments/{id}", Manage, post(pages::segments::save))
        .page(M::POST, "/segments/{id}/delete", Manage, post(pages::segments::delete))
        .api(M::GET, "/healthz", Public, get(crate::healthz))
        .tracking("/v1/identify", post(tracking::identify))
        .tracking("/v1/track", post(tracking::track))
        .tracking("/v1/page", post(tracking::page))
        .tracking("/v1/screen", post(tracking::screen))
        .tracking("/v1/group", post(tracking::group))
        .tracking("/v1/alias", post(tracking::alias))
        .tracking("/v1/batch", post(tracking::batch))
        .tracking("/v1/import", post(tracking::import))
        .api(M::GET, "/api/openapi.json", Public, get(openapi::serve))
        .api(M::POST, "/api/v1/session", Public, post(me::sign_in))
        .api(M::DELETE, "/api/v1/session", Read, delete(me::sign_out))
        .api(M::GET, "/api/v1/me", Read, get(me::read))
        .api(M::POST, "/api/v1/me/password", Own, post(me::change_password))
        .api(M::GET, "/api/v1/me/notifications", Read, get(notifications::inbox))
        .api(M::POST, "/api/v1/me/notifications/read-all", Own, post(notifications::mark_all_read))
        .api(M::POST, "/api/v1/me/notifications/{id}/read", Own, post(notifications::mark_read))
        .api(M::GET, "/api/v1/me/notification-preferences", Read, get(notifications::preferences))
        .api(M::PUT, "/api/v1/me/notification-preferences", Own, put(notifications::set_preferences))
        .api(M::GET, "/api/v1/tokens", Read, get(tokens::list))
        .api(M::POST, "/api/v1/tokens", Own, post(tokens::create))
        .api(M::DELETE, "/api/v1/tokens/{id}", Own, delete(tokens::revoke))
        .api(M::GET, "/api/v1/write-keys", Admin, get(tokens::list_write_keys))
        .api(M::POST, "/api/v1/write-keys", Admin, post(tokens::create_write_key))
        .api(M::DELETE, "/api/v1/write-keys/{id}", Admin, delete(tokens::revoke_write_key))
        .api(M::PATCH, "/api/v1/write-keys/{id}", Admin, patch(tokens::update_write_key))
        .api(M::GET, "/api/v1/tracking/refused", Admin, get(tokens::refused_messages))
        .api(M::GET, "/api/v1/audit", Admin, get(audit::list))
        .api(M::GET, "/api/v1/audit/export", Admin, get(audit::export))
        .api(M::GET, "/api/v1/playbooks", Read, get(playbooks::list))
        .api(M::POST, "/api/v1/playbooks", Manage, post(playbooks::create))
        .api(M::POST, "/api/v1/playbooks/scan", Manage, post(playbooks::scan))
        .api(M::GET, "/api/v1/playbooks/{id}", Read, get(playbooks::read))
        .api(M::PUT, "/api/v1/playbooks/{id}", Manage, put(playbooks::replace))
        .api(M::DELETE, "/api/v1/playbooks/{id}", Manage, delete(playbooks::delete))
        .api(M::GET, "/api/v1/playbooks/{id}/runs", Read, get(playbooks::runs))
        .api(M::GET, "/api/v1/onboarding/templates", Read, get(onboarding::list_templates))
        .api(M::POST, "/api/v1/onboarding/templates", Manage, post(onboarding::create_template))
        .api(M::GET, "/api/v1/onboarding/templates/{id}", Read, get(onboarding::read_template))
        .api(M::PUT, "/api/v1/onboarding/templates/{id}", Manage, put(onboarding::replace_template))
        .api(M::DELETE, "/api/v1/onboarding/templates/{id}", Manage, delete(onboarding::delete_template))
        .api(M::GET, "/api/v1/onboarding/plans", Read, get(onboarding::plans))
        .api(M::POST, "/api/v1/onboarding/plans/{id}/milestones/{key}/complete", Write, post(onboarding::complete))
        .api(M::GET, "/api/v1/onboarding/stats", Read, get(onboarding::stats))
        .api(M::GET, "/api/v1/renewals", Read, get(renewals::list))
        .api(M::GET, "/api/v1/renewals/accuracy", Read, get(renewals::accuracy))
        .api(M::POST, "/api/v1/renewals/snapshots", Manage, post(renewals::snapshot))
        .api(M::GET, "/api/v1/renewals/model", Read, get(renewals::model))
        .api(M::POST, "/api/v1/renewals/model", Manage, post(renewals::refit))
        .api(M::GET, "/api/v1/accounts/{id}/renewals", Read, get(renewals::of_account))
        .api(M::PUT, "/api/v1/accounts/{id}/renewals/{date}", Write, put(renewals::set_call))
        .api(M::POST, "/api/v1/accounts/{id}/onboarding", Write, post(onboarding::start))
        .api(M::GET, "/api/v1/requests", Read, get(feedback::list))
        .api(M::POST, "/api/v1/requests", Contribute, post(feedback::create))
        .api(M::GET, "/api/v1/requests/release-notes", Read, get(feedback::release_notes))
        .api(M::GET, "/api/v1/requests/webhook", Admin, get(feedback::webhook))
        .api(M::PUT, "/api/v1/requests/webhook", Admin, put(feedback::set_webhook))
        .api(M::DELETE, "/api/v1/requests/webhook", Admin, delete(feedback::delete_webhook))
        .api(M::GET, "/api/v1/requests/{id}", Read, get(feedback::read))
        .api(M::PUT, "/api/v1/requests/{id}", Contribute, put(feedback::replace))
        .api(M::POST, "/api/v1/requests/{id}/status", Contribute, post(feedback::set_status))
        .api(M::POST, "/api/v1/requests/{id}/evidence", Contribute, post(feedback::add_evidence))
        .api(M::DELETE, "/api/v1/requests/{id}/evidence/{evidence}", Contribute, delete(feedback::remove_evidence))
        .api(M::POST, "/api/v1/requests/{id}/merge", Contribute, post(feedback::merge))
        .api(M::GET, "/api/v1/accounts/{id}/requests", Read, get(feedback::of_account))
        .api(M::GET, "/api/v1/outbox", Read, get(playbooks::outbox))
        .api(M::POST, "/api/v1/outbox/{id}/send", Write, post(playbooks::send))
        .api(M::POST, "/api/v1/outbox/{id}/discard", Write, post(playbooks::discard))
        .api(M::POST, "/api/v1/outbox/{id}/retry", Write, post(playbooks::retry))
        .api(M::PUT, "/api/v1/outbox/{id}", Write, put(playbooks::edit))
        .api(M::GET, "/api/v1/accounts", Read, get(accounts::list))
        .api(M::POST, "/api/v1/accounts", Write, post(accounts::create))
        .api(M::GET, "/api/v1/accounts/lookup", Read, get(accounts::lookup))
        .api(M::GET, "/api/v1/accounts/{id}", Read, get(accounts::read))
        .api(M::PUT, "/api/v1/accounts/{id}", Write, put(accounts::replace))
        .api(M::PATCH, "/api/v1/accounts/{id}", Write, patch(accounts::patch))
        .api(M::DELETE, "/api/v1/accounts/{id}", Manage, delete(accounts::delete))
        .api(M::GET, "/api/v1/accounts/{id}/mrr", Read, get(metrics::account_history))
        .api(M::GET, "/api/v1/accounts/{id}/usage", Read, get(usage::account_usage))
        .api(M::GET, "/api/v1/accounts/{id}/usage/events", Read, get(usage::account_events))
        .api(M::GET, "/api/v1/accounts/{id}/usage/features", Read, get(usage::account_features))
        .api(M::GET, "/api/v1/accounts/{id}/usage/activity", Read, get(usage::account_activity))
        .api(M::GET, "/api/v1/accounts/{id}/end-users", Read, get(usage::end_users))
        .api(M::GET, "/api/v1/usage/adoption", Read, get(usage::adoption))
        .api(M::GET, "/api/v1/accounts/{id}/health", Read, get(health::account))
        .api(M::GET, "/api/v1/accounts/{id}/health/history", Read, get(health::history))
        .api(M::POST, "/api/v1/accounts/{id}/pulse", Write, post(health::set_pulse))
        .api(M::GET, "/api/v1/accounts/{id}/pulses", Read, get(health::pulses))
        .api(M::GET, "/api/v1/health/drops", Read, get(health::drops))
        .api(M::POST, "/api/v1/health/recompute", Manage, post(health::recompute))
        .api(M::GET, "/api/v1/health/grades", Read, get(health::grades))
        .api(M::GET, "/api/v1/health/config", Read, get(health::config))
        .api(M::PUT, "/api/v1/health/config", Manage, put(health::replace_config))
        .api(M::PUT, "/api/v1/health/config/weights", Manage, put(health::replace_weights))
        .api(M::GET, "/api/v1/health/backtest", Read, get(health::backtest))
        .api(M::GET, "/api/v1/segments", Read, get(segments::list))
        .api(M::POST, "/api/v1/segments", Manage, post(segments::create))
        .api(M::POST, "/api/v1/segments/preview", Read, post(segments::preview))
        .api(M::GET, "/api/v1/segments/{id}", Read, get(segments::read))
        .api(M::PUT, "/api/v1/segments/{id}", Manage, put(segments::replace))
        .api(M::DELETE, "/api/v1/segments/{id}", Manage, delete(segments::delete))
        .api(M::GET, "/api/v1/segments/{id}/members", Read, get(segments::members))
        .api(M::GET, "/api/v1/segments/{id}/history", Read, get(segments::history))
        .api(M::GET, "/api/v1/features", Read, get(usage::list))
        .api(M::POST, "/api/v1/features", Admin, post(usage::create))
        .api(M::GET, "/api/v1/features/{key}", Read, get(usage::read))
        .api(M::PUT, "/api/v1/features/{key}", Admin, put(usage::replace))
        .api(M::PATCH, "/api/v1/features/{key}", Admin, patch(usage::patch))
        .api(M::DELETE, "/api/v1/features/{key}", Admin, delete(usage::delete))
        .api(M::GET, "/api/v1/metrics/report", Read, get(metrics::report))
        .api(M::GET, "/api/v1/metrics/retention", Read, get(metrics::retention))
        .api(M::GET, "/api/v1/metrics/movements", Read, get(metrics::movements))
        .api(M::GET, "/api/v1/metrics/cohorts", Read, get(metrics::cohort_table))
        .api(M::GET, "/api/v1/metrics/unit-economics", Read, get(metrics::unit_economics))
        .api(M::GET, "/api/v1/metrics/spend", Read, get(metrics::spend))
        .api(M::PUT, "/api/v1/metrics/spend/{month}", Manage, put(metrics::set_spend))
        .api(M::DELETE, "/api/v1/metrics/spend/{month}", Manage, delete(metrics::delete_spend))
        .api(M::GET, "/api/v1/contacts", Read, get(contacts::list))
        .api(M::POST, "/api/v1/contacts", Write, post(contacts::create))
        .api(M::GET, "/api/v1/contacts/{id}", Read, get(contacts::read))
        .api(M::PUT, "/api/v1/contacts/{id}", Write, put(contacts::replace))
        .api(M::PATCH, "/api/v1/contacts/{id}", Write, patch(contacts::patch))
        .api(M::DELETE, "/api/v1/contacts/{id}", Write, delete(contacts::delete))
        .api(M::GET, "/api/v1/subscriptions", Read, get(subscriptions::list))
        .api(M::POST, "/api/v1/subscriptions", Write, post(subscriptions::create))
        .api(M::GET, "/api/v1/subscriptions/{id}", Read, get(subscriptions::read))
        .api(M::PUT, "/api/v1/subscriptions/{id}", Write, put(subscriptions::replace))
        .api(M::PATCH, "/api/v1/subscriptions/{id}", Write, patch(subscriptions::patch))
        .api(M::DELETE, "/api/v1/subscriptions/{id}", Write, delete(subscriptions::delete))
        .api(M::GET, "/api/v1/products", Read, get(subscriptions::products))
        .api(M::GET, "/api/v1/tasks", Read, get(tasks::list))
        .api(M::POST, "/api/v1/tasks", Write, post(tasks::create))
        .api(M::GET, "/api/v1/tasks/{id}", Read, get(tasks::read))
        .api(M::PATCH, "/api/v1/tasks/{id}", Write, patch(tasks::patch))
        .api(M::GET, "/api/v1/timeline", Read, get(timeline::list))
        .api(M::POST, "/api/v1/timeline", Write, post(timeline::create))
        .api(M::GET, "/api/v1/timeline/{id}", Read, get(timeline::read))
        .api(M::PUT, "/api/v1/timeline/{id}", Write, put(timeline::replace))
        .api(M::PATCH, "/api/v1/timeline/{id}", Write, patch(timeline::patch))
        .api(M::DELETE, "/api/v1/timeline/{id}", Write, delete(timeline::delete))
        .api(M::GET, "/api/v1/users", Read, get(staff::list_users))
        .api(M::POST, "/api/v1/users", Admin, post(staff::create_user))
        .api(M::GET, "/api/v1/users/{id}", Read, get(staff::read_user))
        .api(M::PUT, "/api/v1/users/{id}", Admin, put(staff::replace_user))
        .api(M::PATCH, "/api/v1/users/{id}", Admin, patch(staff::patch_user))
        .api(M::DELETE, "/api/v1/users/{id}", Admin, delete(staff::delete_user))
        .api(M::GET, "/api/v1/teams", Read, get(staff::list_teams))
        .api(M::POST, "/api/v1/teams", Admin, post(staff::create_team))
        .api(M::GET, "/api/v1/teams/{id}", Read, get(staff::read_team))
        .api(M::PUT, "/api/v1/teams/{id}", Admin, put(staff::replace_team))
        .api(M::PATCH, "/api/v1/teams/{id}", Admin, patch(staff::patch_team))
        .api(M::DELETE, "/api/v1/teams/{id}", Admin, delete(staff::delete_team))
        .api(M::GET, "/api/v1/settings", Read, get(settings::read))
        .api(M::PUT, "/api/v1/settings", Admin, put(settings::replace))
        .api(M::GET, "/api/v1/settings/mail", Admin, get(settings::mail))
        .api(M::PUT, "/api/v1/settings/mail", Admin, put(settings::set_mail))
        .api(M::DELETE, "/api/v1/settings/mail", Admin, delete(settings::delete_mail))
        .api(M::POST, "/api/v1/settings/mail/test", Admin, post(settings::test_mail))
        .api(M::POST, "/api/v1/imports/{kind}", Manage, post(interchange::import))
        .api(M::GET, "/api/v1/exports/{kind}", Manage, get(interchange::export));
    (table.router, table.specs)
}
