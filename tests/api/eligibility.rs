//! SPEC §2, §5 and the eligibility rows of §10, against real PostgreSQL and a real HTTP stand-in.

use std::str::FromStr;
use std::time::Duration;

use chrono::Duration as Days;
use payout_service::clients::subscription::{BreakerState, SubscriptionClient};
use payout_service::domain::eligibility::RevenueSource;
use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::support::harness::*;
use crate::support::members::*;
use crate::support::scene::*;
use crate::support::standin::{Answer, StandIn};

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

#[tokio::test]
async fn revenue_comes_from_the_subscription_service_or_falls_back_to_the_database() {
    let db = db_with_revenue(4321).await;
    let standin = StandIn::start(Answer::Total(json!(250000.75))).await;
    let client = SubscriptionClient::new(&standin.url, Duration::from_millis(300));

    let r = client.total_revenue(&db).await.unwrap();
    assert_eq!((r.total, r.source), (dec("250000.75"), RevenueSource::SubscriptionService));

    standin.set(Answer::Total(json!("180000.10")));
    assert_eq!(client.total_revenue(&db).await.unwrap().total, dec("180000.10"), "numeric strings are read exactly");

    for (answer, what) in [
        (Answer::Status(500), "a 500"),
        (Answer::Slow(Duration::from_secs(2), json!(999999)), "a timeout"),
        (Answer::Total(json!(0)), "a zero"),
        (Answer::Total(json!(-5)), "a negative"),
        (Answer::Malformed, "malformed JSON"),
        (Answer::Total(json!("lots")), "a non-number"),
    ] {
        let client = SubscriptionClient::new(&standin.url, Duration::from_millis(300));
        standin.set(answer);
        let r = client.total_revenue(&db).await.unwrap();
        assert_eq!((r.total, r.source), (dec("4321"), RevenueSource::Database), "{what}");
    }

    let refused = SubscriptionClient::new(&format!("http://127.0.0.1:{}", free_port()), Duration::from_millis(300));
    let r = refused.total_revenue(&db).await.unwrap();
    assert_eq!((r.total, r.source), (dec("4321"), RevenueSource::Database), "connection refused");
}

