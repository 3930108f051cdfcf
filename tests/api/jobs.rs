//! SPEC §8, §9: emails through a real SMTP server, exactly once; jobs exactly once per slot.

use std::collections::{HashMap, HashSet};

use chrono::Duration;
use serde_json::{json, Value};

use crate::support::desk::desk;
use crate::support::harness::*;
use crate::support::members::*;
use crate::support::smtp::SmtpServer;

pub(crate) fn with_smtp(env: &mut HashMap<String, String>, port: u16) {
    for (k, v) in [
        ("SMTP_HOST", "127.0.0.1".to_string()),
        ("SMTP_PORT", port.to_string()),
        ("SMTP_TLS", "false".into()),
        ("OUTBOX_POLL_INTERVAL_MS", "100".into()),
        ("EMAIL_FROM", "payouts@tenure.test".into()),
    ] {
        env.insert(k.into(), v);
    }
}

pub(crate) async fn queue_emails(db: &sqlx::PgPool, n: usize) {
    for i in 0..n {
        sqlx::query("INSERT INTO payout_email_outbox (dedupe_key, template, recipient, subject, body_text, body_html) VALUES ($1, 'test', $2, $3, 'Hello $100,000.00', '<p>Hello</p>')")
            .bind(format!("test:{i}"))
            .bind(format!("member{i}@tenure.test"))
            .bind(format!("Message {i}"))
            .execute(db)
            .await
            .unwrap();
    }
}

pub(crate) async fn count(db: &sqlx::PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(db).await.unwrap()
}

#[tokio::test]
async fn each_email_event_arrives_with_its_recipient_subject_and_figures() {
    let smtp = SmtpServer::start(free_port()).await;
    let d = desk(250_000, 1, &[]).await;
    let id = d.create(&[0]).await.remove(0);
    d.post(&d.manager, &format!("/api/payouts/{id}/approve"), json!({})).await;
    d.post(&d.second, &format!("/api/payouts/{id}/approve"), json!({})).await;
    let mut env = base_env(&d.app.database_url);
    with_smtp(&mut env, smtp.port);
    let _sender = spawn_app_with_background(env).await;
    assert!(eventually(10, || async { count(&d.app.db, "SELECT count(*) FROM payout_email_outbox WHERE status <> 'sent'").await == 0 }).await);
    let messages = smtp.messages();
    let approved = messages.iter().find(|m| m.header("Subject").is_some_and(|s| s.contains("approved"))).expect("approved email");
    assert_eq!(approved.to, ["member0@tenure.test"]);
    assert!(approved.data.contains("$100,000.00"), "{}", approved.data);
    assert!(approved.header("From").unwrap().contains("payouts@tenure.test"));
    assert!(approved.data.contains("text/html") && approved.data.contains("text/plain"), "both bodies");
    let awaiting: Vec<_> = messages.iter().filter(|m| m.header("Subject").is_some_and(|s| s.contains("awaits your approval"))).collect();
    assert_eq!(awaiting.len(), 2, "those who can approve, but the creator");
    let mut to: Vec<&str> = awaiting.iter().map(|m| m.to[0].as_str()).collect();
    to.sort();
    assert_eq!(to, ["mia@tenure.test", "noah@tenure.test"], "Support (liam) gets no approval request");
}

#[tokio::test]
async fn when_smtp_is_down_messages_wait_and_go_out_once_it_is_back() {
    let port = free_port();
    let url = fresh_database(APP_TEMPLATE).await;
    let mut env = base_env(&url);
    with_smtp(&mut env, port);
    env.insert("EMAIL_RETRY_INTERVAL_SECS".into(), "1".into());
    env.insert("EMAIL_MAX_ATTEMPTS".into(), "10".into());
    let app = spawn_app_with_background(env).await;
    queue_emails(&app.db, 3).await;
    assert!(eventually(10, || async { count(&app.db, "SELECT count(*) FROM payout_email_outbox WHERE attempts >= 1 AND last_error IS NOT NULL").await == 3 }).await);
    assert_eq!(count(&app.db, "SELECT count(*) FROM payout_email_outbox WHERE status = 'pending'").await, 3, "waiting, not lost");
    let smtp = SmtpServer::start(port).await;
    assert!(eventually(15, || async { count(&app.db, "SELECT count(*) FROM payout_email_outbox WHERE status = 'sent'").await == 3 }).await);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(smtp.messages().len(), 3, "each delivered once");
}

