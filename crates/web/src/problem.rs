//! Errors as RFC 9457 problem+json, in the reader's language.
//!
//! Handlers return `ApiError`; it travels in the response's extensions and the `localize`
//! middleware, which knows the request's language, writes the body.

use app::AppError;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use domain::i18n::{Lang, Text};
use domain::interchange::table::Report;
use domain::interchange::RowError;
use domain::playbooks::mail::MailFailure;
use domain::segments::SegmentError;
use domain::FieldError;
use serde::Serialize;
use std::sync::Arc;
use store::Entity;

#[derive(Debug)]
pub enum ApiError {
    App(AppError),
    Fields(Vec<FieldError>),
    MalformedJson(String),
    /// A path parameter that does not parse (e.g. `/api/v1/accounts/abc`): the path asked for.
    BadPath(String),
    UnsupportedMediaType,
    NotFound,
    PayloadTooLarge,
    /// A fault of ours, not the user's: logged, and reported without details.
    Internal(String),
    Unauthenticated,
    Forbidden,
    CsrfRejected,
    InvalidCredentials,
    TooManyAttempts {
        minutes: u64,
    },
    /// A tracking message that cannot be stored: which message (in a batch), field and why.
    BadMessage {
        index: Option<usize>,
        field: String,
        reason: domain::Reason,
    },
    /// A browser origin the write key does not allow.
    OriginNotAllowed {
        origin: String,
    },
    /// A tracking message or batch over Segment's size limits.
    TooLarge {
        detail: String,
    },
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> ApiError {
        match error {
            AppError::Invalid(fields) => ApiError::Fields(fields),
            AppError::Forbidden => ApiError::Forbidden,
            AppError::Internal(detail) => ApiError::Internal(detail),
            other => ApiError::App(other),
        }
    }
}

impl From<store::StoreError> for ApiError {
    fn from(error: store::StoreError) -> ApiError {
        ApiError::from(AppError::from(error))
    }
}

impl From<Vec<FieldError>> for ApiError {
    fn from(errors: Vec<FieldError>) -> ApiError {
        ApiError::Fields(errors)
    }
}

/// One invalid field in a problem document.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProblemField {
    /// The JSON field, query parameter or CSV column.
    pub field: String,
    /// CSV line number, for file imports; the line of a segment rule's error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// The column (in characters, from 1) of a segment rule's error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u64>,
    /// Machine-readable reason, e.g. `required`, `invalid_email`.
    pub code: String,
    pub message: String,
}

/// RFC 9457 problem details.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
    /// The last part of `type` (`unauthenticated`, `validation`, …). Tracking clients
    /// (RudderStack's, Segment's) read `code` and `message` from every error body and stall
    /// retrying when they are missing.
    pub code: String,
    /// `detail`, or `title` when there is no detail.
    pub message: String,
}

const VALIDATION: Text = Text::new("入力内容に誤りがあります", "The input is invalid");
const IMPORT_REJECTED: Text = Text::new(
    "ファイルを取り込めませんでした（何も書き込んでいません）",
    "The file was not imported (nothing was written)",
);
const NOT_FOUND: Text = Text::new("見つかりません", "Not found");
const CONFLICT: Text = Text::new("既に存在します", "Already exists");
const MALFORMED: Text = Text::new("JSON として読み取れません", "The body is not valid JSON");
const BAD_PATH: Text = Text::new("URL のパスが正しくありません", "The URL path is invalid");
const MEDIA_TYPE: Text =
    Text::new("Content-Type は application/json にしてください", "Content-Type must be application/json");
const TOO_LARGE: Text = Text::new("リクエストが大きすぎます", "The request body is too large");
const UNAUTHENTICATED: Text = Text::new(
    "ログインしてください（セッションまたは API トークンが必要です）",
    "Sign in first (a session or an API token is required)",
);
const FORBIDDEN: Text = Text::new("この操作を行う権限がありません", "You are not allowed to do this");
const CSRF: Text = Text::new(
    "CSRF トークンがないか一致しません。ページを再読み込みしてください",
    "The CSRF token is missing or wrong; reload the page",
);
pub const BAD_LOGIN: Text = Text::new("メールアドレスまたはパスワードが違います", "Email or password is wrong");
const BAD_MESSAGE: Text = Text::new("トラッキングメッセージを保存できません", "The tracking message cannot be stored");
const BUSY: Text = Text::new("混み合っています。少し待ってから再送してください", "Busy: retry in a moment");
const INTERNAL: Text = Text::new("サーバー内部でエラーが発生しました", "Internal server error");
const MAIL_NOT_CONFIGURED: Text = Text::new("SMTP サーバーが設定されていません", "No SMTP server is configured");
const UNDELIVERED: Text = Text::new("メールを送信できませんでした", "The email was not sent");

