//! Contacts: people at the customer.

use crate::account::CustomFields;
use crate::fields::{FieldReader, Fields};
use crate::ids::{AccountId, ContactId, Email, ExternalId};
use crate::validation::{FieldError, Reason};
use serde::{Deserialize, Serialize};
use serde_json::Value;

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

/// What a contact's record says about the person, read alike from the API's JSON and from
/// contacts.csv; the ids are named differently in each and read apart.
pub struct ContactDetails {
    pub name: Option<String>,
    pub email: Option<Email>,
    pub role: Option<String>,
    pub phone: Option<String>,
    pub is_primary: bool,
    pub custom: CustomFields,
}

impl ContactDetails {
    /// Reads every field before giving up, so each bad one is reported.
    pub fn read(r: &mut impl FieldReader) -> Option<ContactDetails> {
        let name = r.text("name", MAX_NAME);
        let email = r.parsed("email", Email::parse);
        let role = r.text("role", MAX_ROLE).map(|role| role.map(|role| role.to_lowercase()));
        let phone = r.text("phone", MAX_PHONE);
        let is_primary = r.boolean("is_primary", false);
        let custom = r.custom("custom");
        Some(ContactDetails {
            name: name?,
            email: email?,
            role: role?,
            phone: phone?,
            is_primary: is_primary?,
            custom: custom?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Contact {
    pub id: ContactId,
    #[serde(flatten)]
    pub input: ContactInput,
}

impl ContactInput {
    /// The fields the API takes.
    pub const FIELDS: &[&str] =
        &["external_id", "account_id", "name", "email", "role", "phone", "is_primary", "custom"];

    /// Reads the API's JSON: every bad field is named at once.
    pub fn from_json(value: Value) -> Result<ContactInput, Vec<FieldError>> {
        let mut f = Fields::new(value, Self::FIELDS)?;
        let external_id = f.required("external_id", ExternalId::parse);
        let account_id = f.id("account_id").map(|id| id.ok_or(Reason::Required));
        let account_id = account_id.and_then(|r| f.errors.check("account_id", r));
        let details = ContactDetails::read(&mut f);
        f.errors.finish(|| {
            let details = details?;
            Some(ContactInput {
                external_id: external_id?,
                account_id: AccountId(account_id?),
                name: details.name,
                email: details.email,
                role: details.role,
                phone: details.phone,
                is_primary: details.is_primary,
                custom: details.custom,
            })
        })
    }
}
