//! Contacts: people at the customer.

use crate::account::CustomFields;
use crate::ids::{AccountId, ContactId, Email, ExternalId};
use serde::{Deserialize, Serialize};

// The longest value (in characters) of each free-text field of a contact, checked by the JSON
// API and contacts.csv alike.
pub const MAX_NAME: usize = 500;
pub const MAX_ROLE: usize = 100;
pub const MAX_PHONE: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ContactInput {
    pub external_id: ExternalId,
    pub account_id: AccountId,
    pub name: Option<String>,
    pub email: Option<Email>,
    /// admin, champion, decision_maker, end_user, …
    pub role: Option<String>,
    pub phone: Option<String>,
    pub is_primary: bool,
    pub custom: CustomFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Contact {
    pub id: ContactId,
    #[serde(flatten)]
    pub input: ContactInput,
}
