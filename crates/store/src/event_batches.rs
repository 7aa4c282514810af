//! Raw tracking events are stored in batches: every attributed event of one ingest transaction
//! goes into one row as a JSON array (LZ4-compressed: the records repeat their field names and
//! values), so an ingest writes one row however many events it holds.
//! Events still without an account stay rows of their own until a `group` call attributes them,
//! and then move into a batch.
//!
//! Deduplication: each batch row also holds a 64-bit hash of every message id its transaction
//! stored. The store keeps the hashes of the last `DEDUP_WINDOW` in memory and, inside each
//! ingest transaction (which holds the database's ingest lock), first reads the batches other
//! processes committed since it last looked. A B-tree of random keys would cost a 4 KB page
//! write per message on SQLite; this costs 8 bytes per message, written in sequence.

use crate::error::{Entity, StoreError};
use crate::Result;
use chrono::{DateTime, Duration, Utc};
use domain::tracking::{JsonObject, Message, MessageKind};
use foldhash::HashSet;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// How long a message id is remembered: a message sent again within it is stored once.
pub(crate) const DEDUP_WINDOW: Duration = Duration::days(7);

/// The deduplication key of a message id. Two different ids share a key with a probability
/// of about n / 2^64 for n remembered ids (1 in 1.8 million million for ten million).
pub(crate) fn message_key(message_id: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(message_id.as_bytes())
}

/// Keys as stored in a batch row: 8 bytes each, little-endian.
pub(crate) fn encode_keys(keys: &[u64]) -> Vec<u8> {
    keys.iter().flat_map(|k| k.to_le_bytes()).collect()
}

fn decode_keys(bytes: &[u8]) -> impl Iterator<Item = u64> + '_ {
    bytes.chunks_exact(8).map(|chunk| u64::from_le_bytes(chunk.try_into().unwrap_or_default()))
}

/// The message keys stored within `DEDUP_WINDOW`, by batch, oldest first.
#[derive(Default)]
pub(crate) struct RecentMessages {
    keys: HashSet<u64>,
    batches: VecDeque<(DateTime<Utc>, Vec<u64>)>,
    /// The newest batch row whose keys are in `keys`.
    last_batch: i64,
}

impl RecentMessages {
    pub(crate) fn last_batch(&self) -> i64 {
        self.last_batch
    }

    pub(crate) fn contains(&self, key: u64) -> bool {
        self.keys.contains(&key)
    }

    /// Adds a committed batch row's keys (read back as stored, or just written).
    pub(crate) fn add(&mut self, batch: i64, received_at: DateTime<Utc>, stored: &[u8]) {
        let keys: Vec<u64> = decode_keys(stored).collect();
        self.keys.extend(keys.iter().copied());
        self.batches.push_back((received_at, keys));
        self.last_batch = self.last_batch.max(batch);
    }

    /// Forgets the batches received before `now − DEDUP_WINDOW`.
    pub(crate) fn forget_before(&mut self, now: DateTime<Utc>) {
        while let Some((received_at, _)) = self.batches.front() {
            if *received_at >= now - DEDUP_WINDOW {
                break;
            }
            if let Some((_, keys)) = self.batches.pop_front() {
                keys.iter().for_each(|key| {
                    self.keys.remove(key);
                });
            }
        }
    }
}

/// One stored event as written into a batch (short field names: they repeat in every record).
#[derive(Serialize)]
pub(crate) struct RecordRef<'a> {
    #[serde(rename = "m")]
    pub message_id: &'a str,
    #[serde(rename = "k")]
    pub kind: MessageKind,
    #[serde(rename = "a")]
    pub account: i64,
    #[serde(rename = "u", skip_serializing_if = "Option::is_none")]
    pub user_id: Option<&'a str>,
    #[serde(rename = "n", skip_serializing_if = "Option::is_none")]
    pub anonymous_id: Option<&'a str>,
    #[serde(rename = "e", skip_serializing_if = "Option::is_none")]
    pub event: Option<&'a str>,
    #[serde(rename = "p")]
    pub properties: &'a JsonObject,
    #[serde(rename = "c")]
    pub context: &'a JsonObject,
    #[serde(rename = "t", serialize_with = "micros::serialize")]
    pub occurred_at: DateTime<Utc>,
}

