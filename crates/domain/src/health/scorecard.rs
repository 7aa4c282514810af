//! Health configuration: grade bands, the scorecards, which accounts each applies to, and each
//! measure's type, parameters, weight and mapping from value to points. Read from TOML or JSON.

use crate::usage::FeatureKey;
use crate::{FieldError, Reason};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A grade: accounts whose score is at least `min` (and below the better grades) get it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GradeBand {
    pub key: String,
    pub name_ja: String,
    pub name_en: String,
    pub min: f64,
    /// A CSS colour, chosen to stay distinguishable for colour-blind readers.
    pub colour: String,
}

/// Which accounts a scorecard is for; every given field must match. A scorecard without one
/// is the default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountMatch {
    pub tier: Option<String>,
    pub stage: Option<String>,
    pub touch_model: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MeasureType {
    /// Share of the feature's last `periods` expected periods (weeks, months, …) with use.
    CadenceAdherence,
    /// 1 when an annual feature was used this season, 0 when used last season but not this one
    /// (once the season has started); no signal before the season starts.
    SeasonalAdherence,
    /// Active end users in the last 30 days ÷ seats.
    SeatActivation,
    /// Active end users in the last 30 days ÷ those in the 30 days before.
    ActiveUserTrend,
    /// Share of core (non-annual) features used in the last 30 days.
    Breadth,
    /// The latest NPS answer (0–10).
    NpsLatest,
    /// Mean NPS answer over the last `days` (default 180).
    NpsAverage,
    /// Open tickets of high or urgent priority.
    OpenUrgentTickets,
    /// Tickets of high or urgent priority opened in the last `days` (default 90), solved or not:
    /// escalations, even when support closed them quickly.
    RecentUrgentTickets,
    /// Tickets in the last 30 days ÷ the account's own 30-day average over the 180 days before.
    TicketTrend,
    /// The CSM's judgement, 1–5, until it is `days` old (default 30).
    CsmPulse,
    /// Days until the next renewal.
    DaysToRenewal,
    /// Share of MRR lost to contraction in the last `days` (default 90; 0 when none).
    Contraction,
    /// Uses per day in the last `recent_days` ÷ the account's own rate over the `baseline_days`
    /// before (all events, the core features, or one feature).
    UsageTrend,
    /// Share of days with any use in the last `recent_days` ÷ the same share in the baseline.
    ActiveDaysTrend,
    /// Uses per active end user per day in the last `recent_days` ÷ the same in the baseline.
    UserActivityTrend,
    /// Days since the feature was last used ÷ the account's own usual days between uses over the
    /// baseline (the `baseline_days` before the last `recent_days`); over the core features, the
    /// most overdue one. A stopped job shows here weeks before its window's count halves.
    Overdue,
}

impl MeasureType {
    pub const ALL: [MeasureType; 17] = [
        MeasureType::UsageTrend,
        MeasureType::ActiveDaysTrend,
        MeasureType::UserActivityTrend,
        MeasureType::Overdue,
        MeasureType::CadenceAdherence,
        MeasureType::SeasonalAdherence,
        MeasureType::SeatActivation,
        MeasureType::ActiveUserTrend,
        MeasureType::Breadth,
        MeasureType::NpsLatest,
        MeasureType::NpsAverage,
        MeasureType::OpenUrgentTickets,
        MeasureType::RecentUrgentTickets,
        MeasureType::TicketTrend,
        MeasureType::CsmPulse,
        MeasureType::DaysToRenewal,
        MeasureType::Contraction,
    ];

    /// The name in files and forms (`usage_trend`).
    pub fn key(self) -> String {
        serde_json::to_value(self).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
    }

    pub fn from_key(key: &str) -> Option<MeasureType> {
        MeasureType::ALL.into_iter().find(|kind| kind.key() == key)
    }

    /// Whether the measure reads a feature (or a scope of features).
    pub fn takes_feature(self) -> bool {
        self.reads_usage_windows() || matches!(self, MeasureType::CadenceAdherence | MeasureType::SeasonalAdherence)
    }

    /// Whether `days` sets its window or the age after which data stops counting.
    pub fn takes_days(self) -> bool {
        matches!(
            self,
            MeasureType::NpsLatest
                | MeasureType::NpsAverage
                | MeasureType::RecentUrgentTickets
                | MeasureType::CsmPulse
                | MeasureType::Contraction
        )
    }

