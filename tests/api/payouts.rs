//! SPEC §4, §5, §7, §10: creating payouts and deciding on them, against real PostgreSQL.

use chrono::Duration;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::desk::*;
use crate::support::standin::Answer;

#[tokio::test]
async fn creating_a_payout_records_everything_and_tells_the_admins() {
    let d = desk(250_000, 3, &[]).await;
    let (status, body) = d
        .post(&d.creator, "/api/payouts", json!({ "userIds": [d.uid(0)], "notes": "First winner", "paymentMethod": "check" }))
        .await;
    assert_eq!(status, 201, "{body}");
    let data = &body["data"];
    assert_eq!(data["createdCount"], 1);
    let p = &data["payouts"][0];
    assert_eq!(p["payoutId"], data["payoutIds"][0]);
    assert!(p["payoutId"].as_str().unwrap().starts_with("PO-"));
    assert_eq!(p["status"], "pending_approval");
    assert_eq!(p["amount"], "100000.00");
    assert_eq!(p["currency"], "USD");
    assert_eq!(p["paymentMethod"], "check");
    assert_eq!(p["queuePosition"], 1);
    assert_eq!(p["membershipId"], d.members[0].0.membership_id.to_string());
    assert_eq!(p["createdBy"], d.creator_id);
    assert_eq!(p["member"]["email"], "member0@tenure.test");
    assert_eq!(p["approvalWorkflow"], json!({ "requiredApprovals": 2, "approvals": [], "rejection": null }));
    assert_eq!(p["internalNotes"][0]["note"], "First winner");
    let snap = &p["eligibilityCheck"];
    assert_eq!(snap["revenue"], "250000.00");
    assert_eq!(snap["revenueSource"], "subscription_service");
    assert_eq!(snap["queuePosition"], 1);
    assert_eq!(snap["kycStatus"], "verified");
    assert!(snap["tenureStartDate"].is_string() && snap["lifetimePaymentTotal"].is_string() && snap["checkedAt"].is_string());

    let payout_id = p["payoutId"].as_str().unwrap();
    let (_, audit) = d.get(&d.manager, &format!("/api/payouts/{payout_id}/audit")).await;
    assert_eq!(audit["data"]["chainValid"], true);
    assert_eq!(audit["data"]["entries"][0]["action"], "created");
    assert_eq!(audit["data"]["entries"][0]["actor"], format!("admin:{}", d.creator_id));
    assert_eq!(d.count("SELECT count(*) FROM user_audit_logs WHERE entity_type = 'payout' AND action = 'payout_created'").await, 1);
    let awaiting = d.count("SELECT count(*) FROM payout_email_outbox WHERE template = 'payout_awaiting_approval'").await;
    assert_eq!(awaiting, 2, "those who can approve hear a payout awaits approval");
    let recipients: Vec<String> = sqlx::query_scalar("SELECT recipient FROM payout_email_outbox WHERE template = 'payout_awaiting_approval' ORDER BY recipient")
        .fetch_all(&d.app.db).await.unwrap();
    assert_eq!(recipients, ["mia@tenure.test", "noah@tenure.test"], "the Manager and the other Super Admin; not Support, not the creator");
}