impl<'a> RecordRef<'a> {
    pub(crate) fn of(message: &'a Message, account: i64) -> RecordRef<'a> {
        RecordRef {
            message_id: &message.message_id,
            kind: message.kind,
            account,
            user_id: message.user_id.as_deref(),
            anonymous_id: message.anonymous_id.as_deref(),
            event: message.event.as_deref(),
            properties: &message.properties,
            context: &message.context,
            occurred_at: message.timestamp,
        }
    }
}

/// One stored event read back from a batch.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub(crate) struct Record {
    #[serde(rename = "m")]
    pub message_id: String,
    #[serde(rename = "k")]
    pub kind: MessageKind,
    #[serde(rename = "a")]
    pub account: i64,
    #[serde(rename = "u", default)]
    pub user_id: Option<String>,
    #[serde(rename = "n", default)]
    pub anonymous_id: Option<String>,
    #[serde(rename = "e", default)]
    pub event: Option<String>,
    #[serde(rename = "p", default)]
    pub properties: JsonObject,
    #[serde(rename = "c", default)]
    pub context: JsonObject,
    #[serde(rename = "t", deserialize_with = "micros::deserialize")]
    pub occurred_at: DateTime<Utc>,
}

/// Times in records are microseconds since the epoch: formatting each as text cost more than
/// the rest of the record. Batches written before hold RFC 3339 text, which still reads.
mod micros {
    use chrono::{DateTime, Utc};
    use serde::de::{Error, Visitor};
    use serde::{Deserializer, Serializer};
    use std::fmt;

    pub(super) fn serialize<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(at.timestamp_micros())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
        struct Time;
        impl Visitor<'_> for Time {
            type Value = DateTime<Utc>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("microseconds since the epoch or an RFC 3339 time")
            }

            fn visit_i64<E: Error>(self, micros: i64) -> Result<DateTime<Utc>, E> {
                DateTime::from_timestamp_micros(micros).ok_or_else(|| E::custom(format!("time {micros} out of range")))
            }

            fn visit_u64<E: Error>(self, micros: u64) -> Result<DateTime<Utc>, E> {
                self.visit_i64(i64::try_from(micros).map_err(E::custom)?)
            }

            fn visit_str<E: Error>(self, text: &str) -> Result<DateTime<Utc>, E> {
                DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(Time)
    }
}

impl Record {
    pub(crate) fn as_ref(&self) -> RecordRef<'_> {
        RecordRef {
            message_id: &self.message_id,
            kind: self.kind,
            account: self.account,
            user_id: self.user_id.as_deref(),
            anonymous_id: self.anonymous_id.as_deref(),
            event: self.event.as_deref(),
            properties: &self.properties,
            context: &self.context,
            occurred_at: self.occurred_at,
        }
    }
}

/// Appends records to one batch's JSON array.
#[derive(Default)]
pub(crate) struct BatchWriter {
    payload: Vec<u8>,
    count: i64,
}

impl BatchWriter {
    /// A writer with room for about `records` usual records.
    pub(crate) fn with_capacity(records: usize) -> BatchWriter {
        BatchWriter { payload: Vec::with_capacity(records * 160), count: 0 }
    }

    pub(crate) fn push(&mut self, record: &RecordRef<'_>) {
        self.payload.push(if self.count == 0 { b'[' } else { b',' });
        serde_json::to_writer(&mut self.payload, record).expect("records of maps and strings always serialize");
        self.count += 1;
    }

    /// The number of records and the payload to store.
    pub(crate) fn finish(mut self) -> (i64, Vec<u8>) {
        if self.count == 0 {
            self.payload.push(b'[');
        }
        self.payload.push(b']');
        (self.count, lz4_flex::compress_prepend_size(&self.payload))
    }
}

