//! Whether an account is in a segment, from facts the caller loaded.
//!
//! Unknown values: a comparison, `in` or true/false test involving a value that is not known
//! (`None`: no renewal date, never scored, a feature the caller did not load) is **false**, and
//! `not` simply negates it, so `not arr > 100` holds for an account whose ARR is unknown. The
//! rules are two-valued on purpose: CS teams read `not X` as "everyone not matching X", and
//! SQL's third value would make such rules silently skip accounts with gaps in their data. To
//! ask about gaps, use `is null` / `is not null`.

use super::ast::{CompareOp, Condition, FeatureCall, Field, Function, Interval, IntervalUnit, Operand, Sign};
use crate::account::TouchModel;
use crate::usage::catalog::{Cadence, SeasonWindow};
use crate::usage::Period;
use chrono::{Days, Months, NaiveDate};
use rust_decimal::prelude::FromPrimitive;
use rust_decimal::Decimal;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::str::FromStr;

/// What a rule can know about one account on one day. `None` means unknown.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountFacts {
    /// The day the rule is evaluated for: `today`, `days_to_renewal`, `days_since_activity`
    /// and the feature windows count from it, and uses dated after it are ignored (so a
    /// backtest can evaluate a rule as of any past day).
    pub today: NaiveDate,
    pub name: String,
    pub tier: Option<String>,
    pub stage: Option<String>,
    pub touch_model: Option<TouchModel>,
    /// `owner` matches either email; they compare ignoring ASCII case.
    pub owner_email: Option<String>,
    pub sub_owner_email: Option<String>,
    pub team: Option<String>,
    pub mrr: Option<Decimal>,
    pub arr: Option<Decimal>,
    pub score: Option<f64>,
    pub grade: Option<String>,
    pub score_trend_30d: Option<f64>,
    /// The next renewal date; `days_to_renewal` is derived from it and `today`.
    pub renewal_date: Option<NaiveDate>,
    pub first_paying_day: Option<NaiveDate>,
    pub seat_activation: Option<f64>,
    /// The last day of activity; `days_since_activity` is derived from it and `today`.
    pub last_activity_on: Option<NaiveDate>,
    pub employees: Option<i64>,
    /// Custom fields by key; keys are matched ignoring case.
    pub custom: BTreeMap<String, String>,
    /// Feature use by catalog key. A feature absent from the map is unknown (every function
    /// over it is unknown); load every key of `Segment::features_used`, with an empty
    /// `uses_by_day` for a feature the account never used.
    pub features: BTreeMap<String, FeatureFacts>,
}

impl AccountFacts {
    /// An account of which only the name is known.
    pub fn new(today: NaiveDate, name: impl Into<String>) -> AccountFacts {
        AccountFacts {
            today,
            name: name.into(),
            tier: None,
            stage: None,
            touch_model: None,
            owner_email: None,
            sub_owner_email: None,
            team: None,
            mrr: None,
            arr: None,
            score: None,
            grade: None,
            score_trend_30d: None,
            renewal_date: None,
            first_paying_day: None,
            seat_activation: None,
            last_activity_on: None,
            employees: None,
            custom: BTreeMap::new(),
            features: BTreeMap::new(),
        }
    }
}

/// One account's use of one feature, in the shape the daily rollups have.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FeatureFacts {
    /// Uses per day, sorted by day (as `usage::feature_use` takes them).
    pub uses_by_day: Vec<(NaiveDate, i64)>,
    /// The feature's season, for an annual feature; seasons are unknown for other cadences.
    pub season: Option<SeasonWindow>,
}

impl FeatureFacts {
    /// Facts for a feature of the given cadence; sorts the days.
    pub fn new(cadence: &Cadence, mut uses_by_day: Vec<(NaiveDate, i64)>) -> FeatureFacts {
        uses_by_day.sort_by_key(|(day, _)| *day);
        FeatureFacts { uses_by_day, season: cadence.season() }
    }

    /// Uses on the days of `period` up to `today`.
    fn uses_in(&self, start: NaiveDate, end: NaiveDate, today: NaiveDate) -> i64 {
        let end = end.min(today);
        let first = self.uses_by_day.partition_point(|(day, _)| *day < start);
        self.uses_by_day[first..].iter().take_while(|(day, _)| *day <= end).map(|(_, uses)| uses).sum()
    }

    /// Uses in the `window` of days that ends with `today`: `30d` is today and the 29 days
    /// before; `1m` on March 31 is March 1–31.
    pub fn uses_in_last(&self, window: Interval, today: NaiveDate) -> i64 {
        let start = shift(today, Sign::Minus, window).and_then(|day| day.succ_opt()).unwrap_or(NaiveDate::MIN);
        self.uses_in(start, today, today)
    }