#[tokio::test]
async fn a_message_that_finally_fails_raises_an_admin_alert() {
    let url = fresh_database(APP_TEMPLATE).await;
    let mut env = base_env(&url);
    with_smtp(&mut env, free_port());
    env.insert("EMAIL_RETRY_INTERVAL_SECS".into(), "0".into());
    env.insert("EMAIL_MAX_ATTEMPTS".into(), "2".into());
    let app = spawn_app_with_background(env).await;
    queue_emails(&app.db, 1).await;
    assert!(eventually(10, || async { count(&app.db, "SELECT count(*) FROM payout_email_outbox WHERE status = 'failed' AND attempts = 2").await == 1 }).await);
    let alert: Value = sqlx::query_scalar("SELECT to_jsonb(a) FROM admin_alerts a").fetch_one(&app.db).await.unwrap();
    assert_eq!(alert["category"], "system");
    assert_eq!(alert["metadata"]["kind"], "email_delivery_failed");
}

#[tokio::test]
async fn two_sender_instances_never_deliver_one_message_twice() {
    let smtp = SmtpServer::start(free_port()).await;
    let url = fresh_database(APP_TEMPLATE).await;
    let mut env = base_env(&url);
    with_smtp(&mut env, smtp.port);
    let a = spawn_app_with_background(env.clone()).await;
    let _b = spawn_app_with_background(env.clone()).await;
    let _c = spawn_app_with_background(env).await;
    queue_emails(&a.db, 40).await;
    assert!(eventually(20, || async { count(&a.db, "SELECT count(*) FROM payout_email_outbox WHERE status = 'sent'").await == 40 }).await);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let ids: Vec<String> = smtp.messages().iter().map(|m| m.header("Message-ID").unwrap()).collect();
    assert_eq!(ids.len(), 40, "40 messages, 40 deliveries");
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 40);
    let instances = count(&a.db, "SELECT count(DISTINCT claimed_by) FROM payout_email_outbox").await;
    assert!(instances >= 1);
}

#[tokio::test]
async fn three_instances_run_each_slot_once() {
    let smtp = SmtpServer::start(free_port()).await;
    let d = desk(250_000, 1, &[]).await;
    let mut env = base_env(&d.app.database_url);
    with_smtp(&mut env, smtp.port);
    env.insert("ENABLE_CRON_JOBS".into(), "true".into());
    env.insert("ELIGIBILITY_CHECK_CRON".into(), "*/2 * * * * *".into());
    env.insert("MEMBERSHIP_REMOVAL_CRON".into(), "*/2 * * * * *".into());
    env.insert("SUBSCRIPTION_SERVICE_URL".into(), d.standin.url.clone());
    let instances = vec![
        spawn_app_with_background(env.clone()).await,
        spawn_app_with_background(env.clone()).await,
        spawn_app_with_background(env).await,
    ];
    tokio::time::sleep(std::time::Duration::from_secs(7)).await;
    drop(instances);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let db = &d.app.db;
    let slots = count(db, "SELECT count(*) FROM payout_job_slots WHERE job_name = 'eligibility-check'").await;
    assert!(slots >= 3, "{slots} slots in 7 s at every 2 s");
    assert_eq!(count(db, "SELECT count(*) FROM payout_job_slots WHERE outcome <> 'succeeded'").await, 0);
    let checks = count(db, "SELECT count(*) FROM user_audit_logs WHERE action = 'eligibility_check' AND metadata->>'trigger' = 'scheduled'").await;
    assert_eq!(checks, slots, "one check per slot, whatever the number of instances");
    assert_eq!(count(db, "SELECT count(*) FROM admin_alerts WHERE metadata->>'kind' = 'payout_eligible'").await, 1, "one alert a day");
    assert!(eventually(10, || async { count(db, "SELECT count(*) FROM payout_email_outbox WHERE template = 'eligibility_reached' AND status = 'sent'").await == 4 }).await);
    let reached: Vec<_> = smtp.messages().into_iter().filter(|m| m.header("Subject").is_some_and(|s| s.contains("eligibility reached"))).collect();
    assert_eq!(reached.len(), 4, "each admin's email went out once");
    let health: Value = d.app.get("/api/health").await.json().await.unwrap();
    let jobs: Vec<&str> = health["data"]["scheduler"]["lastRuns"].as_array().unwrap().iter().map(|r| r["job"].as_str().unwrap()).collect();
    assert_eq!(jobs, ["eligibility-check", "membership-removal"]);
}