fn entity_name(entity: Entity, lang: Lang) -> &'static str {
    let text = match entity {
        Entity::Team => Text::new("チーム", "team"),
        Entity::User => Text::new("スタッフ", "staff user"),
        Entity::Account => Text::new("顧客", "account"),
        Entity::Contact => Text::new("連絡先", "contact"),
        Entity::SubscriptionPeriod => Text::new("契約期間", "subscription period"),
        Entity::TimelineEntry => Text::new("タイムライン項目", "timeline entry"),
        Entity::ApiToken => Text::new("API トークン", "API token"),
        Entity::WriteKey => Text::new("書き込みキー", "write key"),
        Entity::Feature => Text::new("機能", "feature"),
        Entity::NpsResponse => Text::new("NPS 回答", "NPS response"),
        Entity::Ticket => Text::new("問い合わせチケット", "ticket"),
        Entity::SavedView => Text::new("保存したビュー", "saved view"),
        Entity::Playbook => Text::new("プレイブック", "playbook"),
        Entity::OutboxEmail => Text::new("送信待ちメール", "outbox email"),
        Entity::Segment => Text::new("セグメント", "segment"),
        Entity::Task => Text::new("タスク", "task"),
        Entity::OnboardingTemplate => Text::new("オンボーディングテンプレート", "onboarding template"),
        Entity::OnboardingPlan => Text::new("オンボーディングプラン", "onboarding plan"),
        Entity::Event => Text::new("利用イベント", "usage event"),
        Entity::Renewal => Text::new("更新", "renewal"),
        Entity::FeatureRequest => Text::new("製品リクエスト", "feature request"),
        Entity::Notification => Text::new("通知", "notification"),
        Entity::StagedImport => Text::new("アップロードしたファイル", "uploaded file"),
        Entity::Message => Text::new("アプリ内メッセージ", "in-app message"),
        Entity::Survey => Text::new("アンケート", "survey"),
        Entity::ChangeLog => Text::new("変更記録", "change log entry"),
    };
    text.pick(lang)
}

/// The `code` a reason serializes with (`required`, `unknown_field`, …).
pub(crate) fn code_of(reason: &impl Serialize) -> String {
    serde_json::to_value(reason)
        .ok()
        .and_then(|v| v.get("code").and_then(|c| c.as_str()).map(str::to_owned))
        .unwrap_or_else(|| "invalid".into())
}

fn field_entries(errors: &[FieldError], lang: Lang) -> Vec<ProblemField> {
    errors
        .iter()
        .map(|e| ProblemField {
            field: e.field.clone(),
            line: None,
            column: None,
            code: code_of(&e.reason),
            message: e.message(lang),
        })
        .collect()
}

/// A segment rule's error with its position, as the reader reads it: "line 2, column 5: …".
pub fn rule_message(error: &SegmentError, lang: Lang) -> String {
    match lang {
        Lang::Ja => format!("{} 行 {} 列目: {}", error.line, error.column, error.message(lang)),
        Lang::En => format!("line {}, column {}: {}", error.line, error.column, error.message(lang)),
    }
}

fn rule_entries(errors: &[SegmentError], lang: Lang) -> Vec<ProblemField> {
    errors
        .iter()
        .map(|e| ProblemField {
            field: "rule".into(),
            line: Some(e.line as u64),
            column: Some(e.column as u64),
            code: code_of(&e.reason),
            message: rule_message(e, lang),
        })
        .collect()
}

