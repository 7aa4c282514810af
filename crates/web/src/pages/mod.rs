//! Server-rendered HTML pages.

pub mod accounts;
pub mod assets;
pub mod builder;
mod chart;
pub mod error;
mod format;
pub mod health;
pub mod home;
pub mod imports;
pub mod kpi;
pub mod kpi_builder;
pub mod layout;
pub mod login;
pub mod metrics;
pub mod notifications;
pub mod onboarding;
pub mod onboarding_builder;
pub mod playbook_builder;
pub mod playbooks;
pub mod renewals;
pub mod requests;
pub mod scorecard_builder;
pub mod segments;
pub mod settings;
pub mod setup;
mod task_reason;
pub mod tasks;
pub mod tech_touch;

pub use layout::{Frame, LANG_COOKIE};

use crate::problem::ApiError;
use askama::Template;
use axum::response::Html;

/// One option of a select.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// The options of a select from (value, label) pairs, `selected` marked.
pub fn choices(values: impl IntoIterator<Item = (String, String)>, selected: Option<&str>) -> Vec<Choice> {
    values
        .into_iter()
        .map(|(value, label)| Choice { selected: Some(value.as_str()) == selected, value, label })
        .collect()
}

/// A form field for the API's JSON: its trimmed text, or null when blank (the field left out).
pub fn text_or_null(text: &str) -> serde_json::Value {
    match text.trim() {
        "" => serde_json::Value::Null,
        text => serde_json::Value::from(text),
    }
}

/// Renders a template; a rendering failure is our fault, reported as a 500.
pub fn render(template: &impl Template, page: &str) -> Result<Html<String>, ApiError> {
    template.render().map(Html).map_err(|e| ApiError::Internal(format!("{page} page: {e}")))
}
