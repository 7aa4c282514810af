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
