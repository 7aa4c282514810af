//! What every signed-in page shares: the header with navigation, search across accounts, the
//! notification bell with its unread count, the language switch and sign-out. Handlers take a `Frame` and hand it to their template, whose
//! layout is `templates/frame.html`.

use crate::auth::{CsrfToken, Signed};
use crate::extract::Path;
use crate::problem::{request_lang, ApiError};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use domain::access::Role;
use domain::access::{permits, Access};
use domain::i18n::{Lang, Text};

pub const LANG_COOKIE: &str = "kizuna_lang";

pub struct Frame {
    pub lang: Lang,
    /// `ja` or `en`, for `<html lang>`.
    pub code: &'static str,
    pub t: FrameLabels,
    /// Which navigation entry is the current page: `home`, `accounts`, `tasks`, `metrics`, `health`,
    /// `segments`, `playbooks`, `onboarding`, `renewals`, `requests`, `kpi`, `settings`.
    pub section: &'static str,
    pub user_name: String,
    pub csrf_token: String,
    pub role: Role,
    pub actor: app::Actor,
    /// The same page in the other language.
    pub switch_href: String,
    /// Unread notifications, on the header's bell.
    pub unread: i64,
}

pub struct FrameLabels {
    pub skip: &'static str,
    pub home: &'static str,
    pub accounts: &'static str,
    pub tasks: &'static str,
    pub metrics: &'static str,
    pub health: &'static str,
    pub segments: &'static str,
    pub settings: &'static str,
    pub playbooks: &'static str,
    pub onboarding: &'static str,
    pub renewals: &'static str,
    pub requests: &'static str,
    pub search: &'static str,
    pub switch_lang: &'static str,
    pub logout: &'static str,
    pub notifications: &'static str,
}

impl FrameLabels {
    fn new(lang: Lang) -> FrameLabels {
        let t = |ja, en| Text::new(ja, en).pick(lang);
        FrameLabels {
            skip: t("本文へ移動", "Skip to content"),
            home: t("ホーム", "Home"),
            accounts: t("顧客", "Accounts"),
            tasks: t("タスク", "Tasks"),
            metrics: t("指標", "Metrics"),
            health: t("ヘルススコア", "Health"),
            segments: t("セグメント", "Segments"),
            settings: t("設定", "Settings"),
            playbooks: t("プレイブック", "Playbooks"),
            onboarding: t("オンボーディング", "Onboarding"),
            renewals: t("更新", "Renewals"),
            requests: t("リクエスト", "Requests"),
            search: t("顧客を検索", "Search accounts"),
            switch_lang: t("English", "日本語"),
            logout: t("ログアウト", "Sign out"),
            notifications: t("通知", "Notifications"),
        }
    }
}

impl Frame {
    pub fn at(mut self, section: &'static str) -> Frame {
        self.section = section;
        self
    }

    /// The string in the reader's language.
    pub fn pick(&self, ja: &'static str, en: &'static str) -> &'static str {
        self.lang.pick(ja, en)
    }

    /// A workspace name with its optional English one, as the reader should see it
    /// (`domain::i18n::name_in`).
    pub fn name<'a>(&self, name: &'a str, name_en: &'a str) -> &'a str {
        domain::i18n::name_in(name, Some(name_en), self.lang)
    }

    pub fn may(&self, access: Access) -> bool {
        permits(self.role, None, access)
    }

    pub fn may_manage(&self) -> bool {
        self.may(Access::Manage)
    }

    pub fn is_admin(&self) -> bool {
        self.may(Access::Admin)
    }
}

/// The current path and query without `lang`, so the language cookie decides after a switch.
fn without_lang(path: &str, query: Option<&str>) -> String {
    let kept: Vec<(String, String)> = serde_urlencoded::from_str::<Vec<(String, String)>>(query.unwrap_or(""))
        .unwrap_or_default()
        .into_iter()
        .filter(|(key, _)| key != "lang")
        .collect();
    let query = serde_urlencoded::to_string(&kept).unwrap_or_default();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

impl FromRequestParts<crate::AppState> for Frame {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &crate::AppState) -> Result<Self, Self::Rejection> {
        let Signed(actor) = Signed::from_request_parts(parts, state).await?;
        let CsrfToken(csrf_token) = CsrfToken::from_request_parts(parts, state).await?;
        Frame::for_actor(state, actor, csrf_token, &parts.headers, &parts.uri).await
    }
}

