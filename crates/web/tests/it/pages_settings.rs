//! The settings pages through real HTTP, on SQLite and (with TEST_DATABASE_URL) PostgreSQL:
//! every form stores its change (checked through the API), bad input answers 422 naming the
//! field in Japanese and English and stores nothing, managers are refused, and the tokens and
//! write keys created here work.

use crate::common::{page, submit, text_of, unescaped, Server};
use domain::access::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};
use store::testing::TestStore;
use test_macros::store_test;

fn items(list: &Value) -> Vec<Value> {
    list["items"].as_array().or(list.as_array()).cloned().unwrap_or_default()
}

#[store_test]
async fn every_settings_page_renders_in_japanese_and_english_for_an_admin(t: TestStore) {
    let server = Server::start(&t).await;
    let browser = server.sign_in("admin@k.example").await;
    let (status, _, location) = {
        let response =
            server.anonymous.get(server.url("/settings")).header("cookie", &browser.cookie).send().await.unwrap();
        (response.status(), (), response.headers().get("location").map(|l| l.to_str().unwrap().to_owned()))
    };
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/settings/users")), "{}", t.label);
    let pages = [
        ("/settings/users", "ユーザーと権限", "Users and roles", "users-table"),
        ("/settings/teams", "チーム", "Teams", "create-team-form"),
        ("/settings/tokens", "API トークン", "API tokens", "create-token-form"),
        ("/settings/write-keys", "書き込みキー", "Write keys", "snippet-curl"),
        ("/settings/features", "機能カタログ", "Feature catalog", "catalog-toml"),
        ("/settings/workspace", "ワークスペース設定", "Workspace settings", "workspace-form"),
        ("/settings/spend", "営業・マーケティング費用", "Sales & marketing spend", "spend-form"),
    ];
    for (path, ja, en, id) in pages {
        for (lang, title) in [("ja", ja), ("en", en)] {
            let (status, html) = page(&server, &browser, &format!("{path}?lang={lang}")).await;
            assert_eq!(status, StatusCode::OK, "{path} {lang} on {}: {html}", t.label);
            assert!(html.contains(&format!("<html lang=\"{lang}\">")), "{path} {lang}");
            assert!(unescaped(&html).contains(&format!("<h1>{title}</h1>")), "{path} {lang}: {html}");
            assert!(html.contains(&format!("id=\"{id}\"")), "{path} has #{id}");
            assert!(html.contains("name=\"csrf_token\""), "{path} forms carry the CSRF token");
        }
    }
    let (_, users) = page(&server, &browser, "/settings/users?lang=en").await;
    assert!(users.contains("admin@k.example") && users.contains("Administrator"), "{users}");
    drop(server);
    t.finish().await;
}

#[store_test]
async fn a_manager_gets_403_on_every_settings_page_and_form_and_nothing_changes(t: TestStore) {
    let server = Server::start(&t).await;
    let (_, manager) = server.browser("manager@k.example", Role::Manager).await;
    let (status, html) = page(&server, &manager, "/accounts").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("href=\"/settings\""), "the navigation hides settings from managers");
    for path in [
        "/settings",
        "/settings/users",
        "/settings/teams",
        "/settings/tokens",
        "/settings/write-keys",
        "/settings/features",
        "/settings/workspace",
        "/settings/spend",
    ] {
        assert_eq!(page(&server, &manager, path).await.0, StatusCode::FORBIDDEN, "GET {path} on {}", t.label);
    }
    let posts: [(&str, &[(&str, &str)]); 11] = [
        ("/settings/users", &[("email", "x@k.example"), ("name", "X"), ("role", "admin")]),
        ("/settings/users/1", &[("role", "viewer")]),
        ("/settings/users/1/password", &[]),
        ("/settings/teams", &[("name", "Enterprise")]),
        ("/settings/teams/1", &[("name", "Renamed")]),
        ("/settings/tokens", &[("name", "mine"), ("scope", "read")]),
        ("/settings/write-keys", &[("name", "web")]),
        ("/settings/features", &[("toml", "")]),
        (
            "/settings/workspace",
            &[("currency", "USD"), ("time_zone", "UTC"), ("fiscal_year_start_month", "1"), ("gross_margin", "0.5")],
        ),
        ("/settings/spend", &[("month", "2025-04"), ("amount", "100")]),
        ("/settings/spend/remove", &[("month", "2025-04")]),
    ];
    for (path, fields) in posts {
        let (status, _, _) = submit(&server, &manager, path, "en", fields).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "POST {path} on {}", t.label);
    }
    let (_, teams) = server.get("/api/v1/teams").await;
    assert_eq!(teams["total"], 0);
    let (_, settings) = server.get("/api/v1/settings").await;
    assert_eq!(settings["currency"], "JPY");
    let (_, spend) = server.get("/api/v1/metrics/spend").await;
    assert_eq!(spend, json!([]));
    drop(server);
    t.finish().await;
}

