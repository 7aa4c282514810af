//! The KPI tree: the company's goals (KGIs such as NRR and churn) broken into the numbers each
//! team can move. A node is a monthly number Kizuna computes (from the subscription metrics or
//! NPS) or one a person enters; it has an owner team, a direction, and monthly targets. A parent
//! says how its children relate: their **sum**, their **ratio** (first ÷ second), or **drivers**
//! with no arithmetic. For sums and ratios the parent's change from one month to the next is split
//! into what each child contributed, exactly; for drivers, their correlation over the months shown.

use crate::i18n::{Lang, MAX_NAME_CHARS};
use crate::metrics::PeriodReport;
use crate::{FieldError, Reason};
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The most nodes one tree holds.
pub const MAX_NODES: usize = 100;

/// A number Kizuna computes for each month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// MRR on the month's last day.
    Mrr,
    /// ARR on the month's last day.
    Arr,
    /// Net revenue retention of the month (retained MRR of those paying at its start ÷ their MRR).
    Nrr,
    /// Gross revenue retention of the month.
    Grr,
    /// Accounts paying at the month's start and not at its end ÷ those paying at its start.
    LogoChurnRate,
    /// Net MRR change of the month: the sum of the five movements below.
    NetNewMrr,
    NewMrr,
    ExpansionMrr,
    ReactivationMrr,
    /// Negative, as in the movements table.
    ContractionMrr,
    /// Negative, as in the movements table.
    ChurnedMrr,
    NewAccounts,
    /// Accounts that expanded in the month.
    Expansions,
    ChurnedAccounts,
    /// Accounts paying on the month's last day.
    PayingAccounts,
    /// MRR ÷ paying accounts on the month's last day.
    Arpa,
    /// % promoters − % detractors among the month's NPS answers.
    Nps,
    /// NPS answers received in the month.
    NpsAnswers,
    /// Onboarding plans completed in the month.
    OnboardingsCompleted,
    /// Mean days from start to completion of the plans completed in the month.
    OnboardingDays,
    /// Of the onboarding plans whose last milestone was due in the month, the share completed by
    /// that day.
    OnboardingOnTime,
    /// Support tickets opened in the month.
    Tickets,
    /// Tickets opened in the month ÷ accounts paying on its last day.
    TicketsPerAccount,
    /// Mean, over the accounts paying on the month's last day, of active end users in the 30 days
    /// to that day ÷ seats.
    SeatActivation,
    /// Accounts paying on the month's last day that used a core feature (one used daily, weekly
    /// or monthly) in the month ÷ those accounts.
    CoreFeatureAdoption,
    /// Paying accounts in the best health grade on the month's last day ÷ paying accounts graded.
    HealthyShare,
    /// Paying accounts in the lowest health grade on the month's last day ÷ paying accounts graded.
    AtRiskShare,
    /// New-customer quality: of the accounts whose 90th day as customers fell in the month, the
    /// share in the best health grade on that day.
    NewCustomersHealthy,
    /// The month's renewals: 1 − |ARR kept (expansion aside) − ARR called commit or likely before
    /// the month| ÷ the ARR called (100% when the forecast was exactly right).
    RenewalForecastAccuracy,
}

/// How a node's number reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Money,
    /// A share, stored as a fraction (0.05 reads 5.0%).
    Percent,
    Count,
    /// A plain number (an NPS, days).
    Number,
}

/// A share typed without its `%` past this is a percentage (NRR `102` is 102%, not 10,200%): it
/// is refused rather than guessed.
const MAX_BARE_SHARE: f64 = 10.0;

