//! Workspace-wide settings.

use crate::account::{parse_custom_key, DEFAULT_STAGES};
use crate::fields::{FieldReader, Fields};
use crate::i18n::Lang;
use crate::money::{parse_decimal, Currency};
use crate::validation::{Errors, Reason};
use crate::FieldError;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WorkspaceSettings {
    pub currency: Currency,
    /// IANA time zone name; calendar days are counted in it.
    pub time_zone: String,
    /// 1 = January … 12 = December; the month the fiscal year starts.
    pub fiscal_year_start_month: u32,
    #[schema(value_type = String, example = "1.0")]
    #[serde(with = "rust_decimal::serde::str")]
    pub gross_margin: Decimal,
    pub stages: Vec<String>,
    /// Which source wins, per account field, over tracking `group` traits.
    #[serde(default)]
    pub tracking_field_sources: TrackingFieldSources,
    /// Whether month-to-month contracts renew every month. Off: only committed terms (and
    /// quarterly or longer billing) have renewals, so monthly bills do not flood the pipeline.
    #[serde(default)]
    pub monthly_contracts_renew: bool,
    /// How product feedback requests are ranked by the revenue behind them.
    #[serde(default)]
    pub request_impact_weights: crate::feedback::ImpactWeights,
    /// What the team calls each custom field on screen, by key (without `custom.`).
    #[serde(default)]
    pub custom_field_labels: BTreeMap<String, FieldLabel>,
}

/// A custom field's name on screen in each language; files and the API keep using its key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldLabel {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ja: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub en: Option<String>,
}

/// Characters in a custom field's name on screen.
pub const MAX_FIELD_LABEL: usize = 100;
/// Custom fields a workspace names (each record holds at most 50, but records differ).
pub const MAX_NAMED_FIELDS: usize = 200;

impl FieldLabel {
    /// The name in `lang`, else the one in the other language.
    pub fn pick(&self, lang: Lang) -> Option<&str> {
        let (first, second) = lang.pick((&self.ja, &self.en), (&self.en, &self.ja));
        first.as_deref().or(second.as_deref())
    }
}

/// The name of custom field `key` on screen: its label in `lang` (or the other language), else
/// the key itself.
pub fn custom_field_name<'a>(labels: &'a BTreeMap<String, FieldLabel>, key: &'a str, lang: Lang) -> &'a str {
    labels.get(key).and_then(|label| label.pick(lang)).unwrap_or(key)
}

fn parse_label(raw: Option<&Value>) -> Result<Option<String>, Reason> {
    match raw {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if text.contains('\0') => Err(Reason::ContainsNul),
        Some(Value::String(text)) => crate::ids::optional_text(Some(text), MAX_FIELD_LABEL),
        Some(_) => Err(Reason::WrongType { expected: "text" }),
    }
}

/// Reads `{"contract_owner_dept": {"ja": "契約担当部署", "en": "Contract owner"}, …}`, the whole set
/// of labels; a key with neither name is left out. Errors name the key and language.
pub fn parse_field_labels(value: &Value, errors: &mut Errors) -> Option<BTreeMap<String, FieldLabel>> {
    const FIELD: &str = "custom_field_labels";
    let Some(object) = value.as_object() else {
        errors.push(FIELD, Reason::WrongType { expected: "an object of custom field names" });
        return None;
    };
    if object.len() > MAX_NAMED_FIELDS {
        errors.push(FIELD, Reason::TooManyFieldNames { max: MAX_NAMED_FIELDS });
        return None;
    }
    let mut labels = BTreeMap::new();
    let mut ok = true;
    for (raw_key, names) in object {
        let at = |part: &str| format!("{FIELD}.{raw_key}{part}");
        let key = errors.check(&at(""), parse_custom_key(raw_key));
        let Some(names) = names.as_object() else {
            errors.push(&at(""), Reason::WrongType { expected: "an object with ja and en" });
            ok = false;
            continue;
        };
        if let Some(unknown) = names.keys().find(|k| !matches!(k.as_str(), "ja" | "en")) {
            errors.push(&at(&format!(".{unknown}")), Reason::UnknownField);
            ok = false;
        }
        let ja = errors.check(&at(".ja"), parse_label(names.get("ja")));
        let en = errors.check(&at(".en"), parse_label(names.get("en")));
        match (key, ja, en) {
            (Some(key), Some(ja), Some(en)) => {
                if ja.is_some() || en.is_some() {
                    labels.insert(key, FieldLabel { ja, en });
                }
            }
            _ => ok = false,
        }
    }
    ok.then_some(labels)
}

