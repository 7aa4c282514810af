//! Scoring one account as of a day: each measure's value from the account's signals, its points,
//! weights redistributed over the measures that have data, the grade, and the explanation.

use super::activity::{ActivityWindow, BookPace};
use super::scorecard::{
    ActivityKey, ActivityScope, HealthConfig, MeasureSpec, MeasureType, Scorecard, DEFAULT_BASELINE_DAYS,
    DEFAULT_NPS_MAX_AGE_DAYS,
};
use crate::i18n::{day_in_sentence, Bilingual, Lang};
use crate::usage::{days_before, FeatureUse, Importance};
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::BTreeMap;

/// A support ticket as health reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
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
    /// MRR that many days before `as_of`, for each window a contraction measure or the renewal
    /// model reads.
    pub mrr_before: BTreeMap<u32, f64>,
    /// The usage windows the scorecard's activity trends read (see `HealthConfig::activity_keys`).
    pub activity: BTreeMap<ActivityKey, ActivityWindow>,
    /// The whole book's pace in the same windows, where enough accounts have one.
    pub book_pace: BTreeMap<ActivityKey, BookPace>,
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
    pub explanation: Bilingual,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct HealthScore {
    pub scorecard: String,
    pub as_of: NaiveDate,
    /// 0–100, one decimal; absent when too few measures had data.
    pub score: Option<f64>,
    /// A grade key, or `unknown`.
    pub grade: String,
    /// The critical measure that held the score and grade down, when one did.
    pub capped_by: Option<String>,
    pub measures_available: usize,
    pub measures_total: usize,
    pub measures: Vec<MeasureResult>,
    /// What cost the most points, worst first (at most three).
    pub drivers: Vec<Bilingual>,
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

/// How regularly the account used one feature in its recent expected periods.
fn cadence_adherence(f: &FeatureUse, wanted: usize, customer_since: Option<NaiveDate>) -> (Option<f64>, Bilingual) {
    let counted: Vec<_> = f
        .periods
        .iter()
        .rev()
        .filter(|p| p.complete || p.uses > 0)
        .filter(|p| customer_since.is_none_or(|since| p.start >= since))
        .take(wanted)
        .collect();
    if counted.is_empty() {
        return no_data(&f.name, &f.name_en);
    }
    let used = counted.iter().filter(|p| p.uses > 0).count();
    let (ja, en) = period_word(f.cadence);
    (
        Some(used as f64 / counted.len() as f64),
        Bilingual::new(
            format!("{}: 直近 {} {ja}のうち {used} {ja}で利用", f.name, counted.len()),
            format!("{}: used in {used} of the last {} {en}", f.name_en, counted.len()),
        ),
    )
}

/// Whether an annual feature's season went as the account's habit says: used this season (1),
/// or a season that should have seen use without it (0) — from the day the season opens until
/// the next one opens. Without a habit (never used) there is no signal.
fn seasonal_adherence(f: &FeatureUse) -> (Option<f64>, Bilingual) {
    let Some(season) = &f.season else { return no_data(&f.name, &f.name_en) };
    let (this, last, before_last) =
        (season.uses_this_season > 0, season.uses_last_season > 0, season.uses_season_before_last > 0);
    let (name, name_en) = (&f.name, &f.name_en);
    match (season.started, this, last, before_last) {
        (true, true, _, _) => {
            (Some(1.0), Bilingual::new(format!("{name}: 今シーズン利用済み"), format!("{name_en} used this season")))
        }
        (true, false, true, _) => (
            Some(0.0),
            Bilingual::new(
                format!("{name}: 昨シーズンは利用、今シーズンは未利用"),
                format!("{name_en} used last season, not yet this season"),
            ),
        ),
        (false, _, true, _) => (
            Some(1.0),
            Bilingual::new(format!("{name}: 前回のシーズンに利用"), format!("{name_en} used in the last season")),
        ),
        (_, false, false, true) => (
            Some(0.0),
            Bilingual::new(
                format!("{name}: 前回のシーズンは未利用（その前は利用）"),
                format!("{name_en} skipped the last season (used the one before)"),
            ),
        ),
        (false, _, false, _) => {
            (None, Bilingual::new(format!("{name}: シーズン開始前"), format!("{name_en}: season not started yet")))
        }
        (true, false, false, false) => no_data(name, name_en),
    }
}

fn no_data(ja: &str, en: &str) -> (Option<f64>, Bilingual) {
    (None, Bilingual::new(format!("{ja}: データなし"), format!("{en}: no data")))
}

/// The core features a scope of `core` reads: annual ones for seasonal adherence, the others
/// for cadence adherence.
fn core_features(s: &AccountSignals, annual: bool) -> impl Iterator<Item = &FeatureUse> {
    s.features.iter().filter(move |f| f.importance == Importance::Core && (f.cadence == "annual") == annual)
}

/// Adherence over the core features: the mean of those with data, explained by the weakest.
fn over_core_features(results: Vec<(Option<f64>, Bilingual)>, ja: &str, en: &str) -> (Option<f64>, Bilingual) {
    let known: Vec<(f64, Bilingual)> = results.into_iter().filter_map(|(v, e)| v.map(|v| (v, e))).collect();
    let Some((_, weakest)) = known.iter().min_by(|a, b| a.0.total_cmp(&b.0)) else { return no_data(ja, en) };
    let mean = known.iter().map(|(v, _)| v).sum::<f64>() / known.len() as f64;
    let pct = (mean * 100.0).round();
    (
        Some(mean),
        Bilingual::new(
            format!("{ja} {pct}%（{} 機能、最も低い: {}）", known.len(), weakest.ja),
            format!(
                "{en} {pct}% ({} feature{}; lowest: {})",
                known.len(),
                if known.len() == 1 { "" } else { "s" },
                weakest.en
            ),
        ),
    )
}

/// For a measure over the core features, the weakest of them: a critical rule applies to each
/// core feature, so one lapsed core job is a weakest link even when the others are in use.
fn weakest_core_feature(spec: &MeasureSpec, s: &AccountSignals) -> Option<(f64, Bilingual)> {
    if spec.feature.is_some() || spec.scope != Some(ActivityScope::Core) {
        return None;
    }
    let each: Vec<(Option<f64>, Bilingual)> = match spec.kind {
        MeasureType::CadenceAdherence => {
            core_features(s, false).map(|f| cadence_adherence(f, spec.periods.unwrap_or(3), s.customer_since)).collect()
        }
        MeasureType::SeasonalAdherence => core_features(s, true).map(seasonal_adherence).collect(),
        // Already the most overdue core feature.
        MeasureType::Overdue => return None,
        kind if kind.reads_usage_windows() => core_feature_trends(spec, s),
        _ => return None,
    };
    each.into_iter().filter_map(|(v, e)| v.map(|v| (v, e))).min_by(|a, b| a.0.total_cmp(&b.0))
}

/// What an activity trend counts, in words.
fn activity_subject(spec: &MeasureSpec, s: &AccountSignals) -> (String, String) {
    match (&spec.feature, spec.scope.unwrap_or_default()) {
        (Some(key), _) => feature(s, Some(key)).map_or_else(
            || (key.clone(), key.clone()),
            |f| (format!("{}の利用", f.name), format!("{} uses", f.name_en)),
        ),
        (None, ActivityScope::Core) => ("主要機能の利用".into(), "Core feature uses".into()),
        (None, ActivityScope::All) => ("利用".into(), "Usage".into()),
    }
}

/// Fewest uses of one core feature in the baseline for it to be judged on its own.
const MIN_FEATURE_BASELINE: f64 = 3.0;
/// One core feature used far more than usual cannot hide another that lapsed.
const MAX_FEATURE_RATIO: f64 = 2.0;

/// A usage, active-day or per-user trend: the recent rate against the account's own baseline.
/// Over the core features, each is compared with its own habit and the ratios averaged.
fn activity_trend(spec: &MeasureSpec, s: &AccountSignals) -> (Option<f64>, Bilingual) {
    if spec.feature.is_none() && spec.scope == Some(ActivityScope::Core) {
        let each = core_feature_trends(spec, s).into_iter().map(|(v, e)| (v.map(|v| v.min(MAX_FEATURE_RATIO)), e));
        let (subject_ja, subject_en) = activity_subject(spec, s);
        return over_core_features(each.collect(), &subject_ja, &subject_en);
    }
    let (subject_ja, subject_en) = activity_subject(spec, s);
    let Some(key) = spec.activity_key() else {
        return no_data(&subject_ja, &subject_en);
    };
    let Some(w) = s.activity.get(&key).copied() else {
        return no_data(&subject_ja, &subject_en);
    };
    window_trend(spec, w, s.book_pace.get(&key), spec.min_baseline(), &subject_ja, &subject_en)
}

/// One feature's own usage windows, as the measure's windows read it, with the book's pace in them.
fn feature_window<'s>(
    spec: &MeasureSpec,
    s: &'s AccountSignals,
    f: &FeatureUse,
) -> Option<(ActivityWindow, Option<&'s BookPace>)> {
    let key = spec.activity_key()?;
    let own = ActivityKey { feature: Some(f.feature.clone()), scope: ActivityScope::All, ..key };
    Some((s.activity.get(&own).copied()?, s.book_pace.get(&own)))
}