/// The first `MAX_REPORTED_ERRORS` row errors and, when there were more, an entry counting
/// them (`field` `*`, `code` `more_problems`).
fn row_entries(errors: &[RowError], lang: Lang) -> Vec<ProblemField> {
    let report = Report::of(errors);
    let more = (report.unlisted > 0).then(|| {
        let reason = domain::Reason::MoreProblems { count: report.unlisted };
        ProblemField {
            field: "*".into(),
            line: None,
            column: None,
            code: code_of(&reason),
            message: reason.message(lang),
        }
    });
    report
        .listed
        .iter()
        .map(|e| ProblemField {
            field: e.column.clone(),
            line: Some(e.line),
            column: None,
            code: code_of(&e.reason),
            message: e.message(lang),
        })
        .chain(more)
        .collect()
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Fields(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::MalformedJson(_) | ApiError::BadPath(_) => StatusCode::BAD_REQUEST,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::App(AppError::Invalid(_) | AppError::ImportRejected { .. } | AppError::RuleRejected { .. }) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::App(AppError::NotFound { .. }) => StatusCode::NOT_FOUND,
            ApiError::App(AppError::Conflict { .. } | AppError::MailNotConfigured) => StatusCode::CONFLICT,
            ApiError::App(AppError::Undelivered(_)) => StatusCode::BAD_GATEWAY,
            ApiError::App(AppError::Store(_) | AppError::Internal(_)) | ApiError::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            ApiError::Unauthenticated | ApiError::InvalidCredentials => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden | ApiError::CsrfRejected | ApiError::App(AppError::Forbidden) => StatusCode::FORBIDDEN,
            ApiError::TooManyAttempts { .. } | ApiError::App(AppError::Busy) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::BadMessage { .. } => StatusCode::BAD_REQUEST,
            ApiError::OriginNotAllowed { .. } => StatusCode::FORBIDDEN,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        }
    }

    pub fn problem(&self, lang: Lang) -> Problem {
        let status = self.status();
        let (kind, title, detail, errors) = match self {
            ApiError::Fields(fields) => {
                let detail =
                    fields.iter().map(|f| format!("{}: {}", f.field, f.message(lang))).collect::<Vec<_>>().join("; ");
                ("validation", VALIDATION.pick(lang).to_owned(), detail, field_entries(fields, lang))
            }
            ApiError::App(AppError::Invalid(fields)) => {
                ("validation", VALIDATION.pick(lang).to_owned(), String::new(), field_entries(fields, lang))
            }
            ApiError::App(AppError::RuleRejected { fields, errors }) => {
                let mut entries = field_entries(fields, lang);
                entries.extend(rule_entries(errors, lang));
                let detail =
                    entries.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ");
                ("validation", VALIDATION.pick(lang).to_owned(), detail, entries)
            }
            ApiError::App(AppError::ImportRejected { file, errors }) => (
                "import-rejected",
                IMPORT_REJECTED.pick(lang).to_owned(),
                AppError::import_report(file, errors, lang),
                row_entries(errors, lang),
            ),
            ApiError::App(AppError::NotFound { entity, id }) => (
                "not-found",
                NOT_FOUND.pick(lang).to_owned(),
                match lang {
                    Lang::Ja => format!("{} {id} は見つかりません。", entity_name(*entity, lang)),
                    Lang::En => format!("There is no {} {id}.", entity_name(*entity, lang)),
                },
                Vec::new(),
            ),
            ApiError::NotFound => ("not-found", NOT_FOUND.pick(lang).to_owned(), String::new(), Vec::new()),
            ApiError::App(AppError::Conflict { entity, field }) => {
                let detail = match lang {
                    Lang::Ja => format!("同じ {field} の{}が既にあります", entity_name(*entity, lang)),
                    Lang::En => format!("another {} already has this {field}", entity_name(*entity, lang)),
                };
                let errors = vec![ProblemField {
                    field: (*field).to_owned(),
                    line: None,
                    column: None,
                    code: "already_exists".into(),
                    message: domain::Reason::AlreadyExists.message(lang),
                }];
                ("conflict", CONFLICT.pick(lang).to_owned(), detail, errors)
            }
            ApiError::MalformedJson(detail) => {
                ("malformed-json", MALFORMED.pick(lang).to_owned(), detail.clone(), Vec::new())
            }
            ApiError::BadPath(path) => {
                let detail = match lang {
                    Lang::Ja => format!("{path} は読み取れません。番号やキーが正しいか確かめてください。"),
                    Lang::En => format!("{path} cannot be read: check the number or key in it."),
                };
                ("bad-path", BAD_PATH.pick(lang).to_owned(), detail, Vec::new())
            }
            ApiError::UnsupportedMediaType => {
                ("unsupported-media-type", MEDIA_TYPE.pick(lang).to_owned(), String::new(), Vec::new())
            }
            ApiError::PayloadTooLarge => {
                ("payload-too-large", TOO_LARGE.pick(lang).to_owned(), String::new(), Vec::new())
            }
            ApiError::Unauthenticated => {
                ("unauthenticated", UNAUTHENTICATED.pick(lang).to_owned(), String::new(), Vec::new())
            }
            ApiError::InvalidCredentials => {
                ("invalid-credentials", BAD_LOGIN.pick(lang).to_owned(), String::new(), Vec::new())
            }
            ApiError::TooManyAttempts { minutes } => {
                let detail = match lang {
                    Lang::Ja => format!("ログインの失敗が続いたため、{minutes} 分後に再度お試しください"),
                    Lang::En => format!("Too many failed sign-ins; try again in {minutes} minutes"),
                };
                ("too-many-attempts", detail.clone(), detail, Vec::new())
            }
            ApiError::Forbidden | ApiError::App(AppError::Forbidden) => {
                ("forbidden", FORBIDDEN.pick(lang).to_owned(), String::new(), Vec::new())
            }
            ApiError::OriginNotAllowed { origin } => {
                let detail = match lang {
                    Lang::Ja => format!("この書き込みキーはオリジン {origin} からの送信を許可していません"),
                    Lang::En => format!("this write key does not allow sending from the origin {origin}"),
                };
                ("origin-not-allowed", FORBIDDEN.pick(lang).to_owned(), detail, Vec::new())
            }
            ApiError::CsrfRejected => ("csrf", CSRF.pick(lang).to_owned(), String::new(), Vec::new()),
            ApiError::BadMessage { index, field, reason } => {
                let field = match index {
                    Some(i) => format!("batch[{i}].{field}"),
                    None => field.clone(),
                };
                let message = reason.message(lang);
                let errors = vec![ProblemField {
                    field: field.clone(),
                    line: None,
                    column: None,
                    code: code_of(reason),
                    message: message.clone(),
                }];
                ("bad-message", BAD_MESSAGE.pick(lang).to_owned(), format!("{field}: {message}"), errors)
            }
            ApiError::TooLarge { detail } => {
                ("payload-too-large", TOO_LARGE.pick(lang).to_owned(), detail.clone(), Vec::new())
            }
            ApiError::App(AppError::Busy) => ("busy", BUSY.pick(lang).to_owned(), String::new(), Vec::new()),
            ApiError::App(AppError::MailNotConfigured) => (
                "mail-not-configured",
                MAIL_NOT_CONFIGURED.pick(lang).to_owned(),
                MailFailure::NotConfigured.message(lang),
                Vec::new(),
            ),
            ApiError::App(AppError::Undelivered(reason)) => {
                ("undelivered", UNDELIVERED.pick(lang).to_owned(), reason.pick(lang).to_owned(), Vec::new())
            }
            ApiError::App(AppError::Store(_) | AppError::Internal(_)) | ApiError::Internal(_) => {
                ("internal", INTERNAL.pick(lang).to_owned(), String::new(), Vec::new())
            }
        };
        let message = if detail.is_empty() { title.clone() } else { detail.clone() };
        Problem {
            kind: format!("https://kizuna.dev/problems/{kind}"),
            title,
            status: status.as_u16(),
            detail,
            errors,
            code: kind.to_owned(),
            message,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::App(AppError::Store(error)) => tracing::error!(%error, "request failed"),
            ApiError::App(AppError::Internal(detail)) => tracing::error!(%detail, "request failed"),
            ApiError::Internal(detail) => tracing::error!(%detail, "request failed"),
            _ => {}
        }
        let mut response = self.status().into_response();
        if matches!(self, ApiError::App(AppError::Busy)) {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("1"));
        }
        response.extensions_mut().insert(Arc::new(self));
        response
    }
}

