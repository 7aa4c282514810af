//! The feature catalog: which tracked events mean an account used a product capability, how
//! often it is expected to be used, and how much it matters.

use crate::fields::FieldReader;
use crate::fields::Fields;
use crate::ids::optional_text;
use crate::tracking::JsonObject;
use crate::{FieldError, Reason};
use chrono::NaiveDate;
use serde::Serialize;
use serde_json::{Map, Value};
use std::fmt;

/// A feature's stable identifier in files, APIs and scorecards: `payslip`, `year_end_adjustment`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct FeatureKey(String);

impl FeatureKey {
    pub fn parse(raw: &str) -> Result<FeatureKey, Reason> {
        let key = raw.trim();
        if key.is_empty() {
            return Err(Reason::Required);
        }
        if key.len() > 64 {
            return Err(Reason::TooLong { max: 64 });
        }
        if !key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-') {
            return Err(Reason::WrongType { expected: "lowercase letters, digits, _ or -" });
        }
        Ok(FeatureKey(key.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FeatureKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which event names count as a use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventMatch {
    Exact(String),
    Prefix(String),
}

impl EventMatch {
    pub fn pattern(&self) -> &str {
        match self {
            EventMatch::Exact(name) | EventMatch::Prefix(name) => name,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            EventMatch::Exact(_) => "exact",
            EventMatch::Prefix(_) => "prefix",
        }
    }

    pub fn from_parts(kind: &str, pattern: String) -> Result<EventMatch, Reason> {
        match kind {
            "exact" => Ok(EventMatch::Exact(pattern)),
            "prefix" => Ok(EventMatch::Prefix(pattern)),
            _ => Err(Reason::NotOneOf { allowed: vec!["exact".into(), "prefix".into()] }),
        }
    }

    pub fn matches(&self, event: &str) -> bool {
        match self {
            EventMatch::Exact(name) => event == name,
            EventMatch::Prefix(prefix) => event.starts_with(prefix.as_str()),
        }
    }
}

/// A day of the year, `MM-DD`; `02-29` falls on 28 February in common years.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct MonthDay {
    pub month: u32,
    pub day: u32,
}

impl MonthDay {
    pub fn parse(raw: &str) -> Result<MonthDay, Reason> {
        let invalid = || Reason::WrongType { expected: "a day of the year as MM-DD" };
        let (month, day) = raw.trim().split_once('-').ok_or_else(invalid)?;
        let month: u32 = month.parse().map_err(|_| invalid())?;
        let day: u32 = day.parse().map_err(|_| invalid())?;
        // 2024 is a leap year, so 02-29 is accepted.
        NaiveDate::from_ymd_opt(2024, month, day).ok_or_else(invalid)?;
        Ok(MonthDay { month, day })
    }

    pub fn in_year(self, year: i32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, self.month, self.day)
            .or_else(|| NaiveDate::from_ymd_opt(year, self.month, self.day - 1))
            .unwrap_or(NaiveDate::MIN)
    }
}

impl fmt::Display for MonthDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}-{:02}", self.month, self.day)
    }
}

/// The part of each year in which an annual feature is used, e.g. `11-01..01-31` (it may cross
/// the new year: that season is named by the year it starts in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeasonWindow {
    pub start: MonthDay,
    pub end: MonthDay,
}

impl SeasonWindow {
    pub fn parse(raw: &str) -> Result<SeasonWindow, Reason> {
        let (start, end) = raw
            .split_once("..")
            .ok_or(Reason::WrongType { expected: "a season as MM-DD..MM-DD, e.g. 11-01..01-31" })?;
        Ok(SeasonWindow { start: MonthDay::parse(start)?, end: MonthDay::parse(end)? })
    }
}

impl fmt::Display for SeasonWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

/// How often a customer who gets value from the feature uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cadence {
    Daily,
    Weekly,
    Monthly,
    Quarterly,
    Annual(SeasonWindow),
}

pub const CADENCES: [&str; 5] = ["daily", "weekly", "monthly", "quarterly", "annual"];

