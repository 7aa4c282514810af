//! `/accounts/{id}`: the account 360 — contract, owners, stage and grade with its trend; health
//! with the drivers in plain language; feature use per expected period and season; seats; MRR
//! history with its movements; the profile (industry, employees, custom fields…); subscriptions
//! with billing and committed term; contacts; the latest NPS answers and tickets; the timeline with a form for notes,
//! meetings and calls; the CSM pulse, which rescores the account at once; and its open tasks.
//! A churned account has no grade: a banner says when it churned and why.

use crate::extract::Path;
use crate::extract::{FormFields, QueryParams};
use crate::pages::chart::{Chart, Dataset};
use crate::pages::{choices, format, text_or_null, Frame};
use crate::problem::ApiError;
use crate::AppState;
use app::AppError;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::account::Account;
use domain::contact::ContactInput;
use domain::health::pulse::{PulseInput, PulseReason};
use domain::i18n::{Lang, Text};
use domain::settings::{custom_field_name, FieldLabel};
use domain::timeline::{TimelineEntryInput, TimelineKind};
use domain::{AccountId, FieldError, Reason};
use rust_decimal::prelude::ToPrimitive;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use store::{ChildQuery, TimelineQuery};

/// Expected periods shown per feature.
const FEATURE_PERIODS: usize = 12;
const HISTORY_DAYS: u64 = 90;
const TIMELINE_ROWS: i64 = 30;
const TASK_ROWS: i64 = 10;
/// NPS answers and tickets shown, newest first.
const VOICE_ROWS: i64 = 5;
/// What a person writes on the page; emails and system entries come from integrations and Kizuna.
const PAGE_ENTRY_KINDS: [TimelineKind; 3] = [TimelineKind::Note, TimelineKind::Meeting, TimelineKind::Call];

pub struct Measure {
    pub explanation: String,
    pub points: String,
    pub share: String,
}

pub struct FeatureRow {
    pub name: String,
    pub cadence: &'static str,
    pub core: bool,
    pub last_used: String,
    pub season: String,
    pub chart: Chart,
    /// (period, uses, met) oldest first, for the table under the chart.
    pub periods: Vec<(String, i64, bool)>,
}

pub struct Line {
    pub cells: Vec<String>,
}

/// An NPS answer, and where to record its comment as a product request.
pub struct NpsLine {
    pub cells: [String; 4],
    pub as_request: Option<String>,
}

pub struct TimelineLine {
    pub when: String,
    pub kind: String,
    /// The staff user who wrote or did it, or Kizuna.
    pub author: String,
    pub title: String,
    pub body: String,
}

pub struct ReasonChoice {
    pub code: &'static str,
    pub label: &'static str,
    pub checked: bool,
}

/// What the reader typed into the page's forms, kept when a form is sent back with errors.
#[derive(Default)]
pub struct Drafts {
    pub note_kind: String,
    pub note_title: String,
    pub note_body: String,
    pub note_errors: Vec<String>,
    pub pulse_score: String,
    pub pulse_reasons: Vec<String>,
    pub pulse_comment: String,
    pub pulse_errors: Vec<String>,
    pub request_new_title: String,
    pub request_quote: String,
    pub request_source: String,
    pub request_contact: String,
    /// The form starts open: it was refused, or a survey answer or task filled it in.
    pub request_open: bool,
    pub request_errors: Vec<String>,
    pub contact: ContactDraft,
    pub contact_errors: Vec<String>,
}

/// The contact form as sent back with its errors.
#[derive(Default)]
pub struct ContactDraft {
    pub contact_id: String,
    pub name: String,
    pub email: String,
    pub role: String,
    pub phone: String,
    pub is_primary: bool,
}