/// The records of a stored batch.
pub(crate) fn decode_batch(id: i64, payload: &[u8]) -> Result<Vec<Record>> {
    let corrupt =
        |detail: String| StoreError::Corrupt { entity: Entity::Event, detail: format!("event batch {id}: {detail}") };
    let json = lz4_flex::decompress_size_prepended(payload).map_err(|e| corrupt(e.to_string()))?;
    serde_json::from_slice(&json).map_err(|e| corrupt(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str, kind: MessageKind) -> Message {
        Message {
            kind,
            message_id: id.into(),
            user_id: Some("u1".into()),
            anonymous_id: None,
            event: Some("Payslip Sent".into()),
            group_id: Some("ACC-1".into()),
            previous_id: None,
            traits: serde_json::Map::new(),
            properties: JsonObject::from_map(serde_json::json!({"employees": 12}).as_object().unwrap()),
            context: JsonObject::default(),
            timestamp: "2025-01-10T09:00:00.123456Z".parse().unwrap(),
        }
    }

    #[test]
    fn a_batch_reads_back_every_record_it_was_given() {
        let messages = [message("m1", MessageKind::Track), message("m2", MessageKind::Page)];
        let mut writer = BatchWriter::default();
        for m in &messages {
            writer.push(&RecordRef::of(m, 7));
        }
        let (count, payload) = writer.finish();
        let records = decode_batch(1, &payload).unwrap();
        assert_eq!(count, 2);
        assert_eq!(records.len(), 2);
        assert_eq!(records[1].kind, MessageKind::Page);
        assert_eq!(records[0].account, 7);
        assert_eq!(records[0].properties, messages[0].properties);
        assert_eq!(records[0].occurred_at, messages[0].timestamp, "timestamps keep their microseconds");
        assert_eq!(records[0].anonymous_id, None);
    }

    #[test]
    fn an_empty_batch_is_an_empty_array() {
        let (count, payload) = BatchWriter::default().finish();
        assert_eq!((count, decode_batch(1, &payload).unwrap()), (0, vec![]));
    }

    #[test]
    fn batches_written_with_text_times_still_read() {
        let json = br#"[{"m":"m1","k":"track","a":3,"u":"u1","e":"Login","p":{"n":1},"c":{},"t":"2025-01-10T09:00:00.123456Z"}]"#;
        let records = decode_batch(1, &lz4_flex::compress_prepend_size(json)).unwrap();
        assert_eq!(records[0].occurred_at, "2025-01-10T09:00:00.123456Z".parse::<DateTime<Utc>>().unwrap());
        assert_eq!(records[0].properties.to_map()["n"], serde_json::json!(1));
    }

    #[test]
    fn message_keys_differ_by_id_and_are_stable() {
        assert_eq!(message_key("m-1"), message_key("m-1"));
        assert_ne!(message_key("m-1"), message_key("m-2"));
    }

    #[test]
    fn recent_messages_remember_a_batch_for_the_window_and_then_forget_it() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let mut recent = RecentMessages::default();
        let (old, new) = (message_key("old"), message_key("new"));
        recent.add(3, at("2025-01-01T00:00:00Z"), &encode_keys(&[old]));
        recent.add(4, at("2025-01-07T00:00:00Z"), &encode_keys(&[new]));
        assert_eq!(recent.last_batch(), 4);
        recent.forget_before(at("2025-01-07T23:59:59Z"));
        assert!(recent.contains(old), "six days and 23 hours later it is still known");
        recent.forget_before(at("2025-01-08T00:00:01Z"));
        assert!(!recent.contains(old), "after seven days it is forgotten");
        assert!(recent.contains(new));
    }

    #[test]
    fn a_corrupt_batch_names_its_row() {
        let error = decode_batch(42, &lz4_flex::compress_prepend_size(b"[{")).unwrap_err().to_string();
        assert!(error.contains("event batch 42"), "{error}");
    }
}
