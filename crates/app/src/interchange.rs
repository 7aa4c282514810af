//! CSV import and export use cases: all-or-nothing, every bad row reported, idempotent.

use crate::{App, AppError};
use domain::interchange::subscriptions::SubscriptionRecord;
use domain::interchange::table::Columns;
use domain::interchange::{
    accounts, contacts, decode, encode, nps, spend, subscriptions, tickets, Encoding, ExportEncoding, FileErrors,
    RowError, Table,
};
use domain::subscription::{overlapping_periods, SubscriptionTerms};
use domain::{AccountId, ExternalId, Reason};
use engine::Change;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use store::ImportCounts;

/// An import writing more rows than this refreshes the planner's statistics.
const STATISTICS_AFTER_ROWS: usize = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    Accounts,
    Contacts,
    Subscriptions,
    Spend,
    Nps,
    Tickets,
}

impl ImportKind {
    pub const ALL: [ImportKind; 6] = [
        ImportKind::Accounts,
        ImportKind::Contacts,
        ImportKind::Subscriptions,
        ImportKind::Spend,
        ImportKind::Nps,
        ImportKind::Tickets,
    ];

    /// The name in URLs and on the command line; the file is `<name>.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            ImportKind::Accounts => "accounts",
            ImportKind::Contacts => "contacts",
            ImportKind::Subscriptions => "subscriptions",
            ImportKind::Spend => "spend",
            ImportKind::Nps => "nps",
            ImportKind::Tickets => "tickets",
        }
    }

    pub fn parse(raw: &str) -> Option<ImportKind> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == raw)
    }

    fn entity(self) -> &'static str {
        match self {
            ImportKind::Accounts => "account",
            ImportKind::Contacts => "contact",
            ImportKind::Subscriptions => "subscription_period",
            ImportKind::Spend => "marketing_spend",
            ImportKind::Nps => "nps_response",
            ImportKind::Tickets => "ticket",
        }
    }

    fn columns(self) -> &'static Columns {
        match self {
            ImportKind::Accounts => &accounts::COLUMNS,
            ImportKind::Contacts => &contacts::COLUMNS,
            ImportKind::Subscriptions => &subscriptions::COLUMNS,
            ImportKind::Spend => &spend::COLUMNS,
            ImportKind::Nps => &nps::COLUMNS,
            ImportKind::Tickets => &tickets::COLUMNS,
        }
    }
}

/// Whether reading a file writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Write {
    Import,
    DryRun,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImportOutcome {
    pub kind: ImportKind,
    pub encoding: Encoding,
    pub rows: usize,
    #[serde(flatten)]
    pub counts: ImportCounts,
}

impl App {
    /// Imports one CSV file. `file` names it in error reports, which list the first
    /// `MAX_REPORTED_ERRORS` problems and count the others. Nothing is written unless every row
    /// is valid.
    pub async fn import_csv(
        &self,
        actor: &crate::Actor,
        kind: ImportKind,
        file: &str,
        bytes: &[u8],
        encoding: Option<Encoding>,
    ) -> Result<ImportOutcome, AppError> {
        self.read_csv(actor, kind, file, bytes, encoding, Write::Import).await
    }

    /// Checks one CSV file as `import_csv` would, writing nothing: `ImportRejected` with every
    /// bad row, or the number of rows ready (counts are all zero).
    pub async fn check_csv(
        &self,
        actor: &crate::Actor,
        kind: ImportKind,
        file: &str,
        bytes: &[u8],
        encoding: Option<Encoding>,
    ) -> Result<ImportOutcome, AppError> {
        self.read_csv(actor, kind, file, bytes, encoding, Write::DryRun).await
    }

