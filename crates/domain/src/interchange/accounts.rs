//! accounts.csv

use super::parse_date;
use super::table::{Columns, FileErrors, RowFields, Table};
use crate::account::{AccountDetails, CustomFields, TouchModel, CUSTOM_PREFIX};
use crate::fields::FieldReader;
use crate::ids::{Email, ExternalId};
use crate::settings::WorkspaceSettings;
use crate::validation::Reason;
use chrono::NaiveDate;
use std::collections::HashMap;

pub const COLUMNS: Columns = Columns {
    required: &["account_id", "name"],
    optional: &[
        "domain",
        "industry",
        "region",
        "employees",
        "tier",
        "touch_model",
        "stage",
        "owner_email",
        "sub_owner_email",
        "sales_owner_email",
        "created_at",
        "churn_reason",
        "churn_note",
    ],
};

/// One row of accounts.csv; owners are still emails, resolved to users when imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRecord {
    pub line: u64,
    pub external_id: ExternalId,
    pub name: String,
    pub domain: Option<String>,
    pub industry: Option<String>,
    pub region: Option<String>,
    pub employees: Option<i64>,
    pub tier: Option<String>,
    pub touch_model: Option<TouchModel>,
    pub stage: Option<String>,
    pub owner_email: Option<Email>,
    pub sub_owner_email: Option<Email>,
    pub sales_owner_email: Option<Email>,
    pub created_on: Option<NaiveDate>,
    pub churn_reason: Option<String>,
    pub churn_note: Option<String>,
    pub custom: CustomFields,
}