#[tokio::test]
async fn creation_rules_each_have_their_own_error_and_nothing_is_half_done() {
    let d = desk(250_000, 4, &[]).await;
    // 1st member not KYC-verified: the queue's first selectable is member 1.
    sqlx::query("UPDATE kyc_verification SET status = 'in_review' WHERE user_id = $1").bind(d.members[0].0.user_id).execute(&d.app.db).await.unwrap();

    let (status, body) = d.post(&d.creator, "/api/payouts", json!({ "userIds": [d.uid(0)] })).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("MEMBER_NOT_SELECTABLE")));
    assert_eq!(body["error"]["details"]["members"][0]["userId"], d.uid(0));
    assert_eq!(body["error"]["details"]["members"][0]["blockers"], json!(["kyc_not_verified"]));

    let (status, body) = d.post(&d.creator, "/api/payouts", json!({ "userIds": [d.uid(2)] })).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("QUEUE_ORDER_VIOLATION")), "member 1 would be skipped");
    assert_eq!(body["error"]["details"]["skippedMembers"][0]["userId"], d.uid(1));

    let (status, body) = d.post(&d.creator, "/api/payouts", json!({ "userIds": [d.uid(1), d.uid(2), d.uid(3)] })).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("EXCEEDS_AVAILABLE_PAYOUTS")));
    assert_eq!(body["error"]["details"]["availablePayouts"], 2);

    let (status, body) = d.post(&d.creator, "/api/payouts", json!({ "userIds": [d.uid(1), d.uid(1)] })).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("VALIDATION_ERROR")));
    assert_eq!(body["error"]["details"][0]["path"], "userIds[1]");

    let stranger = Uuid::new_v4().to_string();
    let (status, body) = d.post(&d.creator, "/api/payouts", json!({ "userIds": [d.uid(1), stranger] })).await;
    assert_eq!(status, 422, "one bad id fails the whole request: {body}");
    assert_eq!(body["error"]["details"]["members"][0]["blockers"], json!(["not_in_queue"]));

    let (status, body) = d.post(&d.creator, "/api/payouts", json!({ "userIds": ["nope"], "notes": 5, "paymentMethod": "wire" })).await;
    assert_eq!(status, 400);
    let paths: Vec<&str> = body["error"]["details"].as_array().unwrap().iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["userIds[0]", "notes", "paymentMethod"], "every bad field at once");
    assert_eq!(d.post(&d.creator, "/api/payouts", json!({})).await.0, 400);
    assert_eq!(d.count("SELECT count(*) FROM payout_management").await, 0, "nothing written by any failed request");

    d.standin.set(Answer::Total(json!(99_999)));
    let (status, body) = d.post(&d.creator, "/api/payouts", json!({ "userIds": [d.uid(1)] })).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("NOT_ELIGIBLE")));
    assert!(body["error"]["message"].as_str().unwrap().contains("short of"));

    let (status, body) = d.post(&d.support, "/api/payouts", json!({ "userIds": [d.uid(1)] })).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("FORBIDDEN")));
}

#[tokio::test]
async fn two_distinct_admins_approve_and_the_member_hears_once() {
    let d = desk(250_000, 2, &[]).await;
    let id = d.create(&[0]).await.remove(0);
    let path = format!("/api/payouts/{id}/approve");

    let (status, body) = d.post(&d.creator, &path, json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("SELF_APPROVAL_FORBIDDEN")));
    let (status, body) = d.post(&d.support, &path, json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("FORBIDDEN")));

    let (status, body) = d.post(&d.manager, &path, json!({ "comment": "Checked KYC" })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"], json!({ "payoutId": id, "status": "pending_approval", "currentApprovals": 1, "requiredApprovals": 2, "fullyApproved": false }));
    let (status, body) = d.post(&d.manager, &path, json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("ALREADY_APPROVED")));

    let res = d.app.client.post(d.app.url(&path)).bearer_auth(&d.second).send().await.unwrap();
    assert_eq!(res.status(), 200, "an empty body is fine for approve");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["data"]["status"], "approved");
    assert_eq!(body["data"]["fullyApproved"], true);

    let (_, p) = d.get(&d.manager, &format!("/api/payouts/{id}")).await;
    let approvals = p["data"]["approvalWorkflow"]["approvals"].as_array().unwrap();
    assert_eq!(approvals.len(), 2);
    assert_eq!(approvals[0]["comment"], "Checked KYC");
    assert_eq!(approvals[0]["role"], "Manager");
    assert!(approvals[0]["at"].is_string() && approvals[0]["email"] == "mia@tenure.test");

    let (status, body) = d.post(&d.second, &path, json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("INVALID_STATUS")), "approved is not pending");
    assert_eq!(d.count("SELECT count(*) FROM payout_email_outbox WHERE template = 'payout_approved' AND recipient = 'member0@tenure.test'").await, 1);
    let body: String = sqlx::query_scalar("SELECT body_text FROM payout_email_outbox WHERE template = 'payout_approved'").fetch_one(&d.app.db).await.unwrap();
    assert!(body.contains("What happens next") && body.contains("$100,000.00"), "{body}");
    let (_, audit) = d.get(&d.support, &format!("/api/payouts/{id}/audit")).await;
    let actions: Vec<&str> = audit["data"]["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["created", "approval_added", "approved"]);
    assert_eq!(d.count("SELECT count(*) FROM user_audit_logs WHERE entity_type = 'payout'").await, 3);
}

