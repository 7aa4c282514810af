//! `kizuna import events FILE.ndjson[.gz]`: one Segment message per line. The whole file is
//! checked first (every bad line reported, nothing written), then stored in chunks. Messages
//! without a `messageId` get one derived from the line, so running the same file again after an
//! interruption stores nothing twice.
//!
//! The file is read in blocks of whole lines rather than line by line: the check spreads the
//! blocks over the machine's cores, and neither pass allocates per line.

use crate::{App, AppError};
use chrono::{DateTime, Utc};
use domain::interchange::{FileErrors, RowError};
use domain::tracking::{parse_message_text, Message, MAX_MESSAGE_BYTES};
use domain::Reason;
use serde_json::Map;
use std::io::Read;
use std::sync::Mutex;
use store::IngestCounts;

/// Messages stored per transaction: what a transaction costs whatever its size (rollup and
/// end-user upserts, the commit) is spread over this many.
const CHUNK_MESSAGES: usize = 50_000;
/// About this many bytes of whole lines are read at a time.
const BLOCK_BYTES: usize = 1 << 20;

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

/// A file's lines in blocks of whole lines, each with the number of its first line.
struct Blocks<R> {
    reader: R,
    block_bytes: usize,
    next_line: u64,
    /// The start of a line the last read cut off.
    carry: Vec<u8>,
    done: bool,
}

struct Block {
    first_line: u64,
    bytes: Vec<u8>,
}

impl Block {
    /// The block's lines with their numbers.
    fn lines(&self) -> impl Iterator<Item = (u64, &[u8])> {
        let bytes = self.bytes.strip_suffix(b"\n").unwrap_or(&self.bytes);
        (self.first_line..).zip(bytes.split(|b| *b == b'\n'))
    }
}

impl<R: Read> Blocks<R> {
    fn new(reader: R, block_bytes: usize) -> Blocks<R> {
        Blocks { reader, block_bytes, next_line: 1, carry: Vec::new(), done: false }
    }

    /// The next block; a read error names the line it stopped at.
    fn next_block(&mut self) -> Result<Option<Block>, RowError> {
        if self.done {
            return Ok(None);
        }
        // The carried part holds no line end: it is what followed the last one.
        let mut bytes = std::mem::take(&mut self.carry);
        bytes.reserve(self.block_bytes);
        let mut has_line_end = false;
        while bytes.len() < self.block_bytes || !has_line_end {
            let end = bytes.len();
            bytes.resize(end + self.block_bytes.div_ceil(4), 0);
            let read = match self.reader.read(&mut bytes[end..]) {
                Ok(read) => read,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                    bytes.truncate(end);
                    continue;
                }
                Err(e) => {
                    self.done = true;
                    let reason = Reason::Malformed { detail: e.to_string() };
                    return Err(RowError { line: self.next_line, column: "*".into(), reason });
                }
            };
            bytes.truncate(end + read);
            if read == 0 {
                self.done = true;
                break;
            }
            has_line_end |= bytes[end..].contains(&b'\n');
        }
        if !self.done {
            let cut = bytes.iter().rposition(|b| *b == b'\n').map_or(bytes.len(), |last| last + 1);
            self.carry = bytes.split_off(cut);
        }
        if bytes.is_empty() {
            return Ok(None);
        }
        let first_line = self.next_line;
        self.next_line += bytes.iter().filter(|b| **b == b'\n').count() as u64;
        Ok(Some(Block { first_line, bytes }))
    }
}

/// One line of a block as a message (`None` for a blank line).
fn parse_block_line(line: &[u8], number: u64, received_at: DateTime<Utc>) -> Result<Option<Message>, RowError> {
    match std::str::from_utf8(line) {
        Ok(text) => parse_line(text, number, received_at),
        Err(e) => {
            Err(RowError { line: number, column: "*".into(), reason: Reason::Malformed { detail: e.to_string() } })
        }
    }
}

impl App {
    /// Checks every line of an NDJSON file; the errors of all bad lines, or the number of messages.
    pub fn check_events(&self, reader: impl Read + Send) -> Result<usize, Vec<RowError>> {
        check(reader, BLOCK_BYTES)
    }

    /// Stores a checked file in chunks, calling `progress` with the messages done so far. Lines
    /// are parsed on a blocking thread while the previous chunk is being written.
    pub async fn backfill_events(
        &self,
        file: &str,
        reader: impl Read + Send + 'static,
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
        self.resident.ingested(&counts.accounts);
        self.health_changed(counts.accounts.iter().map(|(id, _)| *id));
        let stored = chunk.len();
        chunk.clear();
        Ok(stored)
    }
}