#[tokio::test]
async fn the_breaker_opens_after_five_failures_and_closes_after_a_good_trial() {
    let db = db_with_revenue(1000).await;
    let standin = StandIn::start(Answer::Status(503)).await;
    let client = SubscriptionClient::with_open_period(&standin.url, Duration::from_millis(300), Duration::from_millis(600));
    for _ in 0..5 {
        assert_eq!(client.total_revenue(&db).await.unwrap().source, RevenueSource::Database);
    }
    assert_eq!(standin.hits(), 5);
    assert_eq!(client.breaker_state(), BreakerState::Open);
    // Open: the service is not called at all, the database answers.
    standin.set(Answer::Total(json!(300000)));
    assert_eq!(client.total_revenue(&db).await.unwrap().source, RevenueSource::Database);
    assert_eq!(standin.hits(), 5, "no call while open");
    // After the open period one trial goes through; success closes the breaker.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(client.breaker_state(), BreakerState::HalfOpen);
    let r = client.total_revenue(&db).await.unwrap();
    assert_eq!((r.total, r.source), (dec("300000"), RevenueSource::SubscriptionService));
    assert_eq!(client.breaker_state(), BreakerState::Closed);
    // A failed trial reopens at once.
    standin.set(Answer::Status(500));
    for _ in 0..5 {
        client.total_revenue(&db).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    client.total_revenue(&db).await.unwrap();
    assert_eq!(client.breaker_state(), BreakerState::Open, "failed trial");
}

#[tokio::test]
async fn status_reports_every_field_and_the_reason() {
    let s = scene(json!(250000), "2024-01-01").await;
    for i in 0..3 {
        MemberSpec::new(&format!("m{i}@tenure.test"), 14 - i).insert(&s.app.db).await;
    }
    let (status, body) = s.get(&s.member, "/api/eligibility/status").await;
    assert_eq!(status, 200, "any signed-in user");
    let e = &body["data"];
    assert_eq!(e["isEligible"], true);
    assert_eq!(e["totalRevenue"], "250000.00");
    assert_eq!(e["revenueSource"], "subscription_service");
    assert_eq!(e["revenueThreshold"], "100000.00");
    assert_eq!(e["meetsRevenueRequirement"], true);
    assert_eq!(e["meetsTimeRequirement"], true);
    assert_eq!(e["timeThresholdMonths"], 12);
    assert_eq!(e["potentialWinners"], 2);
    assert_eq!(e["committedPayouts"], 0);
    assert_eq!(e["availablePayouts"], 2);
    assert_eq!(e["eligibleMemberCount"], 3);
    assert!(e["companyAgeMonths"].as_i64().unwrap() >= 34);
    assert!(e["nextCheckDate"].as_str().unwrap().contains("T02:00:00"), "next 02:00 UTC: {}", e["nextCheckDate"]);
    assert!(e.get("reason").is_none());

    s.standin.set(Answer::Total(json!(99999.99)));
    let (_, body) = s.get(&s.member, "/api/eligibility/status").await;
    assert_eq!(body["data"]["isEligible"], false);
    assert_eq!(body["data"]["reason"], "Revenue is $0.01 short of the $100,000.00 threshold");
    assert_eq!(s.get("", "/api/eligibility/status").await.0, 401);
}

#[tokio::test]
async fn committed_payouts_are_subtracted_and_available_never_exceeds_selectable() {
    let s = scene(json!(300000), "2024-01-01").await;
    let a = MemberSpec::new("a@tenure.test", 15).insert(&s.app.db).await;
    let b = MemberSpec::new("b@tenure.test", 14).insert(&s.app.db).await;
    MemberSpec::new("c@tenure.test", 13).insert(&s.app.db).await;
    payout(&s.app.db, a, "approved").await;
    payout(&s.app.db, b, "rejected").await;
    let (_, body) = s.get(&s.member, "/api/eligibility/status").await;
    let e = &body["data"];
    assert_eq!((e["potentialWinners"].as_i64(), e["committedPayouts"].as_i64()), (Some(3), Some(1)));
    assert_eq!(e["eligibleMemberCount"], 2, "a has a payout in progress");
    assert_eq!(e["availablePayouts"], 2);

    // Revenue for 3 rewards but one selectable member: one available.
    sqlx::query("UPDATE kyc_verification SET status = 'pending' WHERE user_id = $1").bind(b.user_id).execute(&s.app.db).await.unwrap();
    let (_, body) = s.get(&s.member, "/api/eligibility/status").await;
    assert_eq!((body["data"]["eligibleMemberCount"].as_i64(), body["data"]["availablePayouts"].as_i64()), (Some(1), Some(1)));

    // Everything funded is committed: not eligible, and it says so.
    s.standin.set(Answer::Total(json!(100000)));
    let (_, body) = s.get(&s.member, "/api/eligibility/status").await;
    assert_eq!(body["data"]["isEligible"], false);
    assert_eq!(body["data"]["reason"], "No payouts available: revenue funds 1, 1 already committed");
}

#[tokio::test]
async fn a_young_company_is_told_how_many_months_to_go() {
    let launch = (chrono::Utc::now() - chrono::Months::new(10)).date_naive().to_string();
    let s = scene(json!(500000), &launch).await;
    MemberSpec::new("early@tenure.test", 9).insert(&s.app.db).await;
    let (_, body) = s.get(&s.member, "/api/eligibility/status").await;
    assert_eq!(body["data"]["companyAgeMonths"], 10);
    assert_eq!(body["data"]["meetsTimeRequirement"], false);
    assert_eq!(body["data"]["reason"], "2 more months until the company is 12 months old");
}

#[tokio::test]
async fn members_come_in_queue_order_with_blockers_w9_and_address() {
    let s = scene(json!(350000), "2024-01-01").await;
    let db = &s.app.db;
    let first = MemberSpec::new("first@tenure.test", 20).insert(db).await;
    let pending_kyc = MemberSpec::new("pendingkyc@tenure.test", 19).kyc(Some("pending")).w9(Some("pending")).insert(db).await;
    let no_kyc = MemberSpec::new("nokyc@tenure.test", 18).kyc(None).no_address().insert(db).await;
    let expired = MemberSpec { kyc_expires_at: Some(chrono::Utc::now() - Days::days(1)), ..MemberSpec::new("expiredkyc@tenure.test", 17) }.insert(db).await;
    let in_progress = MemberSpec::new("inprogress@tenure.test", 16).insert(db).await;
    let paid = MemberSpec::new("paid@tenure.test", 15).insert(db).await;
    let last = MemberSpec::new("last@tenure.test", 14).w9(None).insert(db).await;
    MemberSpec::new("lapsed@tenure.test", 21).subscription("past_due").insert(db).await;
    payout(db, in_progress, "payment_failed").await;
    payout(db, paid, "completed").await;
    lagging_queue_view(db).await;
    // A newer KYC row wins over an older verified one.
    sqlx::query("INSERT INTO kyc_verification (id, user_id, status, created_at, updated_at) VALUES (gen_random_uuid(), $1, 'verified', now() - interval '30 days', now() - interval '30 days')")
        .bind(pending_kyc.user_id).execute(db).await.unwrap();

    let (status, body) = s.get(&s.support, "/api/eligibility/members").await;
    assert_eq!(status, 200, "Support is a finance role: {body}");
    let data = &body["data"];
    let members = data["members"].as_array().unwrap();
    let emails: Vec<&str> = members.iter().map(|m| m["email"].as_str().unwrap()).collect();
    assert_eq!(emails, ["first@tenure.test", "pendingkyc@tenure.test", "nokyc@tenure.test", "expiredkyc@tenure.test", "inprogress@tenure.test", "paid@tenure.test", "last@tenure.test"], "queue order; the lapsed subscription is not in the queue");
    let positions: Vec<i64> = members.iter().map(|m| m["queuePosition"].as_i64().unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]));
    let by = |email: &str| members.iter().find(|m| m["email"] == email).unwrap().clone();
    assert_eq!((by("first@tenure.test")["selectable"].clone(), by("first@tenure.test")["blockers"].clone()), (json!(true), json!([])));
    assert_eq!(by("pendingkyc@tenure.test")["blockers"], json!(["kyc_not_verified"]));
    assert_eq!(by("pendingkyc@tenure.test")["hasW9"], false, "a pending W-9 is not on file");
    assert_eq!(by("nokyc@tenure.test")["blockers"], json!(["kyc_not_verified"]));
    assert_eq!(by("nokyc@tenure.test")["hasPrimaryAddress"], false);
    assert_eq!(by("expiredkyc@tenure.test")["blockers"], json!(["kyc_not_verified"]));
    assert_eq!(by("inprogress@tenure.test")["blockers"], json!(["payout_in_progress"]));
    assert_eq!(by("paid@tenure.test")["blockers"], json!(["already_paid"]));
    assert_eq!(by("last@tenure.test")["selectable"], true);
    assert_eq!(by("last@tenure.test")["hasW9"], false);
    assert_eq!(by("first@tenure.test")["hasW9"], true);
    assert_eq!(by("first@tenure.test")["lifetimePaymentTotal"], "10000.00");
    assert_eq!(by("first@tenure.test")["userId"], first.user_id.to_string());
    assert_eq!(data["total"], 7);
    assert_eq!(data["selectableCount"], 2);
    assert_eq!(data["availablePayouts"], 1, "3 funded, 2 committed (the failed and the completed payout), 2 selectable");
    let _ = (no_kyc, expired, last);

    let (_, page) = s.get(&s.admin, "/api/eligibility/members?limit=2&offset=2").await;
    let emails: Vec<&str> = page["data"]["members"].as_array().unwrap().iter().map(|m| m["email"].as_str().unwrap()).collect();
    assert_eq!(emails, ["nokyc@tenure.test", "expiredkyc@tenure.test"]);
    let (status, body) = s.get(&s.admin, "/api/eligibility/members?limit=0&offset=-1").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["details"].as_array().unwrap().len(), 2, "both bad fields listed");
    let (status, body) = s.get(&s.member, "/api/eligibility/members").await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("FORBIDDEN")));
}

