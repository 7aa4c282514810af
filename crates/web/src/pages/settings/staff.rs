//! `/settings/users` and `/settings/teams`: who can sign in, with which role, in which team.

use super::{done, notice, refused, Common};
use crate::api::to_value;
use crate::auth::Signed;
use crate::body::merge_patch;
use crate::extract::Path;
use crate::extract::{FormFields, QueryParams};
use crate::pages::{render, Frame};
use crate::problem::ApiError;
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use domain::access::Role;
use domain::i18n::{Lang, Text};
use domain::staff::{StaffUserInput, TeamInput};
use domain::{TeamId, UserId};
use serde_json::json;
use std::collections::HashMap;

pub struct RoleOption {
    pub value: &'static str,
    pub label: &'static str,
}

pub struct TeamOption {
    pub id: i64,
    pub name: String,
}

pub struct UserRow {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub role: &'static str,
    pub role_label: &'static str,
    /// The team's id as the form sends it; empty without a team.
    pub team_key: String,
    pub team: String,
    pub active: bool,
}

/// A user just added (or given a new password), with the password they sign in with, shown
/// only now.
pub struct Created {
    pub email: String,
    pub password: String,
    pub reset: bool,
}

/// A staff user field as the form names it, for what was refused.
fn user_field(field: &str, lang: Lang) -> &'static str {
    let text = match field {
        "email" => Text::new("メールアドレス", "Email"),
        "name" => Text::new("氏名", "Name"),
        "role" => Text::new("権限", "Role"),
        _ => Text::new("チーム", "Team"),
    };
    text.pick(lang)
}

pub fn role_label(role: Role, lang: Lang) -> &'static str {
    let text = match role {
        Role::Admin => Text::new("管理者", "Administrator"),
        Role::Manager => Text::new("マネージャー", "Manager"),
        Role::Csm => Text::new("CSM", "CSM"),
        Role::Viewer => Text::new("閲覧者", "Viewer"),
    };
    text.pick(lang)
}

#[derive(Template)]
#[template(path = "settings_users.html")]
pub struct UsersPage {
    pub frame: Frame,
    pub common: Common,
    pub rows: Vec<UserRow>,
    pub roles: Vec<RoleOption>,
    pub teams: Vec<TeamOption>,
    pub draft: FormFields,
    pub draft_role: String,
    pub created: Option<Created>,
}

async fn users_page(
    app: &AppState,
    frame: Frame,
    common: Common,
    draft: FormFields,
    created: Option<Created>,
) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let teams = app.teams().await?;
    let team_names: HashMap<TeamId, String> = teams.iter().map(|t| (t.id, t.name.clone())).collect();
    let rows = app
        .staff_users()
        .await?
        .into_iter()
        .map(|u| UserRow {
            id: u.id.0,
            team: u.input.team_id.and_then(|id| team_names.get(&id).cloned()).unwrap_or_default(),
            team_key: u.input.team_id.map(|id| id.0.to_string()).unwrap_or_default(),
            name: u.input.name,
            email: u.input.email.to_string(),
            role: u.input.role.as_str(),
            role_label: role_label(u.input.role, lang),
            active: u.input.active,
        })
        .collect();
    let draft_role = match draft.get("role") {
        "" => Role::Viewer.as_str().to_owned(),
        chosen => chosen.to_owned(),
    };
    let page = UsersPage {
        frame: frame.at("settings"),
        common,
        rows,
        roles: Role::ALL.iter().map(|r| RoleOption { value: r.as_str(), label: role_label(*r, lang) }).collect(),
        teams: teams.into_iter().map(|t| TeamOption { id: t.id.0, name: t.name }).collect(),
        draft,
        draft_role,
        created,
    };
    let status = page.common.status();
    Ok((status, render(&page, "settings users")?).into_response())
}

pub async fn users(State(app): State<AppState>, frame: Frame, params: QueryParams) -> Result<Response, ApiError> {
    let common = Common::new(frame.lang, "/settings/users").with_notice(notice(params.text("done"), frame.lang));
    users_page(&app, frame, common, FormFields::default(), None).await
}

/// Adds a user with a generated password, shown once in the answer.
pub async fn add_user(
    State(app): State<AppState>,
    frame: Frame,
    Signed(actor): Signed,
    fields: FormFields,
) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let body = json!({
        "email": fields.get("email"),
        "name": fields.get("name"),
        "role": fields.get("role"),
        "team_id": fields.id_value("team_id"),
    });
    let added = async {
        let input = StaffUserInput::from_json(body)?;
        Ok::<_, ApiError>(app.add_user_with_generated_password(&actor, &input).await?)
    }
    .await;
    let common = Common::new(lang, "/settings/users");
    match added {
        Ok((user, password)) => {
            let created = Created { email: user.input.email.to_string(), password, reset: false };
            users_page(&app, frame, common, FormFields::default(), Some(created)).await
        }
        Err(error) => {
            let errors = refused(error, lang, |f| user_field(f, lang))?;
            users_page(&app, frame, common.with_errors(errors), fields, None).await
        }
    }
}

