//! What is wrong with a segment rule, where, in Japanese and English.

use super::ast::ValueType;
use crate::i18n::{Lang, Text};
use serde::Serialize;
use std::fmt;

/// A byte range of the rule text. Kept out of the public AST so that two rules that differ only
/// in spacing parse to equal trees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    pub fn to(self, other: Span) -> Span {
        Span { start: self.start, end: other.end }
    }
}

/// One error in a rule: where it is and why.
///
/// `offset` and `length` are in bytes, so `&rule[offset..offset + length]` is the offending text;
/// `line` and `column` count from 1, columns in characters (not bytes), as an editor shows them.
/// An error at the end of the rule has length 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SegmentError {
    pub offset: usize,
    pub length: usize,
    pub line: usize,
    pub column: usize,
    pub reason: SegmentReason,
}

impl SegmentError {
    pub(super) fn at(source: &str, span: Span, reason: SegmentReason) -> SegmentError {
        let before = &source[..span.start];
        let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
        SegmentError {
            offset: span.start,
            length: span.end - span.start,
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
            reason,
        }
    }

    pub fn message(&self, lang: Lang) -> String {
        self.reason.message(lang)
    }
}

impl fmt::Display for SegmentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}: {}", self.line, self.column, self.reason.message(Lang::En))
    }
}

impl std::error::Error for SegmentError {}

/// What the parser was looking for when it met something else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Expected {
    Condition,
    Value,
    ClosingParen,
    ListStart,
    CommaOrClosingParen,
    Null,
    In,
    CustomKey,
    Number,
    /// `and`, `or` or the end: what may follow a complete condition.
    Connective,
}

impl Expected {
    fn text(self) -> Text {
        match self {
            Expected::Condition => Text::new("条件", "a condition"),
            Expected::Value => Text::new("値", "a value"),
            Expected::ClosingParen => Text::new("「)」", "`)`"),
            Expected::ListStart => Text::new("in の後の「(」", "`(` after in"),
            Expected::CommaOrClosingParen => Text::new("「,」か「)」", "`,` or `)`"),
            Expected::Null => Text::new("null", "null"),
            Expected::In => Text::new("in", "in"),
            Expected::CustomKey => Text::new("独自項目のキー", "a custom field key"),
            Expected::Number => Text::new("数値", "a number"),
            Expected::Connective => Text::new("and・or・ルールの終わり", "and, or, or the end of the rule"),
        }
    }
}

