//! Kizuna's domain: the types every other crate trusts, and pure logic with no IO.
//!
//! Input is parsed into these types once, at the edge (HTTP, CSV, CLI); past that point the
//! rest of the system relies on them being valid.

#[macro_use]
mod codes;

pub mod access;
pub mod account;
pub mod audit;
pub mod contact;
pub mod credentials;
pub mod feedback;
pub mod fields;
pub mod health;
pub mod i18n;
pub mod ids;
pub mod interchange;
pub mod kpi;
pub mod mail;
pub mod metrics;
pub mod money;
pub mod net;
pub mod notifications;
pub mod onboarding;
pub mod playbooks;
pub mod renewals;
pub mod search;
pub mod segments;
pub mod settings;
pub mod staff;
pub mod subscription;
pub mod tasks;
pub mod tech_touch;
pub mod timeline;
pub mod tracking;
pub mod usage;
pub mod validation;
pub mod voice;

pub use ids::{
    AccountId, AccountRef, ContactId, Email, ExternalId, RequestId, SubscriptionPeriodId, TeamId, TimelineEntryId,
    UserId,
};
pub use money::{Currency, Money};
pub use validation::{FieldError, Reason};
