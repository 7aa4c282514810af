//! `/requests`: product feedback ranked by the revenue behind each request, a request's page
//! (who asked, in their words, how much it matters, the status history), and the forms that
//! file requests, add customers' evidence, move status and merge duplicates. Labels are in the
//! templates (`frame.pick`).

use super::{choices, format, Choice, Frame};
use crate::api::feedback::request_filter;
use crate::extract::Path;
use crate::extract::{FormFields, QueryParams};
use crate::problem::ApiError;
use crate::AppState;
use app::account_search::AccountPick;
use app::feedback::RankedRequest;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::feedback::{
    EvidenceInput, EvidenceSource, Impact, RequestImportance, RequestInput, RequestStatus, StatusChange,
};
use domain::i18n::{Lang, Text};
use domain::{AccountId, AccountRef, Currency, Reason, RequestId, UserId};
use serde_json::json;
use std::collections::HashMap;

/// How much a request matters, "important" chosen: what a CSM usually records.
/// How much a request matters, `selected` (a code) or "important" chosen.
fn importance_choices(lang: Lang, selected: &str) -> Vec<Choice> {
    let all = RequestImportance::ALL.iter().map(|i| (i.as_str().to_owned(), i.label(lang).to_owned()));
    let selected = RequestImportance::parse(selected).unwrap_or(RequestImportance::Important);
    choices(all, Some(selected.as_str()))
}

/// Where the customer said it, "CSM" chosen.
/// The sources of evidence, `selected` (a code) or the CSM's own note chosen.
fn source_choices(lang: Lang, selected: &str) -> Vec<Choice> {
    let all = EvidenceSource::ALL.iter().map(|s| (s.as_str().to_owned(), s.label(lang).to_owned()));
    let selected = EvidenceSource::parse(selected).unwrap_or(EvidenceSource::Csm);
    choices(all, Some(selected.as_str()))
}

/// A request as an option of a select: 「#3 title」.
fn request_choice(request: &store::FeatureRequest) -> (String, String) {
    (request.id.0.to_string(), format!("#{} {}", request.id, request.input.title))
}

fn statuses(lang: Lang, selected: Option<&str>) -> Vec<Choice> {
    choices(RequestStatus::ALL.iter().map(|s| (s.as_str().to_owned(), s.label(lang).to_owned())), selected)
}

/// The revenue behind a request, formatted.
pub struct ImpactView {
    pub accounts: String,
    pub blockers: String,
    pub arr: String,
    pub at_risk_arr: String,
    pub renewing_arr: String,
    pub score: String,
}

impl ImpactView {
    fn of(impact: &Impact, currency: &Currency, lang: Lang) -> ImpactView {
        ImpactView {
            accounts: format::count(impact.accounts as i64),
            blockers: format::count(impact.blockers as i64),
            arr: format::money(impact.arr, currency, lang),
            at_risk_arr: format::money(impact.at_risk_arr, currency, lang),
            renewing_arr: format::money(impact.renewing_arr, currency, lang),
            score: format::money(impact.score, currency, lang),
        }
    }
}

pub struct RequestLine {
    pub id: i64,
    pub title: String,
    pub area: String,
    pub status: String,
    pub status_key: &'static str,
    pub impact: ImpactView,
}

fn request_line(ranked: &RankedRequest, currency: &Currency, lang: Lang) -> RequestLine {
    RequestLine {
        id: ranked.request.id.0,
        title: ranked.request.input.title.clone(),
        area: ranked.request.input.product_area.clone().unwrap_or_default(),
        status: ranked.request.status.label(lang).to_owned(),
        status_key: ranked.request.status.as_str(),
        impact: ImpactView::of(&ranked.impact, currency, lang),
    }
}

/// What the person typed in the new-request form, kept when it is refused.
#[derive(Default)]
pub struct Draft {
    pub title: String,
    pub description: String,
    pub area: String,
}

#[derive(Template)]
#[template(path = "requests.html")]
pub struct RequestsPage {
    pub frame: Frame,
    pub lines: Vec<RequestLine>,
    pub statuses: Vec<Choice>,
    pub areas: Vec<Choice>,
    pub tiers: Vec<Choice>,
    pub segments: Vec<Choice>,
    pub all_statuses: bool,
    pub weights: String,
    pub export_href: String,
    pub draft: Draft,
    pub releases: Vec<ReleaseLine>,
    pub errors: Vec<String>,
    pub notice: Option<&'static str>,
}

