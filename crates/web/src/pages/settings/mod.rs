//! `/settings/…` (administrators): staff and teams, API tokens, write keys, the feature catalog,
//! workspace settings and sales & marketing spend. Each form posts back to its page, parses its
//! fields with the same parser as the matching API route, and on bad input re-renders the page
//! with 422 and messages naming the field in the reader's language, having stored nothing.
//! Secrets (a new user's password, a token, a write key) are shown in the answer to the POST
//! itself and never again, so they are never put in a URL, a cookie or the database.

pub mod catalog;
pub mod keys;
pub mod mail;
pub mod staff;
pub mod workspace;

use crate::problem::ApiError;
use app::AppError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::i18n::{Lang, Text};
use domain::Reason;

/// One entry of the settings sub-navigation.
pub struct NavItem {
    pub href: &'static str,
    pub id: &'static str,
    pub label: &'static str,
    pub current: bool,
}

const PAGES: [(&str, &str, Text); 8] = [
    ("/settings/users", "settings-nav-users", Text::new("ユーザーと権限", "Users and roles")),
    ("/settings/teams", "settings-nav-teams", Text::new("チーム", "Teams")),
    ("/settings/tokens", "settings-nav-tokens", Text::new("API トークン", "API tokens")),
    ("/settings/write-keys", "settings-nav-write-keys", Text::new("書き込みキー", "Write keys")),
    ("/settings/features", "settings-nav-features", Text::new("機能カタログ", "Feature catalog")),
    ("/settings/workspace", "settings-nav-workspace", Text::new("ワークスペース", "Workspace")),
    ("/settings/mail", "settings-nav-mail", Text::new("メール", "Mail")),
    ("/settings/spend", "settings-nav-spend", Text::new("営業・マーケティング費用", "Sales & marketing spend")),
];

/// What every settings page shows above its content: the sub-navigation, the notice of what
/// the last form did, and the messages of a refused form.
pub struct Common {
    pub nav: Vec<NavItem>,
    pub nav_label: &'static str,
    pub notice: Option<String>,
    pub errors: Vec<String>,
}

impl Common {
    pub fn new(lang: Lang, current: &str) -> Common {
        let nav = PAGES
            .iter()
            .map(|(href, id, label)| NavItem { href, id, label: label.pick(lang), current: *href == current })
            .collect();
        Common {
            nav,
            nav_label: Text::new("設定メニュー", "Settings menu").pick(lang),
            notice: None,
            errors: Vec::new(),
        }
    }

    pub fn with_notice(mut self, notice: Option<String>) -> Common {
        self.notice = notice;
        self
    }

    pub fn with_errors(mut self, errors: Vec<String>) -> Common {
        self.errors = errors;
        self
    }

    pub fn status(&self) -> StatusCode {
        if self.errors.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        }
    }
}

/// `/settings`: the first settings page.
pub async fn index() -> Redirect {
    Redirect::to("/settings/users")
}

/// Post/Redirect/Get: back to the page, saying what was done.
pub fn done(page: &str, what: &str) -> Response {
    Redirect::to(&format!("{page}?done={what}")).into_response()
}

/// The notice for `?done=…`.
pub fn notice(done: Option<String>, lang: Lang) -> Option<String> {
    let text = match done?.as_str() {
        "user_updated" => Text::new("ユーザーを更新しました。", "The user was updated."),
        "team_created" => Text::new("チームを作成しました。", "The team was created."),
        "team_renamed" => Text::new("チーム名を変更しました。", "The team was renamed."),
        "token_revoked" => Text::new("API トークンを無効にしました。", "The API token was revoked."),
        "write_key_revoked" => Text::new("書き込みキーを無効にしました。", "The write key was revoked."),
        "write_key_updated" => {
            Text::new("書き込みキーの許可オリジンを保存しました。", "The write key's allowed origins were saved.")
        }
        "field_sources_saved" => Text::new(
            "トラッキングと取り込みデータの優先を保存しました。",
            "Which source wins over tracking was saved.",
        ),
        "features_applied" => Text::new("機能カタログを適用しました。", "The feature catalog was applied."),
        "settings_saved" => Text::new("ワークスペース設定を保存しました。", "The workspace settings were saved."),
        "spend_saved" => Text::new("費用を保存しました。", "The spend was saved."),
        "spend_removed" => Text::new("費用を削除しました。", "The spend was removed."),
        "custom_fields_saved" => {
            Text::new("カスタム項目の表示名を保存しました。", "The custom field names were saved.")
        }
        "request_webhook_saved" => {
            Text::new("製品リクエストの Webhook を保存しました。", "The product request webhook was saved.")
        }
        "mail_saved" => Text::new("メールの設定を保存しました。", "The mail settings were saved."),
        "mail_removed" => Text::new(
            "保存したメールの設定を削除しました。設定ファイルの smtp_url があればそれを使います。",
            "The saved mail settings were removed; the configuration file's smtp_url applies, if any.",
        ),
        "mail_test_sent" => Text::new(
            "テストメールを送信しました。受信箱を確認してください。",
            "The test email was sent; check the inbox.",
        ),
        _ => return None,
    };
    Some(text.pick(lang).to_owned())
}

/// The messages of refused input, each naming its field by `label` in the reader's language.
/// Any other error is not the reader's mistake and passes on.
pub fn refused(error: ApiError, lang: Lang, label: impl Fn(&str) -> &'static str) -> Result<Vec<String>, ApiError> {
    let line = |field: &str, reason: &Reason| format!("{}: {}", label(field), reason.message(lang));
    match error {
        ApiError::Fields(fields) | ApiError::App(AppError::Invalid(fields)) => {
            Ok(fields.iter().map(|f| line(&f.field, &f.reason)).collect())
        }
        ApiError::App(AppError::Conflict { field, .. }) => Ok(vec![line(field, &Reason::AlreadyExists)]),
        other => Err(other),
    }
}
