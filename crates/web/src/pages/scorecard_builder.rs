//! `/health/builder`: one scorecard as a form, for managers who do not write TOML — measures with
//! their type and parameters (features picked from the catalog), points drawn as a curve, weights
//! as shares that add up to 100% — and a preview of the draft's grade distribution and backtest
//! AUC beside the saved configuration's, before anything is saved. The saved configuration goes
//! through the same validation as the TOML file.

use super::builder::{self, number, text};
use super::health::measure_type;
use super::{choices, Choice};
use super::{format, render, Frame};
use crate::auth::Signed;
use crate::extract::{FormFields, FormRow, QueryParams};
use crate::problem::ApiError;
use crate::AppState;
use app::health::HealthPreview;
use app::AppError;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::health::{
    AccountMatch, ActivityScope, CriticalRule, HealthConfig, MeasureSpec, MeasureType, PointsMapping, Scorecard,
};
use domain::i18n::Lang;
use domain::{FieldError, Reason};

/// Value–points pairs a measure's form offers beyond those it has.
const SPARE_PAIRS: usize = 2;
/// The fewest pairs a measure's form shows.
const MIN_PAIRS: usize = 4;
/// How far the shares may be from 100% (rounding of one decimal per measure).
const SHARE_TOLERANCE: f64 = 0.05;

#[derive(Default)]
pub struct PairForm {
    pub value: String,
    pub points: String,
}

/// A measure as the form holds it: what was saved, or what was sent back with errors.
#[derive(Default)]
pub struct MeasureForm {
    pub key: String,
    pub kind: String,
    pub feature: String,
    pub scope: String,
    pub periods: String,
    pub days: String,
    pub recent_days: String,
    pub baseline_days: String,
    pub min_baseline: String,
    pub share: String,
    /// `piecewise` or `thresholds`.
    pub mapping: String,
    pub pairs: Vec<PairForm>,
    pub critical_below: String,
    pub critical_grade: String,
}

/// A scorecard as the form holds it.
#[derive(Default)]
pub struct CardForm {
    /// The key of the scorecard being edited; empty for a new one.
    pub original: String,
    pub key: String,
    pub name: String,
    pub name_en: String,
    pub tier: String,
    pub stage: String,
    pub touch_model: String,
    pub measures: Vec<MeasureForm>,
}

fn pad_pairs(mut pairs: Vec<PairForm>) -> Vec<PairForm> {
    let wanted = (pairs.len() + SPARE_PAIRS).max(MIN_PAIRS);
    pairs.resize_with(wanted, PairForm::default);
    pairs
}

/// Weights as shares of 100 with one decimal, the rounding left on the largest, so the form
/// shows shares that add up to exactly 100.
fn shares(weights: &[f64]) -> Vec<f64> {
    let total: f64 = weights.iter().sum();
    if total <= 0.0 {
        return weights.to_vec();
    }
    let mut shares: Vec<f64> = weights.iter().map(|w| (w / total * 1000.0).round() / 10.0).collect();
    let rest = 100.0 - shares.iter().sum::<f64>();
    if let Some(largest) = (0..shares.len()).max_by(|a, b| shares[*a].total_cmp(&shares[*b])) {
        shares[largest] = ((shares[largest] + rest) * 10.0).round() / 10.0;
    }
    shares
}

impl CardForm {
    fn of(card: &Scorecard) -> CardForm {
        let rule = card.applies_to.clone().unwrap_or_default();
        let weights: Vec<f64> = card.measures.iter().map(|m| m.weight).collect();
        let measures = card
            .measures
            .iter()
            .zip(shares(&weights))
            .map(|(m, share)| {
                let (mapping, pairs) = match (&m.points.thresholds, &m.points.piecewise) {
                    (Some(steps), _) => ("thresholds", steps.clone()),
                    (None, Some(knots)) => ("piecewise", knots.clone()),
                    (None, None) => ("piecewise", Vec::new()),
                };
                MeasureForm {
                    key: m.key.clone(),
                    kind: m.kind.key(),
                    feature: text(m.feature.as_ref()),
                    scope: match m.scope {
                        Some(ActivityScope::All) => "all".into(),
                        Some(ActivityScope::Core) => "core".into(),
                        None => String::new(),
                    },
                    periods: text(m.periods),
                    days: text(m.days),
                    recent_days: text(m.recent_days),
                    baseline_days: text(m.baseline_days),
                    min_baseline: text(m.min_baseline.map(|b| format::trimmed(b, 4))),
                    share: format::trimmed(share, 4),
                    mapping: mapping.into(),
                    pairs: pad_pairs(
                        pairs
                            .iter()
                            .map(|(v, p)| PairForm { value: format::trimmed(*v, 4), points: format::trimmed(*p, 4) })
                            .collect(),
                    ),
                    critical_below: text(m.critical.as_ref().map(|c| format::trimmed(c.below, 4))),
                    critical_grade: text(m.critical.as_ref().map(|c| c.grade.clone())),
                }
            })
            .collect();
        CardForm {
            original: card.key.clone(),
            key: card.key.clone(),
            name: card.name.clone(),
            name_en: text(card.name_en.as_ref()),
            tier: text(rule.tier),
            stage: text(rule.stage),
            touch_model: text(rule.touch_model),
            measures,
        }
    }

