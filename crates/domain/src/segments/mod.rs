//! Segments: rules CS teams write to pick accounts, such as
//!
//! ```text
//! grade in ("at_risk", "neutral") and arr >= 1_000_000 and days_to_renewal <= 90
//! used_last_season("year_end") and not used_this_season("year_end")
//! renewal_date <= today + 90d and first_paying_day >= today - 6m
//! ```
//!
//! A rule is lexed, parsed (the grammar is in `parser.rs`) and type checked once, into a
//! `Segment`; evaluating it against an account's `AccountFacts` is then pure and cheap.
//!
//! - `not` binds tighter than `and`, which binds tighter than `or`; a comparison binds tighter
//!   than all three, so `not stage = "churned"` is `not (stage = "churned")`.
//! - Keywords and names are case-insensitive; text in quotes is compared exactly, except owner
//!   emails, which ignore ASCII case.
//! - Text and true/false values take `=`, `!=`, `in`; numbers and dates also `<`, `<=`, `>`, `>=`.
//! - A comparison with an unknown value is false, and `not` of it is true; see `eval.rs`.
//! - Errors carry their position; syntax errors stop at the first, type errors are all reported.

mod ast;
mod check;
mod error;
mod eval;
mod lexer;
mod parser;

#[cfg(test)]
mod tests;

pub use ast::{CompareOp, Condition, FeatureCall, Field, Function, Interval, IntervalUnit, Operand, Sign, ValueType};
pub use error::{Expected, SegmentError, SegmentReason};
pub use eval::{shift, AccountFacts, FeatureFacts};

use std::collections::BTreeSet;
use std::fmt;

/// A checked segment rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    condition: Condition,
}

impl Segment {
    /// Parses and checks a rule: the first lexing or syntax error, or else every type error.
    pub fn parse(text: &str) -> Result<Segment, Vec<SegmentError>> {
        Segment::parse_checked(text, None)
    }

    /// Parses and checks a rule that may name only the features of this catalog: an unknown
    /// feature is an error at its position (a rule that could never match is a mistake).
    pub fn parse_with_catalog(text: &str, features: &BTreeSet<String>) -> Result<Segment, Vec<SegmentError>> {
        Segment::parse_checked(text, Some(features))
    }

    fn parse_checked(text: &str, features: Option<&BTreeSet<String>>) -> Result<Segment, Vec<SegmentError>> {
        let syntax = parser::parse(text).map_err(|(span, reason)| vec![SegmentError::at(text, span, reason)])?;
        let condition = check::check(text, &syntax, features)?;
        Ok(Segment { condition })
    }

    pub fn condition(&self) -> &Condition {
        &self.condition
    }

    /// Whether the account is in the segment.
    pub fn matches(&self, facts: &AccountFacts) -> bool {
        eval::matches(&self.condition, facts)
    }

    /// The fields the rule reads, so a caller loads only those, and re-evaluates when one of
    /// them changes. `days_to_renewal` reads `AccountFacts::renewal_date`, and
    /// `days_since_activity` reads `AccountFacts::last_activity_on`.
    pub fn fields_used(&self) -> BTreeSet<Field> {
        let mut fields = BTreeSet::new();
        visit_operands(&self.condition, &mut |operand| {
            if let Operand::Field { field } = operand {
                fields.insert(field.clone());
            }
        });
        fields
    }

    /// The feature keys the rule's functions read; each needs an entry in
    /// `AccountFacts::features`.
    pub fn features_used(&self) -> BTreeSet<String> {
        let mut features = BTreeSet::new();
        visit_operands(&self.condition, &mut |operand| {
            if let Operand::Feature { call } = operand {
                features.insert(call.feature.clone());
            }
        });
        features
    }

    /// The features whose use alone makes the rule hold — `used_within("a", 30d)`, or such calls
    /// joined by `and` — so it came to hold the day the last of them was first used; `None` for
    /// any other rule.
    pub fn holds_by_use_of(&self) -> Option<BTreeSet<String>> {
        fn collect(condition: &Condition, into: &mut BTreeSet<String>) -> bool {
            match condition {
                Condition::Holds { value: Operand::Feature { call } } if call.function == Function::UsedWithin => {
                    into.insert(call.feature.clone());
                    true
                }
                Condition::All { conditions } => conditions.iter().all(|c| collect(c, into)),
                _ => false,
            }
        }
        let mut features = BTreeSet::new();
        collect(&self.condition, &mut features).then_some(features)
    }

    /// Whether membership can change with the day alone, with no data changing: the rule says
    /// `today`, counts days (`days_to_renewal`, `days_since_activity`) or reads feature use in
    /// windows and seasons that move with the day. Such segments need re-evaluating daily.
    pub fn depends_on_today(&self) -> bool {
        let mut depends = false;
        visit_operands(&self.condition, &mut |operand| {
            depends |= match operand {
                Operand::Today | Operand::Feature { .. } => true,
                Operand::Field { field } => field.depends_on_today(),
                _ => false,
            };
        });
        depends
    }
}

impl From<Condition> for Segment {
    fn from(condition: Condition) -> Segment {
        Segment { condition }
    }
}

/// The canonical text: lowercase keywords, one space around operators, parentheses only where
/// needed. It parses back to the same condition.
impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.condition)
    }
}

/// Calls `visit` on every operand, including the dates inside shifted dates.
fn visit_operands(condition: &Condition, visit: &mut impl FnMut(&Operand)) {
    fn operand(value: &Operand, visit: &mut impl FnMut(&Operand)) {
        visit(value);
        if let Operand::Shifted { date, .. } = value {
            operand(date, visit);
        }
    }
    match condition {
        Condition::Any { conditions } | Condition::All { conditions } => {
            conditions.iter().for_each(|condition| visit_operands(condition, visit))
        }
        Condition::Not { condition } => visit_operands(condition, visit),
        Condition::Compare { left, right, .. } => {
            operand(left, visit);
            operand(right, visit);
        }
        Condition::In { value, list, .. } => {
            operand(value, visit);
            list.iter().for_each(|item| operand(item, visit));
        }
        Condition::IsNull { value, .. } | Condition::Holds { value } => operand(value, visit),
    }
}
