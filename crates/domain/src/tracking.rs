//! Segment-format tracking messages (identify, track, page, screen, group, alias): parsed and
//! checked once at the edge, with Segment's timestamp rule applied.

use crate::account::{parse_employees, MAX_CUSTOM_VALUE, MAX_INDUSTRY, MAX_NAME};
use crate::audit::FieldChange;
use crate::settings::{FieldSource, TrackingFieldSources};
use crate::validation::Reason;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// Segment's limit for one message, in bytes of JSON.
pub const MAX_MESSAGE_BYTES: usize = 32 * 1024;
/// The earliest moment a message may say it happened.
pub const EARLIEST_TIMESTAMP: &str = "2000-01-01T00:00:00Z";
/// [`EARLIEST_TIMESTAMP`] in seconds since the Unix epoch, compared on every message.
const EARLIEST_SECONDS: i64 = 946_684_800;
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
    pub properties: JsonObject,
    pub context: JsonObject,
    /// When it happened, per Segment: `receivedAt − (sentAt − timestamp)` when `sentAt` is given.
    pub timestamp: DateTime<Utc>,
}

/// A JSON object kept as the text it arrived in: events carry their properties and context
/// into storage without a JSON tree being built and serialized again for each of them.
#[derive(Debug, Clone)]
pub struct JsonObject(Box<RawValue>);

impl JsonObject {
    /// `raw` as an object; `null` is the empty object.
    fn of_raw(raw: Box<RawValue>, field: &'static str) -> Result<JsonObject, MessageError> {
        match raw.get().trim_start().as_bytes().first() {
            Some(b'{') => Ok(JsonObject(raw)),
            Some(b'n') => Ok(JsonObject::default()),
            _ => Err(error(field, Reason::WrongType { expected: "an object" })),
        }
    }

    pub fn from_map(map: &Map<String, Value>) -> JsonObject {
        JsonObject(serde_json::value::to_raw_value(map).expect("a map of JSON values always serializes"))
    }

    /// The JSON text.
    pub fn text(&self) -> &str {
        self.0.get()
    }

    pub fn to_map(&self) -> Map<String, Value> {
        // The text is a JSON object by construction, so it always reads back as one.
        serde_json::from_str(self.0.get()).unwrap_or_default()
    }
}

impl Default for JsonObject {
    fn default() -> JsonObject {
        JsonObject::from_map(&Map::new())
    }
}

/// Equal as JSON, whatever the spacing or member order of the texts.
impl PartialEq for JsonObject {
    fn eq(&self, other: &JsonObject) -> bool {
        self.text() == other.text() || self.to_map() == other.to_map()
    }
}

impl Serialize for JsonObject {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for JsonObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<JsonObject, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        JsonObject::of_raw(raw, "object").map_err(|_| serde::de::Error::custom("expected a JSON object"))
    }
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

/// The fields of a message Kizuna reads. Deserialized straight from a message's JSON text when
/// it has the usual shape (ids as strings, objects as objects), without building a JSON tree;
/// otherwise taken from a parsed `Value`, which names any field of the wrong type.
#[derive(Deserialize)]
struct Fields<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(rename = "userId", borrow, default)]
    user_id: Option<Cow<'a, str>>,
    #[serde(rename = "anonymousId", borrow, default)]
    anonymous_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    event: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(rename = "groupId", borrow, default)]
    group_id: Option<Cow<'a, str>>,
    #[serde(rename = "previousId", borrow, default)]
    previous_id: Option<Cow<'a, str>>,
    #[serde(rename = "messageId", borrow, default)]
    message_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(rename = "sentAt", borrow, default)]
    sent_at: Option<Cow<'a, str>>,
    #[serde(default)]
    context: Option<Box<RawValue>>,
    #[serde(default)]
    properties: Option<Box<RawValue>>,
    #[serde(default)]
    traits: Option<Map<String, Value>>,
}