    fn blank_measure() -> MeasureForm {
        MeasureForm { mapping: "piecewise".into(), pairs: pad_pairs(Vec::new()), ..MeasureForm::default() }
    }

    fn sent(fields: &FormFields) -> CardForm {
        let measure = |row: &FormRow| {
            let values = row.all("value");
            let points = row.all("points");
            let pairs = (0..values.len().max(points.len()))
                .map(|i| PairForm {
                    value: values.get(i).copied().unwrap_or_default().to_owned(),
                    points: points.get(i).copied().unwrap_or_default().to_owned(),
                })
                .filter(|p| !(p.value.is_empty() && p.points.is_empty()))
                .collect();
            MeasureForm {
                key: row.get("key").into(),
                kind: row.get("type").into(),
                feature: row.get("feature").into(),
                scope: row.get("scope").into(),
                periods: row.get("periods").into(),
                days: row.get("days").into(),
                recent_days: row.get("recent_days").into(),
                baseline_days: row.get("baseline_days").into(),
                min_baseline: row.get("min_baseline").into(),
                share: row.get("share").into(),
                mapping: row.get("mapping").into(),
                pairs: pad_pairs(pairs),
                critical_below: row.get("critical_below").into(),
                critical_grade: row.get("critical_grade").into(),
            }
        };
        let field = |name: &str| fields.get(name).trim().to_owned();
        CardForm {
            original: field("original"),
            key: field("key"),
            name: field("name"),
            name_en: field("name_en"),
            tier: field("tier"),
            stage: field("stage"),
            touch_model: field("touch_model"),
            measures: fields.rows("m").iter().filter(|row| !row.checked("remove")).map(measure).collect(),
        }
    }

