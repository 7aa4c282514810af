//! `/segments`: saved segments with their live size; `/segments/new` and `/segments/{id}`: the
//! editor (name, description, rule) with a preview of who the rule picks and every error marked
//! in the rule, the members and the recent history of entries and exits.
//!
//! Without JavaScript, the "preview" button posts the form and the page comes back with the
//! preview; `assets/kizuna.js` previews as the rule is typed through `/api/v1/segments/preview`.

use super::{format, render, Frame};
use crate::extract::Path;
use crate::extract::{FormFields, QueryParams};
use crate::problem::{rule_message, ApiError};
use crate::AppState;
use app::segments::SegmentPreview;
use app::AppError;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::access::Access;
use domain::i18n::{Lang, Text};
use domain::segments::{Field, Function, Segment, SegmentError};
use domain::Currency;
use store::SegmentInput;

/// Accounts the preview lists.
const PREVIEW_ACCOUNTS: usize = 10;
const MEMBERS_PAGE: i64 = 50;
const HISTORY_ROWS: i64 = 20;

pub struct Labels {
    pub new_segment: &'static str,
}

impl Labels {
    fn new(lang: Lang) -> Labels {
        let t = |ja, en| Text::new(ja, en).pick(lang);
        Labels { new_segment: t("セグメントを作成", "New segment") }
    }
}

pub struct SegmentRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub rule: String,
    pub members: i64,
    pub arr: String,
}

#[derive(Template)]
#[template(path = "segments.html")]
pub struct SegmentsPage {
    pub frame: Frame,
    pub t: Labels,
    pub rows: Vec<SegmentRow>,
    pub notice: Option<&'static str>,
    pub may_manage: bool,
}

/// A piece of the rule as the error view shows it: marked where an error is.
pub struct Chunk {
    pub text: String,
    pub marked: bool,
}

pub struct PreviewRow {
    pub id: i64,
    pub name: String,
    pub arr: String,
    pub grade: String,
    pub grade_colour: String,
    pub score: String,
}

pub struct PreviewView {
    pub count: usize,
    pub arr: String,
    pub rows: Vec<PreviewRow>,
}

pub struct MemberRow {
    pub id: i64,
    pub name: String,
    pub arr: String,
    pub grade: String,
    pub grade_colour: String,
    pub score: String,
    pub entered_at: String,
}

pub struct HistoryRow {
    pub at: String,
    pub account_id: i64,
    pub account_name: String,
    pub entered: bool,
}

/// The saved segment shown on its page.
pub struct Saved {
    pub id: i64,
    pub members: i64,
    pub arr: String,
    pub member_rows: Vec<MemberRow>,
    pub history: Vec<HistoryRow>,
    pub previous: Option<String>,
    pub next: Option<String>,
}

#[derive(Template)]
#[template(path = "segment.html")]
pub struct SegmentPage {
    pub frame: Frame,
    pub heading: String,
    pub action: String,
    pub name: String,
    pub name_en: String,
    pub description: String,
    pub rule: String,
    pub currency: String,
    pub errors: Vec<String>,
    pub highlight: Vec<Chunk>,
    /// Whether the rule has errors to mark.
    pub invalid: bool,
    pub preview: Option<PreviewView>,
    pub saved: Option<Saved>,
    pub may_manage: bool,
    pub notice: Option<&'static str>,
    pub fields: Vec<String>,
    pub functions: Vec<String>,
    pub examples: Vec<String>,
    /// Whether the feature catalog is empty, so no rule can name a feature yet.
    pub no_features: bool,
}

/// The rule split where its errors are, for the error view. Offsets are on character
/// boundaries (the parser reports tokens); an error at the end of the rule marks a space.
fn highlight(rule: &str, errors: &[SegmentError]) -> Vec<Chunk> {
    let mut spans: Vec<(usize, usize)> = errors.iter().map(|e| (e.offset, e.offset + e.length)).collect();
    spans.sort();
    let mut chunks = Vec::new();
    let mut at = 0;
    for (start, end) in spans {
        if start < at || end > rule.len() || !rule.is_char_boundary(start) || !rule.is_char_boundary(end) {
            continue;
        }
        chunks.push(Chunk { text: rule[at..start].to_owned(), marked: false });
        let marked = if start == end { " ".to_owned() } else { rule[start..end].to_owned() };
        chunks.push(Chunk { text: marked, marked: true });
        at = end;
    }
    chunks.push(Chunk { text: rule[at..].to_owned(), marked: false });
    chunks
}

