//! `/setup/{token}`: the one-time link `serve` prints when nobody can sign in yet. It creates
//! the first admin; afterwards the link is spent.

use super::render;
use crate::auth::new_session_cookie;
use crate::extract::Path;
use crate::extract::{FormFields, ReaderLang};
use crate::problem::ApiError;
use crate::{AppState, WebOptions};
use app::AppError;
use askama::Template;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use domain::i18n::{Lang, Text};
use domain::ids::required_text;
use domain::Email;

pub struct Labels {
    pub title: &'static str,
    pub intro: &'static str,
    pub email: &'static str,
    pub name: &'static str,
    pub password: &'static str,
    pub submit: &'static str,
    pub invalid: &'static str,
}

impl Labels {
    fn new(lang: Lang) -> Labels {
        let t = |ja, en| Text::new(ja, en).pick(lang);
        Labels {
            title: t("初期設定", "Set up Kizuna"),
            intro: t("最初の管理者アカウントを作成します。", "Create the first administrator."),
            email: t("メールアドレス", "Email"),
            name: t("氏名", "Name"),
            password: t("パスワード（10 文字以上）", "Password (10 characters or more)"),
            submit: t("管理者を作成", "Create administrator"),
            invalid: t(
                "このセットアップリンクは使用済みか期限切れです。管理者に確認するか、kizuna user create で管理者を作成してください。",
                "This setup link has been used or has expired. Ask an administrator, or create one with `kizuna user create --admin`.",
            ),
        }
    }
}

#[derive(Template)]
#[template(path = "setup.html")]
pub struct SetupPage {
    pub lang: &'static str,
    pub t: Labels,
    pub valid: bool,
    pub token: String,
    pub errors: Vec<String>,
    pub email: String,
    pub name: String,
}

pub async fn form(
    State(app): State<AppState>,
    ReaderLang(lang): ReaderLang,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let valid = app.setup_token_valid(&token).await?;
    let page = SetupPage {
        lang: lang.code(),
        t: Labels::new(lang),
        valid,
        token,
        errors: Vec::new(),
        email: String::new(),
        name: String::new(),
    };
    let status = if valid { StatusCode::OK } else { StatusCode::NOT_FOUND };
    Ok((status, render(&page, "setup")?).into_response())
}

pub async fn submit(
    State(app): State<AppState>,
    Extension(options): Extension<WebOptions>,
    ReaderLang(lang): ReaderLang,
    Path(token): Path<String>,
    fields: FormFields,
) -> Result<Response, ApiError> {
    let lang = match fields.get("lang") {
        "en" => Lang::En,
        "ja" => Lang::Ja,
        _ => lang,
    };
    let email = Email::parse(fields.get("email"));
    let name = required_text(Some(fields.get("name")), 200);
    let result = match (email, name) {
        (Ok(email), Ok(name)) => app.complete_setup(&token, email, name, fields.get("password")).await,
        (email, name) => {
            let mut errors = Vec::new();
            if let Err(reason) = email {
                errors.push(domain::FieldError::new("email", reason));
            }
            if let Err(reason) = name {
                errors.push(domain::FieldError::new("name", reason));
            }
            Err(AppError::Invalid(errors))
        }
    };
    match result {
        Ok(session) => {
            let cookie = new_session_cookie(&session, &options);
            Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response())
        }
        Err(AppError::Invalid(errors)) => {
            let t = Labels::new(lang);
            let messages = errors
                .iter()
                .map(|e| {
                    let label = match e.field.as_str() {
                        "email" => t.email,
                        "name" => t.name,
                        _ => t.password,
                    };
                    format!("{label}: {}", e.message(lang))
                })
                .collect();
            let page = SetupPage {
                lang: lang.code(),
                t,
                valid: true,
                token,
                errors: messages,
                email: fields.get("email").to_owned(),
                name: fields.get("name").to_owned(),
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page, "setup")?).into_response())
        }
        Err(AppError::Forbidden) => {
            let page = SetupPage {
                lang: lang.code(),
                t: Labels::new(lang),
                valid: false,
                token,
                errors: Vec::new(),
                email: String::new(),
                name: String::new(),
            };
            Ok((StatusCode::NOT_FOUND, render(&page, "setup")?).into_response())
        }
        Err(other) => Err(other.into()),
    }
}
