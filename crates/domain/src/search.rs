//! Finding accounts the way people type them: by name with or without spaces, in full- or
//! half-width characters, in katakana or hiragana, by the external id the pages show
//! (`ACC-000098`), by domain, or by the name's reading (「もみじ」 for 紅葉).
//!
//! Both sides go through [`normalize`]: the account's [`account_key`] when it is written (the
//! store keeps it on the account row, so a search compares prepared text) and the query when it
//! is read. A search is then a substring match of one normalized text in the other.

use crate::account::{AccountInput, CustomFields};
use unicode_normalization::UnicodeNormalization;

/// Custom fields (keys compared after [`normalize`]) that hold the reading of an account's name,
/// e.g. `custom.name_kana` in accounts.csv. accounts.csv has no reading column of its own.
pub const READING_FIELDS: [&str; 10] =
    ["name_kana", "kana", "reading", "name_reading", "furigana", "yomi", "フリガナ", "ふりがな", "よみがな", "読み"];

/// Between the parts of a key. [`normalize`] removes every whitespace, so no query can match
/// across two parts (the end of a name and the start of an external id).
const SEPARATOR: char = '\n';

/// Company-form abbreviations written out, so 「(株)紅葉」 finds 「株式会社紅葉」.
const ABBREVIATIONS: [(&str, &str); 4] =
    [("(株)", "株式会社"), ("(有)", "有限会社"), ("(合)", "合同会社"), ("(同)", "合同会社")];

/// Text as search compares it: NFKC (full-width letters and digits become ASCII, half-width
/// katakana become full-width, `㈱` becomes `(株)`), company abbreviations written out,
/// katakana as hiragana, lower case, and without spaces or middle dots (`・`).
pub fn normalize(text: &str) -> String {
    let mut folded: String = text.nfkc().collect();
    for (short, long) in ABBREVIATIONS {
        if folded.contains(short) {
            folded = folded.replace(short, long);
        }
    }
    let mut out = String::with_capacity(folded.len());
    for c in folded.chars() {
        if c.is_whitespace() || c == '・' {
            continue;
        }
        out.extend(hiragana(c).to_lowercase());
    }
    out
}

/// The hiragana for a katakana letter (ァ..ヶ, ヽ, ヾ); any other character as it is. The long
/// vowel mark ー is shared by both scripts and stays.
fn hiragana(c: char) -> char {
    let code = u32::from(c);
    match code {
        0x30A1..=0x30F6 | 0x30FD..=0x30FE => char::from_u32(code - 0x60).unwrap_or(c),
        _ => c,
    }
}

/// What an account is found by: its name, external id, domain and reading (see
/// [`READING_FIELDS`]), each normalized, one per line.
pub fn account_key(input: &AccountInput) -> String {
    key_of(&input.name, input.external_id.as_str(), input.domain.as_deref(), &input.custom)
}

/// [`account_key`] from the parts of an account that it reads.
pub fn key_of(name: &str, external_id: &str, domain: Option<&str>, custom: &CustomFields) -> String {
    let readings = custom
        .iter()
        .filter(|(key, _)| READING_FIELDS.iter().any(|field| normalize(field) == normalize(key)))
        .map(|(_, value)| value.as_str());
    let parts = [Some(name), Some(external_id), domain]
        .into_iter()
        .flatten()
        .chain(readings)
        .map(normalize)
        .filter(|part| !part.is_empty());
    let mut key = String::new();
    for part in parts {
        if !key.is_empty() {
            key.push(SEPARATOR);
        }
        key.push_str(&part);
    }
    key
}

/// The `LIKE` pattern (escaped with `\`) of a query, or `None` when the query is blank once
/// normalized (it then filters nothing).
pub fn like_pattern(query: &str) -> Option<String> {
    let needle = normalize(query);
    if needle.is_empty() {
        return None;
    }
    let escaped = needle.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    Some(format!("%{escaped}%"))
}

/// Whether an account with this key is found by `query` (what the store's `LIKE` does).
pub fn matches(key: &str, query: &str) -> bool {
    key.contains(&normalize(query))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ExternalId;

    fn account(name: &str, external: &str, domain: Option<&str>, custom: &[(&str, &str)]) -> AccountInput {
        AccountInput {
            domain: domain.map(Into::into),
            custom: custom.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<CustomFields>(),
            ..AccountInput::new(ExternalId::parse(external).unwrap(), name)
        }
    }

    #[test]
    fn width_case_spaces_and_katakana_are_folded() {
        assert_eq!(normalize("ＡＣＣ－０００９８"), "acc-00098");
        assert_eq!(normalize("ﾓﾐｼﾞ ｴﾅｼﾞｰ"), "もみじえなじー", "half-width kana with voiced marks");
        assert_eq!(normalize("紅葉　エナジー"), "紅葉えなじー", "an ideographic space");
        assert_eq!(normalize(" Momiji-Energy.Example.JP "), "momiji-energy.example.jp");
        assert_eq!(normalize("ネクスト・ライフ"), "ねくすとらいふ");
        assert_eq!(normalize("ヴァ ヵヶ ヽヾ"), "ゔぁゕゖゝゞ");
        assert_eq!(normalize("㈱紅葉"), "株式会社紅葉");
        assert_eq!(normalize("（株）紅葉"), "株式会社紅葉");
        assert_eq!(normalize("   "), "");
    }

    #[test]
    fn an_account_is_found_by_what_the_pages_show_and_by_its_reading() {
        let momiji = account(
            "株式会社紅葉エナジー",
            "ACC-000098",
            Some("momiji-energy-98.example.jp"),
            &[("name_kana", "モミジエナジー"), ("contract_owner_dept", "人事部")],
        );
        let key = account_key(&momiji);
        for query in [
            "紅葉 エナジー",
            "紅葉エナジー",
            "ACC-000098",
            "acc-000098",
            "ＡＣＣ－０００098",
            "もみじ",
            "モミジ",
            "ﾓﾐｼﾞ",
            "momiji-energy",
            "(株)紅葉",
        ] {
            assert!(matches(&key, query), "{query} finds {key:?}");
        }
        assert!(!matches(&key, "人事部"), "other custom fields are not searched");
        assert!(!matches(&key, "じー acc"), "a query never spans two parts of the key");
        assert!(!matches(&key, "さくら"));
    }

    #[test]
    fn the_reading_field_is_found_by_any_of_its_usual_names() {
        for field in ["furigana", "Name_Kana", "フリガナ", "ﾌﾘｶﾞﾅ", "よみがな"] {
            let key = account_key(&account("紅葉", "A1", None, &[(field, "もみじ")]));
            assert!(matches(&key, "モミジ"), "{field}: {key:?}");
        }
        let key = account_key(&account("紅葉", "A1", None, &[]));
        assert_eq!(key, "紅葉\na1");
    }

    #[test]
    fn a_like_pattern_escapes_wildcards_and_a_blank_query_has_none() {
        assert_eq!(like_pattern(" 100%_Ｏｆｆ\\ ").as_deref(), Some("%100\\%\\_off\\\\%"));
        assert_eq!(like_pattern("　 "), None);
    }
}
