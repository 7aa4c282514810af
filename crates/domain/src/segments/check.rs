//! Resolves names and checks types, turning the syntax tree into a `Condition`. Unlike syntax
//! errors, every type error is collected, so an editor can underline all of them at once.

use super::ast::{Condition, FeatureCall, Field, Function, Operand, ValueType};
use super::error::{SegmentError, SegmentReason, Span};
use super::parser::{Syntax, Term, TermKind};
use crate::account::TouchModel;
use crate::usage::catalog::FeatureKey;
use rust_decimal::Decimal;
use std::collections::BTreeSet;

/// `features`: the catalog's keys, when a rule must name only features that exist (saving and
/// previewing); `None` when reading a stored rule, whose feature may have left the catalog since.
pub(super) fn check(
    source: &str,
    syntax: &Syntax,
    features: Option<&BTreeSet<String>>,
) -> Result<Condition, Vec<SegmentError>> {
    let mut checker = Checker { source, features, errors: Vec::new() };
    let condition = checker.condition(syntax);
    match condition {
        Some(condition) if checker.errors.is_empty() => Ok(condition),
        _ => {
            checker.errors.sort_by_key(|error| error.offset);
            Err(checker.errors)
        }
    }
}

/// What a term is before it is known to be usable as a value: `null` and intervals (`30d`) are
/// terms only some places accept.
enum Checked {
    Value(Operand, ValueType),
    Null,
    Interval,
}

struct Checker<'a> {
    source: &'a str,
    features: Option<&'a BTreeSet<String>>,
    errors: Vec<SegmentError>,
}

