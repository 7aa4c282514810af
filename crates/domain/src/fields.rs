//! Reads records field by field, so that a 422 or an import report names every bad field at once
//! (serde alone stops at the first one). `FieldReader` is the one way a field is read, from a
//! JSON object (`Fields`: the HTTP API, and configuration files read as JSON) or a CSV row.

use crate::account::{check_custom_value, parse_custom_key, CustomFields, MAX_CUSTOM_FIELDS};
use crate::ids::optional_text;
use crate::validation::Errors;
use crate::{AccountId, AccountRef, ExternalId, FieldError, Reason};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value};
use std::borrow::Cow;

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

    /// Reads an optional field of any JSON type (e.g. a list) with `parse`; `None` when absent or null.
    pub fn json<T>(&mut self, field: &str, parse: impl FnOnce(&Value) -> Result<T, Reason>) -> Option<Option<T>> {
        let result = self.value(field).map(parse).transpose();
        self.errors.check(field, result)
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

    /// An account by Kizuna's id (a positive number) or by its external id (a string).
    pub fn account(&mut self, field: &str) -> Option<Option<AccountRef>> {
        match self.value(field) {
            Some(Value::Number(_)) => self.id(field).map(|id| id.map(|id| AccountRef::Id(AccountId(id)))),
            None | Some(Value::String(_)) => self.parsed(field, |raw| ExternalId::parse(raw).map(AccountRef::External)),
            Some(_) => self.errors.check(field, Err(Reason::WrongType { expected: "a positive id or an external id" })),
        }
    }

    pub fn timestamp(&mut self, field: &str) -> Option<Option<DateTime<Utc>>> {
        self.parsed(field, |raw| {
            DateTime::parse_from_rfc3339(raw.trim())
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| Reason::InvalidTimestamp)
        })
    }
}

/// One record's fields, read the same way whatever carries them: a JSON object (the API, and
/// configuration files read as JSON) or a CSV row (`interchange::table::RowFields`). A record
/// type reads its fields once through this trait, so a field's limits cannot differ by format.
pub trait FieldReader {
    /// The field's text; `None` when absent, null or blank; an error when it has the wrong shape.
    fn raw(&self, field: &str) -> Result<Option<Cow<'_, str>>, Reason>;

    /// A true/false field; `None` when absent.
    fn flag(&self, field: &str) -> Result<Option<bool>, Reason>;

    /// The record's custom fields, each key and value checked; `None` when any is bad.
    fn custom(&mut self, field: &str) -> Option<CustomFields>;

    fn push(&mut self, field: &str, reason: Reason);

    fn check<T>(&mut self, field: &str, result: Result<T, Reason>) -> Option<T> {
        result.map_err(|reason| self.push(field, reason)).ok()
    }

    /// Reads an optional field and parses its text; `None` when absent, null or blank.
    fn parsed<T>(&mut self, field: &str, parse: impl FnOnce(&str) -> Result<T, Reason>) -> Option<Option<T>> {
        let result = self.raw(field).and_then(|raw| raw.map(|raw| parse(&raw)).transpose());
        self.check(field, result)
    }

    fn required<T>(&mut self, field: &str, parse: impl FnOnce(&str) -> Result<T, Reason>) -> Option<T> {
        match self.parsed(field, parse) {
            Some(Some(value)) => Some(value),
            Some(None) => {
                self.push(field, Reason::Required);
                None
            }
            None => None,
        }
    }

    fn text(&mut self, field: &str, max: usize) -> Option<Option<String>> {
        self.parsed(field, |raw| optional_text(Some(raw), max).map(Option::unwrap_or_default))
    }

    fn boolean(&mut self, field: &str, default: bool) -> Option<bool> {
        let result = self.flag(field).map(|flag| flag.unwrap_or(default));
        self.check(field, result)
    }

    fn date(&mut self, field: &str) -> Option<Option<NaiveDate>> {
        self.parsed(field, crate::interchange::parse_date)
    }
}