/// Every message of a refused segment in the reader's language, naming the field or position;
/// other errors pass on.
fn refusal(error: AppError, lang: Lang) -> Result<(Vec<String>, Vec<SegmentError>), ApiError> {
    let field = |name: &str| match name {
        "name" => Text::new("名前", "Name").pick(lang).to_owned(),
        "name_en" => Text::new("英語名", "English name").pick(lang).to_owned(),
        "description" => Text::new("説明", "Description").pick(lang).to_owned(),
        "rule" => Text::new("ルール", "Rule").pick(lang).to_owned(),
        other => other.to_owned(),
    };
    match error {
        AppError::RuleRejected { fields, errors } => {
            let mut messages: Vec<String> =
                fields.iter().map(|f| format!("{}: {}", field(&f.field), f.message(lang))).collect();
            messages.extend(errors.iter().map(|e| format!("{}: {}", field("rule"), rule_message(e, lang))));
            Ok((messages, errors))
        }
        AppError::Conflict { field: name, .. } => {
            Ok((vec![format!("{}: {}", field(name), domain::Reason::AlreadyExists.message(lang))], Vec::new()))
        }
        other => Err(other.into()),
    }
}

fn preview_view(
    preview: &SegmentPreview,
    config: &domain::health::HealthConfig,
    currency: &Currency,
    lang: Lang,
) -> PreviewView {
    PreviewView {
        count: preview.count,
        arr: format::money(preview.arr, currency, lang),
        rows: preview
            .accounts
            .iter()
            .map(|a| {
                let (grade, grade_colour) = format::grade(config, a.grade.as_deref(), lang);
                PreviewRow {
                    id: a.id,
                    name: a.name.clone(),
                    arr: format::money(a.arr, currency, lang),
                    grade,
                    grade_colour,
                    score: format::score(a.score),
                }
            })
            .collect(),
    }
}

/// What the editor shows: the form's values, and either errors or a preview.
struct Editing {
    input: SegmentInput,
    errors: Vec<String>,
    rule_errors: Vec<SegmentError>,
    preview: bool,
}

impl Editing {
    fn from_form(fields: &FormFields) -> Editing {
        let description = fields.get("description");
        let name_en = fields.get("name_en");
        Editing {
            input: SegmentInput {
                name: fields.get("name").to_owned(),
                name_en: (!name_en.trim().is_empty()).then(|| name_en.to_owned()),
                rule: fields.get("rule").to_owned(),
                description: (!description.trim().is_empty()).then(|| description.to_owned()),
            },
            errors: Vec::new(),
            rule_errors: Vec::new(),
            preview: fields.get("intent") == "preview",
        }
    }
}

