//! `/kpi/builder`: the KPI tree as a form — one row per node with its key, names, what it counts
//! (a metric Kizuna computes, or a number its owner enters in a unit), which way is better, the
//! owner team, the node it belongs under and how its children make it up. Saving goes through the
//! same validation as the TOML editor and the API; rows keep their order (a ratio's first child
//! is its numerator).

use super::builder;
use super::{choices, Choice};
use super::{render, Frame};
use crate::extract::{FormFields, FormRow};
use crate::problem::ApiError;
use crate::AppState;
use app::kpi::Phase;
use app::AppError;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::i18n::Lang;
use domain::kpi::{Direction, KpiNode, KpiTree, Metric, Relation, Unit};
use domain::{FieldError, Reason};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A value as the TOML and the API spell it (`logo_churn_rate`, `higher`, `sum`).
fn spelled<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// A value from its spelling; `None` for an empty field, an error naming the field otherwise.
fn parsed<T: DeserializeOwned>(errors: &mut Vec<FieldError>, field: String, raw: &str) -> Option<T> {
    if raw.is_empty() {
        return None;
    }
    let value = serde_json::from_value(serde_json::Value::String(raw.to_owned())).ok();
    if value.is_none() {
        errors.push(FieldError::new(field, Reason::Malformed { detail: raw.to_owned() }));
    }
    value
}

#[derive(Default)]
pub struct NodeForm {
    pub key: String,
    pub name_ja: String,
    pub name_en: String,
    /// A metric's spelling, or empty for a number people enter.
    pub metric: String,
    pub unit: String,
    pub direction: String,
    pub owner: String,
    pub parent: String,
    pub children_relation: String,
}

impl NodeForm {
    fn of(node: &KpiNode) -> NodeForm {
        NodeForm {
            key: node.key.clone(),
            name_ja: node.name_ja.clone(),
            name_en: node.name_en.clone(),
            metric: node.metric.as_ref().map(spelled).unwrap_or_default(),
            unit: node.unit.as_ref().map(spelled).unwrap_or_default(),
            direction: spelled(&node.direction),
            owner: node.owner.clone().unwrap_or_default(),
            parent: node.parent.clone().unwrap_or_default(),
            children_relation: node.children_relation.as_ref().map(spelled).unwrap_or_default(),
        }
    }

    fn sent(row: &FormRow) -> NodeForm {
        NodeForm {
            key: row.get("key").into(),
            name_ja: row.get("name_ja").into(),
            name_en: row.get("name_en").into(),
            metric: row.get("metric").into(),
            unit: row.get("unit").into(),
            direction: row.get("direction").into(),
            owner: row.get("owner").into(),
            parent: row.get("parent").into(),
            children_relation: row.get("children_relation").into(),
        }
    }

    fn is_blank(&self) -> bool {
        self.key.is_empty() && self.name_ja.is_empty() && self.name_en.is_empty() && self.metric.is_empty()
    }
}

/// The tree the rows describe; a choice that is not one is named by field (`node[2].metric`, as
/// in the TOML file). The rest is checked by the tree's own validation when it is saved.
fn tree(rows: &[NodeForm]) -> Result<KpiTree, Vec<FieldError>> {
    let mut errors = Vec::new();
    let optional = |raw: &str| (!raw.is_empty()).then(|| raw.to_owned());
    let mut nodes = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let at = |name: &str| format!("node[{i}].{name}");
        let metric: Option<Metric> = parsed(&mut errors, at("metric"), &row.metric);
        // An entered number has a unit; a computed one has its metric's.
        let unit: Option<Unit> = match metric {
            Some(_) => None,
            None => parsed(&mut errors, at("unit"), &row.unit).or(Some(Unit::Number)),
        };
        let direction = parsed(&mut errors, at("direction"), &row.direction).unwrap_or(Direction::Higher);
        let children_relation: Option<Relation> = parsed(&mut errors, at("children_relation"), &row.children_relation);
        nodes.push(KpiNode {
            key: row.key.clone(),
            name_ja: row.name_ja.clone(),
            name_en: row.name_en.clone(),
            metric,
            unit,
            direction,
            owner: optional(&row.owner),
            parent: optional(&row.parent),
            children_relation,
        });
    }
    if errors.is_empty() {
        Ok(KpiTree { nodes })
    } else {
        Err(errors)
    }
}

/// A node's row with the choices of its selects.
pub struct NodeRow {
    pub form: NodeForm,
    pub metrics: Vec<Choice>,
    pub units: Vec<Choice>,
    pub directions: Vec<Choice>,
    pub parents: Vec<Choice>,
    pub relations: Vec<Choice>,
}