/// Gives an existing user a new generated password, shown once on the page.
pub async fn reset_password(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    frame: Frame,
    Signed(actor): Signed,
) -> Result<Response, ApiError> {
    let (user, password) = app.reset_password(&actor, UserId(id)).await?;
    let common = Common::new(frame.lang, "/settings/users");
    let created = Created { email: user.input.email.to_string(), password, reset: true };
    users_page(&app, frame, common, FormFields::default(), Some(created)).await
}

/// Changes a user's role and team.
pub async fn update_user(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    frame: Frame,
    Signed(actor): Signed,
    fields: FormFields,
) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let current = app.staff_user(UserId(id)).await?;
    let changes = json!({"role": fields.get("role"), "team_id": fields.id_value("team_id")});
    let updated = async {
        let input = StaffUserInput::from_json(merge_patch(to_value(&current.input), changes))?;
        Ok::<_, ApiError>(app.update_user(&actor, UserId(id), &input).await?)
    }
    .await;
    match updated {
        Ok(_) => Ok(done("/settings/users", "user_updated")),
        Err(error) => {
            let errors = refused(error, lang, |f| user_field(f, lang))?;
            let common = Common::new(lang, "/settings/users").with_errors(errors);
            users_page(&app, frame, common, FormFields::default(), None).await
        }
    }
}

pub struct TeamRow {
    pub id: i64,
    pub name: String,
    pub members: usize,
}

/// The team form's one field, as it names it.
fn team_name_label(lang: Lang) -> &'static str {
    Text::new("チーム名", "Team name").pick(lang)
}

#[derive(Template)]
#[template(path = "settings_teams.html")]
pub struct TeamsPage {
    pub frame: Frame,
    pub common: Common,
    pub rows: Vec<TeamRow>,
    pub draft: FormFields,
}

async fn teams_page(app: &AppState, frame: Frame, common: Common, draft: FormFields) -> Result<Response, ApiError> {
    let users = app.staff_users().await?;
    let rows = app
        .teams()
        .await?
        .into_iter()
        .map(|team| TeamRow {
            id: team.id.0,
            members: users.iter().filter(|u| u.input.team_id == Some(team.id)).count(),
            name: team.name,
        })
        .collect();
    let page = TeamsPage { frame: frame.at("settings"), common, rows, draft };
    let status = page.common.status();
    Ok((status, render(&page, "settings teams")?).into_response())
}

pub async fn teams(State(app): State<AppState>, frame: Frame, params: QueryParams) -> Result<Response, ApiError> {
    let common = Common::new(frame.lang, "/settings/teams").with_notice(notice(params.text("done"), frame.lang));
    teams_page(&app, frame, common, FormFields::default()).await
}

pub async fn create_team(
    State(app): State<AppState>,
    frame: Frame,
    Signed(actor): Signed,
    fields: FormFields,
) -> Result<Response, ApiError> {
    let created = async {
        let input = TeamInput::from_json(json!({"name": fields.get("name")}))?;
        Ok::<_, ApiError>(app.create_team(&actor, &input).await?)
    }
    .await;
    match created {
        Ok(_) => Ok(done("/settings/teams", "team_created")),
        Err(error) => {
            let lang = frame.lang;
            let errors = refused(error, lang, |_| team_name_label(lang))?;
            let common = Common::new(lang, "/settings/teams").with_errors(errors);
            teams_page(&app, frame, common, fields).await
        }
    }
}

pub async fn rename_team(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    frame: Frame,
    Signed(actor): Signed,
    fields: FormFields,
) -> Result<Response, ApiError> {
    let renamed = async {
        let input = TeamInput::from_json(json!({"name": fields.get("name")}))?;
        Ok::<_, ApiError>(app.update_team(&actor, TeamId(id), &input).await?)
    }
    .await;
    match renamed {
        Ok(_) => Ok(done("/settings/teams", "team_renamed")),
        Err(error) => {
            let lang = frame.lang;
            let errors = refused(error, lang, |_| team_name_label(lang))?;
            let common = Common::new(lang, "/settings/teams").with_errors(errors);
            teams_page(&app, frame, common, FormFields::default()).await
        }
    }
}