#[tokio::test]
async fn membership_removal_retires_paid_members_once() {
    let d = desk(250_000, 2, &[]).await;
    let db = &d.app.db;
    let paid = payout(db, d.members[0].0, "completed").await;
    let recent = payout(db, d.members[1].0, "completed").await;
    sqlx::query("UPDATE payout_management SET completed_date = now() - interval '13 months' WHERE payout_id = $1").bind(&paid).execute(db).await.unwrap();
    sqlx::query("UPDATE payout_management SET completed_date = now() - interval '11 months' WHERE payout_id = $1").bind(&recent).execute(db).await.unwrap();
    let mut env = base_env(&d.app.database_url);
    env.insert("SUBSCRIPTION_SERVICE_URL".into(), d.standin.url.clone());
    let settings = payout_service::config::Settings::from_map(&env, payout_service::config::Purpose::Serve).unwrap();
    let ctx = payout_service::workflow::Context::new(&settings, db.clone());
    let state = payout_service::jobs::Scheduler::new(&settings, ctx, "test-instance".into());
    use payout_service::jobs::scheduler::{run_slot, Job};
    let summary = run_slot(&state, Job::MembershipRemoval, chrono::Utc::now(), "manual").await.unwrap().unwrap();
    assert_eq!((summary["removed"].as_i64(), summary["subscriptionsCancelled"].as_i64()), (Some(1), Some(1)));
    let status: String = sqlx::query_scalar("SELECT status::text FROM users WHERE id = $1").bind(d.members[0].0.user_id).fetch_one(db).await.unwrap();
    assert_eq!(status, "Inactive");
    let other: String = sqlx::query_scalar("SELECT status::text FROM users WHERE id = $1").bind(d.members[1].0.user_id).fetch_one(db).await.unwrap();
    assert_eq!(other, "Active", "11 months is not yet 12");
    let processing: Value = sqlx::query_scalar("SELECT processing FROM payout_management WHERE payout_id = $1").bind(&paid).fetch_one(db).await.unwrap();
    assert_eq!(processing["membershipRemoved"], true);
    assert_eq!(processing["subscriptionCancellation"]["ok"], true);
    assert_eq!(d.standin.cancels.lock().unwrap().clone(), vec![d.uid(0)]);
    assert_eq!(count(db, "SELECT count(*) FROM payout_email_outbox WHERE template = 'membership_removed'").await, 1);
    assert_eq!(count(db, "SELECT count(*) FROM user_audit_logs WHERE action = 'membership_removed'").await, 1);
    // Twice the same day: nothing more happens.
    let again = run_slot(&state, Job::MembershipRemoval, chrono::Utc::now() + Duration::seconds(1), "manual").await.unwrap().unwrap();
    assert_eq!(again["removed"], 0);
    assert_eq!(d.standin.cancels.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_slot_missed_while_every_instance_was_down_runs_at_start() {
    let url = fresh_database(APP_TEMPLATE).await;
    let mut env = base_env(&url);
    env.insert("ENABLE_CRON_JOBS".into(), "true".into());
    let app = spawn_app_with_background(env).await;
    assert!(eventually(10, || async { count(&app.db, "SELECT count(*) FROM payout_job_slots WHERE trigger = 'catch_up'").await == 2 }).await);
    let slot: chrono::DateTime<chrono::Utc> = sqlx::query_scalar("SELECT slot FROM payout_job_slots WHERE job_name = 'eligibility-check'").fetch_one(&app.db).await.unwrap();
    assert_eq!(slot.format("%H:%M:%S").to_string(), "02:00:00", "the missed 02:00 slot");
}

/// SPEC §13: outbox claims are fenced. Once a claim's lease ran out and another instance took
/// the message, the first can neither renew, send-record, give back nor fail it; the new holder
/// can. The batch statements (renew, record sent) settle only the pairs still held.
#[tokio::test]
async fn a_stale_sender_can_neither_send_nor_settle_a_message_taken_over() {
    use payout_service::db::outbox;
    let url = fresh_database(APP_TEMPLATE).await;
    let db = sqlx::PgPool::connect(&url).await.unwrap();
    queue_emails(&db, 1).await;
    let a = outbox::claim_batch(&db, "instance-a", 0.3, 10).await.unwrap().remove(0);
    assert_eq!(outbox::renew(&db, &[(a.id, a.claim_token)], 0.3).await.unwrap(), [a.id], "a live claim renews");
    assert!(outbox::claim_batch(&db, "instance-b", 60.0, 10).await.unwrap().is_empty(), "claimed messages are not claimed twice");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let b = outbox::claim_batch(&db, "instance-b", 60.0, 10).await.unwrap().remove(0);
    assert_eq!(b.id, a.id, "the expired claim was taken over");
    assert!(outbox::renew(&db, &[(a.id, a.claim_token)], 60.0).await.unwrap().is_empty(), "the stale instance may not send");
    assert!(outbox::mark_sent(&db, &[(a.id, a.claim_token)]).await.unwrap().is_empty());
    assert_eq!(outbox::release(&db, &[(a.id, a.claim_token)]).await.unwrap(), 0, "nor give it back");
    let mut tx = db.begin().await.unwrap();
    assert!(!outbox::mark_failed(&mut tx, a.id, a.claim_token, "stale").await.unwrap());
    tx.commit().await.unwrap();
    outbox::schedule_retry(&db, a.id, a.claim_token, "stale", 600.0).await.unwrap();
    let row: (String, Option<String>, i32) = sqlx::query_as("SELECT status, last_error, attempts FROM payout_email_outbox WHERE id = $1").bind(a.id).fetch_one(&db).await.unwrap();
    assert_eq!(row, ("pending".to_string(), None, 2), "the stale instance changed nothing");
    // One statement for a batch: the stale pair is skipped, the held one is recorded.
    let recorded = outbox::mark_sent(&db, &[(a.id, a.claim_token), (b.id, b.claim_token)]).await.unwrap();
    assert_eq!(recorded, [b.id], "the holder records the send");
    assert_eq!(count(&db, "SELECT count(*) FROM payout_email_outbox WHERE status = 'sent'").await, 1);
}

/// Issue 15: a backlog of several batches goes out back to back. After a full batch the sender
/// claims again at once instead of sleeping its poll interval — ten minutes here, so four
/// batches would take half an hour if it slept between them.
#[tokio::test]
async fn a_backlog_of_several_batches_goes_out_without_waiting_a_poll_interval() {
    use payout_service::notify::sender::BATCH;
    let smtp = SmtpServer::start(free_port()).await;
    let url = fresh_database(APP_TEMPLATE).await;
    let db = sqlx::PgPool::connect(&url).await.unwrap();
    let n = 3 * BATCH as usize + 50;
    // Queued before the sender starts: its first claim finds them all due.
    queue_emails(&db, n).await;
    let mut env = base_env(&url);
    with_smtp(&mut env, smtp.port);
    env.insert("OUTBOX_POLL_INTERVAL_MS".into(), "600000".into());
    let _sender = spawn_app_with_background(env).await;
    let sent = || async { count(&db, "SELECT count(*) FROM payout_email_outbox WHERE status = 'sent'").await };
    assert!(eventually(180, || async { sent().await == n as i64 }).await, "{} of {n} sent: the sender waited between batches", sent().await);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let ids: Vec<String> = smtp.messages().iter().map(|m| m.header("Message-ID").unwrap()).collect();
    assert_eq!(ids.len(), n, "each delivered once");
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), n);
    assert_eq!(count(&db, "SELECT count(*) FROM payout_email_outbox WHERE attempts <> 1").await, 0, "every message on its first attempt");
}

