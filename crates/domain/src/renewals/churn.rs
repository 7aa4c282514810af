//! Churn probability at renewal: a logistic regression (linfa) over what is known on a day —
//! health score and each of its scorecard's measures, active users, usage against its own usual
//! pace, days since last use, contraction, tenure, size, the CSM's pulse, and when the customer
//! can leave (a committed term ending within the next 90 days, or no commitment at all) — for
//! "does the customer leave within 90 days". It learns from every paying account on the first of
//! each past month (many more examples than renewals alone, which a small workspace has few of),
//! sampled evenly when there are more than `MAX_FIT_EXAMPLES`, and it is judged where it is used:
//! backtested out of time on the renewals after a cut-off, seen 30, 60 and 90 days before each,
//! with a model fitted only on what was known by the cut-off. Each prediction comes with the
//! facts that raised it most, as sentences.

use crate::health::backtest::auc;
use crate::i18n::Bilingual;
use crate::ids::AccountId;
use chrono::{Datelike, NaiveDate};
use linfa::prelude::*;
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2};
use serde::Serialize;
use std::collections::HashSet;

/// Fewer examples (or churns among them) than this and the model says it cannot predict.
pub const MIN_EXAMPLES: usize = 30;
pub const MIN_CHURNS: usize = 5;
/// A larger history is fitted on an even sample of about this many examples: a few dozen
/// coefficients are settled long before, and each solver step reads every example.
pub const MAX_FIT_EXAMPLES: usize = 100_000;
/// Below this probability a renewal is safe and no reasons are named: the facts that raise a
/// small probability a little read as warnings they are not.
pub const REASONS_FROM: f64 = 0.10;
/// The days after a scoring day in which a churn counts.
pub const HORIZON_DAYS: u64 = 90;
/// L2 weight: the workspace's history is small; keep coefficients modest.
const ALPHA: f64 = 1.0;
/// The inputs every model has, before the health measures'.
const FACT_INPUTS: usize = 10;
/// At most this many health measures become inputs (the first ones of the scorecards).
pub const MAX_MEASURE_INPUTS: usize = 40;

/// What is known about an account on the scoring day, for one of its renewals.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RenewalFacts {
    /// Health score 0–100 on the scoring day; `None` when it could not be scored.
    pub health_score: Option<f64>,
    /// Active users in the 30 days to the scoring day against the 30 before; `None` when both are 0.
    pub active_users_ratio: Option<f64>,
    /// Days from the last tracked activity to the scoring day; `None` when never active.
    pub days_inactive: Option<i64>,
    /// MRR on the scoring day against 90 days before, as a change (−0.2 = 20% less).
    pub mrr_change_90d: f64,
    /// Years from the first paying day to the renewal.
    pub tenure_years: f64,
    /// ARR up for renewal.
    pub arr: f64,
    /// A committed term longer than a month ends within `HORIZON_DAYS`: the customer can leave
    /// at its end.
    pub renewal_due: bool,
    /// No committed term: the customer can leave at any month's end.
    pub month_to_month: bool,
    /// The latest CSM pulse, 1–5.
    pub pulse: Option<i64>,
    /// Uses per day in the last 30 days against the 180 before; `None` when that is too thin.
    pub usage_ratio: Option<f64>,
    /// The points (0–100) of each health measure the model reads, in its order; `None` when the
    /// measure had no data or is not on the account's scorecard. A score hides which measure
    /// fell; a renewal lost to a skipped season and one lost to fading use look alike in it.
    pub measures: Vec<Option<f32>>,
}

impl RenewalFacts {
    /// The model's inputs, each on a scale where 0 is unremarkable; missing facts are neutral,
    /// and a measure without data is `None` (the fit reads it as the examples' average).
    fn inputs(&self) -> Vec<Option<f64>> {
        let facts = [
            self.health_score.map_or(0.5, |s| s / 100.0),
            self.active_users_ratio.map_or(0.0, |r| r.clamp(0.05, 20.0).ln()),
            self.days_inactive.map_or(1.0, |d| d.clamp(0, 180) as f64 / 180.0),
            self.mrr_change_90d.clamp(-1.0, 1.0),
            (1.0 + self.tenure_years.max(0.0)).ln(),
            self.arr.max(1.0).log10(),
            if self.renewal_due { 1.0 } else { 0.0 },
            self.pulse.map_or(0.0, |p| (p as f64 - 3.0) / 2.0),
            self.usage_ratio.map_or(0.0, |r| r.clamp(0.05, 20.0).ln()),
            if self.month_to_month { 1.0 } else { 0.0 },
        ];
        let measures = self.measures.iter().map(|points| points.map(|p| f64::from(p) / 100.0));
        facts.into_iter().map(Some).chain(measures).collect()
    }
}

