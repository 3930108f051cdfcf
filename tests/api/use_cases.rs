//! The state-change path below HTTP: use cases called directly against real PostgreSQL, so the
//! one change path (lock, table, rule, compare-and-set, trail, audit row, effects, outbox) is
//! tested apart from the transport.

use chrono::{Duration, Utc};
use payout_service::db::{self, audit::Origin};
use payout_service::domain::bank::BankDetails;
use payout_service::domain::change::{ConfirmDetails, PayoutAction, SentDetails};
use payout_service::domain::payout::PaymentMethod;
use payout_service::domain::status::PayoutStatus;
use payout_service::error::ErrorCode;
use payout_service::workflow::{change, member_details, payments, payouts};
use serde_json::json;

use crate::support::desk::*;

async fn rows(d: &Desk, sql: &str, payout_id: &str) -> i64 {
    sqlx::query_scalar(sql).bind(payout_id).fetch_one(&d.app.db).await.unwrap()
}

#[tokio::test]
async fn every_action_leaves_its_trail_entry_audit_row_and_emails_in_one_path() {
    let d = desk(250_000, 2, &[]).await;
    let ctx = d.context();
    let (creator, manager, second) = (d.actor("ava@tenure.test").await, d.actor("mia@tenure.test").await, d.actor("noah@tenure.test").await);
    let member = d.actor("member0@tenure.test").await;
    let origin = Origin::default();
    let request = payouts::CreateRequest { user_ids: vec![d.members[0].0.user_id], notes: None, payment_method: PaymentMethod::Ach };
    let created = payouts::create(&ctx, &creator, &origin, request).await.unwrap();
    let id = created[0].payout_id.clone();
    assert_eq!(created[0].status, PayoutStatus::PendingApproval);
    let admins_emailed = rows(&d, "SELECT count(*) FROM payout_email_outbox WHERE payout_id = $1 AND template = 'payout_awaiting_approval'", &id).await;
    assert_eq!(admins_emailed, 2, "every active admin who can approve it (not Support, not its creator) hears of the new payout");

    let details = BankDetails {
        account_holder_name: "Member Zero".into(),
        routing_number: "011000015".into(),
        account_number: "123456789".into(),
        account_type: "checking".into(),
        bank_name: Some("First Bank".into()),
    };
    let saved = member_details::save_bank_details(&ctx, &member, &origin, member.user_id.unwrap(), details).await.unwrap();
    assert!(!saved.approvals_cleared);
    payouts::approve(&ctx, &manager, &origin, &id, None).await.unwrap();
    let outcome = payouts::approve(&ctx, &second, &origin, &id, Some("ok".into())).await.unwrap();
    assert!(outcome.fully_approved);
    let instructions = payments::generate_instructions(&ctx, &creator, &origin, &id).await.unwrap();
    assert_eq!(instructions.bank_details.as_ref().unwrap()["accountNumber"], "123456789", "decrypted for the one who pays");
    let now = Utc::now() + Duration::minutes(1);
    let sent = SentDetails { sent_date: now, expected_arrival: now + Duration::days(2), tracking_number: None, notes: None, payment_file_id: None };
    assert_eq!(payments::mark_sent(&ctx, &manager, &origin, &id, sent).await.unwrap().status, PayoutStatus::PaymentSent);
    let confirmed = ConfirmDetails { completed_date: now + Duration::minutes(1), confirmation_number: Some("C-1".into()), notes: None };
    let done = payments::confirm(&ctx, &manager, &origin, &id, confirmed).await.unwrap();
    assert_eq!(done.status, PayoutStatus::Completed);

    let actions: Vec<String> = done.audit_trail.entries.iter().map(|e| e["action"].as_str().unwrap().to_string()).collect();
    assert_eq!(
        actions,
        ["created", "bank_details_updated", "approval_added", "approved", "bank_details_decrypted", "instructions_generated", "payment_sent", "completed"]
    );
    assert!(done.audit_trail.is_intact());
    let stored = db::payouts::find(&d.app.db, &id).await.unwrap().unwrap();
    assert_eq!(stored.audit_trail.recorded_count, Some(8), "the head is recorded beside the trail");
    let audit_rows = rows(&d, "SELECT count(*) FROM user_audit_logs WHERE metadata ->> 'payoutId' = $1", &id).await;
    assert_eq!(audit_rows, 7, "one row per action: created, bank details, two approvals, instructions, sent, completed");
    let forms = rows(&d, "SELECT count(*) FROM tax_forms WHERE form_type = '1099-MISC' AND income_details ->> 'payoutId' = $1", &id).await;
    assert_eq!(forms, 1, "the confirmation's effect ran in its transaction");
    for template in ["payout_approved", "payment_sent", "payout_completed"] {
        let sql = format!("SELECT count(*) FROM payout_email_outbox WHERE payout_id = $1 AND template = '{template}'");
        assert_eq!(rows(&d, &sql, &id).await, 1, "{template}");
    }
}