#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage {
    pub frame: Frame,
    pub t: Labels,
    pub id: i64,
    pub name: String,
    pub external_id: String,
    pub arr: String,
    pub renewal: String,
    pub renewal_card: crate::pages::renewals::RenewalCard,
    pub requests: crate::pages::requests::AccountRequestsCard,
    pub owner: String,
    pub sub_owner: String,
    pub stage: String,
    /// The contact form's roles (the usual ones), the sent one selected.
    pub contact_roles: Vec<crate::pages::Choice>,
    /// The workspace's stages, the account's selected, for the stage form (account editors).
    pub stages: Vec<crate::pages::Choice>,
    /// Industry, employees, region, tier, touch model, domain and custom fields: (label, value).
    pub profile: Vec<(String, String)>,
    /// "Churned on … (reason)" for a churned account, which then shows no grade or score.
    pub churned: Option<String>,
    pub grade: String,
    pub grade_colour: String,
    pub score: String,
    pub trend_30d: String,
    pub trend_class: &'static str,
    pub sparkline: Chart,
    pub drivers: Vec<String>,
    pub measures: Vec<Measure>,
    pub features: Vec<FeatureRow>,
    pub active: [i64; 3],
    pub seats: String,
    pub activation: String,
    pub mrr_chart: Chart,
    pub movements: Vec<Line>,
    pub subscriptions: Vec<Line>,
    pub contacts: Vec<Line>,
    pub nps: Vec<NpsLine>,
    /// Answers to Kizuna's own surveys (NPS, CSAT, CES), newest first.
    pub survey_answers: Vec<Line>,
    pub tickets: Vec<Line>,
    pub timeline: Vec<TimelineLine>,
    pub pulses: Vec<Line>,
    pub tasks: Vec<crate::pages::tasks::AccountTask>,
    pub can_edit: bool,
    pub note_kinds: Vec<(&'static str, &'static str, bool)>,
    pub scores: Vec<(String, bool)>,
    pub reasons: Vec<ReasonChoice>,
    pub drafts: Drafts,
}