#[tokio::test]
async fn the_manual_check_logs_every_run_and_alerts_once_a_day() {
    let s = scene(json!(250000), "2024-01-01").await;
    MemberSpec::new("winner@tenure.test", 15).insert(&s.app.db).await;
    let (status, body) = s.post(&s.admin, "/api/eligibility/check").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["eligibility"]["isEligible"], true);
    assert_eq!(body["data"]["alertCreated"], true);
    let alert_id = body["data"]["alertId"].as_str().unwrap().to_string();

    let db = &s.app.db;
    let (category, kind, available): (String, String, i64) = sqlx::query_as(
        "SELECT category, metadata->>'kind', (metadata->>'availablePayouts')::bigint FROM admin_alerts WHERE alert_id = $1",
    )
    .bind(&alert_id)
    .fetch_one(db)
    .await
    .unwrap();
    assert_eq!((category.as_str(), kind.as_str(), available), ("payment", "payout_eligible", 1));
    let recipients: Vec<String> = sqlx::query_scalar("SELECT recipient FROM payout_email_outbox WHERE template = 'eligibility_reached' ORDER BY recipient")
        .fetch_all(db).await.unwrap();
    assert_eq!(recipients, ["boss@tenure.test", "help@tenure.test"], "every admin");
    let subject: String = sqlx::query_scalar("SELECT subject FROM payout_email_outbox LIMIT 1").fetch_one(db).await.unwrap();
    assert!(subject.contains("1 reward"), "{subject}");

    // Again the same day: logged again, but no second alert and no second email.
    let (_, body) = s.post(&s.admin, "/api/eligibility/check").await;
    assert_eq!(body["data"]["alertCreated"], false);
    assert_eq!(body["data"]["alertId"], alert_id.as_str());
    let (alerts, emails): (i64, i64) = sqlx::query_as("SELECT (SELECT count(*) FROM admin_alerts), (SELECT count(*) FROM payout_email_outbox)").fetch_one(db).await.unwrap();
    assert_eq!((alerts, emails), (1, 2));

    let logs: Vec<(String, String, Option<i32>, Option<String>, Option<String>, bool, Value)> = sqlx::query_as(
        "SELECT entity_type, action, admin_id, host(ip_address), user_agent, success, metadata FROM user_audit_logs ORDER BY created_at",
    )
    .fetch_all(db)
    .await
    .unwrap();
    assert_eq!(logs.len(), 2, "one row per check");
    for (entity, action, admin_id, ip, agent, success, metadata) in &logs {
        assert_eq!((entity.as_str(), action.as_str(), *success), ("payout_eligibility", "eligibility_check", true));
        assert!(admin_id.is_some());
        assert_eq!(ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(agent.as_deref(), Some("elig-test/1.0"));
        assert!(metadata["requestId"].as_str().is_some_and(|r| !r.is_empty()));
    }

    let (status, _) = s.post(&s.support, "/api/eligibility/check").await;
    assert_eq!(status, 403, "Support is not an admin");
}