#[tokio::test]
async fn the_creator_may_approve_when_configured() {
    let d = desk(250_000, 1, &[("ALLOW_CREATOR_APPROVAL", "true")]).await;
    let id = d.create(&[0]).await.remove(0);
    let (status, body) = d.post(&d.creator, &format!("/api/payouts/{id}/approve"), json!({})).await;
    assert_eq!((status, body["data"]["currentApprovals"].as_i64()), (200, Some(1)));
}

#[tokio::test]
async fn reject_and_cancel_need_a_reason_and_end_the_payout() {
    let d = desk(350_000, 3, &[]).await;
    let ids = d.create(&[0, 1, 2]).await;
    let (status, body) = d.post(&d.manager, &format!("/api/payouts/{}/reject", ids[0]), json!({ "reason": "  " })).await;
    assert_eq!((status, body["error"]["details"][0]["path"].as_str()), (400, Some("reason")));
    let (status, body) = d.post(&d.manager, &format!("/api/payouts/{}/reject", ids[0]), json!({ "reason": "Duplicate account" })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["status"], "rejected");
    assert_eq!(body["data"]["approvalWorkflow"]["rejection"]["reason"], "Duplicate account");
    let reason: String = sqlx::query_scalar("SELECT body_text FROM payout_email_outbox WHERE template = 'payout_rejected'").fetch_one(&d.app.db).await.unwrap();
    assert!(reason.contains("Duplicate account"));
    for action in ["approve", "reject", "cancel"] {
        let (status, body) = d.post(&d.second, &format!("/api/payouts/{}/{action}", ids[0]), json!({ "reason": "x" })).await;
        assert_eq!((status, body["error"]["code"].as_str()), (409, Some("INVALID_STATUS")), "{action} after reject");
    }

    let (status, body) = d.post(&d.manager, &format!("/api/payouts/{}/cancel", ids[1]), json!({ "reason": "Member asked" })).await;
    assert_eq!((status, body["data"]["status"].as_str()), (200, Some("cancelled")));
    d.post(&d.manager, &format!("/api/payouts/{}/approve", ids[2]), json!({})).await;
    d.post(&d.second, &format!("/api/payouts/{}/approve", ids[2]), json!({})).await;
    let (status, _) = d.post(&d.manager, &format!("/api/payouts/{}/reject", ids[2]), json!({ "reason": "late" })).await;
    assert_eq!(status, 409, "an approved payout cannot be rejected, only cancelled");
    let (status, body) = d.post(&d.manager, &format!("/api/payouts/{}/cancel", ids[2]), json!({ "reason": "Fraud check" })).await;
    assert_eq!((status, body["data"]["status"].as_str()), (200, Some("cancelled")));
    let before: Value = sqlx::query_scalar("SELECT to_jsonb(p) FROM payout_management p WHERE payout_id = $1").bind(&ids[2]).fetch_one(&d.app.db).await.unwrap();
    assert_eq!(d.post(&d.manager, &format!("/api/payouts/{}/cancel", ids[2]), json!({ "reason": "again" })).await.0, 409);
    let after: Value = sqlx::query_scalar("SELECT to_jsonb(p) FROM payout_management p WHERE payout_id = $1").bind(&ids[2]).fetch_one(&d.app.db).await.unwrap();
    assert_eq!(before, after, "a refused action changes nothing");
    assert_eq!(d.post(&d.manager, "/api/payouts/PO-NOPE/cancel", json!({ "reason": "x" })).await.0, 404);
}