/// Half the baseline window at least, so a young account is not judged on its first weeks.
fn covers_baseline(spec: &MeasureSpec, w: &ActivityWindow) -> bool {
    w.baseline_days * 2 >= spec.baseline_days.unwrap_or(DEFAULT_BASELINE_DAYS).max(14)
}

/// No signal: too little history to compare with.
fn too_little_history(ja: &str, en: &str) -> (Option<f64>, Bilingual) {
    (
        None,
        Bilingual::new(format!("{ja}: 比較できる過去のデータが少ない"), format!("{en}: too little history to compare")),
    )
}

/// Each core (non-annual) feature's trend against its own baseline.
fn core_feature_trends(spec: &MeasureSpec, s: &AccountSignals) -> Vec<(Option<f64>, Bilingual)> {
    core_features(s, false)
        .map(|f| match feature_window(spec, s, f) {
            Some((w, pace)) => window_trend(spec, w, pace, MIN_FEATURE_BASELINE, &f.name, &f.name_en),
            None => no_data(&f.name, &f.name_en),
        })
        .collect()
}

/// The recent rate against the baseline's, as a ratio; while the whole book ran below its own
/// habit (`pace`), the ratio is read against that pace, and the explanation says so.
fn window_trend(
    spec: &MeasureSpec,
    w: ActivityWindow,
    pace: Option<&BookPace>,
    min_baseline: f64,
    subject_ja: &str,
    subject_en: &str,
) -> (Option<f64>, Bilingual) {
    let (subject_ja, subject_en) = (subject_ja.to_owned(), subject_en.to_owned());
    let recent_days = f64::from(w.recent_days.max(1));
    let baseline_days = f64::from(w.baseline_days);
    let covered = covers_baseline(spec, &w);
    let (recent, base) = (w.recent_days, w.baseline_days);
    // Counts read better than rounded daily rates (a monthly job is "0.0 a day" either way).
    let (base_amount, recent_rate, base_rate, ja, en) = match spec.kind {
        MeasureType::ActiveDaysTrend => (
            f64::from(w.baseline_active_days),
            f64::from(w.recent_active_days) / recent_days,
            f64::from(w.baseline_active_days) / baseline_days,
            format!(
                "{subject_ja}のあった日: 昨日までの {recent} 日のうち {} 日（その前の {base} 日のうち {} 日",
                w.recent_active_days, w.baseline_active_days
            ),
            format!(
                "Days with {}: {} of the {recent} days to yesterday ({} of the {base} days before",
                subject_en.to_lowercase(),
                w.recent_active_days,
                w.baseline_active_days
            ),
        ),
        MeasureType::UserActivityTrend => {
            let per_user = |uses: i64, users: u32| uses as f64 / f64::from(users.max(1));
            (
                if w.baseline_users == 0 { 0.0 } else { w.baseline_uses as f64 },
                per_user(w.recent_uses, w.recent_users) / recent_days,
                per_user(w.baseline_uses, w.baseline_users) / baseline_days,
                format!(
                    "{subject_ja}（1人あたり）: 昨日までの {recent} 日で {:.1} 回（その前の {base} 日で {:.1} 回",
                    per_user(w.recent_uses, w.recent_users),
                    per_user(w.baseline_uses, w.baseline_users)
                ),
                format!(
                    "{subject_en} per active user: {:.1} in the {recent} days to yesterday ({:.1} in the {base} days before",
                    per_user(w.recent_uses, w.recent_users),
                    per_user(w.baseline_uses, w.baseline_users)
                ),
            )
        }
        _ => (
            w.baseline_uses as f64,
            w.recent_uses as f64 / recent_days,
            w.baseline_uses as f64 / baseline_days,
            format!(
                "{subject_ja}: 昨日までの {recent} 日で {} 回（その前の {base} 日で {} 回",
                w.recent_uses, w.baseline_uses
            ),
            format!(
                "{subject_en}: {} in the {recent} days to yesterday ({} in the {base} days before",
                w.recent_uses, w.baseline_uses
            ),
        ),
    };
    let (what_ja, what_en) = (ja.split(':').next().unwrap_or_default(), en.split(':').next().unwrap_or_default());
    if !covered || base_amount < min_baseline || base_rate <= 0.0 {
        return too_little_history(what_ja, what_en);
    }
    let ratio = recent_rate / base_rate;
    let pct = (ratio * 100.0).round();
    let allowance = pace.map_or(1.0, |p| p.allowance(spec.kind));
    if allowance < 0.995 {
        let (book, net) = ((allowance * 100.0).round(), (ratio / allowance * 100.0).round());
        return (
            Some(ratio / allowance),
            Bilingual::new(
                format!("{ja}、通常のペースの {pct}%。全顧客も通常の {book}% だった期間のため、実質 {net}%）"),
                format!("{en}; {pct}% of the usual pace while the whole book ran at {book}% of its own: {net}% net)"),
            ),
        );
    }
    (Some(ratio), Bilingual::new(format!("{ja}、通常のペースの {pct}%）"), format!("{en}; {pct}% of the usual pace)")))
}

