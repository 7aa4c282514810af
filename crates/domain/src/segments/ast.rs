//! The checked rule: every name resolved, every comparison well typed. `Display` writes the
//! canonical form, which parses back to an equal tree.

use crate::i18n::Text;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;
use std::fmt;

/// The kinds of value a rule talks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueType {
    Text,
    Number,
    Date,
    Bool,
}

impl ValueType {
    /// The type's name as used inside a sentence ("cannot compare a number with text").
    pub(super) fn text(self) -> Text {
        match self {
            ValueType::Text => Text::new("文字列", "text"),
            ValueType::Number => Text::new("数値", "a number"),
            ValueType::Date => Text::new("日付", "a date"),
            ValueType::Bool => Text::new("真偽値", "true/false"),
        }
    }
}

/// The account facts a rule can read.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Name,
    Tier,
    Stage,
    TouchModel,
    /// The email of the main or the sub owner: a comparison holds when it holds for either.
    Owner,
    /// The owning team's name.
    Team,
    Mrr,
    Arr,
    Score,
    Grade,
    ScoreTrend30d,
    /// Days from today to the renewal date (negative once it has passed).
    DaysToRenewal,
    RenewalDate,
    FirstPayingDay,
    /// Active seats over seats, 0–1.
    SeatActivation,
    DaysSinceActivity,
    Employees,
    /// A custom field, keyed in lowercase (rules are case-insensitive; keys compare so too).
    Custom(String),
}

impl Field {
    /// Every field but custom ones, in the order the documentation lists them.
    pub const FIXED: [Field; 17] = [
        Field::Name,
        Field::Tier,
        Field::Stage,
        Field::TouchModel,
        Field::Owner,
        Field::Team,
        Field::Mrr,
        Field::Arr,
        Field::Score,
        Field::Grade,
        Field::ScoreTrend30d,
        Field::DaysToRenewal,
        Field::RenewalDate,
        Field::FirstPayingDay,
        Field::SeatActivation,
        Field::DaysSinceActivity,
        Field::Employees,
    ];

    /// The name as written in rules; for a custom field, its key (written `custom.<key>`).
    pub fn name(&self) -> &str {
        match self {
            Field::Name => "name",
            Field::Tier => "tier",
            Field::Stage => "stage",
            Field::TouchModel => "touch_model",
            Field::Owner => "owner",
            Field::Team => "team",
            Field::Mrr => "mrr",
            Field::Arr => "arr",
            Field::Score => "score",
            Field::Grade => "grade",
            Field::ScoreTrend30d => "score_trend_30d",
            Field::DaysToRenewal => "days_to_renewal",
            Field::RenewalDate => "renewal_date",
            Field::FirstPayingDay => "first_paying_day",
            Field::SeatActivation => "seat_activation",
            Field::DaysSinceActivity => "days_since_activity",
            Field::Employees => "employees",
            Field::Custom(key) => key,
        }
    }

    pub fn value_type(&self) -> ValueType {
        match self {
            Field::Name
            | Field::Tier
            | Field::Stage
            | Field::TouchModel
            | Field::Owner
            | Field::Team
            | Field::Grade
            | Field::Custom(_) => ValueType::Text,
            Field::Mrr
            | Field::Arr
            | Field::Score
            | Field::ScoreTrend30d
            | Field::DaysToRenewal
            | Field::SeatActivation
            | Field::DaysSinceActivity
            | Field::Employees => ValueType::Number,
            Field::RenewalDate | Field::FirstPayingDay => ValueType::Date,
        }
    }

    /// Whether the value changes with the day even when no data does.
    pub fn depends_on_today(&self) -> bool {
        matches!(self, Field::DaysToRenewal | Field::DaysSinceActivity)
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Field::Custom(key) if is_plain_identifier(key) => write!(f, "custom.{key}"),
            Field::Custom(key) => {
                f.write_str("custom.")?;
                write_text(f, key)
            }
            fixed => f.write_str(fixed.name()),
        }
    }
}

/// A calendar unit of an interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IntervalUnit {
    Days,
    Weeks,
    /// Calendar months: adding one to Jan 31 gives the last day of February.
    Months,
    /// Twelve calendar months: Feb 29 plus one year is Feb 28.
    Years,
}

impl IntervalUnit {
    pub fn suffix(self) -> char {
        match self {
            IntervalUnit::Days => 'd',
            IntervalUnit::Weeks => 'w',
            IntervalUnit::Months => 'm',
            IntervalUnit::Years => 'y',
        }
    }

    pub fn from_suffix(suffix: &str) -> Option<IntervalUnit> {
        match suffix.to_ascii_lowercase().as_str() {
            "d" => Some(IntervalUnit::Days),
            "w" => Some(IntervalUnit::Weeks),
            "m" => Some(IntervalUnit::Months),
            "y" => Some(IntervalUnit::Years),
            _ => None,
        }
    }
}

/// A length of calendar time: `90d`, `2w`, `6m`, `1y`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Interval {
    pub count: u32,
    pub unit: IntervalUnit,
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.count, self.unit.suffix())
    }
}

/// The functions over an account's use of a feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Function {
    UsedThisSeason,
    UsedLastSeason,
    UsedWithin,
    LastUsed,
    UsesInLast,
}

