//! Why a task exists, read back from its stored reason as typed facts, so pages can say it in
//! sentences in the reader's language with money, dates and names formatted for them.
//!
//! The reason keeps the data of its moment as JSON: a task a person writes keeps the account as
//! it was (`arr`, `health_score`, `health_grade`, `next_renewal`, `stage`); a playbook's task keeps
//! the playbook's name, its trigger, the occurrence and the event's data (`renewal_date`,
//! `days_left`, `from`/`to`/`drivers` of a grade change, `last_active_day`, …). Tasks written
//! before this reading, and keys nobody here knows, still read: what is not understood becomes
//! [`Fact::Other`], shown as it was stored.

use super::{TaskReason, MANUAL};
use crate::i18n::Bilingual;
use crate::playbooks::Trigger;
use crate::Money;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use std::str::FromStr;

/// Who or what created the task.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    /// A person; the summary is their note or who they were.
    Manual,
    /// A playbook, by id, with its name as it was then (older tasks may not have it).
    Playbook { id: i64, name: Option<String> },
    /// A source this version does not know, as stored.
    Other(String),
}

/// One thing that was true when the task was created.
#[derive(Debug, Clone, PartialEq)]
pub enum Fact {
    /// The health grade moved (a grade-change trigger), with the score that moved it.
    GradeChanged {
        from: String,
        to: String,
        score: Option<f64>,
    },
    /// The health score and grade of the moment.
    Health {
        score: Option<f64>,
        grade: Option<String>,
    },
    /// What moved the score most, in both languages.
    Drivers(Vec<Bilingual>),
    /// The next renewal, and how many days away it was.
    Renewal {
        on: NaiveDate,
        days_left: Option<i64>,
    },
    Arr(Money),
    Mrr(Money),
    /// The lifecycle stage key.
    Stage(String),
    /// The last day an end user was active; `None`: never.
    LastActive(Option<NaiveDate>),
    NpsAnswer {
        score: i64,
        on: Option<NaiveDate>,
    },
    /// An onboarding milestone (its key) and the day it was expected.
    Milestone {
        key: String,
        due_on: Option<NaiveDate>,
    },
    EnteredSegment {
        segment_id: i64,
        at: Option<DateTime<Utc>>,
    },
    /// A value this version does not read, by its key, as stored.
    Other {
        key: String,
        value: Value,
    },
}

/// A task's reason, read.
#[derive(Debug, Clone, PartialEq)]
pub struct Why {
    pub origin: Origin,
    /// What started the playbook that created the task.
    pub trigger: Option<Trigger>,
    pub facts: Vec<Fact>,
}

/// Keys of a playbook's reason that say where the task came from rather than what was true.
const PLAYBOOK_KEYS: [&str; 4] = ["playbook", "trigger", "occurrence", "data"];
/// Keys that repeat what the trigger and the creation day already say.
const SILENT_KEYS: [&str; 2] = ["day", "plan_id"];

impl TaskReason {
    /// The reason as typed facts, in a fixed order (what changed, health, renewal, money, stage,
    /// activity, answers, milestones, segments, then anything else by key).
    pub fn why(&self) -> Why {
        let top = self.data.as_object().cloned().unwrap_or_default();
        let origin = match self.source.strip_prefix("playbook:").map(|id| id.trim().parse::<i64>()) {
            _ if self.source == MANUAL => Origin::Manual,
            Some(Ok(id)) => {
                Origin::Playbook { id, name: top.get("playbook").and_then(Value::as_str).map(str::to_owned) }
            }
            _ => Origin::Other(self.source.clone()),
        };
        let playbook_shaped = matches!(origin, Origin::Playbook { .. }) && top.contains_key("trigger");
        let (trigger, mut fields) = if playbook_shaped {
            let trigger = top.get("trigger").and_then(|t| serde_json::from_value::<Trigger>(t.clone()).ok());
            let mut fields = top.get("data").and_then(Value::as_object).cloned().unwrap_or_default();
            for (key, value) in &top {
                if !PLAYBOOK_KEYS.contains(&key.as_str()) {
                    fields.insert(key.clone(), value.clone());
                }
            }
            (trigger, fields)
        } else {
            (None, top)
        };
        Why { origin, trigger, facts: facts(&mut fields) }
    }
}