/// Issue 15: the messages of a batch share SMTP connections — one per lane, kept for the whole
/// batch — instead of opening one each.
#[tokio::test]
async fn the_messages_of_a_batch_share_smtp_connections() {
    use payout_service::notify::sender::LANES;
    let smtp = SmtpServer::start(free_port()).await;
    let url = fresh_database(APP_TEMPLATE).await;
    let db = sqlx::PgPool::connect(&url).await.unwrap();
    let n = 60;
    queue_emails(&db, n).await;
    let mut env = base_env(&url);
    with_smtp(&mut env, smtp.port);
    let _sender = spawn_app_with_background(env).await;
    assert!(eventually(60, || async { count(&db, "SELECT count(*) FROM payout_email_outbox WHERE status = 'sent'").await == n as i64 }).await);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(smtp.messages().len(), n);
    let connections = smtp.connections();
    assert!((1..=LANES).contains(&connections), "{n} messages in one batch over {connections} SMTP connections (at most {LANES})");
}

/// SPEC §13 with a batch that outlasts its lease: the SMTP server takes 0.8 s a message, so a
/// batch of 40 over four connections takes about two leases (4 s each). The sender renews the
/// batch's claims as it goes, so a second instance never takes one over, and every message
/// arrives once.
#[tokio::test]
async fn a_batch_that_outlasts_its_lease_is_renewed_and_no_message_goes_out_twice() {
    let smtp = SmtpServer::start(free_port()).await;
    let url = fresh_database(APP_TEMPLATE).await;
    let db = sqlx::PgPool::connect(&url).await.unwrap();
    let n = 40;
    queue_emails(&db, n).await;
    smtp.stall_next(n, std::time::Duration::from_millis(800));
    let mut env = base_env(&url);
    with_smtp(&mut env, smtp.port);
    // A 2 s SMTP timeout: each slow send still ends well inside it.
    env.insert("EMAIL_LEASE_SECS".into(), "4".into());
    let _a = spawn_app_with_background(env.clone()).await;
    let _b = spawn_app_with_background(env).await;
    assert!(eventually(60, || async { count(&db, "SELECT count(*) FROM payout_email_outbox WHERE status = 'sent'").await == n as i64 }).await);
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(smtp.stalled(), n, "every send was slow");
    let ids: Vec<String> = smtp.messages().iter().map(|m| m.header("Message-ID").unwrap()).collect();
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), n, "every email arrived");
    assert_eq!(ids.len(), n, "and none twice");
    assert_eq!(count(&db, "SELECT count(*) FROM payout_email_outbox WHERE attempts <> 1").await, 0, "each on its first claim: the lease was renewed, never lapsed");
}