/// The shortest usual gap an overdue feature is judged against: a feature used every working
/// day would otherwise look three times overdue after a long weekend, and ten times after the
/// new year holidays.
const MIN_USUAL_GAP_DAYS: f64 = 7.0;

/// How overdue one feature is: days since its last use ÷ the account's usual days between uses
/// in the baseline window (`None` while the baseline is too thin to have a rhythm).
fn feature_overdue(spec: &MeasureSpec, s: &AccountSignals, f: &FeatureUse) -> (Option<f64>, Bilingual) {
    let window = feature_window(spec, s, f)
        .map(|(w, _)| w)
        .filter(|w| covers_baseline(spec, w) && f64::from(w.baseline_active_days) >= spec.min_baseline());
    let (Some(w), Some(last)) = (window, f.last_used) else { return too_little_history(&f.name, &f.name_en) };
    let usual = (f64::from(w.baseline_days) / f64::from(w.baseline_active_days)).max(MIN_USUAL_GAP_DAYS);
    let since = (s.as_of - last).num_days().max(0);
    let usual_days = usual.round();
    (
        Some(since as f64 / usual),
        Bilingual::new(
            format!("{}: 最後の利用から {since} 日（ふだんは約 {usual_days} 日ごと）", f.name),
            format!("{}: last used {since} days ago (usually about every {usual_days} days)", f.name_en),
        ),
    )
}

/// Days since last use against the account's own rhythm: one feature, or the most overdue core
/// feature (a core job that stopped is what the measure is for; an average would hide it).
fn overdue(spec: &MeasureSpec, s: &AccountSignals) -> (Option<f64>, Bilingual) {
    if spec.feature.is_some() {
        let Some(f) = feature(s, spec.feature.as_deref()) else { return no_data("機能", "Feature") };
        return feature_overdue(spec, s, f);
    }
    let each: Vec<(f64, Bilingual)> =
        core_features(s, false).map(|f| feature_overdue(spec, s, f)).filter_map(|(v, e)| v.map(|v| (v, e))).collect();
    match each.into_iter().max_by(|a, b| a.0.total_cmp(&b.0)) {
        Some((value, explanation)) => (Some(value), explanation),
        None => no_data("主要機能の利用", "Core feature uses"),
    }
}

