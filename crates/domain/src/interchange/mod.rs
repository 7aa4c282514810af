//! CSV interchange (shared/spec/import-formats.md): decoding, header checks, and the typed
//! records of each file. Pure: bytes in, records or a complete list of row errors out.

pub mod accounts;
pub mod contacts;
pub mod decode;
pub mod spend;
pub mod subscriptions;
pub mod table;

pub use decode::{decode, Encoding};
pub use table::{RowError, Table};

use crate::validation::Reason;
use chrono::NaiveDate;

/// `YYYY-MM-DD` or `YYYY/MM/DD`.
pub fn parse_date(raw: &str) -> Result<NaiveDate, Reason> {
    let trimmed = raw.trim();
    NaiveDate::parse_from_str(trimmed, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(trimmed, "%Y/%m/%d"))
        .map_err(|_| Reason::InvalidDate)
}

pub fn parse_bool(raw: &str) -> Result<bool, Reason> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(Reason::InvalidBoolean),
    }
}

/// Writes records as CSV with the given header; every value already formatted.
pub fn write_csv(header: &[String], rows: impl IntoIterator<Item = Vec<String>>) -> Result<String, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(header)?;
    for row in rows {
        writer.write_record(&row)?;
    }
    let bytes = writer.into_inner().map_err(|e| csv::Error::from(e.into_error()))?;
    Ok(String::from_utf8(bytes).expect("csv writer only receives UTF-8 strings"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_date_separators_are_accepted() {
        assert_eq!(parse_date("2025/04/01"), parse_date("2025-04-01"));
        assert_eq!(parse_date("01/04/2025"), Err(Reason::InvalidDate));
    }
}
