//! The error page a browser gets for a page it cannot have (unknown address, missing account,
//! no permission, bad query): the same problem the API would send, as a page in the reader's
//! language with a way back, instead of raw JSON. A signed-in reader keeps the navigation.

use super::layout::Frame;
use crate::problem::Problem;
use askama::Template;
use axum::http::{HeaderMap, Uri};
use domain::i18n::{Lang, Text};

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub lang: &'static str,
    pub problem: &'a Problem,
    pub home: &'static str,
    pub fields: Vec<String>,
}

#[derive(Template)]
#[template(path = "error_framed.html")]
pub struct FramedErrorPage<'a> {
    pub frame: Frame,
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

/// The header of the reader's pages when the request carries a live session; `None` otherwise
/// (the error page then shows only the brand bar).
pub async fn signed_in_frame(state: &crate::AppState, headers: &HeaderMap, uri: &Uri) -> Option<Frame> {
    let session = crate::auth::cookie(headers, crate::auth::SESSION_COOKIE)?;
    let (actor, csrf_token) = state.session_actor(&session).await.ok().flatten()?;
    Frame::for_actor(state, actor, csrf_token, headers, uri).await.ok()
}

/// The page for `problem`, inside the navigation when `frame` is given; `None` if the template
/// failed (the caller keeps the JSON).
pub fn render(problem: &Problem, lang: Lang, frame: Option<Frame>) -> Option<String> {
    let fields = problem
        .errors
        .iter()
        .map(|e| if e.field.is_empty() { e.message.clone() } else { format!("{}: {}", e.field, e.message) })
        .collect();
    let home = Text::new("ホームへ戻る", "Back to home").pick(lang);
    match frame {
        Some(frame) => FramedErrorPage { frame, problem, home, fields }.render().ok(),
        None => ErrorPage { lang: lang.code(), problem, home, fields }.render().ok(),
    }
}
