//! `/s/{token}`: the public page a survey email's signed link opens. No sign-in: the link
//! itself says who answers which survey round, until it expires; a second answer, a tampered
//! or an expired link is told so in the reader's language, with a 4xx status.

use crate::extract::{FormFields, Path, ReaderLang};
use crate::pages::render;
use crate::problem::ApiError;
use crate::AppState;
use app::AppError;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::fields::Fields;
use domain::i18n::{Lang, Text};
use domain::tech_touch::{AnswerInput, ShownSurvey};
use domain::Reason;

/// The longest token a link carries (payload with a 320-byte email, and the signature).
const MAX_TOKEN_CHARS: usize = 1_000;

#[derive(Template)]
#[template(path = "survey_answer.html")]
pub struct AnswerPage {
    pub lang: &'static str,
    pub title: &'static str,
    pub survey: Option<ShownSurvey>,
    pub token: String,
    /// A problem with the link or the answer, in the reader's language.
    pub problem: Option<String>,
    pub thanks: bool,
    pub t: Words,
}

pub struct Words {
    pub comment: &'static str,
    pub send: &'static str,
    pub thanks: &'static str,
    pub scale: &'static str,
}

fn words(lang: Lang) -> Words {
    let t = |ja, en| Text::new(ja, en).pick(lang);
    Words {
        comment: t("ご意見があればお聞かせください（任意）", "Anything to add? (optional)"),
        send: t("回答を送る", "Send my answer"),
        thanks: t(
            "ご回答ありがとうございました。いただいた声はチームで必ず読みます。",
            "Thank you for your answer. Our team reads every one.",
        ),
        scale: t("点数", "Score"),
    }
}

fn page(lang: Lang, survey: Option<ShownSurvey>, token: &str, problem: Option<String>, thanks: bool) -> AnswerPage {
    AnswerPage {
        lang: lang.code(),
        title: Text::new("アンケート", "Survey").pick(lang),
        survey,
        token: token.to_owned(),
        problem,
        thanks,
        t: words(lang),
    }
}

/// A link problem as the page says it: the reason and a 4xx status.
fn refused(error: AppError, lang: Lang) -> Result<(StatusCode, String), ApiError> {
    match error {
        AppError::Invalid(fields) => {
            let expired = fields.iter().any(|f| f.reason == Reason::LinkExpired);
            let status = if expired { StatusCode::GONE } else { StatusCode::UNPROCESSABLE_ENTITY };
            Ok((status, fields.iter().map(|f| f.reason.message(lang)).collect::<Vec<_>>().join(" ")))
        }
        other => Err(other.into()),
    }
}

fn token_checked(token: &str) -> bool {
    token.len() <= MAX_TOKEN_CHARS
}

pub async fn form(
    State(app): State<AppState>,
    ReaderLang(lang): ReaderLang,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    if !token_checked(&token) {
        let problem = Reason::LinkInvalid.message(lang);
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            render(&page(lang, None, "", Some(problem), false), "survey answer")?,
        )
            .into_response());
    }
    match app.open_survey_link(&token).await {
        Ok((invite, saved)) => {
            let shown = saved.survey.shown(saved.id, invite.round, lang);
            Ok(render(&page(lang, Some(shown), &token, None, false), "survey answer")?.into_response())
        }
        Err(error) => {
            let (status, problem) = refused(error, lang)?;
            Ok((status, render(&page(lang, None, "", Some(problem), false), "survey answer")?).into_response())
        }
    }
}

pub async fn submit(
    State(app): State<AppState>,
    ReaderLang(lang): ReaderLang,
    Path(token): Path<String>,
    fields: FormFields,
) -> Result<Response, ApiError> {
    if !token_checked(&token) {
        let problem = Reason::LinkInvalid.message(lang);
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            render(&page(lang, None, "", Some(problem), false), "survey answer")?,
        )
            .into_response());
    }
    let opened = match app.open_survey_link(&token).await {
        Ok(opened) => opened,
        Err(error) => {
            let (status, problem) = refused(error, lang)?;
            return Ok((status, render(&page(lang, None, "", Some(problem), false), "survey answer")?).into_response());
        }
    };
    let (invite, saved) = opened;
    let body = serde_json::json!({ "score": fields.get("score"), "comment": fields.get("comment") });
    let answer = Fields::new(body, &["score", "comment"]).ok().and_then(|mut f| {
        let answer = AnswerInput::parse(saved.survey.kind, &mut f);
        f.errors.is_empty().then_some(answer).flatten()
    });
    let shown = saved.survey.shown(saved.id, invite.round, lang);
    let Some(answer) = answer else {
        let problem = Text::new("点数を選んでください。", "Please choose a score.").pick(lang).to_owned();
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            render(&page(lang, Some(shown), &token, Some(problem), false), "survey answer")?,
        )
            .into_response());
    };
    match app.answer_by_link(&token, answer).await {
        Ok(_) => Ok(render(&page(lang, None, "", None, true), "survey answer")?.into_response()),
        Err(error) => {
            let (status, problem) = refused(error, lang)?;
            Ok((status, render(&page(lang, None, "", Some(problem), false), "survey answer")?).into_response())
        }
    }
}
