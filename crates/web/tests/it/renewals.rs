//! Renewals through real HTTP, on SQLite and (with TEST_DATABASE_URL) PostgreSQL: only committed
//! terms renew unless the workspace counts monthly contracts, CSM calls are saved or refused
//! with the field named, past renewals carry their outcome, the page and the account card show
//! the pipeline in both languages, and forecast accuracy compares a snapshot with what was kept.

use crate::common::{page, page_in, submit, unescaped, Server};
use chrono::{Datelike, Months, NaiveDate};
use domain::access::Role;
use domain::renewals::ForecastCategory;
use domain::{AccountId, Money};
use reqwest::{Method, StatusCode};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use store::testing::TestStore;
use store::ForecastSnapshotRow;
use test_macros::store_test;

fn months_ago(today: NaiveDate, months: u32) -> NaiveDate {
    today.checked_sub_months(Months::new(months)).unwrap()
}

fn months_ahead(day: NaiveDate, months: u32) -> NaiveDate {
    day.checked_add_months(Months::new(months)).unwrap()
}

async fn account(server: &Server, external: &str, name: &str) -> i64 {
    let (status, body) = server.post("/api/v1/accounts", json!({"external_id": external, "name": name})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_i64().unwrap()
}

async fn subscription(
    server: &Server,
    account: i64,
    id: &str,
    start: NaiveDate,
    end: Option<NaiveDate>,
    interval: &str,
) {
    let period = json!({"subscription_id": id, "account_id": account, "product": "core", "start_date": start,
        "end_date": end, "billing_interval": interval, "quantity": 1, "unit_price": "1200000", "currency": "JPY"});
    let (status, body) = server.post("/api/v1/subscriptions", period).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// An annual customer renewing in two months, a month-to-month one, and an annual one that
/// left at its renewal two months ago.
struct Book {
    annual: i64,
    monthly: i64,
    churned: i64,
    next_renewal: NaiveDate,
    past_renewal: NaiveDate,
}

async fn book(server: &Server) -> Book {
    let today = server.app.today();
    let annual = account(server, "ANNUAL", "年契約株式会社").await;
    let monthly = account(server, "MONTHLY", "月契約合同会社").await;
    let churned = account(server, "GONE", "解約商事").await;
    let start = months_ago(today, 10);
    subscription(server, annual, "S-ANNUAL", start, None, "year").await;
    subscription(server, monthly, "S-MONTHLY", months_ago(today, 5), None, "month").await;
    let gone_start = months_ago(today, 14);
    let past_renewal = months_ahead(gone_start, 12);
    subscription(server, churned, "S-GONE", gone_start, Some(past_renewal), "year").await;
    Book { annual, monthly, churned, next_renewal: months_ahead(start, 12), past_renewal }
}

fn accounts_in(list: &Value) -> Vec<i64> {
    list.as_array().unwrap().iter().map(|r| r["account_id"].as_i64().unwrap()).collect()
}

#[store_test]
async fn only_committed_terms_renew_until_the_workspace_counts_monthly_contracts(t: TestStore) {
    let server = Server::start(&t).await;
    let book = book(&server).await;
    let (status, list) = server.get("/api/v1/renewals").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(accounts_in(&list), [book.annual], "{}: {list}", t.label);
    assert_eq!(list[0]["renewal_date"], json!(book.next_renewal));
    assert_eq!(list[0]["arr"], "1200000.00");
    assert_eq!(list[0]["external_id"], "ANNUAL");
    let (_, account) = server.get(&format!("/api/v1/accounts/{}", book.monthly)).await;
    assert_eq!(account["next_renewal_date"], Value::Null, "{}", t.label);

    let (_, mut settings) = server.get("/api/v1/settings").await;
    settings["monthly_contracts_renew"] = json!(true);
    let (status, saved) = server.send(Method::PUT, "/api/v1/settings", Some(settings)).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let (_, list) = server.get("/api/v1/renewals").await;
    let monthly = accounts_in(&list).iter().filter(|id| **id == book.monthly).count();
    assert_eq!(monthly, 12, "{}: a renewal each month of the next year", t.label);
    let (_, account) = server.get(&format!("/api/v1/accounts/{}", book.monthly)).await;
    assert!(account["next_renewal_date"].is_string(), "{}: {account}", t.label);

    let (status, problem) = server.get("/api/v1/renewals?from=2026-01-01&to=2030-01-01").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "to");
    t.finish().await;
}

#[store_test]
async fn a_csm_call_is_saved_and_a_wrong_one_is_refused_with_its_field_named(t: TestStore) {
    let server = Server::start(&t).await;
    let book = book(&server).await;
    let next = format!("/api/v1/accounts/{}/renewals/{}", book.annual, book.next_renewal);
    let call = json!({"forecast": "at_risk", "forecast_note": "予算の見直し中"});
    let (status, saved) = server.send(Method::PUT, &next, Some(call)).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(
        (saved["forecast"].as_str(), saved["forecast_note"].as_str()),
        (Some("at_risk"), Some("予算の見直し中"))
    );

    let refused = [
        (json!({"outcome": "renewed"}), next.clone(), "outcome"),
        (json!({"forecast": "maybe"}), next.clone(), "forecast"),
        (json!({"forecast_note": "x".repeat(2001)}), next.clone(), "forecast_note"),
        (json!({"colour": "red"}), next.clone(), "colour"),
        (
            json!({}),
            format!("/api/v1/accounts/{}/renewals/{}", book.annual, book.next_renewal.succ_opt().unwrap()),
            "renewal_date",
        ),
        (json!({}), format!("/api/v1/accounts/{}/renewals/2026-02-30", book.annual), "renewal_date"),
        (
            json!({"outcome": "renewed", "churn_reason": "price"}),
            format!("/api/v1/accounts/{}/renewals/{}", book.churned, book.past_renewal),
            "churn_reason",
        ),
    ];
    for (body, path, field) in refused {
        let (status, problem) = server.send(Method::PUT, &path, Some(body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{}: {path} {problem}", t.label);
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    let (status, _) = server.send(Method::PUT, "/api/v1/accounts/999999/renewals/2026-01-01", Some(json!({}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The call survived the refusals; the past renewal carries its derived outcome until
    // a CSM confirms it with a reason.
    let (_, renewals) = server.get(&format!("/api/v1/accounts/{}/renewals", book.annual)).await;
    assert_eq!(renewals[0]["forecast"], "at_risk", "{renewals}");
    let past = format!("/api/v1/accounts/{}/renewals/{}", book.churned, book.past_renewal);
    let (_, history) = server.get(&format!("/api/v1/accounts/{}/renewals", book.churned)).await;
    let derived = history.as_array().unwrap().iter().find(|r| r["renewal_date"] == json!(book.past_renewal)).unwrap();
    assert_eq!((derived["outcome"].as_str(), derived["outcome_confirmed"].as_bool()), (Some("churned"), Some(false)));
    let confirm = json!({"outcome": "churned", "churn_reason": "competitor", "outcome_note": "他社へ移行"});
    let (status, confirmed) = server.send(Method::PUT, &past, Some(confirm)).await;
    assert_eq!(status, StatusCode::OK, "{confirmed}");
    assert_eq!(
        (confirmed["outcome_confirmed"].as_bool(), confirmed["churn_reason"].as_str()),
        (Some(true), Some("competitor"))
    );
    let (_, audit) = server.get("/api/v1/audit?entity=renewal").await;
    assert!(audit.to_string().contains("competitor"), "{}: {audit}", t.label);
    // A renewal that has ended keeps the forecast it had: a call made afterwards would rewrite
    // the month's committed ARR.
    let late = json!({"forecast": "commit", "outcome": "churned", "churn_reason": "competitor"});
    let (status, problem) = server.send(Method::PUT, &past, Some(late)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "forecast", "{problem}");
    let confirm = json!({"outcome": "churned", "churn_reason": "competitor", "outcome_note": "他社へ移行"});
    server.send(Method::PUT, &past, Some(confirm)).await;
    let (_, timeline) = server.get(&format!("/api/v1/timeline?account_id={}", book.churned)).await;
    let confirmed: Vec<&Value> = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["title"].as_str().is_some_and(|t| t.starts_with("Renewal of")))
        .collect();
    assert_eq!(confirmed.len(), 1, "the confirmation is on the timeline once, not again for the same call: {timeline}");
    assert!(confirmed[0]["body"].as_str().unwrap_or_default().contains("他社へ移行"), "{timeline}");
    t.finish().await;
}

#[store_test]
async fn the_renewals_page_and_the_account_card_show_the_pipeline_in_both_languages(t: TestStore) {
    let server = Server::start(&t).await;
    let book = book(&server).await;
    let (_, csm) = server.browser("csm@example.com", Role::Manager).await;
    let month = book.next_renewal.format("%Y-%m").to_string();
    let path = format!("/renewals?month={month}");
    let (status, html) = page(&server, &csm, &path).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("年契約株式会社") && !html.contains("月契約合同会社"), "{}: {html}", t.label);
    assert!(html.contains(&format!("{}年{}月", book.next_renewal.year(), book.next_renewal.month())));
    assert!(html.contains("確約") && html.contains("更新対象 ARR"), "{html}");
    for table in ["renewals-by-grade", "renewals-by-owner", "renewals-by-team"] {
        assert!(html.contains(&format!("id=\"{table}\"")), "the month is broken down: {table}");
    }
    assert!(html.contains("担当者別") && html.contains("担当なし"), "{html}");

    let action = format!("/accounts/{}/renewals/{}", book.annual, book.next_renewal);
    let fields = [("forecast", "commit"), ("forecast_note", "契約更新の稟議済み"), ("back", path.as_str())];
    let (status, _, location) = submit(&server, &csm, &action, "ja", &fields).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{}", t.label);
    assert_eq!(location.as_deref(), Some(format!("{path}&done=renewal_saved").as_str()));
    let (_, html) = page(&server, &csm, &format!("{path}&forecast=commit")).await;
    assert!(html.contains("契約更新の稟議済み"), "{html}");

    let (status, html, _) = submit(&server, &csm, &action, "en", &[("forecast", "sure"), ("back", &path)]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unescaped(&html).contains("Forecast: must be one of"), "{html}");
    let broken_back = [("forecast", "commit"), ("back", "/renewals\nSet-Cookie: x=1")];
    let (status, _, location) = submit(&server, &csm, &action, "en", &broken_back).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "a way back no Location header can carry is not followed");
    let account_page = format!("/accounts/{}", book.annual);
    assert!(location.as_deref().is_some_and(|l| l.starts_with(&account_page)), "{location:?}");

    let english = page_in(&server, &csm, &path, "en").await;
    assert!(english.contains("Renewals by month") && english.contains("Commit"), "{english}");

    let (_, account) = page(&server, &csm, &format!("/accounts/{}", book.churned)).await;
    assert!(account.contains("id=\"renewal-card\""), "{account}");
    assert!(account.contains("解約・契約データより"), "{}: {account}", t.label);

    let csv = server.client.get(server.url("/renewals.csv")).header("accept-language", "ja").send().await.unwrap();
    let bytes = csv.bytes().await.unwrap();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    assert!(text.starts_with('\u{feff}'), "Excel needs the BOM");
    assert!(text.contains("顧客ID") && text.contains("ANNUAL") && text.contains("確約"), "{text}");
    t.finish().await;
}

#[store_test]
async fn a_renewal_whose_outcome_is_known_is_closed_not_waiting_for_a_call(t: TestStore) {
    let server = Server::start(&t).await;
    let this_month = server.app.today().with_day(1).unwrap();
    let left = account(&server, "LEFT", "退会工業").await;
    subscription(&server, left, "S-LEFT", months_ago(this_month, 12), Some(this_month), "year").await;
    let (_, csm) = server.browser("csm@example.com", Role::Manager).await;
    let key = this_month.format("%Y-%m").to_string();
    let html = page_in(&server, &csm, &format!("/renewals?month={key}"), "en").await;
    let row = html.split(&format!("data-month=\"{key}\"")).nth(1).and_then(|r| r.split("</tr>").next()).unwrap();
    let cells: Vec<&str> = row.split("<td class=\"num\">").skip(1).map(|c| c.split('<').next().unwrap()).collect();
    let (not_called, closed) = (cells[cells.len() - 2], cells[cells.len() - 1]);
    assert_eq!((not_called, closed), ("JPY 0", "JPY 1,200,000"), "{}: {row}", t.label);
    let by_grade = html.split("id=\"renewals-by-grade\"").nth(1).unwrap().split("</table>").next().unwrap();
    assert!(by_grade.contains("Churned") && !by_grade.contains("Unknown"), "{by_grade}");
    t.finish().await;
}

#[store_test]
async fn forecast_accuracy_compares_the_snapshot_before_a_month_with_the_arr_kept(t: TestStore) {
    let server = Server::start(&t).await;
    let book = book(&server).await;
    let month = book.past_renewal.with_day(1).unwrap();
    let taken_on = month.pred_opt().unwrap();
    let row = ForecastSnapshotRow {
        taken_on,
        account_id: AccountId(book.churned),
        renewal_date: book.past_renewal,
        arr: Money(Decimal::from(1_200_000)),
        forecast: Some(ForecastCategory::Commit),
        churn_probability: None,
    };
    server.app.store().save_forecast_snapshot(taken_on, &[row]).await.unwrap();
    let (status, accuracy) = server.get("/api/v1/renewals/accuracy").await;
    assert_eq!(status, StatusCode::OK, "{accuracy}");
    let closed = &accuracy[0];
    assert_eq!(closed["month"], json!(month), "{}: {accuracy}", t.label);
    assert_eq!(closed["categories"][0]["forecast"], "commit");
    assert_eq!(closed["categories"][0]["forecast_arr"], "1200000");
    assert_eq!(closed["categories"][0]["renewed_arr"], "0.00", "the committed customer left");

    let (status, snapshot) = server.post("/api/v1/renewals/snapshots", json!({})).await;
    assert_eq!((status, snapshot["renewals"].as_i64()), (StatusCode::OK, Some(1)), "{snapshot}");
    let (_, viewer) = server.browser("viewer@example.com", Role::Viewer).await;
    let (_, html) = page(&server, &viewer, "/renewals").await;
    assert!(html.contains("id=\"forecast-accuracy\"") && html.contains("0%"), "{}: {html}", t.label);
    t.finish().await;
}

/// Thirty annual customers (a third left at a renewal) and thirty month-to-month ones (a third
/// left in some month), all started 30 months ago, as CSV imports.
async fn history(server: &Server) {
    let today = server.app.today();
    let start = months_ago(today, 30);
    let mut accounts = String::from("account_id,name\n");
    let mut periods = String::from(
        "subscription_id,account_id,product,plan,start_date,end_date,billing_interval,interval_count,quantity,unit_price,discount_percent,currency\n",
    );
    for i in 0..60 {
        accounts.push_str(&format!("H-{i:03},履歴{i}株式会社\n"));
        let (interval, end) = match (i < 30, i % 3 == 0) {
            (true, true) => ("year", Some(months_ahead(start, 12 * (1 + (i % 2) as u32)))),
            (true, false) => ("year", None),
            (false, true) => ("month", Some(months_ahead(start, 4 + (i % 24) as u32))),
            (false, false) => ("month", None),
        };
        let end = end.map(|d| d.to_string()).unwrap_or_default();
        periods
            .push_str(&format!("S-{i:03},H-{i:03},core,standard,{start},{end},{interval},1,{},10000,0,JPY\n", 5 + i));
    }
    let (status, report) = server.upload("accounts", accounts.into_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let (status, report) = server.upload("subscriptions", periods.into_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{report}");
}

#[store_test]
async fn the_churn_model_says_why_it_cannot_predict_then_learns_from_the_history_and_backtests_itself(t: TestStore) {
    let server = Server::start(&t).await;
    let (status, model) = server.post("/api/v1/renewals/model", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{model}");
    assert_eq!(model["can_predict"], false, "{}: {model}", t.label);
    assert!(model["explanation"]["ja"].as_str().unwrap().contains("まだ予測できません"), "{model}");
    assert!(model["explanation"]["en"].as_str().unwrap().starts_with("Cannot predict yet"), "{model}");

    history(&server).await;
    let (status, model) = server.post("/api/v1/renewals/model", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{model}");
    assert_eq!(model["can_predict"], true, "{}: {model}", t.label);
    assert!(model["churns"].as_u64().unwrap() >= 5, "{model}");
    let book = &model["backtest"]["book"];
    assert!(book["account_months"].as_u64().unwrap() > 200, "{}: {model}", t.label);
    assert!(book["churns"].as_u64().unwrap() > 0, "{model}");
    assert!(model["backtest"]["tested_on"].as_u64().unwrap() > 0, "{model}");
    let (_, read) = server.get("/api/v1/renewals/model").await;
    assert_eq!(read["fitted_on"], model["fitted_on"]);

    let (_, list) = server.get("/api/v1/renewals").await;
    let renewals = list.as_array().unwrap();
    assert!(!renewals.is_empty(), "{list}");
    for renewal in renewals {
        let p = renewal["churn_probability"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&p), "{renewal}");
    }

    let (_, manager) = server.browser("lead@example.com", Role::Manager).await;
    let (status, html) = page(&server, &manager, "/renewals").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("バックテスト AUC（全顧客）") && html.contains("ヘルススコアのみでは"), "{}", t.label);
    let english = server
        .anonymous
        .get(server.url("/renewals"))
        .header("cookie", format!("{}; kizuna_lang=en", manager.cookie))
        .send()
        .await
        .unwrap();
    let html = unescaped(&english.text().await.unwrap());
    assert!(html.contains("Backtest AUC, whole book") && html.contains("the health score alone"), "{}", t.label);
    t.finish().await;
}