fn facts(fields: &mut Map<String, Value>) -> Vec<Fact> {
    let mut facts = Vec::new();
    let mut take = |key: &str| fields.remove(key);
    let from = take("from");
    let to = take("to");
    let score = take("score");
    let health_score = take("health_score");
    let grade = take("health_grade");
    let drivers = take("drivers");
    let renewal = take("next_renewal").or_else(|| take("renewal_date"));
    let days_left = take("days_left");
    let arr = take("arr");
    let mrr = take("mrr");
    let stage = take("stage");
    let last_active = take("last_active_day");
    let nps = take("nps_score");
    let answered = take("answered_on");
    let milestone = take("milestone");
    let due = take("due_on");
    let segment = take("segment_id");
    let entered = take("entered_at");
    let mut unread: Vec<(&str, Value)> = Vec::new();

    let score = number(score.as_ref());
    match (text(from.as_ref()), text(to.as_ref())) {
        (Some(from), Some(to)) => facts.push(Fact::GradeChanged { from, to, score }),
        _ => {
            unread.extend(from.map(|v| ("from", v)));
            unread.extend(to.map(|v| ("to", v)));
            if score.is_some() && health_score.is_none() {
                facts.push(Fact::Health { score, grade: None });
            }
        }
    }
    let health = (health_score.as_ref().and_then(|v| v.as_f64()), text(grade.as_ref()));
    if health.0.is_some() || health.1.is_some() {
        facts.push(Fact::Health { score: health.0, grade: health.1 });
    }
    if let Some(list) = drivers.as_ref().and_then(Value::as_array) {
        let read: Vec<Bilingual> = list.iter().filter_map(|d| serde_json::from_value(d.clone()).ok()).collect();
        if !read.is_empty() {
            facts.push(Fact::Drivers(read));
        }
    }
    let days_left = days_left.as_ref().and_then(Value::as_i64);
    match date(renewal.as_ref()) {
        Some(on) => facts.push(Fact::Renewal { on, days_left }),
        None => unread.extend(renewal.map(|v| ("next_renewal", v))),
    }
    for (key, value, fact) in [("arr", arr, Fact::Arr as fn(Money) -> Fact), ("mrr", mrr, Fact::Mrr)] {
        match money(value.as_ref()) {
            Some(amount) => facts.push(fact(amount)),
            None => unread.extend(value.map(|v| (key, v))),
        }
    }
    if let Some(stage) = text(stage.as_ref()) {
        facts.push(Fact::Stage(stage));
    }
    match last_active {
        Some(Value::Null) => facts.push(Fact::LastActive(None)),
        Some(value) => match date(Some(&value)) {
            Some(day) => facts.push(Fact::LastActive(Some(day))),
            None => unread.push(("last_active_day", value)),
        },
        None => {}
    }
    match nps.as_ref().and_then(Value::as_i64) {
        Some(score) => facts.push(Fact::NpsAnswer { score, on: date(answered.as_ref()) }),
        None => unread.extend(nps.map(|v| ("nps_score", v))),
    }
    match text(milestone.as_ref()) {
        Some(key) => facts.push(Fact::Milestone { key, due_on: date(due.as_ref()) }),
        None => unread.extend(due.map(|v| ("due_on", v))),
    }
    if let Some(segment_id) = segment.as_ref().and_then(Value::as_i64) {
        let at = entered.as_ref().and_then(Value::as_str).and_then(|t| DateTime::parse_from_rfc3339(t).ok());
        facts.push(Fact::EnteredSegment { segment_id, at: at.map(|t| t.with_timezone(&Utc)) });
    }
    for key in SILENT_KEYS {
        fields.remove(key);
    }
    let mut others: Vec<(String, Value)> = unread.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    others.extend(std::mem::take(fields));
    others.sort_by(|a, b| a.0.cmp(&b.0));
    facts.extend(others.into_iter().map(|(key, value)| Fact::Other { key, value }));
    facts
}

fn text(value: Option<&Value>) -> Option<String> {
    value.and_then(Value::as_str).map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned)
}

fn number(value: Option<&Value>) -> Option<f64> {
    value.and_then(Value::as_f64)
}

fn date(value: Option<&Value>) -> Option<NaiveDate> {
    value.and_then(Value::as_str).and_then(|t| t.parse().ok())
}