    /// The last day with a use, on or before `today`.
    pub fn last_used(&self, today: NaiveDate) -> Option<NaiveDate> {
        let upto = self.uses_by_day.partition_point(|(day, _)| *day <= today);
        self.uses_by_day[..upto].iter().rev().find(|(_, uses)| *uses > 0).map(|(day, _)| *day)
    }

    /// Whether the feature was used in the season under way on `today` (false before the season
    /// starts); unknown for a feature without a season.
    pub fn used_this_season(&self, today: NaiveDate) -> Option<bool> {
        let Period { start, end } = self.season?.status(today).this;
        Some(self.uses_in(start, end, today) > 0)
    }

    /// Whether the feature was used in the season before this one.
    pub fn used_last_season(&self, today: NaiveDate) -> Option<bool> {
        let Period { start, end } = self.season?.status(today).last;
        Some(self.uses_in(start, end, today) > 0)
    }
}

/// Moves a date by a calendar interval. Months and years land on the same day of the month,
/// or the month's last day when it is shorter (2026-01-31 + 1m = 2026-02-28). `None` past the
/// calendar's range.
pub fn shift(date: NaiveDate, sign: Sign, by: Interval) -> Option<NaiveDate> {
    enum Step {
        Days(Days),
        Months(Months),
    }
    let step = match by.unit {
        IntervalUnit::Days => Step::Days(Days::new(u64::from(by.count))),
        IntervalUnit::Weeks => Step::Days(Days::new(u64::from(by.count) * 7)),
        IntervalUnit::Months => Step::Months(Months::new(by.count)),
        IntervalUnit::Years => Step::Months(Months::new(by.count.checked_mul(12)?)),
    };
    match (step, sign) {
        (Step::Days(days), Sign::Plus) => date.checked_add_days(days),
        (Step::Days(days), Sign::Minus) => date.checked_sub_days(days),
        (Step::Months(months), Sign::Plus) => date.checked_add_months(months),
        (Step::Months(months), Sign::Minus) => date.checked_sub_months(months),
    }
}