/// An account seen on one day: the facts then and whether it left by `outcome_by` (the end of
/// the horizon, or the renewal date for a renewal example).
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub account_id: AccountId,
    pub day: NaiveDate,
    pub outcome_by: NaiveDate,
    pub facts: RenewalFacts,
    pub churned: bool,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitError {
    #[error("{have} examples; at least {need} are needed")]
    TooFewExamples { have: usize, need: usize },
    #[error("{have} churns among the examples; at least {need} are needed")]
    TooFewChurns { have: usize, need: usize },
    #[error("the model could not be fitted: {0}")]
    Solver(String),
}

impl FitError {
    /// Why there is no prediction, for the pages.
    pub fn explain(&self) -> Bilingual {
        match self {
            FitError::TooFewExamples { have, need } => Bilingual::new(
                format!("学習に使える過去の記録（顧客×月）が {have} 件しかないため、まだ予測できません（{need} 件以上必要です）。"),
                format!("Cannot predict yet: {have} past account-months to learn from, at least {need} needed."),
            ),
            FitError::TooFewChurns { have, need } => Bilingual::new(
                format!("過去の記録のうち解約に至ったものが {have} 件しかないため、まだ予測できません（{need} 件以上必要です）。"),
                format!("Cannot predict yet: {have} of the past account-months were followed by a churn, at least {need} needed."),
            ),
            FitError::Solver(detail) => Bilingual::new(
                format!("モデルを学習できませんでした: {detail}"),
                format!("The model could not be fitted: {detail}"),
            ),
        }
    }
}

/// A fitted model: standardisation and coefficients, one per input (the facts, then the
/// measures).
#[derive(Debug, Clone, PartialEq)]
pub struct ChurnModel {
    means: Vec<f64>,
    scales: Vec<f64>,
    weights: Vec<f64>,
    intercept: f64,
    /// The examples it learned from, and how many were followed by a churn.
    pub examples: usize,
    pub churns: usize,
}

/// A prediction for one renewal.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ChurnEstimate {
    pub probability: f64,
    /// The facts that raised the probability most, strongest first (at most three).
    pub reasons: Vec<Bilingual>,
}