impl<'a> Fields<'a> {
    /// The typed reading of a message's JSON text, or `None` when it needs `from_value`.
    fn from_text(text: &'a str) -> Option<Fields<'a>> {
        serde_json::from_str(text).ok()
    }

    /// The fields of a parsed message; the first field of a wrong type is the error.
    fn from_value(value: Value) -> Result<Fields<'static>, MessageError> {
        let Value::Object(mut map) = value else {
            return Err(error("message", Reason::WrongType { expected: "a JSON object" }));
        };
        let raw = |value: Option<Value>| {
            value.map(|v| serde_json::value::to_raw_value(&v).expect("a JSON value always serializes"))
        };
        let (context, properties, traits) =
            (raw(map.remove("context")), raw(map.remove("properties")), map.remove("traits"));
        // Ids may be sent as numbers; times must be strings.
        let text =
            |field: &'static str, numbers: bool, wrong: Reason| -> Result<Option<Cow<'static, str>>, MessageError> {
                match map.get(field) {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::String(s)) => Ok(Some(Cow::Owned(s.clone()))),
                    Some(Value::Number(n)) if numbers => Ok(Some(Cow::Owned(n.to_string()))),
                    Some(_) => Err(error(field, wrong)),
                }
            };
        let id = |field| text(field, true, Reason::WrongType { expected: "a string" });
        let time = |field| text(field, false, Reason::InvalidTimestamp);
        Ok(Fields {
            kind: map.get("type").and_then(Value::as_str).map(|k| Cow::Owned(k.to_owned())),
            user_id: id("userId")?,
            anonymous_id: id("anonymousId")?,
            event: id("event")?,
            name: id("name")?,
            group_id: id("groupId")?,
            previous_id: id("previousId")?,
            message_id: id("messageId")?,
            timestamp: time("timestamp")?,
            sent_at: time("sentAt")?,
            context,
            properties,
            traits: Some(object(traits, "traits")?),
        })
    }
}

/// An id as stored: trimmed, blank as absent, at most 500 bytes.
fn clean_id(raw: Option<Cow<'_, str>>, field: &'static str) -> Result<Option<String>, MessageError> {
    match raw {
        None => Ok(None),
        Some(s) if s.trim().is_empty() => Ok(None),
        Some(s) if s.len() > 500 => Err(error(field, Reason::TooLong { max: 500 })),
        Some(s) => Ok(Some(s.trim().to_owned())),
    }
}

fn object(value: Option<Value>, field: &'static str) -> Result<Map<String, Value>, MessageError> {
    match value {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map),
        Some(_) => Err(error(field, Reason::WrongType { expected: "an object" })),
    }
}

fn time(raw: Option<Cow<'_, str>>, field: &'static str) -> Result<Option<DateTime<Utc>>, MessageError> {
    raw.map(|s| DateTime::parse_from_rfc3339(&s).map(|t| t.with_timezone(&Utc)))
        .transpose()
        .map_err(|_| error(field, Reason::InvalidTimestamp))
}

/// The message fields a NUL character is reported in; anything else is reported as `message`.
const NAMED_FIELDS: [&str; 14] = [
    "type",
    "userId",
    "anonymousId",
    "event",
    "name",
    "groupId",
    "previousId",
    "messageId",
    "timestamp",
    "sentAt",
    "context",
    "properties",
    "traits",
    "integrations",
];

/// Refuses a message holding U+0000 anywhere (no database text column stores it), naming the
/// top-level field it is in.
fn refuse_nul(value: &Value) -> Result<(), MessageError> {
    match crate::fields::nul_path(value) {
        None => Ok(()),
        Some(path) => {
            let top = path.split(['.', '[']).next().unwrap_or_default();
            Err(error(NAMED_FIELDS.into_iter().find(|name| *name == top).unwrap_or("message"), Reason::ContainsNul))
        }
    }
}

