//! contacts.csv

use super::table::{Columns, FileErrors, RowFields, Table};
use crate::account::{CustomFields, CUSTOM_PREFIX};
use crate::contact::ContactDetails;
use crate::fields::FieldReader;
use crate::ids::{Email, ExternalId};
use crate::validation::Reason;
use std::collections::HashMap;

pub const COLUMNS: Columns =
    Columns { required: &["contact_id", "account_id"], optional: &["name", "email", "role", "phone", "is_primary"] };

/// One row of contacts.csv; the account is still the source system's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactRecord {
    pub line: u64,
    pub external_id: ExternalId,
    pub account_external_id: ExternalId,
    pub name: Option<String>,
    pub email: Option<Email>,
    pub role: Option<String>,
    pub phone: Option<String>,
    pub is_primary: bool,
    pub custom: CustomFields,
}

pub fn parse(table: &Table) -> Result<Vec<ContactRecord>, FileErrors> {
    let mut errors = FileErrors::new();
    let mut records = Vec::new();
    let mut first_line_of: HashMap<ExternalId, u64> = HashMap::new();
    for row in table.rows() {
        let mut e = RowFields::new(&row, &mut errors);
        let external_id = e.required("contact_id", ExternalId::parse);
        let account_external_id = e.required("account_id", ExternalId::parse);
        let details = ContactDetails::read(&mut e);
        if let Some(id) = &external_id {
            if let Some(first_line) = first_line_of.insert(id.clone(), row.line) {
                e.push("contact_id", Reason::DuplicateInFile { first_line });
            }
        }
        let record = (|| {
            let details = details?;
            Some(ContactRecord {
                line: row.line,
                external_id: external_id?,
                account_external_id: account_external_id?,
                name: details.name,
                email: details.email,
                role: details.role,
                phone: details.phone,
                is_primary: details.is_primary,
                custom: details.custom,
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

pub fn write(records: &[ContactRecord]) -> Result<String, csv::Error> {
    let mut custom_keys: Vec<&String> = records.iter().flat_map(|r| r.custom.keys()).collect();
    custom_keys.sort();
    custom_keys.dedup();
    let mut header: Vec<String> = COLUMNS.required.iter().chain(COLUMNS.optional).map(|c| c.to_string()).collect();
    header.extend(custom_keys.iter().map(|k| format!("{CUSTOM_PREFIX}{k}")));
    let rows = records.iter().map(|r| {
        let mut row = vec![
            r.external_id.to_string(),
            r.account_external_id.to_string(),
            r.name.clone().unwrap_or_default(),
            r.email.as_ref().map(|e| e.to_string()).unwrap_or_default(),
            r.role.clone().unwrap_or_default(),
            r.phone.clone().unwrap_or_default(),
            r.is_primary.to_string(),
        ];
        row.extend(custom_keys.iter().map(|k| r.custom.get(*k).cloned().unwrap_or_default()));
        row
    });
    super::write_csv(&header, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contacts_round_trip_through_csv() {
        let text = "contact_id,account_id,name,email,role,is_primary\nC1,A1,山田 花子,Hanako@Example.jp,Champion,true\nC2,A1,,,,\n";
        let records = parse(&Table::parse(text, &COLUMNS).unwrap()).unwrap();
        assert_eq!(records[0].email.as_ref().map(|e| e.as_str()), Some("hanako@example.jp"));
        assert_eq!(records[0].role.as_deref(), Some("champion"));
        let again = parse(&Table::parse(&write(&records).unwrap(), &COLUMNS).unwrap()).unwrap();
        assert_eq!(records, again);
    }

    #[test]
    fn bad_boolean_and_email_are_reported() {
        let text = "contact_id,account_id,email,is_primary\nC1,A1,nope,maybe\n";
        let errors = parse(&Table::parse(text, &COLUMNS).unwrap()).unwrap_err();
        let columns: Vec<&str> = errors.iter().map(|e| e.column.as_str()).collect();
        assert_eq!(columns, vec!["email", "is_primary"]);
    }
}
