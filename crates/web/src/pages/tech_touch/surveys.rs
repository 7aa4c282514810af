//! `/surveys`: NPS, CSAT and CES surveys — the list, one survey's form, sending its signed
//! links by email, "why was this person not asked?", and its results: the score over time,
//! the whole distribution (a Japanese NPS is often negative, so the spread matters more than
//! the number), by segment, and every comment with its account's ARR.

use super::{field_label, form_json, segment_choices, TargetingForm};
use crate::auth::Signed;
use crate::extract::{FormFields, Path, QueryParams};
use crate::pages::chart::{Chart, Dataset};
use crate::pages::{choices, format, render, Choice, Frame};
use crate::problem::ApiError;
use crate::{AppState, WebOptions};
use app::tech_touch::{person_key, SurveyResults};
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use domain::i18n::{name_in, Lang};
use domain::money::format_money;
use domain::tech_touch::{ScoreSummary, Survey, SurveyKind, TouchKind};

/// A score as read: NPS as a signed whole number, a mean with one decimal; "—" without answers.
fn score_text(kind: SurveyKind, summary: &ScoreSummary) -> String {
    match (kind, summary.score) {
        (_, None) => "—".to_owned(),
        (SurveyKind::Nps, Some(nps)) => format!("{nps:+.0}"),
        (_, Some(mean)) => format!("{mean:.1}"),
    }
}

pub struct SurveyRow {
    pub id: i64,
    pub name: String,
    pub kind: &'static str,
    pub channels: String,
    pub active: bool,
    pub answers: usize,
    pub score: String,
}

#[derive(Template)]
#[template(path = "surveys.html")]
pub struct ListPage {
    pub frame: Frame,
    pub rows: Vec<SurveyRow>,
    pub notice: Option<&'static str>,
}

fn channels(survey: &Survey, lang: Lang) -> String {
    let t = |ja: &'static str, en: &'static str| lang.pick(ja, en);
    if survey.in_app {
        format!("{} · {}", t("製品内", "In product"), t("メール", "Email"))
    } else {
        t("メール", "Email").to_owned()
    }
}

pub async fn list(State(app): State<AppState>, frame: Frame, params: QueryParams) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let mut rows = Vec::new();
    for saved in app.surveys().await? {
        let summary = app.survey_summary(&saved).await?;
        rows.push(SurveyRow {
            id: saved.id,
            name: saved.survey.name.clone(),
            kind: saved.survey.kind.label(lang),
            channels: channels(&saved.survey, lang),
            active: saved.survey.active,
            answers: summary.answers,
            score: score_text(saved.survey.kind, &summary),
        });
    }
    let notice = params
        .text("done")
        .filter(|d| d == "deleted")
        .map(|_| frame.pick("アンケートを削除しました。", "The survey was deleted."));
    Ok(render(&ListPage { frame: frame.at("tech_touch"), rows, notice }, "surveys")?.into_response())
}

#[derive(Default)]
pub struct SurveyForm {
    pub name: String,
    pub kind: String,
    pub question: String,
    pub question_en: String,
    pub segment_id: Option<i64>,
    pub targeting: TargetingForm,
    pub every_days: String,
    pub opens_on: String,
    pub link_days: String,
    pub in_app: bool,
    pub active: bool,
}

const TEXT_FIELDS: [&str; 7] = ["name", "kind", "question", "question_en", "every_days", "opens_on", "link_days"];
const FLAGS: [&str; 2] = ["in_app", "active"];

impl SurveyForm {
    fn of(s: &Survey) -> SurveyForm {
        SurveyForm {
            name: s.name.clone(),
            kind: s.kind.as_str().to_owned(),
            question: s.question.clone().unwrap_or_default(),
            question_en: s.question_en.clone().unwrap_or_default(),
            segment_id: s.targeting.segment_id,
            targeting: TargetingForm::of(&s.targeting),
            every_days: s.every_days.to_string(),
            opens_on: s.opens_on.to_string(),
            link_days: s.link_days.to_string(),
            in_app: s.in_app,
            active: s.active,
        }
    }

    fn blank(today: chrono::NaiveDate) -> SurveyForm {
        SurveyForm {
            kind: SurveyKind::Nps.as_str().to_owned(),
            every_days: "90".into(),
            opens_on: today.to_string(),
            link_days: "14".into(),
            in_app: true,
            active: true,
            ..SurveyForm::default()
        }
    }

    fn sent(fields: &FormFields) -> SurveyForm {
        let get = |name: &str| fields.get(name).to_owned();
        SurveyForm {
            name: get("name"),
            kind: get("kind"),
            question: get("question"),
            question_en: get("question_en"),
            segment_id: fields.get("segment_id").parse().ok(),
            targeting: TargetingForm::sent(fields),
            every_days: get("every_days"),
            opens_on: get("opens_on"),
            link_days: get("link_days"),
            in_app: fields.checked("in_app"),
            active: fields.checked("active"),
        }
    }
}

