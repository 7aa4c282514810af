//! The voice of the customer: NPS survey answers and support tickets, imported from the survey
//! tool and the help desk (import-formats.md, `nps.csv` and `tickets.csv`) and read by health
//! scoring.

use crate::i18n::{Lang, Text};
use crate::validation::Reason;
use chrono::NaiveDate;
use serde::Serialize;

/// The longest comment of an NPS answer (nps.csv), in characters.
pub const MAX_NPS_COMMENT: usize = 5_000;
/// The longest subject of a ticket (tickets.csv), in characters.
pub const MAX_TICKET_SUBJECT: usize = 1_000;

/// The lowest and highest answer to "how likely are you to recommend us?".
pub const NPS_SCORE_RANGE: std::ops::RangeInclusive<i64> = 0..=10;

/// An NPS score: a whole number from 0 to 10.
pub fn parse_nps_score(raw: &str) -> Result<i64, Reason> {
    let score: i64 = raw.trim().parse().map_err(|_| Reason::InvalidInteger)?;
    if NPS_SCORE_RANGE.contains(&score) {
        Ok(score)
    } else {
        Err(Reason::OutOfRange { min: NPS_SCORE_RANGE.start().to_string(), max: NPS_SCORE_RANGE.end().to_string() })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketPriority {
    Low,
    Normal,
    High,
    Urgent,
}

impl TicketPriority {
    pub const ALL: [TicketPriority; 4] = [Self::Low, Self::Normal, Self::High, Self::Urgent];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Normal => "normal",
            Self::High => "high",
            Self::Urgent => "urgent",
        }
    }

    pub fn name(self, lang: Lang) -> &'static str {
        match self {
            Self::Low => Text::new("低", "Low"),
            Self::Normal => Text::new("通常", "Normal"),
            Self::High => Text::new("高", "High"),
            Self::Urgent => Text::new("緊急", "Urgent"),
        }
        .pick(lang)
    }

    pub fn parse(raw: &str) -> Result<TicketPriority, Reason> {
        let wanted = raw.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == wanted)
            .ok_or_else(|| Reason::NotOneOf { allowed: Self::ALL.iter().map(|p| p.as_str().to_owned()).collect() })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    Open,
    Pending,
    Solved,
    Closed,
}

impl TicketStatus {
    pub const ALL: [TicketStatus; 4] = [Self::Open, Self::Pending, Self::Solved, Self::Closed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Pending => "pending",
            Self::Solved => "solved",
            Self::Closed => "closed",
        }
    }

    pub fn name(self, lang: Lang) -> &'static str {
        match self {
            Self::Open => Text::new("未対応", "Open"),
            Self::Pending => Text::new("保留", "Pending"),
            Self::Solved => Text::new("解決済み", "Solved"),
            Self::Closed => Text::new("クローズ", "Closed"),
        }
        .pick(lang)
    }

    pub fn parse(raw: &str) -> Result<TicketStatus, Reason> {
        let wanted = raw.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == wanted)
            .ok_or_else(|| Reason::NotOneOf { allowed: Self::ALL.iter().map(|s| s.as_str().to_owned()).collect() })
    }
}

/// What health scoring needs of one ticket: when it was opened and solved, how urgent it is and
/// where it stands. Days are in the workspace time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketRow {
    pub created_on: NaiveDate,
    pub solved_on: Option<NaiveDate>,
    pub priority: TicketPriority,
    pub status: TicketStatus,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_are_whole_numbers_from_zero_to_ten() {
        assert_eq!(parse_nps_score(" 0 "), Ok(0));
        assert_eq!(parse_nps_score("10"), Ok(10));
        assert_eq!(parse_nps_score("11"), Err(Reason::OutOfRange { min: "0".into(), max: "10".into() }));
        assert_eq!(parse_nps_score("-1"), Err(Reason::OutOfRange { min: "0".into(), max: "10".into() }));
        assert_eq!(parse_nps_score("7.5"), Err(Reason::InvalidInteger));
    }

    #[test]
    fn priority_and_status_ignore_case_and_list_what_is_allowed() {
        assert_eq!(TicketPriority::parse("Urgent"), Ok(TicketPriority::Urgent));
        assert_eq!(TicketStatus::parse(" CLOSED "), Ok(TicketStatus::Closed));
        assert_eq!(
            TicketStatus::parse("new"),
            Err(Reason::NotOneOf { allowed: vec!["open".into(), "pending".into(), "solved".into(), "closed".into()] })
        );
    }
}
