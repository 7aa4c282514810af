//! Staff: the CS team and its colleagues, grouped in teams.

use crate::access::Role;
use crate::ids::{Email, TeamId, UserId};
use serde::{Deserialize, Serialize};

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