impl Default for WorkspaceSettings {
    fn default() -> Self {
        WorkspaceSettings {
            currency: Currency::jpy(),
            time_zone: "Asia/Tokyo".into(),
            fiscal_year_start_month: 4,
            gross_margin: Decimal::ONE,
            stages: DEFAULT_STAGES.iter().map(|s| s.to_string()).collect(),
            tracking_field_sources: TrackingFieldSources::default(),
            monthly_contracts_renew: false,
            request_impact_weights: crate::feedback::ImpactWeights::default(),
            custom_field_labels: BTreeMap::new(),
        }
    }
}

pub fn parse_fiscal_year_start_month(month: u32) -> Result<u32, Reason> {
    if (1..=12).contains(&month) {
        Ok(month)
    } else {
        Err(Reason::OutOfRange { min: "1".into(), max: "12".into() })
    }
}

pub fn parse_gross_margin(value: Decimal) -> Result<Decimal, Reason> {
    if value > Decimal::ZERO && value <= Decimal::ONE {
        Ok(value)
    } else {
        Err(Reason::OutOfRange { min: "0 (exclusive)".into(), max: "1".into() })
    }
}

/// Which source may change an account field that a tracking `group` call's traits also carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldSource {
    /// Imports, the API and people win: tracking only fills the field while it is empty.
    Imported,
    /// The latest tracking trait wins.
    Tracking,
}

impl FieldSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Imported => "imported",
            Self::Tracking => "tracking",
        }
    }

    pub fn parse(raw: &str) -> Result<FieldSource, Reason> {
        match raw.trim() {
            "imported" => Ok(Self::Imported),
            "tracking" => Ok(Self::Tracking),
            _ => Err(Reason::NotOneOf { allowed: vec!["imported".into(), "tracking".into()] }),
        }
    }
}

/// Per account field, the source that wins over tracking traits. Imported data wins for the
/// name, employees and industry (a product's `group` call often sends an id as the name);
/// tracking wins for the plan, which the product knows best.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct TrackingFieldSources {
    pub name: FieldSource,
    pub employees: FieldSource,
    pub industry: FieldSource,
    pub plan: FieldSource,
}

impl Default for TrackingFieldSources {
    fn default() -> Self {
        TrackingFieldSources {
            name: FieldSource::Imported,
            employees: FieldSource::Imported,
            industry: FieldSource::Imported,
            plan: FieldSource::Tracking,
        }
    }
}

