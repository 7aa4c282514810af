//! What the form builders (scorecards, playbooks, onboarding templates) share: reading numbers
//! from form text, and errors labelled by the row they concern. Their selects use `pages::choices`.

use domain::i18n::Lang;
use domain::{FieldError, Reason};
use std::str::FromStr;

/// A form field's text from an optional value (empty for none).
pub fn text<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// A number from a form field: `None` when blank, `None` and an error naming the field when it
/// is not one.
pub fn number<T: FromStr>(errors: &mut Vec<FieldError>, field: String, raw: &str, reason: Reason) -> Option<T> {
    if raw.is_empty() {
        return None;
    }
    let parsed = raw.parse::<T>().ok();
    if parsed.is_none() {
        errors.push(FieldError::new(field, reason));
    }
    parsed
}

/// Errors in the reader's language; a field of a row (`step[1].title`, after `prefix` is taken
/// off) reads as the row's name from `row_name` (e.g. "Step 2") and the field.
pub fn messages(
    errors: &[FieldError],
    group: &str,
    prefix: Option<&str>,
    row_name: impl Fn(usize) -> String,
    lang: Lang,
) -> Vec<String> {
    errors
        .iter()
        .map(|e| {
            let field = prefix.and_then(|p| e.field.strip_prefix(p)).unwrap_or(&e.field);
            let row = field.strip_prefix(group).and_then(|r| r.strip_prefix('[')).and_then(|r| r.split_once(']'));
            let label = match row {
                Some((index, rest)) => {
                    format!("{}{}", row_name(index.parse::<usize>().unwrap_or(0)), rest.replace('.', " · "))
                }
                None => field.to_owned(),
            };
            format!("{label}: {}", e.message(lang))
        })
        .collect()
}
