//! A CSV file checked against the columns its format allows, read row by row with line numbers.

use crate::account::{parse_custom_key, CustomFields, CUSTOM_PREFIX};
use crate::i18n::Lang;
use crate::validation::Reason;
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;

/// One bad cell (or a bad header, on line 1): `line N, column C: reason`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    pub line: u64,
    pub column: String,
    pub reason: Reason,
}

impl RowError {
    pub fn message(&self, lang: Lang) -> String {
        match lang {
            Lang::Ja => format!("{} 行目、{} 列: {}", self.line, self.column, self.reason.message(lang)),
            Lang::En => format!("line {}, column {}: {}", self.line, self.column, self.reason.message(lang)),
        }
    }
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message(Lang::En))
    }
}

/// The columns of one file format.
pub struct Columns {
    pub required: &'static [&'static str],
    pub optional: &'static [&'static str],
}

/// A decoded CSV file whose header has been checked.
pub struct Table {
    header: Vec<String>,
    index: HashMap<String, usize>,
    records: Vec<(u64, csv::StringRecord)>,
}

/// One data row, with its line number for error reports.
pub struct Row<'t> {
    pub line: u64,
    table: &'t Table,
    record: &'t csv::StringRecord,
}

impl Table {
    /// Parses the text and checks the header; returns every header and syntax problem found.
    pub fn parse(text: &str, columns: &Columns) -> Result<Table, Vec<RowError>> {
        let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(text.as_bytes());
        let mut errors = Vec::new();
        let header: Vec<String> = match reader.headers() {
            Ok(h) => h.iter().map(|c| c.trim().to_owned()).collect(),
            Err(e) => return Err(vec![syntax_error(1, &e)]),
        };
        let mut index = HashMap::new();
        for (position, name) in header.iter().enumerate() {
            let known = columns.required.contains(&name.as_str()) || columns.optional.contains(&name.as_str());
            let custom = name.strip_prefix(CUSTOM_PREFIX).map(parse_custom_key);
            match (known, custom) {
                (true, _) | (false, Some(Ok(_))) => {}
                (false, Some(Err(reason))) => errors.push(RowError { line: 1, column: name.clone(), reason }),
                (false, None) => errors.push(RowError { line: 1, column: name.clone(), reason: Reason::UnknownColumn }),
            }
            if index.insert(name.clone(), position).is_some() {
                errors.push(RowError { line: 1, column: name.clone(), reason: Reason::DuplicateColumn });
            }
        }
        for required in columns.required {
            if !index.contains_key(*required) {
                errors.push(RowError { line: 1, column: (*required).to_owned(), reason: Reason::MissingColumn });
            }
        }
        let mut records = Vec::new();
        for result in reader.records() {
            match result {
                Ok(record) => {
                    let line = record.position().map_or(0, |p| p.line());
                    if record.iter().all(|cell| cell.trim().is_empty()) {
                        continue;
                    }
                    let with_nul = record.iter().position(|cell| cell.contains('\0'));
                    if let Some(cell) = with_nul {
                        let column = header.get(cell).cloned().unwrap_or_else(|| "*".into());
                        errors.push(RowError { line, column, reason: Reason::ContainsNul });
                        continue;
                    }
                    if record.len() != header.len() {
                        errors.push(RowError {
                            line,
                            column: "*".into(),
                            reason: Reason::Malformed {
                                detail: format!("{} cells, header has {}", record.len(), header.len()),
                            },
                        });
                        continue;
                    }
                    records.push((line, record));
                }
                Err(e) => errors.push(syntax_error(e.position().map_or(0, |p| p.line()), &e)),
            }
        }
        if errors.is_empty() {
            Ok(Table { header, index, records })
        } else {
            Err(errors)
        }
    }

    pub fn rows(&self) -> impl Iterator<Item = Row<'_>> {
        self.records.iter().map(move |(line, record)| Row { line: *line, table: self, record })
    }
}