/// How far back the release notes on the list go.
const RELEASE_NOTE_DAYS: u64 = 180;

/// The askers a release note names before "and N more".
const RELEASE_NOTE_NAMES: usize = 5;

pub struct ReleaseLine {
    pub id: i64,
    pub title: String,
    pub shipped_on: String,
    pub note: String,
    pub asked_by: String,
}

fn release_line(note: &app::feedback::ReleaseNote, currency: &Currency, lang: Lang) -> ReleaseLine {
    let count = note.askers.len();
    let named: Vec<&str> = note.askers.iter().take(RELEASE_NOTE_NAMES).map(String::as_str).collect();
    let more = count.saturating_sub(RELEASE_NOTE_NAMES);
    let arr = format::money(note.impact.arr, currency, lang);
    let asked_by = match lang {
        Lang::Ja => {
            let rest = if more > 0 { format!(" ほか{}社", format::count(more as i64)) } else { String::new() };
            format!("依頼した顧客 {}社（ARR {arr}）: {}{rest}", format::count(count as i64), named.join("、"))
        }
        Lang::En => {
            let rest = if more > 0 { format!(" and {} more", format::count(more as i64)) } else { String::new() };
            let accounts = if count == 1 { "account" } else { "accounts" };
            format!("Asked for by {} {accounts} (ARR {arr}): {}{rest}", format::count(count as i64), named.join(", "))
        }
    };
    let note_text = [note.request.status_reason.as_deref(), note.request.input.description.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    ReleaseLine {
        id: note.request.id.0,
        title: note.request.input.title.clone(),
        shipped_on: format::date(Some(note.shipped_on), lang),
        note: note_text,
        asked_by,
    }
}

/// How impact is computed, in the reader's language, with the workspace's weights.
fn weights_sentence(app: &AppState, lang: Lang) -> String {
    let w = app.settings().request_impact_weights;
    let days = domain::feedback::RENEWING_SOON_DAYS;
    match lang {
        Lang::Ja => format!(
            "インパクト = 依頼した各顧客の ARR × 重み（あれば嬉しい {}・重要 {}・ないと困る {}、ヘルスが最も低いグレードなら +{}、{days}日以内に更新なら +{}）の合計。同じ顧客は最も高い重要度で1回だけ数えます。",
            w.nice_to_have, w.important, w.blocker, w.at_risk, w.renewing_soon
        ),
        Lang::En => format!(
            "Impact = the sum over the accounts that asked of ARR × weight (nice to have {}, important {}, blocker {}; +{} if in the lowest health grade, +{} if renewing within {days} days). Each account counts once, with its highest importance.",
            w.nice_to_have, w.important, w.blocker, w.at_risk, w.renewing_soon
        ),
    }
}

async fn render_list(
    app: &AppState,
    frame: Frame,
    mut params: QueryParams,
    draft: Draft,
    mut errors: Vec<String>,
) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let raw = params.pairs(&["status", "open", "area", "tier", "segment"]);
    let filter = request_filter(&mut params);
    errors.extend(params.errors.iter().map(|e| format!("{}: {}", e.field, e.reason.message(lang))));
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let selected = |name: &str| raw.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let currency = app.settings().currency;
    let ranked = app.ranked_requests(&filter).await?;
    let query = serde_urlencoded::to_string(&raw).unwrap_or_default();
    let releases =
        app.release_notes(RELEASE_NOTE_DAYS).await?.iter().map(|n| release_line(n, &currency, lang)).collect();
    let page = RequestsPage {
        releases,
        lines: ranked.iter().map(|r| request_line(r, &currency, lang)).collect(),
        statuses: statuses(lang, selected("status")),
        areas: choices(app.product_areas().await?.into_iter().map(|a| (a.clone(), a)), selected("area")),
        tiers: choices(
            ["enterprise", "mid", "smb"].iter().map(|k| (k.to_string(), domain::account::tier_name(k, lang))),
            selected("tier"),
        ),
        segments: choices(
            app.segments().await?.into_iter().map(|s| (s.segment.id.to_string(), s.segment.name_in(lang).to_owned())),
            selected("segment"),
        ),
        all_statuses: !filter.open_only,
        weights: weights_sentence(app, lang),
        export_href: if query.is_empty() { "/requests.csv".into() } else { format!("/requests.csv?{query}") },
        draft,
        errors,
        notice: None,
        frame: frame.at("requests"),
    };
    Ok((status, super::render(&page, "requests")?).into_response())
}