#[tokio::test]
async fn reading_payouts_filters_pages_and_hides_other_members() {
    let d = desk(350_000, 3, &[]).await;
    let ids = d.create(&[0, 1]).await;
    d.create(&[2]).await;
    d.post(&d.manager, &format!("/api/payouts/{}/cancel", ids[1]), json!({ "reason": "x" })).await;

    let (_, all) = d.get(&d.support, "/api/payouts").await;
    assert_eq!(all["data"]["total"], 3);
    assert_eq!(all["data"]["limit"], 50);
    let created: Vec<&str> = all["data"]["payouts"].as_array().unwrap().iter().map(|p| p["createdAt"].as_str().unwrap()).collect();
    assert!(created.windows(2).all(|w| w[0] >= w[1]), "newest first");
    let (_, cancelled) = d.get(&d.support, "/api/payouts?status=cancelled").await;
    assert_eq!(cancelled["data"]["payouts"][0]["payoutId"], ids[1]);
    let (_, mine) = d.get(&d.support, &format!("/api/payouts?userId={}", d.uid(0))).await;
    assert_eq!(mine["data"]["total"], 1);
    let (_, page) = d.get(&d.support, "/api/payouts?limit=1&offset=1&paymentMethod=ach").await;
    assert_eq!((page["data"]["total"].as_i64(), page["data"]["payouts"].as_array().unwrap().len()), (Some(3), 1));
    let (_, none) = d.get(&d.support, "/api/payouts?createdFrom=2999-01-01").await;
    assert_eq!(none["data"]["total"], 0);
    let (status, bad) = d.get(&d.support, "/api/payouts?status=processing&limit=500&userId=x").await;
    assert_eq!(status, 400);
    assert_eq!(bad["error"]["details"].as_array().unwrap().len(), 3);

    // A member sees only their own, without internal notes; another's is 404.
    let member0 = &d.members[0].1;
    let (_, own) = d.get(member0, "/api/payouts").await;
    assert_eq!(own["data"]["total"], 1);
    assert!(own["data"]["payouts"][0].get("internalNotes").is_none());
    let (_, other) = d.get(member0, &format!("/api/payouts?userId={}", d.uid(1))).await;
    assert_eq!(other["data"]["total"], 0);
    let (status, body) = d.get(member0, &format!("/api/payouts/{}", ids[1])).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("PAYOUT_NOT_FOUND")));
    let (status, body) = d.get(member0, &format!("/api/payouts/{}", ids[0])).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["member"]["email"], "member0@tenure.test");
    assert_eq!(d.get(member0, &format!("/api/payouts/{}/audit", ids[0])).await.0, 403);

    // Bank details are masked, whatever shape they are stored in.
    sqlx::query("UPDATE payout_management SET bank_details = '{\"accountHolderName\":\"M Zero\",\"routingNumber\":\"011000015\",\"accountNumber\":\"000123456789\",\"accountType\":\"checking\"}' WHERE payout_id = $1")
        .bind(&ids[0]).execute(&d.app.db).await.unwrap();
    let res = d.app.client.get(d.app.url(&format!("/api/payouts/{}", ids[0]))).bearer_auth(&d.manager).send().await.unwrap();
    let text = res.text().await.unwrap();
    assert!(!text.contains("000123456789") && !text.contains("011000015"), "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["data"]["bankDetails"]["last4"], "6789");

    // The member's own status endpoint.
    let (status, body) = d.get(member0, &format!("/api/members/{}/payout", d.uid(0))).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["payout"]["payoutId"], ids[0]);
    assert_eq!(body["data"]["payout"]["status"], "pending_approval");
    assert_eq!(body["data"]["membershipRemovalDate"], Value::Null);
    assert_eq!(d.get(member0, &format!("/api/members/{}/payout", d.uid(1))).await.0, 404);
    assert_eq!(d.get(&d.support, &format!("/api/members/{}/payout", d.uid(1))).await.0, 200);
}