impl ChurnModel {
    pub fn fit<'a>(examples: impl IntoIterator<Item = &'a Example>) -> Result<ChurnModel, FitError> {
        let examples = even_sample(examples.into_iter().collect(), MAX_FIT_EXAMPLES);
        let churns = examples.iter().filter(|e| e.churned).count();
        if examples.len() < MIN_EXAMPLES {
            return Err(FitError::TooFewExamples { have: examples.len(), need: MIN_EXAMPLES });
        }
        if churns < MIN_CHURNS || examples.len() - churns < MIN_CHURNS {
            return Err(FitError::TooFewChurns { have: churns, need: MIN_CHURNS });
        }
        // Two passes over the examples instead of a copy of every input: a large book has
        // millions of account-months, and the fit's matrix is the one copy it needs.
        let width = examples.iter().map(|e| FACT_INPUTS + e.facts.measures.len()).max().unwrap_or(FACT_INPUTS);
        let (mut count, mut sum, mut squares) = (vec![0usize; width], vec![0.0; width], vec![0.0; width]);
        for example in &examples {
            for (i, x) in example.facts.inputs().into_iter().enumerate() {
                if let Some(x) = x {
                    count[i] += 1;
                    sum[i] += x;
                    squares[i] += x * x;
                }
            }
        }
        let mut means = vec![0.0; width];
        let mut scales = vec![1.0; width];
        for i in (0..width).filter(|i| count[*i] > 0) {
            let n = count[i] as f64;
            means[i] = sum[i] / n;
            let variance = (squares[i] / n - means[i] * means[i]).max(0.0);
            scales[i] = if variance > 1e-12 { variance.sqrt() } else { 1.0 };
        }
        let mut records = Array2::zeros((examples.len(), width));
        for (mut row, example) in records.rows_mut().into_iter().zip(&examples) {
            for (i, x) in example.facts.inputs().into_iter().enumerate() {
                if let Some(x) = x {
                    row[i] = (x - means[i]) / scales[i];
                }
            }
        }
        let targets: Array1<bool> = examples.iter().map(|e| e.churned).collect();
        let fitted = LogisticRegression::default()
            .alpha(ALPHA)
            .max_iterations(200)
            .fit(&Dataset::new(records, targets))
            .map_err(|e| FitError::Solver(e.to_string()))?;
        // linfa models the more frequent label as positive; churn is usually the rarer one.
        let sign = if fitted.labels().pos.class { 1.0 } else { -1.0 };
        let weights: Vec<f64> = fitted.params().iter().map(|p| sign * p).collect();
        let intercept = sign * fitted.intercept();
        Ok(ChurnModel { means, scales, weights, intercept, examples: examples.len(), churns })
    }

    /// Each input's push on the log-odds; a missing input (or one the facts lack) pushes nothing.
    fn contributions(&self, facts: &RenewalFacts) -> Vec<f64> {
        let inputs = facts.inputs();
        (0..self.weights.len())
            .map(|i| match inputs.get(i).copied().flatten() {
                Some(x) => self.weights[i] * (x - self.means[i]) / self.scales[i],
                None => 0.0,
            })
            .collect()
    }

    pub fn probability(&self, facts: &RenewalFacts) -> f64 {
        let z = self.intercept + self.contributions(facts).iter().sum::<f64>();
        1.0 / (1.0 + (-z).exp())
    }

    /// The probability and the facts that raised it most. `measure_reasons` says, in the
    /// measures' order, what each measure found for this account (its explanation on the health
    /// score); a measure that raised the probability is named by it.
    pub fn estimate(&self, facts: &RenewalFacts, measure_reasons: &[Option<Bilingual>]) -> ChurnEstimate {
        let contributions = self.contributions(facts);
        let probability = self.probability(facts);
        let mut raising: Vec<(usize, f64)> = contributions
            .iter()
            .copied()
            .enumerate()
            .filter(|(_, c)| probability >= REASONS_FROM && *c > 0.1)
            .collect();
        raising.sort_by(|a, b| b.1.total_cmp(&a.1));
        ChurnEstimate {
            probability,
            reasons: raising
                .into_iter()
                .filter_map(|(i, _)| match i.checked_sub(FACT_INPUTS) {
                    Some(measure) => measure_reasons.get(measure).cloned().flatten(),
                    None => reason(i, facts),
                })
                .take(3)
                .collect(),
        }
    }
}

/// About `max` of the examples (all of them when there are no more), the same ones on every
/// run: each is kept by a hash of its account and day, so the sample spreads over accounts and
/// months alike.
fn even_sample(examples: Vec<&Example>, max: usize) -> Vec<&Example> {
    if examples.len() <= max {
        return examples;
    }
    let keep = max as f64 / examples.len() as f64;
    let threshold = (keep * u64::MAX as f64) as u64;
    examples
        .into_iter()
        .filter(|e| {
            let mut h = (e.account_id.0 as u64) ^ ((e.day.num_days_from_ce() as u64) << 32);
            // splitmix64's finaliser: nearby accounts and days land far apart.
            h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            h ^= h >> 31;
            h <= threshold
        })
        .collect()
}

/// The renewals the examples are about, and how many of them churned.
fn distinct(examples: &[&Example]) -> (usize, usize) {
    let renewals: HashSet<(AccountId, NaiveDate, bool)> =
        examples.iter().map(|e| (e.account_id, e.outcome_by, e.churned)).collect();
    (renewals.len(), renewals.iter().filter(|(_, _, churned)| *churned).count())
}

fn percent(ratio: f64) -> String {
    format!("{:.0}%", ratio * 100.0)
}

