//! Segment-format tracking messages (identify, track, page, screen, group, alias): parsed and
//! checked once at the edge, with Segment's timestamp rule applied.

use crate::validation::Reason;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Segment's limit for one message, in bytes of JSON.
pub const MAX_MESSAGE_BYTES: usize = 32 * 1024;
/// Segment's limit for one request body (after decompression).
pub const MAX_BATCH_BYTES: usize = 500 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageKind {
    Identify,
    Track,
    Page,
    Screen,
    Group,
    Alias,
}

impl MessageKind {
    pub const ALL: [MessageKind; 6] = [Self::Identify, Self::Track, Self::Page, Self::Screen, Self::Group, Self::Alias];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Identify => "identify",
            Self::Track => "track",
            Self::Page => "page",
            Self::Screen => "screen",
            Self::Group => "group",
            Self::Alias => "alias",
        }
    }

    pub fn parse(raw: &str) -> Option<MessageKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }
}

/// One accepted message.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub kind: MessageKind,
    /// Deduplication key; generated when the client sent none.
    pub message_id: String,
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    /// The event name of `track`; the page or screen name of `page`/`screen`.
    pub event: Option<String>,
    /// `groupId` of `group`, or `context.groupId` of any message.
    pub group_id: Option<String>,
    /// `previousId` of `alias`.
    pub previous_id: Option<String>,
    pub traits: Map<String, Value>,
    pub properties: Map<String, Value>,
    pub context: Map<String, Value>,
    /// When it happened, per Segment: `receivedAt − (sentAt − timestamp)` when `sentAt` is given.
    pub timestamp: DateTime<Utc>,
}

/// Why a message was refused, and which field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageError {
    pub field: &'static str,
    pub reason: Reason,
}

fn error(field: &'static str, reason: Reason) -> MessageError {
    MessageError { field, reason }
}

/// Reads an id that clients send as a string or a number.
fn id(object: &Map<String, Value>, field: &'static str) -> Result<Option<String>, MessageError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) if s.len() > 500 => Err(error(field, Reason::TooLong { max: 500 })),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(error(field, Reason::WrongType { expected: "a string" })),
    }
}

fn object(value: Option<Value>, field: &'static str) -> Result<Map<String, Value>, MessageError> {
    match value {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map),
        Some(_) => Err(error(field, Reason::WrongType { expected: "an object" })),
    }
}

fn time(object: &Map<String, Value>, field: &'static str) -> Result<Option<DateTime<Utc>>, MessageError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => DateTime::parse_from_rfc3339(s)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| error(field, Reason::InvalidTimestamp)),
        Some(_) => Err(error(field, Reason::InvalidTimestamp)),
    }
}

/// Parses one message. `kind` is the endpoint's type (`None` inside a batch, where `type`
/// decides); `shared` holds a batch's `context` and `integrations`, which the message's own
/// values override key by key; `fallback_id` names a message that carries no `messageId`.
pub fn parse_message(
    value: Value,
    kind: Option<MessageKind>,
    shared_context: &Map<String, Value>,
    sent_at_of_batch: Option<DateTime<Utc>>,
    received_at: DateTime<Utc>,
    fallback_id: impl FnOnce() -> String,
) -> Result<Message, MessageError> {
    let Value::Object(mut map) = value else {
        return Err(error("message", Reason::WrongType { expected: "a JSON object" }));
    };
    let kind = match kind {
        Some(kind) => kind,
        None => match map.get("type").and_then(Value::as_str) {
            Some(raw) => MessageKind::parse(raw).ok_or_else(|| {
                error(
                    "type",
                    Reason::NotOneOf { allowed: MessageKind::ALL.iter().map(|k| k.as_str().to_owned()).collect() },
                )
            })?,
            None => return Err(error("type", Reason::Required)),
        },
    };
    let user_id = id(&map, "userId")?;
    let anonymous_id = id(&map, "anonymousId")?;
    if user_id.is_none() && anonymous_id.is_none() {
        return Err(error("userId", Reason::Required));
    }
    let own_context = object(map.remove("context"), "context")?;
    let context = if shared_context.is_empty() {
        own_context
    } else {
        let mut context = shared_context.clone();
        context.extend(own_context);
        context
    };
    let event = match kind {
        MessageKind::Track => Some(id(&map, "event")?.ok_or_else(|| error("event", Reason::Required))?),
        MessageKind::Page | MessageKind::Screen => id(&map, "name")?,
        _ => None,
    };
    let group_id = match kind {
        MessageKind::Group => Some(id(&map, "groupId")?.ok_or_else(|| error("groupId", Reason::Required))?),
        _ => id(&context, "groupId")?,
    };
    let previous_id = match kind {
        MessageKind::Alias => Some(id(&map, "previousId")?.ok_or_else(|| error("previousId", Reason::Required))?),
        _ => None,
    };
    let timestamp = time(&map, "timestamp")?;
    let sent_at = time(&map, "sentAt")?.or(sent_at_of_batch);
    let timestamp = match (timestamp, sent_at) {
        (Some(timestamp), Some(sent_at)) => received_at - (sent_at - timestamp),
        (Some(timestamp), None) => timestamp,
        (None, _) => received_at,
    };
    Ok(Message {
        kind,
        message_id: id(&map, "messageId")?.unwrap_or_else(fallback_id),
        user_id,
        anonymous_id,
        event,
        group_id,
        previous_id,
        traits: object(map.remove("traits"), "traits")?,
        properties: object(map.remove("properties"), "properties")?,
        context,
        timestamp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn parse(value: Value, kind: Option<MessageKind>) -> Result<Message, MessageError> {
        parse_message(value, kind, &Map::new(), None, at("2025-01-10T00:00:10Z"), || "generated".into())
    }

    #[test]
    fn clock_skew_is_corrected_with_sent_at_like_segment() {
        let message = parse(
            json!({"userId": "u1", "event": "Payslip Sent", "timestamp": "2025-01-10T00:00:00Z", "sentAt": "2025-01-10T00:05:00Z", "messageId": "m1"}),
            Some(MessageKind::Track),
        )
        .unwrap();
        assert_eq!(message.timestamp, at("2025-01-09T23:55:10Z"), "received − (sentAt − timestamp)");
        assert_eq!(message.message_id, "m1");
    }

    #[test]
    fn track_needs_an_event_group_needs_a_group_and_every_message_a_user() {
        assert_eq!(parse(json!({"userId": "u"}), Some(MessageKind::Track)).unwrap_err().field, "event");
        assert_eq!(parse(json!({"userId": "u"}), Some(MessageKind::Group)).unwrap_err().field, "groupId");
        assert_eq!(parse(json!({"event": "x"}), Some(MessageKind::Track)).unwrap_err().field, "userId");
        assert_eq!(parse(json!({"userId": "u", "type": "flush"}), None).unwrap_err().field, "type");
    }

    #[test]
    fn batch_context_is_merged_and_context_group_id_attributes() {
        let shared =
            json!({"library": {"name": "analytics-node"}, "groupId": "batch-group"}).as_object().unwrap().clone();
        let message = parse_message(
            json!({"type": "track", "anonymousId": "a", "event": "Login", "context": {"groupId": "ACC-1"}}),
            None,
            &shared,
            None,
            at("2025-01-10T00:00:10Z"),
            || "generated".into(),
        )
        .unwrap();
        assert_eq!(message.group_id.as_deref(), Some("ACC-1"), "the message's own context wins");
        assert!(message.context.contains_key("library"));
        assert_eq!(message.message_id, "generated");
        assert_eq!(message.timestamp, at("2025-01-10T00:00:10Z"));
    }
}
