//! Backtest arithmetic: given scores computed as of past days and whether each account churned
//! within the horizon after, how well the scores separated churners.

use serde::Serialize;

/// One account scored as of one past day.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub as_of: chrono::NaiveDate,
    pub score: Option<f64>,
    pub grade: String,
    pub churned: bool,
    /// The account's id: held-out folds keep an account's observations together.
    pub account: i64,
    /// Points of each measure, in the order of the report's measure keys (`None`: no data).
    pub points: Vec<Option<f64>>,
}

/// Accounts and churn among observations in one band of a measure's points.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BandOutcome {
    pub accounts: usize,
    pub churned: usize,
    pub churn_rate: Option<f64>,
}

/// How well one measure alone separated churners.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MeasureBacktest {
    pub key: String,
    /// AUC of the measure's points alone, over observations where it had data.
    pub auc: Option<f64>,
    /// Share of observations in which the measure had data.
    pub coverage: Option<f64>,
    /// Points below 50.
    pub low: BandOutcome,
    /// Points of 50 or more.
    pub high: BandOutcome,
}

/// Where a measure's points split into the low and high band.
pub const BAND_SPLIT: f64 = 50.0;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct GradeOutcome {
    pub grade: String,
    pub accounts: usize,
    pub churned: usize,
    pub churn_rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ScoreBucket {
    /// Scores from `from` (inclusive) to `from + 10` (exclusive; 100 belongs to 90–100).
    pub from: u32,
    pub accounts: usize,
    pub churned: usize,
    pub churn_rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BacktestReport {
    pub observations: usize,
    pub churned: usize,
    pub churn_rate: Option<f64>,
    /// Probability that a churner scored below a retained account (ties count half); 0.5 is
    /// chance, 1 perfect. Over observations that have a score.
    pub auc: Option<f64>,
    pub by_grade: Vec<GradeOutcome>,
    /// Churn rate of the worst grade ÷ the overall churn rate.
    pub worst_grade_lift: Option<f64>,
    pub calibration: Vec<ScoreBucket>,
    /// Each measure's own AUC, coverage and churn in its low and high band.
    pub measures: Vec<MeasureBacktest>,
    /// Weights fitted from this history; absent with too few churners.
    pub suggested: Option<super::fit::SuggestedWeights>,
}

fn band(points: &[(f64, bool)]) -> BandOutcome {
    let churned = points.iter().filter(|(_, c)| *c).count();
    BandOutcome { accounts: points.len(), churned, churn_rate: rate(churned, points.len()) }
}

fn measure_backtest(key: &str, index: usize, observations: &[Observation]) -> MeasureBacktest {
    let known: Vec<(f64, bool)> =
        observations.iter().filter_map(|o| o.points.get(index).copied().flatten().map(|p| (p, o.churned))).collect();
    let low: Vec<(f64, bool)> = known.iter().copied().filter(|(p, _)| *p < BAND_SPLIT).collect();
    let high: Vec<(f64, bool)> = known.iter().copied().filter(|(p, _)| *p >= BAND_SPLIT).collect();
    MeasureBacktest {
        key: key.to_owned(),
        auc: auc(&known),
        coverage: (!observations.is_empty()).then(|| known.len() as f64 / observations.len() as f64),
        low: band(&low),
        high: band(&high),
    }
}

fn rate(churned: usize, accounts: usize) -> Option<f64> {
    (accounts > 0).then(|| churned as f64 / accounts as f64)
}

/// AUC by ranks (Mann–Whitney), with lower scores meaning more risk.
pub fn auc(scored: &[(f64, bool)]) -> Option<f64> {
    let churners = scored.iter().filter(|(_, c)| *c).count();
    let retained = scored.len() - churners;
    if churners == 0 || retained == 0 {
        return None;
    }
    let mut sorted: Vec<(f64, bool)> = scored.to_vec();
    sorted.sort_by(|a, b| b.0.total_cmp(&a.0));
    // Rank from the highest score: a churner's rank counts retained accounts scored above it.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j < sorted.len() && sorted[j].0 == sorted[i].0 {
            j += 1;
        }
        let average_rank = (i + j + 1) as f64 / 2.0;
        rank_sum += sorted[i..j].iter().filter(|(_, c)| *c).count() as f64 * average_rank;
        i = j;
    }
    let u = rank_sum - (churners * (churners + 1)) as f64 / 2.0;
    Some(u / (churners * retained) as f64)
}

