use domain::i18n::{Bilingual, Lang};
use domain::interchange::table::Report;
use domain::interchange::RowError;
use domain::segments::SegmentError;
use domain::validation::grouped;
use domain::{FieldError, Reason};
use store::{Entity, StoreError};

/// The most row errors an import report lists; the rest are counted.
pub use domain::interchange::MAX_REPORTED_ERRORS;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Fields of the input are invalid; every one is listed.
    #[error("invalid input: {}", render_fields(.0))]
    Invalid(Vec<FieldError>),
    /// A file could not be imported; nothing was written. The bad rows are listed, the first
    /// `MAX_REPORTED_ERRORS` of them; when there were more, a last entry counts the others
    /// (`Reason::MoreProblems`, from `FileErrors::into_rows`).
    #[error("{file}: {} problem(s), nothing imported:\n{}", grouped(Report::of(.errors).total), render_rows(.errors))]
    ImportRejected { file: String, errors: Vec<RowError> },
    /// A segment was refused: its fields, and its rule's errors with their positions.
    #[error("invalid segment: {}", render_rule(.fields, .errors))]
    RuleRejected { fields: Vec<FieldError>, errors: Vec<SegmentError> },
    #[error("{entity} {id} does not exist")]
    NotFound { entity: Entity, id: String },
    #[error("another {entity} already has this {field}")]
    Conflict { entity: Entity, field: &'static str },
    /// The actor may not do this (e.g. a CSM editing another CSM's account).
    #[error("not allowed")]
    Forbidden,
    /// Too much is waiting to be stored; the caller should retry shortly.
    #[error("busy: too many requests are waiting to be stored")]
    Busy,
    /// An email cannot be sent because no SMTP server is configured; it was left as it was.
    #[error("no SMTP server is configured")]
    MailNotConfigured,
    /// An email was tried and not sent (it is now marked failed): why, in both languages.
    #[error("email not sent: {}", .0.en)]
    Undelivered(Bilingual),
    /// A fault of ours, not the user's.
    #[error("internal error: {0}")]
    Internal(String),
    #[error(transparent)]
    Store(StoreError),
}

impl AppError {
    pub fn invalid(field: &str, reason: Reason) -> AppError {
        AppError::Invalid(vec![FieldError::new(field, reason)])
    }

    /// The row errors in the reader's language, one per line: the first `MAX_REPORTED_ERRORS`,
    /// then how many more there are (a file of a million bad rows gives a short report).
    pub fn import_report(file: &str, errors: &[RowError], lang: Lang) -> String {
        let report = Report::of(errors);
        let total = grouped(report.total);
        let heading = match lang {
            Lang::Ja => format!("{file}: {total} 件の問題があるため、何も取り込んでいません。"),
            Lang::En => format!("{file}: {total} problem(s), nothing imported."),
        };
        let shown = report.listed.iter().map(|e| e.message(lang));
        std::iter::once(heading).chain(shown).chain(report.more(lang)).collect::<Vec<_>>().join("\n")
    }
}

fn render_fields(errors: &[FieldError]) -> String {
    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

fn render_rule(fields: &[FieldError], errors: &[SegmentError]) -> String {
    let fields = fields.iter().map(ToString::to_string);
    fields.chain(errors.iter().map(|e| format!("rule: {e}"))).collect::<Vec<_>>().join("; ")
}

fn render_rows(errors: &[RowError]) -> String {
    let report = Report::of(errors);
    let shown = report.listed.iter().map(ToString::to_string);
    shown.chain(report.more(Lang::En)).collect::<Vec<_>>().join("\n")
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> AppError {
        match error {
            StoreError::NotFound { entity, id } => AppError::NotFound { entity, id },
            StoreError::Conflict { entity, field } => AppError::Conflict { entity, field },
            StoreError::InvalidReference { .. } => AppError::invalid("*", Reason::UnknownReference),
            StoreError::Busy => AppError::Busy,
            other => AppError::Store(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_import_report_lists_the_first_thousand_errors_and_counts_the_rest() {
        let errors: Vec<RowError> =
            (2..=5001).map(|line| RowError { line, column: "name".into(), reason: Reason::Required }).collect();
        let report = AppError::import_report("a.csv", &errors, Lang::En);
        assert_eq!(report.lines().count(), 1 + MAX_REPORTED_ERRORS + 1);
        assert!(report.starts_with("a.csv: 5,000 problem(s)"), "{report}");
        assert!(report.ends_with("… and 4,000 more problem(s)"), "{report}");
        assert!(AppError::import_report("a.csv", &errors, Lang::Ja).ends_with("ほか 4,000 件の問題があります"));
    }

    #[test]
    fn a_capped_list_reports_the_total_it_counted() {
        let errors: domain::interchange::FileErrors =
            (2..1_000_002).map(|line| RowError { line, column: "name".into(), reason: Reason::Required }).collect();
        let rejected = AppError::ImportRejected { file: "a.csv".into(), errors: errors.into_rows() };
        let AppError::ImportRejected { file, errors } = &rejected else { unreachable!() };
        assert_eq!(errors.len(), MAX_REPORTED_ERRORS + 1);
        let report = AppError::import_report(file, errors, Lang::Ja);
        assert!(report.starts_with("a.csv: 1,000,000 件の問題があるため"), "{report}");
        assert!(report.contains("\n1001 行目、name 列: 必須です\nほか 999,000 件の問題があります"), "{report}");
        assert_eq!(report.lines().count(), 1 + MAX_REPORTED_ERRORS + 1);
        let display = rejected.to_string();
        assert!(
            display.starts_with("a.csv: 1,000,000 problem(s)") && display.ends_with("… and 999,000 more problem(s)")
        );
    }
}