#[tokio::test]
async fn legacy_array_workflows_are_read_and_approved() {
    let d = desk(250_000, 1, &[]).await;
    let id = d.create(&[0]).await.remove(0);
    let manager_id: i32 = sqlx::query_scalar("SELECT id FROM admin WHERE email = 'mia@tenure.test'").fetch_one(&d.app.db).await.unwrap();
    let legacy = json!([{ "step": "admin_approval", "status": "pending", "requiredApprovals": 2, "currentApprovals": 1,
                          "approvers": [{ "adminId": manager_id, "email": "mia@tenure.test", "approvedAt": "2025-01-02T10:00:00Z" }],
                          "createdAt": "2025-01-01T09:00:00Z" }]);
    sqlx::query("UPDATE payout_management SET approval_workflow = $2 WHERE payout_id = $1").bind(&id).bind(&legacy).execute(&d.app.db).await.unwrap();
    let (_, p) = d.get(&d.second, &format!("/api/payouts/{id}")).await;
    assert_eq!(p["data"]["currentApprovals"], 1);
    assert_eq!(p["data"]["approvalWorkflow"]["approvals"][0]["adminId"], manager_id);
    assert_eq!(d.post(&d.manager, &format!("/api/payouts/{id}/approve"), json!({})).await.0, 409, "already approved in the old shape");
    let (_, body) = d.post(&d.second, &format!("/api/payouts/{id}/approve"), json!({})).await;
    assert_eq!(body["data"]["status"], "approved");
    let stored: Value = sqlx::query_scalar("SELECT approval_workflow FROM payout_management WHERE payout_id = $1").bind(&id).fetch_one(&d.app.db).await.unwrap();
    assert_eq!(stored["legacy"], legacy, "the old array is kept verbatim inside the new shape");
}

#[tokio::test]
async fn editing_any_past_audit_entry_breaks_the_chain() {
    let d = desk(250_000, 1, &[]).await;
    let id = d.create(&[0]).await.remove(0);
    d.post(&d.manager, &format!("/api/payouts/{id}/approve"), json!({})).await;
    d.post(&d.second, &format!("/api/payouts/{id}/approve"), json!({})).await;
    let audit = |d: &Desk| {
        let (client, url, token) = (d.app.client.clone(), d.app.url(&format!("/api/payouts/{id}/audit")), d.manager.clone());
        async move { client.get(url).bearer_auth(token).send().await.unwrap().json::<Value>().await.unwrap() }
    };
    assert_eq!(audit(&d).await["data"]["chainValid"], true);
    for (i, edit) in [(0, "{0,actor}"), (1, "{1,details,approvals}"), (2, "{2,at}")] {
        let db = &d.app.db;
        let original: Value = sqlx::query_scalar("SELECT audit_trail FROM payout_management WHERE payout_id = $1").bind(&id).fetch_one(db).await.unwrap();
        sqlx::query(&format!("UPDATE payout_management SET audit_trail = jsonb_set(audit_trail, '{edit}', '\"forged\"') WHERE payout_id = $1"))
            .bind(&id).execute(db).await.unwrap();
        assert_eq!(audit(&d).await["data"]["chainValid"], false, "edit of entry {i}");
        sqlx::query("UPDATE payout_management SET audit_trail = $2 WHERE payout_id = $1").bind(&id).bind(original).execute(db).await.unwrap();
        assert_eq!(audit(&d).await["data"]["chainValid"], true);
    }
    // Cutting the newest entry off is caught by the head recorded beside the trail.
    sqlx::query("UPDATE payout_management SET audit_trail = audit_trail - (jsonb_array_length(audit_trail) - 1) WHERE payout_id = $1")
        .bind(&id).execute(&d.app.db).await.unwrap();
    assert_eq!(audit(&d).await["data"]["chainValid"], false, "a truncated trail");
}

#[tokio::test]
async fn nobody_approves_as_two_people_or_their_own_payout() {
    let d = desk(250_000, 1, &[("ALLOW_CREATOR_APPROVAL", "true")]).await;
    // The member is also an admin: they may not approve the payout that pays them.
    let member_email = "member0@tenure.test";
    d.app.admin(member_email, "Manager").await;
    sqlx::query("UPDATE users SET email_verified = true WHERE email = $1").bind(member_email).execute(&d.app.db).await.unwrap();
    let id = d.create(&[0]).await.remove(0);
    let (status, body) = d.post(&d.members[0].1, &format!("/api/payouts/{id}/approve"), json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("SELF_APPROVAL_FORBIDDEN")));
    // One person behind two admin rows (emails differing only in case) counts once.
    d.post(&d.manager, &format!("/api/payouts/{id}/approve"), json!({})).await;
    sqlx::query("INSERT INTO admin (email, role) VALUES ('MIA@tenure.test', 'Super Admin')").execute(&d.app.db).await.unwrap();
    let user: uuid::Uuid = sqlx::query_scalar("SELECT id FROM users WHERE email = 'mia@tenure.test'").fetch_one(&d.app.db).await.unwrap();
    sqlx::query("DELETE FROM admin WHERE email = 'mia@tenure.test'").execute(&d.app.db).await.unwrap();
    let token = d.app.session(user, Duration::days(1)).await;
    let (status, body) = d.post(&token, &format!("/api/payouts/{id}/approve"), json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("ALREADY_APPROVED")), "{body}");
}

