//! Scoring one account as of a day: each measure's value from the account's signals, its points,
//! weights redistributed over the measures that have data, the grade, and the explanation.

use super::scorecard::{HealthConfig, MeasureSpec, MeasureType, Scorecard};
use crate::usage::{days_before, FeatureUse, Importance};
use chrono::NaiveDate;
use serde::Serialize;

/// A support ticket as health reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketSignal {
    pub created: NaiveDate,
    pub solved: Option<NaiveDate>,
    /// high or urgent.
    pub urgent: bool,
}

/// Everything health knows about one account as of a day. `None` means the workspace has no such
/// data (e.g. tickets were never imported), which is not the same as none for this account.
#[derive(Debug, Clone, Default)]
pub struct AccountSignals {
    pub as_of: NaiveDate,
    /// First paying day: periods before it are not held against the account.
    pub customer_since: Option<NaiveDate>,
    pub features: Vec<FeatureUse>,
    pub active_users_30d: i64,
    pub active_users_prev_30d: i64,
    pub seats: Option<i64>,
    /// NPS answers (day, 0–10), when any were imported.
    pub nps: Option<Vec<(NaiveDate, i64)>>,
    pub tickets: Option<Vec<TicketSignal>>,
    /// The latest CSM pulse (day, 1–5).
    pub pulse: Option<(NaiveDate, i64)>,
    pub next_renewal: Option<NaiveDate>,
    pub mrr_now: f64,
    pub mrr_90_days_ago: f64,
}

/// A sentence in both languages.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Sentence {
    pub ja: String,
    pub en: String,
}

fn sentence(ja: String, en: String) -> Sentence {
    Sentence { ja, en }
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MeasureResult {
    pub key: String,
    #[serde(rename = "type")]
    pub kind: MeasureType,
    pub value: Option<f64>,
    pub points: Option<f64>,
    pub weight: f64,
    /// The weight's share among the measures that had data.
    pub share: Option<f64>,
    /// Points this measure cost the score (≤ 0): share × (points − 100).
    pub impact: Option<f64>,
    pub explanation: Sentence,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct HealthScore {
    pub scorecard: String,
    pub as_of: NaiveDate,
    /// 0–100, one decimal; absent when too few measures had data.
    pub score: Option<f64>,
    /// A grade key, or `unknown`.
    pub grade: String,
    pub measures_available: usize,
    pub measures_total: usize,
    pub measures: Vec<MeasureResult>,
    /// What cost the most points, worst first (at most three).
    pub drivers: Vec<Sentence>,
}

pub const UNKNOWN_GRADE: &str = "unknown";

/// A window length from the configuration (validated ≥ 1) as a day count.
fn day_count(days: i64) -> u64 {
    u64::try_from(days).unwrap_or(0)
}

fn feature<'a>(signals: &'a AccountSignals, key: Option<&str>) -> Option<&'a FeatureUse> {
    signals.features.iter().find(|f| Some(f.feature.as_str()) == key)
}

fn period_word(cadence: &str) -> (&'static str, &'static str) {
    match cadence {
        "daily" => ("日", "days"),
        "weekly" => ("週", "weeks"),
        "quarterly" => ("四半期", "quarters"),
        "annual" => ("シーズン", "seasons"),
        _ => ("か月", "months"),
    }
}

