//! tickets.csv — one support ticket per row: `ticket_id`, `account_id`, `created_at`, `solved_at`
//! (dates or RFC 3339 timestamps; the day is kept), `priority` (low, normal, high, urgent),
//! `status` (open, pending, solved, closed), `subject`.

use super::parse_day;
use super::table::{Columns, FileErrors, RowFields, Table};
use crate::fields::FieldReader;
use crate::ids::{optional_text, ExternalId};
use crate::usage::Tz;
use crate::validation::Reason;
use crate::voice::{TicketPriority, TicketRow, TicketStatus, MAX_TICKET_SUBJECT};
use std::collections::HashMap;

pub const COLUMNS: Columns = Columns {
    required: &["ticket_id", "account_id", "created_at", "priority", "status"],
    optional: &["solved_at", "subject"],
};

/// One row of tickets.csv; the account is still the source system's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketRecord {
    pub line: u64,
    pub ticket_id: ExternalId,
    pub account_external_id: ExternalId,
    /// Days are in the workspace time zone.
    pub ticket: TicketRow,
    pub subject: Option<String>,
}

pub fn parse(table: &Table, zone: Tz) -> Result<Vec<TicketRecord>, FileErrors> {
    let mut errors = FileErrors::new();
    let mut records = Vec::new();
    let mut first_line_of: HashMap<ExternalId, u64> = HashMap::new();
    for row in table.rows() {
        let mut e = RowFields::new(&row, &mut errors);
        let ticket_id = e.required("ticket_id", ExternalId::parse);
        let account_external_id = e.required("account_id", ExternalId::parse);
        let created_on = e.required("created_at", |raw| parse_day(raw, zone));
        let solved_on = e.parsed("solved_at", |raw| parse_day(raw, zone));
        let priority = e.required("priority", TicketPriority::parse);
        let status = e.required("status", TicketStatus::parse);
        let subject =
            e.parsed("subject", |raw| optional_text(Some(raw), MAX_TICKET_SUBJECT).map(Option::unwrap_or_default));
        if let (Some(created), Some(Some(solved))) = (created_on, solved_on) {
            if solved < created {
                e.push("solved_at", Reason::EarlierThan { field: "created_at" });
            }
        }
        if let Some(id) = &ticket_id {
            if let Some(first_line) = first_line_of.insert(id.clone(), row.line) {
                e.push("ticket_id", Reason::DuplicateInFile { first_line });
            }
        }
        let record = (|| {
            Some(TicketRecord {
                line: row.line,
                ticket_id: ticket_id?,
                account_external_id: account_external_id?,
                ticket: TicketRow {
                    created_on: created_on?,
                    solved_on: solved_on?,
                    priority: priority?,
                    status: status?,
                },
                subject: subject?,
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

pub fn write(records: &[TicketRecord]) -> Result<String, csv::Error> {
    let header: Vec<String> = COLUMNS.required.iter().chain(COLUMNS.optional).map(|c| c.to_string()).collect();
    let rows = records.iter().map(|r| {
        vec![
            r.ticket_id.to_string(),
            r.account_external_id.to_string(),
            r.ticket.created_on.to_string(),
            r.ticket.priority.as_str().to_owned(),
            r.ticket.status.as_str().to_owned(),
            r.ticket.solved_on.map(|d| d.to_string()).unwrap_or_default(),
            r.subject.clone().unwrap_or_default(),
        ]
    });
    super::write_csv(&header, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKYO: Tz = chrono_tz::Asia::Tokyo;

    fn parse_text(text: &str) -> Result<Vec<TicketRecord>, FileErrors> {
        parse(&Table::parse(text, &COLUMNS).unwrap(), TOKYO)
    }

    fn at(errors: &FileErrors) -> Vec<(u64, &str, &Reason)> {
        errors.listed().iter().map(|e| (e.line, e.column.as_str(), &e.reason)).collect()
    }

    const HEADER: &str = "ticket_id,account_id,created_at,solved_at,priority,status,subject\n";

    #[test]
    fn tickets_with_dates_or_timestamps_round_trip_through_csv() {
        let records = parse_text(&format!(
            "{HEADER}T-1,A1,2025-03-31T23:00:00Z,2025/04/03,Urgent,SOLVED,\"ログインできない, 至急\"\nT-2,A1,2025-04-02,,low,open,\n"
        ))
        .unwrap();
        let first = &records[0].ticket;
        assert_eq!(first.created_on.to_string(), "2025-04-01", "the day in Tokyo");
        assert_eq!(first.solved_on.map(|d| d.to_string()).as_deref(), Some("2025-04-03"));
        assert_eq!((first.priority, first.status), (TicketPriority::Urgent, TicketStatus::Solved));
        assert_eq!(records[0].subject.as_deref(), Some("ログインできない, 至急"));
        assert_eq!((records[1].ticket.solved_on, records[1].subject.as_deref()), (None, None));
        let again = parse_text(&write(&records).unwrap()).unwrap();
        assert_eq!(records, again);
    }

    #[test]
    fn every_bad_cell_is_reported_with_its_line_and_column() {
        let errors = parse_text(&format!(
            "{HEADER}T-1,,2025-13-01,soon,p1,new,\nT-2,A1,2025-04-05,2025-04-04,high,solved,\n\
             ,A1,,,,,\nT-2,A1,2025-04-05T10:00Z,,normal,closed,\n"
        ))
        .unwrap_err();
        let allowed = |values: &[&str]| Reason::NotOneOf { allowed: values.iter().map(|v| v.to_string()).collect() };
        assert_eq!(
            at(&errors),
            vec![
                (2, "account_id", &Reason::Required),
                (2, "created_at", &Reason::InvalidDate),
                (2, "solved_at", &Reason::InvalidDate),
                (2, "priority", &allowed(&["low", "normal", "high", "urgent"])),
                (2, "status", &allowed(&["open", "pending", "solved", "closed"])),
                (3, "solved_at", &Reason::EarlierThan { field: "created_at" }),
                (4, "ticket_id", &Reason::Required),
                (4, "created_at", &Reason::Required),
                (4, "priority", &Reason::Required),
                (4, "status", &Reason::Required),
                (5, "created_at", &Reason::InvalidTimestamp),
                (5, "ticket_id", &Reason::DuplicateInFile { first_line: 3 }),
            ]
        );
    }

    #[test]
    fn a_ticket_solved_the_day_it_was_created_is_fine_and_missing_columns_are_reported() {
        let records = parse_text(&format!("{HEADER}T-1,A1,2025-04-05,2025-04-05,normal,closed,\n")).unwrap();
        assert_eq!(records[0].ticket.solved_on, Some(records[0].ticket.created_on));
        let errors = Table::parse("ticket_id,account_id,created_at\nT-1,A1,2025-04-05\n", &COLUMNS).err().unwrap();
        assert_eq!(at(&errors), vec![(1, "priority", &Reason::MissingColumn), (1, "status", &Reason::MissingColumn)]);
    }
}
