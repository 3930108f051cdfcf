//! BETTER_AUTH.md's interop test: sessions issued by a real Better Auth, used against us.

use payout_service::auth::token::signed_cookie_value;
use serde_json::Value;

use crate::support::better_auth::BetterAuth;
use crate::support::harness::*;

async fn me(app: &TestApp, header: (&str, &str)) -> (u16, Value) {
    let res = app.client.get(app.url("/api/me")).header(header.0, header.1).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn sessions_from_a_real_better_auth_are_accepted_and_bad_ones_refused() {
    let app = spawn_app().await;
    let auth = BetterAuth::start(&app.database_url, SECRET);

    let member = auth.sign_up("june.member@tenure.test", "June Member").await;
    let admin = auth.sign_up("Max.Admin@Tenure.test", "Max Admin").await;
    sqlx::query("INSERT INTO admin (email, role, name) VALUES ('max.admin@tenure.test', 'Super Admin', 'Max')")
        .execute(&app.db)
        .await
        .unwrap();

    // The exact Cookie header and bearer tokens Better Auth issued.
    let (status, body) = me(&app, ("cookie", &member.cookie)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["userId"], member.user_id);
    assert_eq!(body["data"]["email"], "june.member@tenure.test");
    assert_eq!(body["data"]["isAdmin"], false);
    assert_eq!(me(&app, ("authorization", &format!("Bearer {}", member.bearer))).await.0, 200, "signed bearer");
    assert_eq!(me(&app, ("authorization", &format!("Bearer {}", member.token))).await.0, 200, "raw bearer");
    let secure = member.cookie.replacen("better-auth.", "__Secure-better-auth.", 1);
    assert_eq!(me(&app, ("cookie", &secure)).await.0, 200, "__Secure- cookie name");

    // An admin row for the user's email (other case) makes that user an admin once Better Auth
    // has verified the address (SPEC §12), not before.
    let (status, body) = me(&app, ("cookie", &admin.cookie)).await;
    assert_eq!((status, body["data"]["isAdmin"].clone()), (200, Value::Bool(false)), "unverified: {body}");
    sqlx::query("UPDATE users SET email_verified = true WHERE lower(email) = 'max.admin@tenure.test'").execute(&app.db).await.unwrap();
    let (status, body) = me(&app, ("cookie", &admin.cookie)).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["isAdmin"], true);
    assert_eq!(body["data"]["adminRole"], "Super Admin");

    // A second sign-in is a second valid session.
    let again = auth.sign_in("june.member@tenure.test").await;
    assert_ne!(again.token, member.token);
    assert_eq!(me(&app, ("cookie", &again.cookie)).await.0, 200);

    // Tampered signature, and the real token signed with another secret.
    let (name, value) = member.cookie.split_once('=').unwrap();
    // Change one character inside the signature (after "token."), nothing else.
    let at = value.find('.').unwrap() + 5;
    let swapped = if &value[at..at + 1] == "A" { "B" } else { "A" };
    let tampered = format!("{name}={}{swapped}{}", &value[..at], &value[at + 1..]);
    assert_eq!(&tampered[..name.len() + 1 + at], &member.cookie[..name.len() + 1 + at], "token part untouched");
    let foreign = format!("{name}={}", signed_cookie_value(b"some-other-better-auth-secret-000000", &member.token));
    for cookie in [&tampered, &foreign] {
        let (status, body) = me(&app, ("cookie", cookie)).await;
        assert_eq!(status, 401, "{cookie}");
        assert_eq!(body["error"]["code"], "INVALID_SESSION");
    }

    // Expired: Better Auth and we agree it is gone.
    sqlx::query("UPDATE session SET expires_at = (now() AT TIME ZONE 'UTC') - interval '1 minute' WHERE token = $1")
        .bind(&again.token)
        .execute(&app.db)
        .await
        .unwrap();
    assert_eq!(me(&app, ("cookie", &again.cookie)).await.0, 401);
    assert!(auth.get_session(&again.cookie).await.is_null(), "Better Auth also refuses the expired session");

    // Signed out through Better Auth's own endpoint: refused at once.
    assert!(!auth.get_session(&member.cookie).await.is_null());
    auth.sign_out(&member.cookie).await;
    let (status, body) = me(&app, ("cookie", &member.cookie)).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "INVALID_SESSION");
    assert_eq!(me(&app, ("authorization", &format!("Bearer {}", member.bearer))).await.0, 401);
    // The admin's session is untouched by the member's sign-out.
    assert_eq!(me(&app, ("cookie", &admin.cookie)).await.0, 200);
}

#[tokio::test]
async fn a_session_we_refresh_stays_valid_for_better_auth() {
    let app = spawn_app().await;
    let auth = BetterAuth::start(&app.database_url, SECRET);
    let user = auth.sign_up("refresh.me@tenure.test", "Refresh Me").await;
    // Close to expiry: we extend it, and Better Auth reads the extended row without complaint.
    sqlx::query("UPDATE session SET expires_at = (now() AT TIME ZONE 'UTC') + interval '1 hour' WHERE token = $1")
        .bind(&user.token)
        .execute(&app.db)
        .await
        .unwrap();
    assert_eq!(me(&app, ("cookie", &user.cookie)).await.0, 200);
    let days_in_db: f64 = sqlx::query_scalar("SELECT EXTRACT(EPOCH FROM expires_at - (now() AT TIME ZONE 'UTC'))::float8 / 86400 FROM session WHERE token = $1")
        .bind(&user.token)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!((6.99..=7.01).contains(&days_in_db), "we extended it to 7 days: {days_in_db}");
    // Read without letting Better Auth refresh it itself, so what it sees is what we wrote.
    let session = auth.get_session_no_refresh(&user.cookie).await;
    let expires = chrono::DateTime::parse_from_rfc3339(session["session"]["expiresAt"].as_str().unwrap()).unwrap();
    let days = (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_hours() as f64 / 24.0;
    assert!((6.9..=7.01).contains(&days), "Better Auth sees the 7-day extension: {days} days");
}
