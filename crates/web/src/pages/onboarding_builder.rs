//! `/onboarding/templates/builder`: an onboarding template as a form — name, whether plans start
//! from it automatically and from when, the stage an account reaches when its plan completes,
//! and milestone rows (key, names, expected days, the segment rule that completes it by itself).
//! Saving goes through the same validation as the TOML file and the API.

use super::builder;
use super::{choices, Choice};
use super::{render, Frame};
use crate::extract::{FormFields, FormRow, QueryParams};
use crate::problem::ApiError;
use crate::AppState;
use app::AppError;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::account::stage_name;
use domain::i18n::Lang;
use domain::onboarding::{Milestone, OnboardingTemplate};
use domain::{FieldError, Reason};

/// Empty milestone rows a form offers beyond those it has.
const SPARE_MILESTONES: usize = 1;

#[derive(Default)]
pub struct MilestoneForm {
    pub key: String,
    pub name_ja: String,
    pub name_en: String,
    pub expected_days: String,
    pub rule: String,
}

#[derive(Default)]
pub struct TemplateForm {
    /// Empty for a new template.
    pub id: String,
    pub name: String,
    pub name_en: String,
    pub default: bool,
    pub active_from: String,
    pub complete_stage: String,
    pub milestones: Vec<MilestoneForm>,
}

impl TemplateForm {
    fn of(id: Option<i64>, template: &OnboardingTemplate) -> TemplateForm {
        let mut milestones: Vec<MilestoneForm> = template
            .milestones
            .iter()
            .map(|m| MilestoneForm {
                key: m.key.clone(),
                name_ja: m.name_ja.clone(),
                name_en: m.name_en.clone(),
                expected_days: m.expected_days.to_string(),
                rule: m.rule.clone().unwrap_or_default(),
            })
            .collect();
        milestones.extend((0..SPARE_MILESTONES).map(|_| MilestoneForm::default()));
        TemplateForm {
            id: id.map(|id| id.to_string()).unwrap_or_default(),
            name: template.name.clone(),
            name_en: template.name_en.clone().unwrap_or_default(),
            default: template.default,
            active_from: template.active_from.map(|d| d.to_string()).unwrap_or_default(),
            complete_stage: template.complete_stage.clone().unwrap_or_default(),
            milestones,
        }
    }

    fn sent(fields: &FormFields) -> TemplateForm {
        let get = |name: &str| fields.get(name).trim().to_owned();
        let milestone = |row: &FormRow| MilestoneForm {
            key: row.get("key").into(),
            name_ja: row.get("name_ja").into(),
            name_en: row.get("name_en").into(),
            expected_days: row.get("expected_days").into(),
            rule: row.get("rule").into(),
        };
        TemplateForm {
            id: get("id"),
            name: get("name"),
            name_en: get("name_en"),
            default: !fields.get("default").is_empty(),
            active_from: get("active_from"),
            complete_stage: get("complete_stage"),
            milestones: fields
                .rows("ms")
                .iter()
                .filter(|row| !row.checked("remove"))
                .map(milestone)
                .filter(|m| !(m.key.is_empty() && m.name_ja.is_empty() && m.name_en.is_empty() && m.rule.is_empty()))
                .collect(),
        }
    }

    /// The template the form describes; a day or a number of days that is not one is named by
    /// field (`milestone[1].expected_days`, as in the TOML file). The rest is checked by the same
    /// validation as the file.
    fn template(&self) -> Result<OnboardingTemplate, Vec<FieldError>> {
        let mut errors = Vec::new();
        let optional = |raw: &str| (!raw.is_empty()).then(|| raw.to_owned());
        let active_from = match self.active_from.as_str() {
            "" => None,
            raw => raw.parse().map_err(|_| errors.push(FieldError::new("active_from", Reason::InvalidDate))).ok(),
        };
        let mut milestones = Vec::new();
        for (i, m) in self.milestones.iter().enumerate() {
            let expected_days = match m.expected_days.parse::<u32>() {
                Ok(days) => days,
                Err(_) => {
                    let reason = match m.expected_days.parse::<i64>() {
                        _ if m.expected_days.is_empty() => Reason::Required,
                        Ok(_) => Reason::OutOfRange { min: "1".into(), max: "3650".into() },
                        Err(_) => Reason::InvalidInteger,
                    };
                    errors.push(FieldError::new(format!("milestone[{i}].expected_days"), reason));
                    0
                }
            };
            milestones.push(Milestone {
                key: m.key.clone(),
                name_ja: m.name_ja.clone(),
                name_en: m.name_en.clone(),
                expected_days,
                rule: optional(&m.rule),
            });
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(OnboardingTemplate {
            name: self.name.clone(),
            name_en: optional(&self.name_en),
            default: self.default,
            active_from,
            complete_stage: optional(&self.complete_stage),
            milestones,
        })
    }
}

#[derive(Template)]
#[template(path = "onboarding_builder.html")]
pub struct BuilderPage {
    pub frame: Frame,
    pub form: TemplateForm,
    pub stages: Vec<Choice>,
    pub errors: Vec<String>,
}

async fn page(app: &AppState, frame: Frame, form: TemplateForm, errors: Vec<String>) -> Result<BuilderPage, ApiError> {
    let lang = frame.lang;
    let none = (String::new(), lang.pick("変えない", "leave as is").to_owned());
    let stages = app.settings().stages.clone();
    let options = std::iter::once(none).chain(stages.iter().map(|s| (s.clone(), stage_name(s, lang))));
    Ok(BuilderPage {
        stages: choices(options, Some(form.complete_stage.as_str())),
        frame: frame.at("onboarding"),
        form,
        errors,
    })
}

fn messages(errors: &[FieldError], lang: Lang) -> Vec<String> {
    let word = lang.pick("マイルストーン", "Milestone");
    builder::messages(errors, "milestone", None, |i| format!("{word} {}", i + 1), lang)
}

pub async fn show(State(app): State<AppState>, frame: Frame, mut params: QueryParams) -> Result<Response, ApiError> {
    let form = match params.id("id") {
        Some(id) => TemplateForm::of(Some(id), &app.onboarding_template(id).await?.definition),
        None => TemplateForm { milestones: vec![MilestoneForm::default()], ..TemplateForm::default() },
    };
    params.finish()?;
    Ok(render(&page(&app, frame, form, Vec::new()).await?, "onboarding_builder")?.into_response())
}

/// `action`: `add` (one more milestone row) or `save`.
pub async fn submit(State(app): State<AppState>, frame: Frame, fields: FormFields) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let mut form = TemplateForm::sent(&fields);
    if fields.get("action") == "add" {
        form.milestones.push(MilestoneForm::default());
        return Ok(render(&page(&app, frame, form, Vec::new()).await?, "onboarding_builder")?.into_response());
    }
    let saved = match form.template() {
        Ok(template) => app.save_onboarding_template(&frame.actor, form.id.parse().ok(), template).await,
        Err(errors) => Err(AppError::Invalid(errors)),
    };
    let errors = match saved {
        Ok(template) => {
            let to = format!("/onboarding?template={}&done=saved#templates", template.id);
            return Ok(Redirect::to(&to).into_response());
        }
        Err(AppError::Invalid(errors)) => messages(&errors, lang),
        Err(AppError::Conflict { .. }) => {
            vec![frame.pick("同じ名前のテンプレートがあります", "Another template has this name").to_owned()]
        }
        Err(other) => return Err(other.into()),
    };
    let page = page(&app, frame, form, errors).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page, "onboarding_builder")?).into_response())
}
