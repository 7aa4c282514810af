//! `kizuna import events FILE.ndjson[.gz]`: one Segment message per line. The whole file is
//! checked first (every bad line reported, nothing written), then stored in chunks. Messages
//! without a `messageId` get one derived from the line, so running the same file again after an
//! interruption stores nothing twice.

use crate::{App, AppError};
use chrono::{DateTime, Utc};
use domain::interchange::RowError;
use domain::tracking::{parse_message_text, Message, MAX_MESSAGE_BYTES};
use domain::Reason;
use serde_json::Map;
use std::io::BufRead;
use store::IngestCounts;

const CHUNK_MESSAGES: usize = 5_000;

/// One line as a message; `received_at` stands for a message without a timestamp.
fn parse_line(line: &str, number: u64, received_at: DateTime<Utc>) -> Result<Option<Message>, RowError> {
    let trimmed = line.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    let fail = |column: &str, reason: Reason| RowError { line: number, column: column.to_owned(), reason };
    if trimmed.len() > MAX_MESSAGE_BYTES {
        return Err(fail("*", Reason::TooLong { max: MAX_MESSAGE_BYTES }));
    }
    let derived_id = || format!("line-{}", crate::auth::secret_hash(trimmed));
    parse_message_text(trimmed, None, &Map::new(), None, received_at, derived_id).map(Some).map_err(|e| {
        match e.reason {
            Reason::Malformed { .. } => fail("*", e.reason),
            reason => fail(e.field, reason),
        }
    })
}

impl App {
    /// Checks every line of an NDJSON file; the errors of all bad lines, or the number of messages.
    pub fn check_events(&self, reader: impl BufRead) -> Result<usize, Vec<RowError>> {
        let mut errors = Vec::new();
        let mut messages = 0;
        let received_at = Utc::now();
        for (index, line) in reader.lines().enumerate() {
            let number = index as u64 + 1;
            match line.map_err(|e| RowError {
                line: number,
                column: "*".into(),
                reason: Reason::Malformed { detail: e.to_string() },
            }) {
                Ok(line) => match parse_line(&line, number, received_at) {
                    Ok(Some(_)) => messages += 1,
                    Ok(None) => {}
                    Err(error) => errors.push(error),
                },
                Err(error) => {
                    errors.push(error);
                    break;
                }
            }
        }
        if errors.is_empty() {
            Ok(messages)
        } else {
            Err(errors)
        }
    }

    /// Stores a checked file in chunks, calling `progress` with the messages done so far. Lines
    /// are parsed on a blocking thread while the previous chunk is being written.
    pub async fn backfill_events(
        &self,
        file: &str,
        reader: impl BufRead + Send + 'static,
        mut progress: impl FnMut(usize),
    ) -> Result<IngestCounts, AppError> {
        let (chunks, mut parsed) = tokio::sync::mpsc::channel::<Result<Vec<Message>, RowError>>(2);
        let parser = tokio::task::spawn_blocking(move || parse_chunks(reader, &chunks));
        let mut total = IngestCounts::default();
        let mut done = 0;
        while let Some(chunk) = parsed.recv().await {
            let mut chunk =
                chunk.map_err(|error| AppError::ImportRejected { file: file.to_owned(), errors: vec![error] })?;
            done += self.store_chunk(&mut chunk, &mut total).await?;
            progress(done);
        }
        parser.await.map_err(|e| AppError::Internal(format!("parsing {file}: {e}")))?;
        Ok(total)
    }

    async fn store_chunk(&self, chunk: &mut Vec<Message>, total: &mut IngestCounts) -> Result<usize, AppError> {
        if chunk.is_empty() {
            return Ok(0);
        }
        let counts = self.store.ingest(chunk, Utc::now(), true, self.zone()).await?;
        total.stored += counts.stored;
        total.duplicates += counts.duplicates;
        total.unattributed += counts.unattributed;
        total.accounts_created += counts.accounts_created;
        self.health_changed(counts.accounts);
        let stored = chunk.len();
        chunk.clear();
        Ok(stored)
    }
}

/// Reads and parses lines into chunks for `backfill_events`; stops at the first bad line (the
/// file was checked before) or when the receiver is gone.
fn parse_chunks(reader: impl BufRead, chunks: &tokio::sync::mpsc::Sender<Result<Vec<Message>, RowError>>) {
    let mut chunk = Vec::with_capacity(CHUNK_MESSAGES);
    let mut received_at = Utc::now();
    for (index, line) in reader.lines().enumerate() {
        let number = index as u64 + 1;
        let parsed = line
            .map_err(|e| RowError {
                line: number,
                column: "*".into(),
                reason: Reason::Malformed { detail: e.to_string() },
            })
            .and_then(|line| parse_line(&line, number, received_at));
        match parsed {
            Ok(Some(message)) => chunk.push(message),
            Ok(None) => {}
            Err(error) => {
                let _ = chunks.blocking_send(Err(error));
                return;
            }
        }
        if chunk.len() == CHUNK_MESSAGES {
            if chunks.blocking_send(Ok(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK_MESSAGES)))).is_err() {
                return;
            }
            received_at = Utc::now();
        }
    }
    if !chunk.is_empty() {
        let _ = chunks.blocking_send(Ok(chunk));
    }
}
