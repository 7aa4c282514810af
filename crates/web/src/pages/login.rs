//! `/login` and `/logout`: signing in with email and password, in Japanese or English.

use super::layout::safe_next;
use super::render;
use crate::api::me::login_error;
use crate::auth::{cleared_session_cookie, cookie, new_session_cookie, SESSION_COOKIE};
use crate::extract::{FormFields, ReaderLang};
use crate::problem::{ApiError, BAD_LOGIN};
use crate::{AppState, WebOptions};
use askama::Template;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use domain::i18n::{Lang, Text};
use std::net::SocketAddr;

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
}

fn form_lang(fields: &FormFields, fallback: Lang) -> Lang {
    match fields.get("lang") {
        "ja" => Lang::Ja,
        "en" => Lang::En,
        _ => fallback,
    }
}

fn page(lang: Lang, error: Option<String>, email: String, next: String) -> LoginPage {
    let other = if lang == Lang::Ja { Lang::En } else { Lang::Ja };
    LoginPage { lang: lang.code(), other_lang: other.code(), t: Labels::new(lang), error, email, next }
}

pub async fn form(ReaderLang(lang): ReaderLang, params: crate::extract::QueryParams) -> Result<Response, ApiError> {
    let next = safe_next(&params.text("next").unwrap_or_default());
    Ok(render(&page(lang, None, String::new(), next), "login")?.into_response())
}

pub async fn submit(
    State(app): State<AppState>,
    Extension(options): Extension<WebOptions>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    ReaderLang(lang): ReaderLang,
    fields: FormFields,
) -> Result<Response, ApiError> {
    let lang = form_lang(&fields, lang);
    let next = safe_next(fields.get("next"));
    let email = fields.get("email").to_owned();
    match app.login(&email, fields.get("password"), client.ip()).await {
        Ok(session) => {
            let cookie = new_session_cookie(&session, options);
            Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response())
        }
        Err(error) => {
            let problem = login_error(error);
            let (status, message) = match &problem {
                ApiError::InvalidCredentials => (StatusCode::UNAUTHORIZED, BAD_LOGIN.pick(lang).to_owned()),
                ApiError::TooManyAttempts { .. } => (StatusCode::TOO_MANY_REQUESTS, problem.problem(lang).detail),
                _ => return Err(problem),
            };
            Ok((status, render(&page(lang, Some(message), email, next), "login")?).into_response())
        }
    }
}

pub async fn logout(State(app): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        app.logout(&token).await?;
    }
    Ok(([(header::SET_COOKIE, cleared_session_cookie())], Redirect::to("/login")).into_response())
}
