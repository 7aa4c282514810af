//! Identifiers and small validated strings.

use crate::validation::Reason;
use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! row_id {
    ($(#[$doc:meta] $name:ident),* $(,)?) => {$(
        #[$doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

row_id!(
    /// Kizuna's own id of an account (the source system's id is its `ExternalId`).
    AccountId,
    /// Kizuna's id of a contact.
    ContactId,
    /// Kizuna's id of a staff user.
    UserId,
    /// Kizuna's id of a team of staff users.
    TeamId,
    /// Kizuna's id of one period (row) of a subscription.
    SubscriptionPeriodId,
    /// Kizuna's id of a timeline entry.
    TimelineEntryId,
    /// Kizuna's id of a product feedback request.
    RequestId,
);

/// An id from the customer's source system (CRM, billing): trimmed, non-empty, at most 200 chars.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String)]
pub struct ExternalId(String);

impl ExternalId {
    pub const MAX_LEN: usize = 200;

    pub fn parse(raw: &str) -> Result<ExternalId, Reason> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(Reason::Required);
        }
        if trimmed.chars().count() > Self::MAX_LEN {
            return Err(Reason::TooLong { max: Self::MAX_LEN });
        }
        Ok(ExternalId(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ExternalId {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        ExternalId::parse(&raw).map_err(|reason| reason.message(crate::i18n::Lang::En))
    }
}

impl From<ExternalId> for String {
    fn from(id: ExternalId) -> String {
        id.0
    }
}

impl fmt::Display for ExternalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An account as a person or a client names it: Kizuna's numeric id, or the external id the
/// pages show (`ACC-000098`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum AccountRef {
    /// Kizuna's id, given as a JSON number.
    Id(AccountId),
    /// The account's external id, given as a JSON string. A string of digits that is no
    /// account's external id is taken as Kizuna's id (forms send every value as text).
    External(ExternalId),
}

impl AccountRef {
    /// Kizuna's id this text could also mean: a positive whole number.
    pub fn numeric(&self) -> Option<AccountId> {
        match self {
            AccountRef::Id(id) => Some(*id),
            AccountRef::External(text) => text.as_str().parse::<i64>().ok().filter(|id| *id > 0).map(AccountId),
        }
    }
}

impl fmt::Display for AccountRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccountRef::Id(id) => id.fmt(f),
            AccountRef::External(external) => external.fmt(f),
        }
    }
}

/// An email address, lower-cased so that lookups by email are exact.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, format = "email")]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Email, Reason> {
        let candidate = raw.trim().to_lowercase();
        if candidate.is_empty() {
            return Err(Reason::Required);
        }
        if candidate.len() > 254 {
            return Err(Reason::TooLong { max: 254 });
        }
        let valid = match candidate.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !candidate.chars().any(char::is_whitespace)
            }
            None => false,
        };
        if valid {
            Ok(Email(candidate))
        } else {
            Err(Reason::InvalidEmail)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.0)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Email {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Email::parse(&raw).map_err(|reason| reason.message(crate::i18n::Lang::En))
    }
}

impl From<Email> for String {
    fn from(email: Email) -> String {
        email.0
    }
}

/// Trims a free-text field; empty becomes `None`; longer than `max` characters is refused.
pub fn optional_text(raw: Option<&str>, max: usize) -> Result<Option<String>, Reason> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) if text.chars().count() > max => Err(Reason::TooLong { max }),
        Some(text) => Ok(Some(text.to_owned())),
    }
}

/// Like [`optional_text`] but the value must be present.
pub fn required_text(raw: Option<&str>, max: usize) -> Result<String, Reason> {
    optional_text(raw, max)?.ok_or(Reason::Required)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_lowercased_and_trimmed() {
        assert_eq!(Email::parse("  Aki@Example.CO.JP ").unwrap().as_str(), "aki@example.co.jp");
    }

    #[test]
    fn email_without_domain_dot_or_at_is_refused() {
        for bad in ["aki", "aki@", "@example.com", "aki@example", "a b@example.com", "a@b@c.com"] {
            assert_eq!(Email::parse(bad), Err(Reason::InvalidEmail), "{bad}");
        }
    }

    #[test]
    fn external_id_must_not_be_blank() {
        assert_eq!(ExternalId::parse("   "), Err(Reason::Required));
        assert_eq!(ExternalId::parse(" A-1 ").unwrap().as_str(), "A-1");
    }
}