/// `GET /requests`: open requests, highest impact first.
pub async fn list(State(app): State<AppState>, frame: Frame, params: QueryParams) -> Result<Response, ApiError> {
    render_list(&app, frame, params, Draft::default(), Vec::new()).await
}

pub(crate) fn field_label(field: &str, lang: Lang) -> &'static str {
    let t = |ja, en| Text::new(ja, en).pick(lang);
    match field {
        "title" => t("タイトル", "Title"),
        "description" => t("説明", "Description"),
        "product_area" => t("製品領域", "Product area"),
        "owner_id" => t("製品側の担当", "Product owner"),
        "feature_key" => t("機能キー", "Feature key"),
        "status" => t("ステータス", "Status"),
        "reason" => t("理由", "Reason"),
        "account" | "account_id" => t("顧客", "Account"),
        "contact_id" => t("連絡先", "Contact"),
        "importance" => t("重要度", "Importance"),
        "source" => t("出どころ", "Source"),
        "quote" => t("顧客の言葉", "In their words"),
        "into" => t("統合先", "Merge into"),
        "request" => t("リクエスト", "Request"),
        _ => t("入力", "Input"),
    }
}

fn request_input(fields: &FormFields) -> Result<RequestInput, ApiError> {
    let owner = fields.get("owner_id").trim();
    let value = json!({
        "title": fields.get("title"),
        "description": fields.get("description"),
        "product_area": fields.get("product_area"),
        "owner_id": owner.parse::<i64>().ok().map(serde_json::Value::from).unwrap_or_else(|| json!(null)),
        "feature_key": fields.get("feature_key"),
    });
    if !owner.is_empty() && owner.parse::<i64>().is_err() {
        return Err(ApiError::Fields(vec![domain::FieldError::new(
            "owner_id",
            Reason::WrongType { expected: "a positive id" },
        )]));
    }
    RequestInput::parse(value).map_err(ApiError::Fields)
}

/// `POST /requests`: files a request, then opens it.
pub async fn create(State(app): State<AppState>, frame: Frame, fields: FormFields) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let created =
        async { app.create_request(&frame.actor, request_input(&fields)?).await.map_err(ApiError::from) }.await;
    match created {
        Ok(request) => Ok(Redirect::to(&format!("/requests/{}?done=created", request.id)).into_response()),
        Err(error) => {
            let messages = super::settings::refused(error, lang, |field| field_label(field, lang))?;
            let draft = Draft {
                title: fields.get("title").to_owned(),
                description: fields.get("description").to_owned(),
                area: fields.get("product_area").to_owned(),
            };
            render_list(&app, frame, QueryParams::from_query(""), draft, messages).await
        }
    }
}

pub struct EvidenceLine {
    pub id: i64,
    pub account_id: i64,
    pub account: String,
    pub importance: &'static str,
    pub importance_key: &'static str,
    pub source: &'static str,
    pub quote: String,
    pub added_by: String,
    pub added_on: String,
    pub removable: bool,
}

/// Who of those who asked uses a shipped request's feature, as the page says it.
pub struct AdoptionView {
    pub summary: String,
    pub lines: Vec<AdoptionLine>,
}

pub struct AdoptionLine {
    pub account_id: i64,
    pub account: String,
    pub first_use: String,
    pub uses: String,
}