/// A number a person typed for a node of this unit (blank: none): `102%` or `1.02` for a share,
/// a whole number for a count; thousands separators allowed.
pub fn parse_entered(raw: &str, unit: Unit) -> Result<Option<f64>, Reason> {
    let raw = raw.trim().replace(',', "");
    let (number, percent) = match raw.strip_suffix('%') {
        Some(number) => (number.trim(), true),
        None => (raw.as_str(), false),
    };
    if number.is_empty() {
        return Ok(None);
    }
    let value: f64 = number.parse().map_err(|_| Reason::InvalidDecimal)?;
    if !value.is_finite() {
        return Err(Reason::InvalidDecimal);
    }
    match unit {
        Unit::Percent if percent => Ok(Some(value / 100.0)),
        Unit::Percent if value.abs() > MAX_BARE_SHARE => {
            Err(Reason::BareShare { percent: format!("{number}%"), fraction: (value / 100.0).to_string() })
        }
        Unit::Count if percent || value.fract() != 0.0 => Err(Reason::InvalidInteger),
        _ if percent => Ok(Some(value / 100.0)),
        _ => Ok(Some(value)),
    }
}

impl Metric {
    pub const ALL: [Metric; 29] = [
        Metric::Mrr,
        Metric::Arr,
        Metric::Nrr,
        Metric::Grr,
        Metric::LogoChurnRate,
        Metric::NetNewMrr,
        Metric::NewMrr,
        Metric::ExpansionMrr,
        Metric::ReactivationMrr,
        Metric::ContractionMrr,
        Metric::ChurnedMrr,
        Metric::NewAccounts,
        Metric::Expansions,
        Metric::ChurnedAccounts,
        Metric::PayingAccounts,
        Metric::Arpa,
        Metric::Nps,
        Metric::NpsAnswers,
        Metric::OnboardingsCompleted,
        Metric::OnboardingDays,
        Metric::OnboardingOnTime,
        Metric::Tickets,
        Metric::TicketsPerAccount,
        Metric::SeatActivation,
        Metric::CoreFeatureAdoption,
        Metric::HealthyShare,
        Metric::AtRiskShare,
        Metric::NewCustomersHealthy,
        Metric::RenewalForecastAccuracy,
    ];

    pub fn unit(self) -> Unit {
        match self {
            Metric::Nrr
            | Metric::Grr
            | Metric::LogoChurnRate
            | Metric::OnboardingOnTime
            | Metric::SeatActivation
            | Metric::CoreFeatureAdoption
            | Metric::HealthyShare
            | Metric::AtRiskShare
            | Metric::NewCustomersHealthy
            | Metric::RenewalForecastAccuracy => Unit::Percent,
            Metric::NewAccounts
            | Metric::Tickets
            | Metric::Expansions
            | Metric::ChurnedAccounts
            | Metric::PayingAccounts
            | Metric::NpsAnswers
            | Metric::OnboardingsCompleted => Unit::Count,
            Metric::Nps | Metric::OnboardingDays | Metric::TicketsPerAccount => Unit::Number,
            _ => Unit::Money,
        }
    }