#[store_test]
async fn an_added_user_signs_in_with_the_password_shown_once_and_role_and_team_changes_are_stored(t: TestStore) {
    let server = Server::start(&t).await;
    let admin = server.sign_in("admin@k.example").await;
    let (status, _, location) = submit(&server, &admin, "/settings/teams", "en", &[("name", "Enterprise")]).await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/settings/teams?done=team_created")));
    let (_, teams) = server.get("/api/v1/teams").await;
    let team = items(&teams)[0]["id"].as_i64().unwrap();
    let (status, _, _) =
        submit(&server, &admin, &format!("/settings/teams/{team}"), "en", &[("name", "Enterprise CS")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, renamed) = server.get(&format!("/api/v1/teams/{team}")).await;
    assert_eq!(renamed["name"], "Enterprise CS", "{}", t.label);

    let fields = [("email", "aki@k.example"), ("name", "Aki"), ("role", "manager"), ("team_id", &team.to_string())];
    let (status, html, _) = submit(&server, &admin, "/settings/users", "en", &fields).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let password = text_of(&html, "new-user-password");
    assert_eq!(password.len(), 16, "{password}");
    server.sign_in_with("aki@k.example", &password).await;
    let (_, users) = server.get("/api/v1/users").await;
    let aki = items(&users).into_iter().find(|u| u["email"] == "aki@k.example").unwrap();
    assert_eq!((aki["role"].as_str(), aki["team_id"].as_i64()), (Some("manager"), Some(team)));
    let (again, _) = page(&server, &admin, "/settings/users").await;
    assert_eq!(again, StatusCode::OK);

    let id = aki["id"].as_i64().unwrap();
    let (status, _, location) =
        submit(&server, &admin, &format!("/settings/users/{id}"), "en", &[("role", "csm"), ("team_id", "")]).await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/settings/users?done=user_updated")));
    let (_, changed) = server.get(&format!("/api/v1/users/{id}")).await;
    assert_eq!((changed["role"].as_str(), changed["team_id"].as_i64()), (Some("csm"), None), "{changed}");
    assert_eq!(changed["name"], "Aki", "the rest of the user stays");
    let (_, html) = page(&server, &admin, "/settings/users?done=user_updated&lang=ja").await;
    assert!(html.contains("ユーザーを更新しました。"), "{html}");

    // Forgotten: an admin issues a new password; the old one and Aki's sessions stop working.
    let aki_browser = server.sign_in_with("aki@k.example", &password).await;
    let (status, html, _) = submit(&server, &admin, &format!("/settings/users/{id}/password"), "ja", &[]).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("新しいパスワードを発行しました"), "{html}");
    let issued = text_of(&html, "new-user-password");
    assert_ne!(issued, password);
    let (status, _) = page(&server, &aki_browser, "/").await;
    assert_ne!(status, StatusCode::OK, "the old session is signed out: {}", t.label);
    server.sign_in_with("aki@k.example", &issued).await;
    let (_, audit) = server.get("/api/v1/audit?entity=staff_user").await;
    assert!(audit.to_string().contains("reset_password"), "{audit}");
    assert!(!audit.to_string().contains(&issued), "the audit never holds the password");
    let missing = submit(&server, &admin, "/settings/users/999999/password", "en", &[]).await;
    assert_eq!(missing.0, StatusCode::NOT_FOUND);
    drop(server);
    t.finish().await;
}