/// Money as stored: decimal text (`"249600.00"`) or a JSON number.
fn money(value: Option<&Value>) -> Option<Money> {
    match value? {
        Value::String(text) => Decimal::from_str(text.trim()).ok().map(Money),
        Value::Number(n) => Decimal::from_str(&n.to_string()).ok().map(Money),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reason(source: &str, data: Value) -> TaskReason {
        TaskReason { source: source.into(), summary: Bilingual::new("要約", "Summary"), data }
    }

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn a_playbook_task_reads_its_playbook_trigger_and_the_events_figures() {
        let why = reason(
            "playbook:2",
            json!({"playbook": "更新フォロー", "trigger": {"type": "renewal_within", "days": 60},
                   "occurrence": "renewal:2026-12-19",
                   "data": {"arr": "249600.00", "renewal_date": "2026-12-19", "days_left": 45}}),
        )
        .why();
        assert_eq!(why.origin, Origin::Playbook { id: 2, name: Some("更新フォロー".into()) });
        assert_eq!(why.trigger, Some(Trigger::RenewalWithin { days: 60 }));
        assert_eq!(
            why.facts,
            [Fact::Renewal { on: day("2026-12-19"), days_left: Some(45) }, Fact::Arr(Money(Decimal::new(24960000, 2)))]
        );
    }

    #[test]
    fn a_grade_change_reads_from_to_score_and_drivers() {
        let why = reason(
            "playbook:7",
            json!({"playbook": "p", "trigger": {"type": "grade_changed", "to": "at_risk"}, "occurrence": "grade:x",
                   "data": {"from": "healthy", "to": "at_risk", "score": 38.5,
                            "drivers": [{"ja": "ログインが減少", "en": "Fewer logins"}]}}),
        )
        .why();
        assert_eq!(why.trigger, Some(Trigger::GradeChanged { from: None, to: Some("at_risk".into()) }));
        assert_eq!(
            why.facts,
            [
                Fact::GradeChanged { from: "healthy".into(), to: "at_risk".into(), score: Some(38.5) },
                Fact::Drivers(vec![Bilingual::new("ログインが減少", "Fewer logins")])
            ]
        );
    }

    #[test]
    fn other_playbook_events_read_too() {
        let facts =
            |data: Value| reason("playbook:1", json!({"trigger": {"type": "nps_detractor"}, "data": data})).why().facts;
        assert_eq!(facts(json!({"last_active_day": null})), [Fact::LastActive(None)]);
        assert_eq!(
            facts(json!({"nps_score": 3, "answered_on": "2026-11-03"})),
            [Fact::NpsAnswer { score: 3, on: Some(day("2026-11-03")) }]
        );
        assert_eq!(
            facts(json!({"milestone": "kickoff", "due_on": "2026-11-01", "plan_id": 4})),
            [Fact::Milestone { key: "kickoff".into(), due_on: Some(day("2026-11-01")) }]
        );
        assert_eq!(
            facts(json!({"segment_id": 5, "entered_at": "2026-11-03T01:02:03Z"})),
            [Fact::EnteredSegment { segment_id: 5, at: "2026-11-03T01:02:03Z".parse().ok() }]
        );
        assert_eq!(facts(json!({"day": "2026-12-01"})), []);
    }

    #[test]
    fn a_manual_task_reads_the_account_as_it_was_and_unknown_keys_stay_as_stored() {
        let why = reason(
            MANUAL,
            json!({"arr": "1200000.00", "health_score": 38.5, "health_grade": "at_risk",
                   "next_renewal": "2027-01-31", "stage": "renewal", "days_to_renewal": 60, "arr_note": "x"}),
        )
        .why();
        assert_eq!((why.origin, why.trigger), (Origin::Manual, None));
        assert_eq!(
            why.facts,
            [
                Fact::Health { score: Some(38.5), grade: Some("at_risk".into()) },
                Fact::Renewal { on: day("2027-01-31"), days_left: None },
                Fact::Arr(Money(Decimal::new(120000000, 2))),
                Fact::Stage("renewal".into()),
                Fact::Other { key: "arr_note".into(), value: json!("x") },
                Fact::Other { key: "days_to_renewal".into(), value: json!(60) },
            ]
        );
        let odd = reason("playbook:3", json!({"health_score": 38.5, "arr": "lots"})).why();
        assert_eq!(odd.origin, Origin::Playbook { id: 3, name: None });
        assert_eq!(
            odd.facts,
            [Fact::Health { score: Some(38.5), grade: None }, Fact::Other { key: "arr".into(), value: json!("lots") }]
        );
    }
}
