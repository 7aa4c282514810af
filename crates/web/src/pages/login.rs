//! `/login` and `/logout`: signing in with email and password, in Japanese or English.

use super::layout::safe_next;
use super::render;
use crate::api::me::login_error;
use crate::auth::{cleared_session_cookie, cookie, new_session_cookie, SESSION_COOKIE};
use crate::extract::{ClientAddress, FormFields, ReaderLang};
use crate::problem::{ApiError, BAD_LOGIN};
use crate::{AppState, WebOptions};
use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use axum::Extension;
use domain::i18n::{Lang, Text};

/// The cookie and form field that tie a sign-in to a form this browser loaded (login CSRF: a
/// page elsewhere cannot sign a visitor in to an account of its choosing).
const LOGIN_COOKIE: &str = "kizuna_login";
const LOGIN_FIELD: &str = "login_token";
const LOGIN_EXPIRED: Text = Text::new(
    "ログイン画面の有効期限が切れました。もう一度ログインしてください",
    "The sign-in form expired; please sign in again",
);

pub struct Labels {
    pub title: &'static str,
    pub email: &'static str,
    pub password: &'static str,
    pub submit: &'static str,
    pub switch_lang: &'static str,
}

impl Labels {
    fn new(lang: Lang) -> Labels {
        let t = |ja, en| Text::new(ja, en).pick(lang);
        Labels {
            title: t("ログイン", "Sign in"),
            email: t("メールアドレス", "Email"),
            password: t("パスワード", "Password"),
            submit: t("ログイン", "Sign in"),
            switch_lang: t("English", "日本語"),
        }
    }
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub lang: &'static str,
    pub other_lang: &'static str,
    pub t: Labels,
    pub error: Option<String>,
    pub email: String,
    pub next: String,
    pub login_token: String,
}

fn form_lang(fields: &FormFields, fallback: Lang) -> Lang {
    match fields.get("lang") {
        "ja" => Lang::Ja,
        "en" => Lang::En,
        _ => fallback,
    }
}

/// The sign-in form with a fresh login token, set in a cookie too.
fn page(
    status: StatusCode,
    lang: Lang,
    error: Option<String>,
    email: String,
    next: String,
) -> Result<Response, ApiError> {
    let other = if lang == Lang::Ja { Lang::En } else { Lang::Ja };
    let login_token = app::auth::new_secret("")?;
    let cookie = format!("{LOGIN_COOKIE}={login_token}; Path=/login; HttpOnly; SameSite=Strict; Max-Age=3600");
    let page = LoginPage {
        lang: lang.code(),
        other_lang: other.code(),
        t: Labels::new(lang),
        error,
        email,
        next,
        login_token,
    };
    let html = render(&page, "login")?;
    Ok((status, [(header::SET_COOKIE, cookie)], html).into_response())
}

pub async fn form(ReaderLang(lang): ReaderLang, params: crate::extract::QueryParams) -> Result<Response, ApiError> {
    let next = safe_next(&params.text("next").unwrap_or_default());
    page(StatusCode::OK, lang, None, String::new(), next)
}

pub async fn submit(
    State(app): State<AppState>,
    Extension(options): Extension<WebOptions>,
    ClientAddress(client): ClientAddress,
    ReaderLang(lang): ReaderLang,
    headers: HeaderMap,
    fields: FormFields,
) -> Result<Response, ApiError> {
    let lang = form_lang(&fields, lang);
    let next = safe_next(fields.get("next"));
    let email = fields.get("email").to_owned();
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !crate::auth::same_secret(&expected, fields.get(LOGIN_FIELD)) {
        return page(StatusCode::FORBIDDEN, lang, Some(LOGIN_EXPIRED.pick(lang).to_owned()), email, next);
    }
    match app.login(&email, fields.get("password"), client).await {
        Ok(session) => {
            let cookie = new_session_cookie(&session, &options);
            let spent = HeaderValue::from_static("kizuna_login=; Path=/login; HttpOnly; SameSite=Strict; Max-Age=0");
            let cookies = AppendHeaders([(header::SET_COOKIE, cookie), (header::SET_COOKIE, spent)]);
            Ok((cookies, Redirect::to(&next)).into_response())
        }
        Err(error) => {
            let problem = login_error(error);
            let (status, message) = match &problem {
                ApiError::InvalidCredentials => (StatusCode::UNAUTHORIZED, BAD_LOGIN.pick(lang).to_owned()),
                ApiError::TooManyAttempts { .. } => (StatusCode::TOO_MANY_REQUESTS, problem.problem(lang).detail),
                _ => return Err(problem),
            };
            page(status, lang, Some(message), email, next)
        }
    }
}

pub async fn logout(State(app): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        app.logout(&token).await?;
    }
    Ok(([(header::SET_COOKIE, cleared_session_cookie())], Redirect::to("/login")).into_response())
}