/// Why a rule was refused. Lexing and syntax reasons come alone (the first one); type reasons
/// come all together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum SegmentReason {
    // Lexing.
    UnexpectedCharacter { character: char },
    UnterminatedText,
    UnknownEscape { escape: String },
    InvalidNumber,
    InvalidDate,
    UnknownUnit { unit: String },
    InvalidInterval,
    // Syntax. `found` is the offending token as written, `None` at the end of the rule.
    Expected { expected: Expected, found: Option<String> },
    TooDeep { max: usize },
    // Types.
    UnknownField { name: String, suggestion: Option<String> },
    UnknownFunction { name: String, suggestion: Option<String> },
    ArgumentCount { function: &'static str, expected: usize, found: usize },
    FeatureKeyExpected,
    InvalidFeatureKey,
    UnknownFeature { key: String, suggestion: Option<String> },
    WindowExpected,
    EmptyWindow,
    Mismatch { left: ValueType, right: ValueType },
    NotOrdered { value_type: ValueType },
    NotACondition { value_type: ValueType },
    UseIsNull,
    IntervalNotAValue,
    ShiftNeedsDate { value_type: ValueType },
    ShiftNeedsInterval,
    NotOneOf { field: &'static str, allowed: Vec<&'static str> },
    OutOfRange { field: &'static str, min: &'static str, max: &'static str },
}

impl SegmentReason {
    pub fn message(&self, lang: Lang) -> String {
        use SegmentReason::*;
        let ja = lang == Lang::Ja;
        let pick = |ja_text: String, en_text: String| if ja { ja_text } else { en_text };
        match self {
            UnexpectedCharacter { character } => {
                pick(format!("使えない文字です: {character}"), format!("unexpected character `{character}`"))
            }
            UnterminatedText => pick(
                "文字列が閉じられていません（\" で閉じてください）".into(),
                "text is not closed; end it with \"".into(),
            ),
            UnknownEscape { escape } => pick(
                format!("不明なエスケープです: {escape}（\\\" \\\\ \\n \\t \\r \\u{{…}} が使えます）"),
                format!("unknown escape {escape}; use \\\" \\\\ \\n \\t \\r or \\u{{…}}"),
            ),
            InvalidNumber => pick(
                "数値として読めません（例: 1000000, 1_000_000, 0.5）".into(),
                "is not a number (e.g. 1000000, 1_000_000, 0.5)".into(),
            ),
            InvalidDate => pick(
                "存在しない日付です（YYYY-MM-DD で書いてください）".into(),
                "is not a valid date as YYYY-MM-DD".into(),
            ),
            UnknownUnit { unit } => pick(
                format!("期間の単位 {unit} は使えません（d: 日, w: 週, m: 月, y: 年）"),
                format!("unknown period unit `{unit}`; use d (days), w (weeks), m (months) or y (years)"),
            ),
            InvalidInterval => pick(
                "期間は整数で書いてください（例: 30d, 2w, 6m, 1y）".into(),
                "a period is a whole number and a unit (e.g. 30d, 2w, 6m, 1y)".into(),
            ),
            Expected { expected, found } => {
                let expected = expected.text().pick(lang);
                match (found, ja) {
                    (Some(found), true) => format!("{expected}が必要ですが「{found}」があります"),
                    (Some(found), false) => format!("expected {expected}, found `{found}`"),
                    (None, true) => format!("{expected}が必要ですが、ルールが終わっています"),
                    (None, false) => format!("expected {expected}, found the end of the rule"),
                }
            }
            TooDeep { max } => {
                pick(format!("入れ子が深すぎます（{max} 段まで）"), format!("nested too deeply (at most {max} levels)"))
            }
            UnknownField { name, suggestion } => match suggestion {
                Some(s) => pick(
                    format!("不明な項目です: {name}（{s} のことですか？）"),
                    format!("unknown field `{name}`; did you mean `{s}`?"),
                ),
                None => pick(
                    format!("不明な項目です: {name}（独自項目は custom. で始めてください）"),
                    format!("unknown field `{name}` (custom fields start with custom.)"),
                ),
            },
            UnknownFunction { name, suggestion } => match suggestion {
                Some(s) => pick(
                    format!("不明な関数です: {name}（{s} のことですか？）"),
                    format!("unknown function `{name}`; did you mean `{s}`?"),
                ),
                None => pick(format!("不明な関数です: {name}"), format!("unknown function `{name}`")),
            },
            ArgumentCount { function, expected, found } => pick(
                format!("{function} の引数は {expected} 個です（{found} 個あります）"),
                format!("{function} takes {expected} argument(s), found {found}"),
            ),
            FeatureKeyExpected => pick(
                "機能カタログにある機能のキーを \" で囲んで指定してください".into(),
                "expected the key of a feature in the feature catalog, in double quotes".into(),
            ),
            UnknownFeature { key, suggestion } => match suggestion {
                Some(s) => pick(
                    format!("機能カタログにない機能です: \"{key}\"（\"{s}\" のことですか？）"),
                    format!("no feature \"{key}\" in the feature catalog; did you mean \"{s}\"?"),
                ),
                None => pick(
                    format!("機能カタログにない機能です: \"{key}\""),
                    format!("no feature \"{key}\" in the feature catalog"),
                ),
            },
            InvalidFeatureKey => pick(
                "機能のキーは英小文字・数字・_・- で書きます".into(),
                "a feature key is lowercase letters, digits, _ or -".into(),
            ),
            WindowExpected => pick(
                "期間を 30d, 2w, 6m, 1y のように指定してください".into(),
                "expected a period such as 30d, 2w, 6m or 1y".into(),
            ),
            EmptyWindow => pick("期間は 1 以上にしてください".into(), "the period must be at least 1".into()),
            Mismatch { left, right } => pick(
                format!("{}と{}は比較できません", left.text().ja, right.text().ja),
                format!("cannot compare {} with {}", left.text().en, right.text().en),
            ),
            NotOrdered { value_type } => pick(
                format!("{}は大小を比べられません（= か != を使ってください）", value_type.text().ja),
                format!("{} cannot be compared with <, <=, > or >=; use = or !=", value_type.text().en),
            ),
            NotACondition { value_type } => pick(
                format!("{}は条件になりません（比較を書いてください）", value_type.text().ja),
                format!("{} is not a condition; compare it with something", value_type.text().en),
            ),
            UseIsNull => pick(
                "null とは比較できません（is null / is not null を使ってください）".into(),
                "nothing compares with null; use is null or is not null".into(),
            ),
            IntervalNotAValue => pick(
                "期間（30d など）は日付に足し引きするか、関数に渡すものです".into(),
                "a period such as 30d can only be added to a date or passed to a function".into(),
            ),
            ShiftNeedsDate { value_type } => pick(
                format!("期間を足し引きできるのは日付だけです（{}です）", value_type.text().ja),
                format!("only a date can be moved by a period, not {}", value_type.text().en),
            ),
            ShiftNeedsInterval => pick(
                "日付には 30d, 2w, 6m, 1y のような期間を足し引きしてください".into(),
                "add or subtract a period such as 30d, 2w, 6m or 1y".into(),
            ),
            NotOneOf { field, allowed } => pick(
                format!("{field} は次のいずれかです: {}", allowed.join(", ")),
                format!("{field} is one of: {}", allowed.join(", ")),
            ),
            OutOfRange { field, min, max } => pick(
                format!("{field} は {min} から {max} の範囲の値です"),
                format!("{field} is between {min} and {max}"),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_counts_lines_and_characters_from_one() {
        let source = "arr > 1\nand 名前 = \"x\"";
        let offset = source.find('=').unwrap();
        let error = SegmentError::at(source, Span::new(offset, offset + 1), SegmentReason::UseIsNull);
        assert_eq!((error.line, error.column, error.offset, error.length), (2, 8, offset, 1));
        let at_end = SegmentError::at(source, Span::new(source.len(), source.len()), SegmentReason::UseIsNull);
        assert_eq!((at_end.line, at_end.column, at_end.length), (2, 13, 0));
    }

    #[test]
    fn mismatch_reads_naturally_in_both_languages() {
        let reason = SegmentReason::Mismatch { left: ValueType::Number, right: ValueType::Text };
        assert_eq!(reason.message(Lang::Ja), "数値と文字列は比較できません");
        assert_eq!(reason.message(Lang::En), "cannot compare a number with text");
    }
}
