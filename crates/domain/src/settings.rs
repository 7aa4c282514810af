//! Workspace-wide settings.

use crate::account::DEFAULT_STAGES;
use crate::money::Currency;
use crate::validation::Reason;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WorkspaceSettings {
    pub currency: Currency,
    /// IANA time zone name; calendar days are counted in it.
    pub time_zone: String,
    /// 1 = January … 12 = December; the month the fiscal year starts.
    pub fiscal_year_start_month: u32,
    #[schema(value_type = String, example = "1.0")]
    #[serde(with = "rust_decimal::serde::str")]
    pub gross_margin: Decimal,
    pub stages: Vec<String>,
}

impl Default for WorkspaceSettings {
    fn default() -> Self {
        WorkspaceSettings {
            currency: Currency::jpy(),
            time_zone: "Asia/Tokyo".into(),
            fiscal_year_start_month: 4,
            gross_margin: Decimal::ONE,
            stages: DEFAULT_STAGES.iter().map(|s| s.to_string()).collect(),
        }
    }
}

pub fn parse_fiscal_year_start_month(month: u32) -> Result<u32, Reason> {
    if (1..=12).contains(&month) {
        Ok(month)
    } else {
        Err(Reason::OutOfRange { min: "1".into(), max: "12".into() })
    }
}

pub fn parse_gross_margin(value: Decimal) -> Result<Decimal, Reason> {
    if value > Decimal::ZERO && value <= Decimal::ONE {
        Ok(value)
    } else {
        Err(Reason::OutOfRange { min: "0 (exclusive)".into(), max: "1".into() })
    }
}
