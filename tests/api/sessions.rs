//! Session basics behind `/api/me` (the full Better Auth interop suite is its own issue).

use chrono::Duration;
use serde_json::Value;

use crate::helpers::*;

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