    /// What it measures, in words, in both languages.
    pub fn describe(self, lang: Lang) -> &'static str {
        let (ja, en) = match self {
            Metric::Mrr => ("月末の MRR（月次経常収益）", "MRR on the month's last day"),
            Metric::Arr => ("月末の ARR（MRR × 12）", "ARR (MRR × 12) on the month's last day"),
            Metric::Nrr => (
                "月初に課金していた顧客の月末 MRR ÷ 月初 MRR（拡大を含む売上維持率）",
                "MRR at month end of the accounts paying at its start ÷ their MRR at the start (net revenue retention)",
            ),
            Metric::Grr => (
                "同じ顧客の MRR のうち、拡大を除いて維持した割合（グロス売上維持率）",
                "The share of the same accounts' MRR kept, not counting expansion (gross revenue retention)",
            ),
            Metric::LogoChurnRate => (
                "月初に課金していて月末に課金していない顧客 ÷ 月初の課金顧客",
                "Accounts paying at the month's start and not at its end ÷ accounts paying at its start",
            ),
            Metric::NetNewMrr => (
                "その月の MRR の純増（新規 + 拡大 + 再開 − 縮小 − 解約）",
                "The month's net MRR change (new + expansion + reactivation − contraction − churn)",
            ),
            Metric::NewMrr => ("新規顧客の MRR", "MRR from new accounts"),
            Metric::ExpansionMrr => ("既存顧客の増額分の MRR", "MRR added by existing accounts"),
            Metric::ReactivationMrr => ("解約後に戻った顧客の MRR", "MRR from accounts that came back"),
            Metric::ContractionMrr => ("減額で失った MRR（負の値）", "MRR lost to downgrades (negative)"),
            Metric::ChurnedMrr => ("解約で失った MRR（負の値）", "MRR lost to churn (negative)"),
            Metric::NewAccounts => ("その月に初めて課金した顧客数", "Accounts whose first paying day is in the month"),
            Metric::Expansions => ("その月に増額した顧客数", "Accounts that expanded in the month"),
            Metric::ChurnedAccounts => ("その月に解約した顧客数", "Accounts that churned in the month"),
            Metric::PayingAccounts => ("月末に課金している顧客数", "Accounts paying on the month's last day"),
            Metric::Arpa => ("月末の顧客あたり MRR", "MRR per paying account on the month's last day"),
            Metric::Nps => (
                "その月の NPS 回答の推奨者の割合 − 批判者の割合（−100〜100）",
                "% promoters − % detractors among the month's NPS answers (−100 to 100)",
            ),
            Metric::NpsAnswers => ("その月の NPS 回答数", "NPS answers received in the month"),
            Metric::OnboardingsCompleted => {
                ("その月に完了したオンボーディング数", "Onboarding plans completed in the month")
            }
            Metric::OnboardingDays => (
                "その月に完了したオンボーディングの、開始から完了までの平均日数",
                "Mean days from start to completion of the onboarding plans completed in the month",
            ),
            Metric::OnboardingOnTime => (
                "最後のマイルストーンの期限がその月だったオンボーディングのうち、期限までに完了した割合",
                "Of the onboarding plans whose last milestone was due in the month, the share completed by that day",
            ),
            Metric::Tickets => ("その月に起票されたサポートチケット数", "Support tickets opened in the month"),
            Metric::TicketsPerAccount => (
                "その月のチケット数 ÷ 月末の課金顧客数",
                "Tickets opened in the month ÷ accounts paying on its last day",
            ),
            Metric::SeatActivation => (
                "月末の課金顧客ごとの「直近 30 日のアクティブユーザー ÷ 契約席数」の平均",
                "Mean over the accounts paying on the month's last day of active end users in the 30 days to it ÷ seats",
            ),
            Metric::CoreFeatureAdoption => (
                "月末の課金顧客のうち、その月にコア機能（日次・週次・月次で使う機能）を使った顧客の割合",
                "Share of the accounts paying on the month's last day that used a core feature (one used daily, weekly or monthly) in the month",
            ),
            Metric::HealthyShare => (
                "月末の課金顧客（ヘルスの評価あり）のうち、最も良いグレードの顧客の割合",
                "Share of the paying accounts graded on the month's last day that are in the best health grade",
            ),
            Metric::AtRiskShare => (
                "月末の課金顧客（ヘルスの評価あり）のうち、最も低いグレードの顧客の割合",
                "Share of the paying accounts graded on the month's last day that are in the lowest health grade",
            ),
            Metric::NewCustomersHealthy => (
                "新規顧客の質：課金開始から 90 日目がその月だった顧客のうち、その日に最も良いグレードだった割合",
                "New-customer quality: of the accounts whose 90th day as customers fell in the month, the share in the best health grade that day",
            ),
            Metric::RenewalForecastAccuracy => (
                "その月の更新について、月初前に「確約・見込み」とした ARR と、実際に維持した ARR（拡大分を除く）の一致度（1 − 誤差 ÷ 予測）",
                "For the month's renewals, how closely the ARR kept (expansion aside) matched the ARR called commit or likely before the month (1 − error ÷ forecast)",
            ),
        };
        lang.pick(ja, en)
    }

    /// Read from each account's state on a day (usage, tickets, health grades, renewal calls)
    /// rather than from the subscription metrics.
    pub fn reads_accounts(self) -> bool {
        matches!(
            self,
            Metric::Tickets
                | Metric::TicketsPerAccount
                | Metric::SeatActivation
                | Metric::CoreFeatureAdoption
                | Metric::HealthyShare
                | Metric::AtRiskShare
                | Metric::NewCustomersHealthy
                | Metric::RenewalForecastAccuracy
        )
    }

    /// The month's value from its metrics report (NPS comes from the answers instead).
    pub fn of_report(self, report: &PeriodReport) -> Option<f64> {
        let money = |m: crate::Money| m.0.to_f64();
        let rate = |r: Option<rust_decimal::Decimal>| r.and_then(|r| r.to_f64());
        let movements = &report.movements;
        match self {
            Metric::Mrr => money(report.mrr_end),
            Metric::Arr => money(report.arr_end),
            Metric::Nrr => rate(report.nrr),
            Metric::Grr => rate(report.grr),
            Metric::LogoChurnRate => rate(report.customer_churn_rate),
            Metric::NetNewMrr => money(movements.net()),
            Metric::NewMrr => money(movements.new.amount),
            Metric::ExpansionMrr => money(movements.expansion.amount),
            Metric::ReactivationMrr => money(movements.reactivation.amount),
            Metric::ContractionMrr => money(movements.contraction.amount),
            Metric::ChurnedMrr => money(movements.churn.amount),
            Metric::NewAccounts => Some(movements.new.count as f64),
            Metric::Expansions => Some(movements.expansion.count as f64),
            Metric::ChurnedAccounts => Some(report.churned_customers as f64),
            Metric::PayingAccounts => Some(report.customers_end as f64),
            Metric::Arpa => report.arpa.and_then(money),
            // Read from the answers, the onboarding plans or each account's state instead.
            _ => None,
        }
    }
}