/// `App::check_events`, on as many threads as the machine has cores.
fn check(reader: impl Read + Send, block_bytes: usize) -> Result<usize, Vec<RowError>> {
    let received_at = Utc::now();
    let blocks = Mutex::new(Blocks::new(reader, block_bytes));
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    let results: Vec<(usize, FileErrors)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let (mut messages, mut errors) = (0, FileErrors::new());
                    loop {
                        let next = blocks.lock().unwrap_or_else(|p| p.into_inner()).next_block();
                        match next {
                            Ok(Some(block)) => {
                                for (number, line) in block.lines() {
                                    match parse_block_line(line, number, received_at) {
                                        Ok(Some(_)) => messages += 1,
                                        Ok(None) => {}
                                        Err(error) => errors.push(error),
                                    }
                                }
                            }
                            Ok(None) => break,
                            Err(error) => {
                                errors.push(error);
                                break;
                            }
                        }
                    }
                    (messages, errors)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    });
    let messages = results.iter().map(|(messages, _)| messages).sum();
    let mut errors = FileErrors::new();
    for (_, part) in results {
        errors.absorb(part);
    }
    if errors.is_empty() {
        Ok(messages)
    } else {
        Err(errors.into_rows())
    }
}

/// Reads and parses lines into chunks for `backfill_events`; stops at the first bad line (the
/// file was checked before) or when the receiver is gone.
fn parse_chunks(reader: impl Read, chunks: &tokio::sync::mpsc::Sender<Result<Vec<Message>, RowError>>) {
    let mut blocks = Blocks::new(reader, BLOCK_BYTES);
    let mut chunk = Vec::with_capacity(CHUNK_MESSAGES);
    let mut received_at = Utc::now();
    loop {
        let block = match blocks.next_block() {
            Ok(Some(block)) => block,
            Ok(None) => break,
            Err(error) => {
                let _ = chunks.blocking_send(Err(error));
                return;
            }
        };
        for (number, line) in block.lines() {
            match parse_block_line(line, number, received_at) {
                Ok(Some(message)) => chunk.push(message),
                Ok(None) => {}
                Err(error) => {
                    let _ = chunks.blocking_send(Err(error));
                    return;
                }
            }
            if chunk.len() == CHUNK_MESSAGES {
                if chunks.blocking_send(Ok(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK_MESSAGES)))).is_err()
                {
                    return;
                }
                received_at = Utc::now();
            }
        }
    }
    if !chunk.is_empty() {
        let _ = chunks.blocking_send(Ok(chunk));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_lines(text: &str, block_bytes: usize) -> Vec<(u64, String)> {
        let mut blocks = Blocks::new(text.as_bytes(), block_bytes);
        let mut lines = Vec::new();
        while let Some(block) = blocks.next_block().unwrap() {
            lines.extend(block.lines().map(|(n, line)| (n, String::from_utf8(line.to_vec()).unwrap())));
        }
        lines
    }

    #[test]
    fn lines_keep_their_numbers_across_blocks_of_any_size() {
        let long = "x".repeat(50);
        let text = format!("a\r\n\nbb\n{long}\nccc\nlast without a line end");
        let expected: Vec<(u64, String)> =
            text.split('\n').enumerate().map(|(i, line)| (i as u64 + 1, line.to_owned())).collect();
        for block_bytes in [1, 3, 8, 64, 1 << 20] {
            assert_eq!(read_lines(&text, block_bytes), expected, "blocks of {block_bytes} bytes");
        }
        assert_eq!(read_lines("one\ntwo\n", 4), vec![(1, "one".to_owned()), (2, "two".to_owned())]);
        assert!(read_lines("", 4).is_empty());
    }

    #[test]
    fn the_check_reports_every_bad_line_in_order_whichever_thread_read_it() {
        let good = r#"{"type":"track","userId":"u","event":"e"}"#;
        let mut text = String::new();
        for n in 1..=200 {
            text.push_str(match n % 50 {
                7 => "not json",
                31 => "\u{fffd}",
                _ => good,
            });
            text.push('\n');
        }
        let mut bytes = text.into_bytes();
        let invalid_utf8 = bytes.iter().position(|b| *b == 0xef).unwrap();
        bytes[invalid_utf8] = 0xff;
        let errors = check(bytes.as_slice(), 64).unwrap_err();
        let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![7, 31, 57, 81, 107, 131, 157, 181]);
        assert_eq!(check(format!("{good}\n\n{good}").as_bytes(), 16), Ok(2));
    }

    #[test]
    fn a_file_of_many_bad_lines_keeps_the_first_thousand_and_counts_the_rest() {
        let text = "not json\n".repeat(50_000);
        let errors = check(text.as_bytes(), 4096).unwrap_err();
        assert_eq!(errors.len(), domain::interchange::MAX_REPORTED_ERRORS + 1);
        let lines: Vec<u64> = errors[..domain::interchange::MAX_REPORTED_ERRORS].iter().map(|e| e.line).collect();
        assert_eq!(lines, (1..=1000).collect::<Vec<u64>>(), "the first lines, in order, across threads");
        assert_eq!(errors[1000].reason, Reason::MoreProblems { count: 49_000 });
    }
}
