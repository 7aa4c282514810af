//! Reads JSON objects field by field, so that a 422 names every bad field at once (serde alone
//! stops at the first one). The HTTP API and configuration files parse through it alike.

use crate::account::{parse_custom_key, CustomFields};
use crate::ids::optional_text;
use crate::validation::Errors;
use crate::{FieldError, Reason};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value};

pub struct Fields {
    object: Map<String, Value>,
    pub errors: Errors,
}

impl Fields {
    /// Accepts a JSON object whose keys are all in `known`.
    pub fn new(value: Value, known: &[&str]) -> Result<Fields, Vec<FieldError>> {
        let Value::Object(object) = value else {
            return Err(vec![FieldError::new("/", Reason::WrongType { expected: "a JSON object" })]);
        };
        let mut errors = Errors::new();
        for key in object.keys().filter(|key| !known.contains(&key.as_str())) {
            errors.push(key, Reason::UnknownField);
        }
        Ok(Fields { object, errors })
    }

    fn value(&self, field: &str) -> Option<&Value> {
        self.object.get(field).filter(|v| !v.is_null())
    }

    /// Reads an optional string field and parses it; `None` when absent, null or blank.
    pub fn parsed<T>(&mut self, field: &str, parse: impl FnOnce(&str) -> Result<T, Reason>) -> Option<Option<T>> {
        let result = match self.value(field) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => parse(s).map(Some),
            Some(Value::Number(n)) => parse(&n.to_string()).map(Some),
            Some(Value::Bool(b)) => parse(&b.to_string()).map(Some),
            Some(_) => Err(Reason::WrongType { expected: "a string" }),
        };
        self.errors.check(field, result)
    }

    pub fn required<T>(&mut self, field: &str, parse: impl FnOnce(&str) -> Result<T, Reason>) -> Option<T> {
        match self.parsed(field, parse) {
            Some(Some(value)) => Some(value),
            Some(None) => {
                self.errors.push(field, Reason::Required);
                None
            }
            None => None,
        }
    }

    pub fn text(&mut self, field: &str, max: usize) -> Option<Option<String>> {
        self.parsed(field, |raw| optional_text(Some(raw), max).map(Option::unwrap_or_default))
    }

    pub fn id(&mut self, field: &str) -> Option<Option<i64>> {
        let result = match self.value(field) {
            None => Ok(None),
            Some(Value::Number(n)) => {
                n.as_i64().filter(|id| *id > 0).map(Some).ok_or(Reason::WrongType { expected: "a positive id" })
            }
            Some(_) => Err(Reason::WrongType { expected: "a positive id" }),
        };
        self.errors.check(field, result)
    }

    pub fn boolean(&mut self, field: &str, default: bool) -> Option<bool> {
        let result = match self.value(field) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(Reason::WrongType { expected: "true or false" }),
        };
        self.errors.check(field, result)
    }

    pub fn date(&mut self, field: &str) -> Option<Option<NaiveDate>> {
        self.parsed(field, crate::interchange::parse_date)
    }

    pub fn timestamp(&mut self, field: &str) -> Option<Option<DateTime<Utc>>> {
        self.parsed(field, |raw| {
            DateTime::parse_from_rfc3339(raw.trim())
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| Reason::InvalidTimestamp)
        })
    }

    /// An object of string values, e.g. custom fields.
    pub fn custom(&mut self, field: &str) -> Option<CustomFields> {
        let result = match self.value(field) {
            None => Ok(CustomFields::new()),
            Some(Value::Object(map)) => map
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(key, value)| {
                    let key = parse_custom_key(key)?;
                    match value {
                        Value::String(s) => Ok((key, s.clone())),
                        Value::Number(n) => Ok((key, n.to_string())),
                        Value::Bool(b) => Ok((key, b.to_string())),
                        _ => Err(Reason::WrongType { expected: "an object of strings" }),
                    }
                })
                .collect(),
            Some(_) => Err(Reason::WrongType { expected: "an object of strings" }),
        };
        self.errors.check(field, result)
    }
}

/// The path of the first string (or object key) in `value` that holds U+0000, which no database
/// text column stores: `name`, `custom.region`, `step[1].title`, or `/` for the value itself.
pub fn nul_path(value: &Value) -> Option<String> {
    fn walk(value: &Value, path: &str) -> Option<String> {
        let join = |key: &str| if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") };
        match value {
            Value::String(text) => text.contains('\0').then(|| if path.is_empty() { "/".into() } else { path.into() }),
            Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| walk(item, &format!("{path}[{i}]"))),
            Value::Object(map) => map.iter().find_map(|(key, item)| {
                if key.contains('\0') {
                    Some(join(&key.replace('\0', "\\0")))
                } else {
                    walk(item, &join(key))
                }
            }),
            _ => None,
        }
    }
    walk(value, "")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nul_is_found_wherever_it_hides_and_named_by_its_path() {
        assert_eq!(nul_path(&json!({"name": "ok", "custom": {"region": "a\u{0}b"}})), Some("custom.region".into()));
        assert_eq!(nul_path(&json!({"step": [{"title": "x"}, {"title": "\u{0}"}]})), Some("step[1].title".into()));
        assert_eq!(nul_path(&json!({"a\u{0}": 1})), Some("a\\0".into()));
        assert_eq!(nul_path(&json!("\u{0}")), Some("/".into()));
        assert_eq!(
            nul_path(&json!({"name": "紅葉", "n": 1, "list": ["a\\u0000"]})),
            None,
            "an escaped backslash is text"
        );
    }
}