/// The measure's value and its explanation; the value is `None` without data.
fn evaluate(spec: &MeasureSpec, s: &AccountSignals) -> (Option<f64>, Bilingual) {
    match spec.kind {
        MeasureType::CadenceAdherence => {
            let wanted = spec.periods.unwrap_or(3);
            if spec.feature.is_none() {
                let each = core_features(s, false).map(|f| cadence_adherence(f, wanted, s.customer_since)).collect();
                return over_core_features(each, "主要機能の周期どおりの利用", "Core features used on cadence");
            }
            let Some(f) = feature(s, spec.feature.as_deref()) else { return no_data("機能", "Feature") };
            cadence_adherence(f, wanted, s.customer_since)
        }
        MeasureType::SeasonalAdherence => {
            if spec.feature.is_none() {
                let each = core_features(s, true).map(seasonal_adherence).collect();
                return over_core_features(each, "季節の主要機能の利用", "Seasonal core features used");
            }
            let Some(f) = feature(s, spec.feature.as_deref()) else { return no_data("機能", "Feature") };
            seasonal_adherence(f)
        }
        MeasureType::UsageTrend | MeasureType::ActiveDaysTrend | MeasureType::UserActivityTrend => {
            activity_trend(spec, s)
        }
        MeasureType::Overdue => overdue(spec, s),
        MeasureType::SeatActivation => match s.seats.filter(|seats| *seats > 0) {
            Some(seats) => {
                let ratio = s.active_users_30d as f64 / seats as f64;
                let pct = (ratio * 100.0).round();
                (
                    Some(ratio),
                    Bilingual::new(
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
                Bilingual::new(
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
                Bilingual::new(
                    format!("直近30日に使われた主要機能: {used} / {}", core.len()),
                    format!("Core features used in the last 30 days: {used} of {}", core.len()),
                ),
            )
        }
        MeasureType::NpsLatest => match s.nps.as_ref().and_then(|answers| {
            let oldest = days_before(s.as_of, day_count(spec.days.unwrap_or(DEFAULT_NPS_MAX_AGE_DAYS) - 1));
            answers.iter().filter(|(day, _)| *day <= s.as_of && *day >= oldest).max_by_key(|(day, _)| *day)
        }) {
            Some((day, score)) => (
                Some(*score as f64),
                Bilingual::new(
                    format!("最新の NPS 回答: {score}（{}）", day_in_sentence(*day, Lang::Ja)),
                    format!("Latest NPS answer: {score} ({})", day_in_sentence(*day, Lang::En)),
                ),
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
                Bilingual::new(
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
                    Bilingual::new(
                        format!("未解決の高・緊急チケット {open} 件"),
                        format!("{open} open high or urgent tickets"),
                    ),
                )
            }
            None => no_data("サポート", "Support"),
        },
        MeasureType::RecentUrgentTickets => {
            let Some(tickets) = &s.tickets else { return no_data("サポート", "Support") };
            let days = spec.days.unwrap_or(90);
            let since = days_before(s.as_of, day_count(days - 1));
            let opened = tickets.iter().filter(|t| t.urgent && t.created >= since && t.created <= s.as_of).count();
            (
                Some(opened as f64),
                Bilingual::new(
                    format!("直近 {days} 日に起票された高・緊急チケット {opened} 件"),
                    format!("{opened} high or urgent tickets opened in the last {days} days"),
                ),
            )
        }
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
                Bilingual::new(
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
                    Bilingual::new(
                        format!("CSM の所感: {value} / 5（{}）", day_in_sentence(day, Lang::Ja)),
                        format!("CSM pulse: {value} of 5 ({})", day_in_sentence(day, Lang::En)),
                    ),
                ),
                None => no_data("CSM の所感", "CSM pulse"),
            }
        }
        MeasureType::DaysToRenewal => match s.next_renewal {
            Some(renewal) => {
                let days = (renewal - s.as_of).num_days();
                (Some(days as f64), Bilingual::new(format!("更新まで {days} 日"), format!("{days} days to renewal")))
            }
            None => no_data("更新", "Renewal"),
        },
        MeasureType::Contraction => {
            let days = spec.contraction_days();
            let before = s.mrr_before.get(&days).copied().unwrap_or(0.0);
            if before <= 0.0 {
                return no_data("MRR の縮小", "Contraction");
            }
            let lost = if s.mrr_now > 0.0 { ((before - s.mrr_now) / before).max(0.0) } else { 0.0 };
            let pct = (lost * 100.0).round();
            let text = if lost > 0.0 {
                Bilingual::new(
                    format!("直近{days}日で MRR が {pct}% 減少"),
                    format!("MRR down {pct}% in the last {days} days"),
                )
            } else {
                Bilingual::new(
                    format!("直近{days}日の MRR の縮小なし"),
                    format!("No MRR contraction in the last {days} days"),
                )
            };
            (Some(lost), text)
        }
    }
}

fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// Whether a trend stayed within 10% of the account's own baseline: not worth a driver.
fn unchanged(m: &MeasureResult) -> bool {
    m.kind.is_trend() && m.value.is_some_and(|v| (0.9..=1.1).contains(&v))
}

/// Scores an account with a scorecard. Measures without data are left out and their weight is
/// shared among the others; with fewer than `min_measures` left, the grade is `unknown`. A
/// critical measure below its floor holds the grade (and the score, so the two agree) at its
/// rule's grade or worse (the score is scaled into that grade's range), and is named first among
/// the drivers.
pub fn score(config: &HealthConfig, card: &Scorecard, signals: &AccountSignals) -> HealthScore {
    let evaluated: Vec<(&MeasureSpec, Option<f64>, Bilingual)> = card
        .measures
        .iter()
        .map(|spec| {
            let (value, explanation) = evaluate(spec, signals);
            (spec, value.filter(|v| v.is_finite()), explanation)
        })
        .collect();
    let available_weight: f64 = evaluated.iter().filter(|(_, v, _)| v.is_some()).map(|(s, _, _)| s.weight).sum();
    let available = evaluated.iter().filter(|(_, v, _)| v.is_some()).count();
    let mut breaches: Vec<(&MeasureSpec, Bilingual)> = Vec::new();
    let measures: Vec<MeasureResult> = evaluated
        .into_iter()
        .map(|(spec, value, explanation)| {
            let points = value.map(|v| spec.points.points(v));
            let share = value.map(|_| spec.weight / available_weight);
            if let (Some(rule), Some(p)) = (&spec.critical, points) {
                let weakest = value.and_then(|_| weakest_core_feature(spec, signals));
                match weakest {
                    Some((v, why)) if spec.points.points(v) < rule.below => breaches.push((spec, why)),
                    None if p < rule.below => breaches.push((spec, explanation.clone())),
                    _ => {}
                }
            }
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
    let mut score =
        enough.then(|| round1(measures.iter().filter_map(|m| m.points.zip(m.share)).map(|(p, w)| p * w).sum::<f64>()));
    // Grades run from the best to the worst, so the strictest cap has the highest position; it
    // holds the score whatever order the measures are listed in, and is named first.
    let mut caps: Vec<(usize, &MeasureSpec, &Bilingual)> = breaches
        .iter()
        .filter_map(|(spec, explanation)| {
            let rule = spec.critical.as_ref()?;
            let cap = config.grades.iter().position(|g| g.key == rule.grade)?;
            Some((cap, *spec, explanation))
        })
        .collect();
    caps.sort_by_key(|(cap, _, _)| std::cmp::Reverse(*cap));
    let mut capped_by = None;
    let mut held = None;
    if let Some((cap, spec, _)) = caps.first() {
        // Scaled into the capped grade (0 to just below the next better one) rather than cut at
        // its top: the score keeps moving with every other measure, and keeps its order.
        let ceiling = cap.checked_sub(1).map(|better| config.grades[better].min - 0.1);
        if let (Some(current), Some(ceiling)) = (score, ceiling) {
            score = Some(round1(current * ceiling / 100.0));
            held = score.map(|held| (current, held));
            capped_by = Some(spec.key.clone());
        }
    }
    let mut drivers = Vec::new();
    for (i, (cap, _, explanation)) in caps.iter().enumerate() {
        let (ja, en) = (&config.grades[*cap].name_ja, &config.grades[*cap].name_en);
        // The first (strictest) cap is the one that moved the score: say by how much, or the
        // score would not add up from the measures' points.
        let (held_ja, held_en) = match held.filter(|_| i == 0) {
            Some((before, after)) => {
                (format!("（スコア {before:.1} を {after:.1} に）"), format!(" (score {before:.1} held to {after:.1})"))
            }
            None => (String::new(), String::new()),
        };
        drivers.push(Bilingual::new(
            format!("重要指標が基準を下回ったため、グレードは「{ja}」以下{held_ja}: {}", explanation.ja),
            format!("A critical measure is below its floor, so the grade is at most {en}{held_en}: {}", explanation.en),
        ));
    }
    let grade = score.and_then(|s| config.grade_of(s)).map_or(UNKNOWN_GRADE.to_owned(), |g| g.key.clone());
    let mut costly: Vec<&MeasureResult> = measures
        .iter()
        .filter(|m| m.impact.is_some_and(|i| i <= -0.5) && !unchanged(m))
        .filter(|m| !breaches.iter().any(|(spec, _)| spec.key == m.key))
        .collect();
    costly.sort_by(|a, b| a.impact.unwrap_or(0.0).total_cmp(&b.impact.unwrap_or(0.0)));
    drivers.extend(costly.iter().take(3).map(|m| {
        let impact = m.impact.unwrap_or(0.0);
        Bilingual::new(
            format!("{}（{impact:+.0} 点）", m.explanation.ja),
            format!("{} ({impact:+.0} points)", m.explanation.en),
        )
    }));
    drivers.truncate(3);
    HealthScore {
        scorecard: card.key.clone(),
        as_of: signals.as_of,
        score,
        grade,
        capped_by,
        measures_available: available,
        measures_total: measures.len(),
        measures,
        drivers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::scorecard::{default_grades, CriticalRule, PointsMapping};
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
            scope: None,
            recent_days: None,
            baseline_days: None,
            min_baseline: None,
            critical: None,
        }
    }

    fn config(min_measures: usize) -> HealthConfig {
        HealthConfig { grades: default_grades(), min_measures, scorecards: Vec::new() }
    }

    fn card(measures: Vec<MeasureSpec>) -> Scorecard {
        Scorecard { key: "default".into(), name: "Default".into(), name_en: None, applies_to: None, measures }
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
            name_en: "Payslips".into(),
            cadence: "monthly",
            importance: Importance::Core,
            last_used: Some(day("2026-10-25")),
            periods,
            season: None,
        }
    }

    fn seasonal(started: bool, this: i64, last: i64) -> FeatureUse {
        seasonal_habit(started, this, last, 0)
    }

    fn seasonal_habit(started: bool, this: i64, last: i64, before_last: i64) -> FeatureUse {
        let period = |start: &str, end: &str| Period { start: day(start), end: day(end) };
        FeatureUse {
            feature: "yea".into(),
            name: "年末調整".into(),
            name_en: "Year-end adjustment".into(),
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
                uses_season_before_last: before_last,
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
        assert_eq!(at(seasonal(false, 0, 5)), Some(1.0), "before the season: the last one counts");
        assert_eq!(at(seasonal(false, 0, 0)), None, "before the season, without a habit: no signal");
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
            mrr_before: BTreeMap::from([(90, 100.0), (180, 160.0)]),
            ..signals()
        };
        assert_eq!(value(MeasureType::SeatActivation, &s, |_| {}), Some(0.5));
        assert_eq!(value(MeasureType::ActiveUserTrend, &s, |_| {}), Some(0.75));
        assert_eq!(value(MeasureType::Breadth, &s, |_| {}), Some(1.0), "the annual feature is not part of breadth");
        assert_eq!(value(MeasureType::NpsLatest, &s, |_| {}), Some(9.0));
        assert_eq!(value(MeasureType::NpsAverage, &s, |m| m.days = Some(365)), Some(6.5));
        assert_eq!(value(MeasureType::NpsAverage, &s, |m| m.days = Some(30)), None);
        assert_eq!(value(MeasureType::OpenUrgentTickets, &s, |_| {}), Some(1.0));
        assert_eq!(value(MeasureType::RecentUrgentTickets, &s, |_| {}), Some(2.0), "solved or not");
        assert_eq!(value(MeasureType::RecentUrgentTickets, &s, |m| m.days = Some(10)), Some(0.0));
        assert_eq!(value(MeasureType::TicketTrend, &s, |_| {}), Some(2.0 / (1.0 / 6.0)));
        assert_eq!(value(MeasureType::CsmPulse, &s, |_| {}), Some(2.0));
        assert_eq!(value(MeasureType::CsmPulse, &s, |m| m.days = Some(5)), None, "an old pulse has expired");
        assert_eq!(value(MeasureType::DaysToRenewal, &s, |_| {}), Some(60.0));
        assert!((value(MeasureType::Contraction, &s, |_| {}).unwrap() - 0.2).abs() < 1e-9);
        assert!((value(MeasureType::Contraction, &s, |m| m.days = Some(180)).unwrap() - 0.5).abs() < 1e-9);
        assert_eq!(value(MeasureType::Contraction, &s, |m| m.days = Some(365)), None, "not a customer a year ago");
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
        assert_eq!(health.drivers[0].en, "Seat activation 50% (10 of 20) (-50 points)");
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

    fn trend_signals(baseline_per_day: i64, recent_per_day: i64, baseline_days: u32) -> AccountSignals {
        let key = ActivityKey { feature: None, scope: ActivityScope::All, recent_days: 30, baseline_days: 90 };
        let window = ActivityWindow {
            recent_days: 30,
            recent_uses: recent_per_day * 30,
            recent_active_days: if recent_per_day > 0 { 30 } else { 0 },
            recent_users: 3,
            baseline_days,
            baseline_uses: baseline_per_day * i64::from(baseline_days),
            baseline_active_days: baseline_days,
            baseline_users: 3,
        };
        AccountSignals { activity: BTreeMap::from([(key, window)]), ..signals() }
    }

    #[test]
    fn usage_trend_compares_with_the_accounts_own_baseline_and_stays_silent_when_it_is_thin() {
        let falling = trend_signals(10, 7, 90);
        assert_eq!(value(MeasureType::UsageTrend, &falling, |_| {}), Some(0.7), "a 30% fall moves");
        let per_user = value(MeasureType::UserActivityTrend, &falling, |_| {});
        assert!(per_user.is_some_and(|v| (v - 0.7).abs() < 1e-9), "same users, less use each: {per_user:?}");
        assert_eq!(value(MeasureType::ActiveDaysTrend, &falling, |_| {}), Some(1.0));
        let steady = trend_signals(10, 10, 90);
        assert_eq!(value(MeasureType::UsageTrend, &steady, |_| {}), Some(1.0));
        let stopped = trend_signals(10, 0, 90);
        assert_eq!(value(MeasureType::UsageTrend, &stopped, |_| {}), Some(0.0));
        assert_eq!(value(MeasureType::ActiveDaysTrend, &stopped, |_| {}), Some(0.0));
        let young = trend_signals(10, 2, 20);
        assert_eq!(value(MeasureType::UsageTrend, &young, |_| {}), None, "20 days of history is too thin");
        let sparse = trend_signals(0, 2, 90);
        assert_eq!(value(MeasureType::UsageTrend, &sparse, |_| {}), None, "no baseline uses: no false alarm");
        assert_eq!(value(MeasureType::UsageTrend, &falling, |m| m.min_baseline = Some(5000.0)), None);
        assert_eq!(value(MeasureType::UsageTrend, &falling, |m| m.recent_days = Some(14)), None, "another window");
    }

    #[test]
    fn a_trend_is_read_against_the_books_pace_when_the_whole_book_is_quiet() {
        let key = ActivityKey { feature: None, scope: ActivityScope::All, recent_days: 30, baseline_days: 90 };
        let with_pace = |uses: f64| {
            let mut s = trend_signals(10, 6, 90);
            s.book_pace.insert(key.clone(), BookPace { uses, active_days: uses, per_user: uses });
            s
        };
        let quiet = with_pace(0.75);
        let adjusted = value(MeasureType::UsageTrend, &quiet, |_| {});
        assert!(adjusted.is_some_and(|v| (v - 0.8).abs() < 1e-9), "60% in a month the book ran at 75%: {adjusted:?}");
        let (_, why) = evaluate(&spec("m", MeasureType::UsageTrend, 1.0), &quiet);
        assert!(why.en.contains("whole book ran at 75%") && why.ja.contains("全顧客も通常の 75%"), "{why:?}");
        assert_eq!(value(MeasureType::UsageTrend, &with_pace(1.3), |_| {}), Some(0.6), "a busy book asks nothing more");
        let collapse = value(MeasureType::UsageTrend, &with_pace(0.2), |_| {});
        assert!(collapse.is_some_and(|v| (v - 1.2).abs() < 1e-9), "at most half is excused: {collapse:?}");
    }

    #[test]
    fn a_steady_trend_is_not_a_driver_and_a_falling_one_is() {
        let measures = vec![
            MeasureSpec {
                points: PointsMapping { thresholds: None, piecewise: Some(vec![(0.5, 0.0), (1.2, 100.0)]) },
                ..spec("usage", MeasureType::UsageTrend, 1.0)
            },
            spec("seats", MeasureType::SeatActivation, 1.0),
        ];
        let steady = AccountSignals { active_users_30d: 20, seats: Some(20), ..trend_signals(10, 10, 90) };
        let health = score(&config(1), &card(measures.clone()), &steady);
        assert!(health.measures[0].impact.is_some_and(|i| i < 0.0), "unchanged usage still scores below 100");
        assert!(health.drivers.is_empty(), "but it is not a reason: {:?}", health.drivers);
        let falling = AccountSignals { active_users_30d: 20, seats: Some(20), ..trend_signals(10, 6, 90) };
        let health = score(&config(1), &card(measures), &falling);
        assert_eq!(health.drivers.len(), 1);
        assert_eq!(
            health.drivers[0].en,
            "Usage: 180 in the 30 days to yesterday (900 in the 90 days before; 60% of the usual pace) (-43 points)"
        );
        assert_eq!(
            health.drivers[0].ja,
            "利用: 昨日までの 30 日で 180 回（その前の 90 日で 900 回、通常のペースの 60%）（-43 点）"
        );
    }

    #[test]
    fn a_critical_measure_below_its_floor_caps_the_grade_and_is_named_first() {
        let mut critical = spec("payslip", MeasureType::CadenceAdherence, 1.0);
        critical.feature = Some("payslip".into());
        critical.critical = Some(CriticalRule { below: 50.0, grade: "at_risk".into() });
        let measures = vec![critical, spec("seats", MeasureType::SeatActivation, 9.0)];
        let lapsed = AccountSignals {
            features: vec![monthly(&[0, 0, 0, 1])],
            active_users_30d: 20,
            seats: Some(20),
            ..signals()
        };
        let health = score(&config(1), &card(measures.clone()), &lapsed);
        // 33.3 and 100 points weighted 1:9 make 93.3, scaled into at risk (0–39.9).
        assert_eq!((health.score, health.grade.as_str()), (Some(37.2), "at_risk"), "93.3 points held below neutral");
        assert_eq!(health.capped_by.as_deref(), Some("payslip"));
        assert!(health.drivers[0]
            .en
            .starts_with("A critical measure is below its floor, so the grade is at most At risk (score 93.3 held to 37.2): Payslips"));
        assert!(health.drivers[0]
            .ja
            .starts_with("重要指標が基準を下回ったため、グレードは「リスク」以下（スコア 93.3 を 37.2 に）: "));
        let regular = AccountSignals { features: vec![monthly(&[1, 1, 1, 1])], ..lapsed };
        let health = score(&config(1), &card(measures), &regular);
        assert_eq!((health.score, health.grade.as_str(), health.capped_by), (Some(100.0), "healthy", None));
    }

    #[test]
    fn the_strictest_breached_cap_holds_the_grade_whatever_the_measure_order() {
        let mut pulse = spec("pulse", MeasureType::CsmPulse, 1.0);
        pulse.points = PointsMapping { thresholds: None, piecewise: Some(vec![(1.0, 0.0), (5.0, 100.0)]) };
        pulse.critical = Some(CriticalRule { below: 30.0, grade: "neutral".into() });
        let mut payslip = spec("payslip", MeasureType::CadenceAdherence, 1.0);
        payslip.feature = Some("payslip".into());
        payslip.critical = Some(CriticalRule { below: 50.0, grade: "at_risk".into() });
        let both_lapsed =
            AccountSignals { features: vec![monthly(&[0, 0, 0, 1])], pulse: Some((day("2026-11-10"), 1)), ..signals() };
        let health = score(
            &config(1),
            &card(vec![pulse, payslip, spec("seats", MeasureType::SeatActivation, 8.0)]),
            &both_lapsed,
        );
        assert_eq!(health.grade, "at_risk", "{:?}", health.score);
        assert_eq!(health.capped_by.as_deref(), Some("payslip"));
        assert!(health.drivers[0].en.contains("at most At risk"), "{:?}", health.drivers);
        assert!(health.drivers[1].en.contains("at most Neutral"), "{:?}", health.drivers);
    }

    #[test]
    fn nps_latest_ignores_answers_older_than_its_days() {
        let s = AccountSignals { nps: Some(vec![(day("2026-03-01"), 2)]), ..signals() };
        assert_eq!(value(MeasureType::NpsLatest, &s, |_| {}), None, "264 days old: past the default 180");
        assert_eq!(value(MeasureType::NpsLatest, &s, |m| m.days = Some(365)), Some(2.0));
    }

    #[test]
    fn a_skipped_season_stays_negative_until_the_next_season_opens() {
        let at = |f: FeatureUse| {
            value(MeasureType::SeasonalAdherence, &AccountSignals { features: vec![f], ..signals() }, |m| {
                m.feature = Some("yea".into())
            })
        };
        // 31 January: in season, used last season, not this one.
        assert_eq!(at(seasonal_habit(true, 0, 5, 4)), Some(0.0));
        // 1 February: that season closed without use; the next opens in November.
        assert_eq!(at(seasonal_habit(false, 0, 0, 5)), Some(0.0));
        assert_eq!(at(seasonal_habit(false, 0, 5, 5)), Some(1.0), "a season used stays a good sign until the next");
        assert_eq!(at(seasonal_habit(false, 0, 0, 0)), None, "never used: no habit to break");
    }

    #[test]
    fn a_customer_who_started_during_last_season_and_used_it_has_a_last_season() {
        let s = AccountSignals {
            customer_since: Some(day("2025-12-01")),
            features: vec![seasonal(true, 0, 3)],
            ..signals()
        };
        assert_eq!(value(MeasureType::SeasonalAdherence, &s, |m| m.feature = Some("yea".into())), Some(0.0));
    }

    #[test]
    fn core_scope_averages_the_core_features_and_names_the_weakest() {
        let mut weekly = monthly(&[1, 1, 1, 1]);
        weekly.feature = "approvals".into();
        weekly.name_en = "Approvals".into();
        let s = AccountSignals { features: vec![monthly(&[0, 0, 0, 0]), weekly], ..signals() };
        let mut m = spec("core", MeasureType::CadenceAdherence, 1.0);
        m.scope = Some(ActivityScope::Core);
        let (value, explanation) = evaluate(&m, &s);
        assert_eq!(value, Some(0.5));
        assert!(explanation.en.contains("lowest: Payslips: used in 0 of the last 3 months"), "{}", explanation.en);
        m.critical = Some(CriticalRule { below: 1.0, grade: "at_risk".into() });
        let health = score(&config(1), &card(vec![m]), &s);
        assert_eq!(health.score, Some(20.0), "50 points on average, but one core job lapsed entirely");
        assert!(health.drivers[0].en.ends_with("Payslips: used in 0 of the last 3 months"), "{:?}", health.drivers);
    }

    /// A core feature last used on `last` (days before 2026-11-20), used on `active` of the 180
    /// days before the last 30.
    fn overdue_signals(last: Option<u64>, active: u32) -> AccountSignals {
        let feature = FeatureUse { last_used: last.map(|d| days_before(day("2026-11-20"), d)), ..monthly(&[1, 1, 1]) };
        let key = ActivityKey {
            feature: Some("payslip".into()),
            scope: ActivityScope::All,
            recent_days: 30,
            baseline_days: 180,
        };
        let window = ActivityWindow {
            recent_days: 30,
            recent_uses: 0,
            recent_active_days: 0,
            recent_users: 0,
            baseline_days: 180,
            baseline_uses: i64::from(active),
            baseline_active_days: active,
            baseline_users: 1,
        };
        AccountSignals { features: vec![feature], activity: BTreeMap::from([(key, window)]), ..signals() }
    }

    fn overdue_of(s: &AccountSignals) -> (Option<f64>, Bilingual) {
        let mut m = spec("m", MeasureType::Overdue, 1.0);
        m.scope = Some(ActivityScope::Core);
        m.baseline_days = Some(180);
        evaluate(&m, s)
    }

    #[test]
    fn overdue_is_days_since_last_use_against_the_accounts_own_rhythm() {
        let (on_time, _) = overdue_of(&overdue_signals(Some(20), 6));
        assert_eq!(on_time, Some(20.0 / 30.0), "a monthly job done 20 days ago is on time");
        let (late, why) = overdue_of(&overdue_signals(Some(45), 6));
        assert_eq!(late, Some(1.5), "the monthly job stopped: half a month overdue");
        assert_eq!(why.en, "Payslips: last used 45 days ago (usually about every 30 days)");
        assert_eq!(why.ja, "給与明細: 最後の利用から 45 日（ふだんは約 30 日ごと）");
        let (daily, _) = overdue_of(&overdue_signals(Some(4), 120));
        assert_eq!(daily, Some(4.0 / 7.0), "a daily job after a long weekend is judged against a week");
        assert_eq!(overdue_of(&overdue_signals(Some(45), 2)).0, None, "two uses are no rhythm: no false alarm");
        assert_eq!(overdue_of(&AccountSignals { activity: BTreeMap::new(), ..overdue_signals(Some(45), 6) }).0, None);
    }

    #[test]
    fn overdue_over_the_core_features_is_the_most_overdue_one() {
        let mut s = overdue_signals(Some(10), 6);
        let stopped = FeatureUse {
            feature: "close".into(),
            name: "月次締め".into(),
            name_en: "Monthly close".into(),
            last_used: Some(days_before(s.as_of, 90)),
            ..monthly(&[1])
        };
        let key = ActivityKey {
            feature: Some("close".into()),
            scope: ActivityScope::All,
            recent_days: 30,
            baseline_days: 180,
        };
        let window = *s.activity.values().next().unwrap();
        s.features.push(stopped);
        s.activity.insert(key, window);
        let (value, why) = overdue_of(&s);
        assert_eq!(value, Some(3.0));
        assert!(why.en.starts_with("Monthly close: last used 90 days ago"), "{why:?}");
    }
}