#[tokio::test]
async fn control_characters_are_a_400_not_a_500() {
    let d = desk(250_000, 1, &[]).await;
    let id = d.create(&[0]).await.remove(0);
    let (status, body) = d.post(&d.manager, &format!("/api/payouts/{id}/reject"), json!({ "reason": "bad\u{0}reason" })).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("VALIDATION_ERROR")));
    let res = d.app.client.get(d.app.url("/api/payouts/PO%00x")).bearer_auth(&d.manager).send().await.unwrap();
    assert_eq!(res.status(), 400);
    let (_, p) = d.get(&d.manager, &format!("/api/payouts/{id}")).await;
    assert_eq!(p["data"]["status"], "pending_approval");
}

#[tokio::test]
async fn idempotency_keys_replay_refuse_reuse_and_absorb_concurrent_duplicates() {
    let d = desk(350_000, 3, &[]).await;
    let post = |key: &str, body: Value| {
        let (client, url, token, key) = (d.app.client.clone(), d.app.url("/api/payouts"), d.creator.clone(), key.to_string());
        async move {
            let res = client.post(url).bearer_auth(token).header("idempotency-key", key).json(&body).send().await.unwrap();
            let replayed = res.headers().get("idempotent-replayed").is_some();
            (res.status().as_u16(), replayed, res.json::<Value>().await.unwrap())
        }
    };
    let body = json!({ "userIds": [d.uid(0)] });
    let (s1, r1, b1) = post("key-1", body.clone()).await;
    let (s2, r2, b2) = post("key-1", body.clone()).await;
    assert_eq!((s1, r1, s2, r2), (201, false, 201, true));
    assert_eq!(b1["data"], b2["data"], "the first response, replayed");
    assert_eq!(d.count("SELECT count(*) FROM payout_management").await, 1);
    let (s3, _, b3) = post("key-1", json!({ "userIds": [d.uid(1)] })).await;
    assert_eq!((s3, b3["error"]["code"].as_str()), (422, Some("IDEMPOTENCY_KEY_REUSED")));

    // Ten identical requests at once with one key: one payout, ten identical answers.
    let tasks: Vec<_> = (0..10).map(|_| tokio::spawn(post("key-2", json!({ "userIds": [d.uid(1)] })))).collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    assert!(answers.iter().all(|(s, _, _)| *s == 201), "{:?}", answers.iter().map(|a| a.0).collect::<Vec<_>>());
    assert!(answers.iter().all(|(_, _, b)| b["data"]["payoutIds"] == answers[0].2["data"]["payoutIds"]));
    assert_eq!(answers.iter().filter(|(_, replayed, _)| !replayed).count(), 1);
    assert_eq!(d.count("SELECT count(*) FROM payout_management").await, 2);

    // Keys are the caller's own: another admin's same key is a different request.
    let res = d.app.client.post(d.app.url(&format!("/api/payouts/{}/approve", b1["data"]["payoutIds"][0].as_str().unwrap())))
        .bearer_auth(&d.manager).header("idempotency-key", "key-1").json(&json!({})).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let bad = d.app.client.post(d.app.url("/api/payouts")).bearer_auth(&d.creator).header("idempotency-key", "has space").json(&body).send().await.unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn twenty_overlapping_creates_never_double_pay_nor_exceed_the_available_count() {
    let d = desk(300_000, 6, &[]).await;
    let selections: Vec<Vec<usize>> = (0..20).map(|i| (0..=(i % 3)).collect()).collect();
    let tasks: Vec<_> = selections
        .into_iter()
        .map(|sel| {
            let ids: Vec<String> = sel.iter().map(|i| d.uid(*i)).collect();
            let (client, url, token) = (d.app.client.clone(), d.app.url("/api/payouts"), d.creator.clone());
            tokio::spawn(async move { client.post(url).bearer_auth(token).json(&json!({ "userIds": ids })).send().await.unwrap().status().as_u16() })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert!(statuses.iter().all(|s| *s == 201 || *s == 422), "{statuses:?}");
    let open = d.count("SELECT count(*) FROM payout_management WHERE status = 'pending_approval'").await;
    let members = d.count("SELECT count(DISTINCT user_id) FROM payout_management").await;
    assert!(open <= 3, "{open} payouts for 3 funded rewards");
    assert_eq!(open, members, "no member has two open payouts");
    assert!(statuses.contains(&201));
}

#[tokio::test]
async fn ten_admins_approving_at_once_leave_exactly_two_approvals() {
    let d = desk(250_000, 1, &[]).await;
    let id = d.create(&[0]).await.remove(0);
    let mut tokens = Vec::new();
    for i in 0..10 {
        let email = format!("approver{i}@tenure.test");
        let user = d.app.user(&email, &email).await;
        d.app.admin(&email, if i % 2 == 0 { "Manager" } else { "Super Admin" }).await;
        tokens.push(d.app.session(user, Duration::days(1)).await);
    }
    let tasks: Vec<_> = tokens
        .into_iter()
        .map(|token| {
            let (client, url) = (d.app.client.clone(), d.app.url(&format!("/api/payouts/{id}/approve")));
            tokio::spawn(async move { client.post(url).bearer_auth(token).json(&json!({})).send().await.unwrap().status().as_u16() })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 2, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 8);
    let (status, approvals): (String, i64) = sqlx::query_as("SELECT status, jsonb_array_length(approval_workflow->'approvals')::bigint FROM payout_management WHERE payout_id = $1")
        .bind(&id).fetch_one(&d.app.db).await.unwrap();
    assert_eq!((status.as_str(), approvals), ("approved", 2));
    assert_eq!(d.count("SELECT count(*) FROM payout_email_outbox WHERE template = 'payout_approved'").await, 1);
}

#[tokio::test]
async fn approve_racing_reject_ends_in_exactly_one_outcome() {
    for round in 0..4 {
        let d = desk(250_000, 1, &[]).await;
        let id = d.create(&[0]).await.remove(0);
        d.post(&d.manager, &format!("/api/payouts/{id}/approve"), json!({})).await;
        let approve = {
            let (client, url, token) = (d.app.client.clone(), d.app.url(&format!("/api/payouts/{id}/approve")), d.second.clone());
            tokio::spawn(async move { client.post(url).bearer_auth(token).json(&json!({})).send().await.unwrap().status().as_u16() })
        };
        let reject = {
            let (client, url, token) = (d.app.client.clone(), d.app.url(&format!("/api/payouts/{id}/reject")), d.manager.clone());
            tokio::spawn(async move { client.post(url).bearer_auth(token).json(&json!({ "reason": "race" })).send().await.unwrap().status().as_u16() })
        };
        let (a, r) = (approve.await.unwrap(), reject.await.unwrap());
        let status: String = sqlx::query_scalar("SELECT status FROM payout_management WHERE payout_id = $1").bind(&id).fetch_one(&d.app.db).await.unwrap();
        match status.as_str() {
            "approved" => assert_eq!((a, r), (200, 409), "round {round}"),
            "rejected" => assert_eq!((a, r), (409, 200), "round {round}"),
            other => panic!("round {round}: unexpected {other}"),
        }
        let emails = d.count("SELECT count(*) FROM payout_email_outbox WHERE template IN ('payout_approved', 'payout_rejected')").await;
        assert_eq!(emails, 1, "one outcome, one email");
    }
}

#[tokio::test]
async fn odd_legacy_shapes_are_kept_not_dropped() {
    let d = desk(250_000, 1, &[]).await;
    let id = d.create(&[0]).await.remove(0);
    sqlx::query(r#"UPDATE payout_management SET internal_notes = '"written by the old service"', processing = '"free text"' WHERE payout_id = $1"#)
        .bind(&id).execute(&d.app.db).await.unwrap();
    let (status, body) = d.post(&d.manager, &format!("/api/payouts/{id}/cancel"), json!({ "reason": "shape test" })).await;
    assert_eq!(status, 200, "{body}");
    let notes = &body["data"]["internalNotes"];
    assert_eq!(notes[0]["legacy"], "written by the old service");
    assert_eq!(notes[1]["note"], "Cancelled: shape test");
    let (_, audit) = d.get(&d.manager, &format!("/api/payouts/{id}/audit")).await;
    assert_eq!(audit["data"]["chainValid"], true);
}


/// Found by running the old and the refactored service side by side: an old row's `processing`
/// reads as stored (an empty object stays an object, free text stays text), and a repeated list
/// filter keeps the last value, as before.
#[tokio::test]
async fn old_rows_read_as_stored_and_repeated_filters_keep_the_last_value() {
    let d = desk(250_000, 1, &[]).await;
    let id = d.create(&[0]).await.remove(0);
    let (_, body) = d.get(&d.manager, &format!("/api/payouts/{id}")).await;
    assert_eq!(body["data"]["processing"], Value::Null, "never processed");
    for stored in [json!({}), json!("free text"), json!({ "oldSystemRef": "WX-1", "sentDate": "2025-02-01T00:00:00Z" })] {
        sqlx::query("UPDATE payout_management SET processing = $2 WHERE payout_id = $1").bind(&id).bind(&stored).execute(&d.app.db).await.unwrap();
        let (_, body) = d.get(&d.manager, &format!("/api/payouts/{id}")).await;
        assert_eq!(body["data"]["processing"], stored);
    }
    sqlx::query(r#"UPDATE payout_management SET processing = '{"instructions": "see email"}' WHERE payout_id = $1"#).bind(&id).execute(&d.app.db).await.unwrap();
    let pdf = d.app.client.get(d.app.url(&format!("/api/payouts/{id}/instructions.pdf"))).bearer_auth(&d.creator).send().await.unwrap();
    assert_eq!(pdf.status(), 200, "old instructions in free text still print");
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    let (status, body) = d.get(&d.manager, "/api/payouts?status=cancelled&status=pending_approval&limit=1&limit=5").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["data"]["total"].as_i64(), body["data"]["limit"].as_i64()), (Some(1), Some(5)));
}


/// SPEC §13: an Idempotency-Key body compares as JSON (keys reordered, other whitespace: the
/// same request), and taking over an abandoned key is a compare-and-set only one taker wins.
#[tokio::test]
async fn idempotent_bodies_compare_as_json_and_one_taker_wins_an_abandoned_key() {
    let d = desk(350_000, 2, &[]).await;
    let send = |body: String| {
        let (client, url, token) = (d.app.client.clone(), d.app.url("/api/payouts"), d.creator.clone());
        async move {
            let res = client.post(url).bearer_auth(token).header("idempotency-key", "json-key").header("content-type", "application/json").body(body).send().await.unwrap();
            (res.status().as_u16(), res.headers().get("idempotent-replayed").is_some())
        }
    };
    let first = format!(r#"{{"userIds":["{}"],"paymentMethod":"ach"}}"#, d.uid(0));
    let reordered = format!("{{\n  \"paymentMethod\" : \"ach\",\n  \"userIds\" : [ \"{}\" ]\n}}", d.uid(0));
    assert_eq!(send(first).await, (201, false));
    assert_eq!(send(reordered).await, (201, true), "the same JSON replays");
    let (status, _) = send(format!(r#"{{"paymentMethod":"check","userIds":["{}"]}}"#, d.uid(0))).await;
    assert_eq!(status, 422, "a different value is another request");

    let db = &d.app.db;
    sqlx::query("INSERT INTO payout_idempotency_keys (actor, key, method, path, request_hash, created_at) VALUES ('user:x', 'stale', 'POST', '/api/payouts', 'h', now() - interval '1 hour')")
        .execute(db).await.unwrap();
    let takers: Vec<_> = (0..8)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move { payout_service::db::idempotency::take_over(&db, "user:x", "stale", "h", std::time::Duration::from_secs(60)).await.unwrap() })
        })
        .collect();
    let mut won = 0;
    for t in takers {
        won += usize::from(t.await.unwrap());
    }
    assert_eq!(won, 1, "exactly one taker runs the abandoned request");
}
