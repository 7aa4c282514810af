//! The home dashboard, the accounts list and the account page through real HTTP, on SQLite and
//! (with TEST_DATABASE_URL) PostgreSQL: the dashboard shows the metrics API's figures, the list
//! filters, pages, exports and saves views, the account page's forms store their change or
//! answer 422 naming the field in Japanese and English, and only the account's CSMs may post.

use crate::common::{page, submit, text_of, unescaped, Browser, Server};
use domain::access::Role;
use domain::health::pulse::PulseReason;
use domain::i18n::Lang;
use domain::{Reason, UserId};
use reqwest::{Method, StatusCode};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{json, Value};
use store::testing::TestStore;
use test_macros::store_test;

fn days_ago(server: &Server, days: u64) -> chrono::NaiveDate {
    server.app.today().checked_sub_days(chrono::Days::new(days)).unwrap()
}

/// Money as the pages show it: whole units, thousands separators, `¥` in Japanese.
fn money(amount: &Value, lang: Lang) -> String {
    let amount: Decimal = amount.as_str().unwrap_or_else(|| panic!("money as text: {amount}")).parse().unwrap();
    let whole = amount.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero).to_i128().unwrap();
    let digits = whole.unsigned_abs().to_string();
    let grouped: Vec<String> =
        digits.as_bytes().rchunks(3).rev().map(|chunk| String::from_utf8(chunk.to_vec()).unwrap()).collect();
    let sign = if whole < 0 { "-" } else { "" };
    match lang {
        Lang::Ja => format!("{sign}¥{}", grouped.join(",")),
        Lang::En => format!("{sign}JPY {}", grouped.join(",")),
    }
}

/// A ratio of the metrics API as a percentage to one decimal.
fn percent(ratio: &Value) -> String {
    match ratio.as_str() {
        Some(text) => format!("{:.1}%", text.parse::<Decimal>().unwrap().to_f64().unwrap() * 100.0),
        None => "—".into(),
    }
}

/// The ids of the rows of `#accounts-table`, in order.
fn listed(html: &str) -> Vec<i64> {
    html.split("data-account-id=\"").skip(1).map(|rest| rest.split('"').next().unwrap().parse().unwrap()).collect()
}

/// The part of the page from the element with `id` to the end of its table or list.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id} in {html}"));
    let rest = &html[start..];
    let end = ["</table>", "</ol>", "</ul>"].iter().filter_map(|tag| rest.find(tag)).min().unwrap_or(rest.len());
    &rest[..end]
}

async fn account_id(server: &Server, external_id: &str) -> i64 {
    let (_, list) = server.get("/api/v1/accounts?limit=500").await;
    list["items"].as_array().unwrap().iter().find(|a| a["external_id"] == external_id).unwrap()["id"].as_i64().unwrap()
}

