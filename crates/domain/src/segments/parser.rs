//! Recursive descent from tokens to a syntax tree that still carries positions and unresolved
//! names; `check` turns it into the typed `Condition`. Stops at the first syntax error.
//!
//! ```text
//! rule      = any END
//! any       = all ("or" all)*
//! all       = negation ("and" negation)*
//! negation  = "not" negation | "(" any ")" | predicate
//! predicate = operand [ cmp operand
//!                     | ["not"] "in" "(" operand ("," operand)* ")"
//!                     | "is" ["not"] "null" ]
//! cmp       = "=" | "!=" | "<" | "<=" | ">" | ">="
//! operand   = term (("+" | "-") term)*
//! term      = ["-"] NUMBER | TEXT | DATE | INTERVAL | "true" | "false" | "null" | "today"
//!           | name ["(" [operand ("," operand)*] ")"]
//! name      = IDENT ("." (IDENT | KEYWORD | TEXT))*
//! ```

use super::ast::{CompareOp, Interval, Sign};
use super::error::{Expected, SegmentReason, Span};
use super::lexer::{tokenize, Keyword, Token, TokenKind};
use chrono::NaiveDate;
use rust_decimal::Decimal;

/// How deep parentheses, `not`, function arguments and date shifts may nest: deeper than any
/// real rule, shallow enough that recursion over the tree cannot exhaust the stack.
pub(super) const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Syntax {
    Any(Vec<Syntax>),
    All(Vec<Syntax>),
    Not(Box<Syntax>),
    Compare { left: Term, op: CompareOp, op_span: Span, right: Term },
    In { value: Term, list: Vec<Term>, negated: bool },
    IsNull { value: Term, negated: bool },
    Holds(Term),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Term {
    pub kind: TermKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum TermKind {
    /// A dotted name, each part lowercased unless it was quoted.
    Name(Vec<String>),
    Call {
        name: String,
        name_span: Span,
        args: Vec<Term>,
    },
    Text(String),
    Number(Decimal),
    Bool(bool),
    Date(NaiveDate),
    Today,
    Null,
    Interval(Interval),
    Shift {
        date: Box<Term>,
        sign: Sign,
        by: Box<Term>,
    },
}

pub(super) fn parse(source: &str) -> Result<Syntax, (Span, SegmentReason)> {
    let mut parser = Parser { source, tokens: tokenize(source)?, index: 0, depth: 0 };
    let rule = parser.any()?;
    if parser.peek() != &TokenKind::End {
        return Err(parser.expected(Expected::Connective));
    }
    Ok(rule)
}

struct Parser<'a> {
    source: &'a str,
    tokens: Vec<Token>,
    index: usize,
    depth: usize,
}

type Parsed<T> = Result<T, (Span, SegmentReason)>;

impl Parser<'_> {
    fn peek(&self) -> &TokenKind {
        &self.tokens[self.index].kind
    }

    fn span(&self) -> Span {
        self.tokens[self.index].span
    }

    /// Moves past the current token (never past `End`) and returns it.
    fn bump(&mut self) -> Token {
        let token = self.tokens[self.index].clone();
        if token.kind != TokenKind::End {
            self.index += 1;
        }
        token
    }

    fn eat(&mut self, kind: &TokenKind) -> bool {
        let found = self.peek() == kind;
        if found {
            self.bump();
        }
        found
    }

    fn expect(&mut self, kind: &TokenKind, expected: Expected) -> Parsed<Token> {
        if self.peek() == kind {
            Ok(self.bump())
        } else {
            Err(self.expected(expected))
        }
    }

    fn expected(&self, expected: Expected) -> (Span, SegmentReason) {
        let span = self.span();
        let found = match self.peek() {
            TokenKind::End => None,
            _ => Some(self.source[span.start..span.end].to_owned()),
        };
        (span, SegmentReason::Expected { expected, found })
    }

    /// Runs `inner` one nesting level deeper, refusing to go past `MAX_DEPTH`; `opener` is the
    /// token that opened the level, where the error points.
    fn nested<T>(&mut self, opener: Span, inner: impl FnOnce(&mut Self) -> Parsed<T>) -> Parsed<T> {
        if self.depth >= MAX_DEPTH {
            return Err((opener, SegmentReason::TooDeep { max: MAX_DEPTH }));
        }
        self.depth += 1;
        let result = inner(self);
        self.depth -= 1;
        result
    }

    fn any(&mut self) -> Parsed<Syntax> {
        let mut conditions = vec![self.all()?];
        while self.eat(&TokenKind::Keyword(Keyword::Or)) {
            conditions.push(self.all()?);
        }
        Ok(if conditions.len() == 1 { conditions.remove(0) } else { Syntax::Any(conditions) })
    }

    fn all(&mut self) -> Parsed<Syntax> {
        let mut conditions = vec![self.negation()?];
        while self.eat(&TokenKind::Keyword(Keyword::And)) {
            conditions.push(self.negation()?);
        }
        Ok(if conditions.len() == 1 { conditions.remove(0) } else { Syntax::All(conditions) })
    }

    fn negation(&mut self) -> Parsed<Syntax> {
        let opener = self.span();
        if self.eat(&TokenKind::Keyword(Keyword::Not)) {
            return self.nested(opener, |parser| Ok(Syntax::Not(Box::new(parser.negation()?))));
        }
        if self.eat(&TokenKind::LeftParen) {
            return self.nested(opener, |parser| {
                let inner = parser.any()?;
                parser.expect(&TokenKind::RightParen, Expected::ClosingParen)?;
                Ok(inner)
            });
        }
        self.predicate()
    }

    fn predicate(&mut self) -> Parsed<Syntax> {
        if !starts_operand(self.peek()) {
            return Err(self.expected(Expected::Condition));
        }
        let value = self.operand()?;
        match self.peek().clone() {
            TokenKind::Compare(op) => {
                let op_span = self.bump().span;
                let right = self.operand()?;
                Ok(Syntax::Compare { left: value, op, op_span, right })
            }
            TokenKind::Keyword(Keyword::In) => {
                self.bump();
                Ok(Syntax::In { value, list: self.list()?, negated: false })
            }
            TokenKind::Keyword(Keyword::Not) => {
                self.bump();
                self.expect(&TokenKind::Keyword(Keyword::In), Expected::In)?;
                Ok(Syntax::In { value, list: self.list()?, negated: true })
            }
            TokenKind::Keyword(Keyword::Is) => {
                self.bump();
                let negated = self.eat(&TokenKind::Keyword(Keyword::Not));
                self.expect(&TokenKind::Keyword(Keyword::Null), Expected::Null)?;
                Ok(Syntax::IsNull { value, negated })
            }
            _ => Ok(Syntax::Holds(value)),
        }
    }

    fn list(&mut self) -> Parsed<Vec<Term>> {
        self.expect(&TokenKind::LeftParen, Expected::ListStart)?;
        let items = self.operands()?;
        self.expect(&TokenKind::RightParen, Expected::CommaOrClosingParen)?;
        Ok(items)
    }

    /// One or more operands separated by commas.
    fn operands(&mut self) -> Parsed<Vec<Term>> {
        let mut items = vec![self.operand()?];
        while self.eat(&TokenKind::Comma) {
            items.push(self.operand()?);
        }
        Ok(items)
    }

    fn operand(&mut self) -> Parsed<Term> {
        let mut operand = self.term()?;
        let mut shifts = 0;
        loop {
            let sign = match self.peek() {
                TokenKind::Plus => Sign::Plus,
                TokenKind::Minus => Sign::Minus,
                _ => return Ok(operand),
            };
            shifts += 1;
            if shifts > MAX_DEPTH {
                return Err((self.span(), SegmentReason::TooDeep { max: MAX_DEPTH }));
            }
            self.bump();
            let by = self.term()?;
            let span = operand.span.to(by.span);
            operand = Term { kind: TermKind::Shift { date: Box::new(operand), sign, by: Box::new(by) }, span };
        }
    }

    fn term(&mut self) -> Parsed<Term> {
        if !starts_operand(self.peek()) {
            return Err(self.expected(Expected::Value));
        }
        let token = self.bump();
        let kind = match token.kind {
            TokenKind::Minus => {
                let TokenKind::Number(number) = *self.peek() else {
                    return Err(self.expected(Expected::Number));
                };
                let end = self.bump().span;
                return Ok(Term { kind: TermKind::Number(-number), span: token.span.to(end) });
            }
            TokenKind::Number(number) => TermKind::Number(number),
            TokenKind::Text(text) => TermKind::Text(text),
            TokenKind::Date(date) => TermKind::Date(date),
            TokenKind::Interval(interval) => TermKind::Interval(interval),
            TokenKind::Keyword(Keyword::True) => TermKind::Bool(true),
            TokenKind::Keyword(Keyword::False) => TermKind::Bool(false),
            TokenKind::Keyword(Keyword::Null) => TermKind::Null,
            TokenKind::Keyword(Keyword::Today) => TermKind::Today,
            TokenKind::Identifier(first) => return self.name_or_call(first, token.span),
            _ => unreachable!("starts_operand admits only the tokens above"),
        };
        Ok(Term { kind, span: token.span })
    }

    fn name_or_call(&mut self, first: String, first_span: Span) -> Parsed<Term> {
        let mut parts = vec![first];
        let mut span = first_span;
        while self.eat(&TokenKind::Dot) {
            let part = match self.peek() {
                TokenKind::Identifier(word) => word.clone(),
                // A custom key may be spelled like a keyword: `custom.in`.
                TokenKind::Keyword(_) => self.source[self.span().start..self.span().end].to_lowercase(),
                TokenKind::Text(text) => text.clone(),
                _ => return Err(self.expected(Expected::CustomKey)),
            };
            parts.push(part);
            span = span.to(self.bump().span);
        }
        if !self.eat(&TokenKind::LeftParen) {
            return Ok(Term { kind: TermKind::Name(parts), span });
        }
        let name_span = span;
        let args = self.nested(name_span, |parser| {
            if parser.peek() == &TokenKind::RightParen {
                Ok(Vec::new())
            } else {
                parser.operands()
            }
        })?;
        let close = self.expect(&TokenKind::RightParen, Expected::CommaOrClosingParen)?;
        Ok(Term { kind: TermKind::Call { name: parts.join("."), name_span, args }, span: name_span.to(close.span) })
    }
}

