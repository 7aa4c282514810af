//! Tracking ingestion: requests hand their parsed messages to one writer task, which commits
//! whatever has queued up in a single transaction (group commit) and only then answers each
//! request. A full queue is refused at once (the caller answers 429), never dropped silently.

use crate::resident::Resident;
use crate::{App, AppError};
use chrono::NaiveDate;
use domain::tracking::Message;
use domain::usage::Tz;
use domain::AccountId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use store::{RefusedMessage, Store};
use tokio::sync::{mpsc, oneshot};

/// Requests that may wait for the writer before new ones are refused.
const QUEUE_REQUESTS: usize = 256;
/// Refused messages kept per write key and hour on each node (the tracking debugger); more in
/// the same hour are only logged, so a broken client cannot fill the database.
const REFUSED_PER_HOUR: usize = 100;
/// A refused message is kept up to this many characters.
const REFUSED_MESSAGE_CHARS: usize = 2_000;

/// How many refused messages each write key had kept this hour, on this node.
#[derive(Default)]
pub struct RefusedCounts {
    counts: Mutex<HashMap<String, (i64, usize)>>,
}

impl RefusedCounts {
    /// Keeps the messages still within their key's allowance for `hour`.
    fn admit(&self, hour: i64, messages: Vec<RefusedMessage>) -> Vec<RefusedMessage> {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.retain(|_, (at, _)| *at == hour);
        messages
            .into_iter()
            .filter(|message| {
                let (_, kept) = counts.entry(message.key_prefix.clone()).or_insert((hour, 0));
                *kept += 1;
                *kept <= REFUSED_PER_HOUR
            })
            .collect()
    }
}

/// A message as the debugger keeps it: its first `REFUSED_MESSAGE_CHARS` characters.
pub fn refused_text(text: &str) -> String {
    text.chars().take(REFUSED_MESSAGE_CHARS).collect()
}

/// At most this many messages go into one transaction.
const GROUP_MESSAGES: usize = 5_000;

pub(crate) struct Job {
    messages: Vec<Message>,
    /// The workspace time zone when the request came in; rollups count days in it.
    zone: Tz,
    done: oneshot::Sender<Result<(), AppError>>,
}

/// Starts the writer; it runs until every sender is gone. Accounts whose usage changed are sent
/// to `changed` after each commit.
pub(crate) fn start_writer(
    store: Arc<dyn Store>,
    create_accounts: bool,
    changed: Option<mpsc::UnboundedSender<AccountId>>,
    resident: Arc<Resident>,
) -> mpsc::Sender<Job> {
    let (sender, mut queue) = mpsc::channel::<Job>(QUEUE_REQUESTS);
    tokio::spawn(async move {
        while let Some(first) = queue.recv().await {
            let mut jobs = vec![first];
            let mut count = jobs[0].messages.len();
            while count < GROUP_MESSAGES {
                match queue.try_recv() {
                    Ok(job) => {
                        count += job.messages.len();
                        jobs.push(job);
                    }
                    Err(_) => break,
                }
            }
            // Move every job's messages into one transaction's worth, remembering whose they were.
            let mut all: Vec<Message> = Vec::with_capacity(count);
            let mut owned = Vec::with_capacity(jobs.len());
            for job in &mut jobs {
                let start = all.len();
                all.append(&mut job.messages);
                owned.push(start..all.len());
            }
            let zone = jobs[0].zone;
            match store.ingest(&all, chrono::Utc::now(), create_accounts, zone).await {
                Ok(counts) => {
                    jobs.into_iter().for_each(|job| {
                        let _ = job.done.send(Ok(()));
                    });
                    resident.ingested(&counts.accounts);
                    notify(&changed, &counts.accounts);
                }
                // One bad request must not fail the others that shared its transaction.
                Err(_) if jobs.len() > 1 => {
                    for (job, range) in jobs.into_iter().zip(owned) {
                        let result = store.ingest(&all[range], chrono::Utc::now(), create_accounts, job.zone).await;
                        let accounts = result.as_ref().map(|counts| counts.accounts.clone()).unwrap_or_default();
                        let _ = job.done.send(result.map(drop).map_err(AppError::from));
                        resident.ingested(&accounts);
                        notify(&changed, &accounts);
                    }
                }
                Err(error) => {
                    for job in jobs {
                        let _ = job.done.send(Err(AppError::Internal(format!("storing tracking messages: {error}"))));
                    }
                }
            }
        }
    });
    sender
}

/// Tells the health worker (when it runs) which accounts' usage changed.
fn notify(changed: &Option<mpsc::UnboundedSender<AccountId>>, accounts: &[(AccountId, NaiveDate)]) {
    if let Some(changed) = changed {
        for (account, _) in accounts {
            let _ = changed.send(*account);
        }
    }
}

impl App {
    /// Stores the messages durably; returns once they are committed.
    /// Keeps refused tracking messages for the debugger (the first `REFUSED_PER_HOUR` per write
    /// key and hour on this node).
    pub async fn record_refused(&self, refused: Vec<RefusedMessage>) -> Result<(), AppError> {
        let total = refused.len();
        let kept = self.refused_counts.admit(chrono::Utc::now().timestamp() / 3600, refused);
        if kept.len() < total {
            tracing::warn!(dropped = total - kept.len(), "refused tracking messages over the hourly allowance");
        }
        if !kept.is_empty() {
            self.store.record_refused(&kept).await?;
        }
        Ok(())
    }

    /// The most recent refused tracking messages, newest first.
    pub async fn refused_messages(&self, limit: i64) -> Result<Vec<RefusedMessage>, AppError> {
        Ok(self.store.refused_messages(limit).await?)
    }

    pub async fn ingest(&self, messages: Vec<Message>) -> Result<(), AppError> {
        let sender = self.ingest_queue.get_or_init(|| {
            start_writer(self.store.clone(), true, self.health_queue.get().cloned(), self.resident.clone())
        });
        let (done, committed) = oneshot::channel();
        sender.try_send(Job { messages, zone: self.zone(), done }).map_err(|error| match error {
            mpsc::error::TrySendError::Full(_) => AppError::Busy,
            mpsc::error::TrySendError::Closed(_) => AppError::Internal("the ingest writer stopped".into()),
        })?;
        committed.await.map_err(|_| AppError::Internal("the ingest writer stopped".into()))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(key: &str) -> RefusedMessage {
        RefusedMessage {
            key_prefix: key.into(),
            received_at: chrono::Utc::now(),
            field: "event".into(),
            code: "required".into(),
            reason_ja: "必須です".into(),
            reason_en: "is required".into(),
            message: "{}".into(),
        }
    }

    #[test]
    fn each_write_key_keeps_its_first_refused_messages_of_the_hour() {
        let counts = RefusedCounts::default();
        let many: Vec<RefusedMessage> = (0..150).map(|_| refused("kzw_a")).collect();
        assert_eq!(counts.admit(1, many).len(), REFUSED_PER_HOUR);
        assert_eq!(counts.admit(1, vec![refused("kzw_b")]).len(), 1, "another key has its own allowance");
        assert_eq!(counts.admit(1, vec![refused("kzw_a")]).len(), 0);
        assert_eq!(counts.admit(2, vec![refused("kzw_a")]).len(), 1, "a new hour starts again");
        assert_eq!(refused_text(&"あ".repeat(3000)).chars().count(), REFUSED_MESSAGE_CHARS);
    }
}
