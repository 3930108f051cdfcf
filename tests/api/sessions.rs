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
