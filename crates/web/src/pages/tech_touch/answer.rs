//! `/s/{token}`: the public page a survey email's signed link opens. No sign-in: the link
//! itself says who answers which survey round, until it expires; a second answer, a tampered
//! or an expired link is told so in the reader's language, with a 4xx status.

use crate::extract::{FormFields, Path, ReaderLang};
use crate::pages::render;
use crate::problem::ApiError;
use crate::AppState;
use app::tech_touch::SavedSurvey;
use app::AppError;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::fields::Fields;
use domain::i18n::{Lang, Text};
use domain::tech_touch::{AnswerInput, ShownSurvey, SurveyInvite};
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

/// The page saying only what is wrong, with its 4xx status.
fn problem_page(lang: Lang, status: StatusCode, problem: String) -> Result<Response, ApiError> {
    Ok((status, render(&page(lang, None, "", Some(problem), false), "survey answer")?).into_response())
}

/// The invite and survey a link opens, or the page saying why it does not.
async fn opened(
    app: &AppState,
    token: &str,
    lang: Lang,
) -> Result<Result<(SurveyInvite, SavedSurvey), Response>, ApiError> {
    if token.len() > MAX_TOKEN_CHARS {
        return problem_page(lang, StatusCode::UNPROCESSABLE_ENTITY, Reason::LinkInvalid.message(lang)).map(Err);
    }
    match app.open_survey_link(token).await {
        Ok(opened) => Ok(Ok(opened)),
        Err(error) => {
            let (status, problem) = refused(error, lang)?;
            problem_page(lang, status, problem).map(Err)
        }
    }
}

pub async fn form(
    State(app): State<AppState>,
    ReaderLang(lang): ReaderLang,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    match opened(&app, &token, lang).await? {
        Ok((invite, saved)) => {
            let shown = saved.survey.shown(saved.id, invite.round, lang);
            Ok(render(&page(lang, Some(shown), &token, None, false), "survey answer")?.into_response())
        }
        Err(problem) => Ok(problem),
    }
}

pub async fn submit(
    State(app): State<AppState>,
    ReaderLang(lang): ReaderLang,
    Path(token): Path<String>,
    fields: FormFields,
) -> Result<Response, ApiError> {
    let (invite, saved) = match opened(&app, &token, lang).await? {
        Ok(opened) => opened,
        Err(problem) => return Ok(problem),
    };
    let body = serde_json::json!({ "score": fields.get("score"), "comment": fields.get("comment") });
    let answer = Fields::new(body, &["score", "comment"]).ok().and_then(|mut f| {
        let answer = AnswerInput::parse(saved.survey.kind, &mut f);
        f.errors.is_empty().then_some(answer).flatten()
    });
    let Some(answer) = answer else {
        let shown = saved.survey.shown(saved.id, invite.round, lang);
        let problem = Text::new("点数を選んでください。", "Please choose a score.").pick(lang).to_owned();
        let page = page(lang, Some(shown), &token, Some(problem), false);
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page, "survey answer")?).into_response());
    };
    match app.answer_by_link(&token, answer).await {
        Ok(_) => Ok(render(&page(lang, None, "", None, true), "survey answer")?.into_response()),
        Err(error) => {
            let (status, problem) = refused(error, lang)?;
            problem_page(lang, status, problem)
        }
    }
}
