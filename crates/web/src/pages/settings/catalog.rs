//! `/settings/features`: the feature catalog as a table with how many accounts used each feature,
//! a form to add or edit one feature (its event picked from the names tracking actually
//! received, with their counts), and the TOML file `kizuna features apply` reads, to edit and
//! apply here.

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
    /// Accounts that used it in the last 90 days.
    pub accounts: String,
    pub key: String,
    pub name: String,
    pub event: String,
    pub match_kind: &'static str,
    pub cadence: &'static str,
    pub season: String,
    pub importance: &'static str,
}

pub struct Labels {
    pub key: &'static str,
    pub name: &'static str,
    pub event: &'static str,
    pub match_kind: &'static str,
    pub cadence: &'static str,
    pub season: &'static str,
    pub importance: &'static str,
    pub editor: &'static str,
}

impl Labels {
    fn new(lang: Lang) -> Labels {
        let t = |ja, en| Text::new(ja, en).pick(lang);
        Labels {
            key: t("キー", "Key"),
            name: t("名前", "Name"),
            event: t("イベント", "Event"),
            match_kind: t("一致方法", "Match"),
            cadence: t("利用頻度", "Cadence"),
            season: t("時期", "Season"),
            importance: t("重要度", "Importance"),
            editor: t("TOML で編集", "Edit as TOML"),
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
    pub form: FeatureForm,
    pub received: Vec<ReceivedRow>,
    /// Each cadence's value and name, as the catalog table names it.
    pub cadences: Vec<(&'static str, &'static str)>,
}

/// The one-feature form: what it shows (a feature being edited, an event picked, or what a
/// refused save sent).
#[derive(Default)]
pub struct FeatureForm {
    pub key: String,
    pub name: String,
    pub name_en: String,
    pub event: String,
    pub match_kind: String,
    pub cadence: String,
    pub season: String,
    pub importance: String,
    pub editing: bool,
}

/// An event name tracking received, and the catalog features that count it.
pub struct ReceivedRow {
    pub event: String,
    pub events: String,
    pub accounts: String,
    pub counted_by: String,
    pub pick: String,
}

/// Usage and suggestions look this far back.
const WINDOW_DAYS: u64 = 90;
const SUGGESTED_EVENTS: i64 = 100;

/// `toml`: the text to edit, the stored catalog unless a refused edit is shown again.
async fn features_page(
    app: &AppState,
    frame: Frame,
    common: Common,
    toml: Option<String>,
    prune: bool,
    form: FeatureForm,
) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let today = app.today();
    let since = today.checked_sub_days(chrono::Days::new(WINDOW_DAYS - 1)).unwrap_or(today);
    let adoption: std::collections::HashMap<String, i64> =
        app.feature_adoption(since, today).await?.into_iter().map(|a| (a.feature, a.accounts_using)).collect();
    let rows: Vec<FeatureRow> = app
        .features()
        .await?
        .iter()
        .map(|feature| {
            let view = FeatureView::from(feature);
            FeatureRow {
                accounts: crate::pages::format::grouped(adoption.get(&view.key).copied().unwrap_or(0)),
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
    let received = app
        .received_events(WINDOW_DAYS, SUGGESTED_EVENTS)
        .await?
        .into_iter()
        .map(|(received, counted_by)| ReceivedRow {
            pick: format!(
                "/settings/features?{}#feature-form",
                serde_urlencoded::to_string([("event", received.event.as_str())]).unwrap_or_default()
            ),
            event: received.event,
            events: crate::pages::format::grouped(received.events),
            accounts: crate::pages::format::grouped(received.accounts),
            counted_by: counted_by
                .iter()
                .map(|key| rows.iter().find(|r| &r.key == key).map_or(key.as_str(), |r| r.name.as_str()))
                .collect::<Vec<_>>()
                .join(", "),
        })
        .collect();
    let cadences = domain::usage::catalog::CADENCES.map(|c| (c, cadence_name(c, lang))).to_vec();
    let page = FeaturesPage {
        frame: frame.at("settings"),
        common,
        t: Labels::new(lang),
        rows,
        toml,
        prune,
        form,
        received,
        cadences,
    };
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

/// `?edit=KEY` fills the form with a feature; `?event=NAME` starts a new one on that event.
pub async fn features(State(app): State<AppState>, frame: Frame, params: QueryParams) -> Result<Response, ApiError> {
    let notice = match params.text("done").as_deref() {
        Some("feature_saved") => Some(frame.pick("機能を保存しました。", "The feature was saved.").to_owned()),
        _ => applied_notice(&params, frame.lang),
    };
    let common = Common::new(frame.lang, "/settings/features").with_notice(notice);
    let form = match params.text("edit").map(|key| domain::usage::FeatureKey::parse(&key)) {
        Some(Ok(key)) => {
            let view = FeatureView::from(&app.feature(&key).await?);
            FeatureForm {
                key: view.key,
                name: view.name,
                name_en: view.name_en.unwrap_or_default(),
                event: view.event,
                match_kind: view.match_kind.to_owned(),
                cadence: view.cadence.to_owned(),
                season: view.season.unwrap_or_default(),
                importance: view.importance.as_str().to_owned(),
                editing: true,
            }
        }
        _ => FeatureForm { event: params.text("event").unwrap_or_default(), ..FeatureForm::default() },
    };
    features_page(&app, frame, common, None, false, form).await
}

/// Saves one feature from the form: a new key adds it, a known key replaces it. Its usage is
/// counted again from the events already received.
pub async fn save_feature(
    State(app): State<AppState>,
    frame: Frame,
    Signed(actor): Signed,
    fields: FormFields,
) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let form = FeatureForm {
        key: fields.get("key").trim().to_owned(),
        name: fields.get("name").to_owned(),
        name_en: fields.get("name_en").to_owned(),
        event: fields.get("event").to_owned(),
        match_kind: fields.get("match").to_owned(),
        cadence: fields.get("cadence").to_owned(),
        season: fields.get("season").to_owned(),
        importance: fields.get("importance").to_owned(),
        editing: !fields.get("editing").is_empty(),
    };
    let saved = async {
        let optional = |value: &str| if value.trim().is_empty() { serde_json::Value::Null } else { value.into() };
        let definition = domain::usage::FeatureDefinition::parse(serde_json::json!({
            "key": form.key, "name": form.name, "name_en": optional(&form.name_en), "event": form.event,
            "match": form.match_kind, "cadence": form.cadence, "season": optional(&form.season),
            "importance": form.importance,
        }))?;
        let key = definition.key.clone();
        match app.feature(&key).await {
            Ok(_) => app.update_feature(&actor, &key, definition).await,
            Err(AppError::NotFound { .. }) => app.create_feature(&actor, definition).await,
            Err(other) => Err(other),
        }
        .map_err(ApiError::from)
    }
    .await;
    match saved {
        Ok(_) => Ok(Redirect::to("/settings/features?done=feature_saved").into_response()),
        Err(error) => {
            let t = Labels::new(lang);
            let errors = refused(error, lang, |field| match field {
                "key" => t.key,
                "name" | "name_en" => t.name,
                "event" => t.event,
                "match" => t.match_kind,
                "cadence" => t.cadence,
                "season" => t.season,
                _ => t.importance,
            })?;
            let common = Common::new(lang, "/settings/features").with_errors(errors);
            features_page(&app, frame, common, None, false, form).await
        }
    }
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
    features_page(&app, frame, common, Some(text), prune, FeatureForm::default()).await
}
