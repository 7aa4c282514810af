//! Health over time: one snapshot per account per day, trend deltas, and grade drops.

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Snapshot {
    pub day: NaiveDate,
    pub score: Option<f64>,
    pub grade: String,
    /// Points per measure key (`null` when the measure had no data).
    pub measures: BTreeMap<String, Option<f64>>,
}

/// Score change against 7, 30 and 90 days before the latest snapshot.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Trend {
    pub delta_7d: Option<f64>,
    pub delta_30d: Option<f64>,
    pub delta_90d: Option<f64>,
}

/// `history` oldest first. Each delta compares the latest score with the latest snapshot on or
/// before that many days earlier.
pub fn trend(history: &[Snapshot]) -> Trend {
    let Some(latest) = history.last() else { return Trend::default() };
    let delta = |days: u64| {
        let then = latest.day.checked_sub_days(Days::new(days))?;
        let before = history.iter().rev().find(|s| s.day <= then)?;
        score_change(latest.score, before.score)
    };
    Trend { delta_7d: delta(7), delta_30d: delta(30), delta_90d: delta(90) }
}

/// How much a score moved, to one decimal; unknown when either score is.
pub fn score_change(now: Option<f64>, before: Option<f64>) -> Option<f64> {
    Some(((now? - before?) * 10.0).round() / 10.0)
}

/// Whether moving from grade `from` to `to` is a drop, given grades best first (`unknown` is
/// neither better nor worse).
pub fn is_drop(grades: &[String], from: &str, to: &str) -> bool {
    let rank = |g: &str| grades.iter().position(|k| k == g);
    matches!((rank(from), rank(to)), (Some(a), Some(b)) if b > a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(day: &str, score: f64) -> Snapshot {
        Snapshot { day: day.parse().unwrap(), score: Some(score), grade: "healthy".into(), measures: BTreeMap::new() }
    }

    #[test]
    fn trend_compares_with_the_snapshot_on_or_before_each_horizon() {
        let history = vec![
            snap("2026-08-01", 80.0),
            snap("2026-10-20", 75.0),
            snap("2026-11-16", 70.0),
            snap("2026-11-23", 62.5),
        ];
        assert_eq!(trend(&history), Trend { delta_7d: Some(-7.5), delta_30d: Some(-12.5), delta_90d: Some(-17.5) });
    }

    #[test]
    fn drops_follow_the_order_of_grades() {
        let grades = vec!["healthy".to_string(), "neutral".to_string(), "at_risk".to_string()];
        assert!(is_drop(&grades, "healthy", "at_risk"));
        assert!(!is_drop(&grades, "at_risk", "neutral"));
        assert!(!is_drop(&grades, "unknown", "at_risk"));
    }
}
