//! A CSV file checked against the columns its format allows, read row by row with line numbers.

use crate::account::{check_custom_value, parse_custom_key, CustomFields, CUSTOM_PREFIX, MAX_CUSTOM_FIELDS};
use crate::fields::FieldReader;
use crate::i18n::Lang;
use crate::validation::Reason;
use serde::Serialize;
use std::borrow::Cow;
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
        if let Reason::MoreProblems { .. } = self.reason {
            return self.reason.message(lang);
        }
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

/// The most row errors a file's report lists; the others are only counted.
pub const MAX_REPORTED_ERRORS: usize = 1_000;

/// The row errors of one file as they are found: the first `MAX_REPORTED_ERRORS` in line order,
/// and how many there are in all. The others are counted, not kept, so a file of a million bad
/// rows holds a thousand errors in memory and in its report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileErrors {
    listed: Vec<RowError>,
    total: usize,
}

impl FileErrors {
    pub fn new() -> FileErrors {
        FileErrors::default()
    }

    /// Adds an error; it is kept if it is among the first `MAX_REPORTED_ERRORS` by line (after
    /// those of the same line found before it).
    pub fn push(&mut self, error: RowError) {
        self.total += 1;
        let at = self.listed.partition_point(|listed| listed.line <= error.line);
        if at < MAX_REPORTED_ERRORS {
            self.listed.truncate(MAX_REPORTED_ERRORS - 1);
            self.listed.insert(at.min(self.listed.len()), error);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Takes in the errors another part of the same file found (e.g. on another thread). Each
    /// part keeps its first errors by line, so the merged list is still the file's first.
    pub fn absorb(&mut self, other: FileErrors) {
        self.total += other.total - other.listed.len();
        self.extend(other.listed);
    }

    /// How many errors were found, listed or not.
    pub fn total(&self) -> usize {
        self.total
    }

    /// The errors kept, in line order.
    pub fn listed(&self) -> &[RowError] {
        &self.listed
    }

    pub fn iter(&self) -> std::slice::Iter<'_, RowError> {
        self.listed.iter()
    }

    /// The listed errors and, when some were left out, a last entry counting them
    /// (`Reason::MoreProblems`): the list an import report shows.
    pub fn into_rows(self) -> Vec<RowError> {
        let more = self.total - self.listed.len();
        let mut rows = self.listed;
        if more > 0 {
            rows.push(RowError { line: 0, column: "*".into(), reason: Reason::MoreProblems { count: more } });
        }
        rows
    }
}

impl From<RowError> for FileErrors {
    fn from(error: RowError) -> FileErrors {
        std::iter::once(error).collect()
    }
}

impl FromIterator<RowError> for FileErrors {
    fn from_iter<I: IntoIterator<Item = RowError>>(errors: I) -> FileErrors {
        let mut all = FileErrors::new();
        all.extend(errors);
        all
    }
}

impl Extend<RowError> for FileErrors {
    fn extend<I: IntoIterator<Item = RowError>>(&mut self, errors: I) {
        errors.into_iter().for_each(|error| self.push(error));
    }
}

/// A report of row errors as shown to the reader: at most `MAX_REPORTED_ERRORS` of them in the
/// order given, how many there are in all, and how many are not shown. Counts an entry made by
/// `FileErrors::into_rows`, and caps a list that was never capped.
pub struct Report<'e> {
    pub listed: Vec<&'e RowError>,
    pub total: usize,
    pub unlisted: usize,
}