#[tokio::test]
async fn a_refused_action_writes_nothing_at_all() {
    let d = desk(250_000, 1, &[]).await;
    let ctx = d.context();
    let creator = d.actor("ava@tenure.test").await;
    let ids = d.create(&[0]).await;
    let before = db::payouts::find(&d.app.db, &ids[0]).await.unwrap().unwrap();
    let audit_before = rows(&d, "SELECT count(*) FROM user_audit_logs WHERE metadata ->> 'payoutId' = $1", &ids[0]).await;
    let outbox_before = rows(&d, "SELECT count(*) FROM payout_email_outbox WHERE payout_id = $1", &ids[0]).await;
    let err = payouts::approve(&ctx, &creator, &Origin::default(), &ids[0], None).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::SelfApprovalForbidden);
    let err = change::apply(&ctx, &ids[0], &creator, &Origin::default(), PayoutAction::Reissue).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidStatus);
    let after = db::payouts::find(&d.app.db, &ids[0]).await.unwrap().unwrap();
    assert_eq!(after, before, "not a byte of the row changed");
    assert_eq!(rows(&d, "SELECT count(*) FROM user_audit_logs WHERE metadata ->> 'payoutId' = $1", &ids[0]).await, audit_before);
    assert_eq!(rows(&d, "SELECT count(*) FROM payout_email_outbox WHERE payout_id = $1", &ids[0]).await, outbox_before);
}

#[tokio::test]
async fn compare_and_set_refuses_a_row_whose_status_moved() {
    let d = desk(250_000, 1, &[]).await;
    let ids = d.create(&[0]).await;
    let stale = db::payouts::find(&d.app.db, &ids[0]).await.unwrap().unwrap();
    sqlx::query("UPDATE payout_management SET status = 'cancelled' WHERE payout_id = $1").bind(&ids[0]).execute(&d.app.db).await.unwrap();
    let mut wanted = stale.clone();
    wanted.status = PayoutStatus::Approved;
    let mut tx = d.app.db.begin().await.unwrap();
    assert_eq!(db::payouts::update(&mut tx, &stale, &wanted).await.unwrap(), None, "nothing written under a moved status");
    tx.rollback().await.unwrap();
    let now = db::payouts::find(&d.app.db, &ids[0]).await.unwrap().unwrap();
    assert_eq!(now.status, PayoutStatus::Cancelled);
}

#[tokio::test]
async fn keys_an_old_row_left_in_processing_survive_a_change() {
    let d = desk(250_000, 1, &[]).await;
    let ctx = d.context();
    let ids = d.create(&[0]).await;
    let legacy = json!({ "oldSystemRef": "WX-1", "sentDate": 20250201 });
    sqlx::query("UPDATE payout_management SET processing = $2 WHERE payout_id = $1").bind(&ids[0]).bind(&legacy).execute(&d.app.db).await.unwrap();
    let admin = d.actor("mia@tenure.test").await;
    payouts::cancel(&ctx, &admin, &Origin::default(), &ids[0], "member asked".into()).await.unwrap();
    let stored: serde_json::Value =
        sqlx::query_scalar("SELECT processing FROM payout_management WHERE payout_id = $1").bind(&ids[0]).fetch_one(&d.app.db).await.unwrap();
    assert_eq!(stored, legacy, "a change that does not touch processing leaves it byte for byte");
    let notes: serde_json::Value =
        sqlx::query_scalar("SELECT internal_notes FROM payout_management WHERE payout_id = $1").bind(&ids[0]).fetch_one(&d.app.db).await.unwrap();
    assert!(notes.to_string().contains("Cancelled: member asked"));
}