    async fn read_csv(
        &self,
        actor: &crate::Actor,
        kind: ImportKind,
        file: &str,
        bytes: &[u8],
        encoding: Option<Encoding>,
        write: Write,
    ) -> Result<ImportOutcome, AppError> {
        let dry = write == Write::DryRun;
        let rejected =
            |errors: FileErrors| AppError::ImportRejected { file: file.to_owned(), errors: errors.into_rows() };
        let (text, encoding) = decode(bytes, encoding)
            .map_err(|reason| rejected(RowError { line: 1, column: "*".into(), reason }.into()))?;
        let checked = |rows| ImportOutcome { kind, encoding, rows, counts: ImportCounts::default() };
        let table = Table::parse(&text, kind.columns()).map_err(rejected)?;
        let settings = self.settings();
        let (rows, counts, touched) = match kind {
            ImportKind::Accounts => {
                let records = accounts::parse(&table, &settings).map_err(rejected)?;
                if dry {
                    return Ok(checked(records.len()));
                }
                let counts = self.store.import_accounts(&records).await?;
                let ids: Vec<ExternalId> = records.iter().map(|r| r.external_id.clone()).collect();
                (records.len(), counts, self.store.account_ids_by_external_id(&ids).await?.into_values().collect())
            }
            ImportKind::Contacts => {
                let records = self.parse_naming_accounts(&table, contacts::parse).await.map_err(rejected)?;
                let lines: Vec<(u64, &ExternalId)> = records.iter().map(|r| (r.line, &r.account_external_id)).collect();
                self.resolve_accounts(&lines).await.map_err(rejected)?;
                if dry {
                    return Ok(checked(records.len()));
                }
                (records.len(), self.store.import_contacts(&records).await?, Vec::new())
            }
            ImportKind::Subscriptions => {
                let records = self
                    .parse_naming_accounts(&table, |table| subscriptions::parse(table, &settings))
                    .await
                    .map_err(rejected)?;
                let lines: Vec<(u64, &ExternalId)> = records.iter().map(|r| (r.line, &r.account_external_id)).collect();
                let account_ids = self.resolve_accounts(&lines).await.map_err(rejected)?;
                self.check_no_overlaps(&records, &account_ids).await.map_err(rejected)?;
                if dry {
                    return Ok(checked(records.len()));
                }
                let counts = self.store.import_subscriptions(&records).await?;
                (records.len(), counts, account_ids.into_values().collect::<Vec<AccountId>>())
            }
            ImportKind::Spend => {
                let records = spend::parse(&table).map_err(rejected)?;
                let rows: Vec<(String, domain::Money)> =
                    records.iter().map(|r| (r.month.to_string(), r.amount)).collect();
                if dry {
                    return Ok(checked(records.len()));
                }
                (records.len(), self.store.import_spend(&rows).await?, Vec::new())
            }
            ImportKind::Nps => {
                let zone = self.zone();
                let records =
                    self.parse_naming_accounts(&table, |table| nps::parse(table, zone)).await.map_err(rejected)?;
                let lines: Vec<(u64, &ExternalId)> = records.iter().map(|r| (r.line, &r.account_external_id)).collect();
                let accounts = self.resolve_accounts(&lines).await.map_err(rejected)?;
                if dry {
                    return Ok(checked(records.len()));
                }
                let counts = self.store.import_nps(&records).await?;
                for record in &records {
                    if let Some(id) = accounts.get(&record.account_external_id) {
                        self.tell_detractor(*id, record.score, record.responded_on).await?;
                    }
                }
                self.data_changed(&accounts.into_values().map(Change::everything).collect::<Vec<_>>()).await?;
                (records.len(), counts, Vec::new())
            }
            ImportKind::Tickets => {
                let zone = self.zone();
                let records =
                    self.parse_naming_accounts(&table, |table| tickets::parse(table, zone)).await.map_err(rejected)?;
                let lines: Vec<(u64, &ExternalId)> = records.iter().map(|r| (r.line, &r.account_external_id)).collect();
                let accounts = self.resolve_accounts(&lines).await.map_err(rejected)?;
                if dry {
                    return Ok(checked(records.len()));
                }
                let counts = self.store.import_tickets(&records).await?;
                self.data_changed(&accounts.into_values().map(Change::everything).collect::<Vec<_>>()).await?;
                (records.len(), counts, Vec::new())
            }
        };
        self.refresh_figures(&touched).await?;
        if counts.created + counts.updated > STATISTICS_AFTER_ROWS {
            self.store.refresh_statistics().await?;
        }
        let outcome = ImportOutcome { kind, encoding, rows, counts };
        let summary = serde_json::json!({ "file": file, "rows": outcome.rows, "created": outcome.counts.created,
            "updated": outcome.counts.updated, "unchanged": outcome.counts.unchanged });
        let changes = domain::audit::diff(&serde_json::Value::Null, &summary);
        self.record(actor, "import", kind.entity(), None, changes).await?;
        Ok(outcome)
    }

    /// Writes a CSV file in the same format the import reads, in `encoding` (UTF-8 with a BOM
    /// unless asked otherwise, so Excel opens it as it is). The HTTP export and `kizuna export`
    /// both come here. A character Shift_JIS cannot hold refuses the export, naming it.
    pub async fn export_csv(&self, kind: ImportKind, encoding: ExportEncoding) -> Result<Vec<u8>, AppError> {
        let text = self.export_csv_text(kind).await?;
        encode(&text, encoding).map_err(|reason| AppError::invalid("encoding", reason))
    }

