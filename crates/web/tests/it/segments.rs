//! Saved segments through real HTTP, on SQLite and (with TEST_DATABASE_URL) PostgreSQL: rules
//! are checked with positioned errors in both languages, membership follows the data within the
//! health worker's cycle with a history of entries and exits, previews, and the pages.

use crate::common;
use crate::common::{page, submit, text_of, unescaped, Server};
use domain::access::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;
use store::testing::TestStore;
use test_macros::store_test;

/// Grades from the CSM pulse alone, so a pulse of 1 makes an account at risk.
fn pulse_config() -> Value {
    json!({"min_measures": 1, "scorecard": [{"key": "default", "name": "Default", "measure": [
        {"key": "pulse", "type": "csm_pulse", "days": 30, "weight": 1, "points": {"piecewise": [[1, 0], [5, 100]]}}]}]})
}

async fn account(server: &Server, external: &str, name: &str, tier: &str) -> i64 {
    let (status, body) =
        server.post("/api/v1/accounts", json!({"external_id": external, "name": name, "tier": tier})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_i64().unwrap()
}

async fn member_ids(server: &Server, segment: i64) -> Vec<i64> {
    let (status, members) = server.get(&format!("/api/v1/segments/{segment}/members")).await;
    assert_eq!(status, StatusCode::OK, "{members}");
    let mut ids: Vec<i64> =
        members["items"].as_array().unwrap().iter().map(|m| m["account"]["id"].as_i64().unwrap()).collect();
    ids.sort();
    ids
}

/// Polls until the members are `expected` (the health worker gathers changes for a moment);
/// returns what they were last.
async fn wait_for_members(server: &Server, segment: i64, expected: &[i64]) -> Vec<i64> {
    for _ in 0..50 {
        let ids = member_ids(server, segment).await;
        if ids == expected {
            return ids;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    member_ids(server, segment).await
}

async fn send_lang(server: &Server, method: Method, path: &str, lang: &str, body: Value) -> (StatusCode, Value) {
    let response =
        server.client.request(method, server.url(path)).header("accept-language", lang).json(&body).send().await;
    common::read(response.unwrap()).await
}

#[store_test]
async fn a_rule_that_does_not_check_is_refused_with_every_error_positioned_in_both_languages(t: TestStore) {
    let server = Server::start(&t).await;
    let bad = json!({"name": "", "rule": "arr > \"big\" and\n  socre > 1"});
    let (status, en) = send_lang(&server, Method::POST, "/api/v1/segments", "en", bad.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{en}");
    let errors = en["errors"].as_array().unwrap();
    let fields: Vec<(&str, Option<i64>, Option<i64>)> =
        errors.iter().map(|e| (e["field"].as_str().unwrap(), e["line"].as_i64(), e["column"].as_i64())).collect();
    assert_eq!(fields, [("name", None, None), ("rule", Some(1), Some(7)), ("rule", Some(2), Some(3))], "{en}");
    assert!(
        errors[1]["message"].as_str().unwrap().starts_with("line 1, column 7: cannot compare a number with text"),
        "{en}"
    );
    assert!(errors[2]["message"].as_str().unwrap().starts_with("line 2, column 3: unknown field `socre`"), "{en}");
    assert_eq!(errors[2]["code"], "unknown_field");

    let (status, ja) = send_lang(&server, Method::POST, "/api/v1/segments", "ja", bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(ja["errors"][2]["message"].as_str().unwrap().starts_with("2 行 3 列目: 不明な項目です"), "{ja}");

    let (_, list) = server.get("/api/v1/segments").await;
    assert_eq!(list, json!([]), "nothing was saved");
    let (status, missing) =
        server.send(Method::PUT, "/api/v1/segments/999", Some(json!({"name": "x", "rule": "arr > 0"}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
    drop(server);
    t.finish().await;
}

#[store_test]
async fn membership_follows_pulses_and_account_changes_and_history_records_each_move(t: TestStore) {
    let server = Server::start(&t).await;
    server.send(Method::PUT, "/api/v1/health/config", Some(pulse_config())).await;
    let acme = account(&server, "A-1", "Acme", "gold").await;
    let beta = account(&server, "A-2", "Beta", "gold").await;
    let gamma = account(&server, "A-3", "Gamma", "silver").await;
    for id in [acme, gamma] {
        let (status, body) = server.post(&format!("/api/v1/accounts/{id}/pulse"), json!({"score": 1})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    server.post(&format!("/api/v1/accounts/{beta}/pulse"), json!({"score": 5})).await;

    let rule = "tier = \"gold\" and grade = \"at_risk\"";
    let (status, created) =
        server.post("/api/v1/segments", json!({"name": "Gold at risk", "rule": rule, "description": "要対応"})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_i64().unwrap();
    assert_eq!(member_ids(&server, id).await, [acme], "computed when saved");
    let (_, matching) = server.get("/api/v1/accounts?tier=gold&grade=at_risk").await;
    let expected: Vec<i64> = matching["items"].as_array().unwrap().iter().map(|a| a["id"].as_i64().unwrap()).collect();
    assert_eq!(member_ids(&server, id).await, expected, "members are the accounts matching the rule");

    // A pulse rescores at once; the account enters.
    server.post(&format!("/api/v1/accounts/{beta}/pulse"), json!({"score": 1})).await;
    assert_eq!(wait_for_members(&server, id, &[acme, beta]).await, [acme, beta]);
    // A changed tier reaches the health worker, which re-evaluates; the account leaves.
    let (status, patched) =
        server.send(Method::PATCH, &format!("/api/v1/accounts/{acme}"), Some(json!({"tier": "silver"}))).await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(wait_for_members(&server, id, &[beta]).await, [beta]);

    let (status, history) = server.get(&format!("/api/v1/segments/{id}/history")).await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let moves: Vec<(i64, bool)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["account_id"].as_i64().unwrap(), e["entered"].as_bool().unwrap()))
        .collect();
    assert_eq!(moves, [(acme, false), (beta, true), (acme, true)], "{history}");
    assert!(history[0]["at"].as_str().is_some() && history[0]["account_name"] == "Acme");

    let (_, read) = server.get(&format!("/api/v1/segments/{id}")).await;
    assert_eq!((read["members"].as_i64(), read["description"].as_str()), (Some(1), Some("要対応")), "{read}");

    // A new rule re-evaluates the whole segment at once.
    let (status, _) = server
        .send(
            Method::PUT,
            &format!("/api/v1/segments/{id}"),
            Some(json!({"name": "At risk", "rule": "grade = \"at_risk\""})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(member_ids(&server, id).await, [acme, beta, gamma]);
    let (status, _) = server.send(Method::DELETE, &format!("/api/v1/segments/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = server.get(&format!("/api/v1/segments/{id}/history")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    drop(server);
    t.finish().await;
}

#[store_test]
async fn the_preview_counts_matching_accounts_or_returns_positioned_errors_to_any_reader(t: TestStore) {
    let server = Server::start(&t).await;
    let acme = account(&server, "A-1", "Acme", "gold").await;
    account(&server, "A-2", "Beta", "gold").await;
    account(&server, "A-3", "Gamma", "silver").await;
    let (_, viewer) = server.browser("viewer@k.example", Role::Viewer).await;

    let (status, preview) = server
        .as_browser(
            &viewer,
            Method::POST,
            "/api/v1/segments/preview",
            Some(json!({"rule": "tier = \"gold\"", "limit": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(
        (preview["count"].as_i64(), preview["accounts"].as_array().map(Vec::len)),
        (Some(2), Some(1)),
        "{preview}"
    );
    assert_eq!(preview["accounts"][0]["id"].as_i64(), Some(acme), "largest ARR first, ties by id");
    assert_eq!(preview["errors"], json!([]));

    let rule = "tier = \"gold\" and";
    let (status, broken) =
        server.as_browser(&viewer, Method::POST, "/api/v1/segments/preview", Some(json!({"rule": rule}))).await;
    assert_eq!(status, StatusCode::OK, "{broken}");
    let error = &broken["errors"][0];
    assert_eq!((error["line"].as_i64(), error["column"].as_i64()), (Some(1), Some(18)), "{broken}");
    assert_eq!((error["offset"].as_u64(), error["length"].as_u64()), (Some(rule.len() as u64), Some(0)));
    assert!(error["message"]["ja"].as_str().unwrap().contains("ルールが終わっています"), "{broken}");
    assert!(error["message"]["en"].as_str().unwrap().contains("end of the rule"), "{broken}");
    assert_eq!(broken["count"], 0);

    let (status, _) = server
        .as_browser(&viewer, Method::POST, "/api/v1/segments/preview", Some(json!({"rule": "x", "limit": 0})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = server
        .as_browser(&viewer, Method::POST, "/api/v1/segments", Some(json!({"name": "n", "rule": "arr > 0"})))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "viewers cannot save");
    drop(server);
    t.finish().await;
}

#[store_test]
async fn the_editor_saves_previews_and_shows_errors_and_the_pages_render_in_both_languages(t: TestStore) {
    let server = Server::start(&t).await;
    let acme = account(&server, "A-1", "Acme", "gold").await;
    account(&server, "A-2", "Beta", "silver").await;
    let (_, manager) = server.browser("manager@k.example", Role::Manager).await;
    let (_, csm) = server.browser("csm@k.example", Role::Csm).await;

    let (status, html) = page(&server, &manager, "/segments/new").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("data-segment-preview=\"segment-preview\"") && html.contains("data-csrf=\""), "{html}");

    // Bad input: every problem named in the reader's language, the rule's errors marked.
    let long_english = "G".repeat(101);
    let fields = [("name", "Gold"), ("name_en", long_english.as_str()), ("rule", "tier = gold\""), ("intent", "save")];
    let (status, html, _) = submit(&server, &manager, "/segments/new", "ja", &fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = unescaped(&html);
    assert!(
        html.contains("id=\"segment-errors\"") && html.contains("ルール: 1 行 12 列目: 文字列が閉じられていません"),
        "{html}"
    );
    assert!(html.contains("英語名: "), "the English name is too long: {html}");
    assert!(html.contains("<mark>"), "the error is marked in the rule: {html}");
    let (_, list) = server.get("/api/v1/segments").await;
    assert_eq!(list, json!([]), "nothing was saved");
    let (status, html, _) =
        submit(&server, &manager, "/segments/new", "en", &[("name", ""), ("rule", "arr >"), ("intent", "save")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = unescaped(&html);
    assert!(html.contains("Name: ") && html.contains("Rule: line 1, column 6: expected a value"), "{html}");

    // The preview button works without JavaScript and saves nothing.
    let rule = "tier = \"gold\"";
    let (status, html, _) =
        submit(&server, &manager, "/segments/new", "en", &[("name", "Gold"), ("rule", rule), ("intent", "preview")])
            .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(text_of(&html, "preview-count"), "1");
    assert!(html.contains(&format!("/accounts/{acme}")), "{html}");

    let (status, _, location) = submit(
        &server,
        &manager,
        "/segments/new",
        "ja",
        &[("name", "ゴールド"), ("name_en", "Gold"), ("rule", rule), ("description", "大口"), ("intent", "save")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = location.unwrap();
    let id: i64 = location.trim_start_matches("/segments/").split('?').next().unwrap().parse().unwrap();
    let (_, read) = server.get(&format!("/api/v1/segments/{id}")).await;
    assert_eq!(
        (read["name"].as_str(), read["name_en"].as_str(), read["members"].as_i64()),
        (Some("ゴールド"), Some("Gold"), Some(1)),
        "{read}"
    );

    // Each reader sees the segment's name in their language.
    for (lang, title, entered, name, other) in
        [("ja", "セグメント", "加入", "ゴールド", "Gold"), ("en", "Segments", "Entered", "Gold", "ゴールド")]
    {
        let (status, html) = page(&server, &csm, &format!("/segments?lang={lang}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains(title) && html.contains(name) && !html.contains(other), "{html}");
        assert_eq!(text_of(&html, &format!("segment-{id}-count")), "1");
        let (status, html) = page(&server, &csm, &format!("/segments/{id}?lang={lang}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(text_of(&html, "member-count"), "1");
        assert!(html.contains("id=\"members-table\"") && html.contains("id=\"history-table\""), "{html}");
        assert!(html.contains(entered), "the entry is in the history: {html}");
        assert!(!html.contains("id=\"segment-form\""), "a CSM sees the rule, not the editor");
    }

    // A CSM can neither save nor delete.
    let (status, _, _) = submit(
        &server,
        &csm,
        &format!("/segments/{id}"),
        "en",
        &[("name", "Mine"), ("rule", "arr > 0"), ("intent", "save")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = submit(&server, &csm, &format!("/segments/{id}/delete"), "en", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, read) = server.get(&format!("/api/v1/segments/{id}")).await;
    assert_eq!(read["name"], "ゴールド");

    // A manager saves a change, then deletes.
    let (status, _, location) = submit(
        &server,
        &manager,
        &format!("/segments/{id}"),
        "en",
        &[("name", "Silver"), ("rule", "tier = \"silver\""), ("intent", "save")],
    )
    .await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some(format!("/segments/{id}?done=saved").as_str()))
    );
    assert_eq!(member_ids(&server, id).await.len(), 1);
    let (status, _, location) = submit(&server, &manager, &format!("/segments/{id}/delete"), "en", &[]).await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/segments?done=deleted")));
    let (status, _) = page(&server, &manager, &format!("/segments/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    drop(server);
    t.finish().await;
}

#[store_test]
async fn rules_over_feature_use_and_activity_read_the_usage_rollups(t: TestStore) {
    let server = Server::start(&t).await;
    let key = server.write_key().await;
    let feature = json!({"key": "payslip", "name": "給与明細", "event": "Payslip Published", "cadence": "weekly", "importance": "core"});
    let (status, body) = server.post("/api/v1/features", feature).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let active = account(&server, "ACC-1", "Active", "gold").await;
    account(&server, "ACC-2", "Quiet", "gold").await;
    let rule = "used_within(\"payslip\", 30d) and days_since_activity <= 30 and uses_in_last(\"payslip\", 30d) >= 2";
    let (status, created) = server.post("/api/v1/segments", json!({"name": "Active payroll", "rule": rule})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_i64().unwrap();
    assert_eq!(member_ids(&server, id).await, Vec::<i64>::new());

    let day = server.app.today().checked_sub_days(chrono::Days::new(3)).unwrap();
    let at = format!("{day}T03:00:00Z");
    server.track(&key, "/v1/group", json!({"userId": "u1", "groupId": "ACC-1", "timestamp": at})).await;
    for message in ["a", "b"] {
        let event = json!({"userId": "u1", "event": "Payslip Published", "messageId": message, "timestamp": at});
        let (status, body) = server.track(&key, "/v1/track", event).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // Ingestion asks the health worker to rescore the account, which re-evaluates segments.
    assert_eq!(wait_for_members(&server, id, &[active]).await, [active]);
    let (_, preview) = server.post("/api/v1/segments/preview", json!({"rule": "days_since_activity is null"})).await;
    assert_eq!(preview["count"], 1, "only the quiet account has no activity: {preview}");
    drop(server);
    t.finish().await;
}

/// Polls the preview of `rule` until its first account has `grade` (the health worker scores the
/// account a moment after its pulse); returns the preview as it was last.
async fn graded_preview(server: &Server, rule: &str, grade: &str) -> Value {
    let mut preview = Value::Null;
    for _ in 0..50 {
        preview = server.post("/api/v1/segments/preview", json!({"rule": rule})).await.1;
        if preview["accounts"][0]["grade"] == grade {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    preview
}

#[store_test]
async fn a_rule_naming_a_feature_outside_the_catalog_is_refused_at_its_position_on_save_and_preview(t: TestStore) {
    let server = Server::start(&t).await;
    let feature = json!({"key": "payslip", "name": "給与明細", "event": "Payslip Published", "cadence": "weekly", "importance": "core"});
    let (status, body) = server.post("/api/v1/features", feature).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    account(&server, "A-1", "Acme", "gold").await;
    let rule = "tier = \"gold\" and used_within(\"payslips\", 30d)";

    // The API: 422 naming the field, the reason and the position, in the reader's language.
    let bad = json!({"name": "Payroll", "rule": rule});
    let (status, en) = send_lang(&server, Method::POST, "/api/v1/segments", "en", bad.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{} {en}", t.label);
    let error = &en["errors"][0];
    assert_eq!(
        (error["field"].as_str(), error["code"].as_str(), error["line"].as_i64(), error["column"].as_i64()),
        (Some("rule"), Some("unknown_feature"), Some(1), Some(31)),
        "{en}"
    );
    assert_eq!(
        error["message"],
        "line 1, column 31: no feature \"payslips\" in the feature catalog; did you mean \"payslip\"?"
    );
    let (status, ja) = send_lang(&server, Method::POST, "/api/v1/segments", "ja", bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        ja["errors"][0]["message"].as_str().unwrap().starts_with("1 行 31 列目: 機能カタログにない機能です"),
        "{ja}"
    );
    let (_, preview) = server.post("/api/v1/segments/preview", json!({"rule": rule})).await;
    let error = &preview["errors"][0];
    assert_eq!((error["line"].as_i64(), error["column"].as_i64()), (Some(1), Some(31)), "{preview}");
    assert!(error["message"]["ja"].as_str().unwrap().contains("\"payslip\" のことですか"), "{preview}");
    assert_eq!(preview["count"], 0);

    // The editor: refused on save and on preview, the key marked in the rule.
    let (_, manager) = server.browser("manager@k.example", Role::Manager).await;
    for (intent, lang, message) in [
        ("save", "ja", "ルール: 1 行 31 列目: 機能カタログにない機能です: \"payslips\""),
        ("preview", "en", "Rule: line 1, column 31: no feature \"payslips\" in the feature catalog"),
    ] {
        let fields = [("name", "Payroll"), ("rule", rule), ("intent", intent)];
        let (status, html, _) = submit(&server, &manager, "/segments/new", lang, &fields).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{intent}");
        let html = unescaped(&html);
        assert!(html.contains(message), "{intent}: {html}");
        assert!(html.contains("<mark>\"payslips\"</mark>"), "{intent}: {html}");
    }
    let (_, list) = server.get("/api/v1/segments").await;
    assert_eq!(list, json!([]), "nothing was saved");
    drop(server);
    t.finish().await;
}

#[store_test]
async fn a_saved_segment_whose_feature_left_the_catalog_still_reads_but_is_not_saved_again(t: TestStore) {
    let server = Server::start(&t).await;
    let feature = json!({"key": "payslip", "name": "給与明細", "event": "Payslip Published", "cadence": "weekly", "importance": "core"});
    let (status, body) = server.post("/api/v1/features", feature).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let acme = account(&server, "A-1", "Acme", "gold").await;
    let input = json!({"name": "Payroll", "rule": "tier = \"gold\" or used_within(\"payslip\", 30d)"});
    let (status, created) = server.post("/api/v1/segments", input.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_i64().unwrap();
    let (status, body) = server.send(Method::DELETE, "/api/v1/features/payslip", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    // Membership is still kept (the missing feature counts as never used) and everything reads.
    let beta = account(&server, "A-2", "Beta", "gold").await;
    assert_eq!(wait_for_members(&server, id, &[acme, beta]).await, [acme, beta]);
    let (status, _) = server.get(&format!("/api/v1/segments/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    let (_, manager) = server.browser("manager@k.example", Role::Manager).await;
    let (status, html) = page(&server, &manager, &format!("/segments/{id}?lang=en")).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert_eq!(text_of(&html, "member-count"), "2");

    // Saving it again is refused, as any rule naming an unknown feature.
    let (status, refused) = server.send(Method::PUT, &format!("/api/v1/segments/{id}"), Some(input)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["errors"][0]["code"], "unknown_feature", "{refused}");
    drop(server);
    t.finish().await;
}

#[store_test]
async fn the_preview_names_grades_and_the_help_names_features_in_the_readers_language(t: TestStore) {
    let server = Server::start(&t).await;
    let (_, manager) = server.browser("manager@k.example", Role::Manager).await;
    // An empty catalog: the help names no feature and says how to get one.
    for (lang, note) in [("ja", "機能カタログに機能を登録すると"), ("en", "Add features to the feature catalog")]
    {
        let (_, html) = page(&server, &manager, &format!("/segments/new?lang={lang}")).await;
        let html = unescaped(&html);
        assert!(html.contains(note), "{html}");
        assert!(!html.contains("payslip") && !html.contains("year_end"), "{html}");
    }

    let feature = json!({"key": "payroll", "name": "給与計算", "event": "Payroll Run", "cadence": "monthly", "importance": "core"});
    let (status, body) = server.post("/api/v1/features", feature).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    for (lang, heading) in [("ja", "例"), ("en", "Examples")] {
        let (_, html) = page(&server, &manager, &format!("/segments/new?lang={lang}")).await;
        let html = unescaped(&html);
        assert!(html.contains(heading) && html.contains("not used_within(\"payroll\", 30d)"), "{html}");
        assert!(!html.contains("rule-help-no-features") && !html.contains("year_end"), "{html}");
    }

    let acme = account(&server, "A-1", "Acme", "gold").await;
    let (status, _) = server.post(&format!("/api/v1/accounts/{acme}/pulse"), json!({"score": 1})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = server.send(Method::PUT, "/api/v1/health/config", Some(pulse_config())).await;
    assert_eq!(status, StatusCode::OK);
    let preview = graded_preview(&server, "tier = \"gold\"", "at_risk").await;
    let account = &preview["accounts"][0];
    assert_eq!(account["grade"], "at_risk", "{preview}");
    assert_eq!(account["grade_name"], json!({"ja": "リスク", "en": "At risk"}), "{preview}");
    for (lang, name) in [("ja", "リスク"), ("en", "At risk")] {
        let fields = [("name", "Gold"), ("rule", "tier = \"gold\""), ("intent", "preview")];
        let (status, html, _) = submit(&server, &manager, "/segments/new", lang, &fields).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains(&format!("\">{name}</span>")) && !html.contains(">at_risk<"), "{html}");
    }
    drop(server);
    t.finish().await;
}