impl FieldReader for Fields {
    fn raw(&self, field: &str) -> Result<Option<Cow<'_, str>>, Reason> {
        match self.value(field) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(Cow::Borrowed(s))),
            Some(Value::Number(n)) => Ok(Some(Cow::Owned(n.to_string()))),
            Some(Value::Bool(b)) => Ok(Some(Cow::Owned(b.to_string()))),
            Some(_) => Err(Reason::WrongType { expected: "a string" }),
        }
    }

    fn flag(&self, field: &str) -> Result<Option<bool>, Reason> {
        match self.value(field) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(Reason::WrongType { expected: "true or false" }),
        }
    }

    fn push(&mut self, field: &str, reason: Reason) {
        self.errors.push(field, reason);
    }

    /// An object of string values: custom fields, at most `MAX_CUSTOM_FIELDS` of them, each
    /// key and value checked as accounts.csv checks them. A bad value is named `custom.<key>`.
    fn custom(&mut self, field: &str) -> Option<CustomFields> {
        let map = match self.object.get(field) {
            None | Some(Value::Null) => return Some(CustomFields::new()),
            Some(Value::Object(map)) => map,
            Some(_) => {
                self.errors.push(field, Reason::WrongType { expected: "an object of strings" });
                return None;
            }
        };
        let entries: Vec<(&String, &Value)> = map.iter().filter(|(_, v)| !v.is_null()).collect();
        if entries.len() > MAX_CUSTOM_FIELDS {
            self.errors.push(field, Reason::TooManyCustomFields { max: MAX_CUSTOM_FIELDS });
            return None;
        }
        let mut custom = CustomFields::new();
        let mut valid = true;
        for (key, value) in entries {
            let Ok(key) = parse_custom_key(key).map_err(|reason| self.errors.push(field, reason)) else {
                valid = false;
                continue;
            };
            let value = match value {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                Value::Bool(b) => Ok(b.to_string()),
                _ => Err(Reason::WrongType { expected: "a string" }),
            };
            match value.and_then(|value| check_custom_value(&value).map(|()| value)) {
                Ok(value) => {
                    custom.insert(key, value);
                }
                Err(reason) => {
                    self.errors.push(&format!("{field}.{key}"), reason);
                    valid = false;
                }
            }
        }
        valid.then_some(custom)
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

    fn custom_of(value: Value) -> (Option<CustomFields>, Vec<FieldError>) {
        let mut fields = Fields::new(json!({ "custom": value }), &["custom"]).unwrap();
        let custom = fields.custom("custom");
        (custom, fields.errors.into_vec())
    }

    #[test]
    fn custom_values_are_limited_and_named_by_their_key() {
        let (custom, errors) = custom_of(json!({"dept": "人事", "size": 12, "gone": null}));
        assert_eq!(
            custom.map(|c| c.into_iter().collect::<Vec<_>>()),
            Some(vec![("dept".into(), "人事".into()), ("size".into(), "12".into())])
        );
        assert!(errors.is_empty());
        let (custom, errors) = custom_of(json!({"ok": "x", "note": "x".repeat(1_001), "list": []}));
        assert_eq!(custom, None);
        assert_eq!(
            errors,
            vec![
                FieldError::new("custom.list", Reason::WrongType { expected: "a string" }),
                FieldError::new("custom.note", Reason::TooLong { max: 1_000 }),
            ]
        );
        let many: Map<String, Value> = (0..=MAX_CUSTOM_FIELDS).map(|i| (format!("k{i}"), json!("v"))).collect();
        let (custom, errors) = custom_of(Value::Object(many));
        assert_eq!((custom, errors), (None, vec![FieldError::new("custom", Reason::TooManyCustomFields { max: 50 })]));
        let (_, errors) = custom_of(json!("text"));
        assert_eq!(errors, vec![FieldError::new("custom", Reason::WrongType { expected: "an object of strings" })]);
    }

    #[test]
    fn an_account_is_named_by_kizunas_id_or_its_external_id() {
        let body = json!({"a": 12, "b": " ACC-000098 ", "c": "98", "d": 0, "e": "", "f": true});
        let mut f = Fields::new(body, &["a", "b", "c", "d", "e", "f"]).unwrap();
        assert_eq!(f.account("a"), Some(Some(AccountRef::Id(AccountId(12)))));
        let external = f.account("b").flatten().unwrap();
        assert_eq!((external.to_string(), external.numeric()), ("ACC-000098".into(), None));
        assert_eq!(f.account("c").flatten().and_then(|r| r.numeric()), Some(AccountId(98)));
        assert_eq!((f.account("d"), f.account("e")), (None, Some(None)));
        assert_eq!(f.account("f"), None);
        let fields: Vec<String> = f.errors.into_vec().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["d", "f"]);
    }

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