    /// The scorecard the form describes; every value that is not a number where one is needed,
    /// and shares that do not add up to 100, named by field. The rest is checked with the whole
    /// configuration, as the TOML file is.
    fn scorecard(&self, stored: Option<&Scorecard>) -> Result<Scorecard, Vec<FieldError>> {
        let mut errors = Vec::new();
        let optional = |raw: &str| (!raw.is_empty()).then(|| raw.to_owned());
        let mut measures = Vec::new();
        let mut total = 0.0;
        for (i, m) in self.measures.iter().enumerate() {
            let at = |name: &str| format!("measure[{i}].{name}");
            let Some(kind) = MeasureType::from_key(&m.kind) else {
                let allowed = MeasureType::ALL.iter().map(|k| k.key()).collect();
                errors.push(FieldError::new(at("type"), Reason::NotOneOf { allowed }));
                continue;
            };
            let weight: Option<f64> = number(&mut errors, at("share"), &m.share, Reason::InvalidDecimal);
            if m.share.is_empty() {
                errors.push(FieldError::new(at("share"), Reason::Required));
            }
            total += weight.unwrap_or(0.0);
            let mut pairs = Vec::new();
            for pair in &m.pairs {
                if pair.value.is_empty() && pair.points.is_empty() {
                    continue;
                }
                let value = number(&mut errors, at("points.value"), &pair.value, Reason::InvalidDecimal);
                let points = number(&mut errors, at("points.score"), &pair.points, Reason::InvalidDecimal);
                match (value, points) {
                    (Some(value), Some(points)) => pairs.push((value, points)),
                    _ if pair.value.is_empty() || pair.points.is_empty() => {
                        errors.push(FieldError::new(at("points"), Reason::Required));
                    }
                    _ => {}
                }
            }
            if pairs.is_empty() {
                errors.push(FieldError::new(at("points"), Reason::Required));
            }
            let points = if m.mapping == "thresholds" {
                PointsMapping { thresholds: Some(pairs), piecewise: None }
            } else {
                PointsMapping { thresholds: None, piecewise: Some(pairs) }
            };
            let critical = match (m.critical_grade.as_str(), m.critical_below.as_str()) {
                ("", _) => None,
                (_, "") => {
                    errors.push(FieldError::new(at("critical_below"), Reason::Required));
                    None
                }
                (grade, below) => number(&mut errors, at("critical_below"), below, Reason::InvalidDecimal)
                    .map(|below| CriticalRule { below, grade: grade.to_owned() }),
            };
            measures.push(MeasureSpec {
                key: m.key.clone(),
                kind,
                feature: optional(&m.feature),
                scope: match m.scope.as_str() {
                    "all" => Some(ActivityScope::All),
                    "core" => Some(ActivityScope::Core),
                    _ => None,
                },
                periods: number(&mut errors, at("periods"), &m.periods, Reason::InvalidInteger),
                days: number(&mut errors, at("days"), &m.days, Reason::InvalidInteger),
                recent_days: number(&mut errors, at("recent_days"), &m.recent_days, Reason::InvalidInteger),
                baseline_days: number(&mut errors, at("baseline_days"), &m.baseline_days, Reason::InvalidInteger),
                min_baseline: number(&mut errors, at("min_baseline"), &m.min_baseline, Reason::InvalidDecimal),
                weight: weight.unwrap_or(0.0),
                points,
                critical,
            });
        }
        if !self.measures.is_empty() && (total - 100.0).abs() > SHARE_TOLERANCE {
            errors.push(FieldError::new("share", Reason::SharesNotWhole { total: format::trimmed(total, 4) }));
        }
        if self.key.is_empty() {
            errors.push(FieldError::new("key", Reason::Required));
        }
        if self.name.is_empty() {
            errors.push(FieldError::new("name", Reason::Required));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        // Conditions on custom fields are set in the TOML file; the form keeps them.
        let custom = stored.and_then(|c| c.applies_to.as_ref()).map(|r| r.custom.clone()).unwrap_or_default();
        let rule = AccountMatch {
            tier: optional(&self.tier),
            stage: optional(&self.stage),
            touch_model: optional(&self.touch_model),
            custom,
        };
        Ok(Scorecard {
            key: self.key.clone(),
            name: self.name.clone(),
            name_en: optional(&self.name_en),
            applies_to: (rule != AccountMatch::default()).then_some(rule),
            measures,
        })
    }
}

/// The whole configuration with this card in its place (a new card goes before the default,
/// which must stay last to catch every other account), and the card's position.
fn with_card(mut config: HealthConfig, original: &str, card: Scorecard) -> (HealthConfig, usize) {
    let at = match config.scorecards.iter().position(|c| !original.is_empty() && c.key == original) {
        Some(i) => {
            config.scorecards[i] = card;
            i
        }
        None => {
            let i = config.scorecards.iter().position(|c| c.applies_to.is_none()).unwrap_or(config.scorecards.len());
            config.scorecards.insert(i, card);
            i
        }
    };
    (config, at)
}

pub struct PreviewRow {
    pub name: String,
    pub colour: String,
    pub draft: usize,
    pub saved: usize,
}

pub struct PreviewView {
    pub rows: Vec<PreviewRow>,
    pub auc: String,
    pub saved_auc: String,
    pub observations: usize,
    pub churn_rate: String,
    pub from: String,
    pub to: String,
}

#[derive(Template)]
#[template(path = "scorecard_builder.html")]
pub struct BuilderPage {
    pub frame: Frame,
    pub form: CardForm,
    /// Per measure: the choices of its type, feature, scope, mapping and critical grade.
    pub measure_choices: Vec<MeasureChoices>,
    pub share_total: String,
    pub shares_whole: bool,
    pub errors: Vec<String>,
    pub preview: Option<PreviewView>,
    /// The saved scorecard can be removed (it exists and is not the only default).
    pub removable: bool,
}

pub struct MeasureChoices {
    pub types: Vec<Choice>,
    pub features: Vec<Choice>,
    pub scopes: Vec<Choice>,
    pub mappings: Vec<Choice>,
    pub grades: Vec<Choice>,
}

/// Which measure types each parameter applies to, for the page script to show only those.
pub struct ParameterKinds {
    pub feature: String,
    pub periods: String,
    pub days: String,
    pub trend: String,
}

impl BuilderPage {
    pub fn kinds(&self) -> ParameterKinds {
        let of = |keep: fn(MeasureType) -> bool| {
            MeasureType::ALL.into_iter().filter(|k| keep(*k)).map(MeasureType::key).collect::<Vec<_>>().join(" ")
        };
        ParameterKinds {
            feature: of(MeasureType::takes_feature),
            periods: of(|k| k == MeasureType::CadenceAdherence),
            days: of(MeasureType::takes_days),
            trend: of(MeasureType::reads_usage_windows),
        }
    }
}

async fn page(
    app: &AppState,
    frame: Frame,
    form: CardForm,
    errors: Vec<String>,
    preview: Option<HealthPreview>,
) -> Result<BuilderPage, ApiError> {
    let lang = frame.lang;
    let config = app.health_config().await?;
    let features = app.features().await?;
    let type_options: Vec<(String, String)> =
        MeasureType::ALL.into_iter().map(|k| (k.key(), measure_type(k, lang).to_owned())).collect();
    let pick = |ja: &str, en: &str| lang.pick(ja, en).to_owned();
    let grade_options: Vec<(String, String)> = std::iter::once((String::new(), pick("なし", "none")))
        .chain(config.grades.iter().map(|g| (g.key.clone(), pick(&g.name_ja, &g.name_en))))
        .collect();
    let measure_choices = form
        .measures
        .iter()
        .map(|m| MeasureChoices {
            types: choices(type_options.clone(), Some(m.kind.as_str())),
            features: choices(
                std::iter::once((String::new(), pick("（範囲で指定）", "(by scope)"))).chain(features.iter().map(
                    |f| {
                        let d = &f.definition;
                        let name = if lang == Lang::En { d.name_en.as_deref().unwrap_or(&d.name) } else { &d.name };
                        (d.key.to_string(), format!("{name} — {}", d.key))
                    },
                )),
                Some(m.feature.as_str()),
            ),
            scopes: choices(
                [
                    (String::new(), pick("既定", "default")),
                    ("all".into(), pick("すべてのイベント", "all events")),
                    ("core".into(), pick("主要機能", "core features")),
                ],
                Some(m.scope.as_str()),
            ),
            mappings: choices(
                [
                    ("piecewise".into(), pick("線形補間（値 → 点）", "interpolated (value → points)")),
                    ("thresholds".into(), pick("しきい値（値以上 → 点）", "thresholds (at least value → points)")),
                ],
                Some(m.mapping.as_str()),
            ),
            grades: choices(grade_options.clone(), Some(m.critical_grade.as_str())),
        })
        .collect();
    let total: f64 = form.measures.iter().filter_map(|m| m.share.parse::<f64>().ok()).sum();
    let saved = app.grade_distribution().await?;
    let preview = preview.map(|p| PreviewView {
        rows: p
            .grades
            .iter()
            .map(|(key, draft)| {
                let band = config.grades.iter().find(|g| g.key == *key);
                let saved_row = saved.iter().find(|g| g.grade == *key);
                PreviewRow {
                    name: config.grade_name(key).pick(lang).to_owned(),
                    colour: band.map_or_else(|| "#999999".into(), |b| b.colour.clone()),
                    draft: *draft,
                    saved: saved_row.map_or(0, |g| g.accounts),
                }
            })
            .collect(),
        auc: p.backtest.auc.map_or("—".into(), |a| format!("{a:.3}")),
        saved_auc: p.saved_auc.map_or("—".into(), |a| format!("{a:.3}")),
        observations: p.backtest.observations,
        churn_rate: format::percent(p.backtest.churn_rate),
        from: format::day_in_sentence(p.from, lang),
        to: format::day_in_sentence(p.to, lang),
    });
    let defaults = config.scorecards.iter().filter(|c| c.applies_to.is_none()).count();
    let removable = config
        .scorecards
        .iter()
        .find(|c| c.key == form.original)
        .is_some_and(|c| c.applies_to.is_some() || defaults > 1);
    Ok(BuilderPage {
        frame: frame.at("health"),
        measure_choices,
        share_total: format::trimmed(total, 4),
        shares_whole: (total - 100.0).abs() <= SHARE_TOLERANCE,
        errors,
        preview,
        removable,
        form,
    })
}

/// Errors in the reader's language, each naming the measure by number and key.
fn messages(errors: &[FieldError], form: &CardForm, card_index: Option<usize>, lang: Lang) -> Vec<String> {
    let word = lang.pick("指標", "Measure");
    let prefix = card_index.map(|k| format!("scorecard[{k}]."));
    let row_name = |i: usize| format!("{word} {} ({})", i + 1, form.measures.get(i).map_or("", |m| m.key.as_str()));
    builder::messages(errors, "measure", prefix.as_deref(), row_name, lang)
}

pub async fn show(State(app): State<AppState>, frame: Frame, params: QueryParams) -> Result<Response, ApiError> {
    let config = app.health_config().await?;
    let form = match params.text("card") {
        Some(key) => {
            let card = config.scorecards.iter().find(|c| c.key == key).ok_or(ApiError::NotFound)?;
            CardForm::of(card)
        }
        None => CardForm { measures: vec![CardForm::blank_measure()], ..CardForm::default() },
    };
    Ok(render(&page(&app, frame, form, Vec::new(), None).await?, "scorecard_builder")?.into_response())
}

/// `action`: `add` (one more measure row), `preview` (the draft's grades and backtest, nothing
/// saved), `save` (validated with the whole configuration, then every account rescored) or
/// `delete`.
pub async fn submit(
    State(app): State<AppState>,
    frame: Frame,
    Signed(actor): Signed,
    fields: FormFields,
) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let mut form = CardForm::sent(&fields);
    let config = app.health_config().await?;
    let stored = config.scorecards.iter().find(|c| !form.original.is_empty() && c.key == form.original).cloned();
    let unprocessable = |page: BuilderPage| -> Result<Response, ApiError> {
        Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page, "scorecard_builder")?).into_response())
    };
    match fields.get("action") {
        "add" => {
            form.measures.push(CardForm::blank_measure());
            return Ok(render(&page(&app, frame, form, Vec::new(), None).await?, "scorecard_builder")?.into_response());
        }
        "delete" => {
            let mut remaining = config.clone();
            remaining.scorecards.retain(|c| c.key != form.original);
            return match app.set_health_config(&actor, remaining).await {
                Ok(_) => {
                    app.recompute_health(None).await?;
                    Ok(Redirect::to("/health?done=config").into_response())
                }
                Err(AppError::Invalid(errors)) => {
                    let errors = messages(&errors, &form, None, lang);
                    unprocessable(page(&app, frame, form, errors, None).await?)
                }
                Err(other) => Err(other.into()),
            };
        }
        _ => {}
    }
    let card = match form.scorecard(stored.as_ref()) {
        Ok(card) => card,
        Err(errors) => {
            let errors = messages(&errors, &form, None, lang);
            return unprocessable(page(&app, frame, form, errors, None).await?);
        }
    };
    let (draft, index) = with_card(config, &form.original, card);
    let outcome = if fields.get("action") == "preview" {
        app.preview_health_config(&draft).await.map(Some)
    } else {
        app.set_health_config(&actor, draft).await.map(|_| None)
    };
    match outcome {
        Ok(Some(preview)) => {
            Ok(render(&page(&app, frame, form, Vec::new(), Some(preview)).await?, "scorecard_builder")?.into_response())
        }
        Ok(None) => {
            app.recompute_health(None).await?;
            Ok(Redirect::to("/health?done=config").into_response())
        }
        Err(AppError::Invalid(errors)) => {
            let errors = messages(&errors, &form, Some(index), lang);
            unprocessable(page(&app, frame, form, errors, None).await?)
        }
        Err(other) => Err(other.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_become_shares_that_add_up_to_exactly_one_hundred() {
        let shares = shares(&[1.0, 1.0, 1.0]);
        assert_eq!(shares, vec![33.3, 33.3, 33.4]);
        assert!((shares.iter().sum::<f64>() - 100.0).abs() < 1e-9);
    }

    #[test]
    fn a_new_scorecard_goes_before_the_default_one() {
        let config = app::health::default_health_config();
        let mut card = config.scorecards[0].clone();
        card.key = "enterprise".into();
        card.applies_to = Some(AccountMatch { tier: Some("enterprise".into()), ..AccountMatch::default() });
        let (config, at) = with_card(config, "", card);
        assert_eq!(at, 0);
        assert!(config.scorecards.last().is_some_and(|c| c.applies_to.is_none()));
    }
}