/// A known value while evaluating. Owner emails are kept apart from other text because they
/// compare ignoring case.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Value<'a> {
    Text(&'a str),
    Email(&'a str),
    Number(Decimal),
    Date(NaiveDate),
    Bool(bool),
}

fn compare(left: &Value, right: &Value) -> Option<Ordering> {
    use Value::*;
    match (left, right) {
        (Email(a), Text(b) | Email(b)) | (Text(a), Email(b)) if a.eq_ignore_ascii_case(b) => Some(Ordering::Equal),
        (Text(a) | Email(a), Text(b) | Email(b)) => Some(a.cmp(b)),
        (Number(a), Number(b)) => Some(a.cmp(b)),
        (Date(a), Date(b)) => Some(a.cmp(b)),
        (Bool(a), Bool(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

fn holds(op: CompareOp, ordering: Ordering) -> bool {
    match op {
        CompareOp::Eq => ordering == Ordering::Equal,
        CompareOp::Ne => ordering != Ordering::Equal,
        CompareOp::Lt => ordering == Ordering::Less,
        CompareOp::Le => ordering != Ordering::Greater,
        CompareOp::Gt => ordering == Ordering::Greater,
        CompareOp::Ge => ordering != Ordering::Less,
    }
}

/// The known values of an operand: none when unknown, two for `owner` (main and sub owner),
/// otherwise one.
struct Values<'a>([Option<Value<'a>>; 2]);

impl<'a> Values<'a> {
    fn none() -> Values<'a> {
        Values([None, None])
    }

    fn one(value: Option<Value<'a>>) -> Values<'a> {
        Values([value, None])
    }

    fn iter(&self) -> impl Iterator<Item = &Value<'a>> {
        self.0.iter().flatten()
    }

    fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    fn any_equal(&self, other: &Values) -> bool {
        self.iter().any(|a| other.iter().any(|b| compare(a, b) == Some(Ordering::Equal)))
    }
}

pub(super) fn matches(condition: &Condition, facts: &AccountFacts) -> bool {
    match condition {
        Condition::Any { conditions } => conditions.iter().any(|condition| matches(condition, facts)),
        Condition::All { conditions } => conditions.iter().all(|condition| matches(condition, facts)),
        Condition::Not { condition } => !matches(condition, facts),
        Condition::Compare { left, op: CompareOp::Ne, right } => {
            // `owner != x` means neither owner is x; with one value it is the plain `!=`.
            let (left, right) = (values(left, facts), values(right, facts));
            !left.is_empty() && !right.is_empty() && !left.any_equal(&right)
        }
        Condition::Compare { left, op, right } => {
            let right = values(right, facts);
            values(left, facts)
                .iter()
                .any(|a| right.iter().any(|b| compare(a, b).is_some_and(|ordering| holds(*op, ordering))))
        }
        Condition::In { value, list, negated: false } => {
            let value = values(value, facts);
            list.iter().any(|item| value.any_equal(&values(item, facts)))
        }
        Condition::In { value, list, negated: true } => {
            // `x not in (a, b)` is `x != a and x != b`, so an unknown item makes it false.
            let value = values(value, facts);
            !value.is_empty()
                && list.iter().all(|item| {
                    let item = values(item, facts);
                    !item.is_empty() && !value.any_equal(&item)
                })
        }
        Condition::IsNull { value, negated } => values(value, facts).is_empty() != *negated,
        Condition::Holds { value } => values(value, facts).iter().any(|value| *value == Value::Bool(true)),
    }
}

fn values<'a>(operand: &'a Operand, facts: &'a AccountFacts) -> Values<'a> {
    let one = |value: Option<Value<'a>>| Values::one(value);
    match operand {
        Operand::Field { field } => field_values(field, facts),
        Operand::Feature { call } => one(feature_value(call, facts)),
        Operand::Text { value } => one(Some(Value::Text(value))),
        Operand::Number { value } => one(Some(Value::Number(*value))),
        Operand::Bool { value } => one(Some(Value::Bool(*value))),
        Operand::Date { value } => one(Some(Value::Date(*value))),
        Operand::Today => one(Some(Value::Date(facts.today))),
        Operand::Shifted { date, sign, by } => match values(date, facts).iter().next() {
            Some(Value::Date(date)) => one(shift(*date, *sign, *by).map(Value::Date)),
            _ => Values::none(),
        },
    }
}

fn field_values<'a>(field: &'a Field, facts: &'a AccountFacts) -> Values<'a> {
    let text = |value: &'a Option<String>| Values::one(value.as_deref().map(Value::Text));
    let number = |value: Option<Decimal>| Values::one(value.map(Value::Number));
    let date = |value: Option<NaiveDate>| Values::one(value.map(Value::Date));
    let days = |from: Option<NaiveDate>, to: Option<NaiveDate>| match (from, to) {
        (Some(from), Some(to)) => number(Some(Decimal::from((to - from).num_days()))),
        _ => Values::none(),
    };
    match field {
        Field::Name => Values::one(Some(Value::Text(&facts.name))),
        Field::Tier => text(&facts.tier),
        Field::Stage => text(&facts.stage),
        Field::TouchModel => Values::one(facts.touch_model.map(|model| Value::Text(model.as_str()))),
        Field::Owner => {
            Values([facts.owner_email.as_deref().map(Value::Email), facts.sub_owner_email.as_deref().map(Value::Email)])
        }
        Field::Team => text(&facts.team),
        Field::Mrr => number(facts.mrr),
        Field::Arr => number(facts.arr),
        Field::Score => number(facts.score.and_then(decimal_from_f64)),
        Field::Grade => text(&facts.grade),
        Field::ScoreTrend30d => number(facts.score_trend_30d.and_then(decimal_from_f64)),
        Field::DaysToRenewal => days(Some(facts.today), facts.renewal_date),
        Field::RenewalDate => date(facts.renewal_date),
        Field::FirstPayingDay => date(facts.first_paying_day),
        Field::SeatActivation => number(facts.seat_activation.and_then(decimal_from_f64)),
        Field::DaysSinceActivity => days(facts.last_activity_on, Some(facts.today)),
        Field::Employees => number(facts.employees.map(Decimal::from)),
        Field::Custom(key) => Values::one(
            facts
                .custom
                .get(key)
                .or_else(|| {
                    let same_key = |stored: &String| stored.chars().flat_map(char::to_lowercase).eq(key.chars());
                    facts.custom.iter().find(|(stored, _)| same_key(stored)).map(|(_, value)| value)
                })
                .map(|value| Value::Text(value)),
        ),
    }
}

/// A float as the decimal it prints as, so 0.1 compares equal to the literal `0.1` rather than
/// to the binary fraction nearest it. `None` for NaN and infinities: unknown.
fn decimal_from_f64(value: f64) -> Option<Decimal> {
    if !value.is_finite() {
        return None;
    }
    Decimal::from_str(&value.to_string()).ok().or_else(|| Decimal::from_f64(value))
}

fn feature_value<'a>(call: &FeatureCall, facts: &AccountFacts) -> Option<Value<'a>> {
    let feature = facts.features.get(&call.feature)?;
    let today = facts.today;
    let window = call.window.unwrap_or(Interval { count: 1, unit: IntervalUnit::Days });
    match call.function {
        Function::UsedThisSeason => feature.used_this_season(today).map(Value::Bool),
        Function::UsedLastSeason => feature.used_last_season(today).map(Value::Bool),
        Function::UsedWithin => Some(Value::Bool(feature.uses_in_last(window, today) > 0)),
        Function::LastUsed => feature.last_used(today).map(Value::Date),
        Function::UsesInLast => Some(Value::Number(Decimal::from(feature.uses_in_last(window, today)))),
    }
}