#[tokio::test]
async fn a_check_when_not_eligible_logs_but_does_not_alert() {
    let s = scene(json!(50000), "2024-01-01").await;
    let (_, body) = s.post(&s.admin, "/api/eligibility/check").await;
    assert_eq!(body["data"]["eligibility"]["isEligible"], false);
    assert!(body["data"].get("alertId").is_none());
    let (alerts, emails, logs): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM admin_alerts), (SELECT count(*) FROM payout_email_outbox), (SELECT count(*) FROM user_audit_logs)",
    )
    .fetch_one(&s.app.db)
    .await
    .unwrap();
    assert_eq!((alerts, emails, logs), (0, 0, 1));
}

#[tokio::test]
async fn concurrent_checks_raise_one_alert() {
    let s = scene(json!(250000), "2024-01-01").await;
    MemberSpec::new("winner@tenure.test", 15).insert(&s.app.db).await;
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let (client, url, token) = (s.app.client.clone(), s.app.url("/api/eligibility/check"), s.admin.clone());
            tokio::spawn(async move { client.post(url).bearer_auth(token).send().await.unwrap().status() })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    let (alerts, emails, logs): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM admin_alerts), (SELECT count(*) FROM payout_email_outbox), (SELECT count(*) FROM user_audit_logs)",
    )
    .fetch_one(&s.app.db)
    .await
    .unwrap();
    assert_eq!((alerts, emails, logs), (1, 2, 6));
}

#[tokio::test]
async fn a_member_with_two_memberships_counts_once_and_can_be_paid() {
    let s = scene(json!(250000), "2024-01-01").await;
    let m = MemberSpec::new("twice@tenure.test", 16).insert(&s.app.db).await;
    // A second membership (and subscription) for the same user.
    let sub = uuid::Uuid::new_v4();
    sqlx::query("INSERT INTO user_subscriptions (id, user_id, provider_subscription_id, provider_customer_id, status, current_period_start, current_period_end) VALUES ($1, $2, 'sub_2', 'cus_2', 'active', now(), now() + interval '1 month')")
        .bind(sub).bind(m.user_id).execute(&s.app.db).await.unwrap();
    sqlx::query("INSERT INTO user_memberships (id, user_id, subscription_id) VALUES (gen_random_uuid(), $1, $2)").bind(m.user_id).bind(sub).execute(&s.app.db).await.unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM active_member_queue_view WHERE user_id = $1").bind(m.user_id).fetch_one(&s.app.db).await.unwrap();
    assert_eq!(rows, 2, "the view has a row per membership");
    let (_, body) = s.get(&s.admin, "/api/eligibility/members").await;
    assert_eq!(body["data"]["total"], 1);
    assert_eq!(body["data"]["selectableCount"], 1);
    let res = s.app.client.post(s.app.url("/api/payouts")).bearer_auth(&s.admin).json(&json!({ "userIds": [m.user_id] })).send().await.unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
}
