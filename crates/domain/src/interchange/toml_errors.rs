//! TOML files (scorecards, playbooks, onboarding templates, the feature catalog) are read by the
//! `toml` crate, whose messages are English and name Rust types (`expected f64`). Here they
//! become reasons a reader understands in their own language, with the line they point at.

use super::table::RowError;
use crate::validation::Reason;

/// The kinds of value a TOML key can hold, as a reader calls them.
pub fn value_kind(rust: &str) -> &'static str {
    let rust = rust.trim().trim_start_matches("a ").trim_start_matches("an ");
    match rust {
        "f64" | "f32" | "float" | "floating point" | "i64" | "i32" | "u64" | "u32" | "u16" | "u8" | "usize"
        | "integer" | "number" => "number",
        "string" | "str" | "borrowed string" | "char" | "character" => "text",
        "boolean" | "bool" => "boolean",
        "sequence" | "array" | "tuple" => "list",
        "map" | "table" | "inline table" => "table",
        "datetime" | "date" | "offset datetime" | "local date" => "date",
        other if other.starts_with("struct ") || other.starts_with("map ") => "table",
        other if other.starts_with("sequence") || other.starts_with("tuple") => "list",
        other if other.starts_with("string") => "text",
        _ => "other",
    }
}

/// The names quoted in backticks, in order.
fn quoted(message: &str) -> Vec<String> {
    message.split('`').skip(1).step_by(2).map(str::to_owned).collect()
}

/// What the value found was: its text when the message shows it, else its kind.
fn found(description: &str) -> String {
    let description = description.trim();
    match description.split_once(' ') {
        Some((_, shown)) => shown.trim_matches('`').to_owned(),
        None => value_kind(description).to_owned(),
    }
}

/// The column (field) the message names, if any, and why the file was refused.
pub fn reason_of(message: &str) -> (Option<String>, Reason) {
    let names = quoted(message);
    let first = names.first().cloned();
    if message.starts_with("unknown field `") {
        let allowed = names.iter().skip(1).cloned().collect();
        let field = first.unwrap_or_default();
        return (Some(field.clone()), Reason::UnknownTomlKey { key: field, allowed });
    }
    if message.starts_with("missing field `") {
        let field = first.unwrap_or_default();
        return (Some(field.clone()), Reason::MissingTomlKey { key: field });
    }
    if message.starts_with("unknown variant `") {
        let allowed = names.iter().skip(1).cloned().collect();
        return (None, Reason::UnknownTomlValue { value: first.unwrap_or_default(), allowed });
    }
    if message.starts_with("duplicate key `") || message.starts_with("duplicate field `") {
        let field = first.unwrap_or_default();
        return (Some(field.clone()), Reason::DuplicateTomlKey { key: field });
    }
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            if let Some((was, expected)) = rest.rsplit_once(", expected ") {
                return (None, Reason::WrongTomlValue { found: found(was), expected: value_kind(expected).to_owned() });
            }
        }
    }
    (None, Reason::TomlSyntax { detail: message.trim().to_owned() })
}

/// The error of a TOML file as a row error: the line the parser pointed at, the key when the
/// message names one (`TOML` otherwise), and the reason.
pub fn row_error(text: &str, error: &toml::de::Error) -> RowError {
    let line = error.span().map_or(1, |span| {
        let before = text.get(..span.start.min(text.len())).unwrap_or(text);
        1 + u64::try_from(before.matches('\n').count()).unwrap_or(u64::MAX - 1)
    });
    let (column, reason) = reason_of(error.message());
    RowError { line, column: column.unwrap_or_else(|| "TOML".into()), reason }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Measure {
        key: String,
        weight: f64,
        kind: Option<Kind>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        UsageTrend,
        CsmPulse,
    }

    fn refused(text: &str) -> RowError {
        row_error(text, &toml::from_str::<Measure>(text).unwrap_err())
    }

    #[test]
    fn a_wrong_type_says_what_kind_of_value_belongs_there_in_each_language() {
        let error = refused("key = \"usage\"\nweight = \"heavy\"\n");
        assert_eq!(error.line, 2);
        assert_eq!(error.reason, Reason::WrongTomlValue { found: "\"heavy\"".into(), expected: "number".into() });
        assert_eq!(error.reason.message(Lang::Ja), "数値を書いてください（\"heavy\" と書かれています）");
        assert_eq!(error.reason.message(Lang::En), "must be a number (found \"heavy\")");
    }

    #[test]
    fn unknown_and_missing_keys_and_values_are_named() {
        let error = refused("key = \"usage\"\nweigth = 1\n");
        assert_eq!((error.line, error.column.as_str()), (2, "weigth"));
        assert!(error.reason.message(Lang::Ja).contains("`weigth` という項目はありません"), "{error}");
        assert!(error.reason.message(Lang::En).contains("key, weight, kind"), "{error}");
        let error = refused("weight = 1\n");
        assert_eq!(error.column, "key");
        assert_eq!(error.reason.message(Lang::Ja), "必須の項目 `key` がありません");
        let error = refused("key = \"u\"\nweight = 1\nkind = \"nps\"\n");
        assert_eq!(error.line, 3);
        assert_eq!(error.reason.message(Lang::En), "`nps` is not allowed here (one of: usage_trend, csm_pulse)");
    }

    #[test]
    fn a_syntax_error_keeps_the_parsers_words_behind_a_sentence_in_the_readers_language() {
        let error = refused("key = \"usage\nweight = 1\n");
        assert_eq!(error.line, 1);
        assert!(error.reason.message(Lang::Ja).starts_with("TOML の書き方に誤りがあります"), "{error}");
        assert!(error.reason.message(Lang::En).starts_with("is not valid TOML"), "{error}");
    }
}
