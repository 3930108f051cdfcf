//! Session basics behind `/api/me` (the full Better Auth interop suite is its own issue).

use chrono::Duration;
use serde_json::Value;

use crate::support::harness::*;

#[tokio::test]
async fn cookie_and_bearer_sessions_identify_the_user_and_role() {
    let app = spawn_app().await;
    let user = app.user("Mia.Chen@Tenure.test", "Mia Chen").await;
    let admin_id = app.admin("mia.chen@tenure.test", "Manager").await;
    let token = app.session(user, Duration::days(5)).await;

    let res = app.client.get(app.url("/api/me")).header("cookie", TestApp::cookie(&token)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["data"]["userId"], user.to_string());
    assert_eq!(body["data"]["adminRole"], "Manager", "admin joined by email, case-insensitively");
    assert_eq!(body["data"]["adminId"], admin_id);
    assert_eq!(body["data"]["isAdmin"], true);
    assert_eq!(body["data"]["isFinanceManager"], true);

    let res = app.client.get(app.url("/api/me")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn roles_follow_the_spec_table() {
    let app = spawn_app().await;
    for (role, is_admin, is_finance) in [("Super Admin", true, true), ("Manager", true, true), ("Support", false, true), ("", false, false)] {
        let email = format!("{}@tenure.test", uuid::Uuid::new_v4().simple());
        let user = app.user(&email, "Someone").await;
        if !role.is_empty() {
            app.admin(&email, role).await;
        }
        let token = app.session(user, Duration::days(3)).await;
        let body: Value = app.client.get(app.url("/api/me")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        assert_eq!(body["data"]["isAdmin"], is_admin, "{role}");
        assert_eq!(body["data"]["isFinanceManager"], is_finance, "{role}");
    }
}

#[tokio::test]
async fn missing_tampered_expired_and_unknown_sessions_are_401() {
    let app = spawn_app().await;
    let user = app.user("member@tenure.test", "Member").await;
    let token = app.session(user, Duration::days(3)).await;
    let expired = app.session(user, Duration::minutes(-5)).await;

    let res = app.get("/api/me").await;
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "UNAUTHORIZED");

    let tampered = TestApp::cookie(&token).replacen("session_token=", "session_token=X", 1);
    for (header, value) in [
        ("cookie", tampered),
        ("cookie", format!("better-auth.session_token={token}")),
        ("cookie", TestApp::cookie(&expired)),
        ("cookie", TestApp::cookie("NoSuchTokenNoSuchTokenNoSuchTok")),
        ("authorization", format!("Bearer {expired}")),
    ] {
        let res = app.client.get(app.url("/api/me")).header(header, &value).send().await.unwrap();
        assert_eq!(res.status(), 401, "{header}: {value}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "INVALID_SESSION", "{header}: {value}");
    }
}

#[tokio::test]
async fn a_session_close_to_expiry_is_extended() {
    let app = spawn_app().await;
    let user = app.user("refresh@tenure.test", "Refresh").await;
    let token = app.session(user, Duration::hours(2)).await;
    let res = app.client.get(app.url("/api/me")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let remaining_hours: f64 = sqlx::query_scalar(
        "SELECT EXTRACT(EPOCH FROM expires_at - (now() AT TIME ZONE 'UTC'))::float8 / 3600 FROM session WHERE token = $1",
    )
    .bind(&token)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!((167.0..=168.1).contains(&remaining_hours), "extended to 7 days, got {remaining_hours} h");
}

async fn app_with(extra: &[(&str, &str)], prepare: &[&str]) -> TestApp {
    let url = fresh_database(APP_TEMPLATE).await;
    let db = sqlx::PgPool::connect(&url).await.unwrap();
    for sql in prepare {
        sqlx::query(sql).execute(&db).await.unwrap();
    }
    db.close().await;
    let mut env = base_env(&url);
    for (k, v) in extra {
        env.insert(k.to_string(), v.to_string());
    }
    spawn_app_with(env).await
}

#[tokio::test]
async fn timestamptz_expiry_columns_work_the_same() {
    let app = app_with(&[], &["ALTER TABLE session ALTER COLUMN expires_at TYPE timestamptz USING expires_at AT TIME ZONE 'UTC'"]).await;
    let user = app.user("tz@tenure.test", "Tz").await;
    let valid = app.session(user, Duration::hours(3)).await;
    let expired = app.session(user, Duration::minutes(-2)).await;
    assert_eq!(app.client.get(app.url("/api/me")).bearer_auth(&valid).send().await.unwrap().status(), 200);
    assert_eq!(app.client.get(app.url("/api/me")).bearer_auth(&expired).send().await.unwrap().status(), 401);
    let hours: f64 = sqlx::query_scalar("SELECT EXTRACT(EPOCH FROM expires_at - now())::float8 / 3600 FROM session WHERE token = $1")
        .bind(&valid)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!((167.0..=168.1).contains(&hours), "refreshed in a timestamptz column: {hours}");
}

#[tokio::test]
async fn camel_case_session_columns_of_a_stock_better_auth() {
    let app = app_with(
        &[("BETTER_AUTH_COLUMNS", "camel")],
        &[
            r#"ALTER TABLE session RENAME COLUMN expires_at TO "expiresAt""#,
            r#"ALTER TABLE session RENAME COLUMN user_id TO "userId""#,
            r#"ALTER TABLE session RENAME COLUMN updated_at TO "updatedAt""#,
            r#"ALTER TABLE session RENAME COLUMN created_at TO "createdAt""#,
            r#"ALTER TABLE session ALTER COLUMN "expiresAt" TYPE timestamptz USING "expiresAt" AT TIME ZONE 'UTC'"#,
            // A stock Better Auth stores the user id as text.
            r#"ALTER TABLE session DROP CONSTRAINT session_user_id_fkey"#,
            r#"ALTER TABLE session ALTER COLUMN "userId" TYPE text"#,
        ],
    )
    .await;
    let user = app.user("camel@tenure.test", "Camel").await;
    app.admin("camel@tenure.test", "Support").await;
    let token = "CamelCaseTokenCamelCaseToken0001";
    sqlx::query(r#"INSERT INTO session (id, token, "expiresAt", "createdAt", "updatedAt", "userId") VALUES ('s1', $1, now() + interval '3 hours', now(), now(), $2)"#)
        .bind(token)
        .bind(user)
        .execute(&app.db)
        .await
        .unwrap();
    let res = app.client.get(app.url("/api/me")).header("cookie", TestApp::cookie(token)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["data"]["isFinanceManager"], true);
    assert_eq!(body["data"]["isAdmin"], false);
    let refreshed: bool = sqlx::query_scalar(r#"SELECT "expiresAt" > now() + interval '6 days' FROM session WHERE id = 's1'"#)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(refreshed);
}

#[tokio::test]
async fn require_signed_bearer_refuses_raw_tokens() {
    let app = app_with(&[("REQUIRE_SIGNED_BEARER", "true")], &[]).await;
    let user = app.user("signed@tenure.test", "Signed").await;
    let token = app.session(user, Duration::days(3)).await;
    let raw = app.client.get(app.url("/api/me")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(raw.status(), 401);
    let signed = payout_service::auth::token::signed_cookie_value(SECRET.as_bytes(), &token);
    let res = app.client.get(app.url("/api/me")).bearer_auth(&signed).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn refresh_can_be_turned_off_and_never_shortens() {
    let app = app_with(&[("SESSION_REFRESH", "false")], &[]).await;
    let user = app.user("norefresh@tenure.test", "No Refresh").await;
    let token = app.session(user, Duration::hours(2)).await;
    assert_eq!(app.client.get(app.url("/api/me")).bearer_auth(&token).send().await.unwrap().status(), 200);
    let hours: f64 = sqlx::query_scalar("SELECT EXTRACT(EPOCH FROM expires_at - (now() AT TIME ZONE 'UTC'))::float8 / 3600 FROM session WHERE token = $1")
        .bind(&token).fetch_one(&app.db).await.unwrap();
    assert!(hours < 2.1, "untouched with SESSION_REFRESH=false: {hours}");

    // With refresh on, a session longer than SESSION_EXPIRES_IN is not cut down.
    let app = app_with(&[("SESSION_UPDATE_AGE", "864000"), ("SESSION_EXPIRES_IN", "3600")], &[]).await;
    let user = app.user("long@tenure.test", "Long").await;
    let token = app.session(user, Duration::days(5)).await;
    assert_eq!(app.client.get(app.url("/api/me")).bearer_auth(&token).send().await.unwrap().status(), 200);
    let days: f64 = sqlx::query_scalar("SELECT EXTRACT(EPOCH FROM expires_at - (now() AT TIME ZONE 'UTC'))::float8 / 86400 FROM session WHERE token = $1")
        .bind(&token).fetch_one(&app.db).await.unwrap();
    assert!(days > 4.9, "never shortened: {days}");
}

#[tokio::test]
async fn a_disabled_admin_row_confers_no_role() {
    let app = spawn_app().await;
    let user = app.user("former@tenure.test", "Former Admin").await;
    app.admin("former@tenure.test", "Super Admin").await;
    sqlx::query("UPDATE admin SET status = 'disabled' WHERE email = 'former@tenure.test'").execute(&app.db).await.unwrap();
    let token = app.session(user, Duration::days(3)).await;
    let body: Value = app.client.get(app.url("/api/me")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(body["data"]["isFinanceManager"], false);
}

/// SPEC §12: a signed-up user with an admin's address is not an admin until the address is
/// verified, nor while the account is suspended or inactive; the setting can knowingly turn the
/// verification check off, and health then says so.
#[tokio::test]
async fn an_admin_row_counts_only_for_a_verified_active_user() {
    let app = spawn_app().await;
    let user = app.user("Boss@tenure.test", "Boss").await;
    app.admin("boss@tenure.test", "Super Admin").await;
    let token = app.session(user, Duration::days(3)).await;
    let me = |token: String| {
        let (client, url) = (app.client.clone(), app.url("/api/me"));
        async move { client.get(url).bearer_auth(token).send().await.unwrap().json::<Value>().await.unwrap() }
    };
    assert_eq!(me(token.clone()).await["data"]["isAdmin"], true);
    for (change, why) in [
        ("UPDATE users SET email_verified = false", "an unverified address proves nothing"),
        ("UPDATE users SET email_verified = NULL", "nor does an unknown one"),
        ("UPDATE users SET email_verified = true, status = 'Suspended'", "a suspended account holds no role"),
        ("UPDATE users SET status = 'Inactive'", "nor does an inactive one"),
    ] {
        sqlx::query(&format!("{change} WHERE id = $1")).bind(user).execute(&app.db).await.unwrap();
        let body = me(token.clone()).await;
        assert_eq!((body["data"]["isAdmin"].clone(), body["data"]["isFinanceManager"].clone()), (Value::Bool(false), Value::Bool(false)), "{why}");
    }
    let status = app.client.post(app.url("/api/eligibility/check")).bearer_auth(&token).send().await.unwrap().status();
    assert_eq!(status, 403, "and admin endpoints refuse it");
    let health: Value = app.get("/api/health").await.json().await.unwrap();
    assert_eq!(health["data"]["security"]["adminRequireVerifiedEmail"], true);

    let lax = app_with(&[("ADMIN_REQUIRE_VERIFIED_EMAIL", "false")], &[]).await;
    let user = lax.user("boss@tenure.test", "Boss").await;
    lax.admin("boss@tenure.test", "Manager").await;
    sqlx::query("UPDATE users SET email_verified = false WHERE id = $1").bind(user).execute(&lax.db).await.unwrap();
    let token = lax.session(user, Duration::days(3)).await;
    let body: Value = lax.client.get(lax.url("/api/me")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(body["data"]["isAdmin"], true, "knowingly turned off");
    let health: Value = lax.get("/api/health").await.json().await.unwrap();
    assert_eq!(health["data"]["security"]["adminRequireVerifiedEmail"], false);
    assert!(health["data"]["security"]["warnings"][0].as_str().unwrap().contains("ADMIN_REQUIRE_VERIFIED_EMAIL"));
}

/// Every documented endpoint outside health, readiness, metrics and the docs needs a session.
#[tokio::test]
async fn every_endpoint_but_the_open_ones_requires_a_session() {
    let app = spawn_app().await;
    let doc: Value = app.get("/api/openapi.json").await.json().await.unwrap();
    let open = ["/api/health", "/health", "/ready", "/metrics", "/api/openapi.json"];
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        if open.contains(&path.as_str()) {
            continue;
        }
        let concrete = path.replace("{payoutId}", "PAY-X").replace("{userId}", &uuid::Uuid::new_v4().to_string());
        for method in item.as_object().unwrap().keys() {
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let res = app.client.request(m, app.url(&concrete)).json(&serde_json::json!({})).send().await.unwrap();
            assert_eq!(res.status(), 401, "{method} {path}");
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["error"]["code"], "UNAUTHORIZED", "{method} {path}");
            checked += 1;
        }
    }
    assert!(checked >= 1);
}

/// The role extractors, mounted on probe routes under the production middleware.
#[tokio::test]
async fn role_extractors_answer_403_for_the_wrong_role() {
    use axum::routing::get;
    use payout_service::http::session::{AdminUser, FinanceUser};
    use payout_service::http::Envelope;
    let probes = axum::Router::new()
        .route("/api/test/admin-only", get(|AdminUser(u): AdminUser| async move { Envelope::ok(u.email) }))
        .route("/api/test/finance-only", get(|FinanceUser(u): FinanceUser| async move { Envelope::ok(u.email) }));
    let url = fresh_database(APP_TEMPLATE).await;
    let app = spawn_app_with_routes(base_env(&url), Some(probes)).await;
    let mut tokens = Vec::new();
    for role in ["Super Admin", "Manager", "Support", ""] {
        let email = format!("{}@tenure.test", uuid::Uuid::new_v4().simple());
        let user = app.user(&email, "Someone").await;
        if !role.is_empty() {
            app.admin(&email, role).await;
        }
        tokens.push((role, app.session(user, Duration::days(2)).await));
    }
    for (role, token) in &tokens {
        for (path, allowed) in [
            ("/api/test/admin-only", matches!(*role, "Super Admin" | "Manager")),
            ("/api/test/finance-only", !role.is_empty()),
        ] {
            let res = app.client.get(app.url(path)).bearer_auth(token).send().await.unwrap();
            let status = res.status().as_u16();
            let body: Value = res.json().await.unwrap();
            if allowed {
                assert_eq!(status, 200, "{role} {path}");
            } else {
                assert_eq!((status, body["error"]["code"].as_str()), (403, Some("FORBIDDEN")), "{role} {path}");
            }
        }
    }
    let res = app.get("/api/test/admin-only").await;
    assert_eq!(res.status(), 401);
}

/// SPEC §12: a cookie-authenticated change from another site is refused before its body is
/// read; the app's own origin (or Referer) passes; bearer requests are exempt; a bodiless POST
/// with a non-JSON Content-Type is still refused.
#[tokio::test]
async fn cross_site_cookie_posts_are_refused() {
    let app = spawn_app().await;
    let user = app.user("ops@tenure.test", "Ops").await;
    app.admin("ops@tenure.test", "Super Admin").await;
    let token = app.session(user, Duration::days(1)).await;
    let cookie = TestApp::cookie(&token);
    let check = app.url("/api/eligibility/check");
    let post = |headers: &[(&str, &str)]| {
        let mut req = app.client.post(check.clone());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req
    };
    let code = |res: reqwest::Response| async move {
        let status = res.status().as_u16();
        (status, res.json::<Value>().await.unwrap_or(Value::Null)["error"]["code"].as_str().map(String::from))
    };
    assert_eq!(code(post(&[("cookie", &cookie)]).send().await.unwrap()).await, (403, Some("CSRF_REJECTED".into())), "no Origin");
    let evil = post(&[("cookie", &cookie), ("origin", "https://evil.example")]).send().await.unwrap();
    assert_eq!(code(evil).await, (403, Some("CSRF_REJECTED".into())));
    let form = post(&[("cookie", &cookie), ("origin", "https://evil.example"), ("content-type", "application/x-www-form-urlencoded")]).body("a=1").send().await.unwrap();
    assert_eq!(form.status(), 403, "refused before the body is read");
    assert_eq!(sqlx::query_scalar::<_, i64>("SELECT count(*) FROM user_audit_logs WHERE action = 'eligibility_check'").fetch_one(&app.db).await.unwrap(), 0);
    assert_eq!(post(&[("cookie", &cookie), ("origin", "http://localhost:3000")]).send().await.unwrap().status(), 200, "ALLOWED_ORIGINS");
    assert_eq!(post(&[("cookie", &cookie), ("referer", "http://localhost:3000/admin/payouts")]).send().await.unwrap().status(), 200, "Referer");
    let own = format!("http://{}", app.addr);
    assert_eq!(post(&[("cookie", &cookie), ("origin", &own)]).send().await.unwrap().status(), 200, "the service's own pages");
    assert_eq!(app.client.post(check.clone()).bearer_auth(&token).send().await.unwrap().status(), 200, "bearer is exempt");
    let text = app.client.post(check.clone()).bearer_auth(&token).header("content-type", "text/plain").send().await.unwrap();
    assert_eq!(text.status(), 415, "a bodiless POST still wants JSON, if it names a type");
    assert_eq!(app.client.get(app.url("/api/me")).header("cookie", &cookie).send().await.unwrap().status(), 200, "safe methods are not checked");
}

/// Under load the service answers several session lookups with one statement (issue 15): that
/// statement must give each session exactly the row the one-token statement gives — user,
/// expiry, role (case-insensitive address, strongest active role, disabled rows ignored) — and
/// nothing for an unknown token, in both column namings.
#[tokio::test]
async fn a_batched_lookup_answers_exactly_as_one_lookup_per_session() {
    use payout_service::config::SessionColumns;
    use payout_service::db::sessions::SessionQueries;

    for columns in [SessionColumns::Snake, SessionColumns::Camel] {
        let camel = matches!(columns, SessionColumns::Camel);
        let prepare: &[&str] = if camel {
            &[
                r#"ALTER TABLE session RENAME COLUMN expires_at TO "expiresAt""#,
                r#"ALTER TABLE session RENAME COLUMN user_id TO "userId""#,
                r#"ALTER TABLE session RENAME COLUMN updated_at TO "updatedAt""#,
                r#"ALTER TABLE session RENAME COLUMN created_at TO "createdAt""#,
                r#"ALTER TABLE session DROP CONSTRAINT session_user_id_fkey"#,
                r#"ALTER TABLE session ALTER COLUMN "userId" TYPE text"#,
            ]
        } else {
            &[]
        };
        let app = app_with(if camel { &[("BETTER_AUTH_COLUMNS", "camel")] } else { &[] }, prepare).await;
        let mut tokens = Vec::new();
        let mut session = |user: uuid::Uuid, hours: i64| {
            let token = uuid::Uuid::new_v4().simple().to_string();
            tokens.push(token.clone());
            let sql = if camel {
                r#"INSERT INTO session (id, token, "expiresAt", "createdAt", "updatedAt", "userId") VALUES ($1, $2, now() + make_interval(hours => $3::int), now(), now(), $4::text)"#
            } else {
                "INSERT INTO session (id, token, expires_at, created_at, updated_at, user_id) VALUES ($1, $2, now() + make_interval(hours => $3::int), now(), now(), $4)"
            };
            let db = app.db.clone();
            async move {
                let q = sqlx::query(sql).bind(uuid::Uuid::new_v4().to_string()).bind(token).bind(hours as i32);
                let q = if camel { q.bind(user.to_string()) } else { q.bind(user) };
                q.execute(&db).await.unwrap();
            }
        };
        let plain = app.user("plain@tenure.test", "Plain").await;
        session(plain, 3).await;
        session(plain, -1).await; // expired: still found, the caller compares the clocks
        let mixed = app.user("Mixed.Case@Tenure.test", "Mixed").await;
        app.admin("mixed.case@tenure.test", "Manager").await;
        session(mixed, 3).await;
        let two = app.user("two@tenure.test", "Two Roles").await;
        app.admin("two@tenure.test", "Support").await;
        app.admin("TWO@tenure.test", "Super Admin").await;
        session(two, 3).await;
        let off = app.user("off@tenure.test", "Disabled Admin").await;
        app.admin("off@tenure.test", "Super Admin").await;
        app.admin("OFF@tenure.test", "Support").await;
        sqlx::query("UPDATE admin SET status = 'Disabled' WHERE email = 'off@tenure.test'").execute(&app.db).await.unwrap();
        session(off, 3).await;
        let null_status = app.user("null@tenure.test", "Null Status").await;
        app.admin("null@tenure.test", "Manager").await;
        sqlx::query("UPDATE admin SET status = NULL WHERE email = 'null@tenure.test'").execute(&app.db).await.unwrap();
        session(null_status, 3).await;
        let unverified = app.user("unverified@tenure.test", "Unverified").await;
        sqlx::query("UPDATE users SET email_verified = NULL, status = 'Suspended', two_factor_enabled = true WHERE id = $1").bind(unverified).execute(&app.db).await.unwrap();
        app.admin("unverified@tenure.test", "Manager").await;
        session(unverified, 3).await;
        let mut asked: Vec<String> = tokens.clone();
        asked.push("no-such-token".into());
        asked.push(tokens[0].clone()); // the same session asked twice in one batch

        let queries = SessionQueries::new(columns);
        let mut conn = app.db.acquire().await.unwrap();
        let asked_refs: Vec<&str> = asked.iter().map(String::as_str).collect();
        let batch = queries.lookup_many(&mut conn, &asked_refs).await.unwrap();
        assert_eq!(batch.len(), tokens.len(), "one row per existing session, none for the unknown token");
        for token in &asked {
            let one = queries.lookup_one(&mut conn, token).await.unwrap();
            let many = batch.get(token).cloned();
            let without_clock = |r: Option<payout_service::db::sessions::SessionRow>| r.map(|r| payout_service::db::sessions::SessionRow { now_ms: 0, ..r });
            assert_eq!(without_clock(many), without_clock(one), "{columns:?}: token {token}");
        }
        // And the roles are the expected ones, not merely equal.
        let role = |token: &str| batch[token].admin_role.clone();
        assert_eq!(role(&tokens[2]).as_deref(), Some("Manager"), "address matched case-insensitively");
        assert_eq!(role(&tokens[3]).as_deref(), Some("Super Admin"), "the strongest active role");
        assert_eq!(role(&tokens[4]).as_deref(), Some("Support"), "the disabled row is ignored");
        assert_eq!(role(&tokens[5]).as_deref(), Some("Manager"), "no status reads as active");
        assert_eq!(role(&tokens[0]), None);
    }
}

/// Many signed-in users at once (the service then shares lookup statements): each request is
/// answered with its own user, never another's, and a session deleted between two waves of
/// requests fails in the second wave.
#[tokio::test]
async fn concurrent_requests_each_get_their_own_user() {
    // 400 requests from one address: above the default rate limit, which is not under test here.
    let app = app_with(&[("RATE_LIMIT_MAX", "100000")], &[]).await;
    let mut users = Vec::new();
    for i in 0..40 {
        let email = format!("member{i}@tenure.test");
        let id = app.user(&email, &format!("Member {i}")).await;
        if i % 7 == 0 {
            app.admin(&email, "Support").await;
        }
        users.push((id, email, app.session(id, Duration::days(3)).await, i % 7 == 0));
    }
    let wave = |users: Vec<(uuid::Uuid, String, String, bool)>| {
        let (client, url) = (app.client.clone(), app.url("/api/me"));
        async move {
            let mut tasks = Vec::new();
            for round in 0..5 {
                for (id, email, token, support) in users.iter().cloned() {
                    let (client, url) = (client.clone(), url.clone());
                    tasks.push(tokio::spawn(async move {
                        let res = client.get(url).header("cookie", TestApp::cookie(&token)).send().await.unwrap();
                        let status = res.status().as_u16();
                        let body: Value = res.json().await.unwrap();
                        (round, id, email, support, status, body)
                    }));
                }
            }
            let mut out = Vec::new();
            for t in tasks {
                out.push(t.await.unwrap());
            }
            out
        }
    };
    for (_, id, email, support, status, body) in wave(users.clone()).await {
        assert_eq!(status, 200, "{email}: {body}");
        assert_eq!(body["data"]["userId"], id.to_string(), "{email} got another user's answer");
        assert_eq!(body["data"]["email"], email.as_str());
        assert_eq!(body["data"]["isFinanceManager"], support, "{email}");
    }
    let revoked = users[3].2.clone();
    sqlx::query("DELETE FROM session WHERE token = $1").bind(&revoked).execute(&app.db).await.unwrap();
    for (_, id, email, _, status, body) in wave(users.clone()).await {
        if id == users[3].0 {
            assert_eq!(status, 401, "a deleted session fails at once, even in a shared statement");
        } else {
            assert_eq!((status, body["data"]["userId"].clone()), (200, Value::String(id.to_string())), "{email}");
        }
    }
}

/// Requests share the session-lookup statement, so a statement that hangs must not hold them
/// all until the request timeout (30 s): after 5 s its requests get 503 (the database is not
/// answering), and once the cause is gone the next requests are answered again. Here the cause
/// is a transaction holding the session table locked, as a main-app migration might.
#[tokio::test]
async fn a_stuck_session_lookup_answers_503_and_the_service_recovers() {
    let app = spawn_app().await;
    let user = app.user("patient@tenure.test", "Patient").await;
    let token = app.session(user, Duration::days(3)).await;
    let me = || app.client.get(app.url("/api/me")).header("cookie", TestApp::cookie(&token)).send();
    assert_eq!(me().await.unwrap().status(), 200);

    let mut locker = app.db.begin().await.unwrap();
    sqlx::query("LOCK TABLE session IN ACCESS EXCLUSIVE MODE").execute(&mut *locker).await.unwrap();
    let started = std::time::Instant::now();
    let res = me().await.unwrap();
    let waited = started.elapsed();
    assert_eq!(res.status(), 503);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "SERVICE_UNAVAILABLE");
    assert!(waited >= std::time::Duration::from_secs(4) && waited < std::time::Duration::from_secs(20), "gave up after {waited:?}");

    locker.rollback().await.unwrap();
    assert!(eventually(10, || async { me().await.map(|r| r.status() == 200).unwrap_or(false) }).await, "lookups answer again");
}