/// The reader's language: `?lang=ja|en`, else `Accept-Language`, else Japanese.
pub fn request_lang(headers: &HeaderMap, query: Option<&str>) -> Lang {
    let from_query = query.and_then(|q| {
        q.split('&').find_map(|pair| match pair.split_once('=') {
            Some(("lang", "ja")) => Some(Lang::Ja),
            Some(("lang", "en")) => Some(Lang::En),
            _ => None,
        })
    });
    let from_cookie = || match crate::auth::cookie(headers, crate::pages::LANG_COOKIE).as_deref() {
        Some("ja") => Some(Lang::Ja),
        Some("en") => Some(Lang::En),
        _ => None,
    };
    from_query
        .or_else(from_cookie)
        .or_else(|| {
            headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).and_then(Lang::from_accept_language)
        })
        .unwrap_or_default()
}

/// Writes the body of error responses in the request's language; a browser gets a page, inside
/// the navigation when it is signed in.
pub async fn localize(State(app): State<crate::AppState>, request: Request, next: Next) -> Response {
    let lang = request_lang(request.headers(), request.uri().query());
    let html = crate::pages::error::wants_html(request.uri().path(), request.headers());
    let head = html.then(|| (request.headers().clone(), request.uri().clone()));
    let mut response = next.run(request).await;
    let Some(error) = response.extensions_mut().remove::<Arc<ApiError>>() else {
        return response;
    };
    let problem = error.problem(lang);
    let page = match head {
        Some((headers, uri)) => {
            let frame = crate::pages::error::signed_in_frame(&app, &headers, &uri).await;
            crate::pages::error::render(&problem, lang, frame)
        }
        None => None,
    };
    let (mut parts, _) = response.into_parts();
    let (content_type, body) = match page {
        Some(page) => ("text/html; charset=utf-8", page.into_bytes()),
        None => ("application/problem+json", serde_json::to_vec(&problem).unwrap_or_default()),
    };
    parts.headers.insert(header::CONTENT_TYPE, header::HeaderValue::from_static(content_type));
    parts.headers.insert(header::CONTENT_LANGUAGE, header::HeaderValue::from_static(lang.code()));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(body))
}