impl TrackingFieldSources {
    pub const FIELDS: [&'static str; 4] = ["name", "employees", "industry", "plan"];

    pub fn get(&self, field: &str) -> Option<FieldSource> {
        match field {
            "name" => Some(self.name),
            "employees" => Some(self.employees),
            "industry" => Some(self.industry),
            "plan" => Some(self.plan),
            _ => None,
        }
    }

    /// Reads `{"name": "imported", "plan": "tracking", …}`; fields not named keep `self`'s source.
    pub fn updated_from(self, value: &serde_json::Value) -> Result<TrackingFieldSources, Reason> {
        let object = value.as_object().ok_or(Reason::WrongType { expected: "an object of field sources" })?;
        let mut sources = self;
        for (field, source) in object {
            let source = source.as_str().ok_or(Reason::WrongType { expected: "imported or tracking" })?;
            let source = FieldSource::parse(source)?;
            match field.as_str() {
                "name" => sources.name = source,
                "employees" => sources.employees = source,
                "industry" => sources.industry = source,
                "plan" => sources.plan = source,
                _ => return Err(Reason::NotOneOf { allowed: Self::FIELDS.iter().map(|f| f.to_string()).collect() }),
            }
        }
        Ok(sources)
    }
}

/// A workspace has at most this many lifecycle stages, each named in at most this many characters.
pub const MAX_STAGES: usize = 30;
pub const MAX_STAGE_CHARS: usize = 64;

/// Lifecycle stage names, as stored (trimmed, lower case): each given once, none empty, long or
/// holding control characters.
fn parse_stages(items: &[Value]) -> Result<Vec<String>, Reason> {
    if items.len() > MAX_STAGES {
        return Err(Reason::OutOfRange { min: "1".into(), max: MAX_STAGES.to_string() });
    }
    let mut stages: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        let name = item
            .as_str()
            .map(|s| s.trim().to_lowercase())
            .filter(|s| !s.is_empty() && !s.chars().any(char::is_control))
            .ok_or(Reason::WrongType { expected: "a list of stage names" })?;
        if name.chars().count() > MAX_STAGE_CHARS {
            return Err(Reason::TooLong { max: MAX_STAGE_CHARS });
        }
        if stages.contains(&name) {
            return Err(Reason::AlreadyExists);
        }
        stages.push(name);
    }
    Ok(stages)
}

impl WorkspaceSettings {
    /// The fields the API takes.
    pub const FIELDS: &[&str] = &[
        "currency",
        "time_zone",
        "fiscal_year_start_month",
        "gross_margin",
        "stages",
        "tracking_field_sources",
        "monthly_contracts_renew",
        "request_impact_weights",
        "custom_field_labels",
    ];