async fn editor(
    app: &AppState,
    frame: Frame,
    id: Option<i64>,
    editing: Option<Editing>,
    offset: i64,
    notice: Option<&'static str>,
) -> Result<SegmentPage, ApiError> {
    let lang = frame.lang;
    let t = Labels::new(lang);
    let currency = app.settings().currency;
    let config = app.health_config().await?;
    let zone = app.zone();
    let saved = match id {
        Some(id) => Some((app.segment(id).await?, app.segment_members(id, MEMBERS_PAGE, offset).await?)),
        None => None,
    };
    let mut editing = editing.unwrap_or_else(|| Editing {
        input: saved.as_ref().map_or_else(
            || SegmentInput { name: String::new(), name_en: None, rule: String::new(), description: None },
            |(s, _)| s.segment.input(),
        ),
        errors: Vec::new(),
        rule_errors: Vec::new(),
        // A saved segment opens with its preview, as the live preview would show it.
        preview: saved.is_some(),
    });
    let features = app.features().await?;
    let mut preview = None;
    if editing.preview && editing.errors.is_empty() {
        // Checked as the preview checks it: a feature outside the catalog is an error here too.
        match Segment::parse_with_catalog(&editing.input.rule, &app.feature_keys().await?) {
            Ok(_) => {
                let result = app.preview_segment(&editing.input.rule, PREVIEW_ACCOUNTS).await?;
                preview = Some(preview_view(&result, &config, &currency, lang));
            }
            Err(errors) => {
                (editing.errors, editing.rule_errors) =
                    refusal(AppError::RuleRejected { fields: Vec::new(), errors }, lang)?;
            }
        }
    }
    let saved = match saved {
        Some((summary, members)) => {
            let id = summary.segment.id;
            let history = app.segment_history(id, HISTORY_ROWS, 0).await?;
            let page_link = |offset: i64| format!("/segments/{id}?offset={offset}#members");
            Some(Saved {
                id,
                members: summary.members,
                arr: format::money(summary.arr, &currency, lang),
                member_rows: members
                    .items
                    .iter()
                    .map(|m| {
                        let (grade, grade_colour) = format::account_grade(&config, &m.account, lang);
                        MemberRow {
                            id: m.account.id.0,
                            name: m.account.input.name.clone(),
                            arr: format::money(m.account.figures.arr, &currency, lang),
                            grade,
                            grade_colour,
                            score: format::score(m.account.health.score),
                            entered_at: format::moment(Some(m.entered_at), &zone, lang),
                        }
                    })
                    .collect(),
                history: history
                    .into_iter()
                    .map(|e| HistoryRow {
                        at: format::moment(Some(e.at), &zone, lang),
                        account_id: e.account_id,
                        account_name: e.account_name,
                        entered: e.entered,
                    })
                    .collect(),
                previous: (offset > 0).then(|| page_link((offset - MEMBERS_PAGE).max(0))),
                next: (offset + MEMBERS_PAGE < members.total).then(|| page_link(offset + MEMBERS_PAGE)),
            })
        }
        None => None,
    };
    let heading = if editing.input.name.trim().is_empty() {
        t.new_segment.to_owned()
    } else {
        domain::i18n::name_in(&editing.input.name, editing.input.name_en.as_deref(), lang).to_owned()
    };
    Ok(SegmentPage {
        heading,
        action: id.map_or_else(|| "/segments/new".to_owned(), |id| format!("/segments/{id}")),
        highlight: highlight(&editing.input.rule, &editing.rule_errors),
        invalid: !editing.rule_errors.is_empty(),
        name: editing.input.name,
        name_en: editing.input.name_en.unwrap_or_default(),
        description: editing.input.description.unwrap_or_default(),
        rule: editing.input.rule,
        currency: currency.as_str().to_owned(),
        errors: editing.errors,
        preview,
        saved,
        may_manage: frame.may(Access::Manage),
        notice,
        fields: Field::FIXED.iter().map(|f| f.name().to_owned()).collect(),
        functions: {
            // The catalog's first feature, or a placeholder while the catalog is empty.
            let key = features.first().map_or_else(
                || Text::new("機能のキー", "feature_key").pick(lang).to_owned(),
                |f| f.definition.key.to_string(),
            );
            Function::ALL
                .iter()
                .map(|f| {
                    if f.takes_window() {
                        format!("{}(\"{key}\", 30d)", f.name())
                    } else {
                        format!("{}(\"{key}\")", f.name())
                    }
                })
                .collect()
        },
        examples: rule_examples(
            features.first().map(|f| f.definition.key.as_str()),
            features
                .iter()
                .find(|f| matches!(f.definition.cadence, domain::usage::Cadence::Annual(_)))
                .map(|f| f.definition.key.as_str()),
        ),
        no_features: features.is_empty(),
        frame: frame.at("segments"),
    })
}

/// Example rules for the help, naming only features of this workspace's catalog: `first`, the
/// catalog's first feature, for recent use; `seasonal`, a feature used once a year, for the
/// season functions. Without them the examples name no feature.
fn rule_examples(first: Option<&str>, seasonal: Option<&str>) -> Vec<String> {
    let mut examples =
        vec!["grade in (\"at_risk\", \"neutral\") and arr >= 1_000_000 and days_to_renewal <= 90".to_owned()];
    if let Some(key) = first {
        examples.push(format!("tier = \"smb\" and not used_within(\"{key}\", 30d)"));
    }
    if let Some(key) = seasonal {
        examples.push(format!("used_last_season(\"{key}\") and not used_this_season(\"{key}\")"));
    }
    examples.push("renewal_date <= today + 90d and first_paying_day >= today - 6m".to_owned());
    examples
}

pub async fn list(State(app): State<AppState>, frame: Frame, params: QueryParams) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let currency = app.settings().currency;
    let rows = app
        .segments()
        .await?
        .into_iter()
        .map(|s| SegmentRow {
            id: s.segment.id,
            name: s.segment.name_in(lang).to_owned(),
            description: s.segment.description.unwrap_or_default(),
            rule: s.segment.rule,
            members: s.members,
            arr: format::money(s.arr, &currency, lang),
        })
        .collect();
    let notice = (params.text("done").as_deref() == Some("deleted"))
        .then(|| frame.pick("セグメントを削除しました。", "Segment deleted."));
    let page = SegmentsPage {
        may_manage: frame.may(Access::Manage),
        t: Labels::new(lang),
        rows,
        notice,
        frame: frame.at("segments"),
    };
    Ok(render(&page, "segments")?.into_response())
}