fn adoption_view(adoption: &app::feedback::Adoption, lang: Lang) -> AdoptionView {
    let day = domain::i18n::day_in_sentence(adoption.shipped_on, lang);
    let share = |n: usize, of: usize| format::percent((of > 0).then(|| n as f64 / of as f64));
    let asked = share(adoption.adopted, adoption.asked);
    let others = format::percent(adoption.others_share);
    let feature = match lang {
        Lang::En => adoption.feature_name_en.as_deref().unwrap_or(&adoption.feature_name),
        Lang::Ja => &adoption.feature_name,
    };
    let days = adoption.days_since;
    let (adopted, total) = (format::count(adoption.adopted as i64), format::count(adoption.asked as i64));
    let mut summary = match lang {
        Lang::Ja => format!(
            "{day}にリリース（{days}日経過）。依頼した{total}社のうち{adopted}社（{asked}）が「{feature}」を使っています。ほかの有料顧客では{others}です。"
        ),
        Lang::En => format!(
            "Shipped on {day} ({days} days ago). {adopted} of the {total} accounts that asked use “{feature}” ({asked}); {others} of other paying accounts do."
        ),
    };
    if days < 30 {
        summary.push_str(
            Text::new("リリースから30日後に改めて確認しましょう。", " Check again 30 days after shipping.").pick(lang),
        );
    }
    AdoptionView {
        summary,
        lines: adoption
            .accounts
            .iter()
            .map(|a| AdoptionLine {
                account_id: a.account_id.0,
                account: a.account_name.clone(),
                first_use: a.first_use.map(|d| format::date(Some(d), lang)).unwrap_or_else(|| "—".into()),
                uses: format::count(a.uses),
            })
            .collect(),
    }
}

pub struct HistoryLine {
    pub status: &'static str,
    pub reason: String,
    pub by: String,
    pub at: String,
}

/// What a refused form had typed, to show again.
#[derive(Default)]
pub struct Typed {
    pub reason: String,
    pub account: String,
    pub quote: String,
    /// The evidence form was the one sent: it opens again.
    pub evidence: bool,
}

impl Typed {
    fn of(sent: Option<&FormFields>) -> Typed {
        let Some(f) = sent else { return Typed::default() };
        Typed {
            reason: f.get("reason").to_owned(),
            account: f.get("account").to_owned(),
            quote: f.get("quote").to_owned(),
            evidence: !f.get("account").is_empty() || !f.get("quote").is_empty(),
        }
    }
}

#[derive(Template)]
#[template(path = "request.html")]
pub struct RequestPage {
    pub frame: Frame,
    pub id: i64,
    pub title: String,
    pub description: String,
    pub area: String,
    pub owner: String,
    pub owner_choices: Vec<Choice>,
    pub feature_key: String,
    pub status: &'static str,
    pub status_key: &'static str,
    pub status_reason: String,
    pub statuses: Vec<Choice>,
    pub typed: Typed,
    pub impact: ImpactView,
    pub weights: String,
    pub evidence: Vec<EvidenceLine>,
    pub history: Vec<HistoryLine>,
    pub merged: Vec<i64>,
    pub adoption: Option<AdoptionView>,
    pub merge_choices: Vec<Choice>,
    pub importances: Vec<Choice>,
    pub sources: Vec<Choice>,
    pub manage: bool,
    pub errors: Vec<String>,
    pub notice: Option<&'static str>,
}

fn notice_of(params: &QueryParams, lang: Lang) -> Option<&'static str> {
    let t = |ja, en| Text::new(ja, en).pick(lang);
    match params.text("done").as_deref() {
        Some("created") => Some(t("リクエストを登録しました。", "Request filed.")),
        Some("status") => Some(t("ステータスを変更しました。", "Status changed.")),
        Some("evidence") => Some(t("顧客の声を追加しました。", "Evidence added.")),
        Some("removed") => Some(t("顧客の声を削除しました。", "Evidence removed.")),
        Some("merged") => Some(t("重複したリクエストを統合しました。", "Duplicate merged into this request.")),
        Some("saved") => Some(t("保存しました。", "Saved.")),
        _ => None,
    }
}

