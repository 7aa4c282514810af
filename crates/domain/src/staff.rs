//! Staff: the CS team and its colleagues, grouped in teams.

use crate::access::Role;
use crate::fields::{FieldReader, Fields};
use crate::ids::{required_text, Email, TeamId, UserId};
use crate::FieldError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TeamInput {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Team {
    pub id: TeamId,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StaffUserInput {
    pub email: Email,
    pub name: String,
    pub team_id: Option<TeamId>,
    pub role: Role,
    /// Inactive users keep their history (e.g. owners named in an import) but cannot sign in.
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StaffUser {
    pub id: UserId,
    #[serde(flatten)]
    pub input: StaffUserInput,
}

impl StaffUserInput {
    /// The fields the API takes.
    pub const FIELDS: &[&str] = &["email", "name", "team_id", "role", "active"];

    /// Reads the API's JSON: every bad field is named at once.
    pub fn from_json(value: Value) -> Result<StaffUserInput, Vec<FieldError>> {
        let mut f = Fields::new(value, Self::FIELDS)?;
        let email = f.required("email", Email::parse);
        let name = f.required("name", |raw| required_text(Some(raw), 200));
        let team_id = f.id("team_id");
        let role = f.parsed("role", Role::parse);
        let active = f.boolean("active", true);
        f.errors.finish(|| {
            Some(StaffUserInput {
                email: email?,
                name: name?,
                team_id: team_id?.map(TeamId),
                role: role?.unwrap_or(Role::Viewer),
                active: active?,
            })
        })
    }
}

impl TeamInput {
    /// The fields the API takes.
    pub const FIELDS: &[&str] = &["name"];

    /// Reads the API's JSON: every bad field is named at once.
    pub fn from_json(value: Value) -> Result<TeamInput, Vec<FieldError>> {
        let mut f = Fields::new(value, Self::FIELDS)?;
        let name = f.required("name", |raw| required_text(Some(raw), 200));
        f.errors.finish(|| Some(TeamInput { name: name? }))
    }
}