fn syntax_error(line: u64, error: &csv::Error) -> RowError {
    RowError { line, column: "*".into(), reason: Reason::Malformed { detail: error.to_string() } }
}

impl<'t> Row<'t> {
    /// The trimmed cell of a column; `None` when the column is absent or the cell empty.
    pub fn get(&self, column: &str) -> Option<&'t str> {
        let position = *self.table.index.get(column)?;
        let cell = self.record.get(position)?.trim();
        (!cell.is_empty()).then_some(cell)
    }

    /// The `custom.*` cells that have a value.
    pub fn custom_fields(&self) -> CustomFields {
        self.table
            .header
            .iter()
            .enumerate()
            .filter_map(|(position, name)| {
                let key = name.strip_prefix(CUSTOM_PREFIX)?;
                let value = self.record.get(position)?.trim();
                (!value.is_empty()).then(|| (key.trim().to_owned(), value.to_owned()))
            })
            .collect()
    }
}

/// Collects the errors of one row while its cells are parsed.
pub struct RowErrors<'e> {
    pub line: u64,
    pub errors: &'e mut Vec<RowError>,
}

impl RowErrors<'_> {
    pub fn push(&mut self, column: &str, reason: Reason) {
        self.errors.push(RowError { line: self.line, column: column.to_owned(), reason });
    }

    /// Parses an optional cell; an empty cell is `None`.
    pub fn optional<T>(
        &mut self,
        row: &Row<'_>,
        column: &str,
        parse: impl FnOnce(&str) -> Result<T, Reason>,
    ) -> Option<Option<T>> {
        match row.get(column).map(parse) {
            None => Some(None),
            Some(Ok(value)) => Some(Some(value)),
            Some(Err(reason)) => {
                self.push(column, reason);
                None
            }
        }
    }

    /// Parses a required cell; an empty cell is an error.
    pub fn required<T>(
        &mut self,
        row: &Row<'_>,
        column: &str,
        parse: impl FnOnce(&str) -> Result<T, Reason>,
    ) -> Option<T> {
        match self.optional(row, column, parse) {
            Some(Some(value)) => Some(value),
            Some(None) => {
                self.push(column, Reason::Required);
                None
            }
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLUMNS: Columns = Columns { required: &["id", "name"], optional: &["note"] };

    #[test]
    fn unknown_duplicate_and_missing_columns_are_all_reported_on_line_one() {
        let errors = Table::parse("id,id,colour\n1,2,3\n", &COLUMNS).err().unwrap();
        let columns: Vec<(&str, &Reason)> = errors.iter().map(|e| (e.column.as_str(), &e.reason)).collect();
        assert_eq!(
            columns,
            vec![
                ("id", &Reason::DuplicateColumn),
                ("colour", &Reason::UnknownColumn),
                ("name", &Reason::MissingColumn)
            ]
        );
    }

    #[test]
    fn custom_columns_are_allowed_and_read_without_prefix() {
        let table = Table::parse("name,id,custom.dept\nA,1,営業\n", &COLUMNS).unwrap();
        let row = table.rows().next().unwrap();
        assert_eq!(row.line, 2);
        assert_eq!(row.custom_fields().get("dept").map(String::as_str), Some("営業"));
    }

    #[test]
    fn a_cell_holding_nul_is_refused_with_its_line_and_column() {
        let columns = Columns { required: &["account_id", "name"], optional: &[] };
        let errors = Table::parse("account_id,name\nA1,ok\nA2,bad\0name\n", &columns).err().unwrap();
        assert_eq!(errors, vec![RowError { line: 3, column: "name".into(), reason: Reason::ContainsNul }]);
    }

    #[test]
    fn line_numbers_count_quoted_newlines() {
        let table = Table::parse("id,name,note\n1,A,\"two\nlines\"\n2,B,\n", &COLUMNS).unwrap();
        let lines: Vec<u64> = table.rows().map(|r| r.line).collect();
        assert_eq!(lines, vec![2, 4]);
    }
}