/// Parses one message from its JSON text, typed when it can be (see `Fields`).
pub fn parse_message_text(
    text: &str,
    kind: Option<MessageKind>,
    shared_context: &Map<String, Value>,
    sent_at_of_batch: Option<DateTime<Utc>>,
    received_at: DateTime<Utc>,
    fallback_id: impl FnOnce() -> String,
) -> Result<Message, MessageError> {
    if text.contains("\\u0000") {
        let value: Value =
            serde_json::from_str(text).map_err(|e| error("message", Reason::Malformed { detail: e.to_string() }))?;
        refuse_nul(&value)?;
    }
    let fields = match Fields::from_text(text) {
        Some(fields) => fields,
        None => {
            let value: Value = serde_json::from_str(text)
                .map_err(|e| error("message", Reason::Malformed { detail: e.to_string() }))?;
            Fields::from_value(value)?
        }
    };
    message_of(fields, kind, shared_context, sent_at_of_batch, received_at, fallback_id)
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
    refuse_nul(&value)?;
    message_of(Fields::from_value(value)?, kind, shared_context, sent_at_of_batch, received_at, fallback_id)
}

/// Applies Segment's rules to a message's fields.
fn message_of(
    fields: Fields<'_>,
    kind: Option<MessageKind>,
    shared_context: &Map<String, Value>,
    sent_at_of_batch: Option<DateTime<Utc>>,
    received_at: DateTime<Utc>,
    fallback_id: impl FnOnce() -> String,
) -> Result<Message, MessageError> {
    let kind = match kind {
        Some(kind) => kind,
        None => match fields.kind.as_deref() {
            Some(raw) => MessageKind::parse(raw).ok_or_else(|| {
                error(
                    "type",
                    Reason::NotOneOf { allowed: MessageKind::ALL.iter().map(|k| k.as_str().to_owned()).collect() },
                )
            })?,
            None => return Err(error("type", Reason::Required)),
        },
    };
    let user_id = clean_id(fields.user_id, "userId")?;
    let anonymous_id = clean_id(fields.anonymous_id, "anonymousId")?;
    if user_id.is_none() && anonymous_id.is_none() {
        return Err(error("userId", Reason::Required));
    }
    let own_context = fields.context.map(|raw| JsonObject::of_raw(raw, "context")).transpose()?.unwrap_or_default();
    let context = if shared_context.is_empty() {
        own_context
    } else {
        let mut context = shared_context.clone();
        context.extend(own_context.to_map());
        JsonObject::from_map(&context)
    };
    let properties =
        fields.properties.map(|raw| JsonObject::of_raw(raw, "properties")).transpose()?.unwrap_or_default();
    let event = match kind {
        MessageKind::Track => Some(clean_id(fields.event, "event")?.ok_or_else(|| error("event", Reason::Required))?),
        MessageKind::Page | MessageKind::Screen => clean_id(fields.name, "name")?,
        _ => None,
    };
    let group_id = match kind {
        MessageKind::Group => {
            Some(clean_id(fields.group_id, "groupId")?.ok_or_else(|| error("groupId", Reason::Required))?)
        }
        _ => match context_group(&context)? {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => clean_id(Some(Cow::Owned(s)), "groupId")?,
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(_) => return Err(error("groupId", Reason::WrongType { expected: "a string" })),
        },
    };
    let previous_id = match kind {
        MessageKind::Alias => {
            Some(clean_id(fields.previous_id, "previousId")?.ok_or_else(|| error("previousId", Reason::Required))?)
        }
        _ => None,
    };
    let timestamp = time(fields.timestamp, "timestamp")?;
    let sent_at = time(fields.sent_at, "sentAt")?.or(sent_at_of_batch);
    let timestamp = match (timestamp, sent_at) {
        (Some(timestamp), Some(sent_at)) => received_at - (sent_at - timestamp),
        (Some(timestamp), None) => timestamp,
        (None, _) => received_at,
    };
    // A day of clock skew is a slow clock; a year ahead (or before 2000) is a bug in the sender,
    // and usage dated there would count as activity for days that have not come.
    let latest = received_at + chrono::Duration::days(1);
    if timestamp > latest || timestamp.timestamp() < EARLIEST_SECONDS {
        let max = latest.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        return Err(error("timestamp", Reason::OutOfRange { min: EARLIEST_TIMESTAMP.into(), max }));
    }
    Ok(Message {
        kind,
        message_id: clean_id(fields.message_id, "messageId")?.unwrap_or_else(fallback_id),
        user_id,
        anonymous_id,
        event,
        group_id,
        previous_id,
        traits: traits_of(fields.traits.unwrap_or_default(), kind, &context)?,
        properties,
        context,
        timestamp,
    })
}

