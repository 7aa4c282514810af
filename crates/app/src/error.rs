use domain::i18n::Lang;
use domain::interchange::RowError;
use domain::segments::SegmentError;
use domain::{FieldError, Reason};
use store::{Entity, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Fields of the input are invalid; every one is listed.
    #[error("invalid input: {}", render_fields(.0))]
    Invalid(Vec<FieldError>),
    /// A file could not be imported; nothing was written. Every bad row is listed.
    #[error("{file}: {} problem(s), nothing imported:\n{}", .errors.len(), render_rows(.errors))]
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

    /// The row errors in the reader's language, one per line.
    pub fn import_report(file: &str, errors: &[RowError], lang: Lang) -> String {
        let heading = match lang {
            Lang::Ja => format!("{file}: {} 件の問題があるため、何も取り込んでいません。", errors.len()),
            Lang::En => format!("{file}: {} problem(s), nothing imported.", errors.len()),
        };
        std::iter::once(heading).chain(errors.iter().map(|e| e.message(lang))).collect::<Vec<_>>().join("\n")
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
    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
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