    /// Measures that compare the account with its own past: a ratio near 1 means unchanged.
    pub fn is_trend(self) -> bool {
        matches!(
            self,
            MeasureType::ActiveUserTrend
                | MeasureType::TicketTrend
                | MeasureType::UsageTrend
                | MeasureType::ActiveDaysTrend
                | MeasureType::UserActivityTrend
        )
    }

    /// Measures over the account's own usage history in two windows.
    pub fn reads_usage_windows(self) -> bool {
        matches!(
            self,
            MeasureType::UsageTrend
                | MeasureType::ActiveDaysTrend
                | MeasureType::UserActivityTrend
                | MeasureType::Overdue
        )
    }
}

/// Which uses a usage measure counts when it names no feature.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ActivityScope {
    /// Every tracked event except uses of seasonal (annual) features, whose rhythm seasonal
    /// adherence judges: a season's peak would otherwise make the months after it look like decline.
    #[default]
    All,
    /// The core features: the non-annual ones for cadence adherence and usage trends, the annual
    /// ones for seasonal adherence.
    Core,
}

/// The usage history an activity trend reads: which uses, and the two windows compared.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ActivityKey {
    /// `None` for a scope; else a feature key.
    pub feature: Option<String>,
    pub scope: ActivityScope,
    pub recent_days: u32,
    pub baseline_days: u32,
}

/// A measure whose points fall below `below` holds the grade at `grade` or worse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CriticalRule {
    pub below: f64,
    pub grade: String,
}

/// A key of a grade, scorecard or measure: letters, digits, `_` and `-`, at most 64.
fn check_key(key: &str) -> Result<(), Reason> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if key.is_empty() {
        Err(Reason::Required)
    } else if key.len() > MAX_KEY_CHARS || !key.chars().all(allowed) {
        Err(Reason::Malformed { detail: "letters, digits, _ and -, at most 64".into() })
    } else {
        Ok(())
    }
}

fn check_name(name: &str) -> Result<(), Reason> {
    if name.trim().is_empty() {
        Err(Reason::Required)
    } else if name.chars().count() > MAX_NAME_CHARS {
        Err(Reason::TooLong { max: MAX_NAME_CHARS })
    } else {
        Ok(())
    }
}

/// How a measure's value becomes 0–100 points: `thresholds` gives the points of the first
/// `[at_least, points]` pair the value reaches (checked from the highest), `piecewise`
/// interpolates linearly between `[value, points]` pairs and holds the ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PointsMapping {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thresholds: Option<Vec<(f64, f64)>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub piecewise: Option<Vec<(f64, f64)>>,
}