/// The request page; after a refused form, `sent` is what was typed, shown again in its form.
async fn render_request(
    app: &AppState,
    frame: Frame,
    id: RequestId,
    notice: Option<&'static str>,
    errors: Vec<String>,
    sent: Option<&FormFields>,
) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let detail = app.request_detail(id).await?;
    if detail.request.id != id {
        return Ok(Redirect::to(&format!("/requests/{}", detail.request.id)).into_response());
    }
    let currency = app.settings().currency;
    let zone = app.zone();
    let users = app.staff_users().await?;
    let names: HashMap<UserId, String> = users.iter().map(|u| (u.id, u.input.name.clone())).collect();
    let automatic = Text::new("Kizuna（自動）", "Kizuna (automatic)").pick(lang);
    let name_of = |id: Option<UserId>| id.and_then(|id| names.get(&id).cloned()).unwrap_or_else(|| automatic.into());
    let manage = app.may_manage_request(&frame.actor, &detail.request);
    let me = frame.actor.user_id();
    let request = &detail.request;
    let others = app.requests(false).await?;
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let owner_key = request.input.owner_id.map(|o| o.0.to_string());
    let page = RequestPage {
        id: request.id.0,
        title: request.input.title.clone(),
        description: request.input.description.clone().unwrap_or_default(),
        area: request.input.product_area.clone().unwrap_or_default(),
        owner: request.input.owner_id.and_then(|id| names.get(&id).cloned()).unwrap_or_else(|| "—".into()),
        owner_choices: choices(
            users.iter().filter(|u| u.input.active).map(|u| (u.id.0.to_string(), u.input.name.clone())),
            owner_key.as_deref(),
        ),
        feature_key: request.input.feature_key.clone().unwrap_or_default(),
        status: request.status.label(lang),
        status_key: request.status.as_str(),
        status_reason: request.status_reason.clone().unwrap_or_default(),
        statuses: statuses(
            lang,
            Some(sent.map(|f| f.get("status")).filter(|s| !s.is_empty()).unwrap_or(request.status.as_str())),
        ),
        typed: Typed::of(sent),
        impact: ImpactView::of(&detail.impact, &currency, lang),
        weights: weights_sentence(app, lang),
        evidence: detail
            .evidence
            .iter()
            .map(|e| EvidenceLine {
                id: e.evidence.id,
                account_id: e.evidence.account_id.0,
                account: e.account_name.clone(),
                importance: e.evidence.importance.label(lang),
                importance_key: e.evidence.importance.as_str(),
                source: e.evidence.source.label(lang),
                quote: e.evidence.quote.clone().unwrap_or_default(),
                added_by: name_of(e.evidence.created_by),
                added_on: format::moment(Some(e.evidence.created_at), &zone, lang),
                removable: manage || (me.is_some() && e.evidence.created_by == me),
            })
            .collect(),
        history: detail
            .history
            .iter()
            .map(|h| HistoryLine {
                status: h.status.label(lang),
                reason: h.reason.clone().unwrap_or_default(),
                by: name_of(h.changed_by),
                at: format::moment(Some(h.changed_at), &zone, lang),
            })
            .collect(),
        merged: detail.merged.iter().map(|m| m.0).collect(),
        adoption: detail.adoption.as_ref().map(|a| adoption_view(a, lang)),
        merge_choices: choices(others.iter().filter(|r| r.id != request.id).map(request_choice), None),
        importances: importance_choices(lang, sent.map_or("", |f| f.get("importance"))),
        sources: source_choices(lang, sent.map_or("", |f| f.get("source"))),
        manage,
        errors,
        notice,
        frame: frame.at("requests"),
    };
    Ok((status, super::render(&page, "request")?).into_response())
}

/// `GET /requests/{id}`; a merged request's address opens the one it was merged into.
pub async fn show(
    State(app): State<AppState>,
    frame: Frame,
    Path(id): Path<i64>,
    params: QueryParams,
) -> Result<Response, ApiError> {
    let notice = notice_of(&params, frame.lang);
    render_request(&app, frame, RequestId(id), notice, Vec::new(), None).await
}

/// After a form: back where it came from (`back`, if it is one of our pages), else the request.
fn back_to(fields: &FormFields, id: RequestId, done: &str) -> String {
    let to = crate::pages::layout::back_among(fields.get("back"), &["/requests", "/accounts/"])
        .unwrap_or_else(|| format!("/requests/{id}"));
    let separator = if to.contains('?') { '&' } else { '?' };
    format!("{to}{separator}done={done}")
}