async fn upload_ok(server: &Server, kind: &str, csv: String) {
    let (status, outcome) = server.upload(kind, csv.into_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{kind}: {outcome}");
}

/// Scores only the CSM pulse, so a pulse of 5 is healthy and a pulse of 1 at risk.
async fn score_by_pulse(server: &Server) {
    let config = json!({"min_measures": 1, "scorecard": [{"key": "default", "name": "Default", "measure": [
        {"key": "pulse", "type": "csm_pulse", "days": 30, "weight": 1, "points": {"piecewise": [[1, 0], [5, 100]]}}]}]});
    let (status, saved) = server.send(Method::PUT, "/api/v1/health/config", Some(config)).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
}

async fn pulse(server: &Server, id: i64, score: i64) {
    let (status, body) = server.post(&format!("/api/v1/accounts/{id}/pulse"), json!({"score": score})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[store_test]
async fn the_dashboard_cards_show_the_figures_of_the_metrics_api_in_both_languages(t: TestStore) {
    let server = Server::start(&t).await;
    let browser = server.sign_in("admin@k.example").await;
    upload_ok(
        &server,
        "accounts",
        "account_id,name,stage\nA1,Alpha,adoption\nA2,Beta,onboarding\nA3,Gamma,adoption\n".into(),
    )
    .await;
    let subscriptions = format!(
        "subscription_id,account_id,product,start_date,end_date,billing_interval,quantity,unit_price,currency\n\
         S1,A1,core,2020-01-01,,year,100,12000,JPY\n\
         S2,A2,core,2020-01-01,,month,10,500,JPY\n\
         S3,A3,core,2020-01-01,{},month,1,100000,JPY\n\
         S4,A1,addon,{},,month,3,1000,JPY\n",
        days_ago(&server, 100),
        days_ago(&server, 50),
    );
    upload_ok(&server, "subscriptions", subscriptions).await;
    score_by_pulse(&server).await;
    let alpha = account_id(&server, "A1").await;
    // Healthy a few days ago, at risk today: a drop this week.
    let earlier = domain::health::history::Snapshot {
        day: days_ago(&server, 3),
        score: Some(100.0),
        grade: "healthy".into(),
        measures: Default::default(),
    };
    server.app.store().save_health(&[(domain::AccountId(alpha), earlier, None)]).await.unwrap();
    pulse(&server, alpha, 1).await;

    let (status, report) = server.get("/api/v1/metrics/report").await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let last = report.as_array().unwrap().last().unwrap();
    assert_eq!(last["mrr_end"], "108000.00", "Alpha 100,000 + 3,000 and Beta 5,000: {}", t.label);
    let (_, retention) = server.get("/api/v1/metrics/retention").await;
    assert_ne!(percent(&retention["customer_churn_rate"]), "0.0%", "Gamma churned: {retention}");

    for lang in [Lang::Ja, Lang::En] {
        let (status, html) = page(&server, &browser, &format!("/?lang={}", lang.code())).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains(&format!("<html lang=\"{}\">", lang.code())));
        assert_eq!(text_of(&html, "mrr-value"), money(&last["mrr_end"], lang), "{}", t.label);
        assert_eq!(text_of(&html, "arr-value"), money(&last["arr_end"], lang));
        assert_eq!(text_of(&html, "customers-value"), last["customers_end"].to_string());
        assert_eq!(text_of(&html, "nrr-value"), percent(&retention["nrr"]));
        assert_eq!(text_of(&html, "grr-value"), percent(&retention["grr"]));
        assert_eq!(text_of(&html, "logo-churn-value"), percent(&retention["customer_churn_rate"]));
        let (at_start, at_risk) = match lang {
            Lang::Ja => ("期首 MRR", "リスク"),
            Lang::En => ("MRR at start", "At risk"),
        };
        assert!(section(&html, "waterfall-table").contains(at_start), "{html}");
        assert!(section(&html, "grade-table").contains(at_risk), "{html}");
        assert!(!section(&html, "renewals-table").contains("Beta"), "Beta is month to month: no renewal: {html}");
        assert!(section(&html, "drops-table").contains("Alpha"), "{html}");
        assert!(section(&html, "onboarding-table").contains("Beta"), "{html}");
    }
    let (_, html) = page(&server, &browser, "/?lang=ja").await;
    assert!(section(&html, "drops-table").contains("良好 → リスク"), "{html}");
    assert!(section(&html, "onboarding-table").contains("¥60,000"), "Beta's ARR: {html}");
    drop(server);
    t.finish().await;
}

/// Stores a snapshot of `grade` for the account on `day`, as the health worker would have.
async fn snapshot(server: &Server, id: i64, day: chrono::NaiveDate, grade: &str) {
    let snapshot = domain::health::history::Snapshot {
        day,
        score: Some(if grade == "healthy" { 100.0 } else { 0.0 }),
        grade: grade.into(),
        measures: Default::default(),
    };
    server.app.store().save_health(&[(domain::AccountId(id), snapshot, None)]).await.unwrap();
}

#[store_test]
async fn a_churned_account_has_no_grade_is_out_of_every_risk_view_and_its_page_says_when_and_why(t: TestStore) {
    let server = Server::start(&t).await;
    let browser = server.sign_in("admin@k.example").await;
    upload_ok(
        &server,
        "accounts",
        "account_id,name,stage,churn_reason,churn_note\nA1,Alpha,adoption,,\nA2,Beta,adoption,price,予算削減\n".into(),
    )
    .await;
    upload_ok(
        &server,
        "subscriptions",
        "subscription_id,account_id,product,start_date,end_date,billing_interval,quantity,unit_price,currency\n\
         S1,A1,core,2020-01-01,,month,1,10000,JPY\n\
         S2,A2,core,2020-01-01,,month,1,10000,JPY\n"
            .into(),
    )
    .await;
    score_by_pulse(&server).await;
    let (alpha, beta) = (account_id(&server, "A1").await, account_id(&server, "A2").await);
    // Both healthy a few days ago and at risk now: two grade drops this week.
    for id in [alpha, beta] {
        snapshot(&server, id, days_ago(&server, 3), "healthy").await;
        pulse(&server, id, 1).await;
    }
    let at_risk = || async {
        let (status, html) = page(&server, &browser, "/accounts?grade=at_risk").await;
        assert_eq!(status, StatusCode::OK, "{html}");
        let mut ids = listed(&html);
        ids.sort();
        ids
    };
    assert_eq!(at_risk().await, vec![alpha, beta], "{}", t.label);

    // Beta's subscription ends today: its MRR falls to zero, it has churned.
    let today = server.app.today();
    let (_, periods) = server.get(&format!("/api/v1/subscriptions?account_id={beta}")).await;
    let period = periods["items"][0]["id"].as_i64().unwrap();
    let (status, ended) =
        server.send(Method::PATCH, &format!("/api/v1/subscriptions/{period}"), Some(json!({"end_date": today}))).await;
    assert_eq!(status, StatusCode::OK, "{ended}");
    let (status, recomputed) = server.post("/api/v1/health/recompute", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{recomputed}");

    let (_, account) = server.get(&format!("/api/v1/accounts/{beta}")).await;
    assert_eq!(account["churned_on"], json!(today), "the day its MRR fell to zero: {account}");
    assert_eq!((&account["health"]["grade"], &account["health"]["score"]), (&Value::Null, &Value::Null));
    let (_, live) = server.get(&format!("/api/v1/accounts/{beta}/health")).await;
    assert_eq!((&live["grade"], &live["score"]), (&json!("churned"), &Value::Null), "{live}");
    assert_eq!(live["drivers"][0]["en"], json!(format!("Churned on {today}")));
    let (_, account) = server.get(&format!("/api/v1/accounts/{alpha}")).await;
    assert_eq!((&account["churned_on"], &account["health"]["grade"]), (&Value::Null, &json!("at_risk")));
    assert_eq!(at_risk().await, vec![alpha], "{}", t.label);
    let (_, grades) = server.get("/api/v1/health/grades").await;
    let count = |key: &str| grades.as_array().unwrap().iter().find(|g| g["grade"] == key).unwrap()["accounts"].clone();
    assert_eq!((count("at_risk"), count("unknown")), (json!(1), json!(0)), "{grades}");
    let (_, drops) = server.get("/api/v1/health/drops").await;
    let dropped: Vec<&Value> = drops.as_array().unwrap().iter().map(|d| &d["account_id"]).collect();
    assert_eq!(dropped, vec![&json!(alpha)], "{drops}");
    let (_, home) = page(&server, &browser, "/").await;
    assert!(section(&home, "drops-table").contains("Alpha"), "{home}");
    assert!(!section(&home, "drops-table").contains("Beta"), "{home}");

    // A grade change of a churned account starts no playbook.
    let risky = json!({"name": "Risk", "trigger": {"type": "grade_changed", "to": "at_risk"},
        "step": [{"action": "add_timeline_entry", "title": "{{account}} is at risk"}]});
    let (status, playbook) = server.post("/api/v1/playbooks", risky).await;
    assert_eq!(status, StatusCode::CREATED, "{playbook}");
    for id in [alpha, beta] {
        snapshot(&server, id, today, "healthy").await;
    }
    server.post("/api/v1/health/recompute", json!({})).await;
    let (_, runs) = server.get(&format!("/api/v1/playbooks/{}/runs", playbook["id"])).await;
    let started: Vec<&Value> = runs.as_array().unwrap().iter().map(|r| &r["account_id"]).collect();
    assert_eq!(started, vec![&json!(alpha)], "{runs}");

    let (_, html) = page(&server, &browser, "/accounts?lang=en").await;
    let row = &html[html.find(&format!("data-account-id=\"{beta}\"")).unwrap()..];
    assert!(row[..row.find("</tr>").unwrap()].contains("Churned"), "{html}");
    for (lang, banner, grade) in [
        ("ja", format!("{} に解約（価格・予算：予算削減）", today.format("%Y/%m/%d")), "解約済み"),
        ("en", format!("Churned on {} (Price or budget: 予算削減)", today.format("%b %-d, %Y")), "Churned"),
    ] {
        let (status, html) = page(&server, &browser, &format!("/accounts/{beta}?lang={lang}")).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert_eq!(unescaped(&text_of(&html, "account-churned")), banner);
        assert_eq!(text_of(&html, "account-grade"), grade);
        assert!(!html.contains("id=\"account-score\""), "no score: {html}");
        let churn_entry = if lang == "ja" { "解約: " } else { "Churned on " };
        assert!(section(&html, "timeline-entries").contains(churn_entry), "the churn is on the timeline: {html}");
    }
    let (_, timeline) = server.get(&format!("/api/v1/timeline?account_id={beta}&kind=system")).await;
    let churns: Vec<&Value> =
        timeline["items"].as_array().unwrap().iter().filter(|e| e["event"]["type"] == "churned").collect();
    assert_eq!(churns.len(), 1, "recorded once: {timeline}");
    assert_eq!(churns[0]["event"]["reason"], "price", "{timeline}");
    let (_, html) = page(&server, &browser, &format!("/accounts/{alpha}")).await;
    assert!(!html.contains("account-churned"), "{html}");
    assert!(html.contains("id=\"account-score\""), "a paying account keeps its score: {html}");
    drop(server);
    t.finish().await;
}

const OWNED_ACCOUNTS: &str = "account_id,name,tier,stage,owner_email,sub_owner_email\n\
    A1,Alpha,enterprise,adoption,aki@k.example,\n\
    A2,Beta,smb,onboarding,ren@k.example,aki@k.example\n\
    A3,Gamma,SMB,adoption,,\n";

/// Aki and Ren (CSMs) and three accounts: Alpha (Aki's), Beta (Ren's, Aki sub-owns), Gamma.
async fn three_accounts(server: &Server) -> ((UserId, Browser), (UserId, Browser), [i64; 3]) {
    let aki = server.browser("aki@k.example", Role::Csm).await;
    let ren = server.browser("ren@k.example", Role::Csm).await;
    upload_ok(server, "accounts", OWNED_ACCOUNTS.into()).await;
    let ids = [account_id(server, "A1").await, account_id(server, "A2").await, account_id(server, "A3").await];
    (aki, ren, ids)
}

#[store_test]
async fn the_accounts_list_filters_by_tier_stage_owner_with_sub_owner_and_grade(t: TestStore) {
    let server = Server::start(&t).await;
    let ((aki, browser), (ren, _), [alpha, beta, gamma]) = three_accounts(&server).await;
    let sorted = |mut ids: Vec<i64>| {
        ids.sort();
        ids
    };
    let list = |query: String| {
        let (server, browser) = (&server, &browser);
        async move {
            let (status, html) = page(server, browser, &format!("/accounts?{query}")).await;
            assert_eq!(status, StatusCode::OK, "{query}: {html}");
            let ids = listed(&html);
            assert_eq!(text_of(&html, "account-count"), ids.len().to_string(), "{query}");
            sorted(ids)
        }
    };
    assert_eq!(list(String::new()).await, vec![alpha, beta, gamma], "{}", t.label);
    assert_eq!(list("tier=enterprise".into()).await, vec![alpha]);
    assert_eq!(list("tier=smb".into()).await, vec![beta, gamma], "tiers are compared in lower case");
    assert_eq!(list("stage=onboarding".into()).await, vec![beta]);
    assert_eq!(list(format!("owner={}", aki.0)).await, vec![alpha, beta], "owner or sub owner");
    assert_eq!(list(format!("owner={}", ren.0)).await, vec![beta]);
    assert_eq!(list(format!("owner={}&tier=smb", aki.0)).await, vec![beta], "filters combine");

    score_by_pulse(&server).await;
    pulse(&server, alpha, 5).await;
    pulse(&server, beta, 1).await;
    let (status, recomputed) = server.post("/api/v1/health/recompute", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{recomputed}");
    assert_eq!(list("grade=at_risk".into()).await, vec![beta], "{}", t.label);
    assert_eq!(list("grade=healthy".into()).await, vec![alpha]);
    let (_, html) = page(&server, &browser, "/accounts?sort=score&lang=en").await;
    assert_eq!(listed(&html), vec![beta, alpha, gamma], "lowest score first, unscored last");
    assert!(html.contains("At risk") && html.contains("Healthy") && html.contains("Unknown"), "{html}");
    let (_, html) = page(&server, &browser, "/accounts?sort=-score").await;
    assert_eq!(listed(&html), vec![alpha, beta, gamma]);
    let (_, html) = page(&server, &browser, "/accounts?grade=at_risk").await;
    assert!(html.contains("<option value=\"at_risk\" selected>リスク</option>"), "the filter stays chosen: {html}");
    drop(server);
    t.finish().await;
}

#[store_test]
async fn a_bad_owner_id_answers_422_naming_the_field_in_japanese_and_english(t: TestStore) {
    let server = Server::start(&t).await;
    let (_, browser) = server.browser("aki@k.example", Role::Csm).await;
    let reason = Reason::WrongType { expected: "a positive id" };
    for (query, lang) in [("owner=abc", Lang::Ja), ("owner=-1&lang=en", Lang::En), ("owner=0&lang=ja", Lang::Ja)] {
        let (status, html) = page(&server, &browser, &format!("/accounts?{query}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query} on {}: {html}", t.label);
        assert!(html.contains(&format!("<html lang=\"{}\">", lang.code())), "{query}");
        let message = format!("owner: {}", reason.message(lang));
        assert!(unescaped(&html).contains(&message), "{message} missing for {query}: {html}");
        assert!(listed(&html).is_empty());
    }
    let (status, html) = page(&server, &browser, "/accounts?sort=size&lang=en").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("sort: must be one of"), "{html}");
    let csv = server.anonymous.get(server.url("/accounts.csv?owner=abc")).header("cookie", &browser.cookie);
    assert_eq!(csv.send().await.unwrap().status(), StatusCode::UNPROCESSABLE_ENTITY);
    drop(server);
    t.finish().await;
}

#[store_test]
async fn the_csv_export_has_a_header_and_every_filtered_account_beyond_the_first_page(t: TestStore) {
    let server = Server::start(&t).await;
    let (_, browser) = server.browser("aki@k.example", Role::Viewer).await;
    let mut accounts = String::from("account_id,name,tier\n");
    let mut subscriptions =
        String::from("subscription_id,account_id,product,start_date,billing_interval,quantity,unit_price,currency\n");
    for i in 0..60 {
        let tier = if i < 55 { "smb" } else { "enterprise" };
        accounts.push_str(&format!("A{i:02},顧客{i:02},{tier}\n"));
        subscriptions.push_str(&format!("S{i:02},A{i:02},core,2024-01-01,month,1,{},JPY\n", 1000 + i * 10));
    }
    upload_ok(&server, "accounts", accounts).await;
    upload_ok(&server, "subscriptions", subscriptions).await;

    let (status, first) = page(&server, &browser, "/accounts?tier=smb&sort=name").await;
    assert_eq!(status, StatusCode::OK, "{}", t.label);
    assert_eq!((listed(&first).len(), text_of(&first, "account-count")), (50, "55".to_owned()));
    let next = unescaped(&first);
    assert!(next.contains("href=\"/accounts?tier=smb&sort=name&offset=50\" rel=\"next\""), "{first}");
    let (_, second) = page(&server, &browser, "/accounts?tier=smb&sort=name&offset=50").await;
    assert_eq!(listed(&second).len(), 5);
    assert!(unescaped(&first).contains("href=\"/accounts.csv?tier=smb&sort=name\""), "the export keeps the filters");

    let response = server
        .anonymous
        .get(server.url("/accounts.csv?tier=smb&sort=name"))
        .header("cookie", &browser.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(response.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    let bytes = response.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "a BOM, so Excel reads UTF-8");
    let body = String::from_utf8(bytes[3..].to_vec()).unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    assert_eq!(reader.headers().unwrap().get(0), Some("顧客ID"), "Japanese header by default");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let ids: Vec<&str> = rows.iter().map(|r| r.get(0).unwrap()).collect();
    let expected: Vec<String> = (0..55).map(|i| format!("A{i:02}")).collect();
    assert_eq!(ids, expected, "every SMB account, in the list's order: {}", t.label);
    let yen = (rows[0].get(7), rows[0].get(8));
    assert_eq!((rows[0].get(1), rows[0].get(4), yen), (Some("顧客00"), Some("中小"), (Some("1000"), Some("12000"))));

    let english =
        server.anonymous.get(server.url("/accounts.csv?lang=en")).header("cookie", &browser.cookie).send().await;
    let body = english.unwrap().text().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(
        header,
        [
            "external_id",
            "name",
            "owner",
            "sub_owner",
            "tier",
            "touch_model",
            "stage",
            "mrr",
            "arr",
            "next_renewal_date",
            "grade",
            "score",
            "score_change_30d"
        ]
    );
    assert_eq!(reader.records().count(), 60, "no filter: all 60");
    drop(server);
    t.finish().await;
}

/// The value of the hidden `query` field of the save-view form.
fn current_query(html: &str) -> String {
    let marker = "name=\"query\" value=\"";
    let start = html.find(marker).unwrap_or_else(|| panic!("no save-view form in {html}")) + marker.len();
    unescaped(&html[start..start + html[start..].find('"').unwrap()])
}

#[store_test]
async fn a_saved_view_round_trips_and_belongs_to_its_user(t: TestStore) {
    let server = Server::start(&t).await;
    let ((aki, browser), (ren, other), [_, beta, gamma]) = three_accounts(&server).await;
    let (_, html) = page(&server, &browser, "/accounts?tier=smb&sort=name").await;
    let query = current_query(&html);
    assert_eq!(query, "tier=smb&sort=name", "{}", t.label);

    let (status, _, location) =
        submit(&server, &browser, "/accounts/views", "ja", &[("name", "SMB 顧客"), ("query", &query)]).await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/accounts?tier=smb&sort=name")));
    let views = server.app.store().saved_views(aki).await.unwrap();
    assert_eq!(views.len(), 1);
    let (_, html) = page(&server, &browser, "/accounts").await;
    let link = "<a href=\"/accounts?tier=smb&sort=name\">SMB 顧客</a>";
    assert!(unescaped(&html).contains(link), "{html}");
    let (_, opened) = page(&server, &browser, "/accounts?tier=smb&sort=name").await;
    assert_eq!(listed(&opened), vec![beta, gamma], "the view shows its accounts");

    let (status, _, _) =
        submit(&server, &browser, "/accounts/views", "ja", &[("name", "SMB 顧客"), ("query", "tier=smb&sort=-arr")])
            .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let replaced = server.app.store().saved_views(aki).await.unwrap();
    assert_eq!((replaced.len(), replaced[0].query.as_str()), (1, "tier=smb&sort=-arr"), "same name replaces");

    let (_, theirs) = page(&server, &other, "/accounts").await;
    assert!(!theirs.contains("SMB 顧客"), "another user does not see it");
    let delete = format!("/accounts/views/{}/delete", views[0].id);
    let (status, _, _) = submit(&server, &other, &delete, "en", &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another user's view");
    assert_eq!(server.app.store().saved_views(aki).await.unwrap().len(), 1);
    assert!(server.app.store().saved_views(ren).await.unwrap().is_empty());

    for (lang, message) in [("ja", "ビュー名: 必須です"), ("en", "View name: is required")] {
        let (status, html, _) =
            submit(&server, &browser, "/accounts/views", lang, &[("name", "  "), ("query", "tier=smb&sort=name")])
                .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        assert!(html.contains(message), "{message}: {html}");
        assert_eq!(listed(&html), vec![beta, gamma], "the list behind the form stays filtered");
    }
    let long = "x".repeat(101);
    let (status, html, _) = submit(&server, &browser, "/accounts/views", "en", &[("name", &long), ("query", "")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("View name: must be at most 100 characters"), "{html}");
    assert_eq!(server.app.store().saved_views(aki).await.unwrap().len(), 1, "nothing stored");

    let (status, html, _) =
        submit(&server, &browser, "/accounts/views", "en", &[("name", "Broken"), ("query", "owner=abc")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a view that could never open: {html}");
    assert!(html.contains("owner: must be a positive id"), "{html}");
    let (status, _, location) = submit(
        &server,
        &browser,
        "/accounts/views",
        "en",
        &[("name", "Odd"), ("query", "tier=smb\r\nX-Injected: 1&colour=red")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "a control character is no reason for a 500");
    assert_eq!(
        location.as_deref(),
        Some("/accounts?tier=smb%0AX-Injected%3A+1"),
        "kept encoded (a form's CR LF is read as LF), unknown keys dropped"
    );
    let odd = server.app.store().saved_views(aki).await.unwrap();
    assert_eq!(odd.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(), ["Odd", "SMB 顧客"]);
    server.app.store().delete_view(aki, odd[0].id).await.unwrap();

    let (status, _, location) = submit(&server, &browser, &delete, "ja", &[]).await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/accounts")));
    assert!(server.app.store().saved_views(aki).await.unwrap().is_empty());
    let (_, html) = page(&server, &browser, "/accounts").await;
    assert!(!html.contains("SMB 顧客") && html.contains("保存したビューはありません。"), "{html}");
    drop(server);
    t.finish().await;
}

async fn timeline_titles(server: &Server, id: i64) -> Vec<String> {
    let (_, timeline) = server.get(&format!("/api/v1/timeline?account_id={id}")).await;
    timeline["items"].as_array().unwrap().iter().map(|e| e["title"].as_str().unwrap().to_owned()).collect()
}

#[store_test]
async fn the_timeline_form_adds_an_entry_and_bad_input_is_refused_naming_the_field(t: TestStore) {
    let server = Server::start(&t).await;
    let ((_, aki), _, [alpha, ..]) = three_accounts(&server).await;
    let path = format!("/accounts/{alpha}/timeline");
    let (status, _, location) =
        submit(&server, &aki, &path, "ja", &[("kind", "meeting"), ("title", "キックオフ"), ("body", "議題: 導入計画")])
            .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{}", t.label);
    assert_eq!(location, Some(format!("/accounts/{alpha}#timeline")));
    let (_, html) = page(&server, &aki, &format!("/accounts/{alpha}")).await;
    let entries = section(&html, "timeline-entries");
    assert!(entries.contains("打ち合わせ") && entries.contains("キックオフ"), "{entries}");
    assert!(entries.contains("議題: 導入計画"), "{entries}");
    let (_, en) = page(&server, &aki, &format!("/accounts/{alpha}?lang=en")).await;
    assert!(section(&en, "timeline-entries").contains("Meeting"), "{en}");

    let cases = [
        ("ja", "note", "", "件名: 必須です"),
        ("en", "note", " ", "Title: is required"),
        ("en", "fax", "Call", "Kind: must be one of"),
        ("ja", "fax", "Call", "種類: 次のいずれかにしてください"),
        ("en", "system", "Looks automatic", "Kind: must be one of"),
        ("en", "email", "Sent mail", "Kind: must be one of"),
    ];
    for (lang, kind, title, message) in cases {
        let (status, html, _) =
            submit(&server, &aki, &path, lang, &[("kind", kind), ("title", title), ("body", "下書き")]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{kind}/{title:?}: {html}");
        assert!(html.contains(&format!("<html lang=\"{lang}\">")));
        assert!(unescaped(&html).contains(message), "{message}: {html}");
        assert!(html.contains("下書き</textarea>"), "what was typed is kept");
    }
    assert_eq!(timeline_titles(&server, alpha).await, vec!["キックオフ".to_owned()], "nothing else stored");
    drop(server);
    t.finish().await;
}

#[store_test]
async fn the_pulse_form_rescores_the_account_and_a_bad_score_is_refused_naming_the_field(t: TestStore) {
    let server = Server::start(&t).await;
    let ((_, aki), _, [alpha, ..]) = three_accounts(&server).await;
    score_by_pulse(&server).await;
    let account = format!("/accounts/{alpha}");
    let (_, before) = page(&server, &aki, &format!("{account}?lang=en")).await;
    assert!(section(&before, "measures-table").contains("CSM pulse: no data"), "{before}");
    assert_eq!(text_of(&before, "account-score"), "—");

    let path = format!("{account}/pulse");
    let fields =
        [("score", "2"), ("reasons", "champion_left"), ("reasons", "budget_pressure"), ("comment", "予算削減")];
    let (status, _, location) = submit(&server, &aki, &path, "ja", &fields).await;
    assert_eq!((status, location), (StatusCode::SEE_OTHER, Some(format!("{account}#health"))), "{}", t.label);
    let (_, after) = page(&server, &aki, &format!("{account}?lang=en")).await;
    assert!(section(&after, "measures-table").contains("CSM pulse: 2 of 5"), "{after}");
    assert_eq!(text_of(&after, "account-score"), "25.0", "1–5 → 0–100 points");
    let pulses = section(&after, "pulses-table");
    for reason in [PulseReason::ChampionLeft, PulseReason::BudgetPressure] {
        assert!(pulses.contains(reason.label().pick(Lang::En)), "{pulses}");
    }
    let (_, ja) = page(&server, &aki, &account).await;
    assert!(section(&ja, "measures-table").contains("CSM の所感: 2 / 5"), "{ja}");
    assert!(section(&ja, "pulses-table").contains("予算削減"));

    let cases = [
        ("ja", "9", "所感: 1 から 5 の範囲で指定してください"),
        ("en", "0", "Pulse: must be between 1 and 5"),
        ("en", "", "Pulse: is required"),
        ("ja", "", "所感: 必須です"),
    ];
    for (lang, score, message) in cases {
        let fields = [("score", score), ("reasons", "competitor"), ("comment", "再検討")];
        let (status, html, _) = submit(&server, &aki, &path, lang, &fields).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{score:?}: {html}");
        assert!(unescaped(&html).contains(message), "{message}: {html}");
        assert!(html.contains("id=\"pulse-reason-competitor\" checked"), "the choice is kept: {html}");
        assert!(html.contains("再検討</textarea>"));
    }
    let (status, html, _) = submit(&server, &aki, &path, "en", &[("score", "3"), ("reasons", "bribery")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Reasons: must be one of"), "{html}");
    let (_, stored) = server.get(&format!("/api/v1/accounts/{alpha}/pulses")).await;
    assert_eq!(stored.as_array().map(Vec::len), Some(1), "only the good pulse: {stored}");
    assert_eq!(stored[0]["reasons"], json!(["champion_left", "budget_pressure"]));
    let (_, health) = server.get(&format!("/api/v1/accounts/{alpha}/health")).await;
    assert_eq!(health["score"].as_f64(), Some(25.0));
    drop(server);
    t.finish().await;
}

#[store_test]
async fn a_viewer_or_a_csm_who_does_not_own_the_account_gets_403_and_no_forms(t: TestStore) {
    let server = Server::start(&t).await;
    let (_, (_, ren), [alpha, beta, _]) = three_accounts(&server).await;
    let (_, viewer) = server.browser("viewer@k.example", Role::Viewer).await;
    score_by_pulse(&server).await;
    let (_, html) = page(&server, &ren, &format!("/accounts/{alpha}?lang=en")).await;
    assert!(!html.contains("id=\"pulse-form\"") && !html.contains("id=\"timeline-form\""), "{html}");
    assert!(unescaped(&html).contains("Only the account's CSMs and managers can add entries."), "{html}");
    let (_, own) = page(&server, &ren, &format!("/accounts/{beta}")).await;
    assert!(own.contains("id=\"pulse-form\"") && own.contains("id=\"timeline-form\""), "Ren owns Beta");
    assert!(!html.contains("id=\"stage-form\"") && own.contains("id=\"stage-form\""), "{own}");

    // The owner moves Beta's stage from its page: stored, audited, on the timeline.
    let (status, _, location) =
        submit(&server, &ren, &format!("/accounts/{beta}/stage"), "en", &[("stage", "expansion")]).await;
    assert_eq!(
        (status, location),
        (StatusCode::SEE_OTHER, Some(format!("/accounts/{beta}#account-stage"))),
        "{}",
        t.label
    );
    let (_, account) = server.get(&format!("/api/v1/accounts/{beta}")).await;
    assert_eq!(account["stage"], "expansion");
    assert!(
        timeline_titles(&server, beta).await.iter().any(|title| title.contains("Expansion")),
        "the change is on the timeline"
    );
    let (status, _, _) = submit(&server, &ren, &format!("/accounts/{beta}/stage"), "en", &[("stage", "nowhere")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a stage the workspace does not have");

    // And adds a contact; a second with the same id is refused, the form keeping what was typed.
    let contact = [
        ("contact_id", "B-C1"),
        ("name", "鈴木 花子"),
        ("email", "hana@beta.example"),
        ("role", "champion"),
        ("is_primary", "on"),
    ];
    let (status, _, location) = submit(&server, &ren, &format!("/accounts/{beta}/contacts"), "en", &contact).await;
    assert_eq!((status, location), (StatusCode::SEE_OTHER, Some(format!("/accounts/{beta}#contacts"))));
    let (_, contacts) = server.get(&format!("/api/v1/contacts?account_id={beta}")).await;
    let stored = &contacts["items"][0];
    assert_eq!(
        (&stored["email"], &stored["role"], &stored["is_primary"]),
        (&json!("hana@beta.example"), &json!("champion"), &json!(true)),
        "{contacts}"
    );
    let (status, html, _) = submit(&server, &ren, &format!("/accounts/{beta}/contacts"), "en", &contact).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("id=\"contact-errors\"")
            && html.contains("Contact ID")
            && html.contains("value=\"hana@beta.example\""),
        "{html}"
    );

    for browser in [&ren, &viewer] {
        let note = [("kind", "note"), ("title", "越権")];
        let (status, _, _) = submit(&server, browser, &format!("/accounts/{alpha}/timeline"), "en", &note).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{}", t.label);
        let (status, _, _) =
            submit(&server, browser, &format!("/accounts/{alpha}/pulse"), "en", &[("score", "1")]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _, _) =
            submit(&server, browser, &format!("/accounts/{alpha}/pulse"), "en", &[("score", "9")]).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "refused before the input is even read");
        let (status, _, _) =
            submit(&server, browser, &format!("/accounts/{alpha}/timeline"), "en", &[("kind", "note")]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _, _) =
            submit(&server, browser, &format!("/accounts/{alpha}/stage"), "en", &[("stage", "expansion")]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _, _) =
            submit(&server, browser, &format!("/accounts/{alpha}/contacts"), "en", &[("contact_id", "X")]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let (status, _, _) = submit(&server, &ren, "/accounts/999999/pulse", "en", &[("score", "1")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = submit(&server, &ren, "/accounts/999999/timeline", "en", &[("title", "x")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, html) = page(&server, &viewer, &format!("/accounts/{alpha}")).await;
    assert!(!html.contains("id=\"pulse-form\""), "{html}");
    assert!(timeline_titles(&server, alpha).await.is_empty(), "nothing stored");
    let (_, pulses) = server.get(&format!("/api/v1/accounts/{alpha}/pulses")).await;
    assert_eq!(pulses, json!([]));
    drop(server);
    t.finish().await;
}

#[store_test]
async fn the_language_switch_sets_the_cookie_and_the_next_page_is_english(t: TestStore) {
    let server = Server::start(&t).await;
    let (_, browser) = server.browser("aki@k.example", Role::Csm).await;
    let (_, html) = page(&server, &browser, "/accounts?tier=smb").await;
    assert!(html.contains("<html lang=\"ja\">") && html.contains("<h1>顧客一覧</h1>"), "{}", t.label);
    assert!(unescaped(&html).contains("href=\"/lang/en?back=%2Faccounts%3Ftier%3Dsmb\""), "{html}");

    let switch = |path: &str| server.anonymous.get(server.url(path)).header("cookie", &browser.cookie).send();
    let response = switch("/lang/en?back=/accounts").await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/accounts");
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("kizuna_lang=en;") && cookie.contains("Path=/"), "{cookie}");
    let language = cookie.split(';').next().unwrap();

    let both = format!("{}; {language}", browser.cookie);
    let english = server.anonymous.get(server.url("/accounts")).header("cookie", &both).send().await.unwrap();
    let html = english.text().await.unwrap();
    assert!(html.contains("<html lang=\"en\">") && html.contains("<h1>Accounts</h1>"), "{html}");
    let home = server.anonymous.get(server.url("/")).header("cookie", &both).send().await.unwrap();
    assert!(home.text().await.unwrap().contains("<h1>Home</h1>"), "the cookie holds on every page");

    let outside = switch("/lang/ja?back=//evil.example/").await.unwrap();
    assert_eq!(outside.headers()["location"], "/", "never an open redirect");
    let control = switch("/lang/ja?back=/accounts%0D%0ASet-Cookie:%20x=1").await.unwrap();
    assert_eq!((control.status(), control.headers()["location"].to_str().unwrap()), (StatusCode::SEE_OTHER, "/"));
    assert_eq!(switch("/lang/fr?back=/").await.unwrap().status(), StatusCode::NOT_FOUND);
    drop(server);
    t.finish().await;
}

#[store_test]
async fn the_page_script_and_the_chart_library_are_served_as_javascript(t: TestStore) {
    let server = Server::start(&t).await;
    let (_, browser) = server.browser("aki@k.example", Role::Viewer).await;
    let (_, html) = page(&server, &browser, "/").await;
    let scripts: Vec<&str> =
        html.split("<script defer src=\"").skip(1).map(|rest| rest.split('"').next().unwrap()).collect();
    assert!(scripts.contains(&"/assets/kizuna.js"), "{scripts:?}");
    assert!(scripts.iter().any(|s| s.starts_with("/assets/chart-")), "{scripts:?}");
    for script in scripts {
        let response = server.anonymous.get(server.url(script)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{script} on {}", t.label);
        let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(content_type.starts_with("text/javascript"), "{script}: {content_type}");
        assert!(!response.bytes().await.unwrap().is_empty());
    }
    let missing = server.anonymous.get(server.url("/assets/nothing.js")).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    drop(server);
    t.finish().await;
}

#[store_test]
async fn the_account_page_shows_the_profile_billing_and_term_nps_answers_and_tickets_in_the_readers_language(
    t: TestStore,
) {
    let server = Server::start(&t).await;
    let browser = server.sign_in("admin@k.example").await;
    upload_ok(
        &server,
        "accounts",
        "account_id,name,industry,employees,tier,touch_model,custom.plan\nA1,青葉商事,卸売,1200,enterprise,high,pro\n"
            .into(),
    )
    .await;
    upload_ok(
        &server,
        "subscriptions",
        "subscription_id,account_id,product,start_date,end_date,billing_interval,quantity,unit_price,currency,commitment_months\n\
         S1,A1,core,2024-01-01,,month,10,1000,JPY,12\n"
            .into(),
    )
    .await;
    upload_ok(
        &server,
        "nps",
        "account_id,contact_email,score,responded_at,comment\nA1,hanako@aoba.example,9,2025-04-15,締めが半日で終わる\n"
            .into(),
    )
    .await;
    upload_ok(
        &server,
        "tickets",
        "ticket_id,account_id,created_at,solved_at,priority,status,subject\nTK-1,A1,2025-05-08,,urgent,open,打刻が同期されない\n"
            .into(),
    )
    .await;
    let id = account_id(&server, "A1").await;
    let (status, ja) = page(&server, &browser, &format!("/accounts/{id}?lang=ja")).await;
    assert_eq!(status, StatusCode::OK, "{ja}");
    let profile = section(&ja, "account-profile");
    for shown in ["卸売", "1,200", "エンタープライズ", "ハイタッチ", "plan", "pro"] {
        assert!(profile.contains(shown), "{shown} in the profile on {}: {profile}", t.label);
    }
    assert!(ja.contains("月次") && ja.contains("12 か月"), "billing and committed term");
    let nps = section(&ja, "nps-table");
    assert!(nps.contains("2025/04/15") && nps.contains("締めが半日で終わる") && nps.contains(">9<"), "{nps}");
    let tickets = section(&ja, "tickets-table");
    assert!(
        tickets.contains("打刻が同期されない") && tickets.contains("緊急") && tickets.contains("未対応"),
        "{tickets}"
    );
    let (_, en) = page(&server, &browser, &format!("/accounts/{id}?lang=en")).await;
    assert!(section(&en, "account-profile").contains("Enterprise") && en.contains("High touch"));
    assert!(en.contains("Monthly") && en.contains("12 months"), "billing and committed term in English");
    assert!(section(&en, "tickets-table").contains("Urgent") && section(&en, "tickets-table").contains("Open"));
    drop(server);
    t.finish().await;
}

#[store_test]
async fn kizunas_own_timeline_entries_read_in_the_readers_language_with_their_author(t: TestStore) {
    let server = Server::start(&t).await;
    let ((_, aki), _, [alpha, ..]) = three_accounts(&server).await;
    let (status, _) = server
        .post(&format!("/api/v1/accounts/{alpha}/pulse"), json!({"score": 2, "reasons": ["champion_left"]}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, updated) =
        server.send(Method::PATCH, &format!("/api/v1/accounts/{alpha}"), Some(json!({"stage": "renewal"}))).await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    let (_, ja) = page(&server, &aki, &format!("/accounts/{alpha}?lang=ja")).await;
    let entries = unescaped(section(&ja, "timeline-entries")).to_string();
    assert!(entries.contains("CSM の所感: 2 / 5") && entries.contains("推進者の離脱"), "{} {entries}", t.label);
    assert!(entries.contains("ステージ: ") && entries.contains(" → 更新"), "{entries}");
    assert!(!entries.contains("Stage") && !entries.contains("pulse"), "no English on the Japanese page: {entries}");
    assert!(entries.contains("timeline-author\">admin@k.example"), "the author is named: {entries}");
    let (_, en) = page(&server, &aki, &format!("/accounts/{alpha}?lang=en")).await;
    let entries = unescaped(section(&en, "timeline-entries")).to_string();
    assert!(entries.contains("CSM pulse: 2 / 5") && entries.contains("Champion left"), "{entries}");
    assert!(entries.contains("Stage: ") && entries.contains(" → Renewal"), "{entries}");
    drop(server);
    t.finish().await;
}

#[store_test]
async fn grade_drops_kept_for_the_home_page_follow_each_rescored_account(t: TestStore) {
    let server = Server::start(&t).await;
    upload_ok(&server, "accounts", "account_id,name,stage\nA1,Alpha,adoption\nA2,Beta,adoption\n".into()).await;
    score_by_pulse(&server).await;
    let (alpha, beta) = (account_id(&server, "A1").await, account_id(&server, "A2").await);
    let dropped = || async {
        let (status, drops) = server.get("/api/v1/health/drops").await;
        assert_eq!(status, StatusCode::OK, "{drops}");
        drops.as_array().unwrap().iter().map(|d| d["account_id"].as_i64().unwrap()).collect::<Vec<_>>()
    };
    assert_eq!(dropped().await, Vec::<i64>::new(), "{}", t.label);

    // Both were healthy three days ago; only Alpha is rescored at risk.
    for id in [alpha, beta] {
        snapshot(&server, id, days_ago(&server, 3), "healthy").await;
    }
    pulse(&server, alpha, 1).await;
    assert_eq!(dropped().await, vec![alpha], "{}", t.label);
    pulse(&server, beta, 1).await;
    assert_eq!(dropped().await.len(), 2, "{}", t.label);

    // Alpha recovers: it leaves the drops; Beta stays.
    pulse(&server, alpha, 5).await;
    assert_eq!(dropped().await, vec![beta], "{}", t.label);

    // Gamma's grade to compare with is its last before the window (healthy 20 days ago).
    upload_ok(&server, "accounts", "account_id,name,stage\nA3,Gamma,adoption\n".into()).await;
    let gamma = account_id(&server, "A3").await;
    snapshot(&server, gamma, days_ago(&server, 20), "healthy").await;
    pulse(&server, gamma, 1).await;
    let mut both = vec![beta, gamma];
    both.sort();
    let mut now = dropped().await;
    now.sort();
    assert_eq!(now, both, "healthy before the window, at risk now: {}", t.label);
    pulse(&server, gamma, 5).await;
    assert_eq!(dropped().await, vec![beta], "{}", t.label);
    drop(server);
    t.finish().await;
}

#[store_test]
async fn a_browser_gets_an_error_page_in_its_language_with_its_navigation_while_the_api_keeps_problem_json(
    t: TestStore,
) {
    let server = Server::start(&t).await;
    let (_, viewer) = server.browser("viewer@example.com", Role::Viewer).await;
    let navigate = |path: &str, lang: &str| {
        server
            .anonymous
            .get(server.url(path))
            .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
            .header("cookie", format!("{}; kizuna_lang={lang}", viewer.cookie))
            .send()
    };
    for (path, status, ja, en) in [
        ("/accounts/999999", StatusCode::NOT_FOUND, "見つかりません", "Not found"),
        ("/no-such-page", StatusCode::NOT_FOUND, "見つかりません", "Not found"),
        ("/settings/users", StatusCode::FORBIDDEN, "権限", "not allowed"),
    ] {
        for (lang, words) in [("ja", ja), ("en", en)] {
            let response = navigate(path, lang).await.unwrap();
            assert_eq!(response.status(), status, "{path} on {}", t.label);
            let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
            assert!(content_type.starts_with("text/html"), "{path}: {content_type}");
            let html = unescaped(&response.text().await.unwrap());
            assert!(html.contains("id=\"error-title\"") && html.contains(words), "{path} {lang}: {html}");
            assert!(html.contains(&format!("<html lang=\"{lang}\"")) && html.contains("href=\"/\""), "{html}");
            assert!(html.contains("id=\"nav-tasks\"") && html.contains("id=\"switch-lang\""), "signed in: {html}");
        }
    }
    let missing = unescaped(&navigate("/accounts/999999", "en").await.unwrap().text().await.unwrap());
    assert!(missing.contains("There is no account 999999."), "the detail is a sentence: {missing}");
    let signed_out = server
        .anonymous
        .get(server.url("/no-such-page"))
        .header("accept", "text/html")
        .header("cookie", "kizuna_session=not-a-session")
        .send()
        .await
        .unwrap();
    assert_eq!(signed_out.status(), StatusCode::NOT_FOUND);
    let html = signed_out.text().await.unwrap();
    assert!(
        html.contains("id=\"error-title\"") && !html.contains("id=\"nav-tasks\""),
        "no session, no navigation: {html}"
    );
    let api =
        server.client.get(server.url("/api/v1/accounts/999999")).header("accept", "text/html").send().await.unwrap();
    assert_eq!(api.status(), StatusCode::NOT_FOUND);
    assert_eq!(api.headers()["content-type"], "application/problem+json", "the API always answers JSON");
    t.finish().await;
}