impl Checker<'_> {
    fn error(&mut self, span: Span, reason: SegmentReason) {
        self.errors.push(SegmentError::at(self.source, span, reason));
    }

    /// Checks every part before giving up, so errors in later parts are reported too.
    fn conditions(&mut self, parts: &[Syntax]) -> Option<Vec<Condition>> {
        let checked: Vec<Option<Condition>> = parts.iter().map(|part| self.condition(part)).collect();
        checked.into_iter().collect()
    }

    fn condition(&mut self, syntax: &Syntax) -> Option<Condition> {
        match syntax {
            Syntax::Any(parts) => Some(Condition::Any { conditions: self.conditions(parts)? }),
            Syntax::All(parts) => Some(Condition::All { conditions: self.conditions(parts)? }),
            Syntax::Not(inner) => Some(Condition::Not { condition: Box::new(self.condition(inner)?) }),
            Syntax::Compare { left, op, op_span, right } => {
                let left_checked = self.value(left);
                let right_checked = self.value(right);
                let ((left_operand, left_type), (right_operand, right_type)) = (left_checked?, right_checked?);
                if left_type != right_type {
                    self.error(right.span, SegmentReason::Mismatch { left: left_type, right: right_type });
                    return None;
                }
                if op.is_ordering() && matches!(left_type, ValueType::Text | ValueType::Bool) {
                    self.error(*op_span, SegmentReason::NotOrdered { value_type: left_type });
                    return None;
                }
                let plausible = self.plausible(&left_operand, &right_operand, right.span)
                    & self.plausible(&right_operand, &left_operand, left.span);
                let (left, right) =
                    (named_as_key(&right_operand, left_operand.clone()), named_as_key(&left_operand, right_operand));
                plausible.then_some(Condition::Compare { left, op: *op, right })
            }
            Syntax::In { value, list, negated } => {
                let value_checked = self.value(value);
                let items: Vec<_> = list.iter().map(|item| (item, self.value(item))).collect();
                // Without the value's type (say an unknown field), the first item sets it, so
                // a mixed list is still reported.
                let expected_type = match &value_checked {
                    Some((_, value_type)) => Some(*value_type),
                    None => items.iter().find_map(|(_, checked)| checked.as_ref().map(|(_, item_type)| *item_type)),
                };
                let mut operands = Vec::with_capacity(items.len());
                let mut ok = true;
                for (item, checked) in items {
                    let Some((operand, item_type)) = checked else {
                        ok = false;
                        continue;
                    };
                    if let Some(expected_type) = expected_type.filter(|expected| *expected != item_type) {
                        self.error(item.span, SegmentReason::Mismatch { left: expected_type, right: item_type });
                        ok = false;
                    } else if let Some((value_operand, _)) = &value_checked {
                        ok &= self.plausible(value_operand, &operand, item.span);
                    }
                    operands.push(operand);
                }
                let (value_operand, _) = value_checked?;
                let list = operands.into_iter().map(|item| named_as_key(&value_operand, item)).collect();
                ok.then_some(Condition::In { value: value_operand, list, negated: *negated })
            }
            Syntax::IsNull { value, negated } => {
                let (operand, _) = self.value(value)?;
                Some(Condition::IsNull { value: operand, negated: *negated })
            }
            Syntax::Holds(term) => {
                let (operand, value_type) = self.value(term)?;
                if value_type != ValueType::Bool {
                    self.error(term.span, SegmentReason::NotACondition { value_type });
                    return None;
                }
                Some(Condition::Holds { value: operand })
            }
        }
    }

    /// A term used as a value: anything but `null` and a bare interval.
    fn value(&mut self, term: &Term) -> Option<(Operand, ValueType)> {
        match self.term(term)? {
            Checked::Value(operand, value_type) => Some((operand, value_type)),
            Checked::Null => {
                self.error(term.span, SegmentReason::UseIsNull);
                None
            }
            Checked::Interval => {
                self.error(term.span, SegmentReason::IntervalNotAValue);
                None
            }
        }
    }

    fn term(&mut self, term: &Term) -> Option<Checked> {
        let value = |operand: Operand, value_type| Some(Checked::Value(operand, value_type));
        match &term.kind {
            TermKind::Name(parts) => {
                let field = self.field(parts, term.span)?;
                let value_type = field.value_type();
                value(Operand::Field { field }, value_type)
            }
            TermKind::Call { name, name_span, args } => {
                let call = self.call(name, *name_span, args, term.span)?;
                let value_type = call.function.result_type();
                value(Operand::Feature { call }, value_type)
            }
            TermKind::Text(text) => value(Operand::Text { value: text.clone() }, ValueType::Text),
            TermKind::Number(number) => value(Operand::Number { value: *number }, ValueType::Number),
            TermKind::Bool(flag) => value(Operand::Bool { value: *flag }, ValueType::Bool),
            TermKind::Date(date) => value(Operand::Date { value: *date }, ValueType::Date),
            TermKind::Today => value(Operand::Today, ValueType::Date),
            TermKind::Null => Some(Checked::Null),
            TermKind::Interval(_) => Some(Checked::Interval),
            TermKind::Shift { date, sign, by } => {
                let date_checked = self.value(date);
                let interval = match by.kind {
                    TermKind::Interval(interval) => Some(interval),
                    _ => {
                        self.error(by.span, SegmentReason::ShiftNeedsInterval);
                        None
                    }
                };
                let (date_operand, date_type) = date_checked?;
                if date_type != ValueType::Date {
                    self.error(date.span, SegmentReason::ShiftNeedsDate { value_type: date_type });
                    return None;
                }
                value(Operand::Shifted { date: Box::new(date_operand), sign: *sign, by: interval? }, ValueType::Date)
            }
        }
    }

    fn field(&mut self, parts: &[String], span: Span) -> Option<Field> {
        match parts {
            [custom, key] if custom == "custom" && !key.is_empty() => return Some(Field::Custom(key.to_lowercase())),
            [name] => {
                if let Some(field) = Field::FIXED.into_iter().find(|field| field.name() == name) {
                    return Some(field);
                }
            }
            _ => {}
        }
        let name = parts.join(".");
        let suggestion = closest(&name, Field::FIXED.iter().map(|field| field.name()));
        self.error(span, SegmentReason::UnknownField { name, suggestion });
        None
    }

    fn call(&mut self, name: &str, name_span: Span, args: &[Term], span: Span) -> Option<FeatureCall> {
        let Some(function) = Function::ALL.into_iter().find(|function| function.name() == name) else {
            let suggestion = closest(name, Function::ALL.iter().map(|function| function.name()));
            self.error(name_span, SegmentReason::UnknownFunction { name: name.to_owned(), suggestion });
            return None;
        };
        let expected = if function.takes_window() { 2 } else { 1 };
        if args.len() != expected {
            let found = args.len();
            self.error(span, SegmentReason::ArgumentCount { function: function.name(), expected, found });
            return None;
        }
        // The key must be written out, not computed, so `features_used` can name it.
        let feature = match &args[0].kind {
            TermKind::Text(key) if FeatureKey::parse(key).is_ok_and(|parsed| parsed.as_str() == key) => {
                match self.features {
                    Some(known) if !known.contains(key) => {
                        let suggestion = closest(key, known.iter().map(String::as_str));
                        self.error(args[0].span, SegmentReason::UnknownFeature { key: key.clone(), suggestion });
                        None
                    }
                    _ => Some(key.clone()),
                }
            }
            TermKind::Text(_) => {
                self.error(args[0].span, SegmentReason::InvalidFeatureKey);
                None
            }
            _ => {
                self.error(args[0].span, SegmentReason::FeatureKeyExpected);
                None
            }
        };
        let window = match args.get(1).map(|arg| (arg, &arg.kind)) {
            None => None,
            Some((_, TermKind::Interval(interval))) if interval.count > 0 => Some(Some(*interval)),
            Some((arg, TermKind::Interval(_))) => {
                self.error(arg.span, SegmentReason::EmptyWindow);
                return None;
            }
            Some((arg, _)) => {
                self.error(arg.span, SegmentReason::WindowExpected);
                return None;
            }
        };
        Some(FeatureCall { function, feature: feature?, window: window.flatten() })
    }

    /// Catches comparisons that can never hold because a literal is outside what a field takes:
    /// a touch model that does not exist, a seat activation written as a percentage.
    fn plausible(&mut self, field: &Operand, literal: &Operand, literal_span: Span) -> bool {
        match (field, literal) {
            (Operand::Field { field: Field::TouchModel }, Operand::Text { value })
                if !TouchModel::ALL.iter().any(|model| model.as_str() == value) =>
            {
                let allowed = TouchModel::ALL.iter().map(|model| model.as_str()).collect();
                self.error(literal_span, SegmentReason::NotOneOf { field: "touch_model", allowed });
                false
            }
            (Operand::Field { field: Field::SeatActivation }, Operand::Number { value })
                if *value < Decimal::ZERO || *value > Decimal::ONE =>
            {
                self.error(literal_span, SegmentReason::OutOfRange { field: "seat_activation", min: "0", max: "1" });
                false
            }
            _ => true,
        }
    }
}