async fn answer(
    app: &AppState,
    frame: Frame,
    id: RequestId,
    fields: &FormFields,
    outcome: Result<String, ApiError>,
) -> Result<Response, ApiError> {
    match outcome {
        Ok(to) => Ok(Redirect::to(&to).into_response()),
        Err(error) => {
            let lang = frame.lang;
            let messages = super::settings::refused(error, lang, |field| field_label(field, lang))?;
            render_request(app, frame, id, None, messages, Some(fields)).await
        }
    }
}

/// `POST /requests/{id}`: edits the title, description, area, product owner and feature key.
pub async fn update(
    State(app): State<AppState>,
    frame: Frame,
    Path(id): Path<i64>,
    fields: FormFields,
) -> Result<Response, ApiError> {
    let id = RequestId(id);
    let outcome = async {
        app.update_request(&frame.actor, id, request_input(&fields)?).await?;
        Ok(back_to(&fields, id, "saved"))
    }
    .await;
    answer(&app, frame, id, &fields, outcome).await
}

/// `POST /requests/{id}/status`.
pub async fn set_status(
    State(app): State<AppState>,
    frame: Frame,
    Path(id): Path<i64>,
    fields: FormFields,
) -> Result<Response, ApiError> {
    let id = RequestId(id);
    let outcome = async {
        let change = StatusChange::parse(json!({"status": fields.get("status"), "reason": fields.get("reason")}))
            .map_err(ApiError::Fields)?;
        app.change_request_status(&frame.actor, id, change).await?;
        Ok(back_to(&fields, id, "status"))
    }
    .await;
    answer(&app, frame, id, &fields, outcome).await
}

/// The account a person typed in the evidence form: an external id, Kizuna's id, or a text
/// that names one account; several matches are refused with their names.
async fn typed_account(app: &AppState, typed: &str, lang: Lang) -> Result<AccountRef, ApiError> {
    let refuse = |reason: Reason| ApiError::Fields(vec![domain::FieldError::new("account", reason)]);
    if typed.trim().is_empty() {
        return Err(refuse(Reason::Required));
    }
    match app.pick_account(typed).await? {
        AccountPick::Found(account) => Ok(AccountRef::Id(account.id)),
        AccountPick::NotFound => Err(refuse(Reason::UnknownAccount)),
        AccountPick::Several(accounts) => {
            let names: Vec<String> =
                accounts.iter().map(|a| format!("{} ({})", a.input.name, a.input.external_id)).collect();
            let detail = match lang {
                Lang::Ja => format!("複数の顧客が該当します: {}", names.join("、")),
                Lang::En => format!("several accounts match: {}", names.join(", ")),
            };
            Err(refuse(Reason::Malformed { detail }))
        }
    }
}

/// `POST /requests/{id}/evidence`: a customer asking, from the request page or the account 360.
pub async fn add_evidence(
    State(app): State<AppState>,
    frame: Frame,
    Path(id): Path<i64>,
    fields: FormFields,
) -> Result<Response, ApiError> {
    let id = RequestId(id);
    let lang = frame.lang;
    let outcome = async {
        let account = typed_account(&app, fields.get("account"), lang).await?;
        let value = json!({
            "account": match account { AccountRef::Id(id) => json!(id.0), AccountRef::External(e) => json!(e.to_string()) },
            "importance": fields.get("importance"),
            "source": fields.get("source"),
            "quote": fields.get("quote"),
        });
        let input = EvidenceInput::parse(value).map_err(ApiError::Fields)?;
        app.add_request_evidence(&frame.actor, id, input).await?;
        Ok(back_to(&fields, id, "evidence"))
    }
    .await;
    answer(&app, frame, id, &fields, outcome).await
}

/// `POST /requests/{id}/evidence/{evidence}/delete`.
pub async fn remove_evidence(
    State(app): State<AppState>,
    frame: Frame,
    Path((id, evidence)): Path<(i64, i64)>,
    fields: FormFields,
) -> Result<Response, ApiError> {
    let id = RequestId(id);
    let outcome = async {
        app.remove_request_evidence(&frame.actor, id, evidence).await?;
        Ok(back_to(&fields, id, "removed"))
    }
    .await;
    answer(&app, frame, id, &fields, outcome).await
}