/// Issue 15: on shutdown a sender starts no further message of its batch and gives the rest back
/// at once, their attempt not counted, so another instance sends them without waiting for the
/// lease (two minutes) to run out.
#[tokio::test]
async fn on_shutdown_the_unsent_rest_of_a_batch_is_given_back_at_once() {
    let smtp = SmtpServer::start(free_port()).await;
    let url = fresh_database(APP_TEMPLATE).await;
    let db = sqlx::PgPool::connect(&url).await.unwrap();
    let n = 40;
    queue_emails(&db, n).await;
    // A slow server: 0.3 s a message, so the batch is far from done when the signal comes.
    smtp.stall_next(n, std::time::Duration::from_millis(300));
    let mut env = base_env(&url);
    with_smtp(&mut env, smtp.port);
    let a = spawn_app_with_background(env.clone()).await;
    assert!(eventually(20, || async { smtp.messages().len() >= 4 }).await, "the first instance is sending");
    a.shutdown.send(true).unwrap();
    let settled = "SELECT count(*) FROM payout_email_outbox WHERE status = 'sent' OR (status = 'pending' AND claimed_until IS NULL AND attempts = 0)";
    assert!(eventually(20, || async { count(&db, settled).await == n as i64 }).await, "every message is either sent or given back untried");
    let given_back = count(&db, "SELECT count(*) FROM payout_email_outbox WHERE status = 'pending'").await;
    assert!(given_back >= 10, "{given_back} given back: the first instance stopped starting sends");
    let _b = spawn_app_with_background(env).await;
    assert!(eventually(60, || async { count(&db, "SELECT count(*) FROM payout_email_outbox WHERE status = 'sent'").await == n as i64 }).await, "the second instance sends the rest without waiting for the lease");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let ids: Vec<String> = smtp.messages().iter().map(|m| m.header("Message-ID").unwrap()).collect();
    assert_eq!(ids.len(), n, "each delivered once");
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), n);
    assert_eq!(count(&db, "SELECT count(*) FROM payout_email_outbox WHERE attempts <> 1").await, 0, "one attempt each: the given-back claims did not count");
}

