//! The REST API through real HTTP on 127.0.0.1:0, on SQLite and (with TEST_DATABASE_URL) PostgreSQL.

use crate::common;
use crate::common::Server;
use reqwest::StatusCode;
use serde_json::{json, Value};
use store::testing::TestStore;
use test_macros::store_test;

fn fields(problem: &Value) -> Vec<String> {
    problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_owned()).collect()
}

/// `text` as a query-string value.
fn query_value(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[store_test]
async fn account_search_finds_the_code_the_name_with_a_space_and_the_kana_reading_in_the_api_and_the_list_page(
    t: TestStore,
) {
    let server = Server::start(&t).await;
    let (_, browser) = server.browser("lead@k.example", domain::access::Role::Manager).await;
    let (status, momiji) = server
        .post(
            "/api/v1/accounts",
            json!({"external_id": "ACC-000098", "name": "株式会社紅葉エナジー", "domain": "momiji-energy-98.example.jp",
                   "custom": {"name_kana": "モミジエナジー"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{momiji}");
    let other =
        json!({"external_id": "ACC-000099", "name": "さくらフーズ株式会社", "domain": "sakura-foods-99.example.jp"});
    assert_eq!(server.post("/api/v1/accounts", other).await.0, StatusCode::CREATED);

    for typed in [
        "ACC-000098",
        "acc-000098",
        "ＡＣＣ－０００098",
        "紅葉 エナジー",
        "紅葉　エナジー",
        "もみじ",
        "ﾓﾐｼﾞ",
        "momiji-energy",
    ] {
        let (status, found) = server.get(&format!("/api/v1/accounts?q={}", query_value(typed))).await;
        assert_eq!(status, StatusCode::OK, "{found}");
        assert_eq!(
            (found["total"].as_i64(), found["items"][0]["external_id"].as_str()),
            (Some(1), Some("ACC-000098")),
            "{typed} on {}",
            t.label
        );
        let (status, html) = common::page(&server, &browser, &format!("/accounts?q={}", query_value(typed))).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("株式会社紅葉エナジー") && !html.contains("さくらフーズ"), "{typed}: {html}");
    }
    let (_, katakana) = server.get(&format!("/api/v1/accounts?q={}", query_value("サクラ"))).await;
    assert_eq!(katakana["items"][0]["external_id"], "ACC-000099", "katakana finds hiragana: {katakana}");

    // Every write keeps the key: a new name is found, the old one no longer.
    let path = format!("/api/v1/accounts/{}", momiji["id"]);
    let (status, _) = server.send(reqwest::Method::PATCH, &path, Some(json!({"name": "株式会社ミライ電機"}))).await;
    assert_eq!(status, StatusCode::OK);
    let (_, old) = server.get(&format!("/api/v1/accounts?q={}", query_value("紅葉"))).await;
    let (_, new) = server.get(&format!("/api/v1/accounts?q={}", query_value("ミライ 電機"))).await;
    assert_eq!((old["total"].as_i64(), new["total"].as_i64()), (Some(0), Some(1)), "{new}");
    drop(server);
    t.finish().await;
}

#[store_test]
async fn account_lifecycle_create_read_patch_put_delete(t: TestStore) {
    let server = Server::start(&t).await;
    let (status, created) = server
        .post("/api/v1/accounts", json!({"external_id": "A-1", "name": "株式会社アクメ", "employees": 120, "touch_model": "high", "custom": {"dept": "人事"}}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{} {created}", t.label);
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["arr"], "0.00");
    assert_eq!(created["custom"]["dept"], "人事");

    let (status, patched) = server
        .send(reqwest::Method::PATCH, &format!("/api/v1/accounts/{id}"), Some(json!({"stage": "adoption"})))
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!((patched["stage"].as_str(), patched["name"].as_str()), (Some("adoption"), Some("株式会社アクメ")));

    let (status, replaced) = server
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/accounts/{id}"),
            Some(json!({"external_id": "A-1", "name": "Acme"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(replaced["stage"], Value::Null, "PUT replaces every field");

    let (status, _) = server.send(reqwest::Method::DELETE, &format!("/api/v1/accounts/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, problem) = server.get(&format!("/api/v1/accounts/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(problem["status"], 404);
    drop(server);
    t.finish().await;
}

#[store_test]
async fn bad_input_gets_problem_json_naming_every_field_and_never_a_500(t: TestStore) {
    let server = Server::start(&t).await;
    let response = server
        .client
        .post(server.url("/api/v1/accounts"))
        .bearer_auth(&server.admin_token)
        .json(&json!({"name": "", "employees": "many", "touch_model": "phone", "owner_id": -1, "colour": "red"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    assert_eq!(response.headers()["content-language"], "ja", "Japanese is the default language");
    let problem: Value = response.json().await.unwrap();
    assert_eq!(
        fields(&problem),
        vec!["colour", "external_id", "name", "employees", "touch_model", "owner_id"],
        "{}",
        t.label
    );

    let (status, problem) =
        server.post("/api/v1/accounts", json!({"external_id": "A", "name": "A", "owner_id": 9999})).await;
    assert_eq!((status, fields(&problem)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["owner_id".to_string()]));

    let malformed = server
        .client
        .post(server.url("/api/v1/accounts"))
        .header("content-type", "application/json")
        .body("{bad")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let no_type = server.client.post(server.url("/api/v1/accounts")).body("{}").send().await.unwrap();
    assert_eq!(no_type.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, problem) = server.get("/api/v1/accounts?limit=0&sort=size&offset=-1").await;
    assert_eq!(
        (status, fields(&problem)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["limit".to_string(), "offset".into(), "sort".into()])
    );
    let (status, _) = server.get("/api/v1/accounts/not-a-number").await;
    assert!(status.is_client_error(), "{status}");
    let (status, _) = server.get("/api/v1/nothing-here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    server.post("/api/v1/accounts", json!({"external_id": "DUP", "name": "One"})).await;
    let (status, problem) = server.post("/api/v1/accounts", json!({"external_id": "DUP", "name": "Two"})).await;
    assert_eq!((status, fields(&problem)), (StatusCode::CONFLICT, vec!["external_id".to_string()]));
    drop(server);
    t.finish().await;
}

const ACCOUNTS: &str = "account_id,name,tier,owner_email,sub_owner_email\nA1,Alpha,enterprise,aki@k.example,\nA2,Beta,smb,ren@k.example,aki@k.example\nA3,Gamma,smb,,\n";
const SUBSCRIPTIONS: &str = "subscription_id,account_id,product,start_date,billing_interval,quantity,unit_price,currency\n\
    S1,A1,core,2020-01-01,year,100,12000,JPY\nS2,A2,core,2020-01-01,month,10,500,JPY\nS3,A3,core,2020-01-01,month,1,100000,JPY\n";

#[store_test]
async fn uploaded_csv_is_all_or_nothing_and_the_list_sorts_filters_and_pages(t: TestStore) {
    let server = Server::start(&t).await;
    let (status, problem) =
        server.upload("accounts", b"account_id,name,employees\nA1,,x\nA2,Ok,3\nA3,Bad,-1\n".to_vec()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let lines: Vec<(i64, &str)> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["line"].as_i64().unwrap(), e["field"].as_str().unwrap()))
        .collect();
    assert_eq!(lines, vec![(2, "name"), (2, "employees"), (4, "employees")]);
    assert_eq!(server.get("/api/v1/accounts").await.1["total"], 0, "a rejected file writes nothing: {}", t.label);

    let (status, outcome) = server.upload("accounts", ACCOUNTS.as_bytes().to_vec()).await;
    assert_eq!((status, outcome["created"].as_i64()), (StatusCode::OK, Some(3)), "{outcome}");
    let (status, outcome) = server.upload("subscriptions", SUBSCRIPTIONS.as_bytes().to_vec()).await;
    assert_eq!((status, outcome["created"].as_i64()), (StatusCode::OK, Some(3)), "{outcome}");

    let (_, list) = server.get("/api/v1/accounts?sort=-arr&limit=2").await;
    let names: Vec<&str> = list["items"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!((names, list["total"].as_i64()), (vec!["Gamma", "Alpha"], Some(3)));
    assert_eq!(list["items"][1]["arr"], "1200000.00");
    let (_, page_two) = server.get("/api/v1/accounts?sort=-arr&limit=2&offset=2").await;
    assert_eq!(page_two["items"][0]["name"], "Beta");

    let (_, users) = server.get("/api/v1/users").await;
    let aki = users["items"].as_array().unwrap().iter().find(|u| u["email"] == "aki@k.example").unwrap()["id"]
        .as_i64()
        .unwrap();
    let (_, owned) = server.get(&format!("/api/v1/accounts?owner={aki}&sort=name")).await;
    let names: Vec<&str> = owned["items"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["Alpha", "Beta"], "owner filter includes sub-owned accounts");
    let (_, smb) = server.get("/api/v1/accounts?tier=SMB&q=gam").await;
    assert_eq!(smb["total"], 1);

    let export = server.client.get(server.url("/api/v1/exports/subscriptions")).send().await.unwrap();
    assert_eq!(export.headers()["content-type"], "text/csv; charset=utf-8");
    let (status, again) = server.upload("subscriptions", export.bytes().await.unwrap().to_vec()).await;
    assert_eq!((status, again["unchanged"].as_i64(), again["created"].as_i64()), (StatusCode::OK, Some(3), Some(0)));
    drop(server);
    t.finish().await;
}

fn example(name: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(name)).unwrap()
}

/// Each refused row of an import problem as (line, field).
fn lines_and_fields(problem: &Value) -> Vec<(i64, &str)> {
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["line"].as_i64().unwrap(), e["field"].as_str().unwrap()))
        .collect()
}

#[store_test]
async fn example_nps_and_tickets_import_once_report_unknown_accounts_and_export_unchanged(t: TestStore) {
    let server = Server::start(&t).await;
    let (status, problem) = server.upload("tickets", example("tickets.csv")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "no accounts yet: {problem}");
    let rows = lines_and_fields(&problem);
    assert_eq!(rows, (2..=6).map(|line| (line, "account_id")).collect::<Vec<_>>());
    assert_eq!(problem["errors"][0]["message"], "line 2, column account_id: no account matches");

    assert_eq!(server.upload("accounts", example("accounts.csv")).await.0, StatusCode::OK);
    // A bad value on one line and an unknown account on another are reported together.
    let contacts = "contact_id,account_id,email,is_primary\nC1,EX-001,a@x.example,maybe\nC2,NOPE-9,b@x.example,true\n";
    let (status, problem) = server.upload("contacts", contacts.as_bytes().to_vec()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let rows = lines_and_fields(&problem);
    assert_eq!(rows, [(2, "is_primary"), (3, "account_id")], "{}: {problem}", t.label);
    for (kind, rows) in [("nps", 5), ("tickets", 5)] {
        let (status, outcome) = server.upload(kind, example(&format!("{kind}.csv"))).await;
        assert_eq!(
            (status, outcome["created"].as_i64()),
            (StatusCode::OK, Some(rows)),
            "{} {kind}: {outcome}",
            t.label
        );
        let (_, again) = server.upload(kind, example(&format!("{kind}.csv"))).await;
        assert_eq!(
            (again["created"].as_i64(), again["updated"].as_i64(), again["unchanged"].as_i64()),
            (Some(0), Some(0), Some(rows))
        );
        let export = server.client.get(server.url(&format!("/api/v1/exports/{kind}"))).send().await.unwrap();
        let (status, reimported) = server.upload(kind, export.bytes().await.unwrap().to_vec()).await;
        assert_eq!(
            (status, reimported["unchanged"].as_i64()),
            (StatusCode::OK, Some(rows)),
            "{kind} export: {reimported}"
        );
    }
    let (_, audit) = server.get("/api/v1/audit?entity=ticket").await;
    assert_eq!(audit["items"].as_array().map(Vec::len), Some(3), "each ticket import is audited: {audit}");
    assert!(server.app.store().has_nps().await.unwrap() && server.app.store().has_tickets().await.unwrap());

    let (status, problem) = server.upload("nope", b"a\n1\n".to_vec()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(problem["errors"][0]["message"].as_str().unwrap().ends_with("nps, tickets"), "{problem}");
    drop(server);
    t.finish().await;
}

#[store_test]
async fn shift_jis_upload_is_stored_without_mojibake(t: TestStore) {
    let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode("account_id,name,region\r\nSJ1,株式会社ひかり製作所,大阪\r\n");
    let server = Server::start(&t).await;
    let (status, outcome) = server.upload("accounts", bytes.to_vec()).await;
    assert_eq!((status, outcome["encoding"].as_str()), (StatusCode::OK, Some("shift_jis")));
    let (_, list) = server.get("/api/v1/accounts").await;
    assert_eq!(list["items"][0]["name"], "株式会社ひかり製作所", "{}", t.label);
    drop(server);
    t.finish().await;
}

#[store_test]
async fn subscription_changes_refresh_arr_and_overlaps_are_refused(t: TestStore) {
    let server = Server::start(&t).await;
    let (_, account) = server.post("/api/v1/accounts", json!({"external_id": "A", "name": "Acme"})).await;
    let id = account["id"].as_i64().unwrap();
    let period = json!({"subscription_id": "S", "account_id": id, "product": "core", "start_date": "2020-01-01",
        "billing_interval": "year", "quantity": 10, "unit_price": "12000", "discount_percent": "25", "currency": "JPY"});
    let (status, created) = server.post("/api/v1/subscriptions", period.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (_, account) = server.get(&format!("/api/v1/accounts/{id}")).await;
    assert_eq!((account["mrr"].as_str(), account["arr"].as_str()), (Some("7500.00"), Some("90000.00")), "{}", t.label);
    assert_eq!(account["first_paying_day"], "2020-01-01");

    let mut overlapping = period.clone();
    overlapping["start_date"] = json!("2021-06-01");
    let (status, problem) = server.post("/api/v1/subscriptions", overlapping).await;
    assert_eq!((status, fields(&problem)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["start_date".to_string()]));
    let mut foreign = period.clone();
    foreign["subscription_id"] = json!("S2");
    foreign["currency"] = json!("USD");
    let (status, problem) = server.post("/api/v1/subscriptions", foreign).await;
    assert_eq!((status, fields(&problem)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["currency".to_string()]));

    let period_id = created["id"].as_i64().unwrap();
    server.send(reqwest::Method::DELETE, &format!("/api/v1/subscriptions/{period_id}"), None).await;
    let (_, account) = server.get(&format!("/api/v1/accounts/{id}")).await;
    assert_eq!(account["arr"], "0.00");
    drop(server);
    t.finish().await;
}

#[store_test]
async fn contacts_timeline_staff_and_settings_round_trip(t: TestStore) {
    let server = Server::start(&t).await;
    let (_, team) = server.post("/api/v1/teams", json!({"name": "Enterprise CS"})).await;
    let (status, user) =
        server.post("/api/v1/users", json!({"email": "Aki@K.example", "name": "Aki", "team_id": team["id"]})).await;
    assert_eq!((status, user["email"].as_str()), (StatusCode::CREATED, Some("aki@k.example")));
    let (_, account) =
        server.post("/api/v1/accounts", json!({"external_id": "A", "name": "Acme", "owner_id": user["id"]})).await;
    let (_, in_team) = server.get(&format!("/api/v1/accounts?team={}", team["id"])).await;
    assert_eq!(in_team["total"], 1, "{}", t.label);

    let (status, contact) = server
        .post(
            "/api/v1/contacts",
            json!({"external_id": "C", "account_id": account["id"], "email": "x@acme.example", "is_primary": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{contact}");
    let (status, problem) =
        server.post("/api/v1/contacts", json!({"external_id": "C2", "account_id": 999, "is_primary": "yes"})).await;
    assert_eq!((status, fields(&problem)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["is_primary".to_string()]));

    let (status, entry) = server
        .post("/api/v1/timeline", json!({"account_id": account["id"], "kind": "call", "title": "更新の相談"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{entry}");
    let (_, timeline) = server.get(&format!("/api/v1/timeline?account_id={}&kind=call", account["id"])).await;
    assert_eq!(timeline["items"][0]["title"], "更新の相談");

    let (_, settings) = server.get("/api/v1/settings").await;
    assert_eq!((settings["currency"].as_str(), settings["fiscal_year_start_month"].as_i64()), (Some("JPY"), Some(4)));
    let mut changed = settings.clone();
    changed["time_zone"] = json!("Mars/Olympus");
    let (status, problem) = server.send(reqwest::Method::PUT, "/api/v1/settings", Some(changed)).await;
    assert_eq!((status, fields(&problem)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["time_zone".to_string()]));
    drop(server);
    t.finish().await;
}

#[tokio::test]
async fn accounts_page_lists_accounts_with_arr_in_both_languages() {
    let t = store::testing::sqlite_store().await;
    let server = Server::start(&t).await;
    server.upload("accounts", ACCOUNTS.as_bytes().to_vec()).await;
    server.upload("subscriptions", SUBSCRIPTIONS.as_bytes().to_vec()).await;
    let ja = server.client.get(server.url("/accounts")).send().await.unwrap().text().await.unwrap();
    assert!(ja.contains("顧客一覧") && ja.contains("¥1,200,000") && ja.contains("Gamma"), "{ja}");
    let en = server.client.get(server.url("/accounts?lang=en")).send().await.unwrap().text().await.unwrap();
    assert!(en.contains("Accounts") && en.contains("JPY 1,200,000"), "{en}");
    drop(server);
    t.finish().await;
}

#[tokio::test]
async fn openapi_document_matches_the_committed_file() {
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.json")).unwrap_or_default();
    assert!(
        committed == web::openapi::document(),
        "openapi.json is out of date: run `cargo run -- openapi > openapi.json`"
    );
}

const METRIC_ACCOUNTS: &str = "account_id,name,tier\nA1,Alpha,enterprise\nA2,Beta,smb\nA3,Gamma,smb\n";
const METRIC_SUBSCRIPTIONS: &str = "subscription_id,account_id,product,start_date,end_date,billing_interval,quantity,unit_price,discount_percent,currency\n\
    S1,A1,core,2025-01-01,2025-03-15,year,10,12000,0,JPY\n\
    S1,A1,core,2025-03-15,,year,20,12000,0,JPY\n\
    S2,A2,core,2025-01-01,2025-03-01,month,1,5000,0,JPY\n\
    S3,A3,core,2025-03-10,,month,2,3000,50,JPY\n";

#[store_test]
async fn metrics_follow_the_spec_trace_movements_to_periods_and_filter_by_tier(t: TestStore) {
    let server = Server::start(&t).await;
    server.upload("accounts", METRIC_ACCOUNTS.as_bytes().to_vec()).await;
    let (status, outcome) = server.upload("subscriptions", METRIC_SUBSCRIPTIONS.as_bytes().to_vec()).await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    // March 2025 by hand: start MRR = 10,000 (A1) + 5,000 (A2) = 15,000. A2 churns on 03-01
    // (−5,000), A3 is new on 03-10 (+3,000), A1 expands on 03-15 (+10,000). End = 23,000.
    let (status, report) = server.get("/api/v1/metrics/report?from=2025-03-01&to=2025-03-31&interval=month").await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let march = &report[0];
    assert_eq!(
        (march["mrr_start"].as_str(), march["mrr_end"].as_str()),
        (Some("15000.00"), Some("23000.00")),
        "{}: {march}",
        t.label
    );
    assert_eq!(march["movements"]["churn"]["amount"], "-5000.00");
    assert_eq!(march["movements"]["new"]["amount"], "3000.00");
    assert_eq!(march["movements"]["expansion"]["amount"], "10000.00");
    assert_eq!((march["customers_start"].as_i64(), march["churned_customers"].as_i64()), (Some(2), Some(1)));
    assert_eq!(march["customer_churn_rate"].as_str().map(|r| r.parse::<f64>().unwrap()), Some(0.5));
    let nrr: f64 = march["nrr"].as_str().unwrap().parse().unwrap();
    assert!((nrr - 20000.0 / 15000.0).abs() < 1e-9, "NRR = (20,000 + 0) / 15,000: {nrr}");

    let (_, beta) = server.get("/api/v1/accounts?q=Beta").await;
    let comeback = json!({"subscription_id": "S2", "account_id": beta["items"][0]["id"], "product": "core",
        "start_date": "2025-03-20", "billing_interval": "month", "quantity": 1, "unit_price": "4000", "currency": "JPY"});
    assert_eq!(server.post("/api/v1/subscriptions", comeback).await.0, StatusCode::CREATED);
    let (_, again) = server.get("/api/v1/metrics/report?from=2025-03-01&to=2025-03-31&interval=month").await;
    assert_eq!(again[0]["mrr_end"], "27000.00", "a new period shows in the next report at once");
    assert_eq!(again[0]["movements"]["reactivation"]["amount"], "4000.00");

    let (_, movements) = server.get("/api/v1/metrics/movements?from=2025-03-15&to=2025-03-15").await;
    let (_, periods) = server.get("/api/v1/subscriptions?limit=10").await;
    let s1_ids: Vec<i64> = periods["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["subscription_id"] == "S1")
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    let caused_by: Vec<i64> =
        movements[0]["caused_by"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
    assert_eq!(
        (movements[0]["kind"].as_str(), caused_by),
        (Some("expansion"), s1_ids),
        "the upgrade is traced to both S1 rows"
    );

    let (_, smb) = server.get("/api/v1/metrics/report?from=2025-03-01&to=2025-03-31&tier=smb").await;
    assert_eq!((smb[0]["mrr_start"].as_str(), smb[0]["mrr_end"].as_str()), (Some("5000.00"), Some("7000.00")));

    let (status, _) =
        server.send(reqwest::Method::PUT, "/api/v1/metrics/spend/2025-03", Some(json!({"amount": "6000"}))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, economics) = server.get("/api/v1/metrics/unit-economics?from=2025-03-01&to=2025-03-31").await;
    assert_eq!(
        (economics[0]["new_accounts"].as_i64(), economics[0]["cac"].as_str()),
        (Some(1), Some("6000.00")),
        "{economics}"
    );
    let (status, problem) =
        server.send(reqwest::Method::PUT, "/api/v1/metrics/spend/2025-13", Some(json!({"amount": "-1"}))).await;
    assert_eq!(
        (status, fields(&problem)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["amount".to_string(), "month".into()])
    );

    let (_, history) = server.get(&format!("/api/v1/accounts/{}/mrr", periods["items"][0]["account_id"])).await;
    assert!(!history["changes"].as_array().unwrap().is_empty(), "{history}");
    let (status, problem) = server.get("/api/v1/metrics/report?interval=decade&from=2025-04-01&to=2025-03-01").await;
    assert_eq!(
        (status, fields(&problem)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["interval".to_string(), "from".into()])
    );
    drop(server);
    t.finish().await;
}

#[store_test]
async fn exports_quote_formulas_and_an_import_of_the_export_reads_them_back_unchanged(t: TestStore) {
    let server = Server::start(&t).await;
    let name = "=HYPERLINK(\"http://x\",\"y\")";
    let account =
        json!({"external_id": "F1", "name": name, "region": "@home", "custom": {"delta": "-3", "calc": "+1-2"}});
    let (status, created) = server.post("/api/v1/accounts", account).await;
    assert_eq!(status, StatusCode::CREATED, "{} {created}", t.label);
    let id = created["id"].as_i64().unwrap();

    let export = server.client.get(server.url("/api/v1/exports/accounts")).send().await.unwrap();
    let text = export.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    let row = reader.records().next().unwrap().unwrap();
    let cell = |column: &str| row.get(header.iter().position(|h| h == column).unwrap()).unwrap().to_owned();
    assert_eq!(cell("name"), "'=HYPERLINK(\"http://x\",\"y\")", "{text}");
    assert_eq!(
        (cell("region"), cell("custom.calc"), cell("custom.delta")),
        ("'@home".into(), "'+1-2".into(), "-3".into())
    );

    let browser = server.sign_in("admin@k.example").await;
    let list = server.anonymous.get(server.url("/accounts.csv?lang=en")).header("cookie", &browser.cookie).send();
    let list = list.await.unwrap().text().await.unwrap();
    assert!(list.contains("\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""), "{list}");

    let (status, outcome) = server.upload("accounts", text.into_bytes()).await;
    assert_eq!((status, outcome["unchanged"].as_i64()), (StatusCode::OK, Some(1)), "{} {outcome}", t.label);
    let (_, read) = server.get(&format!("/api/v1/accounts/{id}")).await;
    assert_eq!((read["name"].as_str(), read["region"].as_str()), (Some(name), Some("@home")));
    assert_eq!((read["custom"]["calc"].as_str(), read["custom"]["delta"].as_str()), (Some("+1-2"), Some("-3")));
    drop(server);
    t.finish().await;
}

#[store_test]
async fn free_text_limits_are_the_same_through_json_and_csv(t: TestStore) {
    let server = Server::start(&t).await;
    let long_value = "値".repeat(1_001);
    let long_tier = "t".repeat(101);
    let (status, problem) = server
        .post("/api/v1/accounts", json!({"external_id": "L1", "name": "Long", "custom": {"note": long_value}}))
        .await;
    assert_eq!((status, fields(&problem)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["custom.note".to_owned()]));
    assert_eq!(problem["errors"][0]["code"], "too_long", "{problem}");
    let (status, problem) =
        server.post("/api/v1/accounts", json!({"external_id": "L1", "name": "Long", "tier": long_tier})).await;
    assert_eq!((status, fields(&problem)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["tier".to_owned()]));
    let many: serde_json::Map<String, Value> = (0..51).map(|i| (format!("k{i}"), json!("v"))).collect();
    let (status, problem) =
        server.post("/api/v1/accounts", json!({"external_id": "L1", "name": "Many", "custom": many})).await;
    assert_eq!((status, fields(&problem)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["custom".to_owned()]));
    assert_eq!(problem["errors"][0]["code"], "too_many_custom_fields", "{problem}");
    let at_limits =
        json!({"external_id": "L1", "name": "Fits", "tier": "t".repeat(100), "custom": {"note": "値".repeat(1_000)}});
    let (status, created) = server.post("/api/v1/accounts", at_limits).await;
    assert_eq!(status, StatusCode::CREATED, "{} {created}", t.label);

    let file = format!("account_id,name,tier,custom.note\nL2,Tier,{long_tier},\nL3,Note,,{long_value}\n");
    let (status, problem) = server.upload("accounts", file.into_bytes()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let found: Vec<(i64, &str, &str)> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["line"].as_i64().unwrap(), e["field"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(found, vec![(2, "tier", "too_long"), (3, "custom.note", "too_long")], "{}", t.label);
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("line 3, column custom.note: must be at most 1000 characters"));
    assert_eq!(server.get("/api/v1/accounts").await.1["total"], 1, "the file wrote nothing");
    drop(server);
    t.finish().await;
}

#[store_test]
async fn a_csv_cell_holding_nul_is_refused_by_line_and_column_and_nothing_is_written(t: TestStore) {
    let server = Server::start(&t).await;
    let (status, problem) = server.upload("accounts", b"account_id,name\nA1,Fine\nA2,Nul\0Name\n".to_vec()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{} {problem}", t.label);
    let error = &problem["errors"][0];
    assert_eq!(
        (error["line"].as_i64(), error["field"].as_str(), error["code"].as_str()),
        (Some(3), Some("name"), Some("contains_nul"))
    );
    assert_eq!(problem["errors"].as_array().unwrap().len(), 1);
    assert_eq!(server.get("/api/v1/accounts").await.1["total"], 0, "nothing was written: {}", t.label);
    drop(server);
    t.finish().await;
}

#[store_test]
async fn an_import_of_many_bad_rows_lists_the_first_thousand_and_counts_the_rest(t: TestStore) {
    let server = Server::start(&t).await;
    let mut file = String::from("account_id,name,employees\n");
    for i in 0..5_000 {
        file.push_str(&format!("B{i},Bad,many\n"));
    }
    let (status, problem) = server.upload("accounts", file.into_bytes()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let errors = problem["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1_001, "{}", t.label);
    assert_eq!((errors[0]["line"].as_i64(), errors[999]["line"].as_i64()), (Some(2), Some(1_001)));
    assert_eq!(
        (errors[1_000]["code"].as_str(), errors[1_000]["message"].as_str()),
        (Some("more_problems"), Some("… and 4,000 more problem(s)"))
    );
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.starts_with("accounts.csv: 5,000 problem(s), nothing imported."), "{detail}");
    assert!(
        detail.ends_with("line 1001, column employees: is not a whole number\n… and 4,000 more problem(s)"),
        "{detail}"
    );
    drop(server);
    t.finish().await;
}

/// An export as the server sends it: status, content type and bytes.
async fn export_bytes(server: &Server, path: &str) -> (StatusCode, String, Vec<u8>) {
    let response = server.client.get(server.url(path)).header("accept-language", "ja").send().await.unwrap();
    let status = response.status();
    let kind = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, kind, response.bytes().await.unwrap().to_vec())
}

#[store_test]
async fn exports_open_in_japanese_excel_with_a_bom_or_in_shift_jis_in_whole_yen_and_import_back_unchanged(
    t: TestStore,
) {
    let server = Server::start(&t).await;
    let accounts = "account_id,name\r\nA1,株式会社ひかり製作所\r\nA2,髙﨑商事①\r\n";
    let subscriptions = "subscription_id,account_id,product,start_date,billing_interval,quantity,unit_price,currency\n\
                         S1,A1,core,2024-04-01,month,10,1200.00,JPY\nS2,A2,core,2024-04-01,year,1,980.50,JPY\n";
    for (kind, text) in
        [("accounts", accounts), ("subscriptions", subscriptions), ("spend", "month,amount\n2025-04,1200000.00\n")]
    {
        let (status, outcome) = server.upload(kind, text.as_bytes().to_vec()).await;
        assert_eq!(status, StatusCode::OK, "{} {kind}: {outcome}", t.label);
    }

    let (status, content_type, bytes) = export_bytes(&server, "/api/v1/exports/subscriptions").await;
    assert_eq!((status, content_type.as_str()), (StatusCode::OK, "text/csv; charset=utf-8"));
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "UTF-8 with a BOM by default, for Excel");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert!(text.contains(",1200,JPY,") && text.contains(",980.5,JPY,"), "yen without .00: {text}");
    let (status, again) = server.upload("subscriptions", bytes).await;
    assert_eq!((status, again["unchanged"].as_i64()), (StatusCode::OK, Some(2)), "{} {again}", t.label);
    let (_, _, spend) = export_bytes(&server, "/api/v1/exports/spend").await;
    assert_eq!(spend, b"\xEF\xBB\xBFmonth,amount\n2025-04,1200000\n");

    let (status, content_type, bytes) = export_bytes(&server, "/api/v1/exports/accounts?encoding=shift_jis").await;
    assert_eq!((status, content_type.as_str()), (StatusCode::OK, "text/csv; charset=shift_jis"));
    let (decoded, _, malformed) = encoding_rs::SHIFT_JIS.decode(&bytes);
    assert!(!malformed && decoded.contains("株式会社ひかり製作所") && decoded.contains("髙﨑商事①"), "{decoded}");
    let (status, again) = server.upload("accounts", bytes).await;
    assert_eq!(
        (status, again["encoding"].as_str(), again["unchanged"].as_i64()),
        (StatusCode::OK, Some("shift_jis"), Some(2)),
        "{} {again}",
        t.label
    );
    let (_, _, plain) = export_bytes(&server, "/api/v1/exports/accounts?encoding=utf-8").await;
    assert!(plain.starts_with(b"account_id,"), "utf-8 asks for no BOM");

    let (status, _) = server.post("/api/v1/accounts", json!({"external_id": "A3", "name": "絵文字 😀 商店"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _, body) = export_bytes(&server, "/api/v1/exports/accounts?encoding=shift_jis").await;
    let problem: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "encoding");
    let message = problem["errors"][0]["message"].as_str().unwrap();
    assert!(message.starts_with("4 行目の「😀」(U+1F600) は Shift_JIS で表せません"), "{message}");
    let (status, problem) = server.get("/api/v1/exports/accounts?encoding=latin1").await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("encoding")));
    drop(server);
    t.finish().await;
}

#[store_test]
async fn a_bad_first_row_of_a_crlf_upload_is_reported_on_line_two(t: TestStore) {
    let server = Server::start(&t).await;
    let (status, problem) = server
        .upload("accounts", b"account_id,name,owner_email\r\nA1,Acme,not-an-email\r\nA2,Beta,\r\n".to_vec())
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        (problem["errors"][0]["line"].as_u64(), problem["errors"][0]["field"].as_str()),
        (Some(2), Some("owner_email"))
    );
    drop(server);
    t.finish().await;
}
