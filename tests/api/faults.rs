//! SPEC §13 fault tests against the real parts: PostgreSQL stopped in the middle of a stream of
//! creates and approvals, then started again under the running service.

use std::collections::HashMap;

use chrono::Duration;
use payout_service::dev::postgres::{Durability, PrivatePostgres};
use serde_json::{json, Value};
use sqlx::{Connection, PgConnection};

use crate::support::harness::*;
use crate::support::members::MemberSpec;
use crate::support::standin::{Answer, StandIn};

/// 503s while the database is away, never a 500; the service recovers by itself when it is
/// back; afterwards every payout's status, trail, audit rows and emails agree.
#[tokio::test]
async fn a_database_restart_mid_stream_gives_503s_then_recovers_with_nothing_half_written() {
    let root = std::env::temp_dir().join(format!("payout-fault-pg-{}", uuid::Uuid::new_v4().simple()));
    let mut pg = PrivatePostgres::init(&root).unwrap();
    pg.start(Durability::Throwaway).unwrap();
    pg.remove_when_process_exits(std::process::id(), &root).unwrap();
    let url = pg.url("postgres");
    let mut conn = PgConnection::connect(&url).await.unwrap();
    sqlx::raw_sql(payout_service::dev::MAIN_APP_FIXTURE).execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    let setup = sqlx::PgPool::connect(&url).await.unwrap();
    payout_service::db::migrate::run(&setup).await.unwrap();

    let standin = StandIn::start(Answer::Total(json!(2_000_000))).await;
    let mut env: HashMap<String, String> = base_env(&url);
    env.insert("SUBSCRIPTION_SERVICE_URL".into(), standin.url.clone());
    env.insert("RATE_LIMIT_MAX".into(), "100000".into());
    let app = spawn_app_with(env).await;
    let mut admins = Vec::new();
    for (email, role) in [("ava@tenure.test", "Super Admin"), ("mia@tenure.test", "Manager"), ("noah@tenure.test", "Super Admin")] {
        let user = app.user(email, "Admin").await;
        app.admin(email, role).await;
        admins.push(app.session(user, Duration::days(1)).await);
    }
    let mut members = Vec::new();
    for i in 0..8 {
        members.push(MemberSpec::new(&format!("m{i}@tenure.test"), 30 - i as u32).insert(&app.db).await.user_id);
    }

    let post = |token: String, path: String, body: Value| {
        let (client, url) = (app.client.clone(), app.url(&path));
        async move {
            match client.post(url).bearer_auth(token).json(&body).send().await {
                Ok(res) => {
                    let status = res.status().as_u16();
                    (status, res.json::<Value>().await.unwrap_or(Value::Null))
                }
                Err(_) => (0, Value::Null),
            }
        }
    };
    let mut statuses: Vec<u16> = Vec::new();
    let mut created: Vec<String> = Vec::new();
    for (i, member) in members.iter().enumerate() {
        if i == 4 {
            // The database goes away mid-stream: what arrives now is refused with 503 (each waits
            // for the pool's acquire timeout), including an approval of an existing payout.
            pg.stop();
            for _ in 0..2 {
                statuses.push(post(admins[0].clone(), "/api/payouts".into(), json!({ "userIds": [member.to_string()] })).await.0);
            }
            statuses.push(post(admins[1].clone(), format!("/api/payouts/{}/approve", created[0]), json!({})).await.0);
            assert_eq!(app.get("/api/health").await.status(), 503);
            pg.start_again(Durability::Throwaway).unwrap();
        }
        // Each step is retried until it answers (as a client would).
        let mut payout_id = None;
        for _ in 0..40 {
            let (status, body) = post(admins[0].clone(), "/api/payouts".into(), json!({ "userIds": [member.to_string()] })).await;
            statuses.push(status);
            if status == 201 {
                payout_id = body["data"]["payoutIds"][0].as_str().map(String::from);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        let id = payout_id.unwrap_or_else(|| panic!("member {i} never got a payout: {statuses:?}"));
        for token in [&admins[1], &admins[2]] {
            for _ in 0..40 {
                let (status, _) = post(token.clone(), format!("/api/payouts/{id}/approve"), json!({})).await;
                statuses.push(status);
                if status == 200 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
        }
        created.push(id);
    }
    assert!(statuses.contains(&503), "the outage was seen: {statuses:?}");
    assert!(!statuses.iter().any(|s| *s >= 500 && *s != 503), "503 while away, never another 5xx: {statuses:?}");
    assert_eq!(created.len(), members.len(), "the service recovered without a restart");

    // Nothing half-written: every payout's status, trail, audit rows and emails agree.
    let db = sqlx::PgPool::connect(&url).await.unwrap();
    let payouts: Vec<(String, String, Value, i32)> =
        sqlx::query_as("SELECT payout_id, status, audit_trail, audit_count FROM payout_management").fetch_all(&db).await.unwrap();
    for (id, status, trail, count) in &payouts {
        let entries = trail.as_array().unwrap();
        assert_eq!(entries.len() as i32, *count, "{id}: head recorded with the trail");
        let audit_rows: i64 = sqlx::query_scalar("SELECT count(*) FROM user_audit_logs WHERE metadata ->> 'payoutId' = $1").bind(id).fetch_one(&db).await.unwrap();
        assert_eq!(audit_rows, entries.len() as i64, "{id}: one audit row per trail entry");
        let approvals = entries.iter().filter(|e| e["action"] == "approval_added" || e["action"] == "approved").count();
        let expected_status = if approvals >= 2 { "approved" } else { "pending_approval" };
        assert_eq!(status, expected_status, "{id}: status agrees with the trail");
        let awaiting: i64 = sqlx::query_scalar("SELECT count(*) FROM payout_email_outbox WHERE payout_id = $1 AND template = 'payout_awaiting_approval'").bind(id).fetch_one(&db).await.unwrap();
        assert_eq!(awaiting, 3, "{id}: every admin told of the creation, once");
        let approved_mail: i64 = sqlx::query_scalar("SELECT count(*) FROM payout_email_outbox WHERE payout_id = $1 AND template = 'payout_approved'").bind(id).fetch_one(&db).await.unwrap();
        assert_eq!(approved_mail, i64::from(status == "approved"), "{id}: the member told exactly when approved");
    }
    assert_eq!(payouts.len(), created.len(), "no payout exists that the client did not see created");
    pg.stop();
}
