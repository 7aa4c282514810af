//! Onboarding plans through real HTTP, on SQLite and (with TEST_DATABASE_URL) PostgreSQL:
//! templates are validated with every field named, plans start by hand or at the first paying
//! day, a rule completes its milestone at the next health recompute, a completed plan moves the
//! account to the template's stage, and the board renders in both languages.

use crate::common::{page, submit, text_of, unescaped, Server};
use domain::access::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use store::testing::TestStore;
use test_macros::store_test;

fn template(default: bool) -> Value {
    json!({
        "name": "標準", "name_en": "Standard", "default": default, "active_from": "2020-01-01", "complete_stage": "adoption",
        "milestone": [
            {"key": "enterprise", "name_ja": "エンタープライズ化", "name_en": "Enterprise", "expected_days": 14,
             "rule": "tier = \"enterprise\""},
            {"key": "kickoff", "name_ja": "キックオフ", "name_en": "Kickoff", "expected_days": 30}
        ]
    })
}

async fn account(server: &Server, external: &str) -> i64 {
    let (status, body) = server
        .post(
            "/api/v1/accounts",
            json!({"external_id": external, "name": external, "tier": "basic", "stage": "onboarding"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_i64().unwrap()
}

async fn plan_of(server: &Server, account: i64) -> Value {
    let (status, plans) = server.get("/api/v1/onboarding/plans").await;
    assert_eq!(status, StatusCode::OK, "{plans}");
    plans.as_array().unwrap().iter().find(|p| p["account_id"] == account).cloned().unwrap_or(Value::Null)
}

fn done_keys(plan: &Value) -> Vec<&str> {
    plan["milestones"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| !m["completed_on"].is_null())
        .map(|m| m["key"].as_str().unwrap())
        .collect()
}

#[store_test]
async fn a_bad_template_is_refused_naming_every_field_and_nothing_is_stored(t: TestStore) {
    let server = Server::start(&t).await;
    let mut bad = template(true);
    bad["complete_stage"] = json!("nowhere");
    bad["milestone"][1]["key"] = json!("enterprise");
    bad["milestone"][0]["rule"] = json!("tier =");
    let (status, problem) = server.post("/api/v1/onboarding/templates", bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["complete_stage", "milestone[0].rule", "milestone[1].key"], "{problem}");
    let (_, list) = server.get("/api/v1/onboarding/templates").await;
    assert_eq!(list, json!([]));

    // The page's editor: a TOML error names its line, in the reader's language.
    let (_, manager) = server.browser("m@example.com", Role::Manager).await;
    let text = "name = \"X\"\n\n[[milestone]]\nkey = \"a\"\nname_ja = \"あ\"\nname_en = \"A\"\nexpected_days = 0\n";
    let (status, html, _) = submit(&server, &manager, "/onboarding/templates", "en", &[("definition", text)]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unescaped(&html).contains("line 7, milestone[0].expected_days: must be between 1 and 3650"), "{html}");
    let (status, html, _) =
        submit(&server, &manager, "/onboarding/templates", "ja", &[("definition", "name = ")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("1 行目"), "{html}");
    let (_, list) = server.get("/api/v1/onboarding/templates").await;
    assert_eq!(list, json!([]));
    t.finish().await;
}

#[store_test]
async fn a_rule_completes_its_milestone_at_a_recompute_and_the_last_one_moves_the_account_to_adoption(t: TestStore) {
    let server = Server::start(&t).await;
    let (status, saved) = server.post("/api/v1/onboarding/templates", template(false)).await;
    assert_eq!(status, StatusCode::CREATED, "{saved}");
    let template_id = saved["id"].as_i64().unwrap();
    let id = account(&server, "A").await;

    let (status, plan) =
        server.post(&format!("/api/v1/accounts/{id}/onboarding?template_id={template_id}"), json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{plan}");
    assert_eq!(
        (plan["status"].as_str(), plan["started_by"].as_str(), plan["done"].as_i64()),
        (Some("on_track"), Some("manual"), Some(0))
    );
    let (status, _) =
        server.post(&format!("/api/v1/accounts/{id}/onboarding?template_id={template_id}"), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "one open plan per account");

    let (status, body) =
        server.send(Method::PATCH, &format!("/api/v1/accounts/{id}"), Some(json!({"tier": "enterprise"}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = server.post("/api/v1/health/recompute", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let plan = plan_of(&server, id).await;
    assert_eq!(done_keys(&plan), ["enterprise"], "{plan}");
    assert_eq!(plan["milestones"][0]["completed_by"], "rule");

    let plan_id = plan["id"].as_i64().unwrap();
    let (status, plan) =
        server.post(&format!("/api/v1/onboarding/plans/{plan_id}/milestones/kickoff/complete"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    assert_eq!((plan["status"].as_str(), plan["done"].as_i64()), (Some("done"), Some(2)), "{plan}");
    let (_, account) = server.get(&format!("/api/v1/accounts/{id}")).await;
    assert_eq!(account["stage"], "adoption", "{account}");
    let (_, timeline) = server.get(&format!("/api/v1/timeline?account_id={id}")).await;
    assert!(timeline.to_string().contains("Onboarding complete (0 days)"), "{timeline}");

    let (status, stats) = server.get("/api/v1/onboarding/stats?by=team").await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    assert_eq!(stats, json!([{"key": "—", "count": 1, "median_days": 0.0, "p80_days": 0.0}]));
    let (status, segment) =
        server.post("/api/v1/segments", json!({"name": "Enterprise", "rule": "tier = \"enterprise\""})).await;
    assert_eq!(status, StatusCode::CREATED, "{segment}");
    let (_, stats) = server.get("/api/v1/onboarding/stats?by=segment").await;
    assert_eq!(stats[0]["key"], "Enterprise", "{stats}");
    assert_eq!(stats[0]["count"], 1, "{stats}");
    let (status, _) = server.get("/api/v1/onboarding/stats?by=weekday").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, done) = server.get("/api/v1/onboarding/plans?status=done").await;
    assert_eq!((status, done.as_array().unwrap().len()), (StatusCode::OK, 1));
    let (status, _) =
        server.post(&format!("/api/v1/onboarding/plans/{plan_id}/milestones/nothing/complete"), json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    t.finish().await;
}

#[store_test]
async fn the_default_template_starts_a_plan_at_the_first_paying_day(t: TestStore) {
    let server = Server::start(&t).await;
    let (status, saved) = server.post("/api/v1/onboarding/templates", template(true)).await;
    assert_eq!(status, StatusCode::CREATED, "{saved}");
    let paying = account(&server, "P").await;
    let free = account(&server, "F").await;
    let left = account(&server, "L").await;
    let period = json!({"subscription_id": "S", "account_id": paying, "product": "core", "start_date": "2024-03-01",
        "billing_interval": "month", "quantity": 1, "unit_price": "1000", "currency": "JPY"});
    let (status, body) = server.post("/api/v1/subscriptions", period).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let ended = json!({"subscription_id": "S-L", "account_id": left, "product": "core", "start_date": "2024-03-01",
        "end_date": "2024-06-01", "billing_interval": "month", "quantity": 1, "unit_price": "1000", "currency": "JPY"});
    let (status, body) = server.post("/api/v1/subscriptions", ended).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _) = server.post("/api/v1/health/recompute", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let plan = plan_of(&server, paying).await;
    assert_eq!(
        (plan["started_on"].as_str(), plan["started_by"].as_str()),
        (Some("2024-03-01"), Some("first_paying_day")),
        "{plan}"
    );
    assert_eq!(plan["status"], "stuck", "long past every expected day");
    assert!(plan_of(&server, free).await.is_null(), "no first paying day, no plan");
    assert!(plan_of(&server, left).await.is_null(), "a customer who already left is not onboarded");
    let overdue = server.app.overdue_milestones(server.app.today()).await.unwrap();
    let keys: Vec<(i64, &str, String)> =
        overdue.iter().map(|o| (o.account.0, o.milestone_key.as_str(), o.due_on.to_string())).collect();
    assert_eq!(
        keys,
        [(paying, "enterprise", "2024-03-15".to_owned()), (paying, "kickoff", "2024-03-31".to_owned())],
        "{overdue:?}"
    );
    let nudge = json!({"name": "Kickoff overdue", "trigger": {"type": "milestone_overdue", "milestone": "kickoff"},
        "step": [{"action": "add_timeline_entry", "title": "キックオフが遅れています"}]});
    let (status, playbook) = server.post("/api/v1/playbooks", nudge).await;
    assert_eq!(status, StatusCode::CREATED, "{playbook}");
    for _ in 0..2 {
        server.post("/api/v1/playbooks/scan", json!({})).await;
    }
    let (_, runs) = server.get(&format!("/api/v1/playbooks/{}/runs", playbook["id"])).await;
    let occurrences: Vec<&str> = runs.as_array().unwrap().iter().filter_map(|r| r["occurrence"].as_str()).collect();
    assert_eq!(
        occurrences,
        vec![format!("milestone:{}:kickoff", plan["id"])],
        "the overdue milestone starts the playbook once"
    );
    let (_, stats) = server.get("/api/v1/onboarding/stats?by=cohort").await;
    assert_eq!(stats, json!([]), "no completed plan yet");
    t.finish().await;
}

#[store_test]
async fn the_board_renders_in_both_languages_and_viewers_may_not_change_plans(t: TestStore) {
    let server = Server::start(&t).await;
    let (_, saved) = server.post("/api/v1/onboarding/templates", template(false)).await;
    let template_id = saved["id"].as_i64().unwrap();
    let id = account(&server, "Board").await;
    let (_, plan) =
        server.post(&format!("/api/v1/accounts/{id}/onboarding?template_id={template_id}"), json!({})).await;
    let plan_id = plan["id"].as_i64().unwrap();

    let (_, viewer) = server.browser("v@example.com", Role::Viewer).await;
    let (status, html) = page(&server, &viewer, "/onboarding").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("オンボーディングボード") && html.contains("id=\"column-on_track\""), "{html}");
    assert!(html.contains("標準 · ") && html.contains(">標準</a>"), "the template's name in Japanese: {html}");
    assert_eq!(text_of(&html, &format!("plan-{plan_id}-progress")), "0/2");
    assert!(!html.contains(&format!("complete-{plan_id}-kickoff")), "viewers get no buttons");
    let (status, _) = server
        .as_browser(
            &viewer,
            Method::POST,
            &format!("/api/v1/onboarding/plans/{plan_id}/milestones/kickoff/complete"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) =
        server.as_browser(&viewer, Method::POST, &format!("/api/v1/accounts/{id}/onboarding"), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) =
        submit(&server, &viewer, &format!("/onboarding/plans/{plan_id}/milestones/kickoff/complete"), "en", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) =
        server.as_browser(&viewer, Method::POST, "/api/v1/onboarding/templates", Some(template(false))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (_, manager) = server.browser("m@example.com", Role::Manager).await;
    let (status, html) = page(&server, &manager, "/onboarding?lang=en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Onboarding board") && html.contains("Next milestone: Enterprise"), "{html}");
    assert!(html.contains("Standard · ") && html.contains(">Standard</a>"), "the template's English name: {html}");
    let (status, html) = page(&server, &manager, "/onboarding?team=999").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains(&format!("id=\"plan-{plan_id}\"")), "another team's board has no such plan");
    let (status, _, location) =
        submit(&server, &manager, &format!("/onboarding/plans/{plan_id}/milestones/kickoff/complete"), "en", &[]).await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/onboarding?done=completed")));
    assert_eq!(done_keys(&plan_of(&server, id).await), ["kickoff"]);
    let (_, html) = page(&server, &manager, &format!("/onboarding?template={template_id}")).await;
    assert!(html.contains(&format!("action=\"/onboarding/templates/{template_id}\"")), "{html}");
    assert!(
        unescaped(&html).contains("rule = 'tier = \"enterprise\"'")
            || unescaped(&html).contains("tier = \\\"enterprise\\\""),
        "{html}"
    );
    t.finish().await;
}

#[store_test]
async fn the_onboarding_builder_saves_a_template_checked_like_the_toml_one(t: TestStore) {
    let server = Server::start(&t).await;
    let (_, browser) = server.browser("ops@k.example", Role::Manager).await;
    let form = |days: &'static str| {
        vec![
            ("id", ""),
            ("name", "標準オンボーディング"),
            ("name_en", "Standard onboarding"),
            ("default", "on"),
            ("active_from", "2026-01-01"),
            ("complete_stage", "adoption"),
            ("ms.0.key", "kickoff"),
            ("ms.0.name_ja", "キックオフ"),
            ("ms.0.name_en", "Kickoff"),
            ("ms.0.expected_days", days),
            ("ms.0.rule", ""),
            ("ms.1.key", "first_invoice"),
            ("ms.1.name_ja", "初回請求書"),
            ("ms.1.name_en", "First invoice"),
            ("ms.1.expected_days", "30"),
            ("ms.1.rule", "tier = \"enterprise\""),
            ("ms.2.key", ""),
            ("ms.2.name_ja", ""),
            ("ms.2.name_en", ""),
            ("ms.2.expected_days", ""),
            ("ms.2.rule", ""),
            ("action", "save"),
        ]
    };
    let (status, html, _) = submit(&server, &browser, "/onboarding/templates/builder", "en", &form("soon")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{} {html}", t.label);
    assert!(unescaped(&html).contains("Milestone 1 · Due (days after start)"), "{html}");
    let (_, html, _) = submit(&server, &browser, "/onboarding/templates/builder", "en", &form("-5")).await;
    assert!(unescaped(&html).contains("must be between 1 and 3650"), "a negative number is a whole number: {html}");
    let (_, templates) = server.get("/api/v1/onboarding/templates").await;
    assert_eq!(templates, json!([]), "a refused form saves nothing");

    let (status, _, location) = submit(&server, &browser, "/onboarding/templates/builder", "en", &form("7")).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{location:?}");
    let (_, templates) = server.get("/api/v1/onboarding/templates").await;
    let definition = &templates[0]["definition"];
    assert_eq!(definition["milestone"].as_array().map(Vec::len), Some(2), "the empty row is not a milestone");
    assert_eq!((&definition["default"], &definition["complete_stage"]), (&json!(true), &json!("adoption")));
    assert_eq!(definition["milestone"][1]["rule"], "tier = \"enterprise\"");
    let id = templates[0]["id"].as_i64().unwrap();
    let (status, html) = page(&server, &browser, &format!("/onboarding/templates/builder?id={id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("value=\"first_invoice\""), "{html}");
}

/// History tracked late (an import, a backfill) dates onboarding truly: a milestone of feature use
/// is done the day the customer first used the feature after the plan began, and the plan the day
/// its last milestone was.
#[store_test]
async fn a_milestone_of_feature_use_is_done_the_day_the_customer_used_it(t: TestStore) {
    let server = Server::start(&t).await;
    let today = server.app.today();
    let days_ago = |n: u64| today.checked_sub_days(chrono::Days::new(n)).unwrap();
    let payslip = json!({"key": "payslip", "name": "給与明細", "event": "Payslip Published", "cadence": "monthly", "importance": "core"});
    assert_eq!(server.post("/api/v1/features", payslip).await.0, StatusCode::CREATED);
    let first_payroll = json!({"name": "標準", "default": true, "active_from": "2020-01-01", "milestone": [
        {"key": "first_payroll", "name_ja": "初回の給与明細", "name_en": "First payslips", "expected_days": 35,
         "rule": "used_within(\"payslip\", 3650d)"}]});
    let (status, saved) = server.post("/api/v1/onboarding/templates", first_payroll).await;
    assert_eq!(status, StatusCode::CREATED, "{saved}");
    let id = account(&server, "P1").await;
    let (status, body) = server
        .post(
            "/api/v1/subscriptions",
            json!({"subscription_id": "S-P1", "account_id": id, "product": "core", "start_date": days_ago(20).to_string(),
                   "billing_interval": "month", "quantity": 10, "unit_price": "1000", "currency": "JPY"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let key = server.write_key().await;
    let at = format!("{}T03:00:00Z", days_ago(8));
    let batch = json!({"batch": [
        {"type": "group", "userId": "u1", "groupId": "P1", "timestamp": at},
        {"type": "track", "messageId": "p1", "userId": "u1", "event": "Payslip Published", "timestamp": at}]});
    let (status, body) = server.track(&key, "/v1/batch", batch).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = server.post("/api/v1/health/recompute", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let plan = plan_of(&server, id).await;
    assert_eq!(plan["started_on"], json!(days_ago(20).to_string()), "{plan}");
    assert_eq!(plan["milestones"][0]["completed_on"], json!(days_ago(8).to_string()), "{plan}");
    assert_eq!(plan["completed_on"], json!(days_ago(8).to_string()), "{plan}");
    let (_, timeline) = server.get(&format!("/api/v1/timeline?account_id={id}")).await;
    assert!(timeline.to_string().contains("Onboarding complete (12 days)"), "{timeline}");
    t.finish().await;
}