    async fn export_csv_text(&self, kind: ImportKind) -> Result<String, AppError> {
        let written = match kind {
            ImportKind::Accounts => accounts::write(&self.store.export_accounts().await?),
            ImportKind::Contacts => contacts::write(&self.store.export_contacts().await?),
            ImportKind::Subscriptions => subscriptions::write(&self.store.export_subscriptions().await?),
            ImportKind::Spend => {
                let records: Vec<spend::SpendRecord> = self
                    .spend_by_month()
                    .await?
                    .into_iter()
                    .map(|(month, amount)| spend::SpendRecord { line: 0, month, amount })
                    .collect();
                spend::write(&records, &self.settings().currency)
            }
            ImportKind::Nps => nps::write(&self.store.export_nps().await?),
            ImportKind::Tickets => tickets::write(&self.store.export_tickets().await?),
        };
        written.map_err(|e| AppError::invalid("*", Reason::Malformed { detail: e.to_string() }))
    }

    /// Parses a file whose rows name an account. When some rows are bad, the account ids that
    /// read are also looked up, so one report names every problem (a bad value on one line and
    /// an unknown account on another) instead of the second only after the first is fixed.
    async fn parse_naming_accounts<R>(
        &self,
        table: &Table,
        parse: impl FnOnce(&Table) -> Result<Vec<R>, FileErrors>,
    ) -> Result<Vec<R>, FileErrors> {
        let mut errors = match parse(table) {
            Ok(records) => return Ok(records),
            Err(errors) => errors,
        };
        let named: Vec<(u64, ExternalId)> =
            table.rows().filter_map(|row| Some((row.line, ExternalId::parse(row.get("account_id")?).ok()?))).collect();
        let lines: Vec<(u64, &ExternalId)> = named.iter().map(|(line, id)| (*line, id)).collect();
        if let Err(unknown) = self.resolve_accounts(&lines).await {
            errors.absorb(unknown);
        }
        Err(errors)
    }

    /// Every account a file names must exist; each unknown one is reported on its line.
    async fn resolve_accounts(
        &self,
        lines: &[(u64, &ExternalId)],
    ) -> Result<HashMap<ExternalId, AccountId>, FileErrors> {
        let wanted: Vec<ExternalId> =
            lines.iter().map(|(_, id)| (*id).clone()).collect::<HashSet<_>>().into_iter().collect();
        let found = self.store.account_ids_by_external_id(&wanted).await.map_err(|e| {
            FileErrors::from(RowError {
                line: 1,
                column: "*".into(),
                reason: Reason::Malformed { detail: e.to_string() },
            })
        })?;
        let errors: FileErrors = lines
            .iter()
            .filter(|(_, id)| !found.contains_key(*id))
            .map(|(line, _)| RowError { line: *line, column: "account_id".into(), reason: Reason::UnknownAccount })
            .collect();
        if errors.is_empty() {
            Ok(found)
        } else {
            Err(errors)
        }
    }

    /// Periods of one subscription must not overlap, counting those already stored: a file row
    /// replaces the stored period with the same subscription id and start date.
    async fn check_no_overlaps(
        &self,
        records: &[SubscriptionRecord],
        account_ids: &HashMap<ExternalId, AccountId>,
    ) -> Result<(), FileErrors> {
        let ids: Vec<ExternalId> =
            records.iter().map(|r| r.subscription_id.clone()).collect::<HashSet<_>>().into_iter().collect();
        let stored = self.store.periods_of_subscriptions(&ids).await.map_err(|e| {
            FileErrors::from(RowError {
                line: 1,
                column: "*".into(),
                reason: Reason::Malformed { detail: e.to_string() },
            })
        })?;
        let from_file: HashSet<(&ExternalId, chrono::NaiveDate)> =
            records.iter().map(|r| (&r.subscription_id, r.start_date)).collect();
        let file_terms: Vec<SubscriptionTerms> =
            records.iter().map(|r| r.terms(account_ids[&r.account_external_id])).collect();
        let mut all: Vec<(Option<u64>, &SubscriptionTerms)> =
            records.iter().zip(&file_terms).map(|(r, t)| (Some(r.line), t)).collect();
        all.extend(
            stored
                .iter()
                .filter(|p| !from_file.contains(&(&p.terms.subscription_id, p.terms.start_date)))
                .map(|p| (None, &p.terms)),
        );
        let terms: Vec<&SubscriptionTerms> = all.iter().map(|(_, t)| *t).collect();
        let errors: FileErrors = overlapping_periods(&terms)
            .into_iter()
            .filter_map(|(later, earlier)| {
                let (line, other) = match (all[later].0, all[earlier].0) {
                    (Some(line), _) => (line, earlier),
                    (None, Some(line)) => (line, later),
                    (None, None) => return None,
                };
                Some(RowError {
                    line,
                    column: "start_date".into(),
                    reason: Reason::Overlaps { other_start: terms[other].start_date.to_string() },
                })
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}