/// The fact behind input `i`, as a sentence; none for the inputs saying when the customer can
/// leave (why there is a prediction at all, not a reason for it).
fn reason(i: usize, facts: &RenewalFacts) -> Option<Bilingual> {
    let sentence = match i {
        0 => match facts.health_score {
            Some(score) => Bilingual::new(format!("ヘルススコアが {score:.0}"), format!("Health score is {score:.0}")),
            None => Bilingual::new("ヘルススコアがまだありません", "No health score yet"),
        },
        1 => match facts.active_users_ratio {
            Some(r) if r < 1.0 => Bilingual::new(
                format!("直近30日のアクティブユーザーがその前の30日より {} 減少", percent(1.0 - r)),
                format!("Active users in the last 30 days down {} on the 30 before", percent(1.0 - r)),
            ),
            Some(r) => Bilingual::new(
                format!("直近30日のアクティブユーザーがその前の30日の {}", percent(r)),
                format!("Active users in the last 30 days at {} of the 30 before", percent(r)),
            ),
            None => Bilingual::new("直近60日にアクティブユーザーがいません", "No active users in the last 60 days"),
        },
        2 => match facts.days_inactive {
            Some(days) => {
                Bilingual::new(format!("最後の利用から {days} 日"), format!("{days} days since the last activity"))
            }
            None => Bilingual::new("製品の利用記録がありません", "No product activity on record"),
        },
        3 => Bilingual::new(
            format!("MRR が90日間で {}", signed_percent(facts.mrr_change_90d)),
            format!("MRR {} over 90 days", signed_percent(facts.mrr_change_90d)),
        ),
        4 => Bilingual::new(
            format!("契約期間（利用開始から）{:.1} 年", facts.tenure_years),
            format!("Customer for {:.1} years", facts.tenure_years),
        ),
        5 => Bilingual::new(
            format!("更新対象 ARR の規模（{:.0}）", facts.arr),
            format!("Size of the ARR up for renewal ({:.0})", facts.arr),
        ),
        7 => match facts.pulse {
            Some(p) => Bilingual::new(format!("CSM の評価（パルス）が {p}/5"), format!("CSM pulse is {p}/5")),
            None => Bilingual::new("CSM の評価（パルス）がありません", "No CSM pulse"),
        },
        8 => match facts.usage_ratio {
            Some(r) => Bilingual::new(
                format!("直近30日の利用量がその前の180日の通常ペースの {}", percent(r)),
                format!("Usage in the last 30 days at {} of the usual pace of the 180 before", percent(r)),
            ),
            None => Bilingual::new("利用量を比べられる過去のデータが少ない", "Too little usage history to compare"),
        },
        _ => return None,
    };
    Some(sentence)
}

fn signed_percent(change: f64) -> String {
    format!("{:+.0}%", change * 100.0)
}

/// How well predicted probabilities matched what happened, per band of probability.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CalibrationBand {
    pub from: f64,
    pub to: f64,
    pub renewals: usize,
    pub predicted: Option<f64>,
    pub actual: Option<f64>,
}

/// An out-of-time backtest: fitted on what was known by `cutoff`, scored on the renewals after it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ChurnBacktest {
    pub cutoff: NaiveDate,
    /// Examples learned from (all known by the cut-off).
    pub trained_on: usize,
    /// Renewals after the cut-off (each seen on several days before it).
    pub tested_on: usize,
    pub churns_tested: usize,
    pub auc: Option<f64>,
    /// The health score alone on the same renewals, for comparison.
    pub health_auc: Option<f64>,
    pub calibration: Vec<CalibrationBand>,
    /// The whole book: every paying account on the first of each month after the cut-off, asked
    /// whether it leaves within the horizon. Far more examples than the renewals alone.
    pub book: BookBacktest,
}

/// The out-of-time backtest over every account-month after the cut-off.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BookBacktest {
    pub account_months: usize,
    pub churns: usize,
    pub auc: Option<f64>,
    pub health_auc: Option<f64>,
}

/// AUC of predicted probabilities (`scored`: probability, churned) and of the health score alone
/// over the same `examples`.
fn aucs(scored: &[(f64, bool)], examples: &[&Example]) -> (Option<f64>, Option<f64>) {
    let by_model: Vec<(f64, bool)> = scored.iter().map(|(p, churned)| (-p, *churned)).collect();
    let by_health: Vec<(f64, bool)> =
        examples.iter().filter_map(|e| Some((e.facts.health_score?, e.churned))).collect();
    (auc(&by_model), auc(&by_health))
}