/// The traits of an `identify` or `group` call: `context.traits` (where RudderStack's clients
/// put them) overlaid by the message's own `traits`, which win key by key.
fn traits_of(
    own: Map<String, Value>,
    kind: MessageKind,
    context: &JsonObject,
) -> Result<Map<String, Value>, MessageError> {
    if !matches!(kind, MessageKind::Identify | MessageKind::Group) || !context.text().contains("\"traits\"") {
        return Ok(own);
    }
    #[derive(Deserialize)]
    struct Traits {
        #[serde(default)]
        traits: Option<Value>,
    }
    let from_context = serde_json::from_str::<Traits>(context.text())
        .map_err(|e| error("context", Reason::Malformed { detail: e.to_string() }))?
        .traits;
    let mut traits = match from_context {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map,
        Some(_) => return Err(error("context", Reason::WrongType { expected: "an object of traits" })),
    };
    traits.extend(own);
    Ok(traits)
}

/// `context.groupId`, read without building the rest of the context.
fn context_group(context: &JsonObject) -> Result<Option<Value>, MessageError> {
    #[derive(Deserialize)]
    struct Group {
        #[serde(rename = "groupId", default)]
        group_id: Option<Value>,
    }
    serde_json::from_str::<Group>(context.text())
        .map(|g| g.group_id)
        .map_err(|e| error("context", Reason::Malformed { detail: e.to_string() }))
}