impl PointsMapping {
    pub fn points(&self, value: f64) -> f64 {
        let points = if let Some(steps) = &self.thresholds {
            let mut sorted = steps.clone();
            sorted.sort_by(|a, b| b.0.total_cmp(&a.0));
            sorted.iter().find(|(at_least, _)| value >= *at_least).or(sorted.last()).map_or(0.0, |(_, p)| *p)
        } else if let Some(knots) = &self.piecewise {
            let mut sorted = knots.clone();
            sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
            match (sorted.first(), sorted.last()) {
                (Some(first), _) if value <= first.0 => first.1,
                (_, Some(last)) if value >= last.0 => last.1,
                _ => sorted
                    .windows(2)
                    .find(|w| value >= w[0].0 && value <= w[1].0)
                    .map_or(0.0, |w| w[0].1 + (value - w[0].0) / (w[1].0 - w[0].0) * (w[1].1 - w[0].1)),
            }
        } else {
            0.0
        };
        points.clamp(0.0, 100.0)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeasureSpec {
    pub key: String,
    #[serde(rename = "type")]
    pub kind: MeasureType,
    /// The feature of cadence and seasonal adherence, or of a usage trend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature: Option<String>,
    /// Instead of one feature: `core` features (cadence and seasonal adherence, usage trends) or
    /// `all` events (usage trends; the default there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<ActivityScope>,
    /// Expected periods looked at by cadence adherence (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub periods: Option<usize>,
    /// In days: the window of NPS average, urgent tickets and contraction; the age after which an
    /// NPS answer or a CSM pulse no longer counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<i64>,
    /// Usage trends: the recent window (default 30 days) …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recent_days: Option<u32>,
    /// … compared with the account's own rate over this many days before it (default 90).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_days: Option<u32>,
    /// Usage trends: fewer uses (active days for `active_days_trend`) than this in the baseline
    /// gives no signal rather than a false alarm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_baseline: Option<f64>,
    pub weight: f64,
    pub points: PointsMapping,
    /// A weakest link: below this many points the grade is held at a worse one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critical: Option<CriticalRule>,
}

pub const DEFAULT_RECENT_DAYS: u32 = 30;
pub const DEFAULT_BASELINE_DAYS: u32 = 90;
pub const DEFAULT_NPS_MAX_AGE_DAYS: i64 = 180;
/// At most this many grades, scorecards, and measures on one scorecard: every account is scored
/// against them on every change, so a pasted file must not be able to make that unbounded.
pub const MAX_GRADES: usize = 10;
pub const MAX_SCORECARDS: usize = 20;
pub const MAX_MEASURES: usize = 50;
/// A measure's points mapping has at most this many pairs.
pub const MAX_POINT_PAIRS: usize = 50;
/// Weights are relative; past this one a weight only hides the others (and a huge one breaks the
/// arithmetic of the weighted mean).
pub const MAX_WEIGHT: f64 = 10_000.0;
/// Keys (grades, scorecards, measures) are identifiers in files and links; names are read by people.
const MAX_KEY_CHARS: usize = 64;
const MAX_NAME_CHARS: usize = 200;
/// `applies_to` values are compared with an account's tier, stage, touch model or custom fields.
const MAX_MATCH_CHARS: usize = 500;
pub const DEFAULT_CONTRACTION_DAYS: u32 = 90;

impl MeasureSpec {
    /// The window a contraction measure compares MRR over.
    pub fn contraction_days(&self) -> u32 {
        self.days.and_then(|d| u32::try_from(d).ok()).unwrap_or(DEFAULT_CONTRACTION_DAYS)
    }

    /// The usage history an activity trend reads; `None` for other measures.
    pub fn activity_key(&self) -> Option<ActivityKey> {
        self.kind.reads_usage_windows().then(|| ActivityKey {
            feature: self.feature.clone(),
            scope: if self.feature.is_some() { ActivityScope::All } else { self.scope.unwrap_or_default() },
            recent_days: self.recent_days.unwrap_or(DEFAULT_RECENT_DAYS),
            baseline_days: self.baseline_days.unwrap_or(DEFAULT_BASELINE_DAYS),
        })
    }

    /// The least baseline that gives a signal: uses, or active days for `active_days_trend` and
    /// `overdue`.
    pub fn min_baseline(&self) -> f64 {
        self.min_baseline.unwrap_or(match self.kind {
            MeasureType::ActiveDaysTrend => 5.0,
            // A monthly job done three times in the baseline has a rhythm to be late against.
            MeasureType::Overdue => 3.0,
            _ => 20.0,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Scorecard {
    pub key: String,
    pub name: String,
    /// The name on English pages (default: `name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_en: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applies_to: Option<AccountMatch>,
    #[serde(rename = "measure")]
    pub measures: Vec<MeasureSpec>,
}

/// The whole health configuration. Scorecards are tried in order; the first whose
/// `applies_to` matches the account wins, else the default (the one without `applies_to`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthConfig {
    /// Best grade first.
    #[serde(rename = "grade", default = "default_grades")]
    pub grades: Vec<GradeBand>,
    /// Fewer measures with data than this gives the grade `unknown`.
    #[serde(default = "default_min_measures")]
    pub min_measures: usize,
    #[serde(rename = "scorecard")]
    pub scorecards: Vec<Scorecard>,
}

fn default_min_measures() -> usize {
    3
}

pub fn default_grades() -> Vec<GradeBand> {
    let band = |key: &str, ja: &str, en: &str, min: f64, colour: &str| GradeBand {
        key: key.into(),
        name_ja: ja.into(),
        name_en: en.into(),
        min,
        colour: colour.into(),
    };
    // Blue / orange / vermillion: the Okabe–Ito palette, distinguishable with colour blindness.
    vec![
        band("healthy", "良好", "Healthy", 70.0, "#0072B2"),
        band("neutral", "注意", "Neutral", 40.0, "#E69F00"),
        band("at_risk", "リスク", "At risk", 0.0, "#D55E00"),
    ]
}

/// What an account is matched on.
pub struct AccountTraits<'a> {
    pub tier: Option<&'a str>,
    pub stage: Option<&'a str>,
    pub touch_model: Option<&'a str>,
    pub custom: &'a BTreeMap<String, String>,
}

impl AccountMatch {
    /// A usual tier or stage written as the pages name it (`Enterprise`, 「リスク」) means its key.
    fn matches(&self, account: &AccountTraits<'_>) -> bool {
        let same = |want: &Option<String>, got: Option<&str>| want.as_deref().is_none_or(|w| got == Some(w));
        let keyed = |want: &Option<String>, usual: fn(&str) -> Option<&'static str>| {
            want.as_deref().map(|w| usual(w).map_or_else(|| w.to_owned(), str::to_owned))
        };
        same(&keyed(&self.tier, crate::account::usual_tier_key), account.tier)
            && same(&keyed(&self.stage, crate::account::usual_stage_key), account.stage)
            && same(&self.touch_model, account.touch_model)
            && self.custom.iter().all(|(k, v)| account.custom.get(k) == Some(v))
    }
}

impl HealthConfig {
    /// A grade's name in both languages; a key the configuration does not have (an unscored
    /// account's `unknown`) is "unknown".
    pub fn grade_name(&self, key: &str) -> crate::i18n::Bilingual {
        self.named_grade(key).unwrap_or_else(|| crate::i18n::Bilingual::new("不明", "Unknown"))
    }

    fn named_grade(&self, key: &str) -> Option<crate::i18n::Bilingual> {
        self.grades.iter().find(|g| g.key == key).map(|g| crate::i18n::Bilingual::new(&g.name_ja, &g.name_en))
    }

    /// The grade's names, or its key twice when no grade has it (a rule naming a grade that was
    /// since removed still says which).
    pub fn grade_name_or_key(&self, key: &str) -> crate::i18n::Bilingual {
        self.named_grade(key).unwrap_or_else(|| crate::i18n::Bilingual::new(key, key))
    }

    /// The scorecard for an account: the first that matches, else the default.
    pub fn scorecard_for(&self, account: &AccountTraits<'_>) -> Option<&Scorecard> {
        self.scorecards
            .iter()
            .find(|s| s.applies_to.as_ref().is_some_and(|m| m.matches(account)))
            .or_else(|| self.scorecards.iter().find(|s| s.applies_to.is_none()))
    }

    /// How many recent expected periods per feature scoring reads: the most any cadence measure
    /// looks at, plus the one under way.
    pub fn periods_needed(&self) -> usize {
        let most = self.scorecards.iter().flat_map(|c| &c.measures).filter_map(|m| m.periods).max().unwrap_or(0);
        most.max(3) + 1
    }

    /// Every usage history the scorecards' activity trends read.
    pub fn activity_keys(&self) -> std::collections::BTreeSet<ActivityKey> {
        self.scorecards.iter().flat_map(|c| &c.measures).filter_map(MeasureSpec::activity_key).collect()
    }

    /// How many days back the contraction measures compare MRR with.
    pub fn contraction_windows(&self) -> std::collections::BTreeSet<u32> {
        self.scorecards
            .iter()
            .flat_map(|c| &c.measures)
            .filter(|m| m.kind == MeasureType::Contraction)
            .map(MeasureSpec::contraction_days)
            .collect()
    }

    /// The grades' keys, best first (the order `is_drop` reads).
    pub fn grade_keys(&self) -> Vec<String> {
        self.grades.iter().map(|g| g.key.clone()).collect()
    }

    /// The grade of a score; `None` for a score below every band.
    pub fn grade_of(&self, score: f64) -> Option<&GradeBand> {
        self.grades.iter().find(|g| score >= g.min)
    }

    /// Checks what serde cannot: one default scorecard, unique keys, positive weights, the
    /// parameters each measure type needs, mappings, bands from best to worst.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut push = |field: String, reason: Reason| errors.push(FieldError::new(&field, reason));
        if self.grades.is_empty() {
            push("grade".into(), Reason::Required);
        }
        let at_most = |max: usize| Reason::OutOfRange { min: "1".into(), max: max.to_string() };
        if self.grades.len() > MAX_GRADES {
            push("grade".into(), at_most(MAX_GRADES));
        }
        if self.scorecards.len() > MAX_SCORECARDS {
            push("scorecard".into(), at_most(MAX_SCORECARDS));
        }
        if self.min_measures > MAX_MEASURES {
            push("min_measures".into(), Reason::OutOfRange { min: "0".into(), max: MAX_MEASURES.to_string() });
        }
        let mut grade_keys = std::collections::HashSet::new();
        for (i, grade) in self.grades.iter().enumerate() {
            if let Err(reason) = check_key(&grade.key) {
                push(format!("grade[{i}].key"), reason);
            } else if !grade_keys.insert(grade.key.as_str()) {
                push(format!("grade[{i}].key"), Reason::AlreadyExists);
            }
            for (field, name) in [("name_ja", &grade.name_ja), ("name_en", &grade.name_en)] {
                if let Err(reason) = check_name(name) {
                    push(format!("grade[{i}].{field}"), reason);
                }
            }
            if !(0.0..=100.0).contains(&grade.min) {
                push(format!("grade[{i}].min"), Reason::OutOfRange { min: "0".into(), max: "100".into() });
            }
            let hex =
                grade.colour.strip_prefix('#').filter(|h| h.len() == 6 && h.chars().all(|c| c.is_ascii_hexdigit()));
            if hex.is_none() {
                push(format!("grade[{i}].colour"), Reason::WrongType { expected: "a colour as #RRGGBB" });
            }
        }
        for (i, pair) in self.grades.windows(2).enumerate() {
            if pair[1].min >= pair[0].min {
                push(
                    format!("grade[{}].min", i + 1),
                    Reason::Malformed { detail: "grades go from best to worst with falling min".into() },
                );
            }
        }
        if self.scorecards.iter().filter(|s| s.applies_to.is_none()).count() != 1 {
            push(
                "scorecard".into(),
                Reason::Malformed { detail: "exactly one scorecard has no applies_to (the default)".into() },
            );
        }
        let mut keys = std::collections::HashSet::new();
        for (i, card) in self.scorecards.iter().enumerate() {
            if let Err(reason) = check_key(&card.key) {
                push(format!("scorecard[{i}].key"), reason);
            } else if !keys.insert(card.key.as_str()) {
                push(format!("scorecard[{i}].key"), Reason::AlreadyExists);
            }
            if let Err(reason) = check_name(&card.name) {
                push(format!("scorecard[{i}].name"), reason);
            }
            if let Some(Err(reason)) = card.name_en.as_deref().map(check_name) {
                push(format!("scorecard[{i}].name_en"), reason);
            }
            if let Some(rule) = &card.applies_to {
                let given = [("tier", &rule.tier), ("stage", &rule.stage), ("touch_model", &rule.touch_model)];
                let named =
                    given.into_iter().filter_map(|(field, value)| value.as_deref().map(|v| (field.to_owned(), v)));
                let custom = rule
                    .custom
                    .iter()
                    .flat_map(|(k, v)| [(format!("custom.{k}"), k.as_str()), (format!("custom.{k}"), v.as_str())]);
                for (field, value) in named.chain(custom) {
                    if value.chars().count() > MAX_MATCH_CHARS {
                        push(format!("scorecard[{i}].applies_to.{field}"), Reason::TooLong { max: MAX_MATCH_CHARS });
                    }
                }
                if rule.custom.len() > MAX_MEASURES {
                    push(format!("scorecard[{i}].applies_to.custom"), at_most(MAX_MEASURES));
                }
            }
            if card.measures.is_empty() {
                push(format!("scorecard[{i}].measure"), Reason::Required);
            } else if card.measures.len() < self.min_measures {
                // Such a scorecard could never grade an account: every one would be unknown.
                push(format!("scorecard[{i}].measure"), Reason::TooFewMeasures { min: self.min_measures });
            }
            if card.measures.len() > MAX_MEASURES {
                push(format!("scorecard[{i}].measure"), at_most(MAX_MEASURES));
            }
            let mut measure_keys = std::collections::HashSet::new();
            for (j, m) in card.measures.iter().enumerate() {
                let at = |field: &str| format!("scorecard[{i}].measure[{j}].{field}");
                if let Err(reason) = check_key(&m.key) {
                    push(at("key"), reason);
                } else if !measure_keys.insert(m.key.as_str()) {
                    push(at("key"), Reason::AlreadyExists);
                }
                if !(m.weight > 0.0 && m.weight <= MAX_WEIGHT) {
                    push(at("weight"), Reason::OutOfRange { min: "0 (exclusive)".into(), max: MAX_WEIGHT.to_string() });
                }
                // Judged per feature or over the core ones, never over every event.
                let per_feature = matches!(
                    m.kind,
                    MeasureType::CadenceAdherence | MeasureType::SeasonalAdherence | MeasureType::Overdue
                );
                let reads_usage = per_feature || m.kind.reads_usage_windows();
                match (&m.feature, &m.scope) {
                    (Some(_), Some(_)) => push(at("scope"), Reason::OnlyWith { field: "feature", value: "absent" }),
                    (None, None) if per_feature => push(at("feature"), Reason::Required),
                    (None, Some(ActivityScope::All)) if per_feature => {
                        push(at("scope"), Reason::NotOneOf { allowed: vec!["core".into()] })
                    }
                    (Some(f), None) if reads_usage => {
                        if let Err(reason) = FeatureKey::parse(f) {
                            push(at("feature"), reason);
                        }
                    }
                    (Some(_), None) | (None, Some(_)) if !reads_usage => push(
                        at(if m.feature.is_some() { "feature" } else { "scope" }),
                        Reason::OnlyWith { field: "type", value: "usage measures" },
                    ),
                    _ => {}
                }
                let windows = [("recent_days", m.recent_days), ("baseline_days", m.baseline_days)];
                for (field, days) in windows {
                    if days.is_some() && !m.kind.reads_usage_windows() {
                        push(at(field), Reason::OnlyWith { field: "type", value: "usage trends" });
                    }
                    if days.is_some_and(|d| !(7..=365).contains(&d)) {
                        push(at(field), Reason::OutOfRange { min: "7".into(), max: "365".into() });
                    }
                }
                if m.min_baseline.is_some() && !m.kind.reads_usage_windows() {
                    push(at("min_baseline"), Reason::OnlyWith { field: "type", value: "usage trends" });
                }
                if m.min_baseline.is_some_and(|b| !(0.0..=1_000_000.0).contains(&b)) {
                    push(at("min_baseline"), Reason::OutOfRange { min: "0".into(), max: "1000000".into() });
                }
                if let Some(rule) = &m.critical {
                    if !(0.0..=100.0).contains(&rule.below) {
                        push(at("critical.below"), Reason::OutOfRange { min: "0".into(), max: "100".into() });
                    }
                    if !self.grades.iter().any(|g| g.key == rule.grade) {
                        push(at("critical.grade"), Reason::UnknownReference);
                    }
                }
                if m.periods.is_some() && m.kind != MeasureType::CadenceAdherence {
                    push(at("periods"), Reason::OnlyWith { field: "type", value: "cadence_adherence" });
                }
                if m.periods.is_some_and(|p| !(1..=36).contains(&p)) {
                    push(at("periods"), Reason::OutOfRange { min: "1".into(), max: "36".into() });
                }
                if m.days.is_some() && !m.kind.takes_days() {
                    push(
                        at("days"),
                        Reason::OnlyWith {
                            field: "type",
                            value: "nps_latest, nps_average, csm_pulse, recent_urgent_tickets or contraction",
                        },
                    );
                }
                if m.days.is_some_and(|d| !(1..=3650).contains(&d)) {
                    push(at("days"), Reason::OutOfRange { min: "1".into(), max: "3650".into() });
                }
                let steps = m.points.thresholds.as_ref().or(m.points.piecewise.as_ref());
                if m.points.thresholds.is_some() == m.points.piecewise.is_some() || steps.is_none_or(|s| s.is_empty()) {
                    push(
                        at("points"),
                        Reason::Malformed {
                            detail: "give either thresholds or piecewise, with at least one [value, points] pair"
                                .into(),
                        },
                    );
                } else if steps.is_some_and(|s| s.len() > MAX_POINT_PAIRS) {
                    push(at("points"), at_most(MAX_POINT_PAIRS));
                } else if steps.is_some_and(|s| s.iter().any(|(_, p)| !(0.0..=100.0).contains(p))) {
                    push(at("points"), Reason::OutOfRange { min: "0".into(), max: "100".into() });
                } else if steps.is_some_and(|s| s.iter().any(|(value, _)| !value.is_finite())) {
                    push(at("points"), Reason::WrongType { expected: "finite numbers" });
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measure(key: &str, kind: MeasureType) -> MeasureSpec {
        MeasureSpec {
            key: key.into(),
            kind,
            feature: None,
            periods: None,
            days: None,
            weight: 1.0,
            points: PointsMapping { thresholds: Some(vec![(0.0, 0.0)]), piecewise: None },
            scope: None,
            recent_days: None,
            baseline_days: None,
            min_baseline: None,
            critical: None,
        }
    }

    fn card(key: &str, applies_to: Option<AccountMatch>) -> Scorecard {
        Scorecard {
            key: key.into(),
            name: key.into(),
            name_en: None,
            applies_to,
            measures: vec![measure("seats", MeasureType::SeatActivation)],
        }
    }

    #[test]
    fn the_first_matching_scorecard_wins_else_the_default() {
        let enterprise = AccountMatch { tier: Some("enterprise".into()), ..AccountMatch::default() };
        let config = HealthConfig {
            grades: default_grades(),
            min_measures: 1,
            scorecards: vec![card("default", None), card("enterprise", Some(enterprise))],
        };
        assert!(config.validate().is_ok());
        let custom = BTreeMap::new();
        let account = |tier| AccountTraits { tier, stage: None, touch_model: None, custom: &custom };
        assert_eq!(config.scorecard_for(&account(Some("enterprise"))).unwrap().key, "enterprise");
        assert_eq!(config.scorecard_for(&account(Some("smb"))).unwrap().key, "default");
        let named = AccountMatch { tier: Some("エンタープライズ".into()), ..AccountMatch::default() };
        let config_named =
            HealthConfig { scorecards: vec![card("default", None), card("named", Some(named))], ..config.clone() };
        assert_eq!(
            config_named.scorecard_for(&account(Some("enterprise"))).unwrap().key,
            "named",
            "the name the pages show"
        );
        assert_eq!(config.grade_of(70.0).unwrap().key, "healthy");
        assert_eq!(config.grade_of(69.9).unwrap().key, "neutral");
    }

    #[test]
    fn a_configuration_keeps_its_grades_scorecards_and_measures_countable() {
        let mut crowded = card("default", None);
        crowded.measures = (0..=MAX_MEASURES).map(|i| measure(&format!("m{i}"), MeasureType::SeatActivation)).collect();
        let mut scorecards = vec![crowded];
        scorecards.extend((0..MAX_SCORECARDS).map(|i| {
            card(&format!("tier{i}"), Some(AccountMatch { tier: Some(format!("t{i}")), ..AccountMatch::default() }))
        }));
        let config = HealthConfig { grades: default_grades(), min_measures: 1, scorecards };
        let errors = config.validate().unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["scorecard", "scorecard[0].measure"], "{errors:?}");
        assert_eq!(errors[1].reason, Reason::OutOfRange { min: "1".into(), max: MAX_MEASURES.to_string() });
    }

    #[test]
    fn validation_names_each_broken_rule() {
        let mut broken = card("default", None);
        broken.measures.push(MeasureSpec { weight: -1.0, ..measure("seats", MeasureType::CadenceAdherence) });
        let config =
            HealthConfig { grades: default_grades(), min_measures: 1, scorecards: vec![broken, card("other", None)] };
        let fields: Vec<String> = config.validate().unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            vec![
                "scorecard",
                "scorecard[0].measure[1].key",
                "scorecard[0].measure[1].weight",
                "scorecard[0].measure[1].feature"
            ]
        );
    }
}