/// NPS of a set of answers (0–10): % promoters (9–10) − % detractors (0–6).
pub fn nps_of(answers: &[i64]) -> Option<f64> {
    if answers.is_empty() {
        return None;
    }
    let promoters = answers.iter().filter(|a| **a >= 9).count() as f64;
    let detractors = answers.iter().filter(|a| **a <= 6).count() as f64;
    Some((promoters - detractors) / answers.len() as f64 * 100.0)
}

/// How close a renewal forecast came: 1 − |ARR kept − ARR called to stay| ÷ ARR called, at
/// least 0; `None` when nothing was called to stay.
pub fn forecast_accuracy(kept: f64, called: f64) -> Option<f64> {
    (called > 0.0).then(|| (1.0 - (kept - called).abs() / called).max(0.0))
}

/// The share of `part` in `whole`; `None` of nothing.
pub fn share(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// Which way is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Higher,
    Lower,
}

/// How a node's children make it up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// The node is the sum of its children.
    Sum,
    /// The node is its first child ÷ its second.
    Ratio,
    /// The children move the node, without arithmetic.
    Driver,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KpiNode {
    /// Letters, digits, `_` and `-`; unique in the tree.
    pub key: String,
    pub name_ja: String,
    pub name_en: String,
    /// A number Kizuna computes; without one, people enter it each month.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<Metric>,
    /// The unit of an entered number (a computed one has its metric's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<Unit>,
    pub direction: Direction,
    /// The team that owns it (e.g. "CS", "Sales", "Support", "Product").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The node it belongs under; none for a top goal (a KGI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// How this node's children make it up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub children_relation: Option<Relation>,
}

impl KpiNode {
    pub fn name(&self, lang: Lang) -> &str {
        lang.pick(&self.name_ja, &self.name_en)
    }

