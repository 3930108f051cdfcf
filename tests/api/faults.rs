//! SPEC §13 fault tests against the real parts: PostgreSQL stopped in the middle of a stream of
//! creates and approvals, then started again under the running service; an SMTP server that
//! stalls longer than the email lease under two senders; an instance SIGKILLed mid-job.

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
        assert_eq!(awaiting, 2, "{id}: every admin who can approve it (not its creator) told of the creation, once");
        let approved_mail: i64 = sqlx::query_scalar("SELECT count(*) FROM payout_email_outbox WHERE payout_id = $1 AND template = 'payout_approved'").bind(id).fetch_one(&db).await.unwrap();
        assert_eq!(approved_mail, i64::from(status == "approved"), "{id}: the member told exactly when approved");
    }
    assert_eq!(payouts.len(), created.len(), "no payout exists that the client did not see created");
    pg.stop();
}

/// SPEC §13: the SMTP server holds some sends silent for longer than the email lease while two
/// senders run. The stalled sender gives up (its SMTP timeout is half the lease) before the
/// other may take the message, and a stale claim can neither send nor settle: every email
/// arrives exactly once.
#[tokio::test]
async fn an_smtp_server_stalling_past_the_lease_still_gets_each_email_once() {
    use crate::jobs::{count, queue_emails, with_smtp};
    use crate::support::smtp::SmtpServer;
    use std::collections::HashSet;

    let smtp = SmtpServer::start(free_port()).await;
    let url = fresh_database(APP_TEMPLATE).await;
    let mut env = base_env(&url);
    with_smtp(&mut env, smtp.port);
    env.insert("EMAIL_LEASE_SECS".into(), "3".into());
    env.insert("EMAIL_RETRY_INTERVAL_SECS".into(), "1".into());
    env.insert("EMAIL_MAX_ATTEMPTS".into(), "20".into());
    // The first sends stall for twice the lease: long enough for the other sender to claim the
    // message again if the first one still held on.
    smtp.stall_next(3, std::time::Duration::from_secs(6));
    let a = spawn_app_with_background(env.clone()).await;
    let _b = spawn_app_with_background(env).await;
    queue_emails(&a.db, 12).await;
    assert!(
        eventually(45, || async { count(&a.db, "SELECT count(*) FROM payout_email_outbox WHERE status = 'sent'").await == 12 }).await,
        "every email was sent in the end"
    );
    // Let every stalled conversation run out, so a late delivery would be seen.
    tokio::time::sleep(std::time::Duration::from_secs(7)).await;
    assert_eq!(smtp.stalled(), 3, "the server did stall");
    let ids: Vec<String> = smtp.messages().iter().map(|m| m.header("Message-ID").unwrap()).collect();
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 12, "every email arrived");
    assert_eq!(ids.len(), 12, "and none twice: {ids:?}");
    let retried = count(&a.db, "SELECT count(*) FROM payout_email_outbox WHERE attempts > 1").await;
    assert!(retried >= 1, "the stalled sends were given up and sent again");
    assert_eq!(count(&a.db, "SELECT count(*) FROM payout_email_outbox WHERE status <> 'sent'").await, 0);
}

/// SPEC §13: an instance killed with SIGKILL in the middle of a job leaves its slot claimed;
/// once its lease runs out another instance takes the slot over and finishes it, once.
#[tokio::test]
async fn a_job_whose_instance_is_killed_midway_is_finished_by_another() {
    use crate::support::binary::{command, temp_dir, wait_ready};
    use crate::support::desk::desk;
    use chrono::Timelike;

    let d = desk(250_000, 2, &[]).await;
    let db = &d.app.db;
    // A daily slot an hour ago: an instance starting now catches it up at once.
    let slot_time = chrono::Utc::now() - Duration::hours(1);
    let cron = format!("0 {} {} * * *", slot_time.minute(), slot_time.hour());
    let mut env = base_env(&d.app.database_url);
    env.insert("SUBSCRIPTION_SERVICE_URL".into(), d.standin.url.clone());
    env.insert("ENABLE_CRON_JOBS".into(), "true".into());
    env.insert("ELIGIBILITY_CHECK_CRON".into(), cron);
    env.insert("JOB_LEASE_SECS".into(), "3".into());

    // Instance A: the revenue call hangs, so the job is mid-way when A is killed.
    d.standin.set(Answer::Slow(std::time::Duration::from_secs(120), json!(250_000)));
    let mut a_env = env.clone();
    a_env.insert("SUBSCRIPTION_TIMEOUT_MS".into(), "120000".into());
    let port = free_port();
    a_env.insert("PORT".into(), port.to_string());
    let dir = temp_dir("killed");
    let mut a = command(&["serve"], &a_env, &dir).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().unwrap();
    wait_ready(&format!("http://127.0.0.1:{port}")).await;
    let running = "SELECT count(*) FROM payout_job_slots WHERE job_name = 'eligibility-check' AND outcome = 'running'";
    assert!(eventually(15, || async { crate::jobs::count(db, running).await == 1 && d.standin.hits() >= 1 }).await, "A is in the middle of the job");
    let (a_claim, slot): (String, chrono::DateTime<chrono::Utc>) =
        sqlx::query_as("SELECT claimed_by, slot FROM payout_job_slots WHERE job_name = 'eligibility-check'").fetch_one(db).await.unwrap();
    a.kill().unwrap(); // SIGKILL: no shutdown, no cleanup
    a.wait().unwrap();

    // Instance B starts with the revenue service answering again and finishes A's slot.
    d.standin.set(Answer::Total(json!(250_000)));
    let _b = spawn_app_with_background(env).await;
    let finished = "SELECT count(*) FROM payout_job_slots WHERE job_name = 'eligibility-check' AND outcome = 'succeeded'";
    assert!(eventually(20, || async { crate::jobs::count(db, finished).await == 1 }).await, "another instance finished the slot");
    let (claim, slot_after, attempts, summary): (String, chrono::DateTime<chrono::Utc>, i32, Value) =
        sqlx::query_as("SELECT claimed_by, slot, attempts, summary FROM payout_job_slots WHERE job_name = 'eligibility-check'").fetch_one(db).await.unwrap();
    assert_eq!(slot_after, slot, "the very slot A held, not a new one");
    assert_ne!(claim, a_claim, "finished by the other instance");
    assert_eq!(attempts, 2, "taken over once");
    assert_eq!(summary["availablePayouts"], json!(2), "the job's work was done: {summary}");
    assert_eq!(crate::jobs::count(db, "SELECT count(*) FROM payout_job_slots WHERE job_name = 'eligibility-check'").await, 1, "one slot, one run to completion");
}