impl Cadence {
    pub fn name(&self) -> &'static str {
        match self {
            Cadence::Daily => "daily",
            Cadence::Weekly => "weekly",
            Cadence::Monthly => "monthly",
            Cadence::Quarterly => "quarterly",
            Cadence::Annual(_) => "annual",
        }
    }

    pub fn season(&self) -> Option<SeasonWindow> {
        match self {
            Cadence::Annual(window) => Some(*window),
            _ => None,
        }
    }

    /// Builds a cadence from its name and its season; only `annual` has (and needs) a season.
    pub fn from_parts(name: &str, season: Option<SeasonWindow>) -> Result<Cadence, (&'static str, Reason)> {
        let cadence = match name {
            "daily" => Cadence::Daily,
            "weekly" => Cadence::Weekly,
            "monthly" => Cadence::Monthly,
            "quarterly" => Cadence::Quarterly,
            "annual" => {
                return season.map(Cadence::Annual).ok_or(("season", Reason::Required));
            }
            _ => {
                return Err(("cadence", Reason::NotOneOf { allowed: CADENCES.iter().map(|c| c.to_string()).collect() }))
            }
        };
        match season {
            Some(_) => Err(("season", Reason::OnlyWith { field: "cadence", value: "annual" })),
            None => Ok(cadence),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Importance {
    /// Customers who succeed use it; its absence is a risk.
    Core,
    /// Deepens adoption; its absence alone is not a risk.
    Supporting,
}

impl Importance {
    pub fn parse(raw: &str) -> Result<Importance, Reason> {
        match raw.trim() {
            "core" => Ok(Importance::Core),
            "supporting" => Ok(Importance::Supporting),
            _ => Err(Reason::NotOneOf { allowed: vec!["core".into(), "supporting".into()] }),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Importance::Core => "core",
            Importance::Supporting => "supporting",
        }
    }
}

/// A feature as a user defines it.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureDefinition {
    pub key: FeatureKey,
    pub name: String,
    /// The name on English pages and in English explanations (default: `name`).
    pub name_en: Option<String>,
    pub event: EventMatch,
    /// Properties the event must carry with exactly these values (strings, numbers, booleans).
    pub properties: Map<String, Value>,
    pub cadence: Cadence,
    pub importance: Importance,
}

const FIELDS: &[&str] = &["key", "name", "name_en", "event", "match", "properties", "cadence", "season", "importance"];

impl FeatureDefinition {
    /// Parses a feature from its JSON (or TOML-turned-JSON) form, naming every bad field.
    pub fn parse(value: Value) -> Result<FeatureDefinition, Vec<FieldError>> {
        let properties_value = value.get("properties").cloned();
        let mut f = Fields::new(value, FIELDS)?;
        let key = f.required("key", FeatureKey::parse);
        let name = f.required("name", |raw| optional_text(Some(raw), 200).map(Option::unwrap_or_default));
        let name_en = f.parsed("name_en", |raw| optional_text(Some(raw), 200)).map(Option::flatten);
        let event = f.required("event", |raw| optional_text(Some(raw), 200).map(Option::unwrap_or_default));
        let match_kind =
            f.parsed("match", |raw| Ok(raw.trim().to_owned())).map(|m| m.unwrap_or_else(|| "exact".into()));
        let cadence_name = f.required("cadence", |raw| Ok(raw.trim().to_owned()));
        let season = f.parsed("season", SeasonWindow::parse);
        let importance = f.required("importance", Importance::parse);
        let properties = f.errors.check("properties", parse_property_filter(properties_value));
        let event = match (event, match_kind) {
            (Some(event), Some(kind)) => f.errors.check("match", EventMatch::from_parts(&kind, event)),
            _ => None,
        };
        let cadence = match (cadence_name, season) {
            (Some(name), Some(season)) => match Cadence::from_parts(&name, season) {
                Ok(cadence) => Some(cadence),
                Err((field, reason)) => {
                    f.errors.push(field, reason);
                    None
                }
            },
            _ => None,
        };
        f.errors.finish(|| {
            Some(FeatureDefinition {
                key: key?,
                name: name?,
                name_en: name_en?,
                event: event?,
                properties: properties?,
                cadence: cadence?,
                importance: importance?,
            })
        })
    }

    /// Whether a tracked event with this name and these properties is a use of the feature.
    pub fn matches(&self, event: &str, properties: &JsonObject) -> bool {
        if !self.event.matches(event) {
            return false;
        }
        if self.properties.is_empty() {
            return true;
        }
        let properties = properties.to_map();
        self.properties.iter().all(|(key, wanted)| properties.get(key).is_some_and(|got| same_value(got, wanted)))
    }
}

/// A feature matches on at most this many event properties, each named and valued in at most
/// these many characters (every tracked event is compared with them).
pub const MAX_PROPERTY_FILTERS: usize = 20;
const MAX_PROPERTY_KEY_CHARS: usize = 200;
const MAX_PROPERTY_VALUE_CHARS: usize = 1_000;

fn parse_property_filter(value: Option<Value>) -> Result<Map<String, Value>, Reason> {
    let expected = Reason::WrongType { expected: "an object of strings, numbers or booleans" };
    match value {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => {
            if map.len() > MAX_PROPERTY_FILTERS {
                return Err(Reason::OutOfRange { min: "0".into(), max: MAX_PROPERTY_FILTERS.to_string() });
            }
            for (key, value) in &map {
                let text_len = match value {
                    Value::String(text) => text.chars().count(),
                    Value::Number(_) | Value::Bool(_) => 0,
                    _ => return Err(expected),
                };
                if key.chars().count() > MAX_PROPERTY_KEY_CHARS {
                    return Err(Reason::TooLong { max: MAX_PROPERTY_KEY_CHARS });
                }
                if text_len > MAX_PROPERTY_VALUE_CHARS {
                    return Err(Reason::TooLong { max: MAX_PROPERTY_VALUE_CHARS });
                }
            }
            Ok(map)
        }
        Some(_) => Err(expected),
    }
}

/// Numbers compare by value (`1` equals `1.0`), everything else exactly.
fn same_value(got: &Value, wanted: &Value) -> bool {
    match (got, wanted) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        _ => got == wanted,
    }
}

