//! Every route, with the access it requires, in one table. The router is built only from this
//! table, so no route can exist without a declared access level, and the route-walking test
//! (`tests/access.rs`) checks each entry. An API route is registered once: `routes!` reads its
//! method and path from the handler's `#[utoipa::path]`, and the OpenAPI document is collected
//! from the same entries.

use crate::api::{
    accounts, audit, contacts, feedback, health, interchange, kpi, me, metrics, notifications, onboarding, playbooks,
    renewals, segments, settings, staff, subscriptions, tasks, tech_touch, timeline, tokens, tracking, usage,
};
use crate::auth::{guard, Guard, Surface};
use crate::{openapi, pages, AppState};
use axum::http::Method;
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use domain::access::Access;
use utoipa::openapi::path::PathItem;
use utoipa_axum::router::UtoipaMethodRouter;
use utoipa_axum::routes;

#[derive(Debug, Clone)]
pub struct RouteSpec {
    pub method: Method,
    pub path: String,
    pub access: Access,
    pub surface: Surface,
}

/// The routes before the access guard is put on each (which needs the running app), and the
/// OpenAPI paths and schemas of the documented ones.
pub struct Table {
    routes: Vec<(RouteSpec, MethodRouter<AppState>)>,
    pub paths: utoipa::openapi::path::Paths,
    pub schemas: Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>,
}

impl Table {
    fn add(
        mut self,
        method: Method,
        path: String,
        access: Access,
        surface: Surface,
        handler: MethodRouter<AppState>,
    ) -> Table {
        self.routes.push((RouteSpec { method, path, access, surface }, handler));
        self
    }

    /// An API route documented by its handler's `#[utoipa::path]`: one method on one path.
    fn documented(self, access: Access, route: UtoipaMethodRouter<AppState>) -> Table {
        self.documented_with(access, route, |handler| handler)
    }

    fn documented_with(
        mut self,
        access: Access,
        (schemas, paths, handler): UtoipaMethodRouter<AppState>,
        wrap: impl FnOnce(MethodRouter<AppState>) -> MethodRouter<AppState>,
    ) -> Table {
        let mut documented = paths.paths.into_iter();
        let (Some((path, item)), None) = (documented.next(), documented.next()) else {
            panic!("a documented route is one handler on one path");
        };
        let method = only_method(&item);
        match self.paths.paths.get_mut(&path) {
            Some(known) => known.merge_operations(item),
            None => {
                self.paths.paths.insert(path.clone(), item);
            }
        }
        self.schemas.extend(schemas);
        self.add(method, path, access, Surface::Api, wrap(handler))
    }

    fn api(self, method: Method, path: &str, access: Access, handler: MethodRouter<AppState>) -> Table {
        self.add(method, path.to_owned(), access, Surface::Api, handler)
    }

    fn page(self, method: Method, path: &str, access: Access, handler: MethodRouter<AppState>) -> Table {
        self.add(method, path.to_owned(), access, Surface::Page, handler)
    }

    /// A tracking route: a POST with a write key, which browsers may also ask about (CORS preflight).
    fn tracking(self, route: UtoipaMethodRouter<AppState>) -> Table {
        self.documented_with(Access::Tracking, route, |handler| {
            handler.layer(axum::middleware::from_fn(tracking::cors))
        })
    }
}

/// The one HTTP method a handler's `#[utoipa::path]` names.
fn only_method(item: &PathItem) -> Method {
    let named = [
        (&item.get, Method::GET),
        (&item.post, Method::POST),
        (&item.put, Method::PUT),
        (&item.patch, Method::PATCH),
        (&item.delete, Method::DELETE),
    ];
    let mut methods = named.into_iter().filter(|(operation, _)| operation.is_some()).map(|(_, method)| method);
    match (methods.next(), methods.next()) {
        (Some(method), None) => method,
        _ => panic!("a documented route names exactly one of GET, POST, PUT, PATCH and DELETE"),
    }
}

/// The router, with each route behind its access guard, and the table it was built from.
pub fn build(app: AppState) -> (Router<AppState>, Vec<RouteSpec>) {
    let mut router = Router::new();
    let mut specs = Vec::new();
    for (spec, handler) in table().routes {
        let guard_state = Guard { app: app.clone(), access: spec.access, surface: spec.surface };
        router = router.route(&spec.path, handler.layer(axum::middleware::from_fn_with_state(guard_state, guard)));
        specs.push(spec);
    }
    (router, specs)
}

