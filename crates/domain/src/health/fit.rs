//! Suggested weights: a regularised logistic regression of churn on the measures' points over
//! the workspace's own history, turned into scorecard weights, with the AUC those weights reach
//! on accounts held out of the fit.

use super::backtest::{auc, Observation};
use linfa::prelude::*;
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2};
use serde::Serialize;

/// Fewer churners than this in the history and no weights are suggested: too little to learn from.
pub const MIN_CHURNERS: usize = 20;
/// The fit reads at most this many observations, evenly spread, so it stays quick at any size.
const MAX_ROWS: usize = 40_000;
const FOLDS: i64 = 5;
/// L2 penalty: measures that do not help shrink towards no weight rather than fitting noise.
const ALPHA: f64 = 1.0;
/// A measure with data in fewer than this share of the observations is left out of the fit:
/// the history says too little about it (a CSM pulse nobody records yet), so no weight is
/// suggested for it and it keeps the one it has.
pub const MIN_COVERAGE: f64 = 0.05;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SuggestedWeight {
    pub key: String,
    /// A positive whole weight (1 for a measure that did not help); none for a measure with
    /// data in fewer than `MIN_COVERAGE` of the observations, which keeps its current weight.
    pub weight: Option<u32>,
    /// Change in the log-odds of churn per 100 points of the measure: negative when more
    /// points mean less churn, as a health measure should. None when it was left out.
    pub coefficient: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SuggestedWeights {
    pub weights: Vec<SuggestedWeight>,
    /// AUC of scores with these weights on accounts left out of each fit (5 folds by account).
    pub cross_validated_auc: Option<f64>,
    pub observations: usize,
}

/// An observation's points of the fitted measures only.
fn fitted_points(o: &Observation, fitted: &[usize]) -> Vec<Option<f64>> {
    fitted.iter().map(|j| o.points.get(*j).copied().flatten()).collect()
}

/// A row per observation: each fitted measure's points ÷ 100, and a missing measure filled with
/// the mean of the others — what sharing its weight among them amounts to.
fn design(fitted: &[usize], rows: &[&Observation]) -> Array2<f64> {
    let mut x = Array2::zeros((rows.len(), fitted.len()));
    for (i, o) in rows.iter().enumerate() {
        let points = fitted_points(o, fitted);
        let known: Vec<f64> = points.iter().flatten().copied().collect();
        let mean = known.iter().sum::<f64>() / known.len().max(1) as f64;
        for (j, p) in points.iter().enumerate() {
            x[[i, j]] = p.unwrap_or(mean) / 100.0;
        }
    }
    x
}

/// Coefficients towards churn (positive: more churn), or `None` when the fit fails.
fn fit(x: &Array2<f64>, churned: &[bool]) -> Option<Vec<f64>> {
    let dataset = Dataset::new(x.clone(), Array1::from(churned.to_vec()));
    let model = LogisticRegression::default().alpha(ALPHA).max_iterations(200).fit(&dataset).ok()?;
    let towards_churn = if model.labels().pos.class { 1.0 } else { -1.0 };
    Some(model.params().iter().map(|b| b * towards_churn).collect())
}

/// Weights from coefficients: the protective ones (negative) in proportion, summing to 100; at
/// least 1, because a scorecard weight must be positive.
fn weights_of(coefficients: &[f64]) -> Vec<u32> {
    let protective: Vec<f64> = coefficients.iter().map(|b| (-b).max(0.0)).collect();
    let total: f64 = protective.iter().sum();
    protective.iter().map(|p| if total > 0.0 { ((p / total) * 100.0).round().max(1.0) as u32 } else { 1 }).collect()
}

/// The score the product gives with these weights: a weighted mean over the measures with data.
fn weighted_score(points: &[Option<f64>], weights: &[u32]) -> Option<f64> {
    let (sum, weight) = points
        .iter()
        .zip(weights)
        .filter_map(|(p, w)| p.map(|p| (p * f64::from(*w), f64::from(*w))))
        .fold((0.0, 0.0), |(s, t), (p, w)| (s + p, t + w));
    (weight > 0.0).then(|| sum / weight)
}

pub fn suggest_weights(keys: &[String], observations: &[Observation]) -> Option<SuggestedWeights> {
    let scored = observations.iter().filter(|o| o.points.iter().any(Option::is_some)).count();
    let fitted: Vec<usize> = (0..keys.len())
        .filter(|j| {
            let covered = observations.iter().filter(|o| o.points.get(*j).copied().flatten().is_some()).count();
            scored > 0 && covered as f64 >= MIN_COVERAGE * scored as f64
        })
        .collect();
    let with_data: Vec<&Observation> =
        observations.iter().filter(|o| fitted_points(o, &fitted).iter().any(Option::is_some)).collect();
    let step = with_data.len().div_ceil(MAX_ROWS).max(1);
    let rows: Vec<&Observation> = with_data.into_iter().step_by(step).collect();
    let churned: Vec<bool> = rows.iter().map(|o| o.churned).collect();
    if churned.iter().filter(|c| **c).count() < MIN_CHURNERS || churned.iter().all(|c| *c) {
        return None;
    }
    let x = design(&fitted, &rows);
    let coefficients = fit(&x, &churned)?;
    let mut held_out: Vec<(f64, bool)> = Vec::new();
    for fold in 0..FOLDS {
        let (train, test): (Vec<usize>, Vec<usize>) =
            (0..rows.len()).partition(|i| rows[*i].account.rem_euclid(FOLDS) != fold);
        let train_churned: Vec<bool> = train.iter().map(|i| churned[*i]).collect();
        if !train_churned.iter().any(|c| *c) || test.is_empty() {
            continue;
        }
        let Some(fold_coefficients) = fit(&x.select(ndarray::Axis(0), &train), &train_churned) else { continue };
        let fold_weights = weights_of(&fold_coefficients);
        held_out.extend(test.iter().filter_map(|i| {
            weighted_score(&fitted_points(rows[*i], &fitted), &fold_weights).map(|s| (s, churned[*i]))
        }));
    }
    let weights = weights_of(&coefficients);
    Some(SuggestedWeights {
        weights: keys
            .iter()
            .enumerate()
            .map(|(j, key)| {
                let column = fitted.iter().position(|f| *f == j);
                SuggestedWeight {
                    key: key.clone(),
                    weight: column.map(|c| weights[c]),
                    coefficient: column.map(|c| (coefficients[c] * 1000.0).round() / 1000.0),
                }
            })
            .collect(),
        cross_validated_auc: auc(&held_out),
        observations: rows.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Measure `a` separates churners, `b` is noise from the same deterministic sequence.
    fn history() -> Vec<Observation> {
        let mut state: u64 = 7;
        let mut next = move || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 33) as f64 / f64::from(u32::MAX >> 1)
        };
        (0..600)
            .map(|i| {
                let churned = i % 6 == 0;
                let a = if churned { 20.0 + 40.0 * next() } else { 50.0 + 50.0 * next() };
                let b = 100.0 * next();
                Observation {
                    as_of: chrono::NaiveDate::MIN,
                    score: None,
                    grade: "unknown".into(),
                    churned,
                    account: i,
                    points: vec![Some(a), Some(b)],
                }
            })
            .collect()
    }

    #[test]
    fn the_measure_that_separates_churners_gets_the_weight() {
        let keys = vec!["a".to_string(), "b".to_string()];
        let suggested = suggest_weights(&keys, &history()).expect("enough churners");
        assert!(suggested.weights[0].coefficient.is_some_and(|b| b < 0.0), "more points, less churn");
        assert!(suggested.weights[0].weight.is_some_and(|w| w > 80), "{:?}", suggested.weights);
        assert!(suggested.weights[1].weight.is_some_and(|w| w < 20), "{:?}", suggested.weights);
        assert!(suggested.cross_validated_auc.is_some_and(|auc| auc > 0.85), "{:?}", suggested.cross_validated_auc);
    }

    #[test]
    fn a_measure_the_history_barely_saw_gets_no_weight_and_keeps_its_own() {
        let keys = vec!["a".to_string(), "b".to_string(), "pulse".to_string()];
        let history: Vec<Observation> = history()
            .into_iter()
            .map(|mut o| {
                // A pulse recorded on one observation in fifty: under the coverage needed.
                let pulse = (o.account % 50 == 1).then_some(if o.churned { 10.0 } else { 90.0 });
                o.points.push(pulse);
                o
            })
            .collect();
        let suggested = suggest_weights(&keys, &history).expect("enough churners");
        assert_eq!((suggested.weights[2].weight, suggested.weights[2].coefficient), (None, None));
        assert!(suggested.weights[0].weight.is_some_and(|w| w > 80), "{:?}", suggested.weights);
        assert!(suggested.cross_validated_auc.is_some_and(|auc| auc > 0.85), "{:?}", suggested.cross_validated_auc);
    }

    #[test]
    fn too_few_churners_suggest_nothing() {
        let few: Vec<Observation> = history().into_iter().filter(|o| !o.churned || o.account < 60).collect();
        assert!(suggest_weights(&["a".into(), "b".into()], &few).is_none());
    }
}
