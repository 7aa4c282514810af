//! The KPI tree through the real server, on SQLite and PostgreSQL: a template installs a tree,
//! every node's last complete month is computed from the subscriptions, a sum's children add up
//! to its change and a ratio's parts to its own, targets and entered numbers are kept per month
//! by who may set them, the tree is edited as TOML with errors at their line, and a node lists the
//! accounts behind it.

use crate::common::{page, submit, unescaped, Server};
use chrono::{Datelike, Months, NaiveDate};
use domain::access::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};
use store::testing::TestStore;
use test_macros::store_test;

/// Three monthly customers: a steady one, one new last month, one that left last month.
async fn customers(server: &Server) -> (NaiveDate, String) {
    let today = server.app.today();
    let this_month = today.with_day(1).unwrap();
    let last_month = this_month.checked_sub_months(Months::new(1)).unwrap();
    let long_ago = this_month.checked_sub_months(Months::new(5)).unwrap();
    for (external, name, start, end, quantity) in [
        ("K1", "ずっと商事", long_ago, None, 10),
        ("K2", "はじめて工業", last_month.with_day(4).unwrap(), None, 5),
        ("K3", "さよなら物産", long_ago, Some(last_month.with_day(10).unwrap()), 3),
    ] {
        let tier = if external == "K3" { "gold" } else { "smb" };
        let (_, account) =
            server.post("/api/v1/accounts", json!({"external_id": external, "name": name, "tier": tier})).await;
        let (status, period) = server
            .post(
                "/api/v1/subscriptions",
                json!({"subscription_id": format!("S-{external}"), "account_id": account["id"], "product": "core",
                       "start_date": start.to_string(), "end_date": end.map(|d: NaiveDate| d.to_string()),
                       "billing_interval": "month", "quantity": quantity, "unit_price": "1000", "currency": "JPY"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{period}");
    }
    (last_month, format!("{:04}-{:02}", last_month.year(), last_month.month()))
}

fn node<'v>(view: &'v Value, key: &str) -> &'v Value {
    view["nodes"].as_array().unwrap().iter().find(|n| n["node"]["key"] == key).unwrap_or_else(|| panic!("{key}"))
}

fn latest(node: &Value) -> f64 {
    node["actual"].as_array().unwrap().last().unwrap().as_f64().unwrap()
}

fn previous(node: &Value) -> f64 {
    let values = node["actual"].as_array().unwrap();
    values[values.len() - 2].as_f64().unwrap()
}

#[store_test]
async fn a_template_installs_a_tree_whose_children_explain_their_parents_last_change(t: TestStore) {
    let server = Server::start(&t).await;
    let (_, month) = customers(&server).await;
    let (_, manager) = server.browser("lead@k.example", Role::Manager).await;
    let (status, _) = server.get("/api/v1/kpi").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no tree before one is installed");
    let (status, html) = page(&server, &manager, "/kpi").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"install-best_practice\""), "{html}");
    let (status, _) = page(&server, &manager, "/kpi/report").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "no report before a tree: the KPI page offers the templates");

    let (status, _, location) = submit(&server, &manager, "/kpi/install", "ja", &[("phase", "best_practice")]).await;
    let done = "/kpi?done=installed_first_scorecard";
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some(done)), "not asked for, yet the first one");
    let (_, html) = page(&server, &manager, done).await;
    assert!(html.contains("保存済みのヘルススコアカードがなかったため"), "{html}");
    let (status, view) = server.get("/api/v1/kpi").await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["months"].as_array().unwrap().last().unwrap(), &json!(month), "the latest complete month");

    // Last month: K2 new (+5,000), K3 churned (−3,000).
    let net = node(&view, "net_new_mrr");
    assert_eq!((latest(node(&view, "new_mrr")), latest(node(&view, "churned_mrr"))), (5000.0, -3000.0));
    assert_eq!(latest(net), 2000.0);
    let parts: f64 = net["children"].as_array().unwrap().iter().map(|c| c["contribution"].as_f64().unwrap()).sum();
    assert!((parts - (latest(net) - previous(net))).abs() < 1e-6, "a sum's parts add up to its change: {net}");
    let arpa = node(&view, "arpa");
    let parts: f64 = arpa["children"].as_array().unwrap().iter().map(|c| c["contribution"].as_f64().unwrap()).sum();
    assert!((parts - (latest(arpa) - previous(arpa))).abs() < 1e-6, "a ratio's parts add up to its change: {arpa}");
    assert_eq!(node(&view, "nrr")["depth"], 0);
    assert_eq!(node(&view, "grr")["depth"], 1);

    // A saved segment narrows the whole tree: only the gold account, which left.
    let (status, segment) = server.post("/api/v1/segments", json!({"name": "Gold", "rule": "tier = \"gold\""})).await;
    assert_eq!(status, StatusCode::CREATED, "{segment}");
    let (status, gold) = server.get(&format!("/api/v1/kpi?segment={}", segment["id"])).await;
    assert_eq!(status, StatusCode::OK, "{gold}");
    assert_eq!((latest(node(&gold, "new_mrr")), latest(node(&gold, "churned_mrr"))), (0.0, -3000.0));
    let (status, html) = page(&server, &manager, &format!("/kpi?segment={}", segment["id"])).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!("<option value=\"{}\" selected>Gold</option>", segment["id"])), "{html}");

    // The tree names who moved each top goal; a team's page shows the goals and its own KPIs.
    let (_, html) = page(&server, &manager, "/kpi").await;
    let movers = &html[html.find("class=\"kpi-movers\"").expect("movers on a top goal")..];
    assert!(movers.contains("さよなら物産"), "{html}");
    let (status, html) = page(&server, &manager, "/kpi?view=CS").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"kpi-link-nrr\"") && html.contains("id=\"kpi-link-grr\""), "{html}");
    assert!(!html.contains("id=\"kpi-link-new_mrr\""), "another team's KPI is not on the CS page: {html}");

    // Targets: managers set them; a CSM may not.
    let (status, _, _) = submit(
        &server,
        &manager,
        "/kpi/net_new_mrr/values",
        "en",
        &[("kind", "target"), ("month", &month), ("value", "1,500")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, view) = server.get("/api/v1/kpi").await;
    let net = node(&view, "net_new_mrr");
    assert_eq!(
        (net["target"].as_array().unwrap().last().unwrap(), &net["status"]),
        (&json!(1500.0), &json!("on_target"))
    );
    let (_, csm) = server.browser("csm@k.example", Role::Csm).await;
    let (status, _, _) = submit(
        &server,
        &csm,
        "/kpi/net_new_mrr/values",
        "en",
        &[("kind", "target"), ("month", &month), ("value", "1")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A computed number cannot be typed over.
    let (status, html, _) = submit(
        &server,
        &manager,
        "/kpi/net_new_mrr/values",
        "en",
        &[("kind", "actual"), ("month", &month), ("value", "9")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");

    // The accounts behind a node's month.
    let (status, html) = page(&server, &manager, "/kpi/churned_mrr").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("さよなら物産") && !html.contains("はじめて工業"), "{html}");
    let (_, html) = page(&server, &manager, &format!("/kpi/new_mrr?month={month}")).await;
    assert!(html.contains("はじめて工業"), "{html}");
}

#[store_test]
async fn entered_numbers_and_the_tree_as_toml_are_checked_and_kept(t: TestStore) {
    let server = Server::start(&t).await;
    let (_, month) = customers(&server).await;
    let (_, manager) = server.browser("lead@k.example", Role::Manager).await;
    let (status, _) = server.post("/api/v1/kpi/install", json!({"phase": "launch"})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, problem) = server.post("/api/v1/kpi/install", json!({"phase": "someday"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");

    // A CSM enters a number Kizuna does not compute.
    let (_, csm) = server.browser("csm@k.example", Role::Csm).await;
    let (status, _, _) = submit(
        &server,
        &csm,
        "/kpi/churn_interviews/values",
        "ja",
        &[("kind", "actual"), ("month", &month), ("value", "4")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _, _) = submit(
        &server,
        &csm,
        "/kpi/active_share/values",
        "ja",
        &[("kind", "actual"), ("month", &month), ("value", "82%")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, view) = server.get("/api/v1/kpi").await;
    assert_eq!(latest(node(&view, "churn_interviews")), 4.0);
    assert!((latest(node(&view, "active_share")) - 0.82).abs() < 1e-9);
    let (status, _, _) = submit(
        &server,
        &csm,
        "/kpi/churn_interviews/values",
        "ja",
        &[("kind", "actual"), ("month", "2026-13"), ("value", "4")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // The tree as TOML: a loop is refused at its line, nothing saved; a fix saves.
    let (status, html) = page(&server, &manager, "/kpi/edit").await;
    assert_eq!(status, StatusCode::OK);
    let start = html.find("id=\"kpi-tree-text\"").unwrap();
    let text = unescaped(
        &html[html[start..].find('>').unwrap() + start + 1..html[start..].find("</textarea>").unwrap() + start],
    );
    let looped = text.replacen("key = \"logo_churn\"\n", "key = \"logo_churn\"\nparent = \"nps\"\n", 1);
    let (status, html, _) = submit(&server, &manager, "/kpi/edit", "en", &[("tree", &looped)]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unescaped(&html).contains("the parents form a loop"), "{html}");
    let (_, tree) = server.get("/api/v1/kpi/tree").await;
    assert!(tree["node"][0]["parent"].is_null(), "a refused tree saves nothing: {tree}");
    let renamed = text.replacen("name_en = \"Logo churn rate\"", "name_en = \"Customer churn\"", 1);
    let (status, _, location) = submit(&server, &manager, "/kpi/edit", "en", &[("tree", &renamed)]).await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/kpi?done=saved")));
    let (_, tree) = server.get("/api/v1/kpi/tree").await;
    assert_eq!(tree["node"][0]["name_en"], "Customer churn");
    let (status, _, _) = submit(&server, &csm, "/kpi/edit", "en", &[("tree", &renamed)]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only managers edit the tree");

    // The CS launch template reads onboarding from the plans: none completed last month.
    let (status, _) = server.post("/api/v1/kpi/install", json!({"phase": "cs_launch"})).await;
    assert_eq!(status, StatusCode::OK);
    let (_, view) = server.get("/api/v1/kpi").await;
    assert_eq!(latest(node(&view, "onboardings_completed")), 0.0);
    assert!(node(&view, "onboarding_days")["actual"].as_array().unwrap().last().unwrap().is_null());
    assert!(node(&view, "onboarding_on_time")["actual"].as_array().unwrap().last().unwrap().is_null(), "none due");
}

#[store_test]
async fn a_template_brings_its_segments_and_paused_playbooks_and_a_bundle_moves_to_another_workspace(t: TestStore) {
    let server = Server::start(&t).await;
    let (status, installed) = server.post("/api/v1/kpi/install", json!({"phase": "best_practice"})).await;
    assert_eq!(status, StatusCode::OK, "{installed}");
    assert_eq!(installed["segments"].as_array().map(Vec::len), Some(2), "{installed}");
    assert_eq!(installed["playbooks"].as_array().map(Vec::len), Some(1), "{installed}");
    let (_, playbooks) = server.get("/api/v1/playbooks").await;
    assert_eq!(playbooks[0]["active"], false, "installed paused: {playbooks}");
    // Installing again adds nothing twice.
    let (_, again) = server.post("/api/v1/kpi/install", json!({"phase": "best_practice"})).await;
    assert_eq!((&again["segments"], &again["playbooks"]), (&json!([]), &json!([])), "{again}");

    let (status, bundle) = server.get("/api/v1/kpi/bundle").await;
    assert_eq!(status, StatusCode::OK, "{bundle}");
    let (_, manager) = server.browser("lead@k.example", Role::Manager).await;
    let (status, file) = page(&server, &manager, "/kpi/bundle.toml").await;
    assert_eq!(status, StatusCode::OK);
    assert!(file.contains("[[segment]]") && file.contains("[[playbook]]") && file.contains("[[node]]"), "{file}");

    // Another workspace takes the file as it is.
    let other_store = store::testing::sqlite_store().await;
    let other = Server::start(&other_store).await;
    let mut broken = bundle.clone();
    broken["segment"][0]["rule"] = json!("seat_activaton >= 0.9");
    let (status, problem) = other.send(reqwest::Method::PUT, "/api/v1/kpi/bundle", Some(broken)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(problem.to_string().contains("seat_activaton"), "{problem}");
    let (status, _) = other.get("/api/v1/kpi/tree").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a refused bundle writes nothing");
    let (status, installed) = other.send(reqwest::Method::PUT, "/api/v1/kpi/bundle", Some(bundle.clone())).await;
    assert_eq!(status, StatusCode::OK, "{installed}");
    let (_, moved) = other.get("/api/v1/kpi/bundle").await;
    assert_eq!(moved, bundle, "the same tree, segments, playbooks and health configuration");
    drop(other);
    other_store.finish().await;
}

#[store_test]
async fn a_templates_scorecard_is_installed_unless_the_workspace_saved_its_own_and_asked_to_keep_it(t: TestStore) {
    let server = Server::start(&t).await;
    let scorecard_key = |config: &Value| config["scorecard"][0]["key"].as_str().unwrap_or_default().to_owned();
    // Never saved: the template's scorecard comes with it.
    let (_, installed) = server.post("/api/v1/kpi/install", json!({"phase": "cs_launch"})).await;
    assert_eq!(installed["scorecard"], "installed", "{installed}");
    let (_, config) = server.get("/api/v1/health/config").await;
    assert_eq!(scorecard_key(&config), "cs_launch");
    // Saved (the template's, or the team's own): another template keeps it unless asked.
    let (_, installed) = server.post("/api/v1/kpi/install", json!({"phase": "launch"})).await;
    assert_eq!(installed["scorecard"], "kept", "{installed}");
    let (_, config) = server.get("/api/v1/health/config").await;
    assert_eq!(scorecard_key(&config), "cs_launch", "a saved scorecard is not replaced behind anyone's back");
    let (_, manager) = server.browser("lead@k.example", Role::Manager).await;
    let (status, _, location) =
        submit(&server, &manager, "/kpi/install", "en", &[("phase", "launch"), ("replace_scorecard", "on")]).await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/kpi?done=installed_with_scorecard")));
    let (_, config) = server.get("/api/v1/health/config").await;
    assert_eq!(scorecard_key(&config), "launch");
    let (_, html) = page(&server, &manager, "/kpi?done=installed_with_scorecard").await;
    assert!(html.contains("ヘルススコアカード"), "the notice says the scorecard came too: {html}");

    // A bundle whose scorecard does not validate is refused whole, naming the field.
    let (_, mut bundle) = server.get("/api/v1/kpi/bundle").await;
    assert_eq!(scorecard_key(&bundle["health"]), "launch", "the bundle carries the health configuration");
    bundle["health"]["scorecard"][0]["measure"][0]["weight"] = json!(-5);
    bundle["node"][0]["name_en"] = json!("Renamed");
    let (status, problem) =
        server.send(reqwest::Method::PUT, "/api/v1/kpi/bundle?replace_scorecard=true", Some(bundle)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(problem.to_string().contains("health.scorecard"), "{problem}");
    let (_, tree) = server.get("/api/v1/kpi/tree").await;
    assert_ne!(tree["node"][0]["name_en"], "Renamed", "nothing written");
    let (status, problem) =
        server.send(reqwest::Method::PUT, "/api/v1/kpi/bundle?replace_scorecard=maybe", Some(json!({}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    drop(server);
    t.finish().await;
}

/// Tickets per account, seat activation, core-feature adoption and the health grade mix are read
/// from each paying account's month (K3 left last month, so K1 and K2 count), each with the
/// accounts behind it.
#[store_test]
async fn account_kpis_read_tickets_usage_and_grades_of_the_paying_accounts(t: TestStore) {
    let server = Server::start(&t).await;
    let (last_month, month) = customers(&server).await;
    let month_end = last_month.checked_add_months(Months::new(1)).unwrap().pred_opt().unwrap();
    let urgent = json!({"min_measures": 1, "scorecard": [{"key": "default", "name": "Default", "measure": [
        {"key": "urgent", "type": "open_urgent_tickets", "weight": 1, "points": {"thresholds": [[1, 0], [0, 100]]}}]}]});
    let (status, body) = server.send(reqwest::Method::PUT, "/api/v1/health/config", Some(urgent)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // K1 (10 seats) used the core feature last month with two people; K2 (5 seats) did not.
    let key = server.write_key().await;
    let core = json!({"key": "payslip", "name": "給与明細", "event": "Payslip Published", "cadence": "monthly", "importance": "core"});
    assert_eq!(server.post("/api/v1/features", core).await.0, StatusCode::CREATED);
    let at = format!("{}T03:00:00Z", last_month.with_day(15).unwrap());
    let batch: Vec<Value> = ["u1", "u2"]
        .iter()
        .flat_map(|user| {
            [
                json!({"type": "group", "userId": user, "groupId": "K1", "timestamp": at}),
                json!({"type": "track", "messageId": format!("m-{user}"), "userId": user, "event": "Payslip Published", "timestamp": at}),
            ]
        })
        .collect();
    let (status, body) = server.track(&key, "/v1/batch", json!({"batch": batch})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Three tickets last month: two from K1 (one urgent and open), one from K2.
    let opened = last_month.with_day(6).unwrap();
    let tickets = format!(
        "ticket_id,account_id,created_at,solved_at,priority,status,subject\n\
         T-1,K1,{opened},,urgent,open,Payroll export fails\nT-2,K1,{opened},{opened},low,solved,Question\n\
         T-3,K2,{opened},{opened},normal,solved,Login\n"
    );
    let (status, body) = server.upload("tickets", tickets.into_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    server.app.backfill_health_history(&[month_end]).await.unwrap();

    let nodes = [
        "tickets",
        "tickets_per_account",
        "seat_activation",
        "core_feature_adoption",
        "healthy_share",
        "at_risk_share",
    ];
    let tree: Vec<Value> = nodes
        .iter()
        .map(|key| json!({"key": key, "name_ja": key, "name_en": key, "metric": key, "direction": "higher"}))
        .collect();
    let (status, body) = server.send(reqwest::Method::PUT, "/api/v1/kpi/tree", Some(json!({"node": tree}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, view) = server.get("/api/v1/kpi").await;
    assert_eq!(status, StatusCode::OK, "{view}");
    let values: Vec<f64> = nodes.iter().map(|key| latest(node(&view, key))).collect();
    assert_eq!(
        &values[..4],
        &[3.0, 1.5, 0.1, 0.5],
        "tickets, per paying account, seats 2/10 and 0/5, one of two adopted"
    );
    assert_eq!(&values[4..], &[0.5, 0.5], "K2 without urgent tickets is healthy, K1 with one is at risk: {view}");

    // The accounts behind: who opened tickets, who is at risk.
    let (_, manager) = server.browser("lead@k.example", Role::Manager).await;
    let (status, html) = page(&server, &manager, &format!("/kpi/tickets?month={month}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("ずっと商事") && html.contains("2 件") && html.contains("はじめて工業"), "{html}");
    let (_, html) = page(&server, &manager, &format!("/kpi/at_risk_share?month={month}")).await;
    assert!(html.contains("ずっと商事") && !html.contains("はじめて工業"), "{html}");

    // The monthly report names the month, each goal's movers and what missed.
    let (status, html) = page(&server, &manager, &format!("/kpi/report?month={month}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"kpi-report-title\"") && html.contains("KPI レポート"), "{html}");
    assert!(html.contains("id=\"report-goal-tickets\"") && html.contains("id=\"kpi-report-table\""), "{html}");
    let (status, _) = page(&server, &manager, "/kpi/report?month=13-2020").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a month that does not read is refused");
    drop(server);
    t.finish().await;
}

#[store_test]
async fn a_number_measured_in_some_months_shows_its_latest_value_and_the_month_it_is_from(t: TestStore) {
    let server = Server::start(&t).await;
    let (last_month, _) = customers(&server).await;
    // NPS asked twice a year: the last answers came three months before the latest month.
    let asked = last_month.checked_sub_months(Months::new(3)).unwrap().with_day(12).unwrap();
    let answers = format!(
        "account_id,contact_email,score,responded_at\n\
         K1,a@k1.example,10,{asked}\nK1,b@k1.example,9,{asked}\nK3,c@k3.example,3,{asked}\n"
    );
    let (status, body) = server.upload("nps", answers.into_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let tree =
        json!({"node": [{"key": "nps", "name_ja": "NPS", "name_en": "NPS", "metric": "nps", "direction": "higher"}]});
    let (status, body) = server.send(reqwest::Method::PUT, "/api/v1/kpi/tree", Some(tree)).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (_, manager) = server.browser("lead@k.example", Role::Manager).await;
    let (status, html) = page(&server, &manager, "/kpi?lang=en").await;
    assert_eq!(status, StatusCode::OK);
    let as_of = asked.format("%b %Y").to_string();
    assert!(html.contains("id=\"kpi-actual-nps\">33.3</span>"), "(2 promoters − 1 detractor) of 3: {html}");
    assert!(html.contains(&format!("id=\"kpi-as-of-nps\">({as_of})")), "{html}");
    drop(server);
    t.finish().await;
}

/// A manager adapts the tree without TOML: rows in, the same validation out.
#[store_test]
async fn the_tree_builder_saves_rows_as_the_tree_and_names_a_bad_row(t: TestStore) {
    let server = Server::start(&t).await;
    let (_, manager) = server.browser("lead@k.example", Role::Manager).await;
    let (status, html) = page(&server, &manager, "/kpi/builder").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("value=\"nrr\"") && html.contains("id=\"save-kpi-tree\""),
        "a template to start from: {html}"
    );

    let rows = |relation: &'static str, second_parent: &'static str| {
        vec![
            ("action", "save"),
            ("node.0.key", "nrr"),
            ("node.0.name_ja", "NRR"),
            ("node.0.name_en", "NRR"),
            ("node.0.metric", "nrr"),
            ("node.0.direction", "higher"),
            ("node.0.children_relation", relation),
            ("node.1.key", "meetings"),
            ("node.1.name_ja", "定例会の回数"),
            ("node.1.name_en", "Customer meetings"),
            ("node.1.metric", ""),
            ("node.1.unit", "count"),
            ("node.1.direction", "higher"),
            ("node.1.owner", "CS"),
            ("node.1.parent", second_parent),
            ("node.2.key", "spare"),
            ("node.2.name_ja", "消す"),
            ("node.2.name_en", "Removed"),
            ("node.2.remove", "on"),
        ]
    };
    let (status, html, _) = submit(&server, &manager, "/kpi/builder", "en", &rows("ratio", "nrr")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unescaped(&html).contains("Node 1 · Its children are"), "a ratio needs two children: {html}");
    let (status, _) = server.get("/api/v1/kpi/tree").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing saved");

    let (status, _, location) = submit(&server, &manager, "/kpi/builder", "en", &rows("driver", "nrr")).await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/kpi?done=saved")));
    let (_, tree) = server.get("/api/v1/kpi/tree").await;
    assert_eq!(tree["node"].as_array().map(Vec::len), Some(2), "the removed row is gone: {tree}");
    assert_eq!((&tree["node"][1]["unit"], &tree["node"][1]["parent"]), (&json!("count"), &json!("nrr")), "{tree}");

    let (_, csm) = server.browser("csm@k.example", Role::Csm).await;
    let (status, _, _) = submit(&server, &csm, "/kpi/builder", "en", &rows("driver", "nrr")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only managers shape the tree");

    // A target for a whole fiscal year (April to March here), named by the year it starts in.
    let (_, view) = server.get("/api/v1/kpi").await;
    let latest_month: NaiveDate =
        format!("{}-01", view["months"].as_array().unwrap().last().unwrap().as_str().unwrap()).parse().unwrap();
    let fiscal_year = if latest_month.month() >= 4 { latest_month.year() } else { latest_month.year() - 1 };
    let (status, _, _) = submit(
        &server,
        &manager,
        "/kpi/meetings/values",
        "en",
        &[("kind", "target"), ("fiscal_year", &fiscal_year.to_string()), ("value", "12")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, view) = server.get("/api/v1/kpi").await;
    assert_eq!(node(&view, "meetings")["target"].as_array().unwrap().last(), Some(&json!(12.0)), "{view}");
    let (status, html, _) = submit(
        &server,
        &manager,
        "/kpi/meetings/values",
        "en",
        &[("kind", "target"), ("fiscal_year", "1999"), ("value", "12")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("fiscal_year"), "{html}");
    drop(server);
    t.finish().await;
}
