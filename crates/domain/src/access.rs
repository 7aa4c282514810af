//! Who may do what: staff roles, API token scopes, and the access level each route requires.
//! One table decides; the web layer asks it for every request.

use crate::validation::Reason;
use serde::{Deserialize, Serialize};

/// A staff member's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Read-only: sales, support and product teams.
    Viewer,
    /// Edits the accounts they own or sub-own; reads everything.
    Csm,
    /// All accounts; configures scorecards, segments, playbooks; imports data.
    Manager,
    /// Everything, including users, settings, write keys and the audit log.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Manager, Role::Csm, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Csm => "csm",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(raw: &str) -> Result<Role, Reason> {
        let wanted = raw.trim().to_ascii_lowercase();
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == wanted)
            .ok_or_else(|| Reason::NotOneOf { allowed: Role::ALL.iter().map(|r| r.as_str().to_owned()).collect() })
    }
}

/// What an API token may do, on top of its owner's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Read,
    Write,
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Read, Scope::Write, Scope::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(raw: &str) -> Result<Scope, Reason> {
        let wanted = raw.trim().to_ascii_lowercase();
        Scope::ALL
            .into_iter()
            .find(|s| s.as_str() == wanted)
            .ok_or_else(|| Reason::NotOneOf { allowed: Scope::ALL.iter().map(|s| s.as_str().to_owned()).collect() })
    }
}

/// The access a route requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Access {
    /// Anyone, signed in or not (sign-in page, health check).
    Public,
    /// Any signed-in staff user.
    Read,
    /// Changes to what is the actor's own (their API tokens, password, saved views): any role,
    /// but a token needs write scope, so a read token changes nothing.
    Own,
    /// What any staff member may add, whatever their team (product feedback: a request, a
    /// customer asking for one); like `Own`, a token needs write scope. Finer checks (who may
    /// move a request) are the use case's.
    Contribute,
    /// Changes to customer data; CSMs are further limited to their own accounts.
    Write,
    /// Changes across all accounts, imports, configuration of CS processes.
    Manage,
    /// Users, teams, workspace settings, write keys, audit log.
    Admin,
    /// The tracking API: a write key, never a staff user or token (the handler checks the key,
    /// which may travel in the body).
    Tracking,
}

/// Whether a staff user of `role`, acting with `scope` (None = signed in with a session),
/// may use a route requiring `access`.
pub fn permits(role: Role, scope: Option<Scope>, access: Access) -> bool {
    let role_allows = match access {
        Access::Public | Access::Read | Access::Own | Access::Contribute => true,
        Access::Write => role >= Role::Csm,
        Access::Manage => role >= Role::Manager,
        Access::Admin => role == Role::Admin,
        Access::Tracking => false,
    };
    let scope_allows = match (scope, access) {
        (None, _) | (_, Access::Public | Access::Read) => true,
        (Some(scope), Access::Own | Access::Contribute | Access::Write | Access::Manage) => scope >= Scope::Write,
        (Some(scope), Access::Admin) => scope == Scope::Admin,
        (Some(_), Access::Tracking) => false,
    };
    role_allows && scope_allows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viewers_only_read_and_csms_write_but_do_not_manage() {
        assert!(permits(Role::Viewer, None, Access::Read));
        assert!(!permits(Role::Viewer, None, Access::Write));
        assert!(permits(Role::Csm, None, Access::Write));
        assert!(!permits(Role::Csm, None, Access::Manage));
        assert!(permits(Role::Manager, None, Access::Manage));
        assert!(!permits(Role::Manager, None, Access::Admin));
        assert!(permits(Role::Admin, None, Access::Admin));
    }

    #[test]
    fn a_token_never_exceeds_its_scope_or_its_owner_role() {
        assert!(!permits(Role::Admin, Some(Scope::Read), Access::Write));
        assert!(permits(Role::Admin, Some(Scope::Write), Access::Manage));
        assert!(!permits(Role::Admin, Some(Scope::Write), Access::Admin));
        assert!(permits(Role::Admin, Some(Scope::Admin), Access::Admin));
        assert!(!permits(Role::Viewer, Some(Scope::Admin), Access::Write));
    }

    #[test]
    fn anyone_changes_their_own_things_but_never_with_a_read_token() {
        assert!(permits(Role::Viewer, None, Access::Own));
        assert!(permits(Role::Viewer, Some(Scope::Write), Access::Own));
        assert!(!permits(Role::Admin, Some(Scope::Read), Access::Own));
    }
}