    /// The settings sent; field sources, the monthly renewal switch, impact weights and custom field
    /// names not sent stay as `current`.
    pub fn from_json(value: Value, current: &WorkspaceSettings) -> Result<WorkspaceSettings, Vec<FieldError>> {
        let stages_value = value.get("stages").cloned();
        let labels_value = value.get("custom_field_labels").filter(|v| !v.is_null()).cloned();
        let mut f = Fields::new(value, Self::FIELDS)?;
        let currency = f.required("currency", Currency::parse);
        let time_zone = f.required("time_zone", |raw| Ok(raw.trim().to_owned()));
        let month = f.required("fiscal_year_start_month", |raw| {
            raw.parse::<u32>().map_err(|_| Reason::InvalidInteger).and_then(parse_fiscal_year_start_month)
        });
        let margin = f.required("gross_margin", |raw| parse_decimal(raw).and_then(parse_gross_margin));
        let stages = match stages_value {
            Some(Value::Array(items)) if !items.is_empty() => f.errors.check("stages", parse_stages(&items)),
            _ => f.errors.check("stages", Err(Reason::Required)),
        };
        let sources = f
            .json("tracking_field_sources", |value| current.tracking_field_sources.updated_from(value))
            .map(|s| s.unwrap_or(current.tracking_field_sources));
        let monthly_contracts_renew = f.boolean("monthly_contracts_renew", current.monthly_contracts_renew);
        let weights = f
            .json("request_impact_weights", |value| current.request_impact_weights.updated_from(value))
            .map(|w| w.unwrap_or_else(|| current.request_impact_weights.clone()));
        let labels = match &labels_value {
            Some(value) => parse_field_labels(value, &mut f.errors),
            None => Some(current.custom_field_labels.clone()),
        };
        f.errors.finish(|| {
            Some(WorkspaceSettings {
                currency: currency?,
                time_zone: time_zone?,
                fiscal_year_start_month: month?,
                gross_margin: margin?,
                stages: stages?,
                tracking_field_sources: sources?,
                monthly_contracts_renew: monthly_contracts_renew?,
                request_impact_weights: weights?,
                custom_field_labels: labels?,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stages_are_few_short_distinct_and_printable() {
        let names = |items: Value| parse_stages(items.as_array().unwrap());
        assert_eq!(names(json!([" Onboarding ", "活用"])), Ok(vec!["onboarding".to_owned(), "活用".to_owned()]));
        assert_eq!(names(json!(["a", "A"])), Err(Reason::AlreadyExists));
        assert_eq!(names(json!(["x\u{1}y"])), Err(Reason::WrongType { expected: "a list of stage names" }));
        assert_eq!(names(json!(["s".repeat(65)])), Err(Reason::TooLong { max: MAX_STAGE_CHARS }));
        let many: Vec<String> = (0..=MAX_STAGES).map(|i| format!("s{i}")).collect();
        assert_eq!(names(json!(many)), Err(Reason::OutOfRange { min: "1".into(), max: MAX_STAGES.to_string() }));
    }

    #[test]
    fn custom_field_names_replace_the_set_and_name_the_key_and_language_of_each_error() {
        let current = WorkspaceSettings::default();
        let base = json!({"currency": "JPY", "time_zone": "Asia/Tokyo", "fiscal_year_start_month": "4",
            "gross_margin": "1", "stages": ["onboarding"]});
        let with = |labels: Value| {
            let mut value = base.clone();
            value["custom_field_labels"] = labels;
            WorkspaceSettings::from_json(value, &current)
        };
        let saved = with(json!({"contract_owner_dept": {"ja": " 契約担当部署 ", "en": "Contract owner"},
            "name_kana": {"ja": "フリガナ"}, "blank": {"ja": "", "en": null}}))
        .unwrap();
        let labels = &saved.custom_field_labels;
        assert_eq!(labels.len(), 2, "a key with neither name is left out: {labels:?}");
        assert_eq!(custom_field_name(labels, "contract_owner_dept", Lang::Ja), "契約担当部署");
        assert_eq!(custom_field_name(labels, "contract_owner_dept", Lang::En), "Contract owner");
        assert_eq!(custom_field_name(labels, "name_kana", Lang::En), "フリガナ", "the other language stands in");
        assert_eq!(custom_field_name(labels, "region_code", Lang::En), "region_code", "no name: the key");
        let kept = WorkspaceSettings::from_json(base.clone(), &saved).unwrap();
        assert_eq!(kept.custom_field_labels, saved.custom_field_labels, "not sent: kept");

        let fields =
            |labels: Value| with(labels).unwrap_err().into_iter().map(|e| (e.field, e.reason)).collect::<Vec<_>>();
        assert_eq!(
            fields(json!({"dept": {"ja": "長".repeat(MAX_FIELD_LABEL + 1)}})),
            vec![("custom_field_labels.dept.ja".to_owned(), Reason::TooLong { max: MAX_FIELD_LABEL })]
        );
        assert_eq!(
            fields(json!({"dept": {"en": "a\u{0}b"}})),
            vec![("custom_field_labels.dept.en".to_owned(), Reason::ContainsNul)]
        );
        assert_eq!(
            fields(json!({"dept": {"fr": "x"}})),
            vec![("custom_field_labels.dept.fr".to_owned(), Reason::UnknownField)]
        );
        assert_eq!(
            fields(json!({"k".repeat(65): {"ja": "x"}})),
            vec![(format!("custom_field_labels.{}", "k".repeat(65)), Reason::TooLong { max: 64 })]
        );
        assert_eq!(fields(json!(["dept"]))[0].0, "custom_field_labels");
        let many: serde_json::Map<String, Value> =
            (0..=MAX_NAMED_FIELDS).map(|i| (format!("f{i}"), json!({"ja": "x"}))).collect();
        assert_eq!(fields(Value::Object(many))[0].1, Reason::TooManyFieldNames { max: MAX_NAMED_FIELDS });
    }

    #[test]
    fn field_sources_change_only_the_fields_named_and_refuse_unknown_fields_and_sources() {
        let sources = TrackingFieldSources::default().updated_from(&json!({"name": "tracking"})).unwrap();
        assert_eq!(sources, TrackingFieldSources { name: FieldSource::Tracking, ..TrackingFieldSources::default() });
        assert!(TrackingFieldSources::default().updated_from(&json!({"domain": "tracking"})).is_err());
        assert!(TrackingFieldSources::default().updated_from(&json!({"name": "crm"})).is_err());
        assert!(TrackingFieldSources::default().updated_from(&json!(["name"])).is_err());
    }
}
