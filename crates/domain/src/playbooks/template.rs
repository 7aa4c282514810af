//! `{{name}}` placeholders in playbook titles, emails and messages. Unknown names stay as
//! written, so a typo shows in the result instead of vanishing.

use crate::i18n::Lang;
use std::collections::BTreeMap;

/// A playbook's placeholder values in both languages (money, dates and grade names read as the
/// template's own language expects them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateValues {
    pub ja: BTreeMap<&'static str, String>,
    pub en: BTreeMap<&'static str, String>,
}

impl TemplateValues {
    /// The template filled with the values of the language it is written in.
    pub fn fill(&self, template: &str) -> String {
        render(template, Lang::of_text(template).pick(&self.ja, &self.en))
    }
}

pub fn render(template: &str, values: &BTreeMap<&str, String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let name = after[..end].trim();
                match values.get(name) {
                    Some(value) => out.push_str(value),
                    None => out.push_str(&rest[start..start + 2 + end + 2]),
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_and_unknown_ones_kept() {
        let values = BTreeMap::from([("account", "さくら建設".to_string()), ("grade", "At risk".to_string())]);
        assert_eq!(render("{{account}}: {{ grade }} / {{nope}} {{", &values), "さくら建設: At risk / {{nope}} {{");
        assert_eq!(render("no placeholders", &values), "no placeholders");
    }

    #[test]
    fn a_template_is_filled_with_the_values_of_its_own_language() {
        let values = TemplateValues {
            ja: BTreeMap::from([("arr", "¥51,262,848".to_string())]),
            en: BTreeMap::from([("arr", "JPY 51,262,848".to_string())]),
        };
        assert_eq!(values.fill("更新の振り返り（ARR {{arr}}）"), "更新の振り返り（ARR ¥51,262,848）");
        assert_eq!(values.fill("Renewal review (ARR {{arr}})"), "Renewal review (ARR JPY 51,262,848)");
    }
}