/// SPEC §13 with sends recorded in batches: a send the SMTP server accepted whose "sent" cannot
/// be written (here the column is renamed away, so only that write fails) is written before
/// anything new is claimed. Meanwhile its lease runs out, yet it is not sent again, and a
/// message queued meanwhile waits; once the write succeeds both are settled, each sent once.
#[tokio::test]
async fn an_accepted_send_that_cannot_be_recorded_is_recorded_before_anything_new_is_claimed() {
    let smtp = SmtpServer::start(free_port()).await;
    let url = fresh_database(APP_TEMPLATE).await;
    let db = sqlx::PgPool::connect(&url).await.unwrap();
    queue_emails(&db, 1).await;
    sqlx::query("ALTER TABLE payout_email_outbox RENAME COLUMN sent_at TO sent_at_away").execute(&db).await.unwrap();
    let mut env = base_env(&url);
    with_smtp(&mut env, smtp.port);
    env.insert("EMAIL_LEASE_SECS".into(), "2".into());
    let _sender = spawn_app_with_background(env).await;
    assert!(eventually(20, || async { smtp.messages().len() == 1 }).await, "the first message went out");
    sqlx::query("INSERT INTO payout_email_outbox (dedupe_key, template, recipient, subject, body_text) VALUES ('test:later', 'test', 'later@tenure.test', 'Later', 'Later')")
        .execute(&db)
        .await
        .unwrap();
    // Twice the lease: the first claim has run out.
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    assert_eq!(smtp.messages().len(), 1, "not sent again, and nothing new claimed while a send is unrecorded");
    assert_eq!(count(&db, "SELECT count(*) FROM payout_email_outbox WHERE status = 'pending'").await, 2);
    sqlx::query("ALTER TABLE payout_email_outbox RENAME COLUMN sent_at_away TO sent_at").execute(&db).await.unwrap();
    assert!(eventually(20, || async { count(&db, "SELECT count(*) FROM payout_email_outbox WHERE status = 'sent'").await == 2 }).await);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let to: Vec<String> = smtp.messages().iter().map(|m| m.to[0].clone()).collect();
    assert_eq!(to, ["member0@tenure.test", "later@tenure.test"], "each sent once, the later one after the first was recorded");
    let first: i32 = sqlx::query_scalar("SELECT attempts FROM payout_email_outbox WHERE dedupe_key = 'test:0'").fetch_one(&db).await.unwrap();
    assert_eq!(first, 1, "recorded under its first claim, never claimed again");
}