/// The measure's value and its explanation; the value is `None` without data.
fn evaluate(spec: &MeasureSpec, s: &AccountSignals) -> (Option<f64>, Sentence) {
    let no_data = |ja: &str, en: &str| (None, sentence(format!("{ja}: データなし"), format!("{en}: no data")));
    match spec.kind {
        MeasureType::CadenceAdherence => {
            let Some(f) = feature(s, spec.feature.as_deref()) else { return no_data("機能", "Feature") };
            let wanted = spec.periods.unwrap_or(3);
            let counted: Vec<_> = f
                .periods
                .iter()
                .rev()
                .filter(|p| p.complete || p.uses > 0)
                .filter(|p| s.customer_since.is_none_or(|since| p.start >= since))
                .take(wanted)
                .collect();
            if counted.is_empty() {
                return no_data(&f.name, &f.name);
            }
            let used = counted.iter().filter(|p| p.uses > 0).count();
            let (ja, en) = period_word(f.cadence);
            (
                Some(used as f64 / counted.len() as f64),
                sentence(
                    format!("{}: 直近 {} {ja}のうち {used} {ja}で利用", f.name, counted.len()),
                    format!("{}: used in {used} of the last {} {en}", f.name, counted.len()),
                ),
            )
        }
        MeasureType::SeasonalAdherence => {
            let Some(f) = feature(s, spec.feature.as_deref()) else { return no_data("機能", "Feature") };
            let Some(season) = &f.season else { return no_data(&f.name, &f.name) };
            let customer_last_season = s.customer_since.is_none_or(|since| since <= season.last_season.start);
            match (season.started, season.uses_this_season > 0, season.uses_last_season > 0 && customer_last_season) {
                (false, _, _) => (
                    None,
                    sentence(format!("{}: シーズン開始前", f.name), format!("{}: season not started yet", f.name)),
                ),
                (true, true, _) => (
                    Some(1.0),
                    sentence(format!("{}: 今シーズン利用済み", f.name), format!("{} used this season", f.name)),
                ),
                (true, false, true) => (
                    Some(0.0),
                    sentence(
                        format!("{}: 昨シーズンは利用、今シーズンは未利用", f.name),
                        format!("{} used last season, not yet this season", f.name),
                    ),
                ),
                (true, false, false) => no_data(&f.name, &f.name),
            }
        }
        MeasureType::SeatActivation => match s.seats.filter(|seats| *seats > 0) {
            Some(seats) => {
                let ratio = s.active_users_30d as f64 / seats as f64;
                let pct = (ratio * 100.0).round();
                (
                    Some(ratio),
                    sentence(
                        format!("席の稼働率 {pct}%（{} / {seats} 人）", s.active_users_30d),
                        format!("Seat activation {pct}% ({} of {seats})", s.active_users_30d),
                    ),
                )
            }
            None => no_data("席の稼働率", "Seat activation"),
        },
        MeasureType::ActiveUserTrend => {
            if s.active_users_prev_30d == 0 {
                return no_data("アクティブユーザーの推移", "Active-user trend");
            }
            (
                Some(s.active_users_30d as f64 / s.active_users_prev_30d as f64),
                sentence(
                    format!(
                        "アクティブユーザー: 直近30日 {} 人（その前の30日 {} 人）",
                        s.active_users_30d, s.active_users_prev_30d
                    ),
                    format!(
                        "Active users: {} in the last 30 days ({} in the 30 before)",
                        s.active_users_30d, s.active_users_prev_30d
                    ),
                ),
            )
        }
        MeasureType::Breadth => {
            let core: Vec<&FeatureUse> =
                s.features.iter().filter(|f| f.importance == Importance::Core && f.cadence != "annual").collect();
            if core.is_empty() {
                return no_data("主要機能の利用", "Core features");
            }
            let since = days_before(s.as_of, 29);
            let used = core.iter().filter(|f| f.last_used.is_some_and(|d| d >= since)).count();
            (
                Some(used as f64 / core.len() as f64),
                sentence(
                    format!("直近30日に使われた主要機能: {used} / {}", core.len()),
                    format!("Core features used in the last 30 days: {used} of {}", core.len()),
                ),
            )
        }
        MeasureType::NpsLatest => match s
            .nps
            .as_ref()
            .and_then(|answers| answers.iter().filter(|(day, _)| *day <= s.as_of).max_by_key(|(day, _)| *day))
        {
            Some((day, score)) => (
                Some(*score as f64),
                sentence(format!("最新の NPS 回答: {score}（{day}）"), format!("Latest NPS answer: {score} ({day})")),
            ),
            None => no_data("NPS", "NPS"),
        },
        MeasureType::NpsAverage => {
            let days = spec.days.unwrap_or(180);
            let since = days_before(s.as_of, day_count(days - 1));
            let recent: Vec<i64> =
                s.nps.iter().flatten().filter(|(d, _)| *d >= since && *d <= s.as_of).map(|(_, v)| *v).collect();
            if recent.is_empty() {
                return no_data("NPS 平均", "NPS average");
            }
            let mean = recent.iter().sum::<i64>() as f64 / recent.len() as f64;
            (
                Some(mean),
                sentence(
                    format!("直近 {days} 日の NPS 平均: {mean:.1}（{} 件）", recent.len()),
                    format!("NPS average over {days} days: {mean:.1} ({} answers)", recent.len()),
                ),
            )
        }
        MeasureType::OpenUrgentTickets => match &s.tickets {
            Some(tickets) => {
                let open = tickets
                    .iter()
                    .filter(|t| t.urgent && t.created <= s.as_of && t.solved.is_none_or(|solved| solved > s.as_of))
                    .count();
                (
                    Some(open as f64),
                    sentence(
                        format!("未解決の高・緊急チケット {open} 件"),
                        format!("{open} open high or urgent tickets"),
                    ),
                )
            }
            None => no_data("サポート", "Support"),
        },
        MeasureType::TicketTrend => {
            let Some(tickets) = &s.tickets else { return no_data("チケット件数の推移", "Ticket trend") };
            let recent_from = days_before(s.as_of, 29);
            let base_from = days_before(recent_from, 180);
            let recent = tickets.iter().filter(|t| t.created >= recent_from && t.created <= s.as_of).count();
            let base =
                tickets.iter().filter(|t| t.created >= base_from && t.created < recent_from).count() as f64 / 6.0;
            if base == 0.0 {
                return no_data("チケット件数の推移", "Ticket trend");
            }
            (
                Some(recent as f64 / base),
                sentence(
                    format!("直近30日のチケット {recent} 件（通常 {base:.1} 件）"),
                    format!("{recent} tickets in the last 30 days (usually {base:.1})"),
                ),
            )
        }
        MeasureType::CsmPulse => {
            let days = spec.days.unwrap_or(30);
            match s.pulse.filter(|(day, _)| *day <= s.as_of && *day > days_before(s.as_of, day_count(days))) {
                Some((day, value)) => (
                    Some(value as f64),
                    sentence(format!("CSM の所感: {value} / 5（{day}）"), format!("CSM pulse: {value} of 5 ({day})")),
                ),
                None => no_data("CSM の所感", "CSM pulse"),
            }
        }
        MeasureType::DaysToRenewal => match s.next_renewal {
            Some(renewal) => {
                let days = (renewal - s.as_of).num_days();
                (Some(days as f64), sentence(format!("更新まで {days} 日"), format!("{days} days to renewal")))
            }
            None => no_data("更新", "Renewal"),
        },
        MeasureType::Contraction => {
            if s.mrr_90_days_ago <= 0.0 {
                return no_data("MRR の縮小", "Contraction");
            }
            let lost =
                if s.mrr_now > 0.0 { ((s.mrr_90_days_ago - s.mrr_now) / s.mrr_90_days_ago).max(0.0) } else { 0.0 };
            let pct = (lost * 100.0).round();
            let text = if lost > 0.0 {
                sentence(format!("直近90日で MRR が {pct}% 減少"), format!("MRR down {pct}% in the last 90 days"))
            } else {
                sentence("直近90日の MRR の縮小なし".into(), "No MRR contraction in the last 90 days".into())
            };
            (Some(lost), text)
        }
    }
}

fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// Scores an account with a scorecard. Measures without data are left out and their weight is
/// shared among the others; with fewer than `min_measures` left, the grade is `unknown`.
pub fn score(config: &HealthConfig, card: &Scorecard, signals: &AccountSignals) -> HealthScore {
    let evaluated: Vec<(&MeasureSpec, Option<f64>, Sentence)> = card
        .measures
        .iter()
        .map(|spec| {
            let (value, explanation) = evaluate(spec, signals);
            (spec, value.filter(|v| v.is_finite()), explanation)
        })
        .collect();
    let available_weight: f64 = evaluated.iter().filter(|(_, v, _)| v.is_some()).map(|(s, _, _)| s.weight).sum();
    let available = evaluated.iter().filter(|(_, v, _)| v.is_some()).count();
    let measures: Vec<MeasureResult> = evaluated
        .into_iter()
        .map(|(spec, value, explanation)| {
            let points = value.map(|v| spec.points.points(v));
            let share = value.map(|_| spec.weight / available_weight);
            MeasureResult {
                key: spec.key.clone(),
                kind: spec.kind,
                value,
                points: points.map(round1),
                weight: spec.weight,
                share,
                impact: points.zip(share).map(|(p, w)| round1(w * (p - 100.0))),
                explanation,
            }
        })
        .collect();
    let enough = available >= config.min_measures.max(1);
    let score =
        enough.then(|| round1(measures.iter().filter_map(|m| m.points.zip(m.share)).map(|(p, w)| p * w).sum::<f64>()));
    let grade = score.and_then(|s| config.grade_of(s)).map_or(UNKNOWN_GRADE.to_owned(), |g| g.key.clone());
    let mut costly: Vec<&MeasureResult> = measures.iter().filter(|m| m.impact.is_some_and(|i| i < 0.0)).collect();
    costly.sort_by(|a, b| a.impact.unwrap_or(0.0).total_cmp(&b.impact.unwrap_or(0.0)));
    let drivers = costly
        .iter()
        .take(3)
        .map(|m| {
            let impact = m.impact.unwrap_or(0.0);
            sentence(format!("{}（{impact:+.0}）", m.explanation.ja), format!("{} ({impact:+.0})", m.explanation.en))
        })
        .collect();
    HealthScore {
        scorecard: card.key.clone(),
        as_of: signals.as_of,
        score,
        grade,
        measures_available: available,
        measures_total: measures.len(),
        measures,
        drivers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::scorecard::{default_grades, PointsMapping};
    use crate::usage::periods::{PeriodUse, SeasonUse};
    use crate::usage::Period;

    fn day(raw: &str) -> NaiveDate {
        raw.parse().unwrap()
    }

    fn spec(key: &str, kind: MeasureType, weight: f64) -> MeasureSpec {
        MeasureSpec {
            key: key.into(),
            kind,
            feature: None,
            periods: None,
            days: None,
            weight,
            points: PointsMapping { thresholds: None, piecewise: Some(vec![(0.0, 0.0), (1.0, 100.0)]) },
        }
    }

    fn config(min_measures: usize) -> HealthConfig {
        HealthConfig { grades: default_grades(), min_measures, scorecards: Vec::new() }
    }

    fn card(measures: Vec<MeasureSpec>) -> Scorecard {
        Scorecard { key: "default".into(), name: "Default".into(), applies_to: None, measures }
    }

    fn monthly(uses: &[i64]) -> FeatureUse {
        let periods = uses
            .iter()
            .enumerate()
            .map(|(i, u)| PeriodUse {
                start: day("2026-01-01").checked_add_months(chrono::Months::new(i as u32)).unwrap(),
                end: day("2026-01-28").checked_add_months(chrono::Months::new(i as u32)).unwrap(),
                uses: *u,
                complete: i + 1 < uses.len(),
            })
            .collect();
        FeatureUse {
            feature: "payslip".into(),
            name: "給与明細".into(),
            cadence: "monthly",
            importance: Importance::Core,
            last_used: Some(day("2026-10-25")),
            periods,
            season: None,
        }
    }

    fn seasonal(started: bool, this: i64, last: i64) -> FeatureUse {
        let period = |start: &str, end: &str| Period { start: day(start), end: day(end) };
        FeatureUse {
            feature: "yea".into(),
            name: "年末調整".into(),
            cadence: "annual",
            importance: Importance::Core,
            last_used: None,
            periods: Vec::new(),
            season: Some(SeasonUse {
                this_season: period("2026-11-01", "2027-01-31"),
                started,
                uses_this_season: this,
                last_season: period("2025-11-01", "2026-01-31"),
                uses_last_season: last,
            }),
        }
    }

    fn signals() -> AccountSignals {
        AccountSignals {
            as_of: day("2026-11-20"),
            customer_since: Some(day("2024-04-01")),
            ..AccountSignals::default()
        }
    }

    fn value(kind: MeasureType, s: &AccountSignals, adjust: impl FnOnce(&mut MeasureSpec)) -> Option<f64> {
        let mut m = spec("m", kind, 1.0);
        adjust(&mut m);
        evaluate(&m, s).0
    }

    #[test]
    fn cadence_adherence_counts_complete_periods_since_the_customer_started() {
        let s = AccountSignals { features: vec![monthly(&[1, 0, 2, 1, 0])], ..signals() };
        let feature = |m: &mut MeasureSpec| {
            m.feature = Some("payslip".into());
            m.periods = Some(3);
        };
        // The running month without use is not held against the account: 0, 2, 1 → 2 of 3.
        assert_eq!(value(MeasureType::CadenceAdherence, &s, feature), Some(2.0 / 3.0));
        let young = AccountSignals { customer_since: Some(day("2026-04-01")), ..s.clone() };
        assert_eq!(value(MeasureType::CadenceAdherence, &young, feature), Some(1.0), "only April counts");
        assert_eq!(value(MeasureType::CadenceAdherence, &s, |m| m.feature = Some("missing".into())), None);
    }

    #[test]
    fn seasonal_adherence_at_the_season_boundaries() {
        let at = |f: FeatureUse| {
            value(MeasureType::SeasonalAdherence, &AccountSignals { features: vec![f], ..signals() }, |m| {
                m.feature = Some("yea".into())
            })
        };
        assert_eq!(at(seasonal(false, 0, 5)), None, "before the season: no signal");
        assert_eq!(at(seasonal(true, 0, 5)), Some(0.0), "started, used last season, not this one");
        assert_eq!(at(seasonal(true, 2, 5)), Some(1.0));
        assert_eq!(at(seasonal(true, 0, 0)), None, "never used: no seasonal signal");
    }

    #[test]
    fn usage_contract_and_voice_measures_read_their_signals() {
        let s = AccountSignals {
            active_users_30d: 30,
            active_users_prev_30d: 40,
            seats: Some(60),
            features: vec![monthly(&[1, 1]), seasonal(true, 0, 1)],
            nps: Some(vec![(day("2026-01-01"), 4), (day("2026-10-01"), 9)]),
            tickets: Some(vec![
                TicketSignal { created: day("2026-11-01"), solved: None, urgent: true },
                TicketSignal { created: day("2026-11-02"), solved: Some(day("2026-11-03")), urgent: true },
                TicketSignal { created: day("2026-08-01"), solved: Some(day("2026-08-02")), urgent: false },
            ]),
            pulse: Some((day("2026-11-10"), 2)),
            next_renewal: Some(day("2027-01-19")),
            mrr_now: 80.0,
            mrr_90_days_ago: 100.0,
            ..signals()
        };
        assert_eq!(value(MeasureType::SeatActivation, &s, |_| {}), Some(0.5));
        assert_eq!(value(MeasureType::ActiveUserTrend, &s, |_| {}), Some(0.75));
        assert_eq!(value(MeasureType::Breadth, &s, |_| {}), Some(1.0), "the annual feature is not part of breadth");
        assert_eq!(value(MeasureType::NpsLatest, &s, |_| {}), Some(9.0));
        assert_eq!(value(MeasureType::NpsAverage, &s, |m| m.days = Some(365)), Some(6.5));
        assert_eq!(value(MeasureType::NpsAverage, &s, |m| m.days = Some(30)), None);
        assert_eq!(value(MeasureType::OpenUrgentTickets, &s, |_| {}), Some(1.0));
        assert_eq!(value(MeasureType::TicketTrend, &s, |_| {}), Some(2.0 / (1.0 / 6.0)));
        assert_eq!(value(MeasureType::CsmPulse, &s, |_| {}), Some(2.0));
        assert_eq!(value(MeasureType::CsmPulse, &s, |m| m.days = Some(5)), None, "an old pulse has expired");
        assert_eq!(value(MeasureType::DaysToRenewal, &s, |_| {}), Some(60.0));
        assert!((value(MeasureType::Contraction, &s, |_| {}).unwrap() - 0.2).abs() < 1e-9);
        let quiet = signals();
        assert_eq!(value(MeasureType::OpenUrgentTickets, &quiet, |_| {}), None, "no ticket data is not zero tickets");
        assert_eq!(value(MeasureType::SeatActivation, &quiet, |_| {}), None);
    }

    #[test]
    fn missing_measures_share_their_weight_and_too_few_give_unknown() {
        let s = AccountSignals { active_users_30d: 10, seats: Some(20), ..signals() };
        let measures = vec![spec("seats", MeasureType::SeatActivation, 1.0), spec("nps", MeasureType::NpsLatest, 3.0)];
        let health = score(&config(1), &card(measures.clone()), &s);
        assert_eq!(health.score, Some(50.0), "seat activation alone carries all the weight");
        assert_eq!(health.measures[0].share, Some(1.0));
        assert_eq!(health.measures[1].share, None);
        assert_eq!((health.measures_available, health.measures_total), (1, 2));
        assert_eq!(health.grade, "neutral");
        assert_eq!(health.drivers[0].en, "Seat activation 50% (10 of 20) (-50)");
        let unknown = score(&config(2), &card(measures), &s);
        assert_eq!((unknown.score, unknown.grade.as_str()), (None, UNKNOWN_GRADE), "too few measures is never healthy");
    }

    #[test]
    fn thresholds_pick_the_highest_step_reached_and_piecewise_interpolates() {
        let steps = PointsMapping { thresholds: Some(vec![(0.0, 0.0), (0.66, 60.0), (1.0, 100.0)]), piecewise: None };
        assert_eq!(
            (steps.points(1.0), steps.points(0.7), steps.points(0.1), steps.points(-1.0)),
            (100.0, 60.0, 0.0, 0.0)
        );
        let line = PointsMapping { thresholds: None, piecewise: Some(vec![(0.5, 0.0), (1.0, 90.0), (1.2, 100.0)]) };
        assert_eq!((line.points(0.0), line.points(0.75), line.points(2.0)), (0.0, 45.0, 100.0));
    }
}