/// Every string on the page, in the reader's language.
pub struct Labels {
    pub score: &'static str,
    pub uses: &'static str,
    pub movement_columns: [&'static str; 3],
    pub subscription_columns: [&'static str; 8],
    pub contact_columns: [&'static str; 3],
    pub nps_columns: [&'static str; 4],
    pub ticket_columns: [&'static str; 5],
    pub kind: &'static str,
    pub title: &'static str,
    pub body: &'static str,
    pub pulse_score: &'static str,
    pub pulse_reasons: &'static str,
    pub comment: &'static str,
    pub pulse_columns: [&'static str; 4],
}

impl Labels {
    fn new(lang: Lang) -> Labels {
        let t = |ja, en| Text::new(ja, en).pick(lang);
        Labels {
            score: t("スコア", "Score"),
            uses: t("利用回数", "Uses"),
            movement_columns: [t("日付", "Day"), t("種類", "Kind"), t("増減", "Change")],
            subscription_columns: [
                t("製品", "Product"),
                t("プラン", "Plan"),
                t("開始日", "Start"),
                t("終了日", "End"),
                t("請求", "Billing"),
                t("契約期間", "Committed term"),
                t("数量", "Quantity"),
                t("MRR", "MRR"),
            ],
            contact_columns: [t("氏名", "Name"), t("メール", "Email"), t("役割", "Role")],
            nps_columns: [t("回答日", "Answered"), t("スコア", "Score"), t("回答者", "From"), t("コメント", "Comment")],
            ticket_columns: [
                t("起票日", "Opened"),
                t("件名", "Subject"),
                t("優先度", "Priority"),
                t("状態", "Status"),
                t("解決日", "Solved"),
            ],
            kind: t("種類", "Kind"),
            title: t("件名", "Title"),
            body: t("内容", "Details"),
            pulse_score: t("所感", "Pulse"),
            pulse_reasons: t("理由", "Reasons"),
            comment: t("コメント", "Comment"),
            pulse_columns: [t("日付", "Day"), t("所感", "Pulse"), t("理由", "Reasons"), t("コメント", "Comment")],
        }
    }
}

pub(crate) fn cadence_name(cadence: &str, lang: Lang) -> &'static str {
    let t = |ja, en| Text::new(ja, en).pick(lang);
    match cadence {
        "daily" => t("毎日", "daily"),
        "weekly" => t("毎週", "weekly"),
        "monthly" => t("毎月", "monthly"),
        "quarterly" => t("四半期", "quarterly"),
        _ => t("年1回（季節）", "yearly (seasonal)"),
    }
}

fn kind_name(kind: TimelineKind, lang: Lang) -> &'static str {
    let t = |ja, en| Text::new(ja, en).pick(lang);
    match kind {
        TimelineKind::Note => t("メモ", "Note"),
        TimelineKind::Meeting => t("打ち合わせ", "Meeting"),
        TimelineKind::Call => t("電話", "Call"),
        TimelineKind::Email => t("メール", "Email"),
        TimelineKind::System => t("システム", "System"),
    }
}

/// 「2025/06/01 に解約（price：予算削減）」 / "Churned on Jun 1, 2025 (price: budget cut)": the
/// day the MRR fell to zero, and the churn reason with its note when the account has them.
fn churn_banner(account: &Account, lang: Lang) -> Option<String> {
    let day = format::date(Some(account.figures.churned_on?), lang);
    let reason = account
        .input
        .churn_reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|code| domain::account::churn_reason_label(code, lang));
    let note = account.input.churn_note.as_deref().map(str::trim).filter(|n| !n.is_empty());
    let separator = Text::new("：", ": ").pick(lang);
    let why = match (reason, note) {
        (Some(reason), Some(note)) => Some(format!("{reason}{separator}{note}")),
        (one, other) => one.or(other).map(str::to_owned),
    };
    Some(match (lang, why) {
        (Lang::Ja, Some(why)) => format!("{day} に解約（{why}）"),
        (Lang::Ja, None) => format!("{day} に解約"),
        (Lang::En, Some(why)) => format!("Churned on {day} ({why})"),
        (Lang::En, None) => format!("Churned on {day}"),
    })
}

/// 「月次」, 「2 か月ごと」 / "Monthly", "Every 2 months".
fn billing(terms: &domain::subscription::SubscriptionTerms, lang: Lang) -> String {
    match terms.interval_count {
        1 => terms.billing_interval.name(lang).to_owned(),
        count => {
            let months = count * terms.billing_interval.months();
            match lang {
                Lang::Ja => format!("{months} か月ごと"),
                Lang::En => format!("Every {months} months"),
            }
        }
    }
}

/// What the account record says about the customer, each with its label (a custom field by the
/// name the workspace gave it); empty fields are left out.
fn profile(account: &Account, labels: &BTreeMap<String, FieldLabel>, lang: Lang) -> Vec<(String, String)> {
    let t = |ja, en| Text::new(ja, en).pick(lang).to_owned();
    let input = &account.input;
    let mut facts = vec![
        (t("業種", "Industry"), input.industry.clone()),
        (t("従業員数", "Employees"), input.employees.map(format::count)),
        (t("地域", "Region"), input.region.clone()),
        (t("ティア", "Tier"), input.tier.as_deref().map(|k| domain::account::tier_name(k, lang))),
        (t("タッチモデル", "Touch model"), input.touch_model.map(|m| m.name(lang).to_owned())),
        (t("ドメイン", "Domain"), input.domain.clone()),
    ];
    facts.extend(
        input.custom.iter().map(|(key, value)| (custom_field_name(labels, key, lang).to_owned(), Some(value.clone()))),
    );
    facts.into_iter().filter_map(|(label, value)| value.filter(|v| !v.trim().is_empty()).map(|v| (label, v))).collect()
}

/// Field errors as sentences naming the field in the reader's language.
fn messages(errors: &[FieldError], label: impl Fn(&str) -> &'static str, lang: Lang) -> Vec<String> {
    errors.iter().map(|e| format!("{}: {}", label(&e.field), e.reason.message(lang))).collect()
}

async fn render(
    app: &AppState,
    frame: Frame,
    id: AccountId,
    drafts: Drafts,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let lang = frame.lang;
    let t = Labels::new(lang);
    let account = app.account(id).await?;
    let churned = churn_banner(&account, lang);
    // A churned account is not scored: no grade, score, drivers or measures.
    let health = match churned {
        Some(_) => None,
        None => Some(app.account_health(id, None).await?),
    };
    let history = app.health_history(id, HISTORY_DAYS).await?;
    let today = app.today();
    let features = app.feature_status(id, today, FEATURE_PERIODS).await?;
    let activity = app.account_activity(id, today, None).await?;
    let config = app.health_config().await?;
    let mrr = app.account_mrr_history(id).await?;
    let currency = app.settings().currency;
    let users = app.staff_users().await?;
    let staff_name = |user: Option<domain::UserId>| {
        user.and_then(|u| users.iter().find(|s| s.id == u)).map_or("—".into(), |s| s.input.name.clone())
    };
    let pick = |ja: &str, en: &str| lang.pick(ja, en).to_owned();
    let (grade, grade_colour) = format::grade(&config, health.as_ref().map(|h| h.grade.as_str()), lang);
    let (trend_30d, trend_class) = format::change(history.trend.delta_30d);
    let sparkline = Chart::line(
        "score-history",
        history.snapshots.iter().map(|s| format::date(Some(s.day), lang)).collect(),
        vec![Dataset::sparse(t.score, history.snapshots.iter().map(|s| s.score)).colour(&grade_colour)],
    )
    .sparkline();
    // Periods and seasons that ended before the customer paid say nothing about them.
    let since = account.figures.first_paying_day;
    let after_start = |end: chrono::NaiveDate| since.is_none_or(|first| end >= first);
    let features = features
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let periods: Vec<&domain::usage::periods::PeriodUse> =
                f.periods.iter().filter(|p| after_start(p.end)).collect();
            let label = |p: &domain::usage::periods::PeriodUse| {
                if p.start == p.end {
                    format::date(Some(p.start), lang)
                } else {
                    format!("{}–{}", format::date(Some(p.start), lang), format::date(Some(p.end), lang))
                }
            };
            // One colour per dataset, so the legend shows the bars' colour; a period without use
            // has no bar below the expectation line.
            let chart = Chart::bar(
                &format!("feature-{i}"),
                periods.iter().map(|p| label(p)).collect(),
                vec![
                    Dataset::new(t.uses, periods.iter().map(|p| p.uses as f64)).colour("#0072B2"),
                    Dataset::new(Text::new("想定", "Expected").pick(lang), periods.iter().map(|_| 1.0))
                        .colour("#000000")
                        .drawn_as_line(),
                ],
            );
            let season_uses = |period: &domain::usage::periods::Period, uses: i64| {
                if after_start(period.end) {
                    uses.to_string()
                } else {
                    "—".to_owned()
                }
            };
            FeatureRow {
                name: match lang {
                    Lang::Ja => f.name.clone(),
                    Lang::En => f.name_en.clone(),
                },
                cadence: cadence_name(f.cadence, lang),
                core: f.importance == domain::usage::Importance::Core,
                last_used: format::date(f.last_used, lang),
                season: f.season.as_ref().map_or(String::new(), |s| {
                    let this = if s.started { s.uses_this_season.to_string() } else { "—".to_owned() };
                    format!("{this} / {}", season_uses(&s.last_season, s.uses_last_season))
                }),
                chart,
                periods: periods.iter().map(|p| (label(p), p.uses, p.uses > 0)).collect(),
            }
        })
        .collect();
    let mut mrr_labels: Vec<String> = mrr.changes.iter().map(|c| format::date(Some(c.day), lang)).collect();
    let mut mrr_values: Vec<f64> = mrr.changes.iter().map(|c| c.mrr.0.to_f64().unwrap_or_default()).collect();
    if let Some(last) = mrr_values.last().copied() {
        mrr_labels.push(format::date(Some(today), lang));
        mrr_values.push(last);
    }
    let mrr_chart = Chart::line("mrr-history", mrr_labels, vec![Dataset::new("MRR", mrr_values).stepped()]).money();
    let movements = mrr
        .movements
        .iter()
        .rev()
        .map(|m| Line {
            cells: vec![
                format::date(Some(m.movement.day), lang),
                format::movement_kind(m.movement.kind, lang).to_owned(),
                format::money(m.movement.amount, &currency, lang),
            ],
        })
        .collect();
    let subscriptions = app
        .periods(&ChildQuery { account_id: Some(id), limit: 200, offset: 0 })
        .await?
        .items
        .iter()
        .map(|p| Line {
            cells: vec![
                p.terms.product.clone(),
                p.terms.plan.clone().unwrap_or_default(),
                format::date(Some(p.terms.start_date), lang),
                format::date(p.terms.end_date, lang),
                billing(&p.terms, lang),
                p.terms.commitment_months.map_or("—".to_owned(), |months| format::months(months, lang)),
                p.terms.quantity.to_string(),
                format::money(domain::Money(p.terms.mrr().reported()), &currency, lang),
            ],
        })
        .collect();
    let contact_rows = app.contacts(&ChildQuery { account_id: Some(id), limit: 200, offset: 0 }).await?.items;
    let contact_of = |email: &str| {
        contact_rows.iter().find(|c| c.input.email.as_ref().is_some_and(|e| e.as_str() == email)).map(|c| c.id.0)
    };
    let contact_choices = choices(
        contact_rows.iter().map(|c| {
            let email = c.input.email.as_ref().map(|e| e.to_string()).unwrap_or_default();
            (c.id.0.to_string(), c.input.name.clone().map_or(email.clone(), |name| format!("{name} <{email}>")))
        }),
        Some(drafts.request_contact.as_str()),
    );
    let contacts = contact_rows
        .iter()
        .map(|c| Line {
            cells: vec![
                c.input.name.clone().unwrap_or_default(),
                c.input.email.as_ref().map(|e| e.to_string()).unwrap_or_default(),
                c.input.role.as_deref().map(|role| domain::account::contact_role_name(role, lang)).unwrap_or_default(),
            ],
        })
        .collect();
    let (nps_answers, ticket_rows) = app.customer_voice(id, VOICE_ROWS).await?;
    let nps = nps_answers
        .iter()
        .map(|n| NpsLine {
            cells: [
                format::date(Some(n.responded_on), lang),
                n.score.to_string(),
                n.contact_email.to_string(),
                n.comment.clone().unwrap_or_default(),
            ],
            as_request: n.comment.as_deref().filter(|c| !c.trim().is_empty()).map(|comment| {
                let mut query = vec![("evidence_source", "survey".to_owned()), ("evidence_quote", comment.to_owned())];
                if let Some(contact) = contact_of(n.contact_email.as_str()) {
                    query.push(("evidence_contact", contact.to_string()));
                }
                format!("/accounts/{}?{}#requests", id.0, serde_urlencoded::to_string(&query).unwrap_or_default())
            }),
        })
        .collect();
    let zone = app.zone();
    let survey_answers = app
        .account_survey_answers(id)
        .await?
        .into_iter()
        .map(|(answer, survey)| Line {
            cells: vec![
                format::moment(Some(answer.answered_at), &zone, lang),
                format!("{} ({})", survey.survey.name, survey.survey.kind.label(lang)),
                answer.score.to_string(),
                answer.person,
                answer.comment.unwrap_or_default(),
            ],
        })
        .collect();
    let tickets = ticket_rows
        .iter()
        .map(|r| Line {
            cells: vec![
                format::date(Some(r.ticket.created_on), lang),
                r.subject.clone().unwrap_or_else(|| r.ticket_id.to_string()),
                r.ticket.priority.name(lang).to_owned(),
                r.ticket.status.name(lang).to_owned(),
                format::date(r.ticket.solved_on, lang),
            ],
        })
        .collect();
    let timeline = app
        .timeline(&TimelineQuery { account_id: Some(id), kind: None, limit: TIMELINE_ROWS, offset: 0 })
        .await?
        .items
        .iter()
        .map(|e| TimelineLine {
            when: format::moment(Some(e.input.occurred_at), &zone, lang),
            // What a person did that Kizuna records (a pulse, a request's status) is theirs, not
            // "System"'s.
            kind: match (e.input.kind, e.input.author_id) {
                (TimelineKind::System, Some(_)) => Text::new("記録", "Record").pick(lang).to_owned(),
                (kind, _) => kind_name(kind, lang).to_owned(),
            },
            author: match e.input.author_id {
                Some(author) => staff_name(Some(author)),
                None => Text::new("Kizuna（自動）", "Kizuna (automatic)").pick(lang).to_owned(),
            },
            title: e.input.title_in(lang),
            body: e.input.body_in(lang).unwrap_or_default(),
        })
        .collect();
    let pulses = app
        .pulses(id)
        .await?
        .iter()
        .take(5)
        .map(|p| Line {
            cells: vec![
                format::date(Some(p.day), lang),
                p.score.to_string(),
                p.reasons.iter().map(|r| r.label().pick(lang)).collect::<Vec<_>>().join(", "),
                p.comment.clone().unwrap_or_default(),
            ],
        })
        .collect();
    let tasks = crate::pages::tasks::account_tasks(app, &frame, id, TASK_ROWS).await?;
    let can_edit = app.may_edit_account(&frame.actor, &account.input);
    let contact_roles = choices(
        std::iter::once((String::new(), "—".to_owned())).chain(
            ["admin", "champion", "decision_maker", "end_user", "billing"]
                .map(|r| (r.to_owned(), domain::account::contact_role_name(r, lang))),
        ),
        Some(drafts.contact.role.as_str()),
    );
    let note_kind = if drafts.note_kind.is_empty() { "note" } else { drafts.note_kind.as_str() };
    let note_kinds =
        PAGE_ENTRY_KINDS.into_iter().map(|k| (k.as_str(), kind_name(k, lang), k.as_str() == note_kind)).collect();
    let scores = (1..=5).map(|n| (n.to_string(), drafts.pulse_score == n.to_string())).collect();
    let reasons = PulseReason::ALL
        .into_iter()
        .map(|r| ReasonChoice {
            code: r.code(),
            label: r.label().pick(lang),
            checked: drafts.pulse_reasons.iter().any(|c| c == r.code()),
        })
        .collect();
    let template = AccountPage {
        id: id.0,
        name: account.input.name.clone(),
        external_id: account.input.external_id.to_string(),
        arr: format::money(account.figures.arr, &currency, lang),
        renewal: format::date(account.figures.next_renewal_date, lang),
        renewal_card: crate::pages::renewals::account_card(app, id, lang).await?,
        requests: crate::pages::requests::account_card(app, id, lang, &drafts.request_source, contact_choices).await?,
        owner: staff_name(account.input.owner_id),
        sub_owner: staff_name(account.input.sub_owner_id),
        stage: account.input.stage.as_deref().map(|s| format::stage(s, lang)).unwrap_or_default(),
        contact_roles,
        stages: choices(
            app.settings().stages.iter().map(|s| (s.clone(), format::stage(s, lang))),
            account.input.stage.as_deref(),
        ),
        profile: profile(&account, &app.settings().custom_field_labels, lang),
        churned,
        grade,
        grade_colour,
        score: format::score(health.as_ref().and_then(|h| h.score)),
        trend_30d,
        trend_class,
        sparkline,
        drivers: health.iter().flat_map(|h| &h.drivers).map(|d| pick(&d.ja, &d.en)).collect(),
        measures: health
            .iter()
            .flat_map(|h| &h.measures)
            .map(|m| Measure {
                explanation: pick(&m.explanation.ja, &m.explanation.en),
                points: m.points.map_or("—".into(), |p| format!("{p:.0}")),
                share: m.share.map_or("—".into(), |r| format!("{:.0}%", r * 100.0)),
            })
            .collect(),
        features,
        active: [activity.active_users_7d, activity.active_users_30d, activity.active_users_90d],
        seats: activity.seats.map_or("—".into(), |s| s.to_string()),
        activation: format::percent(activity.seat_activation),
        mrr_chart,
        movements,
        subscriptions,
        contacts,
        nps,
        survey_answers,
        tickets,
        timeline,
        pulses,
        tasks,
        can_edit,
        note_kinds,
        scores,
        reasons,
        drafts,
        t,
        frame: frame.at("accounts"),
    };
    Ok((status, crate::pages::render(&template, "account")?).into_response())
}

/// `?evidence_source=…&evidence_quote=…&evidence_contact=…` fill in the request form: a survey
/// answer's comment or a task recorded as what the customer asked for.
pub async fn page(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    frame: Frame,
    params: QueryParams,
) -> Result<Response, ApiError> {
    let quote = params.text("evidence_quote").map(|q| q.chars().take(domain::feedback::MAX_QUOTE).collect());
    let source = params.text("evidence_source").filter(|s| domain::feedback::EvidenceSource::parse(s).is_ok());
    let drafts = Drafts {
        request_open: quote.is_some() || source.is_some(),
        request_quote: quote.unwrap_or_default(),
        request_source: source.unwrap_or_default(),
        request_contact: params.text("evidence_contact").unwrap_or_default(),
        ..Drafts::default()
    };
    render(&app, frame, AccountId(id), drafts, StatusCode::OK).await
}

/// Refuses a reader who may not edit the account before their input is read: otherwise a bad
/// form would answer 422 with a page that has no form to show its messages in.
async fn require_edit(app: &AppState, frame: &Frame, id: AccountId) -> Result<Account, ApiError> {
    let account = app.account(id).await?;
    if app.may_edit_account(&frame.actor, &account.input) {
        Ok(account)
    } else {
        Err(ApiError::Forbidden)
    }
}

/// `POST /accounts/{id}/stage`: moves the account to another of the workspace's stages (the
/// change is audited and on the timeline, as through the API).
pub async fn set_stage(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    frame: Frame,
    fields: FormFields,
) -> Result<Response, ApiError> {
    let account = require_edit(&app, &frame, AccountId(id)).await?;
    let stages = app.settings().stages;
    let stage = domain::account::parse_stage(&domain::account::stage_key(fields.get("stage")), &stages)
        .map_err(|reason| ApiError::Fields(vec![FieldError::new("stage", reason)]))?;
    let input = domain::account::AccountInput { stage: Some(stage), ..account.input };
    app.update_account(&frame.actor, AccountId(id), &input).await?;
    Ok(Redirect::to(&format!("/accounts/{id}#account-stage")).into_response())
}

/// `POST /accounts/{id}/contacts`: a contact written on the page, checked as the API and the
/// contacts import check one.
pub async fn add_contact(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    frame: Frame,
    fields: FormFields,
) -> Result<Response, ApiError> {
    require_edit(&app, &frame, AccountId(id)).await?;
    let value = json!({
        "external_id": fields.get("contact_id").trim(),
        "account_id": id,
        "name": text_or_null(fields.get("name")),
        "email": text_or_null(fields.get("email")),
        "role": text_or_null(fields.get("role")),
        "phone": text_or_null(fields.get("phone")),
        "is_primary": !fields.get("is_primary").is_empty(),
    });
    let errors = match ContactInput::from_json(value) {
        Ok(input) => match app.create_contact(&frame.actor, &input).await {
            Ok(_) => return Ok(Redirect::to(&format!("/accounts/{id}#contacts")).into_response()),
            Err(AppError::Conflict { .. }) => vec![FieldError::new("external_id", Reason::AlreadyExists)],
            Err(other) => return Err(other.into()),
        },
        Err(errors) => errors,
    };
    let label = |field: &str| match field {
        "external_id" => Text::new("連絡先 ID", "Contact ID").pick(frame.lang),
        "name" => Text::new("氏名", "Name").pick(frame.lang),
        "email" => Text::new("メール", "Email").pick(frame.lang),
        "role" => Text::new("役割", "Role").pick(frame.lang),
        "phone" => Text::new("電話", "Phone").pick(frame.lang),
        _ => Text::new("主担当", "Primary contact").pick(frame.lang),
    };
    let drafts = Drafts {
        contact_errors: messages(&errors, label, frame.lang),
        contact: ContactDraft {
            contact_id: fields.get("contact_id").to_owned(),
            name: fields.get("name").to_owned(),
            email: fields.get("email").to_owned(),
            role: fields.get("role").to_owned(),
            phone: fields.get("phone").to_owned(),
            is_primary: !fields.get("is_primary").is_empty(),
        },
        ..Drafts::default()
    };
    render(&app, frame, AccountId(id), drafts, StatusCode::UNPROCESSABLE_ENTITY).await
}

/// `POST /accounts/{id}/timeline`: a note, meeting or call written on the page.
pub async fn add_entry(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    frame: Frame,
    fields: FormFields,
) -> Result<Response, ApiError> {
    require_edit(&app, &frame, AccountId(id)).await?;
    let kind = fields.get("kind").trim().to_owned();
    let body = fields.get("body").trim();
    let value = json!({
        "account_id": id,
        "kind": kind,
        "title": fields.get("title").trim(),
        "body": if body.is_empty() { Value::Null } else { Value::from(body) },
    });
    let errors = match TimelineEntryInput::from_json(value) {
        Ok(input) if PAGE_ENTRY_KINDS.contains(&input.kind) => {
            app.create_timeline_entry(&frame.actor, &input).await?;
            return Ok(Redirect::to(&format!("/accounts/{id}#timeline")).into_response());
        }
        Ok(_) => vec![FieldError::new(
            "kind",
            Reason::NotOneOf { allowed: PAGE_ENTRY_KINDS.iter().map(|k| k.as_str().to_owned()).collect() },
        )],
        Err(errors) => errors,
    };
    let t = Labels::new(frame.lang);
    let label = |field: &str| match field {
        "kind" => t.kind,
        "body" => t.body,
        _ => t.title,
    };
    let drafts = Drafts {
        note_errors: messages(&errors, label, frame.lang),
        note_kind: kind,
        note_title: fields.get("title").to_owned(),
        note_body: fields.get("body").to_owned(),
        ..Drafts::default()
    };
    render(&app, frame, AccountId(id), drafts, StatusCode::UNPROCESSABLE_ENTITY).await
}

/// `POST /accounts/{id}/pulse`: the CSM's 1–5 judgement; the score is recomputed before the
/// page is shown again.
pub async fn set_pulse(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    frame: Frame,
    fields: FormFields,
) -> Result<Response, ApiError> {
    require_edit(&app, &frame, AccountId(id)).await?;
    let comment = fields.get("comment").trim();
    let reasons: Vec<String> = fields.all("reasons").into_iter().map(str::to_owned).collect();
    let value = json!({
        "score": fields.get("score").trim(),
        "reasons": reasons,
        "comment": if comment.is_empty() { Value::Null } else { Value::from(comment) },
    });
    let errors = match PulseInput::parse(value) {
        Ok(input) => {
            app.set_pulse(&frame.actor, AccountId(id), input).await?;
            return Ok(Redirect::to(&format!("/accounts/{id}#health")).into_response());
        }
        Err(errors) => errors,
    };
    let t = Labels::new(frame.lang);
    let label = |field: &str| match field {
        "reasons" => t.pulse_reasons,
        "comment" => t.comment,
        _ => t.pulse_score,
    };
    let drafts = Drafts {
        pulse_errors: messages(&errors, label, frame.lang),
        pulse_score: fields.get("score").trim().to_owned(),
        pulse_reasons: reasons,
        pulse_comment: fields.get("comment").to_owned(),
        ..Drafts::default()
    };
    render(&app, frame, AccountId(id), drafts, StatusCode::UNPROCESSABLE_ENTITY).await
}

/// `POST /accounts/{id}/requests`: this account asks for an existing product request
/// (`request`) or a new one (`new_title`), with importance, source and the customer's words. Any
/// staff member may: sales, support and product hear customers too.
pub async fn add_request(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    frame: Frame,
    fields: FormFields,
) -> Result<Response, ApiError> {
    let account = AccountId(id);
    let added = async {
        let evidence = domain::feedback::EvidenceInput::parse(json!({
            "account": account.0,
            "contact_id": fields.id_value("contact_id"),
            "importance": fields.get("importance"),
            "source": fields.get("source"),
            "quote": fields.get("quote"),
        }))
        .map_err(ApiError::Fields)?;
        let chosen = fields.get("request").trim();
        let request = if chosen.is_empty() {
            let title = fields.get("new_title").trim();
            if title.is_empty() {
                return Err(ApiError::Fields(vec![FieldError::new("request", Reason::Required)]));
            }
            let input = domain::feedback::RequestInput::parse(json!({ "title": title })).map_err(ApiError::Fields)?;
            app.create_request(&frame.actor, input).await?.id
        } else {
            chosen.parse::<i64>().map(domain::RequestId).map_err(|_| {
                ApiError::Fields(vec![FieldError::new("request", Reason::WrongType { expected: "a request id" })])
            })?
        };
        app.add_request_evidence(&frame.actor, request, evidence).await?;
        Ok(())
    }
    .await;
    let lang = frame.lang;
    let errors = match added {
        Ok(()) => return Ok(Redirect::to(&format!("/accounts/{id}#requests")).into_response()),
        Err(error) => {
            crate::pages::settings::refused(error, lang, |field| crate::pages::requests::field_label(field, lang))?
        }
    };
    let drafts = Drafts {
        request_errors: errors,
        request_new_title: fields.get("new_title").to_owned(),
        request_quote: fields.get("quote").to_owned(),
        request_source: fields.get("source").to_owned(),
        request_contact: fields.get("contact_id").to_owned(),
        request_open: true,
        ..Drafts::default()
    };
    render(&app, frame, account, drafts, StatusCode::UNPROCESSABLE_ENTITY).await
}