impl Message {
    /// A trait as text: a non-blank string (trimmed) or a number.
    pub fn trait_text(&self, key: &str) -> Option<String> {
        self.traits.get(key).and_then(|v| match v {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    }
}

/// The account fields a `group` call's traits may change.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupFields {
    pub name: String,
    pub employees: Option<i64>,
    pub industry: Option<String>,
    /// The custom field `plan`.
    pub plan: Option<String>,
}

impl GroupFields {
    /// The fields that differ from `before`, for the audit log.
    pub fn changes_from(&self, before: &GroupFields) -> std::collections::BTreeMap<String, FieldChange> {
        let as_json = |f: &GroupFields| serde_json::json!({"name": f.name, "employees": f.employees, "industry": f.industry, "custom.plan": f.plan});
        crate::audit::diff(&as_json(before), &as_json(self))
    }
}

/// An account's fields after a `group` call: where the workspace lets tracking win, a trait
/// replaces the value; where imported data wins, a trait only fills a field that is still empty
/// (a name still equal to the external id, as tracking creates it, counts as empty). Traits
/// that are not valid for the field (too long, not a number of employees) change nothing.
pub fn apply_group_traits(
    current: &GroupFields,
    external_id: &str,
    message: &Message,
    sources: &TrackingFieldSources,
) -> GroupFields {
    fn pick<T>(source: FieldSource, current: Option<T>, sent: Option<T>) -> Option<T> {
        match (source, current) {
            (FieldSource::Tracking, current) => sent.or(current),
            (FieldSource::Imported, Some(current)) => Some(current),
            (FieldSource::Imported, None) => sent,
        }
    }
    let text = |key: &str, max: usize| message.trait_text(key).filter(|t| t.chars().count() <= max);
    let name_is_empty = current.name.is_empty() || current.name == external_id;
    let name = pick(sources.name, (!name_is_empty).then(|| current.name.clone()), text("name", MAX_NAME));
    GroupFields {
        name: name.unwrap_or_else(|| current.name.clone()),
        employees: pick(
            sources.employees,
            current.employees,
            message.trait_text("employees").and_then(|e| parse_employees(&e).ok()),
        ),
        industry: pick(sources.industry, current.industry.clone(), text("industry", MAX_INDUSTRY)),
        plan: pick(sources.plan, current.plan.clone(), text("plan", MAX_CUSTOM_VALUE)),
    }
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
    fn the_typed_reading_of_a_text_gives_the_same_message_as_the_json_tree() {
        let samples = [
            json!({"type": "track", "userId": " u1 ", "event": "Payslip \"Sent\"", "messageId": "m1", "timestamp": "2025-01-10T00:00:00Z",
                "sentAt": "2025-01-10T00:05:00Z", "context": {"groupId": "ACC-1"}, "properties": {"n": 1}}),
            json!({"type": "identify", "userId": 42, "traits": {"email": "a@b.example"}}),
            json!({"type": "page", "anonymousId": "a", "name": "Home", "context": {"groupId": 7}}),
            json!({"type": "track", "userId": "u", "event": "x", "properties": "not an object"}),
            json!({"type": "group", "userId": "u"}),
        ];
        for sample in samples {
            let text = sample.to_string();
            let typed =
                parse_message_text(&text, None, &Map::new(), None, at("2025-01-10T00:00:10Z"), || "generated".into());
            assert_eq!(typed, parse(sample, None), "{text}");
        }
        let malformed = parse_message_text("{", None, &Map::new(), None, at("2025-01-10T00:00:10Z"), || "g".into());
        assert_eq!(malformed.unwrap_err().field, "message");
    }

    #[test]
    fn identify_traits_come_from_context_traits_too_and_the_message_own_win() {
        let sent = json!({"type": "identify", "userId": "u", "traits": {"name": "Own"},
            "context": {"traits": {"email": "a@b.example", "name": "From context"}}});
        let message = parse(sent, None).unwrap();
        assert_eq!(message.traits["email"], "a@b.example");
        assert_eq!(message.traits["name"], "Own", "the message's own traits win");
        let track =
            json!({"type": "track", "userId": "u", "event": "x", "context": {"traits": {"email": "a@b.example"}}});
        assert!(parse(track, None).unwrap().traits.is_empty(), "only identify and group carry traits");
    }

    #[test]
    fn a_message_holding_nul_is_refused_naming_its_field_and_an_escaped_backslash_is_not() {
        let read =
            |text: &str| parse_message_text(text, None, &Map::new(), None, at("2025-01-10T00:00:10Z"), || "g".into());
        let nul_trait = r#"{"type": "identify", "userId": "u", "traits": {"name": "a\u0000b"}}"#;
        let refused = read(nul_trait).unwrap_err();
        assert_eq!((refused.field, refused.reason), ("traits", Reason::ContainsNul));
        assert_eq!(read(r#"{"type": "track", "userId": "u\u0000", "event": "x"}"#).unwrap_err().field, "userId");
        assert!(read(r#"{"type": "track", "userId": "u", "event": "a\\u0000"}"#).is_ok(), "a backslash then u0000");
        let value = json!({"type": "track", "userId": "u", "event": "x", "extra": "\u{0}"});
        assert_eq!(parse(value, None).unwrap_err().field, "message");
    }

    #[test]
    fn a_json_object_keeps_its_text_compares_as_json_and_refuses_other_values() {
        let raw = |text: &str| RawValue::from_string(text.to_owned()).unwrap();
        let spaced = JsonObject::of_raw(raw(r#"{ "b": 1, "a": [true] }"#), "properties").unwrap();
        assert_eq!(spaced.text(), r#"{ "b": 1, "a": [true] }"#, "stored as sent");
        assert_eq!(spaced, JsonObject::from_map(json!({"a": [true], "b": 1}).as_object().unwrap()));
        assert_ne!(spaced, JsonObject::default());
        assert_eq!(spaced.to_map()["b"], json!(1));
        assert_eq!(JsonObject::of_raw(raw("null"), "context").unwrap(), JsonObject::default());
        for wrong in [r#""text""#, "[1]", "3", "true"] {
            assert_eq!(JsonObject::of_raw(raw(wrong), "context").unwrap_err().field, "context", "{wrong}");
        }
        assert!(serde_json::from_str::<JsonObject>("[1]").is_err());
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
    fn a_timestamp_more_than_a_day_ahead_or_before_2000_is_refused() {
        assert_eq!(at(EARLIEST_TIMESTAMP).timestamp(), EARLIEST_SECONDS, "the bound said and the bound compared");
        let at_time = |timestamp: &str| {
            parse(json!({"userId": "u1", "event": "Login", "timestamp": timestamp}), Some(MessageKind::Track))
        };
        assert!(at_time("2025-01-10T23:00:00Z").is_ok(), "a slow clock is not a bug");
        assert!(at_time("2020-01-10T00:00:00Z").is_ok(), "history may be sent later");
        for wrong in ["2025-01-12T00:00:00Z", "9999-12-31T23:59:59Z", "1970-01-01T00:00:00Z"] {
            let error = at_time(wrong).unwrap_err();
            assert_eq!(error.field, "timestamp", "{wrong}");
            assert!(matches!(error.reason, Reason::OutOfRange { .. }), "{wrong}: {:?}", error.reason);
        }
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
        assert!(message.context.to_map().contains_key("library"));
        assert_eq!(message.message_id, "generated");
        assert_eq!(message.timestamp, at("2025-01-10T00:00:10Z"));
    }
    fn group_with(traits: Value) -> Message {
        parse(json!({"type": "group", "userId": "u", "groupId": "ACC-1", "traits": traits}), None).unwrap()
    }

    #[test]
    fn imported_fields_win_over_group_traits_and_tracking_fills_only_what_is_empty() {
        let imported = GroupFields {
            name: "紅葉エナジー".into(),
            employees: Some(120),
            industry: None,
            plan: Some("basic".into()),
        };
        let sent = group_with(json!({"name": "ACC-1", "employees": 5, "industry": "Energy", "plan": "pro"}));
        let after = apply_group_traits(&imported, "ACC-1", &sent, &TrackingFieldSources::default());
        assert_eq!(after.name, "紅葉エナジー", "the imported name stays");
        assert_eq!(after.employees, Some(120), "the imported employees stay");
        assert_eq!(after.industry.as_deref(), Some("Energy"), "an empty field is filled");
        assert_eq!(after.plan.as_deref(), Some("pro"), "tracking wins the plan by default");
        let changes = after.changes_from(&imported);
        assert_eq!(changes.keys().collect::<Vec<_>>(), ["custom.plan", "industry"]);
    }

    #[test]
    fn a_name_tracking_created_from_the_group_id_is_replaced_and_tracking_can_be_made_to_win() {
        let created = GroupFields { name: "ACC-1".into(), ..GroupFields::default() };
        let sent = group_with(json!({"name": "Momiji", "employees": "1,200"}));
        let after = apply_group_traits(&created, "ACC-1", &sent, &TrackingFieldSources::default());
        assert_eq!((after.name.as_str(), after.employees), ("Momiji", Some(1200)));
        let tracking_wins = TrackingFieldSources {
            name: FieldSource::Tracking,
            employees: FieldSource::Tracking,
            ..TrackingFieldSources::default()
        };
        let imported = GroupFields { name: "Imported".into(), employees: Some(3), ..GroupFields::default() };
        let after = apply_group_traits(&imported, "ACC-1", &sent, &tracking_wins);
        assert_eq!((after.name.as_str(), after.employees), ("Momiji", Some(1200)));
        let too_long = group_with(json!({"name": "x".repeat(MAX_NAME + 1), "employees": "many"}));
        assert_eq!(
            apply_group_traits(&imported, "ACC-1", &too_long, &tracking_wins),
            imported,
            "invalid traits change nothing"
        );
    }
}
