//! `/onboarding`: the onboarding board (plans on track, behind, stuck, and recently done, each
//! with its progress, next milestone and a button per open milestone for account editors), time
//! to onboard by cohort and team, and the templates with a TOML editor for managers.

use super::health::toml_errors;
use super::{format, Frame};
use crate::api::onboarding::plan_filter;
use crate::extract::Path;
use crate::extract::{FormFields, QueryParams};
use crate::problem::ApiError;
use crate::AppState;
use app::onboarding::{template_toml, PlanView, StatsBy, TemplateView};
use app::playbooks::parse_toml;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::access::Access;
use domain::i18n::{Lang, Text};
use domain::onboarding::{OnboardStats, OnboardingTemplate, PlanStatus};
use domain::AccountId;

/// Done plans stay on the board this many days after completion.
const RECENT_DONE_DAYS: i64 = 30;

/// A new template's starting point in the editor: the demo's standard template.
const STARTER: &str = include_str!("../../../../examples/onboarding.toml");

/// The starter's opening comment in Japanese, for the Japanese page (the example file is in English).
const STARTER_NOTES_JA: &str = "\
# オンボーディングテンプレート: 顧客が最初の価値に至るまでのマイルストーン。それぞれプラン開始
# （顧客の初回課金日、または CSM が手動で開始した日）から何日後に達成を見込むかを書きます。
# `rule`（セグメントのルール言語）を持つマイルストーンは、ルールが成り立つと自動で完了します。
# どのマイルストーンも手動で完了にできます。
#
# default        このテンプレートでプランを自動で開始する
# active_from    初回課金日がこの日以降の顧客だけが対象（省略すると保存した日）
# complete_stage すべてのマイルストーンが完了したときに顧客を移すライフサイクルステージ
";

/// The starter template in the reader's language: its opening comment translated, the TOML as is.
fn starter(lang: Lang) -> String {
    match lang {
        Lang::En => STARTER.to_owned(),
        Lang::Ja => {
            let body: String =
                STARTER.lines().skip_while(|line| line.starts_with('#')).map(|l| format!("{l}\n")).collect();
            format!("{STARTER_NOTES_JA}{body}")
        }
    }
}

pub struct MilestoneRow {
    pub key: String,
    pub name: String,
    pub due: String,
    pub done: bool,
}

pub struct Card {
    pub plan_id: i64,
    pub account_id: i64,
    pub account: String,
    pub template: String,
    pub started: String,
    pub done: usize,
    pub total: usize,
    /// The next open milestone and its due day.
    pub next: Option<(String, String)>,
    pub milestones: Vec<MilestoneRow>,
    pub editable: bool,
}

pub struct Column {
    pub status: &'static str,
    pub title: &'static str,
    pub cards: Vec<Card>,
}

pub struct StatsRow {
    pub key: String,
    pub median: String,
    pub p80: String,
    pub count: usize,
}

