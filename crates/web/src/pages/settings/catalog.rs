//! `/settings/features`: the feature catalog as a table, and as the TOML file `kizuna features
//! apply` reads, to edit and apply here.

use super::{notice, refused, Common};
use crate::auth::Signed;
use crate::extract::{FormFields, QueryParams};
use crate::pages::accounts::show::cadence_name;
use crate::pages::{render, Frame};
use crate::problem::ApiError;
use crate::AppState;
use app::{AppError, CatalogFile};
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use domain::i18n::{Lang, Text};
use domain::usage::{FeatureView, Importance};

pub struct FeatureRow {
    pub key: String,
    pub name: String,
    pub event: String,
    pub match_kind: &'static str,
    pub cadence: &'static str,
    pub season: String,
    pub importance: &'static str,
}

pub struct Labels {
    pub title: &'static str,
    pub key: &'static str,
    pub name: &'static str,
    pub event: &'static str,
    pub match_kind: &'static str,
    pub cadence: &'static str,
    pub season: &'static str,
    pub importance: &'static str,
    pub empty: &'static str,
    pub editor: &'static str,
    pub editor_intro: &'static str,
    pub prune: &'static str,
    pub apply: &'static str,
}

impl Labels {
    fn new(lang: Lang) -> Labels {
        let t = |ja, en| Text::new(ja, en).pick(lang);
        Labels {
            title: t("機能カタログ", "Feature catalog"),
            key: t("キー", "Key"),
            name: t("名前", "Name"),
            event: t("イベント", "Event"),
            match_kind: t("一致方法", "Match"),
            cadence: t("利用頻度", "Cadence"),
            season: t("時期", "Season"),
            importance: t("重要度", "Importance"),
            empty: t("機能はまだ登録されていません。", "No features yet."),
            editor: t("TOML で編集", "Edit as TOML"),
            editor_intro: t(
                "kizuna features apply と同じ形式です（[[feature]] ごとに key, name, event, match, properties, cadence, season, importance）。誤りがあれば何も保存しません。",
                "The format of kizuna features apply ([[feature]] tables with key, name, event, match, properties, cadence, season, importance). Nothing is saved if anything is wrong.",
            ),
            prune: t("ファイルにない機能を削除する", "Remove features the file does not list"),
            apply: t("適用", "Apply"),
        }
    }
}

fn match_name(kind: &str, lang: Lang) -> &'static str {
    match kind {
        "prefix" => Text::new("前方一致", "prefix").pick(lang),
        _ => Text::new("完全一致", "exact").pick(lang),
    }
}

fn importance_name(importance: Importance, lang: Lang) -> &'static str {
    match importance {
        Importance::Core => Text::new("中核", "core").pick(lang),
        Importance::Supporting => Text::new("補助", "supporting").pick(lang),
    }
}

#[derive(Template)]
#[template(path = "settings_features.html")]
pub struct FeaturesPage {
    pub frame: Frame,
    pub common: Common,
    pub t: Labels,
    pub rows: Vec<FeatureRow>,
    pub toml: String,
    pub prune: bool,
}

/// `toml`: the text to edit, the stored catalog unless a refused edit is shown again.
async fn features_page(
    app: &AppState,
    frame: Frame,
    common: Common,
    toml: Option<String>,
    prune: bool,
) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let rows = app
        .features()
        .await?
        .iter()
        .map(|feature| {
            let view = FeatureView::from(feature);
            FeatureRow {
                match_kind: match_name(view.match_kind, lang),
                cadence: cadence_name(view.cadence, lang),
                season: view.season.unwrap_or_default(),
                importance: importance_name(view.importance, lang),
                key: view.key,
                name: match (lang, view.name_en) {
                    (Lang::En, Some(english)) => english,
                    _ => view.name,
                },
                event: view.event,
            }
        })
        .collect();
    let toml = match toml {
        Some(text) => text,
        None => app.catalog_toml().await?,
    };
    let page = FeaturesPage { frame: frame.at("settings"), common, t: Labels::new(lang), rows, toml, prune };
    let status = page.common.status();
    Ok((status, render(&page, "settings features")?).into_response())
}

/// What the last apply changed, from the redirect's query.
fn applied_notice(params: &QueryParams, lang: Lang) -> Option<String> {
    let done = notice(params.text("done"), lang)?;
    let count = |name: &str| params.text(name).and_then(|n| n.parse::<usize>().ok()).unwrap_or(0);
    let (created, updated, removed) = (count("created"), count("updated"), count("removed"));
    Some(match lang {
        Lang::Ja => format!("{done}（追加 {created} 件・更新 {updated} 件・削除 {removed} 件）"),
        Lang::En => format!("{done} ({created} added, {updated} updated, {removed} removed)"),
    })
}

pub async fn features(State(app): State<AppState>, frame: Frame, params: QueryParams) -> Result<Response, ApiError> {
    let common = Common::new(frame.lang, "/settings/features").with_notice(applied_notice(&params, frame.lang));
    features_page(&app, frame, common, None, false).await
}

/// Applies the edited file like `kizuna features apply`: all of it, or nothing when any
/// `[[feature]]` is wrong.
pub async fn apply(
    State(app): State<AppState>,
    frame: Frame,
    Signed(actor): Signed,
    fields: FormFields,
) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let text = fields.get("toml").to_owned();
    let prune = fields.get("prune") == "true";
    let applied = async {
        let file = CatalogFile::parse("features.toml", &text)?;
        app.apply_catalog(&actor, &file, prune).await
    }
    .await;
    let errors = match applied {
        Ok(changes) => {
            let query = serde_urlencoded::to_string([
                ("done", "features_applied".to_owned()),
                ("created", changes.created.len().to_string()),
                ("updated", changes.updated.len().to_string()),
                ("removed", changes.removed.len().to_string()),
            ])
            .unwrap_or_default();
            return Ok(Redirect::to(&format!("/settings/features?{query}")).into_response());
        }
        Err(AppError::ImportRejected { errors, .. }) => {
            let report = domain::interchange::table::Report::of(&errors);
            let listed = report.listed.iter().map(|e| match lang {
                Lang::Ja => format!("{} 行目の [[feature]]、{}: {}", e.line, e.column, e.reason.message(lang)),
                Lang::En => format!("[[feature]] at line {}, {}: {}", e.line, e.column, e.reason.message(lang)),
            });
            listed.chain(report.more(lang)).collect()
        }
        Err(other) => refused(other.into(), lang, |field| match field {
            "key" => Labels::new(lang).key,
            _ => Labels::new(lang).editor,
        })?,
    };
    let common = Common::new(lang, "/settings/features").with_errors(errors);
    features_page(&app, frame, common, Some(text), prune).await
}