/// Every route: pages, API and tracking.
pub fn table() -> Table {
    use Access::{Admin, Contribute, Manage, Own, Public, Read, Write};
    use Method as M;
    Table { routes: Vec::new(), paths: utoipa::openapi::path::Paths::new(), schemas: Vec::new() }
        .page(M::GET, "/login", Public, get(pages::login::form))
        .page(M::POST, "/login", Public, post(pages::login::submit))
        .page(M::GET, "/setup/{token}", Public, get(pages::setup::form))
        .page(M::POST, "/setup/{token}", Public, post(pages::setup::submit))
        .page(M::POST, "/logout", Read, post(pages::login::logout))
        .page(M::GET, "/assets/{file}", Public, get(pages::assets::serve))
        .page(M::GET, "/js/kizuna.js", Public, get(pages::assets::snippet))
        .page(M::GET, "/lang/{code}", Public, get(pages::layout::switch))
        .page(M::GET, "/", Read, get(pages::home::page))
        .page(M::GET, "/accounts", Read, get(pages::accounts::list::page))
        .page(M::GET, "/accounts.csv", Read, get(pages::accounts::list::export))
        .page(M::POST, "/accounts/views", Own, post(pages::accounts::list::save_view))
        .page(M::POST, "/accounts/views/{id}/delete", Own, post(pages::accounts::list::delete_view))
        .page(M::GET, "/accounts/{id}", Read, get(pages::accounts::show::page))
        .page(M::POST, "/accounts/{id}/timeline", Write, post(pages::accounts::show::add_entry))
        .page(M::POST, "/accounts/{id}/pulse", Write, post(pages::accounts::show::set_pulse))
        .page(M::POST, "/accounts/{id}/stage", Write, post(pages::accounts::show::set_stage))
        .page(M::POST, "/accounts/{id}/contacts", Write, post(pages::accounts::show::add_contact))
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
        .page(M::POST, "/settings/users/{id}/password", Admin, post(pages::settings::staff::reset_password))
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
        .page(M::POST, "/settings/features/one", Admin, post(pages::settings::catalog::save_feature))
        .page(M::GET, "/settings/workspace", Admin, get(pages::settings::workspace::workspace))
        .page(M::POST, "/settings/workspace", Admin, post(pages::settings::workspace::save_workspace))
        .page(M::POST, "/settings/request-webhook", Admin, post(pages::settings::workspace::set_request_webhook))
        .page(M::POST, "/settings/custom-fields", Admin, post(pages::settings::workspace::save_custom_fields))
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
        .page(M::GET, "/playbooks/builder", Manage, get(pages::playbook_builder::show))
        .page(M::POST, "/playbooks/builder", Manage, post(pages::playbook_builder::submit))
        .page(M::GET, "/playbooks/{id}", Read, get(pages::playbooks::show))
        .page(M::POST, "/playbooks/{id}", Manage, post(pages::playbooks::update))
        .page(M::POST, "/playbooks/{id}/delete", Manage, post(pages::playbooks::delete))
        .page(M::GET, "/onboarding", Read, get(pages::onboarding::board))
        .page(M::POST, "/onboarding/templates", Manage, post(pages::onboarding::create_template))
        .page(M::GET, "/onboarding/templates/builder", Manage, get(pages::onboarding_builder::show))
        .page(M::POST, "/onboarding/templates/builder", Manage, post(pages::onboarding_builder::submit))
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
        .page(M::GET, "/kpi", Read, get(pages::kpi::tree))
        .page(M::POST, "/kpi/install", Manage, post(pages::kpi::install))
        .page(M::GET, "/kpi/edit", Manage, get(pages::kpi::edit))
        .page(M::GET, "/kpi/builder", Manage, get(pages::kpi_builder::show))
        .page(M::POST, "/kpi/builder", Manage, post(pages::kpi_builder::submit))
        .page(M::GET, "/kpi/bundle.toml", Manage, get(pages::kpi::download_bundle))
        .page(M::GET, "/kpi/report", Read, get(pages::kpi::report))
        .page(M::POST, "/kpi/edit", Manage, post(pages::kpi::save))
        .page(M::GET, "/kpi/{key}", Read, get(pages::kpi::node))
        .page(M::POST, "/kpi/{key}/values", Write, post(pages::kpi::set_value))
        .page(M::GET, "/health", Read, get(pages::health::page))
        .page(M::POST, "/health/config", Manage, post(pages::health::save_config))
        .page(M::GET, "/health/builder", Manage, get(pages::scorecard_builder::show))
        .page(M::POST, "/health/builder", Manage, post(pages::scorecard_builder::submit))
        .page(M::POST, "/health/weights", Manage, post(pages::health::apply_weights))
        .page(M::GET, "/messages", Read, get(pages::tech_touch::messages::list))
        .page(M::POST, "/messages", Manage, post(pages::tech_touch::messages::create))
        .page(M::GET, "/messages/new", Manage, get(pages::tech_touch::messages::new_form))
        .page(M::POST, "/messages/caps", Manage, post(pages::tech_touch::messages::save_caps))
        .page(M::GET, "/messages/{id}", Read, get(pages::tech_touch::messages::show))
        .page(M::GET, "/messages/{id}/preview", Read, get(pages::tech_touch::preview::message))
        .page(M::POST, "/messages/{id}", Manage, post(pages::tech_touch::messages::update))
        .page(M::POST, "/messages/{id}/delete", Manage, post(pages::tech_touch::messages::delete))
        .page(M::GET, "/surveys", Read, get(pages::tech_touch::surveys::list))
        .page(M::POST, "/surveys", Manage, post(pages::tech_touch::surveys::create))
        .page(M::GET, "/surveys/new", Manage, get(pages::tech_touch::surveys::new_form))
        .page(M::GET, "/surveys/{id}", Read, get(pages::tech_touch::surveys::show))
        .page(M::GET, "/surveys/{id}/preview", Read, get(pages::tech_touch::preview::survey))
        .page(M::POST, "/surveys/{id}", Manage, post(pages::tech_touch::surveys::update))
        .page(M::POST, "/surveys/{id}/send", Manage, post(pages::tech_touch::surveys::send))
        .page(M::POST, "/surveys/{id}/delete", Manage, post(pages::tech_touch::surveys::delete))
        .page(M::GET, "/s/{token}", Public, get(pages::tech_touch::answer::form))
        .page(M::POST, "/s/{token}", Public, post(pages::tech_touch::answer::submit))
        .page(M::GET, "/segments", Read, get(pages::segments::list))
        .page(M::GET, "/segments/new", Manage, get(pages::segments::new_form))
        .page(M::POST, "/segments/new", Manage, post(pages::segments::create))
        .page(M::GET, "/segments/{id}", Read, get(pages::segments::page))
        .page(M::POST, "/segments/{id}", Manage, post(pages::segments::save))
        .page(M::POST, "/segments/{id}/delete", Manage, post(pages::segments::delete))
        .documented(Public, routes!(crate::healthz))
        .tracking(routes!(tracking::identify))
        .tracking(routes!(tracking::track))
        .tracking(routes!(tracking::page))
        .tracking(routes!(tracking::screen))
        .tracking(routes!(tracking::group))
        .tracking(routes!(tracking::alias))
        .tracking(routes!(tracking::batch))
        .tracking(routes!(tracking::import))
        .tracking(routes!(tech_touch::decide))
        .tracking(routes!(tech_touch::report))
        .tracking(routes!(tech_touch::answer))
        .api(M::GET, "/api/openapi.json", Public, get(openapi::serve))
        .documented(Public, routes!(me::sign_in))
        .documented(Read, routes!(me::sign_out))
        .documented(Read, routes!(me::read))
        .documented(Own, routes!(me::change_password))
        .documented(Read, routes!(notifications::inbox))
        .documented(Own, routes!(notifications::mark_all_read))
        .documented(Own, routes!(notifications::mark_read))
        .documented(Read, routes!(notifications::preferences))
        .documented(Own, routes!(notifications::set_preferences))
        .documented(Read, routes!(tokens::list))
        .documented(Own, routes!(tokens::create))
        .documented(Own, routes!(tokens::revoke))
        .documented(Admin, routes!(tokens::list_write_keys))
        .documented(Admin, routes!(tokens::create_write_key))
        .documented(Admin, routes!(tokens::revoke_write_key))
        .documented(Admin, routes!(tokens::update_write_key))
        .documented(Admin, routes!(tokens::refused_messages))
        .documented(Admin, routes!(audit::list))
        .documented(Admin, routes!(audit::export))
        .documented(Read, routes!(playbooks::list))
        .documented(Manage, routes!(playbooks::create))
        .documented(Manage, routes!(playbooks::scan))
        .documented(Read, routes!(playbooks::read))
        .documented(Manage, routes!(playbooks::replace))
        .documented(Manage, routes!(playbooks::delete))
        .documented(Read, routes!(playbooks::runs))
        .documented(Read, routes!(onboarding::list_templates))
        .documented(Manage, routes!(onboarding::create_template))
        .documented(Read, routes!(onboarding::read_template))
        .documented(Manage, routes!(onboarding::replace_template))
        .documented(Manage, routes!(onboarding::delete_template))
        .documented(Read, routes!(onboarding::plans))
        .documented(Write, routes!(onboarding::complete))
        .documented(Read, routes!(onboarding::stats))
        .documented(Read, routes!(renewals::list))
        .documented(Read, routes!(renewals::accuracy))
        .documented(Manage, routes!(renewals::snapshot))
        .documented(Read, routes!(renewals::model))
        .documented(Manage, routes!(renewals::refit))
        .documented(Read, routes!(renewals::of_account))
        .documented(Write, routes!(renewals::set_call))
        .documented(Write, routes!(onboarding::start))
        .documented(Read, routes!(feedback::list))
        .documented(Contribute, routes!(feedback::create))
        .documented(Read, routes!(feedback::release_notes))
        .documented(Admin, routes!(feedback::webhook))
        .documented(Admin, routes!(feedback::set_webhook))
        .documented(Admin, routes!(feedback::delete_webhook))
        .documented(Read, routes!(feedback::read))
        .documented(Contribute, routes!(feedback::replace))
        .documented(Contribute, routes!(feedback::set_status))
        .documented(Contribute, routes!(feedback::add_evidence))
        .documented(Contribute, routes!(feedback::remove_evidence))
        .documented(Contribute, routes!(feedback::merge))
        .documented(Read, routes!(feedback::of_account))
        .documented(Read, routes!(playbooks::outbox))
        .documented(Write, routes!(playbooks::send))
        .documented(Write, routes!(playbooks::discard))
        .documented(Write, routes!(playbooks::retry))
        .documented(Write, routes!(playbooks::edit))
        .documented(Read, routes!(accounts::list))
        .documented(Write, routes!(accounts::create))
        .documented(Read, routes!(accounts::lookup))
        .documented(Read, routes!(accounts::read))
        .documented(Write, routes!(accounts::replace))
        .documented(Write, routes!(accounts::patch))
        .documented(Manage, routes!(accounts::delete))
        .documented(Read, routes!(metrics::account_history))
        .documented(Read, routes!(usage::account_usage))
        .documented(Read, routes!(usage::account_events))
        .documented(Read, routes!(usage::account_features))
        .documented(Read, routes!(usage::account_activity))
        .documented(Read, routes!(usage::end_users))
        .documented(Read, routes!(usage::adoption))
        .documented(Read, routes!(health::account))
        .documented(Read, routes!(health::history))
        .documented(Write, routes!(health::set_pulse))
        .documented(Read, routes!(health::pulses))
        .documented(Read, routes!(health::drops))
        .documented(Manage, routes!(health::recompute))
        .documented(Read, routes!(health::grades))
        .documented(Read, routes!(health::config))
        .documented(Manage, routes!(health::replace_config))
        .documented(Manage, routes!(health::replace_weights))
        .documented(Read, routes!(health::backtest))
        .documented(Read, routes!(kpi::view))
        .documented(Read, routes!(kpi::tree))
        .documented(Manage, routes!(kpi::replace_tree))
        .documented(Manage, routes!(kpi::install))
        .documented(Manage, routes!(kpi::bundle))
        .documented(Manage, routes!(kpi::import_bundle))
        .documented(Manage, routes!(kpi::set_target))
        .documented(Write, routes!(kpi::set_actual))
        .documented(Read, routes!(tech_touch::list_messages))
        .documented(Manage, routes!(tech_touch::create_message))
        .documented(Read, routes!(tech_touch::read_message))
        .documented(Manage, routes!(tech_touch::replace_message))
        .documented(Manage, routes!(tech_touch::delete_message))
        .documented(Read, routes!(tech_touch::message_results))
        .documented(Read, routes!(tech_touch::list_surveys))
        .documented(Manage, routes!(tech_touch::create_survey))
        .documented(Read, routes!(tech_touch::read_survey))
        .documented(Manage, routes!(tech_touch::replace_survey))
        .documented(Manage, routes!(tech_touch::delete_survey))
        .documented(Read, routes!(tech_touch::survey_results))
        .documented(Manage, routes!(tech_touch::send_survey))
        .documented(Read, routes!(tech_touch::eligibility))
        .documented(Read, routes!(tech_touch::caps))
        .documented(Manage, routes!(tech_touch::set_caps))
        .documented(Read, routes!(segments::list))
        .documented(Manage, routes!(segments::create))
        .documented(Read, routes!(segments::preview))
        .documented(Read, routes!(segments::read))
        .documented(Manage, routes!(segments::replace))
        .documented(Manage, routes!(segments::delete))
        .documented(Read, routes!(segments::members))
        .documented(Read, routes!(segments::history))
        .documented(Read, routes!(usage::list))
        .documented(Admin, routes!(usage::create))
        .documented(Read, routes!(usage::read))
        .documented(Admin, routes!(usage::replace))
        .documented(Admin, routes!(usage::patch))
        .documented(Admin, routes!(usage::delete))
        .documented(Read, routes!(metrics::report))
        .documented(Read, routes!(metrics::retention))
        .documented(Read, routes!(metrics::movements))
        .documented(Read, routes!(metrics::cohort_table))
        .documented(Read, routes!(metrics::unit_economics))
        .documented(Read, routes!(metrics::spend))
        .documented(Manage, routes!(metrics::set_spend))
        .documented(Manage, routes!(metrics::delete_spend))
        .documented(Read, routes!(contacts::list))
        .documented(Write, routes!(contacts::create))
        .documented(Read, routes!(contacts::read))
        .documented(Write, routes!(contacts::replace))
        .documented(Write, routes!(contacts::patch))
        .documented(Write, routes!(contacts::delete))
        .documented(Read, routes!(subscriptions::list))
        .documented(Write, routes!(subscriptions::create))
        .documented(Read, routes!(subscriptions::read))
        .documented(Write, routes!(subscriptions::replace))
        .documented(Write, routes!(subscriptions::patch))
        .documented(Write, routes!(subscriptions::delete))
        .documented(Read, routes!(subscriptions::products))
        .documented(Read, routes!(tasks::list))
        .documented(Write, routes!(tasks::create))
        .documented(Read, routes!(tasks::read))
        .documented(Write, routes!(tasks::patch))
        .documented(Read, routes!(timeline::list))
        .documented(Write, routes!(timeline::create))
        .documented(Read, routes!(timeline::read))
        .documented(Write, routes!(timeline::replace))
        .documented(Write, routes!(timeline::patch))
        .documented(Write, routes!(timeline::delete))
        .documented(Read, routes!(staff::list_users))
        .documented(Admin, routes!(staff::create_user))
        .documented(Read, routes!(staff::read_user))
        .documented(Admin, routes!(staff::replace_user))
        .documented(Admin, routes!(staff::patch_user))
        .documented(Admin, routes!(staff::delete_user))
        .documented(Read, routes!(staff::list_teams))
        .documented(Admin, routes!(staff::create_team))
        .documented(Read, routes!(staff::read_team))
        .documented(Admin, routes!(staff::replace_team))
        .documented(Admin, routes!(staff::patch_team))
        .documented(Admin, routes!(staff::delete_team))
        .documented(Read, routes!(settings::read))
        .documented(Admin, routes!(settings::replace))
        .documented(Admin, routes!(settings::mail))
        .documented(Admin, routes!(settings::set_mail))
        .documented(Admin, routes!(settings::delete_mail))
        .documented(Admin, routes!(settings::test_mail))
        .documented(Manage, routes!(interchange::import))
        .documented(Manage, routes!(interchange::export))
}
