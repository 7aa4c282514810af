//! `{{name}}` placeholders in playbook titles, emails and messages. Unknown names stay as
//! written, so a typo shows in the result instead of vanishing.

use std::collections::BTreeMap;

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
}