#[derive(Template)]
#[template(path = "kpi_builder.html")]
pub struct BuilderPage {
    pub frame: Frame,
    pub rows: Vec<NodeRow>,
    pub errors: Vec<String>,
}

fn page(frame: Frame, rows: Vec<NodeForm>, errors: Vec<String>) -> BuilderPage {
    let lang = frame.lang;
    let t = |ja: &str, en: &str| lang.pick(ja, en).to_owned();
    let keys: Vec<String> = rows.iter().map(|r| r.key.clone()).filter(|k| !k.is_empty()).collect();
    let rows = rows
        .into_iter()
        .map(|row| {
            let metrics = std::iter::once((
                String::new(),
                t("入力する数値（下の単位で）", "A number people enter (in the unit)"),
            ))
            .chain(Metric::ALL.iter().map(|m| (spelled(m), m.describe(lang).to_owned())));
            let units = [
                (Unit::Number, t("数値", "Number")),
                (Unit::Count, t("件数", "Count")),
                (Unit::Percent, t("割合", "Percent")),
                (Unit::Money, t("金額", "Money")),
            ]
            .into_iter()
            .map(|(u, label)| (spelled(&u), label));
            let directions = [
                (Direction::Higher, t("高いほど良い", "Higher is better")),
                (Direction::Lower, t("低いほど良い", "Lower is better")),
            ]
            .into_iter()
            .map(|(d, label)| (spelled(&d), label));
            let parents = std::iter::once((String::new(), t("なし（KGI）", "None (a top goal)")))
                .chain(keys.iter().filter(|k| **k != row.key).map(|k| (k.clone(), k.clone())));
            let relations = [
                (None, t("子なし", "No children")),
                (Some(Relation::Sum), t("子の合計", "The sum of its children")),
                (Some(Relation::Ratio), t("1 つ目の子 ÷ 2 つ目の子", "First child ÷ second child")),
                (Some(Relation::Driver), t("子が動かす（計算なし）", "Moved by its children (no arithmetic)")),
            ]
            .into_iter()
            .map(|(r, label)| (r.as_ref().map(spelled).unwrap_or_default(), label));
            NodeRow {
                metrics: choices(metrics, Some(row.metric.as_str())),
                units: choices(units, Some(row.unit.as_str())),
                directions: choices(directions, Some(row.direction.as_str())),
                parents: choices(parents, Some(row.parent.as_str())),
                relations: choices(relations, Some(row.children_relation.as_str())),
                form: row,
            }
        })
        .collect();
    BuilderPage { rows, errors, frame: frame.at("kpi") }
}

fn messages(errors: &[FieldError], lang: Lang) -> Vec<String> {
    let word = lang.pick("指標", "Node");
    builder::messages(errors, "node", None, |i| format!("{word} {}", i + 1), lang)
}

pub async fn show(State(app): State<AppState>, frame: Frame) -> Result<Response, ApiError> {
    let tree = match app.kpi_tree().await? {
        Some(tree) => tree,
        None => Phase::BestPractice.tree()?,
    };
    let mut rows: Vec<NodeForm> = tree.nodes.iter().map(NodeForm::of).collect();
    rows.push(NodeForm::default());
    Ok(render(&page(frame, rows, Vec::new()), "kpi_builder")?.into_response())
}

/// `action`: `add` (one more row) or `save`.
pub async fn submit(State(app): State<AppState>, frame: Frame, fields: FormFields) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let mut rows: Vec<NodeForm> = fields
        .rows("node")
        .iter()
        .filter(|row| !row.checked("remove"))
        .map(NodeForm::sent)
        .filter(|row| !row.is_blank())
        .collect();
    if fields.get("action") == "add" {
        rows.push(NodeForm::default());
        return Ok(render(&page(frame, rows, Vec::new()), "kpi_builder")?.into_response());
    }
    let saved = match tree(&rows) {
        Ok(tree) => app.save_kpi_tree(&frame.actor, tree).await.map(drop),
        Err(errors) => Err(AppError::Invalid(errors)),
    };
    let errors = match saved {
        Ok(()) => return Ok(Redirect::to("/kpi?done=saved").into_response()),
        Err(AppError::Invalid(errors)) => messages(&errors, lang),
        Err(other) => return Err(other.into()),
    };
    let page = page(frame, rows, errors);
    Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page, "kpi_builder")?).into_response())
}