    pub fn unit(&self) -> Unit {
        self.metric.map_or(self.unit.unwrap_or(Unit::Number), Metric::unit)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KpiTree {
    #[serde(rename = "node")]
    pub nodes: Vec<KpiNode>,
}

fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 64
        && key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

impl KpiTree {
    pub fn node(&self, key: &str) -> Option<&KpiNode> {
        self.nodes.iter().find(|n| n.key == key)
    }

    /// The node's children, in the tree's order.
    pub fn children(&self, key: &str) -> Vec<&KpiNode> {
        self.nodes.iter().filter(|n| n.parent.as_deref() == Some(key)).collect()
    }

    /// The top goals: nodes without a parent.
    pub fn roots(&self) -> Vec<&KpiNode> {
        self.nodes.iter().filter(|n| n.parent.is_none()).collect()
    }

    /// Every problem, each naming its field (`node[2].parent`).
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut push = |field: String, reason: Reason| errors.push(FieldError::new(field, reason));
        if self.nodes.is_empty() {
            push("node".into(), Reason::Required);
        }
        if self.nodes.len() > MAX_NODES {
            push("node".into(), Reason::OutOfRange { min: "1".into(), max: MAX_NODES.to_string() });
        }
        let keys: BTreeSet<&str> = self.nodes.iter().map(|n| n.key.as_str()).collect();
        let mut seen = BTreeSet::new();
        for (i, node) in self.nodes.iter().enumerate() {
            let at = |name: &str| format!("node[{i}].{name}");
            if !valid_key(&node.key) {
                push(at("key"), Reason::Malformed { detail: "a-z, 0-9, _ and -, at most 64".into() });
            } else if !seen.insert(node.key.as_str()) {
                push(at("key"), Reason::AlreadyExists);
            }
            for (field, name) in [("name_ja", &node.name_ja), ("name_en", &node.name_en)] {
                if name.trim().is_empty() {
                    push(at(field), Reason::Required);
                } else if name.chars().count() > MAX_NAME_CHARS {
                    push(at(field), Reason::TooLong { max: MAX_NAME_CHARS });
                }
            }
            if node.metric.is_some() && node.unit.is_some() {
                push(at("unit"), Reason::OnlyWith { field: "metric", value: "absent" });
            }
            if node.owner.as_ref().is_some_and(|o| o.chars().count() > MAX_NAME_CHARS) {
                push(at("owner"), Reason::TooLong { max: MAX_NAME_CHARS });
            }
            match &node.parent {
                Some(parent) if parent == &node.key || !keys.contains(parent.as_str()) => {
                    push(at("parent"), Reason::UnknownReference);
                }
                _ => {}
            }
            let children = self.children(&node.key).len();
            match node.children_relation {
                Some(Relation::Ratio) if children != 2 => push(
                    at("children_relation"),
                    Reason::Malformed { detail: "a ratio has exactly two children: numerator, denominator".into() },
                ),
                None if children > 0 => push(at("children_relation"), Reason::Required),
                _ => {}
            }
        }
        // A parent chain that comes back to where it started.
        for (i, node) in self.nodes.iter().enumerate() {
            let mut steps = 0;
            let mut at = node.parent.as_deref();
            while let Some(key) = at {
                steps += 1;
                if key == node.key || steps > self.nodes.len() {
                    push(format!("node[{i}].parent"), Reason::Malformed { detail: "the parents form a loop".into() });
                    break;
                }
                at = self.node(key).and_then(|n| n.parent.as_deref());
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// How far from its target a number may be and still read "near" (a share of the target).
pub const NEAR_TARGET: f64 = 0.05;

/// Actual against target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    OnTarget,
    Near,
    OffTarget,
    /// No actual or no target.
    Unknown,
}

pub fn status(actual: Option<f64>, target: Option<f64>, direction: Direction) -> Status {
    let (Some(actual), Some(target)) = (actual, target) else { return Status::Unknown };
    let better = match direction {
        Direction::Higher => actual >= target,
        Direction::Lower => actual <= target,
    };
    if better {
        Status::OnTarget
    } else if (actual - target).abs() <= NEAR_TARGET * target.abs().max(f64::EPSILON) {
        Status::Near
    } else {
        Status::OffTarget
    }
}

/// How much of the parent's change from `before` to `after` each child explains. For a sum the
/// contributions are the children's own changes; for a ratio a ÷ b, the parent's change is split
/// by the children's log changes (ln a moved up, ln b moved down), so the parts add up to the
/// parent's change exactly. `None` when a value is missing or a ratio's part is not positive.
pub fn contributions(relation: Relation, children: &[(f64, f64)]) -> Option<Vec<f64>> {
    match relation {
        Relation::Sum => Some(children.iter().map(|(before, after)| after - before).collect()),
        Relation::Ratio => {
            let [(a0, a1), (b0, b1)] = children else { return None };
            if [*a0, *a1, *b0, *b1].iter().any(|v| *v <= 0.0 || !v.is_finite()) {
                return None;
            }
            let change = a1 / b1 - a0 / b0;
            let (log_a, log_b) = ((a1 / a0).ln(), (b1 / b0).ln());
            let total = log_a - log_b;
            if total.abs() < 1e-12 {
                // The ratio did not move; whatever its parts did cancels out.
                return Some(vec![0.0, 0.0]);
            }
            Some(vec![change * log_a / total, change * -log_b / total])
        }
        Relation::Driver => None,
    }
}

/// The fewest months a correlation is shown over: over three or four, two series that merely
/// both moved read as ±1.00.
pub const MIN_CORRELATION_MONTHS: usize = 6;

/// Pearson correlation of two series over the months both have, and how many those are; `None`
/// with fewer than [`MIN_CORRELATION_MONTHS`].
pub fn correlation(x: &[Option<f64>], y: &[Option<f64>]) -> Option<(f64, usize)> {
    let pairs: Vec<(f64, f64)> = x.iter().zip(y).filter_map(|(a, b)| Some(((*a)?, (*b)?))).collect();
    if pairs.len() < MIN_CORRELATION_MONTHS {
        return None;
    }
    let n = pairs.len() as f64;
    let (mx, my) = (pairs.iter().map(|p| p.0).sum::<f64>() / n, pairs.iter().map(|p| p.1).sum::<f64>() / n);
    let cov: f64 = pairs.iter().map(|(a, b)| (a - mx) * (b - my)).sum();
    let (vx, vy): (f64, f64) =
        (pairs.iter().map(|(a, _)| (a - mx).powi(2)).sum(), pairs.iter().map(|(_, b)| (b - my).powi(2)).sum());
    (vx > 0.0 && vy > 0.0).then(|| (cov / (vx.sqrt() * vy.sqrt()), pairs.len()))
}

/// Monthly numbers by node key and month (`YYYY-MM`): people's entries and targets.
pub type MonthlyValues = BTreeMap<String, BTreeMap<String, f64>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typed_number_is_read_by_its_nodes_unit_and_an_ambiguous_one_is_refused() {
        assert_eq!(parse_entered("102%", Unit::Percent), Ok(Some(1.02)));
        assert_eq!(parse_entered(" 1.02 ", Unit::Percent), Ok(Some(1.02)));
        let bare = Reason::BareShare { percent: "102%".into(), fraction: "1.02".into() };
        assert_eq!(parse_entered("102", Unit::Percent), Err(bare), "not 10,200%");
        assert_eq!(parse_entered("1,200", Unit::Count), Ok(Some(1200.0)));
        assert_eq!(parse_entered("2.5", Unit::Count), Err(Reason::InvalidInteger), "not rounded to 3");
        assert_eq!(parse_entered("abc", Unit::Money), Err(Reason::InvalidDecimal));
        assert_eq!(parse_entered("", Unit::Money), Ok(None));
        assert_eq!(parse_entered("NaN", Unit::Number), Err(Reason::InvalidDecimal));
    }
    use proptest::prelude::*;

    fn node(key: &str, parent: Option<&str>, relation: Option<Relation>) -> KpiNode {
        KpiNode {
            key: key.into(),
            name_ja: key.into(),
            name_en: key.into(),
            metric: None,
            unit: Some(Unit::Number),
            direction: Direction::Higher,
            owner: None,
            parent: parent.map(str::to_owned),
            children_relation: relation,
        }
    }

    #[test]
    fn a_tree_names_unknown_parents_loops_and_ratios_without_two_children() {
        let tree = KpiTree {
            nodes: vec![
                node("nrr", None, Some(Relation::Ratio)),
                node("a", Some("nrr"), None),
                node("b", Some("missing"), None),
                node("c", Some("d"), Some(Relation::Sum)),
                node("d", Some("c"), Some(Relation::Sum)),
            ],
        };
        let errors = tree.validate().unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"node[0].children_relation"), "{fields:?}");
        assert!(fields.contains(&"node[2].parent"), "{fields:?}");
        assert!(fields.contains(&"node[3].parent") && fields.contains(&"node[4].parent"), "{fields:?}");
    }

    #[test]
    fn status_reads_the_direction() {
        assert_eq!(status(Some(1.02), Some(1.0), Direction::Higher), Status::OnTarget);
        assert_eq!(status(Some(0.97), Some(1.0), Direction::Higher), Status::Near);
        assert_eq!(status(Some(0.02), Some(0.01), Direction::Lower), Status::OffTarget);
        assert_eq!(status(None, Some(1.0), Direction::Lower), Status::Unknown);
    }

    #[test]
    fn nps_is_promoters_minus_detractors() {
        assert_eq!(nps_of(&[10, 9, 8, 3]), Some(25.0));
        assert_eq!(nps_of(&[]), None);
    }

    #[test]
    fn forecast_accuracy_is_one_when_exactly_right_and_never_below_zero() {
        assert_eq!(forecast_accuracy(100.0, 100.0), Some(1.0));
        assert_eq!(forecast_accuracy(90.0, 100.0), Some(0.9));
        assert_eq!(forecast_accuracy(110.0, 100.0), Some(0.9));
        assert_eq!(forecast_accuracy(500.0, 100.0), Some(0.0));
        assert_eq!(forecast_accuracy(50.0, 0.0), None);
    }

    #[test]
    fn drivers_that_move_together_correlate_over_the_months_both_have() {
        let x = [Some(1.0), Some(2.0), None, Some(3.0), Some(4.0), Some(5.0), Some(6.0), Some(7.0)];
        let y = [Some(2.0), Some(4.1), Some(5.0), Some(6.0), Some(8.2), Some(9.9), Some(12.1), None];
        let (r, months) = correlation(&x, &y).unwrap();
        assert!(r > 0.99, "{r}");
        assert_eq!(months, 6);
    }

    #[test]
    fn a_few_months_give_no_correlation_however_neatly_they_line_up() {
        let x = [Some(0.80), Some(0.82), Some(0.85), Some(0.83), Some(0.86)];
        let y = [Some(1.02), Some(1.00), Some(0.97), Some(0.99), Some(0.96)];
        assert_eq!(correlation(&x, &y), None);
    }

    proptest! {
        #[test]
        fn sum_contributions_add_up_to_the_parents_change(children in prop::collection::vec((-1e6f64..1e6, -1e6f64..1e6), 1..8)) {
            let parts = contributions(Relation::Sum, &children).unwrap();
            let change: f64 = children.iter().map(|(_, a)| a).sum::<f64>() - children.iter().map(|(b, _)| b).sum::<f64>();
            prop_assert!((parts.iter().sum::<f64>() - change).abs() <= 1e-6 * (1.0 + change.abs()));
        }

        #[test]
        fn ratio_contributions_add_up_to_the_parents_change(a0 in 1e-3f64..1e6, a1 in 1e-3f64..1e6, b0 in 1e-3f64..1e6, b1 in 1e-3f64..1e6) {
            let parts = contributions(Relation::Ratio, &[(a0, a1), (b0, b1)]).unwrap();
            let change = a1 / b1 - a0 / b0;
            prop_assert!((parts[0] + parts[1] - change).abs() <= 1e-6 * (1.0 + change.abs()));
        }
    }
}