/// `POST /requests/{id}/merge`: this request is a duplicate of `into`.
pub async fn merge(
    State(app): State<AppState>,
    frame: Frame,
    Path(id): Path<i64>,
    fields: FormFields,
) -> Result<Response, ApiError> {
    let id = RequestId(id);
    let outcome = async {
        let into = crate::api::feedback::merge_target(json!({"into": fields.get("into").trim().parse::<i64>().ok()}))?;
        let survivor = app.merge_requests(&frame.actor, id, into).await?;
        Ok(format!("/requests/{}?done=merged", survivor.id))
    }
    .await;
    answer(&app, frame, id, &fields, outcome).await
}

/// `/requests.csv`: the ranked list as the page filters it.
pub async fn export(State(app): State<AppState>, frame: Frame, mut params: QueryParams) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let encoding = crate::api::interchange::export_encoding(&mut params);
    let filter = request_filter(&mut params);
    params.finish()?;
    let ranked = app.ranked_requests(&filter).await?;
    let currency = app.settings().currency;
    let t = |ja, en| Text::new(ja, en).pick(lang);
    let mut out = csv::Writer::from_writer(Vec::new());
    let csv_error = |e: csv::Error| ApiError::Internal(format!("requests CSV: {e}"));
    out.write_record([
        t("ID", "id"),
        t("タイトル", "title"),
        t("製品領域", "product_area"),
        t("ステータス", "status"),
        t("顧客数", "accounts"),
        t("ないと困る顧客数", "blockers"),
        t("ARR", "arr"),
        t("リスク顧客のARR", "at_risk_arr"),
        t("更新間近のARR", "renewing_arr"),
        t("インパクト", "impact"),
    ])
    .map_err(csv_error)?;
    for r in &ranked {
        let record = [
            r.request.id.to_string(),
            r.request.input.title.clone(),
            r.request.input.product_area.clone().unwrap_or_default(),
            r.request.status.label(lang).to_owned(),
            r.impact.accounts.to_string(),
            r.impact.blockers.to_string(),
            r.impact.arr.plain(&currency),
            r.impact.at_risk_arr.plain(&currency),
            r.impact.renewing_arr.plain(&currency),
            r.impact.score.plain(&currency),
        ];
        out.write_record(record.iter().map(|cell| domain::interchange::neutralise_formula(cell).into_owned()))
            .map_err(csv_error)?;
    }
    let body = out.into_inner().map_err(|e| ApiError::Internal(format!("requests CSV: {e}")))?;
    let text = String::from_utf8(body).map_err(|e| ApiError::Internal(format!("requests CSV: {e}")))?;
    let bytes = crate::api::interchange::encode_csv(&text, encoding)?;
    Ok(crate::api::interchange::csv_download("requests.csv", bytes, encoding))
}

/// The account 360's card: what the account asked for, and a form to add it to a request.
pub struct AccountRequestsCard {
    pub lines: Vec<AccountRequestLine>,
    pub open_requests: Vec<Choice>,
    pub importances: Vec<Choice>,
    pub sources: Vec<Choice>,
    /// The account's contacts, to say who asked.
    pub contacts: Vec<Choice>,
}

pub struct AccountRequestLine {
    pub request_id: i64,
    pub title: String,
    pub status: &'static str,
    pub importance: &'static str,
    pub quote: String,
}

/// `source` (a code) is the source chosen in the form; `contacts` the account's, as choices.
pub(crate) async fn account_card(
    app: &AppState,
    account: AccountId,
    lang: Lang,
    source: &str,
    contacts: Vec<Choice>,
) -> Result<AccountRequestsCard, ApiError> {
    let asked = app.account_requests(account).await?;
    let open = app.requests(true).await?;
    Ok(AccountRequestsCard {
        lines: asked
            .iter()
            .map(|(evidence, request)| AccountRequestLine {
                request_id: request.id.0,
                title: request.input.title.clone(),
                status: request.status.label(lang),
                importance: evidence.importance.label(lang),
                quote: evidence.quote.clone().unwrap_or_default(),
            })
            .collect(),
        open_requests: choices(open.iter().map(request_choice), None),
        importances: importance_choices(lang, ""),
        sources: source_choices(lang, source),
        contacts,
    })
}
