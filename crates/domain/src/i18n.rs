//! The two languages every user-visible string exists in.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Ja,
    En,
}

impl Lang {
    /// The language a text is written in: Japanese when it has any kana or kanji.
    pub fn of_text(text: &str) -> Lang {
        let japanese =
            |c: char| matches!(c, '\u{3040}'..='\u{30ff}' | '\u{3400}'..='\u{9fff}' | '\u{ff66}'..='\u{ff9f}');
        if text.chars().any(japanese) {
            Lang::Ja
        } else {
            Lang::En
        }
    }

    /// Picks the first supported language of an `Accept-Language` header, by quality.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let quality =
                pieces.find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok())).unwrap_or(1.0);
            let lang = match tag.split('-').next() {
                Some("ja") => Lang::Ja,
                Some("en") => Lang::En,
                _ => continue,
            };
            if best.is_none_or(|(q, _)| quality > q) {
                best = Some((quality, lang));
            }
        }
        best.map(|(_, lang)| lang)
    }

    /// Picks the language from a POSIX locale such as `LANG=ja_JP.UTF-8`; English otherwise.
    pub fn from_locale(locale: &str) -> Lang {
        if locale.to_ascii_lowercase().starts_with("ja") {
            Lang::Ja
        } else {
            Lang::En
        }
    }

    /// Of the same thing written in each language, the one this reader reads. Every bilingual
    /// choice goes through here: `Text`, `Bilingual` and pages' words.
    pub fn pick<T>(self, ja: T, en: T) -> T {
        match self {
            Lang::Ja => ja,
            Lang::En => en,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }
}

/// A day inside a sentence: 「2026年12月19日」 / "Dec 19, 2026".
pub fn day_in_sentence(day: chrono::NaiveDate, lang: Lang) -> String {
    match lang {
        Lang::Ja => day.format("%Y年%-m月%-d日").to_string(),
        Lang::En => day.format("%b %-d, %Y").to_string(),
    }
}

/// A name kept in the workspace's language with an optional English one (segments, playbooks,
/// onboarding templates, features, scorecards): English readers get the English name when
/// there is one, everyone else the name.
pub fn name_in<'a>(name: &'a str, name_en: Option<&'a str>, lang: Lang) -> &'a str {
    match (lang, name_en) {
        (Lang::En, Some(english)) if !english.trim().is_empty() => english,
        _ => name,
    }
}

/// The longest name or English name of a segment, playbook or onboarding template.
pub const MAX_NAME_CHARS: usize = 200;

/// A string in both languages; `pick` returns the one for the reader.
#[derive(Debug, Clone, Copy)]
pub struct Text {
    pub ja: &'static str,
    pub en: &'static str,
}

impl Text {
    pub const fn new(ja: &'static str, en: &'static str) -> Text {
        Text { ja, en }
    }

    pub fn pick(self, lang: Lang) -> &'static str {
        lang.pick(self.ja, self.en)
    }
}

/// A sentence written in both languages at run time (e.g. why a playbook created a task).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Bilingual {
    pub ja: String,
    pub en: String,
}

impl Bilingual {
    pub fn new(ja: impl Into<String>, en: impl Into<String>) -> Bilingual {
        Bilingual { ja: ja.into(), en: en.into() }
    }

    pub fn pick(&self, lang: Lang) -> &str {
        lang.pick(&self.ja, &self.en)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_with_kana_or_kanji_is_japanese() {
        assert_eq!(Lang::of_text("{{account}}: 更新に向けた振り返り"), Lang::Ja);
        assert_eq!(Lang::of_text("ｱｶｳﾝﾄ"), Lang::Ja);
        assert_eq!(Lang::of_text("Renewal review for {{account}} — ¥"), Lang::En);
    }

    #[test]
    fn english_readers_get_the_english_name_when_there_is_one() {
        assert_eq!(name_in("更新準備", Some("Renewal prep"), Lang::En), "Renewal prep");
        assert_eq!(name_in("更新準備", Some("Renewal prep"), Lang::Ja), "更新準備");
        assert_eq!(name_in("更新準備", None, Lang::En), "更新準備");
        assert_eq!(name_in("更新準備", Some(" "), Lang::En), "更新準備");
    }

    #[test]
    fn accept_language_prefers_highest_quality_supported_language() {
        assert_eq!(Lang::from_accept_language("fr, en;q=0.8, ja;q=0.9"), Some(Lang::Ja));
        assert_eq!(Lang::from_accept_language("en-US,en;q=0.9"), Some(Lang::En));
        assert_eq!(Lang::from_accept_language("de"), None);
    }

    #[test]
    fn posix_locale_selects_japanese_only_for_ja() {
        assert_eq!(Lang::from_locale("ja_JP.UTF-8"), Lang::Ja);
        assert_eq!(Lang::from_locale("C.UTF-8"), Lang::En);
    }
}