/// A stored feature.
#[derive(Debug, Clone, PartialEq)]
pub struct Feature {
    pub id: i64,
    pub definition: FeatureDefinition,
}

/// A feature as the API shows it: the same shape `FeatureDefinition::parse` reads, plus its id.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FeatureView {
    pub id: i64,
    pub key: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_en: Option<String>,
    pub event: String,
    /// `exact` or `prefix`.
    #[serde(rename = "match")]
    pub match_kind: &'static str,
    #[schema(value_type = Object)]
    pub properties: Map<String, Value>,
    /// daily, weekly, monthly, quarterly or annual.
    pub cadence: &'static str,
    /// For annual features: the season, `MM-DD..MM-DD`.
    pub season: Option<String>,
    pub importance: Importance,
}

impl From<&Feature> for FeatureView {
    fn from(feature: &Feature) -> FeatureView {
        let d = &feature.definition;
        FeatureView {
            id: feature.id,
            key: d.key.to_string(),
            name: d.name.clone(),
            name_en: d.name_en.clone(),
            event: d.event.pattern().to_owned(),
            match_kind: d.event.kind(),
            properties: d.properties.clone(),
            cadence: d.cadence.name(),
            season: d.cadence.season().map(|s| s.to_string()),
            importance: d.importance,
        }
    }
}

