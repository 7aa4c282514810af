//! The CSM pulse: a manual 1–5 judgement of an account, with reason codes and a comment.

use crate::fields::FieldReader;
use crate::fields::Fields;
use crate::i18n::Text;
use crate::{FieldError, Reason};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PulseReason {
    ChampionLeft,
    LowEngagement,
    BudgetPressure,
    ProductGap,
    SupportIssues,
    Competitor,
    StrongRelationship,
    ExpansionInterest,
    Other,
}

impl PulseReason {
    pub const ALL: [PulseReason; 9] = [
        Self::ChampionLeft,
        Self::LowEngagement,
        Self::BudgetPressure,
        Self::ProductGap,
        Self::SupportIssues,
        Self::Competitor,
        Self::StrongRelationship,
        Self::ExpansionInterest,
        Self::Other,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::ChampionLeft => "champion_left",
            Self::LowEngagement => "low_engagement",
            Self::BudgetPressure => "budget_pressure",
            Self::ProductGap => "product_gap",
            Self::SupportIssues => "support_issues",
            Self::Competitor => "competitor",
            Self::StrongRelationship => "strong_relationship",
            Self::ExpansionInterest => "expansion_interest",
            Self::Other => "other",
        }
    }

    pub fn label(self) -> Text {
        match self {
            Self::ChampionLeft => Text::new("推進者の離脱", "Champion left"),
            Self::LowEngagement => Text::new("関与の低下", "Low engagement"),
            Self::BudgetPressure => Text::new("予算の圧迫", "Budget pressure"),
            Self::ProductGap => Text::new("機能の不足", "Product gap"),
            Self::SupportIssues => Text::new("サポート上の問題", "Support issues"),
            Self::Competitor => Text::new("競合の検討", "Competitor"),
            Self::StrongRelationship => Text::new("良好な関係", "Strong relationship"),
            Self::ExpansionInterest => Text::new("拡大への関心", "Expansion interest"),
            Self::Other => Text::new("その他", "Other"),
        }
    }

    pub fn parse(raw: &str) -> Result<PulseReason, Reason> {
        Self::ALL
            .into_iter()
            .find(|r| r.code() == raw.trim())
            .ok_or_else(|| Reason::NotOneOf { allowed: Self::ALL.iter().map(|r| r.code().to_owned()).collect() })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PulseInput {
    /// 1 (about to leave) to 5 (thriving).
    pub score: i64,
    pub reasons: Vec<PulseReason>,
    pub comment: Option<String>,
}

impl PulseInput {
    pub fn parse(value: Value) -> Result<PulseInput, Vec<FieldError>> {
        let reasons_value = value.get("reasons").cloned();
        let mut f = Fields::new(value, &["score", "reasons", "comment"])?;
        let score = f.required("score", |raw| {
            let n: i64 = raw.parse().map_err(|_| Reason::InvalidInteger)?;
            if (1..=5).contains(&n) {
                Ok(n)
            } else {
                Err(Reason::OutOfRange { min: "1".into(), max: "5".into() })
            }
        });
        let comment = f.text("comment", 2000);
        let reasons = match reasons_value {
            None | Some(Value::Null) => Some(Vec::new()),
            Some(Value::Array(items)) => {
                let parsed: Result<Vec<PulseReason>, Reason> = items
                    .iter()
                    .map(|item| {
                        item.as_str()
                            .ok_or(Reason::WrongType { expected: "a list of reason codes" })
                            .and_then(PulseReason::parse)
                    })
                    .collect();
                f.errors.check("reasons", parsed)
            }
            Some(_) => f.errors.check("reasons", Err(Reason::WrongType { expected: "a list of reason codes" })),
        };
        f.errors.finish(|| Some(PulseInput { score: score?, reasons: reasons?, comment: comment? }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_pulse_needs_a_score_from_one_to_five_and_known_reasons() {
        let pulse =
            PulseInput::parse(json!({"score": 2, "reasons": ["champion_left"], "comment": "担当者が退職"})).unwrap();
        assert_eq!((pulse.score, pulse.reasons), (2, vec![PulseReason::ChampionLeft]));
        let errors = PulseInput::parse(json!({"score": 7, "reasons": ["bored"]})).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["score", "reasons"]);
    }
}
