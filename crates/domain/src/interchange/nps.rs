//! nps.csv — one answer to an NPS survey per row: `account_id`, `contact_email`, `score` (0–10),
//! `responded_at` (date or RFC 3339 timestamp; the day is kept), `comment`.

use super::parse_day;
use super::table::{Columns, FileErrors, RowFields, Table};
use crate::fields::FieldReader;
use crate::ids::{optional_text, Email, ExternalId};
use crate::usage::Tz;
use crate::validation::Reason;
use crate::voice::{parse_nps_score, MAX_NPS_COMMENT};
use chrono::NaiveDate;
use std::collections::HashMap;

pub const COLUMNS: Columns =
    Columns { required: &["account_id", "contact_email", "score", "responded_at"], optional: &["comment"] };

/// One row of nps.csv; the account is still the source system's id. A contact answers at most
/// once a day per account, so (account, contact email, day) identifies the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpsRecord {
    pub line: u64,
    pub account_external_id: ExternalId,
    pub contact_email: Email,
    pub score: i64,
    /// The day of the answer in the workspace time zone.
    pub responded_on: NaiveDate,
    pub comment: Option<String>,
}

pub fn parse(table: &Table, zone: Tz) -> Result<Vec<NpsRecord>, FileErrors> {
    let mut errors = FileErrors::new();
    let mut records = Vec::new();
    let mut first_line_of: HashMap<(ExternalId, Email, NaiveDate), u64> = HashMap::new();
    for row in table.rows() {
        let mut e = RowFields::new(&row, &mut errors);
        let account_external_id = e.required("account_id", ExternalId::parse);
        let contact_email = e.required("contact_email", Email::parse);
        let score = e.required("score", parse_nps_score);
        let responded_on = e.required("responded_at", |raw| parse_day(raw, zone));
        let comment =
            e.parsed("comment", |raw| optional_text(Some(raw), MAX_NPS_COMMENT).map(Option::unwrap_or_default));
        if let (Some(account), Some(email), Some(day)) = (&account_external_id, &contact_email, responded_on) {
            if let Some(first_line) = first_line_of.insert((account.clone(), email.clone(), day), row.line) {
                e.push("responded_at", Reason::DuplicateInFile { first_line });
            }
        }
        let record = (|| {
            Some(NpsRecord {
                line: row.line,
                account_external_id: account_external_id?,
                contact_email: contact_email?,
                score: score?,
                responded_on: responded_on?,
                comment: comment?,
            })
        })();
        records.extend(record);
    }
    if errors.is_empty() {
        Ok(records)
    } else {
        Err(errors)
    }
}

pub fn write(records: &[NpsRecord]) -> Result<String, csv::Error> {
    let header: Vec<String> = COLUMNS.required.iter().chain(COLUMNS.optional).map(|c| c.to_string()).collect();
    let rows = records.iter().map(|r| {
        vec![
            r.account_external_id.to_string(),
            r.contact_email.to_string(),
            r.score.to_string(),
            r.responded_on.to_string(),
            r.comment.clone().unwrap_or_default(),
        ]
    });
    super::write_csv(&header, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKYO: Tz = chrono_tz::Asia::Tokyo;

    fn parse_text(text: &str) -> Result<Vec<NpsRecord>, FileErrors> {
        parse(&Table::parse(text, &COLUMNS).unwrap(), TOKYO)
    }

    fn at(errors: &FileErrors) -> Vec<(u64, &str, &Reason)> {
        errors.listed().iter().map(|e| (e.line, e.column.as_str(), &e.reason)).collect()
    }

    const HEADER: &str = "account_id,contact_email,score,responded_at,comment\n";

    #[test]
    fn answers_with_dates_or_timestamps_round_trip_through_csv() {
        let records = parse_text(&format!(
            "{HEADER}A1,Hanako@Example.jp,9,2025/04/01,\"使いやすい, でも高い\"\nA1,ken@example.jp,3,2025-03-31T16:30:00Z,\n"
        ))
        .unwrap();
        assert_eq!(records[0].contact_email.as_str(), "hanako@example.jp");
        assert_eq!(records[0].comment.as_deref(), Some("使いやすい, でも高い"));
        assert_eq!((records[1].score, records[1].comment.as_deref()), (3, None));
        assert_eq!(records[1].responded_on.to_string(), "2025-04-01", "the day in Tokyo");
        let again = parse_text(&write(&records).unwrap()).unwrap();
        assert_eq!(records, again);
    }

    #[test]
    fn every_bad_cell_is_reported_with_its_line_and_column() {
        let errors = parse_text(&format!(
            "{HEADER},nope,11,2025-02-30,\nA1,aki@example.jp,x,2025-04-01T10:00,\nA1,,,,\n\
             A2,aki@example.jp,-1,2025-04-01,\nA2,AKI@example.jp,5,2025-04-01T09:00:00+09:00,\n"
        ))
        .unwrap_err();
        assert_eq!(
            at(&errors),
            vec![
                (2, "account_id", &Reason::Required),
                (2, "contact_email", &Reason::InvalidEmail),
                (2, "score", &Reason::OutOfRange { min: "0".into(), max: "10".into() }),
                (2, "responded_at", &Reason::InvalidDate),
                (3, "score", &Reason::InvalidInteger),
                (3, "responded_at", &Reason::InvalidTimestamp),
                (4, "contact_email", &Reason::Required),
                (4, "score", &Reason::Required),
                (4, "responded_at", &Reason::Required),
                (5, "score", &Reason::OutOfRange { min: "0".into(), max: "10".into() }),
                (6, "responded_at", &Reason::DuplicateInFile { first_line: 5 }),
            ]
        );
    }

    #[test]
    fn missing_columns_and_an_overlong_comment_are_reported() {
        let errors = Table::parse("account_id,score\nA1,5\n", &COLUMNS).err().unwrap();
        assert_eq!(
            at(&errors),
            vec![(1, "contact_email", &Reason::MissingColumn), (1, "responded_at", &Reason::MissingColumn)]
        );
        let long = "あ".repeat(MAX_NPS_COMMENT + 1);
        let errors = parse_text(&format!("{HEADER}A1,aki@example.jp,5,2025-04-01,{long}\n")).unwrap_err();
        assert_eq!(at(&errors), vec![(2, "comment", &Reason::TooLong { max: MAX_NPS_COMMENT })]);
    }
}
