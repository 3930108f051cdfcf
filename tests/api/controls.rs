//! SPEC §12 controls seen through the API: two-factor for the money steps, and what a member
//! sees of their own payout.

use serde_json::{json, Value};

use crate::support::desk::*;

/// SPEC §12: with ADMIN_REQUIRE_2FA on, approving and generating instructions need the admin's
/// two-factor authentication; other admin steps do not.
#[tokio::test]
async fn with_2fa_required_the_money_steps_need_it() {
    let d = desk(250_000, 1, &[("ADMIN_REQUIRE_2FA", "true")]).await;
    let ids = d.create(&[0]).await;
    let approve = format!("/api/payouts/{}/approve", ids[0]);
    let (status, body) = d.post(&d.manager, &approve, json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("TWO_FACTOR_REQUIRED")), "{body}");
    assert_eq!(d.count("SELECT count(*) FROM user_audit_logs WHERE action LIKE 'payout_approv%'").await, 0, "nothing recorded");
    sqlx::query("UPDATE users SET two_factor_enabled = true WHERE email IN ('mia@tenure.test', 'noah@tenure.test')").execute(&d.app.db).await.unwrap();
    assert_eq!(d.post(&d.manager, &approve, json!({})).await.0, 200);
    assert_eq!(d.post(&d.second, &approve, json!({})).await.0, 200);
    let (status, body) = d.post(&d.creator, &format!("/api/payouts/{}/generate-instructions", ids[0]), json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("TWO_FACTOR_REQUIRED")), "the creator has no 2FA: {body}");
    let health: Value = d.app.get("/api/health").await.json().await.unwrap();
    assert_eq!(health["data"]["security"]["adminRequire2fa"], true);
}

/// SPEC §12: a member reading their own payout sees the allow-list only — key by key — and no
/// staff email, id, comment, note or the company's revenue snapshot; finance still sees it all.
#[tokio::test]
async fn a_member_sees_the_allow_listed_view_of_their_own_payout() {
    let d = desk(250_000, 1, &[]).await;
    let (status, body) = d.post(&d.creator, "/api/payouts", json!({ "userIds": [d.uid(0)], "notes": "staff-only note" })).await;
    assert_eq!(status, 201, "{body}");
    let id = body["data"]["payoutIds"][0].as_str().unwrap().to_string();
    d.post(&d.manager, &format!("/api/payouts/{id}/approve"), json!({ "comment": "checked by mia" })).await;
    let (_, own) = d.get(&d.members[0].1, &format!("/api/payouts/{id}")).await;
    let mut keys: Vec<String> = own["data"].as_object().unwrap().keys().cloned().collect();
    keys.sort();
    let mut allowed: Vec<String> = payout_service::workflow::member_view::MEMBER_VIEW_KEYS.iter().map(|k| k.to_string()).collect();
    allowed.sort();
    assert_eq!(keys, allowed, "exactly the allow-list");
    assert_eq!(own["data"]["currentApprovals"], 1, "the approval count");
    let (_, listed) = d.get(&d.members[0].1, "/api/payouts").await;
    for body in [own.to_string(), listed.to_string()] {
        for secret in ["mia@tenure.test", "ava@tenure.test", "admin:", "checked by mia", "staff-only note", "revenue", "createdBy", "auditTrail", "approvalWorkflow"] {
            assert!(!body.contains(secret), "{secret} leaks into {body}");
        }
    }
    let (_, staff) = d.get(&d.manager, &format!("/api/payouts/{id}")).await;
    assert_eq!(staff["data"]["approvalWorkflow"]["approvals"][0]["comment"], "checked by mia", "finance sees it whole");
    assert!(staff.to_string().contains("staff-only note"));
}