impl Function {
    pub const ALL: [Function; 5] = [
        Function::UsedThisSeason,
        Function::UsedLastSeason,
        Function::UsedWithin,
        Function::LastUsed,
        Function::UsesInLast,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Function::UsedThisSeason => "used_this_season",
            Function::UsedLastSeason => "used_last_season",
            Function::UsedWithin => "used_within",
            Function::LastUsed => "last_used",
            Function::UsesInLast => "uses_in_last",
        }
    }

    /// Whether the function takes a window (`30d`) after the feature key.
    pub fn takes_window(self) -> bool {
        matches!(self, Function::UsedWithin | Function::UsesInLast)
    }

    pub fn result_type(self) -> ValueType {
        match self {
            Function::UsedThisSeason | Function::UsedLastSeason | Function::UsedWithin => ValueType::Bool,
            Function::LastUsed => ValueType::Date,
            Function::UsesInLast => ValueType::Number,
        }
    }
}

/// A function applied to one feature, by its catalog key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct FeatureCall {
    pub function: Function,
    pub feature: String,
    /// Present exactly when `function.takes_window()`.
    pub window: Option<Interval>,
}

impl fmt::Display for FeatureCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.function.name())?;
        write_text(f, &self.feature)?;
        if let Some(window) = self.window {
            write!(f, ", {window}")?;
        }
        f.write_str(")")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sign {
    Plus,
    Minus,
}

/// A value in a comparison.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Operand {
    Field {
        field: Field,
    },
    Feature {
        call: FeatureCall,
    },
    Text {
        value: String,
    },
    Number {
        value: Decimal,
    },
    Bool {
        value: bool,
    },
    Date {
        value: NaiveDate,
    },
    /// The day the rule is evaluated for.
    Today,
    /// A date moved by an interval: `today + 90d`, `renewal_date - 1m`.
    Shifted {
        date: Box<Operand>,
        sign: Sign,
        by: Interval,
    },
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Field { field } => write!(f, "{field}"),
            Operand::Feature { call } => write!(f, "{call}"),
            Operand::Text { value } => write_text(f, value),
            Operand::Number { value } => write!(f, "{value}"),
            Operand::Bool { value } => write!(f, "{value}"),
            Operand::Date { value } => write!(f, "{}", value.format("%Y-%m-%d")),
            Operand::Today => f.write_str("today"),
            Operand::Shifted { date, sign, by } => {
                let sign = if *sign == Sign::Plus { '+' } else { '-' };
                write!(f, "{date} {sign} {by}")
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CompareOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
        }
    }

    pub fn is_ordering(self) -> bool {
        !matches!(self, CompareOp::Eq | CompareOp::Ne)
    }
}

/// A rule. `All` and `Any` hold at least two conditions; a chain `a and b and c` is one `All`,
/// while `(a and b) and c` keeps its parentheses as a nested `All`, so every tree has exactly
/// one canonical text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Condition {
    Any {
        conditions: Vec<Condition>,
    },
    All {
        conditions: Vec<Condition>,
    },
    Not {
        condition: Box<Condition>,
    },
    Compare {
        left: Operand,
        op: CompareOp,
        right: Operand,
    },
    In {
        value: Operand,
        list: Vec<Operand>,
        negated: bool,
    },
    IsNull {
        value: Operand,
        negated: bool,
    },
    /// A true/false operand used as a condition: `used_this_season("year_end")`.
    Holds {
        value: Operand,
    },
}

impl Condition {
    /// Binding strength, loosest first: or, and, not, then a single comparison.
    fn precedence(&self) -> u8 {
        match self {
            Condition::Any { .. } => 1,
            Condition::All { .. } => 2,
            Condition::Not { .. } => 3,
            _ => 4,
        }
    }

    fn write_child(&self, f: &mut fmt::Formatter<'_>, child: &Condition) -> fmt::Result {
        // A child as loose as its parent needs parentheses too: the parser reads a chain as one
        // flat list, so only parentheses keep a nested list nested. `not not x` needs none.
        let parenthesize = match self {
            Condition::Not { .. } => child.precedence() < 3,
            _ => child.precedence() <= self.precedence(),
        };
        if parenthesize {
            write!(f, "({child})")
        } else {
            write!(f, "{child}")
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Condition::Any { conditions } | Condition::All { conditions } => {
                let connective = if matches!(self, Condition::Any { .. }) { " or " } else { " and " };
                for (index, child) in conditions.iter().enumerate() {
                    if index > 0 {
                        f.write_str(connective)?;
                    }
                    self.write_child(f, child)?;
                }
                Ok(())
            }
            Condition::Not { condition } => {
                f.write_str("not ")?;
                self.write_child(f, condition)
            }
            Condition::Compare { left, op, right } => write!(f, "{left} {} {right}", op.symbol()),
            Condition::In { value, list, negated } => {
                write!(f, "{value} {}in (", if *negated { "not " } else { "" })?;
                for (index, item) in list.iter().enumerate() {
                    if index > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str(")")
            }
            Condition::IsNull { value, negated } => {
                write!(f, "{value} is {}null", if *negated { "not " } else { "" })
            }
            Condition::Holds { value } => write!(f, "{value}"),
        }
    }
}

/// Words that cannot be field names; a custom key spelled like one is written quoted.
pub(super) const KEYWORDS: [&str; 9] = ["and", "or", "not", "in", "is", "null", "true", "false", "today"];

pub(super) fn is_identifier_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

pub(super) fn is_identifier_continue(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether a custom key can be written bare after `custom.` and read back unchanged.
fn is_plain_identifier(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(is_identifier_start)
        && chars.all(is_identifier_continue)
        && key.to_lowercase() == key
        && !KEYWORDS.contains(&key)
}

/// Writes text in double quotes with the escapes the lexer reads back.
pub(super) fn write_text(f: &mut impl fmt::Write, text: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in text.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\t' => f.write_str("\\t")?,
            '\r' => f.write_str("\\r")?,
            c if c.is_control() => write!(f, "\\u{{{:x}}}", c as u32)?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}
