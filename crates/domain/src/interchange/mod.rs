//! CSV interchange (shared/spec/import-formats.md): decoding, header checks, and the typed
//! records of each file. Pure: bytes in, records or a complete list of row errors out.

pub mod accounts;
pub mod contacts;
pub mod decode;
pub mod nps;
pub mod spend;
pub mod subscriptions;
pub mod table;
pub mod tickets;

pub use decode::{decode, Encoding};
pub use table::{RowError, Table};

use crate::validation::Reason;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

/// `YYYY-MM-DD` or `YYYY/MM/DD`.
pub fn parse_date(raw: &str) -> Result<NaiveDate, Reason> {
    let trimmed = raw.trim();
    NaiveDate::parse_from_str(trimmed, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(trimmed, "%Y/%m/%d"))
        .map_err(|_| Reason::InvalidDate)
}

/// A date, or an RFC 3339 timestamp taken as its calendar day in the workspace time zone
/// (survey tools and help desks export timestamps, usually in UTC). Every RFC 3339 timestamp
/// has a `:` in its time; a cell with one was meant as a timestamp, so its error says what a
/// timestamp looks like.
pub fn parse_day(raw: &str, zone: Tz) -> Result<NaiveDate, Reason> {
    let trimmed = raw.trim();
    if !trimmed.contains(':') {
        return parse_date(trimmed);
    }
    DateTime::parse_from_rfc3339(trimmed)
        .map(|at| crate::usage::local_day(at.with_timezone(&Utc), zone))
        .map_err(|_| Reason::InvalidTimestamp)
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

    #[test]
    fn a_timestamp_counts_on_its_day_in_the_workspace_time_zone() {
        let tokyo = chrono_tz::Asia::Tokyo;
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(parse_day("2025/04/01", tokyo), Ok(day("2025-04-01")));
        assert_eq!(parse_day("2025-03-31T16:30:00Z", tokyo), Ok(day("2025-04-01")));
        assert_eq!(parse_day("2025-03-31T16:30:00Z", chrono_tz::UTC), Ok(day("2025-03-31")));
        assert_eq!(parse_day("2025-04-01T09:00:00+09:00", tokyo), Ok(day("2025-04-01")));
        assert_eq!(parse_day("2025-04-01T25:00:00Z", tokyo), Err(Reason::InvalidTimestamp));
        assert_eq!(parse_day("April 1", tokyo), Err(Reason::InvalidDate));
    }
}
