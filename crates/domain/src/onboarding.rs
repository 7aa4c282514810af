//! Onboarding plans: a template lists milestones, each expected a number of days after the plan
//! starts, and each completed by hand or automatically when its rule (the segment rule
//! language) holds for the account. A plan's status as of a day, and time-to-onboard statistics,
//! are pure functions here.
//!
//! Status: `done` when every milestone is done; otherwise `stuck` when an open milestone is late
//! by more than its own expected days (so at twice its expected time) or by more than
//! [`STUCK_AFTER_DAYS`], whichever comes first; `behind` when an open milestone is past its
//! expected day; else `on_track`. Milestones may share or reverse expected days (work can run in
//! parallel), so their order is not checked; lists show them by expected day.

use crate::i18n::{name_in, Lang, MAX_NAME_CHARS};
use crate::ids::optional_text;
use crate::segments::Segment;
use crate::{FieldError, Reason};
use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

/// A template has at most this many milestones.
pub const MAX_MILESTONES: usize = 100;
/// A milestone late by more than this many days makes its plan stuck, whatever its expected days.
pub const STUCK_AFTER_DAYS: i64 = 30;
pub const MAX_EXPECTED_DAYS: u32 = 3650;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OnboardingTemplate {
    pub name: String,
    /// The name English readers see (else `name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_en: Option<String>,
    /// Plans start automatically from this template (only one template is the default).
    #[serde(default)]
    pub default: bool,
    /// Automatic starts only for accounts whose first paying day is on or after this day, so
    /// adding a template does not start plans for long-standing customers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_from: Option<NaiveDate>,
    /// The lifecycle stage an account moves to when its plan completes (e.g. `adoption`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complete_stage: Option<String>,
    #[serde(rename = "milestone")]
    pub milestones: Vec<Milestone>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Milestone {
    pub key: String,
    pub name_ja: String,
    pub name_en: String,
    /// Days after the plan starts by which it should be done.
    pub expected_days: u32,
    /// A segment rule; the milestone completes itself when the rule holds for the account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 64
        && key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

impl OnboardingTemplate {
    /// The name in the reader's language.
    pub fn name_in(&self, lang: Lang) -> &str {
        name_in(&self.name, self.name_en.as_deref(), lang)
    }

    /// Checks everything that needs no database; `stages` are the workspace's lifecycle stages.
    /// Every problem is reported, each naming its field (`milestone[1].rule`).
    pub fn validate(&self, stages: &[String]) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut push = |field: String, reason: Reason| errors.push(FieldError::new(field, reason));
        if self.name.trim().is_empty() {
            push("name".into(), Reason::Required);
        } else if self.name.chars().count() > MAX_NAME_CHARS {
            push("name".into(), Reason::TooLong { max: MAX_NAME_CHARS });
        }
        if let Err(reason) = optional_text(self.name_en.as_deref(), MAX_NAME_CHARS) {
            push("name_en".into(), reason);
        }
        if let Some(stage) = &self.complete_stage {
            if !stages.contains(stage) {
                push("complete_stage".into(), Reason::NotOneOf { allowed: stages.to_vec() });
            }
        }
        if self.milestones.is_empty() {
            push("milestone".into(), Reason::Required);
        }
        if self.milestones.len() > MAX_MILESTONES {
            push("milestone".into(), Reason::OutOfRange { min: "1".into(), max: MAX_MILESTONES.to_string() });
        }
        let mut seen = HashSet::new();
        for (i, milestone) in self.milestones.iter().enumerate() {
            let field = |name: &str| format!("milestone[{i}].{name}");
            if !valid_key(&milestone.key) {
                push(field("key"), Reason::WrongType { expected: "lowercase letters, digits, _ and - (at most 64)" });
            } else if !seen.insert(milestone.key.as_str()) {
                push(field("key"), Reason::AlreadyExists);
            }
            for (name, text) in [("name_ja", &milestone.name_ja), ("name_en", &milestone.name_en)] {
                if text.trim().is_empty() {
                    push(field(name), Reason::Required);
                } else if text.chars().count() > 200 {
                    push(field(name), Reason::TooLong { max: 200 });
                }
            }
            if milestone.expected_days == 0 || milestone.expected_days > MAX_EXPECTED_DAYS {
                push(
                    field("expected_days"),
                    Reason::OutOfRange { min: "1".into(), max: MAX_EXPECTED_DAYS.to_string() },
                );
            }
            if let Some(rule) = &milestone.rule {
                if let Err(rule_errors) = Segment::parse(rule) {
                    let detail = rule_errors
                        .iter()
                        .map(|e| format!("{}:{} {}", e.line, e.column, e.message(crate::i18n::Lang::En)))
                        .collect::<Vec<_>>()
                        .join("; ");
                    push(field("rule"), Reason::Malformed { detail });
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// The milestones by expected day (then as written).
    pub fn ordered(&self) -> Vec<&Milestone> {
        let mut ordered: Vec<&Milestone> = self.milestones.iter().collect();
        ordered.sort_by_key(|m| m.expected_days);
        ordered
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    OnTrack,
    Behind,
    Stuck,
    Done,
}

impl PlanStatus {
    pub const ALL: [PlanStatus; 4] = [PlanStatus::OnTrack, PlanStatus::Behind, PlanStatus::Stuck, PlanStatus::Done];

    pub fn as_str(self) -> &'static str {
        match self {
            PlanStatus::OnTrack => "on_track",
            PlanStatus::Behind => "behind",
            PlanStatus::Stuck => "stuck",
            PlanStatus::Done => "done",
        }
    }

    pub fn parse(raw: &str) -> Result<PlanStatus, Reason> {
        PlanStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| Reason::NotOneOf { allowed: PlanStatus::ALL.map(|s| s.as_str().to_owned()).to_vec() })
    }
}

/// The day a milestone is due: `expected_days` after the plan started.
pub fn due_on(started_on: NaiveDate, expected_days: u32) -> NaiveDate {
    started_on.checked_add_days(Days::new(u64::from(expected_days))).unwrap_or(NaiveDate::MAX)
}

/// A plan's status as of `today`, from each milestone's expected days and whether it is done.
pub fn plan_status(started_on: NaiveDate, milestones: &[(u32, bool)], today: NaiveDate) -> PlanStatus {
    let mut status = PlanStatus::OnTrack;
    let mut open = false;
    for &(expected_days, done) in milestones {
        if done {
            continue;
        }
        open = true;
        let late = (today - due_on(started_on, expected_days)).num_days();
        if late > i64::from(expected_days).min(STUCK_AFTER_DAYS) {
            return PlanStatus::Stuck;
        }
        if late > 0 {
            status = PlanStatus::Behind;
        }
    }
    if open {
        status
    } else {
        PlanStatus::Done
    }
}

/// Time to onboard in one group: how many completed plans, and the median and 80th percentile of
/// their days from start to completion.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OnboardStats {
    pub key: String,
    pub count: usize,
    pub median_days: f64,
    pub p80_days: f64,
}

/// The `p` quantile (0–1) of sorted values, interpolated linearly between ranks (so the median of
/// an even count is the mean of the middle two).
pub fn quantile(sorted: &[i64], p: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let rank = p.clamp(0.0, 1.0) * last as f64;
    let (low, high) = (rank.floor() as usize, rank.ceil() as usize);
    let (a, b) = (sorted[low] as f64, sorted[high] as f64);
    Some(a + (b - a) * (rank - low as f64))
}

/// Statistics per group key over (group, days to onboard) pairs, by key.
pub fn time_to_onboard(durations: impl IntoIterator<Item = (String, i64)>) -> Vec<OnboardStats> {
    let mut groups: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for (key, days) in durations {
        groups.entry(key).or_default().push(days);
    }
    groups
        .into_iter()
        .filter_map(|(key, mut days)| {
            days.sort_unstable();
            Some(OnboardStats {
                count: days.len(),
                median_days: quantile(&days, 0.5)?,
                p80_days: quantile(&days, 0.8)?,
                key,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    const STANDARD: &str = r#"
name = "標準オンボーディング"
name_en = "Standard onboarding"
default = true
complete_stage = "adoption"

[[milestone]]
key = "employees_registered"
name_ja = "従業員データ登録"
name_en = "Employee data registered"
expected_days = 14
rule = 'used_within("employee_records", 3650d)'

[[milestone]]
key = "employees_logged_in"
name_ja = "従業員の80%がログイン"
name_en = "80% of employees logged in"
expected_days = 45
rule = "seat_activation >= 0.8"
"#;

    fn stages() -> Vec<String> {
        ["onboarding", "adoption", "renewal"].map(String::from).to_vec()
    }

    #[test]
    fn a_template_has_at_most_a_hundred_milestones() {
        let mut template: OnboardingTemplate = toml::from_str(STANDARD).unwrap();
        let first = template.milestones[0].clone();
        template.milestones =
            (0..=MAX_MILESTONES).map(|i| Milestone { key: format!("step_{i}"), ..first.clone() }).collect();
        let errors = template.validate(&stages()).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].field, "milestone");
        template.milestones.truncate(MAX_MILESTONES);
        assert!(template.validate(&stages()).is_ok());
    }

    #[test]
    fn the_standard_template_reads_and_checks() {
        let template: OnboardingTemplate = toml::from_str(STANDARD).unwrap();
        assert_eq!(template.validate(&stages()), Ok(()));
        assert_eq!(template.milestones.len(), 2);
        assert!(template.default);
        let json = serde_json::to_string(&template).unwrap();
        assert_eq!(serde_json::from_str::<OnboardingTemplate>(&json).unwrap(), template);
    }

    #[test]
    fn every_problem_names_its_field() {
        let mut template: OnboardingTemplate = toml::from_str(STANDARD).unwrap();
        template.name = " ".into();
        template.complete_stage = Some("nowhere".into());
        template.milestones[1].key = "employees_registered".into();
        template.milestones[1].expected_days = 0;
        template.milestones[0].rule = Some("seat_activation >=".into());
        template.milestones[0].name_en = String::new();
        let fields: Vec<String> = template.validate(&stages()).unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "name",
                "complete_stage",
                "milestone[0].name_en",
                "milestone[0].rule",
                "milestone[1].key",
                "milestone[1].expected_days"
            ]
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        let text = STANDARD.replace("expected_days = 14", "expected_dayz = 14");
        assert!(toml::from_str::<OnboardingTemplate>(&text).is_err());
    }

    #[test]
    fn status_follows_the_expected_days() {
        let start = day("2026-01-01");
        let plan = [(14, false), (45, false)];
        assert_eq!(plan_status(start, &plan, day("2026-01-15")), PlanStatus::OnTrack, "due day itself is on time");
        assert_eq!(plan_status(start, &plan, day("2026-01-16")), PlanStatus::Behind);
        // 14 days late on a 14-day milestone: still behind; one more day is twice its time.
        assert_eq!(plan_status(start, &plan, day("2026-01-29")), PlanStatus::Behind);
        assert_eq!(plan_status(start, &plan, day("2026-01-30")), PlanStatus::Stuck);
        let first_done = [(14, true), (45, false)];
        assert_eq!(plan_status(start, &first_done, day("2026-01-30")), PlanStatus::OnTrack);
        // A 45-day milestone is stuck after 30 days late, before twice its time.
        assert_eq!(plan_status(start, &first_done, day("2026-03-17")), PlanStatus::Behind);
        assert_eq!(plan_status(start, &first_done, day("2026-03-18")), PlanStatus::Stuck);
        assert_eq!(plan_status(start, &[(14, true), (45, true)], day("2027-01-01")), PlanStatus::Done);
    }

    #[test]
    fn statistics_give_median_and_p80_per_group() {
        let stats = time_to_onboard([
            ("2026-01".to_owned(), 10),
            ("2026-01".to_owned(), 30),
            ("2026-01".to_owned(), 20),
            ("2026-01".to_owned(), 40),
            ("2026-02".to_owned(), 7),
        ]);
        assert_eq!(stats.len(), 2);
        assert_eq!((stats[0].key.as_str(), stats[0].count, stats[0].median_days), ("2026-01", 4, 25.0));
        assert!((stats[0].p80_days - 34.0).abs() < 1e-9, "{}", stats[0].p80_days);
        assert_eq!((stats[1].median_days, stats[1].p80_days), (7.0, 7.0));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn statuses_read_back() {
        for status in PlanStatus::ALL {
            assert_eq!(PlanStatus::parse(status.as_str()), Ok(status));
        }
        assert!(PlanStatus::parse("late").is_err());
    }
}