pub struct Labels {
    pub stats_columns: [&'static str; 4],
    pub template_columns: [&'static str; 3],
    pub definition: &'static str,
    pub saved: &'static str,
    pub completed: &'static str,
}

impl Labels {
    fn new(lang: Lang) -> Labels {
        let t = |ja, en| Text::new(ja, en).pick(lang);
        Labels {
            stats_columns: [
                t("区分", "Group"),
                t("中央値（日）", "Median (days)"),
                t("80パーセンタイル（日）", "80th percentile (days)"),
                t("完了数", "Completed"),
            ],
            template_columns: [t("名前", "Name"), t("マイルストーン", "Milestones"), t("既定", "Default")],
            definition: t("定義（TOML）", "Definition (TOML)"),
            saved: t("保存しました。", "Saved."),
            completed: t("マイルストーンを完了にしました。", "Milestone completed."),
        }
    }
}

#[derive(Template)]
#[template(path = "onboarding.html")]
pub struct OnboardingPage {
    pub frame: Frame,
    pub t: Labels,
    pub columns: Vec<Column>,
    /// Teams for the board's filter: id, name, selected.
    pub teams: Vec<(i64, String, bool)>,
    pub by_cohort: Vec<StatsRow>,
    pub by_team: Vec<StatsRow>,
    pub templates: Vec<(i64, String, usize, bool)>,
    /// The template in the editor (None: a new one).
    pub editing: Option<i64>,
    pub text: String,
    pub errors: Vec<String>,
    pub notice: Option<&'static str>,
    pub can_manage: bool,
}

fn status_title(status: PlanStatus, lang: Lang) -> &'static str {
    let t = |ja, en| Text::new(ja, en).pick(lang);
    match status {
        PlanStatus::OnTrack => t("順調", "On track"),
        PlanStatus::Behind => t("遅れ", "Behind"),
        PlanStatus::Stuck => t("停滞", "Stuck"),
        PlanStatus::Done => t("完了（最近）", "Done (recent)"),
    }
}

fn days(value: f64) -> String {
    format!("{value:.1}")
}

fn stats_rows(stats: Vec<OnboardStats>) -> Vec<StatsRow> {
    stats
        .into_iter()
        .map(|s| StatsRow { key: s.key, median: days(s.median_days), p80: days(s.p80_days), count: s.count })
        .collect()
}

async fn card(app: &AppState, frame: &Frame, plan: &PlanView) -> Result<Card, ApiError> {
    let lang = frame.lang;
    let pick = |ja: &str, en: &str| lang.pick(ja, en).to_owned();
    let account = app.account(AccountId(plan.account_id)).await?;
    Ok(Card {
        plan_id: plan.id,
        account_id: plan.account_id,
        account: plan.account_name.clone(),
        template: domain::i18n::name_in(&plan.template_name, plan.template_name_en.as_deref(), lang).to_owned(),
        started: format::date(Some(plan.started_on), lang),
        done: plan.done,
        total: plan.total,
        next: plan.next().map(|m| (pick(&m.name_ja, &m.name_en), format::date(Some(m.due_on), lang))),
        milestones: plan
            .milestones
            .iter()
            .map(|m| MilestoneRow {
                key: m.key.clone(),
                name: pick(&m.name_ja, &m.name_en),
                due: format::date(Some(m.due_on), lang),
                done: m.completed_on.is_some(),
            })
            .collect(),
        editable: plan.completed_on.is_none() && app.may_edit_account(&frame.actor, &account.input),
    })
}

async fn build(
    app: &AppState,
    frame: Frame,
    params: &mut QueryParams,
    editor: Option<(Option<i64>, String, Vec<String>)>,
) -> Result<OnboardingPage, ApiError> {
    let lang = frame.lang;
    let filter = plan_filter(params);
    let notice = match params.text("done").as_deref() {
        Some("saved") => Some(Labels::new(lang).saved),
        Some("completed") => Some(Labels::new(lang).completed),
        _ => None,
    };
    let chosen = params.id("template");
    params.errors.clear();
    let today = app.today();
    let plans = app.onboarding_plans(&filter).await?;
    let mut columns = Vec::new();
    for status in PlanStatus::ALL {
        let mut cards = Vec::new();
        for plan in plans.iter().filter(|p| p.status == status) {
            let recent = plan.completed_on.is_none_or(|done| (today - done).num_days() <= RECENT_DONE_DAYS);
            if recent {
                cards.push(card(app, &frame, plan).await?);
            }
        }
        columns.push(Column { status: status.as_str(), title: status_title(status, lang), cards });
    }
    let templates: Vec<TemplateView> = app.onboarding_templates().await?;
    let (editing, text, errors) = match editor {
        Some(editor) => editor,
        None => {
            let shown = chosen.and_then(|id| templates.iter().find(|t| t.id == id));
            (shown.map(|t| t.id), shown.map_or_else(|| starter(lang), |t| template_toml(&t.definition)), Vec::new())
        }
    };
    Ok(OnboardingPage {
        t: Labels::new(lang),
        columns,
        teams: app
            .teams()
            .await?
            .into_iter()
            .map(|team| (team.id.0, team.name, Some(team.id) == filter.team))
            .collect(),
        by_cohort: stats_rows(app.onboarding_stats(StatsBy::Cohort).await?),
        by_team: stats_rows(app.onboarding_stats(StatsBy::Team).await?),
        templates: templates
            .iter()
            .map(|t| (t.id, t.definition.name_in(lang).to_owned(), t.definition.milestones.len(), t.is_default))
            .collect(),
        editing,
        text,
        errors,
        notice,
        can_manage: frame.may(Access::Manage),
        frame: frame.at("onboarding"),
    })
}

pub async fn board(State(app): State<AppState>, frame: Frame, mut params: QueryParams) -> Result<Response, ApiError> {
    let page = build(&app, frame, &mut params, None).await?;
    Ok(super::render(&page, "onboarding")?.into_response())
}

async fn save(app: &AppState, frame: Frame, id: Option<i64>, fields: FormFields) -> Result<Response, ApiError> {
    let text = fields.get("definition").to_owned();
    let saved = match parse_toml::<OnboardingTemplate>("onboarding.toml", &text) {
        Ok(definition) => app.save_onboarding_template(&frame.actor, id, definition).await,
        Err(error) => Err(error),
    };
    let errors = match saved {
        Ok(template) => {
            return Ok(
                Redirect::to(&format!("/onboarding?template={}&done=saved#templates", template.id)).into_response()
            )
        }
        Err(app::AppError::Conflict { .. }) => {
            vec![Text::new("同じ名前のテンプレートがあります", "another template has this name")
                .pick(frame.lang)
                .to_owned()]
        }
        Err(error) => toml_errors(error, &text, frame.lang)?,
    };
    let page = build(app, frame, &mut QueryParams::from_query(""), Some((id, text, errors))).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, super::render(&page, "onboarding")?).into_response())
}

pub async fn create_template(
    State(app): State<AppState>,
    frame: Frame,
    fields: FormFields,
) -> Result<Response, ApiError> {
    save(&app, frame, None, fields).await
}

pub async fn update_template(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    frame: Frame,
    fields: FormFields,
) -> Result<Response, ApiError> {
    save(&app, frame, Some(id), fields).await
}

pub async fn delete_template(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    frame: Frame,
) -> Result<Response, ApiError> {
    app.delete_onboarding_template(&frame.actor, id).await?;
    Ok(Redirect::to("/onboarding#templates").into_response())
}

pub async fn complete(
    State(app): State<AppState>,
    Path((id, key)): Path<(i64, String)>,
    frame: Frame,
) -> Result<Response, ApiError> {
    app.complete_milestone(&frame.actor, id, &key).await?;
    Ok(Redirect::to("/onboarding?done=completed").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_japanese_starter_explains_itself_in_japanese_and_holds_the_same_template() {
        let ja = starter(Lang::Ja);
        assert!(ja.starts_with("# オンボーディングテンプレート"), "{ja}");
        assert!(!ja.contains("milestones the customer reaches"), "{ja}");
        let read = |text: &str| parse_toml::<OnboardingTemplate>("onboarding.toml", text).ok();
        assert!(read(&ja).is_some());
        assert_eq!(read(&ja), read(&starter(Lang::En)));
    }
}