fn starts_operand(kind: &TokenKind) -> bool {
    matches!(
        kind,
        TokenKind::Identifier(_)
            | TokenKind::Text(_)
            | TokenKind::Number(_)
            | TokenKind::Date(_)
            | TokenKind::Interval(_)
            | TokenKind::Minus
            | TokenKind::Keyword(Keyword::True | Keyword::False | Keyword::Null | Keyword::Today)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(source: &str) -> (usize, usize, SegmentReason) {
        let (span, reason) = parse(source).unwrap_err();
        (span.start, span.end - span.start, reason)
    }

    fn expected(expected: Expected, found: Option<&str>) -> SegmentReason {
        SegmentReason::Expected { expected, found: found.map(str::to_owned) }
    }

    #[test]
    fn not_binds_tighter_than_and_which_binds_tighter_than_or() {
        let Syntax::Any(parts) = parse("not a or b and not c").unwrap() else { panic!("or at the top") };
        assert!(matches!(parts[0], Syntax::Not(_)));
        let Syntax::All(ref all) = parts[1] else { panic!("and below or") };
        assert!(matches!(all[1], Syntax::Not(_)));
    }

    #[test]
    fn chains_are_flat_and_parentheses_nest() {
        let Syntax::All(parts) = parse("a and b and c").unwrap() else { panic!() };
        assert_eq!(parts.len(), 3);
        let Syntax::All(parts) = parse("(a and b) and c").unwrap() else { panic!() };
        assert_eq!(parts.len(), 2);
        assert!(matches!(parts[0], Syntax::All(_)));
    }

    #[test]
    fn date_shifts_associate_to_the_left() {
        let Syntax::Compare { right, .. } = parse("x < today + 1m - 1d").unwrap() else { panic!() };
        let TermKind::Shift { date, sign: Sign::Minus, .. } = right.kind else { panic!("outer shift is - 1d") };
        assert!(matches!(date.kind, TermKind::Shift { sign: Sign::Plus, .. }));
        assert_eq!((right.span.start, right.span.end), (4, 19));
    }

    #[test]
    fn reports_the_first_syntax_error_where_it_is() {
        assert_eq!(error(""), (0, 0, expected(Expected::Condition, None)));
        assert_eq!(error("arr > 1 and and"), (12, 3, expected(Expected::Condition, Some("and"))));
        assert_eq!(error("arr >"), (5, 0, expected(Expected::Value, None)));
        assert_eq!(error("(arr > 1"), (8, 0, expected(Expected::ClosingParen, None)));
        assert_eq!(error("arr > 1)"), (7, 1, expected(Expected::Connective, Some(")"))));
        assert_eq!(error("grade in \"a\""), (9, 3, expected(Expected::ListStart, Some("\"a\""))));
        assert_eq!(error("grade in ()"), (10, 1, expected(Expected::Value, Some(")"))));
        assert_eq!(error("grade in (\"a\" \"b\")"), (14, 3, expected(Expected::CommaOrClosingParen, Some("\"b\""))));
        assert_eq!(error("grade not (\"a\")"), (10, 1, expected(Expected::In, Some("("))));
        assert_eq!(error("grade is not 1"), (13, 1, expected(Expected::Null, Some("1"))));
        assert_eq!(error("custom.(1)"), (7, 1, expected(Expected::CustomKey, Some("("))));
        assert_eq!(error("score < - x"), (10, 1, expected(Expected::Number, Some("x"))));
        assert_eq!(error("arr > 1 < 2"), (8, 1, expected(Expected::Connective, Some("<"))));
        assert_eq!(error("used_within(\"a\", 30d"), (20, 0, expected(Expected::CommaOrClosingParen, None)));
    }

    #[test]
    fn refuses_nesting_deeper_than_the_limit() {
        let deep = format!("{}arr > 1{}", "(".repeat(MAX_DEPTH + 1), ")".repeat(MAX_DEPTH + 1));
        assert_eq!(error(&deep), (MAX_DEPTH, 1, SegmentReason::TooDeep { max: MAX_DEPTH }));
        let ok = format!("{}arr > 1{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
        let nots = format!("{}x", "not ".repeat(MAX_DEPTH + 1));
        assert!(matches!(error(&nots).2, SegmentReason::TooDeep { .. }));
        let shifts = format!("x < today{}", " + 1d".repeat(MAX_DEPTH + 1));
        assert!(matches!(error(&shifts).2, SegmentReason::TooDeep { .. }));
    }
}
