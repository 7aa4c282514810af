//! spend.csv — sales & marketing spend per month, for CAC (metrics.md): `month` (YYYY-MM),
//! `amount` (≥ 0, workspace currency).

use super::table::{Columns, FileErrors, RowFields, Table};
use crate::fields::FieldReader;
use crate::metrics::YearMonth;
use crate::money::{Currency, Money};
use crate::validation::Reason;
use std::collections::HashMap;

pub const COLUMNS: Columns = Columns { required: &["month", "amount"], optional: &[] };

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpendRecord {
    pub line: u64,
    pub month: YearMonth,
    pub amount: Money,
}

/// A `YYYY-MM` month.
pub fn parse_month(raw: &str) -> Result<YearMonth, Reason> {
    let (year, month) = raw.trim().split_once(['-', '/']).ok_or(Reason::InvalidDate)?;
    let (year, month) =
        (year.parse().map_err(|_| Reason::InvalidDate)?, month.parse().map_err(|_| Reason::InvalidDate)?);
    YearMonth::typed(year, month).ok_or(Reason::InvalidDate)?
}

pub fn parse(table: &Table) -> Result<Vec<SpendRecord>, FileErrors> {
    let mut errors = FileErrors::new();
    let mut records = Vec::new();
    let mut first_line_of: HashMap<YearMonth, u64> = HashMap::new();
    for row in table.rows() {
        let mut e = RowFields::new(&row, &mut errors);
        let month = e.required("month", parse_month);
        let amount = e.required("amount", Money::parse_non_negative);
        if let Some(month) = month {
            if let Some(first_line) = first_line_of.insert(month, row.line) {
                e.push("month", Reason::DuplicateInFile { first_line });
            }
        }
        if let (Some(month), Some(amount)) = (month, amount) {
            records.push(SpendRecord { line: row.line, month, amount });
        }
    }
    if errors.is_empty() {
        Ok(records)
    } else {
        Err(errors)
    }
}

/// Amounts are in the workspace currency, written with its decimal places (`1200000` yen).
pub fn write(records: &[SpendRecord], currency: &Currency) -> Result<String, csv::Error> {
    let header: Vec<String> = COLUMNS.required.iter().map(|c| c.to_string()).collect();
    super::write_csv(&header, records.iter().map(|r| vec![r.month.to_string(), r.amount.plain(currency)]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spend_rows_parse_and_bad_months_are_reported() {
        let records =
            parse(&Table::parse("month,amount\n2025-04,\"1,200,000\"\n2025/05,0\n", &COLUMNS).unwrap()).unwrap();
        assert_eq!(records[0].amount.0, rust_decimal::Decimal::from(1_200_000));
        let errors = parse(&Table::parse("month,amount\n2025-13,1\n2025-04,-1\n", &COLUMNS).unwrap()).unwrap_err();
        let at: Vec<(u64, &str)> = errors.iter().map(|e| (e.line, e.column.as_str())).collect();
        assert_eq!(at, vec![(2, "month"), (3, "amount")]);
    }

    #[test]
    fn yen_spend_is_written_in_whole_yen() {
        let records = parse(&Table::parse("month,amount\n2025-04,1200000.00\n", &COLUMNS).unwrap()).unwrap();
        assert_eq!(write(&records, &Currency::jpy()).unwrap(), "month,amount\n2025-04,1200000\n");
    }
}
