//! The error page a browser gets for a page it cannot have (unknown address, missing account,
//! no permission, bad query): the same problem the API would send, as a page in the reader's
//! language with a way back, instead of raw JSON.

use crate::problem::Problem;
use askama::Template;
use axum::http::HeaderMap;
use domain::i18n::{Lang, Text};

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub lang: &'static str,
    pub problem: &'a Problem,
    pub home: &'static str,
    pub fields: Vec<String>,
}

/// A browser navigating to a page (not the API or the tracking endpoints) asks for HTML.
pub fn wants_html(path: &str, headers: &HeaderMap) -> bool {
    let api = ["/api/", "/v1/", "/healthz"].iter().any(|prefix| path.starts_with(prefix));
    let accepts_html = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    !api && accepts_html
}

/// The page for `problem`; `None` if the template failed (the caller keeps the JSON).
pub fn render(problem: &Problem, lang: Lang) -> Option<String> {
    let fields = problem
        .errors
        .iter()
        .map(|e| if e.field.is_empty() { e.message.clone() } else { format!("{}: {}", e.field, e.message) })
        .collect();
    let page =
        ErrorPage {
            lang: lang.code(), problem, home: Text::new("ホームへ戻る", "Back to home").pick(lang), fields
        };
    page.render().ok()
}