pub async fn new_form(State(app): State<AppState>, frame: Frame) -> Result<Response, ApiError> {
    let page = editor(&app, frame, None, None, 0, None).await?;
    Ok(render(&page, "segment")?.into_response())
}

pub async fn page(
    State(app): State<AppState>,
    frame: Frame,
    Path(id): Path<i64>,
    mut params: QueryParams,
) -> Result<Response, ApiError> {
    let (_, offset) = params.page();
    let notice = (params.text("done").as_deref() == Some("saved")).then(|| frame.pick("保存しました。", "Saved."));
    params.finish()?;
    let page = editor(&app, frame, Some(id), None, offset, notice).await?;
    Ok(render(&page, "segment")?.into_response())
}

/// Creates a segment from the editor, or previews the rule (`intent=preview`).
pub async fn create(State(app): State<AppState>, frame: Frame, fields: FormFields) -> Result<Response, ApiError> {
    submit(app, frame, None, fields).await
}

/// Saves the segment from the editor, or previews the rule (`intent=preview`).
pub async fn save(
    State(app): State<AppState>,
    frame: Frame,
    Path(id): Path<i64>,
    fields: FormFields,
) -> Result<Response, ApiError> {
    app.segment(id).await?;
    submit(app, frame, Some(id), fields).await
}

async fn submit(app: AppState, frame: Frame, id: Option<i64>, fields: FormFields) -> Result<Response, ApiError> {
    let mut editing = Editing::from_form(&fields);
    if editing.preview {
        let page = editor(&app, frame, id, Some(editing), 0, None).await?;
        let status = if page.errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
        return Ok((status, render(&page, "segment")?).into_response());
    }
    let saved = match id {
        Some(id) => app.update_segment(&frame.actor, id, &editing.input).await,
        None => app.create_segment(&frame.actor, &editing.input).await,
    };
    match saved {
        Ok(segment) => Ok(Redirect::to(&format!("/segments/{}?done=saved", segment.id)).into_response()),
        Err(error) => {
            let (messages, rule_errors) = refusal(error, frame.lang)?;
            editing.errors = messages;
            editing.rule_errors = rule_errors;
            let page = editor(&app, frame, id, Some(editing), 0, None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page, "segment")?).into_response())
        }
    }
}

pub async fn delete(State(app): State<AppState>, frame: Frame, Path(id): Path<i64>) -> Result<Response, ApiError> {
    app.delete_segment(&frame.actor, id).await?;
    Ok(Redirect::to("/segments?done=deleted").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_marked_in_the_rule_and_one_at_the_end_marks_a_space() {
        let rule = "arr > \"x\" and";
        let errors = Segment::parse("arr > \"x\" or socre > 1").unwrap_err();
        let chunks = highlight("arr > \"x\" or socre > 1", &errors);
        let marked: Vec<&str> = chunks.iter().filter(|c| c.marked).map(|c| c.text.as_str()).collect();
        assert_eq!(marked.len(), 2, "{marked:?}");
        assert!(marked[1] == "socre", "{marked:?}");
        let at_end = Segment::parse(rule).unwrap_err();
        let chunks = highlight(rule, &at_end);
        assert!(chunks.iter().any(|c| c.marked && c.text == " "));
        assert_eq!(chunks.iter().map(|c| c.text.as_str()).collect::<String>().trim_end(), rule);
    }

    #[test]
    fn the_help_examples_name_only_features_of_the_catalog_and_none_when_it_is_empty() {
        let catalog: std::collections::BTreeSet<String> = ["payroll".to_owned(), "year_end".to_owned()].into();
        let examples = rule_examples(Some("payroll"), Some("year_end"));
        assert!(examples.iter().any(|e| e.contains("used_within(\"payroll\", 30d)")), "{examples:?}");
        assert!(examples.iter().any(|e| e.contains("used_last_season(\"year_end\")")), "{examples:?}");
        for example in &examples {
            assert!(Segment::parse_with_catalog(example, &catalog).is_ok(), "{example}");
        }
        let empty = std::collections::BTreeSet::new();
        for example in rule_examples(None, None) {
            assert!(Segment::parse_with_catalog(&example, &empty).is_ok(), "{example}");
            assert!(!example.contains("used_"), "{example}");
        }
    }
}