#[store_test]
async fn bad_users_and_teams_are_refused_with_422_naming_the_field_in_both_languages_and_nothing_is_stored(
    t: TestStore,
) {
    let server = Server::start(&t).await;
    let admin = server.sign_in("admin@k.example").await;
    let bad = [("email", "not-an-email"), ("name", "Aki"), ("role", "viewer"), ("team_id", "")];
    let (status, ja, _) = submit(&server, &admin, "/settings/users", "ja", &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{}", t.label);
    assert!(ja.contains("メールアドレス: メールアドレスの形式ではありません"), "{ja}");
    assert!(ja.contains("value=\"not-an-email\""), "the form keeps what was typed");
    let (status, en, _) = submit(&server, &admin, "/settings/users", "en", &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(en.contains("Email: is not an email address"), "{en}");
    let taken = [("email", "admin@k.example"), ("name", "Again"), ("role", "viewer")];
    let (status, en, _) = submit(&server, &admin, "/settings/users", "en", &taken).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(en.contains("Email: is already used"), "{en}");
    let unknown_team = [("email", "b@k.example"), ("name", "B"), ("role", "viewer"), ("team_id", "999")];
    let (status, ja, _) = submit(&server, &admin, "/settings/users", "ja", &unknown_team).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(ja.contains("チーム: 参照先が存在しません"), "{ja}");
    let (_, users) = server.get("/api/v1/users").await;
    assert_eq!(users["total"], 1, "only the admin: {users}");

    let (_, list) = server.get("/api/v1/users").await;
    let admin_id = items(&list)[0]["id"].as_i64().unwrap();
    let path = format!("/settings/users/{admin_id}");
    let (status, ja, _) = submit(&server, &admin, &path, "ja", &[("role", "boss")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(ja.contains("権限: 次のいずれかにしてください"), "{ja}");
    let (status, en, _) = submit(&server, &admin, &path, "en", &[("role", "boss")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(en.contains("Role: must be one of"), "{en}");
    let (_, me) = server.get(&format!("/api/v1/users/{admin_id}")).await;
    assert_eq!(me["role"], "admin");

    let (status, ja, _) = submit(&server, &admin, "/settings/teams", "ja", &[("name", "  ")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(ja.contains("チーム名: 必須です"), "{ja}");
    let (status, en, _) = submit(&server, &admin, "/settings/teams", "en", &[("name", "")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(en.contains("Team name: is required"), "{en}");
    let (_, teams) = server.get("/api/v1/teams").await;
    assert_eq!(teams["total"], 0);
    drop(server);
    t.finish().await;
}

#[store_test]
async fn a_token_made_on_the_page_works_until_revoked_and_bad_input_stores_nothing(t: TestStore) {
    let server = Server::start(&t).await;
    let admin = server.sign_in("admin@k.example").await;
    let (status, html, _) =
        submit(&server, &admin, "/settings/tokens", "en", &[("name", "reports"), ("scope", "read")]).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let secret = text_of(&html, "new-token-secret");
    assert!(secret.starts_with("kzt_"), "{secret}");
    let me = server.anonymous.get(server.url("/api/v1/me")).bearer_auth(&secret).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK, "{}", t.label);
    let (_, listed) = page(&server, &admin, "/settings/tokens?lang=en").await;
    assert!(listed.contains("reports") && listed.contains("Read"), "{listed}");
    assert!(!listed.contains(&secret), "the secret is shown only once");

    let (_, tokens) = server.get("/api/v1/tokens").await;
    let id = tokens.as_array().unwrap().iter().find(|t| t["name"] == "reports").unwrap()["id"].as_i64().unwrap();
    let (status, _, location) = submit(&server, &admin, &format!("/settings/tokens/{id}/revoke"), "en", &[]).await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/settings/tokens?done=token_revoked")));
    let me = server.anonymous.get(server.url("/api/v1/me")).bearer_auth(&secret).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);

    let (status, ja, _) = submit(&server, &admin, "/settings/tokens", "ja", &[("name", ""), ("scope", "root")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(ja.contains("名前: 必須です") && ja.contains("スコープ: 次のいずれかにしてください"), "{ja}");
    let (status, en, _) = submit(&server, &admin, "/settings/tokens", "en", &[("name", "x"), ("scope", "root")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(en.contains("Scope: must be one of: read, write, admin"), "{en}");
    let (_, after) = server.get("/api/v1/tokens").await;
    assert_eq!(after.as_array().unwrap().len(), tokens.as_array().unwrap().len(), "no token was added");

    let without_csrf = server
        .anonymous
        .post(server.url("/settings/tokens"))
        .header("cookie", &admin.cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("name=x&scope=read")
        .send()
        .await
        .unwrap();
    assert_eq!(without_csrf.status(), StatusCode::FORBIDDEN);
    drop(server);
    t.finish().await;
}

#[store_test]
async fn a_write_key_made_on_the_page_is_accepted_by_v1_track_and_its_snippets_point_at_this_server(t: TestStore) {
    let server = Server::start(&t).await;
    let admin = server.sign_in("admin@k.example").await;
    let (status, html, _) = submit(&server, &admin, "/settings/write-keys", "en", &[("name", "web app")]).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let key = text_of(&html, "new-write-key-secret");
    assert!(key.starts_with("kzw_"), "{key}");
    let html = unescaped(&html);
    let base = &server.base;
    assert!(html.contains(&format!("new Analytics({{ writeKey: '{key}', host: '{base}' }})")), "{html}");
    assert!(html.contains(&format!("new Analytics('{key}', {{ dataPlaneUrl: '{base}' }})")), "{html}");
    assert!(html.contains(&format!("analytics.host = '{base}'")), "{html}");
    let host = base.trim_start_matches("http://");
    assert!(html.contains(&format!("apiHost: '{host}/v1', protocol: 'http'")), "{html}");
    assert!(html.contains(&format!("curl -u '{key}:'")) && html.contains(&format!("{base}/v1/track")), "{html}");
    assert!(html.contains("data-copy=\"snippet-curl\""), "copy buttons name their snippet");

    let event = json!({"userId": "u1", "event": "Report Exported", "messageId": "m1"});
    let (status, body) = server.track(&key, "/v1/track", event.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body} on {}", t.label);

    let (_, keys) = server.get("/api/v1/write-keys").await;
    let id = keys[0]["id"].as_i64().unwrap();
    let (status, _, _) = submit(&server, &admin, &format!("/settings/write-keys/{id}/revoke"), "en", &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _) = server.track(&key, "/v1/track", event).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a revoked key is refused");

    let (status, ja, _) = submit(&server, &admin, "/settings/write-keys", "ja", &[("name", " ")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(ja.contains("名前: 必須です"), "{ja}");
    let (status, en, _) = submit(&server, &admin, "/settings/write-keys", "en", &[("name", "")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(en.contains("Name: is required"), "{en}");
    let (_, after) = server.get("/api/v1/write-keys").await;
    assert_eq!(after.as_array().unwrap().len(), 1, "no key was added");
    drop(server);
    t.finish().await;
}

#[store_test]
async fn the_write_keys_page_sets_which_source_wins_over_tracking_per_field_in_the_readers_language(t: TestStore) {
    let server = Server::start(&t).await;
    let admin = server.sign_in("admin@k.example").await;
    let (_, ja) = page(&server, &admin, "/settings/write-keys?lang=ja").await;
    assert!(ja.contains("トラッキングで更新する項目") && ja.contains("取り込みデータを優先"), "{ja}");
    let chosen = [("name", "tracking"), ("employees", "imported"), ("industry", "tracking"), ("plan", "imported")];
    let (status, _, location) = submit(&server, &admin, "/settings/write-keys/field-sources", "en", &chosen).await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/settings/write-keys?done=field_sources_saved"))
    );
    let (_, settings) = server.get("/api/v1/settings").await;
    assert_eq!(
        settings["tracking_field_sources"],
        json!({"name": "tracking", "employees": "imported", "industry": "tracking", "plan": "imported"}),
        "{}",
        t.label
    );
    let (_, en) = page(&server, &admin, "/settings/write-keys?lang=en&done=field_sources_saved").await;
    assert!(en.contains("Which source wins over tracking was saved."), "{en}");
    let bad = [("name", "crm"), ("employees", "imported"), ("industry", "tracking"), ("plan", "imported")];
    let (status, en, _) = submit(&server, &admin, "/settings/write-keys/field-sources", "en", &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(en.contains("Fields tracking may change: must be one of: imported, tracking"), "{en}");
    let (_, unchanged) = server.get("/api/v1/settings").await;
    assert_eq!(unchanged["tracking_field_sources"]["name"], "tracking", "a refused form changes nothing");
    drop(server);
    t.finish().await;
}

const CATALOG: &str = r#"[[feature]]
key = "payslip"
name = "給与明細"
event = "Payslip Published"
cadence = "monthly"
importance = "core"

[[feature]]
key = "year_end"
name = "年末調整"
event = "Year End Adjustment Submitted"
cadence = "annual"
season = "11-01..01-31"
importance = "core"
"#;

#[store_test]
async fn the_catalog_editor_applies_toml_and_refuses_a_bad_feature_by_line_and_field_storing_nothing(t: TestStore) {
    let server = Server::start(&t).await;
    let admin = server.sign_in("admin@k.example").await;
    let (status, _, location) = submit(&server, &admin, "/settings/features", "en", &[("toml", CATALOG)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{}", t.label);
    assert_eq!(location.as_deref(), Some("/settings/features?done=features_applied&created=2&updated=0&removed=0"));
    let (_, features) = server.get("/api/v1/features").await;
    assert_eq!(items(&features).len(), 2, "{features}");
    let (_, html) = page(&server, &admin, "/settings/features?lang=en&done=features_applied&created=2").await;
    assert!(html.contains("data-feature-key=\"year_end\"") && html.contains("11-01..01-31"), "{html}");
    assert!(html.contains("2 added"), "{html}");
    assert!(unescaped(&html).contains("key = \"payslip\""), "the editor holds the export: {html}");

    let broken = CATALOG.replace("cadence = \"monthly\"", "cadence = \"hourly\"").replace("年末調整", "年末調整（新）");
    let (status, en, _) = submit(&server, &admin, "/settings/features", "en", &[("toml", &broken)]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(en.contains("[[feature]] at line 1, cadence: must be one of: daily, weekly"), "{en}");
    assert!(unescaped(&en).contains("cadence = \"hourly\""), "the editor keeps the sent text");
    let (status, ja, _) = submit(&server, &admin, "/settings/features", "ja", &[("toml", &broken)]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(ja.contains("1 行目の [[feature]]、cadence: 次のいずれかにしてください"), "{ja}");
    let (status, en, _) = submit(&server, &admin, "/settings/features", "en", &[("toml", "[[feature]\nkey=")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(en.contains("[[feature]] at line 1"), "{en}");
    let (_, after) = server.get("/api/v1/features").await;
    let names: Vec<Value> = items(&after).iter().map(|f| f["name"].clone()).collect();
    assert!(names.contains(&json!("年末調整")), "the valid feature of a refused file is not stored either: {after}");
    drop(server);
    t.finish().await;
}

#[store_test]
async fn workspace_settings_are_saved_and_bad_values_are_refused_naming_each_field(t: TestStore) {
    let server = Server::start(&t).await;
    let admin = server.sign_in("admin@k.example").await;
    let bad =
        [("currency", "USD"), ("time_zone", "Mars/Base"), ("fiscal_year_start_month", "13"), ("gross_margin", "1.5")];
    let (status, en, _) = submit(&server, &admin, "/settings/workspace", "en", &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{}", t.label);
    assert!(en.contains("Fiscal year starts in: must be between 1 and 12"), "{en}");
    assert!(en.contains("Gross margin: must be between"), "{en}");
    assert!(en.contains("value=\"Mars/Base\""), "the form keeps what was typed");
    let (status, ja, _) = submit(&server, &admin, "/settings/workspace", "ja", &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let weights = [
        ("currency", "JPY"),
        ("time_zone", "Asia/Tokyo"),
        ("fiscal_year_start_month", "4"),
        ("gross_margin", "1"),
        ("weight_blocker", "3"),
        ("weight_at_risk", "0"),
    ];
    let (status, _, _) = submit(&server, &admin, "/settings/workspace", "ja", &weights).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{}", t.label);
    let (_, settings) = server.get("/api/v1/settings").await;
    let saved = &settings["request_impact_weights"];
    assert_eq!(
        (saved["blocker"].as_str(), saved["at_risk"].as_str(), saved["important"].as_str()),
        (Some("3"), Some("0"), Some("1")),
        "{settings}"
    );
    let too_heavy = [weights[0], weights[1], weights[2], weights[3], ("weight_blocker", "11")];
    let (status, en, _) = submit(&server, &admin, "/settings/workspace", "en", &too_heavy).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let en = unescaped(&en);
    assert!(
        en.contains("<p>Product request impact weights (0–10): ")
            && en.contains("blocker: expected a number from 0 to 10"),
        "{en}"
    );
    assert!(ja.contains("会計年度の開始月: 1 から 12 の範囲で指定してください") && ja.contains("粗利率:"), "{ja}");
    let zone_only =
        [("currency", "USD"), ("time_zone", "Mars/Base"), ("fiscal_year_start_month", "1"), ("gross_margin", "0.8")];
    let (status, ja, _) = submit(&server, &admin, "/settings/workspace", "ja", &zone_only).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(ja.contains("タイムゾーン: タイムゾーン名ではありません"), "{ja}");
    let (_, unchanged) = server.get("/api/v1/settings").await;
    assert_eq!((unchanged["currency"].as_str(), unchanged["time_zone"].as_str()), (Some("JPY"), Some("Asia/Tokyo")));

    let good = [
        ("currency", "usd"),
        ("time_zone", "America/New_York"),
        ("fiscal_year_start_month", "1"),
        ("gross_margin", "0.8"),
    ];
    let (status, _, location) = submit(&server, &admin, "/settings/workspace", "en", &good).await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/settings/workspace?done=settings_saved")));
    let (_, saved) = server.get("/api/v1/settings").await;
    assert_eq!(saved["currency"], "USD");
    assert_eq!(saved["time_zone"], "America/New_York");
    assert_eq!(saved["fiscal_year_start_month"], 1);
    assert_eq!(saved["gross_margin"], "0.8");
    assert_eq!(saved["stages"], unchanged["stages"], "stages are kept");
    let (_, html) = page(&server, &admin, "/settings/workspace?lang=en").await;
    assert!(html.contains("value=\"America/New_York\"") && html.contains("value=\"0.8\""), "{html}");
    drop(server);
    t.finish().await;
}

#[store_test]
async fn spend_is_set_and_removed_per_month_and_bad_months_or_amounts_store_nothing(t: TestStore) {
    let server = Server::start(&t).await;
    let admin = server.sign_in("admin@k.example").await;
    let (status, _, location) =
        submit(&server, &admin, "/settings/spend", "en", &[("month", "2025-04"), ("amount", "1,200,000")]).await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/settings/spend?done=spend_saved")));
    submit(&server, &admin, "/settings/spend", "en", &[("month", "2025-05"), ("amount", "800000")]).await;
    let (_, spend) = server.get("/api/v1/metrics/spend").await;
    assert_eq!(spend.as_array().map(Vec::len), Some(2), "{spend} on {}", t.label);
    assert_eq!(spend[0]["month"], "2025-04");
    let (_, html) = page(&server, &admin, "/settings/spend?lang=ja").await;
    assert!(html.contains("id=\"spend-2025-04\"") && html.contains("¥1,200,000"), "{html}");

    let bad = [("month", "2025-13"), ("amount", "-5")];
    let (status, en, _) = submit(&server, &admin, "/settings/spend", "en", &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(en.contains("Amount: must be 0 or more") && en.contains("Month (YYYY-MM):"), "{en}");
    let (status, ja, _) = submit(&server, &admin, "/settings/spend", "ja", &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(ja.contains("金額: 0 以上にしてください") && ja.contains("月（YYYY-MM）:"), "{ja}");
    let (status, _, _) = submit(&server, &admin, "/settings/spend/remove", "en", &[("month", "April")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, unchanged) = server.get("/api/v1/metrics/spend").await;
    assert_eq!(unchanged, spend);

    let (status, _, location) = submit(&server, &admin, "/settings/spend/remove", "en", &[("month", "2025-04")]).await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/settings/spend?done=spend_removed")));
    let (_, after) = server.get("/api/v1/metrics/spend").await;
    assert_eq!(after, json!([{"month": "2025-05", "amount": spend[1]["amount"]}]));
    drop(server);
    t.finish().await;
}

#[store_test]
async fn the_write_keys_page_shows_last_use_daily_counts_and_edits_allowed_origins(t: TestStore) {
    let server = Server::start(&t).await;
    let (_, browser) = server.browser("admin@k.example", Role::Admin).await;
    let key = server.write_key().await;
    assert_eq!(server.track(&key, "/v1/track", json!({"userId": "u1", "event": "Opened"})).await.0, StatusCode::OK);
    let (_, keys) = server.get("/api/v1/write-keys").await;
    let id = keys[0]["id"].as_i64().unwrap();
    let path = format!("/settings/write-keys/{id}/origins");
    let (status, html, _) = submit(&server, &browser, &path, "en", &[("allowed_origins", "ftp://nope")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(unescaped(&html).contains("Allowed origins"), "the error names the field: {html}");
    let origins = "https://app.example.com\nhttp://localhost:3000";
    let (status, _, location) = submit(&server, &browser, &path, "en", &[("allowed_origins", origins)]).await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/settings/write-keys?done=write_key_updated"))
    );
    let (status, html, _) = submit(
        &server,
        &browser,
        "/settings/write-keys",
        "ja",
        &[("name", "web"), ("allowed_origins", "https://shop.example")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let (_, keys) = server.get("/api/v1/write-keys").await;
    assert_eq!(keys[0]["allowed_origins"], json!(["https://shop.example"]), "{keys}");
    assert_eq!(keys[1]["allowed_origins"], json!(["https://app.example.com", "http://localhost:3000"]));
    let today = chrono::Utc::now().with_timezone(&server.app.zone()).date_naive().to_string();
    for (lang, words) in [
        ("ja", ["最終使用", "日別メッセージ数", "受付 1", "許可するオリジン"]),
        ("en", ["Last used", "Messages per day", "accepted 1", "Allowed origins"]),
    ] {
        let (status, html) = page(&server, &browser, &format!("/settings/write-keys?lang={lang}")).await;
        assert_eq!(status, StatusCode::OK);
        let text = unescaped(&html);
        for word in words {
            assert!(text.contains(word), "{lang} {word} on {}: {html}", t.label);
        }
        assert!(text.contains(&today) && text.contains("https://app.example.com\nhttp://localhost:3000"), "{html}");
    }
    drop(server);
    t.finish().await;
}

#[store_test]
async fn the_catalog_form_suggests_received_events_saves_a_feature_and_counts_the_accounts_using_it(t: TestStore) {
    let server = Server::start(&t).await;
    let browser = server.sign_in("admin@k.example").await;
    let key = server.write_key().await;
    server.post("/api/v1/accounts", json!({"external_id": "ACC-1", "name": "Acme"})).await;
    let at = (chrono::Utc::now() - chrono::Duration::days(2)).to_rfc3339();
    let batch = json!({"batch": [
        {"type": "group", "userId": "u1", "groupId": "ACC-1", "timestamp": at},
        {"type": "track", "messageId": "m1", "userId": "u1", "event": "Payslip Published", "timestamp": at},
        {"type": "track", "messageId": "m2", "userId": "u1", "event": "Payslip Published", "timestamp": at},
    ]});
    let (status, body) = server.track(&key, "/v1/batch", batch).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, html) = page(&server, &browser, "/settings/features?lang=en").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let received = &html[html.find("id=\"received-events\"").expect("the events received are listed")..];
    let row = &received[received.find("<code>Payslip Published</code>").unwrap()..];
    assert!(
        row.starts_with("<code>Payslip Published</code></td><td class=\"num\">2</td><td class=\"num\">1</td>"),
        "{row}"
    );
    assert!(row.contains("/settings/features?event=Payslip+Published#feature-form"), "{row}");
    let (_, html) = page(&server, &browser, "/settings/features?event=Payslip+Published").await;
    assert!(
        html.contains("id=\"feature-event\" name=\"event\" required maxlength=\"200\" value=\"Payslip Published\""),
        "{html}"
    );

    let feature = [
        ("key", "payslip"),
        ("name", "給与明細の発行"),
        ("name_en", "Payslips"),
        ("event", "Payslip Published"),
        ("match", "exact"),
        ("cadence", "annual"),
        ("season", ""),
        ("importance", "core"),
    ];
    let (status, html, _) = submit(&server, &browser, "/settings/features/one", "en", &feature).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "an annual feature needs its season: {html}");
    assert!(html.contains("Season"), "{html}");
    let mut monthly = feature;
    monthly[5] = ("cadence", "monthly");
    let (status, _, location) = submit(&server, &browser, "/settings/features/one", "en", &monthly).await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/settings/features?done=feature_saved")));
    let (_, saved) = server.get("/api/v1/features/payslip").await;
    assert_eq!((&saved["cadence"], &saved["importance"]), (&json!("monthly"), &json!("core")), "{saved}");
    let (_, html) = page(&server, &browser, "/settings/features?lang=en").await;
    let row = &html[html.find("data-feature-key=\"payslip\"").unwrap()..];
    assert!(row[..row.find("</tr>").unwrap()].contains("<td class=\"num\">1</td>"), "one account used it: {row}");
    let received = &html[html.find("id=\"received-events\"").unwrap()..];
    assert!(received.contains("<td>Payslips</td>"), "the event is now counted by the feature, named: {received}");

    let (_, html) = page(&server, &browser, "/settings/features?edit=payslip").await;
    assert!(html.contains("value=\"payslip\" readonly"), "{html}");
    let mut weekly = monthly;
    weekly[5] = ("cadence", "weekly");
    let mut fields = weekly.to_vec();
    fields.push(("editing", "on"));
    let (status, _, _) = submit(&server, &browser, "/settings/features/one", "en", &fields).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, saved) = server.get("/api/v1/features/payslip").await;
    assert_eq!(saved["cadence"], "weekly");
    t.finish().await;
}

#[store_test]
async fn the_workspace_page_sets_the_request_webhook_keeping_its_secret_and_refusing_internal_hosts(t: TestStore) {
    let server = Server::start(&t).await;
    let browser = server.sign_in("admin@k.example").await;
    let path = "/settings/request-webhook";
    let hook = [("webhook_url", "https://tracker.example/hooks/kizuna"), ("webhook_secret", "a secret of sixteen+")];
    let (status, _, location) = submit(&server, &browser, path, "en", &hook).await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/settings/workspace?done=request_webhook_saved"))
    );
    let (_, saved) = server.get("/api/v1/requests/webhook").await;
    assert_eq!(saved, json!({"url": "https://tracker.example/hooks/kizuna", "secret": "********"}));
    let (_, html) = page(&server, &browser, "/settings/workspace?lang=en").await;
    assert!(!html.contains("a secret of sixteen+") && html.contains("Leave empty to keep it"), "{html}");
    let moved = [("webhook_url", "https://tracker.example/hooks/v2"), ("webhook_secret", "")];
    let (status, _, _) = submit(&server, &browser, path, "en", &moved).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "an edit without the secret keeps it");
    let inside = [("webhook_url", "http://127.0.0.1:9/hook"), ("webhook_secret", "")];
    let (status, html, _) = submit(&server, &browser, path, "ja", &inside).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains("Webhook の URL"), "{html}");
    let (_, saved) = server.get("/api/v1/requests/webhook").await;
    assert_eq!(saved["url"], "https://tracker.example/hooks/v2");
    let (status, _, _) = submit(&server, &browser, path, "en", &[("remove", "on")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, saved) = server.get("/api/v1/requests/webhook").await;
    assert_eq!(saved, json!({"url": null, "secret": null}));
    t.finish().await;
}

#[store_test]
async fn custom_fields_get_names_in_both_languages_that_the_account_page_shows(t: TestStore) {
    let server = Server::start(&t).await;
    let admin = server.sign_in("admin@k.example").await;
    let (_, account) = server
        .post(
            "/api/v1/accounts",
            json!({"external_id": "ACC-1", "name": "Acme", "custom": {"contract_owner_dept": "人事部", "name_kana": "アクメ"}}),
        )
        .await;
    let (_, html) = page(&server, &admin, "/settings/workspace?lang=en").await;
    assert!(
        html.contains("name=\"field.0.key\" value=\"contract_owner_dept\""),
        "every key the accounts carry: {html}"
    );
    assert!(html.contains("name=\"field.1.key\" value=\"name_kana\""), "{html}");

    let too_long = "長".repeat(101);
    let bad = [("field.0.key", "contract_owner_dept"), ("field.0.ja", too_long.as_str())];
    let (status, en, _) = submit(&server, &admin, "/settings/custom-fields", "en", &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{}", t.label);
    assert!(en.contains("Custom field contract_owner_dept (Japanese): must be at most 100 characters"), "{en}");
    assert!(en.contains(&format!("value=\"{too_long}\"")), "the form keeps what was typed");
    let (_, ja, _) = submit(&server, &admin, "/settings/custom-fields", "ja", &bad).await;
    assert!(unescaped(&ja).contains("カスタム項目 contract_owner_dept（日本語）: "), "{ja}");

    let good = [
        ("field.0.key", "contract_owner_dept"),
        ("field.0.ja", "契約担当部署"),
        ("field.0.en", "Contract owner"),
        ("field.1.key", "name_kana"),
        ("field.1.ja", "フリガナ"),
        ("field.1.en", ""),
    ];
    let (status, _, location) = submit(&server, &admin, "/settings/custom-fields", "en", &good).await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/settings/workspace?done=custom_fields_saved"))
    );
    let (_, settings) = server.get("/api/v1/settings").await;
    assert_eq!(
        settings["custom_field_labels"],
        json!({"contract_owner_dept": {"ja": "契約担当部署", "en": "Contract owner"}, "name_kana": {"ja": "フリガナ"}}),
        "{}",
        t.label
    );
    assert_eq!(settings["currency"], "JPY", "the rest of the settings stay");
    let path = format!("/accounts/{}", account["id"]);
    let (_, en) = page(&server, &admin, &format!("{path}?lang=en")).await;
    assert!(en.contains("Contract owner") && en.contains("フリガナ") && !en.contains("contract_owner_dept"), "{en}");
    let (_, ja) = page(&server, &admin, &format!("{path}?lang=ja")).await;
    assert!(ja.contains("契約担当部署") && !ja.contains("name_kana"), "{ja}");

    let body = |labels: Value| {
        json!({"currency": "JPY", "time_zone": "Asia/Tokyo", "fiscal_year_start_month": 4, "gross_margin": "1",
               "stages": settings["stages"], "custom_field_labels": labels})
    };
    let long = body(json!({"dept": {"en": "x".repeat(101)}}));
    let (status, problem) = server.send(reqwest::Method::PUT, "/api/v1/settings", Some(long)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(problem.to_string().contains("custom_field_labels.dept.en"), "{problem}");
    let nul = body(json!({"dept": {"ja": "a\u{0}b"}}));
    let (status, problem) = server.send(reqwest::Method::PUT, "/api/v1/settings", Some(nul)).await;
    assert!(status.is_client_error(), "{status} {problem}");
    let (_, unchanged) = server.get("/api/v1/settings").await;
    assert_eq!(unchanged["custom_field_labels"], settings["custom_field_labels"], "a refused change writes nothing");
    drop(server);
    t.finish().await;
}