/// The candidate nearest to a misspelt name, if it is near enough to be what was meant.
fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    let limit = (name.chars().count() / 3).clamp(1, 3);
    candidates
        .map(|candidate| (edit_distance(name, candidate), candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate.to_owned())
}

/// Levenshtein distance in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, a_char) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, b_char) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(a_char != *b_char);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// A usual tier or stage compared by the name the pages show (`tier = "Enterprise"`,
/// `stage = "リスク"`) means its key, as the list filters read it; other text stays as written.
fn named_as_key(field: &Operand, text: Operand) -> Operand {
    let key = match (field, &text) {
        (Operand::Field { field: Field::Tier }, Operand::Text { value }) => crate::account::usual_tier_key(value),
        (Operand::Field { field: Field::Stage }, Operand::Text { value }) => crate::account::usual_stage_key(value),
        _ => None,
    };
    key.map_or(text, |key| Operand::Text { value: key.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_only_close_names() {
        assert_eq!(closest("arrr", Field::FIXED.iter().map(|f| f.name())), Some("arr".into()));
        assert_eq!(closest("seat_activaton", Field::FIXED.iter().map(|f| f.name())), Some("seat_activation".into()));
        assert_eq!(closest("industry", Field::FIXED.iter().map(|f| f.name())), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