impl<'e> Report<'e> {
    pub fn of(errors: &'e [RowError]) -> Report<'e> {
        let mut report = Report { listed: Vec::new(), total: 0, unlisted: 0 };
        for error in errors {
            match error.reason {
                Reason::MoreProblems { count } => {
                    report.total += count;
                    report.unlisted += count;
                }
                _ if report.listed.len() < MAX_REPORTED_ERRORS => {
                    report.total += 1;
                    report.listed.push(error);
                }
                _ => {
                    report.total += 1;
                    report.unlisted += 1;
                }
            }
        }
        report
    }

    /// The closing line counting the errors not listed, when there are any.
    pub fn more(&self, lang: Lang) -> Option<String> {
        (self.unlisted > 0).then(|| Reason::MoreProblems { count: self.unlisted }.message(lang))
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
    /// Parses the text and checks the header; returns the header and syntax problems found (the
    /// first `MAX_REPORTED_ERRORS`, and how many there are). A cell holding NUL is one of them.
    pub fn parse(text: &str, columns: &Columns) -> Result<Table, FileErrors> {
        let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(text.as_bytes());
        let mut errors = FileErrors::new();
        let header: Vec<String> = match reader.headers() {
            Ok(h) => h.iter().map(|c| c.trim().to_owned()).collect(),
            Err(e) => return Err(syntax_error(1, &e).into()),
        };
        let mut index = HashMap::new();
        for (position, name) in header.iter().enumerate() {
            let known = columns.required.contains(&name.as_str()) || columns.optional.contains(&name.as_str());
            let custom = name.strip_prefix(CUSTOM_PREFIX).map(parse_custom_key);
            let column = || name.replace('\0', "\\0");
            match (known, custom) {
                (true, _) | (false, Some(Ok(_))) => {}
                (false, Some(Err(reason))) => errors.push(RowError { line: 1, column: column(), reason }),
                (false, None) => errors.push(RowError { line: 1, column: column(), reason: Reason::UnknownColumn }),
            }
            if index.insert(name.clone(), position).is_some() {
                errors.push(RowError { line: 1, column: column(), reason: Reason::DuplicateColumn });
            }
        }
        for required in columns.required {
            if !index.contains_key(*required) {
                errors.push(RowError { line: 1, column: (*required).to_owned(), reason: Reason::MissingColumn });
            }
        }
        let mut records = Vec::new();
        let mut lines = LineCounter::new(text);
        for result in reader.records() {
            match result {
                Ok(record) => {
                    let line = record.position().map_or(0, |p| lines.line_at(p.byte()));
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
                        let reason = Reason::CellCount { found: record.len(), expected: header.len() };
                        errors.push(RowError { line, column: "*".into(), reason });
                        continue;
                    }
                    records.push((line, record));
                }
                Err(e) => errors.push(syntax_error(e.position().map_or(0, |p| lines.line_at(p.byte())), &e)),
            }
        }
        if let Some(line) = unclosed_quote_line(text) {
            errors.push(RowError { line, column: "*".into(), reason: Reason::UnclosedQuote });
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

/// The line of a quote that opens a cell and is never closed (RFC 4180: a cell is quoted when
/// it starts with `"`, and `""` inside it is one quote). The csv crate reads such a file to its
/// end as one cell without complaint.
fn unclosed_quote_line(text: &str) -> Option<u64> {
    let (mut line, mut opened_on) = (1u64, None);
    let (mut at_cell_start, mut chars) = (true, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (opened_on, c) {
            (Some(_), '"') if chars.peek() == Some(&'"') => {
                chars.next();
            }
            (Some(_), '"') => opened_on = None,
            (None, '"') if at_cell_start => opened_on = Some(line),
            _ => {}
        }
        if c == '\n' || (c == '\r' && chars.peek() != Some(&'\n')) {
            line += 1;
        }
        at_cell_start = opened_on.is_none() && matches!(c, ',' | '\n' | '\r');
    }
    opened_on
}

/// The line a record starts on, counted from its byte offset. The csv crate counts `\n` and
/// records a row's position before it skips the `\n` of a `\r\n` ending, so every row of a
/// Windows (Excel) file would be one line early; here a line ends at `\n`, `\r\n` or a lone
/// `\r`, and a row starts at its first byte that is not a line ending.
struct LineCounter<'t> {
    text: &'t [u8],
    /// Bytes before this offset are counted.
    at: usize,
    /// Line breaks before `at`.
    breaks: u64,
}

impl<'t> LineCounter<'t> {
    fn new(text: &'t str) -> LineCounter<'t> {
        LineCounter { text: text.as_bytes(), at: 0, breaks: 0 }
    }

    /// The 1-based line of the first content byte at or after `byte`. Offsets only grow as
    /// rows are read; an earlier one is counted again from the start.
    fn line_at(&mut self, byte: u64) -> u64 {
        let mut start = usize::try_from(byte).unwrap_or(usize::MAX).min(self.text.len());
        while start < self.text.len() && matches!(self.text[start], b'\r' | b'\n') {
            start += 1;
        }
        if start < self.at {
            (self.at, self.breaks) = (0, 0);
        }
        for i in self.at..start {
            let ends_line = match self.text[i] {
                b'\n' => true,
                b'\r' => self.text.get(i + 1) != Some(&b'\n'),
                _ => false,
            };
            self.breaks += u64::from(ends_line);
        }
        self.at = start;
        self.breaks + 1
    }
}

fn syntax_error(line: u64, error: &csv::Error) -> RowError {
    RowError { line, column: "*".into(), reason: Reason::Malformed { detail: error.to_string() } }
}

impl<'t> Row<'t> {
    /// The trimmed cell of a column; `None` when the column is absent or the cell empty. A cell
    /// an export protected from spreadsheets (`'=…`) reads as its original text (`=…`).
    pub fn get(&self, column: &str) -> Option<&'t str> {
        let position = *self.table.index.get(column)?;
        cell_text(self.record.get(position)?)
    }

    /// The `custom.*` cells that have a value: (column, key, value).
    pub fn custom_cells(&self) -> impl Iterator<Item = (&'t str, &'t str, &'t str)> + 't {
        let record = self.record;
        self.table.header.iter().enumerate().filter_map(move |(position, name)| {
            let key = name.strip_prefix(CUSTOM_PREFIX)?.trim();
            Some((name.as_str(), key, cell_text(record.get(position)?)?))
        })
    }

    /// The `custom.*` cells that have a value, unchecked (`RowErrors::custom` checks them).
    pub fn custom_fields(&self) -> CustomFields {
        self.custom_cells().map(|(_, key, value)| (key.to_owned(), value.to_owned())).collect()
    }
}

/// A cell as the file means it: trimmed, `None` when empty, without the quote an export put
/// before a formula-like text.
fn cell_text(raw: &str) -> Option<&str> {
    let cell = super::restore_formula(raw.trim());
    (!cell.is_empty()).then_some(cell)
}

/// One CSV row read as a record's fields; its problems are collected with the row's line.
pub struct RowFields<'r, 't, 'e> {
    pub row: &'r Row<'t>,
    pub errors: &'e mut FileErrors,
}

impl<'r, 't, 'e> RowFields<'r, 't, 'e> {
    pub fn new(row: &'r Row<'t>, errors: &'e mut FileErrors) -> RowFields<'r, 't, 'e> {
        RowFields { row, errors }
    }
}

impl FieldReader for RowFields<'_, '_, '_> {
    fn raw(&self, column: &str) -> Result<Option<Cow<'_, str>>, Reason> {
        Ok(self.row.get(column).map(Cow::Borrowed))
    }

    fn flag(&self, column: &str) -> Result<Option<bool>, Reason> {
        self.row.get(column).map(super::parse_bool).transpose()
    }

    /// The `custom.*` cells that have a value, each checked as the JSON API checks custom
    /// fields: at most `MAX_CUSTOM_FIELDS` filled per row, values within `MAX_CUSTOM_VALUE`.
    fn custom(&mut self, _: &str) -> Option<CustomFields> {
        let mut custom = CustomFields::new();
        let mut valid = true;
        for (filled, (column, key, value)) in self.row.custom_cells().enumerate() {
            if filled == MAX_CUSTOM_FIELDS {
                self.push(column, Reason::TooManyCustomFields { max: MAX_CUSTOM_FIELDS });
                return None;
            }
            match check_custom_value(value) {
                Ok(()) => {
                    custom.insert(key.to_owned(), value.to_owned());
                }
                Err(reason) => {
                    self.push(column, reason);
                    valid = false;
                }
            }
        }
        valid.then_some(custom)
    }

    fn push(&mut self, column: &str, reason: Reason) {
        self.errors.push(RowError { line: self.row.line, column: column.to_owned(), reason });
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
    fn a_quote_never_closed_is_refused_on_its_line_instead_of_swallowing_the_rows_after_it() {
        let text = "id,name,note\n1,A,\"価格が高いとのこと\n2,B,x\n3,C,y\n";
        let errors = Table::parse(text, &COLUMNS).err().unwrap();
        assert!(errors.listed().contains(&RowError { line: 2, column: "*".into(), reason: Reason::UnclosedQuote }));
        let fine = "id,name,note\n1,A,\"two\nlines, \"\"quoted\"\"\"\n2,B,say \"hi\"\r\n3,C,\"\"\n";
        let table = Table::parse(fine, &COLUMNS).unwrap();
        assert_eq!(table.rows().map(|r| r.line).collect::<Vec<_>>(), [2, 4, 5]);
    }

    #[test]
    fn a_row_with_too_few_cells_says_how_many_it_has() {
        let errors = Table::parse("id,name,note\n1,A\n", &COLUMNS).err().unwrap();
        assert_eq!(
            errors.listed(),
            [RowError { line: 2, column: "*".into(), reason: Reason::CellCount { found: 2, expected: 3 } }]
        );
        assert_eq!(
            Reason::CellCount { found: 2, expected: 3 }.message(Lang::Ja),
            "セルが 2 個あります（見出しの列は 3 個）"
        );
    }

    #[test]
    fn a_cell_holding_nul_is_refused_with_its_line_and_column() {
        let columns = Columns { required: &["account_id", "name"], optional: &[] };
        let errors = Table::parse("account_id,name\nA1,ok\nA2,bad\0name\n", &columns).err().unwrap();
        assert_eq!(errors.listed(), [RowError { line: 3, column: "name".into(), reason: Reason::ContainsNul }]);
    }

    #[test]
    fn a_nul_in_a_custom_column_name_is_refused_on_line_one() {
        let errors = Table::parse("id,name,custom.a\0b\n1,A,x\n", &COLUMNS).err().unwrap();
        assert_eq!(errors.listed(), [RowError { line: 1, column: "custom.a\\0b".into(), reason: Reason::ContainsNul }]);
    }

    #[test]
    fn a_quoted_formula_reads_back_as_the_text_it_protects() {
        let table = Table::parse("id,name,note,custom.f\n1,'=SUM(A1),'plain,\"'-2+3\"\n", &COLUMNS).unwrap();
        let row = table.rows().next().unwrap();
        assert_eq!((row.get("name"), row.get("note")), (Some("=SUM(A1)"), Some("'plain")));
        assert_eq!(row.custom_fields().get("f").map(String::as_str), Some("-2+3"));
    }

    fn custom_errors(text: &str) -> (Option<CustomFields>, Vec<RowError>) {
        let table = Table::parse(text, &COLUMNS).unwrap();
        let row = table.rows().next().unwrap();
        let mut errors = FileErrors::new();
        let custom = RowFields::new(&row, &mut errors).custom("custom");
        (custom, errors.into_rows())
    }

    #[test]
    fn custom_cells_are_limited_as_the_json_api_limits_them() {
        let long = "x".repeat(1_001);
        let (custom, errors) = custom_errors(&format!("id,name,custom.a,custom.b\n1,A,ok,{long}\n"));
        assert_eq!(custom, None);
        assert_eq!(errors, [RowError { line: 2, column: "custom.b".into(), reason: Reason::TooLong { max: 1_000 } }]);

        let header: Vec<String> = (0..=MAX_CUSTOM_FIELDS).map(|i| format!("custom.k{i}")).collect();
        let filled = vec!["v"; MAX_CUSTOM_FIELDS + 1].join(",");
        let (custom, errors) = custom_errors(&format!("id,name,{}\n1,A,{filled}\n", header.join(",")));
        let too_many = Reason::TooManyCustomFields { max: 50 };
        assert_eq!((custom, errors), (None, vec![RowError { line: 2, column: "custom.k50".into(), reason: too_many }]));

        let one_empty = format!("{},", vec!["v"; MAX_CUSTOM_FIELDS].join(","));
        let (custom, errors) = custom_errors(&format!("id,name,{}\n1,A,{one_empty}\n", header.join(",")));
        assert_eq!((custom.map(|c| c.len()), errors), (Some(50), vec![]), "only filled cells count");
    }

    #[test]
    fn a_million_errors_keep_the_first_thousand_in_line_order_and_count_the_rest() {
        let error = |line: u64| RowError { line, column: "name".into(), reason: Reason::Required };
        let mut errors = FileErrors::new();
        for line in 2..1_000_002 {
            errors.push(error(line));
        }
        errors.push(error(1));
        assert_eq!((errors.total(), errors.listed().len()), (1_000_001, MAX_REPORTED_ERRORS));
        let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, (1..=1_000).collect::<Vec<u64>>());
        let rows = errors.into_rows();
        assert_eq!(rows.len(), MAX_REPORTED_ERRORS + 1);
        assert_eq!(rows[MAX_REPORTED_ERRORS].reason, Reason::MoreProblems { count: 999_001 });
        assert_eq!(rows[MAX_REPORTED_ERRORS].message(Lang::En), "… and 999,001 more problem(s)");

        let report = Report::of(&rows);
        assert_eq!((report.listed.len(), report.total, report.unlisted), (1_000, 1_000_001, 999_001));
        assert_eq!(report.more(Lang::Ja).as_deref(), Some("ほか 999,001 件の問題があります"));
        let uncapped: Vec<RowError> = (2..5_002).map(error).collect();
        let report = Report::of(&uncapped);
        assert_eq!((report.listed.len(), report.total, report.unlisted), (1_000, 5_000, 4_000));
        assert_eq!(report.listed.last().map(|e| e.line), Some(1_001));
    }

    #[test]
    fn errors_of_one_line_keep_the_order_they_were_found_in() {
        let mut errors = FileErrors::new();
        for (line, column) in [(3, "a"), (2, "b"), (3, "c"), (2, "d")] {
            errors.push(RowError { line, column: column.into(), reason: Reason::Required });
        }
        let found: Vec<&str> = errors.iter().map(|e| e.column.as_str()).collect();
        assert_eq!(found, ["b", "d", "a", "c"]);
        assert_eq!(errors.into_rows().len(), 4, "nothing left out, nothing counted");
    }

    #[test]
    fn a_bad_first_row_of_a_crlf_file_is_reported_on_line_two() {
        let columns = Columns { required: &["account_id", "name"], optional: &[] };
        let errors = Table::parse("account_id,name\r\nA1,bad\0name\r\nA2,ok\r\n", &columns).err().unwrap();
        assert_eq!(errors.listed(), [RowError { line: 2, column: "name".into(), reason: Reason::ContainsNul }]);
        let errors = Table::parse("account_id,name\r\nA1\r\n\r\nA2,ok,extra\r\n", &columns).err().unwrap();
        let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 4], "blank CRLF lines count too");
    }

    #[test]
    fn crlf_and_lone_cr_files_number_their_lines_as_lf_files_do() {
        let lf = "id,name,note\n1,A,\"two\nlines\"\n\n2,B,\n3,C,x\n";
        let expected = vec![2, 5, 6];
        for text in [lf.to_owned(), lf.replace('\n', "\r\n"), lf.replace('\n', "\r")] {
            let table = Table::parse(&text, &COLUMNS).unwrap();
            let lines: Vec<u64> = table.rows().map(|r| r.line).collect();
            assert_eq!(lines, expected, "{text:?}");
        }
    }

    #[test]
    fn line_numbers_count_quoted_newlines() {
        let table = Table::parse("id,name,note\n1,A,\"two\nlines\"\n2,B,\n", &COLUMNS).unwrap();
        let lines: Vec<u64> = table.rows().map(|r| r.line).collect();
        assert_eq!(lines, vec![2, 4]);
    }
}
