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
pub mod toml_errors;

pub use decode::{decode, encode, Encoding, ExportEncoding};
pub use table::{FileErrors, RowError, Table, MAX_REPORTED_ERRORS};

use crate::validation::Reason;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;

/// The days a date may name: a customer's history starts after the first and nothing is
/// planned past the last (a year like 9999 is a placeholder, and its arithmetic overflows).
pub const FIRST_DAY: &str = "1900-01-01";
pub const LAST_DAY: &str = "2199-12-31";
/// The years of [`FIRST_DAY`] to [`LAST_DAY`]: the window starts and ends with a whole year, so
/// a date's year says whether it is inside (no bound is parsed per cell).
pub const YEARS: std::ops::RangeInclusive<i32> = 1900..=2199;

/// `YYYY-MM-DD` or `YYYY/MM/DD`, between [`FIRST_DAY`] and [`LAST_DAY`].
pub fn parse_date(raw: &str) -> Result<NaiveDate, Reason> {
    let trimmed = raw.trim();
    let day = NaiveDate::parse_from_str(trimmed, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(trimmed, "%Y/%m/%d"))
        .map_err(|_| Reason::InvalidDate)?;
    if !YEARS.contains(&day.year()) {
        return Err(Reason::OutOfRange { min: FIRST_DAY.into(), max: LAST_DAY.into() });
    }
    Ok(day)
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

/// The first characters that make a spreadsheet read a cell as a formula (or, for tab and
/// carriage return, that spreadsheets strip before reading one).
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A cell a spreadsheet would take for a formula: it starts with `=`, `+`, `-`, `@`, tab or
/// carriage return, and is not a plain number such as `-1200.50`.
fn formula_like(cell: &str) -> bool {
    cell.starts_with(FORMULA_STARTS) && !plain_number(cell)
}

/// `-3`, `+1200.50`, `-0.5`, `-1e-7`: a sign, digits with at most one decimal point, and an
/// optional exponent.
fn plain_number(cell: &str) -> bool {
    let unsigned = cell.strip_prefix(['-', '+']).unwrap_or(cell);
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, Some(exponent.strip_prefix(['-', '+']).unwrap_or(exponent))),
        None => (unsigned, None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    !(whole.is_empty() && fraction.is_empty())
        && digits(whole)
        && digits(fraction)
        && exponent.is_none_or(|e| !e.is_empty() && digits(e))
}

/// Protects one cell of every CSV Kizuna writes from spreadsheet formula injection: a cell
/// that would be read as a formula gets a leading `'`; so does one that already starts with
/// quotes before such a text (`'=x` → `''=x`), so that [`restore_formula`] undoes exactly
/// this. Plain numbers (`-1200.50`) are left as they are.
pub fn neutralise_formula(cell: &str) -> std::borrow::Cow<'_, str> {
    if formula_like(cell.trim_start_matches('\'')) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// Reads a cell [`neutralise_formula`] wrote back as the original text: `'=SUM(A1)` is
/// `=SUM(A1)`, `''=x` is `'=x`; any other cell is unchanged.
pub fn restore_formula(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if formula_like(rest.trim_start_matches('\'')) => rest,
        _ => cell,
    }
}

/// Writes records as CSV with the given header; every value already formatted. Formula-like
/// cells are neutralised ([`neutralise_formula`]).
pub fn write_csv(header: &[String], rows: impl IntoIterator<Item = Vec<String>>) -> Result<String, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(header.iter().map(|cell| neutralise_formula(cell).into_owned()))?;
    for row in rows {
        writer.write_record(row.iter().map(|cell| neutralise_formula(cell).into_owned()))?;
    }
    let bytes = writer.into_inner().map_err(|e| csv::Error::from(e.into_error()))?;
    Ok(String::from_utf8(bytes).expect("csv writer only receives UTF-8 strings"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_get_a_quote_and_plain_numbers_do_not() {
        for (cell, written) in [
            ("=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"),
            ("+81 3 1234", "'+81 3 1234"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("-", "'-"),
            ("'=x", "''=x"),
            ("-1200.50", "-1200.50"),
            ("-3", "-3"),
            ("+7", "+7"),
            ("-.5", "-.5"),
            ("-1e-7", "-1e-7"),
            ("株式会社=", "株式会社="),
            ("'plain", "'plain"),
            ("'-3", "'-3"),
            ("", ""),
        ] {
            assert_eq!(neutralise_formula(cell), written, "{cell:?}");
            assert_eq!(restore_formula(&neutralise_formula(cell)), cell, "{cell:?} round trip");
        }
        assert_eq!(restore_formula("'=1+1"), "=1+1", "a quote typed by hand before a formula is dropped too");
        assert_eq!(restore_formula("'abc"), "'abc");
    }

    #[test]
    fn every_cell_of_a_written_file_is_neutralised() {
        let header = vec!["name".to_owned(), "amount".to_owned()];
        let written = write_csv(&header, [vec!["=1+1".to_owned(), "-12.5".to_owned()]]).unwrap();
        assert_eq!(written, "name,amount\n'=1+1,-12.5\n");
    }

    #[test]
    fn both_date_separators_are_accepted() {
        assert_eq!(parse_date("2025/04/01"), parse_date("2025-04-01"));
        assert_eq!(parse_date("01/04/2025"), Err(Reason::InvalidDate));
    }

    #[test]
    fn a_date_outside_any_customers_history_is_refused() {
        let outside = Err(Reason::OutOfRange { min: FIRST_DAY.into(), max: LAST_DAY.into() });
        for raw in ["0001-01-01", "1899-12-31", "2200-01-01", "9999-12-31", "+10000-01-01"] {
            assert!(matches!(parse_date(raw), Err(Reason::OutOfRange { .. }) | Err(Reason::InvalidDate)), "{raw}");
        }
        assert_eq!(parse_date("9999-12-31"), outside);
        assert!(parse_date(FIRST_DAY).is_ok() && parse_date(LAST_DAY).is_ok());
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