/// SPEC §13: a slot runs to completion once. A run whose instance died (its lease ran out) or
/// that failed is claimed again and finished; a live claim and a finished slot are left alone.
#[tokio::test]
async fn a_slot_whose_instance_died_or_failed_is_finished_by_another() {
    use payout_service::jobs::scheduler::{run_slot, Job};
    let url = fresh_database(APP_TEMPLATE).await;
    let db = sqlx::PgPool::connect(&url).await.unwrap();
    let mut env = base_env(&url);
    env.insert("JOB_LEASE_SECS".into(), "30".into());
    let settings = payout_service::config::Settings::from_map(&env, payout_service::config::Purpose::Serve).unwrap();
    let survivor = payout_service::jobs::Scheduler::new(&settings, payout_service::workflow::Context::new(&settings, db.clone()), "survivor".into());
    let slot = |h: u32| chrono::Utc::now().date_naive().and_hms_opt(h, 0, 0).unwrap().and_utc() - Duration::days(1);
    let insert = |h: u32, outcome: &'static str, lease: &'static str| {
        let db = db.clone();
        async move {
            sqlx::query(&format!("INSERT INTO payout_job_slots (job_name, slot, claimed_by, outcome, lease_until, finished_at) VALUES ('eligibility-check', $1, 'dead', '{outcome}', {lease}, CASE WHEN '{outcome}' = 'running' THEN NULL ELSE now() - interval '1 hour' END)"))
                .bind(slot(h)).execute(&db).await.unwrap();
        }
    };
    insert(1, "running", "now() - interval '1 minute'").await;
    insert(2, "failed", "NULL").await;
    insert(3, "running", "now() + interval '5 minutes'").await;
    insert(4, "succeeded", "NULL").await;
    assert!(run_slot(&survivor, Job::EligibilityCheck, slot(1), "catch_up").await.unwrap().is_some(), "the dead instance's run is taken over");
    assert!(run_slot(&survivor, Job::EligibilityCheck, slot(2), "catch_up").await.unwrap().is_some(), "a failed run is run again");
    assert!(run_slot(&survivor, Job::EligibilityCheck, slot(3), "catch_up").await.unwrap().is_none(), "a live claim is left alone");
    assert!(run_slot(&survivor, Job::EligibilityCheck, slot(4), "catch_up").await.unwrap().is_none(), "a finished slot never runs again");
    let rows: Vec<(String, String, i32)> = sqlx::query_as("SELECT outcome, claimed_by, attempts FROM payout_job_slots ORDER BY slot").fetch_all(&db).await.unwrap();
    assert_eq!(rows[0], ("succeeded".into(), "survivor".into(), 2));
    assert_eq!(rows[1], ("succeeded".into(), "survivor".into(), 2));
    assert_eq!((rows[2].0.as_str(), rows[2].1.as_str()), ("running", "dead"));
    assert_eq!(rows[3].1, "dead");
}

/// SPEC §13: the subscription cancel after a removal is durable — recorded as owed with the
/// removal, retried with backoff until the service accepts it, shown in health, and given up
/// after a day with one admin alert.
#[tokio::test]
async fn a_refused_subscription_cancel_is_retried_until_accepted_or_given_up() {
    let d = desk(250_000, 2, &[]).await;
    let db = &d.app.db;
    let paid = payout(db, d.members[0].0, "completed").await;
    sqlx::query("UPDATE payout_management SET completed_date = now() - interval '13 months' WHERE payout_id = $1").bind(&paid).execute(db).await.unwrap();
    let mut env = base_env(&d.app.database_url);
    env.insert("SUBSCRIPTION_SERVICE_URL".into(), d.standin.url.clone());
    env.insert("CANCEL_RETRY_INTERVAL_SECS".into(), "60".into());
    let settings = payout_service::config::Settings::from_map(&env, payout_service::config::Purpose::Serve).unwrap();
    let ctx = payout_service::workflow::Context::new(&settings, db.clone());
    let jobs = payout_service::jobs::Scheduler::new(&settings, ctx.clone(), "test-instance".into());
    d.standin.set_cancel_status(503);
    use payout_service::jobs::scheduler::{run_slot, Job};
    let summary = run_slot(&jobs, Job::MembershipRemoval, chrono::Utc::now(), "manual").await.unwrap().unwrap();
    assert_eq!((summary["removed"].as_i64(), summary["cancellationsFailed"].as_i64()), (Some(1), Some(1)));
    let record = |db: sqlx::PgPool, id: String| async move {
        sqlx::query_scalar::<_, Value>("SELECT processing -> 'subscriptionCancellation' FROM payout_management WHERE payout_id = $1").bind(id).fetch_one(&db).await.unwrap()
    };
    let owed = record(db.clone(), paid.clone()).await;
    assert_eq!((owed["state"].as_str(), owed["attempts"].as_i64(), owed["status"].as_i64()), (Some("pending"), Some(1), Some(503)), "{owed}");
    assert!(owed["nextAttemptAt"].as_str().is_some());
    let health: Value = d.app.get("/api/health").await.json().await.unwrap();
    assert_eq!(health["data"]["cancellations"]["pending"], 1);
    // Not due yet: the backoff holds the next try.
    let pass = payout_service::jobs::removal::retry_cancellations(&ctx, std::time::Duration::from_secs(60)).await.unwrap();
    assert_eq!((pass.cancelled, pass.failed), (0, 0));
    // Due, and the service accepts now.
    sqlx::query("UPDATE payout_management SET processing = jsonb_set(processing, '{subscriptionCancellation,nextAttemptAt}', to_jsonb(now() - interval '1 second')) WHERE payout_id = $1").bind(&paid).execute(db).await.unwrap();
    d.standin.set_cancel_status(200);
    let pass = payout_service::jobs::removal::retry_cancellations(&ctx, std::time::Duration::from_secs(60)).await.unwrap();
    assert_eq!(pass.cancelled, 1, "{pass:?} {}", record(db.clone(), paid.clone()).await);
    let done = record(db.clone(), paid.clone()).await;
    assert_eq!((done["state"].as_str(), done["ok"].as_bool(), done["attempts"].as_i64()), (Some("done"), Some(true), Some(2)));
    // A cancel refused for more than a day is given up with one alert.
    sqlx::query("UPDATE payout_management SET processing = jsonb_set(processing, '{subscriptionCancellation}', jsonb_build_object('state', 'pending', 'attempts', 9, 'requestedAt', to_jsonb(now() - interval '25 hours'))) WHERE payout_id = $1").bind(&paid).execute(db).await.unwrap();
    d.standin.set_cancel_status(500);
    let pass = payout_service::jobs::removal::retry_cancellations(&ctx, std::time::Duration::from_secs(60)).await.unwrap();
    assert_eq!(pass.given_up, 1);
    assert_eq!(record(db.clone(), paid.clone()).await["state"], "failed");
    assert_eq!(count(db, "SELECT count(*) FROM admin_alerts WHERE metadata ->> 'kind' = 'subscription_cancel_failed'").await, 1);
    // Health reads its details at most once a second: the new counts show within that.
    let counts = || async {
        let health: Value = d.app.get("/api/health").await.json().await.unwrap();
        (health["data"]["cancellations"]["pending"].as_i64(), health["data"]["cancellations"]["failed"].as_i64()) == (Some(0), Some(1))
    };
    assert!(eventually(5, counts).await, "health shows the given-up cancel");
}