/// The report over all observations; `grades` lists grade keys best first (`unknown` is added),
/// `measures` the keys of the observations' points.
pub fn report(observations: &[Observation], grades: &[String], measures: &[String]) -> BacktestReport {
    let churned = observations.iter().filter(|o| o.churned).count();
    let overall = rate(churned, observations.len());
    let scored: Vec<(f64, bool)> = observations.iter().filter_map(|o| o.score.map(|s| (s, o.churned))).collect();
    let by_grade: Vec<GradeOutcome> = grades
        .iter()
        .cloned()
        .chain(std::iter::once(super::score::UNKNOWN_GRADE.to_owned()))
        .map(|grade| {
            let of: Vec<&Observation> = observations.iter().filter(|o| o.grade == grade).collect();
            let c = of.iter().filter(|o| o.churned).count();
            GradeOutcome { churn_rate: rate(c, of.len()), grade, accounts: of.len(), churned: c }
        })
        .collect();
    let worst = grades.last().and_then(|g| by_grade.iter().find(|o| &o.grade == g));
    let calibration = (0..10)
        .map(|bucket| {
            let in_bucket: Vec<&(f64, bool)> =
                scored.iter().filter(|(s, _)| ((*s / 10.0).floor() as u32).min(9) == bucket).collect();
            let c = in_bucket.iter().filter(|(_, churned)| *churned).count();
            ScoreBucket {
                from: bucket * 10,
                accounts: in_bucket.len(),
                churned: c,
                churn_rate: rate(c, in_bucket.len()),
            }
        })
        .collect();
    BacktestReport {
        observations: observations.len(),
        churned,
        churn_rate: overall,
        auc: auc(&scored),
        worst_grade_lift: worst.and_then(|w| w.churn_rate).zip(overall.filter(|o| *o > 0.0)).map(|(w, o)| w / o),
        by_grade,
        calibration,
        measures: measures.iter().enumerate().map(|(i, key)| measure_backtest(key, i, observations)).collect(),
        suggested: super::fit::suggest_weights(measures, observations),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_is_one_when_every_churner_scores_lowest_and_half_on_ties() {
        assert_eq!(auc(&[(10.0, true), (20.0, true), (80.0, false), (90.0, false)]), Some(1.0));
        assert_eq!(auc(&[(90.0, true), (10.0, false)]), Some(0.0));
        assert_eq!(auc(&[(50.0, true), (50.0, false)]), Some(0.5));
        assert_eq!(auc(&[(50.0, false)]), None);
    }

    #[test]
    fn report_gives_churn_per_grade_lift_and_calibration() {
        let o = |score: f64, grade: &str, churned: bool| Observation {
            as_of: chrono::NaiveDate::MIN,
            score: Some(score),
            grade: grade.into(),
            churned,
            account: 1,
            points: vec![Some(score), if churned { None } else { Some(100.0) }],
        };
        let observations = vec![
            o(90.0, "healthy", false),
            o(75.0, "healthy", false),
            o(50.0, "neutral", false),
            o(20.0, "at_risk", true),
            o(30.0, "at_risk", false),
        ];
        let grades = vec!["healthy".to_string(), "neutral".to_string(), "at_risk".to_string()];
        let r = report(&observations, &grades, &["usage".to_string(), "nps".to_string()]);
        assert_eq!(r.churn_rate, Some(0.2));
        assert_eq!(r.by_grade[2].churn_rate, Some(0.5));
        assert_eq!(r.worst_grade_lift, Some(2.5));
        assert_eq!(r.calibration[2].accounts, 1);
        assert_eq!(r.calibration[2].churned, 1);
        assert_eq!(r.auc, Some(1.0));
        assert_eq!(r.measures[0].auc, Some(1.0));
        assert_eq!((r.measures[0].low.accounts, r.measures[0].low.churned), (2, 1), "20 and 30 points");
        assert_eq!(r.measures[1].coverage, Some(0.8), "no data for the churner");
        assert_eq!(r.measures[1].auc, None, "no churner among the observations with data");
        assert_eq!(r.suggested, None, "one churner is too few to fit");
    }
}