pub fn parse(table: &Table, settings: &WorkspaceSettings) -> Result<Vec<AccountRecord>, FileErrors> {
    let mut errors = FileErrors::new();
    let mut records = Vec::new();
    let mut first_line_of: HashMap<ExternalId, u64> = HashMap::new();
    for row in table.rows() {
        let mut e = RowFields::new(&row, &mut errors);
        let external_id = e.required("account_id", ExternalId::parse);
        let details = AccountDetails::read(&mut e, &settings.stages);
        let owner_email = e.parsed("owner_email", Email::parse);
        let sub_owner_email = e.parsed("sub_owner_email", Email::parse);
        let sales_owner_email = e.parsed("sales_owner_email", Email::parse);
        let created_on = e.parsed("created_at", parse_date);
        if let Some(id) = &external_id {
            if let Some(first_line) = first_line_of.insert(id.clone(), row.line) {
                e.push("account_id", Reason::DuplicateInFile { first_line });
            }
        }
        let record = (|| {
            let details = details?;
            Some(AccountRecord {
                line: row.line,
                external_id: external_id?,
                name: details.name,
                domain: details.domain,
                industry: details.industry,
                region: details.region,
                employees: details.employees,
                tier: details.tier,
                touch_model: details.touch_model,
                stage: details.stage,
                owner_email: owner_email?,
                sub_owner_email: sub_owner_email?,
                sales_owner_email: sales_owner_email?,
                created_on: created_on?,
                churn_reason: details.churn_reason,
                churn_note: details.churn_note,
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

/// Writes accounts.csv with the same columns the import reads, custom fields last.
pub fn write(records: &[AccountRecord]) -> Result<String, csv::Error> {
    let mut custom_keys: Vec<&String> = records.iter().flat_map(|r| r.custom.keys()).collect();
    custom_keys.sort();
    custom_keys.dedup();
    let mut header: Vec<String> = COLUMNS.required.iter().chain(COLUMNS.optional).map(|c| c.to_string()).collect();
    header.extend(custom_keys.iter().map(|k| format!("{CUSTOM_PREFIX}{k}")));
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let email = |v: &Option<Email>| v.as_ref().map(|e| e.to_string()).unwrap_or_default();
    let rows = records.iter().map(|r| {
        let mut row = vec![
            r.external_id.to_string(),
            r.name.clone(),
            opt(&r.domain),
            opt(&r.industry),
            opt(&r.region),
            r.employees.map(|n| n.to_string()).unwrap_or_default(),
            opt(&r.tier),
            r.touch_model.map(|t| t.as_str().to_owned()).unwrap_or_default(),
            opt(&r.stage),
            email(&r.owner_email),
            email(&r.sub_owner_email),
            email(&r.sales_owner_email),
            r.created_on.map(|d| d.to_string()).unwrap_or_default(),
            opt(&r.churn_reason),
            opt(&r.churn_note),
        ];
        row.extend(custom_keys.iter().map(|k| r.custom.get(*k).cloned().unwrap_or_default()));
        row
    });
    super::write_csv(&header, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<Vec<AccountRecord>, FileErrors> {
        parse(&Table::parse(text, &COLUMNS)?, &WorkspaceSettings::default())
    }

    #[test]
    fn every_bad_row_is_reported_with_line_and_column() {
        let errors = parse_text(
            "account_id,name,employees,touch_model,owner_email\n\
             A1,Acme,10,high,aki@example.com\n\
             A2,,x,phone,not-an-email\n\
             A1,Dup,1,low,\n",
        )
        .unwrap_err();
        let rendered: Vec<String> = errors.iter().map(|e| format!("{}:{}", e.line, e.column)).collect();
        assert_eq!(rendered, vec!["3:name", "3:employees", "3:touch_model", "3:owner_email", "4:account_id"]);
    }

    #[test]
    fn a_bad_first_row_of_an_excel_crlf_file_is_reported_on_line_two_not_the_header() {
        let errors = parse_text("account_id,name,owner_email\r\nA1,Acme,not-an-email\r\nA2,Beta,\r\n").unwrap_err();
        let found: Vec<(u64, &str)> = errors.iter().map(|e| (e.line, e.column.as_str())).collect();
        assert_eq!(found, vec![(2, "owner_email")]);
        assert_eq!(
            errors.listed()[0].message(crate::i18n::Lang::Ja),
            "2 行目、owner_email 列: メールアドレスの形式ではありません"
        );
    }

    #[test]
    fn tier_and_custom_values_have_the_json_api_limits() {
        let tier = "t".repeat(crate::account::MAX_TIER + 1);
        let value = "v".repeat(crate::account::MAX_CUSTOM_VALUE + 1);
        let errors = parse_text(&format!("account_id,name,tier,custom.note\nA1,Acme,{tier},ok\nA2,Beta,ok,{value}\n"))
            .unwrap_err();
        let found: Vec<(u64, &str, &Reason)> = errors.iter().map(|e| (e.line, e.column.as_str(), &e.reason)).collect();
        assert_eq!(
            found,
            vec![(2, "tier", &Reason::TooLong { max: 100 }), (3, "custom.note", &Reason::TooLong { max: 1_000 })]
        );
        let rendered = errors.listed()[1].message(crate::i18n::Lang::En);
        assert_eq!(rendered, "line 3, column custom.note: must be at most 1000 characters");
    }

    #[test]
    fn formulas_are_quoted_on_export_and_read_back_unchanged() {
        let text = "account_id,name,region,churn_note,custom.link\n\
                    A1,\"=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",@home,-3,+1-2\n\
                    -4,'=already quoted,-,-1200.50,'plain\n";
        let records = parse_text(text).unwrap();
        assert_eq!(records[0].name, "=HYPERLINK(\"http://x\",\"y\")");
        assert_eq!(records[1].name, "=already quoted", "a hand-quoted formula reads as the formula's text");
        let written = write(&records).unwrap();
        for cell in
            ["\nA1,\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",", ",'@home,", ",-3,'+1-2\n", "\n-4,'=already quoted,"]
        {
            assert!(written.contains(cell), "{cell} in {written}");
        }
        assert!(written.contains(",'-,") && written.contains(",-1200.50,'plain\n"), "{written}");
        assert_eq!(parse_text(&written).unwrap(), records);
    }

    #[test]
    fn export_then_parse_returns_the_same_records() {
        let text = "account_id,name,tier,stage,created_at,custom.dept\nA1,株式会社アクメ,Enterprise,adoption,2024/04/01,人事\nA2,Beta,,,,\n";
        let records = parse_text(text).unwrap();
        assert_eq!(records[0].tier.as_deref(), Some("enterprise"));
        let written = write(&records).unwrap();
        let again = parse_text(&written).unwrap();
        assert_eq!(records, again);
    }
}