/// Fits on the `observations` whose outcome was known by `cutoff` and scores the `renewals`
/// dated after it (their scoring days may fall before it: facts known then are fair), and the
/// observations scored after it.
pub fn backtest(observations: &[Example], renewals: &[Example], cutoff: NaiveDate) -> Result<ChurnBacktest, FitError> {
    let train = observations.iter().filter(|e| e.outcome_by <= cutoff);
    let trained_on = train.clone().count();
    let test: Vec<&Example> = renewals.iter().filter(|e| e.outcome_by > cutoff).collect();
    let later: Vec<&Example> = observations.iter().filter(|e| e.day > cutoff).collect();
    let model = ChurnModel::fit(train)?;
    let score = |examples: &[&Example]| -> Vec<(f64, bool)> {
        examples.iter().map(|e| (model.probability(&e.facts), e.churned)).collect()
    };
    let scored = score(&test);
    let (renewal_auc, health_auc) = aucs(&scored, &test);
    let (book_auc, book_health_auc) = aucs(&score(&later), &later);
    const BANDS: [f64; 6] = [0.0, 0.05, 0.1, 0.2, 0.4, 1.0];
    let calibration = BANDS
        .windows(2)
        .map(|band| {
            let inside: Vec<&(f64, bool)> =
                scored.iter().filter(|(p, _)| *p >= band[0] && (*p < band[1] || band[1] >= 1.0)).collect();
            let count = inside.len();
            CalibrationBand {
                from: band[0],
                to: band[1],
                renewals: count,
                predicted: (count > 0).then(|| inside.iter().map(|(p, _)| p).sum::<f64>() / count as f64),
                actual: (count > 0).then(|| inside.iter().filter(|(_, c)| *c).count() as f64 / count as f64),
            }
        })
        .collect();
    Ok(ChurnBacktest {
        cutoff,
        trained_on,
        tested_on: distinct(&test).0,
        churns_tested: distinct(&test).1,
        auc: renewal_auc,
        health_auc,
        calibration,
        book: BookBacktest {
            account_months: later.len(),
            churns: later.iter().filter(|e| e.churned).count(),
            auc: book_auc,
            health_auc: book_health_auc,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Account-days where low health and falling activity precede churn, with noise from a
    /// fixed sequence so the test is deterministic.
    fn history(n: usize) -> Vec<Example> {
        (0..n)
            .map(|i| {
                let health = ((i * 37) % 100) as f64;
                let noise = ((i * 53) % 17) as f64 - 8.0;
                let churned = health + noise * 3.0 < 30.0;
                let day = NaiveDate::from_ymd_opt(2022, 1, 1).unwrap() + chrono::Days::new(i as u64);
                Example {
                    account_id: AccountId(i as i64),
                    day,
                    outcome_by: day + chrono::Days::new(HORIZON_DAYS),
                    facts: RenewalFacts {
                        health_score: Some(health),
                        active_users_ratio: Some(if churned { 0.5 } else { 1.0 }),
                        days_inactive: Some(if churned { 20 } else { 2 }),
                        tenure_years: (i % 5) as f64,
                        arr: 1_000_000.0,
                        renewal_due: true,
                        ..RenewalFacts::default()
                    },
                    churned,
                }
            })
            .collect()
    }

    #[test]
    fn a_large_history_is_fitted_on_the_same_even_sample_every_time() {
        let examples = history(1_000);
        let refs: Vec<&Example> = examples.iter().collect();
        let sample = even_sample(refs.clone(), 300);
        assert!((250..=350).contains(&sample.len()), "about 300 of 1,000: {}", sample.len());
        assert_eq!(sample, even_sample(refs.clone(), 300), "the same examples on every run");
        let months: std::collections::BTreeSet<_> = sample.iter().map(|e| e.day.month()).collect();
        assert_eq!(months.len(), 12, "spread over the whole history");
        assert_eq!(even_sample(refs, 1_000).len(), 1_000, "a history within the limit is used whole");
    }

    #[test]
    fn too_little_history_is_refused_with_what_is_missing() {
        assert_eq!(ChurnModel::fit(&history(10)), Err(FitError::TooFewExamples { have: 10, need: MIN_EXAMPLES }));
        let mut calm = history(100);
        calm.iter_mut().for_each(|e| e.churned = false);
        assert!(matches!(ChurnModel::fit(&calm), Err(FitError::TooFewChurns { have: 0, .. })));
        assert!(FitError::TooFewChurns { have: 0, need: 8 }.explain().ja.contains("まだ予測できません"));
    }

    #[test]
    fn low_health_raises_the_probability_and_is_named_as_a_reason() {
        let model = ChurnModel::fit(&history(300)).unwrap();
        let healthy = RenewalFacts {
            health_score: Some(90.0),
            active_users_ratio: Some(1.1),
            days_inactive: Some(1),
            arr: 1e6,
            renewal_due: true,
            ..RenewalFacts::default()
        };
        let failing = RenewalFacts {
            health_score: Some(10.0),
            active_users_ratio: Some(0.4),
            days_inactive: Some(30),
            ..healthy.clone()
        };
        assert!(model.probability(&failing) > 0.5, "{}", model.probability(&failing));
        assert!(model.probability(&healthy) < 0.1, "{}", model.probability(&healthy));
        let estimate = model.estimate(&failing, &[]);
        assert!(estimate.reasons.iter().any(|r| r.en == "Health score is 10"), "{:?}", estimate.reasons);
        let safe = model.estimate(&RenewalFacts { health_score: Some(45.0), ..healthy }, &[]);
        assert!(safe.probability < REASONS_FROM, "{}", safe.probability);
        assert!(safe.reasons.is_empty(), "a safe renewal names no reasons: {:?}", safe.reasons);
    }

    #[test]
    fn the_backtest_learns_only_what_was_known_by_the_cutoff_and_scores_the_renewals_after_it() {
        let examples = history(300);
        let cutoff = examples[200].outcome_by;
        let renewals: Vec<Example> = examples[200..]
            .iter()
            .map(|e| Example { outcome_by: e.day + chrono::Days::new(200), ..e.clone() })
            .collect();
        let report = backtest(&examples, &renewals, cutoff).unwrap();
        assert_eq!((report.trained_on, report.tested_on), (201, 100));
        assert!(report.auc.unwrap() > 0.9, "{:?}", report.auc);
        assert_eq!(report.calibration.iter().map(|b| b.renewals).sum::<usize>(), 100);
        let scored_after_cutoff = examples.iter().filter(|e| e.day > cutoff).count();
        assert_eq!(report.book.account_months, scored_after_cutoff);
        assert!(report.book.auc.unwrap() > 0.9, "{:?}", report.book);
        assert!(report.health_auc.is_some() && report.book.health_auc.is_some());
    }

    #[test]
    fn when_the_customer_can_leave_is_never_given_as_a_reason() {
        let facts = RenewalFacts { renewal_due: true, month_to_month: true, ..RenewalFacts::default() };
        let inputs = facts.inputs();
        let exit_inputs: Vec<usize> =
            (0..FACT_INPUTS).filter(|i| inputs[*i] == Some(1.0) && reason(*i, &facts).is_none()).collect();
        assert_eq!(exit_inputs.len(), 2, "the renewal-due and month-to-month inputs have no sentence");
        assert!((0..FACT_INPUTS).filter(|i| !exit_inputs.contains(i)).all(|i| reason(i, &facts).is_some()));
    }

    #[test]
    fn a_health_measure_that_falls_before_churn_raises_the_probability_and_is_named_by_its_explanation() {
        // The score says nothing here; the second measure alone tells who leaves, and the first
        // has no data for a third of the accounts.
        let examples: Vec<Example> = history(300)
            .into_iter()
            .enumerate()
            .map(|(i, mut e)| {
                e.facts.health_score = Some(60.0);
                e.facts.active_users_ratio = None;
                e.facts.days_inactive = None;
                let noise = ((i * 29) % 11) as f32;
                let seasonal = if e.churned { 10.0 + noise } else { 80.0 + noise };
                e.facts.measures = vec![(i % 3 != 0).then_some(50.0 + noise), Some(seasonal)];
                e
            })
            .collect();
        let model = ChurnModel::fit(&examples).unwrap();
        let facts = |points: f32, first: Option<f32>| RenewalFacts {
            health_score: Some(60.0),
            arr: 1e6,
            renewal_due: true,
            measures: vec![first, Some(points)],
            ..RenewalFacts::default()
        };
        let skipped = Bilingual::new("確定申告の時期に利用なし", "No use in the tax-return season");
        let reasons = [None, Some(skipped.clone())];
        let falling = model.estimate(&facts(12.0, None), &reasons);
        let steady = model.estimate(&facts(85.0, Some(55.0)), &reasons);
        assert!(falling.probability > 0.5 && steady.probability < 0.1, "{falling:?} {steady:?}");
        assert_eq!(falling.reasons.first(), Some(&skipped), "the measure is named by what it found");
        let unmeasured = RenewalFacts { measures: vec![None, None], ..facts(12.0, None) };
        let older_scorecard = RenewalFacts { measures: vec![], ..facts(12.0, None) };
        assert_eq!(
            model.probability(&unmeasured),
            model.probability(&older_scorecard),
            "a measure without data counts as the examples' average, and so does one the facts lack"
        );
    }

    #[test]
    fn usage_below_its_usual_pace_is_named_with_the_share() {
        let facts = RenewalFacts { usage_ratio: Some(0.42), ..RenewalFacts::default() };
        let sentence = reason(8, &facts).unwrap();
        assert!(sentence.en.contains("42%") && sentence.ja.contains("42%"), "{sentence:?}");
    }
}
