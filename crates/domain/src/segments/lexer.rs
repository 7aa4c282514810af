//! Splits a rule into tokens. Keywords and names are read case-insensitively (lowercased here);
//! text in quotes keeps its case.

use super::ast::{is_identifier_continue, is_identifier_start, CompareOp, Interval, IntervalUnit};
use super::error::{SegmentReason, Span};
use chrono::NaiveDate;
use rust_decimal::Decimal;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Keyword {
    And,
    Or,
    Not,
    In,
    Is,
    Null,
    True,
    False,
    Today,
}

impl Keyword {
    fn from_word(word: &str) -> Option<Keyword> {
        Some(match word {
            "and" => Keyword::And,
            "or" => Keyword::Or,
            "not" => Keyword::Not,
            "in" => Keyword::In,
            "is" => Keyword::Is,
            "null" => Keyword::Null,
            "true" => Keyword::True,
            "false" => Keyword::False,
            "today" => Keyword::Today,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum TokenKind {
    /// A name, lowercased.
    Identifier(String),
    Keyword(Keyword),
    Text(String),
    Number(Decimal),
    Date(NaiveDate),
    Interval(Interval),
    LeftParen,
    RightParen,
    Comma,
    Dot,
    Compare(CompareOp),
    Plus,
    Minus,
    End,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token {
    pub kind: TokenKind,
    pub span: Span,
}

/// Every token of the rule, ending with `End`; or the first lexing error.
pub(super) fn tokenize(source: &str) -> Result<Vec<Token>, (Span, SegmentReason)> {
    let mut lexer = Lexer { source, position: 0 };
    let mut tokens = Vec::new();
    loop {
        let token = lexer.next_token()?;
        let done = token.kind == TokenKind::End;
        tokens.push(token);
        if done {
            return Ok(tokens);
        }
    }
}

struct Lexer<'a> {
    source: &'a str,
    position: usize,
}

impl<'a> Lexer<'a> {
    fn rest(&self) -> &'a str {
        &self.source[self.position..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn peek_second(&self) -> Option<char> {
        self.rest().chars().nth(1)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.position += c.len_utf8();
        Some(c)
    }

    /// Advances over characters while `keep` holds and returns them.
    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> &'a str {
        let start = self.position;
        while self.peek().is_some_and(&keep) {
            self.bump();
        }
        &self.source[start..self.position]
    }

    fn next_token(&mut self) -> Result<Token, (Span, SegmentReason)> {
        self.take_while(char::is_whitespace);
        let start = self.position;
        let Some(c) = self.peek() else {
            return Ok(Token { kind: TokenKind::End, span: Span::new(start, start) });
        };
        let kind = match c {
            '(' | ')' | ',' | '.' | '+' | '-' | '=' => {
                self.bump();
                match c {
                    '(' => TokenKind::LeftParen,
                    ')' => TokenKind::RightParen,
                    ',' => TokenKind::Comma,
                    '.' => TokenKind::Dot,
                    '+' => TokenKind::Plus,
                    '-' => TokenKind::Minus,
                    _ => TokenKind::Compare(CompareOp::Eq),
                }
            }
            '<' | '>' | '!' => {
                self.bump();
                let or_equal = self.peek() == Some('=');
                if or_equal {
                    self.bump();
                }
                TokenKind::Compare(match (c, or_equal) {
                    ('<', false) => CompareOp::Lt,
                    ('<', true) => CompareOp::Le,
                    ('>', false) => CompareOp::Gt,
                    ('>', true) => CompareOp::Ge,
                    ('!', true) => CompareOp::Ne,
                    _ => {
                        return Err((
                            Span::new(start, self.position),
                            SegmentReason::UnexpectedCharacter { character: c },
                        ))
                    }
                })
            }
            '"' => TokenKind::Text(self.text()?),
            c if c.is_ascii_digit() => self.number_date_or_interval()?,
            c if is_identifier_start(c) => {
                let word = self.take_while(is_identifier_continue).to_lowercase();
                match Keyword::from_word(&word) {
                    Some(keyword) => TokenKind::Keyword(keyword),
                    None => TokenKind::Identifier(word),
                }
            }
            _ => {
                self.bump();
                return Err((Span::new(start, self.position), SegmentReason::UnexpectedCharacter { character: c }));
            }
        };
        Ok(Token { kind, span: Span::new(start, self.position) })
    }

    /// Text in double quotes, after the opening quote.
    fn text(&mut self) -> Result<String, (Span, SegmentReason)> {
        let start = self.position;
        self.bump();
        let mut text = String::new();
        loop {
            let escape_start = self.position;
            match self.bump() {
                None => return Err((Span::new(start, self.position), SegmentReason::UnterminatedText)),
                Some('"') => return Ok(text),
                Some('\\') => {
                    let escaped = match self.bump() {
                        Some('"') => Some('"'),
                        Some('\\') => Some('\\'),
                        Some('n') => Some('\n'),
                        Some('t') => Some('\t'),
                        Some('r') => Some('\r'),
                        Some('u') => self.unicode_escape(),
                        Some(_) => None,
                        None => return Err((Span::new(start, self.position), SegmentReason::UnterminatedText)),
                    };
                    match escaped {
                        Some(c) => text.push(c),
                        None => {
                            let span = Span::new(escape_start, self.position);
                            let escape = self.source[escape_start..self.position].to_owned();
                            return Err((span, SegmentReason::UnknownEscape { escape }));
                        }
                    }
                }
                Some(c) => text.push(c),
            }
        }
    }

    /// `{1F600}` after `\u`: one to six hex digits naming a character.
    fn unicode_escape(&mut self) -> Option<char> {
        if self.peek() != Some('{') {
            return None;
        }
        self.bump();
        let hex = self.take_while(|c| c.is_ascii_hexdigit()).to_owned();
        if self.peek() != Some('}') || hex.is_empty() || hex.len() > 6 {
            return None;
        }
        self.bump();
        u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32)
    }

    /// `2026-11-23`, `1_000_000`, `0.5` or `90d`.
    fn number_date_or_interval(&mut self) -> Result<TokenKind, (Span, SegmentReason)> {
        let start = self.position;
        if let Some(date) = self.date()? {
            return Ok(TokenKind::Date(date));
        }
        self.take_while(|c| c.is_ascii_digit() || c == '_');
        let has_fraction = self.peek() == Some('.') && self.peek_second().is_some_and(|c| c.is_ascii_digit());
        if has_fraction {
            self.bump();
            self.take_while(|c| c.is_ascii_digit() || c == '_');
        }
        let digits = &self.source[start..self.position];
        let suffix_start = self.position;
        let suffix = self.take_while(is_identifier_continue);
        let span = Span::new(start, self.position);
        // A separator must sit between two digits: `1_000` but not `1__0`, `1_` or `1_.5`.
        let bytes = digits.as_bytes();
        let separators_ok = bytes.iter().enumerate().all(|(index, byte)| {
            *byte != b'_' || (bytes[index - 1].is_ascii_digit() && bytes.get(index + 1).is_some_and(u8::is_ascii_digit))
        });
        if !separators_ok {
            return Err((span, SegmentReason::InvalidNumber));
        }
        let cleaned = digits.replace('_', "");
        if suffix.is_empty() {
            return Decimal::from_str_exact(&cleaned)
                .map(TokenKind::Number)
                .map_err(|_| (span, SegmentReason::InvalidNumber));
        }
        let Some(unit) = IntervalUnit::from_suffix(suffix) else {
            let unit = suffix.to_owned();
            return Err((Span::new(suffix_start, span.end), SegmentReason::UnknownUnit { unit }));
        };
        match cleaned.parse::<u32>() {
            Ok(count) if !has_fraction => Ok(TokenKind::Interval(Interval { count, unit })),
            _ => Err((span, SegmentReason::InvalidInterval)),
        }
    }

    /// A date when the text here has the shape `dddd-dd-dd`; an error when that shape names no day.
    fn date(&mut self) -> Result<Option<NaiveDate>, (Span, SegmentReason)> {
        let bytes = self.rest().as_bytes();
        let shaped = bytes.len() >= 10
            && bytes[..10].iter().enumerate().all(|(index, byte)| match index {
                4 | 7 => *byte == b'-',
                _ => byte.is_ascii_digit(),
            })
            && !self.rest()[10..].chars().next().is_some_and(is_identifier_continue);
        if !shaped {
            return Ok(None);
        }
        let text = &self.rest()[..10];
        let span = Span::new(self.position, self.position + 10);
        let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| (span, SegmentReason::InvalidDate))?;
        self.position += 10;
        Ok(Some(date))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(source: &str) -> Vec<TokenKind> {
        tokenize(source).unwrap().into_iter().map(|token| token.kind).collect()
    }

    fn error(source: &str) -> (usize, usize, SegmentReason) {
        let (span, reason) = tokenize(source).unwrap_err();
        (span.start, span.end - span.start, reason)
    }

    #[test]
    fn reads_numbers_with_separators_and_decimals() {
        assert_eq!(
            kinds("1_000_000 0.5 -10"),
            vec![
                TokenKind::Number(Decimal::from(1_000_000)),
                TokenKind::Number(Decimal::new(5, 1)),
                TokenKind::Minus,
                TokenKind::Number(Decimal::from(10)),
                TokenKind::End
            ]
        );
    }

    #[test]
    fn reads_dates_and_intervals_in_every_unit() {
        assert_eq!(
            kinds("2026-11-23 90d 2W 6m 1y"),
            vec![
                TokenKind::Date(NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()),
                TokenKind::Interval(Interval { count: 90, unit: IntervalUnit::Days }),
                TokenKind::Interval(Interval { count: 2, unit: IntervalUnit::Weeks }),
                TokenKind::Interval(Interval { count: 6, unit: IntervalUnit::Months }),
                TokenKind::Interval(Interval { count: 1, unit: IntervalUnit::Years }),
                TokenKind::End
            ]
        );
    }

    #[test]
    fn reads_escapes_in_text() {
        assert_eq!(
            kinds(r#""a\"b\\c\nd\te\r\u{1F600}""#),
            vec![TokenKind::Text("a\"b\\c\nd\te\r😀".into()), TokenKind::End]
        );
    }

    #[test]
    fn keywords_and_names_are_case_insensitive() {
        assert_eq!(
            kinds("AND Or nOt ARR Custom.業種"),
            vec![
                TokenKind::Keyword(Keyword::And),
                TokenKind::Keyword(Keyword::Or),
                TokenKind::Keyword(Keyword::Not),
                TokenKind::Identifier("arr".into()),
                TokenKind::Identifier("custom".into()),
                TokenKind::Dot,
                TokenKind::Identifier("業種".into()),
                TokenKind::End
            ]
        );
    }

    #[test]
    fn reads_every_operator() {
        let ops: Vec<_> = kinds("= != < <= > >=")
            .into_iter()
            .filter_map(|kind| match kind {
                TokenKind::Compare(op) => Some(op),
                _ => None,
            })
            .collect();
        use CompareOp::*;
        assert_eq!(ops, vec![Eq, Ne, Lt, Le, Gt, Ge]);
    }

    #[test]
    fn reports_each_lexing_error_with_its_span() {
        assert_eq!(error("arr ! 1"), (4, 1, SegmentReason::UnexpectedCharacter { character: '!' }));
        assert_eq!(error("name = ？"), (7, 3, SegmentReason::UnexpectedCharacter { character: '？' }));
        assert_eq!(error("name = \"abc"), (7, 4, SegmentReason::UnterminatedText));
        assert_eq!(error(r#"name = "a\qb""#), (9, 2, SegmentReason::UnknownEscape { escape: "\\q".into() }));
        assert_eq!(
            error(r#"name = "\u{110000}""#),
            (8, 10, SegmentReason::UnknownEscape { escape: "\\u{110000}".into() })
        );
        assert_eq!(error("arr > 1__000"), (6, 6, SegmentReason::InvalidNumber));
        assert_eq!(error("arr > 1000_"), (6, 5, SegmentReason::InvalidNumber));
        assert_eq!(error("arr > 99999999999999999999999999999999"), (6, 32, SegmentReason::InvalidNumber));
        assert_eq!(error("renewal_date < 2026-02-30"), (15, 10, SegmentReason::InvalidDate));
        assert_eq!(error("today + 3x"), (9, 1, SegmentReason::UnknownUnit { unit: "x".into() }));
        assert_eq!(error("today + 1.5m"), (8, 4, SegmentReason::InvalidInterval));
        assert_eq!(error("today + 99999999999d"), (8, 12, SegmentReason::InvalidInterval));
    }
}