pub struct AnswerView {
    pub account_id: i64,
    pub account: String,
    pub arr: String,
    pub score: i64,
    pub comment: String,
    pub channel: &'static str,
    pub when: String,
}

pub struct ResultsView {
    pub score: String,
    pub answers: usize,
    pub asked: i64,
    pub distribution: Chart,
    pub trend: Chart,
    /// (month, score, answers)
    pub months: Vec<(String, String, usize)>,
    /// (segment, score, answers)
    pub segments: Vec<(String, String, usize)>,
    pub rows: Vec<AnswerView>,
    pub is_nps: bool,
}

/// Whether one person would be asked now, as the page says it.
pub struct EligibilityView {
    pub person: String,
    pub answer: String,
    pub may_ask: bool,
}

#[derive(Template)]
#[template(path = "survey.html")]
pub struct SurveyPage {
    pub frame: Frame,
    pub id: Option<i64>,
    pub form: SurveyForm,
    pub kinds: Vec<Choice>,
    pub segments: Vec<Choice>,
    pub errors: Vec<String>,
    pub notice: Option<String>,
    pub results: Option<ResultsView>,
    pub eligibility: Option<EligibilityView>,
}

fn results_view(app: &AppState, kind: SurveyKind, r: SurveyResults, lang: Lang) -> ResultsView {
    let currency = app.settings().currency.clone();
    let zone = app.zone();
    let t = |ja: &'static str, en: &'static str| lang.pick(ja, en);
    let colour = |score: i64| match (kind, score) {
        (SurveyKind::Nps, 0..=6) | (SurveyKind::Csat, 1..=2) | (SurveyKind::Ces, 1..=3) => "#c2410c",
        (SurveyKind::Nps, 7..=8) | (SurveyKind::Csat, 3) | (SurveyKind::Ces, 4..=5) => "#a3a3a3",
        _ => "#15803d",
    };
    let distribution = Chart::bar(
        "survey-distribution",
        r.overall.distribution.iter().map(|(score, _)| score.to_string()).collect(),
        vec![Dataset::new(t("回答数", "Answers"), r.overall.distribution.iter().map(|(_, n)| *n as f64))
            .colours(r.overall.distribution.iter().map(|(score, _)| colour(*score).to_owned()).collect())],
    );
    let trend = Chart::line(
        "survey-trend",
        r.by_month.iter().map(|m| m.month.clone()).collect(),
        vec![Dataset::sparse(
            if kind == SurveyKind::Nps { "NPS" } else { t("平均", "Mean") },
            r.by_month.iter().map(|m| m.summary.score),
        )],
    );
    ResultsView {
        score: score_text(kind, &r.overall),
        answers: r.overall.answers,
        asked: r.asked,
        distribution,
        trend,
        months: r.by_month.iter().map(|m| (m.month.clone(), score_text(kind, &m.summary), m.summary.answers)).collect(),
        segments: r
            .by_segment
            .iter()
            .map(|s| {
                (
                    name_in(&s.name, s.name_en.as_deref(), lang).to_owned(),
                    score_text(kind, &s.summary),
                    s.summary.answers,
                )
            })
            .collect(),
        rows: r
            .answers
            .iter()
            .take(200)
            .map(|a| AnswerView {
                account_id: a.account_id,
                account: a.account_name.clone(),
                arr: format_money(a.arr, &currency, lang),
                score: a.score,
                comment: a.comment.clone().unwrap_or_default(),
                channel: if a.channel == "email" { t("メール", "Email") } else { t("製品内", "In product") },
                when: format::moment(Some(a.answered_at), &zone, lang),
            })
            .collect(),
        is_nps: kind == SurveyKind::Nps,
    }
}

async fn survey_page(
    app: &AppState,
    frame: Frame,
    id: Option<i64>,
    form: SurveyForm,
    errors: Vec<String>,
    notice: Option<String>,
    eligibility: Option<EligibilityView>,
) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let results = match id {
        Some(id) => {
            let kind = app.survey(id).await?.survey.kind;
            let results = app.survey_results(id).await?;
            Some(results_view(app, kind, results, lang))
        }
        None => None,
    };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = SurveyPage {
        kinds: choices(
            SurveyKind::ALL.iter().map(|k| (k.as_str().to_owned(), k.label(lang).to_owned())),
            Some(&form.kind),
        ),
        segments: segment_choices(app, lang, form.segment_id).await?,
        frame: frame.at("tech_touch"),
        id,
        form,
        errors,
        notice,
        results,
        eligibility,
    };
    Ok((status, render(&page, "survey")?).into_response())
}