impl FeatureView {
    /// The definition part, as `FeatureDefinition::parse` reads it (for PATCH and file export).
    pub fn definition_json(&self) -> Value {
        let mut value = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut value {
            map.remove("id");
            if self.season.is_none() {
                map.remove("season");
            }
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reasons(errors: Vec<FieldError>) -> Vec<(String, Reason)> {
        errors.into_iter().map(|e| (e.field, e.reason)).collect()
    }

    #[test]
    fn a_features_property_filter_is_bounded_in_count_and_length() {
        let with = |properties: Value| {
            FeatureDefinition::parse(json!({
                "key": "export", "name": "Export", "event": "Report Exported", "properties": properties,
                "cadence": "weekly", "importance": "supporting"
            }))
        };
        assert!(with(json!({"format": "pdf", "pages": 2})).is_ok());
        let many: Map<String, Value> = (0..=MAX_PROPERTY_FILTERS).map(|i| (format!("p{i}"), json!(i))).collect();
        let long = json!({"format": "x".repeat(1_001)});
        for (filter, reason) in [
            (Value::Object(many), Reason::OutOfRange { min: "0".into(), max: MAX_PROPERTY_FILTERS.to_string() }),
            (long, Reason::TooLong { max: 1_000 }),
        ] {
            assert_eq!(reasons(with(filter).unwrap_err()), [("properties".to_owned(), reason)]);
        }
    }

    #[test]
    fn a_seasonal_feature_parses_from_its_json_form() {
        let feature = FeatureDefinition::parse(json!({
            "key": "year_end_adjustment", "name": "年末調整", "event": "Year End Adjustment Submitted",
            "cadence": "annual", "season": "11-01..01-31", "importance": "core"
        }))
        .unwrap();
        assert_eq!(feature.event, EventMatch::Exact("Year End Adjustment Submitted".into()));
        assert_eq!(feature.cadence.season().unwrap().to_string(), "11-01..01-31");
        assert_eq!(feature.importance, Importance::Core);
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let errors = FeatureDefinition::parse(json!({
            "key": "Bad Key", "name": "", "event": "x", "match": "regex", "cadence": "hourly",
            "importance": "vital", "colour": "red", "properties": {"a": [1]}
        }))
        .unwrap_err();
        let fields: Vec<String> = reasons(errors).into_iter().map(|(f, _)| f).collect();
        for field in ["colour", "key", "name", "importance", "properties", "match", "cadence"] {
            assert!(fields.contains(&field.to_string()), "{field} missing from {fields:?}");
        }
    }

    #[test]
    fn annual_needs_a_season_and_only_annual_takes_one() {
        let annual = FeatureDefinition::parse(
            json!({"key": "a", "name": "A", "event": "e", "cadence": "annual", "importance": "core"}),
        )
        .unwrap_err();
        assert_eq!(reasons(annual), vec![("season".to_string(), Reason::Required)]);
        let monthly = FeatureDefinition::parse(json!({
            "key": "a", "name": "A", "event": "e", "cadence": "monthly", "season": "11-01..01-31", "importance": "core"
        }))
        .unwrap_err();
        assert_eq!(
            reasons(monthly),
            vec![("season".to_string(), Reason::OnlyWith { field: "cadence", value: "annual" })]
        );
    }

    #[test]
    fn season_days_must_exist() {
        assert!(SeasonWindow::parse("02-30..03-01").is_err());
        assert!(SeasonWindow::parse("11-01").is_err());
        assert_eq!(MonthDay::parse("02-29").unwrap().in_year(2025), NaiveDate::from_ymd_opt(2025, 2, 28).unwrap());
    }

    #[test]
    fn prefix_and_property_filters_decide_a_match() {
        let feature = FeatureDefinition::parse(json!({
            "key": "reports", "name": "Reports", "event": "report.", "match": "prefix",
            "properties": {"format": "pdf", "pages": 2}, "cadence": "weekly", "importance": "supporting"
        }))
        .unwrap();
        let props = |v: Value| JsonObject::from_map(v.as_object().unwrap());
        assert!(feature.matches("report.exported", &props(json!({"format": "pdf", "pages": 2.0, "x": 1}))));
        assert!(!feature.matches("report.exported", &props(json!({"format": "csv", "pages": 2}))));
        assert!(!feature.matches("report.exported", &props(json!({"format": "pdf"}))));
        assert!(!feature.matches("reports", &props(json!({"format": "pdf", "pages": 2}))));
    }

    #[test]
    fn the_view_round_trips_through_the_parser() {
        let definition = FeatureDefinition::parse(json!({
            "key": "payslip", "name": "給与明細", "event": "Payslip Published", "cadence": "monthly", "importance": "core"
        }))
        .unwrap();
        let view = FeatureView::from(&Feature { id: 7, definition: definition.clone() });
        assert_eq!(FeatureDefinition::parse(view.definition_json()).unwrap(), definition);
    }
}