/// Issue 14: the "completed" email goes out with its receipt rendered at send time; when a return
/// was recorded before it went out, it is withdrawn (never sent), and the failure email is.
#[tokio::test]
async fn a_completed_email_whose_payout_failed_meanwhile_is_withdrawn() {
    let smtp = SmtpServer::start(free_port()).await;
    let d = desk(250_000, 1, &[]).await;
    let id = d.create(&[0]).await.remove(0);
    crate::tax_reports::complete(&d, 0, &id, true).await;
    let (status, answer) = d.post(&d.manager, &format!("/api/payouts/{id}/mark-failed"), json!({ "reason": "Account closed", "returnCode": "R02" })).await;
    assert_eq!(status, 200, "{answer}");
    let mut env = base_env(&d.app.database_url);
    with_smtp(&mut env, smtp.port);
    let _sender = spawn_app_with_background(env).await;
    let drained = eventually(30, || async { count(&d.app.db, "SELECT count(*) FROM payout_email_outbox WHERE status = 'pending'").await == 0 }).await;
    assert!(drained, "the outbox drains");
    let withdrawn = "SELECT count(*) FROM payout_email_outbox WHERE template = 'payout_completed' AND status = 'withdrawn' AND last_error LIKE '%no longer completed%'";
    assert_eq!(count(&d.app.db, withdrawn).await, 1, "the completed email is withdrawn with its reason");
    assert_eq!(count(&d.app.db, "SELECT count(*) FROM payout_email_outbox WHERE status NOT IN ('sent', 'withdrawn')").await, 0, "everything else went out");
    let messages = smtp.messages();
    let subjects: Vec<String> = messages.iter().filter(|m| m.to == ["member0@tenure.test"]).filter_map(|m| m.header("Subject")).collect();
    assert!(!subjects.iter().any(|s| s.contains("is complete")), "the member is never told it is complete: {subjects:?}");
    assert!(subjects.iter().any(|s| s.contains("could not be delivered")), "the member hears of the failure: {subjects:?}");
    let receipts = count(&d.app.db, &format!("SELECT count(*) FROM payout_management, jsonb_array_elements(audit_trail) e WHERE payout_id = '{id}' AND e->>'action' = 'receipt_issued'")).await;
    assert_eq!(receipts, 0, "no receipt was issued for a payment that failed");
}
