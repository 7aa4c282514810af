//! `/accounts/{id}`: one account on one page — contract, health with its explanation, feature
//! use by cadence and season, active users, subscriptions, contacts and timeline — in Japanese
//! or English.

use super::format;
use super::Frame;
use crate::problem::ApiError;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::Html;
use domain::i18n::{Lang, Text};
use domain::AccountId;
use store::{ChildQuery, TimelineQuery};

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
    /// Oldest first: (period start, used, still under way).
    pub periods: Vec<(String, bool, bool)>,
    pub season: String,
}

pub struct Line {
    pub cells: Vec<String>,
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
    pub owner: String,
    pub sub_owner: String,
    pub stage: String,
    pub grade: String,
    pub grade_colour: String,
    pub score: String,
    pub trend_30d: String,
    pub drivers: Vec<String>,
    pub measures: Vec<Measure>,
    pub features: Vec<FeatureRow>,
    pub active: [i64; 3],
    pub seats: String,
    pub activation: String,
    pub subscriptions: Vec<Line>,
    pub contacts: Vec<Line>,
    pub timeline: Vec<Line>,
}

/// Every string on the page, in the reader's language.
pub struct Labels {
    pub back: &'static str,
    pub arr: &'static str,
    pub renewal: &'static str,
    pub owner: &'static str,
    pub sub_owner: &'static str,
    pub stage: &'static str,
    pub health: &'static str,
    pub score: &'static str,
    pub trend: &'static str,
    pub drivers: &'static str,
    pub no_drivers: &'static str,
    pub measure: &'static str,
    pub points: &'static str,
    pub weight: &'static str,
    pub usage: &'static str,
    pub feature: &'static str,
    pub cadence: &'static str,
    pub last_used: &'static str,
    pub recent_periods: &'static str,
    pub season: &'static str,
    pub used: &'static str,
    pub not_used: &'static str,
    pub core: &'static str,
    pub activity: &'static str,
    pub active_users: &'static str,
    pub seats: &'static str,
    pub activation: &'static str,
    pub subscriptions: &'static str,
    pub subscription_columns: [&'static str; 6],
    pub contacts: &'static str,
    pub contact_columns: [&'static str; 3],
    pub timeline: &'static str,
    pub timeline_columns: [&'static str; 3],
    pub none: &'static str,
}

impl Labels {
    fn new(lang: Lang) -> Labels {
        let t = |ja, en| Text::new(ja, en).pick(lang);
        Labels {
            back: t("顧客一覧へ", "All accounts"),
            arr: t("ARR", "ARR"),
            renewal: t("次回更新日", "Next renewal"),
            owner: t("担当 CSM", "CSM"),
            sub_owner: t("副担当", "Sub CSM"),
            stage: t("ステージ", "Stage"),
            health: t("ヘルススコア", "Health"),
            score: t("スコア", "Score"),
            trend: t("30日の変化", "30-day change"),
            drivers: t("スコアを下げている要因", "What lowers the score"),
            no_drivers: t("減点要因はありません。", "Nothing lowers the score."),
            measure: t("指標", "Measure"),
            points: t("点数", "Points"),
            weight: t("比重", "Weight"),
            usage: t("機能の利用", "Feature use"),
            feature: t("機能", "Feature"),
            cadence: t("想定頻度", "Cadence"),
            last_used: t("最終利用日", "Last used"),
            recent_periods: t("直近の期間", "Recent periods"),
            season: t("シーズン（今季 / 前季）", "Season (this / last)"),
            used: t("利用あり", "used"),
            not_used: t("利用なし", "not used"),
            core: t("主要", "core"),
            activity: t("利用者", "Users"),
            active_users: t("アクティブユーザー（7 / 30 / 90 日）", "Active users (7 / 30 / 90 days)"),
            seats: t("席数", "Seats"),
            activation: t("席の稼働率（30日）", "Seat activation (30 days)"),
            subscriptions: t("契約", "Subscriptions"),
            subscription_columns: [
                t("製品", "Product"),
                t("プラン", "Plan"),
                t("開始日", "Start"),
                t("終了日", "End"),
                t("数量", "Quantity"),
                t("MRR", "MRR"),
            ],
            contacts: t("連絡先", "Contacts"),
            contact_columns: [t("氏名", "Name"), t("メール", "Email"), t("役割", "Role")],
            timeline: t("タイムライン", "Timeline"),
            timeline_columns: [t("日時", "When"), t("種類", "Kind"), t("内容", "What")],
            none: t("ありません。", "None."),
        }
    }
}

pub(super) fn cadence_name(cadence: &str, lang: Lang) -> &'static str {
    let t = |ja, en| Text::new(ja, en).pick(lang);
    match cadence {
        "daily" => t("毎日", "daily"),
        "weekly" => t("毎週", "weekly"),
        "monthly" => t("毎月", "monthly"),
        "quarterly" => t("四半期", "quarterly"),
        _ => t("年1回（季節）", "yearly (seasonal)"),
    }
}

fn percent(ratio: Option<f64>) -> String {
    ratio.map_or("—".into(), |r| format!("{:.0}%", r * 100.0))
}

pub async fn page(State(app): State<AppState>, Path(id): Path<i64>, frame: Frame) -> Result<Html<String>, ApiError> {
    let lang = frame.lang;
    let id = AccountId(id);
    let account = app.store().get_account(id).await?;
    let health = app.account_health(id, None).await?;
    let history = app.health_history(id, 90).await?;
    let today = app.today();
    let features = app.feature_status(id, today, 6).await?;
    let activity = app.account_activity(id, today, None).await?;
    let config = app.health_config().await?;
    let currency = app.settings().currency;
    let staff_name = |user: Option<domain::UserId>| {
        let store = app.store().clone();
        async move {
            match user {
                Some(user) => store.get_user(user).await.map(|u| u.input.name).unwrap_or_default(),
                None => "—".into(),
            }
        }
    };
    let pick = |ja: &str, en: &str| if lang == Lang::Ja { ja.to_owned() } else { en.to_owned() };
    let band = config.grades.iter().find(|g| g.key == health.grade);
    let subscriptions = app
        .store()
        .list_periods(&ChildQuery { account_id: Some(id), limit: 200, offset: 0 })
        .await?
        .items
        .iter()
        .map(|p| Line {
            cells: vec![
                p.terms.product.clone(),
                p.terms.plan.clone().unwrap_or_default(),
                format::date(Some(p.terms.start_date), lang),
                format::date(p.terms.end_date, lang),
                p.terms.quantity.to_string(),
                format::money(domain::Money(p.terms.mrr().reported()), &currency, lang),
            ],
        })
        .collect();
    let contacts = app
        .store()
        .list_contacts(&ChildQuery { account_id: Some(id), limit: 200, offset: 0 })
        .await?
        .items
        .iter()
        .map(|c| Line {
            cells: vec![
                c.input.name.clone().unwrap_or_default(),
                c.input.email.as_ref().map(|e| e.to_string()).unwrap_or_default(),
                c.input.role.clone().unwrap_or_default(),
            ],
        })
        .collect();
    let timeline = app
        .store()
        .list_timeline(&TimelineQuery { account_id: Some(id), kind: None, limit: 20, offset: 0 })
        .await?
        .items
        .iter()
        .map(|e| Line {
            cells: vec![
                e.input.occurred_at.format("%Y-%m-%d %H:%M").to_string(),
                e.input.kind.as_str().to_owned(),
                e.input.title.clone(),
            ],
        })
        .collect();
    let template = AccountPage {
        frame: frame.at("accounts"),
        t: Labels::new(lang),
        id: id.0,
        name: account.input.name.clone(),
        external_id: account.input.external_id.to_string(),
        arr: format::money(account.figures.arr, &currency, lang),
        renewal: format::date(account.figures.next_renewal_date, lang),
        owner: staff_name(account.input.owner_id).await,
        sub_owner: staff_name(account.input.sub_owner_id).await,
        stage: account.input.stage.clone().unwrap_or_default(),
        grade: band.map_or_else(|| pick("不明", "Unknown"), |g| pick(&g.name_ja, &g.name_en)),
        grade_colour: band.map_or_else(|| "#999999".into(), |g| g.colour.clone()),
        score: health.score.map_or("—".into(), |s| format!("{s:.1}")),
        trend_30d: history.trend.delta_30d.map_or("—".into(), |d| format!("{d:+.1}")),
        drivers: health.drivers.iter().map(|d| pick(&d.ja, &d.en)).collect(),
        measures: health
            .measures
            .iter()
            .map(|m| Measure {
                explanation: pick(&m.explanation.ja, &m.explanation.en),
                points: m.points.map_or("—".into(), |p| format!("{p:.0}")),
                share: percent(m.share),
            })
            .collect(),
        features: features
            .iter()
            .map(|f| FeatureRow {
                name: f.name.clone(),
                cadence: cadence_name(f.cadence, lang),
                core: f.importance == domain::usage::Importance::Core,
                last_used: format::date(f.last_used, lang),
                periods: f
                    .periods
                    .iter()
                    .map(|p| (format::date(Some(p.start), lang), p.uses > 0, !p.complete))
                    .collect(),
                season: f
                    .season
                    .as_ref()
                    .map_or(String::new(), |s| format!("{} / {}", s.uses_this_season, s.uses_last_season)),
            })
            .collect(),
        active: [activity.active_users_7d, activity.active_users_30d, activity.active_users_90d],
        seats: activity.seats.map_or("—".into(), |s| s.to_string()),
        activation: percent(activity.seat_activation),
        subscriptions,
        contacts,
        timeline,
    };
    super::render(&template, "account")
}