pub async fn new_form(State(app): State<AppState>, frame: Frame) -> Result<Response, ApiError> {
    survey_page(&app, frame, None, SurveyForm::blank(app.today()), Vec::new(), None, None).await
}

pub async fn show(
    State(app): State<AppState>,
    frame: Frame,
    Path(id): Path<i64>,
    mut params: QueryParams,
) -> Result<Response, ApiError> {
    let saved = app.survey(id).await?;
    let lang = frame.lang;
    let person = params.parsed("person", person_key);
    let sent = params.parsed("queued", |raw| raw.parse::<usize>().map_err(|_| domain::Reason::InvalidInteger));
    let skipped = params.parsed("skipped", |raw| raw.parse::<usize>().map_err(|_| domain::Reason::InvalidInteger));
    let waiting = params.flag("waiting");
    let done = params.text("done");
    params.finish()?;
    let notice = match (done.as_deref(), sent) {
        (Some("saved"), _) => Some(frame.pick("保存しました。", "Saved.").to_owned()),
        (_, Some(queued)) => {
            let skipped = skipped.unwrap_or(0);
            let mut text = match lang {
                Lang::Ja => format!("{queued} 件の依頼メールを作成しました（対象外 {skipped} 件）。"),
                Lang::En => format!("{queued} invitation email(s) made ({skipped} contact(s) not asked)."),
            };
            if waiting {
                text.push_str(frame.pick(
                    " SMTP サーバーが未設定のため、メールは送信待ち（メール › 送信待ち）に残っています。",
                    " No SMTP server is set: the emails wait in the outbox.",
                ));
            }
            Some(text)
        }
        _ => None,
    };
    let eligibility = match person {
        Some(person) => {
            let decision = app.survey_eligibility(id, &person).await?;
            Some(match decision {
                Ok(round) => EligibilityView {
                    answer: match lang {
                        Lang::Ja => format!("今依頼できます（第 {} 回）", round + 1),
                        Lang::En => format!("may be asked now (round {})", round + 1),
                    },
                    person,
                    may_ask: true,
                },
                Err(why) => EligibilityView { answer: why.text(lang), person, may_ask: false },
            })
        }
        None => None,
    };
    survey_page(&app, frame, Some(id), SurveyForm::of(&saved.survey), Vec::new(), notice, eligibility).await
}

async fn save(
    app: AppState,
    frame: Frame,
    actor: app::Actor,
    id: Option<i64>,
    fields: FormFields,
) -> Result<Response, ApiError> {
    let body = form_json(&fields, &TEXT_FIELDS, &FLAGS);
    let saved = async {
        let survey = Survey::parse(body, app.today()).map_err(ApiError::Fields)?;
        Ok::<_, ApiError>(app.save_survey(&actor, id, survey).await?)
    }
    .await;
    match saved {
        Ok(saved) => Ok(Redirect::to(&format!("/surveys/{}?done=saved", saved.id)).into_response()),
        Err(error) => {
            let lang = frame.lang;
            let errors = crate::pages::settings::refused(error, lang, |f| field_label(f, lang))?;
            survey_page(&app, frame, id, SurveyForm::sent(&fields), errors, None, None).await
        }
    }
}

pub async fn create(
    State(app): State<AppState>,
    frame: Frame,
    Signed(actor): Signed,
    fields: FormFields,
) -> Result<Response, ApiError> {
    save(app, frame, actor, None, fields).await
}

pub async fn update(
    State(app): State<AppState>,
    frame: Frame,
    Signed(actor): Signed,
    Path(id): Path<i64>,
    fields: FormFields,
) -> Result<Response, ApiError> {
    app.survey(id).await?;
    save(app, frame, actor, Some(id), fields).await
}

pub async fn delete(
    State(app): State<AppState>,
    Signed(actor): Signed,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    app.delete_touch_item(&actor, TouchKind::Survey, id).await?;
    Ok(Redirect::to("/surveys?done=deleted").into_response())
}

/// Emails the survey's links now and comes back with the counts.
pub async fn send(
    State(app): State<AppState>,
    Signed(actor): Signed,
    Path(id): Path<i64>,
    Extension(options): Extension<WebOptions>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let base = crate::pages::settings::keys::base_url(&headers, &options);
    let report = app.send_survey(&actor, id, &base).await?;
    let skipped = report.contacts.iter().filter(|c| c.skipped.is_some()).count();
    let waiting = if report.waiting_for_smtp { "&waiting=true" } else { "" };
    Ok(Redirect::to(&format!("/surveys/{id}?queued={}&skipped={skipped}{waiting}#send", report.queued)).into_response())
}