impl Frame {
    /// The header for `actor` on the page at `uri`, in the reader's language.
    pub async fn for_actor(
        state: &crate::AppState,
        actor: app::Actor,
        csrf_token: String,
        headers: &HeaderMap,
        uri: &Uri,
    ) -> Result<Frame, ApiError> {
        let lang = request_lang(headers, uri.query());
        let other = if lang == Lang::Ja { Lang::En } else { Lang::Ja };
        let back = without_lang(uri.path(), uri.query());
        let switch_href =
            format!("/lang/{}?{}", other.code(), serde_urlencoded::to_string([("back", back)]).unwrap_or_default());
        let user_name = match &actor {
            app::Actor::Staff { user, .. } => user.input.name.clone(),
            app::Actor::System(_) => String::new(),
        };
        let unread = state.unread_notifications(&actor).await?;
        Ok(Frame {
            lang,
            code: lang.code(),
            t: FrameLabels::new(lang),
            section: "",
            user_name,
            csrf_token,
            role: actor.role(),
            actor,
            switch_href,
            unread,
        })
    }
}

/// A form's way back (`back`) when it is a safe path to one of the pages it may return to
/// (paths starting with one of `pages`); `None` for anything else.
pub fn back_among(back: &str, pages: &[&str]) -> Option<String> {
    let safe = safe_next(back);
    (safe == back && pages.iter().any(|page| back.starts_with(page))).then_some(safe)
}

/// Only paths on this site: never an open redirect, and nothing a Location header cannot carry.
pub fn safe_next(next: &str) -> String {
    if next.starts_with('/') && !next.starts_with("//") && !next.starts_with("/\\") && !next.contains(char::is_control)
    {
        next.to_owned()
    } else {
        "/".to_owned()
    }
}

/// `/lang/{ja|en}?back=…`: remembers the reader's language in a cookie and returns to the page.
pub async fn switch(Path(code): Path<String>, params: crate::extract::QueryParams) -> Result<Response, ApiError> {
    let lang = match code.as_str() {
        "ja" => Lang::Ja,
        "en" => Lang::En,
        _ => return Err(ApiError::NotFound),
    };
    let back = safe_next(&params.text("back").unwrap_or_default());
    let cookie =
        HeaderValue::from_str(&format!("{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000", lang.code()))
            .map_err(|e| ApiError::Internal(format!("language cookie: {e}")))?;
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&back)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_language_switch_drops_lang_and_keeps_the_rest_of_the_query() {
        assert_eq!(without_lang("/accounts", Some("lang=en&tier=gold&q=a+b")), "/accounts?tier=gold&q=a+b");
        assert_eq!(without_lang("/", Some("lang=ja")), "/");
        assert_eq!(without_lang("/metrics", None), "/metrics");
    }

    #[test]
    fn back_only_points_inside_the_site() {
        assert_eq!(safe_next("/?q=a"), "/?q=a");
        assert_eq!(safe_next("https://evil.example/"), "/");
        assert_eq!(safe_next("//evil.example/"), "/");
        assert_eq!(safe_next("/accounts\r\nSet-Cookie: x=1"), "/");
        assert_eq!(safe_next(""), "/");
        assert_eq!(back_among("/renewals?month=2027-01", &["/renewals"]), Some("/renewals?month=2027-01".into()));
        assert_eq!(back_among("/renewals\nX", &["/renewals"]), None, "nothing a Location header cannot carry");
        assert_eq!(back_among("/renewals\u{7f}", &["/renewals"]), None);
        assert_eq!(back_among("//evil.example/renewals", &["/renewals"]), None);
        assert_eq!(back_among("/settings", &["/renewals", "/accounts/"]), None);
    }
}
